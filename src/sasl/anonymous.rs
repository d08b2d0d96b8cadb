//! ANONYMOUS (RFC 4505).
//!
//! Implements the trace message of RFC 4505 §2 on both sides: an optional
//! string of up to 255 characters that the server may log, checked against
//! the "trace" stringprep profile of RFC 4505 §3 (no mapping, no
//! normalization, unassigned code points allowed, the prohibitions of
//! RFC 3454 tables C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.8 and C.9, and the
//! bidirectional checks of RFC 3454 §6). The server machine succeeds with
//! the trace and leaves assigning an identity (a random JID, RFC 6120
//! §6.4.6) to the host. The RFC 4505 §2 grammar (`email / token`) is not
//! parsed further: the trace is informational and RFC 4505 §3 says it must
//! not be relied on.

use stringprep::tables;

use super::saslprep::bidi_ok;
use super::server::{Authenticated, ServerOutput};
use super::{Error, Mechanism};

/// Maximum trace length in characters (RFC 4505 §2).
pub const MAX_TRACE_CHARS: usize = 255;

/// Whether `c` is prohibited by the trace profile (RFC 4505 §3).
fn prohibited(c: char) -> bool {
    tables::ascii_control_character(c)
        || tables::non_ascii_control_character(c)
        || tables::private_use(c)
        || tables::non_character_code_point(c)
        || tables::surrogate_code(c)
        || tables::inappropriate_for_plain_text(c)
        || tables::change_display_properties_or_deprecated(c)
        || tables::tagging_character(c)
}

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
    if s.chars().any(prohibited) {
        return Err(Error::Malformed("prohibited character in trace"));
    }
    if !bidi_ok(s) {
        return Err(Error::Malformed("prohibited bidirectional text in trace"));
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

    #[test]
    fn trace_profile_prohibitions() {
        // C.2.2, C.3, C.4, C.6, C.8 (format characters), C.9.
        for c in [
            '\u{0085}',
            '\u{E000}',
            '\u{FFFF}',
            '\u{FFFC}',
            '\u{200E}',
            '\u{202E}',
            '\u{206A}',
            '\u{E0001}',
        ] {
            assert!(parse(format!("ab{c}cd").as_bytes()).is_err(), "{c:?}");
        }
        // Unassigned in Unicode 3.2 and C.7 are allowed; no mapping or
        // normalization happens.
        assert_eq!(
            parse("a\u{0221}".as_bytes()).unwrap().as_deref(),
            Some("a\u{0221}")
        );
        assert_eq!(
            parse("\u{2FF0}".as_bytes()).unwrap().as_deref(),
            Some("\u{2FF0}")
        );
        assert_eq!(
            parse("\u{00AD}x".as_bytes()).unwrap().as_deref(),
            Some("\u{00AD}x")
        );
    }

    #[test]
    fn trace_bidi_rules() {
        // RFC 3454 §6: right-to-left text must not mix with left-to-right
        // text and must start and end with a right-to-left character.
        assert!(parse("\u{05D0}\u{05D1}".as_bytes()).is_ok());
        assert!(parse("\u{05D0}1\u{05D1}".as_bytes()).is_ok());
        assert!(parse("\u{05D0}a\u{05D1}".as_bytes()).is_err());
        assert!(parse("\u{05D0}1".as_bytes()).is_err());
        assert!(parse("1\u{0627}".as_bytes()).is_err());
    }
}
