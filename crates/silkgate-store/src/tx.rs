//! The write transaction: every state change and its event go through one [`Tx`].

use silkgate_model::{
    AgreementState, Clock, DatasetVersion, DeliveryManifest, DeliveryReceipt, Event, NewEvent,
    OrgId, Organisation, Signed, Transfer, TransferStatus,
};
use sqlx::{Sqlite, Transaction};

use crate::rows::{AgreementRecord, AgreementRow, agreement_from_row, agreement_status_word};
use crate::{StoreError, TransferRole};

/// The first answer given to a request with a client-chosen key; a retry gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentAnswer {
    /// HTTP status of the first answer.
    pub status: u16,
    /// Body of the first answer.
    pub body: serde_json::Value,
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls everything back.
#[derive(Debug)]
pub struct Tx {
    tx: Transaction<'static, Sqlite>,
    pub(crate) clock: Clock,
}

fn unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Tx {
    pub(crate) fn new(tx: Transaction<'static, Sqlite>, clock: Clock) -> Self {
        Self { tx, clock }
    }

    /// Now by the store's clock, as Unix seconds.
    pub fn now_unix(&self) -> i64 {
        self.clock.now_unix()
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    /// Commits the transaction.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Looks up the answer recorded for `(scope, key)`. `fingerprint` identifies the request
    /// (e.g. a hash of its body): the same key with a different request is a client error.
    ///
    /// # Errors
    /// [`StoreError::IdempotencyConflict`] when the key was used for another request.
    pub async fn idempotent(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT fingerprint, status, body FROM idempotency WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some((stored, status, body)) = row else {
            return Ok(None);
        };
        if stored != fingerprint {
            return Err(StoreError::IdempotencyConflict {
                key: key.to_owned(),
            });
        }
        Ok(Some(IdempotentAnswer {
            status: status as u16,
            body: serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                what: "idempotency.body",
                reason: e.to_string(),
            })?,
        }))
    }

    /// Records the answer to `(scope, key)` in this transaction.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if the key is already recorded.
    pub async fn remember(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        answer: &IdempotentAnswer,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(i64::from(answer.status))
        .bind(answer.body.to_string())
        .bind(self.now_unix())
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            if unique_violation(&e) {
                StoreError::Duplicate {
                    what: "request id",
                    key: key.to_owned(),
                }
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// Appends an event and returns it with its sequence number and time. Sequence numbers
    /// are `max + 1` inside the write transaction, so they have no gaps.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn append_event(&mut self, event: &NewEvent) -> Result<Event, StoreError> {
        let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM events")
            .fetch_one(&mut *self.tx)
            .await?;
        let at = self.now_unix();
        sqlx::query(
            "INSERT INTO events (seq, at, kind, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(seq)
        .bind(at)
        .bind(&event.kind)
        .bind(&event.subject)
        .bind(event.detail.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(Event {
            seq,
            at,
            kind: event.kind.clone(),
            subject: event.subject.clone(),
            detail: event.detail.clone(),
        })
    }

    /// Reads a key-value entry inside the transaction (reading through the pool instead
    /// could wait for a connection that other open transactions hold).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn kv_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM kv WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// The provider of a dataset version, if that version exists (read inside the transaction).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn dataset_version_provider(
        &mut self,
        dataset_id: &str,
        sha256: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT provider FROM dataset_versions WHERE dataset_id = $1 AND sha256 = $2",
        )
        .bind(dataset_id)
        .bind(sha256)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// Sets a key-value entry.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn kv_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM kv WHERE key = $1")
            .bind(key)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO kv (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Adds a delivered transfer's subjects to its exporter's counts for a calendar year.
    /// Call it in the transaction that records the delivery.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn add_year_to_date(
        &mut self,
        exporter: &OrgId,
        year: i32,
        subjects: u64,
        sensitive_subjects: u64,
    ) -> Result<(), StoreError> {
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO year_to_date (exporter, year, subjects, sensitive_subjects, transfers) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (exporter, year) DO UPDATE SET subjects = subjects + excluded.subjects, \
             sensitive_subjects = sensitive_subjects + excluded.sensitive_subjects, transfers = transfers + 1",
        )
        .bind(exporter.as_str())
        .bind(i64::from(year))
        .bind(clamp(subjects))
        .bind(clamp(sensitive_subjects))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Registers an organisation with the SHA-256 of its API token and of its certificate.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if the id exists.
    pub async fn insert_organisation(
        &mut self,
        org: &Organisation,
        token_sha256: &str,
        cert_sha256: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO organisations (id, name, registration_number, sector, contact, hpke_public_key, registered_at, token_sha256, cert_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org.id.as_str())
        .bind(&org.name)
        .bind(&org.registration_number)
        .bind(org.sector.as_str())
        .bind(&org.contact)
        .bind(&org.hpke_public_key)
        .bind(org.registered_at)
        .bind(token_sha256)
        .bind(cert_sha256)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| dup(e, "organisation", org.id.as_str()))?;
        Ok(())
    }

    /// Suspends the organisation with the authority's `reason`, or lifts the suspension
    /// (`None`). Returns whether anything changed: suspending a suspended organisation (or
    /// lifting a lifted one) changes nothing, so its event is not written twice.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_organisation_suspension(
        &mut self,
        id: &OrgId,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE organisations SET suspended_reason = $2 WHERE id = $1 AND (suspended_reason IS NULL) = ($2 IS NOT NULL)",
        )
        .bind(id.as_str())
        .bind(reason)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds a dataset version whose payload is in blob `blob_key`.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if this version exists.
    pub async fn insert_dataset_version(
        &mut self,
        d: &DatasetVersion,
        blob_key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dataset_versions (dataset_id, sha256, provider, state, title, description, sector, format, schema_json, visibility_json, size, published_at, blob_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&d.dataset_id)
        .bind(&d.sha256)
        .bind(d.provider.as_str())
        .bind(d.state().as_str())
        .bind(&d.title)
        .bind(&d.description)
        .bind(d.sector.as_str())
        .bind(d.format.as_str())
        .bind(serde_json::to_string(&d.schema).unwrap_or_default())
        .bind(serde_json::to_string(&d.visibility).unwrap_or_default())
        .bind(d.size as i64)
        .bind(d.published_at)
        .bind(blob_key)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| dup(e, "dataset version", &format!("{}/{}", d.dataset_id, d.sha256)))?;
        Ok(())
    }

    /// Records a transfer on one side.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if this side already has the transfer.
    pub async fn insert_transfer(
        &mut self,
        t: &Transfer,
        role: TransferRole,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO transfers (id, role, consumer, provider, dataset_id, sha256, purpose, consumer_hpke_key, status, reason, requested_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&t.id)
        .bind(role.as_str())
        .bind(t.consumer.as_str())
        .bind(t.provider.as_str())
        .bind(&t.dataset_id)
        .bind(&t.sha256)
        .bind(&t.purpose)
        .bind(&t.consumer_hpke_key)
        .bind(t.status.as_str())
        .bind(&t.reason)
        .bind(t.requested_at)
        .bind(self.now_unix())
        .execute(&mut *self.tx)
        .await
        .map_err(|e| dup(e, "transfer", &t.id))?;
        Ok(())
    }

    /// Moves a transfer from one of `from` to `to`, returning whether it was in `from`
    /// (compare-and-set, so two workers cannot both take the same step).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_transfer_status(
        &mut self,
        id: &str,
        role: TransferRole,
        from: TransferStatus,
        to: TransferStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE transfers SET status = $1, reason = COALESCE($2, reason), updated_at = $3 WHERE id = $4 AND role = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(self.now_unix())
        .bind(id)
        .bind(role.as_str())
        .bind(from.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the content review report of a transfer (provider side).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_transfer_report(
        &mut self,
        id: &str,
        role: TransferRole,
        report: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.set_column(
            id,
            role,
            "UPDATE transfers SET report_json = $1, updated_at = $2 WHERE id = $3 AND role = $4",
            Some(report.to_string()),
        )
        .await
    }

    /// Stores the signed manifest and the encrypted payload's blob key: `None` where no
    /// ciphertext is kept (the provider's node, which seals again rather than storing it).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_transfer_manifest(
        &mut self,
        id: &str,
        role: TransferRole,
        manifest: &Signed<DeliveryManifest>,
        cipher_blob: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE transfers SET manifest_json = $1, cipher_blob = $2, updated_at = $3 WHERE id = $4 AND role = $5",
        )
        .bind(serde_json::to_string(manifest).unwrap_or_default())
        .bind(cipher_blob)
        .bind(self.now_unix())
        .bind(id)
        .bind(role.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Forgets the payload blob of a transfer (after the blob itself was deleted, e.g. at
    /// the end of its retention period), returning whether it had one.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn clear_transfer_blob(
        &mut self,
        id: &str,
        role: TransferRole,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE transfers SET cipher_blob = NULL, updated_at = $1 WHERE id = $2 AND role = $3 AND cipher_blob IS NOT NULL",
        )
        .bind(self.now_unix())
        .bind(id)
        .bind(role.as_str())
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the signed receipt.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_transfer_receipt(
        &mut self,
        id: &str,
        role: TransferRole,
        receipt: &Signed<DeliveryReceipt>,
    ) -> Result<(), StoreError> {
        self.set_column(
            id,
            role,
            "UPDATE transfers SET receipt_json = $1, updated_at = $2 WHERE id = $3 AND role = $4",
            serde_json::to_string(receipt).ok(),
        )
        .await
    }

    async fn set_column(
        &mut self,
        id: &str,
        role: TransferRole,
        sql: &'static str,
        value: Option<String>,
    ) -> Result<(), StoreError> {
        sqlx::query(sql)
            .bind(value)
            .bind(self.now_unix())
            .bind(id)
            .bind(role.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Tx {
    /// Stores a new agreement (a proposal made here or received from the other party's node).
    /// Append its event in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if the id exists, [`StoreError::Corrupt`] if the state cannot
    /// be serialised.
    pub async fn insert_agreement(&mut self, state: &AgreementState) -> Result<(), StoreError> {
        let doc = state.document();
        let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt {
            what: "agreements.state_json",
            reason: e.to_string(),
        })?;
        let now = self.now_unix();
        sqlx::query(
            "INSERT INTO agreements (id, provider, consumer, status, revision, state_json, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&doc.id)
        .bind(doc.provider.as_str())
        .bind(doc.consumer.as_str())
        .bind(agreement_status_word(state.status()))
        .bind(i64::from(doc.revision))
        .bind(json)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| dup(e, "agreement", &doc.id))?;
        Ok(())
    }

    /// Replaces an agreement's state if it is still in `from` (status and revision), returning
    /// whether it was (compare-and-set, so two changes cannot both apply to the same state).
    /// The parties and the id cannot change. Append the change's event in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the new state names other parties, [`StoreError::Database`].
    pub async fn update_agreement(
        &mut self,
        from: &AgreementRecord,
        to: &AgreementState,
    ) -> Result<bool, StoreError> {
        let doc = to.document();
        if doc.id != from.id || doc.provider != from.provider || doc.consumer != from.consumer {
            return Err(StoreError::Corrupt {
                what: "agreements",
                reason: "a change may not alter the agreement's id or parties".into(),
            });
        }
        let json = serde_json::to_string(to).map_err(|e| StoreError::Corrupt {
            what: "agreements.state_json",
            reason: e.to_string(),
        })?;
        let done = sqlx::query(
            "UPDATE agreements SET status = $1, revision = $2, state_json = $3, updated_at = $4 WHERE id = $5 AND status = $6 AND revision = $7",
        )
        .bind(agreement_status_word(to.status()))
        .bind(i64::from(doc.revision))
        .bind(json)
        .bind(self.now_unix())
        .bind(&from.id)
        .bind(agreement_status_word(from.status))
        .bind(i64::from(from.revision))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reads an agreement inside the transaction, for a change that must see the latest state.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn agreement(&mut self, id: &str) -> Result<Option<AgreementRecord>, StoreError> {
        let row: Option<AgreementRow> = sqlx::query_as(crate::rows::AGREEMENT_SELECT_ONE)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(agreement_from_row).transpose()
    }

    /// Adds a delivered transfer's subjects to its agreement's count for a calendar year. Call
    /// it in the transaction that records the delivery.
    ///
    /// # Errors
    /// [`StoreError::Database`] (also when the agreement does not exist).
    pub async fn add_agreement_usage(
        &mut self,
        agreement_id: &str,
        year: i32,
        subjects: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agreement_usage (agreement_id, year, subjects, transfers) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (agreement_id, year) DO UPDATE SET subjects = subjects + excluded.subjects, transfers = transfers + 1",
        )
        .bind(agreement_id)
        .bind(i64::from(year))
        .bind(i64::try_from(subjects).unwrap_or(i64::MAX))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

pub(crate) fn dup(e: sqlx::Error, what: &'static str, key: &str) -> StoreError {
    if unique_violation(&e) {
        StoreError::Duplicate {
            what,
            key: key.to_owned(),
        }
    } else {
        e.into()
    }
}
