//! The pages: one handler and one askama template each. Templates are checked at compile
//! time; every string in them goes through the catalogue (`ctx.t("key")`).

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use silkgate_model::{Event, OrgId, Sector, StateCode, TransferStatus};
use silkgate_node::NodeState;
use silkgate_node::api_types::DatasetView;
use silkgate_store::{
    FlowFilter, FlowGroup, PortalAccount, PortalRole, TransferRecord, TransferRole,
};

use crate::auth::{self, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::charts::{self, OUTCOME_COLOURS, Series};
use crate::i18n::Lang;
use crate::web::{Ctx, Fail, cookie, encode_query, set_cookie};

const ORG: &[PortalRole] = &[PortalRole::OrgMember, PortalRole::OrgAdmin];
const REGULATOR: &[PortalRole] = &[PortalRole::Regulator];
const LOG_READERS: &[PortalRole] = &[PortalRole::Regulator, PortalRole::Operator];
const OPERATOR: &[PortalRole] = &[PortalRole::Operator];

/// Renders a template; a template error is a bug, shown as a plain 500.
pub fn html<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(body) => {
            let mut resp = Html(body).into_response();
            let h = resp.headers_mut();
            // Pages are personal: never cached, never framed, no inline script.
            h.insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
            h.insert(header::X_FRAME_OPTIONS, "DENY".parse().expect("static"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'"
                    .parse()
                    .expect("static"),
            );
            h.insert(
                header::REFERRER_POLICY,
                "same-origin".parse().expect("static"),
            );
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Request context.
    pub ctx: Ctx,
    /// The localised message.
    pub message: String,
    /// Which field and why, for a 400.
    pub detail: Option<String>,
}

// ---------------------------------------------------------------- static and language

/// `GET /portal/assets/style.css`: the one stylesheet, embedded.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/style.css"),
    )
        .into_response()
}

/// `GET /`: the portal.
pub async fn root() -> Redirect {
    Redirect::to("/portal/")
}

/// Query of the language switch.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    to: String,
    next: Option<String>,
}

/// `GET /portal/lang?to=ru&next=/portal/...`: remembers the language in a cookie and returns
/// to `next` if it is a portal path.
pub async fn switch_lang(ctx: Ctx, Query(q): Query<LangQuery>) -> Result<Response, Fail> {
    let lang = Lang::parse(&q.to).ok_or_else(|| ctx.bad("to", "one of en, ru, zh"))?;
    let mut resp = Redirect::to(&auth::safe_next(q.next.as_deref())).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LANG_COOKIE, lang.tag(), 365 * 86_400),
    );
    Ok(resp)
}

// ---------------------------------------------------------------- home and sign-in

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    org_name: Option<String>,
}

/// `GET /portal/`: what each role can do, or the invitation to sign in.
pub async fn home(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let org_name = match ctx.user.as_ref().and_then(|u| u.account.org_id.clone()) {
        Some(org) => node
            .store()
            .organisation(&org)
            .await
            .map_err(|e| ctx.internal(e))?
            .map(|o| o.name),
        None => None,
    };
    Ok(html(&HomePage { ctx, org_name }))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    ctx: Ctx,
    login_csrf: String,
    next: String,
    error: Option<String>,
    login: String,
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn sign_in_page(
    ctx: Ctx,
    next: &str,
    error: Option<String>,
    login: String,
    status: StatusCode,
) -> Response {
    // The sign-in form is protected by a double-submit token: a fresh random value in a
    // cookie and in the form, which a cross-site page cannot read (login CSRF).
    let token = auth::random_token();
    let page = SignInPage {
        ctx,
        login_csrf: token.clone(),
        next: auth::safe_next(Some(next)),
        error,
        login,
    };
    let mut resp = html(&page);
    *resp.status_mut() = status;
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &token, 3600),
    );
    resp
}

/// `GET /portal/sign-in`.
pub async fn sign_in_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    let next = q.next.unwrap_or_else(|| "/portal/".into());
    sign_in_page(ctx, &next, None, String::new(), StatusCode::OK)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// `POST /portal/sign-in`: login, password and TOTP code; a new session on success.
