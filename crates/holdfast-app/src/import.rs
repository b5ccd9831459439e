//! Importing a file of orders, customers, events, subscriptions, feedback, notes, important dates,
//! contacts or interactions into the store — from a path (the CLI) or from bytes (an upload):
//! the same rows, the same ids, the same errors.
//!
//! One transaction: any bad row leaves the store as it was. Rows are keyed by their id
//! (order_id, subscription_id, note_id, date_id, contact_id, interaction_id; without an id
//! column, and for events and feedback, by their content): importing the same file twice changes
//! nothing, a changed row updates. Customers named by a file and not in the store yet are created.

use crate::error::{Error, Result};
use crate::orders::ReadOptions;
use crate::progress::Progress;
use crate::workspace::App;
use holdfast_core::{Currency, Instant};
use holdfast_import::{ImportOptions, ReadSummary, TableReader, TableRow, TableSpec};
use holdfast_store::{
    interaction_kind, Consent, Contact, CustomerKind, CustomerRecord, DateKind, Entity, EventRecord, FeedbackRecord, Import, ImportSummary, ImportantDate,
    Interaction, LineRecord, Note, OrderRecord, Record, SubscriptionRecord,
};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// What an import did.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub entity: &'static str,
    /// The file as named in messages.
    pub file: String,
    /// Records read (an order of several lines is one).
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows skipped as unreadable (with `skip_bad_rows`), and the first reasons.
    pub skipped: usize,
    pub skip_reasons: Vec<String>,
    /// What was read but may not be what the file meant (e.g. `1,234` read as 1234).
    pub warnings: Vec<String>,
}

/// Where the rows come from.
enum Input<'a> {
    Path(&'a Path),
    Bytes(&'a str, Vec<u8>),
}

/// Imports the file at `path` into the app's workspace.
pub async fn import_file(app: &App, entity: Entity, path: &Path, read: &ReadOptions, progress: &dyn Progress) -> Result<ImportReport> {
    import(app, entity, Input::Path(path), path.display().to_string(), read, progress).await
}

/// Imports an uploaded file (its bytes, and its name for messages) into the app's workspace —
/// the same rules as [`import_file`].
pub async fn import_bytes(app: &App, entity: Entity, name: &str, bytes: Vec<u8>, read: &ReadOptions, progress: &dyn Progress) -> Result<ImportReport> {
    import(app, entity, Input::Bytes(name, bytes), name.to_owned(), read, progress).await
}

async fn import(app: &App, entity: Entity, input: Input<'_>, file: String, read: &ReadOptions, progress: &dyn Progress) -> Result<ImportReport> {
    let cal = app.calendar()?;
    let opts = read.import_options(cal);
    let mut imp = app.store.begin_import(app.ws.id, entity).await?;
    let result = match entity {
        Entity::Orders => import_orders(&mut imp, input, &opts, app.ws.currency, progress).await,
        e => import_table(&mut imp, e, input, &opts, app.ws.currency, progress).await,
    };
    progress.finish();
    // On any error `imp` is dropped here without a commit: nothing is written.
    let (rows, read_summary) = result?;
    let sum: ImportSummary = imp.commit().await.map_err(|e| located(&file, e))?;
    Ok(ImportReport {
        entity: entity.name(),
        file,
        rows,
        inserted: sum.inserted,
        updated: sum.updated,
        unchanged: sum.unchanged,
        skipped: read_summary.skipped,
        skip_reasons: read_summary.skip_reasons,
        warnings: read_summary.warnings,
    })
}

/// A store error about a row, prefixed with the file: `orders.csv:1043: column order_id: …`.
fn located(path: &str, e: holdfast_store::Error) -> Error {
    match e {
        holdfast_store::Error::Row { line, column, message } => match column {
            Some(c) => Error::user(format!("{path}:{line}: column {c}: {message}")),
            None => Error::user(format!("{path}:{line}: {message}")),
        },
        e => e.into(),
    }
}

/// Orders, as whole orders by the rules of METRICS.md (`holdfast_import::read_order_records`: rows
/// sharing an order id are lines of one order, partial refunds applied, ids derived from the
/// content for rows without one) — the same rules the file path reads by.
/// A file that names no currency (and no option gave one) is in the workspace's currency.
async fn import_orders(imp: &mut Import, input: Input<'_>, opts: &ImportOptions, ws_currency: Currency, progress: &dyn Progress) -> Result<(u64, ReadSummary)> {
    let report = |done: u64, total: u64| progress.update("reading", done, total);
    let (path, file) = match input {
        Input::Path(p) => (p.display().to_string(), holdfast_import::read_order_records(p, opts, &report)?),
        Input::Bytes(name, bytes) => (name.to_owned(), holdfast_import::read_order_records_bytes(name, &bytes, opts, &report)?),
    };
    let assumed = file.currency_assumed;
    let mut orders = file.orders;
    if assumed {
        for o in &mut orders {
            o.currency = ws_currency;
        }
    }
    // Stored in the order the file names its customers (each customer's orders together, by time,
    // ties by order id): the store numbers customers by their first stored order, so reports over
    // the store list customers as the same reports over the file do.
    // (The file path numbers customers by their first row with a sale status, before refunds are
    // applied: a counted order, or one refunded to zero by later rows; customers with none come
    // after, by their first order.)
    let mut first_line: HashMap<&str, (bool, u64)> = HashMap::new();
    for o in &orders {
        let sale_row = o.status.is_counted() || (o.status.is_refund() && o.amount_minor == 0);
        let key = (!sale_row, o.line);
        let e = first_line.entry(o.customer_id.as_str()).or_insert(key);
        *e = (*e).min(key);
    }
    let mut order: Vec<usize> = (0..orders.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&orders[a], &orders[b]);
        first_line[x.customer_id.as_str()]
            .cmp(&first_line[y.customer_id.as_str()])
            .then(x.ordered_at.cmp(&y.ordered_at))
            .then_with(|| holdfast_core::order_log::cmp_order_ids(&x.external_id, &y.external_id))
    });
    drop(first_line);
    let mut slots: Vec<Option<holdfast_import::AssembledOrder>> = orders.drain(..).map(Some).collect();
    let orders: Vec<holdfast_import::AssembledOrder> = order.into_iter().filter_map(|i| slots[i].take()).collect();
    let total = orders.len() as u64;
    let mut n = 0u64;
    for o in orders {
        let lines = o.lines.into_iter().map(|l| LineRecord { sku: l.product, category: l.category, quantity: l.quantity, amount: l.amount_minor }).collect();
        let rec = OrderRecord {
            external_id: o.external_id,
            customer: o.customer_id,
            ordered_at: o.ordered_at,
            amount: o.amount_minor,
            currency: o.currency,
            status: o.status,
            lines,
        };
        imp.push(o.line, &Record::Order(rec)).await.map_err(|e| located(&path, e))?;
        n += 1;
        if n % 65_536 == 0 {
            progress.update("importing", n, total);
        }
    }
    Ok((n, file.summary))
}

