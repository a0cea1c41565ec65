//! Personal names in Chinese, Cyrillic (Russian, Kazakh, Uzbek, Kyrgyz, Tajik), Arabic script
//! (Persian, Urdu), Devanagari (Hindi) and Latin transliteration.
//!
//! A value is a *strong* name match when it carries evidence: a Chinese surname from the
//! common-surname list followed by one to three Han characters; a patronymic or surname
//! suffix (`-ович`, `-овна`, `-ов`, `-ова`, `-ұлы`, `-qizi`, `-zoda`, `-زاده`, ...) in a name of
//! two or more capitalised words; or a word from the given-name and surname lists. A value
//! that only has the shape of a name (one to four capitalised words of letters) is a *weak*
//! match, counted only when the column header says it holds names. The lists are short
//! frequency lists of common names; they are vocabulary, not facts about any person.

use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet};

/// How confidently a value was recognised as a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// The value carries name evidence (list word, suffix, Chinese surname).
    Strong,
    /// The value only has the shape of a name.
    Weak,
}

/// Common Chinese single-character surnames (the most frequent family names of the PRC
/// population, in frequency order as published in household-registration statistics).
const CN_SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";
/// Compound (two-character) Chinese surnames.
const CN_COMPOUND: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯",
    "长孙", "宇文",
];

/// Patronymic and surname endings in Cyrillic (Russian, Kazakh, Uzbek, Kyrgyz, Tajik).
const CYRILLIC_SUFFIXES: &[&str] = &[
    "ович",
    "евич",
    "ьич",
    "овна",
    "евна",
    "ична",
    "инична",
    "ов",
    "ова",
    "ев",
    "ева",
    "ёв",
    "ёва",
    "ин",
    "ина",
    "ын",
    "ына",
    "ский",
    "ская",
    "цкий",
    "цкая",
    "енко",
    "ук",
    "юк",
    "ян",
    "дзе",
    "швили",
    "ұлы",
    "қызы",
    "улы",
    "кызы",
    "уулу",
    "угли",
    "ўғли",
    "қизи",
    "кизи",
    "зода",
    "зоди",
    "заде",
    "пур",
    "иён",
    "ёна",
];

/// Patronymic and surname endings in Latin transliteration.
const LATIN_SUFFIXES: &[&str] = &[
    "ovich",
    "evich",
    "ovna",
    "evna",
    "ichna",
    "ov",
    "ova",
    "ev",
    "eva",
    "yev",
    "yeva",
    "sky",
    "skiy",
    "skii",
    "skaya",
    "enko",
    "yan",
    "dze",
    "shvili",
    "uly",
    "uly",
    "kyzy",
    "qizi",
    "ugli",
    "o'g'li",
    "o‘g‘li",
    "uulu",
    "zoda",
    "zade",
    "zadeh",
    "pour",
    "bekov",
    "bekova",
];

/// Lower-case words that join a patronymic to a name ("Alisher o‘g‘li", "Ахмед оглы");
/// their presence is evidence of a name.
const PARTICLES: &[&str] = &[
    "o‘g‘li",
    "o'g'li",
    "oʻgʻli",
    "ogli",
    "ugli",
    "qizi",
    "uly",
    "kyzy",
    "uulu",
    "оглы",
    "угли",
    "ўғли",
    "қизи",
    "кызы",
    "уулу",
    "ұлы",
    "қызы",
    "bin",
    "binti",
    "ibn",
];

/// Surname endings in Arabic script (Persian and Urdu): -zadeh, -pour, -ian.
const ARABIC_SUFFIXES: &[&str] = &["زاده", "پور", "یان"];

