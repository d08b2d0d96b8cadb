//! SASL negotiation (RFC 6120 §6), both sides, over the mechanisms of
//! [`crate::sasl`]: `<auth/>`, `<challenge/>`, `<response/>`, `<success/>`,
//! `<failure/>` and `<abort/>`, with base64 per §6.4.2.
//!
//! The initiator picks a mechanism from what was offered (with the
//! XEP-0440 rules and the one `-PLUS` fallback of
//! [`ClientConfig::fallback`](crate::sasl::ClientConfig::fallback)) and
//! keeps the salted-password cache of a verified SCRAM exchange. The
//! receiver asks its host for credentials with a question that holds input
//! back, authorizes what the exchange proved (an authzid only for the same
//! account), and counts failures.

use jid::BareJid;

use super::{Cx, Progress, Rules, Stage};
use crate::ns;
use crate::sasl::{self, ClientCredentials, Mechanism, Selection, TlsInfo};
use crate::stream::features::{Features, decode_sasl, encode_sasl};
use crate::stream::{Condition, Error, Request, StreamError, Token};
use crate::xml::Element;

/// SASL needs a secure stream unless plaintext is allowed, and restarts.
pub(crate) const fn rules(plaintext_allowed: bool) -> Rules {
    Rules {
        needs: if plaintext_allowed {
            Stage::NONE
        } else {
            Stage::SECURE
        },
        forbids: Stage::AUTHENTICATED,
        grants: Stage::AUTHENTICATED,
        restarts: true,
    }
}

/// Who logs in, for the initiator.
pub(crate) struct Login<'a> {
    pub(crate) authcid: Option<String>,
    pub(crate) password: Option<&'a str>,
    pub(crate) authzid: Option<&'a str>,
    pub(crate) config: &'a sasl::ClientConfig,
}

impl Login<'_> {
    fn credentials(&self) -> ClientCredentials {
        let mut creds = match self.password {
            Some(pw) => ClientCredentials::password(self.authcid.clone().unwrap_or_default(), pw),
            None => ClientCredentials::none(),
        };
        if let Some(z) = self.authzid {
            creds = creds.with_authzid(z);
        }
        creds
    }
}

/// One exchange under way on the initiating side.
struct Attempt {
    client: Box<sasl::Client>,
    selection: Selection,
    challenged: bool,
}

