//! The receiving side of a client-to-server stream (RFC 6120 §4-§8): the
//! response header, features per stage, STARTTLS, SASL with credentials
//! from the host, resource binding decided by the host, then stanzas with
//! `from` stamped by the server (§8.1.2.1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jid::{BareJid, FullJid};

use crate::ns;
use crate::random::Random;
use crate::sasl::{self, TlsInfo};
use crate::sm;
use crate::stanza::DefinedCondition;
use crate::stream::connection::{Core, Role, SendError, TimerId};
use crate::stream::features::Features;
use crate::stream::framing::Framing;
use crate::stream::negotiation::bind::BindDecision;
use crate::stream::negotiation::sm as sm_negotiation;
use crate::stream::negotiation::{
    Cx, Progress, Rules, Stage, bind, sasl as sasl_negotiation, starttls,
};
use crate::stream::{
    AnswerError, AuthMethod, Condition, Connection, Error, Event, StreamError, StreamHeader,
    StreamLimits, Token, Version,
};
use crate::xml::{Element, Limits};

/// Whether the server offers and requires TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRequirement {
    /// STARTTLS is offered with `<required/>`; nothing else before it.
    Required,
    /// STARTTLS is offered; authentication may also happen without it.
    Optional,
    /// No TLS (no certificate): never offered.
    Unavailable,
}

/// What a [`ServerStream`] needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The domains served; a header whose `to` names another is refused
    /// with `host-unknown` (RFC 6120 §4.9.3.6).
    pub domains: Vec<String>,
    /// STARTTLS policy.
    pub tls: TlsRequirement,
    /// SASL mechanisms and their settings.
    pub sasl: sasl::ServerConfig,
    /// Limits until the client has authenticated.
    pub limits_before_auth: Limits,
    /// Limits once it has.
    pub limits: Limits,
    /// Advertise the element size limit (XEP-0478).
    pub advertise_limits: bool,
    /// Negotiation must be done within this time.
    pub negotiation_timeout: Duration,
    /// Failed SASL attempts allowed before the stream is closed.
    pub max_auth_failures: u32,
    /// Namespaces of first-level elements the host handles itself once
    /// the client is online (stream management's `urn:xmpp:sm:3`, ...):
    /// such elements reach it as [`Event::Stanza`]. Any other element that
    /// is not a stanza ends the stream with `unsupported-stanza-type`
    /// (RFC 6120 §4.8.4).
    pub extension_namespaces: Vec<String>,
    /// The language of the human-readable text the server generates,
    /// announced as `xml:lang` of its stream (RFC 6120 §4.7.4).
    pub lang: String,
    /// How long an online client may send nothing at all (not even a
    /// whitespace keepalive) before the server checks on it (RFC 6120
    /// §4.6.4). Advertised as XEP-0478 `idle-seconds` with the limits.
    /// `None` never checks: a peer that goes silent without closing its
    /// TCP connection then holds its session until the host ends it.
    pub idle_timeout: Option<Duration>,
    /// After [`idle_timeout`](Self::idle_timeout), send an XEP-0199 ping
    /// and wait this long for any traffic before ending the stream with
    /// `connection-timeout`; `None` ends it at once.
    pub idle_ping_timeout: Option<Duration>,
    /// Informative features advertised once the client has
    /// authenticated, next to binding: what the host implements, such as
    /// roster versioning (`<ver xmlns='urn:xmpp:features:rosterver'/>`,
    /// RFC 6121 §2.6.1) or subscription pre-approval (`<sub
    /// xmlns='urn:xmpp:features:pre-approval'/>`, §3.4). None by default.
    pub informative_features: Vec<Element>,
    /// Offer stream management (XEP-0198) to authenticated clients: acks,
    /// and with [`sm::Config::resume`] resumption, for which the host
    /// answers [`Request::Resume`](crate::stream::Request::Resume) and
    /// keeps the sessions of broken streams ([`Event::Suspended`]) for
    /// [`sm::Config::max`]. `None` (the default) does not offer it.
    pub stream_management: Option<sm::Config>,
}

