//! Bulk I/O, the fast path of each backend behind one interface: rows written with multi-row
//! `INSERT`s on SQLite and `COPY … FROM STDIN` on PostgreSQL ([`RowBuf`], [`write_rows`]), rows
//! read with a plain streamed query on SQLite and `COPY (…) TO STDOUT` on PostgreSQL ([`scan`]),
//! and ids handed out before rows are written ([`IdAlloc`]), so parents and children go in without
//! a join or a round trip per row.

use crate::error::{Error, Result};
use futures_util::TryStreamExt;
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
enum Cell {
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

    fn str(&self, start: u32, len: u32) -> &str {
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
        Conn::Sqlite(c) => write_sqlite(c, table, columns, buf).await,
        Conn::Postgres(c) => write_pg(c, table, columns, buf).await,
    }
}

/// Multi-row `INSERT`s, as many rows per statement as SQLite's parameter limit allows; the
/// full-size statement is prepared once and cached.
async fn write_sqlite(c: &mut SqliteConnection, table: &str, columns: &[&str], buf: &RowBuf) -> Result<()> {
    let ncols = buf.ncols;
    let per_stmt = (30_000 / ncols).min(1000);
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let full = values_sql(&head, ncols, per_stmt);
    for chunk in buf.cells.chunks(per_stmt * ncols) {
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
            // Anonymous `?` parameters: SQLite looks named ones (`$1`) up by name while parsing.
            s.push('?');
        }
        s.push(')');
    }
    s
}

/// `COPY … FROM STDIN` in PostgreSQL's text format, sent in 1 MiB pieces.
async fn write_pg(c: &mut PgConnection, table: &str, columns: &[&str], buf: &RowBuf) -> Result<()> {
    const PIECE: usize = 1 << 20;
    let ncols = buf.ncols;
    let mut copy = c.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", "))).await?;
    let mut out: Vec<u8> = Vec::with_capacity(PIECE + 4096);
    let mut digits = itoa_buf();
    for row in buf.cells.chunks(ncols) {
        for (k, cell) in row.iter().enumerate() {
            if k > 0 {
                out.push(b'\t');
            }
            match *cell {
                Cell::Null => out.extend_from_slice(b"\\N"),
                Cell::Int(v) => out.extend_from_slice(format_i64(v, &mut digits)),
                // The shortest text that reads back as the same number.
                Cell::Float(v) => out.extend_from_slice(format!("{v:?}").as_bytes()),
                Cell::Bool(v) => out.push(if v { b't' } else { b'f' }),
                Cell::Text(s, n) => copy_escape(buf.str(s, n), &mut out),
            }
        }
        out.push(b'\n');
        if out.len() >= PIECE {
            copy.send(std::mem::take(&mut out)).await?;
            out.reserve(PIECE + 4096);
        }
    }
    if !out.is_empty() {
        copy.send(out).await?;
    }
    copy.finish().await?;
    Ok(())
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// The decimal digits of `v`, written into `buf`.
fn format_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut k = buf.len();
    loop {
        k -= 1;
        buf[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        k -= 1;
        buf[k] = b'-';
    }
    &buf[k..]
}

fn copy_escape(s: &str, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    if !b.iter().any(|&x| matches!(x, b'\\' | b'\t' | b'\n' | b'\r')) {
        out.extend_from_slice(b);
        return;
    }
    for &x in b {
        match x {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(x),
        }
    }
}

/// One row read by [`scan`]: integer, real, boolean and text columns by position.
pub(crate) enum Fields<'a> {
    Sqlite(&'a crate::sqlite::RawRow),
    /// The row's fields in COPY text format (escaped, `\N` for NULL).
    Pg(&'a [&'a [u8]]),
}

