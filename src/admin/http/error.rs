//! Why a request could not be framed: one `Copy` variant per failure, each with a status code
//! and a static reason used as the JSON error body.
//!
//! Every error closes the connection after its response: once framing is in doubt the next
//! request's first byte cannot be found safely (RFC 9112 §9.6, §11.2).

use std::fmt;

use super::response::Response;
use crate::json::JsonWriter;

/// A request the connection refuses; the connection closes after the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// Request line or header syntax that httparse rejects (400).
    Malformed,
    /// A request-target or header that is not valid UTF-8 where text is required (400).
    InvalidEncoding,
    /// A `Content-Length` that is not digits, or several that disagree (400).
    InvalidContentLength,
    /// Both `Transfer-Encoding` and `Content-Length`, or `Transfer-Encoding` in HTTP/1.0, or
    /// `chunked` not the final coding (400, RFC 9112 §6.1, §6.3).
    InvalidFraming,
    /// A chunked body that breaks RFC 9112 §7.1 syntax (400).
    InvalidChunk,
    /// An HTTP/1.1 request without exactly one `Host` header (400, RFC 9112 §3.2).
    InvalidHost,
    /// A body larger than the configured limit (413), detected before the body is read
    /// whenever `Content-Length` announces it.
    BodyTooLarge,
    /// A header block (or chunked trailer section) larger than the configured limit (431).
    HeaderTooLarge,
    /// More header fields than the parser's fixed array holds (431).
    TooManyHeaders,
    /// An `Expect` other than `100-continue` (417, RFC 9110 §10.1.1).
    ExpectationFailed,
    /// A transfer coding other than `chunked` (501, RFC 9112 §6.1).
    UnsupportedTransferCoding,
    /// A protocol version other than HTTP/1.0 or HTTP/1.1 (505).
    VersionNotSupported,
}

impl HttpError {
    /// The status code sent for this error.
    pub fn status(self) -> u16 {
        match self {
            HttpError::Malformed
            | HttpError::InvalidEncoding
            | HttpError::InvalidContentLength
            | HttpError::InvalidFraming
            | HttpError::InvalidChunk
            | HttpError::InvalidHost => 400,
            HttpError::BodyTooLarge => 413,
            HttpError::ExpectationFailed => 417,
            HttpError::HeaderTooLarge | HttpError::TooManyHeaders => 431,
            HttpError::UnsupportedTransferCoding => 501,
            HttpError::VersionNotSupported => 505,
        }
    }

    /// A static, client-facing description.
    pub fn reason(self) -> &'static str {
        match self {
            HttpError::Malformed => "malformed request",
            HttpError::InvalidEncoding => "request is not valid UTF-8",
            HttpError::InvalidContentLength => "invalid content-length",
            HttpError::InvalidFraming => "invalid message framing",
            HttpError::InvalidChunk => "malformed chunked body",
            HttpError::InvalidHost => "missing or duplicate host header",
            HttpError::BodyTooLarge => "request body too large",
            HttpError::HeaderTooLarge => "request header too large",
            HttpError::TooManyHeaders => "too many header fields",
            HttpError::ExpectationFailed => "unsupported expectation",
            HttpError::UnsupportedTransferCoding => "unsupported transfer-encoding",
            HttpError::VersionNotSupported => "http version not supported",
        }
    }

    /// The response to send: `{"error":"<reason>"}` with `Connection: close`.
    pub fn response(self) -> Response {
        let mut body = Vec::with_capacity(64);
        let mut w = JsonWriter::new(&mut body);
        w.begin_object()
            .key("error")
            .string(self.reason())
            .end_object();
        Response::json(self.status(), body).closing()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for HttpError {}
