//! Sans-I/O HTTP/1.1 server side of one admin connection (RFC 9112 message framing).
//!
//! Owns: one connection's input buffer, the request currently being framed, and the output
//! buffer. It never touches a socket or a clock: the shell copies received bytes in with
//! [`HttpConn::read_buf`]/[`HttpConn::received`], takes complete requests from
//! [`HttpConn::poll_request`], answers each with exactly one [`HttpConn::respond`] and drains
//! [`HttpConn::pending_output`].
//!
//! Invariants:
//! - Memory is bounded: input holds at most `max_header_bytes + max_body_bytes` plus one read
//!   chunk ([`Limits::input_capacity`]); a `Content-Length` over the body limit is refused before
//!   any body byte is read; chunked framing overhead never accumulates (see `chunked`); no new
//!   request is parsed while more than `max_pending_output` bytes wait to be sent, so a client
//!   that pipelines without reading cannot grow the output without bound.
//! - Requests are answered strictly in order (pipelining, RFC 9112 §9.3.2): the next request is
//!   framed only after the current one was answered.
//! - Any framing error ends the connection: `poll_request` returns the error once, the caller
//!   sends `HttpError::response()`, and nothing further is read or parsed.
//! - No input can make this module panic; offsets into the buffer are checked on every access.

mod chunked;
mod error;
mod fields;
mod query;
mod request;
mod response;

pub use error::HttpError;
pub use query::{QueryError, QueryPairs, percent_decode, query_pairs, validate_query};
pub use request::{HeaderIter, Request, Version};
pub use response::{JSON, Response, TEXT, reason_phrase};

pub(crate) use response::{RenderMode, render};

use fields::{FieldSummary, Framing, trim_ows, version_error};
use request::{HeaderSpan, Span};

/// Header fields parsed per request; more is a 431.
pub const MAX_HEADERS: usize = 32;

/// Input is read in at least this many bytes; it also covers a partial chunk-size line.
const READ_CHUNK: usize = 4096;
/// Idle buffers larger than this are released so parked connections stay small.
const SHRINK_ABOVE: usize = 16 * 1024;

/// Per-connection bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line plus header block (431 beyond it). Also bounds chunked trailers.
    pub max_header_bytes: usize,
    /// Largest body, after de-chunking (413 beyond it).
    pub max_body_bytes: usize,
    /// Pending response bytes above which no further pipelined request is parsed.
    pub max_pending_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 8 * 1024,
            max_body_bytes: 64 * 1024,
            max_pending_output: 64 * 1024,
        }
    }
}

impl Limits {
    /// The most input a connection ever buffers.
    pub fn input_capacity(&self) -> usize {
        self.max_header_bytes
            .saturating_add(self.max_body_bytes)
            .saturating_add(READ_CHUNK)
    }
}

/// What the header block decided about the request, with offsets relative to its first byte.
#[derive(Clone, Copy, Debug)]
struct Head {
    len: usize,
    method: Span,
    target: Span,
    version: Version,
    keep_alive: bool,
    is_head: bool,
    content_length: Option<u64>,
    chunked: bool,
    header_count: usize,
    /// `Expect: 100-continue` on HTTP/1.1 and the interim response not sent yet.
    continue_pending: bool,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for a complete header block.
    Head,
    /// Header block accepted, body incomplete.
    Body(Head, Framing),
    /// A complete request (header block, then `body_len` body bytes) awaits `respond`.
    Ready(Head, usize),
    /// A framing error was reported; nothing more is parsed.
    Failed,
}

/// One server-side HTTP/1.x connection, without I/O.
#[derive(Debug)]
pub struct HttpConn {
    limits: Limits,
    /// `input[start..end]` is received, unconsumed data; it begins with the current request.
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// Buffered length at the last incomplete header parse, to skip re-parsing unchanged input.
    partial_len: usize,
    headers: [HeaderSpan; MAX_HEADERS],
    phase: Phase,
    output: Vec<u8>,
    out_pos: usize,
    close_after_output: bool,
}

impl HttpConn {
    /// A connection with the given bounds and empty buffers (nothing is allocated until used).
    pub fn new(limits: Limits) -> Self {
        HttpConn {
            limits,
            input: Vec::new(),
            start: 0,
            end: 0,
            partial_len: 0,
            headers: [HeaderSpan::default(); MAX_HEADERS],
            phase: Phase::Head,
            output: Vec::new(),
            out_pos: 0,
            close_after_output: false,
        }
    }

