//! The SIP message core: a zero-copy, allocation-free parser with lazily parsed typed views,
//! stream framing, and a builder that writes into a reused buffer.
//!
//! Owns no state and does no I/O. It must never panic and never allocate on any input: every
//! function is total over byte slices, and malformed input becomes a [`ParseError`] naming the
//! failed rule and the byte offset. [`ParseError::disposition`] says whether the server answers
//! 400, 505, or drops the datagram (see [`error`]).
//!
//! Implements RFC 3261 §7 (message format), §7.3.3 (compact forms), §8.2.6 (responses),
//! §18.3 (framing), §19.1 (SIP URIs), §20 (header syntax), RFC 3581 (`rport`), and RFC 5626
//! §3.5.1 keep-alive framing; the invalid messages of RFC 4475 are rejected as it describes.
//!
//! ```
//! use sippush::sip::{self, Header, MAX_HEADERS};
//! let bytes = b"OPTIONS sip:srv@example.com SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
//!     Max-Forwards: 70\r\nf: <sip:tv-7@example.com>;tag=9\r\nt: <sip:srv@example.com>\r\n\
//!     i: c1@10.0.0.1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
//! let mut headers = [Header::EMPTY; MAX_HEADERS];
//! let msg = sip::parse(bytes, &mut headers).unwrap();
//! assert_eq!(msg.via().branch(), Some(&b"z9hG4bK1"[..]));
//! assert_eq!(msg.from().uri.user(), Some(&b"tv-7"[..]));
//! ```

pub mod build;
pub mod chars;
pub mod error;
pub mod frame;
pub mod message;
pub mod name;
pub mod nameaddr;
pub mod params;
mod swar;
pub mod uri;
pub mod values;
pub mod via;

pub use build::{ResponseOpts, Writer, response_to, response_to_raw};
pub use error::{Disposition, ErrorKind, ParseError};
pub use frame::{Frame, frame};
pub use message::{
    Header, HeaderRef, MAX_HEADERS, Message, RawMessage, StartLine, parse, parse_raw,
};
pub use name::HeaderName;
pub use nameaddr::{Contact, NameAddr};
pub use params::{Param, Params};
pub use uri::{Host, Scheme, Uri};
pub use values::{CSeq, MediaType};
pub use via::{Rport, Via};

#[cfg(test)]
mod tests;
