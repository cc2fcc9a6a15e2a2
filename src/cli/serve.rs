//! `sippush serve`: run the push server (the shell around the server core).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{CliError, opt_value, parse_opts};
use crate::server::shell::{ServerShell, ShellOptions};
use crate::server::{Config, Route};

const BRIEF: &str = "usage: sippush serve [options]

Registers SIP clients over UDP and pushes control messages submitted on the admin HTTP API,
retransmitting until each client acknowledges. See README.md for the SIP profile and the API.";

/// The options of `serve` (also used by `bench` for its in-process server).
pub(crate) fn server_options(opts: &mut getopts::Options) {
    opts.optopt(
        "",
        "sip",
        "SIP UDP address to listen on (default 127.0.0.1:5060)",
        "ADDR",
    );
    opts.optopt(
        "",
        "admin",
        "admin HTTP address (default 127.0.0.1:8080)",
        "ADDR",
    );
    opts.optopt(
        "",
        "domain",
        "domain of client AORs in pushed MESSAGEs (default: the SIP address)",
        "HOST",
    );
    opts.optopt(
        "",
        "route",
        "where pushes go: auto (NAT-aware), source or contact (default auto)",
        "RULE",
    );
    opts.optopt(
        "",
        "min-expires",
        "shortest registration accepted, s (default 60; 423 below)",
        "S",
    );
    opts.optopt(
        "",
        "max-expires",
        "longest registration granted, s (default 3600)",
        "S",
    );
    opts.optopt(
        "",
        "default-expires",
        "registration granted when none is asked, s (default 3600)",
        "S",
    );
    opts.optopt(
        "",
        "expires-jitter",
        "shorten granted registrations by up to PCT% at random (default 0)",
        "PCT",
    );
    opts.optopt(
        "",
        "grace",
        "silence tolerated after a registration expires, s (default 30)",
        "S",
    );
    opts.optopt(
        "",
        "max-clients",
        "most registered clients (default 2000000; 503 beyond)",
        "N",
    );
    opts.optopt(
        "",
        "max-inflight",
        "most MESSAGE transactions outstanding (default 2048)",
        "N",
    );
    opts.optopt(
        "",
        "max-queue",
        "most deliveries queued per client (default 64)",
        "N",
    );
    opts.optopt("", "ttl", "default message TTL, s (default 300)", "S");
    opts.optopt(
        "",
        "max-ttl",
        "largest TTL accepted, s (default 86400)",
        "S",
    );
    opts.optopt(
        "",
        "retention",
        "how long finished messages stay queryable, s (default 3600)",
        "S",
    );
    opts.optopt("", "t1-ms", "RFC 3261 T1, ms (default 500)", "MS");
    opts.optopt("", "t2-ms", "RFC 3261 T2, ms (default 4000)", "MS");
    opts.optopt(
        "",
        "admin-token-file",
        "require 'Authorization: Bearer <token>' with the token in FILE",
        "FILE",
    );
    opts.optopt(
        "",
        "socket-buffer",
        "SIP socket SO_RCVBUF/SO_SNDBUF request, bytes (default 8388608)",
        "BYTES",
    );
    opts.optopt(
        "",
        "admin-max-connections",
        "most admin connections (default 64)",
        "N",
    );
    opts.optopt(
        "",
        "admin-idle",
        "admin connection idle timeout, s (default 30)",
        "S",
    );
    opts.optopt("", "seed", "random seed (default: from the clock)", "N");
}

fn addr(m: &getopts::Matches, name: &str, default: &str) -> Result<SocketAddr, CliError> {
    let s = m.opt_str(name).unwrap_or_else(|| default.to_string());
    s.parse().map_err(|_| {
        CliError::usage(format!(
            "invalid address '{s}' for --{name} (expected IP:PORT)"
        ))
    })
}

