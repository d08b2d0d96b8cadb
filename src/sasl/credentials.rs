//! Stored SCRAM credentials (server side) and the salted-password cache
//! (client side).
//!
//! Implements the server's stored record of RFC 5802 §2.2 and §3 (salt,
//! iteration count, `StoredKey`, `ServerKey`), its derivation from a
//! password with `Normalize` = SASLprep as a stored string (RFC 5802 §2.2),
//! and a client cache of `SaltedPassword` as RFC 5802 §5.1 suggests ("the
//! client can cache ... SaltedPassword"). The LDAP text encoding of such
//! records (RFC 5803) is not implemented: a host stores the fields as it
//! likes.
//!
//! # How a server stores credentials
//!
//! At registration (or password change) the server calls
//! [`ScramCredentials::generate`] once per hash it wants to offer, with a
//! fresh random salt and its configured iteration count, and stores the
//! four fields of each record. It never stores the password. `StoredKey`
//! lets it verify a client proof and `ServerKey` lets it prove itself to
//! the client; neither lets anyone log in as the user (RFC 5802 §9), though
//! a stolen record still allows an offline dictionary attack, which the
//! iteration count makes expensive.
//!
//! At login the host answers the server machine's
//! [`NeedCredentials`](super::ServerOutput::NeedCredentials) with the
//! record for the requested hash; checking the proof then costs a few
//! hashes and never a PBKDF2 run.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Error;
use super::saslprep::{saslprep_query, saslprep_stored};
use super::scram::ScramHash;
use crate::random::Random;

/// Iteration count below which [`ScramCredentials::derive`] refuses to
/// derive a record (RFC 5802 §5.1 and RFC 7677 §4 ask for at least 4096).
pub const MIN_ITERATIONS: u32 = 4096;

/// Length of salts made by [`ScramCredentials::generate`], in bytes.
pub const SALT_LEN: usize = 16;

/// A server's SCRAM record for one user and one hash function.
///
/// Holds no password equivalent: see the [module documentation](self).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    hash: ScramHash,
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl ScramCredentials {
    /// Derives the record for `password` with the given salt and iteration
    /// count. This runs PBKDF2 and is meant for registration, not login.
    ///
    /// Fails if SASLprep rejects the password, the password or salt is
    /// empty, or `iterations` is below [`MIN_ITERATIONS`].
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, Error> {
        if iterations < MIN_ITERATIONS {
            return Err(Error::IterationCountTooLow {
                got: iterations,
                min: MIN_ITERATIONS,
            });
        }
        if salt.is_empty() {
            return Err(Error::Malformed("empty salt"));
        }
        let salted = salted_password(hash, password, salt, iterations)?;
        let keys = Keys::from_salted(hash, &salted);
        Ok(Self {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: keys.stored_key,
            server_key: keys.server_key.to_vec(),
        })
    }

    /// Like [`derive`](Self::derive) with a fresh [`SALT_LEN`]-byte salt
    /// from `rng`.
    pub fn generate(
        hash: ScramHash,
        password: &str,
        iterations: u32,
        rng: &mut dyn Random,
    ) -> Result<Self, Error> {
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt);
        Self::derive(hash, password, &salt, iterations)
    }

    /// Rebuilds a record from stored fields.
    ///
    /// Fails if the keys do not have the hash's output length, the salt is
    /// empty or the iteration count is zero. Counts below
    /// [`MIN_ITERATIONS`] are accepted so that old records keep working.
    pub fn from_parts(
        hash: ScramHash,
        salt: Vec<u8>,
        iterations: u32,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    ) -> Result<Self, Error> {
        if salt.is_empty() || iterations == 0 {
            return Err(Error::Malformed("empty salt or zero iteration count"));
        }
        if stored_key.len() != hash.output_len() || server_key.len() != hash.output_len() {
            return Err(Error::Malformed("key length does not match the hash"));
        }
        Ok(Self {
            hash,
            salt,
            iterations,
            stored_key,
            server_key,
        })
    }

    /// A record that no password is known to match, for answering unknown
    /// users like known ones (RFC 5802 §9 on user enumeration). The salt
    /// depends only on `key`, `hash` and `authcid`, so that it is the same
    /// on every attempt, as a real user's is.
    pub(crate) fn decoy(
        key: &DecoyKey,
        hash: ScramHash,
        authcid: &str,
        iterations: u32,
        rng: &mut dyn Random,
    ) -> Self {
        let mut stored_key = vec![0u8; hash.output_len()];
        rng.fill(&mut stored_key);
        let mut server_key = vec![0u8; hash.output_len()];
        rng.fill(&mut server_key);
        Self {
            hash,
            salt: key.salt(hash, authcid),
            iterations: iterations.max(1),
            stored_key,
            server_key,
        }
    }

    /// The hash function.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The iteration count, announced to clients as `i=`.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// `StoredKey = H(ClientKey)`.
    pub fn stored_key(&self) -> &[u8] {
        &self.stored_key
    }

    /// `ServerKey = HMAC(SaltedPassword, "Server Key")`.
    pub fn server_key(&self) -> &[u8] {
        &self.server_key
    }

    /// Checks a plain password against the record, as a PLAIN server
    /// backed by SCRAM records does. Runs PBKDF2.
    ///
    /// The password is a presented string, so SASLprep treats it as a
    /// query (RFC 4616 §2, RFC 3454 §7): unassigned code points pass and
    /// simply fail to match a record derived without them.
    pub fn verify_password(&self, password: &str) -> Result<bool, Error> {
        let prepared = Zeroizing::new(saslprep_query(password)?.into_owned());
        let salted = salted_prepared(self.hash, &prepared, &self.salt, self.iterations)?;
        let keys = Keys::from_salted(self.hash, &salted);
        Ok(bool::from(keys.stored_key.ct_eq(&self.stored_key)))
    }
}

impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// `SaltedPassword = Hi(Normalize(password), salt, i)` (RFC 5802 §3),
/// with `Normalize` preparing a stored string, as at registration.
pub(crate) fn salted_password(
    hash: ScramHash,
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if password.is_empty() {
        return Err(Error::EmptyPassword);
    }
    let prepared = Zeroizing::new(saslprep_stored(password)?.into_owned());
    salted_prepared(hash, &prepared, salt, iterations)
}

/// `Hi(prepared, salt, i)` for a password already through SASLprep.
pub(crate) fn salted_prepared(
    hash: ScramHash,
    prepared: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if prepared.is_empty() {
        return Err(Error::EmptyPassword);
    }
    Ok(hash.pbkdf2(prepared.as_bytes(), salt, iterations))
}

/// The server secret from which the decoy records for unknown users are
/// derived (RFC 5802 §9 on user enumeration).
///
/// The decoy salt for an unknown user is `HMAC-SHA-256(key, hash name ||
/// authcid)`, cut to [`SALT_LEN`] bytes, so that asking twice for the same
/// unknown user shows the same salt, as for a real user, while different
/// users get unrelated salts.
///
/// A server has one key: create it once with [`DecoyKey::generate`], store
/// [`as_bytes`](Self::as_bytes) like any other secret, and build every
/// [`ServerConfig`](super::ServerConfig) of every process that serves the
/// same users from [`DecoyKey::new`]. A key drawn per connection or per
/// start would change an unknown user's salt between attempts while a real
/// user's stays, which tells anyone which accounts exist. Anyone who knows
/// the key can tell decoys from real records.
#[derive(Clone)]
pub struct DecoyKey(Zeroizing<[u8; DecoyKey::LEN]>);

impl DecoyKey {
    /// Length of a key in bytes.
    pub const LEN: usize = 32;

    /// A key from stored bytes.
    pub fn new(bytes: [u8; DecoyKey::LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh key from `rng`, which should be
    /// [`OsRandom`](crate::random::OsRandom).
    pub fn generate(rng: &mut dyn Random) -> Self {
        let mut bytes = Zeroizing::new([0u8; DecoyKey::LEN]);
        rng.fill(&mut bytes[..]);
        Self(bytes)
    }

    /// The key's bytes, for storing it.
    pub fn as_bytes(&self) -> &[u8; DecoyKey::LEN] {
        &self.0
    }

    /// The decoy salt for `authcid` under `hash`.
    pub(crate) fn salt(&self, hash: ScramHash, authcid: &str) -> Vec<u8> {
        let mut data = Vec::with_capacity(hash.name().len() + authcid.len());
        data.extend_from_slice(hash.name().as_bytes());
        data.extend_from_slice(authcid.as_bytes());
        let mut salt = ScramHash::Sha256.hmac(&self.0[..], &data);
        salt.truncate(SALT_LEN);
        salt
    }
}

impl PartialEq for DecoyKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0[..].ct_eq(&other.0[..]))
    }
}

impl Eq for DecoyKey {}

impl fmt::Debug for DecoyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecoyKey(..)")
    }
}

/// The keys derived from a salted password (RFC 5802 §3).
pub(crate) struct Keys {
    pub(crate) client_key: Zeroizing<Vec<u8>>,
    pub(crate) stored_key: Vec<u8>,
    pub(crate) server_key: Zeroizing<Vec<u8>>,
}

