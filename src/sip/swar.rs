//! Word-at-a-time (SWAR) scanning: eight bytes of a `u64` tested at once with carries kept
//! inside each byte. Header values, hosts and tokens are most of a message, and a test and a
//! branch per byte is what a byte loop pays for them.
//!
//! Owns no state; every function is total over byte slices. Each finder is tested against a
//! plain loop on random input at the bottom of this file.

use super::chars::is_token;

pub(crate) const LO: u64 = 0x0101_0101_0101_0101;
pub(crate) const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of the result is set where `x` has a byte equal to `b` (the lowest set
/// byte is exact; bytes above it may be false positives, which callers never look at).
#[inline(always)]
fn match_byte(x: u64, b: u8) -> u64 {
    let y = x ^ (LO * b as u64);
    y.wrapping_sub(LO) & !y & HI
}

/// Bit 7 of each byte of the result is set where `x` has a byte below `n` (`n <= 0x80`; same
/// lowest-byte exactness as [`match_byte`]).
#[inline(always)]
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO * n as u64) & !x & HI
}

/// Index of the first byte at or after `from` whose word mask `hit` flags and which `is`
/// confirms. A flagged byte that `is` rejects (a filter's false alarm) resumes the scan after
/// it. Eight bytes at a time, then byte by byte for the tail.
#[inline(always)]
fn find_by(
    s: &[u8],
    from: usize,
    hit: impl Fn(u64) -> u64,
    is: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut i = from;
    while let Some(w) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let m = hit(u64::from_le_bytes(*w));
        if m == 0 {
            i += 8;
            continue;
        }
        let k = i + (m.trailing_zeros() / 8) as usize;
        if s.get(k).is_some_and(|&b| is(b)) {
            return Some(k);
        }
        i = k + 1;
    }
    while i < s.len() {
        if is(s[i]) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Index of the first CR or LF at or after `from`: the only bytes a header value cannot hold
/// outside a fold. Eight bytes at a time (SWAR), since values are most of a message; one
/// "below 0x0E" test flags both (and the rare TAB or control byte, skipped).
#[inline]
pub fn find_cr_or_lf(s: &[u8], from: usize) -> Option<usize> {
    find_by(s, from, |x| below(x, 0x0e), |b| b == b'\r' || b == b'\n')
}

/// Index of the first `b` at or after `from`, eight bytes at a time.
#[inline]
pub fn find_byte(s: &[u8], from: usize, b: u8) -> Option<usize> {
    find_by(s, from, |x| match_byte(x, b), |c| c == b)
}

/// Index of the first byte at or after `from` that is below `n` (`n <= 0x80`): white space
/// and control bytes for `n = 0x21`.
#[inline]
pub fn find_below(s: &[u8], from: usize, n: u8) -> Option<usize> {
    find_by(s, from, |x| below(x, n), |c| c < n)
}

/// Index of the first byte at or after `from` that splits a comma-separated header value or
/// changes how it splits: `"`, `<`, `>` or `,`.
#[inline]
pub fn find_list_special(s: &[u8], from: usize) -> Option<usize> {
    // '<' | 2 and '>' | 2 are both '>', and no other byte is.
    find_by(
        s,
        from,
        |x| match_byte(x | (LO * 2), b'>') | match_byte(x, b'"') | match_byte(x, b','),
        |c| matches!(c, b'"' | b'<' | b'>' | b','),
    )
}

/// Index of the first byte at or after `from` that is `:` or below 0x21: where a header name
/// written without stray characters ends.
#[inline]
pub fn find_name_end(s: &[u8], from: usize) -> Option<usize> {
    find_by(
        s,
        from,
        |x| below(x, 0x21) | match_byte(x, b':'),
        |c| c < 0x21 || c == b':',
    )
}

/// The eight bytes from `s[at]` (`at < s.len()`) as a little-endian word; past the end of `s`
/// the word holds zero bytes, which no host holds.
#[inline(always)]
pub(crate) fn word_at(s: &[u8], at: usize) -> u64 {
    if let Some(w) = s.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        return u64::from_le_bytes(*w);
    }
    let rest = s.get(at..).unwrap_or(&[]);
    let n = rest.len();
    if let Some(w) = s
        .len()
        .checked_sub(8)
        .and_then(|k| s.get(k..)?.first_chunk::<8>())
    {
        // The last eight bytes, shifted so that `s[at]` comes first.
        return if n == 0 {
            0
        } else {
            u64::from_le_bytes(*w) >> (8 * (8 - n))
        };
    }
    // A slice shorter than a word: two overlapping loads cover the 1 to 7 bytes left;
    // overlapping bytes are equal, so OR joins them.
    let pair = |k: usize| -> Option<u64> {
        let lo = rest.get(..k)?;
        let hi = rest.get(n.checked_sub(k)?..)?;
        let load = |b: &[u8]| b.iter().rev().fold(0u64, |w, &c| w << 8 | c as u64);
        Some(load(lo) | load(hi) << (8 * (n - k)))
    };
    match n {
        4..=7 => pair(4),
        2..=3 => pair(2),
        1 => Some(rest[0] as u64),
        _ => None,
    }
    .unwrap_or(0)
}

