//! The organisation and operator API (`/api/v1/...`), plus health, metrics and the trust list.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use silkgate_model::{
    Column, DatasetFormat, DatasetVersion, FormatChecker, NewEvent, OrgId, Organisation, Sector,
    StateCode, Transfer, TransferStatus, Visibility,
};
use silkgate_store::{IdempotentAnswer, TransferRecord, TransferRole};
use utoipa::IntoParams;

use crate::api_types::*;
use crate::error::{ApiError, ErrorBody};
use crate::identity::{new_token, sha256_hex};
use crate::node::{Caller, ConnInfo, NodeState};
use crate::pipeline::{self, ProviderDecision};
use crate::wire::{TransferDeniedV1, TransferRequestV1};

/// Header carrying the publish metadata (base64url of JSON [`PublishMetadata`]).
pub const DATASET_HEADER: &str = "silkgate-dataset";

/// JSON body extractor whose rejections name the field and reason as every other error.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => {
            // serde_path_to_error's text reads "Failed to deserialize ...: <path>: <reason>".
            let detail = text.split_once(": ").map(|x| x.1).unwrap_or(&text);
            match detail.split_once(": ") {
                Some((path, reason)) if !path.contains(' ') => ApiError::bad(path, reason),
                _ => ApiError::bad("body", detail),
            }
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad("content-type", "expected application/json")
        }
        _ => ApiError::bad("body", format!("malformed JSON: {text}")),
    }
}

/// The TLS connection info, when the request came through the node's TLS listener (absent
/// when the router is exercised directly in tests).
#[derive(Debug, Clone)]
pub struct Conn(pub Option<ConnInfo>);

impl<S: Send + Sync> FromRequestParts<S> for Conn {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnInfo>().cloned()))
    }
}

async fn org_caller(
    state: &NodeState,
    headers: &HeaderMap,
    conn: &Conn,
) -> Result<Organisation, ApiError> {
    match state.caller(headers, conn.0.as_ref()).await? {
        Caller::Org(org) => Ok(org),
        Caller::Operator => Err(ApiError::Forbidden(
            "only an organisation makes this call, not the operator".into(),
        )),
    }
}

/// The identity of a request's content, to tell a retry (same id, same content) from a
/// reuse of the id for something else.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The remembered answer to a retried request, as first given.
pub(crate) fn replay(answer: IdempotentAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    (status, Json(answer.body)).into_response()
}

async fn check_idempotent(
    state: &NodeState,
    scope: &str,
    key: &str,
    fp: &str,
) -> Result<Option<Response>, ApiError> {
    // A short read-only look: the write transaction that records the answer checks again.
    let mut tx = state.store().begin().await?;
    Ok(tx.idempotent(scope, key, fp).await?.map(replay))
}

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The node is up")))]
pub async fn healthz(State(state): State<NodeState>) -> Json<serde_json::Value> {
    let trust = state.trust_list();
    Json(json!({
        "status": "ok",
        "node_id": state.node_id(),
        "state": state.identity().config.state,
        "trust_list_version": trust.document.version,
    }))
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
pub async fn metrics(State(state): State<NodeState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
        .into_response()
}

/// `GET /api/v1/trust-list`: the signed trust list in force (public).
#[utoipa::path(get, path = "/api/v1/trust-list", responses((status = 200, description = "Signed trust list")))]
pub async fn trust_list(State(state): State<NodeState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(&*state.trust_list()).unwrap_or_default())
}

