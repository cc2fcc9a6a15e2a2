//! Unit tests for `HttpConn`: framing, pipelining, connection persistence and every error path.

use super::*;

const GET: &[u8] = b"GET /v1/clients?id=a%20b&x HTTP/1.1\r\nHost: admin\r\n\
Authorization: Bearer t\r\nX-Custom:  spaced value \t\r\n\r\n";
const POST: &[u8] = b"POST /push HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n\
Content-Length: 11\r\n\r\n{\"id\":\"ab\"}";
const CHUNKED: &[u8] = b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n";

fn conn() -> HttpConn {
    HttpConn::new(Limits::default())
}

fn feed(c: &mut HttpConn, bytes: &[u8]) {
    assert_eq!(c.receive(bytes), bytes.len(), "input buffer full");
}

fn take_output(c: &mut HttpConn) -> String {
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let n = c.pending_output().len();
    c.consumed_output(n);
    out
}

/// Polls one request and answers it with 200 and the request's body echoed.
fn answer(c: &mut HttpConn) -> Option<(String, String, Vec<u8>)> {
    let (method, path, body) = match c.poll_request() {
        Ok(Some(req)) => (
            req.method().to_string(),
            req.path().to_string(),
            req.body().to_vec(),
        ),
        Ok(None) => return None,
        Err(e) => panic!("unexpected error {e:?}"),
    };
    c.respond(&Response::text(200, body.clone()));
    Some((method, path, body))
}

fn error_of(bytes: &[u8]) -> HttpError {
    error_with(Limits::default(), bytes)
}

fn error_with(limits: Limits, bytes: &[u8]) -> HttpError {
    let mut c = HttpConn::new(limits);
    c.receive(bytes);
    match c.poll_request() {
        Err(e) => e,
        Ok(Some(req)) => panic!("accepted {:?}", req.target()),
        Ok(None) => panic!("incomplete"),
    }
}

#[test]
fn parses_request_fields() {
    let mut c = conn();
    feed(&mut c, GET);
    let req = c.poll_request().unwrap().unwrap();
    assert_eq!(req.method(), "GET");
    assert_eq!(req.target(), "/v1/clients?id=a%20b&x");
    assert_eq!(req.path(), "/v1/clients");
    assert_eq!(req.query(), "id=a%20b&x");
    assert_eq!(req.version(), Version::Http11);
    assert!(req.keep_alive());
    assert!(!req.is_head());
    assert_eq!(req.host(), Some("admin"));
    assert_eq!(req.authorization(), Some("Bearer t"));
    assert_eq!(req.header("x-custom"), Some(&b"spaced value"[..]));
    assert_eq!(req.content_type(), None);
    assert_eq!(req.connection(), None);
    assert_eq!(req.content_length(), None);
    assert_eq!(req.body(), b"");
    let names: Vec<&str> = req.headers().map(|(n, _)| n).collect();
    assert_eq!(names, ["Host", "Authorization", "X-Custom"]);
    let pairs: Vec<_> = query_pairs(req.query()).collect();
    assert_eq!(pairs[0], ("id".into(), "a b".into()));
    assert_eq!(pairs[1], ("x".into(), "".into()));
    // Asking again before responding yields the same request.
    assert_eq!(c.poll_request().unwrap().unwrap().path(), "/v1/clients");
    c.respond(&Response::json(200, "{}"));
    assert_eq!(
        take_output(&mut c),
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    );
    assert!(!c.wants_close());
    assert!(c.poll_request().unwrap().is_none());
    assert!(!c.has_partial_input());
}

