//! Stream-level vocabulary: stream headers (RFC 6120 §4.7) and stream
//! errors (RFC 6120 §4.9), stream limits (XEP-0478).

mod condition;
pub mod connection;
mod error;
pub mod header;
pub mod limits;

pub use condition::Condition;
pub use connection::{CloseReason, Connection, Error, Event, SendError};
pub use error::StreamError;
pub use header::{STREAM_CLOSE, StreamHeader, Version};
pub use limits::StreamLimits;

/// A question a connection asks its host, in [`Event::Request`]; the host
/// answers with the role's method named in each variant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// A server needs the stored credentials of a user to go on with SASL;
    /// answer with `ServerStream::provide_credentials`.
    Credentials(crate::sasl::CredentialsRequest),
    /// A client asks to bind a resource (RFC 6120 §7.5, §7.6): `None` asks
    /// the server to choose. Answer with `ServerStream::bind`.
    Bind {
        /// The authenticated bare JID.
        jid: String,
        /// The resource the client asked for.
        requested: Option<String>,
    },
}
