//! Maximum-likelihood fitting shared by every model: log-parameters, analytic gradients, L-BFGS
//! from several starting points, a convergence flag, an optional L2 penalizer, and errors instead
//! of NaN when the data cannot identify a model.

use crate::optim::{minimize_from, LbfgsOptions};
use serde::Serialize;
use thiserror::Error;

/// How to fit.
#[derive(Clone, Copy, Debug)]
pub struct FitOptions {
    /// L2 penalty `c · Σ θ²` on the natural parameters, added to the mean negative
    /// log-likelihood per customer — the same as lifetimes' `penalizer_coef`. 0 = plain MLE.
    pub penalizer: f64,
    /// At most this many starting points (the fit stops early once two agree).
    pub max_starts: usize,
    pub lbfgs: LbfgsOptions,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { penalizer: 0.0, max_starts: 4, lbfgs: LbfgsOptions::default() }
    }
}

/// Why a model could not be fitted.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FitError {
    #[error("no customers to fit on")]
    NoCustomers,
    #[error("only {0} customer(s): a model needs many customers to estimate how they differ")]
    TooFewCustomers(usize),
    #[error("no repeat customers: nobody bought twice, so the data say nothing about purchase rates or dropout")]
    NoRepeatCustomers,
    #[error("every customer has the same history, so the data cannot tell how customers differ")]
    AllIdentical,
    #[error("{0}")]
    BadData(String),
    #[error("the data cannot identify the {model} model: parameter {param} runs off to {direction} ({hint})")]
    Unidentified { model: &'static str, param: &'static str, direction: &'static str, hint: String },
    #[error("the {model} fit found no finite likelihood from any starting point")]
    NotFinite { model: &'static str },
}

/// A fitted model with its fit statistics.
#[derive(Clone, Debug, Serialize)]
pub struct Fitted<M> {
    pub model: M,
    /// Log-likelihood at the estimate (without the penalty), summed over customers.
    pub log_likelihood: f64,
    /// Customers (sum of weights) the fit used.
    pub customers: f64,
    pub converged: bool,
    pub iterations: usize,
    /// Starting points tried.
    pub starts: usize,
}

/// What a model contributes to the shared driver.
pub(crate) trait Likelihood {
    const NAME: &'static str;
    const PARAMS: &'static [&'static str];
    /// Summed weighted log-likelihood at natural parameters `p`; fills `grad` with its gradient
    /// with respect to `p`. Non-finite when `p` is outside the domain.
    fn ll_grad(&self, p: &[f64], grad: &mut [f64]) -> f64;
    fn customers(&self) -> f64;
    /// Starting points (natural parameters).
    fn starts(&self) -> Vec<Vec<f64>>;
    /// What to tell the user when `param` runs off.
    fn hint(&self, _param: &str) -> String {
        "try a penalizer, more history, or a simpler model".to_string()
    }
}

/// Result of the driver: natural parameters, log-likelihood, convergence, iterations, starts.
pub(crate) struct Estimate {
    pub params: Vec<f64>,
    pub log_likelihood: f64,
    pub converged: bool,
    pub iterations: usize,
    pub starts: usize,
    /// The optimiser's curvature pairs at the estimate (see [`crate::optim::minimize_from`]).
    pub pairs: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Data with more distinct rows than this are fitted in two steps: every start on a stratified
/// sample of about [`WARM_ROWS`] rows, then one descent on all rows from the sample's estimate.
/// The answer is the full-data maximum (same convergence test); the sample only saves the
/// full-data evaluations of the starts that lead elsewhere.
pub const WARM_ABOVE: usize = 20_000;
pub const WARM_ROWS: usize = 4_000;

/// For `rows` distinct rows, every how many rows the warm-start sample takes, when the data are
/// large enough to need one.
pub(crate) fn warm_step(rows: usize) -> Option<usize> {
    (rows > WARM_ABOVE).then(|| rows.div_ceil(WARM_ROWS))
}

/// The sample to warm-start on, for data large enough to need one.
pub(crate) fn warm_sample(data: &crate::summary::Compressed) -> Option<crate::summary::Compressed> {
    warm_step(data.len()).map(|k| data.thin(k))
}

/// Estimates on a sample made by [`warm_sample`]: the starts need not be polished there, since
/// the full data continue from the best of them.
pub(crate) fn estimate_sample<L: Likelihood>(lik: &L, opts: &FitOptions) -> Result<Estimate, FitError> {
    let loose = FitOptions { lbfgs: LbfgsOptions { gtol: opts.lbfgs.gtol.max(1e-6), ..opts.lbfgs }, ..*opts };
    estimate(lik, &loose)
}

/// Continues from `warm` (an estimate on a sample) on `lik`'s data, with the sample's curvature
/// as the first inverse-Hessian approximation (the objective is a mean per customer, so the two
/// are alike); falls back to every start when that descent does not converge.
pub(crate) fn estimate_from<L: Likelihood>(lik: &L, warm: Estimate, opts: &FitOptions) -> Result<Estimate, FitError> {
    let e = estimate_starts(lik, vec![warm.params], opts, warm.pairs)?;
    if e.converged {
        return Ok(Estimate { iterations: e.iterations + warm.iterations, starts: warm.starts, ..e });
    }
    estimate(lik, opts)
}

/// Chunk size of the parallel likelihood sums: fixed, so the sums are the same on any machine.
pub(crate) const CHUNK: usize = 2048;

/// `Σ_i f(i)` over `0..n` (each `f` returning the row's log-likelihood and gradient), summed in
/// parallel chunks and then in chunk order, so the result does not depend on the thread count.
pub(crate) fn par_sum<const K: usize>(n: usize, f: impl Fn(usize) -> (f64, [f64; K]) + Sync) -> (f64, [f64; K]) {
    use rayon::prelude::*;
    let parts: Vec<(f64, [f64; K])> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = (0.0, [0.0; K]);
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let (l, g) = f(i);
                acc.0 += l;
                for k in 0..K {
                    acc.1[k] += g[k];
                }
            }
            acc
        })
        .collect();
    let mut out = (0.0, [0.0; K]);
    for (l, g) in parts {
        out.0 += l;
        for k in 0..K {
            out.1[k] += g[k];
        }
    }
    out
}

