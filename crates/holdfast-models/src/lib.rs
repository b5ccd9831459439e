//! # holdfast-models
//!
//! The probability models of customer-base analysis: who is still alive, how much each customer
//! will buy, what each is worth. Pure: no I/O, no clock; input is an RFM summary (or survivor
//! counts), output is parameters and per-customer predictions. Every formula cites its paper and
//! equation beside the code, and every model is tested against its published fit.
//!
//! ## Brief overview
//! - [`summary`]: [`Summary`] (per customer `x, t_x, T, m` in days or weeks) from an
//!   `OrderLog` at a calibration end — several orders on one local day are one purchase occasion —
//!   or from the `frequency,recency,T,monetary_value` CSV that lifetimes, BTYD and PyMC-Marketing
//!   use; [`Compressed`] holds the distinct `(x, t_x, T)` rows with weights that fits iterate over.
//! - Purchase models, one module each, all implementing [`PurchaseModel`]: [`BgNbd`] (Fader,
//!   Hardie & Lee 2005), [`ParetoNbd`] (Schmittlein, Morrison & Colombo 1987; numerically stable
//!   for large `x` and `T`), [`MbgNbd`] (Batislam, Denizel & Filiztekin 2007).
//! - [`GammaGamma`]: spend per order (Fader, Hardie & Lee 2005), with the frequency–spend
//!   correlation that tells whether its independence assumption holds.
//! - Contractual and discrete-time models: [`Sbg`] (Fader & Hardie 2007: retention curve,
//!   projected survival, discounted expected residual lifetime) and [`BgBb`] (Fader, Hardie & Shang
//!   2010).
//! - [`fit`]: maximum likelihood on log-parameters with analytic gradients and an own L-BFGS
//!   ([`optim`]), several starting points, a convergence flag, an optional L2 penalizer like
//!   lifetimes'; [`FitError`] when the data cannot identify a model — never NaN parameters.
//! - [`clv`]: per-customer predictions — P(alive), expected purchases, expected next order,
//!   expected order value, CLV by the discounted-cash-flow formula of Fader, Hardie & Lee (2005).
//! - [`value`]: [`fit_value_models`] fits the purchase and spend models together under one rule
//!   for a fit that cannot be made or did not converge (not used, with the reason).
//! - [`check`]: calibration/holdout validation — per-customer predicted vs actual, the tracking
//!   plot and the conditional-expectation plot, as data.
//!
//! Reading files, printing and charts are left to `holdfast-cli` and `holdfast-report`; the
//! descriptive metrics to `holdfast-core`.

pub mod bgbb;
pub mod bgnbd;
pub mod check;
pub mod clv;
mod csvtext;
pub mod fit;
pub mod gamma_gamma;
pub mod mbgnbd;
pub mod optim;
pub mod pareto_nbd;
pub mod sbg;
pub mod special;
pub mod summary;
pub mod value;

pub use bgbb::{BgBb, BgBbData};
pub use bgnbd::BgNbd;
pub use clv::{alive_and_purchases, predict_customers, CustomerPrediction, PredictOptions};
pub use csvtext::CsvError;
pub use fit::{FitError, FitOptions, Fitted};
pub use gamma_gamma::{GammaGamma, SpendFit};
pub use mbgnbd::MbgNbd;
pub use pareto_nbd::ParetoNbd;
pub use sbg::{parse_survival_csv, Sbg};
pub use summary::{Compressed, Occasions, RfmRow, Summary, TimeUnit};
pub use value::{fit_purchases, fit_value_models, FitInfo, PurchaseKind, ValueModels};

/// What every purchase model answers about a customer with summary `(x, t_x, T)`.
pub trait PurchaseModel: Sync {
    /// Short name as on the command line (`bgnbd`, `pareto`, `mbgnbd`).
    fn name(&self) -> &'static str;
    /// Parameters by their names in `MODELS.md`.
    fn params(&self) -> Vec<(&'static str, f64)>;
    /// Probability the customer is still alive at `T`.
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64;
    /// Expected purchases in `(T, T + horizon]` of a customer who is alive at `T` (does not
    /// depend on `t_x`). Every model here factors its conditional expectation as
    /// `E[Y(horizon) | x, t_x, T] = P(alive) · purchases_if_alive(horizon, x, T)`.
    fn purchases_if_alive(&self, horizon: f64, x: f64, t: f64) -> f64;
    /// Expected purchases in `(T, T + horizon]`. At `x = t_x = T = 0` this is the expected
    /// number of repeat purchases in the first `horizon` after a first purchase, `E[X(t)]`.
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        if !(horizon > 0.0) {
            return 0.0;
        }
        self.p_alive(x, t_x, t) * self.purchases_if_alive(horizon, x, t)
    }
    /// `P(alive)` of every row of `data`, in order. Models whose `P(alive)` shares work between
    /// rows override it.
    fn p_alive_rows(&self, data: &Compressed) -> Vec<f64> {
        use rayon::prelude::*;
        (0..data.len())
            .into_par_iter()
            .map(|i| self.p_alive(data.x[i] as f64, data.t_x[i], data.t[i]))
            .collect()
    }
    /// The time `h` in `(lo, hi]` at which `p_alive · purchases_if_alive(h, x, T)` reaches
    /// `target`, given that it is below at `lo` and reached at `hi` (the expectation grows with
    /// `h`). By default the Illinois variant of regula falsi to `1e-9 · hi`; models with a closed
    /// form override it.
    fn time_to_purchases(
        &self,
        target: f64,
        p_alive: f64,
        x: f64,
        t: f64,
        lo: (f64, f64),
        hi: (f64, f64),
    ) -> f64 {
        let f = |h: f64| p_alive * self.purchases_if_alive(h, x, t) - target;
        let (mut a, mut fa) = (lo.0, lo.1 - target);
        let (mut b, mut fb) = (hi.0, hi.1 - target);
        let mut side = 0;
        for _ in 0..100 {
            if !(fb - fa > 0.0) || b - a <= 1e-9 * hi.0 {
                break;
            }
            let c = b - fb * (b - a) / (fb - fa);
            let c = if c > a && c < b { c } else { 0.5 * (a + b) };
            let fc = f(c);
            if !fc.is_finite() {
                break;
            }
            if fc >= 0.0 {
                (b, fb) = (c, fc);
                if side == 1 {
                    fa *= 0.5;
                }
                side = 1;
            } else {
                (a, fa) = (c, fc);
                if side == -1 {
                    fb *= 0.5;
                }
                side = -1;
            }
            if fc.abs() <= 1e-13 * target.abs() {
                return c;
            }
        }
        b
    }
}
