//! Agreements across nodes: propose, counter, accept, an authority's approval, transfers under
//! the agreement, a denial for each broken term, suspension and termination taking effect on
//! both nodes at once, bad signatures refused with nothing stored, and every step in both
//! nodes' event streams.

use std::time::Duration;

use serde_json::{Value, json};
use silkgate_model::agreement::{Party, TemplateRef};
use silkgate_model::{
    Agreement, AgreementState, ProposedAgreement, Signed, StateCode, Terms, Visibility,
};
use silkgate_node::agreements::{
    AgreementTransferRequest, AgreementView, CounterAgreementRequest, ONWARD_REFUSED,
    ProposeAgreementRequest, templates, usage_report_id,
};
use silkgate_node::api_types::{ColumnView, DecisionRequest, PublishMetadata, TransferView};
use silkgate_node::client::ClientError;
use silkgate_node::local::LocalFederation;
use silkgate_node::tls;
use silkgate_node::wire::AgreementMessageV1;

use crate::harness::{Fed, Org, day, federation, org, people_csv, publish};

const TRADE_COLUMNS: [&str; 6] = [
    "declaration_id",
    "hs_code",
    "origin",
    "destination",
    "value_usd",
    "weight_kg",
];
const PEOPLE_COLUMNS: [&str; 3] = ["ФИО", "Телефон", "Сумма"];

/// The trade template's terms with the test's columns, a validity around today and the cap.
fn terms(cap: u64, not_after_days: i64) -> Value {
    let t = templates()
        .get(&("trade".to_owned(), 1))
        .expect("the trade template is built in");
    let mut v = serde_json::to_value(&t.terms).unwrap();
    let mut cols: Vec<&str> = TRADE_COLUMNS.to_vec();
    cols.extend(PEOPLE_COLUMNS);
    v["columns"] = json!(cols);
    v["categories"] = json!(["non-personal", "personal"]);
    v["max_subjects_per_year"] = json!(cap);
    v["deidentification"] = json!([{ "column": "Телефон", "method": "drop" }]);
    v["marking"]["columns"] = json!([
        { "column": "value_usd", "decimals": 0, "max_change_units": 1 },
        { "column": "weight_kg", "decimals": 0, "max_change_units": 1 },
    ]);
    v["validity"] = json!({ "not_before": day(-1), "not_after": day(not_after_days) });
    v
}

async fn publish_csv(
    org: &Org,
    id: &str,
    columns: &[&str],
    body: Vec<u8>,
) -> silkgate_node::api_types::DatasetView {
    let m = PublishMetadata {
        request_id: format!("pub-{id}"),
        dataset_id: id.into(),
        title: id.into(),
        description: "Synthetic test data".into(),
        sector: "trade".into(),
        format: "csv".into(),
        schema: columns
            .iter()
            .map(|n| ColumnView {
                name: (*n).into(),
                ty: "string".into(),
            })
            .collect(),
        visibility: Visibility::Federation,
    };
    org.client.publish(&m, body.into()).await.unwrap()
}

async fn under(
    consumer: &Org,
    agreement: &str,
    d: &silkgate_node::api_types::DatasetView,
    request_id: &str,
    onward_to: Option<&str>,
) -> Result<TransferView, ClientError> {
    consumer
        .client
        .request_under_agreement(
            agreement,
            &AgreementTransferRequest {
                request_id: request_id.into(),
                dataset_id: d.dataset_id.clone(),
                sha256: d.sha256.clone(),
                onward_to: onward_to.map(str::to_owned),
                recipient_kind: None,
            },
        )
        .await
}

fn api_err(e: ClientError) -> (u16, String, String) {
    match e {
        ClientError::Api {
            status,
            field,
            reason,
        } => (status, field.unwrap_or_default(), reason),
        other => panic!("expected an API error, got {other}"),
    }
}

