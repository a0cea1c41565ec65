//! Data-sharing agreements: committee templates, machine-readable terms, the agreement document
//! signed by both parties, its lifecycle, and the check of a transfer request against its terms.
//!
//! The lifecycle is a type-checked state machine: [`ProposedAgreement`] (signed by the proposer)
//! → [`SignedAgreement`] (signed by both, carrying any authority approvals) →
//! [`ActiveAgreement`] → [`SuspendedAgreement`] / [`ExpiredAgreement`] /
//! [`TerminatedAgreement`]. Each transition consumes the old state, so a suspended agreement
//! has no `check_transfer` and an unsigned one cannot be activated. [`AgreementState`] is the
//! serialisable sum of the states, for storage and display; loading it re-verifies signatures.
//!
//! Terms parse field by field ([`Terms::from_value`]), so a term of the wrong type is refused with
//! its name, and [`Terms::validate`] refuses values that cannot work.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{CanonicalError, DataCategory, Document, OrgId, Signed, StateCode};

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

// ---------------------------------------------------------------------------------------------
// Dates

/// A calendar date (`YYYY-MM-DD`), the granularity of validity periods and approvals. Written
/// as text so signed agreements read the same everywhere; no time zone, no time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    // Field order gives the derived ordering: year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

/// Text that is not a valid `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a date: expected YYYY-MM-DD (a real calendar day, years 1970-9999)")]
pub struct DateError {
    /// The text given.
    pub value: String,
}

impl Date {
    /// A date from its parts.
    ///
    /// # Errors
    /// [`DateError`] if the day does not exist.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, DateError> {
        let err = || DateError {
            value: format!("{year:04}-{month:02}-{day:02}"),
        };
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(err());
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(err());
        }
        Ok(Date { year, month, day })
    }

    /// The UTC calendar date of a Unix time in seconds (as transfers and events record time).
    pub fn from_unix_seconds(secs: i64) -> Self {
        // Days-to-civil conversion (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        let z = secs.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(1970, 9999) as u16;
        Date { year, month, day }
    }

    /// The year, for per-year volume caps.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// Days from 1970-01-01 to this date (the inverse of [`Date::from_unix_seconds`]).
    pub fn days_since_epoch(&self) -> i64 {
        // Civil-to-days conversion (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` later (earlier when negative), clamped to the years a [`Date`] holds.
    pub fn add_days(&self, days: i64) -> Self {
        Self::from_unix_seconds((self.days_since_epoch() + days) * 86_400)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

impl FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DateError {
            value: s.chars().take(40).collect(),
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u16, DateError> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            part.parse().map_err(|_| err())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Date::new(y, m as u8, d as u8).map_err(|_| err())
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

// ---------------------------------------------------------------------------------------------
// Terms

/// Text in the three languages user-facing text exists in (DESIGN.md section 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    /// English.
    pub en: String,
    /// Russian.
    pub ru: String,
    /// Chinese.
    pub zh: String,
}

impl Localized {
    fn validate(&self, path: &str) -> Result<(), TermError> {
        for (lang, text) in [("en", &self.en), ("ru", &self.ru), ("zh", &self.zh)] {
            if text.trim().is_empty() {
                return Err(invalid(format!("{path}.{lang}"), "text is empty"));
            }
        }
        Ok(())
    }
}

/// What the recipient must do when the retention period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DeletionDuty {
    /// Delete the delivery.
    Delete,
    /// Delete it and send the provider a signed certificate of deletion.
    DeleteAndCertify,
}

/// Whether the recipient may pass the data on, and where to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum OnwardTransfer {
    /// No onward transfer at all.
    Banned,
    /// Only to these states (still under the same terms).
    AllowedTo {
        /// The states the data may go on to.
        states: BTreeSet<StateCode>,
    },
}

/// One step of the de-identification plan the provider applies before delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeidentificationStep {
    /// Column the step applies to.
    pub column: String,
    /// What is done to it.
    pub method: DeidentificationMethod,
}

/// De-identification methods an agreement can require (the content review crate applies them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DeidentificationMethod {
    /// Remove the column.
    Drop,
    /// Replace values by a keyed pseudonym, consistent within the delivery.
    Pseudonymise,
    /// Replace values by a keyed hash.
    Hash,
    /// Mask all but a few characters.
    Mask,
    /// Coarsen values (dates to months, numbers to ranges, places to regions).
    Generalise,
}

/// Security measures the recipient undertakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SecurityMeasure {
    /// Encryption of the data at rest.
    EncryptionAtRest,
    /// Encryption in transit (always on between nodes).
    EncryptionInTransit,
    /// Access limited to named staff with a need to know.
    AccessControl,
    /// Every access logged and the log kept.
    AccessLogging,
    /// Processing only on systems in the recipient's state.
    LocalProcessingOnly,
    /// Notification of a breach to the provider and its regulator.
    BreachNotification,
}

/// Where disputes under the agreement are heard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "forum", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum DisputeForum {
    /// Consultation, then a panel of the committee's expert group (DESIGN.md flow 8).
    ExpertGroup {
        /// Days of consultation before a panel is drawn.
        consultation_days: u32,
    },
    /// Arbitration seated in a member state.
    Arbitration {
        /// State of the seat.
        seat: StateCode,
    },
}

/// The validity period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validity {
    /// First day the agreement can be used.
    pub not_before: Date,
    /// Last day the agreement can be used.
    pub not_after: Date,
}

