//! `holdfast segments`: RFM scores, named segments, value tiers and lifecycle states per customer.

use crate::args::When;
use crate::output::{print, print_json, Csv};
use crate::session::{Loaded, Session};
use crate::Global;
use holdfast_core::segments::{segment_customers, summarize, SegmentOptions, Tier, TierOptions};
use holdfast_report::vocab::word;
use holdfast_report::{Lang, Table};
use serde::Serialize;
use std::path::PathBuf;

/// RFM segments: recency, frequency and monetary scores 1–5 (5 best), the named segment, the value
/// tier (A = top customers making half the revenue, B = next 30%, C = the rest) and the lifecycle
/// state of every customer, with segment sizes and revenue shares. Rules: docs/SEGMENTS.md.
/// In JSON and CSV segments are snake_case (`cant_lose_them`); `name` holds the display name.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast segments --orders orders.csv\n  holdfast segments --orders orders.csv --as-of 2024-01-01 --json\n  holdfast segments --orders orders.csv --csv > segments.csv"
)]
pub struct Args {
    /// Orders file (CSV). Omitted: the orders in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Inactivity window W in days (lifecycle state "lost" beyond it).
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub window: u32,
    /// Tier A: the top customers making this share of revenue.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub tier_a: f64,
    /// Tier B: the next customers making this share of revenue.
    #[arg(long, value_name = "SHARE", default_value_t = 0.3)]
    pub tier_b: f64,
    /// Print one JSON document instead of tables.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per customer instead of tables.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Serialize)]
struct CustomerOut<'a> {
    customer_id: &'a str,
    recency_score: u8,
    frequency_score: u8,
    monetary_score: u8,
    segment: &'static str,
    tier: String,
    state: &'static str,
    recency_days: i64,
    frequency: u32,
    monetary: f64,
}

#[derive(Serialize)]
struct SegmentOut {
    segment: &'static str,
    name: &'static str,
    customers: usize,
    revenue_share: Option<f64>,
}

#[derive(Serialize)]
struct Out<'a> {
    as_of: String,
    currency: String,
    customers: Vec<CustomerOut<'a>>,
    segments: Vec<SegmentOut>,
    tiers: Vec<TierOut>,
    /// The learned churn risk by segment (`holdfast risk`'s model); `None` when no model could
    /// be learned from this history.
    churn_risk: Option<holdfast_app::risk::SegmentRiskReport>,
}

