//! Rule packs: the manifest (instruments, rules with their citations, obligations and their
//! texts) and the Cedar policies, loaded and checked together so that a pack that would decide
//! wrongly or without citations is refused at start-up, never at decision time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{Effect, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use serde::{Deserialize, Serialize};
use silkgate_model::StateCode;
use silkgate_model::agreement::Date;

use crate::decision::{Citation, Reason, Texts};
use crate::facts::GROUND_NAMES;

/// A rule pack or the schema could not be loaded; names the file, the rule where there is one,
/// and the reason. The engine refuses to start with such a pack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// The file could not be read.
    #[error("{file}: cannot read: {reason}")]
    Io {
        /// Path of the file.
        file: String,
        /// The operating system's message.
        reason: String,
    },
    /// The file as a whole is malformed (syntax, missing field, schema error).
    #[error("{file}: {reason}")]
    File {
        /// Path of the file, relative to the rule-pack directory.
        file: String,
        /// What is wrong, with the line where known.
        reason: String,
    },
    /// One rule is wrong: it fails schema validation, lacks an annotation or manifest entry,
    /// or cites an instrument the manifest does not define.
    #[error("{file}: rule {rule}: {reason}")]
    Rule {
        /// Path of the file, relative to the rule-pack directory.
        file: String,
        /// The rule's id (or Cedar's position id when it has none).
        rule: String,
        /// What is wrong.
        reason: String,
    },
}

/// Whether a pack is one state's law or a treaty between states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum PackKind {
    /// The law of one state; applies when that state exports or imports.
    State {
        /// The state.
        state: StateCode,
    },
    /// A treaty; applies when both the exporting and importing state have ratified it.
    Treaty {
        /// States whose ratification the research confirms (the pack applies only to them).
        parties: Vec<StateCode>,
        /// Intended parties whose ratification is UNVERIFIED (not applied).
        unverified_parties: Vec<StateCode>,
    },
}

/// A law, regulation or treaty a pack cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Official name in English, with its date.
    pub en: String,
    /// Name in the original language.
    pub original: String,
    /// A caution about the name or status, where the research has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// First day the instrument (or the part the pack cites) applies, where the research
    /// gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_force_from: Option<Date>,
    /// Day from which it no longer applies (exclusive), where it has been repealed or replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_force_until: Option<Date>,
}

/// What `silkgate policy packs` shows about a loaded pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackInfo {
    /// State code or treaty id; the key in [`crate::Decision::rulepacks`].
    pub id: String,
    /// State or treaty.
    #[serde(flatten)]
    pub kind: PackKind,
    /// Version, named in every decision that used the pack.
    pub version: String,
    /// Date from which the pack applies.
    pub effective: String,
    /// Where in the research file the facts come from.
    pub research: String,
    /// Number of rules.
    pub rules: usize,
    /// Number of rules resting on at least one UNVERIFIED fact.
    pub unverified_rules: usize,
    /// Instruments by short key.
    pub instruments: BTreeMap<String, Instrument>,
    /// Exemption words this pack recognises, with their meaning; namespaced by the pack
    /// (`cn.emergency` is not `ru.vital-interests`).
    pub exemptions: BTreeMap<String, String>,
    /// Words of facts format 1 and the namespaced exemption of this pack each stands for.
    pub aliases: BTreeMap<String, String>,
    /// Ids of the obligations this pack can raise.
    pub obligations: Vec<String>,
    /// Obligations of this pack that only an authority can meet (manifest `authority_only`).
    pub authority_only: Vec<String>,
    /// Cautions and what the pack does not encode.
    pub notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    state: Option<StateCode>,
    treaty: Option<String>,
    #[serde(default)]
    parties: Vec<StateCode>,
    #[serde(default)]
    unverified_parties: Vec<StateCode>,
    version: String,
    effective: String,
    research: String,
    #[serde(default)]
    notes: Vec<String>,
    instruments: BTreeMap<String, Instrument>,
    #[serde(default)]
    exemptions: BTreeMap<String, String>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    obligations: BTreeMap<String, ObligationFile>,
    rules: BTreeMap<String, RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObligationFile {
    en: String,
    ru: String,
    zh: String,
    /// Only an authority's act meets it (an approval, an assessment passed); the parties
    /// cannot meet it among themselves. Agreements then wait for that authority.
    #[serde(default)]
    authority_only: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    en: String,
    ru: String,
    zh: String,
    #[serde(default = "yes")]
    verified: bool,
    #[serde(default)]
    citations: Vec<CitationFile>,
    /// For a basis twin: the obligation rule whose duty it shows met. The twin cites that
    /// rule's articles with its verification mark, then its own `citations`.
    #[serde(default)]
    twin_of: Option<String>,
    /// For a basis twin: the grounds (words of the facts' `grounds`) that meet the duty.
    #[serde(default)]
    grounds: Vec<String>,
    #[serde(default)]
    in_force_from: Option<Date>,
    #[serde(default)]
    in_force_until: Option<Date>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CitationFile {
    instrument: String,
    article: String,
    source: String,
    #[serde(default = "yes")]
    verified: bool,
}

/// How a rule takes part in the decision, read from its effect and annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RuleKind {
    /// `forbid`: the transfer is denied.
    Deny,
    /// `permit` with `@obligation`: an obligation is still to meet.
    Obligation,
    /// `permit @kind("basis")`: explains why nothing (more) is required.
    Basis,
    /// `permit @kind("base")`: the pack's default; shown only when nothing else of it applied.
    Base,
}

