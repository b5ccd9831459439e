//! The value models of a customer base fitted together — a purchase model (BG/NBD or Pareto/NBD)
//! and the Gamma-Gamma spend model — under **one rule** for every caller (the report, the scoring
//! snapshot, `predict`, the dashboard):
//!
//! - a model that cannot be fitted, or whose fit did not converge, is **not used**: its
//!   predictions stay empty and [`ValueModels::notes`] says why, once;
//! - the spend model is fitted only when the summary has monetary values, and is not used when
//!   `q ≤ 1` (the expected order value does not exist then): no CLV, with the reason.

use crate::fit::{FitOptions, Fitted};
use crate::{BgNbd, Compressed, GammaGamma, ParetoNbd, PurchaseModel, Summary};
use serde::Serialize;

/// Which purchase model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseKind {
    Bgnbd,
    Pareto,
}

impl PurchaseKind {
    /// The model's name in messages.
    pub fn label(self) -> &'static str {
        match self {
            PurchaseKind::Bgnbd => "BG/NBD",
            PurchaseKind::Pareto => "Pareto/NBD",
        }
    }
}

/// What a fit found, for showing beside its predictions.
#[derive(Clone, Debug, Serialize)]
pub struct FitInfo {
    /// Short name (`bgnbd`, `pareto`, `gg`).
    pub model: &'static str,
    pub params: Vec<(&'static str, f64)>,
    pub log_likelihood: f64,
    pub customers: f64,
    pub converged: bool,
}

impl FitInfo {
    fn of<M>(model: &'static str, f: &Fitted<M>, params: Vec<(&'static str, f64)>) -> FitInfo {
        FitInfo { model, params, log_likelihood: f.log_likelihood, customers: f.customers, converged: f.converged }
    }
}

/// The fitted value models and why any is missing.
pub struct ValueModels {
    /// The purchase model, when it could be fitted and converged.
    pub purchases: Option<Box<dyn PurchaseModel + Send>>,
    /// The purchase fit's statistics (also when it did not converge).
    pub purchase_fit: Option<FitInfo>,
    /// Why there are no purchase predictions (P(alive), expected purchases, CLV).
    pub purchases_unavailable: Option<String>,
    /// The spend model, when usable.
    pub spend: Option<GammaGamma>,
    pub spend_fit: Option<FitInfo>,
    /// Why there is no CLV although there may be purchase predictions.
    pub spend_unavailable: Option<String>,
    /// Pearson correlation of purchase count and mean spend over repeat customers.
    pub frequency_spend_correlation: Option<f64>,
}

impl ValueModels {
    /// The reasons for missing predictions, in order, for printing once.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(u) = &self.purchases_unavailable {
            out.push(format!("no P(alive), expected purchases or CLV: {u}"));
        } else if let Some(u) = &self.spend_unavailable {
            out.push(format!("no CLV: {u}"));
        }
        out
    }
}

/// Fits the purchase model `kind` on `data` by the rule in the module docs: the model, or why it
/// is not used (with the fit's statistics when there was a fit that did not converge).
#[allow(clippy::type_complexity)]
pub fn fit_purchases(kind: PurchaseKind, data: &Compressed, opts: &FitOptions) -> Result<(Box<dyn PurchaseModel + Send>, FitInfo), (String, Option<FitInfo>)> {
    let fitted: Result<(Box<dyn PurchaseModel + Send>, FitInfo), _> = match kind {
        PurchaseKind::Bgnbd => BgNbd::fit(data, opts).map(|f| {
            let info = FitInfo::of("bgnbd", &f, f.model.params());
            (Box::new(f.model) as Box<dyn PurchaseModel + Send>, info)
        }),
        PurchaseKind::Pareto => ParetoNbd::fit(data, opts).map(|f| {
            let info = FitInfo::of("pareto", &f, f.model.params());
            (Box::new(f.model) as Box<dyn PurchaseModel + Send>, info)
        }),
    };
    match fitted {
        Err(e) => Err((format!("the {} model cannot be fitted on these orders ({e})", kind.label()), None)),
        Ok((_, info)) if !info.converged => Err((format!("the {} fit did not converge on these orders, so it is not used", kind.label()), Some(info))),
        Ok(ok) => Ok(ok),
    }
}

/// Fits the purchase model `kind` on `data` (the compressed `summary`) and, when the summary has
/// monetary values, the spend model, by the rule in the module docs.
pub fn fit_value_models(kind: PurchaseKind, summary: &Summary, data: &Compressed, opts: &FitOptions) -> ValueModels {
    let mut out = ValueModels {
        purchases: None,
        purchase_fit: None,
        purchases_unavailable: None,
        spend: None,
        spend_fit: None,
        spend_unavailable: None,
        frequency_spend_correlation: None,
    };
    if summary.is_empty() {
        out.purchases_unavailable = Some("no customer ordered before the as-of date".into());
        return out;
    }
    match fit_purchases(kind, data, opts) {
        Err((why, info)) => {
            out.purchases_unavailable = Some(why);
            out.purchase_fit = info;
            return out;
        }
        Ok((m, info)) => {
            out.purchases = Some(m);
            out.purchase_fit = Some(info);
        }
    }
    if !summary.has_monetary {
        out.spend_unavailable = Some("the orders have no amounts".into());
        return out;
    }
    match GammaGamma::fit(&summary.spend(), opts) {
        Err(e) => out.spend_unavailable = Some(format!("the Gamma-Gamma spend model cannot be fitted ({e})")),
        Ok(s) => {
            out.frequency_spend_correlation = s.frequency_spend_correlation;
            let g = s.fit.model;
            out.spend_fit = Some(FitInfo::of("gg", &s.fit, vec![("p", g.p), ("q", g.q), ("v", g.v)]));
            if !s.fit.converged {
                out.spend_unavailable = Some("the Gamma-Gamma spend fit did not converge on these orders, so it is not used".into());
            } else if g.q <= 1.0 {
                out.spend_unavailable = Some(format!("the Gamma-Gamma spend fit gives q = {:.3} ≤ 1, so the expected order value does not exist", g.q));
            } else {
                out.spend = Some(g);
            }
        }
    }
    out
}
