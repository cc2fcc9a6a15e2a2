//! Interoperability with real SIP software: SIPp (`sipp`) plays the clients and the push
//! receivers, tshark (Wireshark's dissector) judges the bytes on the wire.
//!
//! - `sipp_clients_register_refresh_heartbeat_deregister`: 1,000 SIPp clients live a whole
//!   registration life (REGISTER with classes, refresh, OPTIONS heartbeats, Expires: 0).
//! - `sipp_receivers_ack_a_push` and `sipp_receivers_dropping_30_percent_get_it_by_retransmission`:
//!   200 clients whose Contact is a SIPp UAS receive a push as SIP MESSAGE and answer 200 OK,
//!   the second time with SIPp dropping 30% of what it receives and sends.
//! - `tshark_dissects_a_whole_exchange`: a live capture of REGISTER, OPTIONS and MESSAGE and
//!   their answers; tshark finds nothing malformed and recognises every datagram as SIP.
//!
//! Needs `sipp` and `tshark` in PATH (the tshark test captures on `lo`: root or the capture
//! capabilities). Without them the tests are skipped, unless `CI=true`, where they fail.
//! The scenarios are in `tests/sipp/`; each test's SIPp and tshark files go to a scratch
//! directory under `target/tmp`, kept when the test fails.

#[path = "interop/harness.rs"]
mod harness;
#[path = "interop/sipp.rs"]
mod sipp;
#[path = "interop/tshark.rs"]
mod tshark;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use harness::{Scratch, Server, json_raw, json_str, json_u64, tools_present, wait_until};
use sipp::{Outcome, Sipp, write_injection};

/// RFC 3261 T1 and T2 given to the server in the push tests, small to keep them short.
const T1_MS: u64 = 50;
const T2_MS: u64 = 200;
/// Timer J (64*T1, §17.2.2): how long a receiver keeps its call to answer retransmissions.
const TIMER_J_MS: u64 = 64 * T1_MS;

/// `n` clients `PREFIX-0001`... with their classes (every fourth also in `beta`).
fn clients(prefix: &str, n: usize, class: &str) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            let classes = if i % 4 == 0 {
                format!("{class},beta")
            } else {
                class.to_string()
            };
            (format!("{prefix}-{i:04}"), classes)
        })
        .collect()
}

/// SIPp clients running `file` once per line of the injection file, 1,000 calls a second.
fn client_run(scratch: &Scratch, label: &str, file: &str, server: &Server, n: usize) -> Sipp {
    let inf = scratch.file("clients.csv");
    let n = n.to_string();
    Sipp::uac(scratch, label, file, server.sip).args(&[
        "-inf",
        &inf.to_string_lossy(),
        "-m",
        &n,
        "-r",
        "1000",
        "-l",
        "200",
        // The same Call-ID for a client in every run (RFC 3261 §10.2.4 wants one per UA and
        // registrar), so the deregistration's higher CSeq follows the registration's.
        "-cid_str",
        "interop-%u@%s",
    ])
}

#[test]
fn sipp_clients_register_refresh_heartbeat_deregister() {
    const N: usize = 1000;
    if !tools_present(
        "sipp_clients_register_refresh_heartbeat_deregister",
        &["sipp"],
    ) {
        return;
    }
    let started = Instant::now();
    let scratch = Scratch::new("clients");
    let mut server = Server::start(&scratch, &[]);
    let clients = clients("uac", N, "tv");
    write_injection(&scratch.file("clients.csv"), &clients);

    // REGISTER (the 200 must list the binding with expires=3600), refresh, OPTIONS.
    let reg =
        client_run(&scratch, "register", "register.xml", &server, N).run(Duration::from_secs(60));
    reg.assert_clean(false);
    assert_eq!(reg.calls(), (N as u64, N as u64), "{}", reg.summary());
    server.assert_running();

    assert_eq!(server.client_total(None), N as u64, "all registered");
    assert_eq!(server.client_total(Some("tv")), N as u64, "class tv");
    assert_eq!(
        server.client_total(Some("beta")),
        N as u64 / 4,
        "class beta"
    );
    let one = server.get("/v1/clients/uac-0004");
    assert!(one.contains("\"classes\":[\"tv\",\"beta\"]"), "{one}");
    assert_eq!(
        json_str(&one, "contact"),
        format!("sip:uac-0004@127.0.0.1:{}", reg.port)
    );
    assert_eq!(json_u64(&one, "expires"), 3600, "{one}");
    assert_eq!(server.metric("sippush_registrations_total"), N as u64);
    assert_eq!(
        server.metric("sippush_registration_refreshes_total"),
        N as u64
    );
    assert_eq!(server.metric("sippush_heartbeats_total"), N as u64);

    // One more OPTIONS, then REGISTER with Expires: 0 on the same Call-ID.
    let dereg = client_run(&scratch, "deregister", "deregister.xml", &server, N)
        .run(Duration::from_secs(60));
    dereg.assert_clean(false);
    assert_eq!(dereg.calls(), (N as u64, N as u64), "{}", dereg.summary());

    assert_eq!(server.client_total(None), 0, "all deregistered");
    assert_eq!(server.metric("sippush_deregistrations_total"), N as u64);
    assert_eq!(server.metric("sippush_heartbeats_total"), 2 * N as u64);
    assert_eq!(server.metric("sippush_registrations_refused_total"), 0);
    server.assert_running();
    eprintln!(
        "{}\n{}\n{N} clients in {:.1} s",
        reg.summary(),
        dereg.summary(),
        started.elapsed().as_secs_f64()
    );
}

