//! Experiments: campaigns with their settings, who was assigned to which group when (and what it
//! cost), the counted orders of each assigned customer around its assignment, and the
//! workspace-wide global holdout. The statistics are `holdfast-experiments`'; this module stores
//! and loads.

use crate::bulk::{scan, write_rows, RowBuf};
use crate::error::{Error, Result};
use crate::model::WorkspaceId;
use crate::read::counted_sql;
use crate::tx::{with_tx, Tx, EXPERIMENTS_LOCK};
use crate::{with_pool, Store};
use holdfast_core::{Currency, Instant};
use rustc_hash::FxHashMap;
use serde::Serialize;

/// One assignment as written: a customer (external id) put in a group of a campaign at an
/// instant, with what reaching it cost. `line` is where it came from, for errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentRecord {
    pub line: u64,
    pub customer: String,
    pub campaign: String,
    pub group: String,
    pub assigned_at: Instant,
    /// Minor units of the workspace currency.
    pub cost: Option<i64>,
}

/// Settings of the campaigns a batch of assignments names; `None` keeps what is stored (or the
/// default for a new campaign: a 30-day window, no planned split, no margin).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CampaignSettings {
    pub window_days: Option<u32>,
    /// Planned share per group, e.g. `[("control", 0.1), ("treatment", 0.9)]`.
    pub planned_split: Option<Vec<(String, f64)>>,
    pub margin: Option<f64>,
}

/// The attribution window of a campaign unless one is set.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;

/// What [`Store::write_assignments`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AssignmentSummary {
    /// The campaigns named, in the order first named.
    pub campaigns: Vec<String>,
    pub inserted: u64,
    /// Stored assignments whose time or cost changed (the group never changes).
    pub updated: u64,
    pub unchanged: u64,
    /// Rows repeating an earlier row of the same batch exactly.
    pub repeated: u64,
}

/// A campaign as stored, with its assignments counted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Campaign {
    pub name: String,
    pub window_days: u32,
    pub planned_split: Option<Vec<(String, f64)>>,
    pub margin: Option<f64>,
    pub created_at: Instant,
    /// Assigned customers per group, by group name.
    pub groups: Vec<(String, u64)>,
    pub first_assigned_at: Option<Instant>,
    pub last_assigned_at: Option<Instant>,
    /// Sum of the given costs, minor units.
    pub cost: i64,
}

impl Campaign {
    pub fn assigned(&self) -> u64 {
        self.groups.iter().map(|(_, n)| n).sum()
    }
}

/// One assigned customer with its counted orders in the span asked for (times and amounts in
/// minor units, by time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssignedOrders {
    pub customer: String,
    pub group: String,
    pub assigned_at: Instant,
    pub cost: Option<i64>,
    pub orders: Vec<(Instant, i64)>,
}

const STAGE: &str = "stage_assignments";
const STAGE_COLUMNS: [&str; 6] = ["k", "campaign_id", "customer", "group_name", "assigned_at", "cost"];
const RESOLVED: &str = "stage_assignments_resolved";

fn split_json(split: &[(String, f64)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = split.iter().map(|(g, s)| (g.clone(), serde_json::json!(s))).collect();
    serde_json::Value::Object(map).to_string()
}

fn split_from_json(s: &str) -> Result<Vec<(String, f64)>> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("planned split {s:?}: {e}")))?;
    let obj = v.as_object().ok_or_else(|| Error::Corrupt(format!("planned split {s:?} is not an object")))?;
    obj.iter().map(|(g, x)| x.as_f64().map(|x| (g.clone(), x)).ok_or_else(|| Error::Corrupt(format!("planned split {s:?}")))).collect()
}

