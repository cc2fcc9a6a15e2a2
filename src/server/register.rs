//! The registrar (RFC 3261 §10.3), for one binding per client id.
//!
//! - The client id is the user part of the To URI (at most 64 bytes); the classes are the
//!   Contact parameter `class` (a quoted comma-separated list or one token; none means
//!   `default`).
//! - Expiry: the Contact's `expires`, else the Expires header, else `default_expires`; 0
//!   removes the client (so does `Contact: *` with `Expires: 0`); below `min_expires` is 423
//!   with Min-Expires (§10.3 step 7); above `max_expires` is cut to it; optional jitter shortens
//!   it to spread re-registration storms.
//! - §10.3 step 7: the same Call-ID with a CSeq not higher than the stored one is 500 and
//!   changes nothing, unless it is a retransmission (same Call-ID, CSeq and top Via branch),
//!   which gets the same answer regenerated from the table, without being applied twice.
//! - A REGISTER without Contact queries the binding (§10.3 step 6).
//! - Deliberate differences from a general registrar: one Contact per client id (several is
//!   400); no authentication; the AOR domain is not checked.

use std::net::SocketAddr;

use super::{Route, Server};
use crate::rand::hash_bytes;
use crate::registry::{ClientKey, MAX_CLIENT_CLASSES, MAX_CONTACT_LEN, MAX_ID_LEN, RegistryError};
use crate::sip::chars::is_token;
use crate::sip::{Contact, Message, Via};

/// What to answer a REGISTER.
pub(super) enum RegAnswer {
    /// 200 OK, listing the binding of this client if it is registered.
    Ok(Option<ClientKey>),
    /// An error status with its reason and an optional extra header.
    Error(u16, &'static str, Option<(&'static str, u32)>),
}

use RegAnswer::Error;

/// The class names of a Contact's `class` parameter.
struct ClassList<'a> {
    names: [&'a [u8]; MAX_CLIENT_CLASSES],
    len: usize,
}

fn parse_classes(value: Option<Option<&[u8]>>) -> Result<ClassList<'_>, &'static str> {
    let mut list = ClassList {
        names: [&[]; MAX_CLIENT_CLASSES],
        len: 0,
    };
    let raw = match value {
        None => b"default".as_slice(),
        Some(None) => return Err("Empty Class Parameter"),
        Some(Some(v)) => v,
    };
    for name in raw.split(|&b| b == b',') {
        let name = crate::sip::chars::trim(name);
        if name.is_empty() || name.len() > 64 || !name.iter().all(|&b| is_token(b)) {
            return Err("Bad Class Name");
        }
        if list.len == MAX_CLIENT_CLASSES {
            return Err("Too Many Classes");
        }
        list.names[list.len] = name;
        list.len += 1;
    }
    Ok(list)
}

