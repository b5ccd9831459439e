//! Named RFM segments, value tiers A/B/C with an effort recommendation, and lifecycle states.
//!
//! # Segments
//!
//! From the [`crate::rfm`] scores. The segment is read from the recency (R, rows) × frequency
//! (F, columns) grid below; the monetary score only moves an *at risk* customer with M = 5 to
//! *can't lose them*.
//!
//! | R \ F | 1              | 2                   | 3                   | 4               | 5               |
//! |-------|----------------|---------------------|---------------------|-----------------|-----------------|
//! | 5     | new            | potential loyalists | potential loyalists | champions       | champions       |
//! | 4     | promising      | potential loyalists | potential loyalists | loyal           | loyal           |
//! | 3     | about to sleep | about to sleep      | need attention      | loyal           | loyal           |
//! | 2     | hibernating    | hibernating         | at risk             | at risk         | can't lose them |
//! | 1     | lost           | lost                | at risk             | at risk         | can't lose them |
//!
//! # Value tiers
//!
//! Customers sorted by revenue (descending, then customer id): a customer is in tier **A** when the
//! revenue of the customers before it is below `a_share` (default 50%) of the total — the top
//! customers making half the revenue; **B** when it is below `a_share + b_share` (default 80%);
//! otherwise **C**. Customers without revenue are C. Effort: A "personal call by the owner",
//! B "personal letter", C "template letter".
//!
//! # Lifecycle state
//!
//! With the window `W` (default 365 days), the customer's typical gap `g` (median gap between their
//! orders when they have at least 3 at distinct instants — zero gaps are ignored; otherwise the workspace median gap, see
//! [`crate::rfm::workspace_median_gap_days`]), the days since the last order `s`, and the sleeping
//! threshold `T = min(2g, W)` (`T = W` when no gap is known), the first rule that holds wins:
//!
//! | state       | rule                                                                     |
//! |-------------|--------------------------------------------------------------------------|
//! | lost        | `s > W`                                                                  |
//! | sleeping    | `s > T` (past twice their usual gap)                                     |
//! | new         | one order only                                                           |
//! | reactivated | the gap before the last order was longer than `T` (they came back)       |
//! | passive     | `s > g`, or the last gap was longer than 1.5 `g` (buying less often)     |
//! | active      | otherwise                                                                |

