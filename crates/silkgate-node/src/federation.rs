//! Federation between nodes: the `/federation/v1` server handlers and the client calls.
//!
//! Two checks guard every call: the TLS layer accepts only certificates chaining to a CA on
//! the trust list, and each state-changing message is a document signed by the sending node's
//! Ed25519 key, whose TLS certificate must have been issued by that same node's CA.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use futures::StreamExt as _;
use serde_json::json;
use silkgate_model::{
    DeliveryManifest, DeliveryReceipt, Document, NewEvent, Sector, Signed, StateCode,
    TransferStatus, TrustedNode,
};
use silkgate_policy::{Grounds, RecipientKind};
use silkgate_store::{CatalogueFilter, TransferRole};

use crate::api::{ApiJson, Conn};
use crate::api_types::{CataloguePage, DatasetView};
use crate::error::ApiError;
use crate::node::{NodeState, parse_verifying_key};
use crate::pipeline;
use crate::tls::chain_issued_by;
use crate::wire::{
    DatasetEntryV1, EnvelopeV1, SearchRequestV1, SearchResponseV1, TransferAcceptedV1,
    TransferDeniedV1, TransferRequestV1,
};

/// Checks a signed federation message: who sent it (as [`verify_peer_document`]), that it is
/// addressed to this node and still fresh ([`EnvelopeV1::check`]), and that its id was not
/// accepted before (recorded here until it expires), so a captured message cannot be
/// replayed or sent on to another node.
///
/// # Errors
/// [`ApiError::Forbidden`] naming what failed; [`ApiError::Conflict`] on `message_id` for a
/// replay.
pub async fn verify_peer_message<T: Document>(
    state: &NodeState,
    conn: Option<&crate::node::ConnInfo>,
    msg: &Signed<EnvelopeV1<T>>,
) -> Result<TrustedNode, ApiError> {
    let node = verify_peer_document(state, conn, msg)?;
    let envelope = &msg.document;
    envelope
        .check(&msg.signer, state.node_id(), state.clock().now_unix())
        .map_err(|e| ApiError::Forbidden(e.to_string()))?;
    if !state
        .store()
        .accept_message_id(&envelope.message_id, &envelope.sender, envelope.expires_at)
        .await?
    {
        return Err(ApiError::Conflict {
            field: "message_id".into(),
            reason: format!(
                "message {} was already accepted; a replay is refused",
                envelope.message_id
            ),
        });
    }
    Ok(node)
}

/// Checks who signed a federation document (a message or a delivery manifest): a node on the
/// trust list, over a TLS connection whose client certificate was issued by that node's own
/// CA *to the node itself* (its certificate names the node id; an organisation's certificate
/// from the same CA does not pass), with a valid signature.
///
/// # Errors
/// [`ApiError::Forbidden`] naming what failed.
pub fn verify_peer_document<T: Document>(
    state: &NodeState,
    conn: Option<&crate::node::ConnInfo>,
    msg: &Signed<T>,
) -> Result<TrustedNode, ApiError> {
    let node = state.trusted(&msg.signer).ok_or_else(|| {
        ApiError::Forbidden(format!(
            "field 'signer': '{}' is not on the trust list",
            msg.signer
        ))
    })?;
    let certs = conn.map(|c| c.peer_certs.as_slice()).unwrap_or(&[]);
    if !chain_issued_by(&node, certs) {
        return Err(ApiError::Forbidden(format!(
            "the TLS client certificate was not issued by the CA of '{}'",
            node.node_id
        )));
    }
    if !crate::tls::names_node(&node, certs) {
        return Err(ApiError::Forbidden(format!(
            "the TLS client certificate is not the certificate of node '{}'",
            node.node_id
        )));
    }
    let key = parse_verifying_key(&node.signing_key)
        .ok_or_else(|| ApiError::internal("malformed key on the trust list"))?;
    msg.verify(&key)
        .map_err(|e| ApiError::Forbidden(format!("field 'signature': {e}")))?;
    Ok(node)
}

