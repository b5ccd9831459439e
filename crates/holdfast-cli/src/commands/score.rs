//! `holdfast score`: recomputes the scoring snapshot in the store.

use crate::commands::analyze::{parse_instant, print, print_json};
use crate::store_input::Db;
use crate::Global;
use anyhow::Context;
use chrono::Duration;
use holdfast_core::flags::customer_flags;
use holdfast_core::segments::{segment_customers, SegmentOptions};
use holdfast_core::{CustomerIdx, Instant};
use holdfast_models::clv::predict_one;
use holdfast_models::{BgNbd, FitOptions, GammaGamma, PredictOptions, Summary, TimeUnit};
use holdfast_store::Score;
use std::collections::HashMap;

/// Recomputes the scoring snapshot of every customer with orders: RFM segment, red flags,
/// P(alive) (BG/NBD) and 12-month CLV (BG/NBD × Gamma-Gamma, 1% monthly discount), stamped with
/// the as-of instant. Later parts (at-risk, dashboard) read it.
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

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let db = Db::open_existing(&g.db)?;
    let cal = db.calendar()?;
    let log = db.run(db.store.load_order_log(db.ws.id))?;
    let as_of: Instant = match &args.as_of {
        Some(s) => parse_instant(s, &cal).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?,
        None => log.default_as_of(&cal).with_context(|| format!("the store {} has no counted orders: nothing to score", db.store.url()))?,
    };
    let segs = segment_customers(&log, &SegmentOptions { window_days: db.ws.window_days, ..SegmentOptions::new(as_of) });

    // P(alive) and CLV from BG/NBD and Gamma-Gamma fitted on the stored orders (weeks).
    let end = cal.date(as_of) - Duration::days(1);
    let summary = Summary::from_orders(&log, &cal, end, TimeUnit::Week);
    let mut predicted: HashMap<&str, (Option<f64>, Option<i64>)> = HashMap::new();
    let mut model_note = None;
    if !summary.is_empty() {
        let opts = FitOptions::default();
        match BgNbd::fit(&summary.compress(), &opts) {
            Ok(f) => {
                let spend = GammaGamma::fit(&summary.spend(), &opts).ok().map(|s| s.fit.model);
                let popts = PredictOptions { horizon_months: 12.0, discount_monthly: 0.01 };
                let per = log.currency().minor_per_major() as f64;
                for (id, r) in summary.customer_ids.iter().zip(&summary.rows) {
                    let p = predict_one(&f.model, spend.as_ref(), r, summary.unit.per_month(), &popts);
                    let clv = p.clv.and_then(finite).map(|v| (v * per).round() as i64);
                    predicted.insert(id.as_str(), (finite(p.p_alive), clv));
                }
            }
            Err(e) => model_note = Some(format!("no P(alive) or CLV: the BG/NBD fit failed ({e})")),
        }
    }
    // Customers with one or two purchase days are measured against the workspace's usual gap,
    // as in `holdfast at-risk`.
    let wgap = holdfast_core::rfm::workspace_median_gap_days(&log, as_of);
    let scores: Vec<Score> = segs
        .iter()
        .map(|s| {
            let c: CustomerIdx = s.rfm.customer;
            let id = log.customer_id(c);
            let flags = customer_flags(&log, c, as_of, wgap);
            let (p_alive, clv) = predicted.get(id).copied().unwrap_or((None, None));
            Score {
                customer: id.to_owned(),
                segment: serde_json::to_value(s.segment).ok().and_then(|v| v.as_str().map(str::to_owned)),
                p_alive,
                clv,
                flags: flags.iter().map(|f| f.kind.as_str().to_owned()).collect(),
                computed_at: as_of,
            }
        })
        .collect();
    db.run(db.store.replace_scores(db.ws.id, &scores))?;
    let flagged = scores.iter().filter(|s| !s.flags.is_empty()).count();
    if let (Some(n), false) = (&model_note, g.quiet) {
        eprintln!("note: {n}");
    }
    if args.json {
        print_json(&serde_json::json!({"customers": scores.len(), "flagged": flagged, "as_of": holdfast_store::export::rfc3339(as_of), "models": model_note.is_none()}))
    } else {
        print(&format!("Scored {} customers as of {} ({} with red flags); snapshot saved in {}\n", scores.len(), cal.date(as_of), flagged, db.store.url()))
    }
}
