//! The minimum detectable effect: before a campaign starts, the smallest true difference in an
//! outcome's mean it would detect with the usual power, given how many customers it reaches, the
//! share held out as control and the outcome's spread.
//!
//! For a two-sided test at level `α` with power `1 − β`, treated `n_t = N·(1 − h)` and control
//! `n_c = N·h` customers and outcome standard deviation `σ` (the same in both groups):
//! `MDE = (z_{1−α/2} + z_{1−β}) · σ · √(1/n_t + 1/n_c)` (the normal approximation of e.g. Kohavi,
//! Tang & Xu 2020, ch. 17). With `α = 0.05` and power 0.8 the factor is `1.95996 + 0.84162 = 2.8016`.
//! For conversion `σ = √(p(1 − p))` at the baseline rate `p`.

use crate::stats::normal_quantile;
use serde::Serialize;

/// The level and power experiments are planned for.
pub const ALPHA: f64 = 0.05;
pub const POWER: f64 = 0.8;

/// The MDE of a comparison of means (in the outcome's units). `None` when either group would be
/// empty or `sd` is not a finite non-negative number.
pub fn mde(treated: f64, control: f64, sd: f64, alpha: f64, power: f64) -> Option<f64> {
    if !(treated >= 1.0 && control >= 1.0 && sd >= 0.0 && sd.is_finite()) {
        return None;
    }
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    Some(z * sd * (1.0 / treated + 1.0 / control).sqrt())
}

/// An experiment planned before it starts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The outcome: `conversion` or `revenue` (per customer, zeros included).
    pub metric: String,
    pub audience: u64,
    /// The control share `h`.
    pub holdout: f64,
    pub treated: u64,
    pub control: u64,
    /// The outcome's mean and standard deviation per customer without the campaign (revenue in
    /// major units).
    pub baseline_mean: f64,
    pub baseline_sd: f64,
    pub alpha: f64,
    pub power: f64,
    /// The minimum detectable difference in the mean, absolute (a share for conversion, major
    /// units for revenue) and relative to the baseline mean (`null` when that is 0).
    pub mde: f64,
    pub mde_relative: Option<f64>,
    /// The extra revenue over the whole treated group the MDE amounts to (revenue only).
    pub mde_total: Option<f64>,
}

/// Plans an experiment over `audience` customers with control share `holdout` (0 < h < 1).
pub fn plan(metric: &str, audience: u64, holdout: f64, baseline_mean: f64, baseline_sd: f64) -> Option<Plan> {
    if !(holdout > 0.0 && holdout < 1.0) {
        return None;
    }
    let control = (audience as f64 * holdout).round() as u64;
    let treated = audience.saturating_sub(control);
    let m = mde(treated as f64, control as f64, baseline_sd, ALPHA, POWER)?;
    Some(Plan {
        metric: metric.to_owned(),
        audience,
        holdout,
        treated,
        control,
        baseline_mean,
        baseline_sd,
        alpha: ALPHA,
        power: POWER,
        mde: m,
        mde_relative: (baseline_mean != 0.0).then(|| m / baseline_mean),
        mde_total: (metric == "revenue").then_some(m * treated as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_numbers() {
        // 10,000 customers, 10% held out, conversion 10%: σ = 0.3,
        // MDE = 2.8016·0.3·√(1/9000 + 1/1000) = 0.02802.
        let p = plan("conversion", 10_000, 0.1, 0.1, 0.3).unwrap();
        assert_eq!((p.treated, p.control), (9_000, 1_000));
        let expected = (1.959_963_984_540_054 + 0.841_621_233_572_914_3) * 0.3 * (1.0f64 / 9000.0 + 1.0 / 1000.0).sqrt();
        assert!((p.mde - expected).abs() < 1e-9, "{}", p.mde);
        assert!((p.mde_relative.unwrap() - expected / 0.1).abs() < 1e-9);
        assert!(plan("revenue", 100, 0.0, 1.0, 1.0).is_none());
    }
}
