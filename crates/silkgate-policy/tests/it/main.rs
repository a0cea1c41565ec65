//! One integration-test binary for silkgate-policy (see STYLE.md, point 9).

mod bad_input;
mod cases;
mod decision;
mod packs;
mod properties;

use std::sync::OnceLock;

use silkgate_policy::PolicyEngine;

/// The embedded engine, loaded once for the whole binary.
pub fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PolicyEngine::embedded().expect("embedded packs load"))
}
