//! The facts of a proposed transfer: the wire document the node, the CLI and the case tables
//! hand to the engine, and its parsing with errors that name the offending field.

use serde::{Deserialize, Serialize};
use silkgate_model::{DataCategory, Sector, StateCode};

/// The facts of one proposed cross-border transfer, as in the JSON document of the rule-pack
/// issue. Counts are unsigned, so a negative count is refused while parsing, naming its field.
///
/// Fields beyond the document (`exemptions`, and the grounds `impact_assessment`,
/// `domestic_database`, `waiting_period_elapsed`) are optional; `exporter.state` and
/// `recipient.state` may be left out and then default to `from` and `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The exporting state.
    pub from: StateCode,
    /// The importing state.
    pub to: StateCode,
    /// Who sends the data.
    pub exporter: Exporter,
    /// Who receives it.
    pub recipient: Recipient,
    /// What is sent.
    pub data: DataFacts,
    /// The exporter's counts since 1 January of the current year, before this transfer.
    #[serde(default)]
    pub year_to_date: YearToDate,
    /// Grounds already in place (filed contract, approval, consent...); left out means false.
    #[serde(default)]
    pub grounds: Grounds,
    /// Exemptions the exporter claims, in the words the packs' manifests declare (for China:
    /// `contract-with-individual`, `cross-border-hr`, `emergency`, `collected-abroad`,
    /// `free-trade-zone`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<String>,
}

/// The exporting organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exporter {
    /// Its state; must equal `from` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCode>,
    /// Whether it operates critical information infrastructure (China's CIIO status).
    #[serde(default)]
    pub ciio: bool,
    /// Its sector.
    pub sector: Sector,
}

/// The receiving party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Its state; must equal `to` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCode>,
    /// What kind of body it is; foreign authorities trigger the blocking statutes.
    pub kind: RecipientKind,
}

/// What kind of body receives the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecipientKind {
    /// A company or other private organisation.
    Enterprise,
    /// A public body acting outside judicial or law-enforcement functions.
    PublicBody,
    /// A foreign court, prosecutor, police or other law-enforcement body.
    ForeignAuthority,
}

impl RecipientKind {
    /// The word used in JSON and in the rule packs.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientKind::Enterprise => "enterprise",
            RecipientKind::PublicBody => "public-body",
            RecipientKind::ForeignAuthority => "foreign-authority",
        }
    }
}

/// What the transfer carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFacts {
    /// Categories found by the content review, in the shared vocabulary.
    pub categories: Vec<DataCategory>,
    /// Individuals whose data is in this transfer (including those with sensitive data).
    pub subjects: u64,
    /// Of those, individuals whose sensitive data is included.
    #[serde(default)]
    pub sensitive_subjects: u64,
    /// Whether the data includes important data (as notified or published by an authority).
    #[serde(default)]
    pub important_data: bool,
    /// Whether the data includes biometric data.
    #[serde(default)]
    pub biometric: bool,
}

/// The exporter's cumulative counts since 1 January of the current year, before this transfer.
/// The node keeps them per exporter; China's thresholds read them (2024 Provisions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearToDate {
    /// Individuals exported so far this year.
    #[serde(default)]
    pub subjects: u64,
    /// Individuals with sensitive data exported so far this year.
    #[serde(default)]
    pub sensitive_subjects: u64,
}

/// Grounds already in place. Each one lifts the obligation it meets; none ever adds one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grounds {
    /// The data subjects' (separate) consent has been obtained.
    pub consent: bool,
    /// A standard contract has been concluded (and filed where the law requires).
    pub standard_contract: bool,
    /// A certification covers the transfer.
    pub certification: bool,
    /// A regulator's security assessment has been passed.
    pub security_assessment: bool,
    /// A regulator's permit for the transfer has been granted.
    pub regulator_permit: bool,
    /// The regulator has been notified of the transfer as the law requires.
    pub regulator_notified: bool,
    /// The approval required before data goes to a foreign authority has been given.
    pub judicial_approval: bool,
    /// The impact assessment the law requires (PIPIA, transfer impact assessment) is done.
    pub impact_assessment: bool,
    /// The exporter keeps the database the law requires inside the exporting state.
    pub domestic_database: bool,
    /// A statutory waiting period after notice to the regulator has elapsed without objection.
    pub waiting_period_elapsed: bool,
}

/// The facts are not acceptable; names the field and the reason. No decision is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FactsError {
    /// A field is missing, malformed, negative, out of vocabulary or inconsistent.
    #[error("facts field `{field}`: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `data.subjects` or `data.categories[1]`.
        field: String,
        /// Why it was refused.
        reason: String,
    },
    /// A well-formed state code for which no rule pack is loaded.
    #[error("facts field `{field}`: no rule pack for state '{value}' (loaded: {loaded})")]
    UnknownState {
        /// `from`, `to`, `exporter.state` or `recipient.state`.
        field: String,
        /// The code given.
        value: String,
        /// The states whose packs are loaded, comma-separated.
        loaded: String,
    },
    /// Evaluating a rule failed (for instance an arithmetic overflow); no partial decision.
    #[error("rule pack {pack}: evaluation failed: {reason}")]
    Evaluation {
        /// The pack being evaluated.
        pack: String,
        /// Cedar's message.
        reason: String,
    },
}

impl Facts {
    /// Parses a facts document from JSON text.
    ///
    /// # Errors
    /// [`FactsError::Invalid`] naming the first field that is missing, negative, of the wrong
    /// type, an unknown state code format, an unknown category or an unknown field.
    pub fn from_json(text: &str) -> Result<Facts, FactsError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(path_error)
    }

    /// Parses a facts document from an already-parsed JSON value (the case tables use this).
    ///
    /// # Errors
    /// As [`Facts::from_json`].
    pub fn from_value(value: serde_json::Value) -> Result<Facts, FactsError> {
        serde_path_to_error::deserialize(value).map_err(path_error)
    }
}

fn path_error(err: serde_path_to_error::Error<serde_json::Error>) -> FactsError {
    let path = err.path().to_string();
    let field = if path == "." {
        "(document)".to_owned()
    } else {
        path
    };
    let reason = err.into_inner().to_string();
    // serde_json appends " at line L column C"; keep it, it helps find the spot in a file.
    FactsError::Invalid { field, reason }
}