/// `POST /federation/v1/catalogue/search`: entries of this node visible to the asking state.
pub async fn search(
    State(state): State<NodeState>,
    conn: Conn,
    ApiJson(msg): ApiJson<Signed<EnvelopeV1<SearchRequestV1>>>,
) -> Result<Json<SearchResponseV1>, ApiError> {
    let node = verify_peer_message(&state, conn.0.as_ref(), &msg).await?;
    let req = &msg.document.body;
    if req.requester_state != node.state.as_str() {
        return Err(ApiError::Forbidden(
            "field 'requester_state': not the signer's state".into(),
        ));
    }
    let sector = req
        .sector
        .as_deref()
        .map(str::parse::<Sector>)
        .transpose()
        .map_err(|e| ApiError::bad("sector", e))?;
    let (entries, more) = local_search(
        &state,
        node.state,
        sector,
        req.text.clone(),
        req.after.clone(),
        req.limit.clamp(1, 100),
    )
    .await?;
    Ok(Json(SearchResponseV1 {
        entries: entries.iter().map(DatasetEntryV1::from).collect(),
        more,
    }))
}

/// Searches this node's catalogue for entries visible to `viewer`, filtered and paged on the
/// server; returns up to `limit` entries and whether more follow.
pub(crate) async fn local_search(
    state: &NodeState,
    viewer: StateCode,
    sector: Option<Sector>,
    text: Option<String>,
    after: Option<String>,
    limit: u32,
) -> Result<(Vec<silkgate_model::DatasetVersion>, bool), ApiError> {
    let mut out = Vec::new();
    let mut filter = CatalogueFilter {
        sector,
        text,
        after,
        limit: limit + 1,
    };
    loop {
        let rows = state.store().search_datasets(&filter).await?;
        let exhausted = rows.len() < filter.limit as usize;
        if let Some(last) = rows.last() {
            filter.after = Some(format!("{}/{}", last.dataset_id, last.sha256));
        }
        out.extend(
            rows.into_iter()
                .filter(|d| d.visibility.allows(d.state(), viewer)),
        );
        if out.len() > limit as usize {
            out.truncate(limit as usize);
            return Ok((out, true));
        }
        if exhausted {
            return Ok((out, false));
        }
    }
}

