//! The file backend: a directory tree of values made durable by a group-committed log.
//!
//! ```text
//! <data dir>/
//!   LOCK                     held (flock) while a backend has the directory open
//!   CHECKPOINT               {"version":1,"seq":N}: batches <= N are durable in tree/
//!   wal/<first seq>.log      the commit log (see [`super::wal`])
//!   tree/                    one file per key (see [`crate::key`] for the mapping)
//! ```
//!
//! A commit goes to a single writer thread. It takes every batch that is waiting, appends
//! them to the log with one `write` and one `fdatasync` (group commit), puts their changes
//! in an in-memory overlay that reads consult first, and answers the callers. An applier
//! thread then writes the batches into the tree in order (temp file + rename per key, no
//! fsync), while the writer is already fsyncing the next group; listings wait for it to
//! catch up, so every read sees every acknowledged batch. A checkpoint (periodic, on
//! demand, on close) waits for the applier, makes the tree durable with one `syncfs`,
//! starts a new segment, records the checkpoint and lets segments beyond the replication
//! tail go. A failed write poisons the backend: it refuses writes (and checkpoints) until
//! reopened, and reopening replays the log.
//!
//! Opening replays every batch after the checkpoint (idempotent: puts rewrite whole files,
//! deletes remove), truncates a torn last record, removes temp files and empty folders,
//! then checkpoints. So an acknowledged batch survives `kill -9` and power cuts, and no
//! batch is ever half applied once the directory has been opened again.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::wal::{self, create_segment, list_segments, scan_segment, segment_name};
use super::{Batch, Change, Committed, Physical, Seq};
use crate::error::{Error, Result};
use crate::key::{self, validate_key, validate_prefix, EntryName};

/// Where a test hook is called from (see [`FileOptions::sync_hook`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPoint {
    /// The log was fsynced; the batches in it are about to be acknowledged.
    Log,
    /// A checkpoint finished: the tree is durable up to the checkpoint's sequence.
    Checkpoint,
}

/// A hook the writer thread calls at each durability point, with the data directory.
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
    /// Test-only: called at every durability point (power-cut simulation).
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

enum Msg {
    Commit(Batch, oneshot::Sender<Result<Seq>>),
    Checkpoint(oneshot::Sender<Result<()>>),
    Close(oneshot::Sender<Result<()>>),
}

/// Committed changes not yet in the tree: key → (sequence, value or deletion).
type Overlay = HashMap<String, (Seq, Option<Arc<[u8]>>)>;

struct Shared {
    /// Last committed (durable and visible) sequence.
    last_seq: AtomicU64,
    poisoned: AtomicBool,
    /// Committed changes the applier has not written to the tree yet, newest per key.
    /// Reads look here first, so a batch is visible as soon as it is acknowledged.
    overlay: RwLock<Overlay>,
    /// Last sequence written to the tree; listings wait for it to catch up.
    applied: Mutex<Seq>,
    applied_cv: Condvar,
}

impl Shared {
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
}

impl std::fmt::Debug for FileBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBackend")
            .field("dir", &self.dir)
            .finish()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointRecord {
    version: u32,
    seq: Seq,
}

