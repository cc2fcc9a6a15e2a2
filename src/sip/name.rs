//! Header names the parser recognises, with the compact forms of RFC 3261 §7.3.3 and of the
//! extensions registered with IANA (RFC 3265/6665 `o`, `u`; RFC 3515 `r`; RFC 3892 `b`;
//! RFC 4028 `x`; RFC 4474 `y`; RFC 3841 `d`, `j`, `a`).
//!
//! Matching is case-insensitive (RFC 3261 §7.3.1). Unknown names are `Other`; the raw name is
//! kept by the header table either way.

/// A recognised header name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum HeaderName {
    Via,
    From,
    To,
    CallId,
    CSeq,
    Contact,
    Expires,
    ContentLength,
    ContentType,
    MaxForwards,
    ContentEncoding,
    Subject,
    Supported,
    Event,
    AllowEvents,
    ReferTo,
    ReferredBy,
    SessionExpires,
    Identity,
    RequestDisposition,
    RejectContact,
    AcceptContact,
    Route,
    RecordRoute,
    Allow,
    UserAgent,
    Server,
    PushId,
    MinExpires,
    RetryAfter,
    Require,
    Other,
}

/// How many distinct `HeaderName` values exist (for per-name index arrays).
pub const NAME_COUNT: usize = HeaderName::Other as usize + 1;

/// Every recognised name, in discriminant order (for the tables below).
const ALL: [HeaderName; NAME_COUNT] = {
    use HeaderName::*;
    [
        Via,
        From,
        To,
        CallId,
        CSeq,
        Contact,
        Expires,
        ContentLength,
        ContentType,
        MaxForwards,
        ContentEncoding,
        Subject,
        Supported,
        Event,
        AllowEvents,
        ReferTo,
        ReferredBy,
        SessionExpires,
        Identity,
        RequestDisposition,
        RejectContact,
        AcceptContact,
        Route,
        RecordRoute,
        Allow,
        UserAgent,
        Server,
        PushId,
        MinExpires,
        RetryAfter,
        Require,
        Other,
    ]
};

/// A name folded into words (see [`fold`]) and, at the same positions, 0x20 where the name
/// has a letter: the one bit in which the other letter case may differ.
type Pattern = ([u64; 3], [u64; 3]);

const fn pattern(name: &str) -> Pattern {
    let b = name.as_bytes();
    let mut case = [0u8; 24];
    let mut k = 0;
    while k < b.len() && k < case.len() {
        if b[k].is_ascii_alphabetic() {
            case[k] = 0x20;
        }
        k += 1;
    }
    let n = if b.len() < case.len() {
        b.len()
    } else {
        case.len()
    };
    (fold(b), fold(case.split_at(n).0))
}

static PATTERNS: [Pattern; NAME_COUNT] = {
    let mut t = [([0u64; 3], [0u64; 3]); NAME_COUNT];
    let mut k = 0;
    while k < NAME_COUNT {
        t[k] = pattern(ALL[k].as_str());
        k += 1;
    }
    t
};

const fn word(s: &[u8], at: usize) -> u64 {
    if at > s.len() {
        return 0;
    }
    match s.split_at(at).1.first_chunk::<8>() {
        Some(c) => u64::from_le_bytes(*c),
        None => 0,
    }
}

const fn half(s: &[u8], at: usize) -> u64 {
    if at > s.len() {
        return 0;
    }
    match s.split_at(at).1.first_chunk::<4>() {
        Some(c) => u32::from_le_bytes(*c) as u64,
        None => 0,
    }
}

const fn quarter(s: &[u8], at: usize) -> u64 {
    if at > s.len() {
        return 0;
    }
    match s.split_at(at).1.first_chunk::<2>() {
        Some(c) => u16::from_le_bytes(*c) as u64,
        None => 0,
    }
}

/// The bytes of `s` (1 to 24 of them) as three words read with overlapping loads: every byte
/// of `s` lands in a fixed place that depends only on `s.len()`. So two strings of one length
/// are equal exactly when their folds are, and a byte-wise mask folds the same way. Loads,
/// not a loop: recognising a name costs a few instructions whatever its length.
pub(crate) const fn fold(s: &[u8]) -> [u64; 3] {
    let n = s.len();
    if n > 16 {
        [word(s, 0), word(s, 8), word(s, n.saturating_sub(8))]
    } else if n >= 8 {
        [word(s, 0), word(s, n - 8), 0]
    } else if n >= 4 {
        [half(s, 0) | half(s, n - 4) << 32, 0, 0]
    } else if n >= 2 {
        [quarter(s, 0) | quarter(s, n - 2) << 16, 0, 0]
    } else if n == 1 {
        [s[0] as u64, 0, 0]
    } else {
        [0, 0, 0]
    }
}

