//! A content review that could not read the whole payload never lets a transfer through as
//! non-personal: by default the decision refuses it, naming what was not read and the limit
//! hit; configured to, the node decides with the unread part counted as personal data.

use silkgate_model::{OrgId, Sector, Transfer, TransferStatus};
use silkgate_node::pipeline::{self, ContentReport, IncompleteReview};
use silkgate_policy::{Grounds, Outcome, PolicyEngine, RecipientKind, YearToDate};
use silkgate_scan::{DataCategory, ScanOptions};

fn transfer() -> Transfer {
    Transfer {
        id: "t-incomplete".into(),
        consumer: format!("RU.{}", "b".repeat(32)).parse::<OrgId>().unwrap(),
        provider: format!("KZ.{}", "a".repeat(32)).parse::<OrgId>().unwrap(),
        dataset_id: "orders".into(),
        sha256: "0".repeat(64),
        purpose: "analytics".into(),
        consumer_hpke_key: "00".repeat(32),
        status: TransferStatus::AwaitingDecision,
        reason: None,
        requested_at: 0,
    }
}

fn review(payload: &[u8], opts: &ScanOptions) -> ContentReport {
    ContentReport {
        sha256: "0".repeat(64),
        size: payload.len() as u64,
        reviewed_at: 0,
        scan: Some(silkgate_scan::scan(payload, opts).unwrap()),
        scan_error: None,
    }
}

#[test]
fn an_incomplete_review_is_refused_or_counted_as_personal() {
    let engine = PolicyEngine::embedded().unwrap();
    let t = transfer();
    // Order lines with no personal data in the first 3 columns, and e-mails beyond the
    // column limit the scan was given.
    let mut csv = String::from("order,amount,sku,contact\n");
    for i in 0..50 {
        csv.push_str(&format!(
            "{},{i}.50,SKU-{i:05},buyer{i}@mail.kz\n",
            1000 + i
        ));
    }
    let narrow = ScanOptions {
        max_columns: 3,
        ..ScanOptions::default()
    };
    let report = review(csv.as_bytes(), &narrow);
    let scan = report.scan.as_ref().unwrap();
    assert!(!scan.is_complete());
    assert!(!scan.categories.contains(&DataCategory::NonPersonal));

    let facts = pipeline::facts_for(
        &t,
        Sector::Trade,
        RecipientKind::Enterprise,
        &report,
        YearToDate::default(),
        Grounds::default(),
    )
    .unwrap();
    // The facts count the unread part as personal, never as non-personal.
    assert!(facts.data.categories.contains(&DataCategory::Personal));
    assert!(!facts.data.categories.contains(&DataCategory::NonPersonal));
    assert!(facts.data.subjects >= 1);

    let rules = Default::default();
    // Decided on the tests' day, not the machine's.
    let at = crate::harness::today().days_since_epoch() * 86_400;
    let refused = pipeline::decide(&engine, &report, Some(facts.clone()), &rules, at).unwrap();
    assert_eq!(refused.decision.outcome, Outcome::Deny);
    let line = refused.reason_line();
    assert!(line.contains(pipeline::INCOMPLETE_REVIEW), "{line}");
    assert!(line.contains("columns-beyond-limit"), "{line}");
    assert!(line.contains("max_columns (3"), "{line}");
    assert!(
        refused.facts.is_some(),
        "the facts are shown with the refusal"
    );

    let decided = pipeline::decide_with(
        &engine,
        &report,
        Some(facts),
        &rules,
        IncompleteReview::TreatAsPersonal,
        at,
    )
    .unwrap();
    assert!(
        !decided.reason_line().contains(pipeline::INCOMPLETE_REVIEW),
        "{}",
        decided.reason_line()
    );
    let f = decided.facts.as_ref().unwrap();
    assert!(f.data.categories.contains(&DataCategory::Personal));

    // The same file read in full is decided on what it holds: e-mails, so personal data,
    // and not refused for being incomplete.
    let full = review(csv.as_bytes(), &ScanOptions::default());
    assert!(full.scan.as_ref().unwrap().is_complete());
    let facts = pipeline::facts_for(
        &t,
        Sector::Trade,
        RecipientKind::Enterprise,
        &full,
        YearToDate::default(),
        Grounds::default(),
    )
    .unwrap();
    assert!(facts.data.categories.contains(&DataCategory::Personal));
    assert_eq!(facts.data.subjects, 50);
    let d = pipeline::decide(&engine, &full, Some(facts), &rules, at).unwrap();
    assert!(!d.reason_line().contains(pipeline::INCOMPLETE_REVIEW));
}
