//! Records sent by other tools (the HTTP API) rather than read from a file: orders with their
//! lines, events, feedback and notes — checked field by field (an error names the field, e.g.
//! `[3].ordered_at`) and written as one import, by the same store path and keys as a file: the
//! same batch twice changes nothing, an order sent again with other values is updated.

use crate::error::{Error, Result};
use crate::import::ImportReport;
use crate::when::parse_instant;
use crate::workspace::App;
use holdfast_core::{Calendar, Currency, OrderStatus};
use holdfast_store::{
    CustomerKind, CustomerRecord, DateKind, Entity, EventRecord, FeedbackRecord, ImportantDate, Interaction, LineRecord, Note, OrderRecord, Record,
};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// The most records one batch may hold.
pub const MAX_BATCH: usize = 10_000;

/// An amount in major units (`12.50`), as a JSON number or a string; as many decimals as the
/// currency has at most.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Number(serde_json::Number),
    Text(String),
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$")))
            .description(Some("An amount in major units, e.g. 12.50 or \"12.50\"; at most the currency's decimals."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Amount {}

/// One order with its lines.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderInput {
    /// The order's id in the shop: sending the same id again updates the order.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub order_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub customer_id: String,
    /// RFC 3339 (`2025-03-01T10:00:00Z`), or a date (`2025-03-01`) taken in the workspace's zone.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"))]
    pub ordered_at: String,
    /// The order's total in major units.
    pub amount: Amount,
    /// ISO 4217; default: the workspace's currency.
    pub currency: Option<String>,
    /// completed (default), pending, refunded, cancelled, failed or chargeback — in English,
    /// Russian, Ukrainian or Bulgarian. Only completed orders count.
    pub status: Option<String>,
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

/// A line of an order.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineInput {
    /// Product name or SKU.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub product: String,
    pub category: Option<String>,
    /// Default 1.
    pub quantity: Option<u32>,
    pub amount: Option<Amount>,
}

/// Something a customer did (a login, a feature used, a support ticket, an e-mail ignored).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventInput {
    /// Optional: without one, the event is keyed by its content (the same event twice is one).
    pub event_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub customer_id: String,
    /// e.g. `login`, `feature_used`, `support_ticket`, `email_ignored`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub kind: String,
    /// RFC 3339 or a date.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"))]
    pub occurred_at: String,
    /// A JSON object.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An answer to a survey.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedbackInput {
    pub feedback_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub customer_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"))]
    pub responded_at: String,
    /// NPS 0–10.
    #[cfg_attr(feature = "openapi", schema(maximum = 10))]
    pub score: Option<u8>,
    pub survey: Option<String>,
    pub comment: Option<String>,
    pub touchpoint: Option<String>,
}

/// A customer's own fields (sending a customer again updates them).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerInput {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub customer_id: String,
    /// person (default) or company.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The personal manager (e-mail or name).
    pub owner: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// A person's birthday or a company's founding day, YYYY-MM-DD.
    #[cfg_attr(feature = "openapi", schema(pattern = "^\\s*$|^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)$"))]
    pub birthday: Option<String>,
}

/// A note about a customer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteInput {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = "\\S"))]
    pub body: String,
    pub pain_points: Option<String>,
    pub goals: Option<String>,
    pub preferred_channel: Option<String>,
    pub preferred_time: Option<String>,
    pub communication_style: Option<String>,
}

/// `text` in major units as minor units of `currency`: an optional sign, digits, a point and at
/// most the currency's decimals. `None` for anything else (exponents, commas, too many decimals).
pub fn parse_major(text: &str, currency: Currency) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = currency.minor_digits() as usize;
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > digits {
        return None;
    }
    let mut v: i64 = int.parse::<i64>().ok()?.checked_mul(currency.minor_per_major())?;
    if !frac.is_empty() {
        let f: i64 = frac.parse().ok()?;
        v = v.checked_add(f.checked_mul(10i64.checked_pow((digits - frac.len()) as u32)?)?)?;
    }
    Some(if neg { -v } else { v })
}

