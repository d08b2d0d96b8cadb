//! The initiating side of a client-to-server stream (RFC 6120 §4-§7):
//! stream header, STARTTLS or direct TLS, SASL, resource binding, the
//! legacy session, then stanzas.

use std::time::{Duration, Instant};

use jid::{BareJid, FullJid};

use crate::ns;
use crate::random::Random;
use crate::sasl::{self, TlsInfo};
use crate::sm;
use crate::stream::connection::{Core, Role, SendError, TimerId};
use crate::stream::features::Features;
use crate::stream::framing::Framing;
use crate::stream::negotiation::sm::{self as sm_negotiation, Outcome};
use crate::stream::negotiation::{
    self, Cx, Progress, Rules, Stage, bind, sasl as sasl_negotiation, starttls,
};
use crate::stream::{
    AuthMethod, Condition, Connection, Error, Event, StreamError, StreamHeader, Version,
};
use crate::xml::{Element, Limits};

/// How the client treats TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// Insist on STARTTLS; a server that does not offer it (or an attacker
    /// who strips it) ends the attempt.
    Required,
    /// The host ran TLS before the stream (XEP-0368 direct TLS) and passes
    /// its [`TlsInfo`] to [`ClientStream::new`].
    Direct,
    /// Use STARTTLS when offered, carry on in plaintext otherwise. Only for
    /// tests and trusted networks.
    AllowPlaintext,
}

/// What a [`ClientStream`] needs to know.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The account.
    pub jid: BareJid,
    /// The password (for PLAIN and SCRAM).
    pub password: Option<String>,
    /// A resource to ask for; the server assigns one if `None`.
    pub resource: Option<String>,
    /// An authorization identity to act as, if not the account itself
    /// (RFC 6120 §6.3.8); servers refuse what they do not allow.
    pub authzid: Option<String>,
    /// TLS handling.
    pub tls: TlsPolicy,
    /// SASL mechanism preferences and limits.
    pub sasl: sasl::ClientConfig,
    /// Limits on what the server may send.
    pub limits: Limits,
    /// The whole negotiation must be done within this time.
    pub negotiation_timeout: Duration,
    /// Send a whitespace keepalive (RFC 6120 §4.6.1) this often once
    /// online; when the server advertises a shorter XEP-0478
    /// `idle-seconds`, every half of that instead.
    pub keepalive: Option<Duration>,
    /// Make each keepalive an XEP-0199 ping that the server must answer
    /// within this time, or the stream ends with `connection-timeout`: a
    /// dead connection is then noticed even when TCP does not tell.
    pub ping_timeout: Option<Duration>,
    /// `xml:lang` of our stream.
    pub lang: Option<String>,
    /// Enable stream management (XEP-0198) after binding when the server
    /// offers it: stanzas are acknowledged, and with
    /// [`sm::Config::resume`] a broken connection hands the host an
    /// [`Event::Suspended`] session to resume with
    /// [`ClientStream::resume_session`]. `None` (the default) does not.
    pub stream_management: Option<sm::Config>,
}

impl ClientConfig {
    /// A configuration for `jid` with `password`, TLS required.
    pub fn new(jid: BareJid, password: &str) -> ClientConfig {
        ClientConfig {
            jid,
            password: Some(password.to_owned()),
            resource: None,
            authzid: None,
            tls: TlsPolicy::Required,
            sasl: sasl::ClientConfig::default(),
            limits: Limits::default(),
            negotiation_timeout: Duration::from_secs(60),
            keepalive: Some(Duration::from_secs(90)),
            ping_timeout: None,
            lang: None,
            stream_management: None,
        }
    }
}

/// Where the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Our header is out; waiting for the server's.
    AwaitHeader,
    AwaitFeatures,
    /// A feature is being negotiated.
    Negotiating(Feature),
    /// `<proceed/>` received, the host runs the handshake.
    TlsHandshake,
    Online,
    Done,
}

/// The features a client negotiates, in the order it considers them; the
/// negotiation rules decide which may run at each stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    StartTls,
    Sasl,
    /// Stream management resumption, in binding's place.
    Resume,
    Bind,
    Session,
    /// Stream management, after binding.
    Enable,
}

impl Feature {
    const ALL: [Feature; 6] = [
        Feature::StartTls,
        Feature::Sasl,
        Feature::Resume,
        Feature::Bind,
        Feature::Session,
        Feature::Enable,
    ];
}

