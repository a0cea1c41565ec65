//! Scanning whole inputs: encodings, formats, bad input, distractors, and the no-raw-values
//! invariant.

use std::io::Read;

use silkgate_scan::{DataCategory, Entity, Format, ScanError, ScanOptions, ScanReport, scan};

fn run(bytes: &[u8]) -> ScanReport {
    scan(bytes, &ScanOptions::default()).expect("scan succeeds")
}

fn entity_of(r: &ScanReport, column: &str) -> Option<Entity> {
    r.columns
        .iter()
        .find(|c| c.name == column)
        .unwrap_or_else(|| {
            panic!(
                "no column {column} in {:?}",
                r.columns.iter().map(|c| &c.name).collect::<Vec<_>>()
            )
        })
        .entity
}

#[test]
fn windows_1251_csv_is_detected_and_decoded() {
    let text = "ФИО;СНИЛС;Город\nИванов Иван Иванович;112-233-445 95;Москва\nСмирнова Анна Петровна;112-233-445 95;Казань\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    let r = run(&bytes);
    assert_eq!(r.encoding, "windows-1251");
    assert_eq!(r.delimiter.as_deref(), Some(";"));
    assert_eq!(entity_of(&r, "ФИО"), Some(Entity::PersonName));
    assert_eq!(entity_of(&r, "СНИЛС"), Some(Entity::RuSnils));
    assert_eq!(entity_of(&r, "Город"), None);
    assert_eq!(r.rows, 2);
}

#[test]
fn gb18030_csv_is_detected_and_decoded() {
    let text = "姓名,手机,身份证号\n王小明,13800138000,11010519491231002X\n李娜,13900139000,11010519491231002X\n";
    let (bytes, _, _) = encoding_rs::GB18030.encode(text);
    let r = run(&bytes);
    assert_eq!(r.encoding, "gb18030");
    assert_eq!(entity_of(&r, "姓名"), Some(Entity::PersonName));
    assert_eq!(entity_of(&r, "手机"), Some(Entity::Phone));
    assert_eq!(entity_of(&r, "身份证号"), Some(Entity::CnResidentId));
}

#[test]
fn utf8_bom_and_tab_delimiter() {
    let r = run("\u{feff}email\tamount\nsomeone@example.kz\t10.5\n".as_bytes());
    assert_eq!(r.delimiter.as_deref(), Some("\t"));
    assert_eq!(entity_of(&r, "email"), Some(Entity::Email));
}

#[test]
fn jsonl_nested_paths_become_columns() {
    let lines = [
        r#"{"customer":{"name":"Karimova Dilnoza","passport":"45 06 123456","phones":["+998 90 123 45 67"]},"order":{"id":1001,"total":12.5}}"#,
        r#"{"customer":{"name":"Tursunov Bekzod","passport":"4507 654321","phones":["+998 91 765 43 21","+998 93 111 22 33"]},"order":{"id":1002,"total":7}}"#,
        "",
        "not json at all",
    ]
    .join("\n");
    let r = run(lines.as_bytes());
    assert_eq!(r.format, Format::Jsonl);
    assert_eq!(r.rows, 2);
    assert_eq!(r.invalid_lines, 1);
    assert_eq!(entity_of(&r, "customer.name"), Some(Entity::PersonName));
    assert_eq!(entity_of(&r, "customer.passport"), Some(Entity::RuPassport));
    assert_eq!(entity_of(&r, "customer.phones[]"), Some(Entity::Phone));
    assert_eq!(entity_of(&r, "order.id"), None);
    assert_eq!(entity_of(&r, "order.total"), None);
    let facts = r.facts();
    assert_eq!(
        facts.entities[&Entity::RuPassport],
        vec!["customer.passport".to_owned()]
    );
    // Two people read, and the invalid line counted as one more: it was not read.
    assert!(!facts.complete);
    assert_eq!(facts.subjects, 3);
}

#[test]
fn binary_input_is_a_clear_error() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
    let err = scan(&png[..], &ScanOptions::default()).unwrap_err();
    assert!(matches!(err, ScanError::NotText { .. }), "{err}");
    assert!(err.to_string().contains("not text"));
    assert!(matches!(
        scan(&b"[1,2,3]"[..], &ScanOptions::default()),
        Err(ScanError::JsonArray)
    ));
}

