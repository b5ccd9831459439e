//! Arguments several commands share: how to read an orders file, the time zone and as-of date,
//! the reporting period.

use holdfast_core::Currency;
use holdfast_core::Granularity;
use holdfast_import::{encoding_rs::Encoding, DateFormat, DateRange};

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
    /// The dates a file may hold, FROM..TO (either side may be left out), e.g.
    /// `--date-range 1990-01-01..2030-12-31`. A date outside is a bad row. Default: 1900-01-01 to
    /// tomorrow.
    #[arg(long, value_name = "FROM..TO")]
    pub date_range: Option<DateRange>,
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

impl OrdersInput {
    /// The application layer's reading options.
    pub fn read_options(&self) -> holdfast_app::ReadOptions {
        holdfast_app::ReadOptions {
            encoding: self.encoding,
            delimiter: self.delimiter,
            date_format: self.date_format,
            column_map: self.map.clone(),
            skip_bad_rows: self.skip_bad_rows,
            currency: self.currency,
            dates: self.date_range,
        }
    }
}

/// Time zone and as-of date, shared by the reporting commands.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct When {
    /// Analysis date (YYYY-MM-DD or RFC 3339): only orders before it count. Default: the day after
    /// the last order.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// IANA time zone in which days and periods are cut (e.g. Europe/Moscow). Default: the
    /// workspace's zone for the store, UTC for a file.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

/// `month`, `quarter` or `year`.
pub fn parse_period(s: &str) -> Result<Granularity, String> {
    match s.parse::<Granularity>()? {
        g @ (Granularity::Month | Granularity::Quarter | Granularity::Year) => Ok(g),
        _ => Err(format!("{s:?}: expected month, quarter or year")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_periods_delimiters_and_maps() {
        assert!(parse_period("week").is_err());
        assert_eq!(parse_period("quarter"), Ok(Granularity::Quarter));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert!(parse_map("amount").is_err());
    }
}
