//! Experiments: proof, not attribution. Every workflow a front end runs around a campaign's
//! control group — importing who was assigned to which group ([`import_assignments`]), the
//! report of one campaign with its intervals, ROI and verdict ([`experiment_report`]), the
//! minimum detectable effect before a campaign starts ([`plan_experiment`]), the list of
//! campaigns ([`list_experiments`]) and the workspace-wide global holdout
//! ([`global_holdout`], [`set_global_holdout`]).
//!
//! The statistics are `holdfast-experiments`'; this module reads the store and the files, turns
//! each assigned customer's counted orders into outcomes, and hands them over. Definitions:
//! `docs/METRICS.md`, "Experiments".

use crate::error::{Error, Result};
use crate::orders::ReadOptions;
use crate::progress::Progress;
use crate::when::parse_instant;
use crate::workspace::App;
use holdfast_core::{Calendar, Currency, Instant, DAY};
use holdfast_experiments::{analyse, in_global_holdout, is_control, BootstrapOptions, Design, ExperimentReport, Options, Plan, Share, Unit};
use holdfast_import::{FieldKind, FieldSpec, TableReader, TableSpec};
use holdfast_store::{AssignmentRecord, CampaignSettings};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The currency an experiment is measured in: that of the stored orders (as reports over the
/// store use), else the workspace's.
pub async fn reporting_currency(app: &App) -> Result<Currency> {
    Ok(app.store.orders_currency(app.ws.id).await?.unwrap_or(app.ws.currency))
}

/// A file to read: a path (the CLI) or uploaded bytes with the name messages use (the web).
#[derive(Clone, Debug)]
pub enum FileInput<'a> {
    Path(&'a Path),
    Bytes { name: &'a str, bytes: Vec<u8> },
}

impl FileInput<'_> {
    fn name(&self) -> String {
        match self {
            FileInput::Path(p) => p.display().to_string(),
            FileInput::Bytes { name, .. } => (*name).to_owned(),
        }
    }
}

/// How to read an assignments file and what to record about its campaigns.
#[derive(Clone, Debug, Default)]
pub struct AssignmentOptions {
    pub read: ReadOptions,
    /// Attribution window, planned split and margin of the campaigns the file names (`None`:
    /// keep what is stored; a new campaign gets a 30-day window).
    pub settings: CampaignSettings,
}

/// What an assignments import did.
#[derive(Clone, Debug, Serialize)]
pub struct AssignmentImport {
    pub file: String,
    pub rows: u64,
    pub campaigns: Vec<String>,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows repeating an earlier row exactly (ignored).
    pub repeated: u64,
    /// Things worth knowing that did not stop the import (treated customers in the global holdout).
    pub warnings: Vec<String>,
}

/// The columns of an assignments file: `customer_id,campaign,group,assigned_at[,cost]`.
pub fn assignments_spec() -> TableSpec {
    TableSpec {
        name: "assignments",
        fields: vec![
            FieldSpec::new("customer_id", holdfast_import::CUSTOMER_ID_HEADERS, FieldKind::Text).required(),
            FieldSpec::new(
                "campaign",
                &["campaign", "campaign_name", "campaign name", "кампания", "название кампании", "кампанія", "кампания"],
                FieldKind::Text,
            )
            .required(),
            FieldSpec::new("group", &["group", "group_name", "variant", "arm", "группа", "вариант", "група", "варіант"], FieldKind::Text).required(),
            FieldSpec::new(
                "assigned_at",
                &["assigned_at", "assigned", "assignment date", "sent_at", "дата назначения", "дата отправки", "дата призначення", "дата на назначаване"],
                FieldKind::DateTime,
            )
            .required(),
            FieldSpec::new(
                "cost",
                &["cost", "cost_per_customer", "стоимость", "затраты", "вартість", "витрати", "разход", "цена на контакт"],
                FieldKind::Money,
            ),
        ],
    }
}

/// A group name as stored: trimmed; `control` (any case, or Russian `контроль`) and `treatment`
/// (any case) written in lower case; other variant names as given.
pub fn canonical_group(g: &str) -> String {
    let t = g.trim();
    if is_control(t) {
        "control".to_owned()
    } else if t.eq_ignore_ascii_case("treatment") {
        "treatment".to_owned()
    } else {
        t.to_owned()
    }
}

/// Imports an assignments file — header `customer_id,campaign,group,assigned_at[,cost]`, group
/// `treatment`, `control` or a variant's name, cost per customer in the currency of the stored
/// orders ([`reporting_currency`]) — into the app's workspace in **one transaction**: any bad row
/// leaves the store as it was.
/// Refused with the file, line, column and value: an unreadable date or cost, an empty or
/// over-long group, a customer not in the store, one customer in two groups of a campaign (in
/// the file or against what is stored), and a campaign left without a control group.
pub async fn import_assignments(app: &App, input: FileInput<'_>, opts: &AssignmentOptions, progress: &dyn Progress) -> Result<AssignmentImport> {
    let file = input.name();
    let cal = app.calendar()?;
    let spec = assignments_spec();
    let read = opts.read.import_options(cal);
    let mut reader = match input {
        FileInput::Path(p) => TableReader::open(p, &spec, &read)?,
        FileInput::Bytes { name, bytes } => TableReader::from_bytes(name, bytes, &spec, &read)?,
    };
    let ix = |name: &str| spec.index(name).unwrap_or(usize::MAX);
    let err = |line: u64, col: &str, msg: String| Error::user(format!("{file}:{line}: column {col}: {msg}"));
    let ws_cur = reporting_currency(app).await?;
    let mut rows: Vec<AssignmentRecord> = Vec::new();
    while let Some(batch) = reader.next_batch()? {
        for r in batch {
            let line = r.line;
            let text = |f: &str| r.text(ix(f)).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
            let customer = text("customer_id").ok_or_else(|| err(line, "customer_id", "the customer is empty".into()))?;
            let campaign = text("campaign").ok_or_else(|| err(line, "campaign", "the campaign is empty".into()))?;
            let raw_group = text("group").ok_or_else(|| err(line, "group", "the group is empty (expected treatment, control or a variant's name)".into()))?;
            if raw_group.chars().count() > 100 || raw_group.chars().any(char::is_control) {
                return Err(err(
                    line,
                    "group",
                    format!("{raw_group:?} is not a group name (expected treatment, control or a variant's name of at most 100 characters)"),
                ));
            }
            let assigned_at = r.instant(ix("assigned_at")).ok_or_else(|| err(line, "assigned_at", "the assignment time is empty".into()))?;
            let cost = match r.money(ix("cost")) {
                None => None,
                Some((minor, cur)) => Some(cost_in(minor, cur, ws_cur).map_err(|m| err(line, "cost", m))?),
            };
            rows.push(AssignmentRecord { line, customer, campaign, group: canonical_group(&raw_group), assigned_at, cost });
        }
        let (done, total) = reader.progress();
        progress.update("reading", done, total);
    }
    progress.finish();
    let summary = reader.summary();
    if summary.skipped > 0 {
        return Err(Error::user(format!(
            "{file}: {} rows could not be read; an assignments file is imported whole or not at all (first: {})",
            summary.skipped,
            summary.skip_reasons.join("; ")
        )));
    }

    // Every campaign must keep a control group, counting what is stored.
    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &rows {
        groups.entry(&r.campaign).or_default().insert(&r.group);
    }
    let stored = app.store.campaigns(app.ws.id).await?;
    for (campaign, gs) in &groups {
        let mut all: BTreeSet<&str> = gs.clone();
        if let Some(c) = stored.iter().find(|c| c.name == *campaign) {
            all.extend(c.groups.iter().map(|(g, _)| g.as_str()));
        }
        if !all.iter().any(|g| is_control(g)) {
            return Err(Error::user(format!(
                "{file}: campaign {campaign:?} has no control group (its groups: {}): without customers who got nothing there is nothing to measure it against; put the held-out customers in a group named \"control\"",
                all.iter().copied().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut settings = opts.settings.clone();
    if let Some(split) = &mut settings.planned_split {
        for (g, _) in split.iter_mut() {
            *g = canonical_group(g);
        }
    }

    let now = chrono::Utc::now().timestamp();
    let sum = app.store.write_assignments(app.ws.id, &rows, &settings, now).await.map_err(|e| located(&file, e))?;
    let mut warnings = Vec::new();
    let share = Share::from_buckets(app.store.global_holdout(app.ws.id).await?).unwrap_or(Share::ZERO);
    if share.buckets() > 0 {
        let held: Vec<&AssignmentRecord> = rows.iter().filter(|r| !is_control(&r.group) && in_global_holdout(&r.customer, share)).collect();
        if let Some(first) = held.first() {
            warnings.push(format!(
                "{} treated customers (e.g. {:?} on line {}) are in the workspace's global holdout ({:.1}%), which no campaign should contact: the program-wide measurement loses them",
                held.len(),
                first.customer,
                first.line,
                share.fraction() * 100.0
            ));
        }
    }
    Ok(AssignmentImport {
        file,
        rows: rows.len() as u64,
        campaigns: sum.campaigns,
        inserted: sum.inserted,
        updated: sum.updated,
        unchanged: sum.unchanged,
        repeated: sum.repeated,
        warnings,
    })
}

/// A cost cell in minor units of the reporting currency `ws` ([`reporting_currency`]).
fn cost_in(minor: i64, cur: Option<Currency>, ws: Currency) -> Result<i64, String> {
    if let Some(c) = cur.filter(|c| *c != ws) {
        return Err(format!("the cost is in {c}, but the orders are in {ws}; give costs in {ws}"));
    }
    if minor < 0 {
        return Err(format!("{} is negative: a cost is what reaching the customer took", holdfast_core::money::format_minor(minor, ws)));
    }
    // Without a currency in the value, amounts are read with two decimals.
    Ok(match (cur, ws.minor_digits()) {
        (None, d) if d < 2 => minor / 10i64.pow(2 - d),
        (None, d) if d > 2 => minor * 10i64.pow(d - 2),
        _ => minor,
    })
}

/// A store error about a row, prefixed with the file: `assignments.csv:7: column customer_id: …`.
fn located(file: &str, e: holdfast_store::Error) -> Error {
    match e {
        holdfast_store::Error::Row { line, column: Some(c), message } => Error::user(format!("{file}:{line}: column {c}: {message}")),
        holdfast_store::Error::Row { line, column: None, message } => Error::user(format!("{file}:{line}: {message}")),
        e => e.into(),
    }
}

/// What to report on.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    pub campaign: String,
    /// Attribution window in days (default: the campaign's).
    pub window_days: Option<u32>,
    /// As-of date or instant (default: the local midnight after the workspace's last counted order).
    pub as_of: Option<String>,
    /// Gross margin (default: the campaign's).
    pub margin: Option<f64>,
    /// Length of the pre-period whose revenue is CUPED's covariate.
    pub pre_days: u32,
    pub bootstrap: BootstrapOptions,
}

impl ReportRequest {
    pub fn new(campaign: &str) -> ReportRequest {
        ReportRequest {
            campaign: campaign.to_owned(),
            window_days: None,
            as_of: None,
            margin: None,
            pre_days: DEFAULT_PRE_DAYS,
            bootstrap: BootstrapOptions::default(),
        }
    }
}

/// The pre-period of the CUPED covariate: the year before assignment.
pub const DEFAULT_PRE_DAYS: u32 = 365;

/// The as-of instant: `explicit` when given, else the local midnight after the last counted order.
async fn as_of(app: &App, cal: &Calendar, explicit: Option<&str>) -> Result<Instant> {
    match explicit {
        Some(s) => parse_instant(s, cal).map_err(|e| Error::user(format!("as-of date: {e}"))),
        None => match app.store.last_counted_order_at(app.ws.id).await? {
            Some(t) => Ok(cal.start_of_day(cal.date(t) + chrono::Days::new(1))),
            None => Err(Error::user(format!("the store {} has no counted orders: nothing to measure (import orders, or give an as-of date)", app.url()))),
        },
    }
}

/// The outcomes of one assigned customer from its counted orders (`orders`: by time, within
/// `[assigned_at − max(pre, W), assigned_at + window)` and before the as-of):
/// orders and revenue in the window `[t, t + window)`, revenue in the pre-period `[t − pre, t)`,
/// and whether it is active at the window's end `e = t + window` (a counted order in `[e − W, e)`).
pub fn outcomes(assigned_at: Instant, orders: &[(Instant, i64)], window: i64, pre: i64, inactivity: i64) -> (u32, i64, i64, bool) {
    let end = assigned_at + window;
    let (mut n, mut revenue, mut pre_revenue, mut retained) = (0u32, 0i64, 0i64, false);
    for &(at, amount) in orders {
        if at >= assigned_at && at < end {
            n += 1;
            revenue += amount;
        } else if at < assigned_at && at >= assigned_at - pre {
            pre_revenue += amount;
        }
        retained |= at < end && at >= end - inactivity;
    }
    (n, revenue, pre_revenue, retained)
}

/// The report of one campaign: groups as assigned, conversion, revenue and orders with their
/// intervals (Welch, bootstrap, CUPED), incremental revenue and profit, ROI, the sample-ratio
/// check, "not final" before every window has closed, Holm for several variants, and the
/// verdict. A campaign without a control group is refused.
pub async fn experiment_report(app: &App, req: &ReportRequest) -> Result<ExperimentReport> {
    let campaign = app.store.campaign(app.ws.id, &req.campaign).await.map_err(|e| match e {
        holdfast_store::Error::NotFound { .. } => {
            Error::not_found(format!("no campaign named {:?} in {} (`holdfast experiment list` shows them)", req.campaign, app.url()))
        }
        e => e.into(),
    })?;
    let window_days = req.window_days.unwrap_or(campaign.window_days);
    if window_days == 0 {
        return Err(Error::user("the attribution window must be at least 1 day"));
    }
    if let Some(m) = req.margin {
        if !(m > 0.0 && m <= 1.0) {
            return Err(Error::user(format!("the margin {m} is not a share of revenue between 0 and 1 (e.g. 0.35)")));
        }
    }
    let cal = app.calendar()?;
    let as_of = as_of(app, &cal, req.as_of.as_deref()).await?;
    let (window, pre, inactivity) = (window_days as i64 * DAY, req.pre_days as i64 * DAY, app.ws.window_days as i64 * DAY);
    let currency = reporting_currency(app).await?;
    let rows = app.store.assigned_orders(app.ws.id, &req.campaign, pre.max(inactivity), window, as_of, currency).await.map_err(|e| match e {
        holdfast_store::Error::Invalid(m) => Error::user(m),
        e => e.into(),
    })?;
    // Groups: control first, then the others by name.
    let mut names: Vec<String> = rows.iter().map(|r| r.group.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    names.sort_by_key(|g| !is_control(g));
    let units: Vec<Unit> = rows
        .iter()
        .map(|r| {
            let (orders, revenue, pre_revenue, retained) = outcomes(r.assigned_at, &r.orders, window, pre, inactivity);
            let group = names.iter().position(|g| *g == r.group).unwrap_or(0) as u32;
            Unit { group, orders, revenue, pre_revenue, retained, cost: r.cost.unwrap_or(0) }
        })
        .collect();
    let last = rows.iter().map(|r| r.assigned_at).max().unwrap_or(as_of);
    let planned = campaign.planned_split.as_ref().map(|split| names.iter().map(|g| split.iter().find(|(s, _)| s == g).map_or(0.0, |(_, x)| *x)).collect());
    let design = Design {
        campaign: campaign.name.clone(),
        groups: names,
        planned,
        window_days,
        pre_days: req.pre_days,
        currency,
        margin: req.margin.or(campaign.margin),
        as_of: cal.date(as_of).to_string(),
        window_end: cal.date(last + window).to_string(),
        is_final: as_of >= last + window,
    };
    let mut report = analyse(&design, &units, &Options { bootstrap: req.bootstrap, ..Options::default() }).map_err(|e| Error::user(e.to_string()))?;
    let treated_costs: Vec<bool> = rows.iter().filter(|r| !is_control(&r.group)).map(|r| r.cost.is_some()).collect();
    if treated_costs.contains(&true) && treated_costs.contains(&false) {
        report.warnings.push("some treated customers have no cost in the assignments: they count as costing nothing".to_owned());
    }
    Ok(report)
}

/// The outcome an experiment is planned for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanMetric {
    Conversion,
    Revenue,
}

impl PlanMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanMetric::Conversion => "conversion",
            PlanMetric::Revenue => "revenue",
        }
    }
}

/// What to plan.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    /// Customers the campaign will reach, control included.
    pub audience: u64,
    /// The control share (0 < h < 1).
    pub holdout: f64,
    pub metric: PlanMetric,
    /// The attribution window the outcome is measured over.
    pub window_days: u32,
    pub as_of: Option<String>,
    /// The outcome's mean and standard deviation per customer without the campaign (revenue in
    /// major units), when known; else measured from the store.
    pub baseline_mean: Option<f64>,
    pub baseline_sd: Option<f64>,
}

/// A plan with where its baseline came from.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentPlan {
    #[serde(flatten)]
    pub plan: Plan,
    pub window_days: u32,
    pub currency: Currency,
    /// How the baseline was found, in words.
    pub baseline_from: String,
    /// Customers the baseline was measured over (when measured from the store).
    pub baseline_customers: Option<u64>,
}

