//! The agent's rules at explicit virtual times, without sockets; and an agent against a real
//! server core in memory.

use std::net::SocketAddr;

use super::*;
use crate::sip::{self, Header, MAX_HEADERS, ResponseOpts};

const SRV: &str = "192.0.2.1:5060";
const LOCAL: &str = "198.51.100.7:5062";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn profile() -> Profile {
    Profile {
        jitter_pct: 0,
        heartbeat_ms: 0,
        ..Profile::new(addr(SRV), "push.example.net")
    }
}

/// A parsed copy of an outgoing datagram.
#[derive(Clone)]
struct Out {
    dest: SocketAddr,
    bytes: Vec<u8>,
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let m = sip::parse(&self.bytes, &mut hs).expect("agent output parses");
        m.raw()
            .header_str(name.as_bytes())
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    }
    fn method(&self) -> Option<String> {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let m = sip::parse(&self.bytes, &mut hs).unwrap();
        m.method().map(|b| String::from_utf8_lossy(b).into_owned())
    }
    fn status(&self) -> Option<u16> {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        sip::parse(&self.bytes, &mut hs).unwrap().status()
    }
    fn branch(&self) -> String {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let m = sip::parse(&self.bytes, &mut hs).unwrap();
        String::from_utf8_lossy(m.via().branch().unwrap()).into_owned()
    }
}

fn drain(a: &mut Agent, p: &Profile) -> Vec<Out> {
    let mut v = Vec::new();
    let mut buf = Vec::new();
    for _ in 0..100 {
        match a.poll_transmit(p, &mut buf) {
            Some(dest) => v.push(Out {
                dest,
                bytes: buf.clone(),
            }),
            None => break,
        }
    }
    a.check_invariants();
    v
}

fn events(a: &mut Agent) -> Vec<Event> {
    std::iter::from_fn(|| a.poll_event()).take(10).collect()
}

/// The server's answer to `req`, with extra header lines.
fn respond(req: &Out, code: u16, extra: &str) -> Vec<u8> {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = sip::parse(&req.bytes, &mut hs).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    sip::response_to(
        &mut w,
        &m,
        code,
        b"Whatever",
        &ResponseOpts {
            source: Some(addr(LOCAL)),
            to_tag: Some(b"srv"),
        },
    );
    w.push(extra.as_bytes());
    w.finish(None, b"");
    out
}

