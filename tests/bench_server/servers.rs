//! The server processes of the server benchmark: vaultrs (through
//! `bench_support::DevServer`), OpenBao's dev server, and the floor (a minimal axum server:
//! this bench binary re-executed); finding their binaries; their health checks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::bench_support::{self, drain_lines, manifest_dir, wait_line, DevServer};
use crate::Res;

/// The floor's answer: a small fixed JSON body of about the size of a KV v2 read.
const FLOOR_BODY: &str = concat!(
    r#"{"request_id":"00000000-0000-4000-8000-000000000000","lease_id":"","renewable":false,"#,
    r#""lease_duration":0,"data":{"data":{"value":"floor"},"metadata":{"created_time":"#,
    r#""2024-01-01T00:00:00.000000000Z","custom_metadata":null,"deletion_time":"","#,
    r#""destroyed":false,"version":1}},"wrap_info":null,"warnings":null,"auth":null}"#,
    "\n"
);

/// A minimal axum server on a multi-thread runtime (as vaultrs's), printing its port.
pub(crate) fn floor_main() {
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Floor,
    Vaultrs,
    Bao,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Floor => "floor (axum)",
            Kind::Vaultrs => "vaultrs",
            Kind::Bao => "openbao",
        }
    }
}

/// A running server; dropping it stops it (SIGTERM first).
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    /// Exec → first `sys/health` 200 (vaultrs and bao).
    pub(crate) healthy_after: Option<Duration>,
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
    pub(crate) fn pid(&self) -> u32 {
        match &self.process {
            Process::Vaultrs(dev) => dev.pid(),
            Process::Other(p) => p.child.id(),
        }
    }

    pub(crate) fn check_alive(&mut self) -> Res<()> {
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

pub(crate) struct Bins {
    pub(crate) vaultrs: PathBuf,
    pub(crate) bao: Option<PathBuf>,
}

pub(crate) fn bao_bin() -> Option<PathBuf> {
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

pub(crate) fn start(kind: Kind, bins: &Bins, durable: bool) -> Res<Server> {
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
