//! Reading the orders a command works on: from a file, through `holdfast-import`.

use holdfast_core::{Calendar, Currency};
use holdfast_import::{encoding_rs::Encoding, DateFormat, ImportOptions, OrdersFile};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

/// How to read an orders file (everything is sniffed unless given).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OrdersInput {
    /// Text encoding of the orders file (e.g. utf-8, windows-1251, koi8-r). Default: detected.
    #[arg(long, value_name = "NAME", value_parser = parse_encoding)]
    pub encoding: Option<&'static Encoding>,
    /// Field delimiter: `,` `;` `|` or `tab`. Default: sniffed from the header line.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Date format when it cannot be told from the data: DD/MM/YYYY or MM/DD/YYYY (also YYYY-MM-DD, DD.MM.YYYY).
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<DateFormat>,
    /// Which header holds a field, e.g. `--map amount=Итого` (fields: customer, date, amount,
    /// order_id, status, currency, product, category, quantity). Repeatable.
    #[arg(long = "map", value_name = "FIELD=HEADER", value_parser = parse_map)]
    pub map: Vec<(String, String)>,
    /// Skip rows that cannot be read (counted and reported) instead of failing.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Currency of the amounts (ISO code, e.g. RUB) when the file does not say.
    #[arg(long, value_name = "CODE", value_parser = parse_currency)]
    pub currency: Option<Currency>,
}

fn parse_encoding(s: &str) -> Result<&'static Encoding, String> {
    Encoding::for_label(s.trim().as_bytes()).ok_or_else(|| format!("unknown encoding {s:?} (e.g. utf-8, windows-1251, koi8-r)"))
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "," | ";" | "|" => Ok(s.as_bytes()[0]),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("{s:?}: expected one character such as , ; | or tab")),
    }
}

fn parse_map(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((f, h)) if !f.trim().is_empty() && !h.trim().is_empty() => Ok((f.trim().to_string(), h.trim().to_string())),
        _ => Err(format!("{s:?}: expected FIELD=HEADER, e.g. amount=Итого")),
    }
}

fn parse_currency(s: &str) -> Result<Currency, String> {
    Currency::new(s).ok_or_else(|| format!("{s:?} is not a currency code (e.g. RUB, EUR, USD)"))
}

/// Reads an orders file with a progress bar on stderr (shown after about a second unless quiet)
/// and prints a summary of skipped rows to stderr.
pub fn load_orders(path: &Path, input: &OrdersInput, cal: &Calendar, quiet: bool) -> anyhow::Result<OrdersFile> {
    load_orders_with(path, input, cal, quiet, true)
}

/// [`load_orders`]; `lines: false` leaves products and categories out of the log (reports that
/// need only the orders read faster and hold less).
pub fn load_orders_with(path: &Path, input: &OrdersInput, cal: &Calendar, quiet: bool, lines: bool) -> anyhow::Result<OrdersFile> {
    let opts = ImportOptions {
        encoding: input.encoding,
        delimiter: input.delimiter,
        date_format: input.date_format,
        column_map: input.map.clone(),
        skip_bad_rows: input.skip_bad_rows,
        calendar: *cal,
        currency: input.currency,
    };
    let started = Instant::now();
    let bar: RefCell<Option<ProgressBar>> = RefCell::new(None);
    let progress = |done: u64, total: u64| {
        if quiet || started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let mut b = bar.borrow_mut();
        let pb = b.get_or_insert_with(|| {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("reading {bytes}/{total_bytes} [{bar:30}] {eta}") {
                pb.set_style(style);
            }
            pb
        });
        pb.set_position(done);
    };
    let result = if lines {
        holdfast_import::read_orders(path, &opts, &progress)
    } else {
        holdfast_import::read_orders_without_lines(path, &opts, &progress)
    };
    if let Some(pb) = bar.borrow_mut().take() {
        pb.finish_and_clear();
    }
    let file = result?;
    if file.skipped > 0 && !quiet {
        eprintln!("skipped {} bad rows of {} in {}:", file.skipped, file.rows, path.display());
        for r in &file.skip_reasons {
            eprintln!("  {r}");
        }
        if file.skipped > file.skip_reasons.len() {
            eprintln!("  … and {} more", file.skipped - file.skip_reasons.len());
        }
    }
    if file.currency_assumed && !quiet {
        eprintln!("note: {} names no currency; amounts are taken as USD (use --currency)", path.display());
    }
    Ok(file)
}
