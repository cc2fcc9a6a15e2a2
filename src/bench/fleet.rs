//! The simulated fleet: many client agents (one `agent::Agent` state machine each) spread over a
//! few UDP sockets, driven by one mio loop on the load generator's thread.
//!
//! Lean by design, as the load must not be the bottleneck: datagrams are read in batches until
//! `WouldBlock`, routed to their agent by the client id in the message (ids are `b<index>`),
//! and answered with no allocation per packet; each agent's next deadline sits in one timer
//! wheel. `loss` drops that share of incoming MESSAGEs before the agent sees them.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use super::stats::Histogram;
use crate::agent::{Agent, Event, Profile};
use crate::rand::Rng;
use crate::sip;
use crate::timer::{TimerKey, Wheel};

/// The id of simulated client `i`.
pub fn client_id(i: usize) -> String {
    format!("b{i}")
}

/// Counters of one fleet.
#[derive(Default, Debug, Clone, Copy)]
pub struct FleetStats {
    /// Agents that completed their first registration.
    pub registered: u64,
    /// Registrations refused by the server.
    pub refused: u64,
    /// Control messages delivered for the first time.
    pub delivered: u64,
    /// Incoming MESSAGEs dropped on purpose (`loss`).
    pub dropped: u64,
    /// Datagrams that could not be routed to an agent.
    pub unroutable: u64,
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// OPTIONS heartbeats answered by the server.
    pub heartbeats: u64,
}

/// Many agents, few sockets, one loop.
pub struct Fleet {
    pub(super) profile: Profile,
    agents: Vec<Agent>,
    timers: Vec<TimerKey>,
    registered: Vec<bool>,
    socks: Vec<UdpSocket>,
    backlog: Vec<VecDeque<(Vec<u8>, SocketAddr)>>,
    poll: Poll,
    events: Events,
    wheel: Wheel<u32>,
    start: Instant,
    rng: Rng,
    loss: f64,
    buf: Vec<u8>,
    out: Vec<u8>,
    ready: Vec<usize>,
    /// Counters.
    pub stats: FleetStats,
    /// Submit time (ms on the fleet clock) of each message id, for latency.
    pub submitted: Vec<(Vec<u8>, u64)>,
    /// Latency from submission to delivery (µs).
    pub latency: Histogram,
    last_delivery: Option<Instant>,
}

impl Fleet {
    /// `n` agents over `sockets` sockets bound to 127.0.0.1, classes assigned round-robin.
    pub fn new(
        profile: Profile,
        n: usize,
        sockets: usize,
        classes: &[String],
        loss: f64,
        seed: u64,
    ) -> io::Result<Fleet> {
        let poll = Poll::new()?;
        let mut socks = Vec::with_capacity(sockets);
        for k in 0..sockets.max(1) {
            let s = crate::server::shell::bind_udp(SocketAddr::from(([127, 0, 0, 1], 0)), 8 << 20)?;
            let mut s = UdpSocket::from_std(s);
            poll.registry()
                .register(&mut s, Token(k), Interest::READABLE | Interest::WRITABLE)?;
            socks.push(s);
        }
        let locals: Vec<SocketAddr> = socks
            .iter()
            .map(|s| s.local_addr())
            .collect::<io::Result<_>>()?;
        let mut rng = Rng::new(seed);
        let mut agents = Vec::with_capacity(n);
        for i in 0..n {
            let class: Vec<&str> = if classes.is_empty() {
                Vec::new()
            } else {
                vec![classes[i % classes.len()].as_str()]
            };
            agents.push(Agent::new(
                &client_id(i),
                &class,
                locals[i % locals.len()],
                rng.next_u64(),
            ));
        }
        Ok(Fleet {
            profile,
            timers: vec![TimerKey::DANGLING; n],
            registered: vec![false; n],
            backlog: (0..socks.len()).map(|_| VecDeque::new()).collect(),
            agents,
            socks,
            poll,
            events: Events::with_capacity(1024),
            wheel: Wheel::with_capacity(0, n),
            start: Instant::now(),
            rng,
            loss,
            buf: vec![0u8; 65536],
            out: Vec::with_capacity(2048),
            ready: Vec::with_capacity(1024),
            stats: FleetStats::default(),
            submitted: Vec::new(),
            latency: Histogram::default(),
            last_delivery: None,
        })
    }

    /// The fleet's clock (ms).
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Seconds from `t0` to the last first-time delivery, if any came after it.
    pub fn last_delivery_secs(&self, t0: Instant) -> Option<f64> {
        self.last_delivery
            .filter(|&t| t >= t0)
            .map(|t| (t - t0).as_secs_f64())
    }

    /// Start agent `i` (its first REGISTER).
    pub fn start_agent(&mut self, i: usize) {
        let now = self.now();
        self.agents[i].start(&self.profile, now);
        self.after(i);
    }

    /// Make agent `i` send an OPTIONS heartbeat now; false when it is busy.
    pub fn heartbeat(&mut self, i: usize) -> bool {
        let now = self.now();
        let started = self.agents[i].heartbeat_now(&self.profile, now);
        self.after(i);
        started
    }

