//! RFM: recency, frequency and monetary value per customer at an as-of instant, scored 1–5.
//!
//! Only orders placed strictly before `as_of` count; customers with none are left out.
//!
//! - **Recency**: whole days from the last order to `as_of` (`floor((as_of − last) / 86 400)`).
//! - **Frequency**: number of orders.
//! - **Monetary**: revenue in minor units.
//!
//! **Scores** 1–5, 5 best (most recent = fewest days, most frequent, highest spend), by a rank-based
//! quintile with mid-ranks for ties. For a customer let `below` be the number of customers strictly
//! worse on that measure and `equal` the number with exactly the same value (the customer included);
//! with `n` customers
//!
//! ```text
//! score = 1 + floor(5 × (below + equal / 2) / n)      (clamped to 1..=5)
//! ```
//!
//! Equal values therefore always get equal scores; with `n` distinct values the scores are the plain
//! quintiles (n = 5 gives 1, 2, 3, 4, 5). A single customer, or a base of identical customers,
//! scores 3 (the middle) on every measure.

use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use serde::Serialize;

/// RFM measures and scores of one customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rfm {
    pub customer: CustomerIdx,
    pub recency_days: i64,
    pub frequency: u32,
    /// Revenue, minor units.
    pub monetary: i64,
    pub recency_score: u8,
    pub frequency_score: u8,
    pub monetary_score: u8,
}

/// Number of orders of customer `c` placed strictly before `as_of` (they are the first ones).
pub(crate) fn n_before(log: &OrderLog, c: CustomerIdx, as_of: Instant) -> usize {
    log.times_of(c).partition_point(|&t| t < as_of)
}

/// Median of the positive gaps between consecutive instants, in days (orders at the same instant
/// are one visit); `None` with fewer than `min_gaps` positive gaps. Allocation-free for up to 64
/// orders.
pub(crate) fn median_gap_days_min(times: &[Instant], min_gaps: usize) -> Option<f64> {
    let mut stack = [0i64; 64];
    let mut heap = Vec::new();
    let buf: &mut [i64] = if times.len() <= stack.len() {
        &mut stack[..]
    } else {
        heap.resize(times.len(), 0);
        &mut heap[..]
    };
    let mut n = 0;
    for w in times.windows(2) {
        let g = w[1] - w[0];
        if g > 0 {
            buf[n] = g;
            n += 1;
        }
    }
    if n < min_gaps.max(1) {
        return None;
    }
    median_secs_days(&mut buf[..n])
}

fn median_secs_days(v: &mut [i64]) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (_, &mut hi, _) = v.select_nth_unstable(n / 2);
    let m = if n % 2 == 1 {
        hi as f64
    } else {
        let lo = *v[..n / 2].iter().max().expect("n >= 2");
        (lo as f64 + hi as f64) / 2.0
    };
    Some(m / DAY as f64)
}

/// Median of all positive gaps between consecutive orders of the same customer (orders before
/// `as_of`), over the whole workspace, in days; `None` when nobody has ordered twice.
pub fn workspace_median_gap_days(log: &OrderLog, as_of: Instant) -> Option<f64> {
    let mut gaps: Vec<i64> = (0..log.n_customers() as CustomerIdx)
        .into_par_iter()
        .flat_map_iter(|c| {
            let t = &log.times_of(c)[..n_before(log, c, as_of)];
            t.windows(2).map(|w| w[1] - w[0]).filter(|&g| g > 0)
        })
        .collect();
    median_secs_days(&mut gaps)
}

/// Rank-based quintile scores of `values` (higher is better), see the module docs.
pub fn quintile_scores(values: &[i64]) -> Vec<u8> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    // Sorted once; each run of equal values gets one score from its position.
    let mut sorted: Vec<(i64, u32)> = values.iter().enumerate().map(|(i, &v)| (v, i as u32)).collect();
    sorted.par_sort_unstable();
    let mut out = vec![0u8; n];
    let mut i = 0;
    while i < n {
        let v = sorted[i].0;
        let j = i + sorted[i..].partition_point(|x| x.0 == v);
        let (below, equal) = (i as u128, (j - i) as u128);
        // 1 + floor(5 (below + equal/2) / n) = 1 + floor(5 (2 below + equal) / 2n)
        let s = (1 + (5 * (2 * below + equal)) / (2 * n as u128)).clamp(1, 5) as u8;
        for &(_, k) in &sorted[i..j] {
            out[k as usize] = s;
        }
        i = j;
    }
    out
}

