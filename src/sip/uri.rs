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

use super::chars::{HNV, PARAM, PASSWORD, USER, find_byte, parse_digits, run_end};
use super::error::{ErrorKind, ParseError};
use super::swar::{HI, LO, at_least, bytes_equal, word_at};

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
    let err = ParseError::new(ErrorKind::BadHost, at);
    match scan_host(s, 0) {
        (end, Some(kind)) if end == s.len() => host_of(s, kind).ok_or(err),
        _ => Err(err),
    }
}

/// What kind of host a checked host string is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostType {
    /// A host name.
    Name,
    /// A dotted quad.
    Ipv4,
    /// An IPv6 reference `[...]`.
    Ipv6,
}

/// The typed host of a host string already checked as `kind`.
pub fn host_of(s: &[u8], kind: HostType) -> Option<Host<'_>> {
    match kind {
        HostType::Name => Some(Host::Name(s)),
        HostType::Ipv4 => parse_ipv4(s).map(Host::Ipv4),
        HostType::Ipv6 => {
            let inner = std::str::from_utf8(s.get(1..s.len().checked_sub(1)?)?).ok()?;
            inner.parse::<Ipv6Addr>().ok().map(Host::Ipv6)
        }
    }
}

/// Scan and check the host that starts at `s[i]`: a name (labels of letters, digits and inner
/// hyphens, optionally ending with a dot), a dotted quad, or an IPv6 reference. Returns where
/// the host ends and its kind, or `None` when malformed.
///
/// Eight bytes at a time: byte classes as SWAR masks, and the pairs that break a name (an empty
/// label `..`, a label starting with `-` as in `.-`, or ending with `-` as in `-.`) as masks
/// shifted by one byte, with a virtual `.` before the host so that a leading `.` or `-` counts.
/// Only hosts that start with a digit look at their numbers again: a label of digits ended by a
/// dot before the first letter or hyphen must be an octet (at most 3 digits, at most 255), so
/// `1.2.3.4` and `10.example.com` pass and `1234.example.com` does not.
#[inline]
pub fn scan_host(s: &[u8], i: usize) -> (usize, Option<HostType>) {
    if s.get(i) == Some(&b'[') {
        return match find_byte(s, i, b']') {
            Some(rb)
                if rb > i + 2
                    && s[i + 1..rb]
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.') =>
            {
                let kind = host_of(&s[i..=rb], HostType::Ipv6).map(|_| HostType::Ipv6);
                (rb + 1, kind)
            }
            Some(rb) => (rb + 1, None),
            None => (s.len(), None),
        };
    }
    let mut e = i;
    let (mut prev_dot, mut prev_dash) = (0x80u64, 0u64);
    let (mut bad, mut lettered) = (0u64, 0u64);
    while e < s.len() {
        let x = word_at(s, e);
        let dot = bytes_equal(x, b'.');
        let dash = bytes_equal(x, b'-');
        let x7 = x & !HI;
        let l7 = (x | (LO * 0x20)) & !HI;
        let digit = at_least(x7, b'0') & !at_least(x7, b'9' + 1);
        let alpha = at_least(l7, b'a') & !at_least(l7, b'z' + 1);
        // Bytes with bit 7 set are in no class; the first byte in no class ends the host.
        let stop = !((digit | alpha) & !x | dot | dash) & HI;
        // All ones below the first stop byte (all ones when there is none).
        let within = ((stop & stop.wrapping_neg()) >> 7).wrapping_sub(1);
        let (dot, dash) = (dot & within, dash & within);
        bad |= (dot << 8 | prev_dot) & (dot | dash) | (dash << 8 | prev_dash) & dot;
        lettered |= (alpha & !x | dash) & within;
        if stop != 0 {
            e += (stop.trailing_zeros() / 8) as usize;
            break;
        }
        prev_dot = dot >> 56;
        prev_dash = dash >> 56;
        e += 8;
    }
    let e = e.min(s.len());
    if e == i || s[e - 1] == b'-' || bad != 0 {
        return (e, None);
    }
    let host = &s[i..e];
    if lettered == 0 {
        // All digits and dots: a dotted quad (a host name's top label is alphabetic).
        return (e, is_dotted_quad(host).then_some(HostType::Ipv4));
    }
    let ok = !host[0].is_ascii_digit() || octets_before_letters(host);
    (e, ok.then_some(HostType::Name))
}

/// True when `host`, all digits and dots, is four labels of 1 to 3 digits up to 255.
fn is_dotted_quad(host: &[u8]) -> bool {
    let (mut dots, mut len, mut octet) = (0, 0, 0u32);
    for &b in host {
        if b == b'.' {
            if len == 0 || octet > 255 {
                return false;
            }
            (dots, len, octet) = (dots + 1, 0, 0);
        } else {
            len += 1;
            octet = octet * 10 + b.wrapping_sub(b'0') as u32;
            if len > 3 {
                return false;
            }
        }
    }
    dots == 3 && len > 0 && octet <= 255
}