    /// Run the loop once: wait at most `max_wait_ms` for I/O, handle it and due timers.
    pub fn turn(&mut self, max_wait_ms: u64) -> io::Result<()> {
        let now = self.now();
        let wait = self
            .wheel
            .next_deadline()
            .map_or(max_wait_ms, |d| d.saturating_sub(now).min(max_wait_ms));
        self.poll.poll(
            &mut self.events,
            Some(std::time::Duration::from_millis(wait)),
        )?;
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(self.events.iter().map(|e| e.token().0));
        for &k in &ready {
            self.flush_backlog(k)?;
            self.read(k)?;
        }
        self.ready = ready;
        let now = self.now();
        while let Some((_, i)) = self.wheel.poll_expired(now) {
            let i = i as usize;
            self.timers[i] = TimerKey::DANGLING;
            self.agents[i].handle_timeout(&self.profile, now);
            self.after(i);
        }
        Ok(())
    }

    fn read(&mut self, k: usize) -> io::Result<()> {
        loop {
            let (n, src) = match self.socks[k].recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            self.stats.datagrams_in += 1;
            let bytes = &self.buf[..n];
            let Some((i, is_message)) = route(bytes) else {
                self.stats.unroutable += 1;
                continue;
            };
            if i >= self.agents.len() {
                self.stats.unroutable += 1;
                continue;
            }
            if is_message && self.loss > 0.0 && self.rng.chance(self.loss) {
                self.stats.dropped += 1;
                continue;
            }
            let micros = self.start.elapsed().as_micros() as u64;
            let now = micros / 1000;
            // The answer goes straight into the shared output buffer: agents hold no outbox.
            let (delivery, answer_to) =
                self.agents[i].handle_datagram_with(&self.profile, now, src, bytes, &mut self.out);
            if let Some(d) = delivery {
                self.stats.delivered += 1;
                self.last_delivery = Some(Instant::now());
                if let Some((_, t)) = self
                    .submitted
                    .iter()
                    .find(|(id, _)| id.as_slice() == d.push_id)
                {
                    self.latency.record(micros.saturating_sub(*t * 1000));
                }
            }
            if let Some(dest) = answer_to {
                self.send(i % self.socks.len(), dest);
            }
            self.after(i);
        }
    }

    /// After any call on agent `i`: send what it has to send, note its events, re-arm its timer.
    fn after(&mut self, i: usize) {
        let k = i % self.socks.len();
        while let Some(dest) = self.agents[i].poll_transmit(&self.profile, &mut self.out) {
            self.send(k, dest);
        }
        while let Some(ev) = self.agents[i].poll_event() {
            match ev {
                Event::Registered { .. } if !self.registered[i] => {
                    self.registered[i] = true;
                    self.stats.registered += 1;
                }
                Event::RegistrationFailed { .. } => self.stats.refused += 1,
                Event::HeartbeatAnswered => self.stats.heartbeats += 1,
                _ => {}
            }
        }
        let deadline = self.agents[i].poll_timeout();
        let key = self.timers[i];
        match deadline {
            Some(d) if self.wheel.deadline(key) == Some(d) => {}
            Some(d) => {
                if !self.wheel.reset(key, d) {
                    self.timers[i] = self.wheel.insert(d, i as u32);
                }
            }
            None => {
                self.wheel.cancel(key);
                self.timers[i] = TimerKey::DANGLING;
            }
        }
    }

    fn send(&mut self, k: usize, dest: SocketAddr) {
        if !self.backlog[k].is_empty() {
            self.backlog[k].push_back((self.out.clone(), dest));
            return;
        }
        match self.socks[k].send_to(&self.out, dest) {
            Ok(_) => self.stats.datagrams_out += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.backlog[k].push_back((self.out.clone(), dest))
            }
            Err(_) => {}
        }
    }

    fn flush_backlog(&mut self, k: usize) -> io::Result<()> {
        while let Some((bytes, dest)) = self.backlog[k].front() {
            match self.socks[k].send_to(bytes, *dest) {
                Ok(_) => {
                    self.stats.datagrams_out += 1;
                    self.backlog[k].pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(_) => {
                    self.backlog[k].pop_front();
                }
            }
        }
        Ok(())
    }
}

/// The agent a datagram is for, found without parsing the whole message (the agent parses it
/// anyway): a request from the server names the client in its Request-URI (`METHOD sip:b<i>@`),
/// a response to the client's REGISTER or OPTIONS in its From URI, which the server copies
/// from the request. Returns the index and whether it is a MESSAGE.
fn route(bytes: &[u8]) -> Option<(usize, bool)> {
    let (is_message, after) = if bytes.starts_with(b"SIP/2.0 ") {
        let from = find(bytes, b"\r\nFrom:")?;
        (false, from + find(&bytes[from..], b"sip:b")? + 5)
    } else {
        let line_end = find(bytes, b"\r\n")?;
        let uri = find(&bytes[..line_end], b" sip:b")? + 6;
        (bytes.starts_with(b"MESSAGE "), uri)
    };
    let digits = bytes[after..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let i = sip::chars::parse_digits(&bytes[after..after + digits], u32::MAX as u64)?;
    Some((i as usize, is_message))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn routes_by_request_uri_or_from() {
        assert_eq!(
            route(b"MESSAGE sip:b42@127.0.0.1:5000 SIP/2.0\r\nVia: x\r\n\r\n"),
            Some((42, true))
        );
        assert_eq!(route(b"OPTIONS sip:b7@h SIP/2.0\r\n\r\n"), Some((7, false)));
        assert_eq!(
            route(b"SIP/2.0 200 OK\r\nVia: x\r\nFrom: <sip:b123@h>;tag=1\r\n\r\n"),
            Some((123, false))
        );
        assert_eq!(route(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n"), None);
        assert_eq!(route(b"MESSAGE sip:x@h SIP/2.0\r\n"), None);
        assert_eq!(route(b""), None);
    }
}
