//! De-identification end to end: apply a plan, re-scan the output, reverse tokens.

use std::collections::BTreeMap;

use silkgate_scan::{
    DeidError, Entity, Generalisation, Keys, Plan, ScanOptions, Transform, deidentify, detokenise,
    scan,
};

const AGREEMENT_KEY: [u8; 32] = [7; 32];
const PROVIDER_KEY: [u8; 32] = [9; 32];

fn keys() -> Keys {
    Keys::new()
        .with_pseudonymisation(AGREEMENT_KEY)
        .with_tokenisation(PROVIDER_KEY)
}

const CSV: &str = "name,iin,phone,email,birth_date,card,photo_fingerprint,amount\n\
Иванов Иван Иванович,900101300007,+7 701 234 5678,ivan@example.kz,1990-01-01,4111111111111111,AAEC,10.5\n\
Karimova Dilnoza,900101300007,+998 90 123 45 67,dilnoza@example.uz,1985-07-15,5555555555554444,AAED,7\n";

#[test]
fn plan_from_obligations_then_rescan_finds_nothing_transformed() {
    let before = scan(CSV.as_bytes(), &ScanOptions::default()).unwrap();
    let rules: BTreeMap<Entity, Transform> = [
        (Entity::PersonName, Transform::Pseudonymise),
        (Entity::KzIin, Transform::Pseudonymise),
        (
            Entity::Phone,
            Transform::Mask {
                keep_prefix: 0,
                keep_suffix: 2,
            },
        ),
        (Entity::Email, Transform::Drop),
        (
            Entity::DateOfBirth,
            Transform::Generalise {
                to: Generalisation::Year,
            },
        ),
        (Entity::PaymentCard, Transform::Tokenise),
        (Entity::Biometric, Transform::Drop),
    ]
    .into_iter()
    .collect();
    let plan = Plan::for_report(&before, &rules);
    assert_eq!(plan.columns.len(), 7, "{plan:?}");
    let mut out = Vec::new();
    let report = deidentify(CSV.as_bytes(), &mut out, &plan, &keys()).unwrap();
    assert_eq!(report.rows, 2);
    assert!(report.residual.is_empty(), "{:?}", report.residual);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with("name,iin,phone,birth_date,card,amount\n"),
        "{text}"
    );
    for raw in [
        "Иванов",
        "900101300007",
        "701 234",
        "ivan@",
        "1990-01-01",
        "4111111111111111",
        "AAEC",
    ] {
        assert!(!text.contains(raw), "{raw} survived:\n{text}");
    }
    assert!(text.contains(",1990,") && text.contains(",10.5"), "{text}");

    let after = scan(&out[..], &ScanOptions::default()).unwrap();
    for c in &after.columns {
        assert_eq!(c.entity, None, "{c:?}");
    }
    // The same IIN in both rows gives the same pseudonym.
    let iins: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(iins[0], iins[1]);
    // Tokens reverse with the provider key only.
    let card = text.lines().nth(1).unwrap().split(',').nth(4).unwrap();
    assert_eq!(detokenise(&PROVIDER_KEY, card).unwrap(), "4111111111111111");
    assert!(detokenise(&AGREEMENT_KEY, card).is_err());
}

#[test]
fn a_weak_transform_is_reported_as_residual() {
    // Masking that keeps too much of an e-mail address still leaves an address.
    let plan = Plan::from_json(
        r#"{"columns": {"email": {"action": "generalise", "to": {"prefix": 100}}}}"#,
    )
    .unwrap();
    let mut out = Vec::new();
    let report = deidentify(CSV.as_bytes(), &mut out, &plan, &Keys::new()).unwrap();
    assert_eq!(report.residual.len(), 1);
    assert_eq!(
        (report.residual[0].entity, report.residual[0].count),
        (Entity::Email, 2)
    );
}

#[test]
fn jsonl_paths_are_transformed_in_place() {
    let input = concat!(
        r#"{"customer":{"name":"Tursunov Bekzod","passport":"45 06 123456","phones":["+998 90 123 45 67"]},"total":5}"#,
        "\n",
        "garbage line\n",
        r#"{"customer":{"name":"Karimova Dilnoza","passport":"4507 654321","phones":[]},"total":7}"#,
        "\n"
    );
    let plan = Plan::from_json(
        r#"{"columns": {"customer.name": {"action": "pseudonymise"}, "customer.passport": {"action": "drop"},
            "customer.phones[]": {"action": "mask", "keep_suffix": 2}}}"#,
    )
    .unwrap();
    let mut out = Vec::new();
    let report = deidentify(input.as_bytes(), &mut out, &plan, &keys()).unwrap();
    assert_eq!(
        (report.rows, report.records_left_out),
        (2, 1),
        "the garbage line is left out"
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        !text.contains("passport") && !text.contains("Bekzod") && !text.contains("123 45"),
        "{text}"
    );
    assert!(text.contains("\"total\":5"), "{text}");
    let after = scan(&out[..], &ScanOptions::default()).unwrap();
    assert!(
        after.columns.iter().all(|c| c.entity.is_none()),
        "{:?}",
        after.columns
    );
}

#[test]
fn plan_errors_name_the_column() {
    let plan = Plan::from_json(r#"{"columns": {"passport": {"action": "drop"}}}"#).unwrap();
    let err = deidentify(CSV.as_bytes(), Vec::new(), &plan, &Keys::new()).unwrap_err();
    assert!(
        matches!(&err, DeidError::UnknownColumn { column, .. } if column == "passport"),
        "{err}"
    );
    let plan = Plan::from_json(r#"{"columns": {"iin": {"action": "tokenise"}}}"#).unwrap();
    let err = deidentify(CSV.as_bytes(), Vec::new(), &plan, &Keys::new()).unwrap_err();
    assert!(
        err.to_string().contains("'iin'") && err.to_string().contains("tokenisation"),
        "{err}"
    );
}
