//! Cohort tables of customers and revenue, exactly as `METRICS.md` defines them.
//!
//! A customer's *cohort* is the calendar period (month or quarter) of its first counted order.
//! Cell `(c, k)` of the **customer** table is the share of cohort `c` with at least one counted
//! order in period `c + k` (`k = 0` is 100% by definition). Cell `(c, k)` of the **revenue** table
//! is the revenue of cohort `c` in period `c + k`, also per cohort customer and cumulatively per
//! customer (the cohort's LTV curve). Cells whose period has not ended at the as-of instant are
//! marked incomplete (`complete: false`), never silently shown as a drop.
//!
//! One pass over each customer's orders, parallel over customers; the only allocations are one
//! matrix per worker with a row for each cohort that has customers and a column per period of
//! the data's span (a sparse cohort map: eight orders years apart make eight rows, not a square
//! of every month between them).

use crate::money::to_major;
use crate::order_log::{CustomerIdx, OrderLog};
use crate::period::{Calendar, Granularity, Instant, Period};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

/// What to build cohorts over.
#[derive(Clone, Copy, Debug)]
pub struct CohortOptions {
    /// Cohort and cell length: month or quarter (any granularity works).
    pub granularity: Granularity,
    /// Orders at or after this instant are ignored; cells whose period ends after it are incomplete.
    pub as_of: Instant,
}

/// One cell `(c, k)`: what cohort `c` did in period `c + k`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CohortCell {
    /// `k`: periods since the cohort's own period.
    pub offset: usize,
    /// Label of period `c + k` (`1997-03`).
    pub period: String,
    /// False when period `c + k` has not ended at the as-of instant.
    pub complete: bool,
    /// Cohort customers with at least one counted order in period `c + k`.
    pub customers: u64,
    /// `customers / cohort size`; 1.0 at `k = 0`.
    pub retention: f64,
    /// Revenue of the cohort in period `c + k`, major units.
    pub revenue: f64,
    /// `revenue / cohort size`, major units.
    pub revenue_per_customer: f64,
    /// Revenue of the cohort in periods `c..=c + k` / cohort size: the cohort's LTV curve.
    pub cumulative_revenue_per_customer: f64,
    #[serde(skip)]
    pub revenue_minor: i64,
}

/// One cohort: the customers whose first counted order lies in one period.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Cohort {
    /// `1997-01`, `1997-Q1`.
    pub label: String,
    /// First local date of the cohort's period.
    pub start: NaiveDate,
    /// First local date after it.
    pub end: NaiveDate,
    /// Cohort size: customers whose first counted order lies in the period.
    pub customers: u64,
    /// Cells `k = 0, 1, …` up to the period containing the as-of instant.
    pub cells: Vec<CohortCell>,
}

/// Cohort tables (customers and revenue share one structure: every cell carries both).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CohortTable {
    pub granularity: Granularity,
    pub cohorts: Vec<Cohort>,
}

