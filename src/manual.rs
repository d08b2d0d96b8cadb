//! Design notes: why the crate is built the way it is.
//!
//! # The host loop
//!
//! Every protocol role is a value the host drives; nothing in the crate
//! owns a socket, a clock, a thread or a random source. After each call
//! that feeds the machine (`handle_input`, `handle_eof`, `handle_timeout`,
//! `send`, `close`, `tls_established`, and the role's answers such as
//! `provide_credentials`) the host drains `poll_event` and
//! `poll_transmit` and re-arms one timer from `poll_timeout`. Time only
//! ever arrives as an argument, randomness through
//! [`Random`](crate::random::Random), so a test can replay a whole
//! negotiation byte for byte with virtual time.
//!
//! A machine that fails has already queued the stream error and the
//! closing tag (RFC 6120 §4.9.1): the host only has to write them out
//! before closing the socket. From then on every call returns the same
//! error, so a host cannot forget a failure by ignoring one return value.
//!
//! # The XML layer: two passes, bounded
//!
//! An XMPP stream is one endless document from an untrusted peer. The
//! [`Framer`](crate::xml::Framer) splits it in two passes:
//!
//! 1. a scan that finds where the current top-level element ends, looking
//!    only at `<`, `>` and quotes. It resumes exactly where the last chunk
//!    stopped, so work stays O(n) whatever the chunking. It counts depth,
//!    attributes and text runs as it goes, and refuses comments,
//!    processing instructions and DTDs at once;
//! 2. a parse of the complete element, in place when the element lies in
//!    one input chunk, else from the buffer the scan filled. The buffer
//!    never holds more than one element's limit.
//!
//! The second pass needs no state across chunks, which keeps it simple
//! enough to check every rule of RFC 6120 §11 and XML Namespaces itself.
//! The framer also returns after every item and leaves the rest of the
//! input with the caller. That is what lets a stream machine restart the
//! stream after SASL, change limits after authentication, and refuse the
//! bytes that follow a STARTTLS `<proceed/>`.
//!
//! The invariant that chunking is invisible is checked three ways: a
//! property test that splits streams at random, a test that splits a
//! sample stream at every byte, and the fuzz target, which compares one
//! read against arbitrary chunkings on every input.
//!
//! # The element tree: a few flat buffers
//!
//! An [`Element`](crate::xml::Element) keeps its whole subtree in one
//! `String` (the element's source bytes, followed by whatever had to be
//! decoded), one `Vec` of nodes in document order, one of attributes and a
//! small namespace table. Names, and values and texts without references,
//! are spans of the copied source, so a parsed stanza costs about four
//! allocations however many children it has. Pre-order layout with
//! subtree ends makes child iteration a skip, and dropping, comparing and
//! writing are loops, never recursion on depth a peer controls.
//!
//! # Connections and roles
//!
//! [`Connection`](crate::stream::Connection) is the one driving surface.
//! It owns what every role shares: the framer and writer, outgoing bytes,
//! events, timers, the sticky error, input held while the host is asked
//! something, what happens to bytes around STARTTLS, and the closing
//! handshake. A role (the c2s client and server today, s2s and components
//! later) implements the sealed `Role` trait. It only decides what a
//! received header or element means and what to answer, through
//! `send_header`, `send`, `restart` and `send_close`. Roles never see
//! how bytes are framed. A WebSocket (RFC 7395) or BOSH framing will
//! replace the framer and header writer inside the connection, and the
//! roles stay as they are.
//!
//! # Security decisions
//!
//! * The client insists on STARTTLS unless the host opts out. A server
//!   that does not offer it, or an attacker who strips it, ends the
//!   attempt before any credential is sent.
//! * XML after `<proceed/>` in the same read is refused on the client,
//!   since it can only have been injected before the handshake. On the
//!   server it is dropped (RFC 6120 §5.4.3.3).
//! * Servers store SCRAM records, never passwords. An unknown user gets
//!   a decoy exchange with a salt derived from the server's one decoy
//!   key, which the host supplies and keeps across restarts, so the salt
//!   does not change from one attempt or connection to the next.
//! * Channel binding follows RFC 5802 §6 and XEP-0440's rules. With the
//!   server's XEP-0440 list, the client binds to a type from it or stops;
//!   it never sends `n` because of what the list says. Without a list, a
//!   `-PLUS` attempt is a guess at the type; refused before any challenge,
//!   it is retried once with plain SCRAM and `y`, which a server able to
//!   bind refuses. `n` goes out only without TLS or without binding data,
//!   and PLAIN never follows SCRAM.
//! * A server pings a client that has sent nothing for its idle timeout
//!   and ends the stream when no answer comes (RFC 6120 §4.6.4), so a
//!   peer that vanished without closing TCP does not hold its session.
//! * Servers stamp `from` on every stanza from a client
//!   (RFC 6120 §8.1.2.1).
//!
//! # How it is tested
//!
//! * Pure functions are tested next to their code.
//! * Each machine is tested against scripted peer bytes, for every
//!   condition it detects.
//! * Both c2s machines run against each other in memory, including with
//!   byte-by-byte delivery.
//! * Real peers: Prosody for our client, slixmpp for our server.
//! * Independent implementations: scramp for SCRAM, minidom as a second
//!   XML parser.
//! * Fuzz targets cover the framer, every SASL server mechanism, the
//!   SCRAM client and both c2s machines. Their seed corpora are replayed
//!   by `cargo test`.
