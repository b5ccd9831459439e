//! L2-regularised logistic regression by Newton's method (iteratively reweighted least squares),
//! Platt calibration, and the standardisation that makes one penalty fit every feature.
//!
//! Model: `P(y = 1 | x) = σ(b₀ + Σⱼ bⱼ xⱼ)`, `σ(z) = 1 / (1 + e^{−z})`. The fit maximises the
//! penalised log-likelihood `Σᵢ [yᵢ ln pᵢ + (1 − yᵢ) ln(1 − pᵢ)] − λ/2 Σⱼ bⱼ²` (the intercept is
//! not penalised). Its gradient is `Σᵢ (yᵢ − pᵢ) x̃ᵢ − λ b` and its Hessian `−(X̃ᵀ W X̃ + λ I)`
//! with `W = diag(pᵢ (1 − pᵢ))`, `x̃ = (1, x)`; each Newton step solves `(X̃ᵀ W X̃ + λ I) Δ = g`
//! by Cholesky and is halved until the objective does not fall. The objective is concave, so the
//! answer does not depend on the start (zeros).

use serde::Serialize;

/// A fitted logistic regression on the raw inputs it was given.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Logistic {
    pub intercept: f64,
    pub coef: Vec<f64>,
    pub iterations: usize,
}

/// `σ(z)`, stable for large `|z|`.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Logistic {
    /// The log-odds of a row.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(x).map(|(b, v)| b * v).sum::<f64>()
    }

    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.logit(x))
    }
}

/// Why a fit gave no model.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no rows to fit on")]
    Empty,
    #[error("every row has the same label, so nothing tells the two apart")]
    OneClass,
    #[error("the fit did not converge in {0} Newton steps")]
    NoConvergence(usize),
    #[error("the equations of the fit are singular (a feature without variation and no penalty)")]
    Singular,
}

/// Fits `y ~ σ(b₀ + x·b)` on `rows` (row-major, `p` inputs each) with penalty `lambda`.
pub fn fit(x: &[f64], p: usize, y: &[bool], lambda: f64) -> Result<Logistic, FitError> {
    let n = y.len();
    if n == 0 || x.len() != n * p {
        return Err(FitError::Empty);
    }
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(FitError::OneClass);
    }
    let k = p + 1;
    let mut b = vec![0.0; k];
    let objective = |b: &[f64]| -> f64 {
        let mut ll = 0.0;
        for i in 0..n {
            let z = b[0] + (0..p).map(|j| b[j + 1] * x[i * p + j]).sum::<f64>();
            // ln σ(z) = −ln(1 + e^{−z}); ln(1 − σ(z)) = −ln(1 + e^{z}).
            ll -= if y[i] { softplus(-z) } else { softplus(z) };
        }
        ll - 0.5 * lambda * b[1..].iter().map(|v| v * v).sum::<f64>()
    };
    let mut f = objective(&b);
    const MAX_STEPS: usize = 100;
    for it in 1..=MAX_STEPS {
        let mut g = vec![0.0; k];
        let mut h = vec![0.0; k * k];
        let mut row = vec![0.0; k];
        for i in 0..n {
            row[0] = 1.0;
            row[1..].copy_from_slice(&x[i * p..(i + 1) * p]);
            let mu = sigmoid(row.iter().zip(&b).map(|(a, c)| a * c).sum());
            let w = mu * (1.0 - mu);
            let r = f64::from(u8::from(y[i])) - mu;
            for a in 0..k {
                g[a] += r * row[a];
                let wa = w * row[a];
                for c in 0..=a {
                    h[a * k + c] += wa * row[c];
                }
            }
        }
        for a in 1..k {
            g[a] -= lambda * b[a];
            h[a * k + a] += lambda;
        }
        for a in 0..k {
            for c in 0..a {
                h[c * k + a] = h[a * k + c];
            }
        }
        let step = solve_spd(&mut h, &g, k).ok_or(FitError::Singular)?;
        let mut t = 1.0;
        let mut next;
        loop {
            next = b.iter().zip(&step).map(|(v, d)| v + t * d).collect::<Vec<f64>>();
            let fn_ = objective(&next);
            if fn_ >= f - 1e-12 * f.abs().max(1.0) || t < 1e-6 {
                f = fn_.max(f);
                break;
            }
            t *= 0.5;
        }
        let moved = step.iter().map(|d| (t * d).abs()).fold(0.0, f64::max);
        b = next;
        if moved < 1e-9 {
            return Ok(Logistic { intercept: b[0], coef: b[1..].to_vec(), iterations: it });
        }
    }
    Err(FitError::NoConvergence(MAX_STEPS))
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Solves `A v = g` for a symmetric positive definite `k × k` matrix `a` (overwritten by its
/// Cholesky factor); `None` when it is not positive definite.
fn solve_spd(a: &mut [f64], g: &[f64], k: usize) -> Option<Vec<f64>> {
    for j in 0..k {
        let mut d = a[j * k + j];
        for m in 0..j {
            d -= a[j * k + m] * a[j * k + m];
        }
        if !(d > 1e-14) {
            return None;
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for m in 0..j {
                s -= a[i * k + m] * a[j * k + m];
            }
            a[i * k + j] = s / d;
        }
    }
    let mut v = g.to_vec();
    for i in 0..k {
        for m in 0..i {
            v[i] -= a[i * k + m] * v[m];
        }
        v[i] /= a[i * k + i];
    }
    for i in (0..k).rev() {
        for m in i + 1..k {
            v[i] -= a[m * k + i] * v[m];
        }
        v[i] /= a[i * k + i];
    }
    Some(v)
}

/// Means and standard deviations of columns, to put every input on one scale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

impl Scaler {
    /// Of the `p` columns of `x` (row-major).
    pub fn of(x: &[f64], p: usize) -> Scaler {
        let n = (x.len() / p.max(1)).max(1) as f64;
        let mut mean = vec![0.0; p];
        for row in x.chunks_exact(p) {
            for j in 0..p {
                mean[j] += row[j] / n;
            }
        }
        let mut sd = vec![0.0; p];
        for row in x.chunks_exact(p) {
            for j in 0..p {
                sd[j] += (row[j] - mean[j]).powi(2) / n;
            }
        }
        Scaler { mean, sd: sd.into_iter().map(f64::sqrt).collect() }
    }

    /// `(x − mean) / sd` of one row, in place.
    pub fn apply(&self, row: &mut [f64]) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - self.mean[j]) / self.sd[j];
        }
    }
}

