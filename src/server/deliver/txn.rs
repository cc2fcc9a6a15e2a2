//! MESSAGE client transactions (RFC 3261 §17.1.2): starting them as slots free, Timers E and
//! F, matching responses by branch, and building each transmission (see the parent module).

use std::net::SocketAddr;

use super::super::push::Outcome;
use super::super::{PushKey, QueueKey, Server, Timer, TxnKey};
use super::wire::{MessageParts, write_message};
use super::{BRANCH_PREFIX, NIL, Txn};
use crate::sip::Writer;
use crate::timer::TimerKey;

impl Server {
    /// Start a transaction for the head of `qk` (dropping heads whose message has finished).
    pub(in crate::server) fn start_txn(&mut self, qk: QueueKey) -> Option<TxnKey> {
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

    /// End transaction `key`; its delivery ends with `outcome`, or (None) stays at the head of
    /// its queue for a new transaction.
    pub(in crate::server) fn end_txn(&mut self, key: TxnKey, outcome: Option<Outcome>) {
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
    pub(in crate::server) fn on_txn_timer(&mut self, key: TxnKey) {
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

    pub(in crate::server) fn drop_dead_head(&mut self, qk: QueueKey, push: PushKey) {
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
    pub(in crate::server) fn on_message_response(&mut self, code: u16, branch: Option<&[u8]>) {
        let Some(key) = self.txn_of_branch(branch) else {
            return;
        };
        let Some(t) = self.txns.get_mut(key) else {
            self.metrics.drop(crate::server::Drop::LateResponse);
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
    pub(in crate::server) fn txn_of_branch(&mut self, branch: Option<&[u8]>) -> Option<TxnKey> {
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
                self.metrics.drop(crate::server::Drop::UnmatchedResponse);
                None
            }
        }
    }

    /// Build the MESSAGE of transaction `key` into `buf`; returns where to send it.
    pub(in crate::server) fn send_txn(
        &mut self,
        key: TxnKey,
        buf: &mut Vec<u8>,
    ) -> Option<SocketAddr> {
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
                tail: &p.tail,
            },
        );
        Some(dest)
    }

    /// Size of a MESSAGE without its per-client parts (contact and id) and its tail, with the
    /// widest transaction numbers: with the longest target and the tail, the submit-time bound
    /// of RFC 3261 §18.1.1.
    pub(in crate::server) fn message_head_size(&mut self) -> usize {
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
                tail: b"",
            },
        );
        self.scratch = scratch;
        n
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
