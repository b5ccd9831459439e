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

/// Gauss hypergeometric function `₂F₁(a, b; c; z)` for `0 ≤ z < 1` by its power series
/// (Abramowitz & Stegun 15.1.1). Callers pass parameters for which the terms stay bounded (the
/// Euler-transformed forms used by the models); `None` when the series does not settle.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) {
        return None;
    }
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
