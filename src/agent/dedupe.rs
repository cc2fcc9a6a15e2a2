//! Recognising retransmitted and duplicated MESSAGEs by their `Push-Id`.
//!
//! The server retransmits a MESSAGE until it sees a 200 OK (RFC 3261 §17.1.2) and may start a
//! new transaction with the same Push-Id after Timer F, so the same control message can arrive
//! many times; the application must see it once. The last `window` Push-Ids are kept as seeded
//! 64-bit hashes in a ring (oldest overwritten), allocated once at the first MESSAGE so that an
//! agent that is never pushed to pays nothing; slot 0 of the allocation holds the ring's
//! cursor, so the agent carries a single pointer. A false "seen" needs a 64-bit hash collision
//! within the window. Lookup is a linear scan: windows are tens to hundreds of entries.

use crate::rand::hash_bytes;

/// The recent Push-Ids of one agent.
#[derive(Debug, Default)]
pub(super) struct Dedupe {
    /// `[cursor, key, key, ...]`: `window + 1` words once allocated.
    ring: Box<[u64]>,
}

impl Dedupe {
    /// True when `push_id` is among the last `window` ones; otherwise remembers it.
    pub fn seen(&mut self, seed: u64, window: usize, push_id: &[u8]) -> bool {
        let window = window.min(u32::MAX as usize);
        if window == 0 {
            return false;
        }
        // 0 marks an empty slot, so no real key is 0.
        let key = hash_bytes(seed, push_id) | 1;
        if self.ring.len() != window + 1 {
            // The first MESSAGE (or a changed profile): the only allocation the ring makes.
            self.ring = vec![0; window + 1].into_boxed_slice();
        }
        let Some((cursor, keys)) = self.ring.split_first_mut() else {
            return false;
        };
        if keys.contains(&key) {
            return true;
        }
        let slot = *cursor as usize % window;
        if let Some(s) = keys.get_mut(slot) {
            *s = key;
        }
        *cursor = ((slot + 1) % window) as u64;
        false
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.ring.len() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_window_ids() {
        let mut d = Dedupe::default();
        assert_eq!(d.heap_bytes(), 0);
        assert!(!d.seen(1, 3, b"a"));
        assert!(d.seen(1, 3, b"a"));
        assert!(!d.seen(1, 3, b"b"));
        assert!(!d.seen(1, 3, b"c"));
        assert!(d.seen(1, 3, b"a"));
        assert!(!d.seen(1, 3, b"d"), "d overwrites a, the oldest");
        assert!(!d.seen(1, 3, b"a"), "a fell out of the window");
        assert_eq!(d.heap_bytes(), 32);
        let mut off = Dedupe::default();
        assert!(!off.seen(1, 0, b"a"));
        assert!(!off.seen(1, 0, b"a"));
    }
}