impl Validity {
    /// Whether `day` is within the period.
    pub fn contains(&self, day: Date) -> bool {
        self.not_before <= day && day <= self.not_after
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
    /// Length of each recipient's fingerprint per column, in symbols.
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
        let mut seen = BTreeSet::new();
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

/// The machine-readable terms of an agreement (and the defaults of a template).
///
/// Deserialising goes through [`Terms::from_value`], so every way in names the term at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct Terms {
    /// What the data may be used for.
    pub purpose: String,
    /// Data categories the deliveries may contain.
    pub categories: BTreeSet<DataCategory>,
    /// Columns the deliveries may contain.
    pub columns: BTreeSet<String>,
    /// Most distinct data subjects delivered per calendar year, all transfers together.
    pub max_subjects_per_year: u64,
    /// Days the recipient may keep a delivery.
    pub retention_days: u32,
    /// What happens when retention ends.
    pub deletion: DeletionDuty,
    /// Onward transfers: banned, or the states allowed.
    pub onward_transfer: OnwardTransfer,
    /// The de-identification the provider applies before delivery.
    pub deidentification: Vec<DeidentificationStep>,
    /// Per-recipient marking of delivered copies.
    pub marking: MarkingTerms,
    /// Security measures the recipient undertakes.
    pub security_measures: BTreeSet<SecurityMeasure>,
    /// Where disputes are heard.
    pub dispute_forum: DisputeForum,
    /// Rule-pack versions the agreement was checked against, per state.
    pub rule_packs: BTreeMap<StateCode, String>,
    /// When the agreement can be used.
    pub validity: Validity,
}

/// The names of all terms, in the order they are checked.
pub const TERM_NAMES: [&str; 13] = [
    "purpose",
    "categories",
    "columns",
    "max_subjects_per_year",
    "retention_days",
    "deletion",
    "onward_transfer",
    "deidentification",
    "marking",
    "security_measures",
    "dispute_forum",
    "rule_packs",
    "validity",
];

fn field<T: DeserializeOwned>(
    map: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<T, TermError> {
    let v = map.get(name).ok_or_else(|| TermError::Missing {
        term: name.to_owned(),
    })?;
    serde_json::from_value(v.clone()).map_err(|e| TermError::WrongType {
        term: name.to_owned(),
        reason: e.to_string(),
    })
}

impl Terms {
    /// Parses terms from JSON, one term at a time, then validates them.
    ///
    /// # Errors
    /// [`TermError::Unknown`] for a term no template defines, [`TermError::Missing`],
    /// [`TermError::WrongType`] naming the term and what was expected, or any error of
    /// [`Terms::validate`].
    pub fn from_value(value: &Value) -> Result<Terms, TermError> {
        let Value::Object(map) = value else {
            return Err(TermError::WrongType {
                term: "terms".into(),
                reason: "expected an object of terms".into(),
            });
        };
        if let Some(unknown) = map.keys().find(|k| !TERM_NAMES.contains(&k.as_str())) {
            return Err(TermError::Unknown {
                term: unknown.clone(),
            });
        }
        let terms = Terms {
            purpose: field(map, "purpose")?,
            categories: field(map, "categories")?,
            columns: field(map, "columns")?,
            max_subjects_per_year: field(map, "max_subjects_per_year")?,
            retention_days: field(map, "retention_days")?,
            deletion: field(map, "deletion")?,
            onward_transfer: field(map, "onward_transfer")?,
            deidentification: field(map, "deidentification")?,
            marking: field(map, "marking")?,
            security_measures: field(map, "security_measures")?,
            dispute_forum: field(map, "dispute_forum")?,
            rule_packs: field(map, "rule_packs")?,
            validity: field(map, "validity")?,
        };
        terms.validate()?;
        Ok(terms)
    }

    /// Checks that the terms can work together.
    ///
    /// # Errors
    /// [`TermError::Invalid`] naming the first term at fault and why.
    pub fn validate(&self) -> Result<(), TermError> {
        if self.purpose.trim().is_empty() {
            return Err(invalid("purpose", "empty: a purpose must be stated"));
        }
        if self.categories.is_empty() {
            return Err(invalid("categories", "no data category is permitted"));
        }
        if self.columns.is_empty() {
            return Err(invalid("columns", "no column is permitted"));
        }
        if let Some(c) = self.columns.iter().find(|c| c.trim().is_empty()) {
            return Err(invalid("columns", format!("empty column name '{c}'")));
        }
        if self.max_subjects_per_year == 0 {
            return Err(invalid("max_subjects_per_year", "must be at least 1"));
        }
        if self.retention_days == 0 || self.retention_days > 36_600 {
            return Err(invalid(
                "retention_days",
                format!("must be 1 to 36600 days, got {}", self.retention_days),
            ));
        }
        if let OnwardTransfer::AllowedTo { states } = &self.onward_transfer
            && states.is_empty()
        {
            return Err(invalid(
                "onward_transfer.states",
                "empty; use {\"rule\": \"banned\"} to ban onward transfers",
            ));
        }
        for (i, step) in self.deidentification.iter().enumerate() {
            if !self.columns.contains(&step.column) {
                return Err(invalid(
                    format!("deidentification[{i}].column"),
                    format!("'{}' is not a permitted column", step.column),
                ));
            }
        }
        self.marking.validate()?;
        for (i, c) in self.marking.columns.iter().enumerate() {
            if !self.columns.contains(&c.column) {
                return Err(invalid(
                    format!("marking.columns[{i}].column"),
                    format!("'{}' is not a permitted column", c.column),
                ));
            }
            let deid = self.deidentification.iter().find(|s| s.column == c.column);
            if let Some(step) = deid {
                return Err(invalid(
                    format!("marking.columns[{i}].column"),
                    format!(
                        "'{}' is also de-identified ({:?}); a mark must not alter it again",
                        c.column, step.method
                    ),
                ));
            }
        }
        if self.security_measures.is_empty() {
            return Err(invalid("security_measures", "at least one is required"));
        }
        if let DisputeForum::ExpertGroup { consultation_days } = self.dispute_forum
            && !(1..=365).contains(&consultation_days)
        {
            return Err(invalid(
                "dispute_forum.consultation_days",
                format!("must be 1 to 365, got {consultation_days}"),
            ));
        }
        if self.rule_packs.is_empty() {
            return Err(invalid(
                "rule_packs",
                "name at least one state's rule-pack version",
            ));
        }
        if let Some((s, _)) = self.rule_packs.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(invalid(format!("rule_packs.{s}"), "empty version"));
        }
        if self.validity.not_after < self.validity.not_before {
            return Err(invalid(
                "validity",
                format!(
                    "not_after {} is before not_before {}",
                    self.validity.not_after, self.validity.not_before
                ),
            ));
        }
        Ok(())
    }
}

impl TryFrom<Value> for Terms {
    type Error = TermError;
    fn try_from(v: Value) -> Result<Self, Self::Error> {
        Terms::from_value(&v)
    }
}

// ---------------------------------------------------------------------------------------------
// Templates

/// The sub-committees of the Data Security Cooperation Committee that keep templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubCommittee {
    /// Trade data security.
    Trade,
    /// Investment data security.
    Investment,
    /// Financial data security.
    Financial,
    /// Intellectual-property data security.
    IntellectualProperty,
    /// The committee itself, for data of no particular sector.
    General,
}

impl SubCommittee {
    /// All sub-committees.
    pub const ALL: [SubCommittee; 5] = [
        SubCommittee::Trade,
        SubCommittee::Investment,
        SubCommittee::Financial,
        SubCommittee::IntellectualProperty,
        SubCommittee::General,
    ];

    /// The stable word used in file names and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            SubCommittee::Trade => "trade",
            SubCommittee::Investment => "investment",
            SubCommittee::Financial => "financial",
            SubCommittee::IntellectualProperty => "intellectual-property",
            SubCommittee::General => "general",
        }
    }
}

/// One clause of a template, in the three languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// Stable clause identifier, e.g. `purpose-limitation`.
    pub id: String,
    /// Heading.
    pub title: Localized,
    /// Text. Placeholders in braces (`{purpose}`) name the term the clause is filled from.
    pub text: Localized,
}

/// A versioned agreement template adopted by a sub-committee: clauses and default terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Template identifier, e.g. `trade`.
    pub id: String,
    /// Version; a change to clauses or terms is a new version.
    pub version: u32,
    /// The sub-committee that keeps it.
    pub sub_committee: SubCommittee,
    /// Title.
    pub title: Localized,
    /// Clauses.
    pub clauses: Vec<Clause>,
    /// Default terms; an agreement starts from them and the parties may narrow them.
    pub terms: Terms,
}

