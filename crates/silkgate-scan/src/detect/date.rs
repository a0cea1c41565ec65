//! Calendar dates, the values of a date-of-birth column.
//!
//! Accepted forms: ISO 8601 `YYYY-MM-DD` (also with `/` or `.`), day-first `DD.MM.YYYY`,
//! `DD/MM/YYYY`, `DD-MM-YYYY` (the usual forms in the CIS states), `YYYYMMDD`, and the
//! Chinese `YYYY年M月D日`. A date alone does not say whose birth it is, so a date column is
//! labelled `DATE_OF_BIRTH` only with header evidence.

use super::digits::valid_date;

fn num(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.bytes().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
}

fn plausible(y: u32, m: u32, d: u32) -> Option<(u32, u32, u32)> {
    ((1900..=2100).contains(&y) && valid_date(y, m, d)).then_some((y, m, d))
}

/// Parses a date, returning (year, month, day).
pub fn date(raw: &str) -> Option<(u32, u32, u32)> {
    if let Some(rest) = raw.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        return plausible(num(y)?, num(m)?, num(d)?);
    }
    let b = raw.as_bytes();
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        return plausible(num(&raw[..4])?, num(&raw[4..6])?, num(&raw[6..])?);
    }
    let sep = *b.iter().find(|c| matches!(c, b'-' | b'/' | b'.'))?;
    let mut parts = raw.split(sep as char);
    let (a, m, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() > 2 {
        return None;
    }
    if a.len() == 4 && c.len() <= 2 {
        plausible(num(a)?, num(m)?, num(c)?)
    } else if c.len() == 4 && a.len() <= 2 {
        // Day first; where the day cannot be a day, read month first (US style).
        plausible(num(c)?, num(m)?, num(a)?).or_else(|| plausible(num(c)?, num(a)?, num(m)?))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(date("1990-01-31"), Some((1990, 1, 31)));
        assert_eq!(date("31.01.1990"), Some((1990, 1, 31)));
        assert_eq!(date("31/01/1990"), Some((1990, 1, 31)));
        assert_eq!(date("01/31/1990"), Some((1990, 1, 31)));
        assert_eq!(date("19900131"), Some((1990, 1, 31)));
        assert_eq!(date("1990年1月31日"), Some((1990, 1, 31)));
        assert_eq!(date("1990-02-30"), None);
        assert_eq!(date("1990-1-1-1"), None);
        assert_eq!(date("12.5"), None);
        assert_eq!(date("1800-01-01"), None);
        assert_eq!(date("2024.123.1"), None);
    }
}
