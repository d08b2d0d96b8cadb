//! Replays the c2s fuzz corpora through the fuzz entry points, so that a
//! plain `cargo test` checks every seed. `ok_*` seeds are recorded
//! negotiations and must reach the online state; the others must only
//! keep the invariants the entry points check.
//!
//! `XMPP_SANSIO_WRITE_SEEDS=1 cargo test --test fuzz_corpus_c2s` records
//! the `ok_full_session` seeds anew from an in-memory pair.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
mod common;

use common::Pair;
use xmpp_sansio::c2s::fuzzing;
use xmpp_sansio::ns;
use xmpp_sansio::stream::Event;
use xmpp_sansio::xml::Element;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Runs the fuzz harnesses' client and server against each other (the
/// pair uses the same seeds) and returns what each received: (client to
/// server, server to client).
fn record_session() -> (Vec<u8>, Vec<u8>) {
    let mut p = Pair::new(fuzzing::client_config(), fuzzing::server_config());
    p.client.resume_session(fuzzing::client_session()).unwrap();
    converse(&mut p);
    (p.to_server, p.to_client)
}

/// Negotiates (resuming the harnesses' stream-management session: each
/// side sends again the one stanza the other had not handled), sends one
/// message each way and closes.
fn converse(p: &mut Pair) {
    p.run();
    assert!(
        p.client_events
            .iter()
            .any(|e| matches!(e, xmpp_sansio::stream::Event::Resumed { .. })),
        "{:?}",
        p.client_events
    );
    let me = p.client_online().expect("online");
    let message = |to: &str, body: &str| {
        Element::new("message", ns::CLIENT)
            .with_attr("to", to)
            .with_child(Element::new("body", ns::CLIENT).with_text(body))
    };
    p.server.send(message(&me, "echo")).unwrap();
    p.client.send(message(&me, "hi")).unwrap();
    p.client.close(p.now);
    p.run();
    assert!(
        p.client.is_closed() && p.server.is_closed(),
        "the recorded session did not finish"
    );
}

/// The same over WebSocket: what each side received, as NUL-separated
/// messages.
fn record_websocket_session() -> (Vec<u8>, Vec<u8>) {
    let mut p = Pair::over(
        fuzzing::WSS,
        fuzzing::websocket_client_config(),
        Arc::new(fuzzing::server_config()),
        Some(fuzzing::tls_info()),
    );
    p.client.resume_session(fuzzing::client_session()).unwrap();
    converse(&mut p);
    (p.up.messages.join(&0u8), p.down.messages.join(&0u8))
}

#[test]
fn recorded_websocket_sessions_replay() {
    let (to_server, to_client) = record_websocket_session();
    if std::env::var("XMPP_SANSIO_WRITE_SEEDS").is_ok() {
        for (target, bytes) in [
            ("websocket_server", &to_server),
            ("websocket_client", &to_client),
        ] {
            fs::create_dir_all(corpus(target)).unwrap();
            fs::write(corpus(target).join("ok_full_session"), bytes).unwrap();
        }
    }
    let o = fuzzing::websocket_server(&to_server);
    assert!(o.online && o.stanzas == 2 && o.closed, "server: {o:?}");
    let o = fuzzing::websocket_client(&to_client);
    assert!(o.online && o.stanzas == 2 && o.closed, "client: {o:?}");
}

#[test]
fn websocket_server_corpus() {
    assert!(replay("websocket_server", fuzzing::websocket_server) > 0);
}

#[test]
fn websocket_client_corpus() {
    assert!(replay("websocket_client", fuzzing::websocket_client) > 0);
}

fn replay(target: &str, run: fn(&[u8]) -> fuzzing::Outcome) -> usize {
    let mut n = 0;
    for entry in fs::read_dir(corpus(target)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data))
            .unwrap_or_else(|_| panic!("{target}/{name}: an invariant broke"));
        if name.starts_with("ok_") {
            assert!(
                outcome.online && outcome.stanzas >= 1 && outcome.closed,
                "{target}/{name}: {outcome:?}"
            );
        }
        n += 1;
    }
    n
}