/// `~` + the content key + `#k` for the k-th row with the same content: stable across re-imports.
fn derived_id(seen: &mut HashMap<String, u32>, key: &str) -> String {
    let k = seen.entry(key.to_owned()).or_insert(0);
    *k += 1;
    if *k == 1 {
        format!("~{key}")
    } else {
        format!("~{key}#{k}")
    }
}

/// The channels a customers file can give consent for, one pair of date columns each.
const CHANNELS: [&str; 4] = ["email", "sms", "phone", "messenger"];

/// A consent as the `consents` JSON column gives it (what `holdfast export customers` writes):
/// times as RFC 3339 or Unix seconds; `granted` implied by the times when absent.
#[derive(serde::Deserialize)]
struct ConsentJson {
    channel: String,
    granted: Option<bool>,
    consented_at: Option<serde_json::Value>,
    unsubscribed_at: Option<serde_json::Value>,
}

fn json_time(v: &Option<serde_json::Value>) -> Result<Option<Instant>, String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| format!("{n} is not a time in seconds")),
        Some(serde_json::Value::String(s)) => {
            chrono::DateTime::parse_from_rfc3339(s).map(|t| Some(t.timestamp())).map_err(|_| format!("{s:?} is not an RFC 3339 time"))
        }
        Some(v) => Err(format!("{v} is not a time")),
    }
}

