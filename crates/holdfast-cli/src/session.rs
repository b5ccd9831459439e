//! What a command needs around the application layer: the async runtime, the store of `--db`,
//! the source of its orders, progress bars and the notes reading left.

use crate::args::OrdersInput;
use crate::progress::Bar;
use crate::Global;
use holdfast_app::{App, ReadNotes, Source};
use std::path::Path;

/// One command's run. The stores it opened are closed when it ends, whether the command
/// succeeded or not ([`holdfast_app::App::close`]: a SQLite file then holds every row by itself).
pub struct Session {
    pub rt: tokio::runtime::Runtime,
    pub db: String,
    pub quiet: bool,
    opened: std::sync::Mutex<Vec<App>>,
}

impl Session {
    pub fn new(g: &Global) -> anyhow::Result<Session> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| holdfast_app::Error::internal(format!("cannot start the async runtime: {e}")))?;
        Ok(Session { rt, db: g.db.clone(), quiet: g.quiet, opened: std::sync::Mutex::new(Vec::new()) })
    }

    /// Runs an application-layer future to completion.
    pub fn run<T>(&self, f: impl std::future::Future<Output = holdfast_app::Result<T>>) -> anyhow::Result<T> {
        Ok(self.rt.block_on(f)?)
    }

    /// Opens the store of `--db`, creating a SQLite file when needed.
    pub fn open(&self) -> anyhow::Result<App> {
        let app = self.run(App::open(&self.db))?;
        Ok(self.keep(app))
    }

    /// Remembers an open store, to close it when the command ends.
    fn keep(&self, app: App) -> App {
        match self.opened.lock() {
            Ok(mut v) => v.push(app.clone()),
            Err(p) => p.into_inner().push(app.clone()),
        }
        app
    }

    /// Opens the store of `--db`, which must exist.
    pub fn open_existing(&self) -> anyhow::Result<App> {
        let app = self.run(App::open_existing(&self.db)).map_err(|e| match e.downcast::<holdfast_app::Error>() {
            Ok(e) if e.kind == holdfast_app::ErrorKind::NotFound => {
                anyhow::Error::from(holdfast_app::Error::not_found(format!("{}; e.g. `holdfast --db {} import orders FILE`, or pass --db", e.message, self.db)))
            }
            Ok(e) => e.into(),
            Err(e) => e,
        })?;
        Ok(self.keep(app))
    }

    /// The orders of a command: the file when given, else the store of `--db`.
    pub fn source(&self, orders: Option<&Path>, input: &OrdersInput) -> anyhow::Result<Source> {
        Ok(match orders {
            Some(p) => Source::File { path: p.to_path_buf(), read: input.read_options() },
            None => Source::Store(self.open_existing()?),
        })
    }

    /// A progress bar for long work (hidden with `--quiet`).
    pub fn bar(&self) -> Bar {
        Bar::new(self.quiet)
    }

    /// Says on stderr what reading `source` left out or assumed.
    /// Warnings are said even with `--quiet` (it hides progress, not doubts about the data).
    pub fn say_read_notes(&self, source: &str, n: &ReadNotes) {
        for w in &n.warnings {
            eprintln!("warning: {w}");
        }
        if self.quiet {
            return;
        }
        if n.skipped > 0 {
            eprintln!("skipped {} bad rows of {} in {source}:", n.skipped, n.rows);
            for r in &n.skip_reasons {
                eprintln!("  {r}");
            }
            if n.skipped > n.skip_reasons.len() {
                eprintln!("  … and {} more", n.skipped - n.skip_reasons.len());
            }
        }
        if let Some(c) = n.currency_assumed {
            eprintln!("note: {source} names no currency; amounts are taken as {c} (use --currency)");
        }
    }
}

impl Drop for Session {
    /// Closes every store the command opened (checkpointing SQLite's log into the file).
    fn drop(&mut self) {
        let opened = std::mem::take(match self.opened.get_mut() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        });
        for app in opened {
            let url = app.url().to_owned();
            if let Err(e) = self.rt.block_on(app.close()) {
                eprintln!("warning: closing {url}: {e}");
            }
        }
    }
}

/// The orders a reporting command works on, with its calendar and as-of instant.
pub struct Loaded {
    pub source: Source,
    pub cal: holdfast_core::Calendar,
    pub log: holdfast_core::OrderLog,
    pub as_of: holdfast_core::Instant,
}

impl Session {
    /// Loads the orders of `--orders FILE` or of the store, cuts days in `--tz` (default: the
    /// workspace's zone for the store, UTC for a file) and resolves `--as-of`. `lines`: also read
    /// the order lines (products).
    pub fn load(&self, orders: Option<&Path>, input: &OrdersInput, when: &crate::args::When, lines: bool) -> anyhow::Result<Loaded> {
        let source = self.source(orders, input)?;
        let cal = source.calendar(when.tz.as_deref()).map_err(|e| e.context("--tz"))?;
        let bar = self.bar();
        let loaded = self.run(holdfast_app::load_orders(&source, &cal, lines, &bar))?;
        self.say_read_notes(&source.name(), &loaded.notes);
        let as_of = holdfast_app::resolve_as_of(when.as_of.as_deref(), &loaded.log, &cal, &source.name()).map_err(|e| match &when.as_of {
            Some(_) => e.context("--as-of"),
            None => e,
        })?;
        Ok(Loaded { source, cal, log: loaded.log, as_of })
    }
}

impl Session {
    /// Runs a store future to completion; its error keeps its kind (user, not found, unavailable…).
    pub fn store<T>(&self, f: impl std::future::Future<Output = holdfast_store::Result<T>>) -> anyhow::Result<T> {
        Ok(self.rt.block_on(f).map_err(holdfast_app::Error::from)?)
    }
}
