//! `sippush bench`: the built-in load generator. It starts a server in this process on a
//! background thread (or uses `--server`/`--admin`), simulates `--clients` clients over
//! `--sockets` UDP sockets, and measures three phases: registration, heartbeats, and pushing
//! control messages until every delivery is acknowledged (optionally with `--loss`).
//!
//! With two or more CPUs the server thread is pinned to CPU 0 and the load generator to CPU 1
//! (`taskset`), so that the server's CPU time per operation can be compared with the kernel's
//! own cost for the same traffic (`shared/tools/udp-ceiling/echo`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::fleet::Fleet;
use super::stats::{current_tid, pin, rss_bytes, thread_cpu_ns};
use crate::admin::client::{AdminClient, percent_encode};
use crate::agent::Profile;
use crate::cli::{CliError, opt_value, parse_opts};
use crate::json::JsonWriter;
use crate::server::Config;
use crate::server::shell::{ServerShell, ShellOptions};

const BRIEF: &str = "usage: sippush bench [options]

Simulates --clients clients over --sockets UDP sockets against a server started in this process
(or --server/--admin), and reports registrations/s, heartbeats/s, deliveries/s, latency and the
server's CPU time per operation. Exit status 1 when a phase cannot complete.";

/// What was measured in one phase.
#[derive(Default, Debug, Clone, Copy)]
struct Phase {
    count: u64,
    secs: f64,
    server_cpu_ns: Option<u64>,
    load_cpu_ns: Option<u64>,
    /// Datagrams the kernel dropped for want of receive buffer during the phase (system-wide).
    kernel_drops: Option<u64>,
}

impl Phase {
    fn per_sec(&self) -> f64 {
        if self.secs > 0.0 {
            self.count as f64 / self.secs
        } else {
            0.0
        }
    }
    fn server_ns_per_op(&self) -> Option<f64> {
        self.server_cpu_ns
            .filter(|_| self.count > 0)
            .map(|ns| ns as f64 / self.count as f64)
    }
    fn load_ns_per_op(&self) -> Option<f64> {
        self.load_cpu_ns
            .filter(|_| self.count > 0)
            .map(|ns| ns as f64 / self.count as f64)
    }
}

/// Totals of the push phase.
#[derive(Default, Debug, Clone)]
struct PushResult {
    phase: Phase,
    messages: u64,
    deliveries: u64,
    acked: u64,
    failed: u64,
    expired: u64,
    retransmissions: u64,
    expected_retransmissions: f64,
    dropped: u64,
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
}

/// CPU clocks of the two threads.
struct Clocks {
    server_tid: Option<u32>,
    load_tid: Option<u32>,
}

/// CPU clocks of both threads and the kernel's UDP receive-buffer drops, at one moment.
type Reading = (Option<u64>, Option<u64>, Option<u64>);

impl Clocks {
    fn read(&self) -> Reading {
        let drops = crate::server::shell::read_udp_snmp().map(|(rcv, _)| rcv);
        (
            self.server_tid.and_then(thread_cpu_ns),
            self.load_tid.and_then(thread_cpu_ns),
            drops,
        )
    }

    /// A phase of `count` operations over `secs` that began at `before`.
    fn phase(&self, before: Reading, count: u64, secs: f64) -> Phase {
        let now = self.read();
        let d = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a.saturating_sub(b));
        Phase {
            count,
            secs,
            server_cpu_ns: d(now.0, before.0),
            load_cpu_ns: d(now.1, before.1),
            kernel_drops: d(now.2, before.2),
        }
    }
}

/// Live progress on stderr: a rewritten line on a terminal, a line a second otherwise.
struct Progress {
    tty: bool,
    last: Instant,
    quiet: bool,
}

impl Progress {
    fn show(&mut self, text: impl FnOnce() -> String) {
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        };
        if self.quiet || self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        if self.tty {
            eprint!("\r\x1b[K{}", text());
        } else {
            eprintln!("{}", text());
        }
    }
    fn done(&mut self) {
        if self.tty && !self.quiet {
            eprint!("\r\x1b[K");
        }
    }
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

