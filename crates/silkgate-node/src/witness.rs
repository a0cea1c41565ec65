//! Witnessing between nodes (c2sp.org/tlog-witness, `add-checkpoint`, over the mutual-TLS
//! federation client).
//!
//! Server side, [`add_checkpoint`] at `POST /federation/v1/log/add-checkpoint`: the checks
//! are `silkgate_log::Witness`'s; the last checkpoint cosigned per log is kept in the store
//! (`witness_state`) and advanced by compare-and-set. A checkpoint that forks or rewrites the
//! history this node cosigned is refused; both signed checkpoints are kept as evidence
//! (`log_alerts`, shown to the operator at `GET /api/v1/log/alerts`) and the alert is itself
//! an event, so it enters this node's own log.
//!
//! Client side, [`witness_round`]: after the sequencer signs a checkpoint, the node sends it
//! with a consistency proof from each peer's last cosigned size, adds the cosignatures it gets
//! back to the published checkpoint, and stores it. A checkpoint is *final* once
//! [`quorum`] peers cosigned it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use silkgate_log::witness::{MAX_REQUEST_SIZE, conflict_body, response_body};
use silkgate_log::{
    AddCheckpoint, Checkpoint, CosignedState, Note, NoteSignature, Witness, WitnessError,
    consistency_proof,
};
use silkgate_model::{NewEvent, TrustedNode};

use crate::error::ApiError;
use crate::log_service::{Published, log_origin, log_verifier, with_hashes, witness_verifier};
use crate::{Caller, ConnInfo, NodeState, parse_verifying_key};

/// The cosignatures a node needs for a checkpoint to be final: the configured number, or by
/// default a majority of the other member states on the trust list.
pub fn quorum(state: &NodeState) -> usize {
    let others = state.trust_list().document.nodes.len().saturating_sub(1);
    let majority = if others == 0 { 0 } else { others / 2 + 1 };
    state.0.options.log_quorum.unwrap_or(majority)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn parse_state(bytes: &[u8]) -> Option<CosignedState> {
    let note = Note::parse(bytes).ok()?;
    let cp = Checkpoint::parse_text(note.text_unverified()).ok()?;
    Some(CosignedState {
        size: cp.size(),
        root: *cp.root(),
        checkpoint: bytes.to_vec(),
    })
}

/// The witness of this node over every other node's log on the trust list.
fn witness(state: &NodeState) -> Witness {
    let mut w = Witness::new(state.log().cosigner.clone())
        .expect("the cosigner is built as a cosignature key");
    for node in &state.trust_list().document.nodes {
        if node.node_id == state.node_id() {
            continue;
        }
        if let Some(key) =
            parse_verifying_key(&node.signing_key).and_then(|k| log_verifier(&node.node_id, &k))
        {
            w.add_log(&log_origin(&node.node_id), vec![key]);
        }
    }
    w
}

/// `POST /federation/v1/log/add-checkpoint`: cosigns another node's checkpoint if it is
/// consistent with the last one this node cosigned for that log (tlog-witness).
pub async fn add_checkpoint(
    State(state): State<NodeState>,
    conn: Option<axum::Extension<ConnInfo>>,
    body: axum::body::Bytes,
) -> Response {
    if conn.as_ref().is_none_or(|c| c.peer_certs.is_empty()) {
        return text(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            "a federation node's TLS client certificate is required\n".into(),
        );
    }
    if body.len() > MAX_REQUEST_SIZE {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text/plain; charset=utf-8",
            "request body too large\n".into(),
        );
    }
    match cosign(&state, &body).await {
        Ok(sig) => text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            response_body(&[sig]),
        ),
        Err(Refusal::Witness(WitnessError::Conflict { latest_size })) => text(
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            conflict_body(latest_size),
        ),
        Err(Refusal::Witness(e)) => text(
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            "text/plain; charset=utf-8",
            format!("{e}\n"),
        ),
        Err(Refusal::Api(e)) => e.into_response(),
    }
}

enum Refusal {
    Witness(WitnessError),
    Api(ApiError),
}

impl From<silkgate_store::StoreError> for Refusal {
    fn from(e: silkgate_store::StoreError) -> Self {
        Self::Api(e.into())
    }
}

