//! Tiny JSON support without serde: a streaming writer for building response bodies and a small
//! tree parser for reading responses in CLI tools (RFC 8259).
//!
//! Owns: the byte-level JSON grammar and string escaping. It does no I/O and knows nothing about
//! the admin API's documents.
//!
//! Invariants:
//! - The writer never allocates besides growing the caller's output buffer. It always emits valid
//!   UTF-8; strings are escaped per RFC 8259 §7 (`"`, `\` and the control characters U+0000–U+001F
//!   as `\uXXXX`), non-ASCII passes through, invalid UTF-8 in byte input becomes U+FFFD, and
//!   non-finite floats are written as `null`. Commas are tracked with one flag, so a document
//!   is well formed as long as the caller pairs `begin_*`/`end_*` and writes a `key` before each
//!   object member.
//! - The parser never panics: any input gives a `Value` or a `JsonError`. Nesting is limited to
//!   [`MAX_DEPTH`] so recursion is bounded, trailing non-whitespace is rejected, lone surrogates
//!   in `\u` escapes are rejected, and numbers that overflow `f64` are rejected.
//! - Numbers are held as `f64`, so integers above 2^53 lose precision (see [`Value::as_u64`]).

//!
//! Parts: `write` (the writer and string escaping), `parse` (the tree and its parser).

mod parse;
mod write;

pub use parse::{JsonError, MAX_DEPTH, Value, parse};
pub use write::{JsonOutput, JsonWriter, write_escaped, write_escaped_bytes};

#[cfg(test)]
mod tests {
    use super::*;

