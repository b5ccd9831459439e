//! Campaign files: TOML, read once at the edge into a [`Campaign`] whose every part is checked —
//! the trigger kind and its fields, each step's delay, channel and templates (rendered against
//! `holdfast_channels::sample_context`, so a field a template names but no customer has is found
//! when the campaign is added, not when it is sent), the variants' shares, the holdout. A problem
//! is a [`CampaignError`] naming the file, the line and the key.
//!
//! ```toml
//! name = "spring-note"
//! trigger = { kind = "once", at = "2025-03-01T10:00:00Z" }
//! audience = { all = true }                 # or { segment = "at_risk" } / { tier = "A" }
//! holdout = 0.10                            # share kept as a control group (default 0.10)
//! stop = ["ordered", "replied", "task_closed"]   # default: ["ordered"]
//! [[steps]]
//! after = "0d"
//! channel = "email"                         # email | webhook | task
//! subject = "Hello, {{ customer.name }}"
//! body = "..."
//! ```

use holdfast_core::flags::FlagKind;
use holdfast_core::segments::Segment;
use holdfast_experiments::bucket::Share;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// What is wrong with a campaign file, and where: `file:line: key: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{file}:{line}: {key}: {message}")]
pub struct CampaignError {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// The trigger kinds, as campaign files name them.
pub const TRIGGER_KINDS: [&str; 11] =
    ["once", "first_purchase", "days_after_order", "silence", "flag", "date", "segment_enter", "segment_exit", "lost_for", "detractor", "delivery_due"];

/// What starts a campaign for a customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// Everyone in the audience, once, at `at`.
    Once {
        at: i64,
    },
    /// The customer's first counted order.
    FirstPurchase,
    /// `days` after each counted order (of `product`, when given: a replenishment reminder).
    DaysAfterOrder {
        days: u32,
        product: Option<String>,
    },
    /// The silence-beyond-own-rhythm red flag of the scoring snapshot.
    Silence,
    /// Any red flag of the scoring snapshot, or one kind.
    Flag {
        flag: Option<FlagKind>,
    },
    /// `days_before` an important date (`birthday` by default; `any` for every kind), once a year
    /// per date; 29 February fires on 28 February in common years.
    Date {
        date: String,
        days_before: u32,
    },
    SegmentEnter {
        segment: Segment,
    },
    SegmentExit {
        segment: Segment,
    },
    /// `days` after the customer was lost (no order for the inactivity window).
    LostFor {
        days: u32,
    },
    /// An NPS answer of 0–6.
    Detractor,
    /// `days_before` a project's delivery date: an important date whose label contains `label`.
    DeliveryDue {
        days_before: u32,
        label: String,
    },
}

/// Who a campaign may reach.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Audience {
    pub segment: Option<Segment>,
    /// Value tier A, B or C.
    pub tier: Option<String>,
}

/// A step's channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Webhook,
    Task,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Task => "task",
        }
    }
}

/// One version of a step's message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Variant {
    /// Empty for a step without variants.
    pub name: String,
    pub share: f64,
    pub subject: String,
    pub body: String,
}

/// One message of a sequence, `after` seconds after the trigger.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub after: i64,
    pub channel: Channel,
    /// The webhook endpoint's name (webhook steps).
    pub endpoint: Option<String>,
    pub variants: Vec<Variant>,
}

/// A stop condition: the sequence ends for a customer once it holds after the trigger.
pub const STOPS: [&str; 4] = ["ordered", "replied", "unsubscribed", "task_closed"];

/// A checked campaign.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Campaign {
    pub name: String,
    pub trigger: Trigger,
    pub audience: Audience,
    /// The held-out share (control group).
    #[serde(serialize_with = "share_f64")]
    pub holdout: Share,
    /// Only events this recent fire (seconds; default 7 days): a campaign added today does not
    /// write to everyone who ever made a first purchase.
    pub within: i64,
    pub stop: Vec<String>,
    /// Receipts and the like: exempt from the budget and quiet hours, recorded in the ledger.
    pub transactional: bool,
    pub steps: Vec<Step>,
}

