//! Snapshots of the file backend while commits go on: copy-on-write by hard links.
//!
//! A snapshot is the tree as of one sequence `S`, read while the applier keeps writing
//! later batches into the same tree. How it stays exactly at `S`:
//!
//! 1. A start message travels the apply queue behind every batch handed over so far; when
//!    the applier reaches it, the tree holds exactly the batches up to some `S` (the last
//!    one applied) and the applier starts *marking* for this snapshot: before it first
//!    changes a key's file after `S`, it hard-links the file into the snapshot's folder
//!    (`<data>/snapshot-<id>/`), which keeps that version's inode alive whatever the tree
//!    does next (files are replaced by rename, deletes unlink); a key with no file yet is
//!    marked as created after `S`.
//! 2. The keys at `S` are the keys a walk of the tree finds that are not marked as created,
//!    plus every key marked with a kept version (deleted or changed since). Any key first
//!    changed after that computation existed at `S` exactly when the walk saw it.
//! 3. Each value is read from the tree and *then* the marks are checked: a key marked by
//!    then may have been replaced under the read, so its kept version is used instead. A
//!    key still unmarked after the read was unchanged since `S` while it was read.
//!
//! Values go out in key order, in chunks, so memory holds the key list, not the values.
//! The marks end (and the kept links are removed) when the stream is dropped; a crash
//! leaves a `snapshot-*` folder that opening removes. Restore and wipe refuse to run while
//! a snapshot is open, so the tree is not swapped under one.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use super::writer::Msg;
use super::{blocking, read_leaf, walk_keys, FileBackend, Shared};
use crate::error::{Error, Result};
use crate::key;
use crate::snapshot::{Encoder, Progress, SnapshotHeader, SnapshotInfo, FORMAT_VERSION};

/// Keys read per chunk of a snapshot stream.
const CHUNK_KEYS: usize = 512;

enum Mark {
    /// The version at the snapshot's sequence, kept by a hard link.
    Kept(PathBuf),
    /// No file at the snapshot's sequence.
    Created,
}

#[derive(Default)]
struct MarkState {
    keys: HashMap<String, Mark>,
    next: u64,
    /// A version could not be kept: the snapshot is no longer exact.
    broken: Option<String>,
}

/// The versions one open snapshot needs, kept as the applier changes the tree.
pub(super) struct Marks {
    dir: PathBuf,
    state: Mutex<MarkState>,
}

impl Marks {
    fn lock(&self) -> std::sync::MutexGuard<'_, MarkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by the applier before it changes the file of `key` at `path`.
    pub(super) fn before_change(&self, key: &str, path: &Path) {
        let mut state = self.lock();
        if state.broken.is_some() || state.keys.contains_key(key) {
            return;
        }
        let kept = self.dir.join(state.next.to_string());
        state.next += 1;
        let mark = match fs::hard_link(path, &kept) {
            Ok(()) => Mark::Kept(kept),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Mark::Created,
            Err(e) => {
                // Never fail the commit path for a snapshot: the snapshot reports it.
                state.broken = Some(format!("keeping the version of {key:?}: {e}"));
                return;
            }
        };
        state.keys.insert(key.to_owned(), mark);
    }
}

impl Drop for Marks {
    fn drop(&mut self) {
        let dir = std::mem::take(&mut self.dir);
        // Possibly many links: not on the thread that drops the last reference.
        let _ = std::thread::Builder::new()
            .name("vaultrs-storage-snapshot-cleanup".into())
            .spawn(move || {
                if let Err(e) = fs::remove_dir_all(&dir) {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(error = %e, dir = %dir.display(), "could not remove a snapshot's kept versions");
                    }
                }
            });
    }
}

/// A snapshot being streamed: the header chunk, entry chunks in key order, the trailer.
/// See the module docs for why it is exact at its sequence while commits go on.
pub struct SnapshotStream {
    tree: PathBuf,
    shared: Arc<Shared>,
    writer: mpsc::Sender<Msg>,
    marks: Arc<Marks>,
    header: SnapshotHeader,
    /// The keys at the snapshot's sequence, ascending; `next` indexes the first not sent.
    keys: Vec<String>,
    next: usize,
    encoder: Option<Encoder>,
    started: bool,
    progress: Progress,
    info: Option<SnapshotInfo>,
}