fn message(push_id: Option<&str>, branch: &str, body: &str) -> Vec<u8> {
    let push = push_id.map_or(String::new(), |id| format!("Push-Id: {id}\r\n"));
    format!(
        "MESSAGE sip:tv-7@{LOCAL} SIP/2.0\r\nVia: SIP/2.0/UDP {SRV};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:sippush@{SRV}>;tag=sp1\r\nTo: <sip:tv-7@push.example.net>\r\nCall-ID: c-{branch}\r\nCSeq: 1 MESSAGE\r\n{push}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An agent that sent its first REGISTER at t=0 and got `granted` seconds.
fn registered(p: &Profile, granted: u32) -> (Agent, Out) {
    let mut a = Agent::new("tv-7", &["tv", "beta"], addr(LOCAL), 7);
    a.start(p, 0);
    let reg = drain(&mut a, p).remove(0);
    let ok = respond(
        &reg,
        200,
        &format!("Contact: <sip:tv-7@{LOCAL}>;expires={granted}\r\n"),
    );
    assert_eq!(a.handle_datagram(p, 10, addr(SRV), &ok), None);
    assert_eq!(
        events(&mut a),
        vec![Event::Registered { granted_s: granted }]
    );
    a.check_invariants();
    (a, reg)
}

/// Times (and datagrams) the agent sends from `from` to `to` ms, calling timers every ms.
fn run(a: &mut Agent, p: &Profile, from: u64, to: u64) -> Vec<(u64, Out)> {
    let mut sent = Vec::new();
    let mut now = from;
    while now <= to {
        a.handle_timeout(p, now);
        sent.extend(drain(a, p).into_iter().map(|o| (now, o)));
        // Jump to the next deadline: exact, and fast over hours of virtual time.
        now = match a.poll_timeout() {
            Some(t) if t > now => t.min(to + 1),
            _ => now + 1,
        };
    }
    sent
}

#[test]
fn register_carries_contact_classes_and_expires() {
    let p = profile();
    let mut a = Agent::new("tv-7", &["tv", "beta"], addr(LOCAL), 1);
    assert_eq!(a.poll_timeout(), None);
    a.start(&p, 0);
    let out = drain(&mut a, &p);
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.dest, addr(SRV));
    assert!(
        r.text()
            .starts_with("REGISTER sip:push.example.net SIP/2.0\r\n")
    );
    assert_eq!(
        r.header("Contact").as_deref(),
        Some("<sip:tv-7@198.51.100.7:5062>;class=\"tv,beta\"")
    );
    assert_eq!(r.header("Expires").as_deref(), Some("600"));
    assert_eq!(
        r.header("To").as_deref(),
        Some("<sip:tv-7@push.example.net>")
    );
    assert!(
        r.header("Via")
            .unwrap()
            .starts_with("SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK")
    );
    assert_eq!(r.header("CSeq").as_deref(), Some("1 REGISTER"));
    assert_eq!(a.state(), State::Registering);
    // No classes: no class parameter (the server defaults it); IPv6 in brackets.
    let mut b = Agent::new("x", &[], addr("[2001:db8::5]:7000"), 1);
    b.start(&p, 0);
    let r = drain(&mut b, &p).remove(0);
    assert_eq!(
        r.header("Contact").as_deref(),
        Some("<sip:x@[2001:db8::5]:7000>")
    );
    assert!(
        r.header("Call-ID")
            .unwrap()
            .ends_with("@[2001:db8::5]:7000")
    );
}

#[test]
fn own_register_retransmits_t1_doubling_to_t2_then_server_lost() {
    let p = profile();
    let mut a = Agent::new("tv-7", &[], addr(LOCAL), 1);
    a.start(&p, 0);
    let first = drain(&mut a, &p).remove(0);
    let sent = run(&mut a, &p, 1, 32_000);
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        vec![
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(
        sent.iter().all(|(_, o)| o.bytes == first.bytes),
        "same bytes"
    );
    assert_eq!(a.stats().retransmissions, 10);
    // Timer F at 64*T1: the server is lost, a retry is scheduled after backoff_min.
    assert_eq!(
        events(&mut a),
        vec![
            Event::ServerLost,
            Event::Reregistering {
                attempt: 1,
                delay_ms: 1000
            }
        ]
    );
    assert_eq!(a.state(), State::BackingOff);
    assert_eq!(a.poll_timeout(), Some(33_000));
    let retry = run(&mut a, &p, 32_001, 33_000);
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].1.header("CSeq").as_deref(), Some("2 REGISTER"));
    assert_ne!(retry[0].1.branch(), first.branch());
    assert_eq!(retry[0].1.header("Call-ID"), first.header("Call-ID"));
}

#[test]
fn provisional_answer_slows_retransmissions_to_t2() {
    let p = profile();
    let mut a = Agent::new("tv-7", &[], addr(LOCAL), 1);
    a.start(&p, 0);
    let reg = drain(&mut a, &p).remove(0);
    a.handle_datagram(&p, 100, addr(SRV), &respond(&reg, 100, ""));
    let times: Vec<u64> = run(&mut a, &p, 101, 13_000)
        .iter()
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(times, vec![500, 4500, 8500, 12500]);
}

