//! The server's side of XEP-0114: components attach to it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jid::BareJid;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::ns;
use crate::random::Random;
use crate::sasl::TlsInfo;
use crate::stream::connection::{Core, Role, SendError, TimerId};
use crate::stream::framing::Framing;
use crate::stream::{
    AnswerError, AuthMethod, Condition, Connection, Error, Event, Request, StreamError,
    StreamHeader, Token,
};
use crate::xml::{Element, Limits};

/// What an [`AcceptStream`] needs to know; one for the server, shared as
/// an `Arc`.
#[derive(Clone)]
#[non_exhaustive]
pub struct AcceptConfig {
    /// The components that may attach: name and shared secret.
    pub components: Vec<(String, Zeroizing<String>)>,
    /// Let components send from subdomains of their name.
    pub subdomains: bool,
    /// Limits on what components may send.
    pub limits: Limits,
    /// The handshake must be done within this time.
    pub negotiation_timeout: Duration,
}

impl std::fmt::Debug for AcceptConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.components.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("AcceptConfig")
            .field("components", &names)
            .field("subdomains", &self.subdomains)
            .finish_non_exhaustive()
    }
}

impl AcceptConfig {
    /// Components `name` with their secrets.
    pub fn new(components: &[(&str, &str)]) -> AcceptConfig {
        AcceptConfig {
            components: components
                .iter()
                .map(|(n, s)| (n.to_ascii_lowercase(), Zeroizing::new((*s).to_owned())))
                .collect(),
            subdomains: false,
            limits: Limits::default(),
            negotiation_timeout: Duration::from_secs(30),
        }
    }

    fn secret(&self, name: &str) -> Option<&str> {
        self.components
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s.as_str())
    }
}

/// The host's answer to [`Request::Component`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComponentDecision {
    /// The component is attached.
    Accept,
    /// Another connection serves this component already (XEP-0114 §3:
    /// `conflict`).
    Conflict,
}

const NEGOTIATION: TimerId = TimerId(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHeader,
    AwaitHandshake,
    AwaitHost(Token),
    Online,
    Done,
}

/// The role of a component-accepting stream; see [`AcceptStream`].
pub struct Accept {
    config: Arc<AcceptConfig>,
    rng: Box<dyn Random>,
    state: State,
    stream_id: String,
    /// The component's name, from its header.
    name: Option<BareJid>,
}

impl std::fmt::Debug for Accept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accept")
            .field("name", &self.name)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A server's stream for one component connection (XEP-0114). The host
/// answers [`Request::Component`] (is another connection serving this
/// name?) with [`AcceptStream::attach`]; then every stanza from the
/// component reaches it with a checked `from`.
pub type AcceptStream = Connection<Accept>;

impl Connection<Accept> {
    /// A stream for a freshly accepted connection on the component port.
    pub fn new(config: Arc<AcceptConfig>, rng: Box<dyn Random>, now: Instant) -> AcceptStream {
        let mut core = Core::new(Framing::Tcp, config.limits.clone(), ns::COMPONENT_ACCEPT);
        core.set_timer(NEGOTIATION, Some(now + config.negotiation_timeout));
        core.set_fallback_header(StreamHeader::new(ns::COMPONENT_ACCEPT));
        Connection {
            core,
            role: Accept {
                config,
                rng,
                state: State::AwaitHeader,
                stream_id: String::new(),
                name: None,
            },
        }
    }

    /// Answers [`Request::Component`] `token`.
    pub fn attach(
        &mut self,
        token: Token,
        decision: ComponentDecision,
        now: Instant,
    ) -> Result<(), AnswerError> {
        if self.role.state != State::AwaitHost(token) {
            return Err(match self.core.error() {
                Some(e) => AnswerError::Ended(e.clone()),
                None => AnswerError::UnknownToken(token),
            });
        }
        self.take_answer(token)?;
        match decision {
            ComponentDecision::Accept => {
                self.role.state = State::Online;
                self.core
                    .send(&Element::new("handshake", ns::COMPONENT_ACCEPT))
                    .expect("valid element");
                self.core.set_timer(NEGOTIATION, None);
                let jid = self.role.name.clone().expect("named in the header");
                self.core.emit(Event::Authenticated {
                    jid,
                    method: AuthMethod::ComponentHandshake,
                });
            }
            ComponentDecision::Conflict => {
                self.role.state = State::Done;
                return Err(AnswerError::Ended(
                    self.core.fail(StreamError::new(Condition::Conflict)),
                ));
            }
        }
        self.after_answer(now)
    }

