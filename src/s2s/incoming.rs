//! The receiving side of a server-to-server stream: a remote server
//! connected to us (RFC 6120 §4, XEP-0220 §2.2).

use std::sync::Arc;
use std::time::Instant;

use jid::BareJid;

use super::ServerConfig;
use super::dialback::{self, Dialback, Kind, Verdict};
use crate::ns;
use crate::random::Random;
use crate::sasl;
use crate::sasl::TlsInfo;
use crate::stanza::DefinedCondition;
use crate::stream::connection::{Core, Role, SendError, TimerId};
use crate::stream::features::{Features, decode_sasl};
use crate::stream::framing::Framing;
use crate::stream::negotiation::{Cx, Stage, starttls};
use crate::stream::{
    AnswerError, AuthMethod, Condition, Connection, Error, Event, Request, StreamError,
    StreamHeader, Token, Version,
};
use crate::xml::Element;

use super::TlsRequirement;

/// Negotiation must be done by then.
const NEGOTIATION: TimerId = TimerId(1);
/// The first of the timers of dialback keys waiting for their verdicts.
const FIRST_KEY_TIMER: u16 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHeader,
    Open,
    TlsHandshake,
    Done,
}

/// A key waiting for the host's verdict.
#[derive(Debug)]
struct Pending {
    token: Token,
    timer: TimerId,
    request: Dialback,
}

/// The role of an incoming s2s stream; see [`IncomingStream`].
pub struct Incoming {
    config: Arc<ServerConfig>,
    rng: Box<dyn Random>,
    state: State,
    stage: Stage,
    tls: TlsInfo,
    stream_id: String,
    /// Domain pairs (sender, ours) verified on this stream.
    verified: Vec<(BareJid, BareJid)>,
    pending: Vec<Pending>,
    next_timer: u16,
    starttls: starttls::Receiver,
    /// The `from` of the peer's current header.
    peer: Option<String>,
    /// SASL EXTERNAL is offered on this stream (XEP-0178).
    external_offered: bool,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("state", &self.state)
            .field("stream_id", &self.stream_id)
            .field("verified", &self.verified)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

/// An incoming server-to-server stream: what a server runs for each
/// connection another server opens to it.
///
/// Besides the shared host loop (see [`Connection`]), the host answers
/// [`Request::Dialback`] with [`IncomingStream::dialback_verdict`],
/// after asking the Authoritative Server of the sending domain (a
/// [`OutgoingStream::verify`](super::OutgoingStream::verify) on a stream
/// to it). Stanzas reach the host only for verified domain pairs.
pub type IncomingStream = Connection<Incoming>;

impl Connection<Incoming> {
    /// A stream for a connection a remote server opened (over TCP). With
    /// TLS before the stream (XEP-0368), `tls` is what the handshake gave.
    pub fn new(
        config: Arc<ServerConfig>,
        tls: Option<TlsInfo>,
        rng: Box<dyn Random>,
        now: Instant,
    ) -> IncomingStream {
        let limits = config.limits.clone();
        let mut core = Core::new(Framing::Tcp, limits, ns::SERVER);
        core.set_timer(NEGOTIATION, Some(now + config.negotiation_timeout));
        let tls = tls.unwrap_or_else(TlsInfo::plaintext);
        let role = Incoming {
            stage: Stage::of(&tls),
            tls,
            config,
            rng,
            state: State::AwaitHeader,
            stream_id: String::new(),
            verified: Vec::new(),
            pending: Vec::new(),
            next_timer: FIRST_KEY_TIMER,
            starttls: starttls::Receiver,
            peer: None,
            external_offered: false,
        };
        core.set_fallback_header(role.header(None));
        Connection { core, role }
    }

    /// Answers [`Request::Dialback`] `token`: what the Authoritative Server
    /// said of the key (or an error: `remote-server-not-found`,
    /// `remote-connection-failed`, ... when it could not be asked).
    pub fn dialback_verdict(
        &mut self,
        token: Token,
        verdict: Verdict,
        now: Instant,
    ) -> Result<(), AnswerError> {
        let Some(i) = self.role.pending.iter().position(|p| p.token == token) else {
            return Err(match self.core.error() {
                Some(e) => AnswerError::Ended(e.clone()),
                None => AnswerError::UnknownToken(token),
            });
        };
        self.take_answer(token)?;
        let pending = self.role.pending.swap_remove(i);
        self.core.set_timer(pending.timer, None);
        self.role
            .judge(&mut self.core, &pending.request, verdict, now)?;
        self.after_answer(now)
    }

