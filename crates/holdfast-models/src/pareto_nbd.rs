//! Pareto/NBD: Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and
//! what will they do next?", Management Science 33(1); likelihood as in Fader & Hardie (2005), "A
//! note on deriving the Pareto/NBD model and related expressions" (eqs. 19–22).
//!
//! While alive a customer buys as a Poisson process with rate `λ ~ Gamma(r, α)`; lifetimes are
//! exponential with rate `μ ~ Gamma(s, β)`.
//!
//! ## Numerical stability and speed
//! The likelihood is
//! `L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^{−(r+x)} (β+T)^{−s} + s·∫_{t_x}^{T} (α+τ)^{−(r+x)} (β+τ)^{−(s+1)} dτ ]`,
//! and the integral is `G(t_x) − G(T)` with `G(y) = ∫_y^∞ … dτ = (m+y)^{−a} ₂F₁(a, b; a+1; z_y) / a`,
//! `a = r+s+x`, `m = max(α, β)`, `z_y = |α−β|/(m+y)` and `b = s+1` (α ≥ β) or `r+x` (α < β):
//! the `A₀` term of the note. Instead of the raw series (whose terms overflow for large `x`, the
//! trouble of BTYD and lifetimes), `₂F₁` is taken in Euler's form
//! `₂F₁(a, b; a+1; z) = (1−z)^{1−b} Σₙ (a+1−b)ₙ/(a+1)ₙ zⁿ` (A&S 15.3.3), whose terms are positive
//! and never exceed `zⁿ` ([`ln_tail`]); everything else is kept on the log scale.
//!
//! That series needs hundreds of terms when `z` is near 1 (β ≫ α and short histories), and
//! millions as `z → 1`. So the series is summed only once per distinct `x`, at the latest time
//! that `x`'s rows ask about (or where `z = ½`, if later): every other tail follows by marching
//! down the sorted distinct times, `G(tᵢ) = ∫_{tᵢ}^{tᵢ₊₁} f + G(tᵢ₊₁)` ([`Tails`]). Short steps
//! (most of them, one day apart) are integrated by the Euler–Maclaurin formula from derivatives at
//! their ends, longer ones by Gauss–Legendre pieces; gradients ride along as integrals of
//! `∂f/∂θ`. The result agrees with the series to 1e-11 and with mpmath's `hyp2f1` to 1e-12 where
//! the series cannot be summed at all, and a fit on 85,000 distinct rows costs a few milliseconds
//! per evaluation.

use crate::fit::{check_purchase_data, estimate, estimate_from, estimate_sample, warm_sample, FitError, FitOptions, Fitted, Likelihood};
use crate::special::rising_tables;
use crate::summary::{Compressed, TimeTable};
use crate::PurchaseModel;
use serde::Serialize;

/// Pareto/NBD parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

/// `ln G(y)` and its gradient with respect to `(r, α, s, β)`.
fn ln_tail(r: f64, alpha: f64, s: f64, beta: f64, x: f64, y: f64) -> (f64, [f64; 4]) {
    let a = r + s + x;
    let da = [1.0, 0.0, 1.0, 0.0];
    let (m, d, b, db, dm, dz);
    if alpha >= beta {
        m = alpha;
        d = alpha - beta;
        b = s + 1.0;
        db = [0.0, 0.0, 1.0, 0.0];
        dm = [0.0, 1.0, 0.0, 0.0];
        let my = m + y;
        dz = [0.0, (beta + y) / (my * my), 0.0, -1.0 / my];
    } else {
        m = beta;
        d = beta - alpha;
        b = r + x;
        db = [1.0, 0.0, 0.0, 0.0];
        dm = [0.0, 0.0, 0.0, 1.0];
        let my = m + y;
        dz = [0.0, -1.0 / my, 0.0, (alpha + y) / (my * my)];
    }
    let my = m + y;
    let z = d / my;
    // S = Σ tₙ, t₀ = 1, tₙ₊₁ = tₙ z (b'+n)/(c+n), b' = a+1−b, c = a+1; with Σ tₙ Hₙ(b'), Σ tₙ Hₙ(c)
    // and Σ n tₙ / z for the derivatives (Hₙ(u) = Σ_{k<n} 1/(u+k)).
    let (bp, c) = (a + 1.0 - b, a + 1.0);
    let (mut t, mut sum, mut s_bp, mut s_c, mut s_z) = (1.0, 1.0, 0.0, 0.0, 0.0);
    let (mut h_bp, mut h_c) = (0.0, 0.0);
    let mut n = 0.0;
    while n < 1.0e6 {
        let ratio_nz = (bp + n) / (c + n); // t_{n+1} = t_n z ratio
        h_bp += 1.0 / (bp + n);
        h_c += 1.0 / (c + n);
        // d t_{n+1}/dz = (n+1) t_{n+1} / z = (n+1) t_n ratio
        s_z += (n + 1.0) * t * ratio_nz;
        t *= z * ratio_nz;
        n += 1.0;
        sum += t;
        s_bp += t * h_bp;
        s_c += t * h_c;
        if t <= 1e-17 * sum {
            break;
        }
    }
    let (l_bp, l_c, l_z) = (s_bp / sum, -s_c / sum, s_z / sum);
    let ln_1mz = (-z).ln_1p();
    let lnm = my.ln();
    let val = -a * lnm - a.ln() + (1.0 - b) * ln_1mz + sum.ln();
    let mut g = [0.0; 4];
    for k in 0..4 {
        let dbp = da[k] - db[k];
        let dlns = l_bp * dbp + l_c * da[k] + l_z * dz[k];
        g[k] = -da[k] * lnm - a * dm[k] / my - da[k] / a - db[k] * ln_1mz + (1.0 - b) * (-dz[k] / (1.0 - z)) + dlns;
    }
    (val, g)
}