#[test]
fn refresh_at_half_the_granted_interval() {
    let p = profile();
    let (mut a, first) = registered(&p, 600);
    assert_eq!(a.state(), State::Registered);
    assert_eq!(a.poll_timeout(), Some(300_010));
    let sent = run(&mut a, &p, 11, 300_010);
    assert_eq!(sent.len(), 1);
    let (t, refresh) = &sent[0];
    assert_eq!(*t, 300_010);
    assert_eq!(refresh.header("CSeq").as_deref(), Some("2 REGISTER"));
    assert_eq!(refresh.header("Call-ID"), first.header("Call-ID"));
    assert_eq!(refresh.header("Expires").as_deref(), Some("600"));
    // A shorter grant (Expires header only) moves the next refresh earlier.
    a.handle_datagram(
        &p,
        300_020,
        addr(SRV),
        &respond(refresh, 200, "Expires: 120\r\n"),
    );
    assert_eq!(events(&mut a), vec![Event::Registered { granted_s: 120 }]);
    assert_eq!(a.poll_timeout(), Some(360_020));
    // With jitter, the refresh lands in [half - pct, half].
    let jp = Profile {
        jitter_pct: 10,
        ..profile()
    };
    let mut at = Vec::new();
    for seed in 0..20 {
        let mut a = Agent::new("j", &[], addr(LOCAL), seed);
        a.start(&jp, 0);
        let reg = drain(&mut a, &jp).remove(0);
        a.handle_datagram(&jp, 0, addr(SRV), &respond(&reg, 200, "Expires: 600\r\n"));
        let t = a.poll_timeout().unwrap();
        assert!((270_000..=300_000).contains(&t), "{t}");
        at.push(t);
    }
    at.dedup();
    assert!(at.len() > 10, "jittered: {at:?}");
}

#[test]
fn heartbeats_every_interval_with_fresh_branches_and_bounded_jitter() {
    let p = Profile {
        heartbeat_ms: 30_000,
        jitter_pct: 20,
        ..profile()
    };
    let (mut a, _) = registered(&p, 3600);
    let mut last = 10u64;
    let mut gaps = Vec::new();
    let mut branches = std::collections::HashSet::new();
    let mut now = 11;
    for _ in 0..40 {
        let next = a.poll_timeout().unwrap();
        let sent = run(&mut a, &p, now, next);
        now = next + 1;
        for (t, o) in sent {
            assert_eq!(o.method().as_deref(), Some("OPTIONS"));
            assert_eq!(
                o.header("From")
                    .as_deref()
                    .map(|f| f.starts_with("<sip:tv-7@push.example.net>")),
                Some(true)
            );
            assert!(branches.insert(o.branch()), "fresh branch each heartbeat");
            // The server answers at once.
            a.handle_datagram(&p, t, addr(SRV), &respond(&o, 200, ""));
            gaps.push(t - last);
            last = t;
        }
    }
    assert!(gaps.len() >= 30, "{gaps:?}");
    assert!(
        gaps.iter().all(|g| (24_000..=30_000).contains(g)),
        "{gaps:?}"
    );
    let mut distinct = gaps.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 10, "jittered: {gaps:?}");
    assert_eq!(a.stats().unexpected, 0);
}

