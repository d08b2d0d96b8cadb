//! Failure conditions and errors.
//!
//! Implements the SASL failure conditions of RFC 6120 §6.5 ([`Condition`])
//! and the error type shared by every mechanism ([`Error`]). The
//! `<text/>` child of `<failure/>` (RFC 6120 §6.4.5) and the SCRAM
//! `server-error` values of RFC 5802 §7 other than those surfaced as
//! [`Error::ServerError`] are not modelled.

use std::fmt;

/// A SASL failure condition as defined in RFC 6120 §6.5.
///
/// The stream layer puts [`Condition::as_str`] as the name of the child
/// element of `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// RFC 6120 §6.5.1: the receiving entity acknowledges an `<abort/>`.
    Aborted,
    /// RFC 6120 §6.5.2: the account has been temporarily disabled.
    AccountDisabled,
    /// RFC 6120 §6.5.3: the credentials have expired.
    CredentialsExpired,
    /// RFC 6120 §6.5.4: the mechanism needs a confidentiality layer first.
    EncryptionRequired,
    /// RFC 6120 §6.5.5: the data was not valid base64.
    IncorrectEncoding,
    /// RFC 6120 §6.5.6: the authzid is invalid or not permitted.
    InvalidAuthzid,
    /// RFC 6120 §6.5.7: the mechanism is unknown or not offered.
    InvalidMechanism,
    /// RFC 6120 §6.5.8: the request is malformed.
    MalformedRequest,
    /// RFC 6120 §6.5.9: the mechanism is weaker than policy allows.
    MechanismTooWeak,
    /// RFC 6120 §6.5.10: the credentials were wrong; the catch-all for
    /// authentication failures that must not reveal their cause.
    NotAuthorized,
    /// RFC 6120 §6.5.11: a temporary error on the server side.
    TemporaryAuthFailure,
}

impl Condition {
    /// Every condition, in RFC 6120 §6.5 order.
    pub const ALL: [Condition; 11] = [
        Condition::Aborted,
        Condition::AccountDisabled,
        Condition::CredentialsExpired,
        Condition::EncryptionRequired,
        Condition::IncorrectEncoding,
        Condition::InvalidAuthzid,
        Condition::InvalidMechanism,
        Condition::MalformedRequest,
        Condition::MechanismTooWeak,
        Condition::NotAuthorized,
        Condition::TemporaryAuthFailure,
    ];

