//! The writer thread: owns the log. It appends and fsyncs groups of batches (group commit),
//! makes them visible through the overlay, acknowledges them and hands them to the
//! applier. When a checkpoint falls due (log bytes, age of the oldest uncheckpointed
//! commit, an explicit request, close) it rolls the log to a new segment and hands the
//! rest to the checkpointer thread (see `checkpointer.rs`), so commits go on meanwhile.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::applier::ApplyMsg;
use super::checkpointer::{Job, Segments};
use super::snapshot::Marks;
use super::sync::sync_dir;
use super::{FileOptions, Shared, SyncPoint};
use crate::error::{Error, Result};
use crate::physical::wal::{self, create_segment, segment_name};
use crate::physical::{Batch, Seq};
use crate::position::Position;

pub(super) enum Msg {
    Commit(Batch, oneshot::Sender<Result<Seq>>),
    Checkpoint(oneshot::Sender<Result<()>>),
    Close(oneshot::Sender<Result<()>>),
    /// From the checkpointer: the checkpoint of `seq` finished.
    CheckpointDone {
        seq: Seq,
        result: Result<()>,
    },
    /// Passed on to the applier, behind every batch handed over so far.
    StartSnapshot(Arc<Marks>, oneshot::Sender<Seq>),
    EndSnapshot(Arc<Marks>),
    /// Swap in the store staged in `staging` (see `replace.rs`).
    Replace {
        staging: PathBuf,
        reply: oneshot::Sender<Result<Position>>,
    },
}

/// The thread that owns the log: appends groups, acknowledges them, starts checkpoints.
pub(super) struct Writer {
    pub(super) dir: PathBuf,
    pub(super) wal_dir: PathBuf,
    pub(super) segments: Segments,
    pub(super) segment: Option<File>,
    /// Bytes appended to the current segment.
    pub(super) log_bytes: u64,
    pub(super) last_seq: Seq,
    /// When the oldest commit not yet handed to a checkpoint was made.
    pub(super) dirty_since: Option<Instant>,
    /// The sequence the last successful checkpoint covers.
    pub(super) checkpointed: Seq,
    /// The sequence of the checkpoint the checkpointer is making, if any.
    pub(super) in_flight: Option<Seq>,
    /// Checkpoint requests that came while one was in flight: they get the next one.
    pub(super) waiting: Vec<oneshot::Sender<Result<()>>>,
    /// The outcome of the last checkpoint, for `close`.
    pub(super) last_outcome: Result<()>,
    /// A replace that waits for the checkpoint in flight.
    pub(super) pending_replace: Option<(PathBuf, oneshot::Sender<Result<Position>>)>,
    pub(super) shared: Arc<Shared>,
    pub(super) options: FileOptions,
    pub(super) apply_tx: Option<mpsc::SyncSender<ApplyMsg>>,
    pub(super) applier: Option<JoinHandle<()>>,
    pub(super) jobs: Option<mpsc::Sender<Job>>,
    pub(super) checkpointer: Option<JoinHandle<()>>,
    pub(super) _lock: File,
}

