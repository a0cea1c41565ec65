//! Every message a node owes a peer goes through the outbox: queued with the change it
//! reports, kept while the peer is down, sent when it is back, recorded there once. One test
//! per kind (the usage report's is in `agreements`): an agreement's suspension and
//! termination, and a provider's denial.

use std::time::Duration;

use silkgate_model::Visibility;
use silkgate_node::NodeState;
use silkgate_node::api_types::DecisionRequest;
use silkgate_store::OutboxMessage;

use crate::harness::{Fed, Org, active_agreement, federation, org, publish, request};

/// The messages `state` still owes, after its outbox task has tried each at least once.
async fn owed_after_a_try(state: &NodeState, path_part: &str) -> Vec<OutboxMessage> {
    for _ in 0..200 {
        let owed: Vec<OutboxMessage> = state
            .store()
            .outbox_due(i64::MAX, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.path.contains(path_part))
            .collect();
        if !owed.is_empty() && owed.iter().all(|m| m.attempts >= 1) {
            return owed;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing owed on {path_part} was tried");
}

/// Brings `state`'s outbox to its next attempt: the backoff passes on the nodes' clock.
fn retry_now(fed: &Fed, state: &NodeState) {
    fed.clock
        .advance_secs(silkgate_node::outbox::MAX_RETRY.as_secs() as i64);
    state.wake_outbox();
}

/// Polls `check` until it holds (the outbox task runs on its own), at most ten seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen");
}

async fn count_events(org: &Org, agreement: &str, kind: &str) -> usize {
    org.client
        .agreement_events(agreement)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_and_a_termination_reach_the_other_party_once_its_node_is_back() {
    let mut fed = federation(&["CN", "KZ"]).await;
    let cn = org(&fed, "CN", "Exporter").await;
    let kz = org(&fed, "KZ", "Importer").await;
    let id = active_agreement(&kz, &cn, "owed-ag").await;
    let cn_state = fed.fed.node("CN").running.state.clone();
    let operator = fed.fed.node("CN").operator().unwrap();

    // KZ's node is down while CN's authority suspends: CN holds it at once, KZ is owed it.
    let down = fed.fed.stop("KZ");
    let a = operator
        .agreement_action(&id, "suspend", "owed-sus", Some("inspection"))
        .await
        .unwrap();
    assert_eq!(a.status, "suspended");
    let owed = owed_after_a_try(&cn_state, "/agreements").await;
    assert_eq!(owed.len(), 1, "{owed:?}");
    assert_eq!(owed[0].peer_state, "KZ");
    assert!(owed[0].last_error.is_some(), "{owed:?}");

    // Back up: the suspension arrives without anyone asking again.
    fed.fed.resume(down, fed.options()).await.unwrap();
    retry_now(&fed, &cn_state);
    eventually("KZ's copy suspended", || async {
        kz.client.agreement(&id).await.unwrap().status == "suspended"
    })
    .await;
    assert_eq!(count_events(&kz, &id, "agreement.suspended").await, 1);
    eventually("CN's outbox marks it acknowledged", || async {
        let m = cn_state.store().outbox_message(&owed[0].id).await.unwrap();
        m.is_some_and(|m| m.acknowledged_at.is_some())
    })
    .await;
    let sent = cn_state
        .store()
        .outbox_message(&owed[0].id)
        .await
        .unwrap()
        .unwrap();

    // Delivered again (its acknowledgement lost): KZ records it once.
    silkgate_node::outbox::send_message(&cn_state, &sent)
        .await
        .unwrap();
    assert_eq!(count_events(&kz, &id, "agreement.suspended").await, 1);

    // The same for a termination by a party while the other node is down.
    let down = fed.fed.stop("KZ");
    let a = cn
        .client
        .agreement_action(&id, "terminate", "owed-term", Some("contract ended"))
        .await
        .unwrap();
    assert_eq!(a.status, "terminated");
    owed_after_a_try(&cn_state, "/agreements").await;
    fed.fed.resume(down, fed.options()).await.unwrap();
    retry_now(&fed, &cn_state);
    eventually("KZ's copy terminated", || async {
        kz.client.agreement(&id).await.unwrap().status == "terminated"
    })
    .await;
    assert_eq!(count_events(&kz, &id, "agreement.terminated").await, 1);
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_denial_reaches_the_consumer_once_its_node_is_back() {
    let mut fed = federation(&["CN", "KZ"]).await;
    let cn = org(&fed, "CN", "Exporter").await;
    let kz = org(&fed, "KZ", "Importer").await;
    let (d, _) = publish(&cn, "trade", "Trade", Visibility::Federation).await;
    let t = request(&kz, &cn, &d, "owed-t1").await;
    assert_eq!(t.status, "awaiting-decision", "{t:?}");
    let cn_state = fed.fed.node("CN").running.state.clone();

    let down = fed.fed.stop("KZ");
    let refused = cn
        .client
        .decide(
            &t.id,
            &DecisionRequest {
                request_id: "owed-deny".into(),
                approve: false,
                reason: Some("not for this purpose".into()),
                grounds: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(refused.status, "denied");
    let owed = owed_after_a_try(&cn_state, "/denied").await;
    assert_eq!(owed.len(), 1, "{owed:?}");

    fed.fed.resume(down, fed.options()).await.unwrap();
    retry_now(&fed, &cn_state);
    eventually("KZ's transfer denied", || async {
        kz.client.transfer(&t.id).await.unwrap().status == "denied"
    })
    .await;
    let seen = kz.client.transfer(&t.id).await.unwrap();
    assert_eq!(seen.reason.as_deref(), Some("not for this purpose"));
    let denials = |events: Vec<silkgate_node::api_types::EventView>| {
        events
            .into_iter()
            .filter(|e| e.kind == "transfer.denied")
            .count()
    };
    assert_eq!(denials(kz.client.transfer_events(&t.id).await.unwrap()), 1);
    let sent = cn_state
        .store()
        .outbox_message(&owed[0].id)
        .await
        .unwrap()
        .unwrap();
    silkgate_node::outbox::send_message(&cn_state, &sent)
        .await
        .unwrap();
    assert_eq!(denials(kz.client.transfer_events(&t.id).await.unwrap()), 1);
    fed.fed.shutdown();
}
