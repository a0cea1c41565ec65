//! The Merkle tree of RFC 6962, section 2.1, read through [`HashReader`].
//!
//! The log stores the hash of every *complete* subtree: the subtree at `level` and `index`
//! covers leaves `index * 2^level .. (index + 1) * 2^level` ([`NodeId`]). Those hashes never
//! change once written, so they can be kept in any append-only store, and every root, proof and
//! tile is computed from them: the hash of any range the RFC's recursion asks for is a fold of
//! the complete subtrees that tile it.

use crate::hash::{Hash, node_hash};

/// Names the hash of one complete subtree: `2^level` leaves starting at leaf
/// `index * 2^level`. Level 0 holds the leaf hashes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height of the subtree above the leaves (0 for a leaf hash).
    pub level: u8,
    /// Position of the subtree among the subtrees of the same level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The subtree of `2^level` leaves at `index`.
    pub fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// A storage backend failed or lacks data the tree needs. The text of the backend's error stays
/// inside the node that produced it: callers report "storage failed" to peers, never this text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A hash, entry or checkpoint that must exist for the requested tree size is not stored.
    #[error("log storage has no {what}")]
    Missing {
        /// What was looked for, e.g. "hash at level 3 index 17".
        what: String,
    },
    /// The backend reported an error.
    #[error("log storage backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Reads stored subtree hashes. The only way the tree code sees storage, so it stays pure and
/// the node can back it with SQLite, PostgreSQL or tiles fetched over HTTP.
pub trait HashReader {
    /// Returns the hashes of `ids`, in the same order.
    ///
    /// # Errors
    /// [`StorageError::Missing`] if one is not stored, [`StorageError::Backend`] if the backend
    /// fails.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StorageError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StorageError> {
        (**self).read_hashes(ids)
    }
}

/// A tree operation could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is not in a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The size of the tree.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOrder {
        /// The older (should be smaller) size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// The tree size is larger than the stored tree.
    #[error("tree size {asked} is larger than the log ({stored} entries)")]
    BeyondLog {
        /// The size asked for.
        asked: u64,
        /// The size of the stored log.
        stored: u64,
    },
    /// The [`HashReader`] returned a different number of hashes than asked.
    #[error("hash reader returned {got} hashes for {asked} requested")]
    ReaderCount {
        /// Hashes requested.
        asked: usize,
        /// Hashes returned.
        got: usize,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The complete subtrees that tile the leaf range `lo..hi`, left to right.
///
/// For the ranges RFC 6962's recursion produces (`lo` a multiple of a power of two at least
/// `hi - lo`) the sizes strictly decrease, and the Merkle Tree Hash of the range is the
/// right fold of their hashes with [`node_hash`].
pub fn range_nodes(mut lo: u64, hi: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    while lo < hi {
        // The largest aligned power of two that starts at `lo` and fits before `hi`.
        let align = if lo == 0 { 63 } else { lo.trailing_zeros() };
        let fit = 63 - (hi - lo).leading_zeros();
        let level = align.min(fit);
        out.push(NodeId::new(level as u8, lo >> level));
        lo += 1u64 << level;
    }
    out
}

/// Folds the hashes of [`range_nodes`] into the Merkle Tree Hash of their range.
fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    )
}

