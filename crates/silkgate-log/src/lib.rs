//! The transparency log of a Silkgate node: an append-only RFC 6962 Merkle tree of event
//! entries, published as C2SP checkpoints (`tlog-checkpoint`, signed as `signed-note`s) and
//! tiles (`tlog-tiles`), witnessed by the other states' nodes (`tlog-witness`,
//! `tlog-cosignature`), with offline receipts (`tlog-proof`).
//!
//! Main types: [`Log`] (append in batches, sign checkpoints, serve tiles and proofs) over a
//! [`LogStorage`]; [`Entry`] (what is logged); [`Checkpoint`], [`Note`] and
//! [`VerifiedCheckpoint`]; [`Witness`]; [`Receipt`]; [`audit_tiles`] for outside auditors.
//!
//! Invariants: the crate knows nothing of HTTP or SQL; the tree reads hashes through
//! [`HashReader`] and the node supplies storage, network and time. No personal data and no
//! payload bytes enter an entry: [`Entry`] holds only tokens, opaque identifiers and digests.
//! Text from peers is parsed strictly (notes, checkpoints, tiles, proofs) and refused with an
//! error that says which field is wrong.
//!
//! ```
//! use silkgate_log::{Entry, EventKind, Digest, KeyName, Log, LogTrust, MemoryStorage,
//!     NoteSigner, SignatureType, VerifiedCheckpoint};
//!
//! let origin = "log.kz.silkgate.example";
//! let signer = NoteSigner::from_seed(KeyName::new(origin)?, SignatureType::Ed25519, [7; 32]);
//! let trust = LogTrust { origin: origin.into(), log_keys: vec![signer.verifier()],
//!     witness_keys: vec![], quorum: 0 };
//! let mut log = Log::open(origin, signer, MemoryStorage::new())?;
//! let entry = Entry::builder(EventKind::new("transfer.requested")?, 1_764_147_600_000)
//!     .id("transfer", "tr-0001")
//!     .digest("payload", Digest::of(b"the payload stays outside the log"))
//!     .build()?;
//! let indexes = log.append_batch(&[entry])?;
//! let checkpoint = log.sign_checkpoint()?;
//! let receipt = log.receipt(indexes.start, &checkpoint.to_bytes())?;
//! let verified = receipt.verify(&trust)?;
//! assert_eq!(verified.entry.kind().as_str(), "transfer.requested");
//! let _ = VerifiedCheckpoint::open(&checkpoint.to_bytes(), &trust)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checkpoint;
pub mod entry;
pub mod event;
pub mod hash;
pub mod log;
pub mod note;
pub mod proof;
pub mod receipt;
pub mod tile;
pub mod tree;
pub mod trust;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, LogTrust, VerifiedCheckpoint};
pub use entry::{Digest, Entry, EntryBuilder, EntryError, EventKind};
pub use event::entry_from_event;
pub use hash::{Hash, HashError, empty_root, leaf_hash, node_hash};
pub use log::{AppendBatch, Log, LogError, LogStorage, MemoryStorage};
pub use note::{
    KeyName, Note, NoteError, NoteSignature, NoteSigner, SignatureType, VerifiedNote, VerifierKey,
    VerifierKeyError, Verifiers,
};
pub use proof::{ProofError, verify_consistency, verify_inclusion};
pub use receipt::{Receipt, ReceiptError, VerifiedReceipt};
pub use tile::{
    AuditError, AuditReport, TileError, TileId, TileKind, TileSource, audit_order, audit_tiles,
};
pub use tree::{
    Frontier, HashReader, NodeId, StorageError, TreeError, consistency_proof, inclusion_proof,
    tree_hash,
};
pub use trust::{TrustError, TrustList};
pub use witness::{AddCheckpoint, Cosigned, CosignedState, Evidence, Witness, WitnessError};