/// The consents of a customers row: the `consents` JSON list (as `holdfast export` writes it)
/// and the per-channel `<channel>_consent_at` / `<channel>_unsubscribed_at` columns, one entry per
/// channel, sorted by channel.
fn consents_of(r: &TableRow, ix: &dyn Fn(&str) -> usize) -> Result<Vec<Consent>, (&'static str, String)> {
    let mut out: Vec<Consent> = Vec::new();
    if let Some(j) = r.json(ix("consents")).filter(|j| !j.is_null()) {
        let items: Vec<ConsentJson> = serde_json::from_value(j.clone()).map_err(|_| {
            ("consents", format!("{j} is not a list of consents (expected [{{\"channel\": \"email\", \"consented_at\": \"2024-03-05T10:00:00Z\", \"unsubscribed_at\": null}}])"))
        })?;
        for k in items {
            let consented_at = json_time(&k.consented_at).map_err(|e| ("consents", e))?;
            let unsubscribed_at = json_time(&k.unsubscribed_at).map_err(|e| ("consents", e))?;
            let granted = k.granted.unwrap_or_else(|| Consent::implied_by(consented_at, unsubscribed_at));
            out.push(Consent { channel: k.channel.trim().to_lowercase(), granted, consented_at, unsubscribed_at });
        }
    }
    for ch in CHANNELS {
        let (consented_at, unsubscribed_at) = (r.instant(ix(&format!("{ch}_consent_at"))), r.instant(ix(&format!("{ch}_unsubscribed_at"))));
        if consented_at.is_none() && unsubscribed_at.is_none() {
            continue;
        }
        if out.iter().any(|c| c.channel == ch) {
            return Err(("consents", format!("channel {ch:?} is given both in the consents list and in its own columns")));
        }
        out.push(Consent { channel: ch.to_owned(), granted: Consent::implied_by(consented_at, unsubscribed_at), consented_at, unsubscribed_at });
    }
    out.sort_by(|a, b| a.channel.cmp(&b.channel));
    Ok(out)
}

/// 64-bit FNV-1a of a text, for ids derived from long content.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

