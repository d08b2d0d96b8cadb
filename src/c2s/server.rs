//! The receiving side of a client-to-server stream (RFC 6120 §4-§8): the
//! response header, features per stage, STARTTLS, SASL with credentials
//! from the host, resource binding decided by the host, then stanzas with
//! `from` stamped by the server (§8.1.2.1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::features::{Features, decode_sasl, encode_sasl};
use crate::ns;
use crate::random::Random;
use crate::sasl::{self, TlsInfo};
use crate::stanza::{DefinedCondition, StanzaError};
use crate::stream::connection::{AfterStartTls, Core, Role, SendError, TimerId};
use crate::stream::framing::Framing;
use crate::stream::{
    AnswerError, Condition, Connection, Error, Event, Request, StreamError, StreamHeader,
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
        }
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

#[derive(Debug)]
enum State {
    AwaitHeader,
    /// Features sent; the client picks one.
    Negotiating,
    /// `<proceed/>` sent; the host runs the handshake.
    TlsHandshake,
    /// A SASL exchange is under way.
    Auth(Box<sasl::Server>),
    /// Waiting for [`ServerStream::provide_credentials`].
    AwaitCredentials {
        token: Token,
        server: Box<sasl::Server>,
    },
    /// Waiting for [`ServerStream::bind`].
    AwaitBind {
        token: Token,
        id: String,
    },
    Online,
    Done,
}

/// The server role of a c2s stream; see [`ServerStream`].
pub struct Server {
    config: Arc<ServerConfig>,
    rng: Box<dyn Random>,
    state: State,
    tls: TlsInfo,
    domain: String,
    /// The authenticated bare JID.
    user: Option<String>,
    /// The bound full JID.
    jid: Option<String>,
    advertised: Option<sasl::Advertisement>,
    failures: u32,
    /// The id of our idle check's ping and when it went out.
    ping: Option<(String, Instant)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("domain", &self.domain)
            .field("state", &self.state)
            .field("user", &self.user)
            .field("jid", &self.jid)
            .finish_non_exhaustive()
    }
}

