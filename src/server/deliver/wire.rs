//! The MESSAGE on the wire (RFC 3428) and where it goes (see the parent module).

use std::net::SocketAddr;

use super::BRANCH_PREFIX;
use crate::sip::{Host, Uri, Writer};

/// Where a push to a client goes: its source address, or its Contact's host and port when the
/// routing rule says so and the host is an IP address (the server resolves no names).
pub(in crate::server) fn destination(
    to_source: bool,
    contact: &[u8],
    source: SocketAddr,
) -> SocketAddr {
    if to_source {
        return source;
    }
    match Uri::parse(contact, 0)
        .ok()
        .and_then(|u| Some((u.host_kind()?, u.port())))
    {
        Some((Host::Ipv4(ip), port)) => SocketAddr::from((ip, port.unwrap_or(5060))),
        Some((Host::Ipv6(ip), port)) => SocketAddr::from((ip, port.unwrap_or(5060))),
        _ => source,
    }
}

/// True when `contact` names an IP address the server can send to.
pub(in crate::server) fn contact_is_ip(contact: &[u8]) -> bool {
    Uri::parse(contact, 0)
        .ok()
        .and_then(|u| u.host_kind())
        .is_some_and(|h| h.ip().is_some())
}

/// What one MESSAGE is made of.
pub(super) struct MessageParts<'a> {
    pub(super) contact: &'a [u8],
    pub(super) id: &'a [u8],
    pub(super) domain: &'a [u8],
    pub(super) local: &'a [u8],
    pub(super) boot: &'a [u8; 8],
    pub(super) txn: (u32, u32),
    /// What every MESSAGE of one control message shares, from CSeq to the end of the body
    /// ([`message_tail`]), written once at submission.
    pub(super) tail: &'a [u8],
}

/// A MESSAGE request (RFC 3428) to one client; returns its length. Branch, From tag and
/// Call-ID all carry `<boot>-<slot>-<generation>` of the transaction: unique per request, and
/// the branch is what matches the response back (see the module docs).
pub(super) fn write_message(w: &mut Writer<'_>, m: &MessageParts<'_>) -> usize {
    let name = |w: &mut Writer<'_>| {
        w.push(m.boot)
            .push(b"-")
            .push_hex(m.txn.0 as u64)
            .push(b"-")
            .push_hex(m.txn.1 as u64);
    };
    w.request_line(b"MESSAGE", m.contact);
    w.begin("Via")
        .push(b"SIP/2.0/UDP ")
        .push(m.local)
        .push(b";branch=")
        .push(BRANCH_PREFIX);
    name(w);
    w.push(b";rport").end();
    w.header("Max-Forwards", b"70");
    // RFC 3261 §8.1.1.3: a new From tag for every request outside a dialog.
    w.begin("From")
        .push(b"<sip:sippush@")
        .push(m.local)
        .push(b">;tag=sp");
    name(w);
    w.end();
    w.begin("To")
        .push(b"<sip:")
        .push(m.id)
        .push(b"@")
        .push(m.domain)
        .push(b">")
        .end();
    w.begin("Call-ID").push(b"sp-");
    name(w);
    w.end();
    w.push(m.tail);
    w.len()
}

/// The part of a control message's MESSAGEs that is the same for every target and transaction:
/// CSeq, Push-Id (stable across every transaction of the message), Content-Type,
/// Content-Length, the empty line and the body.
pub(in crate::server) fn message_tail(
    boot: &[u8; 8],
    seq: u64,
    content_type: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + content_type.len() + 96);
    let mut w = Writer::new(&mut out);
    w.header("CSeq", b"1 MESSAGE");
    w.begin("Push-Id").push(boot).push(b"-").push_u64(seq).end();
    w.finish(Some(content_type), payload);
    out
}
