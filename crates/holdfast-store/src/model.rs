//! The rows the store takes in and gives back. Plain structs: money in minor units, time as
//! `holdfast_core::Instant` (seconds UTC), customers named by their external id, and the typed
//! values of `holdfast_core` (order status, flag kind, segment, task state) where the domain has
//! them: text appears only inside SQL.

use holdfast_core::flags::FlagKind;
use holdfast_core::segments::Segment;
use holdfast_core::subscriptions::Subscription;
use holdfast_core::{Currency, Instant, OrderStatus};
use serde::{Deserialize, Serialize};

pub use holdfast_core::actions::TaskState;

/// The database id of a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct WorkspaceId(pub i64);

/// Whether a workspace sells orders, subscriptions or both (`METRICS.md`, "Who is an active customer").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusinessModel {
    Orders,
    Subscriptions,
    Both,
}

impl BusinessModel {
    pub fn as_str(self) -> &'static str {
        match self {
            BusinessModel::Orders => "orders",
            BusinessModel::Subscriptions => "subscriptions",
            BusinessModel::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "orders" => Some(BusinessModel::Orders),
            "subscriptions" => Some(BusinessModel::Subscriptions),
            "both" => Some(BusinessModel::Both),
            _ => None,
        }
    }
}

/// Workspace settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    /// IANA zone in which periods are cut.
    pub time_zone: String,
    /// Reporting currency.
    pub currency: Currency,
    pub business_model: BusinessModel,
    /// Inactivity window W in days.
    pub window_days: u32,
    /// Contact budget defaults: at most this many messages per customer per week / month.
    pub contacts_per_week: u32,
    pub contacts_per_month: u32,
}

/// Person or company.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CustomerKind {
    #[default]
    Person,
    Company,
}

impl CustomerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerKind::Person => "person",
            CustomerKind::Company => "company",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "individual" | "b2c" | "" => Some(CustomerKind::Person),
            "company" | "business" | "organisation" | "organization" | "b2b" => Some(CustomerKind::Company),
            _ => None,
        }
    }
}

/// Consent state of one channel (email, sms, phone, messenger, …): whether the customer may be
/// contacted on it now, and when consent was given and withdrawn, when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub channel: String,
    /// The current state: `true` = may be contacted, `false` = unsubscribed / no consent.
    pub granted: bool,
    pub consented_at: Option<Instant>,
    pub unsubscribed_at: Option<Instant>,
}

impl Consent {
    /// The state the timestamps imply when no explicit state is given: granted unless the last
    /// known event is an unsubscribe.
    pub fn implied_by(consented_at: Option<Instant>, unsubscribed_at: Option<Instant>) -> bool {
        match (consented_at, unsubscribed_at) {
            (_, None) => true,
            (Some(c), Some(u)) => c > u,
            (None, Some(_)) => false,
        }
    }
}

/// A customer as imported: everything optional except the external id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CustomerRecord {
    pub external_id: String,
    pub kind: CustomerKind,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The personal manager.
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub created_at: Option<Instant>,
    pub consents: Vec<Consent>,
    /// Birthday (of a person) or founding day (of a company); stored as a yearly important date
    /// (`birthday` / `company_birthday`).
    #[serde(default)]
    pub birthday: Option<chrono::NaiveDate>,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRecord {
    /// Product or SKU as the file names it.
    pub sku: String,
    pub category: Option<String>,
    pub quantity: u32,
    /// Line amount in minor units, when the file gives one.
    pub amount: Option<i64>,
}

/// An order as imported. Orders of every status are stored; only those whose status is counted
/// (`OrderStatus::is_counted`: not refunded, cancelled, failed, charged back or pending) are
/// loaded for analytics (`METRICS.md`, conventions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub external_id: String,
    pub customer: String,
    pub ordered_at: Instant,
    pub amount: i64,
    pub currency: Currency,
    pub status: OrderStatus,
    pub lines: Vec<LineRecord>,
}