#[test]
fn truncated_and_empty_inputs_are_read_best_effort() {
    let r = run(b"");
    assert_eq!((r.rows, r.columns.len()), (0, 0));
    assert_eq!(r.categories, vec![DataCategory::NonPersonal]);
    // Cut inside a quoted field: the partial record is still read.
    let r = run(b"email,note\na@example.kz,\"unterminated");
    assert_eq!(r.rows, 1);
    assert_eq!(entity_of(&r, "email"), Some(Entity::Email));
    // Truncated JSON line.
    let r = run(b"{\"email\":\"a@example.kz\"}\n{\"email\":\"b@exa");
    assert_eq!((r.rows, r.invalid_lines), (1, 1));
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let mut bytes = b"email,name\n".to_vec();
    for i in 0..5000 {
        bytes.extend_from_slice(format!("user{i}@example.kz,Ivanov Ivan\n").as_bytes());
    }
    bytes.extend_from_slice(b"bad\xff\xfe@example.kz,Ivanov Ivan\n");
    let r = run(&bytes);
    assert_eq!(r.encoding, "UTF-8", "the first 64 KiB decide");
    assert_eq!(r.invalid_utf8_fields, 1);
    assert_eq!(entity_of(&r, "email"), Some(Entity::Email));
}

/// Yields a CSV header, one line of `len` bytes, and a normal row, without holding the long
/// line in memory.
struct LongLine {
    head: &'static [u8],
    len: usize,
    tail: &'static [u8],
    pos: usize,
}

