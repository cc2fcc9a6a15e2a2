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
//!
//! Stage 1 lives in `lines`, stage 2 in `validate`; this file holds the types and the views
//! parsed on demand.

mod lines;
mod validate;

pub use lines::parse_raw;
pub use validate::Message;

use super::chars::{is_token, skip_ws};
use super::error::{ErrorKind, ParseError};
use super::name::{HeaderName, NAME_COUNT};
use super::nameaddr::{Contact, NameAddr};
use super::params::ListIter;
use super::uri::Uri;
use super::values::{CSeq, MediaType, check_call_id, parse_expires, parse_max_forwards};
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
    pub fn contacts(&self) -> Items<'_, 'a, Contact<'a>> {
        Items::new(self, HeaderName::Contact, Contact::parse_item)
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

/// True when `s` is a valid method name (a token).
pub fn is_method(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_token(b))
}
