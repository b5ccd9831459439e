//! The application layer's error: a message for a person and a kind for the front end — the CLI
//! maps it to an exit code, a web layer to an HTTP status.

use serde::Serialize;

/// What kind of failure, so each front end can answer the right way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input: a file, a value, a setting the user can fix.
    User,
    /// The thing asked for does not exist (a customer, a task, a store).
    NotFound,
    /// The request clashes with what is stored (e.g. a second open task of one kind).
    Conflict,
    /// A database or another service is not reachable now; trying again later may work.
    Unavailable,
    /// A bug or corrupt data: nobody but a maintainer can fix it.
    Internal,
}

impl ErrorKind {
    /// The process exit code of the CLI contract: 1 for what the user can fix, 2 for the rest.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::User | ErrorKind::NotFound | ErrorKind::Conflict => 1,
            ErrorKind::Unavailable | ErrorKind::Internal => 2,
        }
    }

    /// The HTTP status a web layer answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::User => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// An error with its kind and a message that says what went wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The reading option that would resolve it, for the front end to name (a flag, a field).
    pub option: Option<holdfast_import::ReadOption>,
    /// The input field at fault (`orders[3].ordered_at`), for an API to name.
    pub field: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), option: None, field: None }
    }
    pub fn user(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::User, message)
    }
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }
    /// A user error about one input field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error { field: Some(field.into()), ..Error::user(message) }
    }
    /// The same error with `context: ` in front of its message.
    pub fn context(self, context: impl std::fmt::Display) -> Error {
        Error { message: format!("{context}: {}", self.message), ..self }
    }
}

/// Whether a database error means the server is out of reach rather than a wrong request.
fn sqlx_kind(e: &sqlx::Error) -> ErrorKind {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => ErrorKind::Unavailable,
        E::Database(d) if d.is_unique_violation() || d.is_foreign_key_violation() => ErrorKind::Conflict,
        // SQLite: the database is locked or busy beyond the timeout; PostgreSQL: too many
        // connections, the server shutting down, the database missing.
        E::Database(d) if matches!(d.code().as_deref(), Some("5" | "6" | "53300" | "57P01" | "57P03")) => ErrorKind::Unavailable,
        E::Database(d) if d.code().as_deref() == Some("3D000") => ErrorKind::User,
        _ => ErrorKind::Internal,
    }
}

/// The kind of a store error.
pub fn store_error_kind(e: &holdfast_store::Error) -> ErrorKind {
    use holdfast_store::Error as S;
    match e {
        S::BadUrl(_) | S::TooNew { .. } | S::Row { .. } | S::Invalid(_) | S::NoDatabase { .. } | S::NoDirectory { .. } => ErrorKind::User,
        S::NotFound { .. } => ErrorKind::NotFound,
        S::Open { source, .. } => match sqlx_kind(source) {
            ErrorKind::Internal => ErrorKind::Unavailable,
            k => k,
        },
        S::Migrate { .. } | S::Corrupt(_) => ErrorKind::Internal,
        S::Db(source) => sqlx_kind(source),
        S::Sqlite(m) if m.contains("locked") || m.contains("busy") => ErrorKind::Unavailable,
        S::Sqlite(_) => ErrorKind::Internal,
    }
}

impl From<holdfast_store::Error> for Error {
    fn from(e: holdfast_store::Error) -> Error {
        Error::new(store_error_kind(&e), e.to_string())
    }
}

impl From<holdfast_import::ImportError> for Error {
    fn from(e: holdfast_import::ImportError) -> Error {
        Error { option: e.option(), ..Error::user(e.to_string()) }
    }
}

impl From<holdfast_models::CsvError> for Error {
    fn from(e: holdfast_models::CsvError) -> Error {
        Error::user(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_exit_codes_and_statuses() {
        assert_eq!(ErrorKind::User.exit_code(), 1);
        assert_eq!(ErrorKind::Unavailable.exit_code(), 2);
        assert_eq!(ErrorKind::Internal.exit_code(), 2);
        assert_eq!(ErrorKind::Conflict.http_status(), 409);
        let e: Error = holdfast_store::Error::NotFound { what: "customer \"C1\"".into() }.into();
        assert_eq!((e.kind, e.to_string().as_str()), (ErrorKind::NotFound, "customer \"C1\" not found"));
        let e: Error = holdfast_store::Error::Db(sqlx::Error::PoolTimedOut).into();
        assert_eq!(e.kind, ErrorKind::Unavailable);
    }
}
