//! Deliveries: per-client FIFO queues of (message, client) pairs, MESSAGE transactions that
//! retransmit until a final response, and the pacing of new transactions.
//!
//! - Per client, at most one MESSAGE is in flight; the rest wait in order in its queue (at most
//!   `max_queue`; beyond, the oldest waiting delivery fails with a counted reason).
//! - At most `max_inflight` transactions are outstanding server-wide; queues with a sendable
//!   head wait in the `ready` FIFO and start as acks free slots, so a push to a million clients
//!   never floods the socket buffers.
//! - A transaction is a non-INVITE client transaction (RFC 3261 §17.1.2): Timer E retransmits
//!   at T1, 2T1, ... capped at T2 (at T2 once a provisional arrived), Timer F ends it after
//!   64*T1. A timed-out delivery whose message is still within its TTL starts a new transaction
//!   (new branch and Call-ID, same `Push-Id`). 2xx acks it; another final response fails it.
//! - The branch (`z9hG4bK-sp<boot>-<slot>-<generation>`) names the transaction's arena handle,
//!   so matching a response (RFC 3261 §17.1.3: branch and CSeq method) is O(1) and a late
//!   response to an ended transaction finds a stale generation, never the wrong one.
//! - A client that leaves the table keeps its queue, parked under its id; if the same id
//!   registers again before the TTLs run out, delivery resumes at once.

use std::net::SocketAddr;

use super::push::{OVERFLOW, Outcome};
use super::{PushKey, QueueKey, Server, Timer, TxnKey};
use crate::registry::{ClientKey, NO_QUEUE};
use crate::sip::{Host, Uri, Writer};
use crate::timer::TimerKey;

const NIL: u32 = u32::MAX;
const BRANCH_PREFIX: &[u8] = b"z9hG4bK-sp";

/// One waiting delivery in a queue.
pub(super) struct Node {
    pub push: PushKey,
    pub next: u32,
}

/// A client's deliveries, oldest first; the head is the one in flight, if any.
pub(super) struct Queue {
    pub client: Option<ClientKey>,
    pub parked_id: Option<Box<[u8]>>,
    head: u32,
    tail: u32,
    pub len: u32,
    inflight: Option<TxnKey>,
    in_ready: bool,
    park_timer: TimerKey,
    /// Where the client's MESSAGEs go, kept while it has deliveries so that a send does not
    /// parse its Contact (updated whenever its binding or source changes).
    dest: SocketAddr,
}

/// A MESSAGE client transaction.
pub(super) struct Txn {
    queue: QueueKey,
    push: PushKey,
    timer: TimerKey,
    interval: u64,
    deadline_f: u64,
    proceeding: bool,
}

impl Server {
    /// Append a delivery of `push` to the client's queue. Returns false when the client already
    /// has it (a client named twice in one submission) or is gone.
    pub(super) fn enqueue(&mut self, ck: ClientKey, push: PushKey) -> bool {
        let Some(c) = self.reg.get(ck) else {
            return false;
        };
        let qk = match self.queues.handle_at(c.queue) {
            Some(qk) if c.queue != NO_QUEUE => qk,
            _ => {
                let dest = destination(c.route_to_source, c.contact(), c.source.into());
                let qk = self.queues.insert(Queue {
                    client: Some(ck),
                    parked_id: None,
                    head: NIL,
                    tail: NIL,
                    len: 0,
                    inflight: None,
                    in_ready: false,
                    park_timer: TimerKey::DANGLING,
                    dest,
                });
                if let Some(c) = self.reg.get_mut(ck) {
                    c.queue = qk.index();
                }
                qk
            }
        };
        let Some(q) = self.queues.get(qk) else {
            return false;
        };
        if q.tail != NIL
            && self
                .nodes
                .get(q.tail as usize)
                .is_some_and(|n| n.push == push)
        {
            return false;
        }
        if q.len as usize >= self.cfg.max_queue {
            self.drop_oldest_waiting(qk);
        }
        let node = self.nodes.insert(Node { push, next: NIL }) as u32;
        let Some(q) = self.queues.get_mut(qk) else {
            return false;
        };
        if q.tail == NIL {
            q.head = node;
        } else if let Some(t) = self.nodes.get_mut(q.tail as usize) {
            t.next = node;
        }
        q.tail = node;
        q.len += 1;
        self.make_ready(qk);
        true
    }