impl ServerConfig {
    /// A configuration serving `domain`, TLS required, with the server's
    /// decoy key (see [`sasl::DecoyKey`]: one per server, kept across
    /// restarts). Build it once and share it, as an `Arc`, between every
    /// [`ServerStream`] of the server.
    pub fn new(domain: &str, decoy_key: sasl::DecoyKey) -> ServerConfig {
        ServerConfig {
            domains: vec![domain.to_owned()],
            tls: TlsRequirement::Required,
            sasl: sasl::ServerConfig::new(decoy_key),
            limits_before_auth: Limits::before_auth(),
            limits: Limits::default(),
            advertise_limits: true,
            negotiation_timeout: Duration::from_secs(60),
            max_auth_failures: 3,
            extension_namespaces: Vec::new(),
            lang: "en".to_owned(),
            idle_timeout: Some(Duration::from_secs(300)),
            idle_ping_timeout: Some(Duration::from_secs(60)),
            informative_features: Vec::new(),
            stream_management: None,
        }
    }
}

/// Where the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHeader,
    /// Features sent; the client picks one.
    Negotiating,
    /// `<proceed/>` sent; the host runs the handshake.
    TlsHandshake,
    Online,
    Done,
}

/// The features a c2s server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    StartTls,
    Sasl,
    Bind,
    /// Stream management resumption, in binding's place.
    Resume,
}

/// The server role of a c2s stream; see [`ServerStream`].
pub struct Server {
    config: Arc<ServerConfig>,
    rng: Box<dyn Random>,
    state: State,
    stage: Stage,
    tls: TlsInfo,
    /// Which of the configured domains this stream serves.
    domain: usize,
    starttls: starttls::Receiver,
    sasl: sasl_negotiation::Receiver,
    bind: bind::Receiver,
    sm: sm_negotiation::Receiver,
    /// The session was resumed rather than bound.
    resumed: bool,
    /// The id of our idle check's ping and when it went out.
    ping: Option<(Option<String>, Instant)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("domain", &self.domain())
            .field("state", &self.state)
            .field("stage", &self.stage)
            .field("sasl", &self.sasl)
            .field("bind", &self.bind)
            .finish_non_exhaustive()
    }
}

/// A client-to-server stream, receiving side: what a server runs for
/// each client connection.
///
/// Besides the shared host loop (see [`Connection`]), the host answers two
/// questions, each by its token: [`Request::Credentials`] with
/// [`ServerStream::provide_credentials`] (looked up in its own user
/// database: stored SCRAM records, never passwords), and
/// [`Request::Bind`] with [`ServerStream::bind`] (its resource conflict
/// policy). The [`c2s`](crate::c2s) module shows a complete host loop.
///
/// [`Request::Credentials`]: crate::stream::Request::Credentials
/// [`Request::Bind`]: crate::stream::Request::Bind
pub type ServerStream = Connection<Server>;

/// [`ServerStream::resume`] did not take its answer: why, and the session
/// handed in, back (nothing the host hands over is lost).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ResumeRefused {
    /// Why.
    pub error: AnswerError,
    /// The session, as the host gave it.
    pub session: Option<Box<sm::Session>>,
}

/// Negotiation must be done by then.
const NEGOTIATION: TimerId = TimerId(1);
/// Time to check whether the client went idle.
const IDLE_CHECK: TimerId = TimerId(2);
/// Our idle check's ping must be answered by then.
const PING_DEADLINE: TimerId = TimerId(3);

impl Connection<Server> {
    /// A stream for a freshly accepted TCP connection. For direct TLS
    /// (XEP-0368), `tls` is what the host's handshake gave. `config` is
    /// the server's one configuration, shared by all its streams.
    pub fn new(
        config: Arc<ServerConfig>,
        tls: Option<TlsInfo>,
        rng: Box<dyn Random>,
        now: Instant,
    ) -> ServerStream {
        Self::with_framing(config, Framing::Tcp, tls, rng, now)
    }

