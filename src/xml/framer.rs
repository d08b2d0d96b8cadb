//! The resumable stream framer: bytes in any chunking, out come the
//! stream header, one complete top-level element at a time, whitespace
//! keepalives and the stream close.
//!
//! # How it stays O(n) and bounded
//!
//! A first pass finds where the current top-level item ends. It looks only
//! at the bytes that delimit markup (`<`, `>`, quotes), remembers how far
//! it got and in which lexical state, and never rescans: a chunk boundary
//! in the middle of a tag costs nothing. The bytes of an unfinished item
//! are copied into an internal buffer that never grows past
//! [`Limits::max_stanza_bytes`] (or `max_header_bytes` before the header);
//! an item that starts and ends within one input chunk is parsed where it
//! lies, without a copy. Depth, attribute count and text-run limits are
//! counted on the way, so a hostile peer is cut off as soon as it crosses
//! one, not when its element ends.
//!
//! A second pass ([`parser`](super::parser)) turns each complete element
//! into an [`Element`], checking everything the first pass does not see.
//!
//! The first pass also refuses, as soon as it meets them, comments,
//! processing instructions and DTDs (RFC 6120 §11.1), text between
//! top-level elements and data after the stream close.
//!
//! # Pausing between items
//!
//! [`Framer::next_event`] returns after every item, leaving the rest of
//! the input with the caller. That is what a stream machine needs: after
//! `<proceed/>` the next bytes are TLS, after a SASL `<success/>` they are
//! a new stream header ([`Framer::reset`]), and after authentication the
//! limits change ([`Framer::set_limits`]).

use super::chars::is_space;
use super::element::Element;
use super::parser::{self, Hints, Scratch};
use super::{Error, Limit, Limits, Scope};
use crate::ns;

/// The most buffer capacity a framer keeps between elements.
const RETAINED_BUFFER: usize = 4096;

/// Something the framer read from the stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FrameEvent {
    /// The peer's stream header (RFC 6120 §4.7), checked per §4.8.
    StreamOpen(StreamOpen),
    /// One complete top-level element: a stanza, or a stream-level
    /// element such as `<stream:features/>` or `<auth/>`.
    Element(Element),
    /// Whitespace between top-level elements began (RFC 6120 §4.6.1
    /// keepalives). One event per run of whitespace, however it is split
    /// across input chunks.
    Whitespace,
    /// The peer closed its stream with `</stream:stream>` (RFC 6120 §4.4).
    StreamClose,
}

/// A stream header as received.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOpen {
    /// The `<stream:stream>` element with its attributes (`to`, `from`,
    /// `id`, `version`, `xml:lang` in [`ns::XML`]) and no children.
    pub header: Element,
    /// The namespaces the header declares, which every element of the
    /// stream inherits: the content namespace and the prefixes.
    pub scope: Scope,
    /// Whether an XML declaration preceded the header.
    pub xml_declaration: bool,
}

