//! Storage snapshots: who may take or restore one, and a restore into the running server.
//!
//! The archive is the file backend's (`vaultrs_storage::snapshot`): ciphertext of the
//! whole store as of one sequence, streamed. The HTTP layer streams it out and in; the
//! core authorizes (through the request pipeline, so tokens, ACLs with `sudo`, use counts
//! and audit devices apply as to any request: [`Core::authorize_snapshot`]) and restores
//! ([`Core::restore_snapshot`]).
//!
//! A restore, as Vault's raft snapshot restore:
//!
//! 1. *Stage* the archive beside the running store, verifying every checksum, while the
//!    server keeps serving. A damaged or truncated upload fails here and changes nothing.
//! 2. *Check the keys*: the staged `core/keyring` must open with the running barrier's root
//!    key, or the snapshot belongs to another cluster and is refused unless forced.
//! 3. *Swap*: the active state stops as on a seal (background tasks finish what they
//!    started; requests get 503), the barrier is suspended (a write in flight cannot land
//!    in the restored store), the file backend swaps the stores atomically (old or new
//!    after a crash), and the read cache and change feed start over at the new log id, so
//!    the storage follower and the Merkle index rebuild from the restored tree.
//! 4. *Serve*: with the same root key the barrier resumes over the restored keyring and
//!    the core activates at once (tables, tokens, policies, audit devices as saved). A
//!    forced restore of another cluster's keys leaves the server sealed: it unseals with
//!    the snapshot's unseal keys.

use serde_json::Map;
use tokio::io::AsyncRead;
use vaultrs_storage::barrier::KEYRING_PATH;
use vaultrs_storage::Error as StorageError;

use super::{Core, Request, Response};
use crate::error::{Error, Result};
use crate::logical::Operation;

/// Vault's refusal of a snapshot whose keys are not this cluster's (raft snapshots).
pub const FOREIGN_KEYS: &str = "could not verify hash file, possibly the snapshot is using a \
     different set of unseal keys; use the snapshot-force API to bypass this check";

/// What a snapshot request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotOp {
    /// Take a snapshot (`GET`).
    Save,
    /// Restore one (`POST`); `force` skips the key check.
    Restore { force: bool },
}

/// The snapshot endpoints under `sys/`, relative to it, and what each does. Both spellings:
/// ours (`storage/snapshot*`) and Vault's raft paths, which its clients use.
pub fn endpoint(rel: &str, operation: Operation) -> Option<SnapshotOp> {
    let write = matches!(operation, Operation::Update | Operation::Create);
    match (rel.trim_end_matches('/'), operation) {
        ("storage/snapshot" | "storage/raft/snapshot", Operation::Read) => Some(SnapshotOp::Save),
        ("storage/snapshot-restore" | "storage/raft/snapshot", _) if write => {
            Some(SnapshotOp::Restore { force: false })
        }
        ("storage/snapshot-force" | "storage/raft/snapshot-force", _) if write => {
            Some(SnapshotOp::Restore { force: true })
        }
        _ => None,
    }
}

/// Whether `rel` (relative to `sys/`) is one of the snapshot paths, whatever the operation.
fn is_snapshot_path(rel: &str) -> bool {
    matches!(
        rel.trim_end_matches('/'),
        "storage/snapshot"
            | "storage/snapshot-restore"
            | "storage/snapshot-force"
            | "storage/raft/snapshot"
            | "storage/raft/snapshot-force"
    )
}

/// The system backend's part: a snapshot request that reached it passed the token, ACL
/// (`sudo`) and audit steps, and its answer is empty; the HTTP layer then streams. Any
/// other operation on these paths is unsupported.
pub(super) fn handle(op: Operation, rel: &str) -> Option<Result<Response>> {
    if !is_snapshot_path(rel) {
        return None;
    }
    Some(match endpoint(rel, op) {
        Some(_) => Ok(Response::empty()),
        None => Err(Error::UnsupportedOperation(format!(
            "unsupported operation {op:?} on sys/{rel}"
        ))),
    })
}

/// How a restore ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restored {
    /// The snapshot's keys are this server's: it serves the restored state already.
    Unsealed,
    /// A forced restore of another cluster's keys: sealed until unsealed with the
    /// snapshot's unseal keys.
    Sealed,
}

