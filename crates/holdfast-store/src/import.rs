//! Imports: rows of one entity written straight into the real tables, all inside one transaction.
//!
//! When an import starts it reads, in bulk, what it must compare against: the external ids, ids
//! and row hashes of the entity's stored rows, the workspace's customers (and products, for
//! orders). Each pushed row is then classified in memory as new, changed (its [`RowHash`] differs
//! from the stored one) or unchanged, and given its database id at once ([`IdAlloc`]): customers
//! and products it names that do not exist yet get theirs too. Rows are buffered and written in
//! bulk ([`write_rows`]: multi-row `INSERT` on SQLite, `COPY … FROM STDIN` on PostgreSQL) —
//! parents, then rows, then children, with the ids already known, so no join and no per-row round
//! trip. Changed rows go through a staging table and one `UPDATE … FROM`, and their children
//! (order lines, consents, a birthday) are replaced. An unchanged file writes nothing.

use crate::bulk::{scan, write_rows, IdAlloc, RowBuf};
use crate::error::{Error, Result};
use crate::model::*;
use crate::tx::{with_tx, Tx, IMPORT_LOCK};
use crate::{Pool, RowHash, Store};
use rustc_hash::FxHashMap;

/// The entities a file can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    Customers,
    Orders,
    Events,
    Subscriptions,
    Feedback,
    Notes,
    Dates,
    Contacts,
    Interactions,
}

impl Entity {
    pub const ALL: [Entity; 9] = [
        Entity::Customers,
        Entity::Orders,
        Entity::Events,
        Entity::Subscriptions,
        Entity::Feedback,
        Entity::Notes,
        Entity::Dates,
        Entity::Contacts,
        Entity::Interactions,
    ];

    /// The name used on the command line (`holdfast import dates FILE`).
    pub fn name(self) -> &'static str {
        match self {
            Entity::Dates => "dates",
            e => e.table(),
        }
    }

    /// The stored table.
    pub fn table(self) -> &'static str {
        match self {
            Entity::Customers => "customers",
            Entity::Orders => "orders",
            Entity::Events => "events",
            Entity::Subscriptions => "subscriptions",
            Entity::Feedback => "feedback",
            Entity::Notes => "notes",
            Entity::Dates => "important_dates",
            Entity::Contacts => "contacts",
            Entity::Interactions => "interactions",
        }
    }

    /// The id column of the entity's files.
    pub fn id_column(self) -> &'static str {
        match self {
            Entity::Customers => "customer_id",
            Entity::Orders => "order_id",
            Entity::Events => "event_id",
            Entity::Subscriptions => "subscription_id",
            Entity::Feedback => "feedback_id",
            Entity::Notes => "note_id",
            Entity::Dates => "date_id",
            Entity::Contacts => "contact_id",
            Entity::Interactions => "interaction_id",
        }
    }

    /// The prefix of external ids given to records entered by hand (`~note:17`).
    fn generated_prefix(self) -> &'static str {
        match self {
            Entity::Notes => "note",
            Entity::Dates => "date",
            Entity::Contacts => "contact",
            Entity::Interactions => "interaction",
            e => e.name(),
        }
    }

    /// The columns an import writes, in the order rows are buffered: `id`, `workspace_id`,
    /// `external_id`, then the entity's own (`customer_id` first for all but customers), `row_hash`.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Entity::Customers => &["id", "workspace_id", "external_id", "kind", "name", "email", "phone", "owner", "tags", "created_at", "row_hash"],
            Entity::Orders => &["id", "workspace_id", "external_id", "customer_id", "ordered_at", "amount", "currency", "status", "row_hash"],
            Entity::Events => &["id", "workspace_id", "external_id", "customer_id", "kind", "occurred_at", "properties", "row_hash"],
            Entity::Subscriptions => {
                &["id", "workspace_id", "external_id", "customer_id", "plan", "mrr", "currency", "started_at", "ended_at", "cancel_reason", "row_hash"]
            }
            Entity::Feedback => &["id", "workspace_id", "external_id", "customer_id", "responded_at", "score", "survey", "comment", "touchpoint", "row_hash"],
            Entity::Notes => &[
                "id",
                "workspace_id",
                "external_id",
                "customer_id",
                "body",
                "pain_points",
                "goals",
                "preferred_channel",
                "preferred_time",
                "communication_style",
                "author",
                "created_at",
                "row_hash",
            ],
            Entity::Dates => DATE_COLUMNS,
            Entity::Contacts => &["id", "workspace_id", "external_id", "customer_id", "name", "role", "email", "phone", "row_hash"],
            Entity::Interactions => &["id", "workspace_id", "external_id", "customer_id", "kind", "occurred_at", "with_whom", "by_whom", "summary", "row_hash"],
        }
    }

    /// Child tables whose rows belong to a row of the entity, with the statement that removes the
    /// children of the changed rows (staged in `{stage}`).
    fn children(self) -> &'static [Child] {
        match self {
            Entity::Customers => &[CONSENTS, BIRTHDAYS],
            Entity::Orders => &[LINES],
            _ => &[],
        }
    }
}

