//! The RFM summary the models fit on: per customer `x` (repeat purchase occasions), `t_x`
//! (recency: first to last occasion), `T` (age: first occasion to the end of calibration) and `m`
//! (mean value of the repeat occasions), in days or weeks; compressed to distinct rows with weights.
//!
//! Orders are grouped into *purchase occasions*: every order placed on the same local day (cut in
//! the workspace zone by [`Calendar`]) is one occasion, its value the sum of the orders. This is
//! what lifetimes' `summary_data_from_transaction_data` does with daily frequency, so summaries
//! written here can be compared with lifetimes, BTYD and PyMC-Marketing directly.

use crate::csvtext::{self, CsvError};
use chrono::{Datelike, NaiveDate};
use holdfast_core::{Calendar, Currency, OrderLog};
use serde::Serialize;
use std::fmt::Write;

/// The time unit of `t_x` and `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Day,
    Week,
}

impl TimeUnit {
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
        }
    }

    /// Units in an average month (365.25 / 12 days).
    pub fn per_month(self) -> f64 {
        365.25 / 12.0 / self.days()
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "day" | "days" | "d" => Ok(TimeUnit::Day),
            "week" | "weeks" | "w" => Ok(TimeUnit::Week),
            o => Err(format!("{o:?} is not a time unit (expected day or week)")),
        }
    }
}

/// One customer's RFM summary.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RfmRow {
    /// `x`: repeat purchase occasions (occasions after the first).
    pub frequency: u32,
    /// `t_x`: time from the first to the last occasion (0 when `x = 0`).
    pub recency: f64,
    /// `T`: time from the first occasion to the end of calibration.
    #[serde(rename = "T")]
    pub t: f64,
    /// `m`: mean value of the repeat occasions in major units (0 when `x = 0` or unknown).
    pub monetary_value: f64,
}

/// RFM summaries of a set of customers in one time unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub unit: TimeUnit,
    pub customer_ids: Vec<String>,
    pub rows: Vec<RfmRow>,
    /// Whether `monetary_value` was known (from orders, or a column in the file).
    pub has_monetary: bool,
}

/// Distinct `(x, t_x, T)` rows with the number of customers sharing each: what fits iterate over.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compressed {
    pub x: Vec<u32>,
    pub t_x: Vec<f64>,
    pub t: Vec<f64>,
    pub weight: Vec<f64>,
}

impl Compressed {
    /// Builds from per-customer rows (weights 1), merging equal rows. Deterministic.
    pub fn from_rows(rows: impl IntoIterator<Item = (u32, f64, f64, f64)>) -> Compressed {
        let mut v: Vec<(u32, f64, f64, f64)> = rows.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)));
        let mut c = Compressed::default();
        for (x, tx, t, w) in v {
            c.push_merged(x, tx, t, w);
        }
        c
    }

    /// Appends a row, or adds its weight to the last row when that is the same `(x, t_x, T)` (rows
    /// come in sorted order); returns the row's index.
    fn push_merged(&mut self, x: u32, tx: f64, t: f64, w: f64) -> usize {
        let n = self.x.len();
        if n > 0 && self.x[n - 1] == x && self.t_x[n - 1] == tx && self.t[n - 1] == t {
            self.weight[n - 1] += w;
            return n - 1;
        }
        self.x.push(x);
        self.t_x.push(tx);
        self.t.push(t);
        self.weight.push(w);
        n
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Number of customers (sum of weights).
    pub fn customers(&self) -> f64 {
        self.weight.iter().sum()
    }

    pub fn max_x(&self) -> u32 {
        self.x.iter().copied().max().unwrap_or(0)
    }

    /// Every `k`-th row with its weight times `k`: a stratified sample (rows are sorted by
    /// `(x, t_x, T)`) standing for about as many customers, for warm starts on large data.
    pub fn thin(&self, k: usize) -> Compressed {
        let k = k.max(1);
        let pick = |v: &[f64]| v.iter().step_by(k).copied().collect::<Vec<f64>>();
        Compressed { x: self.x.iter().step_by(k).copied().collect(), t_x: pick(&self.t_x), t: pick(&self.t), weight: self.weight.iter().step_by(k).map(|w| w * k as f64).collect() }
    }
}

