//! What is left to do after a mount leaves a path, made crash-resumable.
//!
//! Disabling a mount removes its table entry and then every key of its data; moving one
//! changes its path and then revokes what was issued through the old path. The table
//! change is one commit, but a mount's data can be larger than one commit may be (a batch
//! is at most `wal::MAX_RECORD`, 512 MiB, and a million keys is a fair fraction of that),
//! so the rest cannot always ride in the same batch. Instead the table change carries a
//! [`Cleanup`] record under [`PREFIX`] (a local key: each cluster finishes its own work;
//! the deletes of a replicated mount's data replicate like any other write), written in
//! the same commit. [`finish`] then does the work in bounded batches, the last of which
//! deletes the record. A crash anywhere leaves either the old table (nothing happened) or
//! the new table with its record, and [`resume`] finishes every record on the next unseal,
//! before the core serves a request. So no key of a disabled mount outlives it, whatever
//! the timing of a `kill -9`.

use serde::{Deserialize, Serialize};

use super::{Active, Core};
use crate::error::{Error, Result};

/// Where pending records live: `local/core/cleanup/<id>`.
pub(super) const PREFIX: &str = "local/core/cleanup/";

/// Keys deleted per commit when purging a mount's data.
const CHUNK: usize = 512;

const FORMAT_VERSION: u32 = 1;

/// What is still to be done for a mount that left `route`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Cleanup {
    version: u32,
    /// The route the mount left (for the logs).
    route: String,
    /// Revoke every lease (and so every token) under this request-path prefix.
    revoke: Option<String>,
    /// Delete every key under these storage prefixes.
    purge: Vec<String>,
}

/// A record, with the storage key it is kept under.
pub(super) struct Pending {
    key: String,
    cleanup: Cleanup,
}

impl Pending {
    fn new(route: &str, revoke: Option<String>, purge: Vec<String>) -> Self {
        Self {
            key: format!("{PREFIX}{}", crate::util::uuid()),
            cleanup: Cleanup {
                version: FORMAT_VERSION,
                route: route.to_owned(),
                revoke,
                purge,
            },
        }
    }

    /// After a disable: the mount's data (its storage and cluster-local prefixes).
    pub(super) fn purge(route: &str, prefixes: Vec<String>) -> Self {
        Self::new(route, None, prefixes)
    }

    /// After a move: the leases issued under the old path.
    pub(super) fn revoke(route: &str) -> Self {
        Self::new(route, Some(route.to_owned()), Vec::new())
    }

    /// The record's key and stored bytes, for the commit that changes the table.
    pub(super) fn entry(&self) -> Result<(String, Option<Vec<u8>>)> {
        let bytes =
            serde_json::to_vec(&self.cleanup).map_err(|e| Error::Internal(e.to_string()))?;
        Ok((self.key.clone(), Some(bytes)))
    }
}

/// Does what `pending` records, then deletes the record in the commit of the last keys
/// purged. Revocation goes first and is forced: a lease that cannot be revoked is dropped,
/// since the path it was issued under no longer leads to its mount.
pub(super) async fn finish(core: &Core, active: &Active, pending: Pending) -> Result<()> {
    let Pending { key, cleanup } = pending;
    if let Some(prefix) = &cleanup.revoke {
        super::expiration::revoke_prefix(core, active, prefix, true).await?;
    }
    // Walk each prefix depth-first, deleting as we go: memory stays bounded by the chunk
    // and the folder stack, whatever the size of the mount.
    let mut batch = vaultrs_storage::Batch::new();
    let (mut in_batch, mut purged) = (0usize, 0usize);
    for prefix in &cleanup.purge {
        let mut folders = vec![prefix.clone()];
        while let Some(folder) = folders.pop() {
            for child in core.barrier.list(&folder).await? {
                let path = format!("{folder}{child}");
                if child.ends_with('/') {
                    folders.push(path);
                    continue;
                }
                batch = batch.delete(path);
                in_batch += 1;
                if in_batch == CHUNK {
                    let full = std::mem::replace(&mut batch, vaultrs_storage::Batch::new());
                    core.barrier.commit(full).await?;
                    purged += in_batch;
                    in_batch = 0;
                }
            }
        }
    }
    purged += in_batch;
    core.barrier.commit(batch.delete(key)).await?;
    tracing::debug!(route = %cleanup.route, purged, "mount cleanup finished");
    Ok(())
}

/// Finishes every record a crash left behind (on unseal, before requests are served).
/// A record that cannot be finished now stays for the next unseal.
pub(super) async fn resume(core: &Core, active: &Active) -> Result<()> {
    let ids = core.barrier.list(PREFIX).await?;
    for id in ids.into_iter().filter(|id| !id.ends_with('/')) {
        let key = format!("{PREFIX}{id}");
        let Some(bytes) = core.barrier.get(&key).await? else {
            continue;
        };
        let cleanup = match serde_json::from_slice::<Cleanup>(&bytes) {
            Ok(c) if c.version == FORMAT_VERSION => c,
            Ok(c) => {
                tracing::error!(key, version = c.version, "unknown mount cleanup format");
                continue;
            }
            Err(e) => {
                tracing::error!(key, error = %e, "undecodable mount cleanup record");
                continue;
            }
        };
        tracing::info!(route = %cleanup.route, "finishing the cleanup of a mount a restart interrupted");
        if let Err(e) = finish(core, active, Pending { key, cleanup }).await {
            tracing::error!(error = %e, "could not finish a mount cleanup; retrying on the next unseal");
        }
    }
    Ok(())
}
