//! Message framing for stream transports (RFC 3261 §18.3): how long is the first message in a
//! byte buffer, or is more needed. Over streams Content-Length is mandatory.
//!
//! RFC 5626 §3.5.1 keep-alives (CRLF CRLF "ping", CRLF "pong") between messages are reported
//! as [`Frame::KeepAlive`] so the caller can answer and skip them.

use super::error::{ErrorKind, ParseError};
use super::message::{Header, MAX_HEADERS, parse_raw};

/// Largest header block accepted on a stream before giving up.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The result of framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete message occupies the first `n` bytes.
    Message(usize),
    /// The first `n` bytes are CRLFs (keep-alive ping or pong).
    KeepAlive(usize),
    /// No complete message yet: read more.
    NeedMore,
}

/// Frame the first message in `buf`.
pub fn frame(buf: &[u8]) -> Result<Frame, ParseError> {
    let mut crlf = 0;
    while buf.len() >= crlf + 2 && buf[crlf] == b'\r' && buf[crlf + 1] == b'\n' {
        crlf += 2;
    }
    if crlf > 0 {
        return Ok(Frame::KeepAlive(crlf));
    }
    if buf.len() < 2 {
        return Ok(Frame::NeedMore);
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEADER_BYTES {
            return Err(ParseError::new(ErrorKind::TooLarge, MAX_HEADER_BYTES));
        }
        return Ok(Frame::NeedMore);
    };
    let head = &buf[..end + 4];
    let mut headers = [Header::EMPTY; MAX_HEADERS];
    let raw = parse_raw(head, &mut headers)?;
    let cl = match raw.content_length() {
        Some(r) => r?,
        None => return Err(ParseError::new(ErrorKind::BadContentLength, end)),
    };
    let total = head
        .len()
        .checked_add(cl)
        .ok_or(ParseError::new(ErrorKind::BadContentLength, end))?;
    if buf.len() < total {
        Ok(Frame::NeedMore)
    } else {
        Ok(Frame::Message(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\nl: 5\r\n\r\nhello";

    #[test]
    fn frames_messages_and_keepalives() {
        let mut two = MSG.to_vec();
        two.extend_from_slice(b"\r\n\r\n");
        two.extend_from_slice(MSG);
        assert_eq!(frame(&two), Ok(Frame::Message(MSG.len())));
        assert_eq!(frame(&two[MSG.len()..]), Ok(Frame::KeepAlive(4)));
        assert_eq!(frame(b"\r\n"), Ok(Frame::KeepAlive(2)));
        for n in 0..MSG.len() {
            assert_eq!(frame(&MSG[..n]), Ok(Frame::NeedMore), "prefix {n}");
        }
    }

    #[test]
    fn stream_needs_content_length() {
        let no_cl = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
        assert_eq!(frame(no_cl).unwrap_err().kind, ErrorKind::BadContentLength);
        let junk = vec![b'x'; MAX_HEADER_BYTES + 1];
        assert_eq!(frame(&junk).unwrap_err().kind, ErrorKind::TooLarge);
    }
}
