//! The storage follower: one task per unsealed period that reads every committed batch
//! from the change feed, in commit order, and applies its consequences to what the core
//! holds in memory:
//!
//! 1. the Merkle index of the replicated keys takes the batch;
//! 2. replicated keys that changed are invalidated ([`Core::invalidate`]): tables and
//!    the router, policies, the keyring, audit devices, engine caches;
//! 3. the applied position moves to the batch ([`Core::wait_applied`]).
//!
//! It follows the core's own writes as well as batches written below the barrier (a
//! replication applier, a test): one path for both, so a cache can never miss a change
//! that reached storage. Local keys are never invalidated: only this cluster writes them,
//! through the core, which keeps its caches current as it writes.
//!
//! When the feed cannot continue (this task fell too far behind, or the store was
//! restored or wiped underneath), the follower resynchronizes: it rebuilds the index,
//! invalidates everything and resumes from the feed's current position.

use std::sync::Weak;
use std::time::Duration;

use vaultrs_storage::{Committed, LogId, MerkleIndex, Position, Subscription};

use super::storage::Storage;
use super::{Active, Core};
use crate::error::{Error, Result};
use crate::locality;

/// The Merkle index of the replicated keys, rebuilt from the file backend (ciphertext
/// only, read past the cache so a rebuild does not evict the working set).
pub(super) async fn rebuild_index(storage: &Storage) -> Result<MerkleIndex> {
    let started = std::time::Instant::now();
    let index = MerkleIndex::rebuild(storage.file.as_ref(), locality::replicated_filter()).await?;
    tracing::debug!(
        keys = index.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "merkle index rebuilt"
    );
    Ok(index)
}

/// Follows the feed until the core seals (`stop` turns true). A batch it has started is
/// applied in full first.
pub(super) async fn run(
    core: Weak<Core>,
    active: Weak<Active>,
    mut subscription: Subscription,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.changed() => return,
            next = subscription.next() => next,
        };
        let (Some(core), Some(active)) = (core.upgrade(), active.upgrade()) else {
            return;
        };
        let log_id = subscription.log_id();
        let applied = match next {
            Ok(batch) => core.follow_batch(&active, log_id, &batch).await,
            Err(e) => Err(Error::from(e)),
        };
        if let Err(e) = applied {
            tracing::warn!(error = %e, "storage follower resynchronizing");
            loop {
                match core.resync(&active).await {
                    Ok(fresh) => {
                        subscription = fresh;
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "storage follower cannot resynchronize yet");
                        tokio::select! {
                            _ = stop.changed() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        }
    }
}

impl Core {
    /// Applies one batch's consequences, then marks it applied.
    async fn follow_batch(&self, active: &Active, log_id: LogId, batch: &Committed) -> Result<()> {
        active
            .merkle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply_in(log_id, batch)?;
        let keys: Vec<&str> = batch
            .changes
            .iter()
            .map(|c| c.key.as_str())
            .filter(|k| locality::is_replicated(k))
            .collect();
        if !keys.is_empty() {
            self.invalidate_in(active, &keys).await;
        }
        self.applied.send_replace(Position::new(log_id, batch.seq));
        Ok(())
    }

    /// Starts over from the feed's current position: a fresh subscription, a rebuilt
    /// index, every cache invalidated.
    async fn resync(&self, active: &Active) -> Result<Subscription> {
        let position = self.storage.feed.position();
        let subscription = self.storage.feed.subscribe(position)?;
        let index = rebuild_index(&self.storage).await?;
        *active.merkle.lock().unwrap_or_else(|p| p.into_inner()) = index;
        self.invalidate_all(active).await;
        self.applied.send_replace(position);
        Ok(subscription)
    }

    /// Resolves once batch `seq` of the current log and everything before it are durable
    /// and applied: every read from then on sees them (a forwarded write's read-your-writes
    /// guarantee). Also resolves when the log changes (a restore or wipe: sequence numbers
    /// of the old log mean nothing in the new one); the caller compares the log id of
    /// the position returned. [`Error::Unavailable`] after `timeout`.
    pub async fn wait_applied(&self, seq: u64, timeout: Duration) -> Result<Position> {
        let mut applied = self.applied.subscribe();
        let log_id = applied.borrow().log_id;
        let reached = async {
            applied
                .wait_for(|p| p.log_id != log_id || p.seq >= seq)
                .await
                .map(|p| *p)
        };
        match tokio::time::timeout(timeout, reached).await {
            Ok(Ok(position)) => Ok(position),
            Ok(Err(_)) => Err(Error::Sealed),
            Err(_) => Err(Error::Unavailable(format!(
                "batch {seq} was not applied within {timeout:?}"
            ))),
        }
    }

    /// The last applied position.
    pub fn applied(&self) -> Position {
        *self.applied.borrow()
    }

    /// The Merkle index's bucket hashes and the position they stand at (one lock: the
    /// hashes are exactly those of the tree at that position).
    pub fn merkle_buckets(&self) -> Result<(Option<Position>, Vec<[u8; 32]>)> {
        let active = self.active()?;
        let mut index = active.merkle.lock().unwrap_or_else(|p| p.into_inner());
        Ok((index.position(), index.bucket_hashes()))
    }

    /// The (key, ciphertext hash) pairs of bucket `i`, sorted by key.
    pub fn merkle_bucket(&self, i: usize) -> Result<Vec<(String, [u8; 32])>> {
        if i >= vaultrs_storage::merkle::BUCKETS {
            return Err(Error::invalid(format!("no bucket {i}")));
        }
        let active = self.active()?;
        let index = active.merkle.lock().unwrap_or_else(|p| p.into_inner());
        Ok(index.bucket(i))
    }

    /// The position the Merkle index of the replicated keys stands at, and its root hash.
    pub fn merkle_root(&self) -> Result<(Option<Position>, [u8; 32])> {
        let active = self.active()?;
        let mut index = active.merkle.lock().unwrap_or_else(|p| p.into_inner());
        Ok((index.position(), index.root()))
    }
}