impl Server {
    pub(super) fn register(&mut self, src: SocketAddr, msg: &Message<'_>) -> RegAnswer {
        let Some(id) = msg.to().uri.user() else {
            return Error(400, "Missing User In To URI", None);
        };
        if id.len() > MAX_ID_LEN {
            return Error(400, "Client Id Too Long", None);
        }
        let existing = self.reg.find(id);
        let call_hash = hash_bytes(self.hash_seed, msg.call_id());
        let branch_hash = hash_bytes(self.hash_seed, msg.via().branch().unwrap_or(b"")) as u32;
        let cseq = msg.cseq().seq;
        if let Some(c) = existing.and_then(|k| self.reg.get(k)) {
            if c.call_id_hash == call_hash && cseq <= c.cseq {
                if cseq == c.cseq && c.branch_hash == branch_hash {
                    return RegAnswer::Ok(existing); // a retransmission: same answer, not applied
                }
                return Error(500, "CSeq Out Of Order", None);
            }
        }
        let mut contacts = msg.raw().contacts();
        let first = match contacts.next() {
            None => return RegAnswer::Ok(existing),
            Some(Err(e)) => return Error(400, e.kind.reason(), None),
            Some(Ok(c)) => c,
        };
        if contacts.next().is_some() {
            return Error(400, "One Contact Per Client", None);
        }
        let header_expires = match msg.raw().expires() {
            Some(Err(e)) => return Error(400, e.kind.reason(), None),
            Some(Ok(e)) => Some(e),
            None => None,
        };
        let addr = match first {
            Contact::Star => {
                if header_expires != Some(0) {
                    return Error(400, "Wildcard Contact Needs Expires 0", None);
                }
                return self.deregister(existing);
            }
            Contact::Addr(a) => a,
        };
        let expires = match first.expires() {
            Some(Err(e)) => return Error(400, e.kind.reason(), None),
            Some(Ok(e)) => e,
            None => header_expires.unwrap_or(self.cfg.default_expires),
        };
        if expires == 0 {
            return self.deregister(existing);
        }
        if expires < self.cfg.min_expires {
            return Error(
                423,
                "Interval Too Brief",
                Some(("Min-Expires", self.cfg.min_expires)),
            );
        }
        // The Contact becomes the Request-URI of our MESSAGEs, where RFC 3261 §19.1.5 allows
        // no URI headers: keep the URI without them.
        let raw = addr.uri.raw();
        let contact = match addr.uri.headers() {
            Some(h) => &raw[..raw.len() - h.len() - 1],
            None => raw,
        };
        if contact.len() > MAX_CONTACT_LEN || !addr.uri.is_sip() {
            return Error(400, "Unsupported Contact URI", None);
        }
        let classes = match parse_classes(addr.params.value(b"class")) {
            Ok(c) => c,
            Err(reason) => return Error(400, reason, None),
        };
        let granted = self.grant(expires);
        let contact_ip = addr.uri.host_kind().is_some_and(|h| h.ip().is_some());
        let to_source = self.route_to_source(msg.via(), src, contact_ip);
        let now = self.now;
        let key = match existing {
            Some(k) => {
                if self
                    .reg
                    .set_binding(k, contact, &classes.names[..classes.len])
                    == Err(RegistryError::TooManyClasses)
                {
                    return Error(503, "Class Table Full", None);
                }
                self.metrics.refreshes += 1;
                k
            }
            None => {
                if self.reg.len() >= self.cfg.max_clients {
                    return Error(503, "Client Table Full", Some(("Retry-After", 60)));
                }
                match self
                    .reg
                    .insert(id, contact, &classes.names[..classes.len], src)
                {
                    Ok(k) => {
                        self.metrics.registrations += 1;
                        k
                    }
                    Err(RegistryError::TooManyClasses) => {
                        return Error(503, "Class Table Full", None);
                    }
                }
            }
        };
        if let Some(c) = self.reg.get_mut(key) {
            c.last_seen = now;
            c.call_id_hash = call_hash;
            c.cseq = cseq;
            c.branch_hash = branch_hash;
            c.granted = granted;
            c.source = src.into();
            c.route_to_source = to_source;
        }
        self.schedule_expiry(key, existing.is_none());
        if existing.is_none() {
            self.unpark_queue_for(key);
        } else {
            self.refresh_destination(key);
        }
        RegAnswer::Ok(Some(key))
    }

    fn deregister(&mut self, existing: Option<ClientKey>) -> RegAnswer {
        if let Some(k) = existing {
            self.metrics.deregistrations += 1;
            self.remove_client(k);
        }
        RegAnswer::Ok(None)
    }

    /// The interval granted for a requested one (already >= min_expires).
    fn grant(&mut self, requested: u32) -> u32 {
        let granted = requested.min(self.cfg.max_expires);
        let pct = self.cfg.expires_jitter_pct.min(100) as u64;
        if pct == 0 {
            return granted;
        }
        let cut = self.rng.below(granted as u64 * pct / 100 + 1) as u32;
        granted
            .saturating_sub(cut)
            .max(self.cfg.min_expires.min(granted))
    }

    /// The routing rule (`--route`): NAT is detected as RFC 3581 and Kamailio's nathelper do,
    /// by the top Via's sent-by differing from the source address.
    pub(super) fn route_to_source(&self, via: &Via<'_>, src: SocketAddr, contact_ip: bool) -> bool {
        let nat =
            via.host_kind().ip() != Some(src.ip()) || via.port().unwrap_or(5060) != src.port();
        match self.cfg.route {
            Route::Source => true,
            Route::Contact => !contact_ip,
            Route::Auto => nat || !contact_ip,
        }
    }
}
