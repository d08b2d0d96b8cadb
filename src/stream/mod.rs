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
    SendError, Token,
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
}
