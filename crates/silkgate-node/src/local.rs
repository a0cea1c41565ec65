//! A federation of nodes on loopback in one process: what `silkgate demo`, the integration
//! tests and the benchmarks run. Each node keeps its own directory under a root, reused on
//! the next start; the root also holds the committee key that signs the trust list. Ports are
//! chosen by the system at every start, so a restart issues a new trust list version with the
//! new addresses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use silkgate_model::{Sector, StateCode, TrustList};
use tokio::net::TcpListener;

use crate::api_types::RegisterOrganisationRequest;
use crate::client::{ClientError, CredentialFile, OrgClient};
use crate::identity::{self, InitOptions, files};
use crate::{NodeError, NodeOptions, NodeState, RunningNode, payload_crypto};

/// One running node of a [`LocalFederation`].
#[derive(Debug)]
pub struct LocalNode {
    /// The running node.
    pub running: RunningNode,
    /// Its base URL.
    pub url: String,
    /// Its directory.
    pub dir: PathBuf,
    /// PEM of its CA.
    pub ca_cert_pem: String,
    /// The operator token.
    pub operator_token: String,
}

impl LocalNode {
    /// A client authenticated as the node's operator.
    ///
    /// # Errors
    /// [`ClientError`] if the client cannot be built.
    pub fn operator(&self) -> Result<OrgClient, ClientError> {
        OrgClient::new(&self.url, &self.ca_cert_pem, &self.operator_token, None)
    }

    /// Registers an organisation and returns a client authenticated as it (token and client
    /// certificate) with its credential file. Retrying with the same `request_id` returns the
    /// same organisation.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn register(
        &self,
        request_id: &str,
        name: &str,
        sector: Sector,
    ) -> Result<(OrgClient, CredentialFile), ClientError> {
        let (sk, pk) = payload_crypto::generate_keypair();
        let creds = self
            .operator()?
            .register_organisation(&RegisterOrganisationRequest {
                request_id: request_id.to_owned(),
                name: name.to_owned(),
                registration_number: format!("REG-{request_id}"),
                sector: sector.as_str().to_owned(),
                contact: format!("dpo@{request_id}.example"),
                hpke_public_key: pk,
            })
            .await?;
        let file = CredentialFile {
            credentials: creds,
            hpke_private_key: sk,
        };
        Ok((OrgClient::from_credentials(&file)?, file))
    }
}

/// Several nodes on loopback, one per state.
#[derive(Debug)]
pub struct LocalFederation {
    /// The nodes by state.
    pub nodes: BTreeMap<StateCode, LocalNode>,
    /// The root directory.
    pub root: PathBuf,
    /// Version of the trust list issued at this start.
    pub trust_list_version: u64,
}

fn committee_key(root: &Path) -> Result<SigningKey, NodeError> {
    let path = root.join("committee.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                NodeError::TrustList(format!("{}: expected 64 hex digits", path.display()))
            })?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    std::fs::create_dir_all(root)?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    use std::io::Write as _;
    opts.open(&path)?
        .write_all(hex::encode(key.to_bytes()).as_bytes())?;
    Ok(key)
}

impl LocalFederation {
    /// Starts a node for each state under `root` (creating missing node directories),
    /// issues and signs a trust list naming them all at their new addresses, and serves them.
    ///
    /// # Errors
    /// [`NodeError`].
    pub async fn start(
        root: &Path,
        states: &[StateCode],
        options: NodeOptions,
    ) -> Result<Self, NodeError> {
        let committee = committee_key(root)?;
        let mut bound = Vec::new();
        let mut version = 0;
        for &state in states {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let dir = root.join(state.as_str().to_lowercase());
            let url = format!("https://127.0.0.1:{}", addr.port());
            if dir.join(files::CONFIG).exists() {
                identity::set_address(&dir, &addr.to_string(), &url)?;
                if let Ok(text) = std::fs::read_to_string(dir.join(files::TRUST_LIST))
                    && let Ok(list) =
                        serde_json::from_str::<silkgate_model::Signed<TrustList>>(&text)
                {
                    version = version.max(list.document.version);
                }
            } else {
                identity::init_node(&InitOptions {
                    state,
                    dir: dir.clone(),
                    listen: addr.to_string(),
                    public_url: Some(url.clone()),
                    committee_key: Some(committee.verifying_key()),
                })?;
            }
            bound.push((state, dir, listener, url));
        }
        let mut entries = Vec::new();
        for (_, dir, _, _) in &bound {
            entries.push(identity::load_identity(dir)?.trusted_node());
        }
        let list = identity::sign_trust_list(
            TrustList {
                version: version + 1,
                issued_at: options.clock.now_unix(),
                nodes: entries,
            },
            &committee,
        )?;
        let mut nodes = BTreeMap::new();
        for (state, dir, listener, url) in bound {
            identity::write_trust_list(&dir, &list)?;
            let node = NodeState::open(&dir, options.clone()).await?;
            let ca_cert_pem = node.identity().ca_cert_pem.clone();
            let operator_token = std::fs::read_to_string(dir.join(files::OPERATOR_TOKEN))?;
            let running = crate::serve(node, listener)?;
            nodes.insert(
                state,
                LocalNode {
                    running,
                    url,
                    dir,
                    ca_cert_pem,
                    operator_token: operator_token.trim().to_owned(),
                },
            );
        }
        Ok(Self {
            nodes,
            root: root.to_owned(),
            trust_list_version: version + 1,
        })
    }

