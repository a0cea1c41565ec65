//! Storage of the node's transparency log: entries, subtree hashes, the log head and
//! checkpoints, and the witness side's state. Plain bytes and numbers only, so the store stays
//! independent of `silkgate-log`; the node adapts these to `silkgate_log::LogStorage`. The
//! same tables map onto PostgreSQL (or tiles in object storage) without changing callers.

use std::ops::Range;

use sqlx::QueryBuilder;

use crate::{Store, StoreError, Tx};

/// Rows per multi-row INSERT (three bound values each, well under SQLite's variable limit).
const CHUNK: usize = 2_000;

/// The stored head of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// Entries stored.
    pub size: u64,
    /// Sequence number of the last event logged (entries are events in `seq` order).
    pub last_seq: i64,
    /// Size of the latest signed checkpoint (0 when none).
    pub checkpoint_size: u64,
    /// The latest signed checkpoint with the cosignatures gathered so far.
    pub checkpoint: Option<Vec<u8>>,
}

/// One write of the log: entries from `start`, the subtree hashes they complete
/// (`(level, index, hash)`), and the last event sequence number they cover.
#[derive(Debug, Clone, Copy)]
pub struct LogBatch<'a> {
    /// Index of the first entry; must equal the stored size.
    pub start: u64,
    /// Encoded entries.
    pub entries: &'a [Vec<u8>],
    /// New complete-subtree hashes.
    pub hashes: &'a [(u8, u64, [u8; 32])],
    /// The event sequence number of the last entry.
    pub last_seq: i64,
}

/// An alert raised by the witness side: a log showed two inconsistent signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAlert {
    /// Row id.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The log's origin.
    pub origin: String,
    /// Why the witness refused.
    pub reason: String,
    /// The checkpoint the witness had cosigned.
    pub known_checkpoint: Vec<u8>,
    /// The checkpoint it was offered.
    pub offered_checkpoint: Vec<u8>,
}

/// A row of `log_alerts`: id, at, origin, reason, known and offered checkpoints.
type AlertRow = (i64, i64, String, String, Vec<u8>, Vec<u8>);

fn corrupt(what: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: reason.to_string(),
    }
}

fn to_u64(v: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(what, format!("negative value {v}")))
}

impl Tx {
    /// Records an alert about `origin`'s log (a checkpoint offered that contradicts one
    /// this node witnessed), in the same transaction as the event that announces it, so no
    /// alert is ever shown without its event nor lost after it. Returns the alert's id, or
    /// `None` when the same offered checkpoint was already recorded (one alert per offending
    /// checkpoint, however often it is offered).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn raise_log_alert(
        &mut self,
        origin: &str,
        reason: &str,
        known: &[u8],
        offered: &[u8],
    ) -> Result<Option<i64>, StoreError> {
        let seen: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM log_alerts WHERE origin = $1 AND offered_checkpoint = $2",
        )
        .bind(origin)
        .bind(offered)
        .fetch_optional(self.conn())
        .await?;
        if seen.is_some() {
            return Ok(None);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO log_alerts (at, origin, reason, known_checkpoint, offered_checkpoint) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(self.now_unix())
        .bind(origin)
        .bind(reason)
        .bind(known)
        .bind(offered)
        .fetch_one(self.conn())
        .await?;
        Ok(Some(id))
    }
}

impl Store {
    /// The head of the log.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn log_head(&self) -> Result<LogHead, StoreError> {
        let (size, last_seq, cp_size, cp): (i64, i64, i64, Option<Vec<u8>>) = sqlx::query_as(
            "SELECT size, last_seq, checkpoint_size, checkpoint FROM log_head WHERE id = 1",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(LogHead {
            size: to_u64(size, "log_head.size")?,
            last_seq,
            checkpoint_size: to_u64(cp_size, "log_head.checkpoint_size")?,
            checkpoint: cp,
        })
    }

