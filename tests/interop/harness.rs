//! The test side of the interop tests: which tools are present, a scratch directory, ports,
//! child processes that die with the test, the sippush server under test and its admin API.
//!
//! Every wait is bounded (`wait_until`, `Guard::wait_timeout`); every child is killed when its
//! guard drops, also when an assertion fails first; every address is on loopback and every port
//! is ephemeral (port 0, or one probed free on 127.0.0.1 and released just before use).

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// True when the tools are installed. When one is missing the test fails under `CI=true` and
/// is skipped (with the reason on stderr) otherwise.
pub fn tools_present(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !in_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but not in PATH: {what} (Debian packages sip-tester, tshark)");
    }
    eprintln!("skipping {test}: not in PATH: {what} (Debian packages sip-tester, tshark)");
    false
}

fn in_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// The repository's `tests/sipp/` directory (scenario files).
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A directory for one test's files (sipp statistics and logs, captures) under Cargo's
/// target tmp dir. Removed when the test passes, kept (and named on stderr) when it fails.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("interop-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the scratch directory");
        Scratch { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "interop: files of the failed test kept in {}",
                self.path.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Poll `cond` every 20 ms until it holds or `limit` passes; true when it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `count` distinct UDP ports that were free on 127.0.0.1 a moment ago; with `pair`, the port
/// two above the first was free too (SIPp binds its media port and that one). The probe
/// sockets are all held until the choice is made, so the ports differ; the caller must retry
/// with new ports if one is taken before it is bound again.
pub fn free_udp_ports(count: usize, pair: bool) -> Vec<u16> {
    for _ in 0..50 {
        let socks: Vec<UdpSocket> = (0..count)
            .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0"))
            .collect();
        let ports: Vec<u16> = socks
            .iter()
            .map(|s| s.local_addr().expect("local address").port())
            .collect();
        if !pair {
            return ports;
        }
        let Some(above) = ports[0].checked_add(2) else {
            continue;
        };
        if !ports.contains(&above) && UdpSocket::bind((Ipv4Addr::LOCALHOST, above)).is_ok() {
            return ports;
        }
    }
    panic!("no free UDP port pair on 127.0.0.1 after 50 tries");
}

/// A child process that is killed (and reaped) when the guard drops.
pub struct Guard {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    group: bool,
}

impl Guard {
    pub fn new(name: &str, child: Child) -> Guard {
        Guard {
            name: name.to_string(),
            child,
            status: None,
            group: false,
        }
    }

    /// A child spawned as the leader of its own process group (`process_group(0)`): dropping
    /// the guard kills the whole group, e.g. tshark's dumpcap, which outlives a killed tshark.
    pub fn group_leader(name: &str, child: Child) -> Guard {
        let mut guard = Guard::new(name, child);
        guard.group = true;
        guard
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("poll a child process");
        }
        self.status
    }

    /// Wait at most `limit` for the process to end.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_until(limit, || self.try_status().is_some());
        self.status
    }

    /// Send a signal by name (`USR1`, `INT`) to this process only.
    pub fn signal(&mut self, sig: &str) {
        let sent = kill(sig, &self.id().to_string());
        assert!(
            sent || self.try_status().is_some(),
            "could not send SIG{sig} to {} ({})",
            self.name,
            self.id()
        );
    }
}

