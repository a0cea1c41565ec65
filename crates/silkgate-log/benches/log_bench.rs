//! Benchmarks of the transparency log (run with `cargo bench -p silkgate-log --bench log_bench`;
//! figures in docs/benchmarks.md):
//!
//! 1. appends per second, in-memory and with a durable commit per batch (an append-only file
//!    and `fsync` per batch, standing in for the node's SQLite transaction);
//! 2. inclusion and consistency proof generation and verification latency at 1,000,000 entries;
//! 3. time to audit a 1,000,000-entry log from its tiles and entry bundles ([`audit_tiles`],
//!    the check `silkgate log verify` runs), tiles held in memory so the figure is the
//!    verification itself, not the disk or network.
//!
//! `SILKGATE_BENCH_ENTRIES` changes the log size (default 1,000,000). With
//! `SILKGATE_BENCH_WRITE_DIR=DIR` the log is also written there in the tlog-tiles layout, with a
//! trust file `DIR/trust`, for timing `silkgate log verify --dir DIR --trust DIR/trust`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::ops::Range;
use std::time::{Duration, Instant};

use rand::Rng as _;
use silkgate_log::tile::tiles_for_size;
use silkgate_log::{
    AppendBatch, Digest, Entry, EventKind, Hash, HashReader, KeyName, Log, LogStorage,
    MemoryStorage, NodeId, NoteSigner, SignatureType, StorageError, TileId, TileSource,
    audit_tiles, leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};

const ORIGIN: &str = "log.bench.silkgate.example";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(
        KeyName::new(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        [1; 32],
    )
}

fn entry(i: u64) -> Entry {
    Entry::builder(
        EventKind::new("transfer.requested").unwrap(),
        1_764_147_600_000 + i,
    )
    .id("transfer", &format!("tr-{i:08}"))
    .id("agreement", "ag-2026-0042")
    .id("provider-state", "KZ")
    .digest("payload", Digest::of(&i.to_be_bytes()))
    .build()
    .unwrap()
}

/// In-memory store plus an append-only file synced once per batch: one durable write per
/// batch, as the node's SQLite transaction will be.
struct DurableFile {
    mem: MemoryStorage,
    file: File,
}

impl HashReader for DurableFile {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StorageError> {
        self.mem.read_hashes(ids)
    }
}

impl LogStorage for DurableFile {
    fn tree_size(&self) -> Result<u64, StorageError> {
        self.mem.tree_size()
    }
    fn commit(&mut self, batch: &AppendBatch) -> Result<(), StorageError> {
        let mut buf = Vec::with_capacity(batch.entries.len() * 300);
        for e in &batch.entries {
            buf.extend_from_slice(&(e.len() as u32).to_be_bytes());
            buf.extend_from_slice(e);
        }
        for (id, h) in &batch.hashes {
            buf.push(id.level);
            buf.extend_from_slice(&id.index.to_be_bytes());
            buf.extend_from_slice(&h.0);
        }
        let io = |e: std::io::Error| StorageError::Backend(Box::new(e));
        self.file.write_all(&buf).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.mem.commit(batch)
    }
    fn read_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StorageError> {
        self.mem.read_entries(range)
    }
    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        self.mem.latest_checkpoint()
    }
    fn store_checkpoint(&mut self, size: u64, signed: &[u8]) -> Result<(), StorageError> {
        self.mem.store_checkpoint(size, signed)
    }
}

fn appends<S: LogStorage>(storage: S, total: u64, batch: u64) -> (Log<S>, Duration) {
    let entries: Vec<Entry> = (0..total).map(entry).collect();
    let mut log = Log::open(ORIGIN, signer(), storage).unwrap();
    let start = Instant::now();
    for chunk in entries.chunks(batch as usize) {
        log.append_batch(chunk).unwrap();
    }
    (log, start.elapsed())
}

struct Tiles(HashMap<TileId, Vec<u8>>);

impl TileSource for Tiles {
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, StorageError> {
        self.0
            .get(tile)
            .cloned()
            .ok_or(StorageError::Missing { what: tile.path() })
    }
}

fn per_op(d: Duration, n: u64) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6 / n as f64)
}

