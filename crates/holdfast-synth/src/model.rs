//! The customer model: who arrives when, how often each buys, when each stops, what each buys and
//! spends, and the planted chains. One customer is simulated from its own random stream, so the
//! output does not depend on how customers are split between threads.
//!
//! - Acquisition: the first order's day is drawn from a density that grows linearly over the span
//!   (from 1 to 2) times the day's seasonality.
//! - Purchasing while alive: a Poisson process with the customer's own rate λ ~ Gamma(r, α)
//!   (per day), modulated by seasonality (month factors with a December peak, quieter weekends),
//!   drawn by thinning.
//! - Dropout (BG/NBD): after every purchase but the first, an alive customer leaves for good with
//!   probability p ~ Beta(a, b) drawn once per customer.
//! - Spend (Gamma-Gamma-like): order value = list price × quantity × the customer's price level
//!   (Gamma, mean 1) × per-order noise (Gamma, mean 1); quantities vary by customer.
//! - Chains: see [`crate::Chain`]. A follow-up chain is decided at the first purchase of its
//!   `from` product and happens even if the customer drops out meanwhile (the decision was made
//!   with that order), so the planted share is exact; replenishment continues only while the
//!   customer is alive.
//! - Status: 1.2% of orders `refunded`, 0.8% `cancelled`, the rest `completed`.

use crate::catalog::{CATEGORIES, PRODUCTS};
use crate::rng::Rng;
use chrono::{Datelike, NaiveDate};

/// Shape of the Gamma distribution of purchase rates across customers.
pub const RATE_SHAPE: f64 = 0.9;
/// Mean purchase rate across customers, per day (one order every ~33 days).
pub const RATE_MEAN: f64 = 0.0305;
/// Beta(a, b) of the dropout probability after each repeat purchase (mean a / (a + b) ≈ 0.07).
pub const DROP_A: f64 = 1.1;
pub const DROP_B: f64 = 14.0;
/// Shape of the per-customer price level (mean 1, sd ≈ 0.41).
pub const LEVEL_SHAPE: f64 = 6.0;
/// Shape of the per-order value noise (mean 1, sd ≈ 0.22).
pub const ORDER_SHAPE: f64 = 20.0;
/// Probability that an ordinary purchase is from the customer's favourite category.
pub const FAVOURITE_SHARE: f64 = 0.55;
/// Popularity multiplier of products that are the target of a follow-up chain: they are mostly
/// bought through the chain, so the planted share is what a miner finds.
pub const CHAIN_TARGET_DAMPING: f64 = 0.1;
pub const REFUND_SHARE: f64 = 0.012;
pub const CANCEL_SHARE: f64 = 0.008;

/// Month factors, January first: a December peak, a November (sales) bump, a summer lull.
const MONTH_FACTOR: [f64; 12] = [0.85, 0.85, 0.95, 0.97, 1.0, 0.92, 0.85, 0.9, 1.0, 1.05, 1.25, 1.55];
/// Weekday factors, Monday first.
const WEEKDAY_FACTOR: [f64; 7] = [1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.85];
/// Orders by hour of day (relative).
const HOUR_WEIGHT: [f64; 24] = [
    0.25, 0.12, 0.06, 0.04, 0.04, 0.08, 0.25, 0.55, 0.9, 1.3, 1.5, 1.55, 1.65, 1.55, 1.45, 1.45,
    1.5, 1.6, 1.8, 2.0, 2.0, 1.7, 1.2, 0.6,
];

pub const STATUS_COMPLETED: u8 = 0;
pub const STATUS_REFUNDED: u8 = 1;
pub const STATUS_CANCELLED: u8 = 2;

/// At most this many orders per customer (a guard; the model practically never reaches it).
const MAX_ORDERS_PER_CUSTOMER: usize = 5_000;

/// One generated order, compact. Field order is the sort order of the output file; sorting on
/// every field makes the output independent of the sort algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rec {
    /// Seconds since the start of the span.
    pub t: u32,
    pub cust: u32,
    /// Minor units.
    pub amount: u32,
    pub product: u8,
    pub qty: u8,
    pub status: u8,
}

