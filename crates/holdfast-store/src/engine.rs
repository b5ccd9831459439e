//! The engine's tables: engine campaigns (the experiments' `campaigns` rows with a definition),
//! the outbox, the contact ledger, the contact budget, suppressions, webhook endpoints and the
//! engine's settings. The rules of *what* to send are `holdfast-engine`'s; this module keeps the
//! rows and makes the one decision that must be taken inside a transaction: claiming a due
//! message **and** reserving it against the customer's contact budget ([`Store::claim_messages`]),
//! so that no number of concurrent workers can send past the budget.
//!
//! Outbox states: `pending` (waiting for `due_at`), `sending` (claimed by a worker whose lease
//! runs until `lease_until`, wall-clock milliseconds), `sent`, `held_out` (the customer is in the
//! campaign's control group: what it would have been sent), `capped` (the budget said no; the
//! rule is kept), `suppressed` (unsubscribed, no consent, a hard bounce or complaint at the moment
//! of sending), `cancelled` (a stop condition: the customer ordered, replied, a task was closed,
//! or the campaign was archived), `failed` (refused for good by the channel) and `dead` (retries
//! used up; the last error is kept).

use crate::bulk::{write_rows, RowBuf};
use crate::error::{Error, Result};
use crate::model::WorkspaceId;
use crate::read::counted_sql;
use crate::tx::{with_tx, Tx};
use crate::{with_pool, Store};
use holdfast_core::{Calendar, Instant};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// Advisory lock key of writing the outbox from triggers (the trigger's transaction).
pub(crate) const OUTBOX_LOCK: i32 = 7280;
/// First half of the per-customer advisory lock a claim takes on PostgreSQL (the budget check).
const CUSTOMER_LOCK: i64 = 7281;

/// The days, week and month of an instant in a time zone, as the ledger counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayKeys {
    /// Days since 1970-01-01 of the local date.
    pub day: i64,
    /// `day` of the Monday of its week.
    pub week: i64,
    /// year * 12 + month - 1.
    pub month: i64,
}

impl DayKeys {
    pub fn of(cal: &Calendar, t: Instant) -> DayKeys {
        use chrono::Datelike;
        let d = cal.date(t);
        let day = d.num_days_from_ce() as i64 - 719_163;
        DayKeys { day, week: day - d.weekday().num_days_from_monday() as i64, month: d.year() as i64 * 12 + d.month0() as i64 }
    }
}

/// An engine campaign as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EngineCampaign {
    pub id: i64,
    pub name: String,
    /// The campaign file's text.
    pub definition: String,
    /// `active`, `paused` or `archived`.
    pub state: String,
    pub salt: String,
    /// The held-out share in buckets of 10,000.
    pub holdout: u32,
    pub created_at: Instant,
    pub updated_at: Option<Instant>,
    /// Outbox rows by state.
    pub outbox: Vec<(String, u64)>,
}

/// A message written by a trigger.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    /// campaign/step/variant/customer/instance.
    pub key: String,
    pub campaign_id: i64,
    pub step: u32,
    pub variant: String,
    pub customer_id: i64,
    pub instance: String,
    pub triggered_at: Instant,
    /// `email`, `webhook` or `task`.
    pub channel: String,
    pub transactional: bool,
    /// In the campaign's control group: written `held_out`, with a ledger row, never sent.
    pub held_out: bool,
    pub due_at: Instant,
    pub recipient: Option<String>,
    pub subject: String,
    /// The text part (e-mail), the JSON document (webhook), the task's suggested step (task).
    pub body: String,
    /// The HTML part of an e-mail.
    pub html: Option<String>,
    /// Of `triggered_at`, in the customer's zone (the held-out ledger row's day).
    pub keys: DayKeys,
}

/// What [`Store::write_outbox`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxWrite {
    pub written: u64,
    pub held_out: u64,
    /// Messages already in the outbox (the same key): nothing written.
    pub existing: u64,
}

/// One limit set: at most this many counted contacts per local day / week / month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRule {
    pub per_day: Option<u32>,
    pub per_week: Option<u32>,
    pub per_month: Option<u32>,
}

/// The budget rules of a workspace: its own, per segment, per customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub workspace: BudgetRule,
    /// By segment name (`holdfast_core::segments::Segment::as_str`).
    pub segments: Vec<(String, BudgetRule)>,
    /// By customer external id: the customer's own preference.
    pub customers: Vec<(String, BudgetRule)>,
}

impl BudgetRule {
    fn is_limit(&self) -> bool {
        self.per_day.is_some() || self.per_week.is_some() || self.per_month.is_some()
    }
}

impl Budget {
    /// Whether any rule limits anything.
    pub fn has_limits(&self) -> bool {
        self.workspace.is_limit() || self.segments.iter().chain(&self.customers).any(|(_, r)| r.is_limit())
    }
}

/// Where a budget rule applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BudgetScope {
    Workspace,
    Segment(String),
    Customer(String),
}

impl BudgetScope {
    fn key(&self) -> String {
        match self {
            BudgetScope::Workspace => String::new(),
            BudgetScope::Segment(s) => format!("segment:{s}"),
            BudgetScope::Customer(c) => format!("customer:{c}"),
        }
    }
}

/// The engine's settings of a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineSettings {
    /// Quiet hours, minutes after local midnight: nothing but transactional messages goes out
    /// from `quiet_start` to `quiet_end` (equal: no quiet hours). Default 21:00–09:00.
    pub quiet_start: u32,
    pub quiet_end: u32,
    /// The from-address; overrides `HOLDFAST_SMTP_FROM`.
    pub smtp_from: Option<String>,
    pub allow_private_webhooks: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings { quiet_start: 21 * 60, quiet_end: 9 * 60, smtp_from: None, allow_private_webhooks: false }
    }
}

impl EngineSettings {
    /// When a message due at `t` (local seconds after midnight `since_midnight`) may go out:
    /// `None` when now is outside quiet hours, else the number of seconds until they end.
    pub fn quiet_wait(&self, since_midnight: i64) -> Option<i64> {
        self.send_wait(None, since_midnight)
    }

    /// When a message may go out to a customer whose own send window is `window` (minutes after
    /// local midnight, start to end, wrapping midnight when the start is later; `None`: any
    /// time), `since_midnight` local seconds into the day: `None` now, else the seconds until
    /// quiet hours are over **and** the window is open — the most restrictive wins. A window
    /// that lies wholly inside quiet hours is kept on its own: the customer asked for those hours.
    pub fn send_wait(&self, window: Option<(u32, u32)>, since_midnight: i64) -> Option<i64> {
        const DAY: i64 = 86_400;
        let m = since_midnight.rem_euclid(DAY);
        let quiet = (self.quiet_start as i64 * 60, self.quiet_end as i64 * 60);
        let window = window.map(|(s, e)| (s as i64 * 60, e as i64 * 60)).filter(|(s, e)| s != e);
        // Inside [s, e) on the clock (wrapping midnight when s > e); s = e is nothing.
        let inside = |(s, e): (i64, i64), t: i64| if s < e { t >= s && t < e } else { s != e && (t >= s || t < e) };
        let open = |t: i64, with_quiet: bool| !(with_quiet && inside(quiet, t)) && window.is_none_or(|w| inside(w, t));
        // The first moment both allow is now or a moment one of them opens: the end of quiet
        // hours or the start of the window.
        let next = |with_quiet: bool| {
            let mut at = vec![0, (quiet.1 - m).rem_euclid(DAY)];
            at.extend(window.map(|w| (w.0 - m).rem_euclid(DAY)));
            at.sort_unstable();
            at.into_iter().find(|&d| open((m + d) % DAY, with_quiet))
        };
        next(true).or_else(|| next(false)).filter(|&d| d > 0)
    }
}

