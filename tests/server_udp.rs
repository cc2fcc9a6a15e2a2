//! The real server loop over UDP and TCP on 127.0.0.1 (ephemeral ports): registrations from
//! several sockets, a push to one class, retransmissions, expiry, garbage.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sippush::json;
use sippush::server::Config;
use sippush::server::shell::{ServerShell, ShellOptions};
use sippush::sip::{self, Header, HeaderName, MAX_HEADERS, ResponseOpts, Writer};

struct Running {
    sip: SocketAddr,
    admin: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(cfg: Config) -> Running {
    let local = "127.0.0.1:0".parse().unwrap();
    let opts = ShellOptions {
        sip: local,
        admin: local,
        ..ShellOptions::default()
    };
    let mut shell = ServerShell::bind(cfg, &opts).expect("bind");
    let (sip, admin) = (shell.sip_addr(), shell.admin_addr().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        shell
            .run(|| flag.load(Ordering::Relaxed))
            .expect("server loop")
    });
    Running {
        sip,
        admin,
        stop,
        thread: Some(thread),
    }
}

/// One HTTP request on a new connection; returns status and JSON body.
fn http(admin: SocketAddr, method: &str, target: &str, body: &str) -> (u16, json::Value) {
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, json::parse(body).unwrap_or(json::Value::Null))
}

