#![no_main]

use libfuzzer_sys::fuzz_target;

// The first byte splits the script: subscription stanzas between two
// servers, then operations on one account's presence.
fuzz_target!(|data: &[u8]| {
    let _ = xmpp_sansio::presence::fuzzing::run(data);
});
