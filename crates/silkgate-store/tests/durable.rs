//! A promoted local blob is on stable storage before `promote` returns: its data is fsynced
//! before the rename to the final key, and the final key's directory after it.
//!
//! The system calls are observed with `strace`, so that part is gated by
//! `SILKGATE_STRACE_TESTS=1` (exported by `.ci/setup/80-store.sh`, which installs strace).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use silkgate_store::{Blobs, Store};

/// Final key written by the helper test.
const FINAL_KEY: &str = "datasets/durable";

/// Writes, finishes and promotes one blob under `SILKGATE_DURABLE_DIR`; run by
/// `local_blobs_are_fsynced_before_promote_returns` under strace.
#[tokio::test]
#[ignore = "helper: run under strace by local_blobs_are_fsynced_before_promote_returns"]
async fn helper_promote_one_blob() {
    let dir = std::env::var("SILKGATE_DURABLE_DIR").expect("SILKGATE_DURABLE_DIR is set");
    let store = Store::open_sqlite(Path::new(&dir)).await.unwrap();
    let blobs = store.blobs();
    let mut w = blobs.writer().await.unwrap();
    w.write(b"bytes a receipt will vouch for").await.unwrap();
    let staged = w.finish().await.unwrap();
    blobs.promote(&staged, FINAL_KEY).await.unwrap();
}

#[tokio::test]
async fn local_blobs_are_fsynced_before_promote_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    assert!(store.blobs().syncs_to_disk(), "local blobs must fsync");
    let memory = Blobs::new(Arc::new(object_store::memory::InMemory::new()));
    assert!(
        !memory.syncs_to_disk(),
        "in-memory blobs have nothing to sync"
    );
    drop(store);

    if std::env::var("SILKGATE_STRACE_TESTS").as_deref() != Ok("1") {
        println!(
            "NOT RUN: the strace check of fsync order on promote \
             (set SILKGATE_STRACE_TESTS=1 with strace installed)"
        );
        return;
    }
    let log = dir.path().join("strace.log");
    let status = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "helper_promote_one_blob", "--ignored", "--quiet"])
        .env("SILKGATE_DURABLE_DIR", dir.path())
        .status()
        .expect("strace runs");
    assert!(status.success(), "helper under strace failed: {status}");
    let trace = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let blob_root = std::fs::canonicalize(dir.path().join("blobs")).unwrap();
    let final_path = format!("{}/{FINAL_KEY}", blob_root.display());
    let final_dir = format!("{}/datasets>", blob_root.display());

    let promote = lines
        .iter()
        .rposition(|l| l.contains("rename") && l.contains(&format!("\"{final_path}\"")))
        .unwrap_or_else(|| panic!("no rename to {final_path} in:\n{trace}"));
    let staged_data_synced = lines[..promote].iter().any(|l| {
        (l.contains("fsync(") || l.contains("fdatasync("))
            && l.contains("/staging/")
            && l.ends_with("= 0")
    });
    assert!(
        staged_data_synced,
        "the staged file's data was not fsynced before the rename:\n{trace}"
    );
    let dir_synced = lines[promote + 1..]
        .iter()
        .any(|l| l.contains("fsync(") && l.contains(&final_dir) && l.ends_with("= 0"));
    assert!(
        dir_synced,
        "the final directory was not fsynced after the rename:\n{trace}"
    );
}
