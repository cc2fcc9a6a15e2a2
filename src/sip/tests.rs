//! Parser and builder tests over the message files in `tests/messages/` (valid and invalid
//! messages in the categories of RFC 4475) and over generated variations.

use std::net::SocketAddr;

use super::*;

macro_rules! fixture {
    ($dir:literal, $name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/messages/", $dir, "/", $name, ".sip")) as &[u8],
        )
    };
}

const VALID: &[(&str, &[u8])] = &[
    fixture!("valid", "register"),
    fixture!("valid", "ok_register"),
    fixture!("valid", "message"),
    fixture!("valid", "options"),
    fixture!("valid", "tortuous"),
    fixture!("valid", "intmeth"),
    fixture!("valid", "esc02"),
    fixture!("valid", "escnull"),
    fixture!("valid", "lwsdisp"),
    fixture!("valid", "semiuri"),
    fixture!("valid", "transports"),
    fixture!("valid", "dblreq"),
    fixture!("valid", "unreason"),
    fixture!("valid", "noreason"),
    fixture!("valid", "ipv6"),
    fixture!("valid", "tel"),
    fixture!("valid", "star"),
];

/// Invalid messages and the first error `parse` + `check_all_views` must report.
const INVALID: &[((&str, &[u8]), ErrorKind)] = &[
    (fixture!("invalid", "clerr"), ErrorKind::BodyTooShort),
    (fixture!("invalid", "ncl"), ErrorKind::BadContentLength),
    (
        fixture!("invalid", "nonnumeric_cl"),
        ErrorKind::BadContentLength,
    ),
    (fixture!("invalid", "scalar02"), ErrorKind::BadCSeq),
    (fixture!("invalid", "quotbal"), ErrorKind::UnterminatedQuote),
    (fixture!("invalid", "ltgtruri"), ErrorKind::BadRequestUri),
    (fixture!("invalid", "lwsruri"), ErrorKind::BadRequestLine),
    (fixture!("invalid", "lwsstart"), ErrorKind::BadRequestLine),
    (fixture!("invalid", "trws"), ErrorKind::BadRequestLine),
    (fixture!("invalid", "escruri"), ErrorKind::BadRequestUri),
    (fixture!("invalid", "regbadct"), ErrorKind::BadNameAddr),
    (fixture!("invalid", "badaspec"), ErrorKind::BadUri),
    (fixture!("invalid", "baddn"), ErrorKind::BadNameAddr),
    (
        fixture!("invalid", "badvers"),
        ErrorKind::VersionNotSupported,
    ),
    (
        fixture!("invalid", "mismatch01"),
        ErrorKind::CSeqMethodMismatch,
    ),
    (
        fixture!("invalid", "mismatch02"),
        ErrorKind::CSeqMethodMismatch,
    ),
    (fixture!("invalid", "bigcode"), ErrorKind::BadStatusCode),
    (
        fixture!("invalid", "missing_callid"),
        ErrorKind::MissingCallId,
    ),
    (fixture!("invalid", "missing_via"), ErrorKind::MissingVia),
    (
        fixture!("invalid", "missing_maxfwd"),
        ErrorKind::MissingMaxForwards,
    ),
    (fixture!("invalid", "missing_from"), ErrorKind::MissingFrom),
    (fixture!("invalid", "missing_to"), ErrorKind::MissingTo),
    (fixture!("invalid", "missing_cseq"), ErrorKind::MissingCSeq),
    (
        fixture!("invalid", "unterminated_angle"),
        ErrorKind::UnterminatedAngle,
    ),
    (
        fixture!("invalid", "bad_start_line"),
        ErrorKind::BadStartLine,
    ),
    (
        fixture!("invalid", "dup_callid"),
        ErrorKind::DuplicateHeader,
    ),
    (fixture!("invalid", "bad_via"), ErrorKind::BadVia),
    (fixture!("invalid", "bare_lf"), ErrorKind::BadHeaderLine),
];