    /// The component's name, once its header named one we serve.
    pub fn component(&self) -> Option<&BareJid> {
        self.role.name.as_ref()
    }
}

impl Role for Accept {
    fn on_stream_open(
        &mut self,
        core: &mut Core,
        header: StreamHeader,
        _now: Instant,
    ) -> Result<(), Error> {
        if self.state != State::AwaitHeader {
            return Err(core.fail(StreamError::new(Condition::BadFormat)));
        }
        let mut id = [0u8; 8];
        self.rng.fill(&mut id);
        self.stream_id = id.iter().map(|b| format!("{b:02x}")).collect();
        let mut ours = StreamHeader::new(ns::COMPONENT_ACCEPT);
        ours.from = header.to.clone();
        ours.id = Some(self.stream_id.clone());
        ours.version = None;
        core.send_header(&ours);
        if header.content_ns != ns::COMPONENT_ACCEPT {
            return Err(core.fail(StreamError::new(Condition::InvalidNamespace)));
        }
        // XEP-0114 §3: `to` names the component.
        let name = header
            .to
            .as_deref()
            .filter(|n| self.config.secret(n).is_some())
            .and_then(|n| BareJid::new(&n.to_ascii_lowercase()).ok());
        let Some(name) = name else {
            return Err(core.fail(StreamError::new(Condition::HostUnknown)));
        };
        self.name = Some(name);
        self.state = State::AwaitHandshake;
        Ok(())
    }

    fn on_element(&mut self, core: &mut Core, el: Element, _now: Instant) -> Result<(), Error> {
        match self.state {
            State::AwaitHandshake if el.is("handshake", ns::COMPONENT_ACCEPT) => {
                let name = self.name.as_ref().expect("named in the header");
                let secret = self.config.secret(name.as_str()).unwrap_or_default();
                let expected = super::handshake(&self.stream_id, secret);
                let given = el.text();
                let given = given.trim().to_ascii_lowercase();
                if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
                    self.state = State::Done;
                    return Err(core.fail(StreamError::new(Condition::NotAuthorized)));
                }
                // Whether another connection serves this name is the host's
                // to say; nothing is read meanwhile.
                let token = core.ask(
                    Request::Component {
                        domain: name.clone(),
                    },
                    true,
                );
                self.state = State::AwaitHost(token);
                Ok(())
            }
            State::Online
                if matches!(el.name(), "message" | "presence" | "iq")
                    && el.ns() == ns::COMPONENT_ACCEPT =>
            {
                let name = self.name.as_ref().expect("named in the header");
                let from = el.attr("from").and_then(super::domain_of);
                let (Some(from), Some(_)) = (from, el.attr("to")) else {
                    return Err(core.fail(StreamError::new(Condition::ImproperAddressing)));
                };
                if !super::within(&from, name.as_str(), self.config.subdomains) {
                    // XEP-0114 §3: only from its own domain.
                    return Err(core.fail(StreamError::new(Condition::InvalidFrom)));
                }
                core.deliver(el);
                Ok(())
            }
            State::AwaitHandshake | State::AwaitHost(_) | State::AwaitHeader => {
                Err(core.fail(StreamError::new(Condition::NotAuthorized)))
            }
            _ => Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType))),
        }
    }

    fn on_tls(&mut self, core: &mut Core, _info: TlsInfo, _now: Instant) -> Result<(), Error> {
        Err(core.fail(StreamError::new(Condition::UndefinedCondition)))
    }

    fn on_timer(&mut self, core: &mut Core, timer: TimerId, _now: Instant) -> Result<(), Error> {
        if timer == NEGOTIATION {
            self.state = State::Done;
            return Err(core.fail(StreamError::new(Condition::ConnectionTimeout)));
        }
        Ok(())
    }

    fn on_send(&mut self, _core: &mut Core, stanza: &mut Element) -> Result<(), SendError> {
        if self.state != State::Online {
            return Err(SendError::NotOnline);
        }
        for other in [ns::CLIENT, ns::SERVER] {
            if stanza.ns() == other {
                stanza.move_ns(other, ns::COMPONENT_ACCEPT);
            }
        }
        Ok(())
    }
}
