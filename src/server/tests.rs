//! The core's rules at explicit virtual times, without sockets.

use std::net::SocketAddr;

use super::*;
use crate::admin::http::{HttpConn, Limits, Response};
use crate::sip::{self, Header, MAX_HEADERS, ResponseOpts, Writer};

const SRV: &str = "127.0.0.1:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn cfg() -> Config {
    Config {
        sip_addr: addr(SRV),
        ..Config::default()
    }
}

/// A parsed copy of an outgoing datagram.
struct Out {
    dest: SocketAddr,
    bytes: Vec<u8>,
}

impl Out {
    fn status(&self) -> Option<u16> {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        sip::parse(&self.bytes, &mut hs)
            .ok()
            .and_then(|m| m.status())
    }
    fn reason(&self) -> String {
        let line = self.bytes.split(|&b| b == b'\r').next().unwrap_or(&[]);
        String::from_utf8_lossy(line)
            .splitn(3, ' ')
            .nth(2)
            .unwrap_or("")
            .to_string()
    }
    fn header(&self, name: &str) -> Option<String> {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let m = sip::parse_raw(&self.bytes, &mut hs).ok()?;
        m.header_str(name.as_bytes())
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    }
    fn method(&self) -> Option<String> {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let m = sip::parse(&self.bytes, &mut hs).ok()?;
        m.method().map(|b| String::from_utf8_lossy(b).into_owned())
    }
    fn branch(&self) -> String {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let m = sip::parse(&self.bytes, &mut hs).unwrap();
        String::from_utf8_lossy(m.via().branch().unwrap()).into_owned()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

fn drain(s: &mut Server) -> Vec<Out> {
    let mut v = Vec::new();
    let mut buf = Vec::new();
    for _ in 0..100_000 {
        match s.poll_transmit(&mut buf) {
            Some(dest) => v.push(Out {
                dest,
                bytes: buf.clone(),
            }),
            None => break,
        }
    }
    v
}

struct Reg<'a> {
    id: &'a str,
    contact: String,
    classes: Option<&'a str>,
    expires: Option<u32>,
    call_id: String,
    cseq: u32,
    branch: String,
    via: String,
}

impl<'a> Reg<'a> {
    fn new(id: &'a str, src: &str) -> Reg<'a> {
        Reg {
            id,
            contact: format!("sip:{id}@{src}"),
            classes: None,
            expires: Some(600),
            call_id: format!("reg-{id}"),
            cseq: 1,
            branch: format!("z9hG4bK-{id}-1"),
            via: src.to_string(),
        }
    }
    fn bytes(&self) -> Vec<u8> {
        let mut params = String::new();
        if let Some(e) = self.expires {
            params.push_str(&format!(";expires={e}"));
        }
        if let Some(c) = self.classes {
            params.push_str(&format!(";class=\"{c}\""));
        }
        format!(
            "REGISTER sip:push.example.net SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{id}@push.example.net>;tag=f{id}\r\nTo: <sip:{id}@push.example.net>\r\nCall-ID: {}\r\nCSeq: {} REGISTER\r\nContact: <{}>{params}\r\nContent-Length: 0\r\n\r\n",
            self.via,
            self.branch,
            self.call_id,
            self.cseq,
            self.contact,
            id = self.id
        )
        .into_bytes()
    }
}

fn register(s: &mut Server, now: u64, id: &str, src: &str, classes: Option<&str>) -> Out {
    let mut r = Reg::new(id, src);
    r.classes = classes;
    s.handle_datagram(now, addr(src), &r.bytes());
    let mut out = drain(s);
    assert_eq!(out.len(), 1, "one answer");
    out.remove(0)
}

fn options(id: &str, via: &str, branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:push.example.net SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{id}@push.example.net>;tag=o\r\nTo: <sip:push.example.net>\r\nCall-ID: o-{branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The client's answer to a MESSAGE.
fn answer(message: &[u8], code: u16) -> Vec<u8> {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = sip::parse(message, &mut hs).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    sip::response_to(
        &mut w,
        &m,
        code,
        b"Whatever",
        &ResponseOpts {
            source: None,
            to_tag: Some(b"c"),
        },
    );
    w.finish(None, b"");
    out
}

fn admin(
    s: &mut Server,
    now: u64,
    method: &str,
    target: &str,
    body: &str,
    extra: &str,
) -> (u16, crate::json::Value) {
    let resp = admin_raw(s, now, method, target, body, extra);
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    let v = crate::json::parse(&text).unwrap_or(crate::json::Value::Null);
    (resp.status, v)
}

fn admin_raw(
    s: &mut Server,
    now: u64,
    method: &str,
    target: &str,
    body: &str,
    extra: &str,
) -> Response {
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    let mut conn = HttpConn::new(Limits::default());
    conn.receive(raw.as_bytes());
    let req = conn.poll_request().unwrap().unwrap();
    s.handle_admin(now, &req)
}

fn push(s: &mut Server, now: u64, query: &str, body: &str) -> String {
    let (code, v) = admin(s, now, "POST", &format!("/v1/messages?{query}"), body, "");
    assert_eq!(code, 202, "{v:?}");
    v.get("id").unwrap().as_str().unwrap().to_string()
}

fn status(s: &mut Server, now: u64, id: &str) -> crate::json::Value {
    let (code, v) = admin(s, now, "GET", &format!("/v1/messages/{id}"), "", "");
    assert_eq!(code, 200);
    v
}

fn num(v: &crate::json::Value, k: &str) -> u64 {
    v.get(k)
        .and_then(|x| x.as_u64())
        .unwrap_or_else(|| panic!("{k} in {v:?}"))
}

// ---------------------------------------------------------------- registrar

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

// ---------------------------------------------------------------- heartbeats and liveness

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

// ---------------------------------------------------------------- errors

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
    let bad = include_bytes!("../../tests/messages/invalid/mismatch01.sip");
    s.handle_datagram(0, src, bad);
    let out = drain(&mut s);
    assert_eq!(
        (out[0].status(), out[0].reason().as_str()),
        (Some(400), "CSeq Method Does Not Match Request Method")
    );
    s.handle_datagram(
        0,
        src,
        include_bytes!("../../tests/messages/invalid/badvers.sip"),
    );
    assert_eq!(drain(&mut s)[0].status(), Some(505));
    s.handle_datagram(0, src, b"\x16\x03\x01 definitely not SIP");
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.metrics.drops[Drop::Garbage as usize], 1);
    s.handle_datagram(
        0,
        src,
        include_bytes!("../../tests/messages/valid/ok_register.sip"),
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
        include_bytes!("../../tests/messages/invalid/missing_via.sip"),
    );
    assert!(drain(&mut s).is_empty());
    assert!(s.metrics.parse_errors.iter().sum::<u64>() >= 4);
    // The server still answers the next valid request.
    assert_eq!(
        register(&mut s, 0, "ok", "10.0.0.1:5060", None).status(),
        Some(200)
    );
}

// ---------------------------------------------------------------- pushing

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

// ---------------------------------------------------------------- admin API

#[test]
fn admin_submission_errors() {
    let mut s = Server::new(
        Config {
            admin_token: Some("s3cret".into()),
            ..cfg()
        },
        0,
    );
    register(&mut s, 0, "a", "10.0.0.1:5060", Some("tv"));
    let auth = "Authorization: Bearer s3cret\r\n";
    let r = admin_raw(&mut s, 0, "POST", "/v1/messages?class=tv", "x", "");
    assert_eq!(r.status, 401);
    assert!(r.headers.iter().any(|(n, _)| *n == "WWW-Authenticate"));
    assert_eq!(
        admin(
            &mut s,
            0,
            "POST",
            "/v1/messages?class=tv",
            "x",
            "Authorization: Bearer nope\r\n"
        )
        .0,
        401
    );
    assert_eq!(admin(&mut s, 0, "POST", "/v1/messages", "x", auth).0, 400);
    assert_eq!(
        admin(&mut s, 0, "POST", "/v1/messages?class=radio", "x", auth).0,
        400
    );
    assert_eq!(
        admin(&mut s, 0, "POST", "/v1/messages?klass=tv", "x", auth).0,
        400
    );
    assert_eq!(
        admin(&mut s, 0, "POST", "/v1/messages?class=tv&ttl=0", "x", auth).0,
        400
    );
    assert_eq!(
        admin(&mut s, 0, "POST", "/v1/messages?class=%zz", "x", auth).0,
        400
    );
    let big = "x".repeat(1200);
    let (code, v) = admin(&mut s, 0, "POST", "/v1/messages?class=tv", &big, auth);
    assert_eq!(code, 413, "{v:?}");
    assert!(v.get("error").unwrap().as_str().unwrap().contains("1300"));
    let (code, v) = admin(
        &mut s,
        0,
        "POST",
        "/v1/messages?class=tv",
        "{}",
        &format!("{auth}Content-Type: application/json\r\n"),
    );
    assert_eq!(code, 202);
    assert_eq!(num(&v, "targets"), 1);
    let m = drain(&mut s).remove(0);
    assert_eq!(
        m.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        admin(&mut s, 0, "GET", "/v1/messages/nope", "", auth).0,
        404
    );
    assert_eq!(admin(&mut s, 0, "GET", "/v1/nothing", "", auth).0, 404);
    assert_eq!(admin(&mut s, 0, "DELETE", "/v1/messages", "", auth).0, 405);
    assert_eq!(admin(&mut s, 0, "GET", "/healthz", "", auth).0, 200);
}

#[test]
fn largest_message_is_exactly_the_limit() {
    let mut s = Server::new(cfg(), 0);
    register(&mut s, 0, "a", "10.0.0.1:5060", None);
    // Find the largest accepted payload and check the MESSAGE it produces is <= 1300 bytes.
    let mut ok = 0;
    for n in (900..1300).rev() {
        let (code, _) = admin(
            &mut s,
            0,
            "POST",
            "/v1/messages?client=a",
            &"y".repeat(n),
            "",
        );
        if code == 202 {
            ok = n;
            break;
        }
        assert_eq!(code, 413);
    }
    assert!(ok > 0);
    let m = drain(&mut s).remove(0);
    assert!(m.bytes.len() <= 1300, "{}", m.bytes.len());
    // The bound allows for the widest transaction numbers a retransmission may carry.
    assert!(
        m.bytes.len() >= 1300 - 64,
        "bound is tight: {}",
        m.bytes.len()
    );
}

#[test]
fn clients_api_and_metrics() {
    let mut s = Server::new(
        Config {
            epoch_ms: 1_000_000,
            ..cfg()
        },
        0,
    );
    register(&mut s, 0, "a", "10.0.0.1:5060", Some("tv,beta"));
    register(&mut s, 0, "b", "10.0.0.2:5060", Some("tv"));
    register(&mut s, 0, "c", "10.0.0.3:5060", Some("phone"));
    let (code, v) = admin(&mut s, 5_000, "GET", "/v1/clients?class=tv&limit=1", "", "");
    assert_eq!(code, 200);
    assert_eq!(num(&v, "total"), 2);
    assert_eq!(v.get("clients").unwrap().as_array().unwrap().len(), 1);
    let (code, v) = admin(&mut s, 5_000, "GET", "/v1/clients/a", "", "");
    assert_eq!(code, 200);
    assert_eq!(v.get("address").unwrap().as_str(), Some("10.0.0.1:5060"));
    assert_eq!(
        v.get("contact").unwrap().as_str(),
        Some("sip:a@10.0.0.1:5060")
    );
    let classes: Vec<_> = v
        .get("classes")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(classes, vec!["tv", "beta"]);
    assert_eq!(num(&v, "expires_in"), 600 + 30 - 5);
    assert_eq!(num(&v, "last_seen_ms"), 1_000_000);
    assert_eq!(
        num(
            &admin(&mut s, 5_000, "GET", "/v1/clients", "", "").1,
            "total"
        ),
        3
    );
    assert_eq!(admin(&mut s, 5_000, "GET", "/v1/clients/zz", "", "").0, 404);
    let m = admin_raw(&mut s, 5_000, "GET", "/metrics", "", "");
    let text = String::from_utf8(m.body).unwrap();
    assert!(text.contains("sippush_registered_clients 3\n"), "{text}");
    assert!(text.contains("sippush_registrations_total 3\n"));
    assert!(text.contains("sippush_admin_requests_total{code=\"200\"}"));
    assert!(m.content_type.starts_with("text/plain; version=0.0.4"));
}

#[test]
fn push_to_union_of_classes_and_ids_counts_each_client_once() {
    let mut s = Server::new(cfg(), 0);
    register(&mut s, 0, "a", "10.0.0.1:5060", Some("tv,beta"));
    register(&mut s, 0, "b", "10.0.0.2:5060", Some("tv"));
    register(&mut s, 0, "c", "10.0.0.3:5060", Some("phone"));
    let (code, v) = admin(
        &mut s,
        0,
        "POST",
        "/v1/messages?class=tv&class=beta&client=a&client=c",
        "x",
        "",
    );
    assert_eq!(code, 202);
    assert_eq!(num(&v, "targets"), 3);
    assert_eq!(drain(&mut s).len(), 3);
}

/// Runs `f` on a thread and fails (instead of hanging the suite) when it does not return
/// within 20 seconds (generous: the machine may be busy; the work takes milliseconds).
fn within_seconds(f: impl FnOnce() + Send + 'static) {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(()) => {}
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("did not return: an endless loop"),
    }
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

// ---------------------------------------------------------------- seeded simulation

/// Accounting: every message has `targets = acked + failed + expired + pending`, and each pending
/// delivery of an active message is exactly one queue node (none lost, none counted twice).
fn check_accounting(s: &Server) {
    s.check_invariants();
    let mut per_push: std::collections::HashMap<PushKey, u32> = Default::default();
    for (_, n) in s.nodes.iter() {
        *per_push.entry(n.push).or_default() += 1;
    }
    for (k, p) in s.pushes.iter() {
        assert!(p.acked + p.failed + p.expired <= p.targets, "overcounted");
        if !p.is_done() {
            assert_eq!(
                per_push.get(&k).copied().unwrap_or(0),
                p.pending(),
                "pending == nodes for push seq {}",
                p.seq
            );
        }
    }
}

/// Per client, MESSAGEs go out in submission order (a Push-Id never goes back).
fn check_order(order: &mut std::collections::HashMap<String, u64>, out: &[Out]) {
    for m in out {
        if let Some(pid) = m.header("Push-Id") {
            let seq: u64 = pid.rsplit('-').next().unwrap().parse().unwrap();
            let to = m.header("To").unwrap();
            let last = order.entry(to.clone()).or_insert(0);
            assert!(seq >= *last, "{to}: Push-Id {pid} after a later one");
            *last = seq;
        }
    }
}

/// Random registrations, deregistrations, heartbeats, pushes, answers (2xx, 1xx, 486, none)
/// and timer steps at exact deadlines, under small limits; after each step the invariants and
/// the accounting hold, and once every client and message is gone nothing is left behind.
#[test]
fn random_operations_keep_accounting_and_leave_nothing_behind() {
    within_seconds(|| {
        for seed in 0..300u64 {
            simulate(seed);
        }
    });
}

fn simulate(seed: u64) {
    let mut rng = crate::rand::Rng::new(seed);
    let mut s = Server::new(
        Config {
            max_inflight: 1 + rng.below(4) as usize,
            max_queue: 1 + rng.below(3) as usize,
            min_expires: 1,
            grace_s: rng.below(3) as u32,
            retention_s: rng.below(3) as u32,
            t1_ms: 50,
            t2_ms: 400,
            ..cfg()
        },
        0,
    );
    let ids = ["a", "b", "c", "d"];
    let mut cseq = [1u32; 4];
    let mut now = 0u64;
    let mut inbox: Vec<Out> = Vec::new();
    let mut order: std::collections::HashMap<String, u64> = Default::default();
    for _step in 0..400 {
        let target = now + rng.below(300);
        // Step through every deadline exactly, as the shell does.
        for _ in 0..1000 {
            match s.poll_timeout() {
                Some(d) if d > now && d <= target => {
                    now = d;
                    s.handle_timeout(now);
                    let fresh = drain(&mut s);
                    check_order(&mut order, &fresh);
                    inbox.extend(fresh);
                }
                _ => break,
            }
        }
        now = target;
        let i = rng.below(4) as usize;
        let src = format!("10.0.0.{}:{}", i + 1, 5060 + rng.below(2));
        match rng.below(10) {
            0 | 1 => {
                let mut r = Reg::new(ids[i], &src);
                cseq[i] += 1;
                r.cseq = cseq[i];
                r.expires = Some([0, 1, 2, 5, 600][rng.below(5) as usize]);
                s.handle_datagram(now, addr(&src), &r.bytes());
            }
            2 => {
                s.handle_datagram(
                    now,
                    addr(&src),
                    &options(ids[i], &src, &format!("z9hG4bKo{now}")),
                );
            }
            3 => {
                let ttl = 1 + rng.below(4);
                let q = match rng.below(3) {
                    0 => format!("all=1&ttl={ttl}"),
                    1 => format!("client={}&client={}&ttl={ttl}", ids[i], ids[(i + 1) % 4]),
                    _ => format!("client={}&all=1&ttl={ttl}", ids[i]),
                };
                let _ = admin(&mut s, now, "POST", &format!("/v1/messages?{q}"), "x", "");
            }
            4..=6 => {
                if !inbox.is_empty() {
                    let m = inbox.remove(rng.below(inbox.len() as u64) as usize);
                    if m.method().as_deref() == Some("MESSAGE") {
                        let code = [200u16, 200, 100, 486][rng.below(4) as usize];
                        s.handle_datagram(now, m.dest, &answer(&m.bytes, code));
                    }
                }
            }
            _ => s.handle_timeout(now),
        }
        let fresh = drain(&mut s);
        check_order(&mut order, &fresh);
        inbox.extend(fresh);
        if inbox.len() > 50 {
            inbox.drain(..25);
        }
        check_accounting(&s);
    }
    // Everything ends: all clients deregister or expire, all TTLs and retention pass.
    for t in 0..200u64 {
        now += 100;
        s.handle_timeout(now);
        drain(&mut s);
        if t % 10 == 0 {
            check_accounting(&s);
        }
    }
    now += 4_000_000;
    s.handle_timeout(now);
    drain(&mut s);
    now += 10_000;
    s.handle_timeout(now);
    drain(&mut s);
    check_accounting(&s);
    assert!(s.reg.is_empty(), "seed {seed}: clients");
    assert!(
        s.pushes.is_empty(),
        "seed {seed}: pushes {}",
        s.pushes.len()
    );
    assert!(
        s.queues.is_empty() && s.nodes.is_empty() && s.txns.is_empty() && s.parked.is_empty(),
        "seed {seed}: queues {} nodes {} txns {} parked {}",
        s.queues.len(),
        s.nodes.len(),
        s.txns.len(),
        s.parked.len()
    );
    assert_eq!(s.active_pushes, 0);
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
