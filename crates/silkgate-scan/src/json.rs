//! An iterative walk over one JSON text: every scalar with its path, without building a
//! value tree and without recursion, so nesting is limited by a setting rather than by the
//! stack (a line nested deeper than the setting is reported as such, not as invalid JSON).
//!
//! Paths are the scanner's columns: object keys joined with `.`, `[]` for the elements of
//! an array (all elements of an array share one column), `$` for a scalar at the top.
//! Strings are unescaped (`\u0040` is `@`) before they reach the detectors.

/// Why a JSON text was not walked to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON (syntax, invalid UTF-8 in a string, a lone surrogate).
    Invalid,
    /// Containers nested deeper than the limit.
    TooDeep,
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Result<u8, JsonError> {
        self.b.get(self.i).copied().ok_or(JsonError::Invalid)
    }

    fn bump(&mut self) -> Result<u8, JsonError> {
        let c = self.peek()?;
        self.i += 1;
        Ok(c)
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(JsonError::Invalid)
        }
    }

    /// A number, as its text (validated against the JSON grammar).
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.i;
        let digits = |c: &mut Self| {
            let s = c.i;
            while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                c.i += 1;
            }
            c.i > s
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(JsonError::Invalid),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(JsonError::Invalid);
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(JsonError::Invalid);
            }
        }
        std::str::from_utf8(&self.b[start..self.i]).map_err(|_| JsonError::Invalid)
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self.b.get(self.i..self.i + 4).ok_or(JsonError::Invalid)?;
        let s = std::str::from_utf8(h).map_err(|_| JsonError::Invalid)?;
        let v = u32::from_str_radix(s, 16).map_err(|_| JsonError::Invalid)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return Err(JsonError::Invalid);
        }
        self.i += 4;
        Ok(v)
    }

    /// A string after its opening quote: borrowed when it has no escape, else unescaped
    /// into `buf`.
    fn string<'b>(&mut self, buf: &'b mut String) -> Result<StrRef<'a, 'b>, JsonError>
    where
        'a: 'b,
    {
        let start = self.i;
        let rest = &self.b[start..];
        let end = memchr::memchr2(b'"', b'\\', rest).ok_or(JsonError::Invalid)?;
        if rest[end] == b'"' {
            let raw = &rest[..end];
            if raw.iter().any(|c| *c < 0x20) {
                return Err(JsonError::Invalid);
            }
            let s = std::str::from_utf8(raw).map_err(|_| JsonError::Invalid)?;
            self.i = start + end + 1;
            return Ok(StrRef::Borrowed(s));
        }
        buf.clear();
        loop {
            let rest = &self.b[self.i..];
            let n = memchr::memchr2(b'"', b'\\', rest).ok_or(JsonError::Invalid)?;
            let raw = &rest[..n];
            if raw.iter().any(|c| *c < 0x20) {
                return Err(JsonError::Invalid);
            }
            buf.push_str(std::str::from_utf8(raw).map_err(|_| JsonError::Invalid)?);
            self.i += n;
            if self.bump()? == b'"' {
                return Ok(StrRef::Owned(buf));
            }
            let c = match self.bump()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        self.literal(b"\\u")?;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(JsonError::Invalid);
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    char::from_u32(code).ok_or(JsonError::Invalid)?
                }
                _ => return Err(JsonError::Invalid),
            };
            buf.push(c);
        }
    }
}

