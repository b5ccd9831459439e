//! Subscription figures of a workspace: MRR and its movement, GRR and NRR (METRICS.md,
//! "Subscriptions") — for `holdfast mrr` and the dashboard's overview.

use crate::error::{Error, Result};
use crate::when::{parse_instant, parse_month};
use crate::workspace::App;
use holdfast_core::subscriptions::{mrr_movement, MrrOptions, MrrReport, Subscription};
use holdfast_core::{Currency, Granularity};

/// The MRR report of the app's stored subscriptions by `granularity`, from the period holding
/// `from` (YYYY-MM; default the first subscription's) up to `as_of` (a date; default the day
/// after the last start or end). `Ok(None)` when the workspace has no subscriptions.
pub async fn mrr_report(app: &App, granularity: Granularity, from: Option<&str>, as_of: Option<&str>) -> Result<Option<(MrrReport, Currency)>> {
    let cal = app.calendar()?;
    let stored = app.store.load_subscriptions(app.ws.id).await?;
    let Some(first_sub) = stored.first() else { return Ok(None) };
    let currency = first_sub.currency;
    if let Some(other) = stored.iter().find(|s| s.currency != currency) {
        return Err(Error::user(format!("subscriptions are in more than one currency ({currency} and {}); MRR needs one", other.currency)));
    }
    let subs: Vec<Subscription> = stored.iter().map(|s| s.to_core()).collect();
    let first = subs.iter().map(|s| s.started_at).min().unwrap_or(0);
    let last = subs.iter().map(|s| s.ended_at.unwrap_or(s.started_at).max(s.started_at)).max().unwrap_or(first);
    let to = match as_of {
        Some(s) => parse_instant(s, &cal).map_err(|e| Error::user(format!("as-of: {e}")))?,
        None => cal.start_of_day(cal.date(last).succ_opt().unwrap_or(cal.date(last))),
    };
    let from = match from {
        Some(s) => parse_month(s, &cal).map_err(|e| Error::user(format!("from: {e}")))?,
        None => first,
    };
    Ok(Some((mrr_movement(&subs, &cal, &MrrOptions { granularity, from, to }, currency), currency)))
}
