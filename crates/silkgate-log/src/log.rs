//! The append-only log of one node: batched appends through [`LogStorage`], signed
//! checkpoints, proofs, tiles and receipts.

use std::collections::HashMap;
use std::ops::Range;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::entry::Entry;
use crate::hash::{Hash, leaf_hash};
use crate::note::{Note, NoteSigner};
use crate::receipt::Receipt;
use crate::tile::{TileError, TileId, TileKind, encode_entry_bundle, read_hash_tile, tile_within};
use crate::tree::{
    Frontier, HashReader, NodeId, StorageError, TreeError, consistency_proof, inclusion_proof,
};

/// One durable write: the entries of a batch and every tree hash they complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendBatch {
    /// Index of the first entry; equals the stored size before the batch.
    pub start: u64,
    /// The encoded entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// The new complete-subtree hashes, leaves first within each entry.
    pub hashes: Vec<(NodeId, Hash)>,
}

/// Where a log keeps its entries, hashes and latest checkpoint. The node implements it over
/// `silkgate-store` (SQLite by default); [`MemoryStorage`] serves tests and benchmarks.
///
/// Contract: [`LogStorage::commit`] is atomic and durable (all of a batch or none of it, on
/// disk when it returns), and it refuses a batch whose `start` is not the stored size, so two
/// writers cannot interleave. Everything else follows from the hashes being append-only.
pub trait LogStorage: HashReader {
    /// Number of entries durably stored.
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails.
    fn tree_size(&self) -> Result<u64, StorageError>;

    /// Stores a batch atomically and durably.
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails or `batch.start` is not the stored size; then
    /// nothing of the batch is stored.
    fn commit(&mut self, batch: &AppendBatch) -> Result<(), StorageError>;

    /// Reads the entries with indexes in `range`.
    ///
    /// # Errors
    /// [`StorageError::Missing`] when the range goes past the stored size.
    fn read_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StorageError>;

    /// The latest signed checkpoint stored, if any.
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails.
    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError>;

    /// Replaces the latest signed checkpoint (with its cosignatures, as they arrive).
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails.
    fn store_checkpoint(&mut self, size: u64, signed: &[u8]) -> Result<(), StorageError>;
}

