//! Serializes elements as XMPP's restricted XML.
//!
//! The writer never produces invalid XML: element and attribute names
//! must be XML names, text and values must consist of XML characters
//! (XML 1.0 §2.2), and a name or string that breaks these rules makes it
//! return [`WriteError`] without writing anything. Elements parsed from a
//! stream are known to be valid and skip the checks.
//!
//! Namespaces are declared minimally: an element in the namespace that is
//! already the default gets no declaration, an element in a namespace the
//! stream header bound to a prefix (such as `stream:` or `db:`) uses that
//! prefix, and any other element redeclares the default namespace
//! (RFC 6120 §4.8.5 forbids prefixes for the content namespace). Namespaced
//! attributes reuse a prefix in scope or declare one on their element.

use std::borrow::Cow;

use super::Scope;
use super::chars::{find_illegal_char, is_ncname};
use super::element::{Element, ElementRef, NO_NS, TEXT};
use crate::ns;

/// Why an element could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An element or attribute name that is not an XML NCName.
    #[error("'{0}' is not a valid XML name")]
    InvalidName(String),
    /// A character XML 1.0 §2.2 does not allow, in text, a value or a
    /// namespace name.
    #[error("character U+{0:04X} cannot be written in XML")]
    IllegalCharacter(u32),
    /// An element or attribute in the reserved `xmlns` namespace, or an
    /// attribute named `xmlns` (which would read back as a declaration).
    #[error("the xmlns namespace and attribute name are reserved")]
    ReservedName,
}

/// Serializes elements in the namespace context of a stream.
///
/// ```
/// use xmpp_sansio::xml::{Element, Scope, Writer};
///
/// let stream = Writer::new(Scope::new("jabber:client").with_prefix("stream", "http://etherx.jabber.org/streams"));
/// let msg = Element::new("message", "jabber:client")
///     .with_attr("to", "juliet@example.com")
///     .with_child(Element::new("body", "jabber:client").with_text("1 < 2 & 'quotes'"))
///     .with_child(Element::new("active", "http://jabber.org/protocol/chatstates"));
/// let mut out = Vec::new();
/// stream.write(&msg, &mut out).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "<message to='juliet@example.com'><body>1 &lt; 2 &amp; 'quotes'</body>\
///      <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct Writer {
    scope: Scope,
    standalone: bool,
    /// Declare the scope's prefixes on the elements that use them.
    declare_prefixes: bool,
}

#[derive(Clone, Copy, Default)]
struct OpenTag<'a> {
    end: u32,
    prefix: Option<&'a str>,
    name: &'a str,
    default_ns: &'a str,
    bindings: usize,
}

impl Writer {
    /// A writer for elements that stand alone: the root always declares
    /// its namespace (`xmlns=''` for none), so the output means the same
    /// wherever it is embedded.
    pub fn standalone() -> Writer {
        Writer {
            scope: Scope::default(),
            standalone: true,
            declare_prefixes: false,
        }
    }

    /// A writer for elements that stand alone but use the prefixes of
    /// `scope`, declaring each on the element where it is first used: the
    /// root declares its namespace, stream elements come out as
    /// `<stream:features xmlns:stream='...'>`. That is what each message
    /// of XMPP over WebSocket must be (RFC 7395 §3.3.3).
    pub fn declaring(scope: Scope) -> Writer {
        Writer {
            scope,
            standalone: true,
            declare_prefixes: true,
        }
    }

    /// A writer for top-level elements of a stream whose header declared
    /// `scope` (see [`StreamHeader::scope`](crate::stream::StreamHeader::scope)).
    pub fn new(scope: Scope) -> Writer {
        Writer {
            scope,
            standalone: false,
            declare_prefixes: false,
        }
    }

    /// The namespace context elements are written in.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Appends `el` to `out`. On error `out` is left as it was.
    pub fn write(&self, el: &Element, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.write_ref(el.as_ref(), out)
    }

