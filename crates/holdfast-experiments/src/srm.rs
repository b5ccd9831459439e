//! The sample-ratio-mismatch check: did the groups come out the sizes the plan said?
//!
//! Pearson's χ² goodness-of-fit of the observed group sizes `O_g` against `E_g = n·share_g`:
//! `χ² = Σ (O_g − E_g)² / E_g` with `k − 1` degrees of freedom. A mismatch means the assignment
//! or the data lost or added customers unevenly (a broken randomiser, a filter applied after
//! assignment, bounced messages dropped from one group…), so no difference between the groups can
//! be trusted. Holdfast blocks the verdict when `p <` [`SRM_ALPHA`] = 0.001: strict enough that a
//! healthy experiment is blocked once in a thousand, and a 50/50 plan observed as 55/45 at
//! n = 10,000 (`χ² = 100`, `p ≈ 1.5·10⁻²³`) is blocked for certain (Kohavi, Tang & Xu 2020,
//! *Trustworthy Online Controlled Experiments*, ch. 21, use thresholds of this order).

use crate::stats::chi2_sf;
use serde::Serialize;

/// Below this p-value the group sizes do not match the plan and the verdict is withheld.
pub const SRM_ALPHA: f64 = 0.001;

/// The check of one experiment's group sizes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Srm {
    /// The planned shares, normalised to sum to 1, in the groups' order.
    pub planned: Vec<f64>,
    pub observed: Vec<u64>,
    pub expected: Vec<f64>,
    pub chi2: f64,
    pub df: usize,
    pub p_value: f64,
    /// `p_value >= SRM_ALPHA`.
    pub passed: bool,
}

/// Checks `observed` group sizes against `planned` shares (any positive weights; normalised).
/// `None` when the lengths differ, there are fewer than two groups, no customers, or a share is
/// negative or all are zero. A group planned at 0 that has customers fails outright.
pub fn srm(observed: &[u64], planned: &[f64]) -> Option<Srm> {
    if observed.len() != planned.len() || observed.len() < 2 || planned.iter().any(|s| s.is_nan() || *s < 0.0) {
        return None;
    }
    let total: f64 = planned.iter().sum();
    let n: u64 = observed.iter().sum();
    if total.is_nan() || total <= 0.0 || n == 0 {
        return None;
    }
    let shares: Vec<f64> = planned.iter().map(|s| s / total).collect();
    let expected: Vec<f64> = shares.iter().map(|s| s * n as f64).collect();
    let mut chi2 = 0.0;
    let mut impossible = false;
    for (o, e) in observed.iter().zip(&expected) {
        if *e == 0.0 {
            impossible |= *o > 0;
            continue;
        }
        chi2 += (*o as f64 - e).powi(2) / e;
    }
    let df = shares.iter().filter(|s| **s > 0.0).count().saturating_sub(1).max(1);
    let p_value = if impossible { 0.0 } else { chi2_sf(df as f64, chi2) };
    Some(Srm { planned: shares, observed: observed.to_vec(), expected, chi2, df, p_value, passed: p_value >= SRM_ALPHA })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_mismatch_is_caught() {
        let s = srm(&[5_500, 4_500], &[0.5, 0.5]).unwrap();
        assert!((s.chi2 - 100.0).abs() < 1e-9);
        assert!(s.p_value < 1e-20 && !s.passed);
        let ok = srm(&[5_030, 4_970], &[1.0, 1.0]).unwrap();
        assert!(ok.passed && (ok.chi2 - 0.36).abs() < 1e-9);
        // 90/10 planned, three groups, one planned at zero.
        assert!(srm(&[905, 95], &[0.9, 0.1]).unwrap().passed);
        assert!(!srm(&[900, 90, 10], &[0.9, 0.1, 0.0]).unwrap().passed);
        assert!(srm(&[1, 2], &[0.5]).is_none());
    }
}
