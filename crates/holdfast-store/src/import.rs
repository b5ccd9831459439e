//! Imports: rows of one entity streamed into staging tables, then merged set-wise into the real
//! tables, all inside one transaction.
//!
//! Staging is the fast path each backend offers: multi-row `INSERT`s into a `TEMP` table on SQLite,
//! `COPY … FROM STDIN` on PostgreSQL. The merge is the same SQL on both: classify each staged row
//! as new / changed / unchanged by comparing its [`RowHash`] with the stored one, upsert only the
//! new and changed rows, and replace their children (order lines, consents). An unchanged file
//! therefore writes nothing to the real tables.

use crate::error::{Error, Result};
use crate::model::*;
use crate::{Pool, RowHash, Store};
use sqlx::{Postgres, Sqlite, Transaction};

/// The entities a file can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    Customers,
    Orders,
    Events,
    Subscriptions,
    Feedback,
}

impl Entity {
    pub const ALL: [Entity; 5] = [Entity::Customers, Entity::Orders, Entity::Events, Entity::Subscriptions, Entity::Feedback];

    /// The stored table, also the name used on the command line.
    pub fn table(self) -> &'static str {
        match self {
            Entity::Customers => "customers",
            Entity::Orders => "orders",
            Entity::Events => "events",
            Entity::Subscriptions => "subscriptions",
            Entity::Feedback => "feedback",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Entity::Customers => "customer_id",
            Entity::Orders => "order_id",
            Entity::Events => "event_id",
            Entity::Subscriptions => "subscription_id",
            Entity::Feedback => "feedback_id",
        }
    }

    fn stage_tables(self) -> &'static [StageTable] {
        match self {
            Entity::Customers => &[STAGE_CUSTOMERS, STAGE_CONSENTS],
            Entity::Orders => &[STAGE_ORDERS, STAGE_LINES],
            Entity::Events => &[STAGE_EVENTS],
            Entity::Subscriptions => &[STAGE_SUBSCRIPTIONS],
            Entity::Feedback => &[STAGE_FEEDBACK],
        }
    }
}

impl std::str::FromStr for Entity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Entity::ALL
            .into_iter()
            .find(|e| e.table() == s.to_ascii_lowercase())
            .ok_or_else(|| format!("{s:?} is not an entity (expected customers, orders, events, subscriptions or feedback)"))
    }
}

/// One input row of any entity.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Customer(CustomerRecord),
    Order(OrderRecord),
    Event(EventRecord),
    Subscription(SubscriptionRecord),
    Feedback(FeedbackRecord),
}

impl Record {
    pub fn entity(&self) -> Entity {
        match self {
            Record::Customer(_) => Entity::Customers,
            Record::Order(_) => Entity::Orders,
            Record::Event(_) => Entity::Events,
            Record::Subscription(_) => Entity::Subscriptions,
            Record::Feedback(_) => Entity::Feedback,
        }
    }
}

struct StageTable {
    name: &'static str,
    /// `name TYPE` pairs; the same types on both backends.
    columns: &'static [(&'static str, &'static str)],
}

