//! holdfast-import: reads an orders file (CSV as exported by shops, 1C, spreadsheets) into an
//! [`OrderLog`] of counted orders, or into whole orders for the store — by one set of rules, so a
//! file and a store always count the same orders.
//!
//! Principal items:
//! - [`read_orders`] with [`ImportOptions`] → [`OrdersFile`] (the log plus what was read: rows,
//!   rows whose status is not a sale, partial refunds, skipped bad rows, currency, encoding,
//!   delimiter). The fast path: columnar, parallel.
//! - [`read_order_records`] → [`AssembledOrders`]: every order of the file, counted or not, with
//!   its status, net amount, lines and external id — what the store imports. Its orders with
//!   status `Completed` are exactly the orders [`read_orders`] counts.
//! - [`ImportError`]: file-level problems, or the list of bad rows as `FILE:LINE: column "H": ...`.
//! - [`DateFormat`]: the date formats understood; `--date-format` resolves DD/MM vs MM/DD.
//! - [`DateRange`]: the dates accepted (default 1900-01-01 to tomorrow); others are bad rows.
//! - [`OrderRows`]: the rows of an orders file in batches of [`OrderRow`], each read by the row
//!   rules (not yet joined into orders).
//! - [`TableReader`] / [`read_table`] with a [`TableSpec`] of [`FieldSpec`]s: typed rows of
//!   customers, events, subscriptions and feedback files ([`TableSpec::customers`] …), with the
//!   same sniffing, number and date rules, `--map` overrides and errors.
//!
//! What a file is, is told by its first bytes, never its name: delimited text; UTF-16 (with or
//! without a BOM), read through a decoder; a spreadsheet (xlsx, xlsm, xlsb, ods, xls), read with
//! calamine and handed on as CSV with a line per sheet row, so it meets the same rules and errors
//! (`orders.xlsx (sheet Orders):5: …`); anything else is refused as "not a text or spreadsheet
//! file". CR-only line ends are read as line ends.
//!
//! Format rules: the delimiter is sniffed among `,` `;` tab `|` in the header line; UTF-8 (with or
//! without BOM), Windows-1251 or KOI8-R (detected when the bytes are not UTF-8); amounts with a
//! decimal comma or point, thousands separators and currency signs/codes; dates as ISO, `DD.MM.YYYY`,
//! `DD.MM.YY`, `DD/MM/YYYY` or `MM/DD/YYYY`, RFC 3339 and Excel serial numbers. Naive times and bare
//! dates are wall-clock time in the calendar's zone; times with an offset are converted.
//!
//! Bounds, so no value decides how much work or memory a file takes: a date outside
//! [`ImportOptions::dates`], an amount above [`MAX_AMOUNT_MINOR`], a NUL or control byte in any
//! field are bad rows (positioned errors, or counted skips with `skip_bad_rows`); counted orders
//! adding up past [`MAX_TOTAL_MINOR`] refuse the file; `1,234` is read as thousands and said in
//! [`OrdersFile::warnings`].
//!
//! Order rules (`METRICS.md`, conventions): statuses are read by [`OrderStatus::parse`]; a row with
//! a refund status and a negative amount is a partial refund of the order with its id (anywhere in
//! the file), a `refunded_amount` column lowers its row's order, and an order refunded to zero
//! counts for nothing. Rows with the same order id, customer and local date are lines of one order
//! wherever they are; a repeated id with another customer or date is an error naming both lines.
//! Orders of one customer at one instant are ordered by order id. The rules live in one module
//! (`assemble`) that both paths call.
//!
//! Streaming: files are read in blocks of a few MB cut at record boundaries (quotes respected);
//! [`read_orders`] parses the blocks in parallel (rayon) and interns customers into `u32`, so the
//! whole text is never held. The encoding, delimiter, slash-date order and currency are decided
//! from the first 8 MB, whatever the block size, so both paths decide alike (slash dates that fit
//! both orders there are settled by reading the rest of the column). Storing the orders and computing metrics are left to other crates.

pub use encoding_rs;

