//! Resource limits for reading a stream.

/// How much a peer may make the [`Framer`](super::Framer) hold.
///
/// Every limit is checked while bytes arrive, before they are buffered
/// or turned into a tree, so memory stays within them whatever the peer
/// sends; exceeding one ends the stream with `policy-violation`
/// (RFC 6120 §4.9.3.14). Lengths are counted in bytes as they appear on
/// the wire (before entities are decoded).
///
/// The limits can be changed on a live stream with
/// [`Framer::set_limits`](super::Framer::set_limits): a server typically
/// reads with [`Limits::before_auth`] until the peer has authenticated and
/// then with [`Limits::default`], and advertises `max_stanza_bytes` per
/// XEP-0478.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one top-level element, from its `<` to its final `>`.
    /// Default 262,144 (256 KiB, Prosody's c2s default).
    pub max_stanza_bytes: usize,
    /// Elements nested in one top-level element, counting itself.
    /// Default 64.
    pub max_depth: usize,
    /// Attributes on one element, namespace declarations included.
    /// Default 64.
    pub max_attributes: usize,
    /// Bytes of one element or attribute name, prefix included.
    /// Default 256.
    pub max_name_bytes: usize,
    /// Bytes of one run of character data or one attribute value.
    /// Default 262,144 (the whole stanza).
    pub max_text_bytes: usize,
    /// Bytes of the prolog and stream header (the XML declaration, any
    /// whitespace and the `<stream:stream ...>` tag). Default 8,192.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stanza_bytes: 256 * 1024,
            max_depth: 64,
            max_attributes: 64,
            max_name_bytes: 256,
            max_text_bytes: 256 * 1024,
            max_header_bytes: 8 * 1024,
        }
    }
}

impl Limits {
    /// Tighter limits for a peer that has not authenticated yet: 16 KiB
    /// per element, depth 16, 32 attributes, 8 KiB of text. Enough for
    /// STARTTLS, SASL (including large EXTERNAL or GSSAPI tokens) and
    /// dialback, little enough that an anonymous peer costs little.
    pub fn before_auth() -> Self {
        Self {
            max_stanza_bytes: 16 * 1024,
            max_depth: 16,
            max_attributes: 32,
            max_name_bytes: 256,
            max_text_bytes: 16 * 1024,
            max_header_bytes: 4 * 1024,
        }
    }

    /// No limit other than the element size: useful for tools that read
    /// trusted captures. Memory is still bounded by `max_stanza_bytes`.
    pub fn relaxed(max_stanza_bytes: usize) -> Self {
        Self {
            max_stanza_bytes,
            max_depth: usize::MAX,
            max_attributes: usize::MAX,
            max_name_bytes: usize::MAX,
            max_text_bytes: usize::MAX,
            max_header_bytes: max_stanza_bytes,
        }
    }
}