fn share_f64<S: serde::Serializer>(s: &Share, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_f64(s.fraction())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    name: Spanned<String>,
    trigger: Spanned<RawTrigger>,
    audience: Option<Spanned<RawAudience>>,
    holdout: Option<Spanned<f64>>,
    within: Option<Spanned<String>>,
    stop: Option<Vec<Spanned<String>>>,
    transactional: Option<bool>,
    steps: Option<Spanned<Vec<RawStep>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    kind: Spanned<String>,
    at: Option<Spanned<String>>,
    days: Option<Spanned<i64>>,
    days_before: Option<Spanned<i64>>,
    product: Option<Spanned<String>>,
    flag: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    segment: Option<Spanned<String>>,
    label: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudience {
    all: Option<bool>,
    segment: Option<Spanned<String>>,
    tier: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    after: Option<Spanned<String>>,
    channel: Spanned<String>,
    subject: Option<Spanned<String>>,
    body: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    variants: Option<Vec<Spanned<RawVariant>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: Spanned<String>,
    share: Spanned<f64>,
    subject: Option<Spanned<String>>,
    body: Option<Spanned<String>>,
}

/// Where errors point: the file name and its text (for line numbers).
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, offset: usize) -> usize {
        1 + self.text.as_bytes()[..offset.min(self.text.len())].iter().filter(|&&b| b == b'\n').count()
    }
    fn err(&self, offset: usize, key: impl Into<String>, message: impl Into<String>) -> CampaignError {
        CampaignError { file: self.file.to_owned(), line: self.line(offset), key: key.into(), message: message.into() }
    }
    fn at<T>(&self, s: &Spanned<T>, key: impl Into<String>, message: impl Into<String>) -> CampaignError {
        self.err(s.span().start, key, message)
    }
}

/// Parses a delay: a whole number and a unit, `30m`, `12h`, `3d`, `2w` (or several: `1d12h`).
pub fn parse_delay(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a delay (a number and a unit: 30m, 12h, 3d, 2w)");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let (mut total, mut num) = (0i64, String::new());
    for ch in t.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = num.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).filter(|&v| v <= 3650 * 86_400).ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// The segment named `s` (`at_risk`, `champions`, …; case and dashes ignored).
pub fn segment_named(s: &str) -> Option<Segment> {
    let k = s.trim().to_lowercase().replace([' ', '-'], "_");
    Segment::from_key(&k)
}

fn parse_at(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.timestamp());
    }
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc().timestamp())
}

fn days(src: &Source, v: &Option<Spanned<i64>>, key: &str, default: Option<u32>) -> Result<u32, CampaignError> {
    match v {
        None => default.ok_or_else(|| src.err(0, key, "is required for this trigger")),
        Some(d) => u32::try_from(*d.get_ref())
            .ok()
            .filter(|&n| n <= 3650)
            .ok_or_else(|| src.at(d, key, format!("{} is not a number of days (0 to 3650)", d.get_ref()))),
    }
}

/// Checks a template against every field a customer may have.
fn check_template(src: &Source, s: &Spanned<String>, key: &str) -> Result<(), CampaignError> {
    holdfast_channels::check(s.get_ref(), &holdfast_channels::sample_context()).map_err(|e| {
        // The template's own line, counted from where the string starts (a multi-line string
        // starts on the line after its opening quotes).
        let base = src.line(s.span().start);
        let extra = if src.text.get(s.span().start..).is_some_and(|t| t.starts_with("\"\"\"") || t.starts_with("'''")) { 1 } else { 0 };
        CampaignError { file: src.file.to_owned(), line: base + extra + e.line.saturating_sub(1), key: key.to_owned(), message: e.message }
    })
}

