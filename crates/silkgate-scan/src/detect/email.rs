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
        && local.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'.' | b'!'
                        | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'/'
                        | b'='
                        | b'?'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'{'
                        | b'|'
                        | b'}'
                        | b'~'
                        | b'-'
                )
        });
    if !local_ok || domain.len() > 253 {
        return false;
    }
    // At least two labels, each 1-63 letters, digits or inner dashes; a TLD of letters.
    let mut labels = 0;
    let mut tld = "";
    for l in domain.split('.') {
        let ok = !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
        if !ok {
            return false;
        }
        labels += 1;
        tld = l;
    }
    labels >= 2 && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
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
