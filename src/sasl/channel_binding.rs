//! Channel binding types and the data a host supplies for them.
//!
//! Implements the names and host-side data of `tls-exporter` (RFC 9266 §2),
//! `tls-server-end-point` and `tls-unique` (RFC 5929 §3, §4), the
//! per-connection TLS facts the mechanisms need ([`TlsInfo`]), and the
//! names exchanged by XEP-0440. Extracting the data from a TLS library is
//! the host's job; this module never sees a TLS connection. The
//! `<sasl-channel-binding/>` XML element of XEP-0440 is the stream layer's
//! concern.
//!
//! # Supplying binding data
//!
//! The host asks its TLS library, after the handshake, for the bytes of
//! each type that is defined for the connection, and lists them in a
//! [`TlsInfo`] in its own order of preference:
//!
//! - **`tls-exporter`** (RFC 9266 §2): the 32-byte keying material exported
//!   with label `"EXPORTER-Channel-Binding"` and an **empty** (zero-length,
//!   present) context. With rustls:
//!   `conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", Some(b""))`.
//!   Defined for TLS 1.3, and for TLS 1.2 only with the extended master
//!   secret extension (RFC 7627).
//! - **`tls-server-end-point`** (RFC 5929 §4.1): a hash of the server's
//!   DER-encoded end-entity certificate, with the hash of the certificate's
//!   signature algorithm, or SHA-256 when that is MD5 or SHA-1. Both sides
//!   compute it from the same certificate.
//! - **`tls-unique`** (RFC 5929 §3.1): the first Finished message of the
//!   most recent handshake. Undefined on TLS 1.3 and not exposed by
//!   rustls: never supply it there.
//!
//! A server supplies the same kinds of data for its end of the connection;
//! the types it supplies are the ones it advertises per XEP-0440 and the
//! only ones it accepts in a `p=` header (RFC 5802 §6).

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroizing;

/// A TLS channel binding type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChannelBindingType {
    /// `tls-exporter`, RFC 9266. The type to use on TLS 1.3.
    TlsExporter,
    /// `tls-server-end-point`, RFC 5929 §4.
    TlsServerEndPoint,
    /// `tls-unique`, RFC 5929 §3. TLS 1.2 and older only.
    TlsUnique,
}

impl ChannelBindingType {
    /// Every type, in the order a client prefers them when the server
    /// states which it supports (XEP-0440).
    pub const ALL: [ChannelBindingType; 3] = [
        ChannelBindingType::TlsExporter,
        ChannelBindingType::TlsServerEndPoint,
        ChannelBindingType::TlsUnique,
    ];

    /// The registered name, as used in `p=` and in XEP-0440.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelBindingType::TlsExporter => "tls-exporter",
            ChannelBindingType::TlsServerEndPoint => "tls-server-end-point",
            ChannelBindingType::TlsUnique => "tls-unique",
        }
    }

    /// Parses a registered name; `None` for names not implemented here.
    pub fn from_name(name: &str) -> Option<ChannelBindingType> {
        ChannelBindingType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

impl fmt::Display for ChannelBindingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`ChannelBindingType::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel binding type")]
pub struct UnknownChannelBindingType;

impl FromStr for ChannelBindingType {
    type Err = UnknownChannelBindingType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelBindingType::from_name(s).ok_or(UnknownChannelBindingType)
    }
}

/// Channel binding data of one type, taken from the TLS library by the
/// host.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    kind: ChannelBindingType,
    data: Zeroizing<Vec<u8>>,
}

impl ChannelBinding {
    /// Binding data `data` of type `kind`.
    pub fn new(kind: ChannelBindingType, data: impl Into<Vec<u8>>) -> Self {
        Self {
            kind,
            data: Zeroizing::new(data.into()),
        }
    }

    /// The type.
    pub fn kind(&self) -> ChannelBindingType {
        self.kind
    }

    /// The data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data is connection-specific key material; keep it out of logs.
        f.debug_struct("ChannelBinding")
            .field("kind", &self.kind)
            .field("len", &self.data.len())
            .finish()
    }
}

/// What the host knows about the transport of one connection.
///
/// Both sides use it: the client to choose a mechanism and binding type,
/// the server to decide what to offer and what to accept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// Whether the stream is encrypted (direct TLS or after STARTTLS).
    pub active: bool,
    /// Binding data the host can supply, most preferred first. Empty
    /// without TLS.
    pub bindings: Vec<ChannelBinding>,
    /// The domains the peer's certificate was verified for (RFC 6125), as
    /// the host's TLS layer found them; empty when the peer presented none
    /// or it did not verify. What lets a server accept SASL EXTERNAL from
    /// another server (XEP-0178).
    pub verified_peer: Vec<String>,
}

impl TlsInfo {
    /// A connection without TLS.
    pub fn plaintext() -> Self {
        Self::default()
    }

    /// A TLS connection without channel binding data.
    pub fn tls() -> Self {
        Self {
            active: true,
            bindings: Vec::new(),
            verified_peer: Vec::new(),
        }
    }

    /// Adds a domain the peer's certificate was verified for.
    pub fn with_verified_peer(mut self, domain: &str) -> Self {
        self.verified_peer.push(domain.to_owned());
        self
    }

    /// Whether the peer's certificate was verified for `domain`.
    pub fn peer_verified_for(&self, domain: &str) -> bool {
        self.active
            && self
                .verified_peer
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Adds binding data, replacing earlier data of the same type.
    pub fn with_binding(mut self, binding: ChannelBinding) -> Self {
        self.bindings.retain(|b| b.kind != binding.kind);
        self.bindings.push(binding);
        self
    }

    /// The data of type `kind`, if the host supplied it.
    pub fn binding(&self, kind: ChannelBindingType) -> Option<&ChannelBinding> {
        if !self.active {
            return None;
        }
        self.bindings.iter().find(|b| b.kind == kind)
    }

    /// The types the host supplied, in its order. A server advertises
    /// these per XEP-0440.
    pub fn binding_types(&self) -> Vec<ChannelBindingType> {
        if !self.active {
            return Vec::new();
        }
        self.bindings.iter().map(|b| b.kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ChannelBindingType::ALL {
            assert_eq!(t.as_str().parse::<ChannelBindingType>(), Ok(t));
        }
        assert!("tls-bogus".parse::<ChannelBindingType>().is_err());
    }

    #[test]
    fn bindings_ignored_without_tls() {
        let mut info = TlsInfo::tls().with_binding(ChannelBinding::new(
            ChannelBindingType::TlsUnique,
            b"x".to_vec(),
        ));
        assert_eq!(info.binding_types(), vec![ChannelBindingType::TlsUnique]);
        info.active = false;
        assert!(info.binding(ChannelBindingType::TlsUnique).is_none());
        assert!(info.binding_types().is_empty());
    }

    #[test]
    fn debug_hides_data() {
        let b = ChannelBinding::new(ChannelBindingType::TlsExporter, b"secret".to_vec());
        assert!(!format!("{b:?}").contains("secret"));
    }
}
