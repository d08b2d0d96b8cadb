//! Stream-level vocabulary: stream headers (RFC 6120 §4.7) and stream
//! errors (RFC 6120 §4.9), stream limits (XEP-0478).

mod condition;
mod error;
pub mod header;
pub mod limits;

pub use condition::Condition;
pub use error::StreamError;
pub use header::{STREAM_CLOSE, StreamHeader, Version};
pub use limits::StreamLimits;
