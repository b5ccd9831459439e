//! `holdfast backup`: a consistent copy of the store in one file.

use crate::output::print;
use crate::session::Session;
use crate::Global;
use std::path::PathBuf;

/// Writes a consistent copy of a SQLite store to FILE (`VACUUM INTO`): one compact file that opens
/// as a store of its own (`--db sqlite://FILE`), taken while others may read and write. FILE must
/// not exist. (Every command leaves the store's `.db` file holding all its rows, so copying it
/// while no command runs is a backup too.) A PostgreSQL store is backed up with `pg_dump`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  holdfast --db sqlite://shop.db backup shop-2026-12-05.db")]
pub struct Args {
    /// Where to write the copy (must not exist).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn run(args: Args, g: &Global) -> anyhow::Result<()> {
    let s = Session::new(g)?;
    let app = s.open_existing()?;
    s.run(app.backup(&args.file))?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    print(&format!("{} backed up to {} ({:.1} MB)\n", app.url(), args.file.display(), size as f64 / 1e6))
}
