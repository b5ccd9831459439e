//! The action queue: red flags turned into one task per customer — the customer, the owner, the
//! reasons, a suggested next step, a due date, the expected value of acting — and a plan a team can
//! work: whom to contact personally this week, who waits, who is left to automation.
//!
//! Pure: the flags come from [`crate::flags`] (orders and, when given, [`Activity`]) and
//! [`crate::nbo::missed_initiative`] (when chains are given), judged against a [`Baseline`] fitted
//! at as-of; the worth of each kind of flag comes from [`crate::worth`]; the tasks already open
//! come in as [`OpenTask`]s, and the caller (the store) persists what comes out.
//!
//! # Rules
//!
//! - **One task per customer** holding all its flags. A customer gets a task when at least one of
//!   its flags is of a kind that opens tasks: a kind whose backtest in this workspace shows no
//!   signal (lift above 0.9, [`crate::worth`]) still appears in a task's flags, with its lift, but
//!   opens none on its own; customers with only such flags are counted as `informing`.
//! - **stake**: the customer's revenue before as-of (minor units) — what is at risk. Each flag's
//!   weight is stake × severity factor ([`crate::flags::with_weight`]). Severity comes from the
//!   flag's chance ([`Severity::of_chance`]), one step higher for tier A.
//! - **P(churn)**: from the caller ([`QueueOptions::churn_risk`], e.g. a learned risk model), else
//!   the rhythm's own: the chance the customer, on their usual rhythm, would have bought again by
//!   now (one minus [`crate::flags::silence_chance`]).
//! - **expected value saved** = P(churn) × stake × the suggested step's historical success rate
//!   where known ([`QueueOptions::step_success`]; unknown: 1, so the ranking is P(churn) × stake).
//! - **route** by value tier ([`crate::segments::tiers`]): tiers A and B get personal steps; tier C
//!   is routed to automation (a template sequence) and counted, not listed as personal work.
//! - **plan**: each owner's personal tasks by expected value, the first
//!   [`QueueOptions::capacity`] (default 25) this week, the rest waiting in order; a task snoozed
//!   past as-of waits for its date; then automation.
//! - **suggested step** by tier and the highest severity: tier A "personal call"; tier B
//!   "personal offer" when high, else "check-in letter"; tier C "check-in letter" when high, else
//!   "survey". A task holding only `missed_initiative` is an opportunity: "personal call" for tier
//!   A, else "personal offer".
//! - **due**: as-of + 2 days (high), 7 days (medium), 14 days (low).
//! - **owner**: the customer's owner from `owners`, else `default_owner`, else none.
//! - **rolling over**: a customer whose task is still open keeps it (the store refreshes it rather
//!   than opening another); `rolled_over` says so.
//! - **lost customers** — last order more than the window W before as-of and no activity event
//!   within W — get no task unless `include_lost` is set.
//! - **minimum severity**: flags below `min_severity` (default low: none) are not raised.
//! - Order: this week, waiting, snoozed, automation; within each, expected value descending, then
//!   customer id. Computed in parallel; the result does not depend on the number of threads.
//!
//! # Cost
//!
//! The order facts every customer needs come from [`Basis`], the baselines from one
//! [`Baseline::fit`]. A first pass decides who has a task (stopping at the first flag that opens
//! one) and its expected value; the plan is cut from those keys, and only the tasks returned are
//! built ([`action_plan`] with `k`). Explanations keep their numbers and are written when shown.

use crate::baseline::{Baseline, DEFAULT_LEVEL};
use crate::flags::{activity_flags, order_flags, silence_chance, with_weight, Activity, Flag, FlagKind, Severity};
use crate::nbo::{missed_flag, missed_severity, Bought, Chain, ChainIndex, NboOptions};
use crate::rfm::{customer_chunks, n_before};
use crate::segments::{Basis, Facts, Tier, TierOptions};
use crate::worth::{backtest, FlagWorth};
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Suggested next step of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    PersonalCall,
    CheckInLetter,
    PersonalOffer,
    Survey,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::PersonalCall => "personal call",
            Step::CheckInLetter => "check-in letter",
            Step::PersonalOffer => "personal offer",
            Step::Survey => "survey",
        }
    }

    pub const ALL: [Step; 4] = [Step::PersonalCall, Step::CheckInLetter, Step::PersonalOffer, Step::Survey];

    /// The step named `s` (as [`Step::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The step for a task of these flags (see the module docs).
    pub fn for_flags(tier: Tier, flags: &[Flag]) -> Step {
        let severity = flags.iter().map(|f| f.severity).max().unwrap_or(Severity::Low);
        if flags.iter().all(|f| f.kind == FlagKind::MissedInitiative) {
            return if tier == Tier::A { Step::PersonalCall } else { Step::PersonalOffer };
        }
        Step::for_tier(tier, severity)
    }

    pub fn for_tier(tier: Tier, severity: Severity) -> Step {
        match (tier, severity) {
            (Tier::A, _) => Step::PersonalCall,
            (Tier::B, Severity::High) => Step::PersonalOffer,
            (Tier::B, _) => Step::CheckInLetter,
            (Tier::C, Severity::High) => Step::CheckInLetter,
            (Tier::C, _) => Step::Survey,
        }
    }
}

