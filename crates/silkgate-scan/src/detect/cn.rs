//! China: resident identity number and Unified Social Credit Code.
//!
//! Source for both: research/jurisdictions.md, China §6 (GB 11643-1999 with ISO 7064
//! MOD 11-2; the USCC weights and 31-character alphabet from GB 32100-2015 as implemented by
//! python-stdnum `stdnum/cn/uscc.py`).

use super::digits::{fixed, number, valid_date};

/// ISO 7064 MOD 11-2 weights 2^(18-i) mod 11 for positions 1..=17 (GB 11643-1999).
const RIC_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RIC_CHECK: &[u8; 11] = b"10X98765432";

/// Whether `s` (18 characters, last may be `X`, no separators) is a valid resident identity
/// number: the address code starts with a province digit 1-8, the birth date is a real date
/// from 1900 on, and the MOD 11-2 check character matches.
pub fn resident_id_18(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    // `get`, not indexing: byte 17 may fall inside a character of arbitrary text.
    let Some(d) = s.get(..17).and_then(fixed::<17>) else {
        return false;
    };
    if !(1..=8).contains(&d[0]) {
        return false;
    }
    let year = number(&d[6..10]);
    if !(1900..=2100).contains(&year) || !valid_date(year, number(&d[10..12]), number(&d[12..14])) {
        return false;
    }
    let sum: u32 = d.iter().zip(RIC_WEIGHTS).map(|(x, w)| x * w).sum();
    let want = RIC_CHECK[(sum % 11) as usize];
    b[17].to_ascii_uppercase() == want
}

/// Whether `s` is a legacy 15-digit resident identity number (GB 11643 predecessor: address
/// code, birth date YYMMDD in the 1900s, 3-digit sequence, no check digit). Only the shape
/// and the date can be checked.
pub fn resident_id_15(s: &str) -> bool {
    let Some(d) = fixed::<15>(s) else {
        return false;
    };
    (1..=8).contains(&d[0])
        && valid_date(
            1900 + number(&d[6..8]),
            number(&d[8..10]),
            number(&d[10..12]),
        )
}

/// The birth date encoded in an 18-digit resident identity number (positions 7-14).
pub fn resident_id_birth_date(s: &str) -> Option<(u32, u32, u32)> {
    let d = fixed::<8>(s.get(6..14)?)?;
    Some((number(&d[..4]), number(&d[4..6]), number(&d[6..8])))
}

/// The USCC alphabet: digits and upper-case letters without I, O, S, V, Z.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights 3^(i-1) mod 31 for positions 1..=17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Whether `s` (18 characters, upper case, no separators) is a valid Unified Social Credit
/// Code: the first 8 characters are digits (research file) and the check character is
/// `alphabet[(31 - Σ v(cᵢ)·wᵢ mod 31) mod 31]`.
pub fn uscc(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (c, w) in b[..17].iter().zip(USCC_WEIGHTS) {
        let Some(v) = USCC_ALPHABET.iter().position(|a| a == c) else {
            return false;
        };
        sum += v as u32 * w;
    }
    let check = USCC_ALPHABET[((31 - sum % 31) % 31) as usize];
    b[17] == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_specimen_of_gb_11643_appendix_a() {
        // research/jurisdictions.md, Appendix: "11010519491231002X" valid (GB 11643 specimen).
        assert!(resident_id_18("11010519491231002X"));
        assert!(resident_id_18("11010519491231002x"));
        assert_eq!(
            resident_id_birth_date("11010519491231002X"),
            Some((1949, 12, 31))
        );
    }

    #[test]
    fn resident_id_negative_cases() {
        assert!(!resident_id_18("11010519491231003X"), "one digit changed");
        assert!(
            !resident_id_18("110105194912310029"),
            "wrong check character"
        );
        assert!(!resident_id_18("11010519491231002"), "wrong length");
        assert!(!resident_id_18("111111111111111111"), "all the same digit");
        assert!(!resident_id_18("11010519491331002X"), "month 13");
        assert!(
            !resident_id_18("91010519491231002X"),
            "no province starts with 9"
        );
    }

    #[test]
    fn legacy_fifteen_digit_form() {
        // The 15-digit form is the 18-digit specimen without century and check digit.
        assert!(resident_id_15("110105491231002"));
        assert!(!resident_id_15("110105491331002"), "month 13");
        assert!(!resident_id_15("11010549123100"), "wrong length");
    }

    #[test]
    fn uscc_python_stdnum_example() {
        // research/jurisdictions.md, Appendix: "91110000600037341L" valid (python-stdnum doc).
        assert!(uscc("91110000600037341L"));
        assert!(!uscc("91110000600037342L"), "one digit changed");
        assert!(!uscc("91110000600037341"), "wrong length");
        assert!(!uscc("91110000600037341I"), "I is outside the alphabet");
        assert!(!uscc("9111000060003734AL"), "valid shape, failing check");
        assert!(!uscc("111111111111111111"));
    }
}
