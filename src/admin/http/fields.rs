//! Reading the header fields that decide how a request is framed and whether the connection
//! persists: `Content-Length` (RFC 9110 §8.6), `Transfer-Encoding` (RFC 9112 §6.1, §6.3),
//! `Connection` (RFC 9112 §9.6), `Host` (RFC 9112 §3.2) and `Expect` (RFC 9110 §10.1.1).
//!
//! Owns the rules only; the values come from httparse's already tokenised fields. Ambiguous
//! framing is always an error (never a guess), because a guess is how request smuggling starts.

use super::chunked::ChunkedDecoder;
use super::error::HttpError;
use super::request::Version;

/// How the body of the current request is delimited.
#[derive(Clone, Copy, Debug)]
pub(super) enum Framing {
    /// Exactly this many bytes (0 when neither header is present).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

pub(super) fn trim_ows(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    v.get(start..end).unwrap_or(&[])
}

/// Comma-separated list elements, trimmed, empty ones skipped (RFC 9110 §5.6.1).
fn list_items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|i| !i.is_empty())
}

/// `Content-Length` value: one or more identical decimal numbers (RFC 9110 §8.6). Saturates so
/// absurd lengths become 413 rather than 400.
fn parse_content_length(v: &[u8]) -> Result<u64, HttpError> {
    let mut found: Option<u64> = None;
    for item in v.split(|&b| b == b',').map(trim_ows) {
        if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
            return Err(HttpError::InvalidContentLength);
        }
        let n = item.iter().fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        });
        match found {
            Some(prev) if prev != n => return Err(HttpError::InvalidContentLength),
            _ => found = Some(n),
        }
    }
    found.ok_or(HttpError::InvalidContentLength)
}

/// httparse reports any bad version token the same way; only `HTTP/x.y` deserves a 505.
pub(super) fn version_error(input: &[u8]) -> HttpError {
    let line_end = input
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(input.len());
    let line = input.get(..line_end).unwrap_or(&[]);
    if line.windows(6).any(|w| w == b" HTTP/") {
        HttpError::VersionNotSupported
    } else {
        HttpError::Malformed
    }
}

/// Header fields that decide framing and connection handling, gathered in one pass.
#[derive(Default)]
pub(super) struct FieldSummary {
    content_length: Option<u64>,
    transfer_codings: usize,
    chunked_count: usize,
    chunked_last: bool,
    unknown_coding: bool,
    conn_close: bool,
    conn_keep_alive: bool,
    host_count: usize,
    expect_continue: bool,
}

impl FieldSummary {
    pub(super) fn add(&mut self, name: &str, value: &[u8]) -> Result<(), HttpError> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("content-length") {
            let n = parse_content_length(value)?;
            match self.content_length {
                Some(prev) if prev != n => return Err(HttpError::InvalidContentLength),
                _ => self.content_length = Some(n),
            }
        } else if is("transfer-encoding") {
            for coding in list_items(value) {
                self.transfer_codings += 1;
                self.chunked_last = coding.eq_ignore_ascii_case(b"chunked");
                if self.chunked_last {
                    self.chunked_count += 1;
                } else {
                    self.unknown_coding = true;
                }
            }
        } else if is("connection") {
            for option in list_items(value) {
                self.conn_close |= option.eq_ignore_ascii_case(b"close");
                self.conn_keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if is("host") {
            self.host_count += 1;
        } else if is("expect") {
            if !value.eq_ignore_ascii_case(b"100-continue") {
                return Err(HttpError::ExpectationFailed);
            }
            self.expect_continue = true;
        }
        Ok(())
    }

    /// Checks the fields against each other and the version and decides the framing and
    /// persistence of the request.
    pub(super) fn decide(&self, version: Version, max_body: usize) -> Result<Decision, HttpError> {
        if self.host_count > 1 || (version == Version::Http11 && self.host_count == 0) {
            return Err(HttpError::InvalidHost);
        }
        let framing = self.framing(version, max_body)?;
        let keep_alive = match version {
            Version::Http11 => !self.conn_close,
            Version::Http10 => self.conn_keep_alive && !self.conn_close,
        };
        Ok(Decision {
            framing,
            keep_alive,
            content_length: self.content_length,
            // RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0 clients.
            expect_continue: self.expect_continue && version == Version::Http11,
        })
    }

    /// Applies RFC 9112 §6.1/§6.3 to choose the body framing.
    fn framing(&self, version: Version, max_body: usize) -> Result<Framing, HttpError> {
        if self.transfer_codings > 0 {
            if self.unknown_coding {
                return Err(HttpError::UnsupportedTransferCoding);
            }
            if version == Version::Http10
                || self.content_length.is_some()
                || self.chunked_count != 1
                || !self.chunked_last
            {
                return Err(HttpError::InvalidFraming);
            }
            return Ok(Framing::Chunked(ChunkedDecoder::new()));
        }
        let len = self.content_length.unwrap_or(0);
        match usize::try_from(len) {
            Ok(n) if n <= max_body => Ok(Framing::Length(n)),
            _ => Err(HttpError::BodyTooLarge),
        }
    }
}

/// What the header fields decided about one request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Decision {
    pub(super) framing: Framing,
    pub(super) keep_alive: bool,
    pub(super) content_length: Option<u64>,
    /// Send `100 Continue` before the body (HTTP/1.1 only).
    pub(super) expect_continue: bool,
}