    /// The bounds this connection enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Space to read into; report what was filled with [`HttpConn::received`]. Empty when the
    /// input buffer is full (answer pending requests first) or the connection is closing.
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.wants_close() {
            return &mut [];
        }
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.input.len().saturating_sub(self.end) < READ_CHUNK {
            if self.start > 0 {
                self.input.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let cap = self.limits.input_capacity();
            if self.input.len().saturating_sub(self.end) < READ_CHUNK && self.input.len() < cap {
                let want = (self.end + READ_CHUNK)
                    .max(self.input.len().saturating_mul(2))
                    .min(cap);
                self.input.resize(want, 0);
            }
        }
        self.input.get_mut(self.end..).unwrap_or_default()
    }

    /// Records that the first `n` bytes of the last [`HttpConn::read_buf`] were filled.
    pub fn received(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(self.input.len());
    }

    /// Copies as much of `bytes` as fits into the input buffer; returns how many were taken.
    pub fn receive(&mut self, mut bytes: &[u8]) -> usize {
        let mut taken = 0;
        while !bytes.is_empty() {
            let buf = self.read_buf();
            let n = buf.len().min(bytes.len());
            if n == 0 {
                break;
            }
            let (now, later) = bytes.split_at(n);
            if let Some(dst) = buf.get_mut(..n) {
                dst.copy_from_slice(now);
            }
            self.received(n);
            bytes = later;
            taken += n;
        }
        taken
    }

