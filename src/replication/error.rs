//! The two error types of activation and the cluster PKI, each variant naming the step that
//! failed. Messages are safe to show an operator: they never hold a token, a jti, a key or
//! a certificate body.

use thiserror::Error;

/// Why minting, checking or redeeming an activation token, or sealing or opening the
/// activation bundle, failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ActivationError {
    /// Not a well-formed activation token (not a JWT, bad base64 or JSON, a claim of the
    /// wrong type, an unexpected algorithm).
    #[error("activation token is malformed: {0}")]
    Malformed(String),
    /// The signature does not verify under this primary's activation key.
    #[error("activation token signature is invalid (not issued by this primary, or altered)")]
    BadSignature,
    /// Signed by this primary but not an activation token.
    #[error("token is not a replication activation token")]
    WrongType,
    /// Issued for another cluster id.
    #[error("activation token was issued by cluster {token}, not by this cluster ({ours})")]
    WrongCluster { token: String, ours: String },
    /// Past its `exp`.
    #[error("activation token expired at unix time {expired_at}")]
    Expired { expired_at: u64 },
    /// Before its `nbf`.
    #[error("activation token is not valid before unix time {valid_from}")]
    NotYetValid { valid_from: u64 },
    /// No token was ever issued for this secondary id (or its record was removed).
    #[error("unknown secondary {0:?}: no activation token was issued for it")]
    UnknownSecondary(String),
    /// The secondary was revoked (`revoke-secondary`); a new token lifts this.
    #[error("secondary {0:?} is revoked; issue a new activation token for it")]
    Revoked(String),
    /// This token was already redeemed once (a replay).
    #[error("activation token was already used")]
    AlreadyUsed,
    /// A newer token was issued for the same secondary; only the newest one is honoured.
    #[error("activation token for secondary {0:?} was replaced by a newer one")]
    Superseded(String),
    /// Signed by this primary for a known secondary, but no record of this token is left
    /// (the ledger was reset or pruned).
    #[error("activation token is not known to this primary; issue a new one")]
    UnknownToken,
    /// A token is asked for an id whose secondary is active.
    #[error(
        "secondary {0:?} is already active; revoke it first (revoke-secondary) or choose another id"
    )]
    SecondaryActive(String),
    /// The secondary id breaks the id rules.
    #[error("invalid secondary id: {0}")]
    InvalidSecondaryId(String),
    /// The secondary's X25519 public key is missing, malformed or of low order.
    #[error("invalid secondary public key: {0}")]
    InvalidPublicKey(String),
    /// The sealed activation bundle is not well formed (version, base64, sizes).
    #[error("activation bundle is malformed: {0}")]
    MalformedBundle(String),
    /// The activation bundle does not open: another key, another token, or altered.
    #[error("activation bundle does not decrypt (wrong key or token, or altered in transit)")]
    Decrypt,
    /// The bundle opened but does not belong to the token the secondary sent.
    #[error("activation bundle does not match the token: {0}")]
    BundleMismatch(String),
    /// The activation token's time claims or TTL are impossible.
    #[error("invalid activation token request: {0}")]
    InvalidRequest(String),
    /// Issuing the secondary's certificate failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A persisted key or state does not load, or encoding failed: a bug or corruption.
    #[error("activation internal error: {0}")]
    Internal(String),
}

/// Why building or using the cluster CA, its certificates or the TLS configurations failed,
/// or why a presented client certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PkiError {
    /// A cluster address that cannot name a certificate (empty, bad port, unspecified IP).
    #[error("invalid cluster address {addr:?}: {reason}")]
    InvalidAddress { addr: String, reason: String },
    /// The clock is outside what certificates can express.
    #[error("clock out of range for certificates (unix time {0})")]
    Clock(u64),
    /// Generating a key or certificate failed.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// Persisted CA state or a PEM given by the caller does not load.
    #[error("invalid cluster PKI state: {0}")]
    InvalidState(String),
    /// The peer presented no certificate.
    #[error("no client certificate presented")]
    NoClientCertificate,
    /// The presented certificate is not a secondary's certificate of this cluster's CA
    /// (unparsable, wrong usage, no id).
    #[error("client certificate is not a replication secondary certificate: {0}")]
    NotASecondary(String),
    /// The presented chain does not verify against the cluster CA (other CA, expired).
    #[error("client certificate is not trusted by the cluster CA: {0}")]
    Untrusted(String),
    /// The certificate's secondary id or serial is revoked.
    #[error("secondary {id:?} certificate is revoked")]
    Revoked { id: String },
    /// Building a TLS configuration failed.
    #[error("cluster TLS configuration: {0}")]
    Tls(String),
}

impl From<ActivationError> for crate::Error {
    /// Everything the requester got wrong is a 400 with the step named (Vault answers 400
    /// to a bad unwrap too); broken state of our own is an internal error.
    fn from(e: ActivationError) -> Self {
        match e {
            ActivationError::Internal(_) => crate::Error::Internal(e.to_string()),
            ActivationError::Pki(p) => p.into(),
            other => crate::Error::InvalidRequest(other.to_string()),
        }
    }
}

impl From<PkiError> for crate::Error {
    fn from(e: PkiError) -> Self {
        match e {
            PkiError::InvalidAddress { .. } => crate::Error::InvalidRequest(e.to_string()),
            PkiError::NoClientCertificate
            | PkiError::NotASecondary(_)
            | PkiError::Untrusted(_)
            | PkiError::Revoked { .. } => crate::Error::Forbidden(e.to_string()),
            PkiError::Clock(_)
            | PkiError::Generate(_)
            | PkiError::InvalidState(_)
            | PkiError::Tls(_) => crate::Error::Internal(e.to_string()),
        }
    }
}
