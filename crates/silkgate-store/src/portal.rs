//! What the web portal stores: people's accounts and sessions (migration `0004_portal.sql`),
//! and the read-only queries behind its organisation and supervision pages.
//!
//! Secrets are stored only in the form the portal needs to check them: the password as an
//! Argon2id PHC string, the session id as its SHA-256. The TOTP secret must be readable to
//! check a code, so it is stored as given (base32); the node's data directory is the boundary.

use silkgate_model::{DatasetVersion, OrgId, StateCode};

use crate::tx::Tx;
use crate::{Store, StoreError, TransferRecord, rows};

/// What a person may do in the portal. Stored as the stable word of [`PortalRole::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortalRole {
    /// A member of an organisation: reads its catalogue, datasets and transfers.
    OrgMember,
    /// An organisation's administrator: what a member does, plus deciding on transfers.
    OrgAdmin,
    /// Staff of the state's data-security authority: supervision of every flow touching the state.
    Regulator,
    /// The node operator: accounts, the log explorer and the node's health.
    Operator,
}

impl PortalRole {
    /// Every role, in order of the least to the most powerful over the node.
    pub const ALL: [Self; 4] = [
        Self::OrgMember,
        Self::OrgAdmin,
        Self::Regulator,
        Self::Operator,
    ];

    /// The stable word stored and shown in events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::OrgMember => "org-member",
            Self::OrgAdmin => "org-admin",
            Self::Regulator => "regulator",
            Self::Operator => "operator",
        }
    }

    /// Parses the stable word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role acts for an organisation (and so must name one).
    pub fn is_organisation(&self) -> bool {
        matches!(self, Self::OrgMember | Self::OrgAdmin)
    }
}

/// A person's portal account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalAccount {
    /// Opaque identifier (`acct-<hex>`): what events and sessions name, never the login, so
    /// no personal data enters the log.
    pub id: String,
    /// What the person types to sign in.
    pub login: String,
    /// Name shown in the portal.
    pub display_name: String,
    /// What the person may do.
    pub role: PortalRole,
    /// The organisation, for organisation roles.
    pub org_id: Option<OrgId>,
    /// Argon2id PHC string of the password.
    pub password_phc: String,
    /// TOTP secret, base32.
    pub totp_secret: String,
    /// Last TOTP time step accepted: a code is never accepted twice.
    pub totp_last_step: i64,
    /// Failed sign-ins since the last success.
    pub failed_attempts: i64,
    /// Unix seconds until which sign-in is refused (0: not locked).
    pub locked_until: i64,
    /// When the account was created, Unix seconds.
    pub created_at: i64,
}

/// A signed-in session, found by the SHA-256 of the cookie's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// SHA-256 (hex) of the session id the browser holds.
    pub id_sha256: String,
    /// The account signed in.
    pub account_id: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// When the session began, Unix seconds.
    pub created_at: i64,
    /// When it ends, Unix seconds.
    pub expires_at: i64,
}

/// The result of recording a failed sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInOutcome {
    /// Failures since the last success, this one included.
    pub failed_attempts: i64,
    /// Whether this failure locked the account.
    pub locked_now: bool,
    /// Unix seconds until which the account is locked (0: not locked).
    pub locked_until: i64,
}

/// Which flows a supervision query covers. Times are Unix seconds, `since` inclusive,
/// `until` exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowFilter {
    /// Only flows requested at or after this time.
    pub since: Option<i64>,
    /// Only flows requested before this time.
    pub until: Option<i64>,
    /// Only flows with this partner state.
    pub partner: Option<StateCode>,
    /// Only flows whose local organisation is in this sector (stable word).
    pub sector: Option<String>,
    /// Only flows in this status (stable word).
    pub status: Option<String>,
    /// Width of the time buckets of [`Store::flow_summary`], in seconds (default one day):
    /// a year's dashboard groups by week, so the database returns thousands of rows rather
    /// than tens of thousands.
    pub bucket_seconds: Option<i64>,
}

/// A count of the flows touching the supervising state for one direction, partner state,
/// sector and status: what the dashboard's tables and bar charts show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowGroup {
    /// `outbound` (the state exports), `inbound` (it imports) or `domestic`.
    pub direction: String,
    /// The other state (the state itself for domestic flows).
    pub partner: String,
    /// Sector of the state's own organisation in the flow (`other` if unknown).
    pub sector: String,
    /// Transfer status (stable word).
    pub status: String,
    /// How many flows.
    pub count: i64,
}

