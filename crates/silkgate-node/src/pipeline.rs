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

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use silkgate_model::{
    DataCategory, DatasetVersion, DeliveryManifest, DeliveryReceipt, NewEvent, OrgId, Sector,
    Signed, Transfer, TransferStatus, canonical,
};
use silkgate_policy::{
    DataFacts, Decision as PolicyDecision, Exporter, Facts, FactsError, Grounds,
    Obligation as PolicyObligation, Outcome, PolicyEngine, Reason, Recipient, RecipientKind, Texts,
    YearToDate,
};
use silkgate_scan::{DeidReport, Entity, Keys, Plan, ScanOptions, ScanReport, Transform};
use silkgate_store::{Blobs, TransferRecord, TransferRole};

use crate::error::ApiError;
use crate::node::NodeState;
use crate::payload_crypto::{self, CHUNK_SIZE, PayloadSealer};
use crate::wire::TransferRequestV1;

/// Largest signed manifest a delivery's trailer may carry.
pub const MAX_MANIFEST_TRAILER: usize = 64 * 1024;

/// A delivery's body is the ciphertext followed by the signed manifest's JSON and the
/// manifest's length as 4 big-endian bytes. The manifest comes last because it names the
/// ciphertext's hash: the provider streams records to the consumer as it seals them and signs
/// once the last one is out, instead of sealing everything before sending anything.
///
/// # Errors
/// [`PipelineError::Document`] if the manifest does not serialise or is too large.
pub fn manifest_trailer(manifest: &Signed<DeliveryManifest>) -> Result<Vec<u8>, PipelineError> {
    let mut out =
        serde_json::to_vec(manifest).map_err(|e| PipelineError::Document(e.to_string()))?;
    if out.len() > MAX_MANIFEST_TRAILER {
        return Err(PipelineError::Document(format!(
            "manifest of {} bytes exceeds {MAX_MANIFEST_TRAILER}",
            out.len()
        )));
    }
    let len = u32::try_from(out.len()).expect("bounded above");
    out.extend_from_slice(&len.to_be_bytes());
    Ok(out)
}

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

/// Step 2's output: what the content review found in the actual payload bytes: their hash
/// and size, and the scanner's report (counts, columns, categories, masked samples only,
/// never a raw value). A payload the scanner cannot read as CSV or JSON Lines has no report
/// and an error instead, and the decision refuses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentReport {
    /// SHA-256 of the payload as read from storage.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// When reviewed, Unix seconds.
    pub reviewed_at: i64,
    /// The scanner's report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
    /// Why the scanner could not read the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_error: Option<String>,
}

/// What the provider organisation said through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderDecision {
    /// Send it (this meets the [`PROVIDER_APPROVAL`] obligation).
    Approve,
    /// Do not send it.
    Deny {
        /// Why.
        reason: String,
    },
}

/// Obligation the node adds to every decision that is not `deny`: the providing
/// organisation's approval through the API. It is the node's own rule, not a state's law, so
/// it cites nothing.
pub const PROVIDER_APPROVAL: &str = "node.provider-approval";
/// Obligation the node adds when the operator's de-identification rules
/// ([`crate::NodeOptions::deidentify`]) match a column of the payload; met by the "apply
/// obligations" step before encryption.
pub const DEIDENTIFY: &str = "node.deidentify";
/// Rule id of the refusal of a payload the content review could not read.
pub const UNREVIEWABLE: &str = "node.content-review";
/// Rule id of the refusal of a payload the content review could not read in full
/// (records skipped, nesting or columns beyond the limits, invalid encoding).
pub const INCOMPLETE_REVIEW: &str = "node.content-review-incomplete";

/// What the node does with a content review that could not read the whole payload: an
/// incomplete review never counts as `non-personal` and never feeds an exemption, so the
/// node either refuses the transfer or decides with the unread part treated as personal
/// data. The operator chooses ([`crate::NodeOptions::incomplete_review`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IncompleteReview {
    /// Refuse the transfer, naming what was not read and the limit that was hit.
    #[default]
    Refuse,
    /// Decide, with the unread part counted as personal data and each unread record as a
    /// data subject.
    TreatAsPersonal,
}

