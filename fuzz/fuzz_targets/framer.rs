#![no_main]

use libfuzzer_sys::fuzz_target;

// The first two bytes choose the chunking, the rest is the stream.
fuzz_target!(|data: &[u8]| {
    let _ = xmpp_sansio::xml::fuzzing::framer(data);
});
