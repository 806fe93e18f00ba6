//! Server benchmark: `vaultrs server -dev` side by side with a trivial axum server (the
//! floor: what HTTP alone costs here) and OpenBao's dev server (when a `bao` binary is on
//! PATH or at `.venv/bin/bao`), reported as ratios.
//!
//! Run with `cargo bench --bench server` (release build of the bench; the server is
//! `target/release/vaultrs`, built first if missing; `VAULTRS_BIN` overrides it).
//!
//! Per target: KV v2 preload of 10k keys (`secret/data/bench/k{i}`, ~100-byte values), a
//! timed phase of reads of random keys, and a timed phase of writes to random keys, each
//! with 32 concurrent keep-alive connections from a hand-rolled HTTP/1.1 client on one
//! thread (the load generator shares the machine's cores, so it is kept cheap). The floor
//! gets the same read pattern. Server CPU per request comes from `/proc/<pid>/stat`
//! (utime + stime) before and after each phase. Startup (exec → `sys/health` 200, median
//! of 5) and idle RSS are measured on separate fresh starts.
//!
//! Environment:
//! - `VAULTRS_BENCH_SECS`: length of each timed phase (default 5).
//! - `VAULTRS_BENCH_ONLY`: comma list of targets to run (`floor,vaultrs,bao`).
//! - `VAULTRS_BENCH_CLIENT_THREADS`: load-generator threads (default 1).
//! - `VAULTRS_BIN`, `VAULTRS_BENCH_BAO`: binaries to use instead of the defaults.
//! - `VAULTRS_BENCH_FLOOR=1`: internal; the bench re-executes itself with it to run the
//!   floor server in its own process (clean CPU accounting).
//!
//! Nothing is asserted: targets are printed beside the results.

#[path = "bench_support.rs"]
#[allow(dead_code)]
mod bench_support;
use bench_support::{drain_lines, find, manifest_dir, rss_kib, vaultrs_bin, wait_line, DevServer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Keys written before the timed phases.
const KEYS: usize = 10_000;
/// Concurrent connections (one request in flight on each).
const CONNS: usize = 32;
/// Fresh starts for the startup-time and idle-RSS figures.
const STARTS: usize = 5;
/// Reference figures from the brief (measured elsewhere), read CPU per request in µs.
const REF_RUSTYVAULT_READ_CPU_US: f64 = 47.0;
const REF_OPENBAO_READ_CPU_US: f64 = 170.0;
/// The floor's answer: a small fixed JSON body of about the size of a KV v2 read.
const FLOOR_BODY: &str = concat!(
    r#"{"request_id":"00000000-0000-4000-8000-000000000000","lease_id":"","renewable":false,"#,
    r#""lease_duration":0,"data":{"data":{"value":"floor"},"metadata":{"created_time":"#,
    r#""2024-01-01T00:00:00.000000000Z","custom_metadata":null,"deletion_time":"","#,
    r#""destroyed":false,"version":1}},"wrap_info":null,"warnings":null,"auth":null}"#,
    "\n"
);

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = std::result::Result<T, BoxError>;

fn main() {
    if std::env::var_os("VAULTRS_BENCH_FLOOR").is_some() {
        floor_main();
        return;
    }
    // Every server is owned by `run` and killed when it returns or unwinds.
    if let Err(e) = run() {
        eprintln!("server bench failed: {e}");
        std::process::exit(1);
    }
}

// ---- the floor server ---------------------------------------------------------------------

/// A minimal axum server on a multi-thread runtime (as vaultrs's), printing its port.
fn floor_main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("floor runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("floor bind");
        let port = listener.local_addr().expect("floor addr").port();
        println!("{port}");
        let _ = std::io::stdout().flush();
        let app = axum::Router::new().fallback(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                FLOOR_BODY,
            )
        });
        axum::serve(listener, app).await.expect("floor serve");
    });
}

