//! Iran: national code (kod-e melli).
//!
//! Source: research/jurisdictions.md, Iran §6 (AlirezaSedghi/Useful-PHP-Snippets,
//! persian-tools/dart-persian-tools): weights 10..2 over the first 9 digits, r = s mod 11,
//! check = r if r < 2 else 11 − r; all-identical codes rejected.

use super::digits::{all_same, fixed};

/// Whether `s` (10 digits) is a valid national code.
pub fn national_code(s: &str) -> bool {
    let Some(d) = fixed::<10>(s) else {
        return false;
    };
    if all_same(&d) {
        return false;
    }
    let sum: u32 = d[..9].iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    let r = sum % 11;
    let check = if r < 2 { r } else { 11 - r };
    check == d[9]
}

/// Pads an 8- or 9-digit code with zeros on the left, as the research file advises for
/// codes whose leading zeros were lost (e.g. stored as numbers).
pub fn pad(s: &str) -> Option<String> {
    (matches!(s.len(), 8 | 9) && s.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{s:0>10}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn research_vector() {
        // research/jurisdictions.md, Appendix: 1234567891 valid (synthetic).
        assert!(national_code("1234567891"));
        assert!(!national_code("1234567892"), "check changed");
        assert!(!national_code("1234567791"), "one digit changed");
        assert!(!national_code("123456789"), "wrong length");
        assert!(
            !national_code("1111111111"),
            "all identical, rejected by rule"
        );
        assert_eq!(pad("12345678").as_deref(), Some("0012345678"));
    }
}