pub async fn sign_in(
    State(node): State<NodeState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, Fail> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !auth::tokens_equal(expected, &form.csrf) {
        return Err(Fail::new(&ctx, crate::web::FailKind::Csrf));
    }
    let next = auth::safe_next(form.next.as_deref());
    let outcome = auth::sign_in(
        node.store(),
        &form.login,
        &form.password,
        &form.code,
        ctx.now,
    )
    .await
    .map_err(|e| ctx.internal(e))?;
    let new = match outcome {
        Ok(new) => new,
        Err(refusal) => {
            let key = match refusal {
                auth::SignInRefusal::Credentials => "sign-in-failed",
                auth::SignInRefusal::Locked => "sign-in-locked",
            };
            let msg = ctx.t(key);
            return Ok(sign_in_page(
                ctx,
                &next,
                Some(msg),
                form.login,
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    // A session the browser already held ends: the person now has only the new one.
    if let Some(old) = cookie(&headers, SESSION_COOKIE) {
        let mut tx = node.store().begin().await.map_err(|e| ctx.internal(e))?;
        tx.delete_portal_session(&auth::sha256_hex(old))
            .await
            .map_err(|e| ctx.internal(e))?;
        tx.commit().await.map_err(|e| ctx.internal(e))?;
    }
    let mut resp = Redirect::to(&next).into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &new.cookie_value, auth::SESSION_SECONDS),
    );
    h.append(header::SET_COOKIE, set_cookie(LOGIN_CSRF_COOKIE, "", 0));
    Ok(resp)
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /portal/sign-out`.
pub async fn sign_out(
    State(node): State<NodeState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Fail> {
    let all: Vec<PortalRole> = PortalRole::ALL.to_vec();
    let user = ctx.require_form(&all, &form.csrf)?;
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        auth::sign_out(node.store(), value, &user.account.id)
            .await
            .map_err(|e| ctx.internal(e))?;
    }
    let mut resp = Redirect::to("/portal/").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    Ok(resp)
}

// ---------------------------------------------------------------- organisation pages

fn user_org(ctx: &Ctx) -> Result<OrgId, Fail> {
    ctx.require(ORG)?
        .account
        .org_id
        .clone()
        .ok_or_else(|| ctx.forbidden())
}

#[derive(Template)]
#[template(path = "catalogue.html")]
struct CataloguePage {
    ctx: Ctx,
    q: String,
    sector: String,
    state: String,
    sectors: Vec<&'static str>,
    states: Vec<String>,
    items: Vec<DatasetView>,
    next_href: Option<String>,
    unreachable: Vec<String>,
}

/// Query of the catalogue page.
#[derive(Debug, Deserialize)]
pub struct CatalogueQuery {
    q: Option<String>,
    sector: Option<String>,
    state: Option<String>,
    page: Option<String>,
}

/// `GET /portal/catalogue`: the federation's catalogue, searched, filtered and paged on the
/// servers through the node's federated search.
pub async fn catalogue(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<CatalogueQuery>,
) -> Result<Response, Fail> {
    let org = user_org(&ctx)?;
    let text = q.q.clone().unwrap_or_default();
    if text.chars().count() > 200 {
        return Err(ctx.bad("q", "at most 200 characters"));
    }
    let sector = match q.sector.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<Sector>()
                .map_err(|e| ctx.bad("sector", e.to_string()))?,
        ),
        None => None,
    };
    let only_state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(StateCode::new(s).map_err(|e| ctx.bad("state", e.to_string()))?),
        None => None,
    };
    let page = silkgate_node::federation::federated_search(
        &node,
        org.state(),
        only_state,
        sector,
        Some(text.clone()).filter(|t| !t.is_empty()),
        20,
        q.page.clone().filter(|p| !p.is_empty()),
    )
    .await
    .map_err(|e| match e {
        silkgate_node::error::ApiError::BadRequest { field, reason } => ctx.bad(&field, reason),
        other => ctx.internal(other),
    })?;
    let next_href = page.next_page_token.as_ref().map(|tok| {
        format!(
            "/portal/catalogue?q={}&sector={}&state={}&page={}",
            encode_query(&text),
            encode_query(q.sector.as_deref().unwrap_or("")),
            encode_query(q.state.as_deref().unwrap_or("")),
            encode_query(tok)
        )
    });
    let states = node
        .trust_list()
        .document
        .nodes
        .iter()
        .map(|n| n.state.to_string())
        .collect();
    Ok(html(&CataloguePage {
        q: text,
        sector: q.sector.unwrap_or_default(),
        state: q.state.unwrap_or_default(),
        sectors: Sector::ALL.iter().map(|s| s.as_str()).collect(),
        states,
        items: page.items,
        next_href,
        unreachable: page.unreachable,
        ctx,
    }))
}

/// One line of a content-review report, as shown.
#[derive(Debug, Clone)]
pub struct ReportLine {
    /// Field name (the report's own key).
    pub key: String,
    /// Its value, as text.
    pub value: String,
}

/// The report's fields as lines, nested objects flattened with dots. The report holds counts,
/// columns and masked samples only (the scanner's invariant), so it is shown as stored.
pub fn report_lines(report: &serde_json::Value) -> Vec<ReportLine> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<ReportLine>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::String(s) => out.push(ReportLine {
                key: prefix.into(),
                value: s.clone(),
            }),
            other => out.push(ReportLine {
                key: prefix.into(),
                value: other.to_string(),
            }),
        }
    }
    let mut out = Vec::new();
    walk("", report, &mut out);
    out
}

struct DatasetRow {
    view: DatasetView,
    reviews: Vec<(String, Vec<ReportLine>)>,
}

#[derive(Template)]
#[template(path = "datasets.html")]
struct DatasetsPage {
    ctx: Ctx,
    rows: Vec<DatasetRow>,
}

/// `GET /portal/datasets`: what the organisation published, with the content-review report
/// of each transfer of it.
pub async fn datasets(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let org = user_org(&ctx)?;
    let store = node.store();
    let datasets = store.datasets_of(&org).await.map_err(|e| ctx.internal(e))?;
    let transfers = store
        .transfers_of(&org, TransferRole::Provider)
        .await
        .map_err(|e| ctx.internal(e))?;
    let rows = datasets
        .iter()
        .map(|d| DatasetRow {
            view: DatasetView::from(d),
            reviews: transfers
                .iter()
                .filter(|t| t.transfer.dataset_id == d.dataset_id && t.transfer.sha256 == d.sha256)
                .filter_map(|t| {
                    t.report
                        .as_ref()
                        .map(|r| (t.transfer.id.clone(), report_lines(r)))
                })
                .collect(),
        })
        .collect();
    Ok(html(&DatasetsPage { ctx, rows }))
}

/// A transfer as listed.
#[derive(Debug, Clone)]
pub struct TransferRow {
    /// Id.
    pub id: String,
    /// `provider` or `consumer`: this organisation's side.
    pub side: &'static str,
    /// The other organisation.
    pub partner: String,
    /// The partner's state code.
    pub partner_state: String,
    /// Dataset id.
    pub dataset: String,
    /// Status word.
    pub status: &'static str,
    /// When requested, Unix seconds.
    pub requested_at: i64,
}

fn transfer_row(r: &TransferRecord, state: StateCode) -> TransferRow {
    let t = &r.transfer;
    let (side, partner) = match r.role {
        TransferRole::Provider => ("provider", &t.consumer),
        TransferRole::Consumer => ("consumer", &t.provider),
    };
    let _ = state;
    TransferRow {
        id: t.id.clone(),
        side,
        partner: partner.to_string(),
        partner_state: partner.state().to_string(),
        dataset: t.dataset_id.clone(),
        status: t.status.as_str(),
        requested_at: t.requested_at,
    }
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct TransfersPage {
    ctx: Ctx,
    rows: Vec<TransferRow>,
    deliveries_only: bool,
}

async fn org_transfers(
    node: &NodeState,
    ctx: &Ctx,
    org: &OrgId,
) -> Result<Vec<TransferRecord>, Fail> {
    let mut all = Vec::new();
    for role in [TransferRole::Provider, TransferRole::Consumer] {
        all.extend(
            node.store()
                .transfers_of(org, role)
                .await
                .map_err(|e| ctx.internal(e))?,
        );
    }
    all.sort_by(|a, b| {
        b.transfer
            .requested_at
            .cmp(&a.transfer.requested_at)
            .then(a.transfer.id.cmp(&b.transfer.id))
    });
    Ok(all)
}

/// `GET /portal/transfers`: the organisation's transfers, both sides.
pub async fn transfers(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let org = user_org(&ctx)?;
    let rows = org_transfers(&node, &ctx, &org)
        .await?
        .iter()
        .map(|r| transfer_row(r, ctx.state))
        .collect();
    Ok(html(&TransfersPage {
        ctx,
        rows,
        deliveries_only: false,
    }))
}

/// `GET /portal/deliveries`: what was delivered to the organisation, to download.
pub async fn deliveries(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let org = user_org(&ctx)?;
    let rows = org_transfers(&node, &ctx, &org)
        .await?
        .iter()
        .filter(|r| {
            r.role == TransferRole::Consumer
                && r.transfer.consumer == org
                && r.cipher_blob.is_some()
        })
        .map(|r| transfer_row(r, ctx.state))
        .collect();
    Ok(html(&TransfersPage {
        ctx,
        rows,
        deliveries_only: true,
    }))
}

/// One step of a transfer's timeline.
#[derive(Debug, Clone)]
pub struct Step {
    /// Log sequence number of the event (the log entry is `seq - 1`).
    pub seq: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Event kind, e.g. `transfer.decided`.
    pub kind: String,
    /// The event's details as lines.
    pub detail: Vec<ReportLine>,
}

fn steps(events: Vec<Event>) -> Vec<Step> {
    events
        .into_iter()
        .map(|e| Step {
            seq: e.seq,
            at: e.at,
            detail: report_lines(&e.detail),
            kind: e.kind,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    ctx: Ctx,
    row: TransferRow,
    purpose: String,
    reason: Option<String>,
    report: Vec<ReportLine>,
    steps: Vec<Step>,
    downloadable: bool,
    back: &'static str,
}

async fn transfer_page(
    node: &NodeState,
    ctx: Ctx,
    record: TransferRecord,
    back: &'static str,
    downloadable: bool,
) -> Result<Response, Fail> {
    let events = node
        .store()
        .events_about(&record.transfer.id)
        .await
        .map_err(|e| ctx.internal(e))?;
    Ok(html(&TransferPage {
        row: transfer_row(&record, ctx.state),
        purpose: record.transfer.purpose.clone(),
        reason: record.transfer.reason.clone(),
        report: record.report.as_ref().map(report_lines).unwrap_or_default(),
        steps: steps(events),
        downloadable,
        back,
        ctx,
    }))
}

/// `GET /portal/transfers/{id}`: one transfer and its status timeline (every event, with
/// its log sequence number).
pub async fn transfer(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let org = user_org(&ctx)?;
    let record = org_transfers(&node, &ctx, &org)
        .await?
        .into_iter()
        .find(|r| r.transfer.id == id)
        .ok_or_else(|| ctx.not_found())?;
    let downloadable = record.role == TransferRole::Consumer
        && record.cipher_blob.is_some()
        && record.transfer.consumer == org;
    transfer_page(&node, ctx, record, "/portal/transfers", downloadable).await
}

/// `GET /portal/deliveries/{id}/payload`: the encrypted payload (decrypt it with the
/// organisation's private key, e.g. `silkgate org fetch`).
pub async fn delivery_payload(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    let org = user_org(&ctx)?;
    let record = node
        .store()
        .transfer(&id, TransferRole::Consumer)
        .await
        .map_err(|e| ctx.internal(e))?
        .filter(|r| r.transfer.consumer == org)
        .ok_or_else(|| ctx.not_found())?;
    let (Some(blob), Some(manifest)) = (record.cipher_blob, record.manifest) else {
        return Err(ctx.not_found());
    };
    let stream = node
        .store()
        .blobs()
        .read(&blob)
        .await
        .map_err(|e| ctx.internal(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_LENGTH,
                manifest.document.ciphertext_size.to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.hpke\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

// ---------------------------------------------------------------- supervision

/// Filters of the supervision pages, from the query string.
#[derive(Debug, Deserialize, Default)]
pub struct FlowQuery {
    days: Option<i64>,
    partner: Option<String>,
    sector: Option<String>,
    status: Option<String>,
    page: Option<u32>,
}

impl FlowQuery {
    fn filter(&self, ctx: &Ctx, now: i64) -> Result<FlowFilter, Fail> {
        let days = self.days.unwrap_or(365);
        if !(1..=3660).contains(&days) {
            return Err(ctx.bad("days", "between 1 and 3660"));
        }
        let partner = match self.partner.as_deref().filter(|s| !s.is_empty()) {
            Some(p) => Some(StateCode::new(p).map_err(|e| ctx.bad("partner", e.to_string()))?),
            None => None,
        };
        let sector = match self.sector.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<Sector>()
                    .map_err(|e| ctx.bad("sector", e.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                TransferStatus::parse(s)
                    .ok_or_else(|| ctx.bad("status", "not a transfer status"))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        Ok(FlowFilter {
            // From the start of the UTC day `days` days ago: whole days, so the dashboard's
            // chart sums the store's per-day counts instead of counting every transfer.
            since: Some((now - days * 86_400).div_euclid(86_400) * 86_400),
            until: None,
            partner,
            sector,
            status,
            bucket_seconds: None,
        })
    }

    fn query_string(&self) -> String {
        format!(
            "days={}&partner={}&sector={}&status={}",
            self.days.unwrap_or(365),
            encode_query(self.partner.as_deref().unwrap_or("")),
            encode_query(self.sector.as_deref().unwrap_or("")),
            encode_query(self.status.as_deref().unwrap_or(""))
        )
    }
}

/// The outcome series a status falls in: 0 allowed, 1 denied, 2 in progress.
pub(crate) fn outcome(status: &str) -> usize {
    match status {
        "approved" | "delivered" => 0,
        "denied" => 1,
        _ => 2,
    }
}

/// A row of a summary table: label and counts per outcome.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// The label shown.
    pub label: String,
    /// Allowed, denied, in progress.
    pub counts: [i64; 3],
}

impl SummaryRow {
    /// Total of the row.
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }
}

fn summarise<K: Ord>(
    counts: &[FlowGroup],
    key: impl Fn(&FlowGroup) -> K,
    label: impl Fn(&K) -> String,
) -> Vec<SummaryRow> {
    let mut map: BTreeMap<K, [i64; 3]> = BTreeMap::new();
    for c in counts {
        map.entry(key(c)).or_default()[outcome(&c.status)] += c.count;
    }
    map.into_iter()
        .map(|(k, counts)| SummaryRow {
            label: label(&k),
            counts,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct SupervisionPage {
    ctx: Ctx,
    q: String,
    days: i64,
    partner: String,
    sector: String,
    status: String,
    states: Vec<String>,
    sectors: Vec<&'static str>,
    statuses: Vec<&'static str>,
    total: i64,
    by_partner: Vec<SummaryRow>,
    by_sector: Vec<SummaryRow>,
    by_direction: Vec<SummaryRow>,
    chart_time: String,
    chart_partner: String,
    chart_sector: String,
}

pub(crate) fn outcome_series(ctx: &Ctx) -> Vec<Series> {
    ["outcome-allowed", "outcome-denied", "outcome-pending"]
        .iter()
        .zip(OUTCOME_COLOURS)
        .map(|(k, colour)| Series {
            label: ctx.t(k),
            colour,
        })
        .collect()
}

fn chart_rows(rows: &[SummaryRow]) -> Vec<(String, Vec<i64>)> {
    rows.iter()
        .map(|r| (r.label.clone(), r.counts.to_vec()))
        .collect()
}

const STATUSES: [&str; 5] = [
    "requested",
    "awaiting-decision",
    "approved",
    "denied",
    "delivered",
];

/// `GET /portal/supervision`: every flow touching the state, by partner state, sector,
/// direction and outcome, over time, drawn on the server.
pub async fn supervision(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<FlowQuery>,
) -> Result<Response, Fail> {
    ctx.require(REGULATOR)?;
    let now = ctx.now;
    // Over time: days for up to 90 days, else weeks, so the chart has at most ~60 columns
    // and the database groups into that many buckets.
    let days = q.days.unwrap_or(365);
    let bucket = if days <= 90 { 86_400 } else { 7 * 86_400 };
    let filter = FlowFilter {
        bucket_seconds: Some(bucket),
        ..q.filter(&ctx, now)?
    };
    let summary = node
        .store()
        .flow_summary(ctx.state, &filter)
        .await
        .map_err(|e| ctx.internal(e))?;
    let counts = &summary.groups;
    let total = counts.iter().map(|c| c.count).sum();
    let by_partner = summarise(counts, |c| c.partner.clone(), |p| ctx.state_name(p));
    let by_sector = summarise(counts, |c| c.sector.clone(), |s| ctx.tr.word("sector", s));
    let by_direction = summarise(
        counts,
        |c| c.direction.clone(),
        |d| ctx.tr.word("direction", d),
    );
    let start = (filter.since.unwrap_or(now) / bucket) * bucket;
    let n = ((now - start) / bucket + 1) as usize;
    let mut columns: Vec<(String, Vec<i64>)> = (0..n)
        .map(|i| (ctx.tr.date(start + i as i64 * bucket), vec![0; 3]))
        .collect();
    for c in &summary.buckets {
        let i = ((c.start - start) / bucket).clamp(0, n as i64 - 1) as usize;
        columns[i].1[outcome(&c.status)] += c.count;
    }
    let series = outcome_series(&ctx);
    let page = SupervisionPage {
        q: q.query_string(),
        days,
        partner: q.partner.clone().unwrap_or_default(),
        sector: q.sector.clone().unwrap_or_default(),
        status: q.status.clone().unwrap_or_default(),
        states: node
            .trust_list()
            .document
            .nodes
            .iter()
            .map(|n| n.state.to_string())
            .collect(),
        sectors: Sector::ALL.iter().map(|s| s.as_str()).collect(),
        statuses: STATUSES.to_vec(),
        total,
        chart_time: charts::timeline(&ctx.t("chart-over-time"), &series, &columns),
        chart_partner: charts::hbar(
            &ctx.t("chart-by-partner"),
            &series,
            &chart_rows(&by_partner),
        ),
        chart_sector: charts::hbar(&ctx.t("chart-by-sector"), &series, &chart_rows(&by_sector)),
        by_partner,
        by_sector,
        by_direction,
        ctx,
    };
    Ok(html(&page))
}

/// A flow as the regulator's list shows it.
#[derive(Debug, Clone)]
pub struct FlowRow {
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
    /// Consumer organisation.
    pub consumer: String,
    /// Dataset id.
    pub dataset: String,
    /// Status word.
    pub status: &'static str,
    /// The reason of a denial.
    pub reason: String,
}

fn flow_row(r: &TransferRecord, state: StateCode) -> FlowRow {
    let t = &r.transfer;
    let (direction, partner) = match (t.provider_state() == state, t.consumer_state() == state) {
        (true, true) => ("domestic", state),
        (true, false) => ("outbound", t.consumer_state()),
        _ => ("inbound", t.provider_state()),
    };
    FlowRow {
        id: t.id.clone(),
        requested_at: t.requested_at,
        direction,
        partner: partner.to_string(),
        provider: t.provider.to_string(),
        consumer: t.consumer.to_string(),
        dataset: t.dataset_id.clone(),
        status: t.status.as_str(),
        reason: t.reason.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage {
    ctx: Ctx,
    q: String,
    rows: Vec<FlowRow>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

const FLOW_PAGE: u32 = 50;

/// `GET /portal/supervision/flows`: the flows themselves, newest first, 50 a page.
pub async fn flows(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<FlowQuery>,
) -> Result<Response, Fail> {
    ctx.require(REGULATOR)?;
    let filter = q.filter(&ctx, ctx.now)?;
    let page = q.page.unwrap_or(0).min(100_000);
    let records = node
        .store()
        .flows(ctx.state, &filter, page * FLOW_PAGE, FLOW_PAGE + 1)
        .await
        .map_err(|e| ctx.internal(e))?;
    let qs = q.query_string();
    let next_href = (records.len() > FLOW_PAGE as usize)
        .then(|| format!("/portal/supervision/flows?{qs}&page={}", page + 1));
    let prev_href = (page > 0).then(|| format!("/portal/supervision/flows?{qs}&page={}", page - 1));
    let rows = records
        .iter()
        .take(FLOW_PAGE as usize)
        .map(|r| flow_row(r, ctx.state))
        .collect();
    Ok(html(&FlowsPage {
        ctx,
        q: qs,
        rows,
        prev_href,
        next_href,
    }))
}

/// `GET /portal/supervision/flows.csv`: the same view as CSV (every matching flow).
pub async fn flows_csv(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<FlowQuery>,
) -> Result<Response, Fail> {
    ctx.require(REGULATOR)?;
    let filter = q.filter(&ctx, ctx.now)?;
    let mut out = charts::csv_line(&[
        "transfer_id",
        "requested_at",
        "direction",
        "partner_state",
        "provider",
        "consumer",
        "dataset_id",
        "status",
        "reason",
    ]);
    let mut after: Option<(i64, String)> = None;
    loop {
        let records = node
            .store()
            .flows_after(
                ctx.state,
                &filter,
                after.as_ref().map(|(at, id)| (*at, id.as_str())),
                1000,
            )
            .await
            .map_err(|e| ctx.internal(e))?;
        for r in &records {
            let f = flow_row(r, ctx.state);
            let at = r.transfer.requested_at.to_string();
            out.push_str(&charts::csv_line(&[
                &f.id,
                &at,
                f.direction,
                &f.partner,
                &f.provider,
                &f.consumer,
                &f.dataset,
                f.status,
                &f.reason,
            ]));
        }
        match records.last() {
            Some(last) if records.len() == 1000 => {
                after = Some((last.transfer.requested_at, last.transfer.id.clone()));
            }
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"flows.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}

/// `GET /portal/supervision/flows/{id}`: one flow with its decision, reasons and timeline.
/// A transfer this node holds that does not touch the regulator's state is refused (403);
/// one it does not hold is 404.
pub async fn flow(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, Fail> {
    ctx.require(REGULATOR)?;
    let record = node
        .store()
        .transfer_any_role(&id)
        .await
        .map_err(|e| ctx.internal(e))?
        .ok_or_else(|| ctx.not_found())?;
    let t = &record.transfer;
    if t.provider_state() != ctx.state && t.consumer_state() != ctx.state {
        return Err(ctx.forbidden());
    }
    transfer_page(&node, ctx, record, "/portal/supervision/flows", false).await
}

// ---------------------------------------------------------------- log explorer

/// A signature line of the checkpoint.
#[derive(Debug, Clone)]
pub struct SigLine {
    /// Key name.
    pub name: String,
    /// Whether it is a witness cosignature.
    pub cosignature: bool,
}

/// A peer's witness status.
#[derive(Debug, Clone)]
pub struct PeerWitness {
    /// Its state.
    pub state: String,
    /// Its node id.
    pub node_id: String,
    /// Whether the peer's cosignature is on our latest checkpoint.
    pub cosigned_ours: bool,
    /// The size of the peer's log we last cosigned, if any.
    pub we_cosigned: Option<String>,
}

/// An alert, as shown.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// When.
    pub at: i64,
    /// Which log.
    pub origin: String,
    /// Why.
    pub reason: String,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    ctx: Ctx,
    origin: String,
    size: u64,
    checkpoint: String,
    signatures: Vec<SigLine>,
    peers: Vec<PeerWitness>,
    alerts: Vec<AlertRow>,
    entry: Option<Step>,
    proof: Option<crate::supervise::InclusionView>,
    entry_query: String,
    quorum: usize,
}

/// Query of the log explorer.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    entry: Option<String>,
}

/// The size line (second line) of a checkpoint note.
fn checkpoint_size(note: &str) -> Option<String> {
    note.lines().nth(1).map(str::to_owned)
}

/// `GET /portal/log`: the node's latest checkpoint with its cosignatures, each peer's
/// witness status, alerts, and lookup of one entry.
pub async fn log(
    State(node): State<NodeState>,
    ctx: Ctx,
    Query(q): Query<LogQuery>,
) -> Result<Response, Fail> {
    ctx.require(LOG_READERS)?;
    let store = node.store();
    let log = node.log();
    let checkpoint = String::from_utf8_lossy(&log.checkpoint_bytes()).into_owned();
    // A signed note (C2SP signed-note): body, blank line, then "— <name> <signature>" lines.
    let signatures: Vec<SigLine> = checkpoint
        .split("\n\n")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix("— "))
        .filter_map(|l| l.split(' ').next())
        .map(|name| SigLine {
            name: name.to_owned(),
            cosignature: name.starts_with("witness."),
        })
        .collect();
    let mut peers = Vec::new();
    for n in &node.trust_list().document.nodes {
        if n.node_id == node.node_id() {
            continue;
        }
        let origin = silkgate_node::log_service::log_origin(&n.node_id);
        let we = store
            .witness_state(&origin)
            .await
            .map_err(|e| ctx.internal(e))?;
        peers.push(PeerWitness {
            state: n.state.to_string(),
            node_id: n.node_id.clone(),
            cosigned_ours: signatures
                .iter()
                .any(|s| s.name == silkgate_node::log_service::witness_name(&n.node_id)),
            we_cosigned: we.and_then(|b| checkpoint_size(&String::from_utf8_lossy(&b))),
        });
    }
    let alerts = store
        .log_alerts()
        .await
        .map_err(|e| ctx.internal(e))?
        .into_iter()
        .map(|a| AlertRow {
            at: a.at,
            origin: a.origin,
            reason: a.reason,
        })
        .collect();
    let entry_query = q.entry.clone().unwrap_or_default();
    let mut proof = None;
    let entry = match q.entry.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => {
            let index: u64 = text
                .trim()
                .parse()
                .map_err(|_| ctx.bad("entry", "a whole number"))?;
            if index >= log.size() {
                return Err(ctx.not_found());
            }
            // Log entry `i` is event `seq = i + 1` (ARCHITECTURE.md, transparency log).
            let events = store
                .events(index as i64, 1)
                .await
                .map_err(|e| ctx.internal(e))?;
            proof = crate::supervise::inclusion(&node, index)
                .await
                .map_err(|e| ctx.internal(e))?;
            steps(events).into_iter().next()
        }
    };
    Ok(html(&LogPage {
        origin: log.origin().to_owned(),
        size: log.size(),
        signatures,
        checkpoint,
        peers,
        alerts,
        entry,
        proof,
        entry_query,
        quorum: silkgate_node::witness::quorum(&node),
        ctx,
    }))
}

// ---------------------------------------------------------------- accounts

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    ctx: Ctx,
    accounts: Vec<PortalAccount>,
    roles: Vec<&'static str>,
    created: Option<auth::CreatedAccount>,
    error: Option<String>,
}

async fn accounts_page(
    node: &NodeState,
    ctx: Ctx,
    created: Option<auth::CreatedAccount>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, Fail> {
    let accounts = node
        .store()
        .portal_accounts()
        .await
        .map_err(|e| ctx.internal(e))?;
    let mut resp = html(&AccountsPage {
        ctx,
        accounts,
        roles: PortalRole::ALL.iter().map(|r| r.as_str()).collect(),
        created,
        error,
    });
    *resp.status_mut() = status;
    Ok(resp)
}

/// `GET /portal/accounts`: the operator's list of accounts.
pub async fn accounts(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    ctx.require(OPERATOR)?;
    accounts_page(&node, ctx, None, None, StatusCode::OK).await
}

/// The form creating an account.
#[derive(Debug, Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    password: String,
}

fn parse_role_org(ctx: &Ctx, role: &str, org: &str) -> Result<(PortalRole, Option<OrgId>), Fail> {
    let role = PortalRole::parse(role)
        .ok_or_else(|| ctx.bad("role", "one of org-member, org-admin, regulator, operator"))?;
    let org = match org.trim() {
        "" => None,
        o => Some(
            o.parse::<OrgId>()
                .map_err(|e| ctx.bad("org_id", e.to_string()))?,
        ),
    };
    Ok((role, org))
}

/// `POST /portal/accounts`: the operator creates an account; the page shows its TOTP
/// secret once, to enrol in an authenticator app.
pub async fn create_account(
    State(node): State<NodeState>,
    ctx: Ctx,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, Fail> {
    ctx.require_form(OPERATOR, &form.csrf)?;
    let (role, org_id) = parse_role_org(&ctx, &form.role, &form.org_id)?;
    let new = auth::NewAccount {
        login: form.login,
        display_name: form.display_name,
        role,
        org_id,
        password: form.password,
    };
    match auth::create_account(node.store(), new, &format!("Silkgate {}", ctx.state)).await {
        Ok(created) => accounts_page(&node, ctx, Some(created), None, StatusCode::CREATED).await,
        Err(auth::AuthError::Invalid { field, reason }) => {
            let msg = format!("{field}: {reason}");
            accounts_page(&node, ctx, None, Some(msg), StatusCode::BAD_REQUEST).await
        }
        Err(auth::AuthError::Store(silkgate_store::StoreError::Duplicate { .. })) => {
            let msg = format!("login: {}", ctx.t("accounts-login-taken"));
            accounts_page(&node, ctx, None, Some(msg), StatusCode::CONFLICT).await
        }
        Err(e) => Err(ctx.internal(e)),
    }
}

/// The form changing a role.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    org_id: String,
}

/// `POST /portal/accounts/{id}/role`: the operator changes an account's role; its sessions end.
pub async fn change_role(
    State(node): State<NodeState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, Fail> {
    let by = ctx.require_form(OPERATOR, &form.csrf)?.account.id.clone();
    let (role, org_id) = parse_role_org(&ctx, &form.role, &form.org_id)?;
    match auth::change_role(node.store(), &by, &id, role, org_id.as_ref()).await {
        Ok(()) => Ok(Redirect::to("/portal/accounts").into_response()),
        Err(auth::AuthError::Invalid {
            field: "account", ..
        }) => Err(ctx.not_found()),
        Err(auth::AuthError::Invalid { field, reason }) => Err(ctx.bad(field, reason)),
        Err(e) => Err(ctx.internal(e)),
    }
}

// ---------------------------------------------------------------- agreements

/// An agreement as listed.
#[derive(Debug, Clone)]
pub struct AgreementRow {
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
    /// Status word.
    pub status: &'static str,
    /// Revision of the document.
    pub revision: u32,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

fn agreement_status_word(s: silkgate_model::agreement::AgreementStatus) -> &'static str {
    use silkgate_model::agreement::AgreementStatus as S;
    match s {
        S::Proposed => "proposed",
        S::Signed => "signed",
        S::Active => "active",
        S::Suspended => "suspended",
        S::Expired => "expired",
        S::Terminated => "terminated",
    }
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct AgreementsPage {
    ctx: Ctx,
    rows: Vec<AgreementRow>,
}

/// `GET /portal/agreements`: the organisation's agreements; for a regulator, every agreement
/// of an organisation of this state. Proposing, countering, signing and suspending go through
/// the API today (`/api/v1/agreements`).
pub async fn agreements(State(node): State<NodeState>, ctx: Ctx) -> Result<Response, Fail> {
    let user = ctx.require(&[
        PortalRole::OrgMember,
        PortalRole::OrgAdmin,
        PortalRole::Regulator,
    ])?;
    let orgs: Vec<OrgId> = match &user.account.org_id {
        Some(org) if user.account.role.is_organisation() => vec![org.clone()],
        _ => node
            .store()
            .organisations()
            .await
            .map_err(|e| ctx.internal(e))?
            .into_iter()
            .map(|o| o.id)
            .collect(),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut rows = Vec::new();
    for org in orgs {
        for r in node
            .store()
            .agreements_of(&org)
            .await
            .map_err(|e| ctx.internal(e))?
        {
            if seen.insert(r.id.clone()) {
                rows.push(AgreementRow {
                    provider_state: r.provider.state().to_string(),
                    consumer_state: r.consumer.state().to_string(),
                    provider: r.provider.to_string(),
                    consumer: r.consumer.to_string(),
                    status: agreement_status_word(r.status),
                    revision: r.revision,
                    updated_at: r.updated_at,
                    id: r.id,
                });
            }
        }
    }
    rows.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
    Ok(html(&AgreementsPage { ctx, rows }))
}
