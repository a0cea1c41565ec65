//! Transfers, their life cycle, and the signed documents that prove them.

use serde::{Deserialize, Serialize};

use crate::{Document, OrgId, Sha256Hex, StateCode};

/// Where a transfer stands. The provider's node moves it forward one step at a time and
/// persists every step, so a restart resumes from the last committed status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferStatus {
    /// The consumer's node recorded the request and is forwarding it to the provider's node.
    Requested,
    /// The provider's node reviewed the content and waits for the decision.
    AwaitingDecision,
    /// Allowed; the provider's node is preparing and sending the delivery.
    Approved,
    /// Refused; nothing is sent.
    Denied,
    /// The consumer's node holds the encrypted payload and signed a receipt.
    Delivered,
}

impl TransferStatus {
    /// The stable word stored and shown.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::AwaitingDecision => "awaiting-decision",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Delivered => "delivered",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Requested,
            Self::AwaitingDecision,
            Self::Approved,
            Self::Denied,
            Self::Delivered,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether nothing more will happen to the transfer.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Denied | Self::Delivered)
    }
}

/// A consumer's request for one dataset version, as both nodes record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Federation-wide transfer identifier, chosen by the consumer's node.
    pub id: String,
    /// The requesting organisation.
    pub consumer: OrgId,
    /// The providing organisation.
    pub provider: OrgId,
    /// The dataset requested.
    pub dataset_id: String,
    /// The exact version requested.
    pub sha256: Sha256Hex,
    /// Why the consumer wants it (recorded for the decision and supervision).
    pub purpose: String,
    /// X25519 public key (hex) the payload is to be encrypted to.
    pub consumer_hpke_key: String,
    /// Current status.
    pub status: TransferStatus,
    /// Reason given with a denial.
    pub reason: Option<String>,
    /// When the request was made, Unix seconds.
    pub requested_at: i64,
}

impl Transfer {
    /// The state exporting the data.
    pub fn provider_state(&self) -> StateCode {
        self.provider.state()
    }

    /// The state importing the data.
    pub fn consumer_state(&self) -> StateCode {
        self.consumer.state()
    }
}

/// What the provider's node signs when it delivers: enough for the consumer and any third
/// party to check later what was sent, to whom, and under which request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryManifest {
    /// The transfer this delivery answers.
    pub transfer_id: String,
    /// Dataset identifier.
    pub dataset_id: String,
    /// SHA-256 of the plaintext payload as delivered (after obligations and marking).
    pub payload_sha256: Sha256Hex,
    /// Plaintext size in bytes.
    pub payload_size: u64,
    /// SHA-256 of the dataset version in the catalogue (before obligations and marking).
    pub dataset_sha256: Sha256Hex,
    /// SHA-256 of the encrypted stream as sent; the receiving node checks it without the key.
    pub ciphertext_sha256: Sha256Hex,
    /// Encrypted stream size in bytes.
    pub ciphertext_size: u64,
    /// HPKE suite, e.g. `X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305`.
    pub hpke_suite: String,
    /// HPKE encapsulated key (hex).
    pub hpke_encapped_key: String,
    /// Plaintext chunk size of the encrypted stream.
    pub chunk_size: u32,
    /// The providing organisation.
    pub provider: OrgId,
    /// The receiving organisation.
    pub consumer: OrgId,
    /// Node id of the sender.
    pub provider_node: String,
    /// Time of delivery, Unix seconds.
    pub delivered_at: i64,
    /// The agreement the copy was delivered under, when there is one: the provenance a
    /// recipient shows for the copy it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    /// Index in the provider node's transparency log of the entry that approved this delivery,
    /// so anyone holding the copy can ask for its inclusion proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_log_index: Option<u64>,
}

impl Document for DeliveryManifest {
    const KIND: &'static str = "delivery-manifest/v1";
}

/// What the consumer's node signs once it holds a delivery whose manifest and bytes verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    /// The transfer received.
    pub transfer_id: String,
    /// SHA-256 of the canonical manifest the receipt acknowledges.
    pub manifest_sha256: Sha256Hex,
    /// SHA-256 of the ciphertext received (equal to the manifest's).
    pub ciphertext_sha256: Sha256Hex,
    /// Node id of the receiver.
    pub consumer_node: String,
    /// Time of receipt, Unix seconds.
    pub received_at: i64,
}

impl Document for DeliveryReceipt {
    const KIND: &'static str = "delivery-receipt/v1";
}
