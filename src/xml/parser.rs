//! Turns the bytes of one complete element into an [`Element`].
//!
//! The [`Framer`](super::Framer) has already found where the element ends
//! (and rejected comments, processing instructions and DTDs on the way);
//! this pass works on the whole slice at once, so it needs no state across
//! input chunks. It enforces what the framer cannot see: UTF-8 and XML 1.0
//! characters (§2.2), names (§2.3), entity and character references (§4.1,
//! §4.6; RFC 6120 §11.1 allows only the predefined entities), attribute
//! value normalization (§3.3.3), line-end normalization (§2.11), matching
//! end tags, and namespace well-formedness (XML Namespaces 1.0 §3, §5, §6),
//! plus RFC 6120 §4.8.5's ban on prefixes for the content namespace.

use super::chars::{
    find_illegal_char, is_name_char, is_name_start_char, is_space, is_xml_char, value_needs_work,
};
use super::element::{Attr, Element, NO_NS, Node, Span, TEXT, span};
use super::{Error, Limit, Limits, Scope};
use crate::ns;

/// Buffers reused from one element to the next.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    raw_attrs: Vec<RawAttr>,
    bindings: Vec<Binding>,
    open: Vec<Open>,
}

#[derive(Debug, Clone, Copy)]
struct RawAttr {
    /// Qualified name, a range of the source.
    qname: (u32, u32),
    /// Colon position within the qname, if prefixed.
    colon: Option<u32>,
    /// The decoded value in the element's buffer.
    value: Span,
}

/// A namespace declaration in the element being parsed (those of the
/// stream header are looked up in the [`Scope`] instead).
#[derive(Debug, Clone, Copy)]
struct Binding {
    /// The prefix as a source range; `None` for the default namespace.
    prefix: Option<(u32, u32)>,
    /// Index into the element's namespace table, or [`NO_NS`].
    ns: u32,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    qname: (u32, u32),
    node: u32,
    bindings: u32,
}

/// Where the text of the current run is.
#[derive(Debug, Clone, Copy)]
enum TextRun {
    None,
    /// One source range that needs no decoding.
    Raw(Span),
    /// Decoded text appended to the buffer from this offset on.
    Appended(usize),
}

/// Size hints from the framer, so that the buffers are allocated once.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hints {
    pub(crate) elements: usize,
    pub(crate) attributes: usize,
}

/// What [`parse`] returns for a stream header: the root start tag alone.
pub(crate) struct Header {
    pub(crate) element: Element,
    /// The qualified name, to match `</stream:stream>` against.
    pub(crate) qname: String,
    /// The element's prefix (`""` for none).
    pub(crate) prefix: String,
    /// Namespace declarations on the tag: (prefix or `""`, namespace).
    pub(crate) declarations: Vec<(String, String)>,
}

/// Parses one complete element (`src` runs from its `<` to its last `>`).
pub(crate) fn parse_element(
    src: &[u8],
    scope: &Scope,
    limits: &Limits,
    hints: Hints,
    scratch: &mut Scratch,
) -> Result<Element, Error> {
    let mut p = Parser::new(src, scope, limits, hints, scratch)?;
    p.run(false)?;
    Ok(p.finish())
}

/// Parses a stream header's start tag (`src` runs from `<` to `>`).
pub(crate) fn parse_header(src: &[u8], limits: &Limits) -> Result<Header, Error> {
    let scope = Scope::default();
    let mut scratch = Scratch::default();
    let mut p = Parser::new(src, &scope, limits, Hints::default(), &mut scratch)?;
    p.run(true)?;
    let end = src[1..]
        .iter()
        .position(|&b| is_space(b) || b == b'/' || b == b'>')
        .map_or(src.len(), |i| i + 1);
    let qname = p.text[1..end].to_owned();
    let prefix = qname
        .split_once(':')
        .map(|(p, _)| p)
        .unwrap_or("")
        .to_owned();
    let declarations = p.scratch.bindings[..]
        .iter()
        .map(|b| {
            let prefix = b.prefix.map(|r| p.src_str(r)).unwrap_or("");
            (prefix.to_owned(), p.el.ns_str(b.ns).to_owned())
        })
        .collect();
    let element = p.finish();
    Ok(Header {
        element,
        qname,
        prefix,
        declarations,
    })
}

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    scope: &'a Scope,
    limits: &'a Limits,
    el: Element,
    scratch: &'a mut Scratch,
    /// The text run being collected.
    run: TextRun,
    /// The index of the stream's default namespace once interned.
    scope_default: Option<u32>,
}

