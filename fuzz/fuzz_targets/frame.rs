//! `sip::frame`: never panics, and a `Message(n)` it reports lies inside the input and frames
//! again on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sippush::sip::{self, Frame, Header, MAX_HEADERS};

fuzz_target!(|data: &[u8]| {
    match sip::frame(data) {
        Ok(Frame::Message(n)) => {
            assert!(
                n <= data.len(),
                "Message({n}) past the input ({})",
                data.len()
            );
            let mut headers = [Header::EMPTY; MAX_HEADERS];
            let raw = sip::parse_raw(&data[..n], &mut headers);
            assert!(
                raw.is_ok(),
                "framed Message({n}) does not parse_raw: {raw:?}"
            );
            assert_eq!(sip::frame(&data[..n]), Ok(Frame::Message(n)));
        }
        Ok(Frame::KeepAlive(n)) => {
            assert!(n > 0 && n <= data.len());
            assert!(data[..n].chunks(2).all(|c| c == b"\r\n"));
        }
        Ok(Frame::NeedMore) | Err(_) => {}
    }
});