fn amount(a: &Amount, currency: Currency, field: &str) -> Result<i64> {
    let text = match a {
        Amount::Number(n) => n.to_string(),
        Amount::Text(s) => s.clone(),
    };
    parse_major(&text, currency).ok_or_else(|| {
        Error::field(field, format!("{text:?} is not an amount in {currency} (expected e.g. 12.50, at most {} decimals)", currency.minor_digits()))
    })
}

fn id(s: &str, field: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(Error::field(field, format!("{:?} is not an id (at most 200 characters, no control characters)", t.chars().take(40).collect::<String>())));
    }
    Ok(t.to_owned())
}

fn text(s: &Option<String>, field: &str) -> Result<Option<String>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) if t.contains('\0') => Err(Error::field(field, "must not contain a NUL character")),
        Some(t) => Ok(Some(t.to_owned())),
        None => Ok(None),
    }
}

/// The times records may carry: 1900-01-01 to 2199-12-31 (UTC).
const TIME_RANGE: std::ops::Range<i64> = -2_208_988_800..7_258_118_400;

fn time(s: &str, cal: &Calendar, field: &str) -> Result<i64> {
    let t = parse_instant(s, cal).map_err(|e| Error::field(field, e))?;
    if !TIME_RANGE.contains(&t) {
        return Err(Error::field(field, format!("{s:?} is outside 1900–2199")));
    }
    Ok(t)
}

fn check_size(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::user("the batch is empty"));
    }
    if n > MAX_BATCH {
        return Err(Error::user(format!("the batch holds {n} records; at most {MAX_BATCH} per request")));
    }
    Ok(())
}

/// Checks a batch of orders and turns it into store records.
pub fn order_records(orders: &[OrderInput], cal: &Calendar, ws_currency: Currency) -> Result<Vec<Record>> {
    check_size(orders.len())?;
    let mut seen = HashSet::new();
    orders
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let f = |name: &str| format!("[{i}].{name}");
            let external_id = id(&o.order_id, &f("order_id"))?;
            if !seen.insert(external_id.clone()) {
                return Err(Error::field(f("order_id"), format!("order {external_id:?} appears twice in the batch")));
            }
            let currency = match o.currency.as_deref() {
                Some(c) => Currency::new(c.trim()).ok_or_else(|| Error::field(f("currency"), format!("{c:?} is not an ISO 4217 currency code")))?,
                None => ws_currency,
            };
            let lines = o
                .lines
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let lf = |name: &str| format!("[{i}].lines[{k}].{name}");
                    Ok(LineRecord {
                        sku: id(&l.product, &lf("product"))?,
                        category: text(&l.category, &lf("category"))?,
                        quantity: l.quantity.unwrap_or(1),
                        amount: l.amount.as_ref().map(|a| amount(a, currency, &lf("amount"))).transpose()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Record::Order(OrderRecord {
                external_id,
                customer: id(&o.customer_id, &f("customer_id"))?,
                ordered_at: time(&o.ordered_at, cal, &f("ordered_at"))?,
                amount: amount(&o.amount, currency, &f("amount"))?,
                currency,
                status: OrderStatus::parse(o.status.as_deref().unwrap_or("")),
                lines,
            }))
        })
        .collect()
}

/// Checks a batch of customers and turns it into store records.
pub fn customer_records(customers: &[CustomerInput]) -> Result<Vec<Record>> {
    check_size(customers.len())?;
    let mut seen = HashSet::new();
    customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = |name: &str| format!("[{i}].{name}");
            let external_id = id(&c.customer_id, &f("customer_id"))?;
            if !seen.insert(external_id.clone()) {
                return Err(Error::field(f("customer_id"), format!("customer {external_id:?} appears twice in the batch")));
            }
            let kind = match c.kind.as_deref().map(str::trim) {
                None | Some("") | Some("person") => CustomerKind::Person,
                Some("company") => CustomerKind::Company,
                Some(k) => return Err(Error::field(f("kind"), format!("{k:?}: expected person or company"))),
            };
            let birthday = match c.birthday.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
                Some(b) => Some(
                    chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d")
                        .ok()
                        .filter(|d| chrono::Datelike::year(d) >= 1900 && chrono::Datelike::year(d) < 2200)
                        .ok_or_else(|| Error::field(f("birthday"), format!("{b:?} is not a date (YYYY-MM-DD, 1900–2199)")))?,
                ),
                None => None,
            };
            let tags = c.tags.iter().enumerate().map(|(k, t)| id(t, &format!("[{i}].tags[{k}]"))).collect::<Result<Vec<_>>>()?;
            Ok(Record::Customer(CustomerRecord {
                external_id,
                kind,
                name: text(&c.name, &f("name"))?,
                email: text(&c.email, &f("email"))?,
                phone: text(&c.phone, &f("phone"))?,
                owner: text(&c.owner, &f("owner"))?,
                tags,
                created_at: None,
                consents: Vec::new(),
                birthday,
            }))
        })
        .collect()
}

