//! The outbox: messages owed to peer nodes, kept until acknowledged.

use crate::{Store, StoreError, Tx};

/// A message this node owes a peer node: written with the change it reports, sent and retried
/// by the node until the peer acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The message's id; the peer de-duplicates by it, so a resend is harmless.
    pub id: String,
    /// The member state whose node it goes to.
    pub peer_state: String,
    /// The federation path it is posted to.
    pub path: String,
    /// The document to sign and send.
    pub body: serde_json::Value,
    /// When it was queued, Unix seconds.
    pub created_at: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be sent before this, Unix milliseconds.
    pub next_attempt_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the peer acknowledged it, Unix seconds; `None` while it is owed.
    pub acknowledged_at: Option<i64>,
}

type OutboxRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
);

/// The columns of [`OutboxRow`], as every query below selects them.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, peer_state, path, body, created_at, attempts, next_attempt_ms, ",
            "last_error, acknowledged_at FROM outbox ",
            $rest
        )
    };
}

fn from_row(row: OutboxRow) -> Result<OutboxMessage, StoreError> {
    let (id, peer_state, path, body, created_at, attempts, next_attempt_ms, last_error, ack) = row;
    Ok(OutboxMessage {
        body: serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
            what: "outbox.body",
            reason: e.to_string(),
        })?,
        id,
        peer_state,
        path,
        created_at,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_ms,
        last_error,
        acknowledged_at: ack,
    })
}

impl Tx {
    /// Queues a message for `peer_state`'s node, due at once. A message with this id already
    /// queued is left as it is (the same report made twice is owed once); returns whether
    /// this call queued it.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn queue_outbox(
        &mut self,
        id: &str,
        peer_state: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let now_ms = self.clock.now_ms();
        let done = sqlx::query(
            "INSERT INTO outbox (id, peer_state, path, body, created_at, attempts, next_attempt_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(peer_state)
        .bind(path)
        .bind(body.to_string())
        .bind(now_ms.div_euclid(1000))
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Messages still owed whose next attempt is due at `now_ms`, oldest first, at most
    /// `limit`.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn outbox_due(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows: Vec<OutboxRow> = sqlx::query_as(select!(
            "WHERE acknowledged_at IS NULL AND next_attempt_ms <= $1 \
             ORDER BY next_attempt_ms, id LIMIT $2"
        ))
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(from_row).collect()
    }

    /// When the earliest owed message is next due (Unix milliseconds), if any is owed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn outbox_next_due(&self) -> Result<Option<i64>, StoreError> {
        let (next,): (Option<i64>,) =
            sqlx::query_as("SELECT MIN(next_attempt_ms) FROM outbox WHERE acknowledged_at IS NULL")
                .fetch_one(self.pool())
                .await?;
        Ok(next)
    }

    /// One message, owed or acknowledged.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        let row: Option<OutboxRow> = sqlx::query_as(select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(from_row).transpose()
    }

    /// Records a failed attempt: one more attempt, the reason, and when to try again.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn outbox_failed(
        &self,
        id: &str,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $2, last_error = $3 \
             WHERE id = $1 AND acknowledged_at IS NULL",
        )
        .bind(id)
        .bind(next_attempt_ms)
        .bind(error)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records that the peer acknowledged the message; it is no longer owed (the row stays,
    /// as the record that it was delivered).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn outbox_acknowledged(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET acknowledged_at = $2 WHERE id = $1 AND acknowledged_at IS NULL",
        )
        .bind(id)
        .bind(self.clock().now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
