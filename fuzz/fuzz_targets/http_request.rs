//! `admin::http::HttpConn`: fed the input in chunks, never panics, keeps every body within the
//! limit and equal to its Content-Length, and never holds more memory than its limits allow.
//!
//! The first byte chooses the chunk size (bits 0-5: 1..=32 bytes, or 128..=4096), small
//! limits (bit 7) and a peer that reads no output until the end (bit 6). Every request is
//! answered with a small response; the query and path helpers run on each.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use libfuzzer_sys::fuzz_target;
use sippush::admin::http::{
    HttpConn, Limits, Response, percent_decode, query_pairs, validate_query,
};

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let chunk = match first & 0x3f {
        n @ 0..32 => usize::from(n) + 1,
        n => usize::from(n - 31) * 128,
    };
    let limits = if first & 0x80 != 0 {
        Limits {
            max_header_bytes: 256,
            max_body_bytes: 512,
            max_pending_output: 300,
        }
    } else {
        Limits::default()
    };
    let reads_output = first & 0x40 == 0;
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut conn = HttpConn::new(limits);
    let mut answered = 0;
    'feed: for mut piece in input.chunks(chunk) {
        for _ in 0..=piece.len() {
            let taken = conn.receive(piece);
            piece = &piece[taken..];
            let served = serve(&mut conn, limits);
            answered += served;
            if reads_output {
                conn.consumed_output(conn.pending_output().len());
            }
            if conn.wants_close() {
                break 'feed;
            }
            if piece.is_empty() || (taken == 0 && served == 0) {
                break;
            }
        }
    }
    let _ = conn.has_partial_input();
    let out = conn.pending_output().len();
    // Input up to its capacity (twice, for Vec's growth), pending output up to its limit plus
    // the answers queued past it, and room for the harness's own small allocations.
    let bound = 2 * limits.input_capacity() + 2 * (limits.max_pending_output + 3 * 1024) + 8192;
    let used = PEAK.load(Relaxed).saturating_sub(base);
    assert!(
        used <= bound,
        "{used} bytes live at the peak, bound {bound}; {answered} answered, {out} output pending"
    );
});

/// Answer every request that is ready; returns how many.
fn serve(conn: &mut HttpConn, limits: Limits) -> usize {
    let mut n = 0;
    for _ in 0..64 {
        let resp = match conn.poll_request() {
            Ok(None) => return n,
            Ok(Some(req)) => {
                let _ = (req.method(), req.is_head(), req.version(), req.keep_alive());
                let _ = (
                    req.host(),
                    req.connection(),
                    req.content_type(),
                    req.authorization(),
                );
                let _ = (req.headers().count(), req.header("x-a"), req.is_chunked());
                let _ = (validate_query(req.query()), percent_decode(req.path()));
                let _ = query_pairs(req.query()).take(64).count();
                assert!(
                    req.body().len() <= limits.max_body_bytes,
                    "body over the limit"
                );
                if let Some(len) = req.content_length() {
                    assert_eq!(req.body().len() as u64, len, "body of Content-Length");
                }
                let resp = Response::json(200, format!("{{\"len\":{}}}", req.body().len()));
                if req.path() == "/close" {
                    resp.closing()
                } else {
                    resp.with_header("X-Seen", req.method())
                }
            }
            Err(e) => {
                let _ = (e.status(), e.reason());
                e.response()
            }
        };
        conn.respond(&resp);
        n += 1;
    }
    n
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes and their peak.
struct Counting;

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            PEAK.fetch_max(
                LIVE.fetch_add(layout.size(), Relaxed) + layout.size(),
                Relaxed,
            );
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            PEAK.fetch_max(LIVE.fetch_add(new_size, Relaxed) + new_size, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;
