//! The initiating side of a server-to-server stream: we connect to a
//! remote domain (RFC 6120 §4, XEP-0220 §2.1).

use std::sync::Arc;
use std::time::Instant;

use jid::BareJid;

use super::ServerConfig;
use super::TlsRequirement;
use super::dialback::{Dialback, Kind, Verdict};
use crate::ns;
use crate::random::Random;
use crate::sasl::Mechanism;
use crate::sasl::TlsInfo;
use crate::stanza::DefinedCondition;
use crate::stream::connection::{Core, Role, SendError, TimerId};
use crate::stream::features::Features;
use crate::stream::framing::Framing;
use crate::stream::negotiation::{Cx, Progress, Stage, starttls};
use crate::stream::{
    AuthMethod, Condition, Connection, Error, Event, StreamError, StreamHeader, Token, Version,
};
use crate::xml::Element;

/// Negotiation must be done by then.
const NEGOTIATION: TimerId = TimerId(1);
/// The first of the timers of requests waiting for their answers.
const FIRST_TIMER: u16 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHeader,
    AwaitFeatures,
    StartTls,
    TlsHandshake,
    /// `<auth mechanism='EXTERNAL'/>` sent (XEP-0178).
    External,
    /// Negotiated: dialback and stanzas may flow.
    Ready,
    Done,
}

/// Where a sending domain's key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// To be sent once the stream is ready.
    Unsent,
    /// Sent; the verdict is due before this timer fires.
    Waiting(TimerId),
    /// Accepted: stanzas from this domain may flow.
    Valid,
}

/// A domain pair of this stream: one of our domains sending to one of
/// the remote server's.
#[derive(Debug)]
struct Sender {
    domain: BareJid,
    target: BareJid,
    key: Key,
}

/// A `<db:verify/>` the host asked for.
#[derive(Debug)]
struct Verification {
    token: Token,
    timer: TimerId,
    request: Dialback,
}

/// The role of an outgoing s2s stream; see [`OutgoingStream`].
pub struct Outgoing {
    config: Arc<ServerConfig>,
    rng: Box<dyn Random>,
    state: State,
    stage: Stage,
    tls: TlsInfo,
    local: BareJid,
    remote: BareJid,
    stream_id: Option<String>,
    senders: Vec<Sender>,
    verifications: Vec<Verification>,
    /// Verifications asked for before the stream was ready.
    queued: Vec<Dialback>,
    /// The remote server announced dialback with error handling
    /// (XEP-0220 §2.4.2).
    errors_feature: bool,
    /// SASL EXTERNAL was tried on this connection.
    external_tried: bool,
    next_timer: u16,
    starttls: starttls::Initiator,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("local", &self.local)
            .field("remote", &self.remote)
            .field("state", &self.state)
            .field("senders", &self.senders)
            .finish_non_exhaustive()
    }
}

/// An outgoing server-to-server stream: we connect to `remote` for
/// `local`.
///
/// Once negotiated, it sends the dialback key of `local` and reports the
/// Receiving Server's verdict as [`Event::Pair`];
/// [`authorize`](Connection::authorize) adds more sending domains.
/// Stanzas go out only for a valid pair. [`verify`](Connection::verify)
/// sends a `<db:verify/>` when this server, as a Receiving Server, checks
/// a key with `remote` as the Authoritative Server; the answer is
/// [`Event::Verified`].
pub type OutgoingStream = Connection<Outgoing>;

impl Connection<Outgoing> {
    /// Opens a stream from `local` (one of the configured domains) to
    /// `remote` over TCP; our header is queued at once. With TLS before the
    /// stream (XEP-0368), `tls` is what the handshake gave.
    pub fn new(
        config: Arc<ServerConfig>,
        local: BareJid,
        remote: BareJid,
        tls: Option<TlsInfo>,
        rng: Box<dyn Random>,
        now: Instant,
    ) -> OutgoingStream {
        let mut core = Core::new(Framing::Tcp, config.limits.clone(), ns::SERVER);
        core.set_timer(NEGOTIATION, Some(now + config.negotiation_timeout));
        let tls = tls.unwrap_or_else(TlsInfo::plaintext);
        let mut role = Outgoing {
            stage: Stage::of(&tls),
            tls,
            senders: vec![Sender {
                domain: local.clone(),
                target: remote.clone(),
                key: Key::Unsent,
            }],
            local,
            remote,
            config,
            rng,
            state: State::AwaitHeader,
            stream_id: None,
            verifications: Vec::new(),
            queued: Vec::new(),
            errors_feature: false,
            external_tried: false,
            next_timer: FIRST_TIMER,
            starttls: starttls::Initiator::default(),
        };
        role.open(&mut core);
        Connection { core, role }
    }

