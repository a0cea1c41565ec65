//! The organisation's actions: agreements (propose from a template, review in the page's
//! language, counter, accept and sign), publishing a dataset with its content review,
//! deciding on requests as provider, and the notifications of what needs attention.
//!
//! Every action calls the node's own function behind the API (`agreements::propose_as`,
//! `counter_as`, `accept_as`, `api::publish_as`, `api::decide_as`) for the signed-in person's
//! organisation, so the portal and the API share one path. Administrators act; members see.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use silkgate_model::agreement::{AgreementStatus, Party, TERM_NAMES, Template as AgTemplate};
use silkgate_model::{DataCategory, OrgId, Organisation, Sector, TransferStatus, Visibility};
use silkgate_node::agreements::{
    self, AgreementActionRequest, AgreementView, CounterAgreementRequest, ProposeAgreementRequest,
};
use silkgate_node::api_types::{ColumnView, DecisionRequest, PublishMetadata};
use silkgate_node::error::ApiError;
use silkgate_node::{Caller, NodeState, api};
use silkgate_store::{AgreementRecord, PortalRole, TransferRole};

use crate::auth;
use crate::i18n::Lang;
use crate::pages::{ReportLine, Step, html, report_lines};
use crate::web::{Ctx, Fail, FailKind};

const ORG: &[PortalRole] = &[PortalRole::OrgMember, PortalRole::OrgAdmin];
const ADMIN: &[PortalRole] = ADMIN_ROLES;

/// The roles that act for an organisation (members only see).
pub const ADMIN_ROLES: &[PortalRole] = &[PortalRole::OrgAdmin];
const AGREEMENT_READERS: &[PortalRole] = &[
    PortalRole::OrgMember,
    PortalRole::OrgAdmin,
    PortalRole::Regulator,
];

/// The organisation of the person signed in, if they have one of `roles`.
fn org_id(ctx: &Ctx, roles: &[PortalRole]) -> Result<OrgId, Fail> {
    ctx.require(roles)?
        .account
        .org_id
        .clone()
        .ok_or_else(|| ctx.forbidden())
}

/// The organisation record the node's functions act for.
async fn organisation(node: &NodeState, ctx: &Ctx, id: &OrgId) -> Result<Organisation, Fail> {
    node.store()
        .organisation(id)
        .await
        .map_err(|e| ctx.internal(e))?
        .ok_or_else(|| ctx.forbidden())
}

/// A refusal of the node's function as a page: the field and the reason for what the person
/// can correct, 403/404 as they are, an unreachable peer as a 502-like internal page.
fn api_fail(ctx: &Ctx, e: ApiError) -> Fail {
    match e {
        ApiError::BadRequest { field, reason }
        | ApiError::Conflict { field, reason }
        | ApiError::TooLarge { field, reason }
        | ApiError::Unprocessable { field, reason } => ctx.bad(&field, reason),
        ApiError::NotFound(_) => ctx.not_found(),
        ApiError::Forbidden(_) | ApiError::Unauthorized(_) => ctx.forbidden(),
        ApiError::Peer { peer, reason } => ctx.bad("counterparty", format!("{peer}: {reason}")),
        other => ctx.internal(other),
    }
}

// ---------------------------------------------------------------- terms as form fields

/// How a term is edited in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// A list, one item per comma or line.
    List,
    /// A whole number.
    Number,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// A structured term, edited as JSON.
    Json,
}

/// One field of the terms form, with its value and the reason it was refused, if it was.
#[derive(Debug, Clone)]
pub struct TermField {
    /// Form field name (`t_<term>`).
    pub name: String,
    /// The term (or `validity.not_before` / `validity.not_after`).
    pub term: String,
    /// How it is edited.
    pub kind: FieldKind,
    /// Its value as text.
    pub value: String,
    /// Why it was refused.
    pub error: Option<String>,
}

impl TermField {
    /// Whether it is edited in a multi-line box.
    pub fn is_area(&self) -> bool {
        matches!(self.kind, FieldKind::Json | FieldKind::List)
    }

    /// The `type` of its input.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            _ => "text",
        }
    }

    /// The catalogue key of its label.
    pub fn label_key(&self) -> String {
        format!("term-{}", self.term.replace(['.', '_'], "-"))
    }
}

fn kind_of(term: &str) -> FieldKind {
    match term {
        "purpose" => FieldKind::Text,
        "categories" | "columns" => FieldKind::List,
        "max_subjects_per_year" | "retention_days" => FieldKind::Number,
        _ => FieldKind::Json,
    }
}

