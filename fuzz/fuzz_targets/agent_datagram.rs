//! `agent::Agent`: never panics on datagrams or timers, and every datagram it sends is a SIP
//! message that `parse_raw`s and frames to its own length.
//!
//! The input is split on 0xff: the first piece is a datagram from the server right after the
//! first REGISTER left at t=0; every later piece starts with a control byte `c` — time moves
//! on by `(c >> 2) * 500` ms (timers run), then `c & 3` picks the sender: 0 and 1 the server,
//! 2 a stranger, 3 the server after a `stop` (or a `start` when stopped). Then timers run on
//! (at most 64 times, up to 700 s later).
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use sippush::agent::{Agent, Profile, State};
use sippush::sip::{self, Frame, Header, MAX_HEADERS};

const SEP: u8 = 0xff;

fuzz_target!(|data: &[u8]| {
    let server = SocketAddr::from(([192, 0, 2, 1], 5060));
    let stranger = SocketAddr::from(([203, 0, 113, 9], 40000));
    let p = Profile::new(server, "push.example.net");
    let mut agent = Agent::new("tv-7", &["tv", "beta"], ([198, 51, 100, 7], 5062).into(), 1);
    let (mut buf, mut last) = (Vec::new(), Vec::new());
    agent.start(&p, 0);
    drain(&mut agent, &p, &mut buf, &mut last);
    let mut now = 0;
    for (i, piece) in data.split(|&b| b == SEP).enumerate() {
        let (ctrl, bytes) = match piece.split_first() {
            Some((&c, rest)) if i > 0 => (c, rest),
            _ => (0, piece),
        };
        now += u64::from(ctrl >> 2) * 500;
        agent.handle_timeout(&p, now);
        drain(&mut agent, &p, &mut buf, &mut last);
        if ctrl & 3 == 3 {
            match agent.state() {
                State::Idle | State::Stopped => agent.start(&p, now),
                _ => agent.stop(&p, now),
            }
            drain(&mut agent, &p, &mut buf, &mut last);
        }
        let from = if ctrl & 3 == 2 { stranger } else { server };
        let _ = agent.handle_datagram(&p, now, from, bytes);
        drain(&mut agent, &p, &mut buf, &mut last);
    }
    // Past the first refresh; bounded, since an unanswered agent retransmits forever.
    let end = now + 700_000;
    for _ in 0..64 {
        match agent.poll_timeout() {
            Some(t) if t <= end => {
                now = now.max(t);
                agent.handle_timeout(&p, now);
                drain(&mut agent, &p, &mut buf, &mut last);
            }
            _ => break,
        }
    }
});

/// Send every pending datagram through the framing checks (a retransmission, equal to the
/// last one checked, is not checked again), and take the events.
fn drain(agent: &mut Agent, p: &Profile, buf: &mut Vec<u8>, last: &mut Vec<u8>) {
    while agent.poll_transmit(p, buf).is_some() {
        if buf == last {
            continue;
        }
        let mut headers = [Header::EMPTY; MAX_HEADERS];
        if let Err(e) = sip::parse_raw(buf, &mut headers) {
            panic!(
                "sent datagram does not parse_raw: {e:?}\n{}",
                String::from_utf8_lossy(buf)
            );
        }
        assert_eq!(
            sip::frame(buf),
            Ok(Frame::Message(buf.len())),
            "sent datagram frames"
        );
        last.clone_from(buf);
    }
    while agent.poll_event().is_some() {}
}