    /// Asks to send stanzas from `domain` too (sender multiplexing,
    /// XEP-0220 §2.7.1): another key goes out once the stream is ready.
    pub fn authorize(&mut self, domain: BareJid, now: Instant) -> Result<(), SendError> {
        let target = self.role.remote.clone();
        self.authorize_pair(domain, target, now)
    }

    /// Asks to send stanzas from our `domain` to `target`, another domain
    /// of the remote server (target multiplexing, XEP-0220 §2.7.2): only
    /// once the remote server has announced dialback with error handling
    /// (`Unauthorized` before that, or without it).
    pub fn authorize_pair(
        &mut self,
        domain: BareJid,
        target: BareJid,
        now: Instant,
    ) -> Result<(), SendError> {
        if self.core.error().is_some() || self.role.state == State::Done {
            return Err(SendError::Closed);
        }
        if !self.role.config.serves(domain.as_str())
            || (target != self.role.remote && !self.role.errors_feature)
        {
            return Err(SendError::Unauthorized);
        }
        if self
            .role
            .senders
            .iter()
            .any(|s| s.domain == domain && s.target == target)
        {
            return Ok(());
        }
        self.role.senders.push(Sender {
            domain,
            target,
            key: Key::Unsent,
        });
        if self.role.state == State::Ready {
            self.role.send_keys(&mut self.core, now);
        }
        Ok(())
    }

    /// Asks the server at the other end, as the Authoritative Server for
    /// `sender`, whether `key` is good for the stream `stream_id` on which
    /// `sender` sent it to our `receiving` domain (XEP-0220 §2.1.2): what
    /// the host does with a [`Request::Dialback`]. The answer comes as
    /// [`Event::Verified`] with the token returned here.
    ///
    /// [`Request::Dialback`]: crate::stream::Request::Dialback
    pub fn verify(
        &mut self,
        sender: &BareJid,
        receiving: &BareJid,
        stream_id: &str,
        key: &str,
        now: Instant,
    ) -> Result<Token, SendError> {
        if self.core.error().is_some() || self.role.state == State::Done {
            return Err(SendError::Closed);
        }
        let request = Dialback::request(
            Kind::Verify,
            receiving.as_str(),
            sender.as_str(),
            Some(stream_id),
            key,
        );
        let token = self.core.new_token();
        let timer = self.role.timer();
        self.core
            .set_timer(timer, Some(now + self.role.config.dialback_timeout));
        self.role.verifications.push(Verification {
            token,
            timer,
            request: request.clone(),
        });
        if self.role.state == State::Ready {
            self.core
                .send(&request.to_element())
                .expect("valid element");
        } else {
            self.role.queued.push(request);
        }
        Ok(token)
    }

    /// The id the Receiving Server gave this stream.
    pub fn stream_id(&self) -> Option<&str> {
        self.role.stream_id.as_deref()
    }
}

impl Outgoing {
    fn open(&mut self, core: &mut Core) {
        let mut h = StreamHeader::new(ns::SERVER);
        h.from = Some(self.local.to_string());
        h.to = Some(self.remote.to_string());
        h.dialback = true;
        core.send_header(&h);
        self.state = State::AwaitHeader;
    }

    fn timer(&mut self) -> TimerId {
        let t = TimerId(self.next_timer);
        self.next_timer = self.next_timer.checked_add(1).unwrap_or(FIRST_TIMER);
        t
    }

    /// Sends the key of every sending domain that has none out yet, made
    /// for this stream's id (XEP-0185).
    fn send_keys(&mut self, core: &mut Core, now: Instant) {
        let id = self.stream_id.clone().unwrap_or_default();
        for i in 0..self.senders.len() {
            if self.senders[i].key != Key::Unsent {
                continue;
            }
            let timer = self.timer();
            core.set_timer(timer, Some(now + self.config.dialback_timeout));
            let sender = &mut self.senders[i];
            sender.key = Key::Waiting(timer);
            let key = self
                .config
                .secret
                .key(sender.target.as_str(), sender.domain.as_str(), &id);
            let request = Dialback::request(
                Kind::Result,
                sender.domain.as_str(),
                sender.target.as_str(),
                None,
                &key,
            );
            core.send(&request.to_element()).expect("valid element");
        }
    }

