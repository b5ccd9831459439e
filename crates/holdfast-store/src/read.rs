//! Reading: the order log for analytics, subscriptions, activity for red flags, one customer's
//! whole record, the scoring snapshot, and the small per-customer entities (notes, dates,
//! contacts, interactions).

use crate::bulk::{scan, PoolConn};
use crate::error::{Error, Result};
use crate::import::BIRTHDAY_PREFIX;
use crate::model::*;
use crate::{with_pool, Pool, Store};
use futures_util::TryStreamExt;
use holdfast_core::order_log::{Catalog, OrderLines};
use holdfast_core::{Currency, CustomerIdx, CustomerIds, Instant, OrderLog, ProductIdx};
use rustc_hash::FxHashMap;
use serde::Serialize;
use sqlx::Row;

/// Events, feedback and subscriptions of a workspace, each sorted by customer then time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Activity {
    pub events: Vec<EventRecord>,
    pub feedback: Vec<FeedbackRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
}

impl Activity {
    /// The activity as the pure input of `holdfast_core`'s activity flags. A `ticket_opened` event
    /// whose properties say `"sentiment": "negative"` (or `"negative": true`) is a negative ticket;
    /// an event's `product`, `addon` or `plan` property is its detail.
    pub fn to_core(&self) -> holdfast_core::flags::Activity {
        use holdfast_core::flags::{Activity as CoreActivity, Event, EventKind, Feedback, Subscription};
        let mut out = CoreActivity::new();
        for e in &self.events {
            let p = &e.properties;
            let mut kind = EventKind::parse(&e.kind);
            let negative = p.get("sentiment").and_then(|v| v.as_str()).is_some_and(|s| s.eq_ignore_ascii_case("negative")) || p.get("negative").and_then(|v| v.as_bool()) == Some(true);
            if kind == EventKind::Ticket && negative {
                kind = EventKind::NegativeTicket;
            }
            let detail = ["product", "addon", "plan"].iter().find_map(|k| p.get(*k).and_then(|v| v.as_str())).map(str::to_string);
            out.push_event(&e.customer, Event { kind, at: e.occurred_at, detail });
        }
        for f in &self.feedback {
            if let Some(score) = f.score {
                out.push_feedback(&f.customer, Feedback { at: f.responded_at, score });
            }
        }
        for s in &self.subscriptions {
            out.push_subscription(&s.customer, Subscription { plan: s.plan.clone(), mrr: s.mrr, started_at: s.started_at, ended_at: s.ended_at });
        }
        out
    }
}

/// How many events of one kind a customer has, and the last one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventCount {
    pub kind: String,
    pub count: i64,
    pub last_at: Instant,
}

/// Everything known about one customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerView {
    pub customer: CustomerRecord,
    pub contacts: Vec<Contact>,
    pub notes: Vec<Note>,
    pub important_dates: Vec<ImportantDate>,
    /// All orders, counted or not, oldest first.
    pub orders: Vec<OrderRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
    /// Events per kind, most frequent first.
    pub events: Vec<EventCount>,
    pub feedback: Vec<FeedbackRecord>,
    pub interactions: Vec<Interaction>,
    pub score: Option<Score>,
    pub tasks: Vec<Task>,
}

fn currency(s: &str) -> Result<Currency> {
    Currency::new(s).ok_or_else(|| Error::Corrupt(format!("currency {s:?}")))
}

const SUB_COLS: &str = "c.external_id, s.external_id, s.plan, s.mrr, s.currency, s.started_at, s.ended_at, s.cancel_reason";
fn sub_row(r: &impl RowExt) -> Result<SubscriptionRecord> {
    Ok(SubscriptionRecord {
        customer: r.text(0)?,
        external_id: r.text(1)?,
        plan: r.text(2)?,
        mrr: r.int(3)?,
        currency: currency(&r.text(4)?)?,
        started_at: r.int(5)?,
        ended_at: r.opt_int(6)?,
        cancel_reason: r.opt_text(7)?,
    })
}

