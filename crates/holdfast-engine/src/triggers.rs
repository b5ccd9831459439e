//! Which customers a campaign's trigger fires for at `now`, and under which **instance** — the
//! part of the outbox key that tells one firing from the next (an order's id, a date's year, the
//! last order before a silence). Evaluating the same trigger twice gives the same instances, so
//! the outbox's unique key makes a second evaluation write nothing.
//!
//! Events fire when they are at most `within` old (default 7 days): a campaign added today does
//! not write to everyone who ever made a first purchase, and a `holdfast run` missed for a few
//! days catches up. Red flags and segments are those of the scoring snapshot (`holdfast score`,
//! which computes them with `holdfast_core::flags` and `holdfast_core::segments`).

use crate::campaign::{Campaign, Trigger};
use chrono::{Datelike, NaiveDate};
use holdfast_core::flags::FlagKind;
use holdfast_core::{Calendar, Instant, DAY};
use holdfast_store::engine::{CustomerFacts, Facts};
use rustc_hash::FxHashMap;

/// One firing: the customer (index in `Facts::customers`), the instance, when it fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fire {
    pub customer: usize,
    pub instance: String,
    pub at: Instant,
}

/// The local time the date-based triggers fire at (10:00 in the customer's zone).
const DATE_FIRE_HOUR: i64 = 10;

/// The occurrence of a yearly date in `year`: 29 February is 28 February in common years.
pub fn occurrence(d: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, d.month(), d.day()).or_else(|| NaiveDate::from_ymd_opt(year, d.month(), d.day() - 1))
}

/// What the triggers need besides the facts.
pub struct Context<'a> {
    pub facts: &'a Facts,
    pub now: Instant,
    /// The workspace's inactivity window W in days (a customer is lost W days after its last order).
    pub window_days: u32,
    /// The calendar of each customer (its own zone, else the workspace's), aligned with `facts.customers`.
    pub calendars: &'a [Calendar],
    /// Customer id → index in `facts.customers`.
    pub index: &'a FxHashMap<i64, usize>,
    /// Value tier of each customer (aligned).
    pub tiers: &'a [&'static str],
}

