//! What each kind of red flag is worth in one workspace: a backtest on its own history.
//!
//! At an earlier instant `at` the flags are computed from what was known then (the same
//! [`Baseline`] and rules as today), and each customer's outcome is read from the orders after it:
//! did they buy again within the horizon `H`? Flagged customers are compared with comparable
//! unflagged ones — the same stratum of purchase days before `at` (1, 2, 3, 4–5, 6–9, 10+), since
//! the number of purchases alone predicts a repurchase — by the indirectly standardised ratio
//!
//! `lift = Σ returned flagged / Σ_strata flagged_s × (returned unflagged_s / unflagged_s)`,
//!
//! the flagged customers' repurchase rate over the rate they would have had as unflagged
//! customers of their strata (strata without unflagged customers are left out). A lift of 0.7
//! means flagged customers bought again at 0.7× the rate of comparable ones: a real warning. A
//! kind whose lift, smoothed by one expected repurchase on each side
//! (`(returned + 1) / (expected + 1)`, so a handful of customers cannot decide it), is above
//! [`NO_SIGNAL`] (0.9) carries no signal here: it still informs (it is shown with its lift) but
//! opens no task. A kind never flagged in the backtest (or without comparable customers) is not
//! judged and opens tasks.
//!
//! [`backtest`] is the product's use: `at = as-of − H` with `H` from the data's rhythm
//! ([`horizon_days`]: the 80th percentile of the gaps between purchase days, 30–365 days), so the
//! outcome window ends at as-of and nothing after as-of is read. Customers lost at `at` (no order
//! within the inactivity window) are left out, as in the queue. Over more than 25,000 customers
//! an evenly spaced sample of 25,000 is used (of 100,000 for the horizon).

use crate::baseline::Baseline;
use crate::flags::{activity_flags, order_flags, Activity, FlagKind};
use crate::nbo::{service_chains, ChainIndex, NboOptions};
use crate::rfm::n_before;
use crate::segments::Facts;
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use serde::Serialize;

/// A kind whose lift is above this carries no signal and opens no task.
pub const NO_SIGNAL: f64 = 0.9;

/// Customers sampled at most by [`flag_worth`].
const SAMPLE: usize = 25_000;

/// Strata of purchase days before the backtest instant: 1, 2, 3, 4–5, 6–9, 10+.
const STRATA: usize = 6;

fn stratum(visits: u32) -> usize {
    match visits {
        0 | 1 => 0,
        2 => 1,
        3 => 2,
        4..=5 => 3,
        6..=9 => 4,
        _ => 5,
    }
}

/// The backtest of one kind of flag.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindWorth {
    pub kind: FlagKind,
    /// Customers flagged at the backtest instant, and how many of them bought again within H.
    pub flagged: u32,
    pub flagged_returned: u32,
    /// Unflagged customers of the same strata, and how many of them bought again.
    pub unflagged: u32,
    pub unflagged_returned: u32,
    /// Flagged customers expected to buy again at their strata's unflagged rates.
    pub expected_returned: f64,
    /// Observed over expected (see the module docs); `None` when nothing can be compared.
    pub lift: Option<f64>,
    /// `(returned + 1) / (expected + 1)`: the lift that decides `opens_tasks`.
    pub smoothed_lift: Option<f64>,
    /// Whether this kind opens tasks: not judged (no lift), or a smoothed lift of at most
    /// [`NO_SIGNAL`].
    pub opens_tasks: bool,
}

impl KindWorth {
    /// The flagged customers' repurchase rate.
    pub fn flagged_rate(&self) -> Option<f64> {
        (self.flagged > 0).then(|| self.flagged_returned as f64 / self.flagged as f64)
    }

    /// The unflagged customers' repurchase rate (the same strata).
    pub fn unflagged_rate(&self) -> Option<f64> {
        (self.unflagged > 0).then(|| self.unflagged_returned as f64 / self.unflagged as f64)
    }
}

/// The backtest of every kind of flag (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlagWorth {
    /// The instant the flags were computed at, and the horizon of the outcome.
    pub at: Instant,
    pub horizon_days: u32,
    /// Customers compared (with an order before `at`, not lost, in the sample).
    pub customers: u32,
    /// One entry per kind, in [`FlagKind::ALL`] order (kinds never flagged included).
    pub kinds: Vec<KindWorth>,
}

impl FlagWorth {
    /// The backtest of `kind`.
    pub fn get(&self, kind: FlagKind) -> Option<&KindWorth> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// Whether flags of `kind` open tasks (unknown kinds do).
    pub fn opens_tasks(&self, kind: FlagKind) -> bool {
        self.get(kind).is_none_or(|k| k.opens_tasks)
    }

    /// The lift of `kind`, when measured.
    pub fn lift(&self, kind: FlagKind) -> Option<f64> {
        self.get(kind).and_then(|k| k.lift)
    }

    /// Bit per [`FlagKind`] of the kinds that open no task.
    pub fn silent_kinds(&self) -> u16 {
        self.kinds.iter().filter(|k| !k.opens_tasks).fold(0, |m, k| m | 1 << k.kind as u16)
    }
}

