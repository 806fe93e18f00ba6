//! The file backend: a directory tree of values made durable by a group-committed log.
//!
//! ```text
//! <data dir>/
//!   LOCK                     held (flock) while a backend has the directory open
//!   CHECKPOINT               {"version":2,"seq":N,"log_id":"<32 hex>"}: batches <= N are
//!                            durable in tree/; the log id of this directory's log
//!   wal/<first seq>.log      the commit log (see [`super::wal`])
//!   tree/                    one file per key (see [`crate::key`] for the mapping)
//!   spare/                   files of old versions, written over by later ones
//!                            (see `spares.rs`; their content means nothing)
//! ```
//!
//! A commit goes to a single writer thread. It takes every batch that is waiting, appends
//! them to the log with one `write` and one `fdatasync` (group commit), puts their changes
//! in an in-memory overlay that reads consult first, and answers the callers. An applier
//! thread then writes the batches into the tree in order (a reused spare file or a temp
//! file swapped in per key, no fsync), while the writer is already fsyncing the next group; listings wait for it to
//! catch up, so every read sees every acknowledged batch. A checkpoint (periodic, by log
//! size, on demand, on close) never stops commits: the writer only rolls the log to a new
//! segment and hands the sequence to a checkpointer thread, which waits for the applier,
//! makes the tree durable with one `syncfs`, records the checkpoint and lets segments
//! beyond the replication tail go (see `checkpointer.rs` for the order and why a crash at
//! any step is safe). A failed write poisons the backend: it refuses writes (and
//! checkpoints) until reopened, and reopening replays the log.
//!
//! Opening replays every batch after the checkpoint (idempotent: puts rewrite whole files,
//! deletes remove), truncates a torn last record, removes temp files and empty folders,
//! then checkpoints. So an acknowledged batch survives `kill -9` and power cuts, and no
//! batch is ever half applied once the directory has been opened again. A damaged (or lost)
//! `CHECKPOINT` is replaced by a replay of everything the log still holds, and a new log id;
//! if the log cannot show the tree complete either, opening refuses and says to restore.
//!
//! Files: this one holds the options, the state the threads share and the [`Physical`]
//! implementation; `writer.rs` the writer thread (group commit, rolling the log),
//! `checkpointer.rs` the checkpointer thread, `applier.rs` the applier thread and the tree
//! it writes, `recovery.rs` opening a directory (checkpoint record, log replay, cleaning)
//! and reading the log's tail back, `sync.rs` the fsync helpers.

mod applier;
mod checkpointer;
mod recovery;
mod replace;
mod snapshot;
mod spares;
mod sync;
mod writer;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

pub use self::replace::{ReplaceStep, RestoreInfo, StagedRestore};
pub use self::snapshot::SnapshotStream;

use self::recovery::read_tail;
use self::writer::Msg;
use super::{Batch, Committed, Physical, Seq};
use crate::error::{Error, Result};
use crate::key::{self, validate_key, validate_prefix, EntryName};
use crate::position::LogId;
use crate::stats::FileStats;

/// Where a test hook is called from (see [`FileOptions::sync_hook`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPoint {
    /// On the writer thread: the log was fsynced; the batches in it are about to be
    /// acknowledged.
    Log,
    /// On the checkpointer thread (or `open`'s): the applier has caught up with the
    /// checkpoint's sequence and the tree is about to be made durable. A test can block
    /// here to hold a checkpoint in flight.
    TreeSync,
    /// On the checkpointer thread (or `open`'s): a checkpoint finished: the tree is durable
    /// up to the sequence now in `CHECKPOINT`, and old segments are gone.
    Checkpoint,
    /// A step of a restore or wipe (see [`ReplaceStep`]), on the thread doing it (or
    /// `open`'s, finishing one).
    Replace(ReplaceStep),
}

/// A hook the storage threads call at each durability point, with the data directory.
pub type SyncHook = Arc<dyn Fn(SyncPoint, &Path) + Send + Sync>;

