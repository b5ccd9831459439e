//! Period movement: start, end, new, reactivated, lost and kept customers per period, and the
//! rates built from them, exactly as `METRICS.md` defines them.
//!
//! A customer is active at instant `t` when its last counted order strictly before `t` lies in
//! `[t - W, t)`. For a period `[p0, p1)`: `S` = active at `p0`, `E` = active at `p1`, `N` = active
//! at `p1` with the first order in the period, `R` = active at `p1`, not at `p0`, first order before
//! `p0`, `L` = active at `p0` and not at `p1`, `K` = active at both. `E = S - L + N + R`, `K = S - L`.

use crate::money::to_major;
use crate::order_log::{CustomerIdx, OrderLog};
use crate::period::{Calendar, Granularity, Instant, Period, DAY};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

/// What to compute movement over.
#[derive(Clone, Copy, Debug)]
pub struct MovementOptions {
    pub granularity: Granularity,
    /// The inactivity window `W` in days (default 365).
    pub window_days: u32,
    /// The analysis instant: orders at or after it are ignored; the last period ends here when it
    /// would end later (and is then marked incomplete).
    pub as_of: Instant,
    /// First period: the one containing this instant (default: the first order's period).
    pub from: Option<Instant>,
    /// Last period: the one containing this instant (default: the period containing `as_of - 1`).
    pub to: Option<Instant>,
}

/// Movement and order figures of one period.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PeriodMovement {
    /// First local date of the period, `YYYY-MM-DD`.
    pub start: NaiveDate,
    /// First local date after the period.
    pub end: NaiveDate,
    /// `1997-01`, `1997-Q1`, `1997`.
    pub label: String,
    /// False when the as-of instant falls inside the period: `E` is then taken at the as-of instant.
    pub complete: bool,
    pub active_start: u64,
    pub active_end: u64,
    pub new: u64,
    pub reactivated: u64,
    pub lost: u64,
    pub kept: u64,
    /// Customers whose first order lies in the period (differs from `new` only when `W` is
    /// shorter than the period).
    pub acquired: u64,
    /// Counted orders in the period.
    pub orders: u64,
    /// Distinct customers with a counted order in the period.
    pub ordering_customers: u64,
    /// Revenue in major units.
    pub revenue: f64,
    /// Revenue of repeat orders (every order but a customer's first), major units.
    pub returning_revenue: f64,
    /// `K / S`; null when `S = 0`.
    pub retention_rate: Option<f64>,
    /// `L / S`; null when `S = 0`.
    pub churn_rate: Option<f64>,
    /// `E / S` as the articles quote it; hides movement (losing 21 and winning 20 looks like losing 1).
    pub simple_retention_ratio: Option<f64>,
    /// Revenue / orders, major units; null without orders.
    pub aov: Option<f64>,
    /// Orders / ordering customers; null without orders.
    pub purchase_frequency: Option<f64>,
    /// Repeat-order revenue / revenue; null without revenue.
    pub returning_revenue_share: Option<f64>,
    /// Change of `retention_rate` against the previous period (fraction points).
    pub retention_rate_change_previous: Option<f64>,
    /// Change of `retention_rate` against the same period a year earlier.
    pub retention_rate_change_year_ago: Option<f64>,
    pub churn_rate_change_previous: Option<f64>,
    pub churn_rate_change_year_ago: Option<f64>,
    pub simple_retention_ratio_change_previous: Option<f64>,
    pub simple_retention_ratio_change_year_ago: Option<f64>,
    #[serde(skip)]
    pub revenue_minor: i64,
    #[serde(skip)]
    pub returning_revenue_minor: i64,
}

/// Movement over consecutive periods.
#[derive(Clone, Debug, Serialize)]
pub struct Movement {
    pub granularity: Granularity,
    pub window_days: u32,
    pub periods: Vec<PeriodMovement>,
    /// Plain-language warnings about how to read the figures.
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Default)]
struct Acc {
    s: u64,
    e: u64,
    n: u64,
    r: u64,
    l: u64,
    k: u64,
    acquired: u64,
    orders: u64,
    ordering: u64,
    revenue: i64,
    returning: i64,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.s += o.s;
        self.e += o.e;
        self.n += o.n;
        self.r += o.r;
        self.l += o.l;
        self.k += o.k;
        self.acquired += o.acquired;
        self.orders += o.orders;
        self.ordering += o.ordering;
        self.revenue += o.revenue;
        self.returning += o.returning;
    }
}

/// Whether a customer with ascending order `times` is active at instant `b` with window `w` seconds.
pub fn is_active(times: &[Instant], b: Instant, w: i64) -> bool {
    let k = times.partition_point(|&t| t < b);
    k > 0 && times[k - 1] >= b - w
}

/// The periods movement is reported over, and their boundaries (the last clipped to `as_of`).
pub fn movement_periods(log: &OrderLog, cal: &Calendar, opts: &MovementOptions) -> Vec<Period> {
    let first = match (opts.from, log.time_range()) {
        (Some(f), _) => f,
        (None, Some((lo, _))) => lo,
        (None, None) => return Vec::new(),
    };
    let last = opts.to.unwrap_or(opts.as_of - 1).min(opts.as_of - 1);
    if last < first {
        return Vec::new();
    }
    cal.periods(opts.granularity, first, last + 1)
}

