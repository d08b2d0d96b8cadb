//! The initiating side of a client-to-server stream (RFC 6120 §4-§7):
//! stream header, STARTTLS or direct TLS, SASL, resource binding, the
//! legacy session, then stanzas.

use std::time::{Duration, Instant};

use jid::{BareJid, FullJid};

use super::features::{Features, decode_sasl, encode_sasl};
use crate::ns;
use crate::random::Random;
use crate::sasl::{self, ClientCredentials, TlsInfo};
use crate::stream::connection::{AfterStartTls, Core, Role, SendError, TimerId};
use crate::stream::framing::Framing;
use crate::stream::{Condition, Connection, Error, Event, StreamError, StreamHeader, Version};
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
        }
    }
}

#[derive(Debug)]
enum State {
    /// Our header is out; waiting for the server's.
    AwaitHeader,
    AwaitFeatures,
    /// `<starttls/>` sent.
    StartTls,
    /// `<proceed/>` received, the host runs the handshake.
    TlsHandshake,
    /// A SASL exchange: the mechanism chosen, and whether the server has
    /// challenged it yet.
    Auth {
        client: Box<sasl::Client>,
        selection: Box<sasl::Selection>,
        challenged: bool,
    },
    Bind {
        id: String,
        session: bool,
    },
    Session {
        id: String,
        jid: String,
    },
    Online,
    Done,
}

/// The client role of a c2s stream; see [`ClientStream`].
pub struct Client {
    config: ClientConfig,
    rng: Box<dyn Random>,
    state: State,
    tls: TlsInfo,
    authenticated: bool,
    stream_id: Option<String>,
    max_send: Option<usize>,
    /// The one `-PLUS` fallback of a stream was used.
    sasl_retried: bool,
    /// The server's XEP-0478 `idle-seconds`.
    server_idle: Option<Duration>,
    cache: Option<sasl::SaltedPasswordCache>,
    next_id: u64,
    /// The id of a ping awaiting its answer.
    ping: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("jid", &self.config.jid)
            .field("state", &self.state)
            .field("authenticated", &self.authenticated)
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
        let mut client = Client {
            tls: tls.unwrap_or_else(TlsInfo::plaintext),
            config,
            rng,
            state: State::AwaitHeader,
            authenticated: false,
            stream_id: None,
            max_send: None,
            sasl_retried: false,
            server_idle: None,
            cache: None,
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
        self.role.cache.take()
    }

