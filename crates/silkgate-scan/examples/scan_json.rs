//! Scans each file given and prints its report as one JSON object per line, like
//! `silkgate scan --format json` without the rest of the command-line program (used by
//! `benches/presidio_compare.py`).
//!
//! `cargo run --release -p silkgate-scan --example scan_json -- FILE...`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let file = std::fs::File::open(&path)?;
        let report = silkgate_scan::scan(
            file,
            &silkgate_scan::ScanOptions {
                sample: 0,
                ..Default::default()
            },
        )?;
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
