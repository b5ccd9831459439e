//! # holdfast-store
//!
//! The customer knowledge base of Holdfast: every customer of a workspace with its whole history,
//! kept in **SQLite** (embedded default, one file, nothing to install) or **PostgreSQL** (for
//! teams), behind one API. The backend is picked from the URL (`sqlite://holdfast.db`,
//! `sqlite::memory:`, `postgres://user@host/db`); callers see the same methods and the same
//! answers from both.
//!
//! ## Brief overview
//! - [`Store`]: a connection pool to one database. [`Store::open`] creates the SQLite file if
//!   needed and applies the migrations of `migrations/{sqlite,postgres}/` (a database written by a
//!   newer Holdfast is refused with [`Error::TooNew`]). All methods are `async`; the CLI drives
//!   them with [`runtime`]. [`Store::close`] checkpoints SQLite's write-ahead log into the file
//!   (front ends call it when done, so the `.db` file alone holds every row); [`Store::backup`]
//!   writes a consistent copy (`VACUUM INTO`).
//! - [`Workspace`]: settings every entity is scoped by (time zone, reporting currency, business
//!   model, inactivity window W, contact budget defaults). [`Store::workspace`] opens or creates one.
//! - Imports ([`Store::begin_import`] → [`Import`], or [`Store::import`]): rows of one entity
//!   ([`OrderRecord`], [`CustomerRecord`], [`EventRecord`], [`SubscriptionRecord`],
//!   [`FeedbackRecord`], [`Note`], [`ImportantDate`], [`Contact`], [`Interaction`]) in **one
//!   transaction**: dropping an [`Import`] without [`Import::commit`] writes nothing. Rows are
//!   keyed by external id and compared by a hash with what is stored, in memory: the same file
//!   twice changes nothing, a changed row is updated ([`ImportSummary`]). New rows get their ids
//!   before they are written, so rows and their children go in by bulk writes without a join or a
//!   round trip per row. [`Store::add_record`] records one note, date, contact or interaction
//!   entered by hand.
//! - Reading for analytics, in bulk: [`Store::load_order_log`] gives a workspace's counted orders
//!   (status [`holdfast_core::OrderStatus::is_counted`]) as a `holdfast_core::OrderLog`, read in
//!   one snapshot as integer columns (orders, then their lines by key range: no join, no sort in
//!   SQL); [`Store::load_subscriptions`] feeds `holdfast_core::subscriptions`
//!   ([`SubscriptionRecord::to_core`]); [`Store::load_activity`] gives events, feedback and
//!   subscriptions for the red flags ([`Activity::to_core`]); [`Store::owners`] the customers'
//!   owners.
//! - The scoring snapshot ([`Score`], [`Store::replace_scores`], [`Store::scores`]) and the action
//!   queue ([`Task`]): [`Store::sync_tasks`] opens a task for each proposed (customer, flag kind)
//!   without an open one and refreshes the open ones, in one transaction and a constant number of
//!   statements; [`Store::open_tasks`], [`Store::tasks_of`], [`Store::set_task_state`]. Never two
//!   open tasks for one customer and kind (a unique index says so).
//! - Lists for the dashboard and the HTTP API, as keyset pages ([`Page`]):
//!   [`Store::customers_page`] ([`CustomerSummary`], by external id) and [`Store::tasks_page`]
//!   ([`TaskFilter`], [`TaskCursor`], in the queue's order).
//! - The customer view ([`Store::customer_view`]) and CSV export of every entity ([`export`]).
//! - Accounts for the web server ([`accounts`]): people and their [`Role`] per workspace,
//!   sessions, API tokens ([`Scope`]), one-time set-up links, the audit log and replies kept for
//!   `Idempotency-Key` — secrets only as hashes.
//! - Experiments ([`Campaign`]): [`Store::write_assignments`] writes a batch of
//!   [`AssignmentRecord`]s in one transaction (an unknown customer, or one customer in two groups
//!   of a campaign, writes nothing); [`Store::campaigns`], [`Store::assigned_orders`] (each
//!   assigned customer's counted orders around its assignment), the global holdout
//!   ([`Store::global_holdout`], [`Store::set_global_holdout`]).
//! - The engine's rows ([`engine`]): engine campaigns, the outbox, the contact ledger and budget,
//!   suppressions (listed and removed with [`Store::suppressions`], [`Store::unsuppress`]),
//!   webhook endpoints; [`Store::claim_messages`] claims due messages and reserves them against
//!   the contact budget in one transaction.
//!
//! Values are typed as `holdfast_core` types them — order status ([`holdfast_core::OrderStatus`]),
//! flag kind, segment, task state ([`TaskState`]); their names appear only inside SQL, and a name
//! the store does not know is [`Error::Corrupt`]. Money is `i64` minor units, time `i64` seconds
//! UTC on both backends (`BIGINT` columns), so both give the same answers. Reading files is
//! `holdfast-import`'s job and computing metrics `holdfast-core`'s; this crate only stores and
//! loads.
//!
//! ## The backends
//! SQL both backends understand is written once, where it is used. What differs is in one module
//! per backend: `src/sqlite.rs` (pool settings, `BEGIN IMMEDIATE`, staging tables, multi-row
//! `INSERT`s, bulk reads stepped on SQLite's own handle rather than row by row through sqlx) and
//! `src/postgres.rs` (pool, advisory locks, staging tables dropped at commit, `COPY` in both
//! directions, ids drawn from identity sequences in blocks). Bulk writes and reads go through one
//! interface over both (`src/bulk.rs`), transactions through another (`src/tx.rs`).
//!
//! ## Concurrency
//! Every write transaction begins through one helper. On SQLite (WAL, `synchronous=NORMAL`, a long
//! busy timeout) it starts with `BEGIN IMMEDIATE`, so a second writer waits for the first instead
//! of failing. On PostgreSQL it takes a transaction-scoped advisory lock on (kind of write,
//! workspace) — imports, scoring snapshots and task syncs each have their own key — so two
//! imports of overlapping customers serialise instead of deadlocking on unique-index waits, and
//! two task syncs never race to open the same task. Readers never wait; a bulk read runs in one
//! read transaction, so its statements see one snapshot.

