//! Replays the component fuzz corpora through the fuzz entry points.
//! `ok_*` seeds are recorded sessions and must get through the handshake.
//!
//! `XMPP_SANSIO_WRITE_SEEDS=1 cargo test --test fuzz_corpus_component`
//! records the `ok_session` seeds anew.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use common::Link;
use xmpp_sansio::component::fuzzing::{self, Outcome};
use xmpp_sansio::component::{AcceptStream, ComponentDecision, ComponentStream};
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::stream::{Event, Request};
use xmpp_sansio::xml::Element;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// The harnesses' two machines against each other: what each received.
fn record() -> (Vec<u8>, Vec<u8>) {
    let now = Instant::now();
    let mut c = ComponentStream::new(
        fuzzing::component_config(),
        Box::new(SeededRandom::new(1)),
        now,
    );
    let mut s = AcceptStream::new(
        fuzzing::accept_config(),
        Box::new(SeededRandom::new(2)),
        now,
    );
    let (mut up, mut down) = (Link::default(), Link::default());
    let mut sent = false;
    for _ in 0..100 {
        let a = up.carry(&mut c, &mut s, now).0;
        let b = down.carry(&mut s, &mut c, now).0;
        let mut progress = a || b;
        while let Some(ev) = s.poll_event() {
            progress = true;
            if let Event::Request {
                token,
                request: Request::Component { .. },
            } = ev
            {
                s.attach(token, ComponentDecision::Accept, now).unwrap();
            }
        }
        while let Some(ev) = c.poll_event() {
            progress = true;
            if matches!(ev, Event::Authenticated { .. }) && !sent {
                sent = true;
                let hi = |from: &str, to: &str| {
                    Element::new("message", ns::COMPONENT_ACCEPT)
                        .with_attr("from", from)
                        .with_attr("to", to)
                        .with_child(Element::new("body", ns::COMPONENT_ACCEPT).with_text("hi"))
                };
                c.send(hi("romeo@gw.example.org", "juliet@example.org"))
                    .unwrap();
                s.send(hi("juliet@example.org", "romeo@gw.example.org"))
                    .unwrap();
                c.close(now);
            }
        }
        if !progress {
            break;
        }
    }
    assert!(
        sent && c.is_closed() && s.is_closed(),
        "the session did not finish"
    );
    (up.log, down.log)
}

fn replay(target: &str, run: fn(&[u8]) -> Outcome) -> usize {
    let mut n = 0;
    for entry in fs::read_dir(corpus(target)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data))
            .unwrap_or_else(|_| panic!("{target}/{name}: an invariant broke"));
        if name.starts_with("ok_") {
            assert!(
                outcome.online && outcome.stanzas == 1 && outcome.closed,
                "{target}/{name}: {outcome:?}"
            );
        }
        n += 1;
    }
    n
}

#[test]
fn recorded_sessions_replay_in_any_chunking() {
    let (to_server, to_component) = record();
    if std::env::var("XMPP_SANSIO_WRITE_SEEDS").is_ok() {
        for (target, bytes) in [
            ("component_accept", &to_server),
            ("component", &to_component),
        ] {
            fs::create_dir_all(corpus(target)).unwrap();
            let mut seed = vec![6u8];
            seed.extend_from_slice(bytes);
            fs::write(corpus(target).join("ok_session"), seed).unwrap();
        }
    }
    for size in (0u8..64).step_by(5) {
        let mut d = vec![size];
        d.extend_from_slice(&to_server);
        let o = fuzzing::accept(&d);
        assert!(
            o.online && o.stanzas == 1 && o.closed,
            "accept, {size}: {o:?}"
        );
        let mut d = vec![size];
        d.extend_from_slice(&to_component);
        let o = fuzzing::component(&d);
        assert!(
            o.online && o.stanzas == 1 && o.closed,
            "component, {size}: {o:?}"
        );
    }
}

#[test]
fn accept_corpus() {
    assert!(replay("component_accept", fuzzing::accept) > 0);
}

#[test]
fn component_corpus() {
    assert!(replay("component", fuzzing::component) > 0);
}