/// The client role of a c2s stream; see [`ClientStream`].
pub struct Client {
    config: ClientConfig,
    rng: Box<dyn Random>,
    state: State,
    stage: Stage,
    tls: TlsInfo,
    stream_id: Option<String>,
    max_send: Option<usize>,
    /// The informative features of the last features that had any.
    informative: Vec<Element>,
    /// The server's XEP-0478 `idle-seconds`.
    server_idle: Option<Duration>,
    starttls: starttls::Initiator,
    sasl: sasl_negotiation::Initiator,
    bind: bind::Initiator,
    sm: sm_negotiation::Initiator,
    /// The last features offered stream management.
    sm_offered: bool,
    /// The server refused to enable it.
    sm_refused: bool,
    /// The session was resumed rather than bound.
    resumed: bool,
    next_id: u64,
    /// A keepalive awaiting its answer: the ping's id (none for an
    /// `<r/>`) and when it went out.
    ping: Option<(Option<String>, Instant)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("jid", &self.config.jid)
            .field("state", &self.state)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

/// A client-to-server stream, initiating side. The
/// [`c2s`](crate::c2s) module shows a complete host loop; the `client` and
/// `tokio_client` examples drive one over a socket with rustls.
///
/// ```
/// use std::time::Instant;
/// use xmpp_sansio::c2s::{ClientConfig, ClientStream};
/// use xmpp_sansio::random::OsRandom;
/// use xmpp_sansio::stream::Event;
///
/// let config = ClientConfig::new("juliet@example.com".parse().unwrap(), "secret");
/// let mut stream = ClientStream::new(config, None, Box::new(OsRandom), Instant::now());
/// // The host writes this to the socket...
/// let mut out = Vec::new();
/// stream.poll_transmit(&mut out);
/// assert!(out.starts_with(b"<?xml version='1.0'?><stream:stream"));
/// // ...feeds what it reads with `handle_input`, and after every call
/// // drains `poll_event` and `poll_transmit`, and re-arms its timer
/// // from `poll_timeout`.
/// while let Some(event) = stream.poll_event() {
///     match event {
///         Event::StartTls => { /* flush, run the TLS handshake, call tls_established */ }
///         Event::Online { jid } => println!("online as {jid}"),
///         Event::Stanza(stanza) => println!("{stanza:?}"),
///         Event::Closed(reason) => println!("closed: {reason:?}"),
///         _ => {}
///     }
/// }
/// ```
pub type ClientStream = Connection<Client>;

/// The whole negotiation must be done by then.
const NEGOTIATION: TimerId = TimerId(1);
/// Time for a keepalive.
const KEEPALIVE: TimerId = TimerId(2);
/// Our ping must be answered by then.
const PING_DEADLINE: TimerId = TimerId(3);

impl Connection<Client> {
    /// Starts a stream over TCP: our header is queued at once. For
    /// [`TlsPolicy::Direct`], `tls` is what the host's TLS handshake gave.
    pub fn new(
        config: ClientConfig,
        tls: Option<TlsInfo>,
        rng: Box<dyn Random>,
        now: Instant,
    ) -> ClientStream {
        Self::with_framing(config, Framing::Tcp, tls, rng, now)
    }

    /// Starts a stream over `framing`: our header (or `<open/>`) is queued
    /// at once. Over WebSocket there is no STARTTLS (RFC 7395 §3.9): pass
    /// the `wss:` connection's [`TlsInfo`] as `tls`, or set
    /// [`TlsPolicy::AllowPlaintext`] for `ws:`.
    pub fn with_framing(
        config: ClientConfig,
        framing: Framing,
        tls: Option<TlsInfo>,
        rng: Box<dyn Random>,
        now: Instant,
    ) -> ClientStream {
        let mut core = Core::new(framing, config.limits.clone(), ns::CLIENT);
        core.set_timer(NEGOTIATION, Some(now + config.negotiation_timeout));
        let tls = tls.unwrap_or_else(TlsInfo::plaintext);
        let stage = Stage::of(&tls);
        let mut client = Client {
            tls,
            config,
            rng,
            state: State::AwaitHeader,
            stage,
            stream_id: None,
            max_send: None,
            informative: Vec::new(),
            server_idle: None,
            starttls: starttls::Initiator::default(),
            sasl: sasl_negotiation::Initiator::default(),
            bind: bind::Initiator::default(),
            sm: sm_negotiation::Initiator::default(),
            sm_offered: false,
            sm_refused: false,
            resumed: false,
            next_id: 0,
            ping: None,
        };
        client.open(&mut core);
        Connection { core, role: client }
    }

