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

use std::fmt::{self, Write as _};

/// Maximum nesting of arrays and objects accepted by [`parse`].
pub const MAX_DEPTH: usize = 64;

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/// A buffer the writer appends UTF-8 text to.
pub trait JsonOutput {
    /// Appends `s`.
    fn push_str(&mut self, s: &str);
}

impl JsonOutput for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
}

impl JsonOutput for Vec<u8> {
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// Adapts a [`JsonOutput`] to `fmt::Write` so numbers format without a temporary `String`.
struct FmtAdapter<'b, O: JsonOutput + ?Sized>(&'b mut O);

impl<O: JsonOutput + ?Sized> fmt::Write for FmtAdapter<'_, O> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

/// Streaming JSON writer appending to a `String` or `Vec<u8>`.
///
/// ```
/// use sippush::json::JsonWriter;
/// let mut s = String::new();
/// let mut w = JsonWriter::new(&mut s);
/// w.begin_object();
/// w.key("id").string("abc");
/// w.key("n").u64(3);
/// w.key("tags").begin_array().string("a").null().end_array();
/// w.end_object();
/// assert_eq!(s, r#"{"id":"abc","n":3,"tags":["a",null]}"#);
/// ```
pub struct JsonWriter<'a, O: JsonOutput + ?Sized> {
    out: &'a mut O,
    /// True when the next value or key is not the first in its container.
    needs_comma: bool,
}

impl<'a, O: JsonOutput + ?Sized> JsonWriter<'a, O> {
    /// Starts writing at the end of `out`.
    pub fn new(out: &'a mut O) -> Self {
        JsonWriter {
            out,
            needs_comma: false,
        }
    }

    fn separate(&mut self) {
        if self.needs_comma {
            self.out.push_str(",");
        }
    }

    fn value_raw(&mut self, text: &str) -> &mut Self {
        self.separate();
        self.out.push_str(text);
        self.needs_comma = true;
        self
    }

    /// Writes `{`.
    pub fn begin_object(&mut self) -> &mut Self {
        self.separate();
        self.out.push_str("{");
        self.needs_comma = false;
        self
    }

    /// Writes `}`.
    pub fn end_object(&mut self) -> &mut Self {
        self.out.push_str("}");
        self.needs_comma = true;
        self
    }

    /// Writes `[`.
    pub fn begin_array(&mut self) -> &mut Self {
        self.separate();
        self.out.push_str("[");
        self.needs_comma = false;
        self
    }

    /// Writes `]`.
    pub fn end_array(&mut self) -> &mut Self {
        self.out.push_str("]");
        self.needs_comma = true;
        self
    }

    /// Writes an object member name and the `:`; the next call writes its value.
    pub fn key(&mut self, name: &str) -> &mut Self {
        self.separate();
        write_escaped(self.out, name);
        self.out.push_str(":");
        self.needs_comma = false;
        self
    }

    /// Writes an escaped string value.
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.separate();
        write_escaped(self.out, s);
        self.needs_comma = true;
        self
    }

    /// Writes a string value from bytes; invalid UTF-8 sequences become U+FFFD.
    pub fn string_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.separate();
        write_escaped_bytes(self.out, bytes);
        self.needs_comma = true;
        self
    }

    /// Writes an unsigned integer.
    pub fn u64(&mut self, n: u64) -> &mut Self {
        self.separate();
        let _ = write!(FmtAdapter(self.out), "{n}");
        self.needs_comma = true;
        self
    }

    /// Writes a signed integer.
    pub fn i64(&mut self, n: i64) -> &mut Self {
        self.separate();
        let _ = write!(FmtAdapter(self.out), "{n}");
        self.needs_comma = true;
        self
    }

    /// Writes a float; NaN and infinities are written as `null` since JSON cannot express them.
    pub fn f64(&mut self, x: f64) -> &mut Self {
        if !x.is_finite() {
            return self.null();
        }
        self.separate();
        // `Display` for f64 never uses exponent notation or `inf`/`NaN`, so it is JSON.
        let _ = write!(FmtAdapter(self.out), "{x}");
        self.needs_comma = true;
        self
    }

    /// Writes `true` or `false`.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.value_raw(if b { "true" } else { "false" })
    }

    /// Writes `null`.
    pub fn null(&mut self) -> &mut Self {
        self.value_raw("null")
    }
}

/// Appends `s` as a quoted, escaped JSON string.
pub fn write_escaped<O: JsonOutput + ?Sized>(out: &mut O, s: &str) {
    out.push_str("\"");
    write_escaped_inner(out, s);
    out.push_str("\"");
}

/// Appends `bytes` as a quoted JSON string, replacing invalid UTF-8 with U+FFFD.
pub fn write_escaped_bytes<O: JsonOutput + ?Sized>(out: &mut O, bytes: &[u8]) {
    out.push_str("\"");
    for chunk in bytes.utf8_chunks() {
        write_escaped_inner(out, chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push_str("\u{FFFD}");
        }
    }
    out.push_str("\"");
}

