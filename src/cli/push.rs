//! `sippush push` and `sippush status`: submit a control message on the admin API and follow
//! its delivery.
//!
//! `push` sends `POST /v1/messages?class=..&client=..&all=1&ttl=..` with the payload as the
//! body and prints the message id; with `--wait` it polls `GET /v1/messages/ID` until the
//! message is complete (every delivery acked, failed or expired), showing a live progress line
//! on stderr when stderr is a terminal, then prints a one-line summary. Exit status: 0 when
//! every target acked, 1 otherwise (or on any error), 2 on a usage error.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use super::{CliError, parse_opts};
use crate::admin::client::{AdminClient, AdminError, percent_encode};
use crate::json::Value;

const PUSH_BRIEF: &str = "usage: sippush push [options] PAYLOAD|-

Submits a control message to the clients of the given classes and/or ids (or all clients) and
prints its id. PAYLOAD is the body; - reads it from stdin.";

const STATUS_BRIEF: &str = "usage: sippush status [options] ID

Prints the delivery status of message ID: acked, pending, failed and expired targets.";

/// How often `--wait` asks for the status.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

fn admin_options(o: &mut getopts::Options) {
    o.optopt(
        "",
        "admin",
        "admin API address (default 127.0.0.1:8080)",
        "HOST:PORT",
    );
    o.optopt(
        "",
        "token-file",
        "send 'Authorization: Bearer <token>' with the token in FILE",
        "FILE",
    );
}

fn client(m: &getopts::Matches) -> Result<AdminClient, CliError> {
    let token = match m.opt_str("token-file") {
        None => None,
        Some(f) => {
            let t = std::fs::read_to_string(&f)
                .map_err(|e| CliError::failed(format!("cannot read --token-file {f}: {e}")))?;
            let t = t.trim().to_string();
            if t.is_empty() || t.bytes().any(|b| b < b' ' || b == 0x7f) {
                return Err(CliError::failed(format!(
                    "--token-file {f} is empty or not one line"
                )));
            }
            Some(t)
        }
    };
    Ok(AdminClient {
        addr: m
            .opt_str("admin")
            .unwrap_or_else(|| "127.0.0.1:8080".into()),
        token,
    })
}

fn failed(e: AdminError) -> CliError {
    CliError::failed(e.to_string())
}

/// The counters of a status document.
struct Progress {
    targets: u64,
    acked: u64,
    pending: u64,
    failed: u64,
    expired: u64,
    complete: bool,
}

impl Progress {
    fn from(v: &Value) -> Result<Progress, AdminError> {
        let n = |k: &'static str| {
            v.get(k)
                .and_then(Value::as_u64)
                .ok_or(AdminError::MissingField(k))
        };
        Ok(Progress {
            targets: n("targets")?,
            acked: n("acked")?,
            pending: n("pending")?,
            failed: n("failed")?,
            expired: n("expired")?,
            complete: v
                .get("complete")
                .and_then(Value::as_bool)
                .ok_or(AdminError::MissingField("complete"))?,
        })
    }

    fn line(&self, id: &str) -> String {
        format!(
            "{id}: {}/{} acked, {} pending, {} failed, {} expired",
            self.acked, self.targets, self.pending, self.failed, self.expired
        )
    }
}

/// `, failed codes: 404 x2, queue_overflow x1` when any.
fn failed_codes(v: &Value) -> String {
    let codes: Vec<String> = v
        .get("failed_codes")
        .and_then(Value::as_object)
        .unwrap_or(&[])
        .iter()
        .map(|(code, n)| format!("{code} x{}", n.as_u64().unwrap_or(0)))
        .collect();
    if codes.is_empty() {
        String::new()
    } else {
        format!(" (failed: {})", codes.join(", "))
    }
}

fn get_status(admin: &AdminClient, id: &str) -> Result<Value, CliError> {
    let target = format!("/v1/messages/{}", percent_encode(id));
    admin
        .request("GET", &target, None)
        .map(|(_, v)| v)
        .map_err(failed)
}

