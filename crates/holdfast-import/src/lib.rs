//! holdfast-import: reads an orders file (CSV as exported by shops, 1C, spreadsheets) into an
//! [`OrderLog`].
//!
//! Principal items:
//! - [`read_orders`] with [`ImportOptions`] → [`OrdersFile`] (the log plus what was read: rows,
//!   rows excluded by a refund/cancellation status, skipped bad rows, currency, encoding, delimiter).
//! - [`ImportError`]: file-level problems, or the list of bad rows as `FILE:LINE: column "H": ...`.
//! - [`DateFormat`]: the date formats understood; `--date-format` resolves DD/MM vs MM/DD.
//! - [`OrderRows`]: the same rules row by row, in batches of [`OrderRow`] (for the store).
//! - [`TableReader`] / [`read_table`] with a [`TableSpec`] of [`FieldSpec`]s: typed rows of
//!   customers, events, subscriptions and feedback files ([`TableSpec::customers`] …), with the
//!   same sniffing, number and date rules, `--map` overrides and errors.
//!
//! Rules: the delimiter is sniffed among `,` `;` tab `|` in the header line; UTF-8 (with or
//! without BOM), Windows-1251 or KOI8-R (detected when the bytes are not UTF-8); amounts with a
//! decimal comma or point, thousands separators and currency signs/codes; dates as ISO, `DD.MM.YYYY`,
//! `DD.MM.YY`, `DD/MM/YYYY` or `MM/DD/YYYY`, RFC 3339 and Excel serial numbers. Naive times are
//! local times in the calendar's zone. Rows sharing an order id for the same customer are lines of
//! one order (amounts summed).
//!
//! Streaming: files are read in blocks of a few MB cut at record boundaries (quotes respected);
//! [`read_orders`] parses the blocks in parallel (rayon) and interns customers into `u32`, so the
//! whole text is never held. The encoding, delimiter, slash-date order and currency are decided
//! from the first block (slash dates that fit both orders there are settled by reading the rest of
//! the column). Storing the log and computing metrics are left to other crates.

pub use encoding_rs;

mod engine;
mod fast;
mod rows;
mod table;
pub use holdfast_core::OrderStatus;
pub use rows::{OrderRow, OrderRows, ReadSummary};
pub use table::{read_table, read_table_bytes, FieldKind, FieldSpec, Table, TableReader, TableRow, TableSpec, Value};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use encoding_rs::Encoding;
use holdfast_core::{Calendar, Currency, Instant, OrderLog, OrderLogBuilder};
use rustc_hash::FxHashMap;
use std::fmt;
use std::path::Path;

/// Longest field accepted, in bytes.
pub const MAX_FIELD: usize = 1 << 20;
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
}

