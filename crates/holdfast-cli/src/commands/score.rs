//! `holdfast score`: recomputes the scoring snapshot in the store.

use crate::commands::analyze::{parse_instant, print, print_json};
use crate::store_input::Db;
use crate::Global;
use anyhow::Context;
use chrono::Duration;
use holdfast_core::flags::{activity_flags, customer_flags};
use holdfast_core::segments::{segment_customers, SegmentOptions};
use holdfast_core::{Calendar, CustomerIdx, Instant, OrderLog};
use holdfast_models::predict_customers;
use holdfast_models::{BgNbd, FitOptions, GammaGamma, PredictOptions, Summary, TimeUnit};
use holdfast_store::Score;
use std::collections::HashMap;

/// Recomputes the scoring snapshot of every customer with orders: RFM segment, red flags (from
/// orders and from the stored events, feedback and subscriptions), P(alive) (BG/NBD) and 12-month
/// CLV (BG/NBD × Gamma-Gamma, 1% monthly discount), stamped with the as-of instant. When the data
/// cannot support a model, its values stay empty and the reason is printed once. Later parts
/// (at-risk, dashboard) read the snapshot.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast --db sqlite://shop.db score\n  holdfast --db sqlite://shop.db score --as-of 2024-07-01 --json")]
pub struct Args {
    /// Analysis date (YYYY-MM-DD or RFC 3339). Default: the day after the last stored order.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Print a summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// P(alive) and CLV (minor units) per customer id from BG/NBD and Gamma-Gamma fitted on the orders
/// before `as_of` (in weeks), and why a model gave nothing when it could not be used.
fn model_values(log: &OrderLog, cal: &Calendar, as_of: Instant) -> (HashMap<String, (Option<f64>, Option<i64>)>, Vec<String>) {
    let mut out = HashMap::new();
    let mut notes = Vec::new();
    let end = cal.date(as_of) - Duration::days(1);
    let summary = Summary::from_orders(log, cal, end, TimeUnit::Week);
    if summary.is_empty() {
        notes.push("no P(alive) or CLV: no customer ordered before the as-of date".to_owned());
        return (out, notes);
    }
    let opts = FitOptions::default();
    let purchases = match BgNbd::fit(&summary.compress(), &opts) {
        Ok(f) if f.converged => f.model,
        Ok(_) => {
            notes.push("no P(alive) or CLV: the BG/NBD fit did not converge on these orders".to_owned());
            return (out, notes);
        }
        Err(e) => {
            notes.push(format!("no P(alive) or CLV: the BG/NBD model cannot be fitted ({e})"));
            return (out, notes);
        }
    };
    let spend = match GammaGamma::fit(&summary.spend(), &opts) {
        Ok(f) if !f.fit.converged => {
            notes.push("no CLV: the Gamma-Gamma spend fit did not converge on these orders".to_owned());
            None
        }
        Ok(f) if f.fit.model.q <= 1.0 => {
            notes.push(format!("no CLV: the Gamma-Gamma spend fit gives q = {:.3} ≤ 1, so the expected order value does not exist", f.fit.model.q));
            None
        }
        Ok(f) => Some(f.fit.model),
        Err(e) => {
            notes.push(format!("no CLV: the Gamma-Gamma spend model cannot be fitted ({e})"));
            None
        }
    };
    let popts = PredictOptions { horizon_months: 12.0, discount_monthly: 0.01 };
    let per = log.currency().minor_per_major() as f64;
    let preds = predict_customers(&purchases, spend.as_ref(), &summary, &popts);
    for (id, p) in summary.customer_ids.iter().zip(&preds) {
        let clv = p.clv.and_then(finite).map(|v| (v * per).round() as i64);
        out.insert(id.clone(), (finite(p.p_alive), clv));
    }
    (out, notes)
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let db = Db::open_existing(&g.db)?;
    let cal = db.calendar()?;
    let log = db.run(db.store.load_order_log(db.ws.id))?;
    let as_of: Instant = match &args.as_of {
        Some(s) => parse_instant(s, &cal).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?,
        None => log.default_as_of(&cal).with_context(|| format!("the store {} has no counted orders: nothing to score", db.store.url()))?,
    };
    let segs = segment_customers(&log, &SegmentOptions { window_days: db.ws.window_days, ..SegmentOptions::new(as_of) });
    let (predicted, notes) = model_values(&log, &cal, as_of);
    let activity = db.run(db.store.load_activity(db.ws.id, None))?.to_core();
    // Customers with one or two purchase days are measured against the workspace's usual gap,
    // as in `holdfast at-risk`.
    let wgap = holdfast_core::rfm::workspace_median_gap_days(&log, as_of);
    let per = log.currency().minor_per_major();
    let scores: Vec<Score> = segs
        .iter()
        .map(|s| {
            let c: CustomerIdx = s.rfm.customer;
            let id = log.customer_id(c);
            let mut flags = customer_flags(&log, c, as_of, wgap);
            if let Some(a) = activity.get(id) {
                flags.extend(activity_flags(a, as_of, per));
            }
            let (p_alive, clv) = predicted.get(id).copied().unwrap_or((None, None));
            Score {
                customer: id.to_owned(),
                segment: Some(s.segment),
                p_alive,
                clv,
                flags: flags.iter().map(|f| f.kind).collect(),
                computed_at: as_of,
            }
        })
        .collect();
    db.run(db.store.replace_scores(db.ws.id, &scores))?;
    let flagged = scores.iter().filter(|s| !s.flags.is_empty()).count();
    if !g.quiet {
        for n in &notes {
            eprintln!("note: {n}");
        }
    }
    if args.json {
        print_json(&serde_json::json!({
            "customers": scores.len(), "flagged": flagged, "as_of": holdfast_store::export::rfc3339(as_of),
            "p_alive": scores.iter().filter(|s| s.p_alive.is_some()).count(), "clv": scores.iter().filter(|s| s.clv.is_some()).count(), "notes": notes,
        }))
    } else {
        print(&format!("Scored {} customers as of {} ({} with red flags); snapshot saved in {}\n", scores.len(), cal.date(as_of), flagged, db.store.url()))
    }
}
