//! Bulk phases of the storage benchmark: whole-store operations over 100k keys, each beside
//! a plain-filesystem (or plain in-memory) floor of the same work.
//!
//! - committing one batch of 100k keys through `CachedPhysical` (its per-key bookkeeping)
//!   beside the same batch committed to the `InmemBackend` it wraps;
//! - `MerkleIndex::rebuild` over a `FileBackend` of 100k keys beside a walk of its tree
//!   that reads every file (the I/O the rebuild cannot avoid); the target is ≤ 1 s;
//! - `FileBackend::snapshot` of that store to a file (fsynced) beside `tar -cf` of its data
//!   directory, and `FileBackend::restore` of that snapshot into an empty store (staged,
//!   made durable with `syncfs`, swapped in) beside `tar -xf` into an empty directory (no
//!   fsync at all).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vaultrs_storage::merkle::KeyFilter;
use vaultrs_storage::{
    Batch, CacheOptions, CachedPhysical, FileBackend, FileOptions, InmemBackend, MerkleIndex,
    Physical,
};

/// Keys in every bulk case.
pub const KEYS: usize = 100_000;
/// Bytes of each value: about a sealed small secret.
const VALUE_LEN: usize = 200;

pub fn key(i: usize) -> String {
    format!("logical/m{}/data/app{}/secret{i}", i % 7, i % 101)
}

pub fn value(i: usize) -> Vec<u8> {
    (0..VALUE_LEN).map(|j| (i * 31 + j * 7) as u8).collect()
}

pub fn big_batch() -> Batch {
    let mut batch = Batch::new();
    for i in 0..KEYS {
        batch = batch.put(key(i), value(i));
    }
    batch
}

/// One measured bulk case.
pub struct Row {
    pub case: String,
    pub time: Duration,
    /// Index of the floor row this case is compared with.
    pub floor: Option<usize>,
    /// The time this case should stay under, if any.
    pub target: Option<Duration>,
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    pub fn add(&mut self, case: impl Into<String>, time: Duration, floor: Option<usize>) -> usize {
        let case = case.into();
        eprintln!("  {case:<52} {:>9.1} ms", time.as_secs_f64() * 1e3);
        self.rows.push(Row {
            case,
            time,
            floor,
            target: None,
        });
        self.rows.len() - 1
    }

    pub fn print(&self) {
        if self.rows.is_empty() {
            return;
        }
        println!(
            "{:<52} {:>10}  {:<44} {:>8} {:>9}",
            "bulk case (100k keys)", "ms", "floor", "ratio", "target"
        );
        println!("{}", "-".repeat(52 + 11 + 46 + 9 + 10));
        for row in &self.rows {
            let mut line = format!("{:<52} {:>10.1}", row.case, row.time.as_secs_f64() * 1e3);
            if let Some(f) = row.floor {
                let floor = &self.rows[f];
                line += &format!(
                    "  {:<44} {:>7.2}×",
                    floor.case,
                    row.time.as_secs_f64() / floor.time.as_secs_f64().max(1e-9)
                );
            }
            if let Some(target) = row.target {
                let met = if row.time <= target { "yes" } else { "NO" };
                line += &format!(" ≤{:.0} ms {met}", target.as_secs_f64() * 1e3);
            }
            println!("{line}");
        }
        println!();
        println!("ratio: time ÷ the floor's time (lower is better).");
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

async fn timed_async<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed())
}

/// Walks `tree` and reads every file: the floor of anything that reads a whole store.
pub fn walk_and_read(tree: &Path) -> (usize, u64) {
    let (mut files, mut bytes) = (0, 0);
    for entry in walkdir::WalkDir::new(tree).min_depth(1) {
        let entry = entry.expect("walking the tree");
        if entry.file_type().is_file() {
            bytes += std::fs::read(entry.path()).expect("reading a file").len() as u64;
            files += 1;
        }
    }
    (files, bytes)
}

