//! A generator of synthetic, labelled datasets for accuracy tests and benchmarks.
//!
//! Every identifier is built by the algorithm of its detector's source (check digits
//! computed, dates valid), from random digits: no value belongs to a real person except by
//! coincidence. Names are drawn from frequency lists of common names and surname patterns
//! of each language; these overlap the detector's own lists (as real names overlap any
//! frequency list), so name accuracy here measures the rules on plausible data, not
//! recognition of unseen names. Each labelled column carries noise (empty cells and junk
//! such as `n/a`), and distractor columns (amounts, order numbers, SKUs, numbers with a
//! failing check digit, dates that are not birth dates, cities, products) carry no label.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::detect::{card, india};
use crate::entity::Entity;

/// One column of a generated dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Header text.
    pub header: String,
    /// The entity the column holds (`None` for distractors).
    pub label: Option<Entity>,
    /// What generates its values.
    pub kind: Kind,
}

/// Value generators: one per entity, plus distractors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Values of this entity.
    Entity(Entity),
    /// Decimal amounts.
    Amount,
    /// Sequential order numbers of 8 to 16 digits.
    OrderNumber,
    /// Stock-keeping codes such as `SKU-01234-XL`.
    Sku,
    /// Numbers shaped like a checksum identifier whose check digit is wrong.
    FailingChecksum(Entity),
    /// Dates that are not birth dates (order dates), under a non-birth header.
    EventDate,
    /// City names.
    City,
    /// Product names.
    Product,
    /// Small integers (quantities).
    Quantity,
    /// Random numbers of an identifier's length (9-19 digits): about one in ten passes a
    /// check digit by chance.
    RandomDigits(u8),
    /// Company names.
    Company,
    /// Free-text comments.
    Comment,
}

/// The entities the corpus covers, with the headers a real dataset would use for them
/// (several languages) and whether their values alone can label a column.
fn headers(e: Entity) -> &'static [&'static str] {
    use Entity::*;
    match e {
        CnResidentId => &["身份证号", "公民身份号码", "id_card"],
        CnUscc => &["统一社会信用代码", "uscc"],
        KzIin => &["ИИН", "ЖСН", "iin"],
        KzBin => &["БИН", "bin"],
        RuInn => &["ИНН", "inn"],
        RuSnils => &["СНИЛС", "snils"],
        RuOgrn => &["ОГРН", "ogrn"],
        RuPassport => &["Паспорт", "passport", "серия и номер"],
        InAadhaar => &["aadhaar", "आधार", "aadhaar_no"],
        InPan => &["PAN", "pan_number"],
        PkCnic => &["CNIC", "قومی شناختی کارڈ"],
        UzPinfl => &["ПИНФЛ", "JShShIR", "pinfl"],
        KgPin => &["ПИН", "pin"],
        TjId => &["рақами мушаххас", "tj_id"],
        IrNationalCode => &["کد ملی", "national_code"],
        ByPersonalNumber => &["личный номер", "personal_number"],
        ByUnp => &["УНП", "unp"],
        PaymentCard => &["card_number", "номер карты", "卡号"],
        Iban => &["IBAN", "счёт"],
        Phone => &["Телефон", "手机", "phone", "تلفن", "मोबाइल", "telefon"],
        Email => &["email", "邮箱", "электронная почта"],
        DateOfBirth => &[
            "Дата рождения",
            "出生日期",
            "birth_date",
            "tug'ilgan sana",
            "تاریخ تولد",
            "जन्म तिथि",
            "Туған күні",
        ],
        Gender => &["Пол", "性别", "gender", "جنسیت", "लिंग"],
        PersonName => &[
            "ФИО",
            "姓名",
            "aty-jóni",
            "نام",
            "नाम",
            "full_name",
            "Ism familiya",
            "Аты-жөнү",
            "Ному насаб",
        ],
        _ => &["value"],
    }
}

/// Entities whose values carry proof (check digit or distinctive form), so a column of
/// them is labelled without header evidence; the others always get a header.
fn value_evident(e: Entity) -> bool {
    !matches!(
        e,
        Entity::DateOfBirth | Entity::TjId | Entity::RuPassport | Entity::PkCnic
    )
}

