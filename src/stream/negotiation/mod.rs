//! Stream negotiation as data (RFC 6120 §4.3): each stream feature is a
//! negotiator that declares what it needs before it, what it forbids, what
//! it grants and whether the stream restarts after it. A role composes
//! negotiators; which one runs next, and which ones a receiving entity
//! lists, falls out of those declarations and the stream's [`Stage`],
//! instead of being written out by hand in every role.
//!
//! | feature | needs | forbidden once | grants | restarts |
//! |---|---|---|---|---|
//! | STARTTLS (RFC 6120 §5) | | secure | secure | yes |
//! | SASL (RFC 6120 §6) | secure, unless plaintext is allowed | authenticated | authenticated | yes |
//! | resource binding (RFC 6120 §7) | authenticated | bound | bound | no |
//! | legacy session (RFC 6121 App. E) | bound | | | no |
//! | stream management, enable (XEP-0198 §3) | bound | managed | managed | no |
//! | stream management, resume (XEP-0198 §5) | authenticated | bound | bound, managed | no |
//!
//! Dialback (XEP-0220) and the component handshake (XEP-0114) take their
//! places in the same table.

pub(crate) mod bind;
pub(crate) mod sasl;
pub(crate) mod sm;
pub(crate) mod starttls;

use super::connection::Core;
use crate::random::Random;
use crate::sasl::TlsInfo;

/// How far a stream's negotiation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Stage(u8);

impl Stage {
    /// Nothing negotiated.
    pub(crate) const NONE: Stage = Stage(0);
    /// The stream is encrypted (STARTTLS, direct TLS, `wss:`).
    pub(crate) const SECURE: Stage = Stage(1);
    /// The peer is authenticated.
    pub(crate) const AUTHENTICATED: Stage = Stage(2);
    /// A resource is bound: stanzas may flow.
    pub(crate) const BOUND: Stage = Stage(4);
    /// Stream management is enabled (or resumed).
    pub(crate) const MANAGED: Stage = Stage(8);

    /// Where a stream starts: secure when TLS came before it (direct TLS,
    /// `wss:`).
    pub(crate) fn of(tls: &TlsInfo) -> Stage {
        if tls.active {
            Stage::SECURE
        } else {
            Stage::NONE
        }
    }

    /// Whether every bit of `other` is set.
    pub(crate) const fn has(self, other: Stage) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    const fn any(self, other: Stage) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` with the bits of `other` set.
    pub(crate) const fn with(self, other: Stage) -> Stage {
        Stage(self.0 | other.0)
    }
}

impl std::ops::BitOr for Stage {
    type Output = Stage;
    fn bitor(self, other: Stage) -> Stage {
        self.with(other)
    }
}

/// What a feature declares about its place in negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Stages that must be reached before it.
    pub(crate) needs: Stage,
    /// Stages after which it may no longer run.
    pub(crate) forbids: Stage,
    /// What it adds when it succeeds.
    pub(crate) grants: Stage,
    /// Whether both sides open new streams after it (RFC 6120 §4.3.3).
    pub(crate) restarts: bool,
}

impl Rules {
    /// Whether the feature may run at `stage`.
    pub(crate) fn allowed(&self, stage: Stage) -> bool {
        stage.has(self.needs) && !stage.any(self.forbids)
    }
}

/// What handling one element (or the host's answer) did to a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// More is to come from the peer (or from the host).
    Pending,
    /// The feature is done; the stream restarts if its rules say so.
    Done,
    /// The feature failed in a way that leaves the stream open and
    /// negotiation where it was (a failed SASL attempt the peer may retry,
    /// a refused resource).
    Retry,
}

/// An element no feature expected during negotiation.
pub(crate) fn unexpected(cx: &mut Cx<'_>, el: &crate::xml::Element) -> super::Error {
    cx.core.fail(
        super::StreamError::new(super::Condition::UnsupportedStanzaType).with_text(&format!(
            "unexpected <{}/> in '{}' during negotiation",
            el.name(),
            el.ns()
        )),
    )
}

/// What a negotiator works with: the connection, the stream's TLS state
/// and randomness.
pub(crate) struct Cx<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) tls: &'a mut TlsInfo,
    pub(crate) rng: &'a mut dyn Random,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c2s_order_falls_out_of_the_rules() {
        let features = [
            ("starttls", starttls::RULES),
            ("sasl", sasl::rules(false)),
            ("bind", bind::RULES),
            ("session", bind::SESSION_RULES),
            ("resume", sm::RESUME_RULES),
            ("enable", sm::ENABLE_RULES),
        ];
        let next = |stage: Stage| -> Vec<&str> {
            features
                .iter()
                .filter(|(_, r)| r.allowed(stage))
                .map(|(n, _)| *n)
                .collect()
        };
        assert_eq!(next(Stage::NONE), ["starttls"]);
        assert_eq!(next(Stage::SECURE), ["sasl"]);
        // Resumption takes binding's place; enabling follows binding.
        assert_eq!(
            next(Stage::SECURE | Stage::AUTHENTICATED),
            ["bind", "resume"]
        );
        assert_eq!(
            next(Stage::SECURE | Stage::AUTHENTICATED | Stage::BOUND),
            ["session", "enable"]
        );
        let managed = Stage::SECURE | Stage::AUTHENTICATED | Stage::BOUND | Stage::MANAGED;
        assert_eq!(next(managed), ["session"]);
        // With plaintext allowed, SASL may come first; STARTTLS is never
        // possible after authentication.
        assert!(sasl::rules(true).allowed(Stage::NONE));
        assert!(!starttls::RULES.allowed(Stage::AUTHENTICATED));
        // Every feature grants what it forbids, so none runs twice.
        for (name, r) in features.iter().take(3) {
            assert!(!r.allowed(Stage::NONE.with(r.grants)), "{name}");
        }
    }
}
