//! Small helpers shared by the checksum detectors.

/// The numeric values of `s` if it is exactly `N` ASCII digits.
pub(crate) fn fixed<const N: usize>(s: &str) -> Option<[u32; N]> {
    let b = s.as_bytes();
    if b.len() != N {
        return None;
    }
    let mut out = [0u32; N];
    for (o, c) in out.iter_mut().zip(b) {
        if !c.is_ascii_digit() {
            return None;
        }
        *o = u32::from(c - b'0');
    }
    Some(out)
}

/// The number formed by `d` (most significant first).
pub(crate) fn number(d: &[u32]) -> u32 {
    d.iter().fold(0, |acc, x| acc * 10 + x)
}

/// Whether every digit is the same (such numbers are never issued and are a common filler).
pub(crate) fn all_same(d: &[u32]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// Whether `y-m-d` is a real calendar date (proleptic Gregorian).
pub(crate) fn valid_date(y: u32, m: u32, d: u32) -> bool {
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_calendar() {
        assert!(valid_date(2000, 2, 29));
        assert!(!valid_date(1900, 2, 29));
        assert!(!valid_date(1990, 4, 31));
        assert!(!valid_date(1990, 13, 1));
        assert!(!valid_date(1990, 1, 0));
        assert_eq!(fixed::<3>("123"), Some([1, 2, 3]));
        assert_eq!(fixed::<3>("12a"), None);
        assert_eq!(fixed::<3>("1234"), None);
        assert!(all_same(&[4, 4, 4]));
    }
}