/// `ln G` and its gradient at one point: a tail of the likelihood's integral.
type Tail = (f64, [f64; 4]);

/// The parameters with the logs every row uses.
#[derive(Clone, Copy)]
struct Params {
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    ln_alpha: f64,
    ln_beta: f64,
    ln_s: f64,
}

impl Params {
    fn new([r, alpha, s, beta]: [f64; 4]) -> Params {
        Params { r, alpha, s, beta, ln_alpha: alpha.ln(), ln_beta: beta.ln(), ln_s: s.ln() }
    }
}

/// Per-row log-likelihood pieces: `(ln L, gradient, P(alive))`, with `ln(α+T)`, `ln(β+T)`,
/// `ln Γ(r+x) − ln Γ(r)` and `ψ(r+x) − ψ(r)` supplied by the caller, and the tails `G(t_x)`,
/// `G(T)` from `tails` (called only when `T > t_x`).
#[allow(clippy::too_many_arguments)]
#[inline]
fn row(p: &Params, x: f64, tx: f64, age: f64, l_at: f64, l_bt: f64, ln_rx: f64, ps_rx: f64, tails: impl FnOnce() -> (Tail, Tail)) -> (f64, [f64; 4], f64) {
    let Params { r, alpha, s, beta, ln_alpha, ln_beta, ln_s } = *p;
    let l1 = -(r + x) * l_at - s * l_bt;
    let head = ln_rx + r * ln_alpha + s * ln_beta;
    let mut g = [ps_rx + ln_alpha, r / alpha, ln_beta, s / beta];
    if !(age > tx) {
        g[0] -= l_at;
        g[1] -= (r + x) / (alpha + age);
        g[2] -= l_bt;
        g[3] -= s / (beta + age);
        return (head + l1, g, 1.0);
    }
    let ((gx, dgx), (gt, dgt)) = tails();
    let delta = (gt - gx).min(0.0);
    let em1 = delta.exp_m1();
    let (one_minus, e) = (-em1, 1.0 + em1); // 1 − e^δ, e^δ
    let l2 = ln_s + gx + one_minus.ln();
    // ln(e^{l1} + e^{l2}) and the two shares, with one exponential.
    let d = l2 - l1;
    let (l, w1, w2) = if d <= 0.0 {
        let q = d.exp();
        (l1 + q.ln_1p(), 1.0 / (1.0 + q), q / (1.0 + q))
    } else {
        let q = (-d).exp();
        (l2 + q.ln_1p(), q / (1.0 + q), 1.0 / (1.0 + q))
    };
    let mut dlnd = [0.0; 4];
    if w2 > 0.0 && one_minus > 0.0 {
        for k in 0..4 {
            dlnd[k] = (dgx[k] - e * dgt[k]) / one_minus;
        }
    }
    g[0] += w1 * -l_at + w2 * dlnd[0];
    g[1] += w1 * -(r + x) / (alpha + age) + w2 * dlnd[1];
    g[2] += w1 * -l_bt + w2 * (1.0 / s + dlnd[2]);
    g[3] += w1 * -s / (beta + age) + w2 * dlnd[3];
    (head + l, g, w1)
}

/// Gauss–Legendre rules on `[0, 1]` (nodes, weights) with 3, 4, 6 and 8 nodes, by Newton's method
/// on the Legendre polynomials (Press et al., "Numerical Recipes", §4.6 `gauleg`).
fn gauss_legendre() -> &'static [Vec<(f64, f64)>; 4] {
    static RULES: std::sync::OnceLock<[Vec<(f64, f64)>; 4]> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        [3usize, 4, 6, 8].map(|n| {
            (0..n)
                .map(|i| {
                    let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
                    let mut dp = 1.0;
                    for _ in 0..100 {
                        let (mut p1, mut p2) = (1.0, 0.0);
                        for j in 0..n {
                            let p3 = p2;
                            p2 = p1;
                            p1 = ((2 * j + 1) as f64 * z * p2 - j as f64 * p3) / (j + 1) as f64;
                        }
                        dp = n as f64 * (z * p1 - p2) / (z * z - 1.0);
                        let step = p1 / dp;
                        z -= step;
                        if step.abs() < 1e-16 {
                            break;
                        }
                    }
                    ((1.0 - z) / 2.0, 1.0 / ((1.0 - z * z) * dp * dp))
                })
                .collect()
        })
    })
}

