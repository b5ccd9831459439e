//! Order-based red flags and the action queue.
//!
//! Every flag compares a customer with their own history (orders strictly before `as_of`) and
//! carries a severity and a plain-language explanation built from the customer's numbers.
//!
//! | kind                    | rule                                                                                         | severity                         |
//! |-------------------------|----------------------------------------------------------------------------------------------|----------------------------------|
//! | `silence_beyond_rhythm` | days since the last order ÷ typical gap ≥ 2. Typical gap: the customer's median gap with ≥ 3 orders at distinct instants (zero gaps ignored); with fewer, the workspace median gap | ratio ≥ 4 high, ≥ 3 medium, else low |
//! | `frequency_drop`        | orders in the last 90 days ≤ half the customer's earlier rate per 90 days; needs ≥ 3 earlier orders over ≥ 180 days | drop ≥ 80% high, ≥ 60% medium, else low |
//! | `shrinking_orders`      | mean of the last 3 orders ≤ 70% of the mean of the earlier orders; needs ≥ 6 orders          | drop ≥ 60% high, ≥ 45% medium, else low |
//! | `fewer_categories`      | distinct product categories in the last 3 orders ≤ half of those in the earlier orders (earlier ≥ 2); needs order lines with categories and ≥ 6 orders | low                              |
//!
//! # Action queue
//!
//! Customers with at least one flag become one task each. **Stake** is the customer's historical
//! revenue before `as_of` (minor units) — what is at risk. The suggested step follows the value tier
//! ([`crate::segments::tiers`]) and the highest severity: tier A "personal call"; tier B "personal
//! offer" when high, else "check-in letter"; tier C "check-in letter" when high, else "survey". Due:
//! `as_of` + 2 days (high), 7 days (medium), 14 days (low). Tasks are ordered by stake descending,
//! then customer id. Owner is `None` unless the caller assigns one.

use crate::rfm::{median_gap_days_min, n_before, workspace_median_gap_days};
use crate::segments::{tiers, Tier, TierOptions};
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use serde::Serialize;

/// Kind of red flag (snake_case in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    SilenceBeyondRhythm,
    FrequencyDrop,
    ShrinkingOrders,
    FewerCategories,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::SilenceBeyondRhythm => "silence_beyond_rhythm",
            FlagKind::FrequencyDrop => "frequency_drop",
            FlagKind::ShrinkingOrders => "shrinking_orders",
            FlagKind::FewerCategories => "fewer_categories",
        }
    }
}

/// Severity of a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Days from as-of to the task's due date.
    pub fn due_days(self) -> i64 {
        match self {
            Severity::High => 2,
            Severity::Medium => 7,
            Severity::Low => 14,
        }
    }
}

/// One red flag of one customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub severity: Severity,
    /// The flag's measure: silence ratio, share of drop, ... (see the module docs).
    pub value: f64,
    pub explanation: String,
}

/// Suggested next step of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    PersonalCall,
    CheckInLetter,
    PersonalOffer,
    Survey,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::PersonalCall => "personal call",
            Step::CheckInLetter => "check-in letter",
            Step::PersonalOffer => "personal offer",
            Step::Survey => "survey",
        }
    }

    pub fn for_tier(tier: Tier, severity: Severity) -> Step {
        match (tier, severity) {
            (Tier::A, _) => Step::PersonalCall,
            (Tier::B, Severity::High) => Step::PersonalOffer,
            (Tier::B, _) => Step::CheckInLetter,
            (Tier::C, Severity::High) => Step::CheckInLetter,
            (Tier::C, _) => Step::Survey,
        }
    }
}

/// One task of the action queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub customer: CustomerIdx,
    pub customer_id: String,
    pub owner: Option<String>,
    /// Historical revenue before as-of, minor units.
    pub stake: i64,
    pub tier: Tier,
    pub flags: Vec<Flag>,
    pub severity: Severity,
    pub suggested_step: Step,
    pub due: Instant,
}

/// Options of the flags and the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct FlagOptions {
    pub as_of: Instant,
    pub tiers: TierOptions,
    /// Owner written on every task (`None`: unassigned).
    pub owner: Option<String>,
}

impl FlagOptions {
    pub fn new(as_of: Instant) -> Self {
        FlagOptions { as_of, tiers: TierOptions::default(), owner: None }
    }
}

fn days(secs: i64) -> f64 {
    secs as f64 / DAY as f64
}

