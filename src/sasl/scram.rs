//! SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-512 and their `-PLUS` variants.
//!
//! Implements RFC 5802 §3 (algorithm), §5 (exchange), §5.1 (attributes,
//! including the failure on `m=`), §6 (channel binding and the `y`
//! downgrade rule), §7 (message syntax) and §9 (iteration count limits on
//! the client), RFC 7677 (SHA-256), the same construction with SHA-512 (as
//! in draft-melnikov-scram-sha-512), and the optional downgrade protection
//! hash `h=` of XEP-0474 (checked when present, required when the client's
//! selection relied on it per XEP-0474 §Business Rules). Unknown users get
//! a decoy record whose salt is derived from the server's
//! [`DecoyKey`] (RFC 5802 §9). The GS2 header is the RFC 5802 §7 subset of
//! RFC 5801 (no `F,` non-standard flag). Not implemented: SCRAM over
//! GSS-API (RFC 5802 §8), the `e=` values as a typed enum (they are passed
//! through as text), and the RFC 5803 LDAP record encoding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Error;
use super::channel_binding::{ChannelBinding, ChannelBindingType};
use super::credentials::{DecoyKey, Keys, SaltedPasswordCache, ScramCredentials, salted_prepared};
use super::mechanism::{ChannelBindingChoice, Mechanism};
use super::saslprep::{saslprep_query, saslprep_stored};
use super::server::{Authenticated, CredentialsRequest, ServerOutput};
use crate::random::Random;

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScramHash {
    /// SHA-1, for SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SHA-256, for SCRAM-SHA-256 (RFC 7677).
    Sha256,
    /// SHA-512, for SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    /// Every hash, strongest first.
    pub const ALL: [ScramHash; 3] = [ScramHash::Sha512, ScramHash::Sha256, ScramHash::Sha1];

    /// The hash name as it appears in mechanism names, e.g. `"SHA-256"`.
    pub fn name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SHA-1",
            ScramHash::Sha256 => "SHA-256",
            ScramHash::Sha512 => "SHA-512",
        }
    }

    /// Output length in bytes; also the length of every SCRAM key.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
            ScramHash::Sha512 => 64,
        }
    }

    /// The SCRAM mechanism using this hash, with or without channel
    /// binding.
    pub fn mechanism(self, plus: bool) -> Mechanism {
        match (self, plus) {
            (ScramHash::Sha1, false) => Mechanism::ScramSha1,
            (ScramHash::Sha1, true) => Mechanism::ScramSha1Plus,
            (ScramHash::Sha256, false) => Mechanism::ScramSha256,
            (ScramHash::Sha256, true) => Mechanism::ScramSha256Plus,
            (ScramHash::Sha512, false) => Mechanism::ScramSha512,
            (ScramHash::Sha512, true) => Mechanism::ScramSha512Plus,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC hashes over-long keys and pads short ones, so every
            // length is accepted and this cannot fail.
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha1 => run::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => run::<Hmac<Sha256>>(key, data),
            ScramHash::Sha512 => run::<Hmac<Sha512>>(key, data),
        }
    }

    pub(crate) fn pbkdf2(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; self.output_len()]);
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out)
            }
            ScramHash::Sha512 => {
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out)
            }
        }
        out
    }
}

/// The downgrade protection hash of XEP-0474 §3.1: the base64 hash of the
/// sorted advertised mechanism names, then, if channel binding types were
/// advertised per XEP-0440, `0x1F` and the sorted type names.
pub fn downgrade_protection_hash<M: AsRef<str>, B: AsRef<str>>(
    hash: ScramHash,
    mechanisms: &[M],
    channel_bindings: Option<&[B]>,
) -> String {
    fn sorted<S: AsRef<str>>(names: &[S]) -> Vec<&[u8]> {
        // "i;octet" collation is plain byte order.
        let mut v: Vec<&[u8]> = names.iter().map(|s| s.as_ref().as_bytes()).collect();
        v.sort_unstable();
        v
    }
    let mut s = sorted(mechanisms).join(&0x1e);
    if let Some(cb) = channel_bindings {
        s.push(0x1f);
        s.extend(sorted(cb).join(&0x1e));
    }
    STANDARD.encode(hash.digest(&s))
}

