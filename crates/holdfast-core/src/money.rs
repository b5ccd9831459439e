//! Money as integer minor units with an ISO 4217 currency code.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code, three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const RUB: Currency = Currency(*b"RUB");
    pub const UAH: Currency = Currency(*b"UAH");
    pub const BGN: Currency = Currency(*b"BGN");
    /// Used when a file names no currency and the workspace sets none.
    pub const XXX: Currency = Currency(*b"XXX");

    /// Parses a three-letter code, case-insensitively. `None` unless it is three ASCII letters.
    pub fn new(code: &str) -> Option<Self> {
        let b = code.trim().as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        Some(Currency([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()]))
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of digits after the decimal mark (ISO 4217 exponent).
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" | b"XXX" | b"HUF" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" => 3,
            _ => 2,
        }
    }

    /// Minor units in one major unit (100 for most currencies).
    pub fn minor_per_major(&self) -> i64 {
        10i64.pow(self.minor_digits())
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::XXX
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a currency code")))
    }
}

/// An amount of money: integer minor units and a currency. Never `f64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Major units as a float, for printing and JSON only.
    pub fn to_major(&self) -> f64 {
        to_major(self.minor, self.currency)
    }
}

impl fmt::Display for Money {
    /// `1234.50 USD`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", format_minor(self.minor, self.currency), self.currency)
    }
}

/// Minor units to major units as a float (for JSON numbers and charts).
pub fn to_major(minor: i64, currency: Currency) -> f64 {
    minor as f64 / currency.minor_per_major() as f64
}

/// A run of ASCII digits grouped by thousands with `sep`: (`1234567`, `,`) → `1,234,567`. Every
/// way Holdfast writes a number for people (CLI tables, the report, the dashboard, verdicts)
/// groups through this.
pub fn group_thousands(digits: &str, sep: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * sep.len());
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push_str(sep);
        }
        out.push(ch);
    }
    out
}

/// Minor units as a decimal string with the currency's digits, e.g. `-12.05`.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let digits = currency.minor_digits();
    if digits == 0 {
        return minor.to_string();
    }
    let per = currency.minor_per_major() as i128;
    let m = minor as i128;
    let sign = if m < 0 { "-" } else { "" };
    let a = m.abs();
    format!("{sign}{}.{:0width$}", a / per, a % per, width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands("1234567", ","), "1,234,567");
        assert_eq!(group_thousands("123", ","), "123");
        assert_eq!(group_thousands("1234", "\u{a0}"), "1\u{a0}234");
        assert_eq!(group_thousands("", ","), "");
    }

    #[test]
    fn formats_minor_units() {
        assert_eq!(format_minor(123450, Currency::USD), "1234.50");
        assert_eq!(format_minor(-5, Currency::RUB), "-0.05");
        assert_eq!(format_minor(7, Currency::new("jpy").unwrap()), "7");
        assert_eq!(Money::new(1999, Currency::EUR).to_string(), "19.99 EUR");
        assert!((Money::new(1999, Currency::EUR).to_major() - 19.99).abs() < 1e-9);
    }

    #[test]
    fn parses_codes() {
        assert_eq!(Currency::new("rub"), Some(Currency::RUB));
        assert_eq!(Currency::new("RU"), None);
        assert_eq!(Currency::new("R1B"), None);
    }
}