    /// The id of this stream, which keys sent on it are made for.
    pub fn stream_id(&self) -> &str {
        &self.role.stream_id
    }

    /// The domain pairs (sender, ours) verified on this stream.
    pub fn verified_pairs(&self) -> &[(BareJid, BareJid)] {
        &self.role.verified
    }
}

impl Incoming {
    /// Our header, from `to` (the domain the peer asked for) or our first.
    fn header(&self, to: Option<&str>) -> StreamHeader {
        let mut h = StreamHeader::new(ns::SERVER);
        h.from = to
            .map(str::to_owned)
            .or_else(|| self.config.domains.first().cloned());
        h.dialback = true;
        h
    }

    /// Whether dialback may run now: TLS first when it is required.
    fn dialback_allowed(&self) -> bool {
        self.stage.has(Stage::SECURE) || self.config.tls != TlsRequirement::Required
    }

    fn starttls_offered(&self, core: &Core) -> bool {
        self.config.tls != TlsRequirement::Unavailable
            && core.allows_starttls()
            && starttls::RULES.allowed(self.stage)
    }

    fn send_features(&mut self, core: &mut Core) {
        let mut f = Features::default();
        if self.starttls_offered(core) {
            self.starttls
                .advertise(&mut f, self.config.tls == TlsRequirement::Required);
        }
        // XEP-0178 §3: EXTERNAL when the host verified the peer's
        // certificate for the domain its header names.
        self.external_offered = !self.stage.has(Stage::AUTHENTICATED)
            && self
                .peer
                .as_deref()
                .is_some_and(|from| self.tls.peer_verified_for(from));
        if self.external_offered {
            f.mechanisms = Some(vec![sasl::Mechanism::External.name().to_owned()]);
        }
        let mut el = f.to_element();
        if self.dialback_allowed() {
            el.push_child(dialback::feature());
        }
        core.send(&el).expect("valid element");
    }

    /// SASL EXTERNAL from a server whose certificate the host verified
    /// (XEP-0178): `=` or an authzid naming that same domain. Success
    /// authorizes every stanza from it to our domains; the stream restarts.
    fn on_auth(&mut self, core: &mut Core, el: &Element, now: Instant) -> Result<(), Error> {
        let peer = self.peer.clone().unwrap_or_default();
        let authzid = decode_sasl(&el.text());
        let ok = self.external_offered
            && el.attr("mechanism") == Some(sasl::Mechanism::External.name())
            && match &authzid {
                Ok(None) => true,
                Ok(Some(z)) => z.is_empty() || z.eq_ignore_ascii_case(peer.as_bytes()),
                Err(()) => false,
            };
        let Ok(domain) = BareJid::new(&peer) else {
            return self.auth_failure(core, sasl::Condition::NotAuthorized);
        };
        if !ok {
            let condition = if el.attr("mechanism") == Some(sasl::Mechanism::External.name()) {
                sasl::Condition::NotAuthorized
            } else {
                sasl::Condition::InvalidMechanism
            };
            return self.auth_failure(core, condition);
        }
        core.send(&Element::new("success", ns::SASL))
            .expect("valid element");
        self.stage = self.stage.with(Stage::AUTHENTICATED);
        for ours in &self.config.domains {
            if let Ok(to) = BareJid::new(ours)
                && !self.verified.iter().any(|(f, t)| *f == domain && *t == to)
            {
                self.verified.push((domain.clone(), to));
            }
        }
        core.emit(Event::Authenticated {
            jid: domain,
            method: AuthMethod::Sasl(sasl::Mechanism::External),
        });
        core.set_timer(NEGOTIATION, None);
        let _ = now;
        // RFC 6120 §6.4.6: a new stream.
        core.restart();
        core.set_fallback_header(self.header(None));
        self.state = State::AwaitHeader;
        Ok(())
    }

    fn auth_failure(&mut self, core: &mut Core, condition: sasl::Condition) -> Result<(), Error> {
        let f = Element::new("failure", ns::SASL)
            .with_child(Element::new(condition.as_str(), ns::SASL));
        core.send(&f).expect("valid element");
        Ok(())
    }

    fn timer(&mut self) -> TimerId {
        let t = TimerId(self.next_timer);
        self.next_timer = self.next_timer.checked_add(1).unwrap_or(FIRST_KEY_TIMER);
        t
    }

