//! Character classes of the SIP grammar (RFC 3261 §25.1) as one 256-entry table, plus the
//! small lexical helpers every view parser shares (LWS skipping, digits, quoted strings).
//!
//! Owns no state. Invariant: every helper is total (never panics, never indexes out of bounds)
//! and works on byte slices, because header values may contain folded lines (CRLF followed by
//! SP/HTAB), which the helpers treat as linear white space (RFC 3261 §7.3.1).

pub(crate) const TOKEN: u8 = 1;
pub(crate) const WORD: u8 = 2;
pub(crate) const USER: u8 = 4;
const HOST: u8 = 8;
pub(crate) const PARAM: u8 = 16;
pub(crate) const HNV: u8 = 32;
const WS: u8 = 64;
pub(crate) const PASSWORD: u8 = 128;

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        // unreserved = alphanum / mark
        let mark = matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        );
        let unreserved = alnum || mark;
        let mut f = 0u8;
        if alnum
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            )
        {
            f |= TOKEN;
        }
        if f & TOKEN != 0
            || matches!(
                b,
                b'(' | b')'
                    | b'<'
                    | b'>'
                    | b':'
                    | b'\\'
                    | b'"'
                    | b'/'
                    | b'['
                    | b']'
                    | b'?'
                    | b'{'
                    | b'}'
            )
        {
            f |= WORD;
        }
        // user = 1*( unreserved / escaped / user-unreserved ); '%' admitted for escapes
        if unreserved
            || matches!(
                b,
                b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
            )
        {
            f |= USER;
        }
        if unreserved || matches!(b, b'%' | b'&' | b'=' | b'+' | b'$' | b',') {
            f |= PASSWORD;
        }
        if alnum || matches!(b, b'-' | b'.') {
            f |= HOST;
        }
        // paramchar = param-unreserved / unreserved / escaped
        if unreserved || matches!(b, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$') {
            f |= PARAM;
        }
        // hname/hvalue characters of URI headers
        if unreserved || matches!(b, b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$') {
            f |= HNV;
        }
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            f |= WS;
        }
        t[c] = f;
        c += 1;
    }
    t
}

static TABLE: [u8; 256] = build();

pub use super::swar::{
    find_below, find_byte, find_cr_or_lf, find_list_special, find_name_end, token_end,
};

/// RFC 3261 `token` character.
#[inline]
pub fn is_token(b: u8) -> bool {
    TABLE[b as usize] & TOKEN != 0
}
/// RFC 3261 `word` character (Call-ID).
#[inline]
pub fn is_word(b: u8) -> bool {
    TABLE[b as usize] & WORD != 0
}
/// Character allowed in the user part of a SIP URI (escapes included).
#[inline]
pub fn is_user(b: u8) -> bool {
    TABLE[b as usize] & USER != 0
}
/// Character allowed in the password part of a SIP URI.
#[inline]
pub fn is_password(b: u8) -> bool {
    TABLE[b as usize] & PASSWORD != 0
}
/// Character of a host name or IPv4 address.
#[inline]
pub fn is_host(b: u8) -> bool {
    TABLE[b as usize] & HOST != 0
}
/// `paramchar` of a URI parameter.
#[inline]
pub fn is_param(b: u8) -> bool {
    TABLE[b as usize] & PARAM != 0
}
/// Character of a URI header name or value.
#[inline]
pub fn is_hnv(b: u8) -> bool {
    TABLE[b as usize] & HNV != 0
}
/// Linear white space, counting the CR and LF of a folded line.
#[inline]
pub fn is_ws(b: u8) -> bool {
    TABLE[b as usize] & WS != 0
}

/// Index of the first byte at or after `i` that is not white space (or `s.len()`).
#[inline]
pub fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_ws(s[i]) {
        i += 1;
    }
    i
}

/// `s` without leading and trailing white space.
#[inline]
pub fn trim(s: &[u8]) -> &[u8] {
    let start = skip_ws(s, 0);
    let mut end = s.len();
    while end > start && is_ws(s[end - 1]) {
        end -= 1;
    }
    &s[start..end]
}

