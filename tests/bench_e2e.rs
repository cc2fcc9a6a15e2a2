//! `sippush bench` end to end, small enough for CI: every delivery acked despite 20% loss, the
//! JSON document has the documented fields, and the retransmissions account for the loss.

use std::process::Command;

use sippush::json;

#[test]
fn small_lossy_bench_completes_with_every_delivery_acked() {
    let out = Command::new(env!("CARGO_BIN_EXE_sippush"))
        .args([
            "bench",
            "--clients",
            "2000",
            "--messages",
            "3",
            "--loss",
            "0.2",
            "--heartbeat-secs",
            "0.5",
            "--json",
            "--t1-ms",
            "100",
        ])
        .output()
        .expect("run sippush bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json::parse(stdout.trim()).expect("one JSON object on stdout");
    let n = |path: &[&str]| -> f64 {
        let mut cur = &v;
        for k in path {
            cur = cur.get(k).unwrap_or_else(|| panic!("{path:?} in {stdout}"));
        }
        cur.as_f64()
            .unwrap_or_else(|| panic!("{path:?} is a number in {stdout}"))
    };
    assert_eq!(n(&["clients"]), 2000.0);
    assert_eq!(n(&["register", "count"]), 2000.0);
    assert!(n(&["register", "per_sec"]) > 0.0);
    assert!(n(&["heartbeat", "count"]) > 0.0);
    assert_eq!(n(&["push", "messages"]), 3.0);
    assert_eq!(n(&["push", "deliveries"]), 6000.0);
    assert_eq!(n(&["push", "acked"]), 6000.0, "every delivery acked");
    assert_eq!(n(&["push", "failed"]) + n(&["push", "expired"]), 0.0);
    // Each dropped MESSAGE is one retransmission (acks are never dropped), and the drops are
    // about 20% of the transmissions: retransmissions ~ deliveries * 0.2 / 0.8 = 1500.
    let dropped = n(&["push", "dropped"]);
    let retrans = n(&["push", "retransmissions"]);
    assert!(
        retrans >= dropped,
        "retransmissions {retrans} cover drops {dropped}"
    );
    assert!(
        (1100.0..1900.0).contains(&dropped),
        "dropped {dropped} vs expected 1500"
    );
    for q in ["p50", "p90", "p99", "max"] {
        assert!(n(&["push", "latency_ms", q]) >= 0.0);
    }
    assert!(n(&["push", "latency_ms", "p50"]) <= n(&["push", "latency_ms", "max"]));
    assert!(
        v.get("server")
            .and_then(|s| s.get("rss_bytes_per_client"))
            .is_some()
    );
}

#[test]
fn bench_reports_bad_options_in_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_sippush"))
        .args(["bench", "--loss", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("sippush: "));
}
