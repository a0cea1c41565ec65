//! Log entries from untrusted bytes: only the canonical encoding parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_log::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::parse(data) {
        assert_eq!(entry.to_bytes(), data);
    }
});
