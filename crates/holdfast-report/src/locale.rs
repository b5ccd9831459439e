//! The languages Holdfast writes for people — English and Russian — and how each writes numbers,
//! money and dates. The one place these conventions live: the report, the CLI's tables and the
//! dashboard call it.
//!
//! | | English | Russian |
//! |---|---|---|
//! | count | `1,234,567` | `1 234 567` (no-break space) |
//! | money | `$1,234.56`, `1,234.56 RUB` | `1 234,56 ₽`, `1 234,56 $` |
//! | share | `42.4%` | `42,4 %` |
//! | change | `+1.2 pp` | `+1,2 п.п.` |
//! | date | `2026-12-05` (ISO 8601) | `05.12.2026` |
//! | days | `12.3 days` | `12,3 дн.` |
//!
//! Missing values (`None`, anything not finite) are `—`, never NaN. JSON and CSV stay free of any
//! locale: they write plain numbers and ISO dates whatever the language.
//!
//! Which language: a person's explicit choice (`--lang`), else the environment's locale
//! ([`Lang::from_locale`]): the first set of `LC_ALL`, `LC_MESSAGES`, `LANG` (POSIX order)
//! starting with `ru`, `uk`, `be`, `bg` or `kk` gives Russian — the product's readers in Ukraine,
//! Belarus, Bulgaria and Kazakhstan read Russian more readily than English (the dashboard makes
//! the same choice from `Accept-Language`) — anything else English.

use chrono::NaiveDate;
use holdfast_core::money::group_thousands;
use holdfast_core::Currency;

/// A language of the report and the tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