/// The tails `G(t)` every row needs, for all rows at once.
///
/// For one `x`, `G(t) = ∫_t^∞ f(τ) dτ` with `f(τ) = (α+τ)^{−(r+x)} (β+τ)^{−(s+1)}`, so over the
/// sorted distinct times `t₀ < t₁ < … < t_K` the rows of that `x` ask about,
/// `G(tᵢ) = ∫_{tᵢ}^{tᵢ₊₁} f + G(tᵢ₊₁)`: only the last tail needs the hypergeometric series
/// ([`ln_tail`]); every other one adds a short integral of a smooth function, taken by
/// Gauss–Legendre quadrature. That is what makes the fit's cost stop growing near `z → 1` (large
/// `β/α`), where the series needs hundreds of terms per row. The march carries `H = G/f` and
/// `∂G/∂θ / f`, which stay of moderate size for any `x` (no overflow, no underflow that matters).
///
/// The quadrature variable is `v = ln(m+τ)` with `m = min(α, β)`, in which the integrand is close
/// to an exponential; see [`Marcher::segment`] for how intervals are cut.
pub(crate) struct Tails {
    /// `(x, range in times)` per distinct `x`.
    groups: Vec<(f64, std::ops::Range<usize>)>,
    /// Per group, its distinct times, ascending.
    times: Vec<f64>,
    /// Per row, the index in `times` of `t_x` and of `T` (unused when `T = t_x`).
    at_tx: Vec<u32>,
    at_t: Vec<u32>,
}

impl Tails {
    pub(crate) fn new(d: &Compressed) -> Tails {
        // Rows by x (a counting sort; rows with T = t_x need no tail).
        let max_x = d.max_x() as usize;
        let mut count = vec![0usize; max_x + 2];
        for i in 0..d.len() {
            if d.t[i] > d.t_x[i] {
                count[d.x[i] as usize + 1] += 1;
            }
        }
        for k in 1..count.len() {
            count[k] += count[k - 1];
        }
        let mut by_x = vec![0u32; count[max_x + 1]];
        let mut next = count.clone();
        for i in 0..d.len() {
            if d.t[i] > d.t_x[i] {
                let k = &mut next[d.x[i] as usize];
                by_x[*k] = i as u32;
                *k += 1;
            }
        }
        let mut groups = Vec::new();
        let mut times = Vec::with_capacity(by_x.len());
        let (mut at_tx, mut at_t) = (vec![0u32; d.len()], vec![0u32; d.len()]);
        for x in 0..=max_x {
            let rows = &by_x[count[x]..count[x + 1]];
            if rows.is_empty() {
                continue;
            }
            let start = times.len();
            for &i in rows {
                times.push(d.t_x[i as usize]);
                times.push(d.t[i as usize]);
            }
            times[start..].sort_unstable_by(f64::total_cmp);
            let mut n = start;
            for k in start..times.len() {
                if k == start || times[k] != times[n - 1] {
                    times[n] = times[k];
                    n += 1;
                }
            }
            times.truncate(n);
            let ts = &times[start..];
            for &i in rows {
                let i = i as usize;
                at_tx[i] = (start + ts.partition_point(|t| *t < d.t_x[i])) as u32;
                at_t[i] = (start + ts.partition_point(|t| *t < d.t[i])) as u32;
            }
            groups.push((x as f64, start..times.len()));
        }
        Tails { groups, times, at_tx, at_t }
    }

    /// `(ln G, ∂ ln G/∂θ)` at every time of every group, for parameters `p = (r, α, s, β)`.
    pub(crate) fn eval(&self, p: [f64; 4]) -> Vec<Tail> {
        use rayon::prelude::*;
        let mut out = vec![(0.0, [0.0; 4]); self.times.len()];
        let mut slices = Vec::with_capacity(self.groups.len());
        let mut rest = out.as_mut_slice();
        for (_, range) in &self.groups {
            let (head, tail) = rest.split_at_mut(range.len());
            slices.push(head);
            rest = tail;
        }
        slices.into_par_iter().zip(&self.groups).for_each(|(dst, (x, range))| march(p, *x, &self.times[range.clone()], dst));
        out
    }
}

/// Fills `out[i]` with `(ln G(ts[i]), ∂ ln G/∂θ)` for one `x` (`ts` ascending), from the last
/// time down. The march starts from the series at the last time, or — when the series' argument
/// `z` would be above ½ there and need many terms (large `|α−β|` against the times) — at the
/// later time where `z = ½`, marching down from it like from any other.
fn march(p: [f64; 4], x: f64, ts: &[f64], out: &mut [Tail]) {
    let [r, alpha, s, beta] = p;
    let k = ts.len();
    if k == 0 {
        return;
    }
    let mut m = Marcher::new(p, x);
    let top = ts[k - 1];
    let far = 2.0 * (alpha - beta).abs() - alpha.max(beta);
    let start = if far > top { far } else { top };
    let (lg, dlg) = ln_tail(r, alpha, s, beta, x, start);
    m.start(start, lg, dlg);
    if far > top {
        out[k - 1] = m.step_to(top);
    } else {
        out[k - 1] = (lg, dlg);
    }
    for i in (0..k - 1).rev() {
        out[i] = m.step_to(ts[i]);
    }
}

