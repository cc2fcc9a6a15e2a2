//! Per-client delivery queues: appending, overflow, the ready FIFO, and parking the queue of
//! a client that leaves the table until the same id comes back (see the parent module).

use super::super::push::{OVERFLOW, Outcome};
use super::super::{PushKey, QueueKey, Server, Timer};
use super::wire::destination;
use super::{NIL, Node, Queue};
use crate::registry::{ClientKey, NO_QUEUE};
use crate::timer::TimerKey;

impl Server {
    /// Append a delivery of `push` to the client's queue. Returns false when the client already
    /// has it (a client named twice in one submission) or is gone.
    pub(in crate::server) fn enqueue(&mut self, ck: ClientKey, push: PushKey) -> bool {
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
    pub(in crate::server) fn drop_oldest_waiting(&mut self, qk: QueueKey) {
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
    pub(in crate::server) fn unlink(&mut self, qk: QueueKey, prev: u32, idx: u32) -> Option<Node> {
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
    pub(in crate::server) fn make_ready(&mut self, qk: QueueKey) {
        let Some(q) = self.queues.get_mut(qk) else {
            return;
        };
        if q.client.is_some() && q.inflight.is_none() && q.len > 0 && !q.in_ready {
            q.in_ready = true;
            self.ready.push_back(qk);
        }
    }

    /// A queue with nothing left detaches from its client (or leaves the parked map) and is
    /// freed.
    pub(in crate::server) fn release_queue_if_empty(&mut self, qk: QueueKey) {
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

    /// The client `key` leaves the table: abort its transaction and park its queue under its id.
    pub(in crate::server) fn park_queue_of(&mut self, key: ClientKey) {
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
    pub(in crate::server) fn refresh_destination(&mut self, key: ClientKey) {
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
    pub(in crate::server) fn unpark_queue_for(&mut self, key: ClientKey) {
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

    pub(in crate::server) fn on_parked_timer(&mut self, qk: QueueKey) {
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
    pub(in crate::server) fn purge_finished(&mut self, qk: QueueKey) {
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
    pub(in crate::server) fn latest_deadline(&self, qk: QueueKey) -> u64 {
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
    pub(in crate::server) fn pending_for(&self, key: ClientKey) -> u32 {
        let Some(c) = self.reg.get(key) else { return 0 };
        self.queues
            .handle_at(c.queue)
            .and_then(|qk| self.queues.get(qk))
            .filter(|_| c.queue != NO_QUEUE)
            .map_or(0, |q| q.len)
    }
}
