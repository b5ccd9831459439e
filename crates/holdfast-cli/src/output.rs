//! Writing results to standard output: text, JSON documents and CSV.

use anyhow::Context;
use holdfast_report::format::{fmt_count, fmt_minor, fmt_money};
use holdfast_report::Lang;
use std::io::Write;

/// A date written `YYYY-MM-DD` in the language: as it is in English, `05.12.2026` in Russian
/// (anything that is not such a date stays as written).
pub fn date_text(l: Lang, iso: &str) -> String {
    match (l, chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")) {
        (Lang::Ru, Ok(d)) => l.date(d),
        _ => iso.to_string(),
    }
}

/// An amount in major units for a table cell: English keeps its tables' ASCII minus
/// (`-1,234.50`), Russian writes as [`Lang`] does (`−1 234,50`).
pub fn money_text(l: Lang, v: Option<f64>) -> String {
    match l {
        Lang::En => fmt_money(v),
        Lang::Ru => l.money(v),
    }
}

/// Minor units as a grouped amount without the currency, with the currency's own decimals:
/// `34,128.93` / `34 128,93`.
pub fn minor_text(l: Lang, minor: i64, currency: holdfast_core::Currency) -> String {
    match l {
        Lang::En => fmt_minor(minor, currency),
        Lang::Ru => l.number(Some(holdfast_core::money::to_major(minor, currency)), currency.minor_digits() as usize),
    }
}

/// Minor units with the currency: `1,234.56 USD` / `1 234,56 ₽`.
pub fn amount_text(l: Lang, minor: i64, currency: holdfast_core::Currency) -> String {
    match l {
        Lang::En => format!("{} {currency}", fmt_minor(minor, currency)),
        Lang::Ru => l.amount_minor(minor, currency),
    }
}

/// A whole number grouped by thousands: `1,234` / `1 234`.
pub fn count_text(l: Lang, n: i64) -> String {
    match l {
        Lang::En => fmt_count(n),
        Lang::Ru => l.count(n),
    }
}

/// Writes `s` to standard output, ignoring a closed pipe.
pub fn print(s: &str) -> anyhow::Result<()> {
    write_stdout(|out| out.write_all(s.as_bytes()))
}

/// Writes to standard output through `write` (buffered) and flushes; a closed pipe (`| head`) is
/// not an error.
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    match write(&mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write to standard output"),
    }
}

/// Prints `head` (a struct serialised as a JSON object) with one more field `key` last: a long
/// array serialised in parallel chunks — the same text serde_json gives for the whole document,
/// for documents with one entry per customer.
pub fn print_json_with_array<H: serde::Serialize, T: serde::Serialize + Sync>(head: &H, key: &str, items: &[T]) -> anyhow::Result<()> {
    use rayon::prelude::*;
    let head = serde_json::to_string(head).context("cannot serialise the result")?;
    let parts: Vec<String> = items.par_chunks(4096).map(serde_json::to_string).collect::<Result<_, _>>().context("cannot serialise the result")?;
    let open = head.strip_suffix('}').context("the result is not a JSON object")?;
    let sep = if open.len() > 1 { "," } else { "" };
    write_stdout(|out| {
        write!(out, "{open}{sep}{}:[", serde_json::Value::from(key))?;
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(&p.as_bytes()[1..p.len() - 1])?;
        }
        out.write_all(b"]}\n")
    })
}

/// Serialises `v` as one JSON document on standard output.
pub fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut s = serde_json::to_string(v).context("cannot serialise the result")?;
    s.push('\n');
    print(&s)
}

/// Prints a store record (a task, a customer view) in the contract's terms
/// ([`holdfast_app::json::store_document`]: RFC 3339 instants, money in major units).
pub fn print_store_json<T: serde::Serialize>(v: &T, currency: holdfast_core::Currency) -> anyhow::Result<()> {
    print_json(&holdfast_app::json::store_document(v, currency)?)
}

/// CSV text with a header and rows, quoted by the `csv` crate.
pub struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        // Writing into memory cannot fail.
        let _ = w.write_record(header);
        Csv(w)
    }

    pub fn row<I, T>(&mut self, fields: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let _ = self.0.write_record(fields);
    }

    /// Prints the text on standard output.
    pub fn print(self) -> anyhow::Result<()> {
        let bytes = self.0.into_inner().map_err(|e| anyhow::anyhow!("cannot write CSV: {e}"))?;
        write_stdout(|out| out.write_all(&bytes))
    }
}
