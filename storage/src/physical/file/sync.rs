//! Making files durable: fsync of folders, atomic+durable small files, and the one flush of
//! the tree a checkpoint needs.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::applier::Touched;
use crate::error::{Error, Result};

/// One flush for everything: `syncfs` on Linux, otherwise an fsync per touched entry.
pub(super) fn sync_tree(tree: &Path, touched: &Touched) -> Result<()> {
    if touched.is_empty() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
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

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing folder {}", dir.display()), e))
}

/// Writes `dir/name` atomically (and, when `durable`, durably): temp file, fsync, rename,
/// fsync the folder.
pub(super) fn write_durably(dir: &Path, name: &str, bytes: &[u8], durable: bool) -> Result<()> {
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