use crate::rfm::{median_gap_days_min, n_before, quintile_scores, workspace_median_gap_days, Rfm};
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Named RFM segment (snake_case in JSON and in the store: [`Segment::key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Champions,
    Loyal,
    PotentialLoyalists,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

impl Segment {
    pub const ALL: [Segment; 11] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::PotentialLoyalists,
        Segment::New,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::AtRisk,
        Segment::CantLoseThem,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The segment of scores (R, F, M), per the table in the module docs.
    pub fn from_scores(r: u8, f: u8, m: u8) -> Segment {
        use Segment::*;
        let (r, f) = (r.clamp(1, 5), f.clamp(1, 5));
        if r == 5 {
            if f >= 4 {
                Champions
            } else if f >= 2 {
                PotentialLoyalists
            } else {
                New
            }
        } else if r == 4 {
            if f >= 4 {
                Loyal
            } else if f >= 2 {
                PotentialLoyalists
            } else {
                Promising
            }
        } else if r == 3 {
            if f >= 4 {
                Loyal
            } else if f == 3 {
                NeedAttention
            } else {
                AboutToSleep
            }
        } else if f == 5 || (f >= 3 && m >= 5) {
            CantLoseThem
        } else if f >= 3 {
            AtRisk
        } else if r == 2 {
            Hibernating
        } else {
            Lost
        }
    }

    /// Machine name (snake_case), as in JSON and CSV: `cant_lose_them`, `at_risk`, ...
    pub fn key(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalists => "potential_loyalists",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need_attention",
            Segment::AboutToSleep => "about_to_sleep",
            Segment::AtRisk => "at_risk",
            Segment::CantLoseThem => "cant_lose_them",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }

    /// The segment whose [`Segment::key`] is `s`.
    pub fn from_key(s: &str) -> Option<Segment> {
        Segment::ALL.into_iter().find(|x| x.key() == s)
    }

    /// Display name: `can't lose them`, `at risk`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalists => "potential loyalists",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need attention",
            Segment::AboutToSleep => "about to sleep",
            Segment::AtRisk => "at risk",
            Segment::CantLoseThem => "can't lose them",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Value tier by share of revenue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    A,
    B,
    C,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::A, Tier::B, Tier::C];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
        }
    }

    /// The tier named `s` (`A`, `B`, `C`; any case).
    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// How much personal effort a customer of this tier deserves.
    pub fn effort(self) -> &'static str {
        match self {
            Tier::A => "personal call by the owner",
            Tier::B => "personal letter",
            Tier::C => "template letter",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Revenue shares bounding tiers A and B.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TierOptions {
    /// Tier A: the top customers making this share of revenue (default 0.5).
    pub a_share: f64,
    /// Tier B: the next customers making this share (default 0.3).
    pub b_share: f64,
}

impl Default for TierOptions {
    fn default() -> Self {
        TierOptions { a_share: 0.5, b_share: 0.3 }
    }
}

/// Tier of each customer given its revenue (`(customer id, revenue)` pairs; result aligned).
pub fn tiers(revenue: &[(&str, i64)], opts: &TierOptions) -> Vec<Tier> {
    let amounts: Vec<i64> = revenue.iter().map(|r| r.1).collect();
    tiers_by(&amounts, |i| revenue[i].0, opts)
}

/// [`tiers`] from a revenue column and the customer id of each position.
fn tiers_by<'a>(revenue: &[i64], id: impl Fn(usize) -> &'a str + Sync, opts: &TierOptions) -> Vec<Tier> {
    let total: i128 = revenue.par_iter().map(|&r| r.max(0) as i128).sum();
    let tier_at = |before: i128, r: i128| {
        if r <= 0 || total <= 0 {
            return Tier::C;
        }
        let share = before as f64 / total as f64;
        if share < opts.a_share {
            Tier::A
        } else if share < opts.a_share + opts.b_share {
            Tier::B
        } else {
            Tier::C
        }
    };
    // Revenue descending; equal revenue by id, then position (ids may repeat in `tiers`' input).
    // Within a run of equal revenue the order only matters when a tier boundary falls inside it,
    // so only such runs are sorted by id.
    let mut order: Vec<(std::cmp::Reverse<i64>, u32)> = revenue.iter().enumerate().map(|(i, &r)| (std::cmp::Reverse(r), i as u32)).collect();
    order.par_sort_unstable();
    let mut out = vec![Tier::C; revenue.len()];
    let mut before: i128 = 0;
    let mut i = 0;
    while i < order.len() {
        let j = i + order[i..].partition_point(|x| x.0 == order[i].0);
        let r = order[i].0 .0.max(0) as i128;
        let run = &mut order[i..j];
        if tier_at(before, r) != tier_at(before + r * (run.len() as i128 - 1), r) {
            run.sort_by(|a, b| id(a.1 as usize).cmp(id(b.1 as usize)).then(a.1.cmp(&b.1)));
        }
        for &(_, x) in run.iter() {
            out[x as usize] = tier_at(before, r);
            before += r;
        }
        i = j;
    }
    out
}

/// Lifecycle state of a customer at the as-of date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    New,
    Active,
    Passive,
    Sleeping,
    Lost,
    Reactivated,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Active => "active",
            State::Passive => "passive",
            State::Sleeping => "sleeping",
            State::Lost => "lost",
            State::Reactivated => "reactivated",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Typical gap of a customer with these order times: their own median gap when they have at least
/// two positive gaps (≥ 3 orders at distinct instants), else the workspace median gap.
pub fn typical_gap_days(times: &[Instant], workspace_gap: Option<f64>) -> Option<f64> {
    median_gap_days_min(times, 2).or(workspace_gap)
}

/// Lifecycle state from the order times before `as_of` (non-empty, sorted), per the module docs.
pub fn lifecycle_state(times: &[Instant], as_of: Instant, window_days: f64, workspace_gap: Option<f64>) -> Option<State> {
    (!times.is_empty()).then(|| Facts::of(times).state(as_of, window_days, workspace_gap))
}

