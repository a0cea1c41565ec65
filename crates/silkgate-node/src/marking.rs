//! Per-recipient marking of delivered copies, and the operator's leak-tracing API.
//!
//! When a transfer's decision carries marking terms (an agreement's), the provider's node
//! marks the plaintext copy with `silkgate-mark` just before encryption, streaming it from blob to blob: a keyed choice of cells
//! in the allowed columns gets a fingerprint unique to the delivery, and optionally keyed
//! canary records are added. The marking record (no payload value, no secret) is stored with
//! the transfer's report; `POST /api/v1/trace` tests a found file against every record this
//! node holds. The marking key is derived from the node's signing key, so it needs no file of
//! its own and nobody without the node's secret can find or strip the marks.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::HeaderMap;

use sha2::{Digest as _, Sha256};
use silkgate_mark::{Delivery, MarkKey, MarkingRecord, Table, TraceReport, Tracer};
use silkgate_model::{MarkingTerms, TransferStatus};
use silkgate_store::{Blobs, TransferRole};

use crate::api::Conn;
use crate::error::{ApiError, ErrorBody};
use crate::node::{Caller, NodeState};
use crate::pipeline::{PipelineError, PreparedPayload, transform_blob};

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
/// The copy streams through [`silkgate_mark::mark_stream`] on a blocking thread, a few 1 MiB
/// pieces in flight each way, so memory stays bounded whatever the size of the table.
///
/// # Errors
/// [`PipelineError::Mark`] when the payload is unreadable as a table or the terms cannot be
/// applied to it; storage errors.
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
    let (key, delivery_owned, terms_owned) = (key.clone(), delivery.clone(), terms.clone());
    let (payload, marked) = transform_blob(
        blobs,
        &payload.blob_key,
        format!("outbox/{}.marked", delivery.transfer_id),
        move |reader, writer| {
            silkgate_mark::mark_stream(&key, reader, writer, &delivery_owned, &terms_owned)
                .map_err(|e| PipelineError::Mark(e.to_string()))
        },
    )
    .await?;
    Ok((payload, Some(marked.record)))
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
