//! One spelling per path: the paywall prices, and the proxy forwards, the
//! same canonical path, so no spelling of a priced path reaches the upstream
//! unpaid.
//!
//! Upstreams resolve more spellings to one resource than a literal match
//! sees: `/./premium`, `/x/../premium`, `/%2e/premium`, `//premium`,
//! `/premium/`, `/%70remium`. A path is therefore canonicalised once, before
//! it is priced:
//!
//! - percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are
//!   decoded; other escapes stay, with upper-case hex;
//! - refused (`400`): a `.` or `..` segment (raw or escaped), an escaped `/`
//!   or `\`, a raw `\`, an empty segment (`//`, a trailing `/`), an escaped
//!   NUL, a malformed escape, a path that does not start with `/`.
//!
//! What is left has exactly one meaning for every URL parser and server we
//! know; the paywall prices it and forwards exactly it (the proxy builds the
//! upstream URL from it structurally and checks the result).

use std::fmt;

/// Why a path is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// It does not start with `/` (an asterisk-form or relative target).
    #[error("the path must start with `/`")]
    NotAbsolute,
    /// A `.` or `..` segment, raw or percent-encoded.
    #[error("the path has a `.` or `..` segment: send the resolved path")]
    DotSegment,
    /// `//` or a trailing `/`.
    #[error("the path has an empty segment (`//` or a trailing `/`)")]
    EmptySegment,
    /// `%2F`, `%5C` or a raw `\`.
    #[error("the path has an encoded `/`, or a `\\`")]
    Separator,
    /// `%00`.
    #[error("the path has an encoded NUL")]
    Nul,
    /// `%` not followed by two hex digits.
    #[error("the path has a malformed percent-escape")]
    BadEscape,
}

/// A canonical path (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CanonicalPath(String);

impl CanonicalPath {
    /// Canonicalises `raw` (a request's path, without the query).
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        if rest.is_empty() {
            return Ok(CanonicalPath("/".into()));
        }
        let mut out = String::with_capacity(raw.len());
        for segment in rest.split('/') {
            out.push('/');
            push_segment(&mut out, segment)?;
        }
        Ok(CanonicalPath(out))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Appends `segment` canonicalised to `out`.
fn push_segment(out: &mut String, segment: &str) -> Result<(), PathError> {
    if segment.is_empty() {
        return Err(PathError::EmptySegment);
    }
    let start = out.len();
    let bytes = segment.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' {
            return Err(PathError::Separator);
        }
        if b != b'%' {
            out.push(char::from(b));
            i = i.saturating_add(1);
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i.saturating_add(1)).copied().and_then(hex),
            bytes.get(i.saturating_add(2)).copied().and_then(hex),
        ) else {
            return Err(PathError::BadEscape);
        };
        let decoded = hi.checked_mul(16).and_then(|h| h.checked_add(lo));
        match decoded {
            Some(b'/' | b'\\') => return Err(PathError::Separator),
            Some(0) => return Err(PathError::Nul),
            Some(d) if unreserved(d) => out.push(char::from(d)),
            _ => {
                out.push('%');
                out.push(upper_hex(hi));
                out.push(upper_hex(lo));
            }
        }
        i = i.saturating_add(3);
    }
    if matches!(out.get(start..), Some("." | "..")) {
        return Err(PathError::DotSegment);
    }
    Ok(())
}

fn upper_hex(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16)
        .unwrap_or('0')
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        CanonicalPath::parse(raw).unwrap().to_string()
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_kept_upper_case() {
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("/premium"), "/premium");
        assert_eq!(ok("/%70remium"), "/premium");
        assert_eq!(ok("/%50REMIUM"), "/PREMIUM");
        assert_eq!(ok("/a%2e%2Eb"), "/a..b");
        assert_eq!(ok("/a%7e%2d%5f"), "/a~-_");
        assert_eq!(ok("/a%20b"), "/a%20b");
        assert_eq!(ok("/a%3fb%3Bc"), "/a%3Fb%3Bc");
        assert_eq!(ok("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(ok("/a/.b/..c/b.."), "/a/.b/..c/b..");
        // idempotent
        for p in ["/a%20b", "/caf%C3%A9", "/x/y"] {
            assert_eq!(ok(&ok(p)), ok(p));
        }
    }

    #[test]
    fn ambiguous_spellings_are_refused() {
        use PathError::*;
        for (raw, why) in [
            ("premium", NotAbsolute),
            ("*", NotAbsolute),
            ("", NotAbsolute),
            ("/./premium", DotSegment),
            ("/x/../premium", DotSegment),
            ("/%2e/premium", DotSegment),
            ("/%2E/premium", DotSegment),
            ("/x/.%2E/premium", DotSegment),
            ("/premium/../premium", DotSegment),
            ("/free/%2e%2e/premium", DotSegment),
            ("/premium/.", DotSegment),
            ("//premium", EmptySegment),
            ("/premium/", EmptySegment),
            ("/a//b", EmptySegment),
            ("/a%2fb", Separator),
            ("/a%2Fb", Separator),
            ("/a%5cb", Separator),
            ("/a\\b", Separator),
            ("/a%00", Nul),
            ("/a%", BadEscape),
            ("/a%2", BadEscape),
            ("/a%zz", BadEscape),
            ("/a%+1", BadEscape),
        ] {
            assert_eq!(CanonicalPath::parse(raw), Err(why), "{raw}");
        }
    }
}
