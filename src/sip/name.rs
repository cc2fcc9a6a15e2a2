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
        // Dispatch on length first so that at most a couple of comparisons run.
        let candidates: &[HeaderName] = match name.len() {
            2 => &[To],
            3 => &[Via],
            4 => &[From, CSeq],
            5 => &[Event, Allow, Route],
            6 => &[Server],
            7 => &[CallId, Contact, Expires, Subject, PushId, Require],
            8 => &[Identity, ReferTo],
            9 => &[Supported],
            10 => &[UserAgent],
            11 => &[ReferredBy, MinExpires, RetryAfter],
            12 => &[ContentType, MaxForwards, AllowEvents, RecordRoute],
            14 => &[ContentLength, RejectContact, AcceptContact],
            15 => &[SessionExpires],
            16 => &[ContentEncoding],
            19 => &[RequestDisposition],
            _ => &[],
        };
        for &c in candidates {
            if name.eq_ignore_ascii_case(c.as_str().as_bytes()) {
                return c;
            }
        }
        Other
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
