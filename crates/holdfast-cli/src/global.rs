//! Options every command accepts.

/// Options shared by all commands.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// The store: `sqlite://holdfast.db` (embedded, default) or `postgres://user@host/db`.
    #[arg(long, global = true, env = "HOLDFAST_DB", default_value = "sqlite://holdfast.db")]
    pub db: String,
    /// Hide progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
}
