//! The client agent: a sans-I/O SIP user agent that registers with the push server, keeps the
//! registration alive, and receives control messages.
//!
//! Owns one client's protocol state and makes every client-side protocol decision; it never
//! touches a socket or the clock (time is the `now` argument, in ms of a virtual clock;
//! randomness comes from the seed given to [`Agent::new`]). Shells — `sippush client` (one
//! agent, [`shell`]) and the load generator (up to a million agents in one loop) — feed it
//! with [`Agent::handle_datagram`] and [`Agent::handle_timeout`] and drain
//! [`Agent::poll_transmit`] and [`Agent::poll_event`] after each call.
//!
//! The SIP profile (RFC 3261 unless noted):
//! - REGISTER (§10.2) with `Contact: <sip:ID@host:port>;class="a,b"` and `Expires`; a 2xx
//!   grants an interval (the Contact's `expires`, else `Expires`, §10.2.4); the registration is
//!   refreshed at half of it. 423 asks again with Min-Expires (§10.2.8); other final errors
//!   and a REGISTER that times out start a back-off.
//! - OPTIONS heartbeat every `heartbeat_ms` while registered (§11), a new branch each time; a
//!   heartbeat without any final answer (Timer F) means the server is lost.
//! - Each own request is a UDP non-INVITE client transaction (§17.1.2, see `txn`); one is in
//!   flight at a time: a due refresh abandons a pending heartbeat, and a heartbeat due while a
//!   REGISTER is pending is skipped (the REGISTER shows liveness as well).
//! - MESSAGE from the server (RFC 3428): answered 200 OK every time, delivered once per
//!   Push-Id (see `incoming` and `dedupe`).
//! - Back-off after a loss or a refusal: `backoff_min_ms * 2^(attempt-1)`, capped at
//!   `backoff_max_ms`, then shortened at random by up to `jitter_pct` (≤ 50 %), so delays never
//!   shrink from one attempt to the next below the cap, and never exceed it.
//! - Jitter only ever shortens an interval (refresh, heartbeat, back-off), so an agent is never
//!   later than its nominal schedule — the server's liveness deadlines stay safe.
//!
//! Memory: the agent is a small struct (see `tests::agent_is_small`) plus its id, its Contact
//! text, the Push-Id ring (allocated at the first MESSAGE) and the one-answer outbox of
//! [`Agent::handle_datagram`] (grown at the first MESSAGE, then reused). The load generator
//! can avoid the outbox altogether with [`Agent::handle_datagram_with`], which writes the
//! answer into a buffer shared by all agents.
//!
//! Invariants (checked by `check_invariants` in tests): at most one transaction is in flight;
//! a refresh or retry is scheduled only in the `Registered` and `BackingOff` states, a
//! heartbeat only in `Registered`; in `Idle` and `Stopped` nothing is scheduled.

mod dedupe;
mod incoming;
mod profile;
pub mod shell;
mod txn;
mod wire;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;

pub use profile::Profile;

use crate::rand::{Rng, hash_bytes};
use crate::sip::Writer;
use dedupe::Dedupe;
use txn::{Kind, Step, Txn};

const NEVER: u64 = u64::MAX;

/// A control message carried by a MESSAGE seen for the first time, borrowing the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery<'b> {
    /// The `Push-Id` header value.
    pub push_id: &'b [u8],
    /// The `Content-Type` header value (empty when absent).
    pub content_type: &'b [u8],
    /// The body.
    pub body: &'b [u8],
}

/// Something the application (or the shell's log) should know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A REGISTER (first or refresh) was accepted for `granted_s` seconds.
    Registered {
        /// The interval the server granted.
        granted_s: u32,
    },
    /// The server answered 423 Interval Too Brief; the agent asks again for `expires_s`.
    IntervalRaised {
        /// The interval now asked for (the server's Min-Expires).
        expires_s: u32,
    },
    /// A REGISTER got a final error response.
    RegistrationFailed {
        /// Its status code.
        code: u16,
    },
    /// A REGISTER or a heartbeat got no final answer before Timer F.
    ServerLost,
    /// The agent will register again after `delay_ms` (the `attempt`-th retry in a row).
    Reregistering {
        /// Retries in a row since the last success, from 1.
        attempt: u16,
        /// The delay before this retry.
        delay_ms: u32,
    },
    /// The deregistration after [`Agent::stop`] was answered, or given up after Timer F.
    Deregistered,
    /// An OPTIONS heartbeat got a final answer.
    HeartbeatAnswered,
}

