//! Bad input gets an error naming the field, and never a partial decision.

use silkgate_policy::{Facts, FactsError, PolicyEngine};

use crate::engine;

const GOOD: &str = r#"{
  "from": "CN", "to": "KZ",
  "exporter":  {"state": "CN", "ciio": false, "sector": "trade"},
  "recipient": {"state": "KZ", "kind": "enterprise"},
  "data": {"categories": ["personal"], "subjects": 50000, "sensitive_subjects": 0,
           "important_data": false, "biometric": false},
  "year_to_date": {"subjects": 0, "sensitive_subjects": 0},
  "grounds": {"consent": false, "standard_contract": false, "certification": false,
              "security_assessment": false, "regulator_permit": false,
              "regulator_notified": false, "judicial_approval": false}
}"#;

/// Replaces `from` by `to` in the good document, parses and decides, and returns the error.
fn error_for(from: &str, to: &str) -> FactsError {
    assert!(GOOD.contains(from), "{from} not in the document");
    let text = GOOD.replacen(from, to, 1);
    match Facts::from_json(&text) {
        Err(e) => e,
        Ok(facts) => engine()
            .decide(&facts)
            .expect_err("a bad document must not be decided"),
    }
}

fn field_of(err: &FactsError) -> &str {
    match err {
        FactsError::Invalid { field, .. } | FactsError::UnknownState { field, .. } => field,
        other => panic!("unexpected error kind: {other}"),
    }
}

#[test]
fn the_issue_document_is_decided() {
    let facts = Facts::from_json(GOOD).unwrap();
    let d = engine().decide(&facts).unwrap();
    assert_eq!(d.rulepacks.keys().collect::<Vec<_>>(), ["CN", "KZ"]);
    engine().check_context_against_schema(&facts).unwrap();
}

#[test]
fn unknown_state_codes_name_the_field() {
    let err = error_for(r#""to": "KZ""#, r#""to": "FR""#);
    assert_eq!(field_of(&err), "to");
    assert!(err.to_string().contains("'FR'"), "{err}");
    let err = error_for(r#""from": "CN""#, r#""from": "cn""#);
    assert_eq!(field_of(&err), "from");
    assert!(err.to_string().contains("not a state code"), "{err}");
    let err = error_for(r#""state": "KZ""#, r#""state": "RU""#);
    assert_eq!(field_of(&err), "recipient.state");
}

#[test]
fn negative_counts_name_the_field() {
    let err = error_for(r#""subjects": 50000"#, r#""subjects": -1"#);
    assert_eq!(field_of(&err), "data.subjects");
    assert!(err.to_string().contains("-1"), "{err}");
    let err = error_for(
        r#""year_to_date": {"subjects": 0"#,
        r#""year_to_date": {"subjects": -7"#,
    );
    assert_eq!(field_of(&err), "year_to_date.subjects");
}

#[test]
fn unknown_categories_and_kinds_name_the_field() {
    let err = error_for(r#"["personal"]"#, r#"["personal", "secret"]"#);
    assert_eq!(field_of(&err), "data.categories[1]");
    assert!(err.to_string().contains("'secret'"), "{err}");
    let err = error_for(r#""kind": "enterprise""#, r#""kind": "court""#);
    assert_eq!(field_of(&err), "recipient.kind");
    let err = error_for(r#""consent": false"#, r#""consnet": false"#);
    assert_eq!(field_of(&err), "grounds.consnet");
    assert!(err.to_string().contains("consnet"), "{err}");
}

#[test]
fn inconsistent_facts_name_the_field() {
    let err = error_for(r#""to": "KZ""#, r#""to": "CN""#);
    // recipient.state KZ is checked against `to` after the same-state check.
    assert!(matches!(field_of(&err), "to" | "recipient.state"), "{err}");
    let err = error_for(
        r#""sensitive_subjects": 0,"#,
        r#""sensitive_subjects": 50001,"#,
    );
    assert_eq!(field_of(&err), "data.sensitive_subjects");
    let err = error_for(r#"["personal"]"#, "[]");
    assert_eq!(field_of(&err), "data.categories");
    let err = error_for(
        r#""year_to_date": {"subjects": 0"#,
        r#""year_to_date": {"subjects": 18446744073709551615"#,
    );
    assert_eq!(field_of(&err), "year_to_date.subjects");
}

#[test]
fn engine_without_a_state_refuses_it() {
    // An engine loaded without Kazakhstan's pack must refuse rather than half-decide.
    let files: Vec<(String, String)> = engine_files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("KZ/"))
        .collect();
    let partial = PolicyEngine::from_files(&files).unwrap();
    let err = partial
        .decide(&Facts::from_json(GOOD).unwrap())
        .unwrap_err();
    assert!(
        matches!(err, FactsError::UnknownState { ref field, .. } if field == "to"),
        "{err}"
    );
}

/// The files of the repository's rulepacks directory.
pub fn engine_files() -> Vec<(String, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rulepacks");
    let mut files = vec![(
        "schema.cedarschema".to_owned(),
        std::fs::read_to_string(format!("{root}/schema.cedarschema")).unwrap(),
    )];
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_dir() {
            continue;
        }
        let dir = path.file_name().unwrap().to_string_lossy().into_owned();
        for file in ["manifest.toml", "policies.cedar", "cases.toml"] {
            if let Ok(text) = std::fs::read_to_string(path.join(file)) {
                files.push((format!("{dir}/{file}"), text));
            }
        }
    }
    files
}

/// The format-2 fields, each wrong in one way, and the field the refusal must name.
#[test]
fn format_two_fields_name_the_field() {
    use silkgate_policy::TransferFacts;
    let check = |from: &str, to: &str, field: &str| {
        assert!(GOOD.contains(from), "{from} not in the document");
        let text = GOOD.replacen(from, to, 1);
        let err = TransferFacts::from_json(&text).expect_err("a bad document is refused");
        assert_eq!(field_of(&err), field, "{err}");
    };
    let table = [
        (
            r#""from": "CN","#,
            r#""date": "2027-02-30", "from": "CN","#,
            "date",
        ),
        (
            r#""ciio": false,"#,
            r#""ciio": false, "roles": ["bank"],"#,
            "exporter.roles[0]",
        ),
        (
            r#""consent": false,"#,
            r#""consent": false, "consent_kinds": ["tacit"],"#,
            "grounds.consent_kinds[0]",
        ),
        (
            r#""consent": false,"#,
            r#""consent": false, "notice_covers": ["XX1"],"#,
            "grounds.notice_covers[0]",
        ),
        (
            r#""biometric": false"#,
            r#""biometric": false, "citizens_of_exporter": "yes""#,
            "data.citizens_of_exporter",
        ),
        (
            r#""ciio": false,"#,
            r#""ciio": false, "role": [],"#,
            "exporter.role",
        ),
    ];
    for (from, to, field) in table {
        check(from, to, field);
    }
    // A format-1 document reads the same through both parsers.
    let one = Facts::from_json(GOOD).unwrap();
    let two = TransferFacts::from_json(GOOD).unwrap();
    assert_eq!(two, TransferFacts::from(one));
    assert!(two.citizens_of_exporter && two.children_under_14 && two.date.is_none());
}
