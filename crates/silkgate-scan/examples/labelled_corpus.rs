//! Writes a generated, labelled corpus to a directory, for comparisons with other tools:
//! `dataset_NNN.csv` files and `labels.json` (file → header → entity or null).
//!
//! `cargo run -p silkgate-scan --example labelled_corpus -- DIR [DATASETS] [ROWS]`

use std::collections::BTreeMap;

use silkgate_scan::corpus::Corpus;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: labelled_corpus DIR [DATASETS] [ROWS]")?,
    );
    let datasets: usize = args.next().map(|v| v.parse()).transpose()?.unwrap_or(40);
    let rows: u64 = args.next().map(|v| v.parse()).transpose()?.unwrap_or(60);
    std::fs::create_dir_all(&dir)?;
    let mut corpus = Corpus::new(20261126);
    let mut labels: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for i in 0..datasets {
        let (cols, text) = corpus.csv(16, 8, rows);
        let name = format!("dataset_{i:03}.csv");
        std::fs::write(dir.join(&name), text)?;
        labels.insert(
            name,
            cols.iter()
                .map(|c| (c.header.clone(), c.label.map(|e| e.as_str().to_owned())))
                .collect(),
        );
    }
    std::fs::write(
        dir.join("labels.json"),
        serde_json::to_string_pretty(&labels)?,
    )?;
    println!(
        "wrote {datasets} datasets of {rows} rows to {}",
        dir.display()
    );
    Ok(())
}
