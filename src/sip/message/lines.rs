//! Stage 1 of the message parser (see the parent module): the start line, the header table
//! and the end of the header block, in one pass over the bytes.

use super::super::chars::{
    find_below, find_byte, find_cr_or_lf, find_name_end, is_ws, skip_ws, token_end, trim,
};
use super::super::error::{ErrorKind, ParseError};
use super::super::name::{HeaderName, NAME_COUNT};
use super::super::values::parse_content_length;
use super::{Header, NONE, RawMessage, StartLine};

/// Stage 1: frame the message (see the module docs).
pub fn parse_raw<'a>(
    buf: &'a [u8],
    headers: &'a mut [Header],
) -> Result<RawMessage<'a>, ParseError> {
    if buf.len() > u32::MAX as usize {
        return Err(ParseError::new(ErrorKind::TooLarge, 0));
    }
    let mut i = 0;
    while buf.len() >= i + 2 && buf[i] == b'\r' && buf[i + 1] == b'\n' {
        i += 2;
    }
    if i >= buf.len() || (is_ws(buf[i]) && skip_ws(buf, i) == buf.len()) {
        return Err(ParseError::new(ErrorKind::Empty, i));
    }
    let line_end = match find_crlf(buf, i) {
        Some(e) => e,
        None => return Err(ParseError::new(ErrorKind::IncompleteHeaders, buf.len())),
    };
    let (start, line_error) = parse_start_line(&buf[i..line_end], i)?;
    i = line_end + 2;

    let mut index = [NONE; NAME_COUNT];
    let mut dup = None;
    let mut count = 0usize;
    let body_at = loop {
        let name_at = i;
        let (name, name_end) = match buf.get(i..i + 2) {
            Some(b"\r\n") => break i + 2,
            None if i >= buf.len() => {
                return Err(ParseError::new(ErrorKind::IncompleteHeaders, i));
            }
            _ => header_name(buf, i)?,
        };
        i = name_end;
        while i < buf.len() && (buf[i] == b' ' || buf[i] == b'\t') {
            i += 1;
        }
        if i >= buf.len() {
            return Err(ParseError::new(ErrorKind::IncompleteHeaders, i));
        }
        if buf[i] != b':' {
            return Err(ParseError::new(ErrorKind::BadHeaderLine, i));
        }
        i += 1;
        let value_start = i;
        // The logical line ends at a CRLF not followed by SP or HTAB (§7.3.1 folding).
        let value_end = loop {
            let cr = match find_cr_or_lf(buf, i) {
                Some(cr) => cr,
                None => return Err(ParseError::new(ErrorKind::IncompleteHeaders, buf.len())),
            };
            if buf[cr] == b'\n' {
                return Err(ParseError::new(ErrorKind::BadHeaderLine, cr));
            }
            match buf.get(cr + 1) {
                None => return Err(ParseError::new(ErrorKind::IncompleteHeaders, buf.len())),
                Some(b'\n') => {}
                Some(_) => return Err(ParseError::new(ErrorKind::BadHeaderLine, cr)),
            }
            match buf.get(cr + 2) {
                None => return Err(ParseError::new(ErrorKind::IncompleteHeaders, buf.len())),
                Some(b' ' | b'\t') => i = cr + 3,
                Some(_) => {
                    i = cr + 2;
                    break cr;
                }
            }
        };
        let v_at = skip_ws(buf, value_start).min(value_end);
        let mut v_end = value_end;
        while v_end > v_at && is_ws(buf[v_end - 1]) {
            v_end -= 1;
        }
        let slot = match headers.get_mut(count) {
            Some(slot) => slot,
            None => return Err(ParseError::new(ErrorKind::TooManyHeaders, name_at)),
        };
        *slot = Header {
            name,
            name_len: (name_end - name_at).min(u16::MAX as usize) as u16,
            name_at: name_at as u32,
            value_at: v_at as u32,
            value_end: v_end as u32,
        };
        let first = &mut index[name as usize];
        if *first == NONE {
            *first = count as u8;
        } else if dup.is_none() && is_single(name) {
            dup = Some(count);
        }
        count += 1;
    };
    let headers: &'a [Header] = &headers[..count];
    let content_length = match index[HeaderName::ContentLength as usize] {
        NONE => None,
        k => headers.get(k as usize).map(|h| {
            let value = buf
                .get(h.value_at as usize..h.value_end as usize)
                .unwrap_or(&[]);
            parse_content_length(value, h.value_at as usize)
        }),
    };
    let end = match content_length {
        Some(Ok(cl)) => body_at
            .checked_add(cl)
            .map_or(buf.len(), |e| e.min(buf.len())),
        _ => buf.len(),
    };
    // Built in one expression, so that it is written straight into the caller's slot.
    Ok(RawMessage {
        buf,
        start,
        headers,
        index,
        dup,
        line_error,
        content_length,
        body_at,
        end,
    })
}

