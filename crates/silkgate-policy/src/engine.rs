//! The engine: the loaded packs, and `decide`, which evaluates only the packs that apply to a
//! transfer (exporting state, importing state, treaties between them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityUid, PolicySet, Request, RestrictedExpression, Schema,
};
use silkgate_model::{DataCategory, StateCode};

use crate::decision::{Decision, Obligation, Outcome, Reason};
use crate::facts::{Facts, FactsError};
use crate::pack::{PackError, PackInfo, PackKind, RuleKind, RulePack, load_schema};

/// Name of the shared schema file at the top of a rule-pack directory.
pub const SCHEMA_FILE: &str = "schema.cedarschema";

/// Categories that are about persons: any of them makes the transfer one of personal data.
const PERSONAL_CATEGORIES: [DataCategory; 7] = [
    DataCategory::Personal,
    DataCategory::Sensitive,
    DataCategory::Biometric,
    DataCategory::Genetic,
    DataCategory::Financial,
    DataCategory::Health,
    DataCategory::Children,
];

/// Categories that are sensitive (special) personal data in every member state's law that has
/// such a class; when present without a sensitive count, every subject is counted as sensitive.
const SENSITIVE_CATEGORIES: [DataCategory; 6] = [
    DataCategory::Sensitive,
    DataCategory::Biometric,
    DataCategory::Genetic,
    DataCategory::Financial,
    DataCategory::Health,
    DataCategory::Children,
];

/// The loaded and validated rule packs, ready to decide transfers.
///
/// Build it once (start-up validates every pack) and share it: `decide` takes `&self`, does no
/// I/O and is safe to call from many threads.
#[derive(Debug)]
pub struct PolicyEngine {
    states: BTreeMap<StateCode, RulePack>,
    treaties: Vec<RulePack>,
    exemptions: BTreeSet<String>,
    case_tables: Vec<(String, String)>,
    authorizer: Authorizer,
    principal: EntityUid,
    action: EntityUid,
    resource: EntityUid,
    entities: Entities,
    schema: Schema,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

impl PolicyEngine {
    /// The packs compiled into the binary from the workspace's `rulepacks/` directory.
    ///
    /// # Errors
    /// A [`PackError`] if an embedded pack is invalid (the test suite guards against that).
    pub fn embedded() -> Result<PolicyEngine, PackError> {
        let files = embedded::EMBEDDED_FILES
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect::<Vec<_>>();
        PolicyEngine::from_files(&files)
    }