/// `~` + a content key, `#k` for the k-th repeat: the id of a record sent without one.
fn content_id(seen: &mut HashMap<String, u32>, key: String) -> String {
    let k = seen.entry(key.clone()).or_insert(0);
    *k += 1;
    if *k == 1 {
        format!("~{key}")
    } else {
        format!("~{key}#{k}")
    }
}

/// Checks a batch of events and turns it into store records.
pub fn event_records(events: &[EventInput], cal: &Calendar) -> Result<Vec<Record>> {
    check_size(events.len())?;
    let mut seen = HashMap::new();
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let f = |name: &str| format!("[{i}].{name}");
            let customer = id(&e.customer_id, &f("customer_id"))?;
            let kind = id(&e.kind, &f("kind"))?;
            let occurred_at = time(&e.occurred_at, cal, &f("occurred_at"))?;
            let properties = serde_json::Value::Object(e.properties.clone().unwrap_or_default());
            if properties.to_string().contains("\\u0000") {
                return Err(Error::field(f("properties"), "must not contain a NUL character"));
            }
            let external_id = match &e.event_id {
                Some(x) => id(x, &f("event_id"))?,
                None => content_id(&mut seen, format!("{customer}|{kind}|{occurred_at}|{properties}")),
            };
            Ok(Record::Event(EventRecord { external_id, customer, kind, occurred_at, properties }))
        })
        .collect()
}

/// Checks a batch of survey answers and turns it into store records.
pub fn feedback_records(answers: &[FeedbackInput], cal: &Calendar) -> Result<Vec<Record>> {
    check_size(answers.len())?;
    let mut seen = HashMap::new();
    answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let f = |name: &str| format!("[{i}].{name}");
            if a.score.is_some_and(|s| s > 10) {
                return Err(Error::field(f("score"), "an NPS score is 0 to 10"));
            }
            let customer = id(&a.customer_id, &f("customer_id"))?;
            let responded_at = time(&a.responded_at, cal, &f("responded_at"))?;
            let (survey, comment, touchpoint) = (text(&a.survey, &f("survey"))?, text(&a.comment, &f("comment"))?, text(&a.touchpoint, &f("touchpoint"))?);
            let external_id = match &a.feedback_id {
                Some(x) => id(x, &f("feedback_id"))?,
                None => content_id(&mut seen, format!("{customer}|{responded_at}|{:?}|{survey:?}|{comment:?}", a.score)),
            };
            Ok(Record::Feedback(FeedbackRecord { external_id, customer, responded_at, score: a.score, survey, comment, touchpoint }))
        })
        .collect()
}

/// A note by `author` about `customer`, taken `now`.
pub fn note_record(customer: &str, n: &NoteInput, author: &str, now: i64) -> Result<Record> {
    let body = text(&Some(n.body.clone()), "body")?.ok_or_else(|| Error::field("body", "a note needs a body"))?;
    Ok(Record::Note(Note {
        // The store gives a note entered by hand its id (`Store::add_record`), as on the CLI.
        external_id: String::new(),
        customer: customer.to_owned(),
        body,
        pain_points: text(&n.pain_points, "pain_points")?,
        goals: text(&n.goals, "goals")?,
        preferred_channel: text(&n.preferred_channel, "preferred_channel")?,
        preferred_time: text(&n.preferred_time, "preferred_time")?,
        communication_style: text(&n.communication_style, "communication_style")?,
        author: Some(author.to_owned()),
        created_at: Some(now),
    }))
}

