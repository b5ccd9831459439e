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

use crate::flags::{days, every, fmt_days, CustomerActivity, EventKind, Explanation, Flag, FlagKind, Severity};
use crate::rfm::{customer_chunks, median_by, n_before};
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::sync::Arc;

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

fn item_of(log: &OrderLog, level: Level, p: u32) -> Option<u32> {
    match level {
        Level::Product => Some(p),
        Level::Category => log.catalog().category(p),
    }
}

fn n_items(log: &OrderLog, level: Level) -> usize {
    match level {
        Level::Product => log.catalog().products.len(),
        Level::Category => log.catalog().categories.len(),
    }
}

fn item_name(log: &OrderLog, level: Level, i: u32) -> &str {
    let cat = log.catalog();
    match level {
        Level::Product => cat.product_name(i),
        Level::Category => cat.categories.get(i as usize).map_or("", String::as_str),
    }
}

/// Calls `f(order position, instant, item)` for every line of customer `c`'s first `k` orders, in
/// time order.
fn for_each_item(log: &OrderLog, c: CustomerIdx, k: usize, level: Level, mut f: impl FnMut(usize, Instant, u32)) {
    let times = log.times_of(c);
    let start = log.orders_of(c).start;
    for (j, &t) in times[..k].iter().enumerate() {
        for &p in log.products_of_order(start + j) {
            if let Some(i) = item_of(log, level, p) {
                f(j, t, i);
            }
        }
    }
}

/// Per-item marks reused from customer to customer: an item is marked when its stamp is the
/// current one, so clearing is one increment.
struct Marks {
    stamp: Vec<u32>,
    cur: u32,
}

impl Marks {
    fn new(n: usize) -> Marks {
        Marks { stamp: vec![0; n], cur: 0 }
    }

    fn clear(&mut self) {
        self.cur = self.cur.wrapping_add(1);
        if self.cur == 0 {
            self.stamp.fill(0);
            self.cur = 1;
        }
    }

    /// Marks `i`; true when it was not marked yet.
    fn mark(&mut self, i: u32) -> bool {
        let s = &mut self.stamp[i as usize];
        let fresh = *s != self.cur;
        *s = self.cur;
        fresh
    }

    fn has(&self, i: u32) -> bool {
        self.stamp.get(i as usize) == Some(&self.cur)
    }
}

/// What one customer bought before as-of, per item: first and last instant and the number of
/// distinct instants. Reused from customer to customer without allocating.
pub(crate) struct Bought {
    marks: Marks,
    first: Vec<Instant>,
    last: Vec<Instant>,
    visits: Vec<u32>,
    /// Items bought, in the order of their first purchase.
    items: Vec<u32>,
}

impl Bought {
    pub(crate) fn new(n_items: usize) -> Bought {
        Bought { marks: Marks::new(n_items), first: vec![0; n_items], last: vec![0; n_items], visits: vec![0; n_items], items: Vec::new() }
    }

    /// Loads customer `c`'s first `k` orders.
    fn load(&mut self, log: &OrderLog, c: CustomerIdx, k: usize, level: Level) {
        self.marks.clear();
        self.items.clear();
        let Bought { marks, first, last, visits, items } = self;
        for_each_item(log, c, k, level, |_, t, i| {
            let x = i as usize;
            if marks.mark(i) {
                (first[x], last[x], visits[x]) = (t, t, 1);
                items.push(i);
            } else if t > last[x] {
                last[x] = t;
                visits[x] += 1;
            }
        });
    }

    fn has(&self, i: u32) -> bool {
        self.marks.has(i)
    }
}

/// What the chain miner gathers: customers with an order, eligible customers per item, and the
/// delays (seconds) of the customers who followed `x` with `y` per pair — a dense `n × n` table for
/// small catalogs, hashed by pair otherwise.
struct Follows {
    n: usize,
    customers: u32,
    eligible: Vec<u32>,
    dense: Vec<Vec<u32>>,
    sparse: FxHashMap<u64, Vec<u32>>,
}

/// Catalogs up to this many items keep the pairs in a dense table per chunk.
const DENSE_ITEMS: usize = 256;

