//! The applier thread and the tree it writes: committed batches go into the directory
//! tree in sequence order (each new version swapped in atomically, in a reused spare file
//! where there is one, see `spares.rs`; no fsync), and the overlay entries
//! they cover are dropped.

#[cfg(not(target_os = "linux"))]
use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use tokio::sync::oneshot;

use super::snapshot::Marks;
use super::spares::Spares;
use super::writer::poison;
use super::Shared;
use crate::error::{Error, Result};
use crate::key;
use crate::physical::{Change, Seq};

/// Groups the applier may lag behind the log before committers wait (bounds the overlay).
pub(super) const APPLY_QUEUE: usize = 64;

pub(super) enum ApplyMsg {
    /// Committed batches, in sequence order.
    Batches(Vec<(Seq, Arc<[Change]>)>),
    /// Answer once everything before is applied, handing over what was touched.
    Flush(mpsc::SyncSender<Touched>),
    /// Keep, for this snapshot, the version of every key before changing it from now on;
    /// answer with the last sequence applied (the snapshot's).
    StartSnapshot(Arc<Marks>, oneshot::Sender<Seq>),
    /// Stop keeping versions for this snapshot.
    EndSnapshot(Arc<Marks>),
}

/// What changed in the tree since the last checkpoint. On Linux the checkpoint flushes the
/// whole filesystem with one `syncfs`, so only *whether* anything changed matters, and the
/// applier keeps no per-file record; elsewhere every file and folder is fsynced one by one.
#[derive(Default)]
pub(super) struct Touched {
    any: bool,
    #[cfg(not(target_os = "linux"))]
    pub(super) files: HashSet<PathBuf>,
    #[cfg(not(target_os = "linux"))]
    pub(super) dirs: HashSet<PathBuf>,
}

impl Touched {
    pub(super) fn is_empty(&self) -> bool {
        !self.any
    }

    /// Records that something changed, whatever the sets say (a staged tree's folders).
    pub(super) fn note_any(&mut self) {
        self.any = true;
    }

    fn file(&mut self, path: &Path) {
        self.any = true;
        #[cfg(not(target_os = "linux"))]
        self.files.insert(path.to_path_buf());
        #[cfg(target_os = "linux")]
        let _ = path;
    }

    fn forget_file(&mut self, path: &Path) {
        #[cfg(not(target_os = "linux"))]
        self.files.remove(path);
        #[cfg(target_os = "linux")]
        let _ = path;
    }

    /// Records a changed folder; whether it is new to the record (its parents then need
    /// recording too).
    fn dir(&mut self, dir: &Path) -> bool {
        self.any = true;
        #[cfg(not(target_os = "linux"))]
        return self.dirs.insert(dir.to_path_buf());
        #[cfg(target_os = "linux")]
        {
            let _ = dir;
            false
        }
    }

    /// Adds what `other` touched.
    pub(super) fn merge(&mut self, other: Touched) {
        self.any |= other.any;
        #[cfg(not(target_os = "linux"))]
        {
            self.files.extend(other.files);
            self.dirs.extend(other.dirs);
        }
    }
}

/// The thread that writes committed batches into the tree, in order.
pub(super) struct Applier {
    pub(super) tree: Tree,
    pub(super) shared: Arc<Shared>,
}