const STAGE_ORDERS: StageTable = StageTable {
    name: "stage_orders",
    columns: &[("line", "BIGINT"), ("external_id", "TEXT"), ("customer", "TEXT"), ("ordered_at", "BIGINT"), ("amount", "BIGINT"), ("currency", "TEXT"), ("status", "TEXT"), ("row_hash", "BIGINT")],
};
/// Distinct customers and products of an import (see [`Import::commit`]).
const STAGE_KEYS: StageTable = StageTable { name: "stage_keys", columns: &[("kind", "BIGINT"), ("seq", "BIGINT"), ("external_id", "TEXT"), ("category", "TEXT")] };
const STAGE_LINES: StageTable = StageTable {
    name: "stage_order_lines",
    columns: &[("order_ext", "TEXT"), ("line_no", "BIGINT"), ("sku", "TEXT"), ("category", "TEXT"), ("quantity", "BIGINT"), ("amount", "BIGINT")],
};
const STAGE_CUSTOMERS: StageTable = StageTable {
    name: "stage_customers",
    columns: &[("line", "BIGINT"), ("external_id", "TEXT"), ("kind", "TEXT"), ("name", "TEXT"), ("email", "TEXT"), ("phone", "TEXT"), ("owner", "TEXT"), ("tags", "TEXT"), ("created_at", "BIGINT"), ("birthday", "TEXT"), ("row_hash", "BIGINT")],
};
const STAGE_CONSENTS: StageTable = StageTable {
    name: "stage_consents",
    columns: &[("customer_ext", "TEXT"), ("channel", "TEXT"), ("consented_at", "BIGINT"), ("unsubscribed_at", "BIGINT")],
};
const STAGE_SUBSCRIPTIONS: StageTable = StageTable {
    name: "stage_subscriptions",
    columns: &[("line", "BIGINT"), ("external_id", "TEXT"), ("customer", "TEXT"), ("plan", "TEXT"), ("mrr", "BIGINT"), ("currency", "TEXT"), ("started_at", "BIGINT"), ("ended_at", "BIGINT"), ("cancel_reason", "TEXT"), ("row_hash", "BIGINT")],
};
const STAGE_EVENTS: StageTable = StageTable {
    name: "stage_events",
    columns: &[("line", "BIGINT"), ("external_id", "TEXT"), ("customer", "TEXT"), ("kind", "TEXT"), ("occurred_at", "BIGINT"), ("properties", "TEXT"), ("row_hash", "BIGINT")],
};
const STAGE_FEEDBACK: StageTable = StageTable {
    name: "stage_feedback",
    columns: &[("line", "BIGINT"), ("external_id", "TEXT"), ("customer", "TEXT"), ("responded_at", "BIGINT"), ("score", "BIGINT"), ("survey", "TEXT"), ("comment", "TEXT"), ("touchpoint", "TEXT"), ("row_hash", "BIGINT")],
};

/// A staged value.
#[derive(Debug)]
enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

fn t(s: &str) -> Val {
    Val::Text(Some(s.to_owned()))
}
fn ot(s: Option<&String>) -> Val {
    Val::Text(s.cloned())
}
fn i(v: i64) -> Val {
    Val::Int(Some(v))
}

/// Rows staged before a flush, per backend round trip.
const FLUSH_ROWS: usize = 50_000;

pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

macro_rules! with_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            Tx::Sqlite($c) => $body,
            Tx::Postgres($c) => $body,
        }
    };
}

/// An import in progress: one transaction. Push rows with [`Import::push`], then
/// [`Import::commit`]; dropping it (or any error) rolls everything back.
pub struct Import {
    tx: Tx,
    ws: WorkspaceId,
    entity: Entity,
    /// Staged values per stage table, row-major.
    buf: Vec<Vec<Val>>,
    rows: u64,
    pg: bool,
    /// Customers named by the rows (for entities other than customers), with first-sight order.
    customers: rustc_hash::FxHashMap<String, usize>,
    /// Products of order lines, with first-sight order and the last category given.
    products: rustc_hash::FxHashMap<String, (usize, Option<String>)>,
}