/// Computes period movement over the log. Deterministic; parallel over customers.
pub fn movement(log: &OrderLog, cal: &Calendar, opts: &MovementOptions) -> Movement {
    let periods = movement_periods(log, cal, opts);
    let w = opts.window_days as i64 * DAY;
    let m = periods.len();
    // Boundaries b[0..=m]; the last one clipped to as-of.
    let mut bounds: Vec<Instant> = periods.iter().map(|p| p.start).collect();
    if let Some(p) = periods.last() {
        bounds.push(p.end.min(opts.as_of));
    }
    let nc = log.n_customers();
    let chunk = (nc / (rayon::current_num_threads() * 8)).max(1024);
    let accs = (0..nc)
        .into_par_iter()
        .with_min_len(chunk)
        .fold(
            || vec![Acc::default(); m],
            |mut acc, c| {
                if m > 0 {
                    customer_movement(log, c as CustomerIdx, &bounds, w, opts.as_of, &mut acc);
                }
                acc
            },
        )
        .reduce(
            || vec![Acc::default(); m],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.add(y);
                }
                a
            },
        );
    let currency = log.currency();
    let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
    let mut out: Vec<PeriodMovement> = periods
        .iter()
        .zip(&accs)
        .map(|(p, a)| PeriodMovement {
            start: p.start_date,
            end: p.end_date,
            label: p.label(),
            complete: p.end <= opts.as_of,
            active_start: a.s,
            active_end: a.e,
            new: a.n,
            reactivated: a.r,
            lost: a.l,
            kept: a.k,
            acquired: a.acquired,
            orders: a.orders,
            ordering_customers: a.ordering,
            revenue: to_major(a.revenue, currency),
            returning_revenue: to_major(a.returning, currency),
            retention_rate: ratio(a.k, a.s),
            churn_rate: ratio(a.l, a.s),
            simple_retention_ratio: ratio(a.e, a.s),
            aov: (a.orders > 0).then(|| to_major(a.revenue, currency) / a.orders as f64),
            purchase_frequency: ratio(a.orders, a.ordering),
            returning_revenue_share: (a.revenue != 0).then(|| a.returning as f64 / a.revenue as f64),
            retention_rate_change_previous: None,
            retention_rate_change_year_ago: None,
            churn_rate_change_previous: None,
            churn_rate_change_year_ago: None,
            simple_retention_ratio_change_previous: None,
            simple_retention_ratio_change_year_ago: None,
            revenue_minor: a.revenue,
            returning_revenue_minor: a.returning,
        })
        .collect();
    let year = opts.granularity.periods_per_year();
    for j in 0..out.len() {
        let diff = |f: fn(&PeriodMovement) -> Option<f64>, back: usize| -> Option<f64> {
            let prev = out.get(j.checked_sub(back)?)?;
            Some(f(&out[j])? - f(prev)?)
        };
        let rr_p = diff(|p| p.retention_rate, 1);
        let rr_y = diff(|p| p.retention_rate, year);
        let ch_p = diff(|p| p.churn_rate, 1);
        let ch_y = diff(|p| p.churn_rate, year);
        let sr_p = diff(|p| p.simple_retention_ratio, 1);
        let sr_y = diff(|p| p.simple_retention_ratio, year);
        let p = &mut out[j];
        p.retention_rate_change_previous = rr_p;
        p.retention_rate_change_year_ago = rr_y;
        p.churn_rate_change_previous = ch_p;
        p.churn_rate_change_year_ago = ch_y;
        p.simple_retention_ratio_change_previous = sr_p;
        p.simple_retention_ratio_change_year_ago = sr_y;
    }
    let mut warnings = Vec::new();
    if let Some(p) = periods.first() {
        if w < p.end - p.start {
            warnings.push(format!(
                "The inactivity window ({} days) is shorter than a {}: a customer can join and lapse within one period, so \"acquired\" can exceed \"new\".",
                opts.window_days, opts.granularity
            ));
        }
    }
    if out.last().is_some_and(|p| !p.complete) {
        warnings.push("The last period has not ended at the as-of date: its end figures are taken at the as-of date.".into());
    }
    Movement { granularity: opts.granularity, window_days: opts.window_days, periods: out, warnings }
}

fn customer_movement(log: &OrderLog, c: CustomerIdx, bounds: &[Instant], w: i64, as_of: Instant, acc: &mut [Acc]) {
    let all = log.times_of(c);
    let n = all.partition_point(|&t| t < as_of);
    let times = &all[..n];
    let Some(&first) = times.first() else { return };
    let last = times[n - 1];
    let amounts = &log.amounts_of(c)[..n];
    let m = acc.len();
    // Orders per period.
    let mut last_period = usize::MAX;
    let mut j = bounds.partition_point(|&b| b <= first).saturating_sub(1);
    for (i, (&t, &a)) in times.iter().zip(amounts).enumerate() {
        if t < bounds[0] {
            continue;
        }
        while j + 1 < bounds.len() && bounds[j + 1] <= t {
            j += 1;
        }
        if j >= m {
            break;
        }
        let x = &mut acc[j];
        x.orders += 1;
        x.revenue += a;
        if i > 0 {
            x.returning += a;
        }
        if last_period != j {
            x.ordering += 1;
            last_period = j;
        }
    }
    // Activity at each boundary; nothing can change after last + W.
    let j0 = bounds.partition_point(|&b| b <= first).saturating_sub(1);
    let mut k = 0usize; // times[..k] < b
    let mut prev_active = false;
    for jb in j0..bounds.len() {
        let b = bounds[jb];
        while k < n && times[k] < b {
            k += 1;
        }
        let active = k > 0 && times[k - 1] >= b - w;
        if jb > 0 && jb - 1 < m {
            let p = jb - 1;
            let (p0, p1) = (bounds[p], b);
            let s = prev_active;
            let first_in = p0 <= first && first < p1;
            let x = &mut acc[p];
            x.s += s as u64;
            x.e += active as u64;
            x.n += (active && first_in) as u64;
            x.r += (active && !s && first < p0) as u64;
            x.l += (s && !active) as u64;
            x.k += (s && active) as u64;
            x.acquired += first_in as u64;
        }
        prev_active = active;
        if b > last + w && !active {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
