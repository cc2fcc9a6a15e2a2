//! Responses the server core hands back, and their rendering into HTTP/1.1 bytes
//! (RFC 9112 §4 status line, RFC 9110 §8.6 Content-Length, §15 status codes).
//!
//! Owns: the framing headers. `Content-Length` and `Connection` are always written here and
//! never copied from the caller's extra headers, so a handler cannot desynchronise framing or
//! inject header lines (extra headers with CR/LF/NUL or a non-token name are dropped).

use std::io::Write as _;

/// A response chosen by the server core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code, 200..=999; anything else is sent as 500.
    pub status: u16,
    /// `Content-Type` value; omitted when empty.
    pub content_type: &'static str,
    /// The body; not sent for HEAD requests or 204/304 responses.
    pub body: Vec<u8>,
    /// Extra header fields such as `WWW-Authenticate`, `Allow`, `Retry-After`, `Location`.
    pub headers: Vec<(&'static str, String)>,
    /// Close the connection after this response even if the request allowed keep-alive.
    pub close: bool,
}

/// `Content-Type` for JSON bodies.
pub const JSON: &str = "application/json";
/// `Content-Type` for plain text bodies.
pub const TEXT: &str = "text/plain; charset=utf-8";

impl Response {
    /// A response with the given body.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
            close: false,
        }
    }

    /// An `application/json` response.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response::new(status, JSON, body)
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response::new(status, TEXT, body)
    }

    /// A response without body or content type.
    pub fn empty(status: u16) -> Self {
        Response::new(status, "", Vec::new())
    }

    /// Adds an extra header field.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Marks the connection to close after this response.
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }
}

/// The standard reason phrase for `status`, or `""` for codes without one.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// How the request being answered shapes the rendering.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RenderMode {
    /// The request was HEAD: send headers only.
    pub head: bool,
    /// Send `Connection: close`.
    pub close: bool,
    /// HTTP/1.0 request that negotiated keep-alive: say so, since 1.0 defaults to close.
    pub keep_alive_10: bool,
}

/// The interim response sent for `Expect: 100-continue` (RFC 9110 §10.1.1).
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn is_reserved(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "content-type",
    ]
    .iter()
    .any(|r| name.eq_ignore_ascii_case(r))
}

/// Appends `resp` as HTTP/1.1 bytes to `out`.
pub(crate) fn render(out: &mut Vec<u8>, resp: &Response, mode: RenderMode) {
    let status = if (200..=999).contains(&resp.status) {
        resp.status
    } else {
        log::warn!(
            "admin: handler returned status {}, sending 500",
            resp.status
        );
        500
    };
    // RFC 9110 §6.4.1: 204 and 304 never carry content; 204 must not send Content-Length.
    let bodyless = status == 204 || status == 304;
    let _ = write!(out, "HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    if !bodyless {
        if !resp.content_type.is_empty() && is_field_value(resp.content_type) {
            let _ = write!(out, "Content-Type: {}\r\n", resp.content_type);
        }
        let _ = write!(out, "Content-Length: {}\r\n", resp.body.len());
    }
    for (name, value) in &resp.headers {
        if !is_token(name) || !is_field_value(value) || is_reserved(name) {
            log::debug!("admin: dropping invalid or reserved response header {name:?}");
            continue;
        }
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if mode.close || resp.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if mode.keep_alive_10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !mode.head && !bodyless {
        out.extend_from_slice(&resp.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(resp: &Response, mode: RenderMode) -> String {
        let mut out = Vec::new();
        render(&mut out, resp, mode);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn renders_status_headers_and_body() {
        let resp = Response::json(401, "{}").with_header("WWW-Authenticate", "Bearer");
        assert_eq!(
            rendered(&resp, RenderMode::default()),
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nWWW-Authenticate: Bearer\r\n\r\n{}"
        );
    }

    #[test]
    fn head_keeps_length_but_drops_body() {
        let resp = Response::text(200, "hello");
        let mode = RenderMode {
            head: true,
            close: true,
            keep_alive_10: false,
        };
        assert_eq!(
            rendered(&resp, mode),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 5\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn keep_alive_for_http10_and_closing_flag() {
        let mode = RenderMode {
            keep_alive_10: true,
            ..RenderMode::default()
        };
        assert!(rendered(&Response::empty(200), mode).ends_with("Connection: keep-alive\r\n\r\n"));
        let closing = Response::empty(200).closing();
        assert!(rendered(&closing, mode).ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn bodyless_statuses_and_out_of_range_status() {
        let s = rendered(&Response::json(204, "x"), RenderMode::default());
        assert_eq!(s, "HTTP/1.1 204 No Content\r\n\r\n");
        let s = rendered(&Response::empty(1000), RenderMode::default());
        assert!(s.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        let s = rendered(&Response::empty(101), RenderMode::default());
        assert!(s.starts_with("HTTP/1.1 500 "));
        let s = rendered(&Response::empty(299), RenderMode::default());
        assert!(s.starts_with("HTTP/1.1 299 \r\n"));
    }

    #[test]
    fn drops_injected_and_reserved_headers() {
        let resp = Response::empty(302)
            .with_header("Location", "/a\r\nSet-Cookie: x")
            .with_header("Bad Name", "v")
            .with_header("Content-Length", "99")
            .with_header("connection", "keep-alive")
            .with_header("Retry-After", "5");
        assert_eq!(
            rendered(&resp, RenderMode::default()),
            "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n"
        );
    }
}
