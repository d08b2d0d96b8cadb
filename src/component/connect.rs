//! The component's side of XEP-0114: it connects to a server.

use std::time::{Duration, Instant};

use jid::BareJid;
use zeroize::Zeroizing;

use crate::ns;
use crate::random::Random;
use crate::sasl::TlsInfo;
use crate::stream::connection::{Core, Role, SendError, TimerId};
use crate::stream::framing::Framing;
use crate::stream::{AuthMethod, Condition, Connection, Error, Event, StreamError, StreamHeader};
use crate::xml::{Element, Limits};

/// What a [`ComponentStream`] needs to know.
#[derive(Clone)]
#[non_exhaustive]
pub struct ComponentConfig {
    /// The component's name, which the server knows it by.
    pub domain: BareJid,
    /// The secret shared with the server.
    pub secret: Zeroizing<String>,
    /// Send stanzas from subdomains of `domain` too (only if the server
    /// allows it).
    pub subdomains: bool,
    /// Limits on what the server may send.
    pub limits: Limits,
    /// The handshake must be done within this time.
    pub negotiation_timeout: Duration,
    /// Send a whitespace keepalive this often once accepted.
    pub keepalive: Option<Duration>,
}

impl std::fmt::Debug for ComponentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentConfig")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl ComponentConfig {
    /// A component named `domain` with `secret`.
    pub fn new(domain: BareJid, secret: &str) -> ComponentConfig {
        ComponentConfig {
            domain,
            secret: Zeroizing::new(secret.to_owned()),
            subdomains: false,
            limits: Limits::default(),
            negotiation_timeout: Duration::from_secs(30),
            keepalive: Some(Duration::from_secs(90)),
        }
    }
}

const NEGOTIATION: TimerId = TimerId(1);
const KEEPALIVE: TimerId = TimerId(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHeader,
    AwaitHandshake,
    Online,
    Done,
}

/// The role of a component's stream; see [`ComponentStream`].
pub struct Connect {
    config: ComponentConfig,
    state: State,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("domain", &self.config.domain)
            .field("state", &self.state)
            .finish()
    }
}

/// A component's stream to its server (XEP-0114). Once the server accepts
/// the handshake ([`Event::Authenticated`] with
/// [`AuthMethod::ComponentHandshake`]), stanzas flow both ways; each sent
/// stanza needs `to` and a `from` in the component's domain.
pub type ComponentStream = Connection<Connect>;

impl Connection<Connect> {
    /// Opens the stream (over TCP; the header is queued at once).
    pub fn new(config: ComponentConfig, _rng: Box<dyn Random>, now: Instant) -> ComponentStream {
        let mut core = Core::new(Framing::Tcp, config.limits.clone(), ns::COMPONENT_ACCEPT);
        core.set_timer(NEGOTIATION, Some(now + config.negotiation_timeout));
        let mut h = StreamHeader::new(ns::COMPONENT_ACCEPT);
        // XEP-0114 §3: the component's name; no version.
        h.to = Some(config.domain.to_string());
        h.version = None;
        core.send_header(&h);
        Connection {
            core,
            role: Connect {
                config,
                state: State::AwaitHeader,
            },
        }
    }

    /// Whether the server accepted the component.
    pub fn is_online(&self) -> bool {
        self.role.state == State::Online
    }
}

impl Role for Connect {
    fn on_stream_open(
        &mut self,
        core: &mut Core,
        header: StreamHeader,
        _now: Instant,
    ) -> Result<(), Error> {
        if self.state != State::AwaitHeader {
            return Err(core.fail(StreamError::new(Condition::BadFormat)));
        }
        if header.content_ns != ns::COMPONENT_ACCEPT {
            return Err(core.fail(StreamError::new(Condition::InvalidNamespace)));
        }
        let Some(id) = header.id.filter(|i| !i.is_empty()) else {
            self.state = State::Done;
            core.send_close();
            return Err(core.finish(Some(Error::Negotiation(
                "the server gave no stream id to hash".into(),
            ))));
        };
        let digest = super::handshake(&id, &self.config.secret);
        core.send(&Element::new("handshake", ns::COMPONENT_ACCEPT).with_text(&digest))
            .expect("valid element");
        self.state = State::AwaitHandshake;
        Ok(())
    }

    fn on_element(&mut self, core: &mut Core, el: Element, now: Instant) -> Result<(), Error> {
        match self.state {
            State::AwaitHandshake if el.is("handshake", ns::COMPONENT_ACCEPT) => {
                self.state = State::Online;
                core.set_timer(NEGOTIATION, None);
                if let Some(k) = self.config.keepalive {
                    core.set_timer(KEEPALIVE, Some(now + k));
                }
                core.emit(Event::Authenticated {
                    jid: self.config.domain.clone(),
                    method: AuthMethod::ComponentHandshake,
                });
                Ok(())
            }
            State::Online
                if matches!(el.name(), "message" | "presence" | "iq")
                    && el.ns() == ns::COMPONENT_ACCEPT =>
            {
                core.deliver(el);
                Ok(())
            }
            _ => Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType))),
        }
    }

    fn on_tls(&mut self, core: &mut Core, _info: TlsInfo, _now: Instant) -> Result<(), Error> {
        Err(core.fail(
            StreamError::new(Condition::UndefinedCondition).with_text("no STARTTLS on components"),
        ))
    }

    fn on_timer(&mut self, core: &mut Core, timer: TimerId, now: Instant) -> Result<(), Error> {
        match timer {
            NEGOTIATION => {
                self.state = State::Done;
                Err(core.fail(
                    StreamError::new(Condition::ConnectionTimeout)
                        .with_text("handshake took too long"),
                ))
            }
            KEEPALIVE if self.state == State::Online && !core.close_sent() => {
                core.send_whitespace();
                if let Some(k) = self.config.keepalive {
                    core.set_timer(KEEPALIVE, Some(now + k));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_send(&mut self, _core: &mut Core, stanza: &mut Element) -> Result<(), SendError> {
        if self.state != State::Online {
            return Err(SendError::NotOnline);
        }
        // XEP-0114 §3: from and to, from in the component's domain.
        let from = stanza.attr("from").and_then(super::domain_of);
        let ok = stanza.attr("to").is_some()
            && from.is_some_and(|d| {
                super::within(&d, self.config.domain.as_str(), self.config.subdomains)
            });
        if !ok {
            return Err(SendError::Unauthorized);
        }
        for other in [ns::CLIENT, ns::SERVER] {
            if stanza.ns() == other {
                stanza.move_ns(other, ns::COMPONENT_ACCEPT);
            }
        }
        Ok(())
    }
}
