//! The defined stream error conditions of RFC 6120 §4.9.3.

use std::fmt;
use std::str::FromStr;

/// A defined stream error condition (RFC 6120 §4.9.3), the child of
/// `<stream:error/>` qualified by `urn:ietf:params:xml:ns:xmpp-streams`.
///
/// `see-other-host` carries its new address elsewhere (in the error
/// element's text), so the condition itself is a plain name here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// §4.9.3.1: XML that cannot be processed.
    BadFormat,
    /// §4.9.3.2: an unsupported namespace prefix.
    BadNamespacePrefix,
    /// §4.9.3.3: a new stream conflicts with this one.
    Conflict,
    /// §4.9.3.4: the peer has not generated traffic for too long.
    ConnectionTimeout,
    /// §4.9.3.5: the host serviced by this stream is no longer served.
    HostGone,
    /// §4.9.3.6: the `to` of the stream header names an unserved host.
    HostUnknown,
    /// §4.9.3.7: a stanza lacks a required `to` or `from`.
    ImproperAddressing,
    /// §4.9.3.8: the server is misconfigured or failed internally.
    InternalServerError,
    /// §4.9.3.9: a `from` that the peer is not authorised to use.
    InvalidFrom,
    /// §4.9.3.10: a wrong stream or content namespace.
    InvalidNamespace,
    /// §4.9.3.11: invalid XML (validation, not well-formedness).
    InvalidXml,
    /// §4.9.3.12: data before the stream was authenticated.
    NotAuthorized,
    /// §4.9.3.13: data that is not XML-well-formed or namespace-well-formed.
    NotWellFormed,
    /// §4.9.3.14: a local service policy was violated (e.g. a size limit).
    PolicyViolation,
    /// §4.9.3.15: a connection needed for authentication failed.
    RemoteConnectionFailed,
    /// §4.9.3.16: the server is closing the stream to renegotiate it.
    Reset,
    /// §4.9.3.17: the server lacks resources to service the stream.
    ResourceConstraint,
    /// §4.9.3.18: XML features forbidden by RFC 6120 §11.1.
    RestrictedXml,
    /// §4.9.3.19: the peer should connect to another host.
    SeeOtherHost,
    /// §4.9.3.20: the server is shutting down.
    SystemShutdown,
    /// §4.9.3.21: none of the other conditions applies.
    UndefinedCondition,
    /// §4.9.3.22: an encoding other than UTF-8.
    UnsupportedEncoding,
    /// §4.9.3.23: a mandatory-to-negotiate feature is not supported.
    UnsupportedFeature,
    /// §4.9.3.24: a first-level element that is not supported.
    UnsupportedStanzaType,
    /// §4.9.3.25: an unsupported protocol version.
    UnsupportedVersion,
}

const NAMES: [(Condition, &str); 25] = [
    (Condition::BadFormat, "bad-format"),
    (Condition::BadNamespacePrefix, "bad-namespace-prefix"),
    (Condition::Conflict, "conflict"),
    (Condition::ConnectionTimeout, "connection-timeout"),
    (Condition::HostGone, "host-gone"),
    (Condition::HostUnknown, "host-unknown"),
    (Condition::ImproperAddressing, "improper-addressing"),
    (Condition::InternalServerError, "internal-server-error"),
    (Condition::InvalidFrom, "invalid-from"),
    (Condition::InvalidNamespace, "invalid-namespace"),
    (Condition::InvalidXml, "invalid-xml"),
    (Condition::NotAuthorized, "not-authorized"),
    (Condition::NotWellFormed, "not-well-formed"),
    (Condition::PolicyViolation, "policy-violation"),
    (
        Condition::RemoteConnectionFailed,
        "remote-connection-failed",
    ),
    (Condition::Reset, "reset"),
    (Condition::ResourceConstraint, "resource-constraint"),
    (Condition::RestrictedXml, "restricted-xml"),
    (Condition::SeeOtherHost, "see-other-host"),
    (Condition::SystemShutdown, "system-shutdown"),
    (Condition::UndefinedCondition, "undefined-condition"),
    (Condition::UnsupportedEncoding, "unsupported-encoding"),
    (Condition::UnsupportedFeature, "unsupported-feature"),
    (Condition::UnsupportedStanzaType, "unsupported-stanza-type"),
    (Condition::UnsupportedVersion, "unsupported-version"),
];

impl Condition {
    /// The element name of the condition, e.g. `"not-well-formed"`.
    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .unwrap_or("undefined-condition")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the conditions RFC 6120 §4.9.3 defines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stream error condition")]
pub struct UnknownCondition;

impl FromStr for Condition {
    type Err = UnknownCondition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NAMES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(c, _)| *c)
            .ok_or(UnknownCondition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (c, n) in NAMES {
            assert_eq!(c.as_str(), n);
            assert_eq!(n.parse::<Condition>(), Ok(c));
        }
        assert_eq!("nope".parse::<Condition>(), Err(UnknownCondition));
    }
}
