//! The core's rules at explicit virtual times, without sockets. This file holds the helpers;
//! the tests are grouped by topic in the files below.

mod admin;
mod errors;
mod liveness;
mod pushing;
mod registrar;
mod simulation;

use std::net::SocketAddr;

pub(super) use super::*;
use crate::admin::http::{HttpConn, Limits, Response};
use crate::sip::{self, Header, MAX_HEADERS, ResponseOpts, Writer};

pub(super) const SRV: &str = "127.0.0.1:5060";

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub(super) fn cfg() -> Config {
    Config {
        sip_addr: addr(SRV),
        ..Config::default()
    }
}

/// A parsed copy of an outgoing datagram.
pub(super) struct Out {
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

pub(super) fn drain(s: &mut Server) -> Vec<Out> {
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

pub(super) struct Reg<'a> {
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

pub(super) fn register(
    s: &mut Server,
    now: u64,
    id: &str,
    src: &str,
    classes: Option<&str>,
) -> Out {
    let mut r = Reg::new(id, src);
    r.classes = classes;
    s.handle_datagram(now, addr(src), &r.bytes());
    let mut out = drain(s);
    assert_eq!(out.len(), 1, "one answer");
    out.remove(0)
}

pub(super) fn options(id: &str, via: &str, branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:push.example.net SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{id}@push.example.net>;tag=o\r\nTo: <sip:push.example.net>\r\nCall-ID: o-{branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The client's answer to a MESSAGE.
pub(super) fn answer(message: &[u8], code: u16) -> Vec<u8> {
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

pub(super) fn admin(
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

pub(super) fn admin_raw(
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

pub(super) fn push(s: &mut Server, now: u64, query: &str, body: &str) -> String {
    let (code, v) = admin(s, now, "POST", &format!("/v1/messages?{query}"), body, "");
    assert_eq!(code, 202, "{v:?}");
    v.get("id").unwrap().as_str().unwrap().to_string()
}

pub(super) fn status(s: &mut Server, now: u64, id: &str) -> crate::json::Value {
    let (code, v) = admin(s, now, "GET", &format!("/v1/messages/{id}"), "", "");
    assert_eq!(code, 200);
    v
}

pub(super) fn num(v: &crate::json::Value, k: &str) -> u64 {
    v.get(k)
        .and_then(|x| x.as_u64())
        .unwrap_or_else(|| panic!("{k} in {v:?}"))
}

/// Runs `f` on a thread and fails (instead of hanging the suite) when it does not return
/// within 20 seconds (generous: the machine may be busy; the work takes milliseconds).
pub(super) fn within_seconds(f: impl FnOnce() + Send + 'static) {
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
