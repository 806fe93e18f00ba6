//! Performance replication: a primary streams its replicated keys (ciphertext) to
//! secondaries, which apply them below their barrier.
//!
//! The data path:
//! - [`wire`]: the frames of the stream;
//! - the primary's side of the cluster channel is HTTP: `crate::http::cluster`;
//! - [`primary_client`]: a secondary's client of it;
//! - [`replica`]: a secondary's sync loop (Merkle sync, streaming, resync) and its
//!   acknowledgements;
//! - [`control`]: the cluster channel's control messages (acknowledgements, the notice
//!   that a promotion superseded a primary);
//! - [`state`]: a cluster's stored replication state.
//!
//! Activation, end to end (the caller owns storage and HTTP; nothing here does IO):
//!
//! 1. `primary/enable`: the primary makes its cluster CA ([`ca::ClusterCa::generate`]) and
//!    its activation-token key ([`token::JwtSigningKey::generate`]) and persists both, with
//!    an empty [`ledger::ActivationLedger`], under `local/replication/...`.
//! 2. `primary/secondary-token id=X`: [`activation::issue_secondary_token`] mints a signed
//!    JWT for X and records its one-time `jti` in the ledger (persist it, then answer).
//! 3. `secondary/enable token=...`: the secondary reads the token's (untrusted) claims for
//!    the primary's API address ([`activation::SecondaryActivation::start`]), and sends the
//!    token with a fresh ephemeral X25519 public key ([`activation::ActivationRequest`]).
//! 4. The primary runs [`activation::answer_activation`]: signature, type, cluster,
//!    expiry, then the ledger (known id, not revoked, not used, not superseded) burns the
//!    jti, issues the secondary's client certificate and seals the
//!    [`bundle::ActivationBundle`] to the secondary's key (AAD = the jti). It persists the
//!    ledger before it answers.
//! 5. The secondary opens the bundle ([`activation::SecondaryActivation::finish`]) and
//!    dials the primary's cluster listener with [`tls::client_config`].
//!
//! On the primary's cluster listener, the secondary on a connection is the
//! [`ca::SecondaryIdentity`] of its verified client certificate: [`tls::peer_identity`]
//! on a rustls connection, or an axum `Extension<SecondaryIdentity>` under
//! [`acceptor::ClusterAcceptor`]. Revocation is checked at every handshake against the live
//! [`tls::Revocations`] set.

pub mod acceptor;
pub mod activation;
pub mod bundle;
pub mod ca;
pub mod control;
pub mod error;
pub mod id;
pub mod ledger;
pub mod material;
pub mod primary_client;
pub mod replica;
pub mod secret;
pub mod state;
pub mod tls;
pub mod token;
pub mod wire;

pub use ca::{ClusterCa, RevokedSet, SecondaryIdentity};
pub use error::{ActivationError, PkiError};
pub use id::SecondaryId;
pub use secret::SecretString;

#[cfg(test)]
mod tests;
