//! Replication benchmark: two real `vaultrs server -dev` processes (data kept in
//! directories, so every write is fsynced on both sides), the secondary reaching the
//! primary's cluster listener through a byte-counting TCP proxy in this process.
//!
//! Run with `cargo bench --bench replication`. Reports, each beside its floor:
//! - bootstrap of a tree of `VAULTRS_BENCH_KEYS` KV v2 secrets (default 100 000): time
//!   next to `cp -r` of the primary's data directory, bytes next to the directory's size;
//! - replication lag at a steady `VAULTRS_BENCH_RATE` writes/s (default 500) for
//!   `VAULTRS_BENCH_SECS` seconds (default 10): p50/p99/max from the primary's answer to
//!   the secondary's status showing the write applied (status polled every 2 ms, so the
//!   figures are upper bounds by about that much);
//! - catch-up after a partition long enough to leave the primary's log tail (the
//!   secondary must run a Merkle diff): bytes and time for N changed keys, N = 10, 100,
//!   1000, next to the bytes of the whole tree.
//!
//! Nothing is asserted; the goals (issue 12) are printed beside the results.

#[path = "bench_support.rs"]
#[allow(dead_code)] // each benchmark uses part of it
mod bench_support;
use bench_support::{drain_lines, vaultrs_bin, wait_line, Res};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Batches of writes the primary keeps for late secondaries (`FeedOptions::max_batches`):
/// a partition longer than this forces a Merkle diff.
const FEED_TAIL: usize = 4096;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A running dev server.
struct Server {
    child: Child,
    addr: String,
    cluster_addr: String,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(bin: &Path, data_dir: &Path) -> Res<Server> {
        let mut child = Command::new(bin)
            .args(["server", "-dev", "-dev-listen-address=127.0.0.1:0"])
            .arg(format!("-dev-data-dir={}", data_dir.display()))
            .args(["-dev-root-token-id=root", "-dev-no-store-token"])
            .env("VAULT_LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let lines = drain_lines(child.stderr.take().ok_or("no stderr")?);
        // The cluster address is logged before the banner.
        let cluster_addr = wait_line(&lines, &mut child, "the cluster listener", |l| {
            l.split("cluster_addr=")
                .nth(1)
                .map(|r| r.split_whitespace().next().unwrap_or(r).to_owned())
        })?;
        let addr = wait_line(&lines, &mut child, "the dev banner", |l| {
            l.split("export VAULT_ADDR='")
                .nth(1)
                .map(|r| r.trim_end_matches('\'').to_owned())
        })?;
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            addr,
            cluster_addr,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()?,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Res<Value> {
        let mut req = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", "root");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(format!("{path}: {status}: {text}").into());
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    async fn put(&self, key: &str, value: &str) -> Res<()> {
        self.call(
            reqwest::Method::POST,
            &format!("secret/data/{key}"),
            Some(json!({ "data": { "value": value } })),
        )
        .await
        .map(drop)
    }

    /// Overwrites one key more times than the primary's log tail holds.
    async fn filler(primary: &Arc<Server>) -> Res<()> {
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (primary, next) = (primary.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= FEED_TAIL as u64 + 100 {
                        return Ok::<(), String>(());
                    }
                    primary
                        .put("filler", &format!("{i}"))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }));
        }
        for t in tasks {
            t.await?
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
        }
        Ok(())
    }

    async fn status(&self) -> Res<Value> {
        let v = self
            .call(
                reqwest::Method::GET,
                "sys/replication/performance/status",
                None,
            )
            .await?;
        Ok(v["data"].clone())
    }
}

