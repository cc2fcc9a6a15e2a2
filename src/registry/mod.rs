//! The application table: every registered client, its classes, and the indexes that find
//! clients by id and by class.
//!
//! Owns the records (a slab with generation-checked [`ClientKey`]s), the id index and the
//! class index. It does no I/O, reads no clock and knows nothing of SIP beyond the strings it
//! stores. Invariants, checked by `check_invariants` in tests: every record is in the id index
//! exactly once; every record is in the member list of each of its classes exactly once, at the
//! position it records; lookups never scan the table (O(1) by id, O(members) by class).

mod classes;
mod index;
mod record;

use std::net::SocketAddr;

pub use classes::{ClassId, MAX_CLASSES};
pub use record::{Client, MAX_CLIENT_CLASSES, MAX_CONTACT_LEN, MAX_ID_LEN, NO_QUEUE, PackedAddr};

use crate::handle::{Arena, Handle};
use classes::Classes;
use index::IdIndex;

/// Handle of a registered client.
pub type ClientKey = Handle<Client>;

/// Why a client could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// The table of distinct classes is full.
    TooManyClasses,
}

/// The application table.
pub struct Registry {
    clients: Arena<Client>,
    index: IdIndex,
    classes: Classes,
}

impl Registry {
    /// An empty table; `seed` keys the id hash.
    pub fn new(seed: u64) -> Registry {
        Registry {
            clients: Arena::new(),
            index: IdIndex::new(seed),
            classes: Classes::new(crate::rand::mix(seed)),
        }
    }

    /// Number of registered clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// True when nobody is registered.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The client with this id.
    pub fn find(&self, id: &[u8]) -> Option<ClientKey> {
        let clients = &self.clients;
        let slot = self
            .index
            .find(id, |s| clients.get_at(s).map_or(&[], Client::id))?;
        self.clients.handle_at(slot)
    }

    /// A client's record.
    pub fn get(&self, key: ClientKey) -> Option<&Client> {
        self.clients.get(key)
    }

    /// A client's record, mutably (its id, contact and classes change only through
    /// [`Registry::set_binding`]).
    pub fn get_mut(&mut self, key: ClientKey) -> Option<&mut Client> {
        self.clients.get_mut(key)
    }

    /// The current handle of the client in `slot` (as class member lists store slots).
    pub fn key_at(&self, slot: u32) -> Option<ClientKey> {
        self.clients.handle_at(slot)
    }

    /// Add a client (its id must not be registered yet).
    pub fn insert(
        &mut self,
        id: &[u8],
        contact: &[u8],
        classes: &[&[u8]],
        source: SocketAddr,
    ) -> Result<ClientKey, RegistryError> {
        let (ids, n) = self.intern_all(classes)?;
        let key = self
            .clients
            .insert(Client::new(id, contact, &ids[..n], source));
        // Hash exactly the id the record stores (it is cut to MAX_ID_LEN).
        self.index
            .insert(&id[..id.len().min(MAX_ID_LEN)], key.index());
        self.add_memberships(key);
        Ok(key)
    }

    /// Change a client's contact and classes (no-op, and no allocation, when both are
    /// unchanged).
    pub fn set_binding(
        &mut self,
        key: ClientKey,
        contact: &[u8],
        classes: &[&[u8]],
    ) -> Result<(), RegistryError> {
        let Some(c) = self.clients.get(key) else {
            return Ok(());
        };
        if c.contact() == contact && self.same_classes(c, classes) {
            return Ok(());
        }
        let (ids, n) = self.intern_all(classes)?;
        self.remove_memberships(key);
        if let Some(c) = self.clients.get_mut(key) {
            c.rebuild(contact, &ids[..n]);
        }
        self.add_memberships(key);
        Ok(())
    }

    /// True when `names` (deduplicated, in order) are exactly the client's classes.
    fn same_classes(&self, c: &Client, names: &[&[u8]]) -> bool {
        let mut have = c.classes();
        for (i, n) in names.iter().take(MAX_CLIENT_CLASSES).enumerate() {
            if names[..i].contains(n) {
                continue;
            }
            match (self.classes.get(n), have.next()) {
                (Some(a), Some(b)) if a == b => {}
                _ => return false,
            }
        }
        have.next().is_none()
    }

    /// Remove a client; returns its record.
    pub fn remove(&mut self, key: ClientKey) -> Option<Client> {
        if !self.clients.contains(key) {
            return None;
        }
        self.remove_memberships(key);
        let clients = &self.clients;
        let id = clients.get(key).map_or(&[][..], Client::id);
        self.index
            .remove(id, |s| clients.get_at(s).map_or(&[], Client::id));
        self.clients.remove(key)
    }

    /// The interned id of a class name.
    pub fn class(&self, name: &[u8]) -> Option<ClassId> {
        self.classes.get(name)
    }

    /// The name of a class.
    pub fn class_name(&self, id: ClassId) -> &[u8] {
        self.classes.name(id)
    }