impl Follows {
    fn new(n: usize, dense_items: usize) -> Follows {
        let dense = if n <= dense_items { vec![Vec::new(); n * n] } else { Vec::new() };
        Follows { n, customers: 0, eligible: vec![0; n], dense, sparse: FxHashMap::default() }
    }

    fn merge(mut self, o: Follows) -> Follows {
        self.customers += o.customers;
        self.eligible.iter_mut().zip(&o.eligible).for_each(|(a, b)| *a += b);
        for (a, mut b) in self.dense.iter_mut().zip(o.dense) {
            a.append(&mut b);
        }
        for (k, mut v) in o.sparse {
            self.sparse.entry(k).or_default().append(&mut v);
        }
        self
    }

    /// Every pair with support, `(x, y, delays)`.
    fn into_pairs(self) -> Vec<(u32, u32, Vec<u32>)> {
        let n = self.n;
        let mut out: Vec<(u32, u32, Vec<u32>)> =
            self.dense.into_iter().enumerate().filter(|(_, v)| !v.is_empty()).map(|(k, v)| ((k / n) as u32, (k % n) as u32, v)).collect();
        out.extend(self.sparse.into_iter().map(|(k, v)| ((k >> 32) as u32, k as u32, v)));
        out
    }
}

fn pair_key(x: u32, y: u32) -> u64 {
    (x as u64) << 32 | y as u64
}

/// One customer's walk for the chain miner: for every item `x` whose first purchase leaves a full
/// window before as-of, `eligible(x)`, then `follow(x, y, delay)` once per item
/// `y` bought after that first `x` and within the window (first such purchase).
struct Walk {
    timeline: Vec<(Instant, u32)>,
    firsts: Marks,
    seen: Marks,
}

impl Walk {
    fn new(n: usize) -> Walk {
        Walk { timeline: Vec::new(), firsts: Marks::new(n), seen: Marks::new(n) }
    }

