//! What only PostgreSQL does: the connection pool, write transactions serialised per workspace by
//! an advisory lock, staging tables dropped at commit, bulk writes and reads through `COPY`, and
//! ids drawn from identity sequences in blocks. The SQL every backend shares stays with the code
//! that uses it; this module holds the statements only PostgreSQL understands.

use crate::bulk::{Cell, RowBuf};
use crate::error::{Error, Result};
use crate::model::WorkspaceId;
use crate::Dialect;
use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, Transaction};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

pub(crate) const DIALECT: Dialect = Dialect {
    json_type: "JSONB",
    migrations_table_exists: "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'",
    // An import does not wait for its WAL to reach the disk at commit: a crash loses the import
    // as a whole, never part of it.
    import_setup: "SET LOCAL synchronous_commit = off",
    index_build_setup: Some("SET LOCAL maintenance_work_mem = '256MB'"),
    analyze: Some("ANALYZE"),
};

/// A pool of up to 12 connections to the database at `url` (opened as needed): the engine's
/// workers each hold one while they claim or record a message, side by side.
pub(crate) async fn connect(url: &str) -> std::result::Result<PgPool, sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?.disable_statement_logging();
    PgPoolOptions::new().max_connections(12).acquire_timeout(Duration::from_secs(30)).connect_with(opts).await
}

/// A write transaction holding the advisory lock (`lock`, workspace) until it ends: writers of
/// one kind into one workspace take turns; readers never wait.
pub(crate) async fn begin_write(pool: &PgPool, lock: i32, ws: WorkspaceId) -> Result<Transaction<'static, Postgres>> {
    let mut t = pool.begin().await?;
    // The key's second half is an i32: workspace ids beyond it share keys (more waiting, never
    // less safety).
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)").bind(lock).bind(ws.0 as i32).execute(&mut *t).await?;
    Ok(t)
}

/// A read-only transaction on one snapshot.
pub(crate) async fn begin_read(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    Ok(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?)
}

/// The statements creating the staging table `name (columns)` of the current transaction.
pub(crate) fn create_temp(name: &str, columns: &str) -> Vec<String> {
    vec![format!("CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")]
}

/// The statements creating the staging table `name` holding the rows of `select`.
pub(crate) fn create_temp_as(name: &str, select: &str) -> Vec<String> {
    vec![format!("CREATE TEMP TABLE {name} ON COMMIT DROP AS {select}")]
}

/// A staging table goes with the commit: nothing to drop.
pub(crate) fn drop_temp(_name: &str) -> Option<String> {
    None
}

/// `COPY … FROM STDIN` in PostgreSQL's text format, sent in 1 MiB pieces.
pub(crate) async fn write_rows(c: &mut PgConnection, table: &str, columns: &[&str], buf: &RowBuf) -> Result<()> {
    const PIECE: usize = 1 << 20;
    let mut copy = c.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", "))).await?;
    let mut out: Vec<u8> = Vec::with_capacity(PIECE + 4096);
    let mut digits = [0u8; 20];
    for row in buf.cells().chunks(buf.ncols()) {
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

/// One row of `COPY … TO STDOUT`: its fields in COPY text format (escaped, `\N` for NULL).
pub(crate) struct CopyRow<'a> {
    fields: &'a [&'a [u8]],
}

impl CopyRow<'_> {
    fn field(&self, k: usize) -> Option<&[u8]> {
        match self.fields.get(k).copied() {
            None | Some(b"\\N") => None,
            Some(b) => Some(b),
        }
    }

    pub fn int(&self, k: usize) -> Result<Option<i64>> {
        match self.field(k) {
            None => Ok(None),
            Some(b) => parse_i64(b).map(Some).ok_or_else(|| Error::Corrupt(format!("{:?} is not an integer", String::from_utf8_lossy(b)))),
        }
    }

    pub fn float(&self, k: usize) -> Result<Option<f64>> {
        match self.field(k) {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .map(Some)
                .ok_or_else(|| Error::Corrupt(format!("{:?} is not a number", String::from_utf8_lossy(b)))),
        }
    }

    pub fn boolean(&self, k: usize) -> Result<Option<bool>> {
        match self.field(k) {
            None => Ok(None),
            Some(b"t") => Ok(Some(true)),
            Some(b"f") => Ok(Some(false)),
            Some(b) => Err(Error::Corrupt(format!("{:?} is not a boolean", String::from_utf8_lossy(b)))),
        }
    }

    pub fn text(&self, k: usize) -> Result<Option<Cow<'_, str>>> {
        match self.field(k) {
            None => Ok(None),
            Some(b) => copy_unescape(b).map(Some),
        }
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

/// Streams every row of `sql` through `f` as `COPY (sql) TO STDOUT`, which skips the per-row
/// protocol overhead of a query. `sql` may also be an `INSERT`, `UPDATE` or `DELETE` with
/// `RETURNING`.
pub(crate) async fn scan(c: &mut PgConnection, sql: &str, mut f: impl FnMut(&CopyRow) -> Result<()>) -> Result<()> {
    const MAX_COLS: usize = 24;
    let mut stream = c.copy_out_raw(&format!("COPY ({sql}) TO STDOUT")).await?;
    let mut carry: Vec<u8> = Vec::new();
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
            f(&CopyRow { fields: &fs[..n] })?;
            start += nl + 1;
        }
        carry = data[start..].to_vec();
    }
    if !carry.is_empty() {
        return Err(Error::Corrupt("COPY output ends inside a row".into()));
    }
    Ok(())
}

/// Ids drawn from a sequence per round trip.
const ID_BLOCK: i64 = 65_536;

/// The next block of ids of `table` from its identity sequence, the next one last. Runs on a
/// connection of its own (sequences are not transactional), so concurrent writers never collide;
/// `sequence` caches the sequence's name, as a quoted SQL literal.
pub(crate) async fn id_block(pool: &PgPool, table: &str, sequence: &mut Option<String>) -> Result<Vec<i64>> {
    let mut c = pool.acquire().await?;
    let seq = match sequence {
        Some(s) => s.clone(),
        None => {
            let name: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')").bind(table).fetch_one(&mut *c).await?;
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
    Ok(got)
}
