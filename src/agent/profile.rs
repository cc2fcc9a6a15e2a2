//! The settings every agent of a process shares, read-only: where the server is, the AOR
//! domain, the intervals and the RFC 3261 timers of the agents' own transactions.
//!
//! One `Profile` serves any number of agents (the load generator drives a million from one
//! loop), so nothing per-client lives here and nothing here changes while agents run.

use std::net::SocketAddr;

/// Shared, read-only settings of a fleet of agents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Where REGISTER and OPTIONS go.
    pub server: SocketAddr,
    /// The AOR domain: To and From are `<sip:ID@domain>`; also the Request-URI host.
    pub domain: String,
    /// The registration interval asked for (s); the server may grant less, or ask for more
    /// with 423.
    pub expires_s: u32,
    /// Interval between OPTIONS heartbeats (ms); 0 sends none.
    pub heartbeat_ms: u64,
    /// Heartbeats, refreshes and back-off delays are shortened at random by up to this
    /// percentage (capped at 50) so that a fleet does not beat in lockstep.
    pub jitter_pct: u32,
    /// RFC 3261 T1 (ms) for the agent's own requests: first retransmission interval; Timer F
    /// is 64*T1.
    pub t1_ms: u64,
    /// RFC 3261 T2 (ms): cap of the retransmission interval.
    pub t2_ms: u64,
    /// First re-registration delay after the server is lost or refuses (ms).
    pub backoff_min_ms: u64,
    /// Largest re-registration delay (ms); the delay doubles up to it.
    pub backoff_max_ms: u64,
    /// How many recent Push-Ids are remembered to recognise retransmitted MESSAGEs (0 turns
    /// deduplication off).
    pub dedupe_window: usize,
}

impl Profile {
    /// A profile for `server` with the defaults `sippush client` uses: 600 s registrations,
    /// a heartbeat every 30 s, 10 % jitter, T1 500 ms, T2 4 s, back-off 1 s .. 60 s, and the
    /// last 64 Push-Ids remembered.
    pub fn new(server: SocketAddr, domain: impl Into<String>) -> Profile {
        Profile {
            server,
            domain: domain.into(),
            expires_s: 600,
            heartbeat_ms: 30_000,
            jitter_pct: 10,
            t1_ms: 500,
            t2_ms: 4_000,
            backoff_min_ms: 1_000,
            backoff_max_ms: 60_000,
            dedupe_window: 64,
        }
    }
}
