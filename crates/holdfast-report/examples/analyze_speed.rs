//! Times the metrics and rendering of `holdfast analyze` on a synthetic `OrderLog` (no file
//! reading): 5 million orders of 500,000 customers over three years by default.
//!
//! ```text
//! cargo run --release -p holdfast-report --example analyze_speed [-- ORDERS CUSTOMERS]
//! ```
//!
//! Prints the time of each step and, as a reference measured in the same run, one sequential pass
//! summing every customer's amounts (the least any per-customer metric must do).

use holdfast_core::cohorts::{cohorts, CohortOptions};
use holdfast_core::ltv::{historical_ltv, LtvOptions};
use holdfast_core::repeat::{repeat_behaviour, RepeatOptions};
use holdfast_core::{movement, Calendar, Currency, Granularity, MovementOptions, OrderLog, DAY};
use holdfast_report::{analyze, render, AnalyzeOptions};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut a = std::env::args().skip(1);
    let orders: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
    let customers: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(500_000);
    let t = Instant::now();
    let log = synthetic(orders, customers);
    println!("built log: {} orders, {} customers in {:.2?}", log.n_orders(), log.n_customers(), t.elapsed());
    let cal = Calendar::default();
    let as_of = log.default_as_of(&cal).unwrap_or(0);

    let t = Instant::now();
    let mut total = 0i64;
    for c in 0..log.n_customers() as u32 {
        total += log.amounts_of(c).iter().sum::<i64>();
    }
    black_box(total);
    let reference = t.elapsed();
    println!("reference (sequential sum per customer): {reference:.2?}");

    let time = |name: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let e = t.elapsed();
        println!("{name:<28} {e:>10.2?}  ({:.1}× reference)", e.as_secs_f64() / reference.as_secs_f64());
        e
    };
    let mo = MovementOptions { granularity: Granularity::Month, window_days: 365, as_of, from: None, to: None };
    time("movement (month)", &mut || _ = black_box(movement(&log, &cal, &mo)));
    time("cohorts (month)", &mut || _ = black_box(cohorts(&log, &cal, &CohortOptions { granularity: Granularity::Month, as_of })));
    time("repeat behaviour", &mut || _ = black_box(repeat_behaviour(&log, &RepeatOptions { as_of, first_order_from: None, first_order_to: None })));
    time("historical LTV", &mut || _ = black_box(historical_ltv(&log, &LtvOptions { as_of, buckets: 12 })));
    let opts = AnalyzeOptions { calendar: cal, granularity: Granularity::Month, window_days: 365, as_of, source: "synthetic".into() };
    let mut report = None;
    let all = time("analyze (all metrics)", &mut || report = Some(analyze(&log, &opts)));
    let report = report.expect("report");
    let mut json = String::new();
    let j = time("JSON", &mut || json = serde_json::to_string(&report).expect("json"));
    let mut html = String::new();
    let h = time("HTML", &mut || html = render(&report));
    let mut text = String::new();
    let x = time("terminal tables", &mut || text = report.to_terminal());
    println!(
        "metrics + report: {:.2?} (JSON {} kB, HTML {} kB, text {} kB); {} threads",
        all + j + h + x,
        json.len() / 1024,
        html.len() / 1024,
        text.len() / 1024,
        rayon_threads()
    );
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Deterministic synthetic orders: customers arrive uniformly over three years, each with 1 to
/// 2 × mean orders spread after its arrival, amounts 5 to 205 USD.
fn synthetic(orders: usize, customers: usize) -> OrderLog {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = 1_640_995_200i64; // 2022-01-01
    let span = 3 * 365 * DAY;
    let mean = (orders / customers.max(1)).max(1) as u64;
    let ids: Vec<String> = (0..customers).map(|c| format!("C{c:07}")).collect();
    let mut cust = Vec::with_capacity(orders);
    let mut at = Vec::with_capacity(orders);
    let mut amount = Vec::with_capacity(orders);
    let mut c = 0usize;
    while cust.len() < orders {
        let arrive = start + (next() % span as u64) as i64;
        let n = 1 + next() % (2 * mean - 1).max(1);
        for _ in 0..n {
            if cust.len() >= orders {
                break;
            }
            let t = arrive + (next() % (start + span - arrive).max(1) as u64) as i64;
            cust.push((c % customers) as u32);
            at.push(t);
            amount.push(500 + (next() % 20_000) as i64);
        }
        c += 1;
    }
    OrderLog::from_columns(ids, cust, at, amount, Currency::USD, None, Default::default())
}
