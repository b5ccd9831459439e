//! Transactions of either backend: one helper begins every write transaction the store makes
//! ([`Tx::write`]), another the read transactions that give bulk reads one snapshot ([`Tx::read`]).
//!
//! A write transaction on SQLite begins with `BEGIN IMMEDIATE`: it takes the database's write lock
//! at once, so a second writer waits (busy timeout) instead of failing half-way with "database is
//! locked". On PostgreSQL it takes a transaction-scoped advisory lock on (`lock`, workspace), so
//! writers of the same kind into one workspace take turns — two imports of overlapping customers
//! do not deadlock on unique-index waits, two task syncs do not race to open the same task — while
//! readers never wait.

use crate::bulk::Conn;
use crate::error::Result;
use crate::model::WorkspaceId;
use crate::Pool;
use sqlx::{Postgres, Sqlite, Transaction};

/// Advisory lock keys of the PostgreSQL write transactions (the first half of the key; the
/// workspace id is the second). Imports of any entity take turns with each other.
pub(crate) const IMPORT_LOCK: i32 = 7261;
/// Replacing the scoring snapshot.
pub(crate) const SCORES_LOCK: i32 = 7262;
/// Syncing the action queue.
pub(crate) const TASKS_LOCK: i32 = 7263;

/// An open transaction of either backend. Dropping it without [`Tx::commit`] rolls it back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Begins a write transaction holding the lock `lock` for workspace `ws` (see the module docs).
    pub async fn write(pool: &Pool, lock: i32, ws: WorkspaceId) -> Result<Tx> {
        Ok(match pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                let mut t = p.begin().await?;
                // The key's second half is an i32: workspace ids beyond it share keys (more
                // waiting, never less safety).
                sqlx::query("SELECT pg_advisory_xact_lock($1, $2)").bind(lock).bind(ws.0 as i32).execute(&mut *t).await?;
                Tx::Postgres(t)
            }
        })
    }

    /// Begins a read-only transaction: every statement in it sees the same snapshot, so rows read
    /// by separate statements (customers, then their orders) agree even while an import commits.
    pub async fn read(pool: &Pool) -> Result<Tx> {
        Ok(match pool {
            // Deferred: the snapshot is taken at the first read and kept until the end (WAL).
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?),
        })
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(t),
            Tx::Postgres(t) => Conn::Postgres(t),
        }
    }

    /// Runs one statement without parameters; returns the rows it changed.
    pub async fn exec(&mut self, sql: &str) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(t) => sqlx::query(sql).execute(&mut **t).await?.rows_affected(),
            Tx::Postgres(t) => sqlx::query(sql).execute(&mut **t).await?.rows_affected(),
        })
    }

    /// Creates the temporary table `name` (`columns`: `name TYPE, …`, in PostgreSQL's type names,
    /// which SQLite reads too) that lives only as long as this transaction: a staging table for a
    /// bulk write ([`crate::bulk::write_rows`]) joined against the real tables in one statement.
    /// Call [`Tx::unstage`] before committing.
    pub async fn stage(&mut self, name: &str, columns: &str) -> Result<()> {
        match self {
            Tx::Sqlite(_) => {
                // Rolled back with the transaction if it fails, so none is ever left over; dropped
                // by `unstage` otherwise. Kept in memory (`temp_store`).
                self.exec(&format!("DROP TABLE IF EXISTS temp.{name}")).await?;
                self.exec(&format!("CREATE TEMP TABLE {name} ({columns})")).await?;
            }
            Tx::Postgres(_) => {
                self.exec(&format!("CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")).await?;
            }
        }
        Ok(())
    }

    /// Creates the temporary table `name` holding the rows of `select`, like [`Tx::stage`].
    pub async fn stage_as(&mut self, name: &str, select: &str) -> Result<()> {
        match self {
            Tx::Sqlite(_) => {
                self.exec(&format!("DROP TABLE IF EXISTS temp.{name}")).await?;
                self.exec(&format!("CREATE TEMP TABLE {name} AS {select}")).await?;
            }
            Tx::Postgres(_) => {
                self.exec(&format!("CREATE TEMP TABLE {name} ON COMMIT DROP AS {select}")).await?;
            }
        }
        Ok(())
    }

    /// Drops a staging table made by [`Tx::stage`] (on PostgreSQL the commit does).
    pub async fn unstage(&mut self, name: &str) -> Result<()> {
        if self.is_sqlite() {
            self.exec(&format!("DROP TABLE temp.{name}")).await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Tx::Sqlite(_))
    }
}
