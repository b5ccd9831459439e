//! Next best offer: service chains learned from what customers bought in sequence, cross-sell and
//! upsell candidates per customer with their evidence, replenishment reminders from the customer's
//! own repurchase interval, and the `missed_initiative` red flag.
//!
//! Everything is computed from the order lines of orders placed strictly before `as_of`; a log
//! without lines has no chains and no offers. Items are products, or their categories with
//! [`Level::Category`]. Orders at the same instant are one visit.
//!
//! # Service chains `X → Y`
//!
//! With the window `W` (default 60 days):
//!
//! - **eligible**: customers whose first purchase of `X` leaves a full window before as-of
//!   (`first_X + W ≤ as_of`);
//! - **support**: of those, customers who bought `Y` after that first `X` and within `W`
//!   (`first_X < t_Y ≤ first_X + W`); `support_share` = support ÷ customers with any order;
//! - **confidence** = support ÷ eligible ("41% of customers who bought X bought Y within 60 days");
//! - **median delay**: median days from the first `X` to the first such `Y`;
//! - **baseline** of `Y`: the same follow rate of `Y` averaged over every other first purchase
//!   (Σ support(X′→Y) ÷ Σ eligible(X′) over X′ ≠ Y); **lift** = confidence ÷ baseline.
//!
//! A chain is reported when support ≥ `min_support` (10), confidence ≥ `min_confidence` (0.1),
//! lift ≥ `min_lift` (2) and the lower end of the 95% Wilson interval of the confidence is above the
//! baseline — so a pair of products bought independently of each other is not reported however
//! common both are. `X → X` (a repurchase within `W`) is a chain too, marked `replenishment`.
//! Chains are sorted by confidence, then support (descending), then names.
//!
//! # Offers per customer
//!
//! - **cross-sell / upsell**: for a reported chain `X → Y` (`X ≠ Y`) where the customer bought
//!   `X` at most `2W` days ago and has not bought `Y` since their first `X`. It is an *upsell* when
//!   `X` and `Y` share a category and the median value of orders holding `Y` is higher than of
//!   those holding `X`; otherwise *cross-sell*. Per `Y` the most confident chain is quoted.
//! - **replenishment**: a *consumable* — an item with a reported `X → X` chain, i.e. one that
//!   customers demonstrably rebuy — that the customer bought at ≥ 2 distinct instants; their own interval
//!   `i` = median gap between those purchases; due at `last + i`; offered when due at most
//!   `replenish_ahead_days` (7) after as-of and at most `i` days overdue.
//!
//! Replenishments first (earliest due), then cross-sell/upsell by confidence; at most
//! `max_offers` (3) per customer; customers in log order.
//!
//! # `missed_initiative`
//!
//! The customer bought `X`; a reported chain `X → Y` (`X ≠ Y`) exists; at least its median delay
//! and at most `2W` days have passed since their last `X`; they have not bought `Y` since their
//! first `X`; and no `offer` event naming `Y` is on record since that `X`. The strongest such chain
//! (confidence) is quoted. Severity medium when confidence ≥ 0.4, else low.

use crate::flags::{days, every, fmt_days, CustomerActivity, EventKind, Flag, FlagKind, Severity};
use crate::rfm::n_before;
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// What a chain links: products or their categories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Product,
    Category,
}

/// Options of the chain miner and the offers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NboOptions {
    pub as_of: Instant,
    pub level: Level,
    /// The window `W` in days (default 60).
    pub window_days: u32,
    pub min_support: u32,
    pub min_confidence: f64,
    pub min_lift: f64,
    pub max_offers: usize,
    pub replenish_ahead_days: u32,
}

impl NboOptions {
    pub fn new(as_of: Instant) -> Self {
        NboOptions { as_of, level: Level::Product, window_days: 60, min_support: 10, min_confidence: 0.1, min_lift: 2.0, max_offers: 3, replenish_ahead_days: 7 }
    }
}