/// Entities the corpus generates.
pub const ENTITIES: &[Entity] = &[
    Entity::CnResidentId,
    Entity::CnUscc,
    Entity::KzIin,
    Entity::KzBin,
    Entity::RuInn,
    Entity::RuSnils,
    Entity::RuOgrn,
    Entity::RuPassport,
    Entity::InAadhaar,
    Entity::InPan,
    Entity::PkCnic,
    Entity::UzPinfl,
    Entity::KgPin,
    Entity::TjId,
    Entity::IrNationalCode,
    Entity::ByPersonalNumber,
    Entity::ByUnp,
    Entity::PaymentCard,
    Entity::Iban,
    Entity::Phone,
    Entity::Email,
    Entity::DateOfBirth,
    Entity::Gender,
    Entity::PersonName,
];

/// Checksum entities that distractor columns imitate with a wrong check digit.
const FAILING: &[Entity] = &[
    Entity::KzIin,
    Entity::RuInn,
    Entity::RuSnils,
    Entity::InAadhaar,
    Entity::PaymentCard,
    Entity::IrNationalCode,
    Entity::CnResidentId,
    Entity::UzPinfl,
];

/// A deterministic generator of labelled datasets.
#[derive(Debug)]
pub struct Corpus {
    rng: StdRng,
}