/// A count of the flows touching the supervising state for one time bucket and status: what
/// the dashboard's chart over time shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowBucket {
    /// Start of the bucket ([`FlowFilter::bucket_seconds`] wide, aligned on the Unix epoch),
    /// Unix seconds.
    pub start: i64,
    /// Transfer status (stable word).
    pub status: String,
    /// How many flows.
    pub count: i64,
}

/// What the supervision dashboard draws ([`Store::flow_summary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowSummary {
    /// Counts by direction, partner, sector and status, in that order.
    pub groups: Vec<FlowGroup>,
    /// Counts by time bucket and status, in that order.
    pub buckets: Vec<FlowBucket>,
}

// `$1` is the supervising state. One row per transfer: the provider's record, or the
// consumer's when the provider is abroad (a domestic transfer has both records on this node).
const FLOW_WHERE: &str = "(t.role = 'provider' OR substr(t.provider, 1, 2) <> $1) \
    AND (substr(t.provider, 1, 2) = $1 OR substr(t.consumer, 1, 2) = $1) \
    AND ($2 IS NULL OR t.requested_at >= $2) \
    AND ($3 IS NULL OR t.requested_at < $3) \
    AND ($4 IS NULL OR (CASE WHEN substr(t.provider, 1, 2) = $1 THEN substr(t.consumer, 1, 2) ELSE substr(t.provider, 1, 2) END) = $4) \
    AND ($5 IS NULL OR COALESCE(o.sector, 'other') = $5) \
    AND ($6 IS NULL OR t.status = $6)";

// The dashboard's filter, read from the covering index `transfers_flow` (migration
// 0006) alone: a range on `requested_at` (always bound, so the index can seek), no join. The
// local organisation's sector is looked up only when the sector filter is set.
const LOCAL_ORG: &str =
    "(CASE WHEN substr(t.provider, 1, 2) = $1 THEN t.provider ELSE t.consumer END)";
const PARTNER: &str = "(CASE WHEN substr(t.provider, 1, 2) = $1 THEN substr(t.consumer, 1, 2) ELSE substr(t.provider, 1, 2) END)";
/// The dashboard's groups: see [`Store::flow_summary`]. INDEXED BY: without statistics the
/// planner would seek the period on `transfers_flow` and sort every transfer in it; read in
/// `transfers_parties`' order, the rows arrive grouped.
fn groups_sql() -> String {
    let w = summary_where();
    format!(
        "SELECT t.provider, t.consumer, t.status, COUNT(*) \
         FROM transfers t INDEXED BY transfers_parties WHERE {w} \
         GROUP BY t.provider, t.consumer, t.role, t.status"
    )
}

/// The dashboard's buckets counted from the transfers' covering index (`$7`: bucket width).
fn buckets_sql() -> String {
    let w = summary_where();
    format!(
        "SELECT (t.requested_at / $7) * $7, t.status, COUNT(*) \
         FROM transfers t INDEXED BY transfers_flow WHERE {w} \
         GROUP BY 1, 2 ORDER BY 1, 2"
    )
}

/// The dashboard's buckets summed from the per-day counts: `$1` state, `$2`..`$3` days
/// (start inclusive, end exclusive), `$4` partner, `$5` bucket width (whole days), `$6`
/// status.
const BUCKETS_FROM_DAYS: &str = "SELECT (f.day * 86400 / $5) * $5, f.status, SUM(f.count) FROM flow_days f \
     WHERE f.day >= $2 AND f.day < $3 \
     AND (f.role = 'provider' OR f.provider_state <> $1) \
     AND (f.provider_state = $1 OR f.consumer_state = $1) \
     AND ($4 IS NULL OR (CASE WHEN f.provider_state = $1 THEN f.consumer_state ELSE f.provider_state END) = $4) \
     AND ($6 IS NULL OR f.status = $6) \
     GROUP BY 1, 2 HAVING SUM(f.count) > 0 ORDER BY 1, 2";

