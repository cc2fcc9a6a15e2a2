//! The message builder: writes requests and responses into a caller-owned `Vec<u8>` that is
//! cleared and reused, so that building allocates nothing once the vector has grown.
//!
//! [`response_to`] implements RFC 3261 §8.2.6.2: the response copies every Via (the top one
//! gains `received`, and `rport` gets its value, per §18.2.1 and RFC 3581 §4), From, To (with
//! a tag added when the request had none), Call-ID and CSeq. Header names are written in their
//! full form whatever form the request used.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::message::{Message, RawMessage};
use super::name::HeaderName;
use super::uri::Host;
use super::via::{Rport, Via};

/// Appends one SIP message to a reused buffer.
pub struct Writer<'o> {
    out: &'o mut Vec<u8>,
}

impl<'o> Writer<'o> {
    /// Start a message in `out`, clearing what it held.
    pub fn new(out: &'o mut Vec<u8>) -> Writer<'o> {
        out.clear();
        Writer { out }
    }

    /// Start a message at the end of `out`, keeping what it holds (several datagrams in one
    /// buffer). [`Writer::len`] then counts the whole buffer.
    pub fn append(out: &'o mut Vec<u8>) -> Writer<'o> {
        Writer { out }
    }

    /// `Method SP Request-URI SP SIP/2.0 CRLF`.
    pub fn request_line(&mut self, method: &[u8], uri: &[u8]) -> &mut Self {
        self.push(method).push(b" ").push(uri).push(b" SIP/2.0\r\n")
    }

    /// `SIP/2.0 SP code SP reason CRLF`.
    pub fn status_line(&mut self, code: u16, reason: &[u8]) -> &mut Self {
        self.push(b"SIP/2.0 ")
            .push_u64(code as u64)
            .push(b" ")
            .push(reason)
            .push(b"\r\n")
    }

    /// A whole header line.
    pub fn header(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.begin(name).push(value).end()
    }

    /// A header line with a decimal value.
    pub fn header_u64(&mut self, name: &str, value: u64) -> &mut Self {
        self.begin(name).push_u64(value).end()
    }

    /// Start a header line (`Name: `); add its value with `push*`, close it with [`Writer::end`].
    pub fn begin(&mut self, name: &str) -> &mut Self {
        self.push(name.as_bytes()).push(b": ")
    }

    /// Close a header line.
    pub fn end(&mut self) -> &mut Self {
        self.push(b"\r\n")
    }

    /// Append raw bytes.
    #[inline]
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// Append a decimal number.
    pub fn push_u64(&mut self, mut v: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..])
    }

    /// Append a number as lowercase hexadecimal.
    pub fn push_hex(&mut self, mut v: u64) -> &mut Self {
        let mut digits = [0u8; 16];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b"0123456789abcdef"[(v & 15) as usize];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..])
    }

    /// Append an IP address (IPv6 without brackets).
    pub fn push_ip(&mut self, ip: IpAddr) -> &mut Self {
        match ip {
            // The common case without the formatting machinery.
            IpAddr::V4(v4) => {
                for (i, o) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        self.push(b".");
                    }
                    self.push_u64(o as u64);
                }
            }
            // Writing into a Vec cannot fail.
            IpAddr::V6(v6) => {
                let _ = write!(self.out, "{v6}");
            }
        }
        self
    }

    /// Append `host:port` with brackets around an IPv6 address (RFC 3261 `hostport`).
    pub fn push_hostport(&mut self, addr: SocketAddr) -> &mut Self {
        match addr.ip() {
            IpAddr::V4(ip) => self.push_ip(IpAddr::V4(ip)),
            IpAddr::V6(ip) => self.push(b"[").push_ip(IpAddr::V6(ip)).push(b"]"),
        };
        self.push(b":").push_u64(addr.port() as u64)
    }

    /// Write Content-Type (when `body` is not empty and a type is given), Content-Length, the
    /// empty line and the body. Returns the length of the buffer (the message's length for a
    /// writer made with [`Writer::new`]).
    pub fn finish(&mut self, content_type: Option<&[u8]>, body: &[u8]) -> usize {
        if let (Some(ct), false) = (content_type, body.is_empty()) {
            self.header("Content-Type", ct);
        }
        self.header_u64("Content-Length", body.len() as u64);
        self.push(b"\r\n").push(body);
        self.out.len()
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True when nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }
}

/// What a response adds to what it copies from the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseOpts<'x> {
    /// The request's source address: adds `received` and fills `rport` on the top Via.
    pub source: Option<SocketAddr>,
    /// A To tag to add when the request's To has none (RFC 3261 §8.2.6.2).
    pub to_tag: Option<&'x [u8]>,
}

