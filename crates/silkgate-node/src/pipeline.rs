//! The transfer pipeline on the provider's node, as named steps:
//!
//! receive request -> review content -> decide -> apply obligations -> mark -> encrypt ->
//! deliver -> receipt
//!
//! Each step is a function taking and returning explicit values, so the content review
//! (`silkgate-scan`), the compliance decision (`silkgate-policy`), marking (`silkgate-mark`) and
//! the transparency log (`silkgate-log`, fed from the events table) slot in without
//! reshaping the pipeline. Every step that changes state commits its [`NewEvent`] in the same
//! transaction, and the status is persisted between steps, so a restarted node resumes from
//! the last committed step ([`worker`]).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use silkgate_model::{
    DatasetVersion, DeliveryManifest, DeliveryReceipt, NewEvent, OrgId, Signed, Transfer,
    TransferStatus, canonical,
};
use silkgate_store::{Blobs, TransferRecord, TransferRole, now_unix};

use crate::error::ApiError;
use crate::node::NodeState;
use crate::payload_crypto::{self, CHUNK_SIZE, PayloadSealer};
use crate::wire::TransferRequestV1;

/// Header carrying the signed manifest (base64url of its JSON) with a delivery.
pub const MANIFEST_HEADER: &str = "silkgate-manifest";

/// Step 1's output: a request the provider's node has validated against its catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// The transfer as recorded.
    pub transfer: Transfer,
    /// The dataset version requested.
    pub dataset: DatasetVersion,
    /// Blob key of its payload.
    pub blob_key: String,
}

/// Step 2's output: what the content review found. Today: the hash and size of the actual
/// payload bytes. The scanner will add categories, columns and estimated data subjects here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentReport {
    /// SHA-256 of the payload as read from storage.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// When reviewed, Unix seconds.
    pub reviewed_at: i64,
}

/// What the provider organisation said through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderDecision {
    /// Send it.
    Approve,
    /// Do not send it.
    Deny {
        /// Why.
        reason: String,
    },
}

/// Something the provider's node must do before or after sending (de-identify fields,
/// notify a regulator, ...). The policy engine will produce these, with citations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// Stable word, e.g. `deidentify`.
    pub kind: String,
    /// Parameters.
    pub detail: serde_json::Value,
}

/// Step 3's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Decision {
    /// Send, after meeting the obligations.
    Allow {
        /// Obligations to meet (none yet).
        obligations: Vec<Obligation>,
        /// Who or what decided.
        basis: Vec<String>,
    },
    /// Refuse.
    Deny {
        /// Why.
        reason: String,
        /// Who or what decided.
        basis: Vec<String>,
    },
}

/// A plaintext payload ready for the next step: where it is and what it hashes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPayload {
    /// Blob key.
    pub blob_key: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// Step 6's output: the encrypted stream, stored so a retried delivery sends identical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedPayload {
    /// Blob key of the ciphertext.
    pub blob_key: String,
    /// SHA-256 of the ciphertext.
    pub sha256: String,
    /// Ciphertext size.
    pub size: u64,
    /// HPKE encapsulated key (hex).
    pub encapped_key: String,
}

