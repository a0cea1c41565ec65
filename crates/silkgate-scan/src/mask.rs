//! Masking: the only form in which a scanned value may leave the scanner (report samples),
//! and the `mask` de-identification transform.

use crate::entity::Entity;

/// Replaces all but the first `keep_prefix` and last `keep_suffix` letters and digits of
/// `value` with `*`, keeping punctuation and spaces so the shape stays readable. When the
/// kept parts would cover half the value or more, fewer are kept, so a short value is never
/// shown whole.
pub fn mask(value: &str, keep_prefix: usize, keep_suffix: usize) -> String {
    let significant = value.chars().filter(|c| c.is_alphanumeric()).count();
    let (mut pre, mut suf) = (keep_prefix, keep_suffix);
    while pre + suf > 0 && (pre + suf) * 2 > significant {
        if suf >= pre && suf > 0 {
            suf -= 1;
        } else {
            pre -= 1;
        }
    }
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen <= pre || seen > significant - suf {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// The masked sample shown in a report for a value of `entity`: identifiers keep two
/// characters at each end, names their initials, e-mail addresses their domain, and short
/// attributes (gender, dates) nothing but their punctuation.
pub fn sample(value: &str, entity: Entity) -> String {
    let value = value.trim();
    match entity {
        Entity::PersonName => value
            .split_whitespace()
            .map(|w| {
                let mut cs = w.chars();
                let first = cs.next().map(String::from).unwrap_or_default();
                first + &"*".repeat(cs.count().min(8))
            })
            .collect::<Vec<_>>()
            .join(" "),
        Entity::Email => match value.split_once('@') {
            Some((local, domain)) => format!("{}@{domain}", mask(local, 1, 0)),
            None => mask(value, 0, 0),
        },
        Entity::Gender | Entity::DateOfBirth | Entity::Biometric | Entity::Health => {
            mask(value, 0, 0)
        }
        _ => mask(value, 2, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_shape_but_not_the_value() {
        assert_eq!(mask("900101300007", 2, 2), "90********07");
        assert_eq!(mask("112-233-445 95", 2, 2), "11*-***-*** 95");
        assert_eq!(mask("abc", 2, 2), "a**");
        assert_eq!(mask("ab", 1, 1), "a*");
        assert_eq!(sample("Иванов Иван", Entity::PersonName), "И***** И***");
        assert_eq!(
            sample("someone@example.kz", Entity::Email),
            "s******@example.kz"
        );
        assert_eq!(sample("1990-01-31", Entity::DateOfBirth), "****-**-**");
        assert_eq!(sample("female", Entity::Gender), "******");
    }
}
