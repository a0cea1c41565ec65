//! Persistence of a Silkgate node behind one interface: [`Store`] for state (organisations,
//! catalogue, transfers, agreements, events, idempotency records) and [`Blobs`] for payload
//! bytes.
//!
//! SQLite is the embedded default: one file `node.db` in the node's data directory, WAL
//! journal, migrations applied on open. Payload blobs go through `object_store` (local
//! filesystem under `blobs/`), so an S3-compatible store can replace it without touching the
//! node. The SQL is portable (`$N` parameters, plain types) so a PostgreSQL backend can run the
//! same statements; [`testsuite`] holds the storage tests written once for every backend.
//!
//! Invariants:
//! - every state change is written through a [`Tx`] together with the [`Event`] that records
//!   it ([`Tx::append_event`]), in one transaction, so there is no change without its event
//!   and no event without its change; event sequence numbers have no gaps;
//! - a mutating request carries a client-chosen key; [`Tx::idempotent`] finds the first
//!   answer, and the answer is recorded in the same transaction as the change it reports;
//! - a message owed to a peer node is queued ([`Tx::queue_outbox`]) in the transaction of the
//!   change it reports, and stays owed until the peer acknowledges it;
//! - blobs are written under a staging key and only promoted to their final key once the
//!   bytes are complete and checked, so a failed upload leaves nothing behind;
//! - a promoted blob survives power loss: [`Blobs::local`] fsyncs the file's data and the
//!   directory entries before [`Blobs::promote`] returns, so nothing a receipt or an
//!   acknowledgement vouches for rests only in the page cache.
//!
//! ```no_run
//! # async fn demo(dir: &std::path::Path) -> Result<(), silkgate_store::StoreError> {
//! use silkgate_model::NewEvent;
//! let store = silkgate_store::Store::open_sqlite(dir).await?;
//! let mut tx = store.begin().await?;
//! tx.append_event(&NewEvent::new("node.started", "node-kz", serde_json::json!({}))).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod blobs;
mod log;
mod outbox;
mod portal;
mod rows;
pub mod testsuite;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use blobs::{BlobWriter, Blobs, PART_SIZE, StagedBlob, WRITE_PIECE};
pub use log::{LogAlert, LogBatch, LogHead};
pub use outbox::OutboxMessage;
pub use portal::{
    FlowBucket, FlowFilter, FlowGroup, FlowSummary, PortalAccount, PortalRole, PortalSession,
    SignInOutcome,
};
pub use rows::{AgreementRecord, CatalogueFilter, TransferRecord, TransferRole};
pub use tx::{IdempotentAnswer, Tx};

use silkgate_model::{Clock, DatasetVersion, Event, OrgId, Organisation, TransferStatus};

/// Why a storage operation failed. Database and I/O text stays inside the node: callers map
/// these to a plain 5xx except where the variant is a client's doing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQL database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blob(#[from] object_store::Error),
    /// A stored value could not be read back (corruption or a newer schema).
    #[error("stored {what} is unreadable: {reason}")]
    Corrupt {
        /// Which column or record.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The idempotency key was used before with a different request.
    #[error("field 'request_id': '{key}' was already used for a different request")]
    IdempotencyConflict {
        /// The reused key.
        key: String,
    },
    /// A row with this key already exists.
    #[error("{what} '{key}' already exists")]
    Duplicate {
        /// What kind of row.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// Opening the data directory failed.
    #[error("data directory {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The state of one node: SQL rows plus payload blobs.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    blobs: Blobs,
    /// The node's clock: the one source of the `at` columns, so tests drive them.
    clock: Clock,
}

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_log.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_year_to_date.sql"),
    ),
    (4, include_str!("../migrations/sqlite/0004_portal.sql")),
    (5, include_str!("../migrations/sqlite/0005_agreements.sql")),
    (6, include_str!("../migrations/sqlite/0006_supervision.sql")),
    (7, include_str!("../migrations/sqlite/0007_outbox.sql")),
    (8, include_str!("../migrations/sqlite/0008_flow_days.sql")),
    (
        9,
        include_str!("../migrations/sqlite/0009_org_suspension.sql"),
    ),
    (
        10,
        include_str!("../migrations/sqlite/0010_federation_seen.sql"),
    ),
];

