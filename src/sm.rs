//! Stream management (XEP-0198): the settings ([`Config`]), the session a
//! host keeps across connections to resume ([`Session`]), the `h`
//! counters and the queue of unacknowledged stanzas ([`Ledger`]), and the
//! protocol's elements ([`Nonza`]).
//!
//! The c2s streams negotiate it when their configuration asks
//! (`ClientConfig::stream_management`, `ServerConfig::stream_management`):
//! the client enables it after binding and goes online at once (what it
//! sends is held until the server's `<enabled/>`, so that a break before
//! it sends nothing twice), or resumes a [`Session`] in binding's place.
//! From then on the stream counts every stanza, answers `<r/>`, asks for
//! acknowledgements itself and hands the host, when it ends,
//! [`Event::Suspended`](crate::stream::Event::Suspended) (resumable) or
//! [`Event::Unsent`](crate::stream::Event::Unsent).
//!
//! A client host's loop, in short:
//!
//! ```no_run
//! # use std::time::Instant;
//! # use xmpp_sansio::c2s::{ClientConfig, ClientStream};
//! # use xmpp_sansio::random::OsRandom;
//! # use xmpp_sansio::stream::Event;
//! # let mut config = ClientConfig::new("juliet@example.com".parse().unwrap(), "secret");
//! config.stream_management = Some(xmpp_sansio::sm::Config::default());
//! let mut kept = None;
//! loop {
//!     let mut stream = ClientStream::new(config.clone(), None, Box::new(OsRandom), Instant::now());
//!     if let Some(session) = kept.take() {
//!         stream.resume_session(session);
//!     }
//!     // ... drive it; among its events:
//!     while let Some(event) = stream.poll_event() {
//!         match event {
//!             Event::Online { .. } => { /* a new session: roster, presence */ }
//!             Event::Resumed { .. } => { /* as it was: nothing to set up */ }
//!             Event::Suspended(session) => kept = Some(*session),
//!             Event::Unsent(stanzas) => { /* send again once online, or report */ }
//!             _ => {}
//!         }
//!     }
//!     # break;
//! }
//! ```
//!
//! The ledger on its own:
//!
//! A [`Ledger`] is the state one side keeps for one stream-management
//! session, and the state a host carries across connections to resume
//! it. It counts stanzas handled in each direction, compared modulo 2^32
//! (XEP-0198 §5: counters wrap from 2^32-1 to 0), keeps every stanza sent
//! until the peer acknowledges it, bounded by a configured size, and on
//! resumption says exactly which stanzas to send again.
//!
//! ```
//! use xmpp_sansio::sm::{Ledger, Nonza};
//! use xmpp_sansio::xml::Element;
//!
//! let mut ledger = Ledger::new(100);
//! for i in 0..3 {
//!     let m = Element::new("message", "jabber:client").with_attr("id", &i.to_string());
//!     ledger.sent(m).unwrap();
//! }
//! // The peer says it handled two: one stays queued.
//! assert_eq!(ledger.acknowledged(2).unwrap(), 2);
//! assert_eq!(ledger.unacknowledged().count(), 1);
//! // Our own answer to its <r/>.
//! ledger.received();
//! assert_eq!(Nonza::A { h: ledger.handled() }.to_element().attr("h"), Some("1"));
//! ```

use std::collections::VecDeque;
use std::time::Duration;

use jid::FullJid;

use crate::stanza::DefinedCondition;
use crate::stream::{Condition, StreamError};
use crate::xml::{Element, ElementRef};

/// XEP-0198's namespace.
pub const NS: &str = "urn:xmpp:sm:3";

/// The peer acknowledged more than was sent (XEP-0198 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("acknowledged {h} stanzas but only {sent} were sent")]
pub struct HandledCountTooHigh {
    /// The `h` received.
    pub h: u32,
    /// How many were sent (modulo 2^32).
    pub sent: u32,
}

impl HandledCountTooHigh {
    /// The stream error to end the stream with: `undefined-condition`
    /// with `<handled-count-too-high h='..' send-count='..'/>`.
    pub fn stream_error(&self) -> StreamError {
        let mut e = StreamError::new(Condition::UndefinedCondition).with_text(&format!(
            "You acknowledged {} stanzas, but only {} were sent.",
            self.h, self.sent
        ));
        e.application = Some(Box::new(
            Element::new("handled-count-too-high", NS)
                .with_attr("h", &self.h.to_string())
                .with_attr("send-count", &self.sent.to_string()),
        ));
        e
    }
}

