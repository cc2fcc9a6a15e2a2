//! Typed, generation-checked handles into slab-backed arenas.
//!
//! An [`Arena`] is a `slab::Slab` plus one generation counter per slot. A [`Handle`] names a
//! slot and the generation it was issued for; once the entry is removed the slot's generation
//! moves on, so a stale handle (a timer that fired late, an admin reference to a client that
//! re-registered) finds nothing instead of the wrong entry. The type parameter keeps handles of
//! different arenas apart at compile time (quinn's `ConnectionHandle`, sozu's timer
//! generations).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A handle to an entry of an `Arena<T>`.
pub struct Handle<T> {
    index: u32,
    generation: u32,
    _type: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// The slot index (stable for the entry's lifetime).
    pub fn index(self) -> u32 {
        self.index
    }
    /// The generation the handle was issued for.
    pub fn generation(self) -> u32 {
        self.generation
    }
    /// Rebuild a handle from its parts (e.g. decoded from a SIP branch parameter); it is only
    /// as good as the arena's generation check.
    pub fn from_parts(index: u32, generation: u32) -> Handle<T> {
        Handle {
            index,
            generation,
            _type: PhantomData,
        }
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.generation == other.generation
    }
}
impl<T> Eq for Handle<T> {}
impl<T> Hash for Handle<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
        self.generation.hash(state);
    }
}
impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// A slab with generation-checked handles.
pub struct Arena<T> {
    slab: slab::Slab<T>,
    generations: Vec<u32>,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena::new()
    }
}

impl<T> Arena<T> {
    /// An empty arena.
    pub fn new() -> Arena<T> {
        Arena {
            slab: slab::Slab::new(),
            generations: Vec::new(),
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Insert a value; returns its handle.
    pub fn insert(&mut self, value: T) -> Handle<T> {
        let index = self.slab.insert(value);
        if index >= self.generations.len() {
            self.generations.resize(index + 1, 0);
        }
        Handle::from_parts(index as u32, self.generations[index])
    }

    fn live(&self, h: Handle<T>) -> bool {
        self.generations.get(h.index as usize) == Some(&h.generation)
            && self.slab.contains(h.index as usize)
    }

    /// The entry, if the handle is still current.
    pub fn get(&self, h: Handle<T>) -> Option<&T> {
        if self.live(h) {
            self.slab.get(h.index as usize)
        } else {
            None
        }
    }

    /// The entry, mutably, if the handle is still current.
    pub fn get_mut(&mut self, h: Handle<T>) -> Option<&mut T> {
        if self.live(h) {
            self.slab.get_mut(h.index as usize)
        } else {
            None
        }
    }

    /// True when the handle is still current.
    pub fn contains(&self, h: Handle<T>) -> bool {
        self.live(h)
    }

    /// Remove the entry; later lookups with this handle find nothing.
    pub fn remove(&mut self, h: Handle<T>) -> Option<T> {
        if !self.live(h) {
            return None;
        }
        let g = &mut self.generations[h.index as usize];
        *g = g.wrapping_add(1);
        self.slab.try_remove(h.index as usize)
    }

    /// The current handle of an occupied slot.
    pub fn handle_at(&self, index: u32) -> Option<Handle<T>> {
        if self.slab.contains(index as usize) {
            Some(Handle::from_parts(index, self.generations[index as usize]))
        } else {
            None
        }
    }

    /// The entry in an occupied slot, by index (for indexes that store slot numbers).
    pub fn get_at(&self, index: u32) -> Option<&T> {
        self.slab.get(index as usize)
    }

    /// The entry in an occupied slot, mutably, by index.
    pub fn get_at_mut(&mut self, index: u32) -> Option<&mut T> {
        self.slab.get_mut(index as usize)
    }

    /// Iterate every live entry with its handle.
    pub fn iter(&self) -> impl Iterator<Item = (Handle<T>, &T)> + '_ {
        self.slab
            .iter()
            .map(|(i, v)| (Handle::from_parts(i as u32, self.generations[i]), v))
    }

    /// Reserve room for `n` more entries.
    pub fn reserve(&mut self, n: usize) {
        self.slab.reserve(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_find_nothing() {
        let mut a: Arena<&str> = Arena::new();
        let h1 = a.insert("one");
        assert_eq!(a.get(h1), Some(&"one"));
        assert_eq!(a.remove(h1), Some("one"));
        assert_eq!(a.get(h1), None);
        assert_eq!(a.remove(h1), None);
        let h2 = a.insert("two");
        assert_eq!(h2.index(), h1.index(), "slot reused");
        assert_ne!(h2, h1);
        assert_eq!(a.get(h1), None);
        assert_eq!(a.get(h2), Some(&"two"));
        assert_eq!(a.handle_at(h2.index()), Some(h2));
        assert_eq!(a.get(Handle::from_parts(99, 0)), None);
        assert_eq!(a.len(), 1);
        assert_eq!(
            a.iter().map(|(h, v)| (h, *v)).collect::<Vec<_>>(),
            vec![(h2, "two")]
        );
    }
}
