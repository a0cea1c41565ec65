//! Kyrgyzstan: personal identification number (PIN).
//!
//! Source: research/jurisdictions.md, Kyrgyzstan §6: 14 digits, digit 1 the sex (1 or 2,
//! coding UNVERIFIED), digits 2-9 the birth date DDMMYYYY, last 5 a serial; no public check
//! digit. Only the shape and the date are checked.

use super::digits::{fixed, number, valid_date};

/// Whether `s` (14 digits) has the PIN shape with a real birth date between 1900 and 2100.
pub fn pin(s: &str) -> bool {
    let Some(d) = fixed::<14>(s) else {
        return false;
    };
    let year = number(&d[5..9]);
    (1..=2).contains(&d[0])
        && (1900..=2100).contains(&year)
        && valid_date(year, number(&d[3..5]), number(&d[1..3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_format() {
        // research/jurisdictions.md, Kyrgyzstan §6: format-only example 20101199000001.
        assert!(pin("20101199000001"));
        assert!(!pin("30101199000001"), "sex digit 3");
        assert!(!pin("20113199000001"), "month 13");
        assert!(!pin("2010119900000"), "wrong length");
        assert!(!pin("22222222222222"), "all the same digit: no month 22");
    }
}