/// Tuning for [`FileBackend`].
#[derive(Clone)]
pub struct FileOptions {
    /// How many committed batches the log keeps after a checkpoint, for the change feed.
    pub tail_batches: u64,
    /// Checkpoint when changes have waited this long.
    pub checkpoint_interval: Duration,
    /// Checkpoint when this many log bytes have been written since the last one.
    pub checkpoint_bytes: u64,
    /// Most batches one group commit takes.
    pub max_group: usize,
    /// Whether commits and checkpoints are fsynced. Only for data nobody needs after a
    /// crash: a dev server on a temporary directory that is removed at exit. With `false`,
    /// commits are still atomic and ordered, and survive the process being killed (the
    /// page cache keeps them), but not a power cut.
    pub durable: bool,
    /// Test-only: called at every durability point (power-cut simulation, holding a
    /// checkpoint in flight).
    #[doc(hidden)]
    pub sync_hook: Option<SyncHook>,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self {
            tail_batches: 4096,
            checkpoint_interval: Duration::from_secs(5),
            checkpoint_bytes: 32 << 20,
            max_group: 1024,
            durable: true,
            sync_hook: None,
        }
    }
}

impl std::fmt::Debug for FileOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileOptions")
            .field("tail_batches", &self.tail_batches)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("checkpoint_bytes", &self.checkpoint_bytes)
            .field("max_group", &self.max_group)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

/// Committed changes not yet in the tree: key → (sequence, value or deletion).
type Overlay = HashMap<String, (Seq, Option<Arc<[u8]>>)>;

struct Shared {
    /// Last committed (durable and visible) sequence.
    last_seq: AtomicU64,
    poisoned: AtomicBool,
    /// The log's identity, recorded in `CHECKPOINT` (see [`crate::position`]).
    log_id: RwLock<LogId>,
    /// Held shared by tree reads, exclusively while a restore or wipe swaps the tree, and
    /// taken exclusively for an instant to wait out reads before a spare file is reused.
    gate: Arc<RwLock<()>>,
    /// Snapshots open (restore and wipe refuse to swap the tree under them).
    snapshots: AtomicUsize,
    /// Committed changes the applier has not written to the tree yet, newest per key.
    /// Reads look here first, so a batch is visible as soon as it is acknowledged.
    overlay: RwLock<Overlay>,
    /// Last sequence written to the tree; listings wait for it to catch up.
    applied: Mutex<Seq>,
    applied_cv: Condvar,
    /// What the threads record about their work ([`FileBackend::stats`]).
    stats: FileStats,
}

impl Shared {
    fn gate_read(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate.read().unwrap_or_else(|p| p.into_inner())
    }

    fn log_id(&self) -> LogId {
        *self.log_id.read().unwrap_or_else(|p| p.into_inner())
    }

    fn overlay(&self) -> std::sync::RwLockReadGuard<'_, Overlay> {
        self.overlay.read().unwrap_or_else(|p| p.into_inner())
    }

    fn overlay_mut(&self) -> std::sync::RwLockWriteGuard<'_, Overlay> {
        self.overlay.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until the tree holds every batch up to `seq` (or writes failed).
    fn wait_applied(&self, seq: Seq) -> Result<()> {
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        while *applied < seq {
            if self.poisoned.load(Ordering::Acquire) {
                return Err(Error::Poisoned);
            }
            applied = self
                .applied_cv
                .wait_timeout(applied, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(())
    }
}

/// The file backend. See the module docs for the on-disk layout and the commit protocol.
pub struct FileBackend {
    dir: PathBuf,
    tree: PathBuf,
    tail_batches: u64,
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// One restore or wipe at a time.
    replacing: tokio::sync::Mutex<()>,
    durable: bool,
    sync_hook: Option<SyncHook>,
}

impl std::fmt::Debug for FileBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBackend")
            .field("dir", &self.dir)
            .finish()
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("running blocking IO", io::Error::other(e.to_string())))?
}

impl FileBackend {
    /// Opens (creating if needed) the data directory, recovering from any crash.
    pub async fn open(dir: impl Into<PathBuf>, options: FileOptions) -> Result<Self> {
        let dir = dir.into();
        blocking(move || Self::open_blocking(dir, options)).await
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// What the backend's threads have recorded about their work since it was opened.
    pub fn stats(&self) -> &FileStats {
        &self.shared.stats
    }

    /// Checkpoints, stops the writer thread and releases the directory lock.
    pub async fn close(&self) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Msg::Close(reply)).is_err() {
            return Ok(());
        }
        let result = rx.await.unwrap_or(Ok(()));
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            blocking(move || {
                handle.join().map_err(|_| Error::Poisoned)?;
                Ok(())
            })
            .await?;
        }
        result
    }

    async fn request<T>(&self, msg: impl FnOnce(oneshot::Sender<Result<T>>) -> Msg) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(msg(reply)).map_err(|_| Error::Poisoned)?;
        rx.await.map_err(|_| Error::Poisoned)?
    }
}

