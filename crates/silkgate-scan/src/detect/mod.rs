//! Value detectors: one module per identifier family, each citing the standard or source it
//! implements, and [`detect`], which looks at a value once and asks only the detectors whose
//! shape fits.
//!
//! Every detector is a pure function of the value. A match is *strong* when the value proves
//! itself (a check digit, a distinctive written form) and *weak* when only its shape fits
//! (bare digits of the right length with no check digit, a date, a capitalised word): weak
//! matches count towards a column's label only when the column header names that entity.

pub mod by;
pub mod card;
pub mod cn;
pub mod date;
pub(crate) mod digits;
pub mod email;
pub mod gender;
pub mod iban;
pub mod india;
pub mod ir;
pub mod kg;
pub mod kz;
pub mod name;
pub mod phone;
pub mod pk;
pub mod ru;
pub mod tj;
pub mod uz;

use crate::entity::{Entity, EntitySet};

/// The entities one value matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detection {
    /// Entities the value proves (check digit or distinctive form).
    pub strong: EntitySet,
    /// Entities whose shape the value has, without proof.
    pub weak: EntitySet,
}

impl Detection {
    fn strong(&mut self, e: Entity) {
        self.strong.insert(e);
    }
    fn weak(&mut self, e: Entity) {
        self.weak.insert(e);
    }

    /// Whether the value matched nothing.
    pub fn is_empty(&self) -> bool {
        self.strong.is_empty() && self.weak.is_empty()
    }

    /// Strong and weak matches together.
    pub fn all(&self) -> EntitySet {
        self.strong.union(self.weak)
    }
}

/// Longest value looked at; longer text (free text, blobs) is not an identifier and names
/// are shorter.
const MAX_VALUE: usize = 100;

/// Runs every detector whose shape fits `raw` (surrounding whitespace is ignored).
pub fn detect(raw: &str) -> Detection {
    detect_in(raw, EntitySet::ALL)
}

/// Runs only the detectors of the entities in `want` (the others are skipped, so their
/// results are absent): the scanner's fast path once a column's entity is known. For every
/// entity `e` in `want`, `detect_in(v, want)` agrees with `detect(v)` on `e`.
pub fn detect_in(raw: &str, want: EntitySet) -> Detection {
    let w = want;
    let mut out = Detection::default();
    let s = raw.trim_ascii();
    if s.is_empty() || s.len() > MAX_VALUE {
        return out;
    }
    let (mut n_digit, mut n_alpha, mut n_at, mut n_dot, mut n_other) = (0usize, 0usize, 0, 0, 0);
    let mut n_date_sep = 0usize;
    let mut non_ascii = false;
    for &c in s.as_bytes() {
        match c {
            b'0'..=b'9' => n_digit += 1,
            b'A'..=b'Z' | b'a'..=b'z' => n_alpha += 1,
            b'@' => n_at += 1,
            b'.' => n_dot += 1,
            b'-' | b'/' => n_date_sep += 1,
            b' ' | b'(' | b')' | b'+' => {}
            0x80.. => non_ascii = true,
            _ => n_other += 1,
        }
    }
    if non_ascii {
        detect_text(s, w, &mut out);
        return out;
    }
    if n_at == 1 {
        if w.contains(Entity::Email) && email::email(s) {
            out.strong(Entity::Email);
        }
        return out;
    }
    if n_other > 0 && n_alpha == 0 {
        return out;
    }
    if n_alpha == 0 {
        detect_numeric(s, n_digit, n_dot, n_date_sep, w, &mut out);
    } else {
        detect_alphanumeric(s, n_digit, w, &mut out);
    }
    out
}

/// Values with letters outside ASCII: names, gender words, Chinese dates, the passport
/// written with `№`.
fn detect_text(s: &str, w: EntitySet, out: &mut Detection) {
    // The checks below are exclusive: a gender word is not a date, a name or a passport,
    // so each is tried (when wanted) only if the earlier ones did not match.
    if gender::gender(s) {
        if w.contains(Entity::Gender) {
            out.strong(Entity::Gender);
        }
        return;
    }
    if s.contains('年') && date::date(s).is_some() {
        if w.contains(Entity::DateOfBirth) {
            out.weak(Entity::DateOfBirth);
        }
        return;
    }
    if ru::passport_formatted(s) {
        if w.contains(Entity::RuPassport) {
            out.strong(Entity::RuPassport);
        }
        return;
    }
    if !w.contains(Entity::PersonName) {
        return;
    }
    match name::name(s) {
        Some(name::NameMatch::Strong) => out.strong(Entity::PersonName),
        Some(name::NameMatch::Weak) => out.weak(Entity::PersonName),
        None => {}
    }
}