    fn run(&mut self, log: &OrderLog, c: CustomerIdx, k: usize, opts: &NboOptions, mut eligible: impl FnMut(u32), mut follow: impl FnMut(u32, u32, i64)) {
        let w = opts.window_days as i64 * DAY;
        let tl = &mut self.timeline;
        tl.clear();
        for_each_item(log, c, k, opts.level, |_, t, i| tl.push((t, i)));
        self.firsts.clear();
        for a in 0..tl.len() {
            let (tx, x) = tl[a];
            if !self.firsts.mark(x) || tx + w > opts.as_of {
                continue;
            }
            eligible(x);
            self.seen.clear();
            // Lines at the same instant follow nothing of each other.
            let mut b = a + 1;
            while b < tl.len() && tl[b].0 == tx {
                b += 1;
            }
            for &(t, y) in &tl[b..] {
                if t > tx + w {
                    break;
                }
                if self.seen.mark(y) {
                    follow(x, y, t - tx);
                }
            }
        }
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
    median_by(v, |x| x as f64).unwrap_or(0.0)
}

/// Service chains at `opts.as_of` (see the module docs). Parallel over customers; deterministic.
///
/// One pass over the customers' items gathers, per (first item, next item) pair of integer item
/// keys, the delays of the customers who followed; the thresholds then need no second pass.
pub fn service_chains(log: &OrderLog, opts: &NboOptions) -> Vec<Chain> {
    service_chains_with(log, opts, DENSE_ITEMS)
}

fn service_chains_with(log: &OrderLog, opts: &NboOptions, dense_items: usize) -> Vec<Chain> {
    if log.lines().is_none() {
        return Vec::new();
    }
    let n = n_items(log, opts.level);
    let acc = customer_chunks(log.n_customers())
        .par_iter()
        .map(|r| {
            let (mut acc, mut walk) = (Follows::new(n, dense_items), Walk::new(n));
            for c in r.clone() {
                let k = n_before(log, c as CustomerIdx, opts.as_of);
                if k == 0 {
                    continue;
                }
                acc.customers += 1;
                let Follows { eligible, dense, sparse, .. } = &mut acc;
                walk.run(log, c as CustomerIdx, k, opts, |x| eligible[x as usize] += 1, |x, y, d| {
                    // Delays past 136 years (u32 seconds) only come from a window as long.
                    let d = u32::try_from(d).unwrap_or(u32::MAX);
                    if n <= dense_items {
                        dense[x as usize * n + y as usize].push(d);
                    } else {
                        sparse.entry(pair_key(x, y)).or_default().push(d);
                    }
                });
            }
            acc
        })
        .reduce(|| Follows::new(n, dense_items), Follows::merge);
    let (customers, eligible) = (acc.customers, acc.eligible.clone());
    let pairs = acc.into_pairs();
    // Baseline of Y: Σ followed(X'→Y) / Σ eligible(X') over X' ≠ Y.
    let total_eligible: u64 = eligible.iter().map(|&v| v as u64).sum();
    let mut into = vec![0u64; n];
    for (x, y, d) in &pairs {
        if x != y {
            into[*y as usize] += d.len() as u64;
        }
    }
    let mut out: Vec<Chain> = pairs
        .into_par_iter()
        .filter_map(|(x, y, mut delays)| {
            let eligible_x = eligible[x as usize];
            let support = delays.len() as u32;
            let confidence = support as f64 / eligible_x as f64;
            // Other first purchases: every X' except Y itself and (for X ≠ Y) X.
            let others = total_eligible - eligible[y as usize] as u64;
            let into_y = into[y as usize];
            let (follow_y, base_n) = if x == y { (into_y, others) } else { (into_y - support as u64, others - eligible_x as u64) };
            let baseline = if base_n > 0 { follow_y as f64 / base_n as f64 } else { 0.0 };
            let lift = (baseline > 0.0).then(|| confidence / baseline);
            let strong = support >= opts.min_support
                && confidence >= opts.min_confidence
                && lift.is_none_or(|l| l >= opts.min_lift)
                && wilson_lower(support, eligible_x) > baseline;
            strong.then(|| Chain {
                from_item: x,
                to_item: y,
                from: item_name(log, opts.level, x).to_string(),
                to: item_name(log, opts.level, y).to_string(),
                support,
                support_share: support as f64 / customers.max(1) as f64,
                eligible: eligible_x,
                confidence,
                baseline,
                lift,
                median_delay_days: median_by(&mut delays, f64::from).unwrap_or(0.0) / DAY as f64,
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

/// The numbers behind an offer; [`Offer::reason`] writes them out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OfferBasis {
    /// The customer's own interval (seconds) over `purchases` distinct purchases, the last at `last`.
    Replenishment { interval: f64, purchases: u32, last: Instant },
    /// The chain quoted (index into the chains given to [`next_offers`]) and the customer's last
    /// purchase of its first item.
    Chain { chain: u32, last: Instant },
}

/// One offer for one customer. Names and the reason are looked up and written only when shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Offer {
    pub customer: CustomerIdx,
    /// The product (or category, per `level`) to offer.
    pub item: u32,
    pub level: Level,
    pub kind: OfferKind,
    /// Confidence of the chain quoted (cross-sell and upsell).
    pub confidence: Option<f64>,
    /// When a replenishment is due.
    pub due: Option<Instant>,
    pub as_of: Instant,
    pub basis: OfferBasis,
}

impl Offer {
    pub fn customer_id<'a>(&self, log: &'a OrderLog) -> &'a str {
        log.customer_id(self.customer)
    }

    /// The product (or category) to offer.
    pub fn product<'a>(&self, log: &'a OrderLog) -> &'a str {
        item_name(log, self.level, self.item)
    }

    /// The evidence in words; `chains` are those the offers were computed from.
    pub fn reason(&self, log: &OrderLog, chains: &[Chain]) -> String {
        let as_of = self.as_of;
        match self.basis {
            OfferBasis::Replenishment { interval, purchases, last } => {
                let due = self.due.unwrap_or(as_of);
                let when = if due <= as_of {
                    format!("due {}", if due == as_of { "today".to_string() } else { format!("{} days ago", fmt_days(days(as_of - due).floor())) })
                } else {
                    format!("due in {} days", fmt_days(days(due - as_of).ceil()))
                };
                format!(
                    "buys {} {} ({purchases} purchases); last bought {} days ago, {when}",
                    self.product(log),
                    every((interval / DAY as f64).round()),
                    fmt_days(days(as_of - last).floor())
                )
            }
            OfferBasis::Chain { chain, last } => match chains.get(chain as usize) {
                Some(ch) => format!("{}; bought {} {} days ago", ch.evidence(), ch.from, fmt_days(days(as_of - last).floor())),
                None => String::new(),
            },
        }
    }
}

