//! Helpers shared by the integration tests.

use silkgate_log::{
    Digest, Entry, EventKind, KeyName, Log, LogTrust, MemoryStorage, NoteSigner, SignatureType,
};

/// The origin of the test log.
pub const ORIGIN: &str = "log.kz.silkgate.example";

/// A log key from a fixed seed, so failures reproduce.
pub fn log_signer(seed: u8) -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        [seed; 32],
    )
}

/// A witness cosigning key.
pub fn witness_signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new(name).unwrap(),
        SignatureType::Cosignature,
        [seed; 32],
    )
}

/// Entry number `i`, a transfer request with a payload digest.
pub fn entry(i: u64) -> Entry {
    Entry::builder(
        EventKind::new("transfer.requested").unwrap(),
        1_764_147_600_000 + i,
    )
    .id("transfer", &format!("tr-{i:06}"))
    .id("provider-state", "KZ")
    .digest("payload", Digest::of(format!("payload {i}").as_bytes()))
    .build()
    .unwrap()
}

/// A log of `n` entries appended in batches of `batch`.
pub fn log_with(n: u64, batch: u64) -> Log<MemoryStorage> {
    let mut log = Log::open(ORIGIN, log_signer(1), MemoryStorage::new()).unwrap();
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let entries: Vec<Entry> = (i..end).map(entry).collect();
        log.append_batch(&entries).unwrap();
        i = end;
    }
    log
}

/// Trust in the test log with the given witnesses.
pub fn trust(witnesses: &[&NoteSigner], quorum: usize) -> LogTrust {
    LogTrust {
        origin: ORIGIN.to_owned(),
        log_keys: vec![log_signer(1).verifier()],
        witness_keys: witnesses.iter().map(|w| w.verifier()).collect(),
        quorum,
    }
}
