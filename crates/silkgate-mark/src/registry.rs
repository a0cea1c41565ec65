//! The registry of delivered copies: the marking records a provider node keeps, as one JSON
//! document. The node will serve it from its store; until then it is a file.

use serde::{Deserialize, Serialize};

use crate::MarkError;
use crate::mark::MarkingRecord;

/// Version of the registry file format.
pub const REGISTRY_VERSION: u32 = 1;

/// Marking records of delivered copies, as exported for tracing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Format version, [`REGISTRY_VERSION`].
    pub version: u32,
    /// One record per delivered, marked copy.
    pub records: Vec<MarkingRecord>,
}

impl Registry {
    /// A registry of these records.
    pub fn new(records: Vec<MarkingRecord>) -> Self {
        Registry {
            version: REGISTRY_VERSION,
            records,
        }
    }

    /// Reads a registry from JSON: `{"version": 1, "records": [...]}`.
    ///
    /// # Errors
    /// [`MarkError::Registry`] naming what is wrong (unknown version, a record that does not
    /// parse, with serde's path and position).
    pub fn from_json(bytes: &[u8]) -> Result<Self, MarkError> {
        let reg: Registry = serde_json::from_slice(bytes).map_err(|e| MarkError::Registry {
            reason: e.to_string(),
        })?;
        if reg.version != REGISTRY_VERSION {
            return Err(MarkError::Registry {
                reason: format!(
                    "field 'version': {} is not supported (expected {REGISTRY_VERSION})",
                    reg.version
                ),
            });
        }
        for (i, r) in reg.records.iter().enumerate() {
            r.params.validate().map_err(|e| MarkError::Registry {
                reason: format!("records[{i}].params: {e}"),
            })?;
        }
        Ok(reg)
    }

    /// The registry as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("registry serialises")
    }
}
