//! An open store and the workspace the front end works in.

use crate::error::{Error, Result};
use holdfast_core::Calendar;
use holdfast_store::{Store, Workspace};

/// The workspace a single-team installation works in.
pub const DEFAULT_WORKSPACE: &str = "default";

/// An open store and one of its workspaces: what every store workflow takes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub ws: Workspace,
}

impl App {
    /// Opens the store at `url` (creating a SQLite file if needed) and its default workspace.
    pub async fn open(url: &str) -> Result<App> {
        let store = Store::open(url).await?;
        let ws = store.workspace(DEFAULT_WORKSPACE).await.map_err(|e| Error::from(e).context(format!("cannot open the workspace in {}", store.url())))?;
        Ok(App { store, ws })
    }

    /// Opens a store that must already exist: a missing SQLite file is a "not found" error, not
    /// a new empty store.
    pub async fn open_existing(url: &str) -> Result<App> {
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let file = rest.split('?').next().unwrap_or(rest);
            if !file.contains(":memory:") && !std::path::Path::new(file).exists() {
                return Err(Error::not_found(format!("no store at {url}: the file {file} does not exist (import orders into it first)")));
            }
        }
        App::open(url).await
    }

    /// The workspace calendar (its time zone).
    pub fn calendar(&self) -> Result<Calendar> {
        Calendar::from_name(&self.ws.time_zone).map_err(|e| Error::internal(format!("the workspace's time zone: {e}")))
    }

    /// The workspace's activity (events, feedback, subscriptions) as the flags and the learned
    /// churn risk take it.
    pub async fn activity(&self) -> Result<holdfast_core::flags::Activity> {
        Ok(self.store.load_activity(self.ws.id, None).await?.to_core())
    }

    /// The store's URL with any password hidden.
    pub fn url(&self) -> &str {
        self.store.url()
    }

    /// Closes the store ([`holdfast_store::Store::close`]): a SQLite file then holds every row by
    /// itself. Front ends call it when they are done — the CLI after each command, a server on
    /// shutdown. Clones of the app share the store and are closed too.
    pub async fn close(self) -> Result<()> {
        Ok(self.store.close().await?)
    }

    /// Writes a consistent copy of the store to `path` ([`holdfast_store::Store::backup`]).
    pub async fn backup(&self, path: &std::path::Path) -> Result<()> {
        Ok(self.store.backup(path).await?)
    }
}