/// `PUT /api/v1/trust-list`: the operator installs a new committee-signed trust list. It is
/// refused unless the committee's signature verifies and its version is not lower than the
/// one in force; the change is recorded as an event and applies to new connections at once.
#[utoipa::path(put, path = "/api/v1/trust-list", request_body(content = Object, description = "Signed trust list"),
    responses((status = 200, description = "Installed"), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn put_trust_list(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    ApiJson(list): ApiJson<silkgate_model::Signed<silkgate_model::TrustList>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !matches!(
        state.caller(&headers, conn.0.as_ref()).await?,
        Caller::Operator
    ) {
        return Err(ApiError::Forbidden(
            "only the node operator installs trust lists".into(),
        ));
    }
    let version = list.document.version;
    state.accept_trust_list(list).await.map_err(|e| match e {
        crate::NodeError::TrustList(reason) => ApiError::Conflict {
            field: "trust_list".into(),
            reason,
        },
        other => ApiError::internal(other),
    })?;
    Ok(Json(json!({ "version": version })))
}

/// `POST /api/v1/organisations`: the operator registers an organisation and issues its
/// credential (client certificate from the node's CA, API token).
#[utoipa::path(post, path = "/api/v1/organisations", request_body = RegisterOrganisationRequest,
    responses((status = 201, body = Credentials), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn register_organisation(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RegisterOrganisationRequest>,
) -> Result<Response, ApiError> {
    if !matches!(
        state.caller(&headers, conn.0.as_ref()).await?,
        Caller::Operator
    ) {
        return Err(ApiError::Forbidden(
            "only the node operator registers organisations".into(),
        ));
    }
    check_request_id(&req.request_id)?;
    check_text("name", &req.name, MAX_SHORT, true)?;
    check_text(
        "registration_number",
        &req.registration_number,
        MAX_SHORT,
        true,
    )?;
    check_text("contact", &req.contact, MAX_SHORT, true)?;
    let sector: Sector = req.sector.parse().map_err(|e| ApiError::bad("sector", e))?;
    if hex::decode(&req.hpke_public_key).map(|k| k.len()) != Ok(32) {
        return Err(ApiError::bad(
            "hpke_public_key",
            "expected 64 hex digits (an X25519 public key)",
        ));
    }
    let fp = fingerprint(&[
        &req.name,
        &req.registration_number,
        sector.as_str(),
        &req.contact,
        &req.hpke_public_key,
    ]);
    let scope = "operator";
    let mut tx = state.store().begin().await?;
    if let Some(answer) = tx.idempotent(scope, &req.request_id, &fp).await? {
        return Ok(replay(answer));
    }
    let org = Organisation {
        id: OrgId::generate(state.identity().config.state, rand::random()),
        name: req.name,
        registration_number: req.registration_number,
        sector,
        contact: req.contact,
        hpke_public_key: req.hpke_public_key,
        registered_at: state.clock().now_unix(),
    };
    let cert = state
        .identity()
        .issue_client_cert(org.id.as_str(), &org.name)
        .map_err(ApiError::internal)?;
    let token = new_token();
    tx.insert_organisation(&org, &sha256_hex(token.as_bytes()), &cert.cert_sha256)
        .await?;
    tx.append_event(&NewEvent::new(
        "organisation.registered",
        org.id.as_str(),
        json!({ "sector": org.sector, "cert_sha256": cert.cert_sha256 }),
    ))
    .await?;
    let creds = Credentials {
        organisation: OrganisationView::from(&org),
        api_token: token,
        client_cert_pem: cert.cert_pem,
        client_key_pem: cert.key_pem,
        ca_cert_pem: state.identity().ca_cert_pem.clone(),
        node_url: state.identity().config.public_url.clone(),
    };
    let body = serde_json::to_value(&creds).map_err(ApiError::internal)?;
    // The first answer is kept so a retry gets the same credential rather than a second one.
    tx.remember(
        scope,
        &req.request_id,
        &fp,
        &IdempotentAnswer {
            status: 201,
            body: body.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn validate_metadata(
    meta: &PublishMetadata,
) -> Result<(Sector, DatasetFormat, Vec<Column>), ApiError> {
    check_request_id(&meta.request_id)?;
    let id = &meta.dataset_id;
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(ApiError::bad(
            "dataset_id",
            "must be 1 to 64 of a-z, 0-9, '.', '_', '-'",
        ));
    }
    check_text("title", &meta.title, MAX_SHORT, true)?;
    check_text("description", &meta.description, MAX_LONG, false)?;
    let sector: Sector = meta
        .sector
        .parse()
        .map_err(|e| ApiError::bad("sector", e))?;
    let format = DatasetFormat::parse(&meta.format)
        .ok_or_else(|| ApiError::bad("format", "expected 'csv' or 'json-lines'"))?;
    if meta.schema.is_empty() {
        return Err(ApiError::bad("schema", "at least one column is required"));
    }
    if meta.schema.len() > MAX_COLUMNS {
        return Err(ApiError::TooLarge {
            field: "schema".into(),
            reason: format!("at most {MAX_COLUMNS} columns"),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in meta.schema.iter().enumerate() {
        check_text(&format!("schema[{i}].name"), &c.name, MAX_SHORT, true)?;
        check_text(&format!("schema[{i}].type"), &c.ty, MAX_SHORT, true)?;
        if !seen.insert(c.name.as_str()) {
            return Err(ApiError::bad(
                &format!("schema[{i}].name"),
                format!("duplicate column '{}'", c.name),
            ));
        }
    }
    if let Visibility::States { states } = &meta.visibility
        && states.is_empty()
    {
        return Err(ApiError::bad(
            "visibility.states",
            "name at least one state",
        ));
    }
    Ok((
        sector,
        format,
        meta.schema
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                ty: c.ty.clone(),
            })
            .collect(),
    ))
}

/// `POST /api/v1/datasets`: publish a dataset version. Metadata in the `silkgate-dataset`
/// header (base64url JSON), payload as the body (streamed, hashed and format-checked on the
/// way to storage; nothing is kept if the check fails).
#[utoipa::path(post, path = "/api/v1/datasets",
    params(("silkgate-dataset" = String, Header, description = "base64url of JSON PublishMetadata")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = DatasetView), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn publish(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let org = org_caller(&state, &headers, &conn).await?;
    let raw = headers
        .get(DATASET_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::bad(
                DATASET_HEADER,
                "header missing: base64url of the JSON metadata",
            )
        })?;
    let bytes = B64
        .decode(raw.trim())
        .map_err(|_| ApiError::bad(DATASET_HEADER, "not base64url"))?;
    let meta: PublishMetadata = serde_json::from_slice(&bytes).map_err(|e| {
        let mut path = serde_path_to_error_like(&e);
        if path.is_empty() {
            path = DATASET_HEADER.into();
        }
        ApiError::bad(&path, e)
    })?;
    let view = publish_as(&state, &org, meta, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Publishes a dataset version for `org`: checks the metadata, streams `payload` to storage
/// (hashed and format-checked on the way; nothing is kept if the check fails) and records it.
/// The one path of the API handler and the portal's upload form.
///
/// # Errors
/// [`ApiError`] naming the field at fault (`payload` for content that is not the format),
/// 409 when this version is already published.
pub async fn publish_as<S, E>(
    state: &NodeState,
    org: &Organisation,
    meta: PublishMetadata,
    payload: S,
) -> Result<DatasetView, ApiError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (sector, format, schema) = validate_metadata(&meta)?;
    let scope = org.id.to_string();
    let fp = fingerprint(&[&serde_json::to_string(&meta).map_err(ApiError::internal)?]);
    {
        let mut tx = state.store().begin().await?;
        if let Some(answer) = tx.idempotent(&scope, &meta.request_id, &fp).await? {
            return serde_json::from_value(answer.body).map_err(ApiError::internal);
        }
    }

    // Stream to a staging blob, hashing and checking the format as bytes arrive.
    let blobs = state.store().blobs();
    let mut writer = blobs.writer().await?;
    let mut checker = FormatChecker::new(format, &schema);
    let mut stream = payload;
    let mut failure: Option<ApiError> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failure = Some(ApiError::bad("payload", format!("upload broke off: {e}")));
                break;
            }
        };
        if let Err(e) = checker.feed(&chunk) {
            failure = Some(ApiError::Unprocessable {
                field: "payload".into(),
                reason: format!("not valid {}: {e}", format.as_str()),
            });
            break;
        }
        if let Err(e) = writer.write(&chunk).await {
            failure = Some(e.into());
            break;
        }
    }
    if failure.is_none()
        && let Err(e) = checker.finish()
    {
        failure = Some(ApiError::Unprocessable {
            field: "payload".into(),
            reason: format!("not valid {}: {e}", format.as_str()),
        });
    }
    if let Some(err) = failure {
        writer.abort().await;
        return Err(err);
    }
    let staged = writer.finish().await?;
    let dataset = DatasetVersion {
        dataset_id: meta.dataset_id.clone(),
        sha256: staged.sha256.clone(),
        provider: org.id.clone(),
        title: meta.title.clone(),
        description: meta.description.clone(),
        sector,
        format,
        schema,
        visibility: meta.visibility.clone(),
        size: staged.size,
        published_at: state.clock().now_unix(),
    };
    let key = format!("datasets/{}/{}", dataset.dataset_id, dataset.sha256);
    let result: Result<DatasetView, ApiError> = async {
        let mut tx = state.store().begin().await?;
        if let Some(answer) = tx.idempotent(&scope, &meta.request_id, &fp).await? {
            blobs.delete(&staged.key).await?;
            return serde_json::from_value(answer.body).map_err(ApiError::internal);
        }
        if let Some(provider) = tx.dataset_version_provider(&dataset.dataset_id, &dataset.sha256).await? {
            blobs.delete(&staged.key).await?;
            return Err(ApiError::Conflict {
                field: "payload".into(),
                reason: format!("version {} of '{}' is already published by {provider}", dataset.sha256, dataset.dataset_id),
            });
        }
        tx.insert_dataset_version(&dataset, &key).await?;
        tx.append_event(&NewEvent::new(
            "dataset.published",
            format!("{}/{}", dataset.dataset_id, dataset.sha256),
            json!({ "provider": dataset.provider, "size": dataset.size, "format": dataset.format.as_str(), "visibility": dataset.visibility }),
        ))
        .await?;
        let view = DatasetView::from(&dataset);
        let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
        tx.remember(&scope, &meta.request_id, &fp, &IdempotentAnswer { status: 201, body })
            .await?;
        // The blob reaches its final key before the row that names it is committed; if the
        // commit fails, the blob is removed below.
        blobs.promote(&staged, &key).await?;
        if let Err(e) = tx.commit().await {
            blobs.delete(&key).await?;
            return Err(e.into());
        }
        Ok(view)
    }
    .await;
    if result.is_err() {
        blobs.delete(&staged.key).await?;
    }
    result
}

/// Best-effort field path from a serde_json error message such as "unknown field `x`".
fn serde_path_to_error_like(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        return rest.split('`').next().unwrap_or_default().to_owned();
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return rest.split('`').next().unwrap_or_default().to_owned();
    }
    String::new()
}

/// Query of `GET /api/v1/catalogue`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CatalogueQuery {
    /// Only entries of this state.
    pub state: Option<String>,
    /// Only this sector.
    pub sector: Option<String>,
    /// Case-insensitive text in title or description.
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// `GET /api/v1/catalogue`: federated search across every node, filtered and paged on the
/// servers.
#[utoipa::path(get, path = "/api/v1/catalogue", params(CatalogueQuery),
    responses((status = 200, body = CataloguePage), (status = 400, body = ErrorBody)))]
