//! Per-recipient marking of delivered copies, and the operator's leak-tracing API.
//!
//! When a transfer's decision carries marking terms (an agreement's), the provider's node
//! marks the plaintext copy with `silkgate-mark` just before encryption: a keyed choice of cells
//! in the allowed columns gets a fingerprint unique to the delivery, and optionally keyed
//! canary records are added. The marking record (no payload value, no secret) is stored with
//! the transfer's report; `POST /api/v1/trace` tests a found file against every record this
//! node holds. The marking key is derived from the node's signing key, so it needs no file of
//! its own and nobody without the node's secret can find or strip the marks.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use silkgate_mark::{Delivery, Format, MarkKey, MarkingRecord, Table, TraceReport, Tracer};
use silkgate_model::{MarkingTerms, TransferStatus};
use silkgate_store::{Blobs, TransferRole};

use crate::api::Conn;
use crate::error::{ApiError, ErrorBody};
use crate::node::{Caller, NodeState};
use crate::pipeline::{PipelineError, PreparedPayload};

/// Largest payload the node marks: the keyed choice of cells spans the whole table, so the
/// table is held in memory while it is marked.
pub const MAX_MARKED_BYTES: u64 = 256 * 1024 * 1024;

/// Largest file the trace API accepts.
pub const MAX_TRACE_BYTES: usize = 64 * 1024 * 1024;

/// The node's marking key: derived from its signing key under a label of its own, so marks
/// are keyed by a secret only this node holds, and stay traceable after a restart.
pub fn marking_key(state: &NodeState) -> MarkKey {
    let mut h = Sha256::new();
    h.update(b"silkgate/marking/v1");
    h.update(state.identity().signing_key.to_bytes());
    MarkKey::from_bytes(h.finalize().into())
}

/// Marks a prepared copy for its recipient under `terms` into a new blob; the input blob is
/// left untouched. Without terms, or with marking off, the copy passes through unmarked.
///
/// # Errors
/// [`PipelineError::Mark`] when the payload is too large, unreadable as a table, or the terms
/// cannot be applied to it (e.g. a column that does not exist); storage errors.
pub async fn mark_copy(
    blobs: &Blobs,
    payload: PreparedPayload,
    terms: Option<&MarkingTerms>,
    key: &MarkKey,
    delivery: &Delivery,
) -> Result<(PreparedPayload, Option<MarkingRecord>), PipelineError> {
    let Some(terms) = terms.filter(|t| t.enabled) else {
        return Ok((payload, None));
    };
    if payload.size > MAX_MARKED_BYTES {
        return Err(PipelineError::Mark(format!(
            "payload of {} bytes exceeds the {MAX_MARKED_BYTES} bytes the node marks",
            payload.size
        )));
    }
    let mut bytes = Vec::with_capacity(payload.size as usize);
    let mut stream = blobs.read(&payload.blob_key).await?;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    let format = Format::sniff(&bytes);
    let table =
        Table::read(bytes.as_slice(), format).map_err(|e| PipelineError::Mark(e.to_string()))?;
    drop(bytes);
    let marked = silkgate_mark::mark(key, &table, delivery, terms)
        .map_err(|e| PipelineError::Mark(e.to_string()))?;
    drop(table);
    let mut out = Vec::with_capacity(payload.size as usize + 1024);
    marked
        .table
        .write(&mut out, format)
        .map_err(|e| PipelineError::Mark(e.to_string()))?;
    let mut writer = blobs.writer().await?;
    if let Err(e) = writer.write(&out).await {
        writer.abort().await;
        return Err(e.into());
    }
    let staged = writer.finish().await?;
    let blob_key = format!("outbox/{}.marked", delivery.transfer_id);
    blobs.promote(&staged, &blob_key).await?;
    Ok((
        PreparedPayload {
            blob_key,
            sha256: staged.sha256,
            size: staged.size,
        },
        Some(marked.record),
    ))
}

/// The marking records of every copy this node has delivered (or is delivering).
///
/// # Errors
/// Storage errors.
pub async fn marking_records(state: &NodeState) -> Result<Vec<MarkingRecord>, ApiError> {
    let mut records = Vec::new();
    for status in [TransferStatus::Approved, TransferStatus::Delivered] {
        for r in state
            .store()
            .transfers_in_status(TransferRole::Provider, status)
            .await?
        {
            if let Some(m) = r.report.as_ref().and_then(|rep| rep.get("marking")) {
                let record: MarkingRecord =
                    serde_json::from_value(m.clone()).map_err(ApiError::internal)?;
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// `POST /api/v1/trace`: the node operator submits a file found somewhere (CSV with a header
/// row, or JSON Lines) and learns which delivered copy it most likely came from, with the
/// chance of a wrong attribution and the evidence per candidate, or that nothing matches.
#[utoipa::path(post, path = "/api/v1/trace",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The found file"),
    responses((status = 200, description = "Trace report", body = Object),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn trace(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<TraceReport>, ApiError> {
    if !matches!(
        state.caller(&headers, conn.0.as_ref()).await?,
        Caller::Operator
    ) {
        return Err(ApiError::Forbidden(
            "only the node operator traces leaked files".into(),
        ));
    }
    let bytes = to_bytes(body, MAX_TRACE_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge {
            field: "body".into(),
            reason: format!("the found file exceeds {MAX_TRACE_BYTES} bytes"),
        })?;
    let found = Table::from_bytes(&bytes).map_err(|e| ApiError::bad("body", e))?;
    let records = marking_records(&state).await?;
    let key = marking_key(&state);
    let report = tokio::task::spawn_blocking(move || Tracer::new(&key, &records).trace(&found))
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(report))
}
