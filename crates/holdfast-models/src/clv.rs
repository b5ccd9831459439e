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

/// The horizons at which a customer's expectation is needed: the end of each month up to the
/// horizon (the last one cut at the horizon), so the last value is the horizon's.
fn month_ends(unit_per_month: f64, opts: &PredictOptions) -> Vec<f64> {
    let horizon = opts.horizon_months * unit_per_month;
    let months = opts.horizon_months.ceil().max(1.0) as usize;
    (1..=months).map(|i| ((i as f64) * unit_per_month).min(horizon)).collect()
}

/// `1/(1+d)^i` for each month end `i = 1, 2, …`.
fn discounts(n: usize, opts: &PredictOptions) -> Vec<f64> {
    (1..=n).map(|i| 1.0 / (1.0 + opts.discount_monthly).powi(i as i32)).collect()
}

/// One customer's predictions from `P(alive)` and the expected purchases if alive at each of
/// `ends` (`if_alive[i]` over `(T, T + ends[i]]`), discounted by `discounts`.
#[allow(clippy::too_many_arguments)]
fn from_parts(model: &dyn PurchaseModel, spend: Option<&GammaGamma>, row: &RfmRow, p_alive: f64, ends: &[f64], if_alive: &[f64], discounts: &[f64]) -> CustomerPrediction {
    let (x, t) = (row.frequency as f64, row.t);
    let expected = p_alive * if_alive.last().copied().unwrap_or(0.0);
    // The first month end by which one purchase is expected, then the time within that month.
    let next = if expected >= 1.0 {
        let k = if_alive.iter().position(|e| p_alive * e >= 1.0).unwrap_or(ends.len() - 1);
        let lo = if k == 0 { (0.0, 0.0) } else { (ends[k - 1], p_alive * if_alive[k - 1]) };
        Some(model.time_to_purchases(1.0, p_alive, x, t, lo, (ends[k], p_alive * if_alive[k])))
    } else {
        None
    };
    let aov = spend.and_then(|g| g.expected_aov(row.frequency, row.monetary_value));
    let clv = aov.map(|m| {
        let mut prev = 0.0;
        let mut v = 0.0;
        for (e, d) in if_alive.iter().zip(discounts) {
            let cur = p_alive * e;
            v += (cur - prev) * m * d;
            prev = cur;
        }
        v
    });
    let finite = |v: f64| if v.is_finite() { v } else { f64::NAN };
    CustomerPrediction {
        p_alive: finite(p_alive),
        expected_purchases: finite(expected),
        expected_next_order_in: next.filter(|v| v.is_finite()),
        expected_aov: aov,
        clv: clv.filter(|v| v.is_finite()),
    }
}

/// Predicts for one customer.
pub fn predict_one(model: &dyn PurchaseModel, spend: Option<&GammaGamma>, row: &RfmRow, unit_per_month: f64, opts: &PredictOptions) -> CustomerPrediction {
    let (x, tx, t) = (row.frequency as f64, row.recency, row.t);
    let ends = month_ends(unit_per_month, opts);
    let if_alive: Vec<f64> = ends.iter().map(|&h| model.purchases_if_alive(h, x, t)).collect();
    from_parts(model, spend, row, model.p_alive(x, tx, t), &ends, &if_alive, &discounts(ends.len(), opts))
}

/// The work predictions share: per customer the index of their distinct `(x, t_x, T)` row and of
/// their distinct `(x, T)`; `P(alive)` per distinct row (by the model's batch method); the
/// expectations if alive per distinct `(x, T)` at each of `ends` (flat, `ends.len()` per key).
struct Shared {
    row_of: Vec<u32>,
    xt_of: Vec<u32>,
    p_alive: Vec<f64>,
    if_alive: Vec<f64>,
}

fn shared(model: &dyn PurchaseModel, summary: &Summary, ends: &[f64]) -> Shared {
    use rayon::prelude::*;
    let (rows, row_of) = summary.compress_indexed();
    let p_alive = model.p_alive_rows(&rows);
    // Distinct (x, T) in order of first appearance among the compressed rows (sorted by x, t_x, T).
    let mut key_of: std::collections::HashMap<(u32, u64), u32> = std::collections::HashMap::with_capacity(rows.len());
    let mut keys: Vec<(u32, f64)> = Vec::new();
    let xt_of: Vec<u32> = (0..rows.len())
        .map(|i| {
            *key_of.entry((rows.x[i], rows.t[i].to_bits())).or_insert_with(|| {
                keys.push((rows.x[i], rows.t[i]));
                (keys.len() - 1) as u32
            })
        })
        .collect();
    let if_alive: Vec<f64> = keys.par_iter().flat_map_iter(|&(x, t)| ends.iter().map(move |&h| model.purchases_if_alive(h, x as f64, t))).collect();
    Shared { row_of, xt_of, p_alive, if_alive }
}

/// `P(alive)` and expected purchases over `horizon` (in the summary's unit) for every customer, in
/// order — only what lifetimes' `conditional_probability_alive` and
/// `conditional_expected_number_of_purchases_up_to_time` give, with the same shared work as
/// [`predict_customers`].
pub fn alive_and_purchases(model: &dyn PurchaseModel, summary: &Summary, horizon: f64) -> Vec<(f64, f64)> {
    let sh = shared(model, summary, &[horizon]);
    sh.row_of
        .iter()
        .map(|&i| {
            let p = sh.p_alive[i as usize];
            (p, p * sh.if_alive[sh.xt_of[i as usize] as usize])
        })
        .collect()
}

/// Predicts for every customer of a summary, in order. The work is shared: `P(alive)` once per
/// distinct `(x, t_x, T)` (by the model's batch method), the expectations if alive once per
/// distinct `(x, T)` and month end, and only the time of the next order per customer.
pub fn predict_customers(model: &dyn PurchaseModel, spend: Option<&GammaGamma>, summary: &Summary, opts: &PredictOptions) -> Vec<CustomerPrediction> {
    use rayon::prelude::*;
    let ends = month_ends(summary.unit.per_month(), opts);
    let sh = shared(model, summary, &ends);
    let n = ends.len();
    let disc = discounts(n, opts);
    summary
        .rows
        .par_iter()
        .zip(&sh.row_of)
        .map(|(r, &i)| {
            let k = sh.xt_of[i as usize] as usize;
            from_parts(model, spend, r, sh.p_alive[i as usize], &ends, &sh.if_alive[k * n..(k + 1) * n], &disc)
        })
        .collect()
}
