//! Resource binding (RFC 6120 §7) and the legacy session (RFC 6121
//! Appendix E), both sides. On the receiving side the host decides which
//! resource is bound ([`Request::Bind`]), since only it knows the other
//! sessions of the account.

use jid::{BareJid, FullJid};

use super::{Cx, Progress, Rules, Stage};
use crate::ns;
use crate::stanza::{DefinedCondition, StanzaError};
use crate::stream::features::Features;
use crate::stream::{Condition, Error, Request, StreamError, Token};
use crate::xml::Element;

/// Binding follows authentication, once.
pub(crate) const RULES: Rules = Rules {
    needs: Stage::AUTHENTICATED,
    forbids: Stage::BOUND,
    grants: Stage::BOUND,
    restarts: false,
};

/// The legacy session follows binding; it grants nothing.
pub(crate) const SESSION_RULES: Rules = Rules {
    needs: Stage::BOUND,
    forbids: Stage::NONE,
    grants: Stage::NONE,
    restarts: false,
};

/// What the initiator waits for.
#[derive(Debug)]
enum Waiting {
    Nothing,
    Bind(String),
    Session(String),
}

/// The initiating side.
#[derive(Debug)]
pub(crate) struct Initiator {
    waiting: Waiting,
    /// The bound full JID, once the server said.
    pub(crate) jid: Option<FullJid>,
    /// Whether the server requires the legacy session (not `<optional/>`).
    pub(crate) session_required: bool,
}

impl Default for Initiator {
    fn default() -> Self {
        Initiator {
            waiting: Waiting::Nothing,
            jid: None,
            session_required: false,
        }
    }
}

impl Initiator {
    pub(crate) fn offered(f: &Features) -> bool {
        f.bind
    }

    /// Asks for `resource` (or for one the server picks) with iq `id`.
    pub(crate) fn start(
        &mut self,
        cx: &mut Cx<'_>,
        f: &Features,
        resource: Option<&str>,
        id: String,
    ) -> Result<(), Error> {
        let mut bind = Element::new("bind", ns::BIND);
        if let Some(r) = resource {
            bind.push_child(Element::new("resource", ns::BIND).with_text(r));
        }
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", &id)
            .with_child(bind);
        // The resource comes from the host's configuration and may hold
        // characters XML cannot carry.
        cx.core.send(&iq).map_err(|e| {
            Error::Negotiation(format!("the configured resource cannot be sent: {e}"))
        })?;
        // RFC 6121 Appendix E: only a session that is not optional needs
        // the old establishment step.
        self.session_required = f.session == Some(false);
        self.waiting = Waiting::Bind(id);
        Ok(())
    }

    /// Sends the legacy session request with iq `id`.
    pub(crate) fn start_session(&mut self, cx: &mut Cx<'_>, id: String) {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", &id)
            .with_child(Element::new("session", ns::SESSION));
        cx.core.send(&iq).expect("valid element");
        self.waiting = Waiting::Session(id);
    }

    /// The answer to our request; `None` if `el` is not it.
    pub(crate) fn handle(&mut self, el: &Element) -> Option<Result<Progress, Error>> {
        let (id, session) = match &self.waiting {
            Waiting::Nothing => return None,
            Waiting::Bind(id) => (id.as_str(), false),
            Waiting::Session(id) => (id.as_str(), true),
        };
        if !el.is("iq", ns::CLIENT) || el.attr("id") != Some(id) {
            return None;
        }
        let ok = match el.attr("type") {
            Some("result") => true,
            Some("error") => false,
            _ => return None,
        };
        self.waiting = Waiting::Nothing;
        Some(match (ok, session) {
            (true, false) => {
                let jid = el
                    .get_child("bind", ns::BIND)
                    .and_then(|b| b.get_child("jid", ns::BIND))
                    .and_then(|j| j.text().trim().parse::<FullJid>().ok());
                match jid {
                    Some(jid) => {
                        self.jid = Some(jid);
                        Ok(Progress::Done)
                    }
                    None => Err(Error::Negotiation(
                        "the bind result carries no valid full JID".into(),
                    )),
                }
            }
            (true, true) => {
                self.session_required = false;
                Ok(Progress::Done)
            }
            (false, false) => Err(Error::Negotiation(
                "the server refused to bind a resource".into(),
            )),
            (false, true) => Err(Error::Negotiation("the server refused the session".into())),
        })
    }
}

