//! Replays the s2s fuzz corpora through the fuzz entry points. `ok_*`
//! seeds are recorded sessions and must verify a domain pair; the others
//! must only keep the invariants.
//!
//! `XMPP_SANSIO_WRITE_SEEDS=1 cargo test --test fuzz_corpus_s2s` records
//! the `ok_session` seeds anew.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use common::Link;
use jid::BareJid;
use xmpp_sansio::ns;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::s2s::fuzzing::{self, Outcome};
use xmpp_sansio::s2s::{IncomingStream, OutgoingStream, TlsRequirement};
use xmpp_sansio::stream::{Event, Request, Verdict};
use xmpp_sansio::xml::Element;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// The harnesses' two machines against each other: what each received.
fn record() -> (Vec<u8>, Vec<u8>) {
    let now = Instant::now();
    let mut out = OutgoingStream::new(
        fuzzing::config("a.example", TlsRequirement::Unavailable),
        BareJid::new("a.example").unwrap(),
        BareJid::new("b.example").unwrap(),
        None,
        Box::new(SeededRandom::new(2)),
        now,
    );
    let mut inc = IncomingStream::new(
        fuzzing::config("b.example", TlsRequirement::Optional),
        None,
        Box::new(SeededRandom::new(1)),
        now,
    );
    let (mut up, mut down) = (Link::default(), Link::default());
    let mut sent = false;
    for _ in 0..100 {
        let a = up.carry(&mut out, &mut inc, now).0;
        let b = down.carry(&mut inc, &mut out, now).0;
        let mut progress = a || b;
        while let Some(ev) = inc.poll_event() {
            progress = true;
            if let Event::Request {
                token,
                request: Request::Dialback { .. },
            } = ev
            {
                inc.dialback_verdict(token, Verdict::Valid, now).unwrap();
            }
        }
        while let Some(ev) = out.poll_event() {
            progress = true;
            if matches!(
                ev,
                Event::Pair {
                    verdict: Verdict::Valid,
                    ..
                }
            ) && !sent
            {
                sent = true;
                let msg = Element::new("message", ns::SERVER)
                    .with_attr("from", "juliet@a.example/balcony")
                    .with_attr("to", "romeo@b.example")
                    .with_child(Element::new("body", ns::SERVER).with_text("hi"));
                out.send(msg).unwrap();
                out.close(now);
            }
        }
        if !progress {
            break;
        }
    }
    assert!(
        sent && out.is_closed() && inc.is_closed(),
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
                outcome.valid_pair && outcome.closed,
                "{target}/{name}: {outcome:?}"
            );
        }
        n += 1;
    }
    n
}

#[test]
fn recorded_sessions_replay_in_any_chunking() {
    let (to_incoming, to_outgoing) = record();
    if std::env::var("XMPP_SANSIO_WRITE_SEEDS").is_ok() {
        for (target, bytes) in [
            ("s2s_incoming", &to_incoming),
            ("s2s_outgoing", &to_outgoing),
        ] {
            fs::create_dir_all(corpus(target)).unwrap();
            let mut seed = vec![6u8];
            seed.extend_from_slice(bytes);
            fs::write(corpus(target).join("ok_session"), seed).unwrap();
        }
    }
    for size in (0u8..64).step_by(5) {
        let mut d = vec![size];
        d.extend_from_slice(&to_incoming);
        let o = fuzzing::incoming(&d);
        assert!(
            o.valid_pair && o.stanzas == 1 && o.closed,
            "incoming, {size}: {o:?}"
        );
        let mut d = vec![size];
        d.extend_from_slice(&to_outgoing);
        let o = fuzzing::outgoing(&d);
        assert!(o.valid_pair && o.closed, "outgoing, {size}: {o:?}");
    }
}

#[test]
fn incoming_corpus() {
    assert!(replay("s2s_incoming", fuzzing::incoming) > 0);
}

#[test]
fn outgoing_corpus() {
    assert!(replay("s2s_outgoing", fuzzing::outgoing) > 0);
}
