//! Header parameters (`*( SEMI generic-param )`, RFC 3261 §7.3.1, §25.1) and comma-separated
//! header values (RFC 3261 §7.3.1: "multiple header field values on one line").
//!
//! Both are zero-copy: [`Params`] keeps the raw bytes, already validated, and iterates them on
//! demand; [`ListIter`] yields each comma-separated element of a header value. Commas inside a
//! quoted string or inside `<...>` do not split. White space (including folded lines) is
//! allowed around `;` and `=` (`SEMI`, `EQUAL` are `SWS x SWS`).

use super::chars::{find_list_special, is_ws, quoted_end, skip_ws, token_end, trim};
use super::error::{ErrorKind, ParseError};

/// One header parameter: `name` or `name=value`. A quoted value is given without its quotes
/// (escapes are left as they are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name, a token, in its original letter case.
    pub name: &'a [u8],
    /// The value, if any; quotes removed.
    pub value: Option<&'a [u8]>,
    /// True when the value was a quoted string.
    pub quoted: bool,
}

/// A validated run of header parameters, e.g. `;tag=1928;expires=60;class="tv,beta"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params<'a> {
    raw: &'a [u8],
}

impl<'a> Params<'a> {
    /// Validate `raw` (which must be empty or start, after optional white space, with `;`).
    /// `base` is the offset of `raw` in the message, for error positions.
    pub fn parse(raw: &'a [u8], base: usize) -> Result<Params<'a>, ParseError> {
        let (params, end) = Params::scan(raw, base, false, |_| {})?;
        debug_assert_eq!(end, raw.len());
        Ok(params)
    }

    /// Validate the parameters at the start of `raw`, calling `on` for each one. With
    /// `stop_at_comma`, a `,` after a parameter ends the run (the next element of a
    /// comma-separated header starts there). Returns the parameters and the index in `raw`
    /// where they end (at the comma, or `raw.len()`).
    #[inline]
    pub fn scan(
        raw: &'a [u8],
        base: usize,
        stop_at_comma: bool,
        mut on: impl FnMut(&Param<'a>),
    ) -> Result<(Params<'a>, usize), ParseError> {
        let mut i = 0;
        loop {
            if stop_at_comma {
                let j = skip_ws(raw, i);
                if j < raw.len() && raw[j] == b',' {
                    return Ok((Params { raw: &raw[..i] }, j));
                }
            }
            match next_param(raw, i) {
                Ok(Some((p, next))) => {
                    on(&p);
                    i = next;
                }
                Ok(None) => return Ok((Params { raw }, raw.len())),
                Err((kind, at)) => return Err(ParseError::new(kind, base + at)),
            }
        }
    }

    /// Wrap bytes that an earlier scan already validated.
    pub(crate) fn trusted(raw: &'a [u8]) -> Params<'a> {
        Params { raw }
    }

    /// The raw bytes, as they appeared in the message.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// True when there is no parameter.
    pub fn is_empty(&self) -> bool {
        trim(self.raw).is_empty()
    }

    /// Iterate the parameters in order.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter {
            raw: self.raw,
            pos: 0,
        }
    }

    /// The first parameter with this name (case-insensitive).
    #[inline(always)]
    pub fn get(&self, name: &[u8]) -> Option<Param<'a>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of the first parameter with this name; `Some(None)` when present without value.
    #[inline(always)]
    pub fn value(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.get(name).map(|p| p.value)
    }
}

/// Iterator over validated parameters.
#[derive(Clone, Debug)]
pub struct ParamIter<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;
    #[inline(always)]
    fn next(&mut self) -> Option<Param<'a>> {
        match next_param(self.raw, self.pos) {
            Ok(Some((p, next))) => {
                self.pos = next;
                Some(p)
            }
            _ => None,
        }
    }
}

type Step<'a> = Result<Option<(Param<'a>, usize)>, (ErrorKind, usize)>;

/// Parse the parameter starting at `i` (before its `;`). Returns the parameter and the index
/// after it, `None` at the end, or the error kind and its offset.
#[inline(always)]
fn next_param(s: &[u8], i: usize) -> Step<'_> {
    let mut i = skip_ws(s, i);
    if i >= s.len() {
        return Ok(None);
    }
    if s[i] != b';' {
        return Err((ErrorKind::BadParam, i));
    }
    i = skip_ws(s, i + 1);
    let name_start = i;
    i = token_end(s, i);
    if i == name_start {
        return Err((ErrorKind::BadParam, name_start));
    }
    let name = &s[name_start..i];
    let j = skip_ws(s, i);
    if j >= s.len() || s[j] != b'=' {
        return Ok(Some((
            Param {
                name,
                value: None,
                quoted: false,
            },
            i,
        )));
    }
    let v = skip_ws(s, j + 1);
    if v >= s.len() {
        return Err((ErrorKind::BadParam, v));
    }
    match s[v] {
        b'"' => match quoted_end(s, v) {
            Some(end) => Ok(Some((
                Param {
                    name,
                    value: Some(&s[v + 1..end - 1]),
                    quoted: true,
                },
                end,
            ))),
            None => Err((ErrorKind::UnterminatedQuote, v)),
        },
        b'[' => match s[v..].iter().position(|&b| b == b']') {
            Some(off) => {
                let end = v + off + 1;
                Ok(Some((
                    Param {
                        name,
                        value: Some(&s[v..end]),
                        quoted: false,
                    },
                    end,
                )))
            }
            None => Err((ErrorKind::BadParam, v)),
        },
        _ => {
            // gen-value = token / host / quoted-string, and Via's `received` is a bare
            // IPv6address (RFC 3261 §20.42, §25.1): a token run may continue with ':'.
            let mut end = token_end(s, v);
            while end < s.len() && s[end] == b':' {
                end = token_end(s, end + 1);
            }
            if end == v {
                return Err((ErrorKind::BadParam, v));
            }
            Ok(Some((
                Param {
                    name,
                    value: Some(&s[v..end]),
                    quoted: false,
                },
                end,
            )))
        }
    }
}

