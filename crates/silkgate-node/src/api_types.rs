//! JSON bodies of the organisation and operator API (`/api/v1/...`), described in the
//! OpenAPI document. Converted by hand from domain types, like the federation wire types.

use serde::{Deserialize, Serialize};
use silkgate_model::{DatasetVersion, Event, Organisation, Visibility};
use silkgate_store::TransferRecord;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Longest accepted short text field (names, titles, contacts), in characters.
pub const MAX_SHORT: usize = 200;
/// Longest accepted description or purpose, in characters.
pub const MAX_LONG: usize = 4000;
/// Most columns in a schema.
pub const MAX_COLUMNS: usize = 1000;

/// Checks a client-chosen request id: 1 to 128 characters of `A-Z a-z 0-9 . _ -`.
///
/// # Errors
/// [`ApiError::BadRequest`] naming `request_id`.
pub fn check_request_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 128 {
        return Err(ApiError::bad("request_id", "must be 1 to 128 characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(ApiError::bad(
            "request_id",
            "may contain only letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Checks a text field's length (in characters) and that it is not blank when required.
///
/// # Errors
/// [`ApiError::TooLarge`] or [`ApiError::BadRequest`] naming `field`.
pub fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n > max {
        return Err(ApiError::TooLarge {
            field: field.to_owned(),
            reason: format!("{n} characters, at most {max} allowed"),
        });
    }
    if required && value.trim().is_empty() {
        return Err(ApiError::bad(field, "must not be empty"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::bad(field, "must not contain control characters"));
    }
    Ok(())
}

/// Registers an organisation (operator only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterOrganisationRequest {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Legal name.
    pub name: String,
    /// Registration number in the state's register.
    pub registration_number: String,
    /// `trade`, `investment`, `finance`, `intellectual-property` or `other`.
    pub sector: String,
    /// Contact of the data-protection officer.
    pub contact: String,
    /// X25519 public key (64 hex digits) deliveries are encrypted to.
    pub hpke_public_key: String,
}

/// An organisation as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OrganisationView {
    /// Federation-wide id (`<STATE>.<hex>`).
    pub id: String,
    /// Home state.
    pub state: String,
    /// Legal name.
    pub name: String,
    /// Registration number.
    pub registration_number: String,
    /// Sector.
    pub sector: String,
    /// Contact.
    pub contact: String,
    /// X25519 public key (hex).
    pub hpke_public_key: String,
    /// Registration time, Unix seconds.
    pub registered_at: i64,
}

impl From<&Organisation> for OrganisationView {
    fn from(o: &Organisation) -> Self {
        Self {
            id: o.id.to_string(),
            state: o.id.state().to_string(),
            name: o.name.clone(),
            registration_number: o.registration_number.clone(),
            sector: o.sector.to_string(),
            contact: o.contact.clone(),
            hpke_public_key: o.hpke_public_key.clone(),
            registered_at: o.registered_at,
        }
    }
}

/// The credential handed to a newly registered organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Credentials {
    /// The organisation.
    pub organisation: OrganisationView,
    /// Bearer token for the API.
    pub api_token: String,
    /// Client certificate (PEM) issued by the node's CA.
    pub client_cert_pem: String,
    /// Its private key (PEM).
    pub client_key_pem: String,
    /// The node's CA certificate (PEM), to trust the node's TLS certificate.
    pub ca_cert_pem: String,
    /// The node's URL.
    pub node_url: String,
}

/// One schema column.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ColumnView {
    /// Name.
    pub name: String,
    /// Declared type.
    #[serde(rename = "type")]
    pub ty: String,
}

/// Metadata of a dataset version to publish; sent base64url-encoded in the
/// `Silkgate-Dataset` header, with the payload as the request body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishMetadata {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Dataset identifier (stable across versions): 1 to 64 of `a-z 0-9 . _ -`.
    pub dataset_id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Sector.
    pub sector: String,
    /// `csv` or `json-lines`.
    pub format: String,
    /// Columns.
    pub schema: Vec<ColumnView>,
    /// `{"scope":"national"}`, `{"scope":"states","states":["KZ"]}` or `{"scope":"federation"}`.
    #[schema(value_type = Object)]
    pub visibility: Visibility,
}

/// A catalogue entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DatasetView {
    /// Dataset id.
    pub dataset_id: String,
    /// Version: SHA-256 of the payload.
    pub sha256: String,
    /// Provider organisation.
    pub provider: String,
    /// Provider's state.
    pub state: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Sector.
    pub sector: String,
    /// Format.
    pub format: String,
    /// Columns.
    pub schema: Vec<ColumnView>,
    /// Payload size in bytes.
    pub size: u64,
    /// Publication time, Unix seconds.
    pub published_at: i64,
}

