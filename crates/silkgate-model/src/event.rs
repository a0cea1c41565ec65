//! Events: the one record of every state change, in the order the node committed them.

use serde::{Deserialize, Serialize};

/// One state change, as stored in the node's single events table in the same transaction as
/// the change itself. The transparency log appends these; they hold identifiers, hashes and
/// decisions only, never payload bytes or personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in this node's event sequence, from 1, without gaps.
    pub seq: i64,
    /// When it was committed, Unix seconds.
    pub at: i64,
    /// What happened, a stable dotted word such as `transfer.approved`.
    pub kind: String,
    /// The identifier of the thing that changed (transfer id, organisation id, ...).
    pub subject: String,
    /// Details: identifiers, hashes, decisions.
    pub detail: serde_json::Value,
}

/// An event about to be written: everything but the sequence number and time the store assigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// See [`Event::kind`].
    pub kind: String,
    /// See [`Event::subject`].
    pub subject: String,
    /// See [`Event::detail`].
    pub detail: serde_json::Value,
}

impl NewEvent {
    /// An event of `kind` about `subject` with `detail`.
    pub fn new(kind: &str, subject: impl Into<String>, detail: serde_json::Value) -> Self {
        Self {
            kind: kind.to_owned(),
            subject: subject.into(),
            detail,
        }
    }
}
