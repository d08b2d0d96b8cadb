//! The XML stream layer: RFC 6120 §11's restricted XML, read
//! incrementally within limits, and written back.
//!
//! * [`Framer`] reads a stream in any chunking and yields
//!   [`FrameEvent`]s: the stream header, one complete top-level
//!   [`Element`] at a time, whitespace keepalives and the stream close.
//! * [`Element`] holds a stanza in a few flat buffers, with cheap
//!   accessors and builders.
//! * [`Writer`] serializes elements with minimal namespace declarations
//!   and refuses anything that would not be valid XML.
//!
//! What XMPP forbids ends the stream with the condition RFC 6120 assigns
//! ([`Error::condition`]): comments, processing instructions, DTDs and
//! undefined entities are `restricted-xml` (§11.1); anything that is not
//! XML-well-formed or namespace-well-formed is `not-well-formed` (§11.3);
//! an encoding other than UTF-8 is `unsupported-encoding` (§11.6); a
//! stream prefix other than `stream` or a prefixed content-namespace
//! element is `bad-namespace-prefix` (§4.8.5); wrong stream, content or
//! header namespaces are `invalid-namespace` (§4.8.1, §4.8.2, §4.8.5);
//! text between top-level elements is `bad-format`; and exceeding a
//! [`Limits`] value is `policy-violation`.
//!
//! Not implemented, because XMPP forbids it: DTDs and entity declarations,
//! encodings other than UTF-8, XML 1.1.

mod chars;
mod element;
mod error;
mod framer;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod limits;
#[cfg(feature = "minidom")]
pub mod minidom;
mod parser;
mod writer;

pub use element::{Attribute, Attrs, Children, Element, ElementRef, NodeRef, Nodes};
pub use error::{Error, Limit};
pub use framer::{FrameEvent, Framer, StreamOpen};
pub use limits::Limits;
pub use writer::{WriteError, Writer};

use std::borrow::Cow;

use crate::ns;

pub(crate) use chars::is_xml_char;
pub(crate) use writer::escape;

/// Namespace bindings in effect for the top-level elements of a stream:
/// the default (content) namespace and prefixes, as declared on the
/// stream header.
///
/// The names XMPP streams declare (the content and stream namespaces,
/// `stream`, `db`) are kept without allocating, so that each of a
/// server's many streams pays nothing for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub(crate) default_ns: Cow<'static, str>,
    pub(crate) prefixes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

/// `s`, borrowed from the crate's constants when it is one of the names
/// streams declare.
pub(crate) fn well_known(s: &str) -> Option<&'static str> {
    [
        ns::CLIENT,
        ns::SERVER,
        ns::COMPONENT_ACCEPT,
        ns::STREAM,
        ns::DIALBACK,
        ns::XML,
        "stream",
        "db",
        "xml",
        "stream:stream",
    ]
    .into_iter()
    .find(|k| *k == s)
}

fn interned(s: &str) -> Cow<'static, str> {
    well_known(s).map_or_else(|| Cow::Owned(s.to_owned()), Cow::Borrowed)
}

/// Like [`interned`], keeping an owned string that is not well known.
pub(crate) fn interned_owned(s: String) -> Cow<'static, str> {
    well_known(&s).map_or(Cow::Owned(s), Cow::Borrowed)
}

impl Scope {
    /// A scope whose default namespace is `default_ns` (`""` for none).
    pub fn new(default_ns: &str) -> Scope {
        Scope {
            default_ns: interned(default_ns),
            prefixes: Vec::new(),
        }
    }

    /// Adds a prefix binding.
    pub fn with_prefix(mut self, prefix: &str, ns: &str) -> Scope {
        self.prefixes.push((interned(prefix), interned(ns)));
        self
    }

    /// The default namespace (`""` for none).
    pub fn default_ns(&self) -> &str {
        &self.default_ns
    }

    /// The namespace bound to `prefix`, if any.
    pub fn resolve(&self, prefix: &str) -> Option<&str> {
        self.prefixes
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, n)| n.as_ref())
    }

    /// The prefix bindings, in declaration order.
    pub fn prefixes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.prefixes.iter().map(|(p, n)| (p.as_ref(), n.as_ref()))
    }
}