/// Where a task stands in this week's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// A personal task within its owner's capacity this week.
    ThisWeek,
    /// A personal task beyond its owner's capacity: next in line.
    Waiting,
    /// A personal task put off until a later date.
    Snoozed,
    /// Routed to automation (a template sequence): counted, not personal work.
    Automation,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::ThisWeek => "this_week",
            Plan::Waiting => "waiting",
            Plan::Snoozed => "snoozed",
            Plan::Automation => "automation",
        }
    }

    /// The plan named `s` (as [`Plan::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Plan> {
        [Plan::ThisWeek, Plan::Waiting, Plan::Snoozed, Plan::Automation].into_iter().find(|p| p.as_str() == s)
    }

    /// Whether the task is personal work (not automation).
    pub fn is_personal(self) -> bool {
        self != Plan::Automation
    }
}

/// One task of the action queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub customer: CustomerIdx,
    pub customer_id: String,
    pub owner: Option<String>,
    /// Historical revenue before as-of, minor units.
    pub stake: i64,
    pub tier: Tier,
    /// Every flag of the customer, those of kinds that open no task included.
    pub flags: Vec<Flag>,
    pub severity: Severity,
    pub suggested_step: Step,
    pub due: Instant,
    pub state: TaskState,
    /// The probability that the customer is churning (see the module docs).
    pub p_churn: f64,
    /// P(churn) × stake × the step's success rate, minor units.
    pub expected_value: i64,
    pub plan: Plan,
    /// The customer's task was already open: it rolls over instead of being opened again.
    pub rolled_over: bool,
}

impl Task {
    /// The reason in one line: the explanations of its flags.
    pub fn reason(&self) -> String {
        self.flags.iter().map(|f| f.explanation.to_string()).collect::<Vec<_>>().join("; ")
    }
}

/// State of a task: open until someone marks it done or dismisses it (the store keeps the
/// reason of a dismissal beside it). Lower case in JSON and in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Open,
    Done,
    Dismissed,
}

impl TaskState {
    pub const ALL: [TaskState; 3] = [TaskState::Open, TaskState::Done, TaskState::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Done => "done",
            TaskState::Dismissed => "dismissed",
        }
    }

    /// The state named `s` (as [`TaskState::as_str`] writes it).
    pub fn parse(s: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The open task of one customer (from the store).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenTask {
    pub customer_id: String,
    /// Put off until then: no place in this week's plan before it.
    pub snoozed_until: Option<Instant>,
}

/// Options of the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueOptions {
    pub as_of: Instant,
    pub tiers: TierOptions,
    /// Owner by customer id (e.g. from a customers file or the store).
    pub owners: BTreeMap<String, String>,
    /// Owner of customers not in `owners` (`None`: unassigned).
    pub default_owner: Option<String>,
    /// Tasks already open: they roll over; a snoozed one waits for its date.
    pub open: BTreeSet<OpenTask>,
    /// Window, level and thresholds used for `missed_initiative` (its `as_of` is ignored).
    pub nbo: NboOptions,
    /// The inactivity window W in days: customers silent for longer are lost.
    pub window_days: u32,
    /// Also give lost customers tasks (default: left out, see the module docs).
    pub include_lost: bool,
    /// Flags below this severity are not raised (default: low, every flag).
    pub min_severity: Severity,
    /// Flags are raised when what is seen has less than this chance for the customer (5%).
    pub level: f64,
    /// Personal tasks per owner per week (25).
    pub capacity: usize,
    /// The backtest deciding which kinds open tasks; `None`: measured at as-of ([`backtest`])
    /// when `measure_worth` is set, else every kind opens tasks.
    pub worth: Option<Arc<FlagWorth>>,
    pub measure_worth: bool,
    /// P(churn) by customer index from a caller's model; `None`: the rhythm's own.
    pub churn_risk: Option<Arc<[f64]>>,
    /// Historical success rate of each step, where known.
    pub step_success: BTreeMap<Step, f64>,
    /// Build every personal task whatever `k` (to save them).
    pub build_personal: bool,
}

impl QueueOptions {
    pub fn new(as_of: Instant) -> Self {
        QueueOptions {
            as_of,
            tiers: TierOptions::default(),
            owners: BTreeMap::new(),
            default_owner: None,
            open: BTreeSet::new(),
            nbo: NboOptions::new(as_of),
            window_days: 365,
            include_lost: false,
            min_severity: Severity::Low,
            level: DEFAULT_LEVEL,
            capacity: 25,
            worth: None,
            measure_worth: true,
            churn_risk: None,
            step_success: BTreeMap::new(),
            build_personal: false,
        }
    }
}

