//! Storage benchmark: the vaultrs write and read paths against plain-filesystem floors.
//!
//! ```text
//! cargo bench -p vaultrs-storage --bench storage
//! ```
//!
//! One run measures, on one directory (one filesystem):
//!
//! - floors: a durable per-file write of a 1 KiB value (temp file, fsync, rename, fsync the
//!   folder) from 1 and from 32 writers, and a plain `std::fs::read` of 1 KiB files, also
//!   through `tokio::task::spawn_blocking`, from 1 and from 32 readers;
//! - vaultrs: `FileBackend` put/get directly, and `Barrier` (AES-256-GCM) over `FileBackend`,
//!   1 and 32 concurrent tasks on a multi-thread tokio runtime;
//! - commit latency (p50, p99, max; `support/latency.rs`) of 32 tasks putting into a
//!   `FileBackend` that checkpoints every 250 ms or 2 MiB of log, so the run holds many
//!   checkpoints, beside the latency of the durable per-file write floor from 32 writers
//!   over as long a run;
//! - bulk cases over 100k keys (`support/bulk.rs`): one 100k-key commit through the cache,
//!   a Merkle rebuild, a snapshot and a restore, each beside its floor (`tar` for the last
//!   two).
//!
//! `support/report.rs` prints the main table.
//!
//! Each case runs for a fixed count of operations or `VAULTRS_BENCH_SECS`, whichever comes
//! first, and reports throughput, wall time per op (1 / throughput), mean latency per op,
//! process CPU per op (getrusage, all threads: tokio workers, the blocking pool, the storage
//! writer thread) and the ratio to its floor.
//!
//! Environment:
//! - `VAULTRS_BENCH_SECS`: seconds per case (default 2);
//! - `VAULTRS_BENCH_LAT_SECS`: seconds of each commit-latency case (default 6);
//! - `VAULTRS_BENCH_DIR`: where to make the temp directory (default: the system temp dir);
//! - `VAULTRS_BENCH_WRITE_OPS`, `VAULTRS_BENCH_READ_OPS`: op caps per case (defaults
//!   50 000 and 400 000);
//! - `VAULTRS_BENCH_ONLY`: `|`-separated substrings; only the cases whose name contains
//!   one run (for profiling one case; read cases then read an untimed prefill). A ratio
//!   shows only when its floor ran too.
//!
//! Every write creates a new file, so file creation (inode allocation) is part of both the
//! floor and vaultrs. On ext4 without a journal the kernel skips inodes freed in the last
//! 60 s (360 s while their table block is dirty), one by one, on each allocation: a run
//! started right after another one removed its ~100k files measures mostly that scan.
//! Leave a few minutes between runs there.

use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/bulk.rs"]
mod bulk;
#[path = "support/latency.rs"]
mod latency;
#[path = "support/report.rs"]
mod report;

use report::{Table, Target};
use vaultrs_storage::{Barrier, CacheOptions, CachedPhysical, FileBackend, FileOptions, Physical};

const VALUE_LEN: usize = 1024;
const WRITERS: usize = 32;
/// Values written, untimed, for read cases whose write cases were filtered out.
const PREFILL: u64 = 2048;
// ---------------------------------------------------------------------------------------
// Measurement

#[derive(Clone, Copy)]
struct Limits {
    time: Duration,
    write_ops: u64,
    read_ops: u64,
}

impl Limits {
    fn from_env() -> Self {
        let secs = env_f64("VAULTRS_BENCH_SECS").unwrap_or(2.0).max(0.05);
        Self {
            time: Duration::from_secs_f64(secs),
            write_ops: env_f64("VAULTRS_BENCH_WRITE_OPS").map_or(50_000, |v| v.max(1.0) as u64),
            read_ops: env_f64("VAULTRS_BENCH_READ_OPS").map_or(400_000, |v| v.max(1.0) as u64),
        }
    }
}

fn env_f64(name: &str) -> Option<f64> {
    let raw = std::env::var(name).ok()?;
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            eprintln!("ignoring {name}={raw:?}: not a number");
            None
        }
    }
}

