#![no_main]

use libfuzzer_sys::fuzz_target;

// Four bytes of starting counter, then (operation, argument) pairs.
fuzz_target!(|data: &[u8]| {
    let _ = xmpp_sansio::sm::fuzz(data);
});