fn write_escaped_inner<O: JsonOutput + ?Sized>(out: &mut O, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run_start = 0;
    for (i, b) in s.bytes().enumerate() {
        let needs_escape = b < 0x20 || b == b'"' || b == b'\\';
        if !needs_escape {
            continue;
        }
        // Escapable bytes are ASCII, so `i` is a char boundary and `get` always succeeds.
        out.push_str(s.get(run_start..i).unwrap_or(""));
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            _ => {
                let esc = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ];
                out.push_str(std::str::from_utf8(&esc).unwrap_or(""));
            }
        }
        run_start = i + 1;
    }
    out.push_str(s.get(run_start..).unwrap_or(""));
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any number, as a finite `f64`.
    Number(f64),
    /// A string with escapes resolved.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members in document order (duplicates kept).
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The first member named `key` if this is an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The number as `u64` if it is a non-negative integer in range. Integers above 2^53 were
    /// already rounded by the `f64` representation.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            // 2^64 is exactly representable; anything below it and integral fits in u64.
            Value::Number(n)
                if n >= 0.0 && n.fract() == 0.0 && n < 18_446_744_073_709_551_616.0 =>
            {
                Some(n as u64)
            }
            _ => None,
        }
    }

    /// The number as `i64` if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Number(n)
                if n.fract() == 0.0
                    && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) =>
            {
                Some(n as i64)
            }
            _ => None,
        }
    }

    /// The number as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The string's contents.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The array's elements.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The object's members.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Why [`parse`] rejected its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A byte that cannot start or continue the expected token.
    UnexpectedCharacter,
    /// A number that breaks the grammar or overflows `f64`.
    InvalidNumber,
    /// An unknown `\` escape or bad `\u` digits.
    InvalidEscape,
    /// A `\u` escape naming a lone or mismatched UTF-16 surrogate.
    InvalidSurrogate,
    /// An unescaped control character inside a string.
    ControlCharacter,
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Non-whitespace after the top-level value.
    TrailingCharacters,
}

impl JsonError {
    /// A static description.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonError::UnexpectedEnd => "unexpected end of JSON input",
            JsonError::UnexpectedCharacter => "unexpected character in JSON",
            JsonError::InvalidNumber => "invalid JSON number",
            JsonError::InvalidEscape => "invalid escape in JSON string",
            JsonError::InvalidSurrogate => "invalid UTF-16 surrogate in JSON string",
            JsonError::ControlCharacter => "control character in JSON string",
            JsonError::TooDeep => "JSON nested too deeply",
            JsonError::TrailingCharacters => "trailing characters after JSON value",
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(JsonError::TrailingCharacters);
    }
    Ok(v)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, JsonError> {
        let b = self.peek().ok_or(JsonError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        let end = self.pos + word.len();
        match self.bytes.get(self.pos..end) {
            Some(s) if s == word => {
                self.pos = end;
                Ok(v)
            }
            Some(_) => Err(JsonError::UnexpectedCharacter),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    /// `depth` is the number of containers enclosing this value.
    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek().ok_or(JsonError::UnexpectedEnd)? {
            b'n' => self.literal(b"null", Value::Null),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'"' => self.string().map(Value::String),
            b'[' => self.array(depth + 1),
            b'{' => self.object(depth + 1),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(JsonError::UnexpectedCharacter),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.next()? {
                b',' => continue,
                b']' => return Ok(Value::Array(items)),
                _ => return Err(JsonError::UnexpectedCharacter),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek().ok_or(JsonError::UnexpectedEnd)? != b'"' {
                return Err(JsonError::UnexpectedCharacter);
            }
            let key = self.string()?;
            self.skip_ws();
            if self.next()? != b':' {
                return Err(JsonError::UnexpectedCharacter);
            }
            self.skip_ws();
            let v = self.value(depth)?;
            members.push((key, v));
            self.skip_ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Ok(Value::Object(members)),
                _ => return Err(JsonError::UnexpectedCharacter),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(_) => return Err(JsonError::InvalidNumber),
            None => return Err(JsonError::UnexpectedEnd),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber);
            }
        }
        let lexeme = self
            .text
            .get(start..self.pos)
            .ok_or(JsonError::InvalidNumber)?;
        match lexeme.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Value::Number(n)),
            _ => Err(JsonError::InvalidNumber),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.next()?;
            let d = char::from(b).to_digit(16).ok_or(JsonError::InvalidEscape)?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                let code = match hi {
                    0xD800..=0xDBFF => {
                        if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u".as_slice()) {
                            return Err(JsonError::InvalidSurrogate);
                        }
                        self.pos += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(JsonError::InvalidSurrogate);
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(JsonError::InvalidSurrogate),
                    _ => hi,
                };
                char::from_u32(code).ok_or(JsonError::InvalidSurrogate)?
            }
            _ => return Err(JsonError::InvalidEscape),
        };
        out.push(c);
        Ok(())
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let b = self.peek().ok_or(JsonError::UnexpectedEnd)?;
            match b {
                b'"' | b'\\' => {
                    // Both delimiters are ASCII, so the run ends on a char boundary.
                    out.push_str(self.text.get(run_start..self.pos).unwrap_or(""));
                    self.pos += 1;
                    if b == b'"' {
                        return Ok(out);
                    }
                    self.escape(&mut out)?;
                    run_start = self.pos;
                }
                0x00..=0x1f => return Err(JsonError::ControlCharacter),
                _ => self.pos += 1,
            }
        }
    }
}

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