const NAME: u8 = 0;
const STOP: u8 = 1;
const COLON: u8 = 2;
const NON_ASCII: u8 = 3;
const INVALID: u8 = 4;

/// How [`Parser::qname`] treats each byte: ASCII name characters, the
/// bytes that end a name, the colon, UTF-8 bytes of non-ASCII characters
/// (checked per character afterwards), and everything else.
const NAME_BYTES: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' {
            NAME
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>' | b'=') {
            STOP
        } else if b == b':' {
            COLON
        } else if b >= 0x80 {
            NON_ASCII
        } else {
            INVALID
        };
        i += 1;
    }
    t
};

/// Longest entity name looked at when searching for the closing `;`.
const MAX_REFERENCE: usize = 64;

const fn err(what: &'static str) -> Error {
    Error::Malformed(what)
}

impl<'a> Parser<'a> {
    fn new(
        src: &'a [u8],
        scope: &'a Scope,
        limits: &'a Limits,
        hints: Hints,
        scratch: &'a mut Scratch,
    ) -> Result<Self, Error> {
        let text = std::str::from_utf8(src).map_err(|_| Error::InvalidUtf8)?;
        if let Some(c) = find_illegal_char(src) {
            return Err(Error::IllegalCharacter(c));
        }
        scratch.raw_attrs.clear();
        scratch.bindings.clear();
        scratch.open.clear();
        // The buffer starts as a copy of the source: names, and values and
        // text that need no decoding, are spans of it. Decoded strings and
        // inherited namespaces are appended; the reserve covers them unless
        // a stanza is mostly references.
        let extra =
            scope.default_ns.len() + scope.prefixes.iter().map(|(_, n)| n.len()).sum::<usize>();
        let mut buf = String::with_capacity(src.len() + src.len() / 2 + extra);
        buf.push_str(text);
        let el = Element {
            buf,
            nodes: Vec::with_capacity(hints.elements * 2 + 1),
            attrs: Vec::with_capacity(hints.attributes),
            nss: Default::default(),
            checked: true,
        };
        Ok(Parser {
            src,
            text,
            pos: 0,
            scope,
            limits,
            el,
            scratch,
            run: TextRun::None,
            scope_default: None,
        })
    }

    fn finish(self) -> Element {
        self.el
    }

