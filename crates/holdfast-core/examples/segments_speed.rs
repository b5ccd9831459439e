//! Times what `holdfast analyze`'s segments section, `holdfast at-risk` and `holdfast next-offers`
//! compute — segments, red flags with the action queue, service chains and offers — against
//! `movement` + `cohorts` (the core of `holdfast analyze`) on the same `OrderLog`.
//!
//! ```text
//! cargo run --release -p holdfast-core --example segments_speed -- FILE.csv      # a generated file
//! cargo run --release -p holdfast-core --example segments_speed [-- ORDERS CUSTOMERS]
//! ```
//!
//! `FILE.csv` is a file of `holdfast generate` (`order_id,customer_id,ordered_at,amount,status,
//! product,category,quantity`, one line per order; refunded and cancelled orders are left out as
//! the importer does); without it, a synthetic log of 5 million orders of 500,000 customers.
//! Each measure is the best of 3 runs. The target of the segments issue: segments + flags + next
//! best offer add at most 50% to `analyze`'s end-to-end time (measured with the binary:
//! `holdfast analyze FILE --sections retention` against `--sections retention,segments`).

use holdfast_core::actions::{action_queue_top, action_queue_with, QueueOptions};
use holdfast_core::cohorts::{cohorts, CohortOptions};
use holdfast_core::nbo::{next_offers, service_chains, NboOptions};
use holdfast_core::segments::{segment_customers_with, summarize, Basis, SegmentOptions};
use holdfast_core::{movement, Calendar, Currency, Granularity, MovementOptions, OrderLog, OrderLogBuilder, DAY};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let t = Instant::now();
    let log = match args.first() {
        Some(path) if path.ends_with(".csv") => read_generated(path),
        _ => {
            let orders: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
            let customers: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(500_000);
            synthetic(orders, customers)
        }
    };
    println!("built log: {} orders, {} customers, {} products in {:.2?}", log.n_orders(), log.n_customers(), log.catalog().products.len(), t.elapsed());
    let cal = Calendar::default();
    let as_of = log.default_as_of(&cal).unwrap_or(0);

    // Best of 3 (the first run, with fresh memory, in brackets).
    let time = |name: &str, f: &mut dyn FnMut()| -> Duration {
        let runs: Vec<Duration> = (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        let best = *runs.iter().min().expect("3 runs");
        println!("  {name:<44} {best:>10.2?}  (first {:.2?})", runs[0]);
        best
    };
    println!("reference:");
    let mo = MovementOptions { granularity: Granularity::Month, window_days: 365, as_of, from: None, to: None };
    let reference = time("movement (month)", &mut || _ = black_box(movement(&log, &cal, &mo)))
        + time("cohorts (month)", &mut || _ = black_box(cohorts(&log, &cal, &CohortOptions { granularity: Granularity::Month, as_of })));
    println!("  {:<44} {reference:>10.2?}", "movement + cohorts");

    let seg_opts = SegmentOptions::new(as_of);
    let nbo_opts = NboOptions::new(as_of);
    let q_opts = QueueOptions::new(as_of);
    println!("as the commands compute them, from the log:");
    // Before anything else of ours, so that its first run meets fresh memory as in `holdfast analyze`.
    let section = time("analyze's segments section", &mut || {
        let basis = Basis::new(&log, as_of, &seg_opts.tiers);
        let (segs, chains) = rayon::join(|| segment_customers_with(&log, &seg_opts, &basis), || service_chains(&log, &nbo_opts));
        black_box(summarize(&segs));
        black_box(action_queue_top(&log, None, &chains, &q_opts, &basis, 10));
    });
    let at_risk = time("at-risk table (every task counted, 25 built)", &mut || {
        let basis = Basis::new(&log, as_of, &seg_opts.tiers);
        let chains = service_chains(&log, &nbo_opts);
        let (n, top) = action_queue_top(&log, None, &chains, &q_opts, &basis, 25);
        black_box((n, top.iter().map(|t| t.reason()).collect::<Vec<_>>()));
    });
    time("at-risk --json (every task built)", &mut || {
        let basis = Basis::new(&log, as_of, &seg_opts.tiers);
        let chains = service_chains(&log, &nbo_opts);
        black_box(action_queue_with(&log, None, &chains, &q_opts, &basis));
    });
    let offers = time("next-offers", &mut || {
        let chains = service_chains(&log, &nbo_opts);
        black_box(next_offers(&log, &chains, &nbo_opts));
    });
    let all = time("everything once (section + queue + offers)", &mut || {
        let basis = Basis::new(&log, as_of, &seg_opts.tiers);
        let (segs, chains) = rayon::join(|| segment_customers_with(&log, &seg_opts, &basis), || service_chains(&log, &nbo_opts));
        black_box(summarize(&segs));
        black_box(action_queue_top(&log, None, &chains, &q_opts, &basis, 25));
        black_box(next_offers(&log, &chains, &nbo_opts));
    });
    println!("parts:");
    let mut basis = Basis::new(&log, as_of, &seg_opts.tiers);
    time("basis (revenue, tiers, workspace gap)", &mut || basis = Basis::new(&log, as_of, &seg_opts.tiers));
    time("segments (RFM, states) + summary", &mut || _ = black_box(summarize(&segment_customers_with(&log, &seg_opts, &basis))));
    let mut chains = Vec::new();
    time("service chains", &mut || chains = service_chains(&log, &nbo_opts));
    let mut n_offers = 0;
    time("next offers", &mut || n_offers = next_offers(&log, &chains, &nbo_opts).len());
    let mut n_tasks = 0;
    time("flags + action queue, every task", &mut || n_tasks = action_queue_with(&log, None, &chains, &q_opts, &basis).len());
    time("flags + action queue, top 10 built", &mut || _ = black_box(action_queue_top(&log, None, &chains, &q_opts, &basis, 10)));
    println!("  {} chains, {n_offers} offers, {n_tasks} tasks; {} threads", chains.len(), rayon::current_num_threads());

    let r = |d: Duration| d.as_secs_f64() / reference.as_secs_f64();
    println!("ratios to movement + cohorts: section {:.2}, at-risk {:.2}, next-offers {:.2}, everything {:.2}", r(section), r(at_risk), r(offers), r(all));
    println!("budget: everything ≤ 0.5 × analyze's end-to-end time (≈ 0.65 s for analyze at 1.3 s): {:.2} s", all.as_secs_f64());
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A file of `holdfast generate`: counted (not refunded or cancelled) orders with their product.
fn read_generated(path: &str) -> OrderLog {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut b = OrderLogBuilder::new(Currency::new("USD").expect("USD"));
    let num = |s: &str| s.parse::<i64>().unwrap_or_else(|_| panic!("{path}: bad number {s:?}"));
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert!(f.len() >= 8, "{path}: expected 8 fields in {line:?}");
        if f[4] == "refunded" || f[4] == "cancelled" {
            continue;
        }
        let (date, time) = f[2].split_once(' ').unwrap_or((f[2], "00:00:00"));
        let d: Vec<i64> = date.split('-').map(num).collect();
        let h: Vec<i64> = time.split(':').map(num).collect();
        let at = days_from_civil(d[0], d[1], d[2]) * DAY + h[0] * 3600 + h[1] * 60 + h.get(2).copied().unwrap_or(0);
        let (units, cents) = f[3].split_once('.').unwrap_or((f[3], "0"));
        let amount = num(units) * 100 + num(&format!("{cents:0<2}")[..2]);
        b.push(f[1], at, amount);
        b.push_line(f[5], Some(f[6]), num(f[7]) as u32);
    }
    b.build()
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
