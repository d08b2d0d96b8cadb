//! PLAIN (RFC 4616).
//!
//! Implements the message syntax of RFC 4616 §2 on both sides and the
//! server's preparation of the authentication identity and password with
//! SASLprep (RFC 4616 §2, "the server ... prepares"), both as query
//! strings since they are presented, not stored (RFC 3454 §7). An unknown
//! user costs the same PBKDF2 as a known one (RFC 6120 §6.5.10 asks not to
//! tell them apart). The authorization
//! identity is passed to the host unprepared, as RFC 4616 §2 leaves its
//! handling to the application. Whether PLAIN may run without TLS
//! (RFC 4616 §4) is decided by the configuration of the
//! [`Server`](super::Server) and the client's selection, not here.

use zeroize::Zeroizing;

use super::credentials::{DecoyKey, ScramCredentials};
use super::saslprep::saslprep_query;
use super::scram::ScramHash;
use super::server::{Authenticated, Credentials, CredentialsRequest, ServerOutput};
use super::{Error, Mechanism};

/// Builds `[authzid] NUL authcid NUL passwd`.
pub(crate) fn encode(
    authzid: Option<&str>,
    authcid: &str,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if authcid.is_empty() {
        return Err(Error::EmptyUsername);
    }
    if password.is_empty() {
        return Err(Error::EmptyPassword);
    }
    if [authzid.unwrap_or(""), authcid, password]
        .iter()
        .any(|s| s.contains('\0'))
    {
        return Err(Error::Malformed("NUL in PLAIN field"));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(authcid.len() + password.len() + 2));
    out.extend_from_slice(authzid.unwrap_or("").as_bytes());
    out.push(0);
    out.extend_from_slice(authcid.as_bytes());
    out.push(0);
    out.extend_from_slice(password.as_bytes());
    Ok(out)
}

/// A parsed PLAIN message.
#[derive(Debug)]
pub(crate) struct PlainMessage {
    pub(crate) authzid: Option<String>,
    pub(crate) authcid: String,
    pub(crate) password: Zeroizing<String>,
}

/// Parses a PLAIN message (RFC 4616 §2).
pub(crate) fn parse(msg: &[u8], max_len: usize) -> Result<PlainMessage, Error> {
    if msg.len() > max_len {
        return Err(Error::TooLong {
            len: msg.len(),
            max: max_len,
        });
    }
    let mut parts = msg.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Malformed("PLAIN needs exactly two NUL separators"));
    };
    let authzid = std::str::from_utf8(authzid).map_err(|_| Error::NotUtf8)?;
    let authcid = std::str::from_utf8(authcid).map_err(|_| Error::NotUtf8)?;
    let password = Zeroizing::new(
        std::str::from_utf8(password)
            .map_err(|_| Error::NotUtf8)?
            .to_owned(),
    );
    if password.is_empty() {
        return Err(Error::EmptyPassword);
    }
    let authcid = saslprep_query(authcid)?.into_owned();
    if authcid.is_empty() {
        return Err(Error::EmptyUsername);
    }
    Ok(PlainMessage {
        authzid: (!authzid.is_empty()).then(|| authzid.to_owned()),
        authcid,
        password,
    })
}

enum State {
    WaitMessage,
    WaitCredentials(PlainMessage),
    Done,
}

/// The server side of PLAIN.
pub(crate) struct PlainServer {
    max_len: usize,
    /// Iteration count of the decoy check for unknown users.
    iterations: u32,
    decoy_key: DecoyKey,
    state: State,
}

impl PlainServer {
    pub(crate) fn new(max_len: usize, iterations: u32, decoy_key: DecoyKey) -> Self {
        Self {
            max_len,
            iterations,
            decoy_key,
            state: State::WaitMessage,
        }
    }

    pub(crate) fn waiting_for_message(&self) -> bool {
        matches!(self.state, State::WaitMessage)
    }