/// What [`read_orders`] read.
#[derive(Debug)]
pub struct OrdersFile {
    pub log: OrderLog,
    /// Data rows (header excluded).
    pub rows: usize,
    pub excluded_by_status: usize,
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
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: the file is empty")]
    Empty { path: String },
    #[error("{path}: the file has a header but no orders")]
    NoRows { path: String },
    #[error("{path}: no {field} column (accepted headers: {aliases}; or use --map {field}=HEADER)")]
    MissingColumn { path: String, field: &'static str, aliases: String },
    #[error("unknown field {field:?} in --map (valid fields: {valid})")]
    UnknownField { field: String, valid: String },
    #[error("{path}: --map {field}={header}: no column {header:?} in the header (columns: {columns})")]
    MapHeaderNotFound { path: String, field: String, header: String, columns: String },
    #[error("{path}: mixed encodings: line {utf8_line} is UTF-8 but line {other_line} is not")]
    MixedEncoding { path: String, utf8_line: u64, other_line: u64 },
    #[error("{path}:{line}: a quoted field starts on this line and is never closed")]
    UnterminatedQuote { path: String, line: u64 },
    #[error("{path}:{line}: {found} fields, but the header has {expected}")]
    Ragged { path: String, line: u64, found: usize, expected: usize },
    #[error("{path}:{line}: a field is longer than 1 MB")]
    FieldTooLong { path: String, line: u64 },
    #[error("{path}: column {header:?}: dates such as {example:?} fit both DD/MM/YYYY and MM/DD/YYYY; use --date-format DD/MM/YYYY|MM/DD/YYYY")]
    AmbiguousDates { path: String, header: String, example: String },
    #[error("{path}: column {header:?}: some dates are DD/MM ({dmy:?}) and some MM/DD ({mdy:?})")]
    MixedDateOrder { path: String, header: String, dmy: String, mdy: String },
    #[error("{path}:{line}: {message}")]
    Csv { path: String, line: u64, message: String },
    #[error("{}", RowList(.errors, *.total))]
    Rows { errors: Vec<String>, total: usize },
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
}

const FIELDS: [(Field, &str, &[&str]); 9] = [
    (Field::Customer, "customer", &["customer_id", "customer", "client", "client_id", "email", "клиент", "покупатель", "код клиента", "клієнт", "покупець"]),
    (Field::Date, "date", &["ordered_at", "date", "order date", "order_date", "дата", "дата заказа", "дата замовлення", "дата на поръчка"]),
    (Field::Amount, "amount", &["amount", "total", "sum", "revenue", "сумма", "сума", "стойност", "итого"]),
    (Field::OrderId, "order_id", &["order_id", "order", "заказ", "номер заказа", "замовлення", "поръчка"]),
    (Field::Status, "status", &["status", "статус"]),
    (Field::Currency, "currency", &["currency", "валюта", "валута"]),
    (Field::Product, "product", &["product", "sku", "товар", "продукт"]),
    (Field::Category, "category", &["category", "категория", "категорія"]),
    (Field::Quantity, "quantity", &["quantity", "qty", "количество", "кількість"]),
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

/// The straightforward whole-file reader the streaming one is checked against (same rules, same
/// messages; holds the whole text in memory).
#[doc(hidden)]
pub fn read_orders_reference(name: &str, bytes: &[u8], opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<OrdersFile, ImportError> {
    let path = name.to_owned();
    // Validate --map before anything else: it is a usage error.
    let mut mapped: Vec<(Field, &str)> = Vec::new();
    for (f, h) in &opts.column_map {
        let key = f.trim().to_lowercase();
        match FIELDS.iter().find(|(_, n, _)| *n == key) {
            Some((field, _, _)) => mapped.push((*field, h.as_str())),
            None => {
                let valid = FIELDS.iter().map(|(_, n, _)| *n).collect::<Vec<_>>().join(", ");
                return Err(ImportError::UnknownField { field: f.clone(), valid });
            }
        }
    }
    let (text, encoding) = decode(&path, bytes, opts.encoding)?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty { path });
    }
    let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(&text));
    check_quotes(&path, &text, delimiter)?;

    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = match records.next() {
        None => return Err(ImportError::Empty { path }),
        Some(r) => r.map_err(|e| csv_error(&path, e))?,
    };
    let headers: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let lower: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
    let mut cols: FxHashMap<u8, usize> = FxHashMap::default();
    for (field, _, aliases) in FIELDS.iter() {
        if let Some(&(_, h)) = mapped.iter().rev().find(|(f, _)| f == field) {
            let hl = h.trim().to_lowercase();
            match lower.iter().position(|c| *c == hl) {
                Some(i) => {
                    cols.insert(*field as u8, i);
                }
                None => {
                    return Err(ImportError::MapHeaderNotFound {
                        path,
                        field: FIELDS.iter().find(|(f, _, _)| f == field).map(|x| x.1).unwrap_or("").to_string(),
                        header: h.to_string(),
                        columns: headers.join(", "),
                    })
                }
            }
        } else if let Some(i) = lower.iter().position(|c| aliases.contains(&c.as_str())) {
            cols.insert(*field as u8, i);
        }
    }
    for (field, n, aliases) in FIELDS.iter().take(3) {
        if !cols.contains_key(&(*field as u8)) {
            return Err(ImportError::MissingColumn { path, field: n, aliases: aliases.join(", ") });
        }
    }
    let col = |f: Field| cols.get(&(f as u8)).copied();
    let (ci, di, ai) = (col(Field::Customer).unwrap_or(0), col(Field::Date).unwrap_or(0), col(Field::Amount).unwrap_or(0));

