//! The bytes an agent sends: its REGISTER and OPTIONS requests (RFC 3261 §8.1.1, §10.2, §11)
//! and its answers to the server's MESSAGEs (§8.2.6, RFC 3428 §7), plus the one-answer
//! outbox that holds an answer between `handle_datagram` and `poll_transmit`.
//!
//! Everything is written with [`crate::sip::Writer`] into a reused buffer: no allocation once
//! the buffer has grown. Identifiers are derived from the agent's 64-bit nonce so that nothing
//! per request is stored:
//! - From tag and the To tag of answers: the nonce in hex (stable for the agent's life, so a
//!   retransmitted MESSAGE gets the same answer, §8.2.6.2);
//! - REGISTER Call-ID `<nonce>@<host:port>`, the same for every registration of this agent
//!   (§10.2.4), with CSeq increasing by one per new REGISTER;
//! - OPTIONS Call-ID `<nonce>.<n>@<host:port>`: a new one per heartbeat;
//! - branch `z9hG4bK<nonce>.<n>` with `n` counting transactions (§8.1.1.7).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::Profile;
use super::txn::Kind;
use crate::sip::{self, Message, ResponseOpts, Writer};

const USER_AGENT: &[u8] = b"sippush/0.1";
const ALLOW: &[u8] = b"MESSAGE, OPTIONS";

/// The per-agent names a request needs.
pub(super) struct Names<'a> {
    pub id: &'a [u8],
    pub hostport: &'a [u8],
    /// Contact parameters after the URI (`;class="a,b"` or nothing).
    pub contact_params: &'a [u8],
    pub nonce: u64,
}

/// A number as exactly 16 lowercase hex digits.
pub(super) fn hex16(v: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, d) in out.iter_mut().enumerate() {
        *d = b"0123456789abcdef"[(v >> (60 - 4 * i) & 15) as usize];
    }
    out
}

/// The branch of transaction `n`, on the stack: `z9hG4bK` + 16 hex + `.` + up to 8 hex.
pub(super) struct Branch {
    bytes: [u8; 32],
    len: usize,
}