    /// Negotiated: our keys and the host's verifications go out.
    fn ready(&mut self, core: &mut Core, now: Instant) {
        core.set_timer(NEGOTIATION, None);
        self.state = State::Ready;
        self.send_keys(core, now);
        for request in std::mem::take(&mut self.queued) {
            core.send(&request.to_element()).expect("valid element");
        }
    }

    fn on_features(&mut self, core: &mut Core, el: &Element, now: Instant) -> Result<(), Error> {
        let f = Features::parse(el);
        self.errors_feature = super::dialback::offers_errors(el);
        let secure = self.stage.has(Stage::SECURE);
        if !secure
            && self.config.tls != TlsRequirement::Unavailable
            && starttls::Initiator::offered(&f)
        {
            let mut cx = Cx {
                core,
                tls: &mut self.tls,
                rng: &mut *self.rng,
            };
            self.starttls.start(&mut cx);
            self.state = State::StartTls;
            return Ok(());
        }
        if !secure && self.config.tls == TlsRequirement::Required {
            self.state = State::Done;
            core.send_close();
            return Err(core.finish(Some(Error::Negotiation(
                "the remote server does not offer STARTTLS".into(),
            ))));
        }
        // XEP-0178: a server that verified our certificate for our domain
        // offers EXTERNAL, the preferred way; dialback if it fails.
        let external = Mechanism::External.name();
        if secure
            && !self.external_tried
            && f.mechanisms
                .as_deref()
                .is_some_and(|m| m.iter().any(|n| n == external))
        {
            self.external_tried = true;
            let auth = Element::new("auth", ns::SASL)
                .with_attr("mechanism", external)
                .with_text("=");
            core.send(&auth).expect("valid element");
            self.state = State::External;
            return Ok(());
        }
        self.ready(core, now);
        Ok(())
    }

    /// The answer to SASL EXTERNAL.
    fn on_external(&mut self, core: &mut Core, el: &Element, now: Instant) -> Result<(), Error> {
        if el.is("success", ns::SASL) {
            // Our domain is authenticated for every domain of the remote
            // server; the stream restarts (RFC 6120 §6.4.6).
            if let Some(s) = self.senders.iter_mut().find(|s| s.domain == self.local) {
                s.key = Key::Valid;
            }
            core.emit(Event::Authenticated {
                jid: self.local.clone(),
                method: AuthMethod::Sasl(Mechanism::External),
            });
            core.emit(Event::Pair {
                from: self.local.clone(),
                to: self.remote.clone(),
                verdict: Verdict::Valid,
            });
            core.restart();
            self.open(core);
            return Ok(());
        }
        if el.is("failure", ns::SASL) {
            // Dialback instead.
            self.ready(core, now);
            return Ok(());
        }
        Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType)))
    }

    /// A verdict on one of our keys.
    fn on_result(&mut self, core: &mut Core, answer: Dialback) -> Result<(), Error> {
        let Some(verdict) = answer.verdict else {
            // A key for us on our own outgoing stream: no bidi here.
            return Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType)));
        };
        let sender = self.senders.iter_mut().find(|s| {
            s.domain.as_str() == answer.to
                && s.target.as_str() == answer.from
                && matches!(s.key, Key::Waiting(_))
        });
        let Some(sender) = sender else {
            // XEP-0220 §3.1: no request of ours asked for this.
            return Err(core.fail(
                StreamError::new(Condition::NotAuthorized)
                    .with_text("unsolicited dialback verdict"),
            ));
        };
        if let Key::Waiting(t) = sender.key {
            core.set_timer(t, None);
        }
        sender.key = Key::Valid;
        let (from, to) = (sender.domain.clone(), sender.target.clone());
        if verdict != Verdict::Valid {
            self.senders.retain(|s| s.domain != from || s.target != to);
        }
        core.emit(Event::Pair { from, to, verdict });
        Ok(())
    }

    /// The Authoritative Server's answer to one of the host's requests.
    fn on_verify(&mut self, core: &mut Core, answer: Dialback) -> Result<(), Error> {
        let Some(verdict) = answer.verdict else {
            return Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType)));
        };
        let i = self.verifications.iter().position(|v| {
            v.request.from == answer.to && v.request.to == answer.from && v.request.id == answer.id
        });
        let Some(i) = i else {
            // XEP-0220 §2.1.2, §3.1: it must answer a request of ours.
            return Err(core.fail(
                StreamError::new(Condition::NotAuthorized)
                    .with_text("unsolicited dialback verification"),
            ));
        };
        let v = self.verifications.swap_remove(i);
        core.set_timer(v.timer, None);
        core.emit(Event::Verified {
            token: v.token,
            verdict,
        });
        Ok(())
    }
}

