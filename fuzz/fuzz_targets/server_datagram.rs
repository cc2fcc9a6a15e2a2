//! `server::Server`: never panics on datagrams, and every datagram it sends is a CRLF pong or
//! a SIP message that `parse_raw`s and frames to its own length.
//!
//! The input is first one datagram on its own. Then it is split on 0xff into a sequence: the
//! first piece is a datagram from source 0 at t=0; every later piece starts with a control
//! byte `c` — time moves on by `(c >> 2) * 250` ms, then `c & 3` picks source 0, 1 or 2, or
//! (3) an admin `POST /v1/messages?all=1` with the rest of the piece as the payload, so that
//! registrations, pushes and the clients' answers to them all happen in one run.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use sippush::admin::http::{HttpConn, Limits};
use sippush::server::{Config, Server};
use sippush::sip::{self, Frame, Header, MAX_HEADERS};

const SEP: u8 = 0xff;

fuzz_target!(|data: &[u8]| {
    let src = [
        SocketAddr::from(([198, 51, 100, 7], 5060)),
        SocketAddr::from(([203, 0, 113, 9], 40000)),
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7], 5062)),
    ];
    let mut buf = Vec::new();
    let mut srv = Server::new(Config::default(), 0);
    srv.handle_datagram(0, src[0], data);
    drain(&mut srv, &mut buf);
    srv.handle_timeout(40_000);
    drain(&mut srv, &mut buf);

    let mut srv = Server::new(Config::default(), 0);
    let mut now = 0;
    for (i, piece) in data.split(|&b| b == SEP).enumerate() {
        let (ctrl, bytes) = match piece.split_first() {
            Some((&c, rest)) if i > 0 => (c, rest),
            _ => (0, piece),
        };
        now += u64::from(ctrl >> 2) * 250;
        srv.handle_timeout(now);
        drain(&mut srv, &mut buf);
        match src.get(usize::from(ctrl & 3)) {
            Some(&from) => srv.handle_datagram(now, from, bytes),
            None => admin(&mut srv, now, "POST /v1/messages?all=1", bytes),
        }
        drain(&mut srv, &mut buf);
    }
    for later in [now + 40_000, now + 4_000_000] {
        srv.handle_timeout(later);
        drain(&mut srv, &mut buf);
    }
    admin(&mut srv, now, "GET /v1/clients", b"");
});

/// Send every pending datagram through the framing checks.
fn drain(srv: &mut Server, buf: &mut Vec<u8>) {
    while srv.poll_transmit(buf).is_some() {
        if buf.len() >= 2 && buf.iter().all(|&b| b == b'\r' || b == b'\n') {
            continue; // keep-alive pong
        }
        let mut headers = [Header::EMPTY; MAX_HEADERS];
        if let Err(e) = sip::parse_raw(buf, &mut headers) {
            panic!(
                "sent datagram does not parse_raw: {e:?}\n{}",
                String::from_utf8_lossy(buf)
            );
        }
        assert_eq!(
            sip::frame(buf),
            Ok(Frame::Message(buf.len())),
            "sent datagram frames"
        );
    }
}

/// One admin request with `body`; a JSON answer must parse.
fn admin(srv: &mut Server, now: u64, request_line: &str, body: &[u8]) {
    let mut conn = HttpConn::new(Limits::default());
    let head = format!(
        "{request_line} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.receive(head.as_bytes());
    conn.receive(body);
    if let Ok(Some(req)) = conn.poll_request() {
        let resp = srv.handle_admin(now, &req);
        if resp.content_type == sippush::admin::http::JSON {
            let text = std::str::from_utf8(&resp.body).expect("JSON body is UTF-8");
            assert!(
                sippush::json::parse(text).is_ok(),
                "JSON body parses: {text}"
            );
        }
    }
}
