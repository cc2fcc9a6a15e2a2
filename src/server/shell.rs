//! The server's I/O shell: one thread, one `mio::Poll`, one UDP socket, the admin listener.
//!
//! It moves bytes and time, and makes no protocol decision: it reads datagrams until
//! `WouldBlock` (at most a batch per turn, so the admin side is never starved), feeds each to
//! the core, sends what the core has to send after every datagram, hands admin requests to the
//! core, and sleeps until the earliest deadline of the core and the admin listener. A send
//! that would block keeps its datagram and waits for the socket to become writable.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use super::{Config, Server};
use crate::admin::listener::{AdminListener, ListenerConfig};

const SIP: Token = Token(0);
const ADMIN_BASE: usize = 1;
/// Datagrams read per turn before the loop looks at other events and timers.
const READ_BATCH: usize = 256;
/// A receive buffer as large as any UDP datagram, so nothing is ever truncated or allocated.
const RECV_BUF: usize = 65_536;

/// Sockets and buffer sizes.
#[derive(Clone, Debug)]
pub struct ShellOptions {
    /// SIP UDP address to bind.
    pub sip: SocketAddr,
    /// Admin HTTP address to bind.
    pub admin: SocketAddr,
    /// SO_RCVBUF / SO_SNDBUF request for the SIP socket (the kernel caps it at
    /// net.core.rmem_max / wmem_max).
    pub socket_buffer: usize,
    /// Admin connection limits.
    pub admin_limits: ListenerConfig,
}

impl Default for ShellOptions {
    fn default() -> Self {
        ShellOptions {
            sip: SocketAddr::from(([127, 0, 0, 1], 5060)),
            admin: SocketAddr::from(([127, 0, 0, 1], 8080)),
            socket_buffer: 8 << 20,
            admin_limits: ListenerConfig::default(),
        }
    }
}

/// A bound server, ready to run.
pub struct ServerShell {
    poll: Poll,
    sock: UdpSocket,
    admin: AdminListener,
    core: Server,
    start: Instant,
    pending: Option<(Vec<u8>, SocketAddr)>,
    out: Vec<u8>,
    more: bool,
}