/// A rule with everything the decision needs, prepared once at load time.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    /// Position in the policy file, to order reasons stably.
    pub order: usize,
    pub kind: RuleKind,
    /// Index into [`RulePack::obligations`] for obligation rules.
    pub obligation: Option<usize>,
    /// For a basis twin: the obligation id it meets, and the grounds that meet it.
    pub meets: Option<String>,
    pub grounds: Vec<String>,
    /// The days the rule applies: from (inclusive) and until (exclusive), as YYYYMMDD.
    pub in_force_from: Option<i64>,
    pub in_force_until: Option<i64>,
    pub reason: Reason,
}

impl CompiledRule {
    /// Whether the rule is in force on `day` (YYYYMMDD).
    pub(crate) fn in_force(&self, day: i64) -> bool {
        self.in_force_from.is_none_or(|from| day >= from)
            && self.in_force_until.is_none_or(|until| day < until)
    }
}

/// A date as the number YYYYMMDD, the form the packs compare (`context.date >= 20270513`).
pub(crate) fn day_number(date: Date) -> i64 {
    let text = date.to_string();
    text.bytes()
        .filter(u8::is_ascii_digit)
        .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'))
}

/// A loaded, validated pack.
#[derive(Debug)]
pub(crate) struct RulePack {
    pub info: PackInfo,
    /// Every policy: one evaluation decides the common case.
    pub all: PolicySet,
    /// Only the `permit` policies: evaluated again after a deny, because Cedar then reports
    /// only the forbids, and the obligations that would remain are still listed.
    pub permits: PolicySet,
    /// The subsets of `all` and `permits` that can hold when this state IMPORTS: policies whose
    /// condition opens with `context.from == "<this state>" &&` are left out, which is sound
    /// (they cannot hold for another exporter) and saves evaluating them (Cedar costs about a
    /// microsecond per policy evaluated).
    pub import_all: PolicySet,
    pub import_permits: PolicySet,
    pub rules: HashMap<String, CompiledRule>,
    /// Obligation ids and texts, indexed by [`CompiledRule::obligation`].
    pub obligations: Vec<(String, Texts)>,
}