/// The distinct times of compressed rows, with each row's `t_x` and `T` as indices into them: a
/// likelihood takes `ln(c + t)` once per distinct time (a few thousand in days) instead of twice
/// per row.
pub(crate) struct TimeTable {
    pub values: Vec<f64>,
    pub at_tx: Vec<u32>,
    pub at_t: Vec<u32>,
}

impl TimeTable {
    pub fn new(d: &Compressed) -> TimeTable {
        let mut values: Vec<f64> = d.t_x.iter().chain(&d.t).copied().collect();
        values.sort_unstable_by(f64::total_cmp);
        values.dedup();
        let at = |t: &f64| values.partition_point(|v| v < t) as u32;
        let at_tx = d.t_x.iter().map(at).collect();
        let at_t = d.t.iter().map(at).collect();
        TimeTable { values, at_tx, at_t }
    }

    /// `ln(c + t)` for every distinct time.
    pub fn ln_plus(&self, c: f64) -> Vec<f64> {
        self.values.iter().map(|t| (c + t).ln()).collect()
    }
}

/// Orders grouped into purchase occasions per customer (one per local day), the common input of
/// summaries, holdout counts and the tracking plot.
#[derive(Clone, Debug)]
pub struct Occasions {
    pub customer_ids: Vec<String>,
    /// `offsets[c]..offsets[c + 1]` are customer `c`'s occasions.
    pub offsets: Vec<usize>,
    /// Local day number of each occasion (days since 0001-01-01), ascending per customer.
    pub day: Vec<i64>,
    /// Value of each occasion in major units.
    pub value: Vec<f64>,
    pub currency: Currency,
}

/// The day number of a local date.
pub fn day_number(d: NaiveDate) -> i64 {
    d.num_days_from_ce() as i64
}

/// The local date of a day number.
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day).ok()?)
}

impl Occasions {
    pub fn from_log(log: &OrderLog, cal: &Calendar) -> Occasions {
        let per_major = log.currency().minor_per_major() as f64;
        let mut o = Occasions {
            customer_ids: log.customer_ids().to_vec(),
            offsets: Vec::with_capacity(log.n_customers() + 1),
            day: Vec::with_capacity(log.n_orders()),
            value: Vec::with_capacity(log.n_orders()),
            currency: log.currency(),
        };
        o.offsets.push(0);
        for c in 0..log.n_customers() as u32 {
            let start = o.day.len();
            for (&t, &a) in log.times_of(c).iter().zip(log.amounts_of(c)) {
                let d = day_number(cal.date(t));
                if o.day.len() > start && o.day[o.day.len() - 1] == d {
                    *o.value.last_mut().expect("an occasion was pushed") += a as f64 / per_major;
                } else {
                    o.day.push(d);
                    o.value.push(a as f64 / per_major);
                }
            }
            o.offsets.push(o.day.len());
        }
        o
    }

    pub fn n_customers(&self) -> usize {
        self.customer_ids.len()
    }

    pub fn days_of(&self, c: usize) -> &[i64] {
        &self.day[self.offsets[c]..self.offsets[c + 1]]
    }

    pub fn values_of(&self, c: usize) -> &[f64] {
        &self.value[self.offsets[c]..self.offsets[c + 1]]
    }

    /// The summary at the end of local day `end` (inclusive): customers whose first occasion is on
    /// or before it, in log order. Also returns each kept customer's index in this `Occasions`.
    pub fn summary(&self, end: NaiveDate, unit: TimeUnit) -> (Summary, Vec<usize>) {
        let end = day_number(end);
        let k = unit.days();
        let mut s = Summary { unit, customer_ids: Vec::new(), rows: Vec::new(), has_monetary: true };
        let mut kept = Vec::new();
        for c in 0..self.n_customers() {
            let days = self.days_of(c);
            let n = days.partition_point(|&d| d <= end);
            if n == 0 {
                continue;
            }
            let first = days[0];
            let repeat = &self.values_of(c)[1..n];
            let m = if repeat.is_empty() { 0.0 } else { repeat.iter().sum::<f64>() / repeat.len() as f64 };
            s.customer_ids.push(self.customer_ids[c].clone());
            s.rows.push(RfmRow {
                frequency: (n - 1) as u32,
                recency: (days[n - 1] - first) as f64 / k,
                t: (end - first) as f64 / k,
                monetary_value: m,
            });
            kept.push(c);
        }
        (s, kept)
    }

