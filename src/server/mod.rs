//! The push server's sans-I/O core: registrations, heartbeats, the application table, control
//! messages and their deliveries, and the admin API's logic.
//!
//! Owns all server state and makes every protocol decision; never touches a socket or the
//! clock. The shell (`shell.rs`) feeds it datagrams with [`Server::handle_datagram`] and admin
//! requests with [`Server::handle_admin`], calls [`Server::handle_timeout`] when
//! [`Server::poll_timeout`] says so, and drains [`Server::poll_transmit`] after each call.
//! Time is a `now` in milliseconds of a virtual clock, so every rule is unit-tested at explicit
//! times (`tests.rs`). Randomness comes from `Config::seed`.
//!
//! Parts: `register` (RFC 3261 §10.3 registrar), `liveness` (removal of silent clients by
//! expiry buckets on the timer wheel), `sip_in` (dispatch of incoming datagrams, heartbeats,
//! error answers), `push` (control messages and their status), `deliver` (per-client queues,
//! MESSAGE transactions per RFC 3261 §17.1.2 and RFC 3428, pacing), `admin` (HTTP routes),
//! `metrics` (counters), `output` (responses waiting for the shell).
//!
//! Invariants (checked by `check_invariants` in tests): `inflight` equals the number of live
//! transactions and never exceeds `max_inflight`; every client with pending deliveries owns
//! exactly one queue and that queue points back at it; every parked queue belongs to an absent
//! client id; every registered client is owned by exactly one expiry bucket.

mod admin;
mod config;
mod deliver;
mod liveness;
mod metrics;
mod output;
mod push;
mod register;
mod sip_in;
#[cfg(test)]
mod tests;

pub mod shell;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

pub use config::{Config, Route};
pub use metrics::{Drop, Gauges, Metrics, ShellCounters};

use crate::handle::{Arena, Handle};
use crate::rand::{Rng, SeededState};
use crate::registry::Registry;
use crate::timer::Wheel;
use deliver::{Node, Queue, Txn};
use output::Output;
use push::Push;

type QueueKey = Handle<Queue>;
type TxnKey = Handle<Txn>;
type PushKey = Handle<Push>;

/// What a timer entry means when it fires.
#[derive(Clone, Copy, Debug)]
enum Timer {
    /// The expiry bucket of this second is due.
    Expiry(u64),
    /// A MESSAGE transaction's Timer E or F.
    Txn(TxnKey),
    /// A message's TTL.
    Ttl(PushKey),
    /// A finished message leaves the status API.
    Retire(PushKey),
    /// A parked queue may hold only finished deliveries by now.
    Parked(QueueKey),
}

/// The push server core.
pub struct Server {
    cfg: Config,
    now: u64,
    rng: Rng,
    hash_seed: u64,
    boot: u32,
    /// The boot nonce as eight hex digits, as MESSAGE ids, branches and tags carry it.
    boot_hex: [u8; 8],
    /// The SIP address as `host:port`, as Via and From carry it.
    local_hostport: Box<[u8]>,
    reg: Registry,
    wheel: Wheel<Timer>,
    out: Output,
    /// Expiry buckets: bucket second → clients whose liveness is checked then.
    buckets: HashMap<u64, Vec<crate::registry::ClientKey>, SeededState>,
    pushes: Arena<Push>,
    push_index: HashMap<u64, PushKey, SeededState>,
    next_push_seq: u64,
    active_pushes: usize,
    queues: Arena<Queue>,
    nodes: slab::Slab<Node>,
    txns: Arena<Txn>,
    ready: VecDeque<QueueKey>,
    due: VecDeque<TxnKey>,
    parked: HashMap<Box<[u8]>, QueueKey, SeededState>,
    inflight: usize,
    scratch: Vec<u8>,
    /// Every counter (the shell updates `metrics.shell`).
    pub metrics: Metrics,
}