impl Writer {
    pub(super) fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let wait = match (self.in_flight, self.dirty_since) {
                (None, Some(t)) => self.options.checkpoint_interval.saturating_sub(t.elapsed()),
                _ => Duration::from_secs(3600),
            };
            let first = match rx.recv_timeout(wait) {
                Ok(msg) => msg,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.checkpoint_if_due();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = self.shut_down(&rx);
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
                    Msg::Checkpoint(reply) => self.request_checkpoint(reply),
                    Msg::CheckpointDone { seq, result } => self.checkpoint_done(seq, result),
                    Msg::StartSnapshot(marks, reply) => {
                        self.to_applier(ApplyMsg::StartSnapshot(marks, reply));
                    }
                    Msg::EndSnapshot(marks) => self.to_applier(ApplyMsg::EndSnapshot(marks)),
                    Msg::Replace { staging, reply } => {
                        if self.in_flight.is_some() {
                            self.pending_replace = Some((staging, reply));
                        } else {
                            let _ = reply.send(self.replace(&staging));
                        }
                    }
                    Msg::Close(reply) => {
                        let result = self.shut_down(&rx);
                        let _ = reply.send(result);
                        return;
                    }
                    Msg::Commit(..) => unreachable!("commits are collected apart"),
                }
            }
            self.checkpoint_if_due();
        }
    }

    fn poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::Acquire)
    }

    /// Whether batches were committed that no checkpoint (done or in flight) covers.
    fn uncovered(&self) -> bool {
        self.last_seq > self.in_flight.unwrap_or(self.checkpointed)
    }

    fn checkpoint_if_due(&mut self) {
        let busy = self.in_flight.is_some() || self.pending_replace.is_some();
        if busy || !self.uncovered() || self.poisoned() {
            return;
        }
        let old = self
            .dirty_since
            .is_some_and(|t| t.elapsed() >= self.options.checkpoint_interval);
        if old || self.log_bytes >= self.options.checkpoint_bytes {
            self.start_checkpoint(Vec::new());
        }
    }

    fn request_checkpoint(&mut self, reply: oneshot::Sender<Result<()>>) {
        if self.poisoned() {
            let _ = reply.send(Err(Error::Poisoned));
        } else if self.in_flight.is_some() {
            self.waiting.push(reply);
        } else if self.uncovered() {
            self.start_checkpoint(vec![reply]);
        } else {
            let _ = reply.send(Ok(()));
        }
    }

    /// Rolls the log (when the current segment holds records) and hands everything
    /// committed so far to the checkpointer.
    fn start_checkpoint(&mut self, replies: Vec<oneshot::Sender<Result<()>>>) {
        if self.poisoned() {
            for reply in replies {
                let _ = reply.send(Err(Error::Poisoned));
            }
            return;
        }
        if self.log_bytes > 0 {
            if let Err(e) = self.roll() {
                // The checkpoint is still right; the log just stays in this segment.
                tracing::warn!(error = %e, "could not start a new log segment");
            }
        }
        let seq = self.last_seq;
        let Some(jobs) = &self.jobs else {
            for reply in replies {
                let _ = reply.send(Err(Error::Poisoned));
            }
            return;
        };
        if let Err(mpsc::SendError(job)) = jobs.send(Job { seq, replies }) {
            for reply in job.replies {
                let _ = reply.send(Err(Error::Poisoned));
            }
            return;
        }
        self.in_flight = Some(seq);
        self.dirty_since = None;
    }

    fn checkpoint_done(&mut self, seq: Seq, result: Result<()>) {
        self.in_flight = None;
        if let Some((staging, reply)) = self.pending_replace.take() {
            let _ = reply.send(self.replace(&staging));
        }
        match &result {
            Ok(()) => self.checkpointed = self.checkpointed.max(seq),
            // Try again once the interval has passed.
            Err(_) => {
                self.dirty_since.get_or_insert_with(Instant::now);
            }
        }
        if !self.waiting.is_empty() {
            let waiting = std::mem::take(&mut self.waiting);
            if self.uncovered() {
                self.start_checkpoint(waiting);
            } else {
                for reply in waiting {
                    let _ = reply.send(result.as_ref().map(|_| ()).map_err(same_error));
                }
            }
        }
        self.last_outcome = result;
    }

    /// Starts a segment at `last_seq + 1` (durable with its folder) and appends there.
    pub(super) fn roll(&mut self) -> Result<()> {
        let first = self.last_seq + 1;
        let durable = self.options.durable;
        let path = self.wal_dir.join(segment_name(first));
        let segment =
            create_segment(&path, durable).map_err(|e| Error::io("starting a log segment", e))?;
        if durable {
            sync_dir(&self.wal_dir)?;
        }
        {
            let mut segments = self.segments.lock().unwrap_or_else(|p| p.into_inner());
            if segments.last() != Some(&first) {
                segments.push(first);
            }
        }
        self.segment = Some(segment);
        self.log_bytes = 0;
        Ok(())
    }

    /// Waits for the checkpoint in flight, checkpoints what is left, stops the other
    /// threads. Commits that arrive meanwhile are dropped unanswered (the backend is
    /// closing: their callers see [`Error::Poisoned`]).
    fn shut_down(&mut self, rx: &mpsc::Receiver<Msg>) -> Result<()> {
        let mut closers = Vec::new();
        self.wait_in_flight(rx, &mut closers);
        let result = if self.poisoned() {
            Err(Error::Poisoned)
        } else if self.uncovered() {
            self.start_checkpoint(Vec::new());
            self.wait_in_flight(rx, &mut closers);
            std::mem::replace(&mut self.last_outcome, Ok(()))
        } else {
            Ok(())
        };
        self.jobs = None;
        if let Some(handle) = self.checkpointer.take() {
            let _ = handle.join();
        }
        self.apply_tx = None;
        if let Some(handle) = self.applier.take() {
            let _ = handle.join();
        }
        for reply in closers {
            let _ = reply.send(result.as_ref().map(|_| ()).map_err(same_error));
        }
        result
    }

    fn wait_in_flight(
        &mut self,
        rx: &mpsc::Receiver<Msg>,
        closers: &mut Vec<oneshot::Sender<Result<()>>>,
    ) {
        while self.in_flight.is_some() {
            match rx.recv() {
                Ok(Msg::CheckpointDone { seq, result }) => self.checkpoint_done(seq, result),
                Ok(Msg::Checkpoint(reply)) => self.request_checkpoint(reply),
                Ok(Msg::Close(reply)) => closers.push(reply),
                Ok(
                    Msg::Commit(..)
                    | Msg::StartSnapshot(..)
                    | Msg::EndSnapshot(..)
                    | Msg::Replace { .. },
                ) => {}
                Err(_) => {
                    self.in_flight = None;
                }
            }
        }
    }

    pub(super) fn poison(&self, what: &str, err: &Error) {
        poison(&self.shared, what, err);
    }

    /// Waits until the applier has written every batch handed over.
    pub(super) fn flush_applier(&self) -> Result<()> {
        let (tx, rx) = mpsc::sync_channel(1);
        let sent = self
            .apply_tx
            .as_ref()
            .is_some_and(|a| a.send(ApplyMsg::Flush(tx)).is_ok());
        if !sent {
            return Err(Error::Poisoned);
        }
        rx.recv().map(drop).map_err(|_| Error::Poisoned)
    }

    /// A control message for the applier (dropped if it is gone: its sender then sees the
    /// reply channel close).
    fn to_applier(&self, msg: ApplyMsg) {
        if let Some(tx) = &self.apply_tx {
            let _ = tx.send(msg);
        }
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
        let stats = &self.shared.stats;
        stats.group_batches.record(accepted.len() as u64);
        for (_, batch, _) in &accepted {
            stats.batch_changes.record(batch.changes.len() as u64);
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
        let stats = &self.shared.stats;
        segment
            .write_all(buf)
            .and_then(|_| {
                if !durable {
                    return Ok(());
                }
                let started = Instant::now();
                segment.sync_data()?;
                stats.log_sync.record_duration(started.elapsed());
                Ok(())
            })
            .map_err(|e| Error::io("appending to the commit log", e))?;
        self.log_bytes += buf.len() as u64;
        Ok(())
    }
}

pub(super) fn poison(shared: &Shared, what: &str, err: &Error) {
    tracing::error!(error = %err, "storage write failed while {what}; refusing writes until reopened");
    shared.poisoned.store(true, Ordering::Release);
    shared.applied_cv.notify_all();
}

/// A copy of `err` for a second waiter (errors are not `Clone`: IO errors carry their
/// kind and message).
pub(super) fn same_error(err: &Error) -> Error {
    match err {
        Error::Poisoned => Error::Poisoned,
        Error::Io { context, source } => Error::Io {
            context: context.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        Error::Corrupt { what, reason } => Error::corrupt(what.clone(), reason.clone()),
        other => Error::io("checkpointing", io::Error::other(other.to_string())),
    }
}

fn clone_io(err: &Error) -> io::Error {
    match err {
        Error::Io { source, .. } => io::Error::new(source.kind(), source.to_string()),
        other => io::Error::other(other.to_string()),
    }
}
