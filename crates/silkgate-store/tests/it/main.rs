//! Storage integration tests: the shared suite against the SQLite backend, plus reopening.

use silkgate_store::{Store, testsuite};

#[tokio::test]
async fn sqlite_backend_passes_the_storage_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    testsuite::run_all(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        dirs.lock().unwrap().push(dir);
        async move { Store::open_sqlite(&path).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn sqlite_state_survives_reopen_and_migrations_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let org = testsuite::sample_org("KZ", 9);
    {
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.insert_organisation(&org, "t", "c").await.unwrap();
        tx.kv_set("trust_list_version", "3").await.unwrap();
        tx.commit().await.unwrap();
    }
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    assert_eq!(store.organisation(&org.id).await.unwrap(), Some(org));
    assert_eq!(
        store.kv_get("trust_list_version").await.unwrap().as_deref(),
        Some("3")
    );
    // WAL is on: the write-ahead file exists next to the database while it is open.
    assert!(dir.path().join("node.db-wal").exists());
}

mod portal {
    //! The portal's accounts, sessions and supervision queries.

    use silkgate_model::{StateCode, Transfer, TransferStatus};
    use silkgate_store::{
        FlowFilter, PortalAccount, PortalRole, PortalSession, Store, TransferRole, testsuite,
    };

    fn account(id: &str, login: &str, role: PortalRole) -> PortalAccount {
        PortalAccount {
            id: id.into(),
            login: login.into(),
            display_name: "Test person".into(),
            role,
            org_id: None,
            password_phc: "$argon2id$test".into(),
            totp_secret: "JBSWY3DPEHPK3PXP".into(),
            totp_last_step: 0,
            failed_attempts: 0,
            locked_until: 0,
            created_at: 1,
        }
    }

    fn transfer(
        id: &str,
        provider: &silkgate_model::Organisation,
        consumer: &silkgate_model::Organisation,
        at: i64,
        status: TransferStatus,
    ) -> Transfer {
        Transfer {
            id: id.into(),
            consumer: consumer.id.clone(),
            provider: provider.id.clone(),
            dataset_id: "ds".into(),
            sha256: "00".repeat(32),
            purpose: "test".into(),
            consumer_hpke_key: "00".repeat(32),
            status,
            reason: None,
            requested_at: at,
        }
    }

    #[tokio::test]
    async fn accounts_lock_out_accept_each_code_once_and_sessions_end_on_role_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.insert_portal_account(&account("acct-1", "reg@kz", PortalRole::Regulator))
            .await
            .unwrap();
        let dup = tx
            .insert_portal_account(&account("acct-2", "reg@kz", PortalRole::Regulator))
            .await;
        assert!(
            matches!(dup, Err(silkgate_store::StoreError::Duplicate { .. })),
            "{dup:?}"
        );
        // Three failures in a row lock the account on the third.
        for n in 1..=2 {
            let o = tx
                .portal_record_failure("acct-1", 100, 3, 60)
                .await
                .unwrap();
            assert_eq!((o.failed_attempts, o.locked_now), (n, false));
        }
        let o = tx
            .portal_record_failure("acct-1", 100, 3, 60)
            .await
            .unwrap();
        assert!(o.locked_now);
        assert_eq!(o.locked_until, 160);
        // A TOTP step is accepted once, and never an older one.
        assert!(tx.portal_record_success("acct-1", 5).await.unwrap());
        assert!(!tx.portal_record_success("acct-1", 5).await.unwrap());
        assert!(!tx.portal_record_success("acct-1", 4).await.unwrap());
        tx.insert_portal_session(&PortalSession {
            id_sha256: "ab".into(),
            account_id: "acct-1".into(),
            csrf_token: "c".into(),
            created_at: 100,
            expires_at: 200,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let a = store
            .portal_account_by_login("reg@kz")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.locked_until, a.failed_attempts, a.totp_last_step),
            (0, 0, 5)
        );
        assert!(store.portal_session("ab", 150).await.unwrap().is_some());
        assert!(
            store.portal_session("ab", 200).await.unwrap().is_none(),
            "expired"
        );
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.set_portal_role("acct-1", PortalRole::Operator, None)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(
            store.portal_session("ab", 150).await.unwrap().is_none(),
            "role change ends sessions"
        );
        assert_eq!(
            store.portal_account("acct-1").await.unwrap().unwrap().role,
            PortalRole::Operator
        );
    }

    #[tokio::test]
    async fn flows_are_those_touching_the_state_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let kz1 = testsuite::sample_org("KZ", 1);
        let kz2 = testsuite::sample_org("KZ", 2);
        let ru = testsuite::sample_org("RU", 3);
        let cn = testsuite::sample_org("CN", 4);
        let mut tx = store.begin().await.unwrap();
        for o in [&kz1, &kz2] {
            tx.insert_organisation(o, &o.id.to_string(), "c")
                .await
                .unwrap();
        }
        let day = 86_400;
        // Outbound KZ -> RU (provider record), inbound RU -> KZ (consumer record), domestic
        // KZ -> KZ (both records), and a CN -> RU flow that does not touch KZ.
        tx.insert_transfer(
            &transfer("t1", &kz1, &ru, 10 * day + 5, TransferStatus::Delivered),
            TransferRole::Provider,
        )
        .await
        .unwrap();
        tx.insert_transfer(
            &transfer("t2", &ru, &kz1, 11 * day, TransferStatus::Denied),
            TransferRole::Consumer,
        )
        .await
        .unwrap();
        tx.insert_transfer(
            &transfer("t3", &kz1, &kz2, 11 * day, TransferStatus::Approved),
            TransferRole::Provider,
        )
        .await
        .unwrap();
        tx.insert_transfer(
            &transfer("t3", &kz1, &kz2, 11 * day, TransferStatus::Approved),
            TransferRole::Consumer,
        )
        .await
        .unwrap();
        tx.insert_transfer(
            &transfer("t4", &cn, &ru, 11 * day, TransferStatus::Delivered),
            TransferRole::Provider,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let kz = StateCode::new("KZ").unwrap();
        let summary = store
            .flow_summary(
                kz,
                &FlowFilter {
                    bucket_seconds: Some(day),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let groups: Vec<_> = summary
            .groups
            .iter()
            .map(|c| {
                (
                    c.direction.as_str(),
                    c.partner.as_str(),
                    c.sector.as_str(),
                    c.status.as_str(),
                    c.count,
                )
            })
            .collect();
        assert_eq!(
            groups,
            vec![
                ("domestic", "KZ", "trade", "approved", 1),
                ("inbound", "RU", "trade", "denied", 1),
                ("outbound", "RU", "trade", "delivered", 1),
            ]
        );
        let buckets: Vec<_> = summary
            .buckets
            .iter()
            .map(|b| (b.start / day, b.status.as_str(), b.count))
            .collect();
        assert_eq!(
            buckets,
            vec![(10, "delivered", 1), (11, "approved", 1), (11, "denied", 1)]
        );
        // Filters: the period (its start inclusive), the partner, the sector, the status.
        let count = |f: FlowFilter| {
            let store = store.clone();
            async move {
                store
                    .flow_summary(kz, &f)
                    .await
                    .unwrap()
                    .groups
                    .iter()
                    .map(|g| g.count)
                    .sum::<i64>()
            }
        };
        assert_eq!(
            count(FlowFilter {
                since: Some(10 * day + 6),
                ..Default::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(FlowFilter {
                since: Some(10 * day + 5),
                until: Some(11 * day),
                ..Default::default()
            })
            .await,
            1
        );
        assert_eq!(
            count(FlowFilter {
                partner: Some(StateCode::new("RU").unwrap()),
                ..Default::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(FlowFilter {
                sector: Some("trade".into()),
                status: Some("denied".into()),
                ..Default::default()
            })
            .await,
            1
        );
        assert_eq!(
            count(FlowFilter {
                sector: Some("finance".into()),
                ..Default::default()
            })
            .await,
            0
        );
        let ids: Vec<_> = store
            .flows(kz, &FlowFilter::default(), 0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.transfer.id)
            .collect();
        assert_eq!(ids, ["t2", "t3", "t1"]);
        let only_ru = FlowFilter {
            partner: Some(StateCode::new("RU").unwrap()),
            status: Some("denied".into()),
            ..Default::default()
        };
        let ids: Vec<_> = store
            .flows(kz, &only_ru, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.transfer.id)
            .collect();
        assert_eq!(ids, ["t2"]);
        let since = FlowFilter {
            since: Some(11 * day),
            ..Default::default()
        };
        assert_eq!(store.flows(kz, &since, 0, 10).await.unwrap().len(), 2);
        assert_eq!(
            store.flows(kz, &FlowFilter::default(), 1, 1).await.unwrap()[0]
                .transfer
                .id,
            "t3"
        );
        // Paging by key reads the same flows in the same order, t2 and t3 sharing a time.
        let mut by_key = Vec::new();
        let mut after: Option<(i64, String)> = None;
        loop {
            let page = store
                .flows_after(
                    kz,
                    &FlowFilter::default(),
                    after.as_ref().map(|(at, id)| (*at, id.as_str())),
                    1,
                )
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some((last.transfer.requested_at, last.transfer.id.clone()));
            by_key.push(last.transfer.id.clone());
        }
        assert_eq!(by_key, ["t2", "t3", "t1"]);
        assert!(
            store.transfer_any_role("t4").await.unwrap().is_some(),
            "stored, but not a KZ flow"
        );
        assert!(store.datasets_of(&kz1.id).await.unwrap().is_empty());
        let names: Vec<_> = store
            .organisations()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(names, [kz1.id.clone(), kz2.id.clone()]);

        // The per-day counts follow every change of status in its transaction, and agree
        // with counting the transfers themselves (a period starting off a day boundary is
        // counted from the transfers).
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.set_transfer_status(
                "t1",
                TransferRole::Provider,
                TransferStatus::Delivered,
                TransferStatus::Denied,
                Some("withdrawn")
            )
            .await
            .unwrap()
        );
        for i in 0..30_i64 {
            let (p, c, role) = if i % 2 == 0 {
                (&kz2, &ru, TransferRole::Provider)
            } else {
                (&cn, &kz1, TransferRole::Consumer)
            };
            let status =
                [TransferStatus::AwaitingDecision, TransferStatus::Denied][(i % 3 == 0) as usize];
            tx.insert_transfer(
                &transfer(&format!("m{i}"), p, c, i * 7 * 3_600, status),
                role,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.set_transfer_status(
            "m2",
            TransferRole::Provider,
            TransferStatus::AwaitingDecision,
            TransferStatus::Approved,
            None,
        )
        .await
        .unwrap();
        // Rolled back: the counts do not move.
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.set_transfer_status(
            "m4",
            TransferRole::Provider,
            TransferStatus::AwaitingDecision,
            TransferStatus::Approved,
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        for (partner, status) in [
            (None, None),
            (Some("RU"), None),
            (Some("CN"), Some("denied")),
            (None, Some("approved")),
        ] {
            for bucket in [day, 7 * day] {
                let f = |since| FlowFilter {
                    since,
                    partner: partner.map(|p| StateCode::new(p).unwrap()),
                    status: status.map(str::to_owned),
                    bucket_seconds: Some(bucket),
                    ..Default::default()
                };
                let from_days = store.flow_summary(kz, &f(Some(0))).await.unwrap();
                let counted = store.flow_summary(kz, &f(Some(-1))).await.unwrap();
                assert_eq!(from_days, counted, "{partner:?} {status:?} {bucket}");
                assert!(!from_days.buckets.is_empty() || status == Some("approved"));
            }
        }
        let all = store
            .flow_summary(
                kz,
                &FlowFilter {
                    since: Some(0),
                    status: Some("approved".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let approved: i64 = all.buckets.iter().map(|b| b.count).sum();
        assert_eq!(approved, 2, "t3 and m4, not the rolled-back m2: {all:?}");
        let denied = store
            .flow_summary(
                kz,
                &FlowFilter {
                    since: Some(0),
                    status: Some("denied".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            denied.buckets.iter().map(|b| b.count).sum::<i64>(),
            denied.groups.iter().map(|g| g.count).sum::<i64>()
        );
    }
}
