//! The parser's error type: what failed and at which byte of the message.
//!
//! Every error names one rule of RFC 3261 that the input broke. [`ParseError::disposition`] tells
//! the server what to do with it:
//!
//! | stage | kinds | request | response |
//! |---|---|---|---|
//! | framing (no trustworthy header table) | `Empty`, `IncompleteHeaders`, `BadStartLine`, `BadMethod`, `BadStatusCode`, `BadHeaderName`, `BadHeaderLine`, `TooManyHeaders`, `TooLarge` | drop | drop |
//! | version | `VersionNotSupported` | answer 505 (RFC 3261 §21.5.7) | drop |
//! | semantics (headers framed, something inside is wrong) | everything else | answer 400 with the error's reason | drop |
//!
//! A response is never answered (RFC 3261 §18.1.2 drops malformed responses silently).

use std::fmt;

/// What went wrong. Each variant has a short static reason, usable as a SIP reason phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The buffer is empty or only white space.
    Empty,
    /// The header block has no terminating empty line (truncated or not SIP).
    IncompleteHeaders,
    /// The first line is neither `Method SP Request-URI SP SIP-Version` nor a Status-Line.
    BadStartLine,
    /// The request method is not a token.
    BadMethod,
    /// The Request-URI is not an absolute URI (or is a SIP URI that breaks RFC 3261 §19.1.1).
    BadRequestUri,
    /// The request line has stray white space around its elements (RFC 4475 §3.1.2.9, §3.1.2.10).
    BadRequestLine,
    /// The status code is not three digits in 100..=699.
    BadStatusCode,
    /// A SIP version other than 2.0 (answer 505).
    VersionNotSupported,
    /// A header name is not a token.
    BadHeaderName,
    /// A header line lacks its colon or holds a stray CR or LF.
    BadHeaderLine,
    /// More header lines than the caller's header array holds.
    TooManyHeaders,
    /// The message is larger than the parser addresses (4 GiB).
    TooLarge,
    /// Content-Length is not a decimal number (negative, non-numeric or overlarge).
    BadContentLength,
    /// The datagram holds fewer body bytes than Content-Length announces.
    BodyTooShort,
    /// A required header is absent.
    MissingVia,
    /// A required header is absent.
    MissingFrom,
    /// A required header is absent.
    MissingTo,
    /// A required header is absent.
    MissingCallId,
    /// A required header is absent.
    MissingCSeq,
    /// A required header (requests only) is absent.
    MissingMaxForwards,
    /// A header that may appear once appears twice with different values.
    DuplicateHeader,
    /// CSeq is not `1*DIGIT LWS Method` with a number below 2^31.
    BadCSeq,
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    CSeqMethodMismatch,
    /// Call-ID is not `word ["@" word]`.
    BadCallId,
    /// Max-Forwards is not a number in 0..=255.
    BadMaxForwards,
    /// Expires (or a Contact `expires` parameter) is not delta-seconds below 2^32.
    BadExpires,
    /// A quoted string is not closed.
    UnterminatedQuote,
    /// A `<` is not closed by `>`.
    UnterminatedAngle,
    /// A URI breaks RFC 3261 §19.1 / §25.1.
    BadUri,
    /// A host is neither a name, an IPv4 address nor an IPv6 reference.
    BadHost,
    /// A port is not a number in 0..=65535.
    BadPort,
    /// A Via value breaks RFC 3261 §20.42.
    BadVia,
    /// A From, To or Contact value breaks `name-addr / addr-spec`.
    BadNameAddr,
    /// A header parameter is malformed.
    BadParam,
    /// A Content-Type is not `type/subtype *(;param)`.
    BadContentType,
}

