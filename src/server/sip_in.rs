//! Incoming datagrams: keep-alives, requests (REGISTER, OPTIONS, everything else), responses to
//! our MESSAGEs, and the answers to malformed input.
//!
//! - A CRLF CRLF keep-alive is answered with one CRLF (RFC 5626 §3.5.1); it carries no identity,
//!   so it keeps NAT bindings open but does not refresh a registration.
//! - OPTIONS from a registered client (From URI user) is a heartbeat: 200 OK, `last_seen` and
//!   the source address are updated (following a NAT rebinding). OPTIONS from anyone else is a
//!   capability query: 200 OK, no state.
//! - ACK is never answered (RFC 3261 §17.2.1). Other methods get 405 with Allow; a REGISTER or
//!   OPTIONS with a Require (we support no extension) gets 420 (§8.2.2.3): the method is
//!   inspected first (§8.2.1).
//! - Malformed input: a request whose headers frame is answered 400 with the failed rule as the
//!   reason phrase (505 for another SIP version), when it carries what a response needs and is
//!   not an ACK; everything else is dropped and counted.
//! - Responses always go to the request's source address (symmetric response routing, as
//!   RFC 3581 prescribes for `rport`; we apply it to every request, as Kamailio's
//!   `force_rport` does).

use std::net::SocketAddr;

use super::output::Output;
use super::register::RegAnswer;
use super::{Drop, Metrics, Server};
use crate::rand::hash_bytes;
use crate::sip::{
    self, Disposition, Header, HeaderName, MAX_HEADERS, Message, ResponseOpts, Writer,
};

const ALLOW: &[u8] = b"REGISTER, OPTIONS";
const SERVER: &[u8] = b"sippush/0.1";

impl Server {
    pub(super) fn on_datagram(&mut self, src: SocketAddr, bytes: &[u8]) {
        if bytes.len() >= 2 && bytes.iter().all(|&b| b == b'\r' || b == b'\n') {
            if bytes.len() >= 4 {
                self.metrics.keepalives += 1;
                self.out.push_raw(src, b"\r\n");
            }
            return; // a lone CRLF is a pong: nothing to answer
        }
        if src == self.cfg.sip_addr {
            self.metrics.drop(Drop::Loop);
            return;
        }
        let mut headers = [Header::EMPTY; MAX_HEADERS];
        let raw = match sip::parse_raw(bytes, &mut headers) {
            Ok(raw) => raw,
            Err(e) => {
                log::debug!("{src}: dropped: {e}");
                self.metrics.parse_error(e.kind);
                self.metrics.drop(Drop::Garbage);
                return;
            }
        };
        if !raw.is_request() {
            // Responses only need what matches them to a transaction (RFC 3261 §17.1.3).
            match raw.check_response() {
                Ok((via, cseq)) if cseq.method == b"MESSAGE" => {
                    self.on_message_response(raw.status().unwrap_or(0), via.branch())
                }
                Ok(_) => self.metrics.drop(Drop::UnmatchedResponse),
                Err(e) => {
                    log::debug!("{src}: malformed response: {e}");
                    self.metrics.parse_error(e.kind);
                    self.metrics.drop(Drop::BadResponse);
                }
            }
            return;
        }
        let msg = match raw.validate() {
            Ok(m) => m,
            Err(e) => {
                log::debug!("{src}: malformed: {e}");
                self.metrics.parse_error(e.kind);
                if raw.method() == Some(b"ACK") {
                    // Not even a malformed ACK is answered (RFC 3261 §17.2.1).
                    self.metrics.drop(Drop::Ack);
                    return;
                }
                match e.disposition(true) {
                    Disposition::Respond(code) => {
                        self.answer_malformed(src, &raw, code, e.kind.reason())
                    }
                    Disposition::Drop => self.metrics.drop(Drop::Unanswerable),
                }
                return;
            }
        };
        match msg.method().unwrap_or(b"") {
            b"ACK" => self.metrics.drop(Drop::Ack),
            // RFC 3261 §8.2: the method is inspected (405) before the headers (420).
            method @ (b"REGISTER" | b"OPTIONS") => {
                if let Some(req) = msg.header(HeaderName::Require) {
                    reply(
                        &mut self.out,
                        &mut self.metrics,
                        self.hash_seed,
                        (src, &msg),
                        (420, b"Bad Extension"),
                        |w| {
                            w.header("Unsupported", req.value);
                        },
                    );
                    return;
                }
                if method == b"REGISTER" {
                    let answer = self.register(src, &msg);
                    self.reply_register(src, &msg, answer);
                } else {
                    self.on_options(src, &msg);
                }
            }
            // RFC 3261 §9.2: a CANCEL matching no server transaction (we have none: every
            // request is answered at once) gets 481.
            b"CANCEL" => reply(
                &mut self.out,
                &mut self.metrics,
                self.hash_seed,
                (src, &msg),
                (481, b"Call/Transaction Does Not Exist"),
                |_| {},
            ),
            _ => reply(
                &mut self.out,
                &mut self.metrics,
                self.hash_seed,
                (src, &msg),
                (405, b"Method Not Allowed"),
                |w| {
                    w.header("Allow", ALLOW);
                },
            ),
        }
    }

