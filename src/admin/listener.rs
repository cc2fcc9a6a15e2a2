//! The mio shell serving admin HTTP connections inside the server's single poll loop.
//!
//! Owns: the listening socket, the accepted `TcpStream`s (each with its [`HttpConn`]) and their
//! timers. It moves bytes between sockets and `HttpConn` and makes no protocol decisions; the
//! server core answers requests through the `handler` passed to [`AdminListener::handle_event`].
//!
//! Tokens: the listener is `Token(base)` and the connection in slab slot `k` is
//! `Token(base + 1 + k)`, so the loop routes every token in [`AdminListener::token_range`] here.
//! Slots are reused; an event for a closed connection may reach its successor in the same slot,
//! which is harmless because every event is treated as a hint (read and write until
//! `WouldBlock`, per mio's edge-triggered contract).
//!
//! Invariants (what a slow, silent or malicious client can cost):
//! - At most `max_connections` connections; beyond that a connection is accepted, sent one
//!   non-blocking `503` with `Retry-After: 1` and `Connection: close`, and closed at once.
//! - A connection is closed when `idle_timeout_ms` pass without progress, where progress is the
//!   connection opening, a complete request, or the output draining completely. Bytes that do
//!   not complete a request (slowloris) do not count.
//! - One event serves at most `REQUEST_BUDGET` requests and `ACCEPT_BUDGET` accepts; leftover
//!   work makes [`AdminListener::next_deadline`] return `Some(0)` so the loop comes back through
//!   [`AdminListener::handle_timeout`] after serving other sockets, instead of re-arming tricks.
//! - `WRITABLE` interest is registered only while output is pending.
//! - After a closing response the write side is shut down and input is discarded for a short
//!   linger (bounded in time and bytes) so the client reads the response instead of a reset.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::ops::Range;

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use slab::Slab;

use super::http::{HttpConn, Limits, RenderMode, Request, Response, render};

/// Accepts per event before yielding to the rest of the loop.
const ACCEPT_BUDGET: usize = 32;
/// Delay before retrying `accept` after an error such as EMFILE.
const ACCEPT_RETRY_MS: u64 = 100;
/// Requests served per connection per turn.
const REQUEST_BUDGET: usize = 32;
/// Read/serve/write rounds per connection per turn.
const MAX_ROUNDS: usize = 8;
/// Longest linger after a closing response.
const LINGER_MS: u64 = 2_000;
/// Most input discarded while lingering.
const LINGER_DISCARD_MAX: usize = 64 * 1024;

/// Bounds for the admin listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Simultaneous connections (default 64).
    pub max_connections: usize,
    /// Time without progress after which a connection is closed (default 30 s).
    pub idle_timeout_ms: u64,
    /// Per-connection HTTP bounds.
    pub limits: Limits,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            max_connections: 64,
            idle_timeout_ms: 30_000,
            limits: Limits::default(),
        }
    }
}

struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    http: HttpConn,
    /// Close when `now` reaches this: idle deadline, or end of the linger.
    deadline: u64,
    lingering: bool,
    discarded: usize,
    peer_eof: bool,
    /// `WRITABLE` interest is registered.
    writable: bool,
    /// Work was left for a later turn.
    backlog: bool,
}

/// What a turn decided for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Turn {
    Open,
    Close,
}