/// Why a pipeline step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The stored payload no longer matches the catalogue.
    #[error("stored payload of {dataset_id} hashes to {found}, catalogue says {expected}")]
    PayloadChanged {
        /// Dataset.
        dataset_id: String,
        /// Catalogue hash.
        expected: String,
        /// Hash found.
        found: String,
    },
    /// Storage failed.
    #[error("store: {0}")]
    Store(#[from] silkgate_store::StoreError),
    /// Encryption setup failed.
    #[error("encryption: {0}")]
    Crypto(#[from] payload_crypto::PayloadCryptoError),
    /// The consumer's node could not be reached or refused the delivery.
    #[error("delivery to {peer}: {reason}")]
    Delivery {
        /// Peer node.
        peer: String,
        /// What happened.
        reason: String,
    },
    /// A document could not be signed or verified.
    #[error("document: {0}")]
    Document(String),
}

/// Step 1: receive request. Checks the request against the catalogue (the version exists, is
/// the named provider's, and is visible to the consumer's state) and builds the transfer.
///
/// # Errors
/// [`ApiError`] naming the field at fault.
pub async fn receive_request(
    state: &NodeState,
    req: &TransferRequestV1,
) -> Result<ReceivedRequest, ApiError> {
    let consumer: OrgId = req
        .consumer
        .parse()
        .map_err(|e| ApiError::bad("consumer", e))?;
    let provider: OrgId = req
        .provider
        .parse()
        .map_err(|e| ApiError::bad("provider", e))?;
    if provider.state() != state.identity().config.state {
        return Err(ApiError::bad(
            "provider",
            "not an organisation of this node's state",
        ));
    }
    if hex::decode(&req.consumer_hpke_key).map(|k| k.len()) != Ok(32) {
        return Err(ApiError::bad("consumer_hpke_key", "expected 64 hex digits"));
    }
    let (dataset, blob_key) = state
        .store()
        .dataset_version(&req.dataset_id, &req.sha256)
        .await?
        .filter(|(d, _)| d.provider == provider && d.visibility.allows(d.state(), consumer.state()))
        .ok_or_else(|| {
            ApiError::NotFound(format!("dataset version {}/{}", req.dataset_id, req.sha256))
        })?;
    Ok(ReceivedRequest {
        transfer: Transfer {
            id: req.transfer_id.clone(),
            consumer,
            provider,
            dataset_id: req.dataset_id.clone(),
            sha256: req.sha256.clone(),
            purpose: req.purpose.clone(),
            consumer_hpke_key: req.consumer_hpke_key.clone(),
            status: TransferStatus::AwaitingDecision,
            reason: None,
            requested_at: req.requested_at,
        },
        dataset,
        blob_key,
    })
}

/// Step 2: review content. Reads the actual payload bytes and records their hash and size,
/// refusing a payload that no longer matches the catalogue.
///
/// # Errors
/// [`PipelineError::PayloadChanged`] or a storage error.
pub async fn review_content(
    blobs: &Blobs,
    received: &ReceivedRequest,
) -> Result<ContentReport, PipelineError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = blobs.read(&received.blob_key).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    let sha256 = hex::encode(hasher.finalize());
    if sha256 != received.dataset.sha256 {
        return Err(PipelineError::PayloadChanged {
            dataset_id: received.dataset.dataset_id.clone(),
            expected: received.dataset.sha256.clone(),
            found: sha256,
        });
    }
    Ok(ContentReport {
        sha256,
        size,
        reviewed_at: now_unix(),
    })
}

/// Step 3: decide. Today the provider's own decision is the whole basis; the policy engine
/// will take the report, the transfer and both states' rule packs here and may deny what the
/// provider approved or add obligations.
pub fn decide(
    _report: &ContentReport,
    _transfer: &Transfer,
    provider: ProviderDecision,
) -> Decision {
    match provider {
        ProviderDecision::Approve => Decision::Allow {
            obligations: Vec::new(),
            basis: vec!["provider-approval".into()],
        },
        ProviderDecision::Deny { reason } => Decision::Deny {
            reason,
            basis: vec!["provider-denial".into()],
        },
    }
}

/// Step 4: apply obligations. No obligation is produced yet, so the payload passes through;
/// de-identification will write a new blob and return it here.
///
/// # Errors
/// None yet; storage errors once obligations transform the payload.
pub async fn apply_obligations(
    _blobs: &Blobs,
    payload: PreparedPayload,
    obligations: &[Obligation],
) -> Result<PreparedPayload, PipelineError> {
    debug_assert!(
        obligations.is_empty(),
        "no obligation kinds are implemented yet"
    );
    Ok(payload)
}

/// Step 5: mark the copy for its recipient. Passes through until `silkgate-mark` plugs in.
///
/// # Errors
/// None yet.
pub async fn mark(
    _blobs: &Blobs,
    payload: PreparedPayload,
    _recipient: &OrgId,
    _transfer_id: &str,
) -> Result<PreparedPayload, PipelineError> {
    Ok(payload)
}