    fn write(f: impl FnOnce(&mut JsonWriter<'_, String>)) -> String {
        let mut s = String::new();
        f(&mut JsonWriter::new(&mut s));
        s
    }

    #[test]
    fn writer_commas_and_nesting() {
        let s = write(|w| {
            w.begin_object();
            w.key("a").begin_array();
            w.u64(1).i64(-2).bool(true).bool(false).null();
            w.begin_object().end_object();
            w.begin_array().end_array();
            w.end_array();
            w.key("b").begin_object().key("c").string("d").end_object();
            w.end_object();
        });
        assert_eq!(s, r#"{"a":[1,-2,true,false,null,{},[]],"b":{"c":"d"}}"#);
        assert!(parse(&s).is_ok());
    }

    #[test]
    fn writer_escapes_per_rfc8259() {
        let s = write(|w| {
            w.string("q\"b\\s/\n\r\t\u{0}\u{1f}\u{7f}é😀\u{2028}");
        });
        assert_eq!(
            s,
            "\"q\\\"b\\\\s/\\u000a\\u000d\\u0009\\u0000\\u001f\u{7f}é😀\u{2028}\""
        );
        assert_eq!(
            parse(&s).unwrap().as_str(),
            Some("q\"b\\s/\n\r\t\u{0}\u{1f}\u{7f}é😀\u{2028}")
        );
    }

    #[test]
    fn writer_escapes_keys_and_bytes() {
        let s = write(|w| {
            w.begin_object();
            w.key("k\"").string_bytes(b"a\xffb\xe2\x82c\"");
            w.end_object();
        });
        assert_eq!(s, "{\"k\\\"\":\"a\u{FFFD}b\u{FFFD}c\\\"\"}");
    }

    #[test]
    fn writer_into_vec_and_numbers() {
        let mut v = Vec::new();
        let mut w = JsonWriter::new(&mut v);
        w.begin_array()
            .u64(u64::MAX)
            .i64(i64::MIN)
            .f64(1.5)
            .f64(-0.25)
            .f64(1e300)
            .f64(f64::NAN)
            .f64(f64::INFINITY)
            .f64(f64::NEG_INFINITY)
            .end_array();
        let s = String::from_utf8(v).unwrap();
        assert!(s.starts_with("[18446744073709551615,-9223372036854775808,1.5,-0.25,1000"));
        assert!(s.ends_with(",null,null,null]"));
        let parsed = parse(&s).unwrap();
        let items = parsed.as_array().unwrap();
        assert_eq!(items[4].as_f64(), Some(1e300));
    }

    #[test]
    fn parses_valid_documents() {
        let v = parse(
            " {\"id\":\"abc\",\"n\":3,\"ok\":true,\"no\":false,\"z\":null,\
             \"f\":-1.25e2,\"a\":[1,[],{}],\"e\":\"\\u00e9\\n\\/\"} ",
        )
        .unwrap();
        assert_eq!(v.get("id").and_then(Value::as_str), Some("abc"));
        assert_eq!(v.get("n").and_then(Value::as_u64), Some(3));
        assert_eq!(v.get("ok").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("no").and_then(Value::as_bool), Some(false));
        assert!(v.get("z").unwrap().is_null());
        assert_eq!(v.get("f").and_then(Value::as_f64), Some(-125.0));
        assert_eq!(v.get("f").and_then(Value::as_i64), Some(-125));
        assert_eq!(v.get("f").and_then(Value::as_u64), None);
        assert_eq!(
            v.get("a").and_then(Value::as_array).map(<[_]>::len),
            Some(3)
        );
        assert_eq!(v.get("e").and_then(Value::as_str), Some("é\n/"));
        assert_eq!(v.get("missing"), None);
        assert_eq!(parse("0").unwrap().as_u64(), Some(0));
        assert_eq!(parse("\"\"").unwrap().as_str(), Some(""));
        assert_eq!(parse("1.5").unwrap().as_u64(), None);
        assert_eq!(parse("1e2").unwrap().as_u64(), Some(100));
        assert_eq!(parse("9007199254740992").unwrap().as_u64(), Some(1 << 53));
        assert_eq!(parse("18446744073709551616").unwrap().as_u64(), None);
    }

    #[test]
    fn rejects_invalid_documents() {
        use JsonError::*;
        let cases: &[(&str, JsonError)] = &[
            ("", UnexpectedEnd),
            ("   ", UnexpectedEnd),
            ("nul", UnexpectedEnd),
            ("nulx", UnexpectedCharacter),
            ("[1,]", UnexpectedCharacter),
            ("[1 2]", UnexpectedCharacter),
            ("{\"a\" 1}", UnexpectedCharacter),
            ("{\"a\":1,}", UnexpectedCharacter),
            ("{1:2}", UnexpectedCharacter),
            ("[", UnexpectedEnd),
            ("{\"a\":", UnexpectedEnd),
            ("\"abc", UnexpectedEnd),
            ("01", TrailingCharacters),
            ("-", UnexpectedEnd),
            ("-a", InvalidNumber),
            ("1.", InvalidNumber),
            ("1e", InvalidNumber),
            ("1e+", InvalidNumber),
            (".5", UnexpectedCharacter),
            ("+1", UnexpectedCharacter),
            ("1e400", InvalidNumber),
            ("\"\\x\"", InvalidEscape),
            ("\"\\u12g4\"", InvalidEscape),
            ("\"\\u12", UnexpectedEnd),
            ("\"a\nb\"", ControlCharacter),
            ("\"\t\"", ControlCharacter),
            ("{} x", TrailingCharacters),
            ("true false", TrailingCharacters),
            ("'a'", UnexpectedCharacter),
        ];
        for (text, err) in cases {
            assert_eq!(parse(text), Err(*err), "input {text:?}");
        }
    }

    #[test]
    fn surrogate_pairs() {
        assert_eq!(parse("\"\\ud83d\\ude00x\"").unwrap().as_str(), Some("😀x"));
        assert_eq!(parse("\"\\uD83D\\uDE00\"").unwrap().as_str(), Some("😀"));
        assert_eq!(parse("\"\\ud83d\""), Err(JsonError::InvalidSurrogate));
        assert_eq!(parse("\"\\ud83dx\""), Err(JsonError::InvalidSurrogate));
        assert_eq!(
            parse("\"\\ud83d\\u0041\""),
            Err(JsonError::InvalidSurrogate)
        );
        assert_eq!(parse("\"\\ude00\""), Err(JsonError::InvalidSurrogate));
        assert_eq!(parse("\"\\ud83d\\n\""), Err(JsonError::InvalidSurrogate));
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&deep), Err(JsonError::TooDeep));
        let objs = "{\"a\":".repeat(MAX_DEPTH + 1) + "1" + &"}".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&objs), Err(JsonError::TooDeep));
        // Far deeper than the stack would tolerate without the limit.
        assert_eq!(parse(&"[".repeat(1_000_000)), Err(JsonError::TooDeep));
    }

    #[test]
    fn every_prefix_and_mutation_is_handled_without_panic() {
        let doc = r#"{"a":[1,-2.5e3,"x\u00e9\ud83d\ude00",true,null],"b":{"c":false}}"#;
        assert!(parse(doc).is_ok());
        for end in 0..doc.len() {
            if let Some(prefix) = doc.get(..end) {
                assert!(parse(prefix).is_err(), "prefix {prefix:?}");
            }
        }
        let mut bytes = doc.as_bytes().to_vec();
        for i in 0..bytes.len() {
            for b in [b'"', b'\\', b'{', b']', b'0', b' ', b'u', 0x01] {
                let old = bytes[i];
                bytes[i] = b;
                if let Ok(s) = std::str::from_utf8(&bytes) {
                    let _ = parse(s);
                }
                bytes[i] = old;
            }
        }
    }
}