impl Store {
    /// Opens (creating if needed) the SQLite store in `dir`: `dir/node.db` and `dir/blobs/`.
    ///
    /// # Errors
    /// [`StoreError::Io`] if the directory cannot be created, [`StoreError::Database`] if the
    /// database cannot be opened or migrated.
    pub async fn open_sqlite(dir: &Path) -> Result<Self, StoreError> {
        let blob_dir = dir.join("blobs");
        std::fs::create_dir_all(&blob_dir).map_err(|source| StoreError::Io {
            path: blob_dir.display().to_string(),
            source,
        })?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(dir.join("node.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit the node acknowledged survives a crash of the machine, not only
            // of the process.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            blobs: Blobs::local(&blob_dir)?,
            clock: Clock::system(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for (version, sql) in MIGRATIONS {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            let done: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_none() {
                sqlx::raw_sql(*sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(version)
                    .bind(self.clock.now_unix())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// The same store read and written with `clock` as its time: the node hands its own clock
    /// here, so every `at` column agrees with the day its decisions were taken on.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Records that federation message `message_id` from `sender`, valid until `expires_at`
    /// (Unix seconds), was accepted; false if it was accepted before (a replay). Ids of
    /// messages already expired are forgotten here, since their expiry refuses them anyway.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn accept_message_id(
        &self,
        message_id: &str,
        sender: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM federation_seen WHERE expires_at < $1")
            .bind(self.clock.now_unix())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "INSERT INTO federation_seen (message_id, sender, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(sender)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The clock the store stamps rows with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The payload blob store.
    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// Starts a write transaction. SQLite allows one writer at a time; taking the write lock
    /// at the start (`BEGIN IMMEDIATE`) avoids deadlocks between readers that upgrade.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx::new(
            self.pool.begin_with("BEGIN IMMEDIATE").await?,
            self.clock.clone(),
        ))
    }

    /// A value of the node's small key-value table (e.g. the accepted trust-list version).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM kv WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// An exporter's counts for a calendar year: (subjects, sensitive subjects) delivered so
    /// far, zero when none.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn year_to_date(
        &self,
        exporter: &OrgId,
        year: i32,
    ) -> Result<(u64, u64), StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT subjects, sensitive_subjects FROM year_to_date WHERE exporter = $1 AND year = $2",
        )
        .bind(exporter.as_str())
        .bind(i64::from(year))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or((0, 0), |(a, b)| (a.max(0) as u64, b.max(0) as u64)))
    }

