//! Reading: the order log for analytics, subscriptions, activity for red flags, one customer's
//! whole record, the scoring snapshot, and the small per-customer entities (notes, dates,
//! contacts, interactions).

use crate::error::{Error, Result};
use crate::model::*;
use crate::{with_pool, Pool, Store};
use futures_util::TryStreamExt;
use holdfast_core::{Catalog, Currency, CustomerIds, Instant, OrderLines, OrderLog};
use serde::Serialize;
use sqlx::Row;

/// Events, feedback and subscriptions of a workspace, each sorted by customer then time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Activity {
    pub events: Vec<EventRecord>,
    pub feedback: Vec<FeedbackRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
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

fn json_text(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("stored JSON {s:?}: {e}")))
}

const SUB_COLS: &str = "c.external_id, s.external_id, s.plan, s.mrr, s.currency, s.started_at, s.ended_at, s.cancel_reason";
fn sub_row<R: Row>(r: &R) -> Result<SubscriptionRecord>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SubscriptionRecord {
        customer: r.try_get(0)?,
        external_id: r.try_get(1)?,
        plan: r.try_get(2)?,
        mrr: r.try_get(3)?,
        currency: currency(&r.try_get::<String, _>(4)?)?,
        started_at: r.try_get(5)?,
        ended_at: r.try_get(6)?,
        cancel_reason: r.try_get(7)?,
    })
}

const FEEDBACK_COLS: &str = "c.external_id, f.external_id, f.responded_at, f.score, f.survey, f.comment, f.touchpoint";
fn feedback_row<R: Row>(r: &R) -> Result<FeedbackRecord>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let score: Option<i64> = r.try_get(3)?;
    Ok(FeedbackRecord {
        customer: r.try_get(0)?,
        external_id: r.try_get(1)?,
        responded_at: r.try_get(2)?,
        score: score.map(|s| s.clamp(0, 10) as u8),
        survey: r.try_get(4)?,
        comment: r.try_get(5)?,
        touchpoint: r.try_get(6)?,
    })
}

const EVENT_COLS: &str = "c.external_id, e.external_id, e.kind, e.occurred_at, CAST(e.properties AS TEXT)";
fn event_row<R: Row>(r: &R) -> Result<EventRecord>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(EventRecord {
        customer: r.try_get(0)?,
        external_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        occurred_at: r.try_get(3)?,
        properties: json_text(&r.try_get::<String, _>(4)?)?,
    })
}

/// Streams the rows of `sql` (bound to `ws`) through `f`, whichever backend answers.
macro_rules! stream_rows {
    ($store:expr, $sql:expr, $binds:expr, |$r:ident| $body:expr) => {
        with_pool!($store, p => {
            let mut q = sqlx::query($sql);
            for b in $binds {
                q = q.bind(b);
            }
            let mut rows = q.fetch(p);
            while let Some($r) = rows.try_next().await? {
                $body
            }
        })
    };
}