fn fmt_days(d: f64) -> String {
    let r = d.round();
    if (d - r).abs() < 0.05 {
        format!("{r:.0}")
    } else {
        format!("{d:.1}")
    }
}

fn every(d: f64) -> String {
    match fmt_days(d).as_str() {
        "1" => "every day".to_string(),
        n => format!("every {n} days"),
    }
}

/// `silence_beyond_rhythm` from the order times before as-of.
pub fn silence_beyond_rhythm(times: &[Instant], as_of: Instant, workspace_gap: Option<f64>) -> Option<Flag> {
    let last = *times.last()?;
    let silent = days(as_of - last);
    let (gap, own) = match median_gap_days_min(times, 2) {
        Some(g) => (g, true),
        None => (workspace_gap?, false),
    };
    if gap <= 0.0 {
        return None;
    }
    let ratio = silent / gap;
    if ratio < 2.0 {
        return None;
    }
    let severity = if ratio >= 4.0 {
        Severity::High
    } else if ratio >= 3.0 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let usual = if own {
        format!("usually orders {}", every(gap))
    } else {
        let visits = 1 + times.windows(2).filter(|w| w[1] > w[0]).count();
        format!("{} so far; customers here usually reorder {}", if visits == 1 { "one order" } else { "two orders" }, every(gap))
    };
    Some(Flag {
        kind: FlagKind::SilenceBeyondRhythm,
        severity,
        value: ratio,
        explanation: format!("{usual}; silent for {} days ({ratio:.1}× usual)", fmt_days(silent.floor())),
    })
}

/// `frequency_drop`: the last 90 days against the earlier rate.
pub fn frequency_drop(times: &[Instant], as_of: Instant) -> Option<Flag> {
    let cut = as_of - 90 * DAY;
    let first = *times.first()?;
    let earlier = times.partition_point(|&t| t < cut);
    let recent = times.len() - earlier;
    let span = days(cut - first);
    if earlier < 3 || span < 180.0 {
        return None;
    }
    let expected = earlier as f64 * 90.0 / span;
    if recent as f64 > 0.5 * expected {
        return None;
    }
    let drop = 1.0 - recent as f64 / expected;
    let severity = if drop >= 0.8 {
        Severity::High
    } else if drop >= 0.6 {
        Severity::Medium
    } else {
        Severity::Low
    };
    Some(Flag {
        kind: FlagKind::FrequencyDrop,
        severity,
        value: drop,
        explanation: format!(
            "{recent} order{} in the last 90 days; earlier rate {expected:.1} per 90 days ({:.0}% fewer)",
            if recent == 1 { "" } else { "s" },
            drop * 100.0
        ),
    })
}

/// `shrinking_orders`: mean of the last 3 orders against the earlier mean (amounts in minor units,
/// `minor_per_major` to show them in major units).
pub fn shrinking_orders(amounts: &[i64], minor_per_major: i64) -> Option<Flag> {
    if amounts.len() < 6 {
        return None;
    }
    let (early, late) = amounts.split_at(amounts.len() - 3);
    let mean = |v: &[i64]| v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
    let (e, l) = (mean(early), mean(late));
    if e <= 0.0 || l > 0.7 * e {
        return None;
    }
    let drop = 1.0 - l / e;
    let severity = if drop >= 0.6 {
        Severity::High
    } else if drop >= 0.45 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let k = minor_per_major.max(1) as f64;
    Some(Flag {
        kind: FlagKind::ShrinkingOrders,
        severity,
        value: drop,
        explanation: format!("last 3 orders averaged {:.2}; earlier orders averaged {:.2} ({:.0}% smaller)", l / k, e / k, drop * 100.0),
    })
}

