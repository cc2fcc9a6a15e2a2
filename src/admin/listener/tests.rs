//! Integration tests: a real `mio::Poll` loop on `127.0.0.1:0` in a thread, driven by
//! `std::net::TcpStream` clients. Every loop is bounded in iterations and wall-clock time.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream as StdStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

use super::*;
use crate::json::JsonWriter;

/// Longest a server thread runs, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(20);
/// Longest a client waits for any single read.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

struct Server {
    addr: SocketAddr,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Size of the `/big` response, larger than socket buffers and the output high-water mark.
const BIG: usize = 300_000;

/// Echoes method, path, query and body as JSON; `/big` answers `BIG` bytes of text.
fn echo(req: &Request<'_>, _now: u64) -> Response {
    if req.path() == "/big" {
        return Response::text(200, vec![b'x'; BIG]);
    }
    let mut body = String::new();
    let mut w = JsonWriter::new(&mut body);
    w.begin_object();
    w.key("method").string(req.method());
    w.key("path").string(req.path());
    w.key("query").string(req.query());
    w.key("body").string_bytes(req.body());
    w.end_object();
    Response::json(200, body)
}

fn spawn_server(config: ListenerConfig) -> Server {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let thread = thread::spawn(move || {
        let mut poll = Poll::new().expect("poll");
        let mut events = Events::with_capacity(64);
        let addr = "127.0.0.1:0".parse().expect("addr");
        let mut admin = AdminListener::bind(addr, poll.registry(), 100, config).expect("bind");
        addr_tx
            .send(admin.local_addr().expect("local addr"))
            .expect("send addr");
        let start = Instant::now();
        let clock = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut handler = echo;
        for _ in 0..1_000_000 {
            if start.elapsed() > SERVER_LIFETIME
                || !matches!(stop_rx.try_recv(), Err(mpsc::TryRecvError::Empty))
            {
                break;
            }
            let now = clock();
            let wait = admin
                .next_deadline()
                .map_or(20, |d| d.saturating_sub(now))
                .min(20);
            poll.poll(&mut events, Some(Duration::from_millis(wait)))
                .expect("poll");
            let now = clock();
            for event in events.iter() {
                assert!(admin.owns(event.token()));
                admin.handle_event(poll.registry(), event, now, &mut handler);
            }
            admin.handle_timeout(poll.registry(), now, &mut handler);
        }
    });
    let addr = addr_rx.recv_timeout(CLIENT_TIMEOUT).expect("server start");
    Server {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// A blocking client that can read several responses from one connection.
struct Client {
    stream: StdStream,
    buf: Vec<u8>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = StdStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(CLIENT_TIMEOUT))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads more input; false on EOF or reset.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Reads one complete response (Content-Length framed), leaving later bytes buffered.
    fn reply(&mut self) -> Reply {
        for _ in 0..10_000 {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            if let Ok(httparse::Status::Complete(head_len)) = resp.parse(&self.buf) {
                let status = resp.code.expect("status");
                let headers: Vec<(String, String)> = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().expect("content-length"));
                if self.buf.len() >= head_len + len {
                    let body = self.buf[head_len..head_len + len].to_vec();
                    self.buf.drain(..head_len + len);
                    return Reply {
                        status,
                        headers,
                        body,
                    };
                }
            }
            assert!(self.fill(), "connection closed mid-response");
        }
        panic!("no complete response");
    }

    /// True if the server closes the connection (EOF or reset) within the read timeout.
    fn closed(&mut self) -> bool {
        for _ in 0..1000 {
            if !self.fill() {
                return true;
            }
        }
        false
    }
}

fn body_json(reply: &Reply) -> crate::json::Value {
    crate::json::parse(std::str::from_utf8(&reply.body).expect("utf8")).expect("json")
}

#[test]
fn two_keep_alive_requests_on_one_connection() {
    let server = spawn_server(ListenerConfig::default());
    let mut c = Client::connect(server.addr);
    c.send(b"GET /v1/status?verbose=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.reply();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), None);
    let v = body_json(&r);
    assert_eq!(v.get("path").and_then(|p| p.as_str()), Some("/v1/status"));
    assert_eq!(v.get("query").and_then(|p| p.as_str()), Some("verbose=1"));

    c.send(b"POST /v1/push HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    let r = c.reply();
    assert_eq!(r.status, 200);
    let v = body_json(&r);
    assert_eq!(v.get("method").and_then(|p| p.as_str()), Some("POST"));
    assert_eq!(v.get("body").and_then(|p| p.as_str()), Some("hello"));

    // Pipelined: both answered, in order, from one write.
    c.send(
        b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        body_json(&c.reply()).get("path").and_then(|p| p.as_str()),
        Some("/a")
    );
    let last = c.reply();
    assert_eq!(
        body_json(&last).get("path").and_then(|p| p.as_str()),
        Some("/b")
    );
    assert_eq!(last.header("connection"), Some("close"));
    assert!(c.closed());
}

#[test]
fn request_split_into_single_byte_writes() {
    let server = spawn_server(ListenerConfig::default());
    let mut c = Client::connect(server.addr);
    let req = b"POST /one/byte?x=%41 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
                3\r\nabc\r\n0\r\n\r\n";
    for b in req {
        c.send(std::slice::from_ref(b));
    }
    let r = c.reply();
    assert_eq!(r.status, 200);
    let v = body_json(&r);
    assert_eq!(v.get("path").and_then(|p| p.as_str()), Some("/one/byte"));
    assert_eq!(v.get("body").and_then(|p| p.as_str()), Some("abc"));
}

#[test]
fn expect_continue_over_the_wire() {
    let server = spawn_server(ListenerConfig::default());
    let mut c = Client::connect(server.addr);
    c.send(b"PUT /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    assert_eq!(c.reply().status, 100);
    c.send(b"ok");
    let r = c.reply();
    assert_eq!(r.status, 200);
    assert_eq!(
        body_json(&r).get("body").and_then(|p| p.as_str()),
        Some("ok")
    );
}

#[test]
fn bad_request_gets_error_then_close() {
    let server = spawn_server(ListenerConfig::default());
    let mut c = Client::connect(server.addr);
    c.send(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n");
    let r = c.reply();
    assert_eq!(r.status, 505);
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(
        body_json(&r).get("error").and_then(|e| e.as_str()),
        Some("http version not supported")
    );
    assert!(c.closed());
}

#[test]
fn silent_and_slow_clients_are_closed_after_idle_timeout() {
    let config = ListenerConfig {
        idle_timeout_ms: 200,
        ..ListenerConfig::default()
    };
    let server = spawn_server(config);

    let started = Instant::now();
    let mut silent = Client::connect(server.addr);
    assert!(silent.closed());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "closed after {waited:?}"
    );

    // Slowloris: a header line every 40 ms never completes a request, so it is not progress.
    let mut slow = Client::connect(server.addr);
    slow.stream
        .set_read_timeout(Some(Duration::from_millis(40)))
        .expect("timeout");
    slow.send(b"GET / HTTP/1.1\r\n");
    let started = Instant::now();
    let mut closed = false;
    for i in 0..100 {
        if slow
            .stream
            .write_all(format!("X-{i}: y\r\n").as_bytes())
            .is_err()
        {
            closed = true;
            break;
        }
        let mut b = [0u8; 64];
        match slow.stream.read(&mut b) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => panic!("unexpected response"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(
        closed,
        "slow client still open after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // A keep-alive connection that goes quiet after a response is closed too.
    let mut quiet = Client::connect(server.addr);
    quiet.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(quiet.reply().status, 200);
    assert!(quiet.closed());
}

#[test]
fn connection_limit_answers_503() {
    let config = ListenerConfig {
        max_connections: 2,
        ..ListenerConfig::default()
    };
    let server = spawn_server(config);
    let mut first = Client::connect(server.addr);
    let mut second = Client::connect(server.addr);
    for c in [&mut first, &mut second] {
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.reply().status, 200);
    }
    let mut third = Client::connect(server.addr);
    let r = third.reply();
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(third.closed());

    // Once a slot frees up, new connections are served again.
    drop(first);
    let mut served = false;
    for _ in 0..100 {
        let mut c = Client::connect(server.addr);
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        if c.reply().status == 200 {
            served = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(served);
    // The surviving connection still works.
    second.send(b"GET /still HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(second.reply().status, 200);
}

#[test]
fn many_pipelined_requests_exceed_one_turn_and_all_get_answers() {
    let server = spawn_server(ListenerConfig::default());
    let mut c = Client::connect(server.addr);
    let count = 3 * REQUEST_BUDGET + 5;
    let mut batch = Vec::new();
    for i in 0..count {
        batch.extend_from_slice(format!("GET /r{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    }
    c.send(&batch);
    for i in 0..count {
        let r = c.reply();
        let path = format!("/r{i}");
        assert_eq!(
            body_json(&r).get("path").and_then(|p| p.as_str()),
            Some(path.as_str())
        );
    }
}

#[test]
fn slow_reader_of_large_pipelined_responses_gets_them_all() {
    let server = spawn_server(ListenerConfig::default());
    let mut c = Client::connect(server.addr);
    let count = 8;
    let mut batch = Vec::new();
    for _ in 0..count {
        batch.extend_from_slice(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    c.send(&batch);
    // Let the server fill the socket and pause before anything is read.
    thread::sleep(Duration::from_millis(200));
    for _ in 0..count {
        let r = c.reply();
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), BIG);
    }
    c.send(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.reply().status, 200);
}