    /// Commits a batch in one durable transaction: entries, hashes and the new head. Refused
    /// (nothing stored) unless `batch.start` is the stored size, so two writers cannot
    /// interleave.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming `log_head.size` when the start does not match;
    /// [`StoreError::Database`].
    pub async fn log_commit(&self, batch: LogBatch<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let (size,): (i64,) = sqlx::query_as("SELECT size FROM log_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        if to_u64(size, "log_head.size")? != batch.start {
            return Err(corrupt(
                "log_head.size",
                format!(
                    "batch starts at {} but the log has {size} entries",
                    batch.start
                ),
            ));
        }
        for (n, chunk) in batch.entries.chunks(CHUNK).enumerate() {
            let base = batch.start + (n * CHUNK) as u64;
            let mut q = QueryBuilder::new("INSERT INTO log_entries (idx, data) ");
            q.push_values(chunk.iter().enumerate(), |mut b, (i, e)| {
                b.push_bind((base + i as u64) as i64)
                    .push_bind(e.as_slice());
            });
            q.build().execute(&mut *tx).await?;
        }
        for chunk in batch.hashes.chunks(CHUNK) {
            let mut q = QueryBuilder::new("INSERT INTO log_hashes (level, idx, hash) ");
            q.push_values(chunk, |mut b, (level, idx, hash)| {
                b.push_bind(i64::from(*level))
                    .push_bind(*idx as i64)
                    .push_bind(hash.as_slice());
            });
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE log_head SET size = $1, last_seq = $2 WHERE id = 1")
            .bind((batch.start + batch.entries.len() as u64) as i64)
            .bind(batch.last_seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The hashes at `(level, index)`, in the order asked; `None` where not stored.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn log_hashes(&self, ids: &[(u8, u64)]) -> Result<Vec<Option<[u8; 32]>>, StoreError> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(400) {
            let mut q = QueryBuilder::new("SELECT level, idx, hash FROM log_hashes WHERE ");
            for (i, (level, idx)) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                q.push("(level = ")
                    .push_bind(i64::from(*level))
                    .push(" AND idx = ")
                    .push_bind(*idx as i64)
                    .push(")");
            }
            let rows: Vec<(i64, i64, Vec<u8>)> = q.build_query_as().fetch_all(self.pool()).await?;
            for (level, idx, hash) in rows {
                let hash: [u8; 32] = hash
                    .try_into()
                    .map_err(|_| corrupt("log_hashes.hash", "not 32 bytes"))?;
                found.insert((level, idx), hash);
            }
        }
        Ok(ids
            .iter()
            .map(|(l, i)| found.get(&(i64::from(*l), *i as i64)).copied())
            .collect())
    }

    /// Hashes `[first, first + count)` of one level, in order, as far as stored (for tiles).
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn log_hash_range(
        &self,
        level: u8,
        range: Range<u64>,
    ) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, hash FROM log_hashes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(i64::from(level))
        .bind(range.start as i64)
        .bind(range.end as i64)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(i, h)| {
                Ok((
                    to_u64(i, "log_hashes.idx")?,
                    h.try_into()
                        .map_err(|_| corrupt("log_hashes.hash", "not 32 bytes"))?,
                ))
            })
            .collect()
    }

    /// Entries with indexes in `range`, in order, as far as stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn log_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT data FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(range.start as i64)
        .bind(range.end as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Replaces the latest signed checkpoint (unless a larger one is stored); every
    /// checkpoint is also kept, by size, in the list of published checkpoints.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn log_store_checkpoint(&self, size: u64, signed: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE log_head SET checkpoint_size = $1, checkpoint = $2 WHERE id = 1 AND checkpoint_size <= $1",
        )
            .bind(size as i64)
            .bind(signed)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM log_published WHERE size = $1")
            .bind(size as i64)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO log_published (size, checkpoint) VALUES ($1, $2)")
            .bind(size as i64)
            .bind(signed)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every checkpoint this node published, by size.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn log_published(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT size, checkpoint FROM log_published ORDER BY size")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(s, c)| Ok((to_u64(s, "log_published.size")?, c)))
            .collect()
    }

    /// Overwrites a stored entry; only for tests that play an operator rewriting history.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn danger_log_overwrite(
        &self,
        index: u64,
        entry: &[u8],
        hashes: &[(u8, u64, [u8; 32])],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE log_entries SET data = $1 WHERE idx = $2")
            .bind(entry)
            .bind(index as i64)
            .execute(&mut *tx)
            .await?;
        for (level, idx, hash) in hashes {
            sqlx::query("UPDATE log_hashes SET hash = $1 WHERE level = $2 AND idx = $3")
                .bind(hash.as_slice())
                .bind(i64::from(*level))
                .bind(*idx as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The last checkpoint this node cosigned as a witness of `origin`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn witness_state(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT checkpoint FROM witness_state WHERE origin = $1")
                .bind(origin)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Records the checkpoint this node cosigned for `origin`, only if it is not smaller than
    /// the one recorded (compare-and-set on `expected_size`: two concurrent requests cannot
    /// both advance from the same state). Returns whether it was recorded.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn witness_advance(
        &self,
        origin: &str,
        expected_size: Option<u64>,
        size: u64,
        checkpoint: &[u8],
    ) -> Result<bool, StoreError> {
        let done = match expected_size {
            None => sqlx::query(
                "INSERT INTO witness_state (origin, size, checkpoint) VALUES ($1, $2, $3) ON CONFLICT (origin) DO NOTHING",
            )
            .bind(origin)
            .bind(size as i64)
            .bind(checkpoint)
            .execute(self.pool())
            .await?,
            Some(old) => sqlx::query(
                "UPDATE witness_state SET size = $1, checkpoint = $2 WHERE origin = $3 AND size = $4",
            )
            .bind(size as i64)
            .bind(checkpoint)
            .bind(origin)
            .bind(old as i64)
            .execute(self.pool())
            .await?,
        };
        Ok(done.rows_affected() == 1)
    }

    /// Every alert, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn log_alerts(&self) -> Result<Vec<LogAlert>, StoreError> {
        let rows: Vec<AlertRow> = sqlx::query_as(
            "SELECT id, at, origin, reason, known_checkpoint, offered_checkpoint FROM log_alerts ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, at, origin, reason, known_checkpoint, offered_checkpoint)| LogAlert {
                    id,
                    at,
                    origin,
                    reason,
                    known_checkpoint,
                    offered_checkpoint,
                },
            )
            .collect())
    }
}

impl Store {
    /// Sequence number of the newest event (0 when none): what the log must reach before the
    /// node acknowledges a request that wrote events.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(self.pool())
            .await?;
        Ok(seq)
    }
}