impl Store {
    /// Writes a batch of assignments in **one transaction**: every row or none. The campaigns
    /// named are created when new, and given `settings` (what is `None` stays as stored). Fails,
    /// writing nothing, with [`Error::Row`] naming the line when
    /// - a customer is not in the workspace (the message counts the other unknown ones),
    /// - a customer is put in two groups of one campaign, in the batch or against the stored
    ///   assignment (a customer's group never changes),
    /// - a customer appears twice for one campaign with different times or costs.
    ///
    /// A stored assignment in the same group with a new time or cost is updated; the same rows
    /// again change nothing. Two writers of one workspace take turns.
    pub async fn write_assignments(&self, ws: WorkspaceId, rows: &[AssignmentRecord], settings: &CampaignSettings, now: Instant) -> Result<AssignmentSummary> {
        let mut summary = AssignmentSummary::default();
        // Distinct campaigns in order, and one row per (campaign, customer).
        let mut first: FxHashMap<(&str, &str), usize> = FxHashMap::default();
        let mut keep: Vec<usize> = Vec::with_capacity(rows.len());
        for (k, r) in rows.iter().enumerate() {
            if !summary.campaigns.iter().any(|c| *c == r.campaign) {
                summary.campaigns.push(r.campaign.clone());
            }
            match first.get(&(r.campaign.as_str(), r.customer.as_str())) {
                None => {
                    first.insert((&r.campaign, &r.customer), k);
                    keep.push(k);
                }
                Some(&j) => {
                    let e = &rows[j];
                    if e.group != r.group {
                        return Err(Error::Row {
                            line: r.line,
                            column: Some("group".into()),
                            message: format!(
                                "customer {:?} is put in group {:?} of campaign {:?}, but line {} put it in group {:?}: a customer is in one group of a campaign",
                                r.customer, r.group, r.campaign, e.line, e.group
                            ),
                        });
                    }
                    if (e.assigned_at, e.cost) != (r.assigned_at, r.cost) {
                        return Err(Error::Row {
                            line: r.line,
                            column: None,
                            message: format!(
                                "customer {:?} of campaign {:?} is listed again (first on line {}) with another time or cost",
                                r.customer, r.campaign, e.line
                            ),
                        });
                    }
                    summary.repeated += 1;
                }
            }
        }
        if keep.is_empty() {
            return Ok(summary);
        }
        if let Some(w) = settings.window_days {
            if w == 0 {
                return Err(Error::Invalid("the attribution window must be at least 1 day".into()));
            }
        }
        if let Some(m) = settings.margin {
            if !(m > 0.0 && m <= 1.0) {
                return Err(Error::Invalid(format!("the margin {m} is not a share between 0 and 1")));
            }
        }

        let w = ws.0;
        let mut tx = Tx::write(&self.pool, EXPERIMENTS_LOCK, ws).await?;
        let json_type = tx.dialect().json_type;
        let split = settings.planned_split.as_deref().map(split_json);
        let mut ids: FxHashMap<String, i64> = FxHashMap::default();
        for name in &summary.campaigns {
            let sql = format!(
                "INSERT INTO campaigns (workspace_id, name, window_days, planned_split, margin, created_at) VALUES ($1, $2, $3, CAST($4 AS {json_type}), $5, $6) \
                 ON CONFLICT (workspace_id, name) DO UPDATE SET window_days = COALESCE($7, campaigns.window_days), \
                 planned_split = COALESCE(CAST($4 AS {json_type}), campaigns.planned_split), margin = COALESCE($5, campaigns.margin) RETURNING id"
            );
            let window = settings.window_days.unwrap_or(DEFAULT_WINDOW_DAYS) as i64;
            let id: i64 = with_tx!(&mut tx, t => sqlx::query_scalar(&sql)
                .bind(w).bind(name).bind(window).bind(split.as_deref()).bind(settings.margin).bind(now).bind(settings.window_days.map(i64::from))
                .fetch_one(&mut **t).await?);
            ids.insert(name.clone(), id);
        }

        let mut buf = RowBuf::new(STAGE_COLUMNS.len());
        for (k, &i) in keep.iter().enumerate() {
            let r = &rows[i];
            buf.int(k as i64).int(ids[&r.campaign]).text(&r.customer).text(&r.group).int(r.assigned_at).opt_int(r.cost);
        }
        tx.stage(STAGE, "k BIGINT, campaign_id BIGINT, customer TEXT, group_name TEXT, assigned_at BIGINT, cost BIGINT").await?;
        write_rows(tx.conn(), STAGE, &STAGE_COLUMNS, &buf).await?;
        drop(buf);
        // Each staged row with its customer's id and the stored assignment, if any. The staged
        // rows drive the joins.
        tx.stage_as(
            RESOLVED,
            &format!(
                "SELECT s.k, s.campaign_id, c.id AS customer_id, s.group_name, s.assigned_at, s.cost, \
                 a.group_name AS stored_group, a.assigned_at AS stored_at, a.cost AS stored_cost \
                 FROM {STAGE} s LEFT JOIN customers c ON c.workspace_id = {w} AND c.external_id = s.customer \
                 LEFT JOIN assignments a ON a.campaign_id = s.campaign_id AND a.customer_id = c.id"
            ),
        )
        .await?;
        let mut unknown: Vec<usize> = Vec::new();
        let mut conflict: Option<(usize, String)> = None;
        let (mut inserted, mut updated, mut unchanged) = (0u64, 0u64, 0u64);
        scan(tx.conn(), &format!("SELECT k, customer_id, stored_group, stored_at, stored_cost, assigned_at, cost FROM {RESOLVED}"), |r| {
            let k = usize::try_from(r.int_req(0)?).ok().filter(|&k| k < keep.len()).ok_or_else(|| Error::Corrupt("a staged assignment out of range".into()))?;
            if r.int(1)?.is_none() {
                unknown.push(keep[k]);
                return Ok(());
            }
            match r.text(2)? {
                None => inserted += 1,
                Some(g) if *g != *rows[keep[k]].group => {
                    if conflict.as_ref().is_none_or(|(j, _)| rows[keep[k]].line < rows[*j].line) {
                        conflict = Some((keep[k], g.into_owned()));
                    }
                }
                Some(_) if (r.int(3)?, r.int(4)?) != (r.int(5)?, r.int(6)?) => updated += 1,
                Some(_) => unchanged += 1,
            }
            Ok(())
        })
        .await?;
        if !unknown.is_empty() {
            unknown.sort_by_key(|&i| rows[i].line);
            let r = &rows[unknown[0]];
            let more = match unknown.len() {
                1 => String::new(),
                n => {
                    let shown: Vec<&str> = unknown[1..].iter().take(5).map(|&i| rows[i].customer.as_str()).collect();
                    format!(" (and {} more unknown: {}{})", n - 1, shown.join(", "), if n > 6 { ", …" } else { "" })
                }
            };
            return Err(Error::Row {
                line: r.line,
                column: Some("customer_id".into()),
                message: format!("customer {:?} is not in the store{more}; import the customers or their orders first", r.customer),
            });
        }
        if let Some((i, stored)) = conflict {
            let r = &rows[i];
            return Err(Error::Row {
                line: r.line,
                column: Some("group".into()),
                message: format!(
                    "customer {:?} is already in group {stored:?} of campaign {:?}, not {:?}: a customer is in one group of a campaign and never moves",
                    r.customer, r.campaign, r.group
                ),
            });
        }
        if inserted > 0 {
            tx.exec(&format!(
                "INSERT INTO assignments (campaign_id, customer_id, workspace_id, group_name, assigned_at, cost) \
                 SELECT campaign_id, customer_id, {w}, group_name, assigned_at, cost FROM {RESOLVED} WHERE stored_group IS NULL ORDER BY k"
            ))
            .await?;
        }
        if updated > 0 {
            tx.exec(&format!(
                "UPDATE assignments SET assigned_at = r.assigned_at, cost = r.cost FROM {RESOLVED} r \
                 WHERE assignments.campaign_id = r.campaign_id AND assignments.customer_id = r.customer_id AND r.stored_group IS NOT NULL \
                 AND (r.assigned_at <> r.stored_at OR r.cost IS DISTINCT FROM r.stored_cost)"
            ))
            .await?;
        }
        tx.unstage(RESOLVED).await?;
        tx.unstage(STAGE).await?;
        tx.commit().await?;
        summary.inserted = inserted;
        summary.updated = updated;
        summary.unchanged = unchanged;
        Ok(summary)
    }