/// Largest slope bound × length of one quadrature piece (see [`Marcher::segment`]).
const PIECE: f64 = 2.0;

/// The state of a march down one `x`'s times: `H = G/f` and `∂G/∂θ / f` at the last time `t1`.
struct Marcher {
    p: [f64; 4],
    /// Exponents of `α+τ` and `β+τ` in `f`.
    ea: f64,
    eb: f64,
    alpha_small: bool,
    m_small: f64,
    e_small: f64,
    e_big: f64,
    t1: f64,
    la1: f64,
    lb1: f64,
    lf1: f64,
    /// Endpoint derivatives at `t1` (see [`Ends`]).
    ends1: Ends,
    h: f64,
    kk: [f64; 4],
}

/// At one time `τ`, for `F = g` and `F = φ_θ g` (`g = f/f(τ)`, `φ_θ = ∂ ln f/∂θ`): `F/g` and
/// `F'/g`, `F'''/g`, `F⁽⁵⁾/g` — what the Euler–Maclaurin formula of a short segment needs at its
/// ends.
#[derive(Clone, Copy, Default)]
struct Ends {
    v: [f64; 5],
    d1: [f64; 5],
    d3: [f64; 5],
    d5: [f64; 5],
    /// `1/(α+τ)` and `1/(β+τ)`.
    inv_a: f64,
    inv_b: f64,
}

impl Ends {
    fn at(ea: f64, eb: f64, t: f64, alpha: f64, beta: f64, la: f64, lb: f64) -> Ends {
        const FACT: [f64; 6] = [1.0, 1.0, 2.0, 6.0, 24.0, 120.0];
        let (a, b) = (1.0 / (alpha + t), 1.0 / (beta + t));
        // Powers A^k, B^k, k = 0..6.
        let (mut pa, mut pb) = ([1.0; 7], [1.0; 7]);
        for k in 1..7 {
            pa[k] = pa[k - 1] * a;
            pb[k] = pb[k - 1] * b;
        }
        let sign = |k: usize| if k % 2 == 0 { 1.0 } else { -1.0 };
        // ℓ = ln f: ℓ⁽ᵏ⁾ = (−1)ᵏ (k−1)! (e_a Aᵏ + e_b Bᵏ); g⁽ⁿ⁾/g is the complete Bell polynomial
        // of ℓ', …, ℓ⁽ⁿ⁾: Bₙ₊₁ = Σₖ C(n,k) Bₙ₋ₖ ℓ⁽ᵏ⁺¹⁾.
        let mut l = [0.0; 6];
        for k in 1..6 {
            l[k] = sign(k) * FACT[k - 1] * (ea * pa[k] + eb * pb[k]);
        }
        let b1 = l[1];
        let b2 = b1 * l[1] + l[2];
        let b3 = b2 * l[1] + 2.0 * b1 * l[2] + l[3];
        let b4 = b3 * l[1] + 3.0 * b2 * l[2] + 3.0 * b1 * l[3] + l[4];
        let b5 = b4 * l[1] + 4.0 * b3 * l[2] + 6.0 * b2 * l[3] + 4.0 * b1 * l[4] + l[5];
        // φ and its derivatives: −ln(α+τ) (r), −e_a A (α), −ln(β+τ) (s), −e_b B (β).
        let mut phis = [[0.0; 6]; 4];
        phis[0][0] = -la;
        phis[1][0] = -ea * a;
        phis[2][0] = -lb;
        phis[3][0] = -eb * b;
        for k in 1..6 {
            phis[0][k] = sign(k) * FACT[k - 1] * pa[k];
            phis[1][k] = -ea * sign(k) * FACT[k] * pa[k + 1];
            phis[2][k] = sign(k) * FACT[k - 1] * pb[k];
            phis[3][k] = -eb * sign(k) * FACT[k] * pb[k + 1];
        }
        // (φ g)⁽ⁿ⁾/g = Σₖ C(n,k) φ⁽ᵏ⁾ Bₙ₋ₖ (Leibniz).
        let mut e = Ends { v: [1.0, 0.0, 0.0, 0.0, 0.0], d1: [b1, 0.0, 0.0, 0.0, 0.0], d3: [b3, 0.0, 0.0, 0.0, 0.0], d5: [b5, 0.0, 0.0, 0.0, 0.0], inv_a: a, inv_b: b };
        for (k, p) in phis.iter().enumerate() {
            e.v[k + 1] = p[0];
            e.d1[k + 1] = p[0] * b1 + p[1];
            e.d3[k + 1] = p[0] * b3 + 3.0 * p[1] * b2 + 3.0 * p[2] * b1 + p[3];
            e.d5[k + 1] = p[0] * b5 + 5.0 * p[1] * b4 + 10.0 * p[2] * b3 + 10.0 * p[3] * b2 + 5.0 * p[4] * b1 + p[5];
        }
        e
    }
}