/// Step 6: encrypt to the consumer's key, record by record, into a blob; memory holds at most
/// a couple of records whatever the payload size.
///
/// # Errors
/// Storage or key errors.
pub async fn encrypt(
    blobs: &Blobs,
    payload: &PreparedPayload,
    recipient_key_hex: &str,
    transfer_id: &str,
) -> Result<EncryptedPayload, PipelineError> {
    let (mut sealer, encapped_key) = PayloadSealer::new(recipient_key_hex, transfer_id)?;
    let mut writer = blobs.writer().await?;
    let result: Result<(), PipelineError> = async {
        let mut input = blobs.read(&payload.blob_key).await?;
        let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK_SIZE);
        let mut out = Vec::with_capacity(CHUNK_SIZE + 64);
        while let Some(chunk) = input.next().await {
            buf.extend_from_slice(&chunk?);
            // Seal a record only once more bytes are known to follow it, so the final
            // record is always the one marked final.
            let mut start = 0;
            while buf.len() - start > CHUNK_SIZE {
                out.clear();
                sealer.seal_record(&buf[start..start + CHUNK_SIZE], false, &mut out);
                writer.write(&out).await?;
                start += CHUNK_SIZE;
            }
            buf.drain(..start);
        }
        out.clear();
        sealer.seal_record(&buf, true, &mut out);
        writer.write(&out).await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        writer.abort().await;
        return Err(e);
    }
    let staged = writer.finish().await?;
    let blob_key = format!("outbox/{transfer_id}.hpke");
    blobs.promote(&staged, &blob_key).await?;
    Ok(EncryptedPayload {
        blob_key,
        sha256: staged.sha256,
        size: staged.size,
        encapped_key,
    })
}

/// Builds and signs the delivery manifest.
///
/// # Errors
/// [`PipelineError::Document`] if signing fails.
pub fn sign_manifest(
    state: &NodeState,
    transfer: &Transfer,
    payload: &PreparedPayload,
    encrypted: &EncryptedPayload,
) -> Result<Signed<DeliveryManifest>, PipelineError> {
    let manifest = DeliveryManifest {
        transfer_id: transfer.id.clone(),
        dataset_id: transfer.dataset_id.clone(),
        payload_sha256: payload.sha256.clone(),
        payload_size: payload.size,
        dataset_sha256: transfer.sha256.clone(),
        ciphertext_sha256: encrypted.sha256.clone(),
        ciphertext_size: encrypted.size,
        hpke_suite: payload_crypto::SUITE.into(),
        hpke_encapped_key: encrypted.encapped_key.clone(),
        chunk_size: CHUNK_SIZE as u32,
        provider: transfer.provider.clone(),
        consumer: transfer.consumer.clone(),
        provider_node: state.node_id().to_owned(),
        delivered_at: now_unix(),
    };
    Signed::sign(manifest, state.node_id(), &state.identity().signing_key)
        .map_err(|e| PipelineError::Document(e.to_string()))
}

