//! The scoring snapshot: every customer's segment, red flags, P(alive) and CLV at one as-of
//! instant, saved in the store for the places that read it (the queue, the dashboard, the engine),
//! with the queue's count of customers at risk by the same rule as `at-risk`.

use crate::error::Result;
use crate::orders::{load_orders, Source};
use crate::progress::Progress;
use crate::queue::{plan_queue, AtRiskOptions};
use crate::value::{predict_values, ValueOptions};
use crate::when::resolve_as_of;
use crate::workspace::App;
use holdfast_core::flags::{activity_flags, customer_flags, Baseline};
use holdfast_core::segments::{segment_customers, SegmentOptions};
use holdfast_core::{CustomerIdx, Instant};
use holdfast_store::Score;
use serde::Serialize;
use std::collections::HashMap;

/// What scoring did.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreReport {
    pub as_of: Instant,
    /// Customers scored (every customer with a counted order before as-of).
    pub customers: usize,
    /// Customers with at least one red flag (those of kinds that open no task here included).
    pub flagged: usize,
    /// Customers at risk: the action queue's tasks with its default options (as `at-risk`
    /// counts them), of which personal (this week, waiting, snoozed) and routed to automation.
    pub at_risk: usize,
    pub personal: usize,
    pub automation: usize,
    /// Customers with a P(alive) / a CLV.
    pub p_alive: usize,
    pub clv: usize,
    /// Customers with a learned churn risk, the model's horizon in days and its AUC on the
    /// holdout beside BG/NBD's (see `holdfast risk`); `None` when no model could be learned (the
    /// reason is in `notes`).
    pub risk: usize,
    pub risk_horizon_days: Option<i64>,
    pub risk_auc: Option<f64>,
    pub risk_baseline_auc: Option<f64>,
    /// Why P(alive) or CLV are empty, when they are.
    pub notes: Vec<String>,
}

/// Recomputes the snapshot of the app's workspace at `as_of` (default: the day after the last
/// stored order) and replaces the stored one. Days are cut in the workspace's time zone; P(alive)
/// and 12-month CLV (1% monthly discount) come from BG/NBD and Gamma-Gamma by the one rule of
/// [`holdfast_models::value`].
pub async fn score_workspace(app: &App, as_of: Option<&str>, progress: &dyn Progress) -> Result<ScoreReport> {
    let cal = app.calendar()?;
    let source = Source::Store(app.clone());
    let log = load_orders(&source, &cal, false, progress).await?.log;
    let as_of = resolve_as_of(as_of, &log, &cal, app.url())?;
    let segs = segment_customers(&log, &SegmentOptions { window_days: app.ws.window_days, ..SegmentOptions::new(as_of) });
    let values = predict_values(&log, &cal, as_of, &ValueOptions::default());
    let mut predicted: HashMap<&str, (Option<f64>, Option<i64>)> = HashMap::new();
    let per = log.currency().minor_per_major();
    for (id, p) in values.customer_ids().iter().zip(&values.predictions) {
        let clv = p.clv.filter(|v| v.is_finite()).map(|v| (v * per as f64).round() as i64);
        predicted.insert(id.as_str(), (Some(p.p_alive).filter(|v| v.is_finite()), clv));
    }
    let activity = app.activity().await?;
    // The queue's rule, with at-risk's defaults: the same count everywhere.
    let queue = AtRiskOptions::default();
    let plan = plan_queue(&log, Some(&activity), as_of, &queue, Default::default(), &[], 0, false)?;
    let base = Baseline::fit(&log, Some(&activity), as_of, queue.level);
    progress.update("learning churn risk", 0, 0);
    let mut notes = values.models.notes();
    let learned = holdfast_risk::churn_risk(&log, &cal, Some(&activity), &holdfast_risk::RiskOptions::new(as_of));
    if let Err(e) = &learned {
        notes.push(format!("churn risk not learned: {e}"));
    }
    let risks = learned.as_ref().map(|r| r.by_customer()).unwrap_or_default();
    let scores: Vec<Score> = segs
        .iter()
        .map(|s| {
            let c: CustomerIdx = s.rfm.customer;
            let id = log.customer_id(c);
            let mut flags = customer_flags(&log, c, &base);
            if let Some(a) = activity.get(id) {
                flags.extend(activity_flags(a, &base, per));
            }
            let (p_alive, clv) = predicted.get(id).copied().unwrap_or((None, None));
            let risk = risks.get(id);
            Score {
                customer: id.to_owned(),
                segment: Some(s.segment),
                p_alive,
                clv,
                flags: flags.iter().map(|f| f.kind).collect(),
                computed_at: as_of,
                risk: risk.map(|r| r.risk).filter(|r| r.is_finite()),
                risk_reasons: risk.map(|r| r.reasons.iter().take(3).map(score_reason).collect()).unwrap_or_default(),
            }
        })
        .collect();
    app.store.replace_scores(app.ws.id, &scores).await?;
    Ok(ScoreReport {
        as_of,
        customers: scores.len(),
        flagged: scores.iter().filter(|s| !s.flags.is_empty()).count(),
        at_risk: plan.total,
        personal: plan.personal(),
        automation: plan.automation,
        p_alive: scores.iter().filter(|s| s.p_alive.is_some()).count(),
        clv: scores.iter().filter(|s| s.clv.is_some()).count(),
        risk: scores.iter().filter(|s| s.risk.is_some()).count(),
        risk_horizon_days: learned.as_ref().ok().map(|r| r.model.horizon_days),
        risk_auc: learned.as_ref().ok().and_then(|r| r.model.holdout_auc),
        risk_baseline_auc: learned.as_ref().ok().and_then(|r| r.model.baseline_auc),
        notes,
    })
}

/// A reason of the learned risk as the snapshot keeps it, in both languages.
fn score_reason(r: &holdfast_risk::Reason) -> holdfast_store::ScoreReason {
    holdfast_store::ScoreReason {
        feature: r.feature.as_str().to_owned(),
        value: r.value,
        contribution: r.contribution,
        explanation: r.explanation(holdfast_risk::Lang::En).to_owned(),
        explanation_ru: r.explanation(holdfast_risk::Lang::Ru).to_owned(),
    }
}