/// Iterator over the comma-separated elements of one header value. Each item is the trimmed
/// element and its offset in the message, or the error that stopped the split (after which
/// the iterator ends).
#[derive(Clone, Debug)]
pub struct ListIter<'a> {
    s: &'a [u8],
    base: usize,
    pos: usize,
    done: bool,
}

impl<'a> ListIter<'a> {
    /// Split `s` (at offset `base` in the message).
    pub fn new(s: &'a [u8], base: usize) -> ListIter<'a> {
        ListIter {
            s,
            base,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Result<(&'a [u8], usize), ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let s = self.s;
        let start = self.pos;
        let mut i = start;
        let mut angle: Option<usize> = None;
        // Jump from one byte that matters to the next, eight bytes at a time.
        let i = loop {
            let Some(k) = find_list_special(s, i) else {
                break s.len();
            };
            match s[k] {
                b'"' => match quoted_end(s, k) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => {
                        self.done = true;
                        return Some(Err(ParseError::new(
                            ErrorKind::UnterminatedQuote,
                            self.base + k,
                        )));
                    }
                },
                b'<' if angle.is_none() => angle = Some(k),
                b'>' => angle = None,
                b',' if angle.is_none() => break k,
                _ => {}
            }
            i = k + 1;
        };
        if let Some(at) = angle {
            self.done = true;
            return Some(Err(ParseError::new(
                ErrorKind::UnterminatedAngle,
                self.base + at,
            )));
        }
        if i >= s.len() {
            self.done = true;
        } else {
            self.pos = i + 1;
        }
        let mut a = start;
        while a < i && is_ws(s[a]) {
            a += 1;
        }
        let item = trim(&s[a..i]);
        Some(Ok((item, self.base + a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(raw: &[u8]) -> Vec<(String, Option<String>)> {
        let p = Params::parse(raw, 0).expect("valid params");
        p.iter()
            .map(|p| {
                (
                    String::from_utf8_lossy(p.name).into_owned(),
                    p.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn params_with_lws_quotes_and_flags() {
        let got = collect(b" ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33;class=\"tv,beta\";maddr=[::1]");
        assert_eq!(
            got,
            vec![
                ("newparam".into(), Some("newvalue".into())),
                ("secondparam".into(), None),
                ("q".into(), Some("0.33".into())),
                ("class".into(), Some("tv,beta".into())),
                ("maddr".into(), Some("[::1]".into())),
            ]
        );
        let p = Params::parse(b";Tag=abc;rport", 0).unwrap();
        assert_eq!(p.value(b"tag"), Some(Some(&b"abc"[..])));
        assert_eq!(p.value(b"RPORT"), Some(None));
        assert_eq!(p.value(b"x"), None);
        assert!(Params::parse(b"", 0).unwrap().is_empty());
    }

    #[test]
    fn bad_params() {
        assert_eq!(
            Params::parse(b"x", 10).unwrap_err(),
            ParseError::new(ErrorKind::BadParam, 10)
        );
        assert_eq!(
            Params::parse(b";", 0).unwrap_err().kind,
            ErrorKind::BadParam
        );
        assert_eq!(
            Params::parse(b";a=", 0).unwrap_err().kind,
            ErrorKind::BadParam
        );
        assert_eq!(
            Params::parse(b";a=\"x", 0).unwrap_err(),
            ParseError::new(ErrorKind::UnterminatedQuote, 3)
        );
        assert_eq!(
            Params::parse(b";a=b c", 0).unwrap_err().kind,
            ErrorKind::BadParam
        );
    }

    #[test]
    fn list_split_respects_quotes_and_angles() {
        let v = b"\"Bob, Jr\" <sip:b@x;a=1,2>;q=1 ,  sip:c@d , <sip:e>";
        let items: Vec<_> = ListIter::new(v, 100).map(|r| r.unwrap()).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].0, &b"\"Bob, Jr\" <sip:b@x;a=1,2>;q=1"[..]);
        assert_eq!(items[0].1, 100);
        assert_eq!(items[1].0, &b"sip:c@d"[..]);
        assert_eq!(items[2], (&b"<sip:e>"[..], 100 + 43));
        let mut bad = ListIter::new(b"<sip:a, \"x", 0);
        assert_eq!(
            bad.next().unwrap().unwrap_err().kind,
            ErrorKind::UnterminatedQuote
        );
        assert!(bad.next().is_none());
        let mut bad = ListIter::new(b"a, <sip:b", 0);
        assert!(bad.next().unwrap().is_ok());
        assert_eq!(
            bad.next().unwrap().unwrap_err(),
            ParseError::new(ErrorKind::UnterminatedAngle, 3)
        );
    }
}
