//! What the model sees of each customer at a cut day: behaviour from orders (recency against the
//! customer's own rhythm, frequency and spend trends, tenure, the fitted BG/NBD's `P(alive)` and
//! expected purchases) and, where known, from activity (logins and feature use, support tickets
//! and their sentiment, messages ignored, NPS, cancelled add-ons).
//!
//! Every feature has a **value** a person can read (days, a ratio, a count) and an **input** the
//! regression takes (mostly a logarithm of the value, so that one customer silent for ten years
//! does not outweigh the rest). Facts are computed from what happened strictly before the cut.

use holdfast_core::flags::{CustomerActivity, EventKind, Subscription};
use holdfast_core::{Instant, DAY};
use holdfast_models::summary::{date_of_day, Occasions};
use holdfast_models::{alive_and_purchases, fit_purchases, FitOptions, PurchaseKind, TimeUnit};
use serde::Serialize;

/// A feature of the churn model (snake_case in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Days since the last order ÷ the customer's usual gap (shrunk toward the workspace's).
    RecencyRatio,
    /// Days since the last order.
    DaysSinceLast,
    /// Purchase days so far.
    Orders,
    /// Days since the first order.
    Tenure,
    /// Purchase days in the last horizon ÷ what the customer's earlier rate predicts (+½ each).
    FrequencyTrend,
    /// Mean value of the last two purchase days ÷ the mean of the earlier ones.
    MonetaryTrend,
    /// BG/NBD probability of being alive.
    PAlive,
    /// BG/NBD expected purchases over the horizon.
    ExpectedPurchases,
    /// Logins and feature uses in the last 30 days (+1) ÷ the rate per 30 days of the 150 before (+1).
    LoginTrend,
    /// Support tickets (any sentiment) in the last 90 days.
    Tickets,
    /// Negative support tickets and complaints in the last 90 days.
    NegativeTickets,
    /// Messages sent in the last 90 days since the customer last opened one.
    EmailsIgnored,
    /// How far the latest NPS answer of the last year is below 7 (0 for none, passives, promoters).
    NpsDetractor,
    /// Add-ons cancelled in the last 90 days while staying subscribed.
    AddonCancelled,
}

impl Feature {
    pub const ORDERS: [Feature; 6] =
        [Feature::RecencyRatio, Feature::DaysSinceLast, Feature::Orders, Feature::Tenure, Feature::FrequencyTrend, Feature::MonetaryTrend];
    pub const MODEL: [Feature; 2] = [Feature::PAlive, Feature::ExpectedPurchases];
    pub const ACTIVITY: [Feature; 6] =
        [Feature::LoginTrend, Feature::Tickets, Feature::NegativeTickets, Feature::EmailsIgnored, Feature::NpsDetractor, Feature::AddonCancelled];
    pub const COUNT: usize = 14;

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::RecencyRatio => "recency_ratio",
            Feature::DaysSinceLast => "days_since_last",
            Feature::Orders => "orders",
            Feature::Tenure => "tenure",
            Feature::FrequencyTrend => "frequency_trend",
            Feature::MonetaryTrend => "monetary_trend",
            Feature::PAlive => "p_alive",
            Feature::ExpectedPurchases => "expected_purchases",
            Feature::LoginTrend => "login_trend",
            Feature::Tickets => "tickets",
            Feature::NegativeTickets => "negative_tickets",
            Feature::EmailsIgnored => "emails_ignored",
            Feature::NpsDetractor => "nps_detractor",
            Feature::AddonCancelled => "addon_cancelled",
        }
    }

    /// The regression's input for a feature value.
    pub fn input(self, value: f64) -> f64 {
        match self {
            Feature::RecencyRatio | Feature::Tenure | Feature::Tickets | Feature::NegativeTickets | Feature::EmailsIgnored | Feature::AddonCancelled => {
                value.max(0.0).ln_1p()
            }
            Feature::DaysSinceLast | Feature::Orders | Feature::FrequencyTrend | Feature::MonetaryTrend | Feature::LoginTrend => value.max(1e-3).ln(),
            Feature::ExpectedPurchases => (value.max(0.0) + 0.05).ln(),
            Feature::PAlive | Feature::NpsDetractor => value,
        }
    }
}

