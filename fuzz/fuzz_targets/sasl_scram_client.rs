#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = xmpp_sansio::sasl::fuzzing::scram_client(data);
});
