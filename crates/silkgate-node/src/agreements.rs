//! Data-sharing agreements in the node (issue 6): the API through which organisations propose,
//! counter and accept agreements made from the committee's templates, the operator signs an
//! authority's approval, and operators or parties suspend, resume and terminate them; the
//! federation endpoint through which the other party's node learns every change; and the check
//! of a transfer request against the agreement it names.
//!
//! The agreement types and their signed lifecycle are `silkgate_model::agreement`'s. The node
//! signs for its authenticated organisation with its own Ed25519 key (the key id is the node
//! id, as for manifests), so a party's signature is checked against the key of the node that
//! serves the party's state on the committee-signed trust list ([`TrustKeys`]). An authority's
//! approval is signed by the node of the approving state when its operator asks.
//!
//! Every change is stored compare-and-set with its events (`agreement.proposed`,
//! `.countered`, `.signed`, `.approved`, `.activated`, `.suspended`, `.resumed`,
//! `.terminated`, `.expired`) in one transaction, and the same events are written on the
//! other party's node when it accepts the signed state ([`events_for`] derives them from the
//! old and new state on both sides). Proposals, counters, acceptances and approvals reach the
//! other node before they are stored here, so a refusal there leaves nothing half-stored;
//! suspensions and terminations are stored here first (they must take effect even if the
//! other node is unreachable) and then sent at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use silkgate_model::agreement::{
    KeyLookup, Party, StatusChange, SubCommittee, TemplateRef, Term, TermBreach,
};
use silkgate_model::{
    Agreement, AgreementError, AgreementState, AgreementStatus, DataCategory, Date, NewEvent,
    OrgId, Organisation, ProposedAgreement, Sector, Signed, StateCode, Template, Terms, Transfer,
    TransferRequest, TrustList, canonical,
};
use silkgate_policy::{
    DataFacts, Exporter, Facts, Grounds, Outcome, PolicyEngine, Reason, Recipient, RecipientKind,
    Texts, YearToDate,
};
use silkgate_scan::{Generalisation, Plan, Transform};
use silkgate_store::{AgreementRecord, IdempotentAnswer};
use utoipa::ToSchema;

use crate::api::{ApiJson, Conn, fingerprint};
use crate::api_types::{EventView, MAX_LONG, MAX_SHORT, check_request_id, check_text};
use crate::error::{ApiError, ErrorBody};
use crate::node::{Caller, NodeState, parse_verifying_key};
use crate::pipeline::{self, ContentReport, TransferDecision};
use crate::wire::{AgreementMessageV1, UsageReportV1};

// ---------------------------------------------------------------------------------------------
// Templates, keys, the calendar

const TEMPLATE_FILES: [&str; 5] = [
    include_str!("../../../templates/trade/v1.json"),
    include_str!("../../../templates/investment/v1.json"),
    include_str!("../../../templates/financial/v1.json"),
    include_str!("../../../templates/intellectual-property/v1.json"),
    include_str!("../../../templates/general/v1.json"),
];

/// The committee's templates built into the binary, by (id, version). They are checked by
/// the model's tests; one that fails to load here is left out (and logged) rather than
/// stopping the node.
pub fn templates() -> &'static BTreeMap<(String, u32), Template> {
    static T: OnceLock<BTreeMap<(String, u32), Template>> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = BTreeMap::new();
        for text in TEMPLATE_FILES {
            match Template::from_json(text.as_bytes()) {
                Ok(t) => {
                    out.insert((t.id.clone(), t.version), t);
                }
                Err(e) => tracing::error!(error = %e, "an embedded agreement template is invalid"),
            }
        }
        out
    })
}

/// Party and authority keys from the trust list: a party's signer is the node serving the
/// party's state, an authority's signer the node of the approving state.
#[derive(Debug, Clone)]
pub struct TrustKeys(pub Arc<Signed<TrustList>>);

impl TrustKeys {
    fn key_of(&self, state: StateCode, signer: &str) -> Option<VerifyingKey> {
        let node = self.0.document.node(signer)?;
        if node.state != state {
            return None;
        }
        parse_verifying_key(&node.signing_key)
    }
}

impl KeyLookup for TrustKeys {
    fn party_key(&self, org: &OrgId, signer: &str) -> Option<VerifyingKey> {
        self.key_of(org.state(), signer)
    }

    fn authority_key(&self, state: StateCode, signer: &str) -> Option<VerifyingKey> {
        self.key_of(state, signer)
    }
}

/// The node's calendar day (UTC), by its clock ([`crate::NodeOptions::clock`]).
pub fn today(state: &NodeState) -> Date {
    state.clock().today()
}

fn sector_of(sub: SubCommittee) -> Sector {
    match sub {
        SubCommittee::Trade => Sector::Trade,
        SubCommittee::Investment => Sector::Investment,
        SubCommittee::Financial => Sector::Finance,
        SubCommittee::IntellectualProperty => Sector::IntellectualProperty,
        SubCommittee::General => Sector::Other,
    }
}

/// Obligations of the rule packs that only an authority can meet, and the ground its approval
/// attests. An approval's `basis` is one of these ground words.
pub const AUTHORITY_OBLIGATIONS: [(&str, &str); 2] = [
    ("cn.security-assessment", "security_assessment"),
    ("cn.standard-contract-or-certification", "standard_contract"),
];

/// Ground words an authority's approval may attest.
pub const APPROVAL_BASES: [&str; 3] = [
    "security_assessment",
    "standard_contract",
    "regulator_permit",
];

fn set_ground(g: &mut Grounds, word: &str) {
    match word {
        "security_assessment" => g.security_assessment = true,
        "standard_contract" => g.standard_contract = true,
        "regulator_permit" => g.regulator_permit = true,
        _ => {}
    }
}

/// The facts of the agreement's worst case: the provider's state exporting to the consumer's,
/// every category of the terms, the yearly cap of subjects reached in one year.
fn agreement_facts(sub: SubCommittee, provider: &OrgId, consumer: &OrgId, terms: &Terms) -> Facts {
    let categories: Vec<DataCategory> = terms.categories.iter().copied().collect();
    let has = |c: DataCategory| terms.categories.contains(&c);
    let sensitive = pipeline::any_sensitive(&categories);
    let personal = categories.iter().any(|c| *c != DataCategory::NonPersonal);
    let subjects = if personal {
        terms.max_subjects_per_year
    } else {
        0
    };
    let sensitive_subjects = if sensitive { subjects } else { 0 };
    Facts {
        from: provider.state(),
        to: consumer.state(),
        exporter: Exporter {
            state: Some(provider.state()),
            ciio: false,
            sector: sector_of(sub),
        },
        recipient: Recipient {
            state: Some(consumer.state()),
            kind: RecipientKind::Enterprise,
        },
        data: DataFacts {
            subjects,
            sensitive_subjects,
            important_data: has(DataCategory::Important) || has(DataCategory::Core),
            biometric: has(DataCategory::Biometric),
            categories,
        },
        year_to_date: YearToDate {
            subjects,
            sensitive_subjects,
        },
        grounds: Grounds::default(),
        exemptions: Vec::new(),
    }
}

/// The states whose authority must approve an agreement before it becomes active: the
/// provider's state when its rule pack, asked about the agreement's worst case (every category
/// of the terms, the yearly cap reached), raises an obligation only an authority can meet
/// ([`AUTHORITY_OBLIGATIONS`]). Both nodes compute it; the receiving node refuses a proposal
/// whose list differs. A domestic agreement needs none.
///
/// # Errors
/// The engine's refusal of the facts, naming the field.
pub fn required_approvals(
    engine: &PolicyEngine,
    sub: SubCommittee,
    provider: &OrgId,
    consumer: &OrgId,
    terms: &Terms,
    today: Date,
) -> Result<BTreeSet<StateCode>, silkgate_policy::FactsError> {
    let mut out = BTreeSet::new();
    if !authority_obligations(engine, sub, provider, consumer, terms, today)?.is_empty() {
        out.insert(provider.state());
    }
    Ok(out)
}

/// The obligations of the provider's rule pack that only an authority can meet
/// ([`AUTHORITY_OBLIGATIONS`]) for the agreement's worst case, with their citations: why the
/// agreement waits for the authority's approval (what [`required_approvals`] decides on, and
/// what the portal's approval queue shows). None for a domestic agreement or a denial.
///
/// # Errors
/// The engine's refusal of the facts, naming the field.
pub fn authority_obligations(
    engine: &PolicyEngine,
    sub: SubCommittee,
    provider: &OrgId,
    consumer: &OrgId,
    terms: &Terms,
    today: Date,
) -> Result<Vec<silkgate_policy::Obligation>, silkgate_policy::FactsError> {
    if provider.state() == consumer.state() {
        return Ok(Vec::new());
    }
    let decision =
        engine.decide_for_day(&agreement_facts(sub, provider, consumer, terms), today)?;
    if decision.outcome == Outcome::Deny {
        return Ok(Vec::new());
    }
    Ok(decision
        .obligations
        .into_iter()
        .filter(|o| AUTHORITY_OBLIGATIONS.iter().any(|(id, _)| *id == o.id))
        .collect())
}

/// The grounds an agreement's authority approvals attest, for the policy facts of its
/// transfers.
pub fn grounds_of(state: &AgreementState) -> Grounds {
    let mut g = Grounds::default();
    let approvals = match state {
        AgreementState::Signed { agreement } => agreement.approvals(),
        AgreementState::Active { agreement } => agreement.agreement().approvals(),
        AgreementState::Suspended { agreement } => agreement.agreement().approvals(),
        AgreementState::Expired { agreement } => agreement.agreement().approvals(),
        AgreementState::Terminated { agreement } => agreement.agreement().approvals(),
        AgreementState::Proposed { .. } => &[],
    };
    for a in approvals {
        set_ground(&mut g, &a.document.basis);
    }
    g
}

