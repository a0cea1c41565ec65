//! The engine: the loaded packs, and `decide`, which evaluates only the packs that apply to a
//! transfer (exporting state, importing state, treaties between them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityUid, PolicySet, Request, RestrictedExpression, Schema,
};
use silkgate_model::agreement::Date;
use silkgate_model::{DataCategory, StateCode};

use crate::decision::{Basis, Decision, Obligation, Outcome, Reason, Ruling};
use crate::facts::{ConsentKind, Facts, FactsError, TransferFacts};
use crate::pack::{PackError, PackInfo, PackKind, RuleKind, RulePack, day_number, load_schema};

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
    /// Format-1 exemption words and the namespaced words they stand for, of every pack.
    aliases: BTreeMap<String, Vec<String>>,
    authority_only: BTreeSet<String>,
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
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut authority_only = BTreeSet::new();
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
            for (alias, target) in &pack.info.aliases {
                aliases
                    .entry(alias.clone())
                    .or_default()
                    .push(target.clone());
            }
            authority_only.extend(pack.info.authority_only.iter().cloned());
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
            aliases,
            authority_only,
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

    /// The obligation ids that only an authority can meet (the manifests' `authority_only`),
    /// of every loaded pack: an agreement whose worst case raises one waits for that
    /// authority's approval, since the parties cannot meet it between themselves.
    pub fn authority_only_obligations(&self) -> &BTreeSet<String> {
        &self.authority_only
    }

    /// The grounds (words of the facts' `grounds`) that meet an obligation, by the basis twins
    /// of every rule that raises it, for telling a user how to meet it. Empty for an id no
    /// pack raises.
    pub fn grounds_meeting(&self, obligation: &str) -> BTreeSet<&str> {
        self.states
            .values()
            .chain(self.treaties.iter())
            .flat_map(|p| p.rules.values())
            .filter(|r| r.meets.as_deref() == Some(obligation))
            .flat_map(|r| r.grounds.iter().map(String::as_str))
            .collect()
    }

    /// Decides a format-1 facts document under the law in force today (UTC, read from the
    /// system clock): the entry point kept for callers written before format 2. It returns
    /// the [`Decision`] part of [`PolicyEngine::decide_on`].
    ///
    /// # Errors
    /// As [`PolicyEngine::decide_on`].
    pub fn decide(&self, facts: &Facts) -> Result<Decision, FactsError> {
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let facts = TransferFacts::from(facts.clone());
        self.decide_on(&facts, Date::from_unix_seconds(today))
            .map(|r| r.decision)
    }

    /// Decides a format-1 facts document under the law in force on `today`, the day by the
    /// caller's clock: what a node calls, so that its decisions follow the day its clock says
    /// and not the machine's.
    ///
    /// # Errors
    /// As [`PolicyEngine::decide_on`].
    pub fn decide_for_day(&self, facts: &Facts, today: Date) -> Result<Decision, FactsError> {
        self.decide_on(&TransferFacts::from(facts.clone()), today)
            .map(|r| r.decision)
    }

    /// Decides a proposed transfer with the packs that apply to it (the exporting state's,
    /// the importing state's, and those of treaties both have ratified) under the rules in
    /// force on the facts' `date`, or on `today` when the facts give none. The caller passes
    /// today so that deciding reads no clock.
    ///
    /// # Errors
    /// [`FactsError`] naming the field when the facts are inconsistent or name a state with no
    /// pack; no partial decision is ever returned.
    pub fn decide_on(&self, full: &TransferFacts, today: Date) -> Result<Ruling, FactsError> {
        let facts = &full.facts;
        let date = full.date.unwrap_or(today);
        let day = day_number(date);
        let derived = self.derive(facts, full)?;
        let exporter = &self.states[&facts.from];
        let importer = &self.states[&facts.to];
        let mut applicable: Vec<&RulePack> = vec![exporter, importer];
        applicable.extend(self.treaties_between(facts.from, facts.to));
        let treaty_ids: Vec<&str> = applicable[2..].iter().map(|p| p.info.id.as_str()).collect();

        let request = Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context(full, &derived, &treaty_ids, day),
            None,
        )
        .map_err(|e| FactsError::Evaluation {
            pack: "(request)".into(),
            reason: e.to_string(),
        })?;

        let mut deny = false;
        let mut reasons: Vec<Reason> = Vec::new();
        let mut obligations: Vec<Obligation> = Vec::new();
        let mut bases: Vec<Basis> = Vec::new();
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
            // A rule outside its days of force is as if it had not held.
            fired.retain(|r| r.in_force(day));
            fired.sort_by_key(|r| (r.kind != RuleKind::Deny, r.order));
            let only_base = fired.iter().all(|r| r.kind == RuleKind::Base);
            for rule in fired {
                match rule.kind {
                    RuleKind::Base if !only_base => continue,
                    RuleKind::Deny => deny = true,
                    RuleKind::Basis => bases.push(Basis {
                        rule: rule.reason.rule.clone(),
                        meets: rule.meets.clone(),
                        grounds: rule.grounds.clone(),
                        text: rule.reason.text.clone(),
                        citations: rule.reason.citations.clone(),
                    }),
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
        Ok(Ruling {
            decision: Decision {
                outcome,
                obligations,
                reasons,
                rulepacks,
            },
            date,
            bases,
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
    fn derive(&self, facts: &Facts, full: &TransferFacts) -> Result<Derived, FactsError> {
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
        let mut exemptions: Vec<String> = Vec::with_capacity(facts.exemptions.len());
        for (i, word) in facts.exemptions.iter().enumerate() {
            if let Some(targets) = self.aliases.get(word) {
                exemptions.extend(targets.iter().cloned());
                continue;
            }
            if self.exemptions.contains(word) {
                exemptions.push(word.clone());
            } else {
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
        // Children's data counts as sensitive only where the facts do not say the children are
        // all 14 or older (China, PIPL art. 28: PI of minors under 14).
        let sensitive_category = SENSITIVE_CATEGORIES.iter().any(|c| {
            categories.contains(c.as_str())
                && (*c != DataCategory::Children || full.children_under_14)
        });
        // Conservative: sensitive categories without a count mean every subject is sensitive.
        let sensitive_subjects = if sensitive_category && data.sensitive_subjects == 0 {
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
        let year_subjects = sum("year_to_date.subjects", ytd.subjects, data.subjects)?;
        let year_sensitive = sum(
            "year_to_date.sensitive_subjects",
            ytd.sensitive_subjects,
            sensitive_subjects,
        )?;
        let subjects = long("data.subjects", data.subjects)?;
        let sensitive_subjects = long("data.sensitive_subjects", sensitive_subjects)?;
        Ok(Derived {
            exemptions,
            categories,
            personal,
            subjects,
            sensitive_subjects,
            other_subjects: subjects - sensitive_subjects,
            year_subjects,
            year_sensitive,
            year_other: year_subjects - year_sensitive,
        })
    }

    /// Checks that the context the engine builds matches the schema the packs were validated
    /// against (used by the tests; `decide` skips it for speed).
    #[doc(hidden)]
    pub fn check_context_against_schema(&self, facts: &Facts) -> Result<(), String> {
        self.check_full_context_against_schema(&TransferFacts::from(facts.clone()))
    }

    /// As [`PolicyEngine::check_context_against_schema`], for a format-2 document.
    #[doc(hidden)]
    pub fn check_full_context_against_schema(&self, full: &TransferFacts) -> Result<(), String> {
        let derived = self.derive(&full.facts, full).map_err(|e| e.to_string())?;
        Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context(full, &derived, &[], 20261207),
            Some(&self.schema),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// Values computed from the facts once per decision.
struct Derived {
    /// The exemptions claimed, format-1 words replaced by the namespaced words they stand for.
    exemptions: Vec<String>,
    categories: BTreeSet<&'static str>,
    personal: bool,
    subjects: i64,
    sensitive_subjects: i64,
    /// Subjects whose data in this transfer is not sensitive (China counts them apart).
    other_subjects: i64,
    year_subjects: i64,
    year_sensitive: i64,
    year_other: i64,
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
fn context(full: &TransferFacts, d: &Derived, treaties: &[&str], day: i64) -> Context {
    let b = RestrictedExpression::new_bool;
    let n = RestrictedExpression::new_long;
    let facts = &full.facts;
    let g = &facts.grounds;
    // Format-1 meanings of the format-2 grounds (see the facts module): consent without kinds
    // is every kind; a notice without its states names the destination.
    let consent = g.consent || !full.consent_kinds.is_empty();
    let consent_kinds: Vec<&str> = if full.consent_kinds.is_empty() && g.consent {
        ConsentKind::ALL.iter().map(|k| k.as_str()).collect()
    } else {
        full.consent_kinds.iter().map(|k| k.as_str()).collect()
    };
    let notice_covers: Vec<&str> = if full.notice_covers.is_empty() && g.regulator_notified {
        vec![facts.to.as_str()]
    } else {
        full.notice_covers.iter().map(|s| s.as_str()).collect()
    };
    let pairs = vec![
        ("date".to_owned(), n(day)),
        ("from".to_owned(), string(facts.from.as_str())),
        ("to".to_owned(), string(facts.to.as_str())),
        (
            "exporter".to_owned(),
            record(vec![
                ("state", string(facts.from.as_str())),
                ("ciio", b(facts.exporter.ciio)),
                ("sector", string(facts.exporter.sector.as_str())),
                (
                    "roles",
                    strings(full.exporter_roles.iter().map(|r| r.as_str())),
                ),
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
                ("other_subjects", n(d.other_subjects)),
                ("citizens_of_exporter", b(full.citizens_of_exporter)),
                ("children_under_14", b(full.children_under_14)),
            ]),
        ),
        (
            "year".to_owned(),
            record(vec![
                ("subjects", n(d.year_subjects)),
                ("sensitive_subjects", n(d.year_sensitive)),
                ("other_subjects", n(d.year_other)),
            ]),
        ),
        (
            "grounds".to_owned(),
            record(vec![
                ("consent", b(consent)),
                ("consent_kinds", strings(consent_kinds)),
                ("standard_contract", b(g.standard_contract)),
                ("certification", b(g.certification)),
                ("security_assessment", b(g.security_assessment)),
                ("regulator_permit", b(g.regulator_permit)),
                ("regulator_notified", b(g.regulator_notified)),
                ("judicial_approval", b(g.judicial_approval)),
                ("impact_assessment", b(g.impact_assessment)),
                ("domestic_database", b(g.domestic_database)),
                ("waiting_period_elapsed", b(g.waiting_period_elapsed)),
                (
                    "security_assessment_on",
                    n(full.security_assessment_on.map(day_number).unwrap_or(0)),
                ),
                ("notice_covers", strings(notice_covers)),
                (
                    "domestic_storage_with_return",
                    b(full.domestic_storage_with_return),
                ),
                ("subjects_notified", b(full.subjects_notified)),
            ]),
        ),
        (
            "exemptions".to_owned(),
            strings(d.exemptions.iter().map(String::as_str)),
        ),
        ("treaties".to_owned(), strings(treaties.iter().copied())),
    ];
    Context::from_pairs(pairs).expect("context keys are distinct literals")
}
