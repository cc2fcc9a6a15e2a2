//! `sippush bench parser`: ns per message and MB/s for the full parse (framing, validation and
//! the typed views the server reads: Via branch, From/To tag, Call-ID, CSeq, Contact, Expires)
//! of a REGISTER, a 200 OK and a MESSAGE, with `httparse::parse_headers` over the same header
//! block as the yardstick, and the heap allocations per message.
//!
//! Reading the figures: on the machine this was tuned on, two builds of the same source in
//! different directories differed by up to 30% (code placement), while instruction counts
//! (`valgrind --tool=callgrind`) stay put. Compare changes across a few builds, or by
//! instructions, not by one run of one build.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::cli::{AllocCounter, CliError, opt_value, parse_opts};
use crate::sip::{self, Contact, Header, MAX_HEADERS};

const MESSAGES: [(&str, &[u8]); 3] = [
    (
        "register",
        include_bytes!("../../tests/messages/valid/register.sip"),
    ),
    (
        "ok_200",
        include_bytes!("../../tests/messages/valid/ok_register.sip"),
    ),
    (
        "message",
        include_bytes!("../../tests/messages/valid/message.sip"),
    ),
];

/// The work the server does on a datagram before acting on it; returns a value that depends on
/// every view so that nothing is optimised away.
pub fn parse_like_the_server(buf: &[u8]) -> usize {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let Ok(m) = sip::parse(buf, &mut hs) else {
        return 0;
    };
    let mut acc = m.via().branch().map_or(0, <[u8]>::len)
        + m.from().tag().map_or(0, <[u8]>::len)
        + m.to().tag().map_or(0, <[u8]>::len)
        + m.call_id().len()
        + m.cseq().seq as usize
        + m.body().len();
    for c in m.raw().contacts() {
        if let Ok(Contact::Addr(a)) = c {
            acc += a.uri.host().len() + a.params.value(b"class").flatten().map_or(0, <[u8]>::len);
            acc += Contact::Addr(a).expires().and_then(Result::ok).unwrap_or(0) as usize;
        }
    }
    if let Some(Ok(e)) = m.raw().expires() {
        acc += e as usize;
    }
    acc
}

fn httparse_headers(buf: &[u8]) -> usize {
    let start = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |p| p + 2);
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(&buf[start..], &mut hs) {
        Ok(httparse::Status::Complete((n, h))) => n + h.len(),
        _ => 0,
    }
}

/// Nanoseconds per call of `f` over about `budget`, and allocations per call.
fn measure(
    f: impl Fn(&[u8]) -> usize,
    buf: &[u8],
    budget: Duration,
    allocs: AllocCounter,
) -> (f64, f64) {
    let mut iters = 1000u64;
    for _ in 0..1000 {
        black_box(f(black_box(buf)));
    }
    loop {
        let a0 = allocs();
        let t0 = Instant::now();
        for _ in 0..iters {
            black_box(f(black_box(buf)));
        }
        let dt = t0.elapsed();
        let a = allocs() - a0;
        if dt >= budget || iters >= 1 << 30 {
            return (dt.as_nanos() as f64 / iters as f64, a as f64 / iters as f64);
        }
        iters *= if dt < budget / 10 { 10 } else { 2 };
    }
}

pub(super) fn run(args: &[String], allocs: AllocCounter) -> Result<(), CliError> {
    let mut opts = getopts::Options::new();
    opts.optflag("", "json", "print one JSON object instead of a table");
    opts.optopt(
        "",
        "millis",
        "measuring time per message and parser (default 300)",
        "MS",
    );
    let Some(m) = parse_opts(
        &mut opts,
        args,
        "usage: sippush bench parser [--json] [--millis MS]",
    )?
    else {
        return Ok(());
    };
    let budget = Duration::from_millis(opt_value(&m, "millis", 300u64)?);
    let mut rows = Vec::new();
    for (name, buf) in MESSAGES {
        if parse_like_the_server(buf) == 0 {
            return Err(CliError::failed(format!(
                "benchmark message {name} does not parse"
            )));
        }
        let (ns, a) = measure(parse_like_the_server, buf, budget, allocs);
        let (hns, _) = measure(httparse_headers, buf, budget, allocs);
        rows.push((name, buf.len(), ns, buf.len() as f64 / ns * 1e3, a, hns));
    }
    if m.opt_present("json") {
        let items: Vec<String> = rows
            .iter()
            .map(|(name, bytes, ns, mbs, a, hns)| {
                format!(
                    "{{\"name\": \"{name}\", \"bytes\": {bytes}, \"ns_per_msg\": {ns:.1}, \"mb_per_s\": {mbs:.1}, \"allocs_per_msg\": {a}, \"httparse_headers_ns_per_msg\": {hns:.1}}}"
                )
            })
            .collect();
        println!("{{\"messages\": [{}]}}", items.join(", "));
    } else {
        println!(
            "{:<10} {:>6} {:>9} {:>9} {:>11} {:>14} {:>7}",
            "message", "bytes", "ns/msg", "MB/s", "allocs/msg", "httparse ns", "ratio"
        );
        for (name, bytes, ns, mbs, a, hns) in rows {
            println!(
                "{name:<10} {bytes:>6} {ns:>9.1} {mbs:>9.1} {a:>11.2} {hns:>14.1} {:>7.2}",
                ns / hns
            );
        }
    }
    Ok(())
}
