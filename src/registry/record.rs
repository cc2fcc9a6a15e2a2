//! One client's record in the application table, laid out to cost little memory: the strings
//! (id, contact) and the class memberships share one boxed byte block, addresses are packed.
//!
//! Block layout: `[n_classes u8][id_len u8][contact_len u16 LE]` then `n_classes` times
//! `[class u16 LE][position u32 LE]`, then the id bytes, then the contact URI bytes.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::classes::ClassId;

const HEAD: usize = 4;
const MEMBERSHIP: usize = 6;

/// A socket address in 18 bytes (IPv4 stored as IPv4-mapped IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedAddr {
    ip: [u8; 16],
    port: [u8; 2],
}

impl From<SocketAddr> for PackedAddr {
    fn from(a: SocketAddr) -> PackedAddr {
        let ip = match a.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        PackedAddr {
            ip: ip.octets(),
            port: a.port().to_le_bytes(),
        }
    }
}

impl From<PackedAddr> for SocketAddr {
    fn from(p: PackedAddr) -> SocketAddr {
        let v6 = Ipv6Addr::from(p.ip);
        let ip = match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        };
        SocketAddr::new(ip, u16::from_le_bytes(p.port))
    }
}

/// A registered client.
#[derive(Debug)]
pub struct Client {
    block: Box<[u8]>,
    /// When the server last heard from it (ms, virtual clock).
    pub last_seen: u64,
    /// Hash of the Call-ID of its last REGISTER (RFC 3261 §10.3 step 7).
    pub call_id_hash: u64,
    /// CSeq of its last REGISTER.
    pub cseq: u32,
    /// Hash of the top Via branch of its last REGISTER (retransmission detection).
    pub branch_hash: u32,
    /// Seconds granted by the last REGISTER.
    pub granted: u32,
    /// The delivery queue attached to it, or [`NO_QUEUE`].
    pub queue: u32,
    /// The expiry bucket (second of the virtual clock) that owns it.
    pub bucket: u32,
    /// The source address of its last request.
    pub source: PackedAddr,
    /// Pushes go to `source` rather than to the contact's host and port.
    pub route_to_source: bool,
}

/// `Client::queue` when no delivery is pending.
pub const NO_QUEUE: u32 = u32::MAX;

/// Longest client id (RFC-valid SIP user characters).
pub const MAX_ID_LEN: usize = 64;
/// Longest contact URI stored.
pub const MAX_CONTACT_LEN: usize = 512;
/// Most classes one client may belong to.
pub const MAX_CLIENT_CLASSES: usize = 16;

impl Client {
    /// A record with the given strings and classes (positions filled by the registry).
    pub(super) fn new(
        id: &[u8],
        contact: &[u8],
        classes: &[ClassId],
        source: SocketAddr,
    ) -> Client {
        Client {
            block: build_block(id, contact, classes),
            last_seen: 0,
            call_id_hash: 0,
            cseq: 0,
            branch_hash: 0,
            granted: 0,
            queue: NO_QUEUE,
            bucket: 0,
            source: source.into(),
            route_to_source: false,
        }
    }

    fn n_classes(&self) -> usize {
        self.block[0] as usize
    }

    fn strings_at(&self) -> usize {
        HEAD + self.n_classes() * MEMBERSHIP
    }

    /// The client id.
    pub fn id(&self) -> &[u8] {
        let at = self.strings_at();
        &self.block[at..at + self.block[1] as usize]
    }

    /// The contact URI it registered.
    pub fn contact(&self) -> &[u8] {
        let at = self.strings_at() + self.block[1] as usize;
        let len = u16::from_le_bytes([self.block[2], self.block[3]]) as usize;
        &self.block[at..at + len]
    }

    /// The classes it belongs to.
    pub fn classes(&self) -> impl Iterator<Item = ClassId> + '_ {
        (0..self.n_classes()).map(|k| {
            let at = HEAD + k * MEMBERSHIP;
            ClassId(u16::from_le_bytes([self.block[at], self.block[at + 1]]))
        })
    }

    /// Its position in the member list of the `k`-th class.
    pub(super) fn position(&self, k: usize) -> u32 {
        let at = HEAD + k * MEMBERSHIP + 2;
        u32::from_le_bytes([
            self.block[at],
            self.block[at + 1],
            self.block[at + 2],
            self.block[at + 3],
        ])
    }

    /// Record its position in the member list of `class`.
    pub(super) fn set_position(&mut self, class: ClassId, pos: u32) {
        for k in 0..self.n_classes() {
            let at = HEAD + k * MEMBERSHIP;
            if u16::from_le_bytes([self.block[at], self.block[at + 1]]) == class.0 {
                self.block[at + 2..at + 6].copy_from_slice(&pos.to_le_bytes());
                return;
            }
        }
    }

    /// Replace contact and classes (positions reset; the registry re-adds memberships).
    pub(super) fn rebuild(&mut self, contact: &[u8], classes: &[ClassId]) {
        let id = self.id().to_vec();
        self.block = build_block(&id, contact, classes);
    }

    /// Approximate heap bytes held by this record (its block, with allocator rounding).
    pub fn heap_bytes(&self) -> usize {
        (self.block.len() + 8).div_ceil(16) * 16
    }
}

fn build_block(id: &[u8], contact: &[u8], classes: &[ClassId]) -> Box<[u8]> {
    let id = &id[..id.len().min(MAX_ID_LEN)];
    let contact = &contact[..contact.len().min(MAX_CONTACT_LEN)];
    let classes = &classes[..classes.len().min(MAX_CLIENT_CLASSES)];
    let mut b = Vec::with_capacity(HEAD + classes.len() * MEMBERSHIP + id.len() + contact.len());
    b.push(classes.len() as u8);
    b.push(id.len() as u8);
    b.extend_from_slice(&(contact.len() as u16).to_le_bytes());
    for c in classes {
        b.extend_from_slice(&c.0.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
    }
    b.extend_from_slice(id);
    b.extend_from_slice(contact);
    b.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_round_trip() {
        let src: SocketAddr = "10.1.2.3:4000".parse().unwrap();
        let mut c = Client::new(
            b"tv-7",
            b"sip:tv-7@10.1.2.3:4000",
            &[ClassId(3), ClassId(9)],
            src,
        );
        assert_eq!(c.id(), b"tv-7");
        assert_eq!(c.contact(), b"sip:tv-7@10.1.2.3:4000");
        assert_eq!(
            c.classes().collect::<Vec<_>>(),
            vec![ClassId(3), ClassId(9)]
        );
        c.set_position(ClassId(9), 77);
        assert_eq!(c.position(1), 77);
        assert_eq!(c.position(0), 0);
        assert_eq!(SocketAddr::from(c.source), src);
        c.rebuild(b"sip:x@1.1.1.1", &[ClassId(1)]);
        assert_eq!(c.id(), b"tv-7");
        assert_eq!(c.contact(), b"sip:x@1.1.1.1");
        let v6: SocketAddr = "[2001:db8::1]:5060".parse().unwrap();
        assert_eq!(SocketAddr::from(PackedAddr::from(v6)), v6);
        assert!(
            std::mem::size_of::<Client>() <= 72,
            "{}",
            std::mem::size_of::<Client>()
        );
    }
}