impl Branch {
    pub fn new(nonce: u64, n: u32) -> Branch {
        let mut bytes = [0u8; 32];
        bytes[..7].copy_from_slice(b"z9hG4bK");
        bytes[7..23].copy_from_slice(&hex16(nonce));
        bytes[23] = b'.';
        let digits = hex16(n as u64);
        let skip = digits.iter().take(15).take_while(|&&d| d == b'0').count();
        let tail = &digits[skip..];
        bytes[24..24 + tail.len()].copy_from_slice(tail);
        Branch {
            bytes,
            len: 24 + tail.len(),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Write the request of a transaction of `kind` (REGISTER asks for `expires` seconds).
pub(super) fn write_request(
    w: &mut Writer<'_>,
    p: &Profile,
    names: &Names<'_>,
    kind: Kind,
    (cseq, branch, expires): (u32, u32, u32),
) {
    let domain = p.domain.as_bytes();
    let nonce = hex16(names.nonce);
    let branch_text = Branch::new(names.nonce, branch);
    w.push(kind.method())
        .push(b" sip:")
        .push(domain)
        .push(b" SIP/2.0\r\n");
    w.begin("Via")
        .push(b"SIP/2.0/UDP ")
        .push(names.hostport)
        .push(b";branch=")
        .push(branch_text.as_bytes())
        .push(b";rport")
        .end();
    w.header("Max-Forwards", b"70");
    w.begin("From")
        .push(b"<sip:")
        .push(names.id)
        .push(b"@")
        .push(domain)
        .push(b">;tag=")
        .push(&nonce)
        .end();
    match kind {
        Kind::Register | Kind::Deregister => {
            w.begin("To")
                .push(b"<sip:")
                .push(names.id)
                .push(b"@")
                .push(domain)
                .push(b">")
                .end();
            w.begin("Call-ID")
                .push(&nonce)
                .push(b"@")
                .push(names.hostport)
                .end();
            w.begin("CSeq")
                .push_u64(cseq as u64)
                .push(b" REGISTER")
                .end();
            w.begin("Contact")
                .push(b"<sip:")
                .push(names.id)
                .push(b"@")
                .push(names.hostport)
                .push(b">")
                .push(names.contact_params)
                .end();
            let expires = if kind == Kind::Deregister { 0 } else { expires };
            w.header_u64("Expires", expires as u64);
        }
        Kind::Options => {
            w.begin("To").push(b"<sip:").push(domain).push(b">").end();
            w.begin("Call-ID")
                .push(&nonce)
                .push(b".")
                .push_hex(branch as u64)
                .push(b"@")
                .push(names.hostport)
                .end();
            w.header("CSeq", b"1 OPTIONS");
            w.header("Accept", b"application/sdp, text/plain");
        }
    }
    w.header("User-Agent", USER_AGENT);
    w.finish(None, b"");
}

/// Answer a request (RFC 3261 §8.2.6): headers copied by [`sip::response_to`], the To tag
/// derived from the nonce, `Allow` on 200 to OPTIONS and on 405.
pub(super) fn write_answer(
    w: &mut Writer<'_>,
    req: &Message<'_>,
    src: SocketAddr,
    nonce: u64,
    (code, reason): (u16, &[u8]),
) {
    let tag = hex16(nonce);
    let opts = ResponseOpts {
        source: Some(src),
        to_tag: Some(&tag),
    };
    sip::response_to(w, req, code, reason, &opts);
    if code == 405 || req.method() == Some(b"OPTIONS") {
        w.header("Allow", ALLOW);
    }
    w.header("Server", USER_AGENT);
    w.finish(None, b"");
}

/// Bytes of the destination suffix of a held answer.
const DEST_LEN: usize = 19;

/// Append the answer's destination after the answer in the outbox (16 address bytes, the
/// port, the family), so that holding one answer costs no field beyond the buffer itself.
pub(super) fn seal_answer(outbox: &mut Vec<u8>, dest: SocketAddr) {
    let (ip, family) = match dest.ip() {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), 4u8),
        IpAddr::V6(v6) => (v6.octets(), 6u8),
    };
    outbox.extend_from_slice(&ip);
    outbox.extend_from_slice(&dest.port().to_be_bytes());
    outbox.push(family);
}

/// Move the held answer into `buf`; returns its destination. Empties the outbox (keeping its
/// capacity).
pub(super) fn take_answer(outbox: &mut Vec<u8>, buf: &mut Vec<u8>) -> Option<SocketAddr> {
    let split = outbox.len().checked_sub(DEST_LEN)?;
    let suffix = outbox.get(split..)?;
    let mut ip = [0u8; 16];
    ip.copy_from_slice(suffix.get(..16)?);
    let port = u16::from_be_bytes([*suffix.get(16)?, *suffix.get(17)?]);
    let addr: IpAddr = match suffix.get(18)? {
        4 => Ipv6Addr::from(ip)
            .to_ipv4_mapped()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V4),
        _ => IpAddr::V6(Ipv6Addr::from(ip)),
    };
    buf.clear();
    buf.extend_from_slice(outbox.get(..split)?);
    outbox.clear();
    Some(SocketAddr::new(addr, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_and_hex() {
        assert_eq!(&hex16(0xab), b"00000000000000ab");
        assert_eq!(Branch::new(1, 0).as_bytes(), b"z9hG4bK0000000000000001.0");
        assert_eq!(
            Branch::new(u64::MAX, u32::MAX).as_bytes(),
            b"z9hG4bKffffffffffffffff.ffffffff"
        );
    }

    #[test]
    fn outbox_round_trip_v4_and_v6() {
        for dest in ["198.51.100.7:5060", "[2001:db8::1]:5070"] {
            let dest: SocketAddr = dest.parse().unwrap();
            let mut outbox = vec![0x55; 3];
            seal_answer(&mut outbox, dest);
            let mut buf = vec![1, 2, 3, 4, 5];
            assert_eq!(take_answer(&mut outbox, &mut buf), Some(dest));
            assert_eq!(buf, vec![0x55; 3]);
            assert!(outbox.is_empty());
            assert_eq!(take_answer(&mut outbox, &mut buf), None);
        }
    }
}
