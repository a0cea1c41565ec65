//! The facts of a proposed transfer: the wire document the node, the CLI and the case tables
//! hand to the engine, and its parsing with errors that name the offending field.
//!
//! Facts format versions (every field added since format 1 is optional, with the default
//! given, so a format-1 document reads the same as before):
//!
//! - **1**: `from`, `to`, `exporter`, `recipient`, `data`, `year_to_date`, `grounds`,
//!   `exemptions` ([`Facts`]).
//! - **2** ([`TransferFacts`]): `date` (the transfer's day, `YYYY-MM-DD`; default: the
//!   caller's today); `exporter.roles` (`state-organ`, `telecom-operator`,
//!   `payment-system-operator`; default none); `recipient.kind` may be `foreign-regulator`;
//!   `data.citizens_of_exporter` (default true) and `data.children_under_14` (default true:
//!   a `children` category is taken to include children under 14); `grounds.consent_kinds`
//!   (`separate`, `written`, `parental`, `informed-of-risks`, `express`; default: when
//!   `grounds.consent` is true and no kind is given, every kind, the format-1 meaning);
//!   `grounds.security_assessment_on` (the day the assessment result was issued; default:
//!   unknown, taken as valid); `grounds.notice_covers` (the states a notice to the regulator
//!   names; default: when `grounds.regulator_notified` is true, the destination);
//!   `grounds.domestic_storage_with_return` (default false); `grounds.subjects_notified` (the
//!   data subjects were told of the transfer to a third party as the law prescribes; default
//!   false).

use serde::{Deserialize, Serialize};
use silkgate_model::agreement::Date;
use silkgate_model::{DataCategory, Sector, StateCode};

/// The version of the facts format this engine reads (see the module documentation).
pub const FACTS_FORMAT: u32 = 2;

/// Words of the grounds a basis twin may name: the fields of [`Grounds`] and the format-2
/// grounds of [`TransferFacts`].
pub const GROUND_NAMES: &[&str] = &[
    "consent",
    "standard_contract",
    "certification",
    "security_assessment",
    "regulator_permit",
    "regulator_notified",
    "judicial_approval",
    "impact_assessment",
    "domestic_database",
    "waiting_period_elapsed",
    "domestic_storage_with_return",
    "subjects_notified",
];

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
    /// Exemptions the exporter claims, in the words the packs' manifests declare, namespaced
    /// by state (for China: `cn.contract-with-individual`, `cn.cross-border-hr`,
    /// `cn.emergency`, `cn.collected-abroad`, `cn.free-trade-zone`). The format-1 words
    /// without a prefix (`emergency`, ...) are still read, as every namespaced word a pack's
    /// `[aliases]` gives them (`emergency` is both `cn.emergency` and `ru.vital-interests`).
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
    /// A foreign regulator or administrative enforcement body (a supervisory authority, a
    /// securities or competition regulator) acting in an investigation or enforcement.
    ForeignRegulator,
}

impl RecipientKind {
    /// The word used in JSON and in the rule packs.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientKind::Enterprise => "enterprise",
            RecipientKind::PublicBody => "public-body",
            RecipientKind::ForeignAuthority => "foreign-authority",
            RecipientKind::ForeignRegulator => "foreign-regulator",
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

/// What the exporting organisation is, where a pack's rule turns on it (format 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExporterRole {
    /// A state organ (ministry, agency, court) of the exporting state.
    StateOrgan,
    /// A telecom operator working in the exporting state.
    TelecomOperator,
    /// A payment-system operator (or a bank or vendor working for one) of the exporting state.
    PaymentSystemOperator,
}

impl ExporterRole {
    /// The word used in JSON and in the rule packs.
    pub fn as_str(self) -> &'static str {
        match self {
            ExporterRole::StateOrgan => "state-organ",
            ExporterRole::TelecomOperator => "telecom-operator",
            ExporterRole::PaymentSystemOperator => "payment-system-operator",
        }
    }
}

/// A kind of consent; each state's law asks for the kind it names (format 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentKind {
    /// Consent given separately for this transfer (China, PIPL art. 39).
    Separate,
    /// Consent in writing or as an electronic document.
    Written,
    /// Consent of a parent or lawful guardian, verified.
    Parental,
    /// Consent given after being told of the risks of the destination's lack of protection.
    InformedOfRisks,
    /// Express (explicit) consent.
    Express,
}

impl ConsentKind {
    /// Every kind, the meaning of `grounds.consent = true` with no kinds given.
    pub const ALL: [ConsentKind; 5] = [
        ConsentKind::Separate,
        ConsentKind::Written,
        ConsentKind::Parental,
        ConsentKind::InformedOfRisks,
        ConsentKind::Express,
    ];

    /// The word used in JSON and in the rule packs.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentKind::Separate => "separate",
            ConsentKind::Written => "written",
            ConsentKind::Parental => "parental",
            ConsentKind::InformedOfRisks => "informed-of-risks",
            ConsentKind::Express => "express",
        }
    }
}