    /// Appends the element `el` (and its subtree) to `out`. On error `out`
    /// is left as it was.
    pub fn write_ref(&self, el: ElementRef<'_>, out: &mut Vec<u8>) -> Result<(), WriteError> {
        if !el.el.checked {
            check(el)?;
        }
        let tree = el.el;
        let first = el.idx;
        let last = tree.nodes[first as usize].end;
        // Prefixes declared inside this element; the stream's are looked up
        // in the scope. Usually empty, so writing allocates nothing here.
        let mut bindings: Vec<(Cow<'_, str>, &str)> = Vec::new();
        // A standalone root must declare its namespace whatever it is:
        // start from a default that no namespace equals (NUL is not an
        // XML character).
        let mut default_ns: &str = if self.standalone {
            "\0"
        } else {
            &self.scope.default_ns
        };
        let mut stack = TagStack::default();
        let mut generated = 0usize;
        out.reserve(tree.buf.len() + 16 * (last - first) as usize);
        for i in first..last {
            while let Some(top) = stack.last() {
                if top.end > i {
                    break;
                }
                let top = stack.pop().expect("checked above");
                close_tag(out, top.prefix, top.name);
                default_ns = top.default_ns;
                bindings.truncate(top.bindings);
            }
            let node = &tree.nodes[i as usize];
            if node.ns == TEXT {
                escape(out, tree.str(node.name).as_bytes(), false);
                continue;
            }
            let name = tree.str(node.name);
            let ns_name = tree.ns_str(node.ns);
            let saved_default = default_ns;
            let saved_bindings = bindings.len();
            let mut declare_default = false;
            let mut declare_prefix = false;
            let prefix: Option<&str> = if ns_name == default_ns {
                None
            } else if let Some(p) = self.stream_prefix(ns_name) {
                declare_prefix =
                    self.declare_prefixes && !bindings.iter().any(|(b, n)| b == p && *n == ns_name);
                Some(p)
            } else {
                declare_default = true;
                default_ns = ns_name;
                None
            };
            out.push(b'<');
            if let Some(p) = prefix {
                out.extend_from_slice(p.as_bytes());
                out.push(b':');
            }
            out.extend_from_slice(name.as_bytes());
            if declare_default {
                out.extend_from_slice(b" xmlns='");
                escape(out, ns_name.as_bytes(), true);
                out.push(b'\'');
            }
            if let (true, Some(p)) = (declare_prefix, prefix) {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(p.as_bytes());
                out.extend_from_slice(b"='");
                escape(out, ns_name.as_bytes(), true);
                out.push(b'\'');
                bindings.push((Cow::Borrowed(p), ns_name));
            }
            for a in &tree.attrs[node.attr_start as usize..node.attr_end as usize] {
                out.push(b' ');
                if a.ns != NO_NS {
                    let a_ns = tree.ns_str(a.ns);
                    let p: Cow<'_, str> = if a_ns == ns::XML {
                        Cow::Borrowed("xml")
                    } else if let Some(p) = prefix_for(&bindings, &self.scope, a_ns) {
                        Cow::Owned(p.to_owned())
                    } else {
                        // Declare a prefix on this element: the hint it
                        // was read with if free, else a fresh one.
                        let hint = tree.str(a.prefix);
                        let free = |p: &str| {
                            is_ncname(p)
                                && !p.starts_with("xml")
                                && !bindings.iter().any(|(b, _)| b == p)
                                && self.scope.resolve(p).is_none()
                        };
                        let p: Cow<'_, str> = if free(hint) {
                            Cow::Borrowed(hint)
                        } else {
                            loop {
                                generated += 1;
                                let candidate = format!("ns{generated}");
                                if free(&candidate) {
                                    break Cow::Owned(candidate);
                                }
                            }
                        };
                        out.extend_from_slice(b"xmlns:");
                        out.extend_from_slice(p.as_bytes());
                        out.extend_from_slice(b"='");
                        escape(out, a_ns.as_bytes(), true);
                        out.extend_from_slice(b"' ");
                        bindings.push((p.clone(), a_ns));
                        p
                    };
                    out.extend_from_slice(p.as_bytes());
                    out.push(b':');
                }
                out.extend_from_slice(tree.str(a.name).as_bytes());
                out.extend_from_slice(b"='");
                escape(out, tree.str(a.value).as_bytes(), true);
                out.push(b'\'');
            }
            if node.end == i + 1 {
                out.extend_from_slice(b"/>");
                default_ns = saved_default;
                bindings.truncate(saved_bindings);
            } else {
                out.push(b'>');
                stack.push(OpenTag {
                    end: node.end,
                    prefix,
                    name,
                    default_ns: saved_default,
                    bindings: saved_bindings,
                });
            }
        }
        while let Some(top) = stack.pop() {
            close_tag(out, top.prefix, top.name);
        }
        Ok(())
    }

    /// The prefix the stream header bound to `ns`, for elements: stream
    /// elements are written `stream:features`, dialback `db:result`.
    /// Elements never take prefixes declared inside a stanza, and never
    /// one for the content namespace (RFC 6120 §4.8.5).
    fn stream_prefix(&self, ns: &str) -> Option<&str> {
        if ns == ns::CLIENT || ns == ns::SERVER {
            return None;
        }
        self.scope
            .prefixes
            .iter()
            .rev()
            .find(|(_, n)| n == ns)
            .map(|(p, _)| p.as_ref())
    }

    /// The element as a string of XML.
    pub fn to_string(&self, el: &Element) -> Result<String, WriteError> {
        let mut out = Vec::new();
        self.write(el, &mut out)?;
        Ok(String::from_utf8(out).expect("the writer emits UTF-8"))
    }
}