    /// The organisation with this id.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn organisation(&self, id: &OrgId) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query_as(rows::ORG_SELECT_BY_ID)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(rows::org_from_row).transpose()
    }

    /// Why the organisation is suspended by its authority, or `None` when it is not: the node
    /// refuses every transfer it asks for or provides while it is.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn organisation_suspension(&self, id: &OrgId) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT suspended_reason FROM organisations WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(r,)| r))
    }

    /// The organisation holding the API token whose SHA-256 is `token_sha256`, with the SHA-256
    /// of its client certificate.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn organisation_by_token(
        &self,
        token_sha256: &str,
    ) -> Result<Option<(Organisation, String)>, StoreError> {
        use rows::SplitCert as _;
        let row: Option<(rows::OrgRow, String)> = sqlx::query_as(rows::ORG_SELECT_BY_TOKEN)
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await?
            .map(|r: rows::OrgRowWithCert| r.split());
        row.map(|(r, cert)| Ok((rows::org_from_row(r)?, cert)))
            .transpose()
    }

    /// One dataset version and the key of its payload blob.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn dataset_version(
        &self,
        dataset_id: &str,
        sha256: &str,
    ) -> Result<Option<(DatasetVersion, String)>, StoreError> {
        let row = sqlx::query_as(rows::DATASET_SELECT_ONE)
            .bind(dataset_id)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        row.map(rows::dataset_from_row).transpose()
    }

    /// Catalogue entries matching `filter`, ordered by `(dataset_id, sha256)`, strictly after
    /// the filter's cursor, at most `filter.limit` of them. Visibility is checked by the caller,
    /// which knows who is asking.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn search_datasets(
        &self,
        filter: &CatalogueFilter,
    ) -> Result<Vec<DatasetVersion>, StoreError> {
        let text = filter.text.as_ref().map(|t| {
            // Match the text literally: escape LIKE's wildcards (see `ESCAPE` in the SQL).
            let t = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{t}%")
        });
        let after = filter.after.clone().unwrap_or_default();
        let rows: Vec<rows::DatasetRow> = sqlx::query_as(rows::DATASET_SEARCH)
            .bind(filter.sector.map(|s| s.as_str()))
            .bind(text)
            .bind(after)
            .bind(filter.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| rows::dataset_from_row(r).map(|(d, _)| d))
            .collect()
    }

    /// One side's record of a transfer.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn transfer(
        &self,
        id: &str,
        role: TransferRole,
    ) -> Result<Option<TransferRecord>, StoreError> {
        let row = sqlx::query_as(rows::TRANSFER_SELECT_ONE)
            .bind(id)
            .bind(role.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(rows::transfer_from_row).transpose()
    }

    /// Transfers in which `org` takes part in `role` (consumer or provider), newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn transfers_of(
        &self,
        org: &OrgId,
        role: TransferRole,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = match role {
            TransferRole::Consumer => rows::TRANSFER_SELECT_BY_CONSUMER,
            TransferRole::Provider => rows::TRANSFER_SELECT_BY_PROVIDER,
        };
        let rows: Vec<rows::TransferRow> = sqlx::query_as(sql)
            .bind(org.as_str())
            .bind(role.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(rows::transfer_from_row).collect()
    }

    /// Transfers of `role` in `status`: what a restarted node must resume.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn transfers_in_status(
        &self,
        role: TransferRole,
        status: TransferStatus,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let rows: Vec<rows::TransferRow> = sqlx::query_as(rows::TRANSFER_SELECT_BY_STATUS)
            .bind(role.as_str())
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(rows::transfer_from_row).collect()
    }

    /// One agreement as this node holds it.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn agreement(&self, id: &str) -> Result<Option<AgreementRecord>, StoreError> {
        let row = sqlx::query_as(rows::AGREEMENT_SELECT_ONE)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(rows::agreement_from_row).transpose()
    }

    /// Agreements in which `org` is provider or consumer, newest change first.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn agreements_of(&self, org: &OrgId) -> Result<Vec<AgreementRecord>, StoreError> {
        let rows: Vec<rows::AgreementRow> = sqlx::query_as(rows::AGREEMENT_SELECT_BY_ORG)
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(rows::agreement_from_row).collect()
    }

    /// Data subjects delivered under an agreement in a calendar year, and in how many
    /// transfers; zero when none.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn agreement_usage(
        &self,
        agreement_id: &str,
        year: i32,
    ) -> Result<(u64, u64), StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT subjects, transfers FROM agreement_usage WHERE agreement_id = $1 AND year = $2",
        )
        .bind(agreement_id)
        .bind(i64::from(year))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or((0, 0), |(a, b)| (a.max(0) as u64, b.max(0) as u64)))
    }

    /// Events with `seq > after`, in order, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn events(&self, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<rows::EventRow> = sqlx::query_as(
            "SELECT seq, at, kind, subject, detail FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(rows::event_from_row).collect()
    }

    /// All events about `subject`, in order.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn events_about(&self, subject: &str) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<rows::EventRow> = sqlx::query_as(
            "SELECT seq, at, kind, subject, detail FROM events WHERE subject = $1 ORDER BY seq",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(rows::event_from_row).collect()
    }

    /// Number of rows in each table, for tests that check nothing partial was stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut out = Vec::new();
        for (table, sql) in [
            ("organisations", "SELECT COUNT(*) FROM organisations"),
            ("dataset_versions", "SELECT COUNT(*) FROM dataset_versions"),
            ("transfers", "SELECT COUNT(*) FROM transfers"),
            ("events", "SELECT COUNT(*) FROM events"),
            ("idempotency", "SELECT COUNT(*) FROM idempotency"),
            ("agreements", "SELECT COUNT(*) FROM agreements"),
        ] {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&self.pool).await?;
            out.push((table, n));
        }
        Ok(out)
    }
}
