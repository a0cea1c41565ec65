//! Header evidence: which entity a column's name announces, in English and the languages of
//! the member states (Chinese, Russian, Kazakh, Uzbek, Kyrgyz, Tajik, Persian, Urdu, Hindi).
//!
//! A header is lower-cased and its separators (`_ - . / : # ( ) ,`) become spaces. A keyword
//! matches as a whole word (or run of words); keywords in scripts written without spaces
//! (Chinese) and ASCII keywords of five letters or more also match inside a word, so
//! `customerEmail` and `手机号码` are found. A header that names a thing rather than a person
//! (company, product, city, user name, ...) gives no name evidence.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use crate::entity::Entity;

/// The header words for each entity. Vocabulary only: these are the usual column titles of
/// each language, not statements about the formats.
const KEYWORDS: &[(Entity, &[&str])] = &[
    (
        Entity::PersonName,
        &[
            "name",
            "full name",
            "fullname",
            "first name",
            "firstname",
            "last name",
            "lastname",
            "surname",
            "given name",
            "middle name",
            "patronymic",
            "fio",
            "фио",
            "ф и о",
            "имя",
            "фамилия",
            "отчество",
            "姓名",
            "名字",
            "姓",
            "аты жөні",
            "аты",
            "тегі",
            "aty jóni",
            "aty joni",
            "tegi",
            "ism",
            "familiya",
            "f i sh",
            "fish",
            "исм",
            "фамилияси",
            "аты жөнү",
            "фамилиясы",
            "ном",
            "насаб",
            "номи падар",
            "نام",
            "نام خانوادگی",
            "नाम",
            "पूरा नाम",
            "उपनाम",
        ],
    ),
    (
        Entity::Phone,
        &[
            "phone",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "msisdn",
            "contact number",
            "телефон",
            "тел",
            "мобильный",
            "сотовый",
            "电话",
            "手机",
            "联系电话",
            "telefon",
            "тел рақамы",
            "telefon raqami",
            "تلفن",
            "موبایل",
            "شماره تماس",
            "فون",
            "موبائل",
            "फ़ोन",
            "फोन",
            "मोबाइल",
        ],
    ),
    (
        Entity::Email,
        &[
            "email",
            "e mail",
            "mail",
            "электронная почта",
            "эл почта",
            "почта",
            "邮箱",
            "电子邮件",
            "электрондық пошта",
            "пошта",
            "elektron pochta",
            "pochta",
            "ایمیل",
            "پست الکترونیک",
            "ای میل",
            "ईमेल",
        ],
    ),
    (
        Entity::DateOfBirth,
        &[
            "birth",
            "birthdate",
            "birthday",
            "dob",
            "date of birth",
            "born",
            "дата рождения",
            "рождения",
            "др",
            "出生日期",
            "出生",
            "生日",
            "туған күні",
            "tugan kuni",
            "tuǵan kúni",
            "tug'ilgan",
            "tugilgan",
            "туғилган",
            "туулган",
            "санаи таваллуд",
            "таваллуд",
            "تولد",
            "تاریخ تولد",
            "پیدائش",
            "تاریخ پیدائش",
            "जन्म",
            "जन्म तिथि",
            "जन्मतिथि",
        ],
    ),
    (
        Entity::Gender,
        &[
            "gender",
            "sex",
            "пол",
            "性别",
            "жынысы",
            "jynysy",
            "jinsi",
            "жинси",
            "жынысы",
            "ҷинс",
            "جنسیت",
            "جنس",
            "लिंग",
        ],
    ),
    (
        Entity::CnResidentId,
        &[
            "身份证",
            "身份证号",
            "公民身份号码",
            "证件号码",
            "resident id",
            "id card",
            "shenfenzheng",
        ],
    ),
    (
        Entity::CnUscc,
        &["统一社会信用代码", "信用代码", "uscc", "credit code"],
    ),
    (Entity::KzIin, &["иин", "жсн", "iin", "jsn", "zhsn"]),
    (Entity::KzBin, &["бин", "бсн", "bin", "bsn"]),
    (Entity::RuInn, &["инн", "inn"]),
    (Entity::RuSnils, &["снилс", "snils", "страховой номер"]),
    (Entity::RuOgrn, &["огрн", "ogrn", "огрнип", "ogrnip"]),
    (
        Entity::RuPassport,
        &["паспорт", "passport", "pasport", "серия и номер", "护照"],
    ),
    (
        Entity::InAadhaar,
        &["aadhaar", "aadhar", "uid", "uidai", "आधार"],
    ),
    (Entity::InPan, &["pan", "pan number", "pan no", "पैन"]),
    (
        Entity::PkCnic,
        &["cnic", "nic", "شناختی کارڈ", "قومی شناختی کارڈ"],
    ),
    (Entity::UzPinfl, &["pinfl", "jshshir", "пинфл", "жшшир"]),
    (Entity::KgPin, &["pin", "пин", "персональный номер"]),
    (Entity::TjId, &["tj id", "рақами мушаххас", "шиноснома"]),
    (
        Entity::IrNationalCode,
        &[
            "کد ملی",
            "کدملی",
            "شماره ملی",
            "national code",
            "melli",
            "codemelli",
        ],
    ),
    (
        Entity::ByPersonalNumber,
        &[
            "личный номер",
            "идентификационный номер",
            "асабісты нумар",
            "personal number",
        ],
    ),
    (Entity::ByUnp, &["унп", "unp"]),
    (
        Entity::PaymentCard,
        &[
            "card",
            "card number",
            "credit card",
            "cc",
            "номер карты",
            "карта",
            "банковская карта",
            "银行卡",
            "卡号",
            "karta",
            "کارت",
            "شماره کارت",
            "कार्ड",
        ],
    ),
    (
        Entity::Iban,
        &[
            "iban",
            "account",
            "счет",
            "счёт",
            "расчетный счет",
            "银行账号",
            "账号",
            "hisob raqami",
            "شبا",
            "खाता",
        ],
    ),
    (
        Entity::Biometric,
        &[
            "biometric",
            "biometrics",
            "fingerprint",
            "face template",
            "face image",
            "iris",
            "voiceprint",
            "отпечаток",
            "биометрия",
            "биометрические",
            "指纹",
            "人脸",
            "生物特征",
            "虹膜",
            "barmoq izi",
            "саусақ ізі",
            "biometrik",
            "اثر انگشت",
            "بیومتریک",
            "फिंगरप्रिंट",
            "बायोमेट्रिक",
        ],
    ),
    (
        Entity::Health,
        &[
            "diagnosis",
            "health",
            "medical",
            "disease",
            "icd",
            "icd10",
            "blood type",
            "диагноз",
            "заболевание",
            "здоровье",
            "группа крови",
            "诊断",
            "病历",
            "健康",
            "疾病",
            "tashxis",
            "بیماری",
            "تشخیص",
            "निदान",
            "बीमारी",
        ],
    ),
];

