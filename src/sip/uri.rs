//! Zero-copy view of a URI (RFC 3261 §19.1, §25.1; RFC 3966 for `tel:`; RFC 3986 for the rest).
//!
//! `sip:` and `sips:` URIs are split into user, password, host, port, parameters and headers
//! and every part is checked against the grammar. Other absolute URIs (`tel:`, `urn:`,
//! `http:` ...) are accepted with a valid scheme and no white space; their text after the colon
//! is available as [`Uri::opaque`].
//!
//! The user part ends at the first `@`: `@` may not appear unescaped anywhere else in a SIP
//! URI, while the user part itself may contain `;` and `?` (RFC 4475 §3.1.1.9).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::chars::{is_hnv, is_host, is_param, is_password, is_user, parse_digits};
use super::error::{ErrorKind, ParseError};

/// URI scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other absolute URI scheme.
    Other,
}

/// The host of a SIP URI or Via sent-by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host<'a> {
    /// A dotted IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference (written `[...]`).
    Ipv6(Ipv6Addr),
    /// A host name.
    Name(&'a [u8]),
}

impl Host<'_> {
    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            Host::Ipv4(a) => Some(IpAddr::V4(a)),
            Host::Ipv6(a) => Some(IpAddr::V6(a)),
            Host::Name(_) => None,
        }
    }
}

/// Parse `host` (RFC 3261 `host = hostname / IPv4address / IPv6reference`). `at` is its offset
/// in the message for errors.
pub fn parse_host(s: &[u8], at: usize) -> Result<Host<'_>, ParseError> {
    let err = || ParseError::new(ErrorKind::BadHost, at);
    if s.is_empty() {
        return Err(err());
    }
    if s[0] == b'[' {
        if s.len() < 3 || s[s.len() - 1] != b']' {
            return Err(err());
        }
        let inner = std::str::from_utf8(&s[1..s.len() - 1]).map_err(|_| err())?;
        return inner.parse::<Ipv6Addr>().map(Host::Ipv6).map_err(|_| err());
    }
    if !s.iter().all(|&b| is_host(b)) {
        return Err(err());
    }
    if s.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        // All digits and dots: it must be a dotted quad (a host name's top label is alphabetic).
        let text = std::str::from_utf8(s).map_err(|_| err())?;
        return text.parse::<Ipv4Addr>().map(Host::Ipv4).map_err(|_| err());
    }
    // hostname = *( domainlabel "." ) toplabel [ "." ]; labels do not start or end with '-'.
    for label in s.strip_suffix(b".").unwrap_or(s).split(|&b| b == b'.') {
        if label.is_empty() || label[0] == b'-' || label[label.len() - 1] == b'-' {
            return Err(err());
        }
    }
    Ok(Host::Name(s))
}

/// Split `hostport` into host bytes and optional port. `at` is its offset for errors.
pub fn split_hostport(s: &[u8], at: usize) -> Result<(&[u8], Option<u16>), ParseError> {
    let (host, port) = if s.first() == Some(&b'[') {
        match s.iter().position(|&b| b == b']') {
            Some(rb) => {
                let rest = &s[rb + 1..];
                match rest.first() {
                    None => (&s[..=rb], None),
                    Some(b':') => (&s[..=rb], Some((&rest[1..], at + rb + 2))),
                    Some(_) => return Err(ParseError::new(ErrorKind::BadHost, at)),
                }
            }
            None => return Err(ParseError::new(ErrorKind::BadHost, at)),
        }
    } else {
        match s.iter().position(|&b| b == b':') {
            Some(c) => (&s[..c], Some((&s[c + 1..], at + c + 1))),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some((digits, pat)) => match parse_digits(digits, 65535) {
            Some(p) => Some(p as u16),
            None => return Err(ParseError::new(ErrorKind::BadPort, pat)),
        },
    };
    Ok((host, port))
}

/// A parsed URI; every slice borrows the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The whole URI text.
    pub raw: &'a [u8],
    /// The scheme.
    pub scheme: Scheme,
    /// The scheme text as written (e.g. `SIP`, `tel`).
    pub scheme_raw: &'a [u8],
    /// The user part (SIP/SIPS), escapes left in place.
    pub user: Option<&'a [u8]>,
    /// The password (SIP/SIPS), discouraged by RFC 3261 but valid.
    pub password: Option<&'a [u8]>,
    /// The host as written (`[...]` kept for IPv6). Empty for non-SIP schemes.
    pub host: &'a [u8],
    /// The port, if given.
    pub port: Option<u16>,
    /// The raw `;name=value` URI parameters (SIP/SIPS), including the leading `;`.
    pub params: &'a [u8],
    /// The raw headers after `?` (SIP/SIPS), without the `?`.
    pub headers: Option<&'a [u8]>,
    /// Everything after `scheme:`.
    pub opaque: &'a [u8],
    /// Offset of the URI in the message.
    pub at: usize,
}