impl ErrorKind {
    /// A short, human readable reason, also used as the reason phrase of a 400 answer.
    pub fn reason(self) -> &'static str {
        use ErrorKind::*;
        match self {
            Empty => "Empty Message",
            IncompleteHeaders => "Incomplete Header Block",
            BadStartLine => "Malformed Start Line",
            BadMethod => "Malformed Method",
            BadRequestUri => "Malformed Request-URI",
            BadRequestLine => "Malformed Request Line",
            BadStatusCode => "Malformed Status Code",
            VersionNotSupported => "SIP Version Not Supported",
            BadHeaderName => "Malformed Header Name",
            BadHeaderLine => "Malformed Header Line",
            TooManyHeaders => "Too Many Headers",
            TooLarge => "Message Too Large",
            BadContentLength => "Bad Content-Length",
            BodyTooShort => "Body Shorter Than Content-Length",
            MissingVia => "Missing Via",
            MissingFrom => "Missing From",
            MissingTo => "Missing To",
            MissingCallId => "Missing Call-ID",
            MissingCSeq => "Missing CSeq",
            MissingMaxForwards => "Missing Max-Forwards",
            DuplicateHeader => "Duplicate Single-Value Header",
            BadCSeq => "Bad CSeq",
            CSeqMethodMismatch => "CSeq Method Does Not Match Request Method",
            BadCallId => "Bad Call-ID",
            BadMaxForwards => "Bad Max-Forwards",
            BadExpires => "Bad Expires",
            UnterminatedQuote => "Unterminated Quoted String",
            UnterminatedAngle => "Unterminated Angle Bracket",
            BadUri => "Malformed URI",
            BadHost => "Malformed Host",
            BadPort => "Malformed Port",
            BadVia => "Malformed Via",
            BadNameAddr => "Malformed Name-Addr",
            BadParam => "Malformed Parameter",
            BadContentType => "Bad Content-Type",
        }
    }

    /// A stable snake_case label, used in metrics (`parse_errors_total{kind="..."}`).
    pub fn label(self) -> &'static str {
        use ErrorKind::*;
        match self {
            Empty => "empty",
            IncompleteHeaders => "incomplete_headers",
            BadStartLine => "bad_start_line",
            BadMethod => "bad_method",
            BadRequestUri => "bad_request_uri",
            BadRequestLine => "bad_request_line",
            BadStatusCode => "bad_status_code",
            VersionNotSupported => "version_not_supported",
            BadHeaderName => "bad_header_name",
            BadHeaderLine => "bad_header_line",
            TooManyHeaders => "too_many_headers",
            TooLarge => "too_large",
            BadContentLength => "bad_content_length",
            BodyTooShort => "body_too_short",
            MissingVia => "missing_via",
            MissingFrom => "missing_from",
            MissingTo => "missing_to",
            MissingCallId => "missing_call_id",
            MissingCSeq => "missing_cseq",
            MissingMaxForwards => "missing_max_forwards",
            DuplicateHeader => "duplicate_header",
            BadCSeq => "bad_cseq",
            CSeqMethodMismatch => "cseq_method_mismatch",
            BadCallId => "bad_call_id",
            BadMaxForwards => "bad_max_forwards",
            BadExpires => "bad_expires",
            UnterminatedQuote => "unterminated_quote",
            UnterminatedAngle => "unterminated_angle",
            BadUri => "bad_uri",
            BadHost => "bad_host",
            BadPort => "bad_port",
            BadVia => "bad_via",
            BadNameAddr => "bad_name_addr",
            BadParam => "bad_param",
            BadContentType => "bad_content_type",
        }
    }

    /// Every kind, for metrics tables.
    pub const ALL: [ErrorKind; 35] = {
        use ErrorKind::*;
        [
            Empty,
            IncompleteHeaders,
            BadStartLine,
            BadMethod,
            BadRequestUri,
            BadRequestLine,
            BadStatusCode,
            VersionNotSupported,
            BadHeaderName,
            BadHeaderLine,
            TooManyHeaders,
            TooLarge,
            BadContentLength,
            BodyTooShort,
            MissingVia,
            MissingFrom,
            MissingTo,
            MissingCallId,
            MissingCSeq,
            MissingMaxForwards,
            DuplicateHeader,
            BadCSeq,
            CSeqMethodMismatch,
            BadCallId,
            BadMaxForwards,
            BadExpires,
            UnterminatedQuote,
            UnterminatedAngle,
            BadUri,
            BadHost,
            BadPort,
            BadVia,
            BadNameAddr,
            BadParam,
            BadContentType,
        ]
    };

    /// Position of this kind in [`ErrorKind::ALL`] (for counter arrays).
    pub fn index(self) -> usize {
        self as usize
    }

    /// True for errors found before the header table could be trusted: nothing can be
    /// answered, the datagram is dropped.
    pub fn is_framing(self) -> bool {
        use ErrorKind::*;
        matches!(
            self,
            Empty
                | IncompleteHeaders
                | BadStartLine
                | BadMethod
                | BadStatusCode
                | BadHeaderName
                | BadHeaderLine
                | TooManyHeaders
                | TooLarge
        )
    }
}

/// What a server does with a message that failed to parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Answer with this status code (400 or 505) and the error's reason phrase.
    Respond(u16),
    /// Drop the datagram and count it.
    Drop,
}

/// A parse failure: its kind and the byte offset (from the start of the message) where the
/// offending element begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What failed.
    pub kind: ErrorKind,
    /// Byte offset in the parsed buffer.
    pub at: usize,
}

impl ParseError {
    /// A new error.
    #[inline]
    pub fn new(kind: ErrorKind, at: usize) -> ParseError {
        ParseError { kind, at }
    }

    /// What to do with the message, given whether it was a request (see the module table).
    pub fn disposition(&self, is_request: bool) -> Disposition {
        if !is_request || self.kind.is_framing() {
            Disposition::Drop
        } else if self.kind == ErrorKind::VersionNotSupported {
            Disposition::Respond(505)
        } else {
            Disposition::Respond(400)
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.reason(), self.at)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_indexed_in_order() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
            assert!(!k.reason().is_empty() && !k.label().is_empty());
        }
    }

    #[test]
    fn dispositions() {
        let e = |k| ParseError::new(k, 0);
        assert_eq!(
            e(ErrorKind::BadStartLine).disposition(true),
            Disposition::Drop
        );
        assert_eq!(
            e(ErrorKind::VersionNotSupported).disposition(true),
            Disposition::Respond(505)
        );
        assert_eq!(
            e(ErrorKind::MissingCallId).disposition(true),
            Disposition::Respond(400)
        );
        assert_eq!(
            e(ErrorKind::MissingCallId).disposition(false),
            Disposition::Drop
        );
        assert_eq!(format!("{}", e(ErrorKind::BadCSeq)), "Bad CSeq at byte 0");
    }
}