    #[inline]
    fn src_str(&self, (s, e): (u32, u32)) -> &'a str {
        &self.text[s as usize..e as usize]
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    #[inline]
    fn skip_space(&mut self) -> bool {
        let start = self.pos;
        while self.pos < self.src.len() && is_space(self.src[self.pos]) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn run(&mut self, header_only: bool) -> Result<(), Error> {
        if self.peek() != Some(b'<') {
            return Err(err("expected '<'"));
        }
        loop {
            // At '<'.
            match self.src.get(self.pos + 1) {
                Some(b'/') => {
                    self.flush_text()?;
                    self.end_tag()?;
                    if self.scratch.open.is_empty() {
                        return if self.pos == self.src.len() {
                            Ok(())
                        } else {
                            Err(err("data after the end of the element"))
                        };
                    }
                }
                Some(b'!') => {
                    if self.src[self.pos..].starts_with(b"<![CDATA[") {
                        self.cdata()?;
                    } else if self.src[self.pos..].starts_with(b"<!--") {
                        return Err(Error::Comment);
                    } else {
                        return Err(Error::Doctype);
                    }
                }
                Some(b'?') => return Err(Error::ProcessingInstruction),
                _ => {
                    self.flush_text()?;
                    let empty = self.start_tag(header_only)?;
                    if header_only {
                        return if self.pos == self.src.len() {
                            Ok(())
                        } else {
                            Err(err("data after the stream header"))
                        };
                    }
                    if empty && self.scratch.open.is_empty() {
                        return if self.pos == self.src.len() {
                            Ok(())
                        } else {
                            Err(err("data after the end of the element"))
                        };
                    }
                }
            }
            self.content()?;
        }
    }

    /// Reads a qualified name at `pos`; returns its range and colon offset.
    fn qname(&mut self) -> Result<((u32, u32), Option<u32>), Error> {
        let start = self.pos;
        let bytes = self.src;
        let mut colon = None;
        let mut ascii = true;
        loop {
            // The common bytes first, in a tight loop.
            while self.pos < bytes.len() && NAME_BYTES[bytes[self.pos] as usize] == NAME {
                self.pos += 1;
            }
            let Some(&b) = bytes.get(self.pos) else { break };
            match NAME_BYTES[b as usize] {
                STOP => break,
                COLON => {
                    if colon.is_some() {
                        return Err(err("more than one colon in a name"));
                    }
                    colon = Some((self.pos - start) as u32);
                }
                NON_ASCII => ascii = false,
                _ => return Err(err("invalid character in a name")),
            }
            self.pos += 1;
        }
        let len = self.pos - start;
        if len > self.limits.max_name_bytes {
            return Err(Error::LimitExceeded(Limit::NameBytes));
        }
        if ascii {
            // Only the first byte of each part can be wrong: the table let
            // through name characters alone.
            let starts = |at: usize, end: usize| {
                at < end && (bytes[at].is_ascii_alphabetic() || bytes[at] == b'_')
            };
            let ok = match colon {
                None => starts(start, self.pos),
                Some(c) => {
                    let c = start + c as usize;
                    starts(start, c) && starts(c + 1, self.pos)
                }
            };
            if !ok {
                return Err(err("invalid name"));
            }
        } else {
            let name = &self.text[start..self.pos];
            let (prefix, local) = match colon {
                Some(c) => (&name[..c as usize], &name[c as usize + 1..]),
                None => ("", name),
            };
            let valid = |s: &str| {
                let mut cs = s.chars();
                matches!(cs.next(), Some(c) if is_name_start_char(c)) && cs.all(is_name_char)
            };
            if !valid(local) || (colon.is_some() && !valid(prefix)) {
                return Err(err("invalid name"));
            }
        }
        Ok(((start as u32, self.pos as u32), colon))
    }

    /// Parses a start tag at `pos` (which is at `<`); returns whether it
    /// was an empty-element tag.
    fn start_tag(&mut self, header_only: bool) -> Result<bool, Error> {
        self.pos += 1;
        let (qname, colon) = self.qname()?;
        let mut attr_count = 0usize;
        let raw_base = self.scratch.raw_attrs.len();
        let bind_base = self.scratch.bindings.len() as u32;
        let empty = loop {
            let spaced = self.skip_space();
            match self.peek() {
                Some(b'>') => {
                    self.pos += 1;
                    break false;
                }
                Some(b'/') => {
                    if self.src.get(self.pos + 1) != Some(&b'>') {
                        return Err(err("expected '>' after '/'"));
                    }
                    self.pos += 2;
                    break true;
                }
                None => return Err(err("unterminated start tag")),
                Some(_) if !spaced => {
                    return Err(err("attributes must be separated by whitespace"));
                }
                Some(_) => {}
            }
            attr_count += 1;
            if attr_count > self.limits.max_attributes {
                return Err(Error::LimitExceeded(Limit::Attributes));
            }
            let (aname, acolon) = self.qname()?;
            self.skip_space();
            if self.peek() != Some(b'=') {
                return Err(err("expected '=' after an attribute name"));
            }
            self.pos += 1;
            self.skip_space();
            let value = self.attr_value()?;
            let name = self.src_str(aname);
            // Namespace declarations (XML Namespaces §3).
            if name == "xmlns" || name.starts_with("xmlns:") {
                let prefix = if name == "xmlns" {
                    None
                } else {
                    Some((aname.0 + 6, aname.1))
                };
                self.declare(prefix, value, bind_base)?;
                continue;
            }
            // Two spellings of one attribute name are caught here; two
            // prefixes for one namespace after resolution below.
            for r in &self.scratch.raw_attrs[raw_base..] {
                if self.src_str(r.qname) == name {
                    return Err(Error::DuplicateAttribute(name.to_owned()));
                }
            }
            self.scratch.raw_attrs.push(RawAttr {
                qname: aname,
                colon: acolon,
                value,
            });
        };
        if self.scratch.open.len() >= self.limits.max_depth {
            return Err(Error::LimitExceeded(Limit::Depth));
        }
        // Resolve the element's name.
        let (prefix, local) = split(qname, colon);
        if prefix.is_some() && self.src_str(prefix.unwrap()) == "xmlns" {
            return Err(err("element name with the 'xmlns' prefix"));
        }
        let ns = self.resolve(prefix)?;
        if prefix.is_some() && !header_only {
            let n = self.el.ns_str(ns);
            if n == ns::CLIENT || n == ns::SERVER {
                return Err(Error::PrefixedContentNamespace);
            }
        }
        let name = self.copy_src(local);
        let node_idx = self.el.nodes.len() as u32;
        let attr_start = self.el.attrs.len() as u32;
        for i in raw_base..self.scratch.raw_attrs.len() {
            let r = self.scratch.raw_attrs[i];
            let (aprefix, alocal) = split(r.qname, r.colon);
            let (ans, prefix_span) = match aprefix {
                // Unprefixed attributes are in no namespace (§6.2).
                None => (NO_NS, Span::default()),
                Some(p) => {
                    let ns = self.resolve(Some(p))?;
                    (ns, self.copy_src(p))
                }
            };
            let name = self.copy_src(alocal);
            if ans != NO_NS {
                let dup = self.el.attrs[attr_start as usize..]
                    .iter()
                    .any(|a| a.ns == ans && self.el.str(a.name) == self.el.str(name));
                if dup {
                    return Err(Error::DuplicateAttribute(self.src_str(r.qname).to_owned()));
                }
            }
            self.el.attrs.push(Attr {
                name,
                prefix: prefix_span,
                ns: ans,
                value: r.value,
            });
        }
        self.scratch.raw_attrs.truncate(raw_base);
        self.el.nodes.push(Node {
            name,
            ns,
            attr_start,
            attr_end: self.el.attrs.len() as u32,
            end: node_idx + 1,
        });
        if header_only {
            // The header's declarations are what the caller wants.
        } else if empty {
            self.scratch.bindings.truncate(bind_base as usize);
        } else {
            self.scratch.open.push(Open {
                qname,
                node: node_idx,
                bindings: bind_base,
            });
        }
        Ok(empty)
    }

    /// Records a namespace declaration; `prefix` is `None` for `xmlns=`.
    fn declare(
        &mut self,
        prefix: Option<(u32, u32)>,
        value: Span,
        bind_base: u32,
    ) -> Result<(), Error> {
        let uri = self.el.str(value);
        let p = prefix.map(|r| self.src_str(r));
        if let Some(p) = p {
            if p == "xmlns" {
                return Err(Error::IllegalNamespaceDeclaration(
                    "the 'xmlns' prefix cannot be declared",
                ));
            }
            if p == "xml" && uri != ns::XML {
                return Err(Error::IllegalNamespaceDeclaration(
                    "'xml' bound to another namespace",
                ));
            }
            if uri.is_empty() {
                return Err(Error::IllegalNamespaceDeclaration(
                    "a prefix cannot be undeclared",
                ));
            }
        }
        if p != Some("xml") && (uri == ns::XML || uri == ns::XMLNS) {
            return Err(Error::IllegalNamespaceDeclaration(
                "reserved namespace bound to another prefix",
            ));
        }
        // The same prefix declared twice on one tag is a duplicate attribute.
        for b in &self.scratch.bindings[bind_base as usize..] {
            let same = b.prefix.map(|r| self.src_str(r)) == p;
            if same {
                return Err(Error::DuplicateAttribute(match p {
                    Some(p) => format!("xmlns:{p}"),
                    None => "xmlns".to_owned(),
                }));
            }
        }
        let ns = if uri.is_empty() {
            NO_NS
        } else {
            self.intern_span(value)
        };
        self.scratch.bindings.push(Binding { prefix, ns });
        Ok(())
    }

    fn intern(&mut self, uri: &str) -> u32 {
        self.el.intern_ns(uri)
    }

    /// Interns a namespace that is already in the element buffer (a
    /// declaration's value), without copying it again.
    fn intern_span(&mut self, value: Span) -> u32 {
        let el = &mut self.el;
        let uri = &el.buf[value.range()];
        if let Some(i) = el.nss.position(|s| &el.buf[s.range()] == uri) {
            return i as u32;
        }
        el.nss.push(value)
    }

    /// The namespace index for `prefix` (`None`: the default namespace).
    fn resolve(&mut self, prefix: Option<(u32, u32)>) -> Result<u32, Error> {
        let p = prefix.map(|r| self.src_str(r));
        if p == Some("xml") {
            return Ok(self.intern(ns::XML));
        }
        if let Some(b) = self
            .scratch
            .bindings
            .iter()
            .rev()
            .find(|b| b.prefix.map(|r| self.src_str(r)) == p)
        {
            return Ok(b.ns);
        }
        // Not declared in the element: inherited from the stream header.
        let scope = self.scope;
        match p {
            None => Ok(match self.scope_default {
                Some(i) => i,
                None => {
                    let i = self.intern(&scope.default_ns);
                    self.scope_default = Some(i);
                    i
                }
            }),
            Some(p) => match scope.prefixes.iter().find(|(sp, _)| sp == p) {
                Some((_, uri)) => Ok(self.intern(uri)),
                None => Err(Error::UnboundPrefix(p.to_owned())),
            },
        }
    }

    /// The span of a source range: the buffer begins with the source.
    #[inline]
    fn copy_src(&mut self, (s, e): (u32, u32)) -> Span {
        Span {
            start: s,
            len: e - s,
        }
    }

    /// Reads a quoted attribute value, decoding references and normalizing
    /// whitespace (XML 1.0 §3.3.3); returns its span in the element buffer.
    fn attr_value(&mut self) -> Result<Span, Error> {
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return Err(err("attribute value must be quoted")),
        };
        self.pos += 1;
        let start = self.el.buf.len();
        let from = self.pos;
        let Some(len) = memchr::memchr(quote, &self.src[from..]) else {
            return Err(err("unterminated attribute value"));
        };
        let to = from + len;
        if len > self.limits.max_text_bytes {
            return Err(Error::LimitExceeded(Limit::TextBytes));
        }
        // Most values need no decoding: screen them branch-free (tab, LF
        // and CR are the only bytes below 0x20 left after the character
        // check).
        if !value_needs_work(&self.src[from..to]) {
            self.pos = to + 1;
            return Ok(span(from, len));
        } else {
            let mut i = from;
            let mut run = from;
            while i < to {
                match self.src[i] {
                    b'<' => return Err(err("'<' in an attribute value")),
                    b'&' => {
                        self.el.buf.push_str(&self.text[run..i]);
                        i = self.reference(i, to)?;
                        run = i;
                    }
                    b'\t' | b'\n' | b'\r' => {
                        self.el.buf.push_str(&self.text[run..i]);
                        self.el.buf.push(' ');
                        // CR LF is one line end (§2.11), hence one space.
                        if self.src[i] == b'\r' && self.src.get(i + 1) == Some(&b'\n') && i + 1 < to
                        {
                            i += 1;
                        }
                        i += 1;
                        run = i;
                    }
                    _ => i += 1,
                }
            }
            self.el.buf.push_str(&self.text[run..to]);
        }
        self.pos = to + 1;
        Ok(span(start, self.el.buf.len() - start))
    }