fn summary_where() -> String {
    format!(
        "(t.role = 'provider' OR substr(t.provider, 1, 2) <> $1) \
         AND (substr(t.provider, 1, 2) = $1 OR substr(t.consumer, 1, 2) = $1) \
         AND t.requested_at >= $2 AND t.requested_at < $3 \
         AND ($4 IS NULL OR {PARTNER} = $4) \
         AND ($5 IS NULL OR COALESCE((SELECT o.sector FROM organisations o WHERE o.id = {LOCAL_ORG}), 'other') = $5) \
         AND ($6 IS NULL OR t.status = $6)"
    )
}

const FLOW_FROM: &str = "FROM transfers t LEFT JOIN organisations o ON o.id = \
    (CASE WHEN substr(t.provider, 1, 2) = $1 THEN t.provider ELSE t.consumer END)";

const ACCOUNT_COLUMNS: &str = "id, login, display_name, role, org_id, password_phc, totp_secret, totp_last_step, failed_attempts, locked_until, created_at";

type AccountRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
);

fn account_from_row(r: AccountRow) -> Result<PortalAccount, StoreError> {
    let corrupt = |what: &'static str, reason: String| StoreError::Corrupt { what, reason };
    Ok(PortalAccount {
        id: r.0,
        login: r.1,
        display_name: r.2,
        role: PortalRole::parse(&r.3).ok_or_else(|| corrupt("portal_accounts.role", r.3))?,
        org_id: r
            .4
            .map(|o| o.parse())
            .transpose()
            .map_err(|e: silkgate_model::IdError| {
                corrupt("portal_accounts.org_id", e.to_string())
            })?,
        password_phc: r.5,
        totp_secret: r.6,
        totp_last_step: r.7,
        failed_attempts: r.8,
        locked_until: r.9,
        created_at: r.10,
    })
}

