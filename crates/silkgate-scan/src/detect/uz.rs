//! Uzbekistan: PINFL (JShShIR).
//!
//! Source: research/jurisdictions.md, Uzbekistan §6. Layout (sex/century digit, DDMMYY,
//! district, serial, check) and the 7-3-1 mod 10 check digit come from open-source code
//! only: **UNVERIFIED** against an official specification.

use super::digits::{fixed, number, valid_date};

/// Whether `s` (14 digits) passes the PINFL rule: DDMMYY at positions 2-7 is a date (any
/// century) and Σ dᵢ·wᵢ (w = 7 3 1 repeating) over the first 13 digits mod 10 equals the
/// last digit.
pub fn pinfl(s: &str) -> bool {
    let Some(d) = fixed::<14>(s) else {
        return false;
    };
    // The year's century is unknown here; 2000 is a leap year so 29 February passes.
    if !valid_date(2000 + number(&d[5..7]), number(&d[3..5]), number(&d[1..3])) {
        return false;
    }
    let sum: u32 = d[..13]
        .iter()
        .zip([7, 3, 1].iter().cycle())
        .map(|(x, w)| x * w)
        .sum();
    sum % 10 == d[13]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinfl_research_vector() {
        // research/jurisdictions.md, Appendix: 30101900010018 passes the (UNVERIFIED) rule.
        assert!(pinfl("30101900010018"));
        assert!(!pinfl("30101900010017"), "check changed");
        assert!(!pinfl("30101900020018"), "one digit changed");
        assert!(!pinfl("3010190001001"), "wrong length");
        assert!(!pinfl("33333333333333"), "all the same digit: no month 33");
        assert!(!pinfl("31301900010018"), "month 13");
    }
}
