//! The full retention report of a file or a store: movement, retention and churn, cohorts, repeat
//! purchases, customer value, and the optional segments and prediction sections.

use crate::error::{Error, Result};
use crate::orders::{load_orders, ReadNotes, Source};
use crate::progress::Progress;
use crate::timing::Phases;
use crate::when::resolve_as_of;
use holdfast_core::{Calendar, Granularity};
use holdfast_report::{analyze, AnalyzeOptions, AnalyzeReport};

/// The optional parts of the report; retention is always computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections {
    pub segments: bool,
    pub prediction: bool,
    /// The learned churn risk by segment, in the segments section (`holdfast risk`'s model:
    /// about as costly as the rest of the report on large files, so its own part).
    pub risk: bool,
}

impl Sections {
    pub const ALL: Sections = Sections { segments: true, prediction: true, risk: true };
    pub const NONE: Sections = Sections { segments: false, prediction: false, risk: false };

    /// `retention`, `segments`, `prediction`, `risk` (with segments), `all`, comma-separated.
    pub fn parse(s: &str) -> Result<Sections, String> {
        let mut set = Sections::NONE;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "retention" => {}
                "segments" => set.segments = true,
                "prediction" => set.prediction = true,
                "risk" => {
                    set.segments = true;
                    set.risk = true
                }
                "all" => set = Sections::ALL,
                _ => return Err(format!("{part:?}: expected retention, segments, prediction, risk or all (comma-separated)")),
            }
        }
        Ok(set)
    }
}

/// What to report.
#[derive(Clone, Debug)]
pub struct AnalyzeRequest {
    pub as_of: Option<String>,
    /// Inactivity window W in days.
    pub window_days: u32,
    pub granularity: Granularity,
    pub sections: Sections,
}

/// Computes the report of `source` with days cut in `cal`; also what reading left out.
pub async fn analyze_report(source: &Source, cal: &Calendar, req: &AnalyzeRequest, progress: &dyn Progress) -> Result<(AnalyzeReport, ReadNotes)> {
    if req.window_days == 0 {
        return Err(Error::user("the inactivity window must be at least 1 day"));
    }
    let mut clock = Phases::from_env();
    // Order lines (products) feed only the segments section's service chains.
    let orders = load_orders(source, cal, req.sections.segments, progress).await?;
    let log = orders.log;
    clock.mark("read");
    // The learned churn risk takes the store's activity (logins, tickets, messages, feedback)
    // as `holdfast score` does; a file has none.
    let activity = match source {
        Source::Store(app) if req.sections.segments && req.sections.risk => Some(app.activity().await?),
        _ => None,
    };
    let report = report_of_log(&log, cal, &source.name(), req, activity.as_ref(), &mut clock)?;
    Ok((report, orders.notes))
}

/// The report of orders already loaded (`name`: where they came from, for the report and its
/// messages; `activity`: the workspace's, for the learned churn risk) — what [`analyze_report`]
/// computes after reading, for a front end that keeps the orders in memory (the dashboard).
pub fn report_of_log(
    log: &holdfast_core::OrderLog,
    cal: &Calendar,
    name: &str,
    req: &AnalyzeRequest,
    activity: Option<&holdfast_core::flags::Activity>,
    clock: &mut Phases,
) -> Result<AnalyzeReport> {
    if req.window_days == 0 {
        return Err(Error::user("the inactivity window must be at least 1 day"));
    }
    let as_of = resolve_as_of(req.as_of.as_deref(), log, cal, name)?;
    let opts = AnalyzeOptions { calendar: *cal, granularity: req.granularity, window_days: req.window_days, as_of, source: name.to_owned() };
    let mut report = analyze(log, &opts);
    clock.mark("metrics");
    if req.sections.segments {
        let (mut section, segs) = holdfast_report::segments::SegmentsSection::compute_keeping(log, as_of, req.window_days);
        clock.mark("segments");
        if req.sections.risk {
            // The learned churn risk by segment, where a model can be learned from this history.
            if let Ok(r) = crate::risk::risk_by_segment(log, cal, activity, &segs, as_of) {
                section.churn_risk = Some(holdfast_report::segments::ChurnRiskRows {
                    horizon_days: r.horizon_days,
                    holdout_auc: r.holdout_auc,
                    baseline_auc: r.baseline_auc,
                    segments: r.segments.iter().filter_map(|x| Some((x.segment?.key().to_owned(), x.mean_risk, x.above_half))).collect(),
                });
            }
            clock.mark("churn risk");
        }
        report.sections.segments = Some(section);
    }
    if req.sections.prediction {
        report.sections.prediction = Some(holdfast_report::prediction::PredictionSection::compute(log, cal, as_of));
        clock.mark("prediction");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_parse() {
        assert_eq!(Sections::parse("retention"), Ok(Sections::NONE));
        assert_eq!(Sections::parse("retention,segments"), Ok(Sections { segments: true, ..Sections::NONE }));
        assert_eq!(Sections::parse("prediction"), Ok(Sections { prediction: true, ..Sections::NONE }));
        assert_eq!(Sections::parse("all"), Ok(Sections::ALL));
        assert!(Sections::parse("everything").is_err());
    }
}
