//! The server's one error type, grouped by what the caller can do about it.
//!
//! Only `http::error` turns these into status codes and `{"errors": [...]}` bodies.
//! Messages are shown to clients: they never carry secrets, and storage or internal
//! details are logged, not returned.

/// Result alias for the server.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or asks for something impossible.
    #[error("{0}")]
    InvalidRequest(String),
    /// No token, an unknown or expired token, or a policy that does not allow this.
    #[error("permission denied")]
    PermissionDenied,
    /// Refused with a specific reason (e.g. `bad token` on `auth/token/lookup`): 403.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing at this path (Vault answers 404 with an empty `errors` list).
    #[error("not found")]
    NotFound,
    /// No mount or handler serves this path.
    #[error("{0}")]
    UnsupportedPath(String),
    /// The path exists but not for this operation.
    #[error("{0}")]
    UnsupportedOperation(String),
    /// The request body is larger than the listener allows.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The barrier is sealed.
    #[error("Vault is sealed")]
    Sealed,
    /// The server has not been initialized.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// A write of replicated data on a follower (a replication secondary), where only the
    /// replication applier writes replicated keys. (Replication forwards such writes to
    /// the primary; this is what is left when it cannot.)
    #[error("replicated data is written on the primary: this server follows one")]
    Follower,
    /// The primary refused a forwarded request: its status and messages, passed on.
    #[error("{}", messages.join("; "))]
    Remote { status: u16, messages: Vec<String> },
    /// Not possible right now; the client may retry (503).
    #[error("{0}")]
    Unavailable(String),
    /// Storage failed underneath (logged in full; the client sees a generic message).
    #[error(transparent)]
    Storage(vaultrs_storage::Error),
    /// A bug or an unexpected state (logged; the client sees a generic message).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<vaultrs_storage::Error> for Error {
    /// A follower barrier's refusal is the core's one [`Error::Follower`], whichever layer
    /// it surfaced through (the core forwards on it).
    fn from(e: vaultrs_storage::Error) -> Self {
        match e {
            vaultrs_storage::Error::Follower(_) => Error::Follower,
            e => Error::Storage(e),
        }
    }
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidRequest(msg.into())
    }
}