/// Reads and checks a campaign file's text (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<Campaign, CampaignError> {
    let src = Source { file, text };
    let raw: RawCampaign = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let msg = e.message().trim().to_owned();
        // serde names the key in its message ("unknown field `x`", "missing field `y`").
        let key = msg.split('`').nth(1).map(str::to_owned).unwrap_or_else(|| "(file)".into());
        src.err(offset, key, msg)
    })?;

    let name = raw.name.get_ref().trim().to_owned();
    if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) {
        return Err(src.at(&raw.name, "name", format!("{name:?} is not a campaign name (letters, digits, - _ .; at most 100)")));
    }

    let t = raw.trigger.get_ref();
    let kind = t.kind.get_ref().as_str();
    let trigger = match kind {
        "once" => {
            let at = t.at.as_ref().ok_or_else(|| src.at(&t.kind, "trigger.at", "a once trigger needs at = \"2025-03-01T10:00:00Z\""))?;
            Trigger::Once {
                at: parse_at(at.get_ref())
                    .ok_or_else(|| src.at(at, "trigger.at", format!("{:?} is not a time (RFC 3339, e.g. 2025-03-01T10:00:00Z)", at.get_ref())))?,
            }
        }
        "first_purchase" => Trigger::FirstPurchase,
        "days_after_order" => Trigger::DaysAfterOrder {
            days: days(&src, &t.days, "trigger.days", None).map_err(|e| {
                if e.line == 1 && t.days.is_none() {
                    src.at(&t.kind, "trigger.days", "days_after_order needs days = N")
                } else {
                    e
                }
            })?,
            product: t.product.as_ref().map(|p| p.get_ref().clone()),
        },
        "silence" => Trigger::Silence,
        "flag" => Trigger::Flag {
            flag: match &t.flag {
                None => None,
                Some(f) if f.get_ref() == "any" => None,
                Some(f) => Some(FlagKind::parse(f.get_ref()).ok_or_else(|| {
                    let kinds: Vec<&str> = FlagKind::ALL.iter().map(|k| k.as_str()).collect();
                    src.at(f, "trigger.flag", format!("{:?} is not a red flag kind (any, {})", f.get_ref(), kinds.join(", ")))
                })?),
            },
        },
        "date" => {
            let date = t.date.as_ref().map(|d| d.get_ref().clone()).unwrap_or_else(|| "birthday".into());
            const KINDS: [&str; 7] = ["birthday", "company_birthday", "product_launch", "seasonal_campaign", "contract_renewal", "other", "any"];
            if !KINDS.contains(&date.as_str()) {
                let at = t.date.as_ref().map(|d| d.span().start).unwrap_or(t.kind.span().start);
                return Err(src.err(at, "trigger.date", format!("{date:?} is not a kind of important date ({})", KINDS.join(", "))));
            }
            Trigger::Date { date, days_before: days(&src, &t.days_before, "trigger.days_before", Some(0))? }
        }
        "segment_enter" | "segment_exit" => {
            let s = t.segment.as_ref().ok_or_else(|| src.at(&t.kind, "trigger.segment", format!("{kind} needs segment = \"at_risk\" (or another segment)")))?;
            let segment = segment_named(s.get_ref()).ok_or_else(|| src.at(s, "trigger.segment", format!("{:?} is not a segment", s.get_ref())))?;
            if kind == "segment_enter" {
                Trigger::SegmentEnter { segment }
            } else {
                Trigger::SegmentExit { segment }
            }
        }
        "lost_for" => Trigger::LostFor { days: days(&src, &t.days, "trigger.days", Some(0))? },
        "detractor" => Trigger::Detractor,
        "delivery_due" => Trigger::DeliveryDue {
            days_before: days(&src, &t.days_before, "trigger.days_before", Some(7))?,
            label: t.label.as_ref().map(|l| l.get_ref().to_lowercase()).unwrap_or_else(|| "delivery".into()),
        },
        other => {
            return Err(src.at(&t.kind, "trigger.kind", format!("unknown trigger kind {other:?} (expected one of: {})", TRIGGER_KINDS.join(", "))));
        }
    };

    let mut audience = Audience::default();
    if let Some(a) = &raw.audience {
        let a = a.get_ref();
        if let Some(s) = &a.segment {
            audience.segment = Some(segment_named(s.get_ref()).ok_or_else(|| src.at(s, "audience.segment", format!("{:?} is not a segment", s.get_ref())))?);
        }
        if let Some(tier) = &a.tier {
            let v = tier.get_ref().trim().to_uppercase();
            if !["A", "B", "C"].contains(&v.as_str()) {
                return Err(src.at(tier, "audience.tier", format!("{:?} is not a value tier (A, B or C)", tier.get_ref())));
            }
            audience.tier = Some(v);
        }
        let _ = a.all;
    }

    let holdout = match &raw.holdout {
        None => Share::from_fraction(0.10).unwrap_or(Share::ZERO),
        Some(h) => Share::from_fraction(*h.get_ref()).ok_or_else(|| src.at(h, "holdout", format!("{} is not a share between 0 and 1", h.get_ref())))?,
    };
    let within = match &raw.within {
        None => 7 * 86_400,
        Some(w) => parse_delay(w.get_ref()).map_err(|m| src.at(w, "within", m))?,
    };
    let mut stop = Vec::new();
    for s in raw.stop.iter().flatten() {
        if !STOPS.contains(&s.get_ref().as_str()) {
            return Err(src.at(s, "stop", format!("{:?} is not a stop condition ({})", s.get_ref(), STOPS.join(", "))));
        }
        stop.push(s.get_ref().clone());
    }
    if raw.stop.is_none() {
        stop.push("ordered".into());
    }

    let raw_steps =
        raw.steps.as_ref().filter(|s| !s.get_ref().is_empty()).ok_or_else(|| src.err(text.len(), "steps", "a campaign needs at least one [[steps]]"))?;
    let mut steps = Vec::new();
    for (i, s) in raw_steps.get_ref().iter().enumerate() {
        let key = |k: &str| format!("steps[{i}].{k}");
        let after = match &s.after {
            None => 0,
            Some(a) => parse_delay(a.get_ref()).map_err(|m| src.at(a, key("after"), m))?,
        };
        let channel = match s.channel.get_ref().as_str() {
            "email" => Channel::Email,
            "webhook" => Channel::Webhook,
            "task" => Channel::Task,
            other => return Err(src.at(&s.channel, key("channel"), format!("unknown channel {other:?} (email, webhook or task)"))),
        };
        if channel == Channel::Webhook && s.endpoint.is_none() {
            return Err(src.at(&s.channel, key("endpoint"), "a webhook step names its endpoint = \"NAME\" (holdfast campaign endpoint add)"));
        }
        let mut variants = Vec::new();
        let required = |v: &Option<Spanned<String>>, k: &str, at: &Spanned<String>| -> Result<Spanned<String>, CampaignError> {
            v.clone().ok_or_else(|| src.at(at, k.to_owned(), "is required"))
        };
        match &s.variants {
            None => {
                let subject = required(&s.subject, &key("subject"), &s.channel)?;
                let body = match (&s.body, channel) {
                    (Some(b), _) => b.clone(),
                    (None, Channel::Task) => Spanned::new(0..0, String::new()),
                    (None, _) => required(&s.body, &key("body"), &s.channel)?,
                };
                check_template(&src, &subject, &key("subject"))?;
                check_template(&src, &body, &key("body"))?;
                variants.push(Variant { name: String::new(), share: 1.0, subject: subject.into_inner(), body: body.into_inner() });
            }
            Some(vs) => {
                if vs.is_empty() {
                    return Err(src.at(&s.channel, key("variants"), "an empty list of variants"));
                }
                let mut total = 0u32;
                for (j, v) in vs.iter().enumerate() {
                    let vkey = |k: &str| format!("steps[{i}].variants[{j}].{k}");
                    let r = v.get_ref();
                    let share = Share::from_fraction(*r.share.get_ref())
                        .filter(|s| s.buckets() > 0)
                        .ok_or_else(|| src.at(&r.share, vkey("share"), format!("{} is not a share above 0 and at most 1", r.share.get_ref())))?;
                    total += share.buckets();
                    let subject = r.subject.clone().or_else(|| s.subject.clone()).ok_or_else(|| src.at(v, vkey("subject"), "is required"))?;
                    let body = r.body.clone().or_else(|| s.body.clone()).ok_or_else(|| src.at(v, vkey("body"), "is required"))?;
                    check_template(&src, &subject, &vkey("subject"))?;
                    check_template(&src, &body, &vkey("body"))?;
                    let name = r.name.get_ref().trim().to_owned();
                    if name.is_empty() || variants.iter().any(|x: &Variant| x.name == name) {
                        return Err(src.at(&r.name, vkey("name"), format!("{name:?}: each variant has a name of its own")));
                    }
                    variants.push(Variant { name, share: share.fraction(), subject: subject.into_inner(), body: body.into_inner() });
                }
                if total != holdfast_experiments::bucket::BUCKETS {
                    return Err(src.at(&s.channel, key("variants"), format!("the variants' shares add up to {}, not 1", total as f64 / 10_000.0)));
                }
            }
        }
        steps.push(Step { after, channel, endpoint: s.endpoint.as_ref().map(|e| e.get_ref().clone()), variants });
    }
    for w in steps.windows(2) {
        if w[1].after < w[0].after {
            return Err(src.err(raw_steps.span().start, "steps", "steps are listed in the order they go out: each `after` at least the one before"));
        }
    }
    Ok(Campaign { name, trigger, audience, holdout, within, stop, transactional: raw.transactional.unwrap_or(false), steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays() {
        assert_eq!(parse_delay("0d"), Ok(0));
        assert_eq!(parse_delay("3d"), Ok(3 * 86_400));
        assert_eq!(parse_delay("1d12h"), Ok(86_400 + 12 * 3600));
        assert!(parse_delay("3x").is_err());
        assert!(parse_delay("d").is_err());
        assert!(parse_delay("3").is_err());
    }
}