    // Pass 1 (structure): reject ragged rows and huge fields; gather what the rules need from
    // all rows (the order of `/`-dates, the usual date format, the file's currency). Records are
    // not kept: pass 2 parses the text again.
    let total_bytes = text.len() as u64;
    let mut n_rows = 0usize;
    let (mut dmy, mut mdy, mut any_slash): (Option<String>, Option<String>, Option<String>) = (None, None, None);
    let mut first_dates: Vec<String> = Vec::new();
    let mut file_currency: Option<Currency> = opts.currency;
    let mut record = csv::StringRecord::new();
    {
        let mut rdr1 = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(true).from_reader(text.as_bytes());
        let mut k = 0usize;
        while rdr1.read_record(&mut record).map_err(|e| csv_error(&path, e))? {
            let r = &record;
            let line = r.position().map(|p| p.line()).unwrap_or(0);
            if r.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if r.iter().any(|f| f.len() > MAX_FIELD) {
                return Err(ImportError::FieldTooLong { path, line });
            }
            if r.len() != headers.len() {
                return Err(ImportError::Ragged { path, line, found: r.len(), expected: headers.len() });
            }
            if k & 0xFFFF == 0 {
                progress(r.position().map(|p| p.byte()).unwrap_or(0) / 2, total_bytes);
            }
            k += 1;
            n_rows += 1;
            let dv = r.get(di).unwrap_or("").trim();
            if first_dates.len() < 10_000 {
                first_dates.push(dv.to_string());
            }
            if opts.date_format.is_none() && (dmy.is_none() || mdy.is_none()) {
                if let Some((a, b, _)) = slash_parts(dv) {
                    any_slash.get_or_insert_with(|| dv.to_string());
                    if a > 12 && b <= 12 {
                        dmy.get_or_insert_with(|| dv.to_string());
                    } else if b > 12 && a <= 12 {
                        mdy.get_or_insert_with(|| dv.to_string());
                    }
                }
            }
            if file_currency.is_none() && !cell(r, col(Field::Status)).is_some_and(|s| !OrderStatus::parse(s).is_counted()) {
                let av = r.get(ai).unwrap_or("").trim();
                if av.bytes().any(|b| !(b.is_ascii_digit() || b" .,-+'".contains(&b))) {
                    file_currency = parse_amount(av).and_then(|x| x.1);
                }
                if file_currency.is_none() {
                    file_currency = cell(r, col(Field::Currency)).and_then(currency_of);
                }
            }
        }
    }
    if n_rows == 0 {
        return Err(ImportError::NoRows { path });
    }

    // The date column's format, from all its values.
    let date_header = headers[di].clone();
    let slash = decide_slash(&path, &date_header, dmy, mdy, any_slash, opts.date_format)?;
    let expected = opts.date_format.map(|f| f.as_str()).unwrap_or_else(|| column_format(first_dates.iter().map(String::as_str), slash));
    drop(first_dates);

    let currency_assumed = file_currency.is_none();
    let currency = file_currency.unwrap_or(Currency::USD);
    let digits = currency.minor_digits();

