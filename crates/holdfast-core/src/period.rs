//! Calendar periods cut in the workspace time zone.
//!
//! Instants are `i64` seconds since the Unix epoch, UTC. A [`Period`] is half-open, `[start, end)`,
//! and remembers the local dates it spans so it can be labelled (`1997-01`, `1997-Q1`, `1997`).

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Seconds since the Unix epoch, UTC.
pub type Instant = i64;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// How long a reporting period is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Granularity {
    /// How many periods back the same period of the previous year lies.
    pub fn periods_per_year(self) -> usize {
        match self {
            Granularity::Day => 365,
            Granularity::Week => 52,
            Granularity::Month => 12,
            Granularity::Quarter => 4,
            Granularity::Year => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }

    /// First local date of the period containing `d`.
    pub fn floor(self, d: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => d,
            Granularity::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
            Granularity::Month => d.with_day(1).unwrap_or(d),
            Granularity::Quarter => {
                NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap_or(d)
            }
            Granularity::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
        }
    }

    /// First local date of the period after the one starting at `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => start + Duration::days(1),
            Granularity::Week => start + Duration::days(7),
            Granularity::Month => add_months(start, 1),
            Granularity::Quarter => add_months(start, 3),
            Granularity::Year => add_months(start, 12),
        }
    }

    /// Label of the period starting at `start`: `2024-03-04`, `2024-03`, `2024-Q1`, `2024`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Granularity::Day | Granularity::Week => start.format("%Y-%m-%d").to_string(),
            Granularity::Month => start.format("%Y-%m").to_string(),
            Granularity::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            Granularity::Year => start.year().to_string(),
        }
    }
}

impl FromStr for Granularity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(Granularity::Day),
            "week" | "weekly" => Ok(Granularity::Week),
            "month" | "monthly" => Ok(Granularity::Month),
            "quarter" | "quarterly" => Ok(Granularity::Quarter),
            "year" | "yearly" | "annual" => Ok(Granularity::Year),
            other => Err(format!("{other:?} is not a period (expected day, week, month, quarter or year)")),
        }
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + months as i32;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).unwrap_or(d)
}

/// A half-open interval of instants `[start, end)` with the local dates it spans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    pub start: Instant,
    pub end: Instant,
    pub granularity: Granularity,
    /// First local date in the period.
    pub start_date: NaiveDate,
    /// First local date after the period.
    pub end_date: NaiveDate,
}

impl Period {
    pub fn contains(&self, t: Instant) -> bool {
        self.start <= t && t < self.end
    }

    pub fn label(&self) -> String {
        self.granularity.label(self.start_date)
    }
}

/// Turns instants into local dates and periods in one time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calendar {
    pub tz: Tz,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar { tz: Tz::UTC }
    }
}

impl Calendar {
    pub fn new(tz: Tz) -> Self {
        Calendar { tz }
    }

    /// Parses an IANA zone name such as `Europe/Moscow`.
    pub fn from_name(name: &str) -> Result<Self, String> {
        name.parse::<Tz>()
            .map(Calendar::new)
            .map_err(|_| format!("{name:?} is not an IANA time zone (for example Europe/Moscow or UTC)"))
    }

    /// The local date of an instant.
    pub fn date(&self, t: Instant) -> NaiveDate {
        match self.tz.timestamp_opt(t, 0) {
            LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => dt.date_naive(),
            LocalResult::None => chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive()).unwrap_or_default(),
        }
    }

    /// The instant of local midnight starting `d` (the first valid local time when midnight is skipped).
    pub fn start_of_day(&self, d: NaiveDate) -> Instant {
        self.local_to_instant(d.and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    /// A local wall-clock time to an instant: the earlier one when ambiguous, shifted forward past a gap.
    pub fn local_to_instant(&self, naive: NaiveDateTime) -> Instant {
        let mut n = naive;
        for _ in 0..4 {
            match self.tz.from_local_datetime(&n) {
                LocalResult::Single(dt) => return dt.timestamp(),
                LocalResult::Ambiguous(a, _) => return a.timestamp(),
                LocalResult::None => n += Duration::minutes(30),
            }
        }
        naive.and_utc().timestamp()
    }

    /// The period of the given length that contains `t`.
    pub fn period_containing(&self, g: Granularity, t: Instant) -> Period {
        self.period_starting(g, g.floor(self.date(t)))
    }

    /// The period whose first local date is `start_date` (which must be a period start).
    pub fn period_starting(&self, g: Granularity, start_date: NaiveDate) -> Period {
        let end_date = g.next(start_date);
        Period {
            start: self.start_of_day(start_date),
            end: self.start_of_day(end_date),
            granularity: g,
            start_date,
            end_date,
        }
    }

    /// Consecutive periods from the one containing `from` to the one containing `to - 1`
    /// (none when `to <= from`).
    pub fn periods(&self, g: Granularity, from: Instant, to: Instant) -> Vec<Period> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        let mut p = self.period_containing(g, from);
        while p.start < to {
            out.push(p);
            p = self.period_starting(g, p.end_date);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn months_are_cut_in_the_workspace_zone() {
        let msk = Calendar::from_name("Europe/Moscow").unwrap();
        // 2024-01-31 22:30 UTC is already 2024-02-01 01:30 in Moscow.
        let t = d("2024-01-31").and_hms_opt(22, 30, 0).unwrap().and_utc().timestamp();
        let p = msk.period_containing(Granularity::Month, t);
        assert_eq!(p.label(), "2024-02");
        assert_eq!(p.start, d("2024-01-31").and_hms_opt(21, 0, 0).unwrap().and_utc().timestamp());
        let utc = Calendar::default();
        assert_eq!(utc.period_containing(Granularity::Month, t).label(), "2024-01");
    }

    #[test]
    fn weeks_start_on_monday_and_quarters_label() {
        let c = Calendar::default();
        let t = c.start_of_day(d("2024-03-07")); // a Thursday
        assert_eq!(c.period_containing(Granularity::Week, t).start_date, d("2024-03-04"));
        assert_eq!(c.period_containing(Granularity::Quarter, t).label(), "2024-Q1");
        assert_eq!(c.period_containing(Granularity::Year, t).end_date, d("2025-01-01"));
    }

    #[test]
    fn periods_cover_the_range() {
        let c = Calendar::default();
        let ps = c.periods(Granularity::Month, c.start_of_day(d("1997-01-15")), c.start_of_day(d("1997-04-01")));
        let labels: Vec<_> = ps.iter().map(Period::label).collect();
        assert_eq!(labels, ["1997-01", "1997-02", "1997-03"]);
        assert!(ps.windows(2).all(|w| w[0].end == w[1].start));
    }
}
