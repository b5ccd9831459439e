//! Red flags: a customer drifting from their own history, each with a severity, a weight by the
//! customer's value and a plain-language explanation built from the customer's own numbers.
//!
//! Everything is computed at an as-of instant from what happened strictly before it. Order-based
//! flags need only an [`OrderLog`]; activity flags need an [`Activity`] (events, feedback,
//! subscriptions — filled by whoever reads them, e.g. the store) and are simply absent without one.
//! `missed_initiative` needs the service chains of [`crate::nbo`] and is raised there. The action
//! queue that turns flags into tasks is [`crate::actions`].
//!
//! # Order-based flags
//!
//! | kind                    | rule                                                                                         | severity                         |
//! |-------------------------|----------------------------------------------------------------------------------------------|----------------------------------|
//! | `silence_beyond_rhythm` | days since the last order ÷ typical gap ≥ 2. Typical gap: the customer's median gap with ≥ 3 orders at distinct instants (zero gaps ignored); with 1–2 orders, the workspace median gap | ratio ≥ 4 high, ≥ 3 medium, else low |
//! | `frequency_drop`        | orders in the last 90 days ≤ half the customer's earlier rate per 90 days; needs ≥ 3 earlier orders over ≥ 180 days | drop ≥ 80% high, ≥ 60% medium, else low |
//! | `shrinking_orders`      | mean of the last 3 orders ≤ 70% of the mean of the earlier orders; needs ≥ 6 orders          | drop ≥ 60% high, ≥ 45% medium, else low |
//! | `fewer_categories`      | distinct product categories in the last 3 orders ≤ half of those in the earlier orders (earlier ≥ 2); needs order lines with categories and ≥ 6 orders | low                              |
//!
//! # Activity flags
//!
//! "Recent" is the 30 days before as-of for logins, 90 days for everything else.
//!
//! | kind               | rule                                                                                           | severity                          |
//! |--------------------|------------------------------------------------------------------------------------------------|-----------------------------------|
//! | `fewer_logins`     | logins (or feature uses) in the last 30 days ≤ half the rate per 30 days of the 90 days before; needs ≥ 6 in those 90 days | drop ≥ 80% high, ≥ 60% medium, else low |
//! | `ignored_messages` | ≥ 3 messages sent in the last 90 days and none opened since the first of them                   | ≥ 8 sent high, ≥ 5 medium, else low |
//! | `negative_ticket`  | complaints or negative support tickets in the last 90 days                                      | ≥ 2 high, else medium             |
//! | `detractor`        | the latest NPS answer of the last 180 days is 0–6                                               | 0–3 high, 4–5 medium, 6 low       |
//! | `cancelled_addon`  | a subscription ended in the last 90 days while another one of the customer is still running, or an `addon_cancelled` event in the last 90 days | medium |
//!
//! # Weight
//!
//! Each flag's `weight` is the customer's stake (historical revenue before as-of, minor units)
//! times its severity factor: high 1, medium ½, low ¼ — so a lapsing large customer outranks many
//! small ones. Flag functions return weight 0; [`with_weight`] fills it in.

use crate::rfm::n_before;
use crate::segments::Facts;
use crate::{CustomerIdx, Instant, OrderLog, DAY};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::subscriptions::Subscription;

/// Kind of red flag (snake_case in JSON and in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    SilenceBeyondRhythm,
    FrequencyDrop,
    ShrinkingOrders,
    FewerCategories,
    FewerLogins,
    IgnoredMessages,
    NegativeTicket,
    Detractor,
    CancelledAddon,
    MissedInitiative,
}

impl FlagKind {
    pub const ALL: [FlagKind; 10] = [
        FlagKind::SilenceBeyondRhythm,
        FlagKind::FrequencyDrop,
        FlagKind::ShrinkingOrders,
        FlagKind::FewerCategories,
        FlagKind::FewerLogins,
        FlagKind::IgnoredMessages,
        FlagKind::NegativeTicket,
        FlagKind::Detractor,
        FlagKind::CancelledAddon,
        FlagKind::MissedInitiative,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::SilenceBeyondRhythm => "silence_beyond_rhythm",
            FlagKind::FrequencyDrop => "frequency_drop",
            FlagKind::ShrinkingOrders => "shrinking_orders",
            FlagKind::FewerCategories => "fewer_categories",
            FlagKind::FewerLogins => "fewer_logins",
            FlagKind::IgnoredMessages => "ignored_messages",
            FlagKind::NegativeTicket => "negative_ticket",
            FlagKind::Detractor => "detractor",
            FlagKind::CancelledAddon => "cancelled_addon",
            FlagKind::MissedInitiative => "missed_initiative",
        }
    }

    /// The kind named `s` (snake_case, as in JSON).
    pub fn parse(s: &str) -> Option<FlagKind> {
        FlagKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for FlagKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Share of the stake a flag of this severity weighs: high 1, medium ½, low ¼.
    pub fn factor(self) -> f64 {
        match self {
            Severity::High => 1.0,
            Severity::Medium => 0.5,
            Severity::Low => 0.25,
        }
    }

    /// Days from as-of to the task's due date.
    pub fn due_days(self) -> i64 {
        match self {
            Severity::High => 2,
            Severity::Medium => 7,
            Severity::Low => 14,
        }
    }
}

