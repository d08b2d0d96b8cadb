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
//! Not here yet: SASL EXTERNAL for servers (XEP-0178), target
//! multiplexing (XEP-0220 §2.7.2), bidirectional streams (XEP-0288).
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
