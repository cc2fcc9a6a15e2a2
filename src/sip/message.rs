//! The message parser: start line, header table and body of one SIP message (RFC 3261 §7),
//! without allocating.
//!
//! Parsing has two stages, so that a server can still answer a message whose headers frame but
//! whose content is wrong:
//! 1. [`parse_raw`] frames the message: start line, header names and values (folded lines
//!    joined by reference, RFC 3261 §7.3.1), end of the header block. Its errors are "framing"
//!    errors (drop the datagram). It returns a [`RawMessage`] whose typed views parse lazily.
//! 2. [`RawMessage::validate`] checks what every request and response must carry (RFC 3261
//!    §8.1.1: Via, From, To, Call-ID, CSeq, and Max-Forwards on requests), the version, the
//!    Content-Length against the bytes present (§18.3), the CSeq method (§8.1.1.5), and
//!    parses the top Via, From and To. Its errors are answered with 400 (or 505).
//!
//! [`parse`] runs both. The header table is a caller-provided slice of [`Header`] (use
//! [`MAX_HEADERS`] entries); a message with more header lines than the slice holds is an error,
//! never an allocation. A `Header` stores offsets, not slices, so the table is 16 bytes an entry.
//!
//! Deliberate choices: lines end with CRLF only (a bare CR or LF inside a header is an error);
//! leading CRLFs before the start line are skipped (§7.5); bytes after Content-Length are
//! ignored (§18.3); without Content-Length the body is the rest of the datagram (§18.3, UDP).

use super::chars::{
    find_below, find_byte, find_cr_or_lf, find_name_end, is_token, is_ws, skip_ws, token_end, trim,
};
use super::error::{ErrorKind, ParseError};
use super::name::{HeaderName, NAME_COUNT};
use super::nameaddr::{Contact, NameAddr};
use super::params::ListIter;
use super::uri::Uri;
use super::values::{
    CSeq, MediaType, check_call_id, parse_content_length, parse_expires, parse_max_forwards,
};
use super::via::Via;

/// Header table size that every caller should use: real messages carry long Via and
/// Record-Route chains.
pub const MAX_HEADERS: usize = 64;

const NONE: u8 = u8::MAX;

/// One header line in the table: its recognised name and the offsets of its raw name and its
/// trimmed value in the message buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    name: HeaderName,
    name_len: u16,
    name_at: u32,
    value_at: u32,
    value_end: u32,
}

impl Header {
    /// An unused slot, to initialise header arrays: `[Header::EMPTY; MAX_HEADERS]`.
    pub const EMPTY: Header = Header {
        name: HeaderName::Other,
        name_len: 0,
        name_at: 0,
        value_at: 0,
        value_end: 0,
    };
}

/// A header line, resolved against the message buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The recognised name (`Other` for unknown names).
    pub name: HeaderName,
    /// The name as written.
    pub raw_name: &'a [u8],
    /// The value, trimmed; may contain folded line breaks.
    pub value: &'a [u8],
    /// Offset of the value in the buffer.
    pub at: usize,
}

/// The first line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request {
        /// The method (a token; case-sensitive).
        method: &'a [u8],
        /// The Request-URI text.
        uri: &'a [u8],
        /// Offset of the Request-URI.
        uri_at: usize,
        /// The version text, e.g. `SIP/2.0`.
        version: &'a [u8],
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response {
        /// The version text.
        version: &'a [u8],
        /// The status code, 100..=699.
        code: u16,
        /// The reason phrase (may be empty).
        reason: &'a [u8],
    },
}

/// A framed message whose content is not yet validated (stage 1). Typed views parse on demand.
#[derive(Clone, Copy, Debug)]
pub struct RawMessage<'a> {
    buf: &'a [u8],
    start: StartLine<'a>,
    headers: &'a [Header],
    index: [u8; NAME_COUNT],
    dup: Option<usize>,
    line_error: Option<ParseError>,
    content_length: Option<Result<usize, ParseError>>,
    body_at: usize,
    end: usize,
}