/// The prefix bound to `ns`: the latest local binding whose prefix was not
/// rebound since, else one of the stream's (locally declared prefixes are
/// always fresh, so they never shadow the stream's).
fn prefix_for<'b>(
    bindings: &'b [(Cow<'_, str>, &str)],
    scope: &'b Scope,
    ns: &str,
) -> Option<&'b str> {
    for (k, (p, n)) in bindings.iter().enumerate().rev() {
        if *n == ns && !bindings[k + 1..].iter().any(|(q, _)| q == p) {
            return Some(p.as_ref());
        }
    }
    scope
        .prefixes
        .iter()
        .rev()
        .find(|(_, n)| n == ns)
        .map(|(p, _)| p.as_ref())
}

/// The open elements while writing: inline up to a depth that covers
/// real stanzas, so that writing one allocates nothing for it.
#[derive(Default)]
struct TagStack<'a> {
    inline: [OpenTag<'a>; 16],
    len: usize,
    spill: Vec<OpenTag<'a>>,
}

impl<'a> TagStack<'a> {
    fn push(&mut self, t: OpenTag<'a>) {
        if self.len < self.inline.len() {
            self.inline[self.len] = t;
            self.len += 1;
        } else {
            self.spill.push(t);
        }
    }

    fn last(&self) -> Option<&OpenTag<'a>> {
        self.spill
            .last()
            .or_else(|| self.len.checked_sub(1).map(|i| &self.inline[i]))
    }

    fn pop(&mut self) -> Option<OpenTag<'a>> {
        if let Some(t) = self.spill.pop() {
            return Some(t);
        }
        self.len = self.len.checked_sub(1)?;
        Some(self.inline[self.len])
    }
}

fn close_tag(out: &mut Vec<u8>, prefix: Option<&str>, name: &str) {
    out.extend_from_slice(b"</");
    if let Some(p) = prefix {
        out.extend_from_slice(p.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}

/// Which bytes need escaping: 1 in text and attribute values, 2 in
/// attribute values only.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'&' as usize] = 1;
    t[b'<' as usize] = 1;
    t[b'>' as usize] = 1;
    t[b'\r' as usize] = 1;
    t[b'\'' as usize] = 2;
    t[b'\t' as usize] = 2;
    t[b'\n' as usize] = 2;
    t
};

/// Appends `s` escaped for text or for a single-quoted attribute value.
/// `>` is always escaped (so `]]>` cannot appear), CR always (so that
/// line-end normalization does not eat it), and in attribute values tab
/// and LF too (so that attribute-value normalization keeps them).
pub(crate) fn escape(out: &mut Vec<u8>, s: &[u8], attr: bool) {
    let level = if attr { 2 } else { 1 };
    let mut run = 0;
    for (i, &b) in s.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 || e > level {
            continue;
        }
        out.extend_from_slice(&s[run..i]);
        out.extend_from_slice(match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\'' => b"&apos;",
            b'\r' => b"&#xD;",
            b'\t' => b"&#x9;",
            _ => b"&#xA;",
        });
        run = i + 1;
    }
    out.extend_from_slice(&s[run..]);
}

