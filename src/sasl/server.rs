//! The server side: which mechanisms to offer, and one exchange.
//!
//! Implements the receiving entity's part of RFC 6120 §6.4 (offer, initial
//! response, challenge–response, success with additional data, failure)
//! and RFC 4422 §3 (initial response optional; without one the server
//! sends an empty challenge), the mechanism policy of RFC 6120 §6.4.1 and
//! RFC 4616 §4 (PLAIN only over TLS unless configured), and XEP-0440 (the
//! binding types to advertise). The XML elements themselves are the stream
//! layer's; `<abort/>` maps to [`Server::abort`].

use std::fmt;

use zeroize::Zeroizing;

use super::anonymous;
use super::channel_binding::{ChannelBindingType, TlsInfo};
use super::credentials::{DecoyKey, MIN_ITERATIONS, ScramCredentials};
use super::external::ExternalServer;
use super::plain::PlainServer;
use super::scram::{ScramHash, ScramServer, ScramServerParams, downgrade_protection_hash};
use super::{Condition, Error, Mechanism};
use crate::random::Random;

/// Server policy, shared by all connections.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Mechanisms the server supports, in the order it lists them.
    /// EXTERNAL and ANONYMOUS are off by default: they need host support
    /// (certificate checks, identity assignment).
    pub mechanisms: Vec<Mechanism>,
    /// Offer PLAIN on unencrypted streams (RFC 4616 §4 advises against it).
    pub allow_plain_without_tls: bool,
    /// Iteration count for records the server derives
    /// ([`ServerConfig::derive_credentials`]) and for the decoy record
    /// presented for unknown users. At least 4096.
    pub iterations: u32,
    /// Largest client message accepted, in bytes.
    pub max_message_len: usize,
    /// Add the XEP-0474 downgrade protection hash (`h=`) to SCRAM
    /// server-first messages.
    pub downgrade_protection: bool,
    /// Whether the stream layer advertises the binding types per XEP-0440;
    /// it changes the XEP-0474 hash.
    pub advertise_channel_bindings: bool,
    /// The secret the decoy salts of unknown users are derived from; see
    /// [`DecoyKey`]. One per server, kept across restarts and shared by
    /// every process that serves the same users: a key that changes
    /// changes the salts shown for unknown users, and tells them apart.
    pub decoy_key: DecoyKey,
}

impl ServerConfig {
    /// The default policy, with the server's `decoy_key`.
    ///
    /// Make the key once with [`DecoyKey::generate`], store
    /// [`DecoyKey::as_bytes`] with the server's other secrets, and build
    /// every configuration from [`DecoyKey::new`]. Build one configuration
    /// for the whole server, not one per connection.
    pub fn new(decoy_key: DecoyKey) -> Self {
        Self {
            // The password-based mechanisms, strongest first; EXTERNAL and
            // ANONYMOUS need a host policy and are opted into.
            mechanisms: super::mechanism::DEFAULT_PREFERENCE.to_vec(),
            allow_plain_without_tls: false,
            iterations: MIN_ITERATIONS,
            max_message_len: 4096,
            downgrade_protection: false,
            advertise_channel_bindings: true,
            decoy_key,
        }
    }
}

impl ServerConfig {
    /// The mechanisms to list in `<mechanisms/>` on a connection in state
    /// `tls`: PLAIN only with TLS (unless allowed), EXTERNAL only with TLS,
    /// `-PLUS` only with TLS and binding data.
    pub fn offered_mechanisms(&self, tls: &TlsInfo) -> Vec<Mechanism> {
        let can_bind = !tls.binding_types().is_empty();
        self.mechanisms
            .iter()
            .copied()
            .filter(|&m| match m {
                _ if m.is_plus() => can_bind,
                Mechanism::Plain => tls.active || self.allow_plain_without_tls,
                Mechanism::External => tls.active,
                _ => true,
            })
            .collect()
    }

