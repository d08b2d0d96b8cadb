//! The fuzz entry points of the component machines, shared by `fuzz/` and
//! the corpus replay test: peer bytes in reads whose size the first byte
//! picks; the accepting host attaches every component.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AcceptConfig, AcceptStream, ComponentConfig, ComponentDecision, ComponentStream};
use crate::random::SeededRandom;
use crate::stream::{Event, Request};

/// The component's name in the harnesses.
pub const NAME: &str = "gw.example.org";
/// Its secret.
pub const SECRET: &str = "s3cr3t";

/// The accepting side's configuration.
pub fn accept_config() -> Arc<AcceptConfig> {
    Arc::new(AcceptConfig::new(&[(NAME, SECRET)]))
}

/// The component's configuration.
pub fn component_config() -> ComponentConfig {
    ComponentConfig::new(NAME.parse().expect("valid"), SECRET)
}

/// How far a machine got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The handshake succeeded.
    pub online: bool,
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
        Event::Authenticated { .. } => outcome.online = true,
        Event::Stanza(_) => outcome.stanzas += 1,
        Event::Closed(_) => outcome.closed = true,
        _ => {}
    }
}

/// Feeds `data` to the server's side as a component's bytes.
pub fn accept(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut s = AcceptStream::new(accept_config(), Box::new(SeededRandom::new(2)), now);
    let mut outcome = Outcome::default();
    let mut out = Vec::new();
    for chunk in reads(data) {
        let _ = s.handle_input(chunk, now);
        while s.poll_transmit(&mut out).is_some() {}
        out.clear();
        while let Some(ev) = s.poll_event() {
            observe(&mut outcome, &ev);
            if let Event::Request {
                token,
                request: Request::Component { .. },
            } = ev
            {
                let _ = s.attach(token, ComponentDecision::Accept, now);
            }
        }
    }
    let _ = s.handle_timeout(now + Duration::from_secs(3600));
    outcome.closed |= s.is_closed();
    outcome
}

/// Feeds `data` to the component's side as the server's bytes.
pub fn component(data: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut s = ComponentStream::new(component_config(), Box::new(SeededRandom::new(1)), now);
    let mut outcome = Outcome::default();
    let mut out = Vec::new();
    for chunk in reads(data) {
        let _ = s.handle_input(chunk, now);
        while s.poll_transmit(&mut out).is_some() {}
        out.clear();
        while let Some(ev) = s.poll_event() {
            observe(&mut outcome, &ev);
        }
    }
    let _ = s.handle_timeout(now + Duration::from_secs(3600));
    outcome.closed |= s.is_closed();
    outcome
}
