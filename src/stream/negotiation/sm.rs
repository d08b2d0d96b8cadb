//! Stream management (XEP-0198) as a negotiator, both sides: `<enable/>`
//! after resource binding, or `<resume/>` in binding's place. Once a
//! session is enabled or resumed it lives in the core ([`Managed`]),
//! which counts every stanza in and out, answers `<r/>`, takes `<a/>`,
//! schedules its own requests and, when the stream ends, hands the host
//! either the session to resume ([`Event::Suspended`]) or what the peer
//! never acknowledged ([`Event::Unsent`]).

use jid::{BareJid, FullJid};

use super::{Cx, Rules, Stage};
use crate::sm::{Config, Ledger, NS, Nonza, Session};
use crate::stanza::DefinedCondition;
use crate::stream::connection::Core;
use crate::stream::features::Features;
use crate::stream::{Condition, Error, Event, Request, StreamError, Token};
use crate::xml::Element;

/// Enabling follows binding, once (XEP-0198 §3).
pub(crate) const ENABLE_RULES: Rules = Rules {
    needs: Stage::BOUND,
    forbids: Stage::MANAGED,
    grants: Stage::MANAGED,
    restarts: false,
};

/// Resumption takes binding's place (XEP-0198 §5): it needs
/// authentication and binds the session's old resource.
pub(crate) const RESUME_RULES: Rules = Rules {
    needs: Stage::AUTHENTICATED,
    forbids: Stage::BOUND,
    grants: Stage::BOUND.with(Stage::MANAGED),
    restarts: false,
};

/// A session enabled on a stream: what the core keeps and acts on.
#[derive(Debug)]
pub(crate) struct Managed {
    pub(crate) session: Session,
    /// Whether the session may be resumed after a break.
    pub(crate) resumable: bool,
    pub(crate) config: Config,
    /// Our `<r/>` awaits its `<a/>`.
    pub(crate) requested: bool,
    /// A session a client is about to resume: not yet in force (nothing
    /// counts), and if the stream ends first it goes back to the host
    /// as it came, whatever the reason.
    pub(crate) pending: bool,
    /// A client's `<enable/>` is out and `<enabled/>` not yet in: what it
    /// sends counts (XEP-0198 §4: from sending `<enable/>`), what it
    /// receives does not yet, and it requests nothing.
    pub(crate) enabling: bool,
    /// What the host sent while enabling, not yet written.
    pub(crate) held: Vec<Element>,
}

impl Managed {
    pub(crate) fn new(session: Session, resumable: bool, config: Config) -> Managed {
        Managed {
            session,
            resumable,
            config,
            requested: false,
            pending: false,
            enabling: false,
            held: Vec::new(),
        }
    }

    /// A client's session from the moment it sends `<enable/>`.
    pub(crate) fn enabling(jid: FullJid, config: Config) -> Managed {
        let ledger = Ledger::new(config.max_queue);
        Managed {
            enabling: true,
            ..Managed::new(
                Session::new(String::new(), jid, ledger, None, None),
                false,
                config,
            )
        }
    }

    /// A session to resume on this stream once authenticated.
    pub(crate) fn pending(session: Session, config: Config) -> Managed {
        Managed {
            pending: true,
            ..Managed::new(session, true, config)
        }
    }
}

/// What the initiator waits for.
#[derive(Debug, Default)]
enum Waiting {
    #[default]
    Nothing,
    /// The session is the core's, enabling.
    Enabled,
    /// The session is the core's pending one.
    Resumed,
}

/// How an initiator's request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The session is enabled; the core manages it.
    Enabled,
    /// The server refused to enable; the stream goes on without.
    EnableFailed,
    /// The session is resumed for this full JID; what the server did not
    /// acknowledge has been sent again.
    Resumed(FullJid),
    /// The server could not resume; what it did not acknowledge went to
    /// the host in [`Event::Unsent`], and binding comes next.
    ResumeFailed,
    /// A stream-management element out of turn, ignored; the answer is
    /// still awaited.
    Ignored,
}

/// The initiating side (a client).
#[derive(Debug, Default)]
pub(crate) struct Initiator {
    waiting: Waiting,
}

impl Initiator {
    pub(crate) fn offered(f: &Features) -> bool {
        f.stream_management
    }

    /// Asks to enable a session for the bound `jid`. The client goes
    /// online at once; what the host sends is held until the answer, then
    /// written (and counted, once enabled): were the stream to break
    /// before, nothing would have gone out that could arrive twice.
    pub(crate) fn enable(&mut self, cx: &mut Cx<'_>, config: &Config, jid: FullJid) {
        let enable = Nonza::Enable {
            resume: config.resume,
            max: config.max,
        };
        cx.core.send(&enable.to_element()).expect("a valid element");
        cx.core.manage(Managed::enabling(jid, config.clone()));
        self.waiting = Waiting::Enabled;
    }

