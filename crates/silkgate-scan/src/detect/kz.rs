//! Kazakhstan: individual (IIN) and business (BIN) identification numbers.
//!
//! Source: research/jurisdictions.md, Kazakhstan §6 (weights 1..11, then 3..11,1,2 when the
//! first remainder is 10; validators vladimirrabtsun/validate-iin-example and python-stdnum
//! `stdnum/kz/bin.py`, citing Government Decree No. 565 of 11 June 2003).

use super::digits::{fixed, number, valid_date};

/// The check digit of the first 11 digits, or `None` where both passes give 10 (such numbers
/// are never issued).
fn check_digit(d: &[u32; 12]) -> Option<u32> {
    let first: u32 = d[..11].iter().zip(1..).map(|(x, w)| x * w).sum::<u32>() % 11;
    if first != 10 {
        return Some(first);
    }
    const SECOND: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
    let second: u32 = d[..11].iter().zip(SECOND).map(|(x, w)| x * w).sum::<u32>() % 11;
    (second != 10).then_some(second)
}

/// The birth date of an IIN: YYMMDD and the century from digit 7 (1-2: 1800s, 3-4: 1900s,
/// 5-6: 2000s).
pub fn iin_birth_date(s: &str) -> Option<(u32, u32, u32)> {
    let d = fixed::<12>(s)?;
    let century = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return None,
    };
    Some((
        century + number(&d[..2]),
        number(&d[2..4]),
        number(&d[4..6]),
    ))
}

/// Whether `s` (12 digits) is a valid IIN: a real birth date, a century/sex digit 1-6 and a
/// matching check digit.
pub fn iin(s: &str) -> bool {
    let Some(d) = fixed::<12>(s) else {
        return false;
    };
    let Some((y, m, day)) = iin_birth_date(s) else {
        return false;
    };
    valid_date(y, m, day) && check_digit(&d) == Some(d[11])
}

/// Whether `s` (12 digits) is a valid BIN: YYMM of registration, an entity type 4-6, an
/// attribute 0-3, and a matching check digit.
pub fn bin(s: &str) -> bool {
    let Some(d) = fixed::<12>(s) else {
        return false;
    };
    (1..=12).contains(&number(&d[2..4]))
        && (4..=6).contains(&d[4])
        && d[5] <= 3
        && check_digit(&d) == Some(d[11])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iin_research_vector() {
        // research/jurisdictions.md, Appendix: "900101300007" valid (synthetic, first pass).
        assert!(iin("900101300007"));
        assert_eq!(iin_birth_date("900101300007"), Some((1990, 1, 1)));
    }

    #[test]
    fn iin_negative_cases() {
        assert!(!iin("900101300008"), "check digit changed");
        assert!(!iin("900101400007"), "one digit changed");
        assert!(!iin("90010130000"), "wrong length");
        assert!(!iin("000000000000"), "all the same digit");
        assert!(!iin("901301300007"), "month 13");
        assert!(!iin("900101700007"), "century digit 7");
    }

    #[test]
    fn iin_second_pass_weights() {
        // Constructed here: find an 11-digit prefix whose first pass gives 10 and check that
        // the second pass decides.
        let mut found = false;
        for serial in 0..2000u32 {
            let prefix = format!("9001013{serial:04}");
            let d: Vec<u32> = prefix.bytes().map(|b| u32::from(b - b'0')).collect();
            let first: u32 = d.iter().zip(1..).map(|(x, w)| x * w).sum::<u32>() % 11;
            if first == 10 {
                let second: u32 = d
                    .iter()
                    .zip([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
                    .map(|(x, w)| x * w)
                    .sum::<u32>()
                    % 11;
                if second != 10 {
                    assert!(iin(&format!("{prefix}{second}")));
                    found = true;
                    break;
                }
            }
        }
        assert!(found);
    }

    #[test]
    fn bin_layout_and_check() {
        // Constructed here with the same algorithm: 2005 April, resident legal entity (4),
        // head office (0), serial 00001.
        let prefix = "05044000001";
        let d: Vec<u32> = prefix.bytes().map(|b| u32::from(b - b'0')).collect();
        let c = d.iter().zip(1..).map(|(x, w)| x * w).sum::<u32>() % 11;
        assert_ne!(c, 10);
        let valid = format!("{prefix}{c}");
        assert!(bin(&valid));
        assert!(!iin(&valid), "a BIN has no birth date");
        let bad = format!("{prefix}{}", (c + 1) % 10);
        assert!(!bin(&bad));
        assert!(!bin("900101300007"), "an IIN is not a BIN");
    }
}
