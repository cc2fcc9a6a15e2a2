//! Via values (RFC 3261 §20.42, §25.1; RFC 3581 `rport`):
//! `SIP / 2.0 / transport LWS sent-by *( SEMI via-params )`, with white space (folded lines
//! included) allowed around each `/` (RFC 4475 §3.1.1.1).

use super::chars::{is_token, is_ws, parse_digits, skip_ws, token_end};
use super::error::{ErrorKind, ParseError};
use super::params::Params;
use super::uri::{Host, parse_host, split_hostport};

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

/// One parsed Via value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via<'a> {
    /// The protocol name, normally `SIP`.
    pub protocol: &'a [u8],
    /// The protocol version, normally `2.0`.
    pub version: &'a [u8],
    /// The transport (`UDP`, `TCP`, `TLS`, `SCTP`, `WS` ...), as written.
    pub transport: &'a [u8],
    /// The sent-by host as written (`[...]` kept for IPv6).
    pub host: &'a [u8],
    /// The sent-by host, typed.
    pub host_kind: Host<'a>,
    /// The sent-by port, if given.
    pub port: Option<u16>,
    /// All via parameters, raw.
    pub params: Params<'a>,
    /// `branch` (RFC 3261 §8.1.1.7).
    pub branch: Option<&'a [u8]>,
    /// `received` (RFC 3261 §18.2.1).
    pub received: Option<&'a [u8]>,
    /// `rport` (RFC 3581).
    pub rport: Rport,
    /// Offset of the value in the message.
    pub at: usize,
    /// The whole value, raw.
    pub raw: &'a [u8],
}

impl<'a> Via<'a> {
    /// Parse one trimmed Via value found at offset `at`.
    pub fn parse(s: &'a [u8], at: usize) -> Result<Via<'a>, ParseError> {
        let bad = |off: usize| ParseError::new(ErrorKind::BadVia, at + off);
        let mut i = 0;
        let mut parts: [&[u8]; 3] = [&[]; 3];
        for (k, part) in parts.iter_mut().enumerate() {
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
            *part = &s[start..i];
        }
        // sent-by is separated from the protocol by LWS.
        if i >= s.len() || !is_ws(s[i]) {
            return Err(bad(i));
        }
        i = skip_ws(s, i);
        let sb_start = i;
        while i < s.len() && !is_ws(s[i]) && s[i] != b';' {
            i += 1;
        }
        let (host, port) = split_hostport(&s[sb_start..i], at + sb_start)?;
        let host_kind = parse_host(host, at + sb_start)?;
        let params = Params::parse(&s[i..], at + i)?;
        let mut branch = None;
        let mut received = None;
        let mut rport = Rport::Absent;
        for p in params.iter() {
            if p.name.eq_ignore_ascii_case(b"branch") {
                branch = match p.value {
                    Some(v) if !p.quoted && v.iter().all(|&b| is_token(b)) => Some(v),
                    _ => return Err(bad(i)),
                };
            } else if p.name.eq_ignore_ascii_case(b"received") {
                received = match p.value {
                    Some(v) => Some(v),
                    None => return Err(bad(i)),
                };
            } else if p.name.eq_ignore_ascii_case(b"rport") {
                rport = match p.value {
                    None => Rport::Requested,
                    Some(v) => match parse_digits(v, 65535) {
                        Some(n) => Rport::Value(n as u16),
                        None => return Err(ParseError::new(ErrorKind::BadPort, at + i)),
                    },
                };
            }
        }
        Ok(Via {
            protocol: parts[0],
            version: parts[1],
            transport: parts[2],
            host,
            host_kind,
            port,
            params,
            branch,
            received,
            rport,
            at,
            raw: s,
        })
    }

    /// True when the branch carries the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch.is_some_and(|b| b.starts_with(b"z9hG4bK"))
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
        assert_eq!(v.transport, b"UDP");
        assert_eq!(v.host_kind, Host::Ipv4(Ipv4Addr::new(198, 51, 100, 7)));
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch, Some(&b"z9hG4bK776asdhds"[..]));
        assert_eq!(v.rport, Rport::Requested);
        assert!(v.has_rfc3261_branch());
        let v = Via::parse(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;rport=1234 ; branch = 390skdjuw;received=10.0.0.1", 0).unwrap();
        assert_eq!(v.version, b"2.0");
        assert_eq!(v.host, b"192.0.2.2");
        assert_eq!(v.port, None);
        assert_eq!(v.rport, Rport::Value(1234));
        assert_eq!(v.branch, Some(&b"390skdjuw"[..]));
        assert_eq!(v.received, Some(&b"10.0.0.1"[..]));
        let v = Via::parse(b"SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx", 0).unwrap();
        assert_eq!(v.transport, b"TCP");
        assert_eq!(v.host, b"[2001:db8::9]");
        assert_eq!(v.port, Some(5061));
        let v = Via::parse(b"SIP/2.0/UDP client.example.com", 0).unwrap();
        assert_eq!(v.host_kind, Host::Name(b"client.example.com"));
        assert_eq!(v.branch, None);
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