pub(super) fn run(args: &[String]) -> Result<(), CliError> {
    let mut opts = options();
    let Some(m) = parse_opts(&mut opts, args, BRIEF)? else {
        return Ok(());
    };
    if !m.free.is_empty() {
        return Err(CliError::usage(format!(
            "unexpected argument '{}'",
            m.free[0]
        )));
    }
    let clients: usize = opt_value(&m, "clients", 100_000)?;
    let sockets: usize = opt_value(&m, "sockets", 64)?;
    let heartbeat_secs: f64 = opt_value(&m, "heartbeat-secs", 3.0)?;
    let messages: u64 = opt_value(&m, "messages", 1)?;
    let loss: f64 = opt_value(&m, "loss", 0.0)?;
    let ttl: u32 = opt_value(&m, "ttl", 300)?;
    let payload_bytes: usize = opt_value(&m, "payload-bytes", 200)?;
    let window: usize = opt_value(&m, "window", 2048)?;
    let seed: u64 = opt_value(&m, "seed", 1)?;
    let classes: Vec<String> = m
        .opt_str("classes")
        .unwrap_or_else(|| "bench".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if clients == 0
        || sockets == 0
        || window == 0
        || !(0.0..1.0).contains(&loss)
        || classes.is_empty()
    {
        return Err(CliError::usage(
            "need --clients > 0, --sockets > 0, --window > 0, 0 <= --loss < 1 and at least one class",
        ));
    }
    let token = match m.opt_str("token-file") {
        Some(f) => Some(
            std::fs::read_to_string(&f)
                .map_err(|e| CliError::failed(format!("cannot read {f}: {e}")))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let quiet = m.opt_present("quiet")
        || m.opt_present("json") && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = Progress {
        tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        last: Instant::now(),
        quiet,
    };
    let pin_threads = !m.opt_present("no-pin") && super::stats::cpus() >= 2;

    // The server: in this process on a background thread, or a running one.
    let (sip, admin_addr, server_tid) = match (m.opt_str("server"), m.opt_str("admin")) {
        (Some(s), Some(a)) => {
            let sip: SocketAddr = s
                .parse()
                .map_err(|_| CliError::usage(format!("invalid --server '{s}'")))?;
            (sip, a, None)
        }
        (None, None) => {
            let cfg = Config {
                max_clients: clients.max(1) * 2,
                min_expires: 1,
                max_expires: 86_400,
                max_ttl_s: ttl.max(1),
                default_ttl_s: ttl.max(1),
                max_inflight: opt_value(&m, "max-inflight", 2048)?,
                t1_ms: opt_value(&m, "t1-ms", 500)?,
                seed,
                ..Config::default()
            };
            let local = SocketAddr::from(([127, 0, 0, 1], 0));
            let shell_opts = ShellOptions {
                sip: local,
                admin: local,
                ..ShellOptions::default()
            };
            let mut shell = ServerShell::bind(cfg, &shell_opts)
                .map_err(|e| CliError::failed(format!("cannot start the server: {e}")))?;
            let sip = shell.sip_addr();
            let admin = shell
                .admin_addr()
                .map_err(|e| CliError::failed(e.to_string()))?;
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("sippush-server".into())
                .spawn(move || {
                    let tid = current_tid();
                    if let (Some(t), true) = (tid, pin_threads) {
                        pin(t, 0);
                    }
                    let _ = tx.send(tid);
                    if let Err(e) = shell.run(|| false) {
                        log::error!("server loop: {e}");
                    }
                })
                .map_err(|e| CliError::failed(e.to_string()))?;
            let tid = rx.recv_timeout(Duration::from_secs(5)).ok().flatten();
            (sip, admin.to_string(), tid)
        }
        _ => return Err(CliError::usage("--server and --admin go together")),
    };
    let load_tid = current_tid();
    if let (Some(t), true) = (load_tid, pin_threads) {
        pin(t, 1);
    }
    let clocks = Clocks {
        server_tid,
        load_tid,
    };
    let admin = AdminClient {
        addr: admin_addr,
        token,
    };

    let profile = Profile {
        expires_s: 3600,
        heartbeat_ms: 0,
        ..Profile::new(sip, sip.ip().to_string())
    };
    let mut fleet = Fleet::new(profile, clients, sockets, &classes, loss, seed)
        .map_err(|e| CliError::failed(format!("cannot create the clients: {e}")))?;

    // Phase 1: registration.
    let rss_before = rss_bytes();
    let before = clocks.read();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(60 + clients as u64 / 1000);
    let mut started = 0usize;
    while (fleet.stats.registered as usize) < clients {
        if fleet.stats.refused > 0 {
            return Err(CliError::failed(format!(
                "the server refused {} registrations",
                fleet.stats.refused
            )));
        }
        if Instant::now() > deadline {
            return Err(CliError::failed(format!(
                "registration did not complete: {}/{clients} registered",
                fleet.stats.registered
            )));
        }
        while started < clients
            && started - fleet.stats.registered as usize + fleet.stats.refused as usize <= window
        {
            fleet.start_agent(started);
            started += 1;
        }
        fleet.turn(10).map_err(io_err)?;
        let r = fleet.stats.registered;
        progress.show(|| {
            format!(
                "register  {r}/{clients}  {:.0}/s",
                r as f64 / t0.elapsed().as_secs_f64()
            )
        });
    }
    let register = clocks.phase(before, clients as u64, t0.elapsed().as_secs_f64());
    let rss_after = rss_bytes();
    progress.done();

    // Phase 2: heartbeats at the highest rate the server answers, for --heartbeat-secs.
    let mut heartbeat = Phase::default();
    if heartbeat_secs > 0.0 {
        let before = clocks.read();
        let answered0 = fleet.stats.heartbeats;
        let t0 = Instant::now();
        let mut sent = 0u64;
        let mut next = 0usize;
        while t0.elapsed().as_secs_f64() < heartbeat_secs {
            let mut tries = 0;
            while sent - (fleet.stats.heartbeats - answered0) < window as u64 && tries < clients {
                if fleet.heartbeat(next) {
                    sent += 1;
                }
                next = (next + 1) % clients;
                tries += 1;
            }
            fleet.turn(10).map_err(io_err)?;
            let h = fleet.stats.heartbeats - answered0;
            progress.show(|| {
                format!(
                    "heartbeat {h}  {:.0}/s",
                    h as f64 / t0.elapsed().as_secs_f64()
                )
            });
        }
        let secs = t0.elapsed().as_secs_f64();
        heartbeat = clocks.phase(before, fleet.stats.heartbeats - answered0, secs);
        // Let the last window come back before the next phase.
        let settle = Instant::now() + Duration::from_secs(5);
        while fleet.stats.heartbeats - answered0 < sent && Instant::now() < settle {
            fleet.turn(10).map_err(io_err)?;
        }
        progress.done();
    }

    // Phase 3: push.
    let retrans_before = server_metric(&admin, "sippush_retransmissions_total")?;
    let target = match m.opt_str("target-class") {
        Some(c) => format!("class={}", percent_encode(&c)),
        None => "all=1".to_string(),
    };
    let payload = make_payload(payload_bytes);
    let before = clocks.read();
    let t0 = Instant::now();
    let mut ids = Vec::new();
    let mut expected = 0u64;
    for _ in 0..messages {
        let (_, v) = admin
            .request(
                "POST",
                &format!("/v1/messages?{target}&ttl={ttl}"),
                Some(("application/json", &payload)),
            )
            .map_err(|e| CliError::failed(format!("push refused: {e}")))?;
        let id = v
            .get("id")
            .and_then(|i| i.as_str())
            .unwrap_or_default()
            .to_string();
        expected += v.get("targets").and_then(|t| t.as_u64()).unwrap_or(0);
        fleet.submitted.push((id.clone().into_bytes(), fleet.now()));
        ids.push(id);
    }
    let deadline = t0 + Duration::from_secs(ttl as u64 + 30);
    let mut last_check = Instant::now();
    let totals;
    loop {
        fleet.turn(10).map_err(io_err)?;
        let d = fleet.stats.delivered;
        progress.show(|| {
            format!(
                "push      {d}/{expected}  {:.0}/s  dropped {}",
                d as f64 / t0.elapsed().as_secs_f64(),
                fleet.stats.dropped
            )
        });
        if d >= expected && last_check.elapsed() > Duration::from_millis(50) {
            last_check = Instant::now();
            let t = statuses(&admin, &ids)?;
            if t.3 {
                totals = t;
                break;
            }
        }
        if Instant::now() > deadline {
            totals = statuses(&admin, &ids)?;
            break;
        }
    }
    let secs = fleet
        .last_delivery_secs(t0)
        .unwrap_or_else(|| t0.elapsed().as_secs_f64());
    progress.done();
    let retransmissions =
        server_metric(&admin, "sippush_retransmissions_total")?.saturating_sub(retrans_before);
    let (acked, failed, expired, complete) = totals;
    let push = PushResult {
        phase: clocks.phase(before, acked, secs),
        messages,
        deliveries: expected,
        acked,
        failed,
        expired,
        retransmissions,
        expected_retransmissions: expected as f64 * loss / (1.0 - loss),
        dropped: fleet.stats.dropped,
        p50: fleet.latency.quantile(0.5),
        p90: fleet.latency.quantile(0.9),
        p99: fleet.latency.quantile(0.99),
        max: fleet.latency.max(),
    };
    let rss_per_client = rss_before
        .zip(rss_after)
        .map(|(b, a)| a.saturating_sub(b) as f64 / clients as f64);
    let server_cpu_secs = clocks
        .server_tid
        .and_then(thread_cpu_ns)
        .map(|ns| ns as f64 / 1e9);
    if m.opt_present("json") {
        println!(
            "{}",
            to_json(
                clients,
                &register,
                &heartbeat,
                &push,
                rss_per_client,
                server_cpu_secs
            )
        );
    } else {
        print_table(
            clients,
            &register,
            &heartbeat,
            &push,
            rss_per_client,
            pin_threads && server_tid.is_some(),
        );
    }
    if !complete || acked != expected {
        return Err(CliError::failed(format!(
            "push did not complete: {acked}/{expected} acked, {failed} failed, {expired} expired"
        )));
    }
    Ok(())
}

fn io_err(e: std::io::Error) -> CliError {
    CliError::failed(format!("load generator I/O: {e}"))
}

fn make_payload(n: usize) -> Vec<u8> {
    let head = b"{\"action\":\"refresh-config\",\"pad\":\"";
    let mut p = head.to_vec();
    while p.len() + 2 < n {
        p.push(b'x');
    }
    p.extend_from_slice(b"\"}");
    p
}

/// Sum of (acked, failed, expired) over the messages and whether all are complete.
fn statuses(admin: &AdminClient, ids: &[String]) -> Result<(u64, u64, u64, bool), CliError> {
    let mut t = (0, 0, 0, true);
    for id in ids {
        let (_, v) = admin
            .request("GET", &format!("/v1/messages/{}", percent_encode(id)), None)
            .map_err(|e| CliError::failed(e.to_string()))?;
        let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
        t.0 += n("acked");
        t.1 += n("failed");
        t.2 += n("expired");
        t.3 &= v.get("complete").and_then(|c| c.as_bool()) == Some(true);
    }
    Ok(t)
}

/// One counter from the server's /metrics.
fn server_metric(admin: &AdminClient, name: &str) -> Result<u64, CliError> {
    let (_, _, body) = admin
        .request_raw("GET", "/metrics", None)
        .map_err(|e| CliError::failed(e.to_string()))?;
    let text = String::from_utf8_lossy(&body);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0))
}

fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}{unit}"))
}