fn full_check(buf: &[u8]) -> Result<(), ParseError> {
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let msg = parse(buf, &mut hs)?;
    msg.check_all_views()
}

#[test]
fn every_valid_fixture_parses_with_all_views() {
    for (name, buf) in VALID {
        if let Err(e) = full_check(buf) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn every_invalid_fixture_reports_its_error() {
    for ((name, buf), kind) in INVALID {
        match full_check(buf) {
            Ok(()) => panic!("{name}: parsed but should fail with {kind:?}"),
            Err(e) => {
                assert_eq!(e.kind, *kind, "{name}: {e}");
                assert!(
                    e.at <= buf.len(),
                    "{name}: offset {} beyond {}",
                    e.at,
                    buf.len()
                );
            }
        }
    }
}

#[test]
fn error_offsets_point_at_the_culprit() {
    let at = |name: &str| {
        let (_, buf) = INVALID
            .iter()
            .find(|((n, _), _)| *n == name)
            .map(|(f, _)| *f)
            .unwrap();
        (buf, full_check(buf).unwrap_err().at)
    };
    let (buf, a) = at("quotbal");
    assert!(buf[a..].starts_with(b"\"Mr. J. User"));
    let (buf, a) = at("mismatch01");
    assert!(buf[a..].starts_with(b"1 INVITE"));
    let (buf, a) = at("ncl");
    assert!(buf[a..].starts_with(b"-999"));
    let (buf, a) = at("bad_via");
    assert!(buf[a..].starts_with(b"192.0.2.1;branch"));
    let (buf, a) = at("dup_callid");
    assert!(buf[a..].starts_with(b"other@"));
}

#[test]
fn dispositions_of_fixtures() {
    let disp = |name: &str| {
        let ((_, buf), _) = INVALID.iter().find(|((n, _), _)| *n == name).unwrap();
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let is_req = parse_raw(buf, &mut hs)
            .map(|r| r.is_request())
            .unwrap_or(false);
        full_check(buf).unwrap_err().disposition(is_req)
    };
    assert_eq!(disp("badvers"), Disposition::Respond(505));
    assert_eq!(disp("clerr"), Disposition::Respond(400));
    assert_eq!(disp("lwsstart"), Disposition::Respond(400));
    assert_eq!(disp("escruri"), Disposition::Respond(400));
    assert_eq!(disp("bad_start_line"), Disposition::Drop);
    assert_eq!(disp("bigcode"), Disposition::Drop);
}

#[test]
fn strict_prefixes_never_parse() {
    for (name, buf) in VALID {
        // Messages whose length is not fixed by Content-Length are exempt for prefixes that
        // cut the body; every fixture here carries Content-Length.
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        let full_len = parse(buf, &mut hs).unwrap().raw().len();
        for n in 0..full_len {
            let mut hs = [Header::EMPTY; MAX_HEADERS];
            if let Ok(m) = parse(&buf[..n], &mut hs) {
                panic!(
                    "{name}: prefix of {n}/{full_len} bytes parsed as {:?}",
                    m.start()
                );
            }
        }
    }
}

#[test]
fn tortuous_fields() {
    let (_, buf) = VALID[4];
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = parse(buf, &mut hs).unwrap();
    assert_eq!(m.method(), Some(&b"INVITE"[..]));
    assert_eq!(m.to().tag(), Some(&b"1918181833n"[..]));
    assert_eq!(m.to().uri.user(), Some(&b"vivekg"[..]));
    assert_eq!(m.from().display, Some(&b"J Rosenberg \\\\\\\""[..]));
    assert_eq!(m.from().tag(), Some(&b"98asjd8"[..]));
    assert_eq!(
        m.cseq(),
        CSeq {
            seq: 9,
            method: b"INVITE"
        }
    );
    assert_eq!(m.raw().max_forwards(), Some(Ok(68)));
    assert_eq!(m.via().branch(), Some(&b"390skdjuw"[..]));
    assert_eq!(m.via().rport(), Rport::Requested);
    let vias: Vec<_> = m.raw().vias().map(|v| v.unwrap()).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].transport(), b"TCP");
    assert_eq!(vias[1].host(), b"spindle.example.com");
    assert_eq!(vias[1].branch(), Some(&b"z9hG4bK9ikj8"[..]));
    assert_eq!(vias[2].branch(), Some(&b"z9hG4bK30239"[..]));
    let contacts: Vec<_> = m.raw().contacts().map(|c| c.unwrap()).collect();
    assert_eq!(contacts.len(), 1);
    let Contact::Addr(c) = contacts[0] else {
        panic!("star")
    };
    assert_eq!(c.display, Some(&b"Quoted string \\\"\\\""[..]));
    assert_eq!(c.params.value(b"newparam"), Some(Some(&b"newvalue"[..])));
    assert_eq!(c.params.value(b"secondparam"), Some(None));
    assert_eq!(c.params.value(b"q"), Some(Some(&b"0.33"[..])));
    let nf = m.raw().header_str(b"newfangledheader").unwrap();
    assert_eq!(nf.value, b"newfangled value\r\n continued newfangled value");
    assert_eq!(m.raw().header(HeaderName::Subject).unwrap().value, b"");
    assert!(m.body().starts_with(b"v=0\r\n") && m.body().ends_with(b"a=rtpmap:31 LPC"));
}