/// A client-to-server stream, receiving side: what a server runs for
/// each client connection.
///
/// Besides the shared host loop (see [`Connection`]), the host answers two
/// requests: [`Request::Credentials`] with
/// [`ServerStream::provide_credentials`] (looked up in its own user
/// database: stored SCRAM records, never passwords), and
/// [`Request::Bind`] with [`ServerStream::bind`] (its resource conflict
/// policy). The [`c2s`](crate::c2s) module shows a complete host loop.
pub type ServerStream = Connection<Server>;

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
        let domain = config.domains.first().cloned().unwrap_or_default();
        let server = Server {
            tls: tls.unwrap_or_else(TlsInfo::plaintext),
            config,
            rng,
            state: State::AwaitHeader,
            domain,
            user: None,
            jid: None,
            advertised: None,
            failures: 0,
            ping: None,
        };
        core.set_fallback_header(server.fallback_header());
        Connection { core, role: server }
    }

    /// Answers [`Request::Credentials`] `token`: the user's stored
    /// credentials, or `None` for an unknown user (the exchange then fails
    /// the same way a wrong password does).
    pub fn provide_credentials(
        &mut self,
        token: Token,
        credentials: Option<sasl::Credentials>,
        now: Instant,
    ) -> Result<(), AnswerError> {
        if !matches!(&self.role.state, State::AwaitCredentials { token: t, .. } if *t == token) {
            return Err(self.stray(token));
        }
        self.take_answer(token)?;
        let State::AwaitCredentials { mut server, .. } =
            std::mem::replace(&mut self.role.state, State::Done)
        else {
            unreachable!("checked above")
        };
        let out = server.provide_credentials(credentials);
        self.role.state = State::Auth(server);
        self.role.sasl_output(&mut self.core, out)?;
        self.after_answer(now)
    }

    /// Answers [`Request::Bind`] `token`.
    pub fn bind(
        &mut self,
        token: Token,
        decision: BindDecision,
        now: Instant,
    ) -> Result<(), AnswerError> {
        if !matches!(&self.role.state, State::AwaitBind { token: t, .. } if *t == token) {
            return Err(self.stray(token));
        }
        self.take_answer(token)?;
        let State::AwaitBind { id, .. } =
            std::mem::replace(&mut self.role.state, State::Negotiating)
        else {
            unreachable!("checked above")
        };
        let user = self.role.user.clone().unwrap_or_default();
        match decision {
            BindDecision::Accept(resource) => {
                let full =
                    match jid::BareJid::new(&user).and_then(|b| b.with_resource_str(&resource)) {
                        Ok(j) => j.to_string(),
                        Err(_) => {
                            self.role
                                .iq_error(&mut self.core, &id, DefinedCondition::BadRequest);
                            return self.after_answer(now);
                        }
                    };
                let result = Element::new("iq", ns::CLIENT)
                    .with_attr("type", "result")
                    .with_attr("id", &id)
                    .with_child(
                        Element::new("bind", ns::BIND)
                            .with_child(Element::new("jid", ns::BIND).with_text(&full)),
                    );
                self.core.send(&result).map_err(|e| {
                    self.core.fail(
                        StreamError::new(Condition::InternalServerError).with_text(&e.to_string()),
                    )
                })?;
                self.core.set_timer(NEGOTIATION, None);
                if let Some(idle) = self.role.config.idle_timeout {
                    self.core.set_timer(IDLE_CHECK, Some(now + idle));
                }
                self.role.jid = Some(full.clone());
                self.role.state = State::Online;
                self.core.emit(Event::Online { jid: full });
            }
            BindDecision::Conflict => {
                self.role
                    .iq_error(&mut self.core, &id, DefinedCondition::Conflict)
            }
            BindDecision::NotAllowed => {
                self.role
                    .iq_error(&mut self.core, &id, DefinedCondition::NotAllowed)
            }
        }
        self.after_answer(now)
    }

    /// The authenticated bare JID, once SASL succeeded.
    pub fn authenticated_jid(&self) -> Option<&str> {
        self.role.user.as_deref()
    }

    /// The bound full JID, once online.
    pub fn bound_jid(&self) -> Option<&str> {
        self.role.jid.as_deref()
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
        h.from = Some(self.domain.clone());
        h
    }

    fn send_features(&mut self, core: &mut Core) {
        let mut f = Features::default();
        // RFC 7395 §3.9: never over WebSocket, whose TLS is its own.
        let tls_offered = !self.tls.active
            && self.config.tls != TlsRequirement::Unavailable
            && core.allows_starttls();
        if tls_offered {
            f.starttls = Some(self.config.tls == TlsRequirement::Required);
        }
        let may_auth = self.tls.active || self.config.tls != TlsRequirement::Required;
        self.advertised = None;
        if self.user.is_none() {
            if may_auth {
                let adv = self.config.sasl.advertisement(&self.tls);
                f.mechanisms = Some(adv.mechanisms.clone());
                f.channel_bindings = adv.channel_bindings.clone();
                self.advertised = Some(adv);
            }
            if self.config.advertise_limits {
                f.limits = Some(StreamLimits::from_limits(
                    &self.config.limits_before_auth,
                    None,
                ));
            }
        } else {
            f.bind = true;
            // RFC 6121 Appendix E: advertised for old clients, optional.
            f.session = Some(true);
            if self.config.advertise_limits {
                let idle = self.config.idle_timeout.map(|d| d.as_secs().max(1));
                f.limits = Some(StreamLimits::from_limits(&self.config.limits, idle));
            }
        }
        core.send(&f.to_element()).expect("valid element");
        self.state = State::Negotiating;
    }

    /// Answers the client's iq `id` (a bind request) with an error.
    fn iq_error(&mut self, core: &mut Core, id: &str, condition: DefinedCondition) {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "error")
            .with_attr("id", id)
            .with_child(StanzaError::new(condition).to_element(ns::CLIENT));
        let _ = core.send(&iq);
    }

    fn sasl_failure(&mut self, core: &mut Core, condition: sasl::Condition) -> Result<(), Error> {
        let f = Element::new("failure", ns::SASL)
            .with_child(Element::new(condition.as_str(), ns::SASL));
        core.send(&f).expect("valid element");
        self.failures += 1;
        self.state = State::Negotiating;
        if self.failures >= self.config.max_auth_failures {
            // RFC 6120 §6.4.5: the server may close after retries.
            return Err(core.fail(
                StreamError::new(Condition::PolicyViolation)
                    .with_text("too many failed authentication attempts"),
            ));
        }
        Ok(())
    }

    fn sasl_output(
        &mut self,
        core: &mut Core,
        out: Result<sasl::ServerOutput, sasl::Error>,
    ) -> Result<(), Error> {
        match out {
            Ok(sasl::ServerOutput::Challenge(data)) => {
                let c = Element::new("challenge", ns::SASL).with_text(&encode_sasl(&data, false));
                core.send(&c).expect("valid element");
                Ok(())
            }
            Ok(sasl::ServerOutput::NeedCredentials(req)) => {
                let State::Auth(server) = std::mem::replace(&mut self.state, State::Done) else {
                    unreachable!("credentials are requested during an exchange")
                };
                let token = core.ask(Request::Credentials(req), true);
                self.state = State::AwaitCredentials { token, server };
                Ok(())
            }
            Ok(sasl::ServerOutput::Success(auth)) => {
                let Some(user) = self.authorize(&auth) else {
                    return self.sasl_failure(core, sasl::Condition::InvalidAuthzid);
                };
                let s = match &auth.additional_data {
                    Some(d) => Element::new("success", ns::SASL).with_text(&encode_sasl(d, true)),
                    None => Element::new("success", ns::SASL),
                };
                core.send(&s).expect("valid element");
                self.user = Some(user.clone());
                // Channel binding served SASL; nothing needs the data now.
                self.tls.bindings = Vec::new();
                core.emit(Event::Authenticated {
                    jid: user,
                    mechanism: auth.mechanism,
                });
                core.restart();
                core.set_fallback_header(self.fallback_header());
                core.set_limits(self.config.limits.clone());
                self.state = State::AwaitHeader;
                Ok(())
            }
            Err(e) => self.sasl_failure(core, e.condition()),
        }
    }

    /// The identity a successful exchange may act as (RFC 4422 §3.4.1,
    /// RFC 6120 §6.4.6): the authenticated user; an authorization identity
    /// only if it names that same account (acting for someone else would
    /// need a policy this server does not have). For EXTERNAL the host
    /// names the identity ([`sasl::Credentials::VerifiedAs`], a JID) or,
    /// with [`sasl::Credentials::Verified`], vouches for the authzid.
    fn authorize(&self, auth: &sasl::Authenticated) -> Option<String> {
        let authzid = match &auth.authzid {
            Some(z) => Some(jid::BareJid::new(z).ok()?),
            None => None,
        };
        let user = match &auth.authcid {
            Some(c) => {
                let user = if auth.mechanism == sasl::Mechanism::External {
                    jid::BareJid::new(c).ok()?
                } else {
                    jid::BareJid::new(&format!("{c}@{}", self.domain)).ok()?
                };
                if authzid.is_some_and(|z| z != user) {
                    return None;
                }
                user
            }
            None => authzid?,
        };
        Some(user.to_string())
    }

    fn on_auth(&mut self, core: &mut Core, el: &Element) -> Result<(), Error> {
        let Some(adv) = self.advertised.clone() else {
            return self.sasl_failure(core, sasl::Condition::EncryptionRequired);
        };
        let mechanism = el.attr("mechanism").unwrap_or("");
        let data = match decode_sasl(&el.text()) {
            Ok(d) => d,
            Err(()) => return self.sasl_failure(core, sasl::Condition::IncorrectEncoding),
        };
        let mut server = match sasl::Server::with_advertisement(
            mechanism,
            &self.config.sasl,
            &self.tls,
            &adv,
            &mut *self.rng,
        ) {
            Ok(s) => s,
            Err(e) => return self.sasl_failure(core, e.condition()),
        };
        let out = server.start(data.as_deref());
        self.state = State::Auth(Box::new(server));
        self.sasl_output(core, out)
    }

    /// RFC 6120 §8.1.2.1: the server stamps `from` with the full JID (the
    /// bare JID for subscription-related presence, RFC 6121 §3.1.2).
    fn stamp(&self, mut stanza: Element) -> Element {
        let full = self.jid.as_deref().unwrap_or_default();
        let subscription = stanza.name() == "presence"
            && matches!(
                stanza.attr("type"),
                Some("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed")
            );
        let from = if subscription {
            self.user.as_deref().unwrap_or(full)
        } else {
            full
        };
        stanza.set_attr("from", from);
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
        let mut raw = [0u8; 8];
        self.rng.fill(&mut raw);
        let id = format!("idle-{:016x}", u64::from_le_bytes(raw));
        let ping = Element::new("iq", ns::CLIENT)
            .with_attr("type", "get")
            .with_attr("id", &id)
            .with_attr("from", &self.domain)
            .with_attr("to", self.jid.as_deref().unwrap_or(&self.domain))
            .with_child(Element::new("ping", ns::PING));
        core.send(&ping).expect("valid element");
        core.set_timer(PING_DEADLINE, Some(now + wait));
        self.ping = Some((id, now));
        Ok(())
    }

    fn is_stanza(el: &Element) -> bool {
        el.ns() == ns::CLIENT && matches!(el.name(), "message" | "presence" | "iq")
    }
}

