//! E-mail addresses (the common subset of RFC 5322 addr-spec: dot-atom local part, DNS
//! domain with a letter TLD). Internationalised addresses are not recognised.

/// Whether `s` looks like an e-mail address.
pub fn email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&c));
    if !local_ok || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let tld = labels[labels.len() - 1];
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    }) && tld.len() >= 2
        && tld.bytes().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(email("a.user+tag@example.kz"));
        assert!(email("x@mail.example.co.uk"));
        assert!(!email("no-at-sign.example.com"));
        assert!(!email("two@@example.com"));
        assert!(!email("user@localhost"), "no dot in the domain");
        assert!(!email("user@example.c0m"), "digit in the TLD");
        assert!(!email(".user@example.com"));
        assert!(!email("user@-example.com"));
    }
}