fn print_table(
    clients: usize,
    reg: &Phase,
    hb: &Phase,
    push: &PushResult,
    rss: Option<f64>,
    pinned: bool,
) {
    println!(
        "sippush bench: {clients} clients{}",
        if pinned {
            " (server pinned to CPU 0, load to CPU 1)"
        } else {
            ""
        }
    );
    println!(
        "{:<10} {:>10} {:>8} {:>11} {:>15} {:>13} {:>12}",
        "phase", "count", "secs", "per_sec", "server_cpu/op", "load_cpu/op", "kernel_drops"
    );
    for (name, p) in [("register", reg), ("heartbeat", hb), ("push", &push.phase)] {
        if p.count == 0 && name == "heartbeat" {
            println!("{name:<10} {:>10}", "skipped");
            continue;
        }
        println!(
            "{name:<10} {:>10} {:>8.2} {:>11.0} {:>15} {:>13} {:>12}",
            p.count,
            p.secs,
            p.per_sec(),
            fmt_opt(p.server_ns_per_op(), " ns"),
            fmt_opt(p.load_ns_per_op(), " ns"),
            p.kernel_drops.map_or("-".into(), |d| d.to_string())
        );
    }
    println!(
        "push: {} messages, {} deliveries, {} acked, {} failed, {} expired; retransmissions {} (expected from loss {:.0}, dropped {})",
        push.messages,
        push.deliveries,
        push.acked,
        push.failed,
        push.expired,
        push.retransmissions,
        push.expected_retransmissions,
        push.dropped
    );
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "latency submit->ack ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        ms(push.p50),
        ms(push.p90),
        ms(push.p99),
        ms(push.max)
    );
    println!(
        "server memory growth per registered client: {}",
        fmt_opt(rss, " bytes")
    );
}