    /// A `<db:result/>` key from the Initiating Server.
    fn on_result(&mut self, core: &mut Core, request: Dialback, now: Instant) -> Result<(), Error> {
        if !self.dialback_allowed() {
            // XEP-0220 §2.5: TLS is required before dialback.
            let answer = request.answer(Verdict::Error(DefinedCondition::PolicyViolation));
            core.send(&answer.to_element()).expect("valid element");
            return Ok(());
        }
        let (Ok(from), Ok(to)) = (BareJid::new(&request.from), BareJid::new(&request.to)) else {
            return Err(core.fail(StreamError::new(Condition::ImproperAddressing)));
        };
        if !self.config.serves(to.as_str()) {
            // XEP-0220 §2.2.1: not a domain of ours.
            let answer = request.answer(Verdict::Error(DefinedCondition::ItemNotFound));
            core.send(&answer.to_element()).expect("valid element");
            return Ok(());
        }
        if self.verified.iter().any(|(f, t)| *f == from && *t == to) {
            core.send(&request.answer(Verdict::Valid).to_element())
                .expect("valid element");
            return Ok(());
        }
        let question = Request::Dialback {
            from,
            to,
            stream_id: self.stream_id.clone(),
            key: request.key.clone().unwrap_or_default(),
        };
        // Other pairs' stanzas keep flowing while this one is checked.
        let token = core.ask(question, false);
        let timer = self.timer();
        core.set_timer(timer, Some(now + self.config.dialback_timeout));
        self.pending.push(Pending {
            token,
            timer,
            request,
        });
        Ok(())
    }

    /// The verdict on a key: the answer goes out, the pair is authorized
    /// or not; a stream left with nothing verified or pending closes
    /// (XEP-0220 §2.2.1).
    fn judge(
        &mut self,
        core: &mut Core,
        request: &Dialback,
        verdict: Verdict,
        now: Instant,
    ) -> Result<(), Error> {
        let (Ok(from), Ok(to)) = (BareJid::new(&request.from), BareJid::new(&request.to)) else {
            return Ok(());
        };
        core.send(&request.answer(verdict.clone()).to_element())
            .expect("valid element");
        if verdict == Verdict::Valid {
            self.verified.push((from.clone(), to.clone()));
        }
        let refused = verdict == Verdict::Invalid;
        core.emit(Event::Pair { from, to, verdict });
        if refused && self.verified.is_empty() && self.pending.is_empty() {
            self.state = State::Done;
            core.close(now);
        }
        Ok(())
    }

    /// A `<db:verify/>`: we are the Authoritative Server for `to`.
    fn on_verify(&mut self, core: &mut Core, request: Dialback) {
        let verdict = if !self.config.serves(&request.to) {
            Verdict::Error(DefinedCondition::ItemNotFound)
        } else if self.config.secret.verify(
            &request.from,
            &request.to,
            request.id.as_deref().unwrap_or_default(),
            request.key.as_deref().unwrap_or_default(),
        ) {
            Verdict::Valid
        } else {
            Verdict::Invalid
        };
        core.send(&request.answer(verdict).to_element())
            .expect("valid element");
    }

