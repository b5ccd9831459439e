//! The percentile bootstrap of a difference of means (Efron & Tibshirani 1993, *An Introduction
//! to the Bootstrap*, ch. 13), seeded so the same data always give the same interval.
//!
//! Each of `B` replicates draws `n_t` values with replacement from the treated group and `n_c`
//! from the control group (the groups are resampled separately, as they were assigned) and takes
//! the difference of the two means. The interval is the `α/2` and `1 − α/2` quantiles of the `B`
//! differences, interpolated linearly between order statistics (NumPy's default `linear` method:
//! the `q` quantile of sorted `x₀ ≤ … ≤ x_{B−1}` is at position `(B − 1)·q`). It assumes no shape
//! for the outcome, which suits revenue per customer: mostly zeros and a long right tail.
//!
//! Random numbers: replicate `b` uses ChaCha8 seeded with `seed` on stream `b`
//! (`rand_chacha::ChaCha8Rng::seed_from_u64(seed)` then `set_stream(b)`), and draws indices with
//! `Rng::gen_range(0..n)` on `u32`. The replicates are independent of each other and of the
//! number of threads, so they run in parallel and the answer never changes.

use crate::stats::Interval;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// How many replicates and which seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BootstrapOptions {
    /// Replicates `B` (default 2,000: the Monte Carlo error of a 95% percentile bound is then
    /// about 2% of the interval's width).
    pub replicates: u32,
    pub seed: u64,
}

/// The default seed: the bytes of "Holdfast".
pub const DEFAULT_SEED: u64 = 0x486f_6c64_6661_7374;

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions { replicates: 2_000, seed: DEFAULT_SEED }
    }
}

/// A bootstrap interval of `mean(treated) − mean(control)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bootstrap {
    /// The observed difference, the percentile bounds, and the two-sided bootstrap p-value
    /// `min(1, (2·min(#{d* ≤ 0}, #{d* ≥ 0}) + 1) / (B + 1))`: below α exactly when the
    /// `1 − α` percentile interval leaves out zero (up to the interpolation between order
    /// statistics).
    pub interval: Interval,
    /// The standard deviation of the replicates (the bootstrap standard error).
    pub se: f64,
    pub replicates: u32,
}

/// The percentile bootstrap interval at confidence `level` of the difference of means. `None`
/// when a group is empty or no replicate is asked for.
pub fn bootstrap_diff(treated: &[f64], control: &[f64], level: f64, opts: &BootstrapOptions) -> Option<Bootstrap> {
    if treated.is_empty() || control.is_empty() || opts.replicates == 0 || treated.len() > u32::MAX as usize || control.len() > u32::MAX as usize {
        return None;
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let estimate = mean(treated) - mean(control);
    let mut diffs: Vec<f64> = (0..opts.replicates)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
            rng.set_stream(b as u64);
            resampled_mean(treated, &mut rng) - resampled_mean(control, &mut rng)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    let (low, high) = (quantile_sorted(&diffs, alpha / 2.0), quantile_sorted(&diffs, 1.0 - alpha / 2.0));
    let below = diffs.partition_point(|&d| d <= 0.0);
    let above = diffs.len() - diffs.partition_point(|&d| d < 0.0);
    let b = diffs.len() as f64;
    let p_value = ((2 * below.min(above) + 1) as f64 / (b + 1.0)).min(1.0);
    let m = diffs.iter().sum::<f64>() / b;
    let se = if diffs.len() > 1 { (diffs.iter().map(|d| (d - m) * (d - m)).sum::<f64>() / (b - 1.0)).sqrt() } else { f64::NAN };
    Some(Bootstrap { interval: Interval { estimate, low, high, p_value }, se, replicates: opts.replicates })
}

fn resampled_mean(xs: &[f64], rng: &mut ChaCha8Rng) -> f64 {
    let n = xs.len() as u32;
    let mut sum = 0.0;
    for _ in 0..n {
        sum += xs[rng.gen_range(0..n) as usize];
    }
    sum / n as f64
}

/// The `q` quantile of sorted values, interpolated linearly (NumPy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&x, 0.0), 1.0);
        assert_eq!(quantile_sorted(&x, 1.0), 4.0);
        assert!((quantile_sorted(&x, 0.25) - 1.75).abs() < 1e-15);
        assert!((quantile_sorted(&x, 0.975) - 3.925).abs() < 1e-15);
    }

    #[test]
    fn seeded_and_deterministic() {
        let t: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let c: Vec<f64> = (0..40).map(|i| (i % 5) as f64).collect();
        let o = BootstrapOptions { replicates: 300, seed: 7 };
        let a = bootstrap_diff(&t, &c, 0.95, &o).unwrap();
        assert_eq!(Some(a), bootstrap_diff(&t, &c, 0.95, &o));
        assert_ne!(Some(a), bootstrap_diff(&t, &c, 0.95, &BootstrapOptions { seed: 8, ..o }));
        assert!(a.interval.low < a.interval.estimate && a.interval.estimate < a.interval.high);
        // Constant groups: every replicate is the same difference.
        let k = bootstrap_diff(&[2.0; 10], &[1.0; 10], 0.95, &o).unwrap();
        assert_eq!((k.interval.low, k.interval.high, k.interval.p_value), (1.0, 1.0, 1.0 / 301.0));
    }
}
