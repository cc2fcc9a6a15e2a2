//! In-place decoder for `Transfer-Encoding: chunked` request bodies (RFC 9112 §7.1).
//!
//! Owns: the chunk grammar. It works on the connection's own input buffer: the window after the
//! header block holds the decoded body followed by not-yet-decoded bytes, and every call moves
//! chunk data down onto the end of the body and then shifts the undecoded rest to follow it.
//! So the framing overhead never accumulates: a connection holds at most the header block, the
//! decoded body (bounded by `max_body`) and one partial chunk-size or trailer line (bounded by
//! [`MAX_CHUNK_LINE`]). Chunk extensions are accepted and ignored; trailer fields are checked for
//! shape, counted against `max_trailer` and discarded (RFC 9112 §7.1.2 lets a recipient drop
//! them).

use super::error::HttpError;

/// Longest chunk-size line (with extensions) or trailer line accepted, CRLF included.
pub(crate) const MAX_CHUNK_LINE: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting `chunk-size [ chunk-ext ] CRLF`.
    Size,
    /// Inside chunk data with this many bytes left.
    Data { remaining: usize },
    /// Expecting the CRLF that ends chunk data.
    DataEnd,
    /// Inside the trailer section, expecting a field line or the final CRLF.
    Trailer,
    /// The final CRLF was consumed.
    Done,
}

/// Progress through one chunked body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    body_len: usize,
    trailer_len: usize,
}

fn find_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Strips the CR before the LF; bare LF line endings are refused.
fn strip_cr(line: &[u8]) -> Result<&[u8], HttpError> {
    match line.split_last() {
        Some((b'\r', rest)) => Ok(rest),
        _ => Err(HttpError::InvalidChunk),
    }
}

