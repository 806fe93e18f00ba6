//! Crash tests for the file backend (RELIABILITY.md F1, F2, F3, G1).
//!
//! - `kill -9` of a real writer process (this test binary, re-executed) at random instants,
//!   with 8 concurrent writers committing multi-key batches: every acknowledged batch survives,
//!   every batch is all or nothing, no temp file leaks (F1, F3).
//! - A torn log tail at every byte offset, and a flipped byte in the last record: exactly the
//!   complete records are replayed.
//! - Simulated power cuts (F2): images built only from what the backend made durable (the
//!   `sync_hook` durability points), with every un-checkpointed tree file adversarially
//!   damaged.
//! - A power cut right after the recovery that follows a `kill -9`: what recovery declares
//!   durable must really have been flushed (a spy on `syncfs` records what was).
//! - A batch whose apply failed stays all or nothing once the directory is reopened.
//!
//! Scratch directories live on `/dev/shm` when it exists: the backend's `syncfs` flushes the
//! whole filesystem, which on a disk shared with builds can take seconds per call. (A power
//! cut is simulated by the images, so nothing here depends on the filesystem's own crash
//! behaviour.) Set `VAULTRS_CRASH_SEED` to replay a run; the seed is printed on failure.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultrs_storage::physical::file::{SyncHook, SyncPoint};
use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Logical state: key → value.
pub(crate) type State = BTreeMap<String, Vec<u8>>;

/// A directory image: relative path → file bytes, or `None` for a folder.
type Snapshot = BTreeMap<PathBuf, Option<Vec<u8>>>;

pub(crate) fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("vaultrs-crash-")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::Builder::new()
        .prefix("vaultrs-crash-")
        .tempdir()
        .expect("creating a scratch directory")
}

