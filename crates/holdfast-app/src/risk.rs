//! Churn risk: every customer's probability of no purchase (or a cancelled subscription) within
//! the horizon, learned from the workspace's own history, with the reasons — from an orders file
//! (and an optional events file) or from the store (its orders and activity).

use crate::error::{Error, Result};
use crate::orders::{load_orders, ReadOptions, Source};
use crate::progress::Progress;
use crate::when::resolve_as_of;
use holdfast_core::flags::Activity;
use holdfast_core::Calendar;
use holdfast_risk::{RiskOptions, RiskReport};
use std::path::PathBuf;

/// What to score.
#[derive(Clone, Debug, Default)]
pub struct RiskRequest {
    /// Analysis date (a date or an RFC 3339 instant); default the day after the last order.
    pub as_of: Option<String>,
    /// Horizon in days; default chosen from the data's rhythm.
    pub horizon_days: Option<u32>,
    /// An events file (`customer_id, kind, at, properties`). Without one, a store's own events,
    /// feedback and subscriptions are used; a file source has no activity then.
    pub events_file: Option<(PathBuf, ReadOptions)>,
}

/// Learns the churn model on `source`'s history before as-of and scores every customer (days
/// cut in `cal`).
pub async fn churn_risk(source: &Source, cal: &Calendar, req: &RiskRequest, progress: &dyn Progress) -> Result<RiskReport> {
    let log = load_orders(source, cal, false, progress).await?.log;
    let as_of = resolve_as_of(req.as_of.as_deref(), &log, cal, &source.name())?;
    let activity = match (&req.events_file, source.app()) {
        (Some((path, read)), _) => Some(read_events_file(path, read, cal)?),
        (None, Some(app)) => Some(app.activity().await?),
        (None, None) => None,
    };
    progress.update("learning churn risk", 0, 0);
    let opts = RiskOptions { horizon_days: req.horizon_days, ..RiskOptions::new(as_of) };
    let report = holdfast_risk::churn_risk(&log, cal, activity.as_ref(), &opts);
    progress.finish();
    report.map_err(|e| Error::user(format!("{}: {e}", source.name())))
}

/// Reads an events file into the activity the risk model takes: the same columns and reading of
/// sentiment as `holdfast import events` (a `ticket_opened` whose properties say
/// `"sentiment": "negative"` is a negative ticket).
pub fn read_events_file(path: &std::path::Path, read: &ReadOptions, cal: &Calendar) -> Result<Activity> {
    let spec = holdfast_import::TableSpec::events();
    let mut opts = read.import_options(*cal);
    // The column map and delimiter given for the orders file do not apply to the events file.
    opts.column_map = Vec::new();
    opts.delimiter = None;
    let table = holdfast_import::read_table(path, &spec, &opts)?;
    let ix = |name: &str| spec.index(name).unwrap_or(usize::MAX);
    let err = |line: u64, col: &str, msg: &str| Error::user(format!("{}:{line}: column {col}: {msg}", path.display()));
    let mut stored = holdfast_store::Activity::default();
    for r in &table.rows {
        let text = |f: &str| r.text(ix(f)).map(str::trim).filter(|s| !s.is_empty());
        let customer = text("customer_id").ok_or_else(|| err(r.line, "customer_id", "the customer is empty"))?;
        let kind = text("kind").ok_or_else(|| err(r.line, "kind", "the event kind is empty"))?;
        let at = r.instant(ix("at")).ok_or_else(|| err(r.line, "at", "the time is empty"))?;
        stored.events.push(holdfast_store::EventRecord {
            external_id: String::new(),
            customer: customer.to_owned(),
            kind: kind.to_owned(),
            occurred_at: at,
            properties: r.json(ix("properties")).cloned().unwrap_or_else(|| serde_json::json!({})),
        });
    }
    Ok(stored.to_core())
}

/// The learned churn risk as the action queue's P(churn) (`AtRiskOptions::churn_risk`): the
/// model learned on the history before as-of (with the activity the queue reads: the store's),
/// one probability per customer of the log. Where it cannot be learned (too little history, one
/// class) every customer keeps the rhythm's own estimate.
pub fn learned_churn(cal: Calendar) -> crate::queue::ChurnRisk {
    crate::queue::ChurnRisk(std::sync::Arc::new(move |log: &holdfast_core::OrderLog, activity: Option<&Activity>, as_of: holdfast_core::Instant| {
        match holdfast_risk::churn_risk(log, &cal, activity, &RiskOptions::new(as_of)) {
            Ok(r) => {
                let by = r.by_customer();
                (0..log.n_customers()).map(|c| by.get(log.customer_id(c as holdfast_core::CustomerIdx)).map_or(f64::NAN, |x| x.risk)).collect()
            }
            Err(_) => Vec::new(),
        }
    }))
}

/// The learned churn risk by segment: the model learned on `log`'s history before as-of (with
/// `activity` where given), each segment's customers with a risk, their mean risk and how many
/// have a risk of at least one half, largest mean first; with the model's horizon and AUC. `Err`
/// says why no model could be learned (too little history, one class).
pub fn risk_by_segment(
    log: &holdfast_core::OrderLog,
    cal: &Calendar,
    activity: Option<&Activity>,
    segs: &[holdfast_core::segments::CustomerSegment],
    as_of: holdfast_core::Instant,
) -> std::result::Result<SegmentRiskReport, String> {
    let report = holdfast_risk::churn_risk(log, cal, activity, &RiskOptions::new(as_of)).map_err(|e| e.to_string())?;
    let by = report.by_customer();
    let mut rows: std::collections::BTreeMap<holdfast_core::segments::Segment, (u64, f64, u64)> = Default::default();
    for s in segs {
        if let Some(r) = by.get(log.customer_id(s.rfm.customer)).map(|c| c.risk).filter(|r| r.is_finite()) {
            let e = rows.entry(s.segment).or_default();
            e.0 += 1;
            e.1 += r;
            e.2 += (r >= 0.5) as u64;
        }
    }
    let mut out: Vec<holdfast_store::SegmentRisk> = rows
        .into_iter()
        .map(|(seg, (n, sum, above))| holdfast_store::SegmentRisk { segment: Some(seg), customers: n, mean_risk: sum / n as f64, above_half: above })
        .collect();
    out.sort_by(|a, b| b.mean_risk.total_cmp(&a.mean_risk));
    Ok(SegmentRiskReport {
        horizon_days: report.model.horizon_days,
        holdout_auc: report.model.holdout_auc,
        baseline_auc: report.model.baseline_auc,
        segments: out,
    })
}

/// The learned churn risk by segment, with the model's horizon and how well it ranks.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SegmentRiskReport {
    /// The risk is the chance of no purchase within this many days.
    pub horizon_days: i64,
    /// AUC on the holdout, and BG/NBD's expected purchases' on the same holdout.
    pub holdout_auc: Option<f64>,
    pub baseline_auc: Option<f64>,
    pub segments: Vec<holdfast_store::SegmentRisk>,
}
