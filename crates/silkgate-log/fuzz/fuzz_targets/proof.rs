//! Proofs and receipts from untrusted bytes: verification must never panic, whatever the sizes,
//! indexes and hashes (RFC 9162, sections 2.1.3.2 and 2.1.4.2; c2sp.org/tlog-proof).
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_log::{Hash, Receipt, verify_consistency, verify_inclusion};

fuzz_target!(|data: &[u8]| {
    if data.len() >= 16 + 64 {
        let a = u64::from_be_bytes(data[0..8].try_into().unwrap());
        let b = u64::from_be_bytes(data[8..16].try_into().unwrap());
        let h1 = Hash(data[16..48].try_into().unwrap());
        let h2 = Hash(data[48..80].try_into().unwrap());
        let proof: Vec<Hash> = data[80..]
            .chunks_exact(32)
            .map(|c| Hash(c.try_into().unwrap()))
            .collect();
        let _ = verify_inclusion(a, b, &h1, &proof, &h2);
        let _ = verify_consistency(a, b, &h1, &h2, &proof);
    }
    if let Ok(receipt) = Receipt::parse(data) {
        let back = Receipt::parse(&receipt.to_bytes()).unwrap();
        assert_eq!(back, receipt);
    }
});