impl Fields<'_> {
    fn pg_field<'b>(f: &[&'b [u8]], k: usize) -> Option<&'b [u8]> {
        match f.get(k).copied() {
            None | Some(b"\\N") => None,
            Some(b) => Some(b),
        }
    }

    pub fn int(&self, k: usize) -> Result<Option<i64>> {
        match self {
            Fields::Sqlite(r) => r.int(k),
            Fields::Pg(f) => match Self::pg_field(f, k) {
                None => Ok(None),
                Some(b) => parse_i64(b).map(Some).ok_or_else(|| Error::Corrupt(format!("{:?} is not an integer", String::from_utf8_lossy(b)))),
            },
        }
    }

    pub fn float(&self, k: usize) -> Result<Option<f64>> {
        match self {
            Fields::Sqlite(r) => r.float(k),
            Fields::Pg(f) => match Self::pg_field(f, k) {
                None => Ok(None),
                Some(b) => std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .map(Some)
                    .ok_or_else(|| Error::Corrupt(format!("{:?} is not a number", String::from_utf8_lossy(b)))),
            },
        }
    }

    pub fn boolean(&self, k: usize) -> Result<Option<bool>> {
        match self {
            Fields::Sqlite(r) => Ok(r.int(k)?.map(|v| v != 0)),
            Fields::Pg(f) => match Self::pg_field(f, k) {
                None => Ok(None),
                Some(b"t") => Ok(Some(true)),
                Some(b"f") => Ok(Some(false)),
                Some(b) => Err(Error::Corrupt(format!("{:?} is not a boolean", String::from_utf8_lossy(b)))),
            },
        }
    }

    pub fn text(&self, k: usize) -> Result<Option<Cow<'_, str>>> {
        match self {
            Fields::Sqlite(r) => Ok(r.text(k)?.map(Cow::Borrowed)),
            Fields::Pg(f) => match Self::pg_field(f, k) {
                None => Ok(None),
                Some(b) => copy_unescape(b).map(Some),
            },
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

fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

fn copy_unescape(b: &[u8]) -> Result<Cow<'_, str>> {
    let bad = || Error::Corrupt("COPY output is not UTF-8".into());
    if !b.contains(&b'\\') {
        return std::str::from_utf8(b).map(Cow::Borrowed).map_err(|_| bad());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'v' => out.push(11),
                d @ b'0'..=b'7' => {
                    let mut v = (d - b'0') as u32;
                    let mut n = 1;
                    while n < 3 && i + 1 < b.len() && (b'0'..=b'7').contains(&b[i + 1]) {
                        i += 1;
                        v = v * 8 + (b[i] - b'0') as u32;
                        n += 1;
                    }
                    out.push(v as u8);
                }
                x => out.push(x),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| bad())
}

/// Streams every row of `sql` through `f`. `sql` is a `SELECT` without parameters (callers inline
/// integer ids only); on SQLite it is stepped on the connection's own handle
/// ([`crate::sqlite::scan`]), on PostgreSQL it runs as `COPY (sql) TO STDOUT`: both skip the
/// per-row costs of a query through sqlx.
pub(crate) async fn scan(conn: Conn<'_>, sql: &str, mut f: impl FnMut(&Fields) -> Result<()>) -> Result<()> {
    match conn {
        Conn::Sqlite(c) => crate::sqlite::scan(c, sql, |r| f(&Fields::Sqlite(r))).await?,
        Conn::Postgres(c) => {
            let mut stream = c.copy_out_raw(&format!("COPY ({sql}) TO STDOUT")).await?;
            let mut carry: Vec<u8> = Vec::new();
            const MAX_COLS: usize = 16;
            while let Some(chunk) = stream.try_next().await? {
                let data: &[u8] = if carry.is_empty() {
                    &chunk
                } else {
                    carry.extend_from_slice(&chunk);
                    &carry
                };
                let mut start = 0;
                while let Some(nl) = data[start..].iter().position(|&b| b == b'\n') {
                    let line = &data[start..start + nl];
                    let mut fs: [&[u8]; MAX_COLS] = [&[]; MAX_COLS];
                    let mut n = 0;
                    for field in line.split(|&b| b == b'\t') {
                        if n == MAX_COLS {
                            return Err(Error::Corrupt(format!("more than {MAX_COLS} columns in a bulk read")));
                        }
                        fs[n] = field;
                        n += 1;
                    }
                    f(&Fields::Pg(&fs[..n]))?;
                    start += nl + 1;
                }
                carry = data[start..].to_vec();
            }
            if !carry.is_empty() {
                return Err(Error::Corrupt("COPY output ends inside a row".into()));
            }
        }
    }
    Ok(())
}

/// Ids for new rows of one table, handed out before the rows are written. On SQLite the import
/// holds the write lock, so ids continue from the table's largest; on PostgreSQL they are drawn
/// from the table's identity sequence in blocks (on a connection of their own: sequences are not
/// transactional), so concurrent writers never collide.
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

/// Ids drawn from a PostgreSQL sequence per round trip.
const ID_BLOCK: i64 = 65_536;

impl IdAlloc {
    /// Ids of `table` continuing from its largest (SQLite, inside the write transaction).
    pub async fn sqlite(c: &mut SqliteConnection, table: &'static str) -> Result<IdAlloc> {
        let max: Option<i64> = sqlx::query_scalar(&format!("SELECT MAX(id) FROM {table}")).fetch_one(&mut *c).await?;
        Ok(IdAlloc::Sqlite { next: max.unwrap_or(0) + 1 })
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
                    let mut c = pool.acquire().await?;
                    let seq = match sequence {
                        Some(s) => s.clone(),
                        None => {
                            let name: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')").bind(*table).fetch_one(&mut *c).await?;
                            let name = name.ok_or_else(|| Error::Corrupt(format!("{table} has no id sequence")))?;
                            let quoted = format!("'{}'", name.replace('\'', "''"));
                            *sequence = Some(quoted.clone());
                            quoted
                        }
                    };
                    // The sequence named by a literal: resolved once, not per row.
                    let sql = format!("SELECT nextval({seq}::regclass) FROM generate_series(1, $1)");
                    let mut got: Vec<i64> = sqlx::query_scalar(&sql).bind(ID_BLOCK).fetch_all(&mut *c).await?;
                    got.reverse();
                    *block = got;
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
