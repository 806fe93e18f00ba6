//! Opening a data directory: the checkpoint record, replaying the log after it, cleaning
//! what a crash left in the tree, and reading the log's tail back for the change feed.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};

use super::applier::{Applier, Touched, Tree, APPLY_QUEUE};
use super::checkpointer::{Checkpointer, Segments};
use super::replace;
use super::spares::Spares;
use super::writer::Writer;
use super::{FileBackend, FileOptions, Shared};
use crate::error::{Error, Result};
use crate::key;
use crate::physical::wal::{list_segments, scan_segment};
use crate::physical::{Committed, Seq};
use crate::position::LogId;

impl FileBackend {
    pub(super) fn open_blocking(dir: PathBuf, options: FileOptions) -> Result<Self> {
        let tree = dir.join("tree");
        let wal_dir = dir.join("wal");
        let create = |d: &Path| {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(|e| Error::io(format!("creating {}", d.display()), e))
        };
        create(&dir)?;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("LOCK"))
            .map_err(|e| Error::io("opening the lock file", e))?;
        // A lock just released can still be held for a moment: a process forking
        // elsewhere shares the lock's open file until its child execs. So a few tries,
        // a second in all, before the directory counts as in use.
        let mut tries = 0;
        while lock.try_lock().is_err() {
            tries += 1;
            if tries == 20 {
                return Err(Error::io(
                    format!("locking {}", dir.display()),
                    io::Error::new(io::ErrorKind::WouldBlock, "data directory is in use"),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // A restore or wipe a crash interrupted is finished (or dropped) first: until then
        // `tree/` and `wal/` may be missing or half swapped.
        replace::recover(&dir, options.durable, options.sync_hook.as_ref())?;
        create(&tree)?;
        create(&wal_dir)?;

        let (checkpoint_seq, log_id, damage) = match read_checkpoint(&dir)? {
            CheckpointState::Found(seq, log_id) => (seq, log_id, None),
            CheckpointState::Missing if list_segments(&wal_dir)?.is_empty() => (0, None, None),
            CheckpointState::Missing => {
                let damage = "it is missing".to_owned();
                (
                    checkpoint_from_log(&dir, &wal_dir, &damage)?,
                    None,
                    Some(damage),
                )
            }
            CheckpointState::Damaged(damage) => (
                checkpoint_from_log(&dir, &wal_dir, &damage)?,
                None,
                Some(damage),
            ),
        };
        // A new directory (or one from before log ids, or whose CHECKPOINT was damaged)
        // gets its id now; the checkpoint below records it before `open` returns, so nobody
        // sees an id that is not durable.
        let log_id = log_id.unwrap_or_else(LogId::random);
        let replay = recover_log(&wal_dir, checkpoint_seq).map_err(|e| match &damage {
            Some(damage) => unprovable(
                &dir,
                damage,
                &format!("the commit log cannot be replayed ({e})"),
            ),
            None => e,
        })?;
        let last_seq = replay.last().map_or(checkpoint_seq, |c| c.seq);
        let shared = Arc::new(Shared {
            last_seq: AtomicU64::new(last_seq),
            poisoned: AtomicBool::new(false),
            log_id: RwLock::new(log_id),
            gate: Arc::new(RwLock::new(())),
            snapshots: AtomicUsize::new(0),
            overlay: RwLock::new(HashMap::new()),
            applied: Mutex::new(last_seq),
            applied_cv: Condvar::new(),
            stats: Default::default(),
        });
        let mut tree_writer = Tree::with_spares(
            tree.clone(),
            Spares::open(dir.join("spare"), &tree, shared.gate.clone()),
        );
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
        let segments: Segments = Arc::new(Mutex::new(
            list_segments(&wal_dir)?
                .into_iter()
                .map(|(s, _)| s)
                .collect(),
        ));
        let (tx, rx) = mpsc::channel();
        let mut checkpointer = Checkpointer {
            dir: dir.clone(),
            shared: shared.clone(),
            options: options.clone(),
            segments: segments.clone(),
            apply_tx: apply_tx.clone(),
            pending: Touched::default(),
        };
        let mut writer = Writer {
            dir: dir.clone(),
            wal_dir: wal_dir.clone(),
            segments,
            segment: None,
            log_bytes: 0,
            last_seq,
            dirty_since: None,
            checkpointed: last_seq,
            in_flight: None,
            waiting: Vec::new(),
            last_outcome: Ok(()),
            pending_replace: None,
            shared: shared.clone(),
            options: options.clone(),
            apply_tx: Some(apply_tx),
            applier: Some(applier),
            jobs: None,
            checkpointer: None,
            _lock: lock,
        };
        // Start appending in a fresh segment and make the replayed batches durable in the
        // tree before anything new is committed.
        writer.roll()?;
        checkpointer.checkpoint(last_seq)?;
        if !replay.is_empty() {
            tracing::info!(
                batches = replay.len(),
                last_seq,
                "replayed the commit log after an unclean stop"
            );
        }

        let (jobs_tx, jobs_rx) = mpsc::channel();
        let done = tx.clone();
        writer.checkpointer = Some(
            std::thread::Builder::new()
                .name("vaultrs-storage-checkpoint".into())
                .spawn(move || checkpointer.run(jobs_rx, done))
                .map_err(|e| Error::io("starting the storage checkpointer", e))?,
        );
        writer.jobs = Some(jobs_tx);
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
            replacing: tokio::sync::Mutex::new(()),
            durable: options.durable,
            sync_hook: options.sync_hook.clone(),
        })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct CheckpointRecord {
    pub(super) version: u32,
    pub(super) seq: Seq,
    /// Since version 2; a version 1 record has none, and opening gives the directory one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) log_id: Option<LogId>,
}

/// `CHECKPOINT` format: version 2 adds the log id; version 1 (`{"version":1,"seq":N}`) is
/// still read.
pub(super) const CHECKPOINT_VERSION: u32 = 2;

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

/// What `CHECKPOINT` says.
enum CheckpointState {
    /// The checkpointed sequence and the log id (`None` in a version 1 record).
    Found(Seq, Option<LogId>),
    Missing,
    /// Unreadable as a checkpoint record: why.
    Damaged(String),
}

fn read_checkpoint(dir: &Path) -> Result<CheckpointState> {
    let bytes = match fs::read(dir.join("CHECKPOINT")) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(CheckpointState::Missing),
        Err(e) => return Err(Error::io("reading CHECKPOINT", e)),
    };
    // A newer format is not damage: refuse it rather than guess.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        if let Some(v) = value["version"].as_u64().filter(|v| *v > 2) {
            return Err(Error::corrupt(
                "CHECKPOINT",
                format!("unknown format version {v} (written by a newer vaultrs?)"),
            ));
        }
    }
    let record: CheckpointRecord = match serde_json::from_slice(&bytes) {
        Ok(record) => record,
        Err(e) => return Ok(CheckpointState::Damaged(e.to_string())),
    };
    Ok(match (record.version, record.log_id) {
        (1, _) => CheckpointState::Found(record.seq, None),
        (2, Some(id)) => CheckpointState::Found(record.seq, Some(id)),
        (2, None) => CheckpointState::Damaged("version 2 without a log id".into()),
        (v, _) => CheckpointState::Damaged(format!("format version {v}")),
    })
}