    /// A stream for a connection over `framing`. Over WebSocket STARTTLS
    /// is never offered (RFC 7395 §3.9): pass the `wss:` connection's
    /// [`TlsInfo`] as `tls`.
    pub fn with_framing(
        config: Arc<ServerConfig>,
        framing: Framing,
        tls: Option<TlsInfo>,
        rng: Box<dyn Random>,
        now: Instant,
    ) -> ServerStream {
        let mut core = Core::new(framing, config.limits_before_auth.clone(), ns::CLIENT);
        core.set_timer(NEGOTIATION, Some(now + config.negotiation_timeout));
        let tls = tls.unwrap_or_else(TlsInfo::plaintext);
        let server = Server {
            stage: Stage::of(&tls),
            tls,
            config,
            rng,
            state: State::AwaitHeader,
            domain: 0,
            starttls: starttls::Receiver,
            sasl: sasl_negotiation::Receiver::default(),
            bind: bind::Receiver::default(),
            sm: sm_negotiation::Receiver::default(),
            resumed: false,
            ping: None,
        };
        core.set_fallback_header(server.fallback_header());
        Connection { core, role: server }
    }

    /// Answers [`Request::Credentials`] `token`: the user's stored
    /// credentials, or `None` for an unknown user (the exchange then fails
    /// the same way a wrong password does).
    ///
    /// [`Request::Credentials`]: crate::stream::Request::Credentials
    pub fn provide_credentials(
        &mut self,
        token: Token,
        credentials: Option<sasl::Credentials>,
        now: Instant,
    ) -> Result<(), AnswerError> {
        if !self.role.sasl.asked(token) {
            return Err(self.stray(token));
        }
        self.take_answer(token)?;
        let role = &mut self.role;
        let mut cx = Cx {
            core: &mut self.core,
            tls: &mut role.tls,
            rng: &mut *role.rng,
        };
        let policy = sasl_policy(&role.config, role.domain);
        let progress = role.sasl.provide(&mut cx, credentials, &policy);
        role.progress(&mut self.core, Feature::Sasl, progress, now)?;
        self.after_answer(now)
    }

    /// Answers [`Request::Bind`] `token`.
    ///
    /// [`Request::Bind`]: crate::stream::Request::Bind
    pub fn bind(
        &mut self,
        token: Token,
        decision: BindDecision,
        now: Instant,
    ) -> Result<(), AnswerError> {
        if !self.role.bind.asked(token) {
            return Err(self.stray(token));
        }
        self.take_answer(token)?;
        let role = &mut self.role;
        let user = role
            .user()
            .cloned()
            .expect("binding follows authentication");
        let mut cx = Cx {
            core: &mut self.core,
            tls: &mut role.tls,
            rng: &mut *role.rng,
        };
        let progress = role.bind.answer(&mut cx, decision, &user);
        role.progress(&mut self.core, Feature::Bind, progress, now)?;
        self.after_answer(now)
    }

    /// Answers [`Request::Resume`] `token` with the session the client
    /// asked for, or `None` when there is none (it expired, or belongs to
    /// another user): the client is then told `item-not-found` and binds
    /// a resource instead. A session whose SM-ID or user does not match
    /// the request counts as none, and its stanzas come back in
    /// [`Event::Unsent`].
    ///
    /// On success the stream goes online as the session's full JID
    /// ([`Event::Resumed`]) and sends again what the client had not
    /// acknowledged.
    ///
    /// An answer that is not taken (the token names no open question, or
    /// the stream has ended meanwhile) hands the session back.
    ///
    /// [`Request::Resume`]: crate::stream::Request::Resume
    pub fn resume(
        &mut self,
        token: Token,
        session: Option<sm::Session>,
        now: Instant,
    ) -> Result<(), ResumeRefused> {
        let refused = |error, session: Option<sm::Session>| ResumeRefused {
            error,
            session: session.map(Box::new),
        };
        if !self.role.sm.asked(token) {
            return Err(refused(self.stray(token), session));
        }
        if let Err(e) = self.take_answer(token) {
            return Err(refused(e, session));
        }
        let role = &mut self.role;
        let user = role
            .user()
            .cloned()
            .expect("resumption follows authentication");
        let mut cx = Cx {
            core: &mut self.core,
            tls: &mut role.tls,
            rng: &mut *role.rng,
        };
        let config = role.config.stream_management.as_ref();
        let progress = match role.sm.answer(&mut cx, session, config, &user) {
            Ok(Some(jid)) => {
                role.bind.jid = Some(jid);
                role.resumed = true;
                Ok(Progress::Done)
            }
            Ok(None) => Ok(Progress::Retry),
            Err(e) => Err(e),
        };
        let ended = |e| ResumeRefused {
            error: AnswerError::Ended(e),
            session: None,
        };
        role.progress(&mut self.core, Feature::Resume, progress, now)
            .map_err(ended)?;
        self.after_answer(now).map_err(|error| ResumeRefused {
            error,
            session: None,
        })
    }

