//! Federation wire types, version 1 (`/federation/v1/...`). These are the contract between
//! nodes of different states: they are converted to and from domain types by hand, so a
//! refactor of `silkgate-model` cannot change the protocol by accident, and each is pinned
//! by a golden JSON file (`tests/golden/`, compared byte for byte by this module's tests).
//! An unknown field is refused, naming it: a field is added in a new version, not slipped in. Each message that
//! changes state is a [`silkgate_model::Signed`] document signed by the sending node.

use serde::{Deserialize, Serialize};
use silkgate_model::{
    Column, DatasetFormat, DatasetVersion, Document, OrgId, Sector, StateCode, Visibility,
};

/// How long a signed federation message stays valid after it is issued.
pub const MESSAGE_TTL_SECS: i64 = 300;

/// How far ahead of the receiver's clock a message may say it was issued (clock skew).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// The route and freshness of every signed federation message: who sent it, to which node,
/// under which unique id, when, and until when it may be accepted. The receiver refuses a
/// message for another node, an expired one, or one whose id it has already accepted, so a
/// captured message cannot be replayed, nor sent on to a third node. The signature covers it
/// with the body; its kind is the body's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeV1<T> {
    /// Unique id (`msg-` and 32 hex digits), fresh for each message sent.
    pub message_id: String,
    /// The sending node's id (must be the signer).
    pub sender: String,
    /// The node it is addressed to.
    pub recipient: String,
    /// When issued, Unix seconds, by the sender's clock.
    pub issued_at: i64,
    /// Accepted until then, Unix seconds (at most [`MESSAGE_TTL_SECS`] after `issued_at`).
    pub expires_at: i64,
    /// The message.
    pub body: T,
}

impl<T: Document> Document for EnvelopeV1<T> {
    const KIND: &'static str = T::KIND;
}

impl<T> EnvelopeV1<T> {
    /// Checks the route and freshness for `me` (this node's id) at `now` (Unix seconds);
    /// `signer` is the key id that signed it.
    ///
    /// # Errors
    /// [`WireError`] naming the field at fault.
    pub fn check(&self, signer: &str, me: &str, now: i64) -> Result<(), WireError> {
        let id_ok = self.message_id.len() <= 100
            && self.message_id.starts_with("msg-")
            && self.message_id[4..].bytes().all(|b| b.is_ascii_hexdigit());
        if !id_ok {
            return Err(werr("message_id", "expected msg- and hex digits"));
        }
        if self.sender != signer {
            return Err(werr("sender", "is not the node that signed the message"));
        }
        if self.recipient != me {
            return Err(werr(
                "recipient",
                format!(
                    "the message is addressed to {}, not to this node",
                    self.recipient
                ),
            ));
        }
        if self.issued_at > now + MAX_CLOCK_SKEW_SECS {
            return Err(werr("issued_at", "lies in the future"));
        }
        if self.expires_at < self.issued_at || self.expires_at - self.issued_at > MESSAGE_TTL_SECS {
            return Err(werr(
                "expires_at",
                format!("must be within {MESSAGE_TTL_SECS} s of issued_at"),
            ));
        }
        if now > self.expires_at {
            return Err(werr("expires_at", "the message has expired"));
        }
        Ok(())
    }
}

/// A catalogue entry as nodes exchange it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntryV1 {
    /// Dataset identifier.
    pub dataset_id: String,
    /// Version (SHA-256 of the payload).
    pub sha256: String,
    /// Provider organisation id.
    pub provider: String,
    /// Provider's state.
    pub state: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Sector word.
    pub sector: String,
    /// `csv` or `json-lines`.
    pub format: String,
    /// Columns as `(name, type)`.
    pub columns: Vec<(String, String)>,
    /// Payload size.
    pub size: u64,
    /// Publication time, Unix seconds.
    pub published_at: i64,
}

