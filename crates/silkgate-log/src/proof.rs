//! Verification of inclusion and consistency proofs, as the algorithms of RFC 9162,
//! sections 2.1.3.2 and 2.1.4.2, state them step by step.

use crate::hash::{Hash, node_hash};

/// A proof did not verify; says which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Leaf index at or beyond the tree size (RFC 9162, section 2.1.3.2, step 1).
    #[error("leaf index {index} is not in a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOrder {
        /// The older size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for the sizes (too short or too long).
    #[error("proof has the wrong length ({len} hashes) for these tree sizes")]
    Length {
        /// Number of hashes in the proof.
        len: usize,
    },
    /// The proof is well formed but the computed root differs from the expected one.
    #[error("computed root does not match the expected root")]
    RootMismatch,
    /// RFC 9162, section 2.1.4 defines consistency proofs from non-empty trees only. The empty
    /// tree is a prefix of every tree, so there is nothing to verify: callers that accept an
    /// old size of 0 (the tlog-witness `add-checkpoint` call) handle it before calling.
    #[error("no consistency proof exists from the empty tree; handle old size 0 before verifying")]
    EmptyOldTree,
}

/// Checks that `leaf` is the hash of leaf `index` in the tree of `tree_size` leaves with root
/// `root`, given the audit path `proof` (RFC 9162, section 2.1.3.2).
///
/// # Errors
/// A [`ProofError`] naming the failed check.
pub fn verify_inclusion(
    index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    // Steps 2 and 3.
    let mut f_n = index;
    let mut s_n = tree_size - 1;
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::Length { len: proof.len() });
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    if s_n != 0 {
        return Err(ProofError::Length { len: proof.len() });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, given the consistency proof `proof`
/// (RFC 9162, section 2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. An old size of 0 is refused
/// ([`ProofError::EmptyOldTree`]): the caller decides what the empty tree means to it.
///
/// # Errors
/// A [`ProofError`] naming the failed check.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizeOrder { old_size, new_size });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::Length { len: proof.len() });
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // Step 1.
    if proof.is_empty() {
        return Err(ProofError::Length { len: 0 });
    }
    // Step 2: if the old size is a power of two, the old root is the first node.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    // Step 3.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    // Step 4.
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    let mut f_r = path[0];
    let mut s_r = path[0];
    // Step 6.
    for c in &path[1..] {
        if s_n == 0 {
            return Err(ProofError::Length { len: proof.len() });
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(ProofError::Length { len: proof.len() });
    }
    if f_r != *old_root || s_r != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