    /// Repeat occasions of customer `c` after local day `from` up to and including day `to`.
    pub fn count_between(&self, c: usize, from: NaiveDate, to: NaiveDate) -> u32 {
        let (a, b) = (day_number(from), day_number(to));
        self.days_of(c).iter().filter(|&&d| d > a && d <= b).count() as u32
    }

    /// First and last occasion day over all customers.
    pub fn day_range(&self) -> Option<(i64, i64)> {
        let lo = (0..self.n_customers()).filter_map(|c| self.days_of(c).first().copied()).min()?;
        let hi = (0..self.n_customers()).filter_map(|c| self.days_of(c).last().copied()).max()?;
        Some((lo, hi))
    }
}

impl Summary {
    /// The summary of an order log at the end of local day `end` (inclusive) in `unit`.
    pub fn from_orders(log: &OrderLog, cal: &Calendar, end: NaiveDate, unit: TimeUnit) -> Summary {
        Occasions::from_log(log, cal).summary(end, unit).0
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Distinct `(x, t_x, T)` rows with weights.
    pub fn compress(&self) -> Compressed {
        self.compress_indexed().0
    }

    /// Distinct `(x, t_x, T)` rows with weights, and for each customer the index of their row.
    pub fn compress_indexed(&self) -> (Compressed, Vec<u32>) {
        // Integer keys: the bits of non-negative floats (−0 made +0) order as the floats do.
        let bits = |v: f64| (v + 0.0).to_bits();
        let mut order: Vec<(u32, u64, u64, u32)> = self.rows.iter().enumerate().map(|(i, r)| (r.frequency, bits(r.recency), bits(r.t), i as u32)).collect();
        order.sort_unstable();
        let key = |i: u32| {
            let r = &self.rows[i as usize];
            (r.frequency, r.recency, r.t)
        };
        let order = order.into_iter().map(|k| k.3);
        let mut c = Compressed::default();
        let mut row_of = vec![0u32; self.rows.len()];
        for i in order {
            let (x, tx, t) = key(i);
            row_of[i as usize] = c.push_merged(x, tx, t, 1.0) as u32;
        }
        (c, row_of)
    }

    /// Reads the `frequency,recency,T[,monetary_value]` CSV (or `x,t_x,T[,m]`), one row per
    /// customer, with an optional `customer_id` column (else customers are numbered from 1).
    pub fn parse_csv(text: &str, unit: TimeUnit) -> Result<Summary, CsvError> {
        let t = csvtext::parse(text, "frequency,recency,T,monetary_value")?;
        let fx = t.require("frequency", &["frequency", "x"])?;
        let fr = t.require("recency", &["recency", "t_x"])?;
        let ft = t.require("T (age)", &["t", "age"])?;
        let fm = t.find(&["monetary_value", "m", "monetary"]);
        let fid = t.find(&["customer_id", "customer", "id"]);
        let mut s = Summary { unit, customer_ids: Vec::with_capacity(t.len()), rows: Vec::with_capacity(t.len()), has_monetary: fm.is_some() };
        for (line, f) in t.rows() {
            let x = t.count(line, f, fx)?;
            let rec = t.number(line, f, fr, "a number ≥ 0")?;
            let age = t.number(line, f, ft, "a number ≥ 0")?;
            let m = match fm {
                Some(k) => t.number(line, f, k, "an amount ≥ 0")?,
                None => 0.0,
            };
            if rec < 0.0 || age < 0.0 || m < 0.0 {
                return Err(CsvError::BadRow { line, message: "recency, T and monetary_value must not be negative".into() });
            }
            if rec > age + 1e-9 {
                return Err(CsvError::BadRow { line, message: format!("recency {rec} is after T {age} (recency must be at most T)") });
            }
            if x == 0 && rec != 0.0 {
                return Err(CsvError::BadRow { line, message: format!("frequency is 0 but recency is {rec} (a customer with no repeat purchase has recency 0)") });
            }
            if x > 0 && fm.is_some() && m <= 0.0 {
                return Err(CsvError::BadRow { line, message: "a repeat customer needs monetary_value > 0".into() });
            }
            let id = match fid {
                Some(k) => f.get(k).copied().unwrap_or("").to_string(),
                None => (s.rows.len() + 1).to_string(),
            };
            s.customer_ids.push(id);
            s.rows.push(RfmRow { frequency: x, recency: rec, t: age, monetary_value: m });
        }
        if s.rows.is_empty() {
            return Err(CsvError::NoRows);
        }
        Ok(s)
    }

    /// Writes `customer_id,frequency,recency,T,monetary_value` (shortest exact decimal values).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("customer_id,frequency,recency,T,monetary_value\n");
        for (id, r) in self.customer_ids.iter().zip(&self.rows) {
            let _ = writeln!(out, "{},{},{},{},{}", csv_field(id), r.frequency, r.recency, r.t, r.monetary_value);
        }
        out
    }

