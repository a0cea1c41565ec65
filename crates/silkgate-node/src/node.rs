//! The running node: its state, trust list, TLS, the accept loop and the delivery worker.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use axum::http::HeaderMap;
use ed25519_dalek::VerifyingKey;
use rustls::pki_types::CertificateDer;
use silkgate_model::{NewEvent, Organisation, Signed, TrustList, TrustedNode};
use silkgate_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::error::ApiError;
use crate::identity::{IdentityError, NodeIdentity, files, load_identity, sha256_hex};
use crate::metrics::Metrics;
use crate::tls;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node directory is incomplete or malformed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] silkgate_store::StoreError),
    /// TLS configuration failed.
    #[error("tls: {0}")]
    Tls(#[from] tls::TlsError),
    /// The trust list is not acceptable.
    #[error("trust list: {0}")]
    TrustList(String),
    /// The transparency log could not be opened.
    #[error("log: {0}")]
    Log(#[from] crate::log_service::LogServiceError),
    /// Binding or serving failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The rule packs could not be loaded or validated.
    #[error("rule packs: {0}")]
    RulePacks(String),
}

/// Knobs for tests and benchmarks, and the operator's compliance settings.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Sleep this long after sending each encrypted record: lets the crash test kill a node
    /// in the middle of a delivery.
    pub delivery_record_delay: Option<Duration>,
    /// Cosignatures a log checkpoint needs to be final (default: a majority of the other
    /// member states on the trust list).
    pub log_quorum: Option<usize>,
    /// Directory of rule packs to load instead of the ones built into the binary.
    pub rulepacks_dir: Option<PathBuf>,
    /// The operator's de-identification rules: entities that never leave this node in clear.
    /// When the content review finds one, the decision gets the `node.deidentify` obligation
    /// and the column is transformed before encryption.
    pub deidentify: BTreeMap<silkgate_scan::Entity, silkgate_scan::Transform>,
    /// The node's clock: every time it records and every day it decides on (agreement
    /// validity, approvals, expiry, retention, year-to-date counters) comes from it. The
    /// system clock by default; tests and demos hand a [`silkgate_model::ManualClock`]'s and
    /// move it instead of sleeping.
    pub clock: silkgate_model::Clock,
    /// What a transfer whose content review could not read the whole payload gets:
    /// refused (the default) or decided with the unread part treated as personal data.
    pub incomplete_review: crate::pipeline::IncompleteReview,
    /// More routes served beside the API, built from the node's state (the web portal
    /// mounts itself here, since it depends on this crate and not the other way round).
    pub mount: Option<Mount>,
}

/// Builds extra routes from the node's state; see [`NodeOptions::mount`].
#[derive(Clone)]
pub struct Mount(pub Arc<dyn Fn(NodeState) -> axum::Router + Send + Sync>);

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mount(..)")
    }
}

/// The rule packs built into the binary, loaded and validated once per process.
fn embedded_policy() -> Result<Arc<silkgate_policy::PolicyEngine>, NodeError> {
    static ENGINE: OnceLock<Result<Arc<silkgate_policy::PolicyEngine>, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            silkgate_policy::PolicyEngine::embedded()
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(NodeError::RulePacks)
}

/// Information about the TLS connection a request came in on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Certificates the peer presented (empty if none).
    pub peer_certs: Arc<Vec<CertificateDer<'static>>>,
    /// Remote address.
    pub remote: SocketAddr,
}

pub(crate) struct Inner {
    pub(crate) identity: NodeIdentity,
    pub(crate) store: Store,
    pub(crate) trust: RwLock<Arc<Signed<TrustList>>>,
    pub(crate) committee_key: VerifyingKey,
    pub(crate) tls_server: RwLock<Arc<rustls::ServerConfig>>,
    pub(crate) peers: RwLock<reqwest::Client>,
    pub(crate) delivery_peers: RwLock<reqwest::Client>,
    pub(crate) metrics: Metrics,
    pub(crate) wake: Notify,
    /// Wakes the outbox task when a message to a peer node is queued.
    pub(crate) outbox_wake: Notify,
    pub(crate) in_flight: Mutex<HashSet<String>>,
    pub(crate) options: NodeOptions,
    pub(crate) log: Arc<crate::log_service::NodeLog>,
    pub(crate) peer_sizes: crate::witness::PeerSizes,
    pub(crate) policy: Arc<silkgate_policy::PolicyEngine>,
}

