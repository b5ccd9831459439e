//! Special functions on the log scale: `ln Γ`, digamma, log-sum-exp and the Gauss
//! hypergeometric series used by the predictions.

pub use statrs::function::gamma::{digamma, ln_gamma};

/// `ln B(a, b)`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `ln(e^a + e^b)` without overflow.
pub fn lse(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// `ln Γ(c + x) − ln Γ(c)` and `ψ(c + x) − ψ(c)` for every integer `x` in `0..=max_x`, by
/// the recurrence `Γ(c + k + 1) = (c + k) Γ(c + k)` — exact, and much cheaper than calling
/// `ln Γ` per row.
pub fn rising_tables(c: f64, max_x: usize, ln_out: &mut Vec<f64>, psi_out: &mut Vec<f64>) {
    ln_out.clear();
    psi_out.clear();
    if max_x < 64 {
        let (mut l, mut p) = (0.0, 0.0);
        for k in 0..=max_x {
            ln_out.push(l);
            psi_out.push(p);
            l += (c + k as f64).ln();
            p += 1.0 / (c + k as f64);
        }
    } else {
        // Summing thousands of terms loses digits; use the functions beyond the first values.
        let (l0, p0) = (ln_gamma(c), digamma(c));
        for k in 0..=max_x {
            let ck = c + k as f64;
            ln_out.push(ln_gamma(ck) - l0);
            psi_out.push(digamma(ck) - p0);
        }
    }
}

/// Gauss hypergeometric function `₂F₁(a, b; c; z)` for `0 ≤ z < 1`: its power series (Abramowitz
/// & Stegun 15.1.1) up to `z = 0.9`; beyond, where the series needs about `37 / (1 − z)` terms (a
/// prediction decades past the data), the linear transformation to `1 − z` (A&S 15.3.6), whose two
/// series settle in a few dozen terms — unless `c − a − b` is within 10⁻⁶ of an integer, where
/// that transformation is singular and the power series is summed. Callers pass parameters for
/// which the terms stay bounded (the Euler-transformed forms used by the models); `None` when
/// neither settles.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) {
        return None;
    }
    let d = c - a - b;
    if z > 0.9 && (d - d.round()).abs() > 1e-6 {
        if let Some(v) = hyp2f1_near_one(a, b, c, d, 1.0 - z) {
            return Some(v);
        }
    }
    hyp2f1_series(a, b, c, z)
}

/// A&S 15.3.6 with `w = 1 − z` and `d = c − a − b` not an integer:
/// `Γ(c)Γ(d)/(Γ(c−a)Γ(c−b)) F(a, b; 1−d; w) + w^d Γ(c)Γ(−d)/(Γ(a)Γ(b)) F(c−a, c−b; 1+d; w)`,
/// the gamma ratios on the log scale with their signs.
fn hyp2f1_near_one(a: f64, b: f64, c: f64, d: f64, w: f64) -> Option<f64> {
    let g = |x: f64| ln_gamma_signed(x);
    let ratio = |num: [f64; 2], den: [f64; 2]| -> Option<f64> {
        let parts = [g(num[0])?, g(num[1])?, g(den[0])?, g(den[1])?];
        let ln = parts[0].0 + parts[1].0 - parts[2].0 - parts[3].0;
        let sign = parts[0].1 * parts[1].1 * parts[2].1 * parts[3].1;
        Some(sign * ln.exp())
    };
    let first = ratio([c, d], [c - a, c - b])? * hyp2f1_series(a, b, 1.0 - d, w)?;
    let second = w.powf(d) * ratio([c, -d], [a, b])? * hyp2f1_series(c - a, c - b, 1.0 + d, w)?;
    let v = first + second;
    // Cancellation of two large terms leaves no digits worth having: use the series instead.
    (v.is_finite() && v.abs() >= 1e-8 * first.abs().max(second.abs())).then_some(v)
}

/// `(ln |Γ(x)|, sign Γ(x))`, by reflection for `x < 0.5`; `None` at the poles.
fn ln_gamma_signed(x: f64) -> Option<(f64, f64)> {
    if x >= 0.5 {
        return Some((ln_gamma(x), 1.0));
    }
    let s = (std::f64::consts::PI * x).sin();
    if s.abs() < 1e-300 || x == x.round() {
        return None;
    }
    // Γ(x) = π / (sin(πx) Γ(1 − x)), Γ(1 − x) > 0.
    Some((std::f64::consts::PI.ln() - s.abs().ln() - ln_gamma(1.0 - x), s.signum()))
}

/// The power series of `₂F₁(a, b; c; z)`; `None` when it does not settle in 200,000 terms.
fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..200_000u32 {
        let nf = n as f64;
        term *= (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-16 * sum.abs() && n > 2 {
            return sum.is_finite().then_some(sum);
        }
        if !term.is_finite() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = −ln(1 − z)/z.
        let z = 0.7;
        assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() - (-(1.0f64 - z).ln() / z)).abs() < 1e-12);
        // 2F1(a, b; b; z) = (1 − z)^(−a).
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.3).unwrap() - 0.7f64.powf(-2.5)).abs() < 1e-12);
    }

    #[test]
    fn hyp2f1_near_one_agrees_with_the_series() {
        // Parameters of the BG/NBD and Pareto/NBD forms (CDNOW-like fits and others), where the
        // plain series still settles (z ≤ 0.999): the transformed value agrees to 1e-9.
        for &(a, b, c) in &[(1.31, -0.21, 3.55), (0.55, 2.1, 4.75), (3.2, 0.4, 2.9), (2.5, 1.5, 3.7), (10.6, 1.79, 14.2), (0.3, 0.6, 1.25)] {
            for z in [0.91, 0.95, 0.99, 0.999] {
                let fast = hyp2f1(a, b, c, z).unwrap();
                let slow = hyp2f1_series(a, b, c, z).unwrap();
                assert!((fast - slow).abs() <= 1e-9 * slow.abs().max(1.0), "2F1({a}, {b}; {c}; {z}) = {fast} vs series {slow}");
            }
        }
        // 2F1(1, 1; 2; z) = −ln(1 − z)/z close to 1 (c − a − b = 0: the series is used).
        let z = 0.999;
        assert!((hyp2f1(1.0, 1.0, 2.0, z).unwrap() - (-(1.0f64 - z).ln() / z)).abs() < 1e-9);
        // Gauss: 2F1(a, b; c; 1) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) when c − a − b > 0 — reached far
        // closer to 1 than the series could go.
        let (a, b, c) = (0.5, 0.7, 2.5);
        let gauss = (ln_gamma(c) + ln_gamma(c - a - b) - ln_gamma(c - a) - ln_gamma(c - b)).exp();
        assert!((hyp2f1(a, b, c, 1.0 - 1e-12).unwrap() - gauss).abs() < 1e-9 * gauss);
    }

    #[test]
    fn rising_tables_agree_with_ln_gamma() {
        let (mut l, mut p) = (Vec::new(), Vec::new());
        for max in [10usize, 100] {
            rising_tables(0.37, max, &mut l, &mut p);
            for x in [0usize, 1, 7, 10] {
                assert!((l[x] - (ln_gamma(0.37 + x as f64) - ln_gamma(0.37))).abs() < 1e-9);
                assert!((p[x] - (digamma(0.37 + x as f64) - digamma(0.37))).abs() < 1e-9);
            }
        }
    }
}
