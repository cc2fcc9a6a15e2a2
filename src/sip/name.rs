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

impl HeaderName {
    /// Recognise a header name, full or compact form, in any letter case.
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        use HeaderName::*;
        if name.len() == 1 {
            return match name[0].to_ascii_lowercase() {
                b'v' => Via,
                b'f' => From,
                b't' => To,
                b'i' => CallId,
                b'm' => Contact,
                b'l' => ContentLength,
                b'c' => ContentType,
                b'e' => ContentEncoding,
                b's' => Subject,
                b'k' => Supported,
                b'o' => Event,
                b'u' => AllowEvents,
                b'r' => ReferTo,
                b'b' => ReferredBy,
                b'x' => SessionExpires,
                b'y' => Identity,
                b'd' => RequestDisposition,
                b'j' => RejectContact,
                b'a' => AcceptContact,
                _ => Other,
            };
        }
        // Dispatch on length and first letter so that at most one comparison runs.
        let first = name.first().map_or(0, |b| b.to_ascii_lowercase());
        let candidate = match (name.len(), first) {
            (2, b't') => To,
            (3, b'v') => Via,
            (4, b'f') => From,
            (4, b'c') => CSeq,
            (5, b'e') => Event,
            (5, b'a') => Allow,
            (5, b'r') => Route,
            (6, b's') => Server,
            (7, b'c') => {
                if name[1] | 0x20 == b'a' {
                    CallId
                } else {
                    Contact
                }
            }
            (7, b'e') => Expires,
            (7, b's') => Subject,
            (7, b'p') => PushId,
            (7, b'r') => Require,
            (8, b'i') => Identity,
            (8, b'r') => ReferTo,
            (9, b's') => Supported,
            (10, b'u') => UserAgent,
            (11, b'r') => {
                if name[2] | 0x20 == b'f' {
                    ReferredBy
                } else {
                    RetryAfter
                }
            }
            (11, b'm') => MinExpires,
            (12, b'c') => ContentType,
            (12, b'm') => MaxForwards,
            (12, b'a') => AllowEvents,
            (12, b'r') => RecordRoute,
            (14, b'c') => ContentLength,
            (14, b'r') => RejectContact,
            (14, b'a') => AcceptContact,
            (15, b's') => SessionExpires,
            (16, b'c') => ContentEncoding,
            (19, b'r') => RequestDisposition,
            _ => return Other,
        };
        if name.eq_ignore_ascii_case(candidate.as_str().as_bytes()) {
            candidate
        } else {
            Other
        }
    }

    /// The canonical full form, as the builder writes it.
    pub fn as_str(self) -> &'static str {
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
