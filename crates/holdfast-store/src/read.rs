//! Reading: the order log for analytics, subscriptions, activity for red flags, one customer's
//! whole record, the scoring snapshot, and the small per-customer entities (notes, dates,
//! contacts, interactions).

use crate::bulk::{scan, write_rows, Fields, PoolConn, RowBuf};
use crate::error::{Error, Result};
use crate::import::BIRTHDAY_PREFIX;
use crate::model::*;
use crate::tx::{Tx, SCORES_LOCK};
use crate::{with_pool, Store};
use futures_util::TryStreamExt;
use holdfast_core::flags::FlagKind;
use holdfast_core::order_log::{Catalog, OrderLines};
use holdfast_core::segments::Segment;
use holdfast_core::{Currency, CustomerIds, CustomerIdx, Instant, OrderLog, OrderStatus, ProductIdx};
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
        use holdfast_core::flags::{Activity as CoreActivity, Event, EventKind, Feedback};
        let mut out = CoreActivity::new();
        for e in &self.events {
            let p = &e.properties;
            let mut kind = EventKind::parse(&e.kind);
            let negative = p.get("sentiment").and_then(|v| v.as_str()).is_some_and(|s| s.eq_ignore_ascii_case("negative"))
                || p.get("negative").and_then(|v| v.as_bool()) == Some(true);
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
            out.push_subscription(s.to_core());
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

/// A stored order status: one of the canonical names [`OrderStatus::as_str`] writes.
fn order_status(s: &str) -> Result<OrderStatus> {
    OrderStatus::from_canonical(s)
        .ok_or_else(|| Error::Corrupt(format!("order status {s:?} (expected one of {})", OrderStatus::ALL.map(|x| x.as_str()).join(", "))))
}

/// The SQL condition on `status` that selects counted orders (`OrderStatus::is_counted`).
pub(crate) fn counted_sql() -> String {
    format!("status NOT IN ({})", OrderStatus::not_counted_sql_list())
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

/// Every row of `$sql` decoded by `$row`, whichever backend answers. `$sql` names the workspace
/// `$1` and, when `$customer` is `Some`, a customer's external id `$2`: one customer's rows are read
/// through sqlx with the id bound; a whole workspace's in bulk ([`Store::bulk_rows`]), with the
/// workspace id written into the statement.
macro_rules! query_rows {
    ($store:expr, $sql:expr, $ws:expr, $customer:expr, $row:ident) => {{
        match $customer {
            None => $store.bulk_rows(&$sql.replace("$1", &$ws.0.to_string()), |r| $row(r)).await?,
            Some(c) => {
                let mut out = Vec::new();
                $crate::with_pool!($store, p => {
                    let q = sqlx::query($sql).bind($ws.0).bind(c);
                    let mut rows = futures_util::TryStreamExt::map_err(q.fetch(p), $crate::Error::from);
                    while let Some(r) = futures_util::TryStreamExt::try_next(&mut rows).await? {
                        out.push($row(&r)?);
                    }
                });
                out
            }
        }
    }};
}

pub(crate) use query_rows;

/// Decoding of rows by column position, the same on both backends and for both ways of reading
/// (sqlx rows and bulk [`Fields`]).
pub(crate) trait RowExt {
    fn int(&self, k: usize) -> Result<i64>;
    fn opt_int(&self, k: usize) -> Result<Option<i64>>;
    fn opt_float(&self, k: usize) -> Result<Option<f64>>;
    fn text(&self, k: usize) -> Result<String>;
    fn opt_text(&self, k: usize) -> Result<Option<String>>;
    fn boolean(&self, k: usize) -> Result<bool>;
}

impl<R: Row> RowExt for R
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    f64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    bool: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    fn int(&self, k: usize) -> Result<i64> {
        Ok(self.try_get(k)?)
    }
    fn opt_int(&self, k: usize) -> Result<Option<i64>> {
        Ok(self.try_get(k)?)
    }
    fn opt_float(&self, k: usize) -> Result<Option<f64>> {
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

impl RowExt for Fields<'_> {
    fn int(&self, k: usize) -> Result<i64> {
        self.int_req(k)
    }
    fn opt_int(&self, k: usize) -> Result<Option<i64>> {
        Fields::int(self, k)
    }
    fn opt_float(&self, k: usize) -> Result<Option<f64>> {
        Fields::float(self, k)
    }
    fn text(&self, k: usize) -> Result<String> {
        Ok(self.text_req(k)?.into_owned())
    }
    fn opt_text(&self, k: usize) -> Result<Option<String>> {
        Ok(Fields::text(self, k)?.map(|t| t.into_owned()))
    }
    fn boolean(&self, k: usize) -> Result<bool> {
        Fields::boolean(self, k)?.ok_or_else(|| Error::Corrupt(format!("column {k} is NULL")))
    }
}

impl Store {
    /// The counted orders of a workspace as an [`OrderLog`], in one snapshot: from the stored
    /// image of the log when it is current ([`crate::log_cache`], written by every orders import),
    /// else built from the tables ([`build_order_log`]). Orders keep their import order (id order)
    /// and customers and products are numbered in the order of their first stored order, so a log
    /// loaded from a time-sorted file equals the one built from the file itself.
    pub async fn load_order_log(&self, ws: WorkspaceId) -> Result<OrderLog> {
        let mut tx = Tx::read(&self.pool).await?;
        let log = match crate::log_cache::load(&mut tx, ws).await? {
            Some(log) => log,
            None => build_order_log(&mut tx, ws).await?,
        };
        tx.commit().await?;
        Ok(log)
    }

    /// Every row of `sql` (a statement without parameters) decoded by `row`, read in bulk in one
    /// snapshot ([`scan`]).
    pub(crate) async fn bulk_rows<T>(&self, sql: &str, mut row: impl FnMut(&Fields) -> Result<T>) -> Result<Vec<T>> {
        let mut c = PoolConn::acquire(&self.pool).await?;
        let mut out = Vec::new();
        scan(c.conn(), sql, |r| {
            out.push(row(r)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// All orders (counted or not) with their lines, in import order. For export and the customer view.
    pub async fn orders(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<OrderRecord>> {
        let sql = format!(
            "SELECT c.external_id, o.id, o.external_id, o.ordered_at, o.amount, o.currency, o.status, p.sku, p.category, l.quantity, l.amount \
            FROM orders o JOIN customers c ON c.id = o.customer_id \
            LEFT JOIN order_lines l ON l.order_id = o.id LEFT JOIN products p ON p.id = l.product_id \
            WHERE o.workspace_id = $1 {} ORDER BY {} o.id, l.line_no",
            of_customer(customer),
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
                        status: order_status(&r.try_get::<String, _>(6)?)?,
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
        let (w, since) = (ws.0, since.unwrap_or(i64::MIN));
        let mut a = Activity { subscriptions: self.load_subscriptions(ws).await?, ..Default::default() };
        let sql = format!("SELECT {EVENT_COLS} FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = {w} AND e.occurred_at >= {since} ORDER BY c.external_id, e.occurred_at, e.id");
        a.events = self.bulk_rows(&sql, |r| event_row(r)).await?;
        let sql = format!("SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.workspace_id = {w} AND f.responded_at >= {since} ORDER BY c.external_id, f.responded_at, f.id");
        a.feedback = self.bulk_rows(&sql, |r| feedback_row(r)).await?;
        Ok(a)
    }

    /// All customers of a workspace in id order, or the one named `customer`, with their consents
    /// and birthdays.
    pub async fn customers_where(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<CustomerRecord>> {
        let only = of_customer(customer);
        let sql = format!(
            "SELECT c.id, c.external_id, c.kind, c.name, c.email, c.phone, c.owner, CAST(c.tags AS TEXT), c.created_at, k.channel, k.granted, k.consented_at, k.unsubscribed_at \
            FROM customers c LEFT JOIN customer_consents k ON k.customer_id = c.id WHERE c.workspace_id = $1 {only} ORDER BY c.id, k.channel"
        );
        let rows = query_rows!(self, &sql, ws, customer, customer_consent_row);
        let mut out: Vec<CustomerRecord> = Vec::new();
        let mut last = i64::MIN;
        for (id, c, consent) in rows {
            if id != last {
                out.push(c);
                last = id;
            }
            if let (Some(k), Some(c)) = (consent, out.last_mut()) {
                c.consents.push(k);
            }
        }
        let birthdays: FxHashMap<String, chrono::NaiveDate> = self
            .important_dates(ws, customer)
            .await?
            .into_iter()
            .filter(|d| d.external_id.starts_with(BIRTHDAY_PREFIX))
            .map(|d| (d.customer, d.date))
            .collect();
        if !birthdays.is_empty() {
            for c in &mut out {
                c.birthday = birthdays.get(&c.external_id).copied();
            }
        }
        Ok(out)
    }

    /// The customers of a workspace that have an owner (their personal manager), as
    /// (external id, owner) in id order: what the action queue needs of the customers, without
    /// reading them whole.
    pub async fn owners(&self, ws: WorkspaceId) -> Result<Vec<(String, String)>> {
        let sql = format!("SELECT external_id, owner FROM customers WHERE workspace_id = {} AND owner IS NOT NULL ORDER BY id", ws.0);
        self.bulk_rows(&sql, |r| Ok((r.text_req(0)?.into_owned(), r.text_req(1)?.into_owned()))).await
    }

    /// One page of a workspace's customers in the order of their external ids (byte order): at
    /// most `limit` (1 to [`MAX_PAGE`]) after the external id `after` (the previous page's `next`;
    /// `None`: from the start), each with its score and number of open tasks. Walks the
    /// workspace's index of external ids.
    pub async fn customers_page(&self, ws: WorkspaceId, after: Option<&str>, limit: u32) -> Result<Page<CustomerSummary, String>> {
        self.customers_page_in(ws, None, after, limit).await
    }

    /// [`Store::customers_page`] limited to the customers whose latest scoring put them in
    /// `segment` (none: everyone).
    pub async fn customers_page_in(&self, ws: WorkspaceId, segment: Option<Segment>, after: Option<&str>, limit: u32) -> Result<Page<CustomerSummary, String>> {
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let mut cond = String::new();
        let mut n = 1;
        if segment.is_some() {
            n += 1;
            cond.push_str(&format!(" AND s.segment = ${n}"));
        }
        if after.is_some() {
            n += 1;
            cond.push_str(&format!(" AND c.external_id > ${n}"));
        }
        let sql = format!(
            "SELECT c.external_id, c.kind, c.name, c.email, c.phone, c.owner, CAST(c.tags AS TEXT), c.created_at, s.segment, s.p_alive, s.clv, \
             (SELECT COUNT(*) FROM tasks t WHERE t.workspace_id = c.workspace_id AND t.customer_id = c.id AND t.state = 'open') \
             FROM customers c LEFT JOIN scores s ON s.customer_id = c.id WHERE c.workspace_id = $1{cond} ORDER BY c.external_id LIMIT {}",
            limit + 1
        );
        let mut items: Vec<CustomerSummary> = Vec::new();
        with_pool!(self, p => {
            let mut q = sqlx::query(&sql).bind(ws.0);
            if let Some(s) = segment {
                q = q.bind(s.key());
            }
            if let Some(a) = after {
                q = q.bind(a);
            }
            let mut rows = q.fetch(p);
            while let Some(r) = rows.try_next().await? {
                items.push(customer_summary_row(&r)?);
            }
        });
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|c| c.external_id.clone())
        } else {
            None
        };
        Ok(Page { items, next })
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
        let sql = format!(
            "SELECT {FEEDBACK_COLS} FROM feedback f JOIN customers c ON c.id = f.customer_id WHERE f.workspace_id = $1 {} ORDER BY f.id",
            of_customer(customer)
        );
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

    /// Replaces the scoring snapshot of a workspace in one write transaction. A customer named
    /// twice, or not in the workspace, is an error and changes nothing.
    ///
    /// The stored snapshot is read in bulk and compared with the new one in memory; then the
    /// scores of customers left out are deleted, the changed ones updated and the new ones
    /// inserted — each staged in bulk and written with one statement, so unchanged scores are not
    /// written again (a snapshot that changes nothing writes nothing).
    pub async fn replace_scores(&self, ws: WorkspaceId, scores: &[Score]) -> Result<()> {
        const GONE: &str = "stage_scores_gone";
        const CHANGED: &str = "stage_scores_changed";
        const NEW: &str = "stage_scores_new";
        const RESOLVED: &str = "stage_scores_new_resolved";
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        for (k, s) in scores.iter().enumerate() {
            if index.insert(s.customer.as_str(), k).is_some() {
                return Err(Error::Invalid(format!("customer {:?} is scored twice", s.customer)));
            }
        }
        let w = ws.0;
        let mut tx = Tx::write(&self.pool, SCORES_LOCK, ws).await?;
        let json = tx.dialect().json_type;
        // The stored snapshot, against the new one: each stored score is gone, changed or the same.
        let mut stored: Vec<Option<i64>> = vec![None; scores.len()];
        let (mut gone, mut changed) = (RowBuf::new(1), RowBuf::new(8));
        scan(
            tx.conn(),
            &format!("SELECT s.customer_id, c.external_id, s.segment, s.p_alive, s.clv, CAST(s.flags AS TEXT), s.computed_at, s.risk, CAST(s.risk_reasons AS TEXT) FROM scores s JOIN customers c ON c.id = s.customer_id WHERE s.workspace_id = {w}"),
            |r| {
                let id = r.int_req(0)?;
                let Some(&k) = index.get(&*r.text_req(1)?) else {
                    gone.int(id);
                    return Ok(());
                };
                stored[k] = Some(id);
                let new = &scores[k];
                let flags = r.text_req(5)?;
                let old_flags: Vec<FlagKind> = serde_json::from_str(&flags).map_err(|e| Error::Corrupt(format!("stored flags {flags:?}: {e}")))?;
                let same = segment(r.text(2)?.map(|k| k.into_owned()))? == new.segment
                    && r.float(3)? == new.p_alive.filter(|x| x.is_finite())
                    && r.int(4)? == new.clv
                    && old_flags == new.flags
                    && r.int_req(6)? == new.computed_at
                    && r.float(7)? == new.risk.filter(|x| x.is_finite())
                    && serde_json::from_str::<Vec<ScoreReason>>(&r.text_req(8)?).ok().as_ref() == Some(&new.risk_reasons);
                if !same {
                    let (flags, reasons) = score_json(new)?;
                    changed.int(id).opt_text(new.segment.map(Segment::key)).opt_float(new.p_alive).opt_int(new.clv).text(&flags).int(new.computed_at);
                    changed.opt_float(new.risk).text(&reasons);
                }
                Ok(())
            },
        )
        .await?;
        let mut fresh = RowBuf::new(8);
        for s in scores.iter().zip(&stored).filter(|(_, id)| id.is_none()).map(|(s, _)| s) {
            let (flags, reasons) = score_json(s)?;
            fresh.text(&s.customer).opt_text(s.segment.map(Segment::key)).opt_float(s.p_alive).opt_int(s.clv).text(&flags).int(s.computed_at);
            fresh.opt_float(s.risk).text(&reasons);
        }
        const FIELDS: [&str; 7] = ["segment", "p_alive", "clv", "flags", "computed_at", "risk", "risk_reasons"];
        let field_types =
            format!("segment TEXT, p_alive DOUBLE PRECISION, clv BIGINT, flags {json}, computed_at BIGINT, risk DOUBLE PRECISION, risk_reasons {json}");
        if !fresh.is_empty() {
            // New scores: their customers' ids first (the staged rows drive the join, the
            // preserved side of a LEFT JOIN); a customer not in the workspace changes nothing.
            tx.stage(NEW, &format!("customer TEXT, {field_types}")).await?;
            write_rows(tx.conn(), NEW, &["customer", "segment", "p_alive", "clv", "flags", "computed_at", "risk", "risk_reasons"], &fresh).await?;
            tx.stage_as(
                RESOLVED,
                &format!("SELECT c.id AS customer_id, s.* FROM {NEW} s LEFT JOIN customers c ON c.workspace_id = {w} AND c.external_id = s.customer"),
            )
            .await?;
            let mut unknown = None;
            scan(tx.conn(), &format!("SELECT customer FROM {RESOLVED} WHERE customer_id IS NULL LIMIT 1"), |r| {
                unknown = Some(r.text_req(0)?.into_owned());
                Ok(())
            })
            .await?;
            if let Some(c) = unknown {
                return Err(Error::Invalid(format!("the scores name customer {c:?}, not in the store")));
            }
        }
        if !gone.is_empty() {
            tx.stage(GONE, "customer_id BIGINT").await?;
            write_rows(tx.conn(), GONE, &["customer_id"], &gone).await?;
            tx.exec(&format!("DELETE FROM scores WHERE customer_id IN (SELECT customer_id FROM {GONE})")).await?;
            tx.unstage(GONE).await?;
        }
        if !changed.is_empty() {
            tx.stage(CHANGED, &format!("customer_id BIGINT, {field_types}")).await?;
            write_rows(tx.conn(), CHANGED, &["customer_id", "segment", "p_alive", "clv", "flags", "computed_at", "risk", "risk_reasons"], &changed).await?;
            let set: Vec<String> = FIELDS.iter().map(|f| format!("{f} = s.{f}")).collect();
            tx.exec(&format!("UPDATE scores SET {} FROM {CHANGED} s WHERE scores.customer_id = s.customer_id", set.join(", "))).await?;
            tx.unstage(CHANGED).await?;
        }
        if !fresh.is_empty() {
            tx.exec(&format!(
                "INSERT INTO scores (customer_id, workspace_id, {}) SELECT customer_id, {w}, {} FROM {RESOLVED}",
                FIELDS.join(", "),
                FIELDS.join(", ")
            ))
            .await?;
            tx.unstage(RESOLVED).await?;
            tx.unstage(NEW).await?;
        }
        tx.commit().await?;
        if scores.len() >= 10_000 {
            self.analyze("scores").await?;
        }
        Ok(())
    }

    /// The scoring snapshot of one customer, or all of a workspace (`customer` = `None`).
    pub async fn scores(&self, ws: WorkspaceId, customer: Option<&str>) -> Result<Vec<Score>> {
        let sql = format!(
            "SELECT c.external_id, s.segment, s.p_alive, s.clv, CAST(s.flags AS TEXT), s.computed_at, s.risk, CAST(s.risk_reasons AS TEXT) FROM scores s JOIN customers c ON c.id = s.customer_id WHERE s.workspace_id = $1 {} ORDER BY c.id",
            of_customer(customer)
        );
        Ok(query_rows!(self, &sql, ws, customer, score_row))
    }

    /// The learned churn risk of every customer the snapshot scored at `computed_at`, by
    /// external id (customers without a risk are left out).
    pub async fn risks_at(&self, ws: WorkspaceId, computed_at: Instant) -> Result<Vec<(String, f64)>> {
        let sql = "SELECT c.external_id, s.risk FROM scores s JOIN customers c ON c.id = s.customer_id \
                   WHERE s.workspace_id = $1 AND s.computed_at = $2 AND s.risk IS NOT NULL";
        Ok(with_pool!(self, p => sqlx::query_as(sql).bind(ws.0).bind(computed_at).fetch_all(p).await?))
    }

    /// The learned churn risk of the scoring snapshot by segment, largest mean risk first: the
    /// customers with a risk, their mean risk and how many have a risk of at least one half.
    pub async fn risk_by_segment(&self, ws: WorkspaceId) -> Result<Vec<SegmentRisk>> {
        let sql = "SELECT segment, COUNT(*), AVG(risk), SUM(CASE WHEN risk >= 0.5 THEN 1 ELSE 0 END) FROM scores \
                   WHERE workspace_id = $1 AND risk IS NOT NULL GROUP BY segment";
        let rows: Vec<(Option<String>, i64, Option<f64>, Option<i64>)> = with_pool!(self, p => sqlx::query_as(sql).bind(ws.0).fetch_all(p).await?);
        let mut out = Vec::with_capacity(rows.len());
        for (seg, n, mean, above) in rows {
            out.push(SegmentRisk { segment: segment(seg)?, customers: n as u64, mean_risk: mean.unwrap_or(0.0), above_half: above.unwrap_or(0) as u64 });
        }
        out.sort_by(|a, b| b.mean_risk.total_cmp(&a.mean_risk).then_with(|| a.segment.map(Segment::key).cmp(&b.segment.map(Segment::key))));
        Ok(out)
    }

    /// Everything known about one customer.
    pub async fn customer_view(&self, ws: WorkspaceId, customer: &str) -> Result<CustomerView> {
        let c = Some(customer);
        let record = self.customers_where(ws, c).await?.into_iter().next().ok_or_else(|| Error::NotFound { what: format!("customer {customer:?}") })?;
        let sql = format!("SELECT {SUB_COLS} FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE s.workspace_id = $1 AND c.workspace_id = $1 AND c.external_id = $2 ORDER BY s.started_at, s.id");
        let subscriptions = query_rows!(self, &sql, ws, c, sub_row);
        let sql = "SELECT e.kind, COUNT(*), MAX(e.occurred_at) FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.workspace_id = $1 AND c.workspace_id = $1 AND c.external_id = $2 \
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

/// The counted orders of workspace `ws` built from the tables, read in `tx`: its counted orders
/// (one integer scan, no join, no sort in SQL), the lines of the order ids seen (a range scan of
/// `order_lines`' key), then the customers and products, built column by column.
pub(crate) async fn build_order_log(tx: &mut Tx, ws: WorkspaceId) -> Result<OrderLog> {
    let w = ws.0;
    let mut ws_currency = None;
    scan(tx.conn(), &format!("SELECT currency FROM workspaces WHERE id = {w}"), |r| {
        ws_currency = Some(currency(&r.text_req(0)?)?);
        Ok(())
    })
    .await?;
    let ws_currency = ws_currency.ok_or_else(|| Error::NotFound { what: format!("workspace {w}") })?;
    // Orders: id, customer, time, amount; the currency checked on the way.
    struct Row {
        id: i64,
        customer: i64,
        at: Instant,
        amount: i64,
    }
    let mut orders: Vec<Row> = Vec::new();
    let mut currencies: Vec<String> = Vec::new();
    scan(tx.conn(), &format!("SELECT id, customer_id, ordered_at, amount, currency FROM orders WHERE workspace_id = {w} AND {}", counted_sql()), |r| {
        orders.push(Row { id: r.int_req(0)?, customer: r.int_req(1)?, at: r.int_req(2)?, amount: r.int_req(3)? });
        let cur = r.text_req(4)?;
        if currencies.last().map(String::as_str) != Some(&*cur) && !currencies.iter().any(|c| *c == *cur) {
            currencies.push(cur.into_owned());
        }
        Ok(())
    })
    .await?;
    currencies.sort();
    let currency = match currencies.as_slice() {
        [] => ws_currency,
        [one] => currency(one)?,
        [a, b, ..] => {
            return Err(Error::Invalid(format!("the stored orders are in more than one currency ({a} and {b}); convert them to one before analysing")));
        }
    };
    if !orders.is_sorted_by_key(|o| o.id) {
        orders.sort_unstable_by_key(|o| o.id);
    }

    // Lines of those orders: (order position, line number, product id, quantity), in order.
    let mut lines_raw: Vec<(u32, i64, i64, u32)> = Vec::new();
    if let (Some(lo), Some(hi)) = (orders.first().map(|o| o.id), orders.last().map(|o| o.id)) {
        let mut cur = 0usize;
        let mut sorted = true;
        let mut last = (0u32, i64::MIN);
        scan(
            tx.conn(),
            &format!("SELECT order_id, line_no, product_id, quantity FROM order_lines WHERE order_id BETWEEN {lo} AND {hi} AND product_id IS NOT NULL"),
            |r| {
                let oid = r.int_req(0)?;
                // Lines come in key order on SQLite (and mostly on PostgreSQL): walk forward.
                if orders[cur].id != oid {
                    if orders[cur].id < oid && orders.get(cur + 1).is_some_and(|o| o.id <= oid) {
                        cur += 1;
                    }
                    if orders[cur].id != oid {
                        match orders.binary_search_by_key(&oid, |o| o.id) {
                            Ok(k) => cur = k,
                            // Not a counted order of the workspace.
                            Err(_) => return Ok(()),
                        }
                    }
                }
                let key = (cur as u32, r.int_req(1)?);
                sorted &= key > last;
                last = key;
                let q = r.int(3)?.unwrap_or(1).clamp(0, u32::MAX as i64) as u32;
                lines_raw.push((key.0, key.1, r.int_req(2)?, q));
                Ok(())
            },
        )
        .await?;
        if !sorted {
            lines_raw.sort_unstable_by_key(|l| (l.0, l.1));
        }
    }

    let mut names: FxHashMap<i64, String> = FxHashMap::default();
    scan(tx.conn(), &format!("SELECT id, external_id FROM customers WHERE workspace_id = {w}"), |r| {
        names.insert(r.int_req(0)?, r.text_req(1)?.into_owned());
        Ok(())
    })
    .await?;
    let mut products: FxHashMap<i64, (String, Option<String>)> = FxHashMap::default();
    if !lines_raw.is_empty() {
        scan(tx.conn(), &format!("SELECT id, name, category FROM products WHERE workspace_id = {w}"), |r| {
            products.insert(r.int_req(0)?, (r.text_req(1)?.into_owned(), r.text(2)?.map(|x| x.into_owned())));
            Ok(())
        })
        .await?;
    }

    let mut customer_ids = CustomerIds::new();
    let mut customer_idx: FxHashMap<i64, CustomerIdx> = FxHashMap::default();
    let n = orders.len();
    let (mut customer, mut at, mut amount): (Vec<CustomerIdx>, Vec<Instant>, Vec<i64>) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for o in &orders {
        let idx = match customer_idx.get(&o.customer) {
            Some(&i) => i,
            None => {
                let i = customer_ids.len() as CustomerIdx;
                let name =
                    names.get(&o.customer).ok_or_else(|| Error::Corrupt(format!("order {} names customer {}, not in the workspace", o.id, o.customer)))?;
                customer_ids.push(name);
                customer_idx.insert(o.customer, i);
                i
            }
        };
        customer.push(idx);
        at.push(o.at);
        amount.push(o.amount);
    }
    drop(names);

    let mut catalog = Catalog::default();
    let lines = if lines_raw.is_empty() {
        None
    } else {
        let mut lines =
            OrderLines { offsets: Vec::with_capacity(n + 1), product: Vec::with_capacity(lines_raw.len()), quantity: Vec::with_capacity(lines_raw.len()) };
        let mut product_idx: FxHashMap<i64, ProductIdx> = FxHashMap::default();
        let mut category_idx: FxHashMap<String, u32> = FxHashMap::default();
        let mut next = lines_raw.iter().peekable();
        for k in 0..n as u32 {
            lines.offsets.push(lines.product.len() as u32);
            while let Some(&(_, _, pid, q)) = next.next_if(|l| l.0 == k) {
                let p = match product_idx.get(&pid) {
                    Some(&p) => p,
                    None => {
                        let order = orders[k as usize].id;
                        let (name, cat) =
                            products.remove(&pid).ok_or_else(|| Error::Corrupt(format!("order {order} names product {pid}, not in the workspace")))?;
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
                lines.quantity.push(q);
            }
        }
        lines.offsets.push(lines.product.len() as u32);
        Some(lines)
    };
    Ok(OrderLog::from_columns(customer_ids, customer, at, amount, currency, lines, catalog))
}

/// `AND c.workspace_id = $1 AND c.external_id = $2` when reading one customer's rows: the
/// customer is found by the (workspace_id, external_id) index, then its rows by their customer
/// index (without the workspace on `c`, PostgreSQL scanned every customer: 1.1 s a customer page
/// at 1M customers).
pub(crate) fn of_customer(customer: Option<&str>) -> &'static str {
    if customer.is_some() {
        "AND c.workspace_id = $1 AND c.external_id = $2"
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

/// A stored segment: its [`Segment::key`].
fn segment(key: Option<String>) -> Result<Option<Segment>> {
    key.map(|k| Segment::from_key(&k).ok_or_else(|| Error::Corrupt(format!("segment {k:?}")))).transpose()
}

fn customer_summary_row(r: &impl RowExt) -> Result<CustomerSummary> {
    let kind = r.text(1)?;
    let tags = r.text(6)?;
    let segment = segment(r.opt_text(8)?)?;
    Ok(CustomerSummary {
        external_id: r.text(0)?,
        kind: CustomerKind::parse(&kind).ok_or_else(|| Error::Corrupt(format!("customer kind {kind:?}")))?,
        name: r.opt_text(2)?,
        email: r.opt_text(3)?,
        phone: r.opt_text(4)?,
        owner: r.opt_text(5)?,
        tags: serde_json::from_str(&tags).map_err(|e| Error::Corrupt(format!("tags {tags:?}: {e}")))?,
        created_at: r.opt_int(7)?,
        segment,
        p_alive: r.opt_float(9)?,
        clv: r.opt_int(10)?,
        open_tasks: u32::try_from(r.int(11)?).unwrap_or(u32::MAX),
    })
}

/// A customer row joined with one of its consents (or none).
fn customer_consent_row(r: &impl RowExt) -> Result<(i64, CustomerRecord, Option<Consent>)> {
    let consent = match r.opt_text(9)? {
        Some(channel) => Some(Consent { channel, granted: r.boolean(10)?, consented_at: r.opt_int(11)?, unsubscribed_at: r.opt_int(12)? }),
        None => None,
    };
    Ok((r.int(0)?, customer_row(r)?, consent))
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

fn score_row(r: &impl RowExt) -> Result<Score> {
    let flags = r.text(4)?;
    let segment = segment(r.opt_text(1)?)?;
    Ok(Score {
        customer: r.text(0)?,
        segment,
        p_alive: r.opt_float(2)?,
        clv: r.opt_int(3)?,
        flags: serde_json::from_str(&flags).map_err(|e| Error::Corrupt(format!("stored flags {flags:?}: {e}")))?,
        computed_at: r.int(5)?,
        risk: r.opt_float(6)?,
        risk_reasons: {
            let reasons = r.text(7)?;
            serde_json::from_str(&reasons).map_err(|e| Error::Corrupt(format!("stored risk reasons {reasons:?}: {e}")))?
        },
    })
}

/// A score's flags and risk reasons as the JSON the store keeps.
fn score_json(s: &Score) -> Result<(String, String)> {
    let flags = serde_json::to_string(&s.flags).map_err(|e| Error::Invalid(format!("flags of {:?}: {e}", s.customer)))?;
    let reasons = serde_json::to_string(&s.risk_reasons).map_err(|e| Error::Invalid(format!("risk reasons of {:?}: {e}", s.customer)))?;
    Ok((flags, reasons))
}
