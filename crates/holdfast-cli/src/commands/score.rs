//! `holdfast score`: recomputes the scoring snapshot in the store.

use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;

/// Recomputes the scoring snapshot of every customer with orders: RFM segment, red flags (from
/// orders and from the stored events, feedback and subscriptions, each judged against the
/// customer's own baseline), P(alive) (BG/NBD) and 12-month CLV (BG/NBD × Gamma-Gamma, 1% monthly
/// discount), stamped with the as-of instant; days are cut in the workspace's time zone. It also
/// counts the customers at risk by the action queue's rule (as `at-risk` with its defaults). When the data cannot support a model, or its fit does not
/// converge, its values stay empty and the reason is printed once. Later parts (at-risk,
/// dashboard) read the snapshot.
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

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let bar = s.bar();
    let r = s.run(holdfast_app::score_workspace(&app, args.as_of.as_deref(), &bar)).map_err(|e| if args.as_of.is_some() { e.context("--as-of") } else { e })?;
    if !g.quiet {
        for n in &r.notes {
            eprintln!("note: {n}");
        }
    }
    let cal = app.calendar()?;
    if args.json {
        print_json(&serde_json::json!({
            "customers": r.customers, "flagged": r.flagged, "as_of": holdfast_store::export::rfc3339(r.as_of),
            "at_risk": r.at_risk, "personal": r.personal, "automation": r.automation,
            "p_alive": r.p_alive, "clv": r.clv, "notes": r.notes,
            "risk": {"customers": r.risk, "horizon_days": r.risk_horizon_days, "holdout_auc": r.risk_auc, "baseline_auc": r.risk_baseline_auc},
        }))
    } else {
        let l = g.lang();
        let n = |x: usize| crate::output::count_text(l, x as i64);
        print(&match l {
            holdfast_report::Lang::En => format!(
                "Scored {} customers as of {} ({} with red flags; {} at risk by the action queue: {} personal tasks, {} routed to automation); snapshot saved in {}\n",
                r.customers,
                cal.date(r.as_of),
                r.flagged,
                r.at_risk,
                r.personal,
                r.automation,
                app.url()
            ) + &risk_line(&r, l),
            holdfast_report::Lang::Ru => format!(
                "Оценено клиентов: {} на {} (с красными флагами: {}; под угрозой по правилу очереди действий: {} — личных задач {}, на автоматизацию {}); снимок сохранён в {}\n",
                n(r.customers),
                l.date(cal.date(r.as_of)),
                n(r.flagged),
                n(r.at_risk),
                n(r.personal),
                n(r.automation),
                app.url()
            ) + &risk_line(&r, l),
        })
    }
}

/// The learned churn risk's line: how many were scored, over which horizon, and how well it ranks
/// beside BG/NBD on the holdout.
fn risk_line(r: &holdfast_app::ScoreReport, l: holdfast_report::Lang) -> String {
    let Some(h) = r.risk_horizon_days else { return String::new() };
    let auc = |a: Option<f64>| a.map_or("–".to_owned(), |a| l.number(Some(a), 3));
    match l {
        holdfast_report::Lang::En => format!(
            "Churn risk learned for {} customers (no purchase within {h} days; holdout AUC {} vs BG/NBD {})\n",
            r.risk,
            auc(r.risk_auc),
            auc(r.risk_baseline_auc)
        ),
        holdfast_report::Lang::Ru => format!(
            "Риск оттока обучен для {} клиентов (нет покупки в течение {h} дн.; AUC на отложенной выборке {} против BG/NBD {})\n",
            crate::output::count_text(l, r.risk as i64),
            auc(r.risk_auc),
            auc(r.risk_baseline_auc)
        ),
    }
}
