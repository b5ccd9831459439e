//! CSV export of every entity, in the column names `holdfast import` reads back: leaving Holdfast
//! is as easy as joining. Times are RFC 3339 in UTC, amounts decimal in major units with the
//! currency's digits, JSON columns as JSON text.

use crate::error::{Error, Result};
use crate::import::Entity;
use crate::model::WorkspaceId;
use crate::Store;
use holdfast_core::money::format_minor;
use holdfast_core::Instant;
use std::io::Write;

/// `2024-03-05T10:00:00Z`.
pub fn rfc3339(t: Instant) -> String {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

fn opt_time(t: Option<Instant>) -> String {
    t.map(rfc3339).unwrap_or_default()
}

struct Csv<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> Csv<W> {
    fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<()> {
        self.line.clear();
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                self.line.push(',');
            }
            let f = f.as_ref();
            if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') || f.ends_with(' ') {
                self.line.push('"');
                self.line.push_str(&f.replace('"', "\"\""));
                self.line.push('"');
            } else {
                self.line.push_str(f);
            }
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes()).map_err(|e| Error::Invalid(format!("cannot write the export: {e}")))
    }
}

/// The header `holdfast export` writes for an entity.
pub fn header(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Customers => &["customer_id", "kind", "name", "email", "phone", "owner", "tags", "created_at", "consents", "birthday"],
        Entity::Orders => &["order_id", "customer_id", "ordered_at", "amount", "currency", "status", "product", "category", "quantity"],
        Entity::Events => &["event_id", "customer_id", "kind", "occurred_at", "properties"],
        Entity::Subscriptions => &["subscription_id", "customer_id", "plan", "mrr", "currency", "started_at", "ended_at", "cancel_reason"],
        Entity::Feedback => &["feedback_id", "customer_id", "submitted_at", "score", "survey", "comment", "touchpoint"],
    }
}

impl Store {
    /// Writes all rows of `entity` in workspace `ws` as CSV with a header; returns the rows written.
    /// Orders with several lines are written one row per line, repeating the order's id, customer,
    /// time and status.
    /// Customers' consents are one JSON array column.
    pub async fn export_csv(&self, ws: WorkspaceId, entity: Entity, out: impl Write) -> Result<u64> {
        let mut w = Csv { out: std::io::BufWriter::new(out), line: String::new() };
        w.row(header(entity))?;
        let mut n = 0u64;
        match entity {
            Entity::Customers => {
                for c in self.customers(ws).await? {
                    let tags = if c.tags.is_empty() { String::new() } else { serde_json::to_string(&c.tags).unwrap_or_default() };
                    let consents = if c.consents.is_empty() { String::new() } else { serde_json::to_string(&c.consents).unwrap_or_default() };
                    w.row(&[
                        c.external_id.as_str(),
                        c.kind.as_str(),
                        c.name.as_deref().unwrap_or(""),
                        c.email.as_deref().unwrap_or(""),
                        c.phone.as_deref().unwrap_or(""),
                        c.owner.as_deref().unwrap_or(""),
                        &tags,
                        &opt_time(c.created_at),
                        &consents,
                        &c.birthday.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                    ])?;
                    n += 1;
                }
            }
            Entity::Orders => {
                for o in self.orders(ws, None).await? {
                    let at = rfc3339(o.ordered_at);
                    if o.lines.is_empty() {
                        w.row(&[o.external_id.as_str(), &o.customer, &at, &format_minor(o.amount, o.currency), o.currency.as_str(), &o.status, "", "", ""])?;
                    }
                    // The importer sums the amounts of rows sharing an order id, so each row carries
                    // its line's amount when the lines add up to the order, else the first row the
                    // whole amount.
                    let by_line = o.lines.iter().map(|l| l.amount).sum::<Option<i64>>() == Some(o.amount);
                    for (k, l) in o.lines.iter().enumerate() {
                        let a = match (by_line, l.amount) {
                            (true, Some(a)) => a,
                            _ if k == 0 => o.amount,
                            _ => 0,
                        };
                        w.row(&[o.external_id.as_str(), &o.customer, &at, &format_minor(a, o.currency), o.currency.as_str(), &o.status, &l.sku, l.category.as_deref().unwrap_or(""), &l.quantity.to_string()])?;
                    }
                    n += 1;
                }
            }
            Entity::Events => {
                for e in self.events(ws).await? {
                    w.row(&[e.external_id.as_str(), &e.customer, &e.kind, &rfc3339(e.occurred_at), &e.properties.to_string()])?;
                    n += 1;
                }
            }
            Entity::Subscriptions => {
                for s in self.load_subscriptions(ws).await? {
                    w.row(&[
                        s.external_id.as_str(),
                        &s.customer,
                        &s.plan,
                        &format_minor(s.mrr, s.currency),
                        s.currency.as_str(),
                        &rfc3339(s.started_at),
                        &opt_time(s.ended_at),
                        s.cancel_reason.as_deref().unwrap_or(""),
                    ])?;
                    n += 1;
                }
            }
            Entity::Feedback => {
                for f in self.feedback(ws).await? {
                    w.row(&[
                        f.external_id.as_str(),
                        &f.customer,
                        &rfc3339(f.responded_at),
                        &f.score.map(|s| s.to_string()).unwrap_or_default(),
                        f.survey.as_deref().unwrap_or(""),
                        f.comment.as_deref().unwrap_or(""),
                        f.touchpoint.as_deref().unwrap_or(""),
                    ])?;
                    n += 1;
                }
            }
        }
        w.out.flush().map_err(|e| Error::Invalid(format!("cannot write the export: {e}")))?;
        Ok(n)
    }
}

