//! The JSON writer: appends to a caller-owned `String` or `Vec<u8>` (see the parent module).

use std::fmt::{self, Write as _};

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
