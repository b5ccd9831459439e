//! Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for
//! customer base analysis", JMR 42(4), building on Colombo & Jiang (1999).
//!
//! A customer's order values are Gamma(p, ν) with `ν ~ Gamma(q, γ)` across customers (`γ` is
//! called `v` here and in lifetimes). Fitted on repeat customers' `(x, m̄)`. The model assumes
//! spend is independent of purchase frequency; [`SpendFit::frequency_spend_correlation`] reports the
//! correlation so users can judge that assumption.

use crate::fit::{estimate, estimate_from, estimate_sample, warm_step, FitError, FitOptions, Fitted, Likelihood};
use crate::special::{digamma, ln_gamma};
use serde::Serialize;

/// Gamma-Gamma parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// A Gamma-Gamma fit and the frequency–spend correlation of the data it was fitted on.
#[derive(Clone, Debug, Serialize)]
pub struct SpendFit {
    pub fit: Fitted<GammaGamma>,
    /// Pearson correlation of `x` and `m̄` over repeat customers; `None` when undefined.
    pub frequency_spend_correlation: Option<f64>,
}

/// Distinct `(x, m̄)` rows with weights.
struct Lik {
    x: Vec<u32>,
    m: Vec<f64>,
    ln_m: Vec<f64>,
    w: Vec<f64>,
    max_x: usize,
}

impl Lik {
    fn new(rows: &[(u32, f64)]) -> Lik {
        let mut v: Vec<(u32, f64)> = rows.to_vec();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut l = Lik { x: Vec::new(), m: Vec::new(), ln_m: Vec::new(), w: Vec::new(), max_x: 0 };
        for (x, m) in v {
            if l.x.last() == Some(&x) && l.m.last() == Some(&m) {
                *l.w.last_mut().expect("a row was pushed") += 1.0;
            } else {
                l.x.push(x);
                l.m.push(m);
                l.ln_m.push(m.ln());
                l.w.push(1.0);
            }
        }
        l.max_x = l.x.iter().copied().max().unwrap_or(0) as usize;
        l
    }

    /// Every `k`-th row with its weight times `k` (rows are sorted by `(x, m̄)`): a stratified
    /// sample to warm-start on, as [`Compressed::thin`](crate::summary::Compressed::thin).
    fn thin(&self, k: usize) -> Lik {
        let k = k.max(1);
        let pick = |v: &[f64]| v.iter().step_by(k).copied().collect::<Vec<f64>>();
        let x: Vec<u32> = self.x.iter().step_by(k).copied().collect();
        let max_x = x.iter().copied().max().unwrap_or(0) as usize;
        Lik { x, m: pick(&self.m), ln_m: pick(&self.ln_m), w: self.w.iter().step_by(k).map(|w| w * k as f64).collect(), max_x }
    }
}

impl Likelihood for Lik {
    const NAME: &'static str = "Gamma-Gamma";
    const PARAMS: &'static [&'static str] = &["p", "q", "v"];
    /// FHL (2005, "RFM and CLV") eq. (3), per customer with `x` repeat orders of mean value `m̄`:
    /// `ln L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m̄ + px ln x − (px+q) ln(x m̄ + v)`.
    fn ll_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let (pp, q, v) = (p[0], p[1], p[2]);
        // Per distinct x: ln Γ(px+q) − ln Γ(px), and the digammas.
        let mut tab = vec![(0.0, 0.0, 0.0); self.max_x + 1];
        let mut seen = vec![false; self.max_x + 1];
        for &x in &self.x {
            let x = x as usize;
            if !seen[x] {
                seen[x] = true;
                let px = pp * x as f64;
                tab[x] = (ln_gamma(px + q) - ln_gamma(px), digamma(px + q), digamma(px));
            }
        }
        let (lgq, psq, lnv) = (ln_gamma(q), digamma(q), v.ln());
        let ln_x: Vec<f64> = (0..=self.max_x).map(|x| (x as f64).ln()).collect();
        let (ll, grad) = crate::fit::par_sum(self.x.len(), |i| {
            let xf = self.x[i] as f64;
            let (lg, ps_pxq, ps_px) = tab[self.x[i] as usize];
            let px = pp * xf;
            let lnx = ln_x[self.x[i] as usize];
            let den = xf * self.m[i] + v;
            let lden = den.ln();
            let w = self.w[i];
            (
                w * (lg - lgq + q * lnv + (px - 1.0) * self.ln_m[i] + px * lnx - (px + q) * lden),
                [w * xf * (ps_pxq - ps_px + self.ln_m[i] + lnx - lden), w * (ps_pxq - psq + lnv - lden), w * (q / v - (px + q) / den)],
            )
        });
        g[..3].copy_from_slice(&grad);
        ll
    }
    fn customers(&self) -> f64 {
        self.w.iter().sum()
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        let n = self.customers();
        let mean = self.m.iter().zip(&self.w).map(|(m, w)| m * w).sum::<f64>() / n;
        let mean = if mean > 0.0 { mean } else { 1.0 };
        // E[m̄] ≈ p v / (q − 1): start from p = 1, q = 2, v = mean and variations.
        vec![vec![1.0, 2.0, mean], vec![1.0, 1.0, 1.0], vec![5.0, 3.0, mean / 2.0], vec![0.5, 5.0, mean * 8.0]]
    }
    fn hint(&self, _param: &str) -> String {
        "order values within customers vary too little or too much for a gamma model; check the amounts".into()
    }
}

