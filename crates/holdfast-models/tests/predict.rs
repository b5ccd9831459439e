//! The batch predictions (shared work per distinct row) agree with the one-customer path, and the
//! closed-form and numeric times of the next order agree with each other.

use holdfast_models::clv::predict_one;
use holdfast_models::*;

fn cdnow() -> Summary {
    let p = format!("{}/tests/data/cdnow_sample_summary_weeks.csv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    Summary::parse_csv(&text, TimeUnit::Week).unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol * b.abs().max(1.0), "{what}: {a} vs {b}");
}

fn same(a: &CustomerPrediction, b: &CustomerPrediction, what: &str) {
    close(a.p_alive, b.p_alive, 1e-12, what);
    close(a.expected_purchases, b.expected_purchases, 1e-12, what);
    assert_eq!(a.expected_next_order_in.is_some(), b.expected_next_order_in.is_some(), "{what}");
    if let (Some(x), Some(y)) = (a.expected_next_order_in, b.expected_next_order_in) {
        close(x, y, 1e-7, what);
    }
    assert_eq!(a.clv.is_some(), b.clv.is_some(), "{what}");
    if let (Some(x), Some(y)) = (a.clv, b.clv) {
        close(x, y, 1e-10, what);
    }
}

/// Pareto/NBD without its closed-form next order: the trait's numeric root finder.
struct Numeric(ParetoNbd);

impl PurchaseModel for Numeric {
    fn name(&self) -> &'static str {
        "pareto"
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        self.0.params()
    }
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        self.0.p_alive(x, t_x, t)
    }
    fn purchases_if_alive(&self, horizon: f64, x: f64, t: f64) -> f64 {
        self.0.purchases_if_alive(horizon, x, t)
    }
}

#[test]
fn batch_predictions_equal_one_customer_predictions() {
    let s = cdnow();
    let spend = GammaGamma::fit(&s.spend(), &FitOptions::default()).unwrap().fit.model;
    // A long horizon, so that many customers have a next order within it.
    let opts = PredictOptions { horizon_months: 36.0, discount_monthly: 0.01 };
    let bg = BgNbd { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 };
    let pa = ParetoNbd { r: 0.5534, alpha: 10.5802, s: 0.6061, beta: 11.6562 };
    let models: [&dyn PurchaseModel; 3] = [&bg, &pa, &Numeric(pa)];
    let mut with_next = 0;
    for m in models {
        let batch = predict_customers(m, Some(&spend), &s, &opts);
        assert_eq!(batch.len(), s.len());
        for (r, b) in s.rows.iter().zip(&batch) {
            let one = predict_one(m, Some(&spend), r, s.unit.per_month(), &opts);
            same(b, &one, &format!("{} {r:?}", m.name()));
            with_next += usize::from(b.expected_next_order_in.is_some());
        }
    }
    assert!(with_next > 100, "{with_next}");
    // The closed form and the root finder give the same next orders.
    let closed = predict_customers(&pa, Some(&spend), &s, &opts);
    let numeric = predict_customers(&Numeric(pa), Some(&spend), &s, &opts);
    for (r, (a, b)) in s.rows.iter().zip(closed.iter().zip(&numeric)) {
        same(a, b, &format!("closed vs numeric {r:?}"));
    }
}

#[test]
fn next_order_is_where_expected_purchases_reach_one() {
    let pa = ParetoNbd { r: 0.5534, alpha: 10.5802, s: 0.6061, beta: 11.6562 };
    let bg = BgNbd { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 };
    let opts = PredictOptions { horizon_months: 36.0, discount_monthly: 0.0 };
    let row = RfmRow { frequency: 12, recency: 30.0, t: 32.0, monetary_value: 40.0 };
    for m in [&pa as &dyn PurchaseModel, &bg] {
        let p = predict_one(m, None, &row, TimeUnit::Week.per_month(), &opts);
        let h = p.expected_next_order_in.expect("a frequent buyer buys again within 3 years");
        close(m.expected_purchases(h, 12.0, 30.0, 32.0), 1.0, 1e-9, m.name());
    }
}