/// One red flag of one customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub severity: Severity,
    /// The flag's measure: silence ratio, share of drop, ... (see the module docs).
    pub value: f64,
    /// Stake × severity factor, minor units (0 until [`with_weight`]).
    pub weight: i64,
    pub explanation: Explanation,
}

/// The plain-language explanation of a flag. Order flags keep the customer's numbers and write
/// the sentence only when it is shown (`Display`, serialised as that string), so scoring a whole
/// customer base formats nothing it does not print.
#[derive(Clone, Debug, PartialEq)]
pub enum Explanation {
    /// `usually orders every 30 days; silent for 100 days (3.3× usual)`; `visits` is `Some` when
    /// the gap is the workspace's (the customer has one or two purchase days).
    Silence { gap: f64, visits: Option<usize>, silent: f64, ratio: f64 },
    /// `1 order in the last 90 days; earlier rate 9.0 per 90 days (89% fewer)`.
    FrequencyDrop { recent: usize, expected: f64, drop: f64 },
    /// Means in major units.
    ShrinkingOrders { late: f64, early: f64, drop: f64 },
    FewerCategories { early: usize, late: usize },
    /// `bought landing-page 100 days ago and not analytics since; 41% of customers who bought
    /// landing-page bought analytics within 60 days (typically after 35 days); no offer on record`.
    MissedInitiative { chain: std::sync::Arc<crate::nbo::Chain>, since: f64, activity_known: bool },
    /// Written out already.
    Text(String),
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Explanation::Silence { gap, visits, silent, ratio } => {
                match visits {
                    None => write!(f, "usually orders {}", every(*gap))?,
                    Some(v) => write!(f, "{} so far; customers here usually reorder {}", if *v == 1 { "one order" } else { "two orders" }, every(*gap))?,
                }
                write!(f, "; silent for {} days ({ratio:.1}× usual)", fmt_days(silent.floor()))
            }
            Explanation::FrequencyDrop { recent, expected, drop } => write!(
                f,
                "{recent} order{} in the last 90 days; earlier rate {expected:.1} per 90 days ({:.0}% fewer)",
                if *recent == 1 { "" } else { "s" },
                drop * 100.0
            ),
            Explanation::ShrinkingOrders { late, early, drop } => {
                write!(f, "last 3 orders averaged {late:.2}; earlier orders averaged {early:.2} ({:.0}% smaller)", drop * 100.0)
            }
            Explanation::FewerCategories { early, late } => write!(f, "bought from {early} product categories before; only {late} in the last 3 orders"),
            Explanation::MissedInitiative { chain, since, activity_known } => {
                let on_record = if *activity_known { "never offered to them" } else { "no offer on record" };
                write!(f, "bought {} {} days ago and not {} since; {}; {on_record}", chain.from, fmt_days(since.floor()), chain.to, chain.evidence())
            }
            Explanation::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Explanation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl PartialEq<&str> for Explanation {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Explanation::Text(t) => t == other,
            e => e.to_string() == **other,
        }
    }
}

impl From<String> for Explanation {
    fn from(s: String) -> Self {
        Explanation::Text(s)
    }
}

/// The flag with its weight for a customer whose stake (revenue so far) is `stake` minor units.
pub fn with_weight(mut f: Flag, stake: i64) -> Flag {
    f.weight = (stake.max(0) as f64 * f.severity.factor()).round() as i64;
    f
}

pub(crate) fn days(secs: i64) -> f64 {
    secs as f64 / DAY as f64
}

pub(crate) fn fmt_days(d: f64) -> String {
    let r = d.round();
    if (d - r).abs() < 0.05 {
        format!("{r:.0}")
    } else {
        format!("{d:.1}")
    }
}

pub(crate) fn every(d: f64) -> String {
    match fmt_days(d).as_str() {
        "1" => "every day".to_string(),
        n => format!("every {n} days"),
    }
}

/// `silence_beyond_rhythm` from the order times before as-of.
pub fn silence_beyond_rhythm(times: &[Instant], as_of: Instant, workspace_gap: Option<f64>) -> Option<Flag> {
    silence_of(&Facts::of(times), as_of, workspace_gap)
}