/// `kill -s SIG TARGET` through the shell's builtin (no dependency on procps' kill).
fn kill(sig: &str, target: &str) -> bool {
    Command::new("sh")
        .args(["-c", "kill -s \"$0\" -- \"$1\" 2>/dev/null", sig, target])
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.group {
            // The leader may have exited and left the rest of its group running.
            kill("KILL", &format!("-{}", self.id()));
        }
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The sippush server under test, started from the binary Cargo built.
pub struct Server {
    guard: Guard,
    /// Its SIP (UDP) address.
    pub sip: SocketAddr,
    /// Its admin (HTTP) address.
    pub admin: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Start `sippush serve` on ephemeral loopback ports with `extra` options.
    pub fn start(scratch: &Scratch, extra: &[&str]) -> Server {
        let log = scratch.file("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_sippush"))
            .args(["serve", "--sip", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("create the server log"))
            .spawn()
            .expect("start sippush serve");
        let mut guard = Guard::new("sippush", child);
        let mut addrs = None;
        let up = wait_until(Duration::from_secs(10), || {
            addrs = parse_banner(&fs::read_to_string(&log).unwrap_or_default());
            addrs.is_some() || guard.try_status().is_some()
        });
        let Some((sip, admin)) = addrs.filter(|_| up) else {
            panic!(
                "sippush did not report its addresses (status {:?}):\n{}",
                guard.try_status(),
                fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Server {
            guard,
            sip,
            admin,
            log,
        }
    }

    /// Panics if the server has exited (a crash: it only ends when killed).
    pub fn assert_running(&mut self) {
        if let Some(status) = self.guard.try_status() {
            panic!(
                "sippush exited with {status}:\n{}",
                fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// `GET path`; panics unless the answer is 200.
    pub fn get(&self, path: &str) -> String {
        let (status, body) = http(self.admin, "GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `POST path` with a JSON body; returns the status and the body.
    pub fn post_json(&self, path: &str, json: &str) -> (u16, String) {
        http(self.admin, "POST", path, Some(json))
    }

    /// One counter or gauge of `GET /metrics`.
    pub fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics");
        metric_value(&text, name).unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }

    /// The number of clients in the table (`GET /v1/clients`), optionally of one class.
    pub fn client_total(&self, class: Option<&str>) -> u64 {
        let path = match class {
            Some(c) => format!("/v1/clients?class={c}&limit=0"),
            None => "/v1/clients?limit=0".to_string(),
        };
        json_u64(&self.get(&path), "total")
    }
}

/// `sippush: serving SIP on udp:IP:PORT and the admin API on http://IP:PORT`.
fn parse_banner(log: &str) -> Option<(SocketAddr, SocketAddr)> {
    let line = log
        .lines()
        .find(|l| l.starts_with("sippush: serving SIP on udp:"))?;
    let rest = line.strip_prefix("sippush: serving SIP on udp:")?;
    let (sip, rest) = rest.split_once(' ')?;
    let admin = rest.rsplit_once("http://")?.1.trim();
    Some((sip.parse().ok()?, admin.parse().ok()?))
}

/// One HTTP/1.1 exchange on a new connection, bounded by 10 s.
fn http(addr: SocketAddr, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to the admin API at {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| s.set_write_timeout(Some(Duration::from_secs(10))))
        .expect("set timeouts");
    let body = json.unwrap_or("");
    let content_type = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send an admin request");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_else(|| panic!("bad status line from {method} {path}: {head}"));
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                return (status, body);
            }
        }
        let n = s
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("{method} {path}: reading the answer: {e}"));
        assert!(n > 0, "{method} {path}: connection closed mid-answer");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The raw text of a top-level member of a flat JSON object (`"key":value`).
pub fn json_raw<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":");
    let start = json.find(&pat)? + pat.len();
    let rest = &json[start..];
    if let Some(s) = rest.strip_prefix('"') {
        return s.find('"').map(|end| &s[..end]);
    }
    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

pub fn json_u64(json: &str, key: &str) -> u64 {
    json_raw(json, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number '{key}' in {json}"))
}

pub fn json_str(json: &str, key: &str) -> String {
    json_raw(json, key)
        .unwrap_or_else(|| panic!("no '{key}' in {json}"))
        .to_string()
}

/// The value of an unlabelled sample in Prometheus text.
fn metric_value(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix(name)?.strip_prefix(' ')?;
        v.trim().parse().ok()
    })
}

#[test]
fn banner_json_and_metrics_are_parsed() {
    let log = "[INFO  x] y\nsippush: serving SIP on udp:127.0.0.1:5060 and the admin API on http://127.0.0.1:8080\n";
    let (sip, admin) = parse_banner(log).expect("banner");
    assert_eq!(
        (sip.port(), admin.port()),
        (5060, 8080),
        "ports from the banner"
    );
    let j = r#"{"id":"ab-1","targets":3,"complete":true,"failed_codes":{}}"#;
    assert_eq!(json_str(j, "id"), "ab-1");
    assert_eq!(json_u64(j, "targets"), 3);
    assert_eq!(json_raw(j, "complete"), Some("true"));
    let m = "# HELP sippush_acks_total x\nsippush_acks_total 7\nsippush_acks_total_x 9\n";
    assert_eq!(metric_value(m, "sippush_acks_total"), Some(7));
}