impl OrderRecord {
    /// Whether the order counts in orders and revenue.
    pub fn is_counted(&self) -> bool {
        self.status.is_counted()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub external_id: String,
    pub customer: String,
    pub plan: String,
    /// Monthly amount in minor units.
    pub mrr: i64,
    pub currency: Currency,
    pub started_at: Instant,
    pub ended_at: Option<Instant>,
    pub cancel_reason: Option<String>,
}

impl SubscriptionRecord {
    /// The subscription as `holdfast_core` reads it (MRR metrics, the `cancelled_addon` flag).
    pub fn to_core(&self) -> Subscription {
        Subscription { customer: self.customer.clone(), plan: self.plan.clone(), mrr: self.mrr, started_at: self.started_at, ended_at: self.ended_at }
    }
}

/// An activity event: `login`, `feature_use`, `email_opened`, `email_clicked`, `ticket_opened`,
/// `ticket_closed`, `complaint`, or any other kind a business tracks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub external_id: String,
    pub customer: String,
    pub kind: String,
    pub occurred_at: Instant,
    /// A JSON object.
    pub properties: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub external_id: String,
    pub customer: String,
    pub responded_at: Instant,
    /// NPS score 0–10.
    pub score: Option<u8>,
    pub survey: Option<String>,
    pub comment: Option<String>,
    pub touchpoint: Option<String>,
}

/// A note about a customer: free text plus typed preference fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Note {
    pub external_id: String,
    pub customer: String,
    pub body: String,
    pub pain_points: Option<String>,
    pub goals: Option<String>,
    /// e.g. `email`, `phone`, `telegram`.
    pub preferred_channel: Option<String>,
    /// e.g. `mornings`.
    pub preferred_time: Option<String>,
    /// e.g. `short summaries, not detailed reports`.
    pub communication_style: Option<String>,
    pub author: Option<String>,
    /// When the note was written, when known.
    pub created_at: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    Birthday,
    CompanyBirthday,
    ProductLaunch,
    SeasonalCampaign,
    ContractRenewal,
    Other,
}

impl DateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DateKind::Birthday => "birthday",
            DateKind::CompanyBirthday => "company_birthday",
            DateKind::ProductLaunch => "product_launch",
            DateKind::SeasonalCampaign => "seasonal_campaign",
            DateKind::ContractRenewal => "contract_renewal",
            DateKind::Other => "other",
        }
    }
    /// The kind named by `s`: the stored names, spaces or dashes for `_`, and common synonyms in
    /// English, Russian, Ukrainian and Bulgarian.
    pub fn parse(s: &str) -> Option<Self> {
        let k = s.trim().to_lowercase().replace([' ', '-'], "_");
        let synonym = match k.as_str() {
            "birth_date" | "date_of_birth" | "dob" | "день_рождения" | "др" | "день_народження" | "рожден_ден" => {
                Some(DateKind::Birthday)
            }
            "founded" | "founding_day" | "день_рождения_компании" | "день_основания" | "день_народження_компанії" => {
                Some(DateKind::CompanyBirthday)
            }
            "launch" | "запуск" | "запуск_продукта" | "запуск_продукту" => Some(DateKind::ProductLaunch),
            "campaign" | "season" | "seasonal" | "сезон" | "кампания" | "сезонная_кампания" | "сезонна_кампанія" => {
                Some(DateKind::SeasonalCampaign)
            }
            "renewal" | "contract" | "продление" | "продление_договора" | "подовження" | "подовження_договору" => {
                Some(DateKind::ContractRenewal)
            }
            "другое" | "інше" | "друго" => Some(DateKind::Other),
            _ => None,
        };
        if synonym.is_some() {
            return synonym;
        }
        [DateKind::Birthday, DateKind::CompanyBirthday, DateKind::ProductLaunch, DateKind::SeasonalCampaign, DateKind::ContractRenewal, DateKind::Other]
            .into_iter()
            .find(|x| x.as_str() == k)
    }
}

/// An important date; `yearly` ones recur every year on the same month and day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportantDate {
    pub external_id: String,
    pub customer: String,
    pub kind: DateKind,
    pub label: Option<String>,
    pub date: chrono::NaiveDate,
    pub yearly: bool,
}

