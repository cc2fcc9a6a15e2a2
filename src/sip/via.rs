//! Via values (RFC 3261 §20.42, §25.1; RFC 3581 `rport`):
//! `SIP / 2.0 / transport LWS sent-by *( SEMI via-params )`, with white space (folded lines
//! included) allowed around each `/` (RFC 4475 §3.1.1.1).

use super::chars::{is_token, is_ws, parse_digits, skip_ws, token_end};
use super::error::{ErrorKind, ParseError};
use super::params::Params;
use super::uri::{Host, HostType, host_of, scan_host};

/// The `rport` parameter of RFC 3581.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rport {
    /// No `rport` parameter.
    Absent,
    /// `rport` without a value: the client asks for the response at its source port.
    Requested,
    /// `rport=N`.
    Value(u16),
}

/// One parsed Via value. It keeps offsets into its text so that it is small to copy; the
/// accessors return slices of the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via<'a> {
    raw: &'a [u8],
    at: u32,
    host_type: HostType,
    port: Option<u16>,
    rport: Rport,
    proto: [(u16, u16); 3],
    host: (u16, u16),
    params: (u16, u16),
    branch: (u16, u16),
    received: (u16, u16),
}

/// Offsets of `sub` (a slice of `whole`) in `whole`.
#[inline]
fn span(whole: &[u8], sub: &[u8]) -> (u16, u16) {
    let start = (sub.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    (start as u16, (start + sub.len()) as u16)
}

impl<'a> Via<'a> {
    /// Parse one trimmed Via value found at offset `at`.
    pub fn parse(s: &'a [u8], at: usize) -> Result<Via<'a>, ParseError> {
        let (v, end) = Via::parse_item(s, at, false)?;
        debug_assert_eq!(end, s.len());
        Ok(v)
    }

    /// Parse the Via value that starts `s`; with `list`, a `,` ends it. Returns the value and
    /// the index where it ends.
    #[inline(always)]
    pub fn parse_item(s: &'a [u8], at: usize, list: bool) -> Result<(Via<'a>, usize), ParseError> {
        let bad = |off: usize| ParseError::new(ErrorKind::BadVia, at + off);
        if s.len() >= u16::MAX as usize {
            return Err(bad(0));
        }
        let mut proto = [(0u16, 0u16); 3];
        let mut i = 0;
        if s.len() > 8 && s[..8].eq_ignore_ascii_case(b"SIP/2.0/") && is_token(s[8]) {
            // The common spelling, without white space around the slashes.
            i = token_end(s, 8);
            proto = [(0, 3), (4, 7), (8, i as u16)];
        } else {
            for (k, part) in proto.iter_mut().enumerate() {
                if k > 0 {
                    i = skip_ws(s, i);
                    if i >= s.len() || s[i] != b'/' {
                        return Err(bad(i));
                    }
                    i = skip_ws(s, i + 1);
                }
                let start = i;
                i = token_end(s, i);
                if i == start {
                    return Err(bad(start));
                }
                *part = (start as u16, i as u16);
            }
        }
        // sent-by is separated from the protocol by LWS.
        if i >= s.len() || !is_ws(s[i]) {
            return Err(bad(i));
        }
        i = skip_ws(s, i);
        let sb_start = i;
        let (host_end, host_type) = scan_host(s, i);
        let host_type = host_type.ok_or(ParseError::new(ErrorKind::BadHost, at + sb_start))?;
        i = host_end;
        let mut port = None;
        if s.get(i) == Some(&b':') {
            let p0 = i + 1;
            i = p0;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            port = Some(
                parse_digits(&s[p0..i], 65535)
                    .ok_or(ParseError::new(ErrorKind::BadPort, at + p0))? as u16,
            );
        }
        if i < s.len() && !is_ws(s[i]) && s[i] != b';' && s[i] != b',' {
            return Err(ParseError::new(ErrorKind::BadHost, at + sb_start));
        }
        let mut branch = (0, 0);
        let mut received = (0, 0);
        let mut rport = Rport::Absent;
        let mut fail = None;
        let (params, pend) = Params::scan(&s[i..], at + i, list, |p| {
            let n = p.name;
            if n.len() == 6 && n.eq_ignore_ascii_case(b"branch") {
                match p.value {
                    Some(v) if !p.quoted && v.first() != Some(&b'[') => branch = span(s, v),
                    _ => fail = Some(ErrorKind::BadVia),
                }
            } else if n.len() == 8 && n.eq_ignore_ascii_case(b"received") {
                match p.value {
                    Some(v) => received = span(s, v),
                    None => fail = Some(ErrorKind::BadVia),
                }
            } else if n.len() == 5 && n.eq_ignore_ascii_case(b"rport") {
                rport = match p.value {
                    None => Rport::Requested,
                    Some(v) => match parse_digits(v, 65535) {
                        Some(port) => Rport::Value(port as u16),
                        None => {
                            fail = Some(ErrorKind::BadPort);
                            Rport::Absent
                        }
                    },
                };
            }
        })?;
        if let Some(kind) = fail {
            return Err(ParseError::new(kind, at + i));
        }
        let end = i + pend;
        let via = Via {
            raw: &s[..end],
            at: at as u32,
            host_type,
            port,
            rport,
            proto,
            host: (sb_start as u16, host_end as u16),
            params: span(s, params.raw()),
            branch,
            received,
        };
        Ok((via, end))
    }

    fn slice(&self, (a, b): (u16, u16)) -> &'a [u8] {
        self.raw.get(a as usize..b as usize).unwrap_or(&[])
    }

    /// The protocol name, normally `SIP`.
    pub fn protocol(&self) -> &'a [u8] {
        self.slice(self.proto[0])
    }
    /// The protocol version, normally `2.0`.
    pub fn version(&self) -> &'a [u8] {
        self.slice(self.proto[1])
    }
    /// The transport (`UDP`, `TCP`, `TLS`, `SCTP`, `WS` ...), as written.
    pub fn transport(&self) -> &'a [u8] {
        self.slice(self.proto[2])
    }
    /// The sent-by host as written (`[...]` kept for IPv6).
    pub fn host(&self) -> &'a [u8] {
        self.slice(self.host)
    }
    /// The sent-by host, typed.
    pub fn host_kind(&self) -> Host<'a> {
        host_of(self.host(), self.host_type).unwrap_or(Host::Name(self.host()))
    }
    /// The sent-by port, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
    /// All via parameters, raw and validated.
    pub fn params(&self) -> Params<'a> {
        Params::trusted(self.slice(self.params))
    }
    /// `branch` (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<&'a [u8]> {
        (self.branch.1 > 0).then(|| self.slice(self.branch))
    }
    /// `received` (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&'a [u8]> {
        (self.received.1 > 0).then(|| self.slice(self.received))
    }
    /// `rport` (RFC 3581).
    pub fn rport(&self) -> Rport {
        self.rport
    }
    /// Offset of the value in the message.
    pub fn at(&self) -> usize {
        self.at as usize
    }
    /// The whole value, raw.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// True when the branch carries the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(b"z9hG4bK"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn plain_and_tortured() {
        let v = Via::parse(
            b"SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport",
            0,
        )
        .unwrap();
        assert_eq!(v.transport(), b"UDP");
        assert_eq!(v.host_kind(), Host::Ipv4(Ipv4Addr::new(198, 51, 100, 7)));
        assert_eq!(v.port(), Some(5060));
        assert_eq!(v.branch(), Some(&b"z9hG4bK776asdhds"[..]));
        assert_eq!(v.rport(), Rport::Requested);
        assert!(v.has_rfc3261_branch());
        let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;rport=1234 ; branch = 390skdjuw;received=10.0.0.1", 0).unwrap();
        assert_eq!(v.version(), b"2.0");
        assert_eq!(v.host(), b"192.0.2.2");
        assert_eq!(v.port(), None);
        assert_eq!(v.rport(), Rport::Value(1234));
        assert_eq!(v.branch(), Some(&b"390skdjuw"[..]));
        assert_eq!(v.received(), Some(&b"10.0.0.1"[..]));
        let v = Via::parse(b"SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx", 0).unwrap();
        assert_eq!(v.transport(), b"TCP");
        assert_eq!(v.host(), b"[2001:db8::9]");
        assert_eq!(v.port(), Some(5061));
        let v = Via::parse(b"SIP/2.0/UDP client.example.com", 0).unwrap();
        assert_eq!(v.host_kind(), Host::Name(b"client.example.com"));
        assert_eq!(v.branch(), None);
    }

    #[test]
    fn bad_vias() {
        let kind = |s: &str| Via::parse(s.as_bytes(), 0).unwrap_err().kind;
        assert_eq!(kind("SIP/2.0 host"), ErrorKind::BadVia);
        assert_eq!(kind("SIP/2.0/UDP"), ErrorKind::BadVia);
        assert_eq!(kind("SIP/2.0/UDP "), ErrorKind::BadHost);
        assert_eq!(kind("SIP/2.0/UDP h:70000"), ErrorKind::BadPort);
        assert_eq!(kind("SIP/2.0/UDP h;branch"), ErrorKind::BadVia);
        assert_eq!(kind("SIP/2.0/UDP h;rport=x"), ErrorKind::BadPort);
        assert_eq!(kind("SIP/2.0/UDP h;branch=\"z9\""), ErrorKind::BadVia);
        assert_eq!(kind("SIP/2.0/UDP h;;"), ErrorKind::BadParam);
    }
}
