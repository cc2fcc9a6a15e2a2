//! Heartbeats, keep-alives and the removal of silent clients.

use super::*;

#[test]
fn options_heartbeat_follows_nat_rebinding() {
    let mut s = Server::new(cfg(), 0);
    // Behind a NAT: private sent-by, public source.
    let mut r = Reg::new("n", "203.0.113.5:40000");
    r.via = "192.168.1.5:5060".into();
    r.contact = "sip:n@192.168.1.5:5060".into();
    s.handle_datagram(0, addr("203.0.113.5:40000"), &r.bytes());
    drain(&mut s);
    let k = s.reg.find(b"n").unwrap();
    assert!(s.reg.get(k).unwrap().route_to_source);
    // The NAT rebinds to another port; the OPTIONS heartbeat comes from there.
    s.handle_datagram(
        10_000,
        addr("203.0.113.5:40123"),
        &options("n", "192.168.1.5:5060", "z9hG4bKo1"),
    );
    let out = drain(&mut s);
    assert_eq!(out[0].status(), Some(200));
    assert_eq!(out[0].dest, addr("203.0.113.5:40123"));
    assert_eq!(
        SocketAddr::from(s.reg.get(k).unwrap().source),
        addr("203.0.113.5:40123")
    );
    assert_eq!(s.reg.get(k).unwrap().last_seen, 10_000);
    assert_eq!(s.metrics.heartbeats_options, 1);
    push(&mut s, 10_000, "client=n", "x");
    assert_eq!(
        drain(&mut s)[0].dest,
        addr("203.0.113.5:40123"),
        "pushes follow the rebinding"
    );
    // OPTIONS from a stranger: 200, no state.
    s.handle_datagram(
        10_000,
        addr("10.1.1.1:5060"),
        &options("nobody", "10.1.1.1:5060", "z9hG4bKo2"),
    );
    assert_eq!(drain(&mut s)[0].status(), Some(200));
    assert_eq!(s.reg.len(), 1);
    assert_eq!(s.metrics.options_unknown, 1);
}

#[test]
fn crlf_keepalive_gets_crlf() {
    let mut s = Server::new(cfg(), 0);
    s.handle_datagram(0, addr("10.0.0.1:5060"), b"\r\n\r\n");
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].bytes, b"\r\n");
    s.handle_datagram(0, addr("10.0.0.1:5060"), b"\r\n");
    assert!(drain(&mut s).is_empty(), "a pong is not answered");
}

#[test]
fn silent_clients_expire_after_expiry_plus_grace() {
    let mut s = Server::new(
        Config {
            grace_s: 30,
            ..cfg()
        },
        0,
    );
    let src = "10.0.0.1:5060";
    let mut r = Reg::new("a", src);
    r.expires = Some(60);
    s.handle_datagram(1_500, addr(src), &r.bytes());
    drain(&mut s);
    register(&mut s, 1_500, "b", "10.0.0.2:5060", None); // expires 600: stays
    // Deadline 1.5 s + 60 s + 30 s = 91.5 s, checked at the next whole second (92 s).
    s.handle_timeout(91_999);
    assert!(s.reg.find(b"a").is_some());
    assert!(s.poll_timeout().unwrap() <= 92_000);
    s.handle_timeout(92_000);
    assert!(s.reg.find(b"a").is_none());
    assert!(s.reg.find(b"b").is_some());
    assert_eq!(s.metrics.expirations, 1);
    s.check_invariants();
}

#[test]
fn heartbeats_keep_a_client_alive() {
    let mut s = Server::new(
        Config {
            grace_s: 10,
            ..cfg()
        },
        0,
    );
    let src = "10.0.0.1:5060";
    let mut r = Reg::new("a", src);
    r.expires = Some(60);
    s.handle_datagram(0, addr(src), &r.bytes());
    drain(&mut s);
    for t in (30_000..=300_000).step_by(30_000) {
        s.handle_timeout(t);
        s.handle_datagram(t, addr(src), &options("a", src, &format!("z9hG4bK{t}")));
        drain(&mut s);
        assert!(s.reg.find(b"a").is_some(), "alive at {t}");
    }
    // Silence: gone 70 s after the last heartbeat.
    s.handle_timeout(369_999);
    assert!(s.reg.find(b"a").is_some());
    s.handle_timeout(370_000);
    assert!(s.reg.find(b"a").is_none());
}

#[test]
fn shorter_reregistration_moves_the_deadline_earlier() {
    let mut s = Server::new(
        Config {
            grace_s: 0,
            ..cfg()
        },
        0,
    );
    let src = "10.0.0.1:5060";
    let mut r = Reg::new("a", src);
    r.expires = Some(3600);
    s.handle_datagram(0, addr(src), &r.bytes());
    r.expires = Some(60);
    r.cseq = 2;
    s.handle_datagram(0, addr(src), &r.bytes());
    drain(&mut s);
    s.handle_timeout(60_000);
    assert!(s.reg.find(b"a").is_none());
    s.check_invariants();
}