async fn cosign(state: &NodeState, body: &[u8]) -> Result<NoteSignature, Refusal> {
    let request = AddCheckpoint::parse(body).map_err(Refusal::Witness)?;
    let origin = Witness::origin_of(&request).map_err(Refusal::Witness)?;
    let store = state.store();
    let latest = store
        .witness_state(&origin)
        .await?
        .and_then(|b| parse_state(&b));
    match witness(state).add_checkpoint(
        &request,
        latest.as_ref(),
        u64::try_from(state.clock().now_unix()).unwrap_or(0),
    ) {
        Ok(cosigned) => {
            let advanced = store
                .witness_advance(
                    &origin,
                    latest.as_ref().map(|l| l.size),
                    cosigned.state.size,
                    &cosigned.state.checkpoint,
                )
                .await?;
            if !advanced {
                // Another request advanced this log meanwhile; the client retries.
                let now = store
                    .witness_state(&origin)
                    .await?
                    .and_then(|b| parse_state(&b))
                    .map_or(0, |s| s.size);
                return Err(Refusal::Witness(WitnessError::Conflict {
                    latest_size: now,
                }));
            }
            Ok(cosigned.cosignature)
        }
        Err(e) => {
            if let Some(evidence) = e.evidence() {
                raise_alert(state, &evidence.origin, &e.to_string(), evidence)
                    .await
                    .map_err(Refusal::Api)?;
            }
            Err(Refusal::Witness(e))
        }
    }
}

async fn raise_alert(
    state: &NodeState,
    origin: &str,
    reason: &str,
    evidence: &silkgate_log::Evidence,
) -> Result<(), ApiError> {
    let store = state.store();
    // The alert and its event commit together: no alert without its event, none lost after.
    let mut tx = store.begin().await?;
    let Some(id) = tx
        .raise_log_alert(origin, reason, &evidence.previous, &evidence.submitted)
        .await?
    else {
        return Ok(());
    };
    tracing::error!(%origin, %reason, alert = id, "a log showed an inconsistent checkpoint");
    tx.append_event(&NewEvent::new(
        "log.alert",
        format!("log-alert-{id}"),
        serde_json::json!({
            "origin": origin,
            "known_checkpoint_sha256": crate::identity::sha256_hex(&evidence.previous),
            "offered_checkpoint_sha256": crate::identity::sha256_hex(&evidence.submitted),
        }),
    ))
    .await?;
    tx.commit().await?;
    state
        .log()
        .wait_logged(store, store.last_event_seq().await?)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// One alert as the operator sees it.
#[derive(Debug, serde::Serialize)]
pub struct AlertView {
    /// Alert id.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The log that misbehaved.
    pub origin: String,
    /// Why the witness refused.
    pub reason: String,
    /// The checkpoint this node had cosigned (signed note text).
    pub known_checkpoint: String,
    /// The inconsistent checkpoint it was offered (signed note text).
    pub offered_checkpoint: String,
}

/// `GET /api/v1/log/alerts` (operator): checkpoints of other logs this node refused to
/// cosign, with both signed checkpoints as evidence.
pub async fn alerts(
    State(state): State<NodeState>,
    conn: Option<axum::Extension<ConnInfo>>,
    headers: HeaderMap,
) -> Result<axum::Json<Vec<AlertView>>, ApiError> {
    match state.caller(&headers, conn.as_deref()).await? {
        Caller::Operator => {}
        Caller::Org(_) => return Err(ApiError::Forbidden("operator only".into())),
    }
    let rows = state.store().log_alerts().await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|a| AlertView {
                id: a.id,
                at: a.at,
                origin: a.origin,
                reason: a.reason,
                known_checkpoint: String::from_utf8_lossy(&a.known_checkpoint).into_owned(),
                offered_checkpoint: String::from_utf8_lossy(&a.offered_checkpoint).into_owned(),
            })
            .collect(),
    ))
}

/// What the client side remembers per peer: the size the peer last cosigned.
#[derive(Debug, Default)]
pub(crate) struct PeerSizes(Mutex<HashMap<String, u64>>);

enum Sent {
    Cosigned(NoteSignature),
    Retry(u64),
}