#[test]
fn recorded_sessions_replay_in_any_chunking() {
    let (to_server, to_client) = record_session();
    if std::env::var("XMPP_SANSIO_WRITE_SEEDS").is_ok() {
        for (target, bytes) in [("c2s_server", &to_server), ("c2s_client", &to_client)] {
            fs::create_dir_all(corpus(target)).unwrap();
            let mut seed = vec![6u8];
            seed.extend_from_slice(bytes);
            fs::write(corpus(target).join("ok_full_session"), seed).unwrap();
        }
    }
    for size in (0u8..64).step_by(3) {
        let mut d = vec![size];
        d.extend_from_slice(&to_server);
        let o = fuzzing::server(&d);
        assert!(
            o.online && o.stanzas == 2 && o.closed,
            "server, chunk byte {size}: {o:?}"
        );
        let mut d = vec![size];
        d.extend_from_slice(&to_client);
        let o = fuzzing::client(&d);
        assert!(
            o.online && o.stanzas == 2 && o.closed,
            "client, chunk byte {size}: {o:?}"
        );
    }
}

/// A session in which resumption fails (the server does not know the
/// session) and a new one is enabled after binding: what each side
/// received.
fn record_fresh_sm_session() -> (Vec<u8>, Vec<u8>) {
    let mut p = Pair::new(fuzzing::client_config(), fuzzing::server_config());
    let json = serde_json::to_string(&fuzzing::client_session()).unwrap();
    let unknown = serde_json::from_str(&json.replace(fuzzing::SM_ID, "forgotten")).unwrap();
    p.client.resume_session(unknown).unwrap();
    p.run();
    assert!(
        p.client_events
            .iter()
            .any(|e| matches!(e, Event::Unsent(v) if v.len() == 1))
    );
    let me = p.client_online().expect("online");
    p.server.send(message(&me, "echo")).unwrap();
    p.client.send(message(&me, "hi")).unwrap();
    p.client.close(p.now);
    p.run();
    assert!(p.client.is_closed() && p.server.is_closed());
    (p.to_server, p.to_client)
}

fn message(to: &str, body: &str) -> Element {
    Element::new("message", ns::CLIENT)
        .with_attr("to", to)
        .with_child(Element::new("body", ns::CLIENT).with_text(body))
}

/// `bytes` with `extra` inserted after the first `after`.
fn inserted(bytes: &[u8], after: &str, extra: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let at = text.find(after).unwrap();
    let end = at + text[at..].find('>').unwrap() + 1;
    format!("{}{extra}{}", &text[..end], &text[end..]).into_bytes()
}

#[test]
fn recorded_stream_management_sessions_replay() {
    let (to_server, to_client) = record_fresh_sm_session();
    assert!(String::from_utf8_lossy(&to_client).contains("<enabled "));
    if std::env::var("XMPP_SANSIO_WRITE_SEEDS").is_ok() {
        let seeds: [(&str, &str, Vec<u8>); 5] = [
            ("c2s_server", "ok_sm_enabled", to_server.clone()),
            ("c2s_client", "ok_sm_enabled", to_client.clone()),
            // Hostile turns after enabling: an h above what was sent, an
            // <a/> without a number, a second <enable/>, a late <resume/>.
            (
                "c2s_client",
                "sm_h_too_high",
                inserted(&to_client, "<enabled ", "<a xmlns='urn:xmpp:sm:3' h='99'/>"),
            ),
            (
                "c2s_server",
                "sm_second_enable",
                inserted(
                    &to_server,
                    "<enable ",
                    "<a xmlns='urn:xmpp:sm:3' h='x'/><enable xmlns='urn:xmpp:sm:3'/>",
                ),
            ),
            (
                "c2s_server",
                "sm_late_resume",
                inserted(
                    &to_server,
                    "<enable ",
                    "<resume xmlns='urn:xmpp:sm:3' previd='fuzz-session' h='7'/>",
                ),
            ),
        ];
        for (target, name, bytes) in seeds {
            let mut seed = vec![6u8];
            seed.extend_from_slice(&bytes);
            fs::write(corpus(target).join(name), seed).unwrap();
        }
    }
    let mut d = vec![6u8];
    d.extend_from_slice(&to_server);
    let o = fuzzing::server(&d);
    assert!(o.online && o.stanzas == 1 && o.closed, "server: {o:?}");
    let mut d = vec![6u8];
    d.extend_from_slice(&to_client);
    let o = fuzzing::client(&d);
    assert!(o.online && o.stanzas == 1 && o.closed, "client: {o:?}");
}

#[test]
fn server_corpus() {
    assert!(replay("c2s_server", fuzzing::server) > 0);
}

#[test]
fn client_corpus() {
    assert!(replay("c2s_client", fuzzing::client) > 0);
}
