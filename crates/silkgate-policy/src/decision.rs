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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Citation {
    /// The state (or treaty pack id) whose instrument this is.
    pub state: String,
    /// Short key of the instrument in the pack's manifest, e.g. `PIPL`.
    pub instrument: String,
    /// The article or provision, e.g. `art. 38`.
    pub article: String,
    /// URL of the source read (from the research file).
    pub source: String,
    /// False where the research marks the fact UNVERIFIED: do not rely on it without counsel.
    pub verified: bool,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