/// Compact forms (RFC 3261 §7.3.3 and the IANA registry), by lowercase letter.
const COMPACT_FORMS: [(u8, HeaderName); 19] = {
    use HeaderName::*;
    [
        (b'v', Via),
        (b'f', From),
        (b't', To),
        (b'i', CallId),
        (b'm', Contact),
        (b'l', ContentLength),
        (b'c', ContentType),
        (b'e', ContentEncoding),
        (b's', Subject),
        (b'k', Supported),
        (b'o', Event),
        (b'u', AllowEvents),
        (b'r', ReferTo),
        (b'b', ReferredBy),
        (b'x', SessionExpires),
        (b'y', Identity),
        (b'd', RequestDisposition),
        (b'j', RejectContact),
        (b'a', AcceptContact),
    ]
};

static COMPACT: [HeaderName; 26] = {
    let mut t = [HeaderName::Other; 26];
    let mut k = 0;
    while k < COMPACT_FORMS.len() {
        t[(COMPACT_FORMS[k].0 - b'a') as usize] = COMPACT_FORMS[k].1;
        k += 1;
    }
    t
};

/// Longest full name plus one.
const MAX_LEN: usize = 20;

/// The shape of a full name: its length and the low five bits of its first letter.
const fn shape(len: usize, first: u8) -> usize {
    len * 32 + (first | 0x20) as usize % 32
}

/// The candidate for each shape, and for the two shapes that two names share
/// (Call-ID/Contact, Referred-By/Retry-After) the second one in `SECOND`.
static BY_SHAPE: ([HeaderName; MAX_LEN * 32], [HeaderName; NAME_COUNT]) = {
    let mut by_shape = [HeaderName::Other; MAX_LEN * 32];
    let mut second = [HeaderName::Other; NAME_COUNT];
    let mut k = 0;
    while k < NAME_COUNT - 1 {
        let name = ALL[k].as_str().as_bytes();
        let at = shape(name.len(), name[0]);
        let held = by_shape[at];
        if held as u8 == HeaderName::Other as u8 {
            by_shape[at] = ALL[k];
        } else {
            second[held as usize] = ALL[k];
        }
        k += 1;
    }
    (by_shape, second)
};

/// True when `name` is `candidate`'s full name in any letter case, exact for any bytes: where
/// the name has a letter the two bytes may differ in bit 0x20 only, elsewhere not at all. The
/// caller guarantees equal lengths (the shape includes the length).
#[inline]
fn is(name: &[u8], candidate: HeaderName) -> bool {
    let (want, case) = &PATTERNS[candidate as usize];
    let got = fold(name);
    let diff = ((got[0] ^ want[0]) & !case[0])
        | ((got[1] ^ want[1]) & !case[1])
        | ((got[2] ^ want[2]) & !case[2]);
    diff == 0
}

/// Each name (up to 16 bytes) as one little-endian u128, zero-padded, and its case mask.
static WIDE: [(u128, u128); NAME_COUNT] = {
    let mut t = [(0u128, 0u128); NAME_COUNT];
    let mut k = 0;
    while k < NAME_COUNT {
        let name = ALL[k].as_str().as_bytes();
        let mut j = 0;
        while j < name.len() && j < 16 {
            t[k].0 |= (name[j] as u128) << (8 * j);
            if name[j].is_ascii_alphabetic() {
                t[k].1 |= 0x20 << (8 * j);
            }
            j += 1;
        }
        k += 1;
    }
    t
};

/// [`is`] for a name of at most 16 bytes given as a zero-padded u128.
#[inline]
fn wide_is(got: u128, candidate: HeaderName) -> bool {
    let (want, case) = WIDE[candidate as usize];
    (got ^ want) & !case == 0
}

