//! Receipt bundles: an entry, its inclusion proof and the cosigned checkpoint in one file, in
//! the C2SP `tlog-proof` format (c2sp.org/tlog-proof), verifiable offline with only the trust
//! list. The entry travels in the `extra` line, which tlog-proof provides for "additional data
//! necessary to reconstruct the record hash": the verifier hashes it into the leaf, so it is
//! authenticated by the inclusion proof, never trusted on its own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{CheckpointError, LogTrust, VerifiedCheckpoint, parse_decimal};
use crate::entry::{Entry, EntryError};
use crate::hash::{Hash, HashError, leaf_hash};
use crate::proof::{ProofError, verify_inclusion};

/// First line of a tlog-proof (tlog-proof, "Format").
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Most inclusion proof lines: a tree of 2^64 leaves has 64 levels.
const MAX_PROOF_LINES: usize = 64;

/// A receipt bundle, unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The entry bytes.
    pub entry: Vec<u8>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// Inclusion proof from the leaf's sibling up to the root's child (RFC 6962, 2.1.1).
    pub proof: Vec<Hash>,
    /// The signed checkpoint, with cosignatures, verbatim.
    pub checkpoint: Vec<u8>,
}

/// A receipt could not be parsed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The file is not a tlog-proof.
    #[error("receipt is malformed at line {line}: {reason}")]
    Format {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A proof line is not a hash.
    #[error("receipt inclusion proof line {line}: {source}")]
    ProofHash {
        /// 1-based line.
        line: usize,
        /// Why.
        source: HashError,
    },
    /// The checkpoint did not verify against the trust list, or lacks the quorum.
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not bind the entry to the checkpoint's root.
    #[error("receipt inclusion proof: {0}")]
    Inclusion(#[from] ProofError),
    /// The entry is not a valid entry.
    #[error("receipt entry: {0}")]
    Entry(#[from] EntryError),
}

impl Receipt {
    /// Serialises as a tlog-proof (tlog-proof, "Format").
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "{PROOF_HEADER}\nextra {}\nindex {}\n",
            BASE64.encode(&self.entry),
            self.index
        );
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a tlog-proof carrying an entry in its `extra` line.
    ///
    /// # Errors
    /// [`ReceiptError`] naming the line and what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let fmt = |line: usize, reason: &'static str| ReceiptError::Format { line, reason };
        let text = std::str::from_utf8(bytes).map_err(|_| fmt(1, "not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(fmt(1, "no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        if lines.next().map(|(_, l)| l) != Some(PROOF_HEADER) {
            return Err(fmt(1, "first line is not c2sp.org/tlog-proof@v1"));
        }
        let (n, extra_line) = lines.next().ok_or(fmt(2, "missing extra line"))?;
        let extra = extra_line.strip_prefix("extra ").ok_or(fmt(
            n,
            "expected 'extra <base64 entry>' (the entry is required)",
        ))?;
        let entry = BASE64
            .decode(extra)
            .map_err(|_| fmt(n, "extra is not base64"))?;
        let (n, index_line) = lines.next().ok_or(fmt(3, "missing index line"))?;
        let index = index_line
            .strip_prefix("index ")
            .ok_or(fmt(n, "expected 'index <decimal>'"))?;
        let index = parse_decimal(index).map_err(|reason| fmt(n, reason))?;
        let mut proof = Vec::new();
        for (n, line) in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(fmt(n, "more than 64 inclusion proof lines"));
            }
            proof.push(
                Hash::from_base64(line)
                    .map_err(|source| ReceiptError::ProofHash { line: n, source })?,
            );
        }
        Ok(Self {
            entry,
            index,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// Verifies offline (tlog-proof, "Verifying a tlog proof"): the checkpoint is signed by
    /// the log's key for its origin (step 2), carries at least `trust.quorum` valid
    /// cosignatures from trusted witnesses (step 3), and the inclusion proof binds the entry's
    /// leaf hash (step 1) to its root (step 4). The entry must also parse as an [`Entry`].
    ///
    /// # Errors
    /// [`ReceiptError`] naming the failed step.
    pub fn verify(&self, trust: &LogTrust) -> Result<VerifiedReceipt, ReceiptError> {
        let leaf = leaf_hash(&self.entry);
        let checkpoint = VerifiedCheckpoint::open(&self.checkpoint, trust)?;
        checkpoint.require_quorum(trust.quorum)?;
        let cp = checkpoint.checkpoint();
        verify_inclusion(self.index, cp.size(), &leaf, &self.proof, cp.root())?;
        let entry = Entry::parse(&self.entry)?;
        Ok(VerifiedReceipt {
            entry,
            index: self.index,
            checkpoint,
        })
    }
}

/// A receipt that verified: the entry is in the log, under a final checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The entry.
    pub entry: Entry,
    /// Its index.
    pub index: u64,
    /// The checkpoint it is included in, with its cosigners.
    pub checkpoint: VerifiedCheckpoint,
}