/// Why a wire message could not become a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("federation message field '{field}': {reason}")]
pub struct WireError {
    /// The field.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

fn werr(field: &'static str, reason: impl ToString) -> WireError {
    WireError {
        field,
        reason: reason.to_string(),
    }
}

impl From<&DatasetVersion> for DatasetEntryV1 {
    fn from(d: &DatasetVersion) -> Self {
        Self {
            dataset_id: d.dataset_id.clone(),
            sha256: d.sha256.clone(),
            provider: d.provider.to_string(),
            state: d.state().to_string(),
            title: d.title.clone(),
            description: d.description.clone(),
            sector: d.sector.as_str().into(),
            format: d.format.as_str().into(),
            columns: d
                .schema
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect(),
            size: d.size,
            published_at: d.published_at,
        }
    }
}

impl DatasetEntryV1 {
    /// Converts to the domain type. Visibility is not sent (the sender already applied it),
    /// so the entry comes back as visible to the asking node's state.
    ///
    /// # Errors
    /// [`WireError`] naming the malformed field.
    pub fn into_domain(self, viewer: StateCode) -> Result<DatasetVersion, WireError> {
        let provider: OrgId = self.provider.parse().map_err(|e| werr("provider", e))?;
        if provider.state().as_str() != self.state {
            return Err(werr("state", "does not match the provider's state"));
        }
        Ok(DatasetVersion {
            dataset_id: self.dataset_id,
            sha256: self.sha256,
            provider,
            title: self.title,
            description: self.description,
            sector: self
                .sector
                .parse::<Sector>()
                .map_err(|e| werr("sector", e))?,
            format: DatasetFormat::parse(&self.format)
                .ok_or_else(|| werr("format", "unknown format"))?,
            schema: self
                .columns
                .into_iter()
                .map(|(name, ty)| Column { name, ty })
                .collect(),
            visibility: Visibility::States {
                states: vec![viewer],
            },
            size: self.size,
            published_at: self.published_at,
        })
    }
}

/// A node asks a peer for catalogue entries visible to its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequestV1 {
    /// The asking node's state (checked against the signer).
    pub requester_state: String,
    /// Sector filter.
    pub sector: Option<String>,
    /// Text filter.
    pub text: Option<String>,
    /// Keyset cursor: entries strictly after `dataset_id/sha256`.
    pub after: Option<String>,
    /// Page size (at most 100).
    pub limit: u32,
    /// When sent, Unix seconds.
    pub sent_at: i64,
}

impl Document for SearchRequestV1 {
    const KIND: &'static str = "federation/catalogue-search/v1";
}

/// The answer to [`SearchRequestV1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchResponseV1 {
    /// Matching entries, ordered by `dataset_id/sha256`.
    pub entries: Vec<DatasetEntryV1>,
    /// Whether more entries follow the last one.
    pub more: bool,
}

/// The consumer's node asks the provider's node for a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequestV1 {
    /// Transfer id, derived by the consumer's node from the consumer and its request id.
    pub transfer_id: String,
    /// Consumer organisation id.
    pub consumer: String,
    /// Provider organisation id.
    pub provider: String,
    /// Dataset id.
    pub dataset_id: String,
    /// Version.
    pub sha256: String,
    /// Purpose.
    pub purpose: String,
    /// X25519 public key (hex) to encrypt to.
    pub consumer_hpke_key: String,
    /// When requested, Unix seconds.
    pub requested_at: i64,
    /// What kind of body the consumer is (`enterprise`, `public-body`,
    /// `foreign-authority`), as its node registered it; absent means `enterprise`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_kind: Option<String>,
    /// The agreement the transfer runs under, if any; the provider's node checks the request
    /// against its terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    /// The state the consumer declares it will pass the data on to, checked against the
    /// agreement's onward-transfer term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onward_to: Option<String>,
}

impl Document for TransferRequestV1 {
    const KIND: &'static str = "federation/transfer-request/v1";
}