#[test]
fn every_strict_prefix_is_incomplete() {
    for full in [GET, POST, CHUNKED] {
        for end in 0..full.len() {
            let mut c = conn();
            feed(&mut c, &full[..end]);
            assert!(
                matches!(c.poll_request(), Ok(None)),
                "prefix {:?}",
                String::from_utf8_lossy(&full[..end])
            );
        }
        // And byte by byte into one connection, polling after each byte.
        let mut c = conn();
        for (i, b) in full.iter().enumerate() {
            feed(&mut c, std::slice::from_ref(b));
            let done = c.poll_request().unwrap().is_some();
            assert_eq!(done, i + 1 == full.len(), "byte {i}");
        }
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut c = conn();
    let mut all = Vec::new();
    all.extend_from_slice(POST);
    all.extend_from_slice(CHUNKED);
    all.extend_from_slice(GET);
    feed(&mut c, &all);
    assert_eq!(answer(&mut c).unwrap().2, b"{\"id\":\"ab\"}");
    assert_eq!(answer(&mut c).unwrap().2, b"Wikipedia");
    assert_eq!(answer(&mut c).unwrap().1, "/v1/clients");
    assert!(answer(&mut c).is_none());
    let out = take_output(&mut c);
    let first = out.find("{\"id\"").unwrap();
    let second = out.find("Wikipedia").unwrap();
    assert!(first < second);
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3);
    assert!(!c.wants_close());
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let mut c = conn();
    feed(&mut c, CHUNKED);
    let req = c.poll_request().unwrap().unwrap();
    assert!(req.is_chunked());
    assert_eq!(req.content_length(), None);
    assert_eq!(req.body(), b"Wikipedia");
    c.respond(&Response::empty(204));
    assert_eq!(take_output(&mut c), "HTTP/1.1 204 No Content\r\n\r\n");
    // An empty chunked body.
    feed(
        &mut c,
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(c.poll_request().unwrap().unwrap().body(), b"");
}

#[test]
fn keep_alive_rules() {
    let cases: &[(&[u8], bool, Option<&str>)] = &[
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true, None),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            false,
            Some("Connection: close"),
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n",
            false,
            Some("Connection: close"),
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false, Some("Connection: close")),
        (
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            true,
            Some("Connection: keep-alive"),
        ),
    ];
    for (bytes, keep, header) in cases {
        let mut c = conn();
        feed(&mut c, bytes);
        feed(&mut c, b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(c.poll_request().unwrap().unwrap().keep_alive(), *keep);
        c.respond(&Response::empty(200));
        let out = take_output(&mut c);
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
        match header {
            Some(h) => assert!(out.contains(h), "{out}"),
            None => assert!(!out.contains("Connection"), "{out}"),
        }
        assert_eq!(c.wants_close(), !keep);
        // After a closing response the pipelined request is ignored.
        assert_eq!(c.poll_request().unwrap().is_some(), *keep);
        if !keep {
            assert!(c.read_buf().is_empty());
        }
    }
}

#[test]
fn response_closing_flag_closes() {
    let mut c = conn();
    feed(&mut c, GET);
    c.poll_request().unwrap().unwrap();
    c.respond(
        &Response::empty(503)
            .closing()
            .with_header("Retry-After", "1"),
    );
    assert!(c.wants_close());
    assert!(take_output(&mut c).contains("Retry-After: 1\r\nConnection: close\r\n\r\n"));
}