impl Store {
    /// The account that signs in as `login`.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn portal_account_by_login(
        &self,
        login: &str,
    ) -> Result<Option<PortalAccount>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM portal_accounts WHERE login = $1");
        let row: Option<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(login)
            .fetch_optional(self.pool())
            .await?;
        row.map(account_from_row).transpose()
    }

    /// The account with this id.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn portal_account(&self, id: &str) -> Result<Option<PortalAccount>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM portal_accounts WHERE id = $1");
        let row: Option<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(account_from_row).transpose()
    }

    /// Every account, by login.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn portal_accounts(&self) -> Result<Vec<PortalAccount>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM portal_accounts ORDER BY login");
        let rows: Vec<AccountRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(account_from_row).collect()
    }

    /// The live session whose id hashes to `id_sha256` at time `now`, with its account.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn portal_session(
        &self,
        id_sha256: &str,
        now: i64,
    ) -> Result<Option<(PortalSession, PortalAccount)>, StoreError> {
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id_sha256, account_id, csrf_token, created_at, expires_at FROM portal_sessions WHERE id_sha256 = $1 AND expires_at > $2",
        )
        .bind(id_sha256)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let session = PortalSession {
            id_sha256: r.0,
            account_id: r.1,
            csrf_token: r.2,
            created_at: r.3,
            expires_at: r.4,
        };
        Ok(self
            .portal_account(&session.account_id)
            .await?
            .map(|a| (session, a)))
    }

    /// Every organisation registered at this node, by name.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn organisations(&self) -> Result<Vec<silkgate_model::Organisation>, StoreError> {
        let rows: Vec<rows::OrgRow> = sqlx::query_as(
            "SELECT id, name, registration_number, sector, contact, hpke_public_key, registered_at FROM organisations ORDER BY name, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(rows::org_from_row).collect()
    }

    /// Dataset versions published by `org`, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn datasets_of(&self, org: &OrgId) -> Result<Vec<DatasetVersion>, StoreError> {
        let rows: Vec<rows::DatasetRow> = sqlx::query_as(
            "SELECT dataset_id, sha256, provider, title, description, sector, format, schema_json, visibility_json, size, published_at, blob_key FROM dataset_versions WHERE provider = $1 ORDER BY published_at DESC, dataset_id, sha256",
        )
        .bind(org.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| rows::dataset_from_row(r).map(|(d, _)| d))
            .collect()
    }

    /// Counts of the flows touching `state` matching `filter`: by direction, partner state,
    /// sector and status, and by time bucket and status. What the supervision dashboard
    /// draws, without reading a transfer's row:
    ///
    /// - the groups come from one pass over the index `transfers_parties` in its own order
    ///   (provider, consumer, side, status), so the database counts as it reads instead of
    ///   sorting the period's transfers; the state's own organisation in each group is then
    ///   mapped to its sector, read once per organisation;
    /// - the buckets are sums over the per-day counts `flow_days` (migration 0008, kept by
    ///   triggers in the transaction of each transfer's change) when the period starts and
    ///   ends on UTC day boundaries, the buckets are whole days and no sector is asked for;
    ///   otherwise they are counted from the covering index `transfers_flow`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn flow_summary(
        &self,
        state: StateCode,
        filter: &FlowFilter,
    ) -> Result<FlowSummary, StoreError> {
        let by_org: Vec<(String, String, String, i64)> = bind_summary(
            sqlx::query_as(sqlx::AssertSqlSafe(groups_sql())),
            state,
            filter,
        )
        .fetch_all(self.pool())
        .await?;
        let sectors: std::collections::HashMap<String, String> =
            sqlx::query_as::<_, (String, String)>("SELECT id, sector FROM organisations")
                .fetch_all(self.pool())
                .await?
                .into_iter()
                .collect();
        let mut groups: std::collections::BTreeMap<(String, String, String, String), i64> =
            Default::default();
        let me = state.as_str();
        for (provider, consumer, status, count) in by_org {
            let (p, c) = (prefix(&provider), prefix(&consumer));
            let (direction, partner, local) = match (p == me, c == me) {
                (true, true) => ("domestic", me, &provider),
                (true, false) => ("outbound", c, &provider),
                _ => ("inbound", p, &consumer),
            };
            let sector = sectors
                .get(local)
                .cloned()
                .unwrap_or_else(|| "other".to_owned());
            *groups
                .entry((direction.to_owned(), partner.to_owned(), sector, status))
                .or_default() += count;
        }
        let bucket = filter.bucket_seconds.unwrap_or(86_400).max(1);
        let whole_days = |t: Option<i64>| t.is_none_or(|t| t.rem_euclid(86_400) == 0);
        let buckets: Vec<(i64, String, i64)> = if filter.sector.is_none()
            && bucket % 86_400 == 0
            && whole_days(filter.since)
            && whole_days(filter.until)
        {
            sqlx::query_as(BUCKETS_FROM_DAYS)
                .bind(me)
                .bind(filter.since.map_or(i64::MIN, |t| t.div_euclid(86_400)))
                .bind(filter.until.map_or(i64::MAX, |t| t.div_euclid(86_400)))
                .bind(filter.partner.map(|p| p.as_str().to_owned()))
                .bind(bucket)
                .bind(filter.status.as_deref())
                .fetch_all(self.pool())
                .await?
        } else {
            bind_summary(
                sqlx::query_as(sqlx::AssertSqlSafe(buckets_sql())),
                state,
                filter,
            )
            .bind(bucket)
            .fetch_all(self.pool())
            .await?
        };
        Ok(FlowSummary {
            groups: groups
                .into_iter()
                .map(|((direction, partner, sector, status), count)| FlowGroup {
                    direction,
                    partner,
                    sector,
                    status,
                    count,
                })
                .collect(),
            buckets: buckets
                .into_iter()
                .map(|(start, status, count)| FlowBucket {
                    start,
                    status,
                    count,
                })
                .collect(),
        })
    }

    /// The flows touching `state` matching `filter`, newest first, `limit` of them after
    /// skipping `offset`.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn flows(
        &self,
        state: StateCode,
        filter: &FlowFilter,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.role, t.consumer, t.provider, t.dataset_id, t.sha256, t.purpose, t.consumer_hpke_key, t.status, t.reason, t.requested_at, t.updated_at, t.report_json, t.manifest_json, t.receipt_json, t.cipher_blob \
             {FLOW_FROM} WHERE {FLOW_WHERE} ORDER BY t.requested_at DESC, t.id LIMIT $7 OFFSET $8"
        );
        let rows: Vec<rows::TransferRow> =
            bind_filter(sqlx::query_as(sqlx::AssertSqlSafe(sql)), state, filter)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(self.pool())
                .await?;
        rows.into_iter().map(rows::transfer_from_row).collect()
    }

    /// Counts of the flows touching `state` matching `filter` by data category (as the
    /// decision's facts name them, `$.decision.facts.data.categories` of the report) and
    /// status; a flow with several categories counts once under each. Only this node's
    /// records that hold a decision (the provider's side) count. This reads every report of
    /// the period, so it is a page of its own, not part of the dashboard.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn flow_categories(
        &self,
        state: StateCode,
        filter: &FlowFilter,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let sql = format!(
            "SELECT j.value, t.status, COUNT(*) {FLOW_FROM}, \
             json_each(t.report_json, '$.decision.facts.data.categories') j \
             WHERE {FLOW_WHERE} AND t.report_json IS NOT NULL AND json_valid(t.report_json) \
             GROUP BY 1, 2 ORDER BY 1, 2"
        );
        Ok(
            bind_filter(sqlx::query_as(sqlx::AssertSqlSafe(sql)), state, filter)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The flows touching `state` matching `filter` that come after `after` (the requested
    /// time and id of the last one read) in the order of [`Store::flows`], `limit` of them:
    /// paging by key, so reading every flow (the CSV export) costs one pass, not one pass per
    /// page as `OFFSET` does.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn flows_after(
        &self,
        state: StateCode,
        filter: &FlowFilter,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.role, t.consumer, t.provider, t.dataset_id, t.sha256, t.purpose, t.consumer_hpke_key, t.status, t.reason, t.requested_at, t.updated_at, t.report_json, t.manifest_json, t.receipt_json, t.cipher_blob \
             {FLOW_FROM} WHERE {FLOW_WHERE} \
             AND ($8 IS NULL OR t.requested_at < $8 OR (t.requested_at = $8 AND t.id > $9)) \
             ORDER BY t.requested_at DESC, t.id LIMIT $7"
        );
        let rows: Vec<rows::TransferRow> =
            bind_filter(sqlx::query_as(sqlx::AssertSqlSafe(sql)), state, filter)
                .bind(i64::from(limit))
                .bind(after.map(|a| a.0))
                .bind(after.map(|a| a.1.to_owned()))
                .fetch_all(self.pool())
                .await?;
        rows.into_iter().map(rows::transfer_from_row).collect()
    }

    /// Any record of transfer `id` on this node (the provider's first), whoever it concerns:
    /// the caller checks who may see it.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Corrupt`].
    pub async fn transfer_any_role(&self, id: &str) -> Result<Option<TransferRecord>, StoreError> {
        for role in [crate::TransferRole::Provider, crate::TransferRole::Consumer] {
            if let Some(r) = self.transfer(id, role).await? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

fn bind_filter<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    state: StateCode,
    f: &'q FlowFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
    q.bind(state.as_str().to_owned())
        .bind(f.since)
        .bind(f.until)
        .bind(f.partner.map(|p| p.as_str().to_owned()))
        .bind(f.sector.as_deref())
        .bind(f.status.as_deref())
}

/// The state code an organisation id starts with.
fn prefix(org: &str) -> &str {
    org.get(..2).unwrap_or(org)
}

fn bind_summary<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    state: StateCode,
    f: &'q FlowFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
    q.bind(state.as_str().to_owned())
        .bind(f.since.unwrap_or(i64::MIN))
        .bind(f.until.unwrap_or(i64::MAX))
        .bind(f.partner.map(|p| p.as_str().to_owned()))
        .bind(f.sector.as_deref())
        .bind(f.status.as_deref())
}

