//! `sippush client`: one agent on one UDP socket, printing each control message it receives
//! as a JSON line (or piping it into a command).
//!
//! Owns the command line, the output format and the signal handling; the protocol is the
//! agent's (`crate::agent`), the loop is its shell (`crate::agent::shell`). SIGINT and SIGTERM
//! are caught with `signal-hook`'s self-pipe (std cannot catch signals): the write end is
//! written from the handler, the read end is a mio source, so the loop deregisters and exits 0.

use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{CliError, opt_value, parse_opts};
use crate::agent::shell::{Application, ClientShell, ShellOptions};
use crate::agent::{Delivery, Profile};
use crate::json::JsonWriter;
use crate::registry::{MAX_CLIENT_CLASSES, MAX_ID_LEN};
use crate::sip::chars::{is_token, is_user};

const BRIEF: &str = "usage: sippush client --server HOST:PORT --id ID [options]

Registers with a sippush server as client ID and prints every control message pushed to it as
one JSON line on stdout: {\"push_id\",\"content_type\",\"body\",\"received_at\"}. With --exec,
runs the command (sh -c) with the body on its stdin instead. SIGINT/SIGTERM deregister and exit.";

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optopt(
        "",
        "server",
        "the server's SIP address (required)",
        "HOST:PORT",
    );
    o.optopt(
        "",
        "id",
        "client id: the user part of the AOR (required)",
        "ID",
    );
    o.optmulti(
        "",
        "class",
        "a class to join (repeatable; none = the server's default)",
        "C",
    );
    o.optopt(
        "",
        "expires",
        "registration interval to ask for, s (default 600)",
        "S",
    );
    o.optopt(
        "",
        "heartbeat",
        "OPTIONS heartbeat interval, s (default 30; 0 = none)",
        "S",
    );
    o.optopt(
        "",
        "bind",
        "local address (default 127.0.0.1:0 for a loopback server, else 0.0.0.0:0)",
        "ADDR",
    );
    o.optopt(
        "",
        "domain",
        "AOR domain (default: the server's HOST)",
        "HOST",
    );
    o.optopt(
        "",
        "exec",
        "run CMD via sh -c with each body on its stdin",
        "CMD",
    );
    o.optopt(
        "",
        "drop-first",
        "debugging: ignore the first N MESSAGEs (forces retransmissions)",
        "N",
    );
    o.optopt(
        "",
        "drop-answers",
        "debugging: drop our answers to the first N MESSAGEs (retransmissions then arrive)",
        "N",
    );
    o.optopt("", "seed", "random seed (default: from the clock)", "N");
    o
}

/// Resolve `HOST:PORT`; returns the address and the host as written (the default domain).
fn resolve(server: &str) -> Result<(SocketAddr, String), CliError> {
    let bad = || CliError::usage(format!("invalid --server '{server}' (expected HOST:PORT)"));
    let (host, _) = server.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() {
        return Err(bad());
    }
    let addr = server
        .to_socket_addrs()
        .map_err(|e| CliError::failed(format!("cannot resolve --server {server}: {e}")))?
        .next()
        .ok_or_else(|| CliError::failed(format!("--server {server} resolves to nothing")))?;
    Ok((addr, host.to_string()))
}

