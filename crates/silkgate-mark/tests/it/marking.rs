//! What marking changes, and what it must not.

use silkgate_mark::{MarkError, Table, mark};

use crate::common::{dataset, delivery, key, params};

fn cents(s: &str, decimals: u32) -> i64 {
    (s.parse::<f64>().unwrap() * 10f64.powi(decimals as i32)).round() as i64
}

#[test]
fn changes_only_allowed_columns_within_their_bound() {
    let table = dataset(1);
    let mut p = params();
    p.canary_records = 0;
    let marked = mark(&key(), &table, &delivery(0), &p).unwrap();
    assert_eq!(marked.table.columns, table.columns);
    assert_eq!(marked.table.rows.len(), table.rows.len());
    let mut changed = 0;
    for (orig, new) in table.rows.iter().zip(&marked.table.rows) {
        for (ci, name) in table.columns.iter().enumerate() {
            let (a, b) = (orig[ci].as_text().unwrap(), new[ci].as_text().unwrap());
            match p.columns.iter().find(|c| &c.column == name) {
                None => assert_eq!(a, b, "column {name} must not change"),
                Some(rule) => {
                    let d = (cents(a, rule.decimals) - cents(b, rule.decimals)).abs();
                    assert!(
                        d <= i64::from(rule.max_change_units),
                        "{name}: {a} -> {b} moves {d} units, bound {}",
                        rule.max_change_units
                    );
                    changed += usize::from(a != b);
                }
            }
        }
    }
    let s = &marked.summary;
    assert_eq!(s.cells_eligible, 3000);
    assert_eq!(changed as u64, s.cells_changed);
    // About half the cells are selected; of those, most need a change.
    assert!((1200..1800).contains(&s.cells_marked), "{s:?}");
    assert!(s.cells_changed > s.cells_marked / 3, "{s:?}");
    assert!(s.columns_absent.is_empty());
}

#[test]
fn copies_differ_between_recipients_and_repeat_for_one() {
    let table = dataset(2);
    let a = mark(&key(), &table, &delivery(0), &params()).unwrap();
    let a2 = mark(&key(), &table, &delivery(0), &params()).unwrap();
    let b = mark(&key(), &table, &delivery(1), &params()).unwrap();
    assert_eq!(a.table, a2.table, "marking is deterministic");
    assert_ne!(a.table, b.table);
    assert_eq!(a.record.canaries.len(), 3);
    assert_eq!(a.table.rows.len(), table.rows.len() + 3);
    // A different node secret gives a different copy.
    let other = silkgate_mark::MarkKey::from_bytes([9; 32]);
    let c = mark(&other, &table, &delivery(0), &params()).unwrap();
    assert_ne!(a.table, c.table);
}

#[test]
fn record_holds_no_values_and_round_trips() {
    let table = dataset(3);
    let m = mark(&key(), &table, &delivery(5), &params()).unwrap();
    let json = serde_json::to_string(&m.record).unwrap();
    for cell in m.table.rows[0].iter().chain(&m.table.rows[1]) {
        let text = cell.as_text().unwrap();
        if text.len() > 4 {
            assert!(!json.contains(text), "record leaks value {text}");
        }
    }
    let back: silkgate_mark::MarkingRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m.record);
    assert!(json.contains("\"transfer_id\":\"tr-0005\""), "{json}");
}

#[test]
fn bad_parameters_and_tables_are_refused() {
    let table = dataset(4);
    let mut p = params();
    p.columns[1].max_change_units = 12;
    let err = mark(&key(), &table, &delivery(0), &p).unwrap_err();
    assert!(
        err.to_string()
            .contains("marking.columns[1].max_change_units"),
        "{err}"
    );
    let mut p = params();
    p.enabled = false;
    assert_eq!(
        mark(&key(), &table, &delivery(0), &p).unwrap_err(),
        MarkError::Disabled
    );
    let mut ragged = Table {
        columns: vec!["a".into(), "b".into()],
        rows: vec![vec![silkgate_mark::Cell::Null]],
    };
    assert!(matches!(
        mark(&key(), &ragged, &delivery(0), &params()),
        Err(MarkError::RowWidth { row: 0, .. })
    ));
    ragged.rows.clear();
    // An empty table marks to an empty table.
    assert!(
        mark(&key(), &ragged, &delivery(0), &params())
            .unwrap()
            .table
            .rows
            .is_empty()
    );
    assert!(matches!(
        Table::from_bytes(b"{\"a\":1}\n[1,2]\n"),
        Err(MarkError::Jsonl { line: 2, .. })
    ));
    assert!(silkgate_mark::MarkKey::from_hex("abcd").is_err());
}

#[test]
fn jsonl_numbers_stay_numbers() {
    let table = dataset(5);
    let jsonl = Table::from_bytes(&table.to_bytes(silkgate_mark::Format::Jsonl)).unwrap();
    let m = mark(&key(), &jsonl, &delivery(0), &params()).unwrap();
    let out = String::from_utf8(m.table.to_bytes(silkgate_mark::Format::Jsonl)).unwrap();
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    // CSV text stays text through JSON Lines (the source had strings); numbers read as JSON
    // numbers are written back as numbers.
    assert!(first["amount"].is_string(), "{first}");
    let numeric = "{\"amount\": 1234.56, \"id\": \"x\"}\n";
    let t = Table::from_bytes(numeric.as_bytes()).unwrap();
    let mut p = params();
    p.select_one_in = 1;
    p.canary_records = 0;
    let m = mark(&key(), &t, &delivery(0), &p).unwrap();
    let out = String::from_utf8(m.table.to_bytes(silkgate_mark::Format::Jsonl)).unwrap();
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["amount"].is_number(), "{v}");
    let amount = v["amount"].as_f64().unwrap();
    assert!((amount - 1234.56).abs() < 0.095, "{amount}");
}
