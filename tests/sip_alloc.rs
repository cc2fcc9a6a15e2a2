//! Proves the SIP hot path allocates nothing (house habit 5): parsing every valid message with
//! a stack header table, reading every typed view, and building a response into a pre-grown
//! buffer make zero heap allocations.
//!
//! The library forbids `unsafe`; this test crate needs one `unsafe impl GlobalAlloc` to count.
//! The test harness runs tests (and its own bookkeeping) on other threads, so only allocations
//! made on a thread that switched counting on are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddr};

use sippush::sip::{self, Contact, Header, MAX_HEADERS, ResponseOpts, Writer};

thread_local! {
    /// Counting is on for this thread.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations (including reallocations) made on this thread while counting.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, plus a per-thread count.
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping only touches
// const-initialised thread-locals (no allocation, no destructor), and `try_with` never panics
// during thread teardown.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

/// Allocations made on this thread while running `f`.
fn allocations_in<R>(f: impl FnOnce() -> R) -> (u64, R) {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let r = f();
    COUNTING.with(|on| on.set(false));
    (ALLOCATIONS.with(Cell::get), r)
}

/// Every `tests/messages/valid/*.sip`, by name.
macro_rules! valid {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("messages/valid/", $name, ".sip")))),*]
    };
}

const VALID: &[(&str, &[u8])] = valid![
    "dblreq",
    "esc02",
    "escnull",
    "intmeth",
    "ipv6",
    "lwsdisp",
    "message",
    "noreason",
    "ok_register",
    "options",
    "register",
    "semiuri",
    "star",
    "tel",
    "tortuous",
    "transports",
    "unreason",
];

/// Parse `bytes` and read every typed view; returns a digest so nothing is optimised away.
fn parse_and_touch(bytes: &[u8]) -> Result<usize, sip::ParseError> {
    let mut headers = [Header::EMPTY; MAX_HEADERS];
    let msg = sip::parse(bytes, &mut headers)?;
    msg.check_all_views()?;
    let raw = msg.raw();
    let mut digest = raw.headers().map(|h| h.value.len()).sum::<usize>();
    digest += msg.call_id().len() + msg.cseq().method.len() + msg.body().len();
    digest += msg.via().host().len() + msg.via().branch().map_or(0, <[u8]>::len);
    digest += msg.from().tag().map_or(0, <[u8]>::len) + msg.to().uri.host().len();
    for v in raw.vias() {
        digest += v?.params().iter().count();
    }
    for c in raw.contacts() {
        if let Contact::Addr(a) = c? {
            digest += a.uri.param_iter().count() + usize::from(a.uri.host_kind().is_some());
        }
    }
    digest += raw.expires().transpose()?.unwrap_or(0) as usize;
    digest += raw.content_length().transpose()?.unwrap_or(0);
    digest += raw.content_type().transpose()?.map_or(0, |m| m.raw.len());
    digest += raw.max_forwards().transpose()?.unwrap_or(0) as usize;
    if let Some(uri) = raw.request_uri().transpose()? {
        digest += uri.host().len() + uri.param_iter().count();
    }
    Ok(digest)
}

#[test]
fn parsing_valid_messages_allocates_nothing() {
    for (name, bytes) in VALID {
        // Parse once outside the measurement: it must succeed, and any lazy one-time
        // initialisation in std is done before counting starts.
        parse_and_touch(bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let (allocs, r) = allocations_in(|| parse_and_touch(bytes));
        assert!(r.is_ok(), "{name}");
        assert_eq!(allocs, 0, "{name}: parsing allocated");
    }
}

#[test]
fn building_a_response_into_a_grown_buffer_allocates_nothing() {
    let opts = ResponseOpts {
        source: Some(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 1), 5060))),
        to_tag: Some(b"t"),
    };
    let mut out = Vec::with_capacity(4096);
    let mut built = 0;
    for (name, bytes) in VALID {
        let mut headers = [Header::EMPTY; MAX_HEADERS];
        let msg = sip::parse(bytes, &mut headers).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if !msg.is_request() {
            continue;
        }
        let (allocs, len) = allocations_in(|| {
            let mut w = Writer::new(&mut out);
            sip::response_to(&mut w, &msg, 200, b"OK", &opts);
            w.finish(Some(b"text/plain"), b"ok")
        });
        assert_eq!(allocs, 0, "{name}: building the response allocated");
        assert!(len > 0 && len <= 4096, "{name}: {len} bytes");
        built += 1;
    }
    assert!(
        built >= 10,
        "only {built} requests among the valid messages"
    );
}

#[test]
fn the_counter_counts() {
    let (allocs, v) = allocations_in(|| vec![1u8; 16]);
    assert_eq!(v.len(), 16);
    assert!(allocs >= 1, "a Vec allocation was not counted");
}

#[test]
fn every_valid_message_is_measured() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/messages/valid");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("tests/messages/valid")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".sip").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = VALID.iter().map(|(name, _)| *name).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "add new valid messages to VALID");
}