/// A log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Storage failed; nothing of the operation took effect.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A tree computation failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// Signing or reading a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tile request is malformed.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// A tile or bundle beyond the latest published checkpoint (tlog-tiles, "Partial Tiles":
    /// clients must not fetch tiles no checkpoint requires; we do not serve them).
    #[error("{tile} is not part of the published tree of size {published}")]
    TileNotPublished {
        /// The tile path.
        tile: String,
        /// Size of the latest checkpoint.
        published: u64,
    },
    /// The entry stored at an index does not parse.
    #[error("entry {index} in storage is not a valid entry: {reason}")]
    CorruptEntry {
        /// The index.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// A node's transparency log. Appends go through [`Log::append_batch`], which commits many
/// entries in one durable write (group commit), so the node batches concurrent requests and
/// acknowledges each once its batch returns.
#[derive(Debug)]
pub struct Log<S> {
    origin: String,
    signer: NoteSigner,
    storage: S,
    frontier: Frontier,
}

impl<S: LogStorage> Log<S> {
    /// Opens the log kept in `storage`, reading its right edge so appends need no reads.
    /// The `signer`'s key name should be the `origin` (tlog-checkpoint, "Signatures").
    ///
    /// # Errors
    /// [`LogError::Storage`] or [`LogError::Tree`] when the stored tree is incomplete.
    pub fn open(origin: &str, signer: NoteSigner, storage: S) -> Result<Self, LogError> {
        // Validate the origin once, so signing checkpoints cannot fail on it later.
        Checkpoint::new(origin, 0, crate::hash::empty_root())?;
        let size = storage.tree_size()?;
        let frontier = Frontier::load(size, &storage)?;
        Ok(Self {
            origin: origin.to_owned(),
            signer,
            storage,
            frontier,
        })
    }

    /// The origin line of this log's checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Current root hash.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The storage, for the node's other reads.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Appends `entries` in one durable commit and returns their indexes. On error nothing
    /// was appended and the log is unchanged.
    ///
    /// # Errors
    /// [`LogError::Storage`] when the commit fails.
    pub fn append_batch(&mut self, entries: &[Entry]) -> Result<Range<u64>, LogError> {
        let start = self.frontier.size();
        let mut frontier = self.frontier.clone();
        let mut batch = AppendBatch {
            start,
            entries: Vec::with_capacity(entries.len()),
            hashes: Vec::with_capacity(entries.len() * 2),
        };
        for e in entries {
            let bytes = e.to_bytes();
            frontier.append(leaf_hash(&bytes), &mut batch.hashes);
            batch.entries.push(bytes);
        }
        self.storage.commit(&batch)?;
        self.frontier = frontier;
        Ok(start..self.frontier.size())
    }

    /// Signs a checkpoint of the current tree and stores it as the latest. The log only signs
    /// its own append-only tree, so every checkpoint it signs is consistent with the earlier
    /// ones (tlog-checkpoint, "Signatures").
    ///
    /// # Errors
    /// [`LogError::Storage`] when it cannot be stored.
    pub fn sign_checkpoint(&mut self) -> Result<Note, LogError> {
        let cp = Checkpoint::new(&self.origin, self.size(), self.root())?;
        let note = cp.sign(&self.signer)?;
        self.storage.store_checkpoint(cp.size(), &note.to_bytes())?;
        Ok(note)
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    ///
    /// # Errors
    /// [`LogError::Tree`] when `index >= size` or `size` exceeds the log.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(size)?;
        Ok(inclusion_proof(index, size, &self.storage)?)
    }

    /// Consistency proof from `old_size` to `new_size`, for witnesses (tlog-witness,
    /// "add-checkpoint").
    ///
    /// # Errors
    /// [`LogError::Tree`] when the sizes are out of order or exceed the log.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LogError> {
        self.check_size(new_size)?;
        Ok(consistency_proof(old_size, new_size, &self.storage)?)
    }

    fn check_size(&self, size: u64) -> Result<(), LogError> {
        if size > self.size() {
            return Err(TreeError::BeyondLog {
                asked: size,
                stored: self.size(),
            }
            .into());
        }
        Ok(())
    }

    /// The bytes to serve for a tile path (`tile/...`, relative to the `/log/` prefix),
    /// refusing tiles beyond `published_size`, the size of the latest checkpoint served.
    ///
    /// # Errors
    /// [`LogError::Tile`] for a malformed path, [`LogError::TileNotPublished`] for a tile the
    /// published tree does not contain.
    pub fn read_tile(&self, path: &str, published_size: u64) -> Result<Vec<u8>, LogError> {
        let tile = TileId::parse(path)?;
        if !tile_within(&tile, published_size.min(self.size())) {
            return Err(LogError::TileNotPublished {
                tile: tile.path(),
                published: published_size,
            });
        }
        match tile.kind {
            TileKind::Hashes(_) => Ok(read_hash_tile(&tile, &self.storage)?),
            TileKind::Entries => {
                let start = tile.index * crate::tile::TILE_WIDTH;
                let entries = self
                    .storage
                    .read_entries(start..start + u64::from(tile.width))?;
                Ok(encode_entry_bundle(&entries)?)
            }
        }
    }

    /// Reads and parses entries.
    ///
    /// # Errors
    /// [`LogError::Storage`], or [`LogError::CorruptEntry`] for bytes that do not parse.
    pub fn entries(&self, range: Range<u64>) -> Result<Vec<Entry>, LogError> {
        let start = range.start;
        self.storage
            .read_entries(range)?
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Entry::parse(b).map_err(|e| LogError::CorruptEntry {
                    index: start + i as u64,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// A receipt bundle for entry `index` against a signed (ideally cosigned) checkpoint of
    /// this log, as a tlog-proof (c2sp.org/tlog-proof).
    ///
    /// # Errors
    /// [`LogError::Checkpoint`] when `checkpoint` is not a checkpoint; [`LogError::Tree`] when
    /// the index is not in it.
    pub fn receipt(&self, index: u64, checkpoint: &[u8]) -> Result<Receipt, LogError> {
        let note = Note::parse(checkpoint).map_err(CheckpointError::from)?;
        let cp = Checkpoint::parse_text(note.text_unverified())?;
        self.check_size(cp.size())?;
        let proof = inclusion_proof(index, cp.size(), &self.storage)?;
        let entry = self
            .storage
            .read_entries(index..index + 1)?
            .pop()
            .ok_or_else(|| StorageError::Missing {
                what: format!("entry {index}"),
            })?;
        Ok(Receipt {
            entry,
            index,
            proof,
            checkpoint: note.to_bytes(),
        })
    }
}

/// An in-memory [`LogStorage`] for tests and benchmarks. Not durable: the node uses
/// `silkgate-store`. `fail_commits` injects commit failures to test that a failed batch leaves
/// no trace.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    entries: Vec<Vec<u8>>,
    hashes: HashMap<NodeId, Hash>,
    checkpoint: Option<(u64, Vec<u8>)>,
    /// When above 0, the next commits fail (and this counts down).
    pub fail_commits: usize,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Overwrites a stored hash, as an attacker with database access could; for tests of
    /// tamper detection.
    pub fn danger_overwrite_hash(&mut self, id: NodeId, hash: Hash) {
        self.hashes.insert(id, hash);
    }

    /// Overwrites a stored entry without touching its hashes; for tests of tamper detection.
    pub fn danger_overwrite_entry(&mut self, index: u64, entry: Vec<u8>) {
        if let Some(e) = self.entries.get_mut(index as usize) {
            *e = entry;
        }
    }
}

impl HashReader for MemoryStorage {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StorageError> {
        ids.iter()
            .map(|id| {
                self.hashes
                    .get(id)
                    .copied()
                    .ok_or_else(|| StorageError::Missing {
                        what: format!("hash at level {} index {}", id.level, id.index),
                    })
            })
            .collect()
    }
}

impl LogStorage for MemoryStorage {
    fn tree_size(&self) -> Result<u64, StorageError> {
        Ok(self.entries.len() as u64)
    }

    fn commit(&mut self, batch: &AppendBatch) -> Result<(), StorageError> {
        if self.fail_commits > 0 {
            self.fail_commits -= 1;
            return Err(StorageError::Backend("injected commit failure".into()));
        }
        if batch.start != self.entries.len() as u64 {
            return Err(StorageError::Backend(
                format!(
                    "batch starts at {} but the log has {} entries",
                    batch.start,
                    self.entries.len()
                )
                .into(),
            ));
        }
        self.entries.extend(batch.entries.iter().cloned());
        self.hashes.extend(batch.hashes.iter().copied());
        Ok(())
    }

    fn read_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StorageError> {
        if range.end > self.entries.len() as u64 || range.start > range.end {
            return Err(StorageError::Missing {
                what: format!("entries {}..{}", range.start, range.end),
            });
        }
        Ok(self.entries[range.start as usize..range.end as usize].to_vec())
    }

    fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.checkpoint.as_ref().map(|(_, c)| c.clone()))
    }

    fn store_checkpoint(&mut self, size: u64, signed: &[u8]) -> Result<(), StorageError> {
        self.checkpoint = Some((size, signed.to_vec()));
        Ok(())
    }
}