async fn import_table(
    imp: &mut Import,
    entity: Entity,
    input: Input<'_>,
    opts: &ImportOptions,
    ws_currency: Currency,
    progress: &dyn Progress,
) -> Result<(u64, ReadSummary)> {
    let spec = match entity {
        Entity::Customers => TableSpec::customers(),
        Entity::Events => TableSpec::events(),
        Entity::Subscriptions => TableSpec::subscriptions(),
        Entity::Feedback => TableSpec::feedback(),
        Entity::Notes => TableSpec::notes(),
        Entity::Dates => TableSpec::dates(),
        Entity::Contacts => TableSpec::contacts(),
        Entity::Interactions => TableSpec::interactions(),
        Entity::Orders => return Err(Error::internal("orders are read by import_orders")),
    };
    let cal = opts.calendar;
    let (path, mut reader) = match input {
        Input::Path(p) => (p.display().to_string(), TableReader::open(p, &spec, opts)?),
        Input::Bytes(name, bytes) => (name.to_owned(), TableReader::from_bytes(name, bytes, &spec, opts)?),
    };
    let path = path.as_str();
    let ix = |name: &str| spec.index(name).unwrap_or(usize::MAX);
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut n = 0u64;
    let text = |r: &TableRow, f: &str| r.text(ix(f)).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let err = |line: u64, col: &str, msg: &str| Error::user(format!("{path}:{line}: column {col}: {msg}"));
    // The file's own id when it has one, else one derived from the row's content (stable across
    // re-imports of the same file).
    let id_or = |seen: &mut HashMap<String, u32>, r: &TableRow, key: &dyn Fn() -> String| match text(r, entity.id_column()) {
        Some(id) => id,
        None => derived_id(seen, &key()),
    };
    while let Some(batch) = reader.next_batch()? {
        for r in batch {
            let line = r.line;
            let customer = text(&r, "customer_id").ok_or_else(|| err(line, "customer_id", "the customer is empty"))?;
            let rec = match entity {
                Entity::Customers => {
                    let kind = match text(&r, "kind") {
                        None => CustomerKind::Person,
                        Some(k) => {
                            CustomerKind::parse(&k).ok_or_else(|| err(line, "kind", &format!("{k:?} is not a customer kind (expected person or company)")))?
                        }
                    };
                    let tags = match text(&r, "tags") {
                        None => Vec::new(),
                        Some(t) if t.starts_with('[') => {
                            serde_json::from_str(&t).map_err(|_| err(line, "tags", &format!("{t:?} is not a JSON list of tags")))?
                        }
                        Some(t) => t.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    };
                    let consents = consents_of(&r, &ix).map_err(|(col, msg)| err(line, col, &msg))?;
                    Record::Customer(CustomerRecord {
                        external_id: customer,
                        kind,
                        name: text(&r, "name"),
                        email: text(&r, "email"),
                        phone: text(&r, "phone"),
                        owner: text(&r, "owner"),
                        tags,
                        created_at: r.instant(ix("created_at")),
                        consents,
                        birthday: r.date(ix("birthday")),
                    })
                }
                Entity::Events => {
                    let kind = text(&r, "kind").ok_or_else(|| err(line, "kind", "the event kind is empty"))?;
                    let at: Instant = r.instant(ix("at")).ok_or_else(|| err(line, "at", "the time is empty"))?;
                    let properties = r.json(ix("properties")).cloned().unwrap_or_else(|| serde_json::json!({}));
                    let key = format!("{customer}|{kind}|{at}|{properties}");
                    Record::Event(EventRecord { external_id: derived_id(&mut seen, &key), customer, kind, occurred_at: at, properties })
                }
                Entity::Subscriptions => {
                    let (mrr, cur) = r.money(ix("monthly_amount")).ok_or_else(|| err(line, "monthly_amount", "the monthly amount is empty"))?;
                    let currency = match text(&r, "currency") {
                        Some(c) => Currency::new(&c).ok_or_else(|| err(line, "currency", &format!("{c:?} is not a currency code")))?,
                        None => cur.unwrap_or(ws_currency),
                    };
                    let started = r.date(ix("started_at")).ok_or_else(|| err(line, "started_at", "the start date is empty"))?;
                    let plan = text(&r, "plan").unwrap_or_default();
                    let started_at = cal.start_of_day(started);
                    let external_id = id_or(&mut seen, &r, &|| format!("{customer}|{plan}|{started_at}"));
                    Record::Subscription(SubscriptionRecord {
                        external_id,
                        customer,
                        plan,
                        mrr,
                        currency,
                        started_at,
                        ended_at: r.date(ix("ended_at")).map(|d| cal.start_of_day(d)),
                        cancel_reason: text(&r, "cancel_reason"),
                    })
                }
                Entity::Feedback => {
                    let at = r.instant(ix("at")).ok_or_else(|| err(line, "at", "the response date is empty"))?;
                    let score = r.integer(ix("score")).map(|s| s.clamp(0, 10) as u8);
                    let survey = text(&r, "survey");
                    let key = format!("{customer}|{at}|{}", survey.as_deref().unwrap_or(""));
                    Record::Feedback(FeedbackRecord {
                        external_id: derived_id(&mut seen, &key),
                        customer,
                        responded_at: at,
                        score,
                        survey,
                        comment: text(&r, "comment"),
                        touchpoint: text(&r, "touchpoint"),
                    })
                }
                Entity::Notes => {
                    let body = text(&r, "body").unwrap_or_default();
                    let created_at = r.instant(ix("created_at"));
                    let mut preferred_time = text(&r, "preferred_time");
                    if preferred_time.is_none() && r.bool(ix("works_mornings")) == Some(true) {
                        preferred_time = Some("mornings".into());
                    }
                    let note = Note {
                        external_id: String::new(),
                        customer,
                        body,
                        pain_points: text(&r, "pain_points"),
                        goals: text(&r, "goals"),
                        preferred_channel: text(&r, "preferred_channel"),
                        preferred_time,
                        communication_style: text(&r, "communication_style"),
                        author: text(&r, "author"),
                        created_at,
                    };
                    if note.body.is_empty()
                        && note.pain_points.is_none()
                        && note.goals.is_none()
                        && note.preferred_channel.is_none()
                        && note.preferred_time.is_none()
                        && note.communication_style.is_none()
                    {
                        return Err(err(line, "body", "the note says nothing (no text and no preference)"));
                    }
                    let content = format!(
                        "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
                        note.body, note.pain_points, note.goals, note.preferred_channel, note.preferred_time, note.communication_style
                    );
                    let key = || format!("{}|{}|{:016x}", note.customer, created_at.map(|t| t.to_string()).unwrap_or_default(), fnv(&content));
                    Record::Note(Note { external_id: id_or(&mut seen, &r, &key), ..note })
                }
                Entity::Dates => {
                    let k = text(&r, "kind").unwrap_or_default();
                    let kind = DateKind::parse(&k).ok_or_else(|| {
                        err(line, "kind", &format!("{k:?} is not a kind of date (expected birthday, company_birthday, product_launch, seasonal_campaign, contract_renewal or other)"))
                    })?;
                    let date = r.date(ix("date")).ok_or_else(|| err(line, "date", "the date is empty"))?;
                    let key = || format!("{customer}|{}|{date}", kind.as_str());
                    let external_id = id_or(&mut seen, &r, &key);
                    if external_id.starts_with(holdfast_store::BIRTHDAY_PREFIX) {
                        return Err(err(
                            line,
                            entity.id_column(),
                            &format!("ids starting with {:?} are kept for birthdays read from customers files", holdfast_store::BIRTHDAY_PREFIX),
                        ));
                    }
                    Record::Date(ImportantDate { external_id, customer, kind, label: text(&r, "label"), date, yearly: r.bool(ix("yearly")).unwrap_or(true) })
                }
                Entity::Contacts => {
                    let name = text(&r, "name").ok_or_else(|| err(line, "name", "the contact's name is empty"))?;
                    let key = || format!("{customer}|{name}");
                    Record::Contact(Contact {
                        external_id: id_or(&mut seen, &r, &key),
                        customer,
                        name: name.clone(),
                        role: text(&r, "role"),
                        email: text(&r, "email"),
                        phone: text(&r, "phone"),
                    })
                }
                Entity::Interactions => {
                    let k = text(&r, "kind").unwrap_or_default();
                    let kind = interaction_kind(&k)
                        .ok_or_else(|| err(line, "kind", &format!("{k:?} is not an interaction kind (expected call, meeting, email, message or other)")))?;
                    let at = r.instant(ix("at")).ok_or_else(|| err(line, "at", "the time is empty"))?;
                    let key = || format!("{customer}|{kind}|{at}");
                    Record::Interaction(Interaction {
                        external_id: id_or(&mut seen, &r, &key),
                        customer,
                        kind: kind.to_owned(),
                        occurred_at: at,
                        with_whom: text(&r, "with"),
                        by_whom: text(&r, "by"),
                        summary: text(&r, "summary"),
                    })
                }
                Entity::Orders => return Err(Error::internal("orders are read by import_orders")),
            };
            imp.push(line, &rec).await.map_err(|e| located(path, e))?;
            n += 1;
        }
        let (done, total) = reader.progress();
        progress.update("importing", done, total);
    }
    Ok((n, reader.summary()))
}

