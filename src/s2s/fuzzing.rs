//! The fuzz entry points of the s2s machines, shared by `fuzz/` and the
//! corpus replay test: peer bytes in reads whose size the first byte
//! picks, a host that answers every dialback question at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jid::BareJid;

use super::{DialbackSecret, IncomingStream, OutgoingStream, ServerConfig, TlsRequirement};
use crate::random::SeededRandom;
use crate::sasl::TlsInfo;
use crate::stream::{Event, Request, Verdict};

/// The configuration of the harnesses' servers: `a.example` and
/// `b.example` with fixed secrets. The receiving server offers STARTTLS
/// without requiring it; the initiating one does not use it, so that a
/// recorded session is plain bytes.
pub fn config(domain: &str, tls: TlsRequirement) -> Arc<ServerConfig> {
    let mut c = ServerConfig::new(&[domain], DialbackSecret::new(domain.as_bytes()));
    c.tls = tls;
    Arc::new(c)
}

/// How far a machine got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// A domain pair was judged valid.
    pub valid_pair: bool,
    /// Stanzas delivered to the host.
    pub stanzas: usize,
    /// It ended, cleanly or not.
    pub closed: bool,
}

fn reads(data: &[u8]) -> Vec<&[u8]> {
    let (size, input) = match data.split_first() {
        Some((&b, rest)) => (usize::from(b % 64) + 1, rest),
        None => (1, data),
    };
    input.chunks(size).collect()
}

fn observe(outcome: &mut Outcome, ev: &Event) {
    match ev {
        Event::Pair {
            verdict: Verdict::Valid,
            ..
        } => outcome.valid_pair = true,
        Event::Stanza(_) => outcome.stanzas += 1,
        Event::Closed(_) => outcome.closed = true,
        _ => {}
    }
}

/// Feeds `data` to `b.example`'s incoming stream as a remote server's
/// bytes; every dialback key is judged valid at once.
pub fn incoming(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut s = IncomingStream::new(
        config("b.example", TlsRequirement::Optional),
        None,
        Box::new(SeededRandom::new(1)),
        now,
    );
    let mut outcome = Outcome::default();
    let mut out = Vec::new();
    for chunk in reads(data) {
        let _ = s.handle_input(chunk, now);
        while s.poll_transmit(&mut out).is_some() {}
        out.clear();
        while let Some(ev) = s.poll_event() {
            observe(&mut outcome, &ev);
            match ev {
                Event::StartTls => {
                    // As if a.example presented a certificate the host
                    // verified, so that SASL EXTERNAL is reachable.
                    let info = TlsInfo::tls().with_verified_peer("a.example");
                    let _ = s.tls_established(info, now);
                }
                Event::Request {
                    token,
                    request: Request::Dialback { .. },
                } => {
                    let _ = s.dialback_verdict(token, Verdict::Valid, now);
                }
                _ => {}
            }
        }
    }
    let _ = s.handle_timeout(now + Duration::from_secs(3600));
    outcome.closed |= s.is_closed();
    outcome
}

/// Feeds `data` to `a.example`'s outgoing stream to `b.example` as the
/// remote server's bytes.
pub fn outgoing(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut s = OutgoingStream::new(
        config("a.example", TlsRequirement::Unavailable),
        BareJid::new("a.example").expect("valid"),
        BareJid::new("b.example").expect("valid"),
        None,
        Box::new(SeededRandom::new(2)),
        now,
    );
    let mut outcome = Outcome::default();
    let mut out = Vec::new();
    for chunk in reads(data) {
        let _ = s.handle_input(chunk, now);
        while s.poll_transmit(&mut out).is_some() {}
        out.clear();
        while let Some(ev) = s.poll_event() {
            observe(&mut outcome, &ev);
            if ev == Event::StartTls {
                let _ = s.tls_established(TlsInfo::tls(), now);
            }
        }
    }
    let _ = s.handle_timeout(now + Duration::from_secs(3600));
    outcome.closed |= s.is_closed();
    outcome
}