/// A facts document of format 2: the format-1 [`Facts`] and the fields added since, each
/// optional with the default the module documentation gives. This is what
/// [`crate::PolicyEngine::decide_on`] reads; a [`Facts`] converts with `into()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFacts {
    /// The format-1 fields.
    pub facts: Facts,
    /// The transfer's day (`date`); `None` means the caller's today.
    pub date: Option<Date>,
    /// `exporter.roles`.
    pub exporter_roles: Vec<ExporterRole>,
    /// `data.citizens_of_exporter`: the data is of the exporting state's citizens.
    pub citizens_of_exporter: bool,
    /// `data.children_under_14`: a `children` category includes children under 14.
    pub children_under_14: bool,
    /// `grounds.consent_kinds`: the kinds of consent obtained.
    pub consent_kinds: Vec<ConsentKind>,
    /// `grounds.security_assessment_on`: the day the security-assessment result was issued.
    pub security_assessment_on: Option<Date>,
    /// `grounds.notice_covers`: the states the notice to the regulator names.
    pub notice_covers: Vec<StateCode>,
    /// `grounds.domestic_storage_with_return`: the data is stored only in the exporting state,
    /// and any copy processed abroad is deleted there and brought back within the period the
    /// law sets.
    pub domestic_storage_with_return: bool,
    /// `grounds.subjects_notified`: the data subjects were told of the transfer to a third
    /// party, in the form the law prescribes.
    pub subjects_notified: bool,
}

impl From<Facts> for TransferFacts {
    fn from(facts: Facts) -> TransferFacts {
        TransferFacts {
            facts,
            date: None,
            exporter_roles: Vec::new(),
            citizens_of_exporter: true,
            children_under_14: true,
            consent_kinds: Vec::new(),
            security_assessment_on: None,
            notice_covers: Vec::new(),
            domestic_storage_with_return: false,
            subjects_notified: false,
        }
    }
}

/// The format-2 fields, where they sit in the document; read apart from the format-1 fields
/// so that those keep their strict parsing and error paths.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Added {
    #[serde(default)]
    date: Option<Date>,
    #[serde(default)]
    exporter: AddedExporter,
    #[serde(default)]
    data: AddedData,
    #[serde(default)]
    grounds: AddedGrounds,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddedExporter {
    #[serde(default)]
    roles: Vec<ExporterRole>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddedData {
    #[serde(default)]
    citizens_of_exporter: Option<bool>,
    #[serde(default)]
    children_under_14: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddedGrounds {
    #[serde(default)]
    consent_kinds: Vec<ConsentKind>,
    #[serde(default)]
    security_assessment_on: Option<Date>,
    #[serde(default)]
    notice_covers: Vec<StateCode>,
    #[serde(default)]
    domestic_storage_with_return: bool,
    #[serde(default)]
    subjects_notified: bool,
}

/// Where each format-2 field sits: (object, or "" for the top level; key).
const ADDED_FIELDS: &[(&str, &str)] = &[
    ("", "date"),
    ("exporter", "roles"),
    ("data", "citizens_of_exporter"),
    ("data", "children_under_14"),
    ("grounds", "consent_kinds"),
    ("grounds", "security_assessment_on"),
    ("grounds", "notice_covers"),
    ("grounds", "domestic_storage_with_return"),
    ("grounds", "subjects_notified"),
];

impl TransferFacts {
    /// Parses a facts document of format 1 or 2 from JSON text.
    ///
    /// # Errors
    /// [`FactsError::Invalid`] naming the first field that is missing, malformed, out of
    /// vocabulary or unknown, as [`Facts::from_json`] does.
    pub fn from_json(text: &str) -> Result<TransferFacts, FactsError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let value: serde_json::Value = serde_path_to_error::deserialize(de).map_err(path_error)?;
        TransferFacts::from_value(value)
    }

    /// Parses a facts document of format 1 or 2 from a JSON value (the case tables use this).
    ///
    /// # Errors
    /// As [`TransferFacts::from_json`].
    pub fn from_value(mut value: serde_json::Value) -> Result<TransferFacts, FactsError> {
        let mut added = serde_json::Map::new();
        if let Some(doc) = value.as_object_mut() {
            for (object, key) in ADDED_FIELDS {
                let taken = if object.is_empty() {
                    doc.remove(*key)
                } else {
                    doc.get_mut(*object)
                        .and_then(|o| o.as_object_mut())
                        .and_then(|o| o.remove(*key))
                };
                let Some(taken) = taken else { continue };
                if object.is_empty() {
                    added.insert((*key).to_owned(), taken);
                } else {
                    added
                        .entry((*object).to_owned())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()))
                        .as_object_mut()
                        .expect("inserted as an object")
                        .insert((*key).to_owned(), taken);
                }
            }
        }
        let facts = Facts::from_value(value)?;
        let added: Added = serde_path_to_error::deserialize(serde_json::Value::Object(added))
            .map_err(path_error)?;
        let mut out = TransferFacts::from(facts);
        out.date = added.date;
        out.exporter_roles = added.exporter.roles;
        out.citizens_of_exporter = added.data.citizens_of_exporter.unwrap_or(true);
        out.children_under_14 = added.data.children_under_14.unwrap_or(true);
        out.consent_kinds = added.grounds.consent_kinds;
        out.security_assessment_on = added.grounds.security_assessment_on;
        out.notice_covers = added.grounds.notice_covers;
        out.domestic_storage_with_return = added.grounds.domestic_storage_with_return;
        out.subjects_notified = added.grounds.subjects_notified;
        Ok(out)
    }
}