/// What a claim asks for.
#[derive(Clone, Debug)]
pub struct ClaimRequest<'a> {
    /// Scheduling time (the engine's clock; `holdfast run --now`).
    pub now: Instant,
    /// Wall-clock milliseconds, for leases only.
    pub wall_ms: i64,
    pub lease_ms: i64,
    pub limit: u32,
    /// Names this worker's lease.
    pub token: &'a str,
    /// The workspace's zone, for customers without one.
    pub default_zone: &'a str,
}

/// A message a worker now owns: it must send it and then call [`Store::finish_message`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claimed {
    pub id: i64,
    pub key: String,
    pub campaign: String,
    pub step: u32,
    pub variant: String,
    pub customer: String,
    pub owner: Option<String>,
    pub channel: String,
    pub recipient: Option<String>,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    /// Including this one.
    pub attempts: u32,
    pub triggered_at: Instant,
}

/// What one claim did besides claiming.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClaimBatch {
    pub claimed: Vec<Claimed>,
    /// Moved past quiet hours.
    pub held: u64,
    pub capped: u64,
    pub suppressed: u64,
    pub cancelled: u64,
    /// Left pending: their campaign is paused.
    pub paused: u64,
}

/// The result of sending a claimed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        message_id: Option<String>,
    },
    /// Try again at `at` (scheduling time).
    Retry {
        error: String,
        at: Instant,
    },
    /// Retries used up, or refused for good (`suppress`: the address bounced hard or complained).
    Dead {
        error: String,
        suppress: Option<&'static str>,
    },
}

/// One row of the contact ledger, as the customer page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LedgerEntry {
    pub at: Instant,
    pub campaign: String,
    pub channel: String,
    /// `reserved` (being sent), `sent`, `capped`, `held_out`, `suppressed`, `released`.
    pub outcome: String,
    pub counted: bool,
    pub rule: Option<String>,
    pub subject: String,
    pub key: String,
}

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub name: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub disabled_at: Option<Instant>,
}

/// What the triggers need to know about one customer.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CustomerFacts {
    pub id: i64,
    pub external_id: String,
    pub kind: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub time_zone: Option<String>,
    /// Whether e-mail may be sent (no unsubscribe, no withdrawn consent, no suppression).
    pub email_ok: bool,
    pub segment: Option<String>,
    pub flags: Vec<String>,
    pub p_alive: Option<f64>,
    pub clv: Option<i64>,
    /// Counted orders: the first ever, the last before the engine's now.
    pub first_order_at: Option<Instant>,
    pub last_order_at: Option<Instant>,
    pub orders_count: u64,
    /// Sum of the counted orders before now, minor units.
    pub revenue: i64,
}

/// A counted order with its products (SKUs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderFact {
    pub customer_id: i64,
    pub external_id: String,
    pub at: Instant,
    pub amount: i64,
    pub skus: Vec<String>,
}

/// An important date.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DateFact {
    pub id: i64,
    pub customer_id: i64,
    pub kind: String,
    pub label: Option<String>,
    pub date: chrono::NaiveDate,
    pub yearly: bool,
}

/// An NPS answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedbackFact {
    pub customer_id: i64,
    pub external_id: String,
    pub at: Instant,
    pub score: i64,
}

/// Everything the triggers read, in one snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Facts {
    pub customers: Vec<CustomerFacts>,
    /// Counted orders in `(since, now]`, by time.
    pub orders: Vec<OrderFact>,
    pub dates: Vec<DateFact>,
    /// NPS answers in `(since, now]`.
    pub feedback: Vec<FeedbackFact>,
    /// The segment the engine last saw each customer in (customer id → segment).
    pub seen_segments: FxHashMap<i64, String>,
}

const STAGE: &str = "stage_outbox";
const STAGE_COLUMNS: [&str; 20] = [
    "k",
    "key",
    "campaign_id",
    "step",
    "variant",
    "customer_id",
    "instance",
    "triggered_at",
    "channel",
    "transactional",
    "state",
    "due_at",
    "recipient",
    "subject",
    "body",
    "html",
    "day",
    "week",
    "month",
    "created_at",
];

/// An outbox row as a claim reads it: id, key, campaign id, step, variant, customer id, channel,
/// transactional, recipient, subject, body, HTML, attempts, triggered at.
type ClaimRow = (i64, String, i64, i64, String, i64, String, i64, Option<String>, String, String, Option<String>, i64, i64);
/// A customer as a claim reads it: id, external id, e-mail, owner, zone, segment, e-mail consent
/// withdrawn (1), address suppressed (1), send window start and end.
type CustomerRow = (i64, String, Option<String>, Option<String>, Option<String>, Option<String>, i64, i64, Option<i64>, Option<i64>);

fn rule_of(r: (Option<i64>, Option<i64>, Option<i64>)) -> BudgetRule {
    let c = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
    BudgetRule { per_day: c(r.0), per_week: c(r.1), per_month: c(r.2) }
}

impl Store {
    /// Saves an engine campaign: a new one gets `salt` and starts active; an existing one
    /// (engine or experiment) gets the new definition and holdout and keeps its salt and state.
    /// Returns its id.
    pub async fn save_engine_campaign(&self, ws: WorkspaceId, name: &str, definition: &str, salt: &str, holdout: u32, now: Instant) -> Result<i64> {
        if holdout > 10_000 {
            return Err(Error::Invalid(format!("holdout of {holdout} buckets of 10,000")));
        }
        let mut tx = Tx::write(&self.pool, crate::tx::EXPERIMENTS_LOCK, ws).await?;
        let sql = "INSERT INTO campaigns (workspace_id, name, window_days, created_at, definition, state, salt, holdout, updated_at) \
                   VALUES ($1, $2, 30, $3, $4, 'active', $5, $6, $3) \
                   ON CONFLICT (workspace_id, name) DO UPDATE SET definition = $4, holdout = $6, updated_at = $3, salt = COALESCE(campaigns.salt, $5) RETURNING id";
        let id: i64 = with_tx!(&mut tx, t => sqlx::query_scalar(sql).bind(ws.0).bind(name).bind(now).bind(definition).bind(salt).bind(holdout as i64).fetch_one(&mut **t).await?);
        tx.commit().await?;
        Ok(id)
    }

