//! Witnessing as pure code: the checks of the C2SP `tlog-witness` `add-checkpoint` call
//! (c2sp.org/tlog-witness, "add-checkpoint") and the cosignature of tlog-cosignature. The node
//! does HTTP and persistence; this module decides.
//!
//! A witness keeps, per log origin, the latest checkpoint it cosigned ([`CosignedState`]). Given
//! that state, a request (old size, consistency proof, new checkpoint) and the time, it either
//! returns a cosignature and the new state to persist, or refuses. When a log shows it two
//! signed checkpoints that cannot both be honest, the refusal carries both as [`Evidence`].

use crate::checkpoint::{Checkpoint, CheckpointError, LogTrust, VerifiedCheckpoint, parse_decimal};
use crate::hash::{Hash, HashError, empty_root};
use crate::note::{NoteError, NoteSignature, NoteSigner, SignatureType, VerifierKey};
use crate::proof::{ProofError, verify_consistency};

/// Most consistency proof lines a client may send (tlog-witness, "add-checkpoint").
pub const MAX_PROOF_LINES: usize = 63;

/// Largest request body accepted.
pub const MAX_REQUEST_SIZE: usize = crate::note::MAX_NOTE_SIZE + 64 * 46;

/// An `add-checkpoint` request body (tlog-witness, "add-checkpoint"): `old <size>`, the
/// consistency proof lines, a blank line, the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// Serialises the request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body.
    ///
    /// # Errors
    /// [`WitnessError::Malformed`] (HTTP 400) naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, WitnessError> {
        let bad = |reason: &'static str| WitnessError::Malformed { reason };
        if bytes.len() > MAX_REQUEST_SIZE {
            return Err(bad("request body too large"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("request body is not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or(bad("first line must be 'old <size>'"))?;
        let old_size = parse_decimal(old)
            .map_err(|_| bad("old size is not a decimal number without leading zeroes"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            proof.push(Hash::from_base64(line).map_err(|e| match e {
                HashError::Base64 => bad("a consistency proof line is not base64"),
                _ => bad("a consistency proof line is not a 32-byte hash"),
            })?);
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }
}

/// What a witness remembers about one log: the latest checkpoint it cosigned. Persist it
/// atomically with the check (tlog-witness, "add-checkpoint": the race it describes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignedState {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed checkpoint as submitted, kept as evidence.
    pub checkpoint: Vec<u8>,
}

/// Two signed checkpoints of one log that the log could not show to be consistent: the
/// witness's proof of misbehaviour, to keep and to raise to its operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The log origin.
    pub origin: String,
    /// The checkpoint the witness had cosigned.
    pub previous: Vec<u8>,
    /// The checkpoint just submitted, signed by the same log.
    pub submitted: Vec<u8>,
    /// The consistency proof submitted with it (empty for equal sizes).
    pub proof: Vec<Hash>,
}

/// The witness refused to cosign. [`WitnessError::http_status`] gives the status code
/// tlog-witness assigns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request body is malformed (400).
    #[error("malformed add-checkpoint request: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint is malformed (400).
    #[error("malformed checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// The witness does not witness this log (404).
    #[error("unknown log origin '{origin}'")]
    UnknownLog {
        /// The origin in the checkpoint.
        origin: String,
    },
    /// No valid signature by the log's key, or a trusted signature that fails (403).
    #[error("checkpoint signature: {0}")]
    Signature(CheckpointError),
    /// Old size beyond the checkpoint size (400).
    #[error("old size {old_size} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The `old` line.
        old_size: u64,
        /// The checkpoint size.
        size: u64,
    },
    /// The old size is not the latest cosigned size (409); the body tells the client the
    /// right one.
    #[error("old size does not match the latest cosigned size {latest_size}")]
    Conflict {
        /// The size of the latest checkpoint cosigned for this origin (0 if none).
        latest_size: u64,
    },
    /// A size-0 checkpoint without the empty root, or a non-empty proof from size 0 (422).
    #[error("unprocessable: {reason}")]
    Unprocessable {
        /// What is wrong.
        reason: &'static str,
    },
    /// The consistency proof does not verify (422). The log signed a checkpoint it cannot
    /// show to extend the one cosigned before: a rewritten or forked history, or a broken log.
    #[error("checkpoint is not proven consistent with the cosigned one: {reason}")]
    Inconsistent {
        /// Why the proof failed.
        reason: ProofError,
        /// Both signed checkpoints.
        evidence: Box<Evidence>,
    },
    /// Same size as the cosigned checkpoint, different root (422): two signed views of one
    /// tree, a fork.
    #[error("fork: checkpoint of size {size} has a different root from the cosigned one")]
    Fork {
        /// The common size.
        size: u64,
        /// Both signed checkpoints.
        evidence: Box<Evidence>,
    },
}

impl WitnessError {
    /// The HTTP status tlog-witness, "add-checkpoint", prescribes for this refusal.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Malformed { .. } | Self::Checkpoint(_) | Self::OldSizeTooLarge { .. } => 400,
            Self::Signature(_) => 403,
            Self::UnknownLog { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::Unprocessable { .. } | Self::Inconsistent { .. } | Self::Fork { .. } => 422,
        }
    }

    /// The evidence of misbehaviour, if this refusal carries some.
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Self::Inconsistent { evidence, .. } | Self::Fork { evidence, .. } => Some(evidence),
            _ => None,
        }
    }
}

/// A witness: its cosigning key (type `0x04`) and the logs it witnesses.
#[derive(Debug, Clone)]
pub struct Witness {
    signer: NoteSigner,
    logs: Vec<(String, Vec<VerifierKey>)>,
}

