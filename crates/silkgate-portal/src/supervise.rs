//! The supervision actions of the state's authority (regulators and the node operator): suspend
//! and resume agreements and organisations, sign the authority's approvals that agreements wait
//! for, each view also as CSV.
//!
//! Every action goes through the node's own agreement functions
//! ([`silkgate_node::agreements::change_agreement_status`],
//! [`silkgate_node::agreements::approve_agreement`]) on behalf of the signed-in person
//! ([`Actor::Authority`]), so it follows the same rules as the API: stored with its event here
//! first, sent at once to the other party's node, and refused there and here on the next
//! transfer request. The person acts only on agreements of which a party belongs to this node's
//! state; any other is "not found".

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use silkgate_model::{AgreementState, OrgId, Organisation};
use silkgate_node::NodeState;
use silkgate_node::agreements::{
    AUTHORITY_OBLIGATIONS, Actor, AgreementAction, AgreementActionRequest, approve_agreement,
    authority_obligations, change_agreement_status, set_organisation_suspension, templates,
};
use silkgate_node::error::ApiError;
use silkgate_store::{AgreementRecord, PortalRole};

use crate::auth;
use crate::charts;
use crate::pages::html;
use crate::web::{Ctx, Fail, User};

/// Who may use these pages: the state's authority.
const AUTHORITY: &[PortalRole] = &[PortalRole::Regulator, PortalRole::Operator];

fn actor(user: &User) -> Actor {
    Actor::Authority {
        account_id: user.account.id.clone(),
    }
}

/// The node's refusal as the portal's: the field and the reason stay visible.
fn api_fail(ctx: &Ctx, e: ApiError) -> Fail {
    match e {
        ApiError::NotFound(_) => ctx.not_found(),
        ApiError::Forbidden(_) => ctx.forbidden(),
        ApiError::BadRequest { field, reason }
        | ApiError::Conflict { field, reason }
        | ApiError::TooLarge { field, reason }
        | ApiError::Unprocessable { field, reason } => ctx.bad(&field, reason),
        other => ctx.internal(other),
    }
}

/// The request id of one action of a form: a page carries one random id for all its forms,
/// and the node remembers answers per request id, so each agreement and action needs its
/// own; a form sent twice gives the same one (the node answers the first time's answer).
fn request_id_for(form_id: &str, agreement_id: &str) -> String {
    let h = Sha256::digest(format!("{form_id}\n{agreement_id}").as_bytes());
    format!("portal-{}", hex::encode(&h[..16]))
}

/// A form's request id: the one the page put in it, or a fresh one.
fn form_request_id(given: &str) -> String {
    let given = given.trim();
    if given.is_empty() {
        auth::random_token()
    } else {
        given.to_owned()
    }
}

/// The organisations of the authority's own state registered at this node: what its
/// per-organisation views walk.
async fn own_organisations(node: &NodeState, ctx: &Ctx) -> Result<Vec<Organisation>, Fail> {
    let all = node
        .store()
        .organisations()
        .await
        .map_err(|e| ctx.internal(e))?;
    Ok(all
        .into_iter()
        .filter(|o| o.id.state() == ctx.state)
        .collect())
}

/// Every agreement stored on this node of which a party belongs to `ctx.state`, newest change
/// first.
async fn agreements_of_state(node: &NodeState, ctx: &Ctx) -> Result<Vec<AgreementRecord>, Fail> {
    let store = node.store();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for org in store.organisations().await.map_err(|e| ctx.internal(e))? {
        for r in store
            .agreements_of(&org.id)
            .await
            .map_err(|e| ctx.internal(e))?
        {
            if (r.provider.state() == ctx.state || r.consumer.state() == ctx.state)
                && seen.insert(r.id.clone())
            {
                out.push(r);
            }
        }
    }
    out.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

fn status_word(s: silkgate_model::AgreementStatus) -> &'static str {
    use silkgate_model::AgreementStatus as S;
    match s {
        S::Proposed => "proposed",
        S::Signed => "signed",
        S::Active => "active",
        S::Suspended => "suspended",
        S::Expired => "expired",
        S::Terminated => "terminated",
    }
}

// ---------------------------------------------------------------- citations

/// A legal citation as shown: the instrument's name in its original language beside the
/// English name, both from the rule pack's manifest (never made up here), the article, the
/// source read, and whether the research verified it.
#[derive(Debug, Clone)]
pub struct CitationView {
    /// The instrument's name in the original language (the manifest's `original`), or its
    /// short key when the pack does not define it.
    pub original: String,
    /// Its English name (the manifest's `en`), if the pack defines the instrument.
    pub english: Option<String>,
    /// The manifest's caution about the name or status, if any.
    pub note: Option<String>,
    /// The article or provision.
    pub article: String,
    /// URL of the source read.
    pub source: String,
    /// False where the research marks the fact UNVERIFIED.
    pub verified: bool,
}