    /// Decodes the reference at `at` (which is at `&`), appending it to the
    /// element buffer; returns the index after its `;`.
    fn reference(&mut self, at: usize, limit: usize) -> Result<usize, Error> {
        // No reference XMPP accepts is longer than `&#x10FFFF;`; an entity
        // name that long is refused either way, so look no further.
        let rest = &self.src[at + 1..limit];
        let Some(semi) = rest.iter().take(MAX_REFERENCE).position(|&b| b == b';') else {
            return Err(err("'&' not followed by a terminated reference"));
        };
        let name = &self.text[at + 1..at + 1 + semi];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ if name.starts_with('#') => {
                let n = if let Some(hex) = name.strip_prefix("#x") {
                    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(err("malformed character reference"));
                    }
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    let dec = &name[1..];
                    if dec.is_empty() || !dec.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(err("malformed character reference"));
                    }
                    dec.parse::<u32>().ok()
                };
                let n = n.unwrap_or(u32::MAX);
                match char::from_u32(n) {
                    Some(c) if is_xml_char(n) => c,
                    _ => return Err(Error::IllegalCharacter(n.min(0x7FFF_FFFF))),
                }
            }
            _ => {
                let mut cs = name.chars();
                let valid_name =
                    matches!(cs.next(), Some(c) if is_name_start_char(c)) && cs.all(is_name_char);
                return Err(if valid_name {
                    Error::UndefinedEntity(name.to_owned())
                } else {
                    err("malformed entity reference")
                });
            }
        };
        self.el.buf.push(c);
        Ok(at + 2 + semi)
    }

    /// Reads character data up to the next `<`.
    fn content(&mut self) -> Result<(), Error> {
        let from = self.pos;
        let Some(len) = memchr::memchr(b'<', &self.src[from..]) else {
            return Err(err("unterminated element"));
        };
        if len == 0 {
            return Ok(());
        }
        let to = from + len;
        let Some(first) = memchr::memchr3(b'&', b'\r', b']', &self.src[from..to]) else {
            self.pos = to;
            return self.raw_text(from, to);
        };
        self.appending();
        let mut run = from;
        let mut i = from + first;
        loop {
            match self.src[i] {
                b'&' => {
                    self.el.buf.push_str(&self.text[run..i]);
                    i = self.reference(i, to)?;
                    run = i;
                }
                b'\r' => {
                    self.el.buf.push_str(&self.text[run..i]);
                    self.el.buf.push('\n');
                    i += 1;
                    if self.src.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    run = i;
                }
                _ => {
                    if self.src[i..to].starts_with(b"]]>") {
                        return Err(err("']]>' in character data"));
                    }
                    i += 1;
                }
            }
            match memchr::memchr3(b'&', b'\r', b']', &self.src[i..to]) {
                Some(k) => i += k,
                None => break,
            }
        }
        self.el.buf.push_str(&self.text[run..to]);
        self.pos = to;
        Ok(())
    }

    /// Adds source bytes that need no decoding to the text run.
    fn raw_text(&mut self, from: usize, to: usize) -> Result<(), Error> {
        match self.run {
            TextRun::None => self.run = TextRun::Raw(span(from, to - from)),
            _ => {
                self.appending();
                self.el.buf.push_str(&self.text[from..to]);
            }
        }
        Ok(())
    }

    /// Makes the text run one that is appended to the buffer (moving a
    /// raw span there first), so that decoded text can follow it.
    fn appending(&mut self) {
        match self.run {
            TextRun::Appended(_) => {}
            TextRun::None => self.run = TextRun::Appended(self.el.buf.len()),
            TextRun::Raw(s) => {
                let start = self.el.buf.len();
                self.el.buf.extend_from_within(s.range());
                self.run = TextRun::Appended(start);
            }
        }
    }

    /// Reads a CDATA section at `pos` into the current text run.
    fn cdata(&mut self) -> Result<(), Error> {
        let from = self.pos + 9;
        let Some(len) = memchr::memmem::find(&self.src[from..], b"]]>") else {
            return Err(err("unterminated CDATA section"));
        };
        let to = from + len;
        self.pos = to + 3;
        if memchr::memchr(b'\r', &self.src[from..to]).is_none() {
            return self.raw_text(from, to);
        }
        self.appending();
        let mut run = from;
        let mut i = from;
        while let Some(k) = memchr::memchr(b'\r', &self.src[i..to]) {
            i += k;
            self.el.buf.push_str(&self.text[run..i]);
            self.el.buf.push('\n');
            i += 1;
            if self.src.get(i) == Some(&b'\n') && i < to {
                i += 1;
            }
            run = i;
        }
        self.el.buf.push_str(&self.text[run..to]);
        Ok(())
    }

    /// Ends the current text run, adding a text node if it has any text.
    fn flush_text(&mut self) -> Result<(), Error> {
        let text = match std::mem::replace(&mut self.run, TextRun::None) {
            TextRun::None => return Ok(()),
            TextRun::Raw(s) => s,
            TextRun::Appended(start) => span(start, self.el.buf.len() - start),
        };
        let len = text.len as usize;
        if len == 0 {
            return Ok(());
        }
        if len > self.limits.max_text_bytes {
            return Err(Error::LimitExceeded(Limit::TextBytes));
        }
        if self.scratch.open.is_empty() {
            return Err(err("text outside the element"));
        }
        let idx = self.el.nodes.len() as u32;
        self.el.nodes.push(Node {
            name: text,
            ns: TEXT,
            attr_start: 0,
            attr_end: 0,
            end: idx + 1,
        });
        Ok(())
    }

    fn end_tag(&mut self) -> Result<(), Error> {
        self.pos += 2;
        // Usually the end tag repeats the open name byte for byte: compare
        // instead of reading a name.
        if let Some(open) = self.scratch.open.last().copied() {
            let name = &self.src[open.qname.0 as usize..open.qname.1 as usize];
            let after = self.pos + name.len();
            if self.src[self.pos..].starts_with(name)
                && matches!(
                    self.src.get(after),
                    Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')
                )
            {
                self.pos = after;
                self.skip_space();
                if self.peek() != Some(b'>') {
                    return Err(err("expected '>' in an end tag"));
                }
                self.pos += 1;
                self.scratch.open.pop();
                self.el.nodes[open.node as usize].end = self.el.nodes.len() as u32;
                self.scratch.bindings.truncate(open.bindings as usize);
                return Ok(());
            }
        }
        let (qname, _) = self.qname()?;
        self.skip_space();
        if self.peek() != Some(b'>') {
            return Err(err("expected '>' in an end tag"));
        }
        self.pos += 1;
        let Some(open) = self.scratch.open.pop() else {
            return Err(err("end tag without a start tag"));
        };
        if self.src_str(open.qname) != self.src_str(qname) {
            return Err(Error::MismatchedTag {
                expected: self.src_str(open.qname).to_owned(),
                found: self.src_str(qname).to_owned(),
            });
        }
        self.el.nodes[open.node as usize].end = self.el.nodes.len() as u32;
        self.scratch.bindings.truncate(open.bindings as usize);
        Ok(())
    }
}

