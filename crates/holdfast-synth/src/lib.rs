//! # holdfast-synth
//!
//! Realistic synthetic orders for Holdfast's demos, tests and benchmarks, deterministic by seed:
//! the same [`Config`] gives byte-identical output on any machine and any number of threads.
//!
//! ## What the data looks like
//! A shop with a small catalogue ([`catalog::PRODUCTS`]: web services, car parts, coffee, office
//! supplies, home goods, gift cards). Customers arrive over the whole span (a growing business),
//! buy at their own Gamma-distributed rates with seasonality (December peak, quieter weekends),
//! leave BG/NBD-style (after each repeat purchase, with a Beta-distributed probability of their
//! own), spend at their own Gamma-distributed level, and about 2% of orders are `refunded` or
//! `cancelled`. On top of that, **service chains** are planted ([`Chain`]): by default
//! landing-page → analytics (40% within 60 days), analytics → conversion-audit, oil → filters, and
//! replenishment rhythms for coffee beans and printer ink. [`Truth`] reports what was planted and
//! what is observable in the generated data, so tests of the chain miner can check against it.
//! The model and its constants are documented in [`model`].
//!
//! **Size**: with the default 36 months, `customers` N gives about 10 × N orders (≈ 10.1 per
//! customer on average, counting refunded and cancelled ones; customers arriving late have had
//! less time to buy). Fewer months give proportionally fewer orders per customer.
//!
//! ## Principal items
//! - [`Config`], [`Chain`]: what to generate.
//! - [`write_csv`]: streams the orders file (`order_id,customer_id,ordered_at,amount,status,
//!   product,category,quantity`, sorted by time, `ordered_at` as `YYYY-MM-DD HH:MM:SS` without a
//!   zone, amounts with two decimals) to any writer, in parallel, with a progress callback.
//! - [`generate`] → [`Dataset`]: the orders in memory; [`Dataset::order_log`] gives the counted
//!   orders as a `holdfast_core::OrderLog` (times read as UTC, amounts in cents, currency USD).
//! - [`generate_log`]: both at once, for tests of other crates.
//! - [`saas`]: a SaaS-like workspace (monthly invoices, logins, tickets, newsletters, NPS) whose
//!   churn is caused by planted behaviours, for testing churn models and their reasons.
//!
//! Opening files, progress bars and command-line parsing belong to `holdfast-cli`.

pub mod catalog;
mod csv;
pub mod model;
pub mod rng;
pub mod saas;

use chrono::{Months, NaiveDate};
use holdfast_core::{Catalog, Currency, Instant, OrderLines, OrderLog};
use model::{CChain, Ctx, Rec};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;

pub use csv::HEADER;

/// Errors of the generator: all of them are about the configuration or the writer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the number of customers must be between 1 and {max}, not {got}")]
    Customers { got: u64, max: u64 },
    #[error("the number of months must be between 1 and 600, not {0}")]
    Months(u32),
    #[error("invalid chain {spec:?}: {reason} (expected FROM:TO:SHARE:DAYS, e.g. landing-page:analytics:0.4:60)")]
    ChainSyntax { spec: String, reason: String },
    #[error("unknown product {name:?} in a chain; products are: {known}")]
    UnknownProduct { name: String, known: String },
    #[error("at most 64 chains can be planted, not {0}")]
    TooManyChains(usize),
    #[error("could not write the orders")]
    Io(#[from] std::io::Error),
}

/// The largest number of customers one run generates (about a billion orders).
pub const MAX_CUSTOMERS: u32 = 100_000_000;

/// A planted chain `FROM:TO:SHARE:DAYS`.
///
/// - `FROM` ≠ `TO` (a follow-up): the first time a customer buys `FROM`, with probability `SHARE`
///   they also buy `TO` on a later day strictly within `DAYS` days (delay triangular on
///   `1..DAYS`, median about `DAYS / 2`).
/// - `FROM` = `TO` (replenishment): after every purchase of `FROM`, with probability `SHARE` the
///   customer buys it again after about `DAYS` days (0.8–1.2 × `DAYS`).
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub from: String,
    pub to: String,
    pub share: f64,
    pub days: u32,
}