impl Role for Server {
    fn on_stream_open(
        &mut self,
        core: &mut Core,
        header: StreamHeader,
        _now: Instant,
    ) -> Result<(), Error> {
        if !matches!(self.state, State::AwaitHeader) {
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
            .any(|d| d.eq_ignore_ascii_case(&wanted));
        if served {
            self.domain = wanted.to_ascii_lowercase();
        }
        let mut id = [0u8; 16];
        self.rng.fill(&mut id);
        let mut ours = StreamHeader::new(ns::CLIENT);
        ours.from = Some(self.domain.clone());
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
        let _ = now;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Negotiating => {
                self.state = State::Negotiating;
                if el.is("starttls", ns::TLS)
                    && !self.tls.active
                    && self.config.tls != TlsRequirement::Unavailable
                    && core.allows_starttls()
                {
                    core.send(&Element::new("proceed", ns::TLS))
                        .expect("valid element");
                    // RFC 6120 §5.4.3.3: nothing more until TLS is up.
                    core.await_tls(AfterStartTls::Discard);
                    self.state = State::TlsHandshake;
                    core.emit(Event::StartTls);
                    Ok(())
                } else if el.is("auth", ns::SASL) && self.user.is_none() {
                    self.on_auth(core, &el)
                } else if self.user.is_some()
                    && el.is("iq", ns::CLIENT)
                    && el.attr("type") == Some("set")
                {
                    let Some(bind) = el.get_child("bind", ns::BIND) else {
                        return Err(core.fail(
                            StreamError::new(Condition::NotAuthorized)
                                .with_text("bind a resource first"),
                        ));
                    };
                    let requested = bind
                        .get_child("resource", ns::BIND)
                        .map(|r| r.text().trim().to_owned())
                        .filter(|r| !r.is_empty());
                    let id = el.attr("id").unwrap_or_default().to_owned();
                    let request = Request::Bind {
                        jid: self.user.clone().unwrap_or_default(),
                        requested,
                    };
                    let token = core.ask(request, true);
                    self.state = State::AwaitBind { token, id };
                    Ok(())
                } else if Self::is_stanza(&el) {
                    // RFC 6120 §4.9.3.12: no stanzas before the stream is
                    // authenticated and bound.
                    self.state = State::Done;
                    Err(core.fail(StreamError::new(Condition::NotAuthorized)))
                } else {
                    self.state = State::Done;
                    Err(core.fail(StreamError::new(Condition::UnsupportedStanzaType)))
                }
            }
            State::Auth(mut server) => {
                let out = if el.is("response", ns::SASL) {
                    match decode_sasl(&el.text()) {
                        Ok(d) => server.respond(d.as_deref().unwrap_or(&[])),
                        Err(()) => {
                            self.state = State::Negotiating;
                            return self.sasl_failure(core, sasl::Condition::IncorrectEncoding);
                        }
                    }
                } else if el.is("abort", ns::SASL) {
                    self.state = State::Negotiating;
                    return self.sasl_failure(core, sasl::Condition::Aborted);
                } else {
                    self.state = State::Done;
                    return Err(core.fail(StreamError::new(Condition::NotAuthorized)));
                };
                self.state = State::Auth(server);
                self.sasl_output(core, out)
            }
            State::Online => {
                self.state = State::Online;
                if self
                    .ping
                    .as_ref()
                    .is_some_and(|(id, _)| super::answers_iq(&el, id))
                {
                    // The answer to our idle check.
                    self.ping = None;
                    core.set_timer(PING_DEADLINE, None);
                    if let Some(idle) = self.config.idle_timeout {
                        core.set_timer(IDLE_CHECK, Some(now + idle));
                    }
                    return Ok(());
                }
                if Self::is_stanza(&el) {
                    if el.name() == "iq"
                        && el.attr("type") == Some("set")
                        && el.has_child("session", ns::SESSION)
                    {
                        // RFC 6121 Appendix E: the legacy session is a no-op.
                        let id = el.attr("id").unwrap_or_default();
                        let r = Element::new("iq", ns::CLIENT)
                            .with_attr("type", "result")
                            .with_attr("id", id);
                        core.send(&r).expect("valid element");
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
            other => {
                self.state = other;
                Err(core.fail(StreamError::new(Condition::NotAuthorized)))
            }
        }
    }

    fn on_tls(&mut self, core: &mut Core, info: TlsInfo, _now: Instant) -> Result<(), Error> {
        if !matches!(self.state, State::TlsHandshake) {
            return Err(core.fail(
                StreamError::new(Condition::InternalServerError)
                    .with_text("TLS established out of turn"),
            ));
        }
        self.tls = info;
        self.tls.active = true;
        core.restart();
        core.set_fallback_header(self.fallback_header());
        self.state = State::AwaitHeader;
        Ok(())
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

    fn on_send(&mut self, _core: &mut Core, _stanza: &mut Element) -> Result<(), SendError> {
        if !matches!(self.state, State::Online) {
            return Err(SendError::NotOnline);
        }
        Ok(())
    }
}