impl<'a> Uri<'a> {
    /// Parse an absolute URI found at offset `at` of the message.
    pub fn parse(s: &'a [u8], at: usize) -> Result<Uri<'a>, ParseError> {
        let bad = |off: usize| ParseError::new(ErrorKind::BadUri, at + off);
        let colon = match s.iter().position(|&b| b == b':') {
            Some(c) if c > 0 => c,
            _ => return Err(bad(0)),
        };
        let scheme_raw = &s[..colon];
        if !scheme_raw[0].is_ascii_alphabetic()
            || !scheme_raw
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(bad(0));
        }
        if let Some(p) = s
            .iter()
            .position(|&b| b <= b' ' || b == 0x7f || b == b'<' || b == b'>' || b == b'"')
        {
            return Err(bad(p));
        }
        let opaque = &s[colon + 1..];
        let scheme = if scheme_raw.eq_ignore_ascii_case(b"sip") {
            Scheme::Sip
        } else if scheme_raw.eq_ignore_ascii_case(b"sips") {
            Scheme::Sips
        } else if scheme_raw.eq_ignore_ascii_case(b"tel") {
            Scheme::Tel
        } else {
            Scheme::Other
        };
        let mut uri = Uri {
            raw: s,
            scheme,
            scheme_raw,
            user: None,
            password: None,
            host: &[],
            port: None,
            params: &[],
            headers: None,
            opaque,
            at,
        };
        if opaque.is_empty() {
            return Err(bad(colon));
        }
        if !matches!(scheme, Scheme::Sip | Scheme::Sips) {
            return Ok(uri);
        }
        let base = colon + 1; // offset of `opaque` within `s`
        let mut rest = opaque;
        let mut rest_at = base;
        if let Some(atpos) = rest.iter().position(|&b| b == b'@') {
            let userinfo = &rest[..atpos];
            let (user, password) = match userinfo.iter().position(|&b| b == b':') {
                Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                None => (userinfo, None),
            };
            if user.is_empty() || !user.iter().all(|&b| is_user(b)) {
                return Err(bad(rest_at));
            }
            if let Some(pw) = password {
                if !pw.iter().all(|&b| is_password(b)) {
                    return Err(bad(rest_at + user.len() + 1));
                }
            }
            uri.user = Some(user);
            uri.password = password;
            rest = &rest[atpos + 1..];
            rest_at += atpos + 1;
        }
        // hostport ends at ';' (params) or '?' (headers), outside an IPv6 reference.
        let mut end = 0;
        let mut in_v6 = false;
        while end < rest.len() {
            match rest[end] {
                b'[' => in_v6 = true,
                b']' => in_v6 = false,
                b';' | b'?' if !in_v6 => break,
                _ => {}
            }
            end += 1;
        }
        let (host, port) = split_hostport(&rest[..end], at + rest_at)?;
        parse_host(host, at + rest_at)?;
        uri.host = host;
        uri.port = port;
        let tail = &rest[end..];
        let tail_at = rest_at + end;
        let (params, headers) = match tail.iter().position(|&b| b == b'?') {
            Some(q) => (&tail[..q], Some(&tail[q + 1..])),
            None => (tail, None),
        };
        // uri-parameters = *( ";" pname [ "=" pvalue ] )
        let mut off = tail_at + 1;
        for p in params.split(|&b| b == b';').skip(1) {
            let (name, value) = match p.iter().position(|&b| b == b'=') {
                Some(e) => (&p[..e], Some(&p[e + 1..])),
                None => (p, None),
            };
            let ok_name = !name.is_empty() && name.iter().all(|&b| is_param(b));
            let ok_value = value.is_none_or(|v| !v.is_empty() && v.iter().all(|&b| is_param(b)));
            if !ok_name || !ok_value {
                return Err(bad(off));
            }
            off += p.len() + 1;
        }
        if let Some(h) = headers {
            let ok = !h.is_empty()
                && h.split(|&b| b == b'&').all(|kv| {
                    let mut parts = kv.splitn(2, |&b| b == b'=');
                    let name = parts.next().unwrap_or(&[]);
                    let value = parts.next();
                    !name.is_empty()
                        && name.iter().all(|&b| is_hnv(b))
                        && value.is_some_and(|v| v.iter().all(|&b| is_hnv(b)))
                });
            if !ok {
                return Err(bad(tail_at + params.len()));
            }
        }
        uri.params = params;
        uri.headers = headers;
        Ok(uri)
    }

