//! holdfast-models — the customer-base probability models of the literature, fitted by maximum
//! likelihood and validated against published fits.
//!
//! Provides:
//! - [`RfmRow`]: one distinct `(x, t_x, T)` summary row with a weight (how many customers share it).
//! - [`bgnbd`] (Fader, Hardie & Lee 2005), [`pareto_nbd`] (Schmittlein, Morrison & Colombo 1987),
//!   [`gamma_gamma`] (Fader, Hardie & Lee 2005, "RFM and CLV"), [`sbg`] (Fader & Hardie 2007) and
//!   [`bgbb`] (Fader, Hardie & Shang 2010): log-likelihood, fitting, predictions.
//! - [`Fit`]: named parameters, log-likelihood, customers, convergence flag; [`FitError`] when the
//!   data cannot identify a model (one customer, no repeat customers, all customers identical).
//! - [`optim`]: a small L-BFGS with backtracking Armijo line search, used on log-parameters so that
//!   parameters stay positive; several starting points, the best optimum is kept.
//!
//! Leaves to others: reading files, building summaries from order logs, presentation. Pure code,
//! no I/O, deterministic.

pub mod bgbb;
pub mod bgnbd;
pub mod gamma_gamma;
pub mod optim;
pub mod pareto_nbd;
pub mod sbg;
pub mod special;

/// One distinct RFM summary row: `x` repeat purchases, recency `t_x`, age `t` (T), in one time unit,
/// shared by `weight` customers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RfmRow {
    pub x: f64,
    pub t_x: f64,
    pub t: f64,
    pub weight: f64,
}

/// Result of a maximum-likelihood fit.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// Model name (`bgnbd`, `pareto`, `gg`, `sbg`, `bgbb`).
    pub model: &'static str,
    /// Parameters by their names in MODELS.md, in order.
    pub params: Vec<(&'static str, f64)>,
    pub log_likelihood: f64,
    /// Number of customers (sum of weights).
    pub customers: f64,
    pub converged: bool,
}

impl Fit {
    /// Parameter by name.
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("no data: the summary has no customers")]
    Empty,
    #[error("only one customer: the model needs a population")]
    OneCustomer,
    #[error("no repeat customers: the data cannot identify the purchase process")]
    NoRepeat,
    #[error("all customers are identical: the data cannot identify the model's heterogeneity")]
    AllIdentical,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("the optimiser found no finite optimum (the data may not identify the model)")]
    NoOptimum,
}

/// Checks shared by the purchase models: values finite, T ≥ t_x ≥ 0, weights positive, enough
/// variety to identify the model.
pub(crate) fn check_rows(rows: &[RfmRow], need_repeat: bool) -> Result<f64, FitError> {
    let mut n = 0.0;
    for r in rows {
        if !(r.x.is_finite() && r.t_x.is_finite() && r.t.is_finite() && r.weight.is_finite()) {
            return Err(FitError::Invalid("non-finite value".into()));
        }
        if r.x < 0.0 || r.t_x < 0.0 || r.t < r.t_x || r.weight < 0.0 || r.t <= 0.0 {
            return Err(FitError::Invalid(format!(
                "row x={} t_x={} T={} weight={} (need x ≥ 0, 0 ≤ t_x ≤ T, T > 0, weight ≥ 0)",
                r.x, r.t_x, r.t, r.weight
            )));
        }
        if r.x > 0.0 && r.t_x <= 0.0 {
            return Err(FitError::Invalid(format!("row x={} with recency 0", r.x)));
        }
        n += r.weight;
    }
    if n <= 0.0 {
        return Err(FitError::Empty);
    }
    if n <= 1.0 {
        return Err(FitError::OneCustomer);
    }
    if need_repeat && !rows.iter().any(|r| r.x > 0.0 && r.weight > 0.0) {
        return Err(FitError::NoRepeat);
    }
    let live: Vec<&RfmRow> = rows.iter().filter(|r| r.weight > 0.0).collect();
    if live.iter().all(|r| r.x == live[0].x && r.t_x == live[0].t_x && r.t == live[0].t) {
        return Err(FitError::AllIdentical);
    }
    Ok(n)
}

/// Compresses per-customer rows into distinct rows with summed weights (stable order).
pub fn compress(rows: &[RfmRow]) -> Vec<RfmRow> {
    let mut v: Vec<RfmRow> = rows.to_vec();
    v.sort_by(|a, b| {
        a.x.total_cmp(&b.x).then(a.t_x.total_cmp(&b.t_x)).then(a.t.total_cmp(&b.t))
    });
    let mut out: Vec<RfmRow> = Vec::new();
    for r in v {
        match out.last_mut() {
            Some(l) if l.x == r.x && l.t_x == r.t_x && l.t == r.t => l.weight += r.weight,
            _ => out.push(r),
        }
    }
    out
}
