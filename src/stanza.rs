//! Typed views of the three stanzas (RFC 6120 §8) and stanza errors
//! (§8.3), over the [`Element`] tree.
//!
//! The views own their element and read it lazily: [`Message`],
//! [`Presence`] and [`Iq`] are thin wrappers with accessors and builders,
//! convertible to and from [`Element`] at no cost. Payloads the crate does
//! not model stay elements (see the `minidom` feature to hand them to the
//! typed parsers of the xmpp-rs family).
//!
//! ```
//! use xmpp_sansio::stanza::{DefinedCondition, Iq, IqType, Message, MessageType, StanzaError};
//! use xmpp_sansio::xml::Element;
//!
//! let msg = Message::new(MessageType::Chat).with_to("juliet@example.com").with_body("Wherefore?");
//! assert_eq!(msg.body().as_deref(), Some("Wherefore?"));
//!
//! let ping = Iq::new(IqType::Get, "p1").with_payload(Element::new("ping", "urn:xmpp:ping"));
//! let mut request = ping.into_element();
//! request.set_attr("from", "romeo@example.net/orchard");
//! let reply = StanzaError::new(DefinedCondition::ServiceUnavailable).reply_to(&request).unwrap();
//! assert_eq!(reply.attr("to"), Some("romeo@example.net/orchard"));
//! assert_eq!(reply.attr("type"), Some("error"));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::ns;
use crate::xml::{Element, ElementRef};

macro_rules! keywords {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The keyword as it appears in XML.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownKeyword;
            fn from_str(s: &str) -> Result<Self, UnknownKeyword> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownKeyword),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A keyword that is not one of the defined values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown keyword")]
pub struct UnknownKeyword;

keywords! {
    /// The `type` of a message (RFC 6121 §5.2.2).
    MessageType {
        /// One-to-one chat.
        Chat = "chat",
        /// An error (RFC 6120 §8.3).
        Error = "error",
        /// Multi-user chat.
        Groupchat = "groupchat",
        /// A headline, not expecting a reply.
        Headline = "headline",
        /// A standalone message; the default when `type` is absent.
        Normal = "normal",
    }
}

keywords! {
    /// The `type` of a presence (RFC 6121 §4.7.1); absence means available.
    PresenceType {
        /// An error (RFC 6120 §8.3).
        Error = "error",
        /// A request for the current presence (RFC 6121 §4.3).
        Probe = "probe",
        /// A subscription request (RFC 6121 §3.1).
        Subscribe = "subscribe",
        /// A subscription approval.
        Subscribed = "subscribed",
        /// No longer available.
        Unavailable = "unavailable",
        /// Unsubscribing.
        Unsubscribe = "unsubscribe",
        /// A subscription cancelled or refused.
        Unsubscribed = "unsubscribed",
    }
}

keywords! {
    /// The `<show/>` of an available presence (RFC 6121 §4.7.2.1).
    Show {
        /// Temporarily away.
        Away = "away",
        /// Free to chat.
        Chat = "chat",
        /// Do not disturb.
        Dnd = "dnd",
        /// Extended away.
        Xa = "xa",
    }
}

keywords! {
    /// The `type` of an iq (RFC 6120 §8.2.3).
    IqType {
        /// A request for information.
        Get = "get",
        /// A request to change something.
        Set = "set",
        /// A successful answer.
        Result = "result",
        /// A failed answer.
        Error = "error",
    }
}

keywords! {
    /// The `type` of a stanza error (RFC 6120 §8.3.2).
    ErrorType {
        /// Retry after providing credentials.
        Auth = "auth",
        /// Do not retry.
        Cancel = "cancel",
        /// Proceed: the condition was only a warning.
        Continue = "continue",
        /// Retry after changing the data sent.
        Modify = "modify",
        /// Retry after waiting.
        Wait = "wait",
    }
}