mod assemble;
mod engine;
mod fast;
mod sheet;
pub use assemble::{read_order_records, read_order_records_bytes, AssembledLine, AssembledOrder, AssembledOrders};
mod rows;
mod table;
pub use holdfast_core::OrderStatus;
pub use rows::{OrderRow, OrderRows, ReadSummary};
pub use table::{read_table, read_table_bytes, FieldKind, CUSTOMER_ID as CUSTOMER_ID_HEADERS, FieldSpec, Table, TableReader, TableRow, TableSpec, Value};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use encoding_rs::Encoding;
use holdfast_core::{Calendar, Currency, Instant, OrderLog};
use std::fmt;
use std::path::Path;

/// Longest field accepted, in bytes.
pub const MAX_FIELD: usize = 1 << 20;
/// The largest amount of one order or row, in minor units (10^15: ten trillion in a currency
/// with cents). Larger values are bad rows: they are ids or typos, never orders.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;
/// The largest total of a file's counted orders, in minor units (10^17), so every sum over
/// them — per customer, period, cohort or segment — fits in an `i64` with room to spare.
pub const MAX_TOTAL_MINOR: i128 = 100_000_000_000_000_000;
/// How many row errors are listed (and skip reasons kept).
pub const MAX_LISTED: usize = 20;

/// A date format for `--date-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYYY-MM-DD[ HH:MM[:SS]]`
    Iso,
    /// `DD.MM.YYYY` (and `DD.MM.YY`)
    DmyDot,
    /// `DD/MM/YYYY`
    DmySlash,
    /// `MM/DD/YYYY`
    MdySlash,
}

impl DateFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::DmyDot => "DD.MM.YYYY",
            DateFormat::DmySlash => "DD/MM/YYYY",
            DateFormat::MdySlash => "MM/DD/YYYY",
        }
    }
}

impl std::str::FromStr for DateFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "YYYY-MM-DD" | "ISO" => Ok(DateFormat::Iso),
            "DD.MM.YYYY" | "DD.MM.YY" => Ok(DateFormat::DmyDot),
            "DD/MM/YYYY" => Ok(DateFormat::DmySlash),
            "MM/DD/YYYY" => Ok(DateFormat::MdySlash),
            _ => Err(format!("unknown date format {s:?} (expected YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY or MM/DD/YYYY)")),
        }
    }
}

/// The dates a file may hold: a date outside is a bad row (an error naming its line, column and
/// value, or a counted skip), never a reason to size a table by its distance.
///
/// The default accepts 1900-01-01 to tomorrow by the machine's clock (UTC): an order cannot have
/// been placed in the future, and one day of slack covers every time zone. Fields that may lie
/// ahead (a subscription's end, a yearly date) accept dates up to [`DateRange::FUTURE_LIMIT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub earliest: NaiveDate,
    pub latest: NaiveDate,
}

impl DateRange {
    /// The earliest date accepted by default.
    pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
        Some(d) => d,
        None => NaiveDate::MIN,
    };
    /// The latest date a field that may lie ahead accepts.
    pub const FUTURE_LIMIT: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
        Some(d) => d,
        None => NaiveDate::MAX,
    };

    /// 1900-01-01 to the day after `today`.
    pub fn until_day_after(today: NaiveDate) -> DateRange {
        DateRange { earliest: Self::EARLIEST, latest: today.succ_opt().unwrap_or(today) }
    }

    /// `[start, end)` of the range in `cal`'s zone, as instants.
    pub fn instants(&self, cal: &Calendar) -> (Instant, Instant) {
        (cal.start_of_day(self.earliest), cal.start_of_day(self.latest.succ_opt().unwrap_or(self.latest)))
    }

    /// The same range with the latest date moved to [`DateRange::FUTURE_LIMIT`] when that is
    /// later: for fields that may lie ahead.
    pub fn with_future(self) -> DateRange {
        DateRange { earliest: self.earliest, latest: self.latest.max(Self::FUTURE_LIMIT) }
    }

    /// The phrase messages use: `(expected a date from 1900-01-01 to 2026-12-06)`.
    pub(crate) fn expected(&self) -> String {
        format!("is outside the accepted dates (expected a date from {} to {})", self.earliest, self.latest)
    }
}