/// A template could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A term is at fault.
    #[error("template terms: {0}")]
    Term(#[from] TermError),
    /// Anything else in the template (title, clauses, version) is malformed.
    #[error("template field '{field}': {reason}")]
    Field {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
}

impl Template {
    /// The default terms of an agreement made from this template on `today`: the template's
    /// terms with the validity period moved to start on `today` and last as long as the
    /// template's (both days included). A template's dates are an example of the span, not
    /// dates that age: an agreement proposed with the defaults a year after the template was
    /// adopted is still valid for the template's span from that day.
    pub fn default_terms(&self, today: Date) -> Terms {
        let mut terms = self.terms.clone();
        let span = terms.validity.not_after.days_since_epoch()
            - terms.validity.not_before.days_since_epoch();
        terms.validity.not_before = today;
        terms.validity.not_after = today.add_days(span);
        terms
    }

    /// Parses and validates a template from JSON.
    ///
    /// # Errors
    /// [`TemplateError::Term`] naming the term at fault, or [`TemplateError::Field`].
    pub fn from_json(bytes: &[u8]) -> Result<Template, TemplateError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| TemplateError::Field {
            field: "(document)".into(),
            reason: e.to_string(),
        })?;
        // Terms first, so their errors name the term rather than a serde position.
        let terms_value = value.get("terms").ok_or_else(|| TemplateError::Field {
            field: "terms".into(),
            reason: "missing".into(),
        })?;
        Terms::from_value(terms_value)?;
        let t: Template = serde_json::from_value(value).map_err(|e| TemplateError::Field {
            field: "(template)".into(),
            reason: e.to_string(),
        })?;
        t.validate()?;
        Ok(t)
    }

    /// Checks the template: an identifier, a version, every text in three languages, and
    /// clause identifiers unique.
    ///
    /// # Errors
    /// [`TemplateError`] naming the field.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let field = |f: String, r: &str| TemplateError::Field {
            field: f,
            reason: r.to_owned(),
        };
        if self.id.trim().is_empty() {
            return Err(field("id".into(), "empty"));
        }
        if self.version == 0 {
            return Err(field("version".into(), "versions start at 1"));
        }
        self.title
            .validate("title")
            .map_err(|e| field("title".into(), &e.to_string()))?;
        if self.clauses.is_empty() {
            return Err(field("clauses".into(), "a template needs clauses"));
        }
        let mut ids = BTreeSet::new();
        for (i, c) in self.clauses.iter().enumerate() {
            if !ids.insert(c.id.as_str()) {
                return Err(field(format!("clauses[{i}].id"), "duplicate clause id"));
            }
            for (part, text) in [("title", &c.title), ("text", &c.text)] {
                text.validate(&format!("clauses[{i}].{part}"))
                    .map_err(|e| field(format!("clauses[{i}].{part}"), &e.to_string()))?;
            }
            // Every placeholder names a term, and the three languages fill the same ones, so
            // no translation silently drops a duty.
            let en = placeholders(&c.text.en);
            for name in &en {
                let known = TERM_NAMES.contains(&name.as_str())
                    || name == "validity.not_before"
                    || name == "validity.not_after";
                if !known {
                    return Err(field(
                        format!("clauses[{i}].text.en"),
                        &format!("placeholder '{{{name}}}' is not a term"),
                    ));
                }
            }
            for (lang, text) in [("ru", &c.text.ru), ("zh", &c.text.zh)] {
                if placeholders(text) != en {
                    return Err(field(
                        format!("clauses[{i}].text.{lang}"),
                        "placeholders differ from the English text",
                    ));
                }
            }
        }
        self.terms.validate()?;
        Ok(())
    }

    /// A reference to this template version, as an agreement records it.
    pub fn reference(&self) -> TemplateRef {
        TemplateRef {
            id: self.id.clone(),
            version: self.version,
        }
    }
}

/// The `{name}` placeholders of a clause text, sorted.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.insert(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Which template version an agreement was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// Template identifier.
    pub id: String,
    /// Template version.
    pub version: u32,
}

// ---------------------------------------------------------------------------------------------
// The agreement document

/// Which party an action comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The organisation providing the data.
    Provider,
    /// The organisation receiving it.
    Consumer,
}

impl Party {
    /// The other party.
    pub fn other(self) -> Party {
        match self {
            Party::Provider => Party::Consumer,
            Party::Consumer => Party::Provider,
        }
    }
}

/// The agreement as both parties sign it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Federation-wide agreement identifier.
    pub id: String,
    /// The template version it was made from.
    pub template: TemplateRef,
    /// The providing organisation.
    pub provider: OrgId,
    /// Key id that signs for the provider.
    pub provider_signer: String,
    /// The receiving organisation.
    pub consumer: OrgId,
    /// Key id that signs for the consumer.
    pub consumer_signer: String,
    /// The terms.
    pub terms: Terms,
    /// Which party made this revision (the proposal or the latest counter-proposal).
    pub proposed_by: Party,
    /// 1 for the proposal, one more for each counter-proposal.
    pub revision: u32,
    /// States whose authority must approve before the agreement can become active (a rule pack
    /// makes it an obligation: a security assessment, a filed standard contract, a permit).
    pub approvals_required: BTreeSet<StateCode>,
}

impl Document for Agreement {
    const KIND: &'static str = "agreement/v1";
}

impl Agreement {
    /// The key id that signs for `party`.
    pub fn signer_of(&self, party: Party) -> &str {
        match party {
            Party::Provider => &self.provider_signer,
            Party::Consumer => &self.consumer_signer,
        }
    }
}

/// An authority's approval of one exact agreement text. It binds to the provider's signature,
/// which (Ed25519 being deterministic and unforgeable) pins the exact document and revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityApproval {
    /// The agreement approved.
    pub agreement_id: String,
    /// Its revision.
    pub revision: u32,
    /// The provider's signature over that revision (base64, as in the agreement).
    pub provider_signature: String,
    /// The approving state.
    pub state: StateCode,
    /// What the approval is (e.g. `security assessment`, `standard contract filed`).
    pub basis: String,
    /// Day of approval.
    pub approved_on: Date,
}

impl Document for AuthorityApproval {
    const KIND: &'static str = "agreement-approval/v1";
}

/// One party's signature in a [`SignedAgreement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySignature {
    /// Key id of the signer.
    pub signer: String,
    /// Base64 Ed25519 signature over the agreement's canonical form.
    pub signature: String,
}

