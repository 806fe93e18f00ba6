//! The checkpointer thread: makes the tree durable up to a sequence the writer hands over,
//! so that no commit ever waits for a checkpoint.
//!
//! A checkpoint of sequence `N` goes, in order:
//!
//! 1. (writer thread) the log rolls: unless the current segment is still empty, a new
//!    segment starting at `N + 1` is created and made durable with its folder, and commits
//!    go on in it at once; `N` is handed over here;
//! 2. wait until the applier has written every batch up to `N` into the tree: a flush
//!    message queued behind them, answered with the files the applier touched;
//! 3. [`sync_tree`]: the tree is durable up to `N` (and maybe beyond, since the applier
//!    goes on; harmless: replay rewrites those files whole);
//! 4. `CHECKPOINT` = `{seq: N}`, written durably (temp file, fsync, rename, fsync folder);
//! 5. the segments that hold only batches at or below `N - tail_batches` are removed.
//!
//! A crash anywhere in between leaves `CHECKPOINT` naming the previous checkpoint (or `N`,
//! once step 4 is durable) and every segment after it (they only go in step 5), so opening
//! replays from there. One checkpoint runs at a time; the writer coalesces those that fall
//! due meanwhile. A failed tree sync poisons the backend: after a failed `fsync`/`syncfs`
//! the kernel may have dropped the dirty pages, so only a reopen (which replays the log)
//! may move the checkpoint past them. A failed `CHECKPOINT` write is retried later.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::oneshot;

use super::applier::{ApplyMsg, Touched};
use super::recovery::{CheckpointRecord, CHECKPOINT_VERSION};
use super::sync::{sync_tree, write_durably};
use super::writer::{poison, same_error, Msg};
use super::{FileOptions, Shared, SyncPoint};
use crate::error::{Error, Result};
use crate::physical::wal::segment_name;
use crate::physical::Seq;

/// A checkpoint to make: everything up to `seq`, and who waits for it.
pub(super) struct Job {
    pub(super) seq: Seq,
    pub(super) replies: Vec<oneshot::Sender<Result<()>>>,
}

/// First sequence of every log segment on disk, ascending. The writer adds segments, the
/// checkpointer removes old ones.
pub(super) type Segments = Arc<Mutex<Vec<Seq>>>;

pub(super) struct Checkpointer {
    pub(super) dir: PathBuf,
    pub(super) shared: Arc<Shared>,
    pub(super) options: FileOptions,
    pub(super) segments: Segments,
    pub(super) apply_tx: mpsc::SyncSender<ApplyMsg>,
    /// Files touched and not yet made durable, kept across a failed checkpoint.
    pub(super) pending: Touched,
}

impl Checkpointer {
    /// Runs jobs until the writer drops its sender; reports each outcome on `done`.
    pub(super) fn run(mut self, jobs: mpsc::Receiver<Job>, done: mpsc::Sender<Msg>) {
        for job in jobs {
            let started = std::time::Instant::now();
            let result = self.checkpoint(job.seq);
            let stats = &self.shared.stats;
            match &result {
                Ok(()) => stats.checkpoint.record_duration(started.elapsed()),
                Err(e) => {
                    stats.checkpoint_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, seq = job.seq, "storage checkpoint failed; will retry");
                }
            }
            for reply in job.replies {
                let _ = reply.send(result.as_ref().map(|_| ()).map_err(same_error));
            }
            let report = Msg::CheckpointDone {
                seq: job.seq,
                result,
            };
            if done.send(report).is_err() {
                return;
            }
        }
    }

    /// Makes the tree durable up to `seq`, records it in `CHECKPOINT` and drops the
    /// segments beyond the replication tail. The writer has already rolled the log.
    pub(super) fn checkpoint(&mut self, seq: Seq) -> Result<()> {
        // After a failed write the tree may hold part of a batch the log holds whole:
        // only a reopen (which replays the log) may move the checkpoint past it.
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let touched = self.flush_applier()?;
        self.pending.merge(touched);
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        if let Some(hook) = &self.options.sync_hook {
            hook(SyncPoint::TreeSync, &self.dir);
        }
        let durable = self.options.durable;
        if durable {
            if let Err(e) = sync_tree(&self.dir.join("tree"), &self.pending) {
                poison(&self.shared, "making the tree durable", &e);
                return Err(e);
            }
        }
        self.pending = Touched::default();
        let record = serde_json::to_vec(&CheckpointRecord {
            version: CHECKPOINT_VERSION,
            seq,
            log_id: Some(self.shared.log_id()),
        })
        .map_err(|e| Error::io("encoding CHECKPOINT", io::Error::other(e)))?;
        write_durably(&self.dir, "CHECKPOINT", &record, durable)?;
        self.drop_old_segments(seq);
        if let Some(hook) = &self.options.sync_hook {
            hook(SyncPoint::Checkpoint, &self.dir);
        }
        Ok(())
    }

    /// Waits until the applier has written everything queued before now (every batch the
    /// writer handed over before the job); what it touched since the last flush.
    fn flush_applier(&self) -> Result<Touched> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.apply_tx
            .send(ApplyMsg::Flush(tx))
            .map_err(|_| Error::Poisoned)?;
        rx.recv().map_err(|_| Error::Poisoned)
    }

    /// Removes the segments whose batches are all checkpointed (at or below `seq`) and
    /// older than the replication tail.
    fn drop_old_segments(&self, seq: Seq) {
        let keep_from = seq.saturating_sub(self.options.tail_batches) + 1;
        let wal_dir = self.dir.join("wal");
        let old: Vec<Seq> = {
            let mut segments = self.segments.lock().unwrap_or_else(|p| p.into_inner());
            // Segment i holds the batches before segment i + 1's first: it goes when that
            // first is at most `keep_from`, i.e. all but the last of the segments starting
            // at or below `keep_from`. (Removed outside the lock: the writer rolls under it.)
            let n = segments
                .partition_point(|s| *s <= keep_from)
                .saturating_sub(1);
            segments.drain(..n).collect()
        };
        for first in old {
            let path = wal_dir.join(segment_name(first));
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, segment = %path.display(), "could not remove an old log segment");
                }
            }
        }
    }
}
