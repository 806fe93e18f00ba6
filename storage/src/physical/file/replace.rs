//! Replacing the whole store at once: [`FileBackend::restore`] (from a snapshot) and
//! [`FileBackend::wipe`]. After a crash at any point the directory holds exactly the old
//! store or exactly the new one, never a mix, and the old log is never replayed onto the
//! new tree.
//!
//! ```text
//! <data dir>/staging/    the new store being built (tree/, then wal/ and CHECKPOINT)
//! <data dir>/incoming/   the same, once committed: opening finishes the swap
//! <data dir>/old/        the old tree and log, on their way out
//! ```
//!
//! 1. *Stage* (beside the running store, commits go on): `staging/tree/` gets every entry
//!    (a restore checks the snapshot's checksums as it goes and its SHA-256 at the end), and
//!    is made durable (`syncfs`, or an fsync per file elsewhere).
//! 2. *Prepare* (writer thread: commits wait from here; no checkpoint in flight, the
//!    applier caught up, tree reads held off): `staging/CHECKPOINT` names a new log id and
//!    the current sequence `R`, `staging/wal/` is an empty log; all durable.
//! 3. *Commit*: rename `staging` to `incoming`, fsync the data directory. Before this, a
//!    crash leaves the old store (opening removes `staging/`); after it, the new one.
//! 4. *Finish* (also what opening does when it finds `incoming/`; every step can be
//!    repeated): move `tree/` to `old/tree/` and `incoming/tree/` to `tree/`, the same for
//!    `wal/`, then `incoming/CHECKPOINT` over `CHECKPOINT`, fsyncing the folders after each
//!    rename; then remove `old/` and `incoming/`.
//!
//! The new store starts a new log id (readers positioned in the old log must resync) and
//! its sequence numbers go on from `R`, so they never go back. A failure before the commit
//! leaves the old store serving; a failure after it poisons the backend (reopening
//! finishes the swap).

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use tokio::io::AsyncRead;
use tokio::sync::oneshot;

use super::applier::Tree;
use super::recovery::{CheckpointRecord, CHECKPOINT_VERSION};
use super::sync::{sync_dir, sync_tree, write_durably};
use super::writer::{Msg, Writer};
use super::{blocking, read_leaf, FileBackend, SyncHook, SyncPoint};
use crate::error::{Error, Result};
use crate::key::{self, validate_key};
use crate::physical::Seq;
use crate::position::{LogId, Position};
use crate::snapshot::{Progress, SnapshotInfo, SnapshotReader};

pub(super) const STAGING: &str = "staging";
pub(super) const INCOMING: &str = "incoming";
pub(super) const OLD: &str = "old";

/// Entries (or bytes) staged per blocking call while restoring.
const STAGE_ENTRIES: usize = 512;
const STAGE_BYTES: usize = 4 << 20;

/// The steps of a replace, for the test hook ([`SyncPoint::Replace`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceStep {
    /// `staging/tree/` is complete and durable.
    Staged,
    /// `staging/` also holds the new CHECKPOINT and empty log; nothing is committed yet.
    Prepared,
    /// `staging/` became `incoming/`: the replace is decided.
    Committed,
    TreeSwapped,
    WalSwapped,
    CheckpointSwapped,
    /// `old/` and `incoming/` are gone.
    Cleaned,
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreInfo {
    /// The snapshot that was restored (verified).
    pub snapshot: SnapshotInfo,
    /// Where the restored store starts: a new log id, and the sequence the old one had
    /// reached (new batches go on from there).
    pub position: Position,
}

/// A verified snapshot staged beside the running store and not committed yet (see
/// [`FileBackend::stage_restore`]). Dropping it removes the staged store.
pub struct StagedRestore<'a> {
    backend: &'a FileBackend,
    _one: tokio::sync::MutexGuard<'a, ()>,
    /// `None` once committed.
    staging: Option<PathBuf>,
    snapshot: SnapshotInfo,
}