/// Parses `chunk-size [ BWS ";" ... ]` (without CRLF).
fn parse_size(line: &[u8]) -> Result<usize, HttpError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpError::InvalidChunk);
    }
    let mut size: usize = 0;
    for &b in line.iter().take(digits) {
        let d = char::from(b).to_digit(16).unwrap_or(0) as usize;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(d))
            .ok_or(HttpError::BodyTooLarge)?;
    }
    let ext = line.get(digits..).unwrap_or(&[]);
    let ext_start = ext.iter().position(|&b| b != b' ' && b != b'\t');
    let has_ctl = ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
    match ext_start.and_then(|i| ext.get(i)) {
        None => Ok(size),
        Some(b';') if !has_ctl => Ok(size),
        Some(_) => Err(HttpError::InvalidChunk),
    }
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            body_len: 0,
            trailer_len: 0,
        }
    }

    /// Decoded body bytes so far; they sit at the start of the window.
    pub(crate) fn body_len(&self) -> usize {
        self.body_len
    }

    /// True once the last chunk and the trailer section have been consumed.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes as much of `window` as is available. `window` must start with the
    /// `body_len()` bytes decoded so far, followed by undecoded input. Returns how many leading
    /// bytes of `window` are meaningful afterwards: the body, then any undecoded or following
    /// bytes shifted down to follow it.
    pub(crate) fn decode(
        &mut self,
        window: &mut [u8],
        max_body: usize,
        max_trailer: usize,
    ) -> Result<usize, HttpError> {
        let len = window.len();
        if self.body_len > len {
            return Err(HttpError::InvalidChunk);
        }
        let mut raw = self.body_len;
        loop {
            let rest = window.get(raw..).unwrap_or(&[]);
            match self.state {
                State::Done => break,
                State::Size => {
                    let Some(i) = find_lf(rest) else {
                        if rest.len() >= MAX_CHUNK_LINE {
                            return Err(HttpError::InvalidChunk);
                        }
                        break;
                    };
                    if i >= MAX_CHUNK_LINE {
                        return Err(HttpError::InvalidChunk);
                    }
                    let size = parse_size(strip_cr(rest.get(..i).unwrap_or(&[]))?)?;
                    raw += i + 1;
                    if size == 0 {
                        self.state = State::Trailer;
                    } else if size > max_body.saturating_sub(self.body_len) {
                        return Err(HttpError::BodyTooLarge);
                    } else {
                        self.state = State::Data { remaining: size };
                    }
                }
                State::Data { remaining } => {
                    let n = remaining.min(rest.len());
                    if n == 0 {
                        break;
                    }
                    // body_len <= raw, so this moves data down (or not at all).
                    window.copy_within(raw..raw + n, self.body_len);
                    self.body_len += n;
                    raw += n;
                    self.state = if n == remaining {
                        State::DataEnd
                    } else {
                        State::Data {
                            remaining: remaining - n,
                        }
                    };
                }
                State::DataEnd => match rest.get(..2) {
                    Some(b"\r\n") => {
                        raw += 2;
                        self.state = State::Size;
                    }
                    Some(_) => return Err(HttpError::InvalidChunk),
                    None => {
                        if rest.first().is_some_and(|&b| b != b'\r') {
                            return Err(HttpError::InvalidChunk);
                        }
                        break;
                    }
                },
                State::Trailer => {
                    let Some(i) = find_lf(rest) else {
                        if rest.len() >= MAX_CHUNK_LINE {
                            return Err(HttpError::HeaderTooLarge);
                        }
                        break;
                    };
                    let line = strip_cr(rest.get(..i).unwrap_or(&[]))?;
                    if line.is_empty() {
                        raw += i + 1;
                        self.state = State::Done;
                        continue;
                    }
                    self.trailer_len += i + 1;
                    if i >= MAX_CHUNK_LINE || self.trailer_len > max_trailer {
                        return Err(HttpError::HeaderTooLarge);
                    }
                    let colon = line.iter().position(|&b| b == b':');
                    if colon.is_none_or(|c| c == 0)
                        || line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
                    {
                        return Err(HttpError::InvalidChunk);
                    }
                    raw += i + 1;
                }
            }
        }
        if raw > self.body_len {
            window.copy_within(raw..len, self.body_len);
        }
        Ok(len - (raw - self.body_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a complete chunked `input` in one call; returns (body, bytes after the body).
    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, Vec<u8>), HttpError> {
        let mut dec = ChunkedDecoder::new();
        let mut buf = input.to_vec();
        let kept = dec.decode(&mut buf, 1 << 20, 4096)?;
        buf.truncate(kept);
        assert!(dec.is_done(), "not done");
        let rest = buf.split_off(dec.body_len());
        Ok((buf, rest))
    }

    #[test]
    fn decodes_chunks_with_extensions_and_trailers() {
        let input = b"5;name=value\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
        for step in 1..input.len() {
            let mut dec = ChunkedDecoder::new();
            let mut buf = Vec::new();
            let mut fed = 0;
            while !dec.is_done() && fed < input.len() {
                let end = (fed + step).min(input.len());
                buf.extend_from_slice(&input[fed..end]);
                fed = end;
                let kept = dec.decode(&mut buf, 100, 100).unwrap();
                buf.truncate(kept);
            }
            buf.extend_from_slice(&input[fed..]);
            assert!(dec.is_done(), "step {step}");
            assert_eq!(&buf[..dec.body_len()], b"hello world", "step {step}");
            assert_eq!(&buf[dec.body_len()..], b"NEXT", "step {step}");
        }
    }

    #[test]
    fn empty_body_and_uppercase_hex() {
        let (body, rest) = decode_all(b"0\r\n\r\n").unwrap();
        assert!(body.is_empty() && rest.is_empty());
        let (body, _) = decode_all(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap();
        assert_eq!(body, b"0123456789");
    }

    #[test]
    fn rejects_bad_syntax() {
        let bad: &[&[u8]] = &[
            b"x\r\n",
            b"\r\n",
            b"5\nhello\r\n",
            b"5 x\r\n",
            b"2\r\nabX",
            b"2\r\nab\rX",
            b"0\r\nnocolon\r\n\r\n",
            b"0\r\n: empty name\r\n\r\n",
            b"0\r\nA: b\n\r\n",
            b"1;a\x00b\r\n",
        ];
        for input in bad {
            let mut dec = ChunkedDecoder::new();
            let mut buf = input.to_vec();
            assert_eq!(
                dec.decode(&mut buf, 100, 100),
                Err(HttpError::InvalidChunk),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn enforces_limits() {
        let mut dec = ChunkedDecoder::new();
        let mut buf = b"5\r\nhello\r\n6\r\n".to_vec();
        assert_eq!(dec.decode(&mut buf, 10, 100), Err(HttpError::BodyTooLarge));
        let mut dec = ChunkedDecoder::new();
        let mut buf = b"ffffffffffffffffffffffff\r\n".to_vec();
        assert_eq!(dec.decode(&mut buf, 10, 100), Err(HttpError::BodyTooLarge));
        let mut dec = ChunkedDecoder::new();
        let mut buf = vec![b'0'; MAX_CHUNK_LINE];
        assert_eq!(dec.decode(&mut buf, 10, 100), Err(HttpError::InvalidChunk));
        let mut dec = ChunkedDecoder::new();
        let mut buf = b"0\r\nA: 1\r\nB: 2\r\n".to_vec();
        assert_eq!(dec.decode(&mut buf, 10, 11), Err(HttpError::HeaderTooLarge));
    }

    #[test]
    fn overhead_does_not_accumulate() {
        // 1-byte chunks cost 6 raw bytes each; the buffer must stay body-sized.
        let mut dec = ChunkedDecoder::new();
        let mut buf = Vec::new();
        for _ in 0..1000 {
            buf.extend_from_slice(b"1\r\nz\r\n");
            let kept = dec.decode(&mut buf, 1000, 100).unwrap();
            buf.truncate(kept);
            assert_eq!(buf.len(), dec.body_len());
        }
        assert_eq!(dec.body_len(), 1000);
    }
}