/// Median value (minor units) of the orders holding each item marked in `needed`, before as-of.
fn item_median_value(log: &OrderLog, opts: &NboOptions, needed: &[bool]) -> Vec<f64> {
    let n = needed.len();
    if !needed.iter().any(|&b| b) {
        return vec![0.0; n];
    }
    let parts: Vec<Vec<Vec<i64>>> = customer_chunks(log.n_customers())
        .par_iter()
        .map(|r| {
            let (mut by, mut marks) = (vec![Vec::new(); n], Marks::new(n));
            let mut order = usize::MAX;
            for c in r.clone() {
                let c = c as CustomerIdx;
                let amounts = log.amounts_of(c);
                for_each_item(log, c, n_before(log, c, opts.as_of), opts.level, |j, _, i| {
                    if j != order {
                        order = j;
                        marks.clear();
                    }
                    if needed[i as usize] && marks.mark(i) {
                        by[i as usize].push(amounts[j]);
                    }
                });
                order = usize::MAX;
            }
            by
        })
        .collect();
    (0..n)
        .into_par_iter()
        .map(|i| {
            if !needed[i] {
                return 0.0;
            }
            let mut v: Vec<i64> = parts.iter().flat_map(|p| p[i].iter().copied()).collect();
            median(&mut v)
        })
        .collect()
}

/// Offers for every customer (see the module docs), customers in log order.
pub fn next_offers(log: &OrderLog, chains: &[Chain], opts: &NboOptions) -> Vec<Offer> {
    if log.lines().is_none() || chains.is_empty() {
        return Vec::new();
    }
    let cat = log.catalog();
    let same_category = |x: u32, y: u32| opts.level == Level::Product && cat.category(x).is_some() && cat.category(x) == cat.category(y);
    let n = n_items(log, opts.level);
    let (mut needed, mut relevant, mut consumable) = (vec![false; n], vec![false; n], vec![false; n]);
    let mut by_from: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (k, ch) in chains.iter().enumerate() {
        relevant[ch.from_item as usize] = true;
        if ch.replenishment {
            consumable[ch.from_item as usize] = true;
        } else {
            by_from[ch.from_item as usize].push(k as u32);
            if same_category(ch.from_item, ch.to_item) {
                needed[ch.from_item as usize] = true;
                needed[ch.to_item as usize] = true;
            }
        }
    }
    let value = item_median_value(log, opts, &needed);
    let w = opts.window_days as i64 * DAY;
    let as_of = opts.as_of;
    let name = |i: u32| item_name(log, opts.level, i);
    let parts: Vec<Vec<Offer>> = customer_chunks(log.n_customers())
        .par_iter()
        .map(|r| {
            let mut bought = Bought::new(n);
            let (mut items, mut times, mut gaps) = (Vec::new(), Vec::new(), Vec::new());
            let (mut out, mut repl, mut cross) = (Vec::new(), Vec::<Offer>::new(), Vec::<Offer>::new());
            for c in r.clone() {
                let c = c as CustomerIdx;
                let k = n_before(log, c, as_of);
                let mut any = false;
                for_each_item(log, c, k, opts.level, |_, _, i| any |= relevant[i as usize]);
                if !any {
                    continue;
                }
                bought.load(log, c, k, opts.level);
                items.clear();
                items.extend_from_slice(&bought.items);
                items.sort_unstable();
                repl.clear();
                cross.clear();
                let offer = |item, kind, confidence, due, basis| Offer { customer: c, item, level: opts.level, kind, confidence, due, as_of, basis };
                for &x in &items {
                    let (fx, last, visits) = (bought.first[x as usize], bought.last[x as usize], bought.visits[x as usize]);
                    // Replenishment from the customer's own interval.
                    if visits >= 2 && consumable[x as usize] {
                        times.clear();
                        for_each_item(log, c, k, opts.level, |_, t, i| {
                            if i == x && times.last() != Some(&t) {
                                times.push(t);
                            }
                        });
                        gaps.clear();
                        gaps.extend(times.windows(2).map(|w| w[1] - w[0]));
                        let interval = median(&mut gaps);
                        let due = last + interval.round() as i64;
                        if interval > 0.0 && due <= as_of + opts.replenish_ahead_days as i64 * DAY && (as_of - due) as f64 <= interval {
                            repl.push(offer(x, OfferKind::Replenishment, None, Some(due), OfferBasis::Replenishment { interval, purchases: times.len() as u32, last }));
                        }
                    }
                    // Cross-sell and upsell from the chains starting at x.
                    if as_of - last > 2 * w {
                        continue;
                    }
                    for &k in &by_from[x as usize] {
                        let ch = &chains[k as usize];
                        let y = ch.to_item;
                        if bought.has(y) && bought.last[y as usize] >= fx {
                            continue;
                        }
                        if let Some(o) = cross.iter().position(|o| o.item == y) {
                            if cross[o].confidence.unwrap_or(0.0) >= ch.confidence {
                                continue;
                            }
                            cross.remove(o);
                        }
                        let upsell = same_category(x, y) && value[y as usize] > value[x as usize];
                        let kind = if upsell { OfferKind::Upsell } else { OfferKind::CrossSell };
                        cross.push(offer(y, kind, Some(ch.confidence), None, OfferBasis::Chain { chain: k, last }));
                    }
                }
                repl.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| name(a.item).cmp(name(b.item))));
                cross.sort_by(|a, b| b.confidence.unwrap_or(0.0).total_cmp(&a.confidence.unwrap_or(0.0)).then_with(|| name(a.item).cmp(name(b.item))));
                out.extend(repl.drain(..).chain(cross.drain(..)).take(opts.max_offers));
            }
            out
        })
        .collect();
    parts.into_iter().flatten().collect()
}

