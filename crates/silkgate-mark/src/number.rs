//! Exact decimal reading and writing of the numbers whose low-order digits carry a mark.
//!
//! A value is handled as an integer count of units of its last marked place (`decimals`
//! fractional digits), so `1234.5`, `1234.50` and `1.2345e3` are the same value at two decimals
//! and re-saving a file through a tool that reformats numbers does not move a mark.

/// Largest magnitude handled; beyond it a cell is simply not marked.
const MAX_DIGITS: usize = 30;

/// A number read from a cell, scaled to `decimals` fractional digits, with what is needed to
/// write a changed value back in the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scaled {
    /// The value in units of `10^-decimals`.
    pub value: i128,
    /// Fractional digits to write back (at least `decimals`, more if the source had trailing zeros).
    pub frac_digits: u32,
}

/// Reads `text` as a decimal at `decimals` fractional digits. Returns `None` for anything that
/// is not a plain number at that precision: text, more significant fractional digits than
/// `decimals`, zero-padded integers (identifiers such as `007`, whose shape a mark would break).
pub(crate) fn parse(text: &str, decimals: u32) -> Option<Scaled> {
    let s = text.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(body[i + 1..].parse::<i32>().ok()?)),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if exp.is_none() && int_part.len() > 1 && int_part.starts_with('0') {
        return None;
    }
    // The significant digits as an integer, without allocating: leading zeros skipped, at most
    // 36 digits (i128 holds 38).
    let mut mantissa_value: i128 = 0;
    let mut significant = 0usize;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if significant == 0 && b == b'0' {
            continue;
        }
        significant += 1;
        if significant > 36 {
            return None;
        }
        mantissa_value = mantissa_value * 10 + i128::from(b - b'0');
    }
    // value = mantissa * 10^(exp - frac_len); scaled = value * 10^decimals
    let shift = exp.unwrap_or(0) as i64 - frac_part.len() as i64 + decimals as i64;
    let scaled = if significant == 0 {
        Some(0i128)
    } else if shift >= 0 {
        if significant as i64 + shift > MAX_DIGITS as i64 {
            return None;
        }
        Some(mantissa_value * 10i128.pow(shift as u32))
    } else {
        let cut = (-shift) as usize;
        if cut >= significant {
            None
        } else {
            let unit = 10i128.pow(cut as u32);
            (mantissa_value % unit == 0 && significant - cut <= MAX_DIGITS)
                .then(|| mantissa_value / unit)
        }
    };
    let (scaled, frac_digits) = match scaled {
        Some(v) if exp.is_none() => (v, (frac_part.len() as u32).max(decimals)),
        Some(v) => (v, decimals),
        // A value such as 1234.5300000000002, left by a tool that went through binary floating
        // point, is accepted when it is that close to a value at this precision.
        None => (float_noise(s, decimals)?, decimals),
    };
    Some(Scaled {
        value: if neg { -scaled } else { scaled },
        frac_digits,
    })
}

fn float_noise(s: &str, decimals: u32) -> Option<i128> {
    let v: f64 = s.parse().ok()?;
    let x = v.abs() * 10f64.powi(decimals as i32);
    let r = x.round();
    if !x.is_finite() || r > 1e15 || (x - r).abs() > 1e-6 * r.max(1.0) {
        return None;
    }
    Some(r as i128)
}

/// Writes a scaled value with `frac_digits` fractional digits, where `decimals` is the scale of
/// `value`.
pub(crate) fn format(value: i128, decimals: u32, frac_digits: u32) -> String {
    let mut out = String::new();
    format_into(&mut out, value, decimals, frac_digits);
    out
}

/// As [`format`], replacing the contents of `out` (whose allocation is reused: marking rewrites
/// a cell's text in place instead of allocating a new string per changed cell).
pub(crate) fn format_into(out: &mut String, value: i128, decimals: u32, frac_digits: u32) {
    let neg = value < 0;
    let mag = value.unsigned_abs();
    let unit = 10u128.pow(decimals);
    let int = mag / unit;
    let frac = mag % unit;
    out.clear();
    if neg {
        out.push('-');
    }
    push_digits(out, int, 1);
    if frac_digits > 0 {
        out.push('.');
        push_digits(out, frac, decimals as usize);
        for _ in decimals..frac_digits {
            out.push('0');
        }
    }
}

/// Appends `v` in decimal, left-padded with zeros to at least `width` digits.
fn push_digits(out: &mut String, mut v: u128, width: usize) {
    // u128 has at most 39 decimal digits; `width` is at most the marked decimals.
    let mut buf = [b'0'; 48];
    let mut i = buf.len();
    // Narrow to u64 as soon as possible: 128-bit division is a library call.
    while v > u128::from(u64::MAX) {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let mut w = v as u64;
    loop {
        i -= 1;
        buf[i] = b'0' + (w % 10) as u8;
        w /= 10;
        if w == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    for &b in &buf[start..] {
        out.push(b as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, decimals: u32, expect: Option<(i128, u32)>) {
        let got = parse(text, decimals).map(|s| (s.value, s.frac_digits));
        assert_eq!(got, expect, "parse({text:?}, {decimals})");
    }

    #[test]
    fn parses_the_shapes_tools_write() {
        check("1234.56", 2, Some((123456, 2)));
        check("1234.5", 2, Some((123450, 2)));
        check("1234.500", 2, Some((123450, 3)));
        check("1.2345e3", 2, Some((123450, 2)));
        check("1234.5300000000002", 2, Some((123453, 2)));
        check("-12.07", 2, Some((-1207, 2)));
        check("+3", 0, Some((3, 0)));
        check("0.5", 1, Some((5, 1)));
        check(" 42 ", 0, Some((42, 0)));
    }

    #[test]
    fn refuses_what_a_mark_would_damage() {
        check("1.234", 2, None); // more precision than the mark's place
        check("007", 0, None); // zero-padded identifier
        check("12a", 0, None);
        check("", 0, None);
        check("1,234.5", 2, None);
        check("-", 0, None);
        check(".", 0, None);
        check("1e400", 0, None);
    }

    #[test]
    fn formats_back_in_shape() {
        assert_eq!(format(123453, 2, 2), "1234.53");
        assert_eq!(format(123450, 2, 3), "1234.500");
        assert_eq!(format(-1207, 2, 2), "-12.07");
        assert_eq!(format(5, 2, 2), "0.05");
        assert_eq!(format(1237, 0, 0), "1237");
        assert_eq!(format(0, 0, 0), "0");
        assert_eq!(format(-5, 3, 4), "-0.0050");
        assert_eq!(format(i128::MAX, 0, 0), i128::MAX.to_string());
        assert_eq!(format(i128::MIN, 2, 2), {
            let s = i128::MIN.to_string();
            format!("{}.{}", &s[..s.len() - 2], &s[s.len() - 2..])
        });
        let mut reused = String::from("old text that is longer");
        format_into(&mut reused, 123456, 2, 3);
        assert_eq!(reused, "1234.560");
        for text in ["1234.56", "-0.07", "10", "99.90"] {
            let s = parse(text, 2).unwrap();
            let back = format(s.value, 2, s.frac_digits);
            assert_eq!(parse(&back, 2).unwrap().value, s.value, "{text} -> {back}");
        }
    }
}