impl StreamOpen {
    /// The content namespace declared as default (`jabber:client`,
    /// `jabber:server` or `jabber:component:accept`), or `""`.
    pub fn content_ns(&self) -> &str {
        &self.scope.default_ns
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the stream header; whether an XML declaration was read.
    Prolog { declaration: bool },
    /// Inside the stream.
    Stream,
    /// After `</stream:stream>`.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Not known yet: only the `<` has been seen.
    Unknown,
    XmlDeclaration,
    Header,
    Element,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Just after a `<`.
    TagOpen,
    /// Inside a start tag, outside quotes.
    StartTag,
    /// Inside a quoted attribute value.
    Quoted(u8),
    /// Inside an end tag.
    EndTag,
    /// Character data between tags.
    Content,
    /// Inside a CDATA section that began at the given offset.
    Cdata(usize),
    /// Inside an XML declaration.
    Declaration,
}

/// How far the first pass got into the current item.
#[derive(Debug, Clone, Copy)]
struct Scan {
    kind: Kind,
    lex: Lex,
    /// Next offset to look at, from the item's `<`.
    pos: usize,
    depth: usize,
    attrs_in_tag: usize,
    text_run: usize,
    hints: Hints,
}

impl Scan {
    fn new() -> Scan {
        Scan {
            kind: Kind::Unknown,
            lex: Lex::TagOpen,
            pos: 1,
            depth: 0,
            attrs_in_tag: 0,
            text_run: 0,
            hints: Hints::default(),
        }
    }
}

/// The incremental reader of one XML stream.
///
/// ```
/// use xmpp_sansio::xml::{FrameEvent, Framer, Limits};
///
/// let mut framer = Framer::new(Limits::default());
/// let mut events = Vec::new();
/// // Bytes may arrive in any chunking; here, one byte at a time.
/// let wire = b"<stream:stream xmlns='jabber:client' \
///     xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\
///     <presence/> </stream:stream>";
/// for byte in wire.chunks(1) {
///     let mut input = byte;
///     while let Some(event) = framer.next_event(&mut input).unwrap() {
///         events.push(event);
///     }
/// }
/// assert!(matches!(events[0], FrameEvent::StreamOpen(_)));
/// assert!(matches!(&events[1], FrameEvent::Element(e) if e.name() == "presence"));
/// assert_eq!(events[2], FrameEvent::Whitespace);
/// assert_eq!(events[3], FrameEvent::StreamClose);
/// ```
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    phase: Phase,
    /// The bytes of the unfinished item, when it spans input chunks.
    buf: Vec<u8>,
    scan: Scan,
    scope: Scope,
    /// The header's qualified name, which `</...>` must repeat.
    stream_qname: std::borrow::Cow<'static, str>,
    in_whitespace: bool,
    /// A self-closing stream header owes a `StreamClose` after its
    /// `StreamOpen`.
    close_pending: bool,
    item_bytes: usize,
    /// Boxed: only a failed framer has one.
    error: Option<Box<Error>>,
    consumed: u64,
    /// Stream offset of the first byte of the item being read.
    item_start: u64,
    /// Where the error lies; see [`Framer::error_offset`].
    error_offset: Option<u64>,
    scratch: Scratch,
}

