//! `holdfast analyze`: the full retention report of an orders file, in one command, no database.
//!
//! Also holds what `movement` and `cohorts` share with it: the calendar/as-of options and loading
//! the orders file.

use crate::Global;
use anyhow::Context;
use chrono::{DateTime, NaiveDate};
use holdfast_core::{Calendar, Granularity, Instant, OrderLog};
use holdfast_report::{analyze, render, AnalyzeOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The full retention report of an orders file: movement, retention and churn, cohorts, repeat
/// purchases, customer value. Terminal tables by default, `--json` for one JSON document,
/// `--out report.html` for a self-contained HTML report with charts.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast analyze orders.csv --out report.html\n  holdfast analyze orders.csv --period quarter --window 180 --as-of 2024-07-01 --json")]
pub struct Args {
    /// Orders file (CSV: customer, date, amount; optional order_id, status, …). Omitted: the
    /// orders in the store given by --db.
    #[arg(value_name = "ORDERS")]
    pub orders: Option<PathBuf>,
    /// Customers file (accepted; not used by this report yet).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::input::OrdersInput,
    /// Inactivity window W in days: a customer is active while the last order is at most this old.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub window: u32,
    /// Reporting period: month, quarter or year (cohorts use it too).
    #[arg(long, default_value = "month", value_parser = parse_period)]
    pub period: Granularity,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Which parts of the report to compute, comma-separated: retention (movement, rates,
    /// cohorts, repeat purchases, historical value, the RFM grid: always included), segments (RFM
    /// segments, tiers, the top of the at-risk list, service chains), prediction (P(alive),
    /// expected purchases and CLV from BG/NBD and Gamma-Gamma, with a holdout check), all.
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = parse_sections)]
    pub sections: SectionSet,
}

/// The optional parts of the report (`--sections`); retention is always computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionSet {
    pub segments: bool,
    pub prediction: bool,
}

/// `retention`, `segments`, `prediction`, `all`, comma-separated.
pub fn parse_sections(s: &str) -> Result<SectionSet, String> {
    let mut set = SectionSet { segments: false, prediction: false };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "retention" => {}
            "segments" => set.segments = true,
            "prediction" => set.prediction = true,
            "all" => set = SectionSet { segments: true, prediction: true },
            _ => return Err(format!("{part:?}: expected retention, segments, prediction or all (comma-separated)")),
        }
    }
    Ok(set)
}

/// Time zone and as-of date, shared by the reporting commands.
#[derive(clap::Args, Debug, Clone)]
pub struct When {
    /// Analysis date (YYYY-MM-DD or RFC 3339): only orders before it count. Default: the day after
    /// the last order.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// IANA time zone in which periods are cut (e.g. Europe/Moscow).
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
}

impl When {
    pub fn calendar(&self) -> anyhow::Result<Calendar> {
        Calendar::from_name(&self.tz).map_err(|e| anyhow::anyhow!("--tz: {e}"))
    }

    /// The as-of instant: `--as-of`, else the day after the last order; error for an empty log.
    pub fn as_of(&self, log: &OrderLog, cal: &Calendar) -> anyhow::Result<Instant> {
        match &self.as_of {
            Some(s) => parse_instant(s, cal).map_err(|e| anyhow::anyhow!("--as-of: {e}")),
            None => log.default_as_of(cal).context("the orders file has no counted orders: nothing to report"),
        }
    }
}

/// `month`, `quarter` or `year`.
pub fn parse_period(s: &str) -> Result<Granularity, String> {
    match s.parse::<Granularity>()? {
        g @ (Granularity::Month | Granularity::Quarter | Granularity::Year) => Ok(g),
        _ => Err(format!("{s:?}: expected month, quarter or year")),
    }
}

/// A date (local midnight in the calendar's zone) or an RFC 3339 instant.
pub fn parse_instant(s: &str, cal: &Calendar) -> Result<Instant, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(cal.start_of_day(d));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    Err(format!("{s:?} is not a date (expected YYYY-MM-DD or RFC 3339, e.g. 2024-07-01)"))
}

