//! The order log of a workspace kept ready to load: the columns of its `OrderLog` in one binary
//! image, stored in parts (`order_log_cache`, schema 5). Loading it costs a read of a few bytes per
//! order instead of a scan of the orders and their lines (row by row, on both backends, the
//! slowest part of every analysis of a store); building it costs one such scan per orders import.
//!
//! The image is valid for one `workspaces.orders_version`, which every orders import that writes
//! anything raises in its own transaction ([`crate::Import::commit`] then stores the new image
//! before committing), and for one format and counted-order rule (both in its header): a reader
//! that finds no valid image scans the tables as before. An image is never used for another
//! version, so one written late is harmless. Rows changed outside the store (by hand, in SQL)
//! are not seen until the next orders import.
//!
//! Layout (little endian): magic `HFOL`, format, the not-counted status list, currency, then
//! customer ids, per-customer offsets, order times, amounts, lines (offsets, products,
//! quantities) and the catalog, each as a count and its items.

use crate::bulk::scan;
use crate::error::{Error, Result};
use crate::model::WorkspaceId;
use crate::tx::{with_tx, Tx};
use holdfast_core::order_log::{Catalog, OrderLines};
use holdfast_core::{Currency, CustomerIdx, CustomerIds, OrderLog, OrderStatus};

const MAGIC: &[u8; 4] = b"HFOL";
/// Raised whenever the layout changes: older images are then ignored and rebuilt.
const FORMAT: u32 = 1;
/// The image is stored in parts of at most this many bytes (a value of either backend stays far
/// below its limit of about 1 GB).
const PART: usize = 16 << 20;

/// The stored image of the workspace's order log, if it is valid for the workspace's current
/// orders version; `None` otherwise (then the log must be built from the tables).
pub(crate) async fn load(tx: &mut Tx, ws: WorkspaceId) -> Result<Option<OrderLog>> {
    let w = ws.0;
    let mut version = None;
    scan(tx.conn(), &format!("SELECT orders_version FROM workspaces WHERE id = {w}"), |r| {
        version = r.int(0)?;
        Ok(())
    })
    .await?;
    let Some(version) = version else {
        return Err(Error::NotFound { what: format!("workspace {w}") });
    };
    let sql = "SELECT orders_version, part, data FROM order_log_cache WHERE workspace_id = $1 ORDER BY part";
    let parts: Vec<(i64, i64, Vec<u8>)> = with_tx!(tx, t => sqlx::query_as(sql).bind(w).fetch_all(&mut **t).await?);
    if parts.is_empty() || parts.iter().enumerate().any(|(k, (v, p, _))| *v != version || *p != k as i64) {
        return Ok(None);
    }
    let image: Vec<u8> = if parts.len() == 1 { parts.into_iter().next().map(|p| p.2).unwrap_or_default() } else { parts.into_iter().flat_map(|p| p.2).collect() };
    decode(&image)
}

/// Whether the stored image is valid for the workspace's current orders version.
pub(crate) async fn is_current(tx: &mut Tx, ws: WorkspaceId) -> Result<bool> {
    let sql = format!(
        "SELECT COUNT(*) FROM order_log_cache c JOIN workspaces w ON w.id = c.workspace_id WHERE c.workspace_id = {} AND c.part = 0 AND c.orders_version = w.orders_version",
        ws.0
    );
    let n: i64 = with_tx!(tx, t => sqlx::query_scalar(&sql).fetch_one(&mut **t).await?);
    Ok(n > 0)
}