/// `POST /federation/v1/transfers`: the consumer's node asks for a delivery. Steps 1 and 2
/// of the pipeline run here; the transfer then waits for the provider's decision. A repeated
/// request (same transfer id and content) is answered with the current status.
pub async fn receive_transfer(
    State(state): State<NodeState>,
    conn: Conn,
    ApiJson(msg): ApiJson<Signed<EnvelopeV1<TransferRequestV1>>>,
) -> Result<Json<TransferAcceptedV1>, ApiError> {
    let node = verify_peer_message(&state, conn.0.as_ref(), &msg).await?;
    let req = &msg.document.body;
    let received = pipeline::receive_request(&state, req).await?;
    if received.transfer.consumer_state() != node.state {
        return Err(ApiError::Forbidden(
            "field 'consumer': not an organisation of the signing node's state".into(),
        ));
    }
    if let Some(existing) = state
        .store()
        .transfer(&req.transfer_id, TransferRole::Provider)
        .await?
    {
        let same = existing.transfer.consumer == received.transfer.consumer
            && existing.transfer.dataset_id == received.transfer.dataset_id
            && existing.transfer.sha256 == received.transfer.sha256
            && existing.transfer.consumer_hpke_key == received.transfer.consumer_hpke_key;
        if !same {
            return Err(ApiError::Conflict {
                field: "transfer_id".into(),
                reason: "already used for a different request".into(),
            });
        }
        return Ok(Json(TransferAcceptedV1 {
            transfer_id: req.transfer_id.clone(),
            status: existing.transfer.status.as_str().into(),
            decision: existing
                .report
                .as_ref()
                .and_then(|r| r.get("decision").cloned()),
            reason: existing.transfer.reason.clone(),
        }));
    }
    crate::agreements::refuse_if_suspended(&state, &received.transfer.provider, "provider").await?;
    let recipient_kind = match req.recipient_kind.as_deref() {
        None => RecipientKind::Enterprise,
        Some(k) => {
            serde_json::from_value(serde_json::Value::String(k.to_owned())).map_err(|_| {
                ApiError::bad(
                    "recipient_kind",
                    "expected enterprise, public-body or foreign-authority",
                )
            })?
        }
    };
    let report =
        pipeline::review_content(state.store().blobs(), &received, state.clock().now_unix())
            .await
            .map_err(ApiError::internal)?;
    let mut decision = match &req.agreement_id {
        Some(agreement_id) => {
            let onward_to = req
                .onward_to
                .as_deref()
                .map(StateCode::new)
                .transpose()
                .map_err(|e| ApiError::bad("onward_to", e))?;
            crate::agreements::decide_under(
                &state,
                &received.transfer,
                received.dataset.sector,
                recipient_kind,
                &report,
                agreement_id,
                onward_to,
            )
            .await?
        }
        None => pipeline::decide_transfer(
            &state,
            &received.transfer,
            received.dataset.sector,
            recipient_kind,
            &report,
            Grounds::default(),
        )
        .await
        .map_err(ApiError::internal)?,
    };
    // The data may have come to this node under an agreement that bans passing it on.
    let onward = if decision.is_deny() {
        None
    } else {
        crate::agreements::onward_breach(&state, &received.transfer).await?
    };
    if let Some(found) = &onward {
        decision = crate::agreements::onward_decision(
            &report,
            decision.facts.clone(),
            found,
            state.clock().now_unix(),
        );
    }
    let mut t = received.transfer.clone();
    // Under an active agreement whose terms the request keeps, with no obligation of the rule
    // packs left open, the signed agreement is the provider's approval: no manual step.
    let approved_by_agreement = decision.agreement.is_some()
        && !decision.is_deny()
        && decision.unmet_legal_obligations().is_empty();
    if decision.is_deny() {
        t.status = TransferStatus::Denied;
        t.reason = Some(decision.reason_line());
    } else if approved_by_agreement {
        decision.met.push(pipeline::PROVIDER_APPROVAL.into());
        t.status = TransferStatus::Approved;
    }
    let decision_json = serde_json::to_value(&decision).map_err(ApiError::internal)?;
    let mut tx = state.store().begin().await?;
    tx.insert_transfer(&t, TransferRole::Provider).await?;
    tx.set_transfer_report(
        &t.id,
        TransferRole::Provider,
        &json!({ "review": report, "decision": decision_json }),
    )
    .await?;
    tx.append_event(&NewEvent::new(
        "transfer.received",
        &t.id,
        json!({
            "consumer": t.consumer, "provider": t.provider, "dataset_id": t.dataset_id,
            "sha256": t.sha256, "from_node": node.node_id, "request_signature": msg.signature,
            "recipient_kind": recipient_kind.as_str(),
            "agreement_id": req.agreement_id, "onward_to": req.onward_to,
        }),
    ))
    .await?;
    tx.append_event(&NewEvent::new(
        "transfer.reviewed",
        &t.id,
        json!({
            "sha256": report.sha256, "size": report.size,
            "categories": report.scan.as_ref().map(|s| s.categories.clone()),
            "subjects_estimate": report.scan.as_ref().map(|s| s.subjects_estimate),
            "scan_error": report.scan_error,
        }),
    ))
    .await?;
    tx.append_event(&NewEvent::new(
        "transfer.decided",
        &t.id,
        json!({
            "outcome": decision.decision.outcome,
            "legal_outcome": decision.legal_outcome,
            "obligations": decision.decision.obligation_ids(),
            "reasons": decision.decision.reasons.iter().map(|r| r.rule.clone()).collect::<Vec<_>>(),
            "rulepacks": decision.decision.rulepacks,
            "decided_by": "rule-packs",
            "agreement": decision.agreement,
        }),
    ))
    .await?;
    if approved_by_agreement {
        tx.append_event(&NewEvent::new(
            "transfer.approved",
            &t.id,
            json!({
                "outcome": decision.decision.outcome,
                "met": decision.met,
                "decided_by": "agreement",
                "agreement_id": req.agreement_id,
            }),
        ))
        .await?;
    }
    if let Some(found) = &onward {
        // Owed to the original provider's node from this transaction on.
        crate::agreements::queue_onward_refusal(&mut tx, found, &t.id).await?;
    }
    tx.commit().await?;
    if approved_by_agreement {
        state.wake_worker();
    }
    if onward.is_some() {
        state.wake_outbox();
    }
    if decision.is_deny() {
        let pair = format!("{}->{}", t.provider_state(), t.consumer_state());
        state.metrics().add(
            "silkgate_transfers_total",
            &[("pair", &pair), ("outcome", "denied")],
            1,
        );
    }
    Ok(Json(TransferAcceptedV1 {
        transfer_id: t.id.clone(),
        status: t.status.as_str().into(),
        decision: Some(decision_json),
        reason: t.reason.clone(),
    }))
}

