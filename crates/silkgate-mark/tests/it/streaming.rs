//! The streaming marker writes the same copy and record as marking the table in memory.

use proptest::prelude::*;
use silkgate_mark::{
    Cell, Format, MarkError, MarkKey, Marker, Table, Verdict, mark, mark_stream, trace,
};
use silkgate_model::{MarkedColumn, MarkingTerms};

use crate::common::{dataset, delivery, key, params};

/// Marks `bytes` both ways and checks copy, record and summary agree. With `byte_equal` the
/// copies must be the same bytes; otherwise (JSON Lines with keys first seen late) they must
/// read back as the same table.
fn check_same(bytes: &[u8], p: &MarkingTerms, byte_equal: bool) {
    let k = key();
    let d = delivery(3);
    let mut streamed = Vec::new();
    let got = mark_stream(&k, bytes, &mut streamed, &d, p).expect("streams");
    let format = Format::sniff(bytes);
    assert_eq!(got.format, format);
    let table = Table::read(bytes, format).expect("reads");
    let marked = mark(&k, &table, &d, p).expect("marks");
    assert_eq!(got.record, marked.record);
    assert_eq!(got.summary, marked.summary);
    assert_eq!(got.rows, table.rows.len() as u64);
    if byte_equal {
        let expect = marked.table.to_bytes(format);
        assert_eq!(
            String::from_utf8_lossy(&streamed),
            String::from_utf8_lossy(&expect)
        );
    } else {
        // Both read back, since writing JSON numbers normalises them (`1.00` reads back `1.0`).
        let expect = marked.table.to_bytes(format);
        assert_eq!(
            by_name(&Table::read(streamed.as_slice(), format).unwrap()),
            by_name(&Table::read(expect.as_slice(), format).unwrap())
        );
    }
}

/// Rows as maps of column name to non-null cell: the order in which columns first appear
/// differs when earlier records lack a key.
fn by_name(t: &Table) -> Vec<std::collections::BTreeMap<String, Cell>> {
    t.rows
        .iter()
        .map(|r| {
            t.columns
                .iter()
                .zip(r)
                .filter(|(_, c)| **c != Cell::Null)
                .map(|(n, c)| (n.clone(), c.clone()))
                .collect()
        })
        .collect()
}

#[test]
fn trade_dataset_both_formats() {
    let table = dataset(30);
    for format in [Format::Csv, Format::Jsonl] {
        check_same(&table.to_bytes(format), &params(), true);
    }
    // JSON numbers stay numbers, and canaries of a numeric column are numbers too.
    let jsonl: String = (0..300)
        .map(|i| {
            format!(
                "{{\"id\":\"r{i}\",\"amount\":{}.{:02},\"n\":{i}}}\n",
                1000 + i * 7,
                i % 100
            )
        })
        .collect();
    check_same(
        jsonl.as_bytes(),
        &params_for(&[("amount", 2, 9), ("n", 0, 3)], 1, 4),
        true,
    );
}

#[test]
fn streamed_copy_traces_to_its_recipient() {
    let table = dataset(31);
    let mut out = Vec::new();
    let got = mark_stream(
        &key(),
        table.to_bytes(Format::Csv).as_slice(),
        &mut out,
        &delivery(7),
        &params(),
    )
    .unwrap();
    let copy = Table::from_bytes(&out).unwrap();
    assert_eq!(copy.rows.len(), table.rows.len() + 3);
    let found = Table {
        columns: copy.columns.clone(),
        rows: copy.rows.iter().skip(3).step_by(10).cloned().collect(),
    };
    let report = trace(&key(), &found, std::slice::from_ref(&got.record));
    assert!(
        matches!(&report.verdict, Verdict::Match { recipient, .. } if *recipient == delivery(7).recipient),
        "{report:#?}"
    );
    // The whole copy carries all three canaries.
    assert_eq!(
        trace(&key(), &copy, &[got.record]).candidates[0].canaries_found,
        3
    );
}