impl Keys {
    pub(crate) fn from_salted(hash: ScramHash, salted: &[u8]) -> Self {
        let client_key = Zeroizing::new(hash.hmac(salted, b"Client Key"));
        let stored_key = hash.digest(&client_key);
        let server_key = Zeroizing::new(hash.hmac(salted, b"Server Key"));
        Self {
            client_key,
            stored_key,
            server_key,
        }
    }
}

struct CacheEntry {
    hash: ScramHash,
    salt: Vec<u8>,
    iterations: u32,
    salted: Zeroizing<Vec<u8>>,
}

/// A client's cache of `SaltedPassword`, keyed by hash, salt and iteration
/// count, so that reconnecting skips PBKDF2 (RFC 5802 §5.1).
///
/// One cache belongs to one account and password: clear it (or drop it)
/// when the password changes. It keeps one entry per hash function, the
/// most recent, since a server keeps one salt per user and hash. Entries
/// are zeroized when replaced or dropped. Anyone who reads an entry can
/// log in as the user, so persist it only where the password itself could
/// be stored.
#[derive(Default)]
pub struct SaltedPasswordCache {
    entries: Vec<CacheEntry>,
}

impl SaltedPasswordCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached salted password for these parameters.
    pub fn get(&self, hash: ScramHash, salt: &[u8], iterations: u32) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.hash == hash && e.iterations == iterations && e.salt == salt)
            .map(|e| e.salted.as_slice())
    }

    /// Stores a salted password, replacing the entry for the same hash.
    pub fn insert(
        &mut self,
        hash: ScramHash,
        salt: &[u8],
        iterations: u32,
        salted_password: &[u8],
    ) {
        self.entries.retain(|e| e.hash != hash);
        self.entries.push(CacheEntry {
            hash,
            salt: salt.to_vec(),
            iterations,
            salted: Zeroizing::new(salted_password.to_vec()),
        });
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl fmt::Debug for SaltedPasswordCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaltedPasswordCache")
            .field("entries", &self.entries.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn rfc5802_record() {
        let salt = STANDARD.decode("QSXCR+Q6sek8bf92").unwrap();
        let rec = ScramCredentials::derive(ScramHash::Sha1, "pencil", &salt, 4096).unwrap();
        // ClientKey/ServerKey for the RFC 5802 §5 example, computed
        // independently from the proof and signature given there.
        assert_eq!(rec.iterations(), 4096);
        assert_eq!(rec.stored_key().len(), 20);
        assert!(rec.verify_password("pencil").unwrap());
        assert!(!rec.verify_password("pencil2").unwrap());
    }

    #[test]
    fn derive_refuses_weak_parameters() {
        assert!(matches!(
            ScramCredentials::derive(ScramHash::Sha256, "pw", b"salt", 4095),
            Err(Error::IterationCountTooLow {
                got: 4095,
                min: 4096
            })
        ));
        assert!(ScramCredentials::derive(ScramHash::Sha256, "pw", b"", 4096).is_err());
        assert_eq!(
            ScramCredentials::derive(ScramHash::Sha256, "", b"salt", 4096),
            Err(Error::EmptyPassword)
        );
        assert!(ScramCredentials::derive(ScramHash::Sha256, "a\u{0007}", b"salt", 4096).is_err());
    }

    #[test]
    fn from_parts_checks_lengths() {
        let rec =
            ScramCredentials::generate(ScramHash::Sha256, "pw", 4096, &mut SeededRandom::new(3))
                .unwrap();
        let back = ScramCredentials::from_parts(
            rec.hash(),
            rec.salt().to_vec(),
            rec.iterations(),
            rec.stored_key().to_vec(),
            rec.server_key().to_vec(),
        )
        .unwrap();
        assert_eq!(back, rec);
        assert!(
            ScramCredentials::from_parts(ScramHash::Sha1, vec![1], 4096, vec![0; 32], vec![0; 32])
                .is_err()
        );
        assert!(!format!("{rec:?}").contains("stored_key"));
    }

    #[test]
    fn cache_keeps_one_entry_per_hash() {
        let mut cache = SaltedPasswordCache::new();
        cache.insert(ScramHash::Sha1, b"s1", 4096, &[1; 20]);
        cache.insert(ScramHash::Sha256, b"s2", 4096, &[2; 32]);
        assert_eq!(
            cache.get(ScramHash::Sha1, b"s1", 4096),
            Some(&[1u8; 20][..])
        );
        assert_eq!(cache.get(ScramHash::Sha1, b"s1", 4097), None);
        assert_eq!(cache.get(ScramHash::Sha1, b"s2", 4096), None);
        cache.insert(ScramHash::Sha1, b"s3", 4096, &[3; 20]);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(ScramHash::Sha1, b"s1", 4096), None);
        cache.clear();
        assert!(cache.is_empty());
    }
}
