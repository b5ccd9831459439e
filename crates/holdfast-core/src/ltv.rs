//! Historical LTV, as `METRICS.md` defines it: a customer's sum of counted order amounts to date
//! (orders strictly before the as-of instant). Workspace figures: mean and median over customers,
//! and the distribution as histogram buckets of round width.

use crate::money::{format_minor, to_major, Currency};
use crate::order_log::{CustomerIdx, OrderLog};
use crate::period::Instant;
use rayon::prelude::*;
use serde::Serialize;

/// What to compute historical LTV over.
#[derive(Clone, Copy, Debug)]
pub struct LtvOptions {
    /// Orders at or after this instant are ignored.
    pub as_of: Instant,
    /// About how many buckets the distribution has (plus one open-ended bucket for the tail).
    pub buckets: usize,
}

/// One histogram bucket `[from, to)` of customers' historical LTV, major units.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LtvBucket {
    /// Lower bound; null for the first bucket (which also holds anything below zero).
    pub from: Option<f64>,
    /// Upper bound (exclusive); null for the last, open-ended bucket.
    pub to: Option<f64>,
    /// `0–50`, `50–100`, `1000+`.
    pub label: String,
    pub customers: u64,
    /// `customers / all customers`.
    pub share: f64,
}

/// Historical LTV over the customers with at least one counted order before the as-of instant.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HistoricalLtv {
    pub currency: Currency,
    pub customers: u64,
    /// Counted orders of those customers.
    pub orders: u64,
    /// Sum of their counted order amounts, major units.
    pub revenue: f64,
    /// Mean historical LTV, major units; null without customers.
    pub mean: Option<f64>,
    /// Median historical LTV (mean of the two middle customers for an even count); null without customers.
    pub median: Option<f64>,
    /// Histogram of customers' historical LTV.
    pub distribution: Vec<LtvBucket>,
    #[serde(skip)]
    pub revenue_minor: i64,
}

