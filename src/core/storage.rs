//! The storage stack under the core, bottom to top:
//!
//! `FileBackend` (durable log + tree, log identity, snapshots) → `CachedPhysical` (Vault's
//! physical read cache) → `ChangeFeed` (publishes every committed batch in order) →
//! `Barrier` (encryption).
//!
//! The feed sits above the cache so that a batch is published only once the cache holds
//! it: whoever reacts to a published batch (the storage follower re-reading a table or
//! the keyring) reads the new values, never the cache's old ones.
//!
//! Every write goes through the whole stack, so every batch is published by the feed and
//! cached consistently, whoever commits it: the core, or (for a replication secondary)
//! an applier writing ciphertext below the barrier. The core follows the feed
//! ([`super::follow`]) to invalidate what it caches and to keep the Merkle index of the
//! replicated keys.

use std::path::Path;
use std::sync::Arc;

use vaultrs_storage::{
    Barrier, CacheOptions, CachedPhysical, ChangeFeed, FeedOptions, FileBackend, FileOptions,
    Physical,
};

use crate::error::Result;

/// The read cache over the file backend.
pub type Cache = CachedPhysical<Arc<FileBackend>>;

/// The change feed over the cache.
pub type Feed = ChangeFeed<Arc<Cache>>;

/// The storage stack of one server. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    pub file: Arc<FileBackend>,
    pub feed: Arc<Feed>,
    pub cache: Arc<Cache>,
    pub barrier: Arc<Barrier>,
}

impl Storage {
    /// Opens the data directory `dir`. `durable: false` only for a dev server's temporary
    /// directory, which is removed at exit and so gains nothing from fsyncs.
    pub async fn open(dir: &Path, durable: bool) -> Result<Self> {
        let options = FileOptions {
            durable,
            ..FileOptions::default()
        };
        Self::over(Arc::new(FileBackend::open(dir, options).await?)).await
    }

    /// The stack over an open file backend.
    pub async fn over(file: Arc<FileBackend>) -> Result<Self> {
        let cache = Arc::new(CachedPhysical::new(file.clone(), CacheOptions::default()));
        let feed = Arc::new(ChangeFeed::new(cache.clone(), FeedOptions::default()).await?);
        let barrier = Arc::new(Barrier::new(feed.clone() as Arc<dyn Physical>));
        Ok(Self {
            file,
            feed,
            cache,
            barrier,
        })
    }

    /// The physical store every writer below the barrier must use: a batch committed
    /// through it is cached and published like the core's own.
    pub fn physical(&self) -> Arc<dyn Physical> {
        self.feed.clone()
    }
}
