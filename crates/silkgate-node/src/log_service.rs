//! The node side of the transparency log: the sequencer that turns every committed event into
//! a log entry before the API acknowledges, the signed checkpoint, the C2SP `tlog-tiles` HTTP
//! API under `/log/`, and receipt bundles.
//!
//! Entry `i` of a node's log is the event with `seq = i + 1` (events have no gaps), converted
//! by [`silkgate_log::entry_from_event`] (identifiers and hashes only). The events table is the
//! source: a state change and its event commit in one transaction, and the sequencer appends
//! every event not yet logged in one durable write per batch (group commit). A mutating
//! request is acknowledged only once the log holds every event committed before its answer
//! ([`acknowledge_after_logging`]); after a crash the sequencer catches up at start, so no
//! acknowledged event is ever missing from the log, and a missing one was never acknowledged.

use std::ops::Range;
use std::sync::RwLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use silkgate_log::tile::{TILE_WIDTH, encode_entry_bundle, tile_within};
use silkgate_log::{
    Checkpoint, Frontier, Hash, HashReader, KeyName, NodeId, NoteSigner, SignatureType,
    StorageError, TileId, TileKind, TreeError, VerifierKey, entry_from_event, leaf_hash,
};
use silkgate_store::{LogBatch, Store, StoreError};
use tokio::sync::{Mutex, watch};

use crate::NodeState;
use crate::error::ApiError;

/// Most events appended in one durable write.
const MAX_BATCH: u32 = 20_000;

/// A log operation of the node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogServiceError {
    /// The store failed.
    #[error("log store: {0}")]
    Store(#[from] StoreError),
    /// The stored tree is incomplete or a proof cannot be built.
    #[error("log tree: {0}")]
    Tree(#[from] TreeError),
    /// An event could not become an entry.
    #[error("event {seq} cannot be logged: {reason}")]
    Entry {
        /// The event's sequence number.
        seq: i64,
        /// Why.
        reason: String,
    },
    /// The events table skipped a sequence number the log expected.
    #[error("field 'seq': expected event {expected} next, found {found}")]
    Gap {
        /// The next sequence number the log needs.
        expected: i64,
        /// What the events table returned.
        found: i64,
    },
    /// Signing a checkpoint failed.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] silkgate_log::CheckpointError),
}

/// The origin line of a node's log checkpoints (and its log key name).
pub fn log_origin(node_id: &str) -> String {
    format!("log.{node_id}.silkgate")
}

/// The key name of a node's witness cosignatures.
pub fn witness_name(node_id: &str) -> String {
    format!("witness.{node_id}.silkgate")
}

/// The log verifier key (type `0x01`) of a node, from the Ed25519 key on the trust list.
pub fn log_verifier(node_id: &str, key: &ed25519_dalek::VerifyingKey) -> Option<VerifierKey> {
    Some(VerifierKey::new(
        KeyName::new(&log_origin(node_id)).ok()?,
        SignatureType::Ed25519,
        *key,
    ))
}

/// The witness verifier key (type `0x04`) of a node, from the Ed25519 key on the trust list.
pub fn witness_verifier(node_id: &str, key: &ed25519_dalek::VerifyingKey) -> Option<VerifierKey> {
    Some(VerifierKey::new(
        KeyName::new(&witness_name(node_id)).ok()?,
        SignatureType::Cosignature,
        *key,
    ))
}

/// The latest checkpoint this node publishes.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) size: u64,
    pub(crate) note: Vec<u8>,
}

/// The node's log: its signer, the sequencer's right edge and the published checkpoint.
pub struct NodeLog {
    origin: String,
    pub(crate) signer: NoteSigner,
    pub(crate) cosigner: NoteSigner,
    frontier: Mutex<Frontier>,
    logged: watch::Sender<u64>,
    published: RwLock<Published>,
}

impl std::fmt::Debug for NodeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLog")
            .field("origin", &self.origin)
            .field("logged", &*self.logged.borrow())
            .finish_non_exhaustive()
    }
}

/// Reads subtree hashes from the store for the pure tree code. Call only from a blocking
/// thread ([`tokio::task::spawn_blocking`]): it waits on the async store.
pub(crate) struct StoreHashes {
    store: Store,
    handle: tokio::runtime::Handle,
}

impl StoreHashes {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            handle: tokio::runtime::Handle::current(),
        }
    }
}

impl HashReader for StoreHashes {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StorageError> {
        let keys: Vec<(u8, u64)> = ids.iter().map(|i| (i.level, i.index)).collect();
        let found = self
            .handle
            .block_on(self.store.log_hashes(&keys))
            .map_err(|e| StorageError::Backend(Box::new(e)))?;
        found
            .into_iter()
            .zip(ids)
            .map(|(h, id)| {
                h.map(Hash).ok_or_else(|| StorageError::Missing {
                    what: format!("hash at level {} index {}", id.level, id.index),
                })
            })
            .collect()
    }
}

