//! Design notes: why the crate is built the way it is.
//!
//! # The host loop
//!
//! Every protocol role is a value the host drives; nothing in the crate
//! owns a socket, a clock, a thread or a random source. After each call
//! that feeds the machine (`handle_input`, `handle_frame`, `handle_eof`,
//! `handle_timeout`, `send`, `close`, `tls_established`, and the role's
//! answers such as `provide_credentials`) the host drains `poll_event`
//! and `poll_transmit` and re-arms one timer from `poll_timeout`. Time
//! only ever arrives as an argument, randomness through
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
//! # One core under every role and every framing
//!
//! [`Connection`](crate::stream::Connection) is the one driving surface.
//! Its core owns what every role shares, and has no role vocabulary:
//!
//! * **The framing seam.** Roles speak in intents (open our stream, send
//!   an element, restart, close, keep alive); a
//!   [`Framing`](crate::stream::Framing) turns them into what travels and
//!   turns what arrives into the same items: the RFC 6120 byte stream over
//!   TCP, RFC 7395 WebSocket messages (one standalone element each, with
//!   `<open/>` and `<close/>`, no STARTTLS, no whitespace keepalives), or
//!   elements without bytes for a BOSH session to wrap.
//!   `poll_transmit` keeps the frame boundaries a framing has; on TCP it
//!   hands over all pending bytes, without a copy into an empty buffer.
//! * **Questions with tokens.** A role asks its host with
//!   [`Event::Request`](crate::stream::Event::Request) and a
//!   [`Token`](crate::stream::Token); the answer carries it back. Any
//!   number may be open; only a question whose answer decides how the
//!   next input is read (SASL credentials, a resource) holds input back.
//!   An answer to no open question is a typed error and the stream goes
//!   on; after the end, every answer gets the sticky error.
//! * **Timers** are any number of deadlines the roles and features own;
//!   `poll_timeout` is the earliest and `handle_timeout` runs every one
//!   due. The closing grace is the core's own.
//! * **Stream management in the core.** Once a negotiator enables it
//!   (XEP-0198), the core counts every stanza in and out (the host's and
//!   the role's own), keeps what it sent until acknowledged, answers
//!   `<r/>`, takes `<a/>`, and schedules its requests on its own timers.
//!   At the end it hands back either the session to resume
//!   ([`Event::Suspended`](crate::stream::Event::Suspended): the
//!   connection broke or the peer stopped answering) or what the peer may
//!   not have received ([`Event::Unsent`](crate::stream::Event::Unsent): a
//!   closed stream, a stream error). A refused `send` hands the stanza
//!   back. Nothing the host hands over is lost.
//! * **Bounded work per call.** One call queues at most 32 events; the
//!   rest of its input is read as the host drains them.
//!
//! A role (the c2s client and server today; s2s, components and BOSH
//! next) implements the sealed `Role` trait: it decides what a received
//! header or element means and what to answer. Hosts that want code
//! generic over any connection use the public sealed marker
//! [`Machine`](crate::stream::Machine).
//!
//! # Negotiation as data
//!
//! Each stream feature (STARTTLS, SASL, resource binding, the legacy
//! session, stream management's enable and resume; dialback and the
//! component handshake) is a negotiator with both sides, which declares what it needs
//! before it, what it is forbidden after, what it grants and whether the
//! stream restarts after it. The initiating role runs the next feature
//! the declarations allow and the peer offers; the receiving role lists
//! and dispatches to the features the declarations allow at the stream's
//! stage. That STARTTLS comes before SASL when TLS is required, that it
//! may never follow authentication, and that binding follows SASL are
//! consequences of the table, not code in each role.
//!
//! # Many sessions
//!
//! A server's configuration is one `Arc` its sessions share. Buffers grown
//! by a large element are released once it is done; the output buffer
//! keeps at most a stanza's worth, the event queue room for one event,
//! and the well-known namespaces of stream scopes are not allocated. An
//! idle bound c2s session holds about 2 KB (`benches/sessions.rs`).
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
//! * Pure functions are tested next to their code; the RFC 6121
//!   subscription tables are transcribed row by row into a table-driven
//!   test, and a property test runs random exchanges between two servers
//!   and checks that their views of each other agree.
//! * Each machine is tested against scripted peer bytes, for every
//!   condition it detects.
//! * Both c2s machines run against each other in memory over every
//!   framing (TCP in any chunking down to single bytes, WebSocket
//!   messages, element frames), through a harness that carries what any
//!   machine sends to any other.
//! * Real peers: Prosody and ejabberd for our client, slixmpp for our
//!   server, Prosody for federation both ways, Prosody's component port
//!   and ngircd for the gateway, slixmpp's component for our component
//!   port.
//! * Independent implementations: scramp for SCRAM, minidom as a second
//!   XML parser.
//! * Fuzz targets cover the framer, every SASL server mechanism, the
//!   SCRAM client, both c2s machines over TCP and over WebSocket, both
//!   s2s machines, both component machines and the presence logic.
//!   Their seed corpora are replayed by `cargo test`.