/// The minimum detectable effect before a campaign starts (α = 0.05, power 0.8), from the
/// audience, the holdout share and the outcome's spread. Without a given baseline it is measured
/// from the store: every customer with a counted order before the as-of, its outcome over the
/// last window before the as-of (`[as_of − window, as_of)`, zeros included).
pub async fn plan_experiment(app: &App, req: &PlanRequest) -> Result<ExperimentPlan> {
    if !(req.holdout > 0.0 && req.holdout < 1.0) {
        return Err(Error::user(format!("the holdout {} is not a share between 0 and 1 (e.g. 0.1 for 10%)", req.holdout)));
    }
    if req.window_days == 0 {
        return Err(Error::user("the attribution window must be at least 1 day"));
    }
    let control = (req.audience as f64 * req.holdout).round() as u64;
    if control < 2 || req.audience - control < 2 {
        return Err(Error::user(format!(
            "an audience of {} with a {:.1}% holdout leaves fewer than two customers in a group",
            req.audience,
            req.holdout * 100.0
        )));
    }
    let currency = reporting_currency(app).await?;
    let per = currency.minor_per_major() as f64;
    let (mean, sd, from, customers) = match (req.baseline_mean, req.baseline_sd, req.metric) {
        (Some(m), _, PlanMetric::Conversion) => {
            if !(0.0..=1.0).contains(&m) {
                return Err(Error::user(format!("a baseline conversion of {m} is not a share between 0 and 1")));
            }
            (m, (m * (1.0 - m)).sqrt(), "given".to_owned(), None)
        }
        (Some(m), Some(sd), PlanMetric::Revenue) => (m, sd, "given".to_owned(), None),
        (Some(_), None, PlanMetric::Revenue) => return Err(Error::user("a revenue baseline needs its standard deviation too (--baseline-sd)")),
        (None, _, metric) => {
            let cal = app.calendar()?;
            let log = app.store.load_order_log(app.ws.id).await?;
            let as_of = as_of(app, &cal, req.as_of.as_deref()).await?;
            let from_t = as_of - req.window_days as i64 * DAY;
            let mut xs: Vec<f64> = Vec::with_capacity(log.n_customers());
            for c in 0..log.n_customers() as u32 {
                let (times, amounts) = (log.times_of(c), log.amounts_of(c));
                if times.first().is_none_or(|&t| t >= as_of) {
                    continue;
                }
                let in_window: Vec<i64> = times.iter().zip(amounts).filter(|(t, _)| **t >= from_t && **t < as_of).map(|(_, a)| *a).collect();
                xs.push(match metric {
                    PlanMetric::Conversion => f64::from(u8::from(!in_window.is_empty())),
                    PlanMetric::Revenue => in_window.iter().sum::<i64>() as f64 / per,
                });
            }
            if xs.len() < 2 {
                return Err(Error::user(format!(
                    "the store {} has fewer than two customers before the as-of date: give a baseline (--baseline-mean)",
                    app.url()
                )));
            }
            let m = holdfast_experiments::Moments::of(&xs);
            if m.var.is_nan() || m.var <= 0.0 {
                return Err(Error::user(format!(
                    "no customer's {} varies over the last {} days before the as-of date: nothing to plan from; give a baseline (--baseline-mean, --baseline-sd) or another --as-of",
                    metric.as_str(),
                    req.window_days
                )));
            }
            let from = format!(
                "{} customers with an order before {}, over {} – {}",
                holdfast_report::format::fmt_count(xs.len() as i64),
                cal.date(as_of),
                cal.date(from_t),
                cal.date(as_of - 1)
            );
            (m.mean, m.var.sqrt(), from, Some(xs.len() as u64))
        }
    };
    let plan =
        holdfast_experiments::plan(req.metric.as_str(), req.audience, req.holdout, mean, sd).ok_or_else(|| Error::user("cannot plan with these numbers"))?;
    Ok(ExperimentPlan { plan, window_days: req.window_days, currency, baseline_from: from, baseline_customers: customers })
}