const CHECKPOINT_VERSION: u32 = 1;

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

    fn open_blocking(dir: PathBuf, options: FileOptions) -> Result<Self> {
        let tree = dir.join("tree");
        let wal_dir = dir.join("wal");
        for d in [&dir, &tree, &wal_dir] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
        }
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("LOCK"))
            .map_err(|e| Error::io("opening the lock file", e))?;
        lock.try_lock().map_err(|_| {
            Error::io(
                format!("locking {}", dir.display()),
                io::Error::new(io::ErrorKind::WouldBlock, "data directory is in use"),
            )
        })?;

        let checkpoint_seq = read_checkpoint(&dir)?;
        let replay = recover_log(&wal_dir, checkpoint_seq)?;
        let last_seq = replay.last().map_or(checkpoint_seq, |c| c.seq);
        let shared = Arc::new(Shared {
            last_seq: AtomicU64::new(last_seq),
            poisoned: AtomicBool::new(false),
            overlay: RwLock::new(HashMap::new()),
            applied: Mutex::new(last_seq),
            applied_cv: Condvar::new(),
        });
        let mut tree_writer = Tree::new(tree.clone());
        for batch in &replay {
            tree_writer.apply(&batch.changes)?;
        }
        clean_tree(&tree)?;
        let (apply_tx, apply_rx) = mpsc::sync_channel(APPLY_QUEUE);
        let applier = Applier {
            tree: tree_writer,
            shared: shared.clone(),
        };
        let applier = std::thread::Builder::new()
            .name("vaultrs-storage-apply".into())
            .spawn(move || applier.run(apply_rx))
            .map_err(|e| Error::io("starting the storage applier", e))?;
        let mut writer = Writer {
            dir: dir.clone(),
            wal_dir: wal_dir.clone(),
            segments: list_segments(&wal_dir)?
                .into_iter()
                .map(|(s, _)| s)
                .collect(),
            segment: None,
            log_bytes: 0,
            last_seq,
            dirty_since: None,
            shared: shared.clone(),
            options: options.clone(),
            apply_tx: Some(apply_tx),
            applier: Some(applier),
            _lock: lock,
        };
        writer.checkpoint()?;
        if !replay.is_empty() {
            tracing::info!(
                batches = replay.len(),
                last_seq,
                "replayed the commit log after an unclean stop"
            );
        }

        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("vaultrs-storage-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::io("starting the storage writer", e))?;
        Ok(Self {
            dir,
            tree,
            tail_batches: options.tail_batches,
            tx,
            shared,
            writer: Mutex::new(Some(handle)),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
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
        blocking(move || match fs::read(&path) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading a stored value", e)),
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let folder = key::folder_path(&self.tree, prefix);
        let (shared, upto) = (self.shared.clone(), self.last_seq());
        blocking(move || {
            shared.wait_applied(upto)?;
            list_folder(&folder)
        })
        .await
    }

    async fn commit(&self, batch: Batch) -> Result<Seq> {
        batch.validate()?;
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        self.request(|reply| Msg::Commit(batch, reply)).await
    }

    async fn keys(&self) -> Result<Vec<String>> {
        let tree = self.tree.clone();
        let (shared, upto) = (self.shared.clone(), self.last_seq());
        blocking(move || {
            shared.wait_applied(upto)?;
            walk_keys(&tree)
        })
        .await
    }

    fn last_seq(&self) -> Seq {
        self.shared.last_seq.load(Ordering::Acquire)
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
        let entry = entry.map_err(|e| Error::io("walking the tree", e.into()))?;
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

/// Removes temp files and empty folders left by a crash.
fn clean_tree(tree: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(tree)
        .min_depth(1)
        .contents_first(true)
    {
        let entry = entry.map_err(|e| Error::io("cleaning the tree", e.into()))?;
        let name = entry.file_name().to_str().unwrap_or_default();
        if entry.file_type().is_file() && key::is_temp(name) {
            fs::remove_file(entry.path()).map_err(|e| Error::io("removing a temp file", e))?;
        } else if entry.file_type().is_dir() {
            // Fails (and is left alone) unless empty.
            let _ = fs::remove_dir(entry.path());
        }
    }
    Ok(())
}

fn read_checkpoint(dir: &Path) -> Result<Seq> {
    match fs::read(dir.join("CHECKPOINT")) {
        Ok(bytes) => {
            let record: CheckpointRecord = serde_json::from_slice(&bytes)
                .map_err(|e| Error::corrupt("CHECKPOINT", e.to_string()))?;
            if record.version != CHECKPOINT_VERSION {
                return Err(Error::corrupt(
                    "CHECKPOINT",
                    format!("unknown format version {}", record.version),
                ));
            }
            Ok(record.seq)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io("reading CHECKPOINT", e)),
    }
}

/// Reads the log and returns the batches after `checkpoint_seq`, in order. A torn record
/// at the end of the last segment is cut off; damage before the checkpoint is tolerated;
/// damage after it (an acknowledged batch that cannot be read) is an error.
fn recover_log(wal_dir: &Path, checkpoint_seq: Seq) -> Result<Vec<Committed>> {
    let segments = list_segments(wal_dir)?;
    let mut replay: Vec<Committed> = Vec::new();
    for (i, (first, path)) in segments.iter().enumerate() {
        let next_first = segments.get(i + 1).map(|(s, _)| *s);
        if next_first.is_some_and(|n| n <= checkpoint_seq + 1) {
            // Wholly before the checkpoint: nothing to replay.
            continue;
        }
        let scan = scan_segment(path, *first)?;
        for record in scan.records {
            if record.seq <= checkpoint_seq {
                continue;
            }
            let expected = replay.last().map_or(checkpoint_seq + 1, |c| c.seq + 1);
            if record.seq != expected {
                return Err(Error::corrupt(
                    "commit log",
                    format!("gap before sequence {}", record.seq),
                ));
            }
            replay.push(record);
        }
        if scan.damaged {
            if next_first.is_none() {
                tracing::warn!(segment = %path.display(), "dropping a torn record at the end of the commit log");
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| Error::io("opening a torn log segment", e))?;
                file.set_len(scan.good_len)
                    .and_then(|_| file.sync_all())
                    .map_err(|e| Error::io("truncating a torn log segment", e))?;
            } else {
                return Err(Error::corrupt(
                    "commit log",
                    format!(
                        "damaged record in {} after the last checkpoint",
                        path.display()
                    ),
                ));
            }
        }
    }
    Ok(replay)
}

/// The last `keep` batches up to `last`, contiguous, oldest first.
fn read_tail(wal_dir: &Path, last: Seq, keep: u64) -> Result<Vec<Committed>> {
    let mut tail: Vec<Committed> = Vec::new();
    for (first, path) in list_segments(wal_dir)? {
        let scan = match scan_segment(&path, first) {
            Ok(scan) => scan,
            // A segment dropped by a concurrent checkpoint.
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for record in scan.records {
            if record.seq > last {
                break;
            }
            if tail.last().is_some_and(|t| t.seq + 1 != record.seq) {
                tail.clear();
            }
            tail.push(record);
        }
        if scan.damaged {
            // Keep only what follows the damage.
            tail.clear();
        }
    }
    let start = tail.len().saturating_sub(keep as usize);
    Ok(tail.split_off(start))
}

/// Groups the applier may lag behind the log before committers wait (bounds the overlay).
const APPLY_QUEUE: usize = 64;

enum ApplyMsg {
    /// Committed batches, in sequence order.
    Batches(Vec<(Seq, Arc<[Change]>)>),
    /// Answer once everything before is applied, handing over what was touched.
    Flush(mpsc::SyncSender<Touched>),
}

/// Files and folders changed since the last checkpoint.
#[derive(Default)]
struct Touched {
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
}

/// The thread that owns the log: appends groups, acknowledges them, checkpoints.
struct Writer {
    dir: PathBuf,
    wal_dir: PathBuf,
    /// First sequence of every segment on disk, ascending.
    segments: Vec<Seq>,
    segment: Option<File>,
    log_bytes: u64,
    last_seq: Seq,
    dirty_since: Option<Instant>,
    shared: Arc<Shared>,
    options: FileOptions,
    apply_tx: Option<mpsc::SyncSender<ApplyMsg>>,
    applier: Option<JoinHandle<()>>,
    _lock: File,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let wait = match self.dirty_since {
                Some(t) => self.options.checkpoint_interval.saturating_sub(t.elapsed()),
                None => Duration::from_secs(3600),
            };
            let first = match rx.recv_timeout(wait) {
                Ok(msg) => msg,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.checkpoint_logged();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.checkpoint_logged();
                    self.stop_applier();
                    return;
                }
            };
            let mut commits = Vec::new();
            let mut controls = Vec::new();
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Commit(batch, reply) => commits.push((batch, reply)),
                    other => controls.push(other),
                }
                if commits.len() < self.options.max_group && controls.is_empty() {
                    next = rx.try_recv().ok();
                }
            }
            if !commits.is_empty() {
                self.commit_group(commits);
            }
            for control in controls {
                match control {
                    Msg::Checkpoint(reply) => {
                        let _ = reply.send(self.checkpoint());
                    }
                    Msg::Close(reply) => {
                        let result = self.checkpoint();
                        self.stop_applier();
                        let _ = reply.send(result);
                        return;
                    }
                    Msg::Commit(..) => unreachable!("commits are collected apart"),
                }
            }
            let due = self
                .dirty_since
                .is_some_and(|t| t.elapsed() >= self.options.checkpoint_interval);
            if due || self.log_bytes >= self.options.checkpoint_bytes {
                self.checkpoint_logged();
            }
        }
    }

    fn stop_applier(&mut self) {
        self.apply_tx = None;
        if let Some(handle) = self.applier.take() {
            let _ = handle.join();
        }
    }

    fn poison(&self, what: &str, err: &Error) {
        poison(&self.shared, what, err);
    }

    fn commit_group(&mut self, commits: Vec<(Batch, oneshot::Sender<Result<Seq>>)>) {
        if self.shared.poisoned.load(Ordering::Acquire) {
            for (_, reply) in commits {
                let _ = reply.send(Err(Error::Poisoned));
            }
            return;
        }
        let mut buf = Vec::new();
        let mut accepted = Vec::with_capacity(commits.len());
        for (batch, reply) in commits {
            let seq = self.last_seq + accepted.len() as u64 + 1;
            match wal::encode_record(&mut buf, seq, &batch.changes) {
                Ok(()) => accepted.push((seq, batch, reply)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return;
        }
        if let Err(e) = self.append(&buf) {
            self.poison("appending to the commit log", &e);
            for (_, _, reply) in accepted {
                let _ = reply.send(Err(Error::io("appending to the commit log", clone_io(&e))));
            }
            return;
        }
        if let Some(hook) = &self.options.sync_hook {
            hook(SyncPoint::Log, &self.dir);
        }
        // Durable: make the group visible through the overlay, acknowledge it, and leave
        // the tree to the applier, which works while the next group is fsynced.
        let mut group = Vec::with_capacity(accepted.len());
        {
            let mut overlay = self.shared.overlay_mut();
            for (seq, batch, _) in &accepted {
                for change in &batch.changes {
                    let value = change.value.as_deref().map(Arc::from);
                    overlay.insert(change.key.clone(), (*seq, value));
                }
            }
        }
        let last = accepted.last().map_or(self.last_seq, |(seq, _, _)| *seq);
        self.last_seq = last;
        self.shared.last_seq.store(last, Ordering::Release);
        for (seq, batch, reply) in accepted {
            let _ = reply.send(Ok(seq));
            group.push((seq, Arc::from(batch.changes)));
        }
        self.dirty_since.get_or_insert_with(Instant::now);
        let sent = self
            .apply_tx
            .as_ref()
            .is_some_and(|tx| tx.send(ApplyMsg::Batches(group)).is_ok());
        if !sent {
            self.poison(
                "handing batches to the applier",
                &Error::io("applying", io::Error::other("the applier thread is gone")),
            );
        }
    }

    fn append(&mut self, buf: &[u8]) -> Result<()> {
        let segment = self
            .segment
            .as_mut()
            .ok_or_else(|| Error::io("appending", io::Error::other("no open log segment")))?;
        let durable = self.options.durable;
        segment
            .write_all(buf)
            .and_then(|_| if durable { segment.sync_data() } else { Ok(()) })
            .map_err(|e| Error::io("appending to the commit log", e))?;
        self.log_bytes += buf.len() as u64;
        Ok(())
    }

    fn checkpoint_logged(&mut self) {
        if let Err(e) = self.checkpoint() {
            tracing::error!(error = %e, "storage checkpoint failed; will retry");
        }
    }

    /// Waits for the applier to finish everything committed; what it touched.
    fn flush_applier(&mut self) -> Result<Touched> {
        let (tx, rx) = mpsc::sync_channel(1);
        let sent = self
            .apply_tx
            .as_ref()
            .is_some_and(|a| a.send(ApplyMsg::Flush(tx)).is_ok());
        if !sent {
            return Err(Error::Poisoned);
        }
        rx.recv().map_err(|_| Error::Poisoned)
    }

    /// Makes the tree durable up to `last_seq`, rolls the log, records the checkpoint and
    /// drops segments older than the replication tail.
    fn checkpoint(&mut self) -> Result<()> {
        // After a failed write the tree may hold part of a batch the log holds whole:
        // only a reopen (which replays the log) may move the checkpoint past it.
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        if self.segment.is_some() && self.dirty_since.is_none() && self.log_bytes == 0 {
            return Ok(());
        }
        let touched = self.flush_applier()?;
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let durable = self.options.durable;
        if durable {
            sync_tree(&self.dir.join("tree"), &touched)?;
        }
        let first = self.last_seq + 1;
        let path = self.wal_dir.join(segment_name(first));
        let segment =
            create_segment(&path, durable).map_err(|e| Error::io("starting a log segment", e))?;
        if durable {
            sync_dir(&self.wal_dir)?;
        }
        if self.segments.last() != Some(&first) {
            self.segments.push(first);
        }
        self.segment = Some(segment);
        write_durably(
            &self.dir,
            "CHECKPOINT",
            &serde_json::to_vec(&CheckpointRecord {
                version: CHECKPOINT_VERSION,
                seq: self.last_seq,
            })
            .map_err(|e| Error::io("encoding CHECKPOINT", io::Error::other(e)))?,
            durable,
        )?;
        self.dirty_since = None;
        self.log_bytes = 0;
        self.drop_old_segments();
        if let Some(hook) = &self.options.sync_hook {
            hook(SyncPoint::Checkpoint, &self.dir);
        }
        Ok(())
    }

    fn drop_old_segments(&mut self) {
        let keep_from = self.last_seq.saturating_sub(self.options.tail_batches) + 1;
        while self.segments.len() > 1 && self.segments[1] <= keep_from {
            let first = self.segments.remove(0);
            let path = self.wal_dir.join(segment_name(first));
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, segment = %path.display(), "could not remove an old log segment");
                }
            }
        }
    }
}

