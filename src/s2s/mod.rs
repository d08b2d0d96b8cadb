//! Server-to-server streams (RFC 6120) with Server Dialback (XEP-0220,
//! keys per XEP-0185), on the shared core.
//!
//! * [`OutgoingStream`]: we connect to a remote domain. It opens the
//!   stream, does STARTTLS as configured, sends a `<db:result/>` key for
//!   each of our domains that wants to send (sender multiplexing, XEP-0220
//!   §2.7.1) and learns each verdict ([`Event::Pair`]). It also carries the
//!   `<db:verify/>` requests a Receiving Server sends to an Authoritative
//!   Server ([`OutgoingStream::verify`], answered by [`Event::Verified`]).
//! * [`IncomingStream`]: a remote server connects to us. A `<db:result/>`
//!   becomes a question to the host ([`Request::Dialback`]), which checks
//!   the key with the Authoritative Server and answers with
//!   [`IncomingStream::dialback_verdict`]; a `<db:verify/>` is answered at
//!   once from our own secret (we are the Authoritative Server). Every
//!   stanza is authorized by the domain pairs verified on that stream.
//!
//! When the host's TLS layer verified the peer's certificate for the
//! domain its header names ([`TlsInfo::with_verified_peer`]), the
//! incoming stream offers SASL EXTERNAL (XEP-0178) and the outgoing one
//! prefers it, falling back to dialback when it fails. Target
//! multiplexing (XEP-0220 §2.7.2) is used only toward a server that
//! announced dialback with error handling. Not here yet: bidirectional
//! streams (XEP-0288).
//!
//! [`TlsInfo::with_verified_peer`]: crate::sasl::TlsInfo::with_verified_peer
//!
//! # A host serving s2s
//!
//! Servers A and B, each with its outgoing stream to the other and the
//! incoming stream from it, wired back to back in memory. B's host turns
//! the key A sent into a `<db:verify/>` on B's own stream to A and passes
//! A's answer back; then a stanza crosses. A real host does the same with
//! sockets (see `examples/server/s2s.rs`).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use xmpp_sansio::random::OsRandom;
//! use xmpp_sansio::s2s::{DialbackSecret, IncomingStream, OutgoingStream, ServerConfig, TlsRequirement};
//! use xmpp_sansio::stream::{Connection, Event, Machine, Request, Verdict};
//! use xmpp_sansio::xml::Element;
//!
//! let now = Instant::now();
//! let server = |domain: &str, secret: &str| {
//!     let mut c = ServerConfig::new(&[domain], DialbackSecret::new(secret.as_bytes()));
//!     c.tls = TlsRequirement::Unavailable; // a real host runs STARTTLS
//!     Arc::new(c)
//! };
//! let (a, b) = (server("a.example", "secret of a"), server("b.example", "secret of b"));
//! let (a_dom, b_dom) = ("a.example".parse().unwrap(), "b.example".parse().unwrap());
//! let mut a_out = OutgoingStream::new(a.clone(), a_dom, b_dom, None, Box::new(OsRandom), now);
//! let mut b_in = IncomingStream::new(b.clone(), None, Box::new(OsRandom), now);
//! let (a_dom, b_dom) = ("a.example".parse().unwrap(), "b.example".parse().unwrap());
//! let mut b_out = OutgoingStream::new(b, b_dom, a_dom, None, Box::new(OsRandom), now);
//! let mut a_in = IncomingStream::new(a, None, Box::new(OsRandom), now);
//!
//! /// What one side writes, the other reads.
//! fn wire<X: Machine, Y: Machine>(from: &mut Connection<X>, to: &mut Connection<Y>, now: Instant) {
//!     let mut bytes = Vec::new();
//!     while from.poll_transmit(&mut bytes).is_some() {}
//!     if !bytes.is_empty() {
//!         to.handle_input(&bytes, now).unwrap();
//!     }
//! }
//!
//! let mut checks = Vec::new(); // (B's verify token, B's question token)
//! let mut accepted = false;
//! let mut delivered = None;
//! for _ in 0..20 {
//!     wire(&mut a_out, &mut b_in, now);
//!     wire(&mut b_in, &mut a_out, now);
//!     wire(&mut b_out, &mut a_in, now);
//!     wire(&mut a_in, &mut b_out, now);
//!     // B's host: a key from A is checked with A, the Authoritative Server.
//!     while let Some(ev) = b_in.poll_event() {
//!         match ev {
//!             Event::Request { token, request: Request::Dialback { from, to, stream_id, key } } => {
//!                 let ours = b_out.verify(&from, &to, &stream_id, &key, now).unwrap();
//!                 checks.push((ours, token));
//!             }
//!             Event::Stanza(stanza) => delivered = Some(stanza),
//!             _ => {}
//!         }
//!     }
//!     while let Some(ev) = b_out.poll_event() {
//!         if let Event::Verified { token, verdict } = ev {
//!             let (_, question) = checks.iter().find(|(t, _)| *t == token).copied().unwrap();
//!             b_in.dialback_verdict(question, verdict, now).unwrap();
//!         }
//!     }
//!     // A's host: A learns B's verdict on its key and sends.
//!     while let Some(ev) = a_out.poll_event() {
//!         if let Event::Pair { verdict: Verdict::Valid, .. } = ev {
//!             accepted = true;
//!             let hi = Element::new("message", "jabber:server")
//!                 .with_attr("from", "juliet@a.example/balcony")
//!                 .with_attr("to", "romeo@b.example")
//!                 .with_child(Element::new("body", "jabber:server").with_text("hi"));
//!             a_out.send(hi).unwrap();
//!         }
//!     }
//!     while a_in.poll_event().is_some() {} // A's incoming side: B's own key
//! }
//! assert!(accepted);
//! assert_eq!(delivered.unwrap().attr("from"), Some("juliet@a.example/balcony"));
//! ```
//!
//! [`Event::Pair`]: crate::stream::Event::Pair
//! [`Event::Verified`]: crate::stream::Event::Verified
//! [`Request::Dialback`]: crate::stream::Request::Dialback

