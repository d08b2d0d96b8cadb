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
    converse(&mut p);
    (p.to_server, p.to_client)
}

/// Negotiates, sends one message each way and closes.
fn converse(p: &mut Pair) {
    p.run();
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
    assert!(o.online && o.stanzas == 1 && o.closed, "server: {o:?}");
    let o = fuzzing::websocket_client(&to_client);
    assert!(o.online && o.stanzas == 1 && o.closed, "client: {o:?}");
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
            o.online && o.stanzas == 1 && o.closed,
            "server, chunk byte {size}: {o:?}"
        );
        let mut d = vec![size];
        d.extend_from_slice(&to_client);
        let o = fuzzing::client(&d);
        assert!(
            o.online && o.stanzas == 1 && o.closed,
            "client, chunk byte {size}: {o:?}"
        );
    }
}

#[test]
fn server_corpus() {
    assert!(replay("c2s_server", fuzzing::server) > 0);
}

#[test]
fn client_corpus() {
    assert!(replay("c2s_client", fuzzing::client) > 0);
}