/// The queue and its plan: how many customers are at risk and where each went.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuePlan {
    /// Customers with a task (at risk): personal + automation.
    pub total: usize,
    pub this_week: usize,
    pub waiting: usize,
    pub snoozed: usize,
    pub automation: usize,
    /// Customers whose flags are all of kinds that open no task here.
    pub informing: usize,
    /// Owners with personal tasks (unassigned counted as one).
    pub owners: usize,
    pub capacity: usize,
    /// The first tasks in the queue's order.
    pub tasks: Vec<Task>,
    /// The backtest that decided which kinds open tasks.
    pub worth: Option<Arc<FlagWorth>>,
    /// Every customer at risk (personal and automation), ascending.
    pub at_risk: Vec<CustomerIdx>,
}

impl QueuePlan {
    /// Personal tasks: this week, waiting and snoozed.
    pub fn personal(&self) -> usize {
        self.this_week + self.waiting + self.snoozed
    }
}

/// How often each step worked: of the tasks done with that step (customer id, step, when it was
/// marked done) at least `horizon_days` before `as_of`, the share whose customer ordered within
/// `horizon_days` after. A step is known once `min_tasks` such tasks exist; others are left out
/// (the queue then counts them as 1). Returns each known step's rate and the tasks it rests on.
pub fn step_success(log: &OrderLog, done: &[(String, Step, Instant)], as_of: Instant, horizon_days: i64, min_tasks: usize) -> BTreeMap<Step, (f64, usize)> {
    let index: FxHashMap<&str, CustomerIdx> = (0..log.n_customers() as CustomerIdx).map(|c| (log.customer_id(c), c)).collect();
    let h = horizon_days * DAY;
    let mut tally: BTreeMap<Step, (usize, usize)> = BTreeMap::new();
    for (customer, step, at) in done {
        if *at + h > as_of {
            continue;
        }
        let bought = index.get(customer.as_str()).is_some_and(|&c| log.times_of(c).iter().any(|&t| t > *at && t <= *at + h));
        let e = tally.entry(*step).or_default();
        e.0 += 1;
        e.1 += bought as usize;
    }
    tally.into_iter().filter(|(_, (n, _))| *n >= min_tasks).map(|(s, (n, k))| (s, (k as f64 / n as f64, n))).collect()
}

/// The action queue at `opts.as_of`: one task per customer at risk, in the plan's order.
/// `activity` adds the activity flags, `chains` (from [`crate::nbo::service_chains`]) the
/// `missed_initiative` flag.
pub fn action_queue(log: &OrderLog, activity: Option<&Activity>, chains: &[Chain], opts: &QueueOptions) -> Vec<Task> {
    action_queue_with(log, activity, chains, opts, &Basis::new(log, opts.as_of, &opts.tiers))
}

/// [`action_queue`] with the shared figures already computed (`basis` must be for the same as-of
/// and tier options).
pub fn action_queue_with(log: &OrderLog, activity: Option<&Activity>, chains: &[Chain], opts: &QueueOptions, basis: &Basis) -> Vec<Task> {
    action_queue_top(log, activity, chains, opts, basis, usize::MAX).1
}

/// The number of tasks of [`action_queue_with`] and its first `k` (this week's first), without
/// building the others.
pub fn action_queue_top(log: &OrderLog, activity: Option<&Activity>, chains: &[Chain], opts: &QueueOptions, basis: &Basis, k: usize) -> (usize, Vec<Task>) {
    let p = action_plan(log, activity, chains, opts, basis, k);
    (p.total, p.tasks)
}