    /// The binding types to advertise per XEP-0440: those the host
    /// supplied data for. Empty when the server should not advertise,
    /// including when it offers no `-PLUS` mechanism, since a client takes
    /// types without `-PLUS` mechanisms for an attack (XEP-0440
    /// §Business Rules, rule 5).
    pub fn channel_binding_types(&self, tls: &TlsInfo) -> Vec<ChannelBindingType> {
        if self.advertise_channel_bindings
            && self.offered_mechanisms(tls).iter().any(|m| m.is_plus())
        {
            tls.binding_types()
        } else {
            Vec::new()
        }
    }

    /// What the stream layer advertises by default on a connection in
    /// state `tls`: [`offered_mechanisms`](Self::offered_mechanisms) and,
    /// if not empty, [`channel_binding_types`](Self::channel_binding_types).
    pub fn advertisement(&self, tls: &TlsInfo) -> Advertisement {
        let types = self.channel_binding_types(tls);
        Advertisement {
            mechanisms: self
                .offered_mechanisms(tls)
                .iter()
                .map(|m| m.name().to_owned())
                .collect(),
            channel_bindings: (!types.is_empty())
                .then(|| types.iter().map(|t| t.as_str().to_owned()).collect()),
        }
    }

    /// Derives a SCRAM record for `password` with a fresh salt and the
    /// configured iteration count: what a server stores at registration.
    pub fn derive_credentials(
        &self,
        hash: ScramHash,
        password: &str,
        rng: &mut dyn Random,
    ) -> Result<ScramCredentials, Error> {
        ScramCredentials::generate(hash, password, self.iterations, rng)
    }
}

/// The mechanism names and XEP-0440 binding type names a server put in
/// its stream features, exactly as sent.
///
/// The XEP-0474 hash covers these lists (XEP-0474 §Server Sends Downgrade
/// Protection Hash), so a host that advertises anything other than
/// [`ServerConfig::advertisement`] passes what it really sent to
/// [`Server::with_advertisement`]; otherwise clients checking the hash
/// fail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Advertisement {
    /// The `<mechanism/>` names, in any order.
    pub mechanisms: Vec<String>,
    /// The `<channel-binding type='…'/>` names of XEP-0440, or `None` when
    /// the server sent no `<sasl-channel-binding/>`.
    pub channel_bindings: Option<Vec<String>>,
}

impl Advertisement {
    /// An advertisement of these mechanism and binding type names.
    pub fn new<M: AsRef<str>, B: AsRef<str>>(
        mechanisms: &[M],
        channel_bindings: Option<&[B]>,
    ) -> Self {
        Self {
            mechanisms: mechanisms.iter().map(|m| m.as_ref().to_owned()).collect(),
            channel_bindings: channel_bindings
                .map(|b| b.iter().map(|t| t.as_ref().to_owned()).collect()),
        }
    }

    fn contains(&self, m: Mechanism) -> bool {
        self.mechanisms.iter().any(|n| n == m.name())
    }
}

/// What the server machine asks the host for.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialsRequest {
    pub(crate) mechanism: Mechanism,
    pub(crate) authcid: Option<String>,
    pub(crate) authzid: Option<String>,
    pub(crate) password: Option<Zeroizing<String>>,
}

impl CredentialsRequest {
    /// The mechanism in use.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The user name, SASLprep-ed as a query string (RFC 5802 §5.1,
    /// RFC 4616 §2). `None` for EXTERNAL, where the identity comes from the
    /// TLS layer.
    pub fn authcid(&self) -> Option<&str> {
        self.authcid.as_deref()
    }

    /// The requested authorization identity, if any, as sent. For looking
    /// the user up only: whether the user may act as it is decided after
    /// authentication succeeded, from [`Authenticated::authzid`], since
    /// RFC 4616 §2 authenticates first and authorizes second, and a
    /// decision taken here would tell an unauthenticated client which
    /// authzids exist. For EXTERNAL, where the host's verdict *is* the
    /// authentication, deciding here is fine.
    pub fn authzid(&self) -> Option<&str> {
        self.authzid.as_deref()
    }