    /// The element name used on the wire, e.g. `"not-authorized"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Aborted => "aborted",
            Condition::AccountDisabled => "account-disabled",
            Condition::CredentialsExpired => "credentials-expired",
            Condition::EncryptionRequired => "encryption-required",
            Condition::IncorrectEncoding => "incorrect-encoding",
            Condition::InvalidAuthzid => "invalid-authzid",
            Condition::InvalidMechanism => "invalid-mechanism",
            Condition::MalformedRequest => "malformed-request",
            Condition::MechanismTooWeak => "mechanism-too-weak",
            Condition::NotAuthorized => "not-authorized",
            Condition::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }

    /// Parses an element name; `None` for names RFC 6120 does not define.
    pub fn from_name(name: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a SASL exchange failed, on either side.
///
/// Every variant maps to a wire [`Condition`] through
/// [`Error::condition`]. A server puts that condition in `<failure/>`; a
/// client that hits an error sends `<abort/>` (RFC 6120 §6.4.4) and reports
/// the error to its user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The mechanism name is unknown, not enabled or not offered.
    #[error("mechanism {0:?} is not offered")]
    InvalidMechanism(String),
    /// The mechanism may only be used over TLS.
    #[error("mechanism {0} requires TLS")]
    EncryptionRequired(&'static str),
    /// The message exceeds the configured size limit.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// Length of the rejected message.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The message (or a decoded part of it) is not valid UTF-8.
    #[error("message is not valid UTF-8")]
    NotUtf8,
    /// A base64 value inside the message could not be decoded.
    #[error("invalid base64 in attribute {0:?}")]
    InvalidBase64(char),
    /// The message does not follow the mechanism's syntax.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A required attribute is absent.
    #[error("missing attribute {0:?}")]
    MissingAttribute(char),
    /// An attribute appears more than once.
    #[error("duplicate attribute {0:?}")]
    DuplicateAttribute(char),
    /// A mandatory SCRAM extension (`m=`) was sent; RFC 5802 §5.1 requires
    /// failing because none is defined.
    #[error("unsupported mandatory extension")]
    MandatoryExtension,
    /// The user name is empty after decoding and preparation.
    #[error("empty user name")]
    EmptyUsername,
    /// The password is empty.
    #[error("empty password")]
    EmptyPassword,
    /// A string was rejected by SASLprep (RFC 4013).
    #[error("string rejected by SASLprep: {0}")]
    Saslprep(&'static str),
    /// The combined nonce does not extend the client nonce, or the nonce of
    /// the final message differs from the one of the first exchange (a
    /// replay).
    #[error("nonce mismatch")]
    NonceMismatch,
    /// The channel binding data (`c=`) does not match the GS2 header or the
    /// local binding data.
    #[error("channel binding mismatch")]
    ChannelBindingMismatch,
    /// The peer named a channel binding type that is not supported here.
    #[error("unsupported channel binding type {0:?}")]
    UnsupportedChannelBinding(String),
    /// The GS2 flag is inconsistent with the mechanism, e.g. `p=` with a
    /// mechanism without `-PLUS`.
    #[error("channel binding flag does not fit the mechanism")]
    ChannelBindingFlag,
    /// The client claims the server does not support channel binding (`y`)
    /// although it does: an attacker may have stripped `-PLUS` mechanisms
    /// (RFC 5802 §6).
    #[error("channel binding downgrade detected")]
    Downgrade,
    /// The XEP-0474 hash of the advertised mechanisms does not match.
    #[error("downgrade protection hash mismatch")]
    DowngradeHashMismatch,
    /// The client relied on the XEP-0474 hash to rule out a channel-binding
    /// downgrade (XEP-0474 §Business Rules, new rule 6), but the server
    /// sent none.
    #[error("downgrade protection hash missing")]
    DowngradeHashMissing,
    /// The authorization identity is badly formatted (RFC 6120 §6.5.6),
    /// e.g. a SCRAM `a=` with an invalid escape (RFC 5802 §5.1).
    #[error("invalid authorization identity: {0}")]
    InvalidAuthzid(&'static str),
    /// `<success/>` carried additional data that the mechanism does not
    /// define, or that arrived after the server had already proved itself
    /// (RFC 6120 §6.4.6).
    #[error("unexpected additional data with success")]
    UnexpectedSuccessData,
    /// The iteration count is below the configured minimum.
    #[error("iteration count {got} below the minimum of {min}")]
    IterationCountTooLow {
        /// Count announced by the server.
        got: u32,
        /// Configured minimum.
        min: u32,
    },
    /// The iteration count is above the configured maximum (RFC 5802 §9).
    #[error("iteration count {got} above the maximum of {max}")]
    IterationCountTooHigh {
        /// Count announced by the server.
        got: u32,
        /// Configured maximum.
        max: u32,
    },
    /// The server could not prove knowledge of the credentials: its
    /// signature is wrong or missing.
    #[error("server signature mismatch")]
    ServerSignatureMismatch,
    /// The server reported an error (`e=` in RFC 5802 §7).
    #[error("server reported an error: {0}")]
    ServerError(String),
    /// The credentials were wrong or the user is unknown. Deliberately
    /// does not say which.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The host refused the exchange with this condition.
    #[error("refused: {0}")]
    Refused(Condition),
    /// The credentials handed over by the host do not fit the mechanism: a
    /// fault of the host, reported as a temporary failure
    /// (RFC 6120 §6.5.11) so that the client may try again once it is
    /// fixed.
    #[error("credentials do not fit the mechanism")]
    CredentialsMismatch,
    /// The peer aborted the exchange.
    #[error("exchange aborted")]
    Aborted,
    /// Input arrived in a state that does not expect it (e.g. after the
    /// exchange finished, or while waiting for credentials).
    #[error("unexpected input in state {0}")]
    UnexpectedInput(&'static str),
}

impl Error {
    /// The RFC 6120 §6.5 condition a server reports for this error.
    ///
    /// Syntax errors inside a mechanism's messages, including bad base64
    /// *inside* SCRAM attributes, are `malformed-request` (§6.5.8):
    /// `incorrect-encoding` (§6.5.5) is about the base64 of the XML
    /// element's character data, which the stream layer decodes and
    /// reports. A badly formatted authzid is `invalid-authzid` (§6.5.6);
    /// wrong credentials, unknown users and failed binding or downgrade
    /// checks are `not-authorized` (§6.5.10), which by design does not say
    /// which; a host fault is `temporary-auth-failure` (§6.5.11).
    pub fn condition(&self) -> Condition {
        match self {
            Error::InvalidMechanism(_) => Condition::InvalidMechanism,
            Error::EncryptionRequired(_) => Condition::EncryptionRequired,
            Error::TooLong { .. }
            | Error::NotUtf8
            | Error::InvalidBase64(_)
            | Error::Malformed(_)
            | Error::MissingAttribute(_)
            | Error::DuplicateAttribute(_)
            | Error::MandatoryExtension
            | Error::EmptyUsername
            | Error::EmptyPassword
            | Error::Saslprep(_)
            | Error::ChannelBindingFlag
            | Error::UnexpectedSuccessData
            | Error::UnexpectedInput(_) => Condition::MalformedRequest,
            Error::InvalidAuthzid(_) => Condition::InvalidAuthzid,
            Error::IterationCountTooLow { .. } | Error::IterationCountTooHigh { .. } => {
                Condition::MechanismTooWeak
            }
            Error::NonceMismatch
            | Error::ChannelBindingMismatch
            | Error::UnsupportedChannelBinding(_)
            | Error::Downgrade
            | Error::DowngradeHashMismatch
            | Error::DowngradeHashMissing
            | Error::ServerSignatureMismatch
            | Error::ServerError(_)
            | Error::AuthenticationFailed => Condition::NotAuthorized,
            Error::CredentialsMismatch => Condition::TemporaryAuthFailure,
            Error::Refused(c) => *c,
            Error::Aborted => Condition::Aborted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_names_round_trip() {
        for c in Condition::ALL {
            assert_eq!(Condition::from_name(c.as_str()), Some(c));
        }
        assert_eq!(Condition::from_name("bogus"), None);
        assert_eq!(Condition::NotAuthorized.to_string(), "not-authorized");
    }

    #[test]
    fn errors_map_to_conditions() {
        assert_eq!(
            Error::Malformed("x").condition(),
            Condition::MalformedRequest
        );
        assert_eq!(
            Error::AuthenticationFailed.condition(),
            Condition::NotAuthorized
        );
        assert_eq!(Error::Downgrade.condition(), Condition::NotAuthorized);
        assert_eq!(
            Error::InvalidMechanism("X".into()).condition(),
            Condition::InvalidMechanism
        );
        assert_eq!(
            Error::EncryptionRequired("PLAIN").condition(),
            Condition::EncryptionRequired
        );
        assert_eq!(
            Error::Refused(Condition::AccountDisabled).condition(),
            Condition::AccountDisabled
        );
        assert_eq!(Error::Aborted.condition(), Condition::Aborted);
        assert_eq!(
            Error::InvalidAuthzid("x").condition(),
            Condition::InvalidAuthzid
        );
        assert_eq!(
            Error::CredentialsMismatch.condition(),
            Condition::TemporaryAuthFailure
        );
    }
}