impl Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let total = self.head.len() + self.len + self.tail.len();
        let mut n = 0;
        while n < buf.len() && self.pos < total {
            let p = self.pos;
            buf[n] = if p < self.head.len() {
                self.head[p]
            } else if p < self.head.len() + self.len {
                b'x'
            } else {
                self.tail[p - self.head.len() - self.len]
            };
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

#[test]
fn a_100_mb_single_line_is_skipped_not_held() {
    let opts = ScanOptions {
        max_record_bytes: 1 << 20,
        ..ScanOptions::default()
    };
    let csv = LongLine {
        head: b"email,note\n",
        len: 100 << 20,
        tail: b"\na@example.kz,ok\n",
        pos: 0,
    };
    let r = scan(csv, &opts).unwrap();
    assert_eq!((r.rows, r.skipped_records), (1, 1));
    assert_eq!(r.bytes, (100 << 20) + 11 + 17);
    let jsonl = LongLine {
        head: b"{\"email\":\"a@example.kz\"}\n{\"note\":\"",
        len: 100 << 20,
        tail: b"\"}\n",
        pos: 0,
    };
    let r = scan(jsonl, &opts).unwrap();
    assert_eq!((r.rows, r.skipped_records), (1, 1));
}

#[test]
fn numbers_passing_a_checksum_by_chance_do_not_label_a_column_but_are_counted() {
    // Sequential 12-digit order numbers: about one in ten passes Verhoeff or an INN digit,
    // a few pass the IIN rule; none of those shares reaches the threshold. A value that
    // passes cannot be told from a real identifier, so it is counted (the review fails
    // closed), but the column is not labelled.
    let mut csv = String::from("order_no,amount,sku\n");
    for i in 0..2000u64 {
        csv.push_str(&format!(
            "{},{}.{:02},SKU-{:05}\n",
            400_000_000_000 + i * 7919,
            i * 3,
            i % 100,
            i
        ));
    }
    let r = run(csv.as_bytes());
    for c in &r.columns {
        assert_eq!(c.entity, None, "{c:?}");
    }
    let aadhaar = r.columns[0]
        .counts
        .iter()
        .find(|k| k.entity == Entity::InAadhaar)
        .expect("chance passes are counted");
    assert!((100..400).contains(&aadhaar.matched), "{aadhaar:?}");
    assert!(r.columns[1].counts.is_empty() && r.columns[2].counts.is_empty());
    assert_eq!(r.categories, vec![DataCategory::Personal]);
    assert_eq!(r.subjects_estimate, r.columns[0].subjects);
    assert!(r.subjects_estimate >= aadhaar.matched * 9 / 10);
}

#[test]
fn reports_never_contain_raw_values() {
    let values = [
        "900101300007",
        "+7 701 234 5678",
        "ivan.petrov@example.kz",
        "Иванов Иван Иванович",
        "4111111111111111",
    ];
    let csv = format!("iin,phone,email,name,card\n{}\n", values.join(","));
    let r = run(csv.as_bytes());
    let json = serde_json::to_string(&r).unwrap();
    for v in values {
        assert!(!json.contains(v), "{v} leaked into {json}");
    }
    assert_eq!(
        r.columns.iter().map(|c| c.entity).collect::<Vec<_>>(),
        vec![
            Some(Entity::KzIin),
            Some(Entity::Phone),
            Some(Entity::Email),
            Some(Entity::PersonName),
            Some(Entity::PaymentCard)
        ]
    );
    assert!(r.categories.contains(&DataCategory::Financial));
}

#[test]
fn headerless_csv_and_organisation_identifiers() {
    let r = run(b"91110000600037341L,1022200525819\n91110000600037341L,1022200525819\n");
    assert_eq!(r.rows, 2, "the first row holds identifiers, so it is data");
    assert_eq!(r.columns[0].entity, Some(Entity::CnUscc));
    assert_eq!(r.columns[1].entity, Some(Entity::RuOgrn));
    assert_eq!(r.categories, vec![DataCategory::NonPersonal]);
    assert_eq!(r.subjects_estimate, 0);
}

#[test]
fn minors_are_counted_against_the_reference_date() {
    let opts = ScanOptions {
        as_of: Some(silkgate_scan::Date {
            year: 2026,
            month: 11,
            day: 26,
        }),
        ..ScanOptions::default()
    };
    let r = scan(
        &b"birth_date\n2015-06-01\n2010-01-01\n1980-05-05\n"[..],
        &opts,
    )
    .unwrap();
    let m = r.minors.unwrap();
    assert_eq!((m.under_14, m.under_18), (1, 2));
    assert!(r.categories.contains(&DataCategory::Children));
    assert!(r.categories.contains(&DataCategory::Sensitive));
}

#[test]
fn header_only_entities() {
    let r = run(b"fingerprint_template,diagnosis\nAAECAwQFBgc=,J45.0\n");
    assert_eq!(r.columns[0].entity, Some(Entity::Biometric));
    assert_eq!(r.columns[1].entity, Some(Entity::Health));
    assert!(r.categories.contains(&DataCategory::Biometric));
    assert!(r.categories.contains(&DataCategory::Health));
}

#[test]
fn detect_in_agrees_with_detect_for_every_wanted_entity() {
    use silkgate_scan::EntitySet;
    use silkgate_scan::corpus::{Corpus, ENTITIES, Kind};
    use silkgate_scan::detect::{detect, detect_in};
    let mut c = Corpus::new(3);
    let kinds: Vec<Kind> = ENTITIES
        .iter()
        .map(|e| Kind::Entity(*e))
        .chain([
            Kind::Amount,
            Kind::OrderNumber,
            Kind::Sku,
            Kind::City,
            Kind::Product,
            Kind::RandomDigits(12),
        ])
        .collect();
    for kind in kinds {
        for row in 0..300 {
            let v = c.value(kind, row);
            let all = detect(&v);
            for &e in ENTITIES {
                let one = detect_in(&v, EntitySet::only(e));
                assert_eq!(
                    one.strong.contains(e),
                    all.strong.contains(e),
                    "{e} strong on {v:?}"
                );
                assert_eq!(
                    one.weak.contains(e),
                    all.weak.contains(e),
                    "{e} weak on {v:?}"
                );
            }
        }
    }
}

/// 5000 IINs, 300 of them replaced by junk after the warm-up, and a notes column that holds
/// text for 1500 rows and then e-mail addresses.
fn long_columns() -> String {
    use silkgate_scan::corpus::Corpus;
    let mut c = Corpus::new(11);
    let mut csv = String::from("iin,notes\n");
    for i in 0..5000u64 {
        let iin = if i >= 2000 && i % 10 == 0 {
            "n/a".to_owned()
        } else {
            c.entity_value(Entity::KzIin)
        };
        let note = if i < 1500 {
            "ok".to_owned()
        } else {
            format!("user{i}@example.kz")
        };
        csv.push_str(&format!("{iin},{note}\n"));
    }
    csv
}

#[test]
fn long_columns_are_pinned_with_exact_counts_when_every_value_is_checked() {
    let opts = ScanOptions {
        check_every: 1,
        ..ScanOptions::default()
    };
    let r = scan(long_columns().as_bytes(), &opts).unwrap();
    let iin = &r.columns[0];
    assert_eq!(iin.entity, Some(Entity::KzIin));
    assert_eq!(iin.checked, 5000, "pinned: every value checked");
    assert_eq!(iin.matched, 5000 - 300);
    assert!(!iin.estimated);
    let notes = &r.columns[1];
    assert_eq!(
        notes.entity, None,
        "e-mails are 70 % of the values, under the 80 % threshold"
    );
    // Not pinned after the warm-up, and still every value checked: exact means exact.
    assert_eq!(notes.checked, notes.non_empty);
    assert!(!notes.estimated);
    let emails = notes
        .counts
        .iter()
        .find(|k| k.entity == Entity::Email)
        .unwrap();
    assert_eq!(
        (emails.matched, emails.estimated, emails.margin),
        (3500, false, 0)
    );
    assert!(r.subjects_estimate >= 4700 * 95 / 100);
    let distinct = iin.distinct_estimate.unwrap() as f64;
    assert!((distinct - 4700.0).abs() < 4700.0 * 0.05, "{distinct}");
    assert_eq!(r.subjects_estimate, iin.distinct_estimate.unwrap());
}

#[test]
fn long_columns_are_sampled_by_default_and_say_their_counts_are_estimates() {
    let r = run(long_columns().as_bytes());
    let iin = &r.columns[0];
    assert_eq!(iin.entity, Some(Entity::KzIin));
    assert!(iin.estimated, "counts extrapolated from a sample");
    // The warm-up (1024 values), then one value in 8 at random, or in 64 for an audit:
    // about 3976 x (1/64 + 63/64 x 1/8) = 551 more.
    assert!(
        (1024 + 470..=1024 + 630).contains(&iin.checked),
        "{} checked",
        iin.checked
    );
    // 300 junk values among the 3976 after the warm-up: the sample sees some of them (a
    // sample of every 8th value would have seen none: they are in every 10th row).
    assert!(
        iin.matched < 5000 && iin.matched.abs_diff(4700) <= 100,
        "{} estimated against 4700 true",
        iin.matched
    );
    assert_eq!(iin.non_empty, 5000);
    // Every value still feeds the sketch: the distinct estimate stays near the true 4700
    // (the junk adds one distinct value), not near the number checked.
    let distinct = iin.distinct_estimate.unwrap() as f64;
    assert!((distinct - 4700.0).abs() < 4700.0 * 0.05, "{distinct}");
    assert_eq!(r.subjects_estimate, iin.distinct_estimate.unwrap());
}

#[test]
fn ages_are_counted_on_every_value_even_when_sampling() {
    use silkgate_scan::Date;
    // 3000 birth dates of adults, and one child born in 2020 at row 2500 (after the warm-up,
    // not a multiple of 8 after it, so a sample would miss it).
    let mut csv = String::from("birth_date\n");
    for i in 0..3000u32 {
        if i == 2500 {
            csv.push_str("2020-05-17\n");
        } else {
            csv.push_str(&format!("{}-0{}-1{}\n", 1950 + i % 40, 1 + i % 9, i % 10));
        }
    }
    let opts = ScanOptions {
        as_of: Some(Date {
            year: 2026,
            month: 11,
            day: 26,
        }),
        ..ScanOptions::default()
    };
    let r = scan(csv.as_bytes(), &opts).unwrap();
    assert_eq!(r.columns[0].entity, Some(Entity::DateOfBirth));
    assert_eq!(
        r.columns[0].checked, 3000,
        "a column giving ages is not sampled"
    );
    assert!(!r.columns[0].estimated);
    let minors = r.minors.unwrap();
    assert_eq!((minors.under_14, minors.under_18), (1, 1));
    assert!(r.categories.contains(&DataCategory::Children));
}
