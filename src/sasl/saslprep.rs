//! SASLprep (RFC 4013), the stringprep profile (RFC 3454) for user names
//! and passwords.
//!
//! Implements RFC 4013 §2 (mapping, NFKC normalization, prohibited output,
//! bidirectional check) and both flavours of RFC 3454 §7: *stored strings*
//! reject unassigned code points, *query strings* let them through. SCRAM
//! prepares user names as query strings and passwords as stored strings
//! (RFC 5802 §2.2, §5.1). The tables are those of Unicode 3.2 as shipped by
//! the `stringprep` crate; newer Unicode versions (RFC 8265 PRECIS) are not
//! implemented.

use std::borrow::Cow;

use stringprep::tables;
use unicode_normalization::UnicodeNormalization;

use super::Error;

/// How unassigned code points are treated (RFC 3454 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    Stored,
}

/// Prepares `s` as a *query string*: unassigned code points are allowed.
///
/// Used for user names sent by a SCRAM client and for looking up the
/// user name a server received (RFC 5802 §5.1).
pub fn saslprep_query(s: &str) -> Result<Cow<'_, str>, Error> {
    prepare(s, Kind::Query)
}

/// Prepares `s` as a *stored string*: unassigned code points are rejected.
///
/// Used for passwords before they are hashed (RFC 5802 §2.2 `Normalize`).
pub fn saslprep_stored(s: &str) -> Result<Cow<'_, str>, Error> {
    prepare(s, Kind::Stored)
}

fn prepare(s: &str, kind: Kind) -> Result<Cow<'_, str>, Error> {
    // Printable ASCII is left unchanged by every step, which is the common
    // case and keeps logins from allocating.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(Cow::Borrowed(s));
    }

    // RFC 4013 §2.1: non-ASCII spaces become SPACE, B.1 maps to nothing.
    let mapped = s
        .chars()
        .filter(|&c| !tables::commonly_mapped_to_nothing(c))
        .map(|c| {
            if tables::non_ascii_space_character(c) {
                ' '
            } else {
                c
            }
        });
    // RFC 4013 §2.2: NFKC.
    let normalized: String = mapped.nfkc().collect();

    // RFC 4013 §2.3.
    for c in normalized.chars() {
        if tables::non_ascii_space_character(c)
            || tables::ascii_control_character(c)
            || tables::non_ascii_control_character(c)
            || tables::private_use(c)
            || tables::non_character_code_point(c)
            || tables::surrogate_code(c)
            || tables::inappropriate_for_plain_text(c)
            || tables::inappropriate_for_canonical_representation(c)
            || tables::change_display_properties_or_deprecated(c)
            || tables::tagging_character(c)
        {
            return Err(Error::Saslprep("prohibited character"));
        }
        if kind == Kind::Stored && tables::unassigned_code_point(c) {
            return Err(Error::Saslprep("unassigned code point"));
        }
    }

    // RFC 4013 §2.4 by way of RFC 3454 §6.
    if !bidi_ok(&normalized) {
        return Err(Error::Saslprep("prohibited bidirectional text"));
    }
    Ok(Cow::Owned(normalized))
}

/// Requirements 2 and 3 of RFC 3454 §6 (requirement 1, prohibiting C.8,
/// is left to the profile's prohibition step): a string with a RandALCat
/// character has no LCat character and starts and ends with RandALCat.
pub(crate) fn bidi_ok(s: &str) -> bool {
    if !s.contains(tables::bidi_r_or_al) {
        return true;
    }
    let first = s.chars().next().is_some_and(tables::bidi_r_or_al);
    let last = s.chars().next_back().is_some_and(tables::bidi_r_or_al);
    first && last && !s.contains(tables::bidi_l)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The examples of RFC 4013 §3.
    #[test]
    fn rfc4013_examples() {
        assert_eq!(saslprep_stored("I\u{00AD}X").unwrap(), "IX");
        assert_eq!(saslprep_stored("user").unwrap(), "user");
        assert_eq!(saslprep_stored("USER").unwrap(), "USER");
        assert_eq!(saslprep_stored("\u{00AA}").unwrap(), "a");
        assert_eq!(saslprep_stored("\u{2168}").unwrap(), "IX");
        assert!(saslprep_stored("\u{0007}").is_err());
        assert!(saslprep_stored("\u{0627}\u{0031}").is_err());
    }

    #[test]
    fn non_ascii_space_maps_to_space() {
        assert_eq!(saslprep_stored("a\u{00A0}b").unwrap(), "a b");
    }

    #[test]
    fn unassigned_only_allowed_in_queries() {
        // U+0221 is unassigned in Unicode 3.2.
        assert!(saslprep_stored("a\u{0221}").is_err());
        assert_eq!(saslprep_query("a\u{0221}").unwrap(), "a\u{0221}");
    }

    #[test]
    fn controls_and_private_use_rejected() {
        assert!(saslprep_query("a\u{007F}").is_err());
        assert!(saslprep_query("a\u{E000}").is_err());
        assert!(saslprep_query("a\u{0000}").is_err());
    }

    #[test]
    fn rtl_only_is_fine() {
        assert!(saslprep_stored("\u{0627}\u{0628}").is_ok());
    }
}