impl RulePack {
    /// Parses and checks one pack from the texts of its manifest and policy files.
    pub(crate) fn load(
        dir: &str,
        manifest_text: &str,
        policies_text: &str,
        schema: &Schema,
    ) -> Result<RulePack, PackError> {
        let manifest_file = format!("{dir}/manifest.toml");
        let policies_file = format!("{dir}/policies.cedar");
        let manifest: ManifestFile =
            toml::from_str(manifest_text).map_err(|e| PackError::File {
                file: manifest_file.clone(),
                reason: e.to_string().trim_end().to_owned(),
            })?;
        let file_err = |reason: String| PackError::File {
            file: manifest_file.clone(),
            reason,
        };
        let (id, kind) = match (&manifest.state, &manifest.treaty) {
            (Some(state), None) => {
                if !manifest.parties.is_empty() || !manifest.unverified_parties.is_empty() {
                    return Err(file_err("a state pack has no `parties`".into()));
                }
                (state.to_string(), PackKind::State { state: *state })
            }
            (None, Some(treaty)) => {
                if manifest.parties.len() < 2 {
                    return Err(file_err(
                        "a treaty pack needs at least two ratified `parties`".into(),
                    ));
                }
                (
                    treaty.clone(),
                    PackKind::Treaty {
                        parties: manifest.parties.clone(),
                        unverified_parties: manifest.unverified_parties.clone(),
                    },
                )
            }
            _ => {
                return Err(file_err(
                    "exactly one of `state` and `treaty` must be given".into(),
                ));
            }
        };
        if id != dir.rsplit('/').next().unwrap_or(dir) {
            return Err(file_err(format!(
                "pack id '{id}' does not match its directory '{dir}'"
            )));
        }

        let prefix = format!("{}.", id.to_lowercase());
        if let Some(word) = manifest
            .exemptions
            .keys()
            .find(|w| !w.starts_with(&prefix) && !id.contains('-'))
        {
            return Err(file_err(format!(
                "exemption '{word}' is not namespaced: a state's exemption words begin with '{prefix}'"
            )));
        }
        if let Some((alias, target)) = manifest
            .aliases
            .iter()
            .find(|(_, t)| !manifest.exemptions.contains_key(*t))
        {
            return Err(file_err(format!(
                "alias '{alias}' stands for '{target}', which is not under [exemptions]"
            )));
        }
        let parsed = PolicySet::from_str(policies_text).map_err(|e| PackError::File {
            file: policies_file.clone(),
            reason: describe(&e, policies_text),
        })?;
        if parsed.templates().next().is_some() {
            return Err(PackError::File {
                file: policies_file.clone(),
                reason: "templates are not allowed in rule packs".into(),
            });
        }

        let obligation_ids: Vec<&String> = manifest.obligations.keys().collect();
        let mut used_obligations = HashSet::new();
        let mut permits = PolicySet::new();
        let mut all = PolicySet::new();
        let mut import_permits = PolicySet::new();
        let mut import_all = PolicySet::new();
        let mut rules = HashMap::new();
        let mut base_rules = 0;
        // Cedar numbers parsed policies policy0, policy1, ... in source order.
        let mut parsed_policies: Vec<_> = parsed.policies().collect();
        parsed_policies.sort_by_key(|p| {
            AsRef::<str>::as_ref(p.id())
                .strip_prefix("policy")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        });
        for (order, policy) in parsed_policies.into_iter().enumerate() {
            let position = format!("#{} in file order", order + 1);
            let rule_err = |rule: &str, reason: String| PackError::Rule {
                file: policies_file.clone(),
                rule: rule.to_owned(),
                reason,
            };
            let Some(rule_id) = policy.annotation("id") else {
                return Err(rule_err(&position, "has no @id annotation".into()));
            };
            let rule_id = rule_id.to_owned();
            let Some(entry) = manifest.rules.get(&rule_id) else {
                return Err(rule_err(
                    &rule_id,
                    "has no entry under [rules] in manifest.toml".into(),
                ));
            };
            if rules.contains_key(&rule_id) {
                return Err(rule_err(&rule_id, "the @id is used twice".into()));
            }
            let obligation = policy.annotation("obligation");
            let kind_note = policy.annotation("kind");
            let kind = match (policy.effect(), obligation, kind_note) {
                (Effect::Forbid, None, None) => RuleKind::Deny,
                (Effect::Permit, Some(_), None) => RuleKind::Obligation,
                (Effect::Permit, None, Some("basis")) => RuleKind::Basis,
                (Effect::Permit, None, Some("base")) => RuleKind::Base,
                _ => {
                    return Err(rule_err(
                        &rule_id,
                        "must be a `forbid` without annotations, or a `permit` with exactly one of \
                         @obligation(\"id\"), @kind(\"basis\"), @kind(\"base\")"
                            .into(),
                    ));
                }
            };
            if kind == RuleKind::Base {
                base_rules += 1;
            }
            let obligation = match obligation {
                None => None,
                Some(ob) => match obligation_ids.iter().position(|id| id.as_str() == ob) {
                    Some(i) => {
                        used_obligations.insert(i);
                        Some(i)
                    }
                    None => {
                        return Err(rule_err(
                            &rule_id,
                            format!(
                                "@obligation(\"{ob}\") is not defined under [obligations] in manifest.toml"
                            ),
                        ));
                    }
                },
            };
            let mut citations = Vec::with_capacity(entry.citations.len());
            for c in &entry.citations {
                if !manifest.instruments.contains_key(&c.instrument) {
                    return Err(PackError::Rule {
                        file: manifest_file.clone(),
                        rule: rule_id.clone(),
                        reason: format!(
                            "cites instrument '{}' which is not defined under [instruments]",
                            c.instrument
                        ),
                    });
                }
                if !(c.source.starts_with("https://") || c.source.starts_with("http://")) {
                    return Err(PackError::Rule {
                        file: manifest_file.clone(),
                        rule: rule_id.clone(),
                        reason: format!("citation source '{}' is not a URL", c.source),
                    });
                }
                let named = &manifest.instruments[&c.instrument];
                citations.push(Citation {
                    state: id.clone(),
                    instrument: c.instrument.clone(),
                    instrument_en: named.en.clone(),
                    instrument_original: named.original.clone(),
                    note: named.note.clone(),
                    article: c.article.clone(),
                    source: c.source.clone(),
                    verified: c.verified && entry.verified,
                });
            }
            if entry.twin_of.is_some() == entry.grounds.is_empty() {
                return Err(PackError::Rule {
                    file: manifest_file.clone(),
                    rule: rule_id.clone(),
                    reason: "`twin_of` and `grounds` go together: a basis twin names the \
                             obligation rule it meets and the grounds that meet it"
                        .into(),
                });
            }
            if entry.twin_of.is_some() && kind != RuleKind::Basis {
                return Err(PackError::Rule {
                    file: manifest_file.clone(),
                    rule: rule_id.clone(),
                    reason: "has `twin_of` but is not a @kind(\"basis\") permit".into(),
                });
            }
            if let Some(bad) = entry
                .grounds
                .iter()
                .find(|g| !GROUND_NAMES.contains(&g.as_str()))
            {
                return Err(PackError::Rule {
                    file: manifest_file.clone(),
                    rule: rule_id.clone(),
                    reason: format!(
                        "ground '{bad}' is not a ground of the facts; known: {}",
                        GROUND_NAMES.join(", ")
                    ),
                });
            }
            if let (Some(from), Some(until)) = (entry.in_force_from, entry.in_force_until)
                && from >= until
            {
                return Err(PackError::Rule {
                    file: manifest_file.clone(),
                    rule: rule_id.clone(),
                    reason: format!("in_force_from {from} is not before in_force_until {until}"),
                });
            }
            if citations.is_empty() && kind != RuleKind::Base && entry.twin_of.is_none() {
                return Err(PackError::Rule {
                    file: manifest_file.clone(),
                    rule: rule_id.clone(),
                    reason: "cites nothing; every rule except the base rule needs a citation"
                        .into(),
                });
            }
            let renamed = policy.new_id(PolicyId::new(rule_id.clone()));
            let add = |set: &mut PolicySet| {
                set.add(renamed.clone())
                    .map_err(|e| rule_err(&rule_id, e.to_string()))
            };
            let export_only = requires_exporter(&renamed, &id);
            if kind != RuleKind::Deny {
                add(&mut permits)?;
                if !export_only {
                    add(&mut import_permits)?;
                }
            }
            if !export_only {
                add(&mut import_all)?;
            }
            all.add(renamed)
                .map_err(|e| rule_err(&rule_id, e.to_string()))?;
            rules.insert(
                rule_id.clone(),
                CompiledRule {
                    order,
                    kind,
                    obligation,
                    meets: entry.twin_of.clone(),
                    grounds: entry.grounds.clone(),
                    in_force_from: entry.in_force_from.map(day_number),
                    in_force_until: entry.in_force_until.map(day_number),
                    reason: Reason {
                        rule: rule_id,
                        text: Texts {
                            en: entry.en.clone(),
                            ru: entry.ru.clone(),
                            zh: entry.zh.clone(),
                        },
                        citations,
                    },
                },
            );
        }
        resolve_twins(&manifest_file, &mut rules, &obligation_ids)?;
        if base_rules != 1 {
            return Err(PackError::File {
                file: policies_file,
                reason: format!("needs exactly one @kind(\"base\") permit, found {base_rules}"),
            });
        }
        if let Some(unused) = manifest.rules.keys().find(|k| !rules.contains_key(*k)) {
            return Err(PackError::Rule {
                file: manifest_file,
                rule: unused.clone(),
                reason: "is described in the manifest but has no policy in policies.cedar".into(),
            });
        }
        if let Some((_, unused)) = obligation_ids
            .iter()
            .enumerate()
            .find(|(i, _)| !used_obligations.contains(i))
        {
            return Err(PackError::File {
                file: manifest_file,
                reason: format!("obligation '{unused}' is raised by no rule"),
            });
        }

        let validation = Validator::new(schema.clone()).validate(&all, ValidationMode::Strict);
        if let Some(err) = validation.validation_errors().next() {
            return Err(PackError::Rule {
                file: policies_file,
                rule: err.policy_id().to_string(),
                reason: describe(err, policies_text),
            });
        }

        let unverified_rules = rules
            .values()
            .filter(|r| r.reason.citations.iter().any(|c| !c.verified))
            .count();
        let authority_only = manifest
            .obligations
            .iter()
            .filter(|(_, o)| o.authority_only)
            .map(|(id, _)| id.clone())
            .collect();
        let obligations = manifest
            .obligations
            .into_iter()
            .map(|(id, o)| {
                (
                    id,
                    Texts {
                        en: o.en,
                        ru: o.ru,
                        zh: o.zh,
                    },
                )
            })
            .collect::<Vec<(String, Texts)>>();
        Ok(RulePack {
            info: PackInfo {
                id,
                kind,
                version: manifest.version,
                effective: manifest.effective,
                research: manifest.research,
                rules: rules.len(),
                unverified_rules,
                instruments: manifest.instruments,
                exemptions: manifest.exemptions,
                aliases: manifest.aliases,
                obligations: obligations.iter().map(|(id, _)| id.clone()).collect(),
                authority_only,
                notes: manifest.notes,
            },
            all,
            permits,
            import_all,
            import_permits,
            rules,
            obligations,
        })
    }
}