    /// The workspace's campaigns, by name, with their assignments counted.
    pub async fn campaigns(&self, ws: WorkspaceId) -> Result<Vec<Campaign>> {
        self.campaigns_where(ws, None).await
    }

    /// One campaign; [`Error::NotFound`] when the workspace has none of that name.
    pub async fn campaign(&self, ws: WorkspaceId, name: &str) -> Result<Campaign> {
        self.campaigns_where(ws, Some(name)).await?.pop().ok_or_else(|| Error::NotFound { what: format!("campaign {name:?}") })
    }

    async fn campaigns_where(&self, ws: WorkspaceId, name: Option<&str>) -> Result<Vec<Campaign>> {
        let filter = if name.is_some() { " AND name = $2" } else { "" };
        let sql = format!(
            "SELECT id, name, window_days, CAST(planned_split AS TEXT), margin, created_at FROM campaigns WHERE workspace_id = $1{filter} ORDER BY name"
        );
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, i64, Option<String>, Option<f64>, i64)> = with_pool!(self, p => {
            let mut q = sqlx::query_as(&sql).bind(ws.0);
            if let Some(n) = name {
                q = q.bind(n);
            }
            q.fetch_all(p).await?
        });
        let mut out = Vec::with_capacity(rows.len());
        let mut index: FxHashMap<i64, usize> = FxHashMap::default();
        for (id, name, window, split, margin, created_at) in rows {
            index.insert(id, out.len());
            out.push(Campaign {
                name,
                window_days: u32::try_from(window).map_err(|_| Error::Corrupt(format!("window of {window} days")))?,
                planned_split: split.as_deref().map(split_from_json).transpose()?,
                margin,
                created_at,
                groups: Vec::new(),
                first_assigned_at: None,
                last_assigned_at: None,
                cost: 0,
            });
        }
        if out.is_empty() {
            return Ok(out);
        }
        let ids: Vec<String> = index.keys().map(|k| k.to_string()).collect();
        let sql = format!(
            "SELECT campaign_id, group_name, COUNT(*), MIN(assigned_at), MAX(assigned_at), CAST(COALESCE(SUM(cost), 0) AS BIGINT) FROM assignments \
             WHERE campaign_id IN ({}) GROUP BY campaign_id, group_name ORDER BY campaign_id, group_name",
            ids.join(", ")
        );
        let rows: Vec<(i64, String, i64, i64, i64, i64)> = with_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await?);
        for (id, group, n, lo, hi, cost) in rows {
            let c = &mut out[index[&id]];
            c.groups.push((group, n as u64));
            c.first_assigned_at = Some(c.first_assigned_at.map_or(lo, |x| x.min(lo)));
            c.last_assigned_at = Some(c.last_assigned_at.map_or(hi, |x| x.max(hi)));
            c.cost += cost;
        }
        Ok(out)
    }

    /// Every customer assigned in `campaign` with its counted orders (`OrderStatus::is_counted`)
    /// placed in `[assigned_at − before, assigned_at + after)` and before `as_of`, in one snapshot;
    /// by customer id (bytewise), orders by time. Orders in another currency than `currency` are
    /// [`Error::Invalid`].
    pub async fn assigned_orders(
        &self,
        ws: WorkspaceId,
        campaign: &str,
        before: i64,
        after: i64,
        as_of: Instant,
        currency: Currency,
    ) -> Result<Vec<AssignedOrders>> {
        let w = ws.0;
        let currency = currency.as_str();
        let mut tx = Tx::read(&self.pool).await?;
        let found: Option<i64> = with_tx!(&mut tx, t => sqlx::query_scalar("SELECT id FROM campaigns WHERE workspace_id = $1 AND name = $2")
            .bind(w).bind(campaign).fetch_optional(&mut **t).await?);
        let id = found.ok_or_else(|| Error::NotFound { what: format!("campaign {campaign:?}") })?;
        let mut out: Vec<AssignedOrders> = Vec::new();
        let mut slot: FxHashMap<i64, usize> = FxHashMap::default();
        scan(
            tx.conn(),
            &format!("SELECT a.customer_id, c.external_id, a.group_name, a.assigned_at, a.cost FROM assignments a JOIN customers c ON c.id = a.customer_id WHERE a.campaign_id = {id}"),
            |r| {
                slot.insert(r.int_req(0)?, out.len());
                out.push(AssignedOrders { customer: r.text_req(1)?.into_owned(), group: r.text_req(2)?.into_owned(), assigned_at: r.int_req(3)?, cost: r.int(4)?, orders: Vec::new() });
                Ok(())
            },
        )
        .await?;
        let mut other_currency: Option<String> = None;
        scan(
            tx.conn(),
            &format!(
                "SELECT o.customer_id, o.ordered_at, o.amount, o.currency FROM assignments a JOIN orders o ON o.customer_id = a.customer_id \
                 WHERE a.campaign_id = {id} AND o.workspace_id = {w} AND {} AND o.ordered_at >= a.assigned_at - {before} \
                 AND o.ordered_at < a.assigned_at + {after} AND o.ordered_at < {as_of}",
                counted_sql()
            ),
            |r| {
                let cur = r.text_req(3)?;
                if *cur != *currency {
                    other_currency = Some(cur.into_owned());
                }
                let k = slot.get(&r.int_req(0)?).copied().ok_or_else(|| Error::Corrupt("an order of an unassigned customer".into()))?;
                out[k].orders.push((r.int_req(1)?, r.int_req(2)?));
                Ok(())
            },
        )
        .await?;
        tx.commit().await?;
        if let Some(c) = other_currency {
            return Err(Error::Invalid(format!(
                "some orders of campaign {campaign:?}'s customers are in {c}, not the workspace's {currency}; convert them before measuring"
            )));
        }
        out.sort_by(|a, b| a.customer.cmp(&b.customer));
        for a in &mut out {
            a.orders.sort_unstable();
        }
        Ok(out)
    }

    /// The currency of the workspace's stored orders (of one of them: orders in several
    /// currencies are refused where they meet), if it has any.
    pub async fn orders_currency(&self, ws: WorkspaceId) -> Result<Option<Currency>> {
        let c: Option<String> =
            with_pool!(self, p => sqlx::query_scalar("SELECT currency FROM orders WHERE workspace_id = $1 LIMIT 1").bind(ws.0).fetch_optional(p).await?);
        c.map(|c| Currency::new(&c).ok_or_else(|| Error::Corrupt(format!("currency {c:?}")))).transpose()
    }

    /// The time of the workspace's last counted order, if any.
    pub async fn last_counted_order_at(&self, ws: WorkspaceId) -> Result<Option<Instant>> {
        let sql = format!("SELECT MAX(ordered_at) FROM orders WHERE workspace_id = $1 AND {}", counted_sql());
        Ok(with_pool!(self, p => sqlx::query_scalar(&sql).bind(ws.0).fetch_one(p).await?))
    }

    /// The workspace-wide global holdout, in buckets of 10,000 (0: none).
    pub async fn global_holdout(&self, ws: WorkspaceId) -> Result<u32> {
        let v: Option<i64> = with_pool!(self, p => sqlx::query_scalar("SELECT global_holdout FROM experiment_settings WHERE workspace_id = $1").bind(ws.0).fetch_optional(p).await?);
        u32::try_from(v.unwrap_or(0)).map_err(|_| Error::Corrupt("global holdout".into()))
    }

    /// Sets the global holdout to `buckets` of 10,000.
    pub async fn set_global_holdout(&self, ws: WorkspaceId, buckets: u32) -> Result<()> {
        if buckets > 10_000 {
            return Err(Error::Invalid(format!("a holdout of {buckets} buckets is more than all 10,000")));
        }
        let mut tx = Tx::write(&self.pool, EXPERIMENTS_LOCK, ws).await?;
        with_tx!(&mut tx, t => sqlx::query("INSERT INTO experiment_settings (workspace_id, global_holdout) VALUES ($1, $2) ON CONFLICT (workspace_id) DO UPDATE SET global_holdout = excluded.global_holdout")
            .bind(ws.0).bind(buckets as i64).execute(&mut **t).await?.rows_affected());
        tx.commit().await
    }
}