    /// The stream id the server assigned (RFC 6120 §4.7.3).
    pub fn stream_id(&self) -> Option<&str> {
        self.role.stream_id.as_deref()
    }

    /// The salted-password cache left by a successful SCRAM login on this
    /// stream (or the one handed in with
    /// [`set_scram_cache`](Self::set_scram_cache), if the login did not
    /// use SCRAM). Pass it to the next connection of the account with
    /// `set_scram_cache` so that it skips PBKDF2; the password never has
    /// to be kept for that.
    pub fn take_scram_cache(&mut self) -> Option<sasl::SaltedPasswordCache> {
        self.role.sasl.cache.take()
    }

    /// Uses a salted-password cache from an earlier connection.
    pub fn set_scram_cache(&mut self, cache: sasl::SaltedPasswordCache) {
        self.role.sasl.cache = Some(cache);
    }

    /// Whether the server advertised the informative feature `name` in
    /// `ns` once the client authenticated: `("sub",`
    /// [`ns::PRE_APPROVAL`]`)` before pre-approving a subscription (RFC
    /// 6121 §3.4.1), `("ver",` [`ns::ROSTER_VER`]`)` before sending `ver`
    /// in a roster get (§2.6.2).
    pub fn server_offers(&self, name: &str, ns: &str) -> bool {
        self.role.informative.iter().any(|o| o.is(name, ns))
    }

    /// The bound full JID, once online.
    pub fn bound_jid(&self) -> Option<&FullJid> {
        self.role.bind.jid.as_ref()
    }

    /// Resumes `session` (from [`Event::Suspended`] of an earlier
    /// connection) instead of binding a resource, once authenticated
    /// (XEP-0198 §5). Call it before authentication completes, typically
    /// right after [`ClientStream::new`]. On success the stream reports
    /// [`Event::Resumed`] instead of [`Event::Online`] and sends again what
    /// the server had not acknowledged; if the server cannot resume, the
    /// unacknowledged stanzas come back in [`Event::Unsent`] and the
    /// client binds a resource as usual (enabling a new session when
    /// configured). A server that does not offer stream management gets
    /// the same treatment as a failed resumption.
    ///
    /// Until the server answers, the session stays with this stream: if
    /// the stream ends first, for whatever reason, it comes back in
    /// [`Event::Suspended`] as it went in.
    ///
    /// The session comes back, and nothing changes, when it is too late
    /// (the stream is bound or has ended) or a session is already there.
    #[allow(clippy::result_large_err)] // Handed back as it came.
    pub fn resume_session(&mut self, session: sm::Session) -> Result<(), sm::Session> {
        if self.core.managed().is_some()
            || self.core.error().is_some()
            || self.role.stage.has(Stage::BOUND)
        {
            return Err(session);
        }
        let config = self.role.config.stream_management.clone();
        self.core.manage(sm_negotiation::Managed::pending(
            session,
            config.unwrap_or_default(),
        ));
        Ok(())
    }
}

impl Client {
    fn open(&mut self, core: &mut Core) {
        let mut h = StreamHeader::new(ns::CLIENT);
        h.to = Some(self.config.jid.domain().to_string());
        // RFC 6120 §4.7.1: include `from` once the stream is protected.
        if self.tls.active {
            h.from = Some(self.config.jid.to_string());
        }
        h.lang = self.config.lang.clone();
        core.send_header(&h);
        self.state = State::AwaitHeader;
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        let mut r = [0u8; 4];
        self.rng.fill(&mut r);
        format!("{:08x}-{}", u32::from_le_bytes(r), self.next_id)
    }

    /// Ends the stream for `e`: a negotiation failure closes it; a stream
    /// error is already on its way.
    fn end(&mut self, core: &mut Core, e: Error) -> Error {
        self.state = State::Done;
        match e {
            Error::Negotiation(_) | Error::AuthenticationFailed { .. } => {
                core.send_close();
                core.finish(Some(e))
            }
            e => e,
        }
    }

