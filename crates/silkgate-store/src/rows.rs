//! Row shapes, the SQL that reads them, and their conversion to domain types.

use silkgate_model::{
    AgreementState, AgreementStatus, DatasetFormat, DatasetVersion, DeliveryManifest,
    DeliveryReceipt, Event, OrgId, Organisation, Sector, Signed, Transfer, TransferStatus,
};

use crate::StoreError;

/// Which side of a transfer a node's record describes. A transfer inside one state has both
/// records on the same node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferRole {
    /// The provider's node: reviews, decides, encrypts and delivers.
    Provider,
    /// The consumer's node: forwards the request, receives and holds the delivery.
    Consumer,
}

impl TransferRole {
    /// The stable word stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Consumer => "consumer",
        }
    }
}

/// A node's record of a transfer: the domain [`Transfer`] plus what this side holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    /// The transfer.
    pub transfer: Transfer,
    /// Which side this record is.
    pub role: TransferRole,
    /// The content review report (provider side), as the review step produced it.
    pub report: Option<serde_json::Value>,
    /// The signed delivery manifest, once delivered.
    pub manifest: Option<Signed<DeliveryManifest>>,
    /// The signed receipt, once received (provider) or issued (consumer).
    pub receipt: Option<Signed<DeliveryReceipt>>,
    /// Key of the encrypted payload blob (provider: prepared to send; consumer: received).
    pub cipher_blob: Option<String>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// Server-side catalogue filter with keyset pagination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogueFilter {
    /// Only this sector.
    pub sector: Option<Sector>,
    /// Case-insensitive substring of title or description.
    pub text: Option<String>,
    /// Only entries whose key `dataset_id/sha256` sorts after this.
    pub after: Option<String>,
    /// Page size.
    pub limit: u32,
}

pub(crate) type OrgRow = (String, String, String, String, String, String, i64);
pub(crate) type OrgRowWithCert = (String, String, String, String, String, String, i64, String);

pub(crate) trait SplitCert {
    fn split(self) -> (OrgRow, String);
}
impl SplitCert for OrgRowWithCert {
    fn split(self) -> (OrgRow, String) {
        (
            (self.0, self.1, self.2, self.3, self.4, self.5, self.6),
            self.7,
        )
    }
}

pub(crate) const ORG_SELECT_BY_ID: &str = "SELECT id, name, registration_number, sector, contact, hpke_public_key, registered_at FROM organisations WHERE id = $1";
pub(crate) const ORG_SELECT_BY_TOKEN: &str = "SELECT id, name, registration_number, sector, contact, hpke_public_key, registered_at, cert_sha256 FROM organisations WHERE token_sha256 = $1";

fn corrupt(what: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: reason.to_string(),
    }
}

pub(crate) fn org_from_row(r: OrgRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: r.0.parse().map_err(|e| corrupt("organisations.id", e))?,
        name: r.1,
        registration_number: r.2,
        sector: r
            .3
            .parse()
            .map_err(|e| corrupt("organisations.sector", e))?,
        contact: r.4,
        hpke_public_key: r.5,
        registered_at: r.6,
    })
}

pub(crate) type DatasetRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
);

pub(crate) const DATASET_SELECT_ONE: &str = "SELECT dataset_id, sha256, provider, title, description, sector, format, schema_json, visibility_json, size, published_at, blob_key FROM dataset_versions WHERE dataset_id = $1 AND sha256 = $2";

// `$3` is the keyset cursor: rows strictly after `dataset_id || '/' || sha256`.
pub(crate) const DATASET_SEARCH: &str = "SELECT dataset_id, sha256, provider, title, description, sector, format, schema_json, visibility_json, size, published_at, blob_key FROM dataset_versions \
     WHERE ($1 IS NULL OR sector = $1) \
       AND ($2 IS NULL OR lower(title) LIKE $2 ESCAPE '\\' OR lower(description) LIKE $2 ESCAPE '\\') \
       AND (dataset_id || '/' || sha256) > $3 \
     ORDER BY dataset_id, sha256 LIMIT $4";

pub(crate) fn dataset_from_row(r: DatasetRow) -> Result<(DatasetVersion, String), StoreError> {
    let provider: OrgId =
        r.2.parse()
            .map_err(|e| corrupt("dataset_versions.provider", e))?;
    Ok((
        DatasetVersion {
            dataset_id: r.0,
            sha256: r.1,
            provider,
            title: r.3,
            description: r.4,
            sector: r
                .5
                .parse()
                .map_err(|e| corrupt("dataset_versions.sector", e))?,
            format: DatasetFormat::parse(&r.6)
                .ok_or_else(|| corrupt("dataset_versions.format", &r.6))?,
            schema: serde_json::from_str(&r.7)
                .map_err(|e| corrupt("dataset_versions.schema_json", e))?,
            visibility: serde_json::from_str(&r.8)
                .map_err(|e| corrupt("dataset_versions.visibility_json", e))?,
            size: r.9 as u64,
            published_at: r.10,
        },
        r.11,
    ))
}

