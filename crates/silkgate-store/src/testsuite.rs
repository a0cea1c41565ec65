//! The storage test suite, written once and run against every backend (as rustls runs its API
//! tests per crypto provider). A backend's integration test calls [`run_all`] with a function
//! that opens a fresh, empty store.

use std::future::Future;

use serde_json::json;
use silkgate_model::{
    Column, DatasetFormat, DatasetVersion, NewEvent, OrgId, Organisation, Sector, StateCode,
    Transfer, TransferStatus, Visibility,
};

use crate::{CatalogueFilter, IdempotentAnswer, Store, StoreError, TransferRole};
use sha2::{Digest as _, Sha256};

/// Runs every case, each on a fresh store from `fresh`. Panics naming the failing case.
pub async fn run_all<F, Fut>(mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Store>,
{
    events_are_gapless_and_rolled_back_with_their_change(&fresh().await).await;
    idempotency_returns_first_answer_and_refuses_other_requests(&fresh().await).await;
    organisations_round_trip_and_refuse_duplicates(&fresh().await).await;
    catalogue_filters_and_paginates(&fresh().await).await;
    transfer_status_is_compare_and_set(&fresh().await).await;
    blobs_are_staged_promoted_or_left_nowhere(&fresh().await).await;
    agreements_round_trip_change_compare_and_set_and_count_usage(&fresh().await).await;
    outbox_keeps_messages_until_acknowledged(&fresh().await).await;
}

/// A sample organisation of `state` with a deterministic id from `n`.
pub fn sample_org(state: &str, n: u8) -> Organisation {
    Organisation {
        id: OrgId::generate(StateCode::new(state).expect("test state code"), [n; 16]),
        name: format!("Sample Trading Co {n}"),
        registration_number: format!("REG-{n:04}"),
        sector: Sector::Trade,
        contact: format!("dpo{n}@example.org"),
        hpke_public_key: "00".repeat(32),
        registered_at: 1_700_000_000,
    }
}

fn sample_dataset(
    org: &Organisation,
    id: &str,
    sha: &str,
    title: &str,
    sector: Sector,
) -> DatasetVersion {
    DatasetVersion {
        dataset_id: id.into(),
        sha256: sha.into(),
        provider: org.id.clone(),
        title: title.into(),
        description: "synthetic".into(),
        sector,
        format: DatasetFormat::Csv,
        schema: vec![Column {
            name: "a".into(),
            ty: "string".into(),
        }],
        visibility: Visibility::Federation,
        size: 10,
        published_at: 1_700_000_000,
    }
}

/// Events are numbered 1, 2, ... without gaps; a rolled-back transaction leaves neither its
/// change nor its event.
pub async fn events_are_gapless_and_rolled_back_with_their_change(store: &Store) {
    let org = sample_org("KZ", 1);
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_organisation(&org, "t1", "c1").await.unwrap();
        tx.append_event(&NewEvent::new("org.registered", org.id.as_str(), json!({})))
            .await
            .unwrap();
        // Dropped without commit.
    }
    assert!(
        store.events(0, 10).await.unwrap().is_empty(),
        "rolled-back event survived"
    );
    assert!(
        store.organisation(&org.id).await.unwrap().is_none(),
        "rolled-back row survived"
    );
    for i in 0..3 {
        let mut tx = store.begin().await.unwrap();
        let e = tx
            .append_event(&NewEvent::new("test.tick", "s", json!({ "i": i })))
            .await
            .unwrap();
        assert_eq!(e.seq, i + 1);
        tx.commit().await.unwrap();
    }
    let events = store.events(1, 10).await.unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(events[1].detail, json!({"i": 2}));
    assert_eq!(store.events_about("s").await.unwrap().len(), 3);
}

/// The first answer to a key is returned on retry; the same key for a different request is
/// refused naming `request_id`.
pub async fn idempotency_returns_first_answer_and_refuses_other_requests(store: &Store) {
    let answer = IdempotentAnswer {
        status: 201,
        body: json!({"id": "x"}),
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.idempotent("org-a", "k1", "f1").await.unwrap().is_none());
    tx.remember("org-a", "k1", "f1", &answer).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.idempotent("org-a", "k1", "f1").await.unwrap(),
        Some(answer.clone())
    );
    let err = tx.idempotent("org-a", "k1", "f2").await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyConflict { .. }));
    assert!(err.to_string().contains("request_id"), "{err}");
    // Keys are scoped: another organisation may use the same key.
    assert!(tx.idempotent("org-b", "k1", "f2").await.unwrap().is_none());
    assert!(matches!(
        tx.remember("org-a", "k1", "f1", &answer).await,
        Err(StoreError::Duplicate { .. })
    ));
}