/// Replaces the stored image of the workspace's order log by `log`'s, for the current orders
/// version (in the caller's write transaction); `None` only removes the stored one.
pub(crate) async fn store(tx: &mut Tx, ws: WorkspaceId, log: Option<&OrderLog>) -> Result<()> {
    let w = ws.0;
    tx.exec(&format!("DELETE FROM order_log_cache WHERE workspace_id = {w}")).await?;
    let Some(log) = log else {
        return Ok(());
    };
    let image = encode(log);
    let sql = format!("INSERT INTO order_log_cache (workspace_id, orders_version, part, data) SELECT {w}, orders_version, $1, $2 FROM workspaces WHERE id = {w}");
    for (k, part) in image.chunks(PART).enumerate() {
        with_tx!(tx, t => sqlx::query(&sql).bind(k as i64).bind(part).execute(&mut **t).await?.rows_affected());
    }
    Ok(())
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    put_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_u32s(out: &mut Vec<u8>, v: &[u32]) {
    put_len(out, v.len());
    for &x in v {
        put_u32(out, x);
    }
}

fn put_i64s(out: &mut Vec<u8>, v: &[i64]) {
    put_len(out, v.len());
    for &x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// The image of `log`.
pub(crate) fn encode(log: &OrderLog) -> Vec<u8> {
    let n = log.n_orders();
    let lines = log.lines();
    let mut out = Vec::with_capacity(64 + n * 24 + lines.map_or(0, |l| l.product.len() * 8) + log.n_customers() * 16);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT);
    put_str(&mut out, &OrderStatus::not_counted_sql_list());
    put_str(&mut out, log.currency().as_str());
    put_len(&mut out, log.n_customers());
    for id in log.customer_ids().iter() {
        put_str(&mut out, id);
    }
    put_u32s(&mut out, log.offsets());
    put_i64s(&mut out, log.at());
    put_i64s(&mut out, log.amount());
    match lines {
        Some(l) => {
            out.push(1);
            put_u32s(&mut out, &l.offsets);
            put_u32s(&mut out, &l.product);
            put_u32s(&mut out, &l.quantity);
        }
        None => out.push(0),
    }
    let cat = log.catalog();
    put_len(&mut out, cat.products.len());
    for p in &cat.products {
        put_str(&mut out, p);
    }
    put_u32s(&mut out, &cat.category_of.iter().map(|c| c.unwrap_or(u32::MAX)).collect::<Vec<_>>());
    put_len(&mut out, cat.categories.len());
    for c in &cat.categories {
        put_str(&mut out, c);
    }
    out
}

/// Reads an image; `None` when it was written for another format or counted-order rule.
pub(crate) fn decode(b: &[u8]) -> Result<Option<OrderLog>> {
    let mut r = Reader { b, at: 0 };
    if r.take(4)? != MAGIC || r.u32()? != FORMAT || r.str()? != OrderStatus::not_counted_sql_list() {
        return Ok(None);
    }
    let code = r.str()?;
    let currency = Currency::new(code).ok_or_else(|| Error::Corrupt(format!("order log image: currency {code:?}")))?;
    let nc = r.len()?;
    let mut customer_ids = CustomerIds::new();
    for _ in 0..nc {
        customer_ids.push(r.str()?);
    }
    let offsets = r.u32s()?;
    let at = r.i64s()?;
    let amount = r.i64s()?;
    let n = at.len();
    if amount.len() != n || offsets.len() != nc + 1 || offsets.first() != Some(&0) || offsets.last().map(|&o| o as usize) != Some(n) || offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::Corrupt("order log image: the columns disagree".into()));
    }
    let mut customer: Vec<CustomerIdx> = Vec::with_capacity(n);
    for (c, w) in offsets.windows(2).enumerate() {
        customer.extend(std::iter::repeat_n(c as CustomerIdx, (w[1] - w[0]) as usize));
    }
    let lines = match r.take(1)?[0] {
        0 => None,
        _ => {
            let l = OrderLines { offsets: r.u32s()?, product: r.u32s()?, quantity: r.u32s()? };
            let m = l.product.len();
            if l.offsets.len() != n + 1 || l.quantity.len() != m || l.offsets.last().map(|&o| o as usize) != Some(m) || l.offsets.windows(2).any(|w| w[0] > w[1]) {
                return Err(Error::Corrupt("order log image: the lines disagree".into()));
            }
            Some(l)
        }
    };
    let mut catalog = Catalog::default();
    for _ in 0..r.len()? {
        catalog.products.push(r.str()?.to_owned());
    }
    catalog.category_of = r.u32s()?.into_iter().map(|c| (c != u32::MAX).then_some(c)).collect();
    for _ in 0..r.len()? {
        catalog.categories.push(r.str()?.to_owned());
    }
    let np = catalog.products.len() as u32;
    let ncat = catalog.categories.len() as u32;
    if catalog.category_of.len() != catalog.products.len()
        || catalog.category_of.iter().flatten().any(|&c| c >= ncat)
        || lines.as_ref().is_some_and(|l| l.product.iter().any(|&p| p >= np))
        || r.at != b.len()
    {
        return Err(Error::Corrupt("order log image: the catalog disagrees".into()));
    }
    // Already sorted by customer then time: from_columns keeps the order and only checks it.
    Ok(Some(OrderLog::from_columns(customer_ids, customer, at, amount, currency, lines, catalog)))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| Error::Corrupt("order log image: cut short".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn len(&mut self) -> Result<usize> {
        Ok(self.u32()? as usize)
    }

    fn str(&mut self) -> Result<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| Error::Corrupt("order log image: text is not UTF-8".into()))
    }

    fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len()?;
        let s = self.take(n.checked_mul(4).ok_or_else(|| Error::Corrupt("order log image: a count too large".into()))?)?;
        Ok(s.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    fn i64s(&mut self) -> Result<Vec<i64>> {
        let n = self.len()?;
        let s = self.take(n.checked_mul(8).ok_or_else(|| Error::Corrupt("order log image: a count too large".into()))?)?;
        Ok(s.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::OrderLogBuilder;

    fn sample() -> OrderLog {
        let mut b = OrderLogBuilder::new(Currency::new("EUR").unwrap());
        b.push("bob", 200, 1500);
        b.push_line("oil", Some("car"), 2);
        b.push("alice", 100, 999);
        b.push_line("coffee", None, 1);
        b.push_line("oil", Some("car"), 1);
        b.push("bob", 50, -20);
        b.build()
    }

    type Parts = (Vec<String>, Vec<u32>, Vec<i64>, Vec<i64>, Option<(Vec<u32>, Vec<u32>, Vec<u32>)>, Vec<String>, Vec<Option<u32>>, Vec<String>, Currency);

    fn parts(log: &OrderLog) -> Parts {
        let c = log.catalog();
        let lines = log.lines().map(|l| (l.offsets.clone(), l.product.clone(), l.quantity.clone()));
        (log.customer_ids().to_vec(), log.offsets().to_vec(), log.at().to_vec(), log.amount().to_vec(), lines, c.products.clone(), c.category_of.clone(), c.categories.clone(), log.currency())
    }

    #[test]
    fn an_image_reads_back_as_the_same_log() {
        let log = sample();
        let back = decode(&encode(&log)).unwrap().unwrap();
        assert_eq!(parts(&back), parts(&log));
        let empty = OrderLogBuilder::new(Currency::USD).build();
        assert_eq!(parts(&decode(&encode(&empty)).unwrap().unwrap()), parts(&empty));
    }

    #[test]
    fn another_format_is_ignored_and_a_damaged_image_is_corrupt() {
        let mut image = encode(&sample());
        let mut other = image.clone();
        other[4] = 99;
        assert!(decode(&other).unwrap().is_none());
        image.truncate(image.len() - 3);
        assert!(matches!(decode(&image), Err(Error::Corrupt(_))));
        assert!(matches!(decode(b"HF"), Err(Error::Corrupt(_))));
    }
}