impl Default for DateRange {
    fn default() -> Self {
        DateRange::until_day_after(chrono::Utc::now().date_naive())
    }
}

impl std::str::FromStr for DateRange {
    type Err = String;
    /// `FROM..TO` with `YYYY-MM-DD` dates; either side may be left out (`..2030-12-31`).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a date range (expected FROM..TO, e.g. 1990-01-01..2030-12-31; either side may be left out)");
        let (a, b) = s.trim().split_once("..").ok_or_else(bad)?;
        let date = |v: &str, default: NaiveDate| -> Result<NaiveDate, String> {
            let v = v.trim();
            if v.is_empty() {
                Ok(default)
            } else {
                NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad())
            }
        };
        let d = DateRange::default();
        let r = DateRange { earliest: date(a, d.earliest)?, latest: date(b, d.latest)? };
        if r.earliest > r.latest {
            return Err(format!("{s:?}: the first date is after the last"));
        }
        if r.earliest.year() < 1 || r.latest.year() > 9999 {
            return Err(format!("{s:?}: dates must lie between the years 1 and 9999"));
        }
        Ok(r)
    }
}

/// How to read an orders file. `Default` sniffs everything.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub encoding: Option<&'static Encoding>,
    pub delimiter: Option<u8>,
    pub date_format: Option<DateFormat>,
    /// `(field, header)` pairs overriding the header aliases.
    pub column_map: Vec<(String, String)>,
    pub skip_bad_rows: bool,
    pub calendar: Calendar,
    pub currency: Option<Currency>,
    /// The dates accepted; others are bad rows.
    pub dates: DateRange,
}

/// What [`read_orders`] read.
#[derive(Debug)]
pub struct OrdersFile {
    pub log: OrderLog,
    /// Data rows (header excluded).
    pub rows: usize,
    /// Rows whose status is not a sale (partial refunds aside).
    pub excluded_by_status: usize,
    /// Partial refund rows (a refund status and a negative amount) applied to their orders.
    pub refund_rows: usize,
    pub skipped: usize,
    /// The first [`MAX_LISTED`] reasons rows were skipped.
    pub skip_reasons: Vec<String>,
    pub currency: Currency,
    /// True when neither the file nor the options named a currency (USD assumed).
    pub currency_assumed: bool,
    pub encoding: &'static str,
    pub delimiter: u8,
    /// `(field, header)` for every orders field found in the file.
    pub columns: Vec<(String, String)>,
    /// What was read but may not be what the file meant (e.g. `1,234` read as 1234), one
    /// sentence each, for the front end to show.
    pub warnings: Vec<String>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: the file is empty")]
    Empty { path: String },
    #[error("{path}: this is not a text or spreadsheet file (it looks like {what}); expected CSV or other delimited text, xlsx, xls or ods")]
    NotText { path: String, what: &'static str },
    #[error("{path}: cannot read the spreadsheet: {message}")]
    Sheet { path: String, message: String },
    #[error("{path}: the counted orders add up to {total} minor units, more than Holdfast sums ({max}); is a column of ids read as amounts?")]
    TooLarge { path: String, total: i128, max: i128 },
    #[error("{path}: the file has a header but no orders")]
    NoRows { path: String },
    #[error("{path}: no {field} column (accepted headers: {aliases}; or map the {field} field to a column of the file)")]
    MissingColumn { path: String, field: &'static str, aliases: String },
    #[error("unknown field {field:?} in the column map (valid fields: {valid})")]
    UnknownField { field: String, valid: String },
    #[error("{path}: the column map gives {field} = {header:?}, but the header has no such column (columns: {columns})")]
    MapHeaderNotFound { path: String, field: String, header: String, columns: String },
    #[error("{path}: mixed encodings: line {utf8_line} is UTF-8 but line {other_line} is not")]
    MixedEncoding { path: String, utf8_line: u64, other_line: u64 },
    #[error("{path}:{line}: a quoted field starts on this line and is never closed")]
    UnterminatedQuote { path: String, line: u64 },
    #[error("{path}:{line}: {found} fields, but the header has {expected}")]
    Ragged { path: String, line: u64, found: usize, expected: usize },
    #[error("{path}:{line}: a field is longer than 1 MB")]
    FieldTooLong { path: String, line: u64 },
    #[error("{path}: column {header:?}: dates such as {example:?} fit both DD/MM/YYYY and MM/DD/YYYY; say which the file uses")]
    AmbiguousDates { path: String, header: String, example: String },
    #[error("{path}: column {header:?}: some dates are DD/MM ({dmy:?}) and some MM/DD ({mdy:?})")]
    MixedDateOrder { path: String, header: String, dmy: String, mdy: String },
    #[error("{path}:{line}: {message}")]
    Csv { path: String, line: u64, message: String },
    #[error("{}", RowList(.errors, *.total))]
    Rows { errors: Vec<String>, total: usize },
}

/// The reading option that would resolve an error, for a front end to name in its own terms (a
/// command-line flag, a form field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOption {
    /// The text encoding of the file.
    Encoding,
    /// Which column holds a field.
    ColumnMap,
    /// The order of day and month in slash dates.
    DateFormat,
    /// Skipping the rows that cannot be read (counted and reported).
    SkipBadRows,
}

impl ImportError {
    /// The option that would resolve this error, when one would.
    pub fn option(&self) -> Option<ReadOption> {
        match self {
            ImportError::MissingColumn { .. } | ImportError::UnknownField { .. } | ImportError::MapHeaderNotFound { .. } => Some(ReadOption::ColumnMap),
            ImportError::AmbiguousDates { .. } => Some(ReadOption::DateFormat),
            ImportError::MixedEncoding { .. } => Some(ReadOption::Encoding),
            ImportError::Csv { message, .. } if message.contains("UTF-8") => Some(ReadOption::Encoding),
            ImportError::Rows { .. } | ImportError::Ragged { .. } | ImportError::Csv { .. } => Some(ReadOption::SkipBadRows),
            _ => None,
        }
    }
}

struct RowList<'a>(&'a Vec<String>, usize);

