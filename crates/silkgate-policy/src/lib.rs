//! Rule packs and the compliance decision: given the facts of a proposed cross-border transfer,
//! the exporting and importing states' rule packs (and treaties between them) decide `allow`,
//! `conditional` with obligations, or `deny`, each with the articles it rests on.
//!
//! Invariant: the engine does no I/O while deciding; packs are loaded and validated once.
//! (Built out by the rule-pack issue.)
