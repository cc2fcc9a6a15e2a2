//! Stage 2 of the message parser (see the parent module): what every request and response
//! must carry, and the views every handler reads, kept in a [`Message`].
//!
//! The Via, From and To parsers are inlined into [`RawMessage::validate`] (they are
//! `#[inline(always)]`): returned out of line, each view (40 to 100 bytes) came back through
//! memory and was copied on at other offsets at once, and those loads waited on the stores
//! (store-forwarding stalls were most of stage 2's time under `perf`).

use super::super::error::{ErrorKind, ParseError};
use super::super::name::HeaderName;
use super::super::nameaddr::NameAddr;
use super::super::values::CSeq;
use super::super::via::Via;
use super::lines::check_request_uri;
use super::{HeaderRef, NONE, RawMessage, StartLine};

impl<'a> RawMessage<'a> {
    /// Stage 2: check what RFC 3261 requires of every message (see the module docs) and parse
    /// the views the server reads on every message.
    pub fn validate(self) -> Result<Message<'a>, ParseError> {
        let (call_id, cseq) = self.check_common()?;
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

    /// The lighter stage 2 a transaction user needs to match a response to its request
    /// (RFC 3261 §17.1.3: top Via branch and CSeq method): every check of
    /// [`RawMessage::validate`] except the parsing of From and To, whose presence is still
    /// required (§18.1.2 discards responses missing required headers). Returns the top Via and
    /// the CSeq.
    pub fn check_response(&self) -> Result<(Via<'a>, CSeq<'a>), ParseError> {
        let (_, cseq) = self.check_common()?;
        Ok((self.via()?, cseq))
    }

    /// The checks shared by [`RawMessage::validate`] and [`RawMessage::check_response`]:
    /// version, required headers, duplicates, Content-Length, Call-ID, CSeq (and its method,
    /// Max-Forwards and the Request-URI for requests).
    fn check_common(&self) -> Result<(&'a [u8], CSeq<'a>), ParseError> {
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
        Ok((call_id, cseq))
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