    /// Fail (or, if finished already, just drop) the oldest delivery that is not in flight.
    fn drop_oldest_waiting(&mut self, qk: QueueKey) {
        let Some(q) = self.queues.get(qk) else { return };
        let (prev, victim) = if q.inflight.is_some() {
            let second = self.nodes.get(q.head as usize).map_or(NIL, |n| n.next);
            (q.head, second)
        } else {
            (NIL, q.head)
        };
        let Some(node) = self.unlink(qk, prev, victim) else {
            return;
        };
        if self.push_active(node.push) {
            self.record_outcome(node.push, Outcome::Failed(OVERFLOW));
        }
    }

    /// Remove node `idx` (whose predecessor is `prev`, or NIL for the head) from the queue.
    fn unlink(&mut self, qk: QueueKey, prev: u32, idx: u32) -> Option<Node> {
        if idx == NIL {
            return None;
        }
        let node = self.nodes.try_remove(idx as usize)?;
        let q = self.queues.get_mut(qk)?;
        if prev == NIL {
            q.head = node.next;
        } else if let Some(p) = self.nodes.get_mut(prev as usize) {
            p.next = node.next;
        }
        if q.tail == idx {
            q.tail = prev;
        }
        q.len -= 1;
        Some(node)
    }

    /// Queue `qk` joins the ready FIFO if it can start a transaction.
    fn make_ready(&mut self, qk: QueueKey) {
        let Some(q) = self.queues.get_mut(qk) else {
            return;
        };
        if q.client.is_some() && q.inflight.is_none() && q.len > 0 && !q.in_ready {
            q.in_ready = true;
            self.ready.push_back(qk);
        }
    }

    /// Start a transaction for the head of `qk` (dropping heads whose message has finished).
    pub(super) fn start_txn(&mut self, qk: QueueKey) -> Option<TxnKey> {
        let q = self.queues.get_mut(qk)?;
        q.in_ready = false;
        if q.client.is_none() || q.inflight.is_some() {
            return None;
        }
        loop {
            let q = self.queues.get(qk)?;
            if q.head == NIL {
                self.release_queue_if_empty(qk);
                return None;
            }
            let push = self.nodes.get(q.head as usize)?.push;
            if self.push_active(push) {
                break;
            }
            self.unlink(qk, NIL, q.head);
        }
        let q = self.queues.get(qk)?;
        let push = self.nodes.get(q.head as usize)?.push;
        let now = self.now;
        let interval = self.cfg.t1_ms;
        let deadline_f = now + 64 * self.cfg.t1_ms;
        let key = self.txns.insert(Txn {
            queue: qk,
            push,
            timer: TimerKey::DANGLING,
            interval,
            deadline_f,
            proceeding: false,
        });
        let timer = self
            .wheel
            .insert((now + interval).min(deadline_f), Timer::Txn(key));
        if let Some(t) = self.txns.get_mut(key) {
            t.timer = timer;
        }
        if let Some(q) = self.queues.get_mut(qk) {
            q.inflight = Some(key);
        }
        self.inflight += 1;
        Some(key)
    }

    /// A queue with nothing left detaches from its client (or leaves the parked map) and is
    /// freed.
    fn release_queue_if_empty(&mut self, qk: QueueKey) {
        let Some(q) = self.queues.get(qk) else { return };
        if q.len > 0 || q.inflight.is_some() {
            return;
        }
        let Some(q) = self.queues.remove(qk) else {
            return;
        };
        if let Some(ck) = q.client {
            if let Some(c) = self.reg.get_mut(ck) {
                c.queue = NO_QUEUE;
            }
        }
        if let Some(id) = q.parked_id {
            self.parked.remove(&id);
        }
        self.wheel.cancel(q.park_timer);
    }

    /// End transaction `key`; its delivery ends with `outcome`, or (None) stays at the head of
    /// its queue for a new transaction.
    fn end_txn(&mut self, key: TxnKey, outcome: Option<Outcome>) {
        let Some(t) = self.txns.remove(key) else {
            return;
        };
        self.inflight -= 1;
        self.wheel.cancel(t.timer);
        let qk = t.queue;
        if let Some(q) = self.queues.get_mut(qk) {
            q.inflight = None;
        }
        if let Some(outcome) = outcome {
            self.record_outcome(t.push, outcome);
            let head = self.queues.get(qk).map_or(NIL, |q| q.head);
            self.unlink(qk, NIL, head);
        }
        self.make_ready(qk);
        self.release_queue_if_empty(qk);
    }