/// What one customer's orders before as-of say, in one pass over their order times: everything
/// the RFM scores, the lifecycle state, the silence flag and the lost test need.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Facts {
    /// Orders before as-of (0: the customer is not scored).
    pub orders: u32,
    /// Distinct order instants (orders at the same instant are one visit).
    pub visits: u32,
    /// The last order's instant (meaningful when `orders > 0`).
    pub last: Instant,
    /// Seconds between the last two orders (`None` with fewer than two orders).
    pub last_gap: Option<i64>,
    /// Median of the positive gaps in days when there are at least two (≥ 3 visits).
    pub own_gap: Option<f64>,
}

impl Facts {
    /// The facts of order times (sorted, all before as-of).
    pub fn of(times: &[Instant]) -> Facts {
        let Some(&last) = times.last() else { return Facts::default() };
        let visits = 1 + times.windows(2).filter(|w| w[1] > w[0]).count() as u32;
        Facts {
            orders: times.len() as u32,
            visits,
            last,
            last_gap: (times.len() >= 2).then(|| last - times[times.len() - 2]),
            own_gap: if visits >= 3 { median_gap_days_min(times, 2) } else { None },
        }
    }

    /// The typical gap: their own, else the workspace's; `None` when unknown or zero.
    pub fn typical_gap(&self, workspace_gap: Option<f64>) -> Option<f64> {
        self.own_gap.or(workspace_gap).filter(|g| *g > 0.0)
    }

    /// Lifecycle state at `as_of` (the customer has orders before it), per the module docs.
    pub fn state(&self, as_of: Instant, window_days: f64, workspace_gap: Option<f64>) -> State {
        let s = (as_of - self.last) as f64 / DAY as f64;
        let g = self.typical_gap(workspace_gap);
        let t = g.map_or(window_days, |g| (2.0 * g).min(window_days));
        let last_gap = self.last_gap.map(|lg| lg as f64 / DAY as f64);
        if s > window_days {
            State::Lost
        } else if s > t {
            State::Sleeping
        } else if self.orders == 1 {
            State::New
        } else if last_gap.is_some_and(|lg| lg > t) {
            State::Reactivated
        } else if g.is_some_and(|g| s > g || last_gap.is_some_and(|lg| lg > 1.5 * g)) {
            State::Passive
        } else {
            State::Active
        }
    }
}

/// Options of [`segment_customers`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentOptions {
    pub as_of: Instant,
    /// The window W in days (default 365).
    pub window_days: u32,
    pub tiers: TierOptions,
}

impl SegmentOptions {
    pub fn new(as_of: Instant) -> Self {
        SegmentOptions { as_of, window_days: 365, tiers: TierOptions::default() }
    }
}

/// One customer's RFM, segment, tier and state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerSegment {
    #[serde(flatten)]
    pub rfm: Rfm,
    pub segment: Segment,
    pub tier: Tier,
    pub state: State,
}

/// Size and revenue share of one segment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentSummary {
    pub segment: Segment,
    pub customers: usize,
    /// Share of total revenue, `None` when the total is zero.
    pub revenue_share: Option<f64>,
}

/// Per-customer figures the segments and the action queue both need, computed once in one
/// parallel pass over the orders: revenue before as-of, [`Facts`], value tier (by customer index)
/// and the workspace median gap.
#[derive(Clone, Debug, PartialEq)]
pub struct Basis {
    pub as_of: Instant,
    /// Revenue before as-of per customer index, minor units.
    pub revenue: Vec<i64>,
    /// Order facts before as-of per customer index.
    pub facts: Vec<Facts>,
    /// Tier per customer index (customers without revenue are C).
    pub tier: Vec<Tier>,
    pub workspace_gap: Option<f64>,
}

impl Basis {
    pub fn new(log: &OrderLog, as_of: Instant, tier_opts: &TierOptions) -> Basis {
        let ((revenue, facts), workspace_gap) = rayon::join(
            || {
                (0..log.n_customers() as CustomerIdx)
                    .into_par_iter()
                    .map(|c| {
                        let k = n_before(log, c, as_of);
                        (log.amounts_of(c)[..k].iter().sum::<i64>(), Facts::of(&log.times_of(c)[..k]))
                    })
                    .unzip::<_, _, Vec<i64>, Vec<Facts>>()
            },
            || workspace_median_gap_days(log, as_of),
        );
        let tier = tiers_by(&revenue, |i| log.customer_id(i as CustomerIdx), tier_opts);
        Basis { as_of, revenue, facts, tier, workspace_gap }
    }
}