impl Drop for FileBackend {
    fn drop(&mut self) {
        // Ask the writer to checkpoint and stop; it finishes on its own thread.
        let (reply, _rx) = oneshot::channel();
        let _ = self.tx.send(Msg::Close(reply));
    }
}

#[async_trait]
impl Physical for FileBackend {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        if let Some((_, value)) = self.shared.overlay().get(key) {
            return Ok(value.as_deref().map(<[u8]>::to_vec));
        }
        let path = key::leaf_path(&self.tree, key);
        let shared = self.shared.clone();
        blocking(move || {
            let _gate = shared.gate_read();
            read_leaf(&path)
        })
        .await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().try_for_each(|k| validate_key(k))?;
        // The overlay first (one lock for all), then the tree for the rest, in one
        // blocking call.
        let mut out: Vec<Option<Option<Vec<u8>>>> = {
            let overlay = self.shared.overlay();
            keys.iter()
                .map(|k| {
                    overlay
                        .get(k)
                        .map(|(_, v)| v.as_deref().map(<[u8]>::to_vec))
                })
                .collect()
        };
        let missing: Vec<(usize, PathBuf)> = out
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_none())
            .map(|(i, _)| (i, key::leaf_path(&self.tree, &keys[i])))
            .collect();
        let shared = self.shared.clone();
        let read = blocking(move || {
            let _gate = shared.gate_read();
            missing
                .into_iter()
                .map(|(i, path)| Ok((i, read_leaf(&path)?)))
                .collect::<Result<Vec<_>>>()
        })
        .await?;
        for (i, value) in read {
            out[i] = Some(value);
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let folder = key::folder_path(&self.tree, prefix);
        let (shared, upto) = (self.shared.clone(), self.last_seq());
        blocking(move || {
            shared.wait_applied(upto)?;
            let _gate = shared.gate_read();
            list_folder(&folder)
        })
        .await
    }

    async fn commit(&self, batch: Batch) -> Result<Seq> {
        batch.validate()?;
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let started = std::time::Instant::now();
        let seq = self.request(|reply| Msg::Commit(batch, reply)).await?;
        self.shared.stats.commit.record_duration(started.elapsed());
        Ok(seq)
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let tree = self.tree.clone();
        let (shared, upto) = (self.shared.clone(), self.last_seq());
        blocking(move || {
            shared.wait_applied(upto)?;
            let _gate = shared.gate_read();
            walk_keys(&tree)
        })
        .await
    }

    fn last_seq(&self) -> Seq {
        self.shared.last_seq.load(Ordering::Acquire)
    }

    fn log_id(&self) -> LogId {
        self.shared.log_id()
    }

    async fn log_tail(&self) -> Result<Vec<Committed>> {
        let wal_dir = self.dir.join("wal");
        let last = self.last_seq();
        let keep = self.tail_batches;
        blocking(move || read_tail(&wal_dir, last, keep)).await
    }

    async fn checkpoint(&self) -> Result<()> {
        self.request(Msg::Checkpoint).await
    }
}
/// A value from the tree; `None` when its file does not exist.
fn read_leaf(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading a stored value", e)),
    }
}

fn list_folder(folder: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing a folder", e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing a folder", e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        match key::classify(&name) {
            EntryName::Leaf(leaf) => out.push(leaf),
            EntryName::Folder(folder) => out.push(format!("{folder}/")),
            EntryName::Other => {}
        }
    }
    out.sort();
    Ok(out)
}

fn walk_keys(tree: &Path) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for entry in walkdir::WalkDir::new(tree).min_depth(1) {
        let entry = match entry {
            Ok(entry) => entry,
            // The applier removes a folder its last delete emptied: it held no key.
            Err(e) if e.io_error().map(io::Error::kind) == Some(io::ErrorKind::NotFound) => {
                continue
            }
            Err(e) => return Err(Error::io("walking the tree", e.into())),
        };
        if !entry.file_type().is_file() {
            continue;
        }
        if let Some(key) = entry
            .path()
            .strip_prefix(tree)
            .ok()
            .and_then(key::key_from_relative)
        {
            keys.push(key);
        }
    }
    keys.sort();
    Ok(keys)
}
