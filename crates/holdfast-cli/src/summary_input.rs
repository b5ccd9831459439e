//! Where an RFM summary comes from, for `fit`, `predict` and `bench`: an orders file cut at a
//! calibration end, or a summary file.

use crate::args::OrdersInput;
use crate::Global;
use anyhow::{anyhow, Context};
use chrono::NaiveDate;
use holdfast_core::Calendar;
use holdfast_models::{CsvError, Summary, TimeUnit};
use std::path::{Path, PathBuf};

/// Where an RFM summary comes from: an orders file cut at a calibration end, or a summary file.
#[derive(clap::Args, Debug, Clone)]
pub struct SummarySource {
    /// Orders file (CSV or xlsx; read by the importer).
    #[arg(long, value_name = "FILE", conflicts_with = "summary")]
    pub orders: Option<PathBuf>,
    /// Last day of the calibration period (inclusive), YYYY-MM-DD; with --orders. Default: the
    /// day of the last order.
    #[arg(long, value_name = "DATE")]
    pub calibration_end: Option<String>,
    /// RFM summary CSV.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Time unit of recency and T: day or week.
    #[arg(long, default_value = "week", value_parser = parse_unit)]
    pub unit: TimeUnit,
    /// IANA time zone in which order times are cut into days.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    #[command(flatten)]
    pub input: OrdersInput,
}

fn parse_unit(s: &str) -> Result<TimeUnit, String> {
    s.parse()
}

/// Reads a whole text file.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A CSV error of the models crate, prefixed with the file as `file:line:column:`.
pub fn csv_error(path: &Path, e: CsvError) -> anyhow::Error {
    let p = path.display();
    match e {
        CsvError::BadValue { line, column, name, value, expected } => anyhow!("{p}:{line}:{column}: {value:?} is not {expected} (column {name})"),
        CsvError::BadRow { line, message } => anyhow!("{p}:{line}: {message}"),
        other => anyhow!("{p}: {other}"),
    }
}

pub fn parse_date(s: &str, what: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| anyhow!("{what}: {s:?} is not a date (expected YYYY-MM-DD, e.g. 1997-09-30)"))
}

/// The summary of the source, with its source's end date when it came from orders.
pub fn load_summary(src: &SummarySource, g: &Global) -> anyhow::Result<(Summary, Option<NaiveDate>)> {
    if let Some(path) = &src.summary {
        return Ok((Summary::parse_csv(&read_text(path)?, src.unit).map_err(|e| csv_error(path, e))?, None));
    }
    let path = src.orders.as_ref().ok_or_else(|| anyhow!("give --orders FILE (with --calibration-end DATE) or --summary FILE"))?;
    let cal = Calendar::from_name(&src.tz).map_err(|e| anyhow!("--tz: {e}"))?;
    let bar = crate::progress::Bar::new(g.quiet);
    let orders = holdfast_app::read_orders_file(path, &src.input.read_options(), &cal, false, &bar)?;
    let log = orders.log;
    let end = match &src.calibration_end {
        Some(s) => parse_date(s, "--calibration-end")?,
        None => {
            let (_, last) = log.time_range().ok_or_else(|| anyhow!("{}: no counted orders", path.display()))?;
            cal.date(last)
        }
    };
    let s = Summary::from_orders(&log, &cal, end, src.unit);
    if s.is_empty() {
        anyhow::bail!("no customer ordered on or before {end}: nothing to fit");
    }
    Ok((s, Some(end)))
}