/// The canaries' ordinary cells are copied from rows spread over the whole table (a keyed
/// reservoir sample), not from the first rows the stream saw.
#[test]
fn canary_cells_come_from_the_whole_table() {
    let rows = 2000;
    let csv: String = std::iter::once("id,amount\n".to_owned())
        .chain((0..rows).map(|i| format!("row-{i},{}.{:02}\n", 100 + i, i % 100)))
        .collect();
    let mut p = params_for(&[("amount", 2, 9)], 2, 200);
    p.fingerprint_symbols = 16;
    let mut out = Vec::new();
    mark_stream(&key(), csv.as_bytes(), &mut out, &delivery(1), &p).unwrap();
    let copy = Table::from_bytes(&out).unwrap();
    let picked: Vec<usize> = copy.rows[rows..]
        .iter()
        .map(|r| r[0].as_text().unwrap()["row-".len()..].parse().unwrap())
        .collect();
    assert_eq!(picked.len(), 200);
    let mean = picked.iter().sum::<usize>() as f64 / 200.0;
    // Uniform over 0..2000: mean 1000, standard error about 41.
    assert!((850.0..1150.0).contains(&mean), "mean picked row {mean}");
    assert!(picked.iter().any(|&i| i >= 1900), "{picked:?}");
    assert!(picked.iter().any(|&i| i < 100), "{picked:?}");
}

#[test]
fn errors_match_the_table_reader() {
    let p = params();
    let ragged = b"a,amount\n1,2.00\n3\n";
    let err = mark_stream(&key(), &ragged[..], Vec::new(), &delivery(0), &p).unwrap_err();
    let table_err = Table::read_csv(&ragged[..]).unwrap_err();
    assert_eq!(err, table_err);
    let bad = b"{\"amount\": 1}\n\n[1]\n";
    let err = mark_stream(&key(), &bad[..], Vec::new(), &delivery(0), &p).unwrap_err();
    assert_eq!(err, Table::from_bytes(bad).unwrap_err());
    assert!(matches!(err, MarkError::Jsonl { line: 3, .. }), "{err}");
    let mut off = p.clone();
    off.enabled = false;
    assert_eq!(
        mark_stream(&key(), &b"a\n1\n"[..], Vec::new(), &delivery(0), &off).unwrap_err(),
        MarkError::Disabled
    );
    // A row of the wrong width given to the marker directly.
    let mut m = Marker::new(&key(), &delivery(0), &p, vec!["a".into(), "b".into()]).unwrap();
    assert!(matches!(
        m.mark_row(&mut [Cell::Null]),
        Err(MarkError::RowWidth {
            row: 0,
            expected: 2,
            got: 1
        })
    ));
    // Empty input: an empty copy and no canaries, as in memory.
    check_same(b"", &p, true);
    check_same(b"amount,id\n", &p, true);
}

fn params_for(cols: &[(&str, u32, u32)], select_one_in: u32, canaries: u32) -> MarkingTerms {
    MarkingTerms {
        enabled: true,
        columns: cols
            .iter()
            .map(|&(c, d, u)| MarkedColumn {
                column: c.into(),
                decimals: d,
                max_change_units: u,
            })
            .collect(),
        select_one_in,
        fingerprint_symbols: 32,
        canary_records: canaries,
    }
}

/// A cell as a test table may hold it: numbers in the shapes files carry, text that needs CSV
/// quoting, empties; in JSON Lines also JSON numbers, nulls and other values.
fn cell(jsonl: bool) -> impl Strategy<Value = Cell> {
    let text = prop_oneof![
        (-100_000i64..100_000, 0u32..4).prop_map(|(v, d)| {
            let s = format!("{:.*}", d as usize, v as f64 / 10f64.powi(d as i32));
            s
        }),
        (1i64..9999, -2i32..3).prop_map(|(m, e)| format!("{m}e{e}")),
        "[a-z ,\"\n]{0,6}",
        Just("007".to_owned()),
        Just(String::new()),
    ];
    if jsonl {
        prop_oneof![
            4 => text.clone().prop_map(Cell::Text),
            3 => (-100_000i64..100_000, 0u32..3).prop_map(|(v, d)| {
                Cell::Number(format!("{:.*}", d as usize, v as f64 / 10f64.powi(d as i32)))
            }),
            1 => Just(Cell::Null),
            1 => any::<bool>().prop_map(|b| Cell::Other(serde_json::Value::Bool(b))),
        ]
        .boxed()
    } else {
        text.prop_map(Cell::Text).boxed()
    }
}

