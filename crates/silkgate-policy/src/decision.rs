//! The compliance decision: outcome, obligations, reasons and the pack versions used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The verdict on a proposed transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Lawful on these facts with nothing left to do.
    Allow,
    /// Lawful once the listed obligations are met.
    Conditional,
    /// Not lawful on these facts.
    Deny,
}

impl Outcome {
    /// The word used in JSON and case tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Conditional => "conditional",
            Outcome::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text in the three languages users read: English, Russian and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    /// English.
    pub en: String,
    /// Russian.
    pub ru: String,
    /// Chinese.
    pub zh: String,
}

impl Texts {
    /// The text in `lang` (`en`, `ru` or `zh`); any other code gives English.
    pub fn get(&self, lang: &str) -> &str {
        match lang {
            "ru" => &self.ru,
            "zh" => &self.zh,
            _ => &self.en,
        }
    }
}

/// Where a rule comes from: an article of an instrument of a state, and the source it was read in.
///
/// The instrument's names and note are copied from the pack's manifest at load time, so a
/// stored decision names the law in words a reader knows without the pack at hand. They are
/// empty in decisions stored before they were added (serde default).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Citation {
    /// The state (or treaty pack id) whose instrument this is.
    pub state: String,
    /// Short key of the instrument in the pack's manifest, e.g. `PIPL`.
    pub instrument: String,
    /// The instrument's official name in English, with its date.
    #[serde(default)]
    pub instrument_en: String,
    /// The instrument's name in its original language.
    #[serde(default)]
    pub instrument_original: String,
    /// A caution about the instrument's name or status, where the research has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The article or provision, e.g. `art. 38`.
    pub article: String,
    /// URL of the source read (from the research file).
    pub source: String,
    /// False where the research marks the fact UNVERIFIED: do not rely on it without counsel.
    pub verified: bool,
}

impl Citation {
    /// The citation as one line with the law's name, e.g.
    /// `CN PIPL art. 40 (Personal Information Protection Law ...)`, ending in `[UNVERIFIED]`
    /// where the research could not confirm it; what one-line refusals and summaries show.
    pub fn line(&self) -> String {
        let mut out = format!("{} {} {}", self.state, self.instrument, self.article);
        if !self.instrument_en.is_empty() {
            out.push_str(&format!(" ({})", self.instrument_en));
        }
        if !self.verified {
            out.push_str(" [UNVERIFIED]");
        }
        out
    }
}

/// Something still to do before the transfer is lawful.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// Stable id, e.g. `cn.security-assessment`.
    pub id: String,
    /// What to do, in en/ru/zh.
    pub text: Texts,
    /// The articles that impose it (those of every rule that raised it).
    pub citations: Vec<Citation>,
}

/// A rule that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable rule id, e.g. `cn.volume-standard-contract`.
    pub rule: String,
    /// What the rule says, in en/ru/zh.
    pub text: Texts,
    /// The articles it rests on.
    pub citations: Vec<Citation>,
}

/// The engine's answer for one set of facts.
///
/// Its JSON also carries a top-level `unverified` flag (see [`Decision::has_unverified`]),
/// computed when written and ignored when read back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Decision {
    /// The verdict.
    pub outcome: Outcome,
    /// Obligations still to meet (also listed on `deny`, for what would remain afterwards).
    pub obligations: Vec<Obligation>,
    /// The rules that decided, deny rules first.
    pub reasons: Vec<Reason>,
    /// Version of every pack used, by state code or treaty id.
    pub rulepacks: BTreeMap<String, String>,
}

impl Decision {
    /// Ids of the obligations, in order.
    pub fn obligation_ids(&self) -> Vec<&str> {
        self.obligations.iter().map(|o| o.id.as_str()).collect()
    }

    /// Every citation in the decision, reasons and obligations alike.
    pub fn citations(&self) -> impl Iterator<Item = &Citation> {
        self.reasons
            .iter()
            .flat_map(|r| r.citations.iter())
            .chain(self.obligations.iter().flat_map(|o| o.citations.iter()))
    }

    /// Whether any citation rests on a fact the research marks UNVERIFIED.
    pub fn has_unverified(&self) -> bool {
        self.citations().any(|c| !c.verified)
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The wire form: the fields, plus the flag a reader must see first.
        #[derive(Serialize)]
        struct Wire<'a> {
            outcome: Outcome,
            unverified: bool,
            obligations: &'a [Obligation],
            reasons: &'a [Reason],
            rulepacks: &'a BTreeMap<String, String>,
        }
        Wire {
            outcome: self.outcome,
            unverified: self.has_unverified(),
            obligations: &self.obligations,
            reasons: &self.reasons,
            rulepacks: &self.rulepacks,
        }
        .serialize(serializer)
    }
}

/// A rule that made (part of) the transfer lawful: an exemption, an adequate destination, or
/// the basis twin of an obligation whose ground the facts supply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// The basis rule's id, e.g. `cn.volume-standard-contract.met`.
    pub rule: String,
    /// The obligation this basis meets, for a basis twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meets: Option<String>,
    /// The grounds of the facts that meet it (words of the facts' `grounds`), for a twin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<String>,
    /// What the rule says, in en/ru/zh.
    pub text: Texts,
    /// The articles it rests on (for a twin, those of the obligation it meets).
    pub citations: Vec<Citation>,
}

/// The full answer of [`crate::PolicyEngine::decide_on`]: the [`Decision`] (what
/// [`crate::PolicyEngine::decide`] returns, flattened into the same JSON object), the day it
/// was decided for, and the bases that make the transfer lawful.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ruling {
    /// Outcome, obligations, reasons, pack versions and the `unverified` flag.
    #[serde(flatten)]
    pub decision: Decision,
    /// The day whose law decided: the facts' `date`, or the caller's today.
    pub date: silkgate_model::agreement::Date,
    /// Every basis rule that held, in the order of the packs; an `allow` names at least one.
    pub bases: Vec<Basis>,
}

impl Ruling {
    /// Whether any citation of the decision or of a basis rests on an UNVERIFIED fact.
    pub fn has_unverified(&self) -> bool {
        self.decision.has_unverified()
            || self
                .bases
                .iter()
                .any(|b| b.citations.iter().any(|c| !c.verified))
    }
}