/// The initiating side.
#[derive(Default)]
pub(crate) struct Initiator {
    attempt: Option<Attempt>,
    /// The one `-PLUS` fallback of a stream was used.
    retried: bool,
    /// The salted-password cache: handed in, then the one a verified SCRAM
    /// exchange leaves.
    pub(crate) cache: Option<sasl::SaltedPasswordCache>,
    /// The mechanism that succeeded.
    pub(crate) mechanism: Option<Mechanism>,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("sasl::Initiator")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl Initiator {
    /// Whether the server offers SASL.
    pub(crate) fn offered(f: &Features) -> bool {
        f.mechanisms.is_some()
    }

    /// Picks a mechanism from `f` and sends `<auth/>`.
    pub(crate) fn start(
        &mut self,
        cx: &mut Cx<'_>,
        f: &Features,
        login: &Login<'_>,
    ) -> Result<(), Error> {
        let mechanisms = f.mechanisms.as_deref().unwrap_or_default();
        let selection = login
            .config
            .select(mechanisms, f.channel_bindings.as_deref(), cx.tls)
            .map_err(|e| Error::Negotiation(format!("no usable SASL mechanism: {e}")))?;
        self.send_auth(cx, selection, login)
    }

    fn send_auth(
        &mut self,
        cx: &mut Cx<'_>,
        selection: Selection,
        login: &Login<'_>,
    ) -> Result<(), Error> {
        let mut creds = login.credentials();
        if let Some(cache) = self.cache.take() {
            creds = creds.with_cache(cache);
        }
        let sasl_failed = |e: sasl::Error| Error::Negotiation(format!("SASL: {e}"));
        let mut client = sasl::Client::new(&selection, creds, cx.tls, login.config, &mut *cx.rng)
            .map_err(sasl_failed)?;
        let initial = client.initial_response().map_err(sasl_failed)?;
        let auth = Element::new("auth", ns::SASL)
            .with_attr("mechanism", selection.mechanism.name())
            .with_text(&encode_sasl(&initial, true));
        cx.core.send(&auth).expect("valid element");
        self.attempt = Some(Attempt {
            client: Box::new(client),
            selection,
            challenged: false,
        });
        Ok(())
    }

    /// A SASL element from the server.
    pub(crate) fn handle(
        &mut self,
        cx: &mut Cx<'_>,
        el: &Element,
        login: &Login<'_>,
    ) -> Result<Progress, Error> {
        let Some(attempt) = &mut self.attempt else {
            return Err(super::unexpected(cx, el));
        };
        let data = match decode_sasl(&el.text()) {
            Ok(d) => d,
            Err(()) => {
                return Err(cx.core.fail(
                    StreamError::new(Condition::BadFormat).with_text("invalid base64 in SASL data"),
                ));
            }
        };
        match el.name() {
            "challenge" => {
                attempt.challenged = true;
                match attempt.client.challenge(data.as_deref().unwrap_or(&[])) {
                    Ok(resp) => {
                        let r = Element::new("response", ns::SASL)
                            .with_text(&encode_sasl(&resp, false));
                        cx.core.send(&r).expect("valid element");
                        Ok(Progress::Pending)
                    }
                    Err(e) => {
                        // RFC 6120 §6.4.4: abort, then give up.
                        cx.core
                            .send(&Element::new("abort", ns::SASL))
                            .expect("valid element");
                        Err(Error::Negotiation(format!("SASL: {e}")))
                    }
                }
            }
            "success" => {
                let attempt = self.attempt.take().expect("matched above");
                let mut client = attempt.client;
                client.success(data.as_deref()).map_err(|e| {
                    Error::Negotiation(format!(
                        "the server could not prove it knows the password: {e}"
                    ))
                })?;
                self.cache = client.take_cache();
                self.mechanism = Some(client.mechanism());
                Ok(Progress::Done)
            }
            "failure" => {
                let attempt = self.attempt.take().expect("matched above");
                let mut client = attempt.client;
                // A -PLUS attempt whose binding type was a guess, refused
                // before any challenge: one retry without it.
                if !attempt.challenged
                    && !self.retried
                    && let Some(retry) = login.config.fallback(&attempt.selection, cx.tls)
                {
                    self.retried = true;
                    // The cache handed to the first attempt serves the next.
                    self.cache = client.take_cache();
                    self.send_auth(cx, retry, login)?;
                    return Ok(Progress::Pending);
                }
                let condition = el
                    .children()
                    .filter(|c| c.ns() == ns::SASL && c.name() != "text")
                    .find_map(|c| sasl::Condition::from_name(c.name()))
                    .unwrap_or(sasl::Condition::NotAuthorized);
                let text = el
                    .get_child("text", ns::SASL)
                    .map(|t| t.text().into_owned());
                Err(Error::AuthenticationFailed { condition, text })
            }
            _ => Err(super::unexpected(cx, el)),
        }
    }
}

/// Where the receiving side's exchange is.
enum Exchange {
    Idle,
    Running(Box<sasl::Server>),
    /// Waiting for the host's answer to [`Request::Credentials`].
    AwaitCredentials {
        token: Token,
        server: Box<sasl::Server>,
    },
}

/// The receiving side.
pub(crate) struct Receiver {
    exchange: Exchange,
    /// Boxed: only a stream that has not authenticated needs it.
    advertised: Option<Box<sasl::Advertisement>>,
    failures: u32,
    /// Who authenticated, and how, once done.
    pub(crate) authenticated: Option<(BareJid, Mechanism)>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("sasl::Receiver")
            .field("failures", &self.failures)
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver {
            exchange: Exchange::Idle,
            advertised: None,
            failures: 0,
            authenticated: None,
        }
    }
}

/// The receiving side's policy, from the role's configuration.
pub(crate) struct Policy<'a> {
    pub(crate) config: &'a sasl::ServerConfig,
    /// The domain users authenticate for.
    pub(crate) domain: &'a str,
    /// Failed attempts after which the stream ends.
    pub(crate) max_failures: u32,
}

impl Receiver {
    /// Lists the mechanisms (and XEP-0440 binding types) for this stream.
    pub(crate) fn advertise(
        &mut self,
        tls: &TlsInfo,
        f: &mut Features,
        config: &sasl::ServerConfig,
    ) {
        let adv = config.advertisement(tls);
        f.mechanisms = Some(adv.mechanisms.clone());
        f.channel_bindings = adv.channel_bindings.clone();
        self.advertised = Some(Box::new(adv));
    }

    /// Whether `el` is SASL's to handle: an `<auth/>` starting an
    /// exchange, or anything at all while one runs (where only a
    /// `<response/>` or `<abort/>` fits, RFC 6120 §6.4).
    pub(crate) fn accepts(&self, el: &Element) -> bool {
        match self.exchange {
            Exchange::Idle => el.is("auth", ns::SASL),
            _ => true,
        }
    }