/// The queue of unacknowledged stanzas would grow past its bound; the
/// stanza is given back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{queued} stanzas await acknowledgement, the most allowed")]
pub struct QueueFull {
    /// How many are queued.
    pub queued: usize,
    /// The stanza that was not queued.
    pub stanza: Box<Element>,
}

/// One side's stream-management state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ledger {
    /// Stanzas received and handled (our `h`).
    handled: u32,
    /// The peer's last `h`: how many of ours it handled.
    acked: u32,
    /// Sent and not yet acknowledged, oldest first.
    #[cfg_attr(feature = "serde", serde(with = "serde_impl::elements"))]
    queue: VecDeque<Element>,
    max_queue: usize,
}

impl Ledger {
    /// A new session, keeping at most `max_queue` unacknowledged stanzas.
    pub fn new(max_queue: usize) -> Ledger {
        Ledger {
            handled: 0,
            acked: 0,
            queue: VecDeque::new(),
            max_queue,
        }
    }

    /// A session carried over with its counters: our `handled` and the
    /// peer's last `acked`, as stored by the host; the queue starts empty.
    pub fn with_counters(handled: u32, acked: u32, max_queue: usize) -> Ledger {
        Ledger {
            handled,
            acked,
            queue: VecDeque::new(),
            max_queue,
        }
    }

    /// How many stanzas await acknowledgement.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Whether [`sent`](Self::sent) would refuse the next stanza.
    pub fn is_full(&self) -> bool {
        self.queue.len() >= self.max_queue
    }

    /// The bound on the queue.
    pub fn max_queue(&self) -> usize {
        self.max_queue
    }

    /// Counts and keeps a stanza the stream itself wrote (a keepalive, an
    /// answer of the role's own): the peer counts it whatever the bound.
    pub(crate) fn push(&mut self, stanza: Element) {
        self.queue.push_back(stanza);
    }

    /// The peer's last acknowledged count.
    pub fn acked(&self) -> u32 {
        self.acked
    }

    /// A stanza from the peer was handled: `h` goes up by one, wrapping.
    pub fn received(&mut self) {
        self.handled = self.handled.wrapping_add(1);
    }

    /// Our `h`: stanzas handled, modulo 2^32.
    pub fn handled(&self) -> u32 {
        self.handled
    }

    /// Stanzas sent, modulo 2^32.
    pub fn sent_count(&self) -> u32 {
        // The queue never holds 2^32 stanzas: it is bounded.
        self.acked.wrapping_add(self.queue.len() as u32)
    }

    /// A stanza was sent: it is kept until acknowledged. When the queue
    /// is full the stanza is given back and nothing changes; the host
    /// decides (wait for an ack, or end the session).
    pub fn sent(&mut self, stanza: Element) -> Result<(), QueueFull> {
        if self.queue.len() >= self.max_queue {
            return Err(QueueFull {
                queued: self.queue.len(),
                stanza: Box::new(stanza),
            });
        }
        self.queue.push_back(stanza);
        Ok(())
    }

    /// The peer's `<a h='..'/>` (or the `h` of `<resume/>`, `<resumed/>`,
    /// `<failed/>`): drops what it handled and returns how many. An `h`
    /// below the last one is a stale ack and changes nothing.
    pub fn acknowledged(&mut self, h: u32) -> Result<usize, HandledCountTooHigh> {
        let newly = h.wrapping_sub(self.acked) as usize;
        if newly > self.queue.len() {
            // Either more than sent, or (modulo 2^32) an old value: only
            // the first is an error; an old value lies within the last
            // 2^31 of what was acknowledged.
            let behind = self.acked.wrapping_sub(h);
            if behind != 0 && behind < (1 << 31) {
                return Ok(0);
            }
            return Err(HandledCountTooHigh {
                h,
                sent: self.sent_count(),
            });
        }
        self.queue.drain(..newly);
        self.acked = h;
        Ok(newly)
    }

    /// What the peer has not acknowledged, oldest first.
    pub fn unacknowledged(&self) -> impl Iterator<Item = &Element> {
        self.queue.iter()
    }

