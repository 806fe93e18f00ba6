//! Spare files: the tree reuses the files (inodes) of old versions instead of creating a
//! file for every write and freeing one for every overwrite or delete.
//!
//! Creating and freeing inodes is what a write to the tree costs most. On ext4 without a
//! journal it is far worse than that: to allocate an inode the kernel skips every inode of
//! the group freed in the last minutes (`recently_deleted`, a buffer lookup each), so under
//! a steady stream of overwrites each new file costs a scan over thousands of freed ones
//! (profiled: 55% of the server's CPU per KV write, and the cause of the write tail).
//!
//! So an overwrite puts the new value in a spare file and swaps it with the leaf in one
//! `renameat2(RENAME_EXCHANGE)`: the leaf's name now holds the new value, atomically for
//! readers, and the spare's name holds the old version, which becomes the next spare. A
//! delete moves the leaf into the spares. No inode is created or freed in the steady state.
//!
//! A spare is rewritten in place, so it must be a file nobody can still be reading:
//! - a reader that opened the leaf just before the swap may still hold the old inode, so a
//!   file set aside is *retired* first, and only becomes *ready* (reusable) after a grace
//!   period: every tree read runs under the shared `gate`, so taking the gate exclusively
//!   once (and dropping it at once) waits out every read that could have opened it;
//! - a snapshot keeps old versions as hard links ([`super::snapshot::Marks`]): a spare with
//!   more than one link is never rewritten, only let go.
//!
//! Spares live in `<data dir>/spare/` (outside `tree/`, so listings, snapshots and the
//! Merkle index never see them; the same filesystem, so the swap works). Their content is
//! meaningless: opening a directory takes whatever is there as ready (no reader exists
//! yet). Where `RENAME_EXCHANGE` is missing (not Linux, or a filesystem without it) the
//! tree falls back to a temp file and a rename, as before.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Retired files that wait before a grace period makes them ready: one grace period (an
/// exclusive take of the read gate) per this many overwrites.
const GRACE_BATCH: usize = 64;
/// Most spares kept; beyond this, a file set aside is removed (a burst of deletes).
const MAX_SPARES: usize = 4096;

/// The spare files of one tree.
pub(super) struct Spares {
    dir: PathBuf,
    /// The tree's read gate (every tree read holds it shared).
    gate: Arc<RwLock<()>>,
    /// Reusable now: no reader can hold them.
    ready: Vec<PathBuf>,
    /// Set aside since the last grace period.
    retired: Vec<PathBuf>,
    next: u64,
    /// Cleared when the filesystem cannot swap (then the tree renames as before).
    exchange_works: bool,
}

impl Spares {
    /// The spares in `dir` (created if missing). Called before any reader exists, so every
    /// file found is ready. Failing to read the folder only means starting with none.
    pub(super) fn open(dir: PathBuf, tree: &Path, gate: Arc<RwLock<()>>) -> Self {
        let mut ready = Vec::new();
        let mut next = 0u64;
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    if let Some(n) = name.to_str().and_then(|n| n.parse::<u64>().ok()) {
                        next = next.max(n.saturating_add(1));
                        ready.push(entry.path());
                    } else {
                        let _ = fs::remove_file(entry.path());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Err(e) = fs::create_dir(&dir) {
                    tracing::debug!(error = %e, "no spare-file folder; the tree will create a file per write");
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the spare-file folder; starting with none");
            }
        }
        // A swap or a move works only within one filesystem (a tree mounted apart, say).
        let device = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
        let same_filesystem = device(&dir).is_some() && device(&dir) == device(tree);
        if !same_filesystem {
            tracing::info!("the spare-file folder is not on the tree's filesystem; the tree will create a file per write");
        }
        Self {
            dir,
            gate,
            ready,
            retired: Vec::new(),
            next,
            exchange_works: cfg!(target_os = "linux") && same_filesystem,
        }
    }