impl Framer {
    /// A framer expecting a stream header (optionally preceded by an XML
    /// declaration).
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            phase: Phase::Prolog { declaration: false },
            buf: Vec::new(),
            scan: Scan::new(),
            scope: Scope::default(),
            stream_qname: std::borrow::Cow::Borrowed(""),
            in_whitespace: false,
            close_pending: false,
            item_bytes: 0,
            error: None,
            consumed: 0,
            item_start: 0,
            error_offset: None,
            scratch: Scratch::default(),
        }
    }

    /// A framer for elements that each stand alone, outside any stream
    /// header, as the messages of XMPP over WebSocket do (RFC 7395 §3.3.3):
    /// every element must declare its own namespaces, and what would close
    /// a stream is an error.
    pub fn for_fragments(limits: Limits) -> Framer {
        let mut f = Framer::new(limits);
        f.phase = Phase::Stream;
        f
    }

    /// Replaces the limits. They apply from now on, also to an item that
    /// is partly read.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Expects a new stream header, as after STARTTLS or SASL success
    /// (RFC 6120 §4.3.3). Bytes of an unfinished item are dropped.
    pub fn reset(&mut self) {
        self.phase = Phase::Prolog { declaration: false };
        self.buf = Vec::new();
        self.scan = Scan::new();
        self.scope = Scope::default();
        self.stream_qname = std::borrow::Cow::Borrowed("");
        self.in_whitespace = false;
        self.close_pending = false;
    }

    /// The namespaces the peer's stream header declared (empty before it).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// How many bytes the framer holds for an unfinished item; never more
    /// than the limit on items plus nothing else.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Total bytes consumed from all input so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The size on the wire of the item last returned (the header, an
    /// element or the closing tag): from its `<` to its `>`.
    pub fn item_bytes(&self) -> usize {
        self.item_bytes
    }

    /// Whether the peer closed its stream.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The error the framer failed with, if it did.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_deref()
    }

    /// Where the error lies, once the framer has failed: the stream offset
    /// (bytes from the start of all input, across [`reset`](Self::reset)s)
    /// of the first byte of the top-level item it was found in. That is
    /// the `<` of the element, stream header, XML declaration or closing
    /// tag that broke a rule or a limit, or the first byte of the text or
    /// data found outside any element. The same input gives the same
    /// offset in any chunking, as it gives the same error.
    pub fn error_offset(&self) -> Option<u64> {
        self.error_offset
    }

    /// Reports the end of input: an error if it cut an item in half or
    /// came before a stream header was complete. A stream that simply has
    /// no `</stream:stream>` yet is not an error here.
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err((**e).clone());
        }
        if !self.buf.is_empty() {
            let e = Error::UnexpectedEof;
            self.error = Some(Box::new(e.clone()));
            self.error_offset = Some(self.item_start);
            return Err(e);
        }
        Ok(())
    }

    /// Reads the next event from `input`, advancing it past the bytes
    /// consumed. Returns `Ok(None)` once `input` is exhausted without
    /// completing an item (the partial item is kept for the next call).
    ///
    /// Errors are sticky: after one, every call returns it again. Events
    /// returned before the error stand.
    pub fn next_event(&mut self, input: &mut &[u8]) -> Result<Option<FrameEvent>, Error> {
        if let Some(e) = &self.error {
            return Err((**e).clone());
        }
        let r = self.step(input);
        if let Err(e) = &r {
            self.error = Some(Box::new(e.clone()));
            self.error_offset = Some(self.item_start);
            self.buf = Vec::new();
        }
        r
    }

    fn item_limit(&self) -> (usize, Limit) {
        match self.phase {
            Phase::Prolog { .. } => (self.limits.max_header_bytes, Limit::HeaderBytes),
            _ => (self.limits.max_stanza_bytes, Limit::StanzaBytes),
        }
    }

    fn advance(&mut self, input: &mut &[u8], n: usize) {
        *input = &input[n..];
        self.consumed += n as u64;
    }

    fn step(&mut self, input: &mut &[u8]) -> Result<Option<FrameEvent>, Error> {
        if self.close_pending {
            self.close_pending = false;
            return Ok(Some(FrameEvent::StreamClose));
        }
        loop {
            if input.is_empty() {
                return Ok(None);
            }
            let (limit, which) = self.item_limit();
            if !self.buf.is_empty() {
                // Continue the item already begun: append what may still
                // fit, scan the new bytes, give back what lies beyond.
                let old = self.buf.len();
                let take = input.len().min(limit.saturating_add(1).saturating_sub(old));
                self.buf.extend_from_slice(&input[..take]);
                let mut scan = self.scan;
                let done = scan_item(&self.buf, &mut scan, &self.limits, self.phase)?;
                match done {
                    Some(end) => {
                        if end > limit {
                            return Err(Error::LimitExceeded(which));
                        }
                        self.advance(input, end - old);
                        let buf = std::mem::take(&mut self.buf);
                        let r = self.complete(&buf[..end], scan);
                        self.buf = buf;
                        self.buf.clear();
                        // A large element is not paid for again by every
                        // idle stream that once received one.
                        if self.buf.capacity() > RETAINED_BUFFER {
                            self.buf = Vec::new();
                        }
                        self.scan = Scan::new();
                        match r? {
                            Some(ev) => return Ok(Some(ev)),
                            None => continue,
                        }
                    }
                    None => {
                        if self.buf.len() > limit {
                            return Err(Error::LimitExceeded(which));
                        }
                        self.scan = scan;
                        self.advance(input, take);
                        return Ok(None);
                    }
                }
            }
            // Between items.
            let ws = input
                .iter()
                .position(|&b| !is_space(b))
                .unwrap_or(input.len());
            if ws > 0 {
                self.advance(input, ws);
                if self.phase == Phase::Stream && !self.in_whitespace {
                    self.in_whitespace = true;
                    return Ok(Some(FrameEvent::Whitespace));
                }
                continue;
            }
            self.in_whitespace = false;
            self.item_start = self.consumed;
            if input[0] != b'<' {
                return Err(match self.phase {
                    Phase::Stream => Error::TextAtTopLevel,
                    Phase::Closed => Error::DataAfterClose,
                    Phase::Prolog { .. } => Error::Malformed("text before the stream header"),
                });
            }
            if self.phase == Phase::Closed {
                return Err(Error::DataAfterClose);
            }
            let mut scan = Scan::new();
            // Look at no more than the buffered path would (one byte past
            // the limit), so that the first error found does not depend on
            // how the input was split.
            let window = &input[..input.len().min(limit.saturating_add(1))];
            match scan_item(window, &mut scan, &self.limits, self.phase)? {
                Some(end) => {
                    if end > limit {
                        return Err(Error::LimitExceeded(which));
                    }
                    let item = &input[..end];
                    let r = self.complete(item, scan);
                    self.advance(input, end);
                    if let Some(ev) = r? {
                        return Ok(Some(ev));
                    }
                }
                None => {
                    if input.len() > limit {
                        return Err(Error::LimitExceeded(which));
                    }
                    self.buf.extend_from_slice(input);
                    self.scan = scan;
                    let n = input.len();
                    self.advance(input, n);
                    return Ok(None);
                }
            }
        }
    }

    /// Turns a complete item into an event (`None` for the declaration).
    fn complete(&mut self, item: &[u8], scan: Scan) -> Result<Option<FrameEvent>, Error> {
        self.item_bytes = item.len();
        match scan.kind {
            Kind::XmlDeclaration => {
                check_declaration(item)?;
                self.phase = Phase::Prolog { declaration: true };
                Ok(None)
            }
            Kind::Header => {
                let declaration = matches!(self.phase, Phase::Prolog { declaration: true });
                let open = self.open_stream(item, declaration)?;
                let empty = item.ends_with(b"/>");
                self.phase = if empty { Phase::Closed } else { Phase::Stream };
                self.close_pending = empty;
                Ok(Some(FrameEvent::StreamOpen(open)))
            }
            Kind::Element => {
                let el = parser::parse_element(
                    item,
                    &self.scope,
                    &self.limits,
                    scan.hints,
                    &mut self.scratch,
                )?;
                Ok(Some(FrameEvent::Element(el)))
            }
            Kind::Close => {
                let name = &item[2..item.len() - 1];
                let end = name
                    .iter()
                    .rposition(|&b| !is_space(b))
                    .map_or(0, |i| i + 1);
                if &name[..end] != self.stream_qname.as_bytes() {
                    return Err(Error::MismatchedTag {
                        expected: self.stream_qname.to_string(),
                        found: String::from_utf8_lossy(&name[..end]).into_owned(),
                    });
                }
                self.phase = Phase::Closed;
                Ok(Some(FrameEvent::StreamClose))
            }
            Kind::Unknown => unreachable!("a complete item has a kind"),
        }
    }

    /// Parses and checks a stream header (RFC 6120 §4.7, §4.8).
    fn open_stream(&mut self, item: &[u8], xml_declaration: bool) -> Result<StreamOpen, Error> {
        let h = parser::parse_header(item, &self.limits)?;
        if h.element.name() != "stream" || h.element.ns() != ns::STREAM {
            return Err(Error::StreamNamespace);
        }
        if h.prefix != "stream" {
            return Err(Error::StreamPrefix(h.prefix));
        }
        let mut scope = Scope::default();
        for (prefix, uri) in h.declarations {
            match (prefix.as_str(), uri.as_str()) {
                ("", ns::CLIENT | ns::SERVER | ns::COMPONENT_ACCEPT) => {
                    scope.default_ns = super::interned_owned(uri)
                }
                ("", _) => return Err(Error::ContentNamespace(uri)),
                ("stream", ns::STREAM) | ("xml", ns::XML) => scope
                    .prefixes
                    .push((super::interned_owned(prefix), super::interned_owned(uri))),
                // XEP-0220 §2.1 and RFC 6120 §4.8.4: the dialback
                // namespace is the one extension a header may declare.
                (_, ns::DIALBACK) => scope
                    .prefixes
                    .push((super::interned_owned(prefix), super::interned_owned(uri))),
                _ => return Err(Error::HeaderNamespace(uri)),
            }
        }
        self.scope = scope.clone();
        self.stream_qname = super::interned_owned(h.qname);
        Ok(StreamOpen {
            header: h.element,
            scope,
            xml_declaration,
        })
    }
}