fn to_json(
    clients: usize,
    reg: &Phase,
    hb: &Phase,
    push: &PushResult,
    rss: Option<f64>,
    cpu_secs: Option<f64>,
) -> String {
    let mut s = String::new();
    let mut w = JsonWriter::new(&mut s);
    let opt = |w: &mut JsonWriter<'_, String>, v: Option<f64>| match v {
        Some(v) => {
            w.f64((v * 10.0).round() / 10.0);
        }
        None => {
            w.null();
        }
    };
    w.begin_object().key("clients").u64(clients as u64);
    for (name, p) in [("register", reg), ("heartbeat", hb)] {
        w.key(name).begin_object();
        w.key("count")
            .u64(p.count)
            .key("secs")
            .f64(p.secs)
            .key("per_sec")
            .f64(p.per_sec().round());
        w.key("server_cpu_ns_per_op");
        opt(&mut w, p.server_ns_per_op());
        w.key("load_cpu_ns_per_op");
        opt(&mut w, p.load_ns_per_op());
        w.key("kernel_drops");
        opt(&mut w, p.kernel_drops.map(|d| d as f64));
        w.end_object();
    }
    let p = &push.phase;
    w.key("push").begin_object();
    w.key("messages")
        .u64(push.messages)
        .key("deliveries")
        .u64(push.deliveries)
        .key("acked")
        .u64(push.acked);
    w.key("failed")
        .u64(push.failed)
        .key("expired")
        .u64(push.expired)
        .key("secs")
        .f64(p.secs)
        .key("per_sec")
        .f64(p.per_sec().round());
    w.key("server_cpu_ns_per_delivery");
    opt(&mut w, p.server_ns_per_op());
    w.key("load_cpu_ns_per_delivery");
    opt(&mut w, p.load_ns_per_op());
    w.key("kernel_drops");
    opt(&mut w, p.kernel_drops.map(|d| d as f64));
    w.key("retransmissions").u64(push.retransmissions);
    w.key("expected_retransmissions")
        .f64(push.expected_retransmissions.round());
    w.key("dropped").u64(push.dropped);
    let ms = |us: u64| us as f64 / 1000.0;
    w.key("latency_ms").begin_object();
    w.key("p50")
        .f64(ms(push.p50))
        .key("p90")
        .f64(ms(push.p90))
        .key("p99")
        .f64(ms(push.p99))
        .key("max")
        .f64(ms(push.max));
    w.end_object().end_object();
    w.key("server").begin_object();
    w.key("rss_bytes_per_client");
    opt(&mut w, rss);
    w.key("cpu_secs");
    opt(&mut w, cpu_secs);
    w.end_object().end_object();
    s
}