/// End (exclusive) of the run of bytes of class `class` (one of the class bits above)
/// starting at `i`. Eight table look-ups are combined per step and tested once: branches,
/// Call-IDs and URIs run to dozens of bytes, and a test per byte is what costs.
#[inline]
pub(crate) fn run_end(s: &[u8], mut i: usize, class: u8) -> usize {
    while let Some(w) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let all = w.iter().fold(0xff, |acc, &b| acc & TABLE[b as usize]);
        if all & class == 0 {
            break;
        }
        i += 8;
    }
    while i < s.len() && TABLE[s[i] as usize] & class != 0 {
        i += 1;
    }
    i
}

/// Given `s[i] == b'"'`, the index just past the closing quote, honouring `\` escapes
/// (RFC 3261 `quoted-string`, `quoted-pair`); `None` when unterminated.
#[inline]
pub fn quoted_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    None
}

/// Parse a non-empty run of ASCII digits as u64, leading zeros allowed; `None` when empty,
/// not all digits, or above `max`.
#[inline]
pub fn parse_digits(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    if s.len() <= 19 {
        // 19 digits cannot overflow a u64: no checked arithmetic per digit.
        let mut v: u64 = 0;
        for &b in s {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + d as u64;
        }
        return (v <= max).then_some(v);
    }
    let mut v: u64 = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// Case-insensitive ASCII equality.
#[inline]
pub fn eq_ic(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_grammar() {
        for b in b"abcXYZ019-.!%*_+`'~" {
            assert!(is_token(*b), "{}", *b as char);
        }
        for b in b"()<>:\\\"/[]?{}" {
            assert!(!is_token(*b) && is_word(*b), "{}", *b as char);
        }
        assert!(!is_token(b' ') && !is_token(b',') && !is_token(b';') && !is_token(b'@'));
        assert!(is_user(b';') && is_user(b'?') && !is_user(b'@') && !is_user(b':'));
        assert!(is_ws(b'\r') && is_ws(b'\t') && !is_ws(b'x'));
    }

    #[test]
    fn run_end_matches_a_plain_scan() {
        let mut seed = 0x853c49e6748fea9bu64;
        let alphabet = b"aZ09-.!%*_+`'~@:;,<>\" \t\r\n/?&=$[]()\x00\xff";
        for len in 0..40 {
            for _ in 0..300 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly one class, so that long runs occur.
                        if seed % 4 == 0 {
                            alphabet[(seed >> 8) as usize % alphabet.len()]
                        } else {
                            b'a' + (seed >> 8) as u8 % 26
                        }
                    })
                    .collect();
                for class in [TOKEN, WORD, USER, PARAM, HNV, PASSWORD] {
                    for from in 0..=len {
                        let want = s[from..]
                            .iter()
                            .position(|&b| TABLE[b as usize] & class == 0)
                            .map_or(len, |p| p + from);
                        assert_eq!(run_end(&s, from, class), want, "{s:?} {class} {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(trim(b" \r\n\tab c \t"), b"ab c");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(quoted_end(b"\"a\\\"b\"x", 0), Some(6));
        assert_eq!(quoted_end(b"\"abc\\\"", 0), None);
        assert_eq!(quoted_end(b"\"abc\\", 0), None);
        assert_eq!(parse_digits(b"0009", 100), Some(9));
        assert_eq!(parse_digits(b"", 100), None);
        assert_eq!(parse_digits(b"101", 100), None);
        assert_eq!(parse_digits(b"1a", 100), None);
        assert_eq!(parse_digits(b"99999999999999999999999", u64::MAX), None);
        assert_eq!(
            parse_digits(b"9999999999999999999", u64::MAX),
            Some(9999999999999999999)
        );
        assert_eq!(
            parse_digits(b"18446744073709551615", u64::MAX),
            Some(u64::MAX)
        );
        assert_eq!(parse_digits(b"18446744073709551616", u64::MAX), None);
        assert_eq!(parse_digits(b"00000000000000000000000042", 42), Some(42));
        assert_eq!(parse_digits(b"4294967296", u32::MAX as u64), None);
    }
}
