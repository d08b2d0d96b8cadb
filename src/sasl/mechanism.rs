//! Mechanism names and the client's choice among offered mechanisms.
//!
//! Implements the mechanism names registered for PLAIN (RFC 4616),
//! SCRAM-SHA-1(-PLUS) (RFC 5802 §4), SCRAM-SHA-256(-PLUS) (RFC 7677 §5),
//! SCRAM-SHA-512(-PLUS), EXTERNAL (RFC 4422 App. A) and ANONYMOUS
//! (RFC 4505), and the client-side choice of mechanism and GS2 channel
//! binding flag (RFC 5802 §6), using XEP-0440 when the server advertises
//! its binding types. Parsing `<mechanisms/>` is the stream layer's job.

use std::fmt;
use std::str::FromStr;

use super::channel_binding::{ChannelBindingType, TlsInfo};
use super::scram::ScramHash;

/// A SASL mechanism implemented by this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN`, RFC 4616.
    Plain,
    /// `SCRAM-SHA-1`, RFC 5802.
    ScramSha1,
    /// `SCRAM-SHA-1-PLUS`, RFC 5802 with channel binding.
    ScramSha1Plus,
    /// `SCRAM-SHA-256`, RFC 7677.
    ScramSha256,
    /// `SCRAM-SHA-256-PLUS`, RFC 7677 with channel binding.
    ScramSha256Plus,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `SCRAM-SHA-512-PLUS`.
    ScramSha512Plus,
    /// `EXTERNAL`, RFC 4422 App. A: authentication by the TLS layer.
    External,
    /// `ANONYMOUS`, RFC 4505.
    Anonymous,
}

impl Mechanism {
    /// Every mechanism.
    pub const ALL: [Mechanism; 9] = [
        Mechanism::ScramSha512Plus,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha512,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
        Mechanism::External,
        Mechanism::Anonymous,
    ];

