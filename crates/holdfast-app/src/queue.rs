//! The action queue ("at risk"): red flags turned into one task per customer and a plan a team can
//! work — this week's personal tasks per owner, those waiting, those routed to automation — from a
//! file, or from the store, where owners, activity and open tasks come in and personal tasks are
//! saved.

use crate::error::{Error, Result};
use crate::orders::{load_orders, ReadOptions, Source};
use crate::progress::Progress;
use crate::when::resolve_as_of;
use crate::workspace::App;
use holdfast_core::actions::{action_plan, step_success, OpenTask, QueueOptions, QueuePlan, Step, Task};
use holdfast_core::baseline::DEFAULT_LEVEL;
use holdfast_core::flags::{Activity, Severity};
use holdfast_core::nbo::{service_chains, NboOptions};
use holdfast_core::segments::{Basis, TierOptions};
use holdfast_core::{Calendar, Currency, Instant, OrderLog};
use holdfast_store::{NewTask, TaskSync};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A step's success is an order within this many days of the task being done.
const STEP_HORIZON_DAYS: i64 = 90;
/// A step's success rate is known once this many of its tasks were done long enough ago.
const STEP_MIN_TASKS: usize = 20;

/// A caller's P(churn) for every customer of an order log at an as-of instant, by customer index
/// (e.g. a learned risk model); values that are not finite fall back to the rhythm's own.
#[derive(Clone)]
pub struct ChurnRisk(pub Arc<dyn Fn(&OrderLog, Option<&Activity>, Instant) -> Vec<f64> + Send + Sync>);

impl std::fmt::Debug for ChurnRisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChurnRisk(..)")
    }
}

/// What to put in the queue.
#[derive(Clone, Debug)]
pub struct AtRiskOptions {
    /// Analysis date (a date or an RFC 3339 instant); default the day after the last order.
    pub as_of: Option<String>,
    pub tiers: TierOptions,
    /// Owner of customers without one.
    pub default_owner: Option<String>,
    /// A customers file with an owner column (owners otherwise come from the store).
    pub owners_file: Option<(PathBuf, ReadOptions)>,
    /// Window in days within which a service chain's next step counts.
    pub chain_window_days: u32,
    /// Inactivity window W in days.
    pub window_days: u32,
    pub include_lost: bool,
    pub min_severity: Severity,
    /// Flags are raised below this chance (0 to 1, default 5%).
    pub level: f64,
    /// Personal tasks per owner per week (default 25).
    pub capacity: usize,
    /// P(churn) from a caller's model; `None`: the rhythm's own.
    pub churn_risk: Option<ChurnRisk>,
    /// Each step's historical success rate (see [`holdfast_core::actions::step_success`]);
    /// over a store, measured from its done tasks when empty.
    pub step_success: BTreeMap<Step, f64>,
    /// Build only the first `limit` tasks (all are counted). Over a store every personal task is
    /// also built and saved whatever the limit.
    pub limit: Option<usize>,
}

impl Default for AtRiskOptions {
    fn default() -> Self {
        AtRiskOptions {
            as_of: None,
            tiers: TierOptions::default(),
            default_owner: None,
            owners_file: None,
            chain_window_days: 60,
            window_days: 365,
            include_lost: false,
            min_severity: Severity::Low,
            level: DEFAULT_LEVEL,
            capacity: 25,
            churn_risk: None,
            step_success: BTreeMap::new(),
            limit: None,
        }
    }
}

/// The queue.
#[derive(Debug)]
pub struct AtRisk {
    pub as_of: Instant,
    pub currency: Currency,
    /// Customers with a task (personal and automation): `plan.total`.
    pub total: usize,
    /// The plan: counts (customers at risk, this week, waiting, snoozed, automation, informing),
    /// the backtest of each kind of flag, and the first tasks in the plan's order.
    pub plan: QueuePlan,
    /// Over a store: what saving the personal tasks did (tasks opened, open tasks rolled over).
    pub saved: Option<TaskSync>,
    /// Where P(churn) came from: `learned` (the caller's model, e.g. `--learned-risk`),
    /// `snapshot` (the learned risk `holdfast score` saved at this as-of) or `rhythm` (the
    /// customer's own rhythm).
    pub p_churn_from: &'static str,
    /// The steps' success rates used (rate, tasks measured), where known.
    pub step_success: BTreeMap<Step, (f64, usize)>,
}

impl AtRisk {
    /// The tasks built, in the plan's order.
    pub fn tasks(&self) -> &[Task] {
        &self.plan.tasks
    }
}

