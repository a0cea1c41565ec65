//! Belarus: personal (identification) number and UNP.
//!
//! Sources: research/jurisdictions.md, Belarus §6 (personal number:
//! kirit0s/belarus-passport-personal-number-validator; UNP: python-stdnum `stdnum/by/unp.py`).

fn alnum_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// Whether `s` (14 characters `[0-9A-Z]`, upper case) is a valid personal number: it has at
/// least one letter (the usual layout has a region letter and a 2-letter code; a 14-digit
/// string is a PINFL or PIN) and Σ v(cᵢ)·wᵢ (w = 7 3 1 repeating, A=10 .. Z=35) mod 10
/// equals the last character.
pub fn personal_number(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 14 || !b.iter().any(u8::is_ascii_uppercase) || !b[13].is_ascii_digit() {
        return false;
    }
    let mut sum = 0;
    for (c, w) in b[..13].iter().zip([7, 3, 1].iter().cycle()) {
        let Some(v) = alnum_value(*c) else {
            return false;
        };
        sum += v * w;
    }
    sum % 10 == u32::from(b[13] - b'0')
}

const UNP_SECOND_LETTERS: &[u8] = b"ABCEHKMOPT";
const UNP_FIRST: &[u8] = b"1234567ABCEHKM";

/// Whether `s` (9 characters, upper case) is a valid UNP: digits, or two letters then seven
/// digits; weights 29 23 19 17 13 7 5 3 mod 11, a remainder of 10 never issued.
pub fn unp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 9 || !b[2..].iter().all(u8::is_ascii_digit) || !UNP_FIRST.contains(&b[0]) {
        return false;
    }
    let all_digits = b[..2].iter().all(u8::is_ascii_digit);
    if !all_digits && !b[..2].iter().all(|c| UNP_SECOND_LETTERS.contains(c)) {
        return false;
    }
    let mut sum = 0;
    for (i, (c, w)) in b[..8].iter().zip([29, 23, 19, 17, 13, 7, 5, 3]).enumerate() {
        let v = if i == 1 && !all_digits {
            UNP_SECOND_LETTERS
                .iter()
                .position(|x| x == c)
                .map(|p| p as u32)
        } else {
            alnum_value(*c)
        };
        let Some(v) = v else {
            return false;
        };
        sum += v * w;
    }
    let c = sum % 11;
    c < 10 && c == u32::from(b[8] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_number_vectors() {
        // research/jurisdictions.md, Appendix: 0000000A000PB2 (validator README) and
        // 3010190A001PB9 (synthetic) valid.
        assert!(personal_number("0000000A000PB2"));
        assert!(personal_number("3010190A001PB9"));
        assert!(!personal_number("3010190A001PB8"), "check changed");
        assert!(!personal_number("3010190A002PB9"), "one character changed");
        assert!(!personal_number("3010190A001PB"), "wrong length");
        assert!(
            !personal_number("00000000000000"),
            "all the same digit (no letter)"
        );
        assert!(
            !personal_number("30101900010018"),
            "digits only belong to other formats"
        );
    }

    #[test]
    fn unp_python_stdnum_vector() {
        // research/jurisdictions.md, Appendix: 200988541 valid (python-stdnum test).
        assert!(unp("200988541"));
        assert!(!unp("200988542"), "check changed");
        assert!(!unp("200988641"), "one digit changed");
        assert!(!unp("20098854"), "wrong length");
        assert!(!unp("999999999"), "first character 9 not issued");
        assert!(!unp("111111111"), "all the same digit: check fails");
    }

    #[test]
    fn unp_with_letters() {
        // Constructed here with the same algorithm: prefix "MA" then 6 digits.
        let prefix = "MA123456";
        let mut sum = 0;
        for (i, (c, w)) in prefix
            .bytes()
            .zip([29, 23, 19, 17, 13, 7, 5, 3])
            .enumerate()
        {
            sum += w * if i == 1 {
                UNP_SECOND_LETTERS.iter().position(|x| *x == c).unwrap() as u32
            } else {
                alnum_value(c).unwrap()
            };
        }
        let c = sum % 11;
        if c < 10 {
            assert!(unp(&format!("{prefix}{c}")));
            assert!(!unp(&format!("{prefix}{}", (c + 1) % 10)));
        }
        assert!(!unp("MZ1234560"), "Z is not a second letter");
    }
}