/// Builds the cohort tables. Deterministic; parallel over customers.
pub fn cohorts(log: &OrderLog, cal: &Calendar, opts: &CohortOptions) -> CohortTable {
    let as_of = opts.as_of;
    // First order before as-of over the whole log.
    let first = (0..log.n_customers() as CustomerIdx).into_par_iter().filter_map(|c| log.times_of(c).first().copied().filter(|&t| t < as_of)).min();
    let periods: Vec<Period> = match first {
        Some(f) => cal.periods(opts.granularity, f, as_of),
        None => Vec::new(),
    };
    let m = periods.len();
    if m == 0 {
        return CohortTable { granularity: opts.granularity, cohorts: Vec::new() };
    }
    let starts: Vec<Instant> = periods.iter().map(|p| p.start).collect();
    let nc = log.n_customers();
    let chunk = (nc / (rayon::current_num_threads() * 8)).max(1024);
    // The cohorts that have customers: a row each, so the tables are sized by the cohorts the
    // data has (at most one per customer) times the span, never span × span.
    let present = (0..nc)
        .into_par_iter()
        .with_min_len(chunk)
        .fold(
            || vec![false; m],
            |mut v, c| {
                if let Some(k) = cohort_of(log, c as CustomerIdx, &starts, as_of) {
                    v[k] = true;
                }
                v
            },
        )
        .reduce(
            || vec![false; m],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x |= y;
                }
                a
            },
        );
    let mut row_of = vec![u32::MAX; m];
    let mut cohort_rows = Vec::new();
    for (k, _) in present.iter().enumerate().filter(|x| *x.1) {
        row_of[k] = cohort_rows.len() as u32;
        cohort_rows.push(k);
    }
    let rows = cohort_rows.len();
    // Flat rows × m matrices indexed [row * m + offset].
    let zero = || (vec![0u64; rows * m], vec![0i64; rows * m]);
    let (active, revenue) = (0..nc)
        .into_par_iter()
        .with_min_len(chunk)
        .fold(zero, |(mut act, mut rev), c| {
            customer_cells(log, c as CustomerIdx, &starts, &row_of, as_of, m, &mut act, &mut rev);
            (act, rev)
        })
        .reduce(zero, |(mut a1, mut r1), (a2, r2)| {
            for (x, y) in a1.iter_mut().zip(&a2) {
                *x += y;
            }
            for (x, y) in r1.iter_mut().zip(&r2) {
                *x += y;
            }
            (a1, r1)
        });
    let currency = log.currency();
    let mut out = Vec::new();
    for (row, &c) in cohort_rows.iter().enumerate() {
        let p = &periods[c];
        let size = active[row * m];
        if size == 0 {
            continue;
        }
        let mut cum = 0i64;
        let cells = (0..m - c)
            .map(|k| {
                let q = &periods[c + k];
                let n = active[row * m + k];
                let r = revenue[row * m + k];
                cum += r;
                CohortCell {
                    offset: k,
                    period: q.label(),
                    complete: q.end <= as_of,
                    customers: n,
                    retention: n as f64 / size as f64,
                    revenue: to_major(r, currency),
                    revenue_per_customer: to_major(r, currency) / size as f64,
                    cumulative_revenue_per_customer: to_major(cum, currency) / size as f64,
                    revenue_minor: r,
                }
            })
            .collect();
        out.push(Cohort { label: p.label(), start: p.start_date, end: p.end_date, customers: size, cells });
    }
    CohortTable { granularity: opts.granularity, cohorts: out }
}

/// The period index of a customer's cohort (its first order's period), when that order is before
/// `as_of`.
fn cohort_of(log: &OrderLog, c: CustomerIdx, starts: &[Instant], as_of: Instant) -> Option<usize> {
    let &first = log.times_of(c).first()?;
    // The last start <= first.
    (first < as_of).then(|| starts.partition_point(|&s| s <= first).saturating_sub(1))
}