impl FileBackend {
    /// Starts a consistent snapshot of the whole store as of the current sequence;
    /// commits go on meanwhile. Read it with [`SnapshotStream::next_chunk`].
    pub async fn snapshot_stream(&self) -> Result<SnapshotStream> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let marks = Arc::new(Marks {
            dir: self.dir.join(format!(
                "snapshot-{}",
                hex::encode(rand::random::<[u8; 8]>())
            )),
            state: Mutex::new(MarkState::default()),
        });
        {
            // Counted under the gate a restore or wipe takes: none runs while this is open.
            let _gate = self.shared.gate_read();
            self.shared.snapshots.fetch_add(1, Ordering::AcqRel);
        }
        let guard = SnapshotCount(self.shared.clone());
        let dir = marks.dir.clone();
        blocking(move || {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io("creating a snapshot folder", e))
        })
        .await?;
        let (reply, started) = oneshot::channel();
        self.tx
            .send(Msg::StartSnapshot(marks.clone(), reply))
            .map_err(|_| Error::Poisoned)?;
        let seq = started.await.map_err(|_| Error::Poisoned)?;
        let log_id = self.shared.log_id();
        // From here on, dropping the stream ends the marks.
        let mut stream = SnapshotStream {
            tree: self.tree.clone(),
            shared: self.shared.clone(),
            writer: self.tx.clone(),
            marks,
            header: SnapshotHeader {
                version: FORMAT_VERSION,
                log_id,
                seq,
                keys: 0,
            },
            keys: Vec::new(),
            next: 0,
            encoder: None,
            started: false,
            progress: Progress::default(),
            info: None,
        };
        std::mem::forget(guard);
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        let (tree, marks) = (self.tree.clone(), stream.marks.clone());
        stream.keys = blocking(move || {
            let mut keys = walk_keys(&tree)?;
            let state = marks.lock();
            keys.retain(|k| !matches!(state.keys.get(k), Some(Mark::Created)));
            keys.extend(
                state
                    .keys
                    .iter()
                    .filter(|(_, m)| matches!(m, Mark::Kept(_)))
                    .map(|(k, _)| k.clone()),
            );
            drop(state);
            keys.sort_unstable();
            keys.dedup();
            Ok(keys)
        })
        .await?;
        stream.header.keys = stream.keys.len() as u64;
        stream.progress.total_keys = stream.header.keys;
        Ok(stream)
    }

    /// Writes a consistent snapshot of the whole store to `out` (see
    /// [`snapshot_stream`](Self::snapshot_stream)), calling `progress` after each chunk.
    pub async fn snapshot<W: AsyncWrite + Unpin>(
        &self,
        mut out: W,
        mut progress: impl FnMut(Progress),
    ) -> Result<SnapshotInfo> {
        let mut stream = self.snapshot_stream().await?;
        while let Some(chunk) = stream.next_chunk().await? {
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::io("writing a snapshot", e))?;
            progress(stream.progress());
        }
        out.flush()
            .await
            .map_err(|e| Error::io("writing a snapshot", e))?;
        stream
            .info()
            .cloned()
            .ok_or_else(|| Error::corrupt("snapshot", "stream ended without a trailer"))
    }
}

/// Undoes the count of open snapshots if starting one fails half way.
struct SnapshotCount(Arc<Shared>);

impl Drop for SnapshotCount {
    fn drop(&mut self) {
        self.0.snapshots.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SnapshotStream {
    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// The finished snapshot's size and checksum, once the last chunk was returned.
    pub fn info(&self) -> Option<&SnapshotInfo> {
        self.info.as_ref()
    }

    /// The next bytes of the snapshot; `None` when it is complete.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.info.is_some() {
            return Ok(None);
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            self.encoder = Some(Encoder::start(&self.header, &mut out)?);
            self.progress.bytes = out.len() as u64;
            return Ok(Some(out));
        }
        let Some(mut encoder) = self.encoder.take() else {
            return Ok(None);
        };
        if self.next < self.keys.len() {
            let end = (self.next + CHUNK_KEYS).min(self.keys.len());
            let keys: Vec<String> = self.keys[self.next..end].to_vec();
            let (tree, marks) = (self.tree.clone(), self.marks.clone());
            let values = blocking(move || read_at_start(&tree, &marks, &keys)).await?;
            for (key, value) in self.keys[self.next..end].iter().zip(values) {
                encoder.entry(key, &value, &mut out)?;
            }
            self.next = end;
            self.progress.keys = encoder.entries();
            self.progress.bytes = encoder.bytes();
            self.encoder = Some(encoder);
            return Ok(Some(out));
        }
        let (bytes, sha256) = encoder.finish(&mut out);
        self.progress.bytes = bytes;
        self.info = Some(SnapshotInfo {
            header: self.header.clone(),
            bytes,
            sha256,
        });
        Ok(Some(out))
    }
}

/// The values of `keys` as of the snapshot's sequence (module docs, step 3).
fn read_at_start(tree: &Path, marks: &Marks, keys: &[String]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let current = read_leaf(&key::leaf_path(tree, key))?;
        let kept = {
            let state = marks.lock();
            if let Some(why) = &state.broken {
                return Err(Error::io("snapshotting", io::Error::other(why.clone())));
            }
            match state.keys.get(key) {
                Some(Mark::Kept(path)) => Some(path.clone()),
                Some(Mark::Created) => None,
                None => {
                    let value = current.ok_or_else(|| {
                        Error::corrupt("snapshot", format!("{key:?} vanished unmarked"))
                    })?;
                    out.push(value);
                    continue;
                }
            }
        };
        match kept {
            Some(path) => {
                let value = fs::read(&path)
                    .map_err(|e| Error::io("reading a snapshot's kept version", e))?;
                out.push(value);
            }
            None => {
                return Err(Error::corrupt(
                    "snapshot",
                    format!("{key:?} listed but created after the snapshot"),
                ))
            }
        }
    }
    Ok(out)
}

impl Drop for SnapshotStream {
    fn drop(&mut self) {
        let _ = self.writer.send(Msg::EndSnapshot(self.marks.clone()));
        self.shared.snapshots.fetch_sub(1, Ordering::AcqRel);
    }
}
