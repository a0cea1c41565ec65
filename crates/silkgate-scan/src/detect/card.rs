//! Payment cards: Luhn check (ISO/IEC 7812-1 Annex B) on numbers of 13-19 digits whose
//! issuer prefix belongs to a scheme used in the region.
//!
//! The prefix ranges are the schemes' published issuer identification ranges as commonly
//! documented (Visa 4; Mastercard 51-55 and 2221-2720; UnionPay 62 and 81; Mir 2200-2204;
//! RuPay 60, 65, 81, 82, 508, 353, 356; Humo 9860; Uzcard 8600; American Express 34, 37;
//! JCB 3528-3589). They are not in research/jurisdictions.md: **UNVERIFIED** against the
//! schemes' own tables. Restricting to these prefixes lowers the chance that an arbitrary
//! number passes (Luhn alone accepts one number in ten).

/// Whether `d` (the digit values) passes the Luhn check.
pub fn luhn(d: &[u32]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The scheme whose prefix `s` (all digits) carries, if any.
pub fn scheme(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    let p = |n: usize| -> u32 { s.get(..n).and_then(|x| x.parse().ok()).unwrap_or(0) };
    let len = b.len();
    match () {
        _ if p(4) == 9860 && len == 16 => Some("Humo"),
        _ if p(4) == 8600 && len == 16 => Some("Uzcard"),
        _ if (2200..=2204).contains(&p(4)) && (16..=19).contains(&len) => Some("Mir"),
        _ if (2221..=2720).contains(&p(4)) && len == 16 => Some("Mastercard"),
        _ if (51..=55).contains(&p(2)) && len == 16 => Some("Mastercard"),
        _ if b.first() == Some(&b'4') && matches!(len, 13 | 16 | 19) => Some("Visa"),
        _ if p(2) == 62 && (16..=19).contains(&len) => Some("UnionPay"),
        _ if p(2) == 81 && (16..=19).contains(&len) => Some("UnionPay/RuPay"),
        _ if matches!(p(2), 60 | 65 | 82) && len == 16 => Some("RuPay"),
        _ if matches!(p(3), 508 | 353 | 356) && len == 16 => Some("RuPay"),
        _ if matches!(p(2), 34 | 37) && len == 15 => Some("American Express"),
        _ if (3528..=3589).contains(&p(4)) && (16..=19).contains(&len) => Some("JCB"),
        _ => None,
    }
}

/// The scheme of a number given as ASCII digits: [`scheme`] without re-parsing the prefix
/// for each scheme (the scanner's hot path).
fn scheme_of_digits(b: &[u8]) -> Option<&'static str> {
    let len = b.len();
    let p = |n: usize| -> u32 {
        if len < n {
            return 0;
        }
        b[..n]
            .iter()
            .fold(0, |acc, c| acc * 10 + u32::from(c - b'0'))
    };
    let (p2, p3, p4) = (p(2), p(3), p(4));
    match () {
        _ if p4 == 9860 && len == 16 => Some("Humo"),
        _ if p4 == 8600 && len == 16 => Some("Uzcard"),
        _ if (2200..=2204).contains(&p4) && (16..=19).contains(&len) => Some("Mir"),
        _ if (2221..=2720).contains(&p4) && len == 16 => Some("Mastercard"),
        _ if (51..=55).contains(&p2) && len == 16 => Some("Mastercard"),
        _ if b.first() == Some(&b'4') && matches!(len, 13 | 16 | 19) => Some("Visa"),
        _ if p2 == 62 && (16..=19).contains(&len) => Some("UnionPay"),
        _ if p2 == 81 && (16..=19).contains(&len) => Some("UnionPay/RuPay"),
        _ if matches!(p2, 60 | 65 | 82) && len == 16 => Some("RuPay"),
        _ if matches!(p3, 508 | 353 | 356) && len == 16 => Some("RuPay"),
        _ if matches!(p2, 34 | 37) && len == 15 => Some("American Express"),
        _ if (3528..=3589).contains(&p4) && (16..=19).contains(&len) => Some("JCB"),
        _ => None,
    }
}

/// Whether `s` (13-19 digits, no separators) is a payment card number of a known scheme
/// that passes the Luhn check.
pub fn card(s: &str) -> bool {
    let b = s.as_bytes();
    if !(13..=19).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if scheme_of_digits(b).is_none() || b.iter().all(|x| *x == b[0]) {
        return false;
    }
    // Luhn over the bytes, without collecting the digit values.
    let sum: u32 = b
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let x = u32::from(c - b'0');
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_reference_numbers() {
        // ISO/IEC 7812 Luhn; 79927398713 is the classic worked example of the algorithm.
        let d = |s: &str| s.bytes().map(|b| u32::from(b - b'0')).collect::<Vec<_>>();
        assert!(luhn(&d("79927398713")));
        assert!(!luhn(&d("79927398710")));
        // Widely published scheme test numbers (Visa, Mastercard test PANs).
        assert!(card("4111111111111111"));
        assert!(card("5555555555554444"));
        assert!(!card("4111111111111112"), "check changed");
        assert!(!card("4111111111111121"), "one digit changed");
        assert!(!card("411111111111111"), "wrong length for Visa");
        assert!(!card("0000000000000000"), "all the same digit");
        assert!(!card("9999999999999995"), "no scheme starts with 99");
    }

    #[test]
    fn regional_schemes_by_prefix() {
        // Constructed here: append the Luhn digit to regional prefixes.
        for prefix in [
            "986012345678901",
            "860012345678901",
            "220012345678901",
            "620012345678901",
        ] {
            let d: Vec<u32> = prefix.bytes().map(|b| u32::from(b - b'0')).collect();
            let check = (0..10).find(|c| {
                let mut v = d.clone();
                v.push(*c);
                luhn(&v)
            });
            let full = format!("{prefix}{}", check.unwrap());
            assert!(card(&full), "{full}");
        }
        assert_eq!(scheme("9860123456789012"), Some("Humo"));
        assert_eq!(scheme("8600123456789012"), Some("Uzcard"));
        assert_eq!(scheme("2200123456789012"), Some("Mir"));
    }

    #[test]
    fn fast_scheme_agrees_with_scheme() {
        // Every prefix class, at every length the schemes use and around them.
        for prefix in [
            "9860", "8600", "2200", "2204", "2205", "2221", "2720", "2721", "51", "55", "56", "4",
            "62", "81", "60", "65", "82", "508", "353", "356", "34", "37", "3528", "3589", "3590",
            "1", "0", "99",
        ] {
            for len in 12..=20 {
                let s = format!("{prefix}{}", "7".repeat(len - prefix.len()));
                assert_eq!(scheme_of_digits(s.as_bytes()), scheme(&s), "{s}");
            }
        }
    }
}
