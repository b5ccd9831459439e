//! Per-customer value predictions — P(alive), expected purchases, next order, CLV — from the
//! orders before an as-of instant or from an RFM summary, with the models fitted by the one rule
//! of [`holdfast_models::value`] (a fit that fails or does not converge is not used).

use chrono::{Duration, NaiveDate};
use holdfast_core::{Calendar, Instant, OrderLog};
use holdfast_models::{fit_value_models, predict_customers, CustomerPrediction, FitOptions, PredictOptions, PurchaseKind, Summary, TimeUnit, ValueModels};

/// How to predict.
#[derive(Clone, Copy, Debug)]
pub struct ValueOptions {
    pub kind: PurchaseKind,
    pub unit: TimeUnit,
    /// L2 penalty of the fits (lifetimes' `penalizer_coef`).
    pub penalizer: f64,
    pub horizon_months: f64,
    pub discount_monthly: f64,
}

impl Default for ValueOptions {
    fn default() -> Self {
        ValueOptions { kind: PurchaseKind::Bgnbd, unit: TimeUnit::Week, penalizer: 0.0, horizon_months: 12.0, discount_monthly: 0.01 }
    }
}

/// The predictions of every customer of `summary` (in its order), and the models behind them.
pub struct Values {
    pub summary: Summary,
    /// The last day counted (the day before the as-of date), when known.
    pub end: Option<NaiveDate>,
    pub models: ValueModels,
    /// Empty when there is no usable purchase model (`models.notes()` says why).
    pub predictions: Vec<CustomerPrediction>,
}

impl Values {
    /// The customer ids, in the order of `predictions`.
    pub fn customer_ids(&self) -> &[String] {
        if self.predictions.is_empty() {
            &[]
        } else {
            &self.summary.customer_ids
        }
    }
}

/// The summary of the orders of `log` strictly before `as_of` (days cut in `cal`), and its last day.
pub fn summary_before(log: &OrderLog, cal: &Calendar, as_of: Instant, unit: TimeUnit) -> (Summary, NaiveDate) {
    let end = cal.date(as_of) - Duration::days(1);
    (Summary::from_orders(log, cal, end, unit), end)
}

/// Fits and predicts on the orders of `log` before `as_of`.
pub fn predict_values(log: &OrderLog, cal: &Calendar, as_of: Instant, opts: &ValueOptions) -> Values {
    let (summary, end) = summary_before(log, cal, as_of, opts.unit);
    predict_summary(summary, Some(end), opts)
}

/// Fits and predicts on an RFM summary whose last day is `end` (when known).
pub fn predict_summary(summary: Summary, end: Option<NaiveDate>, opts: &ValueOptions) -> Values {
    let fit = FitOptions { penalizer: opts.penalizer, ..FitOptions::default() };
    let models = fit_value_models(opts.kind, &summary, &summary.compress(), &fit);
    let popts = PredictOptions { horizon_months: opts.horizon_months, discount_monthly: opts.discount_monthly };
    let predictions = match &models.purchases {
        Some(m) => predict_customers(m.as_ref(), models.spend.as_ref(), &summary, &popts),
        None => Vec::new(),
    };
    Values { summary, end, models, predictions }
}
