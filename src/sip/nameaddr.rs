//! From, To and Contact values: `( name-addr / addr-spec ) *( SEMI param )` (RFC 3261 §20.10,
//! §20.20, §20.39, §25.1).
//!
//! A display name is either a quoted string (escapes kept as written) or a run of tokens
//! separated by white space (RFC 4475 §3.1.1.6 allows no space before `<`; §3.1.2.15 rejects
//! non-token characters). In the `addr-spec` form (no angle brackets) the URI ends at the first
//! `;`, and what follows are header parameters; such a URI may not contain `?` or `,`
//! (RFC 3261 §20.10, RFC 4475 §3.1.2.13). No white space is allowed inside `<...>`
//! (RFC 4475 §3.1.2.14).

use super::chars::{find_byte, is_token, is_ws, quoted_end, skip_ws};
use super::error::{ErrorKind, ParseError};
use super::params::{Param, Params};
use super::uri::Uri;

/// A parsed From, To or Contact value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name: the inside of the quoted string (escapes kept), or the tokens.
    pub display: Option<&'a [u8]>,
    /// The URI.
    pub uri: Uri<'a>,
    /// The header parameters (tag, expires, q, class ...).
    pub params: Params<'a>,
    /// True when the URI was written in angle brackets.
    pub bracketed: bool,
    tag: Option<&'a [u8]>,
}

impl<'a> NameAddr<'a> {
    /// Parse one trimmed value at offset `at` of the message.
    #[inline(always)]
    pub fn parse(s: &'a [u8], at: usize) -> Result<NameAddr<'a>, ParseError> {
        let (a, end) = NameAddr::parse_item(s, at, false)?;
        debug_assert_eq!(end, s.len());
        Ok(a)
    }

    /// Parse the value that starts `s` (no leading white space). With `list`, a `,` after the
    /// value ends it (Contact lists); returns the value and the index where it ends.
    #[inline(always)]
    pub fn parse_item(
        s: &'a [u8],
        at: usize,
        list: bool,
    ) -> Result<(NameAddr<'a>, usize), ParseError> {
        let bad = |off: usize| ParseError::new(ErrorKind::BadNameAddr, at + off);
        if s.is_empty() || s[0] == b',' {
            return Err(bad(0));
        }
        let mut display = None;
        let lt: usize;
        if s[0] == b'"' {
            let end = quoted_end(s, 0).ok_or(ParseError::new(ErrorKind::UnterminatedQuote, at))?;
            display = Some(&s[1..end - 1]);
            lt = skip_ws(s, end);
            if lt >= s.len() || s[lt] != b'<' {
                return Err(bad(lt));
            }
        } else {
            // A '<' before any ';' or ',' means name-addr; the text before it is the display name.
            let mut i = 0;
            while i < s.len() && (is_token(s[i]) || is_ws(s[i])) {
                i += 1;
            }
            if i < s.len() && s[i] == b'<' {
                let t = super::chars::trim(&s[..i]);
                if !t.is_empty() {
                    display = Some(t);
                }
                lt = i;
            } else if i >= s.len() || s[i] != b':' {
                // Neither `display <uri>` nor `scheme:...` (e.g. a comma in an unquoted
                // display name, RFC 4475 §3.1.2.15).
                return Err(bad(i.min(s.len())));
            } else {
                // addr-spec: the URI runs to the first ';', ',' or white space, and may not
                // contain '?' (RFC 3261 §20.10).
                let mut end = 0;
                while end < s.len() && !matches!(s[end], b';' | b',') && !is_ws(s[end]) {
                    if matches!(s[end], b'?' | b'<' | b'>' | b'"') {
                        return Err(bad(end));
                    }
                    end += 1;
                }
                let uri = Uri::parse(&s[..end], at)?;
                let mut tag = None;
                let (params, pend) =
                    Params::scan(&s[end..], at + end, list, |p| capture(p, &mut tag))?;
                return Ok((
                    NameAddr {
                        display: None,
                        uri,
                        params,
                        bracketed: false,
                        tag,
                    },
                    end + pend,
                ));
            }
        }
        let gt = match find_byte(s, lt, b'>') {
            Some(gt) => gt,
            None => return Err(ParseError::new(ErrorKind::UnterminatedAngle, at + lt)),
        };
        let uri = Uri::parse(&s[lt + 1..gt], at + lt + 1)?;
        let mut tag = None;
        let (params, pend) =
            Params::scan(&s[gt + 1..], at + gt + 1, list, |p| capture(p, &mut tag))?;
        Ok((
            NameAddr {
                display,
                uri,
                params,
                bracketed: true,
                tag,
            },
            gt + 1 + pend,
        ))
    }

    /// The `tag` parameter (From/To, RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&'a [u8]> {
        self.tag
    }
}

#[inline]
fn capture<'a>(p: &Param<'a>, tag: &mut Option<&'a [u8]>) {
    if p.name.len() == 3 && p.name.eq_ignore_ascii_case(b"tag") {
        *tag = p.value;
    }
}