/// Adds one customer's orders to the matrices (its cohort's row is `row_of[cohort]`): one pass
/// over its orders, no allocation.
#[allow(clippy::too_many_arguments)]
fn customer_cells(log: &OrderLog, c: CustomerIdx, starts: &[Instant], row_of: &[u32], as_of: Instant, m: usize, act: &mut [u64], rev: &mut [i64]) {
    let times = log.times_of(c);
    let amounts = log.amounts_of(c);
    let Some(cohort) = cohort_of(log, c, starts, as_of) else { return };
    let row = row_of[cohort] as usize * m;
    let mut j = cohort;
    let mut last_j = usize::MAX;
    for (&t, &a) in times.iter().zip(amounts) {
        if t >= as_of {
            break;
        }
        while j + 1 < m && starts[j + 1] <= t {
            j += 1;
        }
        let k = j - cohort;
        if j != last_j {
            act[row + k] += 1;
            last_j = j;
        }
        rev[row + k] += a;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::order_log::OrderLogBuilder;
    use crate::period::DAY;

    fn day(s: &str) -> Instant {
        Calendar::default().start_of_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    /// Hand-computed example, months of 2024, as of 2024-04-15 (April incomplete):
    ///
    /// - a: 01-05 (10.00), 01-20 (5.00), 03-02 (20.00)      cohort 2024-01
    /// - b: 01-31 (40.00), 02-10 (8.00)                      cohort 2024-01
    /// - c: 02-01 (12.00), 04-01 (6.00), 04-20 (99.00)       cohort 2024-02 (04-20 is after as-of)
    /// - d: 05-01 (1.00)                                     after as-of: in no cohort
    ///
    /// Cohort 2024-01 (a, b; size 2):
    ///   k=0 Jan: a, b order → 2/2 = 100%; revenue 10 + 5 + 40 = 55 → 27.50 per customer, cum 27.50
    ///   k=1 Feb: b → 1/2 = 50%; revenue 8 → 4.00, cum 63 / 2 = 31.50
    ///   k=2 Mar: a → 1/2 = 50%; revenue 20 → 10.00, cum 83 / 2 = 41.50
    ///   k=3 Apr: nobody → 0%; revenue 0, cum 41.50; incomplete (April ends 05-01 > as-of)
    /// Cohort 2024-02 (c; size 1): k=0 Feb 100% 12; k=1 Mar 0%; k=2 Apr 100% 6 (incomplete), cum 18.
    /// Cohorts 2024-03 and 2024-04 have nobody and are left out.
    #[test]
    fn hand_computed_months() {
        let mut b = OrderLogBuilder::new(Currency::USD);
        b.push("a", day("2024-01-05"), 1000);
        b.push("a", day("2024-01-20"), 500);
        b.push("a", day("2024-03-02"), 2000);
        b.push("b", day("2024-01-31"), 4000);
        b.push("b", day("2024-02-10"), 800);
        b.push("c", day("2024-02-01"), 1200);
        b.push("c", day("2024-04-01"), 600);
        b.push("c", day("2024-04-20"), 9900);
        b.push("d", day("2024-05-01"), 100);
        let log = b.build();
        let t = cohorts(&log, &Calendar::default(), &CohortOptions { granularity: Granularity::Month, as_of: day("2024-04-15") });
        assert_eq!(t.cohorts.len(), 2);
        let jan = &t.cohorts[0];
        assert_eq!((jan.label.as_str(), jan.customers), ("2024-01", 2));
        let got: Vec<_> = jan
            .cells
            .iter()
            .map(|c| (c.period.as_str(), c.customers, c.retention, c.revenue, c.revenue_per_customer, c.cumulative_revenue_per_customer, c.complete))
            .collect();
        assert_eq!(
            got,
            [
                ("2024-01", 2, 1.0, 55.0, 27.5, 27.5, true),
                ("2024-02", 1, 0.5, 8.0, 4.0, 31.5, true),
                ("2024-03", 1, 0.5, 20.0, 10.0, 41.5, true),
                ("2024-04", 0, 0.0, 0.0, 0.0, 41.5, false),
            ]
        );
        let feb = &t.cohorts[1];
        assert_eq!((feb.label.as_str(), feb.customers), ("2024-02", 1));
        let got: Vec<_> = feb.cells.iter().map(|c| (c.customers, c.revenue, c.cumulative_revenue_per_customer, c.complete)).collect();
        assert_eq!(got, [(1, 12.0, 12.0, true), (0, 0.0, 12.0, true), (1, 6.0, 18.0, false)]);
    }

    /// Quarters in Moscow time: an order at 2024-03-31 22:00 UTC is 2024-04-01 01:00 local, so it
    /// belongs to Q2. a: 2024-01-10, 2024-03-31 22:00 UTC (→ Q2); b: 2024-04-02. As of 2024-07-01
    /// local: cohort Q1 = {a}: k=0 100%, k=1 100%; cohort Q2 = {b}: k=0 100%. All complete.
    #[test]
    fn quarters_in_the_workspace_zone() {
        let cal = Calendar::from_name("Europe/Moscow").unwrap();
        let mut b = OrderLogBuilder::new(Currency::RUB);
        b.push("a", day("2024-01-10"), 100);
        b.push("a", day("2024-03-31") + 22 * 3600, 100);
        b.push("b", day("2024-04-02"), 100);
        let log = b.build();
        let as_of = cal.start_of_day(NaiveDate::from_ymd_opt(2024, 7, 1).unwrap());
        let t = cohorts(&log, &cal, &CohortOptions { granularity: Granularity::Quarter, as_of });
        let got: Vec<_> = t.cohorts.iter().map(|c| (c.label.clone(), c.cells.iter().map(|x| (x.customers, x.complete)).collect::<Vec<_>>())).collect();
        assert_eq!(got, [("2024-Q1".to_string(), vec![(1, true), (1, true)]), ("2024-Q2".to_string(), vec![(1, true)])]);
    }

    proptest::proptest! {
        /// Every cell against the definition, brute force over random orders and as-of instants.
        #[test]
        fn cells_match_the_definition(
            orders in proptest::collection::vec((0u8..30, 0u32..1200, 1i64..10_000), 1..150),
            cut in 0u32..1300,
            quarter in proptest::bool::ANY,
        ) {
            let cal = Calendar::default();
            let t0 = day("2020-01-01");
            let mut b = OrderLogBuilder::new(Currency::USD);
            for &(c, d, a) in &orders {
                b.push(&format!("c{c}"), t0 + d as i64 * DAY + (c as i64 * 3607) % DAY, a);
            }
            let log = b.build();
            let g = if quarter { Granularity::Quarter } else { Granularity::Month };
            let as_of = t0 + cut as i64 * DAY;
            let t = cohorts(&log, &cal, &CohortOptions { granularity: g, as_of });
            let period = |x: Instant| cal.period_containing(g, x).start_date;
            let mut seen = 0;
            for co in &t.cohorts {
                for cell in &co.cells {
                    let q = cal.period_starting(g, cal.periods(g, cal.start_of_day(co.start), as_of)[cell.offset].start_date);
                    let (mut n, mut size, mut rev) = (0u64, 0u64, 0i64);
                    for c in 0..log.n_customers() as u32 {
                        let ts = log.times_of(c);
                        let Some(&f) = ts.first().filter(|&&f| f < as_of) else { continue };
                        if period(f) != co.start {
                            continue;
                        }
                        size += 1;
                        let mut any = false;
                        for (&x, &a) in ts.iter().zip(log.amounts_of(c)) {
                            if x < as_of && q.contains(x) {
                                any = true;
                                rev += a;
                            }
                        }
                        n += any as u64;
                    }
                    proptest::prop_assert_eq!((co.customers, cell.customers, cell.revenue_minor), (size, n, rev));
                    proptest::prop_assert_eq!(cell.complete, q.end <= as_of);
                }
                seen += co.customers;
            }
            let customers = (0..log.n_customers() as u32).filter(|&c| log.times_of(c)[0] < as_of).count() as u64;
            proptest::prop_assert_eq!(seen, customers);
        }
    }

    /// Two customers 8,000 years apart (a date nobody checked): the table has a row per cohort
    /// with customers, two rows of up to 96,000 months, where a square of every month between
    /// them took 73 GB. a: 2024-01-05 and 2024-03-01; b: 9999-12-31, as of 10000-01-01.
    #[test]
    fn far_apart_cohorts_are_two_rows() {
        let mut b = OrderLogBuilder::new(Currency::USD);
        b.push("a", day("2024-01-05"), 1000);
        b.push("a", day("2024-03-01"), 500);
        b.push("b", day("9999-12-31"), 700);
        let log = b.build();
        let as_of = log.default_as_of(&Calendar::default()).expect("as of");
        let t = cohorts(&log, &Calendar::default(), &CohortOptions { granularity: Granularity::Month, as_of });
        let months = (9999 - 2024) * 12 + 12;
        assert_eq!(t.cohorts.iter().map(|c| (c.label.as_str(), c.cells.len())).collect::<Vec<_>>(), [("2024-01", months), ("9999-12", 1)]);
        let a = &t.cohorts[0];
        assert_eq!((a.cells[2].customers, a.cells[2].revenue, a.cells[3].customers), (1, 5.0, 0));
        assert_eq!((t.cohorts[1].customers, t.cohorts[1].cells[0].revenue), (1, 7.0));
    }

    #[test]
    fn empty_log_has_no_cohorts() {
        let log = OrderLogBuilder::new(Currency::USD).build();
        let t = cohorts(&log, &Calendar::default(), &CohortOptions { granularity: Granularity::Month, as_of: 0 });
        assert!(t.cohorts.is_empty());
    }
}
