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
        Entity::Customers => &["customer_id", "kind", "name", "email", "phone", "owner", "tags", "created_at", "consents"],
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