/// Headers that may appear once (RFC 3261 §7.3.1): a second line is an error unless it
/// repeats the same value.
fn is_single(name: HeaderName) -> bool {
    use HeaderName::*;
    matches!(
        name,
        From | To | CallId | CSeq | ContentLength | MaxForwards | Expires | ContentType
    )
}

/// The header name that starts at `i` (not a CRLF) and where it ends; the errors of a line
/// that does not start with a token.
#[inline]
fn header_name(buf: &[u8], i: usize) -> Result<(HeaderName, usize), ParseError> {
    // A recognised name is letters and '-' only, so it is a whole token exactly when it runs
    // to the first ':' or byte below 0x21. Found eight bytes at a time, that skips the
    // byte-wise token scan for every usual header.
    if let Some(e) = find_name_end(buf, i).filter(|&e| e > i) {
        let name = HeaderName::from_buf(buf, i, e);
        if name != HeaderName::Other {
            return Ok((name, e));
        }
    }
    any_header_name(buf, i)
}

/// [`header_name`] for any name: a token scan byte by byte.
fn any_header_name(buf: &[u8], i: usize) -> Result<(HeaderName, usize), ParseError> {
    let end = token_end(buf, i);
    if end == i {
        if buf.get(i).is_some_and(|&b| is_ws(b) && b != b'\r') {
            return Err(ParseError::new(ErrorKind::BadHeaderLine, i));
        }
        return Err(incomplete_or(buf, i, ErrorKind::BadHeaderName));
    }
    Ok((HeaderName::from_bytes(&buf[i..end]), end))
}

/// Index of the first CRLF at or after `from`.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let cr = find_byte(buf, i, b'\r')?;
        if buf.get(cr + 1) == Some(&b'\n') {
            return Some(cr);
        }
        i = cr + 1;
    }
}

/// A position at the end of the buffer means the message was cut short.
fn incomplete_or(buf: &[u8], i: usize, kind: ErrorKind) -> ParseError {
    if i >= buf.len() || (buf[i] == b'\r' && i + 1 >= buf.len()) {
        ParseError::new(ErrorKind::IncompleteHeaders, i)
    } else {
        ParseError::new(kind, i)
    }
}

