//! Formatting rows by hand (no `format!` per field): dates from a per-day table, numbers with a
//! small integer writer. Batches of rows are formatted in parallel and written in order.

use crate::catalog::{CATEGORIES, PRODUCTS};
use crate::model::{Rec, STATUS_CANCELLED, STATUS_REFUNDED};
use crate::{Config, Error, Progress};
use rayon::prelude::*;
use std::io::Write;

/// The header line of a generated file (without the newline).
pub const HEADER: &str = "order_id,customer_id,ordered_at,amount,status,product,category,quantity";

/// Rows formatted per parallel task.
const ROWS_PER_TASK: usize = 32_768;
/// Tasks per write (bounds the memory held by formatted text to about 70 MB).
const TASKS_PER_WRITE: usize = 32;

/// Digits of zero-padded customer numbers: at least 6, enough for the largest.
pub fn id_width(customers: u32) -> usize {
    customers.to_string().len().max(6)
}

/// `C` and the 1-based customer number, zero-padded.
pub fn customer_id(c: u32, width: usize) -> String {
    format!("C{:0width$}", c as u64 + 1, width = width)
}

#[inline]
fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[inline]
fn push_padded(buf: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut tmp = [b'0'; 24];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    let start = tmp.len().saturating_sub(width).min(i);
    buf.extend_from_slice(&tmp[start..]);
}

#[inline]
fn push_2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

struct Tables {
    dates: Vec<[u8; 10]>,
    width: usize,
}

fn format_rows(t: &Tables, recs: &[Rec], first_id: u64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(recs.len() * 80);
    for (i, r) in recs.iter().enumerate() {
        push_u64(&mut buf, first_id + i as u64);
        buf.extend_from_slice(b",C");
        push_padded(&mut buf, r.cust as u64 + 1, t.width);
        buf.push(b',');
        let day = (r.t / 86_400) as usize;
        let sec = r.t % 86_400;
        buf.extend_from_slice(&t.dates[day]);
        buf.push(b' ');
        push_2(&mut buf, sec / 3_600);
        buf.push(b':');
        push_2(&mut buf, sec / 60 % 60);
        buf.push(b':');
        push_2(&mut buf, sec % 60);
        buf.push(b',');
        push_u64(&mut buf, r.amount as u64 / 100);
        buf.push(b'.');
        push_2(&mut buf, r.amount % 100);
        buf.extend_from_slice(match r.status {
            STATUS_REFUNDED => b",refunded,",
            STATUS_CANCELLED => b",cancelled,",
            _ => b",completed,",
        });
        let p = &PRODUCTS[r.product as usize];
        buf.extend_from_slice(p.name.as_bytes());
        buf.push(b',');
        buf.extend_from_slice(CATEGORIES[p.category].0.as_bytes());
        buf.push(b',');
        push_u64(&mut buf, r.qty as u64);
        buf.push(b'\n');
    }
    buf
}

pub fn write<W: Write>(cfg: &Config, recs: &[Rec], out: &mut W, progress: &mut dyn FnMut(Progress)) -> Result<(), Error> {
    let days = recs.last().map(|r| r.t / 86_400 + 1).unwrap_or(0);
    let mut dates = Vec::with_capacity(days as usize);
    for d in 0..days {
        let date = cfg.start + chrono::Duration::days(d as i64);
        let mut b = [0u8; 10];
        let s = date.format("%Y-%m-%d").to_string();
        let n = s.len().min(10);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        dates.push(b);
    }
    let tables = Tables { dates, width: id_width(cfg.customers) };
    out.write_all(HEADER.as_bytes())?;
    out.write_all(b"\n")?;
    let rows = recs.len() as u64;
    progress(Progress::Writing { rows_done: 0, rows });
    let per_write = ROWS_PER_TASK * TASKS_PER_WRITE;
    for (w, group) in recs.chunks(per_write).enumerate() {
        let base = (w * per_write) as u64 + 1;
        let texts: Vec<Vec<u8>> = group
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(i, ch)| format_rows(&tables, ch, base + (i * ROWS_PER_TASK) as u64))
            .collect();
        for t in &texts {
            out.write_all(t)?;
        }
        progress(Progress::Writing { rows_done: (base - 1 + group.len() as u64), rows });
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_std() {
        for v in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut b = Vec::new();
            push_u64(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), v.to_string());
            let mut b = Vec::new();
            push_padded(&mut b, v, 6);
            assert_eq!(String::from_utf8(b).unwrap(), format!("{v:06}"));
        }
        assert_eq!(customer_id(41, 6), "C000042");
    }
}