/// The queue's plan (see the module docs) with its first `k` tasks built.
pub fn action_plan(log: &OrderLog, activity: Option<&Activity>, chains: &[Chain], opts: &QueueOptions, basis: &Basis, k: usize) -> QueuePlan {
    let worth = match (&opts.worth, opts.measure_worth) {
        (Some(w), _) => Some(Arc::clone(w)),
        (None, true) => Some(Arc::new(backtest(log, activity, opts.as_of, opts.level, opts.window_days, (!chains.is_empty()).then_some(&opts.nbo)))),
        (None, false) => None,
    };
    let base = Baseline::fit(log, activity, opts.as_of, opts.level);
    let q = Queue::new(log, activity, chains, opts, basis, &base, worth.as_deref());
    // First pass: who has a task, its expected value and route.
    let parts: Vec<(Vec<Key>, usize)> = customer_chunks(log.n_customers())
        .par_iter()
        .map(|r| {
            let mut s = q.scratch();
            let mut keys = Vec::new();
            let mut informing = 0;
            for c in r.clone().map(|c| c as CustomerIdx) {
                match q.flags(c, &mut s, true) {
                    Some(true) => keys.push(q.key(c)),
                    Some(false) if s.informing => informing += 1,
                    _ => {}
                }
            }
            (keys, informing)
        })
        .collect();
    let informing = parts.iter().map(|p| p.1).sum();
    let mut keys: Vec<Key> = parts.into_iter().flat_map(|p| p.0).collect();
    // Personal tasks by owner, highest expected value first: the first `capacity` this week.
    let by_value = |a: &Key, b: &Key| b.value.total_cmp(&a.value).then_with(|| log.customer_id(a.c).cmp(log.customer_id(b.c)));
    keys.par_sort_unstable_by(|a, b| a.owner.cmp(&b.owner).then_with(|| by_value(a, b)));
    let mut owners = 0;
    let mut i = 0;
    while i < keys.len() {
        let owner = keys[i].owner;
        let mut used = 0;
        let mut any = false;
        while i < keys.len() && keys[i].owner == owner {
            if keys[i].plan == Plan::Waiting {
                any = true;
                if used < opts.capacity {
                    keys[i].plan = Plan::ThisWeek;
                    used += 1;
                }
            }
            any |= keys[i].plan == Plan::Snoozed;
            i += 1;
        }
        owners += any as usize;
    }
    let count = |p: Plan| keys.iter().filter(|x| x.plan == p).count();
    let (this_week, waiting, snoozed, automation) = (count(Plan::ThisWeek), count(Plan::Waiting), count(Plan::Snoozed), count(Plan::Automation));
    let total = keys.len();
    let mut at_risk: Vec<CustomerIdx> = keys.iter().map(|x| x.c).collect();
    at_risk.par_sort_unstable();
    let k = if opts.build_personal { k.max(this_week + waiting + snoozed) } else { k };
    // The plan's order: this week, waiting, snoozed, automation; expected value within each.
    let by_rank = |a: &Key, b: &Key| a.plan.cmp(&b.plan).then_with(|| by_value(a, b));
    if keys.len() > k && k > 0 {
        keys.select_nth_unstable_by(k - 1, by_rank);
    }
    keys.truncate(k);
    keys.par_sort_unstable_by(by_rank);
    // Built in customer order (the orders are read front to back, not at random), then put in
    // rank order.
    let mut by_customer: Vec<(CustomerIdx, u32, Plan)> = keys.iter().enumerate().map(|(rank, x)| (x.c, rank as u32, x.plan)).collect();
    by_customer.par_sort_unstable();
    let built: Vec<(u32, Option<Task>)> = by_customer.par_iter().map_init(|| q.scratch(), |s, &(c, rank, plan)| (rank, q.task(c, s, plan))).collect();
    let mut slots: Vec<Option<Task>> = (0..built.len()).map(|_| None).collect();
    for (rank, t) in built {
        slots[rank as usize] = t;
    }
    QueuePlan {
        total,
        this_week,
        waiting,
        snoozed,
        automation,
        informing,
        owners,
        capacity: opts.capacity,
        tasks: slots.into_iter().flatten().collect(),
        worth,
        at_risk,
    }
}

/// What the plan needs of one customer with a task.
struct Key<'a> {
    c: CustomerIdx,
    owner: Option<&'a str>,
    value: f64,
    /// Waiting (personal, not yet placed), Snoozed or Automation.
    plan: Plan,
}

/// Everything the queue needs for one customer after another: options, shared figures, the open
/// tasks by customer and the chains by first item.
struct Queue<'a> {
    log: &'a OrderLog,
    activity: Option<&'a Activity>,
    opts: &'a QueueOptions,
    basis: &'a Basis,
    base: &'a Baseline,
    /// Kinds that open no task (bit per [`FlagKind`]).
    silent: u16,
    /// Open tasks by customer id: snoozed until (0: not snoozed).
    open: FxHashMap<&'a str, Instant>,
    chains: ChainIndex<'a>,
    nbo: NboOptions,
}

/// Per-thread buffers of the queue.
struct Scratch {
    flags: Vec<Flag>,
    /// A flag of a kind that opens no task was seen (first pass: not kept).
    informing: bool,
    bought: Bought,
}

fn bit(k: FlagKind) -> u16 {
    1 << k as u16
}