impl Role for Outgoing {
    fn on_stream_open(
        &mut self,
        core: &mut Core,
        header: StreamHeader,
        now: Instant,
    ) -> Result<(), Error> {
        if self.state != State::AwaitHeader {
            return Err(core.fail(
                StreamError::new(Condition::BadFormat).with_text("unexpected stream header"),
            ));
        }
        if header.content_ns != ns::SERVER {
            return Err(core.fail(StreamError::new(Condition::InvalidNamespace)));
        }
        if !header.dialback {
            self.state = State::Done;
            core.send_close();
            return Err(core.finish(Some(Error::Negotiation(
                "the remote server does not speak dialback".into(),
            ))));
        }
        self.stream_id = header.id.filter(|id| !id.is_empty());
        if header.version.is_some_and(|v| v >= Version::V1_0) {
            self.state = State::AwaitFeatures;
        } else {
            // RFC 6120 §4.7.5: no features from a pre-1.0 server.
            self.ready(core, now);
        }
        Ok(())
    }

    fn on_element(&mut self, core: &mut Core, el: Element, now: Instant) -> Result<(), Error> {
        match self.state {
            State::AwaitFeatures if el.is("features", ns::STREAM) => {
                self.on_features(core, &el, now)
            }
            State::StartTls => {
                let mut cx = Cx {
                    core,
                    tls: &mut self.tls,
                    rng: &mut *self.rng,
                };
                match self.starttls.handle(&mut cx, &el) {
                    Some(Ok(Progress::Pending)) => {
                        self.state = State::TlsHandshake;
                        Ok(())
                    }
                    Some(Err(e)) => {
                        self.state = State::Done;
                        core.send_close();
                        Err(core.finish(Some(e)))
                    }
                    _ => Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType))),
                }
            }
            State::External => self.on_external(core, &el, now),
            State::Ready if el.ns() == ns::DIALBACK => {
                let answer = match Dialback::parse(el.as_ref()) {
                    Ok(d) => d,
                    Err(e) => {
                        return Err(core.fail(
                            StreamError::new(Condition::BadFormat).with_text(&e.to_string()),
                        ));
                    }
                };
                match answer.kind {
                    Kind::Result => self.on_result(core, answer),
                    Kind::Verify => self.on_verify(core, answer),
                }
            }
            _ => Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType))),
        }
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
        self.open(core);
        Ok(())
    }

    fn on_timer(&mut self, core: &mut Core, timer: TimerId, _now: Instant) -> Result<(), Error> {
        if timer == NEGOTIATION {
            self.state = State::Done;
            return Err(core.fail(
                StreamError::new(Condition::ConnectionTimeout)
                    .with_text("negotiation took too long"),
            ));
        }
        let timeout = Verdict::Error(DefinedCondition::RemoteServerTimeout);
        if let Some(i) = self
            .senders
            .iter()
            .position(|s| s.key == Key::Waiting(timer))
        {
            let sender = self.senders.swap_remove(i);
            core.emit(Event::Pair {
                from: sender.domain,
                to: sender.target,
                verdict: timeout,
            });
        } else if let Some(i) = self.verifications.iter().position(|v| v.timer == timer) {
            let v = self.verifications.swap_remove(i);
            core.emit(Event::Verified {
                token: v.token,
                verdict: timeout,
            });
        }
        Ok(())
    }

    fn on_send(&mut self, _core: &mut Core, stanza: &mut Element) -> Result<(), SendError> {
        if self.state != State::Ready {
            return Err(SendError::NotOnline);
        }
        // Only for a domain pair the Receiving Server accepted.
        let (Some(from), Some(to)) = (
            stanza.attr("from").and_then(super::domain_of),
            stanza.attr("to").and_then(super::domain_of),
        ) else {
            return Err(SendError::Unauthorized);
        };
        let valid = self
            .senders
            .iter()
            .any(|s| s.domain == from && s.target == to && s.key == Key::Valid);
        if !valid {
            return Err(SendError::Unauthorized);
        }
        if stanza.ns() == ns::CLIENT {
            stanza.move_ns(ns::CLIENT, ns::SERVER);
        }
        Ok(())
    }
}
