//! The client side: choosing a mechanism and running one exchange.
//!
//! Implements the initiating entity's part of RFC 6120 §6.4 (initial
//! response, challenges, success with additional data) and the client
//! policy of RFC 5802 §9 (iteration count bounds) and RFC 6120 §6.4.1
//! (no PLAIN without TLS unless configured). Sending `<abort/>` after an
//! error, and the base64 wrapping of RFC 6120 §6.4.2, are the stream
//! layer's.

use std::fmt;

use zeroize::Zeroizing;

use super::channel_binding::{ChannelBindingType, TlsInfo};
use super::credentials::{MIN_ITERATIONS, SaltedPasswordCache};
use super::mechanism::{
    ChannelBindingChoice, DEFAULT_PREFERENCE, Policy, SelectError, Selection, select,
};
use super::scram::{ScramClient, ScramClientParams, downgrade_protection_hash};
use super::{Error, Mechanism, anonymous, external, plain};
use crate::random::Random;

/// Client policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Mechanisms the client may use, most preferred first. Defaults to
    /// [`DEFAULT_PREFERENCE`]; put [`Mechanism::External`] first to log in
    /// with a client certificate, or use only [`Mechanism::Anonymous`].
    pub preference: Vec<Mechanism>,
    /// Use PLAIN on unencrypted streams (RFC 4616 §4 advises against it).
    pub allow_plain_without_tls: bool,
    /// Smallest SCRAM iteration count accepted (RFC 5802 §5.1, RFC 7677
    /// §4: 4096).
    pub min_iterations: u32,
    /// Largest SCRAM iteration count accepted, so that a hostile server
    /// cannot make the client spin (RFC 5802 §9).
    pub max_iterations: u32,
    /// Largest server message accepted, in bytes.
    pub max_message_len: usize,
    /// Rely on the server's XEP-0474 downgrade protection hash instead of
    /// aborting when the server offers `-PLUS` mechanisms and binding types
    /// none of which the host can supply (XEP-0474 §Business Rules, new
    /// rule 6, relaxing XEP-0440 §Business Rules, rule 6). The client then
    /// runs a SCRAM mechanism without channel binding and fails unless
    /// server-first carries a matching `h=`; a server that does not
    /// implement XEP-0474 can then never be logged in to in that situation.
    /// Off by default.
    pub rely_on_downgrade_protection: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            preference: DEFAULT_PREFERENCE.to_vec(),
            allow_plain_without_tls: false,
            min_iterations: MIN_ITERATIONS,
            max_iterations: 1_000_000,
            max_message_len: 16 * 1024,
            rely_on_downgrade_protection: false,
        }
    }
}

impl ClientConfig {
    /// Picks the mechanism to use from the names the server `offered`.
    ///
    /// `server_bindings` are the binding type names the server advertised
    /// per XEP-0440, or `None` if it did not. `tls` says whether the stream
    /// is encrypted and which binding data the host can supply (a rustls
    /// host: `tls-exporter` and `tls-server-end-point`, never
    /// `tls-unique`).
    ///
    /// `-PLUS` mechanisms are preferred when a binding type is usable. The
    /// rules of XEP-0440 §Business Rules apply, by number:
    ///
    /// 1. and 7. Among the types the server lists, one stronger than
    ///    `tls-server-end-point` is taken if the host has one (the host's
    ///    first such), else `tls-server-end-point`.
    /// 2. A host without binding data for the stream sends `n`.
    /// 3. A host with binding data sends `y` (RFC 5802 §6) when the server
    ///    announced neither `-PLUS` mechanisms nor binding types.
    /// 4. `-PLUS` offered without a type list (or with an empty one): the
    ///    host's first type is tried, as RFC 6120 SASL allows.
    /// 5. Binding types announced without any `-PLUS` mechanism: refused
    ///    with [`SelectError::PlusMechanismsStripped`] when the host could
    ///    bind (XEP-0440 says SHOULD for RFC 6120 SASL).
    /// 6. `-PLUS` mechanisms and types announced, but none the host can
    ///    supply: refused with [`SelectError::ChannelBindingDowngrade`]
    ///    (also when `tls-server-end-point` is among them, which the rule
    ///    would let pass: a man in the middle could name just that to make
    ///    the client send `n`), unless
    ///    [`rely_on_downgrade_protection`](Self::rely_on_downgrade_protection)
    ///    is set (XEP-0474 new rule 6: a SCRAM mechanism with `n`, and the
    ///    server's `h=` must confirm the offer; see
    ///    [`Selection::downgrade_hash_required`]).
    ///
    /// The rule-6 checks apply only when the client's preference would
    /// otherwise have picked a `-PLUS` mechanism. Whenever the server
    /// sends an XEP-0474 `h=`, the SCRAM client checks it against what was
    /// offered. `n` goes out only when the stream has no TLS or the host
    /// has no binding data at all.
    ///
    /// Without a list, a `-PLUS` mechanism is a guess at the binding type;
    /// see [`fallback`](Self::fallback) for when the server refuses it.
    ///
    /// `offered` and `server_bindings` are passed verbatim, as the stream
    /// layer read them: they feed the XEP-0474 hash. Without XEP-0440 pass
    /// `None::<&[&str]>`.
    pub fn select<M: AsRef<str>, B: AsRef<str>>(
        &self,
        offered: &[M],
        server_bindings: Option<&[B]>,
        tls: &TlsInfo,
    ) -> Result<Selection, SelectError> {
        select(&self.policy(), offered, server_bindings, tls)
    }