/// One campaign in the list.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentSummary {
    pub campaign: String,
    pub window_days: u32,
    pub groups: Vec<GroupCount>,
    pub assigned: u64,
    pub first_assigned: Option<String>,
    pub last_assigned: Option<String>,
    /// Sum of the given costs, major units of `currency`.
    pub cost: f64,
    pub currency: Currency,
    pub margin: Option<f64>,
    pub planned_split: Option<Vec<(String, f64)>>,
    pub has_control: bool,
    /// Every window closed before the as-of.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub window_end: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupCount {
    pub name: String,
    pub n: u64,
}

/// The workspace's campaigns, by name, with whether each is final at the as-of.
pub async fn list_experiments(app: &App, as_of_arg: Option<&str>) -> Result<Vec<ExperimentSummary>> {
    let cal = app.calendar()?;
    let campaigns = app.store.campaigns(app.ws.id).await?;
    let at = match (as_of_arg, campaigns.is_empty()) {
        (_, true) => None,
        (Some(s), false) => Some(as_of(app, &cal, Some(s)).await?),
        (None, false) => as_of(app, &cal, None).await.ok(),
    };
    let currency = reporting_currency(app).await?;
    let per = currency.minor_per_major() as f64;
    Ok(campaigns
        .into_iter()
        .map(|c| {
            let end = c.last_assigned_at.map(|t| t + c.window_days as i64 * DAY);
            ExperimentSummary {
                assigned: c.assigned(),
                has_control: c.groups.iter().any(|(g, _)| is_control(g)),
                groups: c.groups.iter().map(|(g, n)| GroupCount { name: g.clone(), n: *n }).collect(),
                first_assigned: c.first_assigned_at.map(|t| cal.date(t).to_string()),
                last_assigned: c.last_assigned_at.map(|t| cal.date(t).to_string()),
                cost: c.cost as f64 / per,
                currency,
                is_final: matches!((end, at), (Some(e), Some(a)) if a >= e),
                window_end: end.map(|e| cal.date(e).to_string()),
                campaign: c.name,
                window_days: c.window_days,
                margin: c.margin,
                planned_split: c.planned_split,
            }
        })
        .collect())
}

