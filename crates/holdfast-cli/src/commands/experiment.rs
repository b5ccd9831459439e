//! `holdfast experiment`: proof, not attribution — each campaign's treated customers against its
//! control group: the report with intervals, ROI and verdict; the list of campaigns; the minimum
//! detectable effect before a campaign starts; the workspace-wide global holdout.

use crate::output::count_text;
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use anyhow::Context;
use holdfast_app::experiments::{global_holdout, list_experiments, plan_experiment, set_global_holdout, PlanMetric, PlanRequest};
use holdfast_app::{experiment_report, ReportRequest};
use holdfast_experiments::BootstrapOptions;
use holdfast_report::format::{fmt_count, fmt_money, fmt_pct};
use holdfast_report::{Lang, Table};
use std::path::PathBuf;

/// Measures campaigns against their control groups (assignments come from
/// `holdfast import assignments FILE`): every figure with a 95% confidence interval, the
/// incremental profit and ROI, and a verdict only when the attribution window has closed and the
/// group sizes match the plan.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast import assignments winback.csv --window 30 --split control=0.1,treatment=0.9 --margin 0.35\n  holdfast experiment report win-back\n  holdfast experiment report win-back --as-of 2024-05-01 --json\n  holdfast experiment report win-back --out win-back.html\n  holdfast experiment list\n  holdfast experiment plan --audience 12000 --holdout 0.1 --metric revenue\n  holdfast experiment holdout --set 0.05"
)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Metric {
    Revenue,
    Conversion,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// One campaign: groups, conversion, revenue and orders with Welch, bootstrap and CUPED
    /// intervals, incremental profit, ROI, the sample-ratio check and the verdict.
    #[command(
        after_help = "Example:\n  holdfast experiment report win-back --margin 0.35\n\nThe verdict, e.g.: Campaign \"win-back\" brought 41,000 ₽ of extra profit (95% CI 12,000 – 70,000) for 9,000 ₽ of cost: ROI 3.6 (0.3 – 6.8).\nBefore the window closes the figures are marked NOT FINAL; a sample-ratio mismatch (χ² p < 0.001) withholds the verdict."
    )]
    Report {
        /// The campaign's name, as in the assignments file.
        campaign: String,
        /// Attribution window in days after each assignment. Default: the campaign's (30 unless set at import).
        #[arg(long, value_name = "DAYS")]
        window: Option<u32>,
        /// Only orders before this date count (YYYY-MM-DD or RFC 3339). Default: the day after the last order.
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// Gross margin (share of revenue that is profit), e.g. 0.35. Default: the campaign's.
        #[arg(long, value_name = "SHARE")]
        margin: Option<f64>,
        /// Bootstrap resamples.
        #[arg(long, value_name = "B", default_value_t = 2000)]
        replicates: u32,
        /// Bootstrap seed: the same seed and data always give the same interval.
        #[arg(long, default_value_t = holdfast_experiments::bootstrap::DEFAULT_SEED)]
        seed: u64,
        /// Write the report as a self-contained HTML file with the intervals drawn as bars.
        #[arg(long, value_name = "FILE.html")]
        out: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// The campaigns in the store, with their groups and whether their windows have closed.
    List {
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Before a campaign starts: the smallest effect it can detect (α = 0.05, power 0.8).
    #[command(after_help = "Example:\n  holdfast experiment plan --audience 12000 --holdout 0.1 --metric conversion")]
    Plan {
        /// Customers the campaign will reach, control group included.
        #[arg(long, value_name = "N")]
        audience: u64,
        /// Share held out as the control group, e.g. 0.1.
        #[arg(long, value_name = "SHARE", default_value_t = 0.1)]
        holdout: f64,
        #[arg(long, value_enum, default_value_t = Metric::Revenue)]
        metric: Metric,
        /// Attribution window in days.
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        window: u32,
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// The outcome's mean per customer without the campaign (conversion: a share; revenue:
        /// money). Default: measured from the store.
        #[arg(long, value_name = "X")]
        baseline_mean: Option<f64>,
        /// The outcome's standard deviation per customer (revenue only).
        #[arg(long, value_name = "X")]
        baseline_sd: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// The workspace-wide global holdout: the share of customers no campaign contacts.
    Holdout {
        /// Set the share (0 to 0.5; 0 turns it off), e.g. 0.05.
        #[arg(long, value_name = "SHARE")]
        set: Option<f64>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let l = g.lang();
    let ru = l == Lang::Ru;
    match args.action {
        Action::Report { campaign, window, as_of, margin, replicates, seed, out, json } => {
            let req = ReportRequest { window_days: window, as_of, margin, bootstrap: BootstrapOptions { replicates, seed }, ..ReportRequest::new(&campaign) };
            let r = s.run(experiment_report(&app, &req))?;
            if let Some(path) = &out {
                std::fs::write(path, holdfast_report::experiment::render(&r)).with_context(|| format!("cannot write {}", path.display()))?;
                if !s.quiet {
                    eprintln!("wrote {}", path.display());
                }
            }
            if json {
                print_json(&r)
            } else {
                print(&holdfast_report::experiment::to_terminal_in(&r, l))
            }
        }
        Action::List { as_of, json } => {
            let list = s.run(list_experiments(&app, as_of.as_deref()))?;
            if json {
                return print_json(&serde_json::json!({ "campaigns": list }));
            }
            let mut t = Table::new(&[
                l.t("Campaign", "Кампания"),
                l.t("Groups", "Группы"),
                l.t("Assigned", "Назначено"),
                l.t("From", "С"),
                l.t("To", "По"),
                l.t("Window", "Окно"),
                l.t("Cost", "Затраты"),
                l.t("State", "Состояние"),
            ]);
            t.right = vec![false, false, true, false, false, true, true, false];
            for c in &list {
                let day = |d: &Option<String>| crate::output::date_text(l, d.as_deref().unwrap_or_default());
                t.row(vec![
                    c.campaign.clone(),
                    c.groups.iter().map(|g| format!("{} {}", g.name, count_text(l, g.n as i64))).collect::<Vec<_>>().join(", "),
                    count_text(l, c.assigned as i64),
                    day(&c.first_assigned),
                    day(&c.last_assigned),
                    if ru { format!("{} дн.", c.window_days) } else { format!("{} d", c.window_days) },
                    if ru { l.amount(Some(c.cost), c.currency) } else { format!("{} {}", fmt_money(Some(c.cost)), c.currency) },
                    match (c.has_control, c.is_final, ru) {
                        (false, _, false) => "no control group".to_owned(),
                        (true, true, false) => "final".to_owned(),
                        (true, false, false) => format!("not final (window closes {})", c.window_end.clone().unwrap_or_default()),
                        (false, _, true) => "нет контрольной группы".to_owned(),
                        (true, true, true) => "итог".to_owned(),
                        (true, false, true) => format!("не окончательно (окно закрывается {})", day(&c.window_end)),
                    },
                ]);
            }
            if ru {
                return print(&format!("Кампаний: {}\n{}", l.count(list.len() as i64), t.to_text()));
            }
            print(&format!("{} campaigns\n{}", list.len(), t.to_text()))
        }
        Action::Plan { audience, holdout, metric, window, as_of, baseline_mean, baseline_sd, json } => {
            let metric = match metric {
                Metric::Revenue => PlanMetric::Revenue,
                Metric::Conversion => PlanMetric::Conversion,
            };
            let p = s.run(plan_experiment(&app, &PlanRequest { audience, holdout, metric, window_days: window, as_of, baseline_mean, baseline_sd }))?;
            if json {
                return print_json(&p);
            }
            let pl = &p.plan;
            let cur = p.currency;
            if ru {
                return print(&plan_ru(l, &p, metric, audience));
            }
            let show = |v: f64| match metric {
                PlanMetric::Conversion => format!("{:.2} percentage points", v * 100.0),
                PlanMetric::Revenue => format!("{} {cur}", fmt_money(Some(v))),
            };
            let base = match metric {
                PlanMetric::Conversion => format!("conversion {}", fmt_pct(Some(pl.baseline_mean))),
                PlanMetric::Revenue => {
                    format!("revenue {} {cur} per customer (standard deviation {})", fmt_money(Some(pl.baseline_mean)), fmt_money(Some(pl.baseline_sd)))
                }
            };
            let mut text = format!(
                "Audience {}: {} treated, {} in the control group ({:.1}% held out).\nBaseline over a {}-day window: {base} ({}).\nThe smallest effect this campaign can detect (α = {}, power {}): {}",
                fmt_count(audience as i64),
                fmt_count(pl.treated as i64),
                fmt_count(pl.control as i64),
                pl.holdout * 100.0,
                p.window_days,
                p.baseline_from,
                pl.alpha,
                pl.power,
                show(pl.mde)
            );
            if let Some(rel) = pl.mde_relative {
                text.push_str(&format!(" ({:+.1}% of the baseline)", rel * 100.0));
            }
            if let Some(total) = pl.mde_total {
                text.push_str(&format!(", {} {cur} over the treated group", fmt_money(Some(total))));
            }
            text.push_str(".\nA smaller true effect will most likely read as \"no effect shown\"; a larger holdout or audience narrows it.\n");
            print(&text)
        }
        Action::Holdout { set, json } => {
            let h = match set {
                Some(v) => s.run(set_global_holdout(&app, v))?,
                None => s.run(global_holdout(&app))?,
            };
            if json {
                return print_json(&h);
            }
            if ru {
                return print(&if h.buckets == 0 {
                    "Глобальной контрольной группы нет: связываться можно с любым клиентом (задать: --set 0.05).\n".to_owned()
                } else {
                    format!(
                        "Глобальная контрольная группа: {} клиентов ({} из 10\u{a0}000 корзин) не получают ни одной кампании — с ними сравнивается вся программа.\n",
                        l.pct(Some(h.share)),
                        l.count(h.buckets as i64)
                    )
                });
            }
            print(&if h.buckets == 0 {
                "No global holdout: every customer may be contacted (set one with --set 0.05).\n".to_owned()
            } else {
                format!(
                    "Global holdout: {:.2}% of customers ({} of 10,000 buckets) are never contacted by a campaign, to measure the whole program against them.\n",
                    h.share * 100.0,
                    h.buckets
                )
            })
        }
    }
}

/// The plan's answer in Russian.
fn plan_ru(l: Lang, p: &holdfast_app::experiments::ExperimentPlan, metric: PlanMetric, audience: u64) -> String {
    let pl = &p.plan;
    let cur = p.currency;
    let show = |v: f64| match metric {
        PlanMetric::Conversion => format!("{}\u{a0}п.п.", l.number(Some(v * 100.0), 2)),
        PlanMetric::Revenue => l.amount(Some(v), cur),
    };
    let base = match metric {
        PlanMetric::Conversion => format!("конверсия {}", l.pct(Some(pl.baseline_mean))),
        PlanMetric::Revenue => {
            format!("выручка {} на клиента, стандартное отклонение {}", l.amount(Some(pl.baseline_mean), cur), l.amount(Some(pl.baseline_sd), cur))
        }
    };
    let from = match p.baseline_customers {
        Some(n) => format!("измерено по {} клиентам с заказом до даты расчёта", l.count(n as i64)),
        None => "задано параметрами".to_owned(),
    };
    let mut text = format!(
        "Аудитория {}: получат кампанию {}, в контрольной группе {} ({} не получают).\nИсходный уровень за окно {} дн.: {base} ({from}).\nНаименьший эффект, который эта кампания может обнаружить (α = {}, мощность {}): {}",
        l.count(audience as i64),
        l.count(pl.treated as i64),
        l.count(pl.control as i64),
        l.pct(Some(pl.holdout)),
        p.window_days,
        l.number(Some(pl.alpha), 2),
        l.number(Some(pl.power), 1),
        show(pl.mde)
    );
    if let Some(rel) = pl.mde_relative {
        text.push_str(&format!(" ({}{} от исходного уровня)", if rel > 0.0 { "+" } else { "" }, l.pct(Some(rel))));
    }
    if let Some(total) = pl.mde_total {
        text.push_str(&format!(", {} на всю группу, получившую кампанию", l.amount(Some(total), cur)));
    }
    text.push_str(".\nМеньший истинный эффект скорее всего прочтётся как «эффект не доказан»; его сузят бо́льшая контрольная группа или аудитория.\n");
    text
}