    /// A file holding exactly `value`, not linked into the tree: a ready spare rewritten
    /// in place when there is one, else a new file among the spares; `None` when neither
    /// can be made (the caller makes a temp file beside the leaf).
    pub(super) fn stage(&mut self, value: &[u8]) -> Option<PathBuf> {
        if !self.exchange_works {
            return None;
        }
        if self.ready.is_empty() && self.retired.len() >= GRACE_BATCH {
            self.grace();
        }
        while let Some(spare) = self.ready.pop() {
            match rewrite(&spare, value) {
                Ok(true) => return Some(spare),
                // Linked from a snapshot's kept versions: not ours to rewrite.
                Ok(false) => {
                    let _ = fs::remove_file(&spare);
                }
                // Gone (a wipe) or unwritable: let it go, try the next.
                Err(_) => {
                    let _ = fs::remove_file(&spare);
                }
            }
        }
        // None free: a new file, made among the spares, so that the old version it is
        // swapped with is a spare where it lands.
        let path = self.dir.join(self.next.to_string());
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(value));
        match created {
            Ok(()) => {
                self.next += 1;
                Some(path)
            }
            Err(e) => {
                let _ = fs::remove_file(&path);
                // Skip the name (taken by a file this run did not make, say).
                self.next += 1;
                tracing::debug!(error = %e, "cannot make a file among the spares; a temp file instead");
                None
            }
        }
    }

    /// Swaps the staged file at `staged` with the leaf at `leaf`. `Ok(true)`: swapped,
    /// and `staged` (now the old version) is set aside. `Ok(false)`: nothing to swap with
    /// (no leaf, or no folder): the caller moves the staged file in. Errors are real ones.
    pub(super) fn swap_in(&mut self, staged: &Path, leaf: &Path) -> io::Result<bool> {
        if !self.exchange_works {
            return Ok(false);
        }
        match exchange(staged, leaf) {
            Ok(()) => {
                self.set_aside(staged);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EXDEV)
                ) =>
            {
                tracing::info!(error = %e, "the filesystem cannot swap files; the tree will create a file per write");
                self.exchange_works = false;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Takes the file at `path` out of the tree into the spares (or removes it when
    /// there are enough): a deleted leaf, or the old version a swap left at a temp name.
    /// `NotFound` when there is no such file.
    pub(super) fn take_out(&mut self, path: &Path) -> io::Result<()> {
        if self.exchange_works && self.ready.len() + self.retired.len() < MAX_SPARES {
            let spare = self.dir.join(self.next.to_string());
            match fs::rename(path, &spare) {
                Ok(()) => {
                    self.next += 1;
                    self.retired.push(spare);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && !path.exists() => return Err(e),
                // The spare folder is gone or unusable: remove as before.
                Err(_) => {}
            }
        }
        fs::remove_file(path)
    }

    /// The old version a swap left at `staged`, set aside.
    fn set_aside(&mut self, staged: &Path) {
        if staged.parent() == Some(self.dir.as_path()) {
            self.retired.push(staged.to_path_buf());
        } else if let Err(e) = self.take_out(staged) {
            // Left at a temp name: the next open removes it.
            tracing::warn!(error = %e, "could not set an old version aside");
        }
    }

    /// Waits out every tree read in flight, so that no reader holds a retired file.
    fn grace(&mut self) {
        drop(self.gate.write().unwrap_or_else(|p| p.into_inner()));
        self.ready.append(&mut self.retired);
    }
}

/// Writes `value` over the spare at `path`. `Ok(false)` when the file has other links.
fn rewrite(path: &Path, value: &[u8]) -> io::Result<bool> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.nlink() != 1 {
        return Ok(false);
    }
    write_over(&mut file, meta.len(), value)?;
    Ok(true)
}

/// Replaces the whole content of `file` (`len` bytes long) with `value`; the blocks
/// already there are written over rather than freed and allocated again, and the file is
/// cut only when the old content was longer.
fn write_over(file: &mut File, len: u64, value: &[u8]) -> io::Result<()> {
    file.write_all(value)?;
    if len > value.len() as u64 {
        file.set_len(value.len() as u64)?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call; AT_FDCWD with
    // absolute or relative paths is the documented use.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::mpsc;

    use super::super::applier::Tree;
    use super::*;
    use crate::physical::Change;

    fn put(key: &str, value: &[u8]) -> Change {
        Change {
            key: key.into(),
            value: Some(value.to_vec()),
        }
    }

    /// A reader holding the gate (as every tree read does) keeps the file it opened
    /// intact however many overwrites reuse spares meanwhile: the tree waits for it
    /// before rewriting any file set aside while it read.
    #[test]
    fn spares_a_file_a_reader_may_hold_is_not_rewritten_until_the_reader_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(RwLock::new(()));
        let root = dir.path().join("tree");
        let mut tree = Tree::with_spares(
            root.clone(),
            Spares::open(dir.path().join("spare"), dir.path(), gate.clone()),
        );
        tree.apply(&[put("k", b"old")]).unwrap();
        tree.apply(&[put("k", b"v1")]).unwrap();

        // The reader: takes the gate shared, opens the leaf (version v1's file), and
        // holds both until told.
        let leaf = crate::key::leaf_path(&root, "k");
        let (opened_tx, opened_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let reader_gate = gate.clone();
        let reader = std::thread::spawn(move || {
            let _read = reader_gate.read().unwrap();
            let mut file = fs::File::open(&leaf).unwrap();
            opened_tx.send(()).unwrap();
            done_rx.recv().unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            bytes
        });
        opened_rx.recv().unwrap();

        // The applier overwrites on; it may block waiting for the reader, so it runs
        // on a thread of its own and the reader finishes after a while.
        let writer = std::thread::spawn(move || {
            for i in 0..(3 * GRACE_BATCH) {
                tree.apply(&[put("k", format!("v{}", i + 2).as_bytes())])
                    .unwrap();
            }
            tree
        });
        // Let the applier get as far as it can while the reader holds the file.
        for _ in 0..200 {
            if writer.is_finished() {
                break;
            }
            std::thread::yield_now();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        done_tx.send(()).unwrap();
        assert_eq!(
            reader.join().unwrap(),
            b"v1",
            "a file being read was rewritten"
        );
        let _tree = writer.join().unwrap();
        let leaf = crate::key::leaf_path(&root, "k");
        assert_eq!(
            fs::read(leaf).unwrap(),
            format!("v{}", 3 * GRACE_BATCH + 1).as_bytes()
        );
    }
}