/// Largest `κ h` (slope bound × length, see [`Marcher::step_to`]) of a segment integrated by the
/// Euler–Maclaurin formula: its first omitted term is about `(κh)⁸/1209600` of the integral.
const EULER_MACLAURIN: f64 = 0.15;

impl Marcher {
    fn new(p: [f64; 4], x: f64) -> Marcher {
        let [r, alpha, s, beta] = p;
        let (ea, eb) = (r + x, s + 1.0);
        // The smaller of α, β carries the quadrature variable.
        let alpha_small = alpha <= beta;
        let (m_small, e_small, e_big) = if alpha_small { (alpha, ea, eb) } else { (beta, eb, ea) };
        Marcher { p, ea, eb, alpha_small, m_small, e_small, e_big, t1: 0.0, la1: 0.0, lb1: 0.0, lf1: 0.0, ends1: Ends::default(), h: 0.0, kk: [0.0; 4] }
    }

    fn logs(&self, t: f64) -> (f64, f64, f64) {
        let (la, lb) = ((self.p[1] + t).ln(), (self.p[3] + t).ln());
        (la, lb, -self.ea * la - self.eb * lb)
    }

    fn ends(&self, t: f64, la: f64, lb: f64) -> Ends {
        Ends::at(self.ea, self.eb, t, self.p[1], self.p[3], la, lb)
    }

    fn start(&mut self, t: f64, lg: f64, dlg: [f64; 4]) {
        (self.la1, self.lb1, self.lf1) = self.logs(t);
        self.ends1 = self.ends(t, self.la1, self.lb1);
        self.t1 = t;
        self.h = (lg - self.lf1).exp();
        self.kk = dlg.map(|d| d * self.h);
    }

    /// Moves down to `t0 ≤ t1`: adds `∫_{t0}^{t1} f` (and its gradient), returns the tail at `t0`.
    ///
    /// A short segment — `κ h ≤ 0.15` with `h = t1 − t0` and `κ = (e_a+1)/(α+t0) + (e_b+1)/(β+t0)`
    /// bounding how fast the integrands and their `φ` factors change — is taken by the
    /// Euler–Maclaurin formula `∫F ≈ h/2 (F₀+F₁) − h²/12 (F₁'−F₀') + h⁴/720 (F₁'''−F₀''') −
    /// h⁶/30240 (F₁⁽⁵⁾−F₀⁽⁵⁾)` from
    /// derivatives at its ends (no logarithms or exponentials beyond those of the ends); a longer
    /// one by Gauss–Legendre pieces ([`Marcher::segment`]).
    fn step_to(&mut self, t0: f64) -> Tail {
        let (la0, lb0, lf0) = self.logs(t0);
        let rho = (self.lf1 - lf0).exp();
        let ends0 = self.ends(t0, la0, lb0);
        let width = self.t1 - t0;
        let (j0, jg) = if !(width > 0.0) {
            (0.0, [0.0; 4])
        } else if width * ((self.ea + 1.0) * ends0.inv_a + (self.eb + 1.0) * ends0.inv_b) <= EULER_MACLAURIN {
            let (e0, e1) = (&ends0, &self.ends1);
            let h2 = width * width;
            let (c1, c2, c4, c6) = (width / 2.0, h2 / 12.0, h2 * h2 / 720.0, h2 * h2 * h2 / 30240.0);
            let j = |k: usize| {
                c1 * (e0.v[k] + rho * e1.v[k]) - c2 * (rho * e1.d1[k] - e0.d1[k]) + c4 * (rho * e1.d3[k] - e0.d3[k]) - c6 * (rho * e1.d5[k] - e0.d5[k])
            };
            (j(0), [j(1), j(2), j(3), j(4)])
        } else {
            self.segment(t0, la0, lb0)
        };
        self.h = j0 + rho * self.h;
        for m in 0..4 {
            self.kk[m] = jg[m] + rho * self.kk[m];
        }
        (self.t1, self.la1, self.lb1, self.lf1, self.ends1) = (t0, la0, lb0, lf0, ends0);
        (self.h.ln() + lf0, self.kk.map(|v| v / self.h))
    }