    /// The authenticated bare JID, once SASL succeeded.
    pub fn authenticated_jid(&self) -> Option<&BareJid> {
        self.role.user()
    }

    /// The bound full JID, once online.
    pub fn bound_jid(&self) -> Option<&FullJid> {
        self.role.bind.jid.as_ref()
    }

    /// An answer that fits no open question: the sticky error once the
    /// stream ended, else a typed error; the stream goes on.
    fn stray(&self, token: Token) -> AnswerError {
        match self.core.error() {
            Some(e) => AnswerError::Ended(e.clone()),
            None => AnswerError::UnknownToken(token),
        }
    }
}

impl Server {
    fn fallback_header(&self) -> StreamHeader {
        let mut h = StreamHeader::new(ns::CLIENT);
        h.from = Some(self.domain().to_owned());
        h
    }

    /// The domain this stream serves.
    fn domain(&self) -> &str {
        domain_of(&self.config, self.domain)
    }

    fn user(&self) -> Option<&BareJid> {
        self.sasl.authenticated.as_ref().map(|(jid, _)| jid)
    }

    fn rules(&self, feature: Feature) -> Rules {
        match feature {
            Feature::StartTls => starttls::RULES,
            Feature::Sasl => sasl_negotiation::rules(self.config.tls != TlsRequirement::Required),
            Feature::Bind => bind::RULES,
            Feature::Resume => sm_negotiation::RESUME_RULES,
        }
    }

    /// Whether the feature may run now: its rules, and what this server
    /// has (RFC 7395 §3.9: no STARTTLS over WebSocket).
    fn offers(&self, core: &Core, feature: Feature) -> bool {
        self.rules(feature).allowed(self.stage)
            && (feature != Feature::StartTls
                || (self.config.tls != TlsRequirement::Unavailable && core.allows_starttls()))
    }

    fn send_features(&mut self, core: &mut Core) {
        let mut f = Features::default();
        if self.offers(core, Feature::StartTls) {
            self.starttls
                .advertise(&mut f, self.config.tls == TlsRequirement::Required);
        }
        if self.offers(core, Feature::Sasl) {
            self.sasl.advertise(&self.tls, &mut f, &self.config.sasl);
        }
        if self.offers(core, Feature::Bind) {
            self.bind.advertise(&mut f);
            // XEP-0198 §3: offered where stanzas may start flowing.
            if self.config.stream_management.is_some() {
                sm_negotiation::Receiver::advertise(&mut f);
            }
        }
        if self.stage.has(Stage::AUTHENTICATED) {
            f.other.clone_from(&self.config.informative_features);
        }
        if self.config.advertise_limits {
            f.limits = Some(if self.stage.has(Stage::AUTHENTICATED) {
                let idle = self.config.idle_timeout.map(|d| d.as_secs().max(1));
                StreamLimits::from_limits(&self.config.limits, idle)
            } else {
                StreamLimits::from_limits(&self.config.limits_before_auth, None)
            });
        }
        core.send(&f.to_element()).expect("valid element");
        self.state = State::Negotiating;
    }