#[test]
fn head_response_has_length_but_no_body() {
    let mut c = conn();
    feed(&mut c, b"HEAD /metrics HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(c.poll_request().unwrap().unwrap().is_head());
    c.respond(&Response::text(200, "abc"));
    assert!(take_output(&mut c).ends_with("Content-Length: 3\r\n\r\n"));
}

#[test]
fn header_too_large_is_431() {
    let limits = Limits {
        max_header_bytes: 256,
        ..Limits::default()
    };
    // Incomplete and already over the limit.
    let mut big = b"GET / HTTP/1.1\r\nHost: h\r\nX: ".to_vec();
    big.resize(300, b'a');
    assert_eq!(error_with(limits, &big), HttpError::HeaderTooLarge);
    // Complete but over the limit.
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(error_with(limits, &big), HttpError::HeaderTooLarge);
    // An endless header block stops at the limit, whatever the read sizes.
    let mut c = HttpConn::new(limits);
    feed(&mut c, b"GET / HTTP/1.1\r\n");
    let mut err = None;
    for _ in 0..1000 {
        if c.receive(b"X-Flood: 1\r\n") == 0 {
            break;
        }
        if let Err(e) = c.poll_request() {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err, Some(HttpError::HeaderTooLarge));
    assert_eq!(err.map(HttpError::status), Some(431));
}

#[test]
fn too_many_headers_is_431() {
    let mut req = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..MAX_HEADERS {
        req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    assert_eq!(error_of(&req), HttpError::TooManyHeaders);
    assert_eq!(HttpError::TooManyHeaders.status(), 431);
}

#[test]
fn body_too_large_is_413_before_the_body() {
    let limits = Limits {
        max_body_bytes: 100,
        ..Limits::default()
    };
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n";
    assert_eq!(error_with(limits, head), HttpError::BodyTooLarge);
    let huge = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    assert_eq!(error_with(limits, huge), HttpError::BodyTooLarge);
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n";
    assert_eq!(error_with(limits, chunked), HttpError::BodyTooLarge);
    // Exactly at the limit is fine.
    let mut ok = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n".to_vec();
    ok.resize(ok.len() + 100, b'x');
    let mut c = HttpConn::new(limits);
    feed(&mut c, &ok);
    assert_eq!(c.poll_request().unwrap().unwrap().body().len(), 100);
}

#[test]
fn bad_content_length_is_400() {
    for cl in [
        "Content-Length: abc",
        "Content-Length: -1",
        "Content-Length: +5",
        "Content-Length: 5, 6",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length:",
        "Content-Length: 1 2",
    ] {
        let req = format!("POST / HTTP/1.1\r\nHost: h\r\n{cl}\r\n\r\n");
        assert_eq!(
            error_of(req.as_bytes()),
            HttpError::InvalidContentLength,
            "{cl}"
        );
    }
    // Identical duplicates are accepted (RFC 9110 §8.6).
    let mut c = conn();
    feed(
        &mut c,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(c.poll_request().unwrap().unwrap().body(), b"ok");
}

#[test]
fn framing_conflicts_are_400_and_unknown_codings_501() {
    let cases: &[(&str, HttpError)] = &[
        (
            "HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
            HttpError::InvalidFraming,
        ),
        (
            "HTTP/1.0\r\nTransfer-Encoding: chunked",
            HttpError::InvalidFraming,
        ),
        (
            "HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked",
            HttpError::InvalidFraming,
        ),
        (
            "HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked",
            HttpError::UnsupportedTransferCoding,
        ),
        (
            "HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip",
            HttpError::UnsupportedTransferCoding,
        ),
        (
            "HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity",
            HttpError::UnsupportedTransferCoding,
        ),
        ("HTTP/1.1", HttpError::InvalidHost),
        ("HTTP/1.1\r\nHost: a\r\nHost: b", HttpError::InvalidHost),
        (
            "HTTP/1.1\r\nHost: h\r\nExpect: 200-ok",
            HttpError::ExpectationFailed,
        ),
        ("HTTP/2.0\r\nHost: h", HttpError::VersionNotSupported),
        ("HTTP/1.2\r\nHost: h", HttpError::VersionNotSupported),
        ("HTTP/3", HttpError::VersionNotSupported),
        ("XTTP/1.1\r\nHost: h", HttpError::Malformed),
    ];
    for (tail, err) in cases {
        let req = format!("POST /x {tail}\r\n\r\n");
        assert_eq!(error_of(req.as_bytes()), *err, "{tail}");
    }
    assert_eq!(HttpError::UnsupportedTransferCoding.status(), 501);
    assert_eq!(HttpError::VersionNotSupported.status(), 505);
    assert_eq!(HttpError::ExpectationFailed.status(), 417);
    assert_eq!(HttpError::InvalidFraming.status(), 400);
}

#[test]
fn malformed_syntax_is_400() {
    for bad in [
        &b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let e = error_of(bad);
        assert_eq!(
            e.status(),
            400,
            "{:?} gave {e:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn error_response_is_json_and_closes() {
    let mut c = conn();
    feed(
        &mut c,
        b"GET / HTTP/2.0\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let err = c.poll_request().unwrap_err();
    assert!(c.wants_close());
    c.respond(&err.response());
    let out = take_output(&mut c);
    let body = r#"{"error":"http version not supported"}"#;
    assert_eq!(
        out,
        format!(
            "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    );
    assert!(matches!(c.poll_request(), Ok(None)));
    assert!(c.read_buf().is_empty());
}

#[test]
fn expect_100_continue() {
    let mut c = conn();
    feed(
        &mut c,
        b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n",
    );
    assert!(c.poll_request().unwrap().is_none());
    assert_eq!(take_output(&mut c), "HTTP/1.1 100 Continue\r\n\r\n");
    // Sent once only.
    feed(&mut c, b"he");
    assert!(c.poll_request().unwrap().is_none());
    assert_eq!(take_output(&mut c), "");
    feed(&mut c, b"llo");
    assert_eq!(answer(&mut c).unwrap().2, b"hello");
    assert!(take_output(&mut c).starts_with("HTTP/1.1 200 OK\r\n"));

    // Not sent when the body is already here, nor to HTTP/1.0 clients, nor before a 413.
    for req in [
        &b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"[..],
        b"PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n",
    ] {
        let mut c = conn();
        feed(&mut c, req);
        let _ = c.poll_request();
        assert!(!take_output(&mut c).contains("100 Continue"));
    }

    // Chunked bodies get it too once the headers are accepted.
    let mut c = conn();
    feed(
        &mut c,
        b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    assert!(c.poll_request().unwrap().is_none());
    assert_eq!(take_output(&mut c), "HTTP/1.1 100 Continue\r\n\r\n");
    feed(&mut c, b"3\r\nabc\r\n0\r\n\r\n");
    assert_eq!(c.poll_request().unwrap().unwrap().body(), b"abc");
}

#[test]
fn pending_output_pauses_pipelining() {
    let limits = Limits {
        max_pending_output: 10,
        ..Limits::default()
    };
    let mut c = HttpConn::new(limits);
    feed(&mut c, GET);
    feed(&mut c, GET);
    assert!(answer(&mut c).is_some());
    assert!(c.pending_output().len() > 10);
    assert!(c.poll_request().unwrap().is_none());
    // A partial drain is not enough; a full one resumes parsing.
    c.consumed_output(1);
    assert!(c.poll_request().unwrap().is_none());
    take_output(&mut c);
    assert!(answer(&mut c).is_some());
}

#[test]
fn memory_stays_bounded() {
    let limits = Limits {
        max_header_bytes: 512,
        max_body_bytes: 1024,
        max_pending_output: 1024,
    };
    let mut c = HttpConn::new(limits);
    // Many pipelined requests, never answered: reading stops at the capacity.
    let mut total = 0;
    for _ in 0..10_000 {
        let n = c.receive(GET);
        total += n;
        if n < GET.len() {
            break;
        }
    }
    assert!(total <= limits.input_capacity());
    assert!(c.read_buf().is_empty());
    // Answering frees space again.
    assert!(answer(&mut c).is_some());
    assert!(!c.read_buf().is_empty());
}

#[test]
fn leading_blank_lines_are_ignored() {
    let mut c = conn();
    feed(&mut c, b"\r\n\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(answer(&mut c).unwrap().1, "/a");
}

#[test]
fn unsolicited_response_closes() {
    let mut c = conn();
    feed(&mut c, b"GET / HTT");
    assert!(c.has_partial_input());
    c.respond(&Response::empty(408));
    assert!(c.wants_close());
    assert!(take_output(&mut c).starts_with("HTTP/1.1 408 Request Timeout\r\n"));
}

/// A tiny deterministic PRNG so the fuzz-style test replays exactly.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_input_in_random_pieces_never_panics() {
    let seed = 0x5eed_1234_u64;
    let mut rng = XorShift(seed);
    let alphabet = b"\r\n :;,0123456789abcdefHTP/.\x00\xff";
    let limits = Limits {
        max_header_bytes: 256,
        max_body_bytes: 64,
        max_pending_output: 128,
    };
    for round in 0..3000 {
        let mut input = Vec::new();
        for _ in 0..3 {
            let base = [GET, POST, CHUNKED][rng.below(3)];
            input.extend_from_slice(base);
        }
        for _ in 0..rng.below(4) {
            let i = rng.below(input.len());
            input[i] = alphabet[rng.below(alphabet.len())];
        }
        let mut c = HttpConn::new(limits);
        let mut pos = 0;
        let mut steps = 0;
        while pos < input.len() && steps < 10_000 {
            steps += 1;
            let n = (1 + rng.below(40)).min(input.len() - pos);
            pos += c.receive(&input[pos..pos + n]);
            loop {
                match c.poll_request() {
                    Ok(Some(req)) => {
                        let _ = (req.path(), req.query(), req.headers().count(), req.body());
                        c.respond(&Response::text(200, "ok"));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        c.respond(&e.response());
                        break;
                    }
                }
            }
            let n = c.pending_output().len();
            c.consumed_output(n);
            if c.wants_close() {
                break;
            }
        }
        assert!(steps < 10_000, "round {round} of seed {seed:#x} stalled");
    }
}