/// A staging failure: the upload's fault (damaged, truncated, not a snapshot) is a 400;
/// the server's own (its disk) stays a storage error.
fn staging_error(e: StorageError) -> Error {
    match e {
        StorageError::Corrupt { reason, .. } => {
            Error::invalid(format!("invalid snapshot: {reason}"))
        }
        StorageError::InvalidKey { key, reason } => {
            Error::invalid(format!("invalid snapshot: key {key:?}: {reason}"))
        }
        other => other.into(),
    }
}

impl Core {
    /// Runs a snapshot request (`path` relative to `/v1/`) through the pipeline with no
    /// data: token, ACL with `sudo`, a use of a limited token, audit devices. `Ok` means
    /// the caller may take or restore the snapshot.
    pub async fn authorize_snapshot(
        &self,
        operation: Operation,
        path: &str,
        token: Option<String>,
        remote_addr: Option<std::net::SocketAddr>,
    ) -> Result<()> {
        let req = Request {
            operation,
            path: path.to_owned(),
            data: Map::new(),
            token,
            wrap_ttl: None,
            id: crate::util::uuid(),
            remote_addr,
        };
        self.handle(req).await.map(drop)
    }

    /// Restores the snapshot read from `source` into the running server (module docs).
    /// Refused on a replication secondary, whose replicated data is its primary's.
    pub async fn restore_snapshot<R: AsyncRead + Unpin + Send>(
        &self,
        source: R,
        force: bool,
    ) -> Result<Restored> {
        if self.barrier.is_follower() {
            return Err(Error::invalid(
                "a replication secondary cannot restore a snapshot: its data is its primary's",
            ));
        }
        let staged = self
            .storage
            .file
            .stage_restore(source, |_| {})
            .await
            .map_err(staging_error)?;
        let _guard = self.transition.lock().await;
        let ours = match (self.is_sealed(), staged.get(KEYRING_PATH).await?) {
            (true, _) => Err(Error::Sealed),
            (false, Some(keyring)) => Ok(self.barrier.opens_keyring(&keyring)?),
            (false, None) => Ok(false),
        };
        let ours = match ours {
            Ok(false) if !force => Err(Error::invalid(FOREIGN_KEYS)),
            other => other,
        };
        let ours = match ours {
            Ok(ours) => ours,
            Err(e) => {
                staged.discard().await?;
                return Err(e);
            }
        };
        let info = staged.snapshot().clone();
        tracing::info!(
            seq = info.header.seq,
            keys = info.header.keys,
            "restoring a storage snapshot: stopping the active state"
        );
        self.stop_active().await;
        let suspended = self.barrier.suspend().await?;
        let committed = staged.commit().await;
        if let Err(e) = committed {
            // Not committed: the old store serves again (or storage is poisoned).
            tracing::error!(error = %e, "storage snapshot restore failed; resuming");
            self.resume_after(suspended).await;
            return Err(e.into());
        }
        self.storage.cache.clear();
        if let Err(e) = self.storage.feed.reset().await {
            tracing::error!(error = %e, "change feed reset after a restore failed; sealed");
            return Err(e.into());
        }
        if !ours {
            drop(suspended);
            tracing::info!("storage snapshot restored; sealed: unseal with the snapshot's keys");
            return Ok(Restored::Sealed);
        }
        self.barrier.resume(suspended).await?;
        if let Err(e) = self.activate().await {
            tracing::error!(error = %e, "activation after a restore failed; sealing");
            self.deactivate().await;
            return Err(e);
        }
        tracing::info!("storage snapshot restored; serving it");
        Ok(Restored::Unsealed)
    }

    /// After a restore that did not commit: the barrier and the core as they were.
    async fn resume_after(&self, suspended: vaultrs_storage::barrier::Suspended) {
        let resumed = async {
            self.barrier.resume(suspended).await?;
            self.activate().await.map(drop)
        }
        .await;
        if let Err(e) = resumed {
            tracing::error!(error = %e, "could not resume after a failed restore; sealing");
            self.deactivate().await;
        }
    }
}
