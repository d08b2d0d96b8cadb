//! Namespace names used across the crate (RFC 6120 §4.8, §5, §6, §7, §8;
//! XEP-0114, XEP-0220, XEP-0198, XEP-0478).

/// The stream namespace, RFC 6120 §4.8.1.
pub const STREAM: &str = "http://etherx.jabber.org/streams";
/// Content namespace of client-to-server streams, RFC 6120 §4.8.3.
pub const CLIENT: &str = "jabber:client";
/// Content namespace of server-to-server streams, RFC 6120 §4.8.3.
pub const SERVER: &str = "jabber:server";
/// Content namespace of component streams, XEP-0114 §3.
pub const COMPONENT_ACCEPT: &str = "jabber:component:accept";
/// Server Dialback, XEP-0220 (may be declared on s2s stream headers).
pub const DIALBACK: &str = "jabber:server:dialback";
/// The namespace bound to the `xml` prefix by XML Namespaces §3.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace bound to the `xmlns` prefix; never usable in documents.
pub const XMLNS: &str = "http://www.w3.org/2000/xmlns/";
/// Stream error conditions, RFC 6120 §4.9.2.
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// STARTTLS, RFC 6120 §5.4.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL, RFC 6120 §6.4.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding, RFC 6120 §7.
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Legacy session establishment (RFC 3921 §3; RFC 6121 Appendix E).
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// Stanza error conditions, RFC 6120 §8.3.2.
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// Stream limits advertisement, XEP-0478.
pub const STREAM_LIMITS: &str = "urn:xmpp:stream-limits:0";
/// XEP-0199 XMPP Ping.
pub const PING: &str = "urn:xmpp:ping";
/// RFC 7395 XMPP over WebSocket: `<open/>` and `<close/>`.
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// RFC 6121 §2 roster management.
pub const ROSTER: &str = "jabber:iq:roster";
/// RFC 6121 §3.4 subscription pre-approval stream feature.
pub const PRE_APPROVAL: &str = "urn:xmpp:features:pre-approval";
/// RFC 6121 §2.6.1 roster versioning stream feature.
pub const ROSTER_VER: &str = "urn:xmpp:features:rosterver";
