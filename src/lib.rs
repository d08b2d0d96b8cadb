//! # xmpp-proto
//!
//! XMPP without I/O: state machines that consume bytes and produce events
//! and bytes. Sockets, TLS handshakes, DNS and clocks stay with the host
//! application, which drives the machines from its own event loop.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod random;
pub mod sasl;