/// The admin HTTP server side of the poll loop.
pub struct AdminListener {
    listener: TcpListener,
    clients: Slab<Client>,
    token_base: usize,
    config: ListenerConfig,
    /// A lower bound of every client's deadline.
    next_sweep: Option<u64>,
    /// Accept again without waiting for an event (budget exhausted or transient error).
    accept_again_at: Option<u64>,
    /// Some client has `backlog` set.
    backlog: bool,
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn is_retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl AdminListener {
    /// Binds `addr` and registers the listener as `Token(token_base)`.
    pub fn bind(
        addr: SocketAddr,
        registry: &Registry,
        token_base: usize,
        config: ListenerConfig,
    ) -> io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr)?, registry, token_base, config)
    }

    /// Takes an already bound listener and registers it as `Token(token_base)`. Fails if the
    /// token range would overflow.
    pub fn from_listener(
        mut listener: TcpListener,
        registry: &Registry,
        token_base: usize,
        config: ListenerConfig,
    ) -> io::Result<Self> {
        if token_base
            .checked_add(1)
            .and_then(|t| t.checked_add(config.max_connections))
            .is_none()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "admin token range overflows usize",
            ));
        }
        registry.register(&mut listener, Token(token_base), Interest::READABLE)?;
        Ok(AdminListener {
            listener,
            clients: Slab::with_capacity(config.max_connections),
            token_base,
            config,
            next_sweep: None,
            accept_again_at: None,
            backlog: false,
        })
    }

    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Every token this listener may register: `base..base + 1 + max_connections`.
    pub fn token_range(&self) -> Range<usize> {
        self.token_base..self.token_base + 1 + self.config.max_connections
    }

    /// True if `token` belongs to this listener.
    pub fn owns(&self, token: Token) -> bool {
        self.token_range().contains(&token.0)
    }

    /// Open connections, including ones lingering after their last response.
    pub fn connection_count(&self) -> usize {
        self.clients.len()
    }

    /// When [`AdminListener::handle_timeout`] next has work, in the caller's millisecond clock;
    /// `Some(0)` means "now" (work left over from a budgeted turn).
    pub fn next_deadline(&self) -> Option<u64> {
        if self.backlog {
            return Some(0);
        }
        min_opt(self.next_sweep, self.accept_again_at)
    }

    /// Handles a readiness event for one of this listener's tokens; others are ignored.
    pub fn handle_event<H>(
        &mut self,
        registry: &Registry,
        event: &Event,
        now_ms: u64,
        handler: &mut H,
    ) where
        H: FnMut(&Request<'_>, u64) -> Response,
    {
        self.handle_token(registry, event.token(), now_ms, handler);
    }

    /// [`AdminListener::handle_event`] by token alone (readiness flags are only hints).
    pub fn handle_token<H>(
        &mut self,
        registry: &Registry,
        token: Token,
        now_ms: u64,
        handler: &mut H,
    ) where
        H: FnMut(&Request<'_>, u64) -> Response,
    {
        if token.0 == self.token_base {
            self.accept(registry, now_ms);
            return;
        }
        let Some(key) = token.0.checked_sub(self.token_base + 1) else {
            return;
        };
        if key < self.config.max_connections && self.clients.contains(key) {
            self.service(registry, key, now_ms, handler);
        }
    }

    /// Retries accepting, finishes budgeted work and closes connections past their deadline.
    /// A scan over at most `max_connections` slots, run only when something is due.
    pub fn handle_timeout<H>(&mut self, registry: &Registry, now_ms: u64, handler: &mut H)
    where
        H: FnMut(&Request<'_>, u64) -> Response,
    {
        if self.accept_again_at.is_some_and(|t| now_ms >= t) {
            self.accept_again_at = None;
            self.accept(registry, now_ms);
        }
        if self.backlog {
            self.backlog = false;
            for key in 0..self.config.max_connections {
                if let Some(c) = self.clients.get_mut(key) {
                    if c.backlog {
                        c.backlog = false;
                        self.service(registry, key, now_ms, handler);
                    }
                }
            }
        }
        if self.next_sweep.is_some_and(|t| now_ms >= t) {
            let mut next = None;
            for key in 0..self.config.max_connections {
                match self.clients.get(key).map(|c| c.deadline) {
                    Some(d) if now_ms >= d => {
                        log::debug!("admin: closing connection {key} after timeout");
                        self.close(registry, key);
                    }
                    Some(d) => next = min_opt(next, Some(d)),
                    None => {}
                }
            }
            self.next_sweep = next;
        }
    }

    fn accept(&mut self, registry: &Registry, now: u64) {
        for _ in 0..ACCEPT_BUDGET {
            match self.listener.accept() {
                Ok((stream, peer)) => self.admit(registry, stream, peer, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_again_at = None;
                    return;
                }
                Err(e) if is_retryable(&e) => continue,
                Err(e) => {
                    log::warn!("admin: accept failed: {e}");
                    self.accept_again_at = Some(now.saturating_add(ACCEPT_RETRY_MS));
                    return;
                }
            }
        }
        self.accept_again_at = Some(now);
    }

    fn admit(&mut self, registry: &Registry, mut stream: TcpStream, peer: SocketAddr, now: u64) {
        if self.clients.len() >= self.config.max_connections {
            log::debug!("admin: {peer}: connection limit reached, answering 503");
            let busy = Response::json(503, r#"{"error":"too many admin connections"}"#)
                .with_header("Retry-After", "1");
            let mut bytes = Vec::with_capacity(160);
            let mode = RenderMode {
                close: true,
                ..RenderMode::default()
            };
            render(&mut bytes, &busy, mode);
            // Best effort: a fresh socket's send buffer takes this small write whole.
            let _ = stream.write(&bytes);
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
        let _ = stream.set_nodelay(true);
        let key = self.clients.vacant_key();
        let token = Token(self.token_base + 1 + key);
        if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
            log::warn!("admin: {peer}: register failed: {e}");
            return;
        }
        let deadline = now.saturating_add(self.config.idle_timeout_ms);
        self.clients.insert(Client {
            stream,
            peer,
            http: HttpConn::new(self.config.limits),
            deadline,
            lingering: false,
            discarded: 0,
            peer_eof: false,
            writable: false,
            backlog: false,
        });
        self.next_sweep = min_opt(self.next_sweep, Some(deadline));
    }

    /// Gives connection `key` a turn, then fixes its interest or closes it.
    fn service<H>(&mut self, registry: &Registry, key: usize, now: u64, handler: &mut H)
    where
        H: FnMut(&Request<'_>, u64) -> Response,
    {
        let token = Token(self.token_base + 1 + key);
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let mut turn = drive(c, now, &self.config, handler);
        if turn == Turn::Open {
            let want_writable = !c.lingering && !c.http.pending_output().is_empty();
            if want_writable != c.writable {
                let interest = if want_writable {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                match registry.reregister(&mut c.stream, token, interest) {
                    Ok(()) => c.writable = want_writable,
                    Err(e) => {
                        log::debug!("admin: {}: reregister failed: {e}", c.peer);
                        turn = Turn::Close;
                    }
                }
            }
        }
        match turn {
            Turn::Open => {
                self.backlog |= c.backlog;
                self.next_sweep = min_opt(self.next_sweep, Some(c.deadline));
            }
            Turn::Close => self.close(registry, key),
        }
    }

    fn close(&mut self, registry: &Registry, key: usize) {
        if let Some(mut c) = self.clients.try_remove(key) {
            let _ = registry.deregister(&mut c.stream);
        }
    }
}

/// One turn for a connection: read, serve complete requests, write, repeated while that makes
/// progress that no future event would announce.
fn drive<H>(c: &mut Client, now: u64, config: &ListenerConfig, handler: &mut H) -> Turn
where
    H: FnMut(&Request<'_>, u64) -> Response,
{
    if c.lingering {
        return discard_input(c);
    }
    let idle_deadline = now.saturating_add(config.idle_timeout_ms);
    let mut budget = REQUEST_BUDGET;
    for _ in 0..MAX_ROUNDS {
        let mut progress = false;
        let mut input_full = false;
        while !c.peer_eof {
            let buf = c.http.read_buf();
            if buf.is_empty() {
                input_full = !c.http.wants_close();
                break;
            }
            match c.stream.read(buf) {
                Ok(0) => c.peer_eof = true,
                Ok(n) => {
                    c.http.received(n);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("admin: {}: read failed: {e}", c.peer);
                    return Turn::Close;
                }
            }
        }

        let mut budget_hit = false;
        loop {
            if budget == 0 {
                budget_hit = true;
                break;
            }
            let response = match c.http.poll_request() {
                Ok(Some(req)) => handler(&req, now),
                Ok(None) => break,
                Err(e) => {
                    log::debug!("admin: {}: bad request: {e}", c.peer);
                    e.response()
                }
            };
            c.http.respond(&response);
            budget -= 1;
            progress = true;
            c.deadline = idle_deadline;
        }

        let had_output = !c.http.pending_output().is_empty();
        let mut write_blocked = false;
        while !c.http.pending_output().is_empty() {
            match c.stream.write(c.http.pending_output()) {
                Ok(0) => return Turn::Close,
                Ok(n) => {
                    c.http.consumed_output(n);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    write_blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("admin: {}: write failed: {e}", c.peer);
                    return Turn::Close;
                }
            }
        }
        if c.http.pending_output().is_empty() {
            if had_output {
                c.deadline = idle_deadline;
            }
            if c.http.wants_close() {
                return start_linger(c, now, config);
            }
            if c.peer_eof {
                return Turn::Close;
            }
        }
        if budget_hit {
            c.backlog = true;
            return Turn::Open;
        }
        // Another round only if a full buffer or paused pipelining may now move on; otherwise
        // the next readable or writable event brings us back.
        if !progress || write_blocked || !(input_full || c.http.has_partial_input()) {
            return Turn::Open;
        }
    }
    c.backlog = true;
    Turn::Open
}

/// Half-closes after the last response and starts discarding input (lingering close).
fn start_linger(c: &mut Client, now: u64, config: &ListenerConfig) -> Turn {
    if c.peer_eof {
        return Turn::Close;
    }
    let _ = c.stream.shutdown(Shutdown::Write);
    c.lingering = true;
    c.deadline = now.saturating_add(LINGER_MS.min(config.idle_timeout_ms));
    discard_input(c)
}

fn discard_input(c: &mut Client) -> Turn {
    let mut scratch = [0u8; 4096];
    loop {
        match c.stream.read(&mut scratch) {
            Ok(0) => return Turn::Close,
            Ok(n) => {
                c.discarded = c.discarded.saturating_add(n);
                if c.discarded > LINGER_DISCARD_MAX {
                    return Turn::Close;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Turn::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Turn::Close,
        }
    }
}

#[cfg(test)]
mod tests;