/// The workspace-wide global holdout: the share of customers no campaign contacts, to measure
/// the whole program's effect over months. Customer `c` is in it when its bucket
/// (`holdfast_experiments::bucket`, salt [`holdfast_experiments::GLOBAL_HOLDOUT_SALT`]) is below
/// `share × 10,000` — the same customers every time, whatever else changes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GlobalHoldout {
    pub share: f64,
    pub buckets: u32,
}

/// The largest global holdout accepted: more than half the customers never contacted is surely
/// a slip of the finger.
pub const MAX_GLOBAL_HOLDOUT: f64 = 0.5;

pub async fn global_holdout(app: &App) -> Result<GlobalHoldout> {
    let b = app.store.global_holdout(app.ws.id).await?;
    let s = Share::from_buckets(b).ok_or_else(|| Error::internal(format!("a global holdout of {b} buckets")))?;
    Ok(GlobalHoldout { share: s.fraction(), buckets: b })
}

/// Sets the global holdout share (0 to 0.5; 0 turns it off), in whole buckets of 10,000.
pub async fn set_global_holdout(app: &App, share: f64) -> Result<GlobalHoldout> {
    if !(0.0..=MAX_GLOBAL_HOLDOUT).contains(&share) {
        return Err(Error::user(format!("a global holdout of {share} is not a share between 0 and {MAX_GLOBAL_HOLDOUT} (e.g. 0.05 for 5%)")));
    }
    let s = Share::from_fraction(share).ok_or_else(|| Error::user(format!("{share} is not a share")))?;
    app.store.set_global_holdout(app.ws.id, s.buckets()).await?;
    Ok(GlobalHoldout { share: s.fraction(), buckets: s.buckets() })
}