/// Organisations round-trip, are found by token hash, ids are unique, and a suspension is
/// set and lifted once each.
pub async fn organisations_round_trip_and_refuse_duplicates(store: &Store) {
    let org = sample_org("CN", 2);
    let mut tx = store.begin().await.unwrap();
    tx.insert_organisation(&org, "tokhash", "certhash")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.organisation(&org.id).await.unwrap(),
        Some(org.clone())
    );
    let (found, cert) = store
        .organisation_by_token("tokhash")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, cert.as_str()), (org.clone(), "certhash"));
    assert!(
        store
            .organisation_by_token("other")
            .await
            .unwrap()
            .is_none()
    );
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_organisation(&org, "tok2", "c").await,
        Err(StoreError::Duplicate { .. })
    ));
    drop(tx);

    // Suspension: set once, not twice; kept across transactions; lifted once.
    assert_eq!(store.organisation_suspension(&org.id).await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.set_organisation_suspension(&org.id, Some("licence withdrawn"))
            .await
            .unwrap()
    );
    assert!(
        !tx.set_organisation_suspension(&org.id, Some("again"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(
        store.organisation_suspension(&org.id).await.unwrap(),
        Some("licence withdrawn".to_owned())
    );
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_organisation_suspension(&org.id, None).await.unwrap());
    assert!(!tx.set_organisation_suspension(&org.id, None).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.organisation_suspension(&org.id).await.unwrap(), None);
}

/// Search filters by sector and text on the server and pages by keyset cursor.
pub async fn catalogue_filters_and_paginates(store: &Store) {
    let org = sample_org("RU", 3);
    let mut tx = store.begin().await.unwrap();
    tx.insert_organisation(&org, "t3", "c3").await.unwrap();
    for i in 0..5 {
        let sector = if i % 2 == 0 {
            Sector::Trade
        } else {
            Sector::Finance
        };
        let d = sample_dataset(
            &org,
            &format!("ds-{i}"),
            &format!("{i:064}"),
            &format!("Customs {i}"),
            sector,
        );
        tx.insert_dataset_version(&d, &format!("datasets/{i}"))
            .await
            .unwrap();
    }
    let dup = sample_dataset(&org, "ds-0", &format!("{:064}", 0), "again", Sector::Trade);
    assert!(matches!(
        tx.insert_dataset_version(&dup, "x").await,
        Err(StoreError::Duplicate { .. })
    ));
    tx.commit().await.unwrap();

    let mut filter = CatalogueFilter {
        limit: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.search_datasets(&filter).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        let last = page.last().unwrap();
        filter.after = Some(format!("{}/{}", last.dataset_id, last.sha256));
        seen.extend(page.into_iter().map(|d| d.dataset_id));
    }
    assert_eq!(seen, vec!["ds-0", "ds-1", "ds-2", "ds-3", "ds-4"]);

    let finance = store
        .search_datasets(&CatalogueFilter {
            sector: Some(Sector::Finance),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        finance
            .iter()
            .map(|d| d.dataset_id.as_str())
            .collect::<Vec<_>>(),
        vec!["ds-1", "ds-3"]
    );
    let text = store
        .search_datasets(&CatalogueFilter {
            text: Some("CUSTOMS 4".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(text.len(), 1);
    assert_eq!(text[0].dataset_id, "ds-4");
    // LIKE wildcards in the text are taken literally.
    let literal = store
        .search_datasets(&CatalogueFilter {
            text: Some("customs_".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(literal.is_empty(), "'_' matched as a wildcard");
    let (one, blob) = store
        .dataset_version("ds-2", &format!("{:064}", 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (one.title.as_str(), blob.as_str()),
        ("Customs 2", "datasets/2")
    );
}

/// A status step succeeds once: the second worker to try the same step gets `false`.
pub async fn transfer_status_is_compare_and_set(store: &Store) {
    let consumer = sample_org("IN", 4);
    let provider = sample_org("PK", 5);
    let t = Transfer {
        id: "tr-1".into(),
        consumer: consumer.id.clone(),
        provider: provider.id.clone(),
        dataset_id: "ds".into(),
        sha256: "ab".repeat(32),
        purpose: "testing".into(),
        consumer_hpke_key: "00".repeat(32),
        status: TransferStatus::AwaitingDecision,
        reason: None,
        requested_at: 1,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_transfer(&t, TransferRole::Provider)
        .await
        .unwrap();
    tx.insert_transfer(&t, TransferRole::Consumer)
        .await
        .unwrap();
    assert!(matches!(
        tx.insert_transfer(&t, TransferRole::Provider).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(
        tx.set_transfer_status(
            "tr-1",
            TransferRole::Provider,
            TransferStatus::AwaitingDecision,
            TransferStatus::Approved,
            None
        )
        .await
        .unwrap()
    );
    assert!(
        !tx.set_transfer_status(
            "tr-1",
            TransferRole::Provider,
            TransferStatus::AwaitingDecision,
            TransferStatus::Denied,
            Some("late")
        )
        .await
        .unwrap()
    );
    tx.set_transfer_report("tr-1", TransferRole::Provider, &json!({"size": 3}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let p = store
        .transfer("tr-1", TransferRole::Provider)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.transfer.status, TransferStatus::Approved);
    assert_eq!(p.report, Some(json!({"size": 3})));
    let c = store
        .transfer("tr-1", TransferRole::Consumer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.transfer.status, TransferStatus::AwaitingDecision);
    assert_eq!(
        store
            .transfers_of(&provider.id, TransferRole::Provider)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .transfers_of(&provider.id, TransferRole::Consumer)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .transfers_in_status(TransferRole::Provider, TransferStatus::Approved)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A blob is hashed while written, promoted to its final key, and an aborted blob leaves
/// nothing behind.
pub async fn blobs_are_staged_promoted_or_left_nowhere(store: &Store) {
    use futures::StreamExt as _;
    let blobs = store.blobs();
    let mut w = blobs.writer().await.unwrap();
    w.write(b"hello ").await.unwrap();
    w.write(b"world").await.unwrap();
    let staged = w.finish().await.unwrap();
    assert_eq!(staged.size, 11);
    assert_eq!(
        staged.sha256,
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    blobs.promote(&staged, "datasets/hw").await.unwrap();
    let mut bytes = Vec::new();
    let mut s = blobs.read("datasets/hw").await.unwrap();
    while let Some(chunk) = s.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes, b"hello world");
    assert_eq!(blobs.size("datasets/hw").await.unwrap(), Some(11));

    let mut w = blobs.writer().await.unwrap();
    w.write(b"partial").await.unwrap();
    w.abort().await;
    assert!(
        blobs.list("staging").await.unwrap().is_empty(),
        "aborted blob left behind"
    );
    blobs.delete("datasets/hw").await.unwrap();
    blobs.delete("datasets/hw").await.unwrap();
    assert_eq!(blobs.size("datasets/hw").await.unwrap(), None);

    // Several parts, written through both entry points in uneven pieces (a part boundary
    // falling inside a write, whole parts handed over as Bytes): the bytes and the digest
    // are those of the input, in order.
    let data: Vec<u8> = (0..(2 * crate::PART_SIZE + 123_457))
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let mut w = blobs.writer().await.unwrap();
    let (head, rest) = data.split_at(1_000_003);
    w.write(head).await.unwrap();
    let (middle, tail) = rest.split_at(crate::PART_SIZE + 5);
    w.write_bytes(bytes::Bytes::copy_from_slice(middle))
        .await
        .unwrap();
    let (a, b) = tail.split_at(tail.len() / 2);
    w.write(a).await.unwrap();
    w.write_bytes(bytes::Bytes::copy_from_slice(b))
        .await
        .unwrap();
    assert_eq!(w.size(), data.len() as u64);
    let staged = w.finish().await.unwrap();
    assert_eq!(staged.size, data.len() as u64);
    assert_eq!(staged.sha256, hex::encode(Sha256::digest(&data)));
    blobs.promote(&staged, "datasets/parts").await.unwrap();
    let mut read = Vec::new();
    let mut s = blobs.read("datasets/parts").await.unwrap();
    while let Some(chunk) = s.next().await {
        read.extend_from_slice(&chunk.unwrap());
    }
    assert!(read == data, "multi-part blob reads back differently");
    // A whole part handed over at a part boundary goes through without a copy.
    let mut w = blobs.writer().await.unwrap();
    let whole = bytes::Bytes::copy_from_slice(&data[..crate::PART_SIZE]);
    w.write_bytes(whole).await.unwrap();
    let staged = w.finish().await.unwrap();
    assert_eq!(
        staged.sha256,
        hex::encode(Sha256::digest(&data[..crate::PART_SIZE]))
    );
    blobs.delete(&staged.key).await.unwrap();
    blobs.delete("datasets/parts").await.unwrap();
}

/// A signed proposal from the trade template between a KZ provider and a KG consumer, valid
/// around `today`, signed by a fixed test key (signer ids are node ids in a real federation).
pub fn sample_proposal(id: &str, today: silkgate_model::Date) -> silkgate_model::ProposedAgreement {
    use silkgate_model::agreement::{Party, TemplateRef};
    use silkgate_model::{Agreement, Date, Template};
    let template = Template::from_json(include_bytes!("../../../templates/trade/v1.json"))
        .expect("the trade template loads");
    let mut terms = template.terms.clone();
    terms.validity.not_before = Date::new(today.year() - 1, 1, 1).expect("a valid date");
    terms.validity.not_after = Date::new(today.year() + 1, 12, 31).expect("a valid date");
    let doc = Agreement {
        id: id.to_owned(),
        template: TemplateRef {
            id: template.id.clone(),
            version: template.version,
        },
        provider: sample_org("KZ", 1).id,
        provider_signer: "node-kz".into(),
        consumer: sample_org("KG", 2).id,
        consumer_signer: "node-kg".into(),
        terms,
        proposed_by: Party::Provider,
        revision: 1,
        approvals_required: Default::default(),
    };
    silkgate_model::ProposedAgreement::propose(
        doc,
        &ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    )
    .expect("the sample proposal signs")
}

/// An agreement is stored whole and read back equal; a second insert of the id is refused;
/// a change applies only to the state it was made from (compare-and-set) and cannot alter the
/// parties; a rolled-back change leaves neither it nor its event; usage adds up per year and
/// belongs to an existing agreement.
pub async fn agreements_round_trip_change_compare_and_set_and_count_usage(store: &Store) {
    use silkgate_model::{AgreementState, AgreementStatus};
    let proposal = sample_proposal("agr-1", store.clock().today());
    let proposed = AgreementState::Proposed {
        proposal: proposal.signed().clone(),
    };
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_agreement(&proposed).await.unwrap();
        tx.append_event(&NewEvent::new("agreement.proposed", "agr-1", json!({})))
            .await
            .unwrap();
        // Dropped without commit.
    }
    assert!(store.agreement("agr-1").await.unwrap().is_none());
    assert!(store.events_about("agr-1").await.unwrap().is_empty());

    let mut tx = store.begin().await.unwrap();
    tx.insert_agreement(&proposed).await.unwrap();
    tx.commit().await.unwrap();
    let rec = store.agreement("agr-1").await.unwrap().expect("stored");
    assert_eq!(rec.status, AgreementStatus::Proposed);
    assert_eq!(rec.revision, 1);
    assert_eq!(rec.state, proposed);
    assert_eq!(rec.provider, sample_org("KZ", 1).id);
    let mut tx = store.begin().await.unwrap();
    let err = tx.insert_agreement(&proposed).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Duplicate {
                what: "agreement",
                ..
            }
        ),
        "{err}"
    );
    drop(tx);
    for org in [sample_org("KZ", 1), sample_org("KG", 2)] {
        let mine = store.agreements_of(&org.id).await.unwrap();
        assert_eq!(mine.len(), 1, "{}", org.id);
    }
    assert!(
        store
            .agreements_of(&sample_org("RU", 3).id)
            .await
            .unwrap()
            .is_empty()
    );

    // Accept: proposed -> signed, compare-and-set on the state read.
    let signed = AgreementState::Signed {
        agreement: proposal
            .clone()
            .accept(&ed25519_dalek::SigningKey::from_bytes(&[8; 32]))
            .unwrap(),
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.update_agreement(&rec, &signed).await.unwrap());
    // The same change from the stale record no longer applies.
    assert!(!tx.update_agreement(&rec, &signed).await.unwrap());
    let now = tx.agreement("agr-1").await.unwrap().unwrap();
    assert_eq!(now.status, AgreementStatus::Signed);
    tx.commit().await.unwrap();

    // Another agreement's state cannot be written over this one.
    let other = AgreementState::Proposed {
        proposal: sample_proposal("agr-2", store.clock().today())
            .signed()
            .clone(),
    };
    let mut tx = store.begin().await.unwrap();
    let err = tx.update_agreement(&now, &other).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    drop(tx);
    assert_eq!(
        store.agreement("agr-1").await.unwrap().unwrap().state,
        signed
    );

    // Usage per calendar year.
    let mut tx = store.begin().await.unwrap();
    tx.add_agreement_usage("agr-1", 2026, 40).await.unwrap();
    tx.add_agreement_usage("agr-1", 2026, 2).await.unwrap();
    tx.add_agreement_usage("agr-1", 2027, 5).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.agreement_usage("agr-1", 2026).await.unwrap(), (42, 2));
    assert_eq!(store.agreement_usage("agr-1", 2027).await.unwrap(), (5, 1));
    assert_eq!(store.agreement_usage("agr-1", 2025).await.unwrap(), (0, 0));
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.add_agreement_usage("no-such-agreement", 2026, 1)
            .await
            .is_err(),
        "usage of an unknown agreement must be refused"
    );
}

/// Outbox: a message is queued with its event or not at all, once per id, is due until
/// acknowledged, and waits for its next attempt after a failure.
pub async fn outbox_keeps_messages_until_acknowledged(store: &Store) {
    let body = json!({ "transfer_id": "t-1", "duty": "retention-deleted" });
    // Rolled back with its event: nothing owed.
    let mut tx = store.begin().await.unwrap();
    tx.append_event(&NewEvent::new(
        "transfer.retention-deleted",
        "t-1",
        json!({}),
    ))
    .await
    .unwrap();
    assert!(
        tx.queue_outbox("ur-1", "CN", "/federation/v1/usage", &body)
            .await
            .unwrap()
    );
    drop(tx);
    assert_eq!(store.outbox_next_due().await.unwrap(), None);
    assert_eq!(store.outbox_message("ur-1").await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.queue_outbox("ur-1", "CN", "/federation/v1/usage", &body)
            .await
            .unwrap()
    );
    // The same id again is the same message.
    assert!(
        !tx.queue_outbox("ur-1", "CN", "/federation/v1/usage", &json!({}))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let now_ms = store.clock().now_ms();
    let due = store.outbox_due(now_ms, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].body, body);
    assert_eq!((due[0].attempts, due[0].acknowledged_at), (0, None));

    store
        .outbox_failed("ur-1", now_ms + 60_000, "unreachable")
        .await
        .unwrap();
    assert!(store.outbox_due(now_ms, 10).await.unwrap().is_empty());
    assert_eq!(
        store.outbox_next_due().await.unwrap(),
        Some(now_ms + 60_000)
    );
    let later = store.outbox_due(now_ms + 60_000, 10).await.unwrap();
    assert_eq!(later[0].attempts, 1);
    assert_eq!(later[0].last_error.as_deref(), Some("unreachable"));

    store.outbox_acknowledged("ur-1").await.unwrap();
    assert!(store.outbox_due(i64::MAX, 10).await.unwrap().is_empty());
    assert_eq!(store.outbox_next_due().await.unwrap(), None);
    let kept = store.outbox_message("ur-1").await.unwrap().unwrap();
    assert!(kept.acknowledged_at.is_some());
    // A failure reported after the acknowledgement changes nothing.
    store.outbox_failed("ur-1", 0, "late").await.unwrap();
    assert_eq!(store.outbox_message("ur-1").await.unwrap().unwrap(), kept);
}