fn approvals_of(state: &AgreementState) -> Vec<Value> {
    let list = match state {
        AgreementState::Signed { agreement } => agreement.approvals(),
        AgreementState::Active { agreement } => agreement.agreement().approvals(),
        AgreementState::Suspended { agreement } => agreement.agreement().approvals(),
        AgreementState::Expired { agreement } => agreement.agreement().approvals(),
        AgreementState::Terminated { agreement } => agreement.agreement().approvals(),
        AgreementState::Proposed { .. } => &[],
    };
    list.iter()
        .map(|a| {
            json!({
                "state": a.document.state, "basis": a.document.basis,
                "approved_on": a.document.approved_on, "signer": a.signer,
                "signature": a.signature,
            })
        })
        .collect()
}

fn agreement_error(e: AgreementError) -> ApiError {
    match e {
        AgreementError::Term(t) => {
            let field = match &t {
                silkgate_model::TermError::Invalid { term, .. }
                | silkgate_model::TermError::WrongType { term, .. }
                | silkgate_model::TermError::Missing { term }
                | silkgate_model::TermError::Unknown { term } => format!("terms.{term}"),
                _ => "terms".into(),
            };
            ApiError::Unprocessable {
                field,
                reason: t.to_string(),
            }
        }
        AgreementError::Signature(s) => ApiError::Unprocessable {
            field: "signature".into(),
            reason: s.to_string(),
        },
        AgreementError::UntrustedSigner { .. } => ApiError::Unprocessable {
            field: "signer".into(),
            reason: e.to_string(),
        },
        AgreementError::Mismatch { field, .. } => ApiError::Unprocessable {
            field: field.into(),
            reason: e.to_string(),
        },
        AgreementError::ApprovalMissing { .. } => ApiError::Conflict {
            field: "approvals".into(),
            reason: e.to_string(),
        },
        AgreementError::OutsideValidity { .. } => ApiError::Conflict {
            field: "terms.validity".into(),
            reason: e.to_string(),
        },
        other => ApiError::Unprocessable {
            field: "agreement".into(),
            reason: other.to_string(),
        },
    }
}

fn status_word(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Proposed => "proposed",
        AgreementStatus::Signed => "signed",
        AgreementStatus::Active => "active",
        AgreementStatus::Suspended => "suspended",
        AgreementStatus::Expired => "expired",
        AgreementStatus::Terminated => "terminated",
    }
}

fn doc_sha256(doc: &Agreement) -> String {
    canonical::to_canonical_json(doc)
        .map(|b| hex::encode(Sha256::digest(b)))
        .unwrap_or_default()
}

fn signed_of(state: &AgreementState) -> Option<&silkgate_model::SignedAgreement> {
    match state {
        AgreementState::Proposed { .. } => None,
        AgreementState::Signed { agreement } => Some(agreement),
        AgreementState::Active { agreement } => Some(agreement.agreement()),
        AgreementState::Suspended { agreement } => Some(agreement.agreement()),
        AgreementState::Expired { agreement } => Some(agreement.agreement()),
        AgreementState::Terminated { agreement } => Some(agreement.agreement()),
    }
}

/// The events a change from `from` (none: a new proposal) to `to` records, on the node that
/// made it and on the other party's node alike; an error names why the change is not a step
/// of the lifecycle (e.g. a signed agreement whose text differs from the proposal).
///
/// # Errors
/// The reason, for a 409 naming `status`.
pub fn events_for(
    from: Option<&AgreementState>,
    to: &AgreementState,
) -> Result<Vec<&'static str>, String> {
    use AgreementState as S;
    let same_doc = |a: &AgreementState| a.document() == to.document();
    let approvals = |s: &AgreementState| signed_of(s).map_or(0, |a| a.approvals().len());
    let activated = |list: &mut Vec<&'static str>| {
        if let S::Active { agreement } = to {
            let doc = agreement.agreement().document();
            let have: BTreeSet<StateCode> = agreement
                .agreement()
                .approvals()
                .iter()
                .map(|a| a.document.state)
                .collect();
            if !doc.approvals_required.is_subset(&have) {
                return Err("active without every required authority approval".to_owned());
            }
            list.push("agreement.activated");
        }
        Ok(())
    };
    let mut out = Vec::new();
    match (from, to) {
        (None, S::Proposed { proposal }) if proposal.document.revision == 1 => {
            out.push("agreement.proposed");
        }
        (None, _) => return Err("a new agreement must be a proposal of revision 1".into()),
        (Some(S::Proposed { proposal: p }), S::Proposed { proposal: q }) => {
            if q.document.revision != p.document.revision + 1
                || q.document.proposed_by == p.document.proposed_by
                || q.document.id != p.document.id
            {
                return Err("a counter-proposal is the next revision, by the other party".into());
            }
            out.push("agreement.countered");
        }
        (Some(f @ S::Proposed { .. }), S::Signed { .. } | S::Active { .. }) if same_doc(f) => {
            out.push("agreement.signed");
            if approvals(to) > 0 {
                out.push("agreement.approved");
            }
            activated(&mut out)?;
        }
        (Some(f @ S::Signed { .. }), S::Signed { .. } | S::Active { .. }) if same_doc(f) => {
            if approvals(to) > approvals(f) {
                out.push("agreement.approved");
            }
            activated(&mut out)?;
            if out.is_empty() {
                return Err("nothing changed".into());
            }
        }
        (Some(f @ S::Active { .. }), S::Suspended { .. }) if same_doc(f) => {
            out.push("agreement.suspended");
        }
        (Some(f @ S::Suspended { .. }), S::Active { .. }) if same_doc(f) => {
            out.push("agreement.resumed");
        }
        (Some(f @ (S::Active { .. } | S::Suspended { .. })), S::Terminated { .. })
            if same_doc(f) =>
        {
            out.push("agreement.terminated");
        }
        (Some(f @ S::Active { .. }), S::Expired { .. }) if same_doc(f) => {
            out.push("agreement.expired");
        }
        (Some(f), _) => {
            return Err(format!(
                "an agreement that is {} cannot become {}{}",
                status_word(f.status()),
                status_word(to.status()),
                if same_doc(f) {
                    ""
                } else {
                    " with another text"
                }
            ));
        }
    }
    Ok(out)
}

fn event_detail(state: &AgreementState, kind: &str, by: &str) -> Value {
    let doc = state.document();
    let mut d = json!({
        "status": status_word(state.status()),
        "revision": doc.revision,
        "template": doc.template,
        "provider": doc.provider,
        "consumer": doc.consumer,
        "proposed_by": doc.proposed_by,
        "document_sha256": doc_sha256(doc),
        "approvals_required": doc.approvals_required,
        "by": by,
    });
    match state {
        AgreementState::Proposed { proposal } => {
            d["signature"] = json!({ "signer": proposal.signer, "signature": proposal.signature });
        }
        other => {
            if let Some(s) = signed_of(other) {
                d["provider_signature"] = json!(s.provider_signature());
                d["consumer_signature"] = json!(s.consumer_signature());
            }
            if kind == "agreement.approved" {
                d["approvals"] = json!(approvals_of(other));
            }
            if let AgreementState::Suspended { agreement } = other {
                d["change"] = json!(agreement.suspension());
            }
            if let AgreementState::Terminated { agreement } = other {
                d["change"] = json!(agreement.termination());
            }
        }
    }
    d
}

// ---------------------------------------------------------------------------------------------
// API types

/// An organisation proposes an agreement from a template.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeAgreementRequest {
    /// Client-chosen idempotency key; the agreement id derives from it.
    pub request_id: String,
    /// Template id (`trade`, `investment`, `financial`, `intellectual-property`, `general`).
    pub template_id: String,
    /// Template version.
    pub template_version: u32,
    /// The other organisation.
    pub counterparty: String,
    /// The caller's side: `provider` (it gives the data) or `consumer`.
    pub role: String,
    /// The terms; absent means the template's default terms.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub terms: Option<Value>,
}

/// The other party proposes different terms (the previous signature becomes void).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterAgreementRequest {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// The new terms, whole.
    #[schema(value_type = Object)]
    pub terms: Value,
}

/// Accept the current revision as it stands, or (operator) approve it as an authority, or
/// change its status, with a reason where one is needed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementActionRequest {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Why (suspension, resumption, termination), or the approval's basis: one of
    /// `security_assessment`, `standard_contract`, `regulator_permit`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A consumer asks for a dataset version under an active agreement; the provider and purpose
/// are the agreement's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementTransferRequest {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Dataset id.
    pub dataset_id: String,
    /// Version (SHA-256).
    pub sha256: String,
    /// The state the consumer will pass the data on to, if it declares an onward transfer;
    /// checked against the agreement's onward-transfer term.
    #[serde(default)]
    pub onward_to: Option<String>,
    /// What kind of body the consumer is (as for plain requests).
    #[serde(default)]
    pub recipient_kind: Option<String>,
}

/// An agreement as its parties and operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgreementView {
    /// Agreement id.
    pub id: String,
    /// `proposed`, `signed`, `active`, `suspended`, `expired` or `terminated`.
    pub status: String,
    /// Revision (1 for the proposal, one more per counter-proposal).
    pub revision: u32,
    /// Template id and version.
    #[schema(value_type = Object)]
    pub template: TemplateRef,
    /// Providing organisation.
    pub provider: String,
    /// Receiving organisation.
    pub consumer: String,
    /// `provider` or `consumer`: who made the current revision.
    pub proposed_by: String,
    /// States whose authority must approve before it becomes active.
    pub approvals_required: Vec<String>,
    /// Approvals given: state, basis, day, signer, signature.
    #[schema(value_type = Vec<Object>)]
    pub approvals: Vec<Value>,
    /// The terms.
    #[schema(value_type = Object)]
    pub terms: Value,
    /// SHA-256 of the document's canonical form, which the parties sign.
    pub document_sha256: String,
    /// The whole signed state (document, signatures, approvals, status change).
    #[schema(value_type = Object)]
    pub state: Value,
}