/// Process CPU time (user + system, every thread).
fn cpu_now() -> Duration {
    // SAFETY: getrusage fills the struct we own; an all-zero rusage is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Hands out operations until the cap or the deadline.
struct Gate {
    issued: AtomicU64,
    max: u64,
    deadline: Instant,
}

impl Gate {
    fn new(max: u64, time: Duration) -> Self {
        Self {
            issued: AtomicU64::new(0),
            max,
            deadline: Instant::now() + time,
        }
    }

    fn next(&self) -> bool {
        Instant::now() < self.deadline && self.issued.fetch_add(1, Ordering::Relaxed) < self.max
    }
}

/// What one case measured.
struct Run {
    ops: u64,
    wall: Duration,
    cpu: Duration,
    /// Sum of the per-op latencies over all workers.
    lat: Duration,
    /// Every op's latency, sorted ascending.
    lats: Vec<Duration>,
    /// Ops done by each worker (worker `i` did its ops `0..per_worker[i]`).
    per_worker: Vec<u64>,
}

impl Run {
    fn finish(start: Instant, cpu0: Duration, results: Vec<Vec<Duration>>) -> Self {
        let wall = start.elapsed();
        let cpu = cpu_now().saturating_sub(cpu0);
        let per_worker = results.iter().map(|r| r.len() as u64).collect();
        let mut lats: Vec<Duration> = results.into_iter().flatten().collect();
        lats.sort_unstable();
        Self {
            ops: lats.len() as u64,
            lat: lats.iter().sum(),
            lats,
            per_worker,
            wall,
            cpu,
        }
    }
    /// The latency at quantile `q` (0..=1) of the ops.
    fn quantile(&self, q: f64) -> Duration {
        if self.lats.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((self.lats.len() as f64) * q).ceil() as usize;
        self.lats[rank.clamp(1, self.lats.len()) - 1]
    }
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64()
    }
    /// Wall time per op: 1 / throughput.
    fn us_per_op(&self) -> f64 {
        self.wall.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }
    fn lat_us(&self) -> f64 {
        self.lat.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }
}

/// `n` OS threads; worker `i` builds its op with `make(i)` and calls it with 0, 1, 2, ...
fn run_threads<W, F>(n: usize, max: u64, time: Duration, make: W) -> Run
where
    W: Fn(usize) -> F + Sync,
    F: FnMut(u64),
{
    let cpu0 = cpu_now();
    let start = Instant::now();
    let gate = Gate::new(max, time);
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (gate, make) = (&gate, &make);
                s.spawn(move || {
                    let mut op = make(i);
                    let (mut j, mut lats) = (0u64, Vec::new());
                    while gate.next() {
                        let t = Instant::now();
                        op(j);
                        lats.push(t.elapsed());
                        j += 1;
                    }
                    lats
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect()
    });
    Run::finish(start, cpu0, results)
}

