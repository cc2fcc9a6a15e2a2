//! REGISTER (RFC 3261 §10.3): bindings, classes, expiry bounds, the CSeq rule, errors.

use super::*;

#[test]
fn register_answers_with_binding_and_classes() {
    let mut s = Server::new(cfg(), 0);
    let r = register(&mut s, 0, "tv-7", "10.0.0.7:5062", Some("tv,beta"));
    assert_eq!(r.status(), Some(200));
    assert_eq!(r.dest, addr("10.0.0.7:5062"));
    assert_eq!(
        r.header("Contact").unwrap(),
        "<sip:tv-7@10.0.0.7:5062>;expires=600"
    );
    assert!(r.header("To").unwrap().contains(";tag="));
    assert!(
        r.header("Via")
            .unwrap()
            .contains("rport=5062;received=10.0.0.7"),
        "{}",
        r.text()
    );
    let key = s.reg.find(b"tv-7").unwrap();
    let classes: Vec<_> = s
        .reg
        .get(key)
        .unwrap()
        .classes()
        .map(|c| s.reg.class_name(c).to_vec())
        .collect();
    assert_eq!(classes, vec![b"tv".to_vec(), b"beta".to_vec()]);
    register(&mut s, 0, "plain", "10.0.0.8:5060", None);
    let k = s.reg.find(b"plain").unwrap();
    assert_eq!(
        s.reg
            .class_name(s.reg.get(k).unwrap().classes().next().unwrap()),
        b"default"
    );
    assert_eq!(s.metrics.registrations, 2);
    s.check_invariants();
}

#[test]
fn expires_bounds_and_removal() {
    let mut s = Server::new(
        Config {
            min_expires: 60,
            max_expires: 1000,
            ..cfg()
        },
        0,
    );
    let src = "10.0.0.1:5060";
    let mut r = Reg::new("a", src);
    r.expires = Some(30);
    s.handle_datagram(0, addr(src), &r.bytes());
    let out = drain(&mut s);
    assert_eq!(out[0].status(), Some(423));
    assert_eq!(out[0].header("Min-Expires").as_deref(), Some("60"));
    assert!(s.reg.is_empty());
    r.expires = Some(5000);
    r.cseq = 2;
    s.handle_datagram(0, addr(src), &r.bytes());
    assert_eq!(
        drain(&mut s)[0].header("Contact").unwrap(),
        "<sip:a@10.0.0.1:5060>;expires=1000"
    );
    // The Expires header applies when the Contact has no expires parameter.
    r.expires = None;
    r.cseq = 3;
    let with_header = String::from_utf8(r.bytes())
        .unwrap()
        .replace("Content-Length: 0", "Expires: 120\r\nContent-Length: 0");
    s.handle_datagram(0, addr(src), with_header.as_bytes());
    assert_eq!(
        drain(&mut s)[0].header("Contact").unwrap(),
        "<sip:a@10.0.0.1:5060>;expires=120"
    );
    r.expires = Some(0);
    r.cseq = 4;
    s.handle_datagram(0, addr(src), &r.bytes());
    let out = drain(&mut s);
    assert_eq!(out[0].status(), Some(200));
    assert_eq!(out[0].header("Contact"), None);
    assert!(s.reg.is_empty());
    assert_eq!(s.metrics.deregistrations, 1);
    // Contact: * needs Expires: 0.
    register(&mut s, 0, "b", src, None);
    let star = |expires: &str, cseq: u32| {
        format!("REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP {src};branch=z9hG4bKs{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:b@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: reg-b\r\nCSeq: {cseq} REGISTER\r\nContact: *\r\n{expires}Content-Length: 0\r\n\r\n").into_bytes()
    };
    s.handle_datagram(0, addr(src), &star("", 2));
    assert_eq!(drain(&mut s)[0].status(), Some(400));
    s.handle_datagram(0, addr(src), &star("Expires: 0\r\n", 3));
    assert_eq!(drain(&mut s)[0].status(), Some(200));
    assert!(s.reg.find(b"b").is_none());
    s.check_invariants();
}

