//! BG/NBD: the beta-geometric/negative-binomial model of Fader, Hardie & Lee (2005), "Counting
//! your customers the easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2).
//!
//! While alive a customer buys as a Poisson process with rate `λ ~ Gamma(r, α)`; after every
//! purchase they drop out with probability `p ~ Beta(a, b)`. Also the engine of MBG/NBD
//! ([`crate::mbgnbd`]), which differs only in allowing dropout at the first purchase.

use crate::fit::{check_purchase_data, estimate, estimate_from, estimate_sample, warm_sample, FitError, FitOptions, Fitted, Likelihood};
use crate::special::{hyp2f1, lse, rising_tables};
use crate::summary::{Compressed, TimeTable};
use crate::PurchaseModel;
use serde::Serialize;

/// BG/NBD parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// The likelihood of the BG/NBD family on compressed data. `modified` selects MBG/NBD.
pub(crate) struct NbdFamily<'a> {
    pub data: &'a Compressed,
    pub modified: bool,
    max_x: usize,
    times: TimeTable,
}

impl<'a> NbdFamily<'a> {
    pub fn new(data: &'a Compressed, modified: bool) -> Self {
        NbdFamily { data, modified, max_x: data.max_x() as usize, times: TimeTable::new(data) }
    }

    /// Summed weighted log-likelihood and gradient with respect to `(r, α, a, b)`.
    ///
    /// BG/NBD, FHL (2005) eq. (6), written as lifetimes does on the log scale:
    /// `ln L = A₁ + A₂ + ln(e^{A₃} + δ_{x>0} e^{A₄})` with
    /// `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α`,
    /// `A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)`,
    /// `A₃ = −(r+x) ln(α+T)`, `A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`.
    /// MBG/NBD (Batislam, Denizel & Filiztekin 2007, eq. 6): `b+x` → `b+x+1` in `A₂`, `b+x−1` →
    /// `b+x` in `A₄`, and the `A₄` term is present for every `x` (dropout at the first purchase).
    pub fn ll_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let sh = usize::from(self.modified);
        let (mut ln_r, mut ps_r, mut ln_b, mut ps_b, mut ln_ab, mut ps_ab) = Default::default();
        rising_tables(r, self.max_x, &mut ln_r, &mut ps_r);
        rising_tables(b, self.max_x + sh, &mut ln_b, &mut ps_b);
        rising_tables(a + b, self.max_x + sh, &mut ln_ab, &mut ps_ab);
        let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
        let d = self.data;
        let la = self.times.ln_plus(alpha);
        // ln(b + x − 1 + sh) for every x that has the A₄ term.
        let ln_bden: Vec<f64> = (0..=self.max_x).map(|x| (b + x as f64 - 1.0 + sh as f64).ln()).collect();
        let (ll, [gr, gal, ga, gb]) = crate::fit::par_sum(d.len(), |i| {
            let (x, tx, t, w) = (d.x[i] as usize, d.t_x[i], d.t[i], d.weight[i]);
            let xf = x as f64;
            let a1 = ln_r[x] + r * ln_alpha;
            let a2 = ln_b[x + sh] - ln_ab[x + sh];
            let l_t = la[self.times.at_t[i] as usize];
            let a3 = -(r + xf) * l_t;
            let mut li = a1 + a2;
            let (w3, w4, l_tx, bden);
            if x > 0 || self.modified {
                bden = b + xf - 1.0 + sh as f64;
                l_tx = la[self.times.at_tx[i] as usize];
                let a4 = ln_a - ln_bden[x] - (r + xf) * l_tx;
                let l = lse(a3, a4);
                li += l;
                w3 = (a3 - l).exp();
                w4 = (a4 - l).exp();
            } else {
                li += a3;
                (w3, w4, l_tx, bden) = (1.0, 0.0, 0.0, 1.0);
            }
            (
                w * li,
                [
                    w * (ps_r[x] + ln_alpha - w3 * l_t - w4 * l_tx),
                    w * (r / alpha - (r + xf) * (w3 / (alpha + t) + w4 / (alpha + tx))),
                    w * (-ps_ab[x + sh] + w4 / a),
                    w * (ps_b[x + sh] - ps_ab[x + sh] - w4 / bden),
                ],
            )
        });
        g[0] = gr;
        g[1] = gal;
        g[2] = ga;
        g[3] = gb;
        ll
    }

    pub fn starts(&self) -> Vec<Vec<f64>> {
        let d = self.data;
        let w = d.customers();
        let mean_t = d.t.iter().zip(&d.weight).map(|(t, w)| t * w).sum::<f64>() / w;
        let scale = mean_t.max(1e-3);
        vec![vec![1.0, scale / 4.0, 1.0, 1.0], vec![1.0, 1.0, 1.0, 1.0], vec![0.5, scale, 0.5, 3.0], vec![2.0, scale / 20.0, 2.0, 0.5]]
    }
}