    fn on_options(&mut self, src: SocketAddr, msg: &Message<'_>) {
        let now = self.now;
        let key = msg.from().uri.user().and_then(|id| self.reg.find(id));
        match key {
            Some(k) => {
                let contact_ip = self
                    .reg
                    .get(k)
                    .is_some_and(|c| super::deliver::contact_is_ip(c.contact()));
                let to_source = self.route_to_source(msg.via(), src, contact_ip);
                if let Some(c) = self.reg.get_mut(k) {
                    c.last_seen = now;
                    c.source = src.into();
                    c.route_to_source = to_source;
                }
                self.metrics.heartbeats_options += 1;
                self.refresh_destination(k);
            }
            None => self.metrics.options_unknown += 1,
        }
        reply(
            &mut self.out,
            &mut self.metrics,
            self.hash_seed,
            (src, msg),
            (200, b"OK"),
            |w| {
                w.header("Allow", ALLOW);
                w.header("Accept", b"text/plain, application/json");
            },
        );
    }

    fn reply_register(&mut self, src: SocketAddr, msg: &Message<'_>, answer: RegAnswer) {
        match answer {
            RegAnswer::Ok(binding) => {
                let binding = binding.and_then(|k| self.reg.get(k));
                reply(
                    &mut self.out,
                    &mut self.metrics,
                    self.hash_seed,
                    (src, msg),
                    (200, b"OK"),
                    |w| {
                        if let Some(c) = binding {
                            w.begin("Contact")
                                .push(b"<")
                                .push(c.contact())
                                .push(b">;expires=")
                                .push_u64(c.granted as u64)
                                .end();
                        }
                    },
                );
            }
            RegAnswer::Error(code, reason, extra) => {
                self.metrics.registrations_refused += 1;
                reply(
                    &mut self.out,
                    &mut self.metrics,
                    self.hash_seed,
                    (src, msg),
                    (code, reason.as_bytes()),
                    |w| {
                        if let Some((name, value)) = extra {
                            w.header_u64(name, value as u64);
                        }
                    },
                );
            }
        }
    }

    fn answer_malformed(
        &mut self,
        src: SocketAddr,
        raw: &sip::RawMessage<'_>,
        code: u16,
        reason: &str,
    ) {
        let call_id = raw.header(HeaderName::CallId).map_or(&[][..], |h| h.value);
        let from_tag = raw.from().ok().and_then(|f| f.tag()).unwrap_or(b"");
        let tag = to_tag(self.hash_seed, call_id, from_tag);
        let opts = ResponseOpts {
            source: Some(src),
            to_tag: Some(&tag),
        };
        let mut answered = false;
        self.out.push(src, |w| {
            // Writes nothing (so nothing is sent) when the request cannot be answered.
            if sip::response_to_raw(w, raw, code, reason.as_bytes(), &opts) {
                w.header("Server", SERVER);
                w.finish(None, b"");
                answered = true;
            }
        });
        if answered {
            self.metrics.response_sent(code);
        } else {
            self.metrics.drop(Drop::Unanswerable);
        }
    }
}

/// Queue a response to `msg` with the headers `extra` adds. A free function so that callers can
/// read the table while the output queue is borrowed.
fn reply(
    out: &mut Output,
    metrics: &mut Metrics,
    seed: u64,
    (src, msg): (SocketAddr, &Message<'_>),
    (code, reason): (u16, &[u8]),
    extra: impl FnOnce(&mut Writer<'_>),
) {
    let tag = to_tag(seed, msg.call_id(), msg.from().tag().unwrap_or(b""));
    let opts = ResponseOpts {
        source: Some(src),
        to_tag: Some(&tag),
    };
    out.push(src, |w| {
        sip::response_to(w, msg, code, reason, &opts);
        extra(w);
        w.header("Server", SERVER);
        w.finish(None, b"");
    });
    metrics.response_sent(code);
}

/// A To tag that is the same for every retransmission of a request: derived from its Call-ID
/// and From tag, so answers are regenerated without storing them.
fn to_tag(seed: u64, call_id: &[u8], from_tag: &[u8]) -> [u8; 16] {
    let h = hash_bytes(seed ^ hash_bytes(seed, from_tag), call_id);
    let mut tag = [0u8; 16];
    for (i, t) in tag.iter_mut().enumerate() {
        *t = b"0123456789abcdef"[(h >> (60 - 4 * i) & 15) as usize];
    }
    tag
}
