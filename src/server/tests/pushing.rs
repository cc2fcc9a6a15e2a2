//! Control messages and their deliveries: transactions, timers, ordering, pacing, TTL.

use super::*;

#[test]
fn push_reaches_exactly_the_class_and_acks_complete_it() {
    let mut s = Server::new(cfg(), 0);
    for i in 0..6 {
        let class = if i % 2 == 0 { "tv" } else { "phone" };
        register(
            &mut s,
            0,
            &format!("c{i}"),
            &format!("10.0.0.{}:5060", i + 1),
            Some(class),
        );
    }
    let id = push(&mut s, 1_000, "class=tv", "{\"action\":\"reload\"}");
    let msgs = drain(&mut s);
    assert_eq!(msgs.len(), 3);
    let mut dests: Vec<_> = msgs.iter().map(|m| m.dest).collect();
    dests.sort();
    assert_eq!(
        dests,
        vec![
            addr("10.0.0.1:5060"),
            addr("10.0.0.3:5060"),
            addr("10.0.0.5:5060")
        ]
    );
    for m in &msgs {
        assert_eq!(m.method().as_deref(), Some("MESSAGE"));
        assert_eq!(m.header("Push-Id").as_deref(), Some(id.as_str()));
        assert_eq!(
            m.header("Content-Type").as_deref(),
            Some("text/plain;charset=utf-8")
        );
        assert!(m.text().ends_with("{\"action\":\"reload\"}"));
        assert!(m.bytes.len() <= 1300);
    }
    let st = status(&mut s, 1_000, &id);
    assert_eq!(
        (num(&st, "targets"), num(&st, "pending"), num(&st, "acked")),
        (3, 3, 0)
    );
    assert_eq!(st.get("complete").unwrap().as_bool(), Some(false));
    for m in &msgs {
        s.handle_datagram(1_200, m.dest, &answer(&m.bytes, 200));
    }
    let st = status(&mut s, 1_300, &id);
    assert_eq!((num(&st, "acked"), num(&st, "pending")), (3, 0));
    assert_eq!(st.get("complete").unwrap().as_bool(), Some(true));
    assert_eq!(num(&st, "completed_ms"), 1_200);
    // A duplicate 200 OK is a late response: dropped and counted.
    s.handle_datagram(1_400, msgs[0].dest, &answer(&msgs[0].bytes, 200));
    assert_eq!(s.metrics.drops[Drop::LateResponse as usize], 1);
    assert_eq!(s.metrics.acks, 3);
    s.check_invariants();
}

#[test]
fn retransmission_schedule_timer_f_and_new_transaction() {
    let mut s = Server::new(
        Config {
            t1_ms: 500,
            t2_ms: 4000,
            ..cfg()
        },
        0,
    );
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    let id = push(&mut s, 0, "client=a", "x");
    let first = drain(&mut s);
    assert_eq!(first.len(), 1);
    let branch = first[0].branch();
    // Timer E: T1, 2T1, 4T1, then capped at T2: sends at 0.5, 1.5, 3.5, 7.5, 11.5 ... s.
    let mut sent_at = Vec::new();
    for t in 1..=32_000u64 {
        s.handle_timeout(t);
        for m in drain(&mut s) {
            assert_eq!(m.header("Push-Id").as_deref(), Some(id.as_str()));
            sent_at.push((t, m.branch() == branch));
        }
    }
    let times: Vec<u64> = sent_at
        .iter()
        .filter(|(_, same)| *same)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        times,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    // Timer F at 64*T1 = 32 s: the transaction ends and a new one (new branch) starts at once.
    let new: Vec<_> = sent_at.iter().filter(|(_, same)| !*same).collect();
    assert_eq!(new, vec![&(32_000, false)]);
    assert_eq!(s.metrics.transaction_timeouts, 1);
    assert_eq!(s.metrics.retransmissions, 10);
    let st = status(&mut s, 32_000, &id);
    assert_eq!(num(&st, "pending"), 1);
}