/// `silence_beyond_rhythm` from a customer's [`Facts`].
pub(crate) fn silence_of(f: &Facts, as_of: Instant, workspace_gap: Option<f64>) -> Option<Flag> {
    if f.orders == 0 {
        return None;
    }
    let silent = days(as_of - f.last);
    let (gap, own) = match f.own_gap {
        Some(g) => (g, true),
        None => (workspace_gap?, false),
    };
    if gap <= 0.0 {
        return None;
    }
    let ratio = silent / gap;
    if ratio < 2.0 {
        return None;
    }
    let severity = if ratio >= 4.0 {
        Severity::High
    } else if ratio >= 3.0 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let visits = (!own).then_some(f.visits as usize);
    Some(Flag { kind: FlagKind::SilenceBeyondRhythm, severity, value: ratio, weight: 0, explanation: Explanation::Silence { gap, visits, silent, ratio } })
}

/// `frequency_drop`: the last 90 days against the earlier rate.
pub fn frequency_drop(times: &[Instant], as_of: Instant) -> Option<Flag> {
    let cut = as_of - 90 * DAY;
    let first = *times.first()?;
    let earlier = times.partition_point(|&t| t < cut);
    let recent = times.len() - earlier;
    let span = days(cut - first);
    if earlier < 3 || span < 180.0 {
        return None;
    }
    let expected = earlier as f64 * 90.0 / span;
    if recent as f64 > 0.5 * expected {
        return None;
    }
    let drop = 1.0 - recent as f64 / expected;
    let severity = if drop >= 0.8 {
        Severity::High
    } else if drop >= 0.6 {
        Severity::Medium
    } else {
        Severity::Low
    };
    Some(Flag {
        kind: FlagKind::FrequencyDrop,
        severity,
        value: drop,
        weight: 0,
        explanation: Explanation::FrequencyDrop { recent, expected, drop },
    })
}

/// `shrinking_orders`: mean of the last 3 orders against the earlier mean (amounts in minor units,
/// `minor_per_major` to show them in major units).
pub fn shrinking_orders(amounts: &[i64], minor_per_major: i64) -> Option<Flag> {
    if amounts.len() < 6 {
        return None;
    }
    let (early, late) = amounts.split_at(amounts.len() - 3);
    let mean = |v: &[i64]| v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
    let (e, l) = (mean(early), mean(late));
    if e <= 0.0 || l > 0.7 * e {
        return None;
    }
    let drop = 1.0 - l / e;
    let severity = if drop >= 0.6 {
        Severity::High
    } else if drop >= 0.45 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let k = minor_per_major.max(1) as f64;
    Some(Flag {
        kind: FlagKind::ShrinkingOrders,
        severity,
        value: drop,
        weight: 0,
        explanation: Explanation::ShrinkingOrders { late: l / k, early: e / k, drop },
    })
}

