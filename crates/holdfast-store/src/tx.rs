//! Transactions of either backend: one helper begins every write transaction the store makes
//! ([`Tx::write`]), another the read transactions that give bulk reads one snapshot ([`Tx::read`]).
//!
//! A write transaction on SQLite begins with `BEGIN IMMEDIATE`: it takes the database's write lock
//! at once, so a second writer waits (busy timeout) instead of failing half-way with "database is
//! locked". On PostgreSQL it takes a transaction-scoped advisory lock on (`lock`, workspace), so
//! writers of the same kind into one workspace take turns — two imports of overlapping customers
//! do not deadlock on unique-index waits, two task syncs do not race to open the same task — while
//! readers never wait. The statements themselves are in [`crate::sqlite`] and [`crate::postgres`].

use crate::bulk::Conn;
use crate::error::Result;
use crate::model::WorkspaceId;
use crate::{Dialect, Pool};
use sqlx::{Postgres, Sqlite, Transaction};

/// Advisory lock keys of the PostgreSQL write transactions (the first half of the key; the
/// workspace id is the second). Imports of any entity take turns with each other.
pub(crate) const IMPORT_LOCK: i32 = 7261;
/// Replacing the scoring snapshot.
pub(crate) const SCORES_LOCK: i32 = 7262;
/// Syncing the action queue.
pub(crate) const TASKS_LOCK: i32 = 7263;
/// Writing experiment assignments and settings.
pub(crate) const EXPERIMENTS_LOCK: i32 = 7270;

/// An open transaction of either backend. Dropping it without [`Tx::commit`] rolls it back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same code on whichever transaction `tx` holds: `with_tx!(tx, t => query.execute(&mut **t).await)`
/// (for statements with bound values; [`Tx::exec`] runs those without).
macro_rules! with_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::tx::Tx::Sqlite($t) => $body,
            $crate::tx::Tx::Postgres($t) => $body,
        }
    };
}
pub(crate) use with_tx;

impl Tx {
    /// Begins a write transaction holding the lock `lock` for workspace `ws` (see the module docs).
    pub async fn write(pool: &Pool, lock: i32, ws: WorkspaceId) -> Result<Tx> {
        Ok(match pool {
            Pool::Sqlite(p) => Tx::Sqlite(crate::sqlite::begin_write(p).await?),
            Pool::Postgres(p) => Tx::Postgres(crate::postgres::begin_write(p, lock, ws).await?),
        })
    }

    /// Begins a read-only transaction: every statement in it sees the same snapshot, so rows read
    /// by separate statements (customers, then their orders) agree even while an import commits.
    pub async fn read(pool: &Pool) -> Result<Tx> {
        Ok(match pool {
            Pool::Sqlite(p) => Tx::Sqlite(crate::sqlite::begin_read(p).await?),
            Pool::Postgres(p) => Tx::Postgres(crate::postgres::begin_read(p).await?),
        })
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => Conn::Sqlite(t),
            Tx::Postgres(t) => Conn::Postgres(t),
        }
    }

    /// What differs between the backends in the SQL this transaction runs.
    pub fn dialect(&self) -> &'static Dialect {
        match self {
            Tx::Sqlite(_) => &crate::sqlite::DIALECT,
            Tx::Postgres(_) => &crate::postgres::DIALECT,
        }
    }

    /// Runs one statement without parameters; returns the rows it changed.
    pub async fn exec(&mut self, sql: &str) -> Result<u64> {
        Ok(with_tx!(self, t => sqlx::query(sql).execute(&mut **t).await?.rows_affected()))
    }

    async fn exec_all(&mut self, sqls: Vec<String>) -> Result<()> {
        for sql in sqls {
            self.exec(&sql).await?;
        }
        Ok(())
    }

    /// Creates the temporary table `name` (`columns`: `name TYPE, …`, in PostgreSQL's type names,
    /// which SQLite reads too) that lives only as long as this transaction: a staging table for a
    /// bulk write ([`crate::bulk::write_rows`]) joined against the real tables in one statement.
    /// Call [`Tx::unstage`] before committing.
    pub async fn stage(&mut self, name: &str, columns: &str) -> Result<()> {
        let sqls = match self {
            Tx::Sqlite(_) => crate::sqlite::create_temp(name, columns),
            Tx::Postgres(_) => crate::postgres::create_temp(name, columns),
        };
        self.exec_all(sqls).await
    }

    /// Creates the temporary table `name` holding the rows of `select`, like [`Tx::stage`].
    pub async fn stage_as(&mut self, name: &str, select: &str) -> Result<()> {
        let sqls = match self {
            Tx::Sqlite(_) => crate::sqlite::create_temp_as(name, select),
            Tx::Postgres(_) => crate::postgres::create_temp_as(name, select),
        };
        self.exec_all(sqls).await
    }

    /// Drops a staging table made by [`Tx::stage`] or [`Tx::stage_as`].
    pub async fn unstage(&mut self, name: &str) -> Result<()> {
        let sql = match self {
            Tx::Sqlite(_) => crate::sqlite::drop_temp(name),
            Tx::Postgres(_) => crate::postgres::drop_temp(name),
        };
        match sql {
            Some(sql) => self.exec(&sql).await.map(|_| ()),
            None => Ok(()),
        }
    }

    pub async fn commit(self) -> Result<()> {
        with_tx!(self, t => t.commit().await?);
        Ok(())
    }
}