/// Words that make a header about a thing, not a person ("company name", "имя пользователя").
const NOT_A_PERSON: &[&str] = &[
    "company",
    "organisation",
    "organization",
    "org",
    "product",
    "file",
    "item",
    "city",
    "street",
    "bank",
    "brand",
    "region",
    "country",
    "host",
    "user",
    "username",
    "login",
    "domain",
    "sku",
    "компания",
    "компании",
    "организация",
    "организации",
    "товар",
    "товара",
    "наименование",
    "город",
    "улица",
    "банк",
    "пользователя",
    "公司",
    "产品",
    "商品",
    "银行",
    "城市",
    "文件",
    "用户名",
];

/// One piece of header evidence: the entity and the keyword that announced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderEvidence {
    /// The entity the header names.
    pub entity: Entity,
    /// The keyword found in the header.
    pub keyword: String,
}

struct Matcher {
    ac: AhoCorasick,
    /// For each pattern: (entity, keyword); `None` entity marks a "not a person" word.
    patterns: Vec<(Option<Entity>, &'static str)>,
}

static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let mut patterns = Vec::new();
    for (entity, words) in KEYWORDS {
        for w in *words {
            patterns.push((Some(*entity), *w));
        }
    }
    for w in NOT_A_PERSON {
        patterns.push((None, *w));
    }
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns.iter().map(|(_, w)| normalise(w)))
        .expect("header keywords build an automaton");
    Matcher { ac, patterns }
});

