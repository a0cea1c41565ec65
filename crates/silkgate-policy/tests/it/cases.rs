//! Runs each state's case table (`rulepacks/<STATE>/cases.toml`) through the one checker that
//! `silkgate policy test` also uses.

use silkgate_policy::run_case_table;

use crate::engine;

/// Runs the table of `dir`, fails listing every case that did not match, and returns how many
/// decision cases (not bad-input cases) it holds.
fn check_table(dir: &str, min_cases: usize) {
    let path = format!("{dir}/cases.toml");
    let (_, text) = engine()
        .case_tables()
        .iter()
        .find(|(p, _)| *p == path)
        .unwrap_or_else(|| panic!("no case table {path}"));
    let results = run_case_table(engine(), &path, text).expect("table parses");
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| {
            format!(
                "{path} case {} \"{}\":\n  {}",
                r.number,
                r.name,
                r.failures.join("\n  ")
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(
        results.len() >= min_cases,
        "{path} has {} cases, needs at least {min_cases}",
        results.len()
    );
}

macro_rules! tables {
    ($($test:ident: $dir:literal >= $min:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check_table($dir, $min);
            }
        )*
    };
}

// The issue asks for at least twenty cases for China and six for every other state.
tables! {
    cn_table: "CN" >= 20;
    in_table: "IN" >= 6;
    ir_table: "IR" >= 6;
    kz_table: "KZ" >= 6;
    kg_table: "KG" >= 6;
    pk_table: "PK" >= 6;
    ru_table: "RU" >= 6;
    tj_table: "TJ" >= 6;
    uz_table: "UZ" >= 6;
    by_table: "BY" >= 6;
}

#[test]
fn every_member_state_has_a_pack_and_a_table() {
    for state in silkgate_model::MEMBER_STATES {
        let path = format!("{state}/cases.toml");
        assert!(
            engine().case_tables().iter().any(|(p, _)| *p == path),
            "no case table for {state}"
        );
        assert!(
            engine().packs().any(|p| p.id == state.as_str()),
            "no pack for {state}"
        );
    }
}

#[test]
fn the_checker_reports_wrong_expectations() {
    let table = r#"
[defaults]
date = "2026-12-07"
from = "CN"
to = "KZ"
exporter = { sector = "trade" }
recipient = { kind = "enterprise" }
data = { categories = ["personal"], subjects = 100_000 }

[[case]]
name = "wrong outcome, obligations, citation and rule"
outcome = "allow"
obligations = ["cn.pipia"]
cites = ["PIPL art. 99"]
rules = ["cn.exempt-small-volume"]

[[case]]
name = "expects an error that does not come"
error_field = "data.subjects"
"#;
    let results = run_case_table(engine(), "test.toml", table).unwrap();
    assert_eq!(results.len(), 2);
    let f = &results[0].failures;
    assert_eq!(f.len(), 4, "{f:#?}");
    assert!(f[0].contains("expected allow, got conditional"), "{f:#?}");
    assert!(f[2].contains("PIPL art. 99"), "{f:#?}");
    assert!(!results[1].passed());
    let bad = "[defaults]\nfrom = \"CN\"\n[[case]]\nname = \"neither\"\n";
    assert!(run_case_table(engine(), "bad.toml", bad).is_err());
    // A table whose cases name no day is refused: no table may depend on the day it runs.
    let undated = table.replace("date = \"2026-12-07\"\n", "");
    let err = run_case_table(engine(), "undated.toml", &undated).unwrap_err();
    assert!(err.to_string().contains("`date`"), "{err}");
}
