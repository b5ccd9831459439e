//! `holdfast at-risk`: the action queue — one task per customer drifting from their own rhythm,
//! planned for the week: whom to contact personally, who waits, who is left to automation.

use crate::args::When;
use crate::output::{count_text, date_text, money_text, print, print_json, Csv};
use crate::session::Session;
use crate::Global;
use holdfast_app::AtRiskOptions;
use holdfast_core::flags::Severity;
use holdfast_core::segments::TierOptions;
use holdfast_core::worth::{FlagWorth, NO_SIGNAL};
use holdfast_report::vocab::{explanation, word};
use holdfast_report::{Lang, Table};
use serde::Serialize;
use std::path::PathBuf;

/// The action queue: one task per customer whose red flags say they drift from their own rhythm
/// (a silence longer than their usual gaps allow, fewer orders than their earlier rate, shrinking
/// orders, ...), each flag raised only when what is seen has less than a 5% chance for this
/// customer and explained in words and numbers. Each kind of flag is backtested on the
/// workspace's own history (flagged against comparable unflagged customers); a kind without signal
/// here (lift above 0.9) informs but opens no task. Tasks are ranked by expected value saved
/// (P(churn) × stake); tiers A and B get personal steps, at most --capacity per owner this week
/// (the rest wait in order), tier C is routed to automation and counted. Rules: docs/SEGMENTS.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast at-risk --orders orders.csv\n  holdfast at-risk --orders orders.csv --as-of 2024-01-01 --owner anna --capacity 40 --json\n  holdfast at-risk --orders orders.csv --csv > tasks.csv\n  holdfast at-risk --orders orders.csv --learned-risk   # ranked by the learned churn risk"
)]
pub struct Args {
    /// Orders file (CSV). Omitted: the orders in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Show only the first N tasks (the table shows this week's and waiting personal tasks, the
    /// first 25 unless told; JSON and CSV all, automation included).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Owner of customers without one (owners come from --customers or the store).
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// Customers file with an owner (manager) column: each task goes to its customer's owner.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<PathBuf>,
    /// Tier A: the top customers making this share of revenue.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    pub tier_a: f64,
    /// Tier B: the next customers making this share of revenue.
    #[arg(long, value_name = "SHARE", default_value_t = 0.3)]
    pub tier_b: f64,
    /// Window in days within which a service chain's next step counts (for `missed_initiative`).
    #[arg(long, value_name = "DAYS", default_value_t = 60)]
    pub window: u32,
    /// Inactivity window W in days: customers silent for longer (and without activity events
    /// within it) are lost and get no task unless --include-lost is given.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub inactivity_window: u32,
    /// Also list lost customers (past the inactivity window): a win-back list rather than a
    /// to-do list.
    #[arg(long)]
    pub include_lost: bool,
    /// Raise only flags of at least this severity (low: every flag).
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = SeverityArg::Low)]
    pub min_severity: SeverityArg,
    /// Raise a flag when what is seen has less than this chance for the customer (0.05: 5%).
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub level: f64,
    /// Personal tasks per owner per week; the rest wait in order.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub capacity: usize,
    /// Rank by the churn risk learned from this history (`holdfast risk`) instead of the chance
    /// the customer's own rhythm gives; slower (the model is fitted first).
    #[arg(long)]
    pub learned_risk: bool,
    /// Print one JSON document instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per task instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
}

impl SeverityArg {
    fn severity(self) -> Severity {
        match self {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
        }
    }
}

#[derive(Serialize)]
struct FlagOut {
    kind: &'static str,
    severity: &'static str,
    explanation: String,
    /// Stake × severity factor, major units.
    weight: f64,
    /// The chance of what is seen under the customer's usual behaviour (null: a rule).
    p: Option<f64>,
    /// Flagged customers' repurchase rate over comparable unflagged ones' in the backtest.
    lift: Option<f64>,
    opens_tasks: bool,
    /// The explanation in the language of the table.
    #[serde(skip)]
    said: String,
}

#[derive(Serialize)]
struct TaskOut<'a> {
    customer_id: &'a str,
    owner: Option<&'a str>,
    stake: f64,
    tier: String,
    severity: &'static str,
    flags: Vec<FlagOut>,
    suggested_step: &'static str,
    due: String,
    state: &'static str,
    plan: &'static str,
    p_churn: f64,
    /// P(churn) × stake × the step's success rate, major units.
    expected_value: f64,
    rolled_over: bool,
}

