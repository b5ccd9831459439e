//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for
//! customer base analysis", JMR 42(4); the note "The Gamma-Gamma model of monetary value", 2013).
//! Parameters `p, q, v`.

use crate::optim::fit_multistart;
use crate::special::{digamma, ln_gamma};
use crate::{Fit, FitError};

/// One repeat customer: `x` repeat transactions with mean value `m`, shared by `weight` customers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpendRow {
    pub x: f64,
    pub m: f64,
    pub weight: f64,
}

/// Parameters p, q, v.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// Per-customer log-likelihood of the mean spend (note eq. (3)):
/// ln f(m̄|x) = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m̄ + px ln x − (px+q) ln(v + x m̄),
/// with its gradient in (p, q, v).
pub fn ll_row(pr: &Params, x: f64, m: f64) -> (f64, [f64; 3]) {
    let Params { p, q, v } = *pr;
    let px = p * x;
    let lvm = (v + x * m).ln();
    let ll = ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * m.ln()
        + px * x.ln()
        - (px + q) * lvm;
    let dp = x * (digamma(px + q) - digamma(px) + m.ln() + x.ln() - lvm);
    let dq = digamma(px + q) - digamma(q) + v.ln() - lvm;
    let dv = q / v - (px + q) / (v + x * m);
    (ll, [dp, dq, dv])
}

/// Fits p, q, v on customers with x > 0 and m > 0 (others are ignored).
pub fn fit(rows: &[SpendRow]) -> Result<Fit, FitError> {
    let rows: Vec<SpendRow> =
        rows.iter().copied().filter(|r| r.x > 0.0 && r.m > 0.0 && r.weight > 0.0).collect();
    if rows.iter().any(|r| !(r.x.is_finite() && r.m.is_finite() && r.weight.is_finite())) {
        return Err(FitError::Invalid("non-finite value".into()));
    }
    let n: f64 = rows.iter().map(|r| r.weight).sum();
    if n <= 0.0 {
        return Err(FitError::NoRepeat);
    }
    if n <= 1.0 {
        return Err(FitError::OneCustomer);
    }
    if rows.iter().all(|r| r.m == rows[0].m) {
        return Err(FitError::AllIdentical);
    }
    let mean_m = rows.iter().map(|r| r.weight * r.m).sum::<f64>() / n;
    let nll = |th: &[f64]| -> Option<(f64, Vec<f64>)> {
        let pr = Params { p: th[0].exp(), q: th[1].exp(), v: th[2].exp() };
        let mut f = 0.0;
        let mut g = [0.0; 3];
        for w in &rows {
            let (l, d) = ll_row(&pr, w.x, w.m);
            f -= w.weight * l;
            for i in 0..3 {
                g[i] -= w.weight * d[i];
            }
        }
        let pv = [pr.p, pr.q, pr.v];
        let g: Vec<f64> = (0..3).map(|i| g[i] * pv[i]).collect();
        (f.is_finite() && g.iter().all(|v| v.is_finite())).then_some((f, g))
    };
    let lm = mean_m.ln();
    let starts = vec![vec![0.0, 0.0, lm], vec![1.0, 1.0, lm], vec![2.0, 1.0, lm + 1.0]];
    let m = fit_multistart(nll, &starts, n).ok_or(FitError::NoOptimum)?;
    let v: Vec<f64> = m.x.iter().map(|t| t.exp()).collect();
    Ok(Fit {
        model: "gg",
        params: vec![("p", v[0]), ("q", v[1]), ("v", v[2])],
        log_likelihood: -m.f,
        customers: n,
        converged: m.converged,
    })
}

impl Params {
    pub fn from_fit(f: &Fit) -> Option<Params> {
        Some(Params { p: f.param("p")?, q: f.param("q")?, v: f.param("v")? })
    }
    /// Expected mean transaction value given x and m̄ (FHL 2005 "RFM and CLV", eq. (5)):
    /// (q−1)/(px+q−1) · pv/(q−1) + px/(px+q−1) · m̄ = p(v + x m̄)/(px + q − 1). `None` when
    /// px + q ≤ 1.
    pub fn expected_aov(&self, x: f64, m: f64) -> Option<f64> {
        let d = self.p * x + self.q - 1.0;
        (d > 0.0).then(|| self.p * (self.v + x * m) / d)
    }
}

/// Weighted Pearson correlation between frequency and mean spend among repeat customers: the
/// Gamma-Gamma model assumes these are independent. `None` when undefined.
pub fn frequency_spend_correlation(rows: &[SpendRow]) -> Option<f64> {
    let rows: Vec<&SpendRow> = rows.iter().filter(|r| r.x > 0.0 && r.weight > 0.0).collect();
    let n: f64 = rows.iter().map(|r| r.weight).sum();
    if n <= 1.0 {
        return None;
    }
    let mx = rows.iter().map(|r| r.weight * r.x).sum::<f64>() / n;
    let mm = rows.iter().map(|r| r.weight * r.m).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for r in rows {
        sxy += r.weight * (r.x - mx) * (r.m - mm);
        sxx += r.weight * (r.x - mx).powi(2);
        syy += r.weight * (r.m - mm).powi(2);
    }
    let c = sxy / (sxx * syy).sqrt();
    c.is_finite().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let pv = [6.0, 3.5, 15.0];
        for (x, m) in [(1.0, 20.0), (4.0, 35.5)] {
            let f = |v: [f64; 3]| ll_row(&Params { p: v[0], q: v[1], v: v[2] }, x, m).0;
            let (_, g) = ll_row(&Params { p: pv[0], q: pv[1], v: pv[2] }, x, m);
            for i in 0..3 {
                let h = 1e-6 * pv[i];
                let (mut up, mut dn) = (pv, pv);
                up[i] += h;
                dn[i] -= h;
                let num = (f(up) - f(dn)) / (2.0 * h);
                assert!((num - g[i]).abs() < 1e-5 * num.abs().max(1.0));
            }
        }
    }

    /// Expected AOV by hand: p=6, q=4, v=15, x=2, m̄=20 → 6·(15+40)/(12+4−1) = 330/15 = 22.
    #[test]
    fn expected_aov_by_hand() {
        let p = Params { p: 6.0, q: 4.0, v: 15.0 };
        assert!((p.expected_aov(2.0, 20.0).unwrap() - 22.0).abs() < 1e-12);
    }
}