const FEEDBACK_COLS: &str = "c.external_id, f.external_id, f.responded_at, f.score, f.survey, f.comment, f.touchpoint";
fn feedback_row(r: &impl RowExt) -> Result<FeedbackRecord> {
    Ok(FeedbackRecord {
        customer: r.text(0)?,
        external_id: r.text(1)?,
        responded_at: r.int(2)?,
        score: r.opt_int(3)?.map(|s| s.clamp(0, 10) as u8),
        survey: r.opt_text(4)?,
        comment: r.opt_text(5)?,
        touchpoint: r.opt_text(6)?,
    })
}

const EVENT_COLS: &str = "c.external_id, e.external_id, e.kind, e.occurred_at, CAST(e.properties AS TEXT)";
fn event_row(r: &impl RowExt) -> Result<EventRecord> {
    let props = r.text(4)?;
    Ok(EventRecord {
        customer: r.text(0)?,
        external_id: r.text(1)?,
        kind: r.text(2)?,
        occurred_at: r.int(3)?,
        properties: serde_json::from_str(&props).map_err(|e| Error::Corrupt(format!("stored JSON {props:?}: {e}")))?,
    })
}

/// Every row of `$sql` (bound to the workspace id and, when given, a second value: a customer's external id, a time)
/// decoded by `$row`, whichever backend answers.
macro_rules! query_rows {
    ($store:expr, $sql:expr, $ws:expr, $customer:expr, $row:ident) => {{
        let mut out = Vec::new();
        $crate::with_pool!($store, p => {
            let mut q = sqlx::query($sql).bind($ws.0);
            if let Some(c) = $customer {
                q = q.bind(c);
            }
            let mut rows = futures_util::TryStreamExt::map_err(q.fetch(p), $crate::Error::from);
            while let Some(r) = futures_util::TryStreamExt::try_next(&mut rows).await? {
                out.push($row(&r)?);
            }
        });
        out
    }};
}

pub(crate) use query_rows;

/// Decoding of rows by column position, the same on both backends.
pub(crate) trait RowExt {
    fn int(&self, k: usize) -> Result<i64>;
    fn opt_int(&self, k: usize) -> Result<Option<i64>>;
    fn text(&self, k: usize) -> Result<String>;
    fn opt_text(&self, k: usize) -> Result<Option<String>>;
    fn boolean(&self, k: usize) -> Result<bool>;
}

impl<R: Row> RowExt for R
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    bool: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    fn int(&self, k: usize) -> Result<i64> {
        Ok(self.try_get(k)?)
    }
    fn opt_int(&self, k: usize) -> Result<Option<i64>> {
        Ok(self.try_get(k)?)
    }
    fn text(&self, k: usize) -> Result<String> {
        Ok(self.try_get(k)?)
    }
    fn opt_text(&self, k: usize) -> Result<Option<String>> {
        Ok(self.try_get(k)?)
    }
    fn boolean(&self, k: usize) -> Result<bool> {
        Ok(self.try_get(k)?)
    }
}