/// Gives every basis twin the citations of the obligation rule it meets (first, with that
/// rule's verification mark, then its own) and the obligation's id, and checks that every
/// obligation rule has at least one twin: a duty the facts can never meet would be a silent
/// permanent refusal, which the law expresses as a `forbid` with its article instead.
fn resolve_twins(
    manifest_file: &str,
    rules: &mut HashMap<String, CompiledRule>,
    obligation_ids: &[&String],
) -> Result<(), PackError> {
    let err = |rule: &str, reason: String| PackError::Rule {
        file: manifest_file.to_owned(),
        rule: rule.to_owned(),
        reason,
    };
    let twins: Vec<(String, String)> = rules
        .iter()
        .filter_map(|(id, r)| r.meets.clone().map(|of| (id.clone(), of)))
        .collect();
    for (twin, of) in &twins {
        let Some(target) = rules.get(of) else {
            return Err(err(
                twin,
                format!("twin_of names '{of}', which is not a rule of this pack"),
            ));
        };
        let Some(index) = target
            .obligation
            .filter(|_| target.kind == RuleKind::Obligation)
        else {
            return Err(err(
                twin,
                format!("twin_of names '{of}', which raises no obligation"),
            ));
        };
        let window = (target.in_force_from, target.in_force_until);
        let inherited = target.reason.citations.clone();
        let obligation = obligation_ids[index].to_string();
        let twin_rule = &rules[twin];
        if (twin_rule.in_force_from, twin_rule.in_force_until) != window {
            return Err(err(
                twin,
                format!(
                    "its in_force_from / in_force_until differ from those of '{of}', the rule it is the twin of"
                ),
            ));
        }
        let rule = rules
            .get_mut(twin)
            .expect("the twin was listed from the map");
        let own = std::mem::take(&mut rule.reason.citations);
        rule.reason.citations = inherited;
        for c in own {
            if !rule.reason.citations.contains(&c) {
                rule.reason.citations.push(c);
            }
        }
        rule.meets = Some(obligation);
    }
    let mut orphans: Vec<&String> = rules
        .iter()
        .filter(|(id, r)| r.kind == RuleKind::Obligation && !twins.iter().any(|(_, of)| of == *id))
        .map(|(id, _)| id)
        .collect();
    orphans.sort();
    if let Some(orphan) = orphans.first() {
        return Err(err(
            orphan,
            "raises an obligation but has no basis twin (a @kind(\"basis\") rule whose manifest \
             entry says twin_of = this rule and names the grounds that meet it): every duty needs \
             a ground that lifts it; a rule that truly forbids is a `forbid`"
                .into(),
        ));
    }
    Ok(())
}

