//! The element tree: one stanza (or any element) in a few flat buffers.
//!
//! An [`Element`] keeps every name, namespace, attribute value and text of
//! its subtree in one `String`, and its nodes in one `Vec` in document
//! order (pre-order), each node knowing where its subtree ends. A parsed
//! stanza therefore costs four allocations however many elements it has,
//! walking it never recurses, and dropping it is flat however deep it is.
//!
//! [`ElementRef`] is a borrowed view of one element inside an [`Element`]
//! (the root or any descendant); the read accessors live there and
//! `Element` forwards them for its root.

use std::borrow::Cow;
use std::fmt;

/// Marks an element in no namespace, or an attribute without prefix.
pub(crate) const NO_NS: u32 = u32::MAX;
/// Marks a text node in [`Node::ns`].
pub(crate) const TEXT: u32 = u32::MAX - 1;

/// A byte range of [`Element::buf`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    #[inline]
    pub(crate) fn range(self) -> std::ops::Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// The namespaces of a tree: the first few inline, since a stanza rarely
/// uses more than four, so that the table costs no allocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct NsTable {
    inline: [Span; 4],
    inline_len: u8,
    spill: Vec<Span>,
}

impl NsTable {
    pub(crate) fn len(&self) -> usize {
        usize::from(self.inline_len) + self.spill.len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Span {
        if i < self.inline.len() {
            self.inline[i]
        } else {
            self.spill[i - self.inline.len()]
        }
    }

    /// Adds a namespace; returns its index.
    pub(crate) fn push(&mut self, s: Span) -> u32 {
        let i = self.len();
        if i < self.inline.len() {
            self.inline[i] = s;
            self.inline_len += 1;
        } else {
            self.spill.push(s);
        }
        i as u32
    }

    /// Points entry `i` at another namespace string.
    pub(crate) fn set(&mut self, i: usize, s: Span) {
        if i < self.inline.len() {
            self.inline[i] = s;
        } else {
            self.spill[i - self.inline.len()] = s;
        }
    }

    /// The index of the first namespace for which `f` holds.
    #[inline]
    pub(crate) fn position(&self, mut f: impl FnMut(Span) -> bool) -> Option<usize> {
        (0..self.len()).find(|&i| f(self.get(i)))
    }
}

/// An element or a text node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    /// The element's local name, or the text.
    pub(crate) name: Span,
    /// Index into [`Element::nss`], [`NO_NS`], or [`TEXT`].
    pub(crate) ns: u32,
    /// The element's attributes are `attrs[attr_start..attr_end]`.
    pub(crate) attr_start: u32,
    pub(crate) attr_end: u32,
    /// Index one past the last node of this node's subtree.
    pub(crate) end: u32,
}

/// An attribute (namespace declarations are not attributes here: they
/// are resolved while parsing and regenerated while writing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr {
    pub(crate) name: Span,
    /// The prefix the attribute was read with, a hint for the writer.
    pub(crate) prefix: Span,
    /// Index into [`Element::nss`], or [`NO_NS`] for unprefixed attributes.
    pub(crate) ns: u32,
    pub(crate) value: Span,
}

/// An owned XML element with its attributes, children and text.
///
/// Names are namespace-resolved: an element has a local name and a
/// namespace (`""` for none); prefixes and `xmlns` declarations are not
/// part of the tree, the [`Writer`](super::Writer) generates the minimal
/// declarations when it serializes.
///
/// ```
/// use xmpp_sansio::xml::Element;
///
/// let msg = Element::new("message", "jabber:client")
///     .with_attr("to", "juliet@example.com")
///     .with_attr("type", "chat")
///     .with_child(Element::new("body", "jabber:client").with_text("Wherefore art thou?"));
/// assert_eq!(msg.attr("type"), Some("chat"));
/// assert_eq!(msg.get_child("body", "jabber:client").unwrap().text(), "Wherefore art thou?");
/// ```
#[derive(Clone)]
pub struct Element {
    pub(crate) buf: String,
    pub(crate) nodes: Vec<Node>,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) nss: NsTable,
    /// Whether every name and string is known to be writable XML (true
    /// for parsed elements; the writer checks the others).
    pub(crate) checked: bool,
}