// ---- server processes ---------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Floor,
    Vaultrs,
    Bao,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Floor => "floor (axum)",
            Kind::Vaultrs => "vaultrs",
            Kind::Bao => "openbao",
        }
    }
}

/// A running server; dropping it stops it (SIGTERM first).
struct Server {
    addr: SocketAddr,
    /// Exec → first `sys/health` 200 (vaultrs and bao).
    healthy_after: Option<Duration>,
    process: Process,
}

enum Process {
    /// vaultrs, started (and stopped when dropped) by `bench_support`.
    Vaultrs(DevServer),
    /// The floor or bao, spawned here.
    Other(Spawned),
}

/// A server process spawned by this bench; dropping it stops it.
struct Spawned {
    child: Child,
    /// When the process was spawned.
    spawned: Instant,
    /// The floor's stdout lines, drained by a thread so the pipe never fills.
    lines: Option<mpsc::Receiver<String>>,
    log: Option<PathBuf>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        bench_support::stop(&mut self.child);
    }
}

impl Server {
    fn pid(&self) -> u32 {
        match &self.process {
            Process::Vaultrs(dev) => dev.pid(),
            Process::Other(p) => p.child.id(),
        }
    }

    fn check_alive(&mut self) -> Res<()> {
        match &mut self.process {
            Process::Vaultrs(dev) => dev.check_alive(),
            Process::Other(p) => p.check_alive(),
        }
    }
}

