//! Transparency-log benchmark on the node's SQLite store (durable commits: WAL,
//! `synchronous = FULL`), in three parts:
//!
//! 1. appends per second by group-commit size: `k` committed events, then one
//!    [`NodeLog::sync`] (one durable write of the `k` entries and their hashes, then one of the
//!    signed checkpoint), for `k` from 1 to 1,000;
//! 2. group commit as the API does it: concurrent writers each commit one event in its own
//!    durable transaction and wait for [`NodeLog::wait_logged`] before "acknowledging";
//! 3. a bulk catch-up of `ENTRIES` events (batches of up to 20,000 per durable write), then the
//!    audit of the whole log from its tiles as `/log/tile/...` serves them (every hash tile and
//!    entry bundle read from the store, root recomputed, every entry checked).
//!
//! Run: `cargo bench -p silkgate-node --bench log_append -- [ENTRIES]` (default 1,000,000).
//! Figures go in docs/benchmarks.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use silkgate_log::{TileId, TileSource, audit_order, audit_tiles};
use silkgate_model::NewEvent;
use silkgate_node::log_service::{NodeLog, read_published_tile};
use silkgate_store::Store;

/// A payload hash as the node's transfer events carry them.
const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn event(j: u64) -> NewEvent {
    NewEvent::new(
        "transfer.sealed",
        format!("tr-{j:08}"),
        serde_json::json!({"payload_sha256": SHA, "ciphertext_sha256": SHA, "size": j}),
    )
}

async fn commit_events(store: &Store, range: std::ops::Range<u64>) {
    let mut tx = store.begin().await.unwrap();
    for j in range {
        tx.append_event(&event(j)).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn open(dir: &std::path::Path) -> (Store, NodeLog) {
    let store = Store::open_sqlite(dir).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let log = NodeLog::open(&store, "node-kz", &key).await.unwrap();
    (store, log)
}

struct Tiles(std::collections::HashMap<String, Vec<u8>>);

impl TileSource for Tiles {
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, silkgate_log::StorageError> {
        self.0
            .remove(&tile.path())
            .ok_or(silkgate_log::StorageError::Missing { what: tile.path() })
    }
}

/// Part 1: one durable log write per `k` events, for about two seconds per size.
async fn by_batch_size() {
    println!("1. appends by group-commit size (events committed untimed, then one sync timed)");
    for k in [1u64, 10, 100, 1_000] {
        let dir = tempfile::tempdir().unwrap();
        let (store, log) = open(dir.path()).await;
        let mut spent = Duration::ZERO;
        let mut next = 0u64;
        let mut writes = 0u32;
        while spent < Duration::from_secs(2) && writes < 2_000 {
            commit_events(&store, next..next + k).await;
            next += k;
            let t = Instant::now();
            assert_eq!(log.sync(&store).await.unwrap(), next);
            spent += t.elapsed();
            writes += 1;
        }
        println!(
            "   batch {k:>5}: {next:>7} entries in {writes:>4} syncs, {spent:>9.2?}: {:>8.0} entries/s, {:.2} ms per sync",
            next as f64 / spent.as_secs_f64(),
            spent.as_secs_f64() * 1000.0 / f64::from(writes)
        );
    }
}

/// Part 2: `writers` concurrent writers, each committing one event per durable transaction
/// and waiting until it is logged, for three seconds.
async fn concurrent(writers: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(dir.path()).await;
    let log = Arc::new(log);
    let published_before = store.log_published().await.unwrap().len();
    let stop = Instant::now() + Duration::from_secs(3);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, log) = (store.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < stop {
                let mut tx = store.begin().await.unwrap();
                let e = tx.append_event(&event(w * 1_000_000 + done)).await.unwrap();
                tx.commit().await.unwrap();
                log.wait_logged(&store, e.seq).await.unwrap();
                done += 1;
            }
            done
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        acknowledged += t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let syncs = store.log_published().await.unwrap().len() - published_before;
    println!(
        "   {writers:>3} writers: {acknowledged:>6} events acknowledged in {elapsed:.2?}: {:>6.0} events/s, {syncs} log writes ({:.1} entries per write)",
        acknowledged as f64 / elapsed.as_secs_f64(),
        acknowledged as f64 / syncs.max(1) as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    by_batch_size().await;
    println!(
        "2. group commit under concurrent writers (each event its own durable transaction, acknowledged once logged)"
    );
    for writers in [1, 16, 64] {
        concurrent(writers).await;
    }

    // Part 3: bulk catch-up, as after a restart or under heavy load.
    let dir = tempfile::tempdir().unwrap();
    let (store, log) = open(dir.path()).await;
    let chunk = 50_000u64;
    let mut append_time = Duration::ZERO;
    let mut i = 0u64;
    while i < n {
        let end = (i + chunk).min(n);
        commit_events(&store, i..end).await;
        i = end;
        let t = Instant::now();
        assert_eq!(log.sync(&store).await.unwrap(), i);
        append_time += t.elapsed();
    }
    println!(
        "3. bulk: {n} entries in {append_time:.2?} = {:.0} entries/s (durable, batches of up to 20,000)",
        n as f64 / append_time.as_secs_f64()
    );
    let db = std::fs::metadata(dir.path().join("node.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("   node.db: {:.0} MiB", db as f64 / (1 << 20) as f64);

    // Audit from the tiles the node serves.
    let checkpoint = log.checkpoint_bytes();
    let note = silkgate_log::Note::parse(&checkpoint).unwrap();
    let cp = silkgate_log::Checkpoint::parse_text(note.text_unverified()).unwrap();
    let t = Instant::now();
    let mut tiles = std::collections::HashMap::new();
    let order = audit_order(cp.size(), true);
    for tile in &order {
        let bytes = read_published_tile(&store, tile, cp.size()).await.unwrap();
        tiles.insert(tile.path(), bytes);
    }
    let read = t.elapsed();
    let t = Instant::now();
    let (report, _) = audit_tiles(
        cp.size(),
        cp.root(),
        &[],
        true,
        &mut Tiles(tiles),
        &mut |_| {},
    )
    .unwrap();
    println!(
        "   audit of {} entries: read {} tiles from the store in {read:.2?}, verified in {:.2?} ({} entries checked)",
        cp.size(),
        order.len(),
        t.elapsed(),
        report.entries_checked
    );
}