    /// The one retry after a server refused a `-PLUS` attempt before
    /// sending any challenge, when the binding type was a guess (no
    /// XEP-0440 list, RFC 6120 SASL): the strongest offered SCRAM
    /// mechanism without `-PLUS`, with the GS2 flag `y` (RFC 5802 §6).
    ///
    /// Servers that predate XEP-0440 may accept only a type the host cannot
    /// supply (ejabberd before 24.02 takes only `tls-unique`, even over TLS
    /// 1.3, where RFC 9266 leaves it undefined) and fail the first message.
    /// A server that does support channel binding refuses `y`, so a man in
    /// the middle who stripped the list or failed the attempt gains nothing;
    /// `n` would be the hole, and is never used here. `None` when the
    /// failed attempt was not such a guess, or when only PLAIN is left:
    /// a password never goes in the clear after SCRAM was tried. A failure
    /// after a challenge (a wrong password) is final and gets no retry.
    pub fn fallback(&self, failed: &Selection, tls: &TlsInfo) -> Option<Selection> {
        super::mechanism::fallback(&self.policy(), failed, tls)
    }

    fn policy(&self) -> Policy<'_> {
        Policy {
            preference: &self.preference,
            allow_plain_without_tls: self.allow_plain_without_tls,
            rely_on_downgrade_protection: self.rely_on_downgrade_protection,
        }
    }
}

/// What the client authenticates with.
pub struct ClientCredentials {
    authcid: Option<String>,
    password: Option<Zeroizing<String>>,
    authzid: Option<String>,
    trace: Option<String>,
    cache: Option<SaltedPasswordCache>,
}

impl ClientCredentials {
    /// A user name (the localpart of the JID for XMPP, RFC 6120 §6.3.8)
    /// and password, for PLAIN and SCRAM.
    pub fn password(authcid: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            authcid: Some(authcid.into()),
            password: Some(Zeroizing::new(password.into())),
            authzid: None,
            trace: None,
            cache: None,
        }
    }

    /// No credentials of its own, for EXTERNAL (the TLS client certificate
    /// authenticates) and ANONYMOUS.
    pub fn none() -> Self {
        Self {
            authcid: None,
            password: None,
            authzid: None,
            trace: None,
            cache: None,
        }
    }

    /// Requests to act as `authzid` (a bare JID for XMPP, RFC 6120 §6.3.8).
    pub fn with_authzid(mut self, authzid: impl Into<String>) -> Self {
        self.authzid = Some(authzid.into());
        self
    }

    /// The ANONYMOUS trace (RFC 4505 §2): at most 255 characters, checked
    /// against the "trace" stringprep profile of RFC 4505 §3 (no control,
    /// private use, non-character, surrogate, display-changing or tagging
    /// characters, and the bidirectional rules of RFC 3454 §6) when the
    /// client is created.
    pub fn with_trace(mut self, trace: impl Into<String>) -> Self {
        self.trace = Some(trace.into());
        self
    }

    /// A salted-password cache from an earlier connection of this account,
    /// so that SCRAM can skip PBKDF2. Get it back with
    /// [`Client::take_cache`].
    pub fn with_cache(mut self, cache: SaltedPasswordCache) -> Self {
        self.cache = Some(cache);
        self
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("authcid", &self.authcid)
            .field("authzid", &self.authzid)
            .finish_non_exhaustive()
    }
}