impl Chain {
    pub fn new(from: &str, to: &str, share: f64, days: u32) -> Chain {
        Chain { from: from.to_owned(), to: to.to_owned(), share, days }
    }

    /// The chains planted when none are given.
    pub fn defaults() -> Vec<Chain> {
        vec![
            Chain::new("landing-page", "analytics", 0.4, 60),
            Chain::new("analytics", "conversion-audit", 0.3, 90),
            Chain::new("oil", "filters", 0.35, 30),
            Chain::new("coffee-beans", "coffee-beans", 0.5, 30),
            Chain::new("printer-ink", "printer-ink", 0.6, 60),
        ]
    }

    pub fn is_replenishment(&self) -> bool {
        self.from == self.to
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.from, self.to, self.share, self.days)
    }
}

impl FromStr for Chain {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Chain, Error> {
        let bad = |reason: &str| Error::ChainSyntax { spec: spec.to_owned(), reason: reason.to_owned() };
        let parts: Vec<&str> = spec.split(':').map(str::trim).collect();
        let [from, to, share, days] = parts[..] else {
            return Err(bad("it needs four parts separated by ':'"));
        };
        let share: f64 = share.parse().map_err(|_| bad("SHARE is not a number"))?;
        if !(0.0..=1.0).contains(&share) {
            return Err(bad("SHARE must be between 0 and 1"));
        }
        let days: u32 = days.parse().map_err(|_| bad("DAYS is not a whole number"))?;
        if !(2..=3650).contains(&days) {
            return Err(bad("DAYS must be between 2 and 3650"));
        }
        if from.is_empty() || to.is_empty() {
            return Err(bad("FROM and TO must name products"));
        }
        Ok(Chain::new(from, to, share, days))
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub customers: u32,
    pub seed: u64,
    /// First day of the span (orders are placed on or after its midnight).
    pub start: NaiveDate,
    /// Length of the span in calendar months.
    pub months: u32,
    pub chains: Vec<Chain>,
}

impl Config {
    /// `customers` customers over 36 months from 2022-01-01 with the default chains.
    pub fn new(customers: u32, seed: u64) -> Config {
        Config {
            customers,
            seed,
            start: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default(),
            months: 36,
            chains: Chain::defaults(),
        }
    }

    /// The first day after the span.
    pub fn end(&self) -> Option<NaiveDate> {
        self.start.checked_add_months(Months::new(self.months))
    }

