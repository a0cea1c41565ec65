//! IBAN: ISO 13616, check digits by ISO 7064 MOD 97-10.
//!
//! The general rule is used (2-letter country, 2 check digits, up to 30 alphanumeric
//! characters, 15-34 in all, remainder 1); per-country lengths are not checked (the
//! registry is not in research/jurisdictions.md).

/// Whether `s` (upper case, no spaces) is a valid IBAN.
pub fn iban(s: &str) -> bool {
    let b = s.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b[4..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return false;
    }
    // The remainder is reduced only when it could overflow: the same result as reducing
    // after every character, with a division per 14 digits instead of per character.
    let mut rem = 0u64;
    for &c in b[4..].iter().chain(&b[..4]) {
        if c.is_ascii_digit() {
            rem = rem * 10 + u64::from(c - b'0');
        } else {
            rem = rem * 100 + u64::from(c - b'A') + 10;
        }
        if rem >= 1 << 48 {
            rem %= 97;
        }
    }
    rem % 97 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_13616_examples() {
        // The example IBANs printed in ISO 13616-1 / the SWIFT IBAN registry.
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("GB82WEST12345698765433"), "one digit changed");
        assert!(
            !iban("GB82WEST1234569876543"),
            "wrong check after truncation"
        );
        assert!(!iban("GB8"), "too short");
        assert!(!iban("1282WEST12345698765432"), "no country letters");
    }
}