/// The bulk cases whose name `wants` accepts; `dir` is scratch space.
pub async fn run(dir: &Path, wants: &dyn Fn(&str) -> bool, table: &mut Table) {
    let (inmem_case, cached_case) = (
        "commit 1 batch, InmemBackend",
        "commit 1 batch, CachedPhysical<InmemBackend>",
    );
    if wants(inmem_case) || wants(cached_case) {
        let batch = big_batch();
        let inmem = InmemBackend::new();
        let (_, t) = timed_async(inmem.commit(batch.clone())).await;
        let floor = table.add(inmem_case, t, None);
        let cached = CachedPhysical::new(InmemBackend::new(), CacheOptions::default());
        let (_, t) = timed_async(cached.commit(batch)).await;
        table.add(cached_case, t, Some(floor));
    }

    let (walk_case, merkle_case) = (
        "floor: walk the tree, read every file",
        "MerkleIndex::rebuild over FileBackend",
    );
    let snapshot_cases = [
        "floor: tar -cf of the data directory",
        "FileBackend::snapshot to a file",
        "floor: tar -xf into an empty directory",
        "FileBackend::restore from that file",
    ];
    let any_snapshot = snapshot_cases.iter().any(|c| wants(c));
    if !(wants(walk_case) || wants(merkle_case) || any_snapshot) {
        return;
    }
    let data = dir.join("store");
    let backend = filled_backend(&data).await;
    if wants(walk_case) || wants(merkle_case) {
        let tree = data.join("tree");
        let ((files, _), t) = timed(|| walk_and_read(&tree));
        assert_eq!(files, KEYS);
        let floor = table.add(walk_case, t, None);
        let filter: KeyFilter = Arc::new(|k: &str| !k.starts_with("logical/m0/"));
        let (index, t) = timed_async(MerkleIndex::rebuild(&backend, filter)).await;
        let index = index.expect("rebuild");
        assert!(index.len() > KEYS * 5 / 7);
        let row = table.add(merkle_case, t, Some(floor));
        table.rows[row].target = Some(Duration::from_secs(1));
    }
    if any_snapshot {
        let (tar, snap) = (dir.join("store.tar"), dir.join("store.snapshot"));
        let (_, t) = timed(|| {
            tar_run(&[
                "-cf",
                &tar.to_string_lossy(),
                "-C",
                &dir.to_string_lossy(),
                "store",
            ])
        });
        let floor = table.add(snapshot_cases[0], t, None);
        let (info, t) = timed_async(async {
            let file = tokio::fs::File::create(&snap).await.expect("create");
            let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
            let info = backend.snapshot(&mut out, |_| {}).await.expect("snapshot");
            out.into_inner()
                .sync_all()
                .await
                .expect("fsync the snapshot");
            info
        })
        .await;
        assert_eq!(info.header.keys as usize, KEYS);
        table.add(snapshot_cases[1], t, Some(floor));
        eprintln!(
            "    snapshot: {} bytes, tar: {} bytes",
            info.bytes,
            std::fs::metadata(&tar).map_or(0, |m| m.len())
        );

        let untar = dir.join("untar");
        std::fs::create_dir_all(&untar).expect("mkdir");
        let (_, t) = timed(|| {
            tar_run(&[
                "-xf",
                &tar.to_string_lossy(),
                "-C",
                &untar.to_string_lossy(),
            ])
        });
        let floor = table.add(snapshot_cases[2], t, None);
        let target = FileBackend::open(dir.join("restored"), FileOptions::default())
            .await
            .expect("open");
        let start = Instant::now();
        let mut staged = Duration::ZERO;
        let (restored, t) = timed_async(async {
            let file = tokio::fs::File::open(&snap)
                .await
                .expect("open the snapshot");
            let input = tokio::io::BufReader::with_capacity(1 << 20, file);
            let last = |_: vaultrs_storage::Progress| staged = start.elapsed();
            target.restore(input, last).await.expect("restore")
        })
        .await;
        assert_eq!(restored.snapshot, info);
        table.add(snapshot_cases[3], t, Some(floor));
        eprintln!(
            "    restore: entries written after {:.0} ms; the tree's sync and the swap took the rest",
            staged.as_secs_f64() * 1e3
        );
        target.close().await.expect("close");
    }
    backend.close().await.expect("close");
}

fn tar_run(args: &[&str]) {
    let status = std::process::Command::new("tar")
        .args(args)
        .status()
        .expect("running tar");
    assert!(status.success(), "tar {args:?}: {status}");
}

/// A FileBackend holding `KEYS` keys, checkpointed (the tree holds them all).
pub async fn filled_backend(dir: &Path) -> FileBackend {
    let backend = FileBackend::open(dir, FileOptions::default())
        .await
        .expect("open FileBackend");
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(5_000) {
        let mut batch = Batch::new();
        for &i in chunk {
            batch = batch.put(key(i), value(i));
        }
        backend.commit(batch).await.expect("fill");
    }
    backend.checkpoint().await.expect("checkpoint");
    backend
}