impl Element {
    /// A new element without attributes or children. `ns` may be `""`
    /// for an element in no namespace.
    ///
    /// Names and strings are checked when the element is written: an
    /// invalid name or a character XML forbids makes the
    /// [`Writer`](super::Writer) refuse it, never write broken XML.
    pub fn new(name: &str, ns: &str) -> Element {
        let mut el = Element {
            buf: String::with_capacity(name.len() + ns.len()),
            nodes: Vec::with_capacity(1),
            attrs: Vec::new(),
            nss: NsTable::default(),
            checked: false,
        };
        let name = el.push_str(name);
        let ns = el.intern_ns(ns);
        el.nodes.push(Node {
            name,
            ns,
            attr_start: 0,
            attr_end: 0,
            end: 1,
        });
        el
    }

    /// The root as a borrowed view.
    #[inline]
    pub fn as_ref(&self) -> ElementRef<'_> {
        ElementRef { el: self, idx: 0 }
    }

    /// The local name of the root element.
    pub fn name(&self) -> &str {
        self.as_ref().name()
    }
    /// The namespace of the root element (`""` for none).
    pub fn ns(&self) -> &str {
        self.as_ref().ns()
    }
    /// Whether the root element has this local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.as_ref().is(name, ns)
    }
    /// The value of the root's attribute `name` that has no namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.as_ref().attr(name)
    }
    /// The value of the root's attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, name: &str, ns: &str) -> Option<&str> {
        self.as_ref().attr_ns(name, ns)
    }
    /// The root's attributes in document order.
    pub fn attrs(&self) -> Attrs<'_> {
        self.as_ref().attrs()
    }
    /// The root's child elements in document order.
    pub fn children(&self) -> Children<'_> {
        self.as_ref().children()
    }
    /// The root's child nodes (elements and text) in document order.
    pub fn nodes(&self) -> Nodes<'_> {
        self.as_ref().nodes()
    }
    /// The first child element of the root with this name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<ElementRef<'_>> {
        self.as_ref().get_child(name, ns)
    }
    /// Whether the root has a child element with this name and namespace.
    pub fn has_child(&self, name: &str, ns: &str) -> bool {
        self.as_ref().get_child(name, ns).is_some()
    }
    /// The root's text children, concatenated.
    pub fn text(&self) -> Cow<'_, str> {
        self.as_ref().text()
    }

    /// Sets the root's attribute `name` (no namespace), replacing any value.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        self.set_attr_ns(name, "", value)
    }

    /// Sets the root's attribute `name` in namespace `ns` (`""` for none),
    /// replacing any value. `xml:lang` is `set_attr_ns("lang", ns::XML, ..)`.
    pub fn set_attr_ns(&mut self, name: &str, ns: &str, value: &str) {
        self.checked = false;
        let root = self.nodes[0];
        for i in root.attr_start..root.attr_end {
            let a = self.attrs[i as usize];
            if self.str(a.name) == name && self.ns_str(a.ns) == ns {
                let v = self.push_str(value);
                self.attrs[i as usize].value = v;
                return;
            }
        }
        let name = self.push_str(name);
        let value = self.push_str(value);
        let ns = self.intern_ns(ns);
        let at = root.attr_end as usize;
        self.attrs.insert(
            at,
            Attr {
                name,
                prefix: Span::default(),
                ns,
                value,
            },
        );
        self.nodes[0].attr_end += 1;
        for n in &mut self.nodes[1..] {
            if n.ns != TEXT {
                n.attr_start += 1;
                n.attr_end += 1;
            }
        }
    }

    /// Removes the root's attribute `name` (no namespace); returns whether
    /// it was there.
    pub fn remove_attr(&mut self, name: &str) -> bool {
        let root = self.nodes[0];
        let found = (root.attr_start..root.attr_end).find(|&i| {
            let a = self.attrs[i as usize];
            a.ns == NO_NS && self.str(a.name) == name
        });
        let Some(i) = found else { return false };
        self.attrs.remove(i as usize);
        self.nodes[0].attr_end -= 1;
        for n in &mut self.nodes[1..] {
            if n.ns != TEXT {
                n.attr_start -= 1;
                n.attr_end -= 1;
            }
        }
        true
    }

    /// Builder form of [`set_attr`](Self::set_attr).
    pub fn with_attr(mut self, name: &str, value: &str) -> Element {
        self.set_attr(name, value);
        self
    }

    /// Builder form of [`set_attr_ns`](Self::set_attr_ns).
    pub fn with_attr_ns(mut self, name: &str, ns: &str, value: &str) -> Element {
        self.set_attr_ns(name, ns, value);
        self
    }

    /// Appends `child` as the root's last child.
    pub fn push_child(&mut self, child: Element) {
        self.push_subtree(child.as_ref());
    }

    /// Appends a copy of `child` (an element of any tree) as the root's
    /// last child.
    pub fn push_child_ref(&mut self, child: ElementRef<'_>) {
        self.push_subtree(child);
    }

    /// Builder form of [`push_child`](Self::push_child).
    pub fn with_child(mut self, child: Element) -> Element {
        self.push_child(child);
        self
    }

    /// Appends text as the root's last child (merged with a text child
    /// that is already last).
    pub fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.checked = false;
        let last = self.as_ref().last_child_index();
        match last {
            Some(i) if self.nodes[i].ns == TEXT => {
                let prev = self.nodes[i].name;
                let start = self.buf.len();
                self.buf.extend_from_within(prev.range());
                self.buf.push_str(text);
                self.nodes[i].name = span(start, self.buf.len() - start);
            }
            _ => {
                let s = self.push_str(text);
                let idx = self.nodes.len() as u32;
                self.nodes.push(Node {
                    name: s,
                    ns: TEXT,
                    attr_start: 0,
                    attr_end: 0,
                    end: idx + 1,
                });
                self.nodes[0].end = idx + 1;
            }
        }
    }

    /// Builder form of [`push_text`](Self::push_text).
    pub fn with_text(mut self, text: &str) -> Element {
        self.push_text(text);
        self
    }

    /// Removes every child of the root for which `remove` returns true;
    /// returns how many were removed.
    pub fn remove_children(&mut self, mut remove: impl FnMut(ElementRef<'_>) -> bool) -> usize {
        let doomed: Vec<(u32, u32)> = self
            .children()
            .filter(|c| remove(*c))
            .map(|c| (c.idx, self.nodes[c.idx as usize].end))
            .collect();
        if doomed.is_empty() {
            return 0;
        }
        let mut out = Element {
            buf: String::with_capacity(self.buf.len()),
            nodes: Vec::with_capacity(self.nodes.len()),
            attrs: Vec::new(),
            nss: NsTable::default(),
            checked: self.checked,
        };
        // Rebuild the root and the surviving subtrees: removal is rare
        // (stripping a payload), so a copy keeps the layout simple.
        let root = self.as_ref();
        let name = out.push_str(root.name());
        let ns = out.intern_ns(root.ns());
        out.nodes.push(Node {
            name,
            ns,
            attr_start: 0,
            attr_end: 0,
            end: 1,
        });
        for a in root.attrs() {
            let name = out.push_str(a.name);
            let value = out.push_str(a.value);
            let ns = out.intern_ns(a.ns);
            out.attrs.push(Attr {
                name,
                prefix: Span::default(),
                ns,
                value,
            });
        }
        out.nodes[0].attr_end = out.attrs.len() as u32;
        for node in root.nodes() {
            match node {
                NodeRef::Element(c) if doomed.iter().any(|d| d.0 == c.idx) => {}
                NodeRef::Element(c) => out.push_subtree(c),
                NodeRef::Text(t) => out.push_text(t),
            }
        }
        out.checked = self.checked;
        let n = doomed.len();
        *self = out;
        n
    }

    /// Copies the subtree of `src` to the end of this element's nodes, as
    /// the root's last child.
    fn push_subtree(&mut self, src: ElementRef<'_>) {
        self.checked = self.checked && src.el.checked;
        let tree = src.el;
        let from = src.idx as usize;
        let to = tree.nodes[from].end as usize;
        let node_base = self.nodes.len() as u32;
        let attr_base = self.attrs.len() as u32;
        let src_attr_base = tree.nodes[from].attr_start;
        // A whole tree is copied in one block with its spans shifted; a
        // part of one string by string, so that a small child of a large
        // stanza does not drag the stanza's text along.
        let whole = from == 0;
        let buf_base = self.buf.len() as u32;
        if whole {
            self.buf.push_str(&tree.buf);
        }
        let copy = |this: &mut Element, span: Span| -> Span {
            if whole {
                Span {
                    start: span.start + buf_base,
                    len: span.len,
                }
            } else {
                this.push_str(tree.str(span))
            }
        };
        // Namespaces are per tree: map the source's indexes to ours, as
        // they are met.
        let mut ns_map: Vec<Option<u32>> = vec![None; tree.nss.len()];
        let mut map_ns = |this: &mut Element, ns: u32| -> u32 {
            if ns == NO_NS || ns == TEXT {
                return ns;
            }
            *ns_map[ns as usize].get_or_insert_with(|| this.intern_ns(tree.ns_str(ns)))
        };
        self.nodes.reserve(to - from);
        let mut max_attr = src_attr_base;
        for n in &tree.nodes[from..to] {
            let mut n = *n;
            n.name = copy(self, n.name);
            n.ns = map_ns(self, n.ns);
            if n.ns != TEXT {
                max_attr = max_attr.max(n.attr_end);
                n.attr_start = n.attr_start - src_attr_base + attr_base;
                n.attr_end = n.attr_end - src_attr_base + attr_base;
            }
            n.end = n.end - from as u32 + node_base;
            self.nodes.push(n);
        }
        for a in &tree.attrs[src_attr_base as usize..max_attr as usize] {
            let mut a = *a;
            a.name = copy(self, a.name);
            a.prefix = copy(self, a.prefix);
            a.value = copy(self, a.value);
            a.ns = map_ns(self, a.ns);
            self.attrs.push(a);
        }
        self.nodes[0].end = self.nodes.len() as u32;
    }

    /// Moves every element and attribute of this tree in namespace `from`
    /// into `to`; returns whether anything was in `from`.
    ///
    /// This is how a server hands a stanza from one stream to another
    /// whose content namespace differs (`jabber:client` to `jabber:server`
    /// or `jabber:component:accept`, RFC 6120 §4.8.3) without rebuilding
    /// it: one entry of the tree's namespace table changes, and nodes are
    /// only visited when `to` is in the tree already.
    ///
    /// ```
    /// use xmpp_sansio::{ns, xml::{Element, Writer}};
    ///
    /// let mut msg = Element::new("message", ns::CLIENT)
    ///     .with_child(Element::new("body", ns::CLIENT).with_text("hi"));
    /// assert!(msg.move_ns(ns::CLIENT, ns::SERVER));
    /// assert!(msg.is("message", ns::SERVER));
    /// assert!(msg.get_child("body", ns::SERVER).is_some());
    /// assert_eq!(
    ///     Writer::standalone().to_string(&msg).unwrap(),
    ///     "<message xmlns='jabber:server'><body>hi</body></message>"
    /// );
    /// ```
    pub fn move_ns(&mut self, from: &str, to: &str) -> bool {
        let Some(i) = self.nss.position(|s| &self.buf[s.range()] == from) else {
            return false;
        };
        if from == to {
            return true;
        }
        let (i, j) = match self.nss.position(|s| &self.buf[s.range()] == to) {
            // Both in the tree: re-point what used `from`.
            Some(j) => (i as u32, j as u32),
            None => {
                if to.is_empty() {
                    (i as u32, NO_NS)
                } else {
                    if super::chars::find_illegal_char(to.as_bytes()).is_some() {
                        // The writer then refuses the element.
                        self.checked = false;
                    }
                    let s = self.push_str(to);
                    self.nss.set(i, s);
                    return true;
                }
            }
        };
        for n in &mut self.nodes {
            if n.ns == i {
                n.ns = j;
            }
        }
        for a in &mut self.attrs {
            if a.ns == i {
                a.ns = j;
            }
        }
        true
    }

    #[inline]
    pub(crate) fn str(&self, s: Span) -> &str {
        &self.buf[s.range()]
    }

    #[inline]
    pub(crate) fn ns_str(&self, ns: u32) -> &str {
        if ns == NO_NS || ns == TEXT {
            ""
        } else {
            self.str(self.nss.get(ns as usize))
        }
    }

    pub(crate) fn push_str(&mut self, s: &str) -> Span {
        let start = self.buf.len();
        self.buf.push_str(s);
        span(start, s.len())
    }

    /// The index of `ns` in this tree's namespace table, added if new.
    pub(crate) fn intern_ns(&mut self, ns: &str) -> u32 {
        if ns.is_empty() {
            return NO_NS;
        }
        if let Some(i) = self.nss.position(|s| &self.buf[s.range()] == ns) {
            return i as u32;
        }
        let s = self.push_str(ns);
        self.nss.push(s)
    }
}