/// Write the status line and the headers a response copies from `req` (RFC 3261 §8.2.6).
/// Add further headers with the writer, then call [`Writer::finish`].
pub fn response_to(
    w: &mut Writer<'_>,
    req: &Message<'_>,
    code: u16,
    reason: &[u8],
    opts: &ResponseOpts<'_>,
) {
    // The views were parsed during validation: reuse them rather than parse again.
    let views = Views {
        via: Some(*req.via()),
        to_lacks_tag: req.to().tag().is_none(),
        cseq: Some(req.cseq()),
    };
    write_response(w, req.raw(), &views, code, reason, opts);
}

/// Like [`response_to`] for a message that framed but failed validation (to answer it with
/// 400): headers are copied as they are, the top Via is rebuilt only when it parses, and a To
/// tag is added only when To parses without one. Returns false (writing nothing) when Via,
/// From, To, Call-ID or CSeq is missing: such a request cannot be answered.
pub fn response_to_raw(
    w: &mut Writer<'_>,
    req: &RawMessage<'_>,
    code: u16,
    reason: &[u8],
    opts: &ResponseOpts<'_>,
) -> bool {
    use HeaderName::*;
    if [Via, From, To, CallId, CSeq]
        .iter()
        .any(|&n| req.header(n).is_none())
    {
        return false;
    }
    let views = Views {
        via: req.via().ok(),
        to_lacks_tag: req.to().is_ok_and(|t| t.tag().is_none()),
        cseq: req.cseq().ok(),
    };
    write_response(w, req, &views, code, reason, opts);
    true
}

/// What the response needs parsed from the request.
struct Views<'a> {
    via: Option<Via<'a>>,
    to_lacks_tag: bool,
    cseq: Option<super::values::CSeq<'a>>,
}

fn write_response(
    w: &mut Writer<'_>,
    req: &RawMessage<'_>,
    views: &Views<'_>,
    code: u16,
    reason: &[u8],
    opts: &ResponseOpts<'_>,
) {
    use HeaderName::*;
    w.status_line(code, reason);
    let mut first_line = true;
    for h in req.headers_named(Via) {
        w.begin("Via");
        match (first_line, &views.via) {
            (true, Some(top)) => {
                write_top_via(w, top, opts.source);
                // The rest of the first Via line, after the top value (", other, values").
                let skip = (top.at() + top.raw().len()).saturating_sub(h.at);
                w.push(h.value.get(skip..).unwrap_or(&[]));
            }
            _ => {
                w.push(h.value);
            }
        }
        first_line = false;
        w.end();
    }
    for name in [From, To, CallId] {
        if let Some(h) = req.header(name) {
            w.begin(name.as_str()).push(h.value);
            if name == To && views.to_lacks_tag {
                if let Some(tag) = opts.to_tag {
                    w.push(b";tag=").push(tag);
                }
            }
            w.end();
        }
    }
    match views.cseq {
        Some(cseq) => w
            .begin("CSeq")
            .push_u64(cseq.seq as u64)
            .push(b" ")
            .push(cseq.method)
            .end(),
        None => w.header("CSeq", req.header(CSeq).map_or(&[][..], |h| h.value)),
    };
}

/// The top Via, rebuilt from its parts with `received`/`rport` set from the source address.
fn write_top_via(w: &mut Writer<'_>, v: &Via<'_>, source: Option<SocketAddr>) {
    w.push(v.protocol())
        .push(b"/")
        .push(v.version())
        .push(b"/")
        .push(v.transport())
        .push(b" ")
        .push(v.host());
    if let Some(p) = v.port() {
        w.push(b":").push_u64(p as u64);
    }
    let Some(src) = source else {
        w.push(v.params().raw());
        return;
    };
    let host_differs = match v.host_kind() {
        Host::Name(_) => true,
        h => h.ip() != Some(src.ip()),
    };
    let add_received = host_differs || v.rport() != Rport::Absent;
    for p in v.params().iter() {
        if p.name.eq_ignore_ascii_case(b"received") && add_received {
            continue;
        }
        w.push(b";").push(p.name);
        if p.name.eq_ignore_ascii_case(b"rport") {
            w.push(b"=").push_u64(src.port() as u64);
            continue;
        }
        if let Some(val) = p.value {
            w.push(b"=");
            if p.quoted {
                w.push(b"\"").push(val).push(b"\"");
            } else {
                w.push(val);
            }
        }
    }
    if add_received {
        w.push(b";received=").push_ip(src.ip());
    }
}
