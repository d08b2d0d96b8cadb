//! EXTERNAL (RFC 4422 App. A).
//!
//! Implements the message of RFC 4422 App. A.1: the client sends the
//! authorization identity it requests, or nothing to derive it from the
//! credentials of the lower layer. Establishing those credentials (e.g.
//! checking a TLS client certificate, RFC 6120 §13.8 / XEP-0178) is the
//! host's job: the server machine hands it the authzid and waits for its
//! verdict.

use super::server::{Authenticated, Credentials, CredentialsRequest, ServerOutput};
use super::{Error, Mechanism};

/// Longest authzid accepted, in bytes (the size limit of a JID,
/// RFC 7622 §3.1, with all three parts at their maximum).
pub(crate) const MAX_AUTHZID: usize = 3071;

/// Parses the client's message: an empty message requests the identity
/// the lower layer established.
pub(crate) fn parse(msg: &[u8]) -> Result<Option<String>, Error> {
    if msg.len() > MAX_AUTHZID {
        return Err(Error::TooLong {
            len: msg.len(),
            max: MAX_AUTHZID,
        });
    }
    let s = std::str::from_utf8(msg).map_err(|_| Error::NotUtf8)?;
    if s.contains('\0') {
        return Err(Error::Malformed("NUL in authzid"));
    }
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

enum State {
    WaitMessage,
    WaitVerdict(Option<String>),
    Done,
}

/// The server side of EXTERNAL.
pub(crate) struct ExternalServer {
    state: State,
}

impl ExternalServer {
    pub(crate) fn new() -> Self {
        Self {
            state: State::WaitMessage,
        }
    }

    pub(crate) fn waiting_for_message(&self) -> bool {
        matches!(self.state, State::WaitMessage)
    }

    pub(crate) fn waiting_for_credentials(&self) -> bool {
        matches!(self.state, State::WaitVerdict(_))
    }

    pub(crate) fn fail(&mut self) {
        self.state = State::Done;
    }

    pub(crate) fn message(&mut self, msg: &[u8]) -> Result<ServerOutput, Error> {
        if !self.waiting_for_message() {
            return Err(Error::UnexpectedInput("EXTERNAL message"));
        }
        self.state = State::Done;
        let authzid = parse(msg)?;
        self.state = State::WaitVerdict(authzid.clone());
        Ok(ServerOutput::NeedCredentials(CredentialsRequest {
            mechanism: Mechanism::External,
            authcid: None,
            authzid,
            password: None,
        }))
    }

    pub(crate) fn credentials(
        &mut self,
        creds: Option<Credentials>,
    ) -> Result<ServerOutput, Error> {
        let State::WaitVerdict(authzid) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(Error::UnexpectedInput("credentials"));
        };
        match creds {
            Some(Credentials::Verified) => Ok(ServerOutput::Success(Authenticated {
                mechanism: Mechanism::External,
                authcid: None,
                authzid,
                trace: None,
                channel_binding: None,
                additional_data: None,
            })),
            Some(Credentials::VerifiedAs(identity)) => Ok(ServerOutput::Success(Authenticated {
                mechanism: Mechanism::External,
                authcid: Some(identity),
                authzid,
                trace: None,
                channel_binding: None,
                additional_data: None,
            })),
            Some(_) => Err(Error::CredentialsMismatch),
            None => Err(Error::AuthenticationFailed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_authzid() {
        assert_eq!(parse(b"").unwrap(), None);
        assert_eq!(
            parse(b"juliet@example.com").unwrap().as_deref(),
            Some("juliet@example.com")
        );
        assert_eq!(parse(b"\xff").unwrap_err(), Error::NotUtf8);
        assert!(parse(b"a\0b").is_err());
        assert!(parse(&[b'a'; 4000]).is_err());
    }
}