/// `fewer_categories` from the category sets of each order (in time order).
pub fn fewer_categories(order_categories: &[Vec<u32>]) -> Option<Flag> {
    if order_categories.len() < 6 {
        return None;
    }
    let distinct = |v: &[Vec<u32>]| {
        let mut s: Vec<u32> = v.iter().flatten().copied().collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    let (early, late) = order_categories.split_at(order_categories.len() - 3);
    fewer_categories_of(distinct(early), distinct(late))
}

/// `fewer_categories` from the numbers of distinct categories before and in the last 3 orders.
fn fewer_categories_of(e: usize, l: usize) -> Option<Flag> {
    if e < 2 || 2 * l > e {
        return None;
    }
    Some(Flag {
        kind: FlagKind::FewerCategories,
        severity: Severity::Low,
        value: l as f64 / e as f64,
        weight: 0,
        explanation: Explanation::FewerCategories { early: e, late: l },
    })
}

/// All order-based flags of customer `c` at `as_of`.
pub fn customer_flags(log: &OrderLog, c: CustomerIdx, as_of: Instant, workspace_gap: Option<f64>) -> Vec<Flag> {
    let k = n_before(log, c, as_of);
    let mut out = Vec::new();
    order_flags(log, c, k, &Facts::of(&log.times_of(c)[..k]), as_of, workspace_gap, &mut |f| {
        out.push(f);
        false
    });
    out
}

/// Calls `emit` with each order-based flag of customer `c` (its first `k` orders are before as-of,
/// `facts` are theirs), in the order of [`FlagKind::ALL`], until `emit` returns true. Allocates
/// nothing.
pub(crate) fn order_flags(log: &OrderLog, c: CustomerIdx, k: usize, facts: &Facts, as_of: Instant, workspace_gap: Option<f64>, emit: &mut dyn FnMut(Flag) -> bool) -> bool {
    let times = &log.times_of(c)[..k];
    let amounts = &log.amounts_of(c)[..k];
    let flags: [&dyn Fn() -> Option<Flag>; 4] = [
        &|| silence_of(facts, as_of, workspace_gap),
        &|| frequency_drop(times, as_of),
        &|| shrinking_orders(amounts, log.currency().minor_per_major()),
        &|| category_counts(log, c, k).and_then(|(e, l)| fewer_categories_of(e, l)),
    ];
    flags.iter().any(|f| f().is_some_and(|f| emit(f)))
}

/// Distinct categories in the orders before the last 3 and in the last 3 of the customer's first
/// `k` orders; `None` without order lines, with fewer than 6 orders, or when no line has a
/// category.
fn category_counts(log: &OrderLog, c: CustomerIdx, k: usize) -> Option<(usize, usize)> {
    log.lines()?;
    if k < 6 {
        return None;
    }
    let cat = log.catalog();
    let start = log.orders_of(c).start;
    let split = start + k - 3;
    let categories = (start..start + k).map(|o| (o < split, log.products_of_order(o).iter().filter_map(|&p| cat.category(p))));
    if cat.categories.len() <= 128 {
        let (mut early, mut late, mut any) = (0u128, 0u128, false);
        for (is_early, cs) in categories {
            for x in cs {
                any = true;
                *if is_early { &mut early } else { &mut late } |= 1u128 << x;
            }
        }
        return any.then(|| (early.count_ones() as usize, late.count_ones() as usize));
    }
    let (mut early, mut late) = (Vec::new(), Vec::new());
    for (is_early, cs) in categories {
        if is_early { &mut early } else { &mut late }.extend(cs);
    }
    if early.is_empty() && late.is_empty() {
        return None;
    }
    for v in [&mut early, &mut late] {
        v.sort_unstable();
        v.dedup();
    }
    Some((early.len(), late.len()))
}

// ---------------------------------------------------------------------------------------------
// Activity: the pure input of the activity flags.

/// Kind of an activity event. [`EventKind::parse`] maps the names a business or the store uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Login,
    FeatureUse,
    /// A message (email, SMS, messenger) sent to the customer.
    MessageSent,
    /// A message opened or clicked.
    MessageOpened,
    Ticket,
    NegativeTicket,
    Complaint,
    AddonCancelled,
    /// An offer made to the customer (`detail`: the product offered).
    Offer,
    Other,
}

impl EventKind {
    /// `login`; `feature_use`; `email_sent`/`message_sent`; `email_opened`/`email_clicked`/
    /// `message_opened`; `ticket_opened`; `ticket_negative`/`negative_ticket`; `complaint`;
    /// `addon_cancelled`; `offer`/`offer_sent`; anything else is `Other`.
    pub fn parse(kind: &str) -> EventKind {
        match kind.trim().to_ascii_lowercase().as_str() {
            "login" | "logged_in" | "session" => EventKind::Login,
            "feature_use" | "feature_used" => EventKind::FeatureUse,
            "email_sent" | "message_sent" | "sms_sent" => EventKind::MessageSent,
            "email_opened" | "email_clicked" | "message_opened" | "message_clicked" => EventKind::MessageOpened,
            "ticket_opened" | "ticket" => EventKind::Ticket,
            "ticket_negative" | "negative_ticket" => EventKind::NegativeTicket,
            "complaint" => EventKind::Complaint,
            "addon_cancelled" | "add_on_cancelled" | "addon_canceled" => EventKind::AddonCancelled,
            "offer" | "offer_sent" | "offer_made" => EventKind::Offer,
            _ => EventKind::Other,
        }
    }
}

/// One activity event of a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub kind: EventKind,
    pub at: Instant,
    /// The product of an offer, the add-on of a cancellation, the sentiment-free subject of a
    /// ticket; free text, may be absent.
    pub detail: Option<String>,
}

/// One NPS answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Feedback {
    pub at: Instant,
    /// 0–10.
    pub score: u8,
}

/// Everything but orders known about one customer's behaviour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CustomerActivity {
    pub events: Vec<Event>,
    pub feedback: Vec<Feedback>,
    pub subscriptions: Vec<Subscription>,
}

/// Activity of a workspace by customer id. Order of insertion does not matter: [`Activity::get`]
/// sees every list sorted by time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    customers: BTreeMap<String, CustomerActivity>,
}

impl Activity {
    pub fn new() -> Self {
        Activity::default()
    }

    pub fn push_event(&mut self, customer: &str, e: Event) {
        let a = self.entry(customer);
        let sorted = a.events.last().is_none_or(|l| (l.at, l.kind) <= (e.at, e.kind));
        a.events.push(e);
        if !sorted {
            a.events.sort_by(|x, y| (x.at, x.kind, &x.detail).cmp(&(y.at, y.kind, &y.detail)));
        }
    }

    pub fn push_feedback(&mut self, customer: &str, f: Feedback) {
        let a = self.entry(customer);
        a.feedback.push(f);
        a.feedback.sort_by_key(|f| (f.at, f.score));
    }