impl std::fmt::Debug for StagedRestore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedRestore")
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl StagedRestore<'_> {
    /// The snapshot staged (verified: every checksum and its SHA-256 matched).
    pub fn snapshot(&self) -> &SnapshotInfo {
        &self.snapshot
    }

    /// The value `key` has in the staged store (ciphertext, as stored), if any: what a
    /// caller checks before committing (does the staged keyring open with our keys?).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        validate_key(key)?;
        let Some(staging) = &self.staging else {
            return Ok(None);
        };
        let path = key::leaf_path(&staging.join("tree"), key);
        blocking(move || read_leaf(&path)).await
    }

    /// Removes the staged store now (dropping it removes it too, but in the background).
    pub async fn discard(mut self) -> Result<()> {
        match self.staging.take() {
            Some(staging) => blocking(move || remove_all(&staging)).await,
            None => Ok(()),
        }
    }

    /// Steps 2 to 4 (module docs): the staged store replaces the running one, atomically.
    /// An error before the commit point leaves the running store as it was.
    pub async fn commit(mut self) -> Result<RestoreInfo> {
        let Some(staging) = self.staging.take() else {
            return Err(Error::InvalidRequest("this restore was committed".into()));
        };
        let position = self.backend.swap(staging).await?;
        Ok(RestoreInfo {
            snapshot: self.snapshot.clone(),
            position,
        })
    }
}

impl Drop for StagedRestore<'_> {
    fn drop(&mut self) {
        if let Some(staging) = self.staging.take() {
            // Possibly many files: not on the thread that drops it. Opening the directory
            // removes a staged store left behind as well.
            let _ = std::thread::Builder::new()
                .name("vaultrs-storage-unstage".into())
                .spawn(move || {
                    if let Err(e) = remove_all(&staging) {
                        tracing::warn!(error = %e, "could not remove a staged restore");
                    }
                });
        }
    }
}

fn hook(hook: Option<&SyncHook>, dir: &Path, step: ReplaceStep) {
    if let Some(hook) = hook {
        hook(SyncPoint::Replace(step), dir);
    }
}

fn create_dir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

fn remove_all(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("removing {}", path.display()), e)),
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", from.display(), to.display()),
            e,
        )
    })
}