    /// The node of `state`.
    ///
    /// # Panics
    /// If the federation has no node of that state (a bug in the caller).
    pub fn node(&self, state: &str) -> &LocalNode {
        let code = StateCode::new(state).expect("caller passes a valid state code");
        self.nodes
            .get(&code)
            .expect("the federation was started with this state")
    }

    /// Stops every node.
    pub fn shutdown(self) {
        for (_, n) in self.nodes {
            n.running.shutdown();
        }
    }

    /// Stops one node (its port closes, its open connections too), keeping what is needed to
    /// start it again at the same address with [`LocalFederation::resume`]: the other nodes
    /// see it down, then back, as after an outage.
    ///
    /// # Panics
    /// If `state` is not a running node of this federation.
    pub fn stop(&mut self, state: &str) -> StoppedNode {
        let code = StateCode::new(state).expect("caller passes a valid state code");
        let node = self
            .nodes
            .remove(&code)
            .expect("the federation runs a node of this state");
        let addr = node.running.addr;
        node.running.shutdown();
        StoppedNode {
            state: code,
            addr,
            url: node.url,
            dir: node.dir,
            ca_cert_pem: node.ca_cert_pem,
            operator_token: node.operator_token,
        }
    }

    /// Starts a stopped node again from its directory, at its old address.
    ///
    /// # Errors
    /// [`NodeError::Io`] if the address cannot be bound again within a few seconds; errors of
    /// opening the node.
    pub async fn resume(
        &mut self,
        stopped: StoppedNode,
        options: NodeOptions,
    ) -> Result<(), NodeError> {
        let mut tries = 0;
        let listener = loop {
            // SO_REUSEADDR: connections the old listener closed may linger in TIME_WAIT.
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            match socket.bind(stopped.addr).and_then(|()| socket.listen(1024)) {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    tracing::debug!(error = %e, "address not free yet");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let node = NodeState::open(&stopped.dir, options).await?;
        let running = crate::serve(node, listener)?;
        self.nodes.insert(
            stopped.state,
            LocalNode {
                running,
                url: stopped.url,
                dir: stopped.dir,
                ca_cert_pem: stopped.ca_cert_pem,
                operator_token: stopped.operator_token,
            },
        );
        Ok(())
    }
}

/// A node taken down by [`LocalFederation::stop`], to be started again by
/// [`LocalFederation::resume`].
#[derive(Debug)]
pub struct StoppedNode {
    state: StateCode,
    addr: std::net::SocketAddr,
    url: String,
    dir: PathBuf,
    ca_cert_pem: String,
    operator_token: String,
}

/// Synthetic customs-declaration rows (no persons, generated from `seed`): the columns and a
/// CSV payload with a header and `rows` records.
pub fn synthetic_trade_csv(rows: usize, seed: u64) -> (Vec<crate::api_types::ColumnView>, Vec<u8>) {
    let cols = [
        ("declaration_id", "string"),
        ("hs_code", "string"),
        ("origin", "string"),
        ("destination", "string"),
        ("value_usd", "integer"),
        ("weight_kg", "integer"),
    ];
    let states: Vec<&str> = silkgate_model::MEMBER_STATES
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut out = b"declaration_id,hs_code,origin,destination,value_usd,weight_kg\n".to_vec();
    // A small linear congruential generator: deterministic, dependency-free, good enough for
    // made-up trade figures.
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    for i in 0..rows {
        let o = states[(next() % 10) as usize];
        let d = states[(next() % 10) as usize];
        out.extend_from_slice(
            format!(
                "D{seed:04}-{i:07},{:04}.{:02},{o},{d},{},{}\n",
                next() % 9700 + 100,
                next() % 100,
                next() % 1_000_000,
                next() % 50_000
            )
            .as_bytes(),
        );
    }
    (
        cols.iter()
            .map(|(n, t)| crate::api_types::ColumnView {
                name: (*n).into(),
                ty: (*t).into(),
            })
            .collect(),
        out,
    )
}
