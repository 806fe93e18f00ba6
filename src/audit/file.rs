//! The writer behind a `file` device: one dedicated thread per device, fed by a bounded
//! channel, so a stuck file can never block the async runtime or other devices.
//!
//! * The async side serializes the line, `try_send`s it (never waits for room) with a
//!   `oneshot` for the result, and waits for that result at most `write_timeout`.
//! * Fail fast: when the thread has been inside one `open`/`write` for longer than
//!   `write_timeout` (a FIFO nobody reads, an `open` of a FIFO with no reader, a hung
//!   network mount), new lines are refused at once instead of queueing; a full queue is
//!   refused the same way.
//! * Stale lines are dropped: before touching the file the thread discards lines whose
//!   caller already gave up (the `oneshot` is closed). Vault has no timeout, so it never
//!   has such lines; we choose to drop them because the caller has already been told the
//!   line was not logged (with a single device its request was refused), and because a
//!   slow device that must first flush a backlog of old lines never catches up with new
//!   ones. The audit file thus holds the lines that were acknowledged, plus at most the
//!   batch that was being written when the device got stuck (those callers saw an error:
//!   a line in the log for a refused request errs on the safe side).
//! * The file is opened lazily (`O_WRONLY|O_APPEND|O_CREAT`, the configured mode, which is
//!   then enforced with `chmod` on regular files unless the mode is `0000`) and kept open.
//!   Before each batch the thread `stat`s the path and compares device and inode with the
//!   open file: a deleted or rotated-away file is reopened, so it is recreated (Vault
//!   #31718). Missing parent directories are *not* created: a vanished directory is an
//!   unmounted volume or a mistake, and logging fails until it is back.
//! * A failed `open` or `write` fails the batch's calls, and the next batch opens the file
//!   again. `reopen` (SIGHUP) closes the file now; the next line reopens it. No fsync,
//!   like Vault.
//! * Dropping the writer closes the channel; the thread finishes what is queued and
//!   exits. A thread stuck in a blocking `open`/`write` is detached: it exits as soon as
//!   the call returns (e.g. when a FIFO reader appears), or with the process.
//! * [`Writer::retire`] (a disabled device) refuses new lines, waits for the thread to
//!   write what was queued and exit, and so returns only once the device has written its
//!   last line: nothing appears in (or re-creates) the file after the device's disable
//!   was answered. A thread still stuck when the wait (`write_timeout`) ends is told to
//!   write nothing more.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::rules::{narrowed_mode, FORBIDDEN_MODE_BITS};
use super::AuditError;

/// Lines that may wait for the thread; beyond that, calls fail at once.
const QUEUE_CAPACITY: usize = 1024;
/// Lines written with one `write` call at most.
const MAX_BATCH: usize = 256;

/// Where a writer thread writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File {
        path: PathBuf,
        /// Permission bits; 0 leaves an existing file's mode alone (new files get 0600).
        mode: u32,
    },
}

enum Msg {
    Line {
        bytes: Vec<u8>,
        ack: oneshot::Sender<Result<(), AuditError>>,
    },
    /// Look at the reopen flag now.
    Wake,
}

/// State shared by the async side and the thread.
struct Shared {
    /// The last write (or wait for one) succeeded.
    healthy: AtomicBool,
    /// Close the file before the next write.
    reopen: AtomicBool,
    /// The device was disabled and stopped waiting for this thread: write nothing more.
    abandoned: AtomicBool,
    /// Milliseconds since `epoch` + 1 when the thread entered its current open/write;
    /// 0 when it is idle.
    busy_since: AtomicU64,
    epoch: Instant,
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long the thread has been inside its current open/write.
    fn stuck_for(&self) -> Duration {
        match self.busy_since.load(Ordering::Acquire) {
            0 => Duration::ZERO,
            since => Duration::from_millis(self.now_ms().saturating_sub(since - 1)),
        }
    }
}

