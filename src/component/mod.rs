//! External components (XEP-0114, `jabber:component:accept`): the
//! component's side ([`ComponentStream`]) and the server's side that lets
//! components attach ([`AcceptStream`]), on the shared core.
//!
//! The component opens a stream whose `to` is its own name; the server
//! answers with a stream id; the component proves it knows the shared
//! secret with `<handshake/>`, the lowercase hex SHA-1 of the stream id
//! followed by the secret ([`handshake`]); an empty `<handshake/>` accepts
//! it. Then stanzas flow both ways, each with `from` and `to`, and a
//! component may send only from its own domain (subdomains too, when the
//! server opts in).

pub(crate) mod accept;
pub(crate) mod connect;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

use sha1::{Digest, Sha1};

pub use accept::{AcceptConfig, AcceptStream, ComponentDecision};
pub use connect::{ComponentConfig, ComponentStream};

/// The handshake value for stream `stream_id` and `secret` (XEP-0114 §3):
/// lowercase hex of SHA-1(stream id ‖ secret).
pub fn handshake(stream_id: &str, secret: &str) -> String {
    let mut h = Sha1::new();
    h.update(stream_id.as_bytes());
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `domain` is `component`, or one of its subdomains when those
/// are allowed.
fn within(domain: &str, component: &str, subdomains: bool) -> bool {
    domain.eq_ignore_ascii_case(component)
        || (subdomains
            && domain.len() > component.len() + 1
            && domain.as_bytes()[domain.len() - component.len() - 1] == b'.'
            && domain[domain.len() - component.len()..].eq_ignore_ascii_case(component))
}

/// The domain of an address.
fn domain_of(address: &str) -> Option<String> {
    let jid: jid::Jid = address.parse().ok()?;
    Some(jid.domain().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xep0114_example() {
        // XEP-0114 §3: stream id 3BF96D32, secret "test".
        assert_eq!(
            handshake("3BF96D32", "test"),
            "aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e"
        );
    }

    #[test]
    fn subdomains() {
        assert!(within("gw.example.org", "gw.example.org", false));
        assert!(within("GW.example.org", "gw.example.org", false));
        assert!(!within("irc.gw.example.org", "gw.example.org", false));
        assert!(within("irc.gw.example.org", "gw.example.org", true));
        assert!(!within("xgw.example.org", "gw.example.org", true));
        assert!(!within("example.org", "gw.example.org", true));
    }
}