#[inline]
pub(crate) fn span(start: usize, len: usize) -> Span {
    // Elements are bounded by the reading limits or built by the host;
    // 4 GiB of text in one element is not a stanza.
    Span {
        start: u32::try_from(start).expect("element larger than 4 GiB"),
        len: u32::try_from(len).expect("element larger than 4 GiB"),
    }
}

impl PartialEq for Element {
    /// Structural equality: names, namespaces, attributes (in any order)
    /// and children; prefixes and declarations do not matter.
    fn eq(&self, other: &Element) -> bool {
        self.as_ref() == other.as_ref()
    }
}

impl Eq for Element {}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_ref(), f)
    }
}

/// A borrowed element inside an [`Element`] tree.
#[derive(Clone, Copy)]
pub struct ElementRef<'a> {
    pub(crate) el: &'a Element,
    pub(crate) idx: u32,
}

impl<'a> ElementRef<'a> {
    #[inline]
    fn node(&self) -> &'a Node {
        &self.el.nodes[self.idx as usize]
    }

    /// The local name.
    pub fn name(&self) -> &'a str {
        self.el.str(self.node().name)
    }

    /// The namespace (`""` for none).
    pub fn ns(&self) -> &'a str {
        self.el.ns_str(self.node().ns)
    }

    /// Whether this element has this local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name() == name && self.ns() == ns
    }

    /// The value of attribute `name` that has no namespace.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        let n = self.node();
        self.el.attrs[n.attr_start as usize..n.attr_end as usize]
            .iter()
            .find(|a| a.ns == NO_NS && self.el.str(a.name) == name)
            .map(|a| self.el.str(a.value))
    }

    /// The value of attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, name: &str, ns: &str) -> Option<&'a str> {
        let n = self.node();
        self.el.attrs[n.attr_start as usize..n.attr_end as usize]
            .iter()
            .find(|a| self.el.str(a.name) == name && self.el.ns_str(a.ns) == ns)
            .map(|a| self.el.str(a.value))
    }

    /// The attributes in document order.
    pub fn attrs(&self) -> Attrs<'a> {
        let n = self.node();
        Attrs {
            el: self.el,
            range: n.attr_start..n.attr_end,
        }
    }

    /// The child elements in document order.
    pub fn children(&self) -> Children<'a> {
        Children(self.nodes())
    }

    /// The child nodes (elements and text) in document order.
    pub fn nodes(&self) -> Nodes<'a> {
        Nodes {
            el: self.el,
            next: self.idx + 1,
            end: self.node().end,
        }
    }

    /// The first child element with this name and namespace.
    pub fn get_child(&self, name: &str, ns: &str) -> Option<ElementRef<'a>> {
        self.children().find(|c| c.is(name, ns))
    }

    /// Whether a child element with this name and namespace exists.
    pub fn has_child(&self, name: &str, ns: &str) -> bool {
        self.get_child(name, ns).is_some()
    }

    /// The text children, concatenated (borrowed when there is at most one).
    pub fn text(&self) -> Cow<'a, str> {
        let mut texts = self.nodes().filter_map(|n| match n {
            NodeRef::Text(t) => Some(t),
            NodeRef::Element(_) => None,
        });
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        match texts.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut s = String::with_capacity(first.len() + second.len());
                s.push_str(first);
                s.push_str(second);
                texts.for_each(|t| s.push_str(t));
                Cow::Owned(s)
            }
        }
    }

    /// An owned copy of this element and its subtree.
    pub fn to_owned(&self) -> Element {
        if self.idx == 0 {
            return self.el.clone();
        }
        let mut out = Element {
            buf: String::new(),
            nodes: Vec::new(),
            attrs: Vec::new(),
            nss: NsTable::default(),
            checked: self.el.checked,
        };
        // Appended to an empty tree, the subtree becomes its root.
        out.push_subtree(*self);
        out
    }

    fn last_child_index(&self) -> Option<usize> {
        let mut last = None;
        let mut i = self.idx + 1;
        let end = self.node().end;
        while i < end {
            last = Some(i as usize);
            i = self.el.nodes[i as usize].end;
        }
        last
    }
}