impl From<&DatasetVersion> for DatasetView {
    fn from(d: &DatasetVersion) -> Self {
        Self {
            dataset_id: d.dataset_id.clone(),
            sha256: d.sha256.clone(),
            provider: d.provider.to_string(),
            state: d.state().to_string(),
            title: d.title.clone(),
            description: d.description.clone(),
            sector: d.sector.to_string(),
            format: d.format.as_str().into(),
            schema: d
                .schema
                .iter()
                .map(|c| ColumnView {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                })
                .collect(),
            size: d.size,
            published_at: d.published_at,
        }
    }
}

/// One page of a federated catalogue search.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CataloguePage {
    /// Entries, ordered by state, then dataset id and version.
    pub items: Vec<DatasetView>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
    /// States whose nodes did not answer.
    pub unreachable: Vec<String>,
}

/// A consumer asks for a dataset version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Provider organisation id.
    pub provider: String,
    /// Dataset id.
    pub dataset_id: String,
    /// Version (SHA-256).
    pub sha256: String,
    /// Why the data is needed.
    pub purpose: String,
    /// What kind of body the consumer is: `enterprise` (default), `public-body` or
    /// `foreign-authority`. The provider's rule packs read it.
    #[serde(default)]
    pub recipient_kind: Option<String>,
}

/// The provider's decision on a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Client-chosen idempotency key.
    pub request_id: String,
    /// Approve (true) or deny (false).
    pub approve: bool,
    /// Reason (required when denying).
    pub reason: Option<String>,
    /// Grounds the provider attests are in place (standard contract filed, consent
    /// obtained...), as in the policy facts; when given, the node decides again on them and
    /// approves only if no obligation of the rule packs remains.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub grounds: Option<silkgate_policy::Grounds>,
}

/// A transfer as one side sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferView {
    /// Transfer id.
    pub id: String,
    /// `provider` or `consumer`: which node's record this is.
    pub role: String,
    /// Consumer organisation.
    pub consumer: String,
    /// Provider organisation.
    pub provider: String,
    /// Dataset id.
    pub dataset_id: String,
    /// Version.
    pub sha256: String,
    /// Purpose.
    pub purpose: String,
    /// Status word.
    pub status: String,
    /// Reason of a denial.
    pub reason: Option<String>,
    /// Request time, Unix seconds.
    pub requested_at: i64,
    /// Content review report (provider side): `review` (hash, size, the scanner's report),
    /// `decision`, and `deidentification` once applied.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    /// The compliance decision (both sides): outcome, obligations, reasons with citations,
    /// rule-pack versions.
    #[schema(value_type = Option<Object>)]
    pub decision: Option<serde_json::Value>,
    /// Signed delivery manifest.
    #[schema(value_type = Option<Object>)]
    pub manifest: Option<serde_json::Value>,
    /// Signed receipt.
    #[schema(value_type = Option<Object>)]
    pub receipt: Option<serde_json::Value>,
}

impl From<&TransferRecord> for TransferView {
    fn from(r: &TransferRecord) -> Self {
        let t = &r.transfer;
        Self {
            id: t.id.clone(),
            role: r.role.as_str().into(),
            consumer: t.consumer.to_string(),
            provider: t.provider.to_string(),
            dataset_id: t.dataset_id.clone(),
            sha256: t.sha256.clone(),
            purpose: t.purpose.clone(),
            status: t.status.as_str().into(),
            reason: t.reason.clone(),
            requested_at: t.requested_at,
            report: r.report.clone(),
            decision: r.report.as_ref().and_then(|v| v.get("decision").cloned()),
            manifest: r
                .manifest
                .as_ref()
                .and_then(|m| serde_json::to_value(m).ok()),
            receipt: r
                .receipt
                .as_ref()
                .and_then(|m| serde_json::to_value(m).ok()),
        }
    }
}

/// An event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct EventView {
    /// Sequence number on this node.
    pub seq: i64,
    /// Time, Unix seconds.
    pub at: i64,
    /// Kind, e.g. `transfer.delivered`.
    pub kind: String,
    /// Subject id.
    pub subject: String,
    /// Details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            kind: e.kind.clone(),
            subject: e.subject.clone(),
            detail: e.detail.clone(),
        }
    }
}
