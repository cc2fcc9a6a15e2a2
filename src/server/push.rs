//! Control messages ("pushes"): their target sets, counters and lifetimes.
//!
//! A message is accepted with the clients present in the table at that moment as its targets;
//! each target gets a delivery in its client's queue. Every delivery ends exactly once, as
//! acked, failed (with the code) or expired (by the TTL), so `targets = acked + failed +
//! expired + pending` always holds and nothing accepted is silently lost. A finished message
//! stays queryable for `retention_s`, then is retired.

use super::{PushKey, Server, Timer};
use crate::registry::ClientKey;
use crate::timer::TimerKey;

/// Failure code recorded when a client's queue overflows (not a SIP code).
pub(super) const OVERFLOW: u16 = 0;

/// One control message.
pub(super) struct Push {
    pub seq: u64,
    /// CSeq to the end of the body: the part of its MESSAGEs every target shares.
    pub tail: Box<[u8]>,
    pub created: u64,
    pub deadline: u64,
    pub completed: Option<u64>,
    pub targets: u32,
    pub acked: u32,
    pub failed: u32,
    pub expired: u32,
    pub failed_codes: Vec<(u16, u32)>,
    pub ttl_timer: TimerKey,
}

impl Push {
    pub fn pending(&self) -> u32 {
        self.targets - self.acked - self.failed - self.expired
    }
    pub fn is_done(&self) -> bool {
        self.completed.is_some()
    }
}

/// How a delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Acked,
    Failed(u16),
}

/// Why a submission was refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SubmitError {
    NoTargets,
    TooLarge(usize),
}

impl Server {
    /// The public id of a message: the server's boot nonce and the message's sequence number.
    pub(super) fn push_id(&self, seq: u64) -> String {
        format!("{:08x}-{seq}", self.boot)
    }

    /// Find a message by its public id.
    pub(super) fn find_push(&self, id: &str) -> Option<PushKey> {
        let (boot, seq) = id.split_once('-')?;
        if u32::from_str_radix(boot, 16).ok()? != self.boot {
            return None;
        }
        let key = *self.push_index.get(&seq.parse::<u64>().ok()?)?;
        self.pushes.contains(key).then_some(key)
    }

    /// Accept a message for `targets` (duplicates allowed: each client gets one delivery).
    pub(super) fn submit(
        &mut self,
        targets: &[ClientKey],
        payload: &[u8],
        content_type: &[u8],
        ttl_s: u32,
    ) -> Result<(PushKey, u32), SubmitError> {
        if targets.is_empty() {
            return Err(SubmitError::NoTargets);
        }
        let seq = self.next_push_seq;
        // RFC 3261 §18.1.1: the largest MESSAGE this would send must fit 1300 bytes.
        let longest = targets
            .iter()
            .filter_map(|&k| self.reg.get(k))
            .map(|c| c.contact().len() + c.id().len())
            .max()
            .unwrap_or(0);
        let tail = super::deliver::message_tail(&self.boot_hex, seq, content_type, payload);
        let size = self.message_head_size() + longest + tail.len();
        if size > self.cfg.max_message_bytes {
            return Err(SubmitError::TooLarge(size));
        }
        self.next_push_seq += 1;
        let now = self.now;
        let deadline = now + ttl_s as u64 * 1000;
        let key = self.pushes.insert(Push {
            seq,
            tail: tail.into(),
            created: now,
            deadline,
            completed: None,
            targets: 0,
            acked: 0,
            failed: 0,
            expired: 0,
            failed_codes: Vec::new(),
            ttl_timer: TimerKey::DANGLING,
        });
        self.push_index.insert(seq, key);
        self.active_pushes += 1;
        let ttl_timer = self.wheel.insert(deadline, Timer::Ttl(key));
        let mut count = 0u32;
        for &ck in targets {
            if self.enqueue(ck, key) {
                count += 1;
            }
        }
        if let Some(p) = self.pushes.get_mut(key) {
            p.targets += count;
            p.ttl_timer = ttl_timer;
        }
        self.metrics.messages_submitted += 1;
        self.metrics.deliveries_created += count as u64;
        self.check_complete(key);
        Ok((key, count))
    }

    /// Record how one delivery of `key` ended.
    pub(super) fn record_outcome(&mut self, key: PushKey, outcome: Outcome) {
        let Some(p) = self.pushes.get_mut(key) else {
            return;
        };
        if p.is_done() {
            return;
        }
        match outcome {
            Outcome::Acked => {
                p.acked += 1;
                self.metrics.acks += 1;
            }
            Outcome::Failed(code) => {
                p.failed += 1;
                match p.failed_codes.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, n)) => *n += 1,
                    None => p.failed_codes.push((code, 1)),
                }
                if code == OVERFLOW {
                    self.metrics.queue_overflows += 1;
                } else {
                    self.metrics.failures += 1;
                }
            }
        }
        self.check_complete(key);
    }

    fn check_complete(&mut self, key: PushKey) {
        let now = self.now;
        let Some(p) = self.pushes.get_mut(key) else {
            return;
        };
        if p.is_done() || p.pending() > 0 {
            return;
        }
        p.completed = Some(now);
        let ttl_timer = p.ttl_timer;
        self.wheel.cancel(ttl_timer);
        self.finish_push(key);
    }

    fn finish_push(&mut self, key: PushKey) {
        self.active_pushes -= 1;
        let retire_at = self.now + self.cfg.retention_s as u64 * 1000;
        self.wheel.insert(retire_at, Timer::Retire(key));
    }

    /// The TTL of a message ran out: every pending delivery expires (their queue entries and
    /// transactions are dropped when next reached).
    pub(super) fn on_ttl(&mut self, key: PushKey) {
        let now = self.now;
        let Some(p) = self.pushes.get_mut(key) else {
            return;
        };
        if p.is_done() {
            return;
        }
        let pending = p.pending();
        p.expired += pending;
        p.completed = Some(now);
        self.metrics.ttl_expiries += pending as u64;
        self.finish_push(key);
    }

    pub(super) fn on_retire(&mut self, key: PushKey) {
        if let Some(p) = self.pushes.remove(key) {
            self.push_index.remove(&p.seq);
        }
    }

    /// True while the message still wants deliveries made.
    pub(super) fn push_active(&self, key: PushKey) -> bool {
        self.pushes.get(key).is_some_and(|p| !p.is_done())
    }
}