keywords! {
    /// The defined stanza error conditions (RFC 6120 §8.3.3).
    DefinedCondition {
        /// §8.3.3.1
        BadRequest = "bad-request",
        /// §8.3.3.2
        Conflict = "conflict",
        /// §8.3.3.3
        FeatureNotImplemented = "feature-not-implemented",
        /// §8.3.3.4
        Forbidden = "forbidden",
        /// §8.3.3.5 (the element may carry a new address)
        Gone = "gone",
        /// §8.3.3.6
        InternalServerError = "internal-server-error",
        /// §8.3.3.7
        ItemNotFound = "item-not-found",
        /// §8.3.3.8
        JidMalformed = "jid-malformed",
        /// §8.3.3.9
        NotAcceptable = "not-acceptable",
        /// §8.3.3.10
        NotAllowed = "not-allowed",
        /// §8.3.3.11
        NotAuthorized = "not-authorized",
        /// §8.3.3.12
        PolicyViolation = "policy-violation",
        /// §8.3.3.13
        RecipientUnavailable = "recipient-unavailable",
        /// §8.3.3.14 (the element may carry the new address)
        Redirect = "redirect",
        /// §8.3.3.15
        RegistrationRequired = "registration-required",
        /// §8.3.3.16
        RemoteServerNotFound = "remote-server-not-found",
        /// §8.3.3.17
        RemoteServerTimeout = "remote-server-timeout",
        /// §8.3.3.18
        ResourceConstraint = "resource-constraint",
        /// §8.3.3.19
        ServiceUnavailable = "service-unavailable",
        /// §8.3.3.20
        SubscriptionRequired = "subscription-required",
        /// §8.3.3.21
        UndefinedCondition = "undefined-condition",
        /// §8.3.3.22
        UnexpectedRequest = "unexpected-request",
    }
}

impl DefinedCondition {
    /// The error type RFC 6120 §8.3.3 recommends with this condition.
    pub fn default_type(self) -> ErrorType {
        use DefinedCondition::*;
        match self {
            BadRequest | JidMalformed | NotAcceptable | PolicyViolation | Redirect => {
                ErrorType::Modify
            }
            Forbidden | NotAuthorized | RegistrationRequired | SubscriptionRequired => {
                ErrorType::Auth
            }
            RecipientUnavailable | RemoteServerTimeout | ResourceConstraint | UnexpectedRequest => {
                ErrorType::Wait
            }
            Conflict
            | FeatureNotImplemented
            | Gone
            | InternalServerError
            | ItemNotFound
            | NotAllowed
            | RemoteServerNotFound
            | ServiceUnavailable
            | UndefinedCondition => ErrorType::Cancel,
        }
    }
}

/// A stanza error (RFC 6120 §8.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    /// What the sender should do.
    pub kind: ErrorType,
    /// The defined condition (unknown ones read as `undefined-condition`).
    pub condition: DefinedCondition,
    /// For `gone` and `redirect`, the new address (§8.3.3.5, §8.3.3.14).
    pub target: Option<String>,
    /// The entity that returned the error (`by`).
    pub by: Option<String>,
    /// Descriptive text, not for programs to interpret.
    pub text: Option<String>,
    /// An application-specific condition element (§8.3.4).
    pub application: Option<Element>,
}

impl StanzaError {
    /// An error with the condition's recommended type.
    pub fn new(condition: DefinedCondition) -> StanzaError {
        StanzaError {
            kind: condition.default_type(),
            condition,
            target: None,
            by: None,
            text: None,
            application: None,
        }
    }

    /// Adds descriptive text.
    pub fn with_text(mut self, text: &str) -> StanzaError {
        self.text = Some(text.to_owned());
        self
    }

