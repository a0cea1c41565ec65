//! The node's transparency log as processes: `silkgate log verify --url` audits a running
//! node; a node killed (SIGKILL) while it appends under load loses no acknowledged entry,
//! stays consistent with every checkpoint it published, and keeps appending after restart.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use silkgate_log::{Entry, Frontier, HashReader, NodeId, StorageError, leaf_hash, tree_hash};
use silkgate_model::{Sector, TrustList};
use silkgate_node::api_types::RegisterOrganisationRequest;
use silkgate_node::client::OrgClient;
use silkgate_node::identity::{self, InitOptions, files};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_silkgate"))
            .arg("node")
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn operator(dir: &Path) -> OrgClient {
    let id = identity::load_identity(dir).unwrap();
    let token = std::fs::read_to_string(dir.join(files::OPERATOR_TOKEN)).unwrap();
    let client =
        OrgClient::new(&id.config.public_url, &id.ca_cert_pem, token.trim(), None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.trust_list().await.is_err() {
        assert!(Instant::now() < deadline, "node did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
}

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

/// `silkgate log verify --url`, remembering the last checkpoint in `state`.
fn verify_cli(dir: &Path, state: &Path) -> (bool, String) {
    let id = identity::load_identity(dir).unwrap();
    let ca = dir.join("ca-for-verify.pem");
    std::fs::write(&ca, &id.ca_cert_pem).unwrap();
    let key = silkgate_node::log_service::log_verifier(
        &id.config.node_id,
        &id.signing_key.verifying_key(),
    )
    .unwrap();
    let trust = dir.join("log-trust.txt");
    std::fs::write(&trust, format!("{key}\nquorum 0\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_silkgate"))
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

/// The node's entries and published checkpoints, read from its database.
async fn stored(dir: &Path) -> (Vec<Vec<u8>>, Vec<(u64, Vec<u8>)>) {
    let id = identity::load_identity(dir).unwrap();
    let store = silkgate_store::Store::open_sqlite(&id.data_dir())
        .await
        .unwrap();
    let head = store.log_head().await.unwrap();
    let entries = store.log_entries(0..head.size).await.unwrap();
    assert_eq!(entries.len() as u64, head.size, "no hole in the entries");
    (entries, store.log_published().await.unwrap())
}

struct Hashes(std::collections::HashMap<NodeId, silkgate_log::Hash>);

impl HashReader for Hashes {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<silkgate_log::Hash>, StorageError> {
        ids.iter()
            .map(|id| {
                self.0.get(id).copied().ok_or(StorageError::Missing {
                    what: format!("{id:?}"),
                })
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_appending_loses_no_acknowledged_entry_and_stays_consistent() {
    let root = tempfile::tempdir().unwrap();
    let committee = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = root.path().join("KZ");
    let id = identity::init_node(&InitOptions {
        state: "KZ".parse().unwrap(),
        dir: dir.clone(),
        listen: format!("127.0.0.1:{port}"),
        public_url: Some(format!("https://127.0.0.1:{port}")),
        committee_key: Some(committee.verifying_key()),
    })
    .unwrap();
    let list = identity::sign_trust_list(
        TrustList {
            version: 1,
            issued_at: 0,
            nodes: vec![id.trusted_node()],
        },
        &committee,
    )
    .unwrap();
    identity::write_trust_list(&dir, &list).unwrap();
    let state_file = root.path().join("verify-state.json");

    let mut node = start(&dir);
    let op = Arc::new(operator(&dir).await);
    for i in 0..3 {
        op.register_organisation(&registration(i)).await.unwrap();
    }
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(ok, "verify against a running node: {text}");
    assert!(text.contains("OK"), "{text}");

    // Load: four clients register organisations as fast as they can; each acknowledged
    // registration is remembered. The node is killed in the middle.
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
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
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.0.kill().unwrap(); // SIGKILL
    node.0.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 10,
        "load ran: {} acknowledged",
        acknowledged.len()
    );

    // Restart: every acknowledged registration is in the log, the tree is consistent with
    // every checkpoint published before the kill, and appends continue.
    let node = start(&dir);
    let op = operator(&dir).await;
    op.register_organisation(&registration(99_999))
        .await
        .unwrap();
    let (entries, published) = stored(&dir).await;
    let texts: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(e.clone()).unwrap())
        .collect();
    for org in &acknowledged {
        let line = format!("id subject {org}\n");
        assert!(
            texts.iter().any(|t| t.contains(&line)),
            "acknowledged registration of {org} is in the log"
        );
    }
    for e in &entries {
        Entry::parse(e).unwrap();
    }
    let mut frontier = Frontier::empty();
    let mut nodes = Vec::new();
    for e in &entries {
        frontier.append(leaf_hash(e), &mut nodes);
    }
    let hashes = Hashes(nodes.into_iter().collect());
    assert!(published.len() >= 2, "checkpoints were published");
    for (size, note) in &published {
        let note = silkgate_log::Note::parse(note).unwrap();
        let cp = silkgate_log::Checkpoint::parse_text(note.text_unverified()).unwrap();
        assert_eq!(cp.size(), *size);
        assert_eq!(
            *cp.root(),
            tree_hash(*size, &hashes).unwrap(),
            "the tree after restart has the root published at size {size}"
        );
    }
    // The outside auditor, remembering the checkpoint it verified before the kill, agrees.
    let (ok, text) = verify_cli(&dir, &state_file);
    assert!(ok, "verify after restart: {text}");
    drop(node);
}