/// One service chain `from → to`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chain {
    /// Item index (product or category, per the level).
    #[serde(skip)]
    pub from_item: u32,
    #[serde(skip)]
    pub to_item: u32,
    pub from: String,
    pub to: String,
    /// Customers who bought `from` then `to` within the window.
    pub support: u32,
    /// `support` ÷ customers with any order.
    pub support_share: f64,
    /// Customers whose first `from` leaves a full window.
    pub eligible: u32,
    pub confidence: f64,
    /// Follow rate of `to` after any other first purchase.
    pub baseline: f64,
    /// `confidence ÷ baseline`; `None` when the baseline is 0.
    pub lift: Option<f64>,
    pub median_delay_days: f64,
    pub window_days: u32,
    pub replenishment: bool,
}

impl Chain {
    /// "41% of customers who bought X bought Y within 60 days (typically after 35 days)".
    pub fn evidence(&self) -> String {
        let again = if self.replenishment { " again" } else { "" };
        let to = if self.replenishment { String::new() } else { format!(" {}", self.to) };
        format!(
            "{:.0}% of customers who bought {} bought{to}{again} within {} days (typically after {} days)",
            self.confidence * 100.0,
            self.from,
            self.window_days,
            fmt_days(self.median_delay_days.round())
        )
    }
}

/// Items bought by customer `c` before as-of: `(instant, item)` sorted, one per visit and item.
fn timeline(log: &OrderLog, c: CustomerIdx, as_of: Instant, level: Level) -> Vec<(Instant, u32)> {
    let mut out = Vec::new();
    timeline_into(log, c, as_of, level, &mut out);
    out
}

fn item_of(log: &OrderLog, level: Level, p: u32) -> Option<u32> {
    match level {
        Level::Product => Some(p),
        Level::Category => log.catalog().category(p),
    }
}

/// [`timeline`] into a reused buffer.
fn timeline_into(log: &OrderLog, c: CustomerIdx, as_of: Instant, level: Level, out: &mut Vec<(Instant, u32)>) {
    out.clear();
    let k = n_before(log, c, as_of);
    let times = log.times_of(c);
    for (j, o) in log.orders_of(c).take(k).enumerate() {
        for &p in log.products_of_order(o) {
            if let Some(i) = item_of(log, level, p) {
                out.push((times[j], i));
            }
        }
    }
    if !out.is_sorted() {
        out.sort_unstable();
    }
    out.dedup();
}

/// Whether customer `c` bought (before as-of) any item marked in `wanted`.
fn bought_any(log: &OrderLog, c: CustomerIdx, as_of: Instant, level: Level, wanted: &[bool]) -> bool {
    let k = n_before(log, c, as_of);
    log.orders_of(c).take(k).any(|o| log.products_of_order(o).iter().any(|&p| item_of(log, level, p).is_some_and(|i| wanted.get(i as usize).copied().unwrap_or(false))))
}

fn n_items(log: &OrderLog, level: Level) -> usize {
    match level {
        Level::Product => log.catalog().products.len(),
        Level::Category => log.catalog().categories.len(),
    }
}

fn item_name(log: &OrderLog, level: Level, i: u32) -> String {
    let cat = log.catalog();
    match level {
        Level::Product => cat.product_name(i).to_string(),
        Level::Category => cat.categories.get(i as usize).cloned().unwrap_or_default(),
    }
}

/// First instant of each item in a timeline, sorted by item.
fn firsts(tl: &[(Instant, u32)]) -> Vec<(u32, Instant)> {
    let mut f = Vec::new();
    firsts_into(tl, &mut f);
    f
}

fn firsts_into(tl: &[(Instant, u32)], f: &mut Vec<(u32, Instant)>) {
    f.clear();
    f.extend(tl.iter().map(|&(t, i)| (i, t)));
    f.sort_unstable();
    f.dedup_by_key(|x| x.0);
}

#[derive(Default)]
struct Acc {
    eligible: FxHashMap<u32, u32>,
    /// (from, to) → delays in seconds.
    followed: FxHashMap<(u32, u32), Vec<i64>>,
    customers: u32,
    tl: Vec<(Instant, u32)>,
    first: Vec<(u32, Instant)>,
    seen: Vec<u32>,
}

