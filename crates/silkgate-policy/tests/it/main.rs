//! One integration-test binary for silkgate-policy (see STYLE.md, point 9).

mod bad_input;
mod bases;
mod cases;
mod decision;
mod packs;
mod properties;

use std::sync::OnceLock;

use silkgate_model::agreement::Date;
use silkgate_policy::{PolicyEngine, Ruling, TransferFacts};

/// The day the tests decide on when their facts name none: fixed, so no test reads the clock.
pub fn day() -> Date {
    "2026-12-07".parse().expect("a valid date")
}

/// Decides a facts document (format 1 or 2) on [`day`] unless it names its own date.
pub fn rule(json: &str) -> Ruling {
    let facts = TransferFacts::from_json(json).expect("test facts parse");
    engine()
        .decide_on(&facts, day())
        .expect("test facts decide")
}

/// The embedded engine, loaded once for the whole binary.
pub fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PolicyEngine::embedded().expect("embedded packs load"))
}
