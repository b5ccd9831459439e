//! A SaaS-like workspace whose churn is **caused by planted behaviours**, for testing that a churn
//! model finds the drivers and names them as each churner's reasons.
//!
//! Every customer subscribes on a random day and pays a monthly invoice (29, 99 or 299 USD) every
//! 30 days until they churn. Churn comes at a constant hazard of the customer's own (Gamma
//! distributed, about 2.5% a month on average); every churner first shows one of three planted
//! drivers ([`Driver`]), 50–100 days before the churn and after at least 60 days of ordinary use
//! (a churn drawn earlier is put off until then):
//!
//! - [`Driver::LoginsFalling`]: logins fall to a tenth of the customer's usual rate;
//! - [`Driver::UnresolvedTicket`]: a negative support ticket, and 20–40 days later a complaint
//!   that it is still not solved;
//! - [`Driver::EmailsIgnored`]: the weekly newsletter stops being opened.
//!
//! Around them, noise that a model must not mistake for churn: every customer logs in at their
//! own rate (Gamma(4), mean 10 per 30 days) with monthly swings, 8% of customers who stay go through a
//! 60-day slump of logins, support tickets arrive at 0.15 per 30 days (a quarter negative), each
//! customer opens the newsletter with their own probability (Beta(4, 1.5), mean 0.73), and a third
//! answer an NPS survey once (7–10: no detractors). Deterministic by seed, like the shop generator.

use crate::rng::Rng;
use chrono::NaiveDate;
use holdfast_core::flags::{Activity, Event, EventKind, Feedback};
use holdfast_core::{Currency, Instant, OrderLog, OrderLogBuilder, DAY};
use std::io::Write;

/// The planted cause of a churn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Driver {
    LoginsFalling,
    UnresolvedTicket,
    EmailsIgnored,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct SaasConfig {
    pub customers: u32,
    pub seed: u64,
    /// First day customers can sign up.
    pub start: NaiveDate,
    /// The data end before this day.
    pub end: NaiveDate,
}

impl Default for SaasConfig {
    fn default() -> Self {
        SaasConfig {
            customers: 2_000,
            seed: 7,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).expect("a date"),
            end: NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date"),
        }
    }
}

/// The truth about one customer.
#[derive(Clone, Debug, PartialEq)]
pub struct SaasCustomer {
    pub id: String,
    pub signed_up: Instant,
    /// When they stop paying; `None` when that is after the data end.
    pub churn_at: Option<Instant>,
    /// The planted driver and when it begins (every churner has one).
    pub driver: Option<(Driver, Instant)>,
}

/// One activity event as written to an events file.
#[derive(Clone, Debug, PartialEq)]
pub struct SaasEvent {
    pub customer: u32,
    /// `login`, `email_sent`, `email_opened`, `ticket_opened`, `complaint`.
    pub kind: &'static str,
    pub at: Instant,
    pub negative: bool,
}

/// The generated workspace.
#[derive(Clone, Debug)]
pub struct SaasDataset {
    pub customers: Vec<SaasCustomer>,
    /// Invoices: `(customer, at, amount in cents)`, by customer then time.
    pub invoices: Vec<(u32, Instant, i64)>,
    pub events: Vec<SaasEvent>,
    /// NPS answers: `(customer, at, score)`.
    pub feedback: Vec<(u32, Instant, u8)>,
}

