//! Russia: INN, SNILS, OGRN and the internal passport.
//!
//! Source: research/jurisdictions.md, Russia §6 (python-stdnum `stdnum/ru/inn.py`,
//! `ogrn.py`, `snils.py`; the passport layout `NN NN NNNNNN` has no check digit).

use super::digits::{all_same, fixed, number};

fn weighted(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(x, w)| x * w).sum()
}

/// Whether `s` is a valid 10-digit (organisation) or 12-digit (individual) INN.
pub fn inn(s: &str) -> bool {
    if let Some(d) = fixed::<10>(s) {
        let c = weighted(&d[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10;
        return !all_same(&d) && c == d[9];
    }
    if let Some(d) = fixed::<12>(s) {
        let c11 = weighted(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10;
        let c12 = weighted(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10;
        return !all_same(&d) && c11 == d[10] && c12 == d[11];
    }
    false
}

/// Whether `s` (11 digits) is a valid SNILS: the two-digit check of Σ dᵢ·(10 − i) as the
/// research file states (below 100 itself; 100 and 101 give 00; above, mod 101).
pub fn snils(s: &str) -> bool {
    let Some(d) = fixed::<11>(s) else {
        return false;
    };
    if all_same(&d) {
        return false;
    }
    let sum = weighted(&d[..9], &[9, 8, 7, 6, 5, 4, 3, 2, 1]);
    let check = match sum {
        0..=99 => sum,
        100 | 101 => 0,
        _ => match sum % 101 {
            100 => 0,
            r => r,
        },
    };
    check == number(&d[9..])
}

/// Whether `s` (13 digits) is a valid OGRN: (first 12 digits mod 11) mod 10.
pub fn ogrn(s: &str) -> bool {
    let Some(d) = fixed::<13>(s) else {
        return false;
    };
    let rem = d[..12]
        .iter()
        .fold(0u64, |acc, x| (acc * 10 + u64::from(*x)) % 11);
    !all_same(&d) && (rem % 10) as u32 == d[12]
}

/// Whether the raw value is written like an internal passport: `NN NN NNNNNN` or
/// `NNNN NNNNNN` (4-digit series, 6-digit number). There is no check digit, so only this
/// written form is distinctive; ten bare digits are a weak match.
pub fn passport_formatted(raw: &str) -> bool {
    let b = raw.as_bytes();
    let shape = |pattern: &[u8]| {
        b.len() == pattern.len()
            && b.iter().zip(pattern).all(|(c, p)| match p {
                b'9' => c.is_ascii_digit(),
                _ => c == p,
            })
    };
    shape(b"99 99 999999") || shape(b"9999 999999") || shape(b"9999 \xe2\x84\x96 999999")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inn_python_stdnum_vectors() {
        // research/jurisdictions.md, Appendix: 1234567894 and 123456789047 valid.
        assert!(inn("1234567894"));
        assert!(inn("123456789047"));
        assert!(!inn("1234567895"), "check digit changed");
        assert!(!inn("1234567804"), "one digit changed");
        assert!(!inn("123456789048"), "second check changed");
        assert!(!inn("12345678904"), "wrong length");
        assert!(!inn("0000000000"), "all the same digit");
    }

    #[test]
    fn snils_documented_example() {
        // research/jurisdictions.md, Appendix: "112-233-445 95" valid.
        assert!(snils("11223344595"));
        assert!(!snils("11223344596"), "check changed");
        assert!(!snils("11223344695"), "one digit changed");
        assert!(!snils("1122334459"), "wrong length");
        assert!(!snils("11111111111"), "all the same digit");
    }

    #[test]
    fn snils_special_remainders() {
        // Constructed here: weights 9..1 over 999999999 give 405 = 4*101 + 1, check 01.
        assert!(snils("99999999901"));
        // 100 and 101 give 00: 900000001 -> 81 + 1 = 82, not special; 100 needs e.g.
        // 9,9,... search a prefix with sum 100.
        let mut hits = 0;
        for n in 0..200_000u32 {
            let p = format!("{:09}", n * 4999 % 1_000_000_000);
            let d: Vec<u32> = p.bytes().map(|b| u32::from(b - b'0')).collect();
            let sum: u32 = d
                .iter()
                .zip([9, 8, 7, 6, 5, 4, 3, 2, 1])
                .map(|(x, w)| x * w)
                .sum();
            if sum == 100 || sum == 101 {
                assert!(snils(&format!("{p}00")), "{p}");
                hits += 1;
            }
        }
        assert!(hits > 0);
    }

    #[test]
    fn ogrn_python_stdnum_vector() {
        // research/jurisdictions.md, Appendix: 1022200525819 valid.
        assert!(ogrn("1022200525819"));
        assert!(!ogrn("1022200525818"), "check changed");
        assert!(!ogrn("1022200535819"), "one digit changed");
        assert!(!ogrn("102220052581"), "wrong length");
        assert!(!ogrn("0000000000000"), "all the same digit");
    }

    #[test]
    fn passport_written_forms() {
        assert!(passport_formatted("45 06 123456"));
        assert!(passport_formatted("4506 123456"));
        assert!(!passport_formatted("4506123456"));
        assert!(!passport_formatted("45 06 12345"));
    }
}