    /// The `<error/>` element, in the content namespace `content_ns`
    /// (`jabber:client` or `jabber:server`).
    pub fn to_element(&self, content_ns: &str) -> Element {
        let mut el = Element::new("error", content_ns).with_attr("type", self.kind.as_str());
        if let Some(by) = &self.by {
            el.set_attr("by", by);
        }
        let mut cond = Element::new(self.condition.as_str(), ns::STANZAS);
        if let Some(t) = &self.target {
            cond.push_text(t);
        }
        el.push_child(cond);
        if let Some(text) = &self.text {
            el.push_child(Element::new("text", ns::STANZAS).with_text(text));
        }
        if let Some(app) = &self.application {
            el.push_child(app.clone());
        }
        el
    }

    /// Reads the `<error/>` child of an error stanza.
    pub fn from_stanza(stanza: ElementRef<'_>) -> Option<StanzaError> {
        let el = stanza
            .children()
            .find(|c| c.name() == "error" && c.ns() == stanza.ns())?;
        Some(StanzaError::from_error(el))
    }

    /// Reads an `<error/>` element itself (in a content namespace), as
    /// dialback errors carry it (XEP-0220 §2.5).
    pub fn from_error(el: ElementRef<'_>) -> StanzaError {
        let kind = el
            .attr("type")
            .and_then(|t| t.parse().ok())
            .unwrap_or(ErrorType::Cancel);
        let mut err = StanzaError::new(DefinedCondition::UndefinedCondition);
        err.kind = kind;
        err.by = el.attr("by").map(str::to_owned);
        let mut defined = false;
        for c in el.children() {
            if c.ns() == ns::STANZAS {
                if c.name() == "text" {
                    err.text = Some(c.text().into_owned());
                } else if !defined {
                    defined = true;
                    err.condition = c
                        .name()
                        .parse()
                        .unwrap_or(DefinedCondition::UndefinedCondition);
                    let t = c.text();
                    let t = t.trim();
                    err.target = (!t.is_empty()).then(|| t.to_owned());
                }
            } else if err.application.is_none() {
                err.application = Some(c.to_owned());
            }
        }
        err
    }

    /// The error reply to `stanza` (RFC 6120 §8.3.1): same name and id,
    /// `to` and `from` swapped, `type='error'`, this error added. `None`
    /// if `stanza` is itself an error (errors are never answered with
    /// errors) or an iq result.
    pub fn reply_to(&self, stanza: &Element) -> Option<Element> {
        let t = stanza.attr("type");
        if t == Some("error") || (stanza.name() == "iq" && t == Some("result")) {
            return None;
        }
        let mut reply = Element::new(stanza.name(), stanza.ns());
        if let Some(id) = stanza.attr("id") {
            reply.set_attr("id", id);
        }
        if let Some(from) = stanza.attr("from") {
            reply.set_attr("to", from);
        }
        if let Some(to) = stanza.attr("to") {
            reply.set_attr("from", to);
        }
        reply.set_attr("type", "error");
        // The original payload MAY be included (§8.3.1); an iq's request
        // helps the requester match the error, so iqs keep it.
        if stanza.name() == "iq" {
            for c in stanza.children() {
                reply.push_child_ref(c);
            }
        }
        reply.push_child(self.to_element(stanza.ns()));
        Some(reply)
    }
}

/// Whether `ns` is one of the content namespaces stanzas live in.
pub fn is_content_ns(ns: &str) -> bool {
    matches!(ns, ns::CLIENT | ns::SERVER | ns::COMPONENT_ACCEPT)
}

fn child_text<'a>(el: &'a Element, name: &str, lang: Option<&str>) -> Option<Cow<'a, str>> {
    let ns = el.ns();
    let mut first = None;
    for c in el.children().filter(|c| c.is(name, ns)) {
        match (lang, c.attr_ns("lang", ns::XML)) {
            (Some(want), Some(have)) if want.eq_ignore_ascii_case(have) => return Some(c.text()),
            (None, None) => return Some(c.text()),
            _ => first = first.or(Some(c)),
        }
    }
    first.map(|c| c.text())
}

