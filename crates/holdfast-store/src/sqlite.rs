//! What only SQLite does: the connection pool (WAL, a long busy timeout), write transactions that
//! take the database's write lock at once, staging tables dropped by hand, bulk writes as
//! multi-row `INSERT`s, ids continuing from a table's largest, and bulk reads that step a
//! statement on the connection's own handle. The SQL every backend shares stays with the code that
//! uses it; this module holds what only SQLite understands.
//!
//! sqlx runs each SQLite connection on a worker thread and sends every row to the caller through
//! a channel, copying each value into a fresh allocation on the way (`sqlite3_value_dup`). That
//! costs far more than SQLite's own work: reading a workspace's 200,000 orders took 0.9 s that
//! way and takes about 40 ms stepped in place. [`scan`] borrows the handle from the worker
//! (`lock_handle`), prepares and steps the statement here and hands each row to the caller without
//! copying. The statement runs on the calling thread, as SQLite always does.

use crate::bulk::{Cell, RowBuf};
use crate::error::{Error, Result};
use crate::Dialect;
use libsqlite3_sys as ffi;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite, Transaction};
use std::ffi::{c_char, c_int, CStr};
use std::ptr::{self, NonNull};
use std::str::FromStr;
use std::time::Duration;

pub(crate) const DIALECT: Dialect = Dialect {
    json_type: "TEXT",
    migrations_table_exists: "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    // Foreign keys are checked at commit: a multi-row INSERT then needs no statement journal (a
    // copy of every page it touches, kept to undo the statement alone).
    import_setup: "PRAGMA defer_foreign_keys = ON",
    index_build_setup: None,
    analyze: None,
};

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(600);

/// A pool of connections to the database at `url` (created if missing): WAL with
/// `synchronous=NORMAL`, foreign keys on, staging tables in memory, a 256 MiB page cache, and a
/// long busy timeout so a second writer waits for the first instead of failing. An in-memory
/// database has one connection (each would be a database of its own).
pub(crate) async fn connect(url: &str) -> std::result::Result<SqlitePool, sqlx::Error> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-262144")
        .disable_statement_logging();
    SqlitePoolOptions::new().max_connections(if memory { 1 } else { 4 }).acquire_timeout(BUSY_TIMEOUT).connect_with(opts).await
}

/// Copies the write-ahead log into the database file and truncates it, waiting at most a few
/// seconds for other connections (another process's readers or writer) to let it.
pub(crate) async fn checkpoint(pool: &SqlitePool) -> Result<()> {
    let mut c = pool.acquire().await?;
    sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *c).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *c).await?;
    Ok(())
}

/// A write transaction: `BEGIN IMMEDIATE` takes the database's write lock at once, so a second
/// writer waits (busy timeout) instead of failing half-way with "database is locked".
pub(crate) async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A read transaction: deferred, so its snapshot is taken at the first read and kept to the end.
pub(crate) async fn begin_read(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
    Ok(pool.begin().await?)
}

/// The statements creating the staging table `name (columns)`: rolled back with the transaction
/// if it fails, dropped by [`drop_temp`] otherwise.
pub(crate) fn create_temp(name: &str, columns: &str) -> Vec<String> {
    vec![format!("DROP TABLE IF EXISTS temp.{name}"), format!("CREATE TEMP TABLE {name} ({columns})")]
}

/// The statements creating the staging table `name` holding the rows of `select`.
pub(crate) fn create_temp_as(name: &str, select: &str) -> Vec<String> {
    vec![format!("DROP TABLE IF EXISTS temp.{name}"), format!("CREATE TEMP TABLE {name} AS {select}")]
}

pub(crate) fn drop_temp(name: &str) -> Option<String> {
    Some(format!("DROP TABLE temp.{name}"))
}

/// The id after the largest of `table` (inside a write transaction, which keeps it so).
pub(crate) async fn next_id(c: &mut SqliteConnection, table: &str) -> Result<i64> {
    let max: Option<i64> = sqlx::query_scalar(&format!("SELECT MAX(id) FROM {table}")).fetch_one(&mut *c).await?;
    Ok(max.unwrap_or(0) + 1)
}

