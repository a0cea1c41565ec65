//! Throughput of marking and tracing. Run with
//! `cargo bench -p silkgate-mark --bench mark_throughput` (optionally `-- ROWS`, default
//! 200,000; add `stream` to skip tracing). Prints one line per measurement; figures go to docs/benchmarks.md.

use std::hint::black_box;
use std::time::Instant;

use silkgate_mark::{Delivery, Format, MarkKey, Table, Tracer, mark, mark_stream};
use silkgate_model::{MarkedColumn, MarkingTerms};

/// A deterministic trade table: five untouched columns and three markable numeric ones.
fn dataset(rows: usize) -> Table {
    let mut csv =
        String::from("shipment_id,exporter,goods,origin,amount,weight_kg,quantity,date\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..rows {
        csv.push_str(&format!(
            "SH-{:07},Exporter {},goods-{},KZ,{}.{:02},{}.{},{},2026-{:02}-{:02}\n",
            i,
            next() % 300,
            next() % 8,
            100 + next() % 2_000_000,
            next() % 100,
            10 + next() % 90_000,
            next() % 10,
            1 + next() % 20_000,
            1 + next() % 12,
            1 + next() % 28,
        ));
    }
    Table::read_csv(csv.as_bytes()).expect("generated CSV parses")
}

fn params() -> MarkingTerms {
    let col = |c: &str, d, u| MarkedColumn {
        column: c.into(),
        decimals: d,
        max_change_units: u,
    };
    MarkingTerms {
        enabled: true,
        columns: vec![
            col("amount", 2, 9),
            col("weight_kg", 1, 1),
            col("quantity", 0, 1),
        ],
        select_one_in: 2,
        fingerprint_symbols: 64,
        canary_records: 10,
    }
}

fn delivery(i: usize) -> Delivery {
    Delivery {
        dataset: "sha256:bench".into(),
        transfer_id: format!("tr-{i}"),
        agreement_id: "ag-1".into(),
        recipient: format!("KZ/org-{i}"),
    }
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    // `-- ROWS stream` stops after the marking measurements (no tracing), for profiling.
    let stream_only = std::env::args().any(|a| a == "stream");
    let key = MarkKey::from_bytes([5; 32]);
    let table = dataset(rows);
    let csv_bytes = table.to_bytes(Format::Csv).len() as f64;
    let cells = (rows * 3) as f64;
    println!(
        "dataset: {rows} rows, 8 columns (3 markable), {:.1} MB as CSV",
        csv_bytes / 1e6
    );

    // Marking alone (table in memory to table in memory), best of 3.
    let mut best = f64::MAX;
    let mut marked = None;
    for _ in 0..3 {
        let t = Instant::now();
        let m = mark(&key, &table, &delivery(0), &params()).expect("marks");
        best = best.min(t.elapsed().as_secs_f64());
        marked = Some(m);
    }
    let marked = marked.expect("three runs");
    println!(
        "mark: {:.0} ms; {:.2} M markable cells/s; {:.0} k rows/s; {:.1} MB/s of CSV",
        best * 1e3,
        cells / best / 1e6,
        rows as f64 / best / 1e3,
        csv_bytes / best / 1e6
    );

    // Marking with parsing and writing CSV, as a delivery does.
    let bytes = table.to_bytes(Format::Csv);
    let t = Instant::now();
    let parsed = Table::from_bytes(&bytes).expect("parses");
    let m = mark(&key, &parsed, &delivery(1), &params()).expect("marks");
    let out = black_box(m.table.to_bytes(Format::Csv));
    let e = t.elapsed().as_secs_f64();
    println!(
        "parse + mark + write CSV: {:.0} ms; {:.1} MB/s",
        e * 1e3,
        out.len() as f64 / e / 1e6
    );

    // The same, streaming (constant memory), as the node marks a delivery; best of 3.
    let mut e = f64::MAX;
    let mut streamed = Vec::with_capacity(bytes.len() + 4096);
    for _ in 0..3 {
        streamed.clear();
        let t = Instant::now();
        mark_stream(
            &key,
            bytes.as_slice(),
            &mut streamed,
            &delivery(1),
            &params(),
        )
        .expect("marks");
        e = e.min(t.elapsed().as_secs_f64());
    }
    assert_eq!(streamed, out, "streaming writes the same bytes");
    // FNV-1a of the marked copy, to compare the output across versions of the marker.
    let digest = streamed.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    println!(
        "marked copy: {} bytes, FNV-1a {digest:016x}",
        streamed.len()
    );
    println!(
        "stream: read + mark + write CSV: {:.0} ms; {:.1} MB/s",
        e * 1e3,
        streamed.len() as f64 / e / 1e6
    );

    if stream_only {
        return;
    }

    // Tracing: registry of N copies (only their records are needed), found file the whole copy
    // or a 10% subset.
    for n in [20usize, 100] {
        let mut records = vec![marked.record.clone()];
        records.extend((1..n).map(|i| {
            let mut r = marked.record.clone();
            r.delivery = delivery(i);
            r
        }));
        let t = Instant::now();
        let tracer = Tracer::new(&key, &records);
        let prep = t.elapsed().as_secs_f64();
        for (label, found) in [
            ("whole copy", marked.table.clone()),
            (
                "10% of rows",
                Table {
                    columns: marked.table.columns.clone(),
                    rows: marked.table.rows.iter().step_by(10).cloned().collect(),
                },
            ),
        ] {
            let t = Instant::now();
            let report = black_box(tracer.trace(&found));
            let e = t.elapsed().as_secs_f64();
            assert!(matches!(
                report.verdict,
                silkgate_mark::Verdict::Match { .. }
            ));
            println!(
                "trace {label} ({} rows) against {n} copies: {:.0} ms; {:.2} M cells/s \
                 (registry preparation {:.1} ms)",
                found.rows.len(),
                e * 1e3,
                found.rows.len() as f64 * 3.0 / e / 1e6,
                prep * 1e3
            );
        }
    }
}
