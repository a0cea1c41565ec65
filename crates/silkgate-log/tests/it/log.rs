//! The log: batched appends, failure atomicity, reopening, tiles served and audited.

use silkgate_log::tile::{TILE_WIDTH, parse_entry_bundle, tiles_for_size};
use silkgate_log::{
    AuditError, Entry, Hash, HashReader, Log, LogError, LogStorage, MemoryStorage, NodeId,
    StorageError, TileId, TileSource, VerifiedCheckpoint, audit_tiles, leaf_hash, tree_hash,
    verify_inclusion,
};

use crate::common::{ORIGIN, entry, log_signer, log_with, trust};

#[test]
fn batches_get_consecutive_indexes_and_one_root() {
    let mut log = Log::open(ORIGIN, log_signer(1), MemoryStorage::new()).unwrap();
    let a: Vec<Entry> = (0..3).map(entry).collect();
    let b: Vec<Entry> = (3..10).map(entry).collect();
    assert_eq!(log.append_batch(&a).unwrap(), 0..3);
    assert_eq!(log.append_batch(&b).unwrap(), 3..10);
    assert_eq!(log.append_batch(&[]).unwrap(), 10..10);
    // Same entries one by one: same tree.
    let single = log_with(10, 1);
    assert_eq!(single.root(), log.root());
    assert_eq!(tree_hash(10, log.storage()).unwrap(), log.root());
    assert_eq!(log.entries(3..4).unwrap(), vec![entry(3)]);
}

/// STYLE.md item 11: fault injection. A failed commit leaves neither entries nor hashes, and the
/// log carries on from where it was.
#[test]
fn a_failed_commit_leaves_no_trace() {
    let log = log_with(5, 5);
    let root = log.root();
    let mut storage = log.storage().clone();
    storage.fail_commits = 1;
    let mut log = Log::open(ORIGIN, log_signer(1), storage).unwrap();
    let err = log.append_batch(&[entry(5), entry(6)]).unwrap_err();
    assert!(
        matches!(err, LogError::Storage(StorageError::Backend(_))),
        "{err}"
    );
    assert_eq!(log.size(), 5);
    assert_eq!(log.root(), root);
    assert_eq!(log.storage().tree_size().unwrap(), 5);
    assert_eq!(log.append_batch(&[entry(5), entry(6)]).unwrap(), 5..7);
    assert_eq!(log.root(), log_with(7, 7).root());
}

#[test]
fn reopening_storage_continues_the_same_tree() {
    let log = log_with(300, 64);
    let storage = log.storage().clone();
    let mut reopened = Log::open(ORIGIN, log_signer(1), storage).unwrap();
    assert_eq!(reopened.size(), 300);
    assert_eq!(reopened.root(), log.root());
    reopened.append_batch(&[entry(300)]).unwrap();
    assert_eq!(reopened.root(), log_with(301, 1000).root());
}

#[test]
fn a_commit_that_does_not_start_at_the_stored_size_is_refused() {
    let log = log_with(3, 3);
    let mut storage = log.storage().clone();
    let mut stale = silkgate_log::AppendBatch {
        start: 2,
        entries: vec![entry(9).to_bytes()],
        hashes: vec![],
    };
    assert!(storage.commit(&stale).is_err());
    stale.start = 3;
    assert!(storage.commit(&stale).is_ok());
}

#[test]
fn signed_checkpoints_verify_and_are_stored() {
    let mut log = log_with(20, 7);
    let note = log.sign_checkpoint().unwrap();
    let v = VerifiedCheckpoint::open(&note.to_bytes(), &trust(&[], 0)).unwrap();
    assert_eq!(v.checkpoint().size(), 20);
    assert_eq!(*v.checkpoint().root(), log.root());
    assert_eq!(
        log.storage().latest_checkpoint().unwrap(),
        Some(note.to_bytes())
    );
}

#[test]
fn proofs_from_the_log_verify() {
    let log = log_with(1000, 100);
    let root = log.root();
    for index in [0u64, 255, 256, 511, 999] {
        let proof = log.inclusion_proof(index, 1000).unwrap();
        verify_inclusion(
            index,
            1000,
            &leaf_hash(&entry(index).to_bytes()),
            &proof,
            &root,
        )
        .unwrap();
    }
    let old_root = tree_hash(300, log.storage()).unwrap();
    let proof = log.consistency_proof(300, 1000).unwrap();
    silkgate_log::verify_consistency(300, 1000, &old_root, &root, &proof).unwrap();
    assert!(log.inclusion_proof(5, 1001).is_err(), "beyond the log");
}

/// Serves a log's tiles the way the node will: through [`Log::read_tile`] at the published
/// size, counting fetches.
struct Served<'a> {
    log: &'a Log<MemoryStorage>,
    published: u64,
}