impl Likelihood for NbdFamily<'_> {
    const NAME: &'static str = "BG/NBD";
    const PARAMS: &'static [&'static str] = &["r", "alpha", "a", "b"];
    fn ll_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        NbdFamily::ll_grad(self, p, g)
    }
    fn customers(&self) -> f64 {
        self.data.customers()
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        NbdFamily::starts(self)
    }
    fn hint(&self, param: &str) -> String {
        match param {
            "a" | "b" => "the history shows too little dropout to estimate it; use more history or a penalizer".into(),
            _ => "purchase rates cannot be told apart; use more history or a penalizer".into(),
        }
    }
}

impl BgNbd {
    /// Maximum-likelihood fit on compressed summary rows.
    pub fn fit(data: &Compressed, opts: &FitOptions) -> Result<Fitted<BgNbd>, FitError> {
        check_purchase_data(data)?;
        let e = match warm_sample(data) {
            Some(sub) => estimate_from(&NbdFamily::new(data, false), estimate_sample(&NbdFamily::new(&sub, false), opts)?, opts)?,
            None => estimate(&NbdFamily::new(data, false), opts)?,
        };
        let p = &e.params;
        Ok(Fitted {
            model: BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] },
            log_likelihood: e.log_likelihood,
            customers: data.customers(),
            converged: e.converged,
            iterations: e.iterations,
            starts: e.starts,
        })
    }

    /// Summed weighted log-likelihood of `data`.
    pub fn log_likelihood(&self, data: &Compressed) -> f64 {
        let mut g = [0.0; 4];
        NbdFamily::new(data, false).ll_grad(&[self.r, self.alpha, self.a, self.b], &mut g)
    }
}

/// Expected purchases in `(T, T+t]` of a customer alive at `T`: the numerator of FHL (2005)
/// eq. (10) (BG/NBD) and Batislam et al. (2007) eq. (9) (MBG/NBD), whose denominators are
/// `1/P(alive)`. The hypergeometric term `((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; z)` is
/// evaluated in its Euler-transformed form `(1−z)^{a−1} ₂F₁(a+b−1−r, a−1; a+b+x−1; z)`
/// (Abramowitz & Stegun 15.3.3), `z = t/(α+T+t)`, whose series stays bounded for large `x`.
pub(crate) fn nbd_if_alive(r: f64, alpha: f64, a: f64, b: f64, modified: bool, t: f64, x: f64, age: f64) -> f64 {
    if !(t > 0.0) {
        return 0.0;
    }
    let a = if (a - 1.0).abs() < 1e-7 { 1.0 + 1e-7 } else { a };
    let sh = if modified { 1.0 } else { 0.0 };
    let c = a + b + x - 1.0 + sh;
    let z = t / (alpha + age + t);
    let Some(f) = hyp2f1(a + b - 1.0 + sh - r, a - 1.0, c, z) else {
        return f64::NAN;
    };
    c / (a - 1.0) * (1.0 - ((a - 1.0) * (1.0 - z).ln()).exp() * f)
}

/// `P(alive | x, t_x, T)`: FHL (2005) eq. (13) (1 when `x = 0`); Batislam et al. (2007) for MBG.
pub(crate) fn nbd_p_alive(r: f64, alpha: f64, a: f64, b: f64, modified: bool, x: f64, tx: f64, age: f64) -> f64 {
    if x == 0.0 && !modified {
        return 1.0;
    }
    let bden = b + x - 1.0 + if modified { 1.0 } else { 0.0 };
    let l = a.ln() - bden.ln() + (r + x) * ((alpha + age).ln() - (alpha + tx).ln());
    1.0 / (1.0 + l.exp())
}

impl PurchaseModel for BgNbd {
    fn name(&self) -> &'static str {
        "bgnbd"
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("r", self.r), ("alpha", self.alpha), ("a", self.a), ("b", self.b)]
    }
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        nbd_p_alive(self.r, self.alpha, self.a, self.b, false, x, t_x, t)
    }
    fn purchases_if_alive(&self, horizon: f64, x: f64, t: f64) -> f64 {
        nbd_if_alive(self.r, self.alpha, self.a, self.b, false, horizon, x, t)
    }
}
