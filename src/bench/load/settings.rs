//! The options of `sippush bench` and their validation.

use std::net::SocketAddr;

use crate::cli::{CliError, opt_value, parse_opts};

const BRIEF: &str = "usage: sippush bench [options]

Simulates --clients clients over --sockets UDP sockets against a server started in this process
(or --server/--admin), and reports registrations/s, heartbeats/s, deliveries/s, latency and the
server's CPU time per operation. Exit status 1 when a phase cannot complete.";

/// What one run of the load generator is asked to do.
pub(super) struct Settings {
    pub clients: usize,
    pub sockets: usize,
    pub heartbeat_secs: f64,
    pub messages: u64,
    pub loss: f64,
    pub ttl: u32,
    pub payload_bytes: usize,
    pub window: usize,
    pub seed: u64,
    pub classes: Vec<String>,
    pub target_class: Option<String>,
    pub token: Option<String>,
    /// `(sip, admin)` of a running server, or None to start one in this process.
    pub external: Option<(SocketAddr, String)>,
    pub max_inflight: usize,
    pub t1_ms: u64,
    pub pin: bool,
    pub json: bool,
    pub quiet: bool,
}

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optopt("", "clients", "simulated clients (default 100000)", "N");
    o.optopt("", "sockets", "UDP sockets they share (default 64)", "S");
    o.optopt(
        "",
        "classes",
        "comma-separated classes, assigned round-robin (default bench)",
        "LIST",
    );
    o.optopt(
        "",
        "heartbeat-secs",
        "length of the heartbeat phase, 0 skips it (default 3)",
        "S",
    );
    o.optopt("", "messages", "control messages pushed (default 1)", "M");
    o.optopt(
        "",
        "target-class",
        "push to this class instead of all clients",
        "C",
    );
    o.optopt(
        "",
        "loss",
        "share of incoming MESSAGEs the clients drop, 0..1 (default 0)",
        "P",
    );
    o.optopt("", "ttl", "message TTL, s (default 300)", "S");
    o.optopt(
        "",
        "payload-bytes",
        "size of each control message body (default 200)",
        "B",
    );
    o.optopt(
        "",
        "window",
        "outstanding registrations/heartbeats at once (default 2048)",
        "W",
    );
    o.optopt(
        "",
        "server",
        "use a running server at this SIP address instead of starting one",
        "ADDR",
    );
    o.optopt("", "admin", "its admin address (with --server)", "ADDR");
    o.optopt("", "token-file", "bearer token for the admin API", "FILE");
    o.optopt(
        "",
        "max-inflight",
        "in-process server: most MESSAGE transactions outstanding (default 2048)",
        "N",
    );
    o.optopt(
        "",
        "t1-ms",
        "in-process server: RFC 3261 T1 (default 500)",
        "MS",
    );
    o.optflag(
        "",
        "no-pin",
        "do not pin the server and the load to separate CPUs",
    );
    o.optflag("", "json", "print the results as one JSON object on stdout");
    o.optflag("", "quiet", "no progress lines");
    o.optopt("", "seed", "random seed (default 1)", "N");
    o
}

/// Parse the command line; `None` after `--help`.
pub(super) fn parse(args: &[String]) -> Result<Option<Settings>, CliError> {
    let mut opts = options();
    let Some(m) = parse_opts(&mut opts, args, BRIEF)? else {
        return Ok(None);
    };
    if let Some(extra) = m.free.first() {
        return Err(CliError::usage(format!("unexpected argument '{extra}'")));
    }
    let classes: Vec<String> = m
        .opt_str("classes")
        .unwrap_or_else(|| "bench".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let token = match m.opt_str("token-file") {
        Some(f) => Some(
            std::fs::read_to_string(&f)
                .map_err(|e| CliError::failed(format!("cannot read {f}: {e}")))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let external = match (m.opt_str("server"), m.opt_str("admin")) {
        (Some(s), Some(a)) => {
            let sip = s
                .parse()
                .map_err(|_| CliError::usage(format!("invalid --server '{s}'")))?;
            Some((sip, a))
        }
        (None, None) => None,
        _ => return Err(CliError::usage("--server and --admin go together")),
    };
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let s = Settings {
        clients: opt_value(&m, "clients", 100_000)?,
        sockets: opt_value(&m, "sockets", 64)?,
        heartbeat_secs: opt_value(&m, "heartbeat-secs", 3.0)?,
        messages: opt_value(&m, "messages", 1)?,
        loss: opt_value(&m, "loss", 0.0)?,
        ttl: opt_value(&m, "ttl", 300)?,
        payload_bytes: opt_value(&m, "payload-bytes", 200)?,
        window: opt_value(&m, "window", 2048)?,
        seed: opt_value(&m, "seed", 1)?,
        classes,
        target_class: m.opt_str("target-class"),
        token,
        external,
        max_inflight: opt_value(&m, "max-inflight", 2048)?,
        t1_ms: opt_value(&m, "t1-ms", 500)?,
        pin: !m.opt_present("no-pin") && super::super::stats::cpus() >= 2,
        json: m.opt_present("json"),
        quiet: m.opt_present("quiet") || m.opt_present("json") && !stderr_tty,
    };
    if s.clients == 0
        || s.sockets == 0
        || s.window == 0
        || !(0.0..1.0).contains(&s.loss)
        || s.classes.is_empty()
    {
        return Err(CliError::usage(
            "need --clients > 0, --sockets > 0, --window > 0, 0 <= --loss < 1 and at least one class",
        ));
    }
    if s.ttl == 0 || s.max_inflight == 0 || s.t1_ms == 0 {
        return Err(CliError::usage(
            "need --ttl > 0, --max-inflight > 0 and --t1-ms > 0",
        ));
    }
    Ok(Some(s))
}
