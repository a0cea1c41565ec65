//! SHA-256 Merkle tree hashes as RFC 6962, section 2.1 (RFC 9162, section 2.1.1) defines them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
///
/// A newtype rather than `[u8; 32]` so that a hash of the tree cannot be confused with other
/// 32-byte values (keys, document digests) at a call site.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

/// Length of a [`Hash`] in bytes.
pub const HASH_SIZE: usize = 32;

impl Hash {
    /// Reads a hash from exactly 32 bytes.
    ///
    /// # Errors
    /// [`HashError::Length`] when `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| HashError::Length { got: bytes.len() })?;
        Ok(Self(array))
    }

    /// Decodes the standard base64 (RFC 4648, section 4) form used by checkpoints, proofs and
    /// the witness protocol.
    ///
    /// # Errors
    /// [`HashError::Base64`] for text that is not base64, [`HashError::Length`] when it does
    /// not decode to 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, HashError> {
        let bytes = BASE64.decode(text).map_err(|_| HashError::Base64)?;
        Self::from_slice(&bytes)
    }

    /// Encodes as standard base64 with padding (44 characters).
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Lower-case hexadecimal form, for people reading logs and reports.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// A hash could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The text is not standard base64.
    #[error("hash is not valid base64 (RFC 4648, section 4)")]
    Base64,
    /// The bytes are not a SHA-256 hash.
    #[error("hash is {got} bytes long, expected 32 (SHA-256)")]
    Length {
        /// The length that was found.
        got: usize,
    },
}

/// The hash of one leaf: `SHA-256(0x00 || entry)` (RFC 6962, section 2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 6962, section 2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree: `SHA-256()` of no input (RFC 6962, section 2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}