    /// Whether a session waits to be resumed (see
    /// [`Managed::pending`]).
    pub(crate) fn can_resume(cx: &Core) -> bool {
        cx.managed().is_some_and(|m| m.pending)
    }

    /// Asks to resume the core's pending session (XEP-0198 §5), with our
    /// handled count.
    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) {
        let Some(m) = cx.core.managed().filter(|m| m.pending) else {
            return;
        };
        let resume = Nonza::Resume {
            h: m.session.ledger().handled(),
            previd: m.session.id().to_owned(),
        };
        // The id came from the server's attribute, so it is writable; a
        // session deserialized from elsewhere may not be.
        if cx.core.send(&resume.to_element()).is_err() {
            Self::give_up(cx, None);
            return;
        }
        self.waiting = Waiting::Resumed;
    }

    /// The pending session cannot be resumed: what the server did not
    /// acknowledge (as far as `h` says) goes back to the host.
    pub(crate) fn give_up(cx: &mut Cx<'_>, h: Option<u32>) {
        let Some(mut m) = cx.core.take_managed() else {
            return;
        };
        if let Some(h) = h {
            let _ = m.session.ledger_mut().acknowledged(h);
        }
        let unsent = m.session.into_unacknowledged();
        if !unsent.is_empty() {
            cx.core.emit(Event::Unsent(unsent));
        }
    }

    /// Whether a request is out.
    pub(crate) fn waiting(&self) -> bool {
        !matches!(self.waiting, Waiting::Nothing)
    }

    /// The server's answer; `None` if `el` is not one.
    pub(crate) fn handle(
        &mut self,
        cx: &mut Cx<'_>,
        el: &Element,
    ) -> Option<Result<Outcome, Error>> {
        let nonza = Nonza::parse(el.as_ref())?;
        match (std::mem::take(&mut self.waiting), nonza) {
            (
                Waiting::Enabled,
                Nonza::Enabled {
                    id,
                    resume,
                    max,
                    location,
                },
            ) => {
                let mut m = cx.core.take_managed().expect("attached by enable()");
                m.resumable = resume && id.is_some();
                m.session.set_enabled(id.unwrap_or_default(), max, location);
                m.enabling = false;
                let held = std::mem::take(&mut m.held);
                cx.core.manage(m);
                cx.core.release_held(held);
                Some(Ok(Outcome::Enabled))
            }
            (Waiting::Enabled, Nonza::Failed { .. }) => {
                // No session: what was held goes out as it would have
                // without stream management.
                if let Some(m) = cx.core.take_managed() {
                    cx.core.release_held(m.held);
                }
                Some(Ok(Outcome::EnableFailed))
            }
            (waiting @ Waiting::Enabled, Nonza::R | Nonza::A { .. }) => {
                // Not before <enabled/>: ignored.
                self.waiting = waiting;
                Some(Ok(Outcome::Ignored))
            }
            (Waiting::Resumed, Nonza::Resumed { h, previd }) => {
                let Some(mut m) = cx.core.take_managed() else {
                    return Some(Err(Error::Negotiation("no session to resume".into())));
                };
                if previd != m.session.id() {
                    // The pending session goes back to the host as it
                    // came: this stream fails, the session may yet resume.
                    cx.core.manage(m);
                    return Some(Err(cx.core.fail(
                        StreamError::new(Condition::UndefinedCondition)
                            .with_text("resumed a session that was not asked for"),
                    )));
                }
                let again = match m.session.ledger_mut().resume(h) {
                    Ok(again) => again,
                    Err(e) => {
                        cx.core.manage(m);
                        return Some(Err(cx.core.fail(e.stream_error())));
                    }
                };
                let jid = m.session.jid().clone();
                m.pending = false;
                cx.core.manage(m);
                // XEP-0198 §5: what the server did not handle goes again,
                // counted once.
                for stanza in &again {
                    cx.core.resend(stanza);
                }
                cx.core.sm_after_send();
                Some(Ok(Outcome::Resumed(jid)))
            }
            (Waiting::Resumed, Nonza::Failed { h, .. }) => {
                // The server may say what it handled before the session
                // timed out: that much is not lost.
                Self::give_up(cx, h);
                Some(Ok(Outcome::ResumeFailed))
            }
            (waiting, _) => {
                self.waiting = waiting;
                None
            }
        }
    }
}

/// The receiving side (a server).
#[derive(Debug, Default)]
pub(crate) struct Receiver {
    /// The open resumption question: its token, the client's `h` and
    /// `previd`.
    asked: Option<(Token, u32, String)>,
}

impl Receiver {
    pub(crate) fn advertise(f: &mut Features) {
        f.stream_management = true;
    }