#[test]
fn unanswered_heartbeat_means_server_lost_then_backoff_grows_capped_and_jittered() {
    let p = Profile {
        heartbeat_ms: 10_000,
        jitter_pct: 20,
        backoff_min_ms: 1_000,
        backoff_max_ms: 16_000,
        ..profile()
    };
    let (mut a, _) = registered(&p, 3600);
    // Nothing answers from now on.
    let mut delays = Vec::new();
    let mut now = 11;
    while delays.len() < 8 && now < 2_000_000 {
        let next = a.poll_timeout().unwrap();
        run(&mut a, &p, now, next);
        now = next + 1;
        for e in events(&mut a) {
            if let Event::Reregistering { attempt, delay_ms } = e {
                assert_eq!(attempt as usize, delays.len() + 1);
                delays.push(delay_ms as u64);
            }
        }
    }
    assert_eq!(delays.len(), 8);
    for (i, d) in delays.iter().enumerate() {
        let base = (1_000u64 << i).min(16_000);
        assert!(
            (base * 8 / 10..=base).contains(d),
            "attempt {}: {d} vs {base}",
            i + 1
        );
    }
    // Below the cap the delays never shrink (jitter <= 50 % of a doubling); at the cap they
    // vary within [80 %, 100 %] of it.
    assert!(delays[..5].windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
    assert!(*delays.last().unwrap() <= 16_000);
    // Jitter: another seed gives other delays.
    let mut b = Agent::new("tv-7", &[], addr(LOCAL), 99);
    b.start(&p, 0);
    drain(&mut b, &p);
    b.handle_timeout(&p, 32_000);
    let other = events(&mut b);
    let mut c = Agent::new("tv-7", &[], addr(LOCAL), 98);
    c.start(&p, 0);
    drain(&mut c, &p);
    c.handle_timeout(&p, 32_000);
    assert_ne!(other, events(&mut c));
    // A success resets the attempt count.
    let next = a.poll_timeout().unwrap();
    let retry = run(&mut a, &p, now, next);
    let (t, reg) = retry.last().cloned().unwrap();
    a.handle_datagram(&p, t, addr(SRV), &respond(&reg, 200, "Expires: 60\r\n"));
    assert_eq!(a.state(), State::Registered);
    assert_eq!(a.attempt, 0);
}

#[test]
fn message_is_answered_every_time_and_delivered_once() {
    let p = Profile {
        dedupe_window: 3,
        ..profile()
    };
    let (mut a, _) = registered(&p, 600);
    let m = message(Some("abc-1"), "z9hG4bK-sp1", "{\"a\":1}");
    let d = a.handle_datagram(&p, 20, addr(SRV), &m).expect("delivered");
    assert_eq!(
        (d.push_id, d.content_type, d.body),
        (&b"abc-1"[..], &b"application/json"[..], &b"{\"a\":1}"[..])
    );
    let first = drain(&mut a, &p);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].dest, addr(SRV));
    assert_eq!(first[0].status(), Some(200));
    let to = first[0].header("To").unwrap();
    assert!(to.contains(";tag="), "{to}");
    assert_eq!(first[0].header("CSeq").as_deref(), Some("1 MESSAGE"));
    // A retransmission and a new transaction with the same Push-Id: answered, not delivered.
    assert_eq!(a.handle_datagram(&p, 520, addr(SRV), &m), None);
    let again = drain(&mut a, &p);
    assert_eq!(again[0].bytes, first[0].bytes, "identical answer");
    let m2 = message(Some("abc-1"), "z9hG4bK-sp2", "{\"a\":1}");
    assert_eq!(a.handle_datagram(&p, 900, addr(SRV), &m2), None);
    assert_eq!(drain(&mut a, &p)[0].status(), Some(200));
    assert_eq!(a.stats().duplicates, 2);
    // The window holds 3 ids: after 3 others, abc-1 is new again.
    for id in ["abc-2", "abc-3", "abc-4"] {
        assert!(
            a.handle_datagram(&p, 1000, addr(SRV), &message(Some(id), id, "x"))
                .is_some()
        );
        drain(&mut a, &p);
    }
    assert!(a.handle_datagram(&p, 1100, addr(SRV), &m).is_some());
    assert_eq!(a.stats().messages, 7);
}

#[test]
fn message_without_push_id_is_refused_with_400() {
    let p = profile();
    let (mut a, _) = registered(&p, 600);
    assert_eq!(
        a.handle_datagram(&p, 20, addr(SRV), &message(None, "z9hG4bKx", "hi")),
        None
    );
    let out = drain(&mut a, &p);
    assert_eq!(out[0].status(), Some(400));
    assert!(out[0].text().starts_with("SIP/2.0 400 Missing Push-Id\r\n"));
    assert_eq!(a.stats().missing_push_id, 1);
}

#[test]
fn interval_too_brief_asks_again_with_min_expires() {
    let p = Profile {
        expires_s: 30,
        ..profile()
    };
    let mut a = Agent::new("tv-7", &[], addr(LOCAL), 1);
    a.start(&p, 0);
    let reg = drain(&mut a, &p).remove(0);
    a.handle_datagram(&p, 5, addr(SRV), &respond(&reg, 423, "Min-Expires: 60\r\n"));
    assert_eq!(
        events(&mut a),
        vec![Event::IntervalRaised { expires_s: 60 }]
    );
    let again = drain(&mut a, &p);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].header("Expires").as_deref(), Some("60"));
    assert_eq!(again[0].header("CSeq").as_deref(), Some("2 REGISTER"));
    // A 423 that does not raise the interval is a failure (no endless loop).
    a.handle_datagram(
        &p,
        6,
        addr(SRV),
        &respond(&again[0], 423, "Min-Expires: 60\r\n"),
    );
    assert_eq!(
        events(&mut a),
        vec![
            Event::RegistrationFailed { code: 423 },
            Event::Reregistering {
                attempt: 1,
                delay_ms: 1000
            }
        ]
    );
}

