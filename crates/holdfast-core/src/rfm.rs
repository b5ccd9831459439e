//! RFM: recency, frequency and monetary value per customer at an as-of instant, scored 1–5.
//!
//! Only orders placed strictly before `as_of` count; customers with none are left out.
//!
//! - **Recency**: whole days from the last order to `as_of` (`floor((as_of − last) / 86 400)`).
//! - **Frequency**: number of orders.
//! - **Monetary**: revenue in minor units.
//!
//! **Scores** 1–5, 5 best (most recent = fewest days, most frequent, highest spend), by position
//! among the customers (`METRICS.md`, "RFM scores"). For a customer let `b` be the number of
//! customers strictly worse on that measure; with `n` customers
//!
//! ```text
//! score = 1 + floor(5 × b / n)
//! ```
//!
//! Equal values share one score (they have the same `b`), and the worst value always scores 1
//! (`b = 0`): a base where half the customers bought once gives them all F = 1, and a score may be
//! empty. With `n` distinct values the scores are the plain quintiles (n = 5 gives 1, 2, 3, 4, 5);
//! a single customer, or a base of identical customers, scores 1 on every measure. `b ≤ n − 1`, so
//! the score never passes 5.

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
    median_by(v, |x| x as f64).map(|m| m / DAY as f64)
}

/// Median of `v` (reordered in place), the mean of the middle two for an even length; `None`
/// when empty.
pub(crate) fn median_by<T: Copy + Ord>(v: &mut [T], to_f64: impl Fn(T) -> f64) -> Option<f64> {
    let n = v.len();
    if n == 0 {
        return None;
    }
    let (lo, &mut hi, _) = v.select_nth_unstable(n / 2);
    Some(if n % 2 == 1 {
        to_f64(hi)
    } else {
        (to_f64(*lo.iter().max().expect("n >= 2")) + to_f64(hi)) / 2.0
    })
}

/// Customer index ranges for parallel passes: a few per thread, at least 1,024 customers each.
/// Results never depend on them (every pass merges its chunks in order or by sums).
pub(crate) fn customer_chunks(n: usize) -> Vec<std::ops::Range<usize>> {
    let size = (n / (8 * rayon::current_num_threads()).max(1)).max(1024);
    (0..n.div_ceil(size)).map(|i| i * size..((i + 1) * size).min(n)).collect()
}

/// Buckets of the workspace gap histogram: gaps in units of 2^16 s (about 18 hours), the last
/// bucket holding everything longer (about 8.5 years).
const GAP_SHIFT: u32 = 16;
const GAP_BUCKETS: usize = 1 << 12;

fn gap_bucket(g: i64) -> usize {
    ((g as u64) >> GAP_SHIFT).min(GAP_BUCKETS as u64 - 1) as usize
}

/// Calls `f` with every positive gap between consecutive orders (before `as_of`) of the customers
/// in `range`.
fn for_each_gap(log: &OrderLog, as_of: Instant, range: std::ops::Range<usize>, mut f: impl FnMut(i64)) {
    for c in range {
        let t = &log.times_of(c as CustomerIdx)[..n_before(log, c as CustomerIdx, as_of)];
        for w in t.windows(2) {
            if w[1] > w[0] {
                f(w[1] - w[0]);
            }
        }
    }
}

