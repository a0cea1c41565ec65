//! Trust files: the verifier keys a client trusts, one per line, as `silkgate log verify` and
//! `silkgate log verify-receipt` read them with `--trust`.
//!
//! ```text
//! # lines starting with '#' are comments
//! log.kz.silkgate.example+1a2b3c4d+AU...      (type 0x01: a log's checkpoint key)
//! witness.cn.silkgate.example+5e6f7a8b+BE...  (type 0x04: a witness's cosigning key)
//! quorum 3
//! ```
//!
//! A log key's name is its log's origin (tlog-checkpoint, "Signatures": the key name SHOULD
//! match the origin). Without a `quorum` line the quorum is a majority of the witnesses listed
//! ([`LogTrust::majority`]).

use crate::checkpoint::{LogTrust, parse_decimal};
use crate::note::{SignatureType, VerifierKey, VerifierKeyError};

/// The parsed trust file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustList {
    /// Log checkpoint keys (type `0x01`).
    pub logs: Vec<VerifierKey>,
    /// Witness cosignature keys (type `0x04`).
    pub witnesses: Vec<VerifierKey>,
    /// Explicit quorum, if given.
    pub quorum: Option<usize>,
}

/// A trust file line is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// A key line does not parse.
    #[error("trust file line {line}: {source}")]
    Key {
        /// 1-based line.
        line: usize,
        /// Why.
        source: VerifierKeyError,
    },
    /// A quorum line is invalid.
    #[error("trust file line {line}: quorum must be a decimal number")]
    Quorum {
        /// 1-based line.
        line: usize,
    },
    /// No log key for the checkpoint's origin.
    #[error("the trust file has no log key named '{origin}'")]
    UnknownLog {
        /// The origin asked for.
        origin: String,
    },
}

impl TrustList {
    /// Parses a trust file.
    ///
    /// # Errors
    /// [`TrustError`] naming the line.
    pub fn parse(text: &str) -> Result<Self, TrustError> {
        let mut out = Self::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(q) = line.strip_prefix("quorum ") {
                let q = parse_decimal(q.trim()).map_err(|_| TrustError::Quorum { line: i + 1 })?;
                out.quorum = Some(q as usize);
                continue;
            }
            let key = VerifierKey::parse(line).map_err(|source| TrustError::Key {
                line: i + 1,
                source,
            })?;
            match key.signature_type() {
                SignatureType::Cosignature => out.witnesses.push(key),
                _ => out.logs.push(key),
            }
        }
        Ok(out)
    }

    /// The trust for the log with `origin`: its keys, every witness, and the quorum.
    ///
    /// # Errors
    /// [`TrustError::UnknownLog`] when no log key is named `origin`.
    pub fn for_origin(&self, origin: &str) -> Result<LogTrust, TrustError> {
        let log_keys: Vec<VerifierKey> = self
            .logs
            .iter()
            .filter(|k| k.name().as_str() == origin)
            .cloned()
            .collect();
        if log_keys.is_empty() {
            return Err(TrustError::UnknownLog {
                origin: origin.to_owned(),
            });
        }
        Ok(LogTrust {
            origin: origin.to_owned(),
            log_keys,
            witness_keys: self.witnesses.clone(),
            quorum: self
                .quorum
                .unwrap_or_else(|| LogTrust::majority(self.witnesses.len())),
        })
    }
}