/// Why an agreement action was refused. Nothing changes when one is returned: transitions
/// consume a state only on success (failed transitions hand it back inside the error where the
/// caller needs it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgreementError {
    /// A term is at fault.
    #[error(transparent)]
    Term(#[from] TermError),
    /// Canonicalisation failed or a signature does not verify over these bytes.
    #[error(transparent)]
    Signature(#[from] CanonicalError),
    /// The signing key id is not on the trust list (or not the one the agreement names).
    #[error("signer '{signer}' is not trusted to sign as {role}")]
    UntrustedSigner {
        /// The key id.
        signer: String,
        /// The role it claimed (`provider`, `consumer`, `authority of KZ`).
        role: String,
    },
    /// The document says one thing, the action another (e.g. the proposer countering itself).
    #[error("field '{field}': {reason}")]
    Mismatch {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// An approval required by a rule pack is missing.
    #[error("approval by the authority of {state} is required before activation")]
    ApprovalMissing {
        /// The state whose approval is missing.
        state: StateCode,
    },
    /// Outside the validity period.
    #[error("term 'validity': {day} is outside {not_before}..{not_after}")]
    OutsideValidity {
        /// The day of the action.
        day: Date,
        /// First valid day.
        not_before: Date,
        /// Last valid day.
        not_after: Date,
    },
}

/// Looks up verification keys on the trust list by key id. Implemented by the node over its
/// trust list and organisation registry; a closure works in tests.
pub trait KeyLookup {
    /// The key of `signer` if it may sign for organisation `org`.
    fn party_key(&self, org: &OrgId, signer: &str) -> Option<VerifyingKey>;
    /// The key of `signer` if it is the authority (node operator) of `state`.
    fn authority_key(&self, state: StateCode, signer: &str) -> Option<VerifyingKey>;
}

fn party_key(
    keys: &impl KeyLookup,
    doc: &Agreement,
    party: Party,
    signer: &str,
) -> Result<VerifyingKey, AgreementError> {
    let (org, role) = match party {
        Party::Provider => (&doc.provider, "provider"),
        Party::Consumer => (&doc.consumer, "consumer"),
    };
    if signer != doc.signer_of(party) {
        return Err(AgreementError::UntrustedSigner {
            signer: signer.to_owned(),
            role: role.to_owned(),
        });
    }
    keys.party_key(org, signer)
        .ok_or_else(|| AgreementError::UntrustedSigner {
            signer: signer.to_owned(),
            role: role.to_owned(),
        })
}

/// A proposal (or counter-proposal) signed by the party that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedAgreement {
    signed: Signed<Agreement>,
}

impl ProposedAgreement {
    /// Validates and signs a new proposal. The signer must be the key id the document names
    /// for the proposing party.
    ///
    /// # Errors
    /// [`AgreementError::Term`] for terms that do not validate, [`AgreementError::Mismatch`]
    /// for a revision other than 1 or a signer other than the document's.
    pub fn propose(doc: Agreement, key: &SigningKey) -> Result<Self, AgreementError> {
        doc.terms.validate()?;
        if doc.revision != 1 {
            return Err(AgreementError::Mismatch {
                field: "revision",
                reason: format!("a proposal is revision 1, got {}", doc.revision),
            });
        }
        let signer = doc.signer_of(doc.proposed_by).to_owned();
        Ok(ProposedAgreement {
            signed: Signed::sign(doc, signer, key)?,
        })
    }

    /// Checks a proposal received from the other node: terms valid, signed by the proposing
    /// party's key on the trust list over exactly these bytes.
    ///
    /// # Errors
    /// [`AgreementError::UntrustedSigner`], [`AgreementError::Signature`], [`AgreementError::Term`].
    pub fn verify(
        signed: Signed<Agreement>,
        keys: &impl KeyLookup,
    ) -> Result<Self, AgreementError> {
        let doc = &signed.document;
        doc.terms.validate()?;
        let key = party_key(keys, doc, doc.proposed_by, &signed.signer)?;
        signed.verify(&key)?;
        Ok(ProposedAgreement { signed })
    }

    /// The document.
    pub fn document(&self) -> &Agreement {
        &self.signed.document
    }

    /// The signed envelope, to send to the other party.
    pub fn signed(&self) -> &Signed<Agreement> {
        &self.signed
    }

    /// The other party proposes different terms: a new revision, signed by it.
    ///
    /// # Errors
    /// [`AgreementError::Term`] if the new terms do not validate.
    pub fn counter(
        self,
        terms: Terms,
        key: &SigningKey,
    ) -> Result<ProposedAgreement, AgreementError> {
        terms.validate()?;
        let mut doc = self.signed.document;
        doc.terms = terms;
        doc.proposed_by = doc.proposed_by.other();
        doc.revision += 1;
        let signer = doc.signer_of(doc.proposed_by).to_owned();
        Ok(ProposedAgreement {
            signed: Signed::sign(doc, signer, key)?,
        })
    }

    /// The other party accepts the revision as it stands and signs it too.
    ///
    /// # Errors
    /// [`AgreementError::Signature`] if the document cannot be canonicalised.
    pub fn accept(self, key: &SigningKey) -> Result<SignedAgreement, AgreementError> {
        let accepting = self.signed.document.proposed_by.other();
        let signer = self.signed.document.signer_of(accepting).to_owned();
        let counter = Signed::sign(self.signed.document.clone(), signer, key)?;
        Ok(SignedAgreement::from_parts(self.signed, counter))
    }
}

/// An agreement signed by both parties, with the authority approvals it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedAgreement {
    document: Agreement,
    provider_signature: PartySignature,
    consumer_signature: PartySignature,
    approvals: Vec<Signed<AuthorityApproval>>,
}

impl SignedAgreement {
    fn from_parts(a: Signed<Agreement>, b: Signed<Agreement>) -> Self {
        let sig = |s: Signed<Agreement>| PartySignature {
            signer: s.signer,
            signature: s.signature,
        };
        let a_party = a.document.proposed_by;
        let document = a.document.clone();
        let (p, c) = match a_party {
            Party::Provider => (sig(a), sig(b)),
            Party::Consumer => (sig(b), sig(a)),
        };
        SignedAgreement {
            document,
            provider_signature: p,
            consumer_signature: c,
            approvals: Vec::new(),
        }
    }

    /// Checks both parties' signatures and every approval against the trust list; use it on an
    /// agreement received from another node or loaded from storage.
    ///
    /// # Errors
    /// [`AgreementError::UntrustedSigner`] for a key not on the trust list,
    /// [`AgreementError::Signature`] for a signature over different bytes,
    /// [`AgreementError::Term`] for invalid terms.
    pub fn verify(&self, keys: &impl KeyLookup) -> Result<(), AgreementError> {
        self.document.terms.validate()?;
        for (party, s) in [
            (Party::Provider, &self.provider_signature),
            (Party::Consumer, &self.consumer_signature),
        ] {
            let key = party_key(keys, &self.document, party, &s.signer)?;
            Signed {
                document: self.document.clone(),
                signer: s.signer.clone(),
                signature: s.signature.clone(),
            }
            .verify(&key)?;
        }
        for a in &self.approvals {
            self.check_approval(a, keys)?;
        }
        Ok(())
    }

    fn check_approval(
        &self,
        approval: &Signed<AuthorityApproval>,
        keys: &impl KeyLookup,
    ) -> Result<(), AgreementError> {
        let doc = &approval.document;
        let key = keys
            .authority_key(doc.state, &approval.signer)
            .ok_or_else(|| AgreementError::UntrustedSigner {
                signer: approval.signer.clone(),
                role: format!("authority of {}", doc.state),
            })?;
        approval.verify(&key)?;
        if doc.agreement_id != self.document.id
            || doc.revision != self.document.revision
            || doc.provider_signature != self.provider_signature.signature
        {
            return Err(AgreementError::Mismatch {
                field: "approval",
                reason: format!(
                    "approval by {} is for agreement '{}' revision {}, not this text",
                    doc.state, doc.agreement_id, doc.revision
                ),
            });
        }
        Ok(())
    }

    /// The document.
    pub fn document(&self) -> &Agreement {
        &self.document
    }

    /// The provider's signature, which an authority's approval binds to.
    pub fn provider_signature(&self) -> &PartySignature {
        &self.provider_signature
    }

    /// The consumer's signature.
    pub fn consumer_signature(&self) -> &PartySignature {
        &self.consumer_signature
    }

    /// The approvals carried.
    pub fn approvals(&self) -> &[Signed<AuthorityApproval>] {
        &self.approvals
    }

    /// The approval an authority signs for this agreement text.
    pub fn approval_for(&self, state: StateCode, basis: &str, on: Date) -> AuthorityApproval {
        AuthorityApproval {
            agreement_id: self.document.id.clone(),
            revision: self.document.revision,
            provider_signature: self.provider_signature.signature.clone(),
            state,
            basis: basis.to_owned(),
            approved_on: on,
        }
    }

