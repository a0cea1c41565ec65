//! Errors of the scanner and of de-identification.

use std::io;

/// Why a file could not be scanned. Values found in the file never appear in an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading the input failed.
    #[error("reading the input failed: {source}")]
    Io {
        /// The underlying error.
        #[from]
        source: io::Error,
    },
    /// The input holds binary data, so it is neither CSV nor JSON Lines.
    #[error(
        "the input is not text (byte {offset} is a NUL or control byte): expected CSV or JSON Lines"
    )]
    NotText {
        /// Offset of the first offending byte within the first 64 KiB.
        offset: usize,
    },
    /// The input is one JSON array rather than one JSON object per line.
    #[error("the input is a JSON array, not JSON Lines: write one JSON object per line")]
    JsonArray,
}

/// Why a de-identification could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeidError {
    /// The input could not be read or recognised.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// Writing the output failed.
    #[error("writing the output failed: {source}")]
    Write {
        /// The underlying error.
        source: io::Error,
    },
    /// The plan names a column the CSV header does not have.
    #[error("plan column '{column}' is not in the file's header (columns: {known})")]
    UnknownColumn {
        /// The column named by the plan.
        column: String,
        /// The header's columns, comma-separated.
        known: String,
    },
    /// The plan asks for a transform whose key was not supplied.
    #[error("column '{column}': transform '{transform}' needs the {key} key, which was not given")]
    MissingKey {
        /// The column whose transform needs the key.
        column: String,
        /// The transform.
        transform: &'static str,
        /// Which key (`pseudonymisation` or `tokenisation`).
        key: &'static str,
    },
    /// The plan could not be parsed.
    #[error("the de-identification plan is invalid: {reason}")]
    InvalidPlan {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A token could not be reversed.
    #[error("token cannot be reversed: {reason}")]
    BadToken {
        /// Why (format, wrong key or tampering).
        reason: &'static str,
    },
}
