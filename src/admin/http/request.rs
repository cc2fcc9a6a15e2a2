//! The borrowed view of one complete request handed to the server core.
//!
//! Owns nothing: a `Request` points into the connection's input buffer (header block and body),
//! so it lives only until the caller answers with `HttpConn::respond`. Everything in it was
//! validated when the request was framed, so no accessor can fail; header lookups are
//! case-insensitive (RFC 9110 §5.1) and return the first field with that name.

use std::str;

/// A byte range inside the header block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    /// The span of `inner` within `outer`, or an empty span if `inner` is not inside `outer`.
    pub(crate) fn within(outer: &[u8], inner: &[u8]) -> Span {
        let start = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
        if start <= outer.len() && inner.len() <= outer.len() - start {
            Span {
                start,
                end: start + inner.len(),
            }
        } else {
            Span::default()
        }
    }

    pub(crate) fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or(&[])
    }
}

/// One header field's name and (whitespace-trimmed) value inside the header block.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HeaderSpan {
    pub(crate) name: Span,
    pub(crate) value: Span,
}

/// The request's protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: connections close after one response unless `Connection: keep-alive`.
    Http10,
    /// HTTP/1.1: connections persist unless `Connection: close`.
    Http11,
}

/// A complete request: header fields and the whole (de-chunked) body.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) target: &'a str,
    pub(crate) version: Version,
    pub(crate) keep_alive: bool,
    pub(crate) head: &'a [u8],
    pub(crate) headers: &'a [HeaderSpan],
    pub(crate) body: &'a [u8],
    pub(crate) content_length: Option<u64>,
    pub(crate) chunked: bool,
}

/// Iterator over all header fields as `(name, value)`, in arrival order.
#[derive(Clone, Debug)]
pub struct HeaderIter<'a> {
    head: &'a [u8],
    spans: std::slice::Iter<'a, HeaderSpan>,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let h = self.spans.next()?;
        // Names were validated as tokens by httparse, hence ASCII.
        let name = str::from_utf8(h.name.of(self.head)).unwrap_or("");
        Some((name, h.value.of(self.head)))
    }
}

/// Splits a request-target into path and query (RFC 9112 §3.2). Absolute-form targets lose
/// their scheme and authority; the asterisk- and authority-forms are returned as the path.
pub(crate) fn split_target(target: &str) -> (&str, &str) {
    let origin = if target.starts_with('/') || !target.contains("://") {
        target
    } else {
        let after_scheme = target.split_once("://").map_or("", |(_, rest)| rest);
        match after_scheme.find(['/', '?']) {
            Some(i) => after_scheme.get(i..).unwrap_or(""),
            None => "",
        }
    };
    let (path, query) = origin.split_once('?').unwrap_or((origin, ""));
    if path.is_empty() {
        ("/", query)
    } else {
        (path, query)
    }
}

impl<'a> Request<'a> {
    /// The method, e.g. `GET` (case-sensitive, RFC 9110 §9.1).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// True for `HEAD`: the response is sent without its body.
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    /// The raw request-target as sent.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path, still percent-encoded, without the query (`/` for an empty absolute-form path).
    pub fn path(&self) -> &'a str {
        split_target(self.target).0
    }

    /// The raw query string without `?` (empty when absent); decode with `query_pairs`.
    pub fn query(&self) -> &'a str {
        split_target(self.target).1
    }

    /// HTTP/1.0 or HTTP/1.1.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether the connection stays open after the response, from the version default and
    /// the `Connection` header (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The first header field named `name` (case-insensitive), as raw bytes.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first header field named `name`, if its value is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| str::from_utf8(v).ok())
    }

    /// All header fields in arrival order.
    pub fn headers(&self) -> HeaderIter<'a> {
        HeaderIter {
            head: self.head,
            spans: self.headers.iter(),
        }
    }

    /// `Content-Type`.
    pub fn content_type(&self) -> Option<&'a str> {
        self.header_str("content-type")
    }

    /// `Authorization`.
    pub fn authorization(&self) -> Option<&'a str> {
        self.header_str("authorization")
    }

    /// `Host`.
    pub fn host(&self) -> Option<&'a str> {
        self.header_str("host")
    }

    /// `Connection`.
    pub fn connection(&self) -> Option<&'a str> {
        self.header_str("connection")
    }

    /// The declared `Content-Length` (absent for chunked bodies and bodiless requests).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// True when the body arrived with `Transfer-Encoding: chunked`.
    pub fn is_chunked(&self) -> bool {
        self.chunked
    }

    /// The complete body (de-chunked).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_targets() {
        assert_eq!(split_target("/a/b?x=1&y"), ("/a/b", "x=1&y"));
        assert_eq!(split_target("/a/b"), ("/a/b", ""));
        assert_eq!(split_target("/?"), ("/", ""));
        assert_eq!(split_target("*"), ("*", ""));
        assert_eq!(split_target("http://h:80/p?q"), ("/p", "q"));
        assert_eq!(split_target("http://h:80?q"), ("/", "q"));
        assert_eq!(split_target("http://h"), ("/", ""));
        assert_eq!(split_target("host:443"), ("host:443", ""));
    }

    #[test]
    fn span_within() {
        let outer = b"hello world".to_vec();
        let other = b"other".to_vec();
        assert_eq!(
            Span::within(&outer, &outer[6..]),
            Span { start: 6, end: 11 }
        );
        assert_eq!(Span::within(&outer[..5], &other), Span::default());
        assert_eq!(Span { start: 3, end: 99 }.of(&outer), b"");
    }
}