#[test]
fn final_error_fails_the_registration_and_backs_off() {
    let p = profile();
    let mut a = Agent::new("tv-7", &[], addr(LOCAL), 1);
    a.start(&p, 0);
    let reg = drain(&mut a, &p).remove(0);
    a.handle_datagram(&p, 5, addr(SRV), &respond(&reg, 503, ""));
    assert_eq!(
        events(&mut a),
        vec![
            Event::RegistrationFailed { code: 503 },
            Event::Reregistering {
                attempt: 1,
                delay_ms: 1000
            }
        ]
    );
    // The late retransmitted answer matches nothing now.
    a.handle_datagram(&p, 6, addr(SRV), &respond(&reg, 503, ""));
    assert_eq!(a.stats().unexpected, 1);
    assert_eq!(drain(&mut a, &p).len(), 0);
    assert_eq!(a.poll_timeout(), Some(1005));
}

#[test]
fn stop_deregisters_and_reports_when_answered_or_given_up() {
    let p = Profile {
        heartbeat_ms: 1_000,
        ..profile()
    };
    let (mut a, reg) = registered(&p, 600);
    a.stop(&p, 100);
    let out = drain(&mut a, &p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].header("Expires").as_deref(), Some("0"));
    assert_eq!(out[0].header("CSeq").as_deref(), Some("2 REGISTER"));
    assert_eq!(out[0].header("Call-ID"), reg.header("Call-ID"));
    assert_eq!(a.state(), State::Deregistering);
    a.stop(&p, 150);
    assert!(drain(&mut a, &p).is_empty(), "stop twice sends once");
    a.handle_datagram(&p, 200, addr(SRV), &respond(&out[0], 200, ""));
    assert_eq!(events(&mut a), vec![Event::Deregistered]);
    assert_eq!(a.state(), State::Stopped);
    assert_eq!(a.poll_timeout(), None, "no heartbeat or refresh after stop");
    // Unanswered: given up at Timer F.
    let (mut b, _) = registered(&p, 600);
    b.stop(&p, 100);
    let sent = run(&mut b, &p, 100, 40_000);
    assert_eq!(
        sent.len(),
        1 + 10,
        "the deregistration and its retransmissions"
    );
    assert_eq!(events(&mut b), vec![Event::Deregistered]);
    // Never started: at once.
    let mut c = Agent::new("c", &[], addr(LOCAL), 1);
    c.stop(&p, 0);
    assert_eq!(events(&mut c), vec![Event::Deregistered]);
    assert!(drain(&mut c, &p).is_empty());
}

#[test]
fn garbage_and_stray_responses_are_counted_drops() {
    let p = profile();
    let (mut a, reg) = registered(&p, 600);
    let before = a.poll_timeout();
    a.handle_datagram(&p, 20, addr(SRV), b"\x00\xffnot sip at all");
    a.handle_datagram(&p, 20, addr(SRV), b"\r\n\r\n");
    a.handle_datagram(&p, 20, addr(SRV), b"");
    assert_eq!(a.stats().malformed, 1);
    // The answer to an old REGISTER, to a branch we never used, an ACK.
    a.handle_datagram(&p, 20, addr(SRV), &respond(&reg, 200, ""));
    let ack = String::from_utf8(message(Some("1"), "z9hG4bKa", ""))
        .unwrap()
        .replace("MESSAGE", "ACK");
    a.handle_datagram(&p, 20, addr(SRV), ack.as_bytes());
    assert_eq!(a.stats().unexpected, 2);
    assert!(drain(&mut a, &p).is_empty());
    assert_eq!(a.poll_timeout(), before, "state untouched");
    // Every prefix and many mutations of a MESSAGE: never a panic.
    let m = message(Some("p-1"), "z9hG4bKq", "{\"x\":\"y\"}");
    for n in 0..m.len() {
        a.handle_datagram(&p, 30, addr(SRV), &m[..n]);
        drain(&mut a, &p);
    }
    let mut rng = crate::rand::Rng::new(5);
    for _ in 0..2_000 {
        let mut bad = m.clone();
        for _ in 0..3 {
            let i = rng.below(bad.len() as u64) as usize;
            bad[i] = rng.next_u64() as u8;
        }
        a.handle_datagram(&p, 40, addr(SRV), &bad);
        drain(&mut a, &p);
    }
}

