//! A tiny blocking HTTP/1.1 client for the admin API, used by `sippush push`, `sippush status`
//! and `sippush bench`: one request per connection (`Connection: close`), bounded in time and
//! size.
//!
//! Owns request framing (RFC 9112 §3, §6.2 Content-Length), response parsing (with httparse),
//! query percent-encoding (RFC 3986 §2.1) and the errors the commands report. Bodies are JSON
//! read with `crate::json::parse`. Not for the hot path: a CLI makes a handful of requests.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::json::{self, JsonError, Value};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response accepted (the admin API's documents are small).
const MAX_RESPONSE: u64 = 16 << 20;

/// Why a request to the admin API failed.
#[derive(Debug)]
pub enum AdminError {
    /// The address does not resolve.
    Resolve(String, io::Error),
    /// No connection (refused, unreachable, timed out).
    Connect(SocketAddr, io::Error),
    /// The connection failed mid-request.
    Io(io::Error),
    /// The answer is not HTTP we understand.
    BadHttp(&'static str),
    /// The answer's body is not the JSON expected.
    BadJson(JsonError),
    /// The answer is JSON but lacks a field.
    MissingField(&'static str),
    /// An error status, with the API's `error` text (or the reason phrase).
    Status(u16, String),
}

impl std::error::Error for AdminError {}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::Resolve(a, e) => write!(f, "cannot resolve the admin address {a}: {e}"),
            AdminError::Connect(a, e) => write!(f, "cannot connect to the admin API at {a}: {e}"),
            AdminError::Io(e) => write!(f, "admin API connection failed: {e}"),
            AdminError::BadHttp(what) => write!(f, "bad HTTP answer from the admin API: {what}"),
            AdminError::BadJson(e) => write!(f, "bad JSON from the admin API: {e}"),
            AdminError::MissingField(k) => {
                write!(f, "unexpected answer from the admin API: no '{k}'")
            }
            AdminError::Status(401, msg) => write!(
                f,
                "the admin API answered 401 Unauthorized: {msg} (check --token-file)"
            ),
            AdminError::Status(code, msg) => write!(
                f,
                "the admin API answered {code} {}: {msg}",
                crate::admin::http::reason_phrase(*code)
            ),
        }
    }
}

/// Percent-encode a query value or path segment: everything but RFC 3986 unreserved.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
    out
}

/// Where the admin API is and how to authenticate.
pub struct AdminClient {
    /// `HOST:PORT` as given.
    pub addr: String,
    /// Bearer token, if any.
    pub token: Option<String>,
}

impl AdminClient {
    /// Send one request; returns the status and the JSON body. Statuses >= 400 become
    /// [`AdminError::Status`].
    pub fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<(u16, Value), AdminError> {
        let (status, reason, body) = self.request_raw(method, target, body)?;
        let text = String::from_utf8_lossy(&body);
        let value = json::parse(&text);
        if status >= 400 {
            let msg = value
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or(reason);
            return Err(AdminError::Status(status, msg));
        }
        Ok((status, value.map_err(AdminError::BadJson)?))
    }

    /// Send one request; returns status, reason phrase and body, whatever the status.
    pub fn request_raw(
        &self,
        method: &str,
        target: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<(u16, String, Vec<u8>), AdminError> {
        let addr = self
            .addr
            .to_socket_addrs()
            .map_err(|e| AdminError::Resolve(self.addr.clone(), e))?
            .next()
            .ok_or_else(|| {
                AdminError::Resolve(self.addr.clone(), io::ErrorKind::NotFound.into())
            })?;
        let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .map_err(|e| AdminError::Connect(addr, e))?;
        s.set_read_timeout(Some(IO_TIMEOUT))
            .map_err(AdminError::Io)?;
        s.set_write_timeout(Some(IO_TIMEOUT))
            .map_err(AdminError::Io)?;
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: sippush/{}\r\nAccept: application/json\r\nConnection: close\r\n",
            self.addr,
            env!("CARGO_PKG_VERSION")
        );
        if let Some(token) = &self.token {
            req.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let payload = match body {
            Some((content_type, bytes)) => {
                req.push_str(&format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                    bytes.len()
                ));
                bytes
            }
            None => &[][..],
        };
        req.push_str("\r\n");
        s.write_all(req.as_bytes())
            .and_then(|()| s.write_all(payload))
            .map_err(AdminError::Io)?;
        let mut raw = Vec::new();
        s.take(MAX_RESPONSE)
            .read_to_end(&mut raw)
            .map_err(AdminError::Io)?;
        let (status, reason, body) = parse_response(&raw)?;
        Ok((status, reason, body.to_vec()))
    }
}

/// Status, reason and body of a whole HTTP/1.1 response read until the connection closed.
fn parse_response(raw: &[u8]) -> Result<(u16, String, &[u8]), AdminError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if raw.is_empty() => {
            return Err(AdminError::BadHttp(
                "the connection closed without an answer",
            ));
        }
        Ok(httparse::Status::Partial) => return Err(AdminError::BadHttp("truncated header")),
        Err(_) => return Err(AdminError::BadHttp("malformed header")),
    };
    let status = resp.code.ok_or(AdminError::BadHttp("no status"))?;
    let reason = resp.reason.unwrap_or("").to_string();
    let mut length = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(AdminError::BadHttp("chunked answers are not supported"));
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or(AdminError::BadHttp("bad Content-Length"))?;
            length = Some(n);
        }
    }
    let rest = raw.get(head_len..).unwrap_or(&[]);
    let body = match length {
        Some(n) => rest.get(..n).ok_or(AdminError::BadHttp("truncated body"))?,
        None => rest,
    };
    Ok((status, reason, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(percent_encode("tv-1.a_b~"), "tv-1.a_b~");
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn parses_framed_responses_and_rejects_others() {
        let (code, reason, body) =
            parse_response(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}junk").unwrap();
        assert_eq!((code, reason.as_str(), body), (202, "Accepted", &b"{}"[..]));
        for bad in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"garbage\r\n\r\n",
        ] {
            assert!(
                parse_response(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn errors_read_as_one_line() {
        let e = AdminError::Status(401, "missing or wrong bearer token".into());
        assert_eq!(
            e.to_string(),
            "the admin API answered 401 Unauthorized: missing or wrong bearer token (check --token-file)"
        );
        let e = AdminError::Status(413, "too big".into());
        assert_eq!(
            e.to_string(),
            "the admin API answered 413 Content Too Large: too big"
        );
    }
}
