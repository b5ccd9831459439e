//! Times segments, red flags with the action queue, and the next best offer on a synthetic
//! `OrderLog` with order lines — 5 million orders of 500,000 customers over three years by
//! default — against `movement` + `cohorts` (the core of `holdfast analyze`) on the same log.
//!
//! ```text
//! cargo run --release -p holdfast-core --example segments_speed [-- ORDERS CUSTOMERS]
//! ```
//!
//! The target: segments + flags + next best offer add at most 50% to analyze's time, i.e. the
//! printed ratio is at most 0.5.

use holdfast_core::actions::{action_queue, QueueOptions};
use holdfast_core::cohorts::{cohorts, CohortOptions};
use holdfast_core::nbo::{next_offers, service_chains, NboOptions};
use holdfast_core::segments::{segment_customers, summarize, SegmentOptions};
use holdfast_core::{movement, Calendar, Currency, Granularity, MovementOptions, OrderLog, OrderLogBuilder, DAY};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let mut a = std::env::args().skip(1);
    let orders: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
    let customers: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(500_000);
    let t = Instant::now();
    let log = synthetic(orders, customers);
    println!("built log: {} orders, {} customers, {} products in {:.2?}", log.n_orders(), log.n_customers(), log.catalog().products.len(), t.elapsed());
    let cal = Calendar::default();
    let as_of = log.default_as_of(&cal).unwrap_or(0);

    let time = |name: &str, f: &mut dyn FnMut()| -> Duration {
        let t = Instant::now();
        f();
        let e = t.elapsed();
        println!("{name:<34} {e:>10.2?}");
        e
    };
    let mo = MovementOptions { granularity: Granularity::Month, window_days: 365, as_of, from: None, to: None };
    let reference = time("movement (month)", &mut || _ = black_box(movement(&log, &cal, &mo)))
        + time("cohorts (month)", &mut || _ = black_box(cohorts(&log, &cal, &CohortOptions { granularity: Granularity::Month, as_of })));
    println!("{:<34} {reference:>10.2?}", "reference: movement + cohorts");

    let seg = time("segments (RFM, tiers, states)", &mut || {
        let s = segment_customers(&log, &SegmentOptions::new(as_of));
        black_box(summarize(&s));
    });
    let nbo_opts = NboOptions::new(as_of);
    let mut chains = Vec::new();
    let ch = time("service chains", &mut || chains = service_chains(&log, &nbo_opts));
    let mut n_offers = 0;
    let of = time("next offers", &mut || n_offers = next_offers(&log, &chains, &nbo_opts).len());
    let mut n_tasks = 0;
    let fl = time("flags + action queue", &mut || n_tasks = action_queue(&log, None, &chains, &QueueOptions::new(as_of)).len());
    let ours = seg + ch + of + fl;
    println!("{:<34} {ours:>10.2?}", "segments + flags + next offers");
    println!("{} chains, {n_offers} offers, {n_tasks} tasks; {} threads", chains.len(), rayon::current_num_threads());
    println!("ratio (segments + flags + next offers) / (movement + cohorts) = {:.2} (target ≤ 0.50)", ours.as_secs_f64() / reference.as_secs_f64());
}

/// Deterministic synthetic orders: customers arrive uniformly over three years, each with 1 to
/// 2 × mean orders after arrival, amounts 5 to 205 USD, one of 40 products (8 categories) per
/// order; a quarter of the buyers of product 0 buy product 1 within 60 days.
fn synthetic(orders: usize, customers: usize) -> OrderLog {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let span = 3 * 365 * DAY;
    let start = 1_640_995_200; // 2022-01-01
    let mut b = OrderLogBuilder::new(Currency::new("USD").expect("USD"));
    let products: Vec<(String, String)> = (0..40).map(|p| (format!("product-{p:02}"), format!("category-{}", p % 8))).collect();
    let mean = (orders / customers.max(1)).max(1) as u64;
    let mut made = 0usize;
    for c in 0..customers {
        let id = format!("C{c:07}");
        let arrive = (next() % span as u64) as i64;
        let n = 1 + next() % (2 * mean);
        for _ in 0..n {
            if made >= orders {
                break;
            }
            let at = arrive + (next() % (span - arrive).max(1) as u64) as i64;
            let p = (next() % 40) as usize;
            b.push(&id, start + at, 500 + (next() % 20_000) as i64);
            b.push_line(&products[p].0, Some(&products[p].1), 1);
            made += 1;
            if p == 0 && next() % 4 == 0 && made < orders {
                b.push(&id, start + at + (10 + next() % 50) as i64 * DAY, 3_000);
                b.push_line(&products[1].0, Some(&products[1].1), 1);
                made += 1;
            }
        }
    }
    b.build()
}