/// A node's shared state; cheap to clone. Build the HTTP router with [`crate::app`].
#[derive(Clone)]
pub struct NodeState(pub(crate) Arc<Inner>);

impl std::fmt::Debug for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeState")
            .field("node_id", &self.0.identity.config.node_id)
            .finish_non_exhaustive()
    }
}

/// Who is calling the API.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The node operator (the state's data-security authority).
    Operator,
    /// A registered organisation.
    Org(Organisation),
}

fn verify_trust_list(list: &Signed<TrustList>, committee: &VerifyingKey) -> Result<(), NodeError> {
    list.verify(committee)
        .map_err(|e| NodeError::TrustList(e.to_string()))?;
    Ok(())
}

fn peer_client(identity: &NodeIdentity, trust: &TrustList) -> Result<reqwest::Client, NodeError> {
    let config = tls::peer_client_config(trust, &identity.tls_cert_pem, &identity.tls_key_pem)?;
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| NodeError::TrustList(format!("peer client: {e}")))
}

/// The client for delivery bodies: HTTP/1.1 only. A delivery is one long upload, which
/// HTTP/1.1 carries as large chunks with no flow control of its own; HTTP/2 would cut it
/// into 16 KiB frames under per-stream windows, costing wake-ups on both nodes.
fn delivery_client(
    identity: &NodeIdentity,
    trust: &TrustList,
) -> Result<reqwest::Client, NodeError> {
    let mut config = tls::peer_client_config(trust, &identity.tls_cert_pem, &identity.tls_key_pem)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .http1_only()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| NodeError::TrustList(format!("delivery client: {e}")))
}

impl NodeState {
    /// Opens the node in `dir` (written by [`crate::identity::init_node`]): loads keys,
    /// verifies the trust list against the committee key and refuses one older than a list
    /// already accepted, opens the store.
    ///
    /// # Errors
    /// [`NodeError`].
    pub async fn open(dir: &Path, options: NodeOptions) -> Result<Self, NodeError> {
        let identity = load_identity(dir)?;
        let committee_key =
            parse_verifying_key(&identity.config.committee_key).ok_or_else(|| {
                NodeError::TrustList("committee_key in silkgate.toml is not a valid key".into())
            })?;
        let list_path = dir.join(files::TRUST_LIST);
        let text = std::fs::read_to_string(&list_path).map_err(|source| IdentityError::Io {
            path: list_path.clone(),
            source,
        })?;
        let list: Signed<TrustList> = serde_json::from_str(&text)
            .map_err(|e| NodeError::TrustList(format!("{}: {e}", list_path.display())))?;
        verify_trust_list(&list, &committee_key)?;
        let store = Store::open_sqlite(&identity.data_dir())
            .await?
            .with_clock(options.clock.clone());
        let tls_server = tls::server_config(
            &list.document,
            &identity.tls_cert_pem,
            &identity.tls_key_pem,
        )?;
        let peers = peer_client(&identity, &list.document)?;
        let delivery_peers = delivery_client(&identity, &list.document)?;
        let log = crate::log_service::NodeLog::open(
            &store,
            &identity.config.node_id,
            &identity.signing_key,
        )
        .await?;
        let policy = match &options.rulepacks_dir {
            Some(dir) => Arc::new(
                silkgate_policy::PolicyEngine::load_dir(dir)
                    .map_err(|e| NodeError::RulePacks(e.to_string()))?,
            ),
            None => embedded_policy()?,
        };
        let state = Self(Arc::new(Inner {
            identity,
            store,
            trust: RwLock::new(Arc::new(list.clone())),
            committee_key,
            tls_server: RwLock::new(Arc::new(tls_server)),
            peers: RwLock::new(peers),
            delivery_peers: RwLock::new(delivery_peers),
            metrics: Metrics::default(),
            wake: Notify::new(),
            outbox_wake: Notify::new(),
            in_flight: Mutex::new(HashSet::new()),
            options,
            log: Arc::new(log),
            peer_sizes: Default::default(),
            policy,
        }));
        state.accept_trust_list(list).await?;
        Ok(state)
    }