impl Acc {
    fn merge(mut self, o: Acc) -> Acc {
        for (k, v) in o.eligible {
            *self.eligible.entry(k).or_default() += v;
        }
        for (k, mut v) in o.followed {
            self.followed.entry(k).or_default().append(&mut v);
        }
        self.customers += o.customers;
        self
    }
}

fn wilson_lower(k: u32, n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (z, n, p) = (1.959_963_984_540_054_f64, n as f64, k as f64 / n as f64);
    let z2 = z * z;
    ((p + z2 / (2.0 * n)) - z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt()) / (1.0 + z2 / n)
}

fn median(v: &mut [i64]) -> f64 {
    v.sort_unstable();
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    }
}

/// Service chains at `opts.as_of` (see the module docs). Parallel over customers; deterministic.
pub fn service_chains(log: &OrderLog, opts: &NboOptions) -> Vec<Chain> {
    if log.lines().is_none() {
        return Vec::new();
    }
    let w = opts.window_days as i64 * DAY;
    let acc = (0..log.n_customers())
        .into_par_iter()
        .fold(Acc::default, |mut acc, c| {
            if n_before(log, c as CustomerIdx, opts.as_of) > 0 {
                acc.customers += 1;
            }
            let (mut tl, mut first, mut seen) = (std::mem::take(&mut acc.tl), std::mem::take(&mut acc.first), std::mem::take(&mut acc.seen));
            timeline_into(log, c as CustomerIdx, opts.as_of, opts.level, &mut tl);
            firsts_into(&tl, &mut first);
            for &(x, tx) in &first {
                if tx + w > opts.as_of {
                    continue;
                }
                *acc.eligible.entry(x).or_default() += 1;
                seen.clear();
                let start = tl.partition_point(|&(t, _)| t <= tx);
                for &(t, y) in &tl[start..] {
                    if t > tx + w {
                        break;
                    }
                    if !seen.contains(&y) {
                        seen.push(y);
                        acc.followed.entry((x, y)).or_default().push(t - tx);
                    }
                }
            }
            (acc.tl, acc.first, acc.seen) = (tl, first, seen);
            acc
        })
        .reduce(Acc::default, Acc::merge);
    // Baseline of Y: Σ followed(X'→Y) / Σ eligible(X') over X' ≠ Y.
    let total_eligible: u64 = acc.eligible.values().map(|&v| v as u64).sum();
    let mut into: FxHashMap<u32, u64> = FxHashMap::default();
    for (&(x, y), d) in &acc.followed {
        if x != y {
            *into.entry(y).or_default() += d.len() as u64;
        }
    }
    let mut out: Vec<Chain> = acc
        .followed
        .into_iter()
        .filter_map(|((x, y), mut delays)| {
            let eligible = *acc.eligible.get(&x)?;
            let support = delays.len() as u32;
            let confidence = support as f64 / eligible as f64;
            // Other first purchases: every X' except Y itself and (for X ≠ Y) X.
            let others = total_eligible - acc.eligible.get(&y).copied().unwrap_or(0) as u64;
            let into_y = into.get(&y).copied().unwrap_or(0);
            let (follow_y, base_n) = if x == y { (into_y, others) } else { (into_y - support as u64, others - eligible as u64) };
            let baseline = if base_n > 0 { follow_y as f64 / base_n as f64 } else { 0.0 };
            let lift = (baseline > 0.0).then(|| confidence / baseline);
            let strong = support >= opts.min_support
                && confidence >= opts.min_confidence
                && lift.is_none_or(|l| l >= opts.min_lift)
                && wilson_lower(support, eligible) > baseline;
            strong.then(|| Chain {
                from_item: x,
                to_item: y,
                from: item_name(log, opts.level, x),
                to: item_name(log, opts.level, y),
                support,
                support_share: support as f64 / acc.customers.max(1) as f64,
                eligible,
                confidence,
                baseline,
                lift,
                median_delay_days: median(&mut delays) / DAY as f64,
                window_days: opts.window_days,
                replenishment: x == y,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.confidence.total_cmp(&a.confidence).then(b.support.cmp(&a.support)).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    out
}

/// Kind of an offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    Replenishment,
    CrossSell,
    Upsell,
}

impl OfferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::Replenishment => "replenishment",
            OfferKind::CrossSell => "cross_sell",
            OfferKind::Upsell => "upsell",
        }
    }
}

