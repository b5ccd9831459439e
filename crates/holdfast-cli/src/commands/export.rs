//! `holdfast export`: an entity of the store as CSV that `holdfast import` reads back.

use crate::session::Session;
use crate::Global;
use anyhow::Context;
use holdfast_store::Entity;
use std::path::PathBuf;

/// Writes every row of an entity as CSV (times RFC 3339 UTC, amounts in major units), in the
/// columns `holdfast import` reads: leaving Holdfast is as easy as joining.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  holdfast --db sqlite://shop.db export orders --out orders.csv\n  holdfast --db sqlite://shop.db export customers > customers.csv"
)]
pub struct Args {
    /// customers, orders, events, subscriptions, feedback, notes, dates, contacts or interactions.
    #[arg(value_name = "ENTITY")]
    pub entity: Entity,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let db = s.open_existing()?;
    let n = match &args.out {
        Some(p) => {
            let f = std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            s.store(db.store.export_csv(db.ws.id, args.entity, f))?
        }
        None => s.store(db.store.export_csv(db.ws.id, args.entity, std::io::stdout().lock()))?,
    };
    if let (Some(p), false) = (&args.out, g.quiet) {
        eprintln!("{n} {} written to {}", args.entity.name(), p.display());
    }
    Ok(())
}