/// Run by `open` before it reads anything: finishes a committed replace, drops an
/// uncommitted one, and removes what snapshots left behind.
pub(super) fn recover(dir: &Path, durable: bool, test_hook: Option<&SyncHook>) -> Result<()> {
    if dir.join(INCOMING).exists() {
        tracing::info!("finishing a store replacement (restore or wipe) interrupted by a stop");
        finish(dir, durable, test_hook)?;
    }
    remove_all(&dir.join(STAGING))?;
    remove_all(&dir.join(OLD))?;
    let entries = fs::read_dir(dir).map_err(|e| Error::io("listing the data directory", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing the data directory", e))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("snapshot-"))
        {
            remove_all(&entry.path())?;
        }
    }
    Ok(())
}

/// Step 4: moves `incoming/` into place. Every step is skipped once done, so a crash
/// anywhere here is finished by the next `open`.
fn finish(dir: &Path, durable: bool, test_hook: Option<&SyncHook>) -> Result<()> {
    let (incoming, old) = (dir.join(INCOMING), dir.join(OLD));
    let sync = |dirs: &[&Path]| -> Result<()> {
        if durable {
            dirs.iter().try_for_each(|d| sync_dir(d))?;
        }
        Ok(())
    };
    if !old.exists() {
        create_dir(&old)?;
        sync(&[dir])?;
    }
    for (name, step) in [
        ("tree", ReplaceStep::TreeSwapped),
        ("wal", ReplaceStep::WalSwapped),
    ] {
        let new = incoming.join(name);
        if new.exists() {
            let (live, retired) = (dir.join(name), old.join(name));
            if live.exists() {
                if retired.exists() {
                    return Err(Error::corrupt(
                        "data directory",
                        format!(
                            "{} and {} both exist during a replacement; move one away by hand",
                            live.display(),
                            retired.display()
                        ),
                    ));
                }
                rename(&live, &retired)?;
                sync(&[dir, &old])?;
            }
            rename(&new, &live)?;
            sync(&[dir, &incoming])?;
        }
        hook(test_hook, dir, step);
    }
    let checkpoint = incoming.join("CHECKPOINT");
    if checkpoint.exists() {
        rename(&checkpoint, &dir.join("CHECKPOINT"))?;
        sync(&[dir, &incoming])?;
    }
    hook(test_hook, dir, ReplaceStep::CheckpointSwapped);
    remove_all(&old)?;
    remove_all(&incoming)?;
    // The spare files hold old versions of the replaced store: they go too (the applier
    // drops the ones it knew of as it finds them missing).
    remove_all(&dir.join("spare"))?;
    create_dir(&dir.join("spare"))?;
    sync(&[dir])?;
    hook(test_hook, dir, ReplaceStep::Cleaned);
    Ok(())
}

impl FileBackend {
    /// Replaces the whole store with the snapshot read from `source` (see the module docs
    /// for the crash-safe protocol), calling `progress` as entries are staged. Commits go
    /// on while the snapshot is staged and wait only for the swap; what they wrote is
    /// replaced. The store then has a new log id and continues the sequence numbers.
    /// Refused while a snapshot of this store is open.
    ///
    /// Decorators above see a different store afterwards: clear a
    /// [`crate::CachedPhysical`], [`reset`](crate::ChangeFeed::reset) a change feed and
    /// rebuild a [`crate::MerkleIndex`]. [`stage_restore`](Self::stage_restore) does the
    /// same in two steps, for a caller that checks the staged store before committing it.
    pub async fn restore<R: AsyncRead + Unpin + Send>(
        &self,
        source: R,
        progress: impl FnMut(Progress) + Send,
    ) -> Result<RestoreInfo> {
        self.stage_restore(source, progress).await?.commit().await
    }

    /// Step 1 of [`restore`](Self::restore): reads and verifies the whole snapshot into a
    /// staged store beside the running one (commits go on). Nothing is replaced until
    /// [`StagedRestore::commit`]; dropping the staged restore instead removes it. One
    /// restore or wipe at a time: another waits until this one is committed or dropped.
    pub async fn stage_restore<R: AsyncRead + Unpin + Send>(
        &self,
        source: R,
        mut progress: impl FnMut(Progress) + Send,
    ) -> Result<StagedRestore<'_>> {
        let one = self.replacing.lock().await;
        let staging = self.start_staging().await?;
        let staged = async {
            let mut reader = SnapshotReader::open(source).await?;
            let mut tree = Some(Tree::new(staging.join("tree")));
            // Each chunk is written on the blocking pool while the next one is decoded.
            let mut writing: Option<tokio::task::JoinHandle<Result<Tree>>> = None;
            loop {
                let entries = match read_chunk(&mut reader).await {
                    Ok(entries) => entries,
                    Err(e) => {
                        if let Some(handle) = writing.take() {
                            let _ = handle.await;
                        }
                        return Err(e);
                    }
                };
                if let Some(handle) = writing.take() {
                    tree = Some(join(handle).await?);
                    progress(reader.progress());
                }
                if entries.is_empty() {
                    break;
                }
                let Some(mut chunk_tree) = tree.take() else {
                    return Err(Error::io("restoring", io::Error::other("staged tree lost")));
                };
                writing = Some(tokio::task::spawn_blocking(move || {
                    chunk_tree.write_new(&entries)?;
                    Ok(chunk_tree)
                }));
            }
            let info = reader
                .info()
                .cloned()
                .ok_or_else(|| Error::corrupt("snapshot", "no trailer"))?;
            let Some(tree) = tree else {
                return Err(Error::io("restoring", io::Error::other("staged tree lost")));
            };
            self.finish_staging(&staging, tree).await?;
            Ok(info)
        }
        .await;
        match staged {
            Ok(snapshot) => Ok(StagedRestore {
                backend: self,
                _one: one,
                staging: Some(staging),
                snapshot,
            }),
            Err(e) => {
                let _ = blocking(move || remove_all(&staging)).await;
                Err(e)
            }
        }
    }

    /// Deletes every key at once, crash-safe like [`restore`](Self::restore), and starts a
    /// new log id; sequence numbers go on. Refused while a snapshot is open.
    pub async fn wipe(&self) -> Result<Position> {
        self.wipe_and_install(Vec::new()).await
    }

    /// [`wipe`](Self::wipe), with `entries` as the new store's only keys: after a crash
    /// the store holds the old keys or exactly these, never a mix (a replication
    /// secondary installs its primary's keys and its own state this way).
    pub async fn wipe_and_install(&self, mut entries: Vec<(String, Vec<u8>)>) -> Result<Position> {
        for (key, _) in &entries {
            crate::key::validate_key(key)?;
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Error::InvalidRequest("a key is given twice".into()));
        }
        let _one = self.replacing.lock().await;
        let staging = self.start_staging().await?;
        let mut tree = Tree::new(staging.join("tree"));
        let written = if entries.is_empty() {
            Ok(tree)
        } else {
            tokio::task::spawn_blocking(move || {
                tree.write_new(&entries)?;
                Ok(tree)
            })
            .await
            .map_err(|e| Error::io("installing keys", io::Error::other(e.to_string())))
            .and_then(|r| r)
        };
        let tree = match written {
            Ok(tree) => tree,
            Err(e) => {
                let _ = blocking(move || remove_all(&staging)).await;
                return Err(e);
            }
        };
        if let Err(e) = self.finish_staging(&staging, tree).await {
            let _ = blocking(move || remove_all(&staging)).await;
            return Err(e);
        }
        self.swap(staging).await
    }

    async fn start_staging(&self) -> Result<PathBuf> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let staging = self.dir.join(STAGING);
        let path = staging.clone();
        blocking(move || {
            remove_all(&path)?;
            create_dir(&path)?;
            create_dir(&path.join("tree"))
        })
        .await?;
        Ok(staging)
    }

    /// Step 1's end: the staged tree is durable.
    async fn finish_staging(&self, staging: &Path, mut tree: Tree) -> Result<()> {
        let (staging, durable) = (staging.to_path_buf(), self.durable);
        let (dir, hook) = (self.dir.clone(), self.sync_hook.clone());
        blocking(move || {
            if durable {
                let mut touched = tree.take_touched();
                touched.note_any();
                sync_tree(&staging.join("tree"), &touched)?;
                sync_dir(&staging.join("tree"))?;
                sync_dir(&staging)?;
                sync_dir(&dir)?;
            }
            hook_step(hook.as_ref(), &dir, ReplaceStep::Staged);
            Ok(())
        })
        .await
    }

    /// Steps 2 to 4, on the writer thread.
    async fn swap(&self, staging: PathBuf) -> Result<Position> {
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(Msg::Replace { staging, reply });
        if sent.is_err() {
            return Err(Error::Poisoned);
        }
        let result = rx.await.map_err(|_| Error::Poisoned)?;
        if result.is_err() {
            // Not committed (or poisoned after): an uncommitted staging goes.
            let staging = self.dir.join(STAGING);
            let _ = blocking(move || remove_all(&staging)).await;
        }
        result
    }
}