impl Spawned {
    fn diagnostics(&self) -> String {
        let mut out = String::new();
        if let Some(rx) = &self.lines {
            for line in rx.try_iter() {
                out.push_str(&line);
                out.push('\n');
            }
        }
        if let Some(log) = &self.log {
            if let Ok(text) = std::fs::read_to_string(log) {
                let tail: Vec<&str> = text.lines().rev().take(20).collect();
                for line in tail.into_iter().rev() {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    fn check_alive(&mut self) -> Res<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(format!("server exited with {status}:\n{}", self.diagnostics()).into());
        }
        Ok(())
    }

    /// Polls `GET /v1/sys/health` on `addr` until it answers 200; the time since spawning.
    fn wait_healthy(&mut self, addr: SocketAddr) -> Res<Duration> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(200) = health_status(addr) {
                return Ok(self.spawned.elapsed());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!("{addr} not healthy within 60 s").into());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `vaultrs server -dev`, as `bench_support::DevServer` starts it. `durable`: keep the data
/// in a `-dev-data-dir`, so every write is fsynced before the answer (the load phases);
/// otherwise a plain `server -dev`, as a developer starts it (startup time and idle RSS),
/// whose temporary directory is not fsynced.
fn start_vaultrs(bin: &Path, durable: bool) -> Res<Server> {
    let dev = DevServer::start_with(bin, durable)?;
    Ok(Server {
        addr: dev.addr,
        healthy_after: Some(dev.healthy_after()),
        process: Process::Vaultrs(dev),
    })
}

/// `bao server -dev` on a port that was free a moment ago (in-memory storage).
fn start_bao(bin: &Path) -> Res<Server> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let log = dir.path().join("bao.log");
    let out = std::fs::File::create(&log)?;
    let mut cmd = Command::new(bin);
    cmd.args([
        "server",
        "-dev",
        "-dev-root-token-id=root",
        &format!("-dev-listen-address=127.0.0.1:{port}"),
        "-dev-no-store-token",
    ])
    .env("HOME", dir.path())
    .env_remove("VAULT_ADDR")
    .env_remove("VAULT_TOKEN")
    .env_remove("BAO_ADDR")
    .env_remove("BAO_TOKEN")
    .stdin(Stdio::null())
    .stdout(out.try_clone()?)
    .stderr(out);
    let spawned = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut process = Spawned {
        child,
        spawned,
        lines: None,
        log: Some(log),
        _dirs: vec![dir],
    };
    let healthy_after = process.wait_healthy(addr)?;
    Ok(Server {
        addr,
        healthy_after: Some(healthy_after),
        process: Process::Other(process),
    })
}

/// This bench binary again, as the floor server; it prints its port on stdout.
fn start_floor() -> Res<Server> {
    let exe = std::env::current_exe()?;
    let spawned = Instant::now();
    let mut child = Command::new(exe)
        .env("VAULTRS_BENCH_FLOOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let rx = drain_lines(child.stdout.take().ok_or("no stdout")?);
    let port = wait_line(&rx, &mut child, "floor", |line| {
        line.trim().parse::<u16>().ok().map(|p| p.to_string())
    })?;
    Ok(Server {
        addr: SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>()?)),
        healthy_after: None,
        process: Process::Other(Spawned {
            child,
            spawned,
            lines: Some(rx),
            log: None,
            _dirs: Vec::new(),
        }),
    })
}

fn start(kind: Kind, bins: &Bins, durable: bool) -> Res<Server> {
    match kind {
        Kind::Floor => start_floor(),
        Kind::Vaultrs => start_vaultrs(&bins.vaultrs, durable),
        Kind::Bao => start_bao(bins.bao.as_deref().ok_or("no bao binary")?),
    }
}

/// One blocking `GET /v1/sys/health`; the status code.
fn health_status(addr: SocketAddr) -> Res<u16> {
    let mut s = StdTcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_nodelay(true)?;
    write!(
        s,
        "GET /v1/sys/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < 12 {
        let m = s.read(&mut head[n..])?;
        if m == 0 {
            return Err("closed".into());
        }
        n += m;
    }
    Ok(std::str::from_utf8(&head[9..12])?.parse()?)
}

// ---- /proc ------------------------------------------------------------------------------

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of a process, in clock ticks (all its threads, live and exited).
fn cpu_ticks(pid: &str) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = stat.rsplit_once(')').ok_or("bad /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

// ---- the load generator -------------------------------------------------------------------

/// A keep-alive HTTP/1.1 connection with one request in flight.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Where a chunked body starting at `start` ends (after the last chunk's CRLF), if complete.
fn chunked_end(buf: &[u8], mut pos: usize) -> Res<Option<usize>> {
    loop {
        let Some(eol) = find(&buf[pos..], b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&buf[pos..pos + eol])?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)?;
        pos += eol + 2;
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            return Ok(find(&buf[pos..], b"\r\n").map(|e| pos + e + 2));
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        pos += size + 2;
    }
}

impl Conn {
    async fn open(addr: SocketAddr) -> Res<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    async fn fill(&mut self) -> Res<()> {
        self.buf.reserve(8 * 1024);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err("server closed the connection".into());
        }
        Ok(())
    }

    /// Sends one request and reads its whole response; returns the status code.
    async fn round_trip(&mut self, request: &[u8]) -> Res<u16> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head.get(9..12).ok_or("short status line")?.parse()?;
        let mut length = None;
        let mut chunked = false;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.trim().parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
        let end = if chunked {
            loop {
                if let Some(end) = chunked_end(&self.buf, head_end)? {
                    break end;
                }
                self.fill().await?;
            }
        } else if let Some(len) = length {
            while self.buf.len() < head_end + len {
                self.fill().await?;
            }
            head_end + len
        } else if status == 204 || status == 304 || status < 200 {
            head_end
        } else {
            return Err(format!("response {status} without a length").into());
        };
        self.buf.drain(..end);
        Ok(status)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    /// Writes `k0..k{KEYS}` once, spread over the connections.
    Preload,
    /// GETs of random keys until the deadline.
    Read,
    /// Writes to random keys until the deadline.
    Write,
}

