//! Removal of clients that go silent, driven by the timer wheel without scanning the table.
//!
//! A client's liveness deadline is `last_seen + granted + grace`. Clients are kept in expiry
//! buckets of one second (one wheel entry per bucket, not per client, which saves ~40 bytes per
//! client). A heartbeat only moves `last_seen`; when a bucket comes due each client in it is
//! either removed (deadline passed) or moved to the bucket of its new deadline. A client is
//! owned by exactly one bucket: the one its record names; other occurrences are stale and
//! skipped. Deadlines round up to the next second, so a client is removed at most one second
//! after its deadline, never before.

use super::{Server, Timer};
use crate::registry::ClientKey;

impl Server {
    /// The liveness deadline (ms) of a client.
    pub(super) fn deadline_of(&self, key: ClientKey) -> Option<u64> {
        let c = self.reg.get(key)?;
        Some(c.last_seen + (c.granted as u64 + self.cfg.grace_s as u64) * 1000)
    }

    /// Put a client into the bucket of its deadline if that is earlier than the bucket that owns
    /// it (or if it has none yet, `force`).
    pub(super) fn schedule_expiry(&mut self, key: ClientKey, force: bool) {
        let Some(deadline) = self.deadline_of(key) else {
            return;
        };
        let second = deadline.div_ceil(1000).min(u32::MAX as u64);
        let Some(c) = self.reg.get_mut(key) else {
            return;
        };
        if !force && second >= c.bucket as u64 {
            return;
        }
        c.bucket = second as u32;
        match self.buckets.get_mut(&second) {
            Some(b) => b.push(key),
            None => {
                self.buckets.insert(second, vec![key]);
                self.wheel.insert(second * 1000, Timer::Expiry(second));
            }
        }
    }

    pub(super) fn on_expiry_bucket(&mut self, second: u64) {
        let Some(keys) = self.buckets.remove(&second) else {
            return;
        };
        for key in keys {
            let owned = self.reg.get(key).is_some_and(|c| c.bucket as u64 == second);
            if !owned {
                continue;
            }
            match self.deadline_of(key) {
                Some(d) if d > self.now => self.schedule_expiry(key, true),
                _ => {
                    log::debug!(
                        "client {} went silent: removed",
                        String::from_utf8_lossy(self.reg.get(key).map_or(&[][..], |c| c.id()))
                    );
                    self.metrics.expirations += 1;
                    self.remove_client(key);
                }
            }
        }
    }

    /// Remove a client from the table; its pending deliveries wait for the same id to register
    /// again (until their TTL).
    pub(super) fn remove_client(&mut self, key: ClientKey) {
        self.park_queue_of(key);
        self.reg.remove(key);
    }
}
