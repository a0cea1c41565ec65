//! Tajikistan identifiers.
//!
//! Source: research/jurisdictions.md, Tajikistan §6: national ID and taxpayer formats are
//! **UNVERIFIED** (an open-source pattern guesses 9-10 digits; the taxpayer number is widely
//! described as 9 digits). Values are therefore only a *weak* match: a column is labelled
//! `TJ_ID` only when its header says so.

/// Whether `s` is 9 or 10 digits, not all one digit.
pub fn tj_id(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 9 || b.len() == 10)
        && b.iter().all(u8::is_ascii_digit)
        && !b.iter().all(|c| *c == b[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_only() {
        assert!(tj_id("123456789"));
        assert!(tj_id("1234567890"));
        assert!(!tj_id("12345678"));
        assert!(!tj_id("999999999"));
        assert!(!tj_id("12345678a"));
    }
}