/// A contact person of a company customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Contact {
    pub external_id: String,
    pub customer: String,
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A call, meeting, email or message with a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub external_id: String,
    pub customer: String,
    /// `call`, `meeting`, `email`, `message` or `other` (see [`interaction_kind`]).
    pub kind: String,
    pub occurred_at: Instant,
    pub with_whom: Option<String>,
    pub by_whom: Option<String>,
    pub summary: Option<String>,
}

/// The stored interaction kind `s` names (`call`, `meeting`, `email`, `message`, `other`), also from
/// common synonyms in English, Russian, Ukrainian and Bulgarian.
pub fn interaction_kind(s: &str) -> Option<&'static str> {
    match s.trim().to_lowercase().as_str() {
        "call" | "phone" | "phone call" | "звонок" | "дзвінок" | "обаждане" | "разговор" => Some("call"),
        "meeting" | "visit" | "demo" | "встреча" | "зустріч" | "среща" => Some("meeting"),
        "email" | "e-mail" | "mail" | "letter" | "письмо" | "лист" | "имейл" => Some("email"),
        "message" | "chat" | "sms" | "messenger" | "сообщение" | "чат" | "повідомлення" | "съобщение" => Some("message"),
        "other" | "другое" | "інше" | "друго" => Some("other"),
        _ => None,
    }
}

/// One row of the scoring snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub customer: String,
    pub segment: Option<Segment>,
    pub p_alive: Option<f64>,
    /// Predicted CLV in minor units of the workspace currency.
    pub clv: Option<i64>,
    /// The kinds of the customer's red flags (`holdfast_core::flags`).
    pub flags: Vec<FlagKind>,
    pub computed_at: Instant,
    /// The learned churn risk (`holdfast_risk`): the calibrated probability of no purchase within
    /// the model's horizon; `None` where no model could be learned.
    #[serde(default)]
    pub risk: Option<f64>,
    /// What raises the risk most, largest first.
    #[serde(default)]
    pub risk_reasons: Vec<ScoreReason>,
}

/// The learned churn risk of one segment in the scoring snapshot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentRisk {
    pub segment: Option<Segment>,
    /// Customers of the segment with a learned risk.
    pub customers: u64,
    pub mean_risk: f64,
    /// Of them, those with a risk of at least 0.5.
    pub above_half: u64,
}

/// One reason of a customer's learned churn risk, as the scoring snapshot keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreReason {
    /// The feature (`holdfast_risk::Feature`, e.g. `recency_vs_rhythm`).
    pub feature: String,
    /// The feature's value for the customer.
    pub value: f64,
    /// Its contribution to the log-odds of churn (positive raises the risk).
    pub contribution: f64,
    /// In words, English and Russian.
    pub explanation: String,
    #[serde(default)]
    pub explanation_ru: String,
}

/// A task proposed for the action queue (see [`crate::Store::sync_tasks`]): one per customer,
/// holding every flag of the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub customer: String,
    /// The task's first flag (the one a single label shows).
    pub kind: FlagKind,
    /// Every flag of the task, `kind` first (empty: just `kind`).
    #[serde(default)]
    pub kinds: Vec<FlagKind>,
    pub reason: String,
    pub suggested_step: String,
    pub due_at: Option<Instant>,
    /// Minor units at stake, used to order the queue.
    pub stake: Option<i64>,
    /// Where the task stands this week (`this_week`, `waiting`, `snoozed`; see
    /// `holdfast_core::actions::Plan`).
    #[serde(default)]
    pub plan: Option<String>,
    /// P(churn) × stake × the step's success rate, minor units.
    #[serde(default)]
    pub expected_value: Option<i64>,
    /// The customer's value tier (`A`, `B`, `C`) when the queue proposed the task.
    #[serde(default)]
    pub tier: Option<String>,
    /// The reason in Russian (`None`: English only).
    #[serde(default)]
    pub reason_ru: Option<String>,
    /// Who proposed it: `queue` (the action queue, which also closes it when the customer is no
    /// longer at risk) or `campaign` (a campaign's task step); kept from the task's opening.
    #[serde(default)]
    pub origin: Option<String>,
}

