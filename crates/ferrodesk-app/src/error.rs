//! The one error type of the use cases; the web layer renders it as problem+json.

use ferrodesk_core::validate::FieldError;
use ferrodesk_store::StoreError;

/// Why a use case did not happen. Every variant leaves the database unchanged.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No credentials, or bad ones.
    #[error("authentication required")]
    Unauthenticated,
    /// The thing does not exist, or the caller may not see it (never told apart).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may see the thing but not do this to it.
    #[error("{message}")]
    Forbidden {
        /// Machine code.
        code: &'static str,
        /// Sentence.
        message: String,
    },
    /// The input is wrong; every problem is listed.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// Pre-checks of a checked workflow failed; every failed check is listed by code.
    #[error("pre-checks failed")]
    PrechecksFailed(Vec<FieldError>),
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Machine code.
        code: &'static str,
        /// Sentence.
        message: String,
    },
    /// `If-Match` named a version that is no longer current.
    #[error("the ticket has changed: it is at version {current}")]
    Stale {
        /// The current version.
        current: i64,
    },
    /// The password was right; two-factor sign-in also needs a code.
    #[error("enter the code of your authenticator app (or a recovery code)")]
    TwoFactorRequired,
    /// Too many failed sign-ins: the account is locked for a while.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s or ask an admin")]
    Locked {
        /// Seconds until the lockout ends.
        retry_after_secs: i64,
    },
    /// More bytes than allowed (an upload, a comment's attachments); nothing was stored.
    #[error("{message}")]
    TooLarge {
        /// Sentence, naming the limit.
        message: String,
    },
    /// A failure of ours; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Forbidden with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, code, message)])
    }
}

/// Unique constraints and the field they protect: (constraint name or SQLite columns, field).
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("users_email_unique", "users.email_lower", "email"),
    (
        "organizations_name_unique",
        "organizations.name_lower",
        "name",
    ),
    (
        "agent_groups_name_unique",
        "agent_groups.name_lower",
        "name",
    ),
    ("statuses_name_unique", "statuses.name_lower", "name"),
    ("custom_fields_key_unique", "custom_fields.key", "key"),
];

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unique(name) => {
                for (pg, sqlite, field) in UNIQUE_FIELDS {
                    if name.contains(pg) || name.contains(sqlite) {
                        return AppError::invalid(
                            field,
                            "taken",
                            format!("{field} is already in use"),
                        );
                    }
                }
                AppError::Conflict {
                    code: "conflict",
                    message: "the request conflicts with existing data".into(),
                }
            }
            StoreError::ForeignKey(_) => AppError::Conflict {
                code: "in_use",
                message: "the record is referenced by other records".into(),
            },
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::KeyUsed => AppError::Conflict {
                code: "idempotency_key_used",
                message: "an earlier request with this Idempotency-Key was answered first".into(),
            },
            StoreError::NotRestored(keys) => AppError::Conflict {
                code: "not_restored",
                message: format!(
                    "foreign keys added back after the initial load do not validate: {keys}"
                ),
            },
            other => AppError::Internal(other.to_string()),
        }
    }
}
