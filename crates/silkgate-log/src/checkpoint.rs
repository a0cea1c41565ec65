//! Checkpoints as C2SP `tlog-checkpoint` specifies them (c2sp.org/tlog-checkpoint): a signed
//! note whose text is the origin, the tree size and the base64 root hash, then optional
//! extension lines.

use std::fmt;

use crate::hash::{Hash, HashError};
use crate::note::{
    KeyName, Note, NoteError, NoteSigner, SignatureType, VerifiedNote, VerifierKey, Verifiers,
};

/// The head of a log's tree at one size, as the note text of a checkpoint carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    ///
    /// # Errors
    /// [`CheckpointError::Origin`] when the origin is empty or not one line.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        check_line(origin).map_err(|reason| CheckpointError::Origin { reason })?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds extension lines (tlog-checkpoint, "Note text", item 4: opaque, optional, and NOT
    /// RECOMMENDED since monitors cannot audit them).
    ///
    /// # Errors
    /// [`CheckpointError::Extension`] when a line is empty or contains a newline.
    pub fn with_extensions(mut self, lines: Vec<String>) -> Result<Self, CheckpointError> {
        for (i, line) in lines.iter().enumerate() {
            check_line(line).map_err(|reason| CheckpointError::Extension {
                line: i + 4,
                reason,
            })?;
        }
        self.extensions = lines;
        Ok(self)
    }

    /// Parses a checkpoint note text (tlog-checkpoint, "Note text").
    ///
    /// # Errors
    /// A [`CheckpointError`] naming the line and the rule broken.
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Lines(
            "the text does not end with a newline",
        ))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::Lines(
                "fewer than three lines (origin, tree size, root hash)",
            ));
        }
        let origin = lines[0];
        check_line(origin).map_err(|reason| CheckpointError::Origin { reason })?;
        let size = parse_decimal(lines[1]).map_err(|reason| CheckpointError::Size {
            text: lines[1].chars().take(40).collect(),
            reason,
        })?;
        let root = Hash::from_base64(lines[2]).map_err(CheckpointError::Root)?;
        let mut extensions = Vec::new();
        for (i, line) in lines[3..].iter().enumerate() {
            check_line(line).map_err(|reason| CheckpointError::Extension {
                line: i + 4,
                reason,
            })?;
            extensions.push((*line).to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The note text: origin, size, root and extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Signs with the log's key: the signed note of the checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] if the signer rejects the text (it never does for a
    /// checkpoint built by this type).
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, CheckpointError> {
        let text = self.to_text();
        let sig = signer.sign(&text, 0)?;
        Ok(Note::new(&text, vec![sig])?)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A non-empty line with no newline.
fn check_line(line: &str) -> Result<(), &'static str> {
    if line.is_empty() {
        return Err("it is empty");
    }
    if line.contains('\n') {
        return Err("it contains a newline");
    }
    if line.bytes().any(|b| b < 0x20) {
        return Err("it contains a control character");
    }
    Ok(())
}

/// ASCII decimal with no leading zeroes unless the value is 0 (tlog-checkpoint, "Note text",
/// item 2; the same rule as tlog-witness's `old` line and tlog-proof's `index` line).
pub(crate) fn parse_decimal(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("it is not an ASCII decimal number");
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err("it has a leading zero");
    }
    s.parse::<u64>().map_err(|_| "it does not fit in 64 bits")
}

/// A checkpoint could not be parsed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note around it is malformed or not trusted.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The line structure is wrong.
    #[error("malformed checkpoint: {0}")]
    Lines(&'static str),
    /// The origin line (line 1) is invalid.
    #[error("checkpoint origin (line 1) is invalid: {reason}")]
    Origin {
        /// What is wrong.
        reason: &'static str,
    },
    /// The tree size line (line 2) is invalid.
    #[error("checkpoint tree size (line 2) '{text}' is invalid: {reason}")]
    Size {
        /// The line (truncated to 40 characters).
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The root hash line (line 3) is invalid.
    #[error("checkpoint root hash (line 3) is invalid: {0}")]
    Root(HashError),
    /// An extension line is invalid.
    #[error("checkpoint extension line {line} is invalid: {reason}")]
    Extension {
        /// 1-based line number in the note text.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The origin is not the one expected for this log.
    #[error("checkpoint origin '{got}' is not the expected '{expected}'")]
    OriginMismatch {
        /// The origin trusted for this log.
        expected: String,
        /// The origin in the checkpoint.
        got: String,
    },
    /// Signed, but not by the log itself (only by witnesses).
    #[error("checkpoint carries no valid signature by the log's key")]
    NoLogSignature,
    /// Fewer valid cosignatures than the policy requires.
    #[error("checkpoint has {got} valid cosignatures from trusted witnesses, {required} required")]
    Quorum {
        /// Valid cosignatures found.
        got: usize,
        /// Required by policy.
        required: usize,
    },
}

/// What a verifier trusts for one log: its origin, its checkpoint keys, the witnesses whose
/// cosignatures count, and how many of them make a checkpoint final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTrust {
    /// The checkpoint origin line of the log.
    pub origin: String,
    /// The log's Ed25519 note keys (type `0x01`).
    pub log_keys: Vec<VerifierKey>,
    /// The witnesses' cosignature keys (type `0x04`).
    pub witness_keys: Vec<VerifierKey>,
    /// Valid cosignatures needed for a checkpoint to be final.
    pub quorum: usize,
}

impl LogTrust {
    /// Default quorum of the federation: a majority of the other member states' witnesses
    /// (issue 5, "Witnessing").
    /// With no witnesses it is 0: the checkpoint then rests on the log's signature alone.
    pub fn majority(witnesses: usize) -> usize {
        if witnesses == 0 { 0 } else { witnesses / 2 + 1 }
    }
}

/// A checkpoint whose log signature verified against a [`LogTrust`], with the trusted
/// cosignatures it carries. Only [`VerifiedCheckpoint::open`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
    cosigners: Vec<(KeyName, u64)>,
}

impl VerifiedCheckpoint {
    /// Parses and verifies a signed checkpoint: the note's signatures by trusted keys must all
    /// verify (signed-note, "Signatures"), at least one must be the log's own, and the origin
    /// must be the log's. The quorum is not checked here; see [`Self::require_quorum`].
    ///
    /// # Errors
    /// A [`CheckpointError`] naming the failed check.
    pub fn open(bytes: &[u8], trust: &LogTrust) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_text(note.text_unverified())?;
        if checkpoint.origin != trust.origin {
            return Err(CheckpointError::OriginMismatch {
                expected: trust.origin.clone(),
                got: checkpoint.origin.clone(),
            });
        }
        let mut keys = trust.log_keys.clone();
        keys.extend(trust.witness_keys.iter().cloned());
        let verified = Verifiers::new(keys).open(note)?;
        let log_signed = verified.verified().iter().any(|v| {
            v.key.signature_type() == SignatureType::Ed25519 && trust.log_keys.contains(&v.key)
        });
        if !log_signed {
            return Err(CheckpointError::NoLogSignature);
        }
        let mut cosigners: Vec<(KeyName, u64)> = Vec::new();
        for v in verified.verified() {
            if let (Some(ts), true) = (v.timestamp, trust.witness_keys.contains(&v.key))
                && !cosigners.iter().any(|(n, _)| n == v.key.name())
            {
                cosigners.push((v.key.name().clone(), ts));
            }
        }
        Ok(Self {
            checkpoint,
            note: verified,
            cosigners,
        })
    }

    /// Checks the checkpoint is final: at least `required` distinct trusted witnesses cosigned.
    ///
    /// # Errors
    /// [`CheckpointError::Quorum`] when too few did.
    pub fn require_quorum(&self, required: usize) -> Result<(), CheckpointError> {
        if self.cosigners.len() < required {
            return Err(CheckpointError::Quorum {
                got: self.cosigners.len(),
                required,
            });
        }
        Ok(())
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The trusted witnesses that cosigned, with their cosignature timestamps.
    pub fn cosigners(&self) -> &[(KeyName, u64)] {
        &self.cosigners
    }

    /// The signed note as received (all signature lines, trusted or not).
    pub fn note(&self) -> &Note {
        self.note.note()
    }
}

#[cfg(test)]
mod tests;
