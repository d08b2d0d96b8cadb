//! Mechanism names and the client's choice among offered mechanisms.
//!
//! Implements the mechanism names registered for PLAIN (RFC 4616),
//! SCRAM-SHA-1(-PLUS) (RFC 5802 §4), SCRAM-SHA-256(-PLUS) (RFC 7677 §5),
//! SCRAM-SHA-512(-PLUS), EXTERNAL (RFC 4422 App. A) and ANONYMOUS
//! (RFC 4505), and the client-side choice of mechanism and GS2 channel
//! binding flag (RFC 5802 §6), using XEP-0440 when the server advertises
//! its binding types and applying its business rules (and XEP-0474's
//! relaxation of rule 6) against channel-binding downgrades. Parsing
//! `<mechanisms/>` is the stream layer's job.

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
    /// Whether the selection only stands because the server's XEP-0474
    /// hash will confirm the offer: the server offered `-PLUS` mechanisms
    /// and binding types, none of which the host can supply
    /// (XEP-0474 §Business Rules, new rule 6). The client then fails with
    /// [`Error::DowngradeHashMissing`](super::Error::DowngradeHashMissing)
    /// if server-first carries no `h=`, and with
    /// [`Error::DowngradeHashMismatch`](super::Error::DowngradeHashMismatch)
    /// if it carries a wrong one.
    pub downgrade_hash_required: bool,
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
            downgrade_hash_required: false,
        }
    }
}

/// Why [`ClientConfig::select`](super::ClientConfig::select) found no
/// mechanism to use. Each case means: do not authenticate on this stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// None of the mechanisms in the client's preference was offered.
    #[error("the server offered no mechanism the client accepts")]
    NothingUsable,
    /// PLAIN was the only acceptable mechanism offered, and the stream is
    /// not encrypted (RFC 4616 §4, RFC 6120 §6.4.1); see
    /// [`ClientConfig::allow_plain_without_tls`](super::ClientConfig::allow_plain_without_tls).
    #[error("PLAIN refused on an unencrypted stream")]
    PlainWithoutTls,
    /// EXTERNAL was the only acceptable mechanism offered, and the stream is
    /// not encrypted, so there are no TLS credentials to rely on
    /// (RFC 6120 §6.4.1).
    #[error("EXTERNAL refused on an unencrypted stream")]
    ExternalWithoutTls,
    /// Only `-PLUS` mechanisms were acceptable, and the host has no channel
    /// binding data for this stream (or it is not encrypted).
    #[error("only -PLUS mechanisms offered, but no channel binding data")]
    NoChannelBindingData,
    /// The server offered `-PLUS` mechanisms and announced binding types
    /// (XEP-0440), but none the host can supply. XEP-0440 §Business Rules,
    /// rule 6, takes that for a man in the middle rewriting the list; the
    /// client aborts rather than send `n`, which would let such a list
    /// turn binding off. (The rule lets a client go on when the list names
    /// `tls-server-end-point`; this one does not, since a rewritten list
    /// can name it too.)
    /// [`ClientConfig::rely_on_downgrade_protection`](super::ClientConfig::rely_on_downgrade_protection)
    /// relaxes this per XEP-0474 for SCRAM.
    #[error("channel binding downgrade detected (XEP-0440)")]
    ChannelBindingDowngrade,
    /// The server announced binding types (XEP-0440) but offered no `-PLUS`
    /// mechanism: XEP-0440 §Business Rules, rule 5, takes that for a man in
    /// the middle stripping the `-PLUS` mechanisms.
    #[error("-PLUS mechanisms stripped from the offer (XEP-0440)")]
    PlusMechanismsStripped,
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

/// The client policy [`select`] applies.
pub(crate) struct Policy<'a> {
    pub(crate) preference: &'a [Mechanism],
    pub(crate) allow_plain_without_tls: bool,
    pub(crate) rely_on_downgrade_protection: bool,
}

