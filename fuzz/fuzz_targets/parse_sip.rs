//! `sip::parse_raw` and `sip::parse`: never panic, every typed view is total, and a response
//! built from a valid request parses and echoes Call-ID, CSeq, From tag and top Via branch.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use sippush::sip::{self, Contact, Header, MAX_HEADERS, RawMessage, ResponseOpts, Writer};

fuzz_target!(|data: &[u8]| {
    let mut headers = [Header::EMPTY; MAX_HEADERS];
    if let Ok(raw) = sip::parse_raw(data, &mut headers) {
        touch_views(&raw);
    }
    let mut headers = [Header::EMPTY; MAX_HEADERS];
    let Ok(msg) = sip::parse(data, &mut headers) else {
        return;
    };
    touch_views(msg.raw());
    let _ = msg.check_all_views();
    if !msg.is_request() {
        return;
    }
    let opts = ResponseOpts {
        source: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 5060))),
        to_tag: Some(b"t"),
    };
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    sip::response_to(&mut w, &msg, 200, b"OK", &opts);
    w.finish(None, b"");
    let mut headers = [Header::EMPTY; MAX_HEADERS];
    let resp = match sip::parse(&out, &mut headers) {
        Ok(r) => r,
        Err(e) => panic!(
            "response does not parse: {e:?}\n{}",
            String::from_utf8_lossy(&out)
        ),
    };
    assert_eq!(resp.status(), Some(200));
    assert_eq!(resp.call_id(), msg.call_id(), "Call-ID");
    assert_eq!(resp.cseq(), msg.cseq(), "CSeq");
    assert_eq!(resp.from().tag(), msg.from().tag(), "From tag");
    assert_eq!(resp.via().branch(), msg.via().branch(), "top Via branch");
});

/// Call every lazy view; only panics matter, so results are dropped.
fn touch_views(raw: &RawMessage<'_>) {
    let _ = (
        raw.start(),
        raw.method(),
        raw.status(),
        raw.body(),
        raw.len(),
    );
    for h in raw.headers() {
        let _ = (h.name, h.raw_name, h.value, h.at);
    }
    if let Ok(v) = raw.via() {
        let _ = (
            v.protocol(),
            v.version(),
            v.transport(),
            v.host(),
            v.host_kind(),
        );
        let _ = (
            v.port(),
            v.branch(),
            v.received(),
            v.rport(),
            v.params().iter().count(),
        );
    }
    for v in raw.vias().take(MAX_HEADERS * 4) {
        let _ = v.map(|v| (v.host_kind(), v.params().iter().count()));
    }
    for a in [raw.from(), raw.to()].into_iter().flatten() {
        let _ = (
            a.display,
            a.tag(),
            a.uri.host_kind(),
            a.uri.param_iter().count(),
        );
        let _ = a.params.iter().count();
    }
    let _ = (
        raw.call_id(),
        raw.cseq(),
        raw.expires(),
        raw.content_length(),
    );
    let _ = (raw.content_type(), raw.max_forwards());
    if let Some(Ok(u)) = raw.request_uri() {
        let _ = (u.user(), u.password(), u.host_kind(), u.port(), u.headers());
        let _ = u.param_iter().count();
    }
    for c in raw.contacts().take(MAX_HEADERS * 4).flatten() {
        let _ = c.expires();
        if let Contact::Addr(a) = c {
            let _ = (a.uri.host_kind(), a.params.iter().count(), a.tag());
        }
    }
}
