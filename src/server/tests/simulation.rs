//! A seeded simulation of random operations, checking the accounting after every step.

use super::*;

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