    /// `∫_{t0}^{t1} f/f(t0) dτ` and the same with `∂f/∂θ`, in `v = ln((m+τ)/(m+t0))`.
    ///
    /// In `v` the log of the integrand is `ℓ(v) = (1−e_m) v − e_M ln((M+τ)/(M+t0))`, whose slope
    /// is `(1−e_m) − e_M q(v)` with `q = (m+τ)/(M+τ) ≤ 1` rising at most like `e^v`. Pieces are cut
    /// so that the slope bound times the piece's length stays ≤ [`PIECE`] (8 nodes; shorter ones
    /// take 3, 4 or 6 nodes), which keeps the relative error below 1e-13 even where the slope
    /// turns within a piece (α ≪ β, `x = 0`), and the sum stops once
    /// the integrand has fallen e^40 below its peak and cannot climb back.
    fn segment(&self, t0: f64, la0: f64, lb0: f64) -> (f64, [f64; 4]) {
        let (l_small0, l_big0, l_small1) = if self.alpha_small { (la0, lb0, self.la1) } else { (lb0, la0, self.lb1) };
        let a0 = self.m_small + t0;
        let b0 = if self.alpha_small { self.p[3] } else { self.p[1] } + t0;
        let width = l_small1 - l_small0;
        let rise = 1.0 - self.e_small;
        let rules = gauss_legendre();
        let (mut j0, mut jg) = (0.0, [0.0; 4]);
        let (mut v, mut q0, mut peak) = (0.0, a0 / b0, 0.0f64);
        while v < width {
            let bound = |h: f64| rise.abs() + self.e_big * (q0 * h.exp()).min(1.0);
            let mut h = (width - v).min(PIECE / bound(0.0));
            while h * bound(h) > PIECE {
                h *= 0.5;
            }
            let cv = h * bound(h);
            let rule = &rules[if cv <= 0.05 {
                0
            } else if cv <= 0.2 {
                1
            } else if cv <= 0.8 {
                2
            } else {
                3
            }];
            for &(u, w) in rule.iter() {
                let vv = v + u * h;
                let em1 = vv.exp_m1();
                let big = b0 + a0 * em1; // M + τ
                let lbig = (big / b0).ln();
                let g = w * h * a0 * (rise * vv - self.e_big * lbig).exp();
                let small = a0 * (1.0 + em1); // m + τ
                let (l_s, l_b) = (l_small0 + vv, l_big0 + lbig);
                let (lna, inva, lnb, invb) = if self.alpha_small { (l_s, 1.0 / small, l_b, 1.0 / big) } else { (l_b, 1.0 / big, l_s, 1.0 / small) };
                j0 += g;
                jg[0] -= g * lna;
                jg[1] -= g * self.ea * inva;
                jg[2] -= g * lnb;
                jg[3] -= g * self.eb * invb;
            }
            v += h;
            if v < width {
                let e = v.exp();
                let big = b0 + a0 * (e - 1.0);
                q0 = a0 * e / big;
                let l_end = rise * v - self.e_big * (big / b0).ln();
                peak = peak.max(l_end);
                if l_end + rise.max(0.0) * (width - v) < peak - 40.0 {
                    break;
                }
            }
        }
        (j0, jg)
    }
}

struct Lik<'a> {
    data: &'a Compressed,
    max_x: usize,
    tails: Tails,
    times: TimeTable,
}

impl<'a> Lik<'a> {
    fn new(data: &'a Compressed) -> Self {
        Lik { data, max_x: data.max_x() as usize, tails: Tails::new(data), times: TimeTable::new(data) }
    }

    /// What every row needs at parameters `p`.
    fn at(&self, p: [f64; 4], with_gamma: bool) -> At<'_> {
        let (mut ln_r, mut ps_r) = (Vec::new(), Vec::new());
        if with_gamma {
            rising_tables(p[0], self.max_x, &mut ln_r, &mut ps_r);
        } else {
            (ln_r, ps_r) = (vec![0.0; self.max_x + 1], vec![0.0; self.max_x + 1]);
        }
        At { lik: self, tails: self.tails.eval(p), la: self.times.ln_plus(p[1]), lb: self.times.ln_plus(p[3]), p: Params::new(p), ln_r, ps_r }
    }
}

/// One evaluation's shared values: tails, `ln(α+t)`, `ln(β+t)` per distinct time, `ln Γ` ratios.
struct At<'a> {
    lik: &'a Lik<'a>,
    tails: Vec<Tail>,
    la: Vec<f64>,
    lb: Vec<f64>,
    p: Params,
    ln_r: Vec<f64>,
    ps_r: Vec<f64>,
}

impl At<'_> {
    /// Row `i`'s `(ln L, gradient, P(alive))`.
    fn row(&self, i: usize) -> (f64, [f64; 4], f64) {
        let (d, tl) = (self.lik.data, &self.lik.tails);
        let x = d.x[i] as usize;
        let at = self.lik.times.at_t[i] as usize;
        let tails = || (self.tails[tl.at_tx[i] as usize], self.tails[tl.at_t[i] as usize]);
        row(&self.p, x as f64, d.t_x[i], d.t[i], self.la[at], self.lb[at], self.ln_r[x], self.ps_r[x], tails)
    }
}

