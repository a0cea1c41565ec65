//! The federation trust list: which nodes exist, where, and with which keys.

use serde::{Deserialize, Serialize};

use crate::{Document, StateCode};

/// One member node as the federation knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedNode {
    /// Stable node identifier, e.g. `node-kz`.
    pub node_id: String,
    /// The state the node serves.
    pub state: StateCode,
    /// Base URL of the node, e.g. `https://127.0.0.1:7443`.
    pub url: String,
    /// PEM of the node's CA certificate: peers accept TLS certificates it issued.
    pub ca_cert_pem: String,
    /// Ed25519 public key (hex) that signs the node's federation messages and documents.
    pub signing_key: String,
}

/// The signed, versioned list of member nodes. Adopted by the committee; a node never goes back
/// to a lower version than one it has accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {
    /// Monotonic version number.
    pub version: u64,
    /// When this version was issued, Unix seconds.
    pub issued_at: i64,
    /// The member nodes.
    pub nodes: Vec<TrustedNode>,
}

impl Document for TrustList {
    const KIND: &'static str = "trust-list/v1";
}

impl TrustList {
    /// The node serving `state`, if any.
    pub fn node_for_state(&self, state: StateCode) -> Option<&TrustedNode> {
        self.nodes.iter().find(|n| n.state == state)
    }

    /// The node with id `node_id`, if any.
    pub fn node(&self, node_id: &str) -> Option<&TrustedNode> {
        self.nodes.iter().find(|n| n.node_id == node_id)
    }
}