macro_rules! view {
    ($name:ident, $tag:literal) => {
        impl $name {
            /// The stanza as an element.
            pub fn as_element(&self) -> &Element {
                &self.0
            }
            /// The stanza as an element, to send or to amend.
            pub fn into_element(self) -> Element {
                self.0
            }
            /// `to`.
            pub fn to(&self) -> Option<&str> {
                self.0.attr("to")
            }
            /// `from`.
            pub fn from(&self) -> Option<&str> {
                self.0.attr("from")
            }
            /// `id`.
            pub fn id(&self) -> Option<&str> {
                self.0.attr("id")
            }
            /// `xml:lang`.
            pub fn lang(&self) -> Option<&str> {
                self.0.attr_ns("lang", ns::XML)
            }
            /// Sets `to`.
            pub fn with_to(mut self, to: &str) -> Self {
                self.0.set_attr("to", to);
                self
            }
            /// Sets `from`.
            pub fn with_from(mut self, from: &str) -> Self {
                self.0.set_attr("from", from);
                self
            }
            /// Sets `id`.
            pub fn with_id(mut self, id: &str) -> Self {
                self.0.set_attr("id", id);
                self
            }
            /// Adds a payload element.
            pub fn with_payload(mut self, payload: Element) -> Self {
                self.0.push_child(payload);
                self
            }
            /// The stanza error, for `type='error'`.
            pub fn error(&self) -> Option<StanzaError> {
                StanzaError::from_stanza(self.0.as_ref())
            }
            /// The content namespace the stanza is in (RFC 6120 §4.8.3):
            /// `jabber:client`, `jabber:server` or
            /// `jabber:component:accept`.
            pub fn content_ns(&self) -> &str {
                self.0.ns()
            }
            /// The same stanza in another content namespace, payload and
            /// all, as a server routes it from one kind of stream to
            /// another; see [`Element::move_ns`].
            pub fn in_ns(mut self, content_ns: &str) -> Self {
                let from = self.0.ns().to_owned();
                self.0.move_ns(&from, content_ns);
                self
            }
        }

        impl TryFrom<Element> for $name {
            type Error = Element;
            /// Succeeds for this kind of stanza in a content namespace
            /// (`jabber:client`, `jabber:server`,
            /// `jabber:component:accept`); gives the element back
            /// otherwise.
            fn try_from(el: Element) -> Result<Self, Element> {
                if el.name() == $tag && is_content_ns(el.ns()) {
                    Ok($name(el))
                } else {
                    Err(el)
                }
            }
        }

        impl From<$name> for Element {
            fn from(s: $name) -> Element {
                s.0
            }
        }
    };
}

/// A `<message/>` (RFC 6121 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(Element);
view!(Message, "message");

impl Message {
    /// A message of type `kind` in `jabber:client`; see `in_ns` for the
    /// other content namespaces.
    pub fn new(kind: MessageType) -> Message {
        let mut el = Element::new("message", ns::CLIENT);
        if kind != MessageType::Normal {
            el.set_attr("type", kind.as_str());
        }
        Message(el)
    }

    /// The type (`normal` when absent or unknown, RFC 6121 §5.2.2).
    pub fn kind(&self) -> MessageType {
        self.0
            .attr("type")
            .and_then(|t| t.parse().ok())
            .unwrap_or(MessageType::Normal)
    }

    /// The body without `xml:lang`, or else the first one.
    pub fn body(&self) -> Option<Cow<'_, str>> {
        child_text(&self.0, "body", None)
    }

    /// The body in language `lang`, or else the first one.
    pub fn body_in(&self, lang: &str) -> Option<Cow<'_, str>> {
        child_text(&self.0, "body", Some(lang))
    }

    /// The subject (RFC 6121 §5.2.4).
    pub fn subject(&self) -> Option<Cow<'_, str>> {
        child_text(&self.0, "subject", None)
    }

    /// The thread id (RFC 6121 §5.2.5).
    pub fn thread(&self) -> Option<Cow<'_, str>> {
        child_text(&self.0, "thread", None)
    }

    /// Adds a body.
    pub fn with_body(mut self, body: &str) -> Message {
        let ns = self.0.ns().to_owned();
        self.0.push_child(Element::new("body", &ns).with_text(body));
        self
    }

    /// Adds a subject.
    pub fn with_subject(mut self, subject: &str) -> Message {
        let ns = self.0.ns().to_owned();
        self.0
            .push_child(Element::new("subject", &ns).with_text(subject));
        self
    }

    /// Adds a thread id.
    pub fn with_thread(mut self, thread: &str) -> Message {
        let ns = self.0.ns().to_owned();
        self.0
            .push_child(Element::new("thread", &ns).with_text(thread));
        self
    }
}

