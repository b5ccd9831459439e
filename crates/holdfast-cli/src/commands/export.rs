//! `holdfast export`: an entity of the store as CSV that `holdfast import` reads back.

use crate::store_input::Db;
use crate::Global;
use anyhow::Context;
use holdfast_store::export::Records;
use holdfast_store::Entity;
use std::path::PathBuf;

/// Writes every row of an entity as CSV (times RFC 3339 UTC, amounts in major units), in the
/// columns `holdfast import` reads: leaving Holdfast is as easy as joining.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast --db sqlite://shop.db export orders --out orders.csv\n  holdfast --db sqlite://shop.db export customers > customers.csv")]
pub struct Args {
    /// customers, orders, events, subscriptions, feedback, notes, dates, contacts or interactions.
    #[arg(value_name = "ENTITY", value_parser = parse_what)]
    pub entity: What,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// An imported entity or the records people add by hand.
#[derive(Clone, Copy, Debug)]
pub enum What {
    Entity(Entity),
    Records(Records),
}

fn parse_what(s: &str) -> Result<What, String> {
    match (s.parse::<Entity>(), Records::parse(s)) {
        (Ok(e), _) => Ok(What::Entity(e)),
        (_, Some(r)) => Ok(What::Records(r)),
        _ => Err(format!("{s:?}: expected customers, orders, events, subscriptions, feedback, notes, dates, contacts or interactions")),
    }
}

fn export(db: &Db, what: What, out: impl std::io::Write) -> anyhow::Result<u64> {
    Ok(match what {
        What::Entity(e) => db.run(db.store.export_csv(db.ws.id, e, out))?,
        What::Records(r) => db.run(db.store.export_records_csv(db.ws.id, r, out))?,
    })
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let db = Db::open_existing(&g.db)?;
    let n = match &args.out {
        Some(p) => {
            let f = std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            export(&db, args.entity, f)?
        }
        None => export(&db, args.entity, std::io::stdout().lock())?,
    };
    if let (Some(p), false) = (&args.out, g.quiet) {
        let name = match args.entity {
            What::Entity(e) => e.table(),
            What::Records(r) => r.as_str(),
        };
        eprintln!("{n} {name} written to {}", p.display());
    }
    Ok(())
}
