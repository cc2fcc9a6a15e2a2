//! `json::parse`: never panics, and a parsed value written back with `JsonWriter` parses
//! again to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sippush::json::{self, JsonWriter, Value};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(value) = json::parse(&text) else {
        return;
    };
    let mut out = String::new();
    write(&mut JsonWriter::new(&mut out), &value);
    match json::parse(&out) {
        Ok(again) => assert_eq!(again, value, "written back as {out}"),
        Err(e) => panic!("written back as {out}, which does not parse: {e:?}"),
    }
});

fn write(w: &mut JsonWriter<'_, String>, v: &Value) {
    match v {
        Value::Null => w.null(),
        Value::Bool(b) => w.bool(*b),
        Value::Number(x) => w.f64(*x),
        Value::String(s) => w.string(s),
        Value::Array(items) => {
            w.begin_array();
            for item in items {
                write(w, item);
            }
            w.end_array()
        }
        Value::Object(members) => {
            w.begin_object();
            for (key, item) in members {
                w.key(key);
                write(w, item);
            }
            w.end_object()
        }
    };
}