    fn rules(&self, feature: Feature) -> Rules {
        match feature {
            Feature::StartTls => starttls::RULES,
            Feature::Sasl => sasl_negotiation::rules(self.config.tls == TlsPolicy::AllowPlaintext),
            Feature::Bind => bind::RULES,
            Feature::Session => bind::SESSION_RULES,
            Feature::Resume => sm_negotiation::RESUME_RULES,
            Feature::Enable => sm_negotiation::ENABLE_RULES,
        }
    }

    fn offered(&self, core: &Core, feature: Feature, f: &Features) -> bool {
        match feature {
            Feature::StartTls => starttls::Initiator::offered(f),
            Feature::Sasl => sasl_negotiation::Initiator::offered(f),
            Feature::Bind => bind::Initiator::offered(f),
            Feature::Session => self.bind.session_required,
            Feature::Resume => {
                sm_negotiation::Initiator::offered(f) && sm_negotiation::Initiator::can_resume(core)
            }
            Feature::Enable => {
                sm_negotiation::Initiator::offered(f)
                    && self.config.stream_management.is_some()
                    && !self.sm_refused
            }
        }
    }

    /// What the last features said, for the features negotiated without a
    /// restart (binding, the legacy session, stream management).
    fn remembered(&self) -> Features {
        Features {
            session: self.bind.session_required.then_some(false),
            bind: true,
            stream_management: self.sm_offered,
            ..Features::default()
        }
    }

    /// Why negotiation cannot go on when no feature may run: the first
    /// one this client insists on that the server does not offer.
    fn missing(&self, core: &Core) -> Option<&'static str> {
        if !self.stage.has(Stage::SECURE) && self.config.tls != TlsPolicy::AllowPlaintext {
            return Some(if core.allows_starttls() {
                "the server does not offer STARTTLS"
            } else {
                "the WebSocket is not encrypted"
            });
        }
        if !self.stage.has(Stage::AUTHENTICATED) {
            return Some("the server offers no SASL mechanisms");
        }
        if !self.stage.has(Stage::BOUND) {
            return Some("the server does not offer resource binding");
        }
        None
    }

    /// Runs the next feature the rules allow and the server offers, or
    /// goes online once every one this client needs is done.
    fn next_feature(&mut self, core: &mut Core, f: &Features, now: Instant) -> Result<(), Error> {
        let feature = Feature::ALL.into_iter().find(|&n| {
            self.rules(n).allowed(self.stage)
                && self.offered(core, n, f)
                // RFC 7395 §3.9: a STARTTLS offer over WebSocket is ignored.
                && (n != Feature::StartTls || core.allows_starttls())
        });
        let Some(feature) = feature else {
            if sm_negotiation::Initiator::can_resume(core) {
                // Bound without resuming (the server offers no stream
                // management): the session's stanzas go back to the host.
                let mut cx = Cx {
                    core,
                    tls: &mut self.tls,
                    rng: &mut *self.rng,
                };
                sm_negotiation::Initiator::give_up(&mut cx, None);
            }
            if let Some(why) = self.missing(core) {
                return Err(Error::Negotiation(why.to_owned()));
            }
            self.go_online(core, now);
            return Ok(());
        };
        self.state = State::Negotiating(feature);
        let id = matches!(feature, Feature::Bind | Feature::Session).then(|| self.id());
        let mut cx = Cx {
            core,
            tls: &mut self.tls,
            rng: &mut *self.rng,
        };
        match (feature, id) {
            (Feature::StartTls, _) => {
                self.starttls.start(&mut cx);
                Ok(())
            }
            (Feature::Sasl, _) => self.sasl.start(&mut cx, f, &login(&self.config)),
            (Feature::Bind, Some(id)) => {
                self.bind
                    .start(&mut cx, f, self.config.resource.as_deref(), id)
            }
            (Feature::Session, Some(id)) => {
                self.bind.start_session(&mut cx, id);
                Ok(())
            }
            (Feature::Resume, _) => {
                self.sm.resume(&mut cx);
                if !self.sm.waiting() {
                    // The session could not be asked for: bind instead.
                    let f = self.remembered();
                    return self.next_feature(core, &f, now);
                }
                Ok(())
            }
            (Feature::Enable, _) => {
                let config = self.config.stream_management.as_ref().expect("offered");
                let jid = self.bind.jid.clone().expect("enabling follows binding");
                self.sm.enable(&mut cx, config, jid);
                // Online at once (XEP-0198 §4: what is sent from now on
                // counts); the answer comes while online.
                self.stage = self.stage.with(sm_negotiation::ENABLE_RULES.grants);
                let f = self.remembered();
                self.next_feature(core, &f, now)
            }
            _ => unreachable!("ids are made for binding and the session"),
        }
    }