impl fmt::Display for RowList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in self.0.iter().take(MAX_LISTED) {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            f.write_str(e)?;
        }
        let shown = self.0.len().min(MAX_LISTED);
        if self.1 > shown {
            write!(f, "\n… and {} more errors", self.1 - shown)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Customer,
    Date,
    Amount,
    OrderId,
    Status,
    Currency,
    Product,
    Category,
    Quantity,
    Refunded,
}

const FIELDS: [(Field, &str, &[&str]); 10] = [
    (Field::Customer, "customer", &["customer_id", "customer", "client", "client_id", "email", "клиент", "покупатель", "код клиента", "клієнт", "покупець"]),
    (Field::Date, "date", &["ordered_at", "date", "order date", "order_date", "дата", "дата заказа", "дата замовлення", "дата на поръчка"]),
    (Field::Amount, "amount", &["amount", "total", "sum", "revenue", "сумма", "сума", "стойност", "итого"]),
    (Field::OrderId, "order_id", &["order_id", "order", "заказ", "номер заказа", "замовлення", "поръчка"]),
    (Field::Status, "status", &["status", "статус"]),
    (Field::Currency, "currency", &["currency", "валюта", "валута"]),
    (Field::Product, "product", &["product", "sku", "товар", "продукт"]),
    (Field::Category, "category", &["category", "категория", "категорія"]),
    (Field::Quantity, "quantity", &["quantity", "qty", "количество", "кількість"]),
    (
        Field::Refunded,
        "refunded_amount",
        &[
            "refunded_amount",
            "refunded amount",
            "refunded",
            "refund amount",
            "refund_amount",
            "amount refunded",
            "total refunded",
            "сумма возврата",
            "возвращено",
            "возврат",
            "сума повернення",
            "повернено",
            "повернення",
            "върната сума",
            "възстановена сума",
            "възстановено",
        ],
    ),
];