impl Store {
    /// Starts importing rows of `entity` into workspace `ws`.
    pub async fn begin_import(&self, ws: WorkspaceId, entity: Entity) -> Result<Import> {
        let mut tx = match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        };
        let pg = matches!(tx, Tx::Postgres(_));
        if let Tx::Postgres(c) = &mut tx {
            // Imports into one workspace take turns (see the crate docs on concurrency).
            sqlx::query("SELECT pg_advisory_xact_lock(7261, $1)").bind(ws.0 as i32).execute(&mut **c).await?;
            // A million staged rows are sorted and hashed in memory, not in temporary files, and
            // the transaction does not wait for its WAL to reach the disk at commit (a crash
            // loses the import as a whole, never part of it).
            for set in ["SET LOCAL work_mem = '256MB'", "SET LOCAL maintenance_work_mem = '256MB'", "SET LOCAL synchronous_commit = off"] {
                sqlx::query(set).execute(&mut **c).await?;
            }
        }
        for st in entity.stage_tables().iter().chain([&STAGE_KEYS]) {
            let cols: Vec<String> = st.columns.iter().map(|(n, ty)| format!("{n} {ty}")).collect();
            let extra = if st.columns[0].0 == "line" { ", changed BIGINT NOT NULL DEFAULT 1" } else { "" };
            let create = if pg {
                format!("CREATE TEMP TABLE {} ({}{extra}) ON COMMIT DROP", st.name, cols.join(", "))
            } else {
                format!("CREATE TEMP TABLE {} ({}{extra})", st.name, cols.join(", "))
            };
            with_tx!(&mut tx, c => {
                if !pg {
                    sqlx::query(&format!("DROP TABLE IF EXISTS temp.{}", st.name)).execute(&mut **c).await?;
                }
                sqlx::query(&create).execute(&mut **c).await?;
            });
        }
        let n = entity.stage_tables().len();
        Ok(Import { tx, ws, entity, buf: (0..n).map(|_| Vec::new()).collect(), rows: 0, pg, customers: Default::default(), products: Default::default() })
    }

    /// Imports `rows` (with their source line numbers) in one transaction.
    pub async fn import(&self, ws: WorkspaceId, entity: Entity, rows: impl IntoIterator<Item = (u64, Record)>) -> Result<ImportSummary> {
        let mut imp = self.begin_import(ws, entity).await?;
        for (line, r) in rows {
            imp.push(line, &r).await?;
        }
        imp.commit().await
    }
}

fn row_err(line: u64, column: &str, message: String) -> Error {
    Error::Row { line, column: Some(column.to_owned()), message }
}

fn check_id(line: u64, column: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(row_err(line, column, "the id is empty".into()));
    }
    Ok(())
}

