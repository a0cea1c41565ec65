//! Marking in the pipeline: a transfer whose decision carries marking terms is delivered with
//! its recipient's fingerprint, the provider keeps the marking record, and the operator's
//! trace API attributes a leaked subset (rows shuffled, columns reordered and dropped) to the
//! right recipient and an unmarked file to nobody.

use std::time::Duration;

use silkgate_mark::{Table, Verdict};
use silkgate_model::{MarkedColumn, MarkingTerms, Visibility};
use silkgate_node::api_types::PublishMetadata;
use silkgate_node::local::synthetic_trade_csv;
use silkgate_node::pipeline::{MARK, TransferDecision};
use silkgate_store::TransferRole;

use crate::harness::{Fed, Org, approve, federation, org, request};

fn terms() -> MarkingTerms {
    MarkingTerms {
        enabled: true,
        columns: vec![
            MarkedColumn {
                column: "value_usd".into(),
                decimals: 0,
                max_change_units: 9,
            },
            MarkedColumn {
                column: "weight_kg".into(),
                decimals: 0,
                max_change_units: 9,
            },
        ],
        select_one_in: 1,
        fingerprint_symbols: 64,
        canary_records: 0,
    }
}

/// Requests the dataset for `consumer`, gives the provider's decision the marking terms (as an
/// agreement's terms do), approves, and returns the decrypted delivered copy.
async fn marked_delivery(
    fed: &Fed,
    provider: &Org,
    consumer: &Org,
    d: &silkgate_node::api_types::DatasetView,
    tag: &str,
) -> (String, Vec<u8>) {
    let t = request(consumer, provider, d, &format!("req-{tag}")).await;
    let store = fed.fed.node("KZ").running.state.store().clone();
    let record = store
        .transfer(&t.id, TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    let mut report = record.report.unwrap();
    let mut decision: TransferDecision =
        serde_json::from_value(report["decision"].clone()).unwrap();
    decision.marking = Some(terms());
    report["decision"] = serde_json::to_value(&decision).unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.set_transfer_report(&t.id, TransferRole::Provider, &report)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    provider
        .client
        .decide(&t.id, &approve(&format!("ok-{tag}")))
        .await
        .unwrap();
    let done = consumer
        .client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{:?}", done.reason);
    let mut out = Vec::new();
    consumer
        .client
        .fetch_delivery(&t.id, &consumer.creds.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap();
    (t.id, out)
}

/// Every tenth row, in reverse order, with the columns reordered and `hs_code` dropped,
/// re-saved as JSON Lines.
fn leaked_subset(copy: &[u8]) -> Vec<u8> {
    let table = Table::from_bytes(copy).unwrap();
    let keep = [
        "weight_kg",
        "destination",
        "declaration_id",
        "value_usd",
        "origin",
    ];
    let idx: Vec<usize> = keep
        .iter()
        .map(|k| table.columns.iter().position(|c| c == k).unwrap())
        .collect();
    let mut out = String::new();
    for row in table.rows.iter().step_by(10).rev() {
        let obj: serde_json::Map<String, serde_json::Value> = keep
            .iter()
            .zip(&idx)
            .map(|(k, &i)| {
                let text = row[i].as_text().unwrap_or_default().to_owned();
                ((*k).to_owned(), serde_json::Value::String(text))
            })
            .collect();
        out.push_str(&serde_json::Value::Object(obj).to_string());
        out.push('\n');
    }
    out.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_copies_trace_to_their_recipient_and_unmarked_to_nobody() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Steppe Customs Data").await;
    let first = org(&fed, "CN", "Harbour Analytics").await;
    let second = org(&fed, "CN", "Silk Road Insights").await;
    let (schema, payload) = synthetic_trade_csv(2_000, 11);
    let d = kz
        .client
        .publish(
            &PublishMetadata {
                request_id: "pub-marked".into(),
                dataset_id: "declarations".into(),
                title: "Declarations".into(),
                description: "Synthetic customs declarations".into(),
                sector: "trade".into(),
                format: "csv".into(),
                schema,
                visibility: Visibility::Federation,
            },
            payload.clone().into(),
        )
        .await
        .unwrap();

    let (first_id, first_copy) = marked_delivery(&fed, &kz, &first, &d, "a").await;
    let (_, second_copy) = marked_delivery(&fed, &kz, &second, &d, "b").await;
    // Each copy differs from the original and from the other, in the allowed columns only.
    assert_ne!(first_copy, payload);
    assert_ne!(first_copy, second_copy);
    let (orig, marked) = (
        Table::from_bytes(&payload).unwrap(),
        Table::from_bytes(&first_copy).unwrap(),
    );
    assert_eq!(orig.rows.len(), marked.rows.len());
    for (a, b) in orig.rows.iter().zip(&marked.rows) {
        for (i, col) in orig.columns.iter().enumerate() {
            if col != "value_usd" && col != "weight_kg" {
                assert_eq!(a[i], b[i], "column {col} was touched");
            }
        }
    }

    // The provider recorded the marking and met the obligation.
    let kz_state = &fed.fed.node("KZ").running.state;
    let record = kz_state
        .store()
        .transfer(&first_id, TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    let report = record.report.unwrap();
    assert_eq!(report["marking"]["params"]["select_one_in"], 1, "{report}");
    assert!(
        report["decision"]["met"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == MARK)
    );

    let operator = fed.fed.node("KZ").operator().unwrap();
    let traced = operator.trace(leaked_subset(&first_copy)).await.unwrap();
    match &traced.verdict {
        Verdict::Match { recipient, .. } => assert_eq!(recipient, &first.id()),
        other => panic!("expected a match for the first recipient, got {other:?}"),
    }
    let traced = operator.trace(leaked_subset(&second_copy)).await.unwrap();
    match &traced.verdict {
        Verdict::Match { recipient, .. } => assert_eq!(recipient, &second.id()),
        other => panic!("expected a match for the second recipient, got {other:?}"),
    }
    let unmarked = operator.trace(leaked_subset(&payload)).await.unwrap();
    assert_eq!(unmarked.verdict, Verdict::NoMatch);

    // Only the operator traces.
    let err = kz
        .client
        .trace(leaked_subset(&first_copy))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    fed.fed.shutdown();
}