/// What an orders file holds, read in full without writing anything: the upload's check before
/// the import (any error names its line and column, as the import would).
#[derive(Clone, Debug, Serialize)]
pub struct OrdersPreview {
    pub file: String,
    pub encoding: &'static str,
    /// The delimiter as a character (`,`, `;`, `\t`).
    pub delimiter: String,
    /// `(field, header)` for every field found.
    pub columns: Vec<(String, String)>,
    pub rows: usize,
    pub orders: usize,
    pub customers: usize,
    pub currency: String,
    pub currency_assumed: bool,
    pub excluded_by_status: usize,
    pub skipped: usize,
    pub skip_reasons: Vec<String>,
    /// The header and first rows, split into cells.
    pub head: Vec<Vec<String>>,
}

/// Reads an uploaded orders file as the import would and says what it found.
pub fn preview_orders(app: &App, name: &str, bytes: &[u8], read: &ReadOptions) -> Result<OrdersPreview> {
    let cal = app.calendar()?;
    let opts = read.import_options(cal);
    let f = holdfast_import::read_orders_bytes(name, bytes, &opts, &|_, _| {})?;
    let enc = holdfast_import::encoding_rs::Encoding::for_label(f.encoding.as_bytes()).unwrap_or(holdfast_import::encoding_rs::UTF_8);
    let (text, _, _) = enc.decode(&bytes[..bytes.len().min(64 * 1024)]);
    let mut head = Vec::new();
    let mut rdr = csv::ReaderBuilder::new().delimiter(f.delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    for rec in rdr.records().take(6) {
        match rec {
            Ok(r) => head.push(r.iter().map(|c| c.chars().take(80).collect()).collect()),
            Err(_) => break,
        }
    }
    Ok(OrdersPreview {
        file: name.to_owned(),
        encoding: f.encoding,
        delimiter: match f.delimiter {
            b'\t' => "tab".to_owned(),
            d => (d as char).to_string(),
        },
        columns: f.columns.clone(),
        rows: f.rows,
        orders: f.log.n_orders(),
        customers: f.log.n_customers(),
        currency: if f.currency_assumed { app.ws.currency.to_string() } else { f.currency.to_string() },
        currency_assumed: f.currency_assumed,
        excluded_by_status: f.excluded_by_status,
        skipped: f.skipped,
        skip_reasons: f.skip_reasons,
        head,
    })
}