    /// The registered name, e.g. `"SCRAM-SHA-256-PLUS"`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::ScramSha512Plus => "SCRAM-SHA-512-PLUS",
            Mechanism::External => "EXTERNAL",
            Mechanism::Anonymous => "ANONYMOUS",
        }
    }

    /// Parses a registered name. SASL names are upper case (RFC 4422 §3.1)
    /// and compared exactly.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The hash of a SCRAM mechanism.
    pub fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => Some(ScramHash::Sha1),
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => Some(ScramHash::Sha256),
            Mechanism::ScramSha512 | Mechanism::ScramSha512Plus => Some(ScramHash::Sha512),
            _ => None,
        }
    }

    /// Whether this is a `-PLUS` (channel binding) mechanism.
    pub fn is_plus(self) -> bool {
        matches!(
            self,
            Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus | Mechanism::ScramSha512Plus
        )
    }

    /// Whether the mechanism sends the password in the clear and so needs
    /// TLS (RFC 4616 §4).
    pub fn sends_password(self) -> bool {
        self == Mechanism::Plain
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of [`Mechanism::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SASL mechanism")]
pub struct UnknownMechanism;

impl FromStr for Mechanism {
    type Err = UnknownMechanism;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mechanism::from_name(s).ok_or(UnknownMechanism)
    }
}

/// The client's GS2 channel binding flag (RFC 5802 §6, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelBindingChoice {
    /// `n`: the client does not support channel binding, or cannot use any
    /// type the server supports.
    Unsupported,
    /// `y`: the client supports channel binding but the server offered no
    /// `-PLUS` mechanism. A server that does support it fails the exchange,
    /// which defeats an attacker who stripped the `-PLUS` mechanisms.
    NotOffered,
    /// `p=<type>`: channel binding with this type; only with `-PLUS`.
    Bound(ChannelBindingType),
}

/// The mechanism a client picked, with what it needs to know about the
/// offer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection {
    /// The mechanism to use.
    pub mechanism: Mechanism,
    /// The GS2 flag; only meaningful for SCRAM.
    pub channel_binding: ChannelBindingChoice,
    /// The mechanism names the server offered, verbatim, for the XEP-0474
    /// check. Empty when unknown.
    pub offered: Vec<String>,
    /// The binding type names the server advertised per XEP-0440, if it did.
    pub server_channel_bindings: Option<Vec<String>>,
}

impl Selection {
    /// A selection made by the host itself, without an offer to check
    /// against (XEP-0474 checking is then off).
    pub fn new(mechanism: Mechanism, channel_binding: ChannelBindingChoice) -> Self {
        Self {
            mechanism,
            channel_binding,
            offered: Vec::new(),
            server_channel_bindings: None,
        }
    }
}

/// The client's default preference: channel binding first, then the
/// stronger hash, PLAIN last (RFC 5802 §6, RFC 7677 §4).
pub const DEFAULT_PREFERENCE: [Mechanism; 7] = [
    Mechanism::ScramSha512Plus,
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha512,
    Mechanism::ScramSha256,
    Mechanism::ScramSha1,
    Mechanism::Plain,
];

/// Picks a mechanism; see [`ClientConfig::select`](super::ClientConfig::select).
pub(crate) fn select<S: AsRef<str>>(
    preference: &[Mechanism],
    allow_plain_without_tls: bool,
    offered: &[S],
    server_bindings: Option<&[S]>,
    tls: &TlsInfo,
) -> Option<Selection> {
    let offered_names: Vec<String> = offered.iter().map(|s| s.as_ref().to_owned()).collect();
    let is_offered = |m: Mechanism| offered_names.iter().any(|n| n == m.name());
    let host_types = tls.binding_types();
    // With XEP-0440 the client takes its own most preferred type the server
    // lists; without it, the host's first type (RFC 5802 §6 leaves the
    // default to the application; RFC 9266 §3 makes it tls-exporter on
    // TLS 1.3, which a host expresses by listing it first).
    let binding = match server_bindings {
        Some(names) => host_types
            .iter()
            .copied()
            .find(|t| names.iter().any(|n| n.as_ref() == t.as_str())),
        None => host_types.first().copied(),
    };
    let plus_offered = offered_names
        .iter()
        .any(|n| Mechanism::from_name(n).is_some_and(Mechanism::is_plus));

    let mechanism = preference.iter().copied().find(|&m| {
        is_offered(m)
            && match m {
                _ if m.is_plus() => tls.active && binding.is_some(),
                Mechanism::Plain => tls.active || allow_plain_without_tls,
                Mechanism::External => tls.active,
                _ => true,
            }
    })?;
    let channel_binding = match (mechanism.is_plus(), binding) {
        (true, Some(t)) => ChannelBindingChoice::Bound(t),
        (false, Some(_)) if !plus_offered => ChannelBindingChoice::NotOffered,
        _ => ChannelBindingChoice::Unsupported,
    };
    Some(Selection {
        mechanism,
        channel_binding,
        offered: offered_names,
        server_channel_bindings: server_bindings
            .map(|b| b.iter().map(|s| s.as_ref().to_owned()).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::ChannelBinding;

    fn tls_with(types: &[ChannelBindingType]) -> TlsInfo {
        types.iter().fold(TlsInfo::tls(), |t, &k| {
            t.with_binding(ChannelBinding::new(k, vec![1, 2, 3]))
        })
    }

    fn pick(
        offered: &[&str],
        cb: Option<&[&str]>,
        tls: &TlsInfo,
    ) -> Option<(Mechanism, ChannelBindingChoice)> {
        select(&DEFAULT_PREFERENCE, false, offered, cb, tls)
            .map(|s| (s.mechanism, s.channel_binding))
    }

    #[test]
    fn names_round_trip() {
        for m in Mechanism::ALL {
            assert_eq!(m.name().parse::<Mechanism>(), Ok(m));
        }
        assert!("scram-sha-1".parse::<Mechanism>().is_err());
        assert_eq!(
            Mechanism::ScramSha512Plus.scram_hash(),
            Some(ScramHash::Sha512)
        );
        assert!(Mechanism::ScramSha1Plus.is_plus());
        assert!(!Mechanism::Plain.is_plus());
    }

    #[test]
    fn prefers_plus_when_bindable() {
        let tls = tls_with(&[
            ChannelBindingType::TlsExporter,
            ChannelBindingType::TlsServerEndPoint,
        ]);
        let offered = [
            "PLAIN",
            "SCRAM-SHA-1",
            "SCRAM-SHA-1-PLUS",
            "SCRAM-SHA-256",
            "SCRAM-SHA-256-PLUS",
        ];
        assert_eq!(
            pick(&offered, None, &tls),
            Some((
                Mechanism::ScramSha256Plus,
                ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter)
            ))
        );
        // XEP-0440 says the server only does tls-server-end-point.
        assert_eq!(
            pick(&offered, Some(&["tls-server-end-point"]), &tls),
            Some((
                Mechanism::ScramSha256Plus,
                ChannelBindingChoice::Bound(ChannelBindingType::TlsServerEndPoint)
            ))
        );
        // No common type: no -PLUS, and `n` because the server does bind.
        assert_eq!(
            pick(&offered, Some(&["tls-unique"]), &tls),
            Some((Mechanism::ScramSha256, ChannelBindingChoice::Unsupported))
        );
    }

    #[test]
    fn y_flag_when_server_offers_no_plus() {
        let tls = tls_with(&[ChannelBindingType::TlsExporter]);
        assert_eq!(
            pick(&["SCRAM-SHA-1", "SCRAM-SHA-256"], None, &tls),
            Some((Mechanism::ScramSha256, ChannelBindingChoice::NotOffered))
        );
        assert_eq!(
            pick(&["SCRAM-SHA-1"], None, &TlsInfo::tls()),
            Some((Mechanism::ScramSha1, ChannelBindingChoice::Unsupported))
        );
    }

    #[test]
    fn plain_needs_tls() {
        assert_eq!(pick(&["PLAIN"], None, &TlsInfo::plaintext()), None);
        assert_eq!(
            pick(&["PLAIN"], None, &TlsInfo::tls()).map(|p| p.0),
            Some(Mechanism::Plain)
        );
        let s = select(
            &DEFAULT_PREFERENCE,
            true,
            &["PLAIN"],
            None,
            &TlsInfo::plaintext(),
        )
        .unwrap();
        assert_eq!(s.mechanism, Mechanism::Plain);
    }

    #[test]
    fn plus_needs_tls_and_data() {
        assert_eq!(pick(&["SCRAM-SHA-1-PLUS"], None, &TlsInfo::tls()), None);
        let mut tls = tls_with(&[ChannelBindingType::TlsUnique]);
        tls.active = false;
        assert_eq!(pick(&["SCRAM-SHA-1-PLUS"], None, &tls), None);
    }

    #[test]
    fn external_and_anonymous_only_on_request() {
        let tls = TlsInfo::tls();
        assert_eq!(pick(&["EXTERNAL", "ANONYMOUS"], None, &tls), None);
        let s = select(
            &[Mechanism::External, Mechanism::ScramSha1],
            false,
            &["EXTERNAL", "SCRAM-SHA-1"],
            None,
            &tls,
        )
        .unwrap();
        assert_eq!(s.mechanism, Mechanism::External);
        assert!(
            select(
                &[Mechanism::External],
                false,
                &["EXTERNAL"],
                None,
                &TlsInfo::plaintext()
            )
            .is_none()
        );
    }
}
