//! Client-to-server streams (RFC 6120): the initiating side
//! ([`ClientStream`]) and the receiving side ([`ServerStream`]).
//!
//! Both are [`Connection`](crate::stream::Connection)s and are driven the
//! same way: bytes in with `handle_input`, then drain `poll_transmit` and
//! `poll_event`, re-arm the timer from `poll_timeout`. The example below
//! is a complete host loop for both sides at once, wired back to back in
//! memory; a real host does the same with a socket and a TLS library in
//! between (see the `client`, `tokio_client` and `server` examples).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use xmpp_sansio::c2s::{BindDecision, ClientConfig, ClientStream, ServerConfig, ServerStream};
//! use xmpp_sansio::random::OsRandom;
//! use xmpp_sansio::sasl::{ChannelBinding, ChannelBindingType, Credentials, DecoyKey, Mechanism, ScramCredentials, ScramHash, TlsInfo};
//! use xmpp_sansio::stanza::{Message, MessageType};
//! use xmpp_sansio::stream::{Event, Request};
//!
//! // What the server stores at registration: a SCRAM record, not the password.
//! let record = ScramCredentials::derive(ScramHash::Sha256, "secret", b"salt-for-juliet!", 4096).unwrap();
//!
//! let now = Instant::now();
//! let mut client = ClientStream::new(
//!     ClientConfig::new("juliet@example.com".parse().unwrap(), "secret"), None, Box::new(OsRandom), now);
//! // This server keeps SHA-256 records only, so it offers SCRAM-SHA-256.
//! // One configuration for the whole server, with its decoy key (made once
//! // and stored with the server's secrets; see sasl::DecoyKey).
//! let mut config = ServerConfig::new("example.com", DecoyKey::generate(&mut OsRandom));
//! config.sasl.mechanisms = vec![Mechanism::ScramSha256Plus, Mechanism::ScramSha256];
//! let config = Arc::new(config);
//! let mut server = ServerStream::new(config.clone(), None, Box::new(OsRandom), now);
//! // Stands in for the TLS handshake: both ends learn the same
//! // channel-binding data (a real host asks its TLS library).
//! let tls = || TlsInfo::tls().with_binding(ChannelBinding::new(ChannelBindingType::TlsExporter, vec![42; 32]));
//! let (mut client_tls, mut server_tls) = (false, false);
//! let mut online = None;
//!
//! for _ in 0..100 {
//!     // Client -> server. (Not while the server is between <proceed/>
//!     // and its handshake: those bytes would be TLS.)
//!     let mut bytes = Vec::new();
//!     if !server_tls {
//!         client.poll_transmit(&mut bytes);
//!         server.handle_input(&bytes, now).unwrap();
//!     }
//!     // Server -> client.
//!     let mut back = Vec::new();
//!     server.poll_transmit(&mut back);
//!     client.handle_input(&back, now).unwrap();
//!     // The server host answers what the machine asks.
//!     while let Some(event) = server.poll_event() {
//!         match event {
//!             Event::StartTls => server_tls = true,
//!             // Each question carries a token; the answer passes it back.
//!             Event::Request { token, request: Request::Credentials(req) } => {
//!                 let known = req.authcid() == Some("juliet") && req.scram_hash() == Some(ScramHash::Sha256);
//!                 server.provide_credentials(token, known.then(|| Credentials::Scram(record.clone())), now).unwrap();
//!             }
//!             Event::Request { token, request: Request::Bind { requested, .. } } => {
//!                 let resource = requested.unwrap_or_else(|| "phone".to_owned());
//!                 server.bind(token, BindDecision::Accept(resource), now).unwrap();
//!             }
//!             Event::Stanza(stanza) => assert_eq!(stanza.attr("from"), Some("juliet@example.com/phone")),
//!             _ => {}
//!         }
//!     }
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             Event::StartTls => client_tls = true,
//!             Event::Online { jid } => online = Some(jid.to_string()),
//!             _ => {}
//!         }
//!     }
//!     if client_tls && server_tls {
//!         // Both reached the handshake: "run" it, then tell the machines.
//!         server.tls_established(tls(), now).unwrap();
//!         client.tls_established(tls(), now).unwrap();
//!         (client_tls, server_tls) = (false, false);
//!     }
//!     if online.is_some() {
//!         break;
//!     }
//! }
//! // SCRAM with channel binding over the simulated TLS, then binding.
//! assert_eq!(online.as_deref(), Some("juliet@example.com/phone"));
//! let hello = Message::new(MessageType::Chat).with_to("romeo@example.net").with_body("hi");
//! client.send(hello.into_element()).unwrap();
//! ```
//!
//! # Stream errors each side produces
//!
//! | condition (RFC 6120 §4.9.3) | when |
//! |---|---|
//! | `restricted-xml`, `not-well-formed`, `unsupported-encoding`, `bad-namespace-prefix`, `invalid-namespace`, `bad-format` | the peer's XML breaks RFC 6120 §4.8 or §11 (see [`crate::xml`]) |
//! | `policy-violation` | a reading limit is exceeded; data after STARTTLS `<proceed/>` (client); too many failed SASL attempts (server) |
//! | `host-unknown` | the header's `to` is not a served domain (server) |
//! | `unsupported-version` | the peer's header has no `version` or one below 1.0 |
//! | `not-authorized` | a stanza before authentication and binding (server) |
//! | `unsupported-stanza-type` | an unknown first-level element (server), or one out of turn during negotiation (client) |
//! | `connection-timeout` | negotiation not finished within the configured time; no answer to a keepalive ping or to a stream-management `<r/>` within its timeout (the session stays resumable) |
//! | `undefined-condition` with `<handled-count-too-high/>` | the peer's `h` acknowledges more stanzas than were sent (XEP-0198 §6) |
//! | `bad-format` | an `<a/>` without a valid `h` |
//! | `policy-violation` (server) | a second `<enable/>` (XEP-0198 §3) |
//! | `conflict` | the host moved the stream-management session to a new stream (`Connection::take_session`) |
//! | `see-other-host`, `system-shutdown`, `conflict`, `reset`, `resource-constraint`, ... | decided by the host: [`Connection::fail`](crate::stream::Connection::fail) |

pub(crate) mod client;
pub use crate::stream::features;

/// Whether `el` answers our iq `id` (`result` or `error`, RFC 6120
/// §8.2.3): for pings, any answer proves the peer alive (XEP-0199 §4.2:
/// an error from a peer without ping support too).
fn answers_iq(el: &crate::xml::Element, id: &str) -> bool {
    el.is("iq", crate::ns::CLIENT)
        && el.attr("id") == Some(id)
        && matches!(el.attr("type"), Some("result" | "error"))
}
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod server;

pub use crate::stream::negotiation::bind::BindDecision;
pub use client::{ClientConfig, ClientStream, TlsPolicy};
pub use server::{ResumeRefused, ServerConfig, ServerStream, TlsRequirement};