    /// Adds a subscription of `s.customer`.
    pub fn push_subscription(&mut self, s: Subscription) {
        let a = self.entry(&s.customer);
        a.subscriptions.push(s);
        a.subscriptions.sort_by(|x, y| (x.started_at, x.ended_at, &x.plan).cmp(&(y.started_at, y.ended_at, &y.plan)));
    }

    fn entry(&mut self, customer: &str) -> &mut CustomerActivity {
        if !self.customers.contains_key(customer) {
            self.customers.insert(customer.to_string(), CustomerActivity::default());
        }
        self.customers.get_mut(customer).expect("inserted above")
    }

    /// The activity of one customer, `None` when nothing is known.
    pub fn get(&self, customer: &str) -> Option<&CustomerActivity> {
        self.customers.get(customer)
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Customers with any activity, in id order.
    pub fn customers(&self) -> impl Iterator<Item = (&str, &CustomerActivity)> {
        self.customers.iter().map(|(k, v)| (k.as_str(), v))
    }
}

fn ago(days: f64) -> String {
    match days.floor() as i64 {
        0 => "today".to_string(),
        1 => "1 day ago".to_string(),
        n => format!("{n} days ago"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn count_in(ev: &[Event], kind: EventKind, from: Instant, to: Instant) -> usize {
    ev.iter().filter(|e| e.kind == kind && e.at >= from && e.at < to).count()
}

/// `fewer_logins`: logins (or feature uses) in the last 30 days against the 90 days before.
pub fn fewer_logins(a: &CustomerActivity, as_of: Instant) -> Option<Flag> {
    let cut = as_of - 30 * DAY;
    let measure = |kind: EventKind| -> Option<(usize, f64, f64)> {
        let earlier = count_in(&a.events, kind, cut - 90 * DAY, cut);
        if earlier < 6 {
            return None;
        }
        let rate = earlier as f64 / 3.0;
        let recent = count_in(&a.events, kind, cut, as_of);
        (recent as f64 <= 0.5 * rate).then(|| (recent, rate, 1.0 - recent as f64 / rate))
    };
    let parts: Vec<(String, f64)> = [(EventKind::Login, "login", "logins"), (EventKind::FeatureUse, "feature use", "feature uses")]
        .into_iter()
        .filter_map(|(k, one, many)| {
            let (recent, rate, drop) = measure(k)?;
            Some((format!("{} in the last 30 days against {rate:.1} per 30 days before ({:.0}% fewer)", plural(recent, one, many), drop * 100.0), drop))
        })
        .collect();
    let drop = parts.iter().map(|p| p.1).fold(f64::NAN, f64::max);
    if parts.is_empty() {
        return None;
    }
    Some(Flag {
        kind: FlagKind::FewerLogins,
        severity: sev(drop, 0.8, 0.6),
        value: drop,
        weight: 0,
        explanation: parts.into_iter().map(|p| p.0).collect::<Vec<_>>().join("; ").into(),
    })
}

fn sev(x: f64, high: f64, medium: f64) -> Severity {
    if x >= high {
        Severity::High
    } else if x >= medium {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// `ignored_messages`: ≥ 3 messages sent in the last 90 days, none opened since the first of them.
pub fn ignored_messages(a: &CustomerActivity, as_of: Instant) -> Option<Flag> {
    let from = as_of - 90 * DAY;
    let sent: Vec<Instant> = a.events.iter().filter(|e| e.kind == EventKind::MessageSent && e.at >= from && e.at < as_of).map(|e| e.at).collect();
    let first = *sent.first()?;
    if sent.len() < 3 || a.events.iter().any(|e| e.kind == EventKind::MessageOpened && e.at >= first && e.at < as_of) {
        return None;
    }
    let last_open = a.events.iter().filter(|e| e.kind == EventKind::MessageOpened && e.at < first).map(|e| e.at).next_back();
    let before = match last_open {
        Some(t) => format!("the last one opened {}", ago(days(as_of - t))),
        None => "never opened one".to_string(),
    };
    Some(Flag {
        kind: FlagKind::IgnoredMessages,
        severity: sev(sent.len() as f64, 8.0, 5.0),
        value: sent.len() as f64,
        weight: 0,
        explanation: format!("{} sent in the last 90 days, none opened ({before})", plural(sent.len(), "message", "messages")).into(),
    })
}

/// `negative_ticket`: complaints or negative support tickets in the last 90 days.
pub fn negative_ticket(a: &CustomerActivity, as_of: Instant) -> Option<Flag> {
    let from = as_of - 90 * DAY;
    let complaints = count_in(&a.events, EventKind::Complaint, from, as_of);
    let negative = count_in(&a.events, EventKind::NegativeTicket, from, as_of);
    let n = complaints + negative;
    if n == 0 {
        return None;
    }
    let last = a.events.iter().filter(|e| matches!(e.kind, EventKind::Complaint | EventKind::NegativeTicket) && e.at >= from && e.at < as_of).map(|e| e.at).max()?;
    let what = match (complaints, negative) {
        (c, 0) => plural(c, "complaint", "complaints"),
        (0, t) => plural(t, "negative support ticket", "negative support tickets"),
        (c, t) => format!("{} and {}", plural(c, "complaint", "complaints"), plural(t, "negative support ticket", "negative support tickets")),
    };
    Some(Flag {
        kind: FlagKind::NegativeTicket,
        severity: if n >= 2 { Severity::High } else { Severity::Medium },
        value: n as f64,
        weight: 0,
        explanation: format!("{what} in the last 90 days, the last {}", ago(days(as_of - last))).into(),
    })
}

/// `detractor`: the latest NPS answer of the last 180 days is 0–6.
pub fn detractor(a: &CustomerActivity, as_of: Instant) -> Option<Flag> {
    let f = a.feedback.iter().filter(|f| f.at < as_of && f.at >= as_of - 180 * DAY && f.score <= 10).max_by_key(|f| f.at)?;
    if f.score > 6 {
        return None;
    }
    Some(Flag {
        kind: FlagKind::Detractor,
        severity: match f.score {
            0..=3 => Severity::High,
            4..=5 => Severity::Medium,
            _ => Severity::Low,
        },
        value: f.score as f64,
        weight: 0,
        explanation: format!("answered {} out of 10 to \"would you recommend us\" {} (a detractor: 0–6)", f.score, ago(days(as_of - f.at))).into(),
    })
}

/// `cancelled_addon`: an add-on cancelled in the last 90 days while the customer stays subscribed.
pub fn cancelled_addon(a: &CustomerActivity, as_of: Instant, minor_per_major: i64) -> Option<Flag> {
    let from = as_of - 90 * DAY;
    let running = |s: &Subscription| s.started_at < as_of && s.ended_at.is_none_or(|e| e >= as_of);
    let k = minor_per_major.max(1) as f64;
    let mut parts: Vec<(Instant, String)> = a
        .subscriptions
        .iter()
        .filter(|s| s.ended_at.is_some_and(|e| e >= from && e < as_of))
        .filter_map(|s| {
            let ended = s.ended_at?;
            let still = a.subscriptions.iter().find(|o| !std::ptr::eq(*o, s) && running(o))?;
            Some((ended, format!("cancelled add-on \"{}\" ({:.2} a month) {}; still subscribed to \"{}\"", s.plan, s.mrr as f64 / k, ago(days(as_of - ended)), still.plan)))
        })
        .collect();
    parts.extend(a.events.iter().filter(|e| e.kind == EventKind::AddonCancelled && e.at >= from && e.at < as_of).map(|e| {
        let name = e.detail.as_deref().map_or(String::new(), |d| format!(" \"{d}\""));
        (e.at, format!("cancelled add-on{name} {}", ago(days(as_of - e.at))))
    }));
    if parts.is_empty() {
        return None;
    }
    parts.sort();
    Some(Flag {
        kind: FlagKind::CancelledAddon,
        severity: Severity::Medium,
        value: parts.len() as f64,
        weight: 0,
        explanation: parts.into_iter().map(|p| p.1).collect::<Vec<_>>().join("; ").into(),
    })
}

/// All activity flags of one customer at `as_of` (see the module docs).
pub fn activity_flags(a: &CustomerActivity, as_of: Instant, minor_per_major: i64) -> Vec<Flag> {
    let mut out = Vec::new();
    out.extend(fewer_logins(a, as_of));
    out.extend(ignored_messages(a, as_of));
    out.extend(negative_ticket(a, as_of));
    out.extend(detractor(a, as_of));
    out.extend(cancelled_addon(a, as_of, minor_per_major));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, OrderLogBuilder};

    fn d(x: i64) -> Instant {
        x * DAY
    }

    #[test]
    fn silence_every_30_days_then_100_days() {
        // orders on days 0, 30, ..., 360 (13 orders, median gap 30); as-of day 460: silent 100 days,
        // ratio 100 / 30 = 3.33 -> medium
        let t: Vec<Instant> = (0..13).map(|k| d(30 * k)).collect();
        let f = silence_beyond_rhythm(&t, d(460), None).unwrap();
        assert!((f.value - 100.0 / 30.0).abs() < 1e-12);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.explanation, "usually orders every 30 days; silent for 100 days (3.3× usual)");
        // last gap normal: 25 days silent -> no flag; 59 days -> ratio 1.97, no flag
        assert!(silence_beyond_rhythm(&t, d(385), None).is_none());
        assert!(silence_beyond_rhythm(&t, d(419), None).is_none());
    }

    #[test]
    fn silence_of_one_order_customer_uses_workspace_gap() {
        // one order at day 0, as-of day 90, workspace median gap 20: ratio 4.5 -> high
        let f = silence_beyond_rhythm(&[d(0)], d(90), Some(20.0)).unwrap();
        assert_eq!(f.severity, Severity::High);
        assert!(f.explanation.to_string().contains("customers here usually reorder every 20 days; silent for 90 days (4.5× usual)"), "{}", f.explanation);
        assert!(silence_beyond_rhythm(&[d(0)], d(90), None).is_none());
    }

    #[test]
    fn frequency_drop_scenario() {
        // every 10 days from day 0 to day 360 (37 orders), then one order at day 400; as-of day 460.
        // cut = day 370: earlier 37 orders over 370 days -> 9.0 per 90 days; recent 1 -> drop 88.9%
        let mut t: Vec<Instant> = (0..37).map(|k| d(10 * k)).collect();
        t.push(d(400));
        let f = frequency_drop(&t, d(460)).unwrap();
        assert!((f.value - (1.0 - 1.0 / 9.0)).abs() < 1e-12);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.explanation, "1 order in the last 90 days; earlier rate 9.0 per 90 days (89% fewer)");
        // steady customer: orders every 10 days through day 455 -> no flag
        let steady: Vec<Instant> = (0..46).map(|k| d(10 * k)).collect();
        assert!(frequency_drop(&steady, d(460)).is_none());
    }

    #[test]
    fn shrinking_orders_scenario() {
        // earlier 100, 100, 100, 100 (mean 100.00), last 3: 30, 30, 30 -> 70% smaller, high
        let f = shrinking_orders(&[10000, 10000, 10000, 10000, 3000, 3000, 3000], 100).unwrap();
        assert!((f.value - 0.7).abs() < 1e-12);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.explanation, "last 3 orders averaged 30.00; earlier orders averaged 100.00 (70% smaller)");
        // 80 against 100: only 20% smaller, no flag
        assert!(shrinking_orders(&[10000, 10000, 10000, 8000, 8000, 8000], 100).is_none());
        assert!(shrinking_orders(&[100, 1], 100).is_none());
    }

    #[test]
    fn fewer_categories_scenario() {
        // earlier orders covered categories {0, 1, 2, 3}; the last three only {0}
        let o = vec![vec![0, 1], vec![2], vec![3], vec![0], vec![0], vec![0]];
        let f = fewer_categories(&o).unwrap();
        assert_eq!(f.explanation, "bought from 4 product categories before; only 1 in the last 3 orders");
        let same = vec![vec![0, 1], vec![0], vec![1], vec![0, 1], vec![0], vec![1]];
        assert!(fewer_categories(&same).is_none());
    }

    #[test]
    fn fewer_categories_from_order_lines() {
        let mut b = OrderLogBuilder::new(Currency::new("USD").unwrap());
        for (k, cat) in ["oil", "filters", "tyres", "oil", "oil", "oil"].iter().enumerate() {
            b.push("c", d(10 * k as i64), 1000);
            b.push_line(&format!("{cat}-product"), Some(cat), 1);
        }
        let log = b.build();
        let flags = customer_flags(&log, 0, d(55), None);
        assert!(flags.iter().any(|f| f.kind == FlagKind::FewerCategories), "{flags:?}");
    }


    // ---- activity flags: one scenario each, with a customer who is fine ----

    fn ev(kind: EventKind, day: i64) -> Event {
        Event { kind, at: d(day), detail: None }
    }

    fn act(events: Vec<Event>) -> CustomerActivity {
        let mut a = Activity::new();
        for e in events {
            a.push_event("c", e);
        }
        a.get("c").cloned().unwrap_or_default()
    }

    #[test]
    fn fewer_logins_scenario() {
        // as-of day 200: logins every 3 days on days 80..170 (30 in the 90 days before day 170 ->
        // 10.0 per 30 days), then 2 logins in the last 30 days -> 80% fewer, high
        let mut e: Vec<Event> = (0..30).map(|k| ev(EventKind::Login, 80 + 3 * k)).collect();
        e.push(ev(EventKind::Login, 175));
        e.push(ev(EventKind::Login, 190));
        let f = fewer_logins(&act(e.clone()), d(200)).unwrap();
        assert_eq!(f.explanation, "2 logins in the last 30 days against 10.0 per 30 days before (80% fewer)");
        assert_eq!(f.severity, Severity::High);
        // steady: 10 logins in the last 30 days too -> no flag
        let steady: Vec<Event> = (0..40).map(|k| ev(EventKind::Login, 80 + 3 * k)).collect();
        assert!(fewer_logins(&act(steady), d(200)).is_none());
        // too little history (5 logins before) -> no flag
        assert!(fewer_logins(&act((0..5).map(|k| ev(EventKind::Login, 100 + k)).collect()), d(200)).is_none());
    }

    #[test]
    fn ignored_messages_scenario() {
        // 5 emails in the last 90 days (days 120..160), the last open on day 50 -> medium
        let mut e = vec![ev(EventKind::MessageOpened, 50)];
        e.extend((0..5).map(|k| ev(EventKind::MessageSent, 120 + 10 * k)));
        let f = ignored_messages(&act(e.clone()), d(200)).unwrap();
        assert_eq!(f.explanation, "5 messages sent in the last 90 days, none opened (the last one opened 150 days ago)");
        assert_eq!(f.severity, Severity::Medium);
        // one of them opened -> no flag
        e.push(ev(EventKind::MessageOpened, 141));
        assert!(ignored_messages(&act(e), d(200)).is_none());
        // only 2 sent -> no flag
        assert!(ignored_messages(&act(vec![ev(EventKind::MessageSent, 150), ev(EventKind::MessageSent, 160)]), d(200)).is_none());
    }

    #[test]
    fn negative_ticket_scenario() {
        let e = vec![ev(EventKind::Complaint, 150), ev(EventKind::NegativeTicket, 188), ev(EventKind::Ticket, 195)];
        let f = negative_ticket(&act(e), d(200)).unwrap();
        assert_eq!(f.explanation, "1 complaint and 1 negative support ticket in the last 90 days, the last 12 days ago");
        assert_eq!(f.severity, Severity::High);
        // an ordinary ticket, or a complaint 100 days ago -> no flag
        assert!(negative_ticket(&act(vec![ev(EventKind::Ticket, 195), ev(EventKind::Complaint, 100)]), d(200)).is_none());
    }

    #[test]
    fn detractor_scenario() {
        let mut a = Activity::new();
        a.push_feedback("c", Feedback { at: d(188), score: 3 });
        a.push_feedback("c", Feedback { at: d(20), score: 10 });
        let f = detractor(a.get("c").unwrap(), d(200)).unwrap();
        assert_eq!(f.explanation, "answered 3 out of 10 to \"would you recommend us\" 12 days ago (a detractor: 0–6)");
        assert_eq!(f.severity, Severity::High);
        // a later promoter answer wins -> no flag
        a.push_feedback("c", Feedback { at: d(195), score: 9 });
        assert!(detractor(a.get("c").unwrap(), d(200)).is_none());
    }

    #[test]
    fn cancelled_addon_scenario() {
        let mut a = Activity::new();
        a.push_subscription(Subscription { customer: "c".into(), plan: "pro".into(), mrr: 9900, started_at: d(0), ended_at: None });
        a.push_subscription(Subscription { customer: "c".into(), plan: "reports".into(), mrr: 4500, started_at: d(30), ended_at: Some(d(180)) });
        let f = cancelled_addon(a.get("c").unwrap(), d(200), 100).unwrap();
        assert_eq!(f.explanation, "cancelled add-on \"reports\" (45.00 a month) 20 days ago; still subscribed to \"pro\"");
        assert_eq!(f.severity, Severity::Medium);
        // the only subscription ended: that is churn, not a cancelled add-on
        let mut b = Activity::new();
        b.push_subscription(Subscription { customer: "c".into(), plan: "pro".into(), mrr: 9900, started_at: d(0), ended_at: Some(d(180)) });
        assert!(cancelled_addon(b.get("c").unwrap(), d(200), 100).is_none());
        // an addon_cancelled event counts too
        let e = act(vec![Event { kind: EventKind::AddonCancelled, at: d(190), detail: Some("backup".into()) }]);
        assert_eq!(cancelled_addon(&e, d(200), 100).unwrap().explanation, "cancelled add-on \"backup\" 10 days ago");
    }

    #[test]
    fn event_kinds_parse_and_activity_sorts() {
        assert_eq!(EventKind::parse("email_opened"), EventKind::MessageOpened);
        assert_eq!(EventKind::parse("Complaint"), EventKind::Complaint);
        assert_eq!(EventKind::parse("webinar"), EventKind::Other);
        let a = act(vec![ev(EventKind::Login, 5), ev(EventKind::Login, 1)]);
        assert_eq!(a.events.iter().map(|e| e.at).collect::<Vec<_>>(), [d(1), d(5)]);
        for k in FlagKind::ALL {
            assert_eq!(FlagKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }

    #[test]
    fn weight_is_stake_times_severity_factor() {
        let f = silence_beyond_rhythm(&[d(0), d(30), d(60)], d(180), None).unwrap(); // 120 / 30 = 4 -> high
        assert_eq!(with_weight(f.clone(), 10_000).weight, 10_000);
        let mut low = f;
        low.severity = Severity::Low;
        assert_eq!(with_weight(low, 10_000).weight, 2_500);
    }
}
