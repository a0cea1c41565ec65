//! Datasets in the catalogue: metadata, schema, visibility, immutable versions.

use serde::{Deserialize, Serialize};

use crate::{OrgId, Sector, StateCode};

/// The byte format of a dataset payload. Both are line-oriented, so the payload can be checked
/// and later scanned as a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    /// RFC 4180 CSV with a header row naming the schema's columns.
    Csv,
    /// JSON Lines: one JSON object per line.
    JsonLines,
}

impl DatasetFormat {
    /// The stable word used in JSON and the CLI.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "json-lines",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "json-lines" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// One column of a dataset schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name as it appears in the header (CSV) or as an object key (JSON Lines).
    pub name: String,
    /// Declared type, free text such as `string`, `integer`, `date`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// Who may see a catalogue entry and request it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "kebab-case")]
pub enum Visibility {
    /// Only organisations of the provider's own state.
    National,
    /// Organisations of the provider's state and of the named states.
    States {
        /// The other states allowed.
        states: Vec<StateCode>,
    },
    /// Every organisation of the federation.
    Federation,
}

impl Visibility {
    /// Whether an organisation of `viewer` may see an entry published in `home`.
    pub fn allows(&self, home: StateCode, viewer: StateCode) -> bool {
        viewer == home
            || match self {
                Self::National => false,
                Self::States { states } => states.contains(&viewer),
                Self::Federation => true,
            }
    }
}

/// Lower-case hex SHA-256 of a payload; the identity of a dataset version.
pub type Sha256Hex = String;

/// One immutable version of a dataset, identified by the SHA-256 of its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetVersion {
    /// Identifier of the dataset (stable across versions), chosen by the provider.
    pub dataset_id: String,
    /// SHA-256 of the payload bytes, lower-case hex.
    pub sha256: Sha256Hex,
    /// The publishing organisation.
    pub provider: OrgId,
    /// Short title.
    pub title: String,
    /// What the data is and where it comes from.
    pub description: String,
    /// Sector of the data.
    pub sector: Sector,
    /// Byte format of the payload.
    pub format: DatasetFormat,
    /// Declared columns.
    pub schema: Vec<Column>,
    /// Who may see and request it.
    pub visibility: Visibility,
    /// Payload size in bytes.
    pub size: u64,
    /// Publication time, Unix seconds.
    pub published_at: i64,
}

impl DatasetVersion {
    /// The home state of the dataset (its provider's state).
    pub fn state(&self) -> StateCode {
        self.provider.state()
    }
}
