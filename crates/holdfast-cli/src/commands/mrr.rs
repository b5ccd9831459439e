//! `holdfast mrr`: subscription metrics from the store.

use crate::args::parse_period;
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_core::money::to_major;
use holdfast_core::Granularity;
use holdfast_report::Table;

/// MRR per period and its movement (new, expansion, contraction, churned, reactivation), gross and
/// net revenue retention, subscriber movement, logo churn and revenue churn side by side
/// (definitions in METRICS.md, "Subscriptions").
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast --db sqlite://shop.db mrr\n  holdfast --db sqlite://shop.db mrr --period quarter --from 2023-01 --json")]
pub struct Args {
    /// Period: month, quarter or year.
    #[arg(long, default_value = "month", value_parser = parse_period)]
    pub period: Granularity,
    /// First period: the one containing this month (YYYY-MM). Default: the first subscription's.
    #[arg(long, value_name = "YYYY-MM")]
    pub from: Option<String>,
    /// Periods up to this date (YYYY-MM-DD). Default: the day after the last start or end.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn rate(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "–".into())
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let db = s.open_existing()?;
    let cal = db.calendar()?;
    let (report, currency) = match s.run(holdfast_app::mrr::mrr_report(&db, args.period, args.from.as_deref(), args.as_of.as_deref()))? {
        Some(r) => r,
        None => anyhow::bail!("the store {} has no subscriptions; import some with `holdfast import subscriptions FILE`", db.store.url()),
    };
    let m = |v: i64| to_major(v, currency);
    if args.json {
        let periods: Vec<_> = report
            .periods
            .iter()
            .map(|p| {
                serde_json::json!({
                    "period": p.label, "start": cal.date(p.start).to_string(), "end": cal.date(p.end).to_string(),
                    "mrr_start": m(p.mrr_start), "mrr_end": m(p.mrr_end), "new": m(p.new), "expansion": m(p.expansion),
                    "contraction": m(p.contraction), "churned": m(p.churned), "reactivation": m(p.reactivation), "net_new": m(p.net_new),
                    "grr": p.grr, "nrr": p.nrr, "subscribers_start": p.subscribers_start, "subscribers_end": p.subscribers_end,
                    "subscribers_new": p.subscribers_new, "subscribers_reactivated": p.subscribers_reactivated,
                    "subscribers_lost": p.subscribers_lost, "subscribers_kept": p.subscribers_kept,
                    "logo_churn": p.logo_churn, "revenue_churn": p.revenue_churn,
                })
            })
            .collect();
        return print_json(&serde_json::json!({"currency": currency, "periods": periods}));
    }
    let f = |v: i64| holdfast_report::format::fmt_minor(v, currency);
    let mut t = Table::new(&[
        "period",
        "MRR start",
        "new",
        "expansion",
        "contraction",
        "churned",
        "reactivation",
        "MRR end",
        "GRR",
        "NRR",
        "subs S",
        "N",
        "R",
        "L",
        "E",
        "logo churn",
        "revenue churn",
    ]);
    for p in &report.periods {
        t.row(vec![
            p.label.clone(),
            f(p.mrr_start),
            f(p.new),
            f(p.expansion),
            f(p.contraction),
            f(p.churned),
            f(p.reactivation),
            f(p.mrr_end),
            rate(p.grr),
            rate(p.nrr),
            p.subscribers_start.to_string(),
            p.subscribers_new.to_string(),
            p.subscribers_reactivated.to_string(),
            p.subscribers_lost.to_string(),
            p.subscribers_end.to_string(),
            rate(p.logo_churn),
            rate(p.revenue_churn),
        ]);
    }
    print(&format!("MRR per {} ({currency})\n", args.period))?;
    print(&t.to_text())
}