const DATE_COLUMNS: &[&str] = &["id", "workspace_id", "external_id", "customer_id", "kind", "label", "on_date", "yearly", "row_hash"];

struct Child {
    table: &'static str,
    columns: &'static [&'static str],
    /// Deletes the children of the rows whose ids are in the staging table `{stage}`.
    delete: &'static str,
}

const LINES: Child = Child {
    table: "order_lines",
    columns: &["order_id", "line_no", "product_id", "quantity", "amount"],
    delete: "DELETE FROM order_lines WHERE order_id IN (SELECT id FROM {stage})",
};
const CONSENTS: Child = Child {
    table: "customer_consents",
    columns: &["customer_id", "channel", "granted", "consented_at", "unsubscribed_at"],
    delete: "DELETE FROM customer_consents WHERE customer_id IN (SELECT id FROM {stage})",
};
/// A customer's birthday from a customers file: an important date with external id
/// [`BIRTHDAY_PREFIX`] + the customer's id, owned by the customer row.
const BIRTHDAYS: Child = Child {
    table: "important_dates",
    columns: DATE_COLUMNS,
    delete: "DELETE FROM important_dates WHERE customer_id IN (SELECT id FROM {stage}) AND substr(external_id, 1, 10) = '~birthday:'",
};

/// The staging table of a customers import's unsubscribes, put back after the file's consents.
const KEEP_UNSUBSCRIBED: &str = "stage_keep_unsubscribed";

/// External id prefix of birthdays read from a customers file.
pub const BIRTHDAY_PREFIX: &str = "~birthday:";

impl std::str::FromStr for Entity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        Entity::ALL.into_iter().find(|e| e.name() == s || e.table() == s).ok_or_else(|| {
            format!("{s:?} is not an entity (expected customers, orders, events, subscriptions, feedback, notes, dates, contacts or interactions)")
        })
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
    Note(Note),
    Date(ImportantDate),
    Contact(Contact),
    Interaction(Interaction),
}

impl Record {
    pub fn entity(&self) -> Entity {
        match self {
            Record::Customer(_) => Entity::Customers,
            Record::Order(_) => Entity::Orders,
            Record::Event(_) => Entity::Events,
            Record::Subscription(_) => Entity::Subscriptions,
            Record::Feedback(_) => Entity::Feedback,
            Record::Note(_) => Entity::Notes,
            Record::Date(_) => Entity::Dates,
            Record::Contact(_) => Entity::Contacts,
            Record::Interaction(_) => Entity::Interactions,
        }
    }

    fn external_id(&self) -> &str {
        match self {
            Record::Customer(r) => &r.external_id,
            Record::Order(r) => &r.external_id,
            Record::Event(r) => &r.external_id,
            Record::Subscription(r) => &r.external_id,
            Record::Feedback(r) => &r.external_id,
            Record::Note(r) => &r.external_id,
            Record::Date(r) => &r.external_id,
            Record::Contact(r) => &r.external_id,
            Record::Interaction(r) => &r.external_id,
        }
    }

    /// The customer a row belongs to (none for a customer row itself).
    fn customer(&self) -> Option<&str> {
        match self {
            Record::Customer(_) => None,
            Record::Order(r) => Some(&r.customer),
            Record::Event(r) => Some(&r.customer),
            Record::Subscription(r) => Some(&r.customer),
            Record::Feedback(r) => Some(&r.customer),
            Record::Note(r) => Some(&r.customer),
            Record::Date(r) => Some(&r.customer),
            Record::Contact(r) => Some(&r.customer),
            Record::Interaction(r) => Some(&r.customer),
        }
    }
}

/// Rows buffered before they are written.
const FLUSH_ROWS: usize = 50_000;

/// A stored row of the imported entity: its id, its hash, and the source line that named it in
/// this import (0 = not yet).
#[derive(Clone, Copy)]
struct Known {
    id: i64,
    hash: i64,
    line: u64,
}

/// A product of the workspace and whether its row must be written.
struct Product {
    id: i64,
    category: Option<Box<str>>,
    state: ProductState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProductState {
    Stored,
    New,
    CategoryChanged,
}

/// Rows of one flush, on their way to the writer.
struct Batch {
    /// Customers first named by this import: id, workspace, external id.
    new_customers: RowBuf,
    /// Products first named: id, workspace, SKU, name, category.
    new_products: RowBuf,
    /// Stored products whose category changed.
    recategorised: Vec<(i64, Option<Box<str>>)>,
    new_rows: RowBuf,
    changed_rows: RowBuf,
    /// Children of new and changed rows, one buffer per child table.
    children: Vec<RowBuf>,
}

impl Batch {
    fn new(entity: Entity) -> Batch {
        let ncols = entity.columns().len();
        Batch {
            new_customers: RowBuf::new(3),
            new_products: RowBuf::new(5),
            recategorised: Vec::new(),
            new_rows: RowBuf::new(ncols),
            changed_rows: RowBuf::new(ncols),
            children: entity.children().iter().map(|c| RowBuf::new(c.columns.len())).collect(),
        }
    }