impl TileSource for Served<'_> {
    fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, StorageError> {
        self.log
            .read_tile(&tile.path(), self.published)
            .map_err(|e| StorageError::Backend(e.to_string().into()))
    }
}

#[test]
fn tiles_hold_the_stored_hashes_and_bundles_the_entries() {
    let log = log_with(70_000 / 100, 50);
    let size = log.size();
    for tile in tiles_for_size(size, true) {
        let bytes = log.read_tile(&tile.path(), size).unwrap();
        match tile.kind {
            silkgate_log::TileKind::Hashes(_) => {
                let hashes = log.storage().read_hashes(&tile.nodes()).unwrap();
                let want: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
                assert_eq!(bytes, want, "{tile}");
            }
            silkgate_log::TileKind::Entries => {
                let entries = parse_entry_bundle(&bytes).unwrap();
                assert_eq!(entries.len(), usize::from(tile.width));
                let first = tile.index * TILE_WIDTH;
                assert_eq!(entries[0], entry(first).to_bytes().as_slice());
            }
        }
    }
    // Beyond the published checkpoint: refused, even though stored.
    let err = log.read_tile("tile/0/002.p/188", 600).unwrap_err();
    assert!(
        matches!(err, LogError::TileNotPublished { published: 600, .. }),
        "{err}"
    );
    assert!(log.read_tile("tile/0/002.p/188", 700).is_ok());
    assert!(matches!(
        log.read_tile("tile/0/2", 700),
        Err(LogError::Tile(_))
    ));
}

#[test]
fn audit_recomputes_the_root_from_tiles() {
    let log = log_with(70_000, 5_000);
    let size = log.size();
    let root = log.root();
    let old_root = tree_hash(12_345, log.storage()).unwrap();
    let mut seen = Vec::new();
    let (report, roots) = audit_tiles(
        size,
        &root,
        &[12_345, 0, size],
        true,
        &mut Served {
            log: &log,
            published: size,
        },
        &mut |n| seen.push(n),
    )
    .unwrap();
    assert_eq!(report.root, root);
    assert_eq!(report.entries_checked, size);
    // 274 level-0 tiles and 274 bundles, 2 level-1 tiles, 1 level-2 tile.
    assert_eq!(report.tiles_fetched, 274 * 2 + 2 + 1);
    assert_eq!(roots, vec![old_root, silkgate_log::empty_root(), root]);
    assert_eq!(seen.last(), Some(&size));

    // The fetch order is the documented one, so a network source can prefetch.
    struct Recording<'a>(Served<'a>, Vec<TileId>);
    impl TileSource for Recording<'_> {
        fn fetch(&mut self, tile: &TileId) -> Result<Vec<u8>, StorageError> {
            self.1.push(*tile);
            self.0.fetch(tile)
        }
    }
    let mut rec = Recording(
        Served {
            log: &log,
            published: size,
        },
        Vec::new(),
    );
    audit_tiles(size, &root, &[], true, &mut rec, &mut |_| {}).unwrap();
    assert_eq!(rec.1, silkgate_log::tile::audit_order(size, true));
}

#[test]
fn audit_detects_a_rewritten_entry_and_a_rewritten_hash() {
    let log = log_with(1_000, 1_000);
    let size = log.size();
    let root = log.root();

    // An entry rewritten in the database without its hash: the bundle no longer matches.
    let mut storage = log.storage().clone();
    storage.danger_overwrite_entry(700, entry(9_999).to_bytes());
    let tampered = Log::open(ORIGIN, log_signer(1), storage).unwrap();
    let err = audit_tiles(
        size,
        &root,
        &[],
        true,
        &mut Served {
            log: &tampered,
            published: size,
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, AuditError::EntryMismatch { index: 700 }),
        "{err}"
    );

    // Entry and leaf hash rewritten together: the root no longer matches the checkpoint.
    let mut storage = log.storage().clone();
    storage.danger_overwrite_entry(700, entry(9_999).to_bytes());
    storage.danger_overwrite_hash(NodeId::new(0, 700), leaf_hash(&entry(9_999).to_bytes()));
    let tampered = Log::open(ORIGIN, log_signer(1), storage).unwrap();
    let err = audit_tiles(
        size,
        &root,
        &[],
        true,
        &mut Served {
            log: &tampered,
            published: size,
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::RootMismatch { .. }), "{err}");

    // An upper-level hash rewritten: the level-1 tile disagrees with the leaves.
    let mut storage = log.storage().clone();
    storage.danger_overwrite_hash(NodeId::new(8, 1), Hash([0; 32]));
    let tampered = Log::open(ORIGIN, log_signer(1), storage).unwrap();
    let err = audit_tiles(
        size,
        &root,
        &[],
        true,
        &mut Served {
            log: &tampered,
            published: size,
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, AuditError::UpperTileMismatch { position: 1, .. }),
        "{err}"
    );
}