/// Computes historical LTV. Deterministic; parallel over customers; one allocation (one value per
/// customer, for the median and the buckets).
pub fn historical_ltv(log: &OrderLog, opts: &LtvOptions) -> HistoricalLtv {
    let currency = log.currency();
    let (mut values, orders): (Vec<i64>, Vec<u32>) = (0..log.n_customers() as CustomerIdx)
        .into_par_iter()
        .filter_map(|c| {
            let n = log.times_of(c).partition_point(|&t| t < opts.as_of);
            (n > 0).then(|| (log.amounts_of(c)[..n].iter().sum::<i64>(), n as u32))
        })
        .unzip();
    let n = values.len();
    let orders: u64 = orders.iter().map(|&o| o as u64).sum();
    let total: i64 = values.iter().sum();
    if n == 0 {
        return HistoricalLtv { currency, customers: 0, orders, revenue: 0.0, mean: None, median: None, distribution: Vec::new(), revenue_minor: 0 };
    }
    let mean = to_major(total, currency) / n as f64;
    let median = {
        let (lower, mid, _) = values.select_nth_unstable(n / 2);
        let mid = *mid;
        if n % 2 == 1 {
            to_major(mid, currency)
        } else {
            let below = lower.iter().copied().max().unwrap_or(mid);
            (to_major(below, currency) + to_major(mid, currency)) / 2.0
        }
    };
    // Bucket width: a round number (1, 2, 2.5 or 5 × 10^k minor units) such that about `buckets`
    // buckets cover zero up to and including the 95th percentile; everything above goes in one
    // open bucket.
    let target = opts.buckets.max(1) as i64;
    let p95 = (*values.select_nth_unstable((n - 1) * 95 / 100).1).max(0);
    let max = values.iter().copied().max().unwrap_or(0);
    let step = round_step((p95 + target - 1) / target);
    let bounded = p95 / step + 1;
    let mut counts = vec![0u64; bounded as usize + 1];
    for &v in &values {
        let i = if v < 0 { 0 } else { (v / step).min(bounded) };
        counts[i as usize] += 1;
    }
    if max < bounded * step {
        counts.pop();
    }
    let label = |m: i64| format_minor(m, currency).trim_end_matches(".00").to_string();
    let distribution = counts
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let lo = i as i64 * step;
            let open = i as i64 == bounded;
            LtvBucket {
                from: (i > 0).then(|| to_major(lo, currency)),
                to: (!open).then(|| to_major(lo + step, currency)),
                label: if open { format!("{}+", label(lo)) } else { format!("{}–{}", label(lo), label(lo + step)) },
                customers: k,
                share: k as f64 / n as f64,
            }
        })
        .collect();
    HistoricalLtv {
        currency,
        customers: n as u64,
        orders,
        revenue: to_major(total, currency),
        mean: Some(mean),
        median: Some(median),
        distribution,
        revenue_minor: total,
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is at least `x` (and at least 1).
fn round_step(x: i64) -> i64 {
    let mut p = 1i64;
    loop {
        for m in [10, 20, 25, 50] {
            let s = p * m / 10;
            if s >= x.max(1) && s > 0 {
                return s;
            }
        }
        match p.checked_mul(10) {
            Some(q) => p = q,
            None => return x.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order_log::OrderLogBuilder;

    /// Hand-computed example, amounts in cents, as of t = 100:
    ///
    /// - a: 50.00 + 150.00 = 200.00
    /// - b: 20.00
    /// - c: 500.00 at t = 10, 1000.00 at t = 100 (after as-of) → 500.00
    /// - d: 80.00
    /// - e: 30.00 at t = 200 → not a customer yet
    ///
    /// Customers 4, orders 5, revenue 800.00; mean 800 / 4 = 200.00; values sorted
    /// 20, 80, 200, 500 → median (80 + 200) / 2 = 140.00.
    /// Buckets with 4 requested: p95 = value at index (4-1)·95/100 = 2 → 200.00 = 20000 cents;
    /// width ≥ 20000 / 4 = 5000 → 5000 (50.00); bounded buckets up to and including p95:
    /// 20000 / 5000 + 1 = 5 (0–50 … 200–250), then 250+: b (20) → 0–50, d (80) → 50–100,
    /// a (200) → 200–250, c (500) → 250+.
    #[test]
    fn hand_computed() {
        let mut b = OrderLogBuilder::new(Currency::USD);
        b.push("a", 1, 5000);
        b.push("a", 2, 15000);
        b.push("b", 3, 2000);
        b.push("c", 10, 50000);
        b.push("c", 100, 100000);
        b.push("d", 5, 8000);
        b.push("e", 200, 3000);
        let log = b.build();
        let l = historical_ltv(&log, &LtvOptions { as_of: 100, buckets: 4 });
        assert_eq!((l.customers, l.orders, l.revenue), (4, 5, 800.0));
        assert_eq!((l.mean, l.median), (Some(200.0), Some(140.0)));
        let got: Vec<_> = l.distribution.iter().map(|b| (b.label.as_str(), b.from, b.to, b.customers)).collect();
        assert_eq!(
            got,
            [
                ("0–50", None, Some(50.0), 1),
                ("50–100", Some(50.0), Some(100.0), 1),
                ("100–150", Some(100.0), Some(150.0), 0),
                ("150–200", Some(150.0), Some(200.0), 0),
                ("200–250", Some(200.0), Some(250.0), 1),
                ("250+", Some(250.0), None, 1),
            ]
        );
        assert_eq!(l.distribution.iter().map(|b| b.share).sum::<f64>(), 1.0);
    }

    /// Odd count: 10, 20, 30 → median 20. Buckets with 2 requested: p95 = index (3-1)·95/100 = 1
    /// → 20.00; width ≥ 2000 / 2 = 1000 → 10.00; bounded 2000 / 1000 + 1 = 3 (0–10, 10–20, 20–30)
    /// and 30+ holding 30. With 1 bucket requested: width ≥ 2000 → 2000, bounded 2 (0–20, 20–40);
    /// the maximum 30 < 40, so no open bucket is shown.
    #[test]
    fn odd_count_and_round_steps() {
        let mut b = OrderLogBuilder::new(Currency::USD);
        b.push("a", 1, 1000);
        b.push("b", 1, 2000);
        b.push("c", 1, 3000);
        let l = historical_ltv(&b.build(), &LtvOptions { as_of: 10, buckets: 2 });
        assert_eq!(l.median, Some(20.0));
        let got: Vec<_> = l.distribution.iter().map(|b| (b.label.as_str(), b.customers)).collect();
        assert_eq!(got, [("0–10", 0), ("10–20", 1), ("20–30", 1), ("30+", 1)]);
        let mut b = OrderLogBuilder::new(Currency::USD);
        b.push("a", 1, 1000);
        b.push("b", 1, 2000);
        b.push("c", 1, 3000);
        let l = historical_ltv(&b.build(), &LtvOptions { as_of: 10, buckets: 1 });
        let got: Vec<_> = l.distribution.iter().map(|b| (b.label.as_str(), b.customers)).collect();
        assert_eq!(got, [("0–20", 1), ("20–40", 2)]);
        assert_eq!((round_step(1), round_step(3), round_step(21), round_step(2400), round_step(0)), (1, 5, 25, 2500, 1));
    }

    #[test]
    fn nobody_gives_nulls() {
        let l = historical_ltv(&OrderLogBuilder::new(Currency::USD).build(), &LtvOptions { as_of: 0, buckets: 10 });
        assert_eq!((l.customers, l.mean, l.median, l.distribution.len()), (0, None, None, 0));
    }
}