#[test]
fn cseq_rule_and_retransmissions() {
    let mut s = Server::new(cfg(), 0);
    let src = "10.0.0.1:5060";
    let mut r = Reg::new("a", src);
    r.cseq = 5;
    s.handle_datagram(0, addr(src), &r.bytes());
    let first = drain(&mut s).remove(0);
    assert_eq!(first.status(), Some(200));
    // A retransmission: same Call-ID, CSeq and branch: the same answer, not applied twice.
    s.handle_datagram(100, addr(src), &r.bytes());
    let again = drain(&mut s).remove(0);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(s.metrics.refreshes, 0);
    assert_eq!(s.metrics.registrations, 1);
    // Same Call-ID, same CSeq, another branch: 500 and nothing changes.
    r.branch = "z9hG4bK-other".into();
    r.contact = "sip:a@10.9.9.9:1".into();
    s.handle_datagram(200, addr(src), &r.bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(500));
    r.cseq = 4;
    s.handle_datagram(300, addr(src), &r.bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(500));
    assert_eq!(
        s.reg.get(s.reg.find(b"a").unwrap()).unwrap().contact(),
        b"sip:a@10.0.0.1:5060"
    );
    // A higher CSeq applies.
    r.cseq = 6;
    s.handle_datagram(400, addr(src), &r.bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(200));
    assert_eq!(
        s.reg.get(s.reg.find(b"a").unwrap()).unwrap().contact(),
        b"sip:a@10.9.9.9:1"
    );
    assert_eq!(s.metrics.refreshes, 1);
    // Another Call-ID starts a new sequence (RFC 3261 §10.3 step 7 only compares equal Call-IDs).
    r.call_id = "new-call".into();
    r.cseq = 1;
    s.handle_datagram(500, addr(src), &r.bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(200));
}

#[test]
fn register_errors() {
    let mut s = Server::new(
        Config {
            max_clients: 1,
            ..cfg()
        },
        0,
    );
    let src = "10.0.0.1:5060";
    register(&mut s, 0, "a", src, None);
    let r = register(&mut s, 0, "b", src, None);
    assert_eq!(r.status(), Some(503));
    assert_eq!(r.header("Retry-After").as_deref(), Some("60"));
    let mut bad = Reg::new("a", "10.0.0.1:5061");
    bad.classes = Some("bad class!");
    bad.call_id = "other".into();
    s.handle_datagram(0, addr("10.0.0.1:5061"), &bad.bytes());
    let r = drain(&mut s).remove(0);
    assert_eq!(r.status(), Some(400));
    assert_eq!(r.reason(), "Bad Class Name");
    let two = String::from_utf8(Reg::new("a", src).bytes())
        .unwrap()
        .replace(
            "Content-Length",
            "Contact: <sip:x@1.1.1.1>\r\nContent-Length",
        )
        .replace("reg-a", "two");
    s.handle_datagram(0, addr(src), two.as_bytes());
    let out = drain(&mut s);
    assert_eq!(
        (out[0].status(), out[0].reason().as_str()),
        (Some(400), "One Contact Per Client")
    );
    let no_user = String::from_utf8(Reg::new("a", src).bytes())
        .unwrap()
        .replace("To: <sip:a@push.example.net>", "To: <sip:push.example.net>")
        .replace("reg-a", "nouser");
    s.handle_datagram(0, addr(src), no_user.as_bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(400));
    let long_id = "x".repeat(65);
    let r = register(&mut s, 0, &long_id, src, None);
    assert_eq!(r.status(), Some(400));
    assert_eq!(s.reg.len(), 1);
}

#[test]
fn a_client_may_register_for_another_address() {
    let mut s = Server::new(cfg(), 0);
    let mut r = Reg::new("u1", "10.0.0.1:5061");
    r.contact = "sip:u1@10.0.0.2:5070".into();
    s.handle_datagram(0, addr("10.0.0.1:5061"), &r.bytes());
    assert_eq!(drain(&mut s)[0].status(), Some(200));
    let c = s.reg.get(s.reg.find(b"u1").unwrap()).unwrap();
    assert!(
        !c.route_to_source,
        "same sent-by as source: not NATed, push to the contact"
    );
    push(&mut s, 0, "client=u1", "x");
    assert_eq!(drain(&mut s)[0].dest, addr("10.0.0.2:5070"));
}