/// Generates the workspace of `cfg`.
pub fn generate_saas(cfg: &SaasConfig) -> SaasDataset {
    let start = cfg.start.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp();
    let end = cfg.end.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp();
    let width = crate::csv::id_width(cfg.customers);
    let mut out = SaasDataset { customers: Vec::new(), invoices: Vec::new(), events: Vec::new(), feedback: Vec::new() };
    let last_signup = (end - 90 * DAY).max(start + DAY);
    for c in 0..cfg.customers {
        let mut rng = Rng::new(cfg.seed, c as u64);
        let signed_up = start + ((rng.uniform() * ((last_signup - start) / DAY) as f64) as i64) * DAY + 9 * 3600;
        let price = [2_900, 9_900, 29_900][rng.below(3) as usize];
        let hazard = rng.gamma(2.0) * 0.0125 / 30.0;
        let drawn = signed_up + ((rng.exp1() / hazard) as i64).max(1) * DAY;
        let kind = [Driver::LoginsFalling, Driver::UnresolvedTicket, Driver::EmailsIgnored][rng.below(3) as usize];
        let lead = (50 + rng.below(51) as i64) * DAY;
        // The driver begins after at least 60 days of ordinary use, so there is a change to see.
        let churn = drawn.max(signed_up + 60 * DAY + lead);
        let churn_at = (churn < end + 400 * DAY).then_some(churn);
        let driver = churn_at.map(|t| (kind, t - lead));
        let active_until = churn_at.unwrap_or(i64::MAX).min(end);
        // Invoices every 30 days from the sign-up while subscribed.
        let mut t = signed_up;
        while t < active_until {
            out.invoices.push((c, t, price));
            t += 30 * DAY;
        }
        let onset = |k: Driver| driver.filter(|(d, _)| *d == k).map(|(_, at)| at);
        // Logins: a Poisson day by day at the customer's rate, swinging month to month.
        let rate = rng.gamma(4.0) * 2.5 / 30.0;
        let slump =
            (churn_at.is_none() && rng.uniform() < 0.08).then(|| signed_up + (rng.uniform() * ((active_until - signed_up).max(DAY) / DAY) as f64) as i64 * DAY);
        let falls = onset(Driver::LoginsFalling);
        let mut swing = 1.0;
        let mut day = signed_up - 9 * 3600;
        let mut k = 0;
        while day < active_until {
            if k % 30 == 0 {
                swing = rng.gamma(5.0) / 5.0;
            }
            let mut r = rate * swing;
            if falls.is_some_and(|f| day >= f) || slump.is_some_and(|s| day >= s && day < s + 60 * DAY) {
                r *= 0.1;
            }
            for _ in 0..rng.poisson(r) {
                out.events.push(SaasEvent { customer: c, kind: "login", at: day + rng.below(86_400) as i64, negative: false });
            }
            day += DAY;
            k += 1;
        }
        // Support tickets in the background, and the planted unresolved one.
        let mut t = signed_up;
        loop {
            t += (rng.exp1() / (0.15 / 30.0) * DAY as f64) as i64;
            if t >= active_until {
                break;
            }
            out.events.push(SaasEvent { customer: c, kind: "ticket_opened", at: t, negative: rng.uniform() < 0.25 });
        }
        if let Some(at) = onset(Driver::UnresolvedTicket) {
            out.events.push(SaasEvent { customer: c, kind: "ticket_opened", at, negative: true });
            let again = at + (20 + rng.below(21) as i64) * DAY;
            if again < end {
                out.events.push(SaasEvent { customer: c, kind: "complaint", at: again, negative: true });
            }
        }
        // The weekly newsletter, opened with the customer's own probability.
        let p_open = rng.beta(4.0, 1.5);
        let ignores = onset(Driver::EmailsIgnored);
        let mut t = signed_up + (1 + rng.below(7) as i64) * DAY;
        while t < active_until {
            out.events.push(SaasEvent { customer: c, kind: "email_sent", at: t, negative: false });
            let p = if ignores.is_some_and(|i| t >= i) { 0.0 } else { p_open };
            if rng.uniform() < p {
                out.events.push(SaasEvent { customer: c, kind: "email_opened", at: t + (1 + rng.below(48)) as i64 * 3600, negative: false });
            }
            t += 7 * DAY;
        }
        if rng.uniform() < 1.0 / 3.0 {
            let at = signed_up + (rng.uniform() * ((active_until - signed_up).max(DAY)) as f64) as i64;
            out.feedback.push((c, at, 7 + rng.below(4) as u8));
        }
        out.customers.push(SaasCustomer { id: crate::csv::customer_id(c, width), signed_up, churn_at, driver });
    }
    out.events.sort_by_key(|e| (e.customer, e.at));
    out
}

impl SaasDataset {
    /// The invoices as an order log (USD).
    pub fn order_log(&self) -> OrderLog {
        let mut b = OrderLogBuilder::new(Currency::USD);
        for &(c, at, amount) in &self.invoices {
            b.push(&self.customers[c as usize].id, at, amount);
        }
        b.build()
    }

    /// Events and NPS answers as the pure input of activity features and flags.
    pub fn activity(&self) -> Activity {
        let mut a = Activity::new();
        for e in &self.events {
            let kind = match EventKind::parse(e.kind) {
                EventKind::Ticket if e.negative => EventKind::NegativeTicket,
                k => k,
            };
            a.push_event(&self.customers[e.customer as usize].id, Event { kind, at: e.at, detail: None });
        }
        for &(c, at, score) in &self.feedback {
            a.push_feedback(&self.customers[c as usize].id, Feedback { at, score });
        }
        a
    }

    /// Writes `order_id,customer_id,ordered_at,amount` (UTC times, two decimals).
    pub fn write_orders_csv<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        writeln!(w, "order_id,customer_id,ordered_at,amount")?;
        for (i, &(c, at, amount)) in self.invoices.iter().enumerate() {
            writeln!(w, "INV{},{},{},{}.{:02}", i + 1, self.customers[c as usize].id, stamp(at), amount / 100, amount % 100)?;
        }
        Ok(())
    }

    /// Writes `customer_id,kind,at,properties` (negative tickets carry `{"sentiment":"negative"}`).
    pub fn write_events_csv<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        writeln!(w, "customer_id,kind,at,properties")?;
        for e in &self.events {
            let props = if e.negative { "\"{\"\"sentiment\"\":\"\"negative\"\"}\"" } else { "" };
            writeln!(w, "{},{},{},{props}", self.customers[e.customer as usize].id, e.kind, stamp(e.at))?;
        }
        Ok(())
    }
}

fn stamp(at: Instant) -> String {
    chrono::DateTime::from_timestamp(at, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}