    /// Resumption (XEP-0198 §5): the peer's `h` acknowledges, and what is
    /// left is to be sent again, in order. The ledger keeps those stanzas
    /// queued: sending them again does not count them twice.
    pub fn resume(&mut self, h: u32) -> Result<Vec<Element>, HandledCountTooHigh> {
        self.acknowledged(h)?;
        Ok(self.queue.iter().cloned().collect())
    }

    /// A failed resumption or a session ended for good: what was never
    /// acknowledged, for the host to send another way or report. The
    /// queue is left empty.
    pub fn take_unacknowledged(&mut self) -> Vec<Element> {
        self.queue.drain(..).collect()
    }
}

/// How a stream uses stream management: the client's wishes, or what the
/// server grants; the same settings schedule acknowledgement requests on
/// both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Ask for (client) or allow (server) resumption (XEP-0198 §5).
    pub resume: bool,
    /// The preferred longest time, in seconds, a broken stream stays
    /// resumable: sent as `max` (the client's wish on `<enable/>`, the
    /// server's promise on `<enabled/>`). A server holds detached
    /// sessions this long.
    pub max: Option<u32>,
    /// Stanzas kept for acknowledgement at most: beyond that,
    /// [`Connection::send`](crate::stream::Connection::send) refuses with
    /// [`SendError::Backlog`](crate::stream::SendError::Backlog) and hands
    /// the stanza back until the peer acknowledges.
    pub max_queue: usize,
    /// Request an acknowledgement (`<r/>`) at once when this many stanzas
    /// await one.
    pub request_after: usize,
    /// Otherwise request one this long after the first unacknowledged
    /// stanza went out: several stanzas share one `<r/>`.
    pub request_delay: Duration,
    /// An `<r/>` unanswered for this long means the connection is dead:
    /// the stream ends with `connection-timeout` and stays resumable.
    /// `None` waits for the transport to tell.
    pub ack_timeout: Option<Duration>,
}

