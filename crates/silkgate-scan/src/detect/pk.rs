//! Pakistan: CNIC.
//!
//! Source: research/jurisdictions.md, Pakistan §6 (python-stdnum `stdnum/pk/cnic.py`, citing
//! NADRA): 13 digits written `NNNNN-NNNNNNN-N`, first digit the province 1-7, no check digit.

/// Whether `s` (13 digits) has the CNIC shape: province digit 1-7 and not all one digit.
pub fn cnic(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13
        && b.iter().all(u8::is_ascii_digit)
        && (b'1'..=b'7').contains(&b[0])
        && !b.iter().all(|c| *c == b[0])
}

/// Whether the raw value is written in the distinctive `NNNNN-NNNNNNN-N` form.
pub fn cnic_formatted(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 15
        && b[5] == b'-'
        && b[13] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 5 || i == 13 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnic_format() {
        // research/jurisdictions.md, Pakistan §6: synthetic format example 12345-6789012-3.
        assert!(cnic("1234567890123"));
        assert!(cnic_formatted("12345-6789012-3"));
        assert!(!cnic("8234567890123"), "province 8 does not exist");
        assert!(!cnic("123456789012"), "wrong length");
        assert!(!cnic("1111111111111"), "all the same digit");
        assert!(!cnic_formatted("1234-56789012-3"));
    }
}