/// A chain compiled against the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct CChain {
    pub from: usize,
    pub to: usize,
    pub share: f64,
    pub days: u32,
    pub replenish: bool,
}

impl CChain {
    /// The window, in days, within which the follow-up is observed.
    pub fn window_days(&self) -> f64 {
        if self.replenish {
            self.days as f64 * 1.25
        } else {
            self.days as f64
        }
    }
}

/// Everything shared by the simulation of all customers.
pub struct Ctx {
    pub seed: u64,
    pub days: u32,
    day_factor: Vec<f64>,
    fmax: f64,
    acq_cdf: Vec<f64>,
    hour_cdf: Vec<f64>,
    cat_cdf: Vec<f64>,
    global_cdf: Vec<f64>,
    in_cat: Vec<(Vec<u8>, Vec<f64>)>,
    pub chains: Vec<CChain>,
    chains_from: Vec<Vec<usize>>,
}

fn cumulative(w: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    w.into_iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

impl Ctx {
    pub fn new(seed: u64, start: NaiveDate, days: u32, chains: Vec<CChain>) -> Ctx {
        let day_factor: Vec<f64> = (0..days)
            .map(|i| {
                let d = start + chrono::Duration::days(i as i64);
                MONTH_FACTOR[d.month0() as usize] * WEEKDAY_FACTOR[d.weekday().num_days_from_monday() as usize]
            })
            .collect();
        let fmax = day_factor.iter().copied().fold(0.0, f64::max);
        let n = days.max(1) as f64;
        let acq_cdf = cumulative(day_factor.iter().enumerate().map(|(i, f)| f * (1.0 + i as f64 / n)));
        let targets: Vec<usize> = chains.iter().filter(|c| !c.replenish).map(|c| c.to).collect();
        let weight = |i: usize| {
            let p = &PRODUCTS[i];
            if targets.contains(&i) {
                p.weight * CHAIN_TARGET_DAMPING
            } else {
                p.weight
            }
        };
        let global_cdf = cumulative((0..PRODUCTS.len()).map(weight));
        let in_cat = (0..CATEGORIES.len())
            .map(|c| {
                let idx: Vec<u8> = (0..PRODUCTS.len()).filter(|&i| PRODUCTS[i].category == c).map(|i| i as u8).collect();
                let cdf = cumulative(idx.iter().map(|&i| weight(i as usize)));
                (idx, cdf)
            })
            .collect();
        let mut chains_from = vec![Vec::new(); PRODUCTS.len()];
        for (k, c) in chains.iter().enumerate() {
            chains_from[c.from].push(k);
        }
        Ctx {
            seed,
            days,
            day_factor,
            fmax,
            acq_cdf,
            hour_cdf: cumulative(HOUR_WEIGHT),
            cat_cdf: cumulative(CATEGORIES.iter().map(|c| c.1)),
            global_cdf,
            in_cat,
            chains,
            chains_from,
        }
    }

    /// Simulates customer `c`, appending its orders (in time order) to `out`.
    pub fn simulate(&self, c: u32, out: &mut Vec<Rec>, pending: &mut Vec<(f64, u8)>) {
        let mut rng = Rng::new(self.seed, c as u64);
        let lambda = rng.gamma(RATE_SHAPE) * (RATE_MEAN / RATE_SHAPE);
        let p_drop = rng.beta(DROP_A, DROP_B);
        let level = rng.gamma(LEVEL_SHAPE) / LEVEL_SHAPE;
        let basket = rng.gamma(2.0) * 0.3;
        let fav = rng.pick(&self.cat_cdf);
        let acq = rng.pick(&self.acq_cdf) as f64 + rng.uniform();
        let mut s = Sim { ctx: self, rng, c, p_drop, level, basket, fav, alive: true, triggered: 0, n: 0, out, pending };
        s.pending.clear();
        let end = self.days as f64;
        let first = s.choose();
        s.emit(acq, first, false);
        let mut next_reg = s.next_time(acq, lambda);
        loop {
            if s.n >= MAX_ORDERS_PER_CUSTOMER {
                break;
            }
            let (pi, pt) = s
                .pending
                .iter()
                .enumerate()
                .fold((usize::MAX, f64::INFINITY), |b, (i, &(t, _))| if t < b.1 { (i, t) } else { b });
            if pt <= next_reg {
                if pt >= end {
                    break;
                }
                let (_, product) = s.pending.swap_remove(pi);
                s.emit(pt, product, true);
            } else {
                if next_reg >= end {
                    break;
                }
                let t = next_reg;
                let product = s.choose();
                s.emit(t, product, true);
                next_reg = s.next_time(t, lambda);
            }
            if !s.alive {
                next_reg = f64::INFINITY;
            }
        }
    }
}

struct Sim<'a> {
    ctx: &'a Ctx,
    rng: Rng,
    c: u32,
    p_drop: f64,
    level: f64,
    basket: f64,
    fav: usize,
    alive: bool,
    /// Bit k set: follow-up chain k has been decided for this customer.
    triggered: u64,
    n: usize,
    out: &'a mut Vec<Rec>,
    pending: &'a mut Vec<(f64, u8)>,
}