/// Where the agent stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not started.
    Idle,
    /// The first REGISTER (or a retry) is in flight.
    Registering,
    /// Registered; refreshing and heartbeating.
    Registered,
    /// Waiting to register again after a loss or a refusal.
    BackingOff,
    /// The deregistration is in flight.
    Deregistering,
    /// Stopped: nothing scheduled.
    Stopped,
}

/// Counters of what the agent received, answered and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// MESSAGEs with a Push-Id (each answered 200 OK), duplicates included.
    pub messages: u32,
    /// MESSAGEs whose Push-Id was seen recently: answered, not delivered.
    pub duplicates: u32,
    /// MESSAGEs without Push-Id: answered 400, not delivered.
    pub missing_push_id: u32,
    /// Datagrams that did not parse as SIP: dropped.
    pub malformed: u32,
    /// Responses matching no transaction of ours, ACKs and unsupported requests.
    pub unexpected: u32,
    /// Retransmissions of the agent's own requests.
    pub retransmissions: u32,
}

/// One client: its registration, heartbeats, transaction and recent Push-Ids.
pub struct Agent {
    /// The id, then `host:port` of the bound socket (bracketed IPv6), then the Contact
    /// parameters: one allocation for every name the agent writes.
    names: Box<str>,
    dedupe: Dedupe,
    /// The answer held for `poll_transmit`; allocated at the first answer, then reused.
    /// Boxed on purpose: one word instead of three in every agent of a million-agent fleet,
    /// most of which use [`Agent::handle_datagram_with`] and never hold an answer.
    #[allow(clippy::box_collection)]
    outbox: Option<Box<Vec<u8>>>,
    rng: Rng,
    nonce: u64,
    /// Next REGISTER (refresh or retry), or NEVER.
    register_at: u64,
    /// Next heartbeat, or NEVER.
    heartbeat_at: u64,
    txn: Txn,
    cseq: u32,
    /// The interval asked for (the profile's, raised by 423).
    expires_s: u32,
    events: [Option<Event>; 2],
    stats: Stats,
    attempt: u16,
    id_len: u16,
    hostport_len: u8,
    state: State,
}