/// What a business records by hand about its customers (`holdfast customer ID note|date|contact|
/// interaction`), exported as CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    Notes,
    Dates,
    Contacts,
    Interactions,
}

impl Records {
    pub fn parse(s: &str) -> Option<Records> {
        match s {
            "notes" => Some(Records::Notes),
            "dates" | "important_dates" => Some(Records::Dates),
            "contacts" => Some(Records::Contacts),
            "interactions" => Some(Records::Interactions),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Records::Notes => "notes",
            Records::Dates => "important dates",
            Records::Contacts => "contacts",
            Records::Interactions => "interactions",
        }
    }

    fn header(self) -> &'static [&'static str] {
        match self {
            Records::Notes => &["customer_id", "created_at", "body", "pain_points", "goals", "preferred_channel", "preferred_time", "communication_style", "author"],
            Records::Dates => &["customer_id", "kind", "label", "date", "yearly"],
            Records::Contacts => &["customer_id", "name", "role", "email", "phone"],
            Records::Interactions => &["customer_id", "kind", "occurred_at", "with", "by", "summary"],
        }
    }

    /// The query: text columns, with the time column (if any) second as an integer.
    fn sql(self) -> &'static str {
        match self {
            Records::Notes => "SELECT c.external_id, n.created_at, n.body, n.pain_points, n.goals, n.preferred_channel, n.preferred_time, n.communication_style, n.author \
                FROM notes n JOIN customers c ON c.id = n.customer_id WHERE c.workspace_id = $1 ORDER BY n.id",
            Records::Dates => "SELECT c.external_id, d.kind, d.label, d.on_date, CASE WHEN d.yearly THEN 'true' ELSE 'false' END \
                FROM important_dates d JOIN customers c ON c.id = d.customer_id WHERE c.workspace_id = $1 ORDER BY d.id",
            Records::Contacts => "SELECT c.external_id, k.name, k.role, k.email, k.phone FROM contacts k JOIN customers c ON c.id = k.customer_id WHERE c.workspace_id = $1 ORDER BY k.id",
            Records::Interactions => "SELECT c.external_id, i.kind, i.occurred_at, i.with_whom, i.by_whom, i.summary \
                FROM interactions i JOIN customers c ON c.id = i.customer_id WHERE c.workspace_id = $1 ORDER BY i.id",
        }
    }

    /// Index of the column holding a time (seconds), written as RFC 3339.
    fn time_column(self) -> Option<usize> {
        match self {
            Records::Notes => Some(1),
            Records::Interactions => Some(2),
            Records::Dates | Records::Contacts => None,
        }
    }
}

impl Store {
    /// Writes every row of `what` in workspace `ws` as CSV with a header; returns the rows written.
    pub async fn export_records_csv(&self, ws: WorkspaceId, what: Records, out: impl Write) -> Result<u64> {
        use futures_util::TryStreamExt;
        use sqlx::Row;
        let mut w = Csv { out: std::io::BufWriter::new(out), line: String::new() };
        w.row(what.header())?;
        let ncols = what.header().len();
        let mut n = 0u64;
        let mut fields: Vec<String> = Vec::with_capacity(ncols);
        crate::with_pool!(self, p => {
            let mut rows = sqlx::query(what.sql()).bind(ws.0).fetch(p);
            while let Some(r) = rows.try_next().await? {
                fields.clear();
                for k in 0..ncols {
                    if Some(k) == what.time_column() {
                        fields.push(rfc3339(r.try_get::<i64, _>(k)?));
                    } else {
                        fields.push(r.try_get::<Option<String>, _>(k)?.unwrap_or_default());
                    }
                }
                w.row(&fields)?;
                n += 1;
            }
        });
        w.out.flush().map_err(|e| Error::Invalid(format!("cannot write the export: {e}")))?;
        Ok(n)
    }
}
