//! Federation messages are bound to their route and time: a captured message replayed, one
//! addressed to another node, an expired one, one relayed with an organisation's certificate,
//! and a suspension lifted by the node that did not make it are each refused, and nothing
//! changes on either node.

use serde_json::Value;
use silkgate_model::{AgreementState, StateCode, TrustedNode};
use silkgate_node::NodeState;
use silkgate_node::error::ApiError;
use silkgate_node::federation::{post_sealed, seal_for};
use silkgate_node::wire::AgreementMessageV1;

use crate::harness::{Fed, Org, active_agreement, federation, org};

fn peer(state: &NodeState, code: &str) -> TrustedNode {
    state
        .trust_list()
        .document
        .node_for_state(StateCode::new(code).unwrap())
        .cloned()
        .unwrap()
}

/// A CN provider and a KZ consumer with an active agreement; its id.
async fn setup(fed: &Fed) -> (Org, Org, String) {
    let cn = org(fed, "CN", "Exporter").await;
    let kz = org(fed, "KZ", "Importer").await;
    let id = active_agreement(&kz, &cn, "replay-ag").await;
    (cn, kz, id)
}

/// The agreement message `from` would send of the state it holds.
async fn message_of(from: &NodeState, id: &str) -> AgreementMessageV1 {
    let rec = from.store().agreement(id).await.unwrap().unwrap();
    AgreementMessageV1 {
        agreement_id: id.to_owned(),
        state: serde_json::to_value(&rec.state).unwrap(),
        sent_at: from.clock().now_unix(),
    }
}

fn refused_on(err: &ApiError) -> String {
    match err {
        ApiError::Conflict { field, .. } => field.clone(),
        ApiError::NotFound(_) => "not found".into(),
        other => other.to_string(),
    }
}