fn main() {
    let total: u64 = std::env::var("SILKGATE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("transparency log benchmark, {total} entries");

    // 1. Appends.
    for batch in [1_000u64, 10_000] {
        let (_, d) = appends(MemoryStorage::new(), total, batch);
        println!(
            "append, in memory, batches of {batch}: {:.0} entries/s",
            total as f64 / d.as_secs_f64()
        );
    }
    let dir = std::env::temp_dir().join(format!("silkgate-log-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for batch in [1u64, 100, 1_000] {
        let n = if batch == 1 {
            2_000
        } else {
            (total / 5).max(batch)
        };
        let file = File::create(dir.join(format!("batch-{batch}"))).unwrap();
        let (_, d) = appends(
            DurableFile {
                mem: MemoryStorage::new(),
                file,
            },
            n,
            batch,
        );
        println!(
            "append, fsync per batch, batches of {batch}: {:.0} entries/s ({:.0} commits/s)",
            n as f64 / d.as_secs_f64(),
            (n / batch) as f64 / d.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    // 2. Proofs at full size.
    let (mut log, _) = appends(MemoryStorage::new(), total, 10_000);
    let root = log.root();
    let mut rng = rand::thread_rng();
    let samples = 10_000u64;
    let indexes: Vec<u64> = (0..samples).map(|_| rng.gen_range(0..total)).collect();
    let start = Instant::now();
    let proofs: Vec<Vec<Hash>> = indexes
        .iter()
        .map(|&i| log.inclusion_proof(i, total).unwrap())
        .collect();
    println!(
        "inclusion proof generation: {} per proof",
        per_op(start.elapsed(), samples)
    );
    let leaves: Vec<Hash> = indexes
        .iter()
        .map(|&i| leaf_hash(&entry(i).to_bytes()))
        .collect();
    let start = Instant::now();
    for ((i, p), leaf) in indexes.iter().zip(&proofs).zip(&leaves) {
        verify_inclusion(*i, total, leaf, p, &root).unwrap();
    }
    println!(
        "inclusion proof verification: {} per proof",
        per_op(start.elapsed(), samples)
    );
    let olds: Vec<u64> = (0..1_000).map(|_| rng.gen_range(1..total)).collect();
    let old_roots: Vec<Hash> = olds
        .iter()
        .map(|&o| tree_hash(o, log.storage()).unwrap())
        .collect();
    let start = Instant::now();
    let cproofs: Vec<Vec<Hash>> = olds
        .iter()
        .map(|&o| log.consistency_proof(o, total).unwrap())
        .collect();
    println!(
        "consistency proof generation: {} per proof",
        per_op(start.elapsed(), 1_000)
    );
    let start = Instant::now();
    for ((o, r), p) in olds.iter().zip(&old_roots).zip(&cproofs) {
        verify_consistency(*o, total, r, &root, p).unwrap();
    }
    println!(
        "consistency proof verification: {} per proof",
        per_op(start.elapsed(), 1_000)
    );
    let start = Instant::now();
    let _ = log.sign_checkpoint().unwrap();
    println!("checkpoint signing: {:.2?}", start.elapsed());

    // 3. Audit from tiles.
    let tiles: HashMap<TileId, Vec<u8>> = tiles_for_size(total, true)
        .into_iter()
        .map(|t| {
            let bytes = log.read_tile(&t.path(), total).unwrap();
            (t, bytes)
        })
        .collect();
    let bytes: usize = tiles.values().map(Vec::len).sum();
    if let Ok(out) = std::env::var("SILKGATE_BENCH_WRITE_DIR") {
        let out = std::path::PathBuf::from(out);
        for (t, b) in &tiles {
            let path = out.join(t.path());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b).unwrap();
        }
        std::fs::write(
            out.join("checkpoint"),
            log.sign_checkpoint().unwrap().to_bytes(),
        )
        .unwrap();
        std::fs::write(out.join("trust"), format!("{}\n", signer().verifier())).unwrap();
        println!("wrote the log to {}", out.display());
    }
    let mut source = Tiles(tiles);
    let start = Instant::now();
    let (report, _) = audit_tiles(total, &root, &[], true, &mut source, &mut |_| {}).unwrap();
    println!(
        "audit from tiles with entry bundles ({} tiles, {:.0} MiB): {:.2?}",
        report.tiles_fetched,
        bytes as f64 / (1 << 20) as f64,
        start.elapsed()
    );
    let start = Instant::now();
    audit_tiles(total, &root, &[], false, &mut source, &mut |_| {}).unwrap();
    println!("audit from hash tiles only: {:.2?}", start.elapsed());
}