/// Lower-cases a header and turns separators into single spaces; splits `camelCase` words.
pub fn normalise(header: &str) -> String {
    let mut out = String::with_capacity(header.len() + 2);
    let mut prev_lower = false;
    for c in header.chars() {
        if c.is_alphanumeric() || matches!(c, '\'' | '‘' | 'ʻ' | '\u{200C}') || is_mark(c) {
            if c.is_uppercase() && prev_lower && c.is_ascii() {
                out.push(' ');
            }
            prev_lower = c.is_lowercase();
            out.extend(c.to_lowercase());
        } else {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            prev_lower = false;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

fn is_mark(c: char) -> bool {
    // Devanagari vowel signs and Arabic diacritics are not alphanumeric but belong to words.
    matches!(c, '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0962}'..='\u{0963}' | '\u{064B}'..='\u{065F}')
}

fn spaceless_script(w: &str) -> bool {
    w.chars().any(|c| matches!(c, '\u{3400}'..='\u{9FFF}'))
}

/// The entities a header announces. A JSON path (`customer.passport`) is judged by its last
/// segment.
pub fn evidence(header: &str) -> Vec<HeaderEvidence> {
    let last = header
        .rsplit('.')
        .next()
        .unwrap_or(header)
        .trim_end_matches("[]");
    let h = normalise(last);
    let m = &*MATCHER;
    let bytes = h.as_bytes();
    let mut hits: Vec<HeaderEvidence> = Vec::new();
    let mut thing = false;
    for found in all_matches(&m.ac, &h) {
        let (entity, keyword) = m.patterns[found.pattern().as_usize()];
        let start_ok = found.start() == 0 || bytes[found.start() - 1] == b' ';
        let end_ok = found.end() == bytes.len() || bytes[found.end()] == b' ';
        let whole = start_ok && end_ok;
        let inside = spaceless_script(keyword) || (keyword.is_ascii() && keyword.len() >= 5);
        if !(whole || inside) {
            continue;
        }
        match entity {
            None => thing = true,
            Some(e) => {
                if !hits.iter().any(|h| h.entity == e) {
                    hits.push(HeaderEvidence {
                        entity: e,
                        keyword: keyword.to_owned(),
                    });
                }
            }
        }
    }
    if thing {
        hits.retain(|h| h.entity != Entity::PersonName);
    }
    hits
}

/// Every keyword occurrence: leftmost-longest matches from each start position, so a short
/// keyword inside a longer one ("name" in "last name") is still seen.
fn all_matches(ac: &AhoCorasick, h: &str) -> Vec<aho_corasick::Match> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < h.len() {
        let input = aho_corasick::Input::new(h).span(start..h.len());
        let Some(m) = ac.find(input) else {
            break;
        };
        out.push(m);
        start = m.start() + h[m.start()..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entities(h: &str) -> Vec<Entity> {
        evidence(h).into_iter().map(|e| e.entity).collect()
    }

    #[test]
    fn headers_in_member_state_languages() {
        assert_eq!(entities("ФИО"), vec![Entity::PersonName]);
        assert_eq!(entities("姓名"), vec![Entity::PersonName]);
        assert_eq!(entities("aty-jóni"), vec![Entity::PersonName]);
        assert_eq!(entities("نام"), vec![Entity::PersonName]);
        assert_eq!(entities("नाम"), vec![Entity::PersonName]);
        assert_eq!(entities("Дата рождения"), vec![Entity::DateOfBirth]);
        assert_eq!(entities("手机号码"), vec![Entity::Phone]);
        assert_eq!(entities("customerEmail"), vec![Entity::Email]);
        assert_eq!(entities("ИИН"), vec![Entity::KzIin]);
        assert_eq!(entities("customer.passport"), vec![Entity::RuPassport]);
        assert_eq!(entities("کد ملی"), vec![Entity::IrNationalCode]);
        assert_eq!(entities("birth_date"), vec![Entity::DateOfBirth]);
        assert_eq!(entities("fingerprint_template"), vec![Entity::Biometric]);
    }

    #[test]
    fn things_are_not_people_and_words_must_be_whole() {
        assert_eq!(entities("company_name"), vec![]);
        assert_eq!(entities("Наименование товара"), vec![]);
        assert_eq!(entities("номер заказа"), vec![], "ном is a whole word only");
        assert_eq!(entities("amount"), vec![]);
        assert_eq!(entities("spin"), vec![], "pin is a whole word only");
    }
}
