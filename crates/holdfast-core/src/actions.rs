//! The action queue: red flags turned into tasks for a person — the customer, the owner, the
//! reason, a suggested next step, a due date and a state.
//!
//! Pure: the flags come from [`crate::flags`] (orders and, when given, [`Activity`]) and
//! [`crate::nbo::missed_initiative`] (when chains are given); the tasks already open come in as
//! [`OpenTask`]s, and the caller (the store) persists what comes out.
//!
//! # Rules
//!
//! - One task per customer with at least one new flag, combining its flags. A flag whose
//!   (customer, kind) already has an open task is **not raised again**: it is left out of the new
//!   task and listed in `already_open`; a customer whose every flag is already open gets no task.
//! - **stake**: the customer's revenue before as-of (minor units) — what is at risk. Each flag's
//!   weight is stake × severity factor ([`crate::flags::with_weight`]).
//! - **suggested step** by value tier ([`crate::segments::tiers`]) and the highest severity:
//!   tier A "personal call"; tier B "personal offer" when high, else "check-in letter"; tier C
//!   "check-in letter" when high, else "survey". A task holding only `missed_initiative` is an
//!   opportunity, not a risk: "personal call" for tier A, else "personal offer".
//! - **due**: as-of + 2 days (high), 7 days (medium), 14 days (low).
//! - **owner**: the customer's owner from `owners`, else `default_owner`, else none.
//! - **state**: new tasks are open; people close them (done, or dismissed with a reason) where the
//!   tasks are kept (the store).
//! - **lost customers** — last order more than the window W before as-of and no activity event
//!   within W — get no task unless `include_lost` is set: they are past personal follow-up and
//!   belong to a win-back campaign, and listing them would bury the customers still within reach.
//! - **minimum severity**: flags below `min_severity` (default low: none) are not raised; a
//!   customer left with no flag gets no task.
//! - Order: stake descending, then customer id. Computed in parallel over customers; the result
//!   does not depend on the number of threads.
//!
//! # Cost
//!
//! The order facts every customer needs (orders, last order, own median gap, revenue, tier) come
//! from [`Basis`], computed once. A first pass over the customers only decides who has a new flag,
//! stopping at the first one and writing no text; the tasks are then ranked by stake, and only the
//! tasks returned are built ([`action_queue_top`] builds the first `k`). Explanations keep their
//! numbers and are written when shown.

use crate::flags::{activity_flags, order_flags, with_weight, Activity, Flag, FlagKind, Severity};
use crate::nbo::{missed_flag, missed_severity, Bought, Chain, ChainIndex, NboOptions};
use crate::rfm::{customer_chunks, n_before};
use crate::segments::{Basis, Facts, Tier, TierOptions};
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Suggested next step of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

/// One task of the action queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub customer: CustomerIdx,
    pub customer_id: String,
    pub owner: Option<String>,
    /// Historical revenue before as-of, minor units.
    pub stake: i64,
    pub tier: Tier,
    pub flags: Vec<Flag>,
    pub severity: Severity,
    pub suggested_step: Step,
    pub due: Instant,
    pub state: TaskState,
    /// Flag kinds of this customer left out because a task for them is already open.
    pub already_open: Vec<FlagKind>,
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

/// A task already open for one customer and flag kind (from the store).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenTask {
    pub customer_id: String,
    pub kind: FlagKind,
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
    /// Tasks already open: their flags are not raised again.
    pub open: BTreeSet<OpenTask>,
    /// Window, level and thresholds used for `missed_initiative` (its `as_of` is ignored).
    pub nbo: NboOptions,
    /// The inactivity window W in days: customers silent for longer are lost.
    pub window_days: u32,
    /// Also give lost customers tasks (default: left out, see the module docs).
    pub include_lost: bool,
    /// Flags below this severity are not raised (default: low, every flag).
    pub min_severity: Severity,
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
        }
    }
}


/// The action queue at `opts.as_of`: one task per customer with new flags, highest stake first.
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