/// Currency tokens, longest first within each kind, matched at either end of an amount.
const CURRENCY_TOKENS: &[(&str, Currency)] = &[
    ("руб.", Currency::RUB),
    ("руб", Currency::RUB),
    ("р.", Currency::RUB),
    ("rub", Currency::RUB),
    ("₽", Currency::RUB),
    ("usd", Currency::USD),
    ("$", Currency::USD),
    ("eur", Currency::EUR),
    ("€", Currency::EUR),
    ("лв.", Currency::BGN),
    ("лв", Currency::BGN),
    ("bgn", Currency::BGN),
    ("грн.", Currency::UAH),
    ("грн", Currency::UAH),
    ("uah", Currency::UAH),
    ("₴", Currency::UAH),
];

/// A decimal number: `value / 10^scale`.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    value: i128,
    scale: u32,
}

/// Reads an orders file. `progress(done, total)` is called with bytes parsed so far.
///
/// Streams the file in blocks of 8 MB parsed in parallel; the whole text is never held.
pub fn read_orders(path: &Path, opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<OrdersFile, ImportError> {
    fast::read(path.display().to_string(), engine::Origin::Path(path.to_path_buf()), opts, progress, None, true)
}

/// As [`read_orders`] without the order lines: the log has no products or categories (every
/// row is still checked, quantities included). For reports that need orders only, this reads
/// faster and holds less.
pub fn read_orders_without_lines(path: &Path, opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<OrdersFile, ImportError> {
    fast::read(path.display().to_string(), engine::Origin::Path(path.to_path_buf()), opts, progress, None, false)
}

/// As [`read_orders`], from bytes already in memory; `name` is used in messages.
pub fn read_orders_bytes(name: &str, bytes: &[u8], opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<OrdersFile, ImportError> {
    fast::read(name.to_string(), engine::Origin::Bytes(std::sync::Arc::new(bytes.to_vec())), opts, progress, None, true)
}

/// As [`read_orders_bytes`] with blocks of `block` bytes (tests use tiny blocks to cross
/// block boundaries).
#[doc(hidden)]
pub fn read_orders_bytes_in_blocks(name: &str, bytes: &[u8], opts: &ImportOptions, block: usize) -> Result<OrdersFile, ImportError> {
    fast::read(name.to_string(), engine::Origin::Bytes(std::sync::Arc::new(bytes.to_vec())), opts, &|_, _| {}, Some(block), true)
}

fn decode(path: &str, bytes: &[u8], forced: Option<&'static Encoding>) -> Result<(String, &'static Encoding), ImportError> {
    if let Some(enc) = forced {
        let (text, _, _) = enc.decode(bytes);
        return Ok((text.into_owned(), enc));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(body) {
        return Ok((s.to_owned(), encoding_rs::UTF_8));
    }
    // Not UTF-8: a file with both UTF-8 lines and non-UTF-8 lines was pasted together.
    let mut utf8_line = None;
    let mut other_line = None;
    for (i, l) in body.split(|&b| b == b'\n').enumerate() {
        if l.is_ascii() {
            continue;
        }
        if std::str::from_utf8(l).is_ok() {
            utf8_line.get_or_insert(i as u64 + 1);
        } else {
            other_line.get_or_insert(i as u64 + 1);
        }
    }
    if let (Some(u), Some(o)) = (utf8_line, other_line) {
        return Err(ImportError::MixedEncoding { path: path.to_owned(), utf8_line: u, other_line: o });
    }
    let count = |enc: &'static Encoding| {
        let (t, _, _) = enc.decode(body);
        let n = t.chars().filter(|c| ('\u{430}'..='\u{44f}').contains(c) || *c == 'ё').count();
        (n, t.into_owned())
    };
    let (n1251, t1251) = count(encoding_rs::WINDOWS_1251);
    let (nkoi, tkoi) = count(encoding_rs::KOI8_R);
    if nkoi > n1251 {
        Ok((tkoi, encoding_rs::KOI8_R))
    } else {
        Ok((t1251, encoding_rs::WINDOWS_1251))
    }
}

fn sniff_delimiter(text: &str) -> u8 {
    let text = text.trim_start_matches('\u{feff}');
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut in_q = false;
    for &b in text.as_bytes() {
        if b == b'"' {
            in_q = !in_q;
        } else if !in_q {
            if b == b'\n' {
                break;
            }
            if let Some(i) = cands.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
        }
    }
    let mut best = 0;
    for i in 1..4 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    cands[best]
}

fn currency_of(s: &str) -> Option<Currency> {
    let l = s.trim().to_lowercase();
    CURRENCY_TOKENS.iter().find(|(t, _)| *t == l).map(|x| x.1).or_else(|| Currency::new(&l))
}

fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '’')
}

/// Parses an amount such as `1 234,50 ₽`, `$1,234.50`, `-12.5`, returning the number and the
/// currency named in it.
fn parse_amount(s: &str) -> Option<(Decimal, Option<Currency>)> {
    let mut t = s.trim().to_string();
    let mut cur = None;
    loop {
        let lower = t.to_lowercase();
        let mut found = false;
        for (tok, c) in CURRENCY_TOKENS {
            if lower.ends_with(tok) && lower.len() >= tok.len() {
                // Letter tokens must not eat the tail of a word (e.g. digits then "rub" is fine).
                let cut = t.len() - tok.len();
                if t.is_char_boundary(cut) {
                    t.truncate(cut);
                    t = t.trim_end().to_string();
                    found = true;
                }
            } else if lower.starts_with(tok) {
                if let Some(rest) = t.get(tok.len()..) {
                    t = rest.trim_start().to_string();
                    found = true;
                }
            }
            if found {
                if cur.is_some_and(|p| p != *c) {
                    return None;
                }
                cur = Some(*c);
                break;
            }
        }
        if !found {
            break;
        }
    }
    let mut neg = false;
    let mut body: &str = &t;
    if let Some(r) = body.strip_prefix('-').or_else(|| body.strip_prefix('\u{2212}')) {
        neg = true;
        body = r.trim_start();
        // "-$5"
        if let Some((_, c)) = CURRENCY_TOKENS.iter().find(|(tok, _)| body.to_lowercase().starts_with(tok)) {
            if cur.is_some_and(|p| p != *c) {
                return None;
            }
            cur = Some(*c);
            let l = CURRENCY_TOKENS.iter().find(|(tok, _)| body.to_lowercase().starts_with(tok)).map(|x| x.0.len()).unwrap_or(0);
            body = body.get(l..).unwrap_or("").trim_start();
        }
    } else if let Some(r) = body.strip_prefix('+') {
        body = r;
    }
    let cleaned: String = body.chars().filter(|c| !is_group_space(*c)).collect();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    if !cleaned.starts_with(|c: char| c.is_ascii_digit()) || !cleaned.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let n_comma = cleaned.matches(',').count();
    let n_point = cleaned.matches('.').count();
    let decimal: Option<char> = match (n_comma, n_point) {
        (0, 0) => None,
        (0, 1) => Some('.'),
        (1, 0) => {
            // "1,234" with a 3-digit group is thousands; "12,5" a decimal comma.
            let after = cleaned.split(',').nth(1).unwrap_or("");
            if after.len() == 3 {
                None
            } else {
                Some(',')
            }
        }
        (_, 0) | (0, _) => None,
        _ => {
            let lc = cleaned.rfind(',').unwrap_or(0);
            let lp = cleaned.rfind('.').unwrap_or(0);
            let d = if lc > lp { ',' } else { '.' };
            if cleaned.matches(d).count() != 1 {
                return None;
            }
            Some(d)
        }
    };
    let (int_part, frac) = match decimal {
        Some(d) => {
            let k = cleaned.rfind(d).unwrap_or(0);
            (&cleaned[..k], &cleaned[k + 1..])
        }
        None => (cleaned.as_str(), ""),
    };
    // Thousands groups must be 3 digits.
    let groups: Vec<&str> = int_part.split([',', '.']).collect();
    if groups.len() > 1 && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let digits: String = groups.concat();
    if digits.is_empty() || frac.contains([',', '.']) || digits.len() + frac.len() > 30 {
        return None;
    }
    let v: i128 = format!("{digits}{frac}").parse().ok()?;
    Some((Decimal { value: if neg { -v } else { v }, scale: frac.len() as u32 }, cur))
}

/// The counted orders' total must stay within [`MAX_TOTAL_MINOR`].
pub(crate) fn check_total(path: &str, amounts: impl Iterator<Item = i64>) -> Result<(), ImportError> {
    let total: i128 = amounts.map(|a| a as i128).sum();
    if total.abs() > MAX_TOTAL_MINOR {
        return Err(ImportError::TooLarge { path: path.to_owned(), total, max: MAX_TOTAL_MINOR });
    }
    Ok(())
}

/// `1,234` (a comma before exactly three digits and no point, currency signs aside): read as a
/// thousands separator, but a decimal comma to anyone whose currency has three decimals — worth
/// a warning.
pub(crate) fn ambiguous_thousands(v: &str) -> bool {
    let core: String = v.chars().filter(|c| c.is_ascii_digit() || matches!(c, ',' | '.')).collect();
    match core.split_once(',') {
        Some((a, b)) => !core.contains('.') && (1..=3).contains(&a.len()) && b.len() == 3 && !b.contains(','),
        None => false,
    }
}

fn to_minor(d: Decimal, digits: u32) -> Option<i64> {
    let v = if d.scale <= digits {
        d.value.checked_mul(10i128.pow(digits - d.scale))?
    } else {
        let p = 10i128.pow(d.scale - digits);
        if d.value % p != 0 {
            return None;
        }
        d.value / p
    };
    i64::try_from(v).ok()
}

/// Splits `A/B/YYYY[ time]` into its parts.
fn slash_parts(v: &str) -> Option<(u32, u32, &str)> {
    let date = v.split([' ', 'T']).next()?;
    let mut it = date.split('/');
    let a = it.next()?;
    let b = it.next()?;
    let y = it.next()?;
    if it.next().is_some() || y.len() != 4 || a.is_empty() || b.is_empty() || a.len() > 2 || b.len() > 2 {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, y))
}