/// Parse and validate one message (both stages).
pub fn parse<'a>(buf: &'a [u8], headers: &'a mut [Header]) -> Result<Message<'a>, ParseError> {
    parse_raw(buf, headers)?.validate()
}

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
    let quick = find_name_end(buf, i).filter(|&e| e > i);
    if let Some(e) = quick {
        let name = HeaderName::from_buf(buf, i, e);
        if name != HeaderName::Other {
            return Ok((name, e));
        }
    }
    let end = token_end(buf, i);
    if end == i {
        if buf.get(i).is_some_and(|&b| is_ws(b) && b != b'\r') {
            return Err(ParseError::new(ErrorKind::BadHeaderLine, i));
        }
        return Err(incomplete_or(buf, i, ErrorKind::BadHeaderName));
    }
    let name = if quick == Some(end) {
        HeaderName::Other
    } else {
        HeaderName::from_bytes(&buf[i..end])
    };
    Ok((name, end))
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
        let code = super::chars::parse_digits(code_bytes, 699)
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
fn check_request_uri(uri: &[u8], at: usize) -> Result<(), ParseError> {
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

impl<'a> RawMessage<'a> {
    /// The whole buffer given to the parser.
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    /// Length of the message in the buffer (up to the end of its body).
    pub fn len(&self) -> usize {
        self.end
    }

    /// Never true: a parsed message has at least a start line.
    pub fn is_empty(&self) -> bool {
        self.end == 0
    }

    /// The start line.
    pub fn start(&self) -> StartLine<'a> {
        self.start
    }

    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, for requests.
    pub fn method(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code, for responses.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// Every header line, in order.
    pub fn headers(&self) -> impl Iterator<Item = HeaderRef<'a>> + '_ {
        self.headers.iter().map(|h| self.resolve(h))
    }

    /// Number of header lines.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    #[inline]
    fn resolve(&self, h: &Header) -> HeaderRef<'a> {
        let buf: &'a [u8] = self.buf;
        let name_at = h.name_at as usize;
        HeaderRef {
            name: h.name,
            raw_name: buf
                .get(name_at..name_at + h.name_len as usize)
                .unwrap_or(&[]),
            value: buf
                .get(h.value_at as usize..h.value_end as usize)
                .unwrap_or(&[]),
            at: h.value_at as usize,
        }
    }

    /// The first header with this (recognised) name.
    #[inline]
    pub fn header(&self, name: HeaderName) -> Option<HeaderRef<'a>> {
        match self.index[name as usize] {
            NONE => None,
            i => self.headers.get(i as usize).map(|h| self.resolve(h)),
        }
    }

    /// Every header line with this (recognised) name.
    pub fn headers_named(&self, name: HeaderName) -> impl Iterator<Item = HeaderRef<'a>> + '_ {
        let first = self.index[name as usize] as usize;
        self.headers
            .iter()
            .skip(first)
            .filter(move |h| h.name == name)
            .map(|h| self.resolve(h))
    }

    /// The first header whose name equals `name` case-insensitively (for extension headers).
    pub fn header_str(&self, name: &[u8]) -> Option<HeaderRef<'a>> {
        let known = HeaderName::from_bytes(name);
        if known != HeaderName::Other {
            return self.header(known);
        }
        self.headers()
            .find(|h| h.name == HeaderName::Other && h.raw_name.eq_ignore_ascii_case(name))
    }

    /// The body: `Content-Length` bytes after the header block (or the rest of the datagram
    /// when Content-Length is absent or does not fit).
    pub fn body(&self) -> &'a [u8] {
        self.buf.get(self.body_at..self.end).unwrap_or(&[])
    }

    /// Offset of the body in the buffer.
    pub fn body_at(&self) -> usize {
        self.body_at
    }

    /// Every comma-separated element of every header line with this name.
    pub fn values(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Result<(&'a [u8], usize), ParseError>> + '_ {
        self.headers_named(name)
            .flat_map(|h| ListIter::new(h.value, h.at))
    }

    /// The top Via value.
    #[inline(always)]
    pub fn via(&self) -> Result<Via<'a>, ParseError> {
        match self.header(HeaderName::Via) {
            Some(h) => Via::parse_item(h.value, h.at, true).map(|(v, _)| v),
            None => Err(ParseError::new(ErrorKind::MissingVia, self.body_at)),
        }
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> Items<'_, 'a, Via<'a>> {
        Items::new(self, HeaderName::Via, |s, at| Via::parse_item(s, at, true))
    }

    /// The From value.
    #[inline(always)]
    pub fn from(&self) -> Result<NameAddr<'a>, ParseError> {
        self.name_addr(HeaderName::From, ErrorKind::MissingFrom)
    }

    /// The To value.
    #[inline(always)]
    pub fn to(&self) -> Result<NameAddr<'a>, ParseError> {
        self.name_addr(HeaderName::To, ErrorKind::MissingTo)
    }

    #[inline(always)]
    fn name_addr(&self, name: HeaderName, missing: ErrorKind) -> Result<NameAddr<'a>, ParseError> {
        let h = self
            .header(name)
            .ok_or(ParseError::new(missing, self.body_at))?;
        NameAddr::parse(h.value, h.at)
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&'a [u8], ParseError> {
        let h = self
            .header(HeaderName::CallId)
            .ok_or(ParseError::new(ErrorKind::MissingCallId, self.body_at))?;
        check_call_id(h.value, h.at)
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq<'a>, ParseError> {
        let h = self
            .header(HeaderName::CSeq)
            .ok_or(ParseError::new(ErrorKind::MissingCSeq, self.body_at))?;
        CSeq::parse(h.value, h.at)
    }

    /// Every Contact element (`*` or an address), across all Contact lines.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact<'a>, ParseError>> + '_ {
        self.values(HeaderName::Contact)
            .map(|r| r.and_then(|(v, at)| Contact::parse(v, at)))
    }

    /// The Expires header, if present.
    pub fn expires(&self) -> Option<Result<u32, ParseError>> {
        self.header(HeaderName::Expires)
            .map(|h| parse_expires(h.value, h.at))
    }

    /// The Content-Length header, if present.
    pub fn content_length(&self) -> Option<Result<usize, ParseError>> {
        self.content_length
    }

    /// The Content-Type header, if present.
    pub fn content_type(&self) -> Option<Result<MediaType<'a>, ParseError>> {
        self.header(HeaderName::ContentType)
            .map(|h| MediaType::parse(h.value, h.at))
    }

    /// The Max-Forwards header, if present.
    pub fn max_forwards(&self) -> Option<Result<u8, ParseError>> {
        self.header(HeaderName::MaxForwards)
            .map(|h| parse_max_forwards(h.value, h.at))
    }

    /// The Request-URI, parsed (requests only).
    pub fn request_uri(&self) -> Option<Result<Uri<'a>, ParseError>> {
        match self.start {
            StartLine::Request { uri, uri_at, .. } => Some(Uri::parse(uri, uri_at).map_err(|e| {
                if e.kind == ErrorKind::BadUri {
                    ParseError::new(ErrorKind::BadRequestUri, e.at)
                } else {
                    e
                }
            })),
            StartLine::Response { .. } => None,
        }
    }

    /// Stage 2: check what RFC 3261 requires of every message (see the module docs) and parse
    /// the views the server reads on every message.
    pub fn validate(self) -> Result<Message<'a>, ParseError> {
        if let Some(e) = self.line_error {
            return Err(e);
        }
        let (version, version_at) = match self.start {
            StartLine::Request {
                version,
                uri_at,
                uri,
                ..
            } => (version, uri_at + uri.len() + 1),
            StartLine::Response { version, .. } => (version, 0),
        };
        if version != b"SIP/2.0" && !version.eq_ignore_ascii_case(b"SIP/2.0") {
            return Err(ParseError::new(
                ErrorKind::VersionNotSupported,
                version_at.min(self.body_at),
            ));
        }
        let at_end = self.body_at;
        let need = |name: HeaderName, kind: ErrorKind| -> Result<(), ParseError> {
            if self.index[name as usize] == NONE {
                Err(ParseError::new(kind, at_end))
            } else {
                Ok(())
            }
        };
        need(HeaderName::Via, ErrorKind::MissingVia)?;
        need(HeaderName::From, ErrorKind::MissingFrom)?;
        need(HeaderName::To, ErrorKind::MissingTo)?;
        need(HeaderName::CallId, ErrorKind::MissingCallId)?;
        need(HeaderName::CSeq, ErrorKind::MissingCSeq)?;
        if self.is_request() {
            need(HeaderName::MaxForwards, ErrorKind::MissingMaxForwards)?;
        }
        if let Some(d) = self.dup {
            let h = self.resolve(&self.headers[d]);
            let first = self.header(h.name).map(|f| f.value);
            if first != Some(h.value) {
                return Err(ParseError::new(ErrorKind::DuplicateHeader, h.at));
            }
        }
        if let Some(cl) = self.content_length() {
            let cl = cl?;
            if self
                .body_at
                .checked_add(cl)
                .is_none_or(|end| end > self.buf.len())
            {
                return Err(ParseError::new(ErrorKind::BodyTooShort, self.buf.len()));
            }
        }
        let call_id = self.call_id()?;
        let cseq = self.cseq()?;
        if let StartLine::Request { method, .. } = self.start {
            if cseq.method != method {
                let at = self.header(HeaderName::CSeq).map_or(0, |h| h.at);
                return Err(ParseError::new(ErrorKind::CSeqMethodMismatch, at));
            }
            if let Some(mf) = self.max_forwards() {
                mf?;
            }
            if let StartLine::Request { uri, uri_at, .. } = self.start {
                check_request_uri(uri, uri_at)?;
            }
        }
        let via = self.via()?;
        let from = self.from()?;
        let to = self.to()?;
        Ok(Message {
            raw: self,
            via,
            from,
            to,
            call_id,
            cseq,
        })
    }
}