/// One customer's facts at a cut, in the units people read; the explanations are built from them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Facts {
    /// Index of the customer in the [`Occasions`].
    #[serde(skip)]
    pub customer: usize,
    pub orders: u32,
    pub days_since_last: f64,
    pub tenure_days: f64,
    /// The customer's usual gap between purchase days (shrunk toward the workspace's).
    pub usual_gap_days: f64,
    /// Purchase days in the last horizon, and what the earlier rate predicted (`None` when the
    /// history before the last horizon is too short to have a rate).
    pub recent_orders: u32,
    pub expected_recent: Option<f64>,
    /// Mean value of the last two purchase days and of the earlier ones (≥ 4 purchase days).
    pub late_value: Option<f64>,
    pub early_value: Option<f64>,
    pub p_alive: Option<f64>,
    pub expected_purchases: Option<f64>,
    pub logins_recent: u32,
    pub logins_rate: f64,
    pub tickets: u32,
    pub negative_tickets: u32,
    pub emails_ignored: u32,
    /// The latest NPS answer of the last 365 days.
    pub nps: Option<u8>,
    pub addons_cancelled: u32,
}

impl Facts {
    /// The value of `f` (see [`Feature`]).
    pub fn value(&self, f: Feature) -> f64 {
        match f {
            Feature::RecencyRatio => self.days_since_last / self.usual_gap_days.max(1.0),
            Feature::DaysSinceLast => self.days_since_last,
            Feature::Orders => self.orders as f64,
            Feature::Tenure => self.tenure_days,
            Feature::FrequencyTrend => self.expected_recent.map_or(1.0, |e| (self.recent_orders as f64 + 0.5) / (e + 0.5)),
            Feature::MonetaryTrend => match (self.late_value, self.early_value) {
                (Some(l), Some(e)) if l > 0.0 && e > 0.0 => l / e,
                _ => 1.0,
            },
            Feature::PAlive => self.p_alive.unwrap_or(1.0),
            Feature::ExpectedPurchases => self.expected_purchases.unwrap_or(0.0),
            Feature::LoginTrend => (self.logins_recent as f64 + 1.0) / (self.logins_rate + 1.0),
            Feature::Tickets => self.tickets as f64,
            Feature::NegativeTickets => self.negative_tickets as f64,
            Feature::EmailsIgnored => self.emails_ignored as f64,
            Feature::NpsDetractor => self.nps.map_or(0.0, |s| (7.0 - s as f64).max(0.0)),
            Feature::AddonCancelled => self.addons_cancelled as f64,
        }
    }
}

/// The facts of every customer with a purchase day before `day` (a local day number), in
/// [`Occasions`] order. `horizon` (days) is the window of the frequency trend and of the expected
/// purchases; `prior_gap` the workspace's usual gap that customers with few orders are shrunk to.
/// `model` says whether BG/NBD was fitted; when it was not, the reason.
pub fn order_facts(occ: &Occasions, day: i64, horizon: i64, prior_gap: f64) -> (Vec<Facts>, Result<(), String>) {
    use rayon::prelude::*;
    let mut out: Vec<Facts> = (0..occ.n_customers())
        .into_par_iter()
        .filter_map(|c| {
            let days = occ.days_of(c);
            let n = days.partition_point(|&d| d < day);
            if n == 0 {
                return None;
            }
            let days = &days[..n];
            let values = &occ.values_of(c)[..n];
            let (first, last) = (days[0], days[n - 1]);
            // Empirical-Bayes shrinkage: the workspace's gap counts as PRIOR_GAPS observed gaps.
            let gaps = (last - first) as f64;
            let usual = (gaps + PRIOR_GAPS * prior_gap) / ((n - 1) as f64 + PRIOR_GAPS);
            let split = day - horizon;
            let recent = n - days.partition_point(|&d| d < split);
            let earlier_span = (split - first) as f64;
            let earlier = n - recent;
            let expected_recent = (earlier_span >= horizon as f64 && earlier >= 2).then(|| earlier as f64 / earlier_span * horizon as f64);
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (late_value, early_value) = if n >= 4 { (Some(mean(&values[n - 2..])), Some(mean(&values[..n - 2]))) } else { (None, None) };
            Some(Facts {
                customer: c,
                orders: n as u32,
                days_since_last: (day - last) as f64,
                tenure_days: (day - first) as f64,
                usual_gap_days: usual.max(1.0),
                recent_orders: recent as u32,
                expected_recent,
                late_value,
                early_value,
                ..Facts::default()
            })
        })
        .collect();
    let model = add_bgnbd(occ, day, horizon, &mut out);
    (out, model)
}

