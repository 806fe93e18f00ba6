//! Snapshot benchmark: a storage snapshot saved from and restored into a real server
//! holding 100k keys, side by side with `tar` of the same data directory, in the same run,
//! reported as ratios.
//!
//! Run with `cargo bench --bench snapshot` (the server is `target/release/vaultrs`, built
//! first if missing; `VAULTRS_BIN` overrides it). The path measured is the server's: a
//! durable dev server (`-dev-data-dir`, every write fsynced) is filled with 100k KV v1 keys
//! (~100-byte values) over HTTP, then, `VAULTRS_BENCH_RUNS` times each (default 3, the
//! median reported):
//!
//! - save: `GET /v1/sys/storage/snapshot` streamed into a file, vs `tar -cf` of the data
//!   directory (the server idle);
//! - restore: `POST /v1/sys/storage/snapshot-restore` of that file (staged, verified,
//!   made durable with `syncfs`, swapped, the core activated over the restored store), vs
//!   `tar -xf` into an empty directory, and `tar -xf` followed by `sync -f` (the restore
//!   makes its tree durable; plain tar does not).
//!
//! Every timed step starts after a `sync`, so none pays for the writeback of the one
//! before. The server's peak RSS (`VmHWM`) is printed after each phase: a snapshot streams in
//! chunks, so it stays far below the archive's size. Nothing is asserted.

#[path = "bench_support.rs"]
#[allow(dead_code)] // shared with the other benches, which use all of it
mod bench_support;
use bench_support::{vaultrs_bin, DevServer, Res};

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

/// Keys in the server.
const KEYS: usize = 100_000;
/// Concurrent writers while filling it.
const WRITERS: usize = 32;

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