impl<'a> Queue<'a> {
    fn new(
        log: &'a OrderLog,
        activity: Option<&'a Activity>,
        chains: &'a [Chain],
        opts: &'a QueueOptions,
        basis: &'a Basis,
        base: &'a Baseline,
        worth: Option<&FlagWorth>,
    ) -> Queue<'a> {
        let open = opts.open.iter().map(|t| (t.customer_id.as_str(), t.snoozed_until.unwrap_or(0))).collect();
        Queue {
            log,
            activity,
            opts,
            basis,
            base,
            silent: worth.map_or(0, |w| w.silent_kinds()),
            open,
            chains: ChainIndex::new(log, opts.nbo.level, chains),
            nbo: NboOptions { as_of: opts.as_of, ..opts.nbo },
        }
    }

    fn scratch(&self) -> Scratch {
        Scratch { flags: Vec::new(), informing: false, bought: self.chains.scratch() }
    }

    /// Customer `c`'s flags (at least `min_severity`) into `s.flags`, in [`FlagKind::ALL`] order;
    /// with `first_only`, stops at the first of a kind that opens tasks and keeps no other.
    /// Returns whether one of them opens a task; `None` for a lost customer or one without orders.
    fn flags(&self, c: CustomerIdx, s: &mut Scratch, first_only: bool) -> Option<bool> {
        let (log, as_of) = (self.log, self.opts.as_of);
        let id = log.customer_id(c);
        let act = self.activity.and_then(|a| a.get(id));
        let facts = &self.basis.facts[c as usize];
        s.flags.clear();
        s.informing = false;
        if facts.orders == 0 || (!self.opts.include_lost && is_lost_at(facts, act, as_of, self.opts.window_days)) {
            return None;
        }
        let tier_a = self.basis.tier[c as usize] == Tier::A;
        let (min, silent) = (self.opts.min_severity, self.silent);
        let mut opens = false;
        let flags = &mut s.flags;
        let informing = &mut s.informing;
        let mut emit = |mut f: Flag| {
            if tier_a {
                f.severity = f.severity.raised();
            }
            if f.severity < min {
                return false;
            }
            let opening = silent & bit(f.kind) == 0;
            opens |= opening;
            if first_only && !opening {
                *informing = true;
                return false;
            }
            flags.push(f);
            first_only
        };
        let k = facts.orders as usize;
        if order_flags(log, c, k, facts, self.base, &mut emit) {
            return Some(true);
        }
        if let Some(a) = act {
            if activity_flags(a, self.base, log.currency().minor_per_major()).into_iter().any(&mut emit) {
                return Some(true);
            }
        }
        if let Some((ch, last)) = self.chains.missed(log, c, k, &mut s.bought, act, &self.nbo) {
            let mut sev = missed_severity(ch);
            if tier_a {
                sev = sev.raised();
            }
            if sev >= min {
                let mut f = missed_flag(ch, last, as_of, act.is_some());
                f.severity = sev;
                emit(f);
            }
        }
        Some(opens)
    }

    /// P(churn) of customer `c` (see the module docs).
    fn p_churn(&self, c: CustomerIdx) -> f64 {
        if let Some(r) = self.opts.churn_risk.as_deref() {
            if let Some(&p) = r.get(c as usize).filter(|p| p.is_finite()) {
                return p.clamp(0.0, 1.0);
            }
        }
        let k = self.basis.facts[c as usize].orders as usize;
        silence_chance(&self.log.times_of(c)[..k], self.base).map_or(0.5, |p| 1.0 - p)
    }

    /// The success rate of the step of a task with these flags (1 when unknown).
    fn success(&self, tier: Tier, flags: &[Flag]) -> f64 {
        if self.opts.step_success.is_empty() {
            return 1.0;
        }
        self.opts.step_success.get(&Step::for_flags(tier, flags)).copied().unwrap_or(1.0)
    }

    fn owner(&self, id: &str) -> Option<&'a str> {
        self.opts.owners.get(id).map(String::as_str).or(self.opts.default_owner.as_deref())
    }

    fn snoozed(&self, id: &str) -> bool {
        self.open.get(id).is_some_and(|&until| until > self.opts.as_of)
    }

    /// The plan key of customer `c` (who has a task).
    fn key(&self, c: CustomerIdx) -> Key<'a> {
        let i = c as usize;
        let (stake, tier) = (self.basis.revenue[i], self.basis.tier[i]);
        let id = self.log.customer_id(c);
        let success = if self.opts.step_success.is_empty() {
            1.0
        } else {
            // the step needs every flag
            let mut full = self.scratch();
            self.flags(c, &mut full, false);
            self.success(tier, &full.flags)
        };
        let plan = if tier == Tier::C {
            Plan::Automation
        } else if self.snoozed(id) {
            Plan::Snoozed
        } else {
            Plan::Waiting
        };
        Key { c, owner: self.owner(id), value: self.p_churn(c) * stake.max(0) as f64 * success, plan }
    }

    /// Customer `c`'s task in `plan`, if they have one.
    fn task(&self, c: CustomerIdx, s: &mut Scratch, plan: Plan) -> Option<Task> {
        if !self.flags(c, s, false)? {
            return None;
        }
        let severity = s.flags.iter().map(|f| f.severity).max()?;
        let i = c as usize;
        let (stake, tier) = (self.basis.revenue[i], self.basis.tier[i]);
        let flags: Vec<Flag> = s.flags.drain(..).map(|f| with_weight(f, stake)).collect();
        let id = self.log.customer_id(c);
        let p_churn = self.p_churn(c);
        let success = self.success(tier, &flags);
        Some(Task {
            customer: c,
            customer_id: id.to_string(),
            owner: self.owner(id).map(str::to_string),
            stake,
            tier,
            suggested_step: Step::for_flags(tier, &flags),
            flags,
            severity,
            due: self.opts.as_of + severity.due_days() * DAY,
            state: TaskState::Open,
            p_churn,
            expected_value: (p_churn * stake.max(0) as f64 * success).round() as i64,
            plan,
            rolled_over: self.open.contains_key(id),
        })
    }
}

/// Whether customer `c` is lost at `as_of`: no order within `window_days` before it and no
/// activity event within the window either.
pub fn is_lost(log: &OrderLog, c: CustomerIdx, activity: Option<&crate::flags::CustomerActivity>, as_of: Instant, window_days: u32) -> bool {
    let k = n_before(log, c, as_of);
    is_lost_at(&Facts::of(&log.times_of(c)[..k]), activity, as_of, window_days)
}