impl Server {
    /// A server with the given settings, its clock at `now`.
    pub fn new(cfg: Config, now: u64) -> Server {
        let mut rng = Rng::new(cfg.seed);
        let hash_seed = rng.next_u64();
        let boot = rng.next_u64() as u32;
        let mut boot_hex = [0u8; 8];
        for (i, d) in boot_hex.iter_mut().enumerate() {
            *d = b"0123456789abcdef"[(boot >> (28 - 4 * i) & 15) as usize];
        }
        let mut local_hostport = Vec::new();
        crate::sip::Writer::new(&mut local_hostport).push_hostport(cfg.sip_addr);
        Server {
            boot_hex,
            local_hostport: local_hostport.into(),
            reg: Registry::new(rng.next_u64()),
            cfg,
            now,
            rng,
            hash_seed,
            boot,
            wheel: Wheel::new(now),
            out: Output::default(),
            buckets: HashMap::with_hasher(SeededState(hash_seed ^ 1)),
            pushes: Arena::new(),
            push_index: HashMap::with_hasher(SeededState(hash_seed ^ 2)),
            next_push_seq: 1,
            active_pushes: 0,
            queues: Arena::new(),
            nodes: slab::Slab::new(),
            txns: Arena::new(),
            ready: VecDeque::new(),
            due: VecDeque::new(),
            parked: HashMap::with_hasher(SeededState(hash_seed ^ 3)),
            inflight: 0,
            scratch: Vec::with_capacity(2048),
            metrics: Metrics::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The application table (read-only).
    pub fn registry(&self) -> &Registry {
        &self.reg
    }

    /// Handle one datagram received at `now` from `src`.
    pub fn handle_datagram(&mut self, now: u64, src: SocketAddr, bytes: &[u8]) {
        self.advance(now);
        self.on_datagram(src, bytes);
    }

    /// Handle one admin HTTP request.
    pub fn handle_admin(
        &mut self,
        now: u64,
        req: &crate::admin::http::Request<'_>,
    ) -> crate::admin::http::Response {
        self.advance(now);
        let resp = self.on_admin(req);
        self.metrics.admin(resp.status);
        resp
    }

    /// Run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        self.advance(now);
        while let Some((_, t)) = self.wheel.poll_expired(self.now) {
            match t {
                Timer::Expiry(second) => self.on_expiry_bucket(second),
                Timer::Txn(k) => self.on_txn_timer(k),
                Timer::Ttl(p) => self.on_ttl(p),
                Timer::Retire(p) => self.on_retire(p),
                Timer::Parked(q) => self.on_parked_timer(q),
            }
        }
    }

    /// When the shell must call [`Server::handle_timeout`] next (virtual ms), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.wheel.next_deadline()
    }

    /// The next datagram to send: written into `buf`, its destination returned. Responses
    /// first, then retransmissions, then new transactions while fewer than `max_inflight` are
    /// outstanding.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        if let Some(dest) = self.out.pop(buf) {
            return Some(dest);
        }
        while let Some(k) = self.due.pop_front() {
            if let Some(dest) = self.send_txn(k, buf) {
                self.metrics.retransmissions += 1;
                return Some(dest);
            }
        }
        while self.inflight < self.cfg.max_inflight {
            let q = self.ready.pop_front()?;
            if let Some(k) = self.start_txn(q) {
                if let Some(dest) = self.send_txn(k, buf) {
                    self.metrics.messages_sent += 1;
                    return Some(dest);
                }
            }
        }
        None
    }

    /// True when [`Server::poll_transmit`] has something to send.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty()
            || !self.due.is_empty()
            || (self.inflight < self.cfg.max_inflight && !self.ready.is_empty())
    }

    /// Current levels for the metrics.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            clients: self.reg.len() as u64,
            inflight: self.inflight as u64,
            queued: self.nodes.len() as u64,
            active_messages: self.active_pushes as u64,
            timers: self.wheel.len() as u64,
        }
    }

    fn advance(&mut self, now: u64) {
        // The virtual clock never goes back.
        self.now = self.now.max(now);
    }

    /// Check the invariants of the module docs (tests).
    #[cfg(test)]
    pub fn check_invariants(&self) {
        self.reg.check_invariants();
        assert_eq!(
            self.inflight,
            self.txns.len(),
            "inflight counts live transactions"
        );
        assert!(self.inflight <= self.cfg.max_inflight);
        for (qk, q) in self.queues.iter() {
            match q.client {
                Some(ck) => assert_eq!(
                    self.reg.get(ck).map(|c| c.queue),
                    Some(qk.index()),
                    "queue points at its client"
                ),
                None => assert_eq!(
                    q.parked_id.as_ref().and_then(|id| self.parked.get(id)),
                    Some(&qk),
                    "parked queue indexed"
                ),
            }
        }
        for (ck, c) in self.reg.iter() {
            if c.queue != crate::registry::NO_QUEUE {
                let q = self
                    .queues
                    .handle_at(c.queue)
                    .and_then(|h| self.queues.get(h));
                assert_eq!(
                    q.and_then(|q| q.client),
                    Some(ck),
                    "client's queue points back"
                );
            }
            let owned = self
                .buckets
                .get(&(c.bucket as u64))
                .is_some_and(|b| b.contains(&ck));
            assert!(owned, "client in its expiry bucket");
        }
    }
}