    fn rows(&self) -> usize {
        self.new_rows.rows() + self.changed_rows.rows()
    }

    fn clear(&mut self) {
        self.new_customers.clear();
        self.new_products.clear();
        self.recategorised.clear();
        self.new_rows.clear();
        self.changed_rows.clear();
        for c in &mut self.children {
            c.clear();
        }
    }
}

/// An import in progress: one transaction. Push rows with [`Import::push`], then
/// [`Import::commit`]; dropping it (or any error) rolls everything back.
///
/// Reading and classifying rows (here) and writing them (a task that owns the transaction) run at
/// the same time: full batches go to the writer through a channel of one, and come back empty to
/// be filled again.
pub struct Import {
    ws: WorkspaceId,
    entity: Entity,
    rows: u64,
    summary: ImportSummary,
    /// The stored rows of the entity by external id (for customers, also the customer index).
    known: FxHashMap<Box<str>, Known>,
    /// The workspace's customers by external id (entities other than customers).
    customers: FxHashMap<Box<str>, i64>,
    /// The workspace's products by SKU (orders).
    products: FxHashMap<Box<str>, Product>,
    ids: IdAlloc,
    customer_ids: IdAlloc,
    product_ids: IdAlloc,
    date_ids: IdAlloc,
    batch: Batch,
    to_writer: Option<tokio::sync::mpsc::Sender<Batch>>,
    returned: tokio::sync::mpsc::Receiver<Batch>,
    writer: Option<tokio::task::JoinHandle<Result<Writer>>>,
    /// Rows without an external id get `~{kind}:{id}` (records entered by hand).
    generate_ids: bool,
}

/// The writing side of an import: owns the transaction.
struct Writer {
    tx: Tx,
    ws: WorkspaceId,
    entity: Entity,
    /// The staging table of changed rows exists.
    staged: bool,
    /// Whether the staging table of kept unsubscribes exists (customers imports).
    keeping: bool,
    /// The first batch was written.
    started: bool,
    /// The index dropped for a bulk load, recreated at the end.
    rebuild: Option<&'static str>,
    /// Seconds spent writing each table, printed at commit with `HOLDFAST_TRACE_IMPORT=1`.
    spent: Vec<(&'static str, f64)>,
}

impl Store {
    /// Starts importing rows of `entity` into workspace `ws`: opens the transaction (waiting for
    /// any other import into the workspace) and reads the stored rows to compare against.
    pub async fn begin_import(&self, ws: WorkspaceId, entity: Entity) -> Result<Import> {
        // Imports into one workspace take turns (see the crate docs on concurrency).
        let mut tx = Tx::write(&self.pool, IMPORT_LOCK, ws).await?;
        tx.exec(tx.dialect().import_setup).await?;
        let w = ws.0;
        let mut known = FxHashMap::default();
        scan(tx.conn(), &format!("SELECT external_id, id, row_hash FROM {} WHERE workspace_id = {w}", entity.table()), |r| {
            known.insert(r.text_req(0)?.into(), Known { id: r.int_req(1)?, hash: r.int_req(2)?, line: 0 });
            Ok(())
        })
        .await?;
        let mut customers = FxHashMap::default();
        if entity != Entity::Customers {
            scan(tx.conn(), &format!("SELECT external_id, id FROM customers WHERE workspace_id = {w}"), |r| {
                customers.insert(r.text_req(0)?.into(), r.int_req(1)?);
                Ok(())
            })
            .await?;
        }
        let mut products = FxHashMap::default();
        if entity == Entity::Orders {
            scan(tx.conn(), &format!("SELECT sku, id, category FROM products WHERE workspace_id = {w}"), |r| {
                let category = r.text(2)?.map(|c| c.as_ref().into());
                products.insert(r.text_req(0)?.into(), Product { id: r.int_req(1)?, category, state: ProductState::Stored });
                Ok(())
            })
            .await?;
        }
        let (ids, customer_ids, product_ids, date_ids) = match (&mut tx, &self.pool) {
            (Tx::Sqlite(c), _) => (
                IdAlloc::sqlite(c, entity.table()).await?,
                IdAlloc::sqlite(c, "customers").await?,
                IdAlloc::sqlite(c, "products").await?,
                IdAlloc::sqlite(c, "important_dates").await?,
            ),
            (Tx::Postgres(_), Pool::Postgres(p)) => (
                IdAlloc::postgres(p.clone(), entity.table()),
                IdAlloc::postgres(p.clone(), "customers"),
                IdAlloc::postgres(p.clone(), "products"),
                IdAlloc::postgres(p.clone(), "important_dates"),
            ),
            _ => return Err(Error::Corrupt("a transaction of one backend on a pool of the other".into())),
        };
        let (to_writer, mut batches) = tokio::sync::mpsc::channel::<Batch>(1);
        let (give_back, returned) = tokio::sync::mpsc::channel::<Batch>(2);
        let mut w = Writer { tx, ws, entity, staged: false, keeping: false, started: false, rebuild: None, spent: Vec::new() };
        let writer = tokio::spawn(async move {
            while let Some(mut b) = batches.recv().await {
                w.write(&b).await?;
                b.clear();
                let _ = give_back.try_send(b);
            }
            Ok(w)
        });
        Ok(Import {
            ws,
            entity,
            rows: 0,
            summary: ImportSummary::default(),
            known,
            customers,
            products,
            ids,
            customer_ids,
            product_ids,
            date_ids,
            batch: Batch::new(entity),
            to_writer: Some(to_writer),
            returned,
            writer: Some(writer),
            generate_ids: false,
        })
    }