    /// Timer E or F of a transaction.
    pub(super) fn on_txn_timer(&mut self, key: TxnKey) {
        let now = self.now;
        let Some(t) = self.txns.get(key) else { return };
        if !self.push_active(t.push) {
            // The TTL ran out meanwhile: drop the transaction and its delivery quietly.
            let (qk, push) = (t.queue, t.push);
            self.end_txn(key, None);
            self.drop_dead_head(qk, push);
            return;
        }
        if now >= t.deadline_f {
            // Timer F: start over with a new transaction (same Push-Id) while the TTL allows.
            self.metrics.transaction_timeouts += 1;
            self.end_txn(key, None);
            return;
        }
        let t2 = self.cfg.t2_ms;
        let Some(t) = self.txns.get_mut(key) else {
            return;
        };
        t.interval = if t.proceeding {
            t2
        } else {
            (t.interval * 2).min(t2)
        };
        let next = (now + t.interval).min(t.deadline_f);
        t.timer = self.wheel.insert(next, Timer::Txn(key));
        self.due.push_back(key);
    }

    fn drop_dead_head(&mut self, qk: QueueKey, push: PushKey) {
        let head = self.queues.get(qk).map_or(NIL, |q| q.head);
        if self
            .nodes
            .get(head as usize)
            .is_some_and(|n| n.push == push)
        {
            self.unlink(qk, NIL, head);
        }
        self.make_ready(qk);
        self.release_queue_if_empty(qk);
    }

    /// A response to one of our MESSAGEs.
    pub(super) fn on_message_response(&mut self, code: u16, branch: Option<&[u8]>) {
        let Some(key) = self.txn_of_branch(branch) else {
            return;
        };
        let Some(t) = self.txns.get_mut(key) else {
            self.metrics.drop(super::Drop::LateResponse);
            return;
        };
        if code < 200 {
            // RFC 3261 §17.1.2.2: Proceeding; Timer E now fires at T2.
            t.proceeding = true;
            self.metrics.provisional += 1;
            return;
        }
        // A final response also shows the client is alive.
        let client = t.queue;
        if let Some(ck) = self.queues.get(client).and_then(|q| q.client) {
            let now = self.now;
            if let Some(c) = self.reg.get_mut(ck) {
                c.last_seen = now;
            }
        }
        let outcome = if code < 300 {
            Outcome::Acked
        } else {
            Outcome::Failed(code)
        };
        self.end_txn(key, Some(outcome));
    }

    /// Decode our branch into a transaction handle; counts unmatched responses.
    fn txn_of_branch(&mut self, branch: Option<&[u8]>) -> Option<TxnKey> {
        let decoded = branch
            .and_then(|b| b.strip_prefix(BRANCH_PREFIX))
            .and_then(|rest| {
                let mut parts = rest.split(|&b| b == b'-');
                let boot = hex(parts.next()?)?;
                let index = hex(parts.next()?)?;
                let generation = hex(parts.next()?)?;
                (parts.next().is_none() && boot == self.boot as u64).then_some((index, generation))
            });
        match decoded {
            Some((i, g)) if i <= u32::MAX as u64 && g <= u32::MAX as u64 => {
                Some(TxnKey::from_parts(i as u32, g as u32))
            }
            _ => {
                self.metrics.drop(super::Drop::UnmatchedResponse);
                None
            }
        }
    }

    /// Build the MESSAGE of transaction `key` into `buf`; returns where to send it.
    pub(super) fn send_txn(&mut self, key: TxnKey, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        let t = self.txns.get(key)?;
        let q = self.queues.get(t.queue)?;
        let c = self.reg.get(q.client?)?;
        let p = self.pushes.get(t.push)?;
        let dest = q.dest;
        let mut w = Writer::new(buf);
        write_message(
            &mut w,
            &MessageParts {
                contact: c.contact(),
                id: c.id(),
                domain: self.cfg.domain.as_bytes(),
                local: &self.local_hostport,
                boot: &self.boot_hex,
                txn: (key.index(), key.generation()),
                seq: p.seq,
                content_type: &p.content_type,
                payload: &p.payload,
            },
        );
        Some(dest)
    }