impl Import {
    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// Stages one row read from source line `line`.
    pub async fn push(&mut self, line: u64, rec: &Record) -> Result<()> {
        if rec.entity() != self.entity {
            return Err(Error::Invalid(format!("a {} row pushed into an import of {}", rec.entity().table(), self.entity.table())));
        }
        let l = line as i64;
        match rec {
            Record::Order(o) => {
                check_id(line, "order_id", &o.external_id)?;
                check_id(line, "customer_id", &o.customer)?;
                let mut h = RowHash::new().str(&o.customer).int(o.ordered_at).int(o.amount).str(o.currency.as_str()).str(&o.status);
                for (k, ln) in o.lines.iter().enumerate() {
                    h = h.str(&ln.sku).opt(ln.category.as_deref()).int(ln.quantity as i64).opt_int(ln.amount);
                    self.buf[1].extend([t(&o.external_id), i(k as i64), t(&ln.sku), ot(ln.category.as_ref()), i(ln.quantity as i64), Val::Int(ln.amount)]);
                }
                self.buf[0].extend([i(l), t(&o.external_id), t(&o.customer), i(o.ordered_at), i(o.amount), t(o.currency.as_str()), t(&o.status.to_ascii_lowercase()), i(h.finish())]);
            }
            Record::Customer(c) => {
                check_id(line, "customer_id", &c.external_id)?;
                let tags = serde_json::to_string(&c.tags).map_err(|e| row_err(line, "tags", e.to_string()))?;
                let mut h = RowHash::new()
                    .str(c.kind.as_str())
                    .opt(c.name.as_deref())
                    .opt(c.email.as_deref())
                    .opt(c.phone.as_deref())
                    .opt(c.owner.as_deref())
                    .str(&tags)
                    .opt_int(c.created_at);
                let birthday = c.birthday.map(|d| d.format("%Y-%m-%d").to_string());
                if let Some(b) = &birthday {
                    h = h.str(b);
                }
                let mut seen: Vec<&str> = Vec::new();
                for k in &c.consents {
                    if seen.contains(&k.channel.as_str()) {
                        return Err(row_err(line, "consent", format!("channel {:?} is given twice", k.channel)));
                    }
                    seen.push(&k.channel);
                    h = h.str(&k.channel).opt_int(k.consented_at).opt_int(k.unsubscribed_at);
                    self.buf[1].extend([t(&c.external_id), t(&k.channel), Val::Int(k.consented_at), Val::Int(k.unsubscribed_at)]);
                }
                self.buf[0].extend([
                    i(l),
                    t(&c.external_id),
                    t(c.kind.as_str()),
                    ot(c.name.as_ref()),
                    ot(c.email.as_ref()),
                    ot(c.phone.as_ref()),
                    ot(c.owner.as_ref()),
                    Val::Text(Some(tags)),
                    Val::Int(c.created_at),
                    Val::Text(birthday),
                    i(h.finish()),
                ]);
            }
            Record::Subscription(s) => {
                check_id(line, "subscription_id", &s.external_id)?;
                check_id(line, "customer_id", &s.customer)?;
                if let Some(e) = s.ended_at {
                    if e < s.started_at {
                        return Err(row_err(line, "ended_at", "the subscription ends before it starts".into()));
                    }
                }
                let h = RowHash::new()
                    .str(&s.customer)
                    .str(&s.plan)
                    .int(s.mrr)
                    .str(s.currency.as_str())
                    .int(s.started_at)
                    .opt_int(s.ended_at)
                    .opt(s.cancel_reason.as_deref());
                self.buf[0].extend([
                    i(l),
                    t(&s.external_id),
                    t(&s.customer),
                    t(&s.plan),
                    i(s.mrr),
                    t(s.currency.as_str()),
                    i(s.started_at),
                    Val::Int(s.ended_at),
                    ot(s.cancel_reason.as_ref()),
                    i(h.finish()),
                ]);
            }
            Record::Event(e) => {
                check_id(line, "event_id", &e.external_id)?;
                check_id(line, "customer_id", &e.customer)?;
                if !e.properties.is_object() {
                    return Err(row_err(line, "properties", "the properties must be a JSON object".into()));
                }
                let props = e.properties.to_string();
                let h = RowHash::new().str(&e.customer).str(&e.kind).int(e.occurred_at).str(&props);
                self.buf[0].extend([i(l), t(&e.external_id), t(&e.customer), t(&e.kind), i(e.occurred_at), Val::Text(Some(props)), i(h.finish())]);
            }
            Record::Feedback(f) => {
                check_id(line, "feedback_id", &f.external_id)?;
                check_id(line, "customer_id", &f.customer)?;
                if let Some(s) = f.score {
                    if s > 10 {
                        return Err(row_err(line, "score", format!("{s} is not an NPS score (expected 0 to 10)")));
                    }
                }
                let score = f.score.map(i64::from);
                let h = RowHash::new()
                    .str(&f.customer)
                    .int(f.responded_at)
                    .opt_int(score)
                    .opt(f.survey.as_deref())
                    .opt(f.comment.as_deref())
                    .opt(f.touchpoint.as_deref());
                self.buf[0].extend([
                    i(l),
                    t(&f.external_id),
                    t(&f.customer),
                    i(f.responded_at),
                    Val::Int(score),
                    ot(f.survey.as_ref()),
                    ot(f.comment.as_ref()),
                    ot(f.touchpoint.as_ref()),
                    i(h.finish()),
                ]);
            }
        }
        let customer = match rec {
            Record::Order(o) => Some(&o.customer),
            Record::Event(e) => Some(&e.customer),
            Record::Subscription(s) => Some(&s.customer),
            Record::Feedback(f) => Some(&f.customer),
            Record::Customer(_) => None,
        };
        if let Some(c) = customer {
            if !self.customers.contains_key(c.as_str()) {
                let n = self.customers.len();
                self.customers.insert(c.clone(), n);
            }
        }
        if let Record::Order(o) = rec {
            for ln in &o.lines {
                match self.products.get_mut(ln.sku.as_str()) {
                    Some(p) => {
                        if ln.category.is_some() {
                            p.1.clone_from(&ln.category);
                        }
                    }
                    None => {
                        let n = self.products.len();
                        self.products.insert(ln.sku.clone(), (n, ln.category.clone()));
                    }
                }
            }
        }
        self.rows += 1;
        let ncols = self.entity.stage_tables()[0].columns.len();
        if self.buf[0].len() / ncols >= FLUSH_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let t0 = std::time::Instant::now();
        let trace = std::env::var_os("HOLDFAST_TRACE_IMPORT").is_some();
        for (k, st) in self.entity.stage_tables().iter().enumerate() {
            let vals = std::mem::take(&mut self.buf[k]);
            if vals.is_empty() {
                continue;
            }
            match &mut self.tx {
                Tx::Sqlite(c) => stage_sqlite(c, st, vals).await?,
                Tx::Postgres(c) => stage_pg(c, st, vals).await?,
            }
        }
        if trace {
            eprintln!("staged up to row {} in {:.3} s", self.rows, t0.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Merges the staged rows into the store and commits.
    pub async fn commit(mut self) -> Result<ImportSummary> {
        self.flush().await?;
        // The distinct customers (kind 0) and products (kind 1) seen, in order of first sight.
        let mut keys: Vec<Val> = Vec::with_capacity((self.customers.len() + self.products.len()) * 4);
        let mut customers: Vec<(String, usize)> = std::mem::take(&mut self.customers).into_iter().collect();
        customers.sort_by_key(|c| c.1);
        for (k, seq) in customers {
            keys.extend([i(0), i(seq as i64), Val::Text(Some(k)), Val::Text(None)]);
        }
        let mut products: Vec<(String, (usize, Option<String>))> = std::mem::take(&mut self.products).into_iter().collect();
        products.sort_by_key(|p| p.1 .0);
        for (k, (seq, cat)) in products {
            keys.extend([i(1), i(seq as i64), Val::Text(Some(k)), Val::Text(cat)]);
        }
        if !keys.is_empty() {
            match &mut self.tx {
                Tx::Sqlite(c) => stage_sqlite(c, &STAGE_KEYS, keys).await?,
                Tx::Postgres(c) => stage_pg(c, &STAGE_KEYS, keys).await?,
            }
        }
        let main = self.entity.stage_tables()[0].name;
        // Duplicate ids within one import are an error naming both lines.
        let idx = format!("CREATE UNIQUE INDEX {main}_ext ON {main} (external_id)");
        let made = with_tx!(&mut self.tx, c => {
            sqlx::query("SAVEPOINT stage_index").execute(&mut **c).await?;
            sqlx::query(&idx).execute(&mut **c).await.map(|_| ())
        });
        if made.is_err() {
            let q = format!("SELECT external_id, MIN(line), MAX(line) FROM {main} GROUP BY external_id HAVING COUNT(*) > 1 ORDER BY MIN(line) LIMIT 1");
            let row: Option<(String, i64, i64)> = with_tx!(&mut self.tx, c => {
                sqlx::query("ROLLBACK TO SAVEPOINT stage_index").execute(&mut **c).await?;
                sqlx::query_as(&q).fetch_optional(&mut **c).await?
            });
            return match row {
                Some((id, first, second)) => {
                    Err(row_err(second as u64, self.entity.id_column(), format!("{id:?} already appeared on line {first}; ids must be unique within a file")))
                }
                None => Err(made.err().map(Error::Db).unwrap_or_else(|| Error::Corrupt("staging index".into()))),
            };
        }
        let ws = self.ws.0;
        let json = |col: &str| if self.pg { format!("CAST({col} AS JSONB)") } else { col.to_owned() };
        let table = self.entity.table();
        let mut steps: Vec<String> = Vec::new();
        if self.entity != Entity::Customers {
            steps.push("INSERT INTO customers (workspace_id, external_id) SELECT $1, external_id FROM stage_keys WHERE kind = 0 ORDER BY seq ON CONFLICT (workspace_id, external_id) DO NOTHING".into());
        }
        if self.entity == Entity::Orders {
            steps.push("INSERT INTO products (workspace_id, sku, name, category) SELECT $1, external_id, external_id, category FROM stage_keys WHERE kind = 1 ORDER BY seq \
                ON CONFLICT (workspace_id, sku) DO UPDATE SET category = excluded.category WHERE excluded.category IS NOT NULL AND products.category IS DISTINCT FROM excluded.category".into());
        }
        if self.pg {
            // Temporary tables are never analysed automatically; without statistics the planner
            // picks nested loops over a million rows.
            for st in self.entity.stage_tables().iter().chain([&STAGE_KEYS]) {
                steps.push(format!("ANALYZE {}", st.name));
            }
        }
        // 0 = unchanged, 1 = new (the default), 2 = changed.
        steps.push(format!(
            "UPDATE {main} SET changed = CASE WHEN t.row_hash = {main}.row_hash THEN 0 ELSE 2 END FROM {table} t WHERE t.workspace_id = $1 AND t.external_id = {main}.external_id"
        ));
        match self.entity {
            Entity::Orders => {
                steps.push("DELETE FROM order_lines WHERE order_id IN (SELECT o.id FROM stage_orders s JOIN orders o ON o.workspace_id = $1 AND o.external_id = s.external_id WHERE s.changed = 2)".into());
                if self.pg {
                    // New rows (changed = 1 is known not to exist: imports of a workspace take
                    // turns) go in with a plain INSERT, changed ones with an UPDATE; their ids come
                    // back with RETURNING and meet their lines in one hash join, instead of a
                    // speculative insert and an index probe into orders per row.
                    steps.push("WITH ins AS (INSERT INTO orders (workspace_id, external_id, customer_id, ordered_at, amount, currency, status, row_hash) \
                        SELECT $1, s.external_id, c.id, s.ordered_at, s.amount, s.currency, s.status, s.row_hash FROM stage_orders s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.customer \
                        WHERE s.changed = 1 ORDER BY s.line RETURNING id, external_id), \
                        upd AS (UPDATE orders SET customer_id = c.id, ordered_at = s.ordered_at, amount = s.amount, currency = s.currency, status = s.status, row_hash = s.row_hash \
                        FROM stage_orders s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.customer \
                        WHERE s.changed = 2 AND orders.workspace_id = $1 AND orders.external_id = s.external_id RETURNING orders.id, orders.external_id), \
                        touched AS (SELECT id, external_id FROM ins UNION ALL SELECT id, external_id FROM upd) \
                        INSERT INTO order_lines (order_id, line_no, product_id, quantity, amount) \
                        SELECT t.id, l.line_no, p.id, l.quantity, l.amount FROM touched t JOIN stage_order_lines l ON l.order_ext = t.external_id \
                        LEFT JOIN products p ON p.workspace_id = $1 AND p.sku = l.sku".into());
                } else {
                    // Rows go in file order (ids follow it) by scanning the staged rows in
                    // insertion order (CROSS JOIN fixes the loop order, no sort).
                    steps.push("INSERT INTO orders (workspace_id, external_id, customer_id, ordered_at, amount, currency, status, row_hash) \
                        SELECT $1, s.external_id, c.id, s.ordered_at, s.amount, s.currency, s.status, s.row_hash FROM stage_orders s CROSS JOIN customers c \
                        WHERE c.workspace_id = $1 AND c.external_id = s.customer AND s.changed <> 0 \
                        ON CONFLICT (workspace_id, external_id) DO UPDATE SET customer_id = excluded.customer_id, ordered_at = excluded.ordered_at, amount = excluded.amount, currency = excluded.currency, status = excluded.status, row_hash = excluded.row_hash".into());
                    // CROSS JOIN fixes SQLite's join order (staged rows drive; it has no statistics on them).
                    steps.push("CREATE INDEX stage_order_lines_ext ON stage_order_lines (order_ext)".into());
                    steps.push("INSERT INTO order_lines (order_id, line_no, product_id, quantity, amount) \
                        SELECT o.id, l.line_no, p.id, l.quantity, l.amount FROM stage_orders s CROSS JOIN orders o CROSS JOIN stage_order_lines l \
                        LEFT JOIN products p ON p.workspace_id = $1 AND p.sku = l.sku \
                        WHERE s.changed <> 0 AND o.workspace_id = $1 AND o.external_id = s.external_id AND l.order_ext = s.external_id".into());
                }
            }
            Entity::Customers => {
                steps.push(format!("INSERT INTO customers (workspace_id, external_id, kind, name, email, phone, owner, tags, created_at, row_hash) \
                    SELECT $1, s.external_id, s.kind, s.name, s.email, s.phone, s.owner, {}, s.created_at, s.row_hash FROM stage_customers s WHERE s.changed <> 0 ORDER BY s.line \
                    ON CONFLICT (workspace_id, external_id) DO UPDATE SET kind = excluded.kind, name = excluded.name, email = excluded.email, phone = excluded.phone, owner = excluded.owner, tags = excluded.tags, created_at = excluded.created_at, row_hash = excluded.row_hash", json("s.tags")));
                steps.push("DELETE FROM customer_consents WHERE customer_id IN (SELECT c.id FROM stage_customers s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.external_id WHERE s.changed <> 0)".into());
                steps.push("INSERT INTO customer_consents (customer_id, channel, consented_at, unsubscribed_at) \
                    SELECT c.id, k.channel, k.consented_at, k.unsubscribed_at FROM stage_consents k JOIN stage_customers s ON s.external_id = k.customer_ext JOIN customers c ON c.workspace_id = $1 AND c.external_id = k.customer_ext WHERE s.changed <> 0".into());
                // The birthday column is the customer's yearly birthday date.
                steps.push("DELETE FROM important_dates WHERE kind = 'birthday' AND customer_id IN (SELECT c.id FROM stage_customers s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.external_id WHERE s.changed <> 0)".into());
                steps.push("INSERT INTO important_dates (customer_id, kind, label, on_date, yearly) \
                    SELECT c.id, 'birthday', NULL, s.birthday, TRUE FROM stage_customers s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.external_id WHERE s.changed <> 0 AND s.birthday IS NOT NULL ORDER BY s.line".into());
            }
            Entity::Subscriptions => {
                steps.push("INSERT INTO subscriptions (workspace_id, external_id, customer_id, plan, mrr, currency, started_at, ended_at, cancel_reason, row_hash) \
                    SELECT $1, s.external_id, c.id, s.plan, s.mrr, s.currency, s.started_at, s.ended_at, s.cancel_reason, s.row_hash FROM stage_subscriptions s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.customer WHERE s.changed <> 0 ORDER BY s.line \
                    ON CONFLICT (workspace_id, external_id) DO UPDATE SET customer_id = excluded.customer_id, plan = excluded.plan, mrr = excluded.mrr, currency = excluded.currency, started_at = excluded.started_at, ended_at = excluded.ended_at, cancel_reason = excluded.cancel_reason, row_hash = excluded.row_hash".into());
            }
            Entity::Events => {
                steps.push(format!("INSERT INTO events (workspace_id, external_id, customer_id, kind, occurred_at, properties, row_hash) \
                    SELECT $1, s.external_id, c.id, s.kind, s.occurred_at, {}, s.row_hash FROM stage_events s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.customer WHERE s.changed <> 0 ORDER BY s.line \
                    ON CONFLICT (workspace_id, external_id) DO UPDATE SET customer_id = excluded.customer_id, kind = excluded.kind, occurred_at = excluded.occurred_at, properties = excluded.properties, row_hash = excluded.row_hash", json("s.properties")));
            }
            Entity::Feedback => {
                steps.push("INSERT INTO feedback (workspace_id, external_id, customer_id, responded_at, score, survey, comment, touchpoint, row_hash) \
                    SELECT $1, s.external_id, c.id, s.responded_at, s.score, s.survey, s.comment, s.touchpoint, s.row_hash FROM stage_feedback s JOIN customers c ON c.workspace_id = $1 AND c.external_id = s.customer WHERE s.changed <> 0 ORDER BY s.line \
                    ON CONFLICT (workspace_id, external_id) DO UPDATE SET customer_id = excluded.customer_id, responded_at = excluded.responded_at, score = excluded.score, survey = excluded.survey, comment = excluded.comment, touchpoint = excluded.touchpoint, row_hash = excluded.row_hash".into());
            }
        }
        let trace = std::env::var_os("HOLDFAST_TRACE_IMPORT").is_some();
        for (k, sql) in steps.iter().enumerate() {
            let t0 = std::time::Instant::now();
            let r = with_tx!(&mut self.tx, c => {
                let q = sqlx::query(sql);
                let q = if sql.contains("$1") { q.bind(ws) } else { q };
                q.execute(&mut **c).await.map(|_| ())
            });
            r.map_err(|e| Error::Invalid(format!("merging the staged {} failed at step {}: {e}", table, k + 1)))?;
            if trace {
                eprintln!("merge step {} took {:.3} s: {}", k + 1, t0.elapsed().as_secs_f64(), &sql[..sql.len().min(90)]);
            }
        }
        let counts: Vec<(i64, i64)> = with_tx!(&mut self.tx, c => sqlx::query_as(&format!("SELECT changed, COUNT(*) FROM {main} GROUP BY changed")).fetch_all(&mut **c).await?);
        let mut sum = ImportSummary::default();
        for (k, n) in counts {
            match k {
                0 => sum.unchanged = n as u64,
                1 => sum.inserted = n as u64,
                _ => sum.updated = n as u64,
            }
        }
        match self.tx {
            Tx::Sqlite(mut c) => {
                for st in self.entity.stage_tables().iter().chain([&STAGE_KEYS]) {
                    sqlx::query(&format!("DROP TABLE temp.{}", st.name)).execute(&mut *c).await?;
                }
                c.commit().await?
            }
            Tx::Postgres(c) => c.commit().await?,
        }
        Ok(sum)
    }
}

/// Multi-row `INSERT`s, as many rows per statement as SQLite's parameter limit allows.
async fn stage_sqlite(c: &mut Transaction<'static, Sqlite>, st: &StageTable, vals: Vec<Val>) -> Result<()> {
    let ncols = st.columns.len();
    let per_stmt = (30_000 / ncols).min(1000);
    let names: Vec<&str> = st.columns.iter().map(|c| c.0).collect();
    let head = format!("INSERT INTO temp.{} ({}) VALUES ", st.name, names.join(", "));
    let mut it = vals.into_iter().peekable();
    let mut full_sql: Option<String> = None;
    while it.peek().is_some() {
        let chunk: Vec<Val> = it.by_ref().take(per_stmt * ncols).collect();
        let nrows = chunk.len() / ncols;
        let sql_owned;
        let sql: &str = if nrows == per_stmt {
            full_sql.get_or_insert_with(|| values_sql(&head, ncols, per_stmt))
        } else {
            sql_owned = values_sql(&head, ncols, nrows);
            &sql_owned
        };
        let mut q = sqlx::query(sql);
        for v in chunk {
            q = match v {
                Val::Int(x) => q.bind(x),
                Val::Text(x) => q.bind(x),
            };
        }
        q.execute(&mut **c).await?;
    }
    Ok(())
}

fn values_sql(head: &str, ncols: usize, nrows: usize) -> String {
    let mut s = String::with_capacity(head.len() + nrows * (ncols * 7 + 3));
    s.push_str(head);
    for r in 0..nrows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for k in 0..ncols {
            if k > 0 {
                s.push(',');
            }
            // Anonymous `?` parameters: SQLite looks named ones (`$1`) up by name while parsing.
            s.push('?');
        }
        s.push(')');
    }
    s
}

/// `COPY … FROM STDIN` in PostgreSQL's text format.
async fn stage_pg(c: &mut Transaction<'static, Postgres>, st: &StageTable, vals: Vec<Val>) -> Result<()> {
    let ncols = st.columns.len();
    let names: Vec<&str> = st.columns.iter().map(|c| c.0).collect();
    let mut copy = c.copy_in_raw(&format!("COPY {} ({}) FROM STDIN", st.name, names.join(", "))).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    for (k, v) in vals.into_iter().enumerate() {
        if k % ncols != 0 {
            buf.push(b'\t');
        }
        match v {
            Val::Int(Some(x)) => buf.extend_from_slice(x.to_string().as_bytes()),
            Val::Text(Some(s)) => copy_escape(&s, &mut buf),
            Val::Int(None) | Val::Text(None) => buf.extend_from_slice(b"\\N"),
        }
        if k % ncols == ncols - 1 {
            buf.push(b'\n');
            if buf.len() > (1 << 20) {
                copy.send(std::mem::take(&mut buf)).await?;
                buf.reserve(1 << 20);
            }
        }
    }
    if !buf.is_empty() {
        copy.send(buf).await?;
    }
    copy.finish().await?;
    Ok(())
}

fn copy_escape(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}
