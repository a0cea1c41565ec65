//! Data-sharing agreements: committee templates, machine-readable terms, the agreement document
//! signed by both parties, and its lifecycle.

use serde::{Deserialize, Serialize};

/// A term of an agreement is missing, of the wrong type, or has a value that cannot work.
/// `term` is the path of the term, e.g. `marking.columns[0].max_change_units`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TermError {
    /// The value has the right type but cannot work (empty purpose, end before start, ...).
    #[error("term '{term}': {reason}")]
    Invalid {
        /// Path of the term.
        term: String,
        /// Why it is refused.
        reason: String,
    },
    /// The value is not of the type the term needs (e.g. a string where a number belongs).
    #[error("term '{term}' has the wrong type: {reason}")]
    WrongType {
        /// Path of the term.
        term: String,
        /// What was expected and found.
        reason: String,
    },
    /// A required term is absent.
    #[error("term '{term}' is missing")]
    Missing {
        /// Path of the term.
        term: String,
    },
    /// A term that no template defines; refused so a typo cannot silently drop a duty.
    #[error("term '{term}' is not a known term")]
    Unknown {
        /// The name given.
        term: String,
    },
}

fn invalid(term: impl Into<String>, reason: impl Into<String>) -> TermError {
    TermError::Invalid {
        term: term.into(),
        reason: reason.into(),
    }
}

/// One column whose low-order digits a per-recipient mark may change, and by how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkedColumn {
    /// Column name.
    pub column: String,
    /// Fractional digits of the last place the mark may change (0 for integers, 2 for cents).
    pub decimals: u32,
    /// The most a marked value may move, in units of that last place (1 to 9). A mark sets the
    /// value's residue modulo `max_change_units + 1`, so 1 changes at most one unit (one bit per
    /// cell) and 9 at most nine (one decimal digit per cell, more evidence per cell).
    pub max_change_units: u32,
}

impl MarkedColumn {
    /// The modulus the mark works in: `max_change_units + 1`.
    pub fn modulus(&self) -> u32 {
        self.max_change_units + 1
    }
}

/// Whether and how delivered copies are fingerprinted for their recipient (the parameters of
/// `silkgate-mark`). All integers, so the terms stay canonicalisable for signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkingTerms {
    /// Marking on or off.
    pub enabled: bool,
    /// Columns a mark may touch; no other column is ever changed.
    pub columns: Vec<MarkedColumn>,
    /// One eligible cell in this many is marked (1 marks every eligible cell).
    pub select_one_in: u32,
    /// Length of each recipient's fingerprint, in symbols.
    pub fingerprint_symbols: u32,
    /// Synthetic canary records added to each copy (0 for none).
    pub canary_records: u32,
}

impl MarkingTerms {
    /// Checks the parameters can work.
    ///
    /// # Errors
    /// [`TermError::Invalid`] naming the parameter, e.g. `marking.columns[1].max_change_units`.
    pub fn validate(&self) -> Result<(), TermError> {
        if self.enabled && self.columns.is_empty() {
            return Err(invalid(
                "marking.columns",
                "marking is on but no column may be marked",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.columns.iter().enumerate() {
            if c.column.trim().is_empty() {
                return Err(invalid(format!("marking.columns[{i}].column"), "empty"));
            }
            if !seen.insert(c.column.as_str()) {
                return Err(invalid(
                    format!("marking.columns[{i}].column"),
                    format!("'{}' is listed twice", c.column),
                ));
            }
            if c.decimals > 12 {
                return Err(invalid(
                    format!("marking.columns[{i}].decimals"),
                    "at most 12 fractional digits",
                ));
            }
            if !(1..=9).contains(&c.max_change_units) {
                return Err(invalid(
                    format!("marking.columns[{i}].max_change_units"),
                    format!("must be 1 to 9, got {}", c.max_change_units),
                ));
            }
        }
        if self.select_one_in == 0 || self.select_one_in > 1000 {
            return Err(invalid(
                "marking.select_one_in",
                format!("must be 1 to 1000, got {}", self.select_one_in),
            ));
        }
        if !(16..=4096).contains(&self.fingerprint_symbols) {
            return Err(invalid(
                "marking.fingerprint_symbols",
                format!("must be 16 to 4096, got {}", self.fingerprint_symbols),
            ));
        }
        if self.canary_records > 1000 {
            return Err(invalid(
                "marking.canary_records",
                format!("at most 1000, got {}", self.canary_records),
            ));
        }
        Ok(())
    }
}