    /// Size of the MESSAGE for a message without its per-client parts (contact and id), with
    /// the widest transaction numbers: the submit-time bound of RFC 3261 §18.1.1.
    pub(super) fn message_size(&mut self, seq: u64, payload: &[u8], content_type: &[u8]) -> usize {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut w = Writer::new(&mut scratch);
        let n = write_message(
            &mut w,
            &MessageParts {
                contact: b"",
                id: b"",
                domain: self.cfg.domain.as_bytes(),
                local: &self.local_hostport,
                boot: &self.boot_hex,
                txn: (u32::MAX, u32::MAX),
                seq,
                content_type,
                payload,
            },
        );
        self.scratch = scratch;
        n
    }

    /// The client `key` leaves the table: abort its transaction and park its queue under its id.
    pub(super) fn park_queue_of(&mut self, key: ClientKey) {
        let Some(c) = self.reg.get(key) else { return };
        let Some(qk) = self
            .queues
            .handle_at(c.queue)
            .filter(|_| c.queue != NO_QUEUE)
        else {
            return;
        };
        let id: Box<[u8]> = c.id().into();
        if let Some(tk) = self.queues.get(qk).and_then(|q| q.inflight) {
            self.end_txn(tk, None);
        }
        if let Some(c) = self.reg.get_mut(key) {
            c.queue = NO_QUEUE;
        }
        let Some(q) = self.queues.get_mut(qk) else {
            return;
        };
        q.client = None;
        // Keep only deliveries whose message is still active.
        self.purge_finished(qk);
        let Some(q) = self.queues.get(qk) else { return };
        if q.len == 0 {
            self.release_queue_if_empty(qk);
            return;
        }
        if let Some(old) = self.parked.insert(id.clone(), qk) {
            // Cannot happen (the id was registered), but never leak a queue.
            self.queues.remove(old);
        }
        let last = self.latest_deadline(qk);
        let timer = self.wheel.insert(last, Timer::Parked(qk));
        if let Some(q) = self.queues.get_mut(qk) {
            q.parked_id = Some(id);
            q.park_timer = timer;
        }
    }

    /// The client's binding or source changed: its pending MESSAGEs go to the new place.
    pub(super) fn refresh_destination(&mut self, key: ClientKey) {
        let Some(c) = self.reg.get(key) else { return };
        if c.queue == NO_QUEUE {
            return;
        }
        let dest = destination(c.route_to_source, c.contact(), c.source.into());
        if let Some(q) = self
            .queues
            .handle_at(c.queue)
            .and_then(|qk| self.queues.get_mut(qk))
        {
            q.dest = dest;
        }
    }

    /// A client registered: adopt the queue parked under its id, if any, and resume.
    pub(super) fn unpark_queue_for(&mut self, key: ClientKey) {
        if self.parked.is_empty() {
            return;
        }
        let Some(c) = self.reg.get(key) else { return };
        let Some(qk) = self.parked.remove(c.id()) else {
            return;
        };
        if let Some(c) = self.reg.get_mut(key) {
            c.queue = qk.index();
        }
        let dest = self
            .reg
            .get(key)
            .map(|c| destination(c.route_to_source, c.contact(), c.source.into()));
        if let Some(q) = self.queues.get_mut(qk) {
            q.dest = dest.unwrap_or(q.dest);
            q.client = Some(key);
            q.parked_id = None;
            let t = std::mem::replace(&mut q.park_timer, TimerKey::DANGLING);
            self.wheel.cancel(t);
        }
        self.make_ready(qk);
    }

    pub(super) fn on_parked_timer(&mut self, qk: QueueKey) {
        self.purge_finished(qk);
        let Some(q) = self.queues.get(qk) else { return };
        if q.len == 0 {
            self.release_queue_if_empty(qk);
        } else {
            let last = self.latest_deadline(qk);
            let timer = self.wheel.insert(last, Timer::Parked(qk));
            if let Some(q) = self.queues.get_mut(qk) {
                q.park_timer = timer;
            }
        }
    }