/// RFM of every customer with an order before `as_of`, in customer index order.
pub fn rfm(log: &OrderLog, as_of: Instant) -> Vec<Rfm> {
    let raw: Vec<(CustomerIdx, i64, u32, i64)> = (0..log.n_customers() as CustomerIdx)
        .into_par_iter()
        .filter_map(|c| {
            let k = n_before(log, c, as_of);
            let last = *log.times_of(c)[..k].last()?;
            let monetary = log.amounts_of(c)[..k].iter().sum();
            Some((c, (as_of - last).div_euclid(DAY), k as u32, monetary))
        })
        .collect();
    // Recency: fewer days is better, so score the negated value.
    let r = quintile_scores(&raw.iter().map(|x| -x.1).collect::<Vec<_>>());
    let f = quintile_scores(&raw.iter().map(|x| x.2 as i64).collect::<Vec<_>>());
    let m = quintile_scores(&raw.iter().map(|x| x.3).collect::<Vec<_>>());
    raw.iter()
        .enumerate()
        .map(|(i, &(customer, recency_days, frequency, monetary))| Rfm {
            customer,
            recency_days,
            frequency,
            monetary,
            recency_score: r[i],
            frequency_score: f[i],
            monetary_score: m[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, OrderLogBuilder};

    fn cur() -> Currency {
        Currency::new("USD").unwrap()
    }

    #[test]
    fn five_distinct_values_are_plain_quintiles() {
        // below = 0..4, equal = 1: 5 (2 below + 1) / 10 = 0.5, 1.5, 2.5, 3.5, 4.5 -> 1..5
        assert_eq!(quintile_scores(&[30, 10, 50, 20, 40]), vec![3, 1, 5, 2, 4]);
    }

    #[test]
    fn ties_get_equal_scores() {
        // values 1,1,1,2,3 (n = 5): the 1s: below 0, equal 3 -> 1 + floor(5*3/10) = 2;
        // 2: below 3, equal 1 -> 1 + floor(5*7/10) = 4; 3: below 4 -> 1 + floor(45/10) = 5
        assert_eq!(quintile_scores(&[1, 2, 1, 3, 1]), vec![2, 4, 2, 5, 2]);
    }

    #[test]
    fn one_customer_and_identical_customers_score_the_middle() {
        assert_eq!(quintile_scores(&[7]), vec![3]);
        assert_eq!(quintile_scores(&[7; 1000]), vec![3; 1000]);
        assert!(quintile_scores(&[]).is_empty());
        let mut b = OrderLogBuilder::new(cur());
        for c in ["a", "b", "c"] {
            b.push(c, 0, 100);
        }
        let r = rfm(&b.build(), 10 * DAY);
        assert_eq!(r.len(), 3);
        assert!(r.iter().all(|x| (x.recency_score, x.frequency_score, x.monetary_score) == (3, 3, 3)));
    }

    #[test]
    fn direction_most_recent_frequent_and_spending_score_five() {
        // Hand example, as_of = day 100:
        //   a: orders day 90, 95, 99 (3 orders, 300)  -> recency 1, best on all
        //   b: orders day 50, 60      (2 orders, 150) -> recency 40
        //   c: order day 10           (1 order, 20)   -> recency 90, worst on all
        //   d: order day 5 after as_of... none before -> left out
        let mut b = OrderLogBuilder::new(cur());
        for d in [90, 95, 99] {
            b.push("a", d * DAY, 100);
        }
        b.push("b", 50 * DAY, 50);
        b.push("b", 60 * DAY, 100);
        b.push("c", 10 * DAY, 20);
        b.push("d", 120 * DAY, 20);
        let log = b.build();
        let r = rfm(&log, 100 * DAY);
        assert_eq!(r.len(), 3);
        let by = |id: &str| r.iter().find(|x| log.customer_id(x.customer) == id).unwrap().clone();
        let (a, bb, c) = (by("a"), by("b"), by("c"));
        assert_eq!((a.recency_days, a.frequency, a.monetary), (1, 3, 300));
        assert_eq!((bb.recency_days, bb.frequency, bb.monetary), (40, 2, 150));
        assert_eq!((c.recency_days, c.frequency, c.monetary), (90, 1, 20));
        // n = 3, distinct: below 0,1,2 -> 1 + floor(5 (2 below + 1) / 6) = 1, 3, 5
        assert_eq!((a.recency_score, a.frequency_score, a.monetary_score), (5, 5, 5));
        assert_eq!((bb.recency_score, bb.frequency_score, bb.monetary_score), (3, 3, 3));
        assert_eq!((c.recency_score, c.frequency_score, c.monetary_score), (1, 1, 1));
    }

    #[test]
    fn median_gaps() {
        assert_eq!(median_gap_days_min(&[0, 10 * DAY, 30 * DAY, 60 * DAY], 1), Some(20.0));
        assert_eq!(median_gap_days_min(&[0, 10 * DAY, 30 * DAY], 1), Some(15.0));
        assert_eq!(median_gap_days_min(&[0], 1), None);
        // same-instant orders are one visit
        assert_eq!(median_gap_days_min(&[0, 0, 0, 10 * DAY], 1), Some(10.0));
        assert_eq!(median_gap_days_min(&[0, 0, 0, 10 * DAY], 2), None);
    }

    proptest::proptest! {
        #[test]
        fn scores_are_monotone_and_tie_consistent(v in proptest::collection::vec(-50i64..50, 1..200)) {
            let s = quintile_scores(&v);
            for i in 0..v.len() {
                proptest::prop_assert!((1..=5).contains(&s[i]));
                for j in 0..v.len() {
                    if v[i] == v[j] { proptest::prop_assert_eq!(s[i], s[j]); }
                    if v[i] < v[j] { proptest::prop_assert!(s[i] <= s[j]); }
                }
            }
            // order of the input does not matter
            let mut r = v.clone();
            r.reverse();
            let mut sr = quintile_scores(&r);
            sr.reverse();
            proptest::prop_assert_eq!(s, sr);
        }
    }
}