    // Pass 2 (rows): parse every row and group rows into orders: same customer and order id →
    // one order (earliest time, amounts summed, one line per row).
    let mut errors: Vec<String> = Vec::new();
    let mut n_errors = 0usize;
    let mut skip_reasons: Vec<String> = Vec::new();
    let mut skipped = 0usize;
    let mut excluded = 0usize;
    let mut b = OrderLogBuilder::new(currency);
    // (customer, time, amount) per order; (order, product, quantity) per line.
    let mut orders: Vec<(u32, Instant, i64)> = Vec::new();
    let mut lines: Vec<(u32, u32, u32)> = Vec::new();
    let mut by_id: FxHashMap<(u32, Box<str>), u32> = FxHashMap::default();
    let mut rdr2 = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).flexible(true).from_reader(text.as_bytes());
    let mut k = 0usize;
    while rdr2.read_record(&mut record).map_err(|e| csv_error(&path, e))? {
        let r = &record;
        let line = r.position().map(|p| p.line()).unwrap_or(0);
        if r.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if k & 0xFFFF == 0 {
            progress(total_bytes / 2 + r.position().map(|p| p.byte()).unwrap_or(0) / 2, total_bytes);
        }
        k += 1;
        let bad = |h: usize, v: &str, what: String| format!("{path}:{line}: column \"{}\": \"{}\" {what}", headers[h], v);
        let result: Result<Option<(&str, Instant, i64)>, String> = (|| {
            if cell(r, col(Field::Status)).is_some_and(|s| !OrderStatus::parse(s).is_counted()) {
                return Ok(None);
            }
            let customer = cell(r, Some(ci)).ok_or_else(|| format!("{path}:{line}: column \"{}\": the customer is empty", headers[ci]))?;
            let dv = r.get(di).unwrap_or("").trim();
            let at = parse_date(dv, slash, &opts.calendar).ok_or_else(|| bad(di, dv, format!("is not a date (expected {expected})")))?;
            let av = r.get(ai).unwrap_or("").trim();
            let (amount, mut cur) = parse_amount(av).ok_or_else(|| bad(ai, av, "is not an amount (expected e.g. 1234.56 or 1 234,56)".into()))?;
            if let Some(cv) = cell(r, col(Field::Currency)) {
                let c = currency_of(cv).ok_or_else(|| bad(col(Field::Currency).unwrap_or(0), cv, "is not a currency (expected e.g. RUB, EUR, USD)".into()))?;
                if let Some(prev) = cur {
                    if prev != c {
                        return Err(bad(ai, av, format!("is in {prev} but the currency column says {c}")));
                    }
                }
                cur = Some(c);
            }
            if let Some(c) = cur {
                if c != currency {
                    return Err(bad(ai, av, format!("is in {c} but the file is in {currency}")));
                }
            }
            if amount.value < 0 {
                return Err(bad(ai, av, "is negative but the status is not a refund or cancellation".into()));
            }
            let minor = to_minor(amount, digits).ok_or_else(|| bad(ai, av, format!("has more than {digits} decimals for {currency}")))?;
            Ok(Some((customer, at, minor)))
        })();
        let quantity = || -> Result<u32, String> {
            match cell(r, col(Field::Quantity)) {
                None => Ok(1),
                Some(q) => {
                    let qi = col(Field::Quantity).unwrap_or(0);
                    let d = parse_amount(q).filter(|(d, c)| c.is_none() && d.value >= 0).ok_or_else(|| bad(qi, q, "is not a quantity".into()))?.0;
                    let p = 10i128.pow(d.scale);
                    if d.value % p != 0 || d.value / p > u32::MAX as i128 {
                        return Err(bad(qi, q, "is not a whole quantity".into()));
                    }
                    Ok((d.value / p) as u32)
                }
            }
        };
        let result = result.and_then(|x| match x {
            Some(v) => quantity().map(|q| Some((v, q))),
            None => Ok(None),
        });
        match result {
            Ok(Some(((customer, at, minor), quantity))) => {
                let c = b.customer(customer);
                let existing = cell(r, col(Field::OrderId)).and_then(|oid| by_id.get(&(c, Box::<str>::from(oid))).copied());
                let o = match existing {
                    Some(o) => {
                        let ord = &mut orders[o as usize];
                        ord.1 = ord.1.min(at);
                        ord.2 = ord.2.saturating_add(minor);
                        o
                    }
                    None => {
                        let o = orders.len() as u32;
                        if let Some(oid) = cell(r, col(Field::OrderId)) {
                            by_id.insert((c, oid.into()), o);
                        }
                        orders.push((c, at, minor));
                        o
                    }
                };
                if let Some(p) = cell(r, col(Field::Product)) {
                    let p = b.product(p, cell(r, col(Field::Category)));
                    lines.push((o, p, quantity));
                }
            }
            Ok(None) => excluded += 1,
            Err(e) => {
                if opts.skip_bad_rows {
                    skipped += 1;
                    if skip_reasons.len() < MAX_LISTED {
                        skip_reasons.push(e);
                    }
                } else {
                    n_errors += 1;
                    if errors.len() < MAX_LISTED {
                        errors.push(e);
                    }
                }
            }
        }
    }
    if n_errors > 0 {
        return Err(ImportError::Rows { errors, total: n_errors });
    }
    drop(by_id);
    lines.sort_by_key(|l| l.0);
    let mut li = 0;
    for (o, &(c, at, amount)) in orders.iter().enumerate() {
        b.push_order_idx(c, at, amount);
        while li < lines.len() && lines[li].0 as usize == o {
            b.push_line_idx(lines[li].1, lines[li].2);
            li += 1;
        }
    }
    progress(total_bytes, total_bytes);
    Ok(OrdersFile {
        log: b.build(),
        rows: n_rows,
        excluded_by_status: excluded,
        skipped,
        skip_reasons,
        currency,
        currency_assumed,
        encoding: encoding.name(),
        delimiter,
        columns: Vec::new(),
    })
}

