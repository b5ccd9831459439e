//! `holdfast import`: a file of orders, customers, events, subscriptions, feedback, notes, important
//! dates, contacts or interactions into the store.

use crate::args::OrdersInput;
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_store::Entity;
use std::path::PathBuf;

/// Imports a file into the store, in one transaction: any bad row leaves the store as it was.
/// Rows are keyed by their id (order_id, subscription_id, note_id, date_id, contact_id,
/// interaction_id; without an id column, and for events and feedback, by their content): importing
/// the same file twice changes nothing, a changed row updates. Customers named by a file and not
/// in the store yet are created.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db import orders orders.csv\n  holdfast --db sqlite://shop.db import orders orders.xlsx --skip-bad-rows\n  holdfast --db postgres://postgres@127.0.0.1/shop import customers customers.csv\n  holdfast --db sqlite://shop.db import notes notes.csv\n\nFiles: CSV or other delimited text (UTF-8, UTF-16, Windows-1251, KOI8-R), xlsx, xls or ods — told by\ntheir content, not their name; the first sheet with data of a workbook.\n\nColumns (header aliases in English, Russian, Ukrainian, Bulgarian; --map FIELD=HEADER to override):\n  orders        customer, date, amount (required); order_id, status, currency, product, category,\n                quantity, refunded_amount — rows sharing an order_id are lines of one order\n  customers     customer_id, name, email, phone, kind, owner, tags, created_at, birthday,\n                email|sms|phone|messenger _consent_at, _unsubscribed_at; consents (JSON)\n  events        customer_id, kind, at (required); properties (JSON)\n  subscriptions customer_id, monthly_amount, started_at (required); subscription_id, plan, currency,\n                ended_at, cancel_reason\n  feedback      customer_id, score 0–10 (required); survey, comment, touchpoint, at\n  notes         note_id, customer_id, body, pain_points, goals, preferred_channel, preferred_time,\n                works_mornings (yes/no), communication_style, author, created_at\n  dates         date_id, customer_id, kind, label, date, yearly (yes/no, default yes)\n  contacts      contact_id, customer_id, name, role, email, phone\n  interactions  interaction_id, customer_id, kind (call, meeting, email, message, other), at,\n                with, by, summary\n\nDates from 1900-01-01 to tomorrow are accepted (--date-range to change); a bad row stops the import\nunless --skip-bad-rows, and the store is left as it was."
)]
pub struct Args {
    /// What the file holds: orders, customers, events, subscriptions, feedback, notes, dates,
    /// contacts or interactions.
    #[arg(value_name = "ENTITY")]
    pub entity: Entity,
    /// The file: CSV or other delimited text with a header, or a spreadsheet (xlsx, xls, ods);
    /// format, delimiter, encoding, number and date formats are told from its content.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub input: OrdersInput,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open()?;
    let started = std::time::Instant::now();
    let bar = s.bar();
    let r = s.run(holdfast_app::import_file(&app, args.entity, &args.file, &args.input.read_options(), &bar))?;
    let secs = started.elapsed().as_secs_f64();
    s.say_read_notes(
        &r.file,
        &holdfast_app::ReadNotes {
            rows: r.rows as usize,
            skipped: r.skipped,
            skip_reasons: r.skip_reasons.clone(),
            currency_assumed: None,
            warnings: r.warnings.clone(),
        },
    );
    if args.json {
        print_json(&serde_json::json!({
            "entity": r.entity, "file": r.file, "rows": r.rows,
            "inserted": r.inserted, "updated": r.updated, "unchanged": r.unchanged, "skipped": r.skipped, "seconds": secs,
            "warnings": r.warnings,
        }))
    } else {
        print(&format!(
            "{}: {} {} read in {secs:.1} s: {} new, {} updated, {} unchanged\n",
            r.file,
            r.inserted + r.updated + r.unchanged,
            r.entity,
            r.inserted,
            r.updated,
            r.unchanged
        ))
    }
}
