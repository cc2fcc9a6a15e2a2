//! The I/O shell of one agent (`sippush client`): one UDP socket, one `mio::Poll`, the clock.
//!
//! It moves bytes and time and makes no protocol decision: it reads datagrams until
//! `WouldBlock` and hands each to the agent, sends whatever the agent has to send after every
//! call, calls the agent's timers when due, logs the agent's events, and hands deliveries to
//! the [`Application`]. A stop source (the read end of a signal pipe) makes it deregister
//! and return once the deregistration is answered or a bounded wait has passed.
//!
//! Two debugging aids make the server retransmit (used by the end-to-end tests): `drop_first`
//! discards the first N MESSAGE datagrams before the agent sees them, `drop_answers` discards
//! the agent's answers to the first N MESSAGEs it handles (so retransmissions reach it and are
//! recognised as duplicates).

use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{UdpSocket, UnixStream};
use mio::{Events, Interest, Poll, Token};

use super::{Agent, Delivery, Event, Profile};

const SIP: Token = Token(0);
const STOP: Token = Token(1);
/// A receive buffer as large as any UDP datagram: nothing is truncated.
const RECV_BUF: usize = 65_536;
/// Longest sleep, so that the application's housekeeping runs now and then.
const MAX_WAIT_MS: u64 = 1_000;

/// What the command running the shell does with deliveries.
pub trait Application {
    /// A control message seen for the first time.
    fn delivery(&mut self, d: &Delivery<'_>);
    /// Housekeeping between turns (reaping child processes...); returns how soon it wants
    /// the next turn, if it has anything pending.
    fn tick(&mut self) -> Option<Duration>;
}

/// How the shell behaves.
#[derive(Clone, Copy, Debug)]
pub struct ShellOptions {
    /// After a stop request, how long to wait for the deregistration's answer.
    pub stop_wait: Duration,
    /// Debugging: discard the first N MESSAGE datagrams (the server retransmits them).
    pub drop_first: u32,
    /// Debugging: discard the answers to the first N MESSAGEs that reach the agent (the
    /// server retransmits; the agent answers again but delivers once).
    pub drop_answers: u32,
}

impl Default for ShellOptions {
    fn default() -> Self {
        ShellOptions {
            stop_wait: Duration::from_secs(2),
            drop_first: 0,
            drop_answers: 0,
        }
    }
}

/// One agent on a bound socket.
pub struct ClientShell {
    poll: Poll,
    sock: UdpSocket,
    agent: Agent,
    profile: Profile,
    opts: ShellOptions,
    start: Instant,
    local: SocketAddr,
}

/// The address to advertise for a socket bound to `bound`: itself, or, for a wildcard
/// address, the source address the kernel would use towards `server` (a connected probe
/// socket picks the route; nothing is sent).
fn advertised(bound: SocketAddr, server: SocketAddr) -> io::Result<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    let any: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(server)?;
    Ok(SocketAddr::new(probe.local_addr()?.ip(), bound.port()))
}

impl ClientShell {
    /// Bind a UDP socket at `bind` and build the agent for `id` in `classes`.
    pub fn bind(
        profile: Profile,
        id: &str,
        classes: &[&str],
        bind: SocketAddr,
        seed: u64,
        opts: ShellOptions,
    ) -> io::Result<ClientShell> {
        let poll = Poll::new()?;
        let std_sock = std::net::UdpSocket::bind(bind)?;
        std_sock.set_nonblocking(true)?;
        let local = advertised(std_sock.local_addr()?, profile.server)?;
        let mut sock = UdpSocket::from_std(std_sock);
        poll.registry()
            .register(&mut sock, SIP, Interest::READABLE)?;
        Ok(ClientShell {
            poll,
            sock,
            agent: Agent::new(id, classes, local, seed),
            profile,
            opts,
            start: Instant::now(),
            local,
        })
    }

