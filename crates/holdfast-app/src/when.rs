//! Dates and instants as users write them, and the as-of instant every report is cut at.
//!
//! `METRICS.md`: the as-of instant is exclusive everywhere — only what happened strictly before it
//! counts; a date means that day's local midnight in the workspace time zone.

use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDate};
use holdfast_core::{Calendar, Instant, OrderLog};

/// A date (local midnight in the calendar's zone) or an RFC 3339 instant.
pub fn parse_instant(s: &str, cal: &Calendar) -> Result<Instant, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(cal.start_of_day(d));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    Err(format!("{s:?} is not a date (expected YYYY-MM-DD or RFC 3339, e.g. 2024-07-01)"))
}

/// A month `YYYY-MM` as the instant its first day starts in the calendar's zone.
pub fn parse_month(s: &str, cal: &Calendar) -> Result<Instant, String> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
        .map(|d| cal.start_of_day(d))
        .map_err(|_| format!("{s:?} is not a month (expected YYYY-MM, e.g. 1997-03)"))
}

/// A calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date (expected YYYY-MM-DD, e.g. 1997-10-01)"))
}

/// The as-of instant of a report: `explicit` (a date or an RFC 3339 instant, read in `cal`'s
/// zone) when given, else the local midnight after the last counted order. `what` names the
/// orders in the message when there are none.
pub fn resolve_as_of(explicit: Option<&str>, log: &OrderLog, cal: &Calendar, what: &str) -> Result<Instant> {
    match explicit {
        Some(s) => {
            let t = parse_instant(s, cal).map_err(|e| Error::user(format!("as-of date: {e}")))?;
            // Reports are sized by the span up to as-of: a date centuries away is a typo.
            let range = holdfast_import::DateRange::default().with_future();
            let (lo, hi) = range.instants(cal);
            if t < lo || t >= hi {
                return Err(Error::user(format!("as-of date: {s:?} is outside the dates a report can cover ({} to {})", range.earliest, range.latest)));
            }
            Ok(t)
        }
        None => log.default_as_of(cal).ok_or_else(|| Error::user(format!("{what} has no counted orders: nothing to report"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_months_and_instants() {
        let cal = Calendar::default();
        assert_eq!(parse_instant("1970-01-02", &cal), Ok(86_400));
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00", &cal), Ok(0));
        assert!(parse_instant("02.01.1970", &cal).is_err());
        assert_eq!(parse_month("1970-02", &cal), Ok(31 * 86_400));
        assert!(parse_date("1997-13-01").is_err());
        let moscow = Calendar::from_name("Europe/Moscow").unwrap();
        assert_eq!(parse_instant("1970-01-02", &moscow), Ok(86_400 - 3 * 3600));
    }
}
