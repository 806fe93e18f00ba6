//! Starts real `vaultrs server` processes on free loopback ports and stops them on drop;
//! [`proxy`] puts a switchable TCP proxy between two of them.

pub mod proxy;
mod stop;

pub use stop::stop;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The vaultrs binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vaultrs"))
}

/// A running server. Dropping it kills the process.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub addr: String,
    /// The cluster listener, as its log line names it (`https://127.0.0.1:PORT`).
    pub cluster_addr: String,
    /// The root token (dev servers: "root"; config servers: empty until initialized).
    pub token: String,
    /// The storage directory.
    pub data_dir: PathBuf,
    /// A private HOME for the process (the token helper writes there).
    pub home: tempfile::TempDir,
    _dir: Option<tempfile::TempDir>,
    stderr: mpsc::Receiver<String>,
}

impl TestServer {
    /// `vaultrs server -dev` on a free port with root token `root`, data kept in a temp dir
    /// the test can inspect.
    pub fn dev() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        Self::dev_in(&data_dir, Some(dir), &[])
    }

    /// A dev server on `data_dir` with extra flags.
    pub fn dev_in(data_dir: &Path, dir: Option<tempfile::TempDir>, extra: &[&str]) -> Self {
        Self::dev_in_env(data_dir, dir, extra, &[])
    }

    /// [`TestServer::dev`] whose root token id is `root` (to tell clusters' tokens apart).
    pub fn dev_with_root(root: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        Self::dev_command(&data_dir, Some(dir), root, &[], &[])
    }

    /// [`TestServer::dev_in`] with extra environment variables (such as the crash-test
    /// hook `VAULTRS_TEST_PAUSE`).
    pub fn dev_in_env(
        data_dir: &Path,
        dir: Option<tempfile::TempDir>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::dev_command(data_dir, dir, "root", extra, env)
    }

    fn dev_command(
        data_dir: &Path,
        dir: Option<tempfile::TempDir>,
        root: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin());
        cmd.args([
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            &format!("-dev-root-token-id={root}"),
            &format!("-dev-data-dir={}", data_dir.display()),
        ])
        .args(extra)
        .env("HOME", home.path())
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("VAULTRS_TEST_PAUSE")
        .envs(env.iter().copied());
        Self::spawn(cmd, root.into(), data_dir.to_path_buf(), home, dir)
    }

    fn spawn(
        mut cmd: Command,
        token: String,
        data_dir: PathBuf,
        home: tempfile::TempDir,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("start vaultrs");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            addr: String::new(),
            cluster_addr: String::new(),
            token,
            data_dir,
            home,
            _dir: dir,
            stderr: rx,
        };
        server.addr = server.wait_for_banner_addr();
        server
    }

    /// Reads the dev banner's `export VAULT_ADDR='...'` line (the port was 0), and notes
    /// the cluster listener's address logged before it.
    fn wait_for_banner_addr(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(rest) = line.split("cluster listener bound cluster_addr=").nth(1) {
                        self.cluster_addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    }
                    if let Some(rest) = line.split("export VAULT_ADDR='").nth(1) {
                        return rest.trim_end_matches('\'').to_owned();
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("vaultrs exited with {status}: {}", seen.join("\n"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("vaultrs closed stderr: {}", seen.join("\n"))
                }
            }
        }
        panic!("no dev banner within 30 s: {}", seen.join("\n"));
    }

    /// The dev banner's `Unseal Key: ...` value (printed after the address line).
    pub fn dev_unseal_key(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(key) = line.strip_prefix("Unseal Key: ") {
                        return key.trim().to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no \"Unseal Key: \" line in the dev banner");
    }

    /// Waits until the server writes a line containing `needle` to standard error.
    pub fn wait_for_stderr(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no {needle:?} on the server's standard error within {limit:?}");
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself; its exit code.
    pub fn wait_exit(mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                panic!("vaultrs did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A port that was free a moment ago (config files need a fixed port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP client for raw requests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `vaultrs server -config=FILE` whose directory and config outlive a stop, so the same
/// server can be started again on the same data.
pub struct ConfigServer {
    pub addr: String,
    pub data_dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    home: tempfile::TempDir,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl ConfigServer {
    pub fn start(extra_listener: &str) -> Self {
        Self::start_with(extra_listener, "")
    }

    /// [`ConfigServer::start`] with extra top-level configuration lines (`cluster_addr`, a `telemetry` block).
    pub fn start_with(extra_listener: &str, top_level: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let port = free_port();
        let config = dir.path().join("vaultrs.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"file\" {{ path = \"{}\" }}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n  {extra_listener}\n}}\ndisable_mlock = true\n{top_level}\n",
                data_dir.display()
            ),
        )
        .unwrap();
        let mut server = Self {
            addr: format!("http://127.0.0.1:{port}"),
            data_dir,
            config,
            log: dir.path().join("server.log"),
            home: tempfile::tempdir().unwrap(),
            child: None,
            _dir: dir,
        };
        server.restart();
        server
    }

    /// Starts the process (again) with the same config and waits until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(bin())
            .args(["server", &format!("-config={}", self.config.display())])
            .env("HOME", self.home.path())
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start vaultrs");
        self.child = Some(child);
        let addr = self.addr.trim_start_matches("http://").to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                panic!("vaultrs exited with {status}: {}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "vaultrs did not listen on {addr} within 30 s: {}",
            self.log_text()
        );
    }

    /// SIGTERM and wait for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("not running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("vaultrs did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (`kill -9`): the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("not running");
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ConfigServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