    fn compile(&self) -> Result<Ctx, Error> {
        if self.customers == 0 || self.customers > MAX_CUSTOMERS {
            return Err(Error::Customers { got: self.customers as u64, max: MAX_CUSTOMERS as u64 });
        }
        if self.months == 0 || self.months > 600 {
            return Err(Error::Months(self.months));
        }
        let end = self.end().ok_or(Error::Months(self.months))?;
        if self.chains.len() > 64 {
            return Err(Error::TooManyChains(self.chains.len()));
        }
        let index = |name: &str| {
            catalog::product_index(name).ok_or_else(|| Error::UnknownProduct {
                name: name.to_owned(),
                known: catalog::product_names().join(", "),
            })
        };
        let chains = self
            .chains
            .iter()
            .map(|c| {
                Ok(CChain {
                    from: index(&c.from)?,
                    to: index(&c.to)?,
                    share: c.share,
                    days: c.days.max(2),
                    replenish: c.is_replenishment(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let days = (end - self.start).num_days() as u32;
        Ok(Ctx::new(self.seed, self.start, days, chains))
    }

    fn start_instant(&self) -> Instant {
        self.start.and_hms_opt(0, 0, 0).map(|d| d.and_utc().timestamp()).unwrap_or(0)
    }
}

/// What a planted chain looks like in the generated data (counted orders only).
#[derive(Clone, Debug)]
pub struct ChainTruth {
    pub chain: Chain,
    /// Whether this is a replenishment rhythm (`from == to`).
    pub replenishment: bool,
    /// The window within which a follow-up is counted: `days` for a follow-up chain, 1.25 × `days`
    /// for a replenishment.
    pub window_days: f64,
    /// Follow-up: customers whose first counted `from` order leaves a full window before the end
    /// of the span. Replenishment: counted `from` orders leaving a full window.
    pub eligible: u64,
    /// Of those, how many have a counted `to` order after it within the window (for a
    /// follow-up: any `to` order, planted or not — what a chain miner sees).
    pub followed: u64,
    /// `followed / eligible`; `None` when nothing was eligible.
    pub observed_share: Option<f64>,
    /// Median delay in days from the trigger to the first follow-up within the window.
    pub median_delay_days: Option<f64>,
}

/// A description of the generated data, for tests and summaries.
#[derive(Clone, Debug)]
pub struct Truth {
    pub customers: u32,
    /// All rows, whatever their status.
    pub orders: u64,
    pub completed: u64,
    pub refunded: u64,
    pub cancelled: u64,
    /// Customers with at least one completed order.
    pub active_customers: u32,
    /// `[start, end)` of the span, UTC seconds (the file's times are read as UTC).
    pub start: Instant,
    pub end: Instant,
    pub chains: Vec<ChainTruth>,
}

/// Progress of a long generation, reported between batches.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    Simulating { customers_done: u64, customers: u64 },
    Sorting { orders: u64 },
    Writing { rows_done: u64, rows: u64 },
}

/// Customers simulated per parallel task.
const CHUNK: u32 = 4_096;
/// Parallel tasks per progress report.
const BATCH_CHUNKS: u32 = 32;

#[derive(Default, Clone)]
struct ChainAcc {
    eligible: u64,
    followed: u64,
    delays: Vec<u32>,
}

struct Simulated {
    recs: Vec<Rec>,
    acc: Vec<ChainAcc>,
    active: u32,
}

/// Records in `recs` (one customer, time order) into the chain accumulators.
fn observe(ctx: &Ctx, recs: &[Rec], acc: &mut [ChainAcc]) {
    let end = ctx.days as u64 * 86_400;
    for (k, ch) in ctx.chains.iter().enumerate() {
        let window = (ch.window_days() * 86_400.0) as u64;
        let a = &mut acc[k];
        let counted = |r: &&Rec| r.status == model::STATUS_COMPLETED;
        let mut triggers = recs.iter().filter(counted).filter(|r| r.product as usize == ch.from);
        let check = |r: &Rec, a: &mut ChainAcc| {
            if r.t as u64 + window > end {
                return;
            }
            a.eligible += 1;
            let follow = recs
                .iter()
                .filter(counted)
                .find(|f| f.product as usize == ch.to && f.t > r.t && ((f.t - r.t) as u64) <= window);
            if let Some(f) = follow {
                a.followed += 1;
                a.delays.push(f.t - r.t);
            }
        };
        if ch.replenish {
            for r in triggers {
                check(r, a);
            }
        } else if let Some(r) = triggers.next() {
            check(r, a);
        }
    }
}

fn simulate_range(ctx: &Ctx, lo: u32, hi: u32) -> Simulated {
    let mut recs = Vec::with_capacity(((hi - lo) as usize) * 11);
    let mut acc = vec![ChainAcc::default(); ctx.chains.len()];
    let mut pending = Vec::new();
    let mut active = 0;
    for c in lo..hi {
        let from = recs.len();
        ctx.simulate(c, &mut recs, &mut pending);
        let mine = &mut recs[from..];
        mine.sort_unstable();
        if mine.iter().any(|r| r.status == model::STATUS_COMPLETED) {
            active += 1;
        }
        observe(ctx, mine, &mut acc);
    }
    Simulated { recs, acc, active }
}

/// Simulates every customer in parallel; the result is sorted by time (then by every field).
fn simulate_all(cfg: &Config, ctx: &Ctx, progress: &mut dyn FnMut(Progress)) -> (Vec<Rec>, Truth) {
    let n = cfg.customers;
    let chunks: Vec<(u32, u32)> = (0..n.div_ceil(CHUNK)).map(|i| (i * CHUNK, ((i + 1) * CHUNK).min(n))).collect();
    let mut parts: Vec<Simulated> = Vec::with_capacity(chunks.len());
    for batch in chunks.chunks(BATCH_CHUNKS as usize) {
        let done: Vec<Simulated> = batch.par_iter().map(|&(lo, hi)| simulate_range(ctx, lo, hi)).collect();
        parts.extend(done);
        let customers_done = batch.last().map(|b| b.1).unwrap_or(n) as u64;
        progress(Progress::Simulating { customers_done, customers: n as u64 });
    }
    let total: usize = parts.iter().map(|p| p.recs.len()).sum();
    let mut recs = Vec::with_capacity(total);
    let mut acc = vec![ChainAcc::default(); ctx.chains.len()];
    let mut active = 0;
    for p in parts {
        recs.extend_from_slice(&p.recs);
        active += p.active;
        for (a, b) in acc.iter_mut().zip(p.acc) {
            a.eligible += b.eligible;
            a.followed += b.followed;
            a.delays.extend(b.delays);
        }
    }
    progress(Progress::Sorting { orders: recs.len() as u64 });
    recs.par_sort_unstable();
    let count = |s: u8| recs.iter().filter(|r| r.status == s).count() as u64;
    let start = cfg.start_instant();
    let chains = cfg
        .chains
        .iter()
        .zip(&ctx.chains)
        .zip(acc)
        .map(|((chain, cc), mut a)| {
            a.delays.sort_unstable();
            let median = match a.delays.len() {
                0 => None,
                m if m % 2 == 1 => Some(a.delays[m / 2] as f64 / 86_400.0),
                m => Some((a.delays[m / 2 - 1] as f64 + a.delays[m / 2] as f64) / 2.0 / 86_400.0),
            };
            ChainTruth {
                chain: chain.clone(),
                replenishment: cc.replenish,
                window_days: cc.window_days(),
                eligible: a.eligible,
                followed: a.followed,
                observed_share: (a.eligible > 0).then(|| a.followed as f64 / a.eligible as f64),
                median_delay_days: median,
            }
        })
        .collect();
    let truth = Truth {
        customers: n,
        orders: recs.len() as u64,
        completed: count(model::STATUS_COMPLETED),
        refunded: count(model::STATUS_REFUNDED),
        cancelled: count(model::STATUS_CANCELLED),
        active_customers: active,
        start,
        end: start + ctx.days as i64 * 86_400,
        chains,
    };
    (recs, truth)
}

/// Writes the orders file for `cfg` to `out` (header included) and describes what it holds.
/// Rows are in time order; `order_id` is the row number. Formatting runs in parallel; the bytes do
/// not depend on the number of threads.
pub fn write_csv<W: std::io::Write>(cfg: &Config, out: &mut W, progress: &mut dyn FnMut(Progress)) -> Result<Truth, Error> {
    let ctx = cfg.compile()?;
    let (recs, truth) = simulate_all(cfg, &ctx, progress);
    csv::write(cfg, &recs, out, progress)?;
    Ok(truth)
}

/// Status of a generated order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Completed,
    Refunded,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Refunded => "refunded",
            Status::Cancelled => "cancelled",
        }
    }

    fn from_code(s: u8) -> Status {
        match s {
            model::STATUS_REFUNDED => Status::Refunded,
            model::STATUS_CANCELLED => Status::Cancelled,
            _ => Status::Completed,
        }
    }
}

/// One generated order (one row of the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Row number, from 1, in time order.
    pub order_id: u64,
    /// Customer number, from 0; its id in the file is [`Dataset::customer_id`].
    pub customer: u32,
    /// UTC seconds.
    pub at: Instant,
    /// Cents.
    pub amount_minor: i64,
    pub status: Status,
    /// Index into [`catalog::PRODUCTS`].
    pub product: u8,
    pub quantity: u32,
}

impl Order {
    pub fn product_name(&self) -> &'static str {
        catalog::PRODUCTS[self.product as usize].name
    }