/// Per-connection results.
#[derive(Default)]
struct TaskOut {
    latencies_ns: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

struct PhaseResult {
    requests: u64,
    elapsed: Duration,
    errors: u64,
    first_error: Option<String>,
    p50: Duration,
    p99: Duration,
    max: Duration,
    server_cpu: Duration,
    client_cpu: Duration,
}

impl PhaseResult {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn server_us_per_req(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
    fn client_us_per_req(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
}

/// A small fast PRNG for key choice (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn read_request(out: &mut Vec<u8>, host: &str, key: usize) {
    out.clear();
    let _ = write!(
        out,
        "GET /v1/secret/data/bench/k{key} HTTP/1.1\r\nHost: {host}\r\nX-Vault-Token: root\r\n\r\n"
    );
}

fn write_request(out: &mut Vec<u8>, host: &str, key: usize, seq: u64) {
    // {"data":{"value":"..."}} with a 100-byte value.
    let value = format!("{key:08}-{seq:012}-{}", "x".repeat(100 - 22));
    let body = format!(r#"{{"data":{{"value":"{value}"}}}}"#);
    out.clear();
    let _ = write!(
        out,
        "POST /v1/secret/data/bench/k{key} HTTP/1.1\r\nHost: {host}\r\nX-Vault-Token: root\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

async fn connection_loop(
    mut conn: Conn,
    host: String,
    workload: Workload,
    deadline: Instant,
    next_key: Arc<AtomicUsize>,
    seed: u64,
) -> Res<TaskOut> {
    let mut out = TaskOut::default();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut req = Vec::with_capacity(512);
    let mut seq = 0u64;
    loop {
        match workload {
            Workload::Preload => {
                let key = next_key.fetch_add(1, Ordering::Relaxed);
                if key >= KEYS {
                    break;
                }
                write_request(&mut req, &host, key, 0);
            }
            Workload::Read | Workload::Write => {
                if Instant::now() >= deadline {
                    break;
                }
                let key = (rng.next() % KEYS as u64) as usize;
                if workload == Workload::Read {
                    read_request(&mut req, &host, key);
                } else {
                    seq += 1;
                    write_request(&mut req, &host, key, seq);
                }
            }
        }
        let t0 = Instant::now();
        let status = conn.round_trip(&req).await?;
        out.latencies_ns.push(t0.elapsed().as_nanos() as u64);
        if !(200..300).contains(&status) {
            out.errors += 1;
            if out.first_error.is_none() {
                out.first_error = Some(format!("HTTP {status} for {}", first_line(&req)));
            }
        }
    }
    Ok(out)
}

fn first_line(req: &[u8]) -> String {
    let text = String::from_utf8_lossy(req);
    text.lines().next().unwrap_or("").to_owned()
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted[idx.min(sorted.len() - 1)])
}

struct Bench {
    rt: tokio::runtime::Runtime,
    ticks: f64,
    secs: f64,
}

impl Bench {
    fn phase(&self, server: &mut Server, workload: Workload, secs: f64) -> Res<PhaseResult> {
        server.check_alive()?;
        let addr = server.addr;
        let pid = server.pid().to_string();
        let host = addr.to_string();
        // Progress on stderr, with the pid for attaching a profiler to one phase.
        let span = match workload {
            Workload::Preload => format!("{KEYS} keys"),
            _ => format!("{secs:.1} s"),
        };
        eprintln!("   {workload:?}, {span} (server pid {pid}, {addr})");
        let result = self.rt.block_on(async {
            let mut conns = Vec::with_capacity(CONNS);
            for _ in 0..CONNS {
                conns.push(Conn::open(addr).await?);
            }
            let next_key = Arc::new(AtomicUsize::new(0));
            let server_before = cpu_ticks(&pid)?;
            let client_before = cpu_ticks("self")?;
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(secs);
            let tasks: Vec<_> = conns
                .into_iter()
                .enumerate()
                .map(|(i, conn)| {
                    tokio::spawn(connection_loop(
                        conn,
                        host.clone(),
                        workload,
                        deadline,
                        next_key.clone(),
                        i as u64 + 1,
                    ))
                })
                .collect();
            let mut outs = Vec::with_capacity(CONNS);
            for task in tasks {
                outs.push(task.await??);
            }
            let elapsed = start.elapsed();
            let server_after = cpu_ticks(&pid)?;
            let client_after = cpu_ticks("self")?;
            Ok::<_, BoxError>((
                outs,
                elapsed,
                server_after - server_before,
                client_after - client_before,
            ))
        });
        let (outs, elapsed, server_ticks, client_ticks) = match result {
            Ok(r) => r,
            Err(e) => {
                server.check_alive()?;
                return Err(e);
            }
        };
        let mut all: Vec<u64> = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        for out in outs {
            all.extend_from_slice(&out.latencies_ns);
            errors += out.errors;
            if first_error.is_none() {
                first_error = out.first_error;
            }
        }
        all.sort_unstable();
        let to_dur = |t: u64| Duration::from_secs_f64(t as f64 / self.ticks);
        Ok(PhaseResult {
            requests: all.len() as u64,
            elapsed,
            errors,
            first_error,
            p50: percentile(&all, 0.50),
            p99: percentile(&all, 0.99),
            max: Duration::from_nanos(all.last().copied().unwrap_or(0)),
            server_cpu: to_dur(server_ticks),
            client_cpu: to_dur(client_ticks),
        })
    }
}

// ---- binaries -----------------------------------------------------------------------------

struct Bins {
    vaultrs: PathBuf,
    bao: Option<PathBuf>,
}

fn bao_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("VAULTRS_BENCH_BAO") {
        return Some(PathBuf::from(bin));
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("bao"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let venv = manifest_dir().join(".venv").join("bin").join("bao");
        venv.is_file().then_some(venv)
    })
}

// ---- the run ------------------------------------------------------------------------------

struct Startup {
    healthy_ms: Vec<f64>,
    rss_kib: Vec<u64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Fresh starts: exec → healthy, then idle RSS after a short settle.
fn measure_startup(kind: Kind, bins: &Bins) -> Res<Startup> {
    let mut out = Startup {
        healthy_ms: Vec::new(),
        rss_kib: Vec::new(),
    };
    for _ in 0..STARTS {
        let mut server = start(kind, bins, false)?;
        let healthy = server.healthy_after.ok_or("no health check")?;
        out.healthy_ms.push(healthy.as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(500));
        server.check_alive()?;
        out.rss_kib.push(rss_kib(server.pid())?);
        drop(server);
    }
    Ok(out)
}

struct TargetResult {
    kind: Kind,
    phases: Vec<(&'static str, PhaseResult)>,
    startup: Option<Startup>,
}

impl TargetResult {
    fn phase(&self, name: &str) -> Option<&PhaseResult> {
        self.phases.iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }
}

fn bench_target(bench: &Bench, kind: Kind, bins: &Bins) -> Res<TargetResult> {
    eprintln!("-- {}", kind.name());
    let startup = if kind == Kind::Floor {
        None
    } else {
        Some(measure_startup(kind, bins)?)
    };
    let mut server = start(kind, bins, true)?;
    let mut phases = Vec::new();
    let warmup = (bench.secs / 5.0).clamp(0.2, 1.0);
    if kind == Kind::Floor {
        bench.phase(&mut server, Workload::Read, warmup)?;
    } else {
        let load = bench.phase(&mut server, Workload::Preload, 0.0)?;
        if load.errors > 0 {
            return Err(format!(
                "{}: {} of the preload writes failed ({})",
                kind.name(),
                load.errors,
                load.first_error.unwrap_or_default()
            )
            .into());
        }
        phases.push(("load 10k", load));
        bench.phase(&mut server, Workload::Read, warmup)?;
    }
    phases.push((
        "read",
        bench.phase(&mut server, Workload::Read, bench.secs)?,
    ));
    if kind != Kind::Floor {
        phases.push((
            "write",
            bench.phase(&mut server, Workload::Write, bench.secs)?,
        ));
    }
    server.check_alive()?;
    drop(server);
    Ok(TargetResult {
        kind,
        phases,
        startup,
    })
}

fn run() -> Res<()> {
    let secs: f64 = match std::env::var("VAULTRS_BENCH_SECS") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("VAULTRS_BENCH_SECS={s:?} is not a number"))?,
        Err(_) => 5.0,
    };
    let only: Option<Vec<String>> = std::env::var("VAULTRS_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|t| t.trim().to_lowercase()).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|t| t == name));
    let client_threads: usize = std::env::var("VAULTRS_BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rt = if client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(client_threads)
            .enable_all()
            .build()?
    };
    let bench = Bench {
        rt,
        ticks: clock_ticks_per_sec(),
        secs,
    };

    let bins = Bins {
        vaultrs: vaultrs_bin()?,
        bao: bao_bin(),
    };
    let mut kinds = Vec::new();
    if wanted("floor") {
        kinds.push(Kind::Floor);
    }
    if wanted("vaultrs") {
        kinds.push(Kind::Vaultrs);
    }
    let mut notes = Vec::new();
    match &bins.bao {
        Some(bao) if wanted("bao") => {
            let version = Command::new(bao)
                .arg("version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            notes.push(format!(
                "openbao: {} ({version}); dev mode keeps data in memory (no fsync)",
                bao.display()
            ));
            kinds.push(Kind::Bao);
        }
        Some(_) => {}
        None => notes.push(
            "openbao: skipped (no `bao` on PATH or at .venv/bin/bao; set VAULTRS_BENCH_BAO)".into(),
        ),
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "server bench: {secs} s per timed phase, {CONNS} connections, {KEYS} keys, \
         {client_threads} client thread(s), {cores} cores; vaultrs = {}",
        bins.vaultrs.display()
    );

    let mut results = Vec::new();
    for kind in kinds {
        results.push(bench_target(&bench, kind, &bins)?);
    }
    report(&results, &notes, secs, client_threads, cores);
    Ok(())
}

// ---- the report ---------------------------------------------------------------------------

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "MISSED"
    }
}

fn report(results: &[TargetResult], notes: &[String], secs: f64, threads: usize, cores: usize) {
    let get = |k: Kind| results.iter().find(|r| r.kind == k);
    println!();
    println!(
        "vaultrs server bench: {secs} s per timed phase, {CONNS} keep-alive connections, \
         {KEYS} keys, ~100-byte values, client on {threads} thread(s), {cores} cores"
    );
    for note in notes {
        println!("  {note}");
    }
    println!();
    println!(
        "{:<13} {:<9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>12} {:>9} {:>12} {:>6}",
        "target",
        "phase",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "srv CPU µs/r",
        "srv cores",
        "cli CPU µs/r",
        "errors"
    );
    for r in results {
        for (name, p) in &r.phases {
            println!(
                "{:<13} {:<9} {:>9} {:>10.0} {:>9.3} {:>9.3} {:>9.1} {:>12.1} {:>9.2} {:>12.1} {:>6}",
                r.kind.name(),
                name,
                p.requests,
                p.rps(),
                p.p50.as_secs_f64() * 1e3,
                p.p99.as_secs_f64() * 1e3,
                p.max.as_secs_f64() * 1e3,
                p.server_us_per_req(),
                p.server_cpu.as_secs_f64() / p.elapsed.as_secs_f64(),
                p.client_us_per_req(),
                p.errors
            );
            if let Some(e) = &p.first_error {
                println!("{:<13}   first error: {e}", "");
            }
        }
    }
    println!();
    println!(
        "{:<13} {:>18} {:>18} {:>16}",
        "target", "healthy ms (med)", "healthy ms (min)", "idle RSS MiB"
    );
    for r in results {
        if let Some(s) = &r.startup {
            let min = s.healthy_ms.iter().cloned().fold(f64::INFINITY, f64::min);
            let rss = median(s.rss_kib.iter().map(|k| *k as f64).collect()) / 1024.0;
            println!(
                "{:<13} {:>18.1} {:>18.1} {:>16.1}",
                r.kind.name(),
                median(s.healthy_ms.clone()),
                min,
                rss
            );
        }
    }

    println!();
    println!("ratios and targets (printed, not asserted):");
    let v = get(Kind::Vaultrs);
    let floor = get(Kind::Floor);
    let bao = get(Kind::Bao);
    let v_read = v.and_then(|r| r.phase("read"));
    let v_write = v.and_then(|r| r.phase("write"));
    let bao_read = bao.and_then(|r| r.phase("read"));
    let bao_write = bao.and_then(|r| r.phase("write"));
    if let Some(vr) = v_read {
        let cpu = vr.server_us_per_req();
        println!(
            "  reference read CPU/request (fixed, from the brief): RustyVault 0.2 ~{REF_RUSTYVAULT_READ_CPU_US} µs, \
             OpenBao ~{REF_OPENBAO_READ_CPU_US} µs"
        );
        if let Some(br) = bao_read {
            let peer = br.server_us_per_req();
            let ratio = cpu / peer;
            println!(
                "  read CPU/request vs OpenBao (measured): {cpu:.1} / {peer:.1} µs = {:.0}%   \
                 target ≤ 40%: {}",
                ratio * 100.0,
                verdict(ratio <= 0.40)
            );
        }
        let mut best = REF_RUSTYVAULT_READ_CPU_US.min(REF_OPENBAO_READ_CPU_US);
        let mut best_name = "RustyVault 0.2 (reference)";
        if let Some(br) = bao_read {
            if br.server_us_per_req() < best {
                best = br.server_us_per_req();
                best_name = "OpenBao (measured)";
            }
        }
        let ratio = cpu / best;
        println!(
            "  read CPU/request vs best peer, {best_name}: {cpu:.1} / {best:.1} µs = {:.0}%   \
             target ≤ 40%: {}",
            ratio * 100.0,
            verdict(ratio <= 0.40)
        );
        if let Some(fr) = floor.and_then(|f| f.phase("read")) {
            let ratio = vr.rps() / fr.rps();
            println!(
                "  read req/s vs floor: {:.0} / {:.0} = {:.0}%   target ≥ 50%: {}",
                vr.rps(),
                fr.rps(),
                ratio * 100.0,
                verdict(ratio >= 0.50)
            );
            println!(
                "    (floor CPU/request {:.1} µs: vaultrs spends {:.1} µs more per read)",
                fr.server_us_per_req(),
                cpu - fr.server_us_per_req()
            );
        }
    }
    if let (Some(vw), Some(bw)) = (v_write, bao_write) {
        let ratio = vw.rps() / bw.rps();
        println!(
            "  write req/s vs OpenBao: {:.0} / {:.0} = {:.0}%   target ≥ 100%: {}   \
             (vaultrs fsyncs every write; bao -dev is in memory)",
            vw.rps(),
            bw.rps(),
            ratio * 100.0,
            verdict(ratio >= 1.0)
        );
    } else if let Some(vw) = v_write {
        println!(
            "  write req/s: {:.0} (no OpenBao to compare with)",
            vw.rps()
        );
    }
    for r in results {
        let Some(s) = &r.startup else { continue };
        let healthy = median(s.healthy_ms.clone());
        let rss = median(s.rss_kib.iter().map(|k| *k as f64).collect()) / 1024.0;
        if r.kind == Kind::Vaultrs {
            println!(
                "  vaultrs healthy after exec: {healthy:.1} ms   target ≤ 10 ms: {}",
                verdict(healthy <= 10.0)
            );
            println!(
                "  vaultrs idle RSS: {rss:.1} MiB   target ≤ 10 MiB: {}",
                verdict(rss <= 10.0)
            );
        } else {
            println!(
                "  {} healthy after exec: {healthy:.1} ms; idle RSS {rss:.1} MiB (for comparison)",
                r.kind.name()
            );
        }
    }
}