/// A successful `add-checkpoint`: the cosignature line to return and the state to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The cosignature (tlog-cosignature, "Format").
    pub cosignature: NoteSignature,
    /// The new latest cosigned checkpoint for this origin.
    pub state: CosignedState,
}

impl Witness {
    /// A witness signing with `signer`, which must be a cosignature (type `0x04`) key.
    ///
    /// # Errors
    /// [`NoteError::Text`] when the key is not a cosignature key.
    pub fn new(signer: NoteSigner) -> Result<Self, NoteError> {
        if signer.signature_type() != SignatureType::Cosignature {
            return Err(NoteError::Text(
                "a witness signs with a cosignature (type 0x04) key",
            ));
        }
        Ok(Self {
            signer,
            logs: Vec::new(),
        })
    }

    /// Adds a log to witness: its origin and checkpoint keys.
    pub fn add_log(&mut self, origin: &str, keys: Vec<VerifierKey>) {
        self.logs.push((origin.to_owned(), keys));
    }

    /// This witness's cosignature verifier key, for trust lists.
    pub fn verifier(&self) -> VerifierKey {
        self.signer.verifier()
    }

    /// The origin of a request's checkpoint, so the caller can load that log's state before
    /// calling [`Witness::add_checkpoint`].
    ///
    /// # Errors
    /// [`WitnessError::Checkpoint`] for a malformed checkpoint.
    pub fn origin_of(request: &AddCheckpoint) -> Result<String, WitnessError> {
        let note = crate::note::Note::parse(&request.checkpoint)
            .map_err(|e| WitnessError::Checkpoint(e.into()))?;
        let cp =
            Checkpoint::parse_text(note.text_unverified()).map_err(WitnessError::Checkpoint)?;
        Ok(cp.origin().to_owned())
    }

    /// Runs the checks of tlog-witness, "add-checkpoint", in its order, against `latest`, the
    /// state persisted for the request's origin (None if never cosigned), and cosigns at
    /// `now` (seconds since the Epoch).
    ///
    /// # Errors
    /// A [`WitnessError`]; [`WitnessError::Fork`] and [`WitnessError::Inconsistent`] carry
    /// both signed checkpoints.
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpoint,
        latest: Option<&CosignedState>,
        now: u64,
    ) -> Result<Cosigned, WitnessError> {
        let origin = Self::origin_of(request)?;
        let keys = self
            .logs
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|(_, k)| k.clone())
            .ok_or(WitnessError::UnknownLog {
                origin: origin.clone(),
            })?;
        let trust = LogTrust {
            origin: origin.clone(),
            log_keys: keys,
            witness_keys: Vec::new(),
            quorum: 0,
        };
        let verified =
            VerifiedCheckpoint::open(&request.checkpoint, &trust).map_err(|e| match e {
                CheckpointError::Note(_) | CheckpointError::NoLogSignature => {
                    WitnessError::Signature(e)
                }
                other => WitnessError::Checkpoint(other),
            })?;
        let cp = verified.checkpoint();
        if request.old_size > cp.size() {
            return Err(WitnessError::OldSizeTooLarge {
                old_size: request.old_size,
                size: cp.size(),
            });
        }
        let latest_size = latest.map_or(0, |s| s.size);
        if request.old_size != latest_size {
            return Err(WitnessError::Conflict { latest_size });
        }
        if cp.size() == 0 && *cp.root() != empty_root() {
            return Err(WitnessError::Unprocessable {
                reason: "a checkpoint of size 0 must have the root of the empty tree",
            });
        }
        let evidence = |previous: &CosignedState| {
            Box::new(Evidence {
                origin: origin.clone(),
                previous: previous.checkpoint.clone(),
                submitted: request.checkpoint.clone(),
                proof: request.proof.clone(),
            })
        };
        match latest {
            // Nothing cosigned yet, or only the empty tree: the empty tree is a prefix of every
            // tree, so no proof is needed (tlog-witness, "add-checkpoint").
            None | Some(CosignedState { size: 0, .. }) => {
                if !request.proof.is_empty() {
                    return Err(WitnessError::Unprocessable {
                        reason: "the consistency proof from size 0 must be empty",
                    });
                }
            }
            Some(prev) if prev.size == cp.size() => {
                if prev.root != *cp.root() {
                    return Err(WitnessError::Fork {
                        size: cp.size(),
                        evidence: evidence(prev),
                    });
                }
                if !request.proof.is_empty() {
                    return Err(WitnessError::Unprocessable {
                        reason: "the consistency proof between equal sizes must be empty",
                    });
                }
            }
            Some(prev) => {
                verify_consistency(prev.size, cp.size(), &prev.root, cp.root(), &request.proof)
                    .map_err(|reason| WitnessError::Inconsistent {
                        reason,
                        evidence: evidence(prev),
                    })?;
            }
        }
        // Cosign the exact text whose log signature verified.
        let cosignature = self
            .signer
            .sign(verified.note().text_unverified(), now)
            .map_err(|e| WitnessError::Checkpoint(e.into()))?;
        Ok(Cosigned {
            cosignature,
            state: CosignedState {
                size: cp.size(),
                root: *cp.root(),
                checkpoint: request.checkpoint.clone(),
            },
        })
    }
}

/// The `add-checkpoint` response body: the cosignature lines (tlog-witness, "add-checkpoint").
pub fn response_body(cosignatures: &[NoteSignature]) -> String {
    cosignatures.iter().map(NoteSignature::to_line).collect()
}

/// The 409 response body: the latest cosigned size and a newline, served as
/// `text/x.tlog.size` (tlog-witness, "add-checkpoint").
pub fn conflict_body(latest_size: u64) -> String {
    format!("{latest_size}\n")
}
