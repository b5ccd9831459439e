//! BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an alternative to
//! the Pareto/NBD model", Marketing Science 24(2)). Parameters `r, alpha, a, b`.

use crate::optim::fit_multistart;
use crate::special::{digamma, ln_gamma, ln_hyp2f1, lse};
use crate::{check_rows, Fit, FitError, RfmRow};

/// BG/NBD parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// Per-customer log-likelihood and its gradient in (r, alpha, a, b). Equation (6) of FHL 2005:
/// L = B(a,b+x)/B(a,b) · Γ(r+x)α^r / (Γ(r)(α+T)^{r+x})
///   + δ_{x>0} B(a+1,b+x−1)/B(a,b) · Γ(r+x)α^r / (Γ(r)(α+t_x)^{r+x}),
/// written with B(a+1,b+x−1)/B(a,b+x) = a/(b+x−1) and a log-sum-exp of the two terms.
pub fn ll_row(p: &Params, x: f64, t_x: f64, t: f64) -> (f64, [f64; 4]) {
    let Params { r, alpha, a, b } = *p;
    let l1 = -(r + x) * (alpha + t).ln();
    let (s, p1, p2) = if x > 0.0 {
        let l2 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
        let s = lse(l1, l2);
        (s, (l1 - s).exp(), (l2 - s).exp())
    } else {
        (l1, 1.0, 0.0)
    };
    let ll = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(b + x) - ln_gamma(a + b + x)
        - ln_gamma(b)
        + ln_gamma(a + b)
        + s;
    let dr = digamma(r + x) - digamma(r) + alpha.ln()
        - p1 * (alpha + t).ln()
        - if x > 0.0 { p2 * (alpha + t_x).ln() } else { 0.0 };
    let dalpha = r / alpha - p1 * (r + x) / (alpha + t)
        - if x > 0.0 { p2 * (r + x) / (alpha + t_x) } else { 0.0 };
    let da = -digamma(a + b + x) + digamma(a + b) + p2 / a;
    let db = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b)
        - if x > 0.0 { p2 / (b + x - 1.0) } else { 0.0 };
    (ll, [dr, dalpha, da, db])
}

/// Total weighted log-likelihood.
pub fn log_likelihood(p: &Params, rows: &[RfmRow]) -> f64 {
    rows.iter().map(|w| w.weight * ll_row(p, w.x, w.t_x, w.t).0).sum()
}

/// Fits by maximum likelihood on log-parameters (L-BFGS, analytic gradient, several starts).
pub fn fit(rows: &[RfmRow]) -> Result<Fit, FitError> {
    let n = check_rows(rows, true)?;
    let mean_t = rows.iter().map(|r| r.weight * r.t).sum::<f64>() / n;
    let nll = |th: &[f64]| -> Option<(f64, Vec<f64>)> {
        let p = Params { r: th[0].exp(), alpha: th[1].exp(), a: th[2].exp(), b: th[3].exp() };
        let mut f = 0.0;
        let mut g = [0.0; 4];
        for w in rows.iter().filter(|w| w.weight > 0.0) {
            let (l, d) = ll_row(&p, w.x, w.t_x, w.t);
            f -= w.weight * l;
            for i in 0..4 {
                g[i] -= w.weight * d[i];
            }
        }
        let pv = [p.r, p.alpha, p.a, p.b];
        let g: Vec<f64> = (0..4).map(|i| g[i] * pv[i]).collect();
        (f.is_finite() && g.iter().all(|v| v.is_finite())).then_some((f, g))
    };
    let la = mean_t.max(1e-9).ln();
    let starts = vec![vec![0.0, la, 0.0, 0.0], vec![-1.0, la, -0.5, 0.5], vec![0.5, la - 1.0, 0.5, 1.0]];
    let m = fit_multistart(nll, &starts, n).ok_or(FitError::NoOptimum)?;
    let v: Vec<f64> = m.x.iter().map(|t| t.exp()).collect();
    if v.iter().any(|p| !p.is_finite() || *p <= 0.0) || !m.f.is_finite() {
        return Err(FitError::NoOptimum);
    }
    Ok(Fit {
        model: "bgnbd",
        params: vec![("r", v[0]), ("alpha", v[1]), ("a", v[2]), ("b", v[3])],
        log_likelihood: -m.f,
        customers: n,
        converged: m.converged,
    })
}

impl Params {
    /// From a fit's named parameters.
    pub fn from_fit(f: &Fit) -> Option<Params> {
        Some(Params { r: f.param("r")?, alpha: f.param("alpha")?, a: f.param("a")?, b: f.param("b")? })
    }

    /// P(alive | x, t_x, T), FHL 2005 eq. (A10) / "Computing P(alive)" note:
    /// 1 / (1 + δ_{x>0} a/(b+x−1) · ((α+T)/(α+t_x))^{r+x}).
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if x <= 0.0 {
            return 1.0;
        }
        let l = (self.a / (self.b + x - 1.0)).ln()
            + (self.r + x) * ((self.alpha + t).ln() - (self.alpha + t_x).ln());
        1.0 / (1.0 + l.exp())
    }

    /// Expected purchases of a new customer in (0, t], FHL 2005 eq. (9):
    /// (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]. `None` when a = 1 (or a + b ≤ 1 for eq. (9)).
    pub fn expected_purchases(&self, t: f64) -> Option<f64> {
        let Params { r, alpha, a, b } = *self;
        if (a - 1.0).abs() < 1e-12 || a + b <= 1.0 {
            return None;
        }
        let z = t / (alpha + t);
        let h = r * (alpha / (alpha + t)).ln() + ln_hyp2f1(r, b, a + b - 1.0, z);
        Some((a + b - 1.0) / (a - 1.0) * (1.0 - h.exp()))
    }

    /// Expected purchases in the next `t` units for a customer with history (x, t_x, T), FHL 2005
    /// eq. (10):
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
    ///   / (1 + δ_{x>0} a/(b+x−1) ((α+T)/(α+t_x))^{r+x}). `None` when a = 1 (or a + b ≤ 1 for eq. (9)).
    pub fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Option<f64> {
        let Params { r, alpha, a, b } = *self;
        if (a - 1.0).abs() < 1e-12 || a + b <= 1.0 {
            return None;
        }
        let z = t / (alpha + big_t + t);
        let h = (r + x) * ((alpha + big_t) / (alpha + big_t + t)).ln()
            + ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let num = (a + b + x - 1.0) / (a - 1.0) * (1.0 - h.exp());
        Some(num * self.p_alive(x, t_x, big_t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient agrees with central differences of the log-likelihood.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = Params { r: 0.3, alpha: 4.0, a: 0.8, b: 2.5 };
        for (x, tx, t) in [(0.0, 0.0, 30.0), (3.0, 20.0, 35.0), (1.0, 2.0, 38.0)] {
            let (_, g) = ll_row(&p, x, tx, t);
            let pv = [p.r, p.alpha, p.a, p.b];
            for i in 0..4 {
                let h = 1e-6 * pv[i];
                let mut up = pv;
                up[i] += h;
                let mut dn = pv;
                dn[i] -= h;
                let f = |v: [f64; 4]| ll_row(&Params { r: v[0], alpha: v[1], a: v[2], b: v[3] }, x, tx, t).0;
                let num = (f(up) - f(dn)) / (2.0 * h);
                assert!((num - g[i]).abs() < 1e-5 * num.abs().max(1.0), "param {i}: {num} vs {}", g[i]);
            }
        }
    }
}
