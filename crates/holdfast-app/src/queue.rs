//! The action queue ("at risk"): red flags turned into tasks, highest stake first — from a file,
//! or from the store, where owners, activity and open tasks come in and new tasks are saved.

use crate::error::{Error, Result};
use crate::orders::{load_orders, ReadOptions, Source};
use crate::progress::Progress;
use crate::when::resolve_as_of;
use crate::workspace::App;
use holdfast_core::actions::{action_queue_top, QueueOptions, Task};
use holdfast_core::flags::Severity;
use holdfast_core::nbo::{service_chains, NboOptions};
use holdfast_core::segments::{Basis, TierOptions};
use holdfast_core::{Calendar, Currency, Instant};
use holdfast_store::{NewTask, TaskSync};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Build only the first `limit` tasks (all are counted). Over a store every task is built
    /// and saved whatever the limit.
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
            limit: None,
        }
    }
}

/// The queue.
#[derive(Debug)]
pub struct AtRisk {
    pub as_of: Instant,
    pub currency: Currency,
    /// Tasks in all (`tasks` may hold only the first ones).
    pub total: usize,
    pub tasks: Vec<Task>,
    /// Over a store: what saving the queue did (tasks opened, open tasks refreshed).
    pub saved: Option<TaskSync>,
}

/// Builds the queue of `source` (days cut in `cal`) and, over a store, saves its new tasks.
pub async fn at_risk(source: &Source, cal: &Calendar, opts: &AtRiskOptions, progress: &dyn Progress) -> Result<AtRisk> {
    for (name, v) in [("tier A share", opts.tiers.a_share), ("tier B share", opts.tiers.b_share)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::user(format!("{name}: expected a share between 0 and 1, got {v}")));
        }
    }
    let orders = load_orders(source, cal, true, progress).await?;
    let log = orders.log;
    let as_of = resolve_as_of(opts.as_of.as_deref(), &log, cal, &source.name())?;
    let mut q = QueueOptions::new(as_of);
    q.tiers = opts.tiers;
    q.default_owner = opts.default_owner.clone();
    q.nbo.window_days = opts.chain_window_days;
    q.window_days = opts.window_days;
    q.include_lost = opts.include_lost;
    q.min_severity = opts.min_severity;
    if let Some((path, read)) = &opts.owners_file {
        q.owners = owners_from_file(path, read, cal)?;
    }
    let app = source.app();
    let mut activity = None;
    if let Some(app) = app {
        activity = Some(app.store.load_activity(app.ws.id, None).await?.to_core());
        for (c, o) in app.store.owners(app.ws.id).await? {
            if !o.trim().is_empty() {
                q.owners.entry(c).or_insert(o);
            }
        }
    }
    let basis = Basis::new(&log, as_of, &q.tiers);
    let chains = service_chains(&log, &NboOptions { window_days: opts.chain_window_days, ..NboOptions::new(as_of) });
    let k = if app.is_some() { usize::MAX } else { opts.limit.unwrap_or(usize::MAX) };
    let (total, tasks) = action_queue_top(&log, activity.as_ref(), &chains, &q, &basis, k);
    let mut saved = None;
    if let Some(app) = app {
        saved = Some(sync_action_queue(app, &tasks, as_of).await?);
    }
    Ok(AtRisk { as_of, currency: log.currency(), total, tasks, saved })
}

/// Saves the queue in the store: every flag of every task is proposed; a (customer, flag kind)
/// without an open task gets a new one, an open one is refreshed (reason, step, due date, stake),
/// stamped `now`. Never two open tasks of one customer and kind.
pub async fn sync_action_queue(app: &App, tasks: &[Task], now: Instant) -> Result<TaskSync> {
    let proposed: Vec<NewTask> = tasks
        .iter()
        .flat_map(|t| {
            t.flags.iter().map(|f| NewTask {
                customer: t.customer_id.clone(),
                kind: f.kind,
                reason: f.explanation.to_string(),
                suggested_step: t.suggested_step.as_str().to_string(),
                due_at: Some(t.due),
                stake: Some(t.stake),
            })
        })
        .collect();
    Ok(app.store.sync_tasks(app.ws.id, &proposed, now).await?)
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