/// Given names and surnames, lower case, in the scripts they are written in.
const NAME_WORDS: &[&str] = &[
    // Russian (Cyrillic).
    "иван",
    "александр",
    "сергей",
    "дмитрий",
    "андрей",
    "алексей",
    "владимир",
    "николай",
    "михаил",
    "павел",
    "евгений",
    "юрий",
    "максим",
    "мария",
    "анна",
    "елена",
    "ольга",
    "наталья",
    "татьяна",
    "ирина",
    "светлана",
    "екатерина",
    "юлия",
    "анастасия",
    "марина",
    "смирнов",
    "иванов",
    "кузнецов",
    "попов",
    "васильев",
    "петров",
    "соколов",
    "михайлов",
    // Kazakh, Kyrgyz, Uzbek, Tajik (Cyrillic).
    "нурсултан",
    "айгерим",
    "аружан",
    "ерлан",
    "аскар",
    "даурен",
    "айдана",
    "мадина",
    "арман",
    "нурлан",
    "болат",
    "гульнара",
    "жанна",
    "сауле",
    "тимур",
    "алмас",
    "асель",
    "айбек",
    "азамат",
    "бакыт",
    "чолпон",
    "нурбек",
    "айжан",
    "канат",
    "айнура",
    "бермет",
    "алишер",
    "дилноза",
    "жасур",
    "бекзод",
    "сардор",
    "шахзод",
    "нодира",
    "гулнора",
    "малика",
    "рустам",
    "шерзод",
    "умид",
    "дилшод",
    "фаррух",
    "зарина",
    "фирдавс",
    "фарход",
    "шахло",
    "манижа",
    "даврон",
    "бахром",
    "парвиз",
    "шерали",
    // Latin transliteration: Central Asia, Russia, Iran, Pakistan, India, China, English.
    "ivan",
    "aleksandr",
    "alexander",
    "sergey",
    "sergei",
    "dmitry",
    "dmitriy",
    "andrey",
    "alexey",
    "aleksey",
    "vladimir",
    "nikolay",
    "mikhail",
    "pavel",
    "maria",
    "anna",
    "elena",
    "olga",
    "natalia",
    "natalya",
    "tatiana",
    "tatyana",
    "irina",
    "svetlana",
    "ekaterina",
    "nursultan",
    "aigerim",
    "aruzhan",
    "yerlan",
    "askar",
    "dauren",
    "aidana",
    "madina",
    "arman",
    "nurlan",
    "bolat",
    "gulnara",
    "zhanna",
    "saule",
    "timur",
    "almas",
    "asel",
    "aibek",
    "azamat",
    "bakyt",
    "cholpon",
    "nurbek",
    "aizhan",
    "kanat",
    "ainura",
    "bermet",
    "alisher",
    "dilnoza",
    "jasur",
    "bekzod",
    "sardor",
    "shahzod",
    "nodira",
    "gulnora",
    "malika",
    "rustam",
    "sherzod",
    "umid",
    "dilshod",
    "farrukh",
    "zarina",
    "firdavs",
    "farhod",
    "shahlo",
    "manizha",
    "davron",
    "bahrom",
    "parviz",
    "mohammad",
    "mohammed",
    "muhammad",
    "ali",
    "reza",
    "hossein",
    "hussain",
    "mehdi",
    "hassan",
    "hasan",
    "ahmad",
    "ahmed",
    "amir",
    "fatemeh",
    "fatima",
    "zahra",
    "maryam",
    "sara",
    "narges",
    "leila",
    "mahsa",
    "imran",
    "bilal",
    "usman",
    "ayesha",
    "aisha",
    "sana",
    "hina",
    "zainab",
    "hamza",
    "asif",
    "khan",
    "rahul",
    "amit",
    "priya",
    "anjali",
    "sunita",
    "rajesh",
    "suresh",
    "ramesh",
    "vijay",
    "deepak",
    "pooja",
    "neha",
    "arjun",
    "ravi",
    "sanjay",
    "anil",
    "kavita",
    "lakshmi",
    "kumar",
    "singh",
    "sharma",
    "gupta",
    "patel",
    "reddy",
    "verma",
    "yadav",
    "das",
    "wang",
    "zhang",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "zhou",
    "xu",
    "sun",
    "zhu",
    "guo",
    "lin",
    "luo",
    "wei",
    "fang",
    "jing",
    "lei",
    "jun",
    "yong",
    "jie",
    "tao",
    "ming",
    "xiaoming",
    "john",
    "james",
    "mary",
    "david",
    "michael",
    "sarah",
    "smith",
    "johnson",
    "brown",
    "ahmadi",
    "mohammadi",
    "hosseini",
    "rezaei",
    "karimi",
    "mousavi",
    "jafari",
    // Persian and Urdu (Arabic script).
    "محمد",
    "علی",
    "حسین",
    "رضا",
    "مهدی",
    "حسن",
    "احمد",
    "امیر",
    "فاطمه",
    "زهرا",
    "مریم",
    "سارا",
    "نرگس",
    "لیلا",
    "مهسا",
    "عمران",
    "بلال",
    "عثمان",
    "عائشہ",
    "عائشه",
    "ثنا",
    "زینب",
    "حمزہ",
    "حمزه",
    "آصف",
    "خان",
    "احمدی",
    "محمدی",
    "حسینی",
    "رضایی",
    "کریمی",
    "موسوی",
    "جعفری",
    "صادقی",
    "رحیمی",
    "قریشی",
    "چوہدری",
    "ملک",
    "بٹ",
    "اعوان",
    // Hindi (Devanagari).
    "राम",
    "राहुल",
    "अमित",
    "प्रिया",
    "अंजलि",
    "सुनीता",
    "राजेश",
    "सुरेश",
    "रमेश",
    "विजय",
    "दीपक",
    "पूजा",
    "नेहा",
    "अर्जुन",
    "रवि",
    "संजय",
    "अनिल",
    "कविता",
    "लक्ष्मी",
    "कुमार",
    "सिंह",
    "शर्मा",
    "गुप्ता",
    "पटेल",
    "वर्मा",
    "यादव",
    "देवी",
    "दास",
    "मिश्रा",
    "जैन",
];