    /// RFC 6120 §4.9.3, §8.1.1: a stanza passes only for a verified pair.
    fn authorize(&self, core: &mut Core, stanza: &Element) -> Result<(), Error> {
        if self.verified.is_empty() {
            return Err(core.fail(
                StreamError::new(Condition::NotAuthorized)
                    .with_text("no domain pair is verified on this stream"),
            ));
        }
        let (Some(from), Some(to)) = (
            stanza.attr("from").and_then(super::domain_of),
            stanza.attr("to").and_then(super::domain_of),
        ) else {
            return Err(core.fail(StreamError::new(Condition::ImproperAddressing)));
        };
        if !self.config.serves(to.as_str()) {
            return Err(core.fail(StreamError::new(Condition::HostUnknown)));
        }
        if !self.verified.iter().any(|(f, t)| *f == from && *t == to) {
            return Err(core.fail(
                StreamError::new(Condition::InvalidFrom)
                    .with_text("the sending domain is not verified for this pair"),
            ));
        }
        Ok(())
    }
}

impl Role for Incoming {
    fn on_stream_open(
        &mut self,
        core: &mut Core,
        header: StreamHeader,
        _now: Instant,
    ) -> Result<(), Error> {
        if self.state != State::AwaitHeader {
            return Err(core.fail(
                StreamError::new(Condition::BadFormat).with_text("unexpected stream header"),
            ));
        }
        let mut id = [0u8; 16];
        self.rng.fill(&mut id);
        self.stream_id = id.iter().map(|b| format!("{b:02x}")).collect();
        let to = header.to.as_deref().filter(|t| self.config.serves(t));
        self.peer = header.from.clone();
        let mut ours = self.header(to);
        ours.to = header.from.clone();
        ours.id = Some(self.stream_id.clone());
        ours.version = StreamHeader::response_version(header.version, Version::V1_0);
        core.send_header(&ours);
        if header.content_ns != ns::SERVER {
            return Err(core.fail(StreamError::new(Condition::InvalidNamespace)));
        }
        if header.to.is_some() && to.is_none() {
            return Err(core.fail(StreamError::new(Condition::HostUnknown)));
        }
        self.state = State::Open;
        // RFC 6120 §4.7.5: a pre-1.0 peer gets no features and does
        // dialback straight away.
        if header.version.is_some_and(|v| v.major >= 1) {
            self.send_features(core);
        } else {
            core.set_timer(NEGOTIATION, None);
        }
        Ok(())
    }

    fn on_element(&mut self, core: &mut Core, el: Element, now: Instant) -> Result<(), Error> {
        if self.state != State::Open {
            return Err(core.fail(StreamError::new(Condition::NotAuthorized)));
        }
        if el.ns() == ns::DIALBACK {
            let request = match Dialback::parse(el.as_ref()) {
                Ok(d) => d,
                Err(e) => {
                    return Err(
                        core.fail(StreamError::new(Condition::BadFormat).with_text(&e.to_string()))
                    );
                }
            };
            if request.verdict.is_some() {
                // XEP-0220 §3.1: we asked nothing on this stream.
                return Err(core.fail(
                    StreamError::new(Condition::NotAuthorized)
                        .with_text("unsolicited dialback answer"),
                ));
            }
            core.set_timer(NEGOTIATION, None);
            return match request.kind {
                Kind::Result => self.on_result(core, request, now),
                Kind::Verify => {
                    self.on_verify(core, request);
                    Ok(())
                }
            };
        }
        if el.is("auth", ns::SASL) {
            return self.on_auth(core, &el, now);
        }
        if self.starttls_offered(core) && starttls::Receiver::accepts(&el) {
            self.state = State::TlsHandshake;
            let mut cx = Cx {
                core,
                tls: &mut self.tls,
                rng: &mut *self.rng,
            };
            return self.starttls.handle(&mut cx).map(|_| ());
        }
        if el.ns() == ns::SERVER && matches!(el.name(), "message" | "presence" | "iq") {
            self.authorize(core, &el)?;
            core.deliver(el);
            return Ok(());
        }
        Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType)))
    }

    fn on_tls(&mut self, core: &mut Core, info: TlsInfo, _now: Instant) -> Result<(), Error> {
        if self.state != State::TlsHandshake {
            let mut cx = Cx {
                core,
                tls: &mut self.tls,
                rng: &mut *self.rng,
            };
            return Err(starttls::out_of_turn(&mut cx));
        }
        self.tls = info;
        self.tls.active = true;
        self.stage = self.stage.with(starttls::RULES.grants);
        core.restart();
        core.set_fallback_header(self.header(None));
        self.state = State::AwaitHeader;
        Ok(())
    }

    fn on_timer(&mut self, core: &mut Core, timer: TimerId, now: Instant) -> Result<(), Error> {
        if timer == NEGOTIATION {
            return Err(core.fail(StreamError::new(Condition::ConnectionTimeout)));
        }
        let Some(i) = self.pending.iter().position(|p| p.timer == timer) else {
            return Ok(());
        };
        // The host found no verdict in time (XEP-0220 §2.5).
        let pending = self.pending.swap_remove(i);
        let _ = core.answer(pending.token);
        let verdict = Verdict::Error(DefinedCondition::RemoteServerTimeout);
        self.judge(core, &pending.request, verdict, now)
    }

    fn on_send(&mut self, _core: &mut Core, _stanza: &mut Element) -> Result<(), SendError> {
        // XEP-0220 §2.3: an incoming stream carries stanzas one way.
        Err(SendError::Unauthorized)
    }
}