    /// An element during negotiation goes to the feature it belongs to.
    fn on_negotiation(&mut self, core: &mut Core, el: &Element, now: Instant) -> Result<(), Error> {
        let mut cx = Cx {
            core,
            tls: &mut self.tls,
            rng: &mut *self.rng,
        };
        let policy = sasl_policy(&self.config, self.domain);
        let authenticated = self.stage.has(Stage::AUTHENTICATED);
        let starttls_offered = self.config.tls != TlsRequirement::Unavailable
            && cx.core.allows_starttls()
            && starttls::RULES.allowed(self.stage);
        let (feature, progress) = if starttls_offered && starttls::Receiver::accepts(el) {
            self.state = State::TlsHandshake;
            (Feature::StartTls, self.starttls.handle(&mut cx))
        } else if !authenticated && self.sasl.accepts(el) {
            // An <auth/> before TLS is refused by SASL itself, with
            // encryption-required (RFC 6120 §6.4.1).
            (Feature::Sasl, self.sasl.handle(&mut cx, el, &policy))
        } else if authenticated && sm_negotiation::Receiver::accepts(el) {
            if el.name() == "resume" {
                let user = self.sasl.authenticated.as_ref().map(|(j, _)| j.clone());
                let user = user.expect("authenticated");
                let config = self.config.stream_management.as_ref();
                self.sm.resume(&mut cx, el, config, &user);
            } else {
                // XEP-0198 §3: enabling must wait for binding.
                sm_negotiation::Receiver::refuse(&mut cx, DefinedCondition::UnexpectedRequest);
            }
            return Ok(());
        } else if authenticated && !self.stage.has(Stage::BOUND) && bind::Receiver::accepts(el) {
            let user = self.sasl.authenticated.as_ref().map(|(j, _)| j.clone());
            let user = user.expect("authenticated");
            (Feature::Bind, Ok(self.bind.handle(&mut cx, el, &user)))
        } else if authenticated && el.is("iq", ns::CLIENT) && el.attr("type") == Some("set") {
            return Err(cx.core.fail(
                StreamError::new(Condition::NotAuthorized).with_text("bind a resource first"),
            ));
        } else if Self::is_stanza(el) {
            // RFC 6120 §4.9.3.12: no stanzas before the stream is
            // authenticated and bound.
            self.state = State::Done;
            return Err(cx.core.fail(StreamError::new(Condition::NotAuthorized)));
        } else {
            self.state = State::Done;
            return Err(cx
                .core
                .fail(StreamError::new(Condition::UnsupportedStanzaType)));
        };
        self.progress(core, feature, progress, now)
    }

    /// What a feature's step means for the stream.
    fn progress(
        &mut self,
        core: &mut Core,
        feature: Feature,
        progress: Result<Progress, Error>,
        now: Instant,
    ) -> Result<(), Error> {
        match progress {
            Err(e) => {
                self.state = State::Done;
                Err(e)
            }
            Ok(Progress::Pending | Progress::Retry) => Ok(()),
            Ok(Progress::Done) => self.feature_done(core, feature, now),
        }
    }

    /// A feature succeeded: the stage moves on and the stream restarts if
    /// the feature says so.
    fn feature_done(
        &mut self,
        core: &mut Core,
        feature: Feature,
        now: Instant,
    ) -> Result<(), Error> {
        let rules = self.rules(feature);
        self.stage = self.stage.with(rules.grants);
        match feature {
            Feature::StartTls => {}
            Feature::Sasl => {
                let (jid, mechanism) = self.sasl.authenticated.clone().expect("set on success");
                // Channel binding served SASL; nothing needs the data now.
                self.tls.bindings = Vec::new();
                core.emit(Event::Authenticated {
                    jid,
                    method: AuthMethod::Sasl(mechanism),
                });
                core.set_limits(self.config.limits.clone());
            }
            Feature::Bind | Feature::Resume => {
                core.set_timer(NEGOTIATION, None);
                if let Some(idle) = self.config.idle_timeout {
                    core.set_timer(IDLE_CHECK, Some(now + idle));
                }
                self.state = State::Online;
                let jid = self.bind.jid.clone().expect("set on success");
                core.emit(if self.resumed {
                    Event::Resumed { jid }
                } else {
                    Event::Online { jid }
                });
            }
        }
        if rules.restarts {
            // RFC 6120 §4.3.3: the client opens a new stream.
            core.restart();
            core.set_fallback_header(self.fallback_header());
            self.state = State::AwaitHeader;
        }
        Ok(())
    }

