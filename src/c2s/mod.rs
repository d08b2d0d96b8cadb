//! Client-to-server streams (RFC 6120): the initiating side
//! ([`ClientStream`]) and the receiving side ([`ServerStream`]).
//!
//! Both are [`Connection`](crate::stream::Connection)s driven the same
//! way; see that type for the host loop.

mod client;
pub mod features;
mod server;

pub use client::{Client, ClientConfig, ClientStream, TlsPolicy};
pub use server::{BindDecision, Server, ServerConfig, ServerStream, TlsRequirement};