/// The form fields of `terms` (a JSON object of terms).
pub fn term_fields(terms: &Value) -> Vec<TermField> {
    let mut out = Vec::new();
    for term in TERM_NAMES {
        let v = terms.get(term).cloned().unwrap_or(Value::Null);
        if term == "validity" {
            for part in ["not_before", "not_after"] {
                out.push(TermField {
                    name: format!("t_validity_{part}"),
                    term: format!("validity.{part}"),
                    kind: FieldKind::Date,
                    value: v
                        .get(part)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    error: None,
                });
            }
            continue;
        }
        let kind = kind_of(term);
        let value = match (kind, &v) {
            (FieldKind::Text, Value::String(s)) => s.clone(),
            (FieldKind::List, Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join(", "),
            (FieldKind::Number, Value::Number(n)) => n.to_string(),
            (_, Value::Null) => String::new(),
            (_, other) => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        out.push(TermField {
            name: format!("t_{term}"),
            term: term.to_owned(),
            kind,
            value,
            error: None,
        });
    }
    out
}

/// Reads the terms from the submitted form: each field parsed by its kind, then the terms
/// checked whole by the model. Returns the fields as submitted, with the reason beside each
/// field refused, and the terms if none was.
pub fn terms_from_form(form: &BTreeMap<String, String>) -> (Vec<TermField>, Option<Value>) {
    let mut fields = term_fields(&Value::Null);
    let mut map = Map::new();
    let mut validity = Map::new();
    for f in &mut fields {
        f.value = form.get(&f.name).cloned().unwrap_or_default();
        let text = f.value.trim();
        let parsed: Result<Value, String> = match f.kind {
            FieldKind::Text | FieldKind::Date => Ok(Value::String(text.to_owned())),
            FieldKind::List => Ok(Value::Array(
                text.split([',', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            )),
            FieldKind::Number => text
                .parse::<u64>()
                .map(Value::from)
                .map_err(|_| "expected a whole number".to_owned()),
            FieldKind::Json => {
                serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
            }
        };
        match parsed {
            Ok(v) => {
                if let Some(part) = f.term.strip_prefix("validity.") {
                    validity.insert(part.to_owned(), v);
                } else {
                    map.insert(f.term.clone(), v);
                }
            }
            Err(reason) => f.error = Some(reason),
        }
    }
    map.insert("validity".into(), Value::Object(validity));
    if fields.iter().any(|f| f.error.is_some()) {
        return (fields, None);
    }
    let value = Value::Object(map);
    let checked = silkgate_model::agreement::Terms::from_value(&value).and_then(|t| t.validate());
    match checked {
        Ok(()) => (fields, Some(value)),
        Err(e) => {
            attach_error(&mut fields, &term_of_error(&e), e.to_string());
            (fields, None)
        }
    }
}

fn term_of_error(e: &silkgate_model::agreement::TermError) -> String {
    use silkgate_model::agreement::TermError as E;
    match e {
        E::Invalid { term, .. }
        | E::WrongType { term, .. }
        | E::Missing { term }
        | E::Unknown { term } => term.clone(),
        _ => String::new(),
    }
}

/// Puts `reason` beside the field of `term` (a path such as `marking.columns[0].column` or
/// `validity.not_after`); a term no field shows goes to the first field.
fn attach_error(fields: &mut [TermField], term: &str, reason: String) {
    let best = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            term == f.term
                || term.starts_with(&format!("{}.", f.term))
                || term.starts_with(&format!("{}[", f.term))
                || (f.term.starts_with("validity.") && term == "validity")
        })
        .max_by_key(|(_, f)| f.term.len())
        .map(|(i, _)| i)
        .unwrap_or(0);
    if let Some(f) = fields.get_mut(best) {
        f.error = Some(reason);
    }
}

/// A term's value as readable text: lists joined with commas, objects as `key: value` pairs.
fn human(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(human).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", human(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// A refused field, as the summary at the top of a form lists it (linking to the field).
#[derive(Debug, Clone)]
pub struct ErrorLink {
    /// The field's element id.
    pub anchor: String,
    /// Its label in the page's language.
    pub label: String,
    /// Why it was refused.
    pub message: String,
}

/// The summary of a form's refused fields: the terms' fields, then the others by name.
fn summary_of(
    ctx: &Ctx,
    fields: &[TermField],
    others: &BTreeMap<String, String>,
) -> Vec<ErrorLink> {
    let mut out: Vec<ErrorLink> = others
        .iter()
        .map(|(k, v)| {
            let key = match k.as_str() {
                "counterparty" => "propose-counterparty",
                "role" => "propose-role",
                "dataset_id" => "publish-dataset-id",
                "title" => "publish-dataset-title",
                "description" => "publish-description",
                "sector" => "col-sector",
                "format" => "publish-format",
                "states" => "publish-states",
                "visibility" => "publish-visibility",
                "file" => "publish-file",
                _ => "",
            };
            ErrorLink {
                anchor: k.clone(),
                label: if key.is_empty() {
                    k.clone()
                } else {
                    ctx.t(key)
                },
                message: v.clone(),
            }
        })
        .collect();
    out.extend(fields.iter().filter_map(|f| {
        f.error.as_ref().map(|e| ErrorLink {
            anchor: f.name.clone(),
            label: ctx.t(&f.label_key()),
            message: e.clone(),
        })
    }));
    out
}

/// Fills a clause's `{term}` placeholders from the terms.
fn fill(text: &str, terms: &Value) -> String {
    let mut out = text.to_owned();
    if let Value::Object(map) = terms {
        for (k, v) in map {
            out = out.replace(&format!("{{{k}}}"), &human(v));
        }
    }
    out
}

fn localized(l: &silkgate_model::agreement::Localized, lang: Lang) -> String {
    match lang {
        Lang::En => l.en.clone(),
        Lang::Ru => l.ru.clone(),
        Lang::Zh => l.zh.clone(),
    }
}

/// A template offered in the proposal form.
#[derive(Debug, Clone)]
pub struct TemplateChoice {
    /// `id:version`.
    pub key: String,
    /// Its title in the page's language.
    pub title: String,
}

fn template_choices(lang: Lang) -> Vec<TemplateChoice> {
    agreements::templates()
        .values()
        .map(|t| TemplateChoice {
            key: format!("{}:{}", t.id, t.version),
            title: format!("{} (v{})", localized(&t.title, lang), t.version),
        })
        .collect()
}

fn find_template(ctx: &Ctx, key: &str) -> Result<&'static AgTemplate, Fail> {
    let (id, version) = key
        .split_once(':')
        .ok_or_else(|| ctx.bad("template", "expected 'id:version'"))?;
    let version: u32 = version
        .parse()
        .map_err(|_| ctx.bad("template", "the version is a whole number"))?;
    agreements::templates()
        .get(&(id.to_owned(), version))
        .ok_or_else(|| ctx.bad("template", format!("no template '{id}' version {version}")))
}

// ---------------------------------------------------------------- propose

#[derive(Template)]
#[template(path = "agreement_new.html")]
struct ProposePage {
    ctx: Ctx,
    templates: Vec<TemplateChoice>,
    template: String,
    template_title: String,
    request_id: String,
    counterparty: String,
    counterparties: Vec<(String, String)>,
    role: String,
    fields: Vec<TermField>,
    errors: BTreeMap<String, String>,
    summary: Vec<ErrorLink>,
}

/// Query of the proposal form: the template chosen.
#[derive(Debug, Deserialize)]
pub struct ProposeQuery {
    template: Option<String>,
}

/// Organisations of other states that publish in the federation's catalogue: the
/// counterparties the form suggests (any organisation id may be typed).
async fn counterparties(node: &NodeState, ctx: &Ctx, me: &OrgId) -> Vec<(String, String)> {
    let page =
        silkgate_node::federation::federated_search(node, me.state(), None, None, None, 100, None)
            .await;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    if let Ok(page) = page {
        for d in page.items {
            if d.state != ctx.state.as_str() && seen.insert(d.provider.clone()) {
                out.push((d.provider.clone(), ctx.state_name(&d.state)));
            }
        }
    }
    out
}

/// `GET /portal/agreements/new`: the proposal form, the template's default terms filled in.
pub async fn propose_form(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<ProposeQuery>,
) -> Result<Response, Fail> {
    let me = org_id(&ctx, ADMIN)?;
    let key = q.template.unwrap_or_else(|| "general:1".into());
    let t = find_template(&ctx, &key)?;
    let terms =
        serde_json::to_value(t.default_terms(node.clock().today())).map_err(|e| ctx.internal(e))?;
    let page = ProposePage {
        templates: template_choices(ctx.lang),
        template_title: localized(&t.title, ctx.lang),
        template: key,
        request_id: auth::random_token(),
        counterparty: String::new(),
        counterparties: counterparties(&node, &ctx, &me).await,
        role: "provider".into(),
        fields: term_fields(&terms),
        errors: BTreeMap::new(),
        summary: Vec::new(),
        ctx,
    };
    Ok(html(&page))
}

/// A form read as name -> value (the last value of a repeated name wins).
type FormMap = BTreeMap<String, String>;

/// Where every administrator's action starts: the person must be an administrator of an
/// organisation and the form must carry the session's CSRF token. Returns the organisation
/// and the form's fields.
fn admin_form(ctx: &Ctx, pairs: Vec<(String, String)>) -> Result<(OrgId, FormMap), Fail> {
    let form: FormMap = pairs.into_iter().collect();
    let me = org_id(ctx, ADMIN)?;
    ctx.require_form(ADMIN, form.get("csrf").map_or("", String::as_str))?;
    Ok((me, form))
}

/// `POST /portal/agreements/new`: proposes the agreement through the node's own path; a
/// refused field is shown beside it, with everything typed kept.
pub async fn propose(
    State(node): State<NodeState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    let (me, form) = admin_form(&ctx, pairs)?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let key = get("template");
    let t = find_template(&ctx, &key)?;
    let (mut fields, terms) = terms_from_form(&form);
    let mut errors = BTreeMap::new();
    let counterparty = get("counterparty").trim().to_owned();
    match counterparty.parse::<OrgId>() {
        Ok(o) if o.state() == me.state() => {
            errors.insert("counterparty".to_owned(), ctx.t("propose-error-same-state"));
        }
        Ok(_) => {}
        Err(e) => {
            errors.insert("counterparty".to_owned(), e.to_string());
        }
    }
    let role = get("role");
    if role != "provider" && role != "consumer" {
        errors.insert("role".to_owned(), "expected provider or consumer".into());
    }
    let request_id = get("request_id");
    if let (Some(terms), true) = (terms, errors.is_empty()) {
        let org = organisation(&node, &ctx, &me).await?;
        let req = ProposeAgreementRequest {
            request_id: request_id.clone(),
            template_id: t.id.clone(),
            template_version: t.version,
            counterparty: counterparty.clone(),
            role: role.clone(),
            terms: Some(terms),
        };
        match agreements::propose_as(&node, &Caller::Org(org), req).await {
            Ok(view) => {
                return Ok(Redirect::to(&format!("/portal/agreements/{}", view.id)).into_response());
            }
            Err(e) => match api_fail(&ctx, e) {
                Fail {
                    kind: FailKind::Bad { field, reason },
                    ..
                } => {
                    if field.starts_with("terms") || TERM_NAMES.iter().any(|t| field.starts_with(t))
                    {
                        attach_error(&mut fields, field.trim_start_matches("terms."), reason);
                    } else {
                        errors.insert(field, reason);
                    }
                }
                other => return Err(other),
            },
        }
    }
    let page = ProposePage {
        templates: template_choices(ctx.lang),
        template_title: localized(&t.title, ctx.lang),
        template: key,
        request_id,
        counterparty,
        counterparties: counterparties(&node, &ctx, &me).await,
        role,
        summary: summary_of(&ctx, &fields, &errors),
        fields,
        errors,
        ctx,
    };
    let mut resp = html(&page);
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    Ok(resp)
}

// ---------------------------------------------------------------- one agreement

/// A signature on the agreement, as shown.
#[derive(Debug, Clone)]
pub struct SignatureLine {
    /// Which party or authority (`provider_signature`, `consumer_signature`, `proposal`,
    /// `approval`).
    pub role: String,
    /// The signing key's id (a node id).
    pub signer: String,
    /// The signature's first characters.
    pub signature: String,
}

fn signatures(state: &Value) -> Vec<SignatureLine> {
    fn walk(role: &str, v: &Value, out: &mut Vec<SignatureLine>) {
        match v {
            Value::Object(map) => {
                if let (Some(Value::String(signer)), Some(Value::String(sig))) =
                    (map.get("signer"), map.get("signature"))
                {
                    out.push(SignatureLine {
                        role: role.to_owned(),
                        signer: signer.clone(),
                        signature: sig.chars().take(24).collect::<String>() + "…",
                    });
                }
                for (k, v) in map {
                    if k != "document" {
                        walk(if k == "approvals" { "approval" } else { k }, v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(role, i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("proposal", state, &mut out);
    out
}

/// A clause in the page's language.
#[derive(Debug, Clone)]
pub struct ClauseText {
    /// Heading.
    pub title: String,
    /// Text with the terms filled in.
    pub text: String,
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage {
    ctx: Ctx,
    view: AgreementView,
    status: &'static str,
    provider_state: String,
    consumer_state: String,
    title: String,
    clauses: Vec<ClauseText>,
    terms: Vec<ReportLine>,
    signatures: Vec<SignatureLine>,
    approvals: Vec<Vec<ReportLine>>,
    steps: Vec<Step>,
    my_turn: bool,
    counter_open: bool,
    waiting_other: bool,
    may_act: bool,
    fields: Vec<TermField>,
    summary: Vec<ErrorLink>,
    request_id: String,
    /// For the consumer's administrator under an active agreement: the provider's dataset
    /// versions it can ask for (`id@sha256`, title).
    offers: Vec<(String, String)>,
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

/// The agreement if the person may see it: a party's member or administrator, or a regulator
/// of a state one of the parties belongs to. Anyone else gets 404.
async fn readable(
    node: &NodeState,
    ctx: &Ctx,
    id: &str,
) -> Result<(AgreementRecord, Option<Party>), Fail> {
    let user = ctx.require(AGREEMENT_READERS)?;
    let rec = node
        .store()
        .agreement(id)
        .await
        .map_err(|e| ctx.internal(e))?
        .ok_or_else(|| ctx.not_found())?;
    match (&user.account.org_id, user.account.role) {
        (Some(org), r) if r.is_organisation() => {
            if *org == rec.provider {
                Ok((rec, Some(Party::Provider)))
            } else if *org == rec.consumer {
                Ok((rec, Some(Party::Consumer)))
            } else {
                Err(ctx.not_found())
            }
        }
        _ if rec.provider.state() == ctx.state || rec.consumer.state() == ctx.state => {
            Ok((rec, None))
        }
        _ => Err(ctx.not_found()),
    }
}

async fn agreement_page(
    node: &NodeState,
    ctx: Ctx,
    rec: AgreementRecord,
    party: Option<Party>,
    fields: Option<Vec<TermField>>,
    status: StatusCode,
) -> Result<Response, Fail> {
    let view = AgreementView::from(&rec.state);
    let doc = rec.state.document();
    let template = agreements::templates().get(&(doc.template.id.clone(), doc.template.version));
    let title = template
        .map(|t| localized(&t.title, ctx.lang))
        .unwrap_or_else(|| doc.template.id.clone());
    let clauses = template
        .map(|t| {
            t.clauses
                .iter()
                .map(|c| ClauseText {
                    title: localized(&c.title, ctx.lang),
                    text: fill(&localized(&c.text, ctx.lang), &view.terms),
                })
                .collect()
        })
        .unwrap_or_default();
    let events = node
        .store()
        .events_about(&rec.id)
        .await
        .map_err(|e| ctx.internal(e))?;
    let steps = events
        .into_iter()
        .map(|e| Step {
            seq: e.seq,
            at: e.at,
            detail: report_lines(&e.detail),
            kind: e.kind,
        })
        .collect();
    let proposed = matches!(rec.status, AgreementStatus::Proposed);
    let my_turn = proposed && party.is_some_and(|p| p != doc.proposed_by);
    let waiting_other = proposed && party.is_some_and(|p| p == doc.proposed_by);
    let may_act = my_turn && ctx.is(ADMIN);
    let offers =
        if rec.status == AgreementStatus::Active && party == Some(Party::Consumer) && ctx.is(ADMIN)
        {
            provider_offers(node, &rec.consumer, &rec.provider).await
        } else {
            Vec::new()
        };
    let page = AgreementPage {
        status: status_word(rec.status),
        provider_state: rec.provider.state().to_string(),
        consumer_state: rec.consumer.state().to_string(),
        title,
        clauses,
        terms: report_lines(&view.terms),
        signatures: signatures(&view.state),
        approvals: view.approvals.iter().map(report_lines).collect(),
        steps,
        my_turn,
        counter_open: fields
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f.error.is_some())),
        waiting_other,
        may_act,
        summary: fields
            .as_deref()
            .map(|f| summary_of(&ctx, f, &BTreeMap::new()))
            .unwrap_or_default(),
        fields: fields.unwrap_or_else(|| term_fields(&view.terms)),
        request_id: auth::random_token(),
        offers,
        view,
        ctx,
    };
    let mut resp = html(&page);
    *resp.status_mut() = status;
    Ok(resp)
}

/// The provider's dataset versions the consumer may see, from the federation's catalogue.
async fn provider_offers(
    node: &NodeState,
    consumer: &OrgId,
    provider: &OrgId,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut token = None;
    // A few pages at most: the form lists what a person can choose from.
    for _ in 0..5 {
        let Ok(page) = silkgate_node::federation::federated_search(
            node,
            consumer.state(),
            Some(provider.state()),
            None,
            None,
            100,
            token.clone(),
        )
        .await
        else {
            break;
        };
        out.extend(
            page.items
                .iter()
                .filter(|d| d.provider == provider.as_str())
                .map(|d| (format!("{}@{}", d.dataset_id, d.sha256), d.title.clone())),
        );
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    out
}

/// `POST /portal/agreements/{id}/transfers`: the consumer's administrator asks for one of the
/// provider's dataset versions under the agreement, through the node's own path; then the
/// transfer's timeline.
pub async fn request_under(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    let (me, form) = admin_form(&ctx, pairs)?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let chosen = get("dataset");
    let (dataset_id, sha256) = chosen
        .split_once('@')
        .ok_or_else(|| ctx.bad("dataset", "choose a dataset version"))?;
    let onward = get("onward_to").trim().to_owned();
    let request_id = get("request_id");
    let org = organisation(&node, &ctx, &me).await?;
    let req = silkgate_node::agreements::AgreementTransferRequest {
        request_id: request_id.clone(),
        dataset_id: dataset_id.to_owned(),
        sha256: sha256.to_owned(),
        onward_to: (!onward.is_empty()).then_some(onward),
        recipient_kind: None,
    };
    agreements::request_transfer_as(&node, &Caller::Org(org), &id, req)
        .await
        .map_err(|e| api_fail(&ctx, e))?;
    let transfer = api::transfer_id_for(&me, &request_id);
    Ok(Redirect::to(&format!("/portal/transfers/{transfer}")).into_response())
}

/// `GET /portal/agreements/{id}`: the agreement with its lifecycle, clauses in the page's
/// language, terms, both signatures, approvals and the log entry of each step; for the party
/// whose turn it is, the forms to accept or counter.
pub async fn agreement(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let (rec, party) = readable(&node, &ctx, &id).await?;
    agreement_page(&node, ctx, rec, party, None, StatusCode::OK).await
}

/// `POST /portal/agreements/{id}/accept`: the administrator signs the current revision.
pub async fn accept(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    let (me, form) = admin_form(&ctx, pairs)?;
    let org = organisation(&node, &ctx, &me).await?;
    let req = AgreementActionRequest {
        request_id: form.get("request_id").cloned().unwrap_or_default(),
        reason: None,
    };
    agreements::accept_as(&node, &Caller::Org(org), &id, req)
        .await
        .map_err(|e| api_fail(&ctx, e))?;
    Ok(Redirect::to(&format!("/portal/agreements/{id}")).into_response())
}

/// `POST /portal/agreements/{id}/counter`: the administrator proposes other terms; a refused
/// field is shown beside it.
pub async fn counter(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    let (me, form) = admin_form(&ctx, pairs)?;
    let (mut fields, terms) = terms_from_form(&form);
    if let Some(terms) = terms {
        let org = organisation(&node, &ctx, &me).await?;
        let req = CounterAgreementRequest {
            request_id: form.get("request_id").cloned().unwrap_or_default(),
            terms,
        };
        match agreements::counter_as(&node, &Caller::Org(org), &id, req).await {
            Ok(_) => return Ok(Redirect::to(&format!("/portal/agreements/{id}")).into_response()),
            Err(e) => match api_fail(&ctx, e) {
                Fail {
                    kind: FailKind::Bad { field, reason },
                    ..
                } if field.starts_with("terms")
                    || TERM_NAMES.iter().any(|t| field.starts_with(t)) =>
                {
                    attach_error(&mut fields, field.trim_start_matches("terms."), reason);
                }
                other => return Err(other),
            },
        }
    }
    let (rec, party) = readable(&node, &ctx, &id).await?;
    agreement_page(
        &node,
        ctx,
        rec,
        party,
        Some(fields),
        StatusCode::BAD_REQUEST,
    )
    .await
}

// ---------------------------------------------------------------- publish

#[derive(Template)]
#[template(path = "publish.html")]
struct PublishPage {
    ctx: Ctx,
    request_id: String,
    sectors: Vec<&'static str>,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    summary: Vec<ErrorLink>,
}

impl PublishPage {
    fn value(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }

    fn error(&self, k: &str) -> Option<&String> {
        self.errors.get(k)
    }
}

/// `GET /portal/datasets/new`: the upload form.
pub async fn publish_form(ctx: Ctx) -> Result<Response, Fail> {
    org_id(&ctx, ADMIN)?;
    let mut values = BTreeMap::new();
    values.insert("format".into(), "csv".into());
    values.insert("visibility".into(), "federation".into());
    Ok(html(&PublishPage {
        request_id: auth::random_token(),
        sectors: Sector::ALL.iter().map(|s| s.as_str()).collect(),
        values,
        errors: BTreeMap::new(),
        summary: Vec::new(),
        ctx,
    }))
}

/// The columns of a payload's first line: a CSV header, or the keys of the first JSON object.
fn columns_of(format: &str, first_line: &str) -> Result<Vec<ColumnView>, String> {
    let names: Vec<String> = if format == "json-lines" {
        let v: Value = serde_json::from_str(first_line.trim())
            .map_err(|e| format!("the first line is not a JSON object: {e}"))?;
        v.as_object()
            .ok_or("the first line is not a JSON object")?
            .keys()
            .cloned()
            .collect()
    } else {
        first_line
            .trim_end_matches(['\r', '\n'])
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect()
    };
    if names.iter().all(|n| n.is_empty()) {
        return Err("the file has no header line".into());
    }
    Ok(names
        .into_iter()
        .map(|name| ColumnView {
            name,
            ty: "string".into(),
        })
        .collect())
}

/// Most bytes read ahead to find the first line of an upload.
const FIRST_LINE_MAX: usize = 64 * 1024;

/// `POST /portal/datasets/new` (multipart; the file comes last): checks the token, reads the
/// columns from the file's first line, and publishes through the node's own path, streaming
/// the file to storage. On success, the dataset's content review.
pub async fn publish(
    State(node): State<NodeState>,
    ctx: Ctx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Fail> {
    let me = org_id(&ctx, ADMIN)?;
    let mut multipart = multipart.map_err(|e| ctx.bad("form", e.body_text()))?;
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let mut published = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ctx.bad("form", e.to_string()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            let text = field
                .text()
                .await
                .map_err(|e| ctx.bad(&name, e.to_string()))?;
            values.insert(name, text);
            continue;
        }
        // Every other field came before the file: check the token before reading it.
        ctx.require_form(ADMIN, values.get("csrf").map_or("", String::as_str))?;
        let get = |k: &str| values.get(k).cloned().unwrap_or_default();
        let visibility = match get("visibility").as_str() {
            "national" => Visibility::National,
            "federation" => Visibility::Federation,
            "states" => {
                let mut states = Vec::new();
                for s in get("states").split([',', ' ']).filter(|s| !s.is_empty()) {
                    match s.trim().parse() {
                        Ok(code) => states.push(code),
                        Err(e) => {
                            errors.insert("states".into(), format!("{s}: {e}"));
                        }
                    }
                }
                Visibility::States { states }
            }
            _ => {
                errors.insert(
                    "visibility".into(),
                    "one of national, states, federation".into(),
                );
                Visibility::National
            }
        };
        // Read ahead to the end of the first line, for the columns.
        let mut head: Vec<Bytes> = Vec::new();
        let mut seen = 0usize;
        while seen < FIRST_LINE_MAX && !head.iter().any(|c| c.contains(&b'\n')) {
            match field.chunk().await {
                Ok(Some(c)) => {
                    seen += c.len();
                    head.push(c);
                }
                Ok(None) => break,
                Err(e) => return Err(ctx.bad("file", e.to_string())),
            }
        }
        let joined: Vec<u8> = head.iter().flat_map(|c| c.iter().copied()).collect();
        if joined.is_empty() {
            errors.insert("file".into(), ctx.t("publish-error-empty"));
        }
        let first = String::from_utf8_lossy(&joined);
        let first = first.split('\n').next().unwrap_or_default();
        let format = get("format");
        let schema = match columns_of(&format, first) {
            Ok(s) => s,
            Err(e) => {
                errors.insert("file".into(), e);
                Vec::new()
            }
        };
        if !errors.is_empty() {
            break;
        }
        let meta = PublishMetadata {
            request_id: get("request_id"),
            dataset_id: get("dataset_id").trim().to_owned(),
            title: get("title").trim().to_owned(),
            description: get("description").trim().to_owned(),
            sector: get("sector"),
            format,
            schema,
            visibility,
        };
        let org = organisation(&node, &ctx, &me).await?;
        let rest = futures::stream::iter(head.into_iter().map(Ok)).chain(field);
        match api::publish_as(&node, &org, meta, Box::pin(rest)).await {
            Ok(view) => published = Some(view),
            Err(e) => match api_fail(&ctx, e) {
                Fail {
                    kind: FailKind::Bad { field, reason },
                    ..
                } => {
                    let field = match field.as_str() {
                        "payload" | "schema" => "file".to_owned(),
                        f if f.starts_with("schema") => "file".to_owned(),
                        f if f.starts_with("visibility") => "states".to_owned(),
                        f => f.to_owned(),
                    };
                    errors.insert(field, reason);
                }
                other => return Err(other),
            },
        }
        break;
    }
    if let Some(view) = published {
        return Ok(Redirect::to(&format!(
            "/portal/datasets/{}/{}",
            view.dataset_id, view.sha256
        ))
        .into_response());
    }
    ctx.require_form(ADMIN, values.get("csrf").map_or("", String::as_str))?;
    if errors.is_empty() {
        errors.insert("file".into(), ctx.t("publish-error-empty"));
    }
    let mut resp = html(&PublishPage {
        request_id: values.get("request_id").cloned().unwrap_or_default(),
        sectors: Sector::ALL.iter().map(|s| s.as_str()).collect(),
        values,
        summary: summary_of(&ctx, &[], &errors),
        errors,
        ctx,
    });
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    Ok(resp)
}

#[derive(Template)]
#[template(path = "dataset_review.html")]
struct ReviewPage {
    ctx: Ctx,
    view: silkgate_node::api_types::DatasetView,
    report: Vec<ReportLine>,
    error: Option<String>,
}

/// `GET /portal/datasets/{id}/{sha256}`: one of the organisation's dataset versions with the
/// content review the node runs on transfers (counts, columns, masked samples; never a raw
/// value), run now on the stored bytes.
pub async fn dataset_review(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, Fail> {
    let me = org_id(&ctx, ORG)?;
    let dataset = node
        .store()
        .dataset_version(&id, &sha)
        .await
        .map_err(|e| ctx.internal(e))?
        .filter(|(d, _)| d.provider == me)
        .ok_or_else(|| ctx.not_found())?;
    let (version, key) = dataset;
    let reviewed = silkgate_node::pipeline::review_stored(
        node.store().blobs(),
        &key,
        &id,
        &sha,
        node.clock().now_unix(),
    )
    .await;
    let (report, error) = match reviewed {
        Ok(r) => match &r.scan_error {
            Some(e) => (Vec::new(), Some(e.clone())),
            None => (
                report_lines(&serde_json::to_value(&r).map_err(|e| ctx.internal(e))?),
                None,
            ),
        },
        Err(e) => return Err(ctx.internal(e)),
    };
    Ok(html(&ReviewPage {
        view: silkgate_node::api_types::DatasetView::from(&version),
        report,
        error,
        ctx,
    }))
}

// ---------------------------------------------------------------- requests to decide

/// A request waiting for the provider's decision.
#[derive(Debug, Clone)]
pub struct RequestRow {
    /// Transfer id.
    pub id: String,
    /// The consumer organisation.
    pub consumer: String,
    /// Its state.
    pub consumer_state: String,
    /// Dataset id.
    pub dataset: String,
    /// The stated purpose.
    pub purpose: String,
    /// When asked.
    pub requested_at: i64,
    /// The obligations of the node's decision, by id.
    pub obligations: Vec<String>,
    /// The obligations of the rule packs not met yet: approving needs grounds that meet them.
    pub unmet: Vec<String>,
}

/// The grounds a provider can attest when approving (the fields of the policy's `Grounds`).
pub const GROUNDS: [&str; 10] = [
    "consent",
    "standard_contract",
    "certification",
    "security_assessment",
    "regulator_permit",
    "regulator_notified",
    "judicial_approval",
    "impact_assessment",
    "domestic_database",
    "waiting_period_elapsed",
];

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    ctx: Ctx,
    rows: Vec<RequestRow>,
    more: usize,
    request_id: String,
}

async fn awaiting(
    node: &NodeState,
    ctx: &Ctx,
    me: &OrgId,
) -> Result<Vec<silkgate_store::TransferRecord>, Fail> {
    awaiting_of(node, me).await.map_err(|e| ctx.internal(e))
}

/// The organisation's own transfers as provider that wait for its decision (read from its
/// transfers, so the cost follows its own volume, not the node's).
async fn awaiting_of(
    node: &NodeState,
    me: &OrgId,
) -> Result<Vec<silkgate_store::TransferRecord>, silkgate_store::StoreError> {
    Ok(node
        .store()
        .transfers_of(me, TransferRole::Provider)
        .await?
        .into_iter()
        .filter(|r| r.transfer.status == TransferStatus::AwaitingDecision)
        .collect())
}

/// `GET /portal/requests`: transfers of the organisation's data waiting for its decision
/// (the node asks the provider's approval of each request), with the forms to decide.
pub async fn requests(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let me = org_id(&ctx, ORG)?;
    let all = awaiting(&node, &ctx, &me).await?;
    let more = all.len().saturating_sub(LIST_MAX);
    let rows = all
        .into_iter()
        .take(LIST_MAX)
        .map(|r| RequestRow {
            obligations: r
                .report
                .as_ref()
                .and_then(|rep| rep.pointer("/decision/decision/obligations"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            unmet: r
                .report
                .as_ref()
                .and_then(|rep| rep.get("decision"))
                .and_then(|d| {
                    serde_json::from_value::<silkgate_node::pipeline::TransferDecision>(d.clone())
                        .ok()
                })
                .map(|d| {
                    d.unmet_legal_obligations()
                        .into_iter()
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            id: r.transfer.id.clone(),
            consumer_state: r.transfer.consumer.state().to_string(),
            consumer: r.transfer.consumer.to_string(),
            dataset: r.transfer.dataset_id.clone(),
            purpose: r.transfer.purpose.clone(),
            requested_at: r.transfer.requested_at,
        })
        .collect();
    Ok(html(&RequestsPage {
        rows,
        more,
        request_id: auth::random_token(),
        ctx,
    }))
}

/// `POST /portal/requests/{id}`: the administrator approves (`decision=approve`) or refuses
/// (`decision=refuse`, with a reason) a request, through the node's own path.
pub async fn decide(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Fail> {
    let (me, form) = admin_form(&ctx, pairs)?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let approve = match get("decision").as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(ctx.bad("decision", "approve or refuse")),
    };
    let reason = get("reason").trim().to_owned();
    // Grounds the provider attests, one checkbox each: the node decides again on them.
    let attested: Map<String, Value> = GROUNDS
        .iter()
        .filter(|g| form.contains_key(&format!("g_{g}")))
        .map(|g| ((*g).to_owned(), Value::Bool(true)))
        .collect();
    let grounds = if attested.is_empty() {
        None
    } else {
        Some(
            serde_json::from_value(Value::Object(attested))
                .map_err(|e| ctx.bad("grounds", e.to_string()))?,
        )
    };
    let org = organisation(&node, &ctx, &me).await?;
    let req = DecisionRequest {
        request_id: format!("{}-{id}", get("request_id")),
        approve,
        reason: (!reason.is_empty()).then_some(reason),
        grounds,
    };
    api::decide_as(&node, &org, &id, req)
        .await
        .map_err(|e| api_fail(&ctx, e))?;
    Ok(Redirect::to(&format!("/portal/transfers/{id}")).into_response())
}

// ---------------------------------------------------------------- notifications

/// Something that needs the organisation's attention, or that it should know.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The catalogue key of its kind (`notice-to-sign`, ...).
    pub kind: &'static str,
    /// Whether the organisation must act on it.
    pub action: bool,
    /// When, Unix seconds.
    pub at: i64,
    /// What it is about (an agreement or transfer id).
    pub subject: String,
    /// Where to see it.
    pub href: String,
}

/// Notices older than this many days about things that are done are not shown.
const NOTICE_DAYS: i64 = 30;

/// What needs the organisation `me`'s attention, newest first: agreements waiting for its
/// signature (new or countered), requests waiting for its decision, agreements signed but not
/// yet in force, and of the last 30 days, deliveries received, transfers refused, agreements
/// suspended. Derived from the store's
/// agreements and transfers, which the events drive.
///
/// With `actions_only`, only what asks the organisation to act (cheaper: the header's count).
///
/// # Errors
/// A store error.
pub async fn notices(
    node: &NodeState,
    me: &OrgId,
    now: i64,
    actions_only: bool,
) -> Result<Vec<Notice>, silkgate_store::StoreError> {
    let store = node.store();
    let mut out = Vec::new();
    for a in store.agreements_of(me).await? {
        let doc = a.state.document();
        let mine = if doc.provider == *me {
            Party::Provider
        } else {
            Party::Consumer
        };
        let kind = match a.status {
            AgreementStatus::Proposed if doc.proposed_by != mine => {
                if doc.revision > 1 {
                    Some(("notice-countered", true))
                } else {
                    Some(("notice-to-sign", true))
                }
            }
            AgreementStatus::Suspended
                if !actions_only && now - a.updated_at < NOTICE_DAYS * 86_400 =>
            {
                Some(("notice-suspended", false))
            }
            AgreementStatus::Signed if !actions_only => Some(("notice-signed", false)),
            _ => None,
        };
        if let Some((kind, action)) = kind {
            out.push(Notice {
                kind,
                action,
                at: a.updated_at,
                href: format!("/portal/agreements/{}", a.id),
                subject: a.id,
            });
        }
    }
    for r in awaiting_of(node, me).await? {
        out.push(Notice {
            kind: "notice-request",
            action: true,
            at: r.transfer.requested_at,
            href: "/portal/requests".into(),
            subject: r.transfer.id,
        });
    }
    let received = if actions_only {
        Vec::new()
    } else {
        store.transfers_of(me, TransferRole::Consumer).await?
    };
    for r in received {
        let t = &r.transfer;
        if now - t.requested_at >= NOTICE_DAYS * 86_400 || t.consumer != *me {
            continue;
        }
        let kind = match t.status {
            TransferStatus::Delivered => "notice-delivered",
            TransferStatus::Denied => "notice-refused",
            _ => continue,
        };
        out.push(Notice {
            kind,
            action: false,
            at: t.requested_at,
            href: format!("/portal/transfers/{}", t.id),
            subject: t.id.clone(),
        });
    }
    out.sort_by(|a, b| b.action.cmp(&a.action).then(b.at.cmp(&a.at)));
    Ok(out)
}

/// How many notices ask the organisation to act: the count in the header.
///
/// # Errors
/// A store error.
pub async fn attention_count(
    node: &NodeState,
    me: &OrgId,
) -> Result<usize, silkgate_store::StoreError> {
    Ok(notices(node, me, node.clock().now_unix(), true)
        .await?
        .iter()
        .filter(|n| n.action)
        .count())
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    ctx: Ctx,
    items: Vec<Notice>,
    more: usize,
}

/// Most rows a list page shows (newest first); the rest are counted.
const LIST_MAX: usize = 100;

/// `GET /portal/notifications`: the organisation's notices.
pub async fn notifications(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let me = org_id(&ctx, ORG)?;
    let mut items = notices(&node, &me, ctx.now, false)
        .await
        .map_err(|e| ctx.internal(e))?;
    let more = items.len().saturating_sub(2 * LIST_MAX);
    items.truncate(2 * LIST_MAX);
    Ok(html(&NotificationsPage { ctx, items, more }))
}

/// Every data category's id, for the help beside the categories term.
pub fn category_ids() -> String {
    DataCategory::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Largest upload the publish form takes (the API has no such cap: it streams).
pub const UPLOAD_MAX: usize = 1 << 30;