    fn on_features(&mut self, core: &mut Core, el: &Element, now: Instant) -> Result<(), Error> {
        let f = Features::parse(el);
        // The last features decide: after authentication, those.
        self.informative.clone_from(&f.other);
        self.sm_offered = f.stream_management;
        if let Some(l) = f.limits {
            self.max_send = l.max_bytes.map(|n| n as usize);
            self.server_idle = l.idle_seconds.map(Duration::from_secs);
        }
        self.next_feature(core, &f, now)
    }

    /// An element for the feature being negotiated.
    fn on_negotiation(
        &mut self,
        core: &mut Core,
        feature: Feature,
        el: &Element,
        now: Instant,
    ) -> Result<(), Error> {
        let login = login(&self.config);
        let mut cx = Cx {
            core,
            tls: &mut self.tls,
            rng: &mut *self.rng,
        };
        let progress = match feature {
            Feature::StartTls => self.starttls.handle(&mut cx, el),
            Feature::Sasl if el.ns() == ns::SASL => Some(self.sasl.handle(&mut cx, el, &login)),
            Feature::Sasl => None,
            Feature::Bind | Feature::Session => self.bind.handle(el),
            Feature::Resume | Feature::Enable => {
                let outcome = self.sm.handle(&mut cx, el);
                return match outcome {
                    None => Err(negotiation::unexpected(&mut cx, el)),
                    Some(Err(e)) => Err(e),
                    Some(Ok(Outcome::Resumed(jid))) => {
                        self.bind.jid = Some(jid);
                        self.resumed = true;
                        self.feature_done(core, feature, now)
                    }
                    Some(Ok(_)) => {
                        // Binding after a failed resumption.
                        let f = self.remembered();
                        self.next_feature(core, &f, now)
                    }
                };
            }
        };
        let Some(progress) = progress else {
            return Err(negotiation::unexpected(&mut cx, el));
        };
        match progress? {
            Progress::Pending | Progress::Retry => {
                if feature == Feature::StartTls {
                    self.state = State::TlsHandshake;
                }
                Ok(())
            }
            Progress::Done => self.feature_done(core, feature, now),
        }
    }

    /// A feature succeeded: the stage moves on, the stream restarts if the
    /// feature says so, and the next one runs.
    fn feature_done(
        &mut self,
        core: &mut Core,
        feature: Feature,
        now: Instant,
    ) -> Result<(), Error> {
        let rules = self.rules(feature);
        self.stage = self.stage.with(rules.grants);
        if feature == Feature::Sasl {
            core.emit(Event::Authenticated {
                jid: self.config.jid.clone(),
                method: AuthMethod::Sasl(self.sasl.mechanism.expect("set on success")),
            });
        }
        if rules.restarts {
            // RFC 6120 §4.3.3, §6.4.6: a new stream, without closing.
            core.restart();
            self.open(core);
            return Ok(());
        }
        // Binding needs no new features: what the last ones said still
        // holds (the legacy session, stream management).
        let f = self.remembered();
        self.next_feature(core, &f, now)
    }

    /// The keepalive interval: the configured one, shortened to half the
    /// server's advertised `idle-seconds` (XEP-0478) when that is sooner,
    /// so that the server never finds the stream idle.
    fn keepalive_interval(&self) -> Option<Duration> {
        let k = self.config.keepalive?;
        Some(match self.server_idle {
            Some(idle) => k.min(idle / 2).max(Duration::from_secs(1)),
            None => k,
        })
    }

    fn go_online(&mut self, core: &mut Core, now: Instant) {
        core.set_timer(NEGOTIATION, None);
        if let Some(k) = self.keepalive_interval() {
            core.set_timer(KEEPALIVE, Some(now + k));
        }
        self.state = State::Online;
        let jid = self.bind.jid.clone().expect("online only once bound");
        core.emit(if self.resumed {
            Event::Resumed { jid }
        } else {
            Event::Online { jid }
        });
    }
}

/// Who logs in, from the configuration.
fn login(config: &ClientConfig) -> sasl_negotiation::Login<'_> {
    sasl_negotiation::Login {
        authcid: config.jid.node().map(|n| n.to_string()),
        password: config.password.as_deref(),
        authzid: config.authzid.as_deref(),
        config: &config.sasl,
    }
}