    /// The next complete request, `Ok(None)` if more input (or less pending output) is needed,
    /// or the framing error to answer with `err.response()`. Returns the same request until it
    /// is answered with [`HttpConn::respond`]. May queue a `100 Continue` into the output.
    pub fn poll_request(&mut self) -> Result<Option<Request<'_>>, HttpError> {
        if self.close_after_output {
            return Ok(None);
        }
        match self.advance() {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => {
                self.phase = Phase::Failed;
                return Err(e);
            }
        }
        if self.ready_request().is_none() {
            // Unreachable by construction; fail closed rather than report "incomplete" forever.
            self.phase = Phase::Failed;
            return Err(HttpError::Malformed);
        }
        Ok(self.ready_request())
    }

    /// Moves the framing state forward; true when a complete request is ready.
    fn advance(&mut self) -> Result<bool, HttpError> {
        loop {
            match self.phase {
                Phase::Failed => return Ok(false),
                Phase::Ready(..) => return Ok(true),
                Phase::Head => {
                    if self.pending_output().len() > self.limits.max_pending_output {
                        return Ok(false);
                    }
                    match self.parse_head()? {
                        Some((head, framing)) => self.phase = Phase::Body(head, framing),
                        None => return Ok(false),
                    }
                }
                Phase::Body(mut head, framing) => {
                    let body_start = self.start.saturating_add(head.len);
                    let (framing, complete) = match framing {
                        Framing::Length(n) => {
                            let have = self.end.saturating_sub(body_start);
                            (Framing::Length(n), (have >= n).then_some(n))
                        }
                        Framing::Chunked(mut dec) => {
                            let window = self
                                .input
                                .get_mut(body_start..self.end)
                                .ok_or(HttpError::Malformed)?;
                            let kept = dec.decode(
                                window,
                                self.limits.max_body_bytes,
                                self.limits.max_header_bytes,
                            )?;
                            self.end = body_start + kept;
                            let done = dec.is_done().then_some(dec.body_len());
                            (Framing::Chunked(dec), done)
                        }
                    };
                    if let Some(body_len) = complete {
                        self.phase = Phase::Ready(head, body_len);
                        return Ok(true);
                    }
                    if head.continue_pending {
                        head.continue_pending = false;
                        self.output.extend_from_slice(response::CONTINUE);
                    }
                    self.phase = Phase::Body(head, framing);
                    return Ok(false);
                }
            }
        }
    }

    /// Parses the header block at `start`, if complete.
    fn parse_head(&mut self) -> Result<Option<(Head, Framing)>, HttpError> {
        let buffered = self.end.saturating_sub(self.start);
        if buffered == 0 || buffered == self.partial_len {
            return Ok(None);
        }
        let input = self.input.get(self.start..self.end).unwrap_or(&[]);
        let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut raw);
        let len = match req.parse(input) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                if buffered >= self.limits.max_header_bytes {
                    return Err(HttpError::HeaderTooLarge);
                }
                self.partial_len = buffered;
                return Ok(None);
            }
            Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
            Err(httparse::Error::Version) => return Err(version_error(input)),
            Err(_) => return Err(HttpError::Malformed),
        };
        self.partial_len = 0;
        if len > self.limits.max_header_bytes {
            return Err(HttpError::HeaderTooLarge);
        }
        let version = match req.version {
            Some(0) => Version::Http10,
            _ => Version::Http11,
        };
        let method = req.method.unwrap_or("");
        let mut fields = FieldSummary::default();
        for (slot, h) in self.headers.iter_mut().zip(req.headers.iter()) {
            let value = trim_ows(h.value);
            fields.add(h.name, value)?;
            *slot = HeaderSpan {
                name: Span::within(input, h.name.as_bytes()),
                value: Span::within(input, value),
            };
        }
        let decision = fields.decide(version, self.limits.max_body_bytes)?;
        let head = Head {
            len,
            method: Span::within(input, method.as_bytes()),
            target: Span::within(input, req.path.unwrap_or("").as_bytes()),
            version,
            keep_alive: decision.keep_alive,
            is_head: method == "HEAD",
            content_length: decision.content_length,
            chunked: matches!(decision.framing, Framing::Chunked(_)),
            header_count: req.headers.len().min(MAX_HEADERS),
            continue_pending: decision.expect_continue,
        };
        Ok(Some((head, decision.framing)))
    }

    fn ready_request(&self) -> Option<Request<'_>> {
        let Phase::Ready(head, body_len) = self.phase else {
            return None;
        };
        let buf = self.input.get(self.start..self.end)?;
        let head_bytes = buf.get(..head.len)?;
        Some(Request {
            method: std::str::from_utf8(head.method.of(head_bytes)).ok()?,
            target: std::str::from_utf8(head.target.of(head_bytes)).ok()?,
            version: head.version,
            keep_alive: head.keep_alive,
            head: head_bytes,
            headers: self.headers.get(..head.header_count)?,
            body: buf.get(head.len..head.len.checked_add(body_len)?)?,
            content_length: head.content_length,
            chunked: head.chunked,
        })
    }

    /// Queues `resp` as the answer to the request last returned by `poll_request` (or to the
    /// error it returned) and consumes that request. Called without a pending request (e.g. a
    /// 503 or 408 chosen by the shell) the response is sent and the connection closes, since
    /// it cannot be matched to a request.
    pub fn respond(&mut self, resp: &Response) {
        let mode = match self.phase {
            Phase::Ready(head, body_len) => {
                self.start = self
                    .start
                    .saturating_add(head.len)
                    .saturating_add(body_len)
                    .min(self.end);
                self.phase = Phase::Head;
                self.partial_len = 0;
                RenderMode {
                    head: head.is_head,
                    close: !head.keep_alive || resp.close,
                    keep_alive_10: head.version == Version::Http10 && head.keep_alive,
                }
            }
            Phase::Head | Phase::Body(..) | Phase::Failed => RenderMode {
                close: true,
                ..RenderMode::default()
            },
        };
        render(&mut self.output, resp, mode);
        if mode.close {
            self.close_after_output = true;
        }
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
            if self.input.len() > SHRINK_ABOVE {
                self.input = Vec::new();
            }
        }
    }

    /// Bytes waiting to be written to the socket.
    pub fn pending_output(&self) -> &[u8] {
        self.output.get(self.out_pos..).unwrap_or(&[])
    }

    /// Records that the first `n` bytes of [`HttpConn::pending_output`] were written.
    pub fn consumed_output(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.output.len());
        if self.out_pos == self.output.len() {
            self.output.clear();
            self.out_pos = 0;
            if self.output.capacity() > SHRINK_ABOVE {
                self.output = Vec::new();
            }
        }
    }

    /// True once the connection must close after [`HttpConn::pending_output`] is flushed: a
    /// response with `Connection: close` was queued or a framing error was reported.
    pub fn wants_close(&self) -> bool {
        self.close_after_output || matches!(self.phase, Phase::Failed)
    }

    /// True while part of a request is buffered (a reason to answer 408 rather than close
    /// silently on timeout).
    pub fn has_partial_input(&self) -> bool {
        self.end > self.start
    }
}

#[cfg(test)]
mod tests;
