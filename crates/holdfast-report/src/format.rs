//! How numbers are written for people in English plain-text tables: thousands separators,
//! percentages, percentage-point changes, money (with an ASCII minus, friendly to copy into a
//! spreadsheet). Missing values (`None`, and anything not finite) are written as `—`, never NaN.
//! Text in a chosen language goes through [`crate::locale::Lang`] instead.

use crate::locale::Lang;

/// `1234567` → `1,234,567`.
pub fn fmt_count(n: i64) -> String {
    let grouped = holdfast_core::money::group_thousands(&n.unsigned_abs().to_string(), ",");
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// A fraction as a percentage with one decimal: `0.4237` → `42.4%` ([`Lang::En`]'s way).
pub fn fmt_pct(v: Option<f64>) -> String {
    Lang::En.pct(v)
}

/// A change of a fraction in percentage points: `0.012` → `+1.2 pp`.
pub fn fmt_pp(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(v) => {
            let pp = v * 100.0;
            if pp.abs() < 0.05 {
                "±0.0 pp".into()
            } else {
                format!("{pp:+.1} pp")
            }
        }
        None => "—".into(),
    }
}

/// An amount in major units with two decimals and thousands separators: `1234.5` → `1,234.50`.
pub fn fmt_money(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(v) => {
            let cents = (v * 100.0).round() as i64;
            let sign = if cents < 0 { "-" } else { "" };
            let a = cents.unsigned_abs();
            format!("{sign}{}.{:02}", fmt_count((a / 100) as i64), a % 100)
        }
        None => "—".into(),
    }
}

/// Minor units as a grouped amount with the currency's own decimals: `3412893` USD →
/// `34,128.93`; 1500 JPY → `1,500`. (CSV and JSON write amounts plain; tables group them.)
pub fn fmt_minor(minor: i64, currency: holdfast_core::Currency) -> String {
    let per = currency.minor_per_major() as i128;
    let (m, digits) = (minor as i128, currency.minor_digits() as usize);
    let sign = if m < 0 { "-" } else { "" };
    let whole = fmt_count(i64::try_from(m.abs() / per).unwrap_or(i64::MAX));
    if digits == 0 {
        return format!("{sign}{whole}");
    }
    format!("{sign}{whole}.{:0digits$}", m.abs() % per)
}

/// A short amount for chart axes: `950`, `12.5k`, `3.2M` ([`Lang::En`]'s way).
pub fn fmt_money_short(v: f64) -> String {
    Lang::En.money_short(v)
}

/// Days with one decimal: `12.26` → `12.3 days` ([`Lang::En`]'s way).
pub fn fmt_days(v: Option<f64>) -> String {
    Lang::En.days(v)
}

/// A plain number with two decimals, or `—`.
pub fn fmt_num(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(v) => format!("{v:.2}"),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_count(1234567), "1,234,567");
        assert_eq!(fmt_count(-1000), "-1,000");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_pct(Some(0.4237)), "42.4%");
        assert_eq!(fmt_pct(Some(f64::NAN)), "—");
        assert_eq!(fmt_pct(None), "—");
        assert_eq!(fmt_pp(Some(0.012)), "+1.2 pp");
        assert_eq!(fmt_pp(Some(-0.05)), "-5.0 pp");
        assert_eq!(fmt_money(Some(1234.5)), "1,234.50");
        assert_eq!(fmt_money(Some(-0.05)), "-0.05");
        assert_eq!(fmt_money_short(25000.0), "25k");
        assert_eq!(fmt_money_short(2500.0), "2.5k");
        assert_eq!(fmt_money_short(3_000_000.0), "3M");
        assert_eq!(fmt_days(Some(12.26)), "12.3 days");
    }
}