/// A byte-counting TCP proxy whose links can be cut.
struct Proxy {
    addr: String,
    bytes: Arc<AtomicU64>,
    open: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Res<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let bytes = Arc::new(AtomicU64::new(0));
        let open = Arc::new(AtomicBool::new(true));
        let cut = tokio::sync::watch::channel(0u64).0;
        let (b, o, c) = (bytes.clone(), open.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (upstream, bytes, mut cut) = (upstream.clone(), b.clone(), c.subscribe());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = copy_counting(&mut cr, &mut sw, &bytes);
                    let down = copy_counting(&mut sr, &mut cw, &bytes);
                    tokio::select! {
                        _ = async { tokio::join!(up, down) } => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Ok(Proxy {
            addr,
            bytes,
            open,
            cut,
        })
    }

    /// Cuts every link and refuses new ones.
    fn partition(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn heal(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    fn take_bytes(&self) -> u64 {
        self.bytes.swap(0, Ordering::SeqCst)
    }
}

async fn copy_counting(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    bytes: &AtomicU64,
) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => {
                bytes.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes `keys` secrets `bench/k{i}` from 32 concurrent tasks.
async fn load(server: &Arc<Server>, keys: u64, tag: &str) -> Res<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (server, next, tag) = (server.clone(), next.clone(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= keys {
                    return Ok::<(), String>(());
                }
                let value = format!("{tag}-{i:0>90}");
                server
                    .put(&format!("bench/k{i}"), &value)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }));
    }
    for t in tasks {
        t.await?
            .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
    }
    Ok(())
}

/// Waits until the secondary streams with everything the primary has.
async fn converged(primary: &Server, secondary: &Server, limit: Duration) -> Res<Duration> {
    let start = Instant::now();
    loop {
        let p = primary.status().await?;
        let s = secondary.status().await?;
        if s["state"] == "stream-wals"
            && s["last_remote_wal"].as_u64() >= p["last_wal"].as_u64()
            && s["merkle_root"] == p["merkle_root"]
        {
            return Ok(start.elapsed());
        }
        if start.elapsed() > limit {
            return Err(
                format!("not converged after {limit:?}: primary {p}, secondary {s}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    walkdir(dir)
}

fn walkdir(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => walkdir(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn run() -> Res<()> {
    let bin = vaultrs_bin()?;
    let keys = env_num("VAULTRS_BENCH_KEYS", 100_000);
    let rate = env_num("VAULTRS_BENCH_RATE", 500).max(1);
    let secs = env_num("VAULTRS_BENCH_SECS", 10).max(1);
    let tmp = tempfile::tempdir()?;
    let (pdir, sdir) = (tmp.path().join("primary"), tmp.path().join("secondary"));
    println!(
        "replication bench: {keys} keys, lag at {rate} writes/s for {secs} s; both sides fsync"
    );

    let primary = Arc::new(Server::start(&bin, &pdir)?);
    let t = Instant::now();
    load(&primary, keys, "v1").await?;
    let load_time = t.elapsed();
    println!(
        "  load: {keys} writes in {:.1} s ({:.0}/s)",
        load_time.as_secs_f64(),
        keys as f64 / load_time.as_secs_f64()
    );

    let proxy = Proxy::start(primary.cluster_addr.trim_start_matches("https://").into()).await?;
    primary
        .call(
            reqwest::Method::POST,
            "sys/replication/performance/primary/enable",
            Some(json!({ "primary_cluster_addr": format!("https://{}", proxy.addr) })),
        )
        .await?;
    let token = primary
        .call(
            reqwest::Method::POST,
            "sys/replication/performance/primary/secondary-token",
            Some(json!({ "id": "bench" })),
        )
        .await?["wrap_info"]["token"]
        .as_str()
        .ok_or("no activation token")?
        .to_owned();

    // Bootstrap, next to cp -r of the primary's directory.
    let secondary = Server::start(&bin, &sdir)?;
    proxy.take_bytes();
    let t = Instant::now();
    secondary
        .call(
            reqwest::Method::POST,
            "sys/replication/performance/secondary/enable",
            Some(json!({ "token": token })),
        )
        .await?;
    converged(&primary, &secondary, Duration::from_secs(600)).await?;
    let bootstrap = t.elapsed();
    let bootstrap_bytes = proxy.take_bytes();
    let tree = dir_bytes(&pdir.join("tree"));
    let copy_to = tmp.path().join("copy");
    let t = Instant::now();
    let cp = Command::new("cp")
        .arg("-r")
        .arg(&pdir)
        .arg(&copy_to)
        .status()?;
    let cp_time = t.elapsed();
    if !cp.success() {
        return Err("cp -r failed".into());
    }
    println!(
        "  bootstrap: {:.2} s vs cp -r {:.2} s = {:.2}x (goal <= 2x); {:.1} MiB sent for a \
         {:.1} MiB tree",
        bootstrap.as_secs_f64(),
        cp_time.as_secs_f64(),
        bootstrap.as_secs_f64() / cp_time.as_secs_f64(),
        bootstrap_bytes as f64 / 1048576.0,
        tree as f64 / 1048576.0
    );

    // Lag at a steady rate: each write's primary position (its status right after the
    // answer), then the first secondary status that shows it applied. The bootstrap's
    // writes and the `cp -r` reference copy leave ~3x the tree dirty in the page cache,
    // which the first checkpoint would flush in the middle of the phase: flushed first,
    // so the phase measures the steady state (the timeline below shows any burst).
    let flushed = std::process::Command::new("sync").status();
    if !flushed.is_ok_and(|s| s.success()) {
        println!("  (sync failed: the lag phase starts with the bootstrap's writes unflushed)");
    }
    let secondary = Arc::new(secondary);
    let samples: Arc<std::sync::Mutex<Vec<(Instant, u64)>>> = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (samples, stop, secondary) = (samples.clone(), stop.clone(), secondary.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(s) = secondary.status().await {
                    if let Some(wal) = s["last_remote_wal"].as_u64() {
                        samples.lock().unwrap().push((Instant::now(), wal));
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let total = rate * secs;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let mut writes: Vec<tokio::task::JoinHandle<Res<(Instant, u64)>>> = Vec::new();
    let start = Instant::now();
    for i in 0..total {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let primary = primary.clone();
        writes.push(tokio::spawn(async move {
            primary
                .put(&format!("lag/k{}", i % 1000), &format!("lag {i}"))
                .await?;
            let acked = Instant::now();
            let wal = primary.status().await?["last_wal"]
                .as_u64()
                .ok_or("no last_wal")?;
            Ok((acked, wal))
        }));
    }
    let mut acked = Vec::new();
    for w in writes {
        acked.push(w.await??);
    }
    let achieved = total as f64 / start.elapsed().as_secs_f64();
    converged(&primary, &secondary, Duration::from_secs(60)).await?;
    stop.store(true, Ordering::Relaxed);
    poller.await?;
    let samples = samples.lock().unwrap().clone();
    let timed: Vec<(Instant, Duration)> = acked
        .iter()
        .filter_map(|(at, wal)| {
            samples
                .iter()
                .find(|(t, applied)| applied >= wal && *t >= *at)
                .map(|(t, _)| (*at, t.duration_since(*at)))
        })
        .collect();
    // The worst lag of each second of the run: shows whether the tail is steady or comes
    // in bursts (a checkpoint's flush, say).
    let mut worst = vec![Duration::ZERO; secs as usize + 1];
    for (at, lag) in &timed {
        let second = (at.duration_since(start).as_secs() as usize).min(worst.len() - 1);
        worst[second] = worst[second].max(*lag);
    }
    println!(
        "  worst lag per second, ms: {}",
        worst
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut lags: Vec<Duration> = timed.into_iter().map(|(_, lag)| lag).collect();
    lags.sort();
    println!(
        "  lag at {achieved:.0} writes/s ({} writes, {} measured): p50 {} p99 {} max {} \
         (goal p99 <= 50 ms)",
        total,
        lags.len(),
        ms(percentile(&lags, 0.5)),
        ms(percentile(&lags, 0.99)),
        ms(lags.last().copied().unwrap_or_default())
    );

    // Catch-up after partitions that leave the primary's tail: N changed keys, plus
    // overwrites of one key to push the secondary's position out of the tail.
    for n in [10u64, 100, 1000] {
        let before = secondary.status().await?["merkle_syncs"]
            .as_u64()
            .unwrap_or(0);
        proxy.partition();
        for i in 0..n {
            primary
                .put(&format!("bench/k{i}"), &format!("changed {n} {i}"))
                .await?;
        }
        Server::filler(&primary).await?;
        proxy.take_bytes();
        proxy.heal();
        let took = converged(&primary, &secondary, Duration::from_secs(300)).await?;
        let bytes = proxy.take_bytes();
        let after = secondary.status().await?["merkle_syncs"]
            .as_u64()
            .unwrap_or(0);
        println!(
            "  catch-up of {n} changed keys (+1 key overwritten {FEED_TAIL}+ times): {:.1} KiB \
             in {} ({} Merkle sync{}); the tree is {:.1} MiB",
            bytes as f64 / 1024.0,
            ms(took),
            after - before,
            if after - before == 1 { "" } else { "s" },
            tree as f64 / 1048576.0
        );
    }
    Ok(())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run()) {
        eprintln!("replication bench failed: {e}");
        std::process::exit(1);
    }
}