/// `c` with its instrument's names from the loaded rule packs.
pub fn citation_view(
    engine: &silkgate_policy::PolicyEngine,
    c: &silkgate_policy::Citation,
) -> CitationView {
    let instrument = engine
        .packs()
        .find(|p| p.id == c.state)
        .and_then(|p| p.instruments.get(&c.instrument));
    CitationView {
        original: instrument
            .map(|i| i.original.clone())
            .unwrap_or_else(|| c.instrument.clone()),
        english: instrument.map(|i| i.en.clone()),
        note: instrument.and_then(|i| i.note.clone()),
        article: c.article.clone(),
        source: c.source.clone(),
        verified: c.verified,
    }
}

/// An obligation as shown: its text in the page's language and its citations.
#[derive(Debug, Clone)]
pub struct ObligationView {
    /// Stable id, e.g. `cn.security-assessment`.
    pub id: String,
    /// What to do, in the page's language (the pack's own text).
    pub text: String,
    /// The articles that impose it.
    pub citations: Vec<CitationView>,
}

fn obligation_view(
    engine: &silkgate_policy::PolicyEngine,
    ctx: &Ctx,
    o: &silkgate_policy::Obligation,
) -> ObligationView {
    ObligationView {
        id: o.id.clone(),
        text: o.text.get(ctx.lang.tag()).to_owned(),
        citations: o
            .citations
            .iter()
            .map(|c| citation_view(engine, c))
            .collect(),
    }
}

// ---------------------------------------------------------------- agreements and organisations