/// Parse the start line `line` (without CRLF) found at offset `at`. Returns the line and a
/// deferred (stage 2, answerable) error for a request line with stray white space.
fn parse_start_line(
    line: &[u8],
    at: usize,
) -> Result<(StartLine<'_>, Option<ParseError>), ParseError> {
    let bad = |k: ErrorKind, off: usize| ParseError::new(k, at + off);
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let sp = line
            .iter()
            .position(|&b| b == b' ')
            .ok_or(bad(ErrorKind::BadStartLine, line.len()))?;
        let version = &line[..sp];
        let code_bytes = line
            .get(sp + 1..sp + 4)
            .ok_or(bad(ErrorKind::BadStatusCode, sp + 1))?;
        let code = super::super::chars::parse_digits(code_bytes, 699)
            .ok_or(bad(ErrorKind::BadStatusCode, sp + 1))?;
        if code < 100 {
            return Err(bad(ErrorKind::BadStatusCode, sp + 1));
        }
        let reason = match line.get(sp + 4) {
            None => &line[sp + 4..],
            Some(b' ') => &line[sp + 5..],
            Some(_) => return Err(bad(ErrorKind::BadStatusCode, sp + 1)),
        };
        if reason.iter().any(|&b| b < b' ' && b != b'\t') {
            return Err(bad(ErrorKind::BadStartLine, sp + 5));
        }
        return Ok((
            StartLine::Response {
                version,
                code: code as u16,
                reason,
            },
            None,
        ));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version
    let m_end = token_end(line, 0);
    if m_end == 0 {
        return Err(bad(ErrorKind::BadMethod, 0));
    }
    if line.get(m_end) != Some(&b' ') {
        return Err(bad(
            if m_end == line.len() {
                ErrorKind::BadStartLine
            } else {
                ErrorKind::BadMethod
            },
            m_end,
        ));
    }
    // Everything after the method: `Request-URI SP SIP-Version`, possibly with stray white
    // space (RFC 4475 §3.1.2.8-10), which is answered with 400 rather than dropped.
    let rest_at = m_end + 1;
    let rest = &line[rest_at..];
    // The usual line has one byte below 0x21 after the method, the SP inside `rest`: then
    // no trimming or re-scanning is needed (what follows gives the same answer, slower).
    if let Some(sp) = find_below(rest, 0, 0x21) {
        let inside = sp > 0 && sp + 1 < rest.len();
        if inside && rest[sp] == b' ' && find_below(rest, sp + 1, 0x21).is_none() {
            let version = &rest[sp + 1..];
            if !is_version_like(version) {
                return Err(bad(ErrorKind::BadStartLine, rest_at + sp + 1));
            }
            let request = StartLine::Request {
                method: &line[..m_end],
                uri: &rest[..sp],
                uri_at: at + rest_at,
                version,
            };
            return Ok((request, None));
        }
    }
    spaced_request_line(line, at, m_end)
}

/// The request line after a method of `m_end` bytes and its SP, in general: stray white space
/// is a deferred [`ErrorKind::BadRequestLine`] (RFC 4475 §3.1.2.8-10).
fn spaced_request_line(
    line: &[u8],
    at: usize,
    m_end: usize,
) -> Result<(StartLine<'_>, Option<ParseError>), ParseError> {
    let bad = |k: ErrorKind, off: usize| ParseError::new(k, at + off);
    let rest_at = m_end + 1;
    let rest = line.get(rest_at..).unwrap_or(&[]);
    let lead = skip_ws(rest, 0);
    let t = trim(rest);
    let v_start = match t.iter().rposition(|&b| b == b' ') {
        Some(p) => p + 1,
        None => return Err(bad(ErrorKind::BadStartLine, rest_at)),
    };
    let version = &t[v_start..];
    if !is_version_like(version) {
        return Err(bad(ErrorKind::BadStartLine, rest_at + lead + v_start));
    }
    let uri = trim(&t[..v_start]);
    let spaced = lead != 0 || t.len() + lead != rest.len() || uri.len() + 1 != v_start;
    let deferred = if uri.is_empty() || spaced || uri.iter().any(|&b| is_ws(b)) {
        Some(bad(ErrorKind::BadRequestLine, rest_at))
    } else {
        None
    };
    let uri_at = at + rest_at + lead;
    Ok((
        StartLine::Request {
            method: &line[..m_end],
            uri,
            uri_at,
            version,
        },
        deferred,
    ))
}

