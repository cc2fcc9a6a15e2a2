//! The admin API's routes and answers.

use super::*;

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