    /// Repeat customers' `(x, m)` for the spend model.
    pub fn spend(&self) -> Vec<(u32, f64)> {
        self.rows.iter().filter(|r| r.frequency > 0 && r.monetary_value > 0.0).map(|r| (r.frequency, r.monetary_value)).collect()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::OrderLogBuilder;

    fn at(cal: &Calendar, s: &str, h: u32) -> i64 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        cal.local_to_instant(d.and_hms_opt(h, 0, 0).unwrap())
    }

    #[test]
    fn occasions_are_local_days_and_summary_is_hand_computed() {
        let cal = Calendar::from_name("Europe/Moscow").unwrap();
        let mut b = OrderLogBuilder::new(Currency::USD);
        // Customer a: 2024-01-01 10:00 and 23:00 (one occasion, 30 + 20), 2024-01-08 (15),
        // 2024-01-15 (25), and 2024-02-01 (after calibration).
        b.push("a", at(&cal, "2024-01-01", 10), 3000);
        b.push("a", at(&cal, "2024-01-01", 23), 2000);
        b.push("a", at(&cal, "2024-01-08", 12), 1500);
        b.push("a", at(&cal, "2024-01-15", 1), 2500);
        b.push("a", at(&cal, "2024-02-01", 9), 999);
        // Customer b: one order on 2024-01-29; c: first order after the end.
        b.push("b", at(&cal, "2024-01-29", 12), 700);
        b.push("c", at(&cal, "2024-02-03", 12), 700);
        let log = b.build();
        let end = NaiveDate::from_ymd_opt(2024, 1, 29).unwrap();
        let s = Summary::from_orders(&log, &cal, end, TimeUnit::Week);
        // a: x = 2 (Jan 8, Jan 15), t_x = 14 days = 2 weeks, T = 28 days = 4 weeks,
        //    m = (15 + 25) / 2 = 20 (the first occasion's 50 is not a repeat).
        assert_eq!(s.customer_ids, ["a", "b"]);
        assert_eq!(s.rows[0], RfmRow { frequency: 2, recency: 2.0, t: 4.0, monetary_value: 20.0 });
        assert_eq!(s.rows[1], RfmRow { frequency: 0, recency: 0.0, t: 0.0, monetary_value: 0.0 });
        let o = Occasions::from_log(&log, &cal);
        assert_eq!(o.count_between(0, end, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()), 1);
        // Round trip through the CSV.
        let back = Summary::parse_csv(&s.to_csv(), TimeUnit::Week).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn compression_merges_equal_rows() {
        let c = Compressed::from_rows([(1, 2.0, 5.0, 1.0), (0, 0.0, 5.0, 1.0), (1, 2.0, 5.0, 1.0)]);
        assert_eq!(c.x, [0, 1]);
        assert_eq!(c.weight, [1.0, 2.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = Summary::parse_csv("x,t_x,T\n1,2,3\n1,abc,3\n", TimeUnit::Week).unwrap_err();
        assert_eq!(e.to_string(), "line 3, column 2 (t_x): \"abc\" is not a number ≥ 0");
        let e = Summary::parse_csv("frequency,recency,T\n1.5,2,3\n", TimeUnit::Week).unwrap_err();
        assert!(e.to_string().starts_with("line 2, column 1 (frequency)"), "{e}");
        let e = Summary::parse_csv("frequency,recency,T\n1,4,3\n", TimeUnit::Week).unwrap_err();
        assert!(e.to_string().contains("at most T"), "{e}");
        let e = Summary::parse_csv("frequency,T\n", TimeUnit::Week).unwrap_err();
        assert!(e.to_string().contains("no recency column"), "{e}");
    }
}