fn detect_numeric(
    s: &str,
    n_digit: usize,
    n_dot: usize,
    n_date_sep: usize,
    w: EntitySet,
    out: &mut Detection,
) {
    if (n_digit == 8 || n_dot + n_date_sep > 0) && date::date(s).is_some() {
        if w.contains(Entity::DateOfBirth) {
            out.weak(Entity::DateOfBirth);
        }
        return;
    }
    if w.contains(Entity::Phone)
        && let Some(m) = phone::phone(s)
    {
        match m {
            phone::PhoneMatch::Strong => out.strong(Entity::Phone),
            phone::PhoneMatch::Weak => out.weak(Entity::Phone),
        }
    }
    // Decimal numbers (amounts, measurements) are not identifiers.
    if n_dot > 0 || !(9..=19).contains(&n_digit) || s.starts_with('+') {
        return;
    }
    // Bare digits are used as they are; grouped ones are copied without their separators.
    let bare = n_digit == s.len();
    let mut buf = [0u8; 19];
    let d = if bare {
        s
    } else {
        let mut n = 0;
        for &c in s.as_bytes() {
            if c.is_ascii_digit() {
                buf[n] = c;
                n += 1;
            }
        }
        std::str::from_utf8(&buf[..n]).expect("ASCII digits are UTF-8")
    };
    let n = d.len();
    match n {
        9 => {
            if w.contains(Entity::ByUnp) && by::unp(d) {
                out.strong(Entity::ByUnp);
            }
            if w.contains(Entity::TjId) && tj::tj_id(d) {
                out.weak(Entity::TjId);
            }
        }
        10 => {
            if w.contains(Entity::RuInn) && ru::inn(d) {
                out.strong(Entity::RuInn);
            }
            if w.contains(Entity::IrNationalCode) && ir::national_code(d) {
                out.strong(Entity::IrNationalCode);
            }
            if w.contains(Entity::RuPassport) {
                if ru::passport_formatted(s) {
                    out.strong(Entity::RuPassport);
                } else if bare {
                    out.weak(Entity::RuPassport);
                }
            }
            if w.contains(Entity::TjId) && tj::tj_id(d) && bare {
                out.weak(Entity::TjId);
            }
        }
        11 if w.contains(Entity::RuSnils) && ru::snils(d) => out.strong(Entity::RuSnils),
        12 => {
            if w.contains(Entity::KzIin) && kz::iin(d) {
                out.strong(Entity::KzIin);
            }
            if w.contains(Entity::KzBin) && kz::bin(d) {
                out.strong(Entity::KzBin);
            }
            if w.contains(Entity::RuInn) && ru::inn(d) {
                out.strong(Entity::RuInn);
            }
            if w.contains(Entity::InAadhaar) && india::aadhaar(d) {
                out.strong(Entity::InAadhaar);
            }
        }
        13 => {
            if w.contains(Entity::RuOgrn) && ru::ogrn(d) {
                out.strong(Entity::RuOgrn);
            }
            if w.contains(Entity::PkCnic) && pk::cnic(d) {
                if pk::cnic_formatted(s) {
                    out.strong(Entity::PkCnic);
                } else if bare {
                    out.weak(Entity::PkCnic);
                }
            }
        }
        14 => {
            if w.contains(Entity::UzPinfl) && uz::pinfl(d) {
                out.strong(Entity::UzPinfl);
            }
            if w.contains(Entity::KgPin) && kg::pin(d) {
                out.strong(Entity::KgPin);
            }
        }
        15 if w.contains(Entity::CnResidentId) && cn::resident_id_15(d) => {
            out.strong(Entity::CnResidentId)
        }
        18 if w.contains(Entity::CnResidentId) && cn::resident_id_18(d) => {
            out.strong(Entity::CnResidentId)
        }
        _ => {}
    }
    if w.contains(Entity::PaymentCard) && (13..=19).contains(&n) && card::card(d) {
        out.strong(Entity::PaymentCard);
    }
}