#[test]
fn provisional_response_slows_retransmissions_to_t2() {
    let mut s = Server::new(cfg(), 0);
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    push(&mut s, 0, "client=a", "x");
    let m = drain(&mut s).remove(0);
    s.handle_datagram(100, m.dest, &answer(&m.bytes, 100));
    let mut times = Vec::new();
    for t in 101..=13_000u64 {
        s.handle_timeout(t);
        times.extend(drain(&mut s).iter().map(|_| t));
    }
    // The first Timer E was already armed for 500 ms; after it, T2 intervals.
    assert_eq!(times, vec![500, 4500, 8500, 12500]);
}

#[test]
fn failure_codes_and_ttl() {
    let mut s = Server::new(cfg(), 0);
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    register(&mut s, 0, "b", "10.0.0.2:5060", None);
    let id = push(&mut s, 0, "client=a&client=b&ttl=10", "x");
    let msgs = drain(&mut s);
    let to_a = msgs
        .iter()
        .find(|m| m.dest == addr("10.0.0.1:5060"))
        .unwrap();
    s.handle_datagram(10, to_a.dest, &answer(&to_a.bytes, 486));
    let st = status(&mut s, 10, &id);
    assert_eq!((num(&st, "failed"), num(&st, "pending")), (1, 1));
    assert_eq!(
        st.get("failed_codes").unwrap().get("486").unwrap().as_u64(),
        Some(1)
    );
    // b never answers: the TTL ends it as expired at exactly 10 s.
    s.handle_timeout(9_999);
    assert_eq!(num(&status(&mut s, 9_999, &id), "pending"), 1);
    s.handle_timeout(10_000);
    let st = status(&mut s, 10_000, &id);
    assert_eq!((num(&st, "expired"), num(&st, "pending")), (1, 0));
    assert_eq!(st.get("complete").unwrap().as_bool(), Some(true));
    // No retransmission after the TTL; the transaction is dropped at its next timer.
    s.handle_timeout(20_000);
    assert!(drain(&mut s).is_empty() || s.inflight == 0);
    assert_eq!(s.inflight, 0);
    s.check_invariants();
}

#[test]
fn deliveries_to_one_client_are_in_order() {
    let mut s = Server::new(cfg(), 0);
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    let id1 = push(&mut s, 0, "client=a", "one");
    let id2 = push(&mut s, 0, "client=a", "two");
    let first = drain(&mut s);
    assert_eq!(first.len(), 1, "one in flight per client");
    assert_eq!(first[0].header("Push-Id").unwrap(), id1);
    s.handle_timeout(500);
    let retrans = drain(&mut s);
    assert_eq!(retrans.len(), 1);
    assert_eq!(retrans[0].header("Push-Id").unwrap(), id1);
    s.handle_datagram(600, first[0].dest, &answer(&first[0].bytes, 200));
    let second = drain(&mut s);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].header("Push-Id").unwrap(), id2);
    assert!(second[0].text().ends_with("two"));
}

#[test]
fn queue_overflow_fails_the_oldest_waiting() {
    let mut s = Server::new(
        Config {
            max_queue: 2,
            ..cfg()
        },
        0,
    );
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    let id1 = push(&mut s, 0, "client=a", "1");
    drain(&mut s); // 1 in flight
    let id2 = push(&mut s, 0, "client=a", "2"); // queue: 1, 2
    let id3 = push(&mut s, 0, "client=a", "3"); // full: 2 fails, queue: 1, 3
    let st2 = status(&mut s, 0, &id2);
    assert_eq!(num(&st2, "failed"), 1);
    assert_eq!(
        st2.get("failed_codes")
            .unwrap()
            .get("queue_overflow")
            .unwrap()
            .as_u64(),
        Some(1)
    );
    assert_eq!(s.metrics.queue_overflows, 1);
    assert_eq!(num(&status(&mut s, 0, &id1), "pending"), 1);
    assert_eq!(num(&status(&mut s, 0, &id3), "pending"), 1);
}