#[test]
fn options_and_other_requests_from_the_server() {
    let p = profile();
    let (mut a, _) = registered(&p, 600);
    let opt = String::from_utf8(message(Some("1"), "z9hG4bKo", ""))
        .unwrap()
        .replace("MESSAGE", "OPTIONS");
    a.handle_datagram(&p, 20, addr(SRV), opt.as_bytes());
    let out = drain(&mut a, &p);
    assert_eq!(out[0].status(), Some(200));
    assert_eq!(out[0].header("Allow").as_deref(), Some("MESSAGE, OPTIONS"));
    let info = opt.replace("OPTIONS", "INFO");
    a.handle_datagram(&p, 20, addr(SRV), info.as_bytes());
    assert_eq!(drain(&mut a, &p)[0].status(), Some(405));
}

#[test]
fn agent_is_small() {
    let size = std::mem::size_of::<Agent>();
    assert!(size <= 160, "Agent is {size} bytes");
    let p = profile();
    let (mut a, _) = registered(&p, 600);
    let before = a.heap_bytes();
    assert_eq!(before, "tv-7198.51.100.7:5062;class=\"tv,beta\"".len());
    a.handle_datagram(&p, 20, addr(SRV), &message(Some("1"), "z9hG4bKm", "x"));
    drain(&mut a, &p);
    let after = a.heap_bytes();
    // The ring (64 ids + cursor) and the outbox grown to one answer.
    assert!(after >= before + 65 * 8 + 24 + 200, "{after}");
    assert!(after <= before + 65 * 8 + 24 + 1024, "{after}");
    eprintln!("size_of::<Agent>() = {size}; heap after one MESSAGE = {after} bytes");
}

// ------------------------------------------------------------ against a real server core

mod with_server {
    use super::*;
    use crate::admin::http::{HttpConn, Limits};
    use crate::server::{Config, Server};