pub(crate) fn is_lost_at(facts: &Facts, activity: Option<&crate::flags::CustomerActivity>, as_of: Instant, window_days: u32) -> bool {
    let w = window_days as i64 * DAY;
    let recent = |t: Instant| t < as_of && as_of - t <= w;
    if facts.orders > 0 && recent(facts.last) {
        return false;
    }
    !activity.is_some_and(|a| a.events.iter().any(|e| recent(e.at)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::{Event, EventKind};
    use crate::worth::KindWorth;
    use crate::{Currency, OrderLogBuilder};

    fn d(x: i64) -> Instant {
        x * DAY
    }

    fn opts(day: i64) -> QueueOptions {
        QueueOptions { measure_worth: false, ..QueueOptions::new(d(day)) }
    }

    fn plan(log: &OrderLog, o: &QueueOptions) -> QueuePlan {
        action_plan(log, None, &[], o, &Basis::new(log, o.as_of, &o.tiers), usize::MAX)
    }

    /// "big" and "small" bought every 30 days for a year and have been silent 100 days; "fine"
    /// still buys. Big (tier A) is a personal call this week; small (tier C) goes to automation.
    #[test]
    fn one_task_per_customer_personal_by_tier_automation_for_the_rest() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
            b.push("small", d(30 * k), 100);
        }
        for k in 0..16 {
            b.push("fine", d(30 * k), 100);
        }
        let log = b.build();
        let p = plan(&log, &opts(460));
        let ids: Vec<&str> = p.tasks.iter().map(|t| t.customer_id.as_str()).collect();
        assert_eq!(ids, ["big", "small"]);
        assert_eq!((p.total, p.this_week, p.waiting, p.automation, p.owners), (2, 1, 0, 1, 1));
        let big = &p.tasks[0];
        assert_eq!((big.stake, big.tier, big.suggested_step, big.plan), (130_000, Tier::A, Step::PersonalCall, Plan::ThisWeek));
        assert_eq!(big.flags[0].kind, FlagKind::SilenceBeyondRhythm);
        assert_eq!(big.severity, Severity::High);
        assert_eq!(big.due, d(462));
        assert!(big.p_churn > 0.99 && big.expected_value > 128_000, "{big:?}");
        assert_eq!((p.tasks[1].tier, p.tasks[1].plan), (Tier::C, Plan::Automation));
        // deterministic, and action_queue gives the same tasks
        assert_eq!(p.tasks, action_queue(&log, None, &[], &opts(460)));
    }

    /// Step success by hand: 4 calls done on day 100 (customers a, b ordered within 90 days after,
    /// c at day 191 — too late —, d never), 1 survey (too few to be known), 1 call done on day 150
    /// (not yet 90 days before as-of 200: not counted). Calls: 2 of 4 = 0.5.
    #[test]
    fn step_success_counts_orders_within_the_horizon_after_done_tasks() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for (c, day) in [("a", 0), ("a", 120), ("b", 0), ("b", 190), ("c", 0), ("c", 191), ("d", 0), ("e", 0), ("e", 130), ("f", 0), ("f", 160)] {
            b.push(c, d(day), 100);
        }
        let log = b.build();
        let done: Vec<(String, Step, Instant)> = [
            ("a", Step::PersonalCall, 100),
            ("b", Step::PersonalCall, 100),
            ("c", Step::PersonalCall, 100),
            ("d", Step::PersonalCall, 100),
            ("e", Step::Survey, 100),
            ("f", Step::PersonalCall, 150),
            ("nobody", Step::Survey, 100),
        ]
        .iter()
        .map(|&(c, s, day)| (c.to_owned(), s, d(day)))
        .collect();
        let r = step_success(&log, &done, d(200), 90, 2);
        assert_eq!(r.get(&Step::PersonalCall), Some(&(0.5, 4)));
        assert_eq!(r.get(&Step::Survey), Some(&(0.5, 2)), "the unknown customer counts as not bought");
        assert!(step_success(&log, &done, d(200), 90, 5).is_empty());
        assert_eq!(Step::parse("check-in letter"), Some(Step::CheckInLetter));
    }

    /// 40 tier-A/B customers of anna and 10 of bob, all silent; capacity 25: anna's 25 most
    /// valuable this week, 15 waiting; bob's 10 this week. A caller's P(churn) reorders them.
    #[test]
    fn capacity_per_owner_fills_by_expected_value() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for i in 0..50 {
            for k in 0..13 {
                b.push(&format!("c{i:02}"), d(30 * k), 10_000 + 100 * i);
            }
        }
        // enough small customers that the 50 are tiers A and B
        for i in 0..20 {
            b.push(&format!("z{i}"), d(440), 10);
        }
        let log = b.build();
        let mut o = opts(460);
        for i in 0..40 {
            o.owners.insert(format!("c{i:02}"), "anna".into());
        }
        o.default_owner = Some("bob".into());
        // every customer in tiers A and B
        o.tiers = TierOptions { a_share: 0.5, b_share: 0.5 };
        let p = plan(&log, &o);
        assert_eq!((p.this_week, p.waiting, p.owners), (35, 15, 2), "{:?}", (p.total, p.automation));
        let anna: Vec<&Task> = p.tasks.iter().filter(|t| t.owner.as_deref() == Some("anna") && t.plan == Plan::ThisWeek).collect();
        assert_eq!(anna.len(), 25);
        // highest stake (and equal P(churn)) first: c39 down to c15
        assert_eq!(anna[0].customer_id, "c39");
        assert!(p.tasks.iter().filter(|t| t.plan == Plan::Waiting).all(|t| t.owner.as_deref() == Some("anna")));
        // a caller's P(churn): c00 is the likeliest to churn -> first of anna's week
        let mut risk = vec![0.1; log.n_customers()];
        risk[0] = 0.99;
        o.churn_risk = Some(risk.into());
        let p = plan(&log, &o);
        assert_eq!(p.tasks[0].customer_id, "c00");
        assert_eq!(p.tasks[0].p_churn, 0.99);
    }

    #[test]
    fn open_tasks_roll_over_and_snoozed_ones_wait_for_their_date() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
            b.push("mid", d(30 * k), 9_000);
            b.push("z", d(30 * k + 100), 10);
        }
        let log = b.build();
        let mut o = opts(460);
        o.open.insert(OpenTask { customer_id: "big".into(), snoozed_until: None });
        o.open.insert(OpenTask { customer_id: "mid".into(), snoozed_until: Some(d(470)) });
        let p = plan(&log, &o);
        let get = |id: &str| p.tasks.iter().find(|t| t.customer_id == id).unwrap();
        assert!(get("big").rolled_over);
        assert_eq!(get("big").plan, Plan::ThisWeek);
        assert_eq!(get("mid").plan, Plan::Snoozed);
        assert_eq!(p.snoozed, 1);
        // after the date it is back in the week
        o.as_of = d(471);
        let p = plan(&log, &o);
        assert_eq!(p.tasks.iter().find(|t| t.customer_id == "mid").unwrap().plan, Plan::ThisWeek);
    }

    #[test]
    fn kinds_without_signal_inform_but_open_no_task() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
        }
        let log = b.build();
        let mut o = opts(460);
        let kinds = FlagKind::ALL
            .iter()
            .map(|&kind| KindWorth {
                kind,
                flagged: 100,
                flagged_returned: 50,
                unflagged: 100,
                unflagged_returned: 50,
                expected_returned: 50.0,
                lift: Some(1.0),
                smoothed_lift: Some(1.0),
                opens_tasks: kind != FlagKind::SilenceBeyondRhythm && kind != FlagKind::FrequencyDrop,
            })
            .collect();
        o.worth = Some(Arc::new(FlagWorth { at: d(400), horizon_days: 60, customers: 200, kinds }));
        let p = plan(&log, &o);
        assert_eq!((p.total, p.informing), (0, 1));
        assert!(p.tasks.is_empty());
    }

    #[test]
    fn queue_does_not_depend_on_thread_count() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        // 300 customers with varied rhythms, amounts and lengths (deterministic pseudo-random)
        let mut x: u64 = 7;
        for c in 0..300 {
            let gap = 5 + (c % 40) as i64;
            let n = 1 + (c % 17) as i64;
            for k in 0..n {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                b.push(&format!("c{c}"), d(gap * k + (c % 9) as i64), 100 + (x >> 40) as i64 % 5000);
            }
        }
        let log = b.build();
        let o = QueueOptions { capacity: 5, ..QueueOptions::new(d(500)) };
        let run = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| action_queue(&log, None, &[], &o));
        let one = run(1);
        assert!(!one.is_empty());
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
        assert!(one.windows(2).all(|w| (w[0].plan, -w[0].expected_value) <= (w[1].plan, -w[1].expected_value)));
    }

    #[test]
    fn owners_come_from_the_map_and_activity_adds_flags() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
            b.push("other", d(30 * k), 100);
        }
        for i in 0..30 {
            b.push(&format!("q{i}"), d(455), 100);
        }
        let log = b.build();
        let mut act = Activity::new();
        for i in 0..30 {
            act.push_event(&format!("q{i}"), Event { kind: EventKind::Login, at: d(10), detail: None });
        }
        act.push_event("big", Event { kind: EventKind::Login, at: d(10), detail: None });
        act.push_event("big", Event { kind: EventKind::Complaint, at: d(450), detail: None });
        let mut o = opts(460);
        o.owners.insert("big".into(), "anna".into());
        o.default_owner = Some("team".into());
        let q = action_queue(&log, Some(&act), &[], &o);
        let kinds: Vec<FlagKind> = q[0].flags.iter().map(|f| f.kind).collect();
        assert!(kinds.starts_with(&[FlagKind::SilenceBeyondRhythm]) && kinds.ends_with(&[FlagKind::NegativeTicket]), "{kinds:?}");
        assert_eq!(q[0].owner.as_deref(), Some("anna"));
        assert_eq!(q.iter().find(|t| t.customer_id == "other").unwrap().owner.as_deref(), Some("team"));
        assert_eq!(q[0].state, TaskState::Open);
        assert!(q[0].flags.iter().all(|f| f.weight == (130_000.0 * f.severity.factor()) as i64));
        for st in TaskState::ALL {
            assert_eq!(TaskState::parse(st.as_str()), Some(st));
        }
        for p in [Plan::ThisWeek, Plan::Waiting, Plan::Snoozed, Plan::Automation] {
            assert_eq!(Plan::parse(p.as_str()), Some(p));
        }
        assert!(q[0].reason().starts_with("usually orders every month; silent for"), "{}", q[0].reason());
    }

    #[test]
    fn missed_initiative_alone_suggests_an_offer() {
        use crate::nbo::Chain;
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for day in [100, 110, 120] {
            b.push("x", d(day), 1000);
            b.push_line("landing-page", None, 1);
        }
        b.push("y", d(10), 5000);
        b.push_line("analytics", None, 1);
        let log = b.build();
        let ch = Chain {
            from_item: 0,
            to_item: 1,
            from: "landing-page".into(),
            to: "analytics".into(),
            support: 50,
            support_share: 0.1,
            eligible: 120,
            confidence: 0.41,
            baseline: 0.05,
            lift: Some(8.2),
            median_delay_days: 35.0,
            window_days: 60,
            replenishment: false,
        };
        // as-of day 160: x is silent 40 days (gap 10: flagged) and the chain's delay has passed
        let q = action_queue(&log, None, std::slice::from_ref(&ch), &opts(160));
        let t = q.iter().find(|t| t.customer_id == "x").unwrap();
        assert!(t.flags.iter().any(|f| f.kind == FlagKind::MissedInitiative));
        // with silence opening no task, missed_initiative alone opens one: a personal offer
        let mut o = opts(160);
        let kinds = FlagKind::ALL
            .iter()
            .map(|&kind| KindWorth {
                kind,
                flagged: 100,
                flagged_returned: 0,
                unflagged: 0,
                unflagged_returned: 0,
                expected_returned: 0.0,
                lift: None,
                smoothed_lift: None,
                opens_tasks: kind == FlagKind::MissedInitiative,
            })
            .collect();
        o.worth = Some(Arc::new(FlagWorth { at: d(100), horizon_days: 60, customers: 2, kinds }));
        let q = action_queue(&log, None, std::slice::from_ref(&ch), &o);
        let t = q.iter().find(|t| t.customer_id == "x").unwrap();
        assert_eq!(t.flags.last().map(|f| f.kind), Some(FlagKind::MissedInitiative));
        assert_eq!(t.tier, Tier::B);
        assert_eq!(Step::for_flags(t.tier, &t.flags[t.flags.len() - 1..]), Step::PersonalOffer);
    }

    #[test]
    fn lost_customers_get_no_task_unless_asked() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        // drifting: every 30 days until day 360, silent 100 days at day 460 (within W = 365)
        // gone: the same rhythm, but the last order is 400 days before as-of (past W)
        for k in 0..13 {
            b.push("drifting", d(30 * k), 1000);
            b.push("gone", d(30 * k - 300), 5000);
        }
        let log = b.build();
        let ids = |q: &[Task]| q.iter().map(|t| t.customer_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&action_queue(&log, None, &[], &opts(460))), ["drifting"]);
        let all = QueueOptions { include_lost: true, ..opts(460) };
        assert_eq!(ids(&action_queue(&log, None, &[], &all)), ["gone", "drifting"]);
        // a lost customer who still logs in is within reach
        let mut a = Activity::new();
        a.push_event("gone", Event { kind: EventKind::Login, at: d(450), detail: None });
        assert!(!is_lost(&log, 1, a.get("gone"), d(460), 365));
        assert!(is_lost(&log, 1, None, d(460), 365));
        assert_eq!(ids(&action_queue(&log, Some(&a), &[], &opts(460))), ["gone", "drifting"]);
    }

    #[test]
    fn the_top_of_the_queue_is_the_queue_cut() {
        // The same 300 varied customers as above: the top k and the count agree with the full queue.
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        let mut x: u64 = 11;
        for c in 0..300 {
            let gap = 5 + (c % 40) as i64;
            for k in 0..1 + (c % 17) as i64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                b.push(&format!("c{c}"), d(gap * k + (c % 9) as i64), 100 + (x >> 40) as i64 % 5000);
            }
        }
        let log = b.build();
        let o = QueueOptions { capacity: 3, ..QueueOptions::new(d(500)) };
        let basis = Basis::new(&log, o.as_of, &o.tiers);
        let full = action_queue_with(&log, None, &[], &o, &basis);
        assert!(full.len() > 10);
        for k in [0, 1, 10, full.len(), full.len() + 5] {
            let (n, top) = action_queue_top(&log, None, &[], &o, &basis, k);
            assert_eq!(n, full.len());
            assert_eq!(top, full[..k.min(full.len())].to_vec(), "k = {k}");
        }
    }
}