#[test]
fn register_fields() {
    let (_, buf) = VALID[0];
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = parse(buf, &mut hs).unwrap();
    assert_eq!(m.to().uri.user(), Some(&b"tv-7"[..]));
    let Some(Ok(Contact::Addr(c))) = m.raw().contacts().next() else {
        panic!("contact")
    };
    assert_eq!(c.uri.host(), b"198.51.100.7");
    assert_eq!(c.uri.port(), Some(5060));
    assert_eq!(c.params.value(b"class"), Some(Some(&b"tv,beta"[..])));
    assert_eq!(Contact::Addr(c).expires(), Some(Ok(600)));
    assert_eq!(m.raw().expires(), Some(Ok(600)));
    assert_eq!(m.call_id(), b"8bK2b2p3F6qDmLwR0rWm8A..@198.51.100.7");
    assert_eq!(m.raw().content_length(), Some(Ok(0)));
    assert_eq!(
        m.raw().header(HeaderName::UserAgent).unwrap().value,
        b"sippush-client/0.1"
    );
    let allow: Vec<_> = m
        .raw()
        .values(HeaderName::Allow)
        .map(|v| v.unwrap().0)
        .collect();
    assert_eq!(allow.len(), 5);
    assert_eq!(allow[4], b"OPTIONS");
}

#[test]
fn compact_forms_are_recognised() {
    for (c, full) in [
        ("i", HeaderName::CallId),
        ("m", HeaderName::Contact),
        ("e", HeaderName::ContentEncoding),
        ("l", HeaderName::ContentLength),
        ("f", HeaderName::From),
        ("t", HeaderName::To),
        ("v", HeaderName::Via),
        ("c", HeaderName::ContentType),
        ("k", HeaderName::Supported),
        ("s", HeaderName::Subject),
        ("o", HeaderName::Event),
        ("u", HeaderName::AllowEvents),
        ("r", HeaderName::ReferTo),
        ("b", HeaderName::ReferredBy),
        ("x", HeaderName::SessionExpires),
        ("y", HeaderName::Identity),
        ("d", HeaderName::RequestDisposition),
        ("j", HeaderName::RejectContact),
        ("a", HeaderName::AcceptContact),
    ] {
        assert_eq!(HeaderName::from_bytes(c.as_bytes()), full, "{c}");
        assert_eq!(
            HeaderName::from_bytes(c.to_uppercase().as_bytes()),
            full,
            "{c}"
        );
        assert_eq!(HeaderName::from_bytes(full.as_str().as_bytes()), full);
        assert_eq!(
            HeaderName::from_bytes(full.as_str().to_lowercase().as_bytes()),
            full
        );
    }
    assert_eq!(HeaderName::from_bytes(b"q"), HeaderName::Other);
    assert_eq!(HeaderName::from_bytes(b"X-Custom"), HeaderName::Other);
    assert_eq!(HeaderName::from_bytes(b"push-id"), HeaderName::PushId);
    let msg = b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 1\r\nf: <sip:x@y>;tag=1\r\nt: sip:a@b\r\ni: c@h\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = parse(msg, &mut hs).unwrap();
    assert_eq!(m.call_id(), b"c@h");
}