    /// RFC 6120 §8.1.2.1: the server stamps `from` with the full JID (the
    /// bare JID for subscription-related presence, RFC 6121 §3.1.2).
    fn stamp(&self, mut stanza: Element) -> Element {
        let subscription = stanza.name() == "presence"
            && matches!(
                stanza.attr("type"),
                Some("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed")
            );
        match (&self.bind.jid, self.user()) {
            (_, Some(user)) if subscription => stanza.set_attr("from", user.as_str()),
            (Some(full), _) => stanza.set_attr("from", full.as_str()),
            _ => {}
        }
        stanza
    }

    /// RFC 6120 §4.6.4 and XEP-0478 `idle-seconds`: once online, a client
    /// silent for [`ServerConfig::idle_timeout`] is pinged (or, without a
    /// ping timeout, its stream ends with `connection-timeout`). The check
    /// runs when the timer fires and re-arms from the last traffic, so
    /// reading costs nothing per byte.
    fn idle_check(&mut self, core: &mut Core, now: Instant) -> Result<(), Error> {
        let Some(idle) = self.config.idle_timeout else {
            return Ok(());
        };
        if !matches!(self.state, State::Online) || core.close_sent() || self.ping.is_some() {
            return Ok(());
        }
        let since = core.last_input().unwrap_or(now);
        if since + idle > now {
            core.set_timer(IDLE_CHECK, Some(since + idle));
            return Ok(());
        }
        let Some(wait) = self.config.idle_ping_timeout else {
            self.state = State::Done;
            return Err(core.fail(
                StreamError::new(Condition::ConnectionTimeout)
                    .with_text("no traffic within the idle timeout"),
            ));
        };
        if core.managed().is_some() {
            // With stream management an <r/> asks for a sign of life
            // without a stanza to count.
            core.sm_request(now);
            core.set_timer(PING_DEADLINE, Some(now + wait));
            self.ping = Some((None, now));
            return Ok(());
        }
        let mut raw = [0u8; 8];
        self.rng.fill(&mut raw);
        let id = format!("idle-{:016x}", u64::from_le_bytes(raw));
        let ping = Element::new("iq", ns::CLIENT)
            .with_attr("type", "get")
            .with_attr("id", &id)
            .with_attr("from", self.domain())
            .with_attr(
                "to",
                self.bind.jid.as_ref().map_or(self.domain(), |j| j.as_str()),
            )
            .with_child(Element::new("ping", ns::PING));
        core.send(&ping).expect("valid element");
        core.set_timer(PING_DEADLINE, Some(now + wait));
        self.ping = Some((Some(id), now));
        Ok(())
    }

    fn is_stanza(el: &Element) -> bool {
        el.ns() == ns::CLIENT && matches!(el.name(), "message" | "presence" | "iq")
    }
}

/// Configured domain `i`.
fn domain_of(config: &ServerConfig, i: usize) -> &str {
    config.domains.get(i).map_or("", String::as_str)
}

/// SASL's policy for a stream serving configured domain `domain`.
fn sasl_policy(config: &ServerConfig, domain: usize) -> sasl_negotiation::Policy<'_> {
    sasl_negotiation::Policy {
        config: &config.sasl,
        domain: domain_of(config, domain),
        max_failures: config.max_auth_failures,
    }
}

