//! The server's settings, with the defaults `sippush serve` uses.

use std::net::SocketAddr;

/// Where pushes to a client are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// To the observed source address when the client looks NATed (its top Via sent-by differs
    /// from the source, RFC 3581 / Kamailio nathelper), else to the Contact's host and port.
    Auto,
    /// Always to the observed source address of the last request.
    Source,
    /// Always to the Contact's host and port (falls back to the source when the Contact host is
    /// a name: the server does not resolve DNS).
    Contact,
}

impl std::str::FromStr for Route {
    type Err = ();
    fn from_str(s: &str) -> Result<Route, ()> {
        match s {
            "auto" => Ok(Route::Auto),
            "source" => Ok(Route::Source),
            "contact" => Ok(Route::Contact),
            _ => Err(()),
        }
    }
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The SIP address the server advertises in its Via and From (its bound socket address).
    pub sip_addr: SocketAddr,
    /// The domain of client AORs in the To of pushed MESSAGEs (`sip:<id>@<domain>`).
    pub domain: String,
    /// RFC 3261 T1 (ms): first retransmission interval.
    pub t1_ms: u64,
    /// RFC 3261 T2 (ms): cap of the retransmission interval.
    pub t2_ms: u64,
    /// Smallest registration interval accepted (423 below it).
    pub min_expires: u32,
    /// Largest registration interval granted (longer requests are cut to it).
    pub max_expires: u32,
    /// Interval granted when the REGISTER names none (RFC 3261 §10.2.1.1 suggests 3600).
    pub default_expires: u32,
    /// Percentage by which a granted interval may be shortened at random (0 = off).
    pub expires_jitter_pct: u32,
    /// Seconds of silence tolerated after a registration's expiry before removal.
    pub grace_s: u32,
    /// Most clients in the table (503 beyond).
    pub max_clients: usize,
    /// Push routing rule.
    pub route: Route,
    /// Most MESSAGE transactions outstanding at once.
    pub max_inflight: usize,
    /// Most deliveries queued for one client (the oldest fails beyond).
    pub max_queue: usize,
    /// Default message TTL (s) when the request names none.
    pub default_ttl_s: u32,
    /// Largest TTL accepted (s).
    pub max_ttl_s: u32,
    /// How long a finished message stays queryable (s).
    pub retention_s: u32,
    /// Largest MESSAGE on the wire (RFC 3261 §18.1.1: 1300 bytes over UDP).
    pub max_message_bytes: usize,
    /// Bearer token required on every admin request, when set.
    pub admin_token: Option<String>,
    /// Wall-clock milliseconds since the Unix epoch at virtual time 0 (for JSON timestamps).
    pub epoch_ms: u64,
    /// Seed for every random choice (tags, jitter, id hashing).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sip_addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            domain: "127.0.0.1".into(),
            t1_ms: 500,
            t2_ms: 4000,
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            expires_jitter_pct: 0,
            grace_s: 30,
            max_clients: 2_000_000,
            route: Route::Auto,
            max_inflight: 2048,
            max_queue: 64,
            default_ttl_s: 300,
            max_ttl_s: 86_400,
            retention_s: 3600,
            max_message_bytes: 1300,
            admin_token: None,
            epoch_ms: 0,
            seed: 1,
        }
    }
}