fn options_with_extra(extra: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c@h\r\nCSeq: 1 OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn header_table_limit_is_an_error_not_an_allocation() {
    let fill = |n: usize| (0..n).map(|i| format!("X-H{i}: v\r\n")).collect::<String>();
    // 7 standard header lines + n extra.
    let ok = options_with_extra(&fill(MAX_HEADERS - 7));
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert!(parse(&ok, &mut hs).is_ok());
    let too_many = options_with_extra(&fill(MAX_HEADERS - 6));
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert_eq!(
        parse(&too_many, &mut hs).unwrap_err().kind,
        ErrorKind::TooManyHeaders
    );
    let mut none: [Header; 0] = [];
    assert_eq!(
        parse(&ok, &mut none).unwrap_err().kind,
        ErrorKind::TooManyHeaders
    );
}

#[test]
fn repeated_and_comma_separated_values() {
    let m = options_with_extra(
        "Via: SIP/2.0/UDP p1;branch=z9hG4bK2, SIP/2.0/UDP p2;branch=z9hG4bK3\r\nContact: <sip:a@1.2.3.4>, \"B, C\" <sip:b@5.6.7.8>\r\nm: sip:c@9.9.9.9;expires=5\r\n",
    );
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let msg = parse(&m, &mut hs).unwrap();
    let branches: Vec<_> = msg
        .raw()
        .vias()
        .map(|v| v.unwrap().branch().unwrap())
        .collect();
    assert_eq!(branches, vec![&b"z9hG4bK1"[..], b"z9hG4bK2", b"z9hG4bK3"]);
    let hosts: Vec<_> = msg
        .raw()
        .contacts()
        .map(|c| match c.unwrap() {
            Contact::Addr(a) => a.uri.host(),
            Contact::Star => b"*",
        })
        .collect();
    assert_eq!(hosts, vec![&b"1.2.3.4"[..], b"5.6.7.8", b"9.9.9.9"]);
}

#[test]
fn duplicate_single_header_with_same_value_is_tolerated() {
    let m = options_with_extra("Call-ID: c@h\r\n");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert!(parse(&m, &mut hs).is_ok());
}

#[test]
fn content_length_governs_the_body() {
    let body_msg = |cl: &str, body: &str| {
        format!("MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c@h\r\nCSeq: 1 MESSAGE\r\n{cl}\r\n{body}").into_bytes()
    };
    let m = body_msg("Content-Length: 5\r\n", "helloEXTRA");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert_eq!(parse(&m, &mut hs).unwrap().body(), b"hello");
    let m = body_msg("Content-Length: 00005\r\n", "hello");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert_eq!(parse(&m, &mut hs).unwrap().body(), b"hello");
    let m = body_msg("", "rest of datagram");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert_eq!(parse(&m, &mut hs).unwrap().body(), b"rest of datagram");
    let m = body_msg("Content-Length: 6\r\n", "hello");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert_eq!(
        parse(&m, &mut hs).unwrap_err().kind,
        ErrorKind::BodyTooShort
    );
    let m = body_msg("Content-Length: 99999999999\r\n", "hello");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    assert_eq!(
        parse(&m, &mut hs).unwrap_err().kind,
        ErrorKind::BadContentLength
    );
}

#[test]
fn start_line_variants() {
    let kind = |first: &str| {
        let m = options_with_extra("");
        let rest = &m[m.iter().position(|&b| b == b'\n').unwrap() + 1..];
        let mut buf = first.as_bytes().to_vec();
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(rest);
        full_check(&buf).err().map(|e| e.kind)
    };
    assert_eq!(kind("OPTIONS sip:a@b SIP/2.0"), None);
    assert_eq!(kind("OPTIONS sip:a@b sip/2.0"), None);
    assert_eq!(
        kind("OPTIONS sip:a@b SIP/3.0"),
        Some(ErrorKind::VersionNotSupported)
    );
    assert_eq!(
        kind("OPTIONS sip:a@b HTTP/1.1"),
        Some(ErrorKind::BadStartLine)
    );
    assert_eq!(kind("OPTIONS sip:a@b"), Some(ErrorKind::BadStartLine));
    assert_eq!(kind("OPTIONS"), Some(ErrorKind::BadStartLine));
    assert_eq!(kind("OPT@ONS sip:a@b SIP/2.0"), Some(ErrorKind::BadMethod));
    assert_eq!(kind(" OPTIONS sip:a@b SIP/2.0"), Some(ErrorKind::BadMethod));
    assert_eq!(
        kind("OPTIONS nocolon SIP/2.0"),
        Some(ErrorKind::BadRequestUri)
    );
    assert_eq!(kind("SIP/2.0 200 OK"), None);
    assert_eq!(kind("SIP/2.0 200"), None);
    assert_eq!(kind("SIP/2.0 099 Low"), Some(ErrorKind::BadStatusCode));
    assert_eq!(kind("SIP/2.0 700 High"), Some(ErrorKind::BadStatusCode));
    assert_eq!(kind("SIP/2.0 20 X"), Some(ErrorKind::BadStatusCode));
    assert_eq!(kind("SIP/2.0 2000 X"), Some(ErrorKind::BadStatusCode));
    assert_eq!(kind("SIP/2.1 200 OK"), Some(ErrorKind::VersionNotSupported));
    assert_eq!(kind("SIP/2.0"), Some(ErrorKind::BadStartLine));
}

#[test]
fn empty_and_garbage() {
    for (input, kind) in [
        (&b""[..], ErrorKind::Empty),
        (b"\r\n\r\n", ErrorKind::Empty),
        (b"   ", ErrorKind::Empty),
        (b"OPTIONS sip:a@b SIP/2.0", ErrorKind::IncompleteHeaders),
        (
            b"OPTIONS sip:a@b SIP/2.0\r\nVia",
            ErrorKind::IncompleteHeaders,
        ),
        (
            b"OPTIONS sip:a@b SIP/2.0\r\n\xff: x\r\n\r\n",
            ErrorKind::BadHeaderName,
        ),
        (
            b"OPTIONS sip:a@b SIP/2.0\r\nVia x\r\n\r\n",
            ErrorKind::BadHeaderLine,
        ),
        (
            b"OPTIONS sip:a@b SIP/2.0\r\n folded-first\r\n\r\n",
            ErrorKind::BadHeaderLine,
        ),
        (
            b"OPTIONS sip:a@b SIP/2.0\r\nVia: a\rb\r\n\r\n",
            ErrorKind::BadHeaderLine,
        ),
        (b"\x00\x01\x02\x03", ErrorKind::IncompleteHeaders),
    ] {
        let mut hs = [Header::EMPTY; MAX_HEADERS];
        assert_eq!(
            parse(input, &mut hs).unwrap_err().kind,
            kind,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// Deterministic xorshift for the mutation test.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn mutations_never_panic() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let interesting = b"\r\n \t:;,\"<>@[]=/%\\0";
    for (_, base) in VALID {
        for _ in 0..400 {
            let mut m = base.to_vec();
            for _ in 0..(rng(&mut seed) % 6 + 1) {
                let pos = (rng(&mut seed) as usize) % m.len().max(1);
                match rng(&mut seed) % 4 {
                    0 if !m.is_empty() => {
                        m[pos] = interesting[(rng(&mut seed) as usize) % interesting.len()]
                    }
                    1 if !m.is_empty() => {
                        m.remove(pos);
                    }
                    2 => m.insert(
                        pos.min(m.len()),
                        interesting[(rng(&mut seed) as usize) % interesting.len()],
                    ),
                    _ => m.truncate(pos),
                }
            }
            let mut hs = [Header::EMPTY; MAX_HEADERS];
            if let Ok(msg) = parse(&m, &mut hs) {
                let _ = msg.check_all_views();
                let mut out = Vec::new();
                if msg.is_request() {
                    let mut w = Writer::new(&mut out);
                    response_to(&mut w, &msg, 200, b"OK", &ResponseOpts::default());
                    w.finish(None, b"");
                    let mut hs2 = [Header::EMPTY; MAX_HEADERS];
                    parse(&out, &mut hs2).expect("a response to a valid request parses");
                }
            }
            let _ = frame(&m);
        }
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn response_copies_headers_and_sets_received_rport() {
    let (_, buf) = VALID[0];
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let req = parse(buf, &mut hs).unwrap();
    let mut out = vec![0xAA; 16]; // poison: the writer must clear it
    let mut w = Writer::new(&mut out);
    let opts = ResponseOpts {
        source: Some(addr("203.0.113.9:40123")),
        to_tag: Some(b"srv1"),
    };
    response_to(&mut w, &req, 200, b"OK", &opts);
    w.header(
        "Contact",
        b"<sip:tv-7@198.51.100.7:5060;transport=udp>;expires=600",
    );
    let n = w.finish(None, b"");
    assert_eq!(n, out.len());
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
    assert!(text.contains("Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f60718;rport=40123;received=203.0.113.9\r\n"), "{text}");
    assert!(
        text.contains("To: <sip:tv-7@push.example.net>;tag=srv1\r\n"),
        "{text}"
    );
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    let mut hs2 = [Header::EMPTY; MAX_HEADERS];
    let resp = parse(&out, &mut hs2).unwrap();
    assert_eq!(resp.status(), Some(200));
    assert_eq!(resp.via().branch(), req.via().branch());
    assert_eq!(resp.via().rport(), Rport::Value(40123));
    assert_eq!(resp.via().received(), Some(&b"203.0.113.9"[..]));
    assert_eq!(resp.from().tag(), req.from().tag());
    assert_eq!(resp.from().uri.raw(), req.from().uri.raw());
    assert_eq!(resp.from().uri.user(), req.from().uri.user());
    assert_eq!(resp.to().tag(), Some(&b"srv1"[..]));
    assert_eq!(resp.call_id(), req.call_id());
    assert_eq!(resp.cseq(), req.cseq());
}

#[test]
fn response_keeps_every_via_and_existing_to_tag() {
    let m = options_with_extra(
        "Via: SIP/2.0/UDP p1;branch=z9hG4bK2, SIP/2.0/UDP p2;branch=z9hG4bK3\r\n",
    );
    let m = String::from_utf8(m)
        .unwrap()
        .replace("To: <sip:a@b>", "t: <sip:a@b>;tag=old")
        .replace("Via: SIP/2.0/UDP h;", "Via: SIP/2.0/UDP 10.0.0.1:5060;");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let req = parse(m.as_bytes(), &mut hs).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    // Same address as sent-by and no rport: no received parameter (RFC 3261 §18.2.1).
    let opts = ResponseOpts {
        source: Some(addr("10.0.0.1:5060")),
        to_tag: Some(b"new"),
    };
    response_to(&mut w, &req, 486, b"Busy Here", &opts);
    w.finish(Some(b"text/plain"), b"busy");
    let mut hs2 = [Header::EMPTY; MAX_HEADERS];
    let resp = parse(&out, &mut hs2).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("received"), "{text}");
    let branches: Vec<_> = resp
        .raw()
        .vias()
        .map(|v| v.unwrap().branch().unwrap())
        .collect();
    assert_eq!(branches, vec![&b"z9hG4bK1"[..], b"z9hG4bK2", b"z9hG4bK3"]);
    assert_eq!(resp.to().tag(), Some(&b"old"[..]));
    assert_eq!(resp.body(), b"busy");
    assert_eq!(
        resp.raw().content_type().unwrap().unwrap().subtype,
        b"plain"
    );
    // A host name as sent-by always gets received (RFC 3261 §18.2.1).
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m2 = options_with_extra("");
    let req = parse(&m2, &mut hs).unwrap();
    let mut w = Writer::new(&mut out);
    response_to(
        &mut w,
        &req,
        200,
        b"OK",
        &ResponseOpts {
            source: Some(addr("[::1]:5070")),
            to_tag: None,
        },
    );
    w.finish(None, b"");
    assert!(
        String::from_utf8_lossy(&out)
            .contains("Via: SIP/2.0/UDP h;branch=z9hG4bK1;received=::1\r\n")
    );
}

#[test]
fn request_round_trip() {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    w.request_line(b"MESSAGE", b"sip:tv-7@127.0.0.1:40001");
    w.begin("Via")
        .push(b"SIP/2.0/UDP ")
        .push_hostport(addr("127.0.0.1:5060"))
        .push(b";branch=z9hG4bK-sp-")
        .push_hex(0xdead)
        .end();
    w.header_u64("Max-Forwards", 70);
    w.header("From", b"<sip:sippush@127.0.0.1>;tag=sp");
    w.header("To", b"<sip:tv-7@127.0.0.1>");
    w.begin("Call-ID").push_hex(42).push(b"@sippush").end();
    w.header("CSeq", b"1 MESSAGE");
    w.header("Push-Id", b"abc-1");
    w.finish(Some(b"text/plain;charset=utf-8"), b"reload");
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let m = parse(&out, &mut hs).unwrap();
    assert_eq!(m.via().branch(), Some(&b"z9hG4bK-sp-dead"[..]));
    assert_eq!(m.via().port(), Some(5060));
    assert_eq!(m.call_id(), b"2a@sippush");
    assert_eq!(m.raw().header(HeaderName::PushId).unwrap().value, b"abc-1");
    assert_eq!(m.body(), b"reload");
    assert_eq!(m.raw().request_uri().unwrap().unwrap().port(), Some(40001));
    let mut w = Writer::new(&mut out);
    w.push_hostport(addr("[2001:db8::1]:5060"));
    assert_eq!(out, b"[2001:db8::1]:5060");
}

#[test]
fn view_sizes_stay_small() {
    use std::mem::size_of;
    eprintln!(
        "Message {} RawMessage {} Via {} NameAddr {} Uri {} Header {}",
        size_of::<Message<'_>>(),
        size_of::<RawMessage<'_>>(),
        size_of::<Via<'_>>(),
        size_of::<NameAddr<'_>>(),
        size_of::<Uri<'_>>(),
        size_of::<Header>()
    );
    assert!(size_of::<Header>() <= 16);
    assert!(size_of::<Uri<'_>>() <= 48);
}

#[test]
fn response_to_an_ipv6_source_parses_again() {
    // Found while fuzzing: `received=` carries a bare IPv6 address (RFC 3261 §20.42), which
    // our own parser rejected, so IPv6 clients could never read their 200 OK.
    let (_, buf) = VALID[0];
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let req = parse(buf, &mut hs).unwrap();
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    let opts = ResponseOpts {
        source: Some(addr("[2001:db8::7]:5062")),
        to_tag: Some(b"t"),
    };
    response_to(&mut w, &req, 200, b"OK", &opts);
    w.finish(None, b"");
    let mut hs2 = [Header::EMPTY; MAX_HEADERS];
    let resp =
        parse(&out, &mut hs2).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
    assert_eq!(resp.via().received(), Some(&b"2001:db8::7"[..]));
    assert_eq!(resp.via().rport(), Rport::Value(5062));
}