impl Tx {
    /// Creates an account. The caller appends the event that records it.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if the id or login exists.
    pub async fn insert_portal_account(&mut self, a: &PortalAccount) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO portal_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&a.id)
            .bind(&a.login)
            .bind(&a.display_name)
            .bind(a.role.as_str())
            .bind(a.org_id.as_ref().map(|o| o.as_str().to_owned()))
            .bind(&a.password_phc)
            .bind(&a.totp_secret)
            .bind(a.totp_last_step)
            .bind(a.failed_attempts)
            .bind(a.locked_until)
            .bind(a.created_at)
            .execute(self.conn())
            .await
            .map_err(|e| crate::tx::dup(e, "portal account", &a.login))?;
        Ok(())
    }

    /// Records a failed sign-in of `account_id` at `now`; the `max_failures`-th failure in a
    /// row locks the account for `lock_seconds`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn portal_record_failure(
        &mut self,
        account_id: &str,
        now: i64,
        max_failures: i64,
        lock_seconds: i64,
    ) -> Result<SignInOutcome, StoreError> {
        let (failed,): (i64,) = sqlx::query_as(
            "UPDATE portal_accounts SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts",
        )
        .bind(account_id)
        .fetch_one(self.conn())
        .await?;
        if failed >= max_failures {
            let until = now + lock_seconds;
            sqlx::query(
                "UPDATE portal_accounts SET locked_until = $2, failed_attempts = 0 WHERE id = $1",
            )
            .bind(account_id)
            .bind(until)
            .execute(self.conn())
            .await?;
            return Ok(SignInOutcome {
                failed_attempts: failed,
                locked_now: true,
                locked_until: until,
            });
        }
        Ok(SignInOutcome {
            failed_attempts: failed,
            locked_now: false,
            locked_until: 0,
        })
    }

    /// Records a successful sign-in that used TOTP time step `step`: compare-and-set on the
    /// last step accepted, so a code is accepted once. Returns false if the step was used.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn portal_record_success(
        &mut self,
        account_id: &str,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE portal_accounts SET totp_last_step = $2, failed_attempts = 0, locked_until = 0 WHERE id = $1 AND totp_last_step < $2",
        )
        .bind(account_id)
        .bind(step)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes an account's role (and organisation). Returns false if there is no such account.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_portal_role(
        &mut self,
        account_id: &str,
        role: PortalRole,
        org_id: Option<&OrgId>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE portal_accounts SET role = $2, org_id = $3 WHERE id = $1")
            .bind(account_id)
            .bind(role.as_str())
            .bind(org_id.map(|o| o.as_str().to_owned()))
            .execute(self.conn())
            .await?;
        // A role change ends the account's sessions: the next request signs in afresh.
        sqlx::query("DELETE FROM portal_sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Starts a session.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if the id exists.
    pub async fn insert_portal_session(&mut self, s: &PortalSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO portal_sessions (id_sha256, account_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id_sha256)
        .bind(&s.account_id)
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(self.conn())
        .await
        .map_err(|e| crate::tx::dup(e, "portal session", "(hidden)"))?;
        Ok(())
    }

    /// Ends a session. Returns whether it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_portal_session(&mut self, id_sha256: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM portal_sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard's queries never read a transfer's row nor sort the period's transfers:
    /// the groups stream from `transfers_parties` in order, the buckets seek `flow_days` or
    /// the covering index.
    #[tokio::test]
    async fn the_dashboard_counts_read_only_indexes_and_day_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let state = StateCode::new("KZ").unwrap();
        let filter = FlowFilter {
            since: Some(86_400),
            ..Default::default()
        };
        // EXPLAIN does not check the schema's version, so a pooled connection could still
        // plan with the schema before the migrations: read once to refresh it.
        let mut conn = store.pool().acquire().await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM transfers")
            .execute(&mut *conn)
            .await
            .unwrap();
        let mut plans = Vec::new();
        for sql in [groups_sql(), buckets_sql(), BUCKETS_FROM_DAYS.to_owned()] {
            let plan: Vec<(i64, i64, i64, String)> = bind_summary(
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))),
                state,
                &filter,
            )
            .bind(86_400_i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            plans.push(plan.into_iter().map(|p| p.3).collect::<Vec<_>>());
        }
        assert_eq!(
            plans[0][0], "SCAN t USING COVERING INDEX transfers_parties",
            "{plans:?}"
        );
        assert!(
            !plans[0].iter().any(|l| l.contains("TEMP B-TREE")),
            "{plans:?}"
        );
        assert!(
            plans[1][0].starts_with(
                "SEARCH t USING COVERING INDEX transfers_flow (requested_at>? AND requested_at<?)"
            ),
            "{plans:?}"
        );
        assert!(
            plans[2][0].starts_with("SEARCH f USING PRIMARY KEY (day>? AND day<?)"),
            "{plans:?}"
        );
    }
}
