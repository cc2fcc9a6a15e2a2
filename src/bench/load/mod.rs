//! `sippush bench`: the built-in load generator. It starts a server in this process on a
//! background thread (or uses `--server`/`--admin`), simulates `--clients` clients over
//! `--sockets` UDP sockets, and measures three phases: registration, heartbeats, and pushing
//! control messages until every delivery is acknowledged (optionally with `--loss`).
//!
//! With two or more CPUs the server thread is pinned to CPU 0 and the load generator to CPU 1
//! (`taskset`), so that the server's CPU time per operation can be compared with the kernel's
//! own cost for the same traffic (`shared/tools/udp-ceiling/echo`).
//!
//! Parts: `settings` (options), `phases` (the three phases and what they measure), `report`
//! (table and JSON).

mod phases;
mod report;
mod settings;

use std::net::SocketAddr;
use std::time::Duration;

use super::fleet::Fleet;
use super::stats::{current_tid, pin, rss_bytes, thread_cpu_ns};
use crate::admin::client::AdminClient;
use crate::agent::Profile;
use crate::cli::CliError;
use crate::server::Config;
use crate::server::shell::{ServerShell, ShellOptions};
use phases::{Clocks, Progress};
use settings::Settings;

pub(super) fn run(args: &[String]) -> Result<(), CliError> {
    let Some(s) = settings::parse(args)? else {
        return Ok(());
    };
    let (sip, admin_addr, server_tid) = match &s.external {
        Some((sip, admin)) => (*sip, admin.clone(), None),
        None => start_server(&s)?,
    };
    let load_tid = current_tid();
    if let (Some(t), true) = (load_tid, s.pin) {
        pin(t, 1);
    }
    let clocks = Clocks {
        server_tid,
        load_tid,
    };
    let admin = AdminClient {
        addr: admin_addr,
        token: s.token.clone(),
    };
    let mut progress = Progress::new(s.quiet);
    let profile = Profile {
        expires_s: 3600,
        heartbeat_ms: 0,
        ..Profile::new(sip, sip.ip().to_string())
    };
    let mut fleet = Fleet::new(profile, s.clients, s.sockets, &s.classes, s.loss, s.seed)
        .map_err(|e| CliError::failed(format!("cannot create the clients: {e}")))?;

    // The clients' own state exists before the baseline, so the growth is the server's table.
    let rss_before = rss_bytes();
    let register = phases::register(&mut fleet, &s, &clocks, &mut progress)?;
    let rss_after = rss_bytes();
    let heartbeat = phases::heartbeat(&mut fleet, &s, &clocks, &mut progress)?;
    let push = phases::push(&mut fleet, &s, &clocks, &mut progress, &admin)?;

    let rss_per_client = rss_before
        .zip(rss_after)
        .map(|(b, a)| a.saturating_sub(b) as f64 / s.clients as f64);
    let server_cpu_secs = server_tid.and_then(thread_cpu_ns).map(|ns| ns as f64 / 1e9);
    if s.json {
        println!(
            "{}",
            report::to_json(
                s.clients,
                &register,
                &heartbeat,
                &push,
                rss_per_client,
                server_cpu_secs
            )
        );
    } else {
        report::print_table(
            s.clients,
            &register,
            &heartbeat,
            &push,
            rss_per_client,
            s.pin && server_tid.is_some(),
        );
    }
    if !push.complete || push.acked != push.deliveries {
        return Err(CliError::failed(format!(
            "push did not complete: {}/{} acked, {} failed, {} expired",
            push.acked, push.deliveries, push.failed, push.expired
        )));
    }
    Ok(())
}

/// Start a server on a background thread of this process, bound to loopback ephemeral ports;
/// returns its SIP and admin addresses and its thread id (for its CPU time).
fn start_server(s: &Settings) -> Result<(SocketAddr, String, Option<u32>), CliError> {
    let cfg = Config {
        max_clients: s.clients.max(1) * 2,
        min_expires: 1,
        max_expires: 86_400,
        max_ttl_s: s.ttl,
        default_ttl_s: s.ttl,
        max_inflight: s.max_inflight,
        t1_ms: s.t1_ms,
        t2_ms: Config::default().t2_ms.max(s.t1_ms),
        seed: s.seed,
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
    let pin_it = s.pin;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("sippush-server".into())
        .spawn(move || {
            let tid = current_tid();
            if let (Some(t), true) = (tid, pin_it) {
                pin(t, 0);
            }
            let _ = tx.send(tid);
            if let Err(e) = shell.run(|| false) {
                log::error!("server loop: {e}");
            }
        })
        .map_err(|e| CliError::failed(e.to_string()))?;
    let tid = rx.recv_timeout(Duration::from_secs(5)).ok().flatten();
    Ok((sip, admin.to_string(), tid))
}
