//! The agent's own client transaction: one REGISTER or OPTIONS at a time, as a UDP non-INVITE
//! client transaction (RFC 3261 §17.1.2).
//!
//! Timer E retransmits at T1, 2T1, 4T1 ... capped at T2 (at T2 once a provisional response
//! arrived, §17.1.2.2); Timer F ends the transaction after 64*T1. The request itself is not
//! stored: it is rebuilt from the agent's state for every (re)transmission, so a transaction
//! costs a few words. Invariant: `kind` is `None` exactly when no transaction is in flight,
//! and then `send` is false.

/// What the transaction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A REGISTER with the current requested interval.
    Register,
    /// An OPTIONS heartbeat.
    Options,
    /// A REGISTER with `Expires: 0`.
    Deregister,
}

impl Kind {
    /// The request method, as in CSeq.
    pub fn method(self) -> &'static [u8] {
        match self {
            Kind::Register | Kind::Deregister => b"REGISTER",
            Kind::Options => b"OPTIONS",
        }
    }
}

/// What a timer check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Nothing due.
    Idle,
    /// Timer E: the request goes out again.
    Retransmit,
    /// Timer F: the transaction ended without a final response.
    TimedOut(Kind),
}

/// One client transaction's timers.
#[derive(Clone, Copy, Debug)]
pub(super) struct Txn {
    retx_at: u64,
    end_at: u64,
    /// Timer E has doubled this many times (the interval is min(T1 * 2^n, T2)).
    doublings: u8,
    /// The branch number (the `n` of `z9hG4bK<nonce>.<n>`).
    pub branch: u32,
    /// The transaction in flight, if any.
    pub kind: Option<Kind>,
    /// The request must be (re)sent by the next `poll_transmit`.
    pub send: bool,
    proceeding: bool,
}

impl Txn {
    /// No transaction.
    pub const IDLE: Txn = Txn {
        retx_at: u64::MAX,
        end_at: u64::MAX,
        doublings: 0,
        branch: 0,
        kind: None,
        send: false,
        proceeding: false,
    };

    /// Start a transaction at `now`; the request goes out on the next `poll_transmit`.
    pub fn start(&mut self, kind: Kind, branch: u32, now: u64, t1_ms: u64) {
        let t1 = t1_ms.clamp(1, u32::MAX as u64);
        *self = Txn {
            retx_at: now.saturating_add(t1),
            end_at: now.saturating_add(64 * t1),
            doublings: 0,
            branch,
            kind: Some(kind),
            send: true,
            proceeding: false,
        };
    }

    /// End the transaction (a final response arrived, or it is abandoned).
    pub fn clear(&mut self) {
        *self = Txn {
            branch: self.branch,
            ..Txn::IDLE
        };
    }

    /// A provisional response: Timer E now fires at T2 (§17.1.2.2).
    pub fn proceeding(&mut self) {
        self.proceeding = true;
    }

    /// The next deadline of Timer E or F.
    pub fn deadline(&self) -> u64 {
        if self.kind.is_some() {
            self.retx_at.min(self.end_at)
        } else {
            u64::MAX
        }
    }

    /// Run the timers due at `now`.
    pub fn on_timer(&mut self, now: u64, t1_ms: u64, t2_ms: u64) -> Step {
        let Some(kind) = self.kind else {
            return Step::Idle;
        };
        if now >= self.end_at {
            self.clear();
            return Step::TimedOut(kind);
        }
        if now < self.retx_at {
            return Step::Idle;
        }
        let t1 = t1_ms.clamp(1, u32::MAX as u64);
        let t2 = t2_ms.max(t1);
        self.doublings = self.doublings.saturating_add(1).min(40);
        let interval = if self.proceeding {
            t2
        } else {
            t1.saturating_mul(1 << self.doublings).min(t2)
        };
        self.retx_at = now.saturating_add(interval).min(self.end_at);
        self.send = true;
        Step::Retransmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_e_doubles_to_t2_and_timer_f_ends_at_64_t1() {
        let mut t = Txn::IDLE;
        assert_eq!(t.on_timer(0, 500, 4000), Step::Idle);
        t.start(Kind::Register, 7, 1000, 500);
        assert!(t.send);
        t.send = false;
        let mut sent = Vec::new();
        for now in 1000..=33_000 {
            match t.on_timer(now, 500, 4000) {
                Step::Retransmit => {
                    sent.push(now - 1000);
                    t.send = false;
                }
                Step::TimedOut(k) => {
                    assert_eq!((k, now), (Kind::Register, 33_000));
                    break;
                }
                Step::Idle => {}
            }
        }
        assert_eq!(
            sent,
            vec![
                500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(t.kind, None);
        assert_eq!(t.deadline(), u64::MAX);
        assert_eq!(t.branch, 7, "the branch number survives for the next one");
    }

    #[test]
    fn proceeding_retransmits_at_t2() {
        let mut t = Txn::IDLE;
        t.start(Kind::Options, 1, 0, 500);
        t.proceeding();
        assert_eq!(t.on_timer(500, 500, 4000), Step::Retransmit);
        assert_eq!(t.deadline(), 4500);
    }
}