impl From<&AgreementState> for AgreementView {
    fn from(s: &AgreementState) -> Self {
        let doc = s.document();
        Self {
            id: doc.id.clone(),
            status: status_word(s.status()).into(),
            revision: doc.revision,
            template: doc.template.clone(),
            provider: doc.provider.to_string(),
            consumer: doc.consumer.to_string(),
            proposed_by: match doc.proposed_by {
                Party::Provider => "provider".into(),
                Party::Consumer => "consumer".into(),
            },
            approvals_required: doc
                .approvals_required
                .iter()
                .map(|s| s.to_string())
                .collect(),
            approvals: approvals_of(s),
            terms: serde_json::to_value(&doc.terms).unwrap_or_default(),
            document_sha256: doc_sha256(doc),
            state: serde_json::to_value(s).unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers of the handlers

/// The agreement id for a proposer's request id: a retry names the same agreement.
pub fn agreement_id_for(proposer: &OrgId, request_id: &str) -> String {
    let digest = Sha256::digest(format!("agreement\n{proposer}\n{request_id}").as_bytes());
    format!("ag-{}", &hex::encode(digest)[..32])
}

fn party_of(org: &Organisation, doc: &Agreement) -> Option<Party> {
    if org.id == doc.provider {
        Some(Party::Provider)
    } else if org.id == doc.consumer {
        Some(Party::Consumer)
    } else {
        None
    }
}

fn signer_for(state: &NodeState, org: &OrgId) -> Result<String, ApiError> {
    state
        .trust_list()
        .document
        .node_for_state(org.state())
        .map(|n| n.node_id.clone())
        .ok_or_else(|| {
            ApiError::bad(
                "counterparty",
                format!("no node of {} on the trust list", org.state()),
            )
        })
}

fn keys(state: &NodeState) -> TrustKeys {
    TrustKeys(state.trust_list())
}

/// The stored agreement and the caller's party in it; anyone else gets "not found".
async fn visible(
    state: &NodeState,
    caller: &Caller,
    id: &str,
) -> Result<(AgreementRecord, Option<Party>), ApiError> {
    let rec = state
        .store()
        .agreement(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("agreement {id}")))?;
    match caller {
        Caller::Operator => Ok((rec, None)),
        Caller::Org(org) => match party_of(org, rec.state.document()) {
            Some(p) => Ok((rec, Some(p))),
            None => Err(ApiError::NotFound(format!("agreement {id}"))),
        },
    }
}

/// Sends the new state to the node of each party that is not this node.
async fn send_to_parties(state: &NodeState, to: &AgreementState) -> Result<(), ApiError> {
    let doc = to.document();
    let me = state.identity().config.state;
    let mut targets: Vec<StateCode> = vec![doc.provider.state(), doc.consumer.state()];
    targets.dedup();
    for target in targets.into_iter().filter(|s| *s != me) {
        let peer = state
            .trust_list()
            .document
            .node_for_state(target)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad(
                    "counterparty",
                    format!("no node of {target} on the trust list"),
                )
            })?;
        let msg = AgreementMessageV1 {
            agreement_id: doc.id.clone(),
            state: serde_json::to_value(to).map_err(ApiError::internal)?,
            sent_at: state.clock().now_unix(),
        };
        crate::federation::post_signed::<_, Value>(state, &peer, "/federation/v1/agreements", msg)
            .await?;
    }
    Ok(())
}

/// The node that made a suspension recorded as made `by` (an authority or operator of a node,
/// `authority:<node>[/<account>]` / `operator:<node>`, or a party organisation): the one node
/// that may lift it.
fn suspending_node(state: &NodeState, by: &str) -> Option<String> {
    if let Some(rest) = by
        .strip_prefix("authority:")
        .or_else(|| by.strip_prefix("operator:"))
    {
        return rest.split('/').next().map(str::to_owned);
    }
    let org: OrgId = by.parse().ok()?;
    state
        .trust_list()
        .document
        .node_for_state(org.state())
        .map(|n| n.node_id.clone())
}

/// Queues, in `tx` (which also records `event`, the change's first event), the new state for
/// the node of each party that is not this node: it is owed until that node acknowledges it.
/// Wake the outbox once `tx` is committed.
async fn owe_to_parties(
    state: &NodeState,
    tx: &mut silkgate_store::Tx,
    to: &AgreementState,
    event: &silkgate_model::Event,
) -> Result<(), ApiError> {
    let doc = to.document();
    let me = state.identity().config.state;
    let mut targets: Vec<StateCode> = vec![doc.provider.state(), doc.consumer.state()];
    targets.dedup();
    for target in targets.into_iter().filter(|s| *s != me) {
        let msg = AgreementMessageV1 {
            agreement_id: doc.id.clone(),
            state: serde_json::to_value(to).map_err(ApiError::internal)?,
            sent_at: tx.now_unix(),
        };
        // One message per change: the change's event names it on this node.
        let id = format!("am-{}-{}-{target}", state.node_id(), event.seq);
        crate::outbox::queue(tx, &id, target, &crate::outbox::Owed::Agreement(msg)).await?;
    }
    Ok(())
}

