//! The physical layer: ciphertext blobs under logical keys, written in atomic batches.
//!
//! Backends: [`file::FileBackend`] (the product) and [`inmem::InmemBackend`] (tests, dev
//! tooling). [`crate::feed::ChangeFeed`] decorates either. All pass
//! [`crate::testing::exercise_physical`].

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::position::{LogId, Position};

pub mod file;
pub mod inmem;
mod wal;

/// Position in the commit log; the first committed batch is 1, 0 means "nothing yet".
pub type Seq = u64;

/// One key change: a put (`Some`) or a delete (`None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// Key changes committed as a whole: after a crash either all are visible or none.
/// Changes apply in order, so a later change to the same key wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub changes: Vec<Change>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.changes.push(Change {
            key: key.into(),
            value: Some(value.into()),
        });
        self
    }

    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.changes.push(Change {
            key: key.into(),
            value: None,
        });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Validates every key up front, so a bad key rejects the whole batch.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.changes.is_empty() {
            return Err(crate::Error::InvalidRequest("empty batch".into()));
        }
        self.changes
            .iter()
            .try_for_each(|c| crate::key::validate_key(&c.key))
    }
}

/// A batch as the change feed reports it: its sequence number and its changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub seq: Seq,
    pub changes: Arc<[Change]>,
}

/// A store of opaque values under validated keys.
///
/// Keys are checked with [`crate::key::validate_key`]; a bad key is a typed
/// [`crate::Error::InvalidKey`], never a panic and never a file outside the store.
#[async_trait]
pub trait Physical: Send + Sync + 'static {
    /// The value at `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// The values at `keys`, in the same order (`None` where absent). For bulk reads (a
    /// Merkle rebuild, a snapshot): backends read them in one go where that is cheaper
    /// than one [`get`](Self::get) each.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }

    /// Vault's list semantics: the direct children of `prefix` (empty, or ending in `/`),
    /// sorted; sub-folders end in `/`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// Commits `batch` atomically and durably; returns its sequence number.
    async fn commit(&self, batch: Batch) -> Result<Seq>;

    /// Every key in the store, sorted.
    async fn keys(&self) -> Result<Vec<String>>;

    /// The sequence number of the last committed batch.
    fn last_seq(&self) -> Seq;

    /// The identity of the log `last_seq` counts in (see [`crate::position`]). The file
    /// backend keeps it in its data directory and replaces it on a wipe or restore;
    /// backends without a durable log pick a random one per instance.
    fn log_id(&self) -> LogId;

    /// Where the store stands: its log id and last sequence.
    fn position(&self) -> Position {
        Position::new(self.log_id(), self.last_seq())
    }

    /// Committed batches the backend still keeps in its durable log, oldest first, without
    /// gaps. Backends without a log keep none.
    async fn log_tail(&self) -> Result<Vec<Committed>> {
        Ok(Vec::new())
    }

    /// Makes everything committed durable in the tree itself (file backend: a checkpoint).
    async fn checkpoint(&self) -> Result<()> {
        Ok(())
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Seq> {
        self.commit(Batch::new().put(key, value)).await
    }

    async fn delete(&self, key: &str) -> Result<Seq> {
        self.commit(Batch::new().delete(key)).await
    }
}

#[async_trait]
impl<P: Physical + ?Sized> Physical for Arc<P> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        (**self).get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        (**self).get_many(keys).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        (**self).list(prefix).await
    }
    async fn commit(&self, batch: Batch) -> Result<Seq> {
        (**self).commit(batch).await
    }
    async fn keys(&self) -> Result<Vec<String>> {
        (**self).keys().await
    }
    fn last_seq(&self) -> Seq {
        (**self).last_seq()
    }
    fn log_id(&self) -> LogId {
        (**self).log_id()
    }
    fn position(&self) -> Position {
        (**self).position()
    }
    async fn log_tail(&self) -> Result<Vec<Committed>> {
        (**self).log_tail().await
    }
    async fn checkpoint(&self) -> Result<()> {
        (**self).checkpoint().await
    }
}

/// The direct children of `prefix` among sorted `keys`, in Vault's list form.
pub(crate) fn children_of<'a>(prefix: &str, keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let child = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(String::as_str) != Some(child) {
            out.push(child.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}
