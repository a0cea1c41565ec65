//! Arbitrary bytes read as JSON Lines: line splitting, JSON parsing, path flattening and the
//! detectors must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_scan::reader::{Format, SniffOptions};
use silkgate_scan::{ScanOptions, scan};

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions {
        sniff: SniffOptions {
            format: Some(Format::Jsonl),
            ..SniffOptions::default()
        },
        max_record_bytes: 4096,
        max_columns: 64,
        ..ScanOptions::default()
    };
    if let Ok(report) = scan(data, &opts) {
        assert!(report.columns.len() <= 64);
        assert_eq!(report.bytes, data.len() as u64);
    }
});
