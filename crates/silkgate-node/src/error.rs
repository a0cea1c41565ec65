//! The one error type of the HTTP services: client mistakes become a precise 4xx naming the
//! field; internal faults become a plain 500, logged once, with no database or peer text.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use silkgate_store::StoreError;

/// An error answer of the node's HTTP API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed or a field is invalid.
    #[error("field '{field}': {reason}")]
    BadRequest {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// No or unknown credentials.
    #[error("authentication required: {0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing there (or nothing the caller may see).
    #[error("{0} not found")]
    NotFound(String),
    /// Conflicts with the current state or an earlier request.
    #[error("field '{field}': {reason}")]
    Conflict {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A field or body is larger than allowed.
    #[error("field '{field}': {reason}")]
    TooLarge {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// The payload or a document failed verification.
    #[error("field '{field}': {reason}")]
    Unprocessable {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A peer node could not be reached or refused.
    #[error("peer node {peer}: {reason}")]
    Peer {
        /// The peer's state or id.
        peer: String,
        /// What happened, in our words.
        reason: String,
    },
    /// Something failed inside this node.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming `field`.
    pub fn bad(field: &str, reason: impl ToString) -> Self {
        Self::BadRequest {
            field: field.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// A 500; the detail is logged, never sent.
    pub fn internal(detail: impl ToString) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Peer { .. } => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Self::BadRequest { field, .. }
            | Self::Conflict { field, .. }
            | Self::TooLarge { field, .. }
            | Self::Unprocessable { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Detail of an error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// HTTP status code.
    pub status: u16,
    /// The request field at fault, when one is.
    pub field: Option<String>,
    /// Human-readable reason.
    pub reason: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let reason = match &self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                status: status.as_u16(),
                field: self.field().map(str::to_owned),
                reason,
            },
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IdempotencyConflict { key } => Self::Conflict {
                field: "request_id".into(),
                reason: format!("'{key}' was already used for a different request"),
            },
            StoreError::Duplicate { what, key } => Self::Conflict {
                field: what.replace(' ', "_"),
                reason: format!("{what} '{key}' already exists"),
            },
            other => Self::internal(other),
        }
    }
}