/// Checks that everything in the subtree of `el` can be written as XML.
fn check(el: ElementRef<'_>) -> Result<(), WriteError> {
    let tree = el.el;
    let chars = |s: &str| match find_illegal_char(s.as_bytes()) {
        Some(c) => Err(WriteError::IllegalCharacter(c)),
        None => Ok(()),
    };
    let name = |s: &str| {
        if is_ncname(s) {
            Ok(())
        } else {
            Err(WriteError::InvalidName(s.chars().take(64).collect()))
        }
    };
    for i in el.idx..tree.nodes[el.idx as usize].end {
        let node = &tree.nodes[i as usize];
        if node.ns == TEXT {
            chars(tree.str(node.name))?;
            continue;
        }
        name(tree.str(node.name))?;
        let ns_name = tree.ns_str(node.ns);
        chars(ns_name)?;
        if ns_name == ns::XMLNS {
            return Err(WriteError::ReservedName);
        }
        for a in &tree.attrs[node.attr_start as usize..node.attr_end as usize] {
            let a_name = tree.str(a.name);
            name(a_name)?;
            chars(tree.str(a.value))?;
            let a_ns = tree.ns_str(a.ns);
            chars(a_ns)?;
            if a_ns == ns::XMLNS || (a.ns == NO_NS && a_name == "xmlns") {
                return Err(WriteError::ReservedName);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Writer {
        Writer::new(Scope::new(ns::CLIENT).with_prefix("stream", ns::STREAM))
    }

    #[test]
    fn minimal_declarations() {
        let el = Element::new("features", ns::STREAM)
            .with_child(Element::new("bind", ns::BIND))
            .with_child(Element::new("x", "").with_attr("a", "1"));
        assert_eq!(
            stream().to_string(&el).unwrap(),
            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><x xmlns='' a='1'/></stream:features>"
        );
        assert_eq!(
            Writer::standalone()
                .to_string(&Element::new("message", ns::CLIENT))
                .unwrap(),
            "<message xmlns='jabber:client'/>"
        );
    }

    #[test]
    fn namespaced_attributes() {
        let el = Element::new("a", "urn:a")
            .with_attr_ns("lang", ns::XML, "en")
            .with_attr_ns("b", "urn:b", "1")
            .with_attr_ns("c", "urn:c", "2");
        let s = Writer::standalone().to_string(&el).unwrap();
        assert_eq!(
            s,
            "<a xmlns='urn:a' xml:lang='en' xmlns:ns1='urn:b' ns1:b='1' xmlns:ns2='urn:c' ns2:c='2'/>"
        );
    }

    #[test]
    fn deep_trees_and_stream_prefixes() {
        // Deeper than the inline part of the open-tag stack.
        let mut el = Element::new("leaf", "urn:d").with_text("x");
        for i in 0..40 {
            el = Element::new(&format!("n{i}"), if i % 2 == 0 { "urn:d" } else { "urn:e" })
                .with_child(el);
        }
        let s = Writer::standalone().to_string(&el).unwrap();
        assert_eq!(s.matches("</n").count(), 40);
        assert!(s.ends_with("</n39>"));
        // Stream prefixes are used for elements and attributes alike, and a
        // generated prefix never takes one of their names.
        let w = Writer::new(
            Scope::new(ns::SERVER)
                .with_prefix("stream", ns::STREAM)
                .with_prefix("db", ns::DIALBACK),
        );
        let el = Element::new("result", ns::DIALBACK)
            .with_attr_ns("x", ns::DIALBACK, "1")
            .with_child(Element::new("features", ns::STREAM))
            .with_child(Element::new("a", "urn:a").with_attr_ns("y", "urn:y", "2"));
        assert_eq!(
            w.to_string(&el).unwrap(),
            "<db:result db:x='1'><stream:features/><a xmlns='urn:a' xmlns:ns1='urn:y' ns1:y='2'/></db:result>"
        );
    }

    #[test]
    fn escaping() {
        let el = Element::new("a", "u")
            .with_attr("v", "'\"<>&\t\n\r")
            .with_text("<]]>&\r'\"");
        assert_eq!(
            Writer::standalone().to_string(&el).unwrap(),
            "<a xmlns='u' v='&apos;\"&lt;&gt;&amp;&#x9;&#xA;&#xD;'>&lt;]]&gt;&amp;&#xD;'\"</a>"
        );
    }

    #[test]
    fn refuses_what_xml_cannot_carry() {
        let w = Writer::standalone();
        let mut out = b"keep".to_vec();
        assert_eq!(
            w.write(&Element::new("a b", "u"), &mut out),
            Err(WriteError::InvalidName("a b".into()))
        );
        assert_eq!(
            w.write(&Element::new("a", "u").with_text("\u{0}"), &mut out),
            Err(WriteError::IllegalCharacter(0))
        );
        assert_eq!(
            w.write(&Element::new("a", "u").with_attr("x", "\u{FFFF}"), &mut out),
            Err(WriteError::IllegalCharacter(0xFFFF))
        );
        assert_eq!(
            w.write(&Element::new("a", "u").with_attr("xmlns", "v"), &mut out),
            Err(WriteError::ReservedName)
        );
        assert_eq!(
            w.write(&Element::new("a", "u").with_attr("1x", "v"), &mut out),
            Err(WriteError::InvalidName("1x".into()))
        );
        assert_eq!(
            w.write(&Element::new("", "u"), &mut out),
            Err(WriteError::InvalidName("".into()))
        );
        assert_eq!(out, b"keep");
    }
}