/// Segments of every customer with an order before `as_of`, in customer index order.
pub fn segment_customers(log: &OrderLog, opts: &SegmentOptions) -> Vec<CustomerSegment> {
    segment_customers_with(log, opts, &Basis::new(log, opts.as_of, &opts.tiers))
}

/// [`segment_customers`] with the shared figures already computed (`basis` must be for the same
/// as-of and tier options). RFM measures, scores and states come from the basis without another
/// pass over the orders.
pub fn segment_customers_with(_log: &OrderLog, opts: &SegmentOptions, basis: &Basis) -> Vec<CustomerSegment> {
    let scored: Vec<CustomerIdx> = (0..basis.facts.len() as CustomerIdx).into_par_iter().filter(|&c| basis.facts[c as usize].orders > 0).collect();
    let column = |f: &(dyn Fn(usize) -> i64 + Sync)| scored.par_iter().map(|&c| f(c as usize)).collect::<Vec<i64>>();
    let recency = |c: usize| (opts.as_of - basis.facts[c].last).div_euclid(DAY);
    // Recency: fewer days is better, so score the negated value.
    let ((r, f), m) = rayon::join(
        || rayon::join(|| quintile_scores(&column(&|c| -recency(c))), || quintile_scores(&column(&|c| basis.facts[c].orders as i64))),
        || quintile_scores(&column(&|c| basis.revenue[c])),
    );
    let window = opts.window_days as f64;
    scored
        .par_iter()
        .enumerate()
        .map(|(i, &c)| {
            let x = &basis.facts[c as usize];
            let rfm = Rfm {
                customer: c,
                recency_days: recency(c as usize),
                frequency: x.orders,
                monetary: basis.revenue[c as usize],
                recency_score: r[i],
                frequency_score: f[i],
                monetary_score: m[i],
            };
            CustomerSegment {
                segment: Segment::from_scores(rfm.recency_score, rfm.frequency_score, rfm.monetary_score),
                tier: basis.tier[c as usize],
                state: x.state(opts.as_of, window, basis.workspace_gap),
                rfm,
            }
        })
        .collect()
}

