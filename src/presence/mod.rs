//! Presence subscriptions (RFC 6121 §3 and Appendix A) as pure functions.
//!
//! [`subscription`] holds the server-side machine for one user's view of
//! one contact: given the stored [`subscription::Item`] and a subscription
//! stanza going out from the user or coming in for the user, it says what
//! the item becomes and what the server must do, in the order RFC 6121
//! prescribes. It never does any of it: the host routes, delivers, pushes
//! and stores.
//!
//! [`server`] is the rest of a server's presence logic for one account:
//! broadcasts, probes, directed presence, unavailable on disconnect, and
//! which sessions a message goes to.
//!
//! [`roster`] is roster management: get with versioning, set with its
//! checks, pushes, and removal's cancellations.
//!
//! [`client`] is the client's side: each contact's presence per resource
//! and the aggregated best of them, and the client's own updates.

pub mod client;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod roster;
pub mod server;
pub mod subscription;

pub use subscription::{Action, Direction, Item, Kind, Outcome, State, Subscription};