/// Runs `f` with a store-backed [`HashReader`] on a blocking thread.
pub(crate) async fn with_hashes<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&StoreHashes) -> T + Send + 'static,
) -> T {
    let reader = StoreHashes::new(store.clone());
    tokio::task::spawn_blocking(move || f(&reader))
        .await
        .expect("log reader thread never panics")
}

/// The inclusion proof (audit path) of entry `index` in the tree of `size` entries, read from
/// the store: what receipts carry and the portal's log explorer shows.
///
/// # Errors
/// [`silkgate_log::TreeError`] when `index >= size` or a hash is not stored.
pub async fn inclusion_proof(
    store: &Store,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, silkgate_log::TreeError> {
    with_hashes(store, move |r| {
        silkgate_log::inclusion_proof(index, size, r)
    })
    .await
}

impl NodeLog {
    /// Opens the log of the node whose key is `key`: reads the right edge of the stored tree
    /// and the latest checkpoint, signing one for the current tree if there is none.
    ///
    /// # Errors
    /// [`LogServiceError`] when the stored tree is incomplete or the store fails.
    pub async fn open(
        store: &Store,
        node_id: &str,
        key: &ed25519_dalek::SigningKey,
    ) -> Result<Self, LogServiceError> {
        let origin = log_origin(node_id);
        let name = |n: &str| {
            KeyName::new(n).map_err(|e| LogServiceError::Entry {
                seq: 0,
                reason: format!("node id '{node_id}' does not make a key name: {e}"),
            })
        };
        let signer = NoteSigner::from_seed(name(&origin)?, SignatureType::Ed25519, key.to_bytes());
        let cosigner = NoteSigner::from_seed(
            name(&witness_name(node_id))?,
            SignatureType::Cosignature,
            key.to_bytes(),
        );
        let head = store.log_head().await?;
        let size = head.size;
        let frontier = with_hashes(store, move |r| Frontier::load(size, r)).await?;
        let published = match head.checkpoint {
            Some(note) => Published {
                size: head.checkpoint_size,
                note,
            },
            None => {
                let cp = Checkpoint::new(&origin, frontier.size(), frontier.root())?;
                let note = cp.sign(&signer)?.to_bytes();
                store.log_store_checkpoint(cp.size(), &note).await?;
                Published {
                    size: cp.size(),
                    note,
                }
            }
        };
        let (logged, _) = watch::channel(size);
        Ok(Self {
            origin,
            signer,
            cosigner,
            frontier: Mutex::new(frontier),
            logged,
            published: RwLock::new(published),
        })
    }

    /// The origin line of this log.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key of this log's checkpoints.
    pub fn verifier(&self) -> VerifierKey {
        self.signer.verifier()
    }

    /// Number of entries durably logged.
    pub fn size(&self) -> u64 {
        *self.logged.borrow()
    }

    /// The checkpoint served at `/log/checkpoint`, with the cosignatures gathered so far.
    pub fn checkpoint_bytes(&self) -> Vec<u8> {
        self.published().note
    }

    pub(crate) fn published(&self) -> Published {
        self.published
            .read()
            .expect("published lock never poisoned")
            .clone()
    }

    pub(crate) fn set_published(&self, p: Published) {
        *self
            .published
            .write()
            .expect("published lock never poisoned") = p;
    }

    /// Publishes a checkpoint with cosignatures, unless a newer one was signed meanwhile.
    pub(crate) fn publish_cosigned(&self, p: Published) {
        let mut current = self
            .published
            .write()
            .expect("published lock never poisoned");
        if p.size >= current.size {
            *current = p;
        }
    }

    /// Appends every committed event not yet logged, in batches of one durable write each,
    /// then signs and stores a checkpoint of the new tree. Returns the log size.
    ///
    /// # Errors
    /// [`LogServiceError`]; then nothing of the failed batch is stored.
    pub async fn sync(&self, store: &Store) -> Result<u64, LogServiceError> {
        self.sync_to(store, None).await
    }

    async fn sync_to(&self, store: &Store, target: Option<u64>) -> Result<u64, LogServiceError> {
        let mut frontier = self.frontier.lock().await;
        let before = frontier.size();
        if target.is_some_and(|t| before >= t) {
            return Ok(before);
        }
        loop {
            let size = frontier.size();
            let events = store.events(size as i64, MAX_BATCH).await?;
            let Some(last) = events.last() else { break };
            let last_seq = last.seq;
            let mut next = frontier.clone();
            let mut entries = Vec::with_capacity(events.len());
            let mut hashes = Vec::with_capacity(events.len() * 2);
            for (i, event) in events.iter().enumerate() {
                let expected = size as i64 + 1 + i as i64;
                if event.seq != expected {
                    return Err(LogServiceError::Gap {
                        expected,
                        found: event.seq,
                    });
                }
                let bytes = entry_from_event(event)
                    .map_err(|e| LogServiceError::Entry {
                        seq: event.seq,
                        reason: e.to_string(),
                    })?
                    .to_bytes();
                next.append(leaf_hash(&bytes), &mut hashes);
                entries.push(bytes);
            }
            let rows: Vec<(u8, u64, [u8; 32])> = hashes
                .iter()
                .map(|(id, h)| (id.level, id.index, h.0))
                .collect();
            store
                .log_commit(LogBatch {
                    start: size,
                    entries: &entries,
                    hashes: &rows,
                    last_seq,
                })
                .await?;
            *frontier = next;
            self.logged.send_replace(frontier.size());
        }
        let size = frontier.size();
        if size != before {
            let cp = Checkpoint::new(&self.origin, size, frontier.root())?;
            let note = cp.sign(&self.signer)?.to_bytes();
            store.log_store_checkpoint(size, &note).await?;
            self.set_published(Published { size, note });
        }
        Ok(size)
    }

    /// Re-reads the tree from the store and signs a checkpoint of it, as an operator who
    /// rewrote the database and restarted would; only for tests of fork detection.
    ///
    /// # Errors
    /// [`LogServiceError`].
    pub async fn danger_reload_and_sign(&self, store: &Store) -> Result<(), LogServiceError> {
        let mut frontier = self.frontier.lock().await;
        let size = frontier.size();
        *frontier = with_hashes(store, move |r| Frontier::load(size, r)).await?;
        let cp = Checkpoint::new(&self.origin, size, frontier.root())?;
        let note = cp.sign(&self.signer)?.to_bytes();
        store.log_store_checkpoint(size, &note).await?;
        self.set_published(Published { size, note });
        Ok(())
    }

    /// Returns once the log holds the events up to `seq`, logging them if needed. Concurrent
    /// callers queue on the sequencer: the first logs every event committed so far in one
    /// durable write and the others find their events already logged (group commit).
    ///
    /// # Errors
    /// [`LogServiceError`] when logging fails; the caller must not acknowledge.
    pub async fn wait_logged(&self, store: &Store, seq: i64) -> Result<(), LogServiceError> {
        let target = u64::try_from(seq).unwrap_or(0);
        if self.size() >= target {
            return Ok(());
        }
        self.sync_to(store, Some(target)).await.map(|_| ())
    }
}

/// The sequencer task: logs events committed without a waiting request (e.g. by the delivery
/// worker) within a fraction of a second.
pub(crate) async fn sequencer(state: NodeState) {
    let log = state.log();
    loop {
        if let Err(e) = log.sync(state.store()).await {
            tracing::error!(error = %e, "the log sequencer failed; retrying");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Middleware: a mutating API request is answered only after the log holds every event committed
/// before the answer was ready, so an acknowledged change is always in the log.
pub async fn acknowledge_after_logging(
    State(state): State<NodeState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The organisation and operator API; federation answers are not held (their events are
    // logged by the sequencer within a fraction of a second and caught up after a crash).
    let mutating = req.uri().path().starts_with("/api/")
        && !matches!(
            *req.method(),
            axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
        );
    let resp = next.run(req).await;
    if mutating {
        match state.store().last_event_seq().await {
            Ok(seq) => {
                if let Err(e) = state.log().wait_logged(state.store(), seq).await {
                    tracing::error!(error = %e, "logging failed; the answer is withheld");
                    return ApiError::internal(e).into_response();
                }
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    resp
}

fn cache(resp: &mut Response, value: &'static str) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
}

/// `GET /log/checkpoint`: the latest signed checkpoint with the cosignatures gathered so far
/// (tlog-tiles, "Checkpoint"). Not cached: it changes with every batch.
pub async fn get_checkpoint(State(state): State<NodeState>) -> Response {
    let p = state.log().published();
    let mut resp = (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        p.note,
    )
        .into_response();
    cache(&mut resp, "no-cache");
    resp
}

fn tile_error(reason: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{reason}\n"),
    )
        .into_response()
}

/// Reads the bytes of a tile or entry bundle within the tree of `published` entries, as
/// `/log/tile/...` serves them (also for exports and benchmarks).
///
/// # Errors
/// A text reason for a malformed or unpublished tile.
pub async fn read_published_tile(
    store: &Store,
    tile: &TileId,
    published: u64,
) -> Result<Vec<u8>, String> {
    if !tile_within(tile, published) {
        return Err(format!(
            "{} is not part of the published tree of size {published}",
            tile.path()
        ));
    }
    let fail = |e: StoreError| {
        tracing::error!(error = %e, "reading a tile failed");
        "the log store failed".to_owned()
    };
    match tile.kind {
        TileKind::Hashes(_) => {
            // A hash tile is a contiguous run of one tree level, so one range scan of the
            // primary key reads it (much faster than looking up each of 256 nodes).
            let nodes = tile.nodes();
            let Some(start) = nodes.first() else {
                return Ok(Vec::new());
            };
            let (level, first) = (start.level, start.index);
            let range = first..first + nodes.len() as u64;
            let hashes = store
                .log_hash_range(level, range.clone())
                .await
                .map_err(fail)?;
            let mut out = Vec::with_capacity(nodes.len() * 32);
            for (expected, (index, h)) in range.clone().zip(&hashes) {
                if *index != expected {
                    break;
                }
                out.extend_from_slice(h);
            }
            if out.len() != nodes.len() * 32 {
                tracing::error!(level, ?range, "a published hash is missing");
                return Err("the log store is incomplete".to_owned());
            }
            Ok(out)
        }
        TileKind::Entries => {
            let start = tile.index * TILE_WIDTH;
            let range: Range<u64> = start..start + u64::from(tile.width);
            let entries = store.log_entries(range).await.map_err(fail)?;
            if entries.len() != usize::from(tile.width) {
                return Err("the log store is incomplete".to_owned());
            }
            encode_entry_bundle(&entries).map_err(|e| e.to_string())
        }
    }
}

/// `GET /log/tile/{*path}`: hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles
/// `tile/entries/<N>[.p/<W>]` (tlog-tiles). Full tiles never change and are served
/// immutable; partial tiles are cached briefly.
pub async fn get_tile(State(state): State<NodeState>, Path(path): Path<String>) -> Response {
    let tile = match TileId::parse(&format!("tile/{path}")) {
        Ok(t) => t,
        Err(e) => return tile_error(e.to_string()),
    };
    let published = state.log().published().size;
    match read_published_tile(state.store(), &tile, published).await {
        Ok(bytes) => {
            let mut resp =
                ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response();
            if u64::from(tile.width) == TILE_WIDTH {
                cache(&mut resp, "public, max-age=31536000, immutable");
            } else {
                cache(&mut resp, "public, max-age=60");
            }
            resp
        }
        Err(reason) => tile_error(reason),
    }
}

/// `GET /api/v1/transfers/{id}/log-receipt`: a receipt bundle (c2sp.org/tlog-proof) for the
/// latest logged event of the transfer: the entry, its inclusion proof and the newest
/// checkpoint that reached the witness quorum, checkable offline by
/// `silkgate log verify-receipt`. 409 while no final checkpoint covers the entry yet.
/// Log entries are public through `/log/`; the bundle adds only proofs, so any
/// authenticated caller may ask.
pub async fn transfer_receipt(
    State(state): State<NodeState>,
    conn: Option<axum::Extension<crate::ConnInfo>>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.caller(&headers, conn.as_deref()).await?;
    let store = state.store();
    let events = store.events_about(&id).await?;
    let last = events
        .last()
        .ok_or_else(|| ApiError::NotFound(format!("transfer '{id}'")))?;
    let index = u64::try_from(last.seq - 1).map_err(ApiError::internal)?;
    state
        .log()
        .wait_logged(store, last.seq)
        .await
        .map_err(ApiError::internal)?;
    let quorum = crate::witness::quorum(&state);
    let checkpoint = store
        .log_published()
        .await?
        .into_iter()
        .rev()
        .filter(|(size, _)| *size > index)
        .find(|(_, note)| {
            silkgate_log::Note::parse(note)
                .is_ok_and(|n| n.signatures().len().saturating_sub(1) >= quorum)
        })
        .ok_or_else(|| ApiError::Conflict {
            field: "id".into(),
            reason: format!(
                "no checkpoint covering entry {index} has reached the quorum of {quorum} witnesses yet; retry shortly"
            ),
        })?;
    let size = checkpoint.0;
    let proof = inclusion_proof(store, index, size)
        .await
        .map_err(ApiError::internal)?;
    let entry = store
        .log_entries(index..index + 1)
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(format!("entry {index} is not stored")))?;
    let receipt = silkgate_log::Receipt {
        entry,
        index,
        proof,
        checkpoint: checkpoint.1,
    };
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        receipt.to_bytes(),
    )
        .into_response())
}