pub mod dialback;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod incoming;
pub(crate) mod outgoing;

use std::time::Duration;

pub use crate::c2s::TlsRequirement;
pub use dialback::DialbackSecret;
pub use incoming::IncomingStream;
pub use outgoing::OutgoingStream;

use crate::xml::Limits;

/// What a server's s2s streams need to know; one for the whole server,
/// shared as an `Arc` by all its streams.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The domains this server hosts: incoming requests for others get
    /// `item-not-found` (dialback) or `host-unknown` (stanzas, headers).
    pub domains: Vec<String>,
    /// The secret dialback keys are derived from (XEP-0185).
    pub secret: DialbackSecret,
    /// STARTTLS: offered and required on incoming streams, used and
    /// insisted on by outgoing ones, as set.
    pub tls: TlsRequirement,
    /// Limits on what peers may send.
    pub limits: Limits,
    /// Negotiation (through STARTTLS) must be done within this time.
    pub negotiation_timeout: Duration,
    /// How long a dialback key may wait for its verdict.
    pub dialback_timeout: Duration,
}

impl ServerConfig {
    /// A configuration for `domains`, with the dialback `secret`, TLS
    /// required.
    pub fn new(domains: &[&str], secret: DialbackSecret) -> ServerConfig {
        ServerConfig {
            domains: domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            secret,
            tls: TlsRequirement::Required,
            limits: Limits::default(),
            negotiation_timeout: Duration::from_secs(60),
            dialback_timeout: Duration::from_secs(30),
        }
    }

    /// Whether this server hosts `domain`.
    pub fn serves(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// The domain of an address, if it is a valid JID.
fn domain_of(address: &str) -> Option<jid::BareJid> {
    let jid: jid::Jid = address.parse().ok()?;
    jid::BareJid::new(jid.domain().as_str()).ok()
}