/// Poll until complete; returns the last status document.
fn wait(admin: &AdminClient, id: &str) -> Result<(Value, Progress), CliError> {
    let live = std::io::stderr().is_terminal();
    let started = Instant::now();
    loop {
        let v = get_status(admin, id)?;
        let p = Progress::from(&v).map_err(failed)?;
        if live {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[K{} ({:.1} s)",
                p.line(id),
                started.elapsed().as_secs_f64()
            );
            let _ = err.flush();
        }
        if p.complete {
            if live {
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            }
            return Ok((v, p));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

pub(crate) fn run_push(args: &[String]) -> Result<(), CliError> {
    let mut o = getopts::Options::new();
    admin_options(&mut o);
    o.optmulti(
        "",
        "class",
        "target the clients of class C (repeatable)",
        "C",
    );
    o.optmulti("", "client", "target client ID (repeatable)", "ID");
    o.optflag("", "all", "target every registered client");
    o.optopt("", "ttl", "give up on deliveries after S seconds", "S");
    o.optopt(
        "",
        "content-type",
        "the payload's media type (default text/plain;charset=utf-8)",
        "TYPE",
    );
    o.optflag(
        "",
        "wait",
        "follow the delivery until complete; exit 0 only if all acked",
    );
    let Some(m) = parse_opts(&mut o, args, PUSH_BRIEF)? else {
        return Ok(());
    };
    let payload_arg = match m.free.as_slice() {
        [p] => p.clone(),
        [] => return Err(CliError::usage("missing PAYLOAD (or - for stdin)")),
        [_, extra, ..] => return Err(CliError::usage(format!("unexpected argument '{extra}'"))),
    };
    let mut query = Vec::new();
    for c in m.opt_strs("class") {
        query.push(format!("class={}", percent_encode(&c)));
    }
    for c in m.opt_strs("client") {
        query.push(format!("client={}", percent_encode(&c)));
    }
    if m.opt_present("all") {
        query.push("all=1".into());
    }
    if query.is_empty() {
        return Err(CliError::usage(
            "no targets: use --class C, --client ID or --all",
        ));
    }
    if let Some(ttl) = m.opt_str("ttl") {
        let ttl: u32 = ttl
            .parse()
            .map_err(|_| CliError::usage(format!("invalid value '{ttl}' for --ttl")))?;
        query.push(format!("ttl={ttl}"));
    }
    let payload = if payload_arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::failed(format!("cannot read the payload from stdin: {e}")))?;
        buf
    } else {
        payload_arg.into_bytes()
    };
    let content_type = m
        .opt_str("content-type")
        .unwrap_or_else(|| "text/plain;charset=utf-8".into());
    if content_type.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err(CliError::usage("--content-type must be one line"));
    }
    let admin = client(&m)?;
    let target = format!("/v1/messages?{}", query.join("&"));
    let (_, v) = admin
        .request("POST", &target, Some((&content_type, &payload)))
        .map_err(failed)?;
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| failed(AdminError::MissingField("id")))?
        .to_string();
    println!("{id}");
    if !m.opt_present("wait") {
        return Ok(());
    }
    let (v, p) = wait(&admin, &id)?;
    println!("{}{}", p.line(&id), failed_codes(&v));
    if p.acked == p.targets {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "{} of {} targets did not acknowledge",
            p.targets - p.acked,
            p.targets
        )))
    }
}

pub(crate) fn run_status(args: &[String]) -> Result<(), CliError> {
    let mut o = getopts::Options::new();
    admin_options(&mut o);
    o.optflag(
        "",
        "json",
        "print the status document as the API returns it",
    );
    let Some(m) = parse_opts(&mut o, args, STATUS_BRIEF)? else {
        return Ok(());
    };
    let id = match m.free.as_slice() {
        [id] => id.clone(),
        [] => return Err(CliError::usage("missing message ID")),
        [_, extra, ..] => return Err(CliError::usage(format!("unexpected argument '{extra}'"))),
    };
    let admin = client(&m)?;
    let v = get_status(&admin, &id)?;
    if m.opt_present("json") {
        let mut out = String::new();
        write_json(&mut crate::json::JsonWriter::new(&mut out), &v);
        println!("{out}");
        return Ok(());
    }
    let p = Progress::from(&v).map_err(failed)?;
    let state = if p.complete {
        "complete"
    } else {
        "in progress"
    };
    println!("{}{} ({state})", p.line(&id), failed_codes(&v));
    Ok(())
}

/// Write a parsed value back as JSON.
fn write_json(w: &mut crate::json::JsonWriter<'_, String>, v: &Value) {
    match v {
        Value::Null => {
            w.null();
        }
        Value::Bool(b) => {
            w.bool(*b);
        }
        Value::Number(n) => match Value::Number(*n).as_u64() {
            Some(u) => {
                w.u64(u);
            }
            None => {
                w.f64(*n);
            }
        },
        Value::String(s) => {
            w.string(s);
        }
        Value::Array(items) => {
            w.begin_array();
            for i in items {
                write_json(w, i);
            }
            w.end_array();
        }
        Value::Object(members) => {
            w.begin_object();
            for (k, val) in members {
                w.key(k);
                write_json(w, val);
            }
            w.end_object();
        }
    }
}