impl PartialEq for ElementRef<'_> {
    fn eq(&self, other: &ElementRef<'_>) -> bool {
        let (a, b) = (self.el, other.el);
        let (a0, b0) = (self.idx as usize, other.idx as usize);
        let (a1, b1) = (a.nodes[a0].end as usize, b.nodes[b0].end as usize);
        if a1 - a0 != b1 - b0 {
            return false;
        }
        // Same pre-order layout means same shape; compare node by node.
        for (i, j) in (a0..a1).zip(b0..b1) {
            let (x, y) = (&a.nodes[i], &b.nodes[j]);
            if (x.end as usize - i) != (y.end as usize - j) {
                return false;
            }
            match (x.ns == TEXT, y.ns == TEXT) {
                (true, true) => {
                    if a.str(x.name) != b.str(y.name) {
                        return false;
                    }
                }
                (false, false) => {
                    let (ea, eb) = (
                        ElementRef {
                            el: a,
                            idx: i as u32,
                        },
                        ElementRef {
                            el: b,
                            idx: j as u32,
                        },
                    );
                    if ea.name() != eb.name() || ea.ns() != eb.ns() {
                        return false;
                    }
                    if ea.attrs().len() != eb.attrs().len()
                        || !ea
                            .attrs()
                            .all(|at| eb.attr_ns(at.name, at.ns) == Some(at.value))
                    {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        true
    }
}

impl fmt::Debug for ElementRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        match super::Writer::standalone().write_ref(*self, &mut out) {
            Ok(()) => f.write_str(&String::from_utf8_lossy(&out)),
            Err(_) => write!(f, "<{} xmlns='{}' (unwritable)>", self.name(), self.ns()),
        }
    }
}

/// An attribute seen through [`ElementRef::attrs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The local name.
    pub name: &'a str,
    /// The namespace (`""` for an unprefixed attribute).
    pub ns: &'a str,
    /// The value, with entities decoded and whitespace normalized.
    pub value: &'a str,
}