fn bad_delivery(field: &str, reason: impl ToString) -> ApiError {
    ApiError::Unprocessable {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// `POST /federation/v1/transfers/{id}/delivery`: the provider's node delivers. The body is
/// the encrypted payload followed by the signed manifest (see [`pipeline::manifest_trailer`]).
/// This node stages the ciphertext as it arrives, then verifies the manifest's signature, the
/// parties and the ciphertext's hash and size, keeps the payload for the consumer and answers
/// with a signed receipt. A repeated delivery of the same manifest gets the first receipt;
/// nothing is stored twice, and a refused delivery leaves no blob behind.
pub async fn receive_delivery(
    State(state): State<NodeState>,
    conn: Conn,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Signed<DeliveryReceipt>>, ApiError> {
    let record = consumer_record(&state, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("transfer {id}")))?;
    if record.transfer.status.is_final() && record.receipt.is_none() {
        return Err(ApiError::Conflict {
            field: "transfer_id".into(),
            reason: format!("transfer is {}", record.transfer.status.as_str()),
        });
    }
    let blobs = state.store().blobs();
    let (staged, trailer) = stage_delivery(blobs, body).await?;
    match check_delivery(&state, &conn, &id, &record, &trailer, &staged) {
        Ok(Checked::Repeat(receipt)) => {
            blobs.delete(&staged.key).await?;
            Ok(Json(receipt))
        }
        Ok(Checked::New(checked)) => {
            let (node, manifest) = *checked;
            match accept_delivery(&state, &id, &record, node, manifest, &staged).await {
                Ok(receipt) => Ok(Json(receipt)),
                Err(e) => {
                    blobs.delete(&staged.key).await?;
                    Err(e)
                }
            }
        }
        Err(e) => {
            blobs.delete(&staged.key).await?;
            Err(e)
        }
    }
}

/// This node's record of a transfer it requested. Under an agreement the provider's node
/// approves at once and may start delivering while this node is still committing the answer
/// to its request, so a missing record is awaited briefly before the delivery is refused.
async fn consumer_record(
    state: &NodeState,
    id: &str,
) -> Result<Option<silkgate_store::TransferRecord>, ApiError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if let Some(r) = state.store().transfer(id, TransferRole::Consumer).await? {
            return Ok(Some(r));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Writes a delivery body to a staging blob as it arrives, holding back the bytes that may be
/// the manifest trailer, and returns the staged ciphertext with the trailer's manifest bytes.
/// The body's chunks are written as they come (the blob writer hashes and buffers them);
/// only the held-back tail, at most [`pipeline::MAX_MANIFEST_TRAILER`] + 4 bytes, is kept as
/// a queue of the received chunks, so no byte is copied on its way to the writer.
async fn stage_delivery(
    blobs: &silkgate_store::Blobs,
    body: Body,
) -> Result<(silkgate_store::StagedBlob, Vec<u8>), ApiError> {
    const HOLD: usize = pipeline::MAX_MANIFEST_TRAILER + 4;
    let mut writer = blobs.writer().await?;
    let mut stream = body.into_data_stream();
    let mut held: std::collections::VecDeque<bytes::Bytes> = std::collections::VecDeque::new();
    let mut held_len = 0usize;
    let result: Result<(), ApiError> = async {
        while let Some(chunk) = stream.next().await {
            let bytes = chunk.map_err(|e| bad_delivery("payload", format!("stream broke: {e}")))?;
            held_len += bytes.len();
            held.push_back(bytes);
            // Write out whatever is certainly not among the last HOLD bytes.
            while held_len > HOLD {
                let front = held.front_mut().expect("held_len counts held bytes");
                let n = (held_len - HOLD).min(front.len());
                let out = front.split_to(n);
                if front.is_empty() {
                    held.pop_front();
                }
                held_len -= n;
                writer.write_bytes(out).await?;
            }
        }
        Ok(())
    }
    .await;
    let mut tail = Vec::with_capacity(held_len);
    for b in &held {
        tail.extend_from_slice(b);
    }
    let trailer = result.and_then(|()| {
        let bad = || bad_delivery("manifest", "the body does not end with a manifest trailer");
        let len_at = tail.len().checked_sub(4).ok_or_else(bad)?;
        let len = u32::from_be_bytes(tail[len_at..].try_into().expect("4 bytes")) as usize;
        if len > pipeline::MAX_MANIFEST_TRAILER {
            return Err(bad());
        }
        let start = len_at.checked_sub(len).ok_or_else(bad)?;
        Ok(start)
    });
    let start = match trailer {
        Ok(start) => start,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    if let Err(e) = writer.write(&tail[..start]).await {
        writer.abort().await;
        return Err(e.into());
    }
    let manifest = tail[start..tail.len() - 4].to_vec();
    Ok((writer.finish().await?, manifest))
}

/// What a verified delivery is.
enum Checked {
    /// The same manifest as a delivery already accepted: its receipt.
    Repeat(Signed<DeliveryReceipt>),
    /// A first delivery, from this trusted node.
    New(Box<(silkgate_model::TrustedNode, Signed<DeliveryManifest>)>),
}

/// Verifies a staged delivery's manifest against the signing peer, the request and the bytes.
fn check_delivery(
    state: &NodeState,
    conn: &Conn,
    id: &str,
    record: &silkgate_store::TransferRecord,
    trailer: &[u8],
    staged: &silkgate_store::StagedBlob,
) -> Result<Checked, ApiError> {
    let manifest: Signed<DeliveryManifest> = serde_json::from_slice(trailer)
        .map_err(|e| bad_delivery("manifest", format!("not a signed manifest: {e}")))?;
    let node = verify_peer_document(state, conn.0.as_ref(), &manifest)?;
    let m = &manifest.document;
    if m.transfer_id != id {
        return Err(bad_delivery(
            "manifest.transfer_id",
            "does not match the URL",
        ));
    }
    if m.provider.state() != node.state || m.provider_node != node.node_id {
        return Err(ApiError::Forbidden(
            "field 'manifest.provider': not an organisation of the signing node".into(),
        ));
    }
    let t = &record.transfer;
    if t.provider != m.provider
        || t.consumer != m.consumer
        || t.dataset_id != m.dataset_id
        || t.sha256 != m.dataset_sha256
    {
        return Err(bad_delivery(
            "manifest",
            "names other parties or another dataset version than the request",
        ));
    }
    let requested_under = record
        .report
        .as_ref()
        .and_then(|v| v.pointer("/decision/agreement/id"))
        .and_then(serde_json::Value::as_str);
    if m.agreement_id.is_some() && m.agreement_id.as_deref() != requested_under {
        return Err(bad_delivery(
            "manifest.agreement_id",
            "names another agreement than the one the request was decided under",
        ));
    }
    if let (Some(first), Some(receipt)) = (&record.manifest, &record.receipt) {
        if first != &manifest {
            return Err(ApiError::Conflict {
                field: "manifest".into(),
                reason: "this transfer was already delivered with another manifest".into(),
            });
        }
        return Ok(Checked::Repeat(receipt.clone()));
    }
    if staged.size != m.ciphertext_size || staged.sha256 != m.ciphertext_sha256 {
        return Err(bad_delivery(
            "payload",
            "ciphertext SHA-256 or size does not match the signed manifest (tampered or truncated)",
        ));
    }
    Ok(Checked::New(Box::new((node.clone(), manifest))))
}

/// Keeps a verified delivery for the consumer and signs its receipt, in one transaction.
async fn accept_delivery(
    state: &NodeState,
    id: &str,
    record: &silkgate_store::TransferRecord,
    node: silkgate_model::TrustedNode,
    manifest: Signed<DeliveryManifest>,
    staged: &silkgate_store::StagedBlob,
) -> Result<Signed<DeliveryReceipt>, ApiError> {
    let t = &record.transfer;
    let m = &manifest.document;
    let blobs = state.store().blobs();
    let key = format!("deliveries/{id}.hpke");
    blobs.promote(staged, &key).await?;
    let committed = commit_delivery(state, id, t, &node, &manifest, staged, &key).await;
    if committed.is_err() {
        blobs.delete(&key).await?;
    }
    let receipt = committed?;
    let pair = format!("{}->{}", m.provider.state(), m.consumer.state());
    state.metrics().add(
        "silkgate_transfer_bytes_total",
        &[("pair", &pair), ("direction", "received")],
        staged.size,
    );
    Ok(receipt)
}

/// The receipt and the consumer's records of a delivery, in one transaction.
async fn commit_delivery(
    state: &NodeState,
    id: &str,
    t: &silkgate_model::Transfer,
    node: &silkgate_model::TrustedNode,
    manifest: &Signed<DeliveryManifest>,
    staged: &silkgate_store::StagedBlob,
    key: &str,
) -> Result<Signed<DeliveryReceipt>, ApiError> {
    let m = &manifest.document;
    let receipt = Signed::sign(
        DeliveryReceipt {
            transfer_id: id.to_owned(),
            manifest_sha256: pipeline::manifest_sha256(manifest).map_err(ApiError::internal)?,
            ciphertext_sha256: staged.sha256.clone(),
            consumer_node: state.node_id().to_owned(),
            received_at: state.clock().now_unix(),
        },
        state.node_id(),
        &state.identity().signing_key,
    )
    .map_err(ApiError::internal)?;
    let mut tx = state.store().begin().await?;
    if !tx
        .set_transfer_status(
            id,
            TransferRole::Consumer,
            t.status,
            TransferStatus::Delivered,
            None,
        )
        .await?
    {
        return Err(ApiError::Conflict {
            field: "transfer_id".into(),
            reason: "the transfer changed while the delivery arrived; retry".into(),
        });
    }
    tx.set_transfer_manifest(id, TransferRole::Consumer, manifest, Some(key))
        .await?;
    tx.set_transfer_receipt(id, TransferRole::Consumer, &receipt)
        .await?;
    tx.append_event(&NewEvent::new(
        "transfer.delivery-received",
        id,
        json!({
            "from_node": node.node_id,
            "manifest_signature": manifest.signature,
            "ciphertext_sha256": staged.sha256,
            "ciphertext_size": staged.size,
            "payload_sha256": m.payload_sha256,
            "receipt_signature": receipt.signature,
        }),
    ))
    .await?;
    tx.commit().await?;
    Ok(receipt)
}

/// `POST /federation/v1/transfers/{id}/denied`: the provider's node reports a denial.
pub async fn receive_denied(
    State(state): State<NodeState>,
    conn: Conn,
    Path(id): Path<String>,
    ApiJson(msg): ApiJson<Signed<EnvelopeV1<TransferDeniedV1>>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let node = verify_peer_message(&state, conn.0.as_ref(), &msg).await?;
    if msg.document.body.transfer_id != id {
        return Err(ApiError::bad("transfer_id", "does not match the URL"));
    }
    let record = state
        .store()
        .transfer(&id, TransferRole::Consumer)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("transfer {id}")))?;
    if record.transfer.provider_state() != node.state {
        return Err(ApiError::Forbidden(
            "the signing node does not serve this transfer's provider".into(),
        ));
    }
    let mut tx = state.store().begin().await?;
    if tx
        .set_transfer_status(
            &id,
            TransferRole::Consumer,
            record.transfer.status,
            TransferStatus::Denied,
            Some(&msg.document.body.reason),
        )
        .await?
        && !record.transfer.status.is_final()
    {
        if let Some(decision) = &msg.document.body.decision {
            tx.set_transfer_report(
                &id,
                TransferRole::Consumer,
                &json!({ "decision": decision }),
            )
            .await?;
        }
        tx.append_event(&NewEvent::new(
            "transfer.denied",
            &id,
            json!({ "from_node": node.node_id, "signature": msg.signature }),
        ))
        .await?;
        tx.commit().await?;
    }
    Ok(Json(json!({ "transfer_id": id, "status": "denied" })))
}

// ---- client side ----

fn peer_fail(peer: &TrustedNode, reason: impl ToString) -> ApiError {
    ApiError::Peer {
        peer: peer.state.to_string(),
        reason: reason.to_string(),
    }
}

/// `body` in a fresh envelope addressed to `peer`, signed with this node's key: a new
/// message id, issued now by the node's clock, valid for [`crate::wire::MESSAGE_TTL_SECS`].
///
/// # Errors
/// [`ApiError::Internal`] if the body cannot be signed.
pub fn seal_for<T: Document>(
    state: &NodeState,
    peer: &TrustedNode,
    body: T,
) -> Result<Signed<EnvelopeV1<T>>, ApiError> {
    let now = state.clock().now_unix();
    let envelope = EnvelopeV1 {
        message_id: format!("msg-{}", hex::encode(rand::random::<[u8; 16]>())),
        sender: state.node_id().to_owned(),
        recipient: peer.node_id.clone(),
        issued_at: now,
        expires_at: now + crate::wire::MESSAGE_TTL_SECS,
        body,
    };
    Signed::sign(envelope, state.node_id(), &state.identity().signing_key)
        .map_err(ApiError::internal)
}

/// Signs `doc` in a fresh envelope for `peer` ([`seal_for`]) and posts it at `path`, passing
/// on the peer's client error (with its field) or unreachability.
pub(crate) async fn post_signed<T: Document, R: serde::de::DeserializeOwned>(
    state: &NodeState,
    peer: &TrustedNode,
    path: &str,
    doc: T,
) -> Result<R, ApiError> {
    post_sealed(state, peer, path, &seal_for(state, peer, doc)?).await
}

/// Posts an already signed message to `peer` at `path` as it is, over this node's mutual-TLS
/// client: what [`post_signed`] sends, and what a test uses to send a captured message again.
///
/// # Errors
/// As [`post_signed`].
pub async fn post_sealed<T: Document, R: serde::de::DeserializeOwned>(
    state: &NodeState,
    peer: &TrustedNode,
    path: &str,
    signed: &Signed<EnvelopeV1<T>>,
) -> Result<R, ApiError> {
    let url = format!("{}{path}", peer.url.trim_end_matches('/'));
    let resp = state
        .peers()
        .post(&url)
        .json(signed)
        .timeout(Duration::from_secs(60))
        .send()
        .await;
    let outcome = if resp
        .as_ref()
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        "ok"
    } else {
        "error"
    };
    state.metrics().add(
        "silkgate_federation_calls_total",
        &[("peer", peer.state.as_str()), ("outcome", outcome)],
        1,
    );
    let resp = resp.map_err(|e| peer_fail(peer, format!("unreachable: {e}")))?;
    let status = resp.status();
    if !status.is_success() {
        // Pass the peer's client error on (it names the field), never its internal text.
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let reason = body
            .pointer("/error/reason")
            .and_then(|r| r.as_str())
            .unwrap_or("refused")
            .to_owned();
        return Err(match status.as_u16() {
            404 => ApiError::NotFound(format!("on the node of {}: {reason}", peer.state)),
            403 => ApiError::Forbidden(format!("node of {} refused: {reason}", peer.state)),
            400 | 409 | 422 => ApiError::Conflict {
                field: body
                    .pointer("/error/field")
                    .and_then(|f| f.as_str())
                    .unwrap_or("request")
                    .to_owned(),
                reason: format!("node of {} refused: {reason}", peer.state),
            },
            _ => peer_fail(peer, format!("answered {status}")),
        });
    }
    resp.json()
        .await
        .map_err(|e| peer_fail(peer, format!("unreadable answer: {e}")))
}

/// Sends a transfer request to the provider's node.
///
/// # Errors
/// [`ApiError`] passing on the peer's refusal or unreachability.
pub async fn send_transfer_request(
    state: &NodeState,
    req: TransferRequestV1,
) -> Result<TransferAcceptedV1, ApiError> {
    let provider_state: StateCode = req
        .provider
        .parse::<silkgate_model::OrgId>()
        .map_err(|e| ApiError::bad("provider", e))?
        .state();
    let peer = state
        .trust_list()
        .document
        .node_for_state(provider_state)
        .cloned()
        .ok_or_else(|| {
            ApiError::bad(
                "provider",
                format!("no node of {provider_state} on the trust list"),
            )
        })?;
    post_signed(state, &peer, "/federation/v1/transfers", req).await
}

/// A federated catalogue search: filters and pages on every node's server, merges by
/// `(state, dataset_id, sha256)`. The page token is that key of the last entry returned.
///
/// # Errors
/// [`ApiError::BadRequest`] for a malformed token.
pub async fn federated_search(
    state: &NodeState,
    viewer: StateCode,
    only_state: Option<StateCode>,
    sector: Option<Sector>,
    text: Option<String>,
    limit: u32,
    page_token: Option<String>,
) -> Result<CataloguePage, ApiError> {
    let (after_state, after_key) = match page_token.as_deref() {
        None => (None, None),
        Some(tok) => {
            let (s, k) = tok
                .split_once('|')
                .ok_or_else(|| ApiError::bad("page_token", "malformed"))?;
            (
                Some(StateCode::new(s).map_err(|_| ApiError::bad("page_token", "malformed"))?),
                Some(k.to_owned()),
            )
        }
    };
    let trust = state.trust_list();
    let mut nodes: Vec<TrustedNode> = trust
        .document
        .nodes
        .iter()
        .filter(|n| only_state.is_none_or(|s| s == n.state))
        .filter(|n| after_state.is_none_or(|s| n.state >= s))
        .cloned()
        .collect();
    nodes.sort_by_key(|n| n.state);
    let calls = nodes.iter().map(|node| {
        let after = if Some(node.state) == after_state {
            after_key.clone()
        } else {
            None
        };
        let text = text.clone();
        async move {
            let result = if node.node_id == state.node_id() {
                local_search(state, viewer, sector, text, after, limit).await
            } else {
                let req = SearchRequestV1 {
                    requester_state: viewer.to_string(),
                    sector: sector.map(|s| s.as_str().to_owned()),
                    text,
                    after,
                    limit,
                    sent_at: state.clock().now_unix(),
                };
                post_signed::<_, SearchResponseV1>(
                    state,
                    node,
                    "/federation/v1/catalogue/search",
                    req,
                )
                .await
                .and_then(|r| {
                    let more = r.more;
                    r.entries
                        .into_iter()
                        .map(|e| e.into_domain(viewer).map_err(|e| peer_fail(node, e)))
                        .filter(|d| d.as_ref().map(|d| d.state() == node.state).unwrap_or(true))
                        .collect::<Result<Vec<_>, _>>()
                        .map(|v| (v, more))
                })
            };
            (node.state, result)
        }
    });
    let results = futures::future::join_all(calls).await;
    let mut items = Vec::new();
    let mut unreachable = Vec::new();
    let mut any_more = false;
    for (s, r) in results {
        match r {
            Ok((entries, more)) => {
                any_more |= more;
                items.extend(entries);
            }
            Err(e) => {
                tracing::warn!(state = %s, error = %e, "catalogue search of a peer failed");
                unreachable.push(s.to_string());
            }
        }
    }
    items.sort_by(|a, b| {
        (a.state(), &a.dataset_id, &a.sha256).cmp(&(b.state(), &b.dataset_id, &b.sha256))
    });
    let more = any_more || items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_page_token = if more {
        items
            .last()
            .map(|d| format!("{}|{}/{}", d.state(), d.dataset_id, d.sha256))
    } else {
        None
    };
    Ok(CataloguePage {
        items: items.iter().map(DatasetView::from).collect(),
        next_page_token,
        unreachable,
    })
}