/// The backtest horizon H in days from the data's rhythm: the 80th percentile of the gaps between
/// purchase days before `as_of`, within 30–365 days (365 without gaps).
pub fn horizon_days(log: &OrderLog, as_of: Instant) -> u32 {
    let stride = log.n_customers().div_ceil(4 * SAMPLE).max(1);
    let mut gaps: Vec<f64> = (0..log.n_customers().div_ceil(stride))
        .into_par_iter()
        .map(|i| (i * stride) as CustomerIdx)
        .flat_map_iter(|c| {
            let times = &log.times_of(c)[..n_before(log, c, as_of)];
            crate::baseline::gap_days(times).collect::<Vec<_>>()
        })
        .collect();
    if gaps.is_empty() {
        return 365;
    }
    let i = ((0.8 * gaps.len() as f64).ceil() as usize).clamp(1, gaps.len()) - 1;
    let (_, q, _) = gaps.select_nth_unstable_by(i, f64::total_cmp);
    (q.round() as u32).clamp(30, 365)
}

/// The backtest at `as_of − H` with H from [`horizon_days`], flags raised below `level`,
/// customers silent for more than `window_days` at that instant left out; with `chains`
/// (the service chains' options, their `as_of` ignored) `missed_initiative` too.
pub fn backtest(log: &OrderLog, activity: Option<&Activity>, as_of: Instant, level: f64, window_days: u32, chains: Option<&NboOptions>) -> FlagWorth {
    let h = horizon_days(log, as_of);
    flag_worth(log, activity, as_of - h as i64 * DAY, h, level, window_days, chains)
}