/// An important date of `customer` entered by a person: `kind` as `DateKind` names it, `on`
/// YYYY-MM-DD, yearly unless `once`.
pub fn date_record(customer: &str, kind: &str, on: &str, label: Option<String>, once: bool) -> Result<Record> {
    let kind = DateKind::parse(kind.trim()).ok_or_else(|| {
        Error::field("kind", format!("{kind:?}: expected birthday, company_birthday, product_launch, seasonal_campaign, contract_renewal or other"))
    })?;
    let date = chrono::NaiveDate::parse_from_str(on.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..2200).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| Error::field("on", format!("{on:?} is not a date (YYYY-MM-DD, 1900–2199)")))?;
    Ok(Record::Date(ImportantDate { external_id: String::new(), customer: customer.to_owned(), kind, label: text(&label, "label")?, date, yearly: !once }))
}

/// A call, meeting, e-mail, message or other interaction with `customer`, by `by_whom`, at `at`.
pub fn interaction_record(customer: &str, kind: &str, at: i64, by_whom: &str, with_whom: Option<String>, summary: Option<String>) -> Result<Record> {
    let kind = holdfast_store::interaction_kind(kind)
        .ok_or_else(|| Error::field("kind", format!("{kind:?}: expected call, meeting, email, message or other")))?
        .to_owned();
    Ok(Record::Interaction(Interaction {
        external_id: String::new(),
        customer: customer.to_owned(),
        kind,
        occurred_at: at,
        with_whom: text(&with_whom, "with")?,
        by_whom: Some(by_whom.to_owned()),
        summary: text(&summary, "summary")?,
    }))
}

/// Writes `records` (all of one entity) in one transaction, as an import of a file would.
pub async fn import_records(app: &App, entity: Entity, name: &str, records: &[Record]) -> Result<ImportReport> {
    let mut imp = app.store.begin_import(app.ws.id, entity).await?;
    for (i, r) in records.iter().enumerate() {
        imp.push(i as u64, r).await.map_err(|e| match e {
            holdfast_store::Error::Row { column, message, .. } => {
                Error::field(format!("[{i}]{}", column.map(|c| format!(".{c}")).unwrap_or_default()), message)
            }
            e => e.into(),
        })?;
    }
    let sum = imp.commit().await?;
    Ok(ImportReport {
        entity: entity.name(),
        file: name.to_owned(),
        rows: records.len() as u64,
        inserted: sum.inserted,
        updated: sum.updated,
        unchanged: sum.unchanged,
        skipped: 0,
        skip_reasons: Vec::new(),
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_units_to_minor() {
        let rub = Currency::new("RUB").unwrap();
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(parse_major("12.5", rub), Some(1250));
        assert_eq!(parse_major("-0.01", rub), Some(-1));
        assert_eq!(parse_major("100", jpy), Some(100));
        for bad in ["", "1.234", "1e3", "1,5", "abc", "1.", ".5", "99999999999999999999"] {
            let got = parse_major(bad, rub);
            assert!(got.is_none() || bad == "1.", "{bad} -> {got:?}");
        }
        assert_eq!(parse_major("1.5", jpy), None);
    }

    #[test]
    fn orders_are_checked_field_by_field() {
        let cal = Calendar::default();
        let usd = Currency::new("USD").unwrap();
        let o = |id: &str, at: &str, amount: &str| OrderInput {
            order_id: id.into(),
            customer_id: "C1".into(),
            ordered_at: at.into(),
            amount: Amount::Text(amount.into()),
            currency: None,
            status: None,
            lines: vec![],
        };
        assert_eq!(order_records(&[o("1", "2025-03-01", "10.00")], &cal, usd).unwrap().len(), 1);
        let e = order_records(&[o("1", "2025-03-01", "10"), o("1", "2025-03-02", "5")], &cal, usd).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("[1].order_id"));
        let e = order_records(&[o("1", "yesterday", "10")], &cal, usd).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("[0].ordered_at"));
        let e = order_records(&[o("1", "2025-03-01", "1,5")], &cal, usd).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("[0].amount"));
        assert!(order_records(&[], &cal, usd).is_err());
    }
}
