//! The tree reuses the files of old versions (`spare/`): overwrites and deletes create and
//! free no inode in the steady state, and a reused file is never one a read may still be
//! reading: readers racing overwrites of large values only ever see whole versions, in
//! order, and values survive a reopen.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use vaultrs_storage::{FileBackend, FileOptions, Physical};

/// A value of `len` bytes that says its version in every byte, so a torn read (parts of
/// two versions) or a short one is detected.
fn value(version: u64, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let tag = version.to_le_bytes();
    while v.len() < len {
        v.extend_from_slice(&tag);
    }
    v.truncate(len);
    v
}

fn version_of(bytes: &[u8], len: usize) -> u64 {
    assert_eq!(
        bytes.len(),
        len,
        "a read returned a value of another length"
    );
    let version = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(bytes, value(version, len), "a read returned a torn value");
    version
}

fn files_in(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .count()
}

/// The inodes of every file in the store's tree and spares.
fn store_inodes(store: &Path) -> HashSet<u64> {
    ["tree", "spare"]
        .iter()
        .flat_map(|sub| walkdir::WalkDir::new(store.join(sub)))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().ino())
        .collect()
}

#[tokio::test]
async fn spares_overwrites_and_deletes_reuse_the_files_they_replace() {
    let dir = tempfile::tempdir().unwrap();
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let keys: Vec<String> = (0..20).map(|i| format!("kv/k{i}")).collect();
    for k in &keys {
        b.put(k, value(0, 100)).await.unwrap();
    }
    // Warm up the spares, then note every file the store has.
    for round in 1..=10u64 {
        for k in &keys {
            b.put(k, value(round, 100)).await.unwrap();
        }
    }
    b.checkpoint().await.unwrap();
    let before = store_inodes(dir.path());
    assert!(
        files_in(&dir.path().join("spare")) > 0,
        "overwrites left no spare file"
    );
    // Many more overwrites, and deletes and re-creations: every file they use was
    // already there.
    for round in 11..=200u64 {
        for k in &keys {
            b.put(k, value(round, 100)).await.unwrap();
        }
        if round % 50 == 0 {
            for k in &keys[..10] {
                b.delete(k).await.unwrap();
            }
            for k in &keys[..10] {
                b.put(k, value(round, 100)).await.unwrap();
            }
        }
    }
    b.checkpoint().await.unwrap();
    let after = store_inodes(dir.path());
    let new: Vec<&u64> = after.difference(&before).collect();
    assert!(
        new.len() <= 2,
        "{} new files for 3,800 overwrites of 20 keys (the spares are not reused)",
        new.len()
    );
    for k in &keys {
        assert_eq!(version_of(&b.get(k).await.unwrap().unwrap(), 100), 200);
    }
    b.close().await.unwrap();
    drop(b);

    // Reopened: the same values, and the spares are found again and reused.
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    for k in &keys {
        assert_eq!(version_of(&b.get(k).await.unwrap().unwrap(), 100), 200);
    }
    let spares_before = files_in(&dir.path().join("spare"));
    for k in &keys {
        b.put(k, value(201, 100)).await.unwrap();
    }
    b.checkpoint().await.unwrap();
    assert_eq!(files_in(&dir.path().join("spare")), spares_before);
    assert_eq!(files_in(&dir.path().join("tree")), keys.len());
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spares_readers_racing_overwrites_see_whole_versions_in_order() {
    const LEN: usize = 256 << 10;
    const KEYS: usize = 4;
    const ROUNDS: u64 = 150;
    let dir = tempfile::tempdir().unwrap();
    let options = FileOptions {
        durable: false,
        ..FileOptions::default()
    };
    let b = Arc::new(FileBackend::open(dir.path(), options).await.unwrap());
    for k in 0..KEYS {
        b.put(&format!("k{k}"), value(0, LEN)).await.unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..6 {
        let (b, done) = (b.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut last = [0u64; KEYS];
            let mut reads = 0u64;
            while !done.load(Ordering::Acquire) {
                let k = (reads as usize + r) % KEYS;
                let got = b.get(&format!("k{k}")).await.unwrap().unwrap();
                let version = version_of(&got, LEN);
                assert!(version >= last[k], "key k{k} went back in time");
                last[k] = version;
                reads += 1;
            }
            reads
        }));
    }
    for round in 1..=ROUNDS {
        for k in 0..KEYS {
            b.put(&format!("k{k}"), value(round, LEN)).await.unwrap();
        }
    }
    done.store(true, Ordering::Release);
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    assert!(reads > 0);
    for k in 0..KEYS {
        let got = b.get(&format!("k{k}")).await.unwrap().unwrap();
        assert_eq!(version_of(&got, LEN), ROUNDS);
    }
    b.close().await.unwrap();
}