/// The cheap Request-URI check done on every request: an absolute URI (`scheme:` and no
/// characters that cannot appear in one), and no headers in a SIP URI (RFC 3261 §19.1.5,
/// RFC 4475 §3.1.2.7, §3.1.2.11). The full parse is [`RawMessage::request_uri`], on demand.
pub(super) fn check_request_uri(uri: &[u8], at: usize) -> Result<(), ParseError> {
    let bad = ParseError::new(ErrorKind::BadRequestUri, at);
    let colon = uri
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')));
    let colon = match colon {
        Some(c) if c > 0 && uri[c] == b':' && uri[0].is_ascii_alphabetic() && c + 1 < uri.len() => {
            c
        }
        _ => return Err(bad),
    };
    let scheme = &uri[..colon];
    let sip = scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips");
    // One pass after the colon (the scheme holds none of these bytes): no byte that cannot
    // appear in a URI, and for SIP no '?' after the user part, which ends at the first '@'
    // (or, without one, no '?' at all).
    let mut at_seen = false;
    let mut question = false;
    for &b in &uri[colon + 1..] {
        if REQUEST_URI_SPECIAL[b as usize] {
            match b {
                b'@' if !at_seen => {
                    at_seen = true;
                    question = false;
                }
                b'?' => question = true,
                b'@' => {}
                _ => return Err(bad),
            }
        }
    }
    if sip && question {
        return Err(bad);
    }
    Ok(())
}

/// Bytes that [`check_request_uri`] looks at: those that cannot appear in a URI, and `@`, `?`.
static REQUEST_URI_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b < b' ' || matches!(b, 0x7f | b'<' | b'>' | b'"' | b'@' | b'?');
        c += 1;
    }
    t
};

/// `SIP/` followed by something: a version this parser can report on.
fn is_version_like(v: &[u8]) -> bool {
    v == b"SIP/2.0"
        || v.len() > 4 && v[..4].eq_ignore_ascii_case(b"SIP/") && v.iter().all(|&b| !is_ws(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(alphabet: &[u8], seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                alphabet[(*seed >> 8) as usize % alphabet.len()]
            })
            .collect()
    }

    #[test]
    fn usual_request_lines_take_the_short_cut_with_the_same_answer() {
        let mut seed = 0x2545f4914f6cdd1du64;
        let alphabet = b"sip:a@b SIP/2.0 \t\r\n\x0bs";
        for len in 0..30 {
            for _ in 0..3000 {
                let mut line = b"REGISTER ".to_vec();
                line.extend(lines(alphabet, &mut seed, len));
                let got = parse_start_line(&line, 7);
                assert_eq!(got, spaced_request_line(&line, 7, 8), "{line:?}");
            }
        }
        for line in [
            &b"OPTIONS sip:a@b SIP/2.0"[..],
            b"OPTIONS sip:a@b ",
            b"OPTIONS sip:a@b  SIP/2.0",
            b"OPTIONS  sip:a@b SIP/2.0",
            b"OPTIONS sip:a@b SIP/2.0 ",
            b"OPTIONS sip:a@b\tSIP/2.0",
            b"OPTIONS sip:a@b sip/2.0",
            b"OPTIONS sip:a@b SIP/",
            b"OPTIONS  SIP/2.0",
        ] {
            assert_eq!(parse_start_line(line, 0), spaced_request_line(line, 0, 7));
        }
    }

    #[test]
    fn recognised_header_names_take_the_short_cut_with_the_same_answer() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let names: [&[u8]; 8] = [
            b"Via",
            b"cseq",
            b"Content-Length",
            b"X-Y",
            b"f",
            b"X@Y",
            b"",
            b"T{o",
        ];
        let tails = b": \t\r\nx-";
        for _ in 0..20000 {
            let mut buf = names[(seed % 8) as usize].to_vec();
            let n = 1 + (seed >> 20) as usize % 6;
            buf.extend(lines(tails, &mut seed, n));
            if seed % 5 == 0 {
                buf.extend_from_slice(b"value\r\n");
            }
            assert_eq!(header_name(&buf, 0), any_header_name(&buf, 0), "{buf:?}");
        }
    }
}