/// Chains by their first item, for [`missed_initiative`] over many customers.
pub(crate) struct ChainIndex<'a> {
    chains: &'a [Chain],
    /// The chains, shared by the explanations that quote them.
    shared: Vec<Arc<Chain>>,
    /// Non-replenishment chains starting at each item, in chain order.
    by_from: Vec<Vec<u32>>,
}

impl<'a> ChainIndex<'a> {
    pub(crate) fn new(log: &OrderLog, level: Level, chains: &'a [Chain]) -> ChainIndex<'a> {
        let mut by_from = vec![Vec::new(); n_items(log, level)];
        for (k, ch) in chains.iter().enumerate() {
            if !ch.replenishment {
                if let Some(v) = by_from.get_mut(ch.from_item as usize) {
                    v.push(k as u32);
                }
            }
        }
        ChainIndex { chains, shared: chains.iter().cloned().map(Arc::new).collect(), by_from }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_from.iter().all(Vec::is_empty)
    }

    pub(crate) fn scratch(&self) -> Bought {
        Bought::new(self.by_from.len())
    }

    /// The chain of customer `c`'s `missed_initiative` (its first `k` orders are before as-of) and
    /// their last purchase of its first item, per the module docs.
    pub(crate) fn missed(&self, log: &OrderLog, c: CustomerIdx, k: usize, bought: &mut Bought, activity: Option<&CustomerActivity>, opts: &NboOptions) -> Option<(&Arc<Chain>, Instant)> {
        if self.is_empty() {
            return None;
        }
        let as_of = opts.as_of;
        let w = opts.window_days as i64 * DAY;
        let mut any = false;
        for_each_item(log, c, k, opts.level, |_, _, i| any |= !self.by_from[i as usize].is_empty());
        if !any {
            return None;
        }
        bought.load(log, c, k, opts.level);
        let mut best: Option<(u32, Instant)> = None;
        for &x in &bought.items {
            let (fx, last) = (bought.first[x as usize], bought.last[x as usize]);
            let since = as_of - last;
            for &k in &self.by_from[x as usize] {
                let ch = &self.chains[k as usize];
                if (since as f64) < ch.median_delay_days * DAY as f64 || since > 2 * w {
                    continue;
                }
                if bought.has(ch.to_item) && bought.last[ch.to_item as usize] >= fx {
                    continue;
                }
                let offered = activity.is_some_and(|a| a.events.iter().any(|e| e.kind == EventKind::Offer && e.at >= fx && e.at < as_of && e.detail.as_deref() == Some(ch.to.as_str())));
                if offered {
                    continue;
                }
                // The most confident chain; on a tie, the first in chain order.
                let better = best.is_none_or(|(b, _)| {
                    let bc = self.chains[b as usize].confidence;
                    ch.confidence > bc || (ch.confidence == bc && k < b)
                });
                if better {
                    best = Some((k, last));
                }
            }
        }
        best.map(|(k, last)| (&self.shared[k as usize], last))
    }
}

/// Severity of a `missed_initiative` on `ch`: medium when its confidence is at least 40%.
pub(crate) fn missed_severity(ch: &Chain) -> Severity {
    if ch.confidence >= 0.4 {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// The `missed_initiative` flag quoting `ch`, the first item last bought at `last`.
pub(crate) fn missed_flag(ch: &Arc<Chain>, last: Instant, as_of: Instant, activity_known: bool) -> Flag {
    Flag {
        kind: FlagKind::MissedInitiative,
        severity: missed_severity(ch),
        value: ch.confidence,
        p: None,
        weight: 0,
        explanation: Explanation::MissedInitiative { chain: Arc::clone(ch), since: days(as_of - last), activity_known },
    }
}

/// `missed_initiative` of customer `c` (see the module docs); `activity` tells which offers were
/// made.
pub fn missed_initiative(log: &OrderLog, c: CustomerIdx, chains: &[Chain], activity: Option<&CustomerActivity>, opts: &NboOptions) -> Option<Flag> {
    let ix = ChainIndex::new(log, opts.level, chains);
    let k = n_before(log, c, opts.as_of);
    let (ch, last) = ix.missed(log, c, k, &mut ix.scratch(), activity, opts)?;
    Some(missed_flag(ch, last, opts.as_of, activity.is_some()))
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
        // the hashed pairs of large catalogs give the same chains as the dense table
        assert_eq!(service_chains_with(&log, &opts, 0), chains);
        let lenient = NboOptions { min_support: 1, min_lift: 0.0, min_confidence: 0.0, ..opts };
        let all = service_chains(&log, &lenient);
        assert!(all.len() > chains.len(), "{}", all.len());
        assert_eq!(service_chains_with(&log, &lenient, 0), all);
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
        let ann: Vec<&Offer> = offers.iter().filter(|o| o.customer_id(&log) == "ann").collect();
        // coffee every 30 days, last day 160 -> due day 190 (5 days ago); then filters, premium-oil
        assert_eq!(ann.iter().map(|o| (o.kind, o.product(&log))).collect::<Vec<_>>(), [
            (OfferKind::Replenishment, "coffee"),
            (OfferKind::CrossSell, "filters"),
            (OfferKind::Upsell, "premium-oil")
        ]);
        assert_eq!(ann[0].reason(&log, &chains), "buys coffee every 30 days (3 purchases); last bought 35 days ago, due 5 days ago");
        assert_eq!(ann[0].due, Some(d(190)));
        assert_eq!(ann[1].reason(&log, &chains), "41% of customers who bought oil bought filters within 60 days (typically after 20 days); bought oil 15 days ago");
        // bob already bought filters after oil: only the upsell
        let bob: Vec<&Offer> = offers.iter().filter(|o| o.customer_id(&log) == "bob").collect();
        assert_eq!(bob.iter().map(|o| o.product(&log)).collect::<Vec<_>>(), ["premium-oil"]);
        // cat never bought oil: nothing
        assert!(offers.iter().all(|o| o.customer_id(&log) != "cat"));
        // a replenishment due in a few days says so
        let soon = next_offers(&log, &chains, &NboOptions::new(d(186)));
        let r = soon.iter().find(|o| o.kind == OfferKind::Replenishment).unwrap();
        assert_eq!(r.reason(&log, &chains), "buys coffee every 30 days (3 purchases); last bought 26 days ago, due in 4 days");
        // max_offers caps, and a long-overdue replenishment (more than one interval late) is dropped
        let opts = NboOptions { max_offers: 1, ..NboOptions::new(d(195)) };
        assert_eq!(next_offers(&log, &chains, &opts).iter().filter(|o| o.customer_id(&log) == "ann").count(), 1);
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