fn detect_alphanumeric(s: &str, n_digit: usize, w: EntitySet, out: &mut Detection) {
    if n_digit == 0 && gender::gender(s) {
        if w.contains(Entity::Gender) {
            out.strong(Entity::Gender);
        }
        return;
    }
    // Compact form: upper case without spaces and dashes (IBANs are printed in groups of 4).
    let mut buf = [0u8; 34];
    let mut n = 0;
    let mut alnum_only = true;
    for &c in s.as_bytes() {
        match c {
            b' ' | b'-' => {}
            c if c.is_ascii_alphanumeric() => {
                if n == buf.len() {
                    alnum_only = false;
                    break;
                }
                buf[n] = c.to_ascii_uppercase();
                n += 1;
            }
            _ => {
                alnum_only = false;
                break;
            }
        }
    }
    if alnum_only && n_digit > 0 {
        let d = std::str::from_utf8(&buf[..n]).expect("ASCII is UTF-8");
        match n {
            9 if w.contains(Entity::ByUnp) && by::unp(d) => out.strong(Entity::ByUnp),
            10 if w.contains(Entity::InPan) && india::pan(d) => out.strong(Entity::InPan),
            14 if w.contains(Entity::ByPersonalNumber) && by::personal_number(d) => {
                out.strong(Entity::ByPersonalNumber)
            }
            18 => {
                // A value may pass both checks by chance; report both.
                if w.contains(Entity::CnResidentId) && cn::resident_id_18(d) {
                    out.strong(Entity::CnResidentId);
                }
                if w.contains(Entity::CnUscc) && cn::uscc(d) {
                    out.strong(Entity::CnUscc);
                }
            }
            _ => {}
        }
        if w.contains(Entity::Iban) && n >= 15 && iban::iban(d) {
            out.strong(Entity::Iban);
        }
        return;
    }
    if n_digit == 0 && w.contains(Entity::PersonName) {
        match name::name(s) {
            Some(name::NameMatch::Strong) => out.strong(Entity::PersonName),
            Some(name::NameMatch::Weak) => out.weak(Entity::PersonName),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strong(raw: &str) -> Vec<Entity> {
        detect(raw).strong.iter().collect()
    }
    fn weak(raw: &str) -> Vec<Entity> {
        detect(raw).weak.iter().collect()
    }

    #[test]
    fn dispatch_reaches_each_detector() {
        use Entity::*;
        assert_eq!(strong("11010519491231002X"), vec![CnResidentId]);
        assert_eq!(strong("91110000600037341L"), vec![CnUscc]);
        assert!(strong("900101300007").contains(&KzIin));
        assert_eq!(strong("1234567894"), vec![RuInn]);
        assert!(strong("123456789047").contains(&RuInn));
        assert_eq!(strong("112-233-445 95"), vec![RuSnils]);
        assert_eq!(strong("1022200525819"), vec![RuOgrn]);
        assert_eq!(strong("45 06 123456"), vec![RuPassport]);
        assert!(strong("2341 2341 2346").contains(&InAadhaar));
        assert_eq!(strong("ABCPE1234F"), vec![InPan]);
        assert_eq!(strong("12345-6789012-3"), vec![PkCnic]);
        assert!(strong("30101900010018").contains(&UzPinfl));
        assert!(strong("20101199000001").contains(&KgPin));
        assert!(strong("1234567891").contains(&IrNationalCode));
        assert_eq!(strong("3010190A001PB9"), vec![ByPersonalNumber]);
        assert_eq!(strong("200988541"), vec![ByUnp]);
        assert_eq!(strong("4111 1111 1111 1111"), vec![PaymentCard]);
        assert_eq!(strong("GB82 WEST 1234 5698 7654 32"), vec![Iban]);
        assert_eq!(strong("+7 701 234 5678"), vec![Phone]);
        assert_eq!(strong("someone@example.kz"), vec![Email]);
        assert_eq!(weak("1990-01-31"), vec![DateOfBirth]);
        assert_eq!(strong("female"), vec![Gender]);
        assert_eq!(strong("Иванов Иван Иванович"), vec![PersonName]);
        assert_eq!(weak("123456789"), vec![TjId]);
        assert_eq!(weak("1234567890123"), vec![PkCnic]);
    }

    #[test]
    fn amounts_codes_and_text_match_nothing() {
        for v in [
            "1234.56",
            "-17",
            "SKU-4411-XL",
            "ORD-000123",
            "",
            "   ",
            "n/a",
            "true",
            "0",
        ] {
            assert!(detect(v).strong.is_empty(), "{v}");
        }
        assert!(detect(&"9".repeat(500)).is_empty());
    }
}