/// The host's answer to [`Request::Bind`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindDecision {
    /// Bind this resource (the requested one, or one the host chose).
    Accept(String),
    /// The resource is taken and the host will not replace the other
    /// session (RFC 6120 §7.7.2.2): the client may try another.
    Conflict,
    /// The account may not bind another resource (RFC 6120 §7.6.2.2).
    NotAllowed,
}

/// The receiving side.
#[derive(Debug, Default)]
pub(crate) struct Receiver {
    /// The open question and the id of the iq it answers.
    asked: Option<(Token, String)>,
    /// The bound full JID, once done.
    pub(crate) jid: Option<FullJid>,
}

impl Receiver {
    pub(crate) fn advertise(&self, f: &mut Features) {
        f.bind = true;
        // RFC 6121 Appendix E: advertised for old clients, optional.
        f.session = Some(true);
    }

    /// Whether `el` is a request to bind.
    pub(crate) fn accepts(el: &Element) -> bool {
        el.is("iq", ns::CLIENT) && el.attr("type") == Some("set") && el.has_child("bind", ns::BIND)
    }

    /// A bind request: the host is asked, and input waits for its answer.
    pub(crate) fn handle(&mut self, cx: &mut Cx<'_>, el: &Element, user: &BareJid) -> Progress {
        let requested = el
            .get_child("bind", ns::BIND)
            .and_then(|b| b.get_child("resource", ns::BIND))
            .map(|r| r.text().trim().to_owned())
            .filter(|r| !r.is_empty());
        let id = el.attr("id").unwrap_or_default().to_owned();
        let request = Request::Bind {
            jid: user.clone(),
            requested,
        };
        let token = cx.core.ask(request, true);
        self.asked = Some((token, id));
        Progress::Pending
    }

    /// Whether `token` is the open bind question.
    pub(crate) fn asked(&self, token: Token) -> bool {
        self.asked.as_ref().is_some_and(|(t, _)| *t == token)
    }

    /// The host's answer (checked with [`asked`](Self::asked)).
    pub(crate) fn answer(
        &mut self,
        cx: &mut Cx<'_>,
        decision: BindDecision,
        user: &BareJid,
    ) -> Result<Progress, Error> {
        let (_, id) = self.asked.take().expect("checked by asked()");
        let refuse = |cx: &mut Cx<'_>, condition| {
            let iq = Element::new("iq", ns::CLIENT)
                .with_attr("type", "error")
                .with_attr("id", &id)
                .with_child(StanzaError::new(condition).to_element(ns::CLIENT));
            let _ = cx.core.send(&iq);
            Ok(Progress::Retry)
        };
        match decision {
            BindDecision::Accept(resource) => {
                let Ok(full) = user.with_resource_str(&resource) else {
                    return refuse(cx, DefinedCondition::BadRequest);
                };
                let result = Element::new("iq", ns::CLIENT)
                    .with_attr("type", "result")
                    .with_attr("id", &id)
                    .with_child(
                        Element::new("bind", ns::BIND)
                            .with_child(Element::new("jid", ns::BIND).with_text(full.as_str())),
                    );
                cx.core.send(&result).map_err(|e| {
                    cx.core.fail(
                        StreamError::new(Condition::InternalServerError).with_text(&e.to_string()),
                    )
                })?;
                self.jid = Some(full);
                Ok(Progress::Done)
            }
            BindDecision::Conflict => refuse(cx, DefinedCondition::Conflict),
            BindDecision::NotAllowed => refuse(cx, DefinedCondition::NotAllowed),
        }
    }

    /// The answer to a legacy session request after binding (RFC 6121
    /// Appendix E: a no-op), if `el` is one.
    pub(crate) fn session_reply(el: &Element) -> Option<Element> {
        if el.is("iq", ns::CLIENT)
            && el.attr("type") == Some("set")
            && el.has_child("session", ns::SESSION)
        {
            return Some(
                Element::new("iq", ns::CLIENT)
                    .with_attr("type", "result")
                    .with_attr("id", el.attr("id").unwrap_or_default()),
            );
        }
        None
    }
}