fn seed(test: &str) -> u64 {
    let seed = std::env::var("VAULTRS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("{test}: VAULTRS_CRASH_SEED={seed}");
    seed
}

/// An image of `root` while another thread changes it (the applier writing the tree, the
/// checkpointer dropping log segments): entries that vanish during the walk are left out.
/// Files are replaced by rename, so every file read is some whole version of it.
fn snapshot_racy(root: &Path) -> Snapshot {
    snapshot_walk(root, true).unwrap_or_else(|e| panic!("snapshot of {}: {e}", root.display()))
}

fn snapshot_walk(root: &Path, skip_vanished: bool) -> std::io::Result<Snapshot> {
    let vanished = |e: &std::io::Error| skip_vanished && e.kind() == std::io::ErrorKind::NotFound;
    let mut out = Snapshot::new();
    if !root.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = match entry.map_err(std::io::Error::from) {
            Ok(entry) => entry,
            Err(e) if vanished(&e) => continue,
            Err(e) => return Err(e),
        };
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir stays under its root")
            .to_path_buf();
        if entry.file_type().is_dir() {
            out.insert(rel, None);
        } else if entry.file_type().is_file() {
            match fs::read(entry.path()) {
                Ok(bytes) => {
                    out.insert(rel, Some(bytes));
                }
                Err(e) if vanished(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

/// Writes `snap` under `dest` (which may already hold other files).
fn restore(snap: &Snapshot, dest: &Path) {
    fs::create_dir_all(dest).unwrap();
    for (rel, content) in snap {
        let path = dest.join(rel);
        match content {
            None => fs::create_dir_all(&path).unwrap(),
            Some(bytes) => {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, bytes).unwrap();
            }
        }
    }
}

/// Copies `src` as it is, also while the backend's threads still write it (a `kill -9`
/// leaves some such state).
pub(crate) fn copy_dir(src: &Path, dst: &Path) {
    restore(&snapshot_racy(src), dst);
}

/// The tree file of a key made of plain segments (see `vaultrs_storage::key`).
fn leaf_rel(key: &str) -> PathBuf {
    let mut path = PathBuf::new();
    let segs: Vec<&str> = key.split('/').collect();
    let (leaf, folders) = segs.split_last().unwrap();
    for f in folders {
        assert!(
            !f.starts_with(['_', '~', '.']),
            "test keys use plain folder names"
        );
        path.push(f);
    }
    path.push(format!("_{leaf}"));
    path
}

fn apply(state: &mut State, batch: &Batch) {
    for change in &batch.changes {
        match &change.value {
            Some(v) => {
                state.insert(change.key.clone(), v.clone());
            }
            None => {
                state.remove(&change.key);
            }
        }
    }
}

/// Every key and value the backend serves.
pub(crate) async fn read_state(b: &FileBackend) -> State {
    let mut out = State::new();
    for key in b.keys().await.expect("keys()") {
        match b.get(&key).await.expect("get") {
            Some(v) => {
                out.insert(key, v);
            }
            None => panic!("keys() lists {key:?} but get() finds nothing"),
        }
    }
    out
}

fn show(v: Option<&Vec<u8>>) -> String {
    match v {
        None => "<absent>".into(),
        Some(v) => format!("{:?}", String::from_utf8_lossy(v)),
    }
}

/// Up to 12 differences between two states, for failure messages.
pub(crate) fn diff(actual: &State, expected: &State) -> String {
    let keys: BTreeSet<&String> = actual.keys().chain(expected.keys()).collect();
    let mut out = Vec::new();
    let mut count = 0;
    for key in keys {
        let (a, e) = (actual.get(key), expected.get(key));
        if a != e {
            count += 1;
            if out.len() < 12 {
                out.push(format!("  {key}: got {}, expected {}", show(a), show(e)));
            }
        }
    }
    format!("{count} key(s) differ:\n{}", out.join("\n"))
}

/// Files in the tree that are not values: temp files (`.name.tmp`) or other dot files.
fn stray_files(tree: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(tree)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            name.starts_with('.') || name.ends_with(".tmp")
        })
        .map(|e| e.path().to_path_buf())
        .collect()
}

fn assert_clean(dir: &Path, keys: &[String], what: &str) {
    let stray = stray_files(&dir.join("tree"));
    assert!(
        stray.is_empty(),
        "{what}: temp files left after open: {stray:?}"
    );
    for key in keys {
        assert!(
            !key.ends_with(".tmp") && !key.split('/').any(|s| s.starts_with('.')),
            "{what}: keys() lists a temp-file-looking key {key:?}"
        );
    }
}

fn checkpoint_seq(bytes: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(bytes).expect("CHECKPOINT is JSON");
    v["seq"].as_u64().expect("CHECKPOINT has a seq")
}

/// What the log made durable at a `SyncPoint::Log`.
#[derive(Clone)]
struct LogImage {
    wal: Snapshot,
    checkpoint: Vec<u8>,
}

/// What a checkpoint made durable.
struct CheckpointImage {
    /// How many `Log` points came before it. Checkpoints run beside commits, so it may
    /// cover fewer batches than that: `seq` says how many.
    logs_before: usize,
    /// The sequence it recorded in CHECKPOINT.
    seq: u64,
    /// The tree when the hook ran. Exact only while nothing commits (the checkpoint made
    /// by `open`, or an explicit one of a sequential writer); else the applier may be
    /// writing later batches meanwhile.
    tree: Snapshot,
    /// How many `syncfs` of the tree the spy (if any) had seen by then.
    syncs: usize,
    log: LogImage,
}

#[derive(Default)]
struct Recorder {
    logs: Vec<LogImage>,
    checkpoints: Vec<CheckpointImage>,
}

/// The log and CHECKPOINT as a power cut now could leave them. The checkpointer may be
/// dropping segments meanwhile, which it only does once a CHECKPOINT covering them is
/// durable: reading the segments first and CHECKPOINT second yields a real durable state.
fn log_image(dir: &Path) -> LogImage {
    let wal = snapshot_racy(&dir.join("wal"));
    LogImage {
        wal,
        checkpoint: fs::read(dir.join("CHECKPOINT")).unwrap_or_default(),
    }
}

/// A sync hook recording the durable images: the log at each `Log` point (on the writer
/// thread, which is then idle), the tree and the log at each `Checkpoint` (on the
/// checkpointer thread, while commits may go on).
fn recording_hook(rec: &Arc<Mutex<Recorder>>) -> SyncHook {
    recording_hook_with_spy(rec, None)
}

fn recording_hook_with_spy(rec: &Arc<Mutex<Recorder>>, spy: Option<&syncfs_spy::Spy>) -> SyncHook {
    let rec = rec.clone();
    let syncs = spy.map(syncfs_spy::Spy::images_handle);
    Arc::new(move |point: SyncPoint, dir: &Path| {
        let mut r = rec.lock().unwrap_or_else(|p| p.into_inner());
        match point {
            SyncPoint::Log => {
                let image = log_image(dir);
                r.logs.push(image);
            }
            SyncPoint::TreeSync | SyncPoint::Replace(_) => {}
            SyncPoint::Checkpoint => {
                let log = log_image(dir);
                let image = CheckpointImage {
                    logs_before: r.logs.len(),
                    seq: checkpoint_seq(&log.checkpoint),
                    tree: snapshot_racy(&dir.join("tree")),
                    log,
                    syncs: syncs
                        .as_ref()
                        .map_or(0, |s| s.lock().unwrap_or_else(|p| p.into_inner()).len()),
                };
                r.checkpoints.push(image);
            }
        }
    })
}

/// Builds a data directory from a durable tree image and a durable log image.
fn build_image(dest: &Path, tree: &Snapshot, log: &LogImage) {
    restore(tree, &dest.join("tree"));
    restore(&log.wal, &dest.join("wal"));
    fs::write(dest.join("CHECKPOINT"), &log.checkpoint).unwrap();
}

fn last_segment(wal: &Snapshot) -> PathBuf {
    wal.iter()
        .filter(|(p, v)| v.is_some() && p.to_string_lossy().ends_with(".log"))
        .map(|(p, _)| p.clone())
        .max()
        .expect("a log segment")
}

/// `(start, end, seq)` of every record in a segment (format in `physical::wal`).
fn record_bounds(segment: &[u8]) -> Vec<(usize, usize, u64)> {
    assert_eq!(&segment[..8], b"VRSWAL01", "segment magic");
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < segment.len() {
        let len = u32::from_le_bytes(segment[pos..pos + 4].try_into().unwrap()) as usize;
        let seq = u64::from_le_bytes(segment[pos + 8..pos + 16].try_into().unwrap());
        let end = pos + 16 + len;
        assert!(end <= segment.len(), "record past the end of the segment");
        out.push((pos, end, seq));
        pos = end;
    }
    out
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. kill -9 of a writer process

const CHILD_DIR_ENV: &str = "VAULTRS_CRASH_CHILD_DIR";
const CHILD_CYCLE_ENV: &str = "VAULTRS_CRASH_CHILD_CYCLE";
const WRITERS: u64 = 8;
/// Each writer cycles over this many folders of its own, so the store stays small however
/// many batches a cycle commits.
const SLOTS: u64 = 24;
/// Batches per writer per cycle (never reached in practice; the child then idles until
/// killed).
const CHILD_BATCHES: u64 = 1_000_000;
/// Kill cycles per run; `VAULTRS_CRASH_CYCLES` overrides (G1 asks for 1000).
const KILL_CYCLES: u64 = 25;

fn kill9_slot_key(w: u64, n: u64, i: u64) -> String {
    format!("w{w}/s{}/k{i}", n % SLOTS)
}

/// Batch `n` of writer `w` in `cycle`: 3-5 puts into folder `n % SLOTS` with values naming
/// cycle, writer, batch and key; on a fixed schedule also an overwrite in another folder, the
/// delete of one key, and the delete of a whole folder (the folder goes away). Writers only
/// touch their own keys, and every value names the batch that wrote it.
fn kill9_batch(cycle: u64, w: u64, n: u64) -> Batch {
    let mut batch = Batch::new();
    for i in 0..3 + n % 3 {
        let pad = "x".repeat(((n * 7 + i * 13) % 40) as usize);
        batch = batch.put(
            kill9_slot_key(w, n, i),
            format!("c{cycle} w{w} b{n} k{i} {pad}"),
        );
    }
    if n >= 2 && n.is_multiple_of(2) {
        batch = batch.put(
            kill9_slot_key(w, n + SLOTS - 2, 0),
            format!("c{cycle} w{w} b{n} overwrites"),
        );
    }
    if n % 3 == 1 {
        batch = batch.delete(kill9_slot_key(w, n + SLOTS - 1, 1));
    }
    if n % 5 == 4 {
        for i in 0..5 {
            batch = batch.delete(kill9_slot_key(w, n + SLOTS - 4, i));
        }
    }
    batch
}

/// Writer `w`'s keys after its batches `0..upto` of `cycle`, starting from `before`.
fn kill9_state(before: &State, cycle: u64, w: u64, upto: u64) -> State {
    let mut state = before.clone();
    for n in 0..upto {
        apply(&mut state, &kill9_batch(cycle, w, n));
    }
    state
}

pub(crate) fn emit(line: &str) {
    // Straight to the process's stdout (not the test harness's capture), one write per line.
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes()).unwrap();
    out.flush().unwrap();
}

/// The writer process of `crash_kill9_keeps_acknowledged_batches`; does nothing unless that
/// test started it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the writer process of crash_kill9_keeps_acknowledged_batches"]
async fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let cycle: u64 = std::env::var(CHILD_CYCLE_ENV).unwrap().parse().unwrap();
    // Never outlive the test that started this process.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let give_up = Instant::now() + Duration::from_secs(60);
    // Frequent checkpoints and segment drops, so kills also land inside them.
    let options = FileOptions {
        checkpoint_interval: Duration::from_millis(20),
        checkpoint_bytes: 12 << 10,
        tail_batches: 64,
        ..FileOptions::default()
    };
    let backend = Arc::new(
        FileBackend::open(PathBuf::from(dir), options)
            .await
            .expect("child: opening the data directory"),
    );
    emit("OPEN");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let backend = backend.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..CHILD_BATCHES {
                if Instant::now() > give_up {
                    break;
                }
                backend
                    .commit(kill9_batch(cycle, w, n))
                    .await
                    .expect("child: commit");
                emit(&format!("ACK {w} {n}"));
                if (n + w) % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            emit(&format!("DONE {w}"));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Wait to be killed: returning would close (checkpoint) the backend.
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[derive(Default, Debug)]
struct KillStats {
    acks: u64,
    in_flight_kills: u64,
    unacked_but_committed: u64,
    idle_kills: u64,
    early_kills: u64,
}

/// F1/F3/G1: 25 cycles of "8 writers, kill -9 at a random instant, reopen, check".
#[test]
fn crash_kill9_keeps_acknowledged_batches() {
    let mut rng = StdRng::seed_from_u64(seed("crash_kill9_keeps_acknowledged_batches"));
    let rt = runtime();
    let tmp = scratch();
    let dir = tmp.path().join("data");
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    // The state after the last cycle.
    let mut expected = State::new();
    let mut stats = KillStats::default();
    let cycles: u64 = std::env::var("VAULTRS_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(KILL_CYCLES);

    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash::crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, &dir)
            .env(CHILD_CYCLE_ENV, cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the writer process");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        // When to kill: after a random number of ACKs, at a random time after the first ACK,
        // or early (possibly during the child's own recovery of the previous crash).
        let mode = rng.gen_range(0..5);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut lines: Vec<String> = Vec::new();
        let count_acks = |lines: &[String]| lines.iter().filter(|l| l.starts_with("ACK ")).count();
        let wait_until = |lines: &mut Vec<String>, done: &dyn Fn(&[String]) -> bool| {
            while !done(lines) && Instant::now() < deadline {
                match rx.recv_timeout(Duration::from_millis(5)) {
                    Ok(line) => lines.push(line),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        match mode {
            0 | 1 => {
                let k = rng.gen_range(1..=1500);
                wait_until(&mut lines, &|l: &[String]| count_acks(l) >= k);
                std::thread::sleep(Duration::from_micros(rng.gen_range(0..2000)));
            }
            2 | 3 => {
                wait_until(&mut lines, &|l: &[String]| count_acks(l) >= 1);
                std::thread::sleep(Duration::from_millis(rng.gen_range(20..300)));
            }
            _ => {
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
            }
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "cycle {cycle}: the writer process ended on its own ({status}); its output:\n{}",
            lines.join("\n")
        );

        // ACKs per writer: always 0, 1, 2, ... in order.
        let mut acked = vec![0u64; WRITERS as usize];
        let mut done = 0;
        for line in &lines {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["ACK", w, n] => {
                    let (w, n): (usize, u64) = (w.parse().unwrap(), n.parse().unwrap());
                    assert_eq!(
                        n, acked[w],
                        "cycle {cycle}: writer {w} acknowledged out of order"
                    );
                    acked[w] += 1;
                }
                ["DONE", _] => done += 1,
                _ => {}
            }
        }
        let total: u64 = acked.iter().sum();
        stats.acks += total;
        if mode < 4 {
            assert!(
                total > 0,
                "cycle {cycle}: no batch acknowledged within 20 s"
            );
        }
        if total == 0 {
            stats.early_kills += 1;
        } else if done < WRITERS {
            stats.in_flight_kills += 1;
        } else {
            stats.idle_kills += 1;
        }

        // Reopen, in place half of the time; otherwise a copy, leaving the crashed directory
        // for the next writer process to recover (under the threat of the next kill).
        let verify_tmp;
        let vdir = if rng.gen_bool(0.5) {
            dir.clone()
        } else {
            verify_tmp = scratch();
            let copy = verify_tmp.path().join("data");
            copy_dir(&dir, &copy);
            copy
        };
        rt.block_on(async {
            let what = format!("cycle {cycle} (acknowledged per writer {acked:?})");
            let b = FileBackend::open(&vdir, FileOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{what}: reopening after kill -9: {e}"));
            let all = read_state(&b).await;
            let keys: Vec<String> = all.keys().cloned().collect();
            assert_clean(&vdir, &keys, &what);
            let mut next = State::new();
            for w in 0..WRITERS {
                let prefix = format!("w{w}/");
                let mine = |s: &State| -> State {
                    s.iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                let (before, actual) = (mine(&expected), mine(&all));
                let n = acked[w as usize];
                // Acknowledged: batches 0..n. Batch n may have committed without its ACK line
                // getting out; nothing later was ever sent. Anything else (a lost
                // acknowledged batch, a half batch, a resurrected delete) matches neither.
                let s0 = kill9_state(&before, cycle, w, n);
                if actual == s0 {
                    next.extend(s0);
                    continue;
                }
                let s1 = kill9_state(&before, cycle, w, n + 1);
                if n < CHILD_BATCHES && actual == s1 {
                    stats.unacked_but_committed += 1;
                    next.extend(s1);
                    continue;
                }
                panic!(
                    "{what}: writer {w} holds neither exactly its {n} acknowledged batches \
                     nor those plus batch {n} whole.\nAgainst the acknowledged state: {}\n\
                     Against acknowledged + batch {n}: {}",
                    diff(&actual, &s0),
                    diff(&actual, &s1)
                );
            }
            assert!(
                all == next,
                "{what}: keys outside the writers' folders: {}",
                diff(&all, &next)
            );
            expected = next;
            b.close().await.unwrap();
        });
    }
    eprintln!(
        "kill -9: {cycles} cycles in {:.1?}: {stats:?}",
        started.elapsed()
    );
    assert!(
        stats.in_flight_kills >= cycles / 2,
        "too few kills landed while writes were in flight: {stats:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Torn log tail

fn torn_batch(k: u64) -> Batch {
    let mut batch = Batch::new();
    for i in 0..3 + k % 3 {
        batch = batch.put(format!("t/b{k}/k{i}"), format!("b{k}.{i}"));
    }
    batch = batch.put(format!("t/shared/s{}", k % 3), format!("b{k}"));
    if k >= 1 {
        batch = batch.delete(format!("t/b{}/k0", k - 1));
    }
    if k == 2 {
        batch = batch.delete("t/base/k0");
    }
    batch
}

/// Opens `image`, checks it serves exactly `expected` at `seq`, optionally commits one more
/// batch and checks it survives a reopen.
async fn check_image(image: &Path, expected: &State, seq: u64, then_commit: bool, what: &str) {
    let b = FileBackend::open(image, FileOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{what}: open failed: {e}"));
    let actual = read_state(&b).await;
    assert!(actual == *expected, "{what}: {}", diff(&actual, expected));
    assert_eq!(b.last_seq(), seq, "{what}: last_seq");
    let keys: Vec<String> = actual.keys().cloned().collect();
    assert_clean(image, &keys, what);
    if then_commit {
        let batch = Batch::new()
            .put("t/after", b"after".to_vec())
            .delete("t/shared/s0");
        assert_eq!(
            b.commit(batch.clone()).await.unwrap(),
            seq + 1,
            "{what}: next seq"
        );
        b.close().await.unwrap();
        let mut next = expected.clone();
        apply(&mut next, &batch);
        let b = FileBackend::open(image, FileOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: reopen after a further commit failed: {e}"));
        let actual = read_state(&b).await;
        assert!(
            actual == next,
            "{what}: after a further commit and reopen: {}",
            diff(&actual, &next)
        );
        assert_eq!(b.last_seq(), seq + 1, "{what}: last_seq after reopen");
        b.close().await.unwrap();
    } else {
        b.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_torn_log_tail_recovers_complete_batches() {
    let tmp = scratch();
    let dir = tmp.path().join("data");

    // Some checkpointed data first, so the image's tree is not empty.
    let mut base = State::new();
    let b = FileBackend::open(&dir, FileOptions::default())
        .await
        .unwrap();
    for i in 0..3 {
        let batch = Batch::new()
            .put(format!("t/base/k{i}"), format!("base{i}"))
            .put(format!("t/shared/s{i}"), format!("base{i}"));
        apply(&mut base, &batch);
        b.commit(batch).await.unwrap();
    }
    b.close().await.unwrap();
    let base_seq = 3;

    // Six batches that never reach a checkpoint.
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let options = FileOptions {
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        sync_hook: Some(recording_hook(&rec)),
        ..FileOptions::default()
    };
    let b = FileBackend::open(&dir, options).await.unwrap();
    let batches: Vec<Batch> = (0..6).map(torn_batch).collect();
    let mut states = vec![base.clone()];
    for (k, batch) in batches.iter().enumerate() {
        let seq = b.commit(batch.clone()).await.unwrap();
        assert_eq!(seq, base_seq + k as u64 + 1);
        let mut next = states.last().unwrap().clone();
        apply(&mut next, batch);
        states.push(next);
    }
    let (tree, log) = {
        let r = rec.lock().unwrap();
        assert_eq!(r.logs.len(), 6, "one Log point per sequential commit");
        assert_eq!(r.checkpoints.len(), 1, "only the checkpoint of open()");
        assert_eq!(r.checkpoints[0].logs_before, 0);
        (r.checkpoints[0].tree.clone(), r.logs[5].clone())
    };
    b.close().await.unwrap();
    assert_eq!(checkpoint_seq(&log.checkpoint), base_seq);

    let seg_name = last_segment(&log.wal);
    let segment = log.wal[&seg_name].clone().unwrap();
    let bounds = record_bounds(&segment);
    assert_eq!(bounds.len(), 6, "the six records in the last segment");
    for (k, (_, _, seq)) in bounds.iter().enumerate() {
        assert_eq!(*seq, base_seq + k as u64 + 1);
    }

    // Every offset from the first of the last three records to the end, plus the magic and
    // the edges of the earlier records.
    let mut offsets: BTreeSet<usize> = (bounds[3].0..=segment.len()).collect();
    offsets.extend(0..=8);
    for (start, end, _) in &bounds[..3] {
        offsets.extend([*start + 1, *end - 1, *end]);
    }
    let work = scratch();
    for (i, &cut) in offsets.iter().enumerate() {
        let complete = bounds.iter().filter(|(_, end, _)| *end <= cut).count();
        let image = work.path().join(format!("cut{cut}"));
        let mut wal = log.wal.clone();
        wal.insert(seg_name.clone(), Some(segment[..cut].to_vec()));
        build_image(
            &image,
            &tree,
            &LogImage {
                wal,
                checkpoint: log.checkpoint.clone(),
            },
        );
        let then_commit = i % 8 == 0 || bounds.iter().any(|(_, end, _)| *end == cut);
        let what = format!(
            "log cut at byte {cut} of {} ({complete} whole records)",
            segment.len()
        );
        check_image(
            &image,
            &states[complete],
            base_seq + complete as u64,
            then_commit,
            &what,
        )
        .await;
        fs::remove_dir_all(&image).unwrap();
    }

    // A flipped byte anywhere in the last record drops that record, whole.
    let (start, end, _) = bounds[5];
    for pos in start..end {
        let image = work.path().join(format!("flip{pos}"));
        let mut bad = segment.clone();
        bad[pos] ^= 0x5a;
        let mut wal = log.wal.clone();
        wal.insert(seg_name.clone(), Some(bad));
        build_image(
            &image,
            &tree,
            &LogImage {
                wal,
                checkpoint: log.checkpoint.clone(),
            },
        );
        let what = format!("byte {pos} flipped in the last record ({start}..{end})");
        check_image(&image, &states[5], base_seq + 5, pos == start, &what).await;
        fs::remove_dir_all(&image).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Power cut

const PC_BATCHES: usize = 120;

fn pc_key(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.1) {
        format!("top{}", rng.gen_range(0..4))
    } else {
        format!(
            "app{}/data{}/item{}",
            rng.gen_range(0..3),
            rng.gen_range(0..3),
            rng.gen_range(0..5)
        )
    }
}

/// 1-5 puts and deletes over a small key pool; values name their batch and key and carry
/// random binary bytes. Sometimes a key changes twice in one batch (the later change wins).
fn pc_batch(rng: &mut StdRng, idx: usize) -> Batch {
    let mut batch = Batch::new();
    for _ in 0..rng.gen_range(1..=5) {
        let key = pc_key(rng);
        if rng.gen_bool(0.3) {
            batch = batch.delete(key);
        } else {
            let mut value = format!("batch{idx} {key} ").into_bytes();
            value.extend((0..rng.gen_range(0..48)).map(|_| rng.gen::<u8>()));
            batch = batch.put(key, value);
        }
    }
    if rng.gen_bool(0.1) {
        let key = batch.changes[0].key.clone();
        batch = batch.put(key, format!("batch{idx} again"));
    }
    batch
}

/// The logical state a tree image holds (test keys use plain folder names).
fn tree_state(tree: &Snapshot) -> State {
    let mut out = State::new();
    for (rel, content) in tree {
        let Some(bytes) = content else { continue };
        let name = rel.file_name().unwrap().to_string_lossy();
        let Some(leaf) = name.strip_prefix('_') else {
            continue; // a temp file
        };
        let key = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(folder) => format!("{}/{leaf}", folder.to_string_lossy()),
            None => leaf.to_owned(),
        };
        out.insert(key, bytes.clone());
    }
    out
}

/// Writes `value` (or removes the file) at the tree path of `key` in `tree`.
fn set_file(tree: &Path, key: &str, value: Option<&[u8]>) {
    let path = tree.join(leaf_rel(key));
    match value {
        Some(v) => {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, v).unwrap();
        }
        None => {
            let _ = fs::remove_file(&path);
        }
    }
}

/// F2: power cuts at every Log point of a sequential writer, with several checkpoints and
/// dropped segments along the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_power_cut_loses_no_acknowledged_batch() {
    let mut rng = StdRng::seed_from_u64(seed("crash_power_cut_loses_no_acknowledged_batch"));
    let tmp = scratch();
    let dir = tmp.path().join("data");
    let spy = syncfs_spy::Spy::watch(&dir.join("tree"));
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let options = FileOptions {
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: 3 << 10,
        tail_batches: 16,
        sync_hook: Some(recording_hook_with_spy(&rec, Some(&spy))),
        ..FileOptions::default()
    };
    let b = FileBackend::open(&dir, options).await.unwrap();

    // One writer, so Log point k is exactly batch k (0-based) and the durable batches at it
    // are 0..=k. states[m] is the state after batches 0..m.
    let mut batches = Vec::new();
    let mut states = vec![State::new()];
    for idx in 0..PC_BATCHES {
        let batch = pc_batch(&mut rng, idx);
        let seq = b.commit(batch.clone()).await.unwrap();
        assert_eq!(seq, idx as u64 + 1);
        assert_eq!(
            rec.lock().unwrap().logs.len(),
            idx + 1,
            "one Log point per commit"
        );
        let mut next = states.last().unwrap().clone();
        apply(&mut next, &batch);
        states.push(next);
        batches.push(batch);
        if idx % 37 == 36 {
            b.checkpoint().await.unwrap();
        }
    }
    b.close().await.unwrap();
    drop(b);
    let rec = Arc::try_unwrap(rec)
        .ok()
        .expect("the backend is closed")
        .into_inner()
        .unwrap();
    let mid_run = rec
        .checkpoints
        .iter()
        .filter(|c| c.logs_before > 0 && c.logs_before < PC_BATCHES)
        .count();
    assert!(mid_run >= 4, "only {mid_run} checkpoints during the run");
    let overlapped = rec
        .checkpoints
        .iter()
        .filter(|c| c.logs_before > c.seq as usize)
        .count();
    eprintln!(
        "power cut: {} checkpoints, {overlapped} of them with commits acknowledged while they ran",
        rec.checkpoints.len()
    );
    // Each Checkpoint point claims the tree is durable up to its sequence N: the last real
    // syncfs of the tree before it must have flushed the state after batch N. The applier
    // goes on beside the checkpointer, so keys that later batches change may hold any of
    // their later versions in that image (the applier may even be half way through a
    // batch); every other key holds exactly its version at N.
    let flushed = spy.images();
    drop(spy);
    assert!(
        !flushed.is_empty(),
        "no syncfs of the tree seen (is the spy linked in?)"
    );
    let flushed_at = |c: &CheckpointImage| -> Snapshot {
        if c.syncs > 0 {
            flushed[c.syncs - 1].clone()
        } else {
            Snapshot::new()
        }
    };
    for (i, c) in rec.checkpoints.iter().enumerate() {
        let n = c.seq as usize;
        let image = tree_state(&flushed_at(c));
        let keys: BTreeSet<&String> = image.keys().chain(states[n].keys()).collect();
        for key in keys {
            // Every version the key had from N on, also the ones a batch overwrote within
            // itself (the applier may be half way through a batch).
            let mut later: Vec<Option<&Vec<u8>>> = states[n..].iter().map(|s| s.get(key)).collect();
            later.extend(
                batches[n..]
                    .iter()
                    .flat_map(|b| b.changes.iter())
                    .filter(|ch| ch.key == **key)
                    .map(|ch| ch.value.as_ref()),
            );
            let got = image.get(key);
            let changed_later = batches[n..]
                .iter()
                .any(|b| b.changes.iter().any(|ch| ch.key == **key));
            let ok = if changed_later {
                later.contains(&got)
            } else {
                got == states[n].get(key)
            };
            assert!(
                ok,
                "checkpoint {i} (seq {n}, after {} Log points) declared a tree durable that no \
                 syncfs flushed: {key} is {} in the last flushed image, {} at seq {n}",
                c.logs_before,
                show(got),
                show(states[n].get(key))
            );
        }
    }

    let work = scratch();
    for k in 0..PC_BATCHES {
        let log = &rec.logs[k];
        // The tree durable at Log point k: what the syncfs of the checkpoint that CHECKPOINT
        // names then flushed (a later syncfs only flushed more).
        let j = checkpoint_seq(&log.checkpoint) as usize;
        let ckpt = rec
            .checkpoints
            .iter()
            .find(|c| c.seq as usize == j)
            .unwrap_or_else(|| panic!("Log point {k}: no Checkpoint sync point for seq {j}"));
        assert!(
            j <= k + 1,
            "Log point {k}: CHECKPOINT {j} is ahead of the log"
        );
        let image = work.path().join(format!("cut{k}"));
        let tree = image.join("tree");
        build_image(&image, &flushed_at(ckpt), log);

        // Every tree file changed since that checkpoint is in any state the page cache may
        // have left on disk: as checkpointed, gone, empty, any version written since, or
        // the start of the newest one.
        let touched: BTreeSet<&str> = batches[j..=k]
            .iter()
            .flat_map(|b| b.changes.iter().map(|c| c.key.as_str()))
            .collect();
        let mut damage = Vec::new();
        for key in &touched {
            let choice = rng.gen_range(0..6);
            match choice {
                0 => {}
                1 => set_file(&tree, key, None),
                2 => set_file(&tree, key, Some(b"")),
                3 => set_file(&tree, key, states[k + 1].get(*key).map(|v| &v[..])),
                4 => {
                    let m = rng.gen_range(j..=k + 1);
                    set_file(&tree, key, states[m].get(*key).map(|v| &v[..]));
                }
                _ => {
                    if let Some(v) = states[k + 1].get(*key) {
                        set_file(&tree, key, Some(&v[..rng.gen_range(0..=v.len())]));
                    }
                }
            }
            damage.push(format!("{key}:{choice}"));
        }
        // Leftover temp files of interrupted writes.
        let keys: Vec<&&str> = touched.iter().collect();
        for _ in 0..rng.gen_range(1..=3) {
            let key = keys[rng.gen_range(0..keys.len())];
            let leaf = tree.join(leaf_rel(key));
            let folder = leaf.parent().unwrap();
            fs::create_dir_all(folder).unwrap();
            let name = format!(".{}.tmp", leaf.file_name().unwrap().to_string_lossy());
            let junk: Vec<u8> = (0..rng.gen_range(0..32)).map(|_| rng.gen()).collect();
            fs::write(folder.join(name), junk).unwrap();
        }
        // Half of the time, the start of the next group's write reached the disk too.
        let seg_name = last_segment(&log.wal);
        let seg_path = image.join("wal").join(&seg_name);
        let durable = log.wal[&seg_name].clone().unwrap();
        let next = rec
            .logs
            .get(k + 1)
            .and_then(|l| l.wal.get(&seg_name).cloned().flatten());
        let torn = match next {
            Some(n) if n.len() > durable.len() && rng.gen_bool(0.5) => {
                let cut = rng.gen_range(durable.len() + 1..n.len());
                fs::write(&seg_path, &n[..cut]).unwrap();
                Some(cut - durable.len())
            }
            _ => None,
        };

        let what = format!(
            "power cut at Log point {k} (checkpoint after {j} batches; damage {damage:?}; \
             torn tail {torn:?})"
        );
        check_image(&image, &states[k + 1], k as u64 + 1, k % 10 == 0, &what).await;
        fs::remove_dir_all(&image).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Power cut after the recovery from a kill -9

/// A spy on `syncfs`: this test binary defines the symbol, so the backend's
/// `libc::syncfs` call links here. It forwards to the system call and, when the descriptor is
/// a watched tree, records an image of that tree: what the flush made durable.
mod syncfs_spy {
    use super::*;

    struct Watch {
        tree: PathBuf,
        images: Arc<Mutex<Vec<Snapshot>>>,
    }

    static WATCHES: Mutex<Vec<Watch>> = Mutex::new(Vec::new());

    #[no_mangle]
    pub extern "C" fn syncfs(fd: libc::c_int) -> libc::c_int {
        // SAFETY: the raw system call on the caller's descriptor; errno is kept for the caller.
        unsafe {
            let rc = libc::syscall(libc::SYS_syncfs, libc::c_long::from(fd)) as libc::c_int;
            let errno = *libc::__errno_location();
            let _ = std::panic::catch_unwind(|| record(fd));
            *libc::__errno_location() = errno;
            rc
        }
    }

    fn record(fd: libc::c_int) {
        let Ok(path) = fs::read_link(format!("/proc/self/fd/{fd}")) else {
            return;
        };
        let watches = WATCHES.lock().unwrap_or_else(|p| p.into_inner());
        for watch in watches.iter().filter(|w| w.tree == path) {
            // The applier may be writing the tree meanwhile: take what is there.
            if let Ok(image) = snapshot_walk(&watch.tree, true) {
                watch
                    .images
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(image);
            }
        }
    }

    /// Records the images of `tree` at each `syncfs` until dropped.
    pub struct Spy {
        tree: PathBuf,
        images: Arc<Mutex<Vec<Snapshot>>>,
    }

    impl Spy {
        pub fn watch(tree: &Path) -> Spy {
            fs::create_dir_all(tree).unwrap();
            let tree = fs::canonicalize(tree).unwrap();
            let images = Arc::new(Mutex::new(Vec::new()));
            WATCHES.lock().unwrap().push(Watch {
                tree: tree.clone(),
                images: images.clone(),
            });
            Spy { tree, images }
        }

        pub fn images(&self) -> Vec<Snapshot> {
            self.images.lock().unwrap().clone()
        }

        pub fn images_handle(&self) -> Arc<Mutex<Vec<Snapshot>>> {
            self.images.clone()
        }
    }

    impl Drop for Spy {
        fn drop(&mut self) {
            let mut watches = WATCHES.lock().unwrap_or_else(|p| p.into_inner());
            watches.retain(|w| !(w.tree == self.tree && Arc::ptr_eq(&w.images, &self.images)));
        }
    }
}

/// F1 then F2: a process dies by kill -9 after an acknowledged delete-only batch; the next
/// process recovers (and declares the batch durable in CHECKPOINT); then the power fails.
/// The tree on disk is whatever the last real `syncfs` flushed: the acknowledged deletes
/// must not come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_power_cut_after_recovery_keeps_acknowledged_deletes() {
    let tmp = scratch();
    let live = tmp.path().join("live");
    let spy = syncfs_spy::Spy::watch(&live.join("tree"));
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let options = FileOptions {
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        sync_hook: Some(recording_hook(&rec)),
        ..FileOptions::default()
    };
    let b = FileBackend::open(&live, options.clone()).await.unwrap();
    let put = Batch::new()
        .put("d/k1", b"one".to_vec())
        .put("d/k2", b"two".to_vec())
        .put("e/k3", b"three".to_vec());
    b.commit(put).await.unwrap();
    b.checkpoint().await.unwrap();
    let flushed = spy.images();
    assert!(
        !flushed.is_empty(),
        "no syncfs of the tree seen during a checkpoint after puts: either the checkpoint \
         did not flush the tree, or this binary's syncfs interposition is not in effect"
    );
    let durable_tree = flushed.last().unwrap().clone();
    assert!(durable_tree.contains_key(&leaf_rel("d/k1")));

    // Acknowledged, applied to the tree (page cache), not checkpointed.
    b.commit(Batch::new().delete("d/k1").delete("d/k2"))
        .await
        .unwrap();
    assert_eq!(b.get("d/k1").await.unwrap(), None);
    let durable_log = rec.lock().unwrap().logs.last().unwrap().clone();
    // kill -9 now: the files as the dead process left them (in the page cache)...
    let crashed = tmp.path().join("crashed");
    copy_dir(&live, &crashed);
    b.close().await.unwrap();
    drop(spy);
    // ...while the disk holds the last flushed tree (with d/k1 and d/k2) and the fsynced log.
    assert_eq!(checkpoint_seq(&durable_log.checkpoint), 1);

    // The next process recovers from what it sees: the page cache.
    let spy = syncfs_spy::Spy::watch(&crashed.join("tree"));
    let rec2 = Arc::new(Mutex::new(Recorder::default()));
    let b = FileBackend::open(
        &crashed,
        FileOptions {
            sync_hook: Some(recording_hook(&rec2)),
            ..options
        },
    )
    .await
    .unwrap();
    // Power cut right after recovery. Disk: the last tree image a syncfs flushed (by this
    // process, or else the dead one's), and the log and CHECKPOINT as recovery left them.
    let recovered_log = rec2.lock().unwrap().checkpoints[0].log.clone();
    let flushed = spy.images();
    let tree_on_disk = flushed.last().cloned().unwrap_or(durable_tree);
    b.close().await.unwrap();
    drop(spy);
    let image = tmp.path().join("after-power-cut");
    build_image(&image, &tree_on_disk, &recovered_log);

    let b = FileBackend::open(&image, FileOptions::default())
        .await
        .unwrap();
    let actual = read_state(&b).await;
    let expected: State = [("e/k3".to_string(), b"three".to_vec())].into();
    assert!(
        actual == expected,
        "acknowledged deletes came back after kill -9, recovery, power cut (recovery wrote \
         CHECKPOINT seq {} after {} syncfs of the tree): {}",
        checkpoint_seq(&recovered_log.checkpoint),
        flushed.len(),
        diff(&actual, &expected)
    );
    b.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5. A batch whose apply failed

/// F3: a batch logged but only half applied (the tree refused one of its files, as ENOSPC or
/// EIO would) is all or nothing once the directory is reopened, also when the backend was
/// closed normally after the failure (close checkpoints). Twice: with the failed batch in
/// the same log segment as an earlier batch, and as the first record of a fresh segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_failed_apply_is_all_or_nothing_after_reopen() {
    let mut failures = Vec::new();
    for checkpoint_first in [false, true] {
        let tmp = scratch();
        let dir = tmp.path().join("data");
        let b = FileBackend::open(&dir, FileOptions::default())
            .await
            .unwrap();
        b.commit(Batch::new().put("keep/a", b"kept".to_vec()))
            .await
            .unwrap();
        if checkpoint_first {
            b.checkpoint().await.unwrap();
        }
        // A transient failure half way through the apply: a file where the folder
        // `blocked/` must be created.
        let obstacle = dir.join("tree/blocked");
        fs::write(&obstacle, b"in the way").unwrap();
        let batch = Batch::new()
            .put("first/a", b"v1".to_vec())
            .put("blocked/x", b"v2".to_vec())
            .put("last/z", b"v3".to_vec());
        // The batch is durable in the log, so it is acknowledged; applying it to the tree
        // fails on the obstacle, which poisons the backend: listings and later writes fail.
        let result = b.commit(batch).await;
        assert!(
            result.is_ok(),
            "a durable batch is acknowledged: {result:?}"
        );
        assert!(
            matches!(b.list("").await, Err(vaultrs_storage::Error::Poisoned)),
            "the failed apply poisons the backend"
        );
        assert!(matches!(
            b.put("after", b"x".to_vec()).await,
            Err(vaultrs_storage::Error::Poisoned)
        ));
        // Reads still see the acknowledged batch whole.
        assert_eq!(b.get("last/z").await.unwrap().as_deref(), Some(&b"v3"[..]));
        fs::remove_file(&obstacle).unwrap();
        let _ = b.close().await;
        drop(b);

        let b = FileBackend::open(&dir, FileOptions::default())
            .await
            .unwrap();
        let parts = [
            b.get("first/a").await.unwrap(),
            b.get("blocked/x").await.unwrap(),
            b.get("last/z").await.unwrap(),
        ];
        let whole = parts[0].as_deref() == Some(&b"v1"[..])
            && parts[1].as_deref() == Some(&b"v2"[..])
            && parts[2].as_deref() == Some(&b"v3"[..]);
        let none = parts.iter().all(Option::is_none);
        if !(whole || none) {
            failures.push(format!(
            "(checkpoint before the failed batch: {checkpoint_first}) the failed batch is half \
             visible after close and reopen: first/a={}, blocked/x={}, last/z={} (last_seq {})",
            show(parts[0].as_ref()),
            show(parts[1].as_ref()),
            show(parts[2].as_ref()),
            b.last_seq()
            ));
        }
        assert_eq!(
            b.get("keep/a").await.unwrap().as_deref(),
            Some(&b"kept"[..])
        );
        b.close().await.unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A damaged record in a segment the checkpoint already covers does not stop the directory
/// from opening (its batches are in the tree), and the change feed's tail restarts after
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_damage_before_the_checkpoint_is_tolerated() {
    let tmp = scratch();
    let dir = tmp.path().join("data");
    let options = || FileOptions {
        // Keep every segment so the damaged one is still there.
        tail_batches: 1_000,
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        ..FileOptions::default()
    };
    let b = FileBackend::open(&dir, options()).await.unwrap();
    for i in 0..5u8 {
        b.put(&format!("k{i}"), vec![i; 16]).await.unwrap();
    }
    b.checkpoint().await.unwrap(); // segment with 1..=5 is now behind the checkpoint
    for i in 5..8u8 {
        b.put(&format!("k{i}"), vec![i; 16]).await.unwrap();
    }
    b.close().await.unwrap();
    drop(b);

    let mut segments: Vec<PathBuf> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    let first = segments
        .iter()
        .find(|p| fs::metadata(p).unwrap().len() > 8)
        .unwrap()
        .clone();
    // Flip a byte in the middle of the first (pre-checkpoint) segment's records.
    let mut bytes = fs::read(&first).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    fs::write(&first, &bytes).unwrap();

    let b = FileBackend::open(&dir, options()).await.unwrap();
    for i in 0..8u8 {
        assert_eq!(
            b.get(&format!("k{i}")).await.unwrap(),
            Some(vec![i; 16]),
            "k{i}"
        );
    }
    let tail: Vec<u64> = b.log_tail().await.unwrap().iter().map(|c| c.seq).collect();
    assert!(
        tail.windows(2).all(|w| w[1] == w[0] + 1) && tail.last() == Some(&8),
        "the tail restarts after the damage and stays contiguous: {tail:?}"
    );
    assert!(
        !tail.contains(&1),
        "batches before the damage are not served: {tail:?}"
    );
    b.close().await.unwrap();
}