/// True when every label of digits that a dot ends, before the first label holding a letter or
/// hyphen, is at most 3 digits and at most 255 (see [`scan_host`]).
fn octets_before_letters(host: &[u8]) -> bool {
    let mut k = 0;
    loop {
        let start = k;
        let mut octet = 0u32;
        while let Some(d) = host.get(k).filter(|b| b.is_ascii_digit()) {
            octet = (octet * 10 + (d - b'0') as u32).min(1000);
            k += 1;
        }
        if host.get(k) != Some(&b'.') {
            return true;
        }
        if k - start > 3 || octet > 255 {
            return false;
        }
        k += 1;
    }
}

fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in s.split(|&b| b == b'.') {
        if n == 4 || part.is_empty() || part.len() > 3 {
            return None;
        }
        octets[n] = parse_digits(part, 255)? as u8;
        n += 1;
    }
    (n == 4).then(|| Ipv4Addr::from(octets))
}

/// A parsed URI. It keeps offsets into its text rather than slices, so that it is small to
/// copy; the accessors return slices of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uri<'a> {
    raw: &'a [u8],
    at: u32,
    scheme: Scheme,
    host_type: Option<HostType>,
    port: Option<u16>,
    colon: u16,
    user_end: u16,
    pw_start: u16,
    host_start: u16,
    host_end: u16,
    params_start: u16,
    params_end: u16,
}

impl<'a> Uri<'a> {
    /// Parse an absolute URI found at offset `at` of the message.
    #[inline(always)]
    pub fn parse(s: &'a [u8], at: usize) -> Result<Uri<'a>, ParseError> {
        let bad = |off: usize| ParseError::new(ErrorKind::BadUri, at + off);
        if s.len() >= u16::MAX as usize || at > u32::MAX as usize {
            return Err(bad(0));
        }
        // `sip:` in any letter case (bit 0x20 folds only letters onto "sip"; the colon must
        // match exactly), else the general scheme scan.
        let sip_prefix = s
            .first_chunk::<4>()
            .is_some_and(|c| u32::from_le_bytes(*c) | 0x0020_2020 == u32::from_le_bytes(*b"sip:"));
        let (colon, scheme) = if sip_prefix && s.len() > 4 {
            (3, Scheme::Sip)
        } else {
            let mut i = 0;
            while i < s.len()
                && (s[i].is_ascii_alphanumeric() || matches!(s[i], b'+' | b'-' | b'.'))
            {
                i += 1;
            }
            if i == 0 || !s[0].is_ascii_alphabetic() || i + 1 >= s.len() || s[i] != b':' {
                return Err(bad(0));
            }
            let scheme_raw = &s[..i];
            let scheme = match scheme_raw.len() {
                3 if scheme_raw.eq_ignore_ascii_case(b"sip") => Scheme::Sip,
                4 if scheme_raw.eq_ignore_ascii_case(b"sips") => Scheme::Sips,
                3 if scheme_raw.eq_ignore_ascii_case(b"tel") => Scheme::Tel,
                _ => Scheme::Other,
            };
            (i, scheme)
        };
        let n = s.len() as u16;
        let mut uri = Uri {
            raw: s,
            at: at as u32,
            scheme,
            host_type: None,
            port: None,
            colon: colon as u16,
            user_end: colon as u16,
            pw_start: 0,
            host_start: n,
            host_end: n,
            params_start: n,
            params_end: n,
        };
        if !matches!(scheme, Scheme::Sip | Scheme::Sips) {
            if let Some(p) = s[colon + 1..]
                .iter()
                .position(|&b| b <= b' ' || b == 0x7f || b == b'<' || b == b'>' || b == b'"')
            {
                return Err(bad(colon + 1 + p));
            }
            return Ok(uri);
        }
        // userinfo: up to the first '@' (see the module docs).
        let mut h = colon + 1;
        if let Some(atpos) = find_byte(s, h, b'@') {
            // Neither class holds '@' or ':', so each run stops at or before `atpos`.
            let mut pw_start = 0;
            let mut k = run_end(s, h, USER);
            if k < atpos && s[k] == b':' {
                pw_start = k + 1;
                k = run_end(s, pw_start, PASSWORD);
            }
            if k != atpos {
                return Err(bad(k));
            }
            let user_end = if pw_start == 0 { atpos } else { pw_start - 1 };
            if user_end == h {
                return Err(bad(h));
            }
            uri.user_end = user_end as u16;
            uri.pw_start = pw_start as u16;
            h = atpos + 1;
        }
        // host [":" port]
        let (e, kind) = scan_host(s, h);
        let Some(kind) = kind else {
            return Err(ParseError::new(ErrorKind::BadHost, at + h));
        };
        uri.host_type = Some(kind);
        uri.host_start = h as u16;
        uri.host_end = e as u16;
        let mut i = e;
        if s.get(i) == Some(&b':') {
            let p0 = i + 1;
            i = p0;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            uri.port = Some(
                parse_digits(&s[p0..i], 65535)
                    .ok_or(ParseError::new(ErrorKind::BadPort, at + p0))? as u16,
            );
        }
        // uri-parameters = *( ";" pname [ "=" pvalue ] )
        uri.params_start = i as u16;
        while i < s.len() && s[i] == b';' {
            let n0 = i + 1;
            i = run_end(s, n0, PARAM);
            if i == n0 {
                return Err(bad(n0));
            }
            if s.get(i) == Some(&b'=') {
                let v0 = i + 1;
                i = run_end(s, v0, PARAM);
                if i == v0 {
                    return Err(bad(v0));
                }
            }
        }
        uri.params_end = i as u16;
        // headers = "?" header *( "&" header ); header = hname "=" hvalue
        if i < s.len() && s[i] == b'?' {
            i += 1;
            loop {
                let n0 = i;
                i = run_end(s, i, HNV);
                if i == n0 || s.get(i) != Some(&b'=') {
                    return Err(bad(i));
                }
                i = run_end(s, i + 1, HNV);
                if i < s.len() && s[i] == b'&' {
                    i += 1;
                    continue;
                }
                break;
            }
        }
        if i != s.len() {
            let delim = s[i] <= b' ' || matches!(s[i], b'<' | b'>' | b'"' | 0x7f);
            return Err(if i == e && !delim {
                ParseError::new(ErrorKind::BadHost, at + h)
            } else {
                bad(i)
            });
        }
        Ok(uri)
    }

    /// The whole URI text.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Offset of the URI in the message.
    pub fn at(&self) -> usize {
        self.at as usize
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The scheme text as written (e.g. `SIP`, `tel`).
    pub fn scheme_raw(&self) -> &'a [u8] {
        &self.raw[..self.colon as usize]
    }

    /// Everything after `scheme:`.
    pub fn opaque(&self) -> &'a [u8] {
        &self.raw[self.colon as usize + 1..]
    }

