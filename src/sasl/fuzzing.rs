//! Entry points shared by the fuzz targets and the corpus replay test.
//!
//! Each function drives one machine through the public API with fixed
//! configuration, taking all peer input from `data`. Multi-message inputs
//! are split at the first `\n`. They never do I/O and must never panic,
//! whatever `data` holds.

use std::sync::OnceLock;

use super::*;
use crate::random::SeededRandom;

/// Password of the user `user` in the fixed records.
pub const PASSWORD: &str = "pencil";
/// Salt of the fixed records.
pub const SALT: &[u8] = b"fuzz-salt";
/// Server nonce part used by [`scram_server`].
pub const SERVER_NONCE: &str = "fuzz-server-nonce";
/// Client nonce used by [`scram_client`].
pub const CLIENT_NONCE: &str = "fuzz-client-nonce";
/// Channel binding data of every type in the fuzzing [`TlsInfo`].
pub const BINDING_DATA: &[u8] = b"fuzz-binding-data";

const SCRAM: [Mechanism; 6] = [
    Mechanism::ScramSha1,
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha512Plus,
];

fn records() -> &'static [ScramCredentials; 3] {
    static RECORDS: OnceLock<[ScramCredentials; 3]> = OnceLock::new();
    RECORDS.get_or_init(|| {
        [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512].map(|h| {
            ScramCredentials::derive(h, PASSWORD, SALT, 4096).expect("fixed parameters are valid")
        })
    })
}

fn record(hash: ScramHash) -> ScramCredentials {
    let [sha1, sha256, sha512] = records();
    match hash {
        ScramHash::Sha1 => sha1.clone(),
        ScramHash::Sha256 => sha256.clone(),
        ScramHash::Sha512 => sha512.clone(),
    }
}

/// A TLS connection with data for every binding type.
pub fn tls() -> TlsInfo {
    ChannelBindingType::ALL
        .into_iter()
        .fold(TlsInfo::tls(), |t, k| {
            t.with_binding(ChannelBinding::new(k, BINDING_DATA))
        })
}

fn split(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

fn config() -> ServerConfig {
    // A fixed key, so that every run sees the same decoy salts.
    let mut c = ServerConfig::new(DecoyKey::new([0x42; DecoyKey::LEN]));
    c.mechanisms = Mechanism::ALL.to_vec();
    c
}

/// SCRAM server. The first byte selects the mechanism (low three bits,
/// modulo 6: SHA-1, SHA-256, SHA-512, then the `-PLUS` variants), whether
/// the user is unknown (bit 3) and whether XEP-0474 is on (bit 4); the rest
/// is client-first, `\n`, client-final.
pub fn scram_server(data: &[u8]) -> Result<Option<Authenticated>, Error> {
    let Some((&selector, rest)) = data.split_first() else {
        return Ok(None);
    };
    let mechanism = SCRAM[usize::from(selector & 7) % SCRAM.len()];
    let mut cfg = config();
    cfg.downgrade_protection = selector & 16 != 0;
    let mut server = Server::new(mechanism.name(), &cfg, &tls(), &mut SeededRandom::new(1))?;
    server.set_nonce_for_test_vectors(SERVER_NONCE)?;
    let (first, last) = split(rest);
    match server.start(Some(first))? {
        ServerOutput::NeedCredentials(req) => {
            let hash = req.scram_hash().ok_or(Error::CredentialsMismatch)?;
            let creds = (selector & 8 == 0).then(|| Credentials::Scram(record(hash)));
            server.provide_credentials(creds)?;
        }
        _ => return Err(Error::UnexpectedInput("fuzz: no credentials request")),
    }
    let Some(last) = last else { return Ok(None) };
    match server.respond(last)? {
        ServerOutput::Success(ok) => Ok(Some(ok)),
        _ => Ok(None),
    }
}

/// Runs a single-message mechanism whose host accepts what it is asked
/// (no PBKDF2 while fuzzing).
fn accepting_server(mechanism: &str, data: &[u8]) -> Result<Option<Authenticated>, Error> {
    let mut server = Server::new(mechanism, &config(), &tls(), &mut SeededRandom::new(1))?;
    match server.start(Some(data))? {
        ServerOutput::NeedCredentials(_) => {
            match server.provide_credentials(Some(Credentials::Verified))? {
                ServerOutput::Success(ok) => Ok(Some(ok)),
                _ => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// PLAIN server; the host accepts any password.
pub fn plain_server(data: &[u8]) -> Result<Option<Authenticated>, Error> {
    accepting_server("PLAIN", data)
}

/// EXTERNAL server; the host accepts.
pub fn external_server(data: &[u8]) -> Result<Option<Authenticated>, Error> {
    accepting_server("EXTERNAL", data)
}

/// ANONYMOUS server.
pub fn anonymous_server(data: &[u8]) -> Result<Option<Authenticated>, Error> {
    let mut server = Server::new("ANONYMOUS", &config(), &tls(), &mut SeededRandom::new(1))?;
    match server.start(Some(data))? {
        ServerOutput::Success(ok) => Ok(Some(ok)),
        _ => Ok(None),
    }
}

/// SCRAM-SHA-256 client with user `user`, nonce [`CLIENT_NONCE`] and an
/// iteration range of 1–64 (to keep runs fast); `data` is server-first,
/// `\n`, server-final. Returns whether the server was verified.
pub fn scram_client(data: &[u8]) -> Result<bool, Error> {
    let cfg = ClientConfig {
        min_iterations: 1,
        max_iterations: 64,
        ..ClientConfig::default()
    };
    let sel = Selection::new(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password("user", PASSWORD),
        &tls(),
        &cfg,
        &mut SeededRandom::new(1),
    )?;
    client.set_nonce_for_test_vectors(CLIENT_NONCE)?;
    client.initial_response()?;
    let (first, last) = split(data);
    client.challenge(first)?;
    let Some(last) = last else { return Ok(false) };
    client.success(Some(last))?;
    Ok(true)
}
