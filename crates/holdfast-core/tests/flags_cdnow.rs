//! The worth of each red flag on real data: the CDNOW 1/10th sample (2,357 customers whose first
//! purchase was in Q1 1997, orders to 1998-06-30; `crates/holdfast-models/tests/data`). As of the
//! end of 1997-09-30, the product's own backtest (at as-of − H, nothing after as-of read) decides
//! which kinds open tasks; the 39 weeks after as-of then say what each flag was worth: the
//! repurchase rate of flagged customers against comparable unflagged ones (the same stratum of
//! purchase days). Every kind that opens tasks must have flagged customers buying again at
//! ≤ 0.9× the rate of comparable unflagged ones.

use holdfast_core::flags::FlagKind;
use holdfast_core::worth::{backtest, flag_worth, NO_SIGNAL};
use holdfast_core::{Currency, Instant, OrderLog, OrderLogBuilder};

fn cdnow() -> OrderLog {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../holdfast-models/tests/data/cdnow_sample_orders.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let date = chrono::NaiveDate::parse_from_str(f[2], "%Y-%m-%d").unwrap();
        let at: Instant = date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        let cents = (f[4].parse::<f64>().unwrap() * 100.0).round() as i64;
        b.push(f[1], at, cents);
    }
    b.build()
}

#[test]
fn every_kind_that_opens_tasks_flags_customers_who_buy_again_less() {
    let log = cdnow();
    let as_of: Instant = chrono::NaiveDate::from_ymd_opt(1997, 10, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
    let product = backtest(&log, None, as_of, 0.05, 365, None);
    let forward = flag_worth(&log, None, as_of, 273, 0.05, 365, None);
    assert_eq!(forward.customers, 2357);
    eprintln!("| flag | flagged | bought again | comparable unflagged | lift (39 weeks) | backtest lift (H = {} days) | opens tasks |", product.horizon_days);
    let mut judged = 0;
    for k in forward.kinds.iter().filter(|k| k.flagged > 0) {
        let p = product.get(k.kind).unwrap();
        let pct = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{:.1}%", 100.0 * v));
        let lift = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.2}"));
        eprintln!(
            "| `{}` | {} | {} | {} | {} | {} ({} flagged) | {} |",
            k.kind,
            k.flagged,
            pct(k.flagged_rate()),
            pct(k.unflagged_rate()),
            lift(k.lift),
            lift(p.lift),
            p.flagged,
            if p.opens_tasks { "yes" } else { "no" }
        );
        if p.opens_tasks {
            judged += 1;
            assert!(k.lift.is_some_and(|l| l <= NO_SIGNAL), "{}: lift {:?} over 39 weeks, yet it opens tasks", k.kind, k.lift);
        }
    }
    assert!(forward.get(FlagKind::SilenceBeyondRhythm).is_some_and(|k| k.flagged >= 5), "silence is measured");
    assert!(judged >= 1);
}