impl Store {
    /// The counted orders of a workspace as an [`OrderLog`], loaded in bulk: the customers and
    /// products once, then the orders and their lines as integer columns (no text per row).
    /// Customers are interned in the order of their first stored order and orders keep their
    /// import order, so a log loaded from a time-sorted file equals the one built from the file
    /// itself.
    pub async fn load_order_log(&self, ws: WorkspaceId) -> Result<OrderLog> {
        const COUNTED: &str = "o.workspace_id = $1 AND o.status NOT IN ('refunded', 'cancelled', 'canceled')";
        let ws_currency = self.workspace_currency(ws).await?;
        let codes: Vec<String> = with_pool!(self, p => sqlx::query_scalar(&format!("SELECT DISTINCT o.currency FROM orders o WHERE {COUNTED} ORDER BY 1")).bind(ws.0).fetch_all(p).await?);
        if codes.len() > 1 {
            return Err(Error::Invalid(format!("the stored orders are in more than one currency ({} and {}); convert them to one before analysing", codes[0], codes[1])));
        }
        let cur = match codes.first() {
            Some(c) => currency(c)?,
            None => ws_currency,
        };
        // Customer and product names by row id.
        let mut customer_name: rustc_hash::FxHashMap<i64, String> = rustc_hash::FxHashMap::default();
        stream_rows!(self, "SELECT id, external_id FROM customers WHERE workspace_id = $1", [ws.0], |r| {
            customer_name.insert(r.try_get(0)?, r.try_get(1)?);
        });
        let mut catalog = Catalog::default();
        let mut product_idx: rustc_hash::FxHashMap<i64, u32> = rustc_hash::FxHashMap::default();
        let mut categories: rustc_hash::FxHashMap<String, u32> = rustc_hash::FxHashMap::default();
        stream_rows!(self, "SELECT id, name, category FROM products WHERE workspace_id = $1 ORDER BY id", [ws.0], |r| {
            let name: String = r.try_get(1)?;
            let category: Option<String> = r.try_get(2)?;
            product_idx.insert(r.try_get(0)?, catalog.products.len() as u32);
            catalog.products.push(name);
            catalog.category_of.push(category.map(|c| {
                let next = categories.len() as u32;
                *categories.entry(c.clone()).or_insert_with(|| {
                    catalog.categories.push(c);
                    next
                })
            }));
        });
        // Orders in import order; customers numbered at first sight.
        let mut dense: rustc_hash::FxHashMap<i64, u32> = rustc_hash::FxHashMap::default();
        let mut ids = CustomerIds::new();
        let (mut order_ids, mut cust, mut at, mut amount) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let orders_sql = format!("SELECT o.id, o.customer_id, o.ordered_at, o.amount FROM orders o WHERE {COUNTED} ORDER BY o.id");
        stream_rows!(self, &orders_sql, [ws.0], |r| {
            let c: i64 = r.try_get(1)?;
            let idx = match dense.get(&c) {
                Some(&i) => i,
                None => {
                    let name = customer_name.get(&c).ok_or_else(|| Error::Corrupt(format!("order {} names customer row {c}, which does not exist", r.try_get::<i64, _>(0).unwrap_or(0))))?;
                    let i = ids.len() as u32;
                    ids.push(name);
                    dense.insert(c, i);
                    i
                }
            };
            order_ids.push(r.try_get::<i64, _>(0)?);
            cust.push(idx);
            at.push(r.try_get::<i64, _>(2)?);
            amount.push(r.try_get::<i64, _>(3)?);
        });
        drop(customer_name);
        // Lines of the counted orders, aligned with the orders by a merge on the (ascending) ids.
        let mut lines = OrderLines { offsets: Vec::with_capacity(order_ids.len() + 1), product: Vec::new(), quantity: Vec::new() };
        lines.offsets.push(0);
        let mut o = 0usize;
        let lines_sql = format!("SELECT l.order_id, l.product_id, l.quantity FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE {COUNTED} AND l.product_id IS NOT NULL ORDER BY l.order_id, l.line_no");
        stream_rows!(
            self,
            &lines_sql,
            [ws.0],
            |r| {
                let id: i64 = r.try_get(0)?;
                while o < order_ids.len() && order_ids[o] < id {
                    lines.offsets.push(lines.product.len() as u32);
                    o += 1;
                }
                let p: i64 = r.try_get(1)?;
                let q: Option<i64> = r.try_get(2)?;
                if let Some(&pi) = product_idx.get(&p) {
                    lines.product.push(pi);
                    lines.quantity.push(q.unwrap_or(1).clamp(0, u32::MAX as i64) as u32);
                }
            }
        );
        while lines.offsets.len() < order_ids.len() + 1 {
            lines.offsets.push(lines.product.len() as u32);
        }
        let lines = (!lines.product.is_empty()).then_some(lines);
        Ok(OrderLog::from_columns(ids, cust, at, amount, cur, lines, catalog))
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
        let mut out = Vec::new();
        stream_rows!(self, &sql, [ws.0], |r| out.push(sub_row(&r)?));
        Ok(out)
    }