pub mod accounts;
mod bulk;
mod consents;
pub mod engine;
mod error;
mod experiments;
pub mod export;
mod import;
mod log_cache;
mod model;
mod postgres;
mod read;
mod sqlite;
mod suppressions;
mod tasks;
mod tx;
pub use accounts::{ApiToken, AuditEntry, KeptReply, Member, Role, Scope, SessionInfo, TokenCheck, User};
pub use tasks::{SyncedTask, TaskSync};
pub use consents::Unsubscribed;
pub use suppressions::Suppression;

pub use error::{Error, Result};
pub use experiments::{AssignedOrders, AssignmentRecord, AssignmentSummary, Campaign, CampaignSettings, DEFAULT_WINDOW_DAYS};
pub use import::{Entity, Import, Record, BIRTHDAY_PREFIX};
pub use model::*;
pub use read::{Activity, CustomerView, EventCount};
pub use tokio::runtime::Runtime;

use holdfast_core::Currency;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which database answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    /// What differs between the backends in the SQL the store runs.
    pub(crate) fn dialect(&self) -> &'static Dialect {
        match self {
            Pool::Sqlite(_) => &sqlite::DIALECT,
            Pool::Postgres(_) => &postgres::DIALECT,
        }
    }
}

/// The statements and type names that differ between the backends, one constant per backend
/// ([`sqlite::DIALECT`], [`postgres::DIALECT`]); longer backend-specific code is in those modules.
pub(crate) struct Dialect {
    /// The column type of a JSON document (`TEXT` / `JSONB`).
    pub json_type: &'static str,
    /// One row with 1 when sqlx's migrations table exists, else 0.
    pub migrations_table_exists: &'static str,
    /// Run first in an import's transaction.
    pub import_setup: &'static str,
    /// Run before an import builds an index again.
    pub index_build_setup: Option<&'static str>,
    /// Refreshes the planner's statistics of the tables named after it, after a bulk write
    /// (PostgreSQL plans by them: a queue page read 1M tasks through the wrong index until the
    /// table was analysed); `None` where the planner needs none.
    pub analyze: Option<&'static str>,
}

/// Runs the same code on whichever pool the store holds: `with_pool!(self, p => query.fetch_all(p).await)`.
macro_rules! with_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// A store: a pool of connections to one SQLite or PostgreSQL database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    url: String,
}

/// A multi-threaded tokio runtime for callers that are not async themselves (the CLI).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start the async runtime: {e}")))
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((auth, host)) = rest.split_once('@') {
            if let Some((user, _)) = auth.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_owned()
}