    /// Records one note, important date, contact or interaction entered by hand for an existing
    /// customer, and returns its external id (`~note:17`, … when the record has none).
    pub async fn add_record(&self, ws: WorkspaceId, rec: Record) -> Result<String> {
        let entity = rec.entity();
        if !matches!(entity, Entity::Notes | Entity::Dates | Entity::Contacts | Entity::Interactions) {
            return Err(Error::Invalid(format!("{} are imported from files, not added one by one", entity.name())));
        }
        let customer = rec.customer().unwrap_or_default().to_owned();
        let known: Option<i64> = crate::with_pool!(self, p => sqlx::query_scalar("SELECT id FROM customers WHERE workspace_id = $1 AND external_id = $2").bind(ws.0).bind(&customer).fetch_optional(p).await?);
        if known.is_none() {
            return Err(Error::NotFound { what: format!("customer {customer:?}") });
        }
        let mut imp = self.begin_import(ws, entity).await?;
        imp.generate_ids = true;
        // Errors name a field, not a line of a file.
        let plain = |e: Error| match e {
            Error::Row { column, message, .. } => Error::Invalid(match column {
                Some(c) => format!("{c}: {message}"),
                None => message,
            }),
            e => e,
        };
        let key = imp.push_row(0, &rec).await.map_err(plain)?;
        imp.commit().await?;
        Ok(key.unwrap_or_default())
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

/// Checks a row and computes its hash over everything stored from it.
fn validate(line: u64, rec: &Record) -> Result<RowHash> {
    Ok(match rec {
        Record::Order(o) => {
            let mut h = RowHash::new().str(&o.customer).int(o.ordered_at).int(o.amount).str(o.currency.as_str()).str(o.status.as_str());
            for ln in &o.lines {
                h = h.str(&ln.sku).opt(ln.category.as_deref()).int(ln.quantity as i64).opt_int(ln.amount);
            }
            h
        }
        Record::Customer(c) => {
            let mut h = RowHash::new()
                .str(c.kind.as_str())
                .opt(c.name.as_deref())
                .opt(c.email.as_deref())
                .opt(c.phone.as_deref())
                .opt(c.owner.as_deref())
                .int(c.tags.len() as i64)
                .opt_int(c.created_at)
                .opt(c.birthday.map(|d| d.to_string()).as_deref());
            for t in &c.tags {
                h = h.str(t);
            }
            for (k, x) in c.consents.iter().enumerate() {
                if x.channel.trim().is_empty() {
                    return Err(row_err(line, "consent", "a consent names no channel".into()));
                }
                if c.consents[..k].iter().any(|y| y.channel == x.channel) {
                    return Err(row_err(line, "consent", format!("channel {:?} is given twice", x.channel)));
                }
                h = h.str(&x.channel).int(x.granted as i64).opt_int(x.consented_at).opt_int(x.unsubscribed_at);
            }
            h
        }
        Record::Subscription(s) => {
            if let Some(e) = s.ended_at {
                if e < s.started_at {
                    return Err(row_err(line, "ended_at", "the subscription ends before it starts".into()));
                }
            }
            RowHash::new()
                .str(&s.customer)
                .str(&s.plan)
                .int(s.mrr)
                .str(s.currency.as_str())
                .int(s.started_at)
                .opt_int(s.ended_at)
                .opt(s.cancel_reason.as_deref())
        }
        Record::Event(e) => {
            if !e.properties.is_object() {
                return Err(row_err(line, "properties", "the properties must be a JSON object".into()));
            }
            if e.kind.trim().is_empty() {
                return Err(row_err(line, "kind", "the event kind is empty".into()));
            }
            RowHash::new().str(&e.customer).str(&e.kind).int(e.occurred_at).str(&e.properties.to_string())
        }
        Record::Feedback(f) => {
            if let Some(s) = f.score {
                if s > 10 {
                    return Err(row_err(line, "score", format!("{s} is not an NPS score (expected 0 to 10)")));
                }
            }
            RowHash::new()
                .str(&f.customer)
                .int(f.responded_at)
                .opt_int(f.score.map(i64::from))
                .opt(f.survey.as_deref())
                .opt(f.comment.as_deref())
                .opt(f.touchpoint.as_deref())
        }
        Record::Note(n) => RowHash::new()
            .str(&n.customer)
            .str(&n.body)
            .opt(n.pain_points.as_deref())
            .opt(n.goals.as_deref())
            .opt(n.preferred_channel.as_deref())
            .opt(n.preferred_time.as_deref())
            .opt(n.communication_style.as_deref())
            .opt(n.author.as_deref())
            .opt_int(n.created_at),
        Record::Date(d) => RowHash::new().str(&d.customer).str(d.kind.as_str()).opt(d.label.as_deref()).str(&d.date.to_string()).int(d.yearly as i64),
        Record::Contact(c) => {
            if c.name.trim().is_empty() {
                return Err(row_err(line, "name", "the contact's name is empty".into()));
            }
            RowHash::new().str(&c.customer).str(&c.name).opt(c.role.as_deref()).opt(c.email.as_deref()).opt(c.phone.as_deref())
        }
        Record::Interaction(i) => {
            if interaction_kind(&i.kind) != Some(i.kind.as_str()) {
                return Err(row_err(line, "kind", format!("{:?} is not an interaction kind (expected call, meeting, email, message or other)", i.kind)));
            }
            RowHash::new().str(&i.customer).str(&i.kind).int(i.occurred_at).opt(i.with_whom.as_deref()).opt(i.by_whom.as_deref()).opt(i.summary.as_deref())
        }
    })
}

impl Import {
    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// Takes one row read from source line `line`.
    pub async fn push(&mut self, line: u64, rec: &Record) -> Result<()> {
        self.push_row(line, rec).await.map(|_| ())
    }

    /// As [`Import::push`]; returns the external id given to a record that had none.
    async fn push_row(&mut self, line: u64, rec: &Record) -> Result<Option<String>> {
        if rec.entity() != self.entity {
            return Err(Error::Invalid(format!("a {} row pushed into an import of {}", rec.entity().name(), self.entity.name())));
        }
        let (generated, mut pre_id);
        let ext = if self.generate_ids && rec.external_id().is_empty() {
            let id = self.ids.next().await?;
            pre_id = Some(id);
            generated = format!("~{}:{id}", self.entity.generated_prefix());
            generated.as_str()
        } else {
            pre_id = None;
            rec.external_id()
        };
        check_id(line, self.entity.id_column(), ext)?;
        if let Some(c) = rec.customer() {
            check_id(line, "customer_id", c)?;
        }
        let hash = validate(line, rec)?.finish();
        self.rows += 1;
        // New, changed or unchanged; a second row with the same id is an error naming both lines.
        let (id, changed) = match self.known.get_mut(ext) {
            Some(k) if k.line != 0 => {
                let first = k.line;
                return Err(row_err(line, self.entity.id_column(), format!("{ext:?} already appeared on line {first}; ids must be unique within a file")));
            }
            Some(k) => {
                k.line = line;
                if k.hash == hash {
                    self.summary.unchanged += 1;
                    return Ok(None);
                }
                (k.id, true)
            }
            None => {
                let id = match pre_id.take() {
                    Some(id) => id,
                    None => self.ids.next().await?,
                };
                self.known.insert(ext.into(), Known { id, hash, line });
                (id, false)
            }
        };
        if changed {
            self.summary.updated += 1;
        } else {
            self.summary.inserted += 1;
        }
        let customer_id = match rec.customer() {
            Some(c) => Some(self.customer_id(c).await?),
            None => None,
        };
        if let Record::Order(o) = rec {
            for ln in &o.lines {
                self.product(&ln.sku, ln.category.as_deref()).await?;
            }
        }
        let ws = self.ws.0;
        let buf = if changed { &mut self.batch.changed_rows } else { &mut self.batch.new_rows };
        buf.int(id).int(ws).text(ext);
        if let Some(c) = customer_id {
            buf.int(c);
        }
        match rec {
            Record::Customer(c) => {
                let tags = serde_json::to_string(&c.tags).map_err(|e| row_err(line, "tags", e.to_string()))?;
                buf.text(c.kind.as_str())
                    .opt_text(c.name.as_deref())
                    .opt_text(c.email.as_deref())
                    .opt_text(c.phone.as_deref())
                    .opt_text(c.owner.as_deref())
                    .text(&tags)
                    .opt_int(c.created_at);
            }
            Record::Order(o) => {
                buf.int(o.ordered_at).int(o.amount).text(o.currency.as_str()).text(o.status.as_str());
            }
            Record::Event(e) => {
                buf.text(&e.kind).int(e.occurred_at).text(&e.properties.to_string());
            }
            Record::Subscription(s) => {
                buf.text(&s.plan).int(s.mrr).text(s.currency.as_str()).int(s.started_at).opt_int(s.ended_at).opt_text(s.cancel_reason.as_deref());
            }
            Record::Feedback(f) => {
                buf.int(f.responded_at)
                    .opt_int(f.score.map(i64::from))
                    .opt_text(f.survey.as_deref())
                    .opt_text(f.comment.as_deref())
                    .opt_text(f.touchpoint.as_deref());
            }
            Record::Note(n) => {
                buf.text(&n.body)
                    .opt_text(n.pain_points.as_deref())
                    .opt_text(n.goals.as_deref())
                    .opt_text(n.preferred_channel.as_deref())
                    .opt_text(n.preferred_time.as_deref())
                    .opt_text(n.communication_style.as_deref())
                    .opt_text(n.author.as_deref())
                    .opt_int(n.created_at);
            }
            Record::Date(d) => {
                buf.text(d.kind.as_str()).opt_text(d.label.as_deref()).text(&d.date.format("%Y-%m-%d").to_string()).bool(d.yearly);
            }
            Record::Contact(c) => {
                buf.text(&c.name).opt_text(c.role.as_deref()).opt_text(c.email.as_deref()).opt_text(c.phone.as_deref());
            }
            Record::Interaction(i) => {
                buf.text(&i.kind).int(i.occurred_at).opt_text(i.with_whom.as_deref()).opt_text(i.by_whom.as_deref()).opt_text(i.summary.as_deref());
            }
        }
        buf.int(hash);
        // Children: replaced wholesale for a changed row (see `flush`).
        match rec {
            Record::Order(o) => {
                for (k, ln) in o.lines.iter().enumerate() {
                    let p = self.products.get(ln.sku.as_str()).map(|p| p.id);
                    self.batch.children[0].int(id).int(k as i64).opt_int(p).int(ln.quantity as i64).opt_int(ln.amount);
                }
            }
            Record::Customer(c) => {
                for x in &c.consents {
                    self.batch.children[0].int(id).text(&x.channel).bool(x.granted).opt_int(x.consented_at).opt_int(x.unsubscribed_at);
                }
                if let Some(b) = c.birthday {
                    let did = self.date_ids.next().await?;
                    let kind = if c.kind == CustomerKind::Company { DateKind::CompanyBirthday } else { DateKind::Birthday };
                    let dext = format!("{BIRTHDAY_PREFIX}{}", c.external_id);
                    let h = RowHash::new().str(&c.external_id).str(kind.as_str()).str(&b.to_string()).finish();
                    self.batch.children[1]
                        .int(did)
                        .int(ws)
                        .text(&dext)
                        .int(id)
                        .text(kind.as_str())
                        .opt_text(None)
                        .text(&b.format("%Y-%m-%d").to_string())
                        .bool(true)
                        .int(h);
                }
            }
            _ => {}
        }
        let generated = self.generate_ids.then(|| ext.to_owned());
        if self.batch.rows() >= FLUSH_ROWS {
            self.flush().await?;
        }
        Ok(generated)
    }

    /// The database id of customer `ext`, created (as a bare person) if the workspace has none.
    async fn customer_id(&mut self, ext: &str) -> Result<i64> {
        if let Some(&id) = self.customers.get(ext) {
            return Ok(id);
        }
        let id = self.customer_ids.next().await?;
        self.customers.insert(ext.into(), id);
        self.batch.new_customers.int(id).int(self.ws.0).text(ext);
        Ok(id)
    }

    /// Registers a product named by an order line; the last category given wins.
    async fn product(&mut self, sku: &str, category: Option<&str>) -> Result<()> {
        match self.products.get_mut(sku) {
            Some(p) => {
                if category.is_some() && p.category.as_deref() != category {
                    p.category = category.map(Into::into);
                    if p.state == ProductState::Stored {
                        p.state = ProductState::CategoryChanged;
                    }
                }
            }
            None => {
                let id = self.product_ids.next().await?;
                self.products.insert(sku.into(), Product { id, category: category.map(Into::into), state: ProductState::New });
            }
        }
        Ok(())
    }

    /// Hands the buffered rows to the writer and goes on with an empty batch.
    async fn flush(&mut self) -> Result<()> {
        if self.products.values().any(|p| p.state != ProductState::Stored) {
            let mut fresh: Vec<(&Box<str>, &mut Product)> = self.products.iter_mut().filter(|(_, p)| p.state != ProductState::Stored).collect();
            fresh.sort_by_key(|(_, p)| p.id);
            for (sku, p) in fresh {
                match p.state {
                    ProductState::New => {
                        self.batch.new_products.int(p.id).int(self.ws.0).text(sku).text(sku).opt_text(p.category.as_deref());
                    }
                    ProductState::CategoryChanged => self.batch.recategorised.push((p.id, p.category.clone())),
                    ProductState::Stored => {}
                }
                p.state = ProductState::Stored;
            }
        }
        let next = self.returned.try_recv().unwrap_or_else(|_| Batch::new(self.entity));
        let full = std::mem::replace(&mut self.batch, next);
        let sent = match &self.to_writer {
            Some(tx) => tx.send(full).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.writer_failed().await);
        }
        Ok(())
    }

    /// Why the writer stopped early.
    async fn writer_failed(&mut self) -> Error {
        self.to_writer = None;
        match self.writer.take() {
            Some(h) => match h.await {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => Error::Corrupt("the import's writer stopped early".into()),
                Err(e) => Error::Invalid(format!("the import's writer failed: {e}")),
            },
            None => Error::Corrupt("the import's writer is gone".into()),
        }
    }

    /// Writes what is left and commits.
    pub async fn commit(mut self) -> Result<ImportSummary> {
        self.flush().await?;
        self.to_writer = None;
        let w = match self.writer.take() {
            Some(h) => h.await.map_err(|e| Error::Invalid(format!("the import's writer failed: {e}")))??,
            None => return Err(Error::Corrupt("the import's writer is gone".into())),
        };
        w.finish(self.summary.inserted + self.summary.updated).await?;
        Ok(self.summary)
    }
}

/// The `*_customer` index of a high-volume table, which a bulk load into an (almost) empty table
/// drops and builds again at the end: one sort instead of a million random insertions.
fn bulk_index(entity: Entity) -> Option<(&'static str, &'static str)> {
    match entity {
        Entity::Orders => Some(("orders_customer", "CREATE INDEX orders_customer ON orders (customer_id, ordered_at)")),
        Entity::Events => Some(("events_customer", "CREATE INDEX events_customer ON events (customer_id, occurred_at)")),
        _ => None,
    }
}

impl Writer {
    /// Writes one batch: new customers and products, changed rows (through the staging table),
    /// new rows, then the children of both.
    async fn write(&mut self, b: &Batch) -> Result<()> {
        let t0 = std::time::Instant::now();
        if !self.started {
            self.started = true;
            // A bulk load: the first batch is full and the table (all workspaces) holds fewer rows.
            if let (Some((name, create)), true) = (bulk_index(self.entity), b.new_rows.rows() >= FLUSH_ROWS) {
                let count = format!("SELECT COUNT(*) FROM {}", self.entity.table());
                let stored: i64 = with_tx!(&mut self.tx, t => sqlx::query_scalar(&count).fetch_one(&mut **t).await?);
                if stored < FLUSH_ROWS as i64 {
                    self.tx.exec(&format!("DROP INDEX {name}")).await?;
                    self.rebuild = Some(create);
                }
            }
        }
        self.put("customers", &["id", "workspace_id", "external_id"], &b.new_customers, "customers").await?;
        self.put("products", &["id", "workspace_id", "sku", "name", "category"], &b.new_products, "products").await?;
        for (id, category) in &b.recategorised {
            let q = "UPDATE products SET category = $1 WHERE id = $2";
            with_tx!(&mut self.tx, t => sqlx::query(q).bind(category.as_deref()).bind(*id).execute(&mut **t).await?.rows_affected());
        }
        let table = self.entity.table();
        let columns = self.entity.columns();
        let stage = format!("stage_{table}");
        if !b.changed_rows.is_empty() {
            let t = std::time::Instant::now();
            if !self.staged {
                // Empty, with the columns (and types) of the table.
                self.tx.stage_as(&stage, &format!("SELECT {} FROM {table} WHERE 1 = 0", columns.join(", "))).await?;
                self.staged = true;
            }
            write_rows(self.tx.conn(), &stage, columns, &b.changed_rows).await?;
            let set: Vec<String> = columns[3..].iter().map(|c| format!("{c} = s.{c}")).collect();
            self.tx.exec(&format!("UPDATE {table} SET {} FROM {stage} s WHERE {table}.id = s.id", set.join(", "))).await?;
            if self.entity == Entity::Customers {
                // An unsubscribe (from a message's link, or an earlier file) outlives a customers
                // file that does not mention it: kept aside, put back after the file's consents.
                if !self.keeping {
                    self.tx.stage_as(KEEP_UNSUBSCRIBED, "SELECT customer_id, channel, unsubscribed_at FROM customer_consents WHERE 1 = 0").await?;
                    self.keeping = true;
                }
                self.tx
                    .exec(&format!(
                        "INSERT INTO {KEEP_UNSUBSCRIBED} SELECT customer_id, channel, unsubscribed_at FROM customer_consents \
                         WHERE customer_id IN (SELECT id FROM {stage}) AND unsubscribed_at IS NOT NULL"
                    ))
                    .await?;
            }
            for child in self.entity.children() {
                self.tx.exec(&child.delete.replace("{stage}", &stage)).await?;
            }
            self.tx.exec(&format!("DELETE FROM {stage}")).await?;
            self.spend("changed rows", t);
        }
        self.put(table, columns, &b.new_rows, table).await?;
        for (k, child) in self.entity.children().iter().enumerate() {
            self.put(child.table, child.columns, &b.children[k], child.table).await?;
        }
        if self.keeping {
            // A later unsubscribe wins over the file's state, unless the file gives a consent
            // after it (the customer subscribed again).
            for sql in [
                format!(
                    "UPDATE customer_consents SET unsubscribed_at = k.unsubscribed_at, granted = (1 = 0) FROM {KEEP_UNSUBSCRIBED} k \
                     WHERE customer_consents.customer_id = k.customer_id AND customer_consents.channel = k.channel \
                     AND (customer_consents.unsubscribed_at IS NULL OR customer_consents.unsubscribed_at < k.unsubscribed_at) \
                     AND (customer_consents.consented_at IS NULL OR customer_consents.consented_at <= k.unsubscribed_at)"
                ),
                format!(
                    "INSERT INTO customer_consents (customer_id, channel, granted, consented_at, unsubscribed_at) \
                     SELECT k.customer_id, k.channel, (1 = 0), NULL, k.unsubscribed_at FROM {KEEP_UNSUBSCRIBED} k \
                     WHERE NOT EXISTS (SELECT 1 FROM customer_consents c WHERE c.customer_id = k.customer_id AND c.channel = k.channel)"
                ),
                format!("DELETE FROM {KEEP_UNSUBSCRIBED}"),
            ] {
                self.tx.exec(&sql).await?;
            }
        }
        if std::env::var_os("HOLDFAST_TRACE_IMPORT").is_some() {
            eprintln!("wrote {} rows in {:.3} s", b.rows(), t0.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Raises the workspace's orders version when rows were written, and stores the image of its
    /// order log for that version unless one is stored already (`crate::log_cache`). A log that
    /// cannot be built (orders in two currencies) leaves no image; the analyses say why.
    async fn refresh_order_log(&mut self, changed: bool) -> Result<()> {
        let w = self.ws.0;
        if changed {
            self.tx.exec(&format!("UPDATE workspaces SET orders_version = orders_version + 1 WHERE id = {w}")).await?;
        } else if crate::log_cache::is_current(&mut self.tx, self.ws).await? {
            return Ok(());
        }
        match crate::read::build_order_log(&mut self.tx, self.ws).await {
            Ok(log) => crate::log_cache::store(&mut self.tx, self.ws, Some(&log)).await,
            Err(Error::Invalid(_)) => crate::log_cache::store(&mut self.tx, self.ws, None).await,
            Err(e) => Err(e),
        }
    }

    async fn put(&mut self, table: &str, columns: &[&str], rows: &RowBuf, what: &'static str) -> Result<()> {
        let t = std::time::Instant::now();
        write_rows(self.tx.conn(), table, columns, rows).await?;
        self.spend(what, t);
        Ok(())
    }

    fn spend(&mut self, what: &'static str, since: std::time::Instant) {
        let secs = since.elapsed().as_secs_f64();
        match self.spent.iter_mut().find(|(k, _)| *k == what) {
            Some((_, s)) => *s += secs,
            None => self.spent.push((what, secs)),
        }
    }

    /// Builds a dropped index again, clears up, brings the stored order log up to date (orders
    /// imports: `changed` = rows were written) and commits.
    async fn finish(mut self, written: u64) -> Result<()> {
        let changed = written > 0;
        let t0 = std::time::Instant::now();
        if let Some(create) = self.rebuild {
            let t = std::time::Instant::now();
            if let Some(setup) = self.tx.dialect().index_build_setup {
                self.tx.exec(setup).await?;
            }
            self.tx.exec(create).await?;
            self.spend("the rebuilt index", t);
        }
        if self.entity == Entity::Orders {
            let t = std::time::Instant::now();
            self.refresh_order_log(changed).await?;
            self.spend("the order log image", t);
        }
        if let (Some(analyze), true) = (self.tx.dialect().analyze, self.rebuild.is_some() || written >= FLUSH_ROWS as u64) {
            let t = std::time::Instant::now();
            let tables = match self.entity {
                Entity::Orders => "customers, orders, order_lines, products".to_owned(),
                e => format!("customers, {}", e.table()),
            };
            self.tx.exec(&format!("{analyze} {tables}")).await?;
            self.spend("the planner's statistics", t);
        }
        let trace = std::env::var_os("HOLDFAST_TRACE_IMPORT").is_some();
        let spent = std::mem::take(&mut self.spent);
        if self.staged {
            self.tx.unstage(&format!("stage_{}", self.entity.table())).await?;
        }
        if self.keeping {
            self.tx.unstage(KEEP_UNSUBSCRIBED).await?;
        }
        self.tx.commit().await?;
        if trace {
            for (what, secs) in &spent {
                eprintln!("writing {what}: {secs:.3} s");
            }
            eprintln!("finishing took {:.3} s", t0.elapsed().as_secs_f64());
        }
        Ok(())
    }
}