async fn fill(http: &reqwest::Client, url: &str) -> Res<()> {
    let mount = http
        .post(format!("{url}/v1/sys/mounts/bench"))
        .header("X-Vault-Token", "root")
        .json(&serde_json::json!({"type": "kv"}))
        .send()
        .await?;
    if !mount.status().is_success() {
        return Err(format!("mounting: {}", mount.status()).into());
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (http, url, next) = (http.clone(), url.to_owned(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= KEYS {
                    return Ok::<_, String>(());
                }
                let value = format!("{i:0>96}");
                let r = http
                    .put(format!("{url}/v1/bench/app/{:03}/k{i}", i % 997))
                    .header("X-Vault-Token", "root")
                    .json(&serde_json::json!({ "value": value }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("write {i}: {}", r.status()));
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn save(http: &reqwest::Client, url: &str, file: &Path) -> Res<u64> {
    let mut resp = http
        .get(format!("{url}/v1/sys/storage/snapshot"))
        .header("X-Vault-Token", "root")
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!("snapshot: {}", resp.status()).into());
    }
    let mut out = tokio::fs::File::create(file).await?;
    let mut bytes = 0u64;
    while let Some(chunk) = resp.chunk().await? {
        bytes += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(bytes)
}

async fn restore(http: &reqwest::Client, url: &str, file: &Path) -> Res<()> {
    // The client sends the file from memory (the server streams it into the restore).
    let body = tokio::fs::read(file).await?;
    let r = http
        .post(format!("{url}/v1/sys/storage/snapshot-restore"))
        .header("X-Vault-Token", "root")
        .body(body)
        .send()
        .await?;
    if r.status().as_u16() != 204 {
        return Err(format!("restore: {} {}", r.status(), r.text().await?).into());
    }
    Ok(())
}

/// Runs GNU tar. Exit 1 is "some files changed as they were read" (the server's
/// checkpointer may touch the directory even when idle): the archive is written anyway.
fn tar(args: &[&str]) -> Res<()> {
    let status = Command::new("tar")
        .args(["--warning=no-file-changed"])
        .args(args)
        .status()?;
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(format!("tar {args:?}: {status}").into());
    }
    Ok(())
}

/// Flushes every dirty page first, so no step pays for the writeback of the one before.
fn settle() -> Res<()> {
    Command::new("sync").status()?;
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn timed(f: impl FnOnce() -> Res<()>) -> Res<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("snapshot benchmark failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let runs: usize = std::env::var("VAULTRS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let bin = vaultrs_bin()?;
    let server = DevServer::start(&bin)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let work = tempfile::tempdir()?;
    let (archive, tarball) = (
        work.path().join("bench.snap"),
        work.path().join("bench.tar"),
    );

    let t = Instant::now();
    rt.block_on(fill(&http, server.url()))?;
    println!(
        "filled {KEYS} keys over HTTP in {:.1} s (fsynced writes, {WRITERS} writers)",
        t.elapsed().as_secs_f64()
    );
    let pid = server.pid();
    let base_rss = peak_rss_mib(pid);

    let (mut save_s, mut tar_c_s, mut restore_s, mut tar_x_s, mut tar_xs_s) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut archive_bytes = 0;
    let mut rss_after_save = 0.0;
    let data = server
        .data_dir()
        .ok_or("no data dir")?
        .to_str()
        .ok_or("data dir not UTF-8")?
        .to_owned();
    for _ in 0..runs {
        settle()?;
        let t = Instant::now();
        archive_bytes = rt.block_on(save(&http, server.url(), &archive))?;
        save_s.push(t.elapsed().as_secs_f64());
        rss_after_save = peak_rss_mib(pid);
        let tb = tarball.to_str().ok_or("path")?.to_owned();
        settle()?;
        tar_c_s.push(timed(|| tar(&["-cf", &tb, "-C", &data, "."]))?);

        settle()?;
        let t = Instant::now();
        rt.block_on(restore(&http, server.url(), &archive))?;
        restore_s.push(t.elapsed().as_secs_f64());
        let x = tempfile::tempdir_in(work.path())?;
        let xs = x.path().to_str().ok_or("path")?.to_owned();
        settle()?;
        tar_x_s.push(timed(|| tar(&["-xf", &tb, "-C", &xs]))?);
        let y = tempfile::tempdir_in(work.path())?;
        let ys = y.path().to_str().ok_or("path")?.to_owned();
        settle()?;
        tar_xs_s.push(timed(|| {
            tar(&["-xf", &tb, "-C", &ys])?;
            let status = Command::new("sync").args(["-f", &ys]).status()?;
            if !status.success() {
                return Err("sync -f failed".into());
            }
            Ok(())
        })?);
    }
    let tar_bytes = std::fs::metadata(&tarball)?.len();
    let rss_after_restore = peak_rss_mib(pid);
    let (save_m, tar_c_m) = (median(save_s), median(tar_c_s));
    let (restore_m, tar_x_m, tar_xs_m) = (median(restore_s), median(tar_x_s), median(tar_xs_s));
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!();
    println!("snapshot of {KEYS} keys, median of {runs} runs (server path, release build)");
    println!(
        "  archive {:.1} MiB; tar of the data directory {:.1} MiB",
        mib(archive_bytes),
        mib(tar_bytes)
    );
    println!(
        "  save     {:>7.3} s   tar -cf          {:>7.3} s   ratio {:.2}x",
        save_m,
        tar_c_m,
        save_m / tar_c_m
    );
    println!(
        "  restore  {:>7.3} s   tar -xf          {:>7.3} s   ratio {:.2}x",
        restore_m,
        tar_x_m,
        restore_m / tar_x_m
    );
    println!(
        "                       tar -xf + sync   {:>7.3} s   ratio {:.2}x",
        tar_xs_m,
        restore_m / tar_xs_m
    );
    println!(
        "  server peak RSS: {base_rss:.0} MiB after the fill, {rss_after_save:.0} MiB after \
         saving, {rss_after_restore:.0} MiB after restoring (archive {:.0} MiB)",
        mib(archive_bytes)
    );
    Ok(())
}