/// The number of tasks of [`action_queue_with`] and its first `k`, without building the others:
/// one pass decides which customers have a new flag (stopping at the first), the customers are
/// ranked by stake, and only the first `k` get their flags, explanations and task (in parallel).
pub fn action_queue_top(log: &OrderLog, activity: Option<&Activity>, chains: &[Chain], opts: &QueueOptions, basis: &Basis, k: usize) -> (usize, Vec<Task>) {
    let q = Queue::new(log, activity, chains, opts, basis);
    let parts: Vec<Vec<(i64, CustomerIdx)>> = customer_chunks(log.n_customers())
        .par_iter()
        .map(|r| {
            let mut s = q.scratch();
            r.clone().map(|c| c as CustomerIdx).filter(|&c| q.flags(c, &mut s, true).is_some_and(|_| !s.flags.is_empty())).map(|c| (basis.revenue[c as usize], c)).collect()
        })
        .collect();
    let mut keys: Vec<(i64, CustomerIdx)> = parts.into_iter().flatten().collect();
    let total = keys.len();
    // Stake descending, then customer id (unique, so the unstable sorts are deterministic).
    let by_rank = |a: &(i64, CustomerIdx), b: &(i64, CustomerIdx)| b.0.cmp(&a.0).then_with(|| log.customer_id(a.1).cmp(log.customer_id(b.1)));
    if keys.len() > k && k > 0 {
        keys.select_nth_unstable_by(k - 1, by_rank);
    }
    keys.truncate(k);
    keys.par_sort_unstable_by(by_rank);
    // Built in customer order (the orders are read front to back, not at random), then put in
    // rank order.
    let mut by_customer: Vec<(CustomerIdx, u32)> = keys.iter().enumerate().map(|(rank, &(_, c))| (c, rank as u32)).collect();
    by_customer.par_sort_unstable();
    let built: Vec<(u32, Option<Task>)> = by_customer.par_iter().map_init(|| q.scratch(), |s, &(c, rank)| (rank, q.task(c, s))).collect();
    let mut slots: Vec<Option<Task>> = (0..built.len()).map(|_| None).collect();
    for (rank, t) in built {
        slots[rank as usize] = t;
    }
    (total, slots.into_iter().flatten().collect())
}

/// Everything the queue needs for one customer after another: options, shared figures, the open
/// tasks by customer and the chains by first item.
struct Queue<'a> {
    log: &'a OrderLog,
    activity: Option<&'a Activity>,
    opts: &'a QueueOptions,
    basis: &'a Basis,
    /// Open flag kinds (bit per [`FlagKind`]) by customer id.
    open: FxHashMap<&'a str, u16>,
    chains: ChainIndex<'a>,
    nbo: NboOptions,
}

/// Per-thread buffers of the queue.
struct Scratch {
    flags: Vec<Flag>,
    bought: Bought,
}

fn bit(k: FlagKind) -> u16 {
    1 << k as u16
}

