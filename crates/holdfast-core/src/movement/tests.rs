use super::*;
use crate::money::Currency;
use crate::order_log::OrderLogBuilder;
use proptest::prelude::*;

fn day(s: &str) -> Instant {
    Calendar::default().start_of_day(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

fn opts(g: Granularity, w: u32, as_of: &str) -> MovementOptions {
    MovementOptions { granularity: g, window_days: w, as_of: day(as_of), from: None, to: None }
}

/// Hand-computed example, W = 60 days, months of 2024:
///
/// - a: orders 01-10 (100), 02-15 (50), 05-20 (70)
/// - b: order 01-20 (200)
/// - c: orders 02-05 (30), 02-25 (30)
///
/// Activity at month starts (active = an order in [t - 60d, t)):
/// - 02-01: a (01-10), b (01-20)                    → {a, b}
/// - 03-01: a (02-15), b (01-20 ≥ 01-01), c         → {a, b, c}
/// - 04-01: a (02-15 ≥ 02-01), c (02-25)            → {a, c}   (b's 01-20 < 02-01)
/// - 05-01: none (a 02-15 < 03-02, c 02-25 < 03-02) → {}
/// - 06-01: a (05-20)                               → {a}
///
/// Jan: S=0 E=2 N=2 (a, b). Feb: S=2 E=3 K=2 N=1 (c). Mar: S=3 E=2 K=2 L=1 (b).
/// Apr: S=2 E=0 L=2. May: S=0 E=1 R=1 (a, first order before May).
#[test]
fn hand_computed_months() {
    let mut b = OrderLogBuilder::new(Currency::USD);
    b.push("a", day("2024-01-10"), 10000);
    b.push("a", day("2024-02-15"), 5000);
    b.push("a", day("2024-05-20"), 7000);
    b.push("b", day("2024-01-20"), 20000);
    b.push("c", day("2024-02-05"), 3000);
    b.push("c", day("2024-02-25"), 3000);
    let log = b.build();
    let mv = movement(&log, &Calendar::default(), &opts(Granularity::Month, 60, "2024-06-01"));
    let got: Vec<_> = mv.periods.iter().map(|p| (p.label.as_str(), p.active_start, p.active_end, p.new, p.reactivated, p.lost, p.kept)).collect();
    assert_eq!(
        got,
        [
            ("2024-01", 0, 2, 2, 0, 0, 0),
            ("2024-02", 2, 3, 1, 0, 0, 2),
            ("2024-03", 3, 2, 0, 0, 1, 2),
            ("2024-04", 2, 0, 0, 0, 2, 0),
            ("2024-05", 0, 1, 0, 1, 0, 0),
        ]
    );
    let feb = &mv.periods[1];
    // Feb orders: a 50, c 30, c 30 → 3 orders, 2 customers, revenue 110, repeat revenue 50 + 30.
    assert_eq!((feb.orders, feb.ordering_customers), (3, 2));
    assert_eq!(feb.revenue, 110.0);
    assert_eq!(feb.returning_revenue, 80.0);
    assert_eq!(feb.aov, Some(110.0 / 3.0));
    assert_eq!(feb.purchase_frequency, Some(1.5));
    let mar = &mv.periods[2];
    assert_eq!(mar.retention_rate, Some(2.0 / 3.0));
    assert_eq!(mar.churn_rate, Some(1.0 / 3.0));
    assert_eq!(mar.simple_retention_ratio, Some(2.0 / 3.0));
    assert_eq!(mar.retention_rate_change_previous, Some(2.0 / 3.0 - 1.0));
    assert_eq!(mv.periods[0].retention_rate, None);
    assert!(mv.periods.iter().all(|p| p.complete));
}

#[test]
fn partial_last_period_is_marked() {
    let mut b = OrderLogBuilder::new(Currency::USD);
    b.push("a", day("2024-01-10"), 100);
    let log = b.build();
    let mv = movement(&log, &Calendar::default(), &opts(Granularity::Month, 365, "2024-02-10"));
    assert_eq!(mv.periods.len(), 2);
    assert!(!mv.periods[1].complete);
    assert_eq!(mv.periods[1].active_end, 1);
}

fn check_identities(orders: &[(u8, u32)], w: u32, g: Granularity) {
    let mut b = OrderLogBuilder::new(Currency::USD);
    let t0 = day("2020-01-01");
    let mut max = t0;
    for &(c, d) in orders {
        let t = t0 + d as i64 * DAY + (c as i64 * 3607) % DAY;
        max = max.max(t);
        b.push(&format!("c{c}"), t, 100);
    }
    let log = b.build();
    let cal = Calendar::default();
    let o = MovementOptions { granularity: g, window_days: w, as_of: max + 1, from: None, to: None };
    let mv = movement(&log, &cal, &o);
    let mut prev_end = 0;
    for p in &mv.periods {
        assert_eq!(p.active_end, p.active_start - p.lost + p.new + p.reactivated, "E = S - L + N + R in {}", p.label);
        assert_eq!(p.kept, p.active_start - p.lost, "K = S - L in {}", p.label);
        assert_eq!(p.active_start, prev_end, "S equals the previous E in {}", p.label);
        prev_end = p.active_end;
    }
    // Brute force against the definition.
    let ps = movement_periods(&log, &cal, &o);
    for (p, got) in ps.iter().zip(&mv.periods) {
        let p1 = p.end.min(o.as_of);
        let (mut s, mut e, mut n, mut r) = (0, 0, 0, 0);
        for c in 0..log.n_customers() as u32 {
            let t = log.times_of(c);
            let a0 = is_active(t, p.start, w as i64 * DAY);
            let a1 = is_active(t, p1, w as i64 * DAY);
            s += a0 as u64;
            e += a1 as u64;
            n += (a1 && t[0] >= p.start && t[0] < p1) as u64;
            r += (a1 && !a0 && t[0] < p.start) as u64;
        }
        assert_eq!((got.active_start, got.active_end, got.new, got.reactivated), (s, e, n, r), "{}", p.label());
    }
}

proptest! {
    #[test]
    fn movement_identities_hold(
        orders in proptest::collection::vec((0u8..40, 0u32..1500), 1..200),
        w in 1u32..800,
        g in prop_oneof![Just(Granularity::Week), Just(Granularity::Month), Just(Granularity::Quarter), Just(Granularity::Year)],
    ) {
        check_identities(&orders, w, g);
    }
}