async fn kinds(org: &Org, id: &str) -> Vec<String> {
    org.client
        .agreement_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn propose(consumer: &Org, provider: &Org, rid: &str, terms: Value) -> AgreementView {
    consumer
        .client
        .propose_agreement(&ProposeAgreementRequest {
            request_id: rid.into(),
            template_id: "trade".into(),
            template_version: 1,
            counterparty: provider.id(),
            role: "consumer".into(),
            terms: Some(terms),
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agreement_lifecycle_transfers_and_denials_across_three_nodes() {
    let fed = federation(&["CN", "KZ", "RU"]).await;
    let cn = org(&fed, "CN", "Exporter").await;
    let kz = org(&fed, "KZ", "Importer").await;

    // A term of the wrong type is refused naming it; nothing is stored on either node.
    let mut bad = terms(100_000, 30);
    bad["max_subjects_per_year"] = json!("many");
    let err = kz
        .client
        .propose_agreement(&ProposeAgreementRequest {
            request_id: "ag-bad".into(),
            template_id: "trade".into(),
            template_version: 1,
            counterparty: cn.id(),
            role: "consumer".into(),
            terms: Some(bad),
        })
        .await
        .unwrap_err();
    let (status, field, reason) = api_err(err);
    assert_eq!(
        (status, field.as_str()),
        (422, "terms.max_subjects_per_year"),
        "{reason}"
    );
    for n in ["CN", "KZ"] {
        let counts = fed
            .fed
            .node(n)
            .running
            .state
            .store()
            .row_counts()
            .await
            .unwrap();
        assert!(counts.contains(&("agreements", 0)), "{n}: {counts:?}");
    }

    // The consumer proposes: the CN pack makes a filed standard contract an obligation at
    // this volume of personal data, so CN's authority must approve.
    let a = propose(&kz, &cn, "ag-1", terms(100_000, 30)).await;
    assert_eq!(a.status, "proposed");
    assert_eq!(a.revision, 1);
    assert_eq!(a.approvals_required, vec!["CN".to_owned()]);
    let id = a.id.clone();
    assert_eq!(cn.client.agreement(&id).await.unwrap().status, "proposed");
    // The proposer cannot accept its own revision.
    let (status, field, _) = api_err(
        kz.client
            .agreement_action(&id, "accept", "acc-0", None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_str()), (409, "proposed_by"));

    // The provider counters: onward transfers only to UZ.
    let mut countered = terms(100_000, 30);
    countered["onward_transfer"] = json!({ "rule": "allowed-to", "states": ["UZ"] });
    let c = cn
        .client
        .counter_agreement(
            &id,
            &CounterAgreementRequest {
                request_id: "ctr-1".into(),
                terms: countered,
            },
        )
        .await
        .unwrap();
    assert_eq!((c.revision, c.proposed_by.as_str()), (2, "provider"));
    let on_kz = kz.client.agreement(&id).await.unwrap();
    assert_eq!(on_kz.revision, 2);
    assert_eq!(on_kz.document_sha256, c.document_sha256);

    // The consumer accepts: signed by both, waiting for the authority.
    let s = kz
        .client
        .agreement_action(&id, "accept", "acc-1", None)
        .await
        .unwrap();
    assert_eq!(s.status, "signed");
    assert_eq!(cn.client.agreement(&id).await.unwrap().status, "signed");
    let (trade, _) = publish(&cn, "trade", "Trade", Visibility::Federation).await;
    let (status, field, reason) =
        api_err(under(&kz, &id, &trade, "t-early", None).await.unwrap_err());
    assert_eq!((status, field.as_str()), (409, "agreement_id"));
    assert!(
        reason.contains("term 'status'") && reason.contains("signed"),
        "{reason}"
    );

    // KZ's authority is not asked; CN's operator approves and the agreement becomes active.
    let kz_op = fed.fed.node("KZ").operator().unwrap();
    let cn_op = fed.fed.node("CN").operator().unwrap();
    let (status, field, _) = api_err(
        kz_op
            .agreement_action(&id, "approval", "ap-kz", Some("standard_contract"))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_str()), (409, "approvals_required"));
    let (status, field, _) = api_err(
        cn_op
            .agreement_action(&id, "approval", "ap-bad", Some("a rubber stamp"))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, field.as_str()), (400, "reason"));
    let act = cn_op
        .agreement_action(&id, "approval", "ap-cn", Some("standard_contract"))
        .await
        .unwrap();
    assert_eq!(act.status, "active");
    assert_eq!(act.approvals[0]["state"], "CN");
    let on_kz = kz.client.agreement(&id).await.unwrap();
    assert_eq!(on_kz.status, "active");
    assert_eq!(
        on_kz.state, act.state,
        "both nodes hold the same signed state"
    );

    // A transfer under the agreement runs with no manual step and records the agreement.
    let t = under(&kz, &id, &trade, "t-1", None).await.unwrap();
    let done = kz
        .client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    let p = cn.client.transfer(&t.id).await.unwrap();
    let dec = p.decision.clone().unwrap();
    assert_eq!(dec["agreement"]["id"], id.as_str(), "{dec}");
    // The copy's provenance names the agreement and the log entry that approved it.
    let held = kz.client.transfer(&t.id).await.unwrap();
    let manifest = &held.manifest.clone().unwrap()["document"];
    assert_eq!(manifest["agreement_id"], id.as_str(), "{manifest}");
    assert!(manifest["approval_log_index"].is_u64(), "{manifest}");
    assert_eq!(
        dec["agreement"]["grounds"],
        json!(["standard_contract"]),
        "{dec}"
    );
    assert_eq!(dec["facts"]["grounds"]["standard_contract"], true, "{dec}");
    let events = cn.client.transfer_events(&t.id).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "transfer.approved" && e.detail["decided_by"] == "agreement"),
        "{events:?}"
    );

    // A column the terms do not permit.
    let mut cols: Vec<&str> = TRADE_COLUMNS.to_vec();
    cols.push("note");
    let (_, trade_csv) = silkgate_node::local::synthetic_trade_csv(20, 7);
    let text = String::from_utf8(trade_csv).unwrap();
    let mut extra = String::new();
    for (i, line) in text.lines().enumerate() {
        extra.push_str(line);
        extra.push_str(if i == 0 { ",note\n" } else { ",n\n" });
    }
    let wide = publish_csv(&cn, "trade-wide", &cols, extra.into_bytes()).await;
    let t = under(&kz, &id, &wide, "t-col", None).await.unwrap();
    assert_eq!(t.status, "denied", "{t:?}");
    let reason = t.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("agreement.columns") && reason.contains("note"),
        "{reason}"
    );

    // An onward transfer to a state the terms do not allow.
    let t = under(&kz, &id, &trade, "t-onward", Some("RU"))
        .await
        .unwrap();
    assert_eq!(t.status, "denied", "{t:?}");
    let reason = t.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("agreement.onward_transfer") && reason.contains("RU"),
        "{reason}"
    );
    assert_eq!(cn.client.transfer(&t.id).await.unwrap().status, "denied");

    // CN's regulator suspends: both nodes hold the suspension at once; the next request fails.
    let sus = cn_op
        .agreement_action(
            &id,
            "suspend",
            "sus-1",
            Some("security incident under review"),
        )
        .await
        .unwrap();
    assert_eq!(sus.status, "suspended");
    assert_eq!(kz.client.agreement(&id).await.unwrap().status, "suspended");
    let (status, _, reason) = api_err(under(&kz, &id, &trade, "t-sus", None).await.unwrap_err());
    assert_eq!(status, 409);
    assert!(
        reason.contains("term 'status'") && reason.contains("suspended"),
        "{reason}"
    );
    // Only an operator lifts it.
    let (status, _, _) = api_err(
        kz.client
            .agreement_action(&id, "resume", "res-org", Some("done"))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    // Nor the other state's authority: a suspension by CN's regulator is CN's to lift.
    let (status, _, reason) = api_err(
        kz_op
            .agreement_action(&id, "resume", "res-kz", Some("not ours"))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403, "{reason}");
    assert_eq!(kz.client.agreement(&id).await.unwrap().status, "suspended");
    cn_op
        .agreement_action(&id, "resume", "res-1", Some("review closed"))
        .await
        .unwrap();
    assert_eq!(cn.client.agreement(&id).await.unwrap().status, "active");
    assert_eq!(kz.client.agreement(&id).await.unwrap().status, "active");
    // The consumer ends it (a party may).
    let end = kz
        .client
        .agreement_action(&id, "terminate", "end-1", Some("project finished"))
        .await
        .unwrap();
    assert_eq!(end.status, "terminated");
    assert_eq!(cn.client.agreement(&id).await.unwrap().status, "terminated");

    // Every step in both nodes' event streams, in the same order; the third node knows nothing.
    let expected = [
        "agreement.proposed",
        "agreement.countered",
        "agreement.signed",
        "agreement.approved",
        "agreement.activated",
        "agreement.suspended",
        "agreement.resumed",
        "agreement.terminated",
    ];
    assert_eq!(kinds(&cn, &id).await, expected);
    assert_eq!(kinds(&kz, &id).await, expected);
    let ru_op = fed.fed.node("RU").operator().unwrap();
    assert!(ru_op.agreement(&id).await.is_err());
    let all = cn_op.events(0, 1000).await.unwrap();
    assert!(all.iter().any(|e| e.subject == id
        && e.kind == "agreement.approved"
        && e.detail["approvals"][0]["basis"] == "standard_contract"));

    // Volume: a second agreement capped at 60 subjects a year; no authority needed.
    let b = propose(&kz, &cn, "ag-2", terms(60, 30)).await;
    assert!(b.approvals_required.is_empty(), "{b:?}");
    let b = kz.client.agreement(&b.id).await.unwrap();
    let acc = cn
        .client
        .agreement_action(&b.id, "accept", "acc-b", None)
        .await;
    let b = acc.unwrap();
    assert_eq!(b.status, "active");
    let people = publish_csv(&cn, "people", &PEOPLE_COLUMNS, people_csv(40, "")).await;
    let t1 = under(&kz, &b.id, &people, "p-1", None).await.unwrap();
    assert_ne!(t1.status, "denied", "{t1:?}");
    if t1.status == "awaiting-decision" {
        // The packs' consent and impact-assessment duties stay with the provider to attest.
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
        cn.client
            .decide(
                &t1.id,
                &DecisionRequest {
                    request_id: "ok-p-1".into(),
                    approve: true,
                    reason: None,
                    grounds: Some(all),
                },
            )
            .await
            .unwrap();
    }
    let done = kz
        .client
        .wait_final(&t1.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    // The provider's node counts the subjects when it records the receipt.
    let on_cn = cn
        .client
        .wait_final(&t1.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(on_cn.status, "delivered");
    // The terms' de-identification plan was applied: the phone column never left CN.
    let mut out = Vec::new();
    kz.client
        .fetch_delivery(&t1.id, &kz.creds.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("ФИО,Сумма\n"), "{text}");
    assert!(!text.contains("+7 701"), "{text}");
    assert_eq!(text.lines().count(), 41);
    let p1 = cn.client.transfer(&t1.id).await.unwrap();
    let met = p1.decision.unwrap()["met"].to_string();
    assert!(met.contains("node.deidentify"), "{met}");
    let t2 = under(&kz, &b.id, &people, "p-2", None).await.unwrap();
    assert_eq!(t2.status, "denied", "{t2:?}");
    let reason = t2.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("agreement.max_subjects_per_year") && reason.contains("cap of 60"),
        "{reason}"
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_untrusted_agreements_are_refused_with_nothing_stored() {
    let fed = federation(&["CN", "KZ", "RU"]).await;
    let cn = org(&fed, "CN", "Exporter").await;
    let kz = org(&fed, "KZ", "Importer").await;
    let kz_node = fed.fed.node("KZ");
    let trust = kz_node.running.state.trust_list().document.clone();
    let url = format!("{}/federation/v1/agreements", kz_node.url);
    let cn_id = fed.fed.node("CN").running.state.identity();
    let as_cn = {
        let config =
            tls::peer_client_config(&trust, &cn_id.tls_cert_pem, &cn_id.tls_key_pem).unwrap();
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .unwrap()
    };
    let t = templates().get(&("trade".to_owned(), 1)).unwrap();
    let terms_v = terms(100, 30);
    let doc = |id: &str, provider_signer: &str, approvals: &[&str]| Agreement {
        id: id.into(),
        template: TemplateRef {
            id: t.id.clone(),
            version: t.version,
        },
        provider: cn.id().parse().unwrap(),
        provider_signer: provider_signer.into(),
        consumer: kz.id().parse().unwrap(),
        consumer_signer: "node-kz".into(),
        terms: Terms::from_value(&terms_v).unwrap(),
        proposed_by: Party::Provider,
        revision: 1,
        approvals_required: approvals
            .iter()
            .map(|s| s.parse::<StateCode>().unwrap())
            .collect(),
    };
    let send = |state: AgreementState, signer_key: &ed25519_dalek::SigningKey| {
        let msg = AgreementMessageV1 {
            agreement_id: state.document().id.clone(),
            state: serde_json::to_value(&state).unwrap(),
            sent_at: 1,
        };
        let now = fed.clock.clock().now_unix();
        let envelope = silkgate_node::wire::EnvelopeV1 {
            message_id: format!("msg-{}", hex::encode(rand::random::<[u8; 16]>())),
            sender: "node-cn".into(),
            recipient: "node-kz".into(),
            issued_at: now,
            expires_at: now + 60,
            body: msg,
        };
        let signed = Signed::sign(envelope, "node-cn", signer_key).unwrap();
        let client = as_cn.clone();
        let url = url.clone();
        async move {
            let resp = client.post(&url).json(&signed).send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or_default();
            (status, body)
        }
    };

    // Signed over different bytes: the terms were changed after signing.
    let mut p = ProposedAgreement::propose(doc("ag-x1", "node-cn", &[]), &cn_id.signing_key)
        .unwrap()
        .signed()
        .clone();
    p.document.terms.purpose = "something else entirely".into();
    let (status, body) = send(AgreementState::Proposed { proposal: p }, &cn_id.signing_key).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "signature", "{body}");

    // Signed by a key id that is not on the trust list.
    let outsider = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let p = ProposedAgreement::propose(doc("ag-x2", "node-xx", &[]), &outsider).unwrap();
    let (status, body) = send(
        AgreementState::Proposed {
            proposal: p.signed().clone(),
        },
        &cn_id.signing_key,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "signer", "{body}");

    // Signed by another node's key under CN's key id.
    let p = ProposedAgreement::propose(doc("ag-x3", "node-cn", &[]), &outsider).unwrap();
    let (status, body) = send(
        AgreementState::Proposed {
            proposal: p.signed().clone(),
        },
        &cn_id.signing_key,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("signature")),
        "{body}"
    );

    // A proposal that leaves out the approval the rule packs require (100 personal subjects do
    // not call for one, so claim one that is not due).
    let p =
        ProposedAgreement::propose(doc("ag-x4", "node-cn", &["CN"]), &cn_id.signing_key).unwrap();
    let (status, body) = send(
        AgreementState::Proposed {
            proposal: p.signed().clone(),
        },
        &cn_id.signing_key,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("approvals_required")),
        "{body}"
    );

    // The message itself signed by a key that is not CN's.
    let p = ProposedAgreement::propose(doc("ag-x5", "node-cn", &[]), &cn_id.signing_key).unwrap();
    let (status, _) = send(
        AgreementState::Proposed {
            proposal: p.signed().clone(),
        },
        &outsider,
    )
    .await;
    assert_eq!(status, 403);

    // Nothing was stored, no event was written.
    let store = kz_node.running.state.store();
    for id in ["ag-x1", "ag-x2", "ag-x3", "ag-x4", "ag-x5"] {
        assert!(store.agreement(id).await.unwrap().is_none(), "{id}");
        assert!(store.events_about(id).await.unwrap().is_empty(), "{id}");
    }

    // The genuine proposal is accepted and stored with its event.
    let (status, body) = send(
        AgreementState::Proposed {
            proposal: p.signed().clone(),
        },
        &cn_id.signing_key,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kinds(&kz, "ag-x5").await, ["agreement.proposed"]);
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_past_its_validity_expires_and_refuses_transfers() {
    let fed = federation(&["CN", "KZ"]).await;
    let cn = org(&fed, "CN", "Exporter").await;
    let kz = org(&fed, "KZ", "Importer").await;
    let (trade, _) = publish(&cn, "trade", "Trade", Visibility::Federation).await;
    // Valid until today only; deliveries kept for one day.
    let mut short = terms(100, 0);
    short["retention_days"] = json!(1);
    let a = propose(&kz, &cn, "ag-short", short).await;
    let a = cn
        .client
        .agreement_action(&a.id, "accept", "acc", None)
        .await
        .unwrap();
    assert_eq!(a.status, "active");
    let kept = under(&kz, &a.id, &trade, "t-kept", None).await.unwrap();
    let done = kz
        .client
        .wait_final(&kept.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    let root = fed.fed.root.clone();
    let states: Vec<StateCode> = fed.fed.nodes.keys().copied().collect();
    let options = fed.options();
    let Fed {
        fed: running,
        clock,
        _dir,
    } = fed;
    running.shutdown();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Two days later, the nodes start again.
    clock.advance_days(2);
    let later = LocalFederation::start(&root, &states, options)
        .await
        .unwrap();
    let kz_client = silkgate_node::client::OrgClient::new(
        &later.node("KZ").url,
        &later.node("KZ").ca_cert_pem,
        &kz.creds.credentials.api_token,
        None,
    )
    .unwrap();
    let cn_client = silkgate_node::client::OrgClient::new(
        &later.node("CN").url,
        &later.node("CN").ca_cert_pem,
        &cn.creds.credentials.api_token,
        None,
    )
    .unwrap();
    let t = kz_client
        .request_under_agreement(
            &a.id,
            &AgreementTransferRequest {
                request_id: "t-late".into(),
                dataset_id: trade.dataset_id.clone(),
                sha256: trade.sha256.clone(),
                onward_to: None,
                recipient_kind: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(t.status, "denied", "{t:?}");
    let reason = t.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("agreement.status") && reason.contains("expired"),
        "{reason}"
    );
    assert_eq!(cn_client.agreement(&a.id).await.unwrap().status, "expired");
    // The consumer's node learns of the expiry too.
    let mut status = String::new();
    for _ in 0..50 {
        status = kz_client.agreement(&a.id).await.unwrap().status;
        if status == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "expired");
    let events: Vec<String> = kz_client
        .agreement_events(&a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        events,
        [
            "agreement.proposed",
            "agreement.signed",
            "agreement.activated",
            "agreement.expired"
        ]
    );

    // The delivery's retention ended: the consumer's node deleted it, logged it and told the
    // provider's node.
    let kind = "transfer.retention-deleted";
    let mut seen = (false, false);
    for _ in 0..100 {
        let on_kz = kz_client.transfer_events(&kept.id).await.unwrap();
        let on_cn = cn_client.transfer_events(&kept.id).await.unwrap();
        seen = (
            on_kz.iter().any(|e| e.kind == kind),
            on_cn
                .iter()
                .any(|e| e.kind == kind && e.detail["agreement_id"] == a.id.as_str()),
        );
        if seen == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, (true, true));
    let mut out = Vec::new();
    let err = kz_client
        .fetch_delivery(&kept.id, &kz.creds.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 404, .. }), "{err}");
    later.shutdown();
    drop(_dir);
}

/// KZ's organisation received CN's data under an agreement that bans onward transfers and
/// offers the copy as its own dataset; RU's organisation may ask for it.
struct Onward {
    kz: Org,
    ru: Org,
    cn: Org,
    agreement: String,
    delivery: String,
    resale: silkgate_node::api_types::DatasetView,
}

async fn onward_setup(fed: &Fed) -> Onward {
    let cn = org(fed, "CN", "Exporter").await;
    let kz = org(fed, "KZ", "Importer").await;
    let ru = org(fed, "RU", "Third party").await;

    // KZ receives CN's data under an agreement that bans onward transfers.
    let a = propose(&kz, &cn, "ag-onward", terms(100_000, 30)).await;
    cn.client
        .agreement_action(&a.id, "accept", "acc-onward", None)
        .await
        .unwrap();
    let act = fed
        .fed
        .node("CN")
        .operator()
        .unwrap()
        .agreement_action(&a.id, "approval", "ap-onward", Some("standard_contract"))
        .await
        .unwrap();
    assert_eq!(act.status, "active");
    let (trade, _) = publish(&cn, "trade", "Trade", Visibility::Federation).await;
    let t = under(&kz, &a.id, &trade, "t-onward", None).await.unwrap();
    let done = kz
        .client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    cn.client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    let mut copy = Vec::new();
    kz.client
        .fetch_delivery(&t.id, &kz.creds.hpke_private_key, &mut copy, |_, _| {})
        .await
        .unwrap();
    let resale = publish_csv(&kz, "resale", &TRADE_COLUMNS, copy).await;
    Onward {
        kz,
        ru,
        cn,
        agreement: a.id,
        delivery: t.id,
        resale,
    }
}

/// RU's organisation asks KZ for the resold copy.
async fn ask_for_resale(o: &Onward, request_id: &str) -> TransferView {
    o.ru.client
        .request_transfer(&silkgate_node::api_types::TransferRequest {
            request_id: request_id.into(),
            provider: o.kz.id(),
            dataset_id: o.resale.dataset_id.clone(),
            sha256: o.resale.sha256.clone(),
            purpose: "resale".into(),
            recipient_kind: None,
        })
        .await
        .unwrap()
}

/// The events of `kind` about `transfer` on the node of `client`, once there is at least one
/// (or after `within`).
async fn events_of(
    client: &silkgate_node::client::OrgClient,
    transfer: &str,
    kind: &str,
    within: Duration,
) -> Vec<silkgate_node::api_types::EventView> {
    let started = std::time::Instant::now();
    loop {
        let found: Vec<_> = client
            .transfer_events(transfer)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect();
        if !found.is_empty() || started.elapsed() > within {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumers_node_refuses_to_pass_data_on_against_the_agreement_and_reports_it() {
    let fed = federation(&["CN", "KZ", "RU"]).await;
    let o = onward_setup(&fed).await;
    let t2 = ask_for_resale(&o, "resale-1").await;
    assert_eq!(t2.status, "denied", "{t2:?}");
    let reason = t2.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("agreement.onward_transfer") && reason.contains(&o.agreement),
        "{reason}"
    );
    // The provider's node learns of the refusal, as an event about its delivery.
    let refused = events_of(
        &o.cn.client,
        &o.delivery,
        "transfer.onward-refused",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].detail["agreement_id"], o.agreement.as_str());
    fed.fed.shutdown();
}

/// A usage report the provider's node cannot receive is kept in the consumer node's outbox
/// (queued with the refusal itself) and retried until the provider's node, back up,
/// acknowledges it; the provider records it exactly once, even when it is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_report_waits_for_the_providers_node_and_arrives_once() {
    let mut fed = federation(&["CN", "KZ", "RU"]).await;
    let o = onward_setup(&fed).await;
    let kz_state = fed.fed.node("KZ").running.state.clone();

    // CN's node goes down; RU asks KZ for the copy and is refused.
    let down = fed.fed.stop("CN");
    let t2 = ask_for_resale(&o, "resale-while-down").await;
    assert_eq!(t2.status, "denied", "{t2:?}");
    let id = usage_report_id(&o.delivery, ONWARD_REFUSED, &t2.id);
    // The report is owed: queued with the denial, tried, not acknowledged.
    let mut owed = None;
    for _ in 0..100 {
        owed = kz_state.store().outbox_message(&id).await.unwrap();
        if owed.as_ref().is_some_and(|m| m.attempts >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let owed = owed.expect("the report is queued with the refusal");
    assert!(owed.attempts >= 1, "{owed:?}");
    assert_eq!(owed.acknowledged_at, None);
    assert_eq!(owed.peer_state, "CN");
    assert!(owed.last_error.is_some(), "{owed:?}");
    assert_eq!(owed.body["duty"], ONWARD_REFUSED);

    // CN's node comes back at the same address; KZ's outbox task delivers the report.
    fed.fed.resume(down, fed.options()).await.unwrap();
    // The next attempt falls due once the backoff has passed on the nodes' clock.
    fed.clock
        .advance_secs(silkgate_node::outbox::MAX_RETRY.as_secs() as i64);
    kz_state.wake_outbox();
    let cn_client = silkgate_node::client::OrgClient::new(
        &fed.fed.node("CN").url,
        &fed.fed.node("CN").ca_cert_pem,
        &o.cn.creds.credentials.api_token,
        None,
    )
    .unwrap();
    let kind = "transfer.onward-refused";
    let got = events_of(&cn_client, &o.delivery, kind, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].detail["report_id"], id.as_str());
    assert_eq!(got[0].detail["agreement_id"], o.agreement.as_str());
    let mut acked = None;
    for _ in 0..50 {
        acked = kz_state.store().outbox_message(&id).await.unwrap();
        if acked.as_ref().is_some_and(|m| m.acknowledged_at.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked = acked.unwrap();
    assert!(acked.acknowledged_at.is_some(), "{acked:?}");

    // Its acknowledgement lost, the same report is sent again: still one event.
    silkgate_node::outbox::send_message(&kz_state, &acked)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after: Vec<_> = cn_client
        .transfer_events(&o.delivery)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect();
    assert_eq!(after.len(), 1, "{after:?}");
    // The same id for another report is refused, naming the field.
    let mut other = acked.clone();
    other.body["at"] = json!(0);
    let err = silkgate_node::outbox::send_message(&kz_state, &other)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, silkgate_node::error::ApiError::Conflict { field, .. } if field == "report_id"),
        "{err:?}"
    );
    fed.fed.shutdown();
}