/// Builds the queue of `source` (days cut in `cal`) and, over a store, saves its personal tasks.
pub async fn at_risk(source: &Source, cal: &Calendar, opts: &AtRiskOptions, progress: &dyn Progress) -> Result<AtRisk> {
    let orders = load_orders(source, cal, true, progress).await?;
    let log = orders.log;
    let as_of = resolve_as_of(opts.as_of.as_deref(), &log, cal, &source.name())?;
    let app = source.app();
    let mut owners = BTreeMap::new();
    if let Some((path, read)) = &opts.owners_file {
        owners = owners_from_file(path, read, cal)?;
    }
    let mut activity = None;
    let mut open = Vec::new();
    if let Some(app) = app {
        activity = Some(app.activity().await?);
        for (c, o) in app.store.owners(app.ws.id).await? {
            if !o.trim().is_empty() {
                owners.entry(c).or_insert(o);
            }
        }
        open = app.store.open_tasks(app.ws.id).await?;
    }
    // What the store adds to the caller's options: a copy of them, made only when it adds
    // something.
    let mut own: Option<AtRiskOptions> = None;
    // Over a store scored at this as-of (`holdfast score`), P(churn) is the snapshot's learned
    // risk unless the caller brings its own; customers it did not score keep the rhythm's.
    let mut p_churn_from = if opts.churn_risk.is_some() { "learned" } else { "rhythm" };
    if let (Some(app), None) = (app, &opts.churn_risk) {
        let risks: std::collections::HashMap<String, f64> = app.store.risks_at(app.ws.id, as_of).await?.into_iter().collect();
        if !risks.is_empty() {
            let risks = Arc::new(risks);
            let risk = ChurnRisk(Arc::new(move |log: &OrderLog, _, _| {
                (0..log.n_customers()).map(|c| risks.get(log.customer_id(c as holdfast_core::CustomerIdx)).copied().unwrap_or(f64::NAN)).collect()
            }));
            own.get_or_insert_with(|| opts.clone()).churn_risk = Some(risk);
            p_churn_from = "snapshot";
        }
    }
    // Over a store, each step's success rate from its done tasks: did the customer order within
    // 90 days of the task? Known once 20 tasks of a step were done 90 days or more ago.
    let mut measured = BTreeMap::new();
    if let (Some(app), true) = (app, opts.step_success.is_empty()) {
        let done: Vec<(String, Step, Instant)> =
            app.store.done_tasks(app.ws.id).await?.into_iter().filter_map(|(c, step, at)| Some((c, Step::parse(&step)?, at))).collect();
        measured = step_success(&log, &done, as_of, STEP_HORIZON_DAYS, STEP_MIN_TASKS);
        if !measured.is_empty() {
            own.get_or_insert_with(|| opts.clone()).step_success = measured.iter().map(|(s, (r, _))| (*s, *r)).collect();
        }
    }
    let opts = own.as_ref().unwrap_or(opts);
    // The same tasks from a file and a store; over a store every personal task is built too, to
    // be saved.
    let k = opts.limit.unwrap_or(usize::MAX);
    let plan = plan_queue(&log, activity.as_ref(), as_of, opts, owners, &open, k, app.is_some())?;
    let mut saved = None;
    if let Some(app) = app {
        let mut sync = sync_action_queue(app, &plan.tasks, as_of).await?;
        // With every flag in view (no severity filter), the queue's own open tasks of customers it
        // no longer proposes are closed, saying why; a filtered view closes nothing.
        if opts.min_severity == Severity::Low {
            sync.closed = close_stale_tasks(app, &log, &plan, cal, as_of).await?;
        }
        saved = Some(sync);
    }
    let step_success = if measured.is_empty() { opts.step_success.iter().map(|(s, r)| (*s, (*r, 0))).collect() } else { measured };
    Ok(AtRisk { as_of, currency: log.currency(), total: plan.total, plan, saved, p_churn_from, step_success })
}

