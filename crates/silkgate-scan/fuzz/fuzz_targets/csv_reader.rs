//! Arbitrary bytes read as CSV: recognition, decoding, the record reader and every detector
//! must never panic, and the report must stay consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_scan::reader::{Format, SniffOptions};
use silkgate_scan::{ScanOptions, scan};

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions {
        sniff: SniffOptions {
            format: Some(Format::Csv),
            ..SniffOptions::default()
        },
        max_record_bytes: 4096,
        ..ScanOptions::default()
    };
    if let Ok(report) = scan(data, &opts) {
        assert_eq!(report.bytes, data.len() as u64);
        for c in &report.columns {
            assert!(c.matched <= c.non_empty && c.checked <= c.non_empty.max(c.checked));
            assert!(c.estimated || c.entity.is_none() || c.matched <= c.checked);
        }
    }
});