/// Iterator over an element's attributes.
#[derive(Clone)]
pub struct Attrs<'a> {
    el: &'a Element,
    range: std::ops::Range<u32>,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        let i = self.range.next()?;
        let a = &self.el.attrs[i as usize];
        Some(Attribute {
            name: self.el.str(a.name),
            ns: self.el.ns_str(a.ns),
            value: self.el.str(a.value),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl ExactSizeIterator for Attrs<'_> {}

/// A child node: an element or a run of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NodeRef<'a> {
    /// A child element.
    Element(ElementRef<'a>),
    /// Character data (entities decoded, CDATA sections merged in).
    Text(&'a str),
}

/// Iterator over an element's child nodes.
#[derive(Clone)]
pub struct Nodes<'a> {
    el: &'a Element,
    next: u32,
    end: u32,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = NodeRef<'a>;

    fn next(&mut self) -> Option<NodeRef<'a>> {
        if self.next >= self.end {
            return None;
        }
        let idx = self.next;
        let n = &self.el.nodes[idx as usize];
        self.next = n.end;
        Some(if n.ns == TEXT {
            NodeRef::Text(self.el.str(n.name))
        } else {
            NodeRef::Element(ElementRef { el: self.el, idx })
        })
    }
}

/// Iterator over an element's child elements.
#[derive(Clone)]
pub struct Children<'a>(Nodes<'a>);

