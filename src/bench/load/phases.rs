//! The three phases of a run and what each measures.

use std::time::{Duration, Instant};

use super::super::fleet::Fleet;
use super::super::stats::thread_cpu_ns;
use super::report::{Phase, PushResult};
use super::settings::Settings;
use crate::admin::client::{AdminClient, percent_encode};
use crate::cli::CliError;

/// CPU clocks of the two threads.
pub(super) struct Clocks {
    pub server_tid: Option<u32>,
    pub load_tid: Option<u32>,
}

/// CPU clocks of both threads and the kernel's UDP receive-buffer drops, at one moment.
type Reading = (Option<u64>, Option<u64>, Option<u64>);

impl Clocks {
    pub(super) fn read(&self) -> Reading {
        let drops = crate::server::shell::read_udp_snmp().map(|(rcv, _)| rcv);
        (
            self.server_tid.and_then(thread_cpu_ns),
            self.load_tid.and_then(thread_cpu_ns),
            drops,
        )
    }

    /// A phase of `count` operations over `secs` that began at `before`.
    pub(super) fn phase(&self, before: Reading, count: u64, secs: f64) -> Phase {
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
pub(super) struct Progress {
    tty: bool,
    last: Instant,
    quiet: bool,
}

impl Progress {
    pub(super) fn new(quiet: bool) -> Progress {
        Progress {
            tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            last: Instant::now(),
            quiet,
        }
    }

    pub(super) fn show(&mut self, text: impl FnOnce() -> String) {
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
    pub(super) fn done(&mut self) {
        if self.tty && !self.quiet {
            eprint!("\r\x1b[K");
        }
    }
}

/// Phase 1: register every client, `window` REGISTERs outstanding at a time.
pub(super) fn register(
    fleet: &mut Fleet,
    s: &Settings,
    clocks: &Clocks,
    progress: &mut Progress,
) -> Result<Phase, CliError> {
    let clients = s.clients;
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
            && started - fleet.stats.registered as usize + fleet.stats.refused as usize <= s.window
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
    progress.done();
    Ok(clocks.phase(before, clients as u64, t0.elapsed().as_secs_f64()))
}

/// Phase 2: OPTIONS heartbeats at the highest rate the server answers, `window` outstanding, for
/// `heartbeat_secs` (skipped at 0).
pub(super) fn heartbeat(
    fleet: &mut Fleet,
    s: &Settings,
    clocks: &Clocks,
    progress: &mut Progress,
) -> Result<Phase, CliError> {
    if s.heartbeat_secs <= 0.0 {
        return Ok(Phase::default());
    }
    let before = clocks.read();
    let answered0 = fleet.stats.heartbeats;
    let t0 = Instant::now();
    let mut sent = 0u64;
    let mut next = 0usize;
    while t0.elapsed().as_secs_f64() < s.heartbeat_secs {
        let mut tries = 0;
        while sent - (fleet.stats.heartbeats - answered0) < s.window as u64 && tries < s.clients {
            if fleet.heartbeat(next) {
                sent += 1;
            }
            next = (next + 1) % s.clients;
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
    let phase = clocks.phase(
        before,
        fleet.stats.heartbeats - answered0,
        t0.elapsed().as_secs_f64(),
    );
    // Let the last window come back before the next phase.
    let settle = Instant::now() + Duration::from_secs(5);
    while fleet.stats.heartbeats - answered0 < sent && Instant::now() < settle {
        fleet.turn(10).map_err(io_err)?;
    }
    progress.done();
    Ok(phase)
}

/// Phase 3: submit `messages` control messages and run until every delivery is acknowledged
/// (the server says every message is complete) or the TTL has passed.
pub(super) fn push(
    fleet: &mut Fleet,
    s: &Settings,
    clocks: &Clocks,
    progress: &mut Progress,
    admin: &AdminClient,
) -> Result<PushResult, CliError> {
    let retrans_before = server_metric(admin, "sippush_retransmissions_total")?;
    let target = match &s.target_class {
        Some(c) => format!("class={}", percent_encode(c)),
        None => "all=1".to_string(),
    };
    let payload = make_payload(s.payload_bytes);
    let before = clocks.read();
    let t0 = Instant::now();
    let mut ids = Vec::new();
    let mut expected = 0u64;
    for _ in 0..s.messages {
        let (_, v) = admin
            .request(
                "POST",
                &format!("/v1/messages?{target}&ttl={}", s.ttl),
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
    let deadline = t0 + Duration::from_secs(s.ttl as u64 + 30);
    let mut last_check = Instant::now();
    let totals = loop {
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
            let t = statuses(admin, &ids)?;
            if t.3 {
                break t;
            }
        }
        if Instant::now() > deadline {
            break statuses(admin, &ids)?;
        }
    };
    let secs = fleet
        .last_delivery_secs(t0)
        .unwrap_or_else(|| t0.elapsed().as_secs_f64());
    progress.done();
    let retransmissions =
        server_metric(admin, "sippush_retransmissions_total")?.saturating_sub(retrans_before);
    let (acked, failed, expired, complete) = totals;
    Ok(PushResult {
        phase: clocks.phase(before, acked, secs),
        messages: s.messages,
        deliveries: expected,
        acked,
        failed,
        expired,
        complete,
        retransmissions,
        expected_retransmissions: expected as f64 * s.loss / (1.0 - s.loss),
        dropped: fleet.stats.dropped,
        p50: fleet.latency.quantile(0.5),
        p90: fleet.latency.quantile(0.9),
        p99: fleet.latency.quantile(0.99),
        max: fleet.latency.max(),
    })
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