fn register_bytes(id: &str, class: &str, local: SocketAddr, expires: u32) -> Vec<u8> {
    format!(
        "REGISTER sip:t SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-r-{id};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{id}@t>;tag=a\r\nTo: <sip:{id}@t>\r\nCall-ID: r-{id}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{id}@{local}>;expires={expires};class=\"{class}\"\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn parse_status(bytes: &[u8]) -> Option<u16> {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    sip::parse(bytes, &mut hs).ok()?.status()
}

/// Receive on every socket until `done` says so or the deadline passes.
fn pump(
    socks: &[UdpSocket],
    deadline: Duration,
    mut on: impl FnMut(usize, SocketAddr, &[u8]) -> bool,
) {
    let end = Instant::now() + deadline;
    let mut buf = vec![0u8; 65536];
    while Instant::now() < end {
        let mut idle = true;
        for (k, s) in socks.iter().enumerate() {
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                idle = false;
                if on(k, from, &buf[..n]) {
                    return;
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    panic!("timed out");
}

fn answer(message: &[u8]) -> Vec<u8> {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = sip::parse(message, &mut hs).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    sip::response_to(
        &mut w,
        &m,
        200,
        b"OK",
        &ResponseOpts {
            source: None,
            to_tag: Some(b"t"),
        },
    );
    w.finish(None, b"");
    out
}

fn message_fields(bytes: &[u8]) -> Option<(String, String)> {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = sip::parse(bytes, &mut hs).ok()?;
    (m.method()? == b"MESSAGE").then_some(())?;
    let push_id = String::from_utf8_lossy(m.header(HeaderName::PushId)?.value).into_owned();
    let user = String::from_utf8_lossy(
        sip::Uri::parse(
            match m.start() {
                sip::StartLine::Request { uri, .. } => uri,
                _ => return None,
            },
            0,
        )
        .ok()?
        .user()?,
    )
    .into_owned();
    Some((push_id, user))
}

const CLIENTS: usize = 3000;
const SOCKETS: usize = 8;
const CLASSES: [&str; 3] = ["red", "green", "blue"];

#[test]
fn thousands_of_clients_one_class_pushed_exactly_once_with_retransmissions() {
    let server = start(Config {
        t1_ms: 40,
        t2_ms: 200,
        ..Config::default()
    });
    let socks: Vec<UdpSocket> = (0..SOCKETS)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    for s in &socks {
        s.set_nonblocking(true).unwrap();
    }
    let class_of = |i: usize| CLASSES[i % 3];
    // Register, a window of requests at a time (UDP has no flow control).
    let mut ok = 0;
    for chunk in (0..CLIENTS).collect::<Vec<_>>().chunks(500) {
        for &i in chunk {
            let s = &socks[i % SOCKETS];
            s.send_to(
                &register_bytes(&format!("c{i}"), class_of(i), s.local_addr().unwrap(), 600),
                server.sip,
            )
            .unwrap();
        }
        let want = ok + chunk.len();
        pump(&socks, Duration::from_secs(10), |_, _, b| {
            if parse_status(b) == Some(200) {
                ok += 1;
            }
            ok == want
        });
    }
    let (code, v) = http(server.admin, "GET", "/v1/clients?class=green&limit=0", "");
    assert_eq!(code, 200);
    assert_eq!(v.get("total").unwrap().as_u64(), Some((CLIENTS / 3) as u64));

    // Push to one class: exactly its members receive it, each once after dedupe by Push-Id.
    for round in 0..2 {
        let drop_first = round == 1;
        let (code, v) = http(server.admin, "POST", "/v1/messages?class=green", "refresh");
        assert_eq!(code, 202, "{v:?}");
        let id = v.get("id").unwrap().as_str().unwrap().to_string();
        let mut seen: HashMap<String, u32> = HashMap::new();
        let members: HashSet<String> = (0..CLIENTS)
            .filter(|&i| class_of(i) == "green")
            .map(|i| format!("c{i}"))
            .collect();
        pump(&socks, Duration::from_secs(30), |k, from, b| {
            let Some((push_id, user)) = message_fields(b) else {
                return false;
            };
            assert_eq!(push_id, id);
            let copies = seen.entry(user).or_default();
            *copies += 1;
            // Round 2: the clients drop the first transmission of every MESSAGE.
            if !(drop_first && *copies == 1) {
                socks[k].send_to(&answer(b), from).unwrap();
            }
            seen.len() == members.len()
                && seen.values().all(|&c| c >= if drop_first { 2 } else { 1 })
        });
        let got: HashSet<String> = seen.keys().cloned().collect();
        assert_eq!(got, members, "exactly the class received the message");
        // The status endpoint says complete, every ack counted.
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, st) = http(server.admin, "GET", &format!("/v1/messages/{id}"), "");
            if st.get("complete").and_then(|c| c.as_bool()) == Some(true) {
                assert_eq!(
                    st.get("acked").unwrap().as_u64(),
                    Some(members.len() as u64),
                    "{st:?}"
                );
                assert_eq!(
                    st.get("targets").unwrap().as_u64(),
                    Some(members.len() as u64)
                );
                break;
            }
            assert!(Instant::now() < end, "message never completed: {st:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let metrics = http_text(server.admin, "/metrics");
    let retrans: u64 = metric(&metrics, "sippush_retransmissions_total");
    assert!(
        retrans >= (CLIENTS / 3) as u64,
        "retransmissions: {retrans}"
    );
    assert_eq!(
        metric(&metrics, "sippush_acks_total"),
        2 * (CLIENTS / 3) as u64
    );
}

fn http_text(admin: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[test]
fn silent_client_expires_and_garbage_does_not_stop_the_server() {
    let server = start(Config {
        min_expires: 1,
        grace_s: 0,
        ..Config::default()
    });
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let local = sock.local_addr().unwrap();
    // Garbage first: dropped, counted, and the next valid request is answered.
    sock.send_to(b"\x00\x01garbage\r\n\r\n", server.sip)
        .unwrap();
    sock.send_to(&vec![b'x'; 60_000], server.sip).unwrap();
    sock.send_to(&register_bytes("quiet", "default", local, 1), server.sip)
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(parse_status(&buf[..n]), Some(200));
    assert_eq!(http(server.admin, "GET", "/v1/clients/quiet", "").0, 200);
    // It sends nothing more: gone within its 1 s expiry (+ rounding to the next second).
    let end = Instant::now() + Duration::from_secs(5);
    while http(server.admin, "GET", "/v1/clients/quiet", "").0 != 404 {
        assert!(Instant::now() < end, "silent client never expired");
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = http_text(server.admin, "/metrics");
    assert_eq!(metric(&metrics, "sippush_expirations_total"), 1);
    assert_eq!(
        metric(&metrics, "sippush_drops_total{reason=\"garbage\"}"),
        2
    );
}