impl Store {
    /// Opens (and for SQLite, creates) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        let shown = redact_url(url);
        let open_err = |source: sqlx::Error| match &source {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000") => {
                let name = url.split('?').next().unwrap_or(url).rsplit('/').next().unwrap_or("").to_owned();
                let server = shown.split('?').next().unwrap_or(&shown).rsplit_once('/').map(|x| x.0.to_owned()).unwrap_or_else(|| shown.clone());
                Error::NoDatabase { url: server, name }
            }
            _ => Error::Open { url: shown.clone(), source },
        };
        let pool = if url.starts_with("sqlite:") {
            let file = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:").split('?').next().unwrap_or("");
            if !file.is_empty() && !file.contains(":memory:") && !url.contains("mode=memory") {
                if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
                    return Err(Error::NoDirectory { url: shown, dir: dir.display().to_string() });
                }
            }
            Pool::Sqlite(sqlite::connect(url).await.map_err(open_err)?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(postgres::connect(url).await.map_err(open_err)?)
        } else {
            return Err(Error::BadUrl(shown));
        };
        let store = Store { pool, url: shown };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Closes the store: on SQLite the write-ahead log is checkpointed into the database file and
    /// truncated first, so the `.db` file alone holds every row (a copy of it is a backup; see
    /// [`Store::backup`]); then the pool closes, waiting for connections to finish. Every front
    /// end calls it when it is done (the CLI at the end of each command, a server on shutdown).
    /// When another process holds the database open and keeps the log busy for more than a few
    /// seconds, the checkpoint is left to the last process that closes it; the rows are safe in
    /// the log meanwhile. Clones of the store share the pool: they are closed too.
    pub async fn close(self) -> Result<()> {
        let checkpoint = match &self.pool {
            Pool::Sqlite(p) if !p.is_closed() => sqlite::checkpoint(p).await,
            _ => Ok(()),
        };
        with_pool!(self, p => p.close().await);
        checkpoint
    }

    /// Writes a consistent copy of the whole database to `path` (SQLite: `VACUUM INTO`, a
    /// compact single file that opens as a store of its own; it may be taken while others read
    /// and write). `path` must not exist. A PostgreSQL store is backed up with `pg_dump`.
    pub async fn backup(&self, path: &std::path::Path) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                if path.exists() {
                    return Err(Error::Invalid(format!("{} already exists; a backup never overwrites a file", path.display())));
                }
                let target = path.to_str().ok_or_else(|| Error::Invalid(format!("{} is not a UTF-8 path", path.display())))?;
                sqlx::query("VACUUM INTO $1").bind(target).execute(p).await?;
                Ok(())
            }
            Pool::Postgres(_) => {
                Err(Error::Invalid(format!("{} is a PostgreSQL database: back it up with `pg_dump` (e.g. pg_dump -Fc DB > holdfast.dump)", self.url)))
            }
        }
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// The newest schema version this build knows.
    pub fn known_schema_version(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The schema version recorded in the database (0 for a fresh one).
    pub async fn schema_version(&self) -> Result<i64> {
        let exists_sql = self.pool.dialect().migrations_table_exists;
        let n: i64 = with_pool!(self, p => sqlx::query_scalar(exists_sql).fetch_one(p).await?);
        if n == 0 {
            return Ok(0);
        }
        let v: Option<i64> = with_pool!(self, p => sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(p).await?);
        Ok(v.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<()> {
        let found = self.schema_version().await?;
        let known = self.known_schema_version();
        if found > known {
            return Err(Error::TooNew { url: self.url.clone(), found, known });
        }
        let m = self.migrator();
        let r = with_pool!(self, p => m.run(p).await);
        r.map_err(|source| Error::Migrate { url: self.url.clone(), source })
    }

    /// The workspace with this slug, created with default settings (and `name` = slug) if absent.
    pub async fn workspace(&self, slug: &str) -> Result<Workspace> {
        let now = chrono::Utc::now().timestamp();
        with_pool!(self, p => sqlx::query("INSERT INTO workspaces (slug, name, created_at) VALUES ($1, $1, $2) ON CONFLICT (slug) DO NOTHING")
            .bind(slug).bind(now).execute(p).await?.rows_affected());
        let row: Option<WorkspaceRow> = with_pool!(self, p => sqlx::query_as(&format!("{WORKSPACE_SELECT} WHERE slug = $1")).bind(slug).fetch_optional(p).await?);
        workspace_of(row.ok_or_else(|| Error::NotFound { what: format!("workspace {slug:?}") })?)
    }

    /// The workspace with this id; only reads (the server calls it on every request).
    pub async fn workspace_by_id(&self, id: WorkspaceId) -> Result<Workspace> {
        let row: Option<WorkspaceRow> = with_pool!(self, p => sqlx::query_as(&format!("{WORKSPACE_SELECT} WHERE id = $1")).bind(id.0).fetch_optional(p).await?);
        workspace_of(row.ok_or_else(|| Error::NotFound { what: format!("workspace {}", id.0) })?)
    }

    /// Saves the settings of `ws` (looked up by id).
    pub async fn update_workspace(&self, ws: &Workspace) -> Result<()> {
        if ws.window_days == 0 {
            return Err(Error::Invalid("the inactivity window must be at least 1 day".into()));
        }
        // A new currency is the currency of an empty order log: the stored log image is stale.
        let n = with_pool!(self, p => sqlx::query("UPDATE workspaces SET name = $2, time_zone = $3, currency = $4, business_model = $5, window_days = $6, contacts_per_week = $7, contacts_per_month = $8, \
            orders_version = orders_version + CASE WHEN currency = $4 THEN 0 ELSE 1 END WHERE id = $1")
            .bind(ws.id.0).bind(&ws.name).bind(&ws.time_zone).bind(ws.currency.as_str()).bind(ws.business_model.as_str())
            .bind(ws.window_days as i64).bind(ws.contacts_per_week as i64).bind(ws.contacts_per_month as i64)
            .execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("workspace {}", ws.id.0) });
        }
        Ok(())
    }

    /// Refreshes the planner's statistics of `tables` after a bulk write (PostgreSQL only).
    pub(crate) async fn analyze(&self, tables: &str) -> Result<()> {
        if let Some(a) = self.pool.dialect().analyze {
            with_pool!(self, p => sqlx::query(&format!("{a} {tables}")).execute(p).await?.rows_affected());
        }
        Ok(())
    }

    /// Number of rows of a table in a workspace (for tests and summaries).
    pub async fn count(&self, ws: WorkspaceId, entity: Entity) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE workspace_id = $1", entity.table());
        Ok(with_pool!(self, p => sqlx::query_scalar(&sql).bind(ws.0).fetch_one(p).await?))
    }
}