/// A `<presence/>` (RFC 6121 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence(Element);
view!(Presence, "presence");

impl Presence {
    /// An available presence.
    pub fn available() -> Presence {
        Presence(Element::new("presence", ns::CLIENT))
    }

    /// A presence of type `kind`.
    pub fn new(kind: PresenceType) -> Presence {
        Presence(Element::new("presence", ns::CLIENT).with_attr("type", kind.as_str()))
    }

    /// The type; `None` means available.
    pub fn kind(&self) -> Option<PresenceType> {
        self.0.attr("type").and_then(|t| t.parse().ok())
    }

    /// Whether this announces availability (no `type`).
    pub fn is_available(&self) -> bool {
        self.0.attr("type").is_none()
    }

    /// `<show/>`; `None` means plain available (RFC 6121 §4.7.2.1).
    pub fn show(&self) -> Option<Show> {
        child_text(&self.0, "show", None).and_then(|s| s.trim().parse().ok())
    }

    /// `<status/>`.
    pub fn status(&self) -> Option<Cow<'_, str>> {
        child_text(&self.0, "status", None)
    }

    /// `<priority/>`, 0 when absent or invalid (RFC 6121 §4.7.2.3).
    pub fn priority(&self) -> i8 {
        child_text(&self.0, "priority", None)
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Sets `<show/>`.
    pub fn with_show(mut self, show: Show) -> Presence {
        let ns = self.0.ns().to_owned();
        self.0
            .push_child(Element::new("show", &ns).with_text(show.as_str()));
        self
    }

    /// Adds a `<status/>`.
    pub fn with_status(mut self, status: &str) -> Presence {
        let ns = self.0.ns().to_owned();
        self.0
            .push_child(Element::new("status", &ns).with_text(status));
        self
    }

    /// Sets `<priority/>`.
    pub fn with_priority(mut self, priority: i8) -> Presence {
        let ns = self.0.ns().to_owned();
        self.0
            .push_child(Element::new("priority", &ns).with_text(&priority.to_string()));
        self
    }
}

/// An `<iq/>` (RFC 6120 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iq(Element);
view!(Iq, "iq");

impl Iq {
    /// An iq of type `kind` with id `id` (every iq has one, §8.2.3).
    pub fn new(kind: IqType, id: &str) -> Iq {
        Iq(Element::new("iq", ns::CLIENT)
            .with_attr("type", kind.as_str())
            .with_attr("id", id))
    }

    /// The type; `None` for a missing or unknown type (which RFC 6120
    /// §8.2.3 makes a `bad-request`).
    pub fn kind(&self) -> Option<IqType> {
        self.0.attr("type").and_then(|t| t.parse().ok())
    }

