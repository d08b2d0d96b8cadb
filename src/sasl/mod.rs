//! SASL authentication (RFC 4422, as profiled for XMPP by RFC 6120 §6),
//! both sides, without I/O.
//!
//! # Scope
//!
//! Implemented: PLAIN (RFC 4616); SCRAM-SHA-1, SCRAM-SHA-256 and
//! SCRAM-SHA-512 (RFC 5802, RFC 7677, and the same construction with
//! SHA-512) with their `-PLUS` variants over `tls-exporter` (RFC 9266),
//! `tls-server-end-point` and `tls-unique` (RFC 5929); EXTERNAL (RFC 4422
//! App. A); ANONYMOUS (RFC 4505); SASLprep (RFC 4013); the failure
//! conditions of RFC 6120 §6.5; the binding type negotiation of XEP-0440
//! and the downgrade protection hash of XEP-0474.
//!
//! Not implemented here: the XML of RFC 6120 §6.4 (`<auth/>`,
//! `<challenge/>`, …) and its base64 layer, which belong to the stream
//! layer; security layers (RFC 4422 §3.7, unused by XMPP); SASL2
//! (XEP-0388); DIGEST-MD5 and other mechanisms.
//!
//! # Shape
//!
//! Bytes go in, bytes and typed outcomes come out. A [`Client`] or
//! [`Server`] holds the state of one exchange; [`Mechanism`] is only a
//! name. Neither side does I/O, reads clocks or calls the operating
//! system: randomness comes from a [`Random`](crate::random::Random)
//! passed in, and the server asks the host for user records by pausing
//! ([`ServerOutput::NeedCredentials`]) rather than calling back.
//!
//! # How a server stores credentials
//!
//! A server never needs passwords. At registration it derives one
//! [`ScramCredentials`] record per hash it offers
//! ([`ServerConfig::derive_credentials`] or
//! [`ScramCredentials::generate`]): salt, iteration count, `StoredKey` and
//! `ServerKey` (RFC 5802 §2.2, §3). It stores those fields
//! ([`ScramCredentials::from_parts`] rebuilds the record) and throws the
//! password away. At login, [`Server`] pauses with a
//! [`CredentialsRequest`] naming the user and the hash; the host looks the
//! record up in its database, on its own schedule, and resumes with
//! [`Server::provide_credentials`]. Verifying a login then costs a handful
//! of HMACs; PBKDF2 runs only at registration (and for PLAIN logins).
//! A host that only has its own password hashes can still serve PLAIN: it
//! checks [`CredentialsRequest::password`] itself and answers
//! [`Credentials::Verified`].
//!
//! # How a host supplies channel-binding data
//!
//! After the TLS handshake the host fills a [`TlsInfo`] with the binding
//! data its TLS library can give for that connection (see
//! [`channel_binding`] for how to get each type). The server offers
//! `-PLUS` mechanisms and advertises XEP-0440 types only for the data it
//! was given, and fails an exchange naming another type (RFC 5802 §6). The
//! client picks a type the server advertised, or its own first type when
//! the server does not use XEP-0440. On TLS 1.3 that should be
//! `tls-exporter`; `tls-unique` is defined only up to TLS 1.2. When the
//! server advertises `-PLUS` mechanisms and types none of which the client
//! can supply, the client refuses to authenticate (XEP-0440 §Business
//! Rules, rule 6) unless told to rely on the XEP-0474 hash; see
//! [`ClientConfig::select`] for each rule.
//!
//! # Unknown users
//!
//! A server answers a request for an unknown user like one for a known
//! user with a wrong password: SCRAM shows a decoy salt derived from
//! [`ServerConfig::decoy_key`] (stable per user, see [`DecoyKey`]) and
//! fails at the proof; PLAIN runs the same PBKDF2 before failing.
//!
//! # Example
//!
//! A complete SCRAM-SHA-256-PLUS exchange between the two sides:
//!
//! ```
//! use xmpp_sansio::random::OsRandom;
//! use xmpp_sansio::sasl::*;
//!
//! let mut rng = OsRandom;
//!
//! // Registration: the server stores a record, not the password.
//! // One decoy key per server, kept with its other secrets.
//! let server_config = ServerConfig::new(DecoyKey::generate(&mut rng));
//! let record = server_config
//!     .derive_credentials(ScramHash::Sha512, "pencil", &mut rng)
//!     .unwrap();
//!
//! // Both ends of the TLS connection see the same exporter value.
//! let cb = ChannelBinding::new(ChannelBindingType::TlsExporter, vec![0x5a; 32]);
//! let tls = TlsInfo::tls().with_binding(cb);
//!
//! // The server advertises its mechanisms and, per XEP-0440, its binding
//! // types; the client picks from what it read.
//! let advertised = server_config.advertisement(&tls);
//! let client_config = ClientConfig::default();
//! let selection = client_config
//!     .select(&advertised.mechanisms, advertised.channel_bindings.as_deref(), &tls)
//!     .unwrap();
//! assert_eq!(selection.mechanism, Mechanism::ScramSha512Plus);
//! assert_eq!(
//!     selection.channel_binding,
//!     ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter)
//! );
//!
//! let credentials = ClientCredentials::password("user", "pencil");
//! let mut client = Client::new(&selection, credentials, &tls, &client_config, &mut rng).unwrap();
//! let auth = client.initial_response().unwrap();
//!
//! let mut server = Server::new(selection.mechanism.name(), &server_config, &tls, &mut rng).unwrap();
//! let ServerOutput::NeedCredentials(request) = server.start(Some(&auth)).unwrap() else { panic!() };
//! assert_eq!(request.authcid(), Some("user"));
//! // The host looks up `request.authcid()` and `request.scram_hash()` in
//! // its database here.
//! let ServerOutput::Challenge(challenge) =
//!     server.provide_credentials(Some(Credentials::Scram(record))).unwrap() else { panic!() };
//!
//! let response = client.challenge(&challenge).unwrap();
//! let ServerOutput::Success(done) = server.respond(&response).unwrap() else { panic!() };
//! assert_eq!(done.authcid.as_deref(), Some("user"));
//! // Authorization comes after authentication (RFC 4616 §2): here the host
//! // would check `done.authzid` and call `server.refuse(..)` if needed.
//!
//! // The client checks the server's signature in <success/>.
//! //! client.success(done.additional_data.as_deref()).unwrap();
//! ```

mod anonymous;
pub mod channel_binding;
mod client;
pub mod credentials;
mod error;
mod external;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod mechanism;
mod plain;
pub mod saslprep;
pub mod scram;
mod server;

pub use anonymous::MAX_TRACE_CHARS;
pub use channel_binding::{ChannelBinding, ChannelBindingType, TlsInfo};
pub use client::{Client, ClientConfig, ClientCredentials};
pub use credentials::{DecoyKey, SaltedPasswordCache, ScramCredentials};
pub use error::{Condition, Error};
pub use mechanism::{ChannelBindingChoice, Mechanism, SelectError, Selection};
pub use scram::{ScramHash, downgrade_protection_hash};
pub use server::{
    Advertisement, Authenticated, Credentials, CredentialsRequest, Server, ServerConfig,
    ServerOutput,
};
