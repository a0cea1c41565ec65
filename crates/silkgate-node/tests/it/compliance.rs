//! The compliance steps of the pipeline: content review, the rule packs' decision shown to
//! both parties, a denial that stops the transfer, obligations met by grounds and approval,
//! de-identification checked by re-scanning the delivered bytes, year-to-date counters.

use std::time::Duration;

use silkgate_model::Visibility;
use silkgate_node::NodeOptions;
use silkgate_node::api_types::{ColumnView, DecisionRequest, PublishMetadata, TransferRequest};
use silkgate_scan::{Entity, ScanOptions, Transform};

use crate::harness::{approve, federation, federation_with, org, people_csv, publish, request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_authority_is_denied_with_reasons_visible_to_both_parties() {
    let fed = federation(&["CN", "KZ"]).await;
    let cn = org(&fed, "CN", "Exporter").await;
    let kz = org(&fed, "KZ", "Court").await;
    let people = people_csv(40, ".50");
    let m = PublishMetadata {
        request_id: "pub-people".into(),
        dataset_id: "people".into(),
        title: "People".into(),
        description: "Synthetic persons".into(),
        sector: "trade".into(),
        format: "csv".into(),
        schema: ["ФИО", "Телефон", "Сумма"]
            .iter()
            .map(|n| ColumnView {
                name: (*n).into(),
                ty: "string".into(),
            })
            .collect(),
        visibility: Visibility::Federation,
    };
    let d = cn.client.publish(&m, people.into()).await.unwrap();
    let t = kz
        .client
        .request_transfer(&TransferRequest {
            request_id: "req-auth".into(),
            provider: cn.id(),
            dataset_id: d.dataset_id.clone(),
            sha256: d.sha256.clone(),
            purpose: "evidence".into(),
            recipient_kind: Some("foreign-authority".into()),
        })
        .await
        .unwrap();
    // The consumer sees the denial and its reasons at once.
    assert_eq!(t.status, "denied", "{t:?}");
    let decision = t.decision.clone().expect("consumer sees the decision");
    assert_eq!(decision["outcome"], "deny");
    let cites = decision.to_string();
    assert!(cites.contains("art. 36"), "{cites}");
    assert!(
        t.reason.as_deref().unwrap_or("").contains("art. 36"),
        "{t:?}"
    );
    // The provider sees the same decision and the review (counts, never raw values).
    let p = cn.client.transfer(&t.id).await.unwrap();
    assert_eq!(p.status, "denied");
    assert_eq!(p.decision.as_ref().unwrap()["outcome"], "deny");
    let review = &p.report.as_ref().unwrap()["review"]["scan"];
    assert_eq!(review["rows"], 40);
    assert!(
        review["categories"].to_string().contains("personal"),
        "{review}"
    );
    assert!(
        !review.to_string().contains("Иванов Пётр"),
        "raw value leaked: {review}"
    );
    // The approve endpoint cannot override a denial.
    let err = cn.client.decide(&t.id, &approve("ok-anyway")).await;
    assert!(err.is_err());
    let events = cn.client.transfer_events(&t.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "transfer.decided" && e.detail["outcome"] == "deny")
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_transfer_met_deidentified_and_counted() {
    let mut options = NodeOptions::default();
    options.deidentify.insert(Entity::Phone, Transform::Drop);
    let fed = federation_with(&["KZ", "KG"], options).await;
    let kz = org(&fed, "KZ", "Exporter").await;
    let kg = org(&fed, "KG", "Importer").await;
    // Non-personal trade data: the packs allow; only the provider's approval is asked.
    let (trade, _) = publish(&kz, "trade", "Trade", Visibility::Federation).await;
    let t0 = request(&kg, &kz, &trade, "req-trade").await;
    let d0 = t0.decision.clone().unwrap();
    assert_eq!(d0["legal_outcome"], "allow", "{d0}");
    assert_eq!(d0["obligations"][0]["id"], "node.provider-approval", "{d0}");
    kz.client
        .decide(&t0.id, &approve("ok-trade"))
        .await
        .unwrap();
    let done = kg
        .client
        .wait_final(&t0.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered");

    // Personal data: de-identification obligation; grounds attested at approval.
    let people = people_csv(60, ".50");
    let m = PublishMetadata {
        request_id: "pub-people".into(),
        dataset_id: "people".into(),
        title: "People".into(),
        description: "Synthetic persons".into(),
        sector: "trade".into(),
        format: "csv".into(),
        schema: ["ФИО", "Телефон", "Сумма"]
            .iter()
            .map(|n| ColumnView {
                name: (*n).into(),
                ty: "string".into(),
            })
            .collect(),
        visibility: Visibility::Federation,
    };
    let d = kz.client.publish(&m, people.into()).await.unwrap();
    let t = request(&kg, &kz, &d, "req-people").await;
    let dec = t.decision.clone().unwrap();
    assert_eq!(dec["outcome"], "conditional", "{dec}");
    assert!(dec.to_string().contains("node.deidentify"), "{dec}");
    let all = silkgate_policy::Grounds {
        consent: true,
        standard_contract: true,
        certification: true,
        security_assessment: true,
        regulator_permit: true,
        regulator_notified: true,
        judicial_approval: true,
        impact_assessment: true,
        domestic_database: true,
        waiting_period_elapsed: true,
    };
    kz.client
        .decide(
            &t.id,
            &DecisionRequest {
                request_id: "ok-people".into(),
                approve: true,
                reason: None,
                grounds: Some(all),
            },
        )
        .await
        .unwrap();
    let done = kg
        .client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    // The consumer holds the delivery before the provider records the receipt (and counts it).
    let provider_view = kz
        .client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(provider_view.status, "delivered");
    let key = kg.creds.hpke_private_key.clone();
    let mut out = Vec::new();
    kg.client
        .fetch_delivery(&t.id, &key, &mut out, |_, _| {})
        .await
        .unwrap();
    let rescan = silkgate_scan::scan(&out[..], &ScanOptions::default()).unwrap();
    assert_eq!(rescan.rows, 60);
    assert!(
        rescan
            .columns
            .iter()
            .all(|c| c.entity != Some(Entity::Phone)),
        "{rescan:?}"
    );
    assert!(!String::from_utf8_lossy(&out).contains("+7 701"));
    let p = kz.client.transfer(&t.id).await.unwrap();
    let report = p.report.unwrap();
    assert_eq!(
        report["deidentification"]["columns"][0]["transform"], "drop",
        "{report}"
    );
    assert!(
        report["decision"]["met"]
            .to_string()
            .contains("node.deidentify")
    );
    // Year-to-date: the exporter's counter now holds this transfer's subjects.
    let state = &fed.fed.node("KZ").running.state;
    let kz_id = kz.id().parse().unwrap();
    let (subjects, _) = state
        .store()
        .year_to_date(&kz_id, state.clock().year())
        .await
        .unwrap();
    let expected = report["decision"]["facts"]["data"]["subjects"]
        .as_u64()
        .unwrap();
    assert!(expected > 0);
    assert_eq!(subjects, expected);
    // A second request sees the counts so far in its facts.
    let t2 = request(&kg, &kz, &d, "req-people-2").await;
    assert_eq!(
        t2.decision.unwrap()["facts"]["year_to_date"]["subjects"].as_u64(),
        Some(subjects)
    );
    fed.fed.shutdown();
}

#[test]
fn calendar_year_boundaries() {
    use silkgate_node::pipeline::calendar_year;
    assert_eq!(calendar_year(0), 1970);
    assert_eq!(calendar_year(1_735_689_599), 2024); // 2024-12-31T23:59:59Z
    assert_eq!(calendar_year(1_735_689_600), 2025); // 2025-01-01T00:00:00Z
    assert_eq!(calendar_year(951_782_400), 2000); // 2000-02-29
}
