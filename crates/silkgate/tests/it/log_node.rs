//! The node's transparency log as processes: `silkgate log verify --url` audits a running
//! node (checkpoint, tiles, consistency with the checkpoint it saw before) and refuses a
//! tampered tile, a rollback and a rewritten history; a node killed (SIGKILL) while it
//! appends under load loses no acknowledged entry, stays consistent with every checkpoint it
//! published, and keeps appending after restart.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use silkgate_log::{Checkpoint, Entry, Hash, Note, leaf_hash, node_hash};
use silkgate_model::{Sector, Visibility};
use silkgate_node::api_types::{PublishMetadata, RegisterOrganisationRequest, TransferRequest};
use silkgate_node::identity;

use crate::procs::{init_federation, operator, provider_id, register, silkgate, start};

fn registration(i: usize) -> RegisterOrganisationRequest {
    RegisterOrganisationRequest {
        request_id: format!("reg-{i}"),
        name: format!("Organisation {i}"),
        registration_number: i.to_string(),
        sector: Sector::Trade.as_str().into(),
        contact: "dpo@example.org".into(),
        hpke_public_key: silkgate_node::payload_crypto::generate_keypair().1,
    }
}

/// The log verifier key (`<origin>+<key id>+<base64>`, type 0x01) of the node in `dir`.
fn log_key(dir: &Path) -> String {
    let id = identity::load_identity(dir).unwrap();
    silkgate_node::log_service::log_verifier(&id.config.node_id, &id.signing_key.verifying_key())
        .unwrap()
        .to_string()
}