impl Role for Client {
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
        if header.content_ns != ns::CLIENT {
            return Err(core.fail(StreamError::new(Condition::InvalidNamespace)));
        }
        // RFC 6120 §4.7.5: without a version there are no features to
        // negotiate TLS or SASL with.
        if header.version.is_none_or(|v| v.major < Version::V1_0.major) {
            return Err(core.fail(StreamError::new(Condition::UnsupportedVersion)));
        }
        self.stream_id = header.id;
        self.state = State::AwaitFeatures;
        Ok(())
    }

    fn on_element(&mut self, core: &mut Core, el: Element, now: Instant) -> Result<(), Error> {
        let r = match self.state {
            State::AwaitFeatures if el.is("features", ns::STREAM) => {
                self.on_features(core, &el, now)
            }
            State::Negotiating(feature) => self.on_negotiation(core, feature, &el, now),
            State::Online => {
                if el.ns() == sm::NS && self.sm.waiting() {
                    // The answer to <enable/>.
                    let mut cx = Cx {
                        core,
                        tls: &mut self.tls,
                        rng: &mut *self.rng,
                    };
                    match self.sm.handle(&mut cx, &el) {
                        Some(Ok(Outcome::EnableFailed)) => self.sm_refused = true,
                        Some(Err(e)) => return Err(self.end(core, e)),
                        // The answer, or a stream-management element out
                        // of turn: nothing for the host either way.
                        Some(Ok(_)) | None => {}
                    }
                    return Ok(());
                }
                if el.ns() == sm::NS {
                    // Not managed (or handled by the core when managed):
                    // not a stanza for the host.
                    return Ok(());
                }
                if self
                    .ping
                    .as_ref()
                    .and_then(|(id, _)| id.as_deref())
                    .is_some_and(|id| super::answers_iq(&el, id))
                {
                    self.ping = None;
                    core.set_timer(PING_DEADLINE, None);
                    return Ok(());
                }
                core.deliver(el);
                Ok(())
            }
            State::AwaitFeatures | State::AwaitHeader | State::TlsHandshake | State::Done => {
                let mut cx = Cx {
                    core,
                    tls: &mut self.tls,
                    rng: &mut *self.rng,
                };
                Err(negotiation::unexpected(&mut cx, &el))
            }
        };
        r.map_err(|e| self.end(core, e))
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
            NEGOTIATION => {
                self.state = State::Done;
                Err(core.fail(
                    StreamError::new(Condition::ConnectionTimeout)
                        .with_text("negotiation took too long"),
                ))
            }
            KEEPALIVE => {
                if self.state != State::Online || core.close_sent() {
                    return Ok(());
                }
                // Whitespace where the framing has it (RFC 6120 §4.6.1),
                // else an XEP-0199 ping (RFC 7395 §3.8); a ping with a
                // deadline when one is configured, one at a time.
                let whitespace = self.config.ping_timeout.is_none() && core.send_whitespace();
                if !whitespace && (self.ping.is_none() || self.config.ping_timeout.is_none()) {
                    if core.managed().is_some() {
                        // With stream management an <r/> proves the
                        // server alive, and is not a stanza to count.
                        core.sm_request(now);
                        self.ping = Some((None, now));
                    } else {
                        let id = self.id();
                        let ping = Element::new("iq", ns::CLIENT)
                            .with_attr("type", "get")
                            .with_attr("id", &id)
                            .with_attr("to", self.config.jid.domain().as_ref())
                            .with_child(Element::new("ping", ns::PING));
                        core.send(&ping).expect("valid element");
                        self.ping = Some((Some(id), now));
                    }
                    if let Some(timeout) = self.config.ping_timeout {
                        core.set_timer(PING_DEADLINE, Some(now + timeout));
                    }
                }
                if let Some(k) = self.keepalive_interval() {
                    core.set_timer(KEEPALIVE, Some(now + k));
                }
                Ok(())
            }
            PING_DEADLINE if self.ping.is_some() && !core.close_sent() => {
                let (_, sent) = self.ping.take().expect("checked");
                if core.last_input().is_some_and(|t| t > sent) {
                    // Traffic since: alive, answered or not.
                    return Ok(());
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
        if self.state != State::Online {
            return Err(SendError::NotOnline);
        }
        Ok(())
    }

    fn send_limit(&self) -> Option<usize> {
        self.max_send
    }
}