fn cell(r: &csv::StringRecord, i: Option<usize>) -> Option<&str> {
    i.and_then(|i| r.get(i)).map(str::trim).filter(|s| !s.is_empty())
}

fn csv_error(path: &str, e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_string(),
        _ => e.to_string(),
    };
    ImportError::Csv { path: path.to_owned(), line, message }
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

/// Finds a quoted field that is never closed (the csv reader would silently run to the end).
fn check_quotes(path: &str, text: &str, delim: u8) -> Result<(), ImportError> {
    let b = text.as_bytes();
    let mut line: u64 = 1;
    let mut at_field_start = true;
    let mut in_q = false;
    let mut open_line = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_q {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_q = false;
                }
            } else if c == b'\n' {
                line += 1;
            }
        } else if c == b'"' && at_field_start {
            in_q = true;
            open_line = line;
            at_field_start = false;
        } else if c == b'\n' {
            line += 1;
            at_field_start = true;
        } else if c == delim {
            at_field_start = true;
        } else if !(at_field_start && (c == b' ' || c == b'\r')) {
            at_field_start = false;
        }
        i += 1;
    }
    if in_q {
        return Err(ImportError::UnterminatedQuote { path: path.to_owned(), line: open_line });
    }
    Ok(())
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

/// DD/MM (`Some(true)`), MM/DD (`Some(false)`) or no `/`-dates (`None`), from the first value
/// that only fits DD/MM, the first that only fits MM/DD and the first `/`-date of a column.
fn decide_slash(
    path: &str,
    header: &str,
    dmy: Option<String>,
    mdy: Option<String>,
    any: Option<String>,
    given: Option<DateFormat>,
) -> Result<Option<bool>, ImportError> {
    if let Some(f) = given {
        return Ok(match f {
            DateFormat::DmySlash => Some(true),
            DateFormat::MdySlash => Some(false),
            _ => None,
        });
    }
    match (dmy, mdy, any) {
        (Some(d), Some(m), _) => Err(ImportError::MixedDateOrder { path: path.into(), header: header.into(), dmy: d, mdy: m }),
        (Some(_), None, _) => Ok(Some(true)),
        (None, Some(_), _) => Ok(Some(false)),
        (None, None, Some(example)) => Err(ImportError::AmbiguousDates { path: path.into(), header: header.into(), example }),
        (None, None, None) => Ok(None),
    }
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
    // With an offset: RFC 3339.
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Some(dt.timestamp());
    }
    if let Ok(dt) = DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%:z") {
        return Some(dt.timestamp());
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
}
