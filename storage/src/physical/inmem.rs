//! An in-memory backend: the same contract as the file backend, no durability. Its log id
//! is random per instance; [`InmemBackend::wipe`] empties it and starts a new one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use async_trait::async_trait;

use super::{children_of, Batch, Physical, Seq};
use crate::error::Result;
use crate::key::{validate_key, validate_prefix};
use crate::position::LogId;

#[derive(Debug)]
pub struct InmemBackend {
    entries: RwLock<BTreeMap<String, Vec<u8>>>,
    seq: AtomicU64,
    log_id: Mutex<LogId>,
}

impl Default for InmemBackend {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
            seq: AtomicU64::new(0),
            log_id: Mutex::new(LogId::random()),
        }
    }
}

impl InmemBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Deletes every key and starts a new log id; sequence numbers go on from where they
    /// were. Returns the new id.
    pub fn wipe(&self) -> LogId {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let mut log_id = self.log_id.lock().unwrap_or_else(|p| p.into_inner());
        entries.clear();
        *log_id = LogId::random();
        *log_id
    }
}

#[async_trait]
impl Physical for InmemBackend {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        Ok(entries.get(key).cloned())
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().try_for_each(|k| validate_key(k))?;
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        Ok(keys.iter().map(|k| entries.get(k).cloned()).collect())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let keys = entries
            .range(prefix.to_owned()..)
            .map(|(k, _)| k.as_str())
            .take_while(|k| k.starts_with(prefix));
        Ok(children_of(prefix, keys))
    }

    async fn commit(&self, batch: Batch) -> Result<Seq> {
        batch.validate()?;
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        for change in batch.changes {
            match change.value {
                Some(value) => entries.insert(change.key, value),
                None => entries.remove(&change.key),
            };
        }
        // Taken under the write lock, so sequence order is apply order.
        Ok(self.seq.fetch_add(1, Ordering::SeqCst) + 1)
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        Ok(entries.keys().cloned().collect())
    }

    fn last_seq(&self) -> Seq {
        self.seq.load(Ordering::SeqCst)
    }

    fn log_id(&self) -> LogId {
        *self.log_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}
