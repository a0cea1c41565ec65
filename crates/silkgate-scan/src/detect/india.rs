//! India: Aadhaar (Verhoeff check digit) and PAN.
//!
//! Source: research/jurisdictions.md, India §6 (python-stdnum `stdnum/in_/aadhaar.py`,
//! `pan.py`, `verhoeff.py`).

use super::digits::fixed;

/// Verhoeff multiplication table of the dihedral group D5.
const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
/// Verhoeff permutation table: p[i] = p[1]^i with p[1] = 1 5 7 6 2 8 3 0 9 4.
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Whether a string of digits passes the Verhoeff check (the last digit is the check).
pub fn verhoeff(digits: &[u32]) -> bool {
    let mut c = 0u8;
    for (i, &x) in digits.iter().rev().enumerate() {
        c = D[c as usize][P[i % 8][x as usize] as usize];
    }
    c == 0
}

/// Whether `s` (12 digits) is a valid Aadhaar number: first digit 2-9, not a palindrome, and
/// a Verhoeff check digit.
pub fn aadhaar(s: &str) -> bool {
    let Some(d) = fixed::<12>(s) else {
        return false;
    };
    let palindrome = d.iter().eq(d.iter().rev());
    d[0] >= 2 && !palindrome && verhoeff(&d)
}

/// Holder-type letters of the fourth PAN character (research file, India §6).
const PAN_HOLDER_TYPES: &[u8] = b"ABCFGHJKLPT";

/// Whether `s` (upper case) is shaped like a PAN: `[A-Z]{5}[0-9]{4}[A-Z]` with a known
/// holder type and digits other than 0000. The check letter's algorithm is not public, so
/// this is format validation only.
pub fn pan(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[..5].iter().all(u8::is_ascii_uppercase)
        && PAN_HOLDER_TYPES.contains(&b[3])
        && b[5..9].iter().all(u8::is_ascii_digit)
        && &b[5..9] != b"0000"
        && b[9].is_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadhaar_python_stdnum_vectors() {
        // research/jurisdictions.md, Appendix: 234123412346 valid; ...347 invalid.
        assert!(aadhaar("234123412346"));
        assert!(!aadhaar("234123412347"), "check digit changed");
        assert!(!aadhaar("234123412356"), "one digit changed");
        assert!(!aadhaar("23412341234"), "wrong length");
        assert!(
            !aadhaar("222222222222"),
            "all the same digit (a palindrome)"
        );
        assert!(!aadhaar("134123412346"), "first digit below 2");
    }

    #[test]
    fn verhoeff_detects_every_single_digit_error() {
        let base: Vec<u32> = "234123412346"
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .collect();
        for i in 0..base.len() {
            for v in 0..10 {
                if v != base[i] {
                    let mut d = base.clone();
                    d[i] = v;
                    assert!(!verhoeff(&d), "{i} {v}");
                }
            }
        }
    }

    #[test]
    fn pan_format() {
        // research/jurisdictions.md, India §6: synthetic format example ABCPE1234F.
        assert!(pan("ABCPE1234F"));
        assert!(!pan("ABCXE1234F"), "X is not a holder type");
        assert!(!pan("ABCPE0000F"), "digits 0000");
        assert!(!pan("ABCPE1234"), "wrong length");
        assert!(!pan("abcpe1234f"), "lower case is normalised by the caller");
    }
}
