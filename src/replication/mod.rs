//! Performance replication: a primary streams its replicated keys (ciphertext) to
//! secondaries, which apply them below their barrier.
//!
//! - [`wire`]: the frames of the stream;
//! - the primary's side of the cluster channel is HTTP: `crate::http::cluster`;
//! - [`primary_client`]: a secondary's client of it;
//! - [`replica`]: a secondary's sync loop (Merkle sync, streaming, resync);
//! - [`state`]: a cluster's stored replication state.

pub mod primary_client;
pub mod replica;
pub mod state;
pub mod wire;