impl<'a> Queue<'a> {
    fn new(log: &'a OrderLog, activity: Option<&'a Activity>, chains: &'a [Chain], opts: &'a QueueOptions, basis: &'a Basis) -> Queue<'a> {
        let mut open: FxHashMap<&str, u16> = FxHashMap::default();
        for t in &opts.open {
            *open.entry(t.customer_id.as_str()).or_default() |= bit(t.kind);
        }
        Queue { log, activity, opts, basis, open, chains: ChainIndex::new(log, opts.nbo.level, chains), nbo: NboOptions { as_of: opts.as_of, ..opts.nbo } }
    }

    fn scratch(&self) -> Scratch {
        Scratch { flags: Vec::new(), bought: self.chains.scratch() }
    }

    /// Customer `c`'s new flags (at least `min_severity`, without an open task) into `s.flags`,
    /// in [`FlagKind::ALL`] order; with `first_only`, stops at the first. Returns the kinds left
    /// out because a task for them is open; `None` for a lost customer (see the module docs).
    fn flags(&self, c: CustomerIdx, s: &mut Scratch, first_only: bool) -> Option<u16> {
        let (log, as_of) = (self.log, self.opts.as_of);
        let id = log.customer_id(c);
        let act = self.activity.and_then(|a| a.get(id));
        let facts = &self.basis.facts[c as usize];
        s.flags.clear();
        if facts.orders == 0 || (!self.opts.include_lost && is_lost_at(facts, act, as_of, self.opts.window_days)) {
            return None;
        }
        let open = if self.open.is_empty() { 0 } else { self.open.get(id).copied().unwrap_or(0) };
        let mut left_out = 0u16;
        let min = self.opts.min_severity;
        // Whether a flag of this kind and severity is raised.
        let mut raised = |kind: FlagKind, severity: Severity| {
            if severity < min {
                return false;
            }
            if open & bit(kind) != 0 {
                left_out |= bit(kind);
                return false;
            }
            true
        };
        let flags = &mut s.flags;
        let mut emit = |f: Flag| {
            if raised(f.kind, f.severity) {
                flags.push(f);
                return first_only;
            }
            false
        };
        let k = facts.orders as usize;
        if order_flags(log, c, k, facts, as_of, self.basis.workspace_gap, &mut emit) {
            return Some(left_out);
        }
        if let Some(a) = act {
            if activity_flags(a, as_of, log.currency().minor_per_major()).into_iter().any(&mut emit) {
                return Some(left_out);
            }
        }
        if let Some((ch, last)) = self.chains.missed(log, c, k, &mut s.bought, act, &self.nbo) {
            if raised(FlagKind::MissedInitiative, missed_severity(ch)) {
                s.flags.push(missed_flag(ch, last, as_of, act.is_some()));
            }
        }
        Some(left_out)
    }

    /// Customer `c`'s task, if they have new flags.
    fn task(&self, c: CustomerIdx, s: &mut Scratch) -> Option<Task> {
        let left_out = self.flags(c, s, false)?;
        let severity = s.flags.iter().map(|f| f.severity).max()?;
        let i = c as usize;
        let (stake, tier) = (self.basis.revenue[i], self.basis.tier[i]);
        let flags: Vec<Flag> = s.flags.drain(..).map(|f| with_weight(f, stake)).collect();
        let id = self.log.customer_id(c);
        Some(Task {
            customer: c,
            customer_id: id.to_string(),
            owner: self.opts.owners.get(id).cloned().or_else(|| self.opts.default_owner.clone()),
            stake,
            tier,
            suggested_step: Step::for_flags(tier, &flags),
            flags,
            severity,
            due: self.opts.as_of + severity.due_days() * DAY,
            state: TaskState::Open,
            already_open: FlagKind::ALL.into_iter().filter(|&k| left_out & bit(k) != 0).collect(),
        })
    }
}

/// Whether customer `c` is lost at `as_of`: no order within `window_days` before it and no
/// activity event within the window either.
pub fn is_lost(log: &OrderLog, c: CustomerIdx, activity: Option<&crate::flags::CustomerActivity>, as_of: Instant, window_days: u32) -> bool {
    let k = n_before(log, c, as_of);
    is_lost_at(&Facts::of(&log.times_of(c)[..k]), activity, as_of, window_days)
}

fn is_lost_at(facts: &Facts, activity: Option<&crate::flags::CustomerActivity>, as_of: Instant, window_days: u32) -> bool {
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
    use crate::{Currency, OrderLogBuilder};

    fn d(x: i64) -> Instant {
        x * DAY
    }

    #[test]
    fn queue_orders_by_stake_and_suggests_by_tier() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        // big: every 30 days for a year, 10 000 each (130 000); silent 100 days at as-of day 460
        // small: same rhythm, 100 each (1 300)
        // fine: orders every 30 days until day 450 -> not flagged
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
            b.push("small", d(30 * k), 100);
        }
        for k in 0..16 {
            b.push("fine", d(30 * k), 100);
        }
        let log = b.build();
        let q = action_queue(&log, None, &[], &QueueOptions::new(d(460)));
        let ids: Vec<&str> = q.iter().map(|t| t.customer_id.as_str()).collect();
        assert_eq!(ids, ["big", "small"]);
        assert_eq!(q[0].stake, 130_000);
        assert_eq!(q[0].tier, Tier::A);
        assert_eq!(q[0].suggested_step, Step::PersonalCall);
        assert_eq!(q[0].owner, None);
        // the silence flag is medium (3.3×), frequency drop is high (0 of 3 expected)
        assert_eq!(q[0].severity, Severity::High);
        assert_eq!(q[0].due, d(462));
        assert_eq!(q[1].tier, Tier::C);
        assert_eq!(q[1].suggested_step, Step::CheckInLetter);
        // deterministic
        assert_eq!(q, action_queue(&log, None, &[], &QueueOptions::new(d(460))));
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
        let opts = QueueOptions::new(d(500));
        let run = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| action_queue(&log, None, &[], &opts));
        let one = run(1);
        assert!(!one.is_empty());
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
        assert!(one.windows(2).all(|w| (w[0].stake, &w[1].customer_id) >= (w[1].stake, &w[0].customer_id)));
    }

    #[test]
    fn open_tasks_are_not_raised_again_and_owners_come_from_the_map() {
        // "big" is silent (3.3×) and has a frequency drop; a complaint comes from activity.
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for k in 0..13 {
            b.push("big", d(30 * k), 10_000);
            b.push("other", d(30 * k), 100);
        }
        let log = b.build();
        let mut act = Activity::new();
        act.push_event("big", Event { kind: EventKind::Complaint, at: d(450), detail: None });
        let mut opts = QueueOptions::new(d(460));
        opts.owners.insert("big".into(), "anna".into());
        opts.default_owner = Some("team".into());
        let q = action_queue(&log, Some(&act), &[], &opts);
        let kinds: Vec<FlagKind> = q[0].flags.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FlagKind::SilenceBeyondRhythm, FlagKind::FrequencyDrop, FlagKind::NegativeTicket]);
        assert_eq!(q[0].owner.as_deref(), Some("anna"));
        assert_eq!(q[1].owner.as_deref(), Some("team"));
        assert_eq!(q[0].state, TaskState::Open);
        // weights: stake 130 000 × factor (silence medium ½, drop high 1, complaint medium ½)
        assert_eq!(q[0].flags.iter().map(|f| f.weight).collect::<Vec<_>>(), [65_000, 130_000, 65_000]);
        // a task for big's silence is open: that flag is not raised again
        opts.open.insert(OpenTask { customer_id: "big".into(), kind: FlagKind::SilenceBeyondRhythm });
        let q2 = action_queue(&log, Some(&act), &[], &opts);
        assert_eq!(q2[0].flags.iter().map(|f| f.kind).collect::<Vec<_>>(), [FlagKind::FrequencyDrop, FlagKind::NegativeTicket]);
        assert_eq!(q2[0].already_open, [FlagKind::SilenceBeyondRhythm]);
        // every flag of "other" open: no task for it at all
        opts.open.insert(OpenTask { customer_id: "other".into(), kind: FlagKind::SilenceBeyondRhythm });
        opts.open.insert(OpenTask { customer_id: "other".into(), kind: FlagKind::FrequencyDrop });
        let q3 = action_queue(&log, Some(&act), &[], &opts);
        assert_eq!(q3.iter().map(|t| t.customer_id.as_str()).collect::<Vec<_>>(), ["big"]);
        let t = &q3[0];
        for st in TaskState::ALL {
            assert_eq!(TaskState::parse(st.as_str()), Some(st));
        }
        assert!(t.reason().starts_with("1 order in the last 90 days") || t.reason().contains("complaint"), "{}", t.reason());
    }

    #[test]
    fn missed_initiative_alone_suggests_an_offer() {
        use crate::nbo::Chain;
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        b.push("x", d(100), 1000);
        b.push_line("landing-page", None, 1);
        b.push("x", d(110), 1000);
        b.push_line("landing-page", None, 1);
        b.push("x", d(120), 1000);
        b.push_line("landing-page", None, 1);
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
        // as-of day 160: x is 40 days past its last order (gap 10 -> silence 4× too); use day 141
        // where silence is 21 / 10 = 2.1 (low) and the chain's delay (35) has not passed: no task
        let q = action_queue(&log, None, std::slice::from_ref(&ch), &QueueOptions::new(d(141)));
        assert!(q.iter().all(|t| t.flags.iter().all(|f| f.kind != FlagKind::MissedInitiative)));
        // with the silence already open, day 160 leaves only missed_initiative: a personal offer (tier B: 3,000 of 8,000)
        let mut opts = QueueOptions::new(d(160));
        opts.open.insert(OpenTask { customer_id: "x".into(), kind: FlagKind::SilenceBeyondRhythm });
        let q = action_queue(&log, None, std::slice::from_ref(&ch), &opts);
        let t = q.iter().find(|t| t.customer_id == "x").unwrap();
        assert_eq!(t.flags.iter().map(|f| f.kind).collect::<Vec<_>>(), [FlagKind::MissedInitiative]);
        assert_eq!(t.tier, Tier::B);
        assert_eq!(t.suggested_step, Step::PersonalOffer);
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
        let opts = QueueOptions::new(d(460));
        assert_eq!(ids(&action_queue(&log, None, &[], &opts)), ["drifting"]);
        let all = QueueOptions { include_lost: true, ..QueueOptions::new(d(460)) };
        assert_eq!(ids(&action_queue(&log, None, &[], &all)), ["gone", "drifting"]);
        // a lost customer who still logs in is within reach
        let mut a = Activity::new();
        a.push_event("gone", Event { kind: EventKind::Login, at: d(450), detail: None });
        assert!(!is_lost(&log, 1, a.get("gone"), d(460), 365));
        assert!(is_lost(&log, 1, None, d(460), 365));
        assert_eq!(ids(&action_queue(&log, Some(&a), &[], &opts)), ["gone", "drifting"]);
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
        let opts = QueueOptions::new(d(500));
        let basis = Basis::new(&log, opts.as_of, &opts.tiers);
        let full = action_queue_with(&log, None, &[], &opts, &basis);
        assert!(full.len() > 10);
        for k in [0, 1, 10, full.len(), full.len() + 5] {
            let (n, top) = action_queue_top(&log, None, &[], &opts, &basis, k);
            assert_eq!(n, full.len());
            assert_eq!(top, full[..k.min(full.len())].to_vec(), "k = {k}");
        }
    }
}