/// Whether some `when` clause of the policy is a
/// conjunction whose first conjunct is `context.from == "<state>"`, so the policy cannot hold
/// unless `state` exports. Read from Cedar's own JSON form of the policy, not from its text.
fn requires_exporter(policy: &cedar_policy::Policy, state: &str) -> bool {
    let Ok(json) = policy.to_json() else {
        return false;
    };
    let Some(conditions) = json.get("conditions").and_then(|c| c.as_array()) else {
        return false;
    };
    conditions.iter().any(|c| {
        if c.get("kind").and_then(|k| k.as_str()) != Some("when") {
            return false;
        }
        let mut expr = c.get("body");
        while let Some(left) = expr.and_then(|e| e.get("&&")).and_then(|a| a.get("left")) {
            expr = Some(left);
        }
        let Some(eq) = expr.and_then(|e| e.get("==")) else {
            return false;
        };
        let attr = eq.get("left").and_then(|l| l.get("."));
        let is_from = attr.and_then(|a| a.get("attr")).and_then(|a| a.as_str()) == Some("from")
            && attr
                .and_then(|a| a.get("left"))
                .and_then(|l| l.get("Var"))
                .and_then(|v| v.as_str())
                == Some("context");
        let value = eq
            .get("right")
            .and_then(|r| r.get("Value"))
            .and_then(|v| v.as_str());
        is_from && value == Some(state)
    })
}

