#![no_main]

use libfuzzer_sys::fuzz_target;

// The first byte chooses the read size, the rest is the peer's bytes.
fuzz_target!(|data: &[u8]| {
    let _ = xmpp_sansio::component::fuzzing::accept(data);
});