    /// For PLAIN, the password as the client sent it: raw, without
    /// SASLprep, for hosts that check it themselves and answer
    /// [`Credentials::Verified`].
    ///
    /// Such a host prepares it with
    /// [`saslprep_query`](super::saslprep::saslprep_query) (a presented
    /// string is a query, RFC 4616 §2, RFC 3454 §7) before comparing it with
    /// a password hash that was computed from the
    /// [`saslprep_stored`](super::saslprep::saslprep_stored) form at
    /// registration, or compares raw bytes if it stored raw passwords.
    /// Answering [`Credentials::Scram`] instead does this preparation
    /// itself.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref().map(String::as_str)
    }

    /// The hash of the record to provide, for SCRAM.
    pub fn scram_hash(&self) -> Option<ScramHash> {
        self.mechanism.scram_hash()
    }
}

impl fmt::Debug for CredentialsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsRequest")
            .field("mechanism", &self.mechanism)
            .field("authcid", &self.authcid)
            .field("authzid", &self.authzid)
            .finish_non_exhaustive()
    }
}

/// The host's answer to a [`CredentialsRequest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// The user's stored record for [`CredentialsRequest::scram_hash`].
    /// Also accepted by PLAIN, which then checks the password against it
    /// (with any hash; this runs PBKDF2).
    Scram(ScramCredentials),
    /// The host has checked the request itself and accepts it: for PLAIN,
    /// [`CredentialsRequest::password`]; for EXTERNAL, the identity
    /// established by TLS and the requested authzid. Not valid for SCRAM.
    Verified,
    /// For EXTERNAL: the host has established this identity from the
    /// lower layer (the JID in a TLS client certificate, XEP-0178 §3) and
    /// checked that the requested authzid, if any, may be used by it. It
    /// becomes [`Authenticated::authcid`].
    VerifiedAs(String),
}

/// A successful exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authenticated {
    /// The mechanism used.
    pub mechanism: Mechanism,
    /// The authenticated user name (prepared); `None` for EXTERNAL and
    /// ANONYMOUS.
    pub authcid: Option<String>,
    /// The requested authorization identity, if any. The host checks here,
    /// after authentication (RFC 4616 §2), that
    /// [`authcid`](Self::authcid) may act as it, and if not calls
    /// [`Server::refuse`] with [`Condition::InvalidAuthzid`] instead of
    /// sending `<success/>` (RFC 6120 §6.5.6).
    pub authzid: Option<String>,
    /// The ANONYMOUS trace, if the client sent one. Never an identity.
    pub trace: Option<String>,
    /// The channel binding type the exchange was bound to.
    pub channel_binding: Option<ChannelBindingType>,
    /// Additional data for `<success/>` (SCRAM's server-final-message).
    /// `Some(empty)` never occurs; `None` means an empty `<success/>`
    /// element. (Were it empty, RFC 6120 §6.4.6 would have it sent as
    /// `=`.)
    pub additional_data: Option<Vec<u8>>,
}

/// One step of a server exchange.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServerOutput {
    /// Send a `<challenge/>` with this data (empty: an empty element, no
    /// `=`, RFC 6120 §6.4.3) and feed the answer to [`Server::respond`]
    /// (an empty `<response/>` as an empty slice).
    Challenge(Vec<u8>),
    /// Look up the user and call [`Server::provide_credentials`].
    NeedCredentials(CredentialsRequest),
    /// Send `<success/>` with [`Authenticated::additional_data`].
    Success(Authenticated),
}

enum Inner {
    Plain(PlainServer),
    Scram(Box<ScramServer>),
    External(ExternalServer),
    Anonymous { done: bool },
}

/// One SASL exchange on the server side.
///
/// Create it when `<auth mechanism='…'/>` arrives, call
/// [`start`](Self::start) with the initial response, then follow the
/// [`ServerOutput`]s. Any `Err` ends the exchange: send
/// `<failure/>` with [`Error::condition`].
pub struct Server {
    mechanism: Mechanism,
    inner: Inner,
    started: bool,
    failed: bool,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts an exchange for the mechanism the client named, on a
    /// connection that advertised [`ServerConfig::advertisement`].
    ///
    /// Fails with [`Error::InvalidMechanism`] for names not offered on
    /// this connection and [`Error::EncryptionRequired`] for mechanisms
    /// that need TLS (PLAIN, EXTERNAL and `-PLUS` on a plaintext stream).
    /// `rng` provides the SCRAM nonce.
    pub fn new(
        mechanism: &str,
        config: &ServerConfig,
        tls: &TlsInfo,
        rng: &mut dyn Random,
    ) -> Result<Self, Error> {
        Self::with_advertisement(mechanism, config, tls, &config.advertisement(tls), rng)
    }

