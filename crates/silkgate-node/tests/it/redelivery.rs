//! Deliveries resumed after the manifest was committed: the provider's node keeps no copy of
//! the ciphertext, so it sends the committed manifest alone; the consumer's node answers with
//! the receipt it signed if it holds that delivery, and otherwise the payload is sealed again.
//! Either way the consumer holds exactly one copy, and it decrypts.

use std::time::Duration;

use silkgate_model::{TransferStatus, Visibility};
use silkgate_node::api_types::EventView;
use silkgate_node::payload_crypto;
use silkgate_node::pipeline::{self, EncryptedPayload, PreparedPayload, Provenance};
use silkgate_store::TransferRole;

use crate::harness::*;

fn count(events: &[EventView], kind: &str) -> usize {
    events.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_delivery_gets_its_first_receipt_or_is_sealed_again() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Provider").await;
    let cn = org(&fed, "CN", "Consumer").await;
    let (d, payload) = publish(&kz, "resume-me", "Resumed", Visibility::Federation).await;
    let kz_state = &fed.fed.node("KZ").running.state;
    let cn_state = &fed.fed.node("CN").running.state;
    let wait = Duration::from_secs(30);

    // 1. Delivered, then the provider's node "forgets" the receipt: its record goes back to
    // approved with the manifest committed, as after a crash between the consumer's answer
    // and the provider's commit.
    let t = request(&cn, &kz, &d, "resume-1").await;
    kz.client
        .decide(&t.id, &approve("resume-1-ok"))
        .await
        .unwrap();
    assert_eq!(
        cn.client.wait_final(&t.id, wait).await.unwrap().status,
        "delivered"
    );
    assert_eq!(
        kz.client.wait_final(&t.id, wait).await.unwrap().status,
        "delivered"
    );
    // The provider kept no ciphertext, nor any other copy, once it was sent.
    let outbox = kz_state.store().blobs().list("outbox").await.unwrap();
    assert!(outbox.is_empty(), "provider kept {outbox:?}");
    let first = kz_state
        .store()
        .transfer(&t.id, TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    assert!(first.cipher_blob.is_none());
    let first_manifest = first.manifest.clone().expect("manifest committed");
    let mut tx = kz_state.store().begin().await.unwrap();
    assert!(
        tx.set_transfer_status(
            &t.id,
            TransferRole::Provider,
            TransferStatus::Delivered,
            TransferStatus::Approved,
            None,
        )
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();
    // The worker resumes it: the manifest alone goes out and the first receipt comes back.
    let view = kz.client.wait_final(&t.id, wait).await.unwrap();
    assert_eq!(view.status, "delivered");
    let kz_events = kz.client.transfer_events(&t.id).await.unwrap();
    assert_eq!(count(&kz_events, "transfer.sealed"), 1, "sealed again");
    assert_eq!(count(&kz_events, "transfer.receipted"), 2);
    let cn_events = cn.client.transfer_events(&t.id).await.unwrap();
    assert_eq!(count(&cn_events, "transfer.delivery-received"), 1);
    let after = kz_state
        .store()
        .transfer(&t.id, TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.manifest.as_ref(), Some(&first_manifest));

    // 2. A manifest committed on the provider's node that the consumer's node never received
    // (here one for bytes that were never sent): the consumer's node refuses it and keeps
    // nothing, the provider's node seals the payload again, and that delivery is the one
    // the consumer holds.
    let t2 = request(&cn, &kz, &d, "resume-2").await;
    let record = kz_state
        .store()
        .transfer(&t2.id, TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    let (_, enc) = payload_crypto::seal_all(
        &cn.creds.credentials.organisation.hpke_public_key,
        &t2.id,
        b"never sent",
    )
    .unwrap();
    let lost = pipeline::sign_manifest(
        kz_state,
        &record.transfer,
        &PreparedPayload {
            blob_key: "unused".into(),
            sha256: d.sha256.clone(),
            size: payload.len() as u64,
        },
        &EncryptedPayload {
            sha256: "ab".repeat(32),
            size: 12_345,
            encapped_key: enc,
        },
        Provenance::default(),
    )
    .unwrap();
    let mut tx = kz_state.store().begin().await.unwrap();
    tx.set_transfer_manifest(&t2.id, TransferRole::Provider, &lost, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    kz.client
        .decide(&t2.id, &approve("resume-2-ok"))
        .await
        .unwrap();
    assert_eq!(
        cn.client.wait_final(&t2.id, wait).await.unwrap().status,
        "delivered"
    );
    assert_eq!(
        kz.client.wait_final(&t2.id, wait).await.unwrap().status,
        "delivered"
    );
    let kz_events = kz.client.transfer_events(&t2.id).await.unwrap();
    assert_eq!(count(&kz_events, "transfer.sealed"), 1);
    assert_eq!(count(&kz_events, "transfer.receipted"), 1);
    let cn_events = cn.client.transfer_events(&t2.id).await.unwrap();
    assert_eq!(count(&cn_events, "transfer.delivery-received"), 1);
    let provider_record = kz_state
        .store()
        .transfer(&t2.id, TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    let consumer_record = cn_state
        .store()
        .transfer(&t2.id, TransferRole::Consumer)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(provider_record.manifest.as_ref(), Some(&lost));
    assert_eq!(provider_record.manifest, consumer_record.manifest);
    let mut out = Vec::new();
    cn.client
        .fetch_delivery(&t2.id, &cn.creds.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap();
    assert_eq!(out, payload);
    // Two deliveries held, nothing staged, nothing kept by the provider.
    assert_eq!(
        cn_state
            .store()
            .blobs()
            .list("deliveries")
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        cn_state
            .store()
            .blobs()
            .list("staging")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        kz_state
            .store()
            .blobs()
            .list("outbox")
            .await
            .unwrap()
            .is_empty()
    );
    fed.fed.shutdown();
}