impl Applier {
    pub(super) fn run(mut self, rx: mpsc::Receiver<ApplyMsg>) {
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
                ApplyMsg::StartSnapshot(marks, reply) => {
                    self.tree.snapshots.push(marks);
                    let applied = *self
                        .shared
                        .applied
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    let _ = reply.send(applied);
                }
                ApplyMsg::EndSnapshot(marks) => {
                    self.tree.snapshots.retain(|m| !Arc::ptr_eq(m, &marks));
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

/// Writes batches into the directory tree (a spare file or a temp file swapped or renamed
/// into place per key, no fsync) and
/// remembers what it touched for the next checkpoint.
pub(super) struct Tree {
    root: PathBuf,
    touched: Touched,
    /// Open snapshots: each keeps the version of a key before its first change.
    snapshots: Vec<Arc<Marks>>,
    /// Files of old versions to write new ones into (the live tree only).
    spares: Option<Spares>,
}

impl Tree {
    /// A tree written with a new file per write (a staging tree nobody reads yet).
    pub(super) fn new(root: PathBuf) -> Self {
        Self {
            root,
            touched: Touched::default(),
            snapshots: Vec::new(),
            spares: None,
        }
    }

    /// The live tree: writes reuse the files of old versions (see `spares.rs`).
    pub(super) fn with_spares(root: PathBuf, spares: Spares) -> Self {
        Self {
            spares: Some(spares),
            ..Self::new(root)
        }
    }

    /// What the tree touched since this was last called.
    pub(super) fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    /// Applies a committed batch: idempotent.
    pub(super) fn apply(&mut self, changes: &[Change]) -> Result<()> {
        for change in changes {
            let path = key::leaf_path(&self.root, &change.key);
            for marks in &self.snapshots {
                marks.before_change(&change.key, &path);
            }
            match &change.value {
                Some(value) => self.write_leaf(&path, value)?,
                None => self.remove_leaf(&path)?,
            }
        }
        Ok(())
    }

    /// Writes keys that have no file yet straight to their files, without a temp file
    /// and rename: for building a tree nobody reads until it is complete and synced (a
    /// restore's staging, whose keys come unique and in order).
    pub(super) fn write_new(&mut self, entries: &[(String, Vec<u8>)]) -> Result<()> {
        for (key, value) in entries {
            let path = key::leaf_path(&self.root, key);
            let parent = path.parent().unwrap_or(&self.root).to_path_buf();
            let mut options = fs::OpenOptions::new();
            options.create_new(true);
            write_file(&path, &parent, value, &options, "a value")?;
            self.touched.file(&path);
            self.touch_folders(&parent);
        }
        Ok(())
    }

    fn write_leaf(&mut self, path: &Path, value: &[u8]) -> Result<()> {
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        // A spare holding the value, swapped with the old version; or a temp file.
        let staged = match self.spares.as_mut().and_then(|s| s.stage(value)) {
            Some(spare) => spare,
            None => write_temp(path, &parent, value)?,
        };
        let swapped = match self.spares.as_mut() {
            Some(spares) => spares
                .swap_in(&staged, path)
                .map_err(|e| Error::io("swapping in a value", e))?,
            None => false,
        };
        if !swapped {
            // No old version to swap with: move the new file in (making its folders).
            match fs::rename(&staged, path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && staged.exists() => {
                    create_folder(&parent)?;
                    fs::rename(&staged, path)
                }
                // A spare on another filesystem than this leaf (a folder of the tree
                // mounted apart): a temp file beside the leaf instead.
                Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                    let _ = fs::remove_file(&staged);
                    let temp = write_temp(path, &parent, value)?;
                    fs::rename(&temp, path)
                }
                other => other,
            }
            .map_err(|e| Error::io("renaming a temp file", e))?;
        }
        self.touched.file(path);
        self.touch_folders(&parent);
        Ok(())
    }

    fn remove_leaf(&mut self, path: &Path) -> Result<()> {
        let removed = match self.spares.as_mut() {
            Some(spares) => spares.take_out(path),
            None => fs::remove_file(path),
        };
        match removed {
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
        self.touched.forget_file(path);
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
        while dir.starts_with(&self.root) && self.touched.dir(dir) {
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
    }
}

/// Writes `value` to a new temp file beside the leaf at `path` (in `parent`, made if
/// missing) and returns the temp file's path.
fn write_temp(path: &Path, parent: &Path, value: &[u8]) -> Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let temp = parent.join(format!(".{name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.create(true).truncate(true);
    write_file(&temp, parent, value, &options, "a temp file")?;
    Ok(temp)
}

/// Writes `value` to the file at `path` opened (for writing, mode 0600) with `options`,
/// making its folder `parent` if missing; `what` names the file in errors.
fn write_file(
    path: &Path,
    parent: &Path,
    value: &[u8],
    options: &fs::OpenOptions,
    what: &str,
) -> Result<()> {
    let mut options = options.clone();
    options.write(true).mode(0o600);
    // Folders usually exist: try the file first, create the folders only if missing.
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_folder(parent)?;
            options
                .open(path)
                .map_err(|e| Error::io(format!("creating {what}"), e))?
        }
        Err(e) => return Err(Error::io(format!("creating {what}"), e)),
    };
    file.write_all(value)
        .map_err(|e| Error::io(format!("writing {what}"), e))
}

fn create_folder(folder: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|e| Error::io("creating a folder", e))
}