    /// Accepts a new signed trust list: the committee's signature must verify and its version
    /// must not be lower than the one in force. Recorded as an event.
    ///
    /// # Errors
    /// [`NodeError::TrustList`] when refused.
    pub async fn accept_trust_list(&self, list: Signed<TrustList>) -> Result<(), NodeError> {
        verify_trust_list(&list, &self.0.committee_key)?;
        let version = list.document.version;
        let mut tx = self.0.store.begin().await?;
        let current: Option<u64> = tx
            .kv_get("trust_list_version")
            .await?
            .and_then(|v| v.parse().ok());
        if let Some(current) = current
            && version < current
        {
            return Err(NodeError::TrustList(format!(
                "version {version} is older than version {current} already accepted"
            )));
        }
        if current != Some(version) {
            tx.kv_set("trust_list_version", &version.to_string())
                .await?;
            tx.append_event(&NewEvent::new(
                "trust-list.accepted",
                format!("trust-list/{version}"),
                serde_json::json!({
                    "version": version,
                    "nodes": list.document.nodes.iter().map(|n| &n.node_id).collect::<Vec<_>>(),
                }),
            ))
            .await?;
        }
        tx.commit().await?;
        let id = &self.0.identity;
        let server = tls::server_config(&list.document, &id.tls_cert_pem, &id.tls_key_pem)?;
        let peers = peer_client(id, &list.document)?;
        let delivery_peers = delivery_client(id, &list.document)?;
        *self
            .0
            .tls_server
            .write()
            .expect("trust lock never poisoned") = Arc::new(server);
        *self.0.peers.write().expect("trust lock never poisoned") = peers;
        *self
            .0
            .delivery_peers
            .write()
            .expect("trust lock never poisoned") = delivery_peers;
        *self.0.trust.write().expect("trust lock never poisoned") = Arc::new(list);
        Ok(())
    }

    /// The trust list in force.
    pub fn trust_list(&self) -> Arc<Signed<TrustList>> {
        self.0
            .trust
            .read()
            .expect("trust lock never poisoned")
            .clone()
    }

    /// The node's store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The node's identity.
    pub fn identity(&self) -> &NodeIdentity {
        &self.0.identity
    }

    /// The rule packs, loaded once at start.
    pub fn policy(&self) -> &silkgate_policy::PolicyEngine {
        &self.0.policy
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The node's transparency log.
    pub fn log(&self) -> &crate::log_service::NodeLog {
        &self.0.log
    }

    /// The node's clock, the one source of its times and days.
    pub fn clock(&self) -> &silkgate_model::Clock {
        &self.0.options.clock
    }

    /// This node's id on the trust list.
    pub fn node_id(&self) -> &str {
        &self.0.identity.config.node_id
    }

    /// The HTTP/1.1 client for delivery bodies (see `delivery_client`).
    pub(crate) fn delivery_peers(&self) -> reqwest::Client {
        self.0
            .delivery_peers
            .read()
            .expect("trust lock never poisoned")
            .clone()
    }

    pub(crate) fn peers(&self) -> reqwest::Client {
        self.0
            .peers
            .read()
            .expect("trust lock never poisoned")
            .clone()
    }

    pub(crate) fn trusted(&self, node_id: &str) -> Option<TrustedNode> {
        self.trust_list().document.node(node_id).cloned()
    }

    /// Authenticates a request: `Authorization: Bearer <token>`; if the TLS peer presented a
    /// client certificate, it must be the one issued to the token's organisation.
    pub(crate) async fn caller(
        &self,
        headers: &HeaderMap,
        conn: Option<&ConnInfo>,
    ) -> Result<Caller, ApiError> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("send 'Authorization: Bearer <api token>'".into())
            })?;
        let hash = sha256_hex(token.trim().as_bytes());
        if hash == self.0.identity.config.operator_token_sha256 {
            return Ok(Caller::Operator);
        }
        let (org, cert_hash) = self
            .0
            .store
            .organisation_by_token(&hash)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("unknown API token".into()))?;
        if let Some(end) = conn.and_then(|c| c.peer_certs.first()) {
            // A certificate chaining to a listed CA but issued to someone else is refused.
            if sha256_hex(end.as_ref()) != cert_hash {
                return Err(ApiError::Unauthorized(
                    "the client certificate was not issued to this token's organisation".into(),
                ));
            }
        }
        Ok(Caller::Org(org))
    }

    /// Wakes the delivery worker.
    pub(crate) fn wake_worker(&self) {
        self.0.wake.notify_one();
    }

    /// Wakes the outbox task (see [`crate::outbox`]) after a message was queued.
    pub fn wake_outbox(&self) {
        self.0.outbox_wake.notify_one();
    }
}

