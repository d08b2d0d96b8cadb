//! Character classes of XML 1.0 (Fifth Edition) §2.2 and §2.3.

/// `Char` of XML 1.0 §2.2: what may appear in a document at all.
#[inline]
pub(crate) fn is_xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// `NameStartChar` of XML 1.0 §2.3, without `:` (names are namespace
/// NCNames here: the colon separates prefix and local part).
#[inline]
pub(crate) fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// `NameChar` of XML 1.0 §2.3, without `:`.
#[inline]
pub(crate) fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Whether `s` is an `NCName` (XML Namespaces §3): a name without colon.
pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => chars.all(is_name_char),
        _ => false,
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `x` is below `n` (`n` ≤ 128): the classic
/// word-at-a-time test; exact for the word as a whole.
#[inline(always)]
fn has_less(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH != 0
}

/// Whether some byte of `x` equals `b`.
#[inline(always)]
fn has_byte(x: u64, b: u8) -> bool {
    has_less(x ^ (ONES * u64::from(b)), 1)
}

/// Whether an attribute value needs decoding: a reference (`&`), a `<`
/// (an error), or tab, LF or CR (normalized to spaces). Eight bytes at a
/// time; values are short, so this beats a search per byte kind.
#[inline]
pub(crate) fn value_needs_work(s: &[u8]) -> bool {
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        if has_less(x, 0x20) || has_byte(x, b'&') || has_byte(x, b'<') {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'&' || b == b'<')
}

/// Whether the byte is XML whitespace (`S` of XML 1.0 §2.3).
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first character of valid UTF-8 `s` that is not an XML `Char`.
///
/// Works on bytes: in UTF-8 the only non-`Char` code points are the C0
/// controls other than tab, LF and CR (single bytes below 0x20) and
/// U+FFFE/U+FFFF (`EF BF BE`, `EF BF BF`); surrogates cannot be encoded.
/// Blocks of 32 bytes are screened branch-free first (the compiler turns
/// that into vector code); only a block with a suspect byte is examined.
#[inline]
pub(crate) fn find_illegal_char(s: &[u8]) -> Option<u32> {
    const BLOCK: usize = 32;
    let mut start = 0;
    for block in s.chunks(BLOCK) {
        let mut suspect = 0u8;
        for &b in block {
            let control =
                (b < 0x20) as u8 & (b != b'\t') as u8 & (b != b'\n') as u8 & (b != b'\r') as u8;
            suspect |= control | (b == 0xEF) as u8;
        }
        if suspect != 0
            && let Some(c) = examine(s, start, start + block.len())
        {
            return Some(c);
        }
        start += block.len();
    }
    None
}

/// The slow path of [`find_illegal_char`] over `s[from..to]` (looking past
/// `to` for the rest of a three-byte sequence).
fn examine(s: &[u8], from: usize, to: usize) -> Option<u32> {
    for i in from..to {
        let b = s[i];
        if b < 0x20 {
            if !matches!(b, b'\t' | b'\n' | b'\r') {
                return Some(u32::from(b));
            }
        } else if b == 0xEF
            && s.get(i + 1) == Some(&0xBF)
            && matches!(s.get(i + 2), Some(0xBE) | Some(0xBF))
        {
            return Some(if s[i + 2] == 0xBE { 0xFFFE } else { 0xFFFF });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_ncname("message"));
        assert!(is_ncname("_x-1.2"));
        assert!(is_ncname("héllo"));
        assert!(!is_ncname(""));
        assert!(!is_ncname("1abc"));
        assert!(!is_ncname("a:b"));
        assert!(!is_ncname("-a"));
        assert!(!is_ncname("a b"));
    }

    #[test]
    fn value_screening() {
        assert!(!value_needs_work(b""));
        assert!(!value_needs_work(
            "plain value, long enough for words ☺".as_bytes()
        ));
        for special in [b'&', b'<', b'\t', b'\n', b'\r'] {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = special;
                assert!(value_needs_work(&v), "{special} at {at}");
            }
        }
        assert!(!value_needs_work(&[
            0x7F, 0x80, 0xFF, b'>', b'=', b'\'', b'"', 0x21, 0x3B, 0x3D, 0x25, 0x27
        ]));
    }

    #[test]
    fn illegal_chars() {
        assert_eq!(find_illegal_char(b"ok\t\r\n"), None);
        assert_eq!(find_illegal_char(b"a\x01"), Some(1));
        assert_eq!(find_illegal_char("a\u{FFFE}".as_bytes()), Some(0xFFFE));
        assert_eq!(find_illegal_char("a\u{FFFF}".as_bytes()), Some(0xFFFF));
        assert_eq!(find_illegal_char("\u{FFFD}\u{EFFF}".as_bytes()), None);
        // Across block boundaries and at the ends of blocks.
        for at in 28..36 {
            let mut v = vec![b'a'; 64];
            v.splice(at..at + 3, "\u{FFFF}".bytes());
            assert_eq!(find_illegal_char(&v), Some(0xFFFF), "at {at}");
            let mut v = vec![b'a'; 64];
            v[at] = 0x1B;
            assert_eq!(find_illegal_char(&v), Some(0x1B), "at {at}");
        }
        assert!(!is_xml_char(0xFFFE));
        assert!(!is_xml_char(0xD800));
        assert!(is_xml_char(0x10FFFF));
    }
}
