//! Bulk I/O, the fast path of each backend behind one interface: rows written with multi-row
//! `INSERT`s on SQLite and `COPY … FROM STDIN` on PostgreSQL ([`RowBuf`], [`write_rows`]), rows
//! read by stepping the statement on SQLite's own handle and with `COPY (…) TO STDOUT` on
//! PostgreSQL ([`scan`]), and ids handed out before rows are written ([`IdAlloc`]), so parents and
//! children go in without a join or a round trip per row. The backends' halves are in
//! [`crate::sqlite`] and [`crate::postgres`].

use crate::error::{Error, Result};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use std::borrow::Cow;

/// A connection of either backend (a pool connection or an open transaction).
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// One cell of a [`RowBuf`]; text lives in the buffer's arena.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(u32, u32),
}

/// Rows of one table, row-major, with their text in one arena: no allocation per value.
#[derive(Debug)]
pub(crate) struct RowBuf {
    ncols: usize,
    cells: Vec<Cell>,
    text: String,
}

impl RowBuf {
    pub fn new(ncols: usize) -> RowBuf {
        RowBuf { ncols, cells: Vec::new(), text: String::new() }
    }

    pub fn rows(&self) -> usize {
        self.cells.len() / self.ncols
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn clear(&mut self) {
        self.cells.clear();
        self.text.clear();
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        self.cells.push(Cell::Int(v));
        self
    }

    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.cells.push(v.map_or(Cell::Null, Cell::Int));
        self
    }

    /// A real number; not finite ones are stored as NULL.
    pub fn opt_float(&mut self, v: Option<f64>) -> &mut Self {
        self.cells.push(v.filter(|x| x.is_finite()).map_or(Cell::Null, Cell::Float));
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.cells.push(Cell::Bool(v));
        self
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.cells.push(Cell::Text(start, s.len() as u32));
        self
    }

    pub fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => {
                self.cells.push(Cell::Null);
                self
            }
        }
    }

    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Every cell, row after row.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The text of a [`Cell::Text`].
    pub fn str(&self, start: u32, len: u32) -> &str {
        &self.text[start as usize..(start + len) as usize]
    }
}

/// Appends the rows of `buf` to `table` (`columns` in the buffer's order).
pub(crate) async fn write_rows(conn: Conn<'_>, table: &str, columns: &[&str], buf: &RowBuf) -> Result<()> {
    debug_assert_eq!(columns.len(), buf.ncols);
    if buf.is_empty() {
        return Ok(());
    }
    match conn {
        Conn::Sqlite(c) => crate::sqlite::write_rows(c, table, columns, buf).await,
        Conn::Postgres(c) => crate::postgres::write_rows(c, table, columns, buf).await,
    }
}

/// One row read by [`scan`]: integer, real, boolean and text columns by position.
pub(crate) enum Fields<'a> {
    Sqlite(&'a crate::sqlite::RawRow),
    Pg(&'a crate::postgres::CopyRow<'a>),
}

impl Fields<'_> {
    pub fn int(&self, k: usize) -> Result<Option<i64>> {
        match self {
            Fields::Sqlite(r) => r.int(k),
            Fields::Pg(r) => r.int(k),
        }
    }

    pub fn float(&self, k: usize) -> Result<Option<f64>> {
        match self {
            Fields::Sqlite(r) => r.float(k),
            Fields::Pg(r) => r.float(k),
        }
    }

    pub fn boolean(&self, k: usize) -> Result<Option<bool>> {
        match self {
            Fields::Sqlite(r) => Ok(r.int(k)?.map(|v| v != 0)),
            Fields::Pg(r) => r.boolean(k),
        }
    }

    pub fn text(&self, k: usize) -> Result<Option<Cow<'_, str>>> {
        match self {
            Fields::Sqlite(r) => Ok(r.text(k)?.map(Cow::Borrowed)),
            Fields::Pg(r) => r.text(k),
        }
    }

    /// A required integer.
    pub fn int_req(&self, k: usize) -> Result<i64> {
        self.int(k)?.ok_or_else(|| Error::Corrupt(format!("column {k} is NULL")))
    }

    /// A required text.
    pub fn text_req(&self, k: usize) -> Result<Cow<'_, str>> {
        self.text(k)?.ok_or_else(|| Error::Corrupt(format!("column {k} is NULL")))
    }
}

/// Streams every row of `sql` through `f`. `sql` is a statement without parameters (callers
/// inline integer ids only) returning rows; on SQLite it is stepped on the connection's own handle
/// ([`crate::sqlite::scan`]), on PostgreSQL it runs as `COPY (sql) TO STDOUT`
/// ([`crate::postgres::scan`]): both skip the per-row costs of a query through sqlx.
pub(crate) async fn scan(conn: Conn<'_>, sql: &str, mut f: impl FnMut(&Fields) -> Result<()>) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => crate::sqlite::scan(c, sql, |r| f(&Fields::Sqlite(r))).await,
        Conn::Postgres(c) => crate::postgres::scan(c, sql, |r| f(&Fields::Pg(r))).await,
    }
}

/// Ids for new rows of one table, handed out before the rows are written. On SQLite the import
/// holds the write lock, so ids continue from the table's largest; on PostgreSQL they are drawn
/// from the table's identity sequence in blocks, so concurrent writers never collide.
pub(crate) enum IdAlloc {
    Sqlite {
        next: i64,
    },
    Postgres {
        pool: sqlx::PgPool,
        table: &'static str,
        /// The table's identity sequence, as a quoted SQL literal, once looked up.
        sequence: Option<String>,
        /// Ids drawn and not handed out yet, the next one last.
        block: Vec<i64>,
    },
}

impl IdAlloc {
    /// Ids of `table` continuing from its largest (SQLite, inside the write transaction).
    pub async fn sqlite(c: &mut SqliteConnection, table: &'static str) -> Result<IdAlloc> {
        Ok(IdAlloc::Sqlite { next: crate::sqlite::next_id(c, table).await? })
    }

    /// Ids of `table` drawn from its sequence (PostgreSQL).
    pub fn postgres(pool: sqlx::PgPool, table: &'static str) -> IdAlloc {
        IdAlloc::Postgres { pool, table, sequence: None, block: Vec::new() }
    }

    /// The id of the next new row.
    pub async fn next(&mut self) -> Result<i64> {
        match self {
            IdAlloc::Sqlite { next } => {
                *next += 1;
                Ok(*next - 1)
            }
            IdAlloc::Postgres { pool, table, sequence, block } => {
                if block.is_empty() {
                    *block = crate::postgres::id_block(pool, table, sequence).await?;
                }
                block.pop().ok_or_else(|| Error::Corrupt(format!("no id drawn from the sequence of {table}")))
            }
        }
    }
}

/// A connection taken from the store's pool.
pub(crate) enum PoolConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl PoolConn {
    pub async fn acquire(pool: &crate::Pool) -> Result<PoolConn> {
        Ok(match pool {
            crate::Pool::Sqlite(p) => PoolConn::Sqlite(p.acquire().await?),
            crate::Pool::Postgres(p) => PoolConn::Postgres(p.acquire().await?),
        })
    }

    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(c),
            PoolConn::Postgres(c) => Conn::Postgres(c),
        }
    }
}
