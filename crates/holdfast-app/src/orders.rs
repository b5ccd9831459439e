//! The orders a report works on — from a file or from the store, by one set of rules.

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::workspace::App;
use holdfast_core::{Calendar, Currency, OrderLog};
use holdfast_import::{encoding_rs::Encoding, DateFormat, DateRange, ImportOptions};
use std::path::PathBuf;

/// How to read a file (everything is sniffed unless given).
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub encoding: Option<&'static Encoding>,
    pub delimiter: Option<u8>,
    pub date_format: Option<DateFormat>,
    /// Which header holds a field: `(field, header)`.
    pub column_map: Vec<(String, String)>,
    /// Skip unreadable rows (counted and reported) instead of failing.
    pub skip_bad_rows: bool,
    /// Currency of the amounts when the file does not say.
    pub currency: Option<Currency>,
    /// The dates accepted (default: 1900-01-01 to tomorrow); others are bad rows.
    pub dates: Option<DateRange>,
}

impl ReadOptions {
    /// The importer's options with `cal` for dates without an offset.
    pub fn import_options(&self, cal: Calendar) -> ImportOptions {
        ImportOptions {
            encoding: self.encoding,
            delimiter: self.delimiter,
            date_format: self.date_format,
            column_map: self.column_map.clone(),
            skip_bad_rows: self.skip_bad_rows,
            calendar: cal,
            currency: self.currency,
            dates: self.dates.unwrap_or_default(),
        }
    }
}

/// Where the orders of a report come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// An orders file, read by `holdfast-import`.
    File { path: PathBuf, read: ReadOptions },
    /// The counted orders of the app's workspace.
    Store(App),
}

impl Source {
    /// The calendar periods are cut in: `tz` when given; else the workspace's zone for the store
    /// and UTC for a file.
    pub fn calendar(&self, tz: Option<&str>) -> Result<Calendar> {
        match (tz, self) {
            (Some(z), _) => Calendar::from_name(z).map_err(|e| Error::user(format!("time zone: {e}"))),
            (None, Source::Store(app)) => app.calendar(),
            (None, Source::File { .. }) => Ok(Calendar::default()),
        }
    }

    /// The source as named in reports: the file's name, or the store's URL without a password.
    pub fn name(&self) -> String {
        match self {
            Source::File { path, .. } => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string()),
            Source::Store(app) => app.url().to_owned(),
        }
    }

    /// The app when the orders come from the store.
    pub fn app(&self) -> Option<&App> {
        match self {
            Source::Store(app) => Some(app),
            Source::File { .. } => None,
        }
    }
}

/// What reading a file left out or assumed, for the front end to say.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReadNotes {
    /// Data rows read.
    pub rows: usize,
    /// Unreadable rows skipped (with `skip_bad_rows`) and the first reasons.
    pub skipped: usize,
    pub skip_reasons: Vec<String>,
    /// The currency taken for amounts when the file names none.
    pub currency_assumed: Option<Currency>,
    /// What was read but may not be what the file meant (e.g. `1,234` read as 1234).
    pub warnings: Vec<String>,
}

/// Loaded orders.
#[derive(Debug)]
pub struct Orders {
    pub log: OrderLog,
    pub notes: ReadNotes,
}

/// Loads the counted orders of `source`, with order lines (products) when `lines` (only service
/// chains and next offers use them; without, reading is faster and lighter). Dates without an
/// offset in a file are read in `cal`'s zone. A file is read on the calling thread.
pub async fn load_orders(source: &Source, cal: &Calendar, lines: bool, progress: &dyn Progress) -> Result<Orders> {
    match source {
        Source::File { path, read } => read_orders_file(path, read, cal, lines, progress),
        Source::Store(app) => {
            progress.update("reading the store", 0, 0);
            let log = app.store.load_order_log(app.ws.id).await;
            progress.finish();
            let log = log?;
            if log.is_empty() {
                return Err(Error::user(format!("the store {} has no counted orders (import orders into it first)", app.url())));
            }
            check_stored_dates(&log, cal, app.url())?;
            Ok(Orders { log, notes: ReadNotes::default() })
        }
    }
}

/// Reads an orders file (blocking): sniffed delimiter and encoding, header aliases, orders that
/// do not count left out.
pub fn read_orders_file(path: &std::path::Path, read: &ReadOptions, cal: &Calendar, lines: bool, progress: &dyn Progress) -> Result<Orders> {
    let opts = read.import_options(*cal);
    let report = |done: u64, total: u64| progress.update("reading", done, total);
    let result = if lines { holdfast_import::read_orders(path, &opts, &report) } else { holdfast_import::read_orders_without_lines(path, &opts, &report) };
    progress.finish();
    let file = result?;
    let notes = ReadNotes {
        rows: file.rows,
        skipped: file.skipped,
        skip_reasons: file.skip_reasons.clone(),
        currency_assumed: file.currency_assumed.then(|| file.log.currency()),
        warnings: file.warnings.clone(),
    };
    Ok(Orders { log: file.log, notes })
}

/// Orders stored before the importer refused dates outside [`DateRange`] could still hold one
/// (9999-12-31): reports over them would be sized by its distance, so they are refused with the
/// customer and the date to correct.
fn check_stored_dates(log: &OrderLog, cal: &Calendar, url: &str) -> Result<()> {
    let range = DateRange::default().with_future();
    let (lo, hi) = range.instants(cal);
    let total: i128 = log.amount().iter().map(|&a| a as i128).sum();
    if total.abs() > holdfast_import::MAX_TOTAL_MINOR {
        return Err(Error::user(format!(
            "the store {url} holds orders adding up to {total} minor units, more than Holdfast sums ({}); import the orders again with their amounts corrected",
            holdfast_import::MAX_TOTAL_MINOR
        )));
    }
    let Some((first, last)) = log.time_range() else { return Ok(()) };
    if first >= lo && last < hi {
        return Ok(());
    }
    let bad = if first < lo { first } else { last };
    let who = (0..log.n_customers() as u32).find(|&c| log.times_of(c).contains(&bad)).map(|c| log.customer_id(c).to_owned()).unwrap_or_default();
    Err(Error::user(format!(
        "the store {url} holds an order of customer {who:?} dated {}, outside the dates a report can cover ({} to {}); import the order again with its date corrected",
        cal.date(bad),
        range.earliest,
        range.latest
    )))
}
