//! Rule packs and the compliance decision: given the facts of a proposed cross-border transfer,
//! the exporting and importing states' rule packs (and treaties both have ratified) decide
//! `allow`, `conditional` with obligations, or `deny`, each with the articles it rests on.
//!
//! Main types: [`PolicyEngine`] (the loaded packs), [`Facts`] (the input document),
//! [`Decision`] (outcome, [`Obligation`]s, [`Reason`]s, pack versions), [`FactsError`] and
//! [`PackError`]. Rule packs are data in `rulepacks/<STATE>/`: Cedar policies validated against
//! `rulepacks/schema.cedarschema`, and a manifest with the instruments, the citations of every
//! rule (with `verified = false` where the research marks a fact UNVERIFIED) and the texts of
//! every obligation in English, Russian and Chinese.
//!
//! Invariant: packs are loaded and validated once, and a pack that fails is refused whole; the
//! engine does no I/O while deciding and returns either a complete decision or an error naming
//! the field, never a partial decision. Cedar stays inside this crate.
//!
//! ```
//! use silkgate_policy::{Facts, Outcome, PolicyEngine};
//! let engine = PolicyEngine::embedded().unwrap();
//! let facts = Facts::from_json(r#"{
//!   "from": "CN", "to": "KZ",
//!   "exporter":  {"state": "CN", "ciio": false, "sector": "trade"},
//!   "recipient": {"state": "KZ", "kind": "foreign-authority"},
//!   "data": {"categories": ["personal"], "subjects": 10}
//! }"#).unwrap();
//! let decision = engine.decide(&facts).unwrap();
//! assert_eq!(decision.outcome, Outcome::Deny);
//! assert!(decision.reasons.iter().any(|r| r.citations.iter().any(|c| c.article == "art. 36")));
//! ```

mod cases;
mod decision;
mod engine;
mod facts;
mod pack;

pub use cases::{CaseResult, case_facts, run_all, run_case_table};
pub use decision::{Basis, Citation, Decision, Obligation, Outcome, Reason, Ruling, Texts};
pub use engine::{PolicyEngine, SCHEMA_FILE};
pub use facts::{
    ConsentKind, DataFacts, Exporter, ExporterRole, FACTS_FORMAT, Facts, FactsError, GROUND_NAMES,
    Grounds, Recipient, RecipientKind, TransferFacts, YearToDate,
};
pub use pack::{Instrument, PackError, PackInfo, PackKind};