    /// Loads packs from a directory laid out as `rulepacks/`: `schema.cedarschema` at the top
    /// and one sub-directory per state or treaty with `manifest.toml`, `policies.cedar` and
    /// optionally `cases.toml`.
    ///
    /// # Errors
    /// [`PackError::Io`] if a file cannot be read; otherwise as [`PolicyEngine::from_files`].
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<PolicyEngine, PackError> {
        let dir = dir.as_ref();
        let io = |path: &Path, e: std::io::Error| PackError::Io {
            file: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut files = Vec::new();
        let schema_path = dir.join(SCHEMA_FILE);
        files.push((
            SCHEMA_FILE.to_owned(),
            std::fs::read_to_string(&schema_path).map_err(|e| io(&schema_path, e))?,
        ));
        let mut subdirs = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect::<Vec<_>>();
        subdirs.sort();
        for sub in subdirs {
            let name = sub
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for file in ["manifest.toml", "policies.cedar", "cases.toml"] {
                let path = sub.join(file);
                if file == "cases.toml" && !path.exists() {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
                files.push((format!("{name}/{file}"), text));
            }
        }
        PolicyEngine::from_files(&files)
    }

    /// Loads packs from (relative path, contents) pairs, as `load_dir` reads them.
    ///
    /// # Errors
    /// [`PackError::File`] or [`PackError::Rule`] naming the file, the rule and the reason when
    /// the schema or a pack is malformed, fails Cedar validation against the schema, lacks a
    /// citation, or two packs claim the same state.
    pub fn from_files(files: &[(String, String)]) -> Result<PolicyEngine, PackError> {
        let find = |name: &str| {
            files
                .iter()
                .find(|(p, _)| p == name)
                .map(|(_, t)| t.as_str())
        };
        let schema_text = find(SCHEMA_FILE).ok_or_else(|| PackError::File {
            file: SCHEMA_FILE.to_owned(),
            reason: "missing".into(),
        })?;
        let schema = load_schema(SCHEMA_FILE, schema_text)?;
        let dirs: BTreeSet<&str> = files
            .iter()
            .filter_map(|(p, _)| p.split_once('/').map(|(d, _)| d))
            .collect();
        let mut states = BTreeMap::new();
        let mut treaties = Vec::new();
        let mut exemptions = BTreeSet::new();
        let mut case_tables = Vec::new();
        for dir in dirs {
            let need = |file: &str| {
                let path = format!("{dir}/{file}");
                find(&path).ok_or(PackError::File {
                    file: path,
                    reason: "missing".into(),
                })
            };
            let pack = RulePack::load(
                dir,
                need("manifest.toml")?,
                need("policies.cedar")?,
                &schema,
            )?;
            if let Some(cases) = find(&format!("{dir}/cases.toml")) {
                case_tables.push((format!("{dir}/cases.toml"), cases.to_owned()));
            }
            exemptions.extend(pack.info.exemptions.keys().cloned());
            match &pack.info.kind {
                PackKind::State { state } => {
                    states.insert(*state, pack);
                }
                PackKind::Treaty { .. } => treaties.push(pack),
            }
        }
        let uid = |s: &str| EntityUid::from_str(s).expect("literal entity uids parse");
        Ok(PolicyEngine {
            states,
            treaties,
            exemptions,
            case_tables,
            authorizer: Authorizer::new(),
            principal: uid(r#"Organisation::"exporter""#),
            action: uid(r#"Action::"transfer""#),
            resource: uid(r#"Transfer::"proposed""#),
            entities: Entities::empty(),
            schema,
        })
    }

    /// What is loaded: states first, then treaties.
    pub fn packs(&self) -> impl Iterator<Item = &PackInfo> {
        self.states
            .values()
            .chain(self.treaties.iter())
            .map(|p| &p.info)
    }

    /// The case tables found beside the packs, as (path, TOML text).
    pub fn case_tables(&self) -> &[(String, String)] {
        &self.case_tables
    }

    /// Decides a proposed transfer with the packs that apply to it: the exporting state's, the
    /// importing state's, and those of treaties both have ratified.
    ///
    /// # Errors
    /// [`FactsError`] naming the field when the facts are inconsistent or name a state with no
    /// pack; no partial decision is ever returned.
    pub fn decide(&self, facts: &Facts) -> Result<Decision, FactsError> {
        let derived = self.derive(facts)?;
        let exporter = &self.states[&facts.from];
        let importer = &self.states[&facts.to];
        let mut applicable: Vec<&RulePack> = vec![exporter, importer];
        applicable.extend(self.treaties_between(facts.from, facts.to));
        let treaty_ids: Vec<&str> = applicable[2..].iter().map(|p| p.info.id.as_str()).collect();

        let request = Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context(facts, &derived, &treaty_ids),
            None,
        )
        .map_err(|e| FactsError::Evaluation {
            pack: "(request)".into(),
            reason: e.to_string(),
        })?;

        let mut deny = false;
        let mut reasons: Vec<Reason> = Vec::new();
        let mut obligations: Vec<Obligation> = Vec::new();
        let mut rulepacks = BTreeMap::new();
        for (i, pack) in applicable.iter().enumerate() {
            rulepacks.insert(pack.info.id.clone(), pack.info.version.clone());
            // Index 1 is the importing state's pack: only its rules that can hold on import.
            let (all, permits) = if i == 1 {
                (&pack.import_all, &pack.import_permits)
            } else {
                (&pack.all, &pack.permits)
            };
            let mut fired = self.evaluate(pack, all, &request)?;
            if fired.iter().any(|r| r.kind == RuleKind::Deny) {
                fired.extend(self.evaluate(pack, permits, &request)?);
            }
            fired.sort_by_key(|r| (r.kind != RuleKind::Deny, r.order));
            let only_base = fired.iter().all(|r| r.kind == RuleKind::Base);
            for rule in fired {
                match rule.kind {
                    RuleKind::Base if !only_base => continue,
                    RuleKind::Deny => deny = true,
                    _ => {}
                }
                if let Some(index) = rule.obligation {
                    let (id, text) = &pack.obligations[index];
                    match obligations.iter_mut().find(|o| &o.id == id) {
                        Some(existing) => {
                            for c in &rule.reason.citations {
                                if !existing.citations.contains(c) {
                                    existing.citations.push(c.clone());
                                }
                            }
                        }
                        None => obligations.push(Obligation {
                            id: id.clone(),
                            text: text.clone(),
                            citations: rule.reason.citations.clone(),
                        }),
                    }
                }
                reasons.push(rule.reason.clone());
            }
        }
        // Deny reasons of any pack come first, so the reader sees why it stops.
        reasons.sort_by_key(|r| !self.is_deny_rule(&applicable, &r.rule));
        let outcome = if deny {
            Outcome::Deny
        } else if !obligations.is_empty() {
            Outcome::Conditional
        } else {
            Outcome::Allow
        };
        Ok(Decision {
            outcome,
            obligations,
            reasons,
            rulepacks,
        })
    }

    fn is_deny_rule(&self, packs: &[&RulePack], rule: &str) -> bool {
        packs
            .iter()
            .any(|p| p.rules.get(rule).is_some_and(|r| r.kind == RuleKind::Deny))
    }

    fn treaties_between(&self, a: StateCode, b: StateCode) -> impl Iterator<Item = &RulePack> {
        self.treaties.iter().filter(move |t| match &t.info.kind {
            PackKind::Treaty { parties, .. } => parties.contains(&a) && parties.contains(&b),
            PackKind::State { .. } => false,
        })
    }

    /// Runs one policy set and returns the rules that held, failing on any evaluation error.
    fn evaluate<'p>(
        &self,
        pack: &'p RulePack,
        set: &PolicySet,
        request: &Request,
    ) -> Result<Vec<&'p crate::pack::CompiledRule>, FactsError> {
        if set.is_empty() {
            return Ok(Vec::new());
        }
        let response = self.authorizer.is_authorized(request, set, &self.entities);
        if let Some(err) = response.diagnostics().errors().next() {
            return Err(FactsError::Evaluation {
                pack: pack.info.id.clone(),
                reason: err.to_string(),
            });
        }
        Ok(response
            .diagnostics()
            .reason()
            .filter_map(|id| pack.rules.get(id.as_ref() as &str))
            .collect())
    }

    /// Checks the facts against what is loaded and computes the derived values the packs read.
    fn derive(&self, facts: &Facts) -> Result<Derived, FactsError> {
        let invalid = |field: &str, reason: String| FactsError::Invalid {
            field: field.to_owned(),
            reason,
        };
        for (field, state) in [
            ("from", Some(facts.from)),
            ("to", Some(facts.to)),
            ("exporter.state", facts.exporter.state),
            ("recipient.state", facts.recipient.state),
        ] {
            if let Some(state) = state
                && !self.states.contains_key(&state)
            {
                return Err(FactsError::UnknownState {
                    field: field.to_owned(),
                    value: state.to_string(),
                    loaded: self
                        .states
                        .keys()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        if facts.from == facts.to {
            return Err(invalid(
                "to",
                format!(
                    "is the same state as `from` ({}): not a cross-border transfer",
                    facts.to
                ),
            ));
        }
        if let Some(state) = facts.exporter.state
            && state != facts.from
        {
            return Err(invalid(
                "exporter.state",
                format!("is {state} but `from` is {}", facts.from),
            ));
        }
        if let Some(state) = facts.recipient.state
            && state != facts.to
        {
            return Err(invalid(
                "recipient.state",
                format!("is {state} but `to` is {}", facts.to),
            ));
        }
        let data = &facts.data;
        if data.categories.is_empty() {
            return Err(invalid(
                "data.categories",
                "is empty: name at least one category (\"non-personal\" if none applies)".into(),
            ));
        }
        if data.sensitive_subjects > data.subjects {
            return Err(invalid(
                "data.sensitive_subjects",
                format!(
                    "{} is more than data.subjects ({}): subjects counts every individual",
                    data.sensitive_subjects, data.subjects
                ),
            ));
        }
        let ytd = &facts.year_to_date;
        if ytd.sensitive_subjects > ytd.subjects {
            return Err(invalid(
                "year_to_date.sensitive_subjects",
                format!(
                    "{} is more than year_to_date.subjects ({})",
                    ytd.sensitive_subjects, ytd.subjects
                ),
            ));
        }
        for (i, word) in facts.exemptions.iter().enumerate() {
            if !self.exemptions.contains(word) {
                return Err(invalid(
                    &format!("exemptions[{i}]"),
                    format!(
                        "'{word}' is not an exemption any loaded pack declares; known: {}",
                        self.exemptions
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }

        let mut categories: BTreeSet<&'static str> =
            data.categories.iter().map(|c| c.as_str()).collect();
        if data.important_data {
            categories.insert(DataCategory::Important.as_str());
        }
        if data.biometric {
            categories.insert(DataCategory::Biometric.as_str());
        }
        if data.sensitive_subjects > 0 {
            categories.insert(DataCategory::Sensitive.as_str());
        }
        let has = |set: &[DataCategory]| set.iter().any(|c| categories.contains(c.as_str()));
        let personal = has(&PERSONAL_CATEGORIES) || data.subjects > 0;
        // Conservative: sensitive categories without a count mean every subject is sensitive.
        let sensitive_subjects = if has(&SENSITIVE_CATEGORIES) && data.sensitive_subjects == 0 {
            data.subjects
        } else {
            data.sensitive_subjects
        };
        let long = |field: &str, v: u64| {
            i64::try_from(v).map_err(|_| invalid(field, format!("{v} is too large")))
        };
        let sum = |field: &str, a: u64, b: u64| {
            a.checked_add(b)
                .ok_or_else(|| {
                    invalid(
                        field,
                        "year-to-date count plus this transfer overflows".into(),
                    )
                })
                .and_then(|v| long(field, v))
        };
        Ok(Derived {
            categories,
            personal,
            subjects: long("data.subjects", data.subjects)?,
            sensitive_subjects: long("data.sensitive_subjects", sensitive_subjects)?,
            year_subjects: sum("year_to_date.subjects", ytd.subjects, data.subjects)?,
            year_sensitive: sum(
                "year_to_date.sensitive_subjects",
                ytd.sensitive_subjects,
                sensitive_subjects,
            )?,
        })
    }

    /// Checks that the context the engine builds matches the schema the packs were validated
    /// against (used by the tests; `decide` skips it for speed).
    #[doc(hidden)]
    pub fn check_context_against_schema(&self, facts: &Facts) -> Result<(), String> {
        let derived = self.derive(facts).map_err(|e| e.to_string())?;
        Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context(facts, &derived, &[]),
            Some(&self.schema),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// Values computed from the facts once per decision.
struct Derived {
    categories: BTreeSet<&'static str>,
    personal: bool,
    subjects: i64,
    sensitive_subjects: i64,
    year_subjects: i64,
    year_sensitive: i64,
}

fn record(fields: Vec<(&str, RestrictedExpression)>) -> RestrictedExpression {
    RestrictedExpression::new_record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)))
        .expect("record keys are distinct literals")
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(string))
}

/// Builds the Cedar context declared in `rulepacks/schema.cedarschema`.
fn context(facts: &Facts, d: &Derived, treaties: &[&str]) -> Context {
    let b = RestrictedExpression::new_bool;
    let n = RestrictedExpression::new_long;
    let g = &facts.grounds;
    let pairs = vec![
        ("from".to_owned(), string(facts.from.as_str())),
        ("to".to_owned(), string(facts.to.as_str())),
        (
            "exporter".to_owned(),
            record(vec![
                ("state", string(facts.from.as_str())),
                ("ciio", b(facts.exporter.ciio)),
                ("sector", string(facts.exporter.sector.as_str())),
            ]),
        ),
        (
            "recipient".to_owned(),
            record(vec![
                ("state", string(facts.to.as_str())),
                ("kind", string(facts.recipient.kind.as_str())),
            ]),
        ),
        (
            "data".to_owned(),
            record(vec![
                ("categories", strings(d.categories.iter().copied())),
                ("personal", b(d.personal)),
                ("subjects", n(d.subjects)),
                ("sensitive_subjects", n(d.sensitive_subjects)),
            ]),
        ),
        (
            "year".to_owned(),
            record(vec![
                ("subjects", n(d.year_subjects)),
                ("sensitive_subjects", n(d.year_sensitive)),
            ]),
        ),
        (
            "grounds".to_owned(),
            record(vec![
                ("consent", b(g.consent)),
                ("standard_contract", b(g.standard_contract)),
                ("certification", b(g.certification)),
                ("security_assessment", b(g.security_assessment)),
                ("regulator_permit", b(g.regulator_permit)),
                ("regulator_notified", b(g.regulator_notified)),
                ("judicial_approval", b(g.judicial_approval)),
                ("impact_assessment", b(g.impact_assessment)),
                ("domestic_database", b(g.domestic_database)),
                ("waiting_period_elapsed", b(g.waiting_period_elapsed)),
            ]),
        ),
        (
            "exemptions".to_owned(),
            strings(facts.exemptions.iter().map(String::as_str)),
        ),
        ("treaties".to_owned(), strings(treaties.iter().copied())),
    ];
    Context::from_pairs(pairs).expect("context keys are distinct literals")
}
