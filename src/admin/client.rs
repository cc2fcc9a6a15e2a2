//! A small blocking HTTP/1.1 client for the admin API, used by the command-line tools
//! (`sippush push`, `sippush status`, `sippush bench`). One request per connection
//! (`Connection: close`), bounded in time and size.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::json;

/// Largest response body read.
const MAX_RESPONSE: u64 = 16 << 20;

/// Why a request failed before an HTTP status was received.
#[derive(Debug)]
pub enum ClientError {
    /// The address could not be resolved.
    Resolve(String),
    /// Connecting, sending or receiving failed.
    Io(SocketAddr, std::io::Error),
    /// The answer is not HTTP.
    BadResponse(SocketAddr),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Resolve(a) => write!(f, "cannot resolve admin address {a}"),
            ClientError::Io(a, e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                write!(
                    f,
                    "cannot connect to the admin API at {a}: connection refused (is `sippush serve` running?)"
                )
            }
            ClientError::Io(a, e) => write!(f, "admin API at {a}: {e}"),
            ClientError::BadResponse(a) => {
                write!(f, "admin API at {a} sent a malformed HTTP response")
            }
        }
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> json::Value {
        json::parse(&String::from_utf8_lossy(&self.body)).unwrap_or(json::Value::Null)
    }

    /// The `error` member of a JSON error body, or the body's text.
    pub fn error_text(&self) -> String {
        match self.json().get("error").and_then(|e| e.as_str()) {
            Some(e) => e.to_string(),
            None => String::from_utf8_lossy(&self.body).trim().to_string(),
        }
    }
}

/// The admin API at one address, with an optional bearer token.
#[derive(Clone, Debug)]
pub struct AdminClient {
    addr: String,
    token: Option<String>,
    timeout: Duration,
}

impl AdminClient {
    /// A client for `addr` (`HOST:PORT`).
    pub fn new(addr: impl Into<String>, token: Option<String>) -> AdminClient {
        AdminClient {
            addr: addr.into(),
            token,
            timeout: Duration::from_secs(10),
        }
    }

    /// Send one request; `body` with its content type for POST.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<Reply, ClientError> {
        let addr = self
            .addr
            .to_socket_addrs()
            .map_err(|_| ClientError::Resolve(self.addr.clone()))?
            .next()
            .ok_or_else(|| ClientError::Resolve(self.addr.clone()))?;
        let io = |e| ClientError::Io(addr, e);
        let mut s = TcpStream::connect_timeout(&addr, self.timeout).map_err(io)?;
        s.set_read_timeout(Some(self.timeout)).map_err(io)?;
        s.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: sippush\r\n",
            self.addr
        );
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let payload = match body {
            Some((ct, b)) => {
                head.push_str(&format!(
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                    b.len()
                ));
                b
            }
            None => &[][..],
        };
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).map_err(io)?;
        s.write_all(payload).map_err(io)?;
        let mut raw = Vec::new();
        s.take(MAX_RESPONSE).read_to_end(&mut raw).map_err(io)?;
        parse_response(&raw).ok_or(ClientError::BadResponse(addr))
    }
}

fn parse_response(raw: &[u8]) -> Option<Reply> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(raw).ok()? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let status = resp.code?;
    let len = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    let rest = &raw[n..];
    let body = match len {
        Some(l) if l <= rest.len() => rest[..l].to_vec(),
        Some(_) => return None,
        None => rest.to_vec(),
    };
    Some(Reply { status, body })
}

/// Percent-encode a query value (RFC 3986 unreserved characters pass).
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_responses_and_encodes_queries() {
        let r =
            parse_response(b"HTTP/1.1 202 Accepted\r\nContent-Length: 13\r\n\r\n{\"targets\":3}")
                .unwrap();
        assert_eq!(r.status, 202);
        assert_eq!(r.json().get("targets").unwrap().as_u64(), Some(3));
        let r = parse_response(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 16\r\n\r\n{\"error\":\"nope\"}x",
        )
        .unwrap();
        assert_eq!(r.error_text(), "nope");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort").is_none());
        assert!(parse_response(b"garbage").is_none());
        assert_eq!(encode_query_value("tv beta/ü"), "tv%20beta%2F%C3%BC");
    }
}