impl<'a> Iterator for Children<'a> {
    type Item = ElementRef<'a>;

    fn next(&mut self) -> Option<ElementRef<'a>> {
        loop {
            match self.0.next()? {
                NodeRef::Element(e) => return Some(e),
                NodeRef::Text(_) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Element {
        Element::new("message", "jabber:client")
            .with_attr("to", "a@b")
            .with_child(
                Element::new("body", "jabber:client")
                    .with_text("hi")
                    .with_text(" there"),
            )
            .with_child(Element::new(
                "active",
                "http://jabber.org/protocol/chatstates",
            ))
            .with_text("tail")
    }

    #[test]
    fn build_and_read() {
        let m = sample();
        assert_eq!(m.name(), "message");
        assert_eq!(m.ns(), "jabber:client");
        assert_eq!(m.attr("to"), Some("a@b"));
        assert_eq!(m.attr("from"), None);
        let body = m.get_child("body", "jabber:client").unwrap();
        assert_eq!(body.text(), "hi there");
        assert!(m.has_child("active", "http://jabber.org/protocol/chatstates"));
        assert_eq!(m.children().count(), 2);
        assert_eq!(m.nodes().count(), 3);
        assert_eq!(m.text(), "tail");
    }

    #[test]
    fn attributes_insert_replace_remove_keep_children_intact() {
        let mut m = sample();
        m.set_attr("from", "x@y/z");
        m.set_attr("to", "c@d");
        m.set_attr_ns("lang", crate::ns::XML, "en");
        assert_eq!(m.attr("from"), Some("x@y/z"));
        assert_eq!(m.attr("to"), Some("c@d"));
        assert_eq!(m.attr_ns("lang", crate::ns::XML), Some("en"));
        assert_eq!(m.attr("lang"), None);
        assert_eq!(m.attrs().len(), 3);
        let mut inner = Element::new("x", "urn:x").with_attr("a", "1");
        inner.push_child(Element::new("y", "urn:x").with_attr("b", "2"));
        m.push_child(inner);
        m.set_attr("id", "42");
        assert!(m.remove_attr("from"));
        assert!(!m.remove_attr("from"));
        let x = m.get_child("x", "urn:x").unwrap();
        assert_eq!(x.attr("a"), Some("1"));
        assert_eq!(x.get_child("y", "urn:x").unwrap().attr("b"), Some("2"));
        assert_eq!(m.attr("id"), Some("42"));
    }

    #[test]
    fn equality_is_structural() {
        let a = Element::new("a", "u")
            .with_attr("x", "1")
            .with_attr("y", "2");
        let b = Element::new("a", "u")
            .with_attr("y", "2")
            .with_attr("x", "1");
        assert_eq!(a, b);
        assert_ne!(a, Element::new("a", "u").with_attr("x", "1"));
        assert_ne!(
            a,
            Element::new("a", "v")
                .with_attr("x", "1")
                .with_attr("y", "2")
        );
        assert_eq!(sample(), sample());
        assert_ne!(sample(), sample().with_text("!"));
    }

    #[test]
    fn a_small_child_is_copied_without_the_rest() {
        let big = Element::new("iq", "jabber:client")
            .with_child(
                Element::new("query", "urn:q")
                    .with_attr("n", "1")
                    .with_child(Element::new("item", "urn:q")),
            )
            .with_child(Element::new("blob", "urn:b").with_text(&"x".repeat(100_000)));
        let query = big.get_child("query", "urn:q").unwrap().to_owned();
        assert!(query.buf.len() < 64, "{} bytes", query.buf.len());
        assert_eq!(
            query,
            Element::new("query", "urn:q")
                .with_attr("n", "1")
                .with_child(Element::new("item", "urn:q"))
        );
        let mut reply = Element::new("iq", "jabber:client");
        reply.push_child_ref(big.get_child("query", "urn:q").unwrap());
        assert!(reply.buf.len() < 128);
        assert_eq!(
            reply.get_child("query", "urn:q").unwrap().attr("n"),
            Some("1")
        );
    }

    #[test]
    fn subtree_copy_and_removal() {
        let m = sample();
        let body = m.get_child("body", "jabber:client").unwrap().to_owned();
        assert_eq!(
            body,
            Element::new("body", "jabber:client").with_text("hi there")
        );
        let mut m2 = m.clone();
        assert_eq!(m2.remove_children(|c| c.name() == "active"), 1);
        assert_eq!(m2.children().count(), 1);
        assert_eq!(m2.attr("to"), Some("a@b"));
        assert_eq!(m2.text(), "tail");
    }
}