#[test]
fn max_inflight_paces_the_fan_out() {
    let mut s = Server::new(
        Config {
            max_inflight: 2,
            ..cfg()
        },
        0,
    );
    for i in 0..5 {
        register(
            &mut s,
            0,
            &format!("c{i}"),
            &format!("10.0.0.{}:5060", i + 1),
            None,
        );
    }
    let id = push(&mut s, 0, "all=1", "x");
    let mut wave = drain(&mut s);
    assert_eq!(wave.len(), 2);
    let mut acked = 0;
    while !wave.is_empty() {
        let m = wave.remove(0);
        s.handle_datagram(10, m.dest, &answer(&m.bytes, 200));
        acked += 1;
        wave.extend(drain(&mut s));
        assert!(s.inflight <= 2);
    }
    assert_eq!(acked, 5);
    assert_eq!(num(&status(&mut s, 10, &id), "acked"), 5);
}

#[test]
fn delivery_waits_for_a_deregistered_client_and_resumes_on_return() {
    let mut s = Server::new(cfg(), 0);
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    let id = push(&mut s, 0, "client=a&ttl=60", "x");
    assert_eq!(drain(&mut s).len(), 1);
    let mut r = Reg::new("a", "10.0.0.1:5060");
    r.expires = Some(0);
    r.cseq = 2;
    s.handle_datagram(100, addr("10.0.0.1:5060"), &r.bytes());
    drain(&mut s);
    assert!(s.reg.is_empty());
    s.handle_timeout(5_000);
    assert!(
        drain(&mut s).is_empty(),
        "nothing is sent to an absent client"
    );
    assert_eq!(num(&status(&mut s, 5_000, &id), "pending"), 1);
    s.check_invariants();
    // The same id comes back (elsewhere): the delivery goes out at once.
    s.handle_datagram(
        6_000,
        addr("10.0.0.9:5060"),
        &Reg::new("a", "10.0.0.9:5060").bytes(),
    );
    let mut out = drain(&mut s);
    assert_eq!(out.len(), 2, "the answer and the waiting MESSAGE");
    assert_eq!(out.remove(0).status(), Some(200));
    assert_eq!(out[0].dest, addr("10.0.0.9:5060"));
    assert_eq!(out[0].header("Push-Id").unwrap(), id);
    s.handle_datagram(6_100, out[0].dest, &answer(&out[0].bytes, 200));
    assert_eq!(num(&status(&mut s, 6_100, &id), "acked"), 1);
    s.check_invariants();
}

#[test]
fn parked_deliveries_expire_with_their_ttl() {
    let mut s = Server::new(
        Config {
            grace_s: 0,
            min_expires: 1,
            ..cfg()
        },
        0,
    );
    let mut r = Reg::new("a", "10.0.0.1:5060");
    r.expires = Some(1);
    s.handle_datagram(0, addr("10.0.0.1:5060"), &r.bytes());
    drain(&mut s);
    let id = push(&mut s, 0, "client=a&ttl=5", "x");
    drain(&mut s);
    s.handle_timeout(1_000);
    assert!(s.reg.is_empty(), "expired");
    s.handle_timeout(5_000);
    let st = status(&mut s, 5_000, &id);
    assert_eq!((num(&st, "expired"), num(&st, "pending")), (1, 0));
    s.handle_timeout(6_000);
    assert!(
        s.parked.is_empty() && s.queues.is_empty() && s.nodes.is_empty(),
        "parked queue released"
    );
    s.check_invariants();
}

#[test]
fn messages_retire_after_retention() {
    let mut s = Server::new(
        Config {
            retention_s: 10,
            ..cfg()
        },
        0,
    );
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    let id = push(&mut s, 0, "client=a", "x");
    let m = drain(&mut s).remove(0);
    s.handle_datagram(1_000, m.dest, &answer(&m.bytes, 200));
    s.handle_timeout(10_999);
    assert_eq!(
        admin(&mut s, 10_999, "GET", &format!("/v1/messages/{id}"), "", "").0,
        200
    );
    s.handle_timeout(11_000);
    assert_eq!(
        admin(&mut s, 11_000, "GET", &format!("/v1/messages/{id}"), "", "").0,
        404
    );
}
