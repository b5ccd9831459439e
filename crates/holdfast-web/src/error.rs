//! One error shape for every API answer that is not a success:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use holdfast_app::ErrorKind;
use serde::Serialize;
use utoipa::ToSchema;

/// An API error: its HTTP status and the body clients read.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable `code`, a message for people and, for bad input, the field.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `too_large`,
    /// `unprocessable`, `too_many_requests`, `unavailable` or `internal`.
    pub code: String,
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), field: None }
    }
    pub fn bad(field: &str, message: impl Into<String>) -> ApiError {
        ApiError { field: Some(field.to_owned()), ..ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message) }
    }
    pub fn unprocessable(field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError { field: field.map(str::to_owned), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message) }
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in or send Authorization: Bearer <token>")
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

impl From<holdfast_app::Error> for ApiError {
    fn from(e: holdfast_app::Error) -> ApiError {
        let (status, code) = match e.kind {
            ErrorKind::User => (StatusCode::BAD_REQUEST, "bad_request"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        // Internal details (SQL, paths) stay in the server's log, not in the answer.
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            eprintln!("holdfast serve: internal error: {e}");
            "internal error; the server's log has the details".to_owned()
        } else {
            e.to_string()
        };
        ApiError::new(status, code, message)
    }
}

impl From<holdfast_store::Error> for ApiError {
    fn from(e: holdfast_store::Error) -> ApiError {
        holdfast_app::Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message, field: self.field } };
        (self.status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