/// Bit 7 of each byte set exactly where `x` has the byte `b` (no false positives: the result
/// is combined across neighbouring bytes).
#[inline(always)]
pub(crate) fn bytes_equal(x: u64, b: u8) -> u64 {
    let y = x ^ (LO * b as u64);
    !(((y & !HI).wrapping_add(!HI)) | y) & HI
}

/// Bit 7 of each byte set exactly where the 7-bit bytes of `x7` are at least `n` (`1..=0x80`).
#[inline(always)]
pub(crate) fn at_least(x7: u64, n: u8) -> u64 {
    x7.wrapping_add(LO * (0x80 - n) as u64) & HI
}

/// End (exclusive) of the run of token characters starting at `i`. A byte loop: most tokens
/// (parameter names, tags, transports, methods) are a few bytes long, and an eight-byte step
/// measured slower even with a byte loop for the first eight.
#[inline]
pub fn token_end(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_token(s[i]) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod swar_tests {
    use super::*;

    #[test]
    fn token_end_matches_a_plain_scan() {
        let mut seed = 0x5851f42d4c957f2du64;
        let alphabet = b"aZ09-.!%*_+`'~/:;@ \t\r\n\"<>,=\x00\x7f\x80\xad\xae\xe1\xff";
        for len in 0..40 {
            for _ in 0..400 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly letters, so that long tokens occur.
                        match seed % 6 {
                            0 => alphabet[(seed >> 8) as usize % alphabet.len()],
                            1 => (seed >> 8) as u8,
                            _ => b"azAZ09-."[(seed >> 8) as usize % 8] + (seed >> 16) as u8 % 2,
                        }
                    })
                    .collect();
                for from in 0..=len + 1 {
                    let plain = (from..len).find(|&k| !is_token(s[k])).unwrap_or(len);
                    assert_eq!(token_end(&s, from), plain.max(from), "{s:?} from {from}");
                }
            }
        }
    }

    #[test]
    fn finds_like_a_plain_scan() {
        let mut seed = 7u64;
        for len in 0..64 {
            for _ in 0..50 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        [
                            b'a',
                            b'\r',
                            b'\n',
                            0x8d,
                            0x0c,
                            b'@',
                            0xff,
                            0,
                            b' ',
                            b'\t',
                            b':',
                            0x20 + 0x80,
                            0x21,
                            0x0e,
                            0x0d + 0x80,
                            b'z',
                        ][(seed >> 60) as usize & 15]
                    })
                    .collect();
                for from in 0..=len {
                    let want = s[from..]
                        .iter()
                        .position(|&b| b == b'\r' || b == b'\n')
                        .map(|p| p + from);
                    assert_eq!(find_cr_or_lf(&s, from), want, "{s:?} from {from}");
                    let want = s[from..].iter().position(|&b| b == b'@').map(|p| p + from);
                    assert_eq!(find_byte(&s, from, b'@'), want);
                    let want = s[from..].iter().position(|&b| b < 0x21).map(|p| p + from);
                    assert_eq!(find_below(&s, from, 0x21), want);
                    let want = s[from..]
                        .iter()
                        .position(|&b| b < 0x21 || b == b':')
                        .map(|p| p + from);
                    assert_eq!(find_name_end(&s, from), want);
                    let want = s[from..]
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'<' | b'>' | b','))
                        .map(|p| p + from);
                    assert_eq!(find_list_special(&s, from), want);
                }
            }
        }
    }
}