/// Checks an XML declaration (`<?xml ... ?>`, XML 1.0 §2.8) per RFC 6120
/// §11.5 and §11.6.
fn check_declaration(item: &[u8]) -> Result<(), Error> {
    let text = std::str::from_utf8(item).map_err(|_| Error::InvalidUtf8)?;
    let body = &text[5..text.len() - 2];
    let mut rest = body;
    let mut seen = Vec::with_capacity(3);
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        if trimmed.len() == rest.len() {
            return Err(Error::Malformed("XML declaration"));
        }
        let Some((name, after)) = trimmed.split_once('=') else {
            return Err(Error::Malformed("XML declaration"));
        };
        let name = name.trim_end_matches([' ', '\t', '\r', '\n']);
        let after = after.trim_start_matches([' ', '\t', '\r', '\n']);
        let quote = after.chars().next().filter(|&c| c == '\'' || c == '"');
        let Some(quote) = quote else {
            return Err(Error::Malformed("XML declaration"));
        };
        let Some((value, tail)) = after[1..].split_once(quote) else {
            return Err(Error::Malformed("XML declaration"));
        };
        // version, then encoding, then standalone, each at most once.
        let order = ["version", "encoding", "standalone"];
        let Some(rank) = order.iter().position(|n| *n == name) else {
            return Err(Error::Malformed("XML declaration"));
        };
        if seen.last().is_some_and(|&r| r >= rank) || (seen.is_empty() && rank != 0) {
            return Err(Error::Malformed("XML declaration"));
        }
        seen.push(rank);
        match name {
            "version" => {
                let ok = value
                    .strip_prefix("1.")
                    .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
                if !ok {
                    return Err(Error::Malformed("XML version"));
                }
            }
            "encoding" => {
                if !value.eq_ignore_ascii_case("utf-8") {
                    return Err(Error::UnsupportedEncoding(value.chars().take(64).collect()));
                }
            }
            _ => match value {
                "yes" => {}
                "no" => return Err(Error::Standalone),
                _ => return Err(Error::Malformed("XML declaration")),
            },
        }
        rest = tail;
    }
    if seen.is_empty() {
        return Err(Error::Malformed("XML declaration without version"));
    }
    Ok(())
}

