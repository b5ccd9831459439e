//! Shifted-beta-geometric model for contractual retention (Fader & Hardie 2007, "How to project
//! customer retention", J. Interactive Marketing 21(1)). Parameters `alpha, beta`.

use crate::optim::fit_multistart;
use crate::special::{digamma, ln_beta, ln_hyp2f1};
use crate::{Fit, FitError};

/// Parameters alpha, beta.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
}

/// Log-likelihood of survivor counts `survivors[0..=n]` (survivors[0] = cohort size) and its
/// gradient in (alpha, beta). FH 2007 eqs. (5)–(7):
/// P(T=t) = B(α+1, β+t−1)/B(α,β), S(t) = B(α, β+t)/B(α,β),
/// LL = Σ_{t=1}^{n} (S_{t−1} − S_t) ln P(T=t) + S_n ln S(n).
pub fn log_likelihood(p: &Params, survivors: &[f64]) -> (f64, [f64; 2]) {
    let Params { alpha: a, beta: b } = *p;
    let lb0 = ln_beta(a, b);
    let (d0a, d0b) = (digamma(a) - digamma(a + b), digamma(b) - digamma(a + b));
    let mut ll = 0.0;
    let (mut ga, mut gb) = (0.0, 0.0);
    let n = survivors.len() - 1;
    for t in 1..=n {
        let lost = survivors[t - 1] - survivors[t];
        if lost != 0.0 {
            let (x, y) = (a + 1.0, b + t as f64 - 1.0);
            ll += lost * (ln_beta(x, y) - lb0);
            ga += lost * (digamma(x) - digamma(x + y) - d0a);
            gb += lost * (digamma(y) - digamma(x + y) - d0b);
        }
    }
    let sn = survivors[n];
    if sn != 0.0 {
        let (x, y) = (a, b + n as f64);
        ll += sn * (ln_beta(x, y) - lb0);
        ga += sn * (digamma(x) - digamma(x + y) - d0a);
        gb += sn * (digamma(y) - digamma(x + y) - d0b);
    }
    (ll, [ga, gb])
}

/// Fits alpha, beta to survivor counts (non-increasing, first = cohort size, at least 2 periods).
pub fn fit(survivors: &[f64]) -> Result<Fit, FitError> {
    if survivors.len() < 2 {
        return Err(FitError::Invalid("need the cohort size and at least one later period".into()));
    }
    if survivors.iter().any(|s| !s.is_finite() || *s < 0.0)
        || survivors.windows(2).any(|w| w[1] > w[0])
    {
        return Err(FitError::Invalid("survivor counts must be non-negative and non-increasing".into()));
    }
    let n0 = survivors[0];
    if n0 <= 0.0 {
        return Err(FitError::Empty);
    }
    if n0 <= 1.0 {
        return Err(FitError::OneCustomer);
    }
    let last = survivors[survivors.len() - 1];
    if last == n0 || survivors[1..].iter().all(|s| *s == 0.0) {
        // nobody churned, or everybody churned at once: retention heterogeneity is not identified
        return Err(FitError::AllIdentical);
    }
    let nll = |th: &[f64]| -> Option<(f64, Vec<f64>)> {
        let p = Params { alpha: th[0].exp(), beta: th[1].exp() };
        let (l, g) = log_likelihood(&p, survivors);
        let g = vec![-g[0] * p.alpha, -g[1] * p.beta];
        (l.is_finite() && g.iter().all(|v| v.is_finite())).then_some((-l, g))
    };
    let starts = vec![vec![0.0, 0.0], vec![-1.0, 1.0], vec![1.0, 2.0]];
    let m = fit_multistart(nll, &starts, n0).ok_or(FitError::NoOptimum)?;
    Ok(Fit {
        model: "sbg",
        params: vec![("alpha", m.x[0].exp()), ("beta", m.x[1].exp())],
        log_likelihood: -m.f,
        customers: n0,
        converged: m.converged,
    })
}

impl Params {
    pub fn from_fit(f: &Fit) -> Option<Params> {
        Some(Params { alpha: f.param("alpha")?, beta: f.param("beta")? })
    }
    /// Survival S(t) = B(α, β+t)/B(α, β) (FH 2007 eq. (7)).
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + t as f64) - ln_beta(self.alpha, self.beta)).exp()
    }
    /// Retention rate r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) for t ≥ 1 (FH 2007 eq. (8)).
    pub fn retention(&self, t: u32) -> f64 {
        let t = t as f64;
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }
    /// Discounted expected residual lifetime of a customer who has made `n` − 1 renewals, at
    /// discount rate `d` per period (Fader & Hardie 2010, "Customer-base valuation in a contractual
    /// setting", Marketing Science 29(1), eq. (6)):
    /// DERL = (β+n−1)/(α+β+n−1) · 2F1(1, β+n; α+β+n; 1/(1+d)).
    pub fn derl(&self, d: f64, n: u32) -> Option<f64> {
        if !(d > 0.0) {
            return None;
        }
        let n = n as f64;
        let (a, b) = (self.alpha, self.beta);
        let v = (b + n - 1.0) / (a + b + n - 1.0)
            * ln_hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d)).exp();
        v.is_finite().then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand check: α=1, β=1 gives S(t) = 1/(t+1) and r_t = t/(t+1).
    #[test]
    fn survival_by_hand() {
        let p = Params { alpha: 1.0, beta: 1.0 };
        assert!((p.survival(3) - 0.25).abs() < 1e-12);
        assert!((p.retention(3) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let s = [1000.0, 631.0, 468.0, 382.0];
        let (_, g) = log_likelihood(&Params { alpha: 0.7, beta: 1.2 }, &s);
        let f = |a: f64, b: f64| log_likelihood(&Params { alpha: a, beta: b }, &s).0;
        let h = 1e-6;
        assert!(((f(0.7 + h, 1.2) - f(0.7 - h, 1.2)) / (2.0 * h) - g[0]).abs() < 1e-3);
        assert!(((f(0.7, 1.2 + h) - f(0.7, 1.2 - h)) / (2.0 * h) - g[1]).abs() < 1e-3);
    }
}
