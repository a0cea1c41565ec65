//! Per-recipient marking of delivered tables, and leak tracing back to the copy a found file
//! came from.
//!
//! A provider node marks each delivered copy with [`mark`] (a table in memory) or
//! [`mark_stream`] (a CSV or JSON Lines file, in constant memory; both run the row-by-row
//! [`Marker`] and write the same bytes): a keyed choice of cells in the columns the agreement
//! allows (see [`silkgate_model::MarkingTerms`]) gets its low-order residue set from a
//! fingerprint unique to the delivery, and optionally keyed canary records are appended. It
//! stores the returned [`MarkingRecord`]. Given a file found somewhere, [`trace`] tests
//! it against the stored records and returns a [`TraceReport`]: the most likely copy with a bound
//! on the chance of a wrong attribution, the evidence per candidate, or [`Verdict::NoMatch`].
//! The scheme is of the Agrawal–Kiernan / Li–Swarup–Jajodia family of relational watermarking
//! and fingerprinting, with cell identities that need no primary key.
//!
//! Invariants: every choice is keyed by the node's [`MarkKey`] (HMAC-SHA-256), so the marked
//! cells and fingerprints cannot be found without it; a mark never touches a column outside the
//! allowed list nor moves a value by more than its column's `max_change_units`; a marking record
//! holds no payload value and no secret. The crate does no I/O beyond the readers and writers
//! it is handed.
//!
//! ```
//! use silkgate_mark::{mark, trace, Delivery, MarkKey, Table, Verdict};
//! use silkgate_model::{MarkedColumn, MarkingTerms};
//!
//! let csv: String = std::iter::once("id,amount\n".to_owned())
//!     .chain((0..400).map(|i| format!("r{i},{}.{:02}\n", 1000 + i * 37, i % 100)))
//!     .collect();
//! let table = Table::read_csv(csv.as_bytes()).unwrap();
//! let params = MarkingTerms {
//!     enabled: true,
//!     columns: vec![MarkedColumn { column: "amount".into(), decimals: 2, max_change_units: 9 }],
//!     select_one_in: 1,
//!     fingerprint_symbols: 64,
//!     canary_records: 0,
//! };
//! let key = MarkKey::from_bytes([7; 32]);
//! let delivery = Delivery {
//!     dataset: "ds-1".into(), transfer_id: "t-1".into(),
//!     agreement_id: "ag-1".into(), recipient: "KZ/org-1".into(),
//! };
//! let marked = mark(&key, &table, &delivery, &params).unwrap();
//! let report = trace(&key, &marked.table, &[marked.record.clone()]);
//! assert!(matches!(report.verdict, Verdict::Match { ref recipient, .. } if recipient == "KZ/org-1"));
//! assert_eq!(trace(&key, &table, &[marked.record]).verdict, Verdict::NoMatch);
//! ```

mod keys;
mod mark;
mod number;
mod registry;
mod stream;
mod table;
mod trace;

pub use keys::MarkKey;
pub use mark::{
    CanaryDigest, Delivery, Finished, MarkSummary, Marked, Marker, MarkingRecord, mark,
};
pub use registry::{REGISTRY_VERSION, Registry};
pub use stream::{StreamMarked, mark_stream};
pub use table::{Cell, Format, Table};
pub use trace::{
    CandidateEvidence, ColumnEvidence, FALSE_ATTRIBUTION_BOUND, TraceReport, Tracer, Verdict,
    binomial_tail_log10, poisson_binomial_tail_log10, trace,
};

/// Why a table could not be read, marked or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarkError {
    /// Malformed CSV.
    #[error("CSV line {line}: {reason}")]
    Csv {
        /// 1-based line (record) number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A JSON Lines line that is not a JSON object.
    #[error("JSON Lines line {line}: {reason}")]
    Jsonl {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A row with a different number of cells than there are columns.
    #[error("row {row}: {got} cells where the table has {expected} columns")]
    RowWidth {
        /// 0-based row index.
        row: u64,
        /// Number of columns.
        expected: usize,
        /// Cells in the row.
        got: usize,
    },
    /// The marking parameters cannot work.
    #[error("marking parameters: {0}")]
    Params(silkgate_model::TermError),
    /// The parameters turn marking off; the caller should deliver unmarked and keep no record.
    #[error("marking is off in these parameters")]
    Disabled,
    /// The registry of delivered copies does not parse.
    #[error("registry: {reason}")]
    Registry {
        /// What is wrong, with the path of the field.
        reason: String,
    },
    /// The marking secret is malformed.
    #[error("marking key: {0}")]
    Key(String),
    /// Writing failed.
    #[error("write failed: {0}")]
    Io(String),
    /// Reading the input failed (not a format error: the reader itself failed).
    #[error("read failed: {0}")]
    Read(String),
}
