//! Answers to malformed input and to requests the server does not handle.

use super::*;

#[test]
fn error_answers() {
    let mut s = Server::new(cfg(), 0);
    let src = addr("10.0.0.1:5060");
    let invite = String::from_utf8(options("a", "10.0.0.1:5060", "z9hG4bKi"))
        .unwrap()
        .replace("OPTIONS", "INVITE");
    s.handle_datagram(0, src, invite.as_bytes());
    let out = drain(&mut s);
    assert_eq!(out[0].status(), Some(405));
    assert_eq!(out[0].header("Allow").as_deref(), Some("REGISTER, OPTIONS"));
    let bad = include_bytes!("../../../tests/messages/invalid/mismatch01.sip");
    s.handle_datagram(0, src, bad);
    let out = drain(&mut s);
    assert_eq!(
        (out[0].status(), out[0].reason().as_str()),
        (Some(400), "CSeq Method Does Not Match Request Method")
    );
    s.handle_datagram(
        0,
        src,
        include_bytes!("../../../tests/messages/invalid/badvers.sip"),
    );
    assert_eq!(drain(&mut s)[0].status(), Some(505));
    s.handle_datagram(0, src, b"\x16\x03\x01 definitely not SIP");
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.metrics.drops[Drop::Garbage as usize], 1);
    s.handle_datagram(
        0,
        src,
        include_bytes!("../../../tests/messages/valid/ok_register.sip"),
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.metrics.drops[Drop::UnmatchedResponse as usize], 1);
    let ack = String::from_utf8(options("a", "10.0.0.1:5060", "z9hG4bKa"))
        .unwrap()
        .replace("OPTIONS", "ACK");
    s.handle_datagram(0, src, ack.as_bytes());
    assert!(drain(&mut s).is_empty());
    let req = String::from_utf8(options("a", "10.0.0.1:5060", "z9hG4bKr"))
        .unwrap()
        .replace("Content-Length", "Require: 100rel\r\nContent-Length");
    s.handle_datagram(0, src, req.as_bytes());
    let out = drain(&mut s);
    assert_eq!(out[0].status(), Some(420));
    assert_eq!(out[0].header("Unsupported").as_deref(), Some("100rel"));
    // A message missing what a response needs is dropped, not answered.
    s.handle_datagram(
        0,
        src,
        include_bytes!("../../../tests/messages/invalid/missing_via.sip"),
    );
    assert!(drain(&mut s).is_empty());
    assert!(s.metrics.parse_errors.iter().sum::<u64>() >= 4);
    // The server still answers the next valid request.
    assert_eq!(
        register(&mut s, 0, "ok", "10.0.0.1:5060", None).status(),
        Some(200)
    );
}

#[test]
fn parked_queue_timer_at_the_ttl_deadline_does_not_spin() {
    // The parked queue's timer and the message's TTL come due at the same millisecond; when
    // the parked timer is drained first it must not re-arm itself at that same instant forever.
    within_seconds(|| {
        let mut s = Server::new(cfg(), 0);
        register(&mut s, 0, "a", "10.0.0.1:5060", None);
        let id = push(&mut s, 0, "client=a&ttl=1", "x");
        drain(&mut s);
        let mut r = Reg::new("a", "10.0.0.1:5060");
        r.expires = Some(0);
        r.cseq = 2;
        s.handle_datagram(100, addr("10.0.0.1:5060"), &r.bytes());
        drain(&mut s);
        s.handle_timeout(1_000);
        let st = status(&mut s, 1_000, &id);
        assert_eq!((num(&st, "expired"), num(&st, "pending")), (1, 0));
        s.handle_timeout(1_001);
        assert!(s.parked.is_empty() && s.queues.is_empty() && s.nodes.is_empty());
        s.check_invariants();
    });
}

#[test]
fn a_malformed_ack_is_never_answered() {
    // RFC 3261 §17.1.1.3 / §17.2.1: an ACK never gets a response, not even a 400.
    let mut s = Server::new(cfg(), 0);
    let src = addr("10.0.0.1:5060");
    let ack = String::from_utf8(options("a", "10.0.0.1:5060", "z9hG4bKa"))
        .unwrap()
        .replace("OPTIONS", "ACK")
        .replace("CSeq: 1 ACK", "CSeq: 1 INVITE");
    s.handle_datagram(0, src, ack.as_bytes());
    assert!(drain(&mut s).is_empty(), "a malformed ACK got an answer");
    assert_eq!(s.metrics.drops[Drop::Ack as usize], 1);
}

#[test]
fn an_unsupported_method_is_405_even_with_require() {
    // RFC 3261 §8.2: method inspection (405, §8.2.1) comes before header inspection (420,
    // §8.2.2.3).
    let mut s = Server::new(cfg(), 0);
    let src = addr("10.0.0.1:5060");
    let invite = String::from_utf8(options("a", "10.0.0.1:5060", "z9hG4bKi"))
        .unwrap()
        .replace("OPTIONS", "INVITE")
        .replace("Content-Length", "Require: 100rel\r\nContent-Length");
    s.handle_datagram(0, src, invite.as_bytes());
    let out = drain(&mut s);
    assert_eq!(out[0].status(), Some(405));
    assert_eq!(out[0].header("Allow").as_deref(), Some("REGISTER, OPTIONS"));
}

#[test]
fn cancel_gets_481_and_contact_headers_are_not_kept() {
    let mut s = Server::new(cfg(), 0);
    let cancel = String::from_utf8(options("a", "10.0.0.1:5060", "z9hG4bKc"))
        .unwrap()
        .replace("OPTIONS", "CANCEL");
    s.handle_datagram(0, addr("10.0.0.1:5060"), cancel.as_bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(481));
    let mut r = Reg::new("h", "10.0.0.1:5060");
    r.contact = "sip:h@10.0.0.1:5060;transport=udp?Subject=hi".into();
    s.handle_datagram(0, addr("10.0.0.1:5060"), &r.bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(200));
    push(&mut s, 0, "client=h", "x");
    let m = drain(&mut s).remove(0);
    assert!(
        m.text()
            .starts_with("MESSAGE sip:h@10.0.0.1:5060;transport=udp SIP/2.0\r\n"),
        "{}",
        m.text()
    );
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    let mut s = Server::new(
        Config {
            admin_token: Some("t0k".into()),
            ..cfg()
        },
        0,
    );
    assert_eq!(
        admin(
            &mut s,
            0,
            "GET",
            "/healthz",
            "",
            "Authorization: bearer t0k\r\n"
        )
        .0,
        200
    );
    assert_eq!(
        admin(
            &mut s,
            0,
            "GET",
            "/healthz",
            "",
            "Authorization: BEARER t0k\r\n"
        )
        .0,
        200
    );
    assert_eq!(
        admin(
            &mut s,
            0,
            "GET",
            "/healthz",
            "",
            "Authorization: Basic t0k\r\n"
        )
        .0,
        401
    );
    assert_eq!(
        admin(&mut s, 0, "GET", "/healthz", "", "Authorization: Bear\r\n").0,
        401
    );
}
