//! Class interning and the class → members index.
//!
//! Class names are interned to small integers (`ClassId`). Each class keeps a `Vec<u32>` of the
//! slab slots of its members; each client remembers its position in every class it belongs to
//! (in its record), so that removal is a `swap_remove` plus one position fix-up: O(1), never a
//! scan. Looking up a class's members costs O(members).

use std::collections::HashMap;

use crate::rand::SeededState;

/// An interned class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u16);

/// Most distinct classes the table interns (ids are `u16`).
pub const MAX_CLASSES: usize = u16::MAX as usize;

/// Interned class names and their member lists.
pub struct Classes {
    by_name: HashMap<Box<[u8]>, ClassId, SeededState>,
    names: Vec<Box<[u8]>>,
    members: Vec<Vec<u32>>,
}

impl Classes {
    /// An empty table, its hash keyed by `seed`.
    pub fn new(seed: u64) -> Classes {
        Classes {
            by_name: HashMap::with_hasher(SeededState(seed)),
            names: Vec::new(),
            members: Vec::new(),
        }
    }

    /// The id of a class name, if interned.
    pub fn get(&self, name: &[u8]) -> Option<ClassId> {
        self.by_name.get(name).copied()
    }

    /// Intern a class name; `None` when the table of classes is full.
    pub fn intern(&mut self, name: &[u8]) -> Option<ClassId> {
        if let Some(&id) = self.by_name.get(name) {
            return Some(id);
        }
        if self.names.len() >= MAX_CLASSES {
            return None;
        }
        let id = ClassId(self.names.len() as u16);
        self.by_name.insert(name.into(), id);
        self.names.push(name.into());
        self.members.push(Vec::new());
        Some(id)
    }

    /// The name of an interned class.
    pub fn name(&self, id: ClassId) -> &[u8] {
        self.names.get(id.0 as usize).map_or(&[], |n| n)
    }

    /// The slots of a class's members.
    pub fn members(&self, id: ClassId) -> &[u32] {
        self.members.get(id.0 as usize).map_or(&[], |m| m)
    }

    /// Every class with its member count.
    pub fn counts(&self) -> impl Iterator<Item = (&[u8], usize)> + '_ {
        self.names
            .iter()
            .zip(&self.members)
            .map(|(n, m)| (&n[..], m.len()))
    }

    /// Add `slot` to a class; returns its position in the member list.
    pub fn add(&mut self, id: ClassId, slot: u32) -> u32 {
        let m = &mut self.members[id.0 as usize];
        m.push(slot);
        (m.len() - 1) as u32
    }

    /// Remove the member at `pos`; returns the slot that moved into `pos` (whose recorded
    /// position the caller must update), if any.
    pub fn remove_at(&mut self, id: ClassId, pos: u32) -> Option<u32> {
        let m = self.members.get_mut(id.0 as usize)?;
        let pos = pos as usize;
        if pos >= m.len() {
            return None;
        }
        m.swap_remove(pos);
        let moved = m.get(pos).copied();
        if m.len() * 4 < m.capacity() && m.capacity() > 64 {
            m.shrink_to(m.len() * 2);
        }
        moved
    }

    /// Bytes held by member lists (for the memory report).
    pub fn heap_bytes(&self) -> usize {
        self.members.iter().map(|m| m.capacity() * 4).sum::<usize>()
            + self.names.iter().map(|n| n.len() + 48).sum::<usize>()
    }
}