/// A task of the action queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: i64,
    pub customer: String,
    /// The task's first flag.
    pub kind: FlagKind,
    /// Every flag of the task, `kind` first.
    #[serde(default)]
    pub kinds: Vec<FlagKind>,
    pub reason: String,
    pub suggested_step: String,
    pub due_at: Option<Instant>,
    pub stake: Option<i64>,
    pub state: TaskState,
    pub dismiss_reason: Option<String>,
    pub created_at: Instant,
    pub closed_at: Option<Instant>,
    /// The person the task is given to (e-mail); `None`: the customer's owner.
    pub assignee: Option<String>,
    /// Put off until this time: open, but not in "Today" before it.
    pub snoozed_until: Option<Instant>,
    /// The owner of the task's customer (read with the task, not stored on it).
    #[serde(default)]
    pub owner: Option<String>,
    /// Where the task stood in the week when last synced (`this_week`, `waiting`, `snoozed`).
    #[serde(default)]
    pub plan: Option<String>,
    /// P(churn) × stake × the step's success rate when last synced, minor units.
    #[serde(default)]
    pub expected_value: Option<i64>,
    /// The customer's value tier (`A`, `B`, `C`) when last synced by the queue.
    #[serde(default)]
    pub tier: Option<String>,
    /// `queue`, `campaign`, or `None` (made before schema 12).
    #[serde(default)]
    pub origin: Option<String>,
    /// The reason in Russian, where the queue wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_ru: Option<String>,
}

impl Task {
    /// The reason in Russian where the queue wrote one (`ru`), else in English.
    pub fn reason_in(&self, ru: bool) -> &str {
        match (&self.reason_ru, ru) {
            (Some(r), true) if !r.is_empty() => r,
            _ => &self.reason,
        }
    }
}

/// One page of a list in a stable order, and where the next page starts: pass `next` back as
/// `after` (`None`: this is the last page). Pages are keyset pages: a row added or removed while
/// someone pages never makes another row appear twice or go missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// The most rows one page holds; larger limits are cut to it.
pub const MAX_PAGE: u32 = 1000;

/// A customer as the customer list shows it: its own fields, its score from the scoring snapshot
/// (when scored) and how many tasks are open for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummary {
    pub external_id: String,
    pub kind: CustomerKind,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub created_at: Option<Instant>,
    pub segment: Option<Segment>,
    pub p_alive: Option<f64>,
    pub clv: Option<i64>,
    pub open_tasks: u32,
}

/// Which tasks a page lists; `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFilter {
    pub state: Option<TaskState>,
    /// The owner of the task's customer.
    pub owner: Option<String>,
    pub kind: Option<FlagKind>,
    /// The customer's value tier when the queue last synced the task.
    pub tier: Option<holdfast_core::segments::Tier>,
    /// Where the task stood in the week when last synced (`holdfast_core::actions::Plan`).
    pub plan: Option<holdfast_core::actions::Plan>,
    /// The task's customer (external id).
    pub customer: Option<String>,
}

/// Where a page of tasks ended: the position of its last task in the queue's order (open first,
/// then highest stake, earliest due, oldest). Opaque to callers; as text (`Display` / `FromStr`)
/// it can travel in a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskCursor {
    pub(crate) closed: i64,
    pub(crate) stake_key: i64,
    pub(crate) due_key: i64,
    pub(crate) id: i64,
}

impl std::fmt::Display for TaskCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}.{}", self.closed, self.stake_key, self.due_key, self.id)
    }
}

impl std::str::FromStr for TaskCursor {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::Error::Invalid(format!("{s:?} is not a task cursor"));
        let mut parts = s.split('.').map(|p| p.parse::<i64>().map_err(|_| bad()));
        let mut next = || parts.next().unwrap_or_else(|| Err(bad()));
        let c = TaskCursor { closed: next()?, stake_key: next()?, due_key: next()?, id: next()? };
        if parts.next().is_some() || !(0..=1).contains(&c.closed) {
            return Err(bad());
        }
        Ok(c)
    }
}

impl Serialize for TaskCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TaskCursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What an import changed: rows new, rows whose content differed, rows already identical.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl ImportSummary {
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }
}