#[derive(Serialize)]
struct KindOut {
    kind: &'static str,
    flagged: u32,
    flagged_repurchase_rate: Option<f64>,
    unflagged_repurchase_rate: Option<f64>,
    lift: Option<f64>,
    opens_tasks: bool,
}

#[derive(Serialize)]
struct BacktestOut {
    at: String,
    horizon_days: u32,
    customers: u32,
    kinds: Vec<KindOut>,
}

#[derive(Serialize)]
struct Out<'a> {
    as_of: String,
    currency: String,
    /// Customers at risk (one task each): personal + automation.
    total_tasks: usize,
    this_week: usize,
    waiting: usize,
    snoozed: usize,
    automation: usize,
    /// Customers whose flags are all of kinds without signal here: shown, no task.
    informing: usize,
    owners: usize,
    capacity_per_owner: usize,
    level: f64,
    /// Where P(churn) came from: learned (--learned-risk), snapshot (the learned risk `holdfast
    /// score` saved at this as-of) or rhythm (the customer's own rhythm).
    p_churn_from: &'static str,
    /// Each step's historical success rate where known (over a store: an order within 90 days
    /// of a done task), and the tasks it rests on.
    step_success: Vec<StepOut>,
    backtest: Option<BacktestOut>,
    /// Over a store: tasks opened, rolled over and closed (no longer at risk, or routed to
    /// automation) by this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    saved: Option<SavedOut>,
    tasks: Vec<TaskOut<'a>>,
}

#[derive(Serialize)]
struct StepOut {
    step: &'static str,
    success_rate: f64,
    tasks: usize,
}

#[derive(Serialize)]
struct SavedOut {
    opened: u64,
    rolled_over: u64,
    closed: u64,
}