    /// An element of the exchange.
    pub(crate) fn handle(
        &mut self,
        cx: &mut Cx<'_>,
        el: &Element,
        policy: &Policy<'_>,
    ) -> Result<Progress, Error> {
        match (
            std::mem::replace(&mut self.exchange, Exchange::Idle),
            el.name(),
        ) {
            (Exchange::Idle, "auth") => {
                let Some(adv) = self.advertised.as_deref().cloned() else {
                    return self.failure(cx, sasl::Condition::EncryptionRequired, policy);
                };
                let mechanism = el.attr("mechanism").unwrap_or("");
                let data = match decode_sasl(&el.text()) {
                    Ok(d) => d,
                    Err(()) => {
                        return self.failure(cx, sasl::Condition::IncorrectEncoding, policy);
                    }
                };
                let mut server = match sasl::Server::with_advertisement(
                    mechanism,
                    policy.config,
                    cx.tls,
                    &adv,
                    &mut *cx.rng,
                ) {
                    Ok(s) => s,
                    Err(e) => return self.failure(cx, e.condition(), policy),
                };
                let out = server.start(data.as_deref());
                self.output(cx, Box::new(server), out, policy)
            }
            (Exchange::Running(mut server), "response") if el.ns() == ns::SASL => {
                match decode_sasl(&el.text()) {
                    Ok(d) => {
                        let out = server.respond(d.as_deref().unwrap_or(&[]));
                        self.output(cx, server, out, policy)
                    }
                    Err(()) => self.failure(cx, sasl::Condition::IncorrectEncoding, policy),
                }
            }
            (Exchange::Running(_), "abort") if el.ns() == ns::SASL => {
                self.failure(cx, sasl::Condition::Aborted, policy)
            }
            // Out of turn: a response or abort with no exchange, a second
            // <auth/> during one (RFC 6120 §6.4.2).
            (_, _) => Err(cx.core.fail(StreamError::new(Condition::NotAuthorized))),
        }
    }

    /// Whether `token` is the open credentials question.
    pub(crate) fn asked(&self, token: Token) -> bool {
        matches!(&self.exchange, Exchange::AwaitCredentials { token: t, .. } if *t == token)
    }

    /// The host's answer to the credentials question (checked with
    /// [`asked`](Self::asked)).
    pub(crate) fn provide(
        &mut self,
        cx: &mut Cx<'_>,
        credentials: Option<sasl::Credentials>,
        policy: &Policy<'_>,
    ) -> Result<Progress, Error> {
        let Exchange::AwaitCredentials { mut server, .. } =
            std::mem::replace(&mut self.exchange, Exchange::Idle)
        else {
            unreachable!("checked by asked()")
        };
        let out = server.provide_credentials(credentials);
        self.output(cx, server, out, policy)
    }

    fn output(
        &mut self,
        cx: &mut Cx<'_>,
        server: Box<sasl::Server>,
        out: Result<sasl::ServerOutput, sasl::Error>,
        policy: &Policy<'_>,
    ) -> Result<Progress, Error> {
        match out {
            Ok(sasl::ServerOutput::Challenge(data)) => {
                let c = Element::new("challenge", ns::SASL).with_text(&encode_sasl(&data, false));
                cx.core.send(&c).expect("valid element");
                self.exchange = Exchange::Running(server);
                Ok(Progress::Pending)
            }
            Ok(sasl::ServerOutput::NeedCredentials(req)) => {
                // What the client sends next depends on the answer.
                let token = cx.core.ask(Request::Credentials(req), true);
                self.exchange = Exchange::AwaitCredentials { token, server };
                Ok(Progress::Pending)
            }
            Ok(sasl::ServerOutput::Success(auth)) => {
                let Some(user) = authorize(&auth, policy.domain) else {
                    return self.failure(cx, sasl::Condition::InvalidAuthzid, policy);
                };
                let s = match &auth.additional_data {
                    Some(d) => Element::new("success", ns::SASL).with_text(&encode_sasl(d, true)),
                    None => Element::new("success", ns::SASL),
                };
                cx.core.send(&s).expect("valid element");
                self.authenticated = Some((user, auth.mechanism));
                self.advertised = None;
                Ok(Progress::Done)
            }
            Err(e) => self.failure(cx, e.condition(), policy),
        }
    }

    fn failure(
        &mut self,
        cx: &mut Cx<'_>,
        condition: sasl::Condition,
        policy: &Policy<'_>,
    ) -> Result<Progress, Error> {
        let f = Element::new("failure", ns::SASL)
            .with_child(Element::new(condition.as_str(), ns::SASL));
        cx.core.send(&f).expect("valid element");
        self.exchange = Exchange::Idle;
        self.failures += 1;
        if self.failures >= policy.max_failures {
            // RFC 6120 §6.4.5: the server may close after retries.
            return Err(cx.core.fail(
                StreamError::new(Condition::PolicyViolation)
                    .with_text("too many failed authentication attempts"),
            ));
        }
        Ok(Progress::Retry)
    }
}

/// The identity a successful exchange may act as (RFC 4422 §3.4.1,
/// RFC 6120 §6.4.6): the authenticated user; an authorization identity
/// only if it names that same account (acting for someone else would need
/// a policy this server does not have). For EXTERNAL the host names the
/// identity ([`sasl::Credentials::VerifiedAs`], a JID) or, with
/// [`sasl::Credentials::Verified`], vouches for the authzid.
fn authorize(auth: &sasl::Authenticated, domain: &str) -> Option<BareJid> {
    let authzid = match &auth.authzid {
        Some(z) => Some(BareJid::new(z).ok()?),
        None => None,
    };
    match &auth.authcid {
        Some(c) => {
            let user = if auth.mechanism == Mechanism::External {
                BareJid::new(c).ok()?
            } else {
                BareJid::new(&format!("{c}@{domain}")).ok()?
            };
            if authzid.is_some_and(|z| z != user) {
                return None;
            }
            Some(user)
        }
        None => authzid,
    }
}
