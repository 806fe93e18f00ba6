//! What the benchmarks share (included by each `tests/bench_*.rs` with `#[path]`, which
//! allows what one of them leaves unused): finding, and if need be building, the release
//! server binary; reading a child's output; searching bytes; a dev server (durable or not)
//! and a blocking HTTP/1.1 client for it; a process's resident memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

pub type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[path = "harness/stop.rs"]
mod stop;
pub use stop::stop;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else if path.extension().is_some_and(|e| e == "rs") {
            entry.metadata().and_then(|m| m.modified()).ok()
        } else {
            None
        };
        if t > newest {
            newest = t;
        }
    }
    newest
}

/// `target/release/vaultrs`, built with cargo if it is missing.
pub fn vaultrs_bin() -> Res<PathBuf> {
    if let Some(bin) = std::env::var_os("VAULTRS_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let root = manifest_dir();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release").join("vaultrs");
    if !bin.exists() {
        eprintln!(
            "{} is missing: building it with `cargo build --release --bin vaultrs`",
            bin.display()
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "vaultrs"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("running cargo: {e}"))?;
        if !status.success() || !bin.exists() {
            return Err(format!(
                "could not build {}: run `cargo build --release --bin vaultrs` in {} first \
                 (or set VAULTRS_BIN)",
                bin.display(),
                root.display()
            )
            .into());
        }
    }
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let sources = [root.join("src"), root.join("storage").join("src")]
        .iter()
        .filter_map(|d| newest_mtime(d))
        .max();
    if let (Some(built), Some(sources)) = (built, sources) {
        if sources > built {
            eprintln!(
                "warning: {} is older than the sources; run `cargo build --release --bin \
                 vaultrs` to measure the current code",
                bin.display()
            );
        }
    }
    Ok(bin)
}

/// Drains a child's pipe into a channel, line by line, until it closes.
pub fn drain_lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

pub fn wait_line(
    rx: &mpsc::Receiver<String>,
    child: &mut Child,
    what: &str,
    mut pick: impl FnMut(&str) -> Option<String>,
) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                if let Some(v) = pick(&line) {
                    return Ok(v);
                }
                seen.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait()? {
                    return Err(format!("{what}: exited with {status}: {}", seen.join("\n")).into());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: output closed: {}", seen.join("\n")).into());
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("{what}: no answer within 60 s: {}", seen.join("\n")).into())
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What the benches' HTTP/1.1 clients need of a response head (the bytes up to and
/// including the blank line).
pub struct Head {
    pub status: u16,
    /// `Content-Length`, if given.
    pub length: Option<usize>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl Head {
    pub fn parse(head: &[u8]) -> Res<Self> {
        let head = std::str::from_utf8(head)?;
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
        Ok(Self {
            status,
            length,
            chunked,
        })
    }
}

/// Resident memory of process `pid`, in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

// ---- a dev server -------------------------------------------------------------------------

/// A running `vaultrs server -dev` (root token `root`): the one way the benches start one.
/// Dropping it stops it with [`stop`] (SIGTERM first, so the server removes its temporary
/// directories).
pub struct DevServer {
    child: Child,
    pub addr: SocketAddr,
    /// The address as the banner's `VAULT_ADDR` line gives it (`http://...`).
    url: String,
    /// The `-dev-data-dir` of a durable server.
    data_dir: Option<PathBuf>,
    /// Spawn → first `sys/health` 200.
    healthy_after: Duration,
    lines: mpsc::Receiver<String>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

impl DevServer {
    /// `vaultrs server -dev` on port 0 (the address comes from the banner's `VAULT_ADDR`
    /// line), with a temporary HOME and a durable data directory.
    pub fn start(bin: &Path) -> Res<Self> {
        Self::start_with(bin, true)
    }