/// Reads `ids` and checks the reader kept its contract.
fn read_exact(reader: &impl HashReader, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
    let hashes = reader.read_hashes(ids)?;
    if hashes.len() != ids.len() {
        return Err(TreeError::ReaderCount {
            asked: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// The Merkle Tree Hashes of several leaf ranges, read in one batch.
fn range_hashes(ranges: &[(u64, u64)], reader: &impl HashReader) -> Result<Vec<Hash>, TreeError> {
    let per_range: Vec<Vec<NodeId>> = ranges.iter().map(|&(lo, hi)| range_nodes(lo, hi)).collect();
    let all: Vec<NodeId> = per_range.iter().flatten().copied().collect();
    let hashes = read_exact(reader, &all)?;
    let mut out = Vec::with_capacity(ranges.len());
    let mut at = 0;
    for nodes in &per_range {
        let slice = &hashes[at..at + nodes.len()];
        at += nodes.len();
        // `range_nodes` of a non-empty range is non-empty; proofs never ask for empty ranges.
        out.push(fold_right(slice).expect("proof ranges are never empty"));
    }
    Ok(out)
}

/// The root hash of the first `size` leaves (RFC 6962, section 2.1, `MTH(D[0:size])`).
///
/// # Errors
/// [`TreeError::Storage`] when a needed hash is not stored.
pub fn tree_hash(size: u64, reader: &impl HashReader) -> Result<Hash, TreeError> {
    if size == 0 {
        return Ok(crate::hash::empty_root());
    }
    Ok(range_hashes(&[(0, size)], reader)?[0])
}

/// Largest power of two strictly smaller than `n` (`n >= 2`), the split point `k` of
/// RFC 6962, section 2.1.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The ranges whose hashes make the audit path `PATH(m, D[lo:hi])` of RFC 6962,
/// section 2.1.1, from the leaf's sibling up to the root's child.
fn inclusion_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    if hi - lo <= 1 {
        return;
    }
    let k = split_point(hi - lo);
    if m < lo + k {
        inclusion_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        inclusion_ranges(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The ranges of `SUBPROOF(m, D[lo:hi], b)` of RFC 6962, section 2.1.2.
fn consistency_ranges(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        consistency_ranges(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        consistency_ranges(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `size` leaves
/// (RFC 6962, section 2.1.1; RFC 9162, section 2.1.3.1).
///
/// # Errors
/// [`TreeError::IndexOutOfRange`] when `index >= size`; [`TreeError::Storage`] when a needed
/// hash is not stored.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange {
            index,
            tree_size: size,
        });
    }
    let mut ranges = Vec::new();
    inclusion_ranges(index, 0, size, &mut ranges);
    range_hashes(&ranges, reader)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`
/// (RFC 6962, section 2.1.2; RFC 9162, section 2.1.4.1). Empty when `old_size` is 0 or equals
/// `new_size`, as the tlog-witness `add-checkpoint` call expects.
///
/// # Errors
/// [`TreeError::SizeOrder`] when `old_size > new_size`; [`TreeError::Storage`] when a needed
/// hash is not stored.
pub fn consistency_proof(
    old_size: u64,
    new_size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, TreeError> {
    if old_size > new_size {
        return Err(TreeError::SizeOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let mut ranges = Vec::new();
    consistency_ranges(old_size, 0, new_size, true, &mut ranges);
    range_hashes(&ranges, reader)
}

/// The right edge of the tree: the hashes of the complete subtrees that tile leaves
/// `0..size` (a "compact range"). Appending a leaf needs only these, so the log appends
/// without reading storage, and each append yields the new complete-subtree hashes to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, Hash)>,
}

impl Default for Frontier {
    fn default() -> Self {
        Self::empty()
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Self {
            size: 0,
            nodes: Vec::new(),
        }
    }

    /// Reads the frontier of a stored tree of `size` leaves.
    ///
    /// # Errors
    /// [`TreeError::Storage`] when a hash on the right edge is not stored.
    pub fn load(size: u64, reader: &impl HashReader) -> Result<Self, TreeError> {
        let ids = range_nodes(0, size);
        let hashes = read_exact(reader, &ids)?;
        Ok(Self {
            size,
            nodes: ids.into_iter().zip(hashes).collect(),
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash (RFC 6962, section 2.1).
    pub fn root(&self) -> Hash {
        let hashes: Vec<Hash> = self.nodes.iter().map(|(_, h)| *h).collect();
        fold_right(&hashes).unwrap_or_else(crate::hash::empty_root)
    }

    /// Adds one leaf hash and pushes onto `new_nodes` every complete subtree hash this creates
    /// (the leaf itself, then each parent it completes), which the caller must store.
    pub fn append(&mut self, leaf: Hash, new_nodes: &mut Vec<(NodeId, Hash)>) {
        let id = NodeId::new(0, self.size);
        self.nodes.push((id, leaf));
        new_nodes.push((id, leaf));
        while self.nodes.len() >= 2 {
            let (right_id, right) = self.nodes[self.nodes.len() - 1];
            let (left_id, left) = self.nodes[self.nodes.len() - 2];
            if left_id.level != right_id.level {
                break;
            }
            self.nodes.truncate(self.nodes.len() - 2);
            let parent = (
                NodeId::new(left_id.level + 1, left_id.index / 2),
                node_hash(&left, &right),
            );
            self.nodes.push(parent);
            new_nodes.push(parent);
        }
        self.size += 1;
    }
}

#[cfg(test)]
mod tests;