const NAMES: [&str; 5] = ["amount", "qty", "id", "note", "rate"];

fn terms() -> impl Strategy<Value = MarkingTerms> {
    (
        proptest::sample::subsequence(vec!["amount", "qty", "rate", "absent"], 1..4),
        proptest::collection::vec((0u32..4, 1u32..10), 4),
        1u32..4,
        0u32..6,
    )
        .prop_map(|(cols, shapes, select, canaries)| MarkingTerms {
            enabled: true,
            columns: cols
                .iter()
                .zip(&shapes)
                .map(|(c, &(d, u))| MarkedColumn {
                    column: (*c).into(),
                    decimals: d,
                    max_change_units: u,
                })
                .collect(),
            select_one_in: select,
            fingerprint_symbols: 16,
            canary_records: canaries,
        })
}

fn table(jsonl: bool) -> impl Strategy<Value = Table> {
    (1usize..=5).prop_flat_map(move |width| {
        proptest::collection::vec(proptest::collection::vec(cell(jsonl), width), 0..40).prop_map(
            move |rows| Table {
                columns: NAMES[..width].iter().map(|s| (*s).to_owned()).collect(),
                rows,
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn csv_streams_to_the_same_bytes(t in table(false), p in terms()) {
        check_same(&t.to_bytes(Format::Csv), &p, true);
    }

    #[test]
    fn jsonl_streams_to_the_same_bytes(t in table(true), p in terms()) {
        check_same(&t.to_bytes(Format::Jsonl), &p, true);
    }

    /// Records whose keys differ: some keys first appear late. The copy then reads back as the
    /// same table (only the earlier records lack the late keys' explicit nulls), with the same
    /// record and canaries.
    #[test]
    fn jsonl_with_late_keys_marks_the_same(t in table(true), p in terms(), drop_mask in any::<u64>()) {
        let mut bytes = Vec::new();
        for (i, row) in t.rows.iter().enumerate() {
            let mut map = serde_json::Map::new();
            for (ci, (name, c)) in t.columns.iter().zip(row).enumerate() {
                // Leave keys out of the first rows, differently per column.
                if i < 8 && (drop_mask >> ((i * 5 + ci) % 64)) & 1 == 1 {
                    continue;
                }
                let v = match c {
                    Cell::Null => serde_json::Value::Null,
                    Cell::Text(s) => serde_json::Value::String(s.clone()),
                    Cell::Number(s) => serde_json::from_str(s).unwrap(),
                    Cell::Other(v) => v.clone(),
                    _ => unreachable!("the generator makes no other cell"),
                };
                map.insert(name.clone(), v);
            }
            bytes.extend(serde_json::to_vec(&serde_json::Value::Object(map)).unwrap());
            bytes.push(b'\n');
        }
        if !bytes.is_empty() {
            check_same(&bytes, &p, false);
        }
    }
}

/// A key that reads as a different secret must give a different copy (the marks are keyed).
#[test]
fn streamed_copy_depends_on_the_key() {
    let bytes = dataset(32).to_bytes(Format::Csv);
    let mut a = Vec::new();
    let mut b = Vec::new();
    mark_stream(&key(), bytes.as_slice(), &mut a, &delivery(0), &params()).unwrap();
    mark_stream(
        &MarkKey::from_bytes([3; 32]),
        bytes.as_slice(),
        &mut b,
        &delivery(0),
        &params(),
    )
    .unwrap();
    assert_ne!(a, b);
    // Each copy is the input's rows plus the three canaries.
    let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    assert_eq!(lines(&a), lines(&bytes) + 3);
    assert_eq!(lines(&b), lines(&bytes) + 3);
}
