//! Two-sample comparisons of means: sample moments, Welch's t interval and test, and the normal,
//! t and χ² quantiles they need.
//!
//! Welch (1947), "The generalization of 'Student's' problem when several different population
//! variances are involved", Biometrika 34: the difference of means `d = ȳ_t − ȳ_c` has standard
//! error `se = √(s_t²/n_t + s_c²/n_c)` and, approximately, `d / se ~ t(ν)` with the
//! Welch–Satterthwaite degrees of freedom
//! `ν = se⁴ / ((s_t²/n_t)²/(n_t − 1) + (s_c²/n_c)²/(n_c − 1))`. The interval is `d ± t_{ν, 1−α/2}·se`
//! — what SciPy's `ttest_ind(equal_var=False).confidence_interval()` gives (checked in
//! `tests/reference.rs` against `scripts/reference/experiments.py`).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The count, mean and unbiased variance (`n − 1` in the denominator) of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    pub var: f64,
}

impl Moments {
    /// The moments of `xs`, in two passes (the mean, then the squared deviations from it), as
    /// NumPy computes them. The variance of fewer than two values is NaN.
    pub fn of(xs: &[f64]) -> Moments {
        let n = xs.len();
        if n == 0 {
            return Moments { n, mean: f64::NAN, var: f64::NAN };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = if n < 2 { f64::NAN } else { xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64 };
        Moments { n, mean, var }
    }

    /// The squared standard error of the mean, `s²/n`.
    pub fn var_of_mean(&self) -> f64 {
        self.var / self.n as f64
    }
}

/// The covariance of two samples of the same length (`n − 1` in the denominator).
pub fn covariance(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    x[..n].iter().zip(&y[..n]).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / (n - 1) as f64
}

/// A difference of means with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// The point estimate, treated − control.
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
}

impl Interval {
    /// Whether the interval lies wholly on one side of zero.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    pub fn width(&self) -> f64 {
        self.high - self.low
    }

    /// The interval mapped through an increasing linear function `a + b·x` (`b > 0`).
    pub fn map(&self, a: f64, b: f64) -> Interval {
        Interval { estimate: a + b * self.estimate, low: a + b * self.low, high: a + b * self.high, p_value: self.p_value }
    }
}

/// Welch's interval for the difference of means, with its standard error and degrees of freedom.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Welch {
    pub interval: Interval,
    pub se: f64,
    pub df: f64,
    /// The t statistic `d / se`.
    pub t: f64,
}

/// Welch's t interval at confidence `level` (e.g. 0.95) for `treated.mean − control.mean`, and
/// the two-sided test of no difference. `None` when a group has fewer than two values. When both
/// groups are constant the standard error is 0: the interval is the point and the p-value 0 or 1.
pub fn welch(treated: &Moments, control: &Moments, level: f64) -> Option<Welch> {
    if treated.n < 2 || control.n < 2 {
        return None;
    }
    let (vt, vc) = (treated.var_of_mean(), control.var_of_mean());
    let d = treated.mean - control.mean;
    let se2 = vt + vc;
    if se2.is_nan() || se2 <= 0.0 {
        let p = if d == 0.0 { 1.0 } else { 0.0 };
        return Some(Welch { interval: Interval { estimate: d, low: d, high: d, p_value: p }, se: 0.0, df: f64::INFINITY, t: f64::NAN });
    }
    let se = se2.sqrt();
    let df = se2 * se2 / (vt * vt / (treated.n - 1) as f64 + vc * vc / (control.n - 1) as f64);
    let q = t_quantile(df, 0.5 + level / 2.0);
    let t = d / se;
    let p_value = (2.0 * t_sf(df, t.abs())).min(1.0);
    Some(Welch { interval: Interval { estimate: d, low: d - q * se, high: d + q * se, p_value }, se, df, t })
}

/// The upper tail `P(T > t)` of Student's t with `df` degrees of freedom.
pub fn t_sf(df: f64, t: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) if df.is_finite() => d.sf(t),
        _ => standard_normal().sf(t),
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom, to full double precision: statrs'
/// inverse (through the inverse regularised beta function, good to about 1e-9) polished by Newton
/// steps on its CDF (accurate to about 1e-15).
pub fn t_quantile(df: f64, p: f64) -> f64 {
    let d = match StudentsT::new(0.0, 1.0, df) {
        Ok(d) if df.is_finite() && df < 1e12 => d,
        _ => return normal_quantile(p),
    };
    use statrs::distribution::Continuous;
    let mut x = d.inverse_cdf(p);
    if !x.is_finite() {
        x = normal_quantile(p);
    }
    for _ in 0..4 {
        let f = d.pdf(x);
        if f.is_nan() || f <= 0.0 {
            break;
        }
        // Newton on the tail nearer to x, for accuracy: sf(x) = 1 − p above 0, cdf(x) = p below.
        let err = if x > 0.0 { (1.0 - p) - d.sf(x) } else { d.cdf(x) - p };
        let step = err / f;
        x -= step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

fn standard_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal")
}

/// The `p` quantile of the standard normal distribution.
pub fn normal_quantile(p: f64) -> f64 {
    standard_normal().inverse_cdf(p)
}

/// The upper tail `P(χ²(df) > x)`.
pub fn chi2_sf(df: f64, x: f64) -> f64 {
    match statrs::distribution::ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Tabulated two-sided 95% critical values.
        assert!((t_quantile(1.0, 0.975) - 12.706_204_736_174_7).abs() < 1e-9);
        assert!((t_quantile(10.0, 0.975) - 2.228_138_851_986_27).abs() < 1e-12);
        assert!((t_quantile(30.0, 0.025) + 2.042_272_456_301_238).abs() < 1e-12);
        assert!((t_quantile(1e15, 0.975) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((t_sf(10.0, 2.228_138_851_986_27) - 0.025).abs() < 1e-14);
    }

    #[test]
    fn welch_by_hand() {
        // treated 1,2,3,4 (mean 2.5, s² 5/3); control 0,0,1 (mean 1/3, s² 1/3).
        let t = Moments::of(&[1.0, 2.0, 3.0, 4.0]);
        let c = Moments::of(&[0.0, 0.0, 1.0]);
        assert!((t.var - 5.0 / 3.0).abs() < 1e-15 && (c.var - 1.0 / 3.0).abs() < 1e-15);
        let w = welch(&t, &c, 0.95).unwrap();
        let (vt, vc) = (5.0 / 12.0, 1.0 / 9.0);
        let se = f64::sqrt(vt + vc);
        let df = (vt + vc) * (vt + vc) / (vt * vt / 3.0 + vc * vc / 2.0);
        assert!((w.se - se).abs() < 1e-15 && (w.df - df).abs() < 1e-12);
        assert!((w.interval.estimate - 13.0 / 6.0).abs() < 1e-15);
        assert!((w.interval.high - w.interval.estimate - t_quantile(df, 0.975) * se).abs() < 1e-12);
        assert!(welch(&Moments::of(&[1.0]), &c, 0.95).is_none());
    }

    #[test]
    fn chi2_tail() {
        assert!((chi2_sf(1.0, 3.841_458_820_694_124) - 0.05).abs() < 1e-12);
        assert!(chi2_sf(1.0, 100.0) < 1e-20);
    }
}