    /// Uses a salted-password cache from an earlier connection.
    pub fn set_scram_cache(&mut self, cache: sasl::SaltedPasswordCache) {
        self.role.cache = Some(cache);
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

    fn negotiation_failed(&mut self, core: &mut Core, why: &str) -> Error {
        self.state = State::Done;
        core.send_close();
        core.finish(Some(Error::Negotiation(why.to_owned())))
    }

    fn unexpected(&mut self, core: &mut Core, el: &Element) -> Error {
        self.state = State::Done;
        core.fail(
            StreamError::new(Condition::UnsupportedStanzaType).with_text(&format!(
                "unexpected <{}/> in '{}' during negotiation",
                el.name(),
                el.ns()
            )),
        )
    }

    fn on_features(&mut self, core: &mut Core, el: &Element, now: Instant) -> Result<(), Error> {
        let f = Features::parse(el);
        if let Some(l) = f.limits {
            self.max_send = l.max_bytes.map(|n| n as usize);
            self.server_idle = l.idle_seconds.map(Duration::from_secs);
        }
        if !self.tls.active && !core.allows_starttls() {
            // RFC 7395 §3.9: any STARTTLS offer is ignored; TLS is the
            // WebSocket's, and a plain one is used only if allowed.
            if self.config.tls != TlsPolicy::AllowPlaintext {
                return Err(self.negotiation_failed(core, "the WebSocket is not encrypted"));
            }
        } else if !self.tls.active {
            match (f.starttls, self.config.tls) {
                (Some(_), _) => {
                    core.send(&Element::new("starttls", ns::TLS))
                        .expect("valid element");
                    self.state = State::StartTls;
                    return Ok(());
                }
                (None, TlsPolicy::AllowPlaintext) => {}
                (None, _) => {
                    return Err(self.negotiation_failed(core, "the server does not offer STARTTLS"));
                }
            }
        }
        if !self.authenticated {
            let Some(mechs) = &f.mechanisms else {
                return Err(self.negotiation_failed(core, "the server offers no SASL mechanisms"));
            };
            let selection =
                match self
                    .config
                    .sasl
                    .select(mechs, f.channel_bindings.as_deref(), &self.tls)
                {
                    Ok(s) => s,
                    Err(e) => {
                        return Err(self
                            .negotiation_failed(core, &format!("no usable SASL mechanism: {e}")));
                    }
                };
            return self.start_auth(core, selection);
        }
        if !f.bind {
            return Err(self.negotiation_failed(core, "the server does not offer resource binding"));
        }
        let id = self.id();
        let mut bind = Element::new("bind", ns::BIND);
        if let Some(r) = &self.config.resource {
            bind.push_child(Element::new("resource", ns::BIND).with_text(r));
        }
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", &id)
            .with_child(bind);
        // The resource comes from the host's configuration and may hold
        // characters XML cannot carry.
        if let Err(e) = core.send(&iq) {
            return Err(self.negotiation_failed(
                core,
                &format!("the configured resource cannot be sent: {e}"),
            ));
        }
        // RFC 6121 Appendix E: only a session that is not optional needs
        // the old establishment step.
        self.state = State::Bind {
            id,
            session: f.session == Some(false),
        };
        let _ = now;
        Ok(())
    }

    /// Sends `<auth/>` for `selection`.
    fn start_auth(&mut self, core: &mut Core, selection: sasl::Selection) -> Result<(), Error> {
        let mut creds = match &self.config.password {
            Some(pw) => ClientCredentials::password(
                self.config
                    .jid
                    .node()
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                pw.clone(),
            ),
            None => ClientCredentials::none(),
        };
        if let Some(cache) = self.cache.take() {
            creds = creds.with_cache(cache);
        }
        if let Some(z) = &self.config.authzid {
            creds = creds.with_authzid(z.clone());
        }
        let mut client = match sasl::Client::new(
            &selection,
            creds,
            &self.tls,
            &self.config.sasl,
            &mut *self.rng,
        ) {
            Ok(c) => c,
            Err(e) => return Err(self.negotiation_failed(core, &format!("SASL: {e}"))),
        };
        let initial = match client.initial_response() {
            Ok(i) => i,
            Err(e) => return Err(self.negotiation_failed(core, &format!("SASL: {e}"))),
        };
        let auth = Element::new("auth", ns::SASL)
            .with_attr("mechanism", selection.mechanism.name())
            .with_text(&encode_sasl(&initial, true));
        core.send(&auth).expect("valid element");
        self.state = State::Auth {
            client: Box::new(client),
            selection: Box::new(selection),
            challenged: false,
        };
        Ok(())
    }

    fn on_auth_element(&mut self, core: &mut Core, el: &Element) -> Result<(), Error> {
        let State::Auth {
            client,
            selection,
            challenged,
        } = &mut self.state
        else {
            unreachable!()
        };
        if el.ns() != ns::SASL {
            return Err(self.unexpected(core, el));
        }
        let data = match decode_sasl(&el.text()) {
            Ok(d) => d,
            Err(()) => {
                return Err(core.fail(
                    StreamError::new(Condition::BadFormat).with_text("invalid base64 in SASL data"),
                ));
            }
        };
        if el.name() == "challenge" {
            *challenged = true;
        }
        match el.name() {
            "challenge" => match client.challenge(data.as_deref().unwrap_or(&[])) {
                Ok(resp) => {
                    let r =
                        Element::new("response", ns::SASL).with_text(&encode_sasl(&resp, false));
                    core.send(&r).expect("valid element");
                    Ok(())
                }
                Err(e) => {
                    // RFC 6120 §6.4.4: abort, then give up.
                    core.send(&Element::new("abort", ns::SASL))
                        .expect("valid element");
                    Err(self.negotiation_failed(core, &format!("SASL: {e}")))
                }
            },
            "success" => match client.success(data.as_deref()) {
                Ok(()) => {
                    self.cache = client.take_cache();
                    self.authenticated = true;
                    core.emit(Event::Authenticated {
                        jid: self.config.jid.to_string(),
                        mechanism: client.mechanism(),
                    });
                    // RFC 6120 §6.4.6: restart without closing.
                    core.restart();
                    self.open(core);
                    Ok(())
                }
                Err(e) => Err(self.negotiation_failed(
                    core,
                    &format!("the server could not prove it knows the password: {e}"),
                )),
            },
            "failure" => {
                // A -PLUS attempt whose binding type was a guess, refused
                // before any challenge: one retry without it.
                if !*challenged
                    && !self.sasl_retried
                    && let Some(retry) = self.config.sasl.fallback(selection, &self.tls)
                {
                    self.sasl_retried = true;
                    // The cache handed to the first attempt serves the next.
                    if let Some(cache) = client.take_cache() {
                        self.cache = Some(cache);
                    }
                    return self.start_auth(core, retry);
                }
                let condition = el
                    .children()
                    .filter(|c| c.ns() == ns::SASL && c.name() != "text")
                    .find_map(|c| sasl::Condition::from_name(c.name()))
                    .unwrap_or(sasl::Condition::NotAuthorized);
                let text = el
                    .get_child("text", ns::SASL)
                    .map(|t| t.text().into_owned());
                self.state = State::Done;
                core.send_close();
                Err(core.finish(Some(Error::AuthenticationFailed { condition, text })))
            }
            _ => Err(self.unexpected(core, el)),
        }
    }

    fn iq_result<'a>(el: &'a Element, id: &str) -> Option<Result<&'a Element, ()>> {
        if !el.is("iq", ns::CLIENT) || el.attr("id") != Some(id) {
            return None;
        }
        match el.attr("type") {
            Some("result") => Some(Ok(el)),
            Some("error") => Some(Err(())),
            _ => None,
        }
    }

    /// The configured keepalive interval, shortened to half the server's
    /// advertised `idle-seconds` (XEP-0478) when that is sooner, so that
    /// the server never finds the stream idle.
    fn keepalive_interval(&self) -> Option<Duration> {
        let k = self.config.keepalive?;
        Some(match self.server_idle {
            Some(idle) => k.min(idle / 2).max(Duration::from_secs(1)),
            None => k,
        })
    }

    fn go_online(&mut self, core: &mut Core, jid: String, now: Instant) {
        core.set_timer(NEGOTIATION, None);
        if let Some(k) = self.keepalive_interval() {
            core.set_timer(KEEPALIVE, Some(now + k));
        }
        self.state = State::Online;
        core.emit(Event::Online { jid });
    }
}