/// One offer for one customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Offer {
    #[serde(skip)]
    pub customer: CustomerIdx,
    pub customer_id: String,
    pub kind: OfferKind,
    /// The product (or category) to offer.
    pub product: String,
    /// The evidence in words.
    pub reason: String,
    /// Confidence of the chain quoted (cross-sell and upsell).
    pub confidence: Option<f64>,
    /// When a replenishment is due.
    pub due: Option<Instant>,
}

/// Median value (minor units) of the orders holding each item marked in `needed`, before as-of.
fn item_median_value(log: &OrderLog, opts: &NboOptions, needed: &[bool]) -> FxHashMap<u32, f64> {
    let mut by: FxHashMap<u32, Vec<i64>> = FxHashMap::default();
    if !needed.iter().any(|&b| b) {
        return FxHashMap::default();
    }
    let mut items: Vec<u32> = Vec::new();
    for c in 0..log.n_customers() as CustomerIdx {
        let k = n_before(log, c, opts.as_of);
        let amounts = log.amounts_of(c);
        for (j, o) in log.orders_of(c).take(k).enumerate() {
            items.clear();
            items.extend(log.products_of_order(o).iter().filter_map(|&p| item_of(log, opts.level, p)).filter(|&i| needed.get(i as usize).copied().unwrap_or(false)));
            items.sort_unstable();
            items.dedup();
            for &i in &items {
                by.entry(i).or_default().push(amounts[j]);
            }
        }
    }
    by.into_iter().map(|(k, mut v)| (k, median(&mut v))).collect()
}