/// Commits a change made on this node: compare-and-set on `from`, its events, the answer to
/// the request id; answers with the view (a retry answers with the view first given). With
/// `owe`, the new state is queued for the other party's node in the same transaction.
#[allow(clippy::too_many_arguments)]
async fn commit_local_view(
    state: &NodeState,
    scope: &str,
    request_id: &str,
    fp: &str,
    from: Option<&AgreementRecord>,
    to: &AgreementState,
    by: &str,
    status: StatusCode,
    owe: bool,
) -> Result<AgreementView, ApiError> {
    let kinds = events_for(from.map(|r| &r.state), to).map_err(|reason| ApiError::Conflict {
        field: "status".into(),
        reason,
    })?;
    let mut tx = state.store().begin().await?;
    if let Some(answer) = tx.idempotent(scope, request_id, fp).await? {
        return view_of_answer(answer);
    }
    match from {
        None => tx.insert_agreement(to).await?,
        Some(rec) => {
            if !tx.update_agreement(rec, to).await? {
                return Err(ApiError::Conflict {
                    field: "agreement".into(),
                    reason: "the agreement changed meanwhile; read it again".into(),
                });
            }
        }
    }
    let mut first = None;
    for kind in kinds {
        let event = tx
            .append_event(&NewEvent::new(
                kind,
                &to.document().id,
                event_detail(to, kind, by),
            ))
            .await?;
        first.get_or_insert(event);
    }
    if owe && let Some(event) = &first {
        owe_to_parties(state, &mut tx, to, event).await?;
    }
    let view = AgreementView::from(to);
    let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
    tx.remember(
        scope,
        request_id,
        fp,
        &IdempotentAnswer {
            status: status.as_u16(),
            body,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// The view a remembered answer holds.
fn view_of_answer(answer: IdempotentAnswer) -> Result<AgreementView, ApiError> {
    serde_json::from_value(answer.body).map_err(ApiError::internal)
}

/// The view first given for this request id, if the request was answered before.
async fn check_replay_view(
    state: &NodeState,
    scope: &str,
    request_id: &str,
    fp: &str,
) -> Result<Option<AgreementView>, ApiError> {
    let mut tx = state.store().begin().await?;
    tx.idempotent(scope, request_id, fp)
        .await?
        .map(view_of_answer)
        .transpose()
}

fn parse_terms(value: &Value) -> Result<Terms, ApiError> {
    let terms = Terms::from_value(value).map_err(|e| agreement_error(AgreementError::Term(e)))?;
    terms
        .validate()
        .map_err(|e| agreement_error(AgreementError::Term(e)))?;
    Ok(terms)
}

fn template_of(doc: &Agreement) -> Result<&'static Template, ApiError> {
    templates()
        .get(&(doc.template.id.clone(), doc.template.version))
        .ok_or_else(|| ApiError::Unprocessable {
            field: "template".into(),
            reason: format!(
                "template '{}' version {} is not known to this node",
                doc.template.id, doc.template.version
            ),
        })
}

fn approvals_for(state: &NodeState, doc: &Agreement) -> Result<BTreeSet<StateCode>, ApiError> {
    let t = template_of(doc)?;
    required_approvals(
        state.policy(),
        t.sub_committee,
        &doc.provider,
        &doc.consumer,
        &doc.terms,
        today(state),
    )
    .map_err(|e| ApiError::Unprocessable {
        field: "terms".into(),
        reason: format!("the rule packs cannot assess these terms: {e}"),
    })
}

fn org_only(caller: &Caller) -> Result<&Organisation, ApiError> {
    match caller {
        Caller::Org(o) => Ok(o),
        Caller::Operator => Err(ApiError::Forbidden(
            "only an organisation makes this call, not the operator".into(),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// API handlers

/// `POST /api/v1/agreements`: propose an agreement from a template. The node signs the
/// proposal for the caller and sends it to the counterparty's node; only once that node
/// verified and stored it is it stored here (`agreement.proposed` on both).
#[utoipa::path(post, path = "/api/v1/agreements", request_body = ProposeAgreementRequest,
    responses((status = 201, body = AgreementView), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn propose(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ProposeAgreementRequest>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let view = propose_as(&state, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Proposes an agreement for `caller` (an organisation): the one path of the API handler and
/// the portal, which calls it on behalf of a signed-in person's organisation.
///
/// # Errors
/// [`ApiError`] naming the field at fault, or the counterparty's node's refusal.
pub async fn propose_as(
    state: &NodeState,
    caller: &Caller,
    req: ProposeAgreementRequest,
) -> Result<AgreementView, ApiError> {
    let org = org_only(caller)?;
    check_request_id(&req.request_id)?;
    let counterparty: OrgId = req
        .counterparty
        .parse()
        .map_err(|e| ApiError::bad("counterparty", e))?;
    if counterparty == org.id {
        return Err(ApiError::bad(
            "counterparty",
            "an agreement needs two organisations",
        ));
    }
    let (proposed_by, provider, consumer) = match req.role.as_str() {
        "provider" => (Party::Provider, org.id.clone(), counterparty),
        "consumer" => (Party::Consumer, counterparty, org.id.clone()),
        _ => return Err(ApiError::bad("role", "expected 'provider' or 'consumer'")),
    };
    let template = templates()
        .get(&(req.template_id.clone(), req.template_version))
        .ok_or_else(|| {
            ApiError::bad(
                "template_id",
                format!(
                    "no template '{}' version {}; known: {}",
                    req.template_id,
                    req.template_version,
                    templates()
                        .keys()
                        .map(|(i, v)| format!("{i} v{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let terms = match &req.terms {
        Some(v) => parse_terms(v)?,
        None => template.default_terms(today(state)),
    };
    let scope = org.id.to_string();
    let terms_json = serde_json::to_string(&terms).map_err(ApiError::internal)?;
    let fp = fingerprint(&[
        "propose",
        &req.template_id,
        &req.template_version.to_string(),
        &req.counterparty,
        &req.role,
        &terms_json,
    ]);
    if let Some(r) = check_replay_view(state, &scope, &req.request_id, &fp).await? {
        return Ok(r);
    }
    let mut doc = Agreement {
        id: agreement_id_for(&org.id, &req.request_id),
        template: template.reference(),
        provider_signer: signer_for(state, &provider)?,
        consumer_signer: signer_for(state, &consumer)?,
        provider,
        consumer,
        terms,
        proposed_by,
        revision: 1,
        approvals_required: BTreeSet::new(),
    };
    doc.approvals_required = approvals_for(state, &doc)?;
    let proposal =
        ProposedAgreement::propose(doc, &state.identity().signing_key).map_err(agreement_error)?;
    let new = AgreementState::Proposed {
        proposal: proposal.signed().clone(),
    };
    send_to_parties(state, &new).await?;
    commit_local_view(
        state,
        &scope,
        &req.request_id,
        &fp,
        None,
        &new,
        org.id.as_str(),
        StatusCode::CREATED,
        false,
    )
    .await
}

/// `POST /api/v1/agreements/{id}/counter`: the party that did not make the current revision
/// proposes other terms; the new revision is signed by it alone (the earlier signature no
/// longer applies) and sent to the other node before it is stored here.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/counter", params(("id" = String, Path, description = "Agreement id")),
    request_body = CounterAgreementRequest,
    responses((status = 200, body = AgreementView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn counter(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CounterAgreementRequest>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let view = counter_as(&state, &caller, &id, req).await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// Counters agreement `id` for `caller` (the party that did not make the current revision):
/// the one path of the API handler and the portal.
///
/// # Errors
/// [`ApiError`] naming the field at fault; 409 when the caller may not counter now.
pub async fn counter_as(
    state: &NodeState,
    caller: &Caller,
    id: &str,
    req: CounterAgreementRequest,
) -> Result<AgreementView, ApiError> {
    let org = org_only(caller)?.clone();
    check_request_id(&req.request_id)?;
    let terms = parse_terms(&req.terms)?;
    let scope = org.id.to_string();
    let fp = fingerprint(&["counter", id, &req.terms.to_string()]);
    if let Some(r) = check_replay_view(state, &scope, &req.request_id, &fp).await? {
        return Ok(r);
    }
    let (rec, party) = visible(state, caller, id).await?;
    let party = party.ok_or_else(|| ApiError::Forbidden("only a party counters".into()))?;
    let AgreementState::Proposed { proposal } = &rec.state else {
        return Err(ApiError::Conflict {
            field: "status".into(),
            reason: format!("the agreement is {}, not proposed", status_word(rec.status)),
        });
    };
    if proposal.document.proposed_by == party {
        return Err(ApiError::Conflict {
            field: "proposed_by".into(),
            reason: "the other party answers this revision; propose changes by a new agreement or wait for its answer".into(),
        });
    }
    let mut doc = proposal.document.clone();
    doc.terms = terms;
    doc.proposed_by = party;
    doc.revision += 1;
    doc.approvals_required = approvals_for(state, &doc)?;
    let signer = doc.signer_of(party).to_owned();
    let signed =
        Signed::sign(doc, signer, &state.identity().signing_key).map_err(ApiError::internal)?;
    let checked = ProposedAgreement::verify(signed, &keys(state)).map_err(agreement_error)?;
    let new = AgreementState::Proposed {
        proposal: checked.signed().clone(),
    };
    events_for(Some(&rec.state), &new).map_err(|reason| ApiError::Conflict {
        field: "status".into(),
        reason,
    })?;
    send_to_parties(state, &new).await?;
    commit_local_view(
        state,
        &scope,
        &req.request_id,
        &fp,
        Some(&rec),
        &new,
        org.id.as_str(),
        StatusCode::OK,
        false,
    )
    .await
}

/// `POST /api/v1/agreements/{id}/accept`: the party that did not make the current revision
/// signs it as it stands. With no authority approval required and today within its validity
/// it becomes active at once; otherwise it waits signed.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/accept", params(("id" = String, Path, description = "Agreement id")),
    request_body = AgreementActionRequest,
    responses((status = 200, body = AgreementView), (status = 409, body = ErrorBody)))]
pub async fn accept(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgreementActionRequest>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let view = accept_as(&state, &caller, &id, req).await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// Accepts and signs agreement `id` for `caller` (the party that did not make the current
/// revision): the one path of the API handler and the portal.
///
/// # Errors
/// [`ApiError`]; 409 when the caller made this revision or it is no longer proposed.
pub async fn accept_as(
    state: &NodeState,
    caller: &Caller,
    id: &str,
    req: AgreementActionRequest,
) -> Result<AgreementView, ApiError> {
    let org = org_only(caller)?.clone();
    check_request_id(&req.request_id)?;
    let scope = org.id.to_string();
    let fp = fingerprint(&["accept", id]);
    if let Some(r) = check_replay_view(state, &scope, &req.request_id, &fp).await? {
        return Ok(r);
    }
    let (rec, party) = visible(state, caller, id).await?;
    let party = party.ok_or_else(|| ApiError::Forbidden("only a party accepts".into()))?;
    let AgreementState::Proposed { proposal } = &rec.state else {
        return Err(ApiError::Conflict {
            field: "status".into(),
            reason: format!("the agreement is {}, not proposed", status_word(rec.status)),
        });
    };
    if proposal.document.proposed_by == party {
        return Err(ApiError::Conflict {
            field: "proposed_by".into(),
            reason: "the party that made this revision cannot accept it; the other party does"
                .into(),
        });
    }
    let checked =
        ProposedAgreement::verify(proposal.clone(), &keys(state)).map_err(agreement_error)?;
    let signed = checked
        .accept(&state.identity().signing_key)
        .map_err(agreement_error)?;
    let new = match signed.activate(today(state)) {
        Ok(active) => AgreementState::Active { agreement: active },
        Err(_) => AgreementState::Signed { agreement: signed },
    };
    send_to_parties(state, &new).await?;
    commit_local_view(
        state,
        &scope,
        &req.request_id,
        &fp,
        Some(&rec),
        &new,
        org.id.as_str(),
        StatusCode::OK,
        false,
    )
    .await
}

/// Who acts on an agreement's status or signs an authority's approval: the API's callers by
/// token, or a person of the state's authority (a regulator or the operator) signed in to the
/// portal. The token handlers and the portal call the same functions
/// ([`change_agreement_status`], [`approve_agreement`]), so the rules are written once.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Actor {
    /// The node operator, by API token.
    Operator,
    /// A party organisation, by API token.
    Org(Organisation),
    /// A person of this state's authority signed in to the portal, named by the portal
    /// account's opaque id (never the login, so no personal data reaches the log). It acts for
    /// the authority: on agreements of which a party belongs to this node's state only.
    Authority {
        /// The portal account's opaque id (`acct-<hex>`).
        account_id: String,
    },
}

impl From<Caller> for Actor {
    fn from(c: Caller) -> Self {
        match c {
            Caller::Operator => Actor::Operator,
            Caller::Org(o) => Actor::Org(o),
        }
    }
}

impl Actor {
    /// The scope its request ids are remembered in, and who it is in the events.
    fn scope_and_by(&self, state: &NodeState, authority: bool) -> (String, String) {
        match self {
            Actor::Operator if authority => {
                ("operator".into(), format!("authority:{}", state.node_id()))
            }
            Actor::Operator => ("operator".into(), format!("operator:{}", state.node_id())),
            Actor::Org(o) => (o.id.to_string(), o.id.to_string()),
            Actor::Authority { account_id } => (
                format!("portal:{account_id}"),
                format!("authority:{}/{account_id}", state.node_id()),
            ),
        }
    }
}

/// Suspends an organisation registered at this node (`reason` given) or lifts its suspension
/// (`None`), for this state's authority (the operator or a person of the authority). While
/// suspended, this node refuses every transfer the organisation asks for (as consumer) or
/// provides, with or without an agreement; since every transfer of an organisation passes
/// through its own node, that holds federation-wide at once. The change and its event
/// (`organisation.suspended` / `organisation.resumed`) commit together, once: repeating it
/// changes nothing. Returns whether anything changed.
///
/// # Errors
/// [`ApiError::Forbidden`] for an organisation; [`ApiError::NotFound`] for one not registered
/// here; storage errors.
pub async fn set_organisation_suspension(
    state: &NodeState,
    actor: &Actor,
    org: &OrgId,
    reason: Option<&str>,
) -> Result<bool, ApiError> {
    if matches!(actor, Actor::Org(_)) {
        return Err(ApiError::Forbidden(
            "only the state's authority suspends organisations".into(),
        ));
    }
    if let Some(r) = reason {
        check_text("reason", r, MAX_LONG, true)?;
    }
    if state.store().organisation(org).await?.is_none() {
        return Err(ApiError::NotFound(format!("organisation {org}")));
    }
    let (_, by) = actor.scope_and_by(state, true);
    let mut tx = state.store().begin().await?;
    if !tx.set_organisation_suspension(org, reason).await? {
        return Ok(false);
    }
    let kind = if reason.is_some() {
        "organisation.suspended"
    } else {
        "organisation.resumed"
    };
    tx.append_event(&NewEvent::new(
        kind,
        org.as_str(),
        json!({ "organisation": org.as_str(), "by": by, "reason": reason }),
    ))
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Refuses a transfer naming `org` (as `field`) while its authority has it suspended.
///
/// # Errors
/// [`ApiError::Conflict`] on `field` while suspended; storage errors.
pub(crate) async fn refuse_if_suspended(
    state: &NodeState,
    org: &OrgId,
    field: &str,
) -> Result<(), ApiError> {
    match state.store().organisation_suspension(org).await? {
        Some(reason) => Err(ApiError::Conflict {
            field: field.into(),
            reason: format!("the organisation is suspended by its state's authority: {reason}"),
        }),
        None => Ok(()),
    }
}

/// The stored agreement, if `actor` may act on it; anyone else gets "not found". A person of
/// the authority sees the agreements of which a party belongs to this node's state.
async fn visible_to(
    state: &NodeState,
    actor: &Actor,
    id: &str,
) -> Result<AgreementRecord, ApiError> {
    match actor {
        Actor::Operator => Ok(visible(state, &Caller::Operator, id).await?.0),
        Actor::Org(o) => Ok(visible(state, &Caller::Org(o.clone()), id).await?.0),
        Actor::Authority { .. } => {
            let rec = visible(state, &Caller::Operator, id).await?.0;
            let me = state.identity().config.state;
            let doc = rec.state.document();
            if doc.provider.state() != me && doc.consumer.state() != me {
                return Err(ApiError::NotFound(format!("agreement {id}")));
            }
            Ok(rec)
        }
    }
}

/// `POST /api/v1/agreements/{id}/approval`: the operator of a state whose approval the
/// agreement requires signs an authority approval of this exact text (`reason` is its basis:
/// `security_assessment`, `standard_contract` or `regulator_permit`). With every required
/// approval present and today within validity, the agreement becomes active.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/approval", params(("id" = String, Path, description = "Agreement id")),
    request_body = AgreementActionRequest,
    responses((status = 200, body = AgreementView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgreementActionRequest>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let view = approve_agreement(&state, &Actor::from(caller), &id, &req).await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// Signs this state's authority approval of agreement `id` for `actor` (the operator by
/// token, or a person of the authority in the portal), with `req.reason` as its basis; the
/// agreement becomes active once every required approval is present and today is within
/// validity. The new state reaches the other party's node before it is stored here.
///
/// # Errors
/// [`ApiError::Forbidden`] for an organisation; [`ApiError::BadRequest`] naming `reason` for
/// an unknown basis; [`ApiError::NotFound`]; [`ApiError::Conflict`] when the agreement is not
/// signed or does not require this state's approval; a peer's refusal.
pub async fn approve_agreement(
    state: &NodeState,
    actor: &Actor,
    id: &str,
    req: &AgreementActionRequest,
) -> Result<AgreementView, ApiError> {
    if matches!(actor, Actor::Org(_)) {
        return Err(ApiError::Forbidden(
            "only the node operator signs an authority's approval".into(),
        ));
    }
    check_request_id(&req.request_id)?;
    let basis = req.reason.clone().unwrap_or_default();
    if !APPROVAL_BASES.contains(&basis.as_str()) {
        return Err(ApiError::bad(
            "reason",
            format!(
                "the approval's basis must be one of {}",
                APPROVAL_BASES.join(", ")
            ),
        ));
    }
    let (scope, by) = actor.scope_and_by(state, true);
    let fp = fingerprint(&["approve", id, &basis]);
    if let Some(v) = check_replay_view(state, &scope, &req.request_id, &fp).await? {
        return Ok(v);
    }
    let rec = visible_to(state, actor, id).await?;
    let AgreementState::Signed { agreement } = &rec.state else {
        return Err(ApiError::Conflict {
            field: "status".into(),
            reason: format!(
                "the agreement is {}; authorities approve a text both parties signed",
                status_word(rec.status)
            ),
        });
    };
    let me = state.identity().config.state;
    if !agreement.document().approvals_required.contains(&me) {
        return Err(ApiError::Conflict {
            field: "approvals_required".into(),
            reason: format!("the agreement does not require the approval of {me}"),
        });
    }
    let mut signed = agreement.clone();
    let approval = signed.approval_for(me, &basis, today(state));
    let approval = Signed::sign(approval, state.node_id(), &state.identity().signing_key)
        .map_err(ApiError::internal)?;
    signed
        .add_approval(approval, &keys(state))
        .map_err(agreement_error)?;
    let new = match signed.activate(today(state)) {
        Ok(active) => AgreementState::Active { agreement: active },
        Err(_) => AgreementState::Signed { agreement: signed },
    };
    send_to_parties(state, &new).await?;
    commit_local_view(
        state,
        &scope,
        &req.request_id,
        &fp,
        Some(&rec),
        &new,
        &by,
        StatusCode::OK,
        false,
    )
    .await
}

/// A change of an agreement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgreementAction {
    /// Active to suspended: the next transfer request under it is refused on both nodes.
    Suspend,
    /// Suspended to active again (the authority only).
    Resume,
    /// Active or suspended to terminated, for good.
    Terminate,
}

impl AgreementAction {
    /// The stable word (`suspend`, `resume`, `terminate`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Terminate => "terminate",
        }
    }
}

async fn change_status(
    state: NodeState,
    conn: Conn,
    headers: HeaderMap,
    id: String,
    req: AgreementActionRequest,
    change: AgreementAction,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let view = change_agreement_status(&state, &Actor::from(caller), &id, &req, change).await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// Suspends, resumes or terminates agreement `id` for `actor`, with `req.reason`: stored here
/// first with its event (so a suspension holds at once even if the other node cannot be
/// reached), then sent to the other party's node. A party may suspend (a dispute) or
/// terminate; only the authority (the operator, or a regulator or operator in the portal)
/// lifts a suspension.
///
/// # Errors
/// [`ApiError::Forbidden`] for a party resuming; [`ApiError::BadRequest`] naming `reason` or
/// `request_id`; [`ApiError::NotFound`] for an agreement the actor may not see;
/// [`ApiError::Conflict`] when the status does not allow the change.
pub async fn change_agreement_status(
    state: &NodeState,
    actor: &Actor,
    id: &str,
    req: &AgreementActionRequest,
    change: AgreementAction,
) -> Result<AgreementView, ApiError> {
    check_request_id(&req.request_id)?;
    let reason = req.reason.clone().unwrap_or_default();
    check_text("reason", &reason, MAX_LONG, true)?;
    if let (Actor::Org(_), AgreementAction::Resume) = (actor, change) {
        return Err(ApiError::Forbidden(
            "only a node operator lifts a suspension".into(),
        ));
    }
    let (scope, by) = actor.scope_and_by(state, false);
    let name = change.as_str();
    let fp = fingerprint(&[name, id, &reason]);
    if let Some(v) = check_replay_view(state, &scope, &req.request_id, &fp).await? {
        return Ok(v);
    }
    let rec = visible_to(state, actor, id).await?;
    let status_change = StatusChange {
        by: by.clone(),
        reason,
        on: today(state),
    };
    let wrong = |s: AgreementStatus| ApiError::Conflict {
        field: "status".into(),
        reason: format!("the agreement is {}; cannot {name} it", status_word(s)),
    };
    let new = match (rec.state.clone(), change) {
        (AgreementState::Active { agreement }, AgreementAction::Suspend) => {
            AgreementState::Suspended {
                agreement: agreement.suspend(status_change),
            }
        }
        (AgreementState::Suspended { agreement }, AgreementAction::Resume) => {
            let by = &agreement.suspension().by;
            if suspending_node(state, by).as_deref() != Some(state.node_id()) {
                return Err(ApiError::Forbidden(format!(
                    "the suspension was made by {by}; only the authority of its node lifts it"
                )));
            }
            AgreementState::Active {
                agreement: agreement.resume(today(state)).map_err(agreement_error)?,
            }
        }
        (AgreementState::Active { agreement }, AgreementAction::Terminate) => {
            AgreementState::Terminated {
                agreement: agreement.terminate(status_change),
            }
        }
        (AgreementState::Suspended { agreement }, AgreementAction::Terminate) => {
            AgreementState::Terminated {
                agreement: agreement.terminate(status_change),
            }
        }
        (other, _) => return Err(wrong(other.status())),
    };
    // Stored here first: a suspension holds even if the other node cannot be reached now.
    let view = commit_local_view(
        state,
        &scope,
        &req.request_id,
        &fp,
        Some(&rec),
        &new,
        &by,
        StatusCode::OK,
        true,
    )
    .await?;
    // Sent at once, so the change holds on both nodes when the answer comes; a node that
    // cannot be reached now gets it from the outbox when it is back.
    if let Err(e) = crate::outbox::send_due(state).await {
        tracing::warn!(agreement = %id, error = %e, "the outbox could not be read");
    }
    Ok(view)
}

/// `POST /api/v1/agreements/{id}/suspend`: a node operator (regulator) or a party (dispute)
/// suspends an active agreement; the next transfer request is refused on both nodes.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/suspend", params(("id" = String, Path, description = "Agreement id")),
    request_body = AgreementActionRequest,
    responses((status = 200, body = AgreementView), (status = 409, body = ErrorBody)))]
pub async fn suspend(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgreementActionRequest>,
) -> Result<Response, ApiError> {
    change_status(state, conn, headers, id, req, AgreementAction::Suspend).await
}

/// `POST /api/v1/agreements/{id}/resume`: a node operator lifts a suspension.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/resume", params(("id" = String, Path, description = "Agreement id")),
    request_body = AgreementActionRequest,
    responses((status = 200, body = AgreementView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resume(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgreementActionRequest>,
) -> Result<Response, ApiError> {
    change_status(state, conn, headers, id, req, AgreementAction::Resume).await
}

/// `POST /api/v1/agreements/{id}/terminate`: a node operator or a party ends the agreement.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/terminate", params(("id" = String, Path, description = "Agreement id")),
    request_body = AgreementActionRequest,
    responses((status = 200, body = AgreementView), (status = 409, body = ErrorBody)))]
pub async fn terminate(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgreementActionRequest>,
) -> Result<Response, ApiError> {
    change_status(state, conn, headers, id, req, AgreementAction::Terminate).await
}

/// `GET /api/v1/agreements/{id}`: a party's or the operator's view.
#[utoipa::path(get, path = "/api/v1/agreements/{id}", params(("id" = String, Path, description = "Agreement id")),
    responses((status = 200, body = AgreementView), (status = 404, body = ErrorBody)))]
pub async fn get_agreement(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<AgreementView>, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let (rec, _) = visible(&state, &caller, &id).await?;
    Ok(Json(AgreementView::from(&rec.state)))
}

/// `GET /api/v1/agreements`: the caller's agreements on this node.
#[utoipa::path(get, path = "/api/v1/agreements", responses((status = 200, body = Vec<AgreementView>)))]
pub async fn list_agreements(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
) -> Result<Json<Vec<AgreementView>>, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    let org = org_only(&caller)?;
    let recs = state.store().agreements_of(&org.id).await?;
    Ok(Json(
        recs.iter().map(|r| AgreementView::from(&r.state)).collect(),
    ))
}

/// `GET /api/v1/agreements/{id}/events`: this node's events about an agreement.
#[utoipa::path(get, path = "/api/v1/agreements/{id}/events", params(("id" = String, Path, description = "Agreement id")),
    responses((status = 200, body = Vec<EventView>), (status = 404, body = ErrorBody)))]
pub async fn agreement_events(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    visible(&state, &caller, &id).await?;
    let events = state.store().events_about(&id).await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}

/// `POST /api/v1/agreements/{id}/transfers`: the agreement's consumer asks for a dataset
/// version of its provider under it. Refused here when this node's copy of the agreement is
/// not active; otherwise forwarded as a transfer request naming the agreement, which the
/// provider's node checks against the terms.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/transfers", params(("id" = String, Path, description = "Agreement id")),
    request_body = AgreementTransferRequest,
    responses((status = 201, body = crate::api_types::TransferView), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn request_transfer(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgreementTransferRequest>,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers, conn.0.as_ref()).await?;
    request_transfer_as(&state, &caller, &id, req).await
}

/// The consumer `caller` asks for a dataset version under agreement `id`: the one path of the
/// API handler and the portal. Answers as the API does (201 with the transfer); the transfer
/// id is [`crate::api::transfer_id_for`] of the consumer and the request id.
///
/// # Errors
/// [`ApiError`]: 403 for anyone but the consumer, 409 when the agreement is not active, the
/// provider node's refusal otherwise.
pub async fn request_transfer_as(
    state: &NodeState,
    caller: &Caller,
    id: &str,
    req: AgreementTransferRequest,
) -> Result<Response, ApiError> {
    let id = id.to_owned();
    let org = org_only(caller)?.clone();
    let (rec, party) = visible(state, caller, &id).await?;
    if party != Some(Party::Consumer) {
        return Err(ApiError::Forbidden(
            "only the agreement's consumer requests transfers under it".into(),
        ));
    }
    let onward_to = req
        .onward_to
        .as_deref()
        .map(StateCode::new)
        .transpose()
        .map_err(|e| ApiError::bad("onward_to", e))?;
    if rec.status != AgreementStatus::Active {
        let breach = TermBreach {
            term: Term::Status,
            reason: format!("the agreement is {}, not active", status_word(rec.status)),
        };
        return Err(ApiError::Conflict {
            field: "agreement_id".into(),
            reason: breach.to_string(),
        });
    }
    let doc = rec.state.document();
    let plain = crate::api_types::TransferRequest {
        request_id: req.request_id,
        provider: doc.provider.to_string(),
        dataset_id: req.dataset_id,
        sha256: req.sha256,
        purpose: doc.terms.purpose.chars().take(MAX_SHORT * 10).collect(),
        recipient_kind: req.recipient_kind,
    };
    crate::api::submit_transfer(
        state,
        &org,
        plain,
        Some(crate::api::UnderAgreement {
            agreement_id: id,
            onward_to,
        }),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Federation

/// `POST /federation/v1/agreements`: the other party's node sends a new state of an
/// agreement. It must come from the node of a party, verify against the trust list (both
/// parties' signatures over these exact bytes, every approval by the approving state's node),
/// be a step of the lifecycle from what this node holds, and (for a proposal) require the
/// approvals this node's rule packs require. Stored with the same events as on the sender;
/// a repeat of the state this node holds is answered without change.
pub async fn receive(
    State(state): State<NodeState>,
    conn: Conn,
    ApiJson(msg): ApiJson<Signed<crate::wire::EnvelopeV1<AgreementMessageV1>>>,
) -> Result<Json<Value>, ApiError> {
    let node = crate::federation::verify_peer_message(&state, conn.0.as_ref(), &msg).await?;
    let new: AgreementState = serde_json::from_value(msg.document.body.state.clone())
        .map_err(|e| ApiError::bad("state", e))?;
    let doc = new.document();
    if doc.id != msg.document.body.agreement_id {
        return Err(ApiError::bad(
            "agreement_id",
            "does not match the state's document",
        ));
    }
    let me = state.identity().config.state;
    let parties = [doc.provider.state(), doc.consumer.state()];
    if !parties.contains(&node.state) {
        return Err(ApiError::Forbidden(
            "the sending node serves neither party of this agreement".into(),
        ));
    }
    if !parties.contains(&me) {
        return Err(ApiError::bad(
            "state",
            "neither party is an organisation of this node's state",
        ));
    }
    new.verify(&keys(&state)).map_err(agreement_error)?;
    for party in [&doc.provider, &doc.consumer] {
        if party.state() == me && state.store().organisation(party).await?.is_none() {
            return Err(ApiError::NotFound(format!("organisation {party}")));
        }
    }
    let stored = state.store().agreement(&doc.id).await?;
    if let Some(rec) = &stored
        && rec.state == new
    {
        return Ok(Json(
            json!({ "agreement_id": doc.id, "status": status_word(rec.status) }),
        ));
    }
    if let AgreementState::Proposed { .. } = &new {
        let required = approvals_for(&state, doc)?;
        if required != doc.approvals_required {
            return Err(ApiError::Unprocessable {
                field: "approvals_required".into(),
                reason: format!(
                    "the rule packs require approval by [{}], the proposal says [{}]",
                    required
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    doc.approvals_required
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    // A suspension is lifted only by the node whose authority (or party) suspended it: the
    // other party's node cannot lift a suspension this state's authority imposed.
    if let (
        Some(AgreementRecord {
            state: AgreementState::Suspended { agreement },
            ..
        }),
        AgreementState::Active { .. },
    ) = (&stored, &new)
    {
        let by = &agreement.suspension().by;
        if suspending_node(&state, by).as_deref() != Some(node.node_id.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "field 'state': the suspension was made by {by}; only its node lifts it"
            )));
        }
    }
    let kinds = events_for(stored.as_ref().map(|r| &r.state), &new).map_err(|reason| {
        ApiError::Conflict {
            field: "status".into(),
            reason,
        }
    })?;
    let by = format!("node:{}", node.node_id);
    let mut tx = state.store().begin().await?;
    match &stored {
        None => tx.insert_agreement(&new).await?,
        Some(rec) => {
            if !tx.update_agreement(rec, &new).await? {
                return Err(ApiError::Conflict {
                    field: "agreement".into(),
                    reason: "the agreement changed meanwhile; send again".into(),
                });
            }
        }
    }
    for kind in kinds {
        let mut detail = event_detail(&new, kind, &by);
        detail["from_node"] = json!(node.node_id);
        detail["message_signature"] = json!(msg.signature);
        tx.append_event(&NewEvent::new(kind, &doc.id, detail))
            .await?;
    }
    tx.commit().await?;
    Ok(Json(
        json!({ "agreement_id": doc.id, "status": status_word(new.status()) }),
    ))
}

// ---------------------------------------------------------------------------------------------
// Transfers under an agreement (provider's node)

/// What a transfer decision records of the agreement it ran under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementUse {
    /// Agreement id.
    pub id: String,
    /// Revision in force.
    pub revision: u32,
    /// The grounds its authority approvals attest (ground words).
    pub grounds: Vec<String>,
    /// The term the request broke, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<TermBreach>,
}

fn plan_of(terms: &Terms, report: &ContentReport) -> Option<Plan> {
    let scan = report.scan.as_ref()?;
    let mut plan = Plan::default();
    for step in &terms.deidentification {
        if !scan.columns.iter().any(|c| c.name == step.column) {
            continue;
        }
        use silkgate_model::agreement::DeidentificationMethod as M;
        let t = match step.method {
            M::Drop => Transform::Drop,
            // A keyed hash: the scanner's pseudonymisation is HMAC-SHA-256 under a key of
            // the provider-consumer pair.
            M::Pseudonymise | M::Hash => Transform::Pseudonymise,
            M::Mask => Transform::Mask {
                keep_prefix: 0,
                keep_suffix: 0,
            },
            M::Generalise => Transform::Generalise {
                to: Generalisation::Prefix(3),
            },
            _ => Transform::Drop,
        };
        plan.columns.insert(step.column.clone(), t);
    }
    (!plan.columns.is_empty()).then_some(plan)
}

fn breach_decision(
    report: &ContentReport,
    facts: Option<Facts>,
    breach: &TermBreach,
    now: i64,
) -> TransferDecision {
    let term = breach.term.as_str();
    TransferDecision {
        decision: silkgate_policy::Decision {
            outcome: Outcome::Deny,
            obligations: Vec::new(),
            reasons: vec![Reason {
                rule: format!("agreement.{term}"),
                text: Texts {
                    en: format!(
                        "The request breaks the agreement's term '{term}': {}",
                        breach.reason
                    ),
                    ru: format!(
                        "Запрос нарушает условие соглашения «{term}»: {}",
                        breach.reason
                    ),
                    zh: format!("请求违反协议条款“{term}”：{}", breach.reason),
                },
                citations: Vec::new(),
            }],
            rulepacks: BTreeMap::new(),
        },
        legal_outcome: Outcome::Deny,
        facts,
        deidentify: None,
        marking: None,
        met: Vec::new(),
        decided_at: now.max(report.reviewed_at),
        agreement: None,
    }
}

/// Step 3 under an agreement: loads and re-verifies it, expires it when its validity has
/// ended (recorded and sent to the consumer's node), checks the request against the terms
/// (status, validity, columns as delivered, categories, the year's subjects, onward transfer)
/// and, when it keeps to them, decides with the grounds the agreement's approvals attest and
/// adds the terms' de-identification plan. A broken term is a `deny` whose reason names it
/// (`agreement.<term>`). The decision records the agreement.
///
/// # Errors
/// [`ApiError`] when the agreement is unknown here or names other parties.
pub async fn decide_under(
    state: &NodeState,
    transfer: &Transfer,
    dataset_sector: Sector,
    recipient_kind: RecipientKind,
    report: &ContentReport,
    agreement_id: &str,
    onward_to: Option<StateCode>,
) -> Result<TransferDecision, ApiError> {
    let mut rec = state
        .store()
        .agreement(agreement_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("agreement {agreement_id}")))?;
    {
        let doc = rec.state.document();
        if doc.provider != transfer.provider || doc.consumer != transfer.consumer {
            return Err(ApiError::Forbidden(
                "field 'agreement_id': the agreement binds other parties".into(),
            ));
        }
    }
    rec.state.verify(&keys(state)).map_err(agreement_error)?;
    let day = today(state);
    if let AgreementState::Active { agreement } = &rec.state
        && day > agreement.terms().validity.not_after
    {
        rec = expire(state, &rec, day).await?;
    }
    let doc = rec.state.document().clone();
    let grounds = grounds_of(&rec.state);
    let sector = state
        .store()
        .organisation(&transfer.provider)
        .await?
        .map_or(dataset_sector, |o| o.sector);
    let ytd = pipeline::year_to_date(state, &transfer.provider)
        .await
        .map_err(ApiError::internal)?;
    let facts = pipeline::facts_for(transfer, sector, recipient_kind, report, ytd, grounds);
    let plan = plan_of(&doc.terms, report);
    let (used, _) = state
        .store()
        .agreement_usage(&doc.id, state.clock().year())
        .await?;
    let dropped: BTreeSet<&str> = plan
        .iter()
        .flat_map(|p| p.columns.iter())
        .filter(|(_, t)| matches!(t, Transform::Drop))
        .map(|(c, _)| c.as_str())
        .collect();
    let request = TransferRequest {
        columns: report
            .scan
            .as_ref()
            .map(|s| {
                s.columns
                    .iter()
                    .filter(|c| !dropped.contains(c.name.as_str()))
                    .map(|c| c.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        categories: facts
            .as_ref()
            .map(|f| f.data.categories.iter().copied().collect())
            .unwrap_or_default(),
        subjects: facts.as_ref().map_or(0, |f| f.data.subjects),
        subjects_delivered_this_year: used,
        on: day,
        onward_to,
    };
    let mut usage = AgreementUse {
        id: doc.id.clone(),
        revision: doc.revision,
        grounds: APPROVAL_BASES
            .iter()
            .filter(|w| {
                let mut g = Grounds::default();
                set_ground(&mut g, w);
                (g.security_assessment && grounds.security_assessment)
                    || (g.standard_contract && grounds.standard_contract)
                    || (g.regulator_permit && grounds.regulator_permit)
            })
            .map(|w| (*w).to_owned())
            .collect(),
        breach: None,
    };
    let checked = if report.scan.is_some() {
        rec.state.check_transfer(&request)
    } else {
        Ok(())
    };
    if let Err(breach) = checked {
        let mut d = breach_decision(report, facts, &breach, state.clock().now_unix());
        usage.breach = Some(breach);
        d.agreement = Some(usage);
        return Ok(d);
    }
    let mut decision = pipeline::decide_with(
        state.policy(),
        report,
        facts,
        &state.0.options.deidentify,
        state.0.options.incomplete_review,
        state.clock().now_unix(),
    )
    .map_err(|e| ApiError::bad("facts", e))?;
    if !decision.is_deny()
        && let Some(plan) = plan
    {
        let mut merged = decision.deidentify.take().unwrap_or_default();
        merged.columns.extend(plan.columns);
        if !decision
            .decision
            .obligations
            .iter()
            .any(|o| o.id == pipeline::DEIDENTIFY)
        {
            let cols: Vec<&str> = merged.columns.keys().map(String::as_str).collect();
            let cols = cols.join(", ");
            decision.decision.obligations.insert(
                0,
                silkgate_policy::Obligation {
                    id: pipeline::DEIDENTIFY.into(),
                    text: Texts {
                        en: format!("The node de-identifies the columns {cols} before encryption, as the agreement's de-identification plan requires."),
                        ru: format!("Узел обезличивает столбцы {cols} перед шифрованием по плану обезличивания соглашения."),
                        zh: format!("节点按协议的去标识化方案在加密前对列 {cols} 去标识化。"),
                    },
                    citations: Vec::new(),
                },
            );
        }
        decision.deidentify = Some(merged);
    }
    if !decision.is_deny() && doc.terms.marking.enabled {
        decision.marking = Some(doc.terms.marking.clone());
        decision.decision.obligations.push(silkgate_policy::Obligation {
            id: pipeline::MARK.into(),
            text: Texts {
                en: "The node marks the delivered copy with a fingerprint of its recipient, as the agreement's marking terms require.".into(),
                ru: "Узел маркирует передаваемую копию отпечатком получателя, как требуют условия маркировки соглашения.".into(),
                zh: "节点按协议的标记条款在交付副本中嵌入接收方指纹。".into(),
            },
            citations: Vec::new(),
        });
    }
    decision.agreement = Some(usage);
    Ok(decision)
}

/// Keeps what the agreement added to a decision (its record, its de-identification plan and
/// that obligation) when the provider's attested grounds make the node decide again.
pub fn carry_over(old: &TransferDecision, new: &mut TransferDecision) {
    let Some(usage) = &old.agreement else {
        return;
    };
    new.agreement = Some(usage.clone());
    if new.is_deny() {
        return;
    }
    if let Some(terms) = &old.marking {
        new.marking = Some(terms.clone());
        if let Some(o) = old
            .decision
            .obligations
            .iter()
            .find(|o| o.id == pipeline::MARK)
        {
            new.decision.obligations.push(o.clone());
        }
    }
    if let Some(plan) = &old.deidentify {
        let mut merged = new.deidentify.take().unwrap_or_default();
        for (c, t) in &plan.columns {
            merged.columns.entry(c.clone()).or_insert_with(|| t.clone());
        }
        new.deidentify = Some(merged);
        if !new
            .decision
            .obligations
            .iter()
            .any(|o| o.id == pipeline::DEIDENTIFY)
            && let Some(o) = old
                .decision
                .obligations
                .iter()
                .find(|o| o.id == pipeline::DEIDENTIFY)
        {
            new.decision.obligations.insert(0, o.clone());
        }
    }
}

async fn expire(
    state: &NodeState,
    rec: &AgreementRecord,
    day: Date,
) -> Result<AgreementRecord, ApiError> {
    let AgreementState::Active { agreement } = rec.state.clone() else {
        return Ok(rec.clone());
    };
    let Ok(expired) = agreement.expire(day) else {
        return Ok(rec.clone());
    };
    let new = AgreementState::Expired { agreement: expired };
    let mut tx = state.store().begin().await?;
    if tx.update_agreement(rec, &new).await? {
        let by = format!("node:{}", state.node_id());
        let event = tx
            .append_event(&NewEvent::new(
                "agreement.expired",
                &rec.id,
                event_detail(&new, "agreement.expired", &by),
            ))
            .await?;
        owe_to_parties(state, &mut tx, &new, &event).await?;
        tx.commit().await?;
        state.wake_outbox();
    } else {
        drop(tx);
    }
    state
        .store()
        .agreement(&rec.id)
        .await?
        .ok_or_else(|| ApiError::internal("agreement vanished"))
}

// ---------------------------------------------------------------------------------------------
// Usage duties on the consumer's node

/// Rule word of the retention duty, in events and usage reports.
pub const RETENTION_DELETED: &str = "retention-deleted";

/// Deletes, on the consumer's node, every delivery made under an agreement whose retention
/// period (`retention_days` of its terms, counted from the day it was received) has ended:
/// the encrypted payload goes, the record stays with a `transfer.retention-deleted` event, and
/// the provider's node is told. Returns the transfers deleted.
///
/// # Errors
/// Storage errors.
pub async fn sweep_retention(state: &NodeState) -> Result<Vec<String>, ApiError> {
    let now = state.clock().now_unix();
    let records = state
        .store()
        .transfers_in_status(
            silkgate_store::TransferRole::Consumer,
            silkgate_model::TransferStatus::Delivered,
        )
        .await?;
    let mut deleted = Vec::new();
    for r in records {
        let (Some(blob), Some(receipt)) = (&r.cipher_blob, &r.receipt) else {
            continue;
        };
        let Some(agreement_id) = r
            .report
            .as_ref()
            .and_then(|v| v.pointer("/decision/agreement/id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let Some(rec) = state.store().agreement(&agreement_id).await? else {
            continue;
        };
        let days = i64::from(rec.state.document().terms.retention_days);
        let ends = receipt.document.received_at + days * 86_400;
        if now < ends {
            continue;
        }
        state.store().blobs().delete(blob).await?;
        let mut tx = state.store().begin().await?;
        if tx
            .clear_transfer_blob(&r.transfer.id, silkgate_store::TransferRole::Consumer)
            .await?
        {
            let report = UsageReportV1 {
                report_id: usage_report_id(&r.transfer.id, RETENTION_DELETED, ""),
                transfer_id: r.transfer.id.clone(),
                agreement_id: agreement_id.clone(),
                duty: RETENTION_DELETED.into(),
                at: state.clock().now_unix(),
            };
            tx.append_event(&NewEvent::new(
                "transfer.retention-deleted",
                &r.transfer.id,
                json!({
                    "agreement_id": agreement_id,
                    "retention_days": days,
                    "received_at": receipt.document.received_at,
                    "retention_ended_at": ends,
                    "report_id": report.report_id,
                }),
            ))
            .await?;
            // The report to the provider's node is owed from this transaction on.
            queue_usage_report(&mut tx, r.transfer.provider_state(), &report).await?;
            tx.commit().await?;
            state.wake_outbox();
            deleted.push(r.transfer.id.clone());
        }
    }
    Ok(deleted)
}

/// The retention task: a sweep at start, then one a minute.
pub async fn retention(state: NodeState) {
    loop {
        if let Err(e) = sweep_retention(&state).await {
            tracing::warn!(error = %e, "retention sweep failed; will retry");
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

/// Rule word of the onward-transfer duty, in events and usage reports.
pub const ONWARD_REFUSED: &str = "onward-refused";

/// A delivery this node received under an agreement whose onward-transfer term a new request
/// would break.
#[derive(Debug, Clone)]
pub struct OnwardBreach {
    /// The transfer that brought the data here.
    pub delivery: silkgate_store::TransferRecord,
    /// Its agreement.
    pub agreement_id: String,
    /// The state the new request would send the data to.
    pub to: StateCode,
    /// What the term allows.
    pub reason: String,
}

/// On the consumer's node, as a provider: whether the dataset version a request asks for is
/// (byte for byte) a copy this node received under an agreement whose onward-transfer term
/// bans the requesting state. Checked on the delivered bytes' hash, as the manifest names it.
///
/// # Errors
/// Storage errors.
pub async fn onward_breach(
    state: &NodeState,
    request: &silkgate_model::Transfer,
) -> Result<Option<OnwardBreach>, ApiError> {
    let to = request.consumer_state();
    for r in state
        .store()
        .transfers_in_status(
            silkgate_store::TransferRole::Consumer,
            silkgate_model::TransferStatus::Delivered,
        )
        .await?
    {
        let Some(manifest) = &r.manifest else {
            continue;
        };
        if manifest.document.payload_sha256 != request.sha256 {
            continue;
        }
        let Some(agreement_id) = r
            .report
            .as_ref()
            .and_then(|v| v.pointer("/decision/agreement/id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let Some(rec) = state.store().agreement(&agreement_id).await? else {
            continue;
        };
        let reason = match &rec.state.document().terms.onward_transfer {
            silkgate_model::agreement::OnwardTransfer::Banned => {
                "onward transfers are banned".to_owned()
            }
            silkgate_model::agreement::OnwardTransfer::AllowedTo { states } => {
                if states.contains(&to) {
                    continue;
                }
                format!(
                    "onward transfers only to {}",
                    states
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            // A rule this node does not know: refuse rather than pass the data on.
            _ => "the agreement's onward-transfer rule is not known to this node".to_owned(),
        };
        return Ok(Some(OnwardBreach {
            delivery: r,
            agreement_id,
            to,
            reason,
        }));
    }
    Ok(None)
}

/// The denial of a request that would pass data on against the agreement it came under.
pub fn onward_decision(
    report: &ContentReport,
    facts: Option<Facts>,
    found: &OnwardBreach,
    now: i64,
) -> TransferDecision {
    let breach = TermBreach {
        term: silkgate_model::agreement::Term::OnwardTransfer,
        reason: format!(
            "this data came to {} under agreement {}: {} (requested to {})",
            found.delivery.transfer.consumer, found.agreement_id, found.reason, found.to
        ),
    };
    let mut d = breach_decision(report, facts, &breach, now);
    d.agreement = Some(AgreementUse {
        id: found.agreement_id.clone(),
        revision: 0,
        grounds: Vec::new(),
        breach: Some(breach),
    });
    d
}

/// The id of a usage report: derived from the delivery, the duty and the occasion (for an
/// onward refusal, the refused request's transfer id), so the same report made again has the
/// same id and the provider's node records it once.
pub fn usage_report_id(transfer_id: &str, duty: &str, occasion: &str) -> String {
    let mut h = Sha256::new();
    for part in ["silkgate/usage-report/v1", transfer_id, duty, occasion] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    format!("ur-{}", &hex::encode(h.finalize())[..32])
}

/// Queues `report` for the provider's node in `tx`, the transaction of the event it reports;
/// the outbox task ([`crate::outbox`]) sends it and retries until it is acknowledged.
///
/// # Errors
/// Storage errors.
pub async fn queue_usage_report(
    tx: &mut silkgate_store::Tx,
    provider_state: StateCode,
    report: &UsageReportV1,
) -> Result<(), ApiError> {
    crate::outbox::queue(
        tx,
        &report.report_id,
        provider_state,
        &crate::outbox::Owed::Usage(report.clone()),
    )
    .await?;
    Ok(())
}

/// Queues, in `tx` (the transaction recording the denial of request `refused`), the report
/// telling the node that provided the data that this node refused to pass it on. Wake the
/// outbox ([`NodeState::wake_outbox`]) once `tx` is committed.
///
/// # Errors
/// Storage errors.
pub async fn queue_onward_refusal(
    tx: &mut silkgate_store::Tx,
    found: &OnwardBreach,
    refused: &str,
) -> Result<(), ApiError> {
    let delivery = &found.delivery.transfer;
    let report = UsageReportV1 {
        report_id: usage_report_id(&delivery.id, ONWARD_REFUSED, refused),
        transfer_id: delivery.id.clone(),
        agreement_id: found.agreement_id.clone(),
        duty: ONWARD_REFUSED.into(),
        at: tx.now_unix(),
    };
    queue_usage_report(tx, delivery.provider_state(), &report).await
}

/// Idempotency scope of received usage reports (keyed by report id).
const USAGE_SCOPE: &str = "federation.usage-report";

/// `POST /federation/v1/usage`: the consumer's node reports a usage duty it carried out on a
/// delivery of this node's. Recorded once per report id as an event about the transfer.
pub async fn receive_usage(
    State(state): State<NodeState>,
    conn: Conn,
    ApiJson(msg): ApiJson<Signed<crate::wire::EnvelopeV1<UsageReportV1>>>,
) -> Result<Json<Value>, ApiError> {
    let node = crate::federation::verify_peer_message(&state, conn.0.as_ref(), &msg).await?;
    let r = &msg.document.body;
    let kind = match r.duty.as_str() {
        RETENTION_DELETED => "transfer.retention-deleted",
        ONWARD_REFUSED => "transfer.onward-refused",
        _ => {
            return Err(ApiError::bad(
                "duty",
                format!("expected '{RETENTION_DELETED}' or '{ONWARD_REFUSED}'"),
            ));
        }
    };
    let id_ok = r.report_id.len() == 35
        && r.report_id.starts_with("ur-")
        && r.report_id[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if !id_ok {
        return Err(ApiError::bad(
            "report_id",
            "expected 'ur-' followed by 32 hex digits",
        ));
    }
    let record = state
        .store()
        .transfer(&r.transfer_id, silkgate_store::TransferRole::Provider)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("transfer {}", r.transfer_id)))?;
    if record.transfer.consumer_state() != node.state {
        return Err(ApiError::Forbidden(
            "the sending node does not serve this transfer's consumer".into(),
        ));
    }
    let under = record
        .report
        .as_ref()
        .and_then(|v| v.pointer("/decision/agreement/id"))
        .and_then(Value::as_str);
    if under != Some(r.agreement_id.as_str()) {
        return Err(ApiError::bad(
            "agreement_id",
            "the transfer did not run under this agreement",
        ));
    }
    // Recorded once per report id: a report sent again (its acknowledgement lost) gets the
    // first answer back, and the idempotency row is written with the event, so two copies
    // arriving at once cannot both be recorded.
    let fingerprint = hex::encode(Sha256::digest(
        serde_json::to_vec(r).map_err(ApiError::internal)?,
    ));
    let mut tx = state.store().begin().await?;
    match tx.idempotent(USAGE_SCOPE, &r.report_id, &fingerprint).await {
        Ok(Some(first)) => return Ok(Json(first.body)),
        Ok(None) => {}
        Err(silkgate_store::StoreError::IdempotencyConflict { .. }) => {
            return Err(ApiError::bad(
                "report_id",
                "already used for a different report",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tx.append_event(&NewEvent::new(
        kind,
        &r.transfer_id,
        json!({
            "agreement_id": r.agreement_id, "reported_by": node.node_id,
            "at": r.at, "report_id": r.report_id, "signature": msg.signature,
        }),
    ))
    .await?;
    let answer =
        json!({ "transfer_id": r.transfer_id, "report_id": r.report_id, "recorded": true });
    tx.remember(
        USAGE_SCOPE,
        &r.report_id,
        &fingerprint,
        &IdempotentAnswer {
            status: 200,
            body: answer.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(answer))
}