impl GammaGamma {
    /// Fits on repeat customers' `(x, m̄)`, `x ≥ 1` and `m̄ > 0`; other rows are ignored.
    pub fn fit(rows: &[(u32, f64)], opts: &FitOptions) -> Result<SpendFit, FitError> {
        let rows: Vec<(u32, f64)> = rows.iter().copied().filter(|(x, m)| *x > 0 && *m > 0.0 && m.is_finite()).collect();
        if rows.is_empty() {
            return Err(FitError::NoRepeatCustomers);
        }
        if rows.len() < 2 {
            return Err(FitError::TooFewCustomers(rows.len()));
        }
        let lik = Lik::new(&rows);
        if lik.x.len() == 1 {
            return Err(FitError::AllIdentical);
        }
        let e = match warm_step(lik.x.len()) {
            Some(k) => estimate_from(&lik, estimate_sample(&lik.thin(k), opts)?, opts)?,
            None => estimate(&lik, opts)?,
        };
        let p = &e.params;
        let fit = Fitted {
            model: GammaGamma { p: p[0], q: p[1], v: p[2] },
            log_likelihood: e.log_likelihood,
            customers: lik.customers(),
            converged: e.converged,
            iterations: e.iterations,
            starts: e.starts,
        };
        Ok(SpendFit { fit, frequency_spend_correlation: correlation(&rows) })
    }

    /// Summed log-likelihood of repeat customers' `(x, m̄)`.
    pub fn log_likelihood(&self, rows: &[(u32, f64)]) -> f64 {
        let rows: Vec<(u32, f64)> = rows.iter().copied().filter(|(x, m)| *x > 0 && *m > 0.0).collect();
        let mut g = [0.0; 3];
        Lik::new(&rows).ll_grad(&[self.p, self.q, self.v], &mut g)
    }

    /// `E[M | x, m̄] = p (v + x m̄) / (p x + q − 1)`, FHL (2005, "RFM and CLV") eq. (5); for `x = 0`
    /// the population mean `p v / (q − 1)`. `None` when `q ≤ 1` (the mean does not exist).
    pub fn expected_aov(&self, x: u32, m: f64) -> Option<f64> {
        if self.q <= 1.0 {
            return None;
        }
        let xf = x as f64;
        let m = if x == 0 { 0.0 } else { m };
        let v = self.p * (self.v + xf * m) / (self.p * xf + self.q - 1.0);
        v.is_finite().then_some(v)
    }
}

/// Pearson correlation of frequency and mean spend.
pub fn correlation(rows: &[(u32, f64)]) -> Option<f64> {
    let n = rows.len() as f64;
    if n < 2.0 {
        return None;
    }
    let mx = rows.iter().map(|r| r.0 as f64).sum::<f64>() / n;
    let mm = rows.iter().map(|r| r.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(x, m) in rows {
        let (dx, dm) = (x as f64 - mx, m - mm);
        sxy += dx * dm;
        sxx += dx * dx;
        syy += dm * dm;
    }
    let c = sxy / (sxx * syy).sqrt();
    c.is_finite().then_some(c)
}
