//! Repeat behaviour: repeat-purchase rate and time between orders, as `METRICS.md` defines them.
//!
//! - **Repeat-purchase rate**: customers with at least two counted orders over customers with at
//!   least one, among customers whose first order lies in the selected range.
//! - **Time between orders**: per customer, the mean gap between consecutive counted orders
//!   (`(last - first) / (orders - 1)`); the workspace figure is the **median** over customers with
//!   at least two orders. The mean over the same customers is reported next to it.
//!
//! Only orders strictly before the as-of instant count. Purchase frequency, AOV and the returning
//! revenue share per period live in [`crate::movement::PeriodMovement`].

use crate::order_log::{CustomerIdx, OrderLog};
use crate::period::{Instant, DAY};
use rayon::prelude::*;
use serde::Serialize;

/// Which customers and orders count.
#[derive(Clone, Copy, Debug)]
pub struct RepeatOptions {
    /// Orders at or after this instant are ignored.
    pub as_of: Instant,
    /// Only customers whose first order is at or after this instant (default: all).
    pub first_order_from: Option<Instant>,
    /// Only customers whose first order is strictly before this instant (default: all).
    pub first_order_to: Option<Instant>,
}

/// Repeat behaviour of the selected customers.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RepeatBehaviour {
    /// Customers with at least one counted order whose first order lies in the selected range.
    pub customers: u64,
    /// Of those, customers with at least two counted orders.
    pub repeat_customers: u64,
    /// `repeat_customers / customers`; null without customers.
    pub repeat_purchase_rate: Option<f64>,
    /// Median over repeat customers of their mean gap between consecutive orders, in days (the
    /// workspace figure); null without repeat customers.
    pub median_days_between_orders: Option<f64>,
    /// Mean over repeat customers of their mean gap between consecutive orders, in days.
    pub mean_days_between_orders: Option<f64>,
}

/// Computes repeat behaviour. Deterministic; parallel over customers, one allocation (the gaps of
/// repeat customers, for the median).
pub fn repeat_behaviour(log: &OrderLog, opts: &RepeatOptions) -> RepeatBehaviour {
    let from = opts.first_order_from.unwrap_or(Instant::MIN);
    let to = opts.first_order_to.unwrap_or(Instant::MAX).min(opts.as_of);
    // Per selected customer: None for a one-order customer, Some(mean gap in seconds) otherwise.
    let per_customer = |c: usize| -> Option<Option<f64>> {
        let all = log.times_of(c as CustomerIdx);
        let first = *all.first()?;
        if first < from || first >= to {
            return None;
        }
        let n = all.partition_point(|&t| t < opts.as_of);
        Some((n >= 2).then(|| (all[n - 1] - first) as f64 / (n - 1) as f64))
    };
    let customers = (0..log.n_customers()).into_par_iter().filter(|&c| per_customer(c).is_some()).count() as u64;
    let mut gaps: Vec<f64> = (0..log.n_customers()).into_par_iter().filter_map(|c| per_customer(c).flatten()).collect();
    let repeat_customers = gaps.len() as u64;
    let mean = (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64 / DAY as f64);
    let median = median_f64(&mut gaps).map(|g| g / DAY as f64);
    RepeatBehaviour {
        customers,
        repeat_customers,
        repeat_purchase_rate: (customers > 0).then(|| repeat_customers as f64 / customers as f64),
        median_days_between_orders: median,
        mean_days_between_orders: mean,
    }
}

/// The median (mean of the two middle values for an even count); reorders `v`. None when empty.
pub fn median_f64(v: &mut [f64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (lower, mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        return Some(mid);
    }
    let below = lower.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
    Some((below + mid) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::order_log::OrderLogBuilder;
    use crate::period::Calendar;
    use chrono::NaiveDate;

    fn day(s: &str) -> Instant {
        Calendar::default().start_of_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    /// Hand-computed example, as of 2024-06-01:
    ///
    /// - a: 01-01, 01-11, 01-31              → 3 orders, gaps 10, 20 → mean gap 30 / 2 = 15 days
    /// - b: 02-01, 03-02                     → 2 orders, gap 30 (Feb 2024 has 29 days) → 30 days
    /// - c: 02-10                            → 1 order
    /// - d: 03-01, 03-05, 07-01              → the July order is after as-of → 2 orders, 4 days
    /// - e: 07-01                            → after as-of: not a customer yet
    ///
    /// Customers 4 (a, b, c, d), repeat customers 3 (a, b, d) → rate 3/4 = 0.75.
    /// Mean gaps {15, 30, 4}: median 15, mean 49 / 3.
    /// First orders in [02-01, 03-01): b, c → repeat 1 of 2 = 0.5; median over {30} = 30.
    #[test]
    fn hand_computed() {
        let mut b = OrderLogBuilder::new(Currency::USD);
        for (c, d) in [
            ("a", "2024-01-01"),
            ("a", "2024-01-11"),
            ("a", "2024-01-31"),
            ("b", "2024-02-01"),
            ("b", "2024-03-02"),
            ("c", "2024-02-10"),
            ("d", "2024-03-01"),
            ("d", "2024-03-05"),
            ("d", "2024-07-01"),
            ("e", "2024-07-01"),
        ] {
            b.push(c, day(d), 100);
        }
        let log = b.build();
        let all = repeat_behaviour(&log, &RepeatOptions { as_of: day("2024-06-01"), first_order_from: None, first_order_to: None });
        assert_eq!((all.customers, all.repeat_customers), (4, 3));
        assert_eq!(all.repeat_purchase_rate, Some(0.75));
        assert_eq!(all.median_days_between_orders, Some(15.0));
        assert_eq!(all.mean_days_between_orders, Some(49.0 / 3.0));
        let feb = repeat_behaviour(
            &log,
            &RepeatOptions { as_of: day("2024-06-01"), first_order_from: Some(day("2024-02-01")), first_order_to: Some(day("2024-03-01")) },
        );
        assert_eq!((feb.customers, feb.repeat_customers, feb.repeat_purchase_rate), (2, 1, Some(0.5)));
        assert_eq!(feb.median_days_between_orders, Some(30.0));
    }

    #[test]
    fn nobody_gives_nulls() {
        let log = OrderLogBuilder::new(Currency::USD).build();
        let r = repeat_behaviour(&log, &RepeatOptions { as_of: 0, first_order_from: None, first_order_to: None });
        assert_eq!(r, RepeatBehaviour { customers: 0, repeat_customers: 0, repeat_purchase_rate: None, median_days_between_orders: None, mean_days_between_orders: None });
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median_f64(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_f64(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median_f64(&mut []), None);
    }
}