    /// The workspace's engine campaigns (those with a definition), by name, with their outbox
    /// counted by state.
    pub async fn engine_campaigns(&self, ws: WorkspaceId) -> Result<Vec<EngineCampaign>> {
        let sql = "SELECT id, name, definition, state, COALESCE(salt, name), holdout, created_at, updated_at FROM campaigns \
                   WHERE workspace_id = $1 AND definition IS NOT NULL ORDER BY name";
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, String, i64, i64, Option<i64>)> = with_pool!(self, p => sqlx::query_as(sql).bind(ws.0).fetch_all(p).await?);
        let counts: Vec<(i64, String, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT campaign_id, state, COUNT(*) FROM outbox WHERE workspace_id = $1 GROUP BY campaign_id, state ORDER BY campaign_id, state")
            .bind(ws.0).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|(id, name, definition, state, salt, holdout, created_at, updated_at)| EngineCampaign {
                id,
                name,
                definition,
                state,
                salt,
                holdout: u32::try_from(holdout).unwrap_or(0),
                created_at,
                updated_at,
                outbox: counts.iter().filter(|c| c.0 == id).map(|c| (c.1.clone(), c.2 as u64)).collect(),
            })
            .collect())
    }

    /// Pauses, resumes or archives an engine campaign. Archiving cancels its unsent messages.
    pub async fn set_engine_campaign_state(&self, ws: WorkspaceId, name: &str, state: &str, now: Instant) -> Result<()> {
        if !["active", "paused", "archived"].contains(&state) {
            return Err(Error::Invalid(format!("{state:?} is not a campaign state (active, paused, archived)")));
        }
        let mut tx = Tx::write(&self.pool, OUTBOX_LOCK, ws).await?;
        let id: Option<i64> = with_tx!(&mut tx, t => sqlx::query_scalar("UPDATE campaigns SET state = $3, updated_at = $4 WHERE workspace_id = $1 AND name = $2 AND definition IS NOT NULL RETURNING id")
            .bind(ws.0).bind(name).bind(state).bind(now).fetch_optional(&mut **t).await?);
        let id = id.ok_or_else(|| Error::NotFound { what: format!("campaign {name:?}") })?;
        if state == "archived" {
            with_tx!(&mut tx, t => sqlx::query("UPDATE outbox SET state = 'cancelled', rule = 'archived' WHERE campaign_id = $1 AND state = 'pending'")
                .bind(id).execute(&mut **t).await?.rows_affected());
        }
        tx.commit().await
    }

    /// What the triggers read: every customer with its contact state, score and order span;
    /// counted orders and NPS answers in `(since, now]`; every important date; the segments the
    /// engine last saw. One read snapshot.
    pub async fn engine_facts(&self, ws: WorkspaceId, since: Instant, now: Instant) -> Result<Facts> {
        let w = ws.0;
        let counted_o = format!("o.{}", counted_sql());
        let mut facts = Facts::default();
        let mut tx = Tx::read(&self.pool).await?;
        let sql = format!(
            "SELECT c.id, c.external_id, c.kind, c.name, c.email, c.phone, c.owner, CAST(c.tags AS TEXT), c.time_zone, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM customer_consents k WHERE k.customer_id = c.id AND k.channel = 'email' AND NOT k.granted) \
                  OR EXISTS (SELECT 1 FROM suppressions s WHERE s.workspace_id = {w} AND s.email = LOWER(c.email)) THEN 0 ELSE 1 END AS BIGINT), \
             s.segment, CAST(s.flags AS TEXT), s.p_alive, s.clv, \
             (SELECT MIN(o.ordered_at) FROM orders o WHERE o.customer_id = c.id AND {counted_o}), \
             (SELECT MAX(o.ordered_at) FROM orders o WHERE o.customer_id = c.id AND {counted_o} AND o.ordered_at <= {now}), \
             (SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id AND {counted_o} AND o.ordered_at <= {now}), \
             (SELECT CAST(COALESCE(SUM(o.amount), 0) AS BIGINT) FROM orders o WHERE o.customer_id = c.id AND {counted_o} AND o.ordered_at <= {now}) \
             FROM customers c LEFT JOIN scores s ON s.customer_id = c.id WHERE c.workspace_id = {w} ORDER BY c.id"
        );
        with_tx!(&mut tx, t => {
            let rows = sqlx::query(&sql).fetch_all(&mut **t).await?;
            for r in rows {
                let tags: String = r.try_get(7)?;
                let flags: Option<String> = r.try_get(11)?;
                facts.customers.push(CustomerFacts {
                    id: r.try_get(0)?,
                    external_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    name: r.try_get(3)?,
                    email: r.try_get(4)?,
                    phone: r.try_get(5)?,
                    owner: r.try_get(6)?,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    time_zone: r.try_get(8)?,
                    email_ok: r.try_get::<i64, _>(9)? == 1,
                    segment: r.try_get(10)?,
                    flags: flags.as_deref().and_then(|f| serde_json::from_str(f).ok()).unwrap_or_default(),
                    p_alive: r.try_get(12)?,
                    clv: r.try_get(13)?,
                    first_order_at: r.try_get(14)?,
                    last_order_at: r.try_get(15)?,
                    orders_count: r.try_get::<i64, _>(16)? as u64,
                    revenue: r.try_get(17)?,
                });
            }
            let sql = format!(
                "SELECT o.customer_id, o.external_id, o.ordered_at, o.amount, p.sku FROM orders o \
                 LEFT JOIN order_lines l ON l.order_id = o.id LEFT JOIN products p ON p.id = l.product_id \
                 WHERE o.workspace_id = {w} AND {counted_o} AND o.ordered_at > {since} AND o.ordered_at <= {now} ORDER BY o.ordered_at, o.id, l.line_no"
            );
            let rows = sqlx::query(&sql).fetch_all(&mut **t).await?;
            for r in rows {
                let ext: String = r.try_get(1)?;
                let sku: Option<String> = r.try_get(4)?;
                match facts.orders.last_mut() {
                    Some(o) if o.external_id == ext => o.skus.extend(sku),
                    _ => facts.orders.push(OrderFact { customer_id: r.try_get(0)?, external_id: ext, at: r.try_get(2)?, amount: r.try_get(3)?, skus: sku.into_iter().collect() }),
                }
            }
            let rows = sqlx::query(&format!("SELECT id, customer_id, kind, label, on_date, CAST(CASE WHEN yearly THEN 1 ELSE 0 END AS BIGINT) FROM important_dates WHERE workspace_id = {w} ORDER BY id"))
                .fetch_all(&mut **t).await?;
            for r in rows {
                let on: String = r.try_get(4)?;
                let date = chrono::NaiveDate::parse_from_str(&on, "%Y-%m-%d").map_err(|_| Error::Corrupt(format!("important date {on:?}")))?;
                facts.dates.push(DateFact { id: r.try_get(0)?, customer_id: r.try_get(1)?, kind: r.try_get(2)?, label: r.try_get(3)?, date, yearly: r.try_get::<i64, _>(5)? == 1 });
            }
            let rows = sqlx::query(&format!(
                "SELECT customer_id, external_id, responded_at, score FROM feedback WHERE workspace_id = {w} AND score IS NOT NULL AND responded_at > {since} AND responded_at <= {now} ORDER BY responded_at, id"))
                .fetch_all(&mut **t).await?;
            for r in rows {
                facts.feedback.push(FeedbackFact { customer_id: r.try_get(0)?, external_id: r.try_get(1)?, at: r.try_get(2)?, score: r.try_get(3)? });
            }
            let rows: Vec<(i64, String)> = sqlx::query_as(&format!("SELECT customer_id, segment FROM engine_segments WHERE workspace_id = {w}")).fetch_all(&mut **t).await?;
            facts.seen_segments = rows.into_iter().collect();
        });
        tx.commit().await?;
        Ok(facts)
    }

    /// Writes the messages of the triggers that fired, in **one transaction**: each message whose
    /// key is new (`ON CONFLICT DO NOTHING`: a trigger evaluated twice writes nothing twice); a
    /// held-out one as `held_out` with its ledger row; each customer's group of the campaign in
    /// `assignments` (`control` / `treatment`, never changed once written), so `holdfast
    /// experiment report` measures the campaign; and the segments the engine saw (`segments`:
    /// customer id → segment).
    pub async fn write_outbox(&self, ws: WorkspaceId, messages: &[NewMessage], segments: &[(i64, String)], now: Instant) -> Result<OutboxWrite> {
        let w = ws.0;
        let mut out = OutboxWrite::default();
        let mut tx = Tx::write(&self.pool, OUTBOX_LOCK, ws).await?;
        if !messages.is_empty() {
            let mut buf = RowBuf::new(STAGE_COLUMNS.len());
            for (k, m) in messages.iter().enumerate() {
                buf.int(k as i64)
                    .text(&m.key)
                    .int(m.campaign_id)
                    .int(m.step as i64)
                    .text(&m.variant)
                    .int(m.customer_id)
                    .text(&m.instance)
                    .int(m.triggered_at)
                    .text(&m.channel)
                    .int(m.transactional as i64)
                    .text(if m.held_out { "held_out" } else { "pending" })
                    .int(m.due_at)
                    .opt_text(m.recipient.as_deref())
                    .text(&m.subject)
                    .text(&m.body)
                    .opt_text(m.html.as_deref())
                    .int(m.keys.day)
                    .int(m.keys.week)
                    .int(m.keys.month)
                    .int(now);
            }
            tx.stage(
                STAGE,
                "k BIGINT, key TEXT, campaign_id BIGINT, step BIGINT, variant TEXT, customer_id BIGINT, instance TEXT, triggered_at BIGINT, channel TEXT, \
                 transactional BIGINT, state TEXT, due_at BIGINT, recipient TEXT, subject TEXT, body TEXT, html TEXT, day BIGINT, week BIGINT, month BIGINT, created_at BIGINT",
            )
            .await?;
            write_rows(tx.conn(), STAGE, &STAGE_COLUMNS, &buf).await?;
            drop(buf);
            let written = tx
                .exec(&format!(
                    "INSERT INTO outbox (workspace_id, key, campaign_id, step, variant, customer_id, instance, triggered_at, channel, transactional, state, due_at, recipient, subject, body, html, created_at) \
                     SELECT {w}, key, campaign_id, step, variant, customer_id, instance, triggered_at, channel, transactional, state, due_at, recipient, subject, body, html, created_at \
                     FROM {STAGE} WHERE true ORDER BY k ON CONFLICT (workspace_id, key) DO NOTHING"
                ))
                .await?;
            out.written = written;
            out.existing = messages.len() as u64 - written;
            out.held_out = tx
                .exec(&format!(
                    "INSERT INTO contact_ledger (workspace_id, customer_id, outbox_id, campaign_id, channel, outcome, counted, rule, at, day, week, month) \
                     SELECT {w}, o.customer_id, o.id, o.campaign_id, o.channel, 'held_out', 0, 'control group', s.triggered_at, s.day, s.week, s.month \
                     FROM {STAGE} s JOIN outbox o ON o.workspace_id = {w} AND o.key = s.key WHERE o.state = 'held_out' \
                     AND NOT EXISTS (SELECT 1 FROM contact_ledger l WHERE l.outbox_id = o.id) ORDER BY s.k"
                ))
                .await?;
            tx.exec(&format!(
                "INSERT INTO assignments (campaign_id, customer_id, workspace_id, group_name, assigned_at) \
                 SELECT campaign_id, customer_id, {w}, CASE WHEN MAX(state) = 'held_out' THEN 'control' ELSE 'treatment' END, MIN(triggered_at) \
                 FROM {STAGE} GROUP BY campaign_id, customer_id ORDER BY campaign_id, customer_id ON CONFLICT (campaign_id, customer_id) DO NOTHING"
            ))
            .await?;
            tx.unstage(STAGE).await?;
        }
        for (c, seg) in segments {
            with_tx!(&mut tx, t => sqlx::query("INSERT INTO engine_segments (customer_id, workspace_id, segment, since) VALUES ($1, $2, $3, $4) \
                ON CONFLICT (customer_id) DO UPDATE SET segment = $3, since = $4")
                .bind(*c).bind(w).bind(seg).bind(now).execute(&mut **t).await?.rows_affected());
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The contact budget of a workspace. Without a workspace rule of its own, the workspace's
    /// `contacts_per_week` / `contacts_per_month` settings are the rule (no daily limit).
    pub async fn budget(&self, ws: WorkspaceId) -> Result<Budget> {
        let rows: Vec<(String, Option<i64>, Option<i64>, Option<i64>)> = with_pool!(self, p => sqlx::query_as("SELECT scope, per_day, per_week, per_month FROM contact_budgets WHERE workspace_id = $1 ORDER BY scope").bind(ws.0).fetch_all(p).await?);
        let mut b = Budget::default();
        let mut own = None;
        for (scope, d, wk, m) in rows {
            let r = rule_of((d, wk, m));
            if scope.is_empty() {
                own = Some(r);
            } else if let Some(s) = scope.strip_prefix("segment:") {
                b.segments.push((s.to_owned(), r));
            } else if let Some(c) = scope.strip_prefix("customer:") {
                b.customers.push((c.to_owned(), r));
            }
        }
        b.workspace = match own {
            Some(r) => r,
            None => {
                let (wk, m): (i64, i64) = with_pool!(self, p => sqlx::query_as("SELECT contacts_per_week, contacts_per_month FROM workspaces WHERE id = $1").bind(ws.0).fetch_one(p).await?);
                BudgetRule { per_day: None, per_week: u32::try_from(wk).ok().filter(|&v| v > 0), per_month: u32::try_from(m).ok().filter(|&v| v > 0) }
            }
        };
        Ok(b)
    }

    /// Sets the budget rule of a scope (the workspace, a segment, a customer).
    pub async fn set_budget(&self, ws: WorkspaceId, scope: &BudgetScope, rule: BudgetRule) -> Result<()> {
        let mut tx = Tx::write(&self.pool, OUTBOX_LOCK, ws).await?;
        if let BudgetScope::Customer(c) = scope {
            let n: i64 = with_tx!(&mut tx, t => sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE workspace_id = $1 AND external_id = $2").bind(ws.0).bind(c).fetch_one(&mut **t).await?);
            if n == 0 {
                return Err(Error::NotFound { what: format!("customer {c:?}") });
            }
        }
        with_tx!(&mut tx, t => sqlx::query("INSERT INTO contact_budgets (workspace_id, scope, per_day, per_week, per_month) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (workspace_id, scope) DO UPDATE SET per_day = $3, per_week = $4, per_month = $5")
            .bind(ws.0).bind(scope.key()).bind(rule.per_day.map(i64::from)).bind(rule.per_week.map(i64::from)).bind(rule.per_month.map(i64::from))
            .execute(&mut **t).await?.rows_affected());
        tx.commit().await
    }

    pub async fn engine_settings(&self, ws: WorkspaceId) -> Result<EngineSettings> {
        let row: Option<(i64, i64, Option<String>, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT quiet_start, quiet_end, smtp_from, allow_private_webhooks FROM engine_settings WHERE workspace_id = $1").bind(ws.0).fetch_optional(p).await?);
        Ok(match row {
            None => EngineSettings::default(),
            Some((s, e, from, private)) => EngineSettings { quiet_start: s as u32, quiet_end: e as u32, smtp_from: from, allow_private_webhooks: private == 1 },
        })
    }

    pub async fn set_engine_settings(&self, ws: WorkspaceId, s: &EngineSettings) -> Result<()> {
        if s.quiet_start >= 1440 || s.quiet_end >= 1440 {
            return Err(Error::Invalid("quiet hours are minutes after midnight, 0 to 1439".into()));
        }
        with_pool!(self, p => sqlx::query("INSERT INTO engine_settings (workspace_id, quiet_start, quiet_end, smtp_from, allow_private_webhooks) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (workspace_id) DO UPDATE SET quiet_start = $2, quiet_end = $3, smtp_from = $4, allow_private_webhooks = $5")
            .bind(ws.0).bind(s.quiet_start as i64).bind(s.quiet_end as i64).bind(s.smtp_from.as_deref()).bind(s.allow_private_webhooks as i64).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Never e-mails `email` again (a hard bounce, a complaint, or by hand).
    pub async fn suppress(&self, ws: WorkspaceId, email: &str, reason: &str, now: Instant) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO suppressions (workspace_id, email, reason, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, email) DO NOTHING")
            .bind(ws.0).bind(email.trim().to_ascii_lowercase()).bind(reason).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Adds (or replaces the URL and secret of) a webhook endpoint, enabled.
    pub async fn save_webhook_endpoint(&self, ws: WorkspaceId, name: &str, url: &str, secret: &str) -> Result<i64> {
        if !secret.starts_with("whsec_") {
            return Err(Error::Invalid("a webhook secret starts with whsec_".into()));
        }
        Ok(with_pool!(self, p => sqlx::query_scalar("INSERT INTO webhook_endpoints (workspace_id, name, url, secret) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (workspace_id, name) DO UPDATE SET url = $3, secret = $4, disabled_at = NULL RETURNING id")
            .bind(ws.0).bind(name).bind(url).bind(secret).fetch_one(p).await?))
    }

    pub async fn webhook_endpoints(&self, ws: WorkspaceId) -> Result<Vec<WebhookEndpoint>> {
        let rows: Vec<(i64, String, String, String, Option<i64>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, name, url, secret, disabled_at FROM webhook_endpoints WHERE workspace_id = $1 ORDER BY name").bind(ws.0).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(id, name, url, secret, disabled_at)| WebhookEndpoint { id, name, url, secret, disabled_at }).collect())
    }

    /// Disables an endpoint (it answered 410 Gone).
    pub async fn disable_webhook_endpoint(&self, ws: WorkspaceId, name: &str, now: Instant) -> Result<()> {
        with_pool!(self, p => sqlx::query("UPDATE webhook_endpoints SET disabled_at = $3 WHERE workspace_id = $1 AND name = $2 AND disabled_at IS NULL")
            .bind(ws.0).bind(name).bind(now).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Claims up to `limit` due messages for one worker, in **one transaction**, deciding for
    /// each in order of due time:
    /// - its campaign is paused: left pending; archived: `cancelled`;
    /// - a stop condition of its campaign holds since the trigger fired (`stops` by campaign id:
    ///   `ordered`, `replied`, `task_closed`): `cancelled`, the condition kept;
    /// - e-mail to an unsubscribed or suppressed address (or no address): `suppressed`;
    /// - inside quiet hours or outside the customer's own send window, in the customer's zone
    ///   (not transactional): `due_at` moves to when both allow it
    ///   ([`EngineSettings::send_wait`]) — held, never dropped;
    /// - over the customer's budget by any rule — the workspace's, the customer's segment's, the
    ///   customer's own; the most restrictive wins — for the local day, week or month: `capped`,
    ///   with the rule, in the ledger;
    /// - else `sending` with a lease to this worker, and a counted ledger row reserved (a
    ///   transactional message's row is not counted).
    ///
    /// Rows are `sending` with a lease that expired (a worker died), then `pending` and due. On
    /// PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED` and the budget checks hold an
    /// advisory lock on each of the batch's customers; on SQLite the transaction holds the write
    /// lock. The batch's customers, reservations and counted contacts are read once, and its
    /// reservations and leases written in one statement each.
    pub async fn claim_messages(&self, ws: WorkspaceId, req: &ClaimRequest<'_>, stops: &FxHashMap<i64, Vec<String>>) -> Result<ClaimBatch> {
        let w = ws.0;
        let mut batch = ClaimBatch::default();
        let settings = self.engine_settings(ws).await?;
        let budget = self.budget(ws).await?;
        let mut tx = begin_claim(&self.pool).await?;
        let lock_rows = match tx {
            Tx::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Tx::Sqlite(_) => "",
        };
        let camps: Vec<(i64, String, String)> = with_tx!(&mut tx, t => sqlx::query_as(&format!("SELECT id, name, state FROM campaigns WHERE workspace_id = {w} ORDER BY id")).fetch_all(&mut **t).await?);
        let paused = camps.iter().filter(|c| c.2 == "paused").map(|c| format!(" AND o.campaign_id <> {}", c.0)).collect::<String>();
        let camp: FxHashMap<i64, (String, String)> = camps.into_iter().map(|(id, n, s)| (id, (n, s))).collect();
        // Leases that expired first, then pending rows by due time: each read walks the index on
        // (workspace, state, due time) in order and stops at the limit, however long the outbox
        // is (no join, so no plan sorts the whole outbox).
        let head = format!(
            "SELECT o.id, o.key, o.campaign_id, o.step, o.variant, o.customer_id, o.channel, o.transactional, o.recipient, o.subject, o.body, o.html, o.attempts, o.triggered_at \
             FROM outbox o WHERE o.workspace_id = $1{paused} AND "
        );
        let expired = format!("{head}o.state = 'sending' AND o.lease_until < $2 ORDER BY o.due_at, o.id LIMIT $3{lock_rows}");
        let due = format!("{head}o.state = 'pending' AND o.due_at <= $2 ORDER BY o.due_at, o.id LIMIT $3{lock_rows}");
        let limit = i64::from(req.limit.max(1));
        let mut rows: Vec<ClaimRow> = with_tx!(&mut tx, t => sqlx::query_as(&expired).bind(w).bind(req.wall_ms).bind(limit).fetch_all(&mut **t).await?);
        if (rows.len() as i64) < limit {
            let left = limit - rows.len() as i64;
            let more: Vec<ClaimRow> = with_tx!(&mut tx, t => sqlx::query_as(&due).bind(w).bind(req.now).bind(left).fetch_all(&mut **t).await?);
            rows.extend(more);
        }
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(batch);
        }
        // Customers in id order: the advisory locks are always taken in one order (no deadlock).
        let mut customers: Vec<i64> = rows.iter().map(|r| r.5).collect();
        customers.sort_unstable();
        customers.dedup();
        if let Tx::Postgres(t) = &mut tx {
            let keys: Vec<i64> = customers.iter().map(|c| (CUSTOMER_LOCK << 40) | *c).collect();
            sqlx::query("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS u(k)").bind(&keys).execute(&mut **t).await?;
        }
        let ids = customers.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",");
        let info_sql = format!(
            "SELECT c.id, c.external_id, c.email, c.owner, c.time_zone, s.segment, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM customer_consents k WHERE k.customer_id = c.id AND k.channel = 'email' AND NOT k.granted) THEN 1 ELSE 0 END AS BIGINT), \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.workspace_id = {w} AND x.email = LOWER(c.email)) THEN 1 ELSE 0 END AS BIGINT), \
             c.send_window_start, c.send_window_end \
             FROM customers c LEFT JOIN scores s ON s.customer_id = c.id WHERE c.id IN ({ids})"
        );
        let infos: Vec<CustomerRow> = with_tx!(&mut tx, t => sqlx::query_as(&info_sql).fetch_all(&mut **t).await?);
        let info: FxHashMap<i64, CustomerRow> = infos.into_iter().map(|r| (r.0, r)).collect();
        // Each customer's calendar and the local day, week and month of now.
        let default_cal = Calendar::from_name(req.default_zone).unwrap_or_default();
        let mut zones: FxHashMap<String, Calendar> = FxHashMap::default();
        let mut local: FxHashMap<i64, (Calendar, DayKeys)> = FxHashMap::default();
        for (id, ci) in &info {
            let cal = match ci.4.as_deref() {
                Some(z) => *zones.entry(z.to_owned()).or_insert_with(|| Calendar::from_name(z).unwrap_or(default_cal)),
                None => default_cal,
            };
            local.insert(*id, (cal, DayKeys::of(&cal, req.now)));
        }
        // Messages claimed before (a worker died) that still hold their reservation.
        let again: Vec<String> = rows.iter().filter(|r| r.12 > 0).map(|r| r.0.to_string()).collect();
        let reserved: rustc_hash::FxHashSet<i64> = if again.is_empty() {
            Default::default()
        } else {
            let sql = format!("SELECT outbox_id FROM contact_ledger WHERE outbox_id IN ({}) AND outcome = 'reserved'", again.join(","));
            let v: Vec<i64> = with_tx!(&mut tx, t => sqlx::query_scalar(&sql).fetch_all(&mut **t).await?);
            v.into_iter().collect()
        };
        // The counted contacts of these customers in their local day, week and month (read after
        // the customers' locks on PostgreSQL, under the write lock on SQLite), kept up to date as
        // this claim reserves.
        let mut used: FxHashMap<i64, (i64, i64, i64)> = FxHashMap::default();
        if budget.has_limits() {
            let mut weeks: Vec<i64> = local.values().map(|l| l.1.week).collect();
            let mut months: Vec<i64> = local.values().map(|l| l.1.month).collect();
            weeks.sort_unstable();
            weeks.dedup();
            months.sort_unstable();
            months.dedup();
            let list = |v: &[i64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
            let sql = format!(
                "SELECT customer_id, day, week, month FROM contact_ledger WHERE customer_id IN ({ids}) AND counted = 1 AND (week IN ({}) OR month IN ({}))",
                list(&weeks),
                list(&months)
            );
            let counted: Vec<(i64, i64, i64, i64)> = with_tx!(&mut tx, t => sqlx::query_as(&sql).fetch_all(&mut **t).await?);
            for (c, day, week, month) in counted {
                if let Some((_, k)) = local.get(&c) {
                    let u = used.entry(c).or_default();
                    u.0 += (day == k.day) as i64;
                    u.1 += (week == k.week) as i64;
                    u.2 += (month == k.month) as i64;
                }
            }
        }
        let counted_orders = counted_sql();
        let ledger_sql =
            "INSERT INTO contact_ledger (workspace_id, customer_id, outbox_id, campaign_id, channel, outcome, counted, rule, at, day, week, month) \
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                          ON CONFLICT (outbox_id) DO UPDATE SET outcome = excluded.outcome, counted = excluded.counted, rule = excluded.rule";
        let set_state = |state: &'static str| format!("UPDATE outbox SET state = '{state}', rule = $2, lease_until = NULL, lease_token = NULL WHERE id = $1");
        // The messages this claim reserves: (outbox id, customer, campaign, channel, counted).
        let mut reserve: Vec<(i64, i64, i64, String, bool)> = Vec::new();
        for (id, key, campaign_id, step, variant, customer_id, channel, transactional, recipient, subject, body, html, attempts, triggered_at) in rows {
            let Some((cname, cstate)) = camp.get(&campaign_id) else { continue };
            if cstate == "paused" {
                batch.paused += 1;
                continue;
            }
            if cstate == "archived" {
                with_tx!(&mut tx, t => sqlx::query(&set_state("cancelled")).bind(id).bind("archived").execute(&mut **t).await?.rows_affected());
                batch.cancelled += 1;
                continue;
            }
            let (Some(ci), Some(&(cal, keys))) = (info.get(&customer_id), local.get(&customer_id)) else { continue };
            // Stop conditions.
            let mut stopped = None;
            for stop in stops.get(&campaign_id).map(Vec::as_slice).unwrap_or(&[]) {
                let q = match stop.as_str() {
                    "ordered" => format!("SELECT COUNT(*) FROM orders WHERE customer_id = {customer_id} AND ordered_at > {triggered_at} AND ordered_at <= {} AND {counted_orders}", req.now),
                    "replied" => format!(
                        "SELECT COUNT(*) FROM events WHERE customer_id = {customer_id} AND kind IN ('replied', 'reply', 'email_replied') AND occurred_at > {triggered_at} AND occurred_at <= {}",
                        req.now
                    ),
                    "task_closed" => format!("SELECT COUNT(*) FROM tasks WHERE customer_id = {customer_id} AND closed_at > {triggered_at} AND closed_at <= {}", req.now),
                    _ => continue,
                };
                let n: i64 = with_tx!(&mut tx, t => sqlx::query_scalar(&q).fetch_one(&mut **t).await?);
                if n > 0 {
                    stopped = Some(stop.clone());
                    break;
                }
            }
            if let Some(stop) = stopped {
                with_tx!(&mut tx, t => sqlx::query(&set_state("cancelled")).bind(id).bind(stop).execute(&mut **t).await?.rows_affected());
                batch.cancelled += 1;
                continue;
            }
            // A ledger row of a message held back (a macro: each backend binds its own query).
            macro_rules! held_back {
                ($outcome:expr, $rule:expr) => {
                    sqlx::query(ledger_sql)
                        .bind(w)
                        .bind(customer_id)
                        .bind(id)
                        .bind(campaign_id)
                        .bind(channel.as_str())
                        .bind($outcome)
                        .bind(0i64)
                        .bind($rule)
                        .bind(req.now)
                        .bind(keys.day)
                        .bind(keys.week)
                        .bind(keys.month)
                };
            }
            // Consent and suppression, checked at the moment of sending.
            let blocked = if channel == "email" {
                if ci.6 == 1 {
                    Some("unsubscribed")
                } else if ci.7 == 1 {
                    Some("suppressed address")
                } else if recipient.as_deref().unwrap_or("").is_empty() {
                    Some("no address")
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(why) = blocked {
                with_tx!(&mut tx, t => sqlx::query(&set_state("suppressed")).bind(id).bind(why).execute(&mut **t).await?.rows_affected());
                with_tx!(&mut tx, t => held_back!("suppressed", why).execute(&mut **t).await?.rows_affected());
                batch.suppressed += 1;
                continue;
            }
            let transactional = transactional == 1;
            if !transactional {
                // Quiet hours and the customer's own send window, in the customer's zone.
                let since_midnight = req.now - cal.start_of_day(cal.date(req.now));
                let window = match (ci.8, ci.9) {
                    (Some(s), Some(e)) => Some((s as u32, e as u32)),
                    _ => None,
                };
                if let Some(wait) = settings.send_wait(window, since_midnight) {
                    with_tx!(&mut tx, t => sqlx::query("UPDATE outbox SET state = 'pending', due_at = $2, lease_until = NULL, lease_token = NULL WHERE id = $1")
                        .bind(id).bind(req.now + wait).execute(&mut **t).await?.rows_affected());
                    // A reservation made before a crash is given back.
                    if reserved.contains(&id) {
                        with_tx!(&mut tx, t => sqlx::query("DELETE FROM contact_ledger WHERE outbox_id = $1 AND outcome = 'reserved'").bind(id).execute(&mut **t).await?.rows_affected());
                    }
                    batch.held += 1;
                    continue;
                }
                // A message reclaimed after a crash keeps the reservation it made.
                if !reserved.contains(&id) {
                    let u = used.get(&customer_id).copied().unwrap_or_default();
                    if let Some(rule) = over_budget(&budget, &ci.1, ci.5.as_deref(), u) {
                        with_tx!(&mut tx, t => sqlx::query(&set_state("capped")).bind(id).bind(&rule).execute(&mut **t).await?.rows_affected());
                        with_tx!(&mut tx, t => held_back!("capped", rule.as_str()).execute(&mut **t).await?.rows_affected());
                        batch.capped += 1;
                        continue;
                    }
                    let u = used.entry(customer_id).or_default();
                    *u = (u.0 + 1, u.1 + 1, u.2 + 1);
                }
            }
            reserve.push((id, customer_id, campaign_id, channel.clone(), !transactional));
            batch.claimed.push(Claimed {
                id,
                key,
                campaign: cname.clone(),
                step: step as u32,
                variant,
                customer: ci.1.clone(),
                owner: ci.3.clone(),
                channel,
                recipient: recipient.or_else(|| ci.2.clone()),
                subject,
                body,
                html,
                attempts: attempts as u32 + 1,
                triggered_at,
            });
        }
        // The claimed messages' reservations in one statement, their leases in another.
        for chunk in reserve.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len());
            for (id, c, campaign, channel, counted) in chunk {
                let k = local.get(c).map(|l| l.1).unwrap_or(DayKeys { day: 0, week: 0, month: 0 });
                values.push(format!(
                    "({w}, {c}, {id}, {campaign}, '{}', 'reserved', {}, NULL, {}, {}, {}, {})",
                    channel.replace('\'', "''"),
                    *counted as i64,
                    req.now,
                    k.day,
                    k.week,
                    k.month
                ));
            }
            tx.exec(&format!(
                "INSERT INTO contact_ledger (workspace_id, customer_id, outbox_id, campaign_id, channel, outcome, counted, rule, at, day, week, month) VALUES {} \
                 ON CONFLICT (outbox_id) DO UPDATE SET outcome = excluded.outcome, counted = excluded.counted, rule = excluded.rule",
                values.join(", ")
            ))
            .await?;
            let ids = chunk.iter().map(|r| r.0.to_string()).collect::<Vec<_>>().join(",");
            let sql = format!("UPDATE outbox SET state = 'sending', lease_until = $1, lease_token = $2, attempts = attempts + 1 WHERE id IN ({ids})");
            with_tx!(&mut tx, t => sqlx::query(&sql).bind(req.wall_ms + req.lease_ms).bind(req.token).execute(&mut **t).await?.rows_affected());
        }
        tx.commit().await?;
        Ok(batch)
    }

    /// Records the result of sending a claimed message, if this worker's lease still holds it
    /// (`false`: another worker reclaimed it; nothing written). Sent: `sent`, the ledger row
    /// `sent`. Retry: back to `pending` at `at`, the reservation given back. Dead: `dead` with the
    /// error, the reservation released (and the address suppressed when asked).
    pub async fn finish_message(&self, ws: WorkspaceId, id: i64, token: &str, outcome: &Outcome, now: Instant) -> Result<bool> {
        let w = ws.0;
        // On PostgreSQL a sent message is one statement (one round trip, one commit), committed
        // without waiting for the write-ahead log to reach the disk (`synchronous_commit` off for
        // this transaction only): the result is committed and seen by every worker at once, so a
        // crash of the engine loses nothing; only a crash of the database server itself can lose
        // the last fraction of a second of results, and those messages are then claimed again
        // when their lease ends and sent once more with the same Message-ID. The claim, which
        // reserves the budget, keeps the durable commit.
        if let (crate::Pool::Postgres(p), Outcome::Sent { message_id }) = (&self.pool, outcome) {
            let n: i64 = sqlx::query_scalar(
                "WITH o AS (UPDATE outbox SET state = 'sent', sent_at = $3, message_id = $4, lease_until = NULL, last_error = NULL \
                 WHERE id = $1 AND lease_token = $2 AND state = 'sending' AND workspace_id = $5 RETURNING id), \
                 l AS (UPDATE contact_ledger SET outcome = 'sent' WHERE outbox_id IN (SELECT id FROM o)), \
                 a AS (SELECT set_config('synchronous_commit', 'off', true) AS v) SELECT COUNT(*) FROM o, a",
            )
            .bind(id)
            .bind(token)
            .bind(now)
            .bind(message_id.as_deref())
            .bind(w)
            .fetch_one(p)
            .await?;
            return Ok(n > 0);
        }
        let mut tx = begin_claim(&self.pool).await?;
        let n = match outcome {
            Outcome::Sent { message_id } => {
                let n = with_tx!(&mut tx, t => sqlx::query(&format!("UPDATE outbox SET state = 'sent', sent_at = $3, message_id = $4, lease_until = NULL, last_error = NULL WHERE id = $1 AND lease_token = $2 AND state = 'sending' AND workspace_id = {w}"))
                    .bind(id).bind(token).bind(now).bind(message_id.as_deref()).execute(&mut **t).await?.rows_affected());
                if n > 0 {
                    with_tx!(&mut tx, t => sqlx::query("UPDATE contact_ledger SET outcome = 'sent' WHERE outbox_id = $1").bind(id).execute(&mut **t).await?.rows_affected());
                }
                n
            }
            Outcome::Retry { error, at } => {
                let n = with_tx!(&mut tx, t => sqlx::query(&format!("UPDATE outbox SET state = 'pending', due_at = $3, last_error = $4, lease_until = NULL, lease_token = NULL WHERE id = $1 AND lease_token = $2 AND state = 'sending' AND workspace_id = {w}"))
                    .bind(id).bind(token).bind(*at).bind(error).execute(&mut **t).await?.rows_affected());
                if n > 0 {
                    with_tx!(&mut tx, t => sqlx::query("DELETE FROM contact_ledger WHERE outbox_id = $1 AND outcome = 'reserved'").bind(id).execute(&mut **t).await?.rows_affected());
                }
                n
            }
            Outcome::Dead { error, suppress } => {
                let n = with_tx!(&mut tx, t => sqlx::query(&format!("UPDATE outbox SET state = 'dead', last_error = $3, lease_until = NULL WHERE id = $1 AND lease_token = $2 AND state = 'sending' AND workspace_id = {w}"))
                    .bind(id).bind(token).bind(error).execute(&mut **t).await?.rows_affected());
                if n > 0 {
                    with_tx!(&mut tx, t => sqlx::query("UPDATE contact_ledger SET outcome = 'released', counted = 0 WHERE outbox_id = $1").bind(id).execute(&mut **t).await?.rows_affected());
                    if let Some(reason) = suppress {
                        with_tx!(&mut tx, t => sqlx::query("INSERT INTO suppressions (workspace_id, email, reason, created_at) SELECT workspace_id, LOWER(recipient), $2, $3 FROM outbox WHERE id = $1 AND recipient IS NOT NULL \
                            ON CONFLICT (workspace_id, email) DO NOTHING").bind(id).bind(*reason).bind(now).execute(&mut **t).await?.rows_affected());
                    }
                }
                n
            }
        };
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Messages left to do at `now`: pending and due, or sending (a lease still held or expired).
    pub async fn outbox_due(&self, ws: WorkspaceId, now: Instant) -> Result<u64> {
        let n: i64 = with_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM outbox o JOIN campaigns c ON c.id = o.campaign_id \
            WHERE o.workspace_id = $1 AND ((o.state = 'pending' AND o.due_at <= $2 AND c.state <> 'paused') OR o.state = 'sending')")
            .bind(ws.0).bind(now).fetch_one(p).await?);
        Ok(n as u64)
    }

    /// The earliest due time of a pending message whose campaign is active.
    pub async fn outbox_next_due(&self, ws: WorkspaceId) -> Result<Option<Instant>> {
        Ok(
            with_pool!(self, p => sqlx::query_scalar("SELECT MIN(o.due_at) FROM outbox o JOIN campaigns c ON c.id = o.campaign_id WHERE o.workspace_id = $1 AND o.state = 'pending' AND c.state = 'active'")
            .bind(ws.0).fetch_one(p).await?),
        )
    }

    /// Outbox rows by state (every campaign).
    pub async fn outbox_counts(&self, ws: WorkspaceId) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = with_pool!(self, p => sqlx::query_as("SELECT state, COUNT(*) FROM outbox WHERE workspace_id = $1 GROUP BY state ORDER BY state").bind(ws.0).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(s, n)| (s, n as u64)).collect())
    }

    /// The ledger of one customer (external id), or of the whole workspace (`None`), by time.
    pub async fn ledger(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<(String, LedgerEntry)>> {
        let filter = if customer.is_some() { " AND c.external_id = $2" } else { "" };
        let sql = format!(
            "SELECT c.external_id, l.at, k.name, l.channel, l.outcome, l.counted, l.rule, o.subject, o.key FROM contact_ledger l \
             JOIN customers c ON c.id = l.customer_id JOIN campaigns k ON k.id = l.campaign_id JOIN outbox o ON o.id = l.outbox_id \
             WHERE l.workspace_id = $1{filter} ORDER BY l.at, l.id"
        );
        let rows = with_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(ws.0);
            if let Some(c) = customer {
                q = q.bind(c);
            }
            let mut out = Vec::new();
            for r in q.fetch_all(p).await? {
                out.push((r.try_get::<String, _>(0)?, LedgerEntry {
                    at: r.try_get(1)?,
                    campaign: r.try_get(2)?,
                    channel: r.try_get(3)?,
                    outcome: r.try_get(4)?,
                    counted: r.try_get::<i64, _>(5)? == 1,
                    rule: r.try_get(6)?,
                    subject: r.try_get(7)?,
                    key: r.try_get(8)?,
                }));
            }
            out
        });
        Ok(rows)
    }

    /// Every sent message as (key, customer, recipient, message id, sent at), by key (for checks).
    pub async fn sent_messages(&self, ws: WorkspaceId) -> Result<Vec<(String, String, Option<String>, Option<String>, Instant)>> {
        Ok(with_pool!(self, p => sqlx::query_as(
            "SELECT o.key, c.external_id, o.recipient, o.message_id, o.sent_at FROM outbox o JOIN customers c ON c.id = o.customer_id \
             WHERE o.workspace_id = $1 AND o.state = 'sent' ORDER BY o.key").bind(ws.0).fetch_all(p).await?))
    }

    /// A customer's own time zone and send window (minutes after local midnight), each `None`
    /// when the customer follows the workspace; `None` for an unknown customer.
    pub async fn customer_send_settings(&self, ws: WorkspaceId, customer: &str) -> Result<Option<(Option<String>, Option<(u32, u32)>)>> {
        let row: Option<(Option<String>, Option<i64>, Option<i64>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT time_zone, send_window_start, send_window_end FROM customers WHERE workspace_id = $1 AND external_id = $2")
            .bind(ws.0).bind(customer).fetch_optional(p).await?);
        Ok(row.map(|(zone, s, e)| {
            let window = match (s, e) {
                (Some(s), Some(e)) => Some((s.clamp(0, 1439) as u32, e.clamp(0, 1439) as u32)),
                _ => None,
            };
            (zone, window)
        }))
    }

    /// Sets a customer's own time zone (`None`: the workspace's).
    pub async fn set_customer_time_zone(&self, ws: WorkspaceId, customer: &str, zone: Option<&str>) -> Result<()> {
        if let Some(z) = zone {
            Calendar::from_name(z).map_err(Error::Invalid)?;
        }
        let n = with_pool!(self, p => sqlx::query("UPDATE customers SET time_zone = $3 WHERE workspace_id = $1 AND external_id = $2")
            .bind(ws.0).bind(customer).bind(zone).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("customer {customer:?}") });
        }
        Ok(())
    }

    /// Sets a customer's preferred send window ("works mornings"): minutes after local midnight
    /// from `start` to `end`, wrapping midnight when `start` is later (22:00–02:00 is
    /// `(1320, 120)`); `None`: any time outside quiet hours. A message waits until the window
    /// opens in the customer's zone; with quiet hours, the most restrictive wins.
    pub async fn set_customer_send_window(&self, ws: WorkspaceId, customer: &str, window: Option<(u32, u32)>) -> Result<()> {
        if let Some((s, e)) = window {
            if s >= 1440 || e >= 1440 {
                return Err(Error::Invalid("a send window is minutes after midnight, 0 to 1439".into()));
            }
            if s == e {
                return Err(Error::Invalid("a send window ends at another time than it starts (no window: any time)".into()));
            }
        }
        let (s, e) = (window.map(|w| i64::from(w.0)), window.map(|w| i64::from(w.1)));
        let n = with_pool!(self, p => sqlx::query("UPDATE customers SET send_window_start = $3, send_window_end = $4 WHERE workspace_id = $1 AND external_id = $2")
            .bind(ws.0).bind(customer).bind(s).bind(e).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(Error::NotFound { what: format!("customer {customer:?}") });
        }
        Ok(())
    }
}

/// A claim's transaction: on SQLite `BEGIN IMMEDIATE` (the write lock: claims take turns); on
/// PostgreSQL a plain transaction, so workers claim side by side (rows `SKIP LOCKED`, the budget
/// check under a per-customer advisory lock).
async fn begin_claim(pool: &crate::Pool) -> Result<Tx> {
    Ok(match pool {
        crate::Pool::Sqlite(p) => Tx::Sqlite(crate::sqlite::begin_write(p).await?),
        crate::Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
    })
}

/// The rule a new contact would break, given the customer's counted contacts this local day,
/// week and month: every rule that applies is checked (the most restrictive wins).
fn over_budget(b: &Budget, customer: &str, segment: Option<&str>, (day, week, month): (i64, i64, i64)) -> Option<String> {
    let mut rules: Vec<(String, BudgetRule)> = Vec::new();
    if let Some((_, r)) = b.customers.iter().find(|(c, _)| c == customer) {
        rules.push(("customer preference".into(), *r));
    }
    if let Some(seg) = segment {
        if let Some((_, r)) = b.segments.iter().find(|(s, _)| s == seg) {
            rules.push((format!("segment {seg}"), *r));
        }
    }
    rules.push(("workspace".into(), b.workspace));
    for (name, r) in rules {
        for (limit, n, what) in [(r.per_day, day, "day"), (r.per_week, week, "week"), (r.per_month, month, "month")] {
            if let Some(l) = limit {
                if n >= l as i64 {
                    return Some(format!("{name}: {l} per {what}"));
                }
            }
        }
    }
    None
}
