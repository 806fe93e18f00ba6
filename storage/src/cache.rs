//! A read cache of ciphertext in front of a [`Physical`] backend (Vault's physical cache).
//!
//! Hits are memory lookups instead of a file read on the blocking pool. The cache is
//! write-through: every committed batch updates the cached entries of its keys. Each entry
//! remembers the sequence number it reflects, and an entry only ever replaces an older one,
//! so a read that raced with a commit can never put a stale value back:
//! - a commit's entries carry the batch's sequence;
//! - a read that missed records `last_seq()` *before* reading; every batch up to that
//!   sequence was already applied, so what it read is at least that new.
//!
//! Misses are cached too (as absent), which keeps lookups of unknown tokens off the disk.
//! The cache is bounded by bytes; all writes must go through it (the rule the change feed
//! has too).

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::error::Result;
use crate::physical::{Batch, Committed, Physical, Seq};
use crate::position::{LogId, Position};

/// Bounds of the cache.
#[derive(Clone, Debug)]
pub struct CacheOptions {
    /// Most bytes (keys, values and bookkeeping) held.
    pub max_bytes: u64,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            max_bytes: 32 << 20,
        }
    }
}

#[derive(Clone)]
struct Entry {
    seq: Seq,
    value: Option<Arc<[u8]>>,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<String, Entry> for ByBytes {
    fn weight(&self, key: &String, entry: &Entry) -> u64 {
        (key.len() + entry.value.as_ref().map_or(0, |v| v.len()) + 64) as u64
    }
}

/// Stripes of locks that make "compare sequence, then insert" atomic per key.
const STRIPES: usize = 64;

/// A caching [`Physical`] decorator. See the module docs.
pub struct CachedPhysical<P> {
    inner: P,
    cache: Cache<String, Entry, ByBytes>,
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

impl<P: Physical> CachedPhysical<P> {
    pub fn new(inner: P, options: CacheOptions) -> Self {
        // Estimate of items for the cache's internal sizing: ~1 KiB entries.
        let items = (options.max_bytes / 1024).max(16) as usize;
        Self {
            inner,
            cache: Cache::with_weighter(items, options.max_bytes.max(1024), ByBytes),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Drops every cached entry (after storage changed underneath, e.g. a restore).
    pub fn clear(&self) {
        self.cache.clear();
    }

    fn stripe(&self, key: &str) -> &Mutex<()> {
        &self.stripes[(self.hasher.hash_one(key) as usize) % STRIPES]
    }

    /// Inserts unless a newer entry is already there.
    fn offer(&self, key: &str, seq: Seq, value: Option<Arc<[u8]>>) {
        let _guard = self.stripe(key).lock().unwrap_or_else(|p| p.into_inner());
        if self.cache.get(key).is_some_and(|e| e.seq > seq) {
            return;
        }
        self.cache.insert(key.to_owned(), Entry { seq, value });
    }
}

#[async_trait]
impl<P: Physical> Physical for CachedPhysical<P> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        if let Some(entry) = self.cache.get(key) {
            return Ok(entry.value.map(|v| v.to_vec()));
        }
        let seen = self.inner.last_seq();
        let value = self.inner.get(key).await?;
        self.offer(key, seen, value.as_deref().map(Arc::from));
        Ok(value)
    }

    /// Straight to the backend (which the write-through cache never is behind): bulk
    /// reads (Merkle rebuilds, snapshots) would only evict the hot entries.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.inner.get_many(keys).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix).await
    }

    async fn commit(&self, batch: Batch) -> Result<Seq> {
        // Last change per key wins within a batch: one pass from the end, remembering the
        // keys seen (linear in the batch, however many keys it holds).
        let mut seen: HashSet<&str> = HashSet::with_capacity(batch.changes.len());
        let mut latest: Vec<(String, Option<Arc<[u8]>>)> = Vec::with_capacity(batch.changes.len());
        for change in batch.changes.iter().rev() {
            if seen.insert(change.key.as_str()) {
                latest.push((change.key.clone(), change.value.as_deref().map(Arc::from)));
            }
        }
        let seq = match self.inner.commit(batch).await {
            Ok(seq) => seq,
            Err(e) => {
                // The outcome on disk is unknown: forget what we knew about these keys.
                for (key, _) in &latest {
                    let _guard = self.stripe(key).lock().unwrap_or_else(|p| p.into_inner());
                    self.cache.remove(key.as_str());
                }
                return Err(e);
            }
        };
        for (key, value) in latest {
            self.offer(&key, seq, value);
        }
        Ok(seq)
    }

    async fn keys(&self) -> Result<Vec<String>> {
        self.inner.keys().await
    }

    fn last_seq(&self) -> Seq {
        self.inner.last_seq()
    }

    fn log_id(&self) -> LogId {
        self.inner.log_id()
    }

    fn position(&self) -> Position {
        self.inner.position()
    }

    async fn log_tail(&self) -> Result<Vec<Committed>> {
        self.inner.log_tail().await
    }

    async fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint().await
    }
}