/// `fewer_categories` from the category sets of each order (in time order).
pub fn fewer_categories(order_categories: &[Vec<u32>]) -> Option<Flag> {
    if order_categories.len() < 6 {
        return None;
    }
    let distinct = |v: &[Vec<u32>]| {
        let mut s: Vec<u32> = v.iter().flatten().copied().collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    let (early, late) = order_categories.split_at(order_categories.len() - 3);
    let (e, l) = (distinct(early), distinct(late));
    if e < 2 || 2 * l > e {
        return None;
    }
    Some(Flag {
        kind: FlagKind::FewerCategories,
        severity: Severity::Low,
        value: l as f64 / e as f64,
        explanation: format!("bought from {e} product categories before; only {l} in the last 3 orders"),
    })
}

/// All order-based flags of customer `c` at `as_of`.
pub fn customer_flags(log: &OrderLog, c: CustomerIdx, as_of: Instant, workspace_gap: Option<f64>) -> Vec<Flag> {
    let k = n_before(log, c, as_of);
    let times = &log.times_of(c)[..k];
    let amounts = &log.amounts_of(c)[..k];
    let mut out = Vec::new();
    out.extend(silence_beyond_rhythm(times, as_of, workspace_gap));
    out.extend(frequency_drop(times, as_of));
    out.extend(shrinking_orders(amounts, log.currency().minor_per_major()));
    if log.lines().is_some() {
        let cat = log.catalog();
        let cats: Vec<Vec<u32>> = log
            .orders_of(c)
            .take(k)
            .map(|o| log.products_of_order(o).iter().filter_map(|&p| cat.category(p)).collect())
            .collect();
        if cats.iter().any(|v| !v.is_empty()) {
            out.extend(fewer_categories(&cats));
        }
    }
    out
}

/// The action queue at `opts.as_of`: one task per flagged customer, highest stake first.
pub fn action_queue(log: &OrderLog, opts: &FlagOptions) -> Vec<Task> {
    let as_of = opts.as_of;
    let wgap = workspace_median_gap_days(log, as_of);
    let revenue: Vec<(CustomerIdx, i64)> = (0..log.n_customers() as CustomerIdx)
        .map(|c| (c, log.amounts_of(c)[..n_before(log, c, as_of)].iter().sum()))
        .collect();
    let named: Vec<(&str, i64)> = revenue.iter().map(|&(c, r)| (log.customer_id(c), r)).collect();
    let tier = tiers(&named, &opts.tiers);
    let mut tasks: Vec<Task> = (0..log.n_customers())
        .into_par_iter()
        .filter_map(|i| {
            let c = i as CustomerIdx;
            let flags = customer_flags(log, c, as_of, wgap);
            let severity = flags.iter().map(|f| f.severity).max()?;
            Some(Task {
                customer: c,
                customer_id: log.customer_id(c).to_string(),
                owner: opts.owner.clone(),
                stake: revenue[i].1,
                tier: tier[i],
                flags,
                severity,
                suggested_step: Step::for_tier(tier[i], severity),
                due: as_of + severity.due_days() * DAY,
            })
        })
        .collect();
    tasks.sort_by(|a, b| b.stake.cmp(&a.stake).then_with(|| a.customer_id.cmp(&b.customer_id)));
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, OrderLogBuilder};

    fn d(x: i64) -> Instant {
        x * DAY
    }

    #[test]
    fn silence_every_30_days_then_100_days() {
        // orders on days 0, 30, ..., 360 (13 orders, median gap 30); as-of day 460: silent 100 days,
        // ratio 100 / 30 = 3.33 -> medium
        let t: Vec<Instant> = (0..13).map(|k| d(30 * k)).collect();
        let f = silence_beyond_rhythm(&t, d(460), None).unwrap();
        assert!((f.value - 100.0 / 30.0).abs() < 1e-12);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.explanation, "usually orders every 30 days; silent for 100 days (3.3× usual)");
        // last gap normal: 25 days silent -> no flag; 59 days -> ratio 1.97, no flag
        assert!(silence_beyond_rhythm(&t, d(385), None).is_none());
        assert!(silence_beyond_rhythm(&t, d(419), None).is_none());
    }

    #[test]
    fn silence_of_one_order_customer_uses_workspace_gap() {
        // one order at day 0, as-of day 90, workspace median gap 20: ratio 4.5 -> high
        let f = silence_beyond_rhythm(&[d(0)], d(90), Some(20.0)).unwrap();
        assert_eq!(f.severity, Severity::High);
        assert!(f.explanation.contains("customers here usually reorder every 20 days; silent for 90 days (4.5× usual)"), "{}", f.explanation);
        assert!(silence_beyond_rhythm(&[d(0)], d(90), None).is_none());
    }

    #[test]
    fn frequency_drop_scenario() {
        // every 10 days from day 0 to day 360 (37 orders), then one order at day 400; as-of day 460.
        // cut = day 370: earlier 37 orders over 370 days -> 9.0 per 90 days; recent 1 -> drop 88.9%
        let mut t: Vec<Instant> = (0..37).map(|k| d(10 * k)).collect();
        t.push(d(400));
        let f = frequency_drop(&t, d(460)).unwrap();
        assert!((f.value - (1.0 - 1.0 / 9.0)).abs() < 1e-12);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.explanation, "1 order in the last 90 days; earlier rate 9.0 per 90 days (89% fewer)");
        // steady customer: orders every 10 days through day 455 -> no flag
        let steady: Vec<Instant> = (0..46).map(|k| d(10 * k)).collect();
        assert!(frequency_drop(&steady, d(460)).is_none());
    }

    #[test]
    fn shrinking_orders_scenario() {
        // earlier 100, 100, 100, 100 (mean 100.00), last 3: 30, 30, 30 -> 70% smaller, high
        let f = shrinking_orders(&[10000, 10000, 10000, 10000, 3000, 3000, 3000], 100).unwrap();
        assert!((f.value - 0.7).abs() < 1e-12);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.explanation, "last 3 orders averaged 30.00; earlier orders averaged 100.00 (70% smaller)");
        // 80 against 100: only 20% smaller, no flag
        assert!(shrinking_orders(&[10000, 10000, 10000, 8000, 8000, 8000], 100).is_none());
        assert!(shrinking_orders(&[100, 1], 100).is_none());
    }

    #[test]
    fn fewer_categories_scenario() {
        // earlier orders covered categories {0, 1, 2, 3}; the last three only {0}
        let o = vec![vec![0, 1], vec![2], vec![3], vec![0], vec![0], vec![0]];
        let f = fewer_categories(&o).unwrap();
        assert_eq!(f.explanation, "bought from 4 product categories before; only 1 in the last 3 orders");
        let same = vec![vec![0, 1], vec![0], vec![1], vec![0, 1], vec![0], vec![1]];
        assert!(fewer_categories(&same).is_none());
    }

    #[test]
    fn fewer_categories_from_order_lines() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for (k, cat) in ["oil", "filters", "tyres", "oil", "oil", "oil"].iter().enumerate() {
            b.push("c", d(10 * k as i64), 1000);
            b.push_line(&format!("{cat}-product"), Some(cat), 1);
        }
        let log = b.build();
        let flags = customer_flags(&log, 0, d(55), None);
        assert!(flags.iter().any(|f| f.kind == FlagKind::FewerCategories), "{flags:?}");
    }

    #[test]
    fn queue_orders_by_stake_and_suggests_by_tier() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        // big: every 30 days for a year, 10 000 each (130 000); silent 100 days at as-of day 460
        // small: same rhythm, 100 each (1 300)
        // fine: orders every 30 days until day 450 -> not flagged
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
            b.push("small", d(30 * k), 100);
        }
        for k in 0..16 {
            b.push("fine", d(30 * k), 100);
        }
        let log = b.build();
        let q = action_queue(&log, &FlagOptions::new(d(460)));
        let ids: Vec<&str> = q.iter().map(|t| t.customer_id.as_str()).collect();
        assert_eq!(ids, ["big", "small"]);
        assert_eq!(q[0].stake, 130_000);
        assert_eq!(q[0].tier, Tier::A);
        assert_eq!(q[0].suggested_step, Step::PersonalCall);
        assert_eq!(q[0].owner, None);
        // the silence flag is medium (3.3×), frequency drop is high (0 of 3 expected)
        assert_eq!(q[0].severity, Severity::High);
        assert_eq!(q[0].due, d(462));
        assert_eq!(q[1].tier, Tier::C);
        assert_eq!(q[1].suggested_step, Step::CheckInLetter);
        // deterministic
        assert_eq!(q, action_queue(&log, &FlagOptions::new(d(460))));
    }

    #[test]
    fn queue_does_not_depend_on_thread_count() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        // 300 customers with varied rhythms, amounts and lengths (deterministic pseudo-random)
        let mut x: u64 = 7;
        for c in 0..300 {
            let gap = 5 + (c % 40) as i64;
            let n = 1 + (c % 17) as i64;
            for k in 0..n {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                b.push(&format!("c{c}"), d(gap * k + (c % 9) as i64), 100 + (x >> 40) as i64 % 5000);
            }
        }
        let log = b.build();
        let opts = FlagOptions::new(d(500));
        let run = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| action_queue(&log, &opts));
        let one = run(1);
        assert!(!one.is_empty());
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
        assert!(one.windows(2).all(|w| (w[0].stake, &w[1].customer_id) >= (w[1].stake, &w[0].customer_id)));
    }
}
