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
        let lower = raw.to_ascii_lowercase();
        return WORDS.contains(&lower.as_str());
    }
    let lower = raw.to_lowercase();
    WORDS.contains(&lower.as_str())
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
        for w in ["S", "L", "XL", "yes", "Москва", ""] {
            assert!(!gender(w), "{w}");
        }
    }
}
