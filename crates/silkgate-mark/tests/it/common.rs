//! A synthetic trade dataset, delivered copies and the transformations a leaked file goes
//! through.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use silkgate_mark::{Cell, Delivery, Format, MarkKey, Marked, Table, mark};
use silkgate_model::{MarkedColumn, MarkingTerms};

pub const ROWS: usize = 1000;
pub const RECIPIENTS: usize = 20;

pub fn key() -> MarkKey {
    MarkKey::from_bytes(*b"provider-node-marking-secret-32b")
}

/// A trade dataset: identifiers and text the mark never touches, and three numeric columns it
/// may: `amount` (cents, one decimal digit of freedom), `weight_kg` (tenths, one bit) and
/// `quantity` (units, one bit).
pub fn dataset(seed: u64) -> Table {
    let mut rng = StdRng::seed_from_u64(seed);
    let goods = [
        "cotton", "wheat", "copper", "steel", "tea", "silk", "rice", "oil",
    ];
    let states = ["CN", "KZ", "RU", "UZ", "KG", "TJ", "IN", "PK", "IR", "BY"];
    let mut csv =
        String::from("shipment_id,exporter,goods,origin,amount,weight_kg,quantity,date\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "SH-{:06},Exporter {},{},{},{}.{:02},{}.{},{},2026-{:02}-{:02}\n",
            100_000 + i,
            rng.gen_range(1..300),
            goods[rng.gen_range(0..goods.len())],
            states[rng.gen_range(0..states.len())],
            rng.gen_range(100..2_000_000),
            rng.gen_range(0..100),
            rng.gen_range(10..90_000),
            rng.gen_range(0..10),
            rng.gen_range(1..20_000),
            rng.gen_range(1..13),
            rng.gen_range(1..29),
        ));
    }
    Table::read_csv(csv.as_bytes()).expect("generated CSV parses")
}

pub fn params() -> MarkingTerms {
    MarkingTerms {
        enabled: true,
        columns: vec![
            MarkedColumn {
                column: "amount".into(),
                decimals: 2,
                max_change_units: 9,
            },
            MarkedColumn {
                column: "weight_kg".into(),
                decimals: 1,
                max_change_units: 1,
            },
            MarkedColumn {
                column: "quantity".into(),
                decimals: 0,
                max_change_units: 1,
            },
        ],
        select_one_in: 2,
        fingerprint_symbols: 64,
        canary_records: 3,
    }
}

pub fn delivery(i: usize) -> Delivery {
    Delivery {
        dataset: "sha256:trade-shipments-2026".into(),
        transfer_id: format!("tr-{i:04}"),
        agreement_id: format!("ag-{}", i / 4),
        recipient: format!("{}/org-{i}", ["KZ", "RU", "UZ", "CN", "KG"][i % 5]),
    }
}

/// `RECIPIENTS` marked copies of one dataset.
pub fn copies(table: &Table) -> Vec<Marked> {
    (0..RECIPIENTS)
        .map(|i| mark(&key(), table, &delivery(i), &params()).expect("marks"))
        .collect()
}

/// A transformation a leaked file may have gone through.
#[derive(Debug, Clone, Copy)]
pub enum Transform {
    Whole,
    TenPercent,
    Shuffled,
    ColumnsReordered,
    ColumnsDropped,
    AsJsonl,
    NumbersReformatted,
    Everything,
}

pub const TRANSFORMS: [Transform; 8] = [
    Transform::Whole,
    Transform::TenPercent,
    Transform::Shuffled,
    Transform::ColumnsReordered,
    Transform::ColumnsDropped,
    Transform::AsJsonl,
    Transform::NumbersReformatted,
    Transform::Everything,
];

/// The file found, as bytes, after `t`.
pub fn leak(table: &Table, t: Transform, rng: &mut StdRng) -> Vec<u8> {
    let mut t2 = table.clone();
    let mut format = Format::Csv;
    match t {
        Transform::Whole => {}
        Transform::TenPercent => subset(&mut t2, rng),
        Transform::Shuffled => t2.rows.shuffle(rng),
        Transform::ColumnsReordered => reorder(&mut t2, rng),
        Transform::ColumnsDropped => drop_columns(&mut t2, &["shipment_id", "amount", "date"]),
        Transform::AsJsonl => format = Format::Jsonl,
        Transform::NumbersReformatted => reformat_numbers(&mut t2),
        Transform::Everything => {
            subset(&mut t2, rng);
            t2.rows.shuffle(rng);
            let marked = ["amount", "weight_kg", "quantity"];
            drop_columns(&mut t2, &["exporter", marked[rng.gen_range(0..3)]]);
            reorder(&mut t2, rng);
            reformat_numbers(&mut t2);
            if rng.gen_bool(0.5) {
                format = Format::Jsonl;
            }
        }
    }
    t2.to_bytes(format)
}

/// Keeps a random 10% of the rows.
pub fn subset(t: &mut Table, rng: &mut StdRng) {
    t.rows.shuffle(rng);
    t.rows.truncate(t.rows.len() / 10);
}

pub fn reorder(t: &mut Table, rng: &mut StdRng) {
    let mut order: Vec<usize> = (0..t.columns.len()).collect();
    order.shuffle(rng);
    t.columns = order.iter().map(|&i| t.columns[i].clone()).collect();
    for row in &mut t.rows {
        *row = order.iter().map(|&i| row[i].clone()).collect();
    }
}

pub fn drop_columns(t: &mut Table, names: &[&str]) {
    let keep: Vec<usize> = (0..t.columns.len())
        .filter(|&i| !names.contains(&t.columns[i].as_str()))
        .collect();
    t.columns = keep.iter().map(|&i| t.columns[i].clone()).collect();
    for row in &mut t.rows {
        *row = keep.iter().map(|&i| row[i].clone()).collect();
    }
}

/// What a spreadsheet or dataframe does on re-save: numbers through binary floating point and
/// back in shortest form (`1234.50` becomes `1234.5`, `80.0` becomes `80`).
pub fn reformat_numbers(t: &mut Table) {
    for row in &mut t.rows {
        for cell in row {
            if let Cell::Text(s) = cell
                && let Ok(v) = s.parse::<f64>()
                && s.contains('.')
            {
                *cell = Cell::Text(format!("{v}"));
            }
        }
    }
}