const WORKSPACE_SELECT: &str = "SELECT id, slug, name, time_zone, currency, business_model, window_days, contacts_per_week, contacts_per_month FROM workspaces";
type WorkspaceRow = (i64, String, String, String, String, String, i64, i64, i64);

fn workspace_of((id, slug, name, time_zone, currency, model, window, per_week, per_month): WorkspaceRow) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(id),
        slug,
        name,
        time_zone,
        currency: Currency::new(&currency).ok_or_else(|| Error::Corrupt(format!("workspace currency {currency:?}")))?,
        business_model: BusinessModel::parse(&model).ok_or_else(|| Error::Corrupt(format!("business model {model:?}")))?,
        window_days: u32::try_from(window).unwrap_or(365),
        contacts_per_week: u32::try_from(per_week).unwrap_or(0),
        contacts_per_month: u32::try_from(per_month).unwrap_or(0),
    })
}

/// 64-bit FNV-1a over the fields of a row, to tell changed rows from unchanged ones on re-import.
/// Stable across versions and machines (unlike `std`'s hasher).
#[derive(Clone, Copy)]
pub(crate) struct RowHash(u64);

impl RowHash {
    pub fn new() -> Self {
        RowHash(0xcbf2_9ce4_8422_2325)
    }
    pub fn bytes(mut self, b: &[u8]) -> Self {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Field separator, so ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        self
    }
    pub fn str(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }
    pub fn opt(self, s: Option<&str>) -> Self {
        match s {
            Some(s) => self.bytes(&[1]).str(s),
            None => self.bytes(&[0]),
        }
    }
    pub fn int(self, v: i64) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    pub fn opt_int(self, v: Option<i64>) -> Self {
        match v {
            Some(v) => self.bytes(&[1]).int(v),
            None => self.bytes(&[0]),
        }
    }
    pub fn finish(self) -> i64 {
        self.0 as i64
    }
}

/// Creating and dropping whole PostgreSQL databases on a server (for tests and demos).
pub mod admin {
    use crate::error::{Error, Result};
    use sqlx::Connection;

    /// The URL of database `name` on the server of `admin_url` (same user, host and options).
    pub fn database_url(admin_url: &str, name: &str) -> String {
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let after_scheme = base.find("://").map(|k| k + 3).unwrap_or(0);
        let root = match base[after_scheme..].find('/') {
            Some(k) => &base[..after_scheme + k],
            None => base,
        };
        format!("{root}/{name}{query}")
    }

    fn check_name(name: &str) -> Result<()> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Error::Invalid(format!("{name:?} is not a database name (lower-case letters, digits, _)")));
        }
        Ok(())
    }

    /// Creates database `name` and returns its URL. Fails with a message naming the server when
    /// PostgreSQL is unreachable.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<String> {
        check_name(name)?;
        let mut c = sqlx::PgConnection::connect(admin_url).await.map_err(|source| Error::Open { url: crate::redact_url(admin_url), source })?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await?;
        c.close().await.ok();
        Ok(database_url(admin_url, name))
    }

    /// Drops database `name`, disconnecting its sessions.
    pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
        check_name(name)?;
        let mut c = sqlx::PgConnection::connect(admin_url).await.map_err(|source| Error::Open { url: crate::redact_url(admin_url), source })?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await?;
        c.close().await.ok();
        Ok(())
    }
}