/// Parses one element of a comma-separated header value; returns it and where it ends.
type ItemParser<'a, T> = fn(&'a [u8], usize) -> Result<(T, usize), ParseError>;

/// Iterator over the elements of every header line with one name (Via, Contact), each parsed
/// in place. After an error it ends.
pub struct Items<'m, 'a, T> {
    msg: &'m RawMessage<'a>,
    name: HeaderName,
    next_header: usize,
    cur: &'a [u8],
    cur_at: usize,
    pos: usize,
    parse: ItemParser<'a, T>,
    done: bool,
}

impl<'m, 'a, T> Items<'m, 'a, T> {
    fn new(msg: &'m RawMessage<'a>, name: HeaderName, parse: ItemParser<'a, T>) -> Self {
        let first = msg.index[name as usize] as usize;
        Items {
            msg,
            name,
            next_header: first,
            cur: &[],
            cur_at: 0,
            pos: 0,
            parse,
            done: first == NONE as usize,
        }
    }
}

impl<'a, T> Iterator for Items<'_, 'a, T> {
    type Item = Result<T, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.pos = skip_ws(self.cur, self.pos);
            if self.pos >= self.cur.len() {
                let headers = self.msg.headers;
                match headers
                    .iter()
                    .skip(self.next_header)
                    .position(|h| h.name == self.name)
                {
                    Some(off) => {
                        let h = self.msg.resolve(&headers[self.next_header + off]);
                        self.next_header += off + 1;
                        self.cur = h.value;
                        self.cur_at = h.at;
                        self.pos = 0;
                        if h.value.is_empty() {
                            self.done = true;
                            return Some(Err(ParseError::new(ErrorKind::BadHeaderLine, h.at)));
                        }
                        continue;
                    }
                    None => {
                        self.done = true;
                        return None;
                    }
                }
            }
            let rest = &self.cur[self.pos..];
            return match (self.parse)(rest, self.cur_at + self.pos) {
                Ok((item, end)) => {
                    self.pos += end;
                    if self.pos < self.cur.len() {
                        self.pos += 1; // the comma
                    }
                    Some(Ok(item))
                }
                Err(e) => {
                    self.done = true;
                    Some(Err(e))
                }
            };
        }
    }
}