/// Median of all positive gaps between consecutive orders of the same customer (orders before
/// `as_of`), over the whole workspace, in days; `None` when nobody has ordered twice.
///
/// Exact, without collecting every gap: one parallel pass counts the gaps per 18-hour bucket, a
/// second collects only the gaps of the bucket(s) holding the middle rank(s).
pub fn workspace_median_gap_days(log: &OrderLog, as_of: Instant) -> Option<f64> {
    let chunks = customer_chunks(log.n_customers());
    let hist = chunks
        .par_iter()
        .map(|r| {
            let mut h = vec![0u64; GAP_BUCKETS];
            for_each_gap(log, as_of, r.clone(), |g| h[gap_bucket(g)] += 1);
            h
        })
        .reduce(
            || vec![0u64; GAP_BUCKETS],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let m: u64 = hist.iter().sum();
    if m == 0 {
        return None;
    }
    // 0-based ranks of the middle value(s); the bucket holding each, and the gaps before them.
    let (lo, hi) = ((m - 1) / 2, m / 2);
    let bucket_of = |rank: u64| {
        let mut before = 0;
        for (b, &n) in hist.iter().enumerate() {
            if rank < before + n {
                return (b, before);
            }
            before += n;
        }
        unreachable!("rank below the total")
    };
    let ((b_lo, below), (b_hi, _)) = (bucket_of(lo), bucket_of(hi));
    let mut mid: Vec<i64> = chunks
        .par_iter()
        .flat_map_iter(|r| {
            let mut v = Vec::new();
            for_each_gap(log, as_of, r.clone(), |g| {
                if (b_lo..=b_hi).contains(&gap_bucket(g)) {
                    v.push(g);
                }
            });
            v
        })
        .collect();
    mid.sort_unstable();
    let (a, b) = (mid[(lo - below) as usize], mid[(hi - below) as usize]);
    let days = if m % 2 == 1 { b as f64 } else { (a as f64 + b as f64) / 2.0 };
    Some(days / DAY as f64)
}

/// Quintile scores of `values` (higher is better): `1 + floor(5 b / n)`, `b` the values strictly
/// below; see the module docs.
pub fn quintile_scores(values: &[i64]) -> Vec<u8> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    // b <= n - 1, so the score is at most 1 + floor(5 (n - 1) / n) <= 5.
    let score = |below: u64, _equal: u64| (1 + (5 * below as u128) / n as u128) as u8;
    let (min, max) = values.par_iter().fold(|| (i64::MAX, i64::MIN), |(a, b), &v| (a.min(v), b.max(v))).reduce(|| (i64::MAX, i64::MIN), |x, y| (x.0.min(y.0), x.1.max(y.1)));
    let range = (max as i128 - min as i128 + 1) as u128;
    if range <= (4 * n as u128).max(1 << 16) {
        // Narrow range (days, order counts): count each value, score it once.
        let mut counts = vec![0u32; range as usize];
        for &v in values {
            counts[(v - min) as usize] += 1;
        }
        let mut below = 0u64;
        let by_value: Vec<u8> = counts
            .iter()
            .map(|&k| {
                let s = score(below, k as u64);
                below += k as u64;
                s
            })
            .collect();
        return values.par_iter().map(|&v| by_value[(v - min) as usize]).collect();
    }
    // Sorted once; each run of equal values gets one score from its position.
    let mut sorted: Vec<(i64, u32)> = values.iter().enumerate().map(|(i, &v)| (v, i as u32)).collect();
    sorted.par_sort_unstable();
    let mut out = vec![0u8; n];
    let mut i = 0;
    while i < n {
        let v = sorted[i].0;
        let j = i + sorted[i..].partition_point(|x| x.0 == v);
        let s = score(i as u64, (j - i) as u64);
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
        // b = 0..4, n = 5: 1 + floor(5 b / 5) = 1..5
        assert_eq!(quintile_scores(&[30, 10, 50, 20, 40]), vec![3, 1, 5, 2, 4]);
    }

    #[test]
    fn ties_get_equal_scores_and_the_worst_value_scores_one() {
        // values 1,1,1,2,3 (n = 5): the 1s: b = 0 -> 1; 2: b = 3 -> 1 + floor(15/5) = 4;
        // 3: b = 4 -> 1 + floor(20/5) = 5 (scores 2 and 3 are empty)
        assert_eq!(quintile_scores(&[1, 2, 1, 3, 1]), vec![1, 4, 1, 5, 1]);
    }

    #[test]
    fn half_the_customers_bought_once_all_score_f1() {
        // Hand example, as_of = day 100, n = 10 customers:
        //   o0..o4: one order each (day 10 + k, 100 + k)     -> F: b = 0            -> 1
        //   t0..t2: two orders each (days 20, 50; 30 + 30)    -> F: b = 5  -> 1 + 25/10 = 3
        //   f0, f1: five orders each (days 60..64, 5 × 40)    -> F: b = 8  -> 1 + 40/10 = 5
        // Recency (days to as_of; fewer is better, b = customers with more days):
        //   o_k: 90 - k days -> b = k (the o's with more days) -> 1 + floor(5 k / 10) = 1, 1, 2, 2, 3
        //   t_k: last order day 50 -> 50 days, b = 5 (the o's) -> 3
        //   f_k: last order day 64 -> 36 days, b = 8 -> 5
        // Monetary: t_k 60 (b = 0) -> 1; o_k 100 + k (b = 3 + k) -> 2, 3, 3, 4, 4; f_k 200 (b = 8) -> 5
        let mut b = OrderLogBuilder::new(cur());
        for k in 0..5 {
            b.push(&format!("o{k}"), (10 + k) * DAY, 100 + k);
        }
        for k in 0..3 {
            b.push(&format!("t{k}"), 20 * DAY, 30);
            b.push(&format!("t{k}"), 50 * DAY, 30);
        }
        for k in 0..2 {
            for d in 60..65 {
                b.push(&format!("f{k}"), d * DAY, 40);
            }
        }
        let log = b.build();
        let r = rfm(&log, 100 * DAY);
        let got: Vec<(String, u8, u8, u8)> =
            r.iter().map(|x| (log.customer_id(x.customer).to_string(), x.recency_score, x.frequency_score, x.monetary_score)).collect();
        let want = [
            ("o0", 1, 1, 2),
            ("o1", 1, 1, 3),
            ("o2", 2, 1, 3),
            ("o3", 2, 1, 4),
            ("o4", 3, 1, 4),
            ("t0", 3, 3, 1),
            ("t1", 3, 3, 1),
            ("t2", 3, 3, 1),
            ("f0", 5, 5, 5),
            ("f1", 5, 5, 5),
        ];
        assert_eq!(got, want.map(|(c, r, f, m)| (c.to_string(), r, f, m)));
    }

    #[test]
    fn wide_and_narrow_ranges_score_alike() {
        // the same ranks spread over a range too wide to count (sorted path) score the same
        let narrow: Vec<i64> = (0..5000).map(|i| (i * 7919) % 1000).collect();
        let wide: Vec<i64> = narrow.iter().map(|&v| v * 1_000_000_000 - 3).collect();
        assert_eq!(quintile_scores(&narrow), quintile_scores(&wide));
        // n = 3: b = 0, 1, 2 -> 1, 1 + floor(5/3) = 2, 1 + floor(10/3) = 4
        assert_eq!(quintile_scores(&[i64::MIN, 0, i64::MAX]), vec![1, 2, 4]);
    }

    #[test]
    fn workspace_gap_is_the_median_of_all_gaps() {
        // gaps (days): a 10, 20; b 5 (and a same-instant repeat, ignored); c none; d 400, 5000
        // (past the histogram's last bucket); the order after as-of is left out
        let mut b = OrderLogBuilder::new(cur());
        for d in [0, 10, 30] {
            b.push("a", d * DAY, 1);
        }
        for d in [0, 5, 5, 900] {
            b.push("b", d * DAY, 1);
        }
        b.push("c", 0, 1);
        for d in [0, 400, 5400] {
            b.push("d", d * DAY, 1);
        }
        let log = b.build();
        // gaps before day 5500: 10, 20, 5, 895, 400, 5000 -> median (20 + 400) / 2 = 210
        assert_eq!(workspace_median_gap_days(&log, 5500 * DAY), Some(210.0));
        // before day 500: 10, 20, 5, 400 -> (10 + 20) / 2
        assert_eq!(workspace_median_gap_days(&log, 500 * DAY), Some(15.0));
        assert_eq!(workspace_median_gap_days(&log, 11 * DAY), Some(7.5));
        assert_eq!(workspace_median_gap_days(&log, 6 * DAY), Some(5.0));
        assert_eq!(workspace_median_gap_days(&log, DAY), None);
        // many customers: the same as sorting every gap
        let mut b = OrderLogBuilder::new(cur());
        let mut x: u64 = 3;
        let mut all = Vec::new();
        for c in 0..3000 {
            let mut t = 0i64;
            for k in 0..1 + c % 7 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let g = (x >> 35) as i64 % (200 * DAY);
                if k > 0 && g > 0 {
                    all.push(g);
                }
                t += g;
                b.push(&format!("c{c}"), t, 1);
            }
        }
        all.sort_unstable();
        let want = if all.len() % 2 == 1 { all[all.len() / 2] as f64 } else { (all[all.len() / 2 - 1] as f64 + all[all.len() / 2] as f64) / 2.0 };
        assert_eq!(workspace_median_gap_days(&b.build(), i64::MAX), Some(want / DAY as f64));
    }

    #[test]
    fn one_customer_and_identical_customers_score_one() {
        // nobody is worse: b = 0
        assert_eq!(quintile_scores(&[7]), vec![1]);
        assert_eq!(quintile_scores(&[7; 1000]), vec![1; 1000]);
        assert!(quintile_scores(&[]).is_empty());
        let mut b = OrderLogBuilder::new(cur());
        for c in ["a", "b", "c"] {
            b.push(c, 0, 100);
        }
        let r = rfm(&b.build(), 10 * DAY);
        assert_eq!(r.len(), 3);
        assert!(r.iter().all(|x| (x.recency_score, x.frequency_score, x.monetary_score) == (1, 1, 1)));
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
        // n = 3, distinct: b = 0, 1, 2 -> 1 + floor(5 b / 3) = 1, 2, 4
        assert_eq!((a.recency_score, a.frequency_score, a.monetary_score), (4, 4, 4));
        assert_eq!((bb.recency_score, bb.frequency_score, bb.monetary_score), (2, 2, 2));
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
            let worst = v.iter().min().copied();
            for i in 0..v.len() {
                proptest::prop_assert!((1..=5).contains(&s[i]));
                if Some(v[i]) == worst { proptest::prop_assert_eq!(s[i], 1); }
                for j in 0..v.len() {
                    if v[i] == v[j] { proptest::prop_assert_eq!(s[i], s[j]); }
                    if v[i] < v[j] { proptest::prop_assert!(s[i] <= s[j]); }
                }
            }
            // the counting path (narrow range) agrees with the formula
            for i in 0..v.len() {
                let below = v.iter().filter(|&&x| x < v[i]).count() as u64;
                let want = (1 + 5 * below / v.len() as u64) as u8;
                proptest::prop_assert_eq!(s[i], want);
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
