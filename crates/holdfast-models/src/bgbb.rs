//! Beta-geometric/beta-Bernoulli model for discrete purchase opportunities (Fader, Hardie & Shang
//! 2010, "Customer-base analysis in a discrete-time noncontractual setting", Marketing Science
//! 29(6)). Parameters `alpha, beta, gamma, delta`. The gradient is numerical (central
//! differences of the analytic log-likelihood).

use crate::optim::{fit_multistart, numeric_grad};
use crate::special::{ln_beta, lse_all};
use crate::{Fit, FitError};

/// One grouped row: `x` transactions in `n` opportunities, last at opportunity `t_x`, `weight` donors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub x: f64,
    pub t_x: f64,
    pub n: f64,
    pub weight: f64,
}

/// Parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

/// Per-row log-likelihood, FHS 2010 eq. (5):
/// L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
///   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ).
pub fn ll_row(p: &Params, x: f64, t_x: f64, n: f64) -> f64 {
    let Params { alpha: a, beta: b, gamma: g, delta: d } = *p;
    let base = ln_beta(a, b) + ln_beta(g, d);
    let mut terms = vec![ln_beta(a + x, b + n - x) + ln_beta(g, d + n)];
    let k = (n - t_x).round() as i64;
    for i in 0..k {
        let i = i as f64;
        terms.push(ln_beta(a + x, b + t_x - x + i) + ln_beta(g + 1.0, d + t_x + i));
    }
    lse_all(&terms) - base
}

pub fn log_likelihood(p: &Params, rows: &[Row]) -> f64 {
    rows.iter().map(|r| r.weight * ll_row(p, r.x, r.t_x, r.n)).sum()
}

/// Fits the four parameters to grouped rows.
pub fn fit(rows: &[Row]) -> Result<Fit, FitError> {
    for r in rows {
        if !(r.x.is_finite() && r.t_x.is_finite() && r.n.is_finite() && r.weight.is_finite())
            || r.x < 0.0
            || r.x > r.t_x
            || r.t_x > r.n
            || r.weight < 0.0
            || (r.x > 0.0 && r.t_x < 1.0)
        {
            return Err(FitError::Invalid(format!(
                "row x={} t_x={} n={} weight={} (need 0 ≤ x ≤ t_x ≤ n)",
                r.x, r.t_x, r.n, r.weight
            )));
        }
    }
    let total: f64 = rows.iter().map(|r| r.weight).sum();
    if total <= 0.0 {
        return Err(FitError::Empty);
    }
    if total <= 1.0 {
        return Err(FitError::OneCustomer);
    }
    if !rows.iter().any(|r| r.x > 0.0 && r.weight > 0.0) {
        return Err(FitError::NoRepeat);
    }
    let live: Vec<&Row> = rows.iter().filter(|r| r.weight > 0.0).collect();
    if live.iter().all(|r| r.x == live[0].x && r.t_x == live[0].t_x && r.n == live[0].n) {
        return Err(FitError::AllIdentical);
    }
    let f = |th: &[f64]| -> f64 {
        let p = Params { alpha: th[0].exp(), beta: th[1].exp(), gamma: th[2].exp(), delta: th[3].exp() };
        -log_likelihood(&p, rows)
    };
    let nll = |th: &[f64]| -> Option<(f64, Vec<f64>)> {
        let v = f(th);
        let g = numeric_grad(&f, th);
        (v.is_finite() && g.iter().all(|x| x.is_finite())).then_some((v, g))
    };
    let starts = vec![vec![0.0, 0.0, 0.0, 0.0], vec![0.5, -0.5, -0.5, 1.0]];
    let m = fit_multistart(nll, &starts, total).ok_or(FitError::NoOptimum)?;
    let v: Vec<f64> = m.x.iter().map(|t| t.exp()).collect();
    Ok(Fit {
        model: "bgbb",
        params: vec![("alpha", v[0]), ("beta", v[1]), ("gamma", v[2]), ("delta", v[3])],
        log_likelihood: -m.f,
        customers: total,
        converged: m.converged,
    })
}
