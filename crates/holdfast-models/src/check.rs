//! Model checking on a calibration/holdout split (Fader, Hardie & Lee 2005, §4 and figs. 2–4):
//! fit on the orders up to a calibration end, then compare with what happened in the holdout —
//! per customer, in aggregate week by week (the tracking plot), and grouped by calibration
//! frequency (the conditional-expectation plot).

use crate::summary::{date_of_day, day_number, Occasions, Summary, TimeUnit};
use crate::PurchaseModel;
use chrono::NaiveDate;
use serde::Serialize;

/// One customer's predicted and actual repeat purchases in the holdout.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct HoldoutRow {
    pub frequency: u32,
    pub predicted: f64,
    pub actual: u32,
}

/// Cumulative repeat purchases by the end of a week.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TrackingPoint {
    /// First day of the week.
    pub week_start: NaiveDate,
    pub actual: f64,
    pub expected: f64,
}

/// Mean holdout purchases of the customers with one calibration frequency.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConditionalPoint {
    /// Calibration repeat purchases: `0`, `1`, … and the last bucket `7+`.
    pub frequency: String,
    pub customers: usize,
    pub actual: f64,
    pub predicted: f64,
}

/// The whole check.
#[derive(Clone, Debug, Serialize)]
pub struct ModelCheck {
    pub model: String,
    pub calibration_end: NaiveDate,
    pub holdout_end: NaiveDate,
    pub unit: TimeUnit,
    /// Holdout length in `unit`.
    pub holdout_length: f64,
    pub customers: usize,
    pub actual_holdout_purchases: f64,
    pub predicted_holdout_purchases: f64,
    /// Mean over customers of |predicted − actual| holdout purchases.
    pub mean_absolute_error: f64,
    pub tracking: Vec<TrackingPoint>,
    pub conditional: Vec<ConditionalPoint>,
}

/// The calibration summary (orders up to `cal_end` inclusive), the customers' indices in `occ`,
/// and each customer's predicted vs actual repeat purchases in `(cal_end, holdout_end]`.
pub fn holdout_rows(
    model: &dyn PurchaseModel,
    occ: &Occasions,
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
    unit: TimeUnit,
) -> (Summary, Vec<usize>, Vec<HoldoutRow>) {
    let (s, kept) = occ.summary(cal_end, unit);
    let len = (day_number(holdout_end) - day_number(cal_end)) as f64 / unit.days();
    let rows = s
        .rows
        .iter()
        .zip(&kept)
        .map(|(r, &c)| HoldoutRow {
            frequency: r.frequency,
            predicted: model.expected_purchases(len, r.frequency as f64, r.recency, r.t),
            actual: occ.count_between(c, cal_end, holdout_end),
        })
        .collect();
    (s, kept, rows)
}

/// Runs the check for a model fitted on the calibration summary.
pub fn model_check(model: &dyn PurchaseModel, occ: &Occasions, cal_end: NaiveDate, holdout_end: NaiveDate, unit: TimeUnit) -> ModelCheck {
    let (_, kept, rows) = holdout_rows(model, occ, cal_end, holdout_end, unit);
    let n = rows.len();
    let actual: f64 = rows.iter().map(|r| r.actual as f64).sum();
    let predicted: f64 = rows.iter().map(|r| r.predicted).filter(|v| v.is_finite()).sum();
    let mae = if n == 0 { 0.0 } else { rows.iter().map(|r| (r.predicted - r.actual as f64).abs()).filter(|v| v.is_finite()).sum::<f64>() / n as f64 };
    // Conditional expectations by calibration frequency 0..=6 and 7+.
    let mut buckets = vec![(0usize, 0.0, 0.0); 8];
    for r in &rows {
        let b = (r.frequency as usize).min(7);
        buckets[b].0 += 1;
        buckets[b].1 += r.actual as f64;
        if r.predicted.is_finite() {
            buckets[b].2 += r.predicted;
        }
    }
    let conditional = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.0 > 0)
        .map(|(i, b)| ConditionalPoint {
            frequency: if i == 7 { "7+".into() } else { i.to_string() },
            customers: b.0,
            actual: b.1 / b.0 as f64,
            predicted: b.2 / b.0 as f64,
        })
        .collect();
    ModelCheck {
        model: model.name().to_string(),
        calibration_end: cal_end,
        holdout_end,
        unit,
        holdout_length: (day_number(holdout_end) - day_number(cal_end)) as f64 / unit.days(),
        customers: n,
        actual_holdout_purchases: actual,
        predicted_holdout_purchases: predicted,
        mean_absolute_error: mae,
        tracking: tracking(model, occ, &kept, holdout_end, unit),
        conditional,
    }
}

/// Most points of a tracking curve: ten years of weeks.
pub const MAX_TRACKING_POINTS: usize = 520;

/// Cumulative actual vs expected repeat purchases of the calibration cohort (`kept`), week by
/// week from the first purchase to `holdout_end` — every k weeks when that span is longer than
/// [`MAX_TRACKING_POINTS`] weeks, so the work never grows with a date's distance. The expectation
/// sums the unconditional `E[X(t)]` of each customer from their first purchase; customers sharing
/// a first day share one evaluation.
pub fn tracking(model: &dyn PurchaseModel, occ: &Occasions, kept: &[usize], holdout_end: NaiveDate, unit: TimeUnit) -> Vec<TrackingPoint> {
    let end = day_number(holdout_end);
    let Some(origin) = kept.iter().filter_map(|&c| occ.days_of(c).first().copied()).min() else {
        return Vec::new();
    };
    let all_weeks = ((end - origin) / 7 + 1).max(0);
    // Days per point: a week, or whole weeks enough to keep the points within the limit.
    let step = 7 * ((all_weeks + MAX_TRACKING_POINTS as i64 - 1) / MAX_TRACKING_POINTS as i64).max(1);
    let weeks = ((end - origin) / step + 1).max(0) as usize;
    // Customers per first day, and repeat occasions per week.
    let mut first_days: Vec<i64> = kept.iter().filter_map(|&c| occ.days_of(c).first().copied()).collect();
    first_days.sort_unstable();
    let mut per_first: Vec<(i64, f64)> = Vec::new();
    for d in first_days {
        match per_first.last_mut() {
            Some((last, n)) if *last == d => *n += 1.0,
            _ => per_first.push((d, 1.0)),
        }
    }
    let mut actual_week = vec![0.0; weeks];
    for &c in kept {
        for &d in occ.days_of(c).iter().skip(1) {
            if d <= end {
                let w = ((d - origin) / step) as usize;
                if w < weeks {
                    actual_week[w] += 1.0;
                }
            }
        }
    }
    let mut out = Vec::with_capacity(weeks);
    let mut cum = 0.0;
    for (w, a) in actual_week.iter().enumerate() {
        cum += a;
        // The week ends at the start of the next day after its last day (or after holdout_end).
        let week_end = (origin + step * (w as i64 + 1)).min(end + 1);
        let expected: f64 = per_first
            .iter()
            .filter(|(d, _)| *d < week_end)
            .map(|(d, n)| {
                // Purchases on the first day are merged into the first occasion, so time runs
                // from the end of the first day.
                let t = (week_end - d - 1) as f64 / unit.days();
                let e = model.expected_purchases(t, 0.0, 0.0, 0.0);
                if e.is_finite() {
                    n * e
                } else {
                    0.0
                }
            })
            .sum();
        out.push(TrackingPoint { week_start: date_of_day(origin + step * w as i64).unwrap_or_default(), actual: cum, expected });
    }
    out
}