/// The list words capitalised as names are written ("иван" → "Иван"), so a capitalised
/// token is looked up as it is, without lower-casing it. (A fast non-cryptographic hash: the
/// keys are a fixed vocabulary, not attacker-chosen table sizes.)
static WORDS: LazyLock<FxHashSet<String>> = LazyLock::new(|| {
    NAME_WORDS
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            let first = cs
                .next()
                .map(|c| c.to_uppercase().collect::<String>())
                .unwrap_or_default();
            first + cs.as_str()
        })
        .collect()
});

/// `char::is_uppercase` with the letters names are mostly written in (ASCII and the basic
/// Cyrillic block, U+0400-U+045F, whose first half is upper case) answered without the
/// Unicode table lookup; every other character goes to the table.
fn upper(c: char) -> bool {
    match c {
        '\0'..='\x7F' => c.is_ascii_uppercase(),
        '\u{0400}'..='\u{042F}' => true,
        '\u{0430}'..='\u{045F}' => false,
        _ => c.is_uppercase(),
    }
}

/// Whether `word` (as written) is a list word: capitalised forms directly, other casings
/// ("IVANOV", "ivanov") after normalising to the capitalised form.
fn listed(word: &str) -> bool {
    if WORDS.contains(word) {
        return true;
    }
    let mut cs = word.chars();
    let Some(first) = cs.next() else {
        return false;
    };
    let rest = cs.as_str();
    if upper(first) && rest.chars().all(|c| !upper(c)) {
        return false;
    }
    let normal: String = first
        .to_uppercase()
        .chain(rest.chars().flat_map(char::to_lowercase))
        .collect();
    WORDS.contains(&normal)
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// The single-character surnames, for a lookup per value instead of a scan of the list.
static CN_SURNAME_SET: LazyLock<FxHashSet<char>> = LazyLock::new(|| CN_SURNAMES.chars().collect());

fn chinese(s: &str) -> Option<NameMatch> {
    // Two to four Han characters, ignoring spaces and the middle dots of transcribed names.
    let mut chars = ['\0'; 4];
    let mut n = 0;
    for c in s.chars().filter(|c| !matches!(c, ' ' | '·' | '•')) {
        if n == chars.len() || !is_han(c) {
            return None;
        }
        chars[n] = c;
        n += 1;
    }
    if n < 2 {
        return None;
    }
    let compound = CN_COMPOUND.iter().any(|w| {
        let mut wc = w.chars();
        wc.next() == Some(chars[0]) && wc.next() == Some(chars[1]) && wc.next().is_none()
    });
    if compound || CN_SURNAME_SET.contains(&chars[0]) {
        Some(NameMatch::Strong)
    } else {
        Some(NameMatch::Weak)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Arabic,
    Devanagari,
}

fn script_of(c: char) -> Option<Script> {
    match c {
        'A'..='Z' | 'a'..='z' | '\u{00C0}'..='\u{024F}' => Some(Script::Latin),
        '\u{0400}'..='\u{04FF}' => Some(Script::Cyrillic),
        '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' => Some(Script::Arabic),
        '\u{0900}'..='\u{097F}' => Some(Script::Devanagari),
        _ => None,
    }
}

/// Whether `token` is one word of a name in `script`: letters of that script (with the
/// combining marks Devanagari and Arabic need) and inner `-`, `'`, `‘`, `ʻ`, `ʼ`, or an
/// initial such as `И.`.
fn word_ok(token: &str, script: Script) -> bool {
    let cased = matches!(script, Script::Latin | Script::Cyrillic);
    let mut chars = token.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if script_of(first) != Some(script) || (cased && !upper(first)) {
        return false;
    }
    token.chars().all(|c| {
        script_of(c) == Some(script)
            || matches!(c, '-' | '\'' | '‘' | '’' | 'ʻ' | 'ʼ' | '.')
            || (script == Script::Devanagari && ('\u{0900}'..='\u{097F}').contains(&c))
            || (script == Script::Arabic && ('\u{064B}'..='\u{065F}').contains(&c))
            || c == '\u{200C}'
    })
}

/// The suffix lists indexed by their last character, so a word is compared only with the
/// few suffixes that end as it does.
struct SuffixTable(FxHashMap<char, Vec<&'static str>>);

impl SuffixTable {
    fn new(list: &'static [&'static str]) -> Self {
        let mut map: FxHashMap<char, Vec<&'static str>> = FxHashMap::default();
        for suf in list {
            if let Some(last) = suf.chars().next_back() {
                map.entry(last).or_default().push(suf);
            }
        }
        SuffixTable(map)
    }
}

static CYRILLIC_TABLE: LazyLock<SuffixTable> =
    LazyLock::new(|| SuffixTable::new(CYRILLIC_SUFFIXES));
static LATIN_TABLE: LazyLock<SuffixTable> = LazyLock::new(|| SuffixTable::new(LATIN_SUFFIXES));
static ARABIC_TABLE: LazyLock<SuffixTable> = LazyLock::new(|| SuffixTable::new(ARABIC_SUFFIXES));

fn has_suffix(lower: &str, script: Script) -> bool {
    let table = match script {
        Script::Cyrillic => &*CYRILLIC_TABLE,
        Script::Latin => &*LATIN_TABLE,
        Script::Arabic => &*ARABIC_TABLE,
        Script::Devanagari => return false,
    };
    let Some(last) = lower.chars().next_back() else {
        return false;
    };
    table.0.get(&last).is_some_and(|list| {
        list.iter()
            .any(|suf| lower.len() > suf.len() + 2 && lower.ends_with(suf))
    })
}

/// Recognises a personal name.
pub fn name(raw: &str) -> Option<NameMatch> {
    if raw.len() > 80 {
        return None;
    }
    let first = raw.chars().next()?;
    if is_han(first) {
        return chinese(raw);
    }
    let script = script_of(first)?;
    let mut tokens = 0;
    let mut evidence = false;
    let mut suffix = false;
    for token in raw.split_whitespace() {
        tokens += 1;
        // Particles are lower case: a capitalised token is never one.
        if tokens > 1 && !token.chars().next().is_some_and(upper) && PARTICLES.contains(&token) {
            suffix = true;
            continue;
        }
        if tokens > 4 || !word_ok(token, script) {
            return None;
        }
        // An initial ("И.", "A.") carries no evidence of its own.
        let word = token.trim_end_matches('.');
        if word.chars().count() < 2 {
            continue;
        }
        if listed(word) {
            evidence = true;
        } else if has_suffix(word, script)
            || (word.chars().skip(1).any(upper) && has_suffix(&word.to_lowercase(), script))
        {
            // Suffixes are lower case, like the end of a capitalised word; an all-capitals
            // word is lower-cased first.
            suffix = true;
        }
    }
    if tokens == 0 {
        return None;
    }
    if evidence || (suffix && tokens >= 2) {
        Some(NameMatch::Strong)
    } else {
        Some(NameMatch::Weak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameMatch::*;

    fn check(raw: &str, want: Option<NameMatch>) {
        assert_eq!(name(raw), want, "{raw}");
    }

    #[test]
    fn names_in_each_script() {
        check("王小明", Some(Strong));
        check("欧阳娜娜", Some(Strong));
        check("Иванов Иван Иванович", Some(Strong));
        check("Кузьмина Дарья", Some(Strong));
        check("Сериков Ерлан Болатұлы", Some(Strong));
        check("Karimova Dilnoza", Some(Strong));
        check("Tursunov Bekzod Alisher o‘g‘li", Some(Strong));
        check("Rahmonzoda Firdavs", Some(Strong));
        check("محمد رضایی", Some(Strong));
        check("علی حسین‌زاده", Some(Strong));
        check("राहुल शर्मा", Some(Strong));
        check("Zhang Wei", Some(Strong));
        check("Петров И. И.", Some(Strong));
    }

    #[test]
    fn shapes_without_evidence_are_weak() {
        check("Qwerty Zxcvb", Some(Weak));
        check("苹果手机", Some(Weak));
        check("Москва", Some(Weak));
    }

    #[test]
    fn not_names() {
        check("steel pipe 20mm", None);
        check("Стиральная машина", None);
        check("ORD-2024-0001", None);
        check("A B C D E", None);
        check("", None);
        check("12345", None);
        check("hello world", None);
    }
}
