//! # xmpp-sansio
//!
//! XMPP without I/O: state machines that consume bytes and produce events
//! and bytes. Sockets, TLS handshakes, DNS and clocks stay with the host
//! application, which drives the machines from its own event loop.
//!
//! The layers, bottom to top:
//!
//! * [`xml`]: the XML stream framer (RFC 6120 §11 restricted XML,
//!   incremental, bounded), the element tree and the writer.
//! * [`stream`]: the one core under every role and framing
//!   ([`stream::Connection`], [`stream::Framing`]: TCP, WebSocket, BOSH
//!   elements), stream headers, features and errors.
//! * [`sasl`]: SASL mechanisms, client and server, without XML.
//! * [`stanza`]: typed message, presence and iq views; stanza errors.
//! * [`c2s`]: client-to-server streams, both sides, composed of the
//!   shared negotiators (STARTTLS, SASL, binding) on the shared core.
//! * [`s2s`]: server-to-server streams, both directions, with Server
//!   Dialback (XEP-0220) in its three roles and XEP-0185 keys.
//! * [`component`]: external components (XEP-0114), both sides.
//! * [`presence`]: presence subscriptions (RFC 6121 Appendix A) as pure
//!   functions.
//! * [`sm`]: stream management (XEP-0198): its settings, the session a
//!   host keeps to resume, the counters and unacknowledged queue, the
//!   protocol's elements. The c2s streams enable and resume it.
//! * [`srv`]: SRV records to an ordered list of places to connect (RFC
//!   2782, RFC 6120 §3.2, XEP-0368).
//!
//! [`manual`] holds the design notes: the "why" of the above.
//!
//! ```
//! use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
//!
//! let mut framer = Framer::new(Limits::default());
//! let mut input: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
//!     xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>\
//!     <message to='juliet@example.com'><body>hi &amp; bye</body></message>";
//! let mut stanzas = 0;
//! // Each call consumes what it needs and leaves the rest in `input`.
//! while let Some(event) = framer.next_event(&mut input).unwrap() {
//!     if let FrameEvent::Element(el) = event {
//!         assert_eq!(el.name(), "message");
//!         assert_eq!(el.get_child("body", "jabber:client").unwrap().text(), "hi & bye");
//!         stanzas += 1;
//!     }
//! }
//! assert_eq!(stanzas, 1);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod c2s;
pub mod component;
pub mod manual;
pub mod ns;
pub mod presence;
pub mod random;
pub mod s2s;
pub mod sasl;
pub mod sm;
pub mod srv;
pub mod stanza;
pub mod stream;
pub mod xml;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
