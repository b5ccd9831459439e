//! Shifted-beta-geometric (sBG) model for contractual cohorts: Fader & Hardie (2007), "How to
//! project customer retention", Journal of Interactive Marketing 21(1).
//!
//! Each customer churns at the end of a period with a constant probability `θ ~ Beta(α, β)`.
//! Fitted on a cohort's survivor counts per period; projects survival and retention rates and
//! values the remaining customers by their discounted expected residual lifetime (DERL, Fader &
//! Hardie 2010, "Customer-base valuation in a contractual setting: the perils of ignoring
//! heterogeneity", Marketing Science 29(1), eq. 6).

use crate::csvtext::{self, CsvError};
use crate::fit::{estimate, FitError, FitOptions, Fitted, Likelihood};
use crate::special::{digamma, hyp2f1, ln_beta};
use serde::Serialize;

/// sBG parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sbg {
    pub alpha: f64,
    pub beta: f64,
}

struct Lik<'a> {
    survivors: &'a [f64],
}

impl Likelihood for Lik<'_> {
    const NAME: &'static str = "sBG";
    const PARAMS: &'static [&'static str] = &["alpha", "beta"];
    /// FH (2007) eq. (7): `LL = Σ_{t=1}^{k} (n_{t−1} − n_t) ln P(T = t) + n_k ln S(k)` with
    /// `P(T = t) = B(α+1, β+t−1)/B(α, β)` and `S(t) = B(α, β+t)/B(α, β)` (eqs. 3–4).
    fn ll_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (p[0], p[1]);
        let n = self.survivors;
        let k = n.len() - 1;
        let lb = ln_beta(a, b);
        let (psa, psb, psab) = (digamma(a), digamma(b), digamma(a + b));
        let (mut ll, mut ga, mut gb) = (0.0, 0.0, 0.0);
        for t in 1..=k {
            let lost = n[t - 1] - n[t];
            if lost != 0.0 {
                let tf = t as f64;
                ll += lost * (ln_beta(a + 1.0, b + tf - 1.0) - lb);
                let ps_all = digamma(a + b + tf);
                ga += lost * (digamma(a + 1.0) - ps_all - psa + psab);
                gb += lost * (digamma(b + tf - 1.0) - ps_all - psb + psab);
            }
        }
        let kf = k as f64;
        let ps_all = digamma(a + b + kf);
        ll += n[k] * (ln_beta(a, b + kf) - lb);
        ga += n[k] * (psab - ps_all);
        gb += n[k] * (digamma(b + kf) - ps_all - psb + psab);
        g[0] = ga;
        g[1] = gb;
        ll
    }
    fn customers(&self) -> f64 {
        self.survivors[0]
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        vec![vec![1.0, 1.0], vec![0.5, 2.0], vec![2.0, 5.0], vec![0.2, 0.2]]
    }
    fn hint(&self, _param: &str) -> String {
        "the survivor counts do not show churn slowing or holding steady in a way a beta mix of churn rates can fit".into()
    }
}

impl Sbg {
    /// Fits on survivor counts `n₀ ≥ n₁ ≥ … ≥ n_k` (customers still active after each period).
    pub fn fit(survivors: &[f64], opts: &FitOptions) -> Result<Fitted<Sbg>, FitError> {
        if survivors.len() < 2 {
            return Err(FitError::BadData("need survivor counts for at least periods 0 and 1".into()));
        }
        if survivors.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(FitError::BadData("survivor counts must be non-negative numbers".into()));
        }
        if let Some(t) = survivors.windows(2).position(|w| w[1] > w[0]) {
            return Err(FitError::BadData(format!("survivors rise from period {t} to {} (a cohort can only shrink)", t + 1)));
        }
        if survivors[0] <= 0.0 {
            return Err(FitError::NoCustomers);
        }
        if survivors[survivors.len() - 1] == survivors[0] {
            return Err(FitError::BadData("nobody churned, so the churn rate cannot be estimated".into()));
        }
        let e = estimate(&Lik { survivors }, opts)?;
        Ok(Fitted {
            model: Sbg { alpha: e.params[0], beta: e.params[1] },
            log_likelihood: e.log_likelihood,
            customers: survivors[0],
            converged: e.converged,
            iterations: e.iterations,
            starts: e.starts,
        })
    }

    /// `S(t) = B(α, β+t)/B(α, β)`, the share of the cohort surviving `t` periods.
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + t as f64) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// Retention rate in period `t ≥ 1`: `r_t = (β+t−1)/(α+β+t−1)` (FH 2007 eq. 8).
    pub fn retention_rate(&self, t: u32) -> f64 {
        let tf = t as f64;
        (self.beta + tf - 1.0) / (self.alpha + self.beta + tf - 1.0)
    }

    /// Discounted expected residual lifetime, in periods, of a customer who has made `renewals`
    /// renewals and is about to decide on the next one, with discount rate `d` per period:
    /// `DERL = (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d))`, `n = renewals + 1`
    /// (Fader & Hardie 2010, eq. 6). `None` when `d ≤ 0` (the sum does not converge).
    pub fn derl(&self, d: f64, renewals: u32) -> Option<f64> {
        if !(d > 0.0) {
            return None;
        }
        let n = renewals as f64 + 1.0;
        let (a, b) = (self.alpha, self.beta);
        Some((b + n - 1.0) / (a + b + n - 1.0) * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d))?)
    }
}

/// Reads survivor counts from a CSV: column `column`, the first `periods + 1` rows (periods 0..k).
pub fn parse_survival_csv(text: &str, column: &str, periods: usize) -> Result<Vec<f64>, CsvError> {
    let t = csvtext::parse(text, "year,<segment>,…")?;
    let col = t.require(column, &[column])?;
    let mut out = Vec::new();
    for (line, f) in t.rows().take(periods + 1) {
        let v = t.number(line, f, col, "a count ≥ 0")?;
        out.push(v);
    }
    if out.len() < periods + 1 {
        return Err(CsvError::BadRow { line: t.len() + 1, message: format!("{periods} periods need {} rows of survivor counts (period 0 first); the file has {}", periods + 1, t.len()) });
    }
    Ok(out)
}
