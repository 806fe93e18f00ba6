//! The decoded-token cache of the [`super::TokenStore`]: bounded, sharded, and never
//! serving an entry read before a change that raced with the read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{stripe_of, TokenEntry};

/// Entries the cache holds at most (over all shards).
pub(super) const CACHE_CAPACITY: usize = 4096;
const CACHE_SHARDS: usize = 16;

fn shard_of(hash: &str) -> usize {
    stripe_of(hash) % CACHE_SHARDS
}

#[derive(Default)]
pub(super) struct CacheShard {
    pub(super) entries: HashMap<String, Arc<TokenEntry>>,
    /// Bumped on every change (start and end) to a token of this shard.
    generation: u64,
    /// Changes to tokens of this shard that have started and not yet ended.
    writers: usize,
}

/// Decoded token entries by hash. A lookup that misses takes a [`CacheTicket`] before it
/// reads storage and may fill the cache only if no change to a token of its shard started
/// or ended in between, so nothing read before a change lands in the cache after it.
pub(super) struct EntryCache {
    pub(super) shards: Vec<Mutex<CacheShard>>,
}

/// The shard generation a cache miss saw before reading storage.
#[derive(Clone, Copy)]
pub(super) struct CacheTicket(u64);

impl EntryCache {
    pub(super) fn new() -> Self {
        Self {
            shards: (0..CACHE_SHARDS)
                .map(|_| Mutex::new(CacheShard::default()))
                .collect(),
        }
    }

    fn shard(&self, hash: &str) -> std::sync::MutexGuard<'_, CacheShard> {
        self.shards[shard_of(hash)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The cached entry of `hash`, or a ticket to fill it with.
    pub(super) fn get(&self, hash: &str) -> Result<Arc<TokenEntry>, CacheTicket> {
        let shard = self.shard(hash);
        match shard.entries.get(hash) {
            Some(entry) => Ok(entry.clone()),
            None => Err(CacheTicket(shard.generation)),
        }
    }

    /// Caches `entry` as read from storage, unless a change raced with the read.
    pub(super) fn fill(&self, hash: &str, ticket: CacheTicket, entry: &Arc<TokenEntry>) {
        let mut shard = self.shard(hash);
        if shard.generation != ticket.0 || shard.writers > 0 {
            return;
        }
        if shard.entries.len() >= CACHE_CAPACITY / CACHE_SHARDS {
            // Bounded: evict an arbitrary entry (tokens are uniformly spread by the HMAC).
            if let Some(victim) = shard.entries.keys().next().cloned() {
                shard.entries.remove(&victim);
            }
        }
        shard.entries.insert(hash.to_owned(), entry.clone());
    }

    /// Marks the change of `hashes` as started: their entries leave the cache and no miss
    /// can fill their shards until the returned guard is dropped (which ends the change,
    /// however the commit went).
    pub(super) fn begin_change(self: &Arc<Self>, hashes: Vec<String>) -> ChangeGuard {
        for hash in &hashes {
            let mut shard = self.shard(hash);
            shard.entries.remove(hash);
            shard.generation += 1;
            shard.writers += 1;
        }
        ChangeGuard {
            cache: self.clone(),
            hashes,
        }
    }
}

/// An in-flight change to some tokens' stored entries (see [`EntryCache::begin_change`]).
pub(super) struct ChangeGuard {
    cache: Arc<EntryCache>,
    hashes: Vec<String>,
}

impl Drop for ChangeGuard {
    fn drop(&mut self) {
        for hash in &self.hashes {
            let mut shard = self.cache.shard(hash);
            shard.entries.remove(hash);
            shard.generation += 1;
            shard.writers -= 1;
        }
    }
}