    /// Events (optionally only those at or after `since`), feedback and subscriptions of the
    /// whole workspace in three bulk queries, each sorted by customer then time.
    pub async fn load_activity(&self, ws: WorkspaceId, since: Option<Instant>) -> Result<Activity> {
        let since = since.unwrap_or(i64::MIN);
        let mut a = Activity { subscriptions: self.load_subscriptions(ws).await?, ..Default::default() };
        let sql = format!("SELECT {EVENT_COLS} FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = $1 AND e.occurred_at >= $2 ORDER BY c.external_id, e.occurred_at, e.id");
        stream_rows!(self, &sql, [ws.0, since], |r| a.events.push(event_row(&r)?));
        let sql = format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.workspace_id = $1 AND f.responded_at >= $2 ORDER BY c.external_id, f.responded_at, f.id");
        stream_rows!(self, &sql, [ws.0, since], |r| a.feedback.push(feedback_row(&r)?));
        Ok(a)
    }

    /// All customers of a workspace, in id order.
    pub async fn customers(&self, ws: WorkspaceId) -> Result<Vec<CustomerRecord>> {
        let sql = "SELECT c.id, c.external_id, c.kind, c.name, c.email, c.phone, c.owner, CAST(c.tags AS TEXT), c.created_at, k.channel, k.consented_at, k.unsubscribed_at, \
            (SELECT MIN(d.on_date) FROM important_dates d WHERE d.customer_id = c.id AND d.kind = 'birthday') FROM customers c LEFT JOIN customer_consents k ON k.customer_id = c.id WHERE c.workspace_id = $1 ORDER BY c.id, k.channel";
        let mut out: Vec<CustomerRecord> = Vec::new();
        let mut last = i64::MIN;
        stream_rows!(self, sql, [ws.0], |r| {
            let id: i64 = r.try_get(0)?;
            if id != last {
                out.push(customer_row(&r)?);
                last = id;
            }
            let channel: Option<String> = r.try_get(9)?;
            if let (Some(channel), Some(c)) = (channel, out.last_mut()) {
                c.consents.push(Consent { channel, consented_at: r.try_get(10)?, unsubscribed_at: r.try_get(11)? });
            }
        });
        Ok(out)
    }

    /// All events of a workspace, in id order (for export).
    pub async fn events(&self, ws: WorkspaceId) -> Result<Vec<EventRecord>> {
        let sql = format!("SELECT {EVENT_COLS} FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = $1 ORDER BY e.id");
        let mut out = Vec::new();
        stream_rows!(self, &sql, [ws.0], |r| out.push(event_row(&r)?));
        Ok(out)
    }

    /// All feedback of a workspace, in id order (for export).
    pub async fn feedback(&self, ws: WorkspaceId) -> Result<Vec<FeedbackRecord>> {
        let sql = format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.workspace_id = $1 ORDER BY f.id");
        let mut out = Vec::new();
        stream_rows!(self, &sql, [ws.0], |r| out.push(feedback_row(&r)?));
        Ok(out)
    }

    async fn customer_db_id(&self, ws: WorkspaceId, customer: &str) -> Result<i64> {
        let id: Option<i64> = with_pool!(self, p => sqlx::query_scalar("SELECT id FROM customers WHERE workspace_id = $1 AND external_id = $2").bind(ws.0).bind(customer).fetch_optional(p).await?);
        id.ok_or_else(|| Error::NotFound { what: format!("customer {customer:?}") })
    }