fn split(qname: (u32, u32), colon: Option<u32>) -> (Option<(u32, u32)>, (u32, u32)) {
    match colon {
        Some(c) => (Some((qname.0, qname.0 + c)), (qname.0 + c + 1, qname.1)),
        None => (None, qname),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new(ns::CLIENT).with_prefix("stream", ns::STREAM)
    }

    fn parse(s: &str) -> Result<Element, Error> {
        parse_element(
            s.as_bytes(),
            &scope(),
            &Limits::default(),
            Hints::default(),
            &mut Scratch::default(),
        )
    }

    #[test]
    fn simple_stanza() {
        let el = parse("<message to='a@b' type=\"chat\"><body>hi &amp; &#x263A; &#65;</body><x xmlns='urn:x' y='1'/></message>").unwrap();
        assert!(el.is("message", ns::CLIENT));
        assert_eq!(el.attr("type"), Some("chat"));
        assert_eq!(
            el.get_child("body", ns::CLIENT).unwrap().text(),
            "hi & \u{263A} A"
        );
        assert_eq!(el.get_child("x", "urn:x").unwrap().attr("y"), Some("1"));
    }

    #[test]
    fn namespaces_and_prefixes() {
        let el = parse("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><p:a xmlns:p='urn:p' p:b='1' c='2'><p:d/></p:a></stream:features>").unwrap();
        assert!(el.is("features", ns::STREAM));
        let a = el.get_child("a", "urn:p").unwrap();
        assert_eq!(a.attr_ns("b", "urn:p"), Some("1"));
        assert_eq!(a.attr("c"), Some("2"));
        assert!(a.has_child("d", "urn:p"));
        let el = parse("<iq xml:lang='en'><q xmlns=''/></iq>").unwrap();
        assert_eq!(el.attr_ns("lang", ns::XML), Some("en"));
        assert_eq!(el.children().next().unwrap().ns(), "");
    }

    #[test]
    fn normalization() {
        let el = parse("<a b='x\r\ny\tz\n'>l1\r\nl2\rl3<![CDATA[<&>\r\n]]></a>").unwrap();
        assert_eq!(el.attr("b"), Some("x y z "));
        assert_eq!(el.text(), "l1\nl2\nl3<&>\n");
        assert_eq!(el.nodes().count(), 1, "text and CDATA are one text node");
        let el = parse("<a b='&#x9;&#10;&#13;'/>").unwrap();
        assert_eq!(
            el.attr("b"),
            Some("\t\n\r"),
            "references survive normalization"
        );
    }

    #[test]
    fn rejections() {
        use Error::*;
        type Check = fn(&Error) -> bool;
        let cases: &[(&str, Check)] = &[
            (
                "<a>&foo;</a>",
                |e| matches!(e, UndefinedEntity(n) if n == "foo"),
            ),
            ("<a>&#1;</a>", |e| *e == IllegalCharacter(1)),
            ("<a>&#xFFFE;</a>", |e| *e == IllegalCharacter(0xFFFE)),
            ("<a>&#xD800;</a>", |e| *e == IllegalCharacter(0xD800)),
            ("<a>&#99999999999;</a>", |e| {
                matches!(e, IllegalCharacter(_))
            }),
            ("<a>\u{1}</a>", |e| *e == IllegalCharacter(1)),
            ("<a b='1' b='2'/>", |e| matches!(e, DuplicateAttribute(_))),
            ("<a xmlns:p='u' xmlns:q='u' p:b='1' q:b='2'/>", |e| {
                matches!(e, DuplicateAttribute(_))
            }),
            ("<a xmlns:p='u' xmlns:p='v'/>", |e| {
                matches!(e, DuplicateAttribute(_))
            }),
            (
                "<a p:b='1'/>",
                |e| matches!(e, UnboundPrefix(p) if p == "p"),
            ),
            ("<p:a/>", |e| matches!(e, UnboundPrefix(_))),
            ("<a xmlns:p=''/>", |e| {
                matches!(e, IllegalNamespaceDeclaration(_))
            }),
            ("<a xmlns:xml='urn:x'/>", |e| {
                matches!(e, IllegalNamespaceDeclaration(_))
            }),
            ("<a xmlns:xmlns='urn:x'/>", |e| {
                matches!(e, IllegalNamespaceDeclaration(_))
            }),
            ("<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>", |e| {
                matches!(e, IllegalNamespaceDeclaration(_))
            }),
            ("<a></b>", |e| matches!(e, MismatchedTag { .. })),
            ("<a><b></a></b>", |e| matches!(e, MismatchedTag { .. })),
            ("<c:message xmlns:c='jabber:client'/>", |e| {
                *e == PrefixedContentNamespace
            }),
            ("<a><!-- x --></a>", |e| *e == Comment),
            ("<a><?pi x?></a>", |e| *e == ProcessingInstruction),
            ("<a><!DOCTYPE x></a>", |e| *e == Doctype),
            ("<a>]]></a>", |e| matches!(e, Malformed(_))),
            ("<a b=c/>", |e| matches!(e, Malformed(_))),
            ("<a b='<'/>", |e| matches!(e, Malformed(_))),
            ("<a b='1'c='2'/>", |e| matches!(e, Malformed(_))),
            ("<1a/>", |e| matches!(e, Malformed(_))),
            ("<a:b:c/>", |e| matches!(e, Malformed(_))),
            ("<a>&amp</a>", |e| matches!(e, Malformed(_))),
            ("<a>& b</a>", |e| matches!(e, Malformed(_))),
            ("<a>&#xZZ;</a>", |e| matches!(e, Malformed(_))),
        ];
        for (input, check) in cases {
            let e = parse(input).expect_err(input);
            assert!(check(&e), "{input}: {e:?}");
        }
        let bad_utf8 = b"<a>\xC0\xAF</a>";
        assert_eq!(
            parse_element(
                bad_utf8,
                &scope(),
                &Limits::default(),
                Hints::default(),
                &mut Scratch::default()
            )
            .unwrap_err(),
            InvalidUtf8
        );
    }

    #[test]
    fn limits_in_the_parser() {
        let l = Limits {
            max_attributes: 2,
            max_name_bytes: 4,
            max_text_bytes: 3,
            max_depth: 2,
            ..Limits::default()
        };
        let p = |s: &str| {
            parse_element(
                s.as_bytes(),
                &scope(),
                &l,
                Hints::default(),
                &mut Scratch::default(),
            )
        };
        assert_eq!(
            p("<a b='1' c='2' d='3'/>").unwrap_err(),
            Error::LimitExceeded(Limit::Attributes)
        );
        assert_eq!(
            p("<abcde/>").unwrap_err(),
            Error::LimitExceeded(Limit::NameBytes)
        );
        assert_eq!(
            p("<a>abcd</a>").unwrap_err(),
            Error::LimitExceeded(Limit::TextBytes)
        );
        assert_eq!(
            p("<a><b><c/></b></a>").unwrap_err(),
            Error::LimitExceeded(Limit::Depth)
        );
        assert!(p("<a><b>abc</b></a>").is_ok());
    }
}
