//! `holdfast import`: a file of orders, customers, events, subscriptions, feedback, notes, important
//! dates, contacts or interactions into the store.

use crate::input::OrdersInput;
use crate::store_input::Db;
use crate::Global;
use holdfast_core::{Currency, Instant};
use holdfast_import::{ImportOptions, OrderRow, OrderRows, OrderStatus, TableReader, TableRow, TableSpec};
use holdfast_store::{
    interaction_kind, Consent, Contact, CustomerKind, CustomerRecord, DateKind, Entity, EventRecord, FeedbackRecord, Import, ImportSummary, ImportantDate,
    Interaction, LineRecord, Note, OrderRecord, Record, SubscriptionRecord,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Imports a file into the store, in one transaction: any bad row leaves the store as it was.
/// Rows are keyed by their id (order_id, subscription_id, note_id, date_id, contact_id,
/// interaction_id; without an id column, and for events and feedback, by their content): importing
/// the same file twice changes nothing, a changed row updates. Customers named by a file and not
/// in the store yet are created.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast --db sqlite://shop.db import orders orders.csv\n  holdfast --db postgres://postgres@127.0.0.1/shop import customers customers.csv --encoding windows-1251\n  holdfast --db sqlite://shop.db import notes notes.csv\n\nColumns (header aliases in English, Russian, Ukrainian, Bulgarian; --map FIELD=HEADER to override):\n  customers     customer_id, name, email, phone, kind, owner, tags, created_at, birthday,\n                email|sms|phone|messenger _consent_at, _unsubscribed_at; consents (JSON)\n  notes         note_id, customer_id, body, pain_points, goals, preferred_channel, preferred_time,\n                works_mornings (yes/no), communication_style, author, created_at\n  dates         date_id, customer_id, kind, label, date, yearly (yes/no, default yes)\n  contacts      contact_id, customer_id, name, role, email, phone\n  interactions  interaction_id, customer_id, kind (call, meeting, email, message, other), at, with, by, summary")]
pub struct Args {
    /// What the file holds: orders, customers, events, subscriptions, feedback, notes, dates,
    /// contacts or interactions.
    #[arg(value_name = "ENTITY")]
    pub entity: Entity,
    /// The file (CSV with a header; delimiter, encoding, number and date formats are sniffed).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub input: OrdersInput,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let db = Db::open(&g.db)?;
    // Dropping an unfinished import (on any error) rolls back inside the runtime.
    let _enter = db.rt.enter();
    let cal = db.calendar()?;
    let opts = ImportOptions {
        encoding: args.input.encoding,
        delimiter: args.input.delimiter,
        date_format: args.input.date_format,
        column_map: args.input.map.clone(),
        skip_bad_rows: args.input.skip_bad_rows,
        calendar: cal,
        currency: args.input.currency.or(Some(db.ws.currency)),
    };
    let path = args.file.as_path();
    let started = std::time::Instant::now();
    let mut imp = db.run(db.store.begin_import(db.ws.id, args.entity))?;
    let bar = if g.quiet {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("importing {bytes}/{total_bytes} [{bar:30}] {eta}") {
            pb.set_style(style);
        }
        pb
    };
    let result = match args.entity {
        Entity::Orders => import_orders(&db, &mut imp, path, &opts, &bar),
        e => import_table(&db, &mut imp, e, path, &opts, db.ws.currency, &bar),
    };
    bar.finish_and_clear();
    // On any error `imp` is dropped here without a commit: nothing is written.
    let rows = result?;
    let sum: ImportSummary = db.rt.block_on(imp.commit()).map_err(|e| located(path, e))?;
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        crate::commands::analyze::print_json(&serde_json::json!({
            "entity": args.entity.name(), "file": path.display().to_string(), "rows": rows,
            "inserted": sum.inserted, "updated": sum.updated, "unchanged": sum.unchanged, "seconds": secs,
        }))
    } else {
        crate::commands::analyze::print(&format!(
            "{}: {} {} read in {:.1} s: {} new, {} updated, {} unchanged\n",
            path.display(),
            sum.total(),
            args.entity.name(),
            secs,
            sum.inserted,
            sum.updated,
            sum.unchanged
        ))
    }
}

/// A store error about a row, prefixed with the file: `orders.csv:1043: column order_id: …`.
fn located(path: &Path, e: holdfast_store::Error) -> anyhow::Error {
    match e {
        holdfast_store::Error::Row { line, column, message } => match column {
            Some(c) => anyhow::anyhow!("{}:{line}: column {c}: {message}", path.display()),
            None => anyhow::anyhow!("{}:{line}: {message}", path.display()),
        },
        e => e.into(),
    }
}

fn stored_status(s: OrderStatus) -> holdfast_core::OrderStatus {
    match s {
        OrderStatus::Counted => holdfast_core::OrderStatus::Completed,
        OrderStatus::Refunded => holdfast_core::OrderStatus::Refunded,
        OrderStatus::Cancelled => holdfast_core::OrderStatus::Cancelled,
    }
}

