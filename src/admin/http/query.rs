//! Query-string decoding for `application/x-www-form-urlencoded` style queries
//! (WHATWG URL "application/x-www-form-urlencoded parsing", RFC 3986 §2.1 percent-encoding).
//!
//! Lenient by design, strict on request: [`query_pairs`] never fails — a malformed escape such
//! as `%zz` or a trailing `%4` is kept literally and invalid UTF-8 after decoding becomes U+FFFD —
//! while [`validate_query`] reports exactly those cases so a handler that wants strictness can
//! answer 400 first. Components without `%` or `+` are borrowed, not copied.

use std::borrow::Cow;
use std::fmt;

/// Why [`validate_query`] rejected a query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// A `%` not followed by two hex digits.
    MalformedEscape,
    /// Percent-decoding produced bytes that are not UTF-8.
    InvalidUtf8,
}

impl QueryError {
    /// A static description.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryError::MalformedEscape => "malformed percent-escape in query",
            QueryError::InvalidUtf8 => "query decodes to invalid UTF-8",
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for QueryError {}

/// Iterator over `(name, value)` pairs of a query string; see [`query_pairs`].
#[derive(Clone, Debug)]
pub struct QueryPairs<'a> {
    rest: &'a str,
}

/// Splits `query` (without the leading `?`) on `&`, skipping empty segments, and decodes each
/// side of the first `=` (a segment without `=` has an empty value). `+` decodes to a space.
/// Never fails; see the module docs and [`validate_query`] for malformed input.
pub fn query_pairs(query: &str) -> QueryPairs<'_> {
    QueryPairs { rest: query }
}

impl<'a> Iterator for QueryPairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (segment, rest) = self.rest.split_once('&').unwrap_or((self.rest, ""));
            self.rest = rest;
            if segment.is_empty() {
                continue;
            }
            let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
            return Some((percent_decode(name), percent_decode(value)));
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Decodes `%XX` escapes and `+` leniently (see the module docs).
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Checks that every `%` in `query` starts a valid escape and that every decoded component is
/// UTF-8, i.e. that [`query_pairs`] would not have to guess.
pub fn validate_query(query: &str) -> Result<(), QueryError> {
    // `&` and `=` are ASCII and escapes never span them, so components can be checked alone.
    query.split(['&', '=']).try_for_each(validate_component)
}

fn validate_component(component: &str) -> Result<(), QueryError> {
    if !component.contains('%') {
        return Ok(());
    }
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(QueryError::MalformedEscape);
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    match std::str::from_utf8(&out) {
        Ok(_) => Ok(()),
        Err(_) => Err(QueryError::InvalidUtf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        query_pairs(q)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn decodes_pairs() {
        assert_eq!(
            pairs("a=1&b=hello+world&c=%41%62%2b&&flag&e=&=x&u=%C3%A9"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "hello world".into()),
                ("c".into(), "Ab+".into()),
                ("flag".into(), "".into()),
                ("e".into(), "".into()),
                ("".into(), "x".into()),
                ("u".into(), "é".into()),
            ]
        );
        assert!(pairs("").is_empty());
        assert_eq!(pairs("k=a=b"), vec![("k".into(), "a=b".into())]);
    }

    #[test]
    fn borrows_when_nothing_to_decode() {
        let mut it = query_pairs("id=abc");
        let (k, v) = it.next().unwrap();
        assert!(matches!(k, Cow::Borrowed("id")));
        assert!(matches!(v, Cow::Borrowed("abc")));
    }

    #[test]
    fn malformed_escapes_are_kept_and_reported() {
        assert_eq!(
            pairs("a=%zz&b=%4&c=%"),
            vec![
                ("a".into(), "%zz".into()),
                ("b".into(), "%4".into()),
                ("c".into(), "%".into()),
            ]
        );
        assert_eq!(validate_query("a=%zz"), Err(QueryError::MalformedEscape));
        assert_eq!(validate_query("a=%4"), Err(QueryError::MalformedEscape));
        assert_eq!(validate_query("%"), Err(QueryError::MalformedEscape));
        assert_eq!(validate_query("a=%ff"), Err(QueryError::InvalidUtf8));
        assert_eq!(pairs("a=%ff"), vec![("a".into(), "\u{FFFD}".into())]);
        assert_eq!(validate_query("a=%EF%BF%BD&b=%41+x&c"), Ok(()));
        assert_eq!(validate_query(""), Ok(()));
    }
}
