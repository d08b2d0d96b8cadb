//! Why a stream could not be read, and the stream error each reason earns.

use crate::stream::Condition;

/// A limit from [`Limits`](super::Limits) that the peer exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_stanza_bytes`](super::Limits::max_stanza_bytes).
    StanzaBytes,
    /// [`Limits::max_depth`](super::Limits::max_depth).
    Depth,
    /// [`Limits::max_attributes`](super::Limits::max_attributes).
    Attributes,
    /// [`Limits::max_name_bytes`](super::Limits::max_name_bytes).
    NameBytes,
    /// [`Limits::max_text_bytes`](super::Limits::max_text_bytes).
    TextBytes,
    /// [`Limits::max_header_bytes`](super::Limits::max_header_bytes).
    HeaderBytes,
}

impl Limit {
    fn as_str(self) -> &'static str {
        match self {
            Limit::StanzaBytes => "element size",
            Limit::Depth => "nesting depth",
            Limit::Attributes => "attribute count",
            Limit::NameBytes => "name length",
            Limit::TextBytes => "text length",
            Limit::HeaderBytes => "stream header size",
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the incoming XML stream was refused.
///
/// Every variant maps to the RFC 6120 §4.9.3 condition that the stream
/// must be closed with ([`Error::condition`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An XML comment (RFC 6120 §11.1).
    #[error("comments are not allowed in XMPP")]
    Comment,
    /// A processing instruction other than the XML declaration before a
    /// stream header (RFC 6120 §11.1).
    #[error("processing instructions are not allowed in XMPP")]
    ProcessingInstruction,
    /// A document type declaration, internal subset or markup declaration
    /// (RFC 6120 §11.1).
    #[error("DTDs and markup declarations are not allowed in XMPP")]
    Doctype,
    /// A reference to an entity other than the five predefined ones
    /// (RFC 6120 §11.1).
    #[error("reference to undefined entity '&{0};'")]
    UndefinedEntity(String),
    /// An XML declaration with `standalone='no'` (RFC 6120 §11.5).
    #[error("standalone='no' is not allowed in XMPP")]
    Standalone,
    /// An XML declaration naming an encoding other than UTF-8
    /// (RFC 6120 §11.6).
    #[error("encoding '{0}' declared; XMPP is UTF-8 only")]
    UnsupportedEncoding(String),
    /// Bytes that are not UTF-8 (invalid, overlong or truncated
    /// sequences, surrogates).
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A character that XML 1.0 §2.2 does not allow, raw or as a
    /// character reference.
    #[error("character U+{0:04X} is not allowed in XML")]
    IllegalCharacter(u32),
    /// Input that is not well-formed XML; the text says where it broke.
    #[error("not well-formed: {0}")]
    Malformed(&'static str),
    /// An end tag that does not close the element that is open.
    #[error("end tag '</{found}>' does not match '<{expected}>'")]
    MismatchedTag {
        /// The name of the open element.
        expected: String,
        /// The name in the end tag.
        found: String,
    },
    /// A prefix that no namespace declaration in scope binds.
    #[error("prefix '{0}' is not bound to a namespace")]
    UnboundPrefix(String),
    /// A namespace declaration that XML Namespaces §3 forbids (binding
    /// `xmlns`, rebinding `xml`, undeclaring a prefix, ...).
    #[error("illegal namespace declaration: {0}")]
    IllegalNamespaceDeclaration(&'static str),
    /// The same attribute twice on one element, by name or by namespace
    /// and local name through two prefixes.
    #[error("duplicate attribute '{0}'")]
    DuplicateAttribute(String),
    /// A prefixed element qualified by the content namespace
    /// (RFC 6120 §4.8.5).
    #[error("elements in the content namespace must not be prefixed")]
    PrefixedContentNamespace,
    /// The stream namespace bound to a prefix other than `stream`
    /// (RFC 6120 §4.8.5).
    #[error("stream namespace prefix '{0}' is not 'stream'")]
    StreamPrefix(String),
    /// The root element is not `stream` in the stream namespace
    /// (RFC 6120 §4.8.1).
    #[error("the stream header is not <stream> in '{}'", crate::ns::STREAM)]
    StreamNamespace,
    /// The content namespace is not one XMPP defines (RFC 6120 §4.8.2).
    #[error("unsupported content namespace '{0}'")]
    ContentNamespace(String),
    /// The stream header declares a namespace for extended content
    /// (RFC 6120 §4.8.5).
    #[error("namespace '{0}' must not be declared on the stream header")]
    HeaderNamespace(String),
    /// Character data between top-level elements that is not whitespace.
    #[error("text between top-level elements")]
    TextAtTopLevel,
    /// Data after the stream's closing tag.
    #[error("data after the end of the stream")]
    DataAfterClose,
    /// The stream ended in the middle of an element or before a header.
    #[error("the stream ended inside an element")]
    UnexpectedEof,
    /// A limit was exceeded.
    #[error("{0} limit exceeded")]
    LimitExceeded(Limit),
}

impl Error {
    /// The stream error condition to close the stream with.
    pub fn condition(&self) -> Condition {
        match self {
            Error::Comment
            | Error::ProcessingInstruction
            | Error::Doctype
            | Error::UndefinedEntity(_)
            | Error::Standalone => Condition::RestrictedXml,
            Error::UnsupportedEncoding(_) => Condition::UnsupportedEncoding,
            Error::InvalidUtf8
            | Error::IllegalCharacter(_)
            | Error::Malformed(_)
            | Error::MismatchedTag { .. }
            | Error::UnboundPrefix(_)
            | Error::IllegalNamespaceDeclaration(_)
            | Error::DuplicateAttribute(_)
            | Error::DataAfterClose
            | Error::UnexpectedEof => Condition::NotWellFormed,
            Error::PrefixedContentNamespace | Error::StreamPrefix(_) => {
                Condition::BadNamespacePrefix
            }
            Error::StreamNamespace | Error::ContentNamespace(_) | Error::HeaderNamespace(_) => {
                Condition::InvalidNamespace
            }
            Error::TextAtTopLevel => Condition::BadFormat,
            Error::LimitExceeded(_) => Condition::PolicyViolation,
        }
    }
}