    pub fn category_name(&self) -> &'static str {
        catalog::CATEGORIES[catalog::PRODUCTS[self.product as usize].category].0
    }
}

/// Generated orders in memory.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Every row of the file, in the file's order.
    pub orders: Vec<Order>,
    pub truth: Truth,
    id_width: usize,
}

impl Dataset {
    /// The id customer number `c` has in the file, e.g. `C000042`.
    pub fn customer_id(&self, c: u32) -> String {
        csv::customer_id(c, self.id_width)
    }

    /// The counted (completed) orders as an [`OrderLog`]: customers in customer-number order
    /// (only those with a counted order), one line per order with the product and its category,
    /// amounts in cents, currency USD.
    pub fn order_log(&self) -> OrderLog {
        let n = self.truth.customers as usize;
        let mut dense = vec![u32::MAX; n];
        for o in self.orders.iter().filter(|o| o.status == Status::Completed) {
            dense[o.customer as usize] = 0;
        }
        let mut ids = Vec::new();
        for (c, d) in dense.iter_mut().enumerate() {
            if *d == 0 {
                *d = ids.len() as u32;
                ids.push(self.customer_id(c as u32));
            }
        }
        let counted: Vec<&Order> = self.orders.iter().filter(|o| o.status == Status::Completed).collect();
        let lines = OrderLines {
            offsets: (0..=counted.len() as u32).collect(),
            product: counted.iter().map(|o| o.product as u32).collect(),
            quantity: counted.iter().map(|o| o.quantity).collect(),
        };
        let catalog = Catalog {
            products: catalog::PRODUCTS.iter().map(|p| p.name.to_owned()).collect(),
            category_of: catalog::PRODUCTS.iter().map(|p| Some(p.category as u32)).collect(),
            categories: catalog::CATEGORIES.iter().map(|c| c.0.to_owned()).collect(),
        };
        OrderLog::from_columns(
            ids,
            counted.iter().map(|o| dense[o.customer as usize]).collect(),
            counted.iter().map(|o| o.at).collect(),
            counted.iter().map(|o| o.amount_minor).collect(),
            Currency::USD,
            Some(lines),
            catalog,
        )
    }
}

/// Generates the orders of `cfg` in memory (the same rows [`write_csv`] writes).
pub fn generate(cfg: &Config) -> Result<Dataset, Error> {
    let ctx = cfg.compile()?;
    let (recs, truth) = simulate_all(cfg, &ctx, &mut |_| {});
    let start = truth.start;
    let orders = recs
        .iter()
        .enumerate()
        .map(|(i, r)| Order {
            order_id: i as u64 + 1,
            customer: r.cust,
            at: start + r.t as i64,
            amount_minor: r.amount as i64,
            status: Status::from_code(r.status),
            product: r.product,
            quantity: r.qty as u32,
        })
        .collect();
    Ok(Dataset { orders, truth, id_width: csv::id_width(cfg.customers) })
}

/// The counted orders of `cfg` as an [`OrderLog`], with the description of what was planted.
pub fn generate_log(cfg: &Config) -> Result<(OrderLog, Truth), Error> {
    let d = generate(cfg)?;
    Ok((d.order_log(), d.truth))
}