    /// As [`DevServer::start`]. `durable`: keep the data in a `-dev-data-dir`, so every
    /// write is fsynced before the answer; otherwise a plain `server -dev`, as a developer
    /// starts it, whose temporary directory is not fsynced.
    pub fn start_with(bin: &Path, durable: bool) -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let home = tempfile::tempdir()?;
        let data_dir = durable.then(|| dir.path().join("data"));
        let mut cmd = Command::new(bin);
        cmd.args([
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
            "-dev-no-store-token",
        ]);
        if let Some(data_dir) = &data_dir {
            cmd.arg(format!("-dev-data-dir={}", data_dir.display()));
        }
        cmd.env("HOME", home.path())
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawned = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let lines = drain_lines(child.stderr.take().ok_or("no stderr")?);
        let url = wait_line(&lines, &mut child, "vaultrs", |line| {
            line.split("export VAULT_ADDR='")
                .nth(1)
                .map(|rest| rest.trim_end_matches('\'').to_owned())
        })?;
        let addr: SocketAddr = url.trim_start_matches("http://").parse()?;
        let mut server = DevServer {
            child,
            addr,
            url,
            data_dir,
            healthy_after: Duration::ZERO,
            lines,
            _dirs: vec![dir, home],
        };
        server.healthy_after = server.wait_healthy(spawned)?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The data directory of a durable server (`None` for `start_with(_, false)`).
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// Spawn → first `sys/health` 200: the startup time.
    pub fn healthy_after(&self) -> Duration {
        self.healthy_after
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn check_alive(&mut self) -> Res<()> {
        if let Some(status) = self.child.try_wait()? {
            let out: Vec<String> = self.lines.try_iter().collect();
            return Err(format!("server exited with {status}:\n{}", out.join("\n")).into());
        }
        Ok(())
    }

    /// Polls `GET /v1/sys/health` until it answers 200; the time since `spawned`.
    fn wait_healthy(&mut self, spawned: Instant) -> Res<Duration> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(200) = health_status(self.addr) {
                return Ok(spawned.elapsed());
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!("{} not healthy within 60 s", self.addr).into());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// One `GET /v1/sys/health` on a fresh connection; the status code.
pub fn health_status(addr: SocketAddr) -> Res<u16> {
    let mut client = Client::connect(addr)?;
    Ok(client.request("GET", "/v1/sys/health", None, None)?.0)
}

// ---- a blocking client --------------------------------------------------------------------

/// A blocking keep-alive HTTP/1.1 connection, one request at a time. The last answer's
/// body (de-chunked) stays in `body` until the next request.
pub struct Client {
    addr: SocketAddr,
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
    pub body: Vec<u8>,
    /// Times the connection was lost and opened again.
    pub reconnects: u64,
}

/// Where a chunked body starting at `pos` ends (after the last chunk's CRLF), if it is
/// complete; its data replaces the content of `out`, when given.
pub fn dechunk(buf: &[u8], mut pos: usize, mut out: Option<&mut Vec<u8>>) -> Res<Option<usize>> {
    if let Some(out) = out.as_deref_mut() {
        out.clear();
    }
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
        if let Some(out) = out.as_deref_mut() {
            out.extend_from_slice(&buf[pos..pos + size]);
        }
        pos += size + 2;
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Res<Self> {
        Ok(Self {
            addr,
            stream: Self::open(addr)?,
            buf: Vec::with_capacity(16 * 1024),
            body: Vec::with_capacity(4 * 1024),
            reconnects: 0,
        })
    }

    fn open(addr: SocketAddr) -> Res<TcpStream> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(stream)
    }

    fn fill(&mut self) -> Res<()> {
        let mut chunk = [0u8; 8 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err("server closed the connection".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Sends one request and reads its whole answer; the status code (body in `body`).
    pub fn round_trip(&mut self, request: &[u8]) -> Res<u16> {
        self.stream.write_all(request)?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill()?;
        };
        let Head {
            status,
            length,
            chunked,
        } = Head::parse(&self.buf[..head_end])?;
        let end = if chunked {
            loop {
                if let Some(end) = dechunk(&self.buf, head_end, Some(&mut self.body))? {
                    break end;
                }
                self.fill()?;
            }
        } else if let Some(len) = length {
            while self.buf.len() < head_end + len {
                self.fill()?;
            }
            self.body.clear();
            self.body
                .extend_from_slice(&self.buf[head_end..head_end + len]);
            head_end + len
        } else if status == 204 || status == 304 || status < 200 {
            self.body.clear();
            head_end
        } else {
            return Err(format!("answer {status} without a length").into());
        };
        self.buf.drain(..end);
        Ok(status)
    }

    /// [`Client::round_trip`], timed; a lost connection is opened again and the request
    /// sent again (and timed anew).
    pub fn timed_round_trip(&mut self, request: &[u8]) -> Res<(u16, Duration)> {
        let t0 = Instant::now();
        match self.round_trip(request) {
            Ok(status) => Ok((status, t0.elapsed())),
            Err(_) => {
                self.stream = Self::open(self.addr)?;
                self.buf.clear();
                self.reconnects += 1;
                let t0 = Instant::now();
                let status = self.round_trip(request)?;
                Ok((status, t0.elapsed()))
            }
        }
    }

    /// A one-off request for the set-up; the status and the body.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Res<(u16, Vec<u8>)> {
        let mut req = Vec::with_capacity(256);
        write!(req, "{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr)?;
        if let Some(token) = token {
            write!(req, "X-Vault-Token: {token}\r\n")?;
        }
        match body {
            Some(body) => write!(
                req,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )?,
            None => write!(req, "\r\n")?,
        }
        let (status, _) = self.timed_round_trip(&req)?;
        Ok((status, self.body.clone()))
    }
}