/// Parses the shared Cedar schema.
pub(crate) fn load_schema(file: &str, text: &str) -> Result<Schema, PackError> {
    Schema::from_cedarschema_str(text)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| PackError::File {
            file: file.to_owned(),
            reason: describe(&e, text),
        })
}

/// A Cedar diagnostic as one line: message, help, and the line:column of its first label.
fn describe(err: &(dyn miette::Diagnostic + '_), text: &str) -> String {
    let mut out = err.to_string();
    let mut related = Vec::new();
    if let Some(rel) = err.related() {
        for r in rel {
            related.push(r.to_string());
        }
    }
    if !related.is_empty() && !related.iter().all(|r| out.contains(r.as_str())) {
        out.push_str(": ");
        out.push_str(&related.join("; "));
    }
    if let Some(help) = err.help() {
        out.push_str(&format!(" (help: {help})"));
    }
    if let Some(mut labels) = err.labels()
        && let Some(label) = labels.next()
    {
        let offset = label.offset().min(text.len());
        let line = text[..offset].matches('\n').count() + 1;
        let col = offset - text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        out.push_str(&format!(" at line {line}, column {col}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::requires_exporter;

    fn policy(text: &str) -> cedar_policy::Policy {
        cedar_policy::Policy::parse(None, text).expect("test policy parses")
    }

    #[test]
    fn only_a_leading_exporter_conjunct_skips_a_policy_on_import() {
        let head = "permit (principal, action, resource) when ";
        let yes = [
            r#"{ context.from == "CN" }"#,
            r#"{ context.from == "CN" && context.data.personal }"#,
            r#"{ context.from == "CN" && context.data.personal && !context.grounds.consent }"#,
        ];
        for body in yes {
            assert!(
                requires_exporter(&policy(&format!("{head}{body};")), "CN"),
                "{body}"
            );
        }
        let no = [
            r#"{ context.from == "CN" || context.data.personal }"#,
            r#"{ context.data.personal && context.from == "CN" }"#,
            r#"{ context.to == "CN" && context.data.personal }"#,
            r#"{ context.from == "KZ" && context.data.personal }"#,
            r#"{ !(context.from == "CN" && context.data.personal) }"#,
        ];
        for body in no {
            assert!(
                !requires_exporter(&policy(&format!("{head}{body};")), "CN"),
                "{body}"
            );
        }
        assert!(!requires_exporter(
            &policy("permit (principal, action, resource);"),
            "CN"
        ));
        let unless = r#"permit (principal, action, resource) unless { context.from == "CN" };"#;
        assert!(!requires_exporter(&policy(unless), "CN"));
    }
}