/// The next entries to stage: up to [`STAGE_ENTRIES`] or [`STAGE_BYTES`]; none at the end.
async fn read_chunk<R: AsyncRead + Unpin>(
    reader: &mut SnapshotReader<R>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let (mut entries, mut bytes) = (Vec::new(), 0);
    while entries.len() < STAGE_ENTRIES && bytes < STAGE_BYTES {
        let Some((key, value)) = reader.next_entry().await? else {
            break;
        };
        bytes += value.len();
        entries.push((key, value));
    }
    Ok(entries)
}

async fn join<T>(handle: tokio::task::JoinHandle<Result<T>>) -> Result<T> {
    handle
        .await
        .map_err(|e| Error::io("running blocking IO", io::Error::other(e.to_string())))?
}

fn hook_step(hook: Option<&SyncHook>, dir: &Path, step: ReplaceStep) {
    self::hook(hook, dir, step);
}

impl Writer {
    /// Steps 2 to 4 (module docs); runs with no checkpoint in flight.
    pub(super) fn replace(&mut self, staging: &Path) -> Result<Position> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        self.flush_applier()?;
        let shared = self.shared.clone();
        let _gate = shared.gate.write().unwrap_or_else(|p| p.into_inner());
        if shared.snapshots.load(Ordering::Acquire) > 0 {
            return Err(Error::InvalidRequest(
                "a snapshot of this store is being taken; replace it once that is done".into(),
            ));
        }
        let durable = self.options.durable;
        let (seq, log_id): (Seq, LogId) = (self.last_seq, LogId::random());
        let record = serde_json::to_vec(&CheckpointRecord {
            version: CHECKPOINT_VERSION,
            seq,
            log_id: Some(log_id),
        })
        .map_err(|e| Error::io("encoding CHECKPOINT", io::Error::other(e)))?;
        write_durably(staging, "CHECKPOINT", &record, durable)?;
        create_dir(&staging.join("wal"))?;
        if durable {
            sync_dir(staging)?;
        }
        let hook = self.options.sync_hook.clone();
        self::hook(hook.as_ref(), &self.dir, ReplaceStep::Prepared);
        rename(staging, &self.dir.join(INCOMING))?;
        if durable {
            sync_dir(&self.dir)?;
        }
        self::hook(hook.as_ref(), &self.dir, ReplaceStep::Committed);
        // Decided: from here the new store is the store, whatever happens to this process.
        if let Err(e) = finish(&self.dir, durable, hook.as_ref()) {
            self.poison("finishing a store replacement", &e);
            return Err(e);
        }
        *shared.log_id.write().unwrap_or_else(|p| p.into_inner()) = log_id;
        shared.overlay_mut().clear();
        self.segments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.segment = None;
        self.checkpointed = seq;
        self.dirty_since = None;
        if let Err(e) = self.roll() {
            self.poison("starting the new store's log", &e);
            return Err(e);
        }
        Ok(Position::new(log_id, seq))
    }
}