impl HeaderName {
    /// Recognise the name `buf[at..end]` (`at < end`): the same answer as
    /// [`HeaderName::from_bytes`], but when the buffer holds 16 bytes from `at` the name is
    /// loaded as one masked u128, with no branch on its length (header names come in many
    /// lengths, and a mispredicted branch per header line costs more than the compare).
    #[inline]
    pub(crate) fn from_buf(buf: &[u8], at: usize, end: usize) -> HeaderName {
        use HeaderName::*;
        let n = end.wrapping_sub(at);
        match buf.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            Some(w) if (2..=16).contains(&n) => {
                let (by_shape, second) = &BY_SHAPE;
                let candidate = by_shape[shape(n, w[0])];
                let got = u128::from_le_bytes(*w) & (u128::MAX >> (128 - 8 * n));
                if candidate == Other || wide_is(got, candidate) {
                    return candidate;
                }
                let other = second[candidate as usize];
                if other != Other && wide_is(got, other) {
                    other
                } else {
                    Other
                }
            }
            _ => buf.get(at..end).map_or(Other, HeaderName::from_bytes),
        }
    }

    /// Recognise a header name, full or compact form, in any letter case.
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        use HeaderName::*;
        if let [b] = name {
            // `b | 0x20` is a lowercase letter exactly when `b` is a letter.
            let lower = b | 0x20;
            return if lower.is_ascii_lowercase() {
                COMPACT[(lower - b'a') as usize]
            } else {
                Other
            };
        }
        // A table look-up by shape picks the one candidate (two for two shapes) and a folded
        // comparison confirms it: no branch per name, no byte loop.
        let (by_shape, second) = &BY_SHAPE;
        let first = match name.first() {
            Some(&b) if name.len() < MAX_LEN => b,
            _ => return Other,
        };
        let candidate = by_shape[shape(name.len(), first)];
        if candidate == Other || is(name, candidate) {
            return candidate;
        }
        let other = second[candidate as usize];
        if other != Other && is(name, other) {
            other
        } else {
            Other
        }
    }

    /// The canonical full form, as the builder writes it.
    pub const fn as_str(self) -> &'static str {
        use HeaderName::*;
        match self {
            Via => "Via",
            From => "From",
            To => "To",
            CallId => "Call-ID",
            CSeq => "CSeq",
            Contact => "Contact",
            Expires => "Expires",
            ContentLength => "Content-Length",
            ContentType => "Content-Type",
            MaxForwards => "Max-Forwards",
            ContentEncoding => "Content-Encoding",
            Subject => "Subject",
            Supported => "Supported",
            Event => "Event",
            AllowEvents => "Allow-Events",
            ReferTo => "Refer-To",
            ReferredBy => "Referred-By",
            SessionExpires => "Session-Expires",
            Identity => "Identity",
            RequestDisposition => "Request-Disposition",
            RejectContact => "Reject-Contact",
            AcceptContact => "Accept-Contact",
            Route => "Route",
            RecordRoute => "Record-Route",
            Allow => "Allow",
            UserAgent => "User-Agent",
            Server => "Server",
            PushId => "Push-Id",
            MinExpires => "Min-Expires",
            RetryAfter => "Retry-After",
            Require => "Require",
            Other => "",
        }
    }

    /// True for headers that may carry several comma-separated values (RFC 3261 §7.3.1).
    pub fn is_list(self) -> bool {
        use HeaderName::*;
        matches!(
            self,
            Via | Contact
                | Route
                | RecordRoute
                | Allow
                | Supported
                | Require
                | AllowEvents
                | ContentEncoding
                | AcceptContact
                | RejectContact
                | RequestDisposition
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte-by-byte recogniser of the full forms, as the reference for the folded
    /// comparison (compact forms take another path).
    fn reference(name: &[u8]) -> HeaderName {
        if name.len() == 1 {
            return HeaderName::from_bytes(name);
        }
        ALL.iter()
            .copied()
            .find(|h| *h != HeaderName::Other && name.eq_ignore_ascii_case(h.as_str().as_bytes()))
            .unwrap_or(HeaderName::Other)
    }

    #[test]
    fn all_is_in_discriminant_order() {
        for (k, h) in ALL.iter().enumerate() {
            assert_eq!(*h as usize, k);
        }
    }

    #[test]
    fn folded_match_equals_byte_comparison() {
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for h in ALL {
            let name = h.as_str().as_bytes();
            if name.is_empty() {
                continue;
            }
            assert_eq!(HeaderName::from_bytes(name), h);
            // Flip letter case, and change single bytes to near misses (bit 0x20 on a
            // non-letter, CR for '-', other letters, high bytes).
            for _ in 0..2000 {
                let mut v = name.to_vec();
                for _ in 0..=next() % 3 {
                    let k = (next() as usize) % v.len();
                    v[k] = match next() % 6 {
                        0 => v[k] ^ 0x20,
                        1 => v[k].to_ascii_uppercase(),
                        2 => b'\r',
                        3 => v[k] ^ (1 << (next() % 8)),
                        4 => b'a' + (next() % 26) as u8,
                        _ => next() as u8,
                    };
                }
                assert_eq!(HeaderName::from_bytes(&v), reference(&v), "{v:?}");
                // The same name inside a buffer, followed by 0 to 20 more bytes.
                let mut buf = v.clone();
                buf.extend((0..next() % 21).map(|_| next() as u8));
                assert_eq!(
                    HeaderName::from_buf(&buf, 0, v.len()),
                    reference(&v),
                    "{v:?}"
                );
            }
        }
        for len in 0..30 {
            for _ in 0..200 {
                let v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                assert_eq!(HeaderName::from_bytes(&v), reference(&v), "{v:?}");
                // The same name inside a buffer, followed by 0 to 20 more bytes.
                let mut buf = v.clone();
                buf.extend((0..next() % 21).map(|_| next() as u8));
                assert_eq!(
                    HeaderName::from_buf(&buf, 0, v.len()),
                    reference(&v),
                    "{v:?}"
                );
            }
        }
    }
}