/// Picks a mechanism; see [`ClientConfig::select`](super::ClientConfig::select).
///
/// The rule numbers are those of XEP-0440 §Business Rules.
pub(crate) fn select<M: AsRef<str>, B: AsRef<str>>(
    policy: &Policy<'_>,
    offered: &[M],
    server_bindings: Option<&[B]>,
    tls: &TlsInfo,
) -> Result<Selection, SelectError> {
    let offered_names: Vec<String> = offered.iter().map(|s| s.as_ref().to_owned()).collect();
    let is_offered = |m: Mechanism| offered_names.iter().any(|n| n == m.name());
    let plus_offered = offered_names
        .iter()
        .any(|n| Mechanism::from_name(n).is_some_and(Mechanism::is_plus));
    // The binding types the client could use at all; none means the client
    // does not support channel binding on this stream (rule 2: `n`).
    let host_types = tls.binding_types();
    let client_binds = !host_types.is_empty();
    // An empty announcement is no announcement: a list emptied in transit
    // must not pass for "no types in common".
    let announced: Option<Vec<&str>> = server_bindings
        .map(|b| b.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .filter(|b| !b.is_empty());

    // Rule 5: binding types announced but no -PLUS mechanism. Only a client
    // that could bind has anything to lose; one that cannot sends `n`
    // anyway (rule 2).
    if client_binds && announced.is_some() && !plus_offered {
        return Err(SelectError::PlusMechanismsStripped);
    }

    let binding = match &announced {
        // Rules 1 and 7: a type stronger than tls-server-end-point if one is
        // in common, in the host's order, else tls-server-end-point.
        Some(names) => {
            let common = || {
                host_types
                    .iter()
                    .copied()
                    .filter(|t| names.contains(&t.as_str()))
            };
            common()
                .find(|&t| t != ChannelBindingType::TlsServerEndPoint)
                .or_else(|| common().next())
        }
        // Rule 4 (RFC 6120 SASL): no types announced, so the client may try
        // any; the host's first, which RFC 9266 §3 makes tls-exporter on
        // TLS 1.3 (RFC 5802 §6 leaves the default to the application).
        None => host_types.first().copied(),
    };

    let usable = |m: Mechanism, plus_ok: bool| {
        is_offered(m)
            && match m {
                _ if m.is_plus() => plus_ok,
                Mechanism::Plain => tls.active || policy.allow_plain_without_tls,
                Mechanism::External => tls.active,
                _ => true,
            }
    };
    let preferred = |plus_ok: bool| {
        policy
            .preference
            .iter()
            .copied()
            .find(|&m| usable(m, plus_ok))
    };

    let mut downgrade_hash_required = false;
    let mechanism = if client_binds && binding.is_none() {
        // Announced -PLUS mechanisms and types, none of them usable here.
        match preferred(true) {
            Some(m) if m.is_plus() => {
                if policy.rely_on_downgrade_protection {
                    // XEP-0474 §Business Rules, new rule 6: go on with `n`
                    // and let the server's hash prove the lists genuine.
                    // Only SCRAM carries that hash.
                    downgrade_hash_required = true;
                    policy
                        .preference
                        .iter()
                        .copied()
                        .find(|&m| m.scram_hash().is_some() && !m.is_plus() && usable(m, false))
                        .ok_or(SelectError::ChannelBindingDowngrade)?
                } else {
                    // Rule 6. Going on with `n` when the list names
                    // tls-server-end-point, as the rule allows, would let a
                    // man in the middle who rewrites the list to just that
                    // type turn binding off: abort either way.
                    return Err(SelectError::ChannelBindingDowngrade);
                }
            }
            Some(m) => m,
            None => return Err(why_nothing(policy, &is_offered, tls)),
        }
    } else {
        preferred(tls.active && binding.is_some())
            .ok_or_else(|| why_nothing(policy, &is_offered, tls))?
    };

    let channel_binding = match (mechanism.is_plus(), binding) {
        (true, Some(t)) => ChannelBindingChoice::Bound(t),
        // Rule 3, RFC 5802 §6: the client could bind but the server
        // announced neither -PLUS mechanisms nor binding types.
        (false, _) if client_binds && !plus_offered && announced.is_none() => {
            ChannelBindingChoice::NotOffered
        }
        // Rule 2, and a client that cannot use the server's types.
        _ => ChannelBindingChoice::Unsupported,
    };
    Ok(Selection {
        mechanism,
        channel_binding,
        offered: offered_names,
        server_channel_bindings: server_bindings
            .map(|b| b.iter().map(|s| s.as_ref().to_owned()).collect()),
        downgrade_hash_required,
    })
}

/// The one retry after a failed `-PLUS` attempt; see
/// [`ClientConfig::fallback`](super::ClientConfig::fallback).
pub(crate) fn fallback(
    policy: &Policy<'_>,
    failed: &Selection,
    tls: &TlsInfo,
) -> Option<Selection> {
    let announced = failed
        .server_channel_bindings
        .as_ref()
        .is_some_and(|b| !b.is_empty());
    let guessed = matches!(failed.channel_binding, ChannelBindingChoice::Bound(_));
    if !failed.mechanism.is_plus() || !guessed || announced || tls.binding_types().is_empty() {
        return None;
    }
    // SCRAM only: PLAIN after SCRAM would hand the password to whoever
    // made the first attempt fail.
    let mechanism = policy.preference.iter().copied().find(|&m| {
        m.scram_hash().is_some() && !m.is_plus() && failed.offered.iter().any(|n| n == m.name())
    })?;
    Some(Selection {
        mechanism,
        // RFC 5802 §6: "y", the client binds but found no type in common;
        // a server that could bind refuses it, so an attacker who removed
        // what made the first attempt work gains nothing.
        channel_binding: ChannelBindingChoice::NotOffered,
        offered: failed.offered.clone(),
        server_channel_bindings: failed.server_channel_bindings.clone(),
        downgrade_hash_required: false,
    })
}

/// The most useful reason why no preferred mechanism could be used: the
/// one a host could act on first.
fn why_nothing(
    policy: &Policy<'_>,
    is_offered: &dyn Fn(Mechanism) -> bool,
    tls: &TlsInfo,
) -> SelectError {
    let offered: Vec<Mechanism> = policy
        .preference
        .iter()
        .copied()
        .filter(|&m| is_offered(m))
        .collect();
    if !tls.active && offered.contains(&Mechanism::Plain) {
        SelectError::PlainWithoutTls
    } else if !tls.active && offered.contains(&Mechanism::External) {
        SelectError::ExternalWithoutTls
    } else if offered.iter().any(|m| m.is_plus()) {
        SelectError::NoChannelBindingData
    } else {
        SelectError::NothingUsable
    }
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

    fn policy(preference: &[Mechanism], plain: bool, xep0474: bool) -> Policy<'_> {
        Policy {
            preference,
            allow_plain_without_tls: plain,
            rely_on_downgrade_protection: xep0474,
        }
    }

    fn pick(
        offered: &[&str],
        cb: Option<&[&str]>,
        tls: &TlsInfo,
    ) -> Result<(Mechanism, ChannelBindingChoice), SelectError> {
        select(&policy(&DEFAULT_PREFERENCE, false, false), offered, cb, tls)
            .map(|s| (s.mechanism, s.channel_binding))
    }

    const OFFER: [&str; 5] = [
        "PLAIN",
        "SCRAM-SHA-1",
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-256",
        "SCRAM-SHA-256-PLUS",
    ];

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
        assert_eq!(
            pick(&OFFER, None, &tls),
            Ok((
                Mechanism::ScramSha256Plus,
                ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter)
            ))
        );
        // XEP-0440 says the server only does tls-server-end-point.
        assert_eq!(
            pick(&OFFER, Some(&["tls-server-end-point"]), &tls),
            Ok((
                Mechanism::ScramSha256Plus,
                ChannelBindingChoice::Bound(ChannelBindingType::TlsServerEndPoint)
            ))
        );
    }

    #[test]
    fn stronger_type_than_server_end_point_preferred() {
        // XEP-0440 rule 7, even when the host lists tls-server-end-point
        // first.
        let tls = tls_with(&[
            ChannelBindingType::TlsServerEndPoint,
            ChannelBindingType::TlsExporter,
        ]);
        assert_eq!(
            pick(
                &OFFER,
                Some(&["tls-server-end-point", "tls-exporter"]),
                &tls
            ),
            Ok((
                Mechanism::ScramSha256Plus,
                ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter)
            ))
        );
    }

    #[test]
    fn no_common_announced_type_is_a_downgrade() {
        let tls = tls_with(&[ChannelBindingType::TlsExporter]);
        // XEP-0440 rule 6: abort, since tls-server-end-point is not
        // advertised either.
        assert_eq!(
            pick(&OFFER, Some(&["tls-unique"]), &tls),
            Err(SelectError::ChannelBindingDowngrade)
        );
        // Even with tls-server-end-point advertised (which this host
        // lacks): a rewritten list could name it to make the client send
        // `n`.
        assert_eq!(
            pick(&OFFER, Some(&["tls-unique", "tls-server-end-point"]), &tls),
            Err(SelectError::ChannelBindingDowngrade)
        );
        // An emptied list is treated as no list (rule 4): bind anyway.
        assert_eq!(
            pick(&OFFER, Some(&[]), &tls),
            Ok((
                Mechanism::ScramSha256Plus,
                ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter)
            ))
        );
        // A host that cannot bind at all is not affected (rule 2).
        assert_eq!(
            pick(&OFFER, Some(&["tls-unique"]), &TlsInfo::tls()),
            Ok((Mechanism::ScramSha256, ChannelBindingChoice::Unsupported))
        );
        // Nor is a client whose preference would not pick -PLUS anyway.
        let s = select(
            &policy(&[Mechanism::ScramSha256], false, false),
            &OFFER,
            Some(&["tls-unique"]),
            &tls,
        )
        .unwrap();
        assert_eq!(s.channel_binding, ChannelBindingChoice::Unsupported);
    }

    #[test]
    fn one_fallback_only_after_a_guessed_binding_type() {
        let tls = tls_with(&[ChannelBindingType::TlsExporter]);
        let p = policy(&DEFAULT_PREFERENCE, false, false);
        // No list: the binding type was a guess.
        let guess = select(&p, &OFFER, None::<&[&str]>, &tls).unwrap();
        assert_eq!(guess.mechanism, Mechanism::ScramSha256Plus);
        let retry = fallback(&p, &guess, &tls).unwrap();
        assert_eq!(retry.mechanism, Mechanism::ScramSha256);
        assert_eq!(retry.channel_binding, ChannelBindingChoice::NotOffered);
        assert!(fallback(&p, &retry, &tls).is_none());
        // An emptied list is no list.
        let guess = select(&p, &OFFER, Some(&[] as &[&str]), &tls).unwrap();
        assert!(fallback(&p, &guess, &tls).is_some());
        // A type from the server's list was no guess.
        let listed = select(&p, &OFFER, Some(&["tls-exporter"]), &tls).unwrap();
        assert!(fallback(&p, &listed, &tls).is_none());
        // Never PLAIN after SCRAM.
        let guess = select(&p, &["SCRAM-SHA-1-PLUS", "PLAIN"], None::<&[&str]>, &tls).unwrap();
        assert!(fallback(&p, &guess, &tls).is_none());
        // A preference that excludes SCRAM without -PLUS gets no retry.
        let only_plus = [Mechanism::ScramSha256Plus];
        let p = policy(&only_plus, false, false);
        let guess = select(&p, &OFFER, None::<&[&str]>, &tls).unwrap();
        assert!(fallback(&p, &guess, &tls).is_none());
    }

    #[test]
    fn downgrade_relaxed_only_with_xep0474_and_scram() {
        let tls = tls_with(&[ChannelBindingType::TlsExporter]);
        let s = select(
            &policy(&DEFAULT_PREFERENCE, false, true),
            &OFFER,
            Some(&["tls-unique"]),
            &tls,
        )
        .unwrap();
        assert_eq!(s.mechanism, Mechanism::ScramSha256);
        assert_eq!(s.channel_binding, ChannelBindingChoice::Unsupported);
        assert!(s.downgrade_hash_required);
        // PLAIN cannot carry the hash.
        assert_eq!(
            select(
                &policy(&DEFAULT_PREFERENCE, false, true),
                &["PLAIN", "SCRAM-SHA-1-PLUS"],
                Some(&["tls-unique"]),
                &tls,
            ),
            Err(SelectError::ChannelBindingDowngrade)
        );
        // A normal selection does not depend on the hash.
        let s = select(
            &policy(&DEFAULT_PREFERENCE, false, true),
            &OFFER,
            Some(&["tls-exporter"]),
            &tls,
        )
        .unwrap();
        assert!(!s.downgrade_hash_required);
    }

    #[test]
    fn types_without_plus_mechanisms_are_refused() {
        // XEP-0440 rule 5.
        let tls = tls_with(&[ChannelBindingType::TlsExporter]);
        assert_eq!(
            pick(&["SCRAM-SHA-256"], Some(&["tls-exporter"]), &tls),
            Err(SelectError::PlusMechanismsStripped)
        );
        assert_eq!(
            pick(&["SCRAM-SHA-256"], Some(&["tls-exporter"]), &TlsInfo::tls()),
            Ok((Mechanism::ScramSha256, ChannelBindingChoice::Unsupported))
        );
    }

    #[test]
    fn y_flag_when_server_offers_no_plus() {
        let tls = tls_with(&[ChannelBindingType::TlsExporter]);
        assert_eq!(
            pick(&["SCRAM-SHA-1", "SCRAM-SHA-256"], None, &tls),
            Ok((Mechanism::ScramSha256, ChannelBindingChoice::NotOffered))
        );
        assert_eq!(
            pick(&["SCRAM-SHA-1"], None, &TlsInfo::tls()),
            Ok((Mechanism::ScramSha1, ChannelBindingChoice::Unsupported))
        );
    }

    #[test]
    fn plain_needs_tls() {
        assert_eq!(
            pick(&["PLAIN"], None, &TlsInfo::plaintext()),
            Err(SelectError::PlainWithoutTls)
        );
        assert_eq!(
            pick(&["PLAIN"], None, &TlsInfo::tls()).map(|p| p.0),
            Ok(Mechanism::Plain)
        );
        let s = select(
            &policy(&DEFAULT_PREFERENCE, true, false),
            &["PLAIN"],
            None::<&[&str]>,
            &TlsInfo::plaintext(),
        )
        .unwrap();
        assert_eq!(s.mechanism, Mechanism::Plain);
    }

    #[test]
    fn plus_needs_tls_and_data() {
        assert_eq!(
            pick(&["SCRAM-SHA-1-PLUS"], None, &TlsInfo::tls()),
            Err(SelectError::NoChannelBindingData)
        );
        let mut tls = tls_with(&[ChannelBindingType::TlsUnique]);
        tls.active = false;
        assert_eq!(
            pick(&["SCRAM-SHA-1-PLUS"], None, &tls),
            Err(SelectError::NoChannelBindingData)
        );
        assert_eq!(
            pick(&["DIGEST-MD5"], None, &tls),
            Err(SelectError::NothingUsable)
        );
    }

    #[test]
    fn external_and_anonymous_only_on_request() {
        let tls = TlsInfo::tls();
        assert_eq!(
            pick(&["EXTERNAL", "ANONYMOUS"], None, &tls),
            Err(SelectError::NothingUsable)
        );
        let s = select(
            &policy(&[Mechanism::External, Mechanism::ScramSha1], false, false),
            &["EXTERNAL", "SCRAM-SHA-1"],
            None::<&[&str]>,
            &tls,
        )
        .unwrap();
        assert_eq!(s.mechanism, Mechanism::External);
        assert_eq!(
            select(
                &policy(&[Mechanism::External], false, false),
                &["EXTERNAL"],
                None::<&[&str]>,
                &TlsInfo::plaintext()
            ),
            Err(SelectError::ExternalWithoutTls)
        );
    }
}
