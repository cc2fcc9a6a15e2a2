//! The index from client id to slab slot: open addressing with linear probing over a vector of
//! buckets (a slot number and a 32-bit hash of the id: 8 bytes a bucket, at most 3/4 full),
//! deletion by backward shift (no tombstones). The ids themselves live in the client records;
//! the index asks for them through a closure, and only for buckets whose stored hash matches,
//! so a probe sequence touches the index's own memory, not a record per probe. The home bucket
//! is the stored hash's low bits, so growing the table and removing never read a record.
//!
//! Invariant: every live client's slot appears exactly once, reachable from its home bucket
//! without crossing an empty bucket.

use crate::rand::hash_bytes;

const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Bucket {
    slot: u32,
    tag: u32,
}

const FREE: Bucket = Bucket {
    slot: EMPTY,
    tag: 0,
};

/// Id → slot index.
pub struct IdIndex {
    buckets: Vec<Bucket>,
    len: usize,
    seed: u64,
}

impl IdIndex {
    /// An empty index whose hash is keyed by `seed`.
    pub fn new(seed: u64) -> IdIndex {
        IdIndex {
            buckets: vec![FREE; 16],
            len: 0,
            seed,
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of memory held (for the memory report).
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
    }

    /// Home bucket and stored hash of an id (the home is the hash's low bits: tables up to 2^32
    /// buckets).
    fn hash(&self, id: &[u8]) -> (usize, u32) {
        let h = hash_bytes(self.seed, id);
        let tag = (h ^ (h >> 32)) as u32;
        (self.home(tag), tag)
    }

    fn home(&self, tag: u32) -> usize {
        tag as usize & (self.buckets.len() - 1)
    }

    /// The slot of `id`, if present. `id_of` gives the id stored in a slot.
    pub fn find<'c>(&self, id: &[u8], id_of: impl Fn(u32) -> &'c [u8]) -> Option<u32> {
        let mask = self.buckets.len() - 1;
        let (mut b, tag) = self.hash(id);
        loop {
            let bucket = self.buckets[b];
            if bucket.slot == EMPTY {
                return None;
            }
            if bucket.tag == tag && id_of(bucket.slot) == id {
                return Some(bucket.slot);
            }
            b = (b + 1) & mask;
        }
    }

    /// Add `slot` under `id` (which must not be present).
    pub fn insert(&mut self, id: &[u8], slot: u32) {
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow();
        }
        let mask = self.buckets.len() - 1;
        let (mut b, tag) = self.hash(id);
        while self.buckets[b].slot != EMPTY {
            b = (b + 1) & mask;
        }
        self.buckets[b] = Bucket { slot, tag };
        self.len += 1;
    }

    /// Remove `id` (a no-op when absent).
    pub fn remove<'c>(&mut self, id: &[u8], id_of: impl Fn(u32) -> &'c [u8]) {
        let mask = self.buckets.len() - 1;
        let (mut b, tag) = self.hash(id);
        loop {
            let bucket = self.buckets[b];
            if bucket.slot == EMPTY {
                return;
            }
            if bucket.tag == tag && id_of(bucket.slot) == id {
                break;
            }
            b = (b + 1) & mask;
        }
        // Backward-shift deletion: pull later entries of the cluster into the hole when their
        // home bucket does not lie cyclically in (hole, entry].
        let mut hole = b;
        let mut j = b;
        loop {
            j = (j + 1) & mask;
            let bucket = self.buckets[j];
            if bucket.slot == EMPTY {
                break;
            }
            let home = self.home(bucket.tag);
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.buckets[hole] = bucket;
                hole = j;
            }
        }
        self.buckets[hole] = FREE;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let doubled = vec![FREE; self.buckets.len() * 2];
        let old = std::mem::replace(&mut self.buckets, doubled);
        let mask = self.buckets.len() - 1;
        for bucket in old.into_iter().filter(|b| b.slot != EMPTY) {
            let mut b = self.home(bucket.tag);
            while self.buckets[b].slot != EMPTY {
                b = (b + 1) & mask;
            }
            self.buckets[b] = bucket;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn matches_a_hashmap_model() {
        let ids: Vec<Vec<u8>> = (0..3000)
            .map(|i| format!("client-{i}").into_bytes())
            .collect();
        let id_of = |s: u32| ids[s as usize].as_slice();
        let mut idx = IdIndex::new(7);
        let mut model: HashMap<u32, ()> = HashMap::new();
        let mut rng = crate::rand::Rng::new(3);
        for _ in 0..50_000 {
            let s = rng.below(ids.len() as u64) as u32;
            let present = model.contains_key(&s);
            assert_eq!(idx.find(&ids[s as usize], id_of), present.then_some(s));
            if present {
                idx.remove(&ids[s as usize], id_of);
                model.remove(&s);
            } else {
                idx.insert(&ids[s as usize], s);
                model.insert(s, ());
            }
            assert_eq!(idx.len(), model.len());
        }
        for (s, id) in ids.iter().enumerate() {
            assert_eq!(
                idx.find(id, id_of),
                model.contains_key(&(s as u32)).then_some(s as u32)
            );
        }
        assert!(idx.heap_bytes() <= 8 * 4 * 3000);
    }
}
