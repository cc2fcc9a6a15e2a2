//! What an agent does with a datagram: answers to its own REGISTER/OPTIONS (matched per
//! RFC 3261 §17.1.3 by the top Via branch and the CSeq method and number), and requests from
//! the server.
//!
//! - MESSAGE (RFC 3428 §7): every one is answered 200 OK, retransmissions and duplicates
//!   included, so the server's transaction ends; only a Push-Id not seen within the window is
//!   handed to the application. Without Push-Id: 400 "Missing Push-Id", not delivered.
//! - OPTIONS: 200 OK with Allow (§11.2); ACK: never answered (§17.2.1, counted); any other
//!   method: 405 with Allow (§8.2.1).
//! - CRLF keep-alives (RFC 5626 §3.5.1) are ignored; malformed datagrams and responses that
//!   match no transaction of ours are dropped and counted in [`super::Stats`], never answered
//!   (§18.1.2 for responses).
//!
//! Nothing here allocates: the message is parsed into a header table on the stack and the
//! answer is written into the buffer the caller lends.

use std::net::SocketAddr;

use super::txn::Kind;
use super::wire::{self, Branch};
use super::{Agent, Delivery, Event, Profile, State};
use crate::sip::values::parse_expires;
use crate::sip::{self, Contact, Header, HeaderName, MAX_HEADERS, Message, Writer};

impl Agent {
    /// Handle one datagram; an answer, if any, is written into `answer` (returns true then).
    pub(super) fn receive<'b>(
        &mut self,
        p: &Profile,
        now: u64,
        src: SocketAddr,
        bytes: &'b [u8],
        answer: &mut Vec<u8>,
    ) -> (Option<Delivery<'b>>, bool) {
        if bytes.iter().all(|&b| b == b'\r' || b == b'\n') {
            return (None, false);
        }
        let mut headers = [Header::EMPTY; MAX_HEADERS];
        let msg = match sip::parse(bytes, &mut headers) {
            Ok(m) => m,
            Err(e) => {
                log::debug!(
                    "{}: dropped a malformed datagram from {src}: {e}",
                    self.id()
                );
                self.stats.malformed += 1;
                return (None, false);
            }
        };
        let nonce = self.nonce;
        let reply = |w: &mut Vec<u8>, code, reason: &[u8]| {
            wire::write_answer(&mut Writer::new(w), &msg, src, nonce, (code, reason));
        };
        match msg.method() {
            None => {
                self.on_response(p, now, &msg);
                (None, false)
            }
            Some(b"MESSAGE") => {
                let Some(push_id) = msg.raw().header(HeaderName::PushId) else {
                    reply(answer, 400, b"Missing Push-Id");
                    self.stats.missing_push_id += 1;
                    return (None, true);
                };
                reply(answer, 200, b"OK");
                self.stats.messages += 1;
                if self.dedupe.seen(nonce, p.dedupe_window, push_id.value) {
                    self.stats.duplicates += 1;
                    return (None, true);
                }
                // The views borrow the local header table; re-slice the datagram by offset so
                // that the delivery borrows only the datagram.
                let slice = |at: usize, len: usize| bytes.get(at..at + len).unwrap_or(&[]);
                let content_type = msg
                    .raw()
                    .header(HeaderName::ContentType)
                    .map_or(&[][..], |h| slice(h.at, h.value.len()));
                let delivery = Delivery {
                    push_id: slice(push_id.at, push_id.value.len()),
                    content_type,
                    body: slice(msg.raw().body_at(), msg.body().len()),
                };
                (Some(delivery), true)
            }
            Some(b"ACK") => {
                self.stats.unexpected += 1;
                (None, false)
            }
            Some(b"OPTIONS") => {
                reply(answer, 200, b"OK");
                (None, true)
            }
            Some(_) => {
                self.stats.unexpected += 1;
                reply(answer, 405, b"Method Not Allowed");
                (None, true)
            }
        }
    }

    fn on_response(&mut self, p: &Profile, now: u64, msg: &Message<'_>) {
        let Some(kind) = self.txn.kind else {
            self.stats.unexpected += 1;
            return;
        };
        let branch = Branch::new(self.nonce, self.txn.branch);
        let cseq = msg.cseq();
        let ours = msg.via().branch() == Some(branch.as_bytes())
            && cseq.method == kind.method()
            && (kind == Kind::Options || cseq.seq == self.cseq);
        if !ours {
            self.stats.unexpected += 1;
            return;
        }
        let code = msg.status().unwrap_or(0);
        if code < 200 {
            self.txn.proceeding();
            return;
        }
        self.txn.clear();
        match kind {
            // Any final answer shows the server is there.
            Kind::Options => self.push_event(Event::HeartbeatAnswered),
            Kind::Deregister => {
                self.state = State::Stopped;
                self.push_event(Event::Deregistered);
            }
            Kind::Register => self.on_register_answer(p, now, code, msg),
        }
    }

    fn on_register_answer(&mut self, p: &Profile, now: u64, code: u16, msg: &Message<'_>) {
        if (200..300).contains(&code) {
            let granted = granted_interval(msg).unwrap_or(self.expires_s);
            self.registered(p, now, granted);
            return;
        }
        if code == 423 {
            // RFC 3261 §10.2.8: ask again for at least Min-Expires.
            let min = msg
                .header(HeaderName::MinExpires)
                .and_then(|h| parse_expires(h.value, h.at).ok());
            if let Some(min) = min.filter(|&m| m > self.expires_s) {
                self.expires_s = min;
                self.push_event(Event::IntervalRaised { expires_s: min });
                self.start_txn(p, now, Kind::Register);
                return;
            }
        }
        self.push_event(Event::RegistrationFailed { code });
        self.back_off(p, now);
    }
}

/// The interval a 2xx to REGISTER grants (RFC 3261 §10.2.4): the Contact's `expires`, else
/// the Expires header.
fn granted_interval(msg: &Message<'_>) -> Option<u32> {
    let from_contact = msg.raw().contacts().find_map(|c| match c {
        Ok(c @ Contact::Addr(_)) => c.expires().and_then(Result::ok),
        _ => None,
    });
    from_contact.or_else(|| msg.raw().expires().and_then(Result::ok))
}