impl Role for Client {
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
        match &mut self.state {
            State::AwaitFeatures => {
                if el.is("features", ns::STREAM) {
                    self.on_features(core, &el, now)
                } else {
                    Err(self.unexpected(core, &el))
                }
            }
            State::StartTls => {
                if el.is("proceed", ns::TLS) {
                    core.await_tls(AfterStartTls::Refuse);
                    self.state = State::TlsHandshake;
                    core.emit(Event::StartTls);
                    Ok(())
                } else if el.is("failure", ns::TLS) {
                    // RFC 6120 §5.4.2.2: the server closes the stream.
                    Err(self.negotiation_failed(core, "the server refused STARTTLS"))
                } else {
                    Err(self.unexpected(core, &el))
                }
            }
            State::Auth { .. } => self.on_auth_element(core, &el),
            State::Bind { id, session } => {
                let (id, session) = (id.clone(), *session);
                match Self::iq_result(&el, &id) {
                    Some(Ok(iq)) => {
                        let jid = iq
                            .get_child("bind", ns::BIND)
                            .and_then(|b| b.get_child("jid", ns::BIND))
                            .map(|j| j.text().trim().to_owned());
                        let Some(jid) = jid.filter(|j| j.parse::<FullJid>().is_ok()) else {
                            return Err(self.negotiation_failed(
                                core,
                                "the bind result carries no valid full JID",
                            ));
                        };
                        if session {
                            let sid = self.id();
                            let iq = Element::new("iq", ns::CLIENT)
                                .with_attr("type", "set")
                                .with_attr("id", &sid)
                                .with_child(Element::new("session", ns::SESSION));
                            core.send(&iq).expect("valid element");
                            self.state = State::Session { id: sid, jid };
                        } else {
                            self.go_online(core, jid, now);
                        }
                        Ok(())
                    }
                    Some(Err(())) => {
                        Err(self.negotiation_failed(core, "the server refused to bind a resource"))
                    }
                    None => Err(self.unexpected(core, &el)),
                }
            }
            State::Session { id, jid } => {
                let (id, jid) = (id.clone(), jid.clone());
                match Self::iq_result(&el, &id) {
                    Some(Ok(_)) => {
                        self.go_online(core, jid, now);
                        Ok(())
                    }
                    Some(Err(())) => {
                        Err(self.negotiation_failed(core, "the server refused the session"))
                    }
                    None => Err(self.unexpected(core, &el)),
                }
            }
            State::Online => {
                if self
                    .ping
                    .as_deref()
                    .is_some_and(|id| super::answers_iq(&el, id))
                {
                    self.ping = None;
                    core.set_timer(PING_DEADLINE, None);
                    return Ok(());
                }
                core.deliver(el);
                Ok(())
            }
            State::AwaitHeader | State::TlsHandshake | State::Done => {
                Err(self.unexpected(core, &el))
            }
        }
    }

    fn on_tls(&mut self, core: &mut Core, info: TlsInfo, _now: Instant) -> Result<(), Error> {
        if !matches!(self.state, State::TlsHandshake) {
            return Err(core.fail(
                StreamError::new(Condition::UndefinedCondition)
                    .with_text("TLS established out of turn"),
            ));
        }
        self.tls = info;
        self.tls.active = true;
        // RFC 6120 §5.4.3.3: a new stream over TLS.
        core.restart();
        self.open(core);
        Ok(())
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
                if !matches!(self.state, State::Online) || core.close_sent() {
                    return Ok(());
                }
                // Whitespace where the framing has it (RFC 6120 §4.6.1),
                // else an XEP-0199 ping (RFC 7395 §3.8); a ping with a
                // deadline when one is configured, one at a time.
                let whitespace = self.config.ping_timeout.is_none() && core.send_whitespace();
                if !whitespace && (self.ping.is_none() || self.config.ping_timeout.is_none()) {
                    let id = self.id();
                    let ping = Element::new("iq", ns::CLIENT)
                        .with_attr("type", "get")
                        .with_attr("id", &id)
                        .with_attr("to", self.config.jid.domain().as_ref())
                        .with_child(Element::new("ping", ns::PING));
                    core.send(&ping).expect("valid element");
                    if let Some(timeout) = self.config.ping_timeout {
                        core.set_timer(PING_DEADLINE, Some(now + timeout));
                    }
                    self.ping = Some(id);
                }
                if let Some(k) = self.keepalive_interval() {
                    core.set_timer(KEEPALIVE, Some(now + k));
                }
                Ok(())
            }
            PING_DEADLINE if self.ping.is_some() && !core.close_sent() => {
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

    fn send_limit(&self) -> Option<usize> {
        self.max_send
    }
}