#[derive(Serialize)]
struct TierOut {
    tier: String,
    customers: usize,
    effort: &'static str,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    for (name, v) in [("--tier-a", args.tier_a), ("--tier-b", args.tier_b)] {
        anyhow::ensure!((0.0..=1.0).contains(&v), "{name}: expected a share between 0 and 1, got {v}");
    }
    let s = Session::new(g)?;
    let Loaded { cal, log, as_of, source } = s.load(args.orders.as_deref(), &args.input, &args.when, false)?;
    let opts = SegmentOptions { as_of, window_days: args.window, tiers: TierOptions { a_share: args.tier_a, b_share: args.tier_b } };
    let segs = segment_customers(&log, &opts);
    let summary = summarize(&segs);
    let k = log.currency().minor_per_major().max(1) as f64;
    let customers: Vec<CustomerOut> = segs
        .iter()
        .map(|s| CustomerOut {
            customer_id: log.customer_id(s.rfm.customer),
            recency_score: s.rfm.recency_score,
            frequency_score: s.rfm.frequency_score,
            monetary_score: s.rfm.monetary_score,
            segment: s.segment.key(),
            tier: s.tier.to_string(),
            state: s.state.as_str(),
            recency_days: s.rfm.recency_days,
            frequency: s.rfm.frequency,
            monetary: s.rfm.monetary as f64 / k,
        })
        .collect();
    if args.csv {
        let mut csv = Csv::new(&[
            "customer_id",
            "recency_score",
            "frequency_score",
            "monetary_score",
            "segment",
            "tier",
            "state",
            "recency_days",
            "frequency",
            "monetary",
        ]);
        for c in &customers {
            csv.row([
                c.customer_id.to_string(),
                c.recency_score.to_string(),
                c.frequency_score.to_string(),
                c.monetary_score.to_string(),
                c.segment.to_string(),
                c.tier.clone(),
                c.state.to_string(),
                c.recency_days.to_string(),
                c.frequency.to_string(),
                c.monetary.to_string(),
            ]);
        }
        return csv.print();
    }
    let tiers: Vec<TierOut> = [Tier::A, Tier::B, Tier::C]
        .iter()
        .map(|&t| TierOut { tier: t.to_string(), customers: segs.iter().filter(|s| s.tier == t).count(), effort: t.effort() })
        .collect();
    let segments: Vec<SegmentOut> = summary
        .iter()
        .map(|s| SegmentOut { segment: s.segment.key(), name: s.segment.as_str(), customers: s.customers, revenue_share: s.revenue_share })
        .collect();
    let as_of_s = cal.date(as_of).to_string();
    // The learned churn risk takes the store's activity, as `holdfast score` does.
    let activity = match &source {
        holdfast_app::Source::Store(app) => Some(s.run(app.activity())?),
        _ => None,
    };
    let risk = holdfast_app::risk::risk_by_segment(&log, &cal, activity.as_ref(), &segs, as_of);
    if let (Err(why), false) = (&risk, g.quiet || args.json) {
        eprintln!("note: churn risk not learned: {why}");
    }
    let risk = risk.ok();
    if args.json {
        return print_json(&Out { as_of: as_of_s, currency: log.currency().to_string(), customers, segments, tiers, churn_risk: risk });
    }
    let l = g.lang();
    let n = segs.len().max(1) as f64;
    let mut t = Table::new(&[
        l.t("Segment", "Сегмент"),
        l.t("Customers", "Клиенты"),
        l.t("Share of customers", "Доля клиентов"),
        l.t("Share of revenue", "Доля выручки"),
    ]);
    for s in &segments {
        t.row(vec![word(l, s.name), l.count(s.customers as i64), l.pct(Some(s.customers as f64 / n)), l.pct(s.revenue_share)]);
    }
    let mut tt = Table::new(&[l.t("Tier", "Уровень"), l.t("Customers", "Клиенты"), l.t("Effort", "Усилие")]);
    tt.right = vec![false, true, false];
    for x in &tiers {
        tt.row(vec![x.tier.clone(), l.count(x.customers as i64), word(l, x.effort)]);
    }
    let mut st = Table::new(&[l.t("State", "Состояние"), l.t("Customers", "Клиенты")]);
    for state in ["new", "active", "passive", "sleeping", "lost", "reactivated"] {
        st.row(vec![word(l, state), l.count(customers.iter().filter(|c| c.state == state).count() as i64)]);
    }
    let mut rt = Table::new(&[l.t("Segment", "Сегмент"), l.t("Customers", "Клиенты"), l.t("Mean risk", "Средний риск"), l.t("Risk ≥ 50%", "Риск ≥ 50%")]);
    for r in risk.iter().flat_map(|r| &r.segments) {
        rt.row(vec![
            r.segment.map_or("–".to_owned(), |s| word(l, s.as_str())),
            l.count(r.customers as i64),
            l.pct(Some(r.mean_risk)),
            l.count(r.above_half as i64),
        ]);
    }
    let risk_text = match (&risk, l) {
        (None, _) => String::new(),
        (Some(r), Lang::En) => format!("\nChurn risk by segment (learned: the chance of no purchase within {} days)\n{}", r.horizon_days, rt.to_text()),
        (Some(r), Lang::Ru) => {
            format!("\nРиск оттока по сегментам (обученная модель: вероятность не купить ничего за {} дн.)\n{}", r.horizon_days, rt.to_text())
        }
    };
    let as_of_shown = l.date(cal.date(as_of));
    let text = match l {
        Lang::En => format!(
            "RFM segments of {} customers as of {as_of_shown} (scores 1–5, 5 best; --csv for every customer)\n{}\nValue tiers by share of revenue\n{}\nLifecycle states (window {} days)\n{}",
            l.count(segs.len() as i64),
            t.to_text(),
            tt.to_text(),
            args.window,
            st.to_text()
        ),
        Lang::Ru => format!(
            "RFM-сегменты, клиентов: {}, на {as_of_shown} (оценки 1–5, 5 — лучшая; --csv — по каждому клиенту)\n{}\nУровни ценности по доле выручки\n{}\nСостояния жизненного цикла (окно {} дн.)\n{}",
            l.count(segs.len() as i64),
            t.to_text(),
            tt.to_text(),
            args.window,
            st.to_text()
        ),
    };
    print(&(text + &risk_text))
}