impl Store {
    /// The counted orders of a workspace as an [`OrderLog`], in bulk: the workspace's customers and
    /// products once, then its orders with their lines in one integer-only scan in import order
    /// (`COPY … TO STDOUT` on PostgreSQL), built column by column. Customers and products are
    /// numbered in the order of their first stored order, so a log loaded from a time-sorted file
    /// equals the one built from the file itself.
    pub async fn load_order_log(&self, ws: WorkspaceId) -> Result<OrderLog> {
        // The one counted-order rule (`holdfast_core::OrderStatus`) on the canonical words the
        // store keeps; `canceled` as older versions wrote it.
        let counted = format!("status NOT IN ({}, 'canceled')", holdfast_core::OrderStatus::not_counted_sql_list());
        let counted = counted.as_str();
        let w = ws.0;
        let ws_currency = self.workspace_currency(ws).await?;
        let mut c = PoolConn::acquire(&self.pool).await?;
        let mut currencies: Vec<String> = Vec::new();
        scan(c.conn(), &format!("SELECT DISTINCT currency FROM orders WHERE workspace_id = {w} AND {counted} ORDER BY currency"), |r| {
            currencies.push(r.text_req(0)?.into_owned());
            Ok(())
        })
        .await?;
        let currency = match currencies.as_slice() {
            [] => ws_currency,
            [one] => currency(one)?,
            [a, b, ..] => {
                return Err(Error::Invalid(format!("the stored orders are in more than one currency ({a} and {b}); convert them to one before analysing")));
            }
        };
        let mut names: FxHashMap<i64, String> = FxHashMap::default();
        scan(c.conn(), &format!("SELECT id, external_id FROM customers WHERE workspace_id = {w}"), |r| {
            names.insert(r.int_req(0)?, r.text_req(1)?.into_owned());
            Ok(())
        })
        .await?;
        let mut products: FxHashMap<i64, (String, Option<String>)> = FxHashMap::default();
        scan(c.conn(), &format!("SELECT id, name, category FROM products WHERE workspace_id = {w}"), |r| {
            products.insert(r.int_req(0)?, (r.text_req(1)?.into_owned(), r.text(2)?.map(|x| x.into_owned())));
            Ok(())
        })
        .await?;

        let mut customer_ids = CustomerIds::new();
        let mut customer_idx: FxHashMap<i64, CustomerIdx> = FxHashMap::default();
        let (mut customer, mut at, mut amount): (Vec<CustomerIdx>, Vec<Instant>, Vec<i64>) = Default::default();
        let mut lines = OrderLines { offsets: vec![0], ..Default::default() };
        let mut catalog = Catalog::default();
        let mut product_idx: FxHashMap<i64, ProductIdx> = FxHashMap::default();
        let mut category_idx: FxHashMap<String, u32> = FxHashMap::default();
        let mut last_order = i64::MIN;
        let sql = format!(
            "SELECT o.id, o.customer_id, o.ordered_at, o.amount, l.product_id, l.quantity FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id \
             WHERE o.workspace_id = {w} AND o.{counted} ORDER BY o.id, l.line_no"
        );
        scan(c.conn(), &sql, |r| {
            let order = r.int_req(0)?;
            if order != last_order {
                let cust = r.int_req(1)?;
                let idx = match customer_idx.get(&cust) {
                    Some(&i) => i,
                    None => {
                        let i = customer_ids.len() as CustomerIdx;
                        customer_ids.push(names.get(&cust).ok_or_else(|| Error::Corrupt(format!("order {order} names customer {cust}, not in the workspace")))?);
                        customer_idx.insert(cust, i);
                        i
                    }
                };
                customer.push(idx);
                at.push(r.int_req(2)?);
                amount.push(r.int_req(3)?);
                lines.offsets.push(lines.product.len() as u32);
                last_order = order;
            }
            if let Some(pid) = r.int(4)? {
                let p = match product_idx.get(&pid) {
                    Some(&p) => p,
                    None => {
                        let (name, cat) = products.remove(&pid).ok_or_else(|| Error::Corrupt(format!("order {order} names product {pid}, not in the workspace")))?;
                        let cat = cat.map(|c| match category_idx.get(&c) {
                            Some(&k) => k,
                            None => {
                                let k = catalog.categories.len() as u32;
                                catalog.categories.push(c.clone());
                                category_idx.insert(c, k);
                                k
                            }
                        });
                        let p = catalog.products.len() as ProductIdx;
                        catalog.products.push(name);
                        catalog.category_of.push(cat);
                        product_idx.insert(pid, p);
                        p
                    }
                };
                lines.product.push(p);
                lines.quantity.push(r.int(5)?.unwrap_or(1).clamp(0, u32::MAX as i64) as u32);
                if let Some(last) = lines.offsets.last_mut() {
                    *last = lines.product.len() as u32;
                }
            }
            Ok(())
        })
        .await?;
        let lines = (!lines.product.is_empty()).then_some(lines);
        Ok(OrderLog::from_columns(customer_ids, customer, at, amount, currency, lines, catalog))
    }

