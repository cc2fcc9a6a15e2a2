//! End to end, with real processes on 127.0.0.1 ephemeral ports: `sippush serve`, two
//! `sippush client`s, `sippush push --wait`, SIGTERM deregistration, and the one-line errors
//! of `sippush push`. Every wait is bounded; every child is killed when the test ends, even on
//! failure (the `Children` guard).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sippush");

/// Kills and reaps every child on drop.
#[derive(Default)]
struct Children(Vec<Child>);

impl Children {
    fn add(&mut self, c: Child) -> usize {
        self.0.push(c);
        self.0.len() - 1
    }
    fn get(&mut self, i: usize) -> &mut Child {
        &mut self.0[i]
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Forward the lines of a child's pipe to a channel (the thread ends at EOF).
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running server: its addresses and its stderr lines.
struct Server {
    sip: String,
    admin: String,
}

fn start_server(children: &mut Children, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--sip",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--t1-ms",
            "100",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sippush serve");
    let err = lines(child.stderr.take().unwrap());
    children.add(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = err.recv_timeout(left) else {
            break;
        };
        // sippush: serving SIP on udp:IP:PORT and the admin API on http://IP:PORT
        if let Some(rest) = line.strip_prefix("sippush: serving SIP on udp:") {
            let (sip, admin) = rest.split_once(" and the admin API on http://").unwrap();
            // Keep draining the server's log so that it never blocks on a full pipe.
            std::thread::spawn(move || for _ in err.iter() {});
            return Server {
                sip: sip.to_string(),
                admin: admin.to_string(),
            };
        }
    }
    panic!("the server did not report its addresses");
}

/// A running client: its process index and its stdout lines.
fn start_client(
    children: &mut Children,
    server: &Server,
    id: &str,
    extra: &[&str],
) -> (usize, Receiver<String>) {
    let mut child = Command::new(BIN)
        .args([
            "client",
            "--server",
            &server.sip,
            "--id",
            id,
            "--class",
            "tv",
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sippush client");
    let out = lines(child.stdout.take().unwrap());
    (children.add(child), out)
}

/// `GET path` on the admin API: status and body.
fn get(admin: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(admin).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Poll `GET path` until it answers `want` (bounded).
fn wait_for_status(admin: &str, path: &str, want: u16, within: Duration) {
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        last = get(admin, path);
        if last.as_ref().is_some_and(|(s, _)| *s == want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("GET {path}: wanted {want}, last answer {last:?}");
}

/// Run a `sippush` command to completion, killing it after `within`.
fn run(args: &[&str], within: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sippush");
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sippush {args:?} did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        assert!(Instant::now() < deadline, "the client did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every line a client printed within `within`.
fn collect(out: &Receiver<String>, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut v = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match out.recv_timeout(left) {
            Ok(line) => v.push(line),
            Err(_) => break,
        }
    }
    v
}

fn check_one_delivery(lines: &[String], push_id: &str, body: &str) {
    assert_eq!(lines.len(), 1, "exactly one JSON line: {lines:?}");
    let v = sippush::json::parse(&lines[0]).expect("a JSON line");
    assert_eq!(v.get("push_id").and_then(|x| x.as_str()), Some(push_id));
    assert_eq!(v.get("body").and_then(|x| x.as_str()), Some(body));
    assert_eq!(
        v.get("content_type").and_then(|x| x.as_str()),
        Some("application/json")
    );
    assert!(v.get("received_at").and_then(|x| x.as_u64()).unwrap_or(0) > 1_600_000_000_000);
}

#[test]
fn push_reaches_each_client_once_and_sigterm_deregisters() {
    let mut children = Children::default();
    let server = start_server(&mut children, &[]);
    // e2e-1 loses its first answer: the retransmitted MESSAGE must be answered, not printed.
    let (c1, out1) = start_client(&mut children, &server, "e2e-1", &["--drop-answers", "1"]);
    // e2e-2 never sees the first MESSAGE: the server must retransmit it.
    let (c2, out2) = start_client(&mut children, &server, "e2e-2", &["--drop-first", "1"]);
    let five = Duration::from_secs(5);
    wait_for_status(&server.admin, "/v1/clients/e2e-1", 200, five);
    wait_for_status(&server.admin, "/v1/clients/e2e-2", 200, five);

    let body = "{\"action\":\"reload\",\"note\":\"héllo\"}";
    let out = run(
        &[
            "push",
            "--admin",
            &server.admin,
            "--class",
            "tv",
            "--ttl",
            "20",
            "--content-type",
            "application/json",
            "--wait",
            body,
        ],
        Duration::from_secs(25),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "push --wait: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut printed = stdout.lines();
    let push_id = printed.next().expect("the message id").to_string();
    let summary = printed.next().expect("the summary");
    assert_eq!(
        summary,
        format!("{push_id}: 2/2 acked, 0 pending, 0 failed, 0 expired")
    );

    // Both clients made the server retransmit (one lost MESSAGE, one lost answer).
    let (_, metrics) = get(&server.admin, "/metrics").expect("metrics");
    let retransmissions: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sippush_retransmissions_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the retransmission counter");
    assert!(retransmissions >= 2, "{retransmissions}");

    // Retransmissions were answered before the ack; wait a little for any stray line.
    check_one_delivery(&collect(&out1, Duration::from_millis(800)), &push_id, body);
    check_one_delivery(&collect(&out2, Duration::from_millis(200)), &push_id, body);

    // `status` agrees.
    let st = run(&["status", "--admin", &server.admin, &push_id], five);
    assert!(st.status.success());
    assert_eq!(
        String::from_utf8_lossy(&st.stdout).trim(),
        format!("{push_id}: 2/2 acked, 0 pending, 0 failed, 0 expired (complete)")
    );

    // SIGTERM: the client deregisters and exits 0; the server forgets it at once.
    let pid = children.get(c1).id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_exit(children.get(c1), five);
    assert!(status.success(), "client exit: {status:?}");
    wait_for_status(&server.admin, "/v1/clients/e2e-1", 404, five);
    wait_for_status(&server.admin, "/v1/clients/e2e-2", 200, five);

    // A client that dies without deregistering never acks: --wait ends at the TTL, exit 1.
    children.get(c2).kill().unwrap();
    wait_exit(children.get(c2), five);
    let out = run(
        &[
            "push",
            "--admin",
            &server.admin,
            "--client",
            "e2e-2",
            "--ttl",
            "1",
            "--wait",
            "x",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.lines().next().unwrap_or("");
    assert_eq!(
        stdout.lines().nth(1),
        Some(format!("{id}: 0/1 acked, 0 pending, 0 failed, 1 expired").as_str())
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "sippush: 1 of 1 targets did not acknowledge"
    );
}

fn one_error_line(out: &Output) -> String {
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("sippush: "), "{err}");
    assert!(out.stdout.is_empty());
    err
}

#[test]
fn push_errors_are_one_line_with_a_nonzero_status() {
    let mut children = Children::default();
    // A port that was just free: nobody listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let five = Duration::from_secs(5);
    let err = one_error_line(&run(&["push", "--admin", &closed, "--all", "x"], five));
    assert!(err.contains("cannot connect"), "{err}");

    let dir = std::env::temp_dir();
    let token = dir.join(format!("sippush-e2e-token-{}", std::process::id()));
    let wrong = dir.join(format!("sippush-e2e-wrong-{}", std::process::id()));
    std::fs::write(&token, "s3cret\n").unwrap();
    std::fs::write(&wrong, "guess\n").unwrap();
    let server = start_server(
        &mut children,
        &["--admin-token-file", token.to_str().unwrap()],
    );
    let err = one_error_line(&run(
        &[
            "push",
            "--admin",
            &server.admin,
            "--token-file",
            wrong.to_str().unwrap(),
            "--all",
            "x",
        ],
        five,
    ));
    assert!(err.contains("401"), "{err}");
    // No token at all: 401 too.
    let err = one_error_line(&run(
        &["push", "--admin", &server.admin, "--all", "x"],
        five,
    ));
    assert!(err.contains("401"), "{err}");
    // The right token, but nobody registered: the server's 400 reason.
    let err = one_error_line(&run(
        &[
            "push",
            "--admin",
            &server.admin,
            "--token-file",
            token.to_str().unwrap(),
            "--all",
            "x",
        ],
        five,
    ));
    assert!(
        err.contains("400") && err.contains("no registered client"),
        "{err}"
    );
    let err = one_error_line(&run(
        &[
            "status",
            "--admin",
            &server.admin,
            "--token-file",
            token.to_str().unwrap(),
            "nope-1",
        ],
        five,
    ));
    assert!(err.contains("404"), "{err}");
    // A usage error exits 2.
    let out = run(&["push", "--admin", &server.admin, "x"], five);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_file(token);
    let _ = std::fs::remove_file(wrong);
}