fn poison(shared: &Shared, what: &str, err: &Error) {
    tracing::error!(error = %err, "storage write failed while {what}; refusing writes until reopened");
    shared.poisoned.store(true, Ordering::Release);
    shared.applied_cv.notify_all();
}

/// One flush for everything: `syncfs` on Linux, otherwise an fsync per touched entry.
fn sync_tree(tree: &Path, touched: &Touched) -> Result<()> {
    if touched.files.is_empty() && touched.dirs.is_empty() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        let _ = &touched;
        let dir = File::open(tree).map_err(|e| Error::io("opening the tree", e))?;
        // One flush for the whole filesystem beats one fsync per touched file.
        // SAFETY: syncfs takes a valid open descriptor and touches no memory.
        let rc = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) };
        if rc != 0 {
            return Err(Error::io("syncing the tree", io::Error::last_os_error()));
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = tree;
        for path in &touched.files {
            match File::open(path).and_then(|f| f.sync_all()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("syncing a value", e)),
            }
        }
        for dir in &touched.dirs {
            match sync_dir(dir) {
                Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
    }
    Ok(())
}

/// The thread that writes committed batches into the tree, in order.
struct Applier {
    tree: Tree,
    shared: Arc<Shared>,
}

impl Applier {
    fn run(mut self, rx: mpsc::Receiver<ApplyMsg>) {
        for msg in rx {
            match msg {
                ApplyMsg::Batches(group) => {
                    if self.shared.poisoned.load(Ordering::Acquire) {
                        // The log holds these batches; reopening applies them.
                        continue;
                    }
                    for (seq, changes) in group {
                        if let Err(e) = self.tree.apply(&changes) {
                            poison(&self.shared, "applying a batch to the tree", &e);
                            break;
                        }
                        self.settle(seq, &changes);
                    }
                }
                ApplyMsg::Flush(reply) => {
                    let _ = reply.send(std::mem::take(&mut self.tree.touched));
                }
            }
        }
    }

