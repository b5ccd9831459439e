//! CSV export of every entity, in the column names `holdfast import` reads back: leaving Holdfast
//! is as easy as joining. Times are RFC 3339 in UTC, amounts decimal in major units with the
//! currency's digits, JSON columns as JSON text.

use crate::error::{Error, Result};
use crate::import::{Entity, BIRTHDAY_PREFIX};
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
        Entity::Notes => &["note_id", "customer_id", "body", "pain_points", "goals", "preferred_channel", "preferred_time", "communication_style", "author", "created_at"],
        Entity::Dates => &["date_id", "customer_id", "kind", "label", "date", "yearly"],
        Entity::Contacts => &["contact_id", "customer_id", "name", "role", "email", "phone"],
        Entity::Interactions => &["interaction_id", "customer_id", "kind", "at", "with", "by", "summary"],
    }
}

impl Store {
    /// Writes all rows of `entity` in workspace `ws` as CSV with a header; returns the rows written.
    /// Orders with several lines are written one row per line, repeating the order's id, customer,
    /// time and status.
    /// Customers' consents are one JSON array column (`[{"channel":"email","granted":true,
/// "consented_at":"2024-03-05T10:00:00Z","unsubscribed_at":null}]`); birthdays read from a customers
/// file are written with the customer, not among the dates.
    pub async fn export_csv(&self, ws: WorkspaceId, entity: Entity, out: impl Write) -> Result<u64> {
        let mut w = Csv { out: std::io::BufWriter::new(out), line: String::new() };
        w.row(header(entity))?;
        let mut n = 0u64;
        match entity {
            Entity::Customers => {
                for c in self.customers(ws).await? {
                    let tags = if c.tags.is_empty() { String::new() } else { serde_json::to_string(&c.tags).unwrap_or_default() };
                    let consents = if c.consents.is_empty() {
                        String::new()
                    } else {
                        let items: Vec<serde_json::Value> = c
                            .consents
                            .iter()
                            .map(|k| {
                                serde_json::json!({"channel": k.channel, "granted": k.granted, "consented_at": k.consented_at.map(rfc3339), "unsubscribed_at": k.unsubscribed_at.map(rfc3339)})
                            })
                            .collect();
                        serde_json::Value::Array(items).to_string()
                    };
                    let birthday = c.birthday.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
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
                        &birthday,
                    ])?;
                    n += 1;
                }
            }
            Entity::Orders => {
                for o in self.orders(ws, None).await? {
                    let at = rfc3339(o.ordered_at);
                    if o.lines.is_empty() {
                        w.row(&[o.external_id.as_str(), &o.customer, &at, &format_minor(o.amount, o.currency), o.currency.as_str(), o.status.as_str(), "", "", ""])?;
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
                        w.row(&[o.external_id.as_str(), &o.customer, &at, &format_minor(a, o.currency), o.currency.as_str(), o.status.as_str(), &l.sku, l.category.as_deref().unwrap_or(""), &l.quantity.to_string()])?;
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
                for f in self.feedback(ws, None).await? {
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
            Entity::Notes => {
                for x in self.notes(ws, None).await? {
                    w.row(&[
                        x.external_id.as_str(),
                        &x.customer,
                        &x.body,
                        x.pain_points.as_deref().unwrap_or(""),
                        x.goals.as_deref().unwrap_or(""),
                        x.preferred_channel.as_deref().unwrap_or(""),
                        x.preferred_time.as_deref().unwrap_or(""),
                        x.communication_style.as_deref().unwrap_or(""),
                        x.author.as_deref().unwrap_or(""),
                        &opt_time(x.created_at),
                    ])?;
                    n += 1;
                }
            }
            Entity::Dates => {
                for x in self.important_dates(ws, None).await?.into_iter().filter(|d| !d.external_id.starts_with(BIRTHDAY_PREFIX)) {
                    let date = x.date.format("%Y-%m-%d").to_string();
                    w.row(&[x.external_id.as_str(), &x.customer, x.kind.as_str(), x.label.as_deref().unwrap_or(""), &date, if x.yearly { "true" } else { "false" }])?;
                    n += 1;
                }
            }
            Entity::Contacts => {
                for x in self.contacts(ws, None).await? {
                    w.row(&[x.external_id.as_str(), &x.customer, &x.name, x.role.as_deref().unwrap_or(""), x.email.as_deref().unwrap_or(""), x.phone.as_deref().unwrap_or("")])?;
                    n += 1;
                }
            }
            Entity::Interactions => {
                for x in self.interactions(ws, None).await? {
                    w.row(&[
                        x.external_id.as_str(),
                        &x.customer,
                        &x.kind,
                        &rfc3339(x.occurred_at),
                        x.with_whom.as_deref().unwrap_or(""),
                        x.by_whom.as_deref().unwrap_or(""),
                        x.summary.as_deref().unwrap_or(""),
                    ])?;
                    n += 1;
                }
            }
        }
        w.out.flush().map_err(|e| Error::Invalid(format!("cannot write the export: {e}")))?;
        Ok(n)
    }
}