    fn admin(
        s: &mut Server,
        now: u64,
        method: &str,
        target: &str,
        body: &str,
    ) -> (u16, crate::json::Value) {
        let raw = format!(
            "{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut conn = HttpConn::new(Limits::default());
        conn.receive(raw.as_bytes());
        let req = conn.poll_request().unwrap().unwrap();
        let resp = s.handle_admin(now, &req);
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        (
            resp.status,
            crate::json::parse(&text).unwrap_or(crate::json::Value::Null),
        )
    }

    /// Move datagrams both ways until both sides are quiet; returns deliveries as owned
    /// (push_id, body). `lose` drops datagrams for which it returns true.
    fn exchange(
        s: &mut Server,
        a: &mut Agent,
        p: &Profile,
        now: u64,
        lose: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Vec<(String, String)> {
        let local = addr(LOCAL);
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(dest) = a.poll_transmit(p, &mut buf) {
                assert_eq!(dest, s.config().sip_addr);
                moved = true;
                if !lose(&buf) {
                    s.handle_datagram(now, local, &buf);
                }
            }
            while let Some(dest) = s.poll_transmit(&mut buf) {
                assert_eq!(dest, local);
                moved = true;
                if lose(&buf) {
                    continue;
                }
                let bytes = buf.clone();
                if let Some(d) = a.handle_datagram(p, now, s.config().sip_addr, &bytes) {
                    got.push((
                        String::from_utf8_lossy(d.push_id).into_owned(),
                        String::from_utf8_lossy(d.body).into_owned(),
                    ));
                }
            }
            if !moved {
                break;
            }
        }
        a.check_invariants();
        s.check_invariants();
        got
    }

    #[test]
    fn register_push_deliver_ack_complete_then_deregister() {
        let mut s = Server::new(
            Config {
                sip_addr: addr(SRV),
                domain: "push.example.net".into(),
                ..Config::default()
            },
            0,
        );
        let p = Profile {
            heartbeat_ms: 20_000,
            ..profile()
        };
        let mut a = Agent::new("tv-7", &["tv"], addr(LOCAL), 3);
        a.start(&p, 0);
        let mut keep = |_: &[u8]| false;
        assert!(exchange(&mut s, &mut a, &p, 0, &mut keep).is_empty());
        assert_eq!(events(&mut a), vec![Event::Registered { granted_s: 600 }]);
        let (code, c) = admin(&mut s, 1, "GET", "/v1/clients/tv-7", "");
        assert_eq!(code, 200, "{c:?}");
        assert_eq!(
            c.get("classes").and_then(|v| v.as_array()).map(|v| v.len()),
            Some(1)
        );

        // A push whose first MESSAGE and first answer are lost: retransmitted, delivered once.
        let (code, v) = admin(&mut s, 1_000, "POST", "/v1/messages?class=tv", "{\"go\":1}");
        assert_eq!(code, 202, "{v:?}");
        let id = v.get("id").and_then(|x| x.as_str()).unwrap().to_string();
        let (mut lost_message, mut lost_answer) = (false, false);
        let mut lose_two = |b: &[u8]| {
            if b.starts_with(b"MESSAGE") && !lost_message {
                lost_message = true;
                return true;
            }
            if b.starts_with(b"SIP/2.0 200") && !lost_answer {
                lost_answer = true;
                return true;
            }
            false
        };
        let mut got = exchange(&mut s, &mut a, &p, 1_000, &mut lose_two);
        assert!(got.is_empty(), "the first MESSAGE was lost");
        // The MESSAGE reaches the agent at the first retransmission (its answer is lost),
        // then again at the second, answered this time.
        for t in [1_500, 2_500] {
            s.handle_timeout(t);
            a.handle_timeout(&p, t);
            got.extend(exchange(&mut s, &mut a, &p, t, &mut lose_two));
        }
        assert_eq!(got, vec![(id.clone(), "{\"go\":1}".to_string())]);
        assert_eq!(a.stats().duplicates, 1);
        let (_, st) = admin(&mut s, 2_600, "GET", &format!("/v1/messages/{id}"), "");
        assert_eq!(st.get("acked").and_then(|x| x.as_u64()), Some(1), "{st:?}");
        assert_eq!(st.get("complete").and_then(|x| x.as_bool()), Some(true));

        // Heartbeats and a refresh over 20 minutes keep the client in the table.
        let mut now = 2_600;
        while now < 1_200_000 {
            now = a.poll_timeout().unwrap().max(now);
            a.handle_timeout(&p, now);
            s.handle_timeout(now);
            exchange(&mut s, &mut a, &p, now, &mut keep);
        }
        let evs = events(&mut a);
        assert!(
            evs.iter().all(|e| matches!(
                e,
                Event::Registered { granted_s: 600 } | Event::HeartbeatAnswered
            )),
            "{evs:?}"
        );
        assert!(
            s.metrics.heartbeats_options >= 50,
            "{}",
            s.metrics.heartbeats_options
        );
        assert!(s.metrics.refreshes >= 3);
        assert_eq!(admin(&mut s, now, "GET", "/v1/clients/tv-7", "").0, 200);

        // Stop: the server removes the client.
        a.stop(&p, now);
        exchange(&mut s, &mut a, &p, now, &mut keep);
        assert_eq!(events(&mut a), vec![Event::Deregistered]);
        assert_eq!(admin(&mut s, now, "GET", "/v1/clients/tv-7", "").0, 404);
        assert_eq!(a.stats().unexpected + a.stats().malformed, 0);
    }
}