/// The queue's plan of `log` at `as_of` with `opts` (owners and open tasks given), its first `k`
/// tasks built — and every personal one with `personal`. The one rule `at-risk`, the store's
/// sync and `score` count by.
#[allow(clippy::too_many_arguments)]
pub fn plan_queue(
    log: &OrderLog,
    activity: Option<&Activity>,
    as_of: Instant,
    opts: &AtRiskOptions,
    owners: BTreeMap<String, String>,
    open: &[holdfast_store::Task],
    k: usize,
    personal: bool,
) -> Result<QueuePlan> {
    for (name, v) in [("tier A share", opts.tiers.a_share), ("tier B share", opts.tiers.b_share)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::user(format!("{name}: expected a share between 0 and 1, got {v}")));
        }
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(Error::user(format!("level: expected a probability between 0 and 1 (e.g. 0.05), got {}", opts.level)));
    }
    if opts.capacity == 0 {
        return Err(Error::user("capacity: expected at least 1 personal task per owner per week"));
    }
    let mut q = QueueOptions::new(as_of);
    q.tiers = opts.tiers;
    q.default_owner = opts.default_owner.clone();
    q.owners = owners;
    q.nbo.window_days = opts.chain_window_days;
    q.window_days = opts.window_days;
    q.include_lost = opts.include_lost;
    q.min_severity = opts.min_severity;
    q.level = opts.level;
    q.capacity = opts.capacity;
    q.build_personal = personal;
    q.open = open
        .iter()
        .filter(|t| t.state == holdfast_store::TaskState::Open)
        .map(|t| OpenTask { customer_id: t.customer.clone(), snoozed_until: t.snoozed_until })
        .collect();
    q.churn_risk = opts.churn_risk.as_ref().map(|r| Arc::from((r.0)(log, activity, as_of)));
    q.step_success = opts.step_success.clone();
    let basis = Basis::new(log, as_of, &q.tiers);
    let chains = service_chains(log, &NboOptions { window_days: opts.chain_window_days, ..NboOptions::new(as_of) });
    Ok(action_plan(log, activity, &chains, &q, &basis, k))
}

/// Saves the queue's personal tasks in the store, one per customer holding all its flags: a
/// customer without an open task gets a new one, an open one rolls over (its flags, reason, step,
/// due date, stake and plan refreshed), stamped `now`. Tasks routed to automation are not saved.
pub async fn sync_action_queue(app: &App, tasks: &[Task], now: Instant) -> Result<TaskSync> {
    let proposed: Vec<NewTask> = tasks
        .iter()
        .filter(|t| t.plan.is_personal())
        .filter_map(|t| {
            let first = t.flags.first()?;
            Some(NewTask {
                customer: t.customer_id.clone(),
                kind: first.kind,
                kinds: t.flags.iter().map(|f| f.kind).collect(),
                reason: t.reason(),
                suggested_step: t.suggested_step.as_str().to_string(),
                due_at: Some(t.due),
                stake: Some(t.stake),
                plan: Some(t.plan.as_str().to_string()),
                expected_value: Some(t.expected_value),
                tier: Some(t.tier.as_str().to_string()),
                origin: Some("queue".into()),
                reason_ru: Some(t.flags.iter().map(|f| holdfast_report::vocab::explanation(holdfast_report::Lang::Ru, f)).collect::<Vec<_>>().join("; ")),
            })
        })
        .collect();
    Ok(app.store.sync_tasks(app.ws.id, &proposed, now).await?)
}

/// Closes the queue's open tasks of customers without a personal task in `plan`: those at risk
/// were routed to automation, the others are no longer at risk (they ordered again, or their
/// flags no longer open tasks). Returns how many were closed.
async fn close_stale_tasks(app: &App, log: &OrderLog, plan: &QueuePlan, cal: &Calendar, as_of: Instant) -> Result<u64> {
    let keep: std::collections::HashSet<&str> = plan.tasks.iter().filter(|t| t.plan.is_personal()).map(|t| t.customer_id.as_str()).collect();
    let automation: std::collections::HashSet<&str> = plan.at_risk.iter().map(|&c| log.customer_id(c)).filter(|id| !keep.contains(id)).collect();
    let day = cal.date(as_of).format("%Y-%m-%d").to_string();
    let reason = |customer: &str| {
        if automation.contains(customer) {
            format!("closed by the queue on {day}: routed to automation (a template sequence)")
        } else {
            format!("closed by the queue on {day}: no longer at risk")
        }
    };
    Ok(app.store.close_queue_tasks_except(app.ws.id, &keep, &reason, as_of).await?)
}

/// Owners by customer id from a customers file with an owner (manager) column.
pub fn owners_from_file(path: &std::path::Path, read: &ReadOptions, cal: &Calendar) -> Result<BTreeMap<String, String>> {
    let spec = holdfast_import::TableSpec::customers();
    let mut opts = read.import_options(*cal);
    // The column map and delimiter given for the orders file do not apply to the customers file.
    opts.column_map = Vec::new();
    opts.delimiter = None;
    opts.currency = None;
    let table = holdfast_import::read_table(path, &spec, &opts)?;
    let (ci, oi) = (spec.index("customer_id").unwrap_or(usize::MAX), spec.index("owner").unwrap_or(usize::MAX));
    let mut out = BTreeMap::new();
    for r in &table.rows {
        if let (Some(c), Some(o)) = (r.text(ci), r.text(oi)) {
            if !c.trim().is_empty() && !o.trim().is_empty() {
                out.insert(c.trim().to_string(), o.trim().to_string());
            }
        }
    }
    if out.is_empty() && !table.rows.is_empty() {
        return Err(Error::user(format!("{} has no owner column (e.g. \"owner\" or \"manager\")", path.display())));
    }
    Ok(out)
}
