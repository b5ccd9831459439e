//! `holdfast risk`: churn risk learned from the workspace's own history, with each customer's reasons.

use crate::args::When;
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_app::RiskRequest;
use holdfast_report::format::fmt_count;
use holdfast_report::Table;
use holdfast_risk::{Lang, RiskReport};
use serde::Serialize;
use std::path::PathBuf;

/// Churn risk: each customer's probability of no purchase (or a cancelled subscription) within a
/// horizon H, learned from this workspace's own history — the behaviour of every customer at
/// as-of − H and whether they bought in the H after — by an L2-regularised logistic regression
/// with Platt-calibrated probabilities, and the top reasons of each customer in plain words.
/// Features: recency against the customer's own rhythm, frequency and spending trends, tenure,
/// orders, BG/NBD's P(alive) and expected purchases, and with events: logins and feature use,
/// support tickets and their sentiment, messages ignored, NPS, cancelled add-ons. H: the 90th
/// percentile of gaps between purchase days, in whole weeks, 4–52 weeks and at most half the
/// history. The model line compares its holdout AUC with BG/NBD's expected purchases. Method:
/// docs/MODELS.md, "Churn risk".
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast risk --orders orders.csv --as-of 2024-07-01\n  holdfast risk --orders invoices.csv --events events.csv --limit 50 --lang ru\n  holdfast --db sqlite://shop.db risk --json > risk.json\n\nEvents file columns: customer_id, kind (login, feature_use, email_sent, email_opened, ticket_opened,\ncomplaint, addon_cancelled, …), at; properties (JSON; {\"sentiment\": \"negative\"} marks a negative ticket)."
)]
pub struct Args {
    /// Orders file (CSV). Omitted: the orders, events, feedback and subscriptions in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    /// Events file (customer_id, kind, at, properties): logins, tickets, messages sent and opened.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Horizon H in days (default: from the data's rhythm).
    #[arg(long, value_name = "DAYS")]
    pub horizon: Option<u32>,
    /// Show only the N riskiest customers (the table shows 25 unless told; JSON all).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ModelOut<'a> {
    kind: &'a str,
    features: Vec<&'static str>,
    train_rows: usize,
    holdout_auc: Option<f64>,
    baseline_auc: Option<f64>,
    /// The horizon H the risk is for: P(no purchase within H days).
    horizon_days: i64,
}

#[derive(Serialize)]
struct ReasonOut<'a> {
    feature: &'static str,
    value: f64,
    contribution: f64,
    explanation: &'a str,
}

#[derive(Serialize)]
struct CustomerOut<'a> {
    customer_id: &'a str,
    risk: f64,
    reasons: Vec<ReasonOut<'a>>,
}

#[derive(Serialize)]
struct Out<'a> {
    as_of: String,
    model: ModelOut<'a>,
    customers: Vec<CustomerOut<'a>>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let source = s.source(args.orders.as_deref(), &args.input)?;
    let cal = source.calendar(args.when.tz.as_deref()).map_err(|e| e.context("--tz"))?;
    let req =
        RiskRequest { as_of: args.when.as_of.clone(), horizon_days: args.horizon, events_file: args.events.clone().map(|p| (p, args.input.read_options())) };
    let bar = s.bar();
    let r: RiskReport = s.run(holdfast_app::churn_risk(&source, &cal, &req, &bar))?;
    let limit = args.limit.unwrap_or(if args.json { usize::MAX } else { 25 });
    // The reasons in the language of the rest of the output (the global --lang).
    let lang = match g.lang() {
        holdfast_report::Lang::Ru => Lang::Ru,
        _ => Lang::En,
    };
    if args.json {
        let m = &r.model;
        let out = Out {
            as_of: holdfast_store::export::rfc3339(r.as_of),
            model: ModelOut {
                kind: m.kind,
                features: m.features.iter().map(|f| f.as_str()).collect(),
                train_rows: m.train_rows,
                holdout_auc: m.holdout_auc,
                baseline_auc: m.baseline_auc,
                horizon_days: m.horizon_days,
            },
            customers: r
                .customers
                .iter()
                .take(limit)
                .map(|c| CustomerOut {
                    customer_id: &c.customer_id,
                    risk: c.risk,
                    reasons: c
                        .reasons
                        .iter()
                        .map(|x| ReasonOut { feature: x.feature.as_str(), value: x.value, contribution: x.contribution, explanation: x.explanation(lang) })
                        .collect(),
                })
                .collect(),
        };
        return print_json(&out);
    }
    let mut table = Table::new(&["Customer", "Risk", "Why"]);
    table.right = vec![false, true, false];
    for c in r.customers.iter().take(limit) {
        let mut why: Vec<&str> = c.reasons.iter().take(2).map(|x| x.explanation(lang)).collect::<Vec<_>>();
        let more = c.reasons_total.saturating_sub(why.len());
        let more = match (more, lang) {
            (0, _) => String::new(),
            (n, Lang::En) => format!("; and {n} more"),
            (n, Lang::Ru) => format!("; и ещё {n}"),
        };
        if why.is_empty() {
            why.push("–");
        }
        table.row(vec![c.customer_id.clone(), format!("{:.0}%", c.risk * 100.0), format!("{}{more}", why.join("; "))]);
    }
    let m = &r.model;
    let total = r.customers.len();
    let shown = if total > limit { format!(", the {} riskiest shown", fmt_count(limit as i64)) } else { String::new() };
    let auc = |v: Option<f64>| v.map_or("–".to_string(), |a| format!("{a:.3}"));
    let mut text = format!(
        "Churn risk as of {}: probability of no purchase within {} days, {} customers{shown}\n{}",
        cal.date(r.as_of),
        m.horizon_days,
        fmt_count(total as i64),
        table.to_text()
    );
    text.push_str(&format!(
        "Model: {} (L2-regularised logistic regression, Platt-calibrated) on {} customers at {}; holdout AUC {} vs {} for BG/NBD's expected purchases ({} holdout customers).\nHorizon: {}.\n",
        m.kind,
        fmt_count(m.train_rows as i64),
        m.cut,
        auc(m.holdout_auc),
        auc(m.baseline_auc),
        fmt_count(m.holdout_rows as i64),
        m.horizon_rule
    ));
    for n in &m.notes {
        text.push_str(&format!("Note: {n}.\n"));
    }
    print(&text)
}
