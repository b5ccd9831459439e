//! `holdfast at-risk`: the action queue — customers drifting from their own rhythm, highest stake first.

use crate::args::When;
use crate::output::{print, print_json, Csv};
use crate::session::Session;
use crate::Global;
use holdfast_app::AtRiskOptions;
use holdfast_core::flags::Severity;
use holdfast_core::segments::TierOptions;
use holdfast_report::Table;
use serde::Serialize;
use std::path::PathBuf;

/// The action queue: one task per customer with red flags (silence beyond their own rhythm, fewer
/// orders than their earlier rate, shrinking orders, fewer product categories), each explained from
/// the customer's own numbers, with the stake (their revenue so far), a suggested step by value tier
/// and a due date by severity. Highest stake first. Rules: docs/SEGMENTS.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast at-risk --orders orders.csv --limit 20\n  holdfast at-risk --orders orders.csv --as-of 2024-01-01 --owner anna --json\n  holdfast at-risk --orders orders.csv --csv > tasks.csv"
)]
pub struct Args {
    /// Orders file (CSV). Omitted: the orders in the store given by --db.
    #[arg(long, value_name = "FILE")]
    pub orders: Option<PathBuf>,
    #[command(flatten)]
    pub when: When,
    #[command(flatten)]
    pub input: crate::args::OrdersInput,
    /// Show only the first N tasks (the table shows the first 25 unless told; JSON and CSV all).
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
}

#[derive(Serialize)]
struct Out<'a> {
    as_of: String,
    currency: String,
    total_tasks: usize,
    tasks: Vec<TaskOut<'a>>,
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
        limit: Some(limit),
    };
    let bar = s.bar();
    let q = s.run(holdfast_app::at_risk(&source, &cal, &opts, &bar))?;
    let (as_of, total, queue) = (q.as_of, q.total, q.tasks);
    if let Some(sync) = &q.saved {
        if !g.quiet {
            eprintln!("store {}: {} new tasks opened; {} open tasks refreshed", source.name(), sync.created, sync.refreshed);
        }
    }
    let k = q.currency.minor_per_major().max(1) as f64;
    let tasks: Vec<TaskOut> = queue
        .iter()
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
                .map(|f| FlagOut { kind: f.kind.as_str(), severity: f.severity.as_str(), explanation: f.explanation.to_string(), weight: f.weight as f64 / k })
                .collect(),
            suggested_step: t.suggested_step.as_str(),
            due: cal.date(t.due).to_string(),
            state: t.state.as_str(),
        })
        .collect();
    let as_of_s = cal.date(as_of).to_string();
    if args.json {
        return print_json(&Out { as_of: as_of_s, currency: q.currency.to_string(), total_tasks: total, tasks });
    }
    if args.csv {
        let mut csv = Csv::new(&["customer_id", "owner", "stake", "tier", "severity", "flags", "explanation", "suggested_step", "due"]);
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
            ]);
        }
        return csv.print();
    }
    let cur = q.currency;
    let mut table = Table::new(&["Customer", &format!("Stake, {cur}"), "Tier", "Severity", "Step", "Due", "Why"]);
    table.right = vec![false, true, false, false, false, false, false];
    for t in &tasks {
        let why: Vec<&str> = t.flags.iter().map(|f| f.explanation.as_str()).collect();
        table.row(vec![
            t.customer_id.to_string(),
            holdfast_report::format::fmt_money(Some(t.stake)),
            t.tier.clone(),
            t.severity.to_string(),
            t.suggested_step.to_string(),
            t.due.clone(),
            why.join("; "),
        ]);
    }
    let shown = if tasks.len() < total { format!(", showing the first {}", tasks.len()) } else { String::new() };
    let mut notes = String::new();
    if !args.include_lost {
        notes.push_str(&format!("Customers silent for more than {} days (lost) are left out: --include-lost lists them.\n", args.inactivity_window));
    }
    if matches!(args.min_severity, SeverityArg::Low) && total > tasks.len() {
        notes.push_str("--min-severity medium or high keeps only the stronger signals.\n");
    }
    print(&format!("Customers needing attention as of {as_of_s}: {total} tasks, highest stake first{shown}\n{}{notes}", table.to_text()))
}
