//! The agent allocates nothing per datagram in steady state: MESSAGE in → 200 OK out,
//! heartbeats and their answers, registration refreshes and their answers. A counting global
//! allocator (per thread, so other tests running in parallel do not disturb the count) checks
//! it over hours of virtual time, after one warm-up cycle that grows the reused buffers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use sippush::agent::{Agent, Event, Profile};
use sippush::sip::{self, Header, MAX_HEADERS, ResponseOpts, Writer};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator may run while the thread's locals are being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local Cell that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const SRV: &str = "192.0.2.1:5060";
const LOCAL: &str = "198.51.100.7:5062";

/// The server side of the exchange, writing into reused buffers only.
struct FakeServer {
    answer: Vec<u8>,
    message: Vec<u8>,
    seq: u64,
    answered: [u64; 3],
}

impl FakeServer {
    /// Answer the agent's REGISTER (granting 120 s) or OPTIONS; returns false for anything else.
    fn answer(&mut self, request: &[u8]) -> bool {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let Ok(m) = sip::parse(request, &mut hs) else {
            return false;
        };
        let mut w = Writer::new(&mut self.answer);
        let opts = ResponseOpts {
            source: Some(LOCAL.parse().unwrap()),
            to_tag: Some(b"srv"),
        };
        match m.method() {
            Some(b"REGISTER") => {
                sip::response_to(&mut w, &m, 200, b"OK", &opts);
                w.header("Contact", b"<sip:x@198.51.100.7:5062>;expires=120");
                self.answered[0] += 1;
            }
            Some(b"OPTIONS") => {
                sip::response_to(&mut w, &m, 200, b"OK", &opts);
                self.answered[1] += 1;
            }
            _ => return false,
        }
        w.finish(None, b"");
        true
    }

    /// The next MESSAGE, with a new Push-Id.
    fn next_message(&mut self) -> &[u8] {
        self.seq += 1;
        let mut w = Writer::new(&mut self.message);
        w.request_line(b"MESSAGE", b"sip:tv-7@198.51.100.7:5062");
        w.begin("Via")
            .push(b"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-sp-")
            .push_u64(self.seq)
            .push(b";rport")
            .end();
        w.header("Max-Forwards", b"70");
        w.header("From", b"<sip:sippush@192.0.2.1:5060>;tag=sp");
        w.header("To", b"<sip:tv-7@push.example.net>");
        w.begin("Call-ID").push(b"sp-").push_u64(self.seq).end();
        w.header("CSeq", b"1 MESSAGE");
        w.begin("Push-Id").push(b"b00t-").push_u64(self.seq).end();
        w.finish(Some(b"application/json"), b"{\"action\":\"reload\"}");
        &self.message
    }
}

fn profile() -> Profile {
    Profile {
        heartbeat_ms: 7_000,
        jitter_pct: 10,
        ..Profile::new(SRV.parse().unwrap(), "push.example.net")
    }
}

/// Run `cycles` rounds of: every timer due, the agent's requests answered, one MESSAGE in and
/// its answer out. Returns (MESSAGEs delivered, 200 OKs sent).
fn cycles(
    a: &mut Agent,
    p: &Profile,
    srv: &mut FakeServer,
    buf: &mut Vec<u8>,
    now: &mut u64,
    n: usize,
    shared_answer: bool,
) -> (u64, u64) {
    let src: SocketAddr = SRV.parse().unwrap();
    let (mut delivered, mut oks) = (0, 0);
    for _ in 0..n {
        *now += 1_000;
        a.handle_timeout(p, *now);
        while let Some(dest) = a.poll_transmit(p, buf) {
            assert_eq!(dest, src);
            if srv.answer(buf) {
                let answer = std::mem::take(&mut srv.answer);
                let _ = a.handle_datagram(p, *now + 5, src, &answer);
                srv.answer = answer;
            }
        }
        while a.poll_event().is_some() {}
        srv.next_message();
        let message = std::mem::take(&mut srv.message);
        if shared_answer {
            let (d, dest) = a.handle_datagram_with(p, *now + 10, src, &message, buf);
            delivered += d.is_some() as u64;
            if dest == Some(src) && buf.starts_with(b"SIP/2.0 200 OK") {
                oks += 1;
            }
        } else {
            delivered += a.handle_datagram(p, *now + 10, src, &message).is_some() as u64;
            while let Some(dest) = a.poll_transmit(p, buf) {
                if dest == src && buf.starts_with(b"SIP/2.0 200 OK") {
                    oks += 1;
                }
            }
        }
        srv.message = message;
    }
    (delivered, oks)
}

fn steady_state(shared_answer: bool) {
    let p = profile();
    let mut a = Agent::new("tv-7", &["tv"], LOCAL.parse().unwrap(), 11);
    let mut srv = FakeServer {
        answer: Vec::with_capacity(4096),
        message: Vec::with_capacity(4096),
        seq: 0,
        answered: [0; 3],
    };
    let mut buf = Vec::with_capacity(4096);
    let mut now = 0;
    a.start(&p, now);
    // Warm-up: the registration, the first MESSAGE (the Push-Id ring and the outbox grow).
    cycles(&mut a, &p, &mut srv, &mut buf, &mut now, 3, shared_answer);
    assert!(matches!(
        a.poll_event(),
        None | Some(Event::Registered { .. })
    ));

    let before = allocations();
    assert!(before > 0, "the counter sees the warm-up's allocations");
    // 2000 s of virtual time: ~280 heartbeats and ~33 refreshes (120 s granted).
    let (delivered, oks) = cycles(
        &mut a,
        &p,
        &mut srv,
        &mut buf,
        &mut now,
        2_000,
        shared_answer,
    );
    let allocated = allocations() - before;

    assert_eq!(allocated, 0, "allocations in steady state");
    assert_eq!((delivered, oks), (2_000, 2_000));
    assert!(srv.answered[1] >= 250, "heartbeats: {:?}", srv.answered);
    assert!(srv.answered[0] >= 30, "refreshes: {:?}", srv.answered);
    assert_eq!(a.stats().unexpected + a.stats().malformed, 0);
}

#[test]
fn no_allocation_per_datagram_with_the_held_answer() {
    steady_state(false);
}

#[test]
fn no_allocation_per_datagram_with_a_shared_answer_buffer() {
    steady_state(true);
}
