//! Crash safety: the provider's node process is killed (SIGKILL) while it streams a delivery;
//! after a restart the transfer completes, exactly once.

use std::time::{Duration, Instant};

use silkgate_model::Visibility;
use silkgate_node::api_types::{DecisionRequest, PublishMetadata, TransferRequest};

use crate::procs::{init_federation, operator, provider_id, register, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_provider_during_delivery_then_restarting_delivers_exactly_once() {
    let root = tempfile::tempdir().unwrap();
    let dirs = init_federation(root.path(), &["KZ", "CN"]);
    let (kz_dir, cn_dir) = (dirs[0].clone(), dirs[1].clone());

    // The provider's node sends slowly (300 ms per 1 MiB piece) so the kill lands mid-stream.
    let kz_proc = start(&kz_dir, &["--delivery-delay-ms", "300"]);
    let _cn_proc = start(&cn_dir, &[]);
    let (kz_op, cn_op) = (operator(&kz_dir).await, operator(&cn_dir).await);
    let (kz, _) = register(&kz_op, "provider").await;
    let (cn, cn_file) = register(&cn_op, "consumer").await;

    let (schema, payload) = silkgate_node::local::synthetic_trade_csv(60_000, 7);
    assert!(
        payload.len() > 2_000_000,
        "payload large enough to take a while: {}",
        payload.len()
    );
    let d = kz
        .publish(
            &PublishMetadata {
                request_id: "pub-1".into(),
                dataset_id: "crash-data".into(),
                title: "Crash data".into(),
                description: String::new(),
                sector: "trade".into(),
                format: "csv".into(),
                schema,
                visibility: Visibility::Federation,
            },
            payload.clone().into(),
        )
        .await
        .unwrap();
    let t = cn
        .request_transfer(&TransferRequest {
            request_id: "req-1".into(),
            provider: provider_id(&kz, "Crash").await,
            dataset_id: d.dataset_id.clone(),
            sha256: d.sha256.clone(),
            purpose: "crash test".into(),
            recipient_kind: None,
        })
        .await
        .unwrap();
    kz.decide(
        &t.id,
        &DecisionRequest {
            request_id: "ok-1".into(),
            approve: true,
            reason: None,
            grounds: None,
        },
    )
    .await
    .unwrap();

    // Records stream to the consumer as they are sealed: wait until the consumer's node is
    // receiving (its staging area holds the partial upload), then SIGKILL the provider.
    let staging_dir = cn_dir.join("data/blobs/staging");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(&staging_dir)
        .map(|d| d.count())
        .unwrap_or(0)
        == 0
    {
        assert!(Instant::now() < deadline, "delivery never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    kz_proc.kill();
    // The consumer does not hold a delivery from the broken stream.
    assert_eq!(
        cn.transfer(&t.id).await.unwrap().status,
        "awaiting-decision"
    );

    // Restart without the slowdown: the worker resumes the approved transfer.
    let _kz_proc = start(&kz_dir, &[]);
    operator(&kz_dir).await;
    let done = cn.wait_final(&t.id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(done.status, "delivered");
    let provider_view = kz.wait_final(&t.id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(provider_view.status, "delivered");
    assert!(provider_view.receipt.is_some());

    let mut out = Vec::new();
    cn.fetch_delivery(&t.id, &cn_file.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap();
    assert_eq!(out, payload, "decrypted delivery differs");

    // Exactly once on both sides: one seal, one receipt, one delivery received.
    let count = |events: &[silkgate_node::api_types::EventView], kind: &str| {
        events.iter().filter(|e| e.kind == kind).count()
    };
    let kz_events = kz.transfer_events(&t.id).await.unwrap();
    let cn_events = cn.transfer_events(&t.id).await.unwrap();
    assert_eq!(count(&kz_events, "transfer.decided"), 1);
    assert_eq!(count(&kz_events, "transfer.sealed"), 1);
    assert_eq!(count(&kz_events, "transfer.receipted"), 1);
    assert_eq!(count(&cn_events, "transfer.delivery-received"), 1);
    // Nothing acknowledged before the crash was lost: the publication and decision survive.
    let all = kz_op.events(0, 1000).await.unwrap();
    assert_eq!(
        all.iter().filter(|e| e.kind == "dataset.published").count(),
        1
    );
    assert!(
        all.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "event sequence has a gap"
    );
    let staging = std::fs::read_dir(cn_dir.join("data/blobs/staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        staging, 0,
        "a partial delivery was left on the consumer's node"
    );
    let deliveries = std::fs::read_dir(cn_dir.join("data/blobs/deliveries"))
        .unwrap()
        .count();
    assert_eq!(deliveries, 1);
}