async fn send(
    state: &NodeState,
    peer: &TrustedNode,
    published: &Published,
    old: u64,
) -> Result<Sent, String> {
    let size = published.size;
    let proof = if old == 0 || old >= size {
        Vec::new()
    } else {
        with_hashes(state.store(), move |r| consistency_proof(old, size, r))
            .await
            .map_err(|e| format!("consistency proof from {old}: {e}"))?
    };
    let body = AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: published.note.clone(),
    }
    .to_bytes();
    let url = format!(
        "{}/federation/v1/log/add-checkpoint",
        peer.url.trim_end_matches('/')
    );
    let resp = state
        .peers()
        .post(&url)
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("unreachable: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| format!("unreadable: {e}"))?;
    match status {
        200 => {
            let key = parse_verifying_key(&peer.signing_key)
                .and_then(|k| witness_verifier(&peer.node_id, &k))
                .ok_or("malformed key on the trust list")?;
            let note = Note::parse(&published.note).map_err(|e| e.to_string())?;
            for line in text.lines() {
                let sig = NoteSignature::parse_line(line).map_err(|e| e.to_string())?;
                if key.matches(&sig) {
                    key.verify(note.text_unverified(), &sig.signature)
                        .map_err(|e| format!("cosignature does not verify: {e}"))?;
                    return Ok(Sent::Cosigned(sig));
                }
            }
            Err("no cosignature by the peer's witness key".into())
        }
        409 => text
            .trim()
            .parse()
            .map(Sent::Retry)
            .map_err(|_| format!("409 without a size: {text}")),
        _ => Err(format!("refused ({status}): {}", text.trim())),
    }
}

/// Sends the published checkpoint to every other node for cosigning and publishes it with
/// the cosignatures gathered. Returns how many peers cosigned.
pub async fn witness_round(state: &NodeState) -> usize {
    let published = state.log().published();
    let peers: Vec<TrustedNode> = state
        .trust_list()
        .document
        .nodes
        .iter()
        .filter(|n| n.node_id != state.node_id())
        .cloned()
        .collect();
    let Ok(mut note) = Note::parse(&published.note) else {
        return 0;
    };
    let futures = peers.iter().map(|peer| {
        let published = published.clone();
        async move {
            let mut old = state
                .0
                .peer_sizes
                .0
                .lock()
                .expect("peer sizes lock never poisoned")
                .get(&peer.node_id)
                .copied()
                .unwrap_or(0);
            for _ in 0..2 {
                match send(state, peer, &published, old).await {
                    Ok(Sent::Cosigned(sig)) => {
                        state
                            .0
                            .peer_sizes
                            .0
                            .lock()
                            .expect("peer sizes lock never poisoned")
                            .insert(peer.node_id.clone(), published.size);
                        return Some(sig);
                    }
                    Ok(Sent::Retry(size)) => old = size,
                    Err(reason) => {
                        tracing::warn!(peer = %peer.node_id, %reason, "witness refused or failed");
                        return None;
                    }
                }
            }
            None
        }
    });
    let sigs: Vec<NoteSignature> = futures::future::join_all(futures)
        .await
        .into_iter()
        .flatten()
        .collect();
    let count = sigs.len();
    for sig in sigs {
        if !note.signatures().iter().any(|s| s.key_id == sig.key_id) {
            note.add_signature(sig);
        }
    }
    let bytes = note.to_bytes();
    if let Err(e) = state
        .store()
        .log_store_checkpoint(published.size, &bytes)
        .await
    {
        tracing::error!(error = %e, "storing the cosigned checkpoint failed");
        return count;
    }
    state.log().publish_cosigned(Published {
        size: published.size,
        note: bytes,
    });
    count
}

/// The witnessing task: after each new checkpoint, gathers cosignatures (retrying peers that
/// failed on the next round).
pub(crate) async fn witnessing(state: NodeState) {
    let mut done_size = None;
    loop {
        let p = state.log().published();
        let cosigned = Note::parse(&p.note).map_or(0, |n| n.signatures().len() - 1);
        if done_size != Some(p.size) || cosigned < quorum(&state) {
            let n = witness_round(&state).await;
            if n >= quorum(&state) {
                done_size = Some(p.size);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
