//! The admin API's routes: HTTP request in (already parsed by `admin::http`), JSON out.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/messages?class=C&client=ID&all=1&ttl=S` | 202 `{"id","targets"}`; 400 nothing targeted or bad query; 413 MESSAGE over 1300 bytes |
//! | `GET /v1/messages/ID` | the message's status; 404 unknown |
//! | `GET /v1/clients?class=C&limit=N` | `{"total", "clients": [...]}` |
//! | `GET /v1/clients/ID` | one client; 404 unknown |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz` | `{"status":"ok"}` |
//!
//! With `admin_token` set, every request needs `Authorization: Bearer <token>` (401 otherwise).
//! Every error body is `{"error": "<reason>"}`.

use std::net::SocketAddr;

use super::Server;
use super::push::{OVERFLOW, SubmitError};
use crate::admin::http::{Request, Response, percent_decode, query_pairs, validate_query};
use crate::json::JsonWriter;
use crate::registry::{Client, ClientKey};
use crate::sip::MediaType;

const DEFAULT_CONTENT_TYPE: &str = "text/plain;charset=utf-8";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";
const DEFAULT_LIST_LIMIT: usize = 100;
const MAX_LIST_LIMIT: usize = 10_000;

fn error(status: u16, reason: &str) -> Response {
    let mut body = String::new();
    JsonWriter::new(&mut body)
        .begin_object()
        .key("error")
        .string(reason)
        .end_object();
    Response::json(status, body)
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Server {
    pub(super) fn on_admin(&mut self, req: &Request<'_>) -> Response {
        if let Some(token) = &self.cfg.admin_token {
            let ok = req
                .authorization()
                // RFC 6750 §2.1 / RFC 9110 §11.1: the scheme name is case-insensitive.
                .and_then(|a| {
                    a.get(..7)
                        .filter(|p| p.eq_ignore_ascii_case("bearer "))
                        .map(|_| &a[7..])
                })
                .is_some_and(|t| same_secret(t.trim().as_bytes(), token.as_bytes()));
            if !ok {
                return error(401, "missing or wrong bearer token")
                    .with_header("WWW-Authenticate", "Bearer realm=\"sippush\"");
            }
        }
        let get = matches!(req.method(), "GET" | "HEAD");
        match req.path() {
            "/v1/messages" if req.method() == "POST" => self.admin_submit(req),
            "/v1/messages" => error(405, "use POST").with_header("Allow", "POST"),
            "/v1/clients" if get => self.admin_clients(req),
            "/metrics" if get => {
                Response::new(200, PROMETHEUS, self.metrics.render(&self.gauges()))
            }
            "/healthz" if get => Response::json(200, "{\"status\":\"ok\"}"),
            p if get && p.starts_with("/v1/messages/") => {
                self.admin_status(&percent_decode(&p["/v1/messages/".len()..]))
            }
            p if get && p.starts_with("/v1/clients/") => {
                self.admin_client(&percent_decode(&p["/v1/clients/".len()..]))
            }
            "/v1/clients" | "/metrics" | "/healthz" => {
                error(405, "use GET").with_header("Allow", "GET, HEAD")
            }
            p if p.starts_with("/v1/messages/") || p.starts_with("/v1/clients/") => {
                error(405, "use GET").with_header("Allow", "GET, HEAD")
            }
            _ => error(404, "no such endpoint"),
        }
    }

    fn admin_submit(&mut self, req: &Request<'_>) -> Response {
        if let Err(e) = validate_query(req.query()) {
            return error(400, e.as_str());
        }
        let mut targets: Vec<ClientKey> = Vec::new();
        let mut named = false;
        let mut ttl = self.cfg.default_ttl_s;
        for (k, v) in query_pairs(req.query()) {
            match &*k {
                "class" => {
                    named = true;
                    if let Some(class) = self.reg.class(v.as_bytes()) {
                        targets.extend(self.reg.members(class));
                    }
                }
                "client" => {
                    named = true;
                    targets.extend(self.reg.find(v.as_bytes()));
                }
                "all" => match &*v {
                    "1" | "true" => {
                        named = true;
                        targets.extend(self.reg.iter().map(|(key, _)| key));
                    }
                    "0" | "false" => {}
                    _ => return error(400, "all must be 1 or 0"),
                },
                "ttl" => match v.parse::<u32>() {
                    Ok(t) if t >= 1 && t <= self.cfg.max_ttl_s => ttl = t,
                    _ => {
                        return error(
                            400,
                            &format!("ttl must be 1..{} seconds", self.cfg.max_ttl_s),
                        );
                    }
                },
                other => return error(400, &format!("unknown query parameter '{other}'")),
            }
        }
        if !named {
            return error(400, "no targets given: use class=, client= or all=1");
        }
        if targets.is_empty() {
            return error(400, "no registered client matches the targets");
        }
        // curl's `-d`/`--data-binary` labels every body as a form unless told otherwise; that
        // label says nothing about the payload, so it counts as no Content-Type.
        let content_type = match req.content_type().map(str::trim) {
            None | Some("application/x-www-form-urlencoded") => DEFAULT_CONTENT_TYPE,
            Some(ct) => ct,
        };
        if content_type.bytes().any(|b| b < b' ')
            || MediaType::parse(content_type.as_bytes(), 0).is_err()
        {
            return error(400, "Content-Type is not a valid media type");
        }
        match self.submit(&targets, req.body(), content_type.as_bytes(), ttl) {
            Ok((key, n)) => {
                let id = self
                    .pushes
                    .get(key)
                    .map(|p| self.push_id(p.seq))
                    .unwrap_or_default();
                let mut body = String::new();
                JsonWriter::new(&mut body)
                    .begin_object()
                    .key("id")
                    .string(&id)
                    .key("targets")
                    .u64(n as u64)
                    .end_object();
                Response::json(202, body).with_header("Location", format!("/v1/messages/{id}"))
            }
            Err(SubmitError::NoTargets) => error(400, "no registered client matches the targets"),
            Err(SubmitError::TooLarge(n)) => error(
                413,
                &format!(
                    "the MESSAGE would be {n} bytes on the wire; over UDP the limit is {} (RFC 3261 section 18.1.1)",
                    self.cfg.max_message_bytes
                ),
            ),
        }
    }

    fn admin_status(&self, id: &str) -> Response {
        let Some(p) = self.find_push(id).and_then(|k| self.pushes.get(k)) else {
            return error(404, "no such message");
        };
        let epoch = self.cfg.epoch_ms;
        let mut body = String::new();
        let mut w = JsonWriter::new(&mut body);
        w.begin_object();
        w.key("id").string(id);
        w.key("targets").u64(p.targets as u64);
        w.key("acked").u64(p.acked as u64);
        w.key("pending").u64(p.pending() as u64);
        w.key("failed").u64(p.failed as u64);
        w.key("failed_codes").begin_object();
        for &(code, n) in &p.failed_codes {
            let name = if code == OVERFLOW {
                "queue_overflow".to_string()
            } else {
                code.to_string()
            };
            w.key(&name).u64(n as u64);
        }
        w.end_object();
        w.key("expired").u64(p.expired as u64);
        w.key("created_ms").u64(epoch + p.created);
        match p.completed {
            Some(t) => w.key("completed_ms").u64(epoch + t),
            None => w.key("completed_ms").null(),
        };
        w.key("complete").bool(p.completed.is_some());
        w.end_object();
        Response::json(200, body)
    }

    fn admin_clients(&self, req: &Request<'_>) -> Response {
        if let Err(e) = validate_query(req.query()) {
            return error(400, e.as_str());
        }
        let mut class = None;
        let mut limit = DEFAULT_LIST_LIMIT;
        for (k, v) in query_pairs(req.query()) {
            match &*k {
                "class" => class = Some(v.into_owned()),
                "limit" => match v.parse::<usize>() {
                    Ok(n) if n <= MAX_LIST_LIMIT => limit = n,
                    _ => return error(400, &format!("limit must be 0..{MAX_LIST_LIMIT}")),
                },
                other => return error(400, &format!("unknown query parameter '{other}'")),
            }
        }
        let mut body = String::new();
        let mut w = JsonWriter::new(&mut body);
        w.begin_object();
        match class {
            Some(name) => {
                let id = self.reg.class(name.as_bytes());
                w.key("total")
                    .u64(id.map_or(0, |c| self.reg.member_count(c)) as u64);
                w.key("clients").begin_array();
                if let Some(c) = id {
                    for key in self.reg.members(c).take(limit) {
                        self.write_client(&mut w, key);
                    }
                }
            }
            None => {
                w.key("total").u64(self.reg.len() as u64);
                w.key("clients").begin_array();
                for (key, _) in self.reg.iter().take(limit) {
                    self.write_client(&mut w, key);
                }
            }
        }
        w.end_array().end_object();
        Response::json(200, body)
    }

    fn admin_client(&self, id: &str) -> Response {
        let Some(key) = self.reg.find(id.as_bytes()) else {
            return error(404, "no such client");
        };
        let mut body = String::new();
        self.write_client(&mut JsonWriter::new(&mut body), key);
        Response::json(200, body)
    }

    fn write_client(&self, w: &mut JsonWriter<'_, String>, key: ClientKey) {
        let Some(c): Option<&Client> = self.reg.get(key) else {
            return;
        };
        let source = SocketAddr::from(c.source);
        let expires_in = self
            .deadline_of(key)
            .map_or(0, |d| d.saturating_sub(self.now) / 1000);
        w.begin_object();
        w.key("id").string_bytes(c.id());
        w.key("classes").begin_array();
        for class in c.classes() {
            w.string_bytes(self.reg.class_name(class));
        }
        w.end_array();
        w.key("address").string(&source.to_string());
        w.key("contact").string_bytes(c.contact());
        w.key("route").string(if c.route_to_source {
            "source"
        } else {
            "contact"
        });
        w.key("push_to").string(
            &super::deliver::destination(c.route_to_source, c.contact(), source).to_string(),
        );
        w.key("expires").u64(c.granted as u64);
        w.key("expires_in").u64(expires_in);
        w.key("last_seen_ms").u64(self.cfg.epoch_ms + c.last_seen);
        w.key("pending").u64(self.pending_for(key) as u64);
        w.end_object();
    }
}