impl Corpus {
    /// A generator with a fixed seed (same seed, same corpus).
    pub fn new(seed: u64) -> Self {
        Corpus {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The columns of one dataset: `labelled` entity columns chosen at random (each with a
    /// language-specific or, for value-evident entities half the time, a neutral header)
    /// and `distractors` unlabelled columns.
    pub fn dataset_columns(&mut self, labelled: usize, distractors: usize) -> Vec<ColumnSpec> {
        let mut cols = Vec::new();
        for i in 0..labelled {
            let e = ENTITIES[self.rng.gen_range(0..ENTITIES.len())];
            let hs = headers(e);
            let header = if value_evident(e) && self.rng.gen_bool(0.5) {
                format!("col_{}", cols.len() + i + 1)
            } else {
                hs[self.rng.gen_range(0..hs.len())].to_owned()
            };
            cols.push(ColumnSpec {
                header,
                label: Some(e),
                kind: Kind::Entity(e),
            });
        }
        for _ in 0..distractors {
            let (kind, names): (Kind, &[&str]) = match self.rng.gen_range(0..12) {
                0 => (Kind::Amount, &["amount", "Сумма", "金额", "total"]),
                1 => (
                    Kind::OrderNumber,
                    &["order_no", "Номер заказа", "订单号", "reference"],
                ),
                2 => (Kind::Sku, &["sku", "Артикул", "item_code"]),
                3 | 4 => {
                    let e = FAILING[self.rng.gen_range(0..FAILING.len())];
                    (
                        Kind::FailingChecksum(e),
                        &["code", "reference", "document_no", "col_x"],
                    )
                }
                5 => (
                    Kind::EventDate,
                    &["order_date", "Дата заказа", "下单日期", "created"],
                ),
                6 => (Kind::City, &["city", "Город", "城市", "shahar"]),
                7 => (Kind::Product, &["product", "Товар", "产品", "item"]),
                8 => (Kind::Quantity, &["qty", "Количество", "数量"]),
                9 => (
                    Kind::RandomDigits(self.rng.gen_range(9..=19)),
                    &["ref_no", "tracking", "barcode", "col_y"],
                ),
                10 => (Kind::Company, &["supplier", "Поставщик", "供应商", "buyer"]),
                _ => (Kind::Comment, &["comment", "Примечание", "备注", "notes"]),
            };
            let header = names[self.rng.gen_range(0..names.len())].to_owned();
            cols.push(ColumnSpec {
                header,
                label: None,
                kind,
            });
        }
        // Shuffle so labelled and distractor columns interleave.
        for i in (1..cols.len()).rev() {
            let j = self.rng.gen_range(0..=i);
            cols.swap(i, j);
        }
        cols
    }

    /// One value of `kind` for row `row`, with noise: about 3 % empty and 2 % junk for
    /// entity columns.
    pub fn value(&mut self, kind: Kind, row: u64) -> String {
        if let Kind::Entity(e) = kind {
            let r: f64 = self.rng.r#gen();
            if r < 0.03 {
                return String::new();
            }
            if r < 0.05 {
                return ["n/a", "-", "unknown", "?", "0"][self.rng.gen_range(0..5)].to_owned();
            }
            return self.entity_value(e);
        }
        match kind {
            Kind::Amount => format!(
                "{}.{:02}",
                self.rng.gen_range(0..100_000),
                self.rng.gen_range(0..100)
            ),
            Kind::OrderNumber => (10_000_000 + row * 7 + self.rng.gen_range(0..7)).to_string(),
            Kind::Sku => format!(
                "SKU-{:05}-{}",
                self.rng.gen_range(0..100_000),
                ["S", "M", "L", "XL"][self.rng.gen_range(0..4)]
            ),
            Kind::FailingChecksum(e) => self.failing(e),
            Kind::EventDate => {
                let (y, m, d) = self.date(2015, 2025);
                format!("{y:04}-{m:02}-{d:02}")
            }
            Kind::City => pick(&mut self.rng, CITIES).to_owned(),
            Kind::Product => pick(&mut self.rng, PRODUCTS).to_owned(),
            Kind::Quantity => self.rng.gen_range(1..500).to_string(),
            Kind::RandomDigits(n) => {
                let mut d = self.digits(usize::from(n));
                d[0] = self.rng.gen_range(1..10);
                d.iter().map(|x| char::from(b'0' + *x as u8)).collect()
            }
            Kind::Company => pick(&mut self.rng, COMPANIES).to_owned(),
            Kind::Comment => pick(&mut self.rng, COMMENTS).to_owned(),
            Kind::Entity(_) => unreachable!("handled above"),
        }
    }

    fn digits(&mut self, n: usize) -> Vec<u32> {
        (0..n).map(|_| self.rng.gen_range(0..10)).collect()
    }

    fn date(&mut self, from: u32, to: u32) -> (u32, u32, u32) {
        let y = self.rng.gen_range(from..=to);
        let m = self.rng.gen_range(1..=12);
        let d = self.rng.gen_range(1..=28);
        (y, m, d)
    }

    /// A valid value of `e`, built by its algorithm.
    pub fn entity_value(&mut self, e: Entity) -> String {
        use Entity::*;
        let s = |d: &[u32]| {
            d.iter()
                .map(|x| char::from(b'0' + *x as u8))
                .collect::<String>()
        };
        match e {
            CnResidentId => {
                let region = pick(
                    &mut self.rng,
                    &["110101", "310104", "440305", "510107", "650102", "320106"],
                );
                let (y, m, d) = self.date(1940, 2012);
                let body = format!(
                    "{region}{y:04}{m:02}{d:02}{:03}",
                    self.rng.gen_range(0..1000)
                );
                let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
                let sum: u32 = body
                    .bytes()
                    .zip(w)
                    .map(|(b, w)| u32::from(b - b'0') * w)
                    .sum();
                format!("{body}{}", char::from(b"10X98765432"[(sum % 11) as usize]))
            }
            CnUscc => {
                const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
                let region = pick(&mut self.rng, &["110000", "310000", "440300", "510100"]);
                let mut body = format!("91{region}");
                for _ in 0..9 {
                    body.push(char::from(A[self.rng.gen_range(0..31)]));
                }
                let w = [
                    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
                ];
                let sum: u32 = body
                    .bytes()
                    .zip(w)
                    .map(|(c, w)| A.iter().position(|a| *a == c).unwrap() as u32 * w)
                    .sum();
                format!("{body}{}", char::from(A[((31 - sum % 31) % 31) as usize]))
            }
            KzIin => loop {
                let (y, m, d) = self.date(1940, 2012);
                let century = if y >= 2000 { 5 } else { 3 } + self.rng.gen_range(0..2);
                let body = format!(
                    "{:02}{m:02}{d:02}{century}{:04}",
                    y % 100,
                    self.rng.gen_range(0..10_000)
                );
                if let Some(c) = kz_check(&body) {
                    break format!("{body}{c}");
                }
            },
            KzBin => loop {
                let body = format!(
                    "{:02}{:02}{}{}{:05}",
                    self.rng.gen_range(0..26),
                    self.rng.gen_range(1..=12),
                    self.rng.gen_range(4..=6),
                    self.rng.gen_range(0..=3),
                    self.rng.gen_range(0..100_000)
                );
                if let Some(c) = kz_check(&body) {
                    break format!("{body}{c}");
                }
            },
            RuInn => {
                let mut d = self.digits(10);
                d[0] = self.rng.gen_range(1..10);
                let c11 = wsum(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10;
                d.push(c11);
                let c12 = wsum(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) % 11 % 10;
                d.push(c12);
                s(&d)
            }
            RuSnils => {
                let d = self.digits(9);
                let sum = wsum(&d, &[9, 8, 7, 6, 5, 4, 3, 2, 1]);
                let c = match sum {
                    0..=99 => sum,
                    100 | 101 => 0,
                    _ => match sum % 101 {
                        100 => 0,
                        r => r,
                    },
                };
                let t = s(&d);
                if self.rng.gen_bool(0.5) {
                    format!("{}-{}-{} {c:02}", &t[..3], &t[3..6], &t[6..])
                } else {
                    format!("{t}{c:02}")
                }
            }
            RuOgrn => {
                let mut d = self.digits(12);
                d[0] = if self.rng.gen_bool(0.5) { 1 } else { 5 };
                let rem = d.iter().fold(0u64, |a, x| (a * 10 + u64::from(*x)) % 11);
                d.push((rem % 10) as u32);
                s(&d)
            }
            RuPassport => {
                let t = s(&self.digits(10));
                if self.rng.gen_bool(0.5) {
                    format!("{} {} {}", &t[..2], &t[2..4], &t[4..])
                } else {
                    format!("{} {}", &t[..4], &t[4..])
                }
            }
            InAadhaar => loop {
                let mut d = self.digits(11);
                d[0] = self.rng.gen_range(2..10);
                let c = (0..10).find(|c| {
                    let mut v = d.clone();
                    v.push(*c);
                    india::verhoeff(&v)
                });
                d.push(c.expect("one Verhoeff digit fits"));
                if d.iter().eq(d.iter().rev()) {
                    continue;
                }
                let t = s(&d);
                break if self.rng.gen_bool(0.5) {
                    format!("{} {} {}", &t[..4], &t[4..8], &t[8..])
                } else {
                    t
                };
            },
            InPan => {
                let l = |r: &mut StdRng| char::from(b'A' + r.gen_range(0..26));
                let mut p: String = (0..3).map(|_| l(&mut self.rng)).collect();
                p.push('P');
                p.push(l(&mut self.rng));
                p.push_str(&format!("{:04}", self.rng.gen_range(1..10_000)));
                p.push(l(&mut self.rng));
                p
            }
            PkCnic => {
                let mut d = self.digits(13);
                d[0] = self.rng.gen_range(1..=7);
                let t = s(&d);
                format!("{}-{}-{}", &t[..5], &t[5..12], &t[12..])
            }
            UzPinfl => {
                let (y, m, d) = self.date(1940, 2012);
                let sex = if y >= 2000 { 5 } else { 3 } + self.rng.gen_range(0..2);
                let body = format!(
                    "{sex}{d:02}{m:02}{:02}{:03}{:03}",
                    y % 100,
                    self.rng.gen_range(1..1000),
                    self.rng.gen_range(0..1000)
                );
                let dv: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
                let c: u32 = dv
                    .iter()
                    .zip([7, 3, 1].iter().cycle())
                    .map(|(x, w)| x * w)
                    .sum::<u32>()
                    % 10;
                format!("{body}{c}")
            }
            KgPin => {
                let (y, m, d) = self.date(1940, 2012);
                format!(
                    "{}{d:02}{m:02}{y:04}{:05}",
                    self.rng.gen_range(1..=2),
                    self.rng.gen_range(0..100_000)
                )
            }
            TjId => format!(
                "{}{:08}",
                self.rng.gen_range(1..10),
                self.rng.gen_range(0..100_000_000)
            ),
            IrNationalCode => loop {
                let d = self.digits(9);
                if d.iter().all(|x| *x == d[0]) {
                    continue;
                }
                let r = wsum(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11;
                let c = if r < 2 { r } else { 11 - r };
                break format!("{}{c}", s(&d));
            },
            ByPersonalNumber => {
                let (y, m, d) = self.date(1940, 2012);
                let region = char::from(b"ABCEHKM"[self.rng.gen_range(0..7)]);
                let body = format!(
                    "{}{d:02}{m:02}{:02}{region}{:03}PB",
                    self.rng.gen_range(3..=6),
                    y % 100,
                    self.rng.gen_range(0..1000)
                );
                let v = |c: u8| {
                    if c.is_ascii_digit() {
                        u32::from(c - b'0')
                    } else {
                        u32::from(c - b'A') + 10
                    }
                };
                let sum: u32 = body
                    .bytes()
                    .zip([7, 3, 1].iter().cycle())
                    .map(|(c, w)| v(c) * w)
                    .sum();
                format!("{body}{}", sum % 10)
            }
            ByUnp => loop {
                let mut d = self.digits(8);
                d[0] = self.rng.gen_range(1..=7);
                let c = wsum(&d, &[29, 23, 19, 17, 13, 7, 5, 3]) % 11;
                if c < 10 {
                    break format!("{}{c}", s(&d));
                }
            },
            PaymentCard => {
                let prefix = pick(
                    &mut self.rng,
                    &[
                        "4", "51", "55", "2200", "2201", "9860", "8600", "62", "60", "6521",
                    ],
                );
                let mut d: Vec<u32> = prefix.bytes().map(|b| u32::from(b - b'0')).collect();
                while d.len() < 15 {
                    d.push(self.rng.gen_range(0..10));
                }
                let c = (0..10).find(|c| {
                    let mut v = d.clone();
                    v.push(*c);
                    card::luhn(&v)
                });
                d.push(c.expect("one Luhn digit fits"));
                let t = s(&d);
                if self.rng.gen_bool(0.3) {
                    format!("{} {} {} {}", &t[..4], &t[4..8], &t[8..12], &t[12..])
                } else {
                    t
                }
            }
            Iban => {
                // Kazakhstan layout: KZ, 2 check digits, 3-digit bank code, 13 characters.
                let mut bban = format!("{:03}", self.rng.gen_range(0..1000));
                for _ in 0..13 {
                    let c = if self.rng.gen_bool(0.8) {
                        b'0' + self.rng.gen_range(0..10)
                    } else {
                        b'A' + self.rng.gen_range(0..26)
                    };
                    bban.push(char::from(c));
                }
                let rearranged = format!("{bban}KZ00");
                let mut rem = 0u32;
                for c in rearranged.bytes() {
                    rem = if c.is_ascii_digit() {
                        (rem * 10 + u32::from(c - b'0')) % 97
                    } else {
                        (rem * 100 + u32::from(c - b'A') + 10) % 97
                    };
                }
                format!("KZ{:02}{bban}", 98 - rem)
            }
            Phone => self.phone(),
            Email => {
                let user = pick(
                    &mut self.rng,
                    &[
                        "ivan",
                        "aigerim",
                        "li.na",
                        "rahul",
                        "dilnoza",
                        "ali",
                        "user",
                        "info",
                        "m.karimov",
                        "wang",
                    ],
                );
                let domain = pick(
                    &mut self.rng,
                    &[
                        "example.kz",
                        "mail.example.ru",
                        "example.cn",
                        "example.uz",
                        "example.in",
                        "example.com",
                    ],
                );
                format!("{user}{}@{domain}", self.rng.gen_range(1..100_000))
            }
            DateOfBirth => {
                let (y, m, d) = self.date(1940, 2012);
                match self.rng.gen_range(0..4) {
                    0 => format!("{y:04}-{m:02}-{d:02}"),
                    1 => format!("{d:02}.{m:02}.{y:04}"),
                    2 => format!("{d:02}/{m:02}/{y:04}"),
                    _ => format!("{y}年{m}月{d}日"),
                }
            }
            Gender => {
                let set = pick(
                    &mut self.rng,
                    &[
                        &["M", "F"][..],
                        &["male", "female"],
                        &["муж", "жен"],
                        &["男", "女"],
                        &["erkak", "ayol"],
                        &["مرد", "زن"],
                        &["पुरुष", "महिला"],
                    ],
                );
                pick(&mut self.rng, set).to_owned()
            }
            PersonName => self.name(),
            other => panic!("the corpus does not generate {other}"),
        }
    }

    fn phone(&mut self) -> String {
        let n = |r: &mut StdRng, k: usize| {
            (0..k)
                .map(|_| char::from(b'0' + r.gen_range(0..10)))
                .collect::<String>()
        };
        match self.rng.gen_range(0..10) {
            0 => format!(
                "+86 13{} {} {}",
                n(&mut self.rng, 1),
                n(&mut self.rng, 4),
                n(&mut self.rng, 4)
            ),
            1 => format!("+91 9{} {}", n(&mut self.rng, 4), n(&mut self.rng, 5)),
            2 => format!("+98 912 {} {}", n(&mut self.rng, 3), n(&mut self.rng, 4)),
            3 => format!(
                "+7 70{} {} {}",
                n(&mut self.rng, 1),
                n(&mut self.rng, 3),
                n(&mut self.rng, 4)
            ),
            4 => format!(
                "8 (9{}) {}-{}-{}",
                n(&mut self.rng, 2),
                n(&mut self.rng, 3),
                n(&mut self.rng, 2),
                n(&mut self.rng, 2)
            ),
            5 => format!("+996 555 {}", n(&mut self.rng, 6)),
            6 => format!("0300-{}", n(&mut self.rng, 7)),
            7 => format!("+992 93 {} {}", n(&mut self.rng, 3), n(&mut self.rng, 4)),
            8 => format!(
                "+998 90 {} {} {}",
                n(&mut self.rng, 3),
                n(&mut self.rng, 2),
                n(&mut self.rng, 2)
            ),
            _ => format!(
                "+375 29 {}-{}-{}",
                n(&mut self.rng, 3),
                n(&mut self.rng, 2),
                n(&mut self.rng, 2)
            ),
        }
    }

    fn name(&mut self) -> String {
        let r = &mut self.rng;
        match r.gen_range(0..10) {
            0 => {
                let female = r.gen_bool(0.5);
                let sur = pick(r, RU_SURNAMES);
                let (given, pat) = if female {
                    (pick(r, RU_FEMALE), patronymic(pick(r, RU_MALE), true))
                } else {
                    (pick(r, RU_MALE), patronymic(pick(r, RU_MALE), false))
                };
                let sur = if female {
                    format!("{sur}а")
                } else {
                    sur.to_owned()
                };
                format!("{sur} {given} {pat}")
            }
            1 => {
                let female = r.gen_bool(0.5);
                let sur = pick(r, KZ_SURNAMES);
                let given = if female {
                    pick(r, KZ_FEMALE)
                } else {
                    pick(r, KZ_MALE)
                };
                if r.gen_bool(0.3) {
                    let father = pick(r, KZ_MALE);
                    format!("{given} {father}{}", if female { "қызы" } else { "ұлы" })
                } else {
                    format!("{sur}{} {given}", if female { "а" } else { "" })
                }
            }
            2 => {
                let sur = pick(r, CN_SURNAMES_GEN);
                let n = r.gen_range(1..=2);
                let given: String = (0..n).map(|_| pick(r, CN_GIVEN)).collect();
                format!("{sur}{given}")
            }
            3 => format!("{} {}", pick(r, FA_GIVEN), pick(r, FA_SURNAMES)),
            4 => format!("{} {}", pick(r, HI_GIVEN), pick(r, HI_SURNAMES)),
            5 => {
                let female = r.gen_bool(0.5);
                let sur = pick(r, UZ_SURNAMES_LATIN);
                if female {
                    format!("{sur}a {}", pick(r, UZ_FEMALE_LATIN))
                } else if r.gen_bool(0.3) {
                    format!(
                        "{} {} o‘g‘li",
                        pick(r, UZ_MALE_LATIN),
                        pick(r, UZ_MALE_LATIN)
                    )
                } else {
                    format!("{sur} {}", pick(r, UZ_MALE_LATIN))
                }
            }
            6 => format!("{} {}", pick(r, SA_GIVEN_LATIN), pick(r, SA_SURNAMES_LATIN)),
            7 => format!("{} {}", pick(r, PINYIN_SURNAMES), pick(r, PINYIN_GIVEN)),
            8 => {
                // Kyrgyz and Tajik, Cyrillic.
                if r.gen_bool(0.5) {
                    format!("{} {}", pick(r, KG_SURNAMES), pick(r, KG_GIVEN))
                } else {
                    format!("{} {}", pick(r, TJ_SURNAMES), pick(r, TJ_GIVEN))
                }
            }
            _ => format!("{} {}", pick(r, UR_GIVEN), pick(r, UR_SURNAMES)),
        }
    }

    fn failing(&mut self, e: Entity) -> String {
        let valid = self.entity_value(e);
        let compact: String = valid
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        // Change the check digit to another value; the result fails the check.
        let mut chars: Vec<char> = compact.chars().collect();
        let last = chars.len() - 1;
        let old = chars[last];
        let new = loop {
            let c = char::from(b'0' + self.rng.gen_range(0..10));
            if c != old {
                break c;
            }
        };
        chars[last] = new;
        chars.into_iter().collect()
    }

    /// A whole dataset as CSV text with its column specs.
    pub fn csv(
        &mut self,
        labelled: usize,
        distractors: usize,
        rows: u64,
    ) -> (Vec<ColumnSpec>, String) {
        let cols = self.dataset_columns(labelled, distractors);
        let mut out = String::new();
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        w.write_record(cols.iter().map(|c| c.header.as_str()))
            .expect("write to memory");
        for row in 0..rows {
            let rec: Vec<String> = cols.iter().map(|c| self.value(c.kind, row)).collect();
            w.write_record(&rec).expect("write to memory");
        }
        out.push_str(&String::from_utf8(w.into_inner().expect("flush to memory")).expect("UTF-8"));
        (cols, out)
    }
}

fn wsum(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(x, w)| x * w).sum()
}

fn kz_check(body: &str) -> Option<u32> {
    let d: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    let first = d.iter().zip(1..).map(|(x, w)| x * w).sum::<u32>() % 11;
    if first != 10 {
        return Some(first);
    }
    let second = wsum(&d, &[3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]) % 11;
    (second != 10).then_some(second)
}

fn pick<'a, T: ?Sized>(r: &mut StdRng, items: &[&'a T]) -> &'a T {
    items[r.gen_range(0..items.len())]
}

fn patronymic(father: &str, female: bool) -> String {
    let (stem, soft) = match father.strip_suffix('й') {
        Some(s) => (s, true),
        None => (father, false),
    };
    match (soft, female) {
        (true, false) => format!("{stem}евич"),
        (true, true) => format!("{stem}евна"),
        (false, false) => format!("{stem}ович"),
        (false, true) => format!("{stem}овна"),
    }
}

const RU_SURNAMES: &[&str] = &[
    "Кузнецов",
    "Волков",
    "Зайцев",
    "Лебедев",
    "Морозов",
    "Новиков",
    "Павлов",
    "Семёнов",
    "Фёдоров",
    "Яковлев",
    "Соловьёв",
    "Виноградов",
    "Богданов",
    "Воробьёв",
    "Фролов",
    "Баранов",
    "Ершов",
    "Никитин",
    "Калинин",
    "Карпов",
    "Орлов",
    "Андреев",
    "Макаров",
    "Захаров",
    "Борисов",
    "Романов",
    "Гусев",
    "Титов",
    "Куликов",
    "Беляев",
];
const RU_MALE: &[&str] = &[
    "Иван",
    "Сергей",
    "Глеб",
    "Тимофей",
    "Ярослав",
    "Олег",
    "Роман",
    "Степан",
    "Андрей",
    "Николай",
    "Борис",
    "Виктор",
    "Григорий",
    "Матвей",
    "Фёдор",
];
const RU_FEMALE: &[&str] = &[
    "Дарья",
    "Полина",
    "Вера",
    "Ксения",
    "Алина",
    "Мария",
    "Ольга",
    "Елена",
    "Софья",
    "Варвара",
    "Людмила",
    "Галина",
];
const KZ_SURNAMES: &[&str] = &[
    "Нурланов",
    "Сериков",
    "Жумабаев",
    "Ахметов",
    "Касымов",
    "Оспанов",
    "Искаков",
    "Абенов",
    "Бекмуханов",
    "Тулегенов",
    "Сагинтаев",
    "Мусин",
];
const KZ_MALE: &[&str] = &[
    "Арман",
    "Ерлан",
    "Даурен",
    "Нурлан",
    "Асхат",
    "Бауыржан",
    "Ержан",
    "Мирас",
    "Алмас",
    "Санжар",
];
const KZ_FEMALE: &[&str] = &[
    "Айгерим",
    "Аружан",
    "Динара",
    "Жанар",
    "Салтанат",
    "Меруерт",
    "Асель",
    "Камила",
    "Томирис",
];
const CN_SURNAMES_GEN: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "欧阳",
    "司马",
];
const CN_GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "华", "玉", "兰", "萍", "红", "建", "文", "辉", "鑫", "宇", "浩",
    "欣", "怡", "梓", "轩",
];
const FA_GIVEN: &[&str] = &[
    "علی",
    "محمد",
    "زهرا",
    "فاطمه",
    "مریم",
    "حسین",
    "رضا",
    "سارا",
    "نرگس",
    "امیر",
    "مهدی",
    "کیان",
    "یاسمن",
    "پریسا",
];
const FA_SURNAMES: &[&str] = &[
    "احمدی",
    "رضایی",
    "کریمی",
    "موسوی",
    "حسینی",
    "محمدی",
    "حسین‌زاده",
    "علی‌پور",
    "کاظمیان",
    "جعفری",
    "صادقی",
    "رحیمی",
    "نوری",
    "قاسم‌زاده",
];
const HI_GIVEN: &[&str] = &[
    "राहुल",
    "अमित",
    "प्रिया",
    "सुनीता",
    "रोहित",
    "अंजलि",
    "विजय",
    "नेहा",
    "संजय",
    "पूजा",
    "आरती",
    "मनोज",
];
const HI_SURNAMES: &[&str] = &[
    "शर्मा",
    "सिंह",
    "गुप्ता",
    "वर्मा",
    "यादव",
    "मिश्रा",
    "कुमार",
    "पटेल",
    "जैन",
    "तिवारी",
];
const UZ_SURNAMES_LATIN: &[&str] = &[
    "Karimov",
    "Tursunov",
    "Rahimov",
    "Yusupov",
    "Abdullayev",
    "Mirzayev",
    "Xolmatov",
    "Ergashev",
    "Sobirov",
    "Nazarov",
];
const UZ_MALE_LATIN: &[&str] = &[
    "Jasur",
    "Bekzod",
    "Sardor",
    "Alisher",
    "Rustam",
    "Otabek",
    "Sherzod",
    "Ulug‘bek",
    "Javohir",
    "Dilshod",
];
const UZ_FEMALE_LATIN: &[&str] = &[
    "Dilnoza", "Malika", "Nodira", "Gulnora", "Zarina", "Mohira", "Shahnoza", "Sevara",
];
const SA_GIVEN_LATIN: &[&str] = &[
    "Rahul", "Amit", "Priya", "Sunita", "Imran", "Ayesha", "Bilal", "Fatima", "Rajesh", "Neha",
    "Usman", "Sana",
];
const SA_SURNAMES_LATIN: &[&str] = &[
    "Sharma", "Singh", "Gupta", "Patel", "Khan", "Verma", "Reddy", "Yadav", "Mehta", "Qureshi",
];
const PINYIN_SURNAMES: &[&str] = &[
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Zhou", "Xu",
];
const PINYIN_GIVEN: &[&str] = &[
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yong", "Jie", "Tao", "Ming", "Xiaoming",
    "Hao", "Yu",
];
const KG_SURNAMES: &[&str] = &[
    "Асанов",
    "Садыков",
    "Токтогулов",
    "Жээнбеков",
    "Мамытов",
    "Осмонова",
    "Алиева",
];
const KG_GIVEN: &[&str] = &[
    "Азамат",
    "Нурбек",
    "Айбек",
    "Бакыт",
    "Чолпон",
    "Айнура",
    "Бермет",
    "Эрмек",
];
const TJ_SURNAMES: &[&str] = &[
    "Раҳмонов",
    "Шарипова",
    "Назаров",
    "Раҳимзода",
    "Саидов",
    "Каримова",
    "Ҳасанов",
];
const TJ_GIVEN: &[&str] = &[
    "Фирдавс",
    "Фарҳод",
    "Шаҳло",
    "Манижа",
    "Даврон",
    "Баҳром",
    "Парвиз",
    "Нигора",
];
const UR_GIVEN: &[&str] = &[
    "محمد",
    "عمران",
    "بلال",
    "عثمان",
    "عائشہ",
    "زینب",
    "حمزہ",
    "آصف",
    "ثنا",
    "فاطمہ",
];
const UR_SURNAMES: &[&str] = &[
    "خان",
    "احمد",
    "قریشی",
    "چوہدری",
    "ملک",
    "بٹ",
    "اعوان",
    "شیخ",
];
const CITIES: &[&str] = &[
    "Москва",
    "Алматы",
    "Ташкент",
    "Бишкек",
    "Душанбе",
    "Минск",
    "北京",
    "上海",
    "Tehran",
    "Karachi",
    "Mumbai",
    "Astana",
    "Samarqand",
    "Казань",
    "Саратов",
];
const COMPANIES: &[&str] = &[
    "ООО Ромашка",
    "Alpha Trading LLC",
    "Silk Road Logistics",
    "АО Казахтелеком",
    "华为技术有限公司",
    "Tashkent Textile JSC",
    "Pars Petrochemical Co",
    "Indus Motors Ltd",
    "ТОО Астана Строй",
    "Минский тракторный завод",
];
const COMMENTS: &[&str] = &[
    "Доставка до двери",
    "deliver after 6 pm",
    "请尽快发货",
    "оплата при получении",
    "Call before delivery",
    "fragile, handle with care",
    "повторный заказ",
    "需要发票",
    "no comment",
    "Gift wrap please",
];
const PRODUCTS: &[&str] = &[
    "Steel pipe 20mm",
    "Cotton fabric",
    "Молоко пастеризованное",
    "Стиральная машина",
    "苹果手机",
    "华为手机",
    "绿茶",
    "Wheat flour",
    "Solar panel 300W",
    "Apple juice",
    "Ceramic tiles",
    "Пшеница",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::detect;

    #[test]
    fn generated_identifiers_pass_their_detectors_and_failing_ones_do_not() {
        let mut c = Corpus::new(1);
        for &e in ENTITIES {
            for _ in 0..200 {
                let v = c.entity_value(e);
                let d = detect(&v);
                assert!(d.all().contains(e), "{e}: {v} not detected ({d:?})");
            }
        }
        for &e in FAILING {
            for _ in 0..200 {
                let v = c.failing(e);
                assert!(
                    !detect(&v).strong.contains(e),
                    "{e}: failing value {v} passed"
                );
            }
        }
    }
}
