//! Transparency-log benchmark on SQLite (durable commits, `synchronous = FULL`, WAL):
//! sustained appends per second from committed events to log entries, checkpoint signing,
//! then the time to audit the whole log from its tiles (every hash tile and entry bundle
//! read back through the node's tile reader, root recomputed).
//!
//! Run: `cargo bench -p silkgate-node --bench log_append -- [ENTRIES]` (default 1,000,000).

use std::time::Instant;

use silkgate_log::{TileId, TileSource, audit_order, audit_tiles};
use silkgate_model::NewEvent;
use silkgate_node::log_service::{NodeLog, read_published_tile};
use silkgate_store::Store;

struct Tiles(std::collections::HashMap<String, Vec<u8>>);

impl TileSource for Tiles {
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, silkgate_log::StorageError> {
        self.0
            .remove(&tile.path())
            .ok_or(silkgate_log::StorageError::Missing { what: tile.path() })
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let log = NodeLog::open(&store, "node-kz", &key).await.unwrap();

    // Events as the node writes them (a transfer id and two hashes each), committed in
    // chunks; then the sequencer appends them, one durable write per batch of 20,000.
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let chunk = 50_000u64;
    let mut appended = 0u64;
    let mut append_time = std::time::Duration::ZERO;
    let mut i = 0u64;
    while i < n {
        let mut tx = store.begin().await.unwrap();
        for j in i..(i + chunk).min(n) {
            tx.append_event(&NewEvent::new(
                "transfer.sealed",
                format!("tr-{j:08}"),
                serde_json::json!({"payload_sha256": sha, "ciphertext_sha256": sha, "size": j}),
            ))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        i = (i + chunk).min(n);
        let t = Instant::now();
        appended = log.sync(&store).await.unwrap();
        append_time += t.elapsed();
    }
    assert_eq!(appended, n);
    println!(
        "appends: {n} entries in {:.2?} = {:.0} entries/s (durable, batches of up to 20,000)",
        append_time,
        n as f64 / append_time.as_secs_f64()
    );

    // Audit from tiles.
    let checkpoint = log.checkpoint_bytes();
    let note = silkgate_log::Note::parse(&checkpoint).unwrap();
    let cp = silkgate_log::Checkpoint::parse_text(note.text_unverified()).unwrap();
    let t = Instant::now();
    let mut tiles = std::collections::HashMap::new();
    for tile in audit_order(cp.size(), true) {
        let bytes = read_published_tile(&store, &tile, cp.size()).await.unwrap();
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
        "audit of {} entries from tiles: read {} tiles from the store in {read:.2?}, verified in {:.2?} ({report:?})",
        cp.size(),
        audit_order(cp.size(), true).len(),
        t.elapsed()
    );
}
