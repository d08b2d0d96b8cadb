//! Stream headers (RFC 6120 §4.7): reading the peer's, writing ours, and
//! the version rules of §4.7.5.
//!
//! The XML-level checks of a received header (stream namespace and
//! prefix, content namespace, declared namespaces) are done by the
//! [`Framer`](crate::xml::Framer) before it reports
//! [`StreamOpen`]; this module reads the
//! attributes. Addresses stay strings here: which JIDs are acceptable
//! depends on the role (RFC 6120 §4.7.1, §4.7.2).

use std::fmt;
use std::str::FromStr;

use super::Condition;
use crate::ns;
use crate::xml::{Element, Scope, StreamOpen, escape};

/// An XMPP version, `<major>.<minor>` (RFC 6120 §4.7.5), compared
/// numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// The major number.
    pub major: u32,
    /// The minor number.
    pub minor: u32,
}

impl Version {
    /// XMPP 1.0, the version RFC 6120 defines.
    pub const V1_0: Version = Version { major: 1, minor: 0 };
    /// What a header without `version` means (RFC 6120 §4.7.5 rule 4).
    pub const V0_9: Version = Version { major: 0, minor: 9 };
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A `version` attribute that is not `<major>.<minor>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed version '{0}'")]
pub struct InvalidVersion(pub String);

impl FromStr for Version {
    type Err = InvalidVersion;

    /// Parses `"1.0"`; leading zeros are ignored as §4.7.5 requires.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidVersion(s.chars().take(32).collect());
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        let num = |p: &str| -> Result<u32, InvalidVersion> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let t = p.trim_start_matches('0');
            if t.is_empty() {
                Ok(0)
            } else {
                t.parse().map_err(|_| bad())
            }
        };
        Ok(Version {
            major: num(major)?,
            minor: num(minor)?,
        })
    }
}

/// The attributes of a stream header (RFC 6120 §4.7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHeader {
    /// `to`: the receiving entity's address, in an initial header; the
    /// initiating entity's, in a response header.
    pub to: Option<String>,
    /// `from`: the sender's address.
    pub from: Option<String>,
    /// `id`: the stream identifier, set by the receiving entity.
    pub id: Option<String>,
    /// `xml:lang`: the default language of human-readable text.
    pub lang: Option<String>,
    /// `version`; `None` means the peer does not speak XMPP 1.0
    /// (treat as 0.9: no features, no version in the answer).
    pub version: Option<Version>,
    /// The content namespace (`jabber:client`, `jabber:server`,
    /// `jabber:component:accept`).
    pub content_ns: String,
    /// Whether the dialback namespace is declared (XEP-0220 §2.1), with
    /// the prefix `db`.
    pub dialback: bool,
}

/// A stream header whose attributes cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The `version` attribute is malformed.
    #[error(transparent)]
    Version(#[from] InvalidVersion),
}

impl HeaderError {
    /// The stream error to answer with.
    pub fn condition(&self) -> Condition {
        match self {
            HeaderError::Version(_) => Condition::UnsupportedVersion,
        }
    }
}

impl StreamHeader {
    /// A header for the content namespace `content_ns`, version 1.0,
    /// without addresses.
    pub fn new(content_ns: &str) -> StreamHeader {
        StreamHeader {
            to: None,
            from: None,
            id: None,
            lang: None,
            version: Some(Version::V1_0),
            content_ns: content_ns.to_owned(),
            dialback: false,
        }
    }

    /// Reads the attributes of a received header.
    pub fn from_open(open: &StreamOpen) -> Result<StreamHeader, HeaderError> {
        let h = &open.header;
        let get = |n: &str| h.attr(n).map(str::to_owned);
        let version = h.attr("version").map(str::parse).transpose()?;
        Ok(StreamHeader {
            to: get("to"),
            from: get("from"),
            id: get("id"),
            lang: h.attr_ns("lang", ns::XML).map(str::to_owned),
            version,
            content_ns: open.content_ns().to_owned(),
            dialback: open.scope.prefixes().any(|(_, n)| n == ns::DIALBACK),
        })
    }

    /// Reads the attributes of an RFC 7395 `<open/>` (§3.4), which carries
    /// the header's attributes but no namespace declarations: the content
    /// namespace is the one the connection's role speaks.
    pub fn from_framing_open(
        open: &Element,
        content_ns: &str,
    ) -> Result<StreamHeader, HeaderError> {
        let get = |n: &str| open.attr(n).map(str::to_owned);
        let version = open.attr("version").map(str::parse).transpose()?;
        Ok(StreamHeader {
            to: get("to"),
            from: get("from"),
            id: get("id"),
            lang: open.attr_ns("lang", ns::XML).map(str::to_owned),
            version,
            content_ns: content_ns.to_owned(),
            dialback: false,
        })
    }

    /// The RFC 7395 `<open/>` element with this header's attributes (§3.4).
    /// Characters XML cannot carry are replaced by U+FFFD, as in
    /// [`write`](Self::write).
    pub fn to_framing_open(&self) -> Element {
        let mut el = Element::new("open", ns::FRAMING);
        for (name, value) in [("from", &self.from), ("to", &self.to), ("id", &self.id)] {
            if let Some(v) = value {
                el.set_attr(name, &clean(v));
            }
        }
        if let Some(v) = &self.version {
            el.set_attr("version", &v.to_string());
        }
        if let Some(v) = &self.lang {
            el.set_attr_ns("lang", ns::XML, &clean(v));
        }
        el
    }

    /// The version to put in the response header, given the initiator's
    /// (RFC 6120 §4.7.5 rules 2 and 4): the lower of both, or none if the
    /// initiator sent none.
    pub fn response_version(initiator: Option<Version>, ours: Version) -> Option<Version> {
        initiator.map(|v| v.min(ours))
    }

    /// The namespace context our top-level elements are written in, for
    /// a [`Writer`](crate::xml::Writer).
    pub fn scope(&self) -> Scope {
        let mut s = Scope::new(&self.content_ns).with_prefix("stream", ns::STREAM);
        if self.dialback {
            s = s.with_prefix("db", ns::DIALBACK);
        }
        s
    }

    /// Appends the XML declaration and the opening tag to `out`. Strings
    /// are escaped; characters XML cannot carry are replaced by U+FFFD,
    /// since a header has no way to refuse them.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<?xml version='1.0'?><stream:stream");
        let mut attr = |name: &str, value: &str| {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"='");
            escape(out, clean(value).as_bytes(), true);
            out.push(b'\'');
        };
        if !self.content_ns.is_empty() {
            attr("xmlns", &self.content_ns);
        }
        attr("xmlns:stream", ns::STREAM);
        if self.dialback {
            attr("xmlns:db", ns::DIALBACK);
        }
        if let Some(v) = &self.from {
            attr("from", v);
        }
        if let Some(v) = &self.to {
            attr("to", v);
        }
        if let Some(v) = &self.id {
            attr("id", v);
        }
        if let Some(v) = &self.version {
            attr("version", &v.to_string());
        }
        if let Some(v) = &self.lang {
            attr("xml:lang", v);
        }
        out.push(b'>');
    }
}

/// `value` with every character XML cannot carry replaced by U+FFFD: a
/// header has no way to refuse them.
fn clean(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().all(|c| crate::xml::is_xml_char(c as u32)) {
        return std::borrow::Cow::Borrowed(value);
    }
    value
        .chars()
        .map(|c| {
            if crate::xml::is_xml_char(c as u32) {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

/// The closing tag of a stream (RFC 6120 §4.4).
pub const STREAM_CLOSE: &[u8] = b"</stream:stream>";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{FrameEvent, Framer, Limits};

    #[test]
    fn versions() {
        assert_eq!("1.0".parse(), Ok(Version::V1_0));
        assert_eq!("01.000".parse(), Ok(Version::V1_0));
        assert_eq!(
            "2.13".parse::<Version>().unwrap(),
            Version {
                major: 2,
                minor: 13
            }
        );
        assert!("2.4".parse::<Version>().unwrap() < "2.13".parse().unwrap());
        assert!("12.3".parse::<Version>().unwrap() > "2.13".parse().unwrap());
        for bad in ["", "1", "1.", ".0", "a.b", "1.0.0", "-1.0", "99999999999.0"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert_eq!(
            StreamHeader::response_version(Some("2.0".parse().unwrap()), Version::V1_0),
            Some(Version::V1_0)
        );
        assert_eq!(
            StreamHeader::response_version(Some(Version::V0_9), Version::V1_0),
            Some(Version::V0_9)
        );
        assert_eq!(StreamHeader::response_version(None, Version::V1_0), None);
    }

    #[test]
    fn written_header_reads_back() {
        let mut h = StreamHeader::new(ns::SERVER);
        h.to = Some("b.example".into());
        h.from = Some("a.example".into());
        h.id = Some("x'y<z".into());
        h.lang = Some("en".into());
        h.dialback = true;
        let mut out = Vec::new();
        h.write(&mut out);
        let mut framer = Framer::new(Limits::default());
        let mut input = &out[..];
        let Some(FrameEvent::StreamOpen(open)) = framer.next_event(&mut input).unwrap() else {
            panic!("no header");
        };
        assert!(open.xml_declaration);
        assert_eq!(StreamHeader::from_open(&open).unwrap(), h);
        assert_eq!(open.scope, h.scope());
    }
}