pub async fn catalogue(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Query(q): Query<CatalogueQuery>,
) -> Result<Json<CataloguePage>, ApiError> {
    let viewer = match state.caller(&headers, conn.0.as_ref()).await? {
        Caller::Org(org) => org.id.state(),
        Caller::Operator => state.identity().config.state,
    };
    let only_state = q
        .state
        .as_deref()
        .map(StateCode::new)
        .transpose()
        .map_err(|e| ApiError::bad("state", e))?;
    let sector = q
        .sector
        .as_deref()
        .map(str::parse::<Sector>)
        .transpose()
        .map_err(|e| ApiError::bad("sector", e))?;
    if let Some(text) = &q.q {
        check_text("q", text, MAX_SHORT, false)?;
    }
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad("limit", "must be between 1 and 100"));
    }
    let page = crate::federation::federated_search(
        &state,
        viewer,
        only_state,
        sector,
        q.q.clone().filter(|t| !t.is_empty()),
        limit,
        q.page_token.clone(),
    )
    .await?;
    Ok(Json(page))
}

/// The transfer id for a consumer's request id: deterministic, so a retry after a crash
/// names the same transfer on both nodes.
pub fn transfer_id_for(consumer: &OrgId, request_id: &str) -> String {
    let digest = Sha256::digest(format!("{consumer}\n{request_id}").as_bytes());
    format!("tr-{}", &hex::encode(digest)[..32])
}