/// Offers for every customer (see the module docs).
pub fn next_offers(log: &OrderLog, chains: &[Chain], opts: &NboOptions) -> Vec<Offer> {
    if log.lines().is_none() {
        return Vec::new();
    }
    let cat = log.catalog();
    let same_category = |x: u32, y: u32| opts.level == Level::Product && cat.category(x).is_some() && cat.category(x) == cat.category(y);
    let k = n_items(log, opts.level);
    let (mut needed, mut relevant) = (vec![false; k], vec![false; k]);
    for ch in chains {
        if let Some(r) = relevant.get_mut(ch.from_item as usize) {
            *r = true;
        }
        if !ch.replenishment && same_category(ch.from_item, ch.to_item) {
            for i in [ch.from_item, ch.to_item] {
                if let Some(n) = needed.get_mut(i as usize) {
                    *n = true;
                }
            }
        }
    }
    let value = item_median_value(log, opts, &needed);
    let consumable: Vec<u32> = chains.iter().filter(|c| c.replenishment).map(|c| c.from_item).collect();
    let mut by_from: FxHashMap<u32, Vec<&Chain>> = FxHashMap::default();
    for ch in chains.iter().filter(|c| !c.replenishment) {
        by_from.entry(ch.from_item).or_default().push(ch);
    }
    let w = opts.window_days as i64 * DAY;
    let as_of = opts.as_of;
    (0..log.n_customers())
        .into_par_iter()
        .map_init(|| (Vec::new(), Vec::new()), |(tl, first), c| {
            let c = c as CustomerIdx;
            if !bought_any(log, c, as_of, opts.level, &relevant) {
                return Vec::new();
            }
            timeline_into(log, c, as_of, opts.level, tl);
            firsts_into(tl, first);
            let (tl, first) = (&*tl, &*first);
            let first_of = |i: u32| first.binary_search_by_key(&i, |x| x.0).ok().map(|k| first[k].1);
            let mut repl: Vec<Offer> = Vec::new();
            let mut cross: Vec<Offer> = Vec::new();
            for &(x, _) in first {
                let times: Vec<Instant> = tl.iter().filter(|e| e.1 == x).map(|e| e.0).collect();
                let last = *times.last().unwrap_or(&as_of);
                // Replenishment from the customer's own interval.
                if times.len() >= 2 && consumable.contains(&x) {
                    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
                    let interval = median(&mut gaps);
                    let due = last + interval.round() as i64;
                    if interval > 0.0 && due <= as_of + opts.replenish_ahead_days as i64 * DAY && (as_of - due) as f64 <= interval {
                        let when = if due <= as_of { format!("due {}", if due == as_of { "today".to_string() } else { format!("{} days ago", fmt_days(days(as_of - due).floor())) }) } else { format!("due in {} days", fmt_days(days(due - as_of).ceil())) };
                        repl.push(Offer {
                            customer: c,
                            customer_id: log.customer_id(c).to_string(),
                            kind: OfferKind::Replenishment,
                            product: item_name(log, opts.level, x),
                            reason: format!(
                                "buys {} {} ({} purchases); last bought {} days ago, {when}",
                                item_name(log, opts.level, x),
                                every((interval / DAY as f64).round()),
                                times.len(),
                                fmt_days(days(as_of - last).floor())
                            ),
                            confidence: None,
                            due: Some(due),
                        });
                    }
                }
                // Cross-sell and upsell from the chains starting at x.
                if as_of - last > 2 * w {
                    continue;
                }
                let fx = first_of(x).unwrap_or(last);
                for ch in by_from.get(&x).map(|v| v.as_slice()).unwrap_or(&[]) {
                    let y = ch.to_item;
                    if tl.iter().any(|&(t, i)| i == y && t >= fx) {
                        continue;
                    }
                    if let Some(o) = cross.iter_mut().find(|o| o.product == ch.to) {
                        if o.confidence.unwrap_or(0.0) >= ch.confidence {
                            continue;
                        }
                        cross.retain(|o| o.product != ch.to);
                    }
                    let upsell = same_category(x, y) && value.get(&y).copied().unwrap_or(0.0) > value.get(&x).copied().unwrap_or(0.0);
                    cross.push(Offer {
                        customer: c,
                        customer_id: log.customer_id(c).to_string(),
                        kind: if upsell { OfferKind::Upsell } else { OfferKind::CrossSell },
                        product: ch.to.clone(),
                        reason: format!("{}; bought {} {} days ago", ch.evidence(), ch.from, fmt_days(days(as_of - last).floor())),
                        confidence: Some(ch.confidence),
                        due: None,
                    });
                }
            }
            repl.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.product.cmp(&b.product)));
            cross.sort_by(|a, b| b.confidence.unwrap_or(0.0).total_cmp(&a.confidence.unwrap_or(0.0)).then_with(|| a.product.cmp(&b.product)));
            repl.extend(cross);
            repl.truncate(opts.max_offers);
            repl
        })
        .flatten_iter()
        .collect()
}