    /// Like [`new`](Self::new), for a host that advertised `advertised`
    /// rather than the default: the XEP-0474 hash is computed from it, a
    /// `y` flag is a downgrade if it lists a `-PLUS` mechanism
    /// (RFC 5802 §6), and a mechanism must be both advertised and allowed
    /// by `config` on this connection.
    pub fn with_advertisement(
        mechanism: &str,
        config: &ServerConfig,
        tls: &TlsInfo,
        advertised: &Advertisement,
        rng: &mut dyn Random,
    ) -> Result<Self, Error> {
        let offered = config.offered_mechanisms(tls);
        let m = Mechanism::from_name(mechanism)
            .ok_or_else(|| Error::InvalidMechanism(mechanism.to_owned()))?;
        if !offered.contains(&m) {
            if config.mechanisms.contains(&m) && !tls.active {
                return Err(Error::EncryptionRequired(m.name()));
            }
            return Err(Error::InvalidMechanism(mechanism.to_owned()));
        }
        if !advertised.contains(m) {
            return Err(Error::InvalidMechanism(mechanism.to_owned()));
        }
        let iterations = config.iterations.max(MIN_ITERATIONS);
        let inner = match m {
            Mechanism::Plain => Inner::Plain(PlainServer::new(
                config.max_message_len,
                iterations,
                config.decoy_key.clone(),
            )),
            Mechanism::External => Inner::External(ExternalServer::new()),
            Mechanism::Anonymous => Inner::Anonymous { done: false },
            _ => {
                let hash = m
                    .scram_hash()
                    .ok_or(Error::InvalidMechanism(mechanism.to_owned()))?;
                let downgrade_hash = config.downgrade_protection.then(|| {
                    downgrade_protection_hash(
                        hash,
                        &advertised.mechanisms,
                        advertised.channel_bindings.as_deref(),
                    )
                });
                let plus_offered = advertised
                    .mechanisms
                    .iter()
                    .any(|n| Mechanism::from_name(n).is_some_and(Mechanism::is_plus));
                Inner::Scram(Box::new(ScramServer::new(
                    ScramServerParams {
                        hash,
                        plus: m.is_plus(),
                        plus_offered,
                        bindings: if tls.active {
                            tls.bindings.clone()
                        } else {
                            Vec::new()
                        },
                        downgrade_hash,
                        max_len: config.max_message_len,
                        unknown_user_iterations: iterations,
                        decoy_key: config.decoy_key.clone(),
                    },
                    rng,
                )))
            }
        };
        Ok(Self {
            mechanism: m,
            inner,
            started: false,
            failed: false,
        })
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Replaces the server part of the SCRAM nonce. Only for reproducing
    /// published test vectors: a fixed nonce voids SCRAM's replay
    /// protection.
    #[doc(hidden)]
    pub fn set_nonce_for_test_vectors(&mut self, nonce: &str) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Scram(s) => s.set_nonce(nonce),
            _ => Err(Error::UnexpectedInput("nonce for a mechanism without one")),
        }
    }

    /// Handles the `<auth/>` element's content: `None` when it had no
    /// initial response, `Some(b"")` for an empty one (`=` on the wire,
    /// RFC 6120 §6.4.2). Without an initial response the server sends an
    /// empty challenge (RFC 4422 §3).
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Result<ServerOutput, Error> {
        if self.started {
            return self.fail(Error::UnexpectedInput("second start"));
        }
        self.started = true;
        match initial_response {
            None => Ok(ServerOutput::Challenge(Vec::new())),
            Some(data) => self.respond(data),
        }
    }

    /// Handles the content of a `<response/>`.
    pub fn respond(&mut self, data: &[u8]) -> Result<ServerOutput, Error> {
        if self.failed {
            return Err(Error::UnexpectedInput("after failure"));
        }
        if !self.started {
            return self.fail(Error::UnexpectedInput("response before start"));
        }
        let r = match &mut self.inner {
            Inner::Plain(p) => p.message(data),
            Inner::External(e) => e.message(data),
            Inner::Anonymous { done: false } => {
                self.inner = Inner::Anonymous { done: true };
                anonymous::accept(data)
            }
            Inner::Anonymous { done: true } => Err(Error::UnexpectedInput("after success")),
            Inner::Scram(s) if s.waiting_for_first() => s.client_first(data),
            Inner::Scram(s) => s.client_final(data),
        };
        self.track(r)
    }

    /// Resumes after [`ServerOutput::NeedCredentials`]. `None` means the
    /// user is unknown: SCRAM then carries on with a decoy record and fails
    /// at the proof, so that unknown users look like wrong passwords
    /// (RFC 5802 §9, RFC 6120 §6.5.10). The decoy's salt is derived from
    /// [`ServerConfig::decoy_key`] and the user name, so it stays the same
    /// across attempts; it uses [`ServerConfig::iterations`], so real
    /// records should use the same count. PLAIN runs the same PBKDF2 for an
    /// unknown user as for a SHA-256 record with that count, so that the
    /// time taken does not tell either.
    ///
    /// Answering with a record of the wrong kind (e.g. a SHA-1 record for
    /// SCRAM-SHA-256, or [`Credentials::Verified`] for SCRAM) is a host
    /// bug: [`Error::CredentialsMismatch`], `temporary-auth-failure`.
    pub fn provide_credentials(
        &mut self,
        credentials: Option<Credentials>,
    ) -> Result<ServerOutput, Error> {
        if self.failed {
            return Err(Error::UnexpectedInput("after failure"));
        }
        let r = match &mut self.inner {
            Inner::Plain(p) => p.credentials(credentials),
            Inner::External(e) => e.credentials(credentials),
            Inner::Scram(s) => match credentials {
                None => s.credentials(None),
                Some(Credentials::Scram(c)) => s.credentials(Some(c)),
                Some(_) => {
                    s.fail();
                    Err(Error::CredentialsMismatch)
                }
            },
            Inner::Anonymous { .. } => Err(Error::UnexpectedInput("credentials")),
        };
        self.track(r)
    }

    /// Ends the exchange with `condition`, e.g. when the account is
    /// disabled ([`Condition::AccountDisabled`]) or the database is down
    /// ([`Condition::TemporaryAuthFailure`]) while credentials are asked
    /// for, or after [`ServerOutput::Success`] when the authenticated user
    /// may not act as [`Authenticated::authzid`]
    /// ([`Condition::InvalidAuthzid`]); the host then sends `<failure/>`
    /// with the returned error's condition instead of `<success/>`.
    pub fn refuse(&mut self, condition: Condition) -> Error {
        self.mark_failed();
        Error::Refused(condition)
    }

    /// The client sent `<abort/>` (RFC 6120 §6.4.4): answer with
    /// `<failure/>` carrying the returned error's condition, `aborted`.
    pub fn abort(&mut self) -> Error {
        self.mark_failed();
        Error::Aborted
    }

    /// Whether the machine waits for [`provide_credentials`](Self::provide_credentials).
    pub fn needs_credentials(&self) -> bool {
        !self.failed
            && match &self.inner {
                Inner::Plain(p) => p.waiting_for_credentials(),
                Inner::External(e) => e.waiting_for_credentials(),
                Inner::Scram(s) => s.waiting_for_credentials(),
                Inner::Anonymous { .. } => false,
            }
    }

    fn mark_failed(&mut self) {
        self.failed = true;
        match &mut self.inner {
            Inner::Plain(p) => p.fail(),
            Inner::External(e) => e.fail(),
            Inner::Scram(s) => s.fail(),
            Inner::Anonymous { done } => *done = true,
        }
    }

    fn fail(&mut self, e: Error) -> Result<ServerOutput, Error> {
        self.mark_failed();
        Err(e)
    }

    fn track(&mut self, r: Result<ServerOutput, Error>) -> Result<ServerOutput, Error> {
        match r {
            Err(e) => self.fail(e),
            ok => ok,
        }
    }
}
