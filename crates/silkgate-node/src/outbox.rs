//! Messages this node owes peer nodes ([`Owed`]: a provider's denial to the consumer's
//! node, an agreement's change of state it made or saw first (suspension, resumption,
//! termination, expiry) to the other party's node, usage reports to the provider's node), sent
//! from the store's outbox and retried with backoff until the peer acknowledges them.
//!
//! A message is queued in the transaction of the change it reports
//! (`silkgate_store::Tx::queue_outbox`), so neither a crash nor an unreachable peer loses it,
//! and a change rolled back sends nothing. [`task`] sends what is due, marks what the peer
//! acknowledged, and schedules the rest again after a delay doubling from [`FIRST_RETRY`] up to
//! [`MAX_RETRY`]. The peer de-duplicates by the message's id, so a message sent again (its
//! acknowledgement lost) is recorded once.

use std::time::Duration;

use serde_json::Value;
use silkgate_model::StateCode;
use silkgate_store::{OutboxMessage, Tx};

use crate::error::ApiError;
use crate::node::NodeState;
use crate::wire::{AgreementMessageV1, TransferDeniedV1, UsageReportV1};

/// Delay before the first retry of a message the peer did not acknowledge.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Longest delay between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(300);

/// The task also looks at the outbox this often, whatever else wakes it.
const POLL: Duration = Duration::from_secs(5);

/// Federation path of usage reports.
pub const USAGE_PATH: &str = "/federation/v1/usage";

/// Federation path of agreement states.
pub const AGREEMENTS_PATH: &str = "/federation/v1/agreements";

/// The federation path of a denial of transfer `transfer_id`.
pub fn denied_path(transfer_id: &str) -> String {
    format!("/federation/v1/transfers/{transfer_id}/denied")
}

/// Every kind of message a node owes a peer node: queued with the change it reports
/// ([`queue`]), sent until acknowledged, recorded once by the receiver (a usage report by its
/// id, an agreement state by being the state it already holds, a denial by the transfer's
/// status moving only once).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Owed {
    /// A usage duty carried out under an agreement, to the provider's node.
    Usage(UsageReportV1),
    /// An agreement's new state, to the other party's node.
    Agreement(AgreementMessageV1),
    /// A provider's denial of a transfer, to the consumer's node.
    Denied(TransferDeniedV1),
}

impl Owed {
    /// The federation path it is posted to.
    pub fn path(&self) -> String {
        match self {
            Self::Usage(_) => USAGE_PATH.to_owned(),
            Self::Agreement(_) => AGREEMENTS_PATH.to_owned(),
            Self::Denied(d) => denied_path(&d.transfer_id),
        }
    }

    fn body(&self) -> Result<Value, ApiError> {
        match self {
            Self::Usage(m) => serde_json::to_value(m),
            Self::Agreement(m) => serde_json::to_value(m),
            Self::Denied(m) => serde_json::to_value(m),
        }
        .map_err(ApiError::internal)
    }

    /// The message as the outbox stored it.
    ///
    /// # Errors
    /// [`ApiError::Internal`] for a path or body this node cannot have written.
    pub fn from_stored(message: &OutboxMessage) -> Result<Self, ApiError> {
        let body = message.body.clone();
        let parsed = match message.path.as_str() {
            USAGE_PATH => serde_json::from_value(body).map(Self::Usage),
            AGREEMENTS_PATH => serde_json::from_value(body).map(Self::Agreement),
            p if p.starts_with("/federation/v1/transfers/") && p.ends_with("/denied") => {
                serde_json::from_value(body).map(Self::Denied)
            }
            other => {
                return Err(ApiError::internal(format!(
                    "outbox path {other} is not known"
                )));
            }
        };
        parsed.map_err(ApiError::internal)
    }
}

/// Queues `message` for `peer_state`'s node in `tx`, under `id` (the same id queued twice is
/// owed once). Wake the outbox ([`NodeState::wake_outbox`]) once `tx` is committed.
///
/// # Errors
/// Storage errors.
pub async fn queue(
    tx: &mut Tx,
    id: &str,
    peer_state: StateCode,
    message: &Owed,
) -> Result<bool, ApiError> {
    Ok(tx
        .queue_outbox(id, peer_state.as_str(), &message.path(), &message.body()?)
        .await?)
}

/// Delay before the next attempt after `failed` failed attempts (counting the one that just
/// failed): 1 s, 2 s, 4 s, ... up to [`MAX_RETRY`].
pub fn retry_delay(failed: u32) -> Duration {
    let factor = 1u32 << failed.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(factor).min(MAX_RETRY)
}

/// Sends one message to its peer's node, signed with this node's key.
///
/// # Errors
/// [`ApiError::Peer`] when the peer is not on the trust list, unreachable or refuses;
/// [`ApiError::Internal`] for a message this node cannot send.
pub async fn send_message(state: &NodeState, message: &OutboxMessage) -> Result<(), ApiError> {
    let peer_state = StateCode::new(&message.peer_state).map_err(ApiError::internal)?;
    let peer = state
        .trust_list()
        .document
        .node_for_state(peer_state)
        .cloned()
        .ok_or_else(|| ApiError::Peer {
            peer: message.peer_state.clone(),
            reason: "no node of this state on the trust list".into(),
        })?;
    let owed = Owed::from_stored(message)?;
    let path = owed.path();
    match owed {
        Owed::Usage(m) => crate::federation::post_signed::<_, Value>(state, &peer, &path, m).await,
        Owed::Agreement(m) => {
            crate::federation::post_signed::<_, Value>(state, &peer, &path, m).await
        }
        Owed::Denied(m) => crate::federation::post_signed::<_, Value>(state, &peer, &path, m).await,
    }?;
    Ok(())
}

/// Sends every message that is due; returns how many the peers acknowledged. A message that
/// fails is kept with its next attempt pushed back by [`retry_delay`].
///
/// # Errors
/// Storage errors.
pub async fn send_due(state: &NodeState) -> Result<usize, ApiError> {
    let mut acknowledged = 0;
    for message in state
        .store()
        .outbox_due(state.clock().now_ms(), 100)
        .await?
    {
        match send_message(state, &message).await {
            Ok(()) => {
                state.store().outbox_acknowledged(&message.id).await?;
                acknowledged += 1;
            }
            Err(e) => {
                let delay = retry_delay(message.attempts + 1);
                tracing::warn!(
                    message = %message.id, peer = %message.peer_state,
                    attempts = message.attempts + 1, retry_in_s = delay.as_secs(), error = %e,
                    "a message to a peer node was not acknowledged; will retry"
                );
                state
                    .store()
                    .outbox_failed(
                        &message.id,
                        state.clock().now_ms() + delay.as_millis() as i64,
                        &e.to_string(),
                    )
                    .await?;
            }
        }
    }
    Ok(acknowledged)
}

/// The outbox task: sends what is due at start (messages a previous run left owed), then
/// whenever a message is queued or the next one falls due.
pub async fn task(state: NodeState) {
    loop {
        if let Err(e) = send_due(&state).await {
            tracing::warn!(error = %e, "outbox: could not read or update the outbox");
        }
        let wait = match state.store().outbox_next_due().await {
            Ok(Some(due)) => {
                Duration::from_millis(due.saturating_sub(state.clock().now_ms()).max(0) as u64)
            }
            _ => POLL,
        }
        .min(POLL);
        tokio::select! {
            _ = state.0.outbox_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        let got: Vec<u64> = (1..=12).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(retry_delay(0), FIRST_RETRY);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }
}