fn default_bind(server: SocketAddr) -> SocketAddr {
    match (server.is_ipv4(), server.ip().is_loopback()) {
        (true, true) => ([127, 0, 0, 1], 0).into(),
        (true, false) => ([0, 0, 0, 0], 0).into(),
        (false, true) => (std::net::Ipv6Addr::LOCALHOST, 0).into(),
        (false, false) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

fn check_names(id: &str, classes: &[String]) -> Result<(), CliError> {
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(is_user) {
        return Err(CliError::usage(format!(
            "invalid --id '{id}': 1..{MAX_ID_LEN} characters allowed in a SIP URI user part"
        )));
    }
    if classes.len() > MAX_CLIENT_CLASSES {
        return Err(CliError::usage(format!(
            "at most {MAX_CLIENT_CLASSES} --class options"
        )));
    }
    for c in classes {
        if c.is_empty() || c.len() > 64 || !c.bytes().all(is_token) {
            return Err(CliError::usage(format!(
                "invalid --class '{c}': 1..64 token characters (letters, digits, -.!%*_+`'~)"
            )));
        }
    }
    Ok(())
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Prints deliveries as JSON lines, or runs `--exec` for each.
struct Output {
    exec: Option<String>,
    children: Vec<Child>,
    line: String,
}

impl Output {
    fn print(&mut self, d: &Delivery<'_>) {
        self.line.clear();
        JsonWriter::new(&mut self.line)
            .begin_object()
            .key("push_id")
            .string_bytes(d.push_id)
            .key("content_type")
            .string_bytes(d.content_type)
            .key("body")
            .string_bytes(d.body)
            .key("received_at")
            .u64(unix_ms())
            .end_object();
        self.line.push('\n');
        let mut out = std::io::stdout().lock();
        if let Err(e) = out
            .write_all(self.line.as_bytes())
            .and_then(|()| out.flush())
        {
            log::warn!("cannot write to stdout: {e}");
        }
    }

    fn spawn(&mut self, cmd: &str, d: &Delivery<'_>) {
        let child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env(
                "SIPPUSH_PUSH_ID",
                String::from_utf8_lossy(d.push_id).as_ref(),
            )
            .env(
                "SIPPUSH_CONTENT_TYPE",
                String::from_utf8_lossy(d.content_type).as_ref(),
            )
            .stdin(Stdio::piped())
            .spawn();
        match child {
            Ok(mut child) => {
                // A body fits a pipe buffer (a MESSAGE is at most 1300 bytes), so this does
                // not block; a command that exits without reading just gets EPIPE.
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(d.body);
                }
                self.children.push(child);
            }
            Err(e) => log::warn!("cannot run --exec command: {e}"),
        }
    }
}

impl Application for Output {
    fn delivery(&mut self, d: &Delivery<'_>) {
        match self.exec.clone() {
            Some(cmd) => self.spawn(&cmd, d),
            None => self.print(d),
        }
    }

    fn tick(&mut self) -> Option<Duration> {
        self.children.retain_mut(|c| match c.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    log::warn!("--exec command exited with {status}");
                }
                false
            }
            Ok(None) => true,
            Err(e) => {
                log::warn!("--exec command: {e}");
                false
            }
        });
        (!self.children.is_empty()).then_some(Duration::from_millis(100))
    }
}

/// The read end of a pipe written to on SIGINT and SIGTERM.
fn signal_pipe() -> Result<mio::net::UnixStream, CliError> {
    let fail = |e: std::io::Error| CliError::failed(format!("cannot set up signal handling: {e}"));
    let (read, write) = std::os::unix::net::UnixStream::pair().map_err(fail)?;
    let write2 = write.try_clone().map_err(fail)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGINT, write).map_err(fail)?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGTERM, write2).map_err(fail)?;
    read.set_nonblocking(true).map_err(fail)?;
    Ok(mio::net::UnixStream::from_std(read))
}

pub(crate) fn run(args: &[String]) -> Result<(), CliError> {
    let mut opts = options();
    let Some(m) = parse_opts(&mut opts, args, BRIEF)? else {
        return Ok(());
    };
    if let Some(extra) = m.free.first() {
        return Err(CliError::usage(format!("unexpected argument '{extra}'")));
    }
    let server = m
        .opt_str("server")
        .ok_or_else(|| CliError::usage("--server HOST:PORT is required"))?;
    let id = m
        .opt_str("id")
        .ok_or_else(|| CliError::usage("--id ID is required"))?;
    let classes = m.opt_strs("class");
    check_names(&id, &classes)?;
    let (server, host) = resolve(&server)?;
    let expires_s: u32 = opt_value(&m, "expires", 600)?;
    let heartbeat_s: u64 = opt_value(&m, "heartbeat", 30)?;
    if expires_s == 0 {
        return Err(CliError::usage("--expires must be at least 1"));
    }
    let bind = match m.opt_str("bind") {
        None => default_bind(server),
        Some(b) => b
            .parse()
            .map_err(|_| CliError::usage(format!("invalid --bind '{b}' (expected IP:PORT)")))?,
    };
    let profile = Profile {
        expires_s,
        heartbeat_ms: heartbeat_s.saturating_mul(1000),
        ..Profile::new(server, m.opt_str("domain").unwrap_or(host))
    };
    let shell_opts = ShellOptions {
        drop_first: opt_value(&m, "drop-first", 0)?,
        drop_answers: opt_value(&m, "drop-answers", 0)?,
        ..ShellOptions::default()
    };
    let seed = opt_value(&m, "seed", unix_ms() ^ (std::process::id() as u64) << 32)?;
    let class_refs: Vec<&str> = classes.iter().map(String::as_str).collect();
    let stop = signal_pipe()?;
    let mut shell = ClientShell::bind(profile, &id, &class_refs, bind, seed, shell_opts)
        .map_err(|e| CliError::failed(format!("cannot bind {bind}: {e}")))?;
    let mut output = Output {
        exec: m.opt_str("exec"),
        children: Vec::new(),
        line: String::with_capacity(2048),
    };
    shell
        .run(Some(stop), &mut output)
        .map_err(|e| CliError::failed(format!("client stopped: {e}")))
}