/// An agreement as the authority's list shows it.
#[derive(Debug, Clone)]
pub struct AgreementLine {
    /// Agreement id.
    pub id: String,
    /// Providing organisation.
    pub provider: String,
    /// Its state code.
    pub provider_state: String,
    /// Receiving organisation.
    pub consumer: String,
    /// Its state code.
    pub consumer_state: String,
    /// Template id and version, e.g. `trade v1`.
    pub template: String,
    /// Status word.
    pub status: &'static str,
    /// Who suspended or ended it, why, and on which day.
    pub change: Option<(String, String, String)>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

fn agreement_line(r: &AgreementRecord) -> AgreementLine {
    let doc = r.state.document();
    let change = match &r.state {
        AgreementState::Suspended { agreement } => Some(agreement.suspension().clone()),
        AgreementState::Terminated { agreement } => Some(agreement.termination().clone()),
        _ => None,
    }
    .map(|c| (c.by, c.reason, c.on.to_string()));
    AgreementLine {
        id: r.id.clone(),
        provider: r.provider.to_string(),
        provider_state: r.provider.state().to_string(),
        consumer: r.consumer.to_string(),
        consumer_state: r.consumer.state().to_string(),
        template: format!("{} v{}", doc.template.id, doc.template.version),
        status: status_word(r.status),
        change,
        updated_at: r.updated_at,
    }
}

/// An organisation of the state, with its agreements by status.
#[derive(Debug, Clone)]
pub struct OrgLine {
    /// Organisation id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Sector word.
    pub sector: &'static str,
    /// Agreements in force.
    pub active: usize,
    /// Agreements suspended.
    pub suspended: usize,
}

#[derive(Template)]
#[template(path = "supervise_agreements.html")]
struct AgreementsPage {
    ctx: Ctx,
    rows: Vec<AgreementLine>,
    orgs: Vec<OrgLine>,
    request_id: String,
    done: Option<String>,
}

/// Query of the agreements page: what was just done.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The words a redirect may report as done.
const DONE_WORDS: [&str; 5] = [
    "suspended",
    "resumed",
    "org-suspended",
    "org-resumed",
    "approved",
];

fn done_message(ctx: &Ctx, done: Option<&str>) -> Option<String> {
    done.filter(|d| DONE_WORDS.contains(d))
        .map(|d| ctx.word("supervise-done", d))
}

/// `GET /portal/supervision/agreements`: every agreement touching the state, with forms to
/// suspend one in force or lift a suspension, and the state's organisations, with forms to
/// suspend or resume all their agreements.
pub async fn agreements(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let records = agreements_of_state(&node, &ctx).await?;
    let mut orgs = Vec::new();
    for o in own_organisations(&node, &ctx).await? {
        let mine = records
            .iter()
            .filter(|r| r.provider == o.id || r.consumer == o.id);
        let (mut active, mut suspended) = (0, 0);
        for r in mine {
            match r.status {
                silkgate_model::AgreementStatus::Active => active += 1,
                silkgate_model::AgreementStatus::Suspended => suspended += 1,
                _ => {}
            }
        }
        orgs.push(OrgLine {
            id: o.id.to_string(),
            name: o.name,
            sector: o.sector.as_str(),
            active,
            suspended,
        });
    }
    let done = done_message(&ctx, q.done.as_deref());
    Ok(html(&AgreementsPage {
        rows: records.iter().map(agreement_line).collect(),
        orgs,
        request_id: auth::random_token(),
        done,
        ctx,
    }))
}

/// `GET /portal/supervision/agreements.csv`: the same list as CSV.
pub async fn agreements_csv(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let mut out = charts::csv_line(&[
        "agreement_id",
        "provider",
        "provider_state",
        "consumer",
        "consumer_state",
        "template",
        "status",
        "changed_by",
        "change_reason",
        "changed_on",
        "updated_at",
    ]);
    for r in agreements_of_state(&node, &ctx).await? {
        let a = agreement_line(&r);
        let (by, reason, on) = a.change.clone().unwrap_or_default();
        out.push_str(&charts::csv_line(&[
            &a.id,
            &a.provider,
            &a.provider_state,
            &a.consumer,
            &a.consumer_state,
            &a.template,
            a.status,
            &by,
            &reason,
            &on,
            &a.updated_at.to_string(),
        ]));
    }
    Ok(csv("agreements.csv", out))
}

/// A CSV answer, downloaded as `name`.
fn csv(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The form of a suspension or its lifting.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    reason: String,
}

fn action_of(word: &str) -> Option<AgreementAction> {
    match word {
        "suspend" => Some(AgreementAction::Suspend),
        "resume" => Some(AgreementAction::Resume),
        _ => None,
    }
}

fn check_reason(ctx: &Ctx, reason: &str) -> Result<(), Fail> {
    if reason.trim().is_empty() {
        return Err(ctx.bad(
            "reason",
            "give the reason; it is logged and sent to both parties",
        ));
    }
    Ok(())
}

/// `POST /portal/supervision/agreements/{id}/{suspend|resume}`: the authority suspends an
/// agreement in force, or lifts a suspension, with a reason. Effective at once on this node,
/// sent at once to the other party's node, logged on both.
pub async fn agreement_action(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path((id, word)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Fail> {
    let user = ctx.require_form(AUTHORITY, &form.csrf)?;
    let action = action_of(&word).ok_or_else(|| ctx.not_found())?;
    check_reason(&ctx, &form.reason)?;
    let req = AgreementActionRequest {
        request_id: request_id_for(&form_request_id(&form.request_id), &format!("{id}/{word}")),
        reason: Some(form.reason.trim().to_owned()),
    };
    change_agreement_status(&node, &actor(user), &id, &req, action)
        .await
        .map_err(|e| api_fail(&ctx, e))?;
    let done = match action {
        AgreementAction::Suspend => "suspended",
        _ => "resumed",
    };
    Ok(Redirect::to(&format!("/portal/supervision/agreements?done={done}")).into_response())
}

/// `POST /portal/supervision/organisations/{id}/{suspend|resume}`: the authority suspends an
/// organisation of its own state (its node then refuses every transfer it asks for or
/// provides) and every agreement it has in force (so every transfer under them is refused on
/// both sides), or lifts the organisation's suspension and the agreements' suspensions this
/// authority made. An organisation of
/// another state, or not registered here, is "not found".
pub async fn organisation_action(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path((id, word)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Fail> {
    let user = ctx.require_form(AUTHORITY, &form.csrf)?;
    let action = action_of(&word).ok_or_else(|| ctx.not_found())?;
    let org: OrgId = id.parse().map_err(|_| ctx.not_found())?;
    if org.state() != ctx.state
        || node
            .store()
            .organisation(&org)
            .await
            .map_err(|e| ctx.internal(e))?
            .is_none()
    {
        return Err(ctx.not_found());
    }
    check_reason(&ctx, &form.reason)?;
    let form_id = form_request_id(&form.request_id);
    let ours = format!("authority:{}", node.node_id());
    let who = actor(user);
    // The organisation itself first: from here on its node refuses every transfer it asks
    // for or provides, with or without an agreement.
    let reason = form.reason.trim();
    set_organisation_suspension(
        &node,
        &who,
        &org,
        (action == AgreementAction::Suspend).then_some(reason),
    )
    .await
    .map_err(|e| api_fail(&ctx, e))?;
    for r in node
        .store()
        .agreements_of(&org)
        .await
        .map_err(|e| ctx.internal(e))?
    {
        let applies = match (&r.state, action) {
            (AgreementState::Active { .. }, AgreementAction::Suspend) => true,
            // Only the suspensions this authority made: a party's (a dispute) stays.
            (AgreementState::Suspended { agreement }, AgreementAction::Resume) => {
                agreement.suspension().by.starts_with(&ours)
            }
            _ => false,
        };
        if !applies {
            continue;
        }
        let req = AgreementActionRequest {
            request_id: request_id_for(&form_id, &format!("{}/{word}", r.id)),
            reason: Some(form.reason.trim().to_owned()),
        };
        change_agreement_status(&node, &who, &r.id, &req, action)
            .await
            .map_err(|e| api_fail(&ctx, e))?;
    }
    let done = match action {
        AgreementAction::Suspend => "org-suspended",
        _ => "org-resumed",
    };
    Ok(Redirect::to(&format!("/portal/supervision/agreements?done={done}")).into_response())
}

// ---------------------------------------------------------------- approvals

/// An agreement waiting for this authority's approval.
#[derive(Debug, Clone)]
pub struct ApprovalLine {
    /// The agreement.
    pub agreement: AgreementLine,
    /// Purpose stated in the terms.
    pub purpose: String,
    /// Data categories of the terms (stable words).
    pub categories: Vec<String>,
    /// Yearly cap of data subjects.
    pub max_subjects: u64,
    /// The obligations of the rule packs that call for the approval, with their citations.
    pub obligations: Vec<ObligationView>,
    /// The basis the obligations point to (a ground word), preselected in the form.
    pub basis: String,
}

#[derive(Template)]
#[template(path = "supervise_approvals.html")]
struct ApprovalsPage {
    ctx: Ctx,
    rows: Vec<ApprovalLine>,
    bases: Vec<&'static str>,
    request_id: String,
    done: Option<String>,
}

/// The agreements signed by both parties that wait for this state's approval, which this
/// authority has not given yet.
fn waiting(node: &NodeState, ctx: &Ctx, records: &[AgreementRecord]) -> Vec<ApprovalLine> {
    let engine = node.policy();
    records
        .iter()
        .filter_map(|r| {
            let AgreementState::Signed { agreement } = &r.state else {
                return None;
            };
            let doc = agreement.document();
            if !doc.approvals_required.contains(&ctx.state)
                || agreement
                    .approvals()
                    .iter()
                    .any(|a| a.document.state == ctx.state)
            {
                return None;
            }
            let obligations = templates()
                .get(&(doc.template.id.clone(), doc.template.version))
                .and_then(|t| {
                    authority_obligations(
                        engine,
                        t.sub_committee,
                        &doc.provider,
                        &doc.consumer,
                        &doc.terms,
                        silkgate_model::Date::from_unix_seconds(ctx.now),
                    )
                    .ok()
                })
                .unwrap_or_default();
            let basis = obligations
                .iter()
                .find_map(|o| {
                    AUTHORITY_OBLIGATIONS
                        .iter()
                        .find(|(id, _)| *id == o.id)
                        .map(|(_, b)| (*b).to_owned())
                })
                .unwrap_or_default();
            Some(ApprovalLine {
                agreement: agreement_line(r),
                purpose: doc.terms.purpose.clone(),
                categories: doc
                    .terms
                    .categories
                    .iter()
                    .map(|c| c.as_str().to_owned())
                    .collect(),
                max_subjects: doc.terms.max_subjects_per_year,
                obligations: obligations
                    .iter()
                    .map(|o| obligation_view(engine, ctx, o))
                    .collect(),
                basis,
            })
        })
        .collect()
}

/// `GET /portal/supervision/approvals`: agreements waiting for this authority's approval (a
/// security assessment, a filed standard contract, a permit: what the rule packs' obligations
/// ask), each with the obligations and their citations and a form to sign the approval.
pub async fn approvals(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let records = agreements_of_state(&node, &ctx).await?;
    let rows = waiting(&node, &ctx, &records);
    let done = done_message(&ctx, q.done.as_deref());
    Ok(html(&ApprovalsPage {
        rows,
        bases: silkgate_node::agreements::APPROVAL_BASES.to_vec(),
        request_id: auth::random_token(),
        done,
        ctx,
    }))
}

/// `GET /portal/supervision/approvals.csv`: the same queue as CSV.
pub async fn approvals_csv(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let records = agreements_of_state(&node, &ctx).await?;
    let mut out = charts::csv_line(&[
        "agreement_id",
        "provider",
        "consumer",
        "template",
        "purpose",
        "categories",
        "max_subjects_per_year",
        "obligations",
        "citations",
    ]);
    for l in waiting(&node, &ctx, &records) {
        let obligations: Vec<&str> = l.obligations.iter().map(|o| o.id.as_str()).collect();
        let citations = citation_texts(&l.obligations);
        out.push_str(&charts::csv_line(&[
            &l.agreement.id,
            &l.agreement.provider,
            &l.agreement.consumer,
            &l.agreement.template,
            &l.purpose,
            &l.categories.join(" "),
            &l.max_subjects.to_string(),
            &obligations.join(" "),
            &citations.join("; "),
        ]));
    }
    Ok(csv("approvals.csv", out))
}

/// The form signing an approval.
#[derive(Debug, Deserialize)]
pub struct ApprovalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    basis: String,
}

/// `POST /portal/supervision/approvals/{id}`: the authority signs its approval of the
/// agreement's exact text with the basis chosen, through the node's approval path; with every
/// approval present the agreement comes into force on both nodes.
pub async fn approve(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ApprovalForm>,
) -> Result<Response, Fail> {
    let user = ctx.require_form(AUTHORITY, &form.csrf)?;
    let req = AgreementActionRequest {
        request_id: request_id_for(&form_request_id(&form.request_id), &format!("{id}/approve")),
        reason: Some(form.basis.trim().to_owned()),
    };
    approve_agreement(&node, &actor(user), &id, &req)
        .await
        .map_err(|e| api_fail(&ctx, e))?;
    Ok(Redirect::to("/portal/supervision/approvals?done=approved").into_response())
}

// ---------------------------------------------------------------- log explorer: inclusion proofs

/// An entry's inclusion proof against the node's current checkpoint, as the log explorer
/// shows it, and whether it verified.
#[derive(Debug, Clone)]
pub struct InclusionView {
    /// The entry's index.
    pub index: u64,
    /// Size of the checkpoint the proof is against.
    pub size: u64,
    /// The checkpoint's root hash, hex.
    pub root: String,
    /// The entry's leaf hash (RFC 6962: SHA-256 of 0x00 and the entry), hex.
    pub leaf: String,
    /// The audit path from the leaf's sibling up, hex.
    pub path: Vec<String>,
    /// `None` when `silkgate_log` verified the checkpoint's signature by this node's log key
    /// and the proof from the leaf to its root; otherwise why not.
    pub failure: Option<String>,
}

/// The inclusion proof of entry `index` against the node's latest checkpoint, checked with
/// `silkgate_log` the way an outside verifier checks a receipt (signature of the log's key,
/// then the audit path up to the root). `Ok(None)` when no checkpoint covers the entry yet.
///
/// # Errors
/// The store's or the tree's failure, as text (a fault of the node, not of the request).
pub async fn inclusion(node: &NodeState, index: u64) -> Result<Option<InclusionView>, String> {
    let log = node.log();
    let trust = silkgate_log::LogTrust {
        origin: log.origin().to_owned(),
        log_keys: vec![log.verifier()],
        witness_keys: Vec::new(),
        quorum: 0,
    };
    let note = log.checkpoint_bytes();
    let checkpoint =
        silkgate_log::VerifiedCheckpoint::open(&note, &trust).map_err(|e| e.to_string())?;
    let size = checkpoint.checkpoint().size();
    if index >= size {
        return Ok(None);
    }
    let store = node.store();
    let proof = silkgate_node::log_service::inclusion_proof(store, index, size)
        .await
        .map_err(|e| e.to_string())?;
    let entry = store
        .log_entries(index..index + 1)
        .await
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or_else(|| format!("entry {index} is not stored"))?;
    let receipt = silkgate_log::Receipt {
        entry,
        index,
        proof,
        checkpoint: note,
    };
    let failure = receipt.verify(&trust).err().map(|e| e.to_string());
    Ok(Some(InclusionView {
        index,
        size,
        root: checkpoint.checkpoint().root().to_hex(),
        leaf: silkgate_log::leaf_hash(&receipt.entry).to_hex(),
        path: receipt.proof.iter().map(|h| h.to_hex()).collect(),
        failure,
    }))
}

// ---------------------------------------------------------------- outstanding obligations

/// A flow touching the state whose decision left obligations of the law unmet.
#[derive(Debug, Clone)]
pub struct OutstandingLine {
    /// Transfer id.
    pub id: String,
    /// When requested.
    pub requested_at: i64,
    /// `outbound`, `inbound` or `domestic`.
    pub direction: &'static str,
    /// Partner state code.
    pub partner: String,
    /// Provider organisation.
    pub provider: String,
    /// Status word.
    pub status: &'static str,
    /// The unmet obligations, with their text and citations.
    pub obligations: Vec<ObligationView>,
}

/// Most flows the page lists (the CSV has them all).
const OUTSTANDING_PAGE: usize = 200;

/// The flows touching the state, requested in the period of `q`, that are not denied and
/// whose decision (held by this node as the provider's) names obligations of the rule packs
/// not met yet, newest first. Reads the flows by key, 1,000 at a time.
async fn outstanding(
    node: &NodeState,
    ctx: &Ctx,
    filter: &silkgate_store::FlowFilter,
    max: usize,
) -> Result<Vec<OutstandingLine>, Fail> {
    let engine = node.policy();
    let mut out = Vec::new();
    let mut after: Option<(i64, String)> = None;
    loop {
        let records = node
            .store()
            .flows_after(
                ctx.state,
                filter,
                after.as_ref().map(|(at, id)| (*at, id.as_str())),
                1000,
            )
            .await
            .map_err(|e| ctx.internal(e))?;
        for r in &records {
            let t = &r.transfer;
            if t.status == silkgate_model::TransferStatus::Denied {
                continue;
            }
            let Some(decision) = r
                .report
                .as_ref()
                .and_then(|rep| rep.get("decision"))
                .and_then(|d| {
                    serde_json::from_value::<silkgate_node::pipeline::TransferDecision>(d.clone())
                        .ok()
                })
            else {
                continue;
            };
            let unmet = decision.unmet_legal_obligations();
            if unmet.is_empty() {
                continue;
            }
            let me = ctx.state;
            let (direction, partner) = match (t.provider_state() == me, t.consumer_state() == me) {
                (true, true) => ("domestic", me),
                (true, false) => ("outbound", t.consumer_state()),
                _ => ("inbound", t.provider_state()),
            };
            out.push(OutstandingLine {
                id: t.id.clone(),
                requested_at: t.requested_at,
                direction,
                partner: partner.to_string(),
                provider: t.provider.to_string(),
                status: t.status.as_str(),
                obligations: decision
                    .decision
                    .obligations
                    .iter()
                    .filter(|o| unmet.contains(&o.id.as_str()))
                    .map(|o| obligation_view(engine, ctx, o))
                    .collect(),
            });
            if out.len() >= max {
                return Ok(out);
            }
        }
        match records.last() {
            Some(last) if records.len() == 1000 => {
                after = Some((last.transfer.requested_at, last.transfer.id.clone()));
            }
            _ => return Ok(out),
        }
    }
}

#[derive(Template)]
#[template(path = "supervise_obligations.html")]
struct ObligationsPage {
    ctx: Ctx,
    rows: Vec<OutstandingLine>,
    more: bool,
}

/// Query of the obligations page: the period, in days (default a year).
#[derive(Debug, Deserialize)]
pub struct DaysQuery {
    days: Option<i64>,
}

fn period(ctx: &Ctx, q: &DaysQuery) -> Result<silkgate_store::FlowFilter, Fail> {
    let days = q.days.unwrap_or(365);
    if !(1..=3660).contains(&days) {
        return Err(ctx.bad("days", "between 1 and 3660"));
    }
    let now = ctx.now;
    Ok(silkgate_store::FlowFilter {
        since: Some((now - days * 86_400).div_euclid(86_400) * 86_400),
        ..Default::default()
    })
}

/// `GET /portal/supervision/obligations`: flows touching the state whose decision left
/// obligations of the law unmet (a contract to file, an assessment to pass, consent to
/// obtain), with the obligations' citations, newest first.
pub async fn obligations(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<DaysQuery>,
) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let filter = period(&ctx, &q)?;
    let mut rows = outstanding(&node, &ctx, &filter, OUTSTANDING_PAGE + 1).await?;
    let more = rows.len() > OUTSTANDING_PAGE;
    rows.truncate(OUTSTANDING_PAGE);
    Ok(html(&ObligationsPage { ctx, rows, more }))
}

/// `GET /portal/supervision/obligations.csv`: the same view as CSV, every flow.
pub async fn obligations_csv(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<DaysQuery>,
) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let filter = period(&ctx, &q)?;
    let mut out = charts::csv_line(&[
        "transfer_id",
        "requested_at",
        "direction",
        "partner_state",
        "provider",
        "status",
        "unmet_obligations",
        "citations",
    ]);
    for l in outstanding(&node, &ctx, &filter, usize::MAX).await? {
        let ids: Vec<&str> = l.obligations.iter().map(|o| o.id.as_str()).collect();
        out.push_str(&charts::csv_line(&[
            &l.id,
            &l.requested_at.to_string(),
            l.direction,
            &l.partner,
            &l.provider,
            l.status,
            &ids.join(" "),
            &citation_texts(&l.obligations).join("; "),
        ]));
    }
    Ok(csv("obligations.csv", out))
}

/// Each citation of `obligations` as one line of text: the original name, the English name in
/// brackets, the article, and the UNVERIFIED mark where it applies.
fn citation_texts(obligations: &[ObligationView]) -> Vec<String> {
    obligations
        .iter()
        .flat_map(|o| o.citations.iter())
        .map(|c| {
            format!(
                "{}{} {}{}",
                c.original,
                c.english
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                c.article,
                if c.verified { "" } else { " [UNVERIFIED]" }
            )
        })
        .collect()
}

// ---------------------------------------------------------------- threshold crossings

/// An exporter of the state near or over a volume threshold of the year.
#[derive(Debug, Clone)]
pub struct ThresholdLine {
    /// Organisation id.
    pub org: String,
    /// Its name.
    pub name: String,
    /// Data subjects exported so far this year.
    pub subjects: u64,
    /// Of those, with sensitive data.
    pub sensitive_subjects: u64,
    /// `over` (the year's count already raises these obligations) or `near` (a quarter more
    /// would).
    pub state: &'static str,
    /// The obligations the threshold brings, with their citations.
    pub obligations: Vec<ObligationView>,
}

/// How much more than this year's count "near" looks ahead: a quarter more.
const NEAR_FACTOR: (u64, u64) = (5, 4);

/// The obligations the rule packs raise when `exporter` sends one more person's data abroad
/// (sensitive data when `sensitive`), having exported `ytd` so far this year. The thresholds
/// live in the packs' Cedar policies; asking the engine is how the portal reads them, so no
/// figure of any law is written here.
fn probe(
    engine: &silkgate_policy::PolicyEngine,
    exporter: &silkgate_model::Organisation,
    to: silkgate_model::StateCode,
    sensitive: bool,
    ytd: (u64, u64),
    today: silkgate_model::Date,
) -> Vec<silkgate_policy::Obligation> {
    use silkgate_model::DataCategory;
    use silkgate_policy::{
        DataFacts, Exporter, Facts, Grounds, Recipient, RecipientKind, YearToDate,
    };
    let categories = if sensitive {
        vec![DataCategory::Personal, DataCategory::Sensitive]
    } else {
        vec![DataCategory::Personal]
    };
    let facts = Facts {
        from: exporter.id.state(),
        to,
        exporter: Exporter {
            state: Some(exporter.id.state()),
            ciio: false,
            sector: exporter.sector,
        },
        recipient: Recipient {
            state: Some(to),
            kind: RecipientKind::Enterprise,
        },
        data: DataFacts {
            subjects: 1,
            sensitive_subjects: u64::from(sensitive),
            important_data: false,
            biometric: false,
            categories,
        },
        year_to_date: YearToDate {
            subjects: ytd.0,
            sensitive_subjects: ytd.1.min(ytd.0),
        },
        grounds: Grounds::default(),
        exemptions: Vec::new(),
    };
    engine
        .decide_for_day(&facts, today)
        .map(|d| d.obligations)
        .unwrap_or_default()
}

/// The exporters of the state with counts this year, each near or over a threshold: the
/// obligations one more person's data would raise at this year's count but not at none
/// (`over`), or at a quarter more but not at this count (`near`).
async fn thresholds_of(node: &NodeState, ctx: &Ctx) -> Result<Vec<ThresholdLine>, Fail> {
    let engine = node.policy();
    // Thresholds count exports to any other state; probe towards the first other state of the
    // federation.
    let Some(to) = node
        .trust_list()
        .document
        .nodes
        .iter()
        .map(|n| n.state)
        .find(|s| *s != ctx.state)
    else {
        return Ok(Vec::new());
    };
    let (year, _, _) = crate::i18n::civil_from_days(ctx.now.div_euclid(86_400));
    let year = i32::try_from(year).unwrap_or(i32::MAX);
    let today = silkgate_model::Date::from_unix_seconds(ctx.now);
    let mut out = Vec::new();
    for org in own_organisations(node, ctx).await? {
        let ytd = node
            .store()
            .year_to_date(&org.id, year)
            .await
            .map_err(|e| ctx.internal(e))?;
        if ytd == (0, 0) {
            continue;
        }
        let ids = |v: &[silkgate_policy::Obligation]| -> Vec<String> {
            v.iter().map(|o| o.id.clone()).collect()
        };
        // A quarter more of what the exporter did send; none stays none (one sensitive
        // record more is not "near" a threshold of sensitive data it never exported).
        let ahead = |n: u64| {
            if n == 0 {
                0
            } else {
                n.saturating_mul(NEAR_FACTOR.0) / NEAR_FACTOR.1 + 1
            }
        };
        let mut over = Vec::new();
        let mut near = Vec::new();
        for sensitive in [false, true] {
            let none = ids(&probe(engine, &org, to, sensitive, (0, 0), today));
            let now = probe(engine, &org, to, sensitive, ytd, today);
            let now_ids = ids(&now);
            let later = probe(
                engine,
                &org,
                to,
                sensitive,
                (ahead(ytd.0), ahead(ytd.1)),
                today,
            );
            for o in now {
                if !none.contains(&o.id)
                    && !over
                        .iter()
                        .any(|x: &silkgate_policy::Obligation| x.id == o.id)
                {
                    over.push(o);
                }
            }
            for o in later {
                if !now_ids.contains(&o.id)
                    && !near
                        .iter()
                        .any(|x: &silkgate_policy::Obligation| x.id == o.id)
                {
                    near.push(o);
                }
            }
        }
        for (state, list) in [("over", over), ("near", near)] {
            if !list.is_empty() {
                out.push(ThresholdLine {
                    org: org.id.to_string(),
                    name: org.name.clone(),
                    subjects: ytd.0,
                    sensitive_subjects: ytd.1,
                    state,
                    obligations: list
                        .iter()
                        .map(|o| obligation_view(engine, ctx, o))
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "supervise_thresholds.html")]
struct ThresholdsPage {
    ctx: Ctx,
    rows: Vec<ThresholdLine>,
}

/// `GET /portal/supervision/thresholds`: exporters of the state near or over a volume
/// threshold of the year, from the rule packs and the year-to-date counts.
pub async fn thresholds(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let rows = thresholds_of(&node, &ctx).await?;
    Ok(html(&ThresholdsPage { ctx, rows }))
}

/// `GET /portal/supervision/thresholds.csv`: the same view as CSV.
pub async fn thresholds_csv(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let mut out = charts::csv_line(&[
        "organisation",
        "name",
        "subjects_this_year",
        "sensitive_subjects_this_year",
        "threshold",
        "obligations",
        "citations",
    ]);
    for l in thresholds_of(&node, &ctx).await? {
        let ids: Vec<&str> = l.obligations.iter().map(|o| o.id.as_str()).collect();
        out.push_str(&charts::csv_line(&[
            &l.org,
            &l.name,
            &l.subjects.to_string(),
            &l.sensitive_subjects.to_string(),
            l.state,
            &ids.join(" "),
            &citation_texts(&l.obligations).join("; "),
        ]));
    }
    Ok(csv("thresholds.csv", out))
}

// ---------------------------------------------------------------- flows by data category

#[derive(Template)]
#[template(path = "supervise_categories.html")]
struct CategoriesPage {
    ctx: Ctx,
    days: i64,
    rows: Vec<crate::pages::SummaryRow>,
    chart: String,
}

/// The flows' counts by data category and outcome over the period of `q`, labelled in the
/// page's language (a category the catalogue does not know shows as its stable word).
async fn category_rows(
    node: &NodeState,
    ctx: &Ctx,
    q: &DaysQuery,
) -> Result<Vec<(String, crate::pages::SummaryRow)>, Fail> {
    let filter = period(ctx, q)?;
    let counts = node
        .store()
        .flow_categories(ctx.state, &filter)
        .await
        .map_err(|e| ctx.internal(e))?;
    let mut by: std::collections::BTreeMap<String, [i64; 3]> = Default::default();
    for (category, status, count) in counts {
        by.entry(category).or_default()[crate::pages::outcome(&status)] += count;
    }
    Ok(by
        .into_iter()
        .map(|(category, counts)| {
            let key = format!("category-{category}");
            let label = if ctx.tr.has(&key) {
                ctx.t(&key)
            } else {
                category.clone()
            };
            (category, crate::pages::SummaryRow { label, counts })
        })
        .collect())
}

/// `GET /portal/supervision/categories`: the flows touching the state by data category (as
/// their decisions name them) and outcome, drawn on the server. A page of its own: it reads
/// every decision of the period.
pub async fn categories(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<DaysQuery>,
) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let rows: Vec<crate::pages::SummaryRow> = category_rows(&node, &ctx, &q)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let chart = charts::hbar(
        &ctx.t("supervise-categories-chart"),
        &crate::pages::outcome_series(&ctx),
        &rows
            .iter()
            .map(|r| (r.label.clone(), r.counts.to_vec()))
            .collect::<Vec<_>>(),
    );
    Ok(html(&CategoriesPage {
        days: q.days.unwrap_or(365),
        ctx,
        rows,
        chart,
    }))
}

/// `GET /portal/supervision/categories.csv`: the same counts as CSV.
pub async fn categories_csv(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<DaysQuery>,
) -> Result<Response, Fail> {
    ctx.require(AUTHORITY)?;
    let mut out = charts::csv_line(&["category", "allowed", "denied", "in_progress", "total"]);
    for (category, r) in category_rows(&node, &ctx, &q).await? {
        out.push_str(&charts::csv_line(&[
            &category,
            &r.counts[0].to_string(),
            &r.counts[1].to_string(),
            &r.counts[2].to_string(),
            &r.total().to_string(),
        ]));
    }
    Ok(csv("categories.csv", out))
}