impl Likelihood for Lik<'_> {
    const NAME: &'static str = "Pareto/NBD";
    const PARAMS: &'static [&'static str] = &["r", "alpha", "s", "beta"];
    fn ll_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let d = self.data;
        let at = self.at([p[0], p[1], p[2], p[3]], true);
        let (ll, acc) = crate::fit::par_sum(d.len(), |i| {
            let (li, gi, _) = at.row(i);
            let w = d.weight[i];
            (w * li, gi.map(|v| w * v))
        });
        g[..4].copy_from_slice(&acc);
        ll
    }
    fn customers(&self) -> f64 {
        self.data.customers()
    }
    fn starts(&self) -> Vec<Vec<f64>> {
        let d = self.data;
        let mean_t = d.t.iter().zip(&d.weight).map(|(t, w)| t * w).sum::<f64>() / d.customers();
        let sc = mean_t.max(1e-3);
        vec![vec![1.0, sc / 4.0, 1.0, sc / 4.0], vec![1.0, 1.0, 1.0, 1.0], vec![0.5, sc, 0.5, sc], vec![2.0, sc / 20.0, 0.3, sc * 2.0]]
    }
}

impl ParetoNbd {
    /// Maximum-likelihood fit on compressed summary rows.
    pub fn fit(data: &Compressed, opts: &FitOptions) -> Result<Fitted<ParetoNbd>, FitError> {
        check_purchase_data(data)?;
        let e = match warm_sample(data) {
            Some(sub) => estimate_from(&Lik::new(data), estimate_sample(&Lik::new(&sub), opts)?, opts)?,
            None => estimate(&Lik::new(data), opts)?,
        };
        let p = &e.params;
        Ok(Fitted {
            model: ParetoNbd { r: p[0], alpha: p[1], s: p[2], beta: p[3] },
            log_likelihood: e.log_likelihood,
            customers: data.customers(),
            converged: e.converged,
            iterations: e.iterations,
            starts: e.starts,
        })
    }

    pub fn log_likelihood(&self, data: &Compressed) -> f64 {
        let mut g = [0.0; 4];
        Lik::new(data).ll_grad(&[self.r, self.alpha, self.s, self.beta], &mut g)
    }

    /// Gradient of the summed log-likelihood (for checks).
    pub fn gradient(&self, data: &Compressed) -> [f64; 4] {
        let mut g = [0.0; 4];
        Lik::new(data).ll_grad(&[self.r, self.alpha, self.s, self.beta], &mut g);
        g
    }
}