/// The async side of one device's writer thread.
pub struct Writer {
    /// `None` once retired: no line is queued any more.
    tx: Mutex<Option<SyncSender<Msg>>>,
    shared: Arc<Shared>,
    /// Resolves (closed) when the thread has exited; taken by [`Writer::retire`].
    exited: Mutex<Option<oneshot::Receiver<()>>>,
}

/// A line handed to the thread, waiting for its result.
pub struct Pending {
    rx: oneshot::Receiver<Result<(), AuditError>>,
    deadline: tokio::time::Instant,
    timeout: Duration,
    shared: Arc<Shared>,
}

impl Writer {
    /// Starts the thread (named after the device) writing to `target`.
    pub fn spawn(name: &str, target: Target) -> io::Result<Writer> {
        let shared = Arc::new(Shared {
            healthy: AtomicBool::new(true),
            reopen: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            busy_since: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let thread_shared = Arc::clone(&shared);
        // Dropped when the thread ends, however it ends: that is the exit signal.
        let (exit_signal, exited) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("audit {name}"))
            .spawn(move || {
                let _exit_signal = exit_signal;
                run(rx, Output::new(target), &thread_shared);
            })?;
        Ok(Writer {
            tx: Mutex::new(Some(tx)),
            shared,
            exited: Mutex::new(Some(exited)),
        })
    }

    /// The queue, unless retired.
    fn sender(&self) -> std::sync::MutexGuard<'_, Option<SyncSender<Msg>>> {
        self.tx.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `line`; the result arrives through [`Pending::wait`] within `timeout`.
    /// Fails at once when the thread is stuck or the queue is full.
    pub fn submit(&self, line: Vec<u8>, timeout: Duration) -> Result<Pending, AuditError> {
        if self.shared.stuck_for() > timeout {
            self.shared.healthy.store(false, Ordering::Release);
            return Err(AuditError::Blocked);
        }
        let (ack, rx) = oneshot::channel();
        let deadline = tokio::time::Instant::now() + timeout;
        let sender = self.sender();
        let Some(tx) = sender.as_ref() else {
            return Err(AuditError::Retired);
        };
        match tx.try_send(Msg::Line { bytes: line, ack }) {
            Ok(()) => Ok(Pending {
                rx,
                deadline,
                timeout,
                shared: Arc::clone(&self.shared),
            }),
            Err(TrySendError::Full(_)) => {
                self.shared.healthy.store(false, Ordering::Release);
                Err(AuditError::Blocked)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.shared.healthy.store(false, Ordering::Release);
                Err(AuditError::Stopped)
            }
        }
    }

    /// Closes the file now (or as soon as the thread is free); the next line reopens it.
    pub fn reopen(&self) {
        self.shared.reopen.store(true, Ordering::Release);
        // If the queue is full the flag is still seen before the next write.
        if let Some(tx) = self.sender().as_ref() {
            let _ = tx.try_send(Msg::Wake);
        }
    }

    /// Refuses new lines ([`AuditError::Retired`]), then waits until the thread has
    /// written what was queued and exited, at most `timeout`. A thread still stuck then
    /// in a blocking `open`/`write` is abandoned: it writes nothing more once that call
    /// returns. Returns whether the thread finished in time.
    pub async fn retire(&self, timeout: Duration) -> bool {
        // Dropping the only sender closes the queue: the thread drains it and exits.
        drop(self.sender().take());
        let exited = self
            .exited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(exited) = exited else {
            return true;
        };
        if tokio::time::timeout(timeout, exited).await.is_ok() {
            return true;
        }
        self.shared.abandoned.store(true, Ordering::Release);
        false
    }

    pub fn healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Acquire)
    }

    /// Whether the thread is inside an `open`/`write` now (tests order lines by it).
    #[cfg(test)]
    pub fn busy(&self) -> bool {
        self.shared.busy_since.load(Ordering::Acquire) != 0
    }
}