    /// Adds an authority's signed approval after checking it.
    ///
    /// # Errors
    /// [`AgreementError::UntrustedSigner`] if the key is not that state's authority,
    /// [`AgreementError::Signature`], or [`AgreementError::Mismatch`] if it approves another text.
    pub fn add_approval(
        &mut self,
        approval: Signed<AuthorityApproval>,
        keys: &impl KeyLookup,
    ) -> Result<(), AgreementError> {
        self.check_approval(&approval, keys)?;
        self.approvals
            .retain(|a| a.document.state != approval.document.state);
        self.approvals.push(approval);
        Ok(())
    }

    /// Makes the agreement active on `today`: every required approval present, and `today`
    /// within the validity period.
    ///
    /// # Errors
    /// [`AgreementError::ApprovalMissing`] or [`AgreementError::OutsideValidity`]; the signed
    /// agreement is unchanged (the caller still holds it).
    pub fn activate(&self, today: Date) -> Result<ActiveAgreement, AgreementError> {
        for state in &self.document.approvals_required {
            if !self.approvals.iter().any(|a| a.document.state == *state) {
                return Err(AgreementError::ApprovalMissing { state: *state });
            }
        }
        let v = self.document.terms.validity;
        if !v.contains(today) {
            return Err(AgreementError::OutsideValidity {
                day: today,
                not_before: v.not_before,
                not_after: v.not_after,
            });
        }
        Ok(ActiveAgreement {
            agreement: self.clone(),
            since: today,
        })
    }
}

/// An agreement in force: transfers may be checked against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAgreement {
    agreement: SignedAgreement,
    since: Date,
}

/// Why an agreement was suspended or terminated, and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// Who acted: a party's key id or an authority's node id.
    pub by: String,
    /// The reason given.
    pub reason: String,
    /// The day it took effect.
    pub on: Date,
}

impl ActiveAgreement {
    /// The signed agreement.
    pub fn agreement(&self) -> &SignedAgreement {
        &self.agreement
    }

    /// The terms.
    pub fn terms(&self) -> &Terms {
        &self.agreement.document.terms
    }

    /// Checks a transfer request against the terms (see [`check_transfer`]).
    ///
    /// # Errors
    /// The first [`TermBreach`].
    pub fn check_transfer(&self, request: &TransferRequest) -> Result<(), TermBreach> {
        check_transfer(self.terms(), request)
    }

    /// Suspends it (a regulator or a dispute); the next transfer request is refused.
    pub fn suspend(self, change: StatusChange) -> SuspendedAgreement {
        SuspendedAgreement {
            agreement: self.agreement,
            change,
        }
    }

    /// Ends it early.
    pub fn terminate(self, change: StatusChange) -> TerminatedAgreement {
        TerminatedAgreement {
            agreement: self.agreement,
            change,
        }
    }

    /// Expires it if `today` is past the validity period; otherwise hands it back.
    ///
    /// # Errors
    /// The active agreement itself, when it has not expired.
    pub fn expire(self, today: Date) -> Result<ExpiredAgreement, Box<ActiveAgreement>> {
        if today > self.agreement.document.terms.validity.not_after {
            Ok(ExpiredAgreement {
                agreement: self.agreement,
                on: today,
            })
        } else {
            Err(Box::new(self))
        }
    }
}

/// A suspended agreement: no transfer may run under it until it is resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspendedAgreement {
    agreement: SignedAgreement,
    change: StatusChange,
}

impl SuspendedAgreement {
    /// The signed agreement.
    pub fn agreement(&self) -> &SignedAgreement {
        &self.agreement
    }

    /// Who suspended it and why.
    pub fn suspension(&self) -> &StatusChange {
        &self.change
    }

    /// Lifts the suspension on `today`, if still within validity.
    ///
    /// # Errors
    /// [`AgreementError::OutsideValidity`] when the period has ended meanwhile.
    pub fn resume(self, today: Date) -> Result<ActiveAgreement, AgreementError> {
        self.agreement.activate(today)
    }

    /// Ends it.
    pub fn terminate(self, change: StatusChange) -> TerminatedAgreement {
        TerminatedAgreement {
            agreement: self.agreement,
            change,
        }
    }
}

/// An agreement whose validity period has ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpiredAgreement {
    agreement: SignedAgreement,
    on: Date,
}

impl ExpiredAgreement {
    /// The signed agreement.
    pub fn agreement(&self) -> &SignedAgreement {
        &self.agreement
    }
}

/// An agreement ended by a party, a regulator or a dispute decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminatedAgreement {
    agreement: SignedAgreement,
    change: StatusChange,
}

impl TerminatedAgreement {
    /// The signed agreement.
    pub fn agreement(&self) -> &SignedAgreement {
        &self.agreement
    }

    /// Who ended it and why.
    pub fn termination(&self) -> &StatusChange {
        &self.change
    }
}

/// The lifecycle states, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgreementStatus {
    /// Proposed (or countered), waiting for the other party.
    Proposed,
    /// Signed by both, not yet active (approvals pending or validity not begun).
    Signed,
    /// In force.
    Active,
    /// Suspended.
    Suspended,
    /// Past its validity.
    Expired,
    /// Ended early.
    Terminated,
}

/// Any state of an agreement, for storage. Loading one from storage or the wire goes through
/// [`AgreementState::verify`] before use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum AgreementState {
    /// See [`ProposedAgreement`].
    Proposed {
        /// The signed proposal.
        proposal: Signed<Agreement>,
    },
    /// See [`SignedAgreement`].
    Signed {
        /// The agreement.
        agreement: SignedAgreement,
    },
    /// See [`ActiveAgreement`].
    Active {
        /// The agreement.
        agreement: ActiveAgreement,
    },
    /// See [`SuspendedAgreement`].
    Suspended {
        /// The agreement.
        agreement: SuspendedAgreement,
    },
    /// See [`ExpiredAgreement`].
    Expired {
        /// The agreement.
        agreement: ExpiredAgreement,
    },
    /// See [`TerminatedAgreement`].
    Terminated {
        /// The agreement.
        agreement: TerminatedAgreement,
    },
}

impl AgreementState {
    /// The status word.
    pub fn status(&self) -> AgreementStatus {
        match self {
            AgreementState::Proposed { .. } => AgreementStatus::Proposed,
            AgreementState::Signed { .. } => AgreementStatus::Signed,
            AgreementState::Active { .. } => AgreementStatus::Active,
            AgreementState::Suspended { .. } => AgreementStatus::Suspended,
            AgreementState::Expired { .. } => AgreementStatus::Expired,
            AgreementState::Terminated { .. } => AgreementStatus::Terminated,
        }
    }

    /// The agreement document in whatever state.
    pub fn document(&self) -> &Agreement {
        match self {
            AgreementState::Proposed { proposal } => &proposal.document,
            AgreementState::Signed { agreement } => agreement.document(),
            AgreementState::Active { agreement } => agreement.agreement().document(),
            AgreementState::Suspended { agreement } => agreement.agreement().document(),
            AgreementState::Expired { agreement } => agreement.agreement().document(),
            AgreementState::Terminated { agreement } => agreement.agreement().document(),
        }
    }

    /// Re-checks every signature against the trust list.
    ///
    /// # Errors
    /// As [`SignedAgreement::verify`] / [`ProposedAgreement::verify`].
    pub fn verify(&self, keys: &impl KeyLookup) -> Result<(), AgreementError> {
        match self {
            AgreementState::Proposed { proposal } => {
                ProposedAgreement::verify(proposal.clone(), keys).map(|_| ())
            }
            AgreementState::Signed { agreement } => agreement.verify(keys),
            AgreementState::Active { agreement } => agreement.agreement().verify(keys),
            AgreementState::Suspended { agreement } => agreement.agreement().verify(keys),
            AgreementState::Expired { agreement } => agreement.agreement().verify(keys),
            AgreementState::Terminated { agreement } => agreement.agreement().verify(keys),
        }
    }

