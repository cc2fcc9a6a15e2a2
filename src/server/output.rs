//! Datagrams the core has decided to send but the shell has not taken yet (responses built
//! while handling an incoming datagram). One reused byte arena plus a queue of ranges: no
//! allocation once both have grown.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::sip::Writer;

/// Pending outgoing datagrams.
pub struct Output {
    bytes: Vec<u8>,
    queue: VecDeque<(SocketAddr, usize, usize)>,
}

impl Default for Output {
    /// Room for a few dozen responses up front, so that normal operation never grows it.
    fn default() -> Output {
        Output {
            bytes: Vec::with_capacity(32 * 1024),
            queue: VecDeque::with_capacity(64),
        }
    }
}

impl Output {
    /// Build one datagram for `dest` with `build`, which writes a whole message with the
    /// writer it is given (at the end of the arena: no copy). A build that writes nothing (or
    /// truncates back to where it started) sends nothing.
    pub fn push(&mut self, dest: SocketAddr, build: impl FnOnce(&mut Writer<'_>)) {
        let start = self.bytes.len();
        build(&mut Writer::append(&mut self.bytes));
        if self.bytes.len() > start {
            self.queue.push_back((dest, start, self.bytes.len()));
        }
    }

    /// Queue raw bytes (e.g. the CRLF keep-alive pong).
    pub fn push_raw(&mut self, dest: SocketAddr, data: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(data);
        self.queue.push_back((dest, start, self.bytes.len()));
    }

    /// Move the oldest datagram into `buf`; returns its destination.
    pub fn pop(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        let (dest, start, end) = self.queue.pop_front()?;
        buf.clear();
        buf.extend_from_slice(&self.bytes[start..end]);
        if self.queue.is_empty() {
            self.bytes.clear();
        }
        Some(dest)
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