    /// Drop every delivery of `qk` whose message has finished.
    fn purge_finished(&mut self, qk: QueueKey) {
        let mut prev = NIL;
        let mut cur = self.queues.get(qk).map_or(NIL, |q| q.head);
        while cur != NIL {
            let Some(n) = self.nodes.get(cur as usize) else {
                break;
            };
            let (next, push) = (n.next, n.push);
            if self.push_active(push) {
                prev = cur;
            } else {
                self.unlink(qk, prev, cur);
            }
            cur = next;
        }
    }

    /// When a parked queue should be looked at again: just after the latest TTL deadline
    /// among its deliveries (and after now). Strictly after, so that the TTL timers due at that
    /// deadline have fired by then; a timer re-armed at the current instant would be drained
    /// again at once, before them, for ever.
    fn latest_deadline(&self, qk: QueueKey) -> u64 {
        let mut last = self.now;
        let mut cur = self.queues.get(qk).map_or(NIL, |q| q.head);
        while let Some(n) = self.nodes.get(cur as usize) {
            if let Some(p) = self.pushes.get(n.push) {
                last = last.max(p.deadline);
            }
            cur = n.next;
        }
        last + 1
    }

    /// Deliveries waiting for one client (queued or in flight).
    pub(super) fn pending_for(&self, key: ClientKey) -> u32 {
        let Some(c) = self.reg.get(key) else { return 0 };
        self.queues
            .handle_at(c.queue)
            .and_then(|qk| self.queues.get(qk))
            .filter(|_| c.queue != NO_QUEUE)
            .map_or(0, |q| q.len)
    }
}

fn hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        Some(acc << 4 | (b as char).to_digit(16)? as u64)
    })
}

/// Where a push to a client goes: its source address, or its Contact's host and port when the
/// routing rule says so and the host is an IP address (the server resolves no names).
pub(super) fn destination(to_source: bool, contact: &[u8], source: SocketAddr) -> SocketAddr {
    if to_source {
        return source;
    }
    match Uri::parse(contact, 0)
        .ok()
        .and_then(|u| Some((u.host_kind()?, u.port())))
    {
        Some((Host::Ipv4(ip), port)) => SocketAddr::from((ip, port.unwrap_or(5060))),
        Some((Host::Ipv6(ip), port)) => SocketAddr::from((ip, port.unwrap_or(5060))),
        _ => source,
    }
}

/// True when `contact` names an IP address the server can send to.
pub(super) fn contact_is_ip(contact: &[u8]) -> bool {
    Uri::parse(contact, 0)
        .ok()
        .and_then(|u| u.host_kind())
        .is_some_and(|h| h.ip().is_some())
}

struct MessageParts<'a> {
    contact: &'a [u8],
    id: &'a [u8],
    domain: &'a [u8],
    local: &'a [u8],
    boot: &'a [u8; 8],
    txn: (u32, u32),
    seq: u64,
    content_type: &'a [u8],
    payload: &'a [u8],
}

/// A MESSAGE request (RFC 3428) to one client; returns its length. Branch, From tag and
/// Call-ID all carry `<boot>-<slot>-<generation>` of the transaction: unique per request, and
/// the branch is what matches the response back (see the module docs).
fn write_message(w: &mut Writer<'_>, m: &MessageParts<'_>) -> usize {
    let name = |w: &mut Writer<'_>| {
        w.push(m.boot)
            .push(b"-")
            .push_hex(m.txn.0 as u64)
            .push(b"-")
            .push_hex(m.txn.1 as u64);
    };
    w.request_line(b"MESSAGE", m.contact);
    w.begin("Via")
        .push(b"SIP/2.0/UDP ")
        .push(m.local)
        .push(b";branch=")
        .push(BRANCH_PREFIX);
    name(w);
    w.push(b";rport").end();
    w.header("Max-Forwards", b"70");
    // RFC 3261 §8.1.1.3: a new From tag for every request outside a dialog.
    w.begin("From")
        .push(b"<sip:sippush@")
        .push(m.local)
        .push(b">;tag=sp");
    name(w);
    w.end();
    w.begin("To")
        .push(b"<sip:")
        .push(m.id)
        .push(b"@")
        .push(m.domain)
        .push(b">")
        .end();
    w.begin("Call-ID").push(b"sp-");
    name(w);
    w.end();
    w.header("CSeq", b"1 MESSAGE");
    w.begin("Push-Id")
        .push(m.boot)
        .push(b"-")
        .push_u64(m.seq)
        .end();
    w.finish(Some(m.content_type), m.payload)
}