/// Parses a hex Ed25519 public key.
pub fn parse_verifying_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// A node serving on a socket; dropping it does not stop it, call [`RunningNode::shutdown`].
#[derive(Debug)]
pub struct RunningNode {
    /// The node state.
    pub state: NodeState,
    /// Bound address.
    pub addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Tells open connections to close.
    closing: tokio::sync::watch::Sender<bool>,
}

impl RunningNode {
    /// Stops accepting connections, closes the open ones (so a peer's pooled connection
    /// cannot reach a stopped node) and stops the background tasks.
    pub fn shutdown(self) {
        let _ = self.closing.send(true);
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Serves the node on `listener` (HTTPS, HTTP/1.1 and HTTP/2) and starts the delivery worker,
/// which first resumes transfers a previous run left unfinished.
///
/// # Errors
/// [`NodeError::Io`] if the listener's address cannot be read.
pub fn serve(state: NodeState, listener: TcpListener) -> Result<RunningNode, NodeError> {
    let addr = listener.local_addr()?;
    let app = crate::app(state.clone());
    let accept_state = state.clone();
    let (closing, closed) = tokio::sync::watch::channel(false);
    let accept = tokio::spawn(async move {
        loop {
            let (tcp, remote) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let config = accept_state
                .0
                .tls_server
                .read()
                .expect("trust lock never poisoned")
                .clone();
            let app = app.clone();
            let mut closed = closed.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                let tls = match tokio_rustls::TlsAcceptor::from(config).accept(tcp).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake refused");
                        return;
                    }
                };
                let peer_certs = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                    .unwrap_or_default();
                let conn = ConnInfo {
                    peer_certs: Arc::new(peer_certs),
                    remote,
                };
                let svc = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(conn.clone());
                        let app = app.clone();
                        async move {
                            use tower::ServiceExt as _;
                            app.oneshot(req.map(axum::body::Body::new)).await
                        }
                    },
                );
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                tokio::select! {
                    served = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), svc) => {
                        if let Err(e) = served {
                            tracing::debug!(%remote, error = %e, "connection ended with an error");
                        }
                    }
                    // Closed by `RunningNode::shutdown`; a node dropped without it serves on.
                    _ = async {
                        if closed.wait_for(|c| *c).await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    } => {}
                }
            });
        }
    });
    let worker = tokio::spawn(crate::pipeline::worker(state.clone()));
    let sequencer = tokio::spawn(crate::log_service::sequencer(state.clone()));
    let witnessing = tokio::spawn(crate::witness::witnessing(state.clone()));
    let retention = tokio::spawn(crate::agreements::retention(state.clone()));
    let outbox = tokio::spawn(crate::outbox::task(state.clone()));
    Ok(RunningNode {
        state,
        addr,
        tasks: vec![accept, worker, sequencer, witnessing, retention, outbox],
        closing,
    })
}