/// What a push to SIPp receivers left.
struct PushRun {
    server: Server,
    receiver: Outcome,
    retransmissions: u64,
}

/// Register `n` clients whose Contact is a SIPp UAS (started with `receiver_args`), push one
/// message to their class, and check that every one acked it and SIPp saw it.
fn push_to_receivers(test: &str, n: usize, receiver_args: &[&str]) -> Option<PushRun> {
    if !tools_present(test, &["sipp"]) {
        return None;
    }
    let started = Instant::now();
    let scratch = Scratch::new(test);
    let t1 = T1_MS.to_string();
    let t2 = T2_MS.to_string();
    let mut server = Server::start(&scratch, &["--t1-ms", &t1, "--t2-ms", &t2]);
    let timer_j = TIMER_J_MS.to_string();
    // A burst of n MESSAGEs overflows SIPp's default 64 KiB socket buffer (the kernel's
    // RcvbufErrors): ask for more (capped by net.core.rmem_max).
    let mut receiver = Sipp::uas(&scratch, "receiver", "receive_push.xml")
        .args(&["-d", &timer_j, "-buff_size", "1048576"])
        .args(receiver_args)
        .start();

    // SIPp clients register with the receiver's port in their Contact. Their Via sent-by is
    // their source address, so the server routes pushes to the Contact.
    let clients = clients("rx", n, "rx");
    write_injection(&scratch.file("clients.csv"), &clients);
    let reg = client_run(&scratch, "register", "register.xml", &server, n)
        .contact_port(receiver.port)
        .run(Duration::from_secs(60));
    reg.assert_clean(false);
    assert_eq!(server.client_total(Some("rx")), n as u64);
    let one = server.get("/v1/clients/rx-0001");
    assert_eq!(json_str(&one, "route"), "contact", "{one}");
    assert_eq!(
        json_str(&one, "push_to"),
        format!("127.0.0.1:{}", receiver.port),
        "{one}"
    );

    let (code, body) = server.post_json("/v1/messages?class=rx&ttl=60", r#"{"action":"reload"}"#);
    assert_eq!(code, 202, "{body}");
    assert_eq!(json_u64(&body, "targets"), n as u64, "{body}");
    let id = json_str(&body, "id");
    let path = format!("/v1/messages/{id}");
    let mut status = String::new();
    let done = wait_until(Duration::from_secs(30), || {
        status = server.get(&path);
        json_raw(&status, "complete") == Some("true")
    });
    assert!(done, "the push did not complete within 30 s: {status}");
    for (key, want) in [("targets", n), ("acked", n), ("pending", 0)] {
        assert_eq!(json_u64(&status, key), want as u64, "{key}: {status}");
    }
    for key in ["failed", "expired"] {
        assert_eq!(json_u64(&status, key), 0, "{key}: {status}");
    }
    let delivered = started.elapsed();

    receiver.assert_running();
    let receiver = receiver.stop(Duration::from_millis(TIMER_J_MS) + Duration::from_secs(15));
    // No call failed, nothing unexpected, and no retransmission came after a call had ended
    // (the server stops retransmitting at the 200 or after 64*T1).
    receiver.assert_clean(true);
    let (created, ok) = receiver.calls();
    assert!(
        created >= n as u64 && ok == created,
        "{}",
        receiver.summary()
    );

    // SIPp logged each MESSAGE it took: the Push-Id is the message id, every client got it.
    let mut got = BTreeSet::new();
    for line in receiver.log.lines() {
        let mut words = line.split(' ');
        assert_eq!(words.next(), Some("push"), "log line {line:?}");
        assert_eq!(words.next(), Some(id.as_str()), "Push-Id in {line:?}");
        let client = words.next().and_then(|c| c.strip_suffix('@'));
        got.insert(
            client
                .unwrap_or_else(|| panic!("client in {line:?}"))
                .to_string(),
        );
    }
    let want: BTreeSet<String> = clients.into_iter().map(|(id, _)| id).collect();
    assert_eq!(got, want, "the clients SIPp received the push for");

    server.assert_running();
    let retransmissions = server.metric("sippush_retransmissions_total");
    eprintln!(
        "{test}: {n} receivers acked in {:.2} s, {retransmissions} MESSAGE retransmissions; {}",
        delivered.as_secs_f64(),
        receiver.summary()
    );
    Some(PushRun {
        server,
        receiver,
        retransmissions,
    })
}

#[test]
fn sipp_receivers_ack_a_push() {
    let Some(run) = push_to_receivers("sipp_receivers_ack_a_push", 200, &[]) else {
        return;
    };
    assert_eq!(run.server.metric("sippush_acks_total"), 200);
    assert_eq!(run.server.metric("sippush_delivery_failures_total"), 0);
}

#[test]
fn sipp_receivers_dropping_30_percent_get_it_by_retransmission() {
    let Some(run) = push_to_receivers(
        "sipp_receivers_dropping_30_percent_get_it_by_retransmission",
        200,
        &["-lost", "30"],
    ) else {
        return;
    };
    assert!(
        run.retransmissions > 0,
        "a 30% loss must be made up by retransmissions"
    );
    assert!(
        run.receiver.stats.get("Retransmissions(C)") > 0,
        "SIPp must have answered retransmitted MESSAGEs again"
    );
    assert_eq!(run.server.metric("sippush_acks_total"), 200);
}

#[test]
fn tshark_dissects_a_whole_exchange() {
    const N: usize = 5;
    if !tools_present("tshark_dissects_a_whole_exchange", &["sipp", "tshark"]) {
        return;
    }
    let scratch = Scratch::new("tshark");
    let t1 = T1_MS.to_string();
    let t2 = T2_MS.to_string();
    let mut server = Server::start(&scratch, &["--t1-ms", &t1, "--t2-ms", &t2]);
    let capture = tshark::Capture::start(&scratch, server.sip.port());
    let timer_j = TIMER_J_MS.to_string();
    let receiver = Sipp::uas(&scratch, "receiver", "receive_push.xml")
        .args(&["-d", &timer_j])
        .start();
    let clients = clients("ws", N, "ws");
    write_injection(&scratch.file("clients.csv"), &clients);

    let reg = client_run(&scratch, "register", "register.xml", &server, N)
        .contact_port(receiver.port)
        .run(Duration::from_secs(30));
    reg.assert_clean(false);
    let (code, body) = server.post_json("/v1/messages?class=ws", r#"{"action":"reload"}"#);
    assert_eq!(code, 202, "{body}");
    let path = format!("/v1/messages/{}", json_str(&body, "id"));
    let done = wait_until(Duration::from_secs(20), || {
        json_raw(&server.get(&path), "complete") == Some("true")
    });
    assert!(done, "the push did not complete: {}", server.get(&path));
    let dereg = client_run(&scratch, "deregister", "deregister.xml", &server, N)
        .run(Duration::from_secs(30));
    dereg.assert_clean(false);
    let receiver = receiver.stop(Duration::from_millis(TIMER_J_MS) + Duration::from_secs(15));
    receiver.assert_clean(true);
    server.assert_running();
    // What crossed the server's socket, by its own count (the admin API is TCP, not captured).
    let datagrams = server.metric("sippush_datagrams_received_total")
        + server.metric("sippush_datagrams_sent_total");
    let messages = server.metric("sippush_message_requests_sent_total")
        + server.metric("sippush_retransmissions_total");
    let dissector = capture.stop();

    // Nothing malformed, no expert error.
    let bad = dissector.fields(
        r#"sip && (_ws.malformed || _ws.expert.severity >= "error")"#,
        &["frame.number", "_ws.expert.message"],
    );
    assert!(bad.is_empty(), "tshark reports problems: {bad:?}");

    // Every datagram is dissected as SIP, and they add up to what was sent.
    let rows = dissector.fields("sip", &["sip.Method", "sip.Status-Code", "sip.CSeq.method"]);
    assert_eq!(
        dissector.udp_packets() as u64,
        datagrams,
        "datagrams captured"
    );
    assert_eq!(rows.len() as u64, datagrams, "datagrams dissected as SIP");
    let count = |method: &str, status: &str| {
        rows.iter()
            .filter(|r| r.len() == 3 && r[0] == method && r[1] == status)
            .count() as u64
    };
    let answered = |method: &str| {
        rows.iter()
            .filter(|r| r.len() == 3 && r[0].is_empty() && r[1] == "200" && r[2] == method)
            .count() as u64
    };
    let (register, options, message) = (
        count("REGISTER", ""),
        count("OPTIONS", ""),
        count("MESSAGE", ""),
    );
    let client_retrans =
        reg.stats.get("Retransmissions(C)") + dereg.stats.get("Retransmissions(C)");
    assert!(
        register >= 3 * N as u64 && options >= 2 * N as u64,
        "{rows:?}"
    );
    assert_eq!(
        register + options,
        5 * N as u64 + client_retrans,
        "client requests"
    );
    assert_eq!(message, messages, "MESSAGEs the server sent");
    assert_eq!(answered("REGISTER"), register, "200 OK to each REGISTER");
    assert_eq!(answered("OPTIONS"), options, "200 OK to each OPTIONS");
    assert_eq!(
        answered("MESSAGE"),
        N as u64 + receiver.stats.get("Retransmissions(C)"),
        "200 OK to each MESSAGE"
    );
    assert_eq!(
        register
            + options
            + message
            + answered("REGISTER")
            + answered("OPTIONS")
            + answered("MESSAGE"),
        datagrams,
        "nothing else on the wire: {rows:?}"
    );
    eprintln!(
        "tshark: {datagrams} datagrams dissected as SIP: {register} REGISTER, {options} OPTIONS, {message} MESSAGE, each answered 200"
    );
}