/// Build the server settings and sockets from parsed options.
pub(crate) fn server_config(
    m: &getopts::Matches,
    sip_default: &str,
    admin_default: &str,
) -> Result<(Config, ShellOptions), CliError> {
    let d = Config::default();
    let route = match m.opt_str("route") {
        None => Route::Auto,
        Some(r) => r.parse().map_err(|_| {
            CliError::usage(format!("invalid --route '{r}' (auto, source or contact)"))
        })?,
    };
    let admin_token = match m.opt_str("admin-token-file") {
        None => None,
        Some(f) => {
            let t = std::fs::read_to_string(&f).map_err(|e| {
                CliError::failed(format!("cannot read --admin-token-file {f}: {e}"))
            })?;
            let t = t.trim().to_string();
            if t.is_empty() {
                return Err(CliError::failed(format!("--admin-token-file {f} is empty")));
            }
            Some(t)
        }
    };
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let cfg = Config {
        sip_addr: addr(m, "sip", sip_default)?,
        domain: m.opt_str("domain").unwrap_or_default(),
        t1_ms: opt_value(m, "t1-ms", d.t1_ms)?,
        t2_ms: opt_value(m, "t2-ms", d.t2_ms)?,
        min_expires: opt_value(m, "min-expires", d.min_expires)?,
        max_expires: opt_value(m, "max-expires", d.max_expires)?,
        default_expires: opt_value(m, "default-expires", d.default_expires)?,
        expires_jitter_pct: opt_value(m, "expires-jitter", d.expires_jitter_pct)?,
        grace_s: opt_value(m, "grace", d.grace_s)?,
        max_clients: opt_value(m, "max-clients", d.max_clients)?,
        route,
        max_inflight: opt_value(m, "max-inflight", d.max_inflight)?,
        max_queue: opt_value(m, "max-queue", d.max_queue)?,
        default_ttl_s: opt_value(m, "ttl", d.default_ttl_s)?,
        max_ttl_s: opt_value(m, "max-ttl", d.max_ttl_s)?,
        retention_s: opt_value(m, "retention", d.retention_s)?,
        max_message_bytes: d.max_message_bytes,
        admin_token,
        epoch_ms,
        seed: opt_value(m, "seed", epoch_ms ^ (std::process::id() as u64) << 32)?,
    };
    if cfg.t1_ms == 0 || cfg.t2_ms < cfg.t1_ms {
        return Err(CliError::usage(
            "--t1-ms must be > 0 and --t2-ms >= --t1-ms",
        ));
    }
    if cfg.min_expires > cfg.max_expires
        || cfg.max_inflight == 0
        || cfg.max_queue == 0
        || cfg.default_ttl_s == 0
        || cfg.default_ttl_s > cfg.max_ttl_s
    {
        return Err(CliError::usage(
            "inconsistent limits: need min-expires <= max-expires, max-inflight > 0, max-queue > 0, 0 < ttl <= max-ttl",
        ));
    }
    let mut shell = ShellOptions {
        sip: cfg.sip_addr,
        admin: addr(m, "admin", admin_default)?,
        ..ShellOptions::default()
    };
    shell.socket_buffer = opt_value(m, "socket-buffer", shell.socket_buffer)?;
    shell.admin_limits.max_connections = opt_value(
        m,
        "admin-max-connections",
        shell.admin_limits.max_connections,
    )?;
    shell.admin_limits.idle_timeout_ms =
        opt_value(m, "admin-idle", shell.admin_limits.idle_timeout_ms / 1000)? * 1000;
    Ok((cfg, shell))
}

pub(crate) fn run(args: &[String]) -> Result<(), CliError> {
    let mut opts = getopts::Options::new();
    server_options(&mut opts);
    let Some(m) = parse_opts(&mut opts, args, BRIEF)? else {
        return Ok(());
    };
    if !m.free.is_empty() {
        return Err(CliError::usage(format!(
            "unexpected argument '{}'",
            m.free[0]
        )));
    }
    let (cfg, shell_opts) = server_config(&m, "127.0.0.1:5060", "127.0.0.1:8080")?;
    let mut shell = ServerShell::bind(cfg, &shell_opts)
        .map_err(|e| CliError::failed(format!("cannot bind: {e}")))?;
    eprintln!(
        "sippush: serving SIP on udp:{} and the admin API on http://{}",
        shell.sip_addr(),
        shell.admin_addr().map_or("?".into(), |a| a.to_string())
    );
    shell
        .run(|| false)
        .map_err(|e| CliError::failed(format!("server stopped: {e}")))
}