/// A validated message: the raw message plus the views every handler reads.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    raw: RawMessage<'a>,
    via: Via<'a>,
    from: NameAddr<'a>,
    to: NameAddr<'a>,
    call_id: &'a [u8],
    cseq: CSeq<'a>,
}

impl<'a> Message<'a> {
    /// The raw message, for headers and views not kept here.
    pub fn raw(&self) -> &RawMessage<'a> {
        &self.raw
    }
    /// The top Via.
    pub fn via(&self) -> &Via<'a> {
        &self.via
    }
    /// From.
    pub fn from(&self) -> &NameAddr<'a> {
        &self.from
    }
    /// To.
    pub fn to(&self) -> &NameAddr<'a> {
        &self.to
    }
    /// Call-ID.
    pub fn call_id(&self) -> &'a [u8] {
        self.call_id
    }
    /// CSeq.
    pub fn cseq(&self) -> CSeq<'a> {
        self.cseq
    }
    /// The start line.
    pub fn start(&self) -> StartLine<'a> {
        self.raw.start
    }
    /// True for requests.
    pub fn is_request(&self) -> bool {
        self.raw.is_request()
    }
    /// The request method, for requests.
    pub fn method(&self) -> Option<&'a [u8]> {
        self.raw.method()
    }
    /// The status code, for responses.
    pub fn status(&self) -> Option<u16> {
        self.raw.status()
    }
    /// The body.
    pub fn body(&self) -> &'a [u8] {
        self.raw.body()
    }
    /// The first header with this name.
    pub fn header(&self, name: HeaderName) -> Option<HeaderRef<'a>> {
        self.raw.header(name)
    }

    /// Parse every other view the server may read (Contact, Expires, Content-Type, every Via),
    /// reporting the first malformed one. `sippush parse` uses it to decide validity.
    pub fn check_all_views(&self) -> Result<(), ParseError> {
        for v in self.raw.vias() {
            v?;
        }
        for c in self.raw.contacts() {
            if let Some(e) = c?.expires() {
                e?;
            }
        }
        if let Some(e) = self.raw.expires() {
            e?;
        }
        if let Some(c) = self.raw.content_type() {
            c?;
        }
        Ok(())
    }
}

/// True when `s` is a valid method name (a token).
pub fn is_method(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}