    /// Adds a note to a customer.
    pub async fn add_note(&self, ws: WorkspaceId, customer: &str, n: &Note) -> Result<()> {
        let id = self.customer_db_id(ws, customer).await?;
        with_pool!(self, p => sqlx::query("INSERT INTO notes (customer_id, body, pain_points, goals, preferred_channel, preferred_time, communication_style, author, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(id).bind(&n.body).bind(&n.pain_points).bind(&n.goals).bind(&n.preferred_channel).bind(&n.preferred_time).bind(&n.communication_style).bind(&n.author).bind(n.created_at)
            .execute(p).await?.rows_affected());
        Ok(())
    }

    /// Adds an important date to a customer.
    pub async fn add_important_date(&self, ws: WorkspaceId, customer: &str, d: &ImportantDate) -> Result<()> {
        let id = self.customer_db_id(ws, customer).await?;
        with_pool!(self, p => sqlx::query("INSERT INTO important_dates (customer_id, kind, label, on_date, yearly) VALUES ($1, $2, $3, $4, $5)")
            .bind(id).bind(d.kind.as_str()).bind(&d.label).bind(d.date.format("%Y-%m-%d").to_string()).bind(d.yearly)
            .execute(p).await?.rows_affected());
        Ok(())
    }

    /// Adds a contact person to a (company) customer.
    pub async fn add_contact(&self, ws: WorkspaceId, customer: &str, c: &Contact) -> Result<()> {
        let id = self.customer_db_id(ws, customer).await?;
        with_pool!(self, p => sqlx::query("INSERT INTO contacts (customer_id, name, role, email, phone) VALUES ($1, $2, $3, $4, $5)")
            .bind(id).bind(&c.name).bind(&c.role).bind(&c.email).bind(&c.phone).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Records a call, meeting, email or message.
    pub async fn add_interaction(&self, ws: WorkspaceId, customer: &str, i: &Interaction) -> Result<()> {
        if !matches!(i.kind.as_str(), "call" | "meeting" | "email" | "message" | "other") {
            return Err(Error::Invalid(format!("{:?} is not an interaction kind (expected call, meeting, email, message or other)", i.kind)));
        }
        let id = self.customer_db_id(ws, customer).await?;
        with_pool!(self, p => sqlx::query("INSERT INTO interactions (customer_id, kind, occurred_at, with_whom, by_whom, summary) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id).bind(&i.kind).bind(i.occurred_at).bind(&i.with_whom).bind(&i.by_whom).bind(&i.summary).execute(p).await?.rows_affected());
        Ok(())
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
            if customer.is_some() { "AND c.external_id = $2" } else { "" }
        );
        let mut out = Vec::new();
        with_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(ws.0);
            if let Some(c) = customer {
                q = q.bind(c);
            }
            let mut rows = q.fetch(p);
            while let Some(r) = rows.try_next().await? {
                out.push(Score {
                    customer: r.try_get(0)?,
                    segment: r.try_get(1)?,
                    p_alive: r.try_get(2)?,
                    clv: r.try_get(3)?,
                    flags: json_text(&r.try_get::<String, _>(4)?)?,
                    computed_at: r.try_get(5)?,
                });
            }
        });
        Ok(out)
    }

    /// Everything known about one customer.
    pub async fn customer_view(&self, ws: WorkspaceId, customer: &str) -> Result<CustomerView> {
        let id = self.customer_db_id(ws, customer).await?;
        let mut c: Option<CustomerRecord> = None;
        let sql = "SELECT c.id, c.external_id, c.kind, c.name, c.email, c.phone, c.owner, CAST(c.tags AS TEXT), c.created_at, k.channel, k.consented_at, k.unsubscribed_at, \
            (SELECT MIN(d.on_date) FROM important_dates d WHERE d.customer_id = c.id AND d.kind = 'birthday') FROM customers c LEFT JOIN customer_consents k ON k.customer_id = c.id WHERE c.id = $1 ORDER BY k.channel";
        stream_rows!(self, sql, [id], |r| {
            if c.is_none() {
                c = Some(customer_row(&r)?);
            }
            let channel: Option<String> = r.try_get(9)?;
            if let (Some(channel), Some(c)) = (channel, c.as_mut()) {
                c.consents.push(Consent { channel, consented_at: r.try_get(10)?, unsubscribed_at: r.try_get(11)? });
            }
        });
        let customer_rec = c.ok_or_else(|| Error::NotFound { what: format!("customer {customer:?}") })?;
        let mut v = CustomerView {
            customer: customer_rec,
            contacts: Vec::new(),
            notes: Vec::new(),
            important_dates: Vec::new(),
            orders: self.orders(ws, Some(customer)).await?,
            subscriptions: Vec::new(),
            events: Vec::new(),
            feedback: Vec::new(),
            interactions: Vec::new(),
            score: self.scores(ws, Some(customer)).await?.into_iter().next(),
            tasks: self.tasks_of(ws, customer).await?,
        };
        stream_rows!(self, "SELECT name, role, email, phone FROM contacts WHERE customer_id = $1 ORDER BY id", [id], |r| {
            v.contacts.push(Contact { name: r.try_get(0)?, role: r.try_get(1)?, email: r.try_get(2)?, phone: r.try_get(3)? })
        });
        stream_rows!(self, "SELECT body, pain_points, goals, preferred_channel, preferred_time, communication_style, author, created_at FROM notes WHERE customer_id = $1 ORDER BY created_at, id", [id], |r| {
            v.notes.push(Note {
                body: r.try_get(0)?,
                pain_points: r.try_get(1)?,
                goals: r.try_get(2)?,
                preferred_channel: r.try_get(3)?,
                preferred_time: r.try_get(4)?,
                communication_style: r.try_get(5)?,
                author: r.try_get(6)?,
                created_at: r.try_get(7)?,
            })
        });
        stream_rows!(self, "SELECT kind, label, on_date, yearly FROM important_dates WHERE customer_id = $1 ORDER BY on_date, id", [id], |r| {
            let kind: String = r.try_get(0)?;
            let date: String = r.try_get(2)?;
            v.important_dates.push(ImportantDate {
                kind: DateKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("date kind {kind:?}")))?,
                label: r.try_get(1)?,
                date: chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| Error::Corrupt(format!("date {date:?}")))?,
                yearly: r.try_get(3)?,
            })
        });
        let sql = format!("SELECT {SUB_COLS} FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE s.customer_id = $1 ORDER BY s.started_at, s.id");
        stream_rows!(self, &sql, [id], |r| v.subscriptions.push(sub_row(&r)?));
        stream_rows!(self, "SELECT kind, COUNT(*), MAX(occurred_at) FROM events WHERE customer_id = $1 GROUP BY kind ORDER BY COUNT(*) DESC, kind", [id], |r| {
            v.events.push(EventCount { kind: r.try_get(0)?, count: r.try_get(1)?, last_at: r.try_get(2)? })
        });
        let sql = format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.customer_id = $1 ORDER BY f.responded_at, f.id");
        stream_rows!(self, &sql, [id], |r| v.feedback.push(feedback_row(&r)?));
        stream_rows!(self, "SELECT kind, occurred_at, with_whom, by_whom, summary FROM interactions WHERE customer_id = $1 ORDER BY occurred_at, id", [id], |r| {
            v.interactions.push(Interaction { kind: r.try_get(0)?, occurred_at: r.try_get(1)?, with_whom: r.try_get(2)?, by_whom: r.try_get(3)?, summary: r.try_get(4)? })
        });
        Ok(v)
    }
}

fn customer_row<R: Row>(r: &R) -> Result<CustomerRecord>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let kind: String = r.try_get(2)?;
    let tags: String = r.try_get(7)?;
    Ok(CustomerRecord {
        external_id: r.try_get(1)?,
        kind: CustomerKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("customer kind {kind:?}")))?,
        name: r.try_get(3)?,
        email: r.try_get(4)?,
        phone: r.try_get(5)?,
        owner: r.try_get(6)?,
        tags: serde_json::from_str(&tags).map_err(|e| Error::Corrupt(format!("tags {tags:?}: {e}")))?,
        created_at: r.try_get(8)?,
        consents: Vec::new(),
        birthday: r.try_get::<Option<String>, _>(12)?.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
    })
}