/// Where to replay from when `CHECKPOINT` is damaged (or gone while a log exists): the first
/// batch the log still holds. Sound because a segment is only removed once a durable
/// checkpoint covers every batch in it: whatever the damaged record said, the tree holds
/// everything before the oldest segment left, and replaying from there (idempotent) brings
/// it to the last batch. Without any segment nothing shows the tree complete: refused.
fn checkpoint_from_log(dir: &Path, wal_dir: &Path, damage: &str) -> Result<Seq> {
    let segments = list_segments(wal_dir)?;
    let Some((first, _)) = segments.first() else {
        return Err(unprovable(dir, damage, "the commit log holds no segment"));
    };
    tracing::warn!(
        checkpoint = %dir.join("CHECKPOINT").display(),
        damage,
        from = first,
        "CHECKPOINT is damaged: replaying everything the commit log still holds; the \
         directory gets a new log id"
    );
    Ok(first.saturating_sub(1))
}

/// The refusal when neither `CHECKPOINT` nor the log can show the tree is complete.
fn unprovable(dir: &Path, damage: &str, why: &str) -> Error {
    Error::corrupt(
        "CHECKPOINT",
        format!(
            "{} is damaged ({damage}) and {why}, so nothing shows the tree is complete; \
             restore the data directory from a snapshot (vaultrs operator snapshot restore) \
             or from a backup",
            dir.join("CHECKPOINT").display()
        ),
    )
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
pub(super) fn read_tail(wal_dir: &Path, last: Seq, keep: u64) -> Result<Vec<Committed>> {
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