/// Platt scaling (Platt 1999): `P = σ(a·s + c)` on a model's log-odds `s`, fitted by logistic
/// regression on a validation set the model did not learn from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Platt {
    pub a: f64,
    pub c: f64,
}

impl Platt {
    /// A penalty too small to move a well-posed fit keeps a perfectly separating validation set
    /// from sending the slope to infinity.
    pub const PENALTY: f64 = 1e-3;

    pub fn fit(logits: &[f64], y: &[bool]) -> Result<Platt, FitError> {
        let m = fit(logits, 1, y, Self::PENALTY)?;
        Ok(Platt { a: m.coef[0], c: m.intercept })
    }

    pub fn apply(&self, logit: f64) -> f64 {
        sigmoid(self.a * logit + self.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One binary input, no penalty: the fit reproduces the two groups' rates. At x = 0 one of
    /// four is positive (log-odds ln(1/3)); at x = 1 three of four (ln 3): b₀ = −ln 3,
    /// b₁ = ln 3 − (−ln 3) = 2 ln 3.
    #[test]
    fn two_groups_are_fitted_exactly() {
        let x = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let y = [true, false, false, false, true, true, true, false];
        let m = fit(&x, 1, &y, 0.0).unwrap();
        let ln3 = 3f64.ln();
        assert!((m.intercept + ln3).abs() < 1e-9, "{m:?}");
        assert!((m.coef[0] - 2.0 * ln3).abs() < 1e-9, "{m:?}");
        assert!((m.predict(&[1.0]) - 0.75).abs() < 1e-9);
    }

    /// With a penalty the optimum satisfies the first-order conditions Σ (y − p) = 0 (intercept,
    /// unpenalised) and Σ (y − p) xⱼ = λ bⱼ, and the slope shrinks toward 0.
    #[test]
    fn the_penalty_shrinks_and_the_optimum_is_stationary() {
        let x = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0];
        let y = [true, false, false, false, true, true, true, false, true, true];
        let free = fit(&x, 1, &y, 0.0).unwrap();
        let lambda = 2.0;
        let m = fit(&x, 1, &y, lambda).unwrap();
        let r: Vec<f64> = x.iter().zip(&y).map(|(&xi, &yi)| f64::from(u8::from(yi)) - m.predict(&[xi])).collect();
        assert!(r.iter().sum::<f64>().abs() < 1e-9);
        let g: f64 = r.iter().zip(&x).map(|(ri, xi)| ri * xi).sum();
        assert!((g - lambda * m.coef[0]).abs() < 1e-9, "{g} vs {}", lambda * m.coef[0]);
        assert!(m.coef[0] > 0.0 && m.coef[0] < free.coef[0]);
    }

    #[test]
    fn one_class_and_separable_data() {
        assert_eq!(fit(&[0.0, 1.0], 1, &[true, true], 1.0), Err(FitError::OneClass));
        // Perfectly separable: without a penalty the slope runs off; with one it stays finite.
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [false, false, true, true];
        assert!(fit(&x, 1, &y, 0.0).is_err());
        let m = fit(&x, 1, &y, 0.1).unwrap();
        assert!(m.coef[0].is_finite() && m.coef[0] > 1.0);
    }

    /// Platt on log-odds 0 (one of two positive) and 2 (four of five): σ(c) = ½ and
    /// σ(2a + c) = ⅘ give c = 0, a = ln(4) / 2 = ln 2 (the tiny penalty moves them by < 1e-3).
    #[test]
    fn platt_recovers_the_hand_computed_map() {
        let s = [0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        let y = [true, false, true, true, true, true, false];
        let p = Platt::fit(&s, &y).unwrap();
        assert!((p.a - 2f64.ln()).abs() < 1e-3, "{p:?}");
        assert!(p.c.abs() < 1e-3, "{p:?}");
        assert!((p.apply(2.0) - 0.8).abs() < 1e-3);
    }

    #[test]
    fn scaler_standardises() {
        let x = [1.0, 10.0, 3.0, 10.0];
        let s = Scaler::of(&x, 2);
        assert_eq!(s.mean, [2.0, 10.0]);
        assert_eq!(s.sd, [1.0, 0.0]);
        let mut row = [3.0, 7.0];
        Scaler { mean: vec![2.0, 1.0], sd: vec![1.0, 2.0] }.apply(&mut row);
        assert_eq!(row, [1.0, 3.0]);
    }
}
