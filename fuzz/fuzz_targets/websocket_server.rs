#![no_main]

use libfuzzer_sys::fuzz_target;

// NUL-separated WebSocket messages from the peer (RFC 7395).
fuzz_target!(|data: &[u8]| {
    let _ = xmpp_sansio::c2s::fuzzing::websocket_server(data);
});