    /// Whether `el` asks to enable or resume.
    pub(crate) fn accepts(el: &Element) -> bool {
        el.ns() == NS && matches!(el.name(), "enable" | "resume")
    }

    /// Refuses a request with a stanza error condition (XEP-0198 §6).
    pub(crate) fn refuse(cx: &mut Cx<'_>, condition: DefinedCondition) {
        let failed = Nonza::Failed {
            h: None,
            condition: Some(condition),
        };
        cx.core.send(&failed.to_element()).expect("a valid element");
    }

    /// `<enable/>` from a bound client (`jid`). Without `config` the
    /// server does not offer stream management.
    pub(crate) fn enable(
        &mut self,
        cx: &mut Cx<'_>,
        el: &Element,
        config: Option<&Config>,
        jid: &FullJid,
    ) -> Result<(), Error> {
        let Some(config) = config else {
            Self::refuse(cx, DefinedCondition::FeatureNotImplemented);
            return Ok(());
        };
        if cx.core.managed().is_some() {
            // XEP-0198 §3: one attempt; a second is answered with a
            // stream error.
            return Err(cx.core.fail(
                StreamError::new(Condition::PolicyViolation)
                    .with_text("stream management is already enabled"),
            ));
        }
        let Some(Nonza::Enable { resume, max }) = Nonza::parse(el.as_ref()) else {
            Self::refuse(cx, DefinedCondition::BadRequest);
            return Ok(());
        };
        let resume = resume && config.resume;
        let id = resume.then(|| {
            let mut raw = [0u8; 18];
            cx.rng.fill(&mut raw);
            raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
        });
        // The shorter of the client's wish and the server's bound.
        let max = match (max, config.max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => b.or(a),
        }
        .filter(|_| resume);
        let enabled = Nonza::Enabled {
            id: id.clone(),
            resume,
            max,
            location: None,
        };
        cx.core
            .send(&enabled.to_element())
            .expect("a valid element");
        let session = Session::new(
            id.unwrap_or_default(),
            jid.clone(),
            Ledger::new(config.max_queue),
            max,
            None,
        );
        cx.core
            .manage(Managed::new(session, resume, config.clone()));
        Ok(())
    }

    /// `<resume/>` from an authenticated client that has not bound: the
    /// host is asked for the session, and input waits for its answer.
    pub(crate) fn resume(
        &mut self,
        cx: &mut Cx<'_>,
        el: &Element,
        config: Option<&Config>,
        user: &BareJid,
    ) {
        if !config.is_some_and(|c| c.resume) {
            Self::refuse(cx, DefinedCondition::FeatureNotImplemented);
            return;
        }
        let Some(Nonza::Resume { h, previd }) = Nonza::parse(el.as_ref()) else {
            Self::refuse(cx, DefinedCondition::BadRequest);
            return;
        };
        let request = Request::Resume {
            jid: user.clone(),
            previd: previd.clone(),
        };
        let token = cx.core.ask(request, true);
        self.asked = Some((token, h, previd));
    }

    /// Whether `token` is the open resumption question.
    pub(crate) fn asked(&self, token: Token) -> bool {
        self.asked.as_ref().is_some_and(|(t, _, _)| *t == token)
    }

    /// The host's answer (checked with [`asked`](Self::asked)): the
    /// session's full JID once resumed, `None` when it failed.
    pub(crate) fn answer(
        &mut self,
        cx: &mut Cx<'_>,
        session: Option<Session>,
        config: Option<&Config>,
        user: &BareJid,
    ) -> Result<Option<FullJid>, Error> {
        let (_, h, previd) = self.asked.take().expect("checked by asked()");
        let session = match session {
            Some(s) if s.id() == previd && s.jid().to_bare() == *user => s,
            other => {
                // Not the session asked for, or none: the client binds
                // instead. A session handed in by mistake is not lost.
                if let Some(s) = other {
                    let unsent = s.into_unacknowledged();
                    if !unsent.is_empty() {
                        cx.core.emit(Event::Unsent(unsent));
                    }
                }
                Self::refuse(cx, DefinedCondition::ItemNotFound);
                return Ok(None);
            }
        };
        let mut session = session;
        let again = match session.ledger_mut().resume(h) {
            Ok(again) => again,
            Err(e) => {
                cx.core.emit(Event::Unsent(session.into_unacknowledged()));
                return Err(cx.core.fail(e.stream_error()));
            }
        };
        let resumed = Nonza::Resumed {
            h: session.ledger().handled(),
            previd,
        };
        cx.core
            .send(&resumed.to_element())
            .expect("a valid element");
        let jid = session.jid().clone();
        let config = config.cloned().unwrap_or_default();
        cx.core.manage(Managed::new(session, true, config));
        for stanza in &again {
            cx.core.resend(stanza);
        }
        cx.core.sm_after_send();
        Ok(Some(jid))
    }
}