/// `n` tokio tasks; task `i` awaits `op(i, 0)`, `op(i, 1)`, ... in sequence.
async fn run_tasks<F, Fut>(n: usize, max: u64, time: Duration, op: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let op = Arc::new(op);
    let cpu0 = cpu_now();
    let start = Instant::now();
    let gate = Arc::new(Gate::new(max, time));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (op, gate) = (op.clone(), gate.clone());
            tokio::spawn(async move {
                let (mut j, mut lats) = (0u64, Vec::new());
                while gate.next() {
                    let t = Instant::now();
                    op(i, j).await;
                    lats.push(t.elapsed());
                    j += 1;
                }
                lats
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for h in handles {
        results.push(h.await.expect("bench task panicked"));
    }
    Run::finish(start, cpu0, results)
}

// ---------------------------------------------------------------------------------------
// Floors

/// Temp file, write, fsync, rename, fsync the folder (whose descriptor the writer keeps).
fn durable_write(dir: &File, dir_path: &Path, name: &str, value: &[u8]) {
    let temp = dir_path.join(format!(".{name}.tmp"));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&temp)
        .expect("create temp file");
    file.write_all(value).expect("write temp file");
    file.sync_all().expect("fsync temp file");
    drop(file);
    fs::rename(&temp, dir_path.join(name)).expect("rename");
    dir.sync_all().expect("fsync folder");
}

fn floor_writes(root: &Path, writers: usize, limits: Limits, value: &[u8]) -> (Run, Vec<PathBuf>) {
    let dirs: Vec<PathBuf> = (0..writers).map(|i| root.join(format!("w{i}"))).collect();
    for d in &dirs {
        fs::create_dir_all(d).expect("create floor folder");
    }
    File::open(root)
        .and_then(|f| f.sync_all())
        .expect("fsync floor root");
    let run = run_threads(writers, limits.write_ops, limits.time, |i| {
        let path = dirs[i].clone();
        let dir = File::open(&path).expect("open floor folder");
        move |j| durable_write(&dir, &path, &format!("_k{j}"), value)
    });
    let files = run
        .per_worker
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| dirs[i].join(format!("_k{j}")))
        .collect();
    (run, files)
}

fn floor_reads_threads(readers: usize, limits: Limits, files: &Arc<Vec<PathBuf>>) -> Run {
    let next = AtomicU64::new(0);
    run_threads(readers, limits.read_ops, limits.time, |_| {
        let next = &next;
        move |_| {
            let k = next.fetch_add(1, Ordering::Relaxed) as usize % files.len();
            let v = fs::read(&files[k]).expect("read");
            assert_eq!(v.len(), VALUE_LEN);
        }
    })
}

