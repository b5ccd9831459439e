//! `holdfast import`: a file of orders, customers, events, subscriptions, feedback, notes, important
//! dates, contacts, interactions or experiment assignments into the store.

use crate::args::OrdersInput;
use crate::output::{print, print_json};
use crate::session::Session;
use crate::Global;
use holdfast_store::{CampaignSettings, Entity};
use std::path::PathBuf;

/// What a file holds: one of the store's entities, or experiment assignments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    Entity(Entity),
    Assignments,
}

impl std::str::FromStr for What {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case("assignments") {
            return Ok(What::Assignments);
        }
        s.parse::<Entity>().map(What::Entity).map_err(|e| e.replace(" or interactions)", ", interactions or assignments)"))
    }
}

/// The planned share of each group (one argument, so clap does not take it for a list).
#[derive(Clone, Debug, PartialEq)]
pub struct Split(pub Vec<(String, f64)>);

/// `control=0.1,treatment=0.9`: the planned share of each group.
fn parse_split(s: &str) -> Result<Split, String> {
    let bad = || format!("{s:?}: expected GROUP=SHARE,… e.g. control=0.1,treatment=0.9");
    let split: Vec<(String, f64)> = s
        .split(',')
        .map(|part| {
            let (g, v) = part.split_once('=').ok_or_else(bad)?;
            let v: f64 = v.trim().parse().map_err(|_| bad())?;
            if g.trim().is_empty() || !(v >= 0.0 && v.is_finite()) {
                return Err(bad());
            }
            Ok((g.trim().to_owned(), v))
        })
        .collect::<Result<_, _>>()?;
    if split.len() < 2 || split.iter().map(|(_, v)| v).sum::<f64>() <= 0.0 {
        return Err(bad());
    }
    Ok(Split(split))
}

fn parse_margin(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if s.trim().ends_with('%') && v > 0.0 && v <= 100.0 => Ok(v / 100.0),
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{s:?}: expected the share of revenue that is gross profit, e.g. 0.35 or 35%")),
    }
}

/// Settings of the campaigns an assignments file names.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CampaignArgs {
    /// Assignments: the attribution window in days after each assignment (default 30 for a new campaign).
    #[arg(long, value_name = "DAYS")]
    pub window: Option<u32>,
    /// Assignments: the planned share of each group, for the sample-ratio check, e.g. control=0.1,treatment=0.9.
    #[arg(long, value_name = "GROUP=SHARE,…", value_parser = parse_split)]
    pub split: Option<Split>,
    /// Assignments: the gross margin (share of revenue that is profit), e.g. 0.35 or 35%.
    #[arg(long, value_name = "SHARE", value_parser = parse_margin)]
    pub margin: Option<f64>,
}

