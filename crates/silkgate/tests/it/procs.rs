//! Shared helpers of the process tests: nodes initialised on free loopback ports under one
//! committee-signed trust list, started as `silkgate node` child processes that are killed
//! when dropped, and an operator client that waits until its node answers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use silkgate_model::{Sector, TrustList};
use silkgate_node::api_types::RegisterOrganisationRequest;
use silkgate_node::client::{CredentialFile, OrgClient};
use silkgate_node::identity::{self, InitOptions, files};

/// The `silkgate` program built for these tests.
pub fn silkgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_silkgate"))
}

/// A node process, killed (SIGKILL on Unix) and reaped when dropped.
pub struct Proc(pub Child);

impl Proc {
    /// Kills the process with SIGKILL, as a power cut would stop it, and reaps it.
    pub fn kill(mut self) {
        self.0.kill().expect("the node process is ours to kill");
        self.0.wait().expect("the killed node process is reaped");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Initialises one node per state under `root/<STATE>` on free ports and gives every one the
/// same trust list (version 1) signed by a fresh committee key. Returns the node directories.
pub fn init_federation(root: &Path, states: &[&str]) -> Vec<PathBuf> {
    let committee = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let mut trusted = Vec::new();
    let mut dirs = Vec::new();
    for state in states {
        let port = free_port();
        let dir = root.join(state);
        let id = identity::init_node(&InitOptions {
            state: state.parse().unwrap(),
            dir: dir.clone(),
            listen: format!("127.0.0.1:{port}"),
            public_url: Some(format!("https://127.0.0.1:{port}")),
            committee_key: Some(committee.verifying_key()),
        })
        .unwrap();
        trusted.push(id.trusted_node());
        dirs.push(dir);
    }
    let list = identity::sign_trust_list(
        TrustList {
            version: 1,
            issued_at: 0,
            nodes: trusted,
        },
        &committee,
    )
    .unwrap();
    for dir in &dirs {
        identity::write_trust_list(dir, &list).unwrap();
    }
    dirs
}

/// Starts `silkgate node --dir DIR` with `extra` arguments, output discarded.
pub fn start(dir: &Path, extra: &[&str]) -> Proc {
    Proc(
        silkgate()
            .arg("node")
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// The operator's client of the node in `dir`, once the node answers (at most 20 s).
pub async fn operator(dir: &Path) -> OrgClient {
    let id = identity::load_identity(dir).unwrap();
    let token = std::fs::read_to_string(dir.join(files::OPERATOR_TOKEN)).unwrap();
    let client =
        OrgClient::new(&id.config.public_url, &id.ca_cert_pem, token.trim(), None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.trust_list().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "node in {} did not come up",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client
}

/// Registers the organisation `name` through its node's operator client; returns the
/// organisation's own client and its credential file (with its HPKE private key).
pub async fn register(op: &OrgClient, name: &str) -> (OrgClient, CredentialFile) {
    let (sk, pk) = silkgate_node::payload_crypto::generate_keypair();
    let creds = op
        .register_organisation(&RegisterOrganisationRequest {
            request_id: format!("reg-{name}"),
            name: name.into(),
            registration_number: "1".into(),
            sector: Sector::Trade.as_str().into(),
            contact: "dpo@example.org".into(),
            hpke_public_key: pk,
        })
        .await
        .unwrap();
    let file = CredentialFile {
        credentials: creds,
        hpke_private_key: sk,
    };
    (OrgClient::from_credentials(&file).unwrap(), file)
}

/// The id of the provider organisation `provider` as the catalogue names it, read from the
/// first catalogue entry matching `query` (an organisation's client does not report its own
/// id).
pub async fn provider_id(provider: &OrgClient, query: &str) -> String {
    let page = provider.catalogue(&[("q", query.into())]).await.unwrap();
    page.items[0].provider.clone()
}