    async fn workspace_currency(&self, ws: WorkspaceId) -> Result<Currency> {
        let c: Option<String> = with_pool!(self, p => sqlx::query_scalar("SELECT currency FROM workspaces WHERE id = $1").bind(ws.0).fetch_optional(p).await?);
        match c {
            Some(c) => currency(&c),
            None => Err(Error::NotFound { what: format!("workspace {}", ws.0) }),
        }
    }

    /// All orders (counted or not) with their lines, in import order. For export and the customer view.
    pub async fn orders(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<OrderRecord>> {
        let sql = format!(
            "SELECT c.external_id, o.id, o.external_id, o.ordered_at, o.amount, o.currency, o.status, p.sku, p.category, l.quantity, l.amount \
            FROM orders o JOIN customers c ON c.id = o.customer_id \
            LEFT JOIN order_lines l ON l.order_id = o.id LEFT JOIN products p ON p.id = l.product_id \
            WHERE o.workspace_id = $1 {} ORDER BY {} o.id, l.line_no",
            if customer.is_some() { "AND c.external_id = $2" } else { "" },
            if customer.is_some() { "o.ordered_at," } else { "" }
        );
        let mut out: Vec<OrderRecord> = Vec::new();
        let mut last = i64::MIN;
        let binds: Vec<String> = customer.map(|c| vec![c.to_owned()]).unwrap_or_default();
        with_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(ws.0);
            for b in &binds {
                q = q.bind(b);
            }
            let mut rows = q.fetch(p);
            while let Some(r) = rows.try_next().await? {
                let id: i64 = r.try_get(1)?;
                if id != last {
                    out.push(OrderRecord {
                        customer: r.try_get(0)?,
                        external_id: r.try_get(2)?,
                        ordered_at: r.try_get(3)?,
                        amount: r.try_get(4)?,
                        currency: currency(&r.try_get::<String, _>(5)?)?,
                        status: r.try_get(6)?,
                        lines: Vec::new(),
                    });
                    last = id;
                }
                let sku: Option<String> = r.try_get(7)?;
                if let (Some(sku), Some(o)) = (sku, out.last_mut()) {
                    let q: Option<i64> = r.try_get(9)?;
                    o.lines.push(LineRecord { sku, category: r.try_get(8)?, quantity: q.unwrap_or(1).clamp(0, u32::MAX as i64) as u32, amount: r.try_get(10)? });
                }
            }
        });
        Ok(out)
    }

    /// All subscriptions of a workspace, sorted by customer then start.
    pub async fn load_subscriptions(&self, ws: WorkspaceId) -> Result<Vec<SubscriptionRecord>> {
        let sql = format!("SELECT {SUB_COLS} FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE s.workspace_id = $1 ORDER BY c.external_id, s.started_at, s.id");
        Ok(query_rows!(self, &sql, ws, None::<&str>, sub_row))
    }

    /// Events (optionally only those at or after `since`), feedback and subscriptions of the
    /// whole workspace in three bulk queries, each sorted by customer then time.
    pub async fn load_activity(&self, ws: WorkspaceId, since: Option<Instant>) -> Result<Activity> {
        let since = since.unwrap_or(i64::MIN);
        let mut a = Activity { subscriptions: self.load_subscriptions(ws).await?, ..Default::default() };
        let sql = format!("SELECT {EVENT_COLS} FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = $1 AND e.occurred_at >= $2 ORDER BY c.external_id, e.occurred_at, e.id");
        a.events = query_rows!(self, &sql, ws, Some(since), event_row);
        let sql = format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.workspace_id = $1 AND f.responded_at >= $2 ORDER BY c.external_id, f.responded_at, f.id");
        a.feedback = query_rows!(self, &sql, ws, Some(since), feedback_row);
        Ok(a)
    }

    /// All customers of a workspace in id order, or the one named `customer`, with their consents
    /// and birthdays.
    pub async fn customers_where(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<CustomerRecord>> {
        let only = if customer.is_some() { "AND c.external_id = $2" } else { "" };
        let sql = format!(
            "SELECT c.id, c.external_id, c.kind, c.name, c.email, c.phone, c.owner, CAST(c.tags AS TEXT), c.created_at, k.channel, k.granted, k.consented_at, k.unsubscribed_at \
            FROM customers c LEFT JOIN customer_consents k ON k.customer_id = c.id WHERE c.workspace_id = $1 {only} ORDER BY c.id, k.channel"
        );
        let mut out: Vec<CustomerRecord> = Vec::new();
        let mut last = i64::MIN;
        with_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(ws.0);
            if let Some(c) = customer {
                q = q.bind(c);
            }
            let mut rows = q.fetch(p);
            while let Some(r) = rows.try_next().await? {
                let id: i64 = r.try_get(0)?;
                if id != last {
                    out.push(customer_row(&r)?);
                    last = id;
                }
                let channel: Option<String> = r.try_get(9)?;
                if let (Some(channel), Some(c)) = (channel, out.last_mut()) {
                    c.consents.push(Consent { channel, granted: r.try_get(10)?, consented_at: r.try_get(11)?, unsubscribed_at: r.try_get(12)? });
                }
            }
        });
        let birthdays: FxHashMap<String, chrono::NaiveDate> =
            self.important_dates(ws, customer).await?.into_iter().filter(|d| d.external_id.starts_with(BIRTHDAY_PREFIX)).map(|d| (d.customer, d.date)).collect();
        if !birthdays.is_empty() {
            for c in &mut out {
                c.birthday = birthdays.get(&c.external_id).copied();
            }
        }
        Ok(out)
    }

    /// All customers of a workspace, in id order.
    pub async fn customers(&self, ws: WorkspaceId) -> Result<Vec<CustomerRecord>> {
        self.customers_where(ws, None).await
    }

    /// All events of a workspace, in id order (for export).
    pub async fn events(&self, ws: WorkspaceId) -> Result<Vec<EventRecord>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = $1 ORDER BY e.id");
        Ok(query_rows!(self, &sql, ws, None::<&str>, event_row))
    }

    /// Feedback of a workspace (or of one customer), in id order.
    pub async fn feedback(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<FeedbackRecord>> {
        let sql = format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.workspace_id = $1 {} ORDER BY f.id", of_customer(customer));
        Ok(query_rows!(self, &sql, ws, customer, feedback_row))
    }

    /// Notes of a workspace (or of one customer), oldest first.
    pub async fn notes(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<Note>> {
        let sql = format!(
            "SELECT c.external_id, n.external_id, n.body, n.pain_points, n.goals, n.preferred_channel, n.preferred_time, n.communication_style, n.author, n.created_at \
            FROM notes n JOIN customers c ON c.id = n.customer_id WHERE n.workspace_id = $1 {} ORDER BY n.created_at, n.id",
            of_customer(customer)
        );
        Ok(query_rows!(self, &sql, ws, customer, note_row))
    }

    /// Important dates of a workspace (or of one customer), by date. Birthdays read from a
    /// customers file are among them, with external ids starting with `~birthday:`.
    pub async fn important_dates(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<ImportantDate>> {
        let sql = format!(
            "SELECT c.external_id, d.external_id, d.kind, d.label, d.on_date, d.yearly FROM important_dates d JOIN customers c ON c.id = d.customer_id \
            WHERE d.workspace_id = $1 {} ORDER BY d.on_date, d.id",
            of_customer(customer)
        );
        Ok(query_rows!(self, &sql, ws, customer, date_row))
    }

    /// Contact people of a workspace's (or one) customers, in id order.
    pub async fn contacts(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<Contact>> {
        let sql = format!(
            "SELECT c.external_id, k.external_id, k.name, k.role, k.email, k.phone FROM contacts k JOIN customers c ON c.id = k.customer_id WHERE k.workspace_id = $1 {} ORDER BY k.id",
            of_customer(customer)
        );
        Ok(query_rows!(self, &sql, ws, customer, contact_row))
    }

    /// Calls, meetings, emails and messages of a workspace (or of one customer), oldest first.
    pub async fn interactions(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<Interaction>> {
        let sql = format!(
            "SELECT c.external_id, i.external_id, i.kind, i.occurred_at, i.with_whom, i.by_whom, i.summary FROM interactions i JOIN customers c ON c.id = i.customer_id \
            WHERE i.workspace_id = $1 {} ORDER BY i.occurred_at, i.id",
            of_customer(customer)
        );
        Ok(query_rows!(self, &sql, ws, customer, interaction_row))
    }

    /// Replaces the scoring snapshot of a workspace (rows of unknown customers are an error).
    pub async fn replace_scores(&self, ws: WorkspaceId, scores: &[Score]) -> Result<()> {
        const PER: usize = 500;
        macro_rules! body {
            ($tx:ident) => {{
                sqlx::query("DELETE FROM scores WHERE workspace_id = $1").bind(ws.0).execute(&mut *$tx).await?;
                let mut written = 0u64;
                for chunk in scores.chunks(PER) {
                    let mut sql = String::from("INSERT INTO scores (customer_id, workspace_id, segment, p_alive, clv, flags, computed_at) SELECT c.id, $1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (VALUES ");
                    for k in 0..chunk.len() {
                        let b = 2 + k * 6;
                        if k > 0 {
                            sql.push(',');
                        }
                        sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${})", b, b + 1, b + 2, b + 3, b + 4, b + 5));
                    }
                    sql.push_str(") AS v JOIN customers c ON c.workspace_id = $1 AND c.external_id = v.column1 WHERE true");
                    let mut q = sqlx::query(&sql).bind(ws.0);
                    for s in chunk {
                        let p = s.p_alive.filter(|x| x.is_finite());
                        q = q.bind(&s.customer).bind(&s.segment).bind(p).bind(s.clv).bind(sqlx::types::Json(&s.flags)).bind(s.computed_at);
                    }
                    written += q.execute(&mut *$tx).await?.rows_affected();
                }
                if written != scores.len() as u64 {
                    return Err(Error::Invalid(format!("{} of {} scores name customers not in the store (or twice)", scores.len() as u64 - written.min(scores.len() as u64), scores.len())));
                }
                $tx.commit().await?;
            }};
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                body!(tx)
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7262, $1)").bind(ws.0 as i32).execute(&mut *tx).await?;
                body!(tx)
            }
        }
        Ok(())
    }

    /// The scoring snapshot of one customer, or all of a workspace (`customer` = `None`).
    pub async fn scores(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<Score>> {
        let sql = format!(
            "SELECT c.external_id, s.segment, s.p_alive, s.clv, CAST(s.flags AS TEXT), s.computed_at FROM scores s JOIN customers c ON c.id = s.customer_id WHERE s.workspace_id = $1 {} ORDER BY c.id",
            of_customer(customer)
        );
        Ok(query_rows!(self, &sql, ws, customer, score_row))
    }

    /// Everything known about one customer.
    pub async fn customer_view(&self, ws: WorkspaceId, customer: &str) -> Result<CustomerView> {
        let c = Some(customer);
        let record = self.customers_where(ws, c).await?.into_iter().next().ok_or_else(|| Error::NotFound { what: format!("customer {customer:?}") })?;
        let mut subscriptions = self.load_subscriptions(ws).await?;
        subscriptions.retain(|s| s.customer == customer);
        let sql = "SELECT e.kind, COUNT(*), MAX(e.occurred_at) FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = $1 AND c.external_id = $2 \
            GROUP BY e.kind ORDER BY COUNT(*) DESC, e.kind";
        let events = query_rows!(self, sql, ws, c, event_count_row);
        Ok(CustomerView {
            customer: record,
            contacts: self.contacts(ws, c).await?,
            notes: self.notes(ws, c).await?,
            important_dates: self.important_dates(ws, c).await?,
            orders: self.orders(ws, c).await?,
            subscriptions,
            events,
            feedback: self.feedback(ws, c).await?,
            interactions: self.interactions(ws, c).await?,
            score: self.scores(ws, c).await?.into_iter().next(),
            tasks: self.tasks_of(ws, customer).await?,
        })
    }
}

/// `AND c.external_id = $2` when reading one customer's rows.
pub(crate) fn of_customer(customer: Option<&str>) -> &'static str {
    if customer.is_some() {
        "AND c.external_id = $2"
    } else {
        ""
    }
}

fn customer_row(r: &impl RowExt) -> Result<CustomerRecord> {
    let kind = r.text(2)?;
    let tags = r.text(7)?;
    Ok(CustomerRecord {
        external_id: r.text(1)?,
        kind: CustomerKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("customer kind {kind:?}")))?,
        name: r.opt_text(3)?,
        email: r.opt_text(4)?,
        phone: r.opt_text(5)?,
        owner: r.opt_text(6)?,
        tags: serde_json::from_str(&tags).map_err(|e| Error::Corrupt(format!("tags {tags:?}: {e}")))?,
        created_at: r.opt_int(8)?,
        consents: Vec::new(),
        birthday: None,
    })
}

