//! `sippush parse FILE|-`: parse one SIP message and explain it, or say in one line what is
//! wrong and where. The tool an operator reaches for to see why the server rejected a message.

use std::io::Read;

use super::{CliError, parse_opts};
use crate::sip::{
    self, Contact, Disposition, Header, HeaderName, MAX_HEADERS, NameAddr, ParseError, Rport,
    StartLine, Uri,
};

const MAX_INPUT: u64 = 1 << 20;

pub(crate) fn run(args: &[String]) -> Result<(), CliError> {
    let mut opts = getopts::Options::new();
    opts.optflag(
        "",
        "crlf",
        "turn bare LF line endings into CRLF first (for hand-written files)",
    );
    let Some(m) = parse_opts(&mut opts, args, "usage: sippush parse [--crlf] FILE|-")? else {
        return Ok(());
    };
    let path = match m.free.as_slice() {
        [p] => p.clone(),
        _ => {
            return Err(CliError::usage(
                "parse takes exactly one FILE (or - for stdin)",
            ));
        }
    };
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().take(MAX_INPUT).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(&path).and_then(|f| f.take(MAX_INPUT).read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::failed(format!("cannot read {path}: {e}")))?;
    if m.opt_present("crlf") {
        bytes = to_crlf(&bytes);
    }
    let mut out = String::new();
    explain(&bytes, &mut out).map_err(|e| CliError::failed(describe_error(&path, &bytes, e)))?;
    print!("{out}");
    Ok(())
}

fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn describe_error(path: &str, bytes: &[u8], e: ParseError) -> String {
    let before = &bytes[..e.at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let is_request = sip::parse_raw(bytes, &mut hs)
        .map(|r| r.is_request())
        .unwrap_or(false);
    let action = match e.disposition(is_request) {
        Disposition::Respond(code) => format!("the server answers {code}"),
        Disposition::Drop => "the server drops it".to_string(),
    };
    let hint = if !bytes.contains(&b'\r') && bytes.contains(&b'\n') {
        " (the file has bare LF line endings: try --crlf)"
    } else {
        ""
    };
    format!(
        "{path}: invalid: {} at byte {} (line {line}, column {col}); {action}{hint}",
        e.kind.reason(),
        e.at
    )
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn explain(bytes: &[u8], out: &mut String) -> Result<(), ParseError> {
    use std::fmt::Write;
    let mut hs = [Header::EMPTY; MAX_HEADERS];
    let msg = sip::parse(bytes, &mut hs)?;
    msg.check_all_views()?;
    let raw = msg.raw();
    match msg.start() {
        StartLine::Request {
            method,
            uri,
            version,
            ..
        } => {
            let _ = writeln!(out, "request: {} {} {}", s(method), s(uri), s(version));
            if let Some(Ok(u)) = raw.request_uri() {
                let _ = writeln!(out, "  request-uri: {}", uri_view(&u));
            }
        }
        StartLine::Response {
            version,
            code,
            reason,
        } => {
            let _ = writeln!(out, "response: {} {} {}", s(version), code, s(reason));
        }
    }
    for h in raw.headers() {
        let _ = writeln!(out, "header {}: {}", s(h.raw_name), s(h.value));
        let view = match h.name {
            HeaderName::Via => sip::params::ListIter::new(h.value, h.at)
                .filter_map(Result::ok)
                .filter_map(|(v, at)| sip::Via::parse(v, at).ok())
                .map(|v| {
                    let rport = match v.rport() {
                        Rport::Absent => "-".to_string(),
                        Rport::Requested => "requested".to_string(),
                        Rport::Value(p) => p.to_string(),
                    };
                    format!(
                        "via: transport={} host={} port={} branch={} rport={} received={}",
                        s(v.transport()),
                        s(v.host()),
                        v.port().map_or("-".into(), |p| p.to_string()),
                        v.branch().map_or("-".into(), s),
                        rport,
                        v.received().map_or("-".into(), s)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n  "),
            HeaderName::From | HeaderName::To => NameAddr::parse(h.value, h.at)
                .map(|a| format!("{}: {}", h.name.as_str().to_lowercase(), name_addr(&a)))
                .unwrap_or_default(),
            HeaderName::Contact => sip::params::ListIter::new(h.value, h.at)
                .filter_map(Result::ok)
                .filter_map(|(v, at)| Contact::parse(v, at).ok())
                .map(|c| match c {
                    Contact::Star => "contact: *".to_string(),
                    Contact::Addr(a) => format!(
                        "contact: {} expires={}",
                        name_addr(&a),
                        Contact::Addr(a)
                            .expires()
                            .and_then(Result::ok)
                            .map_or("-".into(), |e| e.to_string())
                    ),
                })
                .collect::<Vec<_>>()
                .join("\n  "),
            HeaderName::CallId => format!("call-id: {}", s(msg.call_id())),
            HeaderName::CSeq => format!(
                "cseq: number={} method={}",
                msg.cseq().seq,
                s(msg.cseq().method)
            ),
            HeaderName::Expires => raw
                .expires()
                .and_then(Result::ok)
                .map(|e| format!("expires: {e} s"))
                .unwrap_or_default(),
            HeaderName::ContentLength => raw
                .content_length()
                .and_then(Result::ok)
                .map(|n| format!("content-length: {n}"))
                .unwrap_or_default(),
            HeaderName::MaxForwards => raw
                .max_forwards()
                .and_then(Result::ok)
                .map(|n| format!("max-forwards: {n}"))
                .unwrap_or_default(),
            HeaderName::ContentType => raw
                .content_type()
                .and_then(Result::ok)
                .map(|m| {
                    let params: Vec<String> = m
                        .params
                        .iter()
                        .map(|p| format!("{}={}", s(p.name), p.value.map_or(String::new(), s)))
                        .collect();
                    format!(
                        "content-type: type={} subtype={} params=[{}]",
                        s(m.ty),
                        s(m.subtype),
                        params.join(", ")
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        if !view.is_empty() {
            let _ = writeln!(out, "  {view}");
        }
    }
    let _ = writeln!(out, "body: {} bytes", msg.body().len());
    let _ = writeln!(out, "valid");
    Ok(())
}

fn uri_view(u: &Uri<'_>) -> String {
    if !u.is_sip() {
        return format!("scheme={} opaque={}", s(u.scheme_raw()), s(u.opaque()));
    }
    let params: Vec<String> = u
        .param_iter()
        .map(|(n, v)| format!("{}={}", s(n), v.map_or(String::new(), s)))
        .collect();
    format!(
        "scheme={} user={} host={} port={} params=[{}]",
        s(u.scheme_raw()),
        u.user().map_or("-".into(), s),
        s(u.host()),
        u.port().map_or("-".into(), |p| p.to_string()),
        params.join(", ")
    )
}

fn name_addr(a: &NameAddr<'_>) -> String {
    let params: Vec<String> = a
        .params
        .iter()
        .map(|p| format!("{}={}", s(p.name), p.value.map_or(String::new(), s)))
        .collect();
    format!(
        "display={} uri=[{}] params=[{}]",
        a.display.map_or("-".into(), |d| format!("\"{}\"", s(d))),
        uri_view(&a.uri),
        params.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_a_register() {
        let bytes = include_bytes!("../../tests/messages/valid/register.sip");
        let mut out = String::new();
        explain(bytes, &mut out).unwrap();
        assert!(
            out.starts_with("request: REGISTER sip:push.example.net SIP/2.0\n"),
            "{out}"
        );
        assert!(out.contains("  via: transport=UDP host=198.51.100.7 port=5060 branch=z9hG4bK-524287-1---a1b2c3d4e5f60718 rport=requested received=-\n"), "{out}");
        assert!(out.contains("  contact: display=- uri=[scheme=sip user=tv-7 host=198.51.100.7 port=5060 params=[transport=udp]] params=[expires=600, class=tv,beta] expires=600\n"), "{out}");
        assert!(out.contains("  cseq: number=1 method=REGISTER\n"));
        assert!(out.ends_with("body: 0 bytes\nvalid\n"));
    }

    #[test]
    fn describes_errors_with_position_and_action() {
        let bytes = include_bytes!("../../tests/messages/invalid/mismatch01.sip");
        let mut out = String::new();
        let e = explain(bytes, &mut out).unwrap_err();
        let line = describe_error("m.sip", bytes, e);
        assert!(
            line.starts_with("m.sip: invalid: CSeq Method Does Not Match Request Method at byte "),
            "{line}"
        );
        assert!(
            line.contains("(line 7, column 7); the server answers 400"),
            "{line}"
        );
        let lf = b"OPTIONS sip:a@b SIP/2.0\nVia: x\n\n";
        let e = explain(lf, &mut out).unwrap_err();
        assert!(describe_error("x", lf, e).ends_with("try --crlf)"));
        assert_eq!(to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }
}