/// Runs `silkgate log verify --url` against the node in `dir` with its log key as the only
/// trusted key (quorum 0: a lone node has no witnesses), remembering the last checkpoint in
/// `state`. Returns whether it succeeded and what it printed.
fn verify_cli(dir: &Path, state: &Path) -> (bool, String) {
    let id = identity::load_identity(dir).unwrap();
    let ca = dir.join("ca-for-verify.pem");
    std::fs::write(&ca, &id.ca_cert_pem).unwrap();
    let trust = dir.join("log-trust.txt");
    std::fs::write(&trust, format!("{}\nquorum 0\n", log_key(dir))).unwrap();
    let out = silkgate()
        .args(["log", "verify", "--url", &id.config.public_url])
        .arg("--ca-cert")
        .arg(&ca)
        .arg("--trust")
        .arg(&trust)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn open_store(dir: &Path) -> silkgate_store::Store {
    let id = identity::load_identity(dir).unwrap();
    silkgate_store::Store::open_sqlite(&id.data_dir())
        .await
        .unwrap()
}

/// The node's entries and published checkpoints `(size, signed note)`, read from its database.
async fn stored(dir: &Path) -> (Vec<Vec<u8>>, Vec<(u64, Vec<u8>)>) {
    let store = open_store(dir).await;
    let head = store.log_head().await.unwrap();
    let entries = store.log_entries(0..head.size).await.unwrap();
    assert_eq!(entries.len() as u64, head.size, "no hole in the entries");
    (entries, store.log_published().await.unwrap())
}

/// RFC 6962 section 2.1 Merkle Tree Hash of `leaves`, computed straight from the definition
/// (split at the largest power of two below the size), independently of the node's stored
/// subtree hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => silkgate_log::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn checkpoint_of(note: &[u8]) -> Checkpoint {
    Checkpoint::parse_text(Note::parse(note).unwrap().text_unverified()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_verify_audits_a_running_node_and_refuses_tampering() {
    let root = tempfile::tempdir().unwrap();
    let dir = init_federation(root.path(), &["KG"]).remove(0);
    let state_file = root.path().join("verify-state.json");
    let _node = start(&dir, &[]);
    let op = operator(&dir).await;
    for i in 0..3 {
        op.register_organisation(&registration(i)).await.unwrap();
    }

    // First audit: nothing seen before.
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(ok, "verify against a running node: {text}");
    assert!(text.contains("OK: log log."), "{text}");
    assert!(!text.contains("consistent with"), "{text}");
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    let first_size = first["size"].as_u64().unwrap();
    assert!(first_size >= 3, "{first}");

    // The log grows past a full tile (256 entries), so the second audit reads full and
    // partial tiles and proves the new tree extends the one verified first.
    for i in 3..300 {
        op.register_organisation(&registration(i)).await.unwrap();
    }
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(ok, "second verify: {text}");
    assert!(
        text.contains(&format!(
            "consistent with the checkpoint of size {first_size} verified before"
        )),
        "{text}"
    );
    let second: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    assert!(second["size"].as_u64().unwrap() > 256, "{second}");

    // A state file that remembers a larger tree: the node rolled back.
    let mut bigger = second.clone();
    bigger["size"] = (second["size"].as_u64().unwrap() + 10).into();
    let rolled = root.path().join("rolled-back.json");
    std::fs::write(&rolled, bigger.to_string()).unwrap();
    let (ok, text) = verify_cli(&dir, &rolled);
    assert!(!ok, "{text}");
    assert!(text.contains("FAILED: ROLLBACK"), "{text}");

    // A state file that remembers another root at an earlier size: history was rewritten.
    let mut other = first.clone();
    other["root"] = Hash([7; 32]).to_base64().into();
    let rewritten = root.path().join("rewritten.json");
    std::fs::write(&rewritten, other.to_string()).unwrap();
    let (ok, text) = verify_cli(&dir, &rewritten);
    assert!(!ok, "{text}");
    assert!(text.contains("FAILED: INCONSISTENT"), "{text}");

    // An operator changes an entry in the database of the running node: the entry bundle it
    // serves no longer matches the leaf hashes under the signed root.
    let store = open_store(&dir).await;
    let entry = store.log_entries(10..11).await.unwrap().remove(0);
    let mut forged = entry.clone();
    let last = forged.len() - 2;
    forged[last] ^= 1;
    store.danger_log_overwrite(10, &forged, &[]).await.unwrap();
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(!ok, "a tampered entry bundle must fail: {text}");
    assert!(
        text.contains("FAILED: tiles do not match the checkpoint: entry 10 does not hash"),
        "the failure names the tiles and the entry: {text}"
    );

    // Now the leaf hash too (level-0 tile 0): the recomputed root differs from the signed one.
    let leaf = leaf_hash(&forged);
    store
        .danger_log_overwrite(10, &forged, &[(0, 10, leaf.0)])
        .await
        .unwrap();
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(!ok, "a tampered hash tile must fail: {text}");
    assert!(
        text.contains("FAILED: tiles do not match the checkpoint: root recomputed from the tiles"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_appending_loses_no_acknowledged_entry_and_stays_consistent() {
    let root = tempfile::tempdir().unwrap();
    let dir = init_federation(root.path(), &["KZ"]).remove(0);
    let state_file = root.path().join("verify-state.json");

    let node = start(&dir, &[]);
    let op = Arc::new(operator(&dir).await);
    for i in 0..3 {
        op.register_organisation(&registration(i)).await.unwrap();
    }
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(ok, "verify before the kill: {text}");

    // Load: four clients register organisations as fast as they can; each acknowledged
    // registration is remembered. The node is killed once enough were acknowledged, while the
    // clients are still sending.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let op = op.clone();
        let acknowledged = acknowledged.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                match op
                    .register_organisation(&registration(1000 * (w + 1) + i))
                    .await
                {
                    Ok(c) => acknowledged.lock().unwrap().push(c.organisation.id.clone()),
                    Err(_) => break,
                }
            }
        }));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(std::time::Instant::now() < deadline, "load never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    node.kill(); // SIGKILL while the clients are mid-request
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let (_, published_before) = stored(&dir).await;

    // Restart: every acknowledged registration is in the log, the tree is consistent with
    // every checkpoint published before the kill, and appends continue.
    let _node = start(&dir, &[]);
    let op = operator(&dir).await;
    let after = op
        .register_organisation(&registration(99_999))
        .await
        .unwrap();
    let (entries, published) = stored(&dir).await;
    let parsed: Vec<Entry> = entries.iter().map(|e| Entry::parse(e).unwrap()).collect();
    let subjects: std::collections::HashSet<String> = parsed
        .iter()
        .filter(|e| e.kind().as_str() == "organisation.registered")
        .flat_map(|e| {
            e.ids()
                .iter()
                .filter(|(label, _)| label == "subject")
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    for org in acknowledged.iter().chain([&after.organisation.id]) {
        assert!(
            subjects.contains(org),
            "acknowledged registration of {org} is in the log"
        );
    }
    // Entry i is event seq i + 1: the log has no gap and no duplicate.
    for (i, e) in parsed.iter().enumerate() {
        let seq: Vec<&str> = e
            .ids()
            .iter()
            .filter(|(l, _)| l == "seq")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(seq, [(i + 1).to_string().as_str()], "entry {i}");
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    assert!(
        published_before.len() >= 2,
        "checkpoints were published before the kill"
    );
    assert!(published.len() > published_before.len());
    for (size, note) in &published {
        let cp = checkpoint_of(note);
        assert_eq!(cp.size(), *size);
        assert_eq!(
            *cp.root(),
            mth(&leaves[..*size as usize]),
            "the tree after restart has the root published at size {size}"
        );
    }
    // The outside auditor, remembering the checkpoint it verified before the kill, agrees.
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(ok, "verify after restart: {text}");
    assert!(
        text.contains("consistent with the checkpoint of size"),
        "{text}"
    );
}

/// The receipt bundle (tlog-proof) for transfer `id` from the node in `dir`, asked for as its
/// operator until a checkpoint covering the transfer has reached the witness quorum.
async fn fetch_receipt(dir: &Path, id: &str) -> Vec<u8> {
    let ident = identity::load_identity(dir).unwrap();
    let token = std::fs::read_to_string(dir.join(identity::files::OPERATOR_TOKEN)).unwrap();
    let tls = silkgate_node::tls::org_client_config(&ident.ca_cert_pem, None).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let url = format!(
        "{}/api/v1/transfers/{id}/log-receipt",
        ident.config.public_url
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let resp = client
            .get(&url)
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.bytes().await.unwrap().to_vec();
        if status == 200 {
            return body;
        }
        assert_eq!(
            status,
            409,
            "only 'not final yet' may delay the receipt: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no final checkpoint covering the transfer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Interoperability with a verifier no one here wrote, against running nodes: Go's
/// `golang.org/x/mod/sumdb/tlog` and `.../note` (`silkgate-log/tests/go/verify_tiles.go`)
/// fetch a node's checkpoint and tiles over HTTPS, check the signature with the node's log
/// key, recompute the root, check every entry against its leaf hash and a consistency proof,
/// and check the receipt bundle the node served for a transfer (its inclusion proof with
/// `tlog.CheckRecord`). Gated by `SILKGATE_LOG_GO_INTEROP=1` (`.ci/setup/50-log.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sumdb_verifies_a_running_nodes_checkpoint_tiles_and_receipt() {
    if std::env::var("SILKGATE_LOG_GO_INTEROP").as_deref() != Ok("1") {
        eprintln!(
            "NOT RUN: Go verification of a running node's log (set SILKGATE_LOG_GO_INTEROP=1 \
             with golang-go and golang-golang-x-mod-dev installed; .ci/setup/50-log.sh does this)"
        );
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dirs = init_federation(root.path(), &["KZ", "CN"]);
    let (kz_dir, cn_dir) = (&dirs[0], &dirs[1]);
    let _kz_node = start(kz_dir, &[]);
    let _cn_node = start(cn_dir, &[]);
    let (kz_op, cn_op) = (operator(kz_dir).await, operator(cn_dir).await);
    let (kz, _) = register(&kz_op, "provider").await;
    let (cn, _) = register(&cn_op, "consumer").await;
    let (schema, payload) = silkgate_node::local::synthetic_trade_csv(20, 3);
    let d = kz
        .publish(
            &PublishMetadata {
                request_id: "pub-1".into(),
                dataset_id: "interop-data".into(),
                title: "Interop data".into(),
                description: String::new(),
                sector: "trade".into(),
                format: "csv".into(),
                schema,
                visibility: Visibility::Federation,
            },
            payload.into(),
        )
        .await
        .unwrap();
    let t = cn
        .request_transfer(&TransferRequest {
            request_id: "req-1".into(),
            provider: provider_id(&kz, "Interop").await,
            dataset_id: d.dataset_id.clone(),
            sha256: d.sha256.clone(),
            purpose: "interoperability test".into(),
            recipient_kind: None,
        })
        .await
        .unwrap();

    // The consumer's node serves a receipt once the provider's node (its one witness, the
    // default quorum of a majority of one) has cosigned a checkpoint covering the request.
    let receipt = fetch_receipt(cn_dir, &t.id).await;
    let parsed = silkgate_log::Receipt::parse(&receipt).unwrap();
    let receipt_size = checkpoint_of(&parsed.checkpoint).size();
    let receipt_file = root.path().join("receipt.tlog-proof");
    std::fs::write(&receipt_file, &receipt).unwrap();
    // More entries, so the tiles hold a full tile as well as partial ones.
    for i in 0..300 {
        cn_op.register_organisation(&registration(i)).await.unwrap();
    }

    let program =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../silkgate-log/tests/go/verify_tiles.go");
    let binary = root.path().join("verify_tiles");
    let build = std::process::Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(&program)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env(
            "GOCACHE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("gocache"),
        )
        .env_remove("GOFLAGS")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let ident = identity::load_identity(cn_dir).unwrap();
    let ca = root.path().join("cn-ca.pem");
    std::fs::write(&ca, &ident.ca_cert_pem).unwrap();
    let run_go = |receipt: &Path| {
        std::process::Command::new(&binary)
            .arg("-ca")
            .arg(&ca)
            .arg("-receipt")
            .arg(receipt)
            .arg(format!("{}/log/", ident.config.public_url))
            .arg(log_key(cn_dir))
            .arg(receipt_size.to_string())
            .arg("-")
            .output()
            .unwrap()
    };
    let run = run_go(&receipt_file);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "Go refused the node's log: {}{stdout}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Go's roots are the node's: the current checkpoint's and the receipt's.
    let (entries, published) = stored(cn_dir).await;
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let words: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(words[0], "OK", "{stdout}");
    let size: u64 = words[1].parse().unwrap();
    assert!(size > 256, "{stdout}");
    assert!(published.iter().any(|(s, _)| *s == size));
    assert_eq!(
        words[2],
        mth(&leaves[..size as usize]).to_base64(),
        "{stdout}"
    );
    assert_eq!(
        words[3],
        format!(
            "old={receipt_size}:{}",
            checkpoint_of(&parsed.checkpoint).root().to_base64()
        )
    );
    assert_eq!(
        words[4],
        format!("receipt={}@{receipt_size}", parsed.index),
        "{stdout}"
    );

    // Go refuses a receipt whose inclusion proof was altered.
    let mut bad = parsed.clone();
    bad.proof[0].0[0] ^= 1;
    let bad_file = root.path().join("bad.tlog-proof");
    std::fs::write(&bad_file, bad.to_bytes()).unwrap();
    let run = run_go(&bad_file);
    assert!(
        !run.status.success(),
        "Go must refuse an altered inclusion proof"
    );
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("receipt inclusion proof"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