impl Sim<'_> {
    /// Time of the next ordinary purchase after `t` (days), by thinning; infinity past the end
    /// or when the customer has left.
    fn next_time(&mut self, mut t: f64, lambda: f64) -> f64 {
        if !self.alive || lambda <= 0.0 {
            return f64::INFINITY;
        }
        let end = self.ctx.days as f64;
        let bound = lambda * self.ctx.fmax;
        loop {
            t += self.rng.exp1() / bound;
            if t >= end {
                return f64::INFINITY;
            }
            if self.rng.uniform() * self.ctx.fmax < self.ctx.day_factor[t as usize] {
                return t;
            }
        }
    }

    fn choose(&mut self) -> u8 {
        if self.rng.uniform() < FAVOURITE_SHARE {
            let (idx, cdf) = &self.ctx.in_cat[self.fav];
            if !idx.is_empty() {
                return idx[self.rng.pick(cdf)];
            }
        }
        self.rng.pick(&self.ctx.global_cdf) as u8
    }

    fn emit(&mut self, day: f64, product: u8, repeat: bool) {
        let ctx = self.ctx;
        let rng = &mut self.rng;
        let d = day as u32;
        let hour = rng.pick(&ctx.hour_cdf) as u32;
        let t = d * 86_400 + hour * 3_600 + rng.below(3_600);
        let p = &PRODUCTS[product as usize];
        let qty = if p.single { 1 } else { (1 + rng.poisson(self.basket)).min(99) };
        let value = p.price_minor as f64 * qty as f64 * self.level * rng.gamma(ORDER_SHAPE) / ORDER_SHAPE;
        let amount = value.round().clamp(1.0, u32::MAX as f64) as u32;
        let u = rng.uniform();
        let status = if u < REFUND_SHARE {
            STATUS_REFUNDED
        } else if u < REFUND_SHARE + CANCEL_SHARE {
            STATUS_CANCELLED
        } else {
            STATUS_COMPLETED
        };
        self.out.push(Rec { t, cust: self.c, amount, product, qty: qty as u8, status });
        self.n += 1;
        for &k in &ctx.chains_from[product as usize] {
            let ch = &ctx.chains[k];
            if ch.replenish {
                if self.alive && rng.uniform() < ch.share {
                    let delay = (ch.days as f64 * (0.8 + 0.4 * rng.uniform())).round().max(1.0);
                    self.pending.push((d as f64 + delay + rng.uniform(), ch.to as u8));
                }
            } else if self.triggered & (1 << k) == 0 {
                self.triggered |= 1 << k;
                if rng.uniform() < ch.share {
                    // Whole days in 1..=days-1 (triangular, median ≈ days / 2), so the follow-up is
                    // on a later calendar day and strictly within `days` days of the trigger.
                    let tri = 0.5 * (rng.uniform() + rng.uniform());
                    let delay = 1 + ((ch.days.saturating_sub(1)) as f64 * tri) as u32;
                    self.pending.push(((d + delay) as f64 + rng.uniform(), ch.to as u8));
                }
            }
        }
        if self.alive && repeat && rng.uniform() < self.p_drop {
            self.alive = false;
        }
    }
}