/// The no-break space Russian groups digits with and puts before `%` and a currency sign.
const NBSP: char = '\u{a0}';
/// The minus sign (U+2212), not a hyphen.
const MINUS: char = '\u{2212}';

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// `en` or `ru`: the code of `<html lang>` and of `--lang`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// `en` or `ru` (case-insensitive).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The language of a POSIX locale setting: the first non-empty of `lc_all`, `lc_messages`,
    /// `lang` decides; `ru…`, `uk…`, `be…`, `bg…`, `kk…` → Russian, anything else (`C`, `POSIX`,
    /// `en_US.UTF-8`, `de_DE`, unset) → English.
    pub fn from_locale(lc_all: Option<&str>, lc_messages: Option<&str>, lang: Option<&str>) -> Lang {
        let set = [lc_all, lc_messages, lang].into_iter().flatten().map(str::trim).find(|s| !s.is_empty());
        let primary = set.unwrap_or("").split(['_', '-', '.', '@']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "ru" | "uk" | "be" | "bg" | "kk" => Lang::Ru,
            _ => Lang::En,
        }
    }

    /// [`Lang::from_locale`] of this process's environment.
    pub fn from_env() -> Lang {
        let var = |k: &str| std::env::var(k).ok();
        Lang::from_locale(var("LC_ALL").as_deref(), var("LC_MESSAGES").as_deref(), var("LANG").as_deref())
    }

    /// The text in this language: `l.t("Customers", "Клиенты")`.
    pub fn t<'a>(self, en: &'a str, ru: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Ru => ru,
        }
    }

    fn group_sep(self) -> &'static str {
        match self {
            Lang::En => ",",
            Lang::Ru => "\u{a0}",
        }
    }

    fn decimal_mark(self) -> char {
        match self {
            Lang::En => '.',
            Lang::Ru => ',',
        }
    }

    /// A whole number grouped by thousands: `1,234,567` / `1 234 567`; negative with `−`.
    pub fn count(self, n: i64) -> String {
        let body = group_thousands(&n.unsigned_abs().to_string(), self.group_sep());
        if n < 0 {
            format!("{MINUS}{body}")
        } else {
            body
        }
    }

    /// A number with `decimals` digits after the mark, grouped: `1,234.57` / `1 234,57`.
    pub fn number(self, v: Option<f64>, decimals: usize) -> String {
        let Some(v) = v.filter(|v| v.is_finite()) else { return "—".into() };
        let text = format!("{:.*}", decimals, v.abs());
        let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::new();
        // Rounding can turn -0.004 into "0.00": no minus before a zero.
        if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
            out.push(MINUS);
        }
        out.push_str(&group_thousands(whole, self.group_sep()));
        if !frac.is_empty() {
            out.push(self.decimal_mark());
            out.push_str(frac);
        }
        out
    }

    /// An amount in major units with two decimals, no currency: `1,234.50` / `1 234,50`.
    pub fn money(self, v: Option<f64>) -> String {
        self.number(v, 2)
    }

    /// An amount in major units with the currency's own decimals and its sign or code:
    /// `$1,234.56`, `1,234.56 RUB` / `1 234,56 ₽`, `1 234,56 $`.
    pub fn amount(self, v: Option<f64>, currency: Currency) -> String {
        match v.filter(|v| v.is_finite()) {
            None => "—".into(),
            Some(v) => self.with_currency(self.number(Some(v), currency.minor_digits() as usize), currency),
        }
    }

    /// Minor units with their currency: `123456` RUB → `1 234,56 ₽`.
    pub fn amount_minor(self, minor: i64, currency: Currency) -> String {
        let per = currency.minor_per_major().max(1);
        let digits = currency.minor_digits() as usize;
        let mut body = String::new();
        if minor < 0 {
            body.push(MINUS);
        }
        body.push_str(&group_thousands(&(minor.unsigned_abs() / per as u64).to_string(), self.group_sep()));
        if digits > 0 {
            body.push(self.decimal_mark());
            body.push_str(&format!("{:0digits$}", minor.unsigned_abs() % per as u64));
        }
        self.with_currency(body, currency)
    }

    /// The currency after or before an amount, as each language writes it.
    pub fn with_currency(self, body: String, currency: Currency) -> String {
        match (self, currency.as_str()) {
            (Lang::En, "USD") => format!("${body}"),
            (Lang::En, "EUR") => format!("€{body}"),
            (Lang::En, "GBP") => format!("£{body}"),
            (Lang::Ru, "RUB") => format!("{body}{NBSP}₽"),
            (Lang::Ru, "USD") => format!("{body}{NBSP}$"),
            (Lang::Ru, "EUR") => format!("{body}{NBSP}€"),
            (Lang::Ru, "UAH") => format!("{body}{NBSP}₴"),
            (_, "XXX") => body,
            (_, code) => format!("{body}{NBSP}{code}"),
        }
    }

    /// How a table header or an axis names the currency: `USD` / `₽`.
    pub fn currency_name(self, currency: Currency) -> String {
        match (self, currency.as_str()) {
            (Lang::Ru, "RUB") => "₽".into(),
            (_, code) => code.into(),
        }
    }

    /// A short amount for chart axes and small cells: `950`, `12.5k`, `3.2M` / `12,5 тыс.`,
    /// `3,2 млн`.
    pub fn money_short(self, v: f64) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        let a = v.abs();
        let (scaled, en, ru) = if a >= 1e6 {
            (v / 1e6, "M", "\u{a0}млн")
        } else if a >= 1e3 {
            (v / 1e3, "k", "\u{a0}тыс.")
        } else {
            (v, "", "")
        };
        let decimals = if a >= 1e4 && a < 1e6 || a >= 10.0 && a < 1e3 || a == 0.0 {
            0
        } else if a < 10.0 {
            2
        } else {
            1
        };
        let mut s = format!("{scaled:.decimals$}");
        if s.contains('.') && (en == "k" || en == "M") {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        let s = s.replace('-', "\u{2212}");
        match self {
            Lang::En => format!("{s}{en}"),
            Lang::Ru => format!("{}{ru}", s.replace('.', ",")),
        }
    }

    /// A fraction as a percentage with one decimal: `0.4237` → `42.4%` / `42,4 %`.
    pub fn pct(self, v: Option<f64>) -> String {
        let Some(v) = v.filter(|v| v.is_finite()) else { return "—".into() };
        let n = self.number(Some(v * 100.0), 1);
        match self {
            Lang::En => format!("{n}%"),
            Lang::Ru => format!("{n}{NBSP}%"),
        }
    }

    /// A change of a fraction in percentage points: `+1.2 pp` / `+1,2 п.п.`; `±0.0` when it
    /// rounds to nothing.
    pub fn pp(self, v: Option<f64>) -> String {
        let Some(v) = v.filter(|v| v.is_finite()) else { return "—".into() };
        let pp = v * 100.0;
        let body = if pp.abs() < 0.05 {
            format!("±{}", self.number(Some(0.0), 1))
        } else {
            format!("{}{}", if pp > 0.0 { "+" } else { "" }, self.number(Some(pp), 1))
        };
        match self {
            Lang::En => format!("{body} pp"),
            Lang::Ru => format!("{body}{NBSP}п.п."),
        }
    }

    /// A date: `2026-12-05` / `05.12.2026`.
    pub fn date(self, d: NaiveDate) -> String {
        match self {
            Lang::En => d.format("%Y-%m-%d").to_string(),
            Lang::Ru => d.format("%d.%m.%Y").to_string(),
        }
    }

    /// A date or `—`.
    pub fn date_or_dash(self, d: Option<NaiveDate>) -> String {
        d.map_or_else(|| "—".into(), |d| self.date(d))
    }

    /// Days with one decimal: `12.3 days` / `12,3 дн.`.
    pub fn days(self, v: Option<f64>) -> String {
        match v.filter(|v| v.is_finite()) {
            None => "—".into(),
            Some(_) => match self {
                Lang::En => format!("{} days", self.number(v, 1)),
                Lang::Ru => format!("{}{NBSP}дн.", self.number(v, 1)),
            },
        }
    }

    /// A plain number with two decimals: `0.25` / `0,25`.
    pub fn num(self, v: Option<f64>) -> String {
        self.number(v, 2)
    }

    /// "yes" / "да".
    pub fn yes_no(self, b: bool) -> &'static str {
        match (self, b) {
            (Lang::En, true) => "yes",
            (Lang::En, false) => "no",
            (Lang::Ru, true) => "да",
            (Lang::Ru, false) => "нет",
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        Lang::parse(s).ok_or_else(|| format!("{s:?}: expected en or ru"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn russian_money_numbers_and_dates() {
        // 1234.56 RUB = 123456 kopecks: "1" + no-break space + "234" + comma + "56" + nbsp + "₽".
        assert_eq!(Lang::Ru.amount_minor(123_456, Currency::RUB), "1\u{a0}234,56\u{a0}₽");
        assert_eq!(Lang::Ru.amount(Some(1234.56), Currency::RUB), "1\u{a0}234,56\u{a0}₽");
        assert_eq!(Lang::Ru.amount(Some(1234.56), Currency::USD), "1\u{a0}234,56\u{a0}$");
        assert_eq!(Lang::Ru.count(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(Lang::Ru.count(-1000), "\u{2212}1\u{a0}000");
        assert_eq!(Lang::Ru.money(Some(0.5)), "0,50");
        assert_eq!(Lang::Ru.pct(Some(0.4237)), "42,4\u{a0}%");
        assert_eq!(Lang::Ru.pp(Some(0.012)), "+1,2\u{a0}п.п.");
        assert_eq!(Lang::Ru.pp(Some(-0.0001)), "±0,0\u{a0}п.п.");
        assert_eq!(Lang::Ru.days(Some(12.26)), "12,3\u{a0}дн.");
        assert_eq!(Lang::Ru.date(date(2026, 12, 5)), "05.12.2026");
        assert_eq!(Lang::Ru.money_short(12_600.0), "13\u{a0}тыс.");
        assert_eq!(Lang::Ru.money_short(2_500.0), "2,5\u{a0}тыс.");
        assert_eq!(Lang::Ru.money_short(3_200_000.0), "3,2\u{a0}млн");
    }

    #[test]
    fn english_money_numbers_and_dates() {
        assert_eq!(Lang::En.amount_minor(123_456, Currency::USD), "$1,234.56");
        assert_eq!(Lang::En.amount_minor(123_456, Currency::RUB), "1,234.56\u{a0}RUB");
        assert_eq!(Lang::En.amount_minor(-5, Currency::USD), "$\u{2212}0.05");
        assert_eq!(Lang::En.amount_minor(1500, Currency::new("JPY").unwrap()), "1,500\u{a0}JPY");
        assert_eq!(Lang::En.amount(Some(1234.5), Currency::EUR), "€1,234.50");
        assert_eq!(Lang::En.amount(Some(7.0), Currency::XXX), "7");
        assert_eq!(Lang::En.count(1_234_567), "1,234,567");
        assert_eq!(Lang::En.count(999), "999");
        assert_eq!(Lang::En.number(Some(-0.004), 2), "0.00");
        assert_eq!(Lang::En.number(Some(-1234.5), 2), "\u{2212}1,234.50");
        assert_eq!(Lang::En.pct(Some(0.4237)), "42.4%");
        assert_eq!(Lang::En.pct(Some(f64::NAN)), "—");
        assert_eq!(Lang::En.pp(Some(-0.05)), "\u{2212}5.0 pp");
        assert_eq!(Lang::En.days(Some(12.26)), "12.3 days");
        assert_eq!(Lang::En.date(date(2026, 12, 5)), "2026-12-05");
        assert_eq!(Lang::En.money_short(25_000.0), "25k");
        assert_eq!(Lang::En.money_short(2_500.0), "2.5k");
        assert_eq!(Lang::En.money_short(3_000_000.0), "3M");
        assert_eq!(Lang::En.money_short(950.0), "950");
        assert_eq!(Lang::En.money_short(0.25), "0.25");
    }

    #[test]
    fn language_from_the_locale() {
        assert_eq!(Lang::from_locale(None, None, Some("ru_RU.UTF-8")), Lang::Ru);
        assert_eq!(Lang::from_locale(None, None, Some("uk_UA.UTF-8")), Lang::Ru);
        assert_eq!(Lang::from_locale(None, None, Some("be_BY")), Lang::Ru);
        assert_eq!(Lang::from_locale(None, None, Some("bg_BG.UTF-8")), Lang::Ru);
        assert_eq!(Lang::from_locale(None, None, Some("de_DE.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(None, None, Some("C.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(None, None, None), Lang::En);
        // LC_ALL wins over LANG; an empty LC_ALL does not count.
        assert_eq!(Lang::from_locale(Some("en_US.UTF-8"), None, Some("ru_RU.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(Some(""), Some("ru_RU"), Some("en_GB")), Lang::Ru);
        assert_eq!(Lang::parse("RU"), Some(Lang::Ru));
        assert_eq!("de".parse::<Lang>().unwrap_err(), "\"de\": expected en or ru");
    }
}
