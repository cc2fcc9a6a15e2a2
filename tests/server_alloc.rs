//! Steady state is allocation-free: after warm-up, a REGISTER refresh, an OPTIONS heartbeat, a
//! MESSAGE send, a retransmission and an ack cause zero heap allocations in the server core.
//! A counting global allocator (test-only `unsafe`) counts allocations made on this thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use sippush::admin::http::{HttpConn, Limits};
use sippush::server::{Config, Server};
use sippush::sip::{self, Header, MAX_HEADERS, ResponseOpts, Writer};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                COUNT.with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                COUNT.with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(|n| n.get())
}

fn register(id: &str, src: SocketAddr, cseq: u32) -> Vec<u8> {
    format!(
        "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP {src};branch=z9hG4bK-{id}-{cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{id}@x>;tag=a\r\nTo: <sip:{id}@x>\r\nCall-ID: {id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{id}@{src}>;expires=600;class=\"tv\"\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn options(id: &str, src: SocketAddr, n: u32) -> Vec<u8> {
    format!(
        "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP {src};branch=z9hG4bK-o{n};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{id}@x>;tag=a\r\nTo: <sip:x>\r\nCall-ID: o{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn ok_for(message: &[u8], out: &mut Vec<u8>) {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = sip::parse(message, &mut hs).unwrap();
    let mut w = Writer::new(out);
    sip::response_to(
        &mut w,
        &m,
        200,
        b"OK",
        &ResponseOpts {
            source: None,
            to_tag: Some(b"c"),
        },
    );
    w.finish(None, b"");
}

fn submit(s: &mut Server, now: u64) {
    let raw = b"POST /v1/messages?class=tv HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nreload";
    let mut conn = HttpConn::new(Limits::default());
    conn.receive(raw);
    let req = conn.poll_request().unwrap().unwrap();
    assert_eq!(s.handle_admin(now, &req).status, 202);
}

/// Drain everything the server has to send; returns how many were MESSAGE requests.
fn drain(s: &mut Server, buf: &mut Vec<u8>, last_message: &mut Vec<u8>) -> usize {
    let mut messages = 0;
    while s.poll_transmit(buf).is_some() {
        if buf.starts_with(b"MESSAGE ") {
            messages += 1;
            last_message.clear();
            last_message.extend_from_slice(buf);
        }
    }
    messages
}

#[test]
fn steady_state_is_allocation_free() {
    let src: SocketAddr = "10.0.0.1:5070".parse().unwrap();
    let mut s = Server::new(
        Config {
            sip_addr: "10.0.0.99:5060".parse().unwrap(),
            ..Config::default()
        },
        0,
    );
    let mut buf = Vec::with_capacity(4096);
    let mut ack = Vec::with_capacity(4096);
    let mut msg = Vec::with_capacity(4096);
    let mut now = 0;
    s.handle_datagram(now, src, &register("a", src, 1));
    drain(&mut s, &mut buf, &mut msg);
    // Warm-up: every structure grows to its working size once.
    for round in 0..3u32 {
        now += 1000;
        submit(&mut s, now);
        assert_eq!(drain(&mut s, &mut buf, &mut msg), 1);
        now += 500;
        s.handle_timeout(now);
        assert_eq!(drain(&mut s, &mut buf, &mut msg), 1, "a retransmission");
        ok_for(&msg, &mut ack);
        s.handle_datagram(now, src, &ack);
        s.handle_datagram(now, src, &register("a", src, 2 + round));
        s.handle_datagram(now, src, &options("a", src, 100 + round));
        drain(&mut s, &mut buf, &mut msg);
    }
    // Measured, outside the admin path: a refresh, a heartbeat, a MESSAGE's first transmission,
    // its retransmission, and the ack.
    now += 1000;
    submit(&mut s, now);
    let refresh = register("a", src, 50);
    let heartbeat = options("a", src, 999);
    let mut sent = 0;
    let n = allocations(|| {
        s.handle_datagram(now, src, &refresh);
        s.handle_datagram(now, src, &heartbeat);
        sent += drain(&mut s, &mut buf, &mut msg);
        now += 500;
        s.handle_timeout(now);
        sent += drain(&mut s, &mut buf, &mut msg);
        ok_for(&msg, &mut ack);
        s.handle_datagram(now, src, &ack);
        drain(&mut s, &mut buf, &mut msg);
    });
    assert_eq!(sent, 2, "the MESSAGE and its retransmission were sent");
    assert_eq!(s.metrics.acks, 4);
    assert_eq!(s.metrics.refreshes, 4);
    assert_eq!(s.metrics.heartbeats_options, 4);
    assert_eq!(n, 0, "steady state allocated");
}
