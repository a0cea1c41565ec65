//! Three states end to end: register, publish, federated search with pagination, request,
//! approve, deliver, decrypt, receipt; both nodes' event histories.

use std::time::Duration;

use silkgate_model::{DeliveryReceipt, Signed, Visibility};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_states_publish_search_request_approve_deliver_decrypt_receipt() {
    let fed = federation(&["KZ", "CN", "RU"]).await;
    let kz = org(&fed, "KZ", "Steppe Grain Exporters").await;
    let cn = org(&fed, "CN", "Silk Road Logistics").await;
    let ru = org(&fed, "RU", "Volga Customs Analytics").await;

    // KZ publishes three datasets: two for the federation, one for CN only; RU publishes one
    // national dataset nobody abroad may see.
    let (grain, grain_bytes) = publish(
        &kz,
        "grain-exports-2025",
        "Grain exports 2025",
        Visibility::Federation,
    )
    .await;
    publish(
        &kz,
        "rail-freight-2025",
        "Rail freight 2025",
        Visibility::Federation,
    )
    .await;
    publish(
        &kz,
        "cn-only-tariffs",
        "Tariff lines for CN",
        Visibility::States {
            states: vec!["CN".parse().unwrap()],
        },
    )
    .await;
    publish(
        &ru,
        "ru-internal",
        "Internal statistics",
        Visibility::National,
    )
    .await;
    assert_eq!(grain.state, "KZ");
    assert_eq!(grain.size, grain_bytes.len() as u64);

    // CN pages through the federated catalogue, two entries at a time.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![("limit", "2".to_owned())];
        if let Some(t) = &token {
            q.push(("page_token", t.clone()));
        }
        let page = cn.client.catalogue(&q).await.unwrap();
        assert!(page.unreachable.is_empty(), "{:?}", page.unreachable);
        assert!(page.items.len() <= 2);
        pages += 1;
        seen.extend(
            page.items
                .iter()
                .map(|d| format!("{}:{}", d.state, d.dataset_id)),
        );
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![
            "KZ:cn-only-tariffs",
            "KZ:grain-exports-2025",
            "KZ:rail-freight-2025"
        ]
    );
    assert_eq!(pages, 2);
    // RU sees KZ's federation entries but not the CN-only one; filters apply on the server.
    let page = ru
        .client
        .catalogue(&[("state", "KZ".into()), ("q", "GRAIN".into())])
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].dataset_id, "grain-exports-2025");
    let page = ru
        .client
        .catalogue(&[("state", "KZ".into())])
        .await
        .unwrap();
    assert!(page.items.iter().all(|d| d.dataset_id != "cn-only-tariffs"));
    let page = kz
        .client
        .catalogue(&[("sector", "finance".into())])
        .await
        .unwrap();
    assert!(page.items.is_empty());

    // CN requests grain; KZ's provider sees it awaiting decision with the review report.
    let t = request(&cn, &kz, &grain, "req-grain-1").await;
    assert_eq!(t.status, "awaiting-decision");
    let incoming = kz.client.transfers("provider").await.unwrap();
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].id, t.id);
    let report = incoming[0].report.clone().unwrap();
    assert_eq!(report["review"]["sha256"], grain.sha256);
    assert_eq!(report["review"]["size"], grain.size);

    // A repeated request id returns the first answer, and creates nothing new.
    let again = request(&cn, &kz, &grain, "req-grain-1").await;
    assert_eq!(again.id, t.id);
    assert_eq!(kz.client.transfers("provider").await.unwrap().len(), 1);

    kz.client.decide(&t.id, &approve("decide-1")).await.unwrap();
    let done = cn
        .client
        .wait_final(&t.id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered");

    // CN fetches, verifies and decrypts.
    let mut out = Vec::new();
    let got = cn
        .client
        .fetch_delivery(&t.id, &cn.creds.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap();
    assert_eq!(out, grain_bytes);
    assert_eq!(got.manifest.dataset_sha256, grain.sha256);
    assert_eq!(got.manifest.provider_node, "node-kz");

    // KZ holds CN's signed receipt, which verifies under CN's key from the trust list.
    let kz_view = kz
        .client
        .wait_final(&t.id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(kz_view.status, "delivered");
    let receipt: Signed<DeliveryReceipt> =
        serde_json::from_value(kz_view.receipt.unwrap()).unwrap();
    let trust = kz.client.trust_list().await.unwrap();
    let cn_key =
        silkgate_node::parse_verifying_key(&trust.document.node("node-cn").unwrap().signing_key)
            .unwrap();
    assert_eq!(receipt.verify(&cn_key).unwrap().transfer_id, t.id);

    // Both nodes' histories.
    let kinds = |events: Vec<silkgate_node::api_types::EventView>| {
        events.into_iter().map(|e| e.kind).collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(kz.client.transfer_events(&t.id).await.unwrap()),
        [
            "transfer.received",
            "transfer.reviewed",
            // By the rule packs at request time, then the provider's approval.
            "transfer.decided",
            "transfer.approved",
            "transfer.sealed",
            "transfer.receipted"
        ]
    );
    assert_eq!(
        kinds(cn.client.transfer_events(&t.id).await.unwrap()),
        ["transfer.requested", "transfer.delivery-received"]
    );
    // The operator's stream has every event in order without gaps.
    let all = fed
        .fed
        .node("KZ")
        .operator()
        .unwrap()
        .events(0, 1000)
        .await
        .unwrap();
    assert!(all.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert!(all.iter().any(|e| e.kind == "dataset.published"));
    assert!(all.iter().any(|e| e.kind == "organisation.registered"));

    // Metrics count the delivery by state pair.
    let metrics = fed.fed.node("KZ").running.state.metrics().render();
    assert!(
        metrics.contains(r#"silkgate_transfers_total{pair="KZ->CN",outcome="delivered"} 1"#),
        "{metrics}"
    );

    // A denial travels back to the consumer's node.
    let t2 = request(&ru, &kz, &grain, "req-grain-ru").await;
    kz.client
        .decide(
            &t2.id,
            &silkgate_node::api_types::DecisionRequest {
                request_id: "deny-1".into(),
                approve: false,
                reason: Some("no agreement in force".into()),
                grounds: None,
            },
        )
        .await
        .unwrap();
    let denied = ru
        .client
        .wait_final(&t2.id, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(denied.status, "denied");
    assert_eq!(denied.reason.as_deref(), Some("no agreement in force"));
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_openapi_are_served() {
    let fed = federation(&["UZ"]).await;
    let node = fed.fed.node("UZ");
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(
            silkgate_node::tls::org_client_config(&node.ca_cert_pem, None).unwrap(),
        )
        .build()
        .unwrap();
    let health: serde_json::Value = http
        .get(format!("{}/healthz", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["state"], "UZ");
    let doc: serde_json::Value = http
        .get(format!("{}/openapi.json", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/v1/datasets",
        "/api/v1/catalogue",
        "/api/v1/transfers/{id}/decision",
        "/api/v1/transfers/{id}/payload",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("TransferView").is_some());
    // Unauthenticated API calls are refused.
    let resp = http
        .get(format!("{}/api/v1/transfers?role=consumer", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let text = http
        .get(format!("{}/metrics", node.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("# TYPE silkgate_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains(r#"silkgate_http_requests_total{class="api",status="4xx"} 1"#),
        "{text}"
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_list_versions_only_move_forward_and_need_the_committee_signature() {
    let fed = federation(&["KG", "TJ"]).await;
    let node = fed.fed.node("KG");
    let op = node.operator().unwrap();
    let current = op.trust_list().await.unwrap();
    assert_eq!(current.document.version, 1);
    let committee_hex = std::fs::read_to_string(fed.fed.root.join("committee.key")).unwrap();
    let committee = ed25519_dalek::SigningKey::from_bytes(
        &hex::decode(committee_hex.trim())
            .unwrap()
            .try_into()
            .unwrap(),
    );

    // Signed by someone else: refused.
    let mut next = current.document.clone();
    next.version = 2;
    let forger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let forged = silkgate_node::identity::sign_trust_list(next.clone(), &forger).unwrap();
    assert!(op.put_trust_list(&forged).await.is_err());
    // Version 2 by the committee, dropping TJ: accepted; TJ's node is then refused at TLS.
    next.nodes.retain(|n| n.state.as_str() != "TJ");
    let v2 = silkgate_node::identity::sign_trust_list(next.clone(), &committee).unwrap();
    op.put_trust_list(&v2).await.unwrap();
    assert_eq!(op.trust_list().await.unwrap().document.version, 2);
    let tj = fed.fed.node("TJ").running.state.identity();
    let config = silkgate_node::tls::peer_client_config(
        &current.document,
        &tj.tls_cert_pem,
        &tj.tls_key_pem,
    )
    .unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    assert!(
        http.get(format!("{}/healthz", node.url))
            .send()
            .await
            .is_err(),
        "a peer dropped from the list still connects"
    );
    // Going back to version 1 is refused, naming the field.
    let err = op.put_trust_list(&current).await.unwrap_err();
    match err {
        silkgate_node::client::ClientError::Api {
            status,
            field,
            reason,
        } => {
            assert_eq!((status, field.as_deref()), (409, Some("trust_list")));
            assert!(reason.contains("older"), "{reason}");
        }
        e => panic!("{e}"),
    }
    let events = op.events(0, 1000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "trust-list.accepted")
            .count(),
        2
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publications_and_requests_all_complete() {
    let fed = federation(&["PK", "IN"]).await;
    let pk = std::sync::Arc::new(org(&fed, "PK", "Indus Patent Services").await);
    let ind = std::sync::Arc::new(org(&fed, "IN", "Deccan Payments Bureau").await);
    // More concurrent writers than the store's connection pool holds.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let pk = pk.clone();
        tasks.push(tokio::spawn(async move {
            publish(
                &pk,
                &format!("concurrent-{i:02}"),
                &format!("Concurrent {i}"),
                Visibility::Federation,
            )
            .await
            .0
        }));
    }
    let mut views = Vec::new();
    for t in tasks {
        views.push(t.await.unwrap());
    }
    let mut tasks = Vec::new();
    for (i, d) in views.into_iter().enumerate() {
        let (pk, ind) = (pk.clone(), ind.clone());
        tasks.push(tokio::spawn(async move {
            let t = request(&ind, &pk, &d, &format!("c-{i}")).await;
            pk.client
                .decide(&t.id, &approve(&format!("ok-{i}")))
                .await
                .unwrap();
            // The consumer holds the delivery before the provider records its receipt.
            let consumer = ind
                .client
                .wait_final(&t.id, Duration::from_secs(30))
                .await
                .unwrap()
                .status;
            let provider = pk
                .client
                .wait_final(&t.id, Duration::from_secs(30))
                .await
                .unwrap()
                .status;
            assert_eq!(consumer, provider);
            consumer
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), "delivered");
    }
    let events = fed
        .fed
        .node("PK")
        .operator()
        .unwrap()
        .events(0, 1000)
        .await
        .unwrap();
    assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "transfer.receipted")
            .count(),
        12
    );
    fed.fed.shutdown();
}