/// The provider's node accepted a request for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferAcceptedV1 {
    /// Transfer id.
    pub transfer_id: String,
    /// Status on the provider's node.
    pub status: String,
    /// The compliance decision the provider's node took on the request, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<serde_json::Value>,
    /// The reasons of a denial in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The provider's node tells the consumer's node that a request was denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferDeniedV1 {
    /// Transfer id.
    pub transfer_id: String,
    /// Reason given.
    pub reason: String,
    /// When decided, Unix seconds.
    pub decided_at: i64,
    /// The compliance decision, as JSON, so the consumer sees its reasons and citations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<serde_json::Value>,
}

impl Document for TransferDeniedV1 {
    const KIND: &'static str = "federation/transfer-denied/v1";
}

/// Error body of federation endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationErrorV1 {
    /// Field at fault, if any.
    pub field: Option<String>,
    /// Reason.
    pub reason: String,
}

/// A party's node sends the new state of an agreement to the other party's node (proposal,
/// counter-proposal, acceptance, authority approval, suspension, resumption, termination,
/// expiry). The state carries its own signatures, checked against the trust list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementMessageV1 {
    /// Agreement id (must match the state's document).
    pub agreement_id: String,
    /// The `silkgate_model::AgreementState`, as JSON.
    pub state: serde_json::Value,
    /// When sent, Unix seconds.
    pub sent_at: i64,
}

impl Document for AgreementMessageV1 {
    const KIND: &'static str = "federation/agreement/v1";
}

/// The consumer's node reports to the provider's node a usage duty it carried out under an
/// agreement (`retention-deleted`: the delivery deleted when its retention ended;
/// `onward-refused`: a request to pass the data on refused). Sent from the consumer node's
/// outbox until acknowledged; the provider's node records each `report_id` once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageReportV1 {
    /// The report's id (`ur-` and 32 hex digits), the same each time this report is sent.
    pub report_id: String,
    /// Transfer id.
    pub transfer_id: String,
    /// The agreement the delivery was made under.
    pub agreement_id: String,
    /// What was done.
    pub duty: String,
    /// When, Unix seconds.
    pub at: i64,
}

impl Document for UsageReportV1 {
    const KIND: &'static str = "federation/usage-report/v1";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    const HASH: &str = "5f1b0c0a8d1e9a7c3b2f4e6d8c0a1b2c3d4e5f60718293a4b5c6d7e8f9012345";

