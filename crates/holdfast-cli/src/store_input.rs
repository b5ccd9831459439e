//! Reading from and writing to the store (`--db`): opening it, the workspace, and the orders of a
//! workspace as an `OrderLog` for the commands that analyse orders.

use anyhow::Context;
use holdfast_core::{Calendar, OrderLog};
use holdfast_store::{Store, Workspace};

/// The workspace the CLI works in.
pub const WORKSPACE: &str = "default";

/// An open store with the runtime that drives it and the CLI's workspace.
pub struct Db {
    pub rt: holdfast_store::Runtime,
    pub store: Store,
    pub ws: Workspace,
}

impl Db {
    /// Opens the store at `db` (creating a SQLite file if needed) and the default workspace.
    pub fn open(db: &str) -> anyhow::Result<Db> {
        let rt = holdfast_store::runtime()?;
        let store = rt.block_on(Store::open(db))?;
        let ws = rt.block_on(store.workspace(WORKSPACE)).with_context(|| format!("cannot open the workspace in {}", store.url()))?;
        Ok(Db { rt, store, ws })
    }

    /// Opens a store that must already exist: a missing SQLite file is an error, not a new store.
    pub fn open_existing(db: &str) -> anyhow::Result<Db> {
        if let Some(rest) = db.strip_prefix("sqlite://").or_else(|| db.strip_prefix("sqlite:")) {
            let file = rest.split('?').next().unwrap_or(rest);
            if !file.contains(":memory:") && !std::path::Path::new(file).exists() {
                anyhow::bail!("no store at {db} (the file {file} does not exist); import data first with `holdfast --db {db} import orders FILE`, or pass --db");
            }
        }
        Db::open(db)
    }

    /// Runs a store future to completion.
    pub fn run<T>(&self, f: impl std::future::Future<Output = holdfast_store::Result<T>>) -> anyhow::Result<T> {
        Ok(self.rt.block_on(f)?)
    }

    /// The workspace calendar (its time zone).
    pub fn calendar(&self) -> anyhow::Result<Calendar> {
        Calendar::from_name(&self.ws.time_zone).map_err(|e| anyhow::anyhow!("workspace time zone: {e}"))
    }
}

/// The counted orders of the CLI's workspace in the store at `db`, loaded in bulk.
pub fn load_orders_from_store(db: &str) -> anyhow::Result<OrderLog> {
    let d = Db::open_existing(db)?;
    let log = d.run(d.store.load_order_log(d.ws.id))?;
    if log.is_empty() {
        anyhow::bail!("the store {} has no counted orders; import some with `holdfast --db {} import orders FILE`", d.store.url(), d.store.url());
    }
    Ok(log)
}

/// The orders of a command: from `path` when given, else from the store at `--db`.
pub fn load_orders_or_store(path: Option<&std::path::Path>, input: &crate::input::OrdersInput, cal: &Calendar, g: &crate::Global) -> anyhow::Result<OrderLog> {
    match path {
        Some(p) => crate::commands::analyze::load_orders(p, input, cal, g.quiet),
        None => load_orders_from_store(&g.db),
    }
}