/// The first pass over one item: advances `scan` through `data` (which
/// starts at the item's `<`); returns the item's end once it is complete.
fn scan_item(
    data: &[u8],
    scan: &mut Scan,
    limits: &Limits,
    phase: Phase,
) -> Result<Option<usize>, Error> {
    let mut pos = scan.pos;
    let len = data.len();
    let result = loop {
        match scan.lex {
            Lex::TagOpen => {
                let Some(&b) = data.get(pos) else { break None };
                let top = scan.depth == 0;
                match b {
                    b'/' => {
                        if top {
                            if phase != Phase::Stream {
                                return Err(Error::Malformed("end tag before the stream header"));
                            }
                            scan.kind = Kind::Close;
                        }
                        scan.lex = Lex::EndTag;
                        pos += 1;
                    }
                    b'?' => {
                        let rest = &data[pos..];
                        let decl_allowed = phase == Phase::Prolog { declaration: false } && top;
                        if rest.len() < 5 && b"?xml ".starts_with(rest) && decl_allowed {
                            break None;
                        }
                        if decl_allowed && rest.starts_with(b"?xml") && is_space(rest[4]) {
                            scan.kind = Kind::XmlDeclaration;
                            scan.lex = Lex::Declaration;
                            pos += 4;
                        } else {
                            return Err(Error::ProcessingInstruction);
                        }
                    }
                    b'!' => {
                        let rest = &data[pos..];
                        const CDATA: &[u8] = b"![CDATA[";
                        if rest.starts_with(CDATA) {
                            if top {
                                return Err(match phase {
                                    Phase::Stream => Error::TextAtTopLevel,
                                    _ => Error::Malformed("CDATA outside the stream element"),
                                });
                            }
                            scan.lex = Lex::Cdata(pos + CDATA.len());
                            pos += CDATA.len();
                        } else if (rest.len() < CDATA.len() && CDATA.starts_with(rest))
                            || rest.len() < 2
                        {
                            // Not enough bytes yet to tell CDATA from the rest.
                            break None;
                        } else if rest[1] == b'-' {
                            return Err(Error::Comment);
                        } else if rest[1].is_ascii_uppercase() || rest[1] == b'[' {
                            return Err(Error::Doctype);
                        } else {
                            return Err(Error::Malformed("'<!' not followed by CDATA"));
                        }
                    }
                    _ => {
                        if top {
                            scan.kind = match phase {
                                Phase::Prolog { .. } => Kind::Header,
                                _ => Kind::Element,
                            };
                        }
                        scan.depth += 1;
                        if scan.depth > limits.max_depth {
                            return Err(Error::LimitExceeded(Limit::Depth));
                        }
                        scan.hints.elements += 1;
                        scan.attrs_in_tag = 0;
                        scan.lex = Lex::StartTag;
                    }
                }
            }
            // Between quotes lie only a space and a name: a plain loop beats
            // a vector search over such short distances.
            Lex::StartTag => match data[pos..]
                .iter()
                .position(|&b| matches!(b, b'>' | b'\'' | b'"'))
            {
                None => {
                    pos = len;
                    break None;
                }
                Some(k) => {
                    pos += k + 1;
                    let b = data[pos - 1];
                    if b == b'>' {
                        let empty = data[pos - 2] == b'/';
                        if scan.kind == Kind::Header {
                            // The header's tag is the whole item.
                            break Some(pos);
                        }
                        if empty {
                            scan.depth -= 1;
                            if scan.depth == 0 {
                                break Some(pos);
                            }
                        }
                        scan.lex = Lex::Content;
                        scan.text_run = 0;
                    } else {
                        scan.attrs_in_tag += 1;
                        scan.hints.attributes += 1;
                        if scan.attrs_in_tag > limits.max_attributes {
                            return Err(Error::LimitExceeded(Limit::Attributes));
                        }
                        scan.lex = Lex::Quoted(b);
                    }
                }
            },
            Lex::Quoted(q) => match memchr::memchr(q, &data[pos..]) {
                None => {
                    pos = len;
                    break None;
                }
                Some(k) => {
                    pos += k + 1;
                    scan.lex = Lex::StartTag;
                }
            },
            Lex::EndTag => match memchr::memchr(b'>', &data[pos..]) {
                None => {
                    pos = len;
                    break None;
                }
                Some(k) => {
                    pos += k + 1;
                    if scan.kind == Kind::Close {
                        break Some(pos);
                    }
                    scan.depth -= 1;
                    if scan.depth == 0 {
                        break Some(pos);
                    }
                    scan.lex = Lex::Content;
                    scan.text_run = 0;
                }
            },
            Lex::Content => {
                let found = memchr::memchr(b'<', &data[pos..]);
                let run = found.unwrap_or(len - pos);
                scan.text_run += run;
                if scan.text_run > limits.max_text_bytes {
                    return Err(Error::LimitExceeded(Limit::TextBytes));
                }
                match found {
                    None => {
                        pos = len;
                        break None;
                    }
                    Some(k) => {
                        pos += k + 1;
                        scan.lex = Lex::TagOpen;
                    }
                }
            }
            Lex::Cdata(start) => {
                let mut found = None;
                let mut from = pos;
                while let Some(k) = memchr::memchr(b'>', &data[from..]) {
                    let gt = from + k;
                    if gt >= start + 2 && data[gt - 2..gt] == *b"]]" {
                        found = Some(gt + 1);
                        break;
                    }
                    from = gt + 1;
                }
                let upto = found.unwrap_or(len);
                scan.text_run += upto - pos;
                if scan.text_run > limits.max_text_bytes {
                    return Err(Error::LimitExceeded(Limit::TextBytes));
                }
                pos = upto;
                match found {
                    None => break None,
                    Some(_) => scan.lex = Lex::Content,
                }
            }
            Lex::Declaration => {
                let mut found = None;
                let mut from = pos;
                while let Some(k) = memchr::memchr(b'>', &data[from..]) {
                    let gt = from + k;
                    if data[gt - 1] == b'?' && gt > 5 {
                        found = Some(gt + 1);
                        break;
                    }
                    from = gt + 1;
                }
                match found {
                    None => {
                        pos = len;
                        break None;
                    }
                    Some(end) => break Some(end),
                }
            }
        }
    };
    scan.pos = pos;
    Ok(result)
}