/// How many observed gaps the workspace's usual gap weighs in a customer's usual gap.
pub const PRIOR_GAPS: f64 = 2.0;

/// Fits BG/NBD (in days) on the purchase days before `day` and fills each customer's `P(alive)`
/// and expected purchases over `horizon` days; the reason when the model cannot be used.
fn add_bgnbd(occ: &Occasions, day: i64, horizon: i64, facts: &mut [Facts]) -> Result<(), String> {
    let end = date_of_day(day - 1).ok_or("the cut date is out of range")?;
    let (summary, kept) = occ.summary(end, TimeUnit::Day);
    let (model, _) = fit_purchases(PurchaseKind::Bgnbd, &summary.compress(), &FitOptions::default()).map_err(|(why, _)| why)?;
    let pred = alive_and_purchases(model.as_ref(), &summary, horizon as f64);
    // `kept` and `facts` both list the customers with a purchase day before `day`, in order.
    for ((f, &c), (p, e)) in facts.iter_mut().zip(&kept).zip(pred) {
        debug_assert_eq!(f.customer, c);
        if p.is_finite() && e.is_finite() {
            f.p_alive = Some(p);
            f.expected_purchases = Some(e);
        }
    }
    Ok(())
}

/// Fills the activity facts of one customer at `at`.
pub fn add_activity(f: &mut Facts, a: &CustomerActivity, at: Instant) {
    let ev = &a.events;
    let count = |kinds: &[EventKind], from: Instant, to: Instant| ev.iter().filter(|e| kinds.contains(&e.kind) && e.at >= from && e.at < to).count() as u32;
    let use_kinds = [EventKind::Login, EventKind::FeatureUse];
    f.logins_recent = count(&use_kinds, at - 30 * DAY, at);
    f.logins_rate = count(&use_kinds, at - 180 * DAY, at - 30 * DAY) as f64 / 5.0;
    f.tickets = count(&[EventKind::Ticket, EventKind::NegativeTicket, EventKind::Complaint], at - 90 * DAY, at);
    f.negative_tickets = count(&[EventKind::NegativeTicket, EventKind::Complaint], at - 90 * DAY, at);
    let last_open = ev.iter().filter(|e| e.kind == EventKind::MessageOpened && e.at < at).map(|e| e.at).next_back();
    let from = last_open.map_or(at - 90 * DAY, |t| t.max(at - 90 * DAY));
    f.emails_ignored = ev.iter().filter(|e| e.kind == EventKind::MessageSent && e.at >= from && e.at < at && last_open.is_none_or(|o| e.at > o)).count() as u32;
    f.nps = a.feedback.iter().filter(|x| x.at < at && x.at >= at - 365 * DAY && x.score <= 10).max_by_key(|x| x.at).map(|x| x.score);
    // Add-ons cancelled in the last 90 days: a subscription that ended while another one runs on,
    // or an `addon_cancelled` event.
    let running = |s: &Subscription| s.started_at < at && s.ended_at.is_none_or(|e| e >= at);
    let ended = a
        .subscriptions
        .iter()
        .filter(|s| s.ended_at.is_some_and(|e| e >= at - 90 * DAY && e < at) && a.subscriptions.iter().any(|o| !std::ptr::eq(o, *s) && running(o)))
        .count() as u32;
    f.addons_cancelled = ended + count(&[EventKind::AddonCancelled], at - 90 * DAY, at);
}

/// The gaps in days between consecutive purchase days before `day`, over all customers.
pub fn gaps_before(occ: &Occasions, day: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for c in 0..occ.n_customers() {
        let days = occ.days_of(c);
        let n = days.partition_point(|&d| d < day);
        out.extend(days[..n].windows(2).map(|w| w[1] - w[0]));
    }
    out
}

/// The `q`-quantile (nearest rank) of `v`, reordering it; `None` when empty.
pub fn quantile(v: &mut [i64], q: f64) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    Some(*v.select_nth_unstable(k).1)
}