    /// The address advertised in Via and Contact.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Register and run until `stop` becomes readable (a signal arrived), then deregister and
    /// return when that is answered or `stop_wait` has passed (or at once on a second signal).
    pub fn run(
        &mut self,
        mut stop: Option<UnixStream>,
        app: &mut dyn Application,
    ) -> io::Result<()> {
        if let Some(s) = stop.as_mut() {
            self.poll.registry().register(s, STOP, Interest::READABLE)?;
        }
        let mut events = Events::with_capacity(16);
        let mut recv = vec![0u8; RECV_BUF];
        let mut out = Vec::with_capacity(2048);
        let mut stopping: Option<u64> = None;
        let mut registered = false;
        let now = self.now();
        self.agent.start(&self.profile, now);
        log::info!(
            "{}: registering with {} from {}",
            self.agent.id(),
            self.profile.server,
            self.local
        );
        loop {
            self.flush(&mut out);
            if self.report_events(&mut registered) && stopping.is_some() {
                return Ok(());
            }
            let now = self.now();
            if stopping.is_some_and(|until| now >= until) {
                log::warn!(
                    "{}: no answer to the deregistration; exiting",
                    self.agent.id()
                );
                return Ok(());
            }
            let deadline = match (self.agent.poll_timeout(), stopping) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut wait = deadline.map_or(MAX_WAIT_MS, |d| d.saturating_sub(now).min(MAX_WAIT_MS));
            if let Some(t) = app.tick() {
                wait = wait.min(t.as_millis() as u64);
            }
            match self
                .poll
                .poll(&mut events, Some(Duration::from_millis(wait)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                if ev.token() == STOP {
                    if let Some(s) = stop.as_mut() {
                        drain(s);
                    }
                    if stopping.is_some() {
                        log::warn!("{}: second signal: exiting now", self.agent.id());
                        return Ok(());
                    }
                    let now = self.now();
                    log::info!("{}: stopping: deregistering", self.agent.id());
                    self.agent.stop(&self.profile, now);
                    stopping = Some(now + self.opts.stop_wait.as_millis() as u64);
                }
            }
            self.read_datagrams(&mut recv, &mut out, app)?;
            let now = self.now();
            self.agent.handle_timeout(&self.profile, now);
        }
    }

    /// Read until the socket would block, handing each datagram to the agent.
    fn read_datagrams(
        &mut self,
        recv: &mut [u8],
        out: &mut Vec<u8>,
        app: &mut dyn Application,
    ) -> io::Result<()> {
        // Bounded: a flood cannot keep the loop from its timers for long.
        for _ in 0..1024 {
            let (n, src) = match self.sock.recv_from(recv) {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // An ICMP error for an earlier send: the transaction's timers deal with it.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            let bytes = recv.get(..n).unwrap_or(&[]);
            if self.opts.drop_first > 0 && bytes.starts_with(b"MESSAGE ") {
                self.opts.drop_first -= 1;
                log::info!(
                    "{}: dropped a MESSAGE from {src} (--drop-first)",
                    self.agent.id()
                );
                continue;
            }
            let now = self.now();
            if let Some(d) = self.agent.handle_datagram(&self.profile, now, src, bytes) {
                app.delivery(&d);
            }
            if self.opts.drop_answers > 0 && bytes.starts_with(b"MESSAGE ") {
                // Answers leave first, so this is the MESSAGE's answer.
                if self.agent.poll_transmit(&self.profile, out).is_some() {
                    self.opts.drop_answers -= 1;
                    log::info!(
                        "{}: dropped our answer to a MESSAGE (--drop-answers)",
                        self.agent.id()
                    );
                }
            }
            self.flush(out);
        }
        Ok(())
    }

    /// Send everything the agent has to send. A datagram the socket refuses is dropped: the
    /// agent's own requests are retransmitted, and the server retransmits its MESSAGEs.
    fn flush(&mut self, out: &mut Vec<u8>) {
        while let Some(dest) = self.agent.poll_transmit(&self.profile, out) {
            if let Err(e) = self.sock.send_to(out, dest) {
                log::debug!("{}: send to {dest}: {e}", self.agent.id());
            }
        }
    }

    /// Log the agent's events; returns true once the deregistration has ended.
    fn report_events(&mut self, registered: &mut bool) -> bool {
        let mut deregistered = false;
        while let Some(e) = self.agent.poll_event() {
            let id = self.agent.id();
            match e {
                Event::Registered { granted_s } if !*registered => {
                    *registered = true;
                    log::info!("{id}: registered for {granted_s} s");
                }
                Event::Registered { granted_s } => {
                    log::debug!("{id}: registration refreshed for {granted_s} s");
                }
                Event::IntervalRaised { expires_s } => {
                    log::info!("{id}: the server wants at least {expires_s} s; asking again");
                }
                Event::RegistrationFailed { code } => {
                    *registered = false;
                    log::warn!("{id}: registration refused with {code}");
                }
                Event::ServerLost => {
                    *registered = false;
                    log::info!("{id}: lost the server (no answer)");
                }
                Event::Reregistering { attempt, delay_ms } => {
                    log::info!("{id}: re-registering in {delay_ms} ms (attempt {attempt})");
                }
                Event::Deregistered => {
                    log::info!("{id}: deregistered");
                    deregistered = true;
                }
                Event::HeartbeatAnswered => log::debug!("{id}: heartbeat answered"),
            }
        }
        deregistered
    }
}

/// Empty the signal pipe (each signal writes a byte).
fn drain(s: &mut UnixStream) {
    let mut buf = [0u8; 64];
    for _ in 0..64 {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}