enum Inner {
    /// PLAIN, EXTERNAL, ANONYMOUS: one message, then success.
    Single {
        message: Zeroizing<Vec<u8>>,
        sent: bool,
        done: bool,
    },
    Scram(Box<ScramClient>),
}

/// One SASL exchange on the client side.
///
/// Send [`initial_response`](Self::initial_response) in `<auth/>`, answer
/// each `<challenge/>` with [`challenge`](Self::challenge), and check
/// `<success/>` with [`success`](Self::success): only when it returns `Ok`
/// is the server authenticated too. Any `Err` ends the exchange: send
/// `<abort/>` if the server has not already answered with `<failure/>`.
///
/// # Empty messages on the wire
///
/// The stream layer base64-encodes what goes out and decodes what comes
/// in (RFC 6120 §6.4.2); empty data needs care:
///
/// - `<auth/>`: the initial response is always present here; an empty one
///   (EXTERNAL without authzid, ANONYMOUS without trace) is sent as `=`
///   (RFC 6120 §6.4.2), never as an empty element, which would mean "no
///   initial response".
/// - `<response/>`: an empty vector from [`challenge`](Self::challenge)
///   (SCRAM after `v=` arrived in a challenge) is sent as an empty
///   element; RFC 6120 §6.4.3 defines no `=` there.
/// - `<challenge/>`: an empty element is passed in as an empty slice.
/// - `<success/>`: an empty element is passed as `None`, `=` as
///   `Some(b"")` (RFC 6120 §6.4.6), anything else decoded.
pub struct Client {
    mechanism: Mechanism,
    channel_binding: Option<ChannelBindingType>,
    inner: Inner,
    cache: Option<SaltedPasswordCache>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("mechanism", &self.mechanism)
            .field("channel_binding", &self.channel_binding)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Prepares an exchange for a [`Selection`].
    ///
    /// For `-PLUS` mechanisms `tls` must hold the data of the selected
    /// binding type. `rng` provides the SCRAM client nonce.
    pub fn new(
        selection: &Selection,
        credentials: ClientCredentials,
        tls: &TlsInfo,
        config: &ClientConfig,
        rng: &mut dyn Random,
    ) -> Result<Self, Error> {
        let m = selection.mechanism;
        let ClientCredentials {
            authcid,
            password,
            authzid,
            trace,
            cache,
        } = credentials;
        let single = |message: Zeroizing<Vec<u8>>| Inner::Single {
            message,
            sent: false,
            done: false,
        };
        let mut channel_binding = None;
        let mut cache = cache;
        let inner = match m {
            Mechanism::Plain => {
                if !tls.active && !config.allow_plain_without_tls {
                    return Err(Error::EncryptionRequired(m.name()));
                }
                let user = authcid.ok_or(Error::EmptyUsername)?;
                let password = password.ok_or(Error::EmptyPassword)?;
                single(plain::encode(authzid.as_deref(), &user, &password)?)
            }
            Mechanism::External => {
                // Without TLS there are no lower-layer credentials for the
                // server to rely on (RFC 4422 App. A, RFC 6120 §6.4.1).
                if !tls.active {
                    return Err(Error::EncryptionRequired(m.name()));
                }
                let msg = authzid.unwrap_or_default().into_bytes();
                external::parse(&msg)?;
                single(Zeroizing::new(msg))
            }
            Mechanism::Anonymous => single(Zeroizing::new(anonymous::encode(trace.as_deref())?)),
            _ => {
                let hash = m
                    .scram_hash()
                    .ok_or(Error::InvalidMechanism(m.name().to_owned()))?;
                let binding = match selection.channel_binding {
                    ChannelBindingChoice::Bound(t) if m.is_plus() => {
                        channel_binding = Some(t);
                        Some(tls.binding(t).cloned().ok_or_else(|| {
                            Error::UnsupportedChannelBinding(t.as_str().to_owned())
                        })?)
                    }
                    ChannelBindingChoice::Bound(_) => return Err(Error::ChannelBindingFlag),
                    _ if m.is_plus() => return Err(Error::ChannelBindingFlag),
                    _ => None,
                };
                let require_downgrade_hash = selection.downgrade_hash_required;
                // With an empty offer a required hash is that of an empty
                // list, which no server sends: the check then fails.
                let downgrade_hash = (!selection.offered.is_empty() || require_downgrade_hash)
                    .then(|| {
                        downgrade_protection_hash(
                            hash,
                            &selection.offered,
                            selection.server_channel_bindings.as_deref(),
                        )
                    });
                Inner::Scram(Box::new(ScramClient::new(
                    ScramClientParams {
                        hash,
                        choice: selection.channel_binding,
                        binding,
                        username: authcid.ok_or(Error::EmptyUsername)?,
                        password: password.ok_or(Error::EmptyPassword)?,
                        authzid,
                        min_iterations: config.min_iterations,
                        max_iterations: config.max_iterations,
                        max_len: config.max_message_len,
                        downgrade_hash,
                        require_downgrade_hash,
                        cache: cache.take(),
                    },
                    rng,
                )?))
            }
        };
        Ok(Self {
            mechanism: m,
            channel_binding,
            inner,
            cache,
        })
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The channel binding type in use, for `-PLUS` mechanisms.
    pub fn channel_binding(&self) -> Option<ChannelBindingType> {
        self.channel_binding
    }

    /// Replaces the SCRAM client nonce. Only for reproducing published
    /// test vectors: a fixed nonce voids SCRAM's replay protection.
    #[doc(hidden)]
    pub fn set_nonce_for_test_vectors(&mut self, nonce: &str) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Scram(s) => s.set_nonce(nonce),
            Inner::Single { .. } => {
                Err(Error::UnexpectedInput("nonce for a mechanism without one"))
            }
        }
    }

    /// The initial response for `<auth/>`. Every mechanism here has one
    /// (RFC 4422 §3.3 allows it for all of them).
    ///
    /// An empty vector (EXTERNAL without authzid, ANONYMOUS without trace)
    /// goes on the wire as `=` (RFC 6120 §6.4.2), not as an empty
    /// `<auth/>`.
    pub fn initial_response(&mut self) -> Result<Vec<u8>, Error> {
        match &mut self.inner {
            Inner::Single { message, sent, .. } => {
                if *sent {
                    return Err(Error::UnexpectedInput("initial response sent twice"));
                }
                *sent = true;
                Ok(message.to_vec())
            }
            Inner::Scram(s) => s.initial_response(),
        }
    }

    /// Answers a `<challenge/>` (an empty element as an empty slice);
    /// returns the content of the `<response/>`. An empty vector is sent as
    /// an empty `<response/>` element, without `=` (RFC 6120 §6.4.3).
    pub fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        match &mut self.inner {
            // A server that ignored the initial response asks with an empty
            // challenge (RFC 4422 §3); no other challenge is defined.
            Inner::Single {
                message,
                sent,
                done,
            } if data.is_empty() && !*done => {
                *sent = true;
                *done = true;
                Ok(message.to_vec())
            }
            Inner::Single { .. } => Err(Error::UnexpectedInput("challenge")),
            Inner::Scram(s) => {
                let first = data.is_empty();
                if first {
                    // The server wants the client-first-message now.
                    return s.initial_response();
                }
                s.challenge(data)
            }
        }
    }

    /// Handles `<success/>` with its additional data (`None` for an empty
    /// element, `Some(b"")` for `=`). For SCRAM this verifies the server
    /// signature (RFC 5802 §3): a success without a valid one is an error,
    /// and so is data after the signature already came in a challenge.
    /// PLAIN, EXTERNAL and ANONYMOUS define no additional data, so
    /// non-empty data fails with [`Error::UnexpectedSuccessData`]
    /// (RFC 6120 §6.4.6 allows it only where the mechanism does).
    pub fn success(&mut self, additional_data: Option<&[u8]>) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Single { sent: true, .. } if additional_data.is_some_and(|d| !d.is_empty()) => {
                Err(Error::UnexpectedSuccessData)
            }
            Inner::Single { sent: true, .. } => Ok(()),
            Inner::Single { .. } => Err(Error::UnexpectedInput(
                "success before the message was sent",
            )),
            Inner::Scram(s) => {
                let r = s.success(additional_data);
                if let Some(c) = s.take_cache() {
                    self.cache = Some(c);
                }
                r
            }
        }
    }

    /// Returns the salted-password cache: after a verified SCRAM exchange,
    /// one that holds its salted password (the cache passed in with
    /// [`ClientCredentials::with_cache`], updated, or a new one); before
    /// that, or for other mechanisms, the cache passed in, if any. Hand it
    /// to the next login of the account so that it skips PBKDF2.
    pub fn take_cache(&mut self) -> Option<SaltedPasswordCache> {
        if let Inner::Scram(s) = &mut self.inner
            && let Some(c) = s.take_cache()
        {
            return Some(c);
        }
        self.cache.take()
    }
}
