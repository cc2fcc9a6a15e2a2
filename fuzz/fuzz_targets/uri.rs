//! `sip::Uri::parse` and `sip::uri::parse_host`: never panic; every accessor of a parsed URI
//! is total.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sippush::sip::{self, Uri};

fuzz_target!(|data: &[u8]| {
    let _ = sip::uri::parse_host(data, 0);
    let Ok(u) = Uri::parse(data, 0) else { return };
    assert_eq!(u.raw(), data);
    let _ = (u.scheme(), u.scheme_raw(), u.opaque(), u.is_sip(), u.at());
    let _ = (
        u.user(),
        u.password(),
        u.host(),
        u.port(),
        u.params(),
        u.headers(),
    );
    if let Some(h) = u.host_kind() {
        let _ = h.ip();
    }
    for (name, _value) in u.param_iter() {
        assert!(u.param(name).is_some());
    }
    let _ = (u.param(b"transport"), u.param(b"lr"));
    if u.is_sip() {
        let _ = sip::uri::parse_host(u.host(), 0);
    }
});
