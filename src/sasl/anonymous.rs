//! ANONYMOUS (RFC 4505).
//!
//! Implements the trace message of RFC 4505 §2 on both sides: an optional
//! string of up to 255 characters that the server may log. The server
//! machine succeeds with the trace and leaves assigning an identity (a
//! random JID, RFC 6120 §6.4.6) to the host. The RFC 4505 §2 grammar
//! (`email / token`) is only enforced as far as rejecting control
//! characters: the trace is informational and RFC 4505 §3 says it must not
//! be relied on.

use super::server::{Authenticated, ServerOutput};
use super::{Error, Mechanism};

/// Maximum trace length in characters (RFC 4505 §2).
pub const MAX_TRACE_CHARS: usize = 255;

/// Parses the client's trace message.
pub(crate) fn parse(msg: &[u8]) -> Result<Option<String>, Error> {
    // 255 characters of at most 4 bytes each.
    if msg.len() > MAX_TRACE_CHARS * 4 {
        return Err(Error::TooLong {
            len: msg.len(),
            max: MAX_TRACE_CHARS * 4,
        });
    }
    let s = std::str::from_utf8(msg).map_err(|_| Error::NotUtf8)?;
    if s.chars().count() > MAX_TRACE_CHARS {
        return Err(Error::Malformed("trace longer than 255 characters"));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::Malformed("control character in trace"));
    }
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

/// Checks a trace before a client sends it.
pub(crate) fn encode(trace: Option<&str>) -> Result<Vec<u8>, Error> {
    let bytes = trace.unwrap_or("").as_bytes().to_vec();
    parse(&bytes)?;
    Ok(bytes)
}

/// The server side of ANONYMOUS: one message, then success.
pub(crate) fn accept(msg: &[u8]) -> Result<ServerOutput, Error> {
    let trace = parse(msg)?;
    Ok(ServerOutput::Success(Authenticated {
        mechanism: Mechanism::Anonymous,
        authcid: None,
        authzid: None,
        trace,
        channel_binding: None,
        additional_data: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces() {
        assert_eq!(parse(b"").unwrap(), None);
        assert_eq!(parse(b"sirhc").unwrap().as_deref(), Some("sirhc"));
        assert_eq!(
            parse("é".repeat(255).as_bytes())
                .unwrap()
                .map(|s| s.chars().count()),
            Some(255)
        );
        assert!(parse("é".repeat(256).as_bytes()).is_err());
        assert!(parse(b"a\nb").is_err());
        assert!(parse(b"\xc3").is_err());
        assert!(encode(Some("x\u{0}")).is_err());
    }
}