/// `POST /api/v1/transfers`: a consumer asks for a dataset version; this node forwards the
/// signed request to the provider's node and records it once the provider's node accepted it.
#[utoipa::path(post, path = "/api/v1/transfers", request_body = TransferRequest,
    responses((status = 201, body = TransferView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn request_transfer(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<Response, ApiError> {
    let org = org_caller(&state, &headers, &conn).await?;
    submit_transfer(&state, &org, req, None).await
}

/// The agreement a transfer request runs under (see [`crate::agreements::request_transfer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnderAgreement {
    /// Agreement id.
    pub agreement_id: String,
    /// The state the consumer declares it will pass the data on to.
    pub onward_to: Option<StateCode>,
}

/// Validates a consumer's request, forwards it signed to the provider's node (naming the
/// agreement, if any) and records it once that node accepted it.
pub(crate) async fn submit_transfer(
    state: &NodeState,
    org: &Organisation,
    req: TransferRequest,
    under: Option<UnderAgreement>,
) -> Result<Response, ApiError> {
    check_request_id(&req.request_id)?;
    let provider: OrgId = req
        .provider
        .parse()
        .map_err(|e| ApiError::bad("provider", e))?;
    if req.sha256.len() != 64
        || !req
            .sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(ApiError::bad("sha256", "expected 64 lower-case hex digits"));
    }
    check_text("dataset_id", &req.dataset_id, 64, true)?;
    check_text("purpose", &req.purpose, MAX_LONG, true)?;
    if let Some(kind) = &req.recipient_kind
        && !["enterprise", "public-body", "foreign-authority"].contains(&kind.as_str())
    {
        return Err(ApiError::bad(
            "recipient_kind",
            "expected enterprise, public-body or foreign-authority",
        ));
    }
    let scope = org.id.to_string();
    let kind = req.recipient_kind.as_deref().unwrap_or("enterprise");
    let agreement_id = under.as_ref().map(|u| u.agreement_id.clone());
    let onward_to = under
        .as_ref()
        .and_then(|u| u.onward_to)
        .map(|s| s.to_string());
    let mut parts = vec![
        req.provider.as_str(),
        &req.dataset_id,
        &req.sha256,
        &req.purpose,
        kind,
    ];
    if let Some(a) = &agreement_id {
        parts.push(a);
        parts.push(onward_to.as_deref().unwrap_or("-"));
    }
    let fp = fingerprint(&parts);
    if let Some(r) = check_idempotent(state, &scope, &req.request_id, &fp).await? {
        return Ok(r);
    }
    crate::agreements::refuse_if_suspended(state, &org.id, "consumer").await?;
    let transfer = Transfer {
        id: transfer_id_for(&org.id, &req.request_id),
        consumer: org.id.clone(),
        provider,
        dataset_id: req.dataset_id.clone(),
        sha256: req.sha256.clone(),
        purpose: req.purpose.clone(),
        consumer_hpke_key: org.hpke_public_key.clone(),
        status: TransferStatus::AwaitingDecision,
        reason: None,
        requested_at: state.clock().now_unix(),
    };
    let wire = TransferRequestV1 {
        transfer_id: transfer.id.clone(),
        consumer: transfer.consumer.to_string(),
        provider: transfer.provider.to_string(),
        dataset_id: transfer.dataset_id.clone(),
        sha256: transfer.sha256.clone(),
        purpose: transfer.purpose.clone(),
        consumer_hpke_key: transfer.consumer_hpke_key.clone(),
        requested_at: transfer.requested_at,
        recipient_kind: req.recipient_kind.clone(),
        agreement_id: agreement_id.clone(),
        onward_to: onward_to.clone(),
    };
    let accepted = crate::federation::send_transfer_request(state, wire).await?;
    let mut tx = state.store().begin().await?;
    if let Some(answer) = tx.idempotent(&scope, &req.request_id, &fp).await? {
        return Ok(replay(answer));
    }
    let mut t = transfer;
    if let Some(s) =
        TransferStatus::parse(&accepted.status).filter(|s| *s == TransferStatus::Denied)
    {
        t.status = s;
        t.reason = accepted.reason.clone();
    }
    tx.insert_transfer(&t, TransferRole::Consumer).await?;
    let report = accepted.decision.as_ref().map(|d| json!({ "decision": d }));
    if let Some(r) = &report {
        tx.set_transfer_report(&t.id, TransferRole::Consumer, r)
            .await?;
    }
    tx.append_event(&NewEvent::new(
        "transfer.requested",
        &t.id,
        json!({ "consumer": t.consumer, "provider": t.provider, "dataset_id": t.dataset_id, "sha256": t.sha256, "agreement_id": agreement_id, "onward_to": onward_to }),
    ))
    .await?;
    let record = TransferRecord {
        transfer: t,
        role: TransferRole::Consumer,
        report,
        manifest: None,
        receipt: None,
        cipher_blob: None,
        updated_at: state.clock().now_unix(),
    };
    let body = serde_json::to_value(TransferView::from(&record)).map_err(ApiError::internal)?;
    tx.remember(
        &scope,
        &req.request_id,
        &fp,
        &IdempotentAnswer {
            status: 201,
            body: body.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Query of `GET /api/v1/transfers`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TransfersQuery {
    /// `consumer` (requests I made) or `provider` (requests for my datasets).
    pub role: String,
}

/// `GET /api/v1/transfers?role=`: the caller's transfers on this node.
#[utoipa::path(get, path = "/api/v1/transfers", params(TransfersQuery),
    responses((status = 200, body = Vec<TransferView>)))]
pub async fn list_transfers(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Query(q): Query<TransfersQuery>,
) -> Result<Json<Vec<TransferView>>, ApiError> {
    let org = org_caller(&state, &headers, &conn).await?;
    let role = match q.role.as_str() {
        "consumer" => TransferRole::Consumer,
        "provider" => TransferRole::Provider,
        _ => return Err(ApiError::bad("role", "expected 'consumer' or 'provider'")),
    };
    let records = state.store().transfers_of(&org.id, role).await?;
    Ok(Json(records.iter().map(TransferView::from).collect()))
}

/// The caller's record of a transfer: the consumer's record for the consumer, the
/// provider's for the provider; anyone else gets "not found" (not even existence leaks).
async fn own_record(
    state: &NodeState,
    org: &Organisation,
    id: &str,
) -> Result<TransferRecord, ApiError> {
    if let Some(r) = state.store().transfer(id, TransferRole::Consumer).await?
        && r.transfer.consumer == org.id
    {
        return Ok(r);
    }
    if let Some(r) = state.store().transfer(id, TransferRole::Provider).await?
        && r.transfer.provider == org.id
    {
        return Ok(r);
    }
    Err(ApiError::NotFound(format!("transfer {id}")))
}

/// `GET /api/v1/transfers/{id}`.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 404, body = ErrorBody)))]
pub async fn get_transfer(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<TransferView>, ApiError> {
    let org = org_caller(&state, &headers, &conn).await?;
    Ok(Json(TransferView::from(
        &own_record(&state, &org, &id).await?,
    )))
}

/// `GET /api/v1/transfers/{id}/events`: this node's events about a transfer of the caller's.
#[utoipa::path(get, path = "/api/v1/transfers/{id}/events", params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = Vec<EventView>), (status = 404, body = ErrorBody)))]
pub async fn transfer_events(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    match state.caller(&headers, conn.0.as_ref()).await? {
        Caller::Org(org) => {
            own_record(&state, &org, &id).await?;
        }
        Caller::Operator => {}
    }
    let events = state.store().events_about(&id).await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}

/// `POST /api/v1/transfers/{id}/decision`: the provider organisation approves or denies.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/decision", params(("id" = String, Path, description = "Transfer id")),
    request_body = DecisionRequest,
    responses((status = 200, body = TransferView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide_transfer(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> Result<Response, ApiError> {
    let org = org_caller(&state, &headers, &conn).await?;
    let view = decide_as(&state, &org, &id, req).await?;
    Ok((StatusCode::OK, Json(view)).into_response())
}

/// The provider organisation `org` approves or refuses transfer `id`: the one path of the API
/// handler and the portal, which calls it on behalf of a signed-in person's organisation.
///
/// # Errors
/// [`ApiError`]: 403 when `org` is not the provider, 409 when already decided or when an
/// obligation of the rule packs is unmet (naming it), 400 naming a field at fault.
pub async fn decide_as(
    state: &NodeState,
    org: &Organisation,
    id: &str,
    req: DecisionRequest,
) -> Result<TransferView, ApiError> {
    let id = id.to_owned();
    check_request_id(&req.request_id)?;
    let reason = req.reason.clone().unwrap_or_default();
    check_text("reason", &reason, MAX_LONG, !req.approve)?;
    let record = state
        .store()
        .transfer(&id, TransferRole::Provider)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("transfer {id}")))?;
    if record.transfer.provider != org.id {
        return Err(ApiError::Forbidden(
            "only the providing organisation decides on this transfer".into(),
        ));
    }
    let scope = org.id.to_string();
    let grounds_json = serde_json::to_string(&req.grounds).map_err(ApiError::internal)?;
    let fp = fingerprint(&[
        &id,
        if req.approve { "approve" } else { "deny" },
        &reason,
        &grounds_json,
    ]);
    let mut tx = state.store().begin().await?;
    if let Some(answer) = tx.idempotent(&scope, &req.request_id, &fp).await? {
        return serde_json::from_value(answer.body).map_err(ApiError::internal);
    }
    if record.transfer.status != TransferStatus::AwaitingDecision {
        return Err(ApiError::Conflict {
            field: "transfer_id".into(),
            reason: format!("transfer is already {}", record.transfer.status.as_str()),
        });
    }
    let report: serde_json::Value = record
        .report
        .clone()
        .ok_or_else(|| ApiError::internal("transfer awaiting decision has no review report"))?;
    let review: pipeline::ContentReport = report
        .get("review")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .ok_or_else(|| ApiError::internal("transfer awaiting decision has no review report"))?;
    let mut decision: pipeline::TransferDecision = report
        .get("decision")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .ok_or_else(|| ApiError::internal("transfer awaiting decision has no decision"))?;
    let provider_decision = if req.approve {
        ProviderDecision::Approve
    } else {
        ProviderDecision::Deny {
            reason: reason.clone(),
        }
    };
    if let (ProviderDecision::Approve, Some(grounds), Some(facts)) =
        (&provider_decision, req.grounds, decision.facts.as_ref())
    {
        // Decide again on the grounds the provider attests, with today's counts.
        let mut facts = facts.clone();
        facts.grounds = pipeline::merge_grounds(facts.grounds, grounds);
        facts.year_to_date = pipeline::year_to_date(state, &record.transfer.provider)
            .await
            .map_err(ApiError::internal)?;
        let mut again = pipeline::decide_with(
            state.policy(),
            &review,
            Some(facts),
            &state.0.options.deidentify,
            state.0.options.incomplete_review,
            state.clock().now_unix(),
        )
        .map_err(|e| ApiError::bad("grounds", e))?;
        crate::agreements::carry_over(&decision, &mut again);
        decision = again;
    }
    let (to, deny_reason) = match provider_decision {
        _ if decision.is_deny() => (TransferStatus::Denied, Some(decision.reason_line())),
        ProviderDecision::Deny { reason } => (TransferStatus::Denied, Some(reason)),
        ProviderDecision::Approve => {
            let unmet = decision.unmet_legal_obligations();
            if !unmet.is_empty() {
                return Err(ApiError::Conflict {
                    field: "grounds".into(),
                    reason: format!(
                        "obligations of the rule packs are not met: {}; attest the grounds that meet them",
                        unmet.join(", ")
                    ),
                });
            }
            decision.met.push(pipeline::PROVIDER_APPROVAL.into());
            (TransferStatus::Approved, None)
        }
    };
    let decision_json = serde_json::to_value(&decision).map_err(ApiError::internal)?;
    let provider_json = json!({
        "approved": to == TransferStatus::Approved,
        "by": org.id,
        "reason": if req.approve { None } else { Some(reason.clone()) },
        "grounds": req.grounds,
    });
    let new_report =
        json!({ "review": review, "decision": decision_json, "provider": provider_json });
    if !tx
        .set_transfer_status(
            &id,
            TransferRole::Provider,
            TransferStatus::AwaitingDecision,
            to,
            deny_reason.as_deref(),
        )
        .await?
    {
        return Err(ApiError::Conflict {
            field: "transfer_id".into(),
            reason: "decided concurrently".into(),
        });
    }
    tx.set_transfer_report(&id, TransferRole::Provider, &new_report)
        .await?;
    // The provider's answer is its own event: `transfer.decided` is the rule packs' decision.
    let kind = if to == TransferStatus::Approved {
        "transfer.approved"
    } else {
        "transfer.refused"
    };
    tx.append_event(&NewEvent::new(
        kind,
        &id,
        json!({
            "outcome": decision.decision.outcome,
            "legal_outcome": decision.legal_outcome,
            "obligations": decision.decision.obligation_ids(),
            "met": decision.met,
            "reasons": decision.decision.reasons.iter().map(|r| r.rule.clone()).collect::<Vec<_>>(),
            "rulepacks": decision.decision.rulepacks,
            "decided_by": org.id,
            "provider": provider_json,
        }),
    ))
    .await?;
    let mut updated = record.clone();
    updated.transfer.status = to;
    updated.transfer.reason = deny_reason.clone();
    updated.report = Some(new_report);
    let view = TransferView::from(&updated);
    let body = serde_json::to_value(&view).map_err(ApiError::internal)?;
    tx.remember(
        &scope,
        &req.request_id,
        &fp,
        &IdempotentAnswer { status: 200, body },
    )
    .await?;
    // A denial is owed to the consumer's node, queued with the change: lost, the consumer
    // would wait for a delivery that never comes.
    if let Some(reason) = &deny_reason {
        let notice = TransferDeniedV1 {
            transfer_id: id.clone(),
            reason: reason.clone(),
            decided_at: tx.now_unix(),
            decision: Some(decision_json),
        };
        crate::outbox::queue(
            &mut tx,
            &format!("td-{id}"),
            record.transfer.consumer_state(),
            &crate::outbox::Owed::Denied(notice),
        )
        .await?;
    }
    tx.commit().await?;
    let pair = format!(
        "{}->{}",
        record.transfer.provider_state(),
        record.transfer.consumer_state()
    );
    match deny_reason {
        None => state.wake_worker(),
        Some(_) => {
            state.metrics().add(
                "silkgate_transfers_total",
                &[("pair", &pair), ("outcome", "denied")],
                1,
            );
            state.wake_outbox();
        }
    }
    Ok(view)
}

/// `GET /api/v1/transfers/{id}/payload`: the encrypted payload delivered to the caller
/// (decrypt it with the organisation's private key and the manifest's encapsulated key).
#[utoipa::path(get, path = "/api/v1/transfers/{id}/payload", params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, description = "HPKE-encrypted record stream", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn delivery_payload(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let org = org_caller(&state, &headers, &conn).await?;
    let record = state
        .store()
        .transfer(&id, TransferRole::Consumer)
        .await?
        .filter(|r| r.transfer.consumer == org.id)
        .ok_or_else(|| ApiError::NotFound(format!("delivery {id}")))?;
    let (Some(blob), Some(manifest)) = (record.cipher_blob, record.manifest) else {
        return Err(ApiError::NotFound(format!(
            "delivery {id} (not delivered yet)"
        )));
    };
    let stream = state.store().blobs().read(&blob).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_LENGTH,
                manifest.document.ciphertext_size.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Query of `GET /api/v1/events`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Events after this sequence number (default 0).
    pub after: Option<i64>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/events`: the node's event stream (operator only).
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery),
    responses((status = 200, body = Vec<EventView>), (status = 403, body = ErrorBody)))]
pub async fn events(
    State(state): State<NodeState>,
    conn: Conn,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    if !matches!(
        state.caller(&headers, conn.0.as_ref()).await?,
        Caller::Operator
    ) {
        return Err(ApiError::Forbidden(
            "only the node operator reads the whole event stream".into(),
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit", "must be between 1 and 1000"));
    }
    let events = state.store().events(q.after.unwrap_or(0), limit).await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}