/// Imports a file into the store, in one transaction: any bad row leaves the store as it was.
/// Rows are keyed by their id (order_id, subscription_id, note_id, date_id, contact_id,
/// interaction_id; without an id column, and for events and feedback, by their content): importing
/// the same file twice changes nothing, a changed row updates. Customers named by a file and not
/// in the store yet are created — except by an assignments file, whose customers must be there.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  holdfast --db sqlite://shop.db import orders orders.csv\n  holdfast --db sqlite://shop.db import orders orders.xlsx --skip-bad-rows\n  holdfast --db postgres://postgres@127.0.0.1/shop import customers customers.csv\n  holdfast --db sqlite://shop.db import notes notes.csv\n  holdfast --db sqlite://shop.db import assignments winback.csv --window 30 \\\n      --split control=0.1,treatment=0.9 --margin 0.35\n\nFiles: CSV or other delimited text (UTF-8, UTF-16, Windows-1251, KOI8-R), xlsx, xls or ods — told by\ntheir content, not their name; the first sheet with data of a workbook.\n\nColumns (header aliases in English, Russian, Ukrainian, Bulgarian; --map FIELD=HEADER to override):\n  orders        customer, date, amount (required); order_id, status, currency, product, category,\n                quantity, refunded_amount — rows sharing an order_id are lines of one order\n  customers     customer_id, name, email, phone, kind, owner, tags, created_at, birthday,\n                email|sms|phone|messenger _consent_at, _unsubscribed_at; consents (JSON)\n  events        customer_id, kind, at (required); properties (JSON)\n  subscriptions customer_id, monthly_amount, started_at (required); subscription_id, plan, currency,\n                ended_at, cancel_reason\n  feedback      customer_id, score 0–10 (required); survey, comment, touchpoint, at\n  notes         note_id, customer_id, body, pain_points, goals, preferred_channel, preferred_time,\n                works_mornings (yes/no), communication_style, author, created_at\n  dates         date_id, customer_id, kind, label, date, yearly (yes/no, default yes)\n  contacts      contact_id, customer_id, name, role, email, phone\n  interactions  interaction_id, customer_id, kind (call, meeting, email, message, other), at,\n                with, by, summary\n  assignments   customer_id, campaign, group (treatment, control or a variant), assigned_at,\n                cost (per customer, workspace currency); with --window DAYS --split … --margin …\n\nDates from 1900-01-01 to tomorrow are accepted (--date-range to change); a bad row stops the import\nunless --skip-bad-rows, and the store is left as it was."
)]
pub struct Args {
    /// What the file holds: orders, customers, events, subscriptions, feedback, notes, dates,
    /// contacts, interactions or assignments (who was in which group of a campaign).
    #[arg(value_name = "ENTITY")]
    pub entity: What,
    /// The file: CSV or other delimited text with a header, or a spreadsheet (xlsx, xls, ods);
    /// format, delimiter, encoding, number and date formats are told from its content.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub input: OrdersInput,
    #[command(flatten)]
    pub campaign: CampaignArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let entity = match args.entity {
        What::Assignments => return run_assignments(args, g),
        What::Entity(e) => e,
    };
    let c = &args.campaign;
    anyhow::ensure!(c.window.is_none() && c.split.is_none() && c.margin.is_none(), "--window, --split and --margin go with `import assignments` only");
    let s = Session::new(g)?;
    let app = s.open()?;
    let started = std::time::Instant::now();
    let bar = s.bar();
    let r = s.run(holdfast_app::import_file(&app, entity, &args.file, &args.input.read_options(), &bar))?;
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

/// `holdfast import assignments FILE`: who was in which group of which campaign, in one transaction.
fn run_assignments(args: Args, g: &Global) -> anyhow::Result<()> {
    use holdfast_app::experiments::{import_assignments, AssignmentOptions, FileInput};
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    let started = std::time::Instant::now();
    let bar = s.bar();
    let c = args.campaign;
    let opts = AssignmentOptions {
        read: args.input.read_options(),
        settings: CampaignSettings { window_days: c.window, planned_split: c.split.map(|s| s.0), margin: c.margin },
    };
    let r = s.run(import_assignments(&app, FileInput::Path(&args.file), &opts, &bar))?;
    let secs = started.elapsed().as_secs_f64();
    if !s.quiet {
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
    }
    if args.json {
        return print_json(&serde_json::json!({
            "entity": "assignments", "file": r.file, "rows": r.rows, "campaigns": r.campaigns,
            "inserted": r.inserted, "updated": r.updated, "unchanged": r.unchanged, "repeated": r.repeated, "warnings": r.warnings, "seconds": secs,
        }));
    }
    print(&format!(
        "{}: {} assignments of campaign{} {} read in {secs:.1} s: {} new, {} updated, {} unchanged\n",
        r.file,
        r.rows,
        if r.campaigns.len() == 1 { "" } else { "s" },
        r.campaigns.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
        r.inserted,
        r.updated,
        r.unchanged
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_splits_and_margins() {
        assert_eq!("assignments".parse::<What>(), Ok(What::Assignments));
        assert_eq!("dates".parse::<What>(), Ok(What::Entity(Entity::Dates)));
        assert!("bogus".parse::<What>().unwrap_err().contains("interactions or assignments"));
        assert_eq!(parse_split("control=0.1, treatment=0.9"), Ok(Split(vec![("control".into(), 0.1), ("treatment".into(), 0.9)])));
        assert!(parse_split("control=0.1").is_err() && parse_split("a=x,b=1").is_err());
        assert_eq!(parse_margin("35%"), Ok(0.35));
        assert_eq!(parse_margin("0.4"), Ok(0.4));
        assert!(parse_margin("40").is_err());
    }
}