    /// True for `sip:` and `sips:` URIs.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// The user part (SIP/SIPS), escapes left in place.
    pub fn user(&self) -> Option<&'a [u8]> {
        let start = self.colon as usize + 1;
        let end = self.user_end as usize;
        (end > start).then(|| &self.raw[start..end])
    }

    /// The password (SIP/SIPS), discouraged by RFC 3261 but valid.
    pub fn password(&self) -> Option<&'a [u8]> {
        (self.pw_start != 0)
            .then(|| &self.raw[self.pw_start as usize..self.host_start as usize - 1])
    }

    /// The host as written (`[...]` kept for IPv6). Empty for non-SIP schemes.
    pub fn host(&self) -> &'a [u8] {
        &self.raw[self.host_start as usize..self.host_end as usize]
    }

    /// The host, typed (SIP/SIPS only; `None` otherwise).
    pub fn host_kind(&self) -> Option<Host<'a>> {
        host_of(self.host(), self.host_type?)
    }

    /// The port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The raw `;name=value` URI parameters (SIP/SIPS), including the leading `;`.
    pub fn params(&self) -> &'a [u8] {
        &self.raw[self.params_start as usize..self.params_end as usize]
    }

    /// The raw headers after `?` (SIP/SIPS), without the `?`.
    pub fn headers(&self) -> Option<&'a [u8]> {
        let e = self.params_end as usize;
        (e < self.raw.len()).then(|| &self.raw[e + 1..])
    }

    /// Iterate the URI parameters as `(name, value)`.
    pub fn param_iter(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let p: &'a [u8] = self.params();
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
        assert_eq!(u.scheme(), Scheme::Sip);
        assert_eq!(u.user(), Some(&b"tv-7"[..]));
        assert_eq!(u.host(), b"198.51.100.7");
        assert_eq!(u.port(), Some(5060));
        assert_eq!(
            u.host_kind(),
            Some(Host::Ipv4(Ipv4Addr::new(198, 51, 100, 7)))
        );
        assert_eq!(u.param(b"TRANSPORT"), Some(Some(&b"udp"[..])));
        assert_eq!(u.param(b"lr"), Some(None));
        assert_eq!(u.headers(), Some(&b"Subject=hi&X=1"[..]));
        let u = ok("SIPS:[2001:db8::10]:5061");
        assert_eq!(u.scheme(), Scheme::Sips);
        assert_eq!(u.user(), None);
        assert_eq!(u.host(), b"[2001:db8::10]");
        assert_eq!(u.port(), Some(5061));
        assert!(matches!(u.host_kind(), Some(Host::Ipv6(_))));
        let u = ok("sip:alice:secret@example.com");
        assert_eq!(u.password(), Some(&b"secret"[..]));
        assert_eq!(u.host_kind(), Some(Host::Name(b"example.com")));
    }

    #[test]
    fn torture_users() {
        // RFC 4475 §3.1.1.9: ';' in the user part.
        let u = ok("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some(&b"user;par=u%40example.net"[..]));
        assert_eq!(u.host(), b"example.com");
        // RFC 4475 §3.1.1.2: user-unreserved characters and a password.
        let u = ok(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(u.host(), b"example.com");
        assert_eq!(
            u.password(),
            Some(&b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"[..])
        );
        // RFC 4475 §3.1.1.4: escaped nulls.
        assert_eq!(
            ok("sip:null-%00-null@example.com").user(),
            Some(&b"null-%00-null"[..])
        );
    }

    #[test]
    fn other_schemes() {
        let u = ok("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(u.scheme(), Scheme::Tel);
        assert_eq!(u.opaque(), b"+1-201-555-0123;phone-context=example.com");
        assert!(u.host_kind().is_none());
        assert_eq!(ok("urn:uuid:f81d4fae").scheme, Scheme::Other);
    }

    /// The former one-pass host scanner, as the reference for `scan_host`.
    fn scan_host_reference(s: &[u8], i: usize) -> (usize, Option<HostType>) {
        let (mut e, mut numeric, mut label_len, mut labels) = (i, true, 0u32, 0u32);
        let (mut octet, mut prev, mut ok) = (0u32, b'.', true);
        while e < s.len() {
            let b = s[e];
            if b.is_ascii_digit() {
                octet = (octet * 10 + (b - b'0') as u32).min(1000);
                label_len += 1;
            } else if b.is_ascii_alphabetic() || b == b'-' {
                ok &= !(label_len == 0 && b == b'-');
                numeric = false;
                label_len += 1;
            } else if b == b'.' {
                ok &= label_len > 0 && prev != b'-';
                ok &= !numeric || (label_len <= 3 && octet <= 255);
                labels += 1;
                label_len = 0;
                octet = 0;
            } else {
                break;
            }
            prev = b;
            e += 1;
        }
        if e == i || prev == b'-' {
            return (e, None);
        }
        if numeric {
            ok &= labels == 3 && label_len > 0 && label_len <= 3 && octet <= 255;
            return (e, ok.then_some(HostType::Ipv4));
        }
        (e, ok.then_some(HostType::Name))
    }

    #[test]
    fn scan_host_matches_reference() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let alphabet = b"0123456789912255256.-.-aZ:;x_";
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..40 {
            for _ in 0..2000 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = next();
                        match r % 8 {
                            0 => (r as u8 >> 1) | (0x80 * (r as u8 & 1)),
                            1 => b'a' + (r >> 8) as u8 % 26,
                            _ => alphabet[(r >> 8) as usize % alphabet.len()],
                        }
                    })
                    .collect();
                let from = (next() as usize) % (len + 1);
                assert_eq!(
                    scan_host(&s, from),
                    scan_host_reference(&s, from),
                    "{s:?} from {from}"
                );
            }
        }
        for h in [
            "1.2.3.4",
            "10.example.com",
            "1234.example.com",
            "256.a",
            "1.2.3.4.",
            "a-.b",
        ] {
            assert_eq!(
                scan_host(h.as_bytes(), 0),
                scan_host_reference(h.as_bytes(), 0),
                "{h}"
            );
        }
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
        // A digit run longer than u32 holds is a bad host, not an overflow panic (also found by
        // fuzzing: `fuzz/corpus/uri/seed-crash-scan-host-octet-overflow`).
        assert_eq!(
            parse_host(b"8888888888", 0).unwrap_err().kind,
            ErrorKind::BadHost
        );
        assert_eq!(kind("sip:9999999999"), ErrorKind::BadHost);
        assert_eq!(kind("sip:user@36893116892368931168921"), ErrorKind::BadHost);
        assert_eq!(
            kind("sip:1.2.3.36893116892368931168921"),
            ErrorKind::BadHost
        );
        assert!(Uri::parse(b"sip:a.36893116892368931168921b.com", 0).is_ok());
        assert_eq!(kind("sip:x;=y"), ErrorKind::BadUri);
        assert_eq!(kind("sip:x?"), ErrorKind::BadUri);
        assert_eq!(kind("sip:x?a"), ErrorKind::BadUri);
        assert_eq!(Uri::parse(b"sip:a b", 7).unwrap_err().at, 12);
    }
}
