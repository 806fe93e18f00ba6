//! The writer thread: owns the log, appends and fsyncs groups of batches (group commit),
//! acknowledges them, hands them to the applier, and checkpoints.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::applier::{ApplyMsg, Touched};
use super::recovery::{CheckpointRecord, CHECKPOINT_VERSION};
use super::{FileOptions, Shared, SyncPoint};
use crate::error::{Error, Result};
use crate::physical::wal::{self, create_segment, segment_name};
use crate::physical::{Batch, Seq};

pub(super) enum Msg {
    Commit(Batch, oneshot::Sender<Result<Seq>>),
    Checkpoint(oneshot::Sender<Result<()>>),
    Close(oneshot::Sender<Result<()>>),
}

/// The thread that owns the log: appends groups, acknowledges them, checkpoints.
pub(super) struct Writer {
    pub(super) dir: PathBuf,
    pub(super) wal_dir: PathBuf,
    /// First sequence of every segment on disk, ascending.
    pub(super) segments: Vec<Seq>,
    pub(super) segment: Option<File>,
    pub(super) log_bytes: u64,
    pub(super) last_seq: Seq,
    pub(super) dirty_since: Option<Instant>,
    pub(super) shared: Arc<Shared>,
    pub(super) options: FileOptions,
    pub(super) apply_tx: Option<mpsc::SyncSender<ApplyMsg>>,
    pub(super) applier: Option<JoinHandle<()>>,
    pub(super) _lock: File,
}

impl Writer {
    pub(super) fn run(mut self, rx: mpsc::Receiver<Msg>) {
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
    pub(super) fn checkpoint(&mut self) -> Result<()> {
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

pub(super) fn poison(shared: &Shared, what: &str, err: &Error) {
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

fn clone_io(err: &Error) -> io::Error {
    match err {
        Error::Io { source, .. } => io::Error::new(source.kind(), source.to_string()),
        other => io::Error::other(other.to_string()),
    }
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
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
