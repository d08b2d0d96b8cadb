//! Stream-level vocabulary: stream headers (RFC 6120 §4.7) and stream
//! errors (RFC 6120 §4.9).

mod condition;
pub mod header;

pub use condition::Condition;
pub use header::{StreamHeader, Version};