impl Pending {
    /// The write's result, or [`AuditError::Timeout`] at the deadline (the thread then
    /// drops the line if it has not started writing it).
    pub async fn wait(self) -> Result<(), AuditError> {
        let result = match tokio::time::timeout_at(self.deadline, self.rx).await {
            Ok(Ok(result)) => result,
            // The thread dropped the sender without answering: it is gone.
            Ok(Err(_)) => Err(AuditError::Stopped),
            Err(_) => Err(AuditError::Timeout(self.timeout)),
        };
        if result.is_err() {
            self.shared.healthy.store(false, Ordering::Release);
        }
        result
    }
}

/// The thread: batches queued lines, drops stale ones, writes the rest.
fn run(rx: Receiver<Msg>, mut out: Output, shared: &Shared) {
    let mut buf: Vec<u8> = Vec::new();
    let mut acks: Vec<oneshot::Sender<Result<(), AuditError>>> = Vec::new();
    while let Ok(first) = rx.recv() {
        // Take what is queued, skipping lines whose caller already gave up.
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            if let Msg::Line { bytes, ack } = msg {
                if !ack.is_closed() {
                    buf.extend_from_slice(&bytes);
                    acks.push(ack);
                }
            }
            if acks.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if shared.reopen.swap(false, Ordering::AcqRel) {
            out.close();
        }
        if acks.is_empty() {
            continue;
        }
        if shared.abandoned.load(Ordering::Acquire) {
            for ack in acks.drain(..) {
                let _ = ack.send(Err(AuditError::Retired));
            }
            return;
        }
        shared
            .busy_since
            .store(shared.now_ms().saturating_add(1), Ordering::Release);
        let result = out.write(&buf);
        shared.busy_since.store(0, Ordering::Release);
        shared.healthy.store(result.is_ok(), Ordering::Release);
        for ack in acks.drain(..) {
            // The caller may have given up meanwhile; nothing to do then.
            let _ = ack.send(result.clone());
        }
        buf.clear();
        if buf.capacity() > 1 << 20 {
            buf = Vec::new();
        }
    }
}

/// The open file (or stdout) of one thread.
struct Output {
    target: Target,
    file: Option<File>,
}

impl Output {
    fn new(target: Target) -> Self {
        Output { target, file: None }
    }

    fn close(&mut self) {
        self.file = None;
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), AuditError> {
        let (path, mode) = match &self.target {
            Target::Stdout => {
                let mut stdout = io::stdout().lock();
                return stdout
                    .write_all(bytes)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| AuditError::io("write", &e));
            }
            Target::File { path, mode } => (path.as_path(), *mode),
        };
        if let Some(file) = &self.file {
            if !still_at(path, file) {
                self.file = None;
            }
        }
        let file = match &mut self.file {
            Some(file) => file,
            none => none.insert(open(path, mode).map_err(|e| AuditError::io("open", &e))?),
        };
        file.write_all(bytes).map_err(|e| {
            // Open afresh next time: the descriptor may be what is broken.
            self.file = None;
            AuditError::io("write", &e)
        })
    }
}

/// Whether `path` still names the open `file` (not deleted, not rotated away).
fn still_at(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
        _ => false,
    }
}

/// Opens `path` for appending, creating it with `mode`. On a regular file the mode is
/// enforced only by narrowing (never loosened), and an executable file is never written
/// (FIFOs, devices such as `/dev/null` and sockets are left alone).
fn open(path: &Path, mode: u32) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(if mode == 0 {
            0o600
        } else {
            mode & !FORBIDDEN_MODE_BITS
        })
        .open(path)?;
    let meta = file.metadata()?;
    if meta.file_type().is_file() {
        let current = meta.permissions().mode();
        if current & FORBIDDEN_MODE_BITS != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "refusing to append audit entries to an executable file",
            ));
        }
        if let Some(next) = (mode != 0).then(|| narrowed_mode(current, mode)).flatten() {
            file.set_permissions(Permissions::from_mode(next))?;
        }
    }
    Ok(file)
}