impl PurchaseModel for ParetoNbd {
    fn name(&self) -> &'static str {
        "pareto"
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("r", self.r), ("alpha", self.alpha), ("s", self.s), ("beta", self.beta)]
    }
    /// `P(alive | x, t_x, T)`: the share of the first term in the likelihood (FH 2005 note, eq. 24).
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let p = [self.r, self.alpha, self.s, self.beta];
        let tails = || {
            let mut out = [(0.0, [0.0; 4]); 2];
            march(p, x, &[t_x, t], &mut out);
            (out[0], out[1])
        };
        // The shares do not depend on ln Γ(r+x) − ln Γ(r), which only shifts ln L.
        row(&Params::new(p), x, t_x, t, (self.alpha + t).ln(), (self.beta + t).ln(), 0.0, 0.0, tails).2
    }
    /// `(r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^{s−1}]`: FH (2005) note, eq. (25) without
    /// its `P(alive)` factor; the `s → 1` limit is taken through `expm1`.
    fn purchases_if_alive(&self, horizon: f64, x: f64, t: f64) -> f64 {
        if !(horizon > 0.0) {
            return 0.0;
        }
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let l = (horizon / (beta + t)).ln_1p();
        let sm1 = s - 1.0;
        let frac = if sm1.abs() < 1e-12 { l } else { -(-sm1 * l).exp_m1() / sm1 };
        (r + x) * (beta + t) / (alpha + t) * frac
    }
    /// All rows' tails at once, as in the fit ([`Tails`]).
    fn p_alive_rows(&self, data: &Compressed) -> Vec<f64> {
        use rayon::prelude::*;
        let lik = Lik::new(data);
        let at = lik.at([self.r, self.alpha, self.s, self.beta], false);
        (0..data.len()).into_par_iter().map(|i| at.row(i).2).collect()
    }
    /// Closed form: with `K = (r+x)(β+T)/(α+T)` and `y = target (s−1)/(P(alive) K)`,
    /// `h = (β+T) ((1−y)^{−1/(s−1)} − 1)` (`(β+T)(e^{target/(P(alive) K)} − 1)` at `s = 1`).
    fn time_to_purchases(&self, target: f64, p_alive: f64, x: f64, t: f64, _lo: (f64, f64), hi: (f64, f64)) -> f64 {
        let k = (self.r + x) * (self.beta + t) / (self.alpha + t) * p_alive;
        let sm1 = self.s - 1.0;
        let e = if sm1.abs() < 1e-12 { target / k } else { -(-target * sm1 / k).ln_1p() / sm1 };
        let h = (self.beta + t) * e.exp_m1();
        if h.is_finite() && h > 0.0 {
            h.min(hi.0)
        } else {
            hi.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The marched tails agree with the series at every time where the series settles quickly
    /// (`z ≤ 0.95`), in both branches, for small and large `x`, tiny and huge `α/β`, and widely
    /// spaced times (many quadrature pieces).
    #[test]
    fn marched_tails_agree_with_the_series() {
        let mut rows = Vec::new();
        for x in [0u32, 1, 3, 40, 300] {
            for (tx, t) in [(0.0, 0.5), (0.0, 700.0), (1.0, 2.0), (3.0, 9.0), (10.0, 400.0), (399.0, 401.0), (0.0, 3000.0)] {
                if x > 0 || tx == 0.0 {
                    rows.push((x, tx, t, 1.0));
                }
            }
        }
        // Dense days, where most steps are short enough for the Euler–Maclaurin formula.
        for x in [1u32, 5] {
            for k in 0..300 {
                rows.push((x, k as f64, k as f64 + 1.0, 1.0));
            }
        }
        let d = Compressed::from_rows(rows);
        let tl = Tails::new(&d);
        let mut compared = 0;
        for p in [[0.55, 10.58, 0.61, 11.67], [1.3, 40.6, 1.39, 722.1], [0.8, 0.02, 2.5, 5000.0], [2.0, 3000.0, 0.3, 0.5], [0.3, 5.0, 0.05, 5.0]] {
            let got = tl.eval(p);
            for (x, range) in &tl.groups {
                for i in range.clone() {
                    let t = tl.times[i];
                    if (p[1] - p[3]).abs() / (p[1].max(p[3]) + t) > 0.95 {
                        continue;
                    }
                    compared += 1;
                    let (want, dwant) = ln_tail(p[0], p[1], p[2], p[3], *x, t);
                    let (have, dhave) = got[i];
                    assert!((have - want).abs() <= 1e-11 * want.abs().max(1.0), "p={p:?} x={x} t={t}: {have} vs {want}");
                    for k in 0..4 {
                        assert!((dhave[k] - dwant[k]).abs() <= 1e-8 * dwant[k].abs().max(1.0), "p={p:?} x={x} t={t} d{k}: {} vs {}", dhave[k], dwant[k]);
                    }
                }
            }
        }
        assert!(compared > 1000, "{compared}");
    }

    /// Where the series would need millions of terms (`z → 1`), the tails agree with adaptive
    /// the closed form `ln G(t) = −a ln(m+t) + ln ₂F₁(a, b; a+1; z) − ln a` evaluated by mpmath 1.3
    /// `hyp2f1` at 40 digits (which continues analytically near `z = 1` instead of summing).
    #[test]
    fn tails_agree_with_quadrature_where_the_series_is_slow() {
        let cases = [
            ([0.8, 0.02, 2.5, 5000.0], 0.0, 0.0, -26.915655163008111),
            ([0.8, 0.02, 2.5, 5000.0], 3.0, 1.0, -30.896339090860482),
            ([2.0, 3000.0, 0.3, 0.5], 40.0, 10.0, -336.86259956757774),
            ([0.5, 1.0, 0.7, 1e6], 3.0, 1.0, -26.135530598455036),
            ([0.5, 1.0, 0.7, 1e6], 0.0, 0.0, -15.996930210397604),
            ([1.3, 40.6, 1.39, 722.1], 1.0, 0.0, -20.989639576459191),
        ];
        for (p, x, t, want) in cases {
            let mut out = [(0.0, [0.0; 4]); 1];
            march(p, x, &[t], &mut out);
            assert!((out[0].0 - want).abs() < 1e-12 * want.abs(), "p={p:?} x={x} t={t}: {} vs {want}", out[0].0);
        }
    }

    /// The gradient agrees with central differences, in both branches (α ≥ β and α < β) and for a
    /// large `x` where the raw hypergeometric series would overflow.
    #[test]
    fn gradient_matches_finite_differences() {
        let data = Compressed { x: vec![0, 2, 7, 400], t_x: vec![0.0, 30.4, 10.0, 38.0], t: vec![38.9, 38.9, 20.0, 39.0], weight: vec![5.0, 1.0, 2.0, 1.0] };
        for p in [[0.55, 10.58, 0.61, 11.67], [0.8, 14.0, 1.3, 3.0]] {
            let m = ParetoNbd { r: p[0], alpha: p[1], s: p[2], beta: p[3] };
            let g = m.gradient(&data);
            for k in 0..4 {
                let h = 1e-6 * p[k];
                let (mut up, mut dn) = (p, p);
                up[k] += h;
                dn[k] -= h;
                let f = |q: [f64; 4]| ParetoNbd { r: q[0], alpha: q[1], s: q[2], beta: q[3] }.log_likelihood(&data);
                let num = (f(up) - f(dn)) / (2.0 * h);
                assert!((num - g[k]).abs() < 1e-5 * num.abs().max(1.0), "param {k}: {num} vs {}", g[k]);
            }
            assert!(m.log_likelihood(&data).is_finite());
        }
    }
}
