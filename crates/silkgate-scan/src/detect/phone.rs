//! Telephone numbers: the member states' numbering plans as far as the research file gives
//! them, and E.164 in general.
//!
//! Source: research/jurisdictions.md §6 of each state: CN +86 mobiles (regex from open-source
//! code), IN +91 mobiles 6-9, IR +98 / 09xx, KZ and RU +7 with 10-digit national numbers
//! (trunk prefix 8), KG +996 and TJ +992 with 9-digit national numbers (UNVERIFIED), PK +92
//! mobiles 03xx, UZ +998 with 9 digits, BY +375 with a 2-digit code and 7 digits. Other
//! numbers written with `+` and 8-15 digits are accepted as E.164 (ITU-T E.164 §6: at most
//! 15 digits, country codes never start with 0).

/// How confidently a value was recognised as a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneMatch {
    /// Written in a distinctive way (international `+` form, or with phone-style grouping).
    Strong,
    /// Bare digits that fit a numbering plan: many other numbers look the same.
    Weak,
}

fn cn_mobile(n: &[u8]) -> bool {
    n.len() == 11
        && n[0] == b'1'
        && match n[1] {
            b'3' | b'5' | b'6' | b'8' => true,
            b'4' => matches!(n[2], b'5' | b'7' | b'9'),
            b'7' => matches!(n[2], b'0'..=b'3' | b'5'..=b'8'),
            b'9' => n[2] != b'4',
            _ => false,
        }
}

fn in_mobile(n: &[u8]) -> bool {
    n.len() == 10 && (b'6'..=b'9').contains(&n[0])
}

fn uz_national(n: &[u8]) -> bool {
    n.len() == 9
        && match (n[0], n[1]) {
            (b'6', c) => matches!(c, b'1' | b'2' | b'5'..=b'7' | b'9'),
            (b'7', c) => matches!(c, b'1'..=b'6' | b'9'),
            (b'8', b'8') | (b'9', _) => true,
            // Newer mobile prefixes (33, 50, 77, ...) are missing from the source regex
            // (UNVERIFIED); accept the documented ones only.
            _ => false,
        }
}

/// Whether digits after a country code form a national number of a member state; `None`
/// when the country code is not a member's.
fn member_international(d: &[u8]) -> Option<bool> {
    let rest = |cc: &str| d.strip_prefix(cc.as_bytes());
    if let Some(n) = rest("86") {
        return Some(cn_mobile(n));
    }
    if let Some(n) = rest("91") {
        return Some(in_mobile(n));
    }
    if let Some(n) = rest("98") {
        return Some(n.len() == 10 && n[0] == b'9');
    }
    if let Some(n) = rest("92") {
        return Some(n.len() == 10 && n[0] == b'3');
    }
    for cc in ["996", "992", "998", "375"] {
        if let Some(n) = rest(cc) {
            return Some(if cc == "998" {
                uz_national(n)
            } else {
                n.len() == 9
            });
        }
    }
    if let Some(n) = rest("7") {
        return Some(n.len() == 10 && matches!(n[0], b'3' | b'4' | b'6' | b'7' | b'8' | b'9'));
    }
    None
}

/// Whether bare national digits (no country marker) fit a member state's plan.
fn national(d: &[u8]) -> bool {
    match d.len() {
        10 => in_mobile(d),
        11 => {
            cn_mobile(d)
                || (d[0] == b'0' && in_mobile(&d[1..]))
                || d.starts_with(b"09")
                || d.starts_with(b"03")
                || ((d[0] == b'8' || d[0] == b'7') && matches!(d[1], b'3' | b'4' | b'7' | b'9'))
        }
        12 | 13 => member_international(d) == Some(true),
        _ => false,
    }
}

/// Digit-group lengths that belong to identifiers, not phones: SNILS `3-3-3 2`, passport
/// `2 2 6` / `4 6`, Aadhaar `4 4 4`, CNIC `5-7-1`, card `4 4 4 4`.
fn id_grouping(groups: &[usize]) -> bool {
    matches!(
        groups,
        [3, 3, 3, 2] | [2, 2, 6] | [4, 6] | [4, 4, 4] | [5, 7, 1] | [4, 4, 4, 4]
    )
}

/// Recognises a phone number in a raw value (spaces, `-`, `.`, `(`, `)` allowed between
/// digits, one leading `+` or `00`).
pub fn phone(raw: &str) -> Option<PhoneMatch> {
    let b = raw.as_bytes();
    let (plus, body) = match b.first() {
        Some(b'+') => (true, &b[1..]),
        _ => (false, b),
    };
    let mut digits = [0u8; 16];
    let mut n = 0;
    let mut groups = [0usize; 8];
    let mut ng = 0;
    let mut in_group = false;
    let mut separated = false;
    for &c in body {
        if c.is_ascii_digit() {
            if n == digits.len() {
                return None;
            }
            digits[n] = c;
            n += 1;
            if !in_group {
                if ng == groups.len() {
                    return None;
                }
                ng += 1;
                in_group = true;
            }
            groups[ng - 1] += 1;
        } else if matches!(c, b' ' | b'-' | b'.' | b'(' | b')') {
            separated = true;
            in_group = false;
        } else {
            return None;
        }
    }
    let d = &digits[..n];
    if n < 7 {
        return None;
    }
    if plus || d.starts_with(b"00") {
        let d = if plus { d } else { &d[2..] };
        let ok = match member_international(d) {
            Some(ok) => ok,
            None => (8..=15).contains(&d.len()) && d[0] != b'0',
        };
        return ok.then_some(if plus {
            PhoneMatch::Strong
        } else {
            PhoneMatch::Weak
        });
    }
    if !national(d) {
        return None;
    }
    if separated && !id_grouping(&groups[..ng]) {
        Some(PhoneMatch::Strong)
    } else {
        Some(PhoneMatch::Weak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PhoneMatch::*;

    fn check(raw: &str, want: Option<PhoneMatch>) {
        assert_eq!(phone(raw), want, "{raw}");
    }

    #[test]
    fn member_states_international_forms() {
        check("+86 138 0013 8000", Some(Strong));
        check("+91 98765 43210", Some(Strong));
        check("+98 912 345 6789", Some(Strong));
        check("+7 701 234 5678", Some(Strong));
        check("+7 (916) 123-45-67", Some(Strong));
        check("+996 555 123 456", Some(Strong));
        check("+92 300 1234567", Some(Strong));
        check("+992 93 123 4567", Some(Strong));
        check("+998 90 123 45 67", Some(Strong));
        check("+375 29 123 45 67", Some(Strong));
        check("+44 20 7946 0018", Some(Strong));
    }

    #[test]
    fn national_forms() {
        check("8 (701) 234-56-78", Some(Strong));
        check("0300-1234567", Some(Strong));
        check("0912 345 6789", Some(Strong));
        check("13800138000", Some(Weak));
        check("9876543210", Some(Weak));
        check("998901234567", Some(Weak));
    }

    #[test]
    fn not_phones() {
        check("+86 123", None);
        check("+86 238 0013 8000", None);
        check("+0 123 456 789", None);
        check("12345", None);
        check("1234567890", None);
        check("112-233-445 95", None);
        check("45 06 123456", None);
        check("phone: 123", None);
        check("4111 1111 1111 1111", None);
    }
}