    /// The first child element: the request or result payload.
    pub fn payload(&self) -> Option<ElementRef<'_>> {
        self.0.children().next()
    }

    /// The result answering this request: same id, addresses swapped, in
    /// the request's content namespace.
    pub fn result(&self, payload: Option<Element>) -> Iq {
        let mut r = Iq(Element::new("iq", self.0.ns())
            .with_attr("type", IqType::Result.as_str())
            .with_attr("id", self.id().unwrap_or_default()));
        if let Some(from) = self.from() {
            r.0.set_attr("to", from);
        }
        if let Some(to) = self.to() {
            r.0.set_attr("from", to);
        }
        if let Some(p) = payload {
            r.0.push_child(p);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{FrameEvent, Framer, Limits, Writer};

    #[test]
    fn stanzas_in_every_content_namespace() {
        for content in [ns::CLIENT, ns::SERVER, ns::COMPONENT_ACCEPT] {
            let m = Message::new(MessageType::Chat)
                .in_ns(content)
                .with_body("hi")
                .with_thread("t");
            assert_eq!(m.content_ns(), content);
            assert_eq!(m.body().as_deref(), Some("hi"));
            assert!(m.as_element().get_child("thread", content).is_some());
            let el: Element = m.clone().into();
            assert_eq!(Message::try_from(el).unwrap(), m);
            let p = Presence::available().in_ns(content).with_priority(5);
            assert_eq!(p.priority(), 5);
            let iq = Iq::new(IqType::Get, "q").in_ns(content).with_from("a@b/c");
            let r = iq.result(None);
            assert_eq!(r.content_ns(), content);
            assert_eq!(r.as_element().attr("to"), Some("a@b/c"));
            let e = StanzaError::new(DefinedCondition::ItemNotFound)
                .reply_to(iq.as_element())
                .unwrap();
            assert_eq!(e.ns(), content);
            assert!(e.get_child("error", content).is_some());
        }
        assert!(Message::try_from(Element::new("message", "urn:other")).is_err());
    }

    #[test]
    fn a_read_stanza_moves_to_another_stream_without_rebuilding() {
        // As a server reads it from a client, with a payload in another
        // namespace and a namespaced attribute...
        let wire = b"<stream:stream xmlns='jabber:client' \
            xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\
            <message to='romeo@example.net' xml:lang='en'><body>hi</body>\
            <x xmlns='urn:x' xmlns:c='jabber:client' c:a='1'><y/></x></message>";
        let mut framer = Framer::new(Limits::default());
        let mut input = &wire[..];
        let mut read = None;
        while let Some(ev) = framer.next_event(&mut input).unwrap() {
            if let FrameEvent::Element(el) = ev {
                read = Some(el);
            }
        }
        let mut el = read.unwrap();
        // ... and as it writes it to a server-to-server stream.
        assert!(el.move_ns(ns::CLIENT, ns::SERVER));
        let m = Message::try_from(el).unwrap();
        assert_eq!(m.content_ns(), ns::SERVER);
        assert_eq!(m.body().as_deref(), Some("hi"));
        let x = m.as_element().get_child("x", "urn:x").unwrap();
        assert_eq!(x.attr_ns("a", ns::SERVER), Some("1"));
        let s2s = Writer::new(crate::xml::Scope::new(ns::SERVER));
        assert_eq!(
            s2s.to_string(m.as_element()).unwrap(),
            "<message to='romeo@example.net' xml:lang='en'><body>hi</body>\
             <x xmlns='urn:x' xmlns:c='jabber:server' c:a='1'><y/></x></message>"
        );
        // Back again, and into a namespace the tree already uses.
        let mut el: Element = m.into();
        assert!(el.move_ns(ns::SERVER, "urn:x"));
        assert!(el.is("message", "urn:x"));
        assert!(!el.move_ns(ns::CLIENT, ns::SERVER));
    }

    #[test]
    fn message_view() {
        let m = Message::new(MessageType::Chat)
            .with_to("juliet@example.com")
            .with_id("m1")
            .with_body("hi")
            .with_subject("s")
            .with_thread("t");
        assert_eq!(m.kind(), MessageType::Chat);
        assert_eq!(m.body().as_deref(), Some("hi"));
        assert_eq!(m.subject().as_deref(), Some("s"));
        assert_eq!(m.thread().as_deref(), Some("t"));
        let el: Element = m.clone().into();
        assert_eq!(Message::try_from(el).unwrap(), m);
        assert!(Message::try_from(Element::new("presence", ns::CLIENT)).is_err());
        assert_eq!(
            Message::new(MessageType::Normal).as_element().attr("type"),
            None
        );
        let multi = Element::new("message", ns::CLIENT)
            .with_child(
                Element::new("body", ns::CLIENT)
                    .with_attr_ns("lang", ns::XML, "de")
                    .with_text("Hallo"),
            )
            .with_child(Element::new("body", ns::CLIENT).with_text("Hello"));
        let m = Message::try_from(multi).unwrap();
        assert_eq!(m.body().as_deref(), Some("Hello"));
        assert_eq!(m.body_in("DE").as_deref(), Some("Hallo"));
        assert_eq!(m.kind(), MessageType::Normal);
    }

    #[test]
    fn presence_view() {
        let p = Presence::available()
            .with_show(Show::Dnd)
            .with_status("busy")
            .with_priority(-1);
        assert!(p.is_available());
        assert_eq!(p.show(), Some(Show::Dnd));
        assert_eq!(p.status().as_deref(), Some("busy"));
        assert_eq!(p.priority(), -1);
        let s = Presence::new(PresenceType::Subscribe);
        assert_eq!(s.kind(), Some(PresenceType::Subscribe));
        assert!(!s.is_available());
        assert_eq!(s.priority(), 0);
    }

    #[test]
    fn iq_and_errors() {
        let iq = Iq::new(IqType::Get, "v1")
            .with_from("romeo@example.net/orchard")
            .with_to("example.net")
            .with_payload(Element::new("query", "jabber:iq:version"));
        assert_eq!(iq.kind(), Some(IqType::Get));
        assert!(iq.payload().unwrap().is("query", "jabber:iq:version"));
        let r = iq.result(None);
        assert_eq!(
            (r.to(), r.from(), r.id()),
            (
                Some("romeo@example.net/orchard"),
                Some("example.net"),
                Some("v1")
            )
        );
        // RFC 6120 §8.3.2 example: an error reply carries the request.
        let err = StanzaError::new(DefinedCondition::ServiceUnavailable);
        assert_eq!(err.kind, ErrorType::Cancel);
        let reply = err.reply_to(iq.as_element()).unwrap();
        assert_eq!(reply.attr("type"), Some("error"));
        assert!(reply.has_child("query", "jabber:iq:version"));
        let back = Iq::try_from(reply).unwrap().error().unwrap();
        assert_eq!(back, err);
        // Never answer an error with an error (§8.3.1), nor a result.
        let e = Element::new("message", ns::CLIENT).with_attr("type", "error");
        assert_eq!(err.reply_to(&e), None);
        assert_eq!(err.reply_to(r.as_element()), None);
        // Redirect carries its target; unknown conditions are undefined.
        let mut redirect = StanzaError::new(DefinedCondition::Redirect);
        redirect.target = Some("xmpp:characters@conference.example.org".into());
        redirect.by = Some("example.org".into());
        redirect.text = Some("moved".into());
        let m = Element::new("message", ns::CLIENT).with_child(redirect.to_element(ns::CLIENT));
        assert_eq!(StanzaError::from_stanza(m.as_ref()), Some(redirect));
        let odd = Element::new("iq", ns::CLIENT).with_child(
            Element::new("error", ns::CLIENT)
                .with_attr("type", "wait")
                .with_child(Element::new("brand-new", ns::STANZAS))
                .with_child(Element::new("special", "urn:app")),
        );
        let e = StanzaError::from_stanza(odd.as_ref()).unwrap();
        assert_eq!(
            (e.kind, e.condition),
            (ErrorType::Wait, DefinedCondition::UndefinedCondition)
        );
        assert!(e.application.unwrap().is("special", "urn:app"));
        for c in [
            "bad-request",
            "gone",
            "unexpected-request",
            "subscription-required",
        ] {
            assert_eq!(c.parse::<DefinedCondition>().unwrap().as_str(), c);
        }
    }
}