/// One element of a Contact header: `*` or an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contact<'a> {
    /// `Contact: *` (RFC 3261 §10.2.2: remove every binding, with `Expires: 0`).
    Star,
    /// A contact address with its parameters.
    Addr(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    /// Parse one trimmed Contact element.
    #[inline(always)]
    pub fn parse(s: &'a [u8], at: usize) -> Result<Contact<'a>, ParseError> {
        if s == b"*" {
            return Ok(Contact::Star);
        }
        NameAddr::parse(s, at).map(Contact::Addr)
    }

    /// Parse the element that starts `s` in a comma-separated Contact value; returns it and
    /// the index where it ends (at the comma or the end).
    pub fn parse_item(s: &'a [u8], at: usize) -> Result<(Contact<'a>, usize), ParseError> {
        if s.first() == Some(&b'*') {
            let next = skip_ws(s, 1);
            if next == s.len() || s[next] == b',' {
                return Ok((Contact::Star, next));
            }
        }
        NameAddr::parse_item(s, at, true).map(|(a, end)| (Contact::Addr(a), end))
    }

    /// The `expires` parameter (RFC 3261 §20.10), if present and valid.
    #[inline(always)]
    pub fn expires(&self) -> Option<Result<u32, ParseError>> {
        match self {
            Contact::Star => None,
            Contact::Addr(a) => a.params.get(b"expires").map(|p| {
                p.value
                    .and_then(|v| super::chars::parse_digits(v, u32::MAX as u64))
                    .map(|v| v as u32)
                    .ok_or(ParseError::new(ErrorKind::BadExpires, a.uri.at()))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &str) -> NameAddr<'_> {
        NameAddr::parse(s.as_bytes(), 0).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn forms() {
        let a = na("\"Bob \\\"B\\\" Smith\" <sip:bob@example.com>;tag=a48s");
        assert_eq!(a.display, Some(&b"Bob \\\"B\\\" Smith"[..]));
        assert_eq!(a.uri.user(), Some(&b"bob"[..]));
        assert_eq!(a.tag(), Some(&b"a48s"[..]));
        let a = na("caller<sip:caller@example.com>;tag=323");
        assert_eq!(a.display, Some(&b"caller"[..]));
        assert_eq!(a.tag(), Some(&b"323"[..]));
        let a = na("sip:alice@atlanta.example.com;tag=88sja8x");
        assert!(!a.bracketed);
        assert_eq!(a.uri.params(), b"");
        assert_eq!(a.tag(), Some(&b"88sja8x"[..]));
        let a = na("Alice Liddell <sip:alice@wonderland.example.com;transport=udp> ; tag = x");
        assert_eq!(a.display, Some(&b"Alice Liddell"[..]));
        assert_eq!(a.uri.param(b"transport"), Some(Some(&b"udp"[..])));
        assert_eq!(a.tag(), Some(&b"x"[..]));
        let a = na("<tel:+15551234>");
        assert_eq!(a.display, None);
        assert_eq!(a.uri.opaque(), b"+15551234");
    }

    #[test]
    fn contacts() {
        let c = Contact::parse(
            b"<sip:tv-7@198.51.100.7:5060>;expires=600;class=\"tv,beta\"",
            0,
        )
        .unwrap();
        assert_eq!(c.expires(), Some(Ok(600)));
        match c {
            Contact::Addr(a) => assert_eq!(a.params.value(b"class"), Some(Some(&b"tv,beta"[..]))),
            Contact::Star => panic!("not star"),
        }
        assert_eq!(Contact::parse(b"*", 0).unwrap(), Contact::Star);
        let c = Contact::parse(b"<sip:a@b>;expires=99999999999", 0).unwrap();
        assert_eq!(
            c.expires().unwrap().unwrap_err().kind,
            ErrorKind::BadExpires
        );
    }

    #[test]
    fn invalid() {
        let kind = |s: &str| NameAddr::parse(s.as_bytes(), 0).unwrap_err().kind;
        assert_eq!(
            kind("\"Unterminated <sip:a@b>"),
            ErrorKind::UnterminatedQuote
        );
        assert_eq!(kind("<sip:a@b;tag=1"), ErrorKind::UnterminatedAngle);
        assert_eq!(
            kind("Bell, Alexander <sip:a.g.bell@bell-tel.com>"),
            ErrorKind::BadNameAddr
        );
        assert_eq!(kind("< sip:a@b >"), ErrorKind::BadUri);
        assert_eq!(
            kind("sip:user@example.com?Route=%3Csip:sip.example.com%3E"),
            ErrorKind::BadNameAddr
        );
        assert_eq!(kind("\"x\" sip:a@b"), ErrorKind::BadNameAddr);
        assert_eq!(kind(""), ErrorKind::BadNameAddr);
        assert_eq!(kind("<sip:a@b> junk"), ErrorKind::BadParam);
        assert_eq!(kind("<sip:a@b>, <sip:c@d>"), ErrorKind::BadParam);
        assert_eq!(NameAddr::parse(b"<sip:a@b>;x=\"", 40).unwrap_err().at, 52);
    }
}