/// What an incomplete scan did not read, in one line of English (kind, count, share,
/// limit and reason of each part), for a refusal's reason.
pub fn unread_line(scan: &ScanReport) -> String {
    if !scan.unread.is_empty() {
        return scan
            .unread
            .iter()
            .map(|u| {
                let limit = u.limit.map(|l| format!(", limit {l}")).unwrap_or_default();
                format!(
                    "{} ({:.2} %{limit}): {}",
                    u.kind.as_str(),
                    u.share * 100.0,
                    u.reason
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    // A report stored before the scanner listed what it did not read.
    format!(
        "{} records skipped, {} invalid lines, {} fields with invalid encoding{}",
        scan.skipped_records,
        scan.invalid_lines,
        scan.invalid_utf8_fields,
        if scan.columns_truncated {
            ", columns beyond the limit"
        } else {
            ""
        }
    )
}

/// Step 3's output, stored with the transfer and shown to both parties: the rule packs'
/// decision (outcome, obligations, reasons with citations, pack versions) with the node's
/// own obligations added, the facts it was taken on and the de-identification plan the
/// obligations demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferDecision {
    /// The decision. Its outcome is `conditional` whenever an obligation is listed, `deny`
    /// when the packs deny or the content could not be reviewed.
    #[serde(flatten)]
    pub decision: PolicyDecision,
    /// The rule packs' own outcome, before the node's obligations were added.
    pub legal_outcome: Outcome,
    /// The facts the engine decided on (absent when the content could not be reviewed).
    pub facts: Option<Facts>,
    /// Columns to de-identify before delivery, when [`DEIDENTIFY`] is an obligation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deidentify: Option<Plan>,
    /// How the delivered copy is marked for its recipient (the agreement's marking terms);
    /// absent or disabled: the copy is delivered unmarked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking: Option<silkgate_model::MarkingTerms>,
    /// Obligations met so far, by id.
    #[serde(default)]
    pub met: Vec<String>,
    /// When decided, Unix seconds.
    pub decided_at: i64,
    /// The agreement the transfer runs under, the grounds its approvals attest and the term
    /// the request broke, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<crate::agreements::AgreementUse>,
}

impl TransferDecision {
    /// Whether the transfer is refused.
    pub fn is_deny(&self) -> bool {
        self.decision.outcome == Outcome::Deny
    }

    /// The reasons in one line of English, for the transfer's `reason` field and the
    /// consumer's node: each rule, its text, and its citations with the law's name and, where
    /// the research could not confirm it, the UNVERIFIED mark.
    pub fn reason_line(&self) -> String {
        self.decision
            .reasons
            .iter()
            .map(|r| {
                let cites: Vec<String> = r
                    .citations
                    .iter()
                    .map(silkgate_policy::Citation::line)
                    .collect();
                if cites.is_empty() {
                    format!("{}: {}", r.rule, r.text.en)
                } else {
                    format!("{}: {} ({})", r.rule, r.text.en, cites.join("; "))
                }
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Obligations of the rule packs (not the node's own) that are not met.
    pub fn unmet_legal_obligations(&self) -> Vec<&str> {
        self.decision
            .obligations
            .iter()
            .map(|o| o.id.as_str())
            .filter(|id| !id.starts_with("node.") && !self.met.iter().any(|m| m == id))
            .collect()
    }
}

fn node_obligation(id: &str, text: Texts) -> PolicyObligation {
    PolicyObligation {
        id: id.to_owned(),
        text,
        citations: Vec::new(),
    }
}

/// Builds the policy facts of a transfer from its content review and what the node knows:
/// the exporting and importing states, the exporter organisation's sector, the recipient's
/// kind, the report's categories and subject estimate, the exporter's year-to-date counts and
/// the grounds known so far. `None` when the content could not be reviewed.
///
/// Sensitive subjects are counted conservatively: every subject when a category that the
/// packs treat as sensitive (sensitive, biometric, genetic, health, financial, children) is
/// present, since the review cannot tell which persons the sensitive columns belong to.
pub fn facts_for(
    transfer: &Transfer,
    exporter_sector: Sector,
    recipient_kind: RecipientKind,
    report: &ContentReport,
    year_to_date: YearToDate,
    grounds: Grounds,
) -> Option<Facts> {
    let scan = report.scan.as_ref()?;
    // The scanner's facts fail closed: an incomplete review counts its unread part as
    // personal (never `non-personal`) and each unread record as a subject.
    let content = scan.facts();
    let mut categories = content.categories;
    if categories.is_empty() {
        categories.push(DataCategory::NonPersonal);
    }
    let has = |c: DataCategory| categories.contains(&c);
    let sensitive = any_sensitive(&categories);
    let personal = categories.iter().any(|c| *c != DataCategory::NonPersonal);
    let subjects = if personal { content.subjects } else { 0 };
    Some(Facts {
        from: transfer.provider_state(),
        to: transfer.consumer_state(),
        exporter: Exporter {
            state: Some(transfer.provider_state()),
            ciio: false,
            sector: exporter_sector,
        },
        recipient: Recipient {
            state: Some(transfer.consumer_state()),
            kind: recipient_kind,
        },
        data: DataFacts {
            subjects,
            sensitive_subjects: if sensitive { subjects } else { 0 },
            important_data: has(DataCategory::Important) || has(DataCategory::Core),
            biometric: has(DataCategory::Biometric),
            categories,
        },
        year_to_date,
        grounds,
        exemptions: Vec::new(),
    })
}

/// Whether any of these categories is one the packs treat as sensitive (sensitive,
/// biometric, genetic, health, financial, children): then every subject counts as sensitive,
/// since a review cannot tell which persons the sensitive columns belong to.
pub fn any_sensitive(categories: &[DataCategory]) -> bool {
    categories.iter().any(|c| {
        matches!(
            c,
            DataCategory::Sensitive
                | DataCategory::Biometric
                | DataCategory::Genetic
                | DataCategory::Health
                | DataCategory::Financial
                | DataCategory::Children
        )
    })
}

/// Step 3: decide. Calls the rule packs on the facts, then adds the node's obligations: the
/// provider's approval always (unless denied), and de-identification of the columns the
/// operator's rules name. Content that could not be reviewed is refused, and so is content
/// the review could not read in full ([`IncompleteReview::Refuse`]; see [`decide_with`]).
///
/// `decided_at` (Unix seconds, from the node's clock) is recorded as the decision's time.
///
/// # Errors
/// [`FactsError`] naming the field when the engine refuses the facts.
pub fn decide(
    engine: &PolicyEngine,
    report: &ContentReport,
    facts: Option<Facts>,
    deidentify_rules: &BTreeMap<Entity, Transform>,
    decided_at: i64,
) -> Result<TransferDecision, FactsError> {
    decide_with(
        engine,
        report,
        facts,
        deidentify_rules,
        IncompleteReview::Refuse,
        decided_at,
    )
}

/// [`decide`] with the operator's choice for a review that could not read the whole
/// payload: refused with what was not read and the limit hit, or decided on facts that
/// count the unread part as personal ([`facts_for`] always builds them so).
///
/// # Errors
/// [`FactsError`] naming the field when the engine refuses the facts.
pub fn decide_with(
    engine: &PolicyEngine,
    report: &ContentReport,
    facts: Option<Facts>,
    deidentify_rules: &BTreeMap<Entity, Transform>,
    incomplete: IncompleteReview,
    decided_at: i64,
) -> Result<TransferDecision, FactsError> {
    let unread = report
        .scan
        .as_ref()
        .filter(|s| !s.is_complete() && incomplete == IncompleteReview::Refuse);
    let refusal = match (&facts, unread) {
        (None, _) => Some(Reason {
            rule: UNREVIEWABLE.into(),
            text: Texts {
                en: format!(
                    "The content review could not read the payload ({}); nothing is sent without a review.",
                    report.scan_error.as_deref().unwrap_or("no report")
                ),
                ru: "Проверка содержимого не смогла прочитать данные; без проверки ничего не передаётся.".into(),
                zh: "内容审查无法读取数据；未经审查不传输任何数据。".into(),
            },
            citations: Vec::new(),
        }),
        (Some(_), Some(scan)) => Some(Reason {
            rule: INCOMPLETE_REVIEW.into(),
            text: Texts {
                en: format!(
                    "The content review could not read all of the payload: {}. A payload not reviewed in full is not sent.",
                    unread_line(scan)
                ),
                ru: format!(
                    "Проверка содержимого не смогла прочитать данные полностью: {}. Данные без полной проверки не передаются.",
                    unread_line(scan)
                ),
                zh: format!(
                    "内容审查未能完整读取数据：{}。未经完整审查的数据不予传输。",
                    unread_line(scan)
                ),
            },
            citations: Vec::new(),
        }),
        (Some(_), None) => None,
    };
    if let Some(reason) = refusal {
        return Ok(TransferDecision {
            decision: PolicyDecision {
                outcome: Outcome::Deny,
                obligations: Vec::new(),
                reasons: vec![reason],
                rulepacks: BTreeMap::new(),
            },
            legal_outcome: Outcome::Deny,
            facts,
            deidentify: None,
            marking: None,
            met: Vec::new(),
            decided_at,
            agreement: None,
        });
    }
    let Some(facts) = facts else {
        unreachable!("a missing review is refused above")
    };
    let mut decision = if facts.from == facts.to {
        domestic_decision(&facts)
    } else {
        engine.decide_for_day(&facts, silkgate_model::Date::from_unix_seconds(decided_at))?
    };
    let legal_outcome = decision.outcome;
    let plan = report
        .scan
        .as_ref()
        .map(|s| Plan::for_report(s, deidentify_rules))
        .filter(|p| !p.columns.is_empty());
    if decision.outcome != Outcome::Deny {
        if let Some(plan) = &plan {
            let cols: Vec<&str> = plan.columns.keys().map(String::as_str).collect();
            let cols = cols.join(", ");
            decision.obligations.push(node_obligation(
                DEIDENTIFY,
                Texts {
                    en: format!("The node de-identifies the columns {cols} before encryption, as its operator's rules require."),
                    ru: format!("Узел обезличивает столбцы {cols} перед шифрованием по правилам оператора."),
                    zh: format!("节点按运营方规则在加密前对列 {cols} 去标识化。"),
                },
            ));
        }
        decision.obligations.push(node_obligation(
            PROVIDER_APPROVAL,
            Texts {
                en: "The providing organisation approves the transfer through its node.".into(),
                ru: "Организация-поставщик одобряет передачу через свой узел.".into(),
                zh: "提供方组织通过其节点批准此次传输。".into(),
            },
        ));
        decision.outcome = Outcome::Conditional;
    }
    Ok(TransferDecision {
        decision,
        legal_outcome,
        facts: Some(facts),
        deidentify: plan.filter(|_| legal_outcome != Outcome::Deny),
        marking: None,
        met: Vec::new(),
        decided_at,
        agreement: None,
    })
}

/// Grounds attested by either source (an agreement's approvals, the provider's attestation).
pub fn merge_grounds(a: Grounds, b: Grounds) -> Grounds {
    Grounds {
        consent: a.consent || b.consent,
        standard_contract: a.standard_contract || b.standard_contract,
        certification: a.certification || b.certification,
        security_assessment: a.security_assessment || b.security_assessment,
        regulator_permit: a.regulator_permit || b.regulator_permit,
        regulator_notified: a.regulator_notified || b.regulator_notified,
        judicial_approval: a.judicial_approval || b.judicial_approval,
        impact_assessment: a.impact_assessment || b.impact_assessment,
        domestic_database: a.domestic_database || b.domestic_database,
        waiting_period_elapsed: a.waiting_period_elapsed || b.waiting_period_elapsed,
    }
}

/// Rule id of the reason given when provider and consumer are in the same state.
pub const DOMESTIC: &str = "node.domestic";

/// Both parties in one state: the rule packs govern cross-border transfers only, so none
/// applies; the node's own obligations still do. Said as a reason so nobody mistakes the
/// absence of citations for an oversight.
fn domestic_decision(facts: &Facts) -> PolicyDecision {
    let state = facts.from;
    PolicyDecision {
        outcome: Outcome::Allow,
        obligations: Vec::new(),
        reasons: vec![Reason {
            rule: DOMESTIC.into(),
            text: Texts {
                en: format!(
                    "Both parties are in {state}: a domestic transfer, to which the cross-border rule packs do not apply."
                ),
                ru: format!(
                    "Обе стороны находятся в {state}: передача внутри страны, трансграничные пакеты правил не применяются."
                ),
                zh: format!("双方均位于 {state}：境内传输，不适用跨境规则包。"),
            },
            citations: Vec::new(),
        }],
        rulepacks: BTreeMap::new(),
    }
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

/// Step 6's output: what the manifest says of the encrypted stream that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedPayload {
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
    /// The consumer's node refused the delivery's content (422: a manifest or ciphertext it
    /// does not accept); it stored nothing.
    #[error("delivery refused by {peer}: {reason}")]
    Refused {
        /// Peer node.
        peer: String,
        /// Its answer.
        reason: String,
    },
    /// A document could not be signed or verified.
    #[error("document: {0}")]
    Document(String),
    /// Marking the copy failed.
    #[error("marking: {0}")]
    Mark(String),
    /// De-identification failed or left identifying values behind.
    #[error("de-identification: {0}")]
    Deidentify(String),
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

/// Reads bytes sent from async code in a blocking task (the scanner's readers are `Read`).
pub(crate) struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl ChannelReader {
    /// A reader of what arrives on `rx`; the end of the channel is the end of the input.
    pub(crate) fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Self {
        ChannelReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.cur = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

/// Sends what blocking code writes to async code, in pieces of [`CHUNK_SIZE`].
pub(crate) struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    /// A writer whose pieces go to `tx`; flush it to send the last piece.
    pub(crate) fn new(tx: tokio::sync::mpsc::Sender<Bytes>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK_SIZE),
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_SIZE {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let piece = Bytes::from(std::mem::take(&mut self.buf));
            self.tx
                .blocking_send(piece)
                .map_err(|_| std::io::Error::other("payload writer closed"))?;
        }
        Ok(())
    }
}

/// Step 2: review content. Streams the actual payload bytes once, hashing them and feeding
/// the scanner (on a blocking thread, a few pieces in flight, so memory stays bounded),
/// and refuses a payload that no longer matches the catalogue.
///
/// # Errors
/// [`PipelineError::PayloadChanged`] or a storage error.
pub async fn review_content(
    blobs: &Blobs,
    received: &ReceivedRequest,
    reviewed_at: i64,
) -> Result<ContentReport, PipelineError> {
    review_stored(
        blobs,
        &received.blob_key,
        &received.dataset.dataset_id,
        &received.dataset.sha256,
        reviewed_at,
    )
    .await
}

/// The content review of a stored payload (blob `blob_key` of version `sha256` of
/// `dataset_id`), as [`review_content`] runs it for a transfer; the portal shows it to the
/// publisher right after an upload.
///
/// # Errors
/// [`PipelineError::PayloadChanged`] or a storage error.
pub async fn review_stored(
    blobs: &Blobs,
    blob_key: &str,
    dataset_id: &str,
    sha256: &str,
    reviewed_at: i64,
) -> Result<ContentReport, PipelineError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let scanner = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        silkgate_scan::scan(reader, &ScanOptions::default())
    });
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut sender = Some(tx);
    let mut stream = blobs.read(blob_key).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        if let Some(s) = &sender
            && s.send(chunk).await.is_err()
        {
            // The scanner stopped early (unreadable input); keep hashing.
            sender = None;
        }
    }
    drop(sender);
    let scanned = scanner
        .await
        .map_err(|e| PipelineError::Document(format!("content review task: {e}")))?;
    let found = hex::encode(hasher.finalize());
    if found != sha256 {
        return Err(PipelineError::PayloadChanged {
            dataset_id: dataset_id.to_owned(),
            expected: sha256.to_owned(),
            found,
        });
    }
    let sha256 = found;
    let (scan, scan_error) = match scanned {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(ContentReport {
        sha256,
        size,
        reviewed_at,
        scan,
        scan_error,
    })
}

/// Keys for the transforms of a de-identification plan, derived from the node's signing key:
/// the pseudonymisation key per (provider, consumer) pair, so the same person maps to the
/// same token across this pair's transfers and to unrelated tokens for other recipients;
/// the tokenisation key per provider, so only the provider's node can reverse tokens.
pub fn deidentification_keys(state: &NodeState, transfer: &Transfer) -> Keys {
    let secret = state.identity().signing_key.to_bytes();
    let derive = |label: &str, a: &str, b: &str| -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [label.as_bytes(), &secret, a.as_bytes(), b.as_bytes()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    };
    Keys::new()
        .with_pseudonymisation(derive(
            "silkgate/pseudonymisation/v1",
            transfer.provider.as_str(),
            transfer.consumer.as_str(),
        ))
        .with_tokenisation(derive(
            "silkgate/tokenisation/v1",
            transfer.provider.as_str(),
            "",
        ))
}

/// Step 4: apply obligations. With a de-identification plan, streams the payload through
/// the scanner's de-identification into a new blob (the original stays untouched) and
/// returns it with the scanner's report of what was changed; its re-scan must find no value
/// of a transformed entity left, or nothing is sent. Without one, the payload passes through.
///
/// # Errors
/// [`PipelineError::Deidentify`], or storage errors.
pub async fn apply_obligations(
    blobs: &Blobs,
    payload: PreparedPayload,
    plan: Option<&Plan>,
    keys: &Keys,
    transfer_id: &str,
) -> Result<(PreparedPayload, Option<DeidReport>), PipelineError> {
    let Some(plan) = plan else {
        return Ok((payload, None));
    };
    let plan = plan.clone();
    let keys = keys.clone();
    let (payload, report) = transform_blob(
        blobs,
        &payload.blob_key,
        format!("outbox/{transfer_id}.deidentified"),
        move |reader, writer| {
            let report = silkgate_scan::deidentify(reader, writer, &plan, &keys)
                .map_err(|e| PipelineError::Deidentify(e.to_string()))?;
            if report.residual.is_empty() {
                Ok(report)
            } else {
                Err(PipelineError::Deidentify(format!(
                    "the re-scan found {} values of transformed entities left",
                    report.residual.iter().map(|r| r.count).sum::<u64>()
                )))
            }
        },
    )
    .await?;
    Ok((payload, Some(report)))
}

/// Streams blob `input` through `transform` into a new blob promoted to `output_key`, and
/// returns it with what `transform` returned. `transform` runs on a blocking thread with a
/// few 1 MiB pieces in flight each way, so memory stays bounded whatever the payload's size;
/// when it (or a blob read or write) fails, the new blob is discarded and the input is left
/// as it was. A failed blob read or write is reported before the transform's own error,
/// since it is the cause of the transform's failure.
///
/// # Errors
/// The transform's error, or storage errors.
pub(crate) async fn transform_blob<T, F>(
    blobs: &Blobs,
    input: &str,
    output_key: String,
    transform: F,
) -> Result<(PreparedPayload, T), PipelineError>
where
    T: Send + 'static,
    F: FnOnce(ChannelReader, &mut ChannelWriter) -> Result<T, PipelineError> + Send + 'static,
{
    let (in_tx, in_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let task = tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter::new(out_tx);
        let value = transform(ChannelReader::new(in_rx), &mut writer)?;
        writer
            .flush()
            .map_err(|e| PipelineError::Document(format!("transformed copy: {e}")))?;
        Ok::<_, PipelineError>(value)
    });
    let mut writer = blobs.writer().await?;
    let feed = async {
        let mut input = blobs.read(input).await?;
        while let Some(chunk) = input.next().await {
            if in_tx.send(chunk?).await.is_err() {
                // The transform stopped reading (it failed); its error is the one to report.
                break;
            }
        }
        drop(in_tx);
        Ok::<(), PipelineError>(())
    };
    let drain = async {
        let mut hasher = Sha256::new();
        while let Some(piece) = out_rx.recv().await {
            hasher.update(&piece);
            writer.write(&piece).await?;
        }
        Ok::<_, PipelineError>(hex::encode(hasher.finalize()))
    };
    let (fed, drained) = tokio::join!(feed, drain);
    let outcome = task
        .await
        .map_err(|e| PipelineError::Document(format!("transform task: {e}")));
    let result = match (fed, drained, outcome) {
        (Ok(()), Ok(sha), Ok(Ok(value))) => Ok((sha, value)),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) | (_, _, Ok(Err(e))) => Err(e),
    };
    let (sha256, value) = match result {
        Ok(v) => v,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    let staged = writer.finish().await?;
    blobs.promote(&staged, &output_key).await?;
    Ok((
        PreparedPayload {
            blob_key: output_key,
            sha256,
            size: staged.size,
        },
        value,
    ))
}

/// A record as JSON for a transfer's report.
fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, PipelineError> {
    serde_json::to_value(value).map_err(|e| PipelineError::Document(e.to_string()))
}

/// Obligation id met when the delivered copy carries its recipient's fingerprint.
pub const MARK: &str = "node.mark";

/// Step 5: mark the copy for its recipient under the decision's marking terms (see
/// [`crate::marking`]); returns the copy to encrypt and the marking record to keep.
///
/// # Errors
/// [`PipelineError::Mark`] when the terms cannot be applied; storage errors.
pub async fn mark(
    state: &NodeState,
    payload: PreparedPayload,
    decision: &TransferDecision,
    transfer: &Transfer,
) -> Result<(PreparedPayload, Option<silkgate_mark::MarkingRecord>), PipelineError> {
    let delivery = silkgate_mark::Delivery {
        dataset: transfer.sha256.clone(),
        transfer_id: transfer.id.clone(),
        agreement_id: decision
            .agreement
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default(),
        recipient: transfer.consumer.to_string(),
    };
    crate::marking::mark_copy(
        state.store().blobs(),
        payload,
        decision.marking.as_ref(),
        &crate::marking::marking_key(state),
        &delivery,
    )
    .await
}

/// Step 6: encrypt to the consumer's key, record by record, handing each sealed record to
/// the delivery already open to the consumer's node, so sending overlaps sealing. Memory holds
/// a few records whatever the payload size.
///
/// The ciphertext is hashed as it is sealed (the manifest names its SHA-256 and size) and is
/// not stored: the provider keeps no copy. A delivery that breaks before the consumer's node
/// holds it is sealed again from the plaintext, under a new encapsulated key and manifest
/// ([`run_delivery`]).
///
/// Each plaintext byte is read once (1 MiB reads), copied once into its record buffer and
/// encrypted there in place; the record buffer itself becomes the request body's chunk.
///
/// # Errors
/// Storage or key errors; [`PipelineError::Delivery`] if the delivery request already ended
/// (refused or broken), since nothing would carry the rest.
pub async fn encrypt(
    blobs: &Blobs,
    payload: &PreparedPayload,
    recipient_key_hex: &str,
    transfer_id: &str,
    delivery: &OpenDelivery,
) -> Result<EncryptedPayload, PipelineError> {
    let (mut sealer, encapped_key) = PayloadSealer::new(recipient_key_hex, transfer_id)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let new_record = || {
        let mut r = Vec::with_capacity(payload_crypto::MAX_RECORD);
        r.extend_from_slice(&[0; payload_crypto::RECORD_HEADER]);
        r
    };
    // The record being filled: header space, then up to CHUNK_SIZE plaintext bytes. A full
    // record is sealed only once more bytes are known to follow it, so the final record is
    // always the one marked final.
    let mut record = new_record();
    let mut input = blobs.read(&payload.blob_key).await?;
    while let Some(chunk) = input.next().await {
        let mut chunk = chunk?;
        while !chunk.is_empty() {
            if record.len() == payload_crypto::RECORD_HEADER + CHUNK_SIZE {
                let mut full = std::mem::replace(&mut record, new_record());
                sealer.seal_in_place(&mut full, 0, false);
                hasher.update(&full);
                size += full.len() as u64;
                delivery.send(Bytes::from(full)).await?;
            }
            let room = payload_crypto::RECORD_HEADER + CHUNK_SIZE - record.len();
            let take = room.min(chunk.len());
            record.extend_from_slice(&chunk.split_to(take));
        }
    }
    sealer.seal_in_place(&mut record, 0, true);
    hasher.update(&record);
    size += record.len() as u64;
    delivery.send(Bytes::from(record)).await?;
    Ok(EncryptedPayload {
        sha256: hex::encode(hasher.finalize()),
        size,
        encapped_key,
    })
}

/// Where a delivered copy comes from, beyond the transfer: the agreement and the log entry of
/// the approval.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The agreement the transfer runs under.
    pub agreement_id: Option<String>,
    /// Log index of the approval's entry (entry `i` is event `seq = i + 1`).
    pub approval_log_index: Option<u64>,
}

/// The provenance of a transfer about to be sealed: its agreement (from the decision) and the
/// log index of its latest `transfer.approved` event.
///
/// # Errors
/// Storage errors.
pub async fn provenance(
    state: &NodeState,
    transfer: &Transfer,
    decision: &TransferDecision,
) -> Result<Provenance, PipelineError> {
    let approval = state
        .store()
        .events_about(&transfer.id)
        .await?
        .into_iter()
        .filter(|e| e.kind == "transfer.approved")
        .map(|e| e.seq)
        .max();
    Ok(Provenance {
        agreement_id: decision.agreement.as_ref().map(|a| a.id.clone()),
        approval_log_index: approval.and_then(|seq| u64::try_from(seq - 1).ok()),
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
    provenance: Provenance,
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
        delivered_at: state.clock().now_unix(),
        agreement_id: provenance.agreement_id,
        approval_log_index: provenance.approval_log_index,
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

/// The peer node serving this transfer's consumer.
fn consumer_peer(
    state: &NodeState,
    consumer_state: silkgate_model::StateCode,
) -> Result<silkgate_model::TrustedNode, PipelineError> {
    state
        .trust_list()
        .document
        .node_for_state(consumer_state)
        .cloned()
        .ok_or_else(|| PipelineError::Delivery {
            peer: consumer_state.to_string(),
            reason: "no node of this state on the trust list".into(),
        })
}

/// Posts a delivery body (ciphertext, then the manifest trailer) and reads the receipt.
async fn post_delivery(
    state: NodeState,
    peer: silkgate_model::TrustedNode,
    transfer_id: String,
    body: reqwest::Body,
) -> Result<Signed<DeliveryReceipt>, PipelineError> {
    let url = format!(
        "{}/federation/v1/transfers/{transfer_id}/delivery",
        peer.url.trim_end_matches('/'),
    );
    let fail = |reason: String| PipelineError::Delivery {
        peer: peer.node_id.clone(),
        reason,
    };
    let resp = state
        .delivery_peers()
        .post(&url)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| fail(format!("{e}")))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        let reason = text.chars().take(300).collect::<String>();
        return Err(if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            PipelineError::Refused {
                peer: peer.node_id.clone(),
                reason,
            }
        } else {
            fail(format!("refused with {status}: {reason}"))
        });
    }
    resp.json::<Signed<DeliveryReceipt>>()
        .await
        .map_err(|e| fail(format!("unreadable receipt: {e}")))
}

type BodyItem = Result<Bytes, std::io::Error>;

/// A delivery request already streaming to the consumer's node while the payload is sealed
/// ([`encrypt`] feeds it, [`OpenDelivery::finish`] ends it with the manifest).
pub struct OpenDelivery {
    tee: tokio::sync::mpsc::Sender<BodyItem>,
    answer: tokio::task::JoinHandle<Result<Signed<DeliveryReceipt>, PipelineError>>,
    delay: Option<Duration>,
    peer: String,
}

impl std::fmt::Debug for OpenDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenDelivery")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl OpenDelivery {
    /// Opens the delivery request to the consumer's node; its body is fed by
    /// [`OpenDelivery::send`].
    ///
    /// # Errors
    /// [`PipelineError::Delivery`] when the consumer's state has no node on the trust list.
    pub fn start(state: &NodeState, transfer: &Transfer) -> Result<Self, PipelineError> {
        let peer = consumer_peer(state, transfer.consumer_state())?;
        let peer_id = peer.node_id.clone();
        let (tee, rx) = tokio::sync::mpsc::channel::<BodyItem>(4);
        let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let answer = tokio::spawn(post_delivery(
            state.clone(),
            peer,
            transfer.id.clone(),
            body,
        ));
        Ok(Self {
            tee,
            answer,
            delay: state.0.options.delivery_record_delay,
            peer: peer_id,
        })
    }

    /// Hands one sealed record to the request, without copying it.
    ///
    /// # Errors
    /// [`PipelineError::Delivery`] when the request already ended: the consumer's node
    /// refused it or the connection broke; there is no point sealing the rest.
    pub async fn send(&self, record: Bytes) -> Result<(), PipelineError> {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        self.tee
            .send(Ok(record))
            .await
            .map_err(|_| PipelineError::Delivery {
                peer: self.peer.clone(),
                reason: "the delivery request ended before the payload was sent".into(),
            })
    }

    /// Sends the manifest trailer, ends the body and waits for the receipt.
    ///
    /// # Errors
    /// [`PipelineError::Delivery`] or [`PipelineError::Refused`] when the consumer's node
    /// cannot be reached or refuses the delivery.
    pub async fn finish(
        self,
        manifest: &Signed<DeliveryManifest>,
    ) -> Result<Signed<DeliveryReceipt>, PipelineError> {
        let _ = self
            .tee
            .send(Ok(Bytes::from(manifest_trailer(manifest)?)))
            .await;
        drop(self.tee);
        self.answer.await.map_err(|e| PipelineError::Delivery {
            peer: self.peer.clone(),
            reason: format!("delivery task failed: {e}"),
        })?
    }

    /// Gives up on the request: the body ends without its trailer, so the consumer's node
    /// discards what it staged. Returns the node's answer if it already refused.
    async fn abandon(self) -> Option<PipelineError> {
        drop(self.tee);
        self.answer.abort();
        match self.answer.await {
            Ok(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// Step 7 again, for a transfer whose manifest was committed but whose receipt was not (the
/// node stopped, or the answer was lost): sends the committed manifest alone, with no
/// ciphertext. A consumer's node that holds this delivery answers with the receipt it signed
/// then; one that does not refuses it (422, nothing stored), and the payload must be sealed
/// again: `Ok(None)`.
///
/// # Errors
/// [`PipelineError::Delivery`] when the peer cannot be reached or answers otherwise.
pub async fn deliver(
    state: &NodeState,
    manifest: &Signed<DeliveryManifest>,
) -> Result<Option<Signed<DeliveryReceipt>>, PipelineError> {
    let peer = consumer_peer(state, manifest.document.consumer.state())?;
    let trailer = Bytes::from(manifest_trailer(manifest)?);
    match post_delivery(
        state.clone(),
        peer,
        manifest.document.transfer_id.clone(),
        trailer.into(),
    )
    .await
    {
        Ok(receipt) => Ok(Some(receipt)),
        Err(PipelineError::Refused { peer, reason }) => {
            tracing::info!(transfer = %manifest.document.transfer_id, %peer, %reason, "the consumer's node does not hold the committed delivery; sealing again");
            Ok(None)
        }
        Err(e) => Err(e),
    }
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
    // Read before the write transaction: a pool read while holding the write lock can wait
    // on a connection held by a writer queued behind us.
    let decision = recorded_decision(state, transfer).await?;
    let agreement = decision.as_ref().and_then(|d| d.agreement.clone());
    let facts = decision.and_then(|d| d.facts);
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
        if let (Some(a), Some(facts)) = (&agreement, &facts) {
            tx.add_agreement_usage(&a.id, state.clock().year(), facts.data.subjects)
                .await?;
        }
        if let Some(facts) = facts {
            tx.add_year_to_date(
                &transfer.provider,
                state.clock().year(),
                facts.data.subjects,
                facts.data.sensitive_subjects,
            )
            .await?;
        }
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

/// The decision recorded with a transfer on this (provider's) node.
async fn recorded_decision(
    state: &NodeState,
    transfer: &Transfer,
) -> Result<Option<TransferDecision>, PipelineError> {
    let record = state
        .store()
        .transfer(&transfer.id, TransferRole::Provider)
        .await?;
    Ok(record
        .and_then(|r| r.report)
        .and_then(|r| r.get("decision").cloned())
        .and_then(|d| serde_json::from_value::<TransferDecision>(d).ok()))
}

/// The calendar year (UTC) of a Unix time: the year-to-date counters reset on 1 January.
pub fn calendar_year(unix: i64) -> i32 {
    i32::from(silkgate_model::Date::from_unix_seconds(unix).year())
}

/// The exporter's year-to-date counts this calendar year, as the policy facts take them.
///
/// # Errors
/// Storage errors.
pub async fn year_to_date(
    state: &NodeState,
    exporter: &OrgId,
) -> Result<YearToDate, PipelineError> {
    let (subjects, sensitive_subjects) = state
        .store()
        .year_to_date(exporter, state.clock().year())
        .await?;
    Ok(YearToDate {
        subjects,
        sensitive_subjects,
    })
}

/// Steps 2 and 3 as the node runs them on a received request: builds the facts from the
/// report, the exporter organisation's sector (the dataset's when the organisation is
/// unknown), the exporter's year-to-date counts and the given grounds, and decides.
///
/// # Errors
/// Storage errors, or [`PipelineError::Document`] when the engine refuses the facts.
pub async fn decide_transfer(
    state: &NodeState,
    transfer: &Transfer,
    dataset_sector: Sector,
    recipient_kind: RecipientKind,
    report: &ContentReport,
    grounds: Grounds,
) -> Result<TransferDecision, PipelineError> {
    let sector = state
        .store()
        .organisation(&transfer.provider)
        .await?
        .map_or(dataset_sector, |o| o.sector);
    let ytd = year_to_date(state, &transfer.provider).await?;
    let facts = facts_for(transfer, sector, recipient_kind, report, ytd, grounds);
    decide_with(
        state.policy(),
        report,
        facts,
        &state.0.options.deidentify,
        state.0.options.incomplete_review,
        state.clock().now_unix(),
    )
    .map_err(|e| PipelineError::Document(format!("policy facts: {e}")))
}

/// Runs steps 4 to 8 for an approved transfer, resuming after a restart: if a manifest was
/// already committed, it is sent again alone ([`deliver`]), and a consumer's node that holds
/// that delivery answers with the receipt it signed then, so nothing is delivered twice.
/// Otherwise (first run, or the consumer's node holds nothing) the payload is prepared,
/// sealed and sent afresh; the provider keeps no ciphertext.
///
/// # Errors
/// Any step's error; the transfer stays `approved` and the worker retries later.
pub async fn run_delivery(state: &NodeState, record: TransferRecord) -> Result<(), PipelineError> {
    let transfer = &record.transfer;
    let committed = match &record.manifest {
        Some(m) => {
            let started = std::time::Instant::now();
            let receipt = deliver(state, m).await?;
            tracing::info!(transfer = %transfer.id, held = receipt.is_some(), ms = started.elapsed().as_millis() as u64, "committed delivery sent again");
            receipt.map(|r| (m.clone(), r))
        }
        None => None,
    };
    let (manifest, receipt) = match committed {
        Some(done) => done,
        None => {
            let decision: TransferDecision = record
                .report
                .as_ref()
                .and_then(|r| r.get("decision"))
                .and_then(|d| serde_json::from_value(d.clone()).ok())
                .ok_or_else(|| {
                    PipelineError::Document("approved transfer has no recorded decision".into())
                })?;
            if decision.is_deny() {
                return Err(PipelineError::Document(
                    "transfer is approved but its decision is deny".into(),
                ));
            }
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
            let source_key = blob_key.clone();
            let source = PreparedPayload {
                blob_key,
                sha256: transfer.sha256.clone(),
                size,
            };
            let blobs = state.store().blobs();
            let started = std::time::Instant::now();
            let keys = deidentification_keys(state, transfer);
            let (payload, deidentified) = apply_obligations(
                blobs,
                source,
                decision.deidentify.as_ref(),
                &keys,
                &transfer.id,
            )
            .await?;
            let unmarked_key = payload.blob_key.clone();
            let (payload, marking) = mark(state, payload, &decision, transfer).await?;
            if unmarked_key != source_key && unmarked_key != payload.blob_key {
                blobs.delete(&unmarked_key).await?;
            }
            // Records go out as they are sealed; the manifest follows the last one.
            let delivery = OpenDelivery::start(state, transfer)?;
            let encrypted = match encrypt(
                blobs,
                &payload,
                &transfer.consumer_hpke_key,
                &transfer.id,
                &delivery,
            )
            .await
            {
                Ok(e) => e,
                Err(e) => {
                    // The consumer's node's own refusal says more than a closed channel.
                    let answer = delivery.abandon().await;
                    if payload.blob_key != source_key {
                        blobs.delete(&payload.blob_key).await?;
                    }
                    return Err(answer.unwrap_or(e));
                }
            };
            let provenance = provenance(state, transfer, &decision).await?;
            let manifest = sign_manifest(state, transfer, &payload, &encrypted, provenance)?;
            tracing::info!(transfer = %transfer.id, bytes = encrypted.size, ms = started.elapsed().as_millis() as u64, "sealed");
            if payload.blob_key != source_key {
                // The de-identified or marked copy is sealed and sent; it is not kept.
                blobs.delete(&payload.blob_key).await?;
            }
            let transforms: Vec<serde_json::Value> = deidentified
                .as_ref()
                .map(|r| {
                    r.columns
                        .iter()
                        .map(|c| json!({ "column": c.name, "transform": c.transform, "changed": c.changed }))
                        .collect()
                })
                .unwrap_or_default();
            let mut tx = state.store().begin().await?;
            if deidentified.is_some() || marking.is_some() {
                let mut decision = decision.clone();
                let mut report = record.report.clone().unwrap_or_else(|| json!({}));
                if let Some(d) = &deidentified {
                    decision.met.push(DEIDENTIFY.into());
                    report["deidentification"] = to_json(d)?;
                }
                if let Some(m) = &marking {
                    decision.met.push(MARK.into());
                    report["marking"] = to_json(m)?;
                }
                report["decision"] = to_json(&decision)?;
                tx.set_transfer_report(&transfer.id, TransferRole::Provider, &report)
                    .await?;
            }
            tx.set_transfer_manifest(&transfer.id, TransferRole::Provider, &manifest, None)
                .await?;
            tx.append_event(&NewEvent::new(
                "transfer.sealed",
                &transfer.id,
                json!({
                    "payload_sha256": manifest.document.payload_sha256,
                    "ciphertext_sha256": manifest.document.ciphertext_sha256,
                    "ciphertext_size": manifest.document.ciphertext_size,
                    "hpke_suite": manifest.document.hpke_suite,
                    "deidentified": transforms,
                    "marked": marking.as_ref().map(|m| json!({
                        "columns": m.params.columns.iter().map(|c| c.column.clone()).collect::<Vec<_>>(),
                        "canary_records": m.params.canary_records,
                    })),
                }),
            ))
            .await?;
            tx.commit().await?;
            let receipt = delivery.finish(&manifest).await?;
            tracing::info!(transfer = %transfer.id, ms = started.elapsed().as_millis() as u64, "delivered");
            (manifest, receipt)
        }
    };
    record_receipt(state, transfer, &manifest, &receipt).await?;
    if let Some(b) = &record.cipher_blob {
        // A ciphertext kept by an earlier version of the node; the consumer holds its copy.
        state.store().blobs().delete(b).await?;
    }
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