/// SHA-256 (hex) of a manifest's canonical JSON, as receipts name it.
///
/// # Errors
/// [`PipelineError::Document`].
pub fn manifest_sha256(manifest: &Signed<DeliveryManifest>) -> Result<String, PipelineError> {
    let bytes = canonical::to_canonical_json(manifest)
        .map_err(|e| PipelineError::Document(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Step 7: deliver. Streams the encrypted blob with the signed manifest to the consumer's
/// node over mutual TLS and returns the receipt it signed.
///
/// # Errors
/// [`PipelineError::Delivery`] if the peer is unknown, unreachable or refuses.
pub async fn deliver(
    state: &NodeState,
    manifest: &Signed<DeliveryManifest>,
    encrypted_blob: &str,
) -> Result<Signed<DeliveryReceipt>, PipelineError> {
    let consumer_state = manifest.document.consumer.state();
    let peer = state
        .trust_list()
        .document
        .node_for_state(consumer_state)
        .cloned()
        .ok_or_else(|| PipelineError::Delivery {
            peer: consumer_state.to_string(),
            reason: "no node of this state on the trust list".into(),
        })?;
    let header = B64
        .encode(serde_json::to_vec(manifest).map_err(|e| PipelineError::Document(e.to_string()))?);
    let stream = state.store().blobs().read(encrypted_blob).await?;
    let delay = state.0.options.delivery_record_delay;
    let body = reqwest::Body::wrap_stream(stream.then(move |chunk| async move {
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        chunk
    }));
    let url = format!(
        "{}/federation/v1/transfers/{}/delivery",
        peer.url.trim_end_matches('/'),
        manifest.document.transfer_id
    );
    let fail = |reason: String| PipelineError::Delivery {
        peer: peer.node_id.clone(),
        reason,
    };
    let resp = state
        .peers()
        .post(&url)
        .header(MANIFEST_HEADER, header)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| fail(format!("{e}")))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        return Err(fail(format!(
            "refused with {status}: {}",
            text.chars().take(300).collect::<String>()
        )));
    }
    resp.json::<Signed<DeliveryReceipt>>()
        .await
        .map_err(|e| fail(format!("unreadable receipt: {e}")))
}

/// Step 8: receipt. Verifies the consumer node's signature over a receipt that names exactly
/// this manifest and ciphertext, then records it and closes the transfer.
///
/// # Errors
/// [`PipelineError::Document`] if the receipt does not verify.
pub async fn record_receipt(
    state: &NodeState,
    transfer: &Transfer,
    manifest: &Signed<DeliveryManifest>,
    receipt: &Signed<DeliveryReceipt>,
) -> Result<(), PipelineError> {
    let node = state
        .trust_list()
        .document
        .node_for_state(transfer.consumer_state())
        .cloned()
        .ok_or_else(|| {
            PipelineError::Document("consumer's node is not on the trust list".into())
        })?;
    let key = crate::node::parse_verifying_key(&node.signing_key)
        .ok_or_else(|| PipelineError::Document("trust list key is malformed".into()))?;
    if receipt.signer != node.node_id {
        return Err(PipelineError::Document(format!(
            "receipt signed by '{}', expected '{}'",
            receipt.signer, node.node_id
        )));
    }
    let doc = receipt
        .verify(&key)
        .map_err(|e| PipelineError::Document(e.to_string()))?;
    if doc.transfer_id != transfer.id
        || doc.manifest_sha256 != manifest_sha256(manifest)?
        || doc.ciphertext_sha256 != manifest.document.ciphertext_sha256
    {
        return Err(PipelineError::Document(
            "receipt does not name this delivery".into(),
        ));
    }
    let mut tx = state.store().begin().await?;
    if tx
        .set_transfer_status(
            &transfer.id,
            TransferRole::Provider,
            TransferStatus::Approved,
            TransferStatus::Delivered,
            None,
        )
        .await?
    {
        tx.set_transfer_receipt(&transfer.id, TransferRole::Provider, receipt)
            .await?;
        tx.append_event(&NewEvent::new(
            "transfer.receipted",
            &transfer.id,
            json!({
                "receipt_signer": receipt.signer,
                "manifest_sha256": doc.manifest_sha256,
                "ciphertext_sha256": doc.ciphertext_sha256,
            }),
        ))
        .await?;
        tx.commit().await?;
        let pair = format!(
            "{}->{}",
            transfer.provider_state(),
            transfer.consumer_state()
        );
        state.metrics().add(
            "silkgate_transfers_total",
            &[("pair", &pair), ("outcome", "delivered")],
            1,
        );
        state.metrics().add(
            "silkgate_transfer_bytes_total",
            &[("pair", &pair), ("direction", "sent")],
            manifest.document.ciphertext_size,
        );
    }
    Ok(())
}

/// Runs steps 4 to 8 for an approved transfer, resuming after a restart: if a manifest was
/// already committed, the same encrypted bytes are sent again (the consumer's node answers a
/// repeated delivery with its first receipt), so nothing is delivered twice.
///
/// # Errors
/// Any step's error; the transfer stays `approved` and the worker retries later.
pub async fn run_delivery(state: &NodeState, record: TransferRecord) -> Result<(), PipelineError> {
    let transfer = &record.transfer;
    let (manifest, blob) = match (&record.manifest, &record.cipher_blob) {
        (Some(m), Some(b)) if state.store().blobs().size(b).await?.is_some() => {
            (m.clone(), b.clone())
        }
        _ => {
            let decision: Decision = record
                .report
                .as_ref()
                .and_then(|r| r.get("decision"))
                .and_then(|d| serde_json::from_value(d.clone()).ok())
                .ok_or_else(|| {
                    PipelineError::Document("approved transfer has no recorded decision".into())
                })?;
            let Decision::Allow { obligations, .. } = decision else {
                return Err(PipelineError::Document(
                    "transfer is approved but its decision is deny".into(),
                ));
            };
            let (_, blob_key) = state
                .store()
                .dataset_version(&transfer.dataset_id, &transfer.sha256)
                .await?
                .ok_or_else(|| PipelineError::Document("dataset version vanished".into()))?;
            let size = record
                .report
                .as_ref()
                .and_then(|r| r.pointer("/review/size"))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            let source = PreparedPayload {
                blob_key,
                sha256: transfer.sha256.clone(),
                size,
            };
            let blobs = state.store().blobs();
            let started = std::time::Instant::now();
            let payload = apply_obligations(blobs, source, &obligations).await?;
            let payload = mark(blobs, payload, &transfer.consumer, &transfer.id).await?;
            let encrypted =
                encrypt(blobs, &payload, &transfer.consumer_hpke_key, &transfer.id).await?;
            let manifest = sign_manifest(state, transfer, &payload, &encrypted)?;
            tracing::info!(transfer = %transfer.id, bytes = encrypted.size, ms = started.elapsed().as_millis() as u64, "sealed");
            let mut tx = state.store().begin().await?;
            tx.set_transfer_manifest(
                &transfer.id,
                TransferRole::Provider,
                &manifest,
                &encrypted.blob_key,
            )
            .await?;
            tx.append_event(&NewEvent::new(
                "transfer.sealed",
                &transfer.id,
                json!({
                    "payload_sha256": manifest.document.payload_sha256,
                    "ciphertext_sha256": manifest.document.ciphertext_sha256,
                    "ciphertext_size": manifest.document.ciphertext_size,
                    "hpke_suite": manifest.document.hpke_suite,
                }),
            ))
            .await?;
            tx.commit().await?;
            (manifest, encrypted.blob_key)
        }
    };
    let started = std::time::Instant::now();
    let receipt = deliver(state, &manifest, &blob).await?;
    tracing::info!(transfer = %transfer.id, ms = started.elapsed().as_millis() as u64, "delivered");
    record_receipt(state, transfer, &manifest, &receipt).await?;
    // The consumer holds its copy; ours is no longer needed.
    state.store().blobs().delete(&blob).await?;
    Ok(())
}

/// The delivery worker: resumes approved transfers at start, then runs each newly approved
/// one, retrying failures with a pause. One task per transfer; a transfer is never run twice
/// at once.
pub async fn worker(state: NodeState) {
    loop {
        match state
            .store()
            .transfers_in_status(TransferRole::Provider, TransferStatus::Approved)
            .await
        {
            Ok(records) => {
                for record in records {
                    let id = record.transfer.id.clone();
                    {
                        let mut in_flight = state
                            .0
                            .in_flight
                            .lock()
                            .expect("in-flight lock never poisoned");
                        if !in_flight.insert(id.clone()) {
                            continue;
                        }
                    }
                    let state = state.clone();
                    tokio::spawn(async move {
                        let pair = format!(
                            "{}->{}",
                            record.transfer.provider_state(),
                            record.transfer.consumer_state()
                        );
                        if let Err(e) = run_delivery(&state, record).await {
                            tracing::warn!(transfer = %id, error = %e, "delivery failed; will retry");
                            state.metrics().add(
                                "silkgate_transfers_total",
                                &[("pair", &pair), ("outcome", "retry")],
                                1,
                            );
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        state
                            .0
                            .in_flight
                            .lock()
                            .expect("in-flight lock never poisoned")
                            .remove(&id);
                        state.wake_worker();
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "worker cannot read transfers"),
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), state.0.wake.notified()).await;
    }
}