    /// True for `sip:` and `sips:` URIs.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// The host, typed (SIP/SIPS only; `None` otherwise).
    pub fn host_kind(&self) -> Option<Host<'a>> {
        if self.is_sip() {
            parse_host(self.host, self.at).ok()
        } else {
            None
        }
    }

    /// Iterate the URI parameters as `(name, value)`.
    pub fn param_iter(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let p: &'a [u8] = self.params;
        p.split(|&b| b == b';').filter(|s| !s.is_empty()).map(|s| {
            match s.iter().position(|&b| b == b'=') {
                Some(e) => (&s[..e], Some(&s[e + 1..])),
                None => (s, None),
            }
        })
    }

    /// The value of a URI parameter (case-insensitive name); `Some(None)` for a flag.
    pub fn param(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.param_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Uri<'_> {
        Uri::parse(s.as_bytes(), 0).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn sip_uri_parts() {
        let u = ok("sip:tv-7@198.51.100.7:5060;transport=udp;lr?Subject=hi&X=1");
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user, Some(&b"tv-7"[..]));
        assert_eq!(u.host, b"198.51.100.7");
        assert_eq!(u.port, Some(5060));
        assert_eq!(
            u.host_kind(),
            Some(Host::Ipv4(Ipv4Addr::new(198, 51, 100, 7)))
        );
        assert_eq!(u.param(b"TRANSPORT"), Some(Some(&b"udp"[..])));
        assert_eq!(u.param(b"lr"), Some(None));
        assert_eq!(u.headers, Some(&b"Subject=hi&X=1"[..]));
        let u = ok("SIPS:[2001:db8::10]:5061");
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user, None);
        assert_eq!(u.host, b"[2001:db8::10]");
        assert_eq!(u.port, Some(5061));
        assert!(matches!(u.host_kind(), Some(Host::Ipv6(_))));
        let u = ok("sip:alice:secret@example.com");
        assert_eq!(u.password, Some(&b"secret"[..]));
        assert_eq!(u.host_kind(), Some(Host::Name(b"example.com")));
    }

    #[test]
    fn torture_users() {
        // RFC 4475 §3.1.1.9: ';' in the user part.
        let u = ok("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user, Some(&b"user;par=u%40example.net"[..]));
        assert_eq!(u.host, b"example.com");
        // RFC 4475 §3.1.1.2: user-unreserved characters and a password.
        let u = ok(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(u.host, b"example.com");
        assert_eq!(
            u.password,
            Some(&b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"[..])
        );
        // RFC 4475 §3.1.1.4: escaped nulls.
        assert_eq!(
            ok("sip:null-%00-null@example.com").user,
            Some(&b"null-%00-null"[..])
        );
    }

    #[test]
    fn other_schemes() {
        let u = ok("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.opaque, b"+1-201-555-0123;phone-context=example.com");
        assert!(u.host_kind().is_none());
        assert_eq!(ok("urn:uuid:f81d4fae").scheme, Scheme::Other);
    }

    #[test]
    fn bad_uris() {
        let kind = |s: &str| Uri::parse(s.as_bytes(), 0).unwrap_err().kind;
        assert_eq!(kind("nocolon"), ErrorKind::BadUri);
        assert_eq!(kind(":x"), ErrorKind::BadUri);
        assert_eq!(kind("1sip:x"), ErrorKind::BadUri);
        assert_eq!(kind("sip:"), ErrorKind::BadUri);
        assert_eq!(kind("sip:a b@x"), ErrorKind::BadUri);
        assert_eq!(kind("sip:@x"), ErrorKind::BadUri);
        assert_eq!(kind("sip:x:99999"), ErrorKind::BadPort);
        assert_eq!(kind("sip:x:"), ErrorKind::BadPort);
        assert_eq!(kind("sip:[::1"), ErrorKind::BadHost);
        assert_eq!(kind("sip:[zz]"), ErrorKind::BadHost);
        assert_eq!(kind("sip:1.2.3.999"), ErrorKind::BadHost);
        assert_eq!(kind("sip:-a.com"), ErrorKind::BadHost);
        assert_eq!(kind("sip:a..com"), ErrorKind::BadHost);
        assert_eq!(kind("sip:a_b.com"), ErrorKind::BadHost);
        assert_eq!(kind("sip:x;=y"), ErrorKind::BadUri);
        assert_eq!(kind("sip:x?"), ErrorKind::BadUri);
        assert_eq!(kind("sip:x?a"), ErrorKind::BadUri);
        assert_eq!(Uri::parse(b"sip:a b", 7).unwrap_err().at, 12);
    }
}