/// `missed_initiative` of customer `c` (see the module docs); `activity` tells which offers were
/// made.
pub fn missed_initiative(log: &OrderLog, c: CustomerIdx, chains: &[Chain], activity: Option<&CustomerActivity>, opts: &NboOptions) -> Option<Flag> {
    if chains.is_empty() {
        return None;
    }
    let as_of = opts.as_of;
    let w = opts.window_days as i64 * DAY;
    let k = n_before(log, c, as_of);
    let starts_chain = |p: u32| item_of(log, opts.level, p).is_some_and(|i| chains.iter().any(|ch| !ch.replenishment && ch.from_item == i));
    if !log.orders_of(c).take(k).any(|o| log.products_of_order(o).iter().any(|&p| starts_chain(p))) {
        return None;
    }
    let tl = timeline(log, c, as_of, opts.level);
    let first = firsts(&tl);
    let mut best: Option<(&Chain, Instant)> = None;
    for ch in chains.iter().filter(|c| !c.replenishment) {
        let Ok(k) = first.binary_search_by_key(&ch.from_item, |x| x.0) else { continue };
        let fx = first[k].1;
        let last = tl.iter().rev().find(|e| e.1 == ch.from_item).map_or(fx, |e| e.0);
        let since = as_of - last;
        if (since as f64) < ch.median_delay_days * DAY as f64 || since > 2 * w {
            continue;
        }
        if tl.iter().any(|&(t, i)| i == ch.to_item && t >= fx) {
            continue;
        }
        let offered = activity.is_some_and(|a| a.events.iter().any(|e| e.kind == EventKind::Offer && e.at >= fx && e.at < as_of && e.detail.as_deref() == Some(ch.to.as_str())));
        if offered {
            continue;
        }
        if best.is_none_or(|(b, _)| ch.confidence > b.confidence) {
            best = Some((ch, last));
        }
    }
    let (ch, last) = best?;
    let on_record = if activity.is_some() { "never offered to them" } else { "no offer on record" };
    Some(Flag {
        kind: FlagKind::MissedInitiative,
        severity: if ch.confidence >= 0.4 { Severity::Medium } else { Severity::Low },
        value: ch.confidence,
        weight: 0,
        explanation: format!("bought {} {} days ago and not {} since; {}; {on_record}", ch.from, fmt_days(days(as_of - last).floor()), ch.to, ch.evidence()).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Event;
    use crate::{Currency, OrderLogBuilder};

    fn d(x: i64) -> Instant {
        x * DAY
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // SplitMix64
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, p: f64) -> bool {
            ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
        }
    }

    /// 3,000 customers over 730 days. Each buys 1–6 random products among p0..p9 and B on random
    /// days; half of them buy A on a day in [0, 600), and 40% of those buy B 10–50 days later
    /// (uniform, median 30). Returns the log and the number of planted A → B customers.
    fn planted(seed: u64) -> (OrderLog, u32, u32) {
        let mut r = Rng(seed);
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        let noise: Vec<String> = (0..10).map(|k| format!("p{k}")).chain(["B".to_string()]).collect();
        let (mut planted, mut buyers) = (0, 0);
        for c in 0..3000 {
            let id = format!("c{c:04}");
            for _ in 0..1 + r.below(6) {
                b.push(&id, d(r.below(730) as i64), 1000);
                b.push_line(&noise[r.below(noise.len() as u64) as usize], Some("noise"), 1);
            }
            if r.chance(0.5) {
                buyers += 1;
                let day = r.below(600) as i64;
                b.push(&id, d(day), 2000);
                b.push_line("A", Some("chain"), 1);
                if r.chance(0.4) {
                    planted += 1;
                    b.push(&id, d(day + 10 + r.below(41) as i64), 3000);
                    b.push_line("B", Some("chain"), 1);
                }
            }
        }
        (b.build(), planted, buyers)
    }

    #[test]
    fn planted_chain_is_found_and_random_pairs_are_not() {
        let (log, planted, buyers) = planted(42);
        let opts = NboOptions::new(d(730));
        let chains = service_chains(&log, &opts);
        let ab = chains.iter().find(|c| c.from == "A" && c.to == "B").expect("A → B found");
        // Every A buyer's first A leaves a full 60-day window before day 730 (A before day 600,
        // unless a noise... A is only bought through the plant), so eligible = buyers.
        assert_eq!(ab.eligible, buyers);
        // support = the planted customers plus the few whose random B fell within 60 days of A
        assert!(ab.support >= planted && ab.support as f64 <= planted as f64 * 1.15, "support {} planted {planted}", ab.support);
        assert!((ab.confidence - 0.4).abs() < 0.06, "confidence {}", ab.confidence);
        assert!((ab.median_delay_days - 30.0).abs() <= 3.0, "delay {}", ab.median_delay_days);
        assert!(ab.lift.unwrap() > 3.0);
        // no pair of independently bought products is reported
        let noise: Vec<&Chain> = chains.iter().filter(|c| !(c.from == "A" && c.to == "B")).collect();
        assert!(noise.is_empty(), "{noise:#?}");
        // deterministic and independent of the thread count
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| service_chains(&log, &opts));
        assert_eq!(one, chains);
    }

    #[test]
    fn chain_counts_by_hand() {
        // W = 60, as-of day 200, min_support 1, no lift/baseline gate that matters:
        //   u: X day 0, Y day 20         -> follows (20 days)
        //   v: X day 10, Y day 100       -> eligible, not within 60 days
        //   w: X day 30, X day 40, Y day 70 -> follows (40 days from the first X)
        //   z: X day 150                 -> not eligible (150 + 60 > 200)
        //   q: Z day 0, Z day 10         -> baseline material for Z only
        // X → Y: eligible 3, support 2, confidence 2/3, median delay (20 + 40) / 2 = 30
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for (c, p, day) in [("u", "X", 0), ("u", "Y", 20), ("v", "X", 10), ("v", "Y", 100), ("w", "X", 30), ("w", "X", 40), ("w", "Y", 70), ("z", "X", 150), ("q", "Z", 0), ("q", "Z", 10)] {
            b.push(c, d(day), 100);
            b.push_line(p, None, 1);
        }
        let log = b.build();
        let opts = NboOptions { min_support: 1, min_lift: 0.0, min_confidence: 0.0, ..NboOptions::new(d(200)) };
        // the Wilson gate still applies; with 3 eligible, lower bound of 2/3 is 0.21 > baseline 0
        let chains = service_chains(&log, &opts);
        let xy = chains.iter().find(|c| c.from == "X" && c.to == "Y").unwrap();
        assert_eq!((xy.eligible, xy.support), (3, 2));
        assert!((xy.confidence - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(xy.median_delay_days, 30.0);
        assert_eq!(xy.support_share, 2.0 / 5.0);
        assert_eq!(xy.evidence(), "67% of customers who bought X bought Y within 60 days (typically after 30 days)");
        // X → X (w bought X again 10 days later): 1 of 3
        let xx = chains.iter().find(|c| c.from == "X" && c.to == "X").unwrap();
        assert!(xx.replenishment && xx.support == 1);
        // no lines: nothing
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        b.push("a", 0, 1);
        assert!(service_chains(&b.build(), &opts).is_empty());
    }

    fn chain(from: &str, to: &str, from_item: u32, to_item: u32, confidence: f64, delay: f64) -> Chain {
        Chain {
            from_item,
            to_item,
            from: from.into(),
            to: to.into(),
            support: 100,
            support_share: 0.1,
            eligible: 250,
            confidence,
            baseline: 0.05,
            lift: Some(confidence / 0.05),
            median_delay_days: delay,
            window_days: 60,
            replenishment: false,
        }
    }

    #[test]
    fn offers_cross_sell_upsell_and_replenishment() {
        // Products: 0 oil (car), 1 filters (car), 2 premium-oil (car, dearer orders), 3 coffee.
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        b.push("ann", d(180), 1000);
        b.push_line("oil", Some("car"), 1);
        b.push("ann", d(100), 500);
        b.push_line("coffee", Some("food"), 1);
        b.push("ann", d(130), 500);
        b.push_line("coffee", Some("food"), 1);
        b.push("ann", d(160), 500);
        b.push_line("coffee", Some("food"), 1);
        b.push("bob", d(150), 1000);
        b.push_line("oil", Some("car"), 1);
        b.push("bob", d(170), 300);
        b.push_line("filters", Some("car"), 1);
        b.push("cat", d(10), 5000);
        b.push_line("premium-oil", Some("car"), 1);
        let log = b.build();
        let cat = log.catalog();
        let idx = |n: &str| cat.products.iter().position(|p| p == n).unwrap() as u32;
        let mut coffee = chain("coffee", "coffee", idx("coffee"), idx("coffee"), 0.5, 30.0);
        coffee.replenishment = true;
        let mut chains =
            vec![chain("oil", "filters", idx("oil"), idx("filters"), 0.41, 20.0), chain("oil", "premium-oil", idx("oil"), idx("premium-oil"), 0.2, 90.0), coffee];
        let offers = next_offers(&log, &chains, &NboOptions::new(d(195)));
        let ann: Vec<&Offer> = offers.iter().filter(|o| o.customer_id == "ann").collect();
        // coffee every 30 days, last day 160 -> due day 190 (5 days ago); then filters, premium-oil
        assert_eq!(ann.iter().map(|o| (o.kind, o.product.as_str())).collect::<Vec<_>>(), [
            (OfferKind::Replenishment, "coffee"),
            (OfferKind::CrossSell, "filters"),
            (OfferKind::Upsell, "premium-oil")
        ]);
        assert_eq!(ann[0].reason, "buys coffee every 30 days (3 purchases); last bought 35 days ago, due 5 days ago");
        assert_eq!(ann[0].due, Some(d(190)));
        assert_eq!(ann[1].reason, "41% of customers who bought oil bought filters within 60 days (typically after 20 days); bought oil 15 days ago");
        // bob already bought filters after oil: only the upsell
        let bob: Vec<&Offer> = offers.iter().filter(|o| o.customer_id == "bob").collect();
        assert_eq!(bob.iter().map(|o| o.product.as_str()).collect::<Vec<_>>(), ["premium-oil"]);
        // cat never bought oil: nothing
        assert!(offers.iter().all(|o| o.customer_id != "cat"));
        // max_offers caps, and a long-overdue replenishment (more than one interval late) is dropped
        let opts = NboOptions { max_offers: 1, ..NboOptions::new(d(195)) };
        assert_eq!(next_offers(&log, &chains, &opts).iter().filter(|o| o.customer_id == "ann").count(), 1);
        assert!(next_offers(&log, &chains, &NboOptions::new(d(260))).iter().all(|o| o.kind != OfferKind::Replenishment));
        // coffee is a consumable only because coffee → coffee is a chain: without it, no reminder
        chains.pop();
        assert!(next_offers(&log, &chains, &NboOptions::new(d(195))).iter().all(|o| o.kind != OfferKind::Replenishment));
    }

    #[test]
    fn missed_initiative_scenario() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        b.push("late", d(100), 1000);
        b.push_line("landing-page", None, 1);
        b.push("early", d(190), 1000);
        b.push_line("landing-page", None, 1);
        b.push("took", d(100), 1000);
        b.push_line("landing-page", None, 1);
        b.push("took", d(130), 1000);
        b.push_line("analytics", None, 1);
        let log = b.build();
        let cat = log.catalog();
        let idx = |n: &str| cat.products.iter().position(|p| p == n).unwrap() as u32;
        let chains = vec![chain("landing-page", "analytics", idx("landing-page"), idx("analytics"), 0.41, 35.0)];
        let opts = NboOptions::new(d(200));
        let c = |id: &str| log.customer_ids().iter().position(|x| x == id).unwrap() as CustomerIdx;
        // 100 days since landing-page > median delay 35, no analytics, no offer on record
        let f = missed_initiative(&log, c("late"), &chains, None, &opts).unwrap();
        assert_eq!(f.kind, FlagKind::MissedInitiative);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(
            f.explanation,
            "bought landing-page 100 days ago and not analytics since; 41% of customers who bought landing-page bought analytics within 60 days (typically after 35 days); no offer on record"
        );
        // 10 days since: too early; already took the step: nothing
        assert!(missed_initiative(&log, c("early"), &chains, None, &opts).is_none());
        assert!(missed_initiative(&log, c("took"), &chains, None, &opts).is_none());
        // offered analytics after the landing page: not missed
        let mut a = crate::flags::Activity::new();
        a.push_event("late", Event { kind: EventKind::Offer, at: d(150), detail: Some("analytics".into()) });
        assert!(missed_initiative(&log, c("late"), &chains, a.get("late"), &opts).is_none());
        // activity known but no offer: "never offered to them"
        let mut a = crate::flags::Activity::new();
        a.push_event("late", Event { kind: EventKind::Login, at: d(150), detail: None });
        assert!(missed_initiative(&log, c("late"), &chains, a.get("late"), &opts).unwrap().explanation.to_string().ends_with("never offered to them"));
        // more than 2W = 120 days later the moment has passed
        assert!(missed_initiative(&log, c("late"), &chains, None, &NboOptions::new(d(221))).is_none());
    }
}
