//! The rules around the model: how the horizon is chosen, what is refused, and that the answer
//! depends on nothing but the orders before as-of (not on their order in the file, not on later
//! orders).

use holdfast_core::{Calendar, Currency, OrderLog, OrderLogBuilder, DAY};
use holdfast_risk::{churn_risk, RiskError, RiskOptions};

const T0: i64 = 1_704_067_200; // 2024-01-01 00:00 UTC

/// `n` customers: customer `i` buys every `gap` days from day `i % 7` while `alive(i, day)`, up to
/// day `days`. `rev` pushes the customers in reverse order.
fn shop(n: usize, gap: i64, days: i64, alive: impl Fn(usize, i64) -> bool, rev: bool) -> OrderLog {
    let mut b = OrderLogBuilder::new(Currency::USD);
    let ids: Vec<usize> = if rev { (0..n).rev().collect() } else { (0..n).collect() };
    for i in ids {
        let mut d = (i % 7) as i64;
        while d < days && alive(i, d) {
            b.push(&format!("c{i:03}"), T0 + d * DAY + 3600, 1_000 + i as i64);
            d += gap + (i % 3) as i64;
        }
    }
    b.build()
}

/// Half the customers stop at a day of their own between 100 and 300.
fn lapsing(i: usize, d: i64) -> bool {
    i % 2 == 0 || d < 100 + (i as i64 * 37) % 200
}

#[test]
fn horizon_from_the_rhythm_within_its_bounds() {
    // Gaps of 10–12 days: the 90th percentile is 12, in whole weeks 14, raised to the 28-day floor.
    let log = shop(200, 10, 400, lapsing, false);
    let r = churn_risk(&log, &Calendar::default(), None, &RiskOptions::new(T0 + 400 * DAY)).unwrap();
    assert_eq!(r.model.horizon_days, 28, "{}", r.model.horizon_rule);
    assert!(r.model.horizon_rule.contains("at most 12 days"), "{}", r.model.horizon_rule);
    assert_eq!(r.model.cut, chrono::NaiveDate::from_ymd_opt(2025, 1, 7).unwrap());
    // Gaps of 60–62 days: 62 → 63 days.
    let log = shop(200, 60, 900, |i, d| i % 2 == 0 || d < 300 + (i as i64 * 37) % 400, false);
    let r = churn_risk(&log, &Calendar::default(), None, &RiskOptions::new(T0 + 900 * DAY)).unwrap();
    assert_eq!(r.model.horizon_days, 63, "{}", r.model.horizon_rule);
    // A horizon given: used as given.
    let r = churn_risk(&log, &Calendar::default(), None, &RiskOptions { horizon_days: Some(90), ..RiskOptions::new(T0 + 900 * DAY) }).unwrap();
    assert_eq!(r.model.horizon_days, 90);
}

#[test]
fn refusals_say_why() {
    let cal = Calendar::default();
    let log = shop(200, 10, 400, lapsing, false);
    let e = churn_risk(&log, &cal, None, &RiskOptions::new(T0 + 40 * DAY)).unwrap_err();
    assert_eq!(e, RiskError::TooLittleHistory { days: 40, horizon: 28 });
    let e = churn_risk(&log, &cal, None, &RiskOptions { horizon_days: Some(300), ..RiskOptions::new(T0 + 400 * DAY) }).unwrap_err();
    assert!(e.to_string().contains("needs at least 600 days"), "{e}");
    assert_eq!(churn_risk(&log, &cal, None, &RiskOptions::new(T0)).unwrap_err(), RiskError::NoOrders);
    // Everyone keeps buying: nothing to learn churn from.
    let steady = shop(200, 10, 400, |_, _| true, false);
    let e = churn_risk(&steady, &cal, None, &RiskOptions::new(T0 + 400 * DAY)).unwrap_err();
    assert!(e.to_string().contains("bought again"), "{e}");
    // Too few customers at the cut.
    let few = shop(30, 10, 400, lapsing, false);
    assert!(matches!(churn_risk(&few, &cal, None, &RiskOptions::new(T0 + 400 * DAY)), Err(RiskError::TooFewCustomers { rows: 30, .. })));
}

#[test]
fn only_the_orders_before_as_of_count_in_any_order() {
    let cal = Calendar::default();
    let opts = RiskOptions::new(T0 + 400 * DAY);
    let a = churn_risk(&shop(200, 10, 400, lapsing, false), &cal, None, &opts).unwrap();
    let b = churn_risk(&shop(200, 10, 400, lapsing, true), &cal, None, &opts).unwrap();
    let later = churn_risk(&shop(200, 10, 600, lapsing, false), &cal, None, &opts).unwrap();
    for other in [&b, &later] {
        assert_eq!(a.model.coefficients, other.model.coefficients);
        assert_eq!(a.model.holdout_auc, other.model.holdout_auc);
        let ids = |r: &holdfast_risk::RiskReport| r.customers.iter().map(|c| (c.customer_id.clone(), c.risk)).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(other));
    }
    // Sorted by risk, then id; the lapsed score above the steady.
    assert!(a.customers.windows(2).all(|w| w[0].risk > w[1].risk || (w[0].risk == w[1].risk && w[0].customer_id < w[1].customer_id)));
    let risk_of = |id: &str| a.customers.iter().find(|c| c.customer_id == id).unwrap().risk;
    assert!(risk_of("c001") > 0.9 && risk_of("c000") < 0.1, "{} {}", risk_of("c001"), risk_of("c000"));
    let top = &a.customers[0];
    assert_eq!(top.reasons[0].feature, holdfast_risk::Feature::RecencyRatio, "{:?}", top.reasons);
    assert!(top.reasons[0].explanation.starts_with("no order for "), "{}", top.reasons[0].explanation);
}
