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