enum StrRef<'a, 'b> {
    Borrowed(&'a str),
    Owned(&'b str),
}

impl StrRef<'_, '_> {
    fn as_str(&self) -> &str {
        match self {
            StrRef::Borrowed(s) => s,
            StrRef::Owned(s) => s,
        }
    }
}

/// One open container: whether it is an object, and the path length before it.
type Frame = (bool, usize);

/// Calls `f(path, text)` for every string and number of the JSON text `line`, in document
/// order, after checking the whole text (so nothing is reported for a text that is not
/// JSON or nests deeper than `max_depth` containers). `path` and `buf` are scratch space
/// kept by the caller between lines.
pub(crate) fn walk(
    line: &[u8],
    max_depth: usize,
    scratch: &mut Scratch,
    f: &mut dyn FnMut(&str, &str),
) -> Result<(), JsonError> {
    walk_inner(line, max_depth, scratch, &mut |_, _| {})?;
    walk_inner(line, max_depth, scratch, f)
}

/// Buffers reused from line to line.
#[derive(Default)]
pub(crate) struct Scratch {
    path: String,
    buf: String,
    stack: Vec<Frame>,
}

fn walk_inner(
    line: &[u8],
    max_depth: usize,
    s: &mut Scratch,
    f: &mut dyn FnMut(&str, &str),
) -> Result<(), JsonError> {
    let Scratch { path, buf, stack } = s;
    path.clear();
    stack.clear();
    let mut c = Cursor { b: line, i: 0 };
    let key = |c: &mut Cursor<'_>, path: &mut String, buf: &mut String, base: usize| {
        c.ws();
        if c.bump()? != b'"' {
            return Err(JsonError::Invalid);
        }
        let k = c.string(buf)?;
        path.truncate(base);
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k.as_str());
        c.ws();
        if c.bump()? != b':' {
            return Err(JsonError::Invalid);
        }
        Ok(())
    };
    loop {
        // A value.
        c.ws();
        let mut closed = false;
        match c.bump()? {
            b'{' => {
                if stack.len() >= max_depth {
                    return Err(JsonError::TooDeep);
                }
                stack.push((true, path.len()));
                c.ws();
                if c.peek()? == b'}' {
                    c.i += 1;
                    closed = true;
                } else {
                    let base = path.len();
                    key(&mut c, path, buf, base)?;
                    continue;
                }
            }
            b'[' => {
                if stack.len() >= max_depth {
                    return Err(JsonError::TooDeep);
                }
                stack.push((false, path.len()));
                path.push_str("[]");
                c.ws();
                if c.peek()? == b']' {
                    c.i += 1;
                    closed = true;
                } else {
                    continue;
                }
            }
            b'"' => {
                let v = c.string(buf)?;
                let p = if path.is_empty() { "$" } else { path.as_str() };
                f(p, v.as_str());
            }
            b't' => c.literal(b"rue")?,
            b'f' => c.literal(b"alse")?,
            b'n' => c.literal(b"ull")?,
            b'-' | b'0'..=b'9' => {
                c.i -= 1;
                let n = c.number()?;
                let p = if path.is_empty() { "$" } else { path.as_str() };
                f(p, n);
            }
            _ => return Err(JsonError::Invalid),
        }
        if closed {
            let (_, base) = stack.pop().expect("just pushed");
            path.truncate(base);
        }
        // After a value: a separator, the end of containers, or the end of the text.
        loop {
            c.ws();
            let Some(&(is_object, base)) = stack.last() else {
                return if c.i == line.len() {
                    Ok(())
                } else {
                    Err(JsonError::Invalid)
                };
            };
            match c.bump()? {
                b',' => {
                    if is_object {
                        key(&mut c, path, buf, base)?;
                    }
                    break;
                }
                b'}' if is_object => {
                    stack.pop();
                    path.truncate(base);
                }
                b']' if !is_object => {
                    stack.pop();
                    path.truncate(base);
                }
                _ => return Err(JsonError::Invalid),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(text: &str, depth: usize) -> Result<Vec<(String, String)>, JsonError> {
        let mut out = Vec::new();
        walk(
            text.as_bytes(),
            depth,
            &mut Scratch::default(),
            &mut |p, v| out.push((p.to_owned(), v.to_owned())),
        )?;
        Ok(out)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn paths_and_values_in_document_order() {
        let got = scalars(
            r#" {"b": {"c": "x\u0040y.kz", "d": [1, -2.5e3, {"e": "\"q\""}]}, "a": true, "n": null, "s": "\ud83d\ude00"} "#,
            64,
        )
        .unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("b.c", "x@y.kz"),
                ("b.d[]", "1"),
                ("b.d[]", "-2.5e3"),
                ("b.d[].e", "\"q\""),
                ("s", "😀"),
            ])
        );
        assert_eq!(scalars("42", 4).unwrap(), pairs(&[("$", "42")]));
        assert_eq!(scalars("[[\"a\"]]", 4).unwrap(), pairs(&[("[][]", "a")]));
        assert_eq!(scalars("{}", 4).unwrap(), pairs(&[]));
        assert_eq!(scalars("{\"a\":[]}", 4).unwrap(), pairs(&[]));
    }

    #[test]
    fn invalid_json_is_invalid_and_reports_nothing() {
        for bad in [
            "",
            "{",
            "{\"a\":1,}",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "tru",
            "\"a",
            "{\"a\":1}x",
            "[1 2]",
            "{1:2}",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"a\u{1}b\"",
            "{\"a\":1]",
        ] {
            assert_eq!(scalars(bad, 64), Err(JsonError::Invalid), "{bad:?}");
        }
        let mut seen = 0;
        let r = walk(
            b"{\"a\":\"x@y.kz\",\"b\":}",
            64,
            &mut Scratch::default(),
            &mut |_, _| seen += 1,
        );
        assert_eq!((r, seen), (Err(JsonError::Invalid), 0));
    }

    #[test]
    fn nesting_beyond_the_limit_is_too_deep_not_invalid() {
        let deep = |n: usize| format!("{}\"a@b.kz\"{}", "{\"k\":".repeat(n), "}".repeat(n));
        assert_eq!(scalars(&deep(128), 128).unwrap().len(), 1);
        assert_eq!(scalars(&deep(129), 128), Err(JsonError::TooDeep));
        // Far deeper than any recursive parser's stack would allow.
        let n = 200_000;
        let text = format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(scalars(&text, n).unwrap().len(), 1);
        assert_eq!(scalars(&text, n - 1), Err(JsonError::TooDeep));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_serde_json_on_validity(
            text in proptest::string::string_regex(r#"[\[\]{}:,"a1\\u0 .e-]{0,24}"#).unwrap()
        ) {
            let ours = scalars(&text, 1000).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            proptest::prop_assert_eq!(ours, theirs, "{:?}", text);
        }
    }
}