    /// The members of a class (O(members)).
    pub fn members(&self, class: ClassId) -> impl Iterator<Item = ClientKey> + '_ {
        self.classes
            .members(class)
            .iter()
            .filter_map(|&s| self.clients.handle_at(s))
    }

    /// Number of members of a class.
    pub fn member_count(&self, class: ClassId) -> usize {
        self.classes.members(class).len()
    }

    /// Every class with its member count.
    pub fn class_counts(&self) -> impl Iterator<Item = (&[u8], usize)> + '_ {
        self.classes.counts()
    }

    /// Every client.
    pub fn iter(&self) -> impl Iterator<Item = (ClientKey, &Client)> + '_ {
        self.clients.iter()
    }

    /// Reserve room for `n` more clients.
    pub fn reserve(&mut self, n: usize) {
        self.clients.reserve(n);
    }

    fn intern_all(
        &mut self,
        names: &[&[u8]],
    ) -> Result<([ClassId; MAX_CLIENT_CLASSES], usize), RegistryError> {
        let mut ids = [ClassId(0); MAX_CLIENT_CLASSES];
        let mut n = 0;
        for name in names.iter().take(MAX_CLIENT_CLASSES) {
            let id = self
                .classes
                .intern(name)
                .ok_or(RegistryError::TooManyClasses)?;
            if !ids[..n].contains(&id) {
                ids[n] = id;
                n += 1;
            }
        }
        Ok((ids, n))
    }

    fn add_memberships(&mut self, key: ClientKey) {
        let Some(c) = self.clients.get(key) else {
            return;
        };
        let mut ids = [ClassId(0); MAX_CLIENT_CLASSES];
        let mut n = 0;
        for id in c.classes() {
            ids[n] = id;
            n += 1;
        }
        for &id in &ids[..n] {
            let pos = self.classes.add(id, key.index());
            if let Some(c) = self.clients.get_mut(key) {
                c.set_position(id, pos);
            }
        }
    }

    fn remove_memberships(&mut self, key: ClientKey) {
        let Some(c) = self.clients.get(key) else {
            return;
        };
        let mut ms = [(ClassId(0), 0u32); MAX_CLIENT_CLASSES];
        let mut n = 0;
        for (k, id) in c.classes().enumerate() {
            ms[n] = (id, c.position(k));
            n += 1;
        }
        for &(id, pos) in &ms[..n] {
            if let Some(moved) = self.classes.remove_at(id, pos) {
                if let Some(m) = self.clients.get_at_mut(moved) {
                    m.set_position(id, pos);
                }
            }
        }
    }

    /// Check every invariant of the module docs (tests and debug builds).
    pub fn check_invariants(&self) {
        assert_eq!(self.index.len(), self.clients.len());
        for (key, c) in self.clients.iter() {
            assert_eq!(self.find(c.id()), Some(key), "id index");
            for (k, class) in c.classes().enumerate() {
                let members = self.classes.members(class);
                assert_eq!(
                    members.get(c.position(k) as usize),
                    Some(&key.index()),
                    "class position"
                );
                assert_eq!(
                    members.iter().filter(|&&s| s == key.index()).count(),
                    1,
                    "class member once"
                );
            }
        }
        let total: usize = self.classes.counts().map(|(_, n)| n).sum();
        let expected: usize = self.clients.iter().map(|(_, c)| c.classes().count()).sum();
        assert_eq!(total, expected, "no stray members");
    }

    /// Approximate bytes of heap held by the table (records, blocks, indexes).
    pub fn heap_bytes(&self) -> usize {
        let records = self.clients.len() * (std::mem::size_of::<Client>() + 4);
        let blocks: usize = self.clients.iter().map(|(_, c)| c.heap_bytes()).sum();
        records + blocks + self.index.heap_bytes() + self.classes.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rand::Rng;

    fn src() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn insert_find_classes_remove() {
        let mut r = Registry::new(1);
        let a = r
            .insert(b"a", b"sip:a@1.1.1.1", &[b"tv", b"beta"], src())
            .unwrap();
        let b = r.insert(b"b", b"sip:b@1.1.1.1", &[b"tv"], src()).unwrap();
        let c = r
            .insert(b"c", b"sip:c@1.1.1.1", &[b"default"], src())
            .unwrap();
        r.check_invariants();
        assert_eq!(r.find(b"b"), Some(b));
        assert_eq!(r.find(b"zz"), None);
        let tv = r.class(b"tv").unwrap();
        let mut m: Vec<_> = r.members(tv).collect();
        m.sort_by_key(|k| k.index());
        assert_eq!(m, vec![a, b]);
        assert_eq!(
            r.members(r.class(b"beta").unwrap()).collect::<Vec<_>>(),
            vec![a]
        );
        r.remove(a);
        r.check_invariants();
        assert_eq!(r.members(tv).collect::<Vec<_>>(), vec![b]);
        assert_eq!(r.member_count(r.class(b"beta").unwrap()), 0);
        assert!(r.get(a).is_none());
        r.set_binding(c, b"sip:c@2.2.2.2", &[b"tv", b"gamma"])
            .unwrap();
        r.check_invariants();
        assert_eq!(r.get(c).unwrap().contact(), b"sip:c@2.2.2.2");
        assert_eq!(r.member_count(tv), 2);
        assert_eq!(r.member_count(r.class(b"default").unwrap()), 0);
        // Duplicate class names count once.
        let d = r
            .insert(b"d", b"sip:d@1.1.1.1", &[b"x", b"x"], src())
            .unwrap();
        assert_eq!(r.get(d).unwrap().classes().count(), 1);
        r.check_invariants();
    }

    #[test]
    fn random_operations_keep_invariants() {
        let mut r = Registry::new(9);
        let mut rng = Rng::new(5);
        let names: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
        for step in 0..4000 {
            let id = format!("id{}", rng.below(300));
            let k = rng.below(3) as usize;
            let classes: Vec<&[u8]> = (0..=k).map(|_| names[rng.below(4) as usize]).collect();
            match (r.find(id.as_bytes()), rng.below(3)) {
                (Some(key), 0) => {
                    r.remove(key);
                }
                (Some(key), _) => r.set_binding(key, b"sip:x@1.2.3.4", &classes).unwrap(),
                (None, _) => {
                    r.insert(id.as_bytes(), b"sip:x@1.2.3.4", &classes, src())
                        .unwrap();
                }
            }
            if step % 97 == 0 {
                r.check_invariants();
            }
        }
        r.check_invariants();
    }
}
