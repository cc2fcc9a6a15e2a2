//! The scalar header values the server reads: CSeq (§20.16), Call-ID (§20.8), Expires (§20.19),
//! Max-Forwards (§20.22), Content-Length (§20.14) and Content-Type (§20.15) of RFC 3261.
//! Numbers allow leading zeros (RFC 4475 §3.1.1.1) and reject overlarge values
//! (RFC 4475 §3.1.2.4).

use super::chars::{WORD, is_token, is_ws, parse_digits, run_end, skip_ws, token_end, trim};
use super::error::{ErrorKind, ParseError};
use super::params::Params;

/// Largest CSeq number (RFC 3261 §8.1.1.5: "MUST be less than 2**31").
pub const CSEQ_MAX: u32 = (1 << 31) - 1;

/// `CSeq: 1*DIGIT LWS Method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// The sequence number.
    pub seq: u32,
    /// The method, case-sensitive as methods are.
    pub method: &'a [u8],
}

impl<'a> CSeq<'a> {
    /// Parse a trimmed CSeq value at offset `at`.
    pub fn parse(s: &'a [u8], at: usize) -> Result<CSeq<'a>, ParseError> {
        let bad = ParseError::new(ErrorKind::BadCSeq, at);
        let digits_end = s
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(s.len());
        let seq = parse_digits(&s[..digits_end], CSEQ_MAX as u64).ok_or(bad)? as u32;
        if digits_end >= s.len() || !is_ws(s[digits_end]) {
            return Err(bad);
        }
        let m = skip_ws(s, digits_end);
        let end = token_end(s, m);
        if end == m || end != s.len() {
            return Err(bad);
        }
        Ok(CSeq {
            seq,
            method: &s[m..end],
        })
    }
}

/// Check a trimmed Call-ID: `word [ "@" word ]`.
pub fn check_call_id(s: &[u8], at: usize) -> Result<&[u8], ParseError> {
    let bad = ParseError::new(ErrorKind::BadCallId, at);
    // `word` does not hold '@', so the first run stops at the '@' if there is one.
    let first = run_end(s, 0, WORD);
    if first == 0 {
        return Err(bad);
    }
    if first == s.len() {
        return Ok(s);
    }
    if s[first] != b'@' || first + 1 == s.len() || run_end(s, first + 1, WORD) != s.len() {
        return Err(bad);
    }
    Ok(s)
}

/// `Expires: delta-seconds` (0 ..= 2^32-1).
pub fn parse_expires(s: &[u8], at: usize) -> Result<u32, ParseError> {
    parse_digits(s, u32::MAX as u64)
        .map(|v| v as u32)
        .ok_or(ParseError::new(ErrorKind::BadExpires, at))
}

/// `Max-Forwards: 1*DIGIT`, 0 ..= 255 (RFC 3261 §20.22).
pub fn parse_max_forwards(s: &[u8], at: usize) -> Result<u8, ParseError> {
    parse_digits(s, 255)
        .map(|v| v as u8)
        .ok_or(ParseError::new(ErrorKind::BadMaxForwards, at))
}

/// `Content-Length: 1*DIGIT`, bounded by what a message can hold here (4 GiB).
pub fn parse_content_length(s: &[u8], at: usize) -> Result<usize, ParseError> {
    parse_digits(s, u32::MAX as u64)
        .map(|v| v as usize)
        .ok_or(ParseError::new(ErrorKind::BadContentLength, at))
}

/// `Content-Type: m-type SLASH m-subtype *( SEMI m-parameter )`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// The top-level type, e.g. `text`.
    pub ty: &'a [u8],
    /// The subtype, e.g. `plain`.
    pub subtype: &'a [u8],
    /// Parameters such as `charset`.
    pub params: Params<'a>,
    /// The whole trimmed value.
    pub raw: &'a [u8],
}

impl<'a> MediaType<'a> {
    /// Parse a trimmed Content-Type value at offset `at`.
    pub fn parse(s: &'a [u8], at: usize) -> Result<MediaType<'a>, ParseError> {
        let bad = ParseError::new(ErrorKind::BadContentType, at);
        let t_end = token_end(s, 0);
        if t_end == 0 {
            return Err(bad);
        }
        let slash = skip_ws(s, t_end);
        if slash >= s.len() || s[slash] != b'/' {
            return Err(bad);
        }
        let st = skip_ws(s, slash + 1);
        let st_end = token_end(s, st);
        if st_end == st {
            return Err(bad);
        }
        let params = Params::parse(&s[st_end..], at + st_end)?;
        Ok(MediaType {
            ty: &s[..t_end],
            subtype: &s[st..st_end],
            params,
            raw: trim(s),
        })
    }
}

/// True when `s` is a non-empty token (method names, extension header names).
pub fn is_token_str(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse(b"0009\r\n  INVITE", 0).unwrap(),
            CSeq {
                seq: 9,
                method: b"INVITE"
            }
        );
        assert_eq!(
            CSeq::parse(b"2147483647 REGISTER", 0).unwrap().seq,
            CSEQ_MAX
        );
        for bad in [
            "2147483648 REGISTER",
            "1",
            "REGISTER",
            "1REGISTER",
            "1 REG ISTER",
            "-1 A",
            "36893116892 INVITE",
            "",
        ] {
            assert_eq!(
                CSeq::parse(bad.as_bytes(), 3).unwrap_err(),
                ParseError::new(ErrorKind::BadCSeq, 3),
                "{bad}"
            );
        }
    }

    #[test]
    fn scalars() {
        assert!(check_call_id(b"a84b4c76e66710@pc33.atlanta.com", 0).is_ok());
        assert!(check_call_id(b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", 0).is_ok());
        for bad in ["", "a@b@c", "@x", "x@", "a b"] {
            assert_eq!(
                check_call_id(bad.as_bytes(), 0).unwrap_err().kind,
                ErrorKind::BadCallId,
                "{bad}"
            );
        }
        assert_eq!(parse_expires(b"0600", 0), Ok(600));
        assert_eq!(parse_expires(b"4294967295", 0), Ok(u32::MAX));
        assert_eq!(parse_expires(b"10000000000000", 5).unwrap_err().at, 5);
        assert_eq!(parse_max_forwards(b"0068", 0), Ok(68));
        assert!(parse_max_forwards(b"300", 0).is_err());
        assert_eq!(parse_content_length(b"000150", 0), Ok(150));
        assert!(parse_content_length(b"-999", 0).is_err());
        assert!(parse_content_length(b"abc", 0).is_err());
    }

    #[test]
    fn media_type() {
        let m = MediaType::parse(b"text/plain ; charset=utf-8", 0).unwrap();
        assert_eq!((m.ty, m.subtype), (&b"text"[..], &b"plain"[..]));
        assert_eq!(m.params.value(b"charset"), Some(Some(&b"utf-8"[..])));
        assert!(MediaType::parse(b"text", 0).is_err());
        assert!(MediaType::parse(b"text/", 0).is_err());
        assert!(MediaType::parse(b"/plain", 0).is_err());
    }
}