// ---------------------------------------------------------------------------
// Syntax (RFC 5802 §7)

/// One `key=value` attribute.
#[derive(Debug, Clone, Copy)]
struct Attr<'a> {
    key: u8,
    value: &'a str,
}

/// Letters RFC 5802 gives a fixed position; seeing one among the
/// extensions means the message is malformed.
const DEFINED: &[u8] = b"acemnprsvi";

fn utf8(msg: &[u8], max: usize) -> Result<&str, Error> {
    if msg.len() > max {
        return Err(Error::TooLong {
            len: msg.len(),
            max,
        });
    }
    if msg.is_empty() {
        return Err(Error::Malformed("empty message"));
    }
    let s = std::str::from_utf8(msg).map_err(|_| Error::NotUtf8)?;
    if s.contains('\0') {
        return Err(Error::Malformed("NUL character"));
    }
    Ok(s)
}

fn split_attrs(s: &str) -> Result<Vec<Attr<'_>>, Error> {
    let attrs = s
        .split(',')
        .map(|part| {
            let b = part.as_bytes();
            if b.len() < 2 || !b[0].is_ascii_alphabetic() || b[1] != b'=' {
                return Err(Error::Malformed("attribute syntax"));
            }
            Ok(Attr {
                key: b[0],
                value: &part[2..],
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if attrs.iter().any(|a| a.key == b'm') {
        return Err(Error::MandatoryExtension);
    }
    Ok(attrs)
}

/// The value of the attribute at position `i`, which must be `key`.
fn expect<'a>(attrs: &[Attr<'a>], i: usize, key: u8) -> Result<&'a str, Error> {
    match attrs.get(i) {
        Some(a) if a.key == key => Ok(a.value),
        Some(a) if attrs[..i].iter().any(|p| p.key == a.key) => {
            Err(Error::DuplicateAttribute(a.key as char))
        }
        _ => Err(Error::MissingAttribute(key as char)),
    }
}

/// Checks optional extensions (RFC 5802 §5.1: unknown ones are ignored)
/// and returns them.
fn extensions<'a>(attrs: &[Attr<'a>], from: usize, to: usize) -> Result<Vec<Attr<'a>>, Error> {
    let mut seen: Vec<u8> = attrs[..from].iter().map(|a| a.key).collect();
    let mut out = Vec::new();
    for a in &attrs[from..to] {
        if seen.contains(&a.key) {
            return Err(Error::DuplicateAttribute(a.key as char));
        }
        if DEFINED.contains(&a.key) {
            return Err(Error::Malformed("attribute out of place"));
        }
        if a.value.is_empty() {
            return Err(Error::Malformed("empty extension value"));
        }
        seen.push(a.key);
        out.push(*a);
    }
    Ok(out)
}

fn b64(key: char, value: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(value)
        .map_err(|_| Error::InvalidBase64(key))
}

