//! The hub's errors: each has a stable `code` and an HTTP status; a refused request answers
//! `{"code", "message"}` and has changed nothing. Errors of the core keep the core's code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The core refused the input (a malformed batch: `INGEST_REJECTED`, …).
    #[error("{0}")]
    Core(#[from] aisle::Error),
    #[error("{0}")]
    TooLarge(String),
    #[error("rate limit exceeded for {what}; retry after {retry_after_s} s")]
    RateLimited { what: String, retry_after_s: u64 },
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("database: {0}")]
    Database(String),
    #[error(
        "database schema version {found} is newer than this hub knows ({known}); upgrade the hub"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("configuration: {0}")]
    Config(String),
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = HubError> = std::result::Result<T, E>;

impl HubError {
    pub fn code(&self) -> &str {
        match self {
            HubError::Core(e) => e.code(),
            HubError::TooLarge(_) => "PAYLOAD_TOO_LARGE",
            HubError::RateLimited { .. } => "RATE_LIMITED",
            HubError::Unauthorized => "UNAUTHORIZED",
            HubError::Database(_) => "DATABASE_UNAVAILABLE",
            HubError::SchemaTooNew { .. } => "SCHEMA_TOO_NEW",
            HubError::Config(_) => "INVALID_CONFIG",
            HubError::Internal(_) => "INTERNAL",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            HubError::Core(_) => StatusCode::BAD_REQUEST,
            HubError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HubError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            HubError::Unauthorized => StatusCode::UNAUTHORIZED,
            // The store retries 5xx: the batch lands once the database is back.
            HubError::Database(_) | HubError::SchemaTooNew { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            HubError::Config(_) | HubError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<postgres::Error> for HubError {
    fn from(e: postgres::Error) -> HubError {
        HubError::Database(match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => e.to_string(),
        })
    }
}

impl From<r2d2::Error> for HubError {
    fn from(e: r2d2::Error) -> HubError {
        HubError::Database(format!("no connection: {e}"))
    }
}

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> HubError {
        HubError::Database(e.to_string())
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::info!(code = self.code(), error = %self, "request refused");
        }
        let body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        let mut resp = (status, axum::Json(body)).into_response();
        if let HubError::RateLimited { retry_after_s, .. } = &self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
        }
        resp
    }
}
