//! Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader & Hardie 2005,
//! "A note on deriving the Pareto/NBD model and related expressions"). Parameters `r, alpha, s,
//! beta`. The 2F1 terms are evaluated in log space and combined by log-sum-exp so large `x` or `T`
//! do not overflow. The gradient is numerical (central differences of the log-likelihood).

use crate::optim::{fit_multistart, numeric_grad};
use crate::special::{ln_gamma, ln_hyp2f1, lse};
use crate::{check_rows, Fit, FitError, RfmRow};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

/// ln A0 of the note's eq. (22): for α ≥ β
/// A0 = 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+t_x))/(α+t_x)^{r+s+x}
///    − 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+T))/(α+T)^{r+s+x},
/// and for α < β the same with (α, s+1) replaced by (β, r+x).
fn ln_a0(p: &Params, x: f64, t_x: f64, t: f64) -> f64 {
    let Params { r, alpha, s, beta } = *p;
    let rsx = r + s + x;
    let (big, small, b2) = if alpha >= beta { (alpha, beta, s + 1.0) } else { (beta, alpha, r + x) };
    let l1 = ln_hyp2f1(rsx, b2, rsx + 1.0, (big - small) / (big + t_x)) - rsx * (big + t_x).ln();
    let l2 = ln_hyp2f1(rsx, b2, rsx + 1.0, (big - small) / (big + t)) - rsx * (big + t).ln();
    // ln(e^{l1} − e^{l2}), l1 > l2 when t_x < T
    if l1 <= l2 {
        return f64::NEG_INFINITY;
    }
    l1 + (-(l2 - l1).exp()).ln_1p()
}

/// Per-customer log-likelihood (note eq. (22)):
/// L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^{r+x}(β+T)^s) + s/(r+s+x) · A0 ].
pub fn ll_row(p: &Params, x: f64, t_x: f64, t: f64) -> f64 {
    let Params { r, alpha, s, beta } = *p;
    let head = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
    let t1 = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let t2 = (s / (r + s + x)).ln() + ln_a0(p, x, t_x, t);
    head + lse(t1, t2)
}

pub fn log_likelihood(p: &Params, rows: &[RfmRow]) -> f64 {
    rows.iter().map(|w| w.weight * ll_row(p, w.x, w.t_x, w.t)).sum()
}

/// Fits by maximum likelihood on log-parameters.
pub fn fit(rows: &[RfmRow]) -> Result<Fit, FitError> {
    let n = check_rows(rows, true)?;
    let rows: Vec<RfmRow> = rows.iter().copied().filter(|r| r.weight > 0.0).collect();
    let mean_t = rows.iter().map(|r| r.weight * r.t).sum::<f64>() / n;
    let f = |th: &[f64]| -> f64 {
        let p = Params { r: th[0].exp(), alpha: th[1].exp(), s: th[2].exp(), beta: th[3].exp() };
        -log_likelihood(&p, &rows)
    };
    let nll = |th: &[f64]| -> Option<(f64, Vec<f64>)> {
        let v = f(th);
        let g = numeric_grad(&f, th);
        (v.is_finite() && g.iter().all(|x| x.is_finite())).then_some((v, g))
    };
    let la = mean_t.ln();
    let starts = vec![vec![0.0, la, 0.0, la], vec![-0.5, la - 0.5, -0.5, la + 0.5]];
    let m = fit_multistart(nll, &starts, n).ok_or(FitError::NoOptimum)?;
    let v: Vec<f64> = m.x.iter().map(|t| t.exp()).collect();
    Ok(Fit {
        model: "pareto",
        params: vec![("r", v[0]), ("alpha", v[1]), ("s", v[2]), ("beta", v[3])],
        log_likelihood: -m.f,
        customers: n,
        converged: m.converged,
    })
}

impl Params {
    pub fn from_fit(f: &Fit) -> Option<Params> {
        Some(Params { r: f.param("r")?, alpha: f.param("alpha")?, s: f.param("s")?, beta: f.param("beta")? })
    }
    /// P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^{r+x} (β+T)^s · A0) (note eq. (18)).
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let l = (self.s / (self.r + self.s + x)).ln()
            + (self.r + x) * (self.alpha + t).ln()
            + self.s * (self.beta + t).ln()
            + ln_a0(self, x, t_x, t);
        1.0 / (1.0 + l.exp())
    }
    /// Expected purchases in the next t units (note eq. (21)):
    /// (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^{s−1}] · P(alive). `None` when s ≤ 1
    /// is not handled separately: s = 1 uses the limit ln((β+T+t)/(β+T)).
    pub fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
        let Params { r, alpha, s, beta } = *self;
        let base = (r + x) * (beta + big_t) / (alpha + big_t);
        let f = if (s - 1.0).abs() < 1e-9 {
            ((beta + big_t + t) / (beta + big_t)).ln()
        } else {
            (1.0 - ((beta + big_t) / (beta + big_t + t)).powf(s - 1.0)) / (s - 1.0)
        };
        base * f * self.p_alive(x, t_x, big_t)
    }
}
