//! `holdfast mrr`: subscription metrics from the store.

use crate::args::parse_period;
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_core::money::to_major;
use holdfast_core::Granularity;
use holdfast_report::{Lang, Table};

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

fn rate(l: Lang, x: Option<f64>) -> String {
    match l {
        Lang::En => x.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "–".into()),
        Lang::Ru => x.map_or_else(|| "–".into(), |v| l.pct(Some(v))),
    }
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
    let l = g.lang();
    let ru = l == Lang::Ru;
    let f = |v: i64| crate::output::minor_text(l, v, currency);
    let n = |v: usize| if ru { l.count(v as i64) } else { v.to_string() };
    let rate = |x: Option<f64>| rate(l, x);
    let mut t = Table::new(&[
        l.t("period", "период"),
        l.t("MRR start", "MRR на начало"),
        l.t("new", "новые"),
        l.t("expansion", "расширение"),
        l.t("contraction", "сокращение"),
        l.t("churned", "ушедшие"),
        l.t("reactivation", "возвраты"),
        l.t("MRR end", "MRR на конец"),
        "GRR",
        "NRR",
        l.t("subs S", "подп. S"),
        "N",
        "R",
        "L",
        "E",
        l.t("logo churn", "отток клиентов"),
        l.t("revenue churn", "отток выручки"),
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
            n(p.subscribers_start as usize),
            n(p.subscribers_new as usize),
            n(p.subscribers_reactivated as usize),
            n(p.subscribers_lost as usize),
            n(p.subscribers_end as usize),
            rate(p.logo_churn),
            rate(p.revenue_churn),
        ]);
    }
    if ru {
        print(&format!("MRR по периодам: {} ({})\n", holdfast_report::vocab::period(l, args.period), l.currency_name(currency)))?;
        print(&t.to_text())?;
        return print("S — подписчики на начало, N — новые, R — вернувшиеся, L — ушедшие, E — на конец периода.\n");
    }
    print(&format!("MRR per {} ({currency})\n", args.period))?;
    print(&t.to_text())
}