/// Bind a UDP socket with large buffers (socket2: std and mio cannot set SO_RCVBUF).
pub fn bind_udp(addr: SocketAddr, buffer: usize) -> io::Result<std::net::UdpSocket> {
    let domain = if addr.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if buffer > 0 {
        // Best effort: a smaller buffer only means more kernel drops under bursts (counted).
        let _ = s.set_recv_buffer_size(buffer);
        let _ = s.set_send_buffer_size(buffer);
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

impl ServerShell {
    /// Bind the sockets. `cfg.sip_addr` is set to the bound SIP address (so ephemeral ports
    /// work); the core's clock starts at 0 now.
    pub fn bind(mut cfg: Config, opts: &ShellOptions) -> io::Result<ServerShell> {
        let poll = Poll::new()?;
        let mut sock = UdpSocket::from_std(bind_udp(opts.sip, opts.socket_buffer)?);
        poll.registry()
            .register(&mut sock, SIP, Interest::READABLE | Interest::WRITABLE)?;
        let admin =
            AdminListener::bind(opts.admin, poll.registry(), ADMIN_BASE, opts.admin_limits)?;
        cfg.sip_addr = sock.local_addr()?;
        if cfg.domain.is_empty() {
            cfg.domain = cfg.sip_addr.ip().to_string();
        }
        log::info!(
            "SIP on udp:{}, admin on http://{}",
            cfg.sip_addr,
            admin.local_addr()?
        );
        Ok(ServerShell {
            poll,
            sock,
            admin,
            core: Server::new(cfg, 0),
            start: Instant::now(),
            pending: None,
            out: Vec::with_capacity(2048),
            more: false,
        })
    }

    /// The bound SIP address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.core.config().sip_addr
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> io::Result<SocketAddr> {
        self.admin.local_addr()
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Run until `stop()` returns true (checked at least every 200 ms) or an I/O error on the
    /// SIP socket other than would-block.
    pub fn run(&mut self, mut stop: impl FnMut() -> bool) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut buf = vec![0u8; RECV_BUF];
        while !stop() {
            let now = self.now();
            let deadline = match (self.core.poll_timeout(), self.admin.next_deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wait = deadline.map_or(200, |d| d.saturating_sub(now).min(200));
            // After a full batch the socket may hold more, and edge-triggered readiness will not
            // say so again: read on without sleeping.
            let busy = self.pending.is_none() && (self.more || self.core.has_transmit());
            let timeout = if busy {
                Duration::ZERO
            } else {
                Duration::from_millis(wait)
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.core.metrics.shell.loop_iterations += 1;
            let mut sip_ready = false;
            for ev in events.iter() {
                if ev.token() == SIP {
                    sip_ready = true;
                } else {
                    let now = self.now();
                    let (core, admin, registry) =
                        (&mut self.core, &mut self.admin, self.poll.registry());
                    admin.handle_event(registry, ev, now, &mut |req, now| {
                        if req.path() == "/metrics" {
                            refresh_kernel_counters(core);
                        }
                        core.handle_admin(now, req)
                    });
                }
            }
            if sip_ready || std::mem::take(&mut self.more) {
                self.read_datagrams(&mut buf)?;
            }
            let now = self.now();
            self.core.handle_timeout(now);
            let (core, admin, registry) = (&mut self.core, &mut self.admin, self.poll.registry());
            admin.handle_timeout(registry, now, &mut |req, now| core.handle_admin(now, req));
            self.flush()?;
        }
        Ok(())
    }

    /// Read up to a batch of datagrams, answering each before reading the next.
    fn read_datagrams(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut now = self.now();
        for k in 0..READ_BATCH {
            // The clock is read every few datagrams, not for each: milliseconds are enough.
            if k % 16 == 15 {
                now = self.now();
            }
            // While a send would block, answers would only pile up: leave the rest in the
            // kernel's buffer until the socket is writable again.
            if self.pending.is_some() {
                self.more = true;
                return Ok(());
            }
            match self.sock.recv_from(buf) {
                Ok((n, src)) => {
                    self.core.metrics.shell.datagrams_in += 1;
                    self.core.handle_datagram(now, src, &buf[..n]);
                    self.flush()?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // ICMP errors reported on an unconnected socket, transient memory shortage and
                // the like: counted, never fatal to the server.
                Err(e) => {
                    log::debug!("recv: {e}");
                    self.core.metrics.shell.recv_errors += 1;
                    if e.kind() != io::ErrorKind::ConnectionRefused {
                        return Ok(());
                    }
                }
            }
        }
        self.more = true;
        Ok(())
    }

    /// Send everything the core has to send, until the socket would block.
    fn flush(&mut self) -> io::Result<()> {
        if let Some((bytes, dest)) = self.pending.take() {
            if !self.send(&bytes, dest)? {
                self.pending = Some((bytes, dest));
                return Ok(());
            }
        }
        while let Some(dest) = self.core.poll_transmit(&mut self.out) {
            let bytes = std::mem::take(&mut self.out);
            let sent = self.send(&bytes, dest)?;
            if !sent {
                self.pending = Some((bytes, dest));
                self.out = Vec::with_capacity(2048);
                return Ok(());
            }
            self.out = bytes;
        }
        Ok(())
    }

    /// Send one datagram; false when the socket would block.
    fn send(&mut self, bytes: &[u8], dest: SocketAddr) -> io::Result<bool> {
        match self.sock.send_to(bytes, dest) {
            Ok(_) => {
                self.core.metrics.shell.datagrams_out += 1;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => {
                // Unreachable destinations and the like: the transaction's timers handle it.
                log::debug!("send to {dest}: {e}");
                self.core.metrics.shell.send_errors += 1;
                Ok(true)
            }
        }
    }
}

/// The kernel's UDP drop counters from /proc/net/snmp (system-wide; Linux only).
fn refresh_kernel_counters(core: &mut Server) {
    if let Some((rcv, snd)) = read_udp_snmp() {
        core.metrics.shell.udp_rcvbuf_errors = rcv;
        core.metrics.shell.udp_sndbuf_errors = snd;
    }
}

/// `(RcvbufErrors, SndbufErrors)` of the `Udp:` lines of /proc/net/snmp.
pub fn read_udp_snmp() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = lines.next()?.split_whitespace().collect();
    let values: Vec<&str> = lines.next()?.split_whitespace().collect();
    let get = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| values.get(i))
            .and_then(|v| v.parse().ok())
    };
    Some((get("RcvbufErrors")?, get("SndbufErrors")?))
}