    /// Every message kind with fixed values, its golden file, and the fields it may omit.
    fn samples() -> Vec<(&'static str, Value, &'static [&'static str])> {
        let entry = DatasetEntryV1 {
            dataset_id: "grain".into(),
            sha256: HASH.into(),
            provider: "kz-0123456789abcdef".into(),
            state: "KZ".into(),
            title: "Grain 2025".into(),
            description: "Exports by month".into(),
            sector: "trade".into(),
            format: "csv".into(),
            columns: vec![("month".into(), "string".into())],
            size: 1024,
            published_at: 1_800_000_000,
        };
        let denied = TransferDeniedV1 {
            transfer_id: "tr-0001".into(),
            reason: "not for this purpose".into(),
            decided_at: 1_800_000_100,
            decision: Some(json!({ "outcome": "deny" })),
        };
        let envelope = EnvelopeV1 {
            message_id: "msg-00112233445566778899aabbccddeeff".into(),
            sender: "node-cn".into(),
            recipient: "node-kz".into(),
            issued_at: 1_800_000_100,
            expires_at: 1_800_000_400,
            body: denied.clone(),
        };
        fn v<T: Serialize>(x: &T) -> Value {
            serde_json::to_value(x).expect("a wire type serialises")
        }
        vec![
            ("dataset-entry-v1", v(&entry), &[]),
            (
                "search-request-v1",
                v(&SearchRequestV1 {
                    requester_state: "CN".into(),
                    sector: Some("trade".into()),
                    text: Some("grain".into()),
                    after: None,
                    limit: 50,
                    sent_at: 1_800_000_000,
                }),
                &["sector", "text", "after"],
            ),
            (
                "search-response-v1",
                v(&SearchResponseV1 {
                    entries: vec![entry.clone()],
                    more: false,
                }),
                &[],
            ),
            (
                "transfer-request-v1",
                v(&TransferRequestV1 {
                    transfer_id: "tr-0001".into(),
                    consumer: "cn-0123456789abcdef".into(),
                    provider: "kz-0123456789abcdef".into(),
                    dataset_id: "grain".into(),
                    sha256: HASH.into(),
                    purpose: "customs risk analysis".into(),
                    consumer_hpke_key: "11".repeat(32),
                    requested_at: 1_800_000_000,
                    recipient_kind: Some("enterprise".into()),
                    agreement_id: Some("ag-0001".into()),
                    onward_to: Some("RU".into()),
                }),
                &["recipient_kind", "agreement_id", "onward_to"],
            ),
            (
                "transfer-accepted-v1",
                v(&TransferAcceptedV1 {
                    transfer_id: "tr-0001".into(),
                    status: "awaiting-decision".into(),
                    decision: Some(json!({ "outcome": "conditional" })),
                    reason: None,
                }),
                &["decision", "reason"],
            ),
            ("transfer-denied-v1", v(&denied), &["decision"]),
            (
                "federation-error-v1",
                v(&FederationErrorV1 {
                    field: Some("purpose".into()),
                    reason: "must not be empty".into(),
                }),
                &["field"],
            ),
            (
                "agreement-message-v1",
                v(&AgreementMessageV1 {
                    agreement_id: "ag-0001".into(),
                    state: json!({ "status": "suspended" }),
                    sent_at: 1_800_000_000,
                }),
                &[],
            ),
            (
                "usage-report-v1",
                v(&UsageReportV1 {
                    report_id: "ur-00112233445566778899aabbccddeeff".into(),
                    transfer_id: "tr-0001".into(),
                    agreement_id: "ag-0001".into(),
                    duty: "retention-deleted".into(),
                    at: 1_800_000_000,
                }),
                &[],
            ),
            ("envelope-v1", v(&envelope), &[]),
        ]
    }

    fn golden_path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("{name}.json"))
    }

    #[test]
    fn every_message_kind_matches_its_golden_file_byte_for_byte() {
        for (name, value, _) in samples() {
            let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
            let path = golden_path(name);
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let golden = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
            assert_eq!(text, golden, "{name}: the protocol changed");
        }
    }

    fn parse(name: &str, value: Value) -> Result<(), String> {
        fn go<T: DeserializeOwned>(v: Value) -> Result<(), String> {
            serde_json::from_value::<T>(v)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        match name {
            "dataset-entry-v1" => go::<DatasetEntryV1>(value),
            "search-request-v1" => go::<SearchRequestV1>(value),
            "search-response-v1" => go::<SearchResponseV1>(value),
            "transfer-request-v1" => go::<TransferRequestV1>(value),
            "transfer-accepted-v1" => go::<TransferAcceptedV1>(value),
            "transfer-denied-v1" => go::<TransferDeniedV1>(value),
            "federation-error-v1" => go::<FederationErrorV1>(value),
            "agreement-message-v1" => go::<AgreementMessageV1>(value),
            "usage-report-v1" => go::<UsageReportV1>(value),
            "envelope-v1" => go::<EnvelopeV1<TransferDeniedV1>>(value),
            other => panic!("no parser for {other}"),
        }
    }

    #[test]
    fn an_unknown_or_missing_field_is_refused_naming_it() {
        for (name, value, optional) in samples() {
            parse(name, value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut extra = value.clone();
            extra["surprise"] = json!(1);
            let err = parse(name, extra).expect_err(name);
            assert!(err.contains("unknown field `surprise`"), "{name}: {err}");
            for field in value.as_object().unwrap().keys() {
                let mut less = value.clone();
                less.as_object_mut().unwrap().remove(field);
                match parse(name, less) {
                    Ok(()) => assert!(
                        optional.contains(&field.as_str()),
                        "{name}: '{field}' may be left out but is not declared optional"
                    ),
                    Err(err) => assert!(
                        err.contains(&format!("missing field `{field}`")),
                        "{name} without {field}: {err}"
                    ),
                }
            }
        }
    }
}