/// A month `YYYY-MM` as the instant its first day starts in the calendar's zone.
pub fn parse_month(s: &str, cal: &Calendar) -> Result<Instant, String> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map(|d| cal.start_of_day(d))
        .map_err(|_| format!("{s:?} is not a month (expected YYYY-MM, e.g. 1997-03)"))
}

/// Reads an orders file into an [`OrderLog`] through the importer (`crate::input`): sniffed
/// delimiter and encoding, header aliases, refunded and cancelled orders left out.
pub fn load_orders(path: &Path, input: &crate::input::OrdersInput, cal: &Calendar, quiet: bool) -> anyhow::Result<OrderLog> {
    Ok(crate::input::load_orders(path, input, cal, quiet)?.log)
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

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let cal = args.when.calendar()?;
    if args.window == 0 {
        anyhow::bail!("--window must be at least 1 day");
    }
    let mut clock = Phases::from_env();
    // Order lines (products) feed only the segments section's service chains.
    let log = match &args.orders {
        Some(path) if !args.sections.segments => crate::input::load_orders_with(path, &args.input, &cal, g.quiet, false)?.log,
        path => crate::store_input::load_orders_or_store(path.as_deref(), &args.input, &cal, g)?,
    };
    clock.mark("read");
    let as_of = args.when.as_of(&log, &cal)?;
    if args.customers.is_some() && !g.quiet {
        eprintln!("note: --customers is accepted but not used by this report yet");
    }
    let source = match &args.orders {
        Some(o) => o.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| o.display().to_string()),
        None => holdfast_store::redact_url(&g.db),
    };
    let mut report = analyze(&log, &AnalyzeOptions { calendar: cal, granularity: args.period, window_days: args.window, as_of, source });
    clock.mark("metrics");
    if args.sections.segments {
        report.sections.segments = Some(holdfast_report::segments::SegmentsSection::compute(&log, as_of, args.window));
        clock.mark("segments");
    }
    if args.sections.prediction {
        report.sections.prediction = Some(holdfast_report::prediction::PredictionSection::compute(&log, &cal, as_of));
        clock.mark("prediction");
    }
    if let Some(out) = &args.out {
        std::fs::write(out, render(&report)).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        print_json(&report)?;
    } else {
        print(&report.to_terminal())?;
        if let Some(out) = &args.out {
            print(&format!("\nReport written to {}\n", out.display()))?;
        }
    }
    clock.mark("output");
    Ok(())
}

/// Wall time per phase on stderr when `HOLDFAST_TIMING` is set (for benchmarks and profiling).
pub struct Phases(Option<std::time::Instant>);

impl Phases {
    pub fn from_env() -> Self {
        Phases(std::env::var_os("HOLDFAST_TIMING").map(|_| std::time::Instant::now()))
    }

    pub fn mark(&mut self, phase: &str) {
        if let Some(t) = &mut self.0 {
            eprintln!("timing: {phase:<10} {:>7.3} s", t.elapsed().as_secs_f64());
            *t = std::time::Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_months_and_periods() {
        let cal = Calendar::default();
        assert_eq!(parse_instant("1970-01-02", &cal), Ok(86_400));
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00", &cal), Ok(0));
        assert!(parse_instant("02.01.1970", &cal).is_err());
        assert_eq!(parse_month("1970-02", &cal), Ok(31 * 86_400));
        assert!(parse_period("week").is_err());
        assert_eq!(parse_sections("retention"), Ok(SectionSet { segments: false, prediction: false }));
        assert_eq!(parse_sections("retention,segments"), Ok(SectionSet { segments: true, prediction: false }));
        assert_eq!(parse_sections("prediction"), Ok(SectionSet { segments: false, prediction: true }));
        assert_eq!(parse_sections("all"), Ok(SectionSet { segments: true, prediction: true }));
        assert!(parse_sections("everything").is_err());
    }
}