/// Customers and revenue share per segment, in [`Segment::ALL`] order, empty segments included.
pub fn summarize(customers: &[CustomerSegment]) -> Vec<SegmentSummary> {
    let total: i128 = customers.iter().map(|c| c.rfm.monetary as i128).sum();
    Segment::ALL
        .iter()
        .map(|&s| {
            let (n, rev) = customers.iter().filter(|c| c.segment == s).fold((0, 0i128), |(n, r), c| (n + 1, r + c.rfm.monetary as i128));
            SegmentSummary { segment: s, customers: n, revenue_share: (total != 0).then(|| rev as f64 / total as f64) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, OrderLogBuilder};

    #[test]
    fn grid_corners_and_m_override() {
        use Segment::*;
        assert_eq!(Segment::from_scores(5, 5, 5), Champions);
        assert_eq!(Segment::from_scores(5, 1, 1), New);
        assert_eq!(Segment::from_scores(4, 1, 3), Promising);
        assert_eq!(Segment::from_scores(4, 5, 1), Loyal);
        assert_eq!(Segment::from_scores(3, 3, 3), NeedAttention);
        assert_eq!(Segment::from_scores(3, 2, 3), AboutToSleep);
        assert_eq!(Segment::from_scores(2, 3, 4), AtRisk);
        assert_eq!(Segment::from_scores(2, 3, 5), CantLoseThem);
        assert_eq!(Segment::from_scores(1, 5, 1), CantLoseThem);
        assert_eq!(Segment::from_scores(2, 1, 5), Hibernating);
        assert_eq!(Segment::from_scores(1, 2, 5), Lost);
        // every cell maps somewhere and all 11 segments are reachable
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(Segment::from_scores(r, f, m));
                }
            }
        }
        assert_eq!(seen.len(), 11);
        for s in Segment::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.key());
        }
    }

    #[test]
    fn tiers_by_revenue_share() {
        // total 1000: a 500 (before 0% -> A), b 300 (before 50% -> B), c 100 (before 80% -> C),
        // d 100 (C), e 0 (C)
        let rev = [("c", 100), ("a", 500), ("e", 0), ("b", 300), ("d", 100)];
        assert_eq!(tiers(&rev, &TierOptions::default()), vec![Tier::C, Tier::A, Tier::C, Tier::B, Tier::C]);
        // configurable: top 90% -> a and b in A, c (before 80%) too
        let t = tiers(&rev, &TierOptions { a_share: 0.9, b_share: 0.05 });
        assert_eq!(t, vec![Tier::A, Tier::A, Tier::C, Tier::A, Tier::B]);
        // equal revenue across a tier boundary: by id
        let same = [("d", 100), ("c", 100), ("b", 100), ("a", 100)];
        assert_eq!(tiers(&same, &TierOptions::default()), vec![Tier::B, Tier::B, Tier::A, Tier::A]);
        assert_eq!(Tier::A.effort(), "personal call by the owner");
        assert_eq!(Tier::C.effort(), "template letter");
    }

    #[test]
    fn lifecycle_rules() {
        let d = |x: i64| x * DAY;
        let every30: Vec<i64> = (0..13).map(|k| d(30 * k)).collect(); // last order day 360, g = 30
        let w = 365.0;
        assert_eq!(lifecycle_state(&every30, d(370), w, None), Some(State::Active)); // s = 10
        assert_eq!(lifecycle_state(&every30, d(400), w, None), Some(State::Passive)); // s = 40 > 30
        assert_eq!(lifecycle_state(&every30, d(421), w, None), Some(State::Sleeping)); // s = 61 > 60
        assert_eq!(lifecycle_state(&every30, d(726), w, None), Some(State::Lost)); // s = 366 > W
        assert_eq!(lifecycle_state(&[d(0)], d(10), w, Some(30.0)), Some(State::New));
        assert_eq!(lifecycle_state(&[d(0)], d(61), w, Some(30.0)), Some(State::Sleeping));
        // came back after 200 days of silence (gaps 30, 30, 30, 200: median 30, T = 60)
        let back = [d(0), d(30), d(60), d(90), d(290)];
        assert_eq!(lifecycle_state(&back, d(300), w, None), Some(State::Reactivated));
        // last gap 50 > 1.5 × 30 but < T: passive
        let slower = [d(0), d(30), d(60), d(90), d(140)];
        assert_eq!(lifecycle_state(&slower, d(145), w, None), Some(State::Passive));
        assert_eq!(lifecycle_state(&[], d(1), w, None), None);
    }

    #[test]
    fn segment_customers_and_summary() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for k in 0..10 {
            b.push("loyal", k * 30 * DAY, 1000);
        }
        b.push("once", 5 * DAY, 500);
        b.push("once2", 6 * DAY, 400);
        let log = b.build();
        let segs = segment_customers(&log, &SegmentOptions::new(280 * DAY));
        assert_eq!(segs.len(), 3);
        // Scores 1 + ⌊5·b/n⌋ with b customers strictly worse: loyal is best of 3 on each, 1 + ⌊10/3⌋ = 4.
        let loyal = segs.iter().find(|s| log.customer_id(s.rfm.customer) == "loyal").unwrap();
        assert_eq!((loyal.rfm.recency_score, loyal.rfm.frequency_score, loyal.rfm.monetary_score), (4, 4, 4));
        assert_eq!(loyal.segment, Segment::Loyal);
        assert_eq!(loyal.tier, Tier::A);
        assert_eq!(loyal.state, State::Active);
        let sum = summarize(&segs);
        assert_eq!(sum.len(), 11);
        let l = sum.iter().find(|s| s.segment == Segment::Loyal).unwrap();
        assert_eq!(l.customers, 1);
        assert!((l.revenue_share.unwrap() - 10000.0 / 10900.0).abs() < 1e-12);
        assert_eq!(sum.iter().map(|s| s.customers).sum::<usize>(), 3);
    }
}