/// The format named in "expected ..." messages: the one most values of the column have.
fn column_format<'a>(values: impl Iterator<Item = &'a str>, slash: Option<bool>) -> &'static str {
    let mut counts = [0usize; 4];
    for v in values.take(10_000) {
        let v = v.trim();
        let k = if v.len() >= 10 && v.as_bytes()[4] == b'-' {
            0
        } else if v.contains('.') && v.split('.').count() == 3 {
            1
        } else if v.contains('/') {
            2
        } else {
            3
        };
        counts[k] += 1;
    }
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    match best {
        1 => "DD.MM.YYYY",
        2 if slash == Some(false) => "MM/DD/YYYY",
        2 => "DD/MM/YYYY",
        _ => "YYYY-MM-DD",
    }
}

fn parse_time(t: &str) -> Option<NaiveTime> {
    let t = t.trim();
    NaiveTime::parse_from_str(t, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S%.f")).or_else(|_| NaiveTime::parse_from_str(t, "%H:%M")).ok()
}

/// Parses one date value. `slash`: Some(true) for DD/MM, Some(false) for MM/DD.
fn parse_date(v: &str, slash: Option<bool>, cal: &Calendar) -> Option<Instant> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    // Excel serial day numbers.
    if v.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') && !v.contains("..") && v.matches(['.', ',']).count() <= 1 {
        let x: f64 = v.replace(',', ".").parse().ok()?;
        if (20000.0..=80000.0).contains(&x) {
            let days = x.floor() as i64;
            let secs = ((x - x.floor()) * 86400.0).round() as i64;
            let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
            let naive = base + chrono::Duration::days(days) + chrono::Duration::seconds(secs);
            return Some(cal.local_to_instant(naive));
        }
        return None;
    }
    // With an offset (`Z`, `+03:00`, `+0300`, `-05:00`): converted, whatever the zone.
    if v.len() > 10 && v.as_bytes()[10..].iter().any(|b| matches!(b, b'+' | b'-' | b'Z' | b'z')) {
        if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
            return Some(dt.timestamp());
        }
        for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M%:z", "%Y-%m-%dT%H:%M%:z"] {
            if let Ok(dt) = DateTime::parse_from_str(v, f) {
                return Some(dt.timestamp());
            }
        }
    }
    let (date_s, time_s) = match v.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let time = match time_s {
        Some(t) => parse_time(t)?,
        None => NaiveTime::MIN,
    };
    let date = if date_s.len() == 10 && date_s.as_bytes()[4] == b'-' {
        NaiveDate::parse_from_str(date_s, "%Y-%m-%d").ok()?
    } else if date_s.contains('.') {
        let parts: Vec<&str> = date_s.split('.').collect();
        if parts.len() != 3 || parts[0].len() > 2 || parts[1].len() > 2 {
            return None;
        }
        let d: u32 = parts[0].parse().ok()?;
        let m: u32 = parts[1].parse().ok()?;
        let y: i32 = match parts[2].len() {
            4 => parts[2].parse().ok()?,
            2 => {
                let yy: i32 = parts[2].parse().ok()?;
                if yy < 70 {
                    2000 + yy
                } else {
                    1900 + yy
                }
            }
            _ => return None,
        };
        NaiveDate::from_ymd_opt(y, m, d)?
    } else if date_s.contains('/') {
        let (a, b, y) = slash_parts(date_s)?;
        let y: i32 = y.parse().ok()?;
        let (d, m) = if slash == Some(false) { (b, a) } else { (a, b) };
        NaiveDate::from_ymd_opt(y, m, d)?
    } else {
        return None;
    };
    Some(cal.local_to_instant(NaiveDateTime::new(date, time)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        let p = |s: &str| parse_amount(s).map(|(d, c)| (to_minor(d, 2), c));
        assert_eq!(p("1 234,50 ₽"), Some((Some(123450), Some(Currency::RUB))));
        assert_eq!(p("$1,234.50"), Some((Some(123450), Some(Currency::USD))));
        assert_eq!(p("1.234,5 €"), Some((Some(123450), Some(Currency::EUR))));
        assert_eq!(p("1\u{a0}234"), Some((Some(123400), None)));
        assert_eq!(p("1'234.00 USD"), Some((Some(123400), Some(Currency::USD))));
        assert_eq!(p("12,5 руб."), Some((Some(1250), Some(Currency::RUB))));
        assert_eq!(p("-5"), Some((Some(-500), None)));
        assert_eq!(p("1,234,567"), Some((Some(123456700), None)));
        assert_eq!(p("abc"), None);
        assert_eq!(p("1,2,3"), None);
    }

    #[test]
    fn offsets_are_converted_and_naive_times_are_local() {
        // Europe/Kyiv is UTC+2 on 2024-03-05: 10:00 local = 08:00Z; 10:00+03:00 = 07:00Z.
        let cal = Calendar::from_name("Europe/Kyiv").expect("zone");
        let (local, plus3) = (1_709_625_600, 1_709_622_000);
        for (v, want) in [
            ("2024-03-05T10:00:00+03:00", plus3),
            ("2024-03-05T10:00:00+0300", plus3),
            ("2024-03-05 10:00:00+0300", plus3),
            ("2024-03-05 10:00:00 +03:00", plus3),
            ("2024-03-05T10:00:00.123+03:00", plus3),
            ("2024-03-05 10:00+03:00", plus3),
            ("2024-03-05T10:00+03:00", plus3),
            ("2024-03-05T10:00:00-0500", plus3 + 8 * 3600),
            ("2024-03-05 10:00:00Z", plus3 + 3 * 3600),
            ("2024-03-05T10:00:00", local),
            ("2024-03-05 10:00", local),
            ("05.03.2024 10:00", local),
            ("2024-03-05", local - 10 * 3600),
        ] {
            assert_eq!(parse_date(v, None, &cal), Some(want), "{v}");
        }
    }
}