impl Role for Server {
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
        // RFC 6120 §4.9.1.2: even when refusing the header, answer with
        // ours first so that the error can be sent in a stream.
        let wanted = header.to.clone().unwrap_or_default();
        let served = self
            .config
            .domains
            .iter()
            .position(|d| d.eq_ignore_ascii_case(&wanted));
        if let Some(i) = served {
            self.domain = i;
        }
        let served = served.is_some();
        let mut id = [0u8; 16];
        self.rng.fill(&mut id);
        let mut ours = StreamHeader::new(ns::CLIENT);
        ours.from = Some(self.domain().to_owned());
        ours.to = header.from.clone();
        ours.id = Some(id.iter().map(|b| format!("{b:02x}")).collect());
        ours.version = StreamHeader::response_version(header.version, Version::V1_0);
        // RFC 6120 §4.7.4: the response MUST carry xml:lang; the texts
        // this server generates are in its configured language.
        ours.lang = Some(self.config.lang.clone());
        core.send_header(&ours);
        if header.content_ns != ns::CLIENT {
            return Err(core.fail(StreamError::new(Condition::InvalidNamespace)));
        }
        if !served {
            return Err(core.fail(StreamError::new(Condition::HostUnknown)));
        }
        if header.version.is_none_or(|v| v.major < 1) {
            // RFC 6120 §4.7.5: a pre-1.0 peer gets no features, and this
            // server speaks nothing older.
            return Err(core.fail(StreamError::new(Condition::UnsupportedVersion)));
        }
        self.send_features(core);
        Ok(())
    }

    fn on_element(&mut self, core: &mut Core, el: Element, now: Instant) -> Result<(), Error> {
        match self.state {
            State::Negotiating => self.on_negotiation(core, &el, now),
            State::Online => {
                if self
                    .ping
                    .as_ref()
                    .and_then(|(id, _)| id.as_deref())
                    .is_some_and(|id| super::answers_iq(&el, id))
                {
                    // The answer to our idle check.
                    self.ping = None;
                    core.set_timer(PING_DEADLINE, None);
                    if let Some(idle) = self.config.idle_timeout {
                        core.set_timer(IDLE_CHECK, Some(now + idle));
                    }
                    return Ok(());
                }
                if sm_negotiation::Receiver::accepts(&el) {
                    let mut cx = Cx {
                        core,
                        tls: &mut self.tls,
                        rng: &mut *self.rng,
                    };
                    if el.name() == "resume" {
                        // XEP-0198 §5: resumption takes binding's place.
                        sm_negotiation::Receiver::refuse(
                            &mut cx,
                            DefinedCondition::UnexpectedRequest,
                        );
                        return Ok(());
                    }
                    let jid = self.bind.jid.clone().expect("online");
                    let config = self.config.stream_management.as_ref();
                    return self.sm.enable(&mut cx, &el, config, &jid);
                }
                if Self::is_stanza(&el) {
                    if let Some(reply) = bind::Receiver::session_reply(&el) {
                        core.send(&reply).expect("valid element");
                        return Ok(());
                    }
                    core.deliver(self.stamp(el));
                    Ok(())
                } else if self
                    .config
                    .extension_namespaces
                    .iter()
                    .any(|n| n == el.ns())
                {
                    core.deliver(el);
                    Ok(())
                } else {
                    Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType)))
                }
            }
            State::AwaitHeader | State::TlsHandshake | State::Done => {
                Err(core.fail(StreamError::new(Condition::NotAuthorized)))
            }
        }
    }

    fn on_tls(&mut self, core: &mut Core, info: TlsInfo, now: Instant) -> Result<(), Error> {
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
        self.feature_done(core, Feature::StartTls, now)
    }

    fn on_timer(&mut self, core: &mut Core, timer: TimerId, now: Instant) -> Result<(), Error> {
        match timer {
            NEGOTIATION => Err(core.fail(StreamError::new(Condition::ConnectionTimeout))),
            IDLE_CHECK => self.idle_check(core, now),
            PING_DEADLINE if self.ping.is_some() && !core.close_sent() => {
                let (_, sent) = self.ping.take().expect("checked");
                if core.last_input().is_some_and(|t| t > sent) {
                    // Traffic since the ping: alive, whether or not it
                    // answered the ping itself.
                    return self.idle_check(core, now);
                }
                self.state = State::Done;
                Err(core.fail(
                    StreamError::new(Condition::ConnectionTimeout).with_text("no answer to ping"),
                ))
            }
            _ => Ok(()),
        }
    }

    fn on_send(&mut self, _core: &mut Core, stanza: &mut Element) -> Result<(), SendError> {
        if self.state != State::Online {
            return Err(SendError::NotOnline);
        }
        // A stanza routed from a server-to-server or component stream
        // moves into this stream's content namespace (RFC 6120 §4.8.3).
        for other in [ns::SERVER, ns::COMPONENT_ACCEPT] {
            if stanza.ns() == other {
                stanza.move_ns(other, ns::CLIENT);
            }
        }
        Ok(())
    }
}
