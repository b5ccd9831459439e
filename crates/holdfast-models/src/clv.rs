//! Per-customer predictions: probability alive, expected purchases over a horizon, expected time
//! of the next purchase, expected order value and customer lifetime value.
//!
//! CLV is the discounted-cash-flow sum of Fader, Hardie & Lee (2005, "RFM and CLV", §4) as
//! lifetimes computes it: `CLV = Σ_{i=1}^{H} (E[Y(i·M)] − E[Y((i−1)·M)]) · E[M] / (1+d)^i`, where
//! `E[Y(t)]` is the model's conditional expected purchases, `M` a month (365.25/12 days), `E[M]`
//! the Gamma-Gamma expected order value and `d` the monthly discount rate.

use crate::summary::{RfmRow, Summary};
use crate::{GammaGamma, PurchaseModel};
use serde::Serialize;

/// What to predict.
#[derive(Clone, Copy, Debug)]
pub struct PredictOptions {
    /// Horizon in months (default 12).
    pub horizon_months: f64,
    /// Monthly discount rate (default 0.01).
    pub discount_monthly: f64,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions { horizon_months: 12.0, discount_monthly: 0.01 }
    }
}

/// Predictions for one customer. Times are in the summary's unit.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct CustomerPrediction {
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Time after `T` at which expected cumulative purchases reach 1; `None` when that does not
    /// happen within the horizon.
    pub expected_next_order_in: Option<f64>,
    /// Expected value of a future order (Gamma-Gamma); `None` without a spend model.
    pub expected_aov: Option<f64>,
    /// Discounted value of the expected purchases over the horizon; `None` without a spend model.
    pub clv: Option<f64>,
}

/// Predicts for one customer.
pub fn predict_one(model: &dyn PurchaseModel, spend: Option<&GammaGamma>, row: &RfmRow, unit_per_month: f64, opts: &PredictOptions) -> CustomerPrediction {
    let (x, tx, t) = (row.frequency as f64, row.recency, row.t);
    let horizon = opts.horizon_months * unit_per_month;
    let e = |h: f64| model.expected_purchases(h, x, tx, t);
    let expected = e(horizon);
    let next = if expected >= 1.0 {
        // E is increasing in the horizon: bisect for E(h) = 1.
        let (mut lo, mut hi) = (0.0, horizon);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if e(mid) >= 1.0 {
                hi = mid;
            } else {
                lo = mid;
            }
            if hi - lo < 1e-4 * horizon {
                break;
            }
        }
        Some(hi)
    } else {
        None
    };
    let aov = spend.and_then(|g| g.expected_aov(row.frequency, row.monetary_value));
    let clv = aov.map(|m| {
        let months = opts.horizon_months.ceil().max(0.0) as usize;
        let mut prev = 0.0;
        let mut v = 0.0;
        for i in 1..=months {
            let h = ((i as f64) * unit_per_month).min(horizon);
            let cur = e(h);
            v += (cur - prev) * m / (1.0 + opts.discount_monthly).powi(i as i32);
            prev = cur;
        }
        v
    });
    let finite = |v: f64| if v.is_finite() { v } else { f64::NAN };
    CustomerPrediction {
        p_alive: finite(model.p_alive(x, tx, t)),
        expected_purchases: finite(expected),
        expected_next_order_in: next.filter(|v| v.is_finite()),
        expected_aov: aov,
        clv: clv.filter(|v| v.is_finite()),
    }
}

/// Predicts for every customer of a summary, in order.
pub fn predict_customers(model: &dyn PurchaseModel, spend: Option<&GammaGamma>, summary: &Summary, opts: &PredictOptions) -> Vec<CustomerPrediction> {
    let per_month = summary.unit.per_month();
    use rayon::prelude::*;
    summary.rows.par_iter().map(|r| predict_one(model, spend, r, per_month, opts)).collect()
}
