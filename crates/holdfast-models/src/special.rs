//! Special functions: log-beta, log-sum-exp, Gauss hypergeometric 2F1 for 0 ≤ z < 1.

pub use statrs::function::gamma::{digamma, ln_gamma};

/// ln B(a, b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln(e^a + e^b) without overflow.
pub fn lse(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// ln of Σ e^{x_i}.
pub fn lse_all(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// ln 2F1(a, b; c; z) by the power series, for a, b, c > 0 and 0 ≤ z < 1. Terms are summed relative
/// to the running largest term so that large `a`, `b` do not overflow.
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z == 0.0 {
        return 0.0;
    }
    // log of term k: sum_{j<k} ln((a+j)(b+j)/((c+j)(1+j)) z)
    let mut ln_term = 0.0f64;
    let mut ln_sum = 0.0f64; // ln of sum so far (first term is 1)
    let lz = z.ln();
    for j in 0..200_000 {
        let jf = j as f64;
        ln_term += ((a + jf) * (b + jf) / ((c + jf) * (1.0 + jf))).ln() + lz;
        let new = lse(ln_sum, ln_term);
        if (new - ln_sum).abs() < 1e-16 && ln_term < ln_sum - 37.0 {
            return new;
        }
        ln_sum = new;
    }
    ln_sum
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hyp2f1_known() {
        // 2F1(1,1;2;z) = -ln(1-z)/z
        let z: f64 = 0.5;
        let v = ln_hyp2f1(1.0, 1.0, 2.0, z).exp();
        assert!((v - (-(1.0 - z).ln() / z)).abs() < 1e-12);
    }
}