/// Flags at `at` against purchases in `[at, at + horizon_days)` (see the module docs); with
/// `chains`, `missed_initiative` on the service chains learned from the orders before `at`.
pub fn flag_worth(
    log: &OrderLog,
    activity: Option<&Activity>,
    at: Instant,
    horizon_days: u32,
    level: f64,
    window_days: u32,
    chains: Option<&NboOptions>,
) -> FlagWorth {
    let base = Baseline::fit(log, activity, at, level);
    let nbo = chains.map(|o| NboOptions { as_of: at, ..*o });
    let learned = nbo.as_ref().map(|o| service_chains(log, o)).unwrap_or_default();
    let index = nbo.as_ref().map(|o| (ChainIndex::new(log, o.level, &learned), o)).filter(|(ix, _)| !ix.is_empty());
    let end = at + horizon_days as i64 * DAY;
    let n = log.n_customers();
    let stride = n.div_ceil(SAMPLE).max(1);
    let minor = log.currency().minor_per_major();
    let nk = FlagKind::ALL.len();
    // counts[stratum][kind] = (flagged, flagged returned); totals[stratum] = (all, returned)
    type Counts = (Vec<[(u32, u32); STRATA]>, [(u32, u32); STRATA]);
    let zero = || -> Counts { (vec![[(0, 0); STRATA]; nk], [(0, 0); STRATA]) };
    let (counts, totals) = (0..n.div_ceil(stride))
        .into_par_iter()
        .map(|i| (i * stride) as CustomerIdx)
        .fold(
            || (zero(), index.as_ref().map(|(ix, _)| ix.scratch())),
            |(mut acc, mut bought), c| {
                let k = n_before(log, c, at);
                if k == 0 {
                    return (acc, bought);
                }
                let facts = Facts::of(&log.times_of(c)[..k]);
                let act = activity.and_then(|a| a.get(log.customer_id(c)));
                if crate::actions::is_lost_at(&facts, act, at, window_days) {
                    return (acc, bought);
                }
                let returned = (n_before(log, c, end) > k) as u32;
                let s = stratum(facts.visits);
                let mut seen = 0u16;
                order_flags(log, c, k, &facts, &base, &mut |f| {
                    seen |= 1 << f.kind as u16;
                    false
                });
                if let Some(a) = act {
                    for f in activity_flags(a, &base, minor) {
                        seen |= 1 << f.kind as u16;
                    }
                }
                if let (Some((ix, o)), Some(b)) = (&index, bought.as_mut()) {
                    if ix.missed(log, c, k, b, act, o).is_some() {
                        seen |= 1 << FlagKind::MissedInitiative as u16;
                    }
                }
                for (j, kind) in FlagKind::ALL.iter().enumerate() {
                    if seen & (1 << *kind as u16) != 0 {
                        acc.0[j][s].0 += 1;
                        acc.0[j][s].1 += returned;
                    }
                }
                acc.1[s].0 += 1;
                acc.1[s].1 += returned;
                (acc, bought)
            },
        )
        .map(|(acc, _)| acc)
        .reduce(zero, |mut a, b| {
            for (x, y) in a.0.iter_mut().zip(&b.0) {
                for s in 0..STRATA {
                    x[s].0 += y[s].0;
                    x[s].1 += y[s].1;
                }
            }
            for s in 0..STRATA {
                a.1[s].0 += b.1[s].0;
                a.1[s].1 += b.1[s].1;
            }
            a
        });
    let kinds = FlagKind::ALL
        .iter()
        .enumerate()
        .map(|(j, &kind)| {
            let mut w = KindWorth {
                kind,
                flagged: 0,
                flagged_returned: 0,
                unflagged: 0,
                unflagged_returned: 0,
                expected_returned: 0.0,
                lift: None,
                smoothed_lift: None,
                opens_tasks: true,
            };
            for s in 0..STRATA {
                let (f, fr) = counts[j][s];
                let (u, ur) = (totals[s].0 - f, totals[s].1 - fr);
                if f == 0 || u == 0 {
                    continue;
                }
                w.flagged += f;
                w.flagged_returned += fr;
                w.unflagged += u;
                w.unflagged_returned += ur;
                w.expected_returned += f as f64 * ur as f64 / u as f64;
            }
            if w.expected_returned > 0.0 {
                w.lift = Some(w.flagged_returned as f64 / w.expected_returned);
            }
            if w.flagged > 0 {
                w.smoothed_lift = Some((w.flagged_returned as f64 + 1.0) / (w.expected_returned + 1.0));
            }
            w.opens_tasks = w.smoothed_lift.is_none_or(|l| l <= NO_SIGNAL);
            w
        })
        .collect();
    FlagWorth { at, horizon_days, customers: totals.iter().map(|t| t.0).sum(), kinds }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, OrderLogBuilder};

    fn d(x: i64) -> Instant {
        x * DAY
    }

    /// 200 monthly buyers: half keep buying after day 600, half stop at day 600 minus a random
    /// 0–120 days. Flags at day 600 against purchases in the next 90 days: silence flags those
    /// who stopped long ago, and they never come back — lift 0; a customer in the "keeps buying"
    /// half is never silent.
    #[test]
    fn silence_has_worth_when_the_silent_do_not_return() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for i in 0..200i64 {
            let stop = if i % 2 == 0 { 800 } else { 600 - (i * 37) % 120 };
            let mut t = i % 30;
            while t < stop {
                b.push(&format!("c{i}"), d(t), 1000);
                t += 30;
            }
        }
        let log = b.build();
        let w = flag_worth(&log, None, d(600), 90, 0.05, 365, None);
        let s = w.get(FlagKind::SilenceBeyondRhythm).unwrap();
        assert!(s.flagged >= 30, "{s:?}");
        assert_eq!(s.flagged_returned, 0);
        assert_eq!(s.lift, Some(0.0));
        assert!(s.opens_tasks);
        assert_eq!(w.customers, 200);
        assert!(w.opens_tasks(FlagKind::ShrinkingOrders));
        assert_eq!(horizon_days(&log, d(600)), 30);
    }

    /// `missed_initiative` in the backtest: 100 customers bought `x` then `y` three weeks later
    /// and went on buying (the chain `x → y` at 50%); 100 bought `x` at day 200–219 and nothing
    /// since; 100 one-time buyers of `z` at day 250 who come back at day 320 (their stratum's
    /// unflagged) and 100 steady monthly buyers of `z`. At day 300 (chains learned from the
    /// orders before it) the 100 who missed `y` are flagged and none of them returns: lift 0.
    #[test]
    fn missed_initiative_is_backtested_on_chains_known_then() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        let mut order = |id: &str, day: i64, item: &str| {
            b.push(id, d(day), 1000);
            b.push_line(item, Some(item), 1);
        };
        for i in 0..100i64 {
            let x = 200 + i % 20;
            order(&format!("took{i}"), x, "x");
            order(&format!("took{i}"), x + 21, "y");
            for t in (x + 40..400).step_by(30) {
                order(&format!("took{i}"), t, "z");
            }
            order(&format!("missed{i}"), x, "x");
            order(&format!("once{i}"), 250, "z");
            order(&format!("once{i}"), 320, "z");
            for t in (i % 30..400).step_by(30) {
                order(&format!("steady{i}"), t, "z");
            }
        }
        let log = b.build();
        let nbo = NboOptions::new(d(0));
        let w = flag_worth(&log, None, d(300), 90, 0.05, 365, Some(&nbo));
        let m = w.get(FlagKind::MissedInitiative).unwrap();
        assert_eq!((m.flagged, m.flagged_returned), (100, 0), "{m:?}");
        assert_eq!(m.lift, Some(0.0));
        assert!(m.opens_tasks);
        // without the chains' options the kind is not judged
        let w = flag_worth(&log, None, d(300), 90, 0.05, 365, None);
        assert_eq!(w.get(FlagKind::MissedInitiative).unwrap().flagged, 0);
        // the chain is only known from orders before the backtest instant: at day 215 no
        // customer has yet bought `y`, so nobody is flagged
        let w = flag_worth(&log, None, d(215), 90, 0.05, 365, Some(&nbo));
        assert_eq!(w.get(FlagKind::MissedInitiative).unwrap().flagged, 0);
    }
}