pub(crate) fn estimate<L: Likelihood>(lik: &L, opts: &FitOptions) -> Result<Estimate, FitError> {
    estimate_starts(lik, lik.starts(), opts, Vec::new())
}

fn estimate_starts<L: Likelihood>(lik: &L, starts: Vec<Vec<f64>>, opts: &FitOptions, mut pairs: Vec<(Vec<f64>, Vec<f64>)>) -> Result<Estimate, FitError> {
    let n = L::PARAMS.len();
    let w = lik.customers();
    if !(w > 0.0) {
        return Err(FitError::NoCustomers);
    }
    let pen = opts.penalizer.max(0.0);
    let objective = |phi: &[f64], g: &mut [f64]| -> f64 {
        let p: Vec<f64> = phi.iter().map(|v| v.exp()).collect();
        if p.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return f64::INFINITY;
        }
        let mut gp = vec![0.0; n];
        let ll = lik.ll_grad(&p, &mut gp);
        let mut f = -ll / w;
        for i in 0..n {
            f += pen * p[i] * p[i];
            g[i] = p[i] * (-gp[i] / w + 2.0 * pen * p[i]);
        }
        f
    };
    let mut best: Option<(Vec<f64>, f64, bool, Vec<(Vec<f64>, Vec<f64>)>)> = None;
    let mut tried = 0;
    let mut agreed = false;
    let mut total_iter = 0;
    for start in starts.into_iter().take(opts.max_starts.max(1)) {
        tried += 1;
        let phi0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
        let m = minimize_from(objective, &phi0, &opts.lbfgs, std::mem::take(&mut pairs));
        total_iter += m.iterations;
        if !m.f.is_finite() {
            continue;
        }
        if let Some((_, bf, bc, _)) = &best {
            let tol = 1e-9 * bf.abs().max(1.0);
            if (m.f - bf).abs() <= tol && m.converged && *bc {
                agreed = true;
            }
            if m.f < bf - tol || (m.f <= bf + tol && m.converged && !bc) {
                best = Some((m.x, m.f, m.converged, m.pairs));
            }
        } else {
            best = Some((m.x, m.f, m.converged, m.pairs));
        }
        if agreed {
            break;
        }
    }
    let (phi, best_f, converged, pairs) = best.ok_or(FitError::NotFinite { model: L::NAME })?;
    for (i, v) in phi.iter().enumerate() {
        if *v > 23.0 || *v < -23.0 {
            return Err(FitError::Unidentified {
                model: L::NAME,
                param: L::PARAMS[i],
                direction: if *v > 0.0 { "infinity" } else { "zero" },
                hint: lik.hint(L::PARAMS[i]),
            });
        }
    }
    let params: Vec<f64> = phi.iter().map(|v| v.exp()).collect();
    // Without a penalty the objective is −ln L / w: no need to evaluate again.
    let ll = if pen == 0.0 {
        -best_f * w
    } else {
        let mut g = vec![0.0; n];
        lik.ll_grad(&params, &mut g)
    };
    if !ll.is_finite() {
        return Err(FitError::NotFinite { model: L::NAME });
    }
    Ok(Estimate { params, log_likelihood: ll, converged, iterations: total_iter, starts: tried, pairs })
}

/// Checks common to the purchase models: enough customers, some repeat buyers, some variety.
pub(crate) fn check_purchase_data(d: &crate::summary::Compressed) -> Result<(), FitError> {
    let n = d.customers();
    if d.is_empty() || n <= 0.0 {
        return Err(FitError::NoCustomers);
    }
    if n < 2.0 {
        return Err(FitError::TooFewCustomers(n.round() as usize));
    }
    if d.x.iter().zip(&d.weight).all(|(x, w)| *x == 0 || *w <= 0.0) {
        return Err(FitError::NoRepeatCustomers);
    }
    if d.len() == 1 {
        return Err(FitError::AllIdentical);
    }
    if d.t.iter().any(|t| !t.is_finite() || *t < 0.0) || d.t_x.iter().zip(&d.t).any(|(a, b)| !(a.is_finite() && *a >= 0.0 && a <= b)) {
        return Err(FitError::BadData("every row needs 0 ≤ recency ≤ T".into()));
    }
    Ok(())
}
