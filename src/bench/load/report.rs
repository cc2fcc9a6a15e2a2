//! The results of a run: a table for people, one JSON object for scripts.

use crate::json::JsonWriter;

/// What was measured in one phase.
#[derive(Default, Debug, Clone, Copy)]
pub(super) struct Phase {
    pub count: u64,
    pub secs: f64,
    pub server_cpu_ns: Option<u64>,
    pub load_cpu_ns: Option<u64>,
    /// Datagrams the kernel dropped for want of receive buffer during the phase (system-wide).
    pub kernel_drops: Option<u64>,
}

impl Phase {
    pub fn per_sec(&self) -> f64 {
        if self.secs > 0.0 {
            self.count as f64 / self.secs
        } else {
            0.0
        }
    }
    pub fn server_ns_per_op(&self) -> Option<f64> {
        self.server_cpu_ns
            .filter(|_| self.count > 0)
            .map(|ns| ns as f64 / self.count as f64)
    }
    pub fn load_ns_per_op(&self) -> Option<f64> {
        self.load_cpu_ns
            .filter(|_| self.count > 0)
            .map(|ns| ns as f64 / self.count as f64)
    }
}

/// Totals of the push phase.
#[derive(Default, Debug, Clone)]
pub(super) struct PushResult {
    pub phase: Phase,
    pub messages: u64,
    pub deliveries: u64,
    pub acked: u64,
    pub failed: u64,
    pub expired: u64,
    pub complete: bool,
    pub retransmissions: u64,
    pub expected_retransmissions: f64,
    pub dropped: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}{unit}"))
}

pub(super) fn print_table(
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

pub(super) fn to_json(
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
