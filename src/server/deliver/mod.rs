//! Deliveries: per-client FIFO queues of (message, client) pairs, MESSAGE transactions that
//! retransmit until a final response, and the pacing of new transactions.
//!
//! - Per client, at most one MESSAGE is in flight; the rest wait in order in its queue (at most
//!   `max_queue`; beyond, the oldest waiting delivery fails with a counted reason).
//! - At most `max_inflight` transactions are outstanding server-wide; queues with a sendable
//!   head wait in the `ready` FIFO and start as acks free slots, so a push to a million clients
//!   never floods the socket buffers.
//! - A transaction is a non-INVITE client transaction (RFC 3261 §17.1.2): Timer E retransmits
//!   at T1, 2T1, ... capped at T2 (at T2 once a provisional arrived), Timer F ends it after
//!   64*T1. A timed-out delivery whose message is still within its TTL starts a new transaction
//!   (new branch and Call-ID, same `Push-Id`). 2xx acks it; another final response fails it.
//! - The branch (`z9hG4bK-sp<boot>-<slot>-<generation>`) names the transaction's arena handle,
//!   so matching a response (RFC 3261 §17.1.3: branch and CSeq method) is O(1) and a late
//!   response to an ended transaction finds a stale generation, never the wrong one.
//! - A client that leaves the table keeps its queue, parked under its id; if the same id
//!   registers again before the TTLs run out, delivery resumes at once.
//!
//! Parts: `queue` (queues, pacing, parking), `txn` (transactions, timers, responses), `wire`
//! (the MESSAGE on the wire and where it goes).

mod queue;
mod txn;
mod wire;

pub(super) use wire::{contact_is_ip, destination, message_tail};

use std::net::SocketAddr;

use super::{PushKey, QueueKey, TxnKey};
use crate::registry::ClientKey;
use crate::timer::TimerKey;

const NIL: u32 = u32::MAX;
const BRANCH_PREFIX: &[u8] = b"z9hG4bK-sp";

/// One waiting delivery in a queue.
pub(super) struct Node {
    pub push: PushKey,
    pub next: u32,
}

/// A client's deliveries, oldest first; the head is the one in flight, if any.
pub(super) struct Queue {
    pub client: Option<ClientKey>,
    pub parked_id: Option<Box<[u8]>>,
    head: u32,
    tail: u32,
    pub len: u32,
    inflight: Option<TxnKey>,
    in_ready: bool,
    park_timer: TimerKey,
    /// Where the client's MESSAGEs go, kept while it has deliveries so that a send does not
    /// parse its Contact (updated whenever its binding or source changes).
    dest: SocketAddr,
}

/// A MESSAGE client transaction.
pub(super) struct Txn {
    queue: QueueKey,
    push: PushKey,
    timer: TimerKey,
    interval: u64,
    deadline_f: u64,
    proceeding: bool,
}