/// `printable` of RFC 5802 §7: ASCII 0x21–0x7E except `,`.
fn valid_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Escapes `,` and `=` in a `saslname` (RFC 5802 §5.1).
pub(crate) fn escape_saslname(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ',' => out.push_str("=2C"),
            '=' => out.push_str("=3D"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape_saslname`]; `=` followed by anything but `2C` or `3D`
/// is an error.
pub(crate) fn unescape_saslname(s: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("=2C") {
            out.push(',');
        } else if tail.starts_with("=3D") {
            out.push('=');
        } else {
            return Err(Error::Malformed("invalid escape in name"));
        }
        rest = &tail[3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The GS2 channel binding flag (RFC 5802 §7 `gs2-cbind-flag`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gs2Flag {
    N,
    Y,
    P(String),
}

struct Gs2Header<'a> {
    flag: Gs2Flag,
    authzid: Option<String>,
    raw: &'a str,
    bare: &'a str,
}

fn parse_gs2(s: &str) -> Result<Gs2Header<'_>, Error> {
    let (flag_s, rest) = s
        .split_once(',')
        .ok_or(Error::Malformed("truncated GS2 header"))?;
    let flag = match flag_s {
        "n" => Gs2Flag::N,
        "y" => Gs2Flag::Y,
        _ => match flag_s.strip_prefix("p=") {
            Some(name)
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
            {
                Gs2Flag::P(name.to_owned())
            }
            _ => return Err(Error::Malformed("channel binding flag")),
        },
    };
    let (authz_s, bare) = rest
        .split_once(',')
        .ok_or(Error::Malformed("truncated GS2 header"))?;
    let authzid = if authz_s.is_empty() {
        None
    } else {
        let v = authz_s
            .strip_prefix("a=")
            .ok_or(Error::Malformed("authzid syntax"))?;
        // A present but badly formatted authzid is invalid-authzid
        // (RFC 6120 §6.5.6), not a malformed request.
        let v = unescape_saslname(v).map_err(|_| Error::InvalidAuthzid("invalid escape"))?;
        if v.is_empty() {
            return Err(Error::InvalidAuthzid("empty authzid"));
        }
        Some(v)
    };
    let raw = &s[..flag_s.len() + authz_s.len() + 2];
    Ok(Gs2Header {
        flag,
        authzid,
        raw,
        bare,
    })
}

// ---------------------------------------------------------------------------
// Server

/// What a SCRAM server needs besides the client's messages.
pub(crate) struct ScramServerParams {
    pub(crate) hash: ScramHash,
    pub(crate) plus: bool,
    /// Whether any `-PLUS` mechanism was offered on this connection; a `y`
    /// flag then means a downgrade (RFC 5802 §6).
    pub(crate) plus_offered: bool,
    pub(crate) bindings: Vec<ChannelBinding>,
    /// Value of `h=` to add to server-first (XEP-0474), if enabled.
    pub(crate) downgrade_hash: Option<String>,
    pub(crate) max_len: usize,
    pub(crate) unknown_user_iterations: u32,
    pub(crate) decoy_key: DecoyKey,
}

enum ServerState {
    WaitFirst,
    WaitCredentials {
        client_first_bare: String,
        gs2_header: String,
        client_nonce: String,
        binding: Option<ChannelBinding>,
        authcid: String,
        authzid: Option<String>,
    },
    WaitFinal {
        auth_prefix: String,
        nonce: String,
        expected_cbind: Vec<u8>,
        creds: ScramCredentials,
        known: bool,
        authcid: String,
        authzid: Option<String>,
        binding: Option<ChannelBindingType>,
    },
    Done,
}

pub(crate) struct ScramServer {
    p: ScramServerParams,
    nonce: String,
    /// Keys of the decoy record; its salt comes from the decoy key.
    unknown: ScramCredentials,
    state: ServerState,
}

impl ScramServer {
    pub(crate) fn new(p: ScramServerParams, rng: &mut dyn Random) -> Self {
        let mut raw = [0u8; 24];
        rng.fill(&mut raw);
        // The decoy's keys are random, but its salt is fixed per user below.
        let unknown =
            ScramCredentials::decoy(&p.decoy_key, p.hash, "", p.unknown_user_iterations, rng);
        Self {
            p,
            nonce: STANDARD.encode(raw),
            unknown,
            state: ServerState::WaitFirst,
        }
    }

    pub(crate) fn mechanism(&self) -> Mechanism {
        self.p.hash.mechanism(self.p.plus)
    }

    pub(crate) fn set_nonce(&mut self, nonce: &str) -> Result<(), Error> {
        if !valid_nonce(nonce)
            || !matches!(
                self.state,
                ServerState::WaitFirst | ServerState::WaitCredentials { .. }
            )
        {
            return Err(Error::Malformed("nonce"));
        }
        self.nonce = nonce.to_owned();
        Ok(())
    }

    /// Handles client-first-message (RFC 5802 §5.1).
    pub(crate) fn client_first(&mut self, msg: &[u8]) -> Result<ServerOutput, Error> {
        if !matches!(self.state, ServerState::WaitFirst) {
            return Err(Error::UnexpectedInput("client-first"));
        }
        self.state = ServerState::Done;
        let s = utf8(msg, self.p.max_len)?;
        let gs2 = parse_gs2(s)?;
        let binding = self.check_flag(&gs2.flag)?;
        let attrs = split_attrs(gs2.bare)?;
        let user = expect(&attrs, 0, b'n')?;
        let nonce = expect(&attrs, 1, b'r')?;
        extensions(&attrs, 2, attrs.len())?;
        let user = unescape_saslname(user)?;
        let authcid = saslprep_query(&user)?.into_owned();
        if authcid.is_empty() {
            return Err(Error::EmptyUsername);
        }
        if !valid_nonce(nonce) {
            return Err(Error::Malformed("client nonce"));
        }
        let request = CredentialsRequest {
            mechanism: self.mechanism(),
            authcid: Some(authcid.clone()),
            authzid: gs2.authzid.clone(),
            password: None,
        };
        self.state = ServerState::WaitCredentials {
            client_first_bare: gs2.bare.to_owned(),
            gs2_header: gs2.raw.to_owned(),
            client_nonce: nonce.to_owned(),
            binding,
            authcid,
            authzid: gs2.authzid,
        };
        Ok(ServerOutput::NeedCredentials(request))
    }

    /// Applies the channel binding rules of RFC 5802 §6.
    fn check_flag(&self, flag: &Gs2Flag) -> Result<Option<ChannelBinding>, Error> {
        match flag {
            Gs2Flag::N if self.p.plus => Err(Error::ChannelBindingFlag),
            Gs2Flag::N => Ok(None),
            Gs2Flag::Y if self.p.plus => Err(Error::ChannelBindingFlag),
            Gs2Flag::Y if self.p.plus_offered => Err(Error::Downgrade),
            Gs2Flag::Y => Ok(None),
            Gs2Flag::P(_) if !self.p.plus => Err(Error::ChannelBindingFlag),
            Gs2Flag::P(name) => ChannelBindingType::from_name(name)
                .and_then(|t| self.p.bindings.iter().find(|b| b.kind() == t))
                .cloned()
                .map(Some)
                .ok_or_else(|| Error::UnsupportedChannelBinding(name.clone())),
        }
    }

    /// Continues with the host's record (`None`: unknown user).
    pub(crate) fn credentials(
        &mut self,
        creds: Option<ScramCredentials>,
    ) -> Result<ServerOutput, Error> {
        let ServerState::WaitCredentials {
            client_first_bare,
            gs2_header,
            client_nonce,
            binding,
            authcid,
            authzid,
        } = std::mem::replace(&mut self.state, ServerState::Done)
        else {
            return Err(Error::UnexpectedInput("credentials"));
        };
        let (creds, known) = match creds {
            Some(c) if c.hash() == self.p.hash => (c, true),
            Some(_) => return Err(Error::CredentialsMismatch),
            None => (
                ScramCredentials::from_parts(
                    self.p.hash,
                    self.p.decoy_key.salt(self.p.hash, &authcid),
                    self.unknown.iterations(),
                    self.unknown.stored_key().to_vec(),
                    self.unknown.server_key().to_vec(),
                )?,
                false,
            ),
        };
        let nonce = format!("{client_nonce}{}", self.nonce);
        let mut server_first = format!(
            "r={nonce},s={},i={}",
            STANDARD.encode(creds.salt()),
            creds.iterations()
        );
        if let Some(h) = &self.p.downgrade_hash {
            server_first.push_str(",h=");
            server_first.push_str(h);
        }
        let mut expected_cbind = gs2_header.into_bytes();
        if let Some(b) = &binding {
            expected_cbind.extend_from_slice(b.data());
        }
        self.state = ServerState::WaitFinal {
            auth_prefix: format!("{client_first_bare},{server_first}"),
            nonce,
            expected_cbind,
            creds,
            known,
            authcid,
            authzid,
            binding: binding.map(|b| b.kind()),
        };
        Ok(ServerOutput::Challenge(server_first.into_bytes()))
    }

    /// Handles client-final-message (RFC 5802 §5.1, §3 verification).
    pub(crate) fn client_final(&mut self, msg: &[u8]) -> Result<ServerOutput, Error> {
        let ServerState::WaitFinal {
            auth_prefix,
            nonce,
            expected_cbind,
            creds,
            known,
            authcid,
            authzid,
            binding,
        } = std::mem::replace(&mut self.state, ServerState::Done)
        else {
            return Err(Error::UnexpectedInput("client-final"));
        };
        let s = utf8(msg, self.p.max_len)?;
        let attrs = split_attrs(s)?;
        let cbind = expect(&attrs, 0, b'c')?;
        let r = expect(&attrs, 1, b'r')?;
        let last = attrs.len() - 1;
        if last < 2 || attrs[last].key != b'p' {
            return Err(if attrs[..last].iter().any(|a| a.key == b'p') {
                Error::Malformed("proof is not the last attribute")
            } else {
                Error::MissingAttribute('p')
            });
        }
        extensions(&attrs, 2, last)?;
        let proof_b64 = attrs[last].value;
        let without_proof = &s[..s.len() - proof_b64.len() - 3];

        let cbind = b64('c', cbind)?;
        if !bool::from(cbind.ct_eq(&expected_cbind)) {
            return Err(Error::ChannelBindingMismatch);
        }
        if r != nonce {
            return Err(Error::NonceMismatch);
        }
        let proof = b64('p', proof_b64)?;
        if proof.len() != self.p.hash.output_len() {
            return Err(Error::Malformed("proof length"));
        }
        let auth_message = format!("{auth_prefix},{without_proof}");
        let client_signature = self
            .p
            .hash
            .hmac(creds.stored_key(), auth_message.as_bytes());
        let client_key: Zeroizing<Vec<u8>> = Zeroizing::new(
            proof
                .iter()
                .zip(&client_signature)
                .map(|(a, b)| a ^ b)
                .collect(),
        );
        let matches = bool::from(self.p.hash.digest(&client_key).ct_eq(creds.stored_key()));
        if !(matches && known) {
            return Err(Error::AuthenticationFailed);
        }
        let server_signature = self
            .p
            .hash
            .hmac(creds.server_key(), auth_message.as_bytes());
        Ok(ServerOutput::Success(Authenticated {
            mechanism: self.mechanism(),
            authcid: Some(authcid),
            authzid,
            trace: None,
            channel_binding: binding,
            additional_data: Some(format!("v={}", STANDARD.encode(server_signature)).into_bytes()),
        }))
    }

    pub(crate) fn waiting_for_first(&self) -> bool {
        matches!(self.state, ServerState::WaitFirst)
    }

    pub(crate) fn waiting_for_credentials(&self) -> bool {
        matches!(self.state, ServerState::WaitCredentials { .. })
    }

    pub(crate) fn fail(&mut self) {
        self.state = ServerState::Done;
    }
}

// ---------------------------------------------------------------------------
// Client

/// What a SCRAM client needs besides the server's messages.
pub(crate) struct ScramClientParams {
    pub(crate) hash: ScramHash,
    pub(crate) choice: ChannelBindingChoice,
    pub(crate) binding: Option<ChannelBinding>,
    pub(crate) username: String,
    pub(crate) password: Zeroizing<String>,
    pub(crate) authzid: Option<String>,
    pub(crate) min_iterations: u32,
    pub(crate) max_iterations: u32,
    pub(crate) max_len: usize,
    /// Expected `h=` value (XEP-0474), checked when the server sends one.
    pub(crate) downgrade_hash: Option<String>,
    /// Whether server-first must carry `h=` (XEP-0474 §Business Rules, new
    /// rule 6).
    pub(crate) require_downgrade_hash: bool,
    pub(crate) cache: Option<SaltedPasswordCache>,
}

enum ClientState {
    Initial,
    WaitFirst {
        client_first_bare: String,
    },
    WaitFinal {
        server_signature: Vec<u8>,
        salted: Zeroizing<Vec<u8>>,
        salt: Vec<u8>,
        iterations: u32,
    },
    /// The server signature arrived in a challenge; `<success/>` is next.
    Verified,
    Done,
}

pub(crate) struct ScramClient {
    p: ScramClientParams,
    gs2_header: String,
    nonce: String,
    state: ClientState,
}

impl ScramClient {
    pub(crate) fn new(mut p: ScramClientParams, rng: &mut dyn Random) -> Result<Self, Error> {
        let username = saslprep_query(&p.username)?;
        if username.is_empty() {
            return Err(Error::EmptyUsername);
        }
        if p.password.is_empty() {
            return Err(Error::EmptyPassword);
        }
        // Prepared once, here, so that a password SASLprep rejects fails
        // before anything is sent, cache hit or not (RFC 5802 §2.2).
        let prepared = Zeroizing::new(saslprep_stored(&p.password)?.into_owned());
        if prepared.is_empty() {
            return Err(Error::EmptyPassword);
        }
        p.password = prepared;
        let flag = match &p.choice {
            ChannelBindingChoice::Unsupported => "n".to_owned(),
            ChannelBindingChoice::NotOffered => "y".to_owned(),
            ChannelBindingChoice::Bound(t) => {
                if p.binding.as_ref().map(|b| b.kind()) != Some(*t) {
                    return Err(Error::UnsupportedChannelBinding(t.as_str().to_owned()));
                }
                format!("p={t}")
            }
        };
        let authzid = match &p.authzid {
            Some(a) if a.is_empty() => return Err(Error::InvalidAuthzid("empty authzid")),
            Some(a) => format!("a={}", escape_saslname(a)),
            None => String::new(),
        };
        let mut raw = [0u8; 24];
        rng.fill(&mut raw);
        Ok(Self {
            gs2_header: format!("{flag},{authzid},"),
            nonce: STANDARD.encode(raw),
            state: ClientState::Initial,
            p,
        })
    }

    pub(crate) fn set_nonce(&mut self, nonce: &str) -> Result<(), Error> {
        if !valid_nonce(nonce) || !matches!(self.state, ClientState::Initial) {
            return Err(Error::Malformed("nonce"));
        }
        self.nonce = nonce.to_owned();
        Ok(())
    }

    pub(crate) fn take_cache(&mut self) -> Option<SaltedPasswordCache> {
        self.p.cache.take()
    }

    /// client-first-message.
    pub(crate) fn initial_response(&mut self) -> Result<Vec<u8>, Error> {
        if !matches!(self.state, ClientState::Initial) {
            return Err(Error::UnexpectedInput("initial response"));
        }
        let username = saslprep_query(&self.p.username)?;
        let bare = format!("n={},r={}", escape_saslname(&username), self.nonce);
        let msg = format!("{}{bare}", self.gs2_header);
        self.state = ClientState::WaitFirst {
            client_first_bare: bare,
        };
        Ok(msg.into_bytes())
    }

    /// Handles a challenge: server-first-message, or server-final-message
    /// from servers that send it as a challenge rather than with success.
    pub(crate) fn challenge(&mut self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        match std::mem::replace(&mut self.state, ClientState::Done) {
            ClientState::WaitFirst { client_first_bare } => {
                self.server_first(&client_first_bare, msg)
            }
            ClientState::WaitFinal {
                server_signature,
                salted,
                salt,
                iterations,
            } => {
                self.server_final(&server_signature, Some(msg))?;
                self.remember(&salted, &salt, iterations);
                self.state = ClientState::Verified;
                Ok(Vec::new())
            }
            _ => Err(Error::UnexpectedInput("challenge")),
        }
    }

    fn server_first(&mut self, client_first_bare: &str, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let s = utf8(msg, self.p.max_len)?;
        let attrs = split_attrs(s)?;
        let nonce = expect(&attrs, 0, b'r')?;
        let salt = expect(&attrs, 1, b's')?;
        let iterations = expect(&attrs, 2, b'i')?;
        let ext = extensions(&attrs, 3, attrs.len())?;

        if !valid_nonce(nonce) {
            return Err(Error::Malformed("nonce"));
        }
        if nonce.len() <= self.nonce.len() || !nonce.starts_with(&self.nonce) {
            return Err(Error::NonceMismatch);
        }
        let salt = b64('s', salt)?;
        if salt.is_empty() {
            return Err(Error::Malformed("empty salt"));
        }
        // posit-number of RFC 5802 §7: no sign, no leading zero.
        if iterations.is_empty()
            || iterations.len() > 10
            || iterations.starts_with('0')
            || !iterations.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::Malformed("iteration count"));
        }
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| Error::IterationCountTooHigh {
                got: u32::MAX,
                max: self.p.max_iterations,
            })?;
        if iterations < self.p.min_iterations {
            return Err(Error::IterationCountTooLow {
                got: iterations,
                min: self.p.min_iterations,
            });
        }
        if iterations > self.p.max_iterations {
            return Err(Error::IterationCountTooHigh {
                got: iterations,
                max: self.p.max_iterations,
            });
        }
        // XEP-0474 §Verification: a hash that differs from the offer the
        // client saw means the offer was tampered with. A missing hash is
        // only fatal when the selection relied on it (new rule 6).
        match (&self.p.downgrade_hash, ext.iter().find(|a| a.key == b'h')) {
            (Some(expected), Some(h)) if expected.as_bytes() != h.value.as_bytes() => {
                return Err(Error::DowngradeHashMismatch);
            }
            (_, None) if self.p.require_downgrade_hash => {
                return Err(Error::DowngradeHashMissing);
            }
            _ => {}
        }

        let hash = self.p.hash;
        let salted = match self
            .p
            .cache
            .as_ref()
            .and_then(|c| c.get(hash, &salt, iterations))
        {
            Some(cached) => Zeroizing::new(cached.to_vec()),
            None => salted_prepared(hash, &self.p.password, &salt, iterations)?,
        };
        let keys = Keys::from_salted(hash, &salted);

        let mut cbind = self.gs2_header.as_bytes().to_vec();
        if let (ChannelBindingChoice::Bound(_), Some(b)) = (&self.p.choice, &self.p.binding) {
            cbind.extend_from_slice(b.data());
        }
        let without_proof = format!("c={},r={nonce}", STANDARD.encode(&cbind));
        let auth_message = format!("{client_first_bare},{s},{without_proof}");
        let client_signature = hash.hmac(&keys.stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = keys
            .client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_signature = hash.hmac(&keys.server_key, auth_message.as_bytes());
        self.state = ClientState::WaitFinal {
            server_signature,
            salted,
            salt,
            iterations,
        };
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes())
    }

    fn server_final(&self, expected: &[u8], msg: Option<&[u8]>) -> Result<(), Error> {
        let msg = match msg {
            Some(m) if !m.is_empty() => m,
            _ => return Err(Error::ServerSignatureMismatch),
        };
        let s = utf8(msg, self.p.max_len)?;
        let attrs = split_attrs(s)?;
        if let Some(a) = attrs.first().filter(|a| a.key == b'e') {
            return Err(Error::ServerError(a.value.to_owned()));
        }
        let v = expect(&attrs, 0, b'v')?;
        extensions(&attrs, 1, attrs.len())?;
        let v = b64('v', v)?;
        if !bool::from(v.ct_eq(expected)) {
            return Err(Error::ServerSignatureMismatch);
        }
        Ok(())
    }

    /// Keeps the salted password of a verified exchange, in the cache the
    /// host handed in or in a new one, for the host to take.
    fn remember(&mut self, salted: &[u8], salt: &[u8], iterations: u32) {
        self.p
            .cache
            .get_or_insert_with(SaltedPasswordCache::default)
            .insert(self.p.hash, salt, iterations, salted);
    }

    /// Handles `<success/>` and its additional data.
    pub(crate) fn success(&mut self, data: Option<&[u8]>) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, ClientState::Done) {
            ClientState::WaitFinal {
                server_signature,
                salted,
                salt,
                iterations,
            } => {
                self.server_final(&server_signature, data)?;
                self.remember(&salted, &salt, iterations);
                Ok(())
            }
            ClientState::Verified if data.is_none_or(|d| d.is_empty()) => Ok(()),
            // RFC 5802 §5 has one server-final-message; a second one is not
            // something to ignore.
            ClientState::Verified => Err(Error::UnexpectedSuccessData),
            // Success before the server proved itself: RFC 5802 §5 makes
            // the server signature mandatory, so this is a failure.
            _ => Err(Error::ServerSignatureMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslname_escaping() {
        assert_eq!(escape_saslname("a,b=c"), "a=2Cb=3Dc");
        assert_eq!(unescape_saslname("a=2Cb=3Dc").unwrap(), "a,b=c");
        assert!(unescape_saslname("a=2c").is_err());
        assert!(unescape_saslname("a=").is_err());
        assert!(unescape_saslname("=3").is_err());
        assert_eq!(unescape_saslname("").unwrap(), "");
    }

    #[test]
    fn gs2_parsing() {
        let h = parse_gs2("p=tls-unique,a=b=2Cc,n=u,r=x").unwrap();
        assert_eq!(h.flag, Gs2Flag::P("tls-unique".into()));
        assert_eq!(h.authzid.as_deref(), Some("b,c"));
        assert_eq!(h.raw, "p=tls-unique,a=b=2Cc,");
        assert_eq!(h.bare, "n=u,r=x");
        assert!(parse_gs2("x,,n=u").is_err());
        assert!(parse_gs2("p=,,n=u").is_err());
        assert!(parse_gs2("p=a b,,n=u").is_err());
        assert!(parse_gs2("n,b=x,n=u").is_err());
        assert!(parse_gs2("n,a=,n=u").is_err());
        assert!(parse_gs2("n").is_err());
        assert!(parse_gs2("n,").is_err());
    }

    #[test]
    fn attribute_positions() {
        let a = split_attrs("n=u,n=v").unwrap();
        assert_eq!(expect(&a, 1, b'r'), Err(Error::DuplicateAttribute('n')));
        let a = split_attrs("r=x,n=u").unwrap();
        assert_eq!(expect(&a, 0, b'n'), Err(Error::MissingAttribute('n')));
        assert_eq!(
            split_attrs("m=x,n=u").unwrap_err(),
            Error::MandatoryExtension
        );
        assert!(split_attrs("n=u,,r=x").is_err());
        assert!(split_attrs("nu").is_err());
        let a = split_attrs("n=u,r=x,s=y").unwrap();
        assert!(extensions(&a, 2, 3).is_err());
        let a = split_attrs("n=u,r=x,x=y,x=z").unwrap();
        assert_eq!(
            extensions(&a, 2, 4).unwrap_err(),
            Error::DuplicateAttribute('x')
        );
        let a = split_attrs("n=u,r=x,x=").unwrap();
        assert!(extensions(&a, 2, 3).is_err());
    }

    #[test]
    fn xep0474_example_hash() {
        let h = downgrade_protection_hash(
            ScramHash::Sha1,
            &["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"],
            Some(&["tls-server-end-point", "tls-exporter"]),
        );
        assert_eq!(h, "G6k/rBLDqgOhRRaCuuatSDFkJ08=");
    }

    #[test]
    fn nonce_syntax() {
        assert!(valid_nonce("abc!~"));
        assert!(!valid_nonce(""));
        assert!(!valid_nonce("a,b"));
        assert!(!valid_nonce("a b"));
        assert!(!valid_nonce("é"));
    }
}
