//! `silkgate log verify --url` against a running `silkgate node` whose log holds `ENTRIES`
//! entries (default 1,000,000): wall time and peak resident memory (VmHWM) of the verifier,
//! and the node's own peak memory while it serves the tiles over HTTPS.
//!
//! The node's log is filled before the node starts: events committed to its SQLite store in
//! chunks, then appended by the node's own sequencer code ([`NodeLog::sync`]), so the node
//! serves exactly what it would have logged itself.
//!
//! Run: `cargo bench -p silkgate --bench log_verify -- [ENTRIES]`. With
//! `SILKGATE_BENCH_LOG_DIR=DIR` the node directory is kept in `DIR` and its filled log reused
//! by later runs. Figures go in docs/benchmarks.md.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use silkgate_model::NewEvent;
use silkgate_node::identity;
use silkgate_node::log_service::{NodeLog, log_verifier};

#[allow(dead_code)] // the tests' helpers; this benchmark uses a few of them
#[path = "../tests/it/procs.rs"]
mod procs;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn vm_hwm_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Commits events until the node's store holds `n`, then logs them with the node's
/// sequencer code. Returns the log size.
async fn fill(dir: &Path, n: u64) -> u64 {
    let id = identity::load_identity(dir).unwrap();
    let store = silkgate_store::Store::open_sqlite(&id.data_dir())
        .await
        .unwrap();
    let log = NodeLog::open(&store, &id.config.node_id, &id.signing_key)
        .await
        .unwrap();
    let mut have = u64::try_from(store.last_event_seq().await.unwrap()).unwrap();
    let t = Instant::now();
    while have < n {
        let end = (have + 50_000).min(n);
        let mut tx = store.begin().await.unwrap();
        for j in have..end {
            tx.append_event(&NewEvent::new(
                "transfer.sealed",
                format!("tr-{j:08}"),
                serde_json::json!({"payload_sha256": SHA, "ciphertext_sha256": SHA, "size": j}),
            ))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        have = end;
        log.sync(&store).await.unwrap();
    }
    let size = log.sync(&store).await.unwrap();
    println!("log filled to {size} entries in {:.1?}", t.elapsed());
    drop(store);
    size
}

/// Runs `silkgate log verify` with `extra` arguments; returns wall time, the verifier's peak
/// memory and its output.
fn verify(dir: &Path, work: &Path, extra: &[&str]) -> (Duration, f64, String) {
    let id = identity::load_identity(dir).unwrap();
    let ca = work.join("ca.pem");
    std::fs::write(&ca, &id.ca_cert_pem).unwrap();
    let key = log_verifier(&id.config.node_id, &id.signing_key.verifying_key()).unwrap();
    let trust = work.join("trust.txt");
    std::fs::write(&trust, format!("{key}\nquorum 0\n")).unwrap();
    let state = work.join("state.json");
    let _ = std::fs::remove_file(&state);
    let started = Instant::now();
    let mut child = procs::silkgate()
        .args(["log", "verify", "--url", &id.config.public_url])
        .arg("--ca-cert")
        .arg(&ca)
        .arg("--trust")
        .arg(&trust)
        .arg("--state")
        .arg(&state)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0f64;
    let status = loop {
        if let Some(m) = vm_hwm_mib(pid) {
            peak = peak.max(m);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "verify failed: {out}");
    (elapsed, peak, out)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let temp = tempfile::tempdir().unwrap();
    let root = std::env::var_os("SILKGATE_BENCH_LOG_DIR")
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    let dir = root.join("KZ");
    if !dir.join("silkgate.toml").exists() {
        std::fs::create_dir_all(&root).unwrap();
        procs::init_federation(&root, &["KZ"]);
    }
    let size = fill(&dir, n).await;

    let node = procs::start(&dir, &[]);
    procs::operator(&dir).await;
    let work = temp.path().join("verify");
    std::fs::create_dir_all(&work).unwrap();
    println!("silkgate log verify --url (release build) against the node, {size} entries:");
    for (label, extra) in [
        (
            "tiles and entry bundles, 4 requests in flight (default)",
            &[][..],
        ),
        (
            "tiles and entry bundles, 8 requests in flight",
            &["--parallel", "8"][..],
        ),
        ("hash tiles only (--no-entries)", &["--no-entries"][..]),
    ] {
        let (elapsed, peak, out) = verify(&dir, &work, extra);
        let tiles = out
            .lines()
            .find(|l| l.starts_with("tiles:"))
            .unwrap_or("")
            .to_owned();
        println!("  {label}: {elapsed:.2?}, verifier peak RSS {peak:.1} MiB ({tiles})");
    }
    println!(
        "  node peak RSS after serving: {:.1} MiB",
        vm_hwm_mib(node.0.id()).unwrap_or(f64::NAN)
    );
}