    pub(crate) fn waiting_for_credentials(&self) -> bool {
        matches!(self.state, State::WaitCredentials(_))
    }

    pub(crate) fn fail(&mut self) {
        self.state = State::Done;
    }

    pub(crate) fn message(&mut self, msg: &[u8]) -> Result<ServerOutput, Error> {
        if !self.waiting_for_message() {
            return Err(Error::UnexpectedInput("PLAIN message"));
        }
        self.state = State::Done;
        let m = parse(msg, self.max_len)?;
        let request = CredentialsRequest {
            mechanism: Mechanism::Plain,
            authcid: Some(m.authcid.clone()),
            authzid: m.authzid.clone(),
            password: Some(m.password.clone()),
        };
        self.state = State::WaitCredentials(m);
        Ok(ServerOutput::NeedCredentials(request))
    }

    pub(crate) fn credentials(
        &mut self,
        creds: Option<Credentials>,
    ) -> Result<ServerOutput, Error> {
        let State::WaitCredentials(m) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(Error::UnexpectedInput("credentials"));
        };
        let ok = match creds {
            None => {
                // The same PBKDF2 a SHA-256 record with the configured
                // count costs, against a record no password is known to
                // match, so that timing does not reveal unknown users.
                let hash = ScramHash::Sha256;
                let decoy = ScramCredentials::from_parts(
                    hash,
                    self.decoy_key.salt(hash, &m.authcid),
                    self.iterations,
                    vec![0; hash.output_len()],
                    vec![0; hash.output_len()],
                )?;
                std::hint::black_box(decoy.verify_password(&m.password)?);
                false
            }
            Some(Credentials::Verified) => true,
            Some(Credentials::Scram(rec)) => rec.verify_password(&m.password)?,
            // An identity from the lower layer is EXTERNAL's answer.
            Some(Credentials::VerifiedAs(_)) => return Err(Error::CredentialsMismatch),
        };
        if !ok {
            return Err(Error::AuthenticationFailed);
        }
        Ok(ServerOutput::Success(Authenticated {
            mechanism: Mechanism::Plain,
            authcid: Some(m.authcid),
            authzid: m.authzid,
            trace: None,
            channel_binding: None,
            additional_data: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_parse_round_trip() {
        let msg = encode(Some("admin"), "tim", "tanstaaftanstaaf").unwrap();
        assert_eq!(&msg[..], b"admin\0tim\0tanstaaftanstaaf");
        let m = parse(&msg, 1024).unwrap();
        assert_eq!(m.authzid.as_deref(), Some("admin"));
        assert_eq!(m.authcid, "tim");
        assert_eq!(&*m.password, "tanstaaftanstaaf");
        let m = parse(b"\0tim\0pw", 1024).unwrap();
        assert_eq!(m.authzid, None);
    }

    #[test]
    fn hostile_messages() {
        assert!(matches!(parse(b"tim\0pw", 1024), Err(Error::Malformed(_))));
        assert!(matches!(
            parse(b"a\0b\0c\0d", 1024),
            Err(Error::Malformed(_))
        ));
        assert_eq!(parse(b"\0\0pw", 1024).unwrap_err(), Error::EmptyUsername);
        assert_eq!(parse(b"\0tim\0", 1024).unwrap_err(), Error::EmptyPassword);
        assert_eq!(parse(b"\0t\xffm\0pw", 1024).unwrap_err(), Error::NotUtf8);
        assert!(matches!(
            parse(&[b'a'; 2000], 1024),
            Err(Error::TooLong { .. })
        ));
        assert!(parse(b"\0a\x07\0pw", 1024).is_err());
        assert!(parse(b"", 1024).is_err());
    }

    #[test]
    fn encode_rejects_bad_fields() {
        assert!(encode(None, "", "pw").is_err());
        assert!(encode(None, "u", "").is_err());
        assert!(encode(Some("a\0b"), "u", "pw").is_err());
    }
}
