//! BG/BB: beta-geometric/beta-Bernoulli model for discrete transaction opportunities (annual
//! donations, class sessions, seasons): Fader, Hardie & Shang (2010), "Customer-base analysis in a
//! discrete-time noncontractual setting", Marketing Science 29(6).
//!
//! While alive a customer transacts at each opportunity with probability `p ~ Beta(α, β)`; before
//! each opportunity they die with probability `θ ~ Beta(γ, δ)`.

use crate::csvtext::{self, CsvError};
use crate::fit::{estimate, FitError, FitOptions, Fitted, Likelihood};
use crate::special::{digamma, ln_beta};
use serde::Serialize;

/// BG/BB parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BgBb {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

/// Grouped BG/BB data: `x` transactions, last one at opportunity `t_x`, out of `n` opportunities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BgBbData {
    pub x: Vec<u32>,
    pub t_x: Vec<u32>,
    pub n: Vec<u32>,
    pub weight: Vec<f64>,
}

impl BgBbData {
    /// Reads `frequency,recency,periods[,weights]`.
    pub fn parse_csv(text: &str) -> Result<BgBbData, CsvError> {
        let t = csvtext::parse(text, "frequency,recency,periods,weights")?;
        let (fx, fr, fn_) = (t.require("frequency", &["frequency", "x"])?, t.require("recency", &["recency", "t_x"])?, t.require("periods", &["periods", "n"])?);
        let fw = t.find(&["weights", "weight", "count"]);
        let mut d = BgBbData::default();
        for (line, f) in t.rows() {
            let (x, tx, n) = (t.count(line, f, fx)?, t.count(line, f, fr)?, t.count(line, f, fn_)?);
            let w = match fw {
                Some(k) => t.number(line, f, k, "a weight ≥ 0")?,
                None => 1.0,
            };
            if x > tx || tx > n || (x > 0 && tx == 0) || (x == 0 && tx != 0) || w < 0.0 {
                return Err(CsvError::BadRow { line, message: format!("need x ≤ recency ≤ periods, recency 0 exactly when x is 0, weight ≥ 0 (got x={x}, recency={tx}, periods={n}, weight={w})") });
            }
            d.x.push(x);
            d.t_x.push(tx);
            d.n.push(n);
            d.weight.push(w);
        }
        if d.x.is_empty() {
            return Err(CsvError::NoRows);
        }
        Ok(d)
    }
}

/// `ln B(α+x, β+u) + ln B(γ+e, δ+v)` and its gradient, for one term of the likelihood.
fn term(p: [f64; 4], x: f64, u: f64, e: f64, v: f64) -> (f64, [f64; 4]) {
    let [al, be, ga, de] = p;
    let val = ln_beta(al + x, be + u) + ln_beta(ga + e, de + v);
    let (s1, s2) = (digamma(al + be + x + u), digamma(ga + de + e + v));
    (val, [digamma(al + x) - s1, digamma(be + u) - s1, digamma(ga + e) - s2, digamma(de + v) - s2])
}

struct Lik<'a> {
    d: &'a BgBbData,
}

impl Lik<'_> {
    /// FHS (2010) eq. (5): `L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    ///   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)`,
    /// combined on the log scale; returns `(ln L, gradient, ln of the first term)` per row.
    fn row(p: [f64; 4], x: u32, tx: u32, n: u32) -> (f64, [f64; 4], f64) {
        let (xf, txf, nf) = (x as f64, tx as f64, n as f64);
        let mut terms = vec![term(p, xf, nf - xf, 0.0, nf)];
        for i in 0..n.saturating_sub(tx) {
            let i = i as f64;
            terms.push(term(p, xf, txf - xf + i, 1.0, txf + i));
        }
        let mx = terms.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = terms.iter().map(|t| (t.0 - mx).exp()).sum();
        let l = mx + s.ln();
        let mut g = [0.0; 4];
        for t in &terms {
            let w = (t.0 - l).exp();
            for k in 0..4 {
                g[k] += w * t.1[k];
            }
        }
        let [al, be, ga, de] = p;
        let (pab, pgd) = (digamma(al + be), digamma(ga + de));
        g[0] -= digamma(al) - pab;
        g[1] -= digamma(be) - pab;
        g[2] -= digamma(ga) - pgd;
        g[3] -= digamma(de) - pgd;
        let norm = ln_beta(al, be) + ln_beta(ga, de);
        (l - norm, g, terms[0].0 - norm)
    }
}

impl Likelihood for Lik<'_> {
    const NAME: &'static str = "BG/BB";
    const PARAMS: &'static [&'static str] = &["alpha", "beta", "gamma", "delta"];
    fn ll_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let p4 = [p[0], p[1], p[2], p[3]];
        let mut ll = 0.0;
        let mut acc = [0.0; 4];
        for i in 0..self.d.x.len() {
            let (l, gi, _) = Lik::row(p4, self.d.x[i], self.d.t_x[i], self.d.n[i]);
            let w = self.d.weight[i];
            ll += w * l;
            for k in 0..4 {
                acc[k] += w * gi[k];
            }
        }
        g[..4].copy_from_slice(&acc);
        ll
    }
    fn customers(&self) -> f64 {
        self.d.weight.iter().sum()
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        vec![vec![1.0, 1.0, 1.0, 1.0], vec![0.5, 0.5, 0.5, 2.0], vec![2.0, 1.0, 1.0, 5.0], vec![1.0, 3.0, 0.3, 1.0]]
    }
}

impl BgBb {
    pub fn fit(data: &BgBbData, opts: &FitOptions) -> Result<Fitted<BgBb>, FitError> {
        let n: f64 = data.weight.iter().sum();
        if n <= 0.0 {
            return Err(FitError::NoCustomers);
        }
        if n < 2.0 {
            return Err(FitError::TooFewCustomers(n as usize));
        }
        if data.x.iter().zip(&data.weight).all(|(x, w)| *x == 0 || *w == 0.0) {
            return Err(FitError::NoRepeatCustomers);
        }
        if data.x.iter().zip(&data.weight).filter(|(_, w)| **w > 0.0).count() == 1 {
            return Err(FitError::AllIdentical);
        }
        let e = estimate(&Lik { d: data }, opts)?;
        let p = &e.params;
        Ok(Fitted {
            model: BgBb { alpha: p[0], beta: p[1], gamma: p[2], delta: p[3] },
            log_likelihood: e.log_likelihood,
            customers: n,
            converged: e.converged,
            iterations: e.iterations,
            starts: e.starts,
        })
    }

    /// `P(alive at opportunity n+1 | x, t_x, n)`, FHS (2010) eq. (11).
    pub fn p_alive(&self, x: u32, t_x: u32, n: u32) -> f64 {
        let p = [self.alpha, self.beta, self.gamma, self.delta];
        let (l, _, _) = Lik::row(p, x, t_x, n);
        let nf = n as f64;
        let lead = ln_beta(self.alpha + x as f64, self.beta + nf - x as f64) - ln_beta(self.alpha, self.beta) + ln_beta(self.gamma, self.delta + nf + 1.0)
            - ln_beta(self.gamma, self.delta);
        (lead - l).exp()
    }

    pub fn log_likelihood(&self, data: &BgBbData) -> f64 {
        let mut g = [0.0; 4];
        Lik { d: data }.ll_grad(&[self.alpha, self.beta, self.gamma, self.delta], &mut g)
    }
}