async fn floor_reads_blocking(readers: usize, limits: Limits, files: Arc<Vec<PathBuf>>) -> Run {
    let next = Arc::new(AtomicU64::new(0));
    run_tasks(readers, limits.read_ops, limits.time, move |_, _| {
        let k = next.fetch_add(1, Ordering::Relaxed) as usize % files.len();
        let files = files.clone();
        async move {
            let v = tokio::task::spawn_blocking(move || fs::read(&files[k]))
                .await
                .expect("join")
                .expect("read");
            assert_eq!(v.len(), VALUE_LEN);
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// vaultrs

fn bench_key(prefix: &str, worker: usize, j: u64) -> String {
    format!("{prefix}/w{worker}/k{j}")
}

fn keys_of(prefix: &str, run: &Run) -> Vec<String> {
    run.per_worker
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| (0..n).map(move |j| bench_key(prefix, i, j)))
        .collect()
}

async fn physical_puts(
    backend: Arc<FileBackend>,
    prefix: &'static str,
    writers: usize,
    limits: Limits,
    value: Arc<Vec<u8>>,
) -> Run {
    run_tasks(writers, limits.write_ops, limits.time, move |i, j| {
        let (backend, value) = (backend.clone(), value.clone());
        async move {
            backend
                .put(&bench_key(prefix, i, j), value.to_vec())
                .await
                .expect("FileBackend put");
        }
    })
    .await
}

async fn physical_gets(
    backend: Arc<FileBackend>,
    readers: usize,
    limits: Limits,
    keys: Arc<Vec<String>>,
) -> Run {
    let next = Arc::new(AtomicU64::new(0));
    run_tasks(readers, limits.read_ops, limits.time, move |_, _| {
        let k = next.fetch_add(1, Ordering::Relaxed) as usize % keys.len();
        let (backend, keys) = (backend.clone(), keys.clone());
        async move {
            let v = backend.get(&keys[k]).await.expect("FileBackend get");
            assert!(v.is_some_and(|v| v.len() >= VALUE_LEN));
        }
    })
    .await
}

async fn barrier_puts(
    barrier: Arc<Barrier>,
    prefix: &'static str,
    writers: usize,
    limits: Limits,
    value: Arc<Vec<u8>>,
) -> Run {
    run_tasks(writers, limits.write_ops, limits.time, move |i, j| {
        let (barrier, value) = (barrier.clone(), value.clone());
        async move {
            barrier
                .put(&bench_key(prefix, i, j), &value)
                .await
                .expect("Barrier put");
        }
    })
    .await
}

async fn barrier_gets(
    barrier: Arc<Barrier>,
    readers: usize,
    limits: Limits,
    keys: Arc<Vec<String>>,
) -> Run {
    let next = Arc::new(AtomicU64::new(0));
    run_tasks(readers, limits.read_ops, limits.time, move |_, _| {
        let k = next.fetch_add(1, Ordering::Relaxed) as usize % keys.len();
        let (barrier, keys) = (barrier.clone(), keys.clone());
        async move {
            let v = barrier.get(&keys[k]).await.expect("Barrier get");
            assert_eq!(v.expect("value present").len(), VALUE_LEN);
        }
    })
    .await
}

/// Checkpoints (untimed by the cases) and says how long it took.
async fn checkpoint(backend: &FileBackend) -> Duration {
    let t = Instant::now();
    backend.checkpoint().await.expect("checkpoint");
    t.elapsed()
}

// ---------------------------------------------------------------------------------------

fn main() {
    let limits = Limits::from_env();
    let base = std::env::var_os("VAULTRS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let only: Vec<String> = std::env::var("VAULTRS_BENCH_ONLY")
        .unwrap_or_default()
        .split('|')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let tmp = tempfile::Builder::new()
        .prefix("vaultrs-bench-")
        .tempdir_in(&base)
        .expect("create the bench directory");
    let root = tmp.path().to_path_buf();
    eprintln!(
        "vaultrs storage bench: dir {}, {:.1} s per case (caps: {} writes, {} reads), {} B values, {} CPUs",
        root.display(),
        limits.time.as_secs_f64(),
        limits.write_ops,
        limits.read_ops,
        VALUE_LEN,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let value: Arc<Vec<u8>> = Arc::new(
        (0..VALUE_LEN as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Untimed fill for read cases whose write cases were filtered out.
    let prefill = Limits {
        time: Duration::from_secs(3600),
        write_ops: PREFILL,
        read_ops: 0,
    };

    let mut table = Table {
        rows: Vec::new(),
        only,
    };
    let mut notes: Vec<String> = Vec::new();

    // Floors: writes.
    let mut floor_files = Vec::new();
    let mut floor_w = [None, None];
    for (slot, writers) in [(0, 1), (1, WRITERS)] {
        let case = if writers == 1 {
            "floor write, 1 writer".to_owned()
        } else {
            format!("floor write, {writers} writers")
        };
        if table.wants(&case) {
            let dir = root.join(format!("floor{writers}"));
            let (run, files) = floor_writes(&dir, writers, limits, &value);
            floor_files.extend(files);
            floor_w[slot] = Some(table.add(case, run));
        }
    }
    let [floor_w1, floor_w32] = floor_w;

    // Floors: reads, of the files just written (same size, same page-cache state).
    let read_cases = [
        "floor read fs::read, 1 thread".to_owned(),
        "floor read spawn_blocking, 1 task".to_owned(),
        format!("floor read fs::read, {WRITERS} threads"),
        format!("floor read spawn_blocking, {WRITERS} tasks"),
    ];
    if floor_files.is_empty() && read_cases.iter().any(|c| table.wants(c)) {
        let dir = root.join("floor-prefill");
        floor_files = floor_writes(&dir, WRITERS, prefill, &value).1;
    }
    let floor_files = Arc::new(floor_files);
    let mut floor_r = [None; 4];
    for (i, case) in read_cases.iter().enumerate() {
        if !table.wants(case) {
            continue;
        }
        let readers = if i < 2 { 1 } else { WRITERS };
        let run = if i % 2 == 0 {
            floor_reads_threads(readers, limits, &floor_files)
        } else {
            rt.block_on(floor_reads_blocking(readers, limits, floor_files.clone()))
        };
        floor_r[i] = Some(table.add(case.clone(), run));
    }
    let [floor_r1, floor_rb1, floor_r32, floor_rb32] = floor_r;

    rt.block_on(async {
        let backend = Arc::new(
            FileBackend::open(root.join("vaultrs"), FileOptions::default())
                .await
                .expect("open FileBackend"),
        );

        // FileBackend directly: what the barrier adds is the difference.
        let mut keys = Vec::new();
        for (writers, prefix, floor, target) in [
            (1, "phys1", floor_w1, 0.9),
            (WRITERS, "phys32", floor_w32, 2.0),
        ] {
            let case = format!("FileBackend put, {writers} task{}", plural(writers));
            if !table.wants(&case) {
                continue;
            }
            checkpoint(&backend).await;
            let run = physical_puts(backend.clone(), prefix, writers, limits, value.clone()).await;
            keys.extend(keys_of(prefix, &run));
            let row = table.add(case.clone(), run);
            table.compare(row, floor, Target::FasterBy(target), None);
            notes.push(format!(
                "checkpoint after {case}: {:.1} ms",
                checkpoint(&backend).await.as_secs_f64() * 1e3
            ));
        }
        let get_cases = [1, WRITERS].map(|n| format!("FileBackend get, {n} task{}", plural(n)));
        if keys.is_empty() && get_cases.iter().any(|c| table.wants(c)) {
            let run = physical_puts(backend.clone(), "physfill", WRITERS, prefill, value.clone());
            keys = keys_of("physfill", &run.await);
            checkpoint(&backend).await;
        }
        let keys = Arc::new(keys);
        for (case, readers, floor, alt) in [
            (&get_cases[0], 1, floor_r1, floor_rb1),
            (&get_cases[1], WRITERS, floor_r32, floor_rb32),
        ] {
            if table.wants(case) {
                let run = physical_gets(backend.clone(), readers, limits, keys.clone()).await;
                let row = table.add(case.clone(), run);
                table.compare(row, floor, Target::SlowerAtMost(1.3), alt);
            }
        }

        // The barrier over the same backend: init 1/1, unseal.
        let barrier = Arc::new(Barrier::new(backend.clone() as Arc<dyn Physical>));
        let init = barrier.init(1, 1).await.expect("Barrier init");
        barrier
            .unseal(&init.shares[0])
            .await
            .expect("Barrier unseal");
        assert!(!barrier.is_sealed(), "one share of a 1/1 init unseals");

        // The barrier's crypto alone (no IO): what it adds to each put and get.
        let (case_enc, case_dec) = (
            "Barrier encrypt only, 1 thread",
            "Barrier decrypt only, 1 thread",
        );
        if table.wants(case_enc) || table.wants(case_dec) {
            let sealed = barrier.encrypt("bench/crypto", &value).expect("encrypt");
            let run = run_threads(1, limits.read_ops, limits.time, |_| {
                let (barrier, value) = (&barrier, &value);
                move |_| {
                    let ct = barrier.encrypt("bench/crypto", value).expect("encrypt");
                    std::hint::black_box(ct);
                }
            });
            if table.wants(case_enc) {
                table.add(case_enc, run);
            }
            let run = run_threads(1, limits.read_ops, limits.time, |_| {
                let (barrier, sealed) = (&barrier, &sealed);
                move |_| {
                    let pt = barrier.decrypt("bench/crypto", sealed).expect("decrypt");
                    assert_eq!(pt.len(), VALUE_LEN);
                }
            });
            if table.wants(case_dec) {
                table.add(case_dec, run);
            }
        }

        let mut keys = Vec::new();
        for (writers, prefix, floor, target) in [
            (1, "bar1", floor_w1, 0.9),
            (WRITERS, "bar32", floor_w32, 2.0),
        ] {
            let case = format!("Barrier put, {writers} task{}", plural(writers));
            if !table.wants(&case) {
                continue;
            }
            checkpoint(&backend).await;
            let run = barrier_puts(barrier.clone(), prefix, writers, limits, value.clone()).await;
            keys.extend(keys_of(prefix, &run));
            let row = table.add(case.clone(), run);
            table.compare(row, floor, Target::FasterBy(target), None);
            notes.push(format!(
                "checkpoint after {case}: {:.1} ms",
                checkpoint(&backend).await.as_secs_f64() * 1e3
            ));
        }
        let get_cases = [1, WRITERS].map(|n| format!("Barrier get, {n} task{}", plural(n)));
        if keys.is_empty() && get_cases.iter().any(|c| table.wants(c)) {
            let run = barrier_puts(barrier.clone(), "barfill", WRITERS, prefill, value.clone());
            keys = keys_of("barfill", &run.await);
            checkpoint(&backend).await;
        }
        let keys = Arc::new(keys);
        for (case, readers, floor, alt) in [
            (&get_cases[0], 1, floor_r1, floor_rb1),
            (&get_cases[1], WRITERS, floor_r32, floor_rb32),
        ] {
            if table.wants(case) {
                let run = barrier_gets(barrier.clone(), readers, limits, keys.clone()).await;
                let row = table.add(case.clone(), run);
                table.compare(row, floor, Target::SlowerAtMost(1.3), alt);
            }
        }

        // The product's read path: the barrier over the read cache over the same backend.
        // The working set (at most 16k keys of 1 KiB) fits the default 32 MiB budget.
        let cached_cases =
            [1, WRITERS].map(|n| format!("Barrier+cache get, {n} task{}", plural(n)));
        if cached_cases.iter().any(|c| table.wants(c)) && !keys.is_empty() {
            let cached = CachedPhysical::new(backend.clone(), CacheOptions::default());
            let over_cache = Arc::new(Barrier::new(Arc::new(cached) as Arc<dyn Physical>));
            over_cache
                .unseal(&init.shares[0])
                .await
                .expect("unseal the cached barrier");
            let hot: Arc<Vec<String>> = Arc::new(keys.iter().take(16_384).cloned().collect());
            for key in hot.iter() {
                over_cache.get(key).await.expect("warm the cache");
            }
            for (case, readers, floor, alt) in [
                (&cached_cases[0], 1, floor_r1, floor_rb1),
                (&cached_cases[1], WRITERS, floor_r32, floor_rb32),
            ] {
                if table.wants(case) {
                    let run = barrier_gets(over_cache.clone(), readers, limits, hot.clone()).await;
                    let row = table.add(case.clone(), run);
                    table.compare(row, floor, Target::SlowerAtMost(1.3), alt);
                }
            }
        }

        drop(barrier);
        backend.close().await.expect("close FileBackend");
    });

    // Commit latency under checkpoints, beside the durable-write floor over as long a run.
    let lat_limits = Limits {
        time: Duration::from_secs_f64(env_f64("VAULTRS_BENCH_LAT_SECS").unwrap_or(6.0).max(0.5)),
        write_ops: u64::MAX,
        read_ops: 0,
    };
    let mut latency_table = latency::LatencyTable::default();
    let floor_case = format!("floor write+fsync latency, {WRITERS} writers");
    if table.wants(&floor_case) {
        let (run, _) = floor_writes(&root.join("lat-floor"), WRITERS, lat_limits, &value);
        latency_table.add(floor_case, run, None);
    }
    let lat_case = format!("FileBackend commit latency, {WRITERS} tasks");
    if table.wants(&lat_case) {
        let (run, checkpoints) = rt.block_on(latency::commit_latency(
            root.join("lat"),
            lat_limits,
            value.clone(),
        ));
        latency_table.add(lat_case, run, Some(checkpoints));
    }

    // Whole-store operations over 100k keys.
    let mut bulk_table = bulk::Table::default();
    rt.block_on(bulk::run(
        &root.join("bulk"),
        &|case| table.wants(case),
        &mut bulk_table,
    ));

    println!();
    table.print();
    println!();
    latency_table.print();
    println!();
    bulk_table.print();
    println!();
    for note in &notes {
        println!("{note}");
    }
    drop(rt);
    if let Err(e) = tmp.close() {
        eprintln!("could not remove the bench directory: {e}");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