/// Orders, with rows that share an order id and customer (adjacent in the file) as lines of one
/// order, amounts summed. Rows without an order id get a stable id from their content.
fn import_orders(db: &Db, imp: &mut Import, path: &Path, opts: &ImportOptions, bar: &ProgressBar) -> anyhow::Result<u64> {
    let mut reader = OrderRows::open(path, opts)?;
    bar.set_length(reader.progress().1);
    let mut pending: Option<(u64, OrderRecord)> = None;
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut n = 0u64;
    while let Some(batch) = reader.next_batch()? {
        for r in batch {
            let OrderRow { line, order_id, customer_id, ordered_at, amount_minor, currency, status, product, category, quantity } = r;
            let line_rec = product.map(|sku| LineRecord { sku, category, quantity, amount: Some(amount_minor) });
            if let (Some((_, o)), Some(id)) = (pending.as_mut(), order_id.as_ref()) {
                if o.external_id == *id && o.customer == customer_id {
                    o.amount += amount_minor;
                    o.lines.extend(line_rec);
                    continue;
                }
            }
            if let Some((l, o)) = pending.take() {
                db.rt.block_on(imp.push(l, &Record::Order(o))).map_err(|e| located(path, e))?;
                n += 1;
            }
            let external_id = match order_id {
                Some(id) => id,
                None => derived_id(&mut seen, &format!("{customer_id}|{ordered_at}|{amount_minor}")),
            };
            pending = Some((
                line,
                OrderRecord { external_id, customer: customer_id, ordered_at, amount: amount_minor, currency, status: stored_status(status), lines: line_rec.into_iter().collect() },
            ));
        }
        bar.set_position(reader.progress().0);
    }
    if let Some((l, o)) = pending.take() {
        db.rt.block_on(imp.push(l, &Record::Order(o))).map_err(|e| located(path, e))?;
        n += 1;
    }
    report_skipped(path, &reader.summary());
    Ok(n)
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

fn report_skipped(path: &Path, s: &holdfast_import::ReadSummary) {
    if s.skipped > 0 {
        eprintln!("skipped {} bad rows of {} in {}:", s.skipped, s.rows, path.display());
        for r in &s.skip_reasons {
            eprintln!("  {r}");
        }
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

fn import_table(db: &Db, imp: &mut Import, entity: Entity, path: &Path, opts: &ImportOptions, ws_currency: Currency, bar: &ProgressBar) -> anyhow::Result<u64> {
    let spec = match entity {
        Entity::Customers => TableSpec::customers(),
        Entity::Events => TableSpec::events(),
        Entity::Subscriptions => TableSpec::subscriptions(),
        Entity::Feedback => TableSpec::feedback(),
        Entity::Notes => TableSpec::notes(),
        Entity::Dates => TableSpec::dates(),
        Entity::Contacts => TableSpec::contacts(),
        Entity::Interactions => TableSpec::interactions(),
        Entity::Orders => unreachable!("orders are read by import_orders"),
    };
    let cal = opts.calendar;
    let mut reader = TableReader::open(path, &spec, opts)?;
    bar.set_length(reader.progress().1);
    let ix = |name: &str| spec.index(name).unwrap_or(usize::MAX);
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut n = 0u64;
    let text = |r: &TableRow, f: &str| r.text(ix(f)).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let err = |line: u64, col: &str, msg: &str| anyhow::anyhow!("{}:{line}: column {col}: {msg}", path.display());
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
                        Some(k) => CustomerKind::parse(&k).ok_or_else(|| err(line, "kind", &format!("{k:?} is not a customer kind (expected person or company)")))?,
                    };
                    let tags = match text(&r, "tags") {
                        None => Vec::new(),
                        Some(t) if t.starts_with('[') => serde_json::from_str(&t).map_err(|_| err(line, "tags", &format!("{t:?} is not a JSON list of tags")))?,
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
                    if note.body.is_empty() && note.pain_points.is_none() && note.goals.is_none() && note.preferred_channel.is_none() && note.preferred_time.is_none() && note.communication_style.is_none() {
                        return Err(err(line, "body", "the note says nothing (no text and no preference)"));
                    }
                    let content = format!("{}|{:?}|{:?}|{:?}|{:?}|{:?}", note.body, note.pain_points, note.goals, note.preferred_channel, note.preferred_time, note.communication_style);
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
                        return Err(err(line, entity.id_column(), &format!("ids starting with {:?} are kept for birthdays read from customers files", holdfast_store::BIRTHDAY_PREFIX)));
                    }
                    Record::Date(ImportantDate { external_id, customer, kind, label: text(&r, "label"), date, yearly: r.bool(ix("yearly")).unwrap_or(true) })
                }
                Entity::Contacts => {
                    let name = text(&r, "name").ok_or_else(|| err(line, "name", "the contact's name is empty"))?;
                    let key = || format!("{customer}|{name}");
                    Record::Contact(Contact { external_id: id_or(&mut seen, &r, &key), customer, name: name.clone(), role: text(&r, "role"), email: text(&r, "email"), phone: text(&r, "phone") })
                }
                Entity::Interactions => {
                    let k = text(&r, "kind").unwrap_or_default();
                    let kind = interaction_kind(&k).ok_or_else(|| err(line, "kind", &format!("{k:?} is not an interaction kind (expected call, meeting, email, message or other)")))?;
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
                Entity::Orders => unreachable!(),
            };
            db.rt.block_on(imp.push(line, &rec)).map_err(|e| located(path, e))?;
            n += 1;
        }
        bar.set_position(reader.progress().0);
    }
    report_skipped(path, &reader.summary());
    Ok(n)
}