impl Default for Config {
    /// Resumable for five minutes, 1,000 stanzas queued, an `<r/>` after
    /// five unacknowledged stanzas or one second, dead after 60 seconds
    /// without an answer.
    fn default() -> Self {
        Config {
            resume: true,
            max: Some(300),
            max_queue: 1000,
            request_after: 5,
            request_delay: Duration::from_secs(1),
            ack_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// A stream-management session as one side keeps it: what it takes to
/// resume on another connection (XEP-0198 §5). The host receives it in
/// [`Event::Suspended`](crate::stream::Event::Suspended) when a resumable
/// stream breaks, keeps it (in memory, or serialized with the `serde`
/// feature) and hands it to the next connection: a client with
/// `ClientStream::resume_session`, a server in its answer to
/// [`Request::Resume`](crate::stream::Request::Resume).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Session {
    /// The SM-ID the server gave.
    id: String,
    /// The session's full JID.
    #[cfg_attr(feature = "serde", serde(with = "serde_impl::full_jid"))]
    jid: FullJid,
    ledger: Ledger,
    /// The server's `max`, seconds.
    max: Option<u32>,
    /// The server's preferred place to reconnect to.
    location: Option<String>,
}

impl Session {
    pub(crate) fn new(
        id: String,
        jid: FullJid,
        ledger: Ledger,
        max: Option<u32>,
        location: Option<String>,
    ) -> Session {
        Session {
            id,
            jid,
            ledger,
            max,
            location,
        }
    }

    /// The SM-ID: `previd` when resuming.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The full JID the session was bound to.
    pub fn jid(&self) -> &FullJid {
        &self.jid
    }

    /// The counters and the stanzas awaiting acknowledgement.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// How long the server keeps the session resumable (its `max`), if it
    /// said; a server host expires detached sessions after this.
    pub fn max(&self) -> Option<Duration> {
        self.max.map(|s| Duration::from_secs(u64::from(s)))
    }

    /// Where the server prefers the client to reconnect (`location`,
    /// "host:port" per RFC 6120 §4.9.3.19), if it said.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// A stanza for a session whose connection broke (server side): it
    /// counts as sent, and resumption delivers it with the rest of the
    /// unacknowledged stanzas. A full queue gives it back.
    pub fn enqueue(&mut self, stanza: Element) -> Result<(), QueueFull> {
        self.ledger.sent(stanza)
    }

    /// The session is given up (it expired, or resumption failed): what
    /// the peer never acknowledged, oldest first, for the host to send
    /// another way (a server: as to an unavailable resource, RFC 6121
    /// §8.5; a client: again on a new session) or to report.
    pub fn into_unacknowledged(mut self) -> Vec<Element> {
        self.ledger.take_unacknowledged()
    }

    pub(crate) fn set_enabled(&mut self, id: String, max: Option<u32>, location: Option<String>) {
        self.id = id;
        self.max = max;
        self.location = location;
    }

    pub(crate) fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.ledger
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! Elements travel as their XML text; JIDs as strings.

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::xml::{Element, FrameEvent, Framer, Limits, Writer};

    pub(super) mod full_jid {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(j: &jid::FullJid, s: S) -> Result<S::Ok, S::Error> {
            j.as_str().serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<jid::FullJid, D::Error> {
            let s = String::deserialize(d)?;
            s.parse().map_err(D::Error::custom)
        }
    }

    pub(super) mod elements {
        use super::*;
        use std::collections::VecDeque;

        pub(crate) fn serialize<S: Serializer>(
            q: &VecDeque<Element>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            let w = Writer::standalone();
            let texts = q
                .iter()
                .map(|el| w.to_string(el))
                .collect::<Result<Vec<_>, _>>()
                .map_err(serde::ser::Error::custom)?;
            texts.serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<VecDeque<Element>, D::Error> {
            let texts = Vec::<String>::deserialize(d)?;
            texts
                .iter()
                .map(|t| {
                    // What was written must read back, however large.
                    let mut framer = Framer::for_fragments(Limits::relaxed(t.len().max(1)));
                    let mut input = t.as_bytes();
                    match framer.next_event(&mut input) {
                        Ok(Some(FrameEvent::Element(el)))
                            if input.iter().all(u8::is_ascii_whitespace) =>
                        {
                            Ok(el)
                        }
                        Ok(_) => Err(D::Error::custom("not one element")),
                        Err(e) => Err(D::Error::custom(e)),
                    }
                })
                .collect()
        }
    }
}

/// A stream-management element (XEP-0198 §3-§5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nonza {
    /// `<enable/>`, asking for resumption and a maximum time (seconds).
    Enable {
        /// `resume='true'`.
        resume: bool,
        /// `max`, the preferred resumption time in seconds.
        max: Option<u32>,
    },
    /// `<enabled/>`.
    Enabled {
        /// The session id, for resumption.
        id: Option<String>,
        /// `resume='true'`.
        resume: bool,
        /// `max`, seconds.
        max: Option<u32>,
        /// `location`, where to reconnect.
        location: Option<String>,
    },
    /// `<r/>`.
    R,
    /// `<a h='..'/>`.
    A {
        /// Stanzas handled.
        h: u32,
    },
    /// `<resume h='..' previd='..'/>`.
    Resume {
        /// Stanzas handled.
        h: u32,
        /// The session to resume.
        previd: String,
    },
    /// `<resumed h='..' previd='..'/>`.
    Resumed {
        /// Stanzas handled.
        h: u32,
        /// The session resumed.
        previd: String,
    },
    /// `<failed/>`, with the handled count when known and a stanza error
    /// condition.
    Failed {
        /// `h`, when given.
        h: Option<u32>,
        /// The condition (`unexpected-request`, `item-not-found`, ...).
        condition: Option<DefinedCondition>,
    },
}

fn bool_attr(el: ElementRef<'_>, name: &str) -> bool {
    matches!(el.attr(name), Some("true" | "1"))
}

fn u32_attr(el: ElementRef<'_>, name: &str) -> Option<u32> {
    el.attr(name).and_then(|v| v.trim().parse().ok())
}

impl Nonza {
    /// Reads an element in [`NS`]; `None` if it is not one, or lacks a
    /// required attribute (`h` on `<a/>`, `<resume/>`, `<resumed/>`;
    /// `previd`).
    pub fn parse(el: ElementRef<'_>) -> Option<Nonza> {
        if el.ns() != NS {
            return None;
        }
        Some(match el.name() {
            "enable" => Nonza::Enable {
                resume: bool_attr(el, "resume"),
                max: u32_attr(el, "max"),
            },
            "enabled" => Nonza::Enabled {
                id: el.attr("id").map(str::to_owned),
                resume: bool_attr(el, "resume"),
                max: u32_attr(el, "max"),
                location: el.attr("location").map(str::to_owned),
            },
            "r" => Nonza::R,
            "a" => Nonza::A {
                h: u32_attr(el, "h")?,
            },
            "resume" => Nonza::Resume {
                h: u32_attr(el, "h")?,
                previd: el.attr("previd")?.to_owned(),
            },
            "resumed" => Nonza::Resumed {
                h: u32_attr(el, "h")?,
                previd: el.attr("previd")?.to_owned(),
            },
            "failed" => Nonza::Failed {
                h: u32_attr(el, "h"),
                condition: el
                    .children()
                    .find(|c| c.ns() == crate::ns::STANZAS)
                    .and_then(|c| c.name().parse().ok()),
            },
            _ => return None,
        })
    }

    /// The element.
    pub fn to_element(&self) -> Element {
        let set_bool = |el: Element, name: &str, v: bool| {
            if v { el.with_attr(name, "true") } else { el }
        };
        let set_opt = |el: Element, name: &str, v: Option<String>| match v {
            Some(v) => el.with_attr(name, &v),
            None => el,
        };
        match self {
            Nonza::Enable { resume, max } => set_opt(
                set_bool(Element::new("enable", NS), "resume", *resume),
                "max",
                max.map(|m| m.to_string()),
            ),
            Nonza::Enabled {
                id,
                resume,
                max,
                location,
            } => {
                let el = set_opt(Element::new("enabled", NS), "id", id.clone());
                let el = set_bool(el, "resume", *resume);
                let el = set_opt(el, "max", max.map(|m| m.to_string()));
                set_opt(el, "location", location.clone())
            }
            Nonza::R => Element::new("r", NS),
            Nonza::A { h } => Element::new("a", NS).with_attr("h", &h.to_string()),
            Nonza::Resume { h, previd } => Element::new("resume", NS)
                .with_attr("h", &h.to_string())
                .with_attr("previd", previd),
            Nonza::Resumed { h, previd } => Element::new("resumed", NS)
                .with_attr("h", &h.to_string())
                .with_attr("previd", previd),
            Nonza::Failed { h, condition } => {
                let mut el = set_opt(Element::new("failed", NS), "h", h.map(|h| h.to_string()));
                if let Some(c) = condition {
                    el.push_child(Element::new(c.as_str(), crate::ns::STANZAS));
                }
                el
            }
        }
    }
}

/// Fuzzing entry point: a byte script of ledger operations and element
/// round trips, checking invariants (any violation panics).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz(data: &[u8]) -> usize {
    let mut it = data.iter().copied();
    let start = u32::from_le_bytes([
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    ]);
    let mut l = Ledger::with_counters(start, start, 16);
    let mut steps = 0;
    while let Some(op) = it.next() {
        steps += 1;
        let arg = it.next().unwrap_or(0);
        let before = l.clone();
        match op % 6 {
            0 => {
                let r = l.sent(Element::new("message", crate::ns::CLIENT));
                assert_eq!(r.is_err(), before.queue.len() >= 16);
            }
            1 => l.received(),
            2 | 3 => {
                // Near the last ack, either side of it.
                let h = l.acked().wrapping_add(u32::from(arg)).wrapping_sub(8);
                let r = if op % 6 == 2 {
                    l.acknowledged(h).map(|n| vec![Element::new("x", NS); n])
                } else {
                    l.resume(h)
                };
                if r.is_err() {
                    assert_eq!(l, before, "an error changes nothing");
                }
            }
            4 => {
                let all = l.take_unacknowledged();
                assert_eq!(all.len(), before.queue.len());
            }
            _ => {
                // Attribute values from the input through parse and back.
                let text: String = std::iter::once(arg)
                    .chain(it.by_ref().take(usize::from(arg % 12)))
                    .map(|b| char::from(b'0' + b % 75))
                    .collect();
                for name in ["a", "resume", "resumed", "enable", "enabled", "failed"] {
                    let el = Element::new(name, NS)
                        .with_attr("h", &text)
                        .with_attr("max", &text)
                        .with_attr("previd", &text)
                        .with_attr("resume", &text);
                    if let Some(n) = Nonza::parse(el.as_ref()) {
                        assert_eq!(Nonza::parse(n.to_element().as_ref()), Some(n));
                    }
                }
            }
        }
        assert_eq!(
            l.sent_count(),
            l.acked().wrapping_add(l.queue.len() as u32),
            "counters and queue agree"
        );
        assert!(l.queue.len() <= 16);
    }
    steps
}