#[tokio::test]
async fn spares_a_shorter_value_in_a_longer_spare_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    // Long versions fill the spares; short and empty ones then go into them.
    for round in 0..100u64 {
        b.put("k", value(round, 4000)).await.unwrap();
    }
    for (round, len) in [(100u64, 8usize), (101, 3000), (102, 16), (103, 9)] {
        b.put("k", value(round, len)).await.unwrap();
        b.checkpoint().await.unwrap();
        let on_disk = std::fs::read(leaf(dir.path(), &b, "k").await).unwrap();
        assert_eq!(
            on_disk,
            value(round, len),
            "the file holds more than the value"
        );
    }
    b.put("k", Vec::new()).await.unwrap();
    b.close().await.unwrap();
    drop(b);
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    assert_eq!(b.get("k").await.unwrap(), Some(Vec::new()));
    b.close().await.unwrap();
}

/// The file of `key` in the tree of a store that holds only that key.
async fn leaf(dir: &Path, b: &FileBackend, key: &str) -> std::path::PathBuf {
    assert_eq!(b.keys().await.unwrap(), vec![key.to_string()]);
    walkdir::WalkDir::new(dir.join("tree"))
        .into_iter()
        .filter_map(|e| e.ok())
        .find(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .expect("no file in the tree")
}

/// A tree on another filesystem than the spares (a `tree` mounted or linked apart): writes
/// go on with a file per write instead of failing to move files across filesystems.
#[tokio::test]
async fn spares_a_tree_on_another_filesystem_still_takes_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let Some(elsewhere) = other_filesystem(dir.path()) else {
        return; // no second filesystem here
    };
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("tree")).unwrap();
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    for round in 0..100u64 {
        b.put("k", value(round, 100)).await.unwrap();
        b.put(&format!("n{round}"), value(round, 10)).await.unwrap();
        if round % 10 == 9 {
            b.delete(&format!("n{}", round - 5)).await.unwrap();
        }
    }
    b.checkpoint().await.unwrap();
    assert_eq!(version_of(&b.get("k").await.unwrap().unwrap(), 100), 99);
    assert_eq!(b.keys().await.unwrap().len(), 1 + 100 - 10);
    b.close().await.unwrap();
}

/// A folder inside the tree on another filesystem (mounted or linked apart after the store
/// opened): writes there go on, with a temp file beside the leaf.
#[tokio::test]
async fn spares_a_folder_of_the_tree_on_another_filesystem_still_takes_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let Some(elsewhere) = other_filesystem(dir.path()) else {
        return; // no second filesystem here
    };
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    b.put("f/k", value(0, 100)).await.unwrap();
    b.checkpoint().await.unwrap();
    // The folder holding f/k moves to the other filesystem, linked back in place.
    let folder = walkdir::WalkDir::new(dir.path().join("tree"))
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .find(|e| e.file_type().is_dir())
        .expect("no folder in the tree")
        .into_path();
    let moved = elsewhere.path().join("f");
    std::fs::create_dir(&moved).unwrap();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), moved.join(entry.file_name())).unwrap();
    }
    std::fs::remove_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(&moved, &folder).unwrap();

    for round in 1..=50u64 {
        b.put("f/k", value(round, 100)).await.unwrap();
        b.put(&format!("f/n{round}"), value(round, 10))
            .await
            .unwrap();
        b.put(&format!("g{round}"), value(round, 10)).await.unwrap();
    }
    b.checkpoint().await.unwrap();
    assert_eq!(version_of(&b.get("f/k").await.unwrap().unwrap(), 100), 50);
    for round in 1..=50u64 {
        for key in [format!("f/n{round}"), format!("g{round}")] {
            let got = b.get(&key).await.unwrap().unwrap();
            assert_eq!(version_of(&got, 10), round, "{key}");
        }
    }
    b.close().await.unwrap();
}

/// A temporary folder on another filesystem than `here` (`/dev/shm`), if there is one.
fn other_filesystem(here: &Path) -> Option<tempfile::TempDir> {
    let other = Path::new("/dev/shm");
    let device = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
    if device(other)? == device(here)? {
        return None;
    }
    tempfile::tempdir_in(other).ok()
}
