//! The one place errors become HTTP: status codes and `{"errors": [...]}` bodies. Every
//! error answer, the core's and the HTTP layer's own refusals alike, is built here.

use axum::http::StatusCode;
use axum::response::Response as HttpResponse;
use serde_json::json;

use crate::error::Error;
use vaultrs_storage::Error as StorageError;

/// Status and error messages for `err`. Internal details are logged, never returned.
pub fn status_and_messages(err: &Error) -> (StatusCode, Vec<String>) {
    let msg = |s: &str| vec![s.to_owned()];
    match err {
        Error::InvalidRequest(m) => (StatusCode::BAD_REQUEST, vec![m.clone()]),
        Error::PermissionDenied => (StatusCode::FORBIDDEN, msg("permission denied")),
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, vec![m.clone()]),
        Error::NotFound => (StatusCode::NOT_FOUND, Vec::new()),
        Error::UnsupportedPath(m) => (StatusCode::NOT_FOUND, vec![m.clone()]),
        Error::UnsupportedOperation(m) => (StatusCode::METHOD_NOT_ALLOWED, vec![m.clone()]),
        Error::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, msg("request body too large")),
        Error::Sealed => (StatusCode::SERVICE_UNAVAILABLE, msg("Vault is sealed")),
        Error::NotInitialized => (StatusCode::BAD_REQUEST, msg("Vault is not initialized")),
        Error::Follower => (StatusCode::BAD_REQUEST, vec![err.to_string()]),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, vec![err.to_string()]),
        Error::Remote { status, messages } => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            messages.clone(),
        ),
        Error::Storage(e) => storage_status(e),
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, msg("internal error"))
        }
    }
}

fn storage_status(err: &StorageError) -> (StatusCode, Vec<String>) {
    let bad = |m: String| (StatusCode::BAD_REQUEST, vec![m]);
    match err {
        StorageError::InvalidKey { reason, .. } => bad(format!("invalid path: {reason}")),
        StorageError::Sealed => (
            StatusCode::SERVICE_UNAVAILABLE,
            vec!["Vault is sealed".into()],
        ),
        StorageError::NotInitialized => bad("Vault is not initialized".into()),
        StorageError::AlreadyInitialized => bad("Vault is already initialized".into()),
        StorageError::InvalidUnsealKey => bad("invalid key".into()),
        StorageError::DuplicateShare => bad(err.to_string()),
        StorageError::InvalidRequest(m) => bad(m.clone()),
        StorageError::Follower(_) => bad(Error::Follower.to_string()),
        StorageError::Integrity { .. }
        | StorageError::UnknownTerm { .. }
        | StorageError::Corrupt { .. }
        | StorageError::Resync { .. }
        | StorageError::Lagged
        | StorageError::Poisoned
        | StorageError::Io { .. } => {
            tracing::error!(error = %err, "storage error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                vec!["internal error".into()],
            )
        }
    }
}

/// The answer for `err`: its status and `{"errors": [...]}`.
pub fn response(err: &Error) -> HttpResponse {
    let (status, messages) = status_and_messages(err);
    refusal(status, messages)
}

/// An error answer that no [`Error`] stands for (a method outside Vault's mapping, a bad
/// `sys/health` status code): `status` and `{"errors": messages}`, as Vault's
/// `respondError` writes it.
pub fn refusal(status: StatusCode, messages: Vec<String>) -> HttpResponse {
    super::json_response(status, &json!({ "errors": messages }))
}

/// `405 {"errors": []}`: Vault's answer to a method an endpoint does not serve.
pub fn method_not_allowed() -> HttpResponse {
    refusal(StatusCode::METHOD_NOT_ALLOWED, Vec::new())
}