    /// The tree now holds batch `seq`: drop its overlay entries (unless a later batch
    /// changed the key again) and wake listings waiting for it.
    fn settle(&self, seq: Seq, changes: &[Change]) {
        {
            let mut overlay = self.shared.overlay_mut();
            for change in changes {
                if overlay.get(&change.key).is_some_and(|(s, _)| *s == seq) {
                    overlay.remove(&change.key);
                }
            }
        }
        let mut applied = self
            .shared
            .applied
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *applied = seq;
        self.shared.applied_cv.notify_all();
    }
}

/// Writes batches into the directory tree (temp file + rename per key, no fsync) and
/// remembers what it touched for the next checkpoint.
struct Tree {
    root: PathBuf,
    touched: Touched,
}

impl Tree {
    fn new(root: PathBuf) -> Self {
        Self {
            root,
            touched: Touched::default(),
        }
    }

    /// Applies a committed batch: idempotent.
    fn apply(&mut self, changes: &[Change]) -> Result<()> {
        for change in changes {
            let path = key::leaf_path(&self.root, &change.key);
            match &change.value {
                Some(value) => self.write_leaf(&path, value)?,
                None => self.remove_leaf(&path)?,
            }
        }
        Ok(())
    }

    fn write_leaf(&mut self, path: &Path, value: &[u8]) -> Result<()> {
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let temp = parent.join(format!(".{name}.tmp"));
        let open = || {
            fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(&temp)
        };
        // Folders usually exist: try the file first, create the folders only if missing.
        let mut file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&parent)
                    .map_err(|e| Error::io("creating a folder", e))?;
                open().map_err(|e| Error::io("creating a temp file", e))?
            }
            Err(e) => return Err(Error::io("creating a temp file", e)),
        };
        file.write_all(value)
            .map_err(|e| Error::io("writing a temp file", e))?;
        drop(file);
        fs::rename(&temp, path).map_err(|e| Error::io("renaming a temp file", e))?;
        self.touched.files.insert(path.to_path_buf());
        self.touch_folders(&parent);
        Ok(())
    }

    fn remove_leaf(&mut self, path: &Path) -> Result<()> {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Maybe removed before a crash but never made durable: a replayed delete
                // still has to reach the disk before the next checkpoint covers it.
                if let Some(parent) = path.parent() {
                    self.touch_folders(parent);
                }
                return Ok(());
            }
            Err(e) => return Err(Error::io("removing a value", e)),
        }
        self.touched.files.remove(path);
        let mut folder = path.parent();
        while let Some(dir) = folder {
            if dir == self.root || fs::remove_dir(dir).is_err() {
                self.touch_folders(dir);
                break;
            }
            folder = dir.parent();
        }
        Ok(())
    }

    fn touch_folders(&mut self, mut dir: &Path) {
        while dir.starts_with(&self.root) && self.touched.dirs.insert(dir.to_path_buf()) {
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
    }
}

fn clone_io(err: &Error) -> io::Error {
    match err {
        Error::Io { source, .. } => io::Error::new(source.kind(), source.to_string()),
        other => io::Error::other(other.to_string()),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing folder {}", dir.display()), e))
}

/// Writes `dir/name` atomically (and, when `durable`, durably): temp file, fsync, rename,
/// fsync the folder.
fn write_durably(dir: &Path, name: &str, bytes: &[u8], durable: bool) -> Result<()> {
    let temp = dir.join(format!(".{name}.tmp"));
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|e| Error::io(format!("writing {name}"), e))?;
    file.write_all(bytes)
        .and_then(|_| if durable { file.sync_all() } else { Ok(()) })
        .map_err(|e| Error::io(format!("writing {name}"), e))?;
    fs::rename(&temp, dir.join(name)).map_err(|e| Error::io(format!("renaming {name}"), e))?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}