fn backtest_out(w: &FlagWorth, cal: &holdfast_core::Calendar) -> BacktestOut {
    BacktestOut {
        at: cal.date(w.at).to_string(),
        horizon_days: w.horizon_days,
        customers: w.customers,
        kinds: w
            .kinds
            .iter()
            .filter(|k| k.flagged > 0)
            .map(|k| KindOut {
                kind: k.kind.as_str(),
                flagged: k.flagged,
                flagged_repurchase_rate: k.flagged_rate(),
                unflagged_repurchase_rate: k.unflagged_rate(),
                lift: k.lift,
                opens_tasks: k.opens_tasks,
            })
            .collect(),
    }
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let source = s.source(args.orders.as_deref(), &args.input)?;
    let cal = source.calendar(args.when.tz.as_deref()).map_err(|e| e.context("--tz"))?;
    let limit = args.limit.unwrap_or(if args.json || args.csv { usize::MAX } else { 25 });
    let opts = AtRiskOptions {
        as_of: args.when.as_of.clone(),
        tiers: TierOptions { a_share: args.tier_a, b_share: args.tier_b },
        default_owner: args.owner.clone(),
        owners_file: args.customers.clone().map(|p| (p, args.input.read_options())),
        chain_window_days: args.window,
        window_days: args.inactivity_window,
        include_lost: args.include_lost,
        min_severity: args.min_severity.severity(),
        level: args.level,
        capacity: args.capacity,
        churn_risk: args.learned_risk.then(|| holdfast_app::learned_churn(cal)),
        limit: Some(limit),
        ..Default::default()
    };
    let bar = s.bar();
    let q = s.run(holdfast_app::at_risk(&source, &cal, &opts, &bar))?;
    let (as_of, plan) = (q.as_of, &q.plan);
    let l = g.lang();
    if let Some(sync) = &q.saved {
        if !g.quiet {
            match l {
                Lang::En => eprintln!(
                    "store {}: {} personal tasks saved ({} opened, {} rolled over); {} routed to automation, not saved; {} closed (no longer at risk or routed to automation)",
                    source.name(),
                    sync.created + sync.refreshed,
                    sync.created,
                    sync.refreshed,
                    plan.automation,
                    sync.closed
                ),
                Lang::Ru => eprintln!(
                    "хранилище {}: сохранено личных задач: {} (новых {}, перенесено {}); на автоматизацию {}, не сохраняются; закрыто {} (клиент больше не под угрозой или передан автоматизации)",
                    source.name(),
                    sync.created + sync.refreshed,
                    sync.created,
                    sync.refreshed,
                    plan.automation,
                    sync.closed
                ),
            }
        }
    }
    let k = q.currency.minor_per_major().max(1) as f64;
    let worth = plan.worth.as_deref();
    let tasks: Vec<TaskOut> = plan
        .tasks
        .iter()
        .filter(|t| args.json || args.csv || t.plan.is_personal())
        .take(limit)
        .map(|t| TaskOut {
            customer_id: &t.customer_id,
            owner: t.owner.as_deref(),
            stake: t.stake as f64 / k,
            tier: t.tier.to_string(),
            severity: t.severity.as_str(),
            flags: t
                .flags
                .iter()
                .map(|f| FlagOut {
                    kind: f.kind.as_str(),
                    severity: f.severity.as_str(),
                    explanation: f.explanation.to_string(),
                    weight: f.weight as f64 / k,
                    p: f.p,
                    lift: worth.and_then(|w| w.lift(f.kind)),
                    opens_tasks: worth.is_none_or(|w| w.opens_tasks(f.kind)),
                    said: if args.json || args.csv { String::new() } else { explanation(l, f) },
                })
                .collect(),
            suggested_step: t.suggested_step.as_str(),
            due: cal.date(t.due).to_string(),
            state: t.state.as_str(),
            plan: t.plan.as_str(),
            p_churn: t.p_churn,
            expected_value: t.expected_value as f64 / k,
            rolled_over: t.rolled_over,
        })
        .collect();
    let as_of_s = cal.date(as_of).to_string();
    if args.json {
        return print_json(&Out {
            as_of: as_of_s,
            currency: q.currency.to_string(),
            total_tasks: plan.total,
            this_week: plan.this_week,
            waiting: plan.waiting,
            snoozed: plan.snoozed,
            automation: plan.automation,
            informing: plan.informing,
            owners: plan.owners,
            capacity_per_owner: plan.capacity,
            level: args.level,
            p_churn_from: q.p_churn_from,
            step_success: q.step_success.iter().map(|(s, (r, n))| StepOut { step: s.as_str(), success_rate: *r, tasks: *n }).collect(),
            backtest: worth.map(|w| backtest_out(w, &cal)),
            saved: q.saved.as_ref().map(|s| SavedOut { opened: s.created, rolled_over: s.refreshed, closed: s.closed }),
            tasks,
        });
    }
    if args.csv {
        let mut csv = Csv::new(&[
            "customer_id",
            "owner",
            "stake",
            "tier",
            "severity",
            "flags",
            "explanation",
            "suggested_step",
            "due",
            "plan",
            "p_churn",
            "expected_value",
        ]);
        for t in &tasks {
            let kinds: Vec<&str> = t.flags.iter().map(|f| f.kind).collect();
            let why: Vec<&str> = t.flags.iter().map(|f| f.explanation.as_str()).collect();
            csv.row([
                t.customer_id.to_string(),
                t.owner.unwrap_or("").to_string(),
                t.stake.to_string(),
                t.tier.clone(),
                t.severity.to_string(),
                kinds.join(";"),
                why.join("; "),
                t.suggested_step.to_string(),
                t.due.clone(),
                t.plan.to_string(),
                format!("{:.4}", t.p_churn),
                format!("{:.2}", t.expected_value),
            ]);
        }
        return csv.print();
    }
    let cur = q.currency;
    let ru = l == Lang::Ru;
    let cur_name = if ru { l.currency_name(cur) } else { cur.to_string() };
    let mut table = Table::new(&[
        l.t("Customer", "Клиент"),
        l.t("Owner", "Ответственный"),
        &format!("{}, {cur_name}", l.t("Stake", "На кону")),
        l.t("Tier", "Уровень"),
        l.t("P(churn)", "P(ухода)"),
        &format!("{}, {cur_name}", l.t("Value", "Ценность")),
        l.t("Plan", "План"),
        l.t("Step", "Шаг"),
        l.t("Due", "Срок"),
        l.t("Why", "Почему"),
    ]);
    table.right = vec![false, false, true, false, true, true, false, false, false, false];
    for t in &tasks {
        let why: Vec<String> = t
            .flags
            .iter()
            .map(|f| match (ru, f.opens_tasks, f.lift) {
                (false, true, Some(l)) => format!("{} [{}, lift {l:.2}]", f.said, f.kind),
                (false, false, Some(l)) => format!("{} [{}, lift {l:.2}: no signal here, informs only]", f.said, f.kind),
                (false, _, _) => format!("{} [{}]", f.said, f.kind),
                (true, true, Some(x)) => format!("{} [лифт {}]", f.said, l.number(Some(x), 2)),
                (true, false, Some(x)) => format!("{} [лифт {}: здесь без сигнала, только для сведения]", f.said, l.number(Some(x), 2)),
                (true, _, _) => f.said.clone(),
            })
            .collect();
        table.row(vec![
            t.customer_id.to_string(),
            t.owner.unwrap_or("—").to_string(),
            money_text(l, Some(t.stake)),
            t.tier.clone(),
            l.pct(Some(t.p_churn)),
            money_text(l, Some(t.expected_value)),
            if ru { word(l, t.plan) } else { t.plan.replace('_', " ") },
            word(l, t.suggested_step),
            date_text(l, &t.due),
            why.join("; "),
        ]);
    }
    let n = |x: usize| count_text(l, x as i64);
    let personal = plan.personal();
    let mut out = if ru {
        format!(
            "Клиенты под угрозой на {}: задач {} (по одной на клиента) — личных {}: на этой неделе {} (по {} на ответственного, ответственных: {}), ждут очереди {}, отложено {}; на автоматизацию {} (уровень C, только подсчёт, без списка)\n",
            l.date(cal.date(as_of)),
            n(plan.total),
            n(personal),
            n(plan.this_week),
            plan.capacity,
            plan.owners,
            n(plan.waiting),
            n(plan.snoozed),
            n(plan.automation),
        )
    } else {
        format!(
            "Customers at risk as of {as_of_s}: {} tasks (one per customer) — {} personal: {} this week ({} per owner, {} owner{}), {} waiting, {} snoozed; {} routed to automation (tier C, counted, not listed)\n",
            n(plan.total),
            n(personal),
            n(plan.this_week),
            plan.capacity,
            plan.owners,
            if plan.owners == 1 { "" } else { "s" },
            n(plan.waiting),
            n(plan.snoozed),
            n(plan.automation),
        )
    };
    if plan.informing > 0 {
        out.push_str(&if ru {
            format!("Клиентов только с флагами, у которых здесь нет сигнала: {} — они видны в оценке, задачи нет.\n", n(plan.informing))
        } else {
            format!("{} more customers have only flags without signal here: shown by score, no task.\n", n(plan.informing))
        });
    }
    if tasks.len() < personal {
        out.push_str(&if ru {
            format!(
                "Сначала список этой недели, по убыванию ожидаемой ценности (P(ухода) × сумма на кону); показано {} из {} личных задач (--limit N покажет больше).\n",
                n(tasks.len()),
                n(personal)
            )
        } else {
            format!(
                "This week's list first, highest expected value (P(churn) × stake) first; showing {} of {} personal tasks (--limit N shows more).\n",
                tasks.len(),
                n(personal)
            )
        });
    }
    out.push_str(&table.to_text());
    if let Some(w) = worth {
        out.push_str(&if ru {
            format!(
                "\nЧего стоит каждый флаг здесь: флаги на {} против повторных покупок в следующие {} дн. (клиентов: {}), с флагом против без флага при том же числе покупок:\n",
                l.date(cal.date(w.at)),
                w.horizon_days,
                n(w.customers as usize)
            )
        } else {
            format!(
                "\nWhat each flag is worth here: flagged at {} against repurchases in the next {} days ({} customers), flagged vs unflagged with as many purchases:\n",
                cal.date(w.at),
                w.horizon_days,
                n(w.customers as usize)
            )
        });
        let mut wt = Table::new(&[
            l.t("Flag", "Флаг"),
            l.t("Flagged", "С флагом"),
            l.t("Bought again", "Купили снова"),
            l.t("Unflagged bought again", "Без флага купили снова"),
            l.t("Lift", "Лифт"),
            l.t("Opens tasks", "Открывает задачи"),
        ]);
        wt.right = vec![false, true, true, true, true, false];
        for kw in w.kinds.iter().filter(|k| k.flagged > 0) {
            wt.row(vec![
                word(l, kw.kind.as_str()),
                n(kw.flagged as usize),
                l.pct(kw.flagged_rate()),
                l.pct(kw.unflagged_rate()),
                kw.lift.map_or("—".to_string(), |x| if ru { l.number(Some(x), 2) } else { format!("{x:.2}") }),
                match (kw.opens_tasks, ru) {
                    (true, _) => l.yes_no(true).to_string(),
                    (false, false) => format!("no (lift above {NO_SIGNAL})"),
                    (false, true) => format!("нет (лифт выше {})", l.number(Some(NO_SIGNAL), 1)),
                },
            ]);
        }
        out.push_str(&wt.to_text());
    }
    let mut notes = String::new();
    if !args.include_lost {
        notes.push_str(&if ru {
            format!("Клиенты, молчащие дольше {} дн. (ушедшие), не показаны: --include-lost покажет их.\n", args.inactivity_window)
        } else {
            format!("Customers silent for more than {} days (lost) are left out: --include-lost lists them.\n", args.inactivity_window)
        });
    }
    print(&format!("{out}{notes}"))
}
