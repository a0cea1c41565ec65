//! Gender or sex values in the member states' languages and English.

/// Words for male and female, compared case-insensitively: English, Russian, Chinese,
/// Kazakh, Uzbek, Kyrgyz, Tajik, Persian and Urdu, Hindi.
const WORDS: &[&str] = &[
    "m",
    "f",
    "male",
    "female",
    "man",
    "woman",
    "м",
    "ж",
    "муж",
    "жен",
    "мужской",
    "женский",
    "мужчина",
    "женщина",
    "男",
    "女",
    "男性",
    "女性",
    "ер",
    "әйел",
    "er",
    "áıel",
    "erkak",
    "ayol",
    "эркак",
    "аёл",
    "эркек",
    "аял",
    "мард",
    "зан",
    "مرد",
    "زن",
    "مذکر",
    "مونث",
    "पुरुष",
    "महिला",
    "स्त्री",
];

/// Whether `raw` (trimmed) is a gender word.
pub fn gender(raw: &str) -> bool {
    // The longest word is 21 bytes (Hindi); none has a space. Most values fail here.
    if raw.len() > 21 || raw.contains(' ') || (raw.is_ascii() && raw.len() > 6) {
        return false;
    }
    if raw.is_ascii() {
        // The words are lower case, so an ASCII value matches one ignoring ASCII case.
        return WORDS.iter().any(|w| w.eq_ignore_ascii_case(raw));
    }
    // Lower-case into a stack buffer (no allocation per value); a value whose lower case
    // does not fit is longer than every word.
    let mut buf = [0u8; 48];
    let mut n = 0;
    for c in raw.chars().flat_map(char::to_lowercase) {
        let len = c.len_utf8();
        if n + len > buf.len() {
            return false;
        }
        c.encode_utf8(&mut buf[n..]);
        n += len;
    }
    let lower = &buf[..n];
    WORDS.iter().any(|w| w.as_bytes() == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        for w in ["M", "female", "Ж", "мужской", "女", "Erkak", "زن", "महिला"]
        {
            assert!(gender(w), "{w}");
        }
        for w in ["S", "L", "XL", "yes", "Москва", "", "ЖЕНЩИНЫ", "男人"] {
            assert!(!gender(w), "{w}");
        }
        for w in ["FEMALE", "Male", "ЖЕНСКИЙ", "Муж", "ERKAK", "Áıel"] {
            assert!(gender(w), "{w}");
        }
    }
}
