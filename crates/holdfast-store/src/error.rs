//! The store's error type.

/// Everything that can go wrong in the store. `Row` errors name the source line so the caller can
/// prefix the file name; `NotFound` is split out so callers can answer "no such customer".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0:?} is not a database URL (expected sqlite://FILE, sqlite::memory: or postgres://USER@HOST/DB)")]
    BadUrl(String),
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    /// A SQLite file in a directory that does not exist.
    #[error("cannot open the database {url}: the directory {dir} does not exist")]
    NoDirectory { url: String, dir: String },
    /// The PostgreSQL server answers but has no database of that name.
    #[error("database {name} does not exist on {url} — create it with `createdb {name}`")]
    NoDatabase { url: String, name: String },
    #[error("the database {url} has schema version {found}, newer than this Holdfast knows (up to {known}); upgrade holdfast to open it")]
    TooNew { url: String, found: i64, known: i64 },
    #[error("cannot upgrade the schema of {url}: {source}")]
    Migrate { url: String, source: sqlx::migrate::MigrateError },
    #[error("{what} not found")]
    NotFound { what: String },
    /// A problem with one input row, found while writing it.
    #[error("line {line}{}: {message}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
    Row { line: u64, column: Option<String>, message: String },
    #[error("invalid data in the store: {0}")]
    Corrupt(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// An error SQLite reported to a statement the store stepped itself (bulk reads).
    #[error("database error: {0}")]
    Sqlite(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