impl Agent {
    /// An agent for client `id` in `classes`, whose socket is bound to `local` (its Via
    /// sent-by and Contact host:port). `id` should be made of SIP URI user characters and the
    /// classes of tokens (the server refuses others); no classes omits the `class` parameter
    /// (the server then uses `default`).
    pub fn new(id: &str, classes: &[&str], local: SocketAddr, seed: u64) -> Agent {
        let mut rng = Rng::new(seed);
        let nonce = rng.next_u64() ^ hash_bytes(seed, id.as_bytes());
        // An id longer than the length field is cut (the server refuses ids over 64 bytes).
        let mut id_len = id.len().min(u16::MAX as usize);
        while !id.is_char_boundary(id_len) {
            id_len -= 1;
        }
        let hostport = match local {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        let mut names = String::with_capacity(id_len + hostport.len() + 16);
        names.push_str(&id[..id_len]);
        names.push_str(&hostport);
        if !classes.is_empty() {
            names.push_str(";class=\"");
            names.push_str(&classes.join(","));
            names.push('"');
        }
        Agent {
            names: names.into_boxed_str(),
            dedupe: Dedupe::default(),
            outbox: None,
            rng,
            nonce,
            register_at: NEVER,
            heartbeat_at: NEVER,
            txn: Txn::IDLE,
            cseq: 0,
            expires_s: 0,
            events: [None; 2],
            stats: Stats::default(),
            attempt: 0,
            id_len: id_len as u16,
            hostport_len: hostport.len() as u8,
            state: State::Idle,
        }
    }

    /// The client id.
    pub fn id(&self) -> &str {
        self.names.get(..self.id_len as usize).unwrap_or("")
    }

    /// Where the agent stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// What it received, answered and dropped so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Heap bytes the agent holds (its names, the Push-Id ring, the outbox).
    pub fn heap_bytes(&self) -> usize {
        let outbox = self
            .outbox
            .as_ref()
            .map_or(0, |v| std::mem::size_of::<Vec<u8>>() + v.capacity());
        self.names.len() + self.dedupe.heap_bytes() + outbox
    }

    /// Queue the first REGISTER (from `Idle` or `Stopped`; otherwise nothing happens).
    pub fn start(&mut self, p: &Profile, now: u64) {
        if matches!(self.state, State::Idle | State::Stopped) {
            self.expires_s = p.expires_s;
            self.attempt = 0;
            self.start_txn(p, now, Kind::Register);
        }
    }

    /// Deregister (`Expires: 0`); [`Event::Deregistered`] follows when it is answered or given
    /// up after Timer F (at once when the agent never started).
    pub fn stop(&mut self, p: &Profile, now: u64) {
        match self.state {
            State::Stopped | State::Deregistering => {}
            State::Idle => {
                self.state = State::Stopped;
                self.push_event(Event::Deregistered);
            }
            _ => self.start_txn(p, now, Kind::Deregister),
        }
    }

    /// Handle one datagram from the network. Returns the control message carried by a
    /// MESSAGE seen for the first time (deduplicated by Push-Id over the window), borrowing the
    /// datagram — no allocation per datagram. The answer waits for [`Agent::poll_transmit`]
    /// (one answer is held; a second one before it is taken replaces it — the server
    /// retransmits).
    pub fn handle_datagram<'b>(
        &mut self,
        p: &Profile,
        now: u64,
        src: SocketAddr,
        bytes: &'b [u8],
    ) -> Option<Delivery<'b>> {
        // The box moves out and back, never reallocated; an agent that never answers never
        // allocates one (`Vec::new()` does not allocate).
        match self.outbox.take() {
            Some(mut outbox) => {
                let (delivery, answered) = self.receive(p, now, src, bytes, &mut outbox);
                if answered {
                    wire::seal_answer(&mut outbox, src);
                }
                self.outbox = Some(outbox);
                delivery
            }
            None => {
                let mut outbox = Vec::new();
                let (delivery, answered) = self.receive(p, now, src, bytes, &mut outbox);
                if answered {
                    wire::seal_answer(&mut outbox, src);
                    self.outbox = Some(Box::new(outbox));
                }
                delivery
            }
        }
    }

    /// Like [`Agent::handle_datagram`], but the answer (if any) is written into `answer` at
    /// once and its destination returned, instead of being held by the agent: a load
    /// generator sends it right away from one shared buffer, so agents hold no outbox.
    pub fn handle_datagram_with<'b>(
        &mut self,
        p: &Profile,
        now: u64,
        src: SocketAddr,
        bytes: &'b [u8],
        answer: &mut Vec<u8>,
    ) -> (Option<Delivery<'b>>, Option<SocketAddr>) {
        let (delivery, answered) = self.receive(p, now, src, bytes, answer);
        (delivery, answered.then_some(src))
    }

    /// Run every timer due at `now`: retransmissions, Timer F, refreshes, heartbeats, retries.
    pub fn handle_timeout(&mut self, p: &Profile, now: u64) {
        match self.txn.on_timer(now, p.t1_ms, p.t2_ms) {
            Step::Idle => {}
            Step::Retransmit => self.stats.retransmissions += 1,
            Step::TimedOut(Kind::Deregister) => {
                self.state = State::Stopped;
                self.push_event(Event::Deregistered);
            }
            Step::TimedOut(_) => {
                self.push_event(Event::ServerLost);
                self.back_off(p, now);
            }
        }
        if now >= self.register_at {
            // A refresh or a retry; it supersedes a heartbeat still in flight.
            self.register_at = NEVER;
            self.start_txn(p, now, Kind::Register);
        }
        if now >= self.heartbeat_at {
            self.heartbeat_at = now.saturating_add(self.shortened(p.heartbeat_ms, p.jitter_pct));
            if self.txn.kind.is_none() {
                self.start_txn(p, now, Kind::Options);
            }
        }
    }

    /// Send an OPTIONS heartbeat now, out of schedule (the load generator measures how many
    /// heartbeats a server handles). Ignored unless registered and idle; returns whether one
    /// was started.
    pub fn heartbeat_now(&mut self, p: &Profile, now: u64) -> bool {
        if self.state != State::Registered || self.txn.kind.is_some() {
            return false;
        }
        self.start_txn(p, now, Kind::Options);
        true
    }

    /// When [`Agent::handle_timeout`] must be called next (virtual ms), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        let t = self
            .txn
            .deadline()
            .min(self.register_at)
            .min(self.heartbeat_at);
        (t != NEVER).then_some(t)
    }

    /// The next datagram to send, written into `buf`; returns its destination. Answers
    /// first, then the agent's own request.
    pub fn poll_transmit(&mut self, p: &Profile, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        if let Some(dest) = self.outbox.as_mut().and_then(|o| wire::take_answer(o, buf)) {
            return Some(dest);
        }
        let kind = self.txn.kind.filter(|_| self.txn.send)?;
        self.txn.send = false;
        let all = self.names.as_bytes();
        let (id, rest) = all.split_at(usize::from(self.id_len).min(all.len()));
        let (hostport, contact_params) =
            rest.split_at(usize::from(self.hostport_len).min(rest.len()));
        let names = wire::Names {
            id,
            hostport,
            contact_params,
            nonce: self.nonce,
        };
        let numbers = (self.cseq, self.txn.branch, self.expires_s);
        wire::write_request(&mut Writer::new(buf), p, &names, kind, numbers);
        Some(p.server)
    }

    /// The next event, oldest first. Drain after every call: two are held at most (the
    /// oldest is dropped beyond), and one call produces at most two.
    pub fn poll_event(&mut self) -> Option<Event> {
        let first = self.events[0].take();
        self.events[0] = self.events[1].take();
        first
    }

    fn push_event(&mut self, e: Event) {
        if self.events[0].is_none() {
            self.events[0] = Some(e);
        } else if self.events[1].is_none() {
            self.events[1] = Some(e);
        } else {
            self.events[0] = self.events[1].take();
            self.events[1] = Some(e);
        }
    }

    /// Start a transaction of `kind` now (abandoning one in flight) and set the state.
    fn start_txn(&mut self, p: &Profile, now: u64, kind: Kind) {
        if kind != Kind::Options {
            // RFC 3261 §10.2.4: one Call-ID per agent, CSeq up by one per new REGISTER.
            self.cseq = self.cseq.wrapping_add(1) & crate::sip::values::CSEQ_MAX;
        }
        let branch = self.txn.branch.wrapping_add(1);
        self.txn.start(kind, branch, now, p.t1_ms);
        match kind {
            Kind::Options => {}
            Kind::Register => {
                if self.state != State::Registered {
                    self.state = State::Registering;
                }
            }
            Kind::Deregister => {
                self.state = State::Deregistering;
                self.register_at = NEVER;
                self.heartbeat_at = NEVER;
            }
        }
    }

    /// A 2xx to REGISTER: schedule the refresh at half the granted interval and heartbeats.
    fn registered(&mut self, p: &Profile, now: u64, granted_s: u32) {
        let granted_s = granted_s.max(1);
        self.state = State::Registered;
        self.attempt = 0;
        let half = granted_s as u64 * 500;
        self.register_at = now.saturating_add(self.shortened(half, p.jitter_pct));
        if p.heartbeat_ms > 0 && self.heartbeat_at == NEVER {
            self.heartbeat_at = now.saturating_add(self.shortened(p.heartbeat_ms, p.jitter_pct));
        }
        self.push_event(Event::Registered { granted_s });
    }

    /// The server is lost or refused: stop heartbeats and register again after a delay.
    fn back_off(&mut self, p: &Profile, now: u64) {
        self.txn.clear();
        self.attempt = self.attempt.saturating_add(1);
        let doublings = (self.attempt - 1).min(40) as u32;
        let base = p
            .backoff_min_ms
            .saturating_mul(1u64 << doublings)
            .min(p.backoff_max_ms);
        let delay = self.shortened(base, p.jitter_pct).min(u32::MAX as u64);
        self.state = State::BackingOff;
        self.heartbeat_at = NEVER;
        self.register_at = now.saturating_add(delay);
        self.push_event(Event::Reregistering {
            attempt: self.attempt,
            delay_ms: delay as u32,
        });
    }

    /// `base` shortened at random by up to `pct` percent (at most 50).
    fn shortened(&mut self, base: u64, pct: u32) -> u64 {
        let span = base.saturating_mul(pct.min(50) as u64) / 100;
        base - self.rng.below(span.saturating_add(1)).min(span)
    }

    /// Check the invariants of the module docs (tests).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let busy = self.txn.kind.is_some();
        match self.state {
            State::Idle | State::Stopped => {
                assert!(!busy && self.register_at == NEVER && self.heartbeat_at == NEVER)
            }
            State::Registering => {
                assert_eq!(self.txn.kind, Some(Kind::Register));
                assert_eq!(self.heartbeat_at, NEVER);
            }
            State::BackingOff => {
                assert!(!busy && self.register_at != NEVER && self.heartbeat_at == NEVER)
            }
            State::Deregistering => {
                assert_eq!(self.txn.kind, Some(Kind::Deregister));
                assert!(self.register_at == NEVER && self.heartbeat_at == NEVER);
            }
            State::Registered => {
                assert!(self.register_at != NEVER || self.txn.kind == Some(Kind::Register))
            }
        }
        assert!(self.txn.kind.is_some() || !self.txn.send);
    }
}
