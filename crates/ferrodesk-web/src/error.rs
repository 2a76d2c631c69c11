//! Errors as RFC 9457 problem+json, with a stable machine code and, for invalid input,
//! one entry per field. Causes of 5xx answers are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferrodesk_app::AppError;
use ferrodesk_core::validate::FieldError;
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

/// The problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened, for people.
    pub detail: String,
    /// Stable machine code.
    pub code: String,
    /// For invalid input: each field's problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}

impl Problem {
    fn new(status: StatusCode, code: &str, detail: String, errors: Vec<FieldError>) -> Problem {
        Problem {
            kind: format!("https://ferrodesk.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors,
        }
    }

    /// The problem document an error answers with (the response adds its headers).
    pub fn of(e: AppError) -> Problem {
        match e {
            AppError::Unauthenticated => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign in, or send Authorization: Bearer <token>".into(),
                vec![],
            ),
            AppError::NotFound(what) => Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                vec![],
            ),
            AppError::Forbidden { code, message } => {
                Problem::new(StatusCode::FORBIDDEN, code, message, vec![])
            }
            AppError::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail, errors)
            }
            AppError::PrechecksFailed(errors) => {
                let detail = format!(
                    "nothing was changed; failed pre-checks: {}",
                    errors
                        .iter()
                        .map(|e| e.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "prechecks_failed",
                    detail,
                    errors,
                )
            }
            AppError::Conflict { code, message } => {
                Problem::new(StatusCode::CONFLICT, code, message, vec![])
            }
            AppError::TwoFactorRequired => Problem::new(
                StatusCode::UNAUTHORIZED,
                "two_factor_required",
                "the password is right; send `code`: the 6-digit code of your authenticator app, or a recovery code".into(),
                vec![],
            ),
            AppError::Locked { retry_after_secs } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "account_locked",
                format!(
                    "too many failed sign-ins: this account is locked for {} more minute(s); an admin can lift the lock",
                    (retry_after_secs + 59) / 60
                ),
                vec![],
            ),
            AppError::Stale { current } => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                format!(
                    "the ticket was changed by someone else; it is now at version {current}: reload and retry"
                ),
                vec![],
            ),
            AppError::TooLarge { message } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message, vec![])
            }
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; it has been logged".into(),
                    vec![],
                )
            }
        }
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
}

/// Renders a problem response.
pub fn problem(
    status: StatusCode,
    code: &str,
    detail: String,
    errors: Vec<FieldError>,
) -> Response {
    Problem::new(status, code, detail, errors).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let header = match &self.0 {
            AppError::Unauthenticated => {
                Some((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")))
            }
            AppError::Locked { retry_after_secs } => {
                Some((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)))
            }
            AppError::Stale { current } => HeaderValue::from_str(&format!("\"{current}\""))
                .ok()
                .map(|v| (header::ETAG, v)),
            _ => None,
        };
        let mut r = Problem::of(self.0).into_response();
        if let Some((name, value)) = header {
            r.headers_mut().insert(name, value);
        }
        r
    }
}
