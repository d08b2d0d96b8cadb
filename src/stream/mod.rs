//! The one core under every role: the driving surface
//! ([`Connection`]), how streams travel ([`Framing`]), stream headers (RFC
//! 6120 §4.7), stream errors (§4.9) and stream limits (XEP-0478).

mod condition;
pub(crate) mod connection;
mod error;
pub mod features;
pub(crate) mod framing;
pub mod header;
pub mod limits;
pub(crate) mod negotiation;

pub use condition::Condition;
pub use connection::{
    AnswerError, AuthMethod, CLOSE_GRACE, CloseReason, Connection, Error, Event, Machine, Refused,
    SendError, Token, Verdict,
};
pub use error::StreamError;
pub use framing::{Frame, Framing, Transmit};
pub use header::{HeaderError, STREAM_CLOSE, StreamHeader, Version};
pub use limits::StreamLimits;

/// A question a connection asks its host, in [`Event::Request`] with a
/// [`Token`]; the host answers with the role's method named in each
/// variant, passing the token back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// A server needs the stored credentials of a user to go on with SASL;
    /// answer with `ServerStream::provide_credentials`. Nothing more is
    /// read from the client until then.
    Credentials(crate::sasl::CredentialsRequest),
    /// A client asks to bind a resource (RFC 6120 §7.5, §7.6): `None` asks
    /// the server to choose. Answer with `ServerStream::bind`.
    Bind {
        /// The authenticated bare JID.
        jid: jid::BareJid,
        /// The resource the client asked for.
        requested: Option<String>,
    },
    /// A client asks to resume the stream-management session `previd` in
    /// place of binding a resource (XEP-0198 §5). The host looks the
    /// session up among the user's: one it kept from
    /// [`Event::Suspended`], or one still open on another stream (take it
    /// with `Connection::take_session`, which ends that stream with
    /// `conflict`). Answer with `ServerStream::resume`, `None` when
    /// there is no such session of this user (any more). Nothing more is
    /// read from the client until then.
    Resume {
        /// The authenticated bare JID: a session of another user must not
        /// be resumed.
        jid: jid::BareJid,
        /// The SM-ID the client asks for.
        previd: String,
    },
    /// A component authenticated for `domain` (XEP-0114): the host says
    /// whether it may attach, or another connection serves that name
    /// already; answer with `AcceptStream::attach`.
    Component {
        /// The component's name.
        domain: jid::BareJid,
    },
    /// A remote server asks to send stanzas from `from` to our `to` on an
    /// incoming server-to-server stream (XEP-0220 §2.2.1): the host checks
    /// `key` with the Authoritative Server for `from` (a `<db:verify/>` on
    /// an outgoing stream to it, see `OutgoingStream::verify`) and answers
    /// with `IncomingStream::dialback_verdict`. Stanzas of other domain
    /// pairs keep flowing meanwhile.
    Dialback {
        /// The Sender Domain.
        from: jid::BareJid,
        /// Our domain.
        to: jid::BareJid,
        /// The id of the stream the key was given for (ours).
        stream_id: String,
        /// The key.
        key: String,
    },
}