/// Multi-row `INSERT`s, as many rows per statement as SQLite's parameter limit allows; the
/// full-size statement is prepared once and cached.
pub(crate) async fn write_rows(c: &mut SqliteConnection, table: &str, columns: &[&str], buf: &RowBuf) -> Result<()> {
    let ncols = buf.ncols();
    let per_stmt = (30_000 / ncols).min(1000);
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let full = values_sql(&head, ncols, per_stmt);
    for chunk in buf.cells().chunks(per_stmt * ncols) {
        let nrows = chunk.len() / ncols;
        let partial;
        let sql: &str = if nrows == per_stmt {
            &full
        } else {
            partial = values_sql(&head, ncols, nrows);
            &partial
        };
        let mut q = sqlx::query(sql);
        for cell in chunk {
            q = match *cell {
                Cell::Null => q.bind(None::<i64>),
                Cell::Int(v) => q.bind(v),
                Cell::Float(v) => q.bind(v),
                Cell::Bool(v) => q.bind(v),
                Cell::Text(s, n) => q.bind(buf.str(s, n)),
            };
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

fn values_sql(head: &str, ncols: usize, nrows: usize) -> String {
    let mut s = String::with_capacity(head.len() + nrows * (ncols * 2 + 3));
    s.push_str(head);
    for r in 0..nrows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for k in 0..ncols {
            if k > 0 {
                s.push(',');
            }
            // Anonymous `?` parameters: SQLite looks named ones (`$1`) up by name while parsing,
            // which costs a scan of every earlier name per parameter.
            s.push('?');
        }
        s.push(')');
    }
    s
}

/// One row of a statement being stepped: columns by position.
pub(crate) struct RawRow {
    stmt: NonNull<ffi::sqlite3_stmt>,
}

impl RawRow {
    fn kind(&self, k: usize) -> c_int {
        // SAFETY: `stmt` is a prepared statement positioned on a row (`SQLITE_ROW`) for as long as
        // this `RawRow` is borrowed; an out-of-range column gives `SQLITE_NULL`.
        unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), k as c_int) }
    }

    pub fn int(&self, k: usize) -> Result<Option<i64>> {
        match self.kind(k) {
            ffi::SQLITE_NULL => Ok(None),
            // SAFETY: as in `kind`.
            ffi::SQLITE_INTEGER => Ok(Some(unsafe { ffi::sqlite3_column_int64(self.stmt.as_ptr(), k as c_int) })),
            t => Err(Error::Corrupt(format!("column {k} holds {} where an integer belongs", type_name(t)))),
        }
    }

    pub fn float(&self, k: usize) -> Result<Option<f64>> {
        match self.kind(k) {
            ffi::SQLITE_NULL => Ok(None),
            // SAFETY: as in `kind`.
            ffi::SQLITE_INTEGER | ffi::SQLITE_FLOAT => Ok(Some(unsafe { ffi::sqlite3_column_double(self.stmt.as_ptr(), k as c_int) })),
            t => Err(Error::Corrupt(format!("column {k} holds {} where a number belongs", type_name(t)))),
        }
    }

    /// The text of column `k`, borrowed from SQLite until the next step.
    pub fn text(&self, k: usize) -> Result<Option<&str>> {
        match self.kind(k) {
            ffi::SQLITE_NULL => Ok(None),
            ffi::SQLITE_TEXT => {
                // SAFETY: as in `kind`; the column is text, so `sqlite3_column_text` converts
                // nothing and the pointer stays valid until the statement steps again, which needs
                // `&mut` access this borrow of `self` rules out. `sqlite3_column_bytes` is called
                // after it, as SQLite documents.
                let bytes = unsafe {
                    let p = ffi::sqlite3_column_text(self.stmt.as_ptr(), k as c_int);
                    let n = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), k as c_int);
                    if p.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(p, n as usize)
                    }
                };
                std::str::from_utf8(bytes).map(Some).map_err(|_| Error::Corrupt(format!("column {k} is not UTF-8")))
            }
            t => Err(Error::Corrupt(format!("column {k} holds {} where text belongs", type_name(t)))),
        }
    }
}

fn type_name(t: c_int) -> &'static str {
    match t {
        ffi::SQLITE_INTEGER => "an integer",
        ffi::SQLITE_FLOAT => "a real number",
        ffi::SQLITE_TEXT => "text",
        ffi::SQLITE_BLOB => "a blob",
        _ => "NULL",
    }
}

/// Finalizes the statement however the scan ends.
struct Statement(NonNull<ffi::sqlite3_stmt>);

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on a handle still locked by the caller of `scan`, and
        // is finalized exactly once.
        unsafe {
            ffi::sqlite3_finalize(self.0.as_ptr());
        }
    }
}

fn error(db: *mut ffi::sqlite3, rc: c_int, sql: &str) -> Error {
    // SAFETY: `db` is an open handle; `sqlite3_errmsg` returns a NUL-terminated string owned by it.
    let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }.to_string_lossy().into_owned();
    let head: String = sql.chars().take(80).collect();
    Error::Sqlite(format!("{msg} (code {rc}) in {head:?}"))
}

/// Streams every row of `sql` (one statement, no parameters) through `f`, stepping it on the
/// connection's handle. Whatever transaction the connection is in, the statement is part of it.
pub(crate) async fn scan(c: &mut SqliteConnection, sql: &str, mut f: impl FnMut(&RawRow) -> Result<()>) -> Result<()> {
    let mut handle = c.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    let len = c_int::try_from(sql.len()).map_err(|_| Error::Invalid("an SQL statement longer than 2 GiB".into()))?;
    // SAFETY: `db` is the open handle of the locked connection; `sql` is valid for `len` bytes
    // (SQLite reads no further, so it needs no NUL terminator).
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr() as *const c_char, len, &mut stmt, ptr::null_mut()) };
    if rc != ffi::SQLITE_OK {
        return Err(error(db, rc, sql));
    }
    let Some(stmt) = NonNull::new(stmt) else {
        return Ok(()); // an empty statement: no rows
    };
    let stmt = Statement(stmt);
    let row = RawRow { stmt: stmt.0 };
    loop {
        // SAFETY: a prepared statement of this handle, stepped from one thread at a time (the
        // handle is locked for the whole scan).
        match unsafe { ffi::sqlite3_step(stmt.0.as_ptr()) } {
            ffi::SQLITE_ROW => f(&row)?,
            ffi::SQLITE_DONE => break,
            rc => return Err(error(db, rc, sql)),
        }
    }
    drop(stmt);
    drop(handle);
    Ok(())
}
