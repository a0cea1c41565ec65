//! The transparency log: RFC 6962 Merkle tree, C2SP checkpoints, signed notes, tiles and
//! witness cosignatures.
//!
//! Invariant: the log knows nothing of HTTP or SQL; it reads hashes through a trait.
//! (Built out by the transparency-log issue.)