    /// Checks a transfer request: refused with [`Term::Status`] unless the agreement is active,
    /// otherwise as [`check_transfer`].
    ///
    /// # Errors
    /// The first [`TermBreach`].
    pub fn check_transfer(&self, request: &TransferRequest) -> Result<(), TermBreach> {
        match self {
            AgreementState::Active { agreement } => agreement.check_transfer(request),
            other => Err(TermBreach {
                term: Term::Status,
                reason: format!(
                    "the agreement is {}, not active",
                    serde_json::to_value(other.status())
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking a transfer against the terms

/// What a transfer request asks for, in the terms' vocabulary. The node fills it from the
/// request, the content review and its yearly counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// Columns of the payload as it would be delivered.
    pub columns: BTreeSet<String>,
    /// Data categories the content review found.
    pub categories: BTreeSet<DataCategory>,
    /// Data subjects in this payload.
    pub subjects: u64,
    /// Data subjects already delivered under the agreement this calendar year.
    pub subjects_delivered_this_year: u64,
    /// The day of the request.
    pub on: Date,
    /// For an onward transfer by the recipient: the state the data would go to. `None` for the
    /// delivery from provider to consumer itself.
    pub onward_to: Option<StateCode>,
}

/// A term of the agreement that a request would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Term {
    /// The agreement is not active (suspended, expired, terminated, not yet active).
    Status,
    /// The validity period.
    Validity,
    /// The permitted columns.
    Columns,
    /// The permitted data categories.
    Categories,
    /// The yearly cap on data subjects.
    MaxSubjectsPerYear,
    /// The onward-transfer rule.
    OnwardTransfer,
}

impl Term {
    /// The term's name as in the terms JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Term::Status => "status",
            Term::Validity => "validity",
            Term::Columns => "columns",
            Term::Categories => "categories",
            Term::MaxSubjectsPerYear => "max_subjects_per_year",
            Term::OnwardTransfer => "onward_transfer",
        }
    }
}

/// The term a request breaks and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("term '{}': {reason}", term.as_str())]
pub struct TermBreach {
    /// The term.
    pub term: Term,
    /// Why the request breaks it.
    pub reason: String,
}

/// Checks a transfer request against the terms, in a fixed order (validity, columns,
/// categories, yearly subjects, onward transfer), and returns the first term it breaks.
/// Pure: the caller supplies the date and the year's counter.
///
/// # Errors
/// The first [`TermBreach`].
pub fn check_transfer(terms: &Terms, req: &TransferRequest) -> Result<(), TermBreach> {
    let breach = |term, reason: String| Err(TermBreach { term, reason });
    let v = terms.validity;
    if !v.contains(req.on) {
        return breach(
            Term::Validity,
            format!("{} is outside {}..{}", req.on, v.not_before, v.not_after),
        );
    }
    let extra: Vec<&str> = req
        .columns
        .iter()
        .filter(|c| !terms.columns.contains(*c))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        return breach(
            Term::Columns,
            format!("not permitted: {}", extra.join(", ")),
        );
    }
    let extra: Vec<&str> = req
        .categories
        .iter()
        .filter(|c| !terms.categories.contains(*c))
        .map(|c| c.as_str())
        .collect();
    if !extra.is_empty() {
        return breach(
            Term::Categories,
            format!("not permitted: {}", extra.join(", ")),
        );
    }
    let total = req
        .subjects_delivered_this_year
        .saturating_add(req.subjects);
    if total > terms.max_subjects_per_year {
        return breach(
            Term::MaxSubjectsPerYear,
            format!(
                "{} already delivered in {} plus {} requested exceeds the cap of {}",
                req.subjects_delivered_this_year,
                req.on.year(),
                req.subjects,
                terms.max_subjects_per_year
            ),
        );
    }
    if let Some(to) = req.onward_to {
        match &terms.onward_transfer {
            OnwardTransfer::Banned => {
                return breach(
                    Term::OnwardTransfer,
                    format!("onward transfers are banned (requested to {to})"),
                );
            }
            OnwardTransfer::AllowedTo { states } if !states.contains(&to) => {
                let allowed: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
                return breach(
                    Term::OnwardTransfer,
                    format!(
                        "{to} is not among the allowed states ({})",
                        allowed.join(", ")
                    ),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn days_since_epoch_inverts_from_unix_seconds_across_leap_days_and_centuries() {
        for (text, days) in [
            ("1970-01-01", 0),
            ("2000-02-29", 11_016),
            ("2000-03-01", 11_017),
            ("2100-03-01", 47_541),
        ] {
            let d: Date = text.parse().unwrap();
            assert_eq!(d.days_since_epoch(), days, "{text}");
            assert_eq!(Date::from_unix_seconds(days * 86_400), d, "{text}");
        }
        let d: Date = "2027-12-31".parse().unwrap();
        assert_eq!(d.add_days(1).to_string(), "2028-01-01");
        assert_eq!(d.add_days(-365).to_string(), "2026-12-31");
        assert_eq!(d.add_days(366 + 59).to_string(), "2029-02-28");
    }

    const TEMPLATES: [(&str, &str); 5] = [
        ("trade", include_str!("../../../templates/trade/v1.json")),
        (
            "investment",
            include_str!("../../../templates/investment/v1.json"),
        ),
        (
            "financial",
            include_str!("../../../templates/financial/v1.json"),
        ),
        (
            "intellectual-property",
            include_str!("../../../templates/intellectual-property/v1.json"),
        ),
        (
            "general",
            include_str!("../../../templates/general/v1.json"),
        ),
    ];

    fn trade() -> Template {
        Template::from_json(TEMPLATES[0].1.as_bytes()).unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn default_terms_start_on_the_day_and_keep_the_templates_span() {
        let t = trade();
        let span = t.terms.validity.not_after.days_since_epoch()
            - t.terms.validity.not_before.days_since_epoch();
        for today in ["2026-12-07", "2031-02-28", "2099-06-30"] {
            let today: Date = today.parse().unwrap();
            let terms = t.default_terms(today);
            assert_eq!(terms.validity.not_before, today);
            assert_eq!(terms.validity.not_after, today.add_days(span));
            assert!(
                terms.validity.contains(today),
                "in force on the day it is made"
            );
            assert_eq!(
                terms.purpose, t.terms.purpose,
                "the other terms are the template's"
            );
        }
    }

    #[test]
    fn every_template_loads_in_three_languages() {
        let mut seen = BTreeSet::new();
        for (dir, text) in TEMPLATES {
            let t = Template::from_json(text.as_bytes()).unwrap_or_else(|e| panic!("{dir}: {e}"));
            assert_eq!(t.sub_committee.as_str(), dir);
            assert_eq!(t.id, dir);
            assert_eq!(t.version, 1);
            assert!(t.clauses.len() >= 10, "{dir}");
            for c in &t.clauses {
                assert!(
                    c.text.ru.chars().any(|ch| ('а'..='я').contains(&ch)),
                    "{dir}/{}",
                    c.id
                );
                assert!(
                    c.text.zh.chars().any(|ch| ch as u32 >= 0x4E00),
                    "{dir}/{}",
                    c.id
                );
            }
            seen.insert(t.sub_committee);
        }
        assert_eq!(seen.len(), SubCommittee::ALL.len());
    }

    fn terms_with(
        edit: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Result<Terms, TermError> {
        let mut v: Value = serde_json::from_str(TEMPLATES[0].1).unwrap();
        let map = v["terms"].as_object_mut().unwrap();
        edit(map);
        Terms::from_value(&v["terms"])
    }

    /// One bad term per case: the error must name the term (and for type errors say so).
    #[test]
    fn bad_terms_name_the_term() {
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Box<dyn FnOnce(&mut serde_json::Map<String, Value>)>,
            &str,
        )> = vec![
            (
                "wrong type",
                Box::new(|m| {
                    m.insert("retention_days".into(), json!("a year"));
                }),
                "term 'retention_days' has the wrong type",
            ),
            (
                "wrong type nested",
                Box::new(|m| {
                    m["marking"]["select_one_in"] = json!(-1);
                }),
                "term 'marking' has the wrong type",
            ),
            (
                "unknown category",
                Box::new(|m| {
                    m.insert("categories".into(), json!(["secret"]));
                }),
                "term 'categories' has the wrong type",
            ),
            (
                "missing",
                Box::new(|m| {
                    m.remove("purpose");
                }),
                "term 'purpose' is missing",
            ),
            (
                "unknown term",
                Box::new(|m| {
                    m.insert("retention".into(), json!(3));
                }),
                "term 'retention' is not a known term",
            ),
            (
                "float",
                Box::new(|m| {
                    m.insert("max_subjects_per_year".into(), json!(1.5));
                }),
                "term 'max_subjects_per_year' has the wrong type",
            ),
            (
                "empty purpose",
                Box::new(|m| {
                    m.insert("purpose".into(), json!(" "));
                }),
                "term 'purpose': empty",
            ),
            (
                "reversed validity",
                Box::new(|m| {
                    m.insert(
                        "validity".into(),
                        json!({"not_before": "2027-01-01", "not_after": "2026-01-01"}),
                    );
                }),
                "term 'validity': not_after 2026-01-01 is before",
            ),
            (
                "bad date",
                Box::new(|m| {
                    m.insert(
                        "validity".into(),
                        json!({"not_before": "2027-02-29", "not_after": "2028-01-01"}),
                    );
                }),
                "term 'validity' has the wrong type",
            ),
            (
                "marked column not permitted",
                Box::new(|m| {
                    m["marking"]["columns"][0]["column"] = json!("price");
                }),
                "term 'marking.columns[0].column': 'price' is not a permitted column",
            ),
            (
                "mark too large",
                Box::new(|m| {
                    m["marking"]["columns"][1]["max_change_units"] = json!(10);
                }),
                "term 'marking.columns[1].max_change_units': must be 1 to 9",
            ),
            (
                "marking a de-identified column",
                Box::new(|m| {
                    m["deidentification"] = json!([{"column": "amount", "method": "generalise"}]);
                }),
                "term 'marking.columns[0].column': 'amount' is also de-identified",
            ),
            (
                "empty onward list",
                Box::new(|m| {
                    m["onward_transfer"] = json!({"rule": "allowed-to", "states": []});
                }),
                "term 'onward_transfer.states'",
            ),
            (
                "bad state",
                Box::new(|m| {
                    m["onward_transfer"] = json!({"rule": "allowed-to", "states": ["Kazakhstan"]});
                }),
                "term 'onward_transfer' has the wrong type",
            ),
            (
                "no rule packs",
                Box::new(|m| {
                    m["rule_packs"] = json!({});
                }),
                "term 'rule_packs'",
            ),
        ];
        for (name, edit, expect) in cases {
            let err = terms_with(edit).unwrap_err().to_string();
            assert!(err.contains(expect), "{name}: got {err}");
        }
        // A template whose terms are bad is refused as a whole, naming the term.
        let bad = TEMPLATES[0]
            .1
            .replace("\"retention_days\": 365", "\"retention_days\": \"365\"");
        let err = Template::from_json(bad.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Term(TermError::WrongType { term, .. }) if term == "retention_days"),
            "{err}"
        );
        // And a clause whose translation lost a placeholder.
        let mut t: Value = serde_json::from_str(TEMPLATES[0].1).unwrap();
        t["clauses"][1]["text"]["ru"] = json!("Без подстановок.");
        let err = Template::from_json(t.to_string().as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("clauses[1].text.ru") && err.contains("placeholders"),
            "{err}"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(date("2028-02-29").to_string(), "2028-02-29");
        for bad in [
            "2027-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-00-10",
            "x",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!(date("2026-12-31") < date("2027-01-01"));
        assert_eq!(Date::from_unix_seconds(0), date("1970-01-01"));
        assert_eq!(Date::from_unix_seconds(1_795_651_200), date("2026-11-26"));
        assert_eq!(Date::from_unix_seconds(951_782_400), date("2000-02-29"));
    }

    // --- lifecycle -------------------------------------------------------------------------

    struct Keys {
        provider: SigningKey,
        consumer: SigningKey,
        kz_authority: SigningKey,
    }

    impl KeyLookup for Keys {
        fn party_key(&self, org: &OrgId, signer: &str) -> Option<VerifyingKey> {
            match (org.state().as_str(), signer) {
                ("CN", "cn-org-key") => Some(self.provider.verifying_key()),
                ("KZ", "kz-org-key") => Some(self.consumer.verifying_key()),
                _ => None,
            }
        }
        fn authority_key(&self, state: StateCode, signer: &str) -> Option<VerifyingKey> {
            (state.as_str() == "KZ" && signer == "node-kz")
                .then(|| self.kz_authority.verifying_key())
        }
    }

    fn keys() -> Keys {
        Keys {
            provider: SigningKey::from_bytes(&[1; 32]),
            consumer: SigningKey::from_bytes(&[2; 32]),
            kz_authority: SigningKey::from_bytes(&[3; 32]),
        }
    }

    fn draft() -> Agreement {
        let t = trade();
        let mut terms = t.terms.clone();
        terms
            .rule_packs
            .retain(|s, _| s.as_str() == "CN" || s.as_str() == "KZ");
        Agreement {
            id: "ag-cn-kz-1".into(),
            template: t.reference(),
            provider: OrgId::generate("CN".parse().unwrap(), [7; 16]),
            provider_signer: "cn-org-key".into(),
            consumer: OrgId::generate("KZ".parse().unwrap(), [8; 16]),
            consumer_signer: "kz-org-key".into(),
            terms,
            proposed_by: Party::Provider,
            revision: 1,
            approvals_required: ["KZ".parse().unwrap()].into(),
        }
    }

    fn signed_and_approved(k: &Keys) -> SignedAgreement {
        let proposal = ProposedAgreement::propose(draft(), &k.provider).unwrap();
        // The consumer's node checks the proposal it received, then counters with a lower cap.
        let received = ProposedAgreement::verify(proposal.signed().clone(), k).unwrap();
        let mut narrower = received.document().terms.clone();
        narrower.max_subjects_per_year = 5_000;
        let countered = received.counter(narrower, &k.consumer).unwrap();
        assert_eq!(countered.document().revision, 2);
        assert_eq!(countered.document().proposed_by, Party::Consumer);
        // The provider's node verifies the counter-proposal and accepts it.
        let back = ProposedAgreement::verify(countered.signed().clone(), k).unwrap();
        let mut signed = back.accept(&k.provider).unwrap();
        signed.verify(k).unwrap();
        let approval = signed.approval_for(
            "KZ".parse().unwrap(),
            "security assessment",
            date("2026-12-01"),
        );
        let approval = Signed::sign(approval, "node-kz", &k.kz_authority).unwrap();
        signed.add_approval(approval, k).unwrap();
        signed
    }

    fn request() -> TransferRequest {
        TransferRequest {
            columns: ["shipment_id", "amount", "date"].map(String::from).into(),
            categories: [DataCategory::NonPersonal].into(),
            subjects: 100,
            subjects_delivered_this_year: 0,
            on: date("2027-03-01"),
            onward_to: None,
        }
    }

    #[test]
    fn propose_counter_sign_approve_activate_suspend_expire() {
        let k = keys();
        let signed = signed_and_approved(&k);
        assert_eq!(signed.document().terms.max_subjects_per_year, 5_000);

        // Approval missing: not activatable.
        let mut unapproved = signed.clone();
        unapproved.approvals.clear();
        assert!(matches!(
            unapproved.activate(date("2027-01-01")),
            Err(AgreementError::ApprovalMissing { state }) if state.as_str() == "KZ"
        ));
        assert!(matches!(
            signed.activate(date("2026-11-30")),
            Err(AgreementError::OutsideValidity { .. })
        ));

        let active = signed.activate(date("2027-01-01")).unwrap();
        active.check_transfer(&request()).unwrap();

        // Stored and reloaded, it still verifies and checks the same way.
        let state = AgreementState::Active {
            agreement: active.clone(),
        };
        let json = serde_json::to_string(&state).unwrap();
        let back: AgreementState = serde_json::from_str(&json).unwrap();
        back.verify(&k).unwrap();
        assert_eq!(back.status(), AgreementStatus::Active);
        back.check_transfer(&request()).unwrap();

        let change = StatusChange {
            by: "node-kz".into(),
            reason: "dispute filed".into(),
            on: date("2027-02-01"),
        };
        let suspended = active.suspend(change);
        let state = AgreementState::Suspended {
            agreement: suspended.clone(),
        };
        let breach = state.check_transfer(&request()).unwrap_err();
        assert_eq!(breach.term, Term::Status);
        assert!(breach.to_string().contains("suspended"), "{breach}");

        let active = suspended.resume(date("2027-03-01")).unwrap();
        let active = *active.expire(date("2027-11-30")).unwrap_err();
        let expired = active.expire(date("2027-12-01")).unwrap();
        let state = AgreementState::Expired { agreement: expired };
        assert_eq!(
            state.check_transfer(&request()).unwrap_err().term,
            Term::Status
        );
    }

    #[test]
    fn forged_and_untrusted_signatures_are_refused() {
        let k = keys();
        let proposal = ProposedAgreement::propose(draft(), &k.provider).unwrap();

        // Signed over different bytes: the cap was raised after signing.
        let mut tampered = proposal.signed().clone();
        tampered.document.terms.max_subjects_per_year = 1_000_000;
        assert!(matches!(
            ProposedAgreement::verify(tampered, &k),
            Err(AgreementError::Signature(
                CanonicalError::BadSignature { .. }
            ))
        ));

        // Signed by a key not on the trust list.
        let stranger = SigningKey::from_bytes(&[9; 32]);
        let mut doc = draft();
        doc.provider_signer = "unknown-key".into();
        let p = ProposedAgreement::propose(doc, &stranger).unwrap();
        let err = ProposedAgreement::verify(p.signed().clone(), &k).unwrap_err();
        assert!(
            matches!(&err, AgreementError::UntrustedSigner { signer, .. } if signer == "unknown-key"),
            "{err}"
        );

        // The right key id but the wrong key.
        let p = ProposedAgreement::propose(draft(), &stranger).unwrap();
        assert!(matches!(
            ProposedAgreement::verify(p.signed().clone(), &k),
            Err(AgreementError::Signature(_))
        ));

        // An approval signed by a key that is not that state's authority, or for another text.
        let mut signed = signed_and_approved(&k);
        let approval = signed.approval_for("KZ".parse().unwrap(), "permit", date("2026-12-01"));
        let fake = Signed::sign(approval.clone(), "node-kz", &stranger).unwrap();
        assert!(signed.add_approval(fake, &k).is_err());
        let mut other_text = approval;
        other_text.revision = 1;
        let other = Signed::sign(other_text, "node-kz", &k.kz_authority).unwrap();
        let err = signed.add_approval(other, &k).unwrap_err();
        assert!(
            matches!(
                err,
                AgreementError::Mismatch {
                    field: "approval",
                    ..
                }
            ),
            "{err}"
        );
        // Failed additions left the agreement as it was.
        assert_eq!(signed.approvals().len(), 1);
        signed.verify(&k).unwrap();

        // A counter-signature over a changed document breaks the signed agreement.
        let mut broken = signed.clone();
        broken.document.terms.retention_days = 9999;
        assert!(broken.verify(&k).is_err());
    }

    /// Each term a transfer can break, with the term the check must name.
    #[test]
    fn transfer_requests_against_terms() {
        let mut terms = trade().terms;
        terms.max_subjects_per_year = 1_000;
        terms.onward_transfer = OnwardTransfer::AllowedTo {
            states: ["UZ".parse().unwrap()].into(),
        };
        let check = |edit: &dyn Fn(&mut TransferRequest), expect: Option<(Term, &str)>| {
            let mut r = request();
            edit(&mut r);
            let got = check_transfer(&terms, &r);
            match (got, expect) {
                (Ok(()), None) => {}
                (Err(b), Some((term, text))) => {
                    assert_eq!(b.term, term, "{b}");
                    assert!(b.to_string().contains(text), "{b} should contain {text}");
                }
                (got, expect) => panic!("got {got:?}, expected {expect:?}"),
            }
        };
        check(&|_| {}, None);
        check(
            &|r| {
                r.columns.insert("passport_no".into());
            },
            Some((Term::Columns, "not permitted: passport_no")),
        );
        check(
            &|r| {
                r.categories.insert(DataCategory::Health);
            },
            Some((Term::Categories, "not permitted: health")),
        );
        check(
            &|r| r.subjects_delivered_this_year = 950,
            Some((
                Term::MaxSubjectsPerYear,
                "950 already delivered in 2027 plus 100 requested exceeds the cap of 1000",
            )),
        );
        check(&|r| r.subjects_delivered_this_year = 900, None);
        check(
            &|r| r.on = date("2027-12-01"),
            Some((
                Term::Validity,
                "2027-12-01 is outside 2026-12-01..2027-11-30",
            )),
        );
        check(
            &|r| r.on = date("2026-11-30"),
            Some((Term::Validity, "outside")),
        );
        check(&|r| r.onward_to = Some("UZ".parse().unwrap()), None);
        check(
            &|r| r.onward_to = Some("IN".parse().unwrap()),
            Some((
                Term::OnwardTransfer,
                "IN is not among the allowed states (UZ)",
            )),
        );
        terms.onward_transfer = OnwardTransfer::Banned;
        let mut r = request();
        r.onward_to = Some("UZ".parse().unwrap());
        let b = check_transfer(&terms, &r).unwrap_err();
        assert_eq!(b.term, Term::OnwardTransfer);
        assert!(
            b.to_string()
                .starts_with("term 'onward_transfer': onward transfers are banned"),
            "{b}"
        );
    }
}