fn note_row(r: &impl RowExt) -> Result<Note> {
    Ok(Note {
        customer: r.text(0)?,
        external_id: r.text(1)?,
        body: r.text(2)?,
        pain_points: r.opt_text(3)?,
        goals: r.opt_text(4)?,
        preferred_channel: r.opt_text(5)?,
        preferred_time: r.opt_text(6)?,
        communication_style: r.opt_text(7)?,
        author: r.opt_text(8)?,
        created_at: r.opt_int(9)?,
    })
}

fn date_row(r: &impl RowExt) -> Result<ImportantDate> {
    let kind = r.text(2)?;
    let date = r.text(4)?;
    Ok(ImportantDate {
        customer: r.text(0)?,
        external_id: r.text(1)?,
        kind: DateKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("date kind {kind:?}")))?,
        label: r.opt_text(3)?,
        date: chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| Error::Corrupt(format!("date {date:?}")))?,
        yearly: r.boolean(5)?,
    })
}

fn contact_row(r: &impl RowExt) -> Result<Contact> {
    Ok(Contact { customer: r.text(0)?, external_id: r.text(1)?, name: r.text(2)?, role: r.opt_text(3)?, email: r.opt_text(4)?, phone: r.opt_text(5)? })
}

fn interaction_row(r: &impl RowExt) -> Result<Interaction> {
    Ok(Interaction {
        customer: r.text(0)?,
        external_id: r.text(1)?,
        kind: r.text(2)?,
        occurred_at: r.int(3)?,
        with_whom: r.opt_text(4)?,
        by_whom: r.opt_text(5)?,
        summary: r.opt_text(6)?,
    })
}

fn event_count_row(r: &impl RowExt) -> Result<EventCount> {
    Ok(EventCount { kind: r.text(0)?, count: r.int(1)?, last_at: r.int(2)? })
}

fn score_row<R: Row + RowExt>(r: &R) -> Result<Score>
where
    usize: sqlx::ColumnIndex<R>,
    f64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let flags = r.text(4)?;
    Ok(Score {
        customer: r.text(0)?,
        segment: r.opt_text(1)?,
        p_alive: r.try_get(2)?,
        clv: r.opt_int(3)?,
        flags: serde_json::from_str(&flags).map_err(|e| Error::Corrupt(format!("stored flags {flags:?}: {e}")))?,
        computed_at: r.int(5)?,
    })
}