/// The customers `c`'s trigger fires for at `cx.now`, in the audience, in customer order.
pub fn fires(c: &Campaign, cx: &Context) -> Vec<Fire> {
    let now = cx.now;
    let recent = |at: Instant| at <= now && at > now - c.within;
    let f = cx.facts;
    let mut out: Vec<Fire> = Vec::new();
    let fire = |out: &mut Vec<Fire>, i: usize, instance: String, at: Instant| out.push(Fire { customer: i, instance, at });
    match &c.trigger {
        Trigger::Once { at } => {
            if *at <= now {
                for i in 0..f.customers.len() {
                    fire(&mut out, i, "once".into(), *at);
                }
            }
        }
        Trigger::FirstPurchase => {
            for (i, k) in f.customers.iter().enumerate() {
                if let Some(t) = k.first_order_at.filter(|&t| recent(t)) {
                    fire(&mut out, i, "first".into(), t);
                }
            }
        }
        Trigger::DaysAfterOrder { days, product } => {
            let lag = *days as i64 * DAY;
            for o in &f.orders {
                if product.as_ref().is_some_and(|p| !o.skus.iter().any(|s| s == p)) {
                    continue;
                }
                if let (true, Some(&i)) = (recent(o.at + lag), cx.index.get(&o.customer_id)) {
                    fire(&mut out, i, format!("order:{}", o.external_id), o.at + lag);
                }
            }
        }
        Trigger::Silence | Trigger::Flag { .. } => {
            let wanted: Option<&str> = match &c.trigger {
                Trigger::Silence => Some(FlagKind::SilenceBeyondRhythm.as_str()),
                Trigger::Flag { flag } => flag.map(FlagKind::as_str),
                _ => None,
            };
            for (i, k) in f.customers.iter().enumerate() {
                // One firing per flag per stretch since the last order: the flag fires again only
                // after the customer ordered and drifted away again.
                let since = k.last_order_at.unwrap_or(0);
                for flag in &k.flags {
                    if wanted.is_none_or(|w| w == flag) {
                        fire(&mut out, i, format!("{flag}:{since}"), now);
                        if wanted.is_some() {
                            break;
                        }
                    }
                }
            }
        }
        Trigger::Date { date, days_before } => {
            for d in &f.dates {
                if date != "any" && d.kind != *date {
                    continue;
                }
                date_fire(&mut out, cx, c.within, d.customer_id, d.id, d.date, d.yearly, *days_before, "date");
            }
        }
        Trigger::DeliveryDue { days_before, label } => {
            for d in &f.dates {
                if d.label.as_deref().is_some_and(|l| l.to_lowercase().contains(label.as_str())) {
                    date_fire(&mut out, cx, c.within, d.customer_id, d.id, d.date, d.yearly, *days_before, "delivery");
                }
            }
        }
        Trigger::SegmentEnter { segment } | Trigger::SegmentExit { segment } => {
            let enter = matches!(c.trigger, Trigger::SegmentEnter { .. });
            for (i, k) in f.customers.iter().enumerate() {
                let (Some(before), Some(after)) = (f.seen_segments.get(&k.id), k.segment.as_deref()) else { continue };
                if before == after {
                    continue;
                }
                let hit = if enter { after == segment.key() } else { before == segment.key() };
                if hit {
                    fire(&mut out, i, format!("{}:{}:{now}", if enter { "enter" } else { "exit" }, segment.key()), now);
                }
            }
        }
        Trigger::LostFor { days } => {
            for (i, k) in f.customers.iter().enumerate() {
                if let Some(last) = k.last_order_at {
                    let at = last + (cx.window_days as i64 + *days as i64) * DAY;
                    if recent(at) {
                        fire(&mut out, i, format!("lost:{last}"), at);
                    }
                }
            }
        }
        Trigger::Detractor => {
            for a in &f.feedback {
                if let (true, true, Some(&i)) = ((0..=6).contains(&a.score), recent(a.at), cx.index.get(&a.customer_id)) {
                    fire(&mut out, i, format!("nps:{}", a.external_id), a.at);
                }
            }
        }
    }
    out.retain(|x| in_audience(c, &f.customers[x.customer], cx.tiers[x.customer]));
    out
}

#[allow(clippy::too_many_arguments)]
fn date_fire(out: &mut Vec<Fire>, cx: &Context, within: i64, customer_id: i64, date_id: i64, d: NaiveDate, yearly: bool, days_before: u32, what: &str) {
    let Some(&i) = cx.index.get(&customer_id) else { return };
    let cal = &cx.calendars[i];
    let today = cal.date(cx.now);
    let years: Vec<i32> = if yearly { vec![today.year() - 1, today.year(), today.year() + 1] } else { vec![d.year()] };
    for y in years {
        let Some(on) = (if yearly { occurrence(d, y) } else { Some(d) }) else { continue };
        let Some(day) = on.checked_sub_days(chrono::Days::new(days_before as u64)) else { continue };
        let at = cal.start_of_day(day) + DATE_FIRE_HOUR * 3600;
        if at <= cx.now && at > cx.now - within.max(DAY) {
            out.push(Fire { customer: i, instance: format!("{what}:{date_id}:{y}"), at });
        }
    }
}

fn in_audience(c: &Campaign, k: &CustomerFacts, tier: &str) -> bool {
    if let Some(s) = c.audience.segment {
        if k.segment.as_deref() != Some(s.key()) {
            return false;
        }
    }
    if let Some(t) = &c.audience.tier {
        if tier != t {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_day_in_common_years() {
        let d = NaiveDate::from_ymd_opt(2000, 2, 29).unwrap();
        assert_eq!(occurrence(d, 2025), NaiveDate::from_ymd_opt(2025, 2, 28));
        assert_eq!(occurrence(d, 2028), NaiveDate::from_ymd_opt(2028, 2, 29));
    }
}