/// Whether `customer` is in the app's global holdout of `holdout` (for the automation engine:
/// never contact it).
pub fn is_held_out(customer: &str, holdout: &GlobalHoldout) -> bool {
    Share::from_buckets(holdout.buckets).is_some_and(|s| in_global_holdout(customer, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_by_hand() {
        // Assigned at day 100, window 30 days, pre-period 365 days, inactivity window 60 days.
        let d = DAY;
        let orders = [(40 * d, 700), (99 * d, 500), (100 * d, 1_000), (110 * d, 2_000), (130 * d - 1, 3_000)];
        // Window [100, 130): 3 orders, 6,000; pre [−265, 100): 1,200; active at 130: an order in [70, 130).
        assert_eq!(outcomes(100 * d, &orders, 30 * d, 365 * d, 60 * d), (3, 6_000, 1_200, true));
        // Only old orders: not retained at the window's end.
        assert_eq!(outcomes(100 * d, &orders[..1], 30 * d, 365 * d, 60 * d), (0, 0, 700, false));
    }

    #[test]
    fn costs_and_groups() {
        assert_eq!(cost_in(150, None, Currency::RUB), Ok(150));
        assert_eq!(cost_in(15_000, None, Currency::new("JPY").unwrap()), Ok(150));
        assert!(cost_in(150, Some(Currency::USD), Currency::RUB).unwrap_err().contains("USD"));
        assert!(cost_in(-1, None, Currency::RUB).is_err());
        assert_eq!(canonical_group(" Control "), "control");
        assert_eq!(canonical_group("КОНТРОЛЬ"), "control");
        assert_eq!(canonical_group("Treatment"), "treatment");
        assert_eq!(canonical_group("Letter B"), "Letter B");
    }
}