async fn events(state: &NodeState) -> usize {
    state.store().events(0, 10_000).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_misaddressed_expired_and_relayed_messages_are_refused() {
    let fed = federation(&["CN", "KZ", "RU"]).await;
    let (_cn, kz, id) = setup(&fed).await;
    let cn_state = fed.fed.node("CN").running.state.clone();
    let kz_state = fed.fed.node("KZ").running.state.clone();
    let ru_state = fed.fed.node("RU").running.state.clone();
    let path = silkgate_node::outbox::AGREEMENTS_PATH;

    // A message CN's node sent KZ's while the agreement was active, captured on the way.
    let captured = seal_for(
        &cn_state,
        &peer(&cn_state, "KZ"),
        message_of(&cn_state, &id).await,
    )
    .unwrap();
    post_sealed::<_, Value>(&cn_state, &peer(&cn_state, "KZ"), path, &captured)
        .await
        .expect("the first delivery is accepted");

    // The agreement is suspended by CN's authority; KZ holds the suspension.
    let a = fed
        .fed
        .node("CN")
        .operator()
        .unwrap()
        .agreement_action(&id, "suspend", "replay-sus", Some("inspection"))
        .await
        .unwrap();
    assert_eq!(a.status, "suspended");
    let held = kz_state.store().agreement(&id).await.unwrap().unwrap();
    assert!(matches!(held.state, AgreementState::Suspended { .. }));
    let before = (events(&kz_state).await, events(&ru_state).await);

    // 1. The captured "active" message replayed would lift the suspension: refused.
    let err = post_sealed::<_, Value>(&cn_state, &peer(&cn_state, "KZ"), path, &captured)
        .await
        .unwrap_err();
    assert_eq!(refused_on(&err), "message_id", "{err}");

    // 2. A message for KZ's node sent to RU's: refused, naming the recipient.
    let for_kz = seal_for(
        &cn_state,
        &peer(&cn_state, "KZ"),
        message_of(&cn_state, &id).await,
    )
    .unwrap();
    let err = post_sealed::<_, Value>(&cn_state, &peer(&cn_state, "RU"), path, &for_kz)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("recipient"), "{err}");

    // 3. An expired message: refused, naming its expiry.
    let old = seal_for(
        &cn_state,
        &peer(&cn_state, "KZ"),
        message_of(&cn_state, &id).await,
    )
    .unwrap();
    fed.clock
        .advance_secs(silkgate_node::wire::MESSAGE_TTL_SECS + 1);
    let err = post_sealed::<_, Value>(&cn_state, &peer(&cn_state, "KZ"), path, &old)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expires_at"), "{err}");

    // 4. A node's message relayed with an organisation's certificate (issued by the same
    //    national CA): refused at the certificate, before the message is read.
    let fresh = seal_for(
        &kz_state,
        &peer(&kz_state, "CN"),
        message_of(&kz_state, &id).await,
    )
    .unwrap();
    let creds = &kz.creds.credentials;
    let org_tls = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(
            reqwest::Certificate::from_pem(fed.fed.node("CN").ca_cert_pem.as_bytes()).unwrap(),
        )
        .identity(
            reqwest::Identity::from_pem(
                format!("{}\n{}", creds.client_cert_pem, creds.client_key_pem).as_bytes(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let resp = org_tls
        .post(format!("{}{path}", fed.fed.node("CN").url))
        .json(&fresh)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or_default();
    assert_eq!(status, 403, "{body}");
    assert!(
        body.to_string().contains("not the certificate of node"),
        "{body}"
    );

    // Nothing changed on either node.
    let held = kz_state.store().agreement(&id).await.unwrap().unwrap();
    assert!(matches!(held.state, AgreementState::Suspended { .. }));
    assert_eq!((events(&kz_state).await, events(&ru_state).await), before);
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_is_lifted_only_by_the_node_that_made_it() {
    let fed = federation(&["CN", "KZ"]).await;
    let (_cn, _kz, id) = setup(&fed).await;
    let cn_state = fed.fed.node("CN").running.state.clone();
    let kz_state = fed.fed.node("KZ").running.state.clone();

    // CN's authority suspends.
    fed.fed
        .node("CN")
        .operator()
        .unwrap()
        .agreement_action(&id, "suspend", "lift-sus", Some("inspection"))
        .await
        .unwrap();
    let suspended = cn_state.store().agreement(&id).await.unwrap().unwrap();
    let AgreementState::Suspended { agreement } = suspended.state.clone() else {
        panic!("suspended on CN: {:?}", suspended.status);
    };
    // KZ's node makes up a resumption and sends it: CN refuses, its suspension stands.
    let resumed = AgreementState::Active {
        agreement: agreement.resume(fed.clock.clock().today()).unwrap(),
    };
    let before = events(&cn_state).await;
    let msg = AgreementMessageV1 {
        agreement_id: id.clone(),
        state: serde_json::to_value(&resumed).unwrap(),
        sent_at: kz_state.clock().now_unix(),
    };
    let sealed = seal_for(&kz_state, &peer(&kz_state, "CN"), msg).unwrap();
    let err = post_sealed::<_, Value>(
        &kz_state,
        &peer(&kz_state, "CN"),
        silkgate_node::outbox::AGREEMENTS_PATH,
        &sealed,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("only its node lifts it"), "{err}");
    let held = cn_state.store().agreement(&id).await.unwrap().unwrap();
    assert!(matches!(held.state, AgreementState::Suspended { .. }));
    assert_eq!(events(&cn_state).await, before);

    // CN's authority lifts it: KZ follows.
    fed.fed
        .node("CN")
        .operator()
        .unwrap()
        .agreement_action(&id, "resume", "lift-res", Some("inspection done"))
        .await
        .unwrap();
    let held = kz_state.store().agreement(&id).await.unwrap().unwrap();
    assert!(
        matches!(held.state, AgreementState::Active { .. }),
        "{:?}",
        held.status
    );
    fed.fed.shutdown();
}