pub(crate) type TransferRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub(crate) const TRANSFER_SELECT_ONE: &str = "SELECT id, role, consumer, provider, dataset_id, sha256, purpose, consumer_hpke_key, status, reason, requested_at, updated_at, report_json, manifest_json, receipt_json, cipher_blob FROM transfers WHERE id = $1 AND role = $2";
pub(crate) const TRANSFER_SELECT_BY_CONSUMER: &str = "SELECT id, role, consumer, provider, dataset_id, sha256, purpose, consumer_hpke_key, status, reason, requested_at, updated_at, report_json, manifest_json, receipt_json, cipher_blob FROM transfers WHERE consumer = $1 AND role = $2 ORDER BY requested_at DESC, id";
pub(crate) const TRANSFER_SELECT_BY_PROVIDER: &str = "SELECT id, role, consumer, provider, dataset_id, sha256, purpose, consumer_hpke_key, status, reason, requested_at, updated_at, report_json, manifest_json, receipt_json, cipher_blob FROM transfers WHERE provider = $1 AND role = $2 ORDER BY requested_at DESC, id";
pub(crate) const TRANSFER_SELECT_BY_STATUS: &str = "SELECT id, role, consumer, provider, dataset_id, sha256, purpose, consumer_hpke_key, status, reason, requested_at, updated_at, report_json, manifest_json, receipt_json, cipher_blob FROM transfers WHERE role = $1 AND status = $2 ORDER BY requested_at, id";

fn opt_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    s: Option<String>,
) -> Result<Option<T>, StoreError> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| corrupt(what, e)))
        .transpose()
}

pub(crate) fn transfer_from_row(r: TransferRow) -> Result<TransferRecord, StoreError> {
    let role = match r.1.as_str() {
        "provider" => TransferRole::Provider,
        "consumer" => TransferRole::Consumer,
        other => return Err(corrupt("transfers.role", other)),
    };
    Ok(TransferRecord {
        transfer: Transfer {
            id: r.0,
            consumer: r.2.parse().map_err(|e| corrupt("transfers.consumer", e))?,
            provider: r.3.parse().map_err(|e| corrupt("transfers.provider", e))?,
            dataset_id: r.4,
            sha256: r.5,
            purpose: r.6,
            consumer_hpke_key: r.7,
            status: TransferStatus::parse(&r.8).ok_or_else(|| corrupt("transfers.status", &r.8))?,
            reason: r.9,
            requested_at: r.10,
        },
        role,
        updated_at: r.11,
        report: opt_json("transfers.report_json", r.12)?,
        manifest: opt_json("transfers.manifest_json", r.13)?,
        receipt: opt_json("transfers.receipt_json", r.14)?,
        cipher_blob: r.15,
    })
}

pub(crate) type EventRow = (i64, i64, String, String, String);

pub(crate) fn event_from_row(r: EventRow) -> Result<Event, StoreError> {
    Ok(Event {
        seq: r.0,
        at: r.1,
        kind: r.2,
        subject: r.3,
        detail: serde_json::from_str(&r.4).map_err(|e| corrupt("events.detail", e))?,
    })
}

/// A node's record of an agreement: the signed lifecycle state and what indexes it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementRecord {
    /// Agreement id.
    pub id: String,
    /// The providing organisation.
    pub provider: OrgId,
    /// The receiving organisation.
    pub consumer: OrgId,
    /// Status, as the state says.
    pub status: AgreementStatus,
    /// Revision of the document.
    pub revision: u32,
    /// The signed lifecycle state; re-verify its signatures before relying on it.
    pub state: AgreementState,
    /// First stored, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// The stable word of an agreement status, as stored in `agreements.status`.
pub(crate) fn agreement_status_word(s: AgreementStatus) -> &'static str {
    match s {
        AgreementStatus::Proposed => "proposed",
        AgreementStatus::Signed => "signed",
        AgreementStatus::Active => "active",
        AgreementStatus::Suspended => "suspended",
        AgreementStatus::Expired => "expired",
        AgreementStatus::Terminated => "terminated",
    }
}

pub(crate) type AgreementRow = (String, String, String, String, i64, String, i64, i64);

pub(crate) const AGREEMENT_SELECT_ONE: &str = "SELECT id, provider, consumer, status, revision, state_json, created_at, updated_at FROM agreements WHERE id = $1";
pub(crate) const AGREEMENT_SELECT_BY_ORG: &str = "SELECT id, provider, consumer, status, revision, state_json, created_at, updated_at FROM agreements WHERE provider = $1 OR consumer = $1 ORDER BY updated_at DESC, id";

pub(crate) fn agreement_from_row(r: AgreementRow) -> Result<AgreementRecord, StoreError> {
    let state: AgreementState =
        serde_json::from_str(&r.5).map_err(|e| corrupt("agreements.state_json", e))?;
    if agreement_status_word(state.status()) != r.3 {
        return Err(corrupt(
            "agreements.status",
            format!("'{}' but the state says {:?}", r.3, state.status()),
        ));
    }
    Ok(AgreementRecord {
        id: r.0,
        provider: r.1.parse().map_err(|e| corrupt("agreements.provider", e))?,
        consumer: r.2.parse().map_err(|e| corrupt("agreements.consumer", e))?,
        status: state.status(),
        revision: u32::try_from(r.4).map_err(|e| corrupt("agreements.revision", e))?,
        state,
        created_at: r.6,
        updated_at: r.7,
    })
}
