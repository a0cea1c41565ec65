//! Case tables: `rulepacks/<STATE>/cases.toml`, readable by a lawyer, run by `cargo test` and
//! by `silkgate policy test` through the one checker here.
//!
//! A table has `[defaults]` (a facts document) and `[[case]]` entries. Each case names the
//! facts it changes (`facts = {...}`, merged into the defaults table by table) and what it
//! expects: `outcome`, the exact set of `obligations`, the `cites` (each "INSTRUMENT ARTICLE",
//! e.g. "PIPL art. 40", that must appear among the decision's citations), optionally
//! `rules` that must be among the reasons, `bases` that must be among the bases (the basis
//! rules that made it lawful) and `unverified` (whether the decision must carry the flag); or,
//! for bad input, `error_field`, the field the error must name.
//!
//! Every case is decided on the day its facts name (`date`, usually in `[defaults]`); a case
//! without one is refused as malformed, so that no table depends on the day it is run.

use serde::Deserialize;

use crate::engine::PolicyEngine;
use crate::facts::{FactsError, TransferFacts};
use crate::pack::PackError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    defaults: toml::Table,
    #[serde(rename = "case")]
    cases: Vec<CaseEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseEntry {
    name: String,
    #[serde(default)]
    facts: toml::Table,
    outcome: Option<String>,
    #[serde(default)]
    obligations: Vec<String>,
    #[serde(default)]
    cites: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    bases: Vec<String>,
    unverified: Option<bool>,
    error_field: Option<String>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The table's path, e.g. `CN/cases.toml`.
    pub file: String,
    /// 1-based position in the table.
    pub number: usize,
    /// The case's name.
    pub name: String,
    /// What did not match; empty when the case passed.
    pub failures: Vec<String>,
}

impl CaseResult {
    /// Whether the decision matched every expectation.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs one case table against the engine.
///
/// # Errors
/// [`PackError::File`] if the table itself is malformed (a case without `outcome` or
/// `error_field` counts as malformed).
pub fn run_case_table(
    engine: &PolicyEngine,
    file: &str,
    text: &str,
) -> Result<Vec<CaseResult>, PackError> {
    let table: CaseFile = toml::from_str(text).map_err(|e| PackError::File {
        file: file.to_owned(),
        reason: e.to_string().trim_end().to_owned(),
    })?;
    let mut results = Vec::with_capacity(table.cases.len());
    for (i, case) in table.cases.into_iter().enumerate() {
        let mut doc = table.defaults.clone();
        merge(&mut doc, case.facts);
        let mut failures = Vec::new();
        let parsed = serde_json::to_value(&doc)
            .map_err(|e| FactsError::Invalid {
                field: "(case)".into(),
                reason: e.to_string(),
            })
            .and_then(TransferFacts::from_value);
        if matches!(&parsed, Ok(f) if f.date.is_none()) {
            return Err(PackError::File {
                file: file.to_owned(),
                reason: format!(
                    "case {} \"{}\": give the day to decide on as `date` (in [defaults] or the case)",
                    i + 1,
                    case.name
                ),
            });
        }
        let decided = parsed.and_then(|facts| {
            let day = facts.date.expect("checked above");
            engine.decide_on(&facts, day)
        });
        match (&case.error_field, &case.outcome, decided) {
            (Some(field), None, Err(err)) => {
                let named = match &err {
                    FactsError::Invalid { field, .. } | FactsError::UnknownState { field, .. } => {
                        field.clone()
                    }
                    other => other.to_string(),
                };
                if &named != field {
                    failures.push(format!("expected an error naming `{field}`, got: {err}"));
                }
            }
            (Some(field), None, Ok(d)) => failures.push(format!(
                "expected an error naming `{field}`, got a decision: {}",
                d.decision.outcome
            )),
            (None, Some(outcome), Ok(ruling)) => {
                for basis in &case.bases {
                    if !ruling.bases.iter().any(|b| &b.rule == basis) {
                        failures.push(format!("basis {basis} is not among the bases"));
                    }
                }
                if let Some(flag) = case.unverified
                    && ruling.has_unverified() != flag
                {
                    failures.push(format!(
                        "unverified: expected {flag}, got {}",
                        ruling.has_unverified()
                    ));
                }
                let decision = ruling.decision;
                if decision.outcome.as_str() != outcome {
                    failures.push(format!(
                        "outcome: expected {outcome}, got {}",
                        decision.outcome
                    ));
                }
                let mut got: Vec<&str> = decision.obligation_ids();
                got.sort_unstable();
                let mut want: Vec<&str> = case.obligations.iter().map(String::as_str).collect();
                want.sort_unstable();
                if got != want {
                    failures.push(format!("obligations: expected {want:?}, got {got:?}"));
                }
                for cite in &case.cites {
                    let found = decision.citations().any(|c| {
                        let short = format!("{} {}", c.instrument, c.article);
                        *cite == short || *cite == format!("{} {short}", c.state)
                    });
                    if !found {
                        failures.push(format!("does not cite \"{cite}\""));
                    }
                }
                for rule in &case.rules {
                    if !decision.reasons.iter().any(|r| &r.rule == rule) {
                        failures.push(format!("rule {rule} is not among the reasons"));
                    }
                }
            }
            (None, Some(_), Err(err)) => failures.push(format!("unexpected error: {err}")),
            _ => {
                return Err(PackError::File {
                    file: file.to_owned(),
                    reason: format!(
                        "case {} \"{}\": give exactly one of `outcome` and `error_field`",
                        i + 1,
                        case.name
                    ),
                });
            }
        }
        results.push(CaseResult {
            file: file.to_owned(),
            number: i + 1,
            name: case.name,
            failures,
        });
    }
    Ok(results)
}

/// The facts of every case of a table that expects a decision (not an error), as (case name,
/// facts), for tests that reuse the lawyers' cases.
///
/// # Errors
/// [`PackError::File`] if the table is malformed or a case's facts do not parse.
pub fn case_facts(file: &str, text: &str) -> Result<Vec<(String, TransferFacts)>, PackError> {
    let table: CaseFile = toml::from_str(text).map_err(|e| PackError::File {
        file: file.to_owned(),
        reason: e.to_string().trim_end().to_owned(),
    })?;
    let mut out = Vec::new();
    for case in table.cases {
        if case.error_field.is_some() {
            continue;
        }
        let mut doc = table.defaults.clone();
        merge(&mut doc, case.facts);
        let facts = serde_json::to_value(&doc)
            .map_err(|e| e.to_string())
            .and_then(|v| TransferFacts::from_value(v).map_err(|e| e.to_string()))
            .map_err(|reason| PackError::File {
                file: file.to_owned(),
                reason: format!("case \"{}\": {reason}", case.name),
            })?;
        out.push((case.name, facts));
    }
    Ok(out)
}

/// Runs every case table loaded with the engine.
///
/// # Errors
/// As [`run_case_table`].
pub fn run_all(engine: &PolicyEngine) -> Result<Vec<CaseResult>, PackError> {
    let mut all = Vec::new();
    for (file, text) in engine.case_tables() {
        all.extend(run_case_table(engine, file, text)?);
    }
    Ok(all)
}

/// Merges `over` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}
