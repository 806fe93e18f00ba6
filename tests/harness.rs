//! Starts real `vaultrs server` processes on free loopback ports and stops them on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin());
        cmd.args([
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
            &format!("-dev-data-dir={}", data_dir.display()),
        ])
        .args(extra)
        .env("HOME", home.path())
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN");
        Self::spawn(cmd, "root".into(), data_dir.to_path_buf(), home, dir)
    }

    /// `vaultrs server -config=FILE` with file storage in a temp dir and a TCP listener on
    /// a free port (no TLS). `extra_listener` is added inside the listener block.
    pub fn with_config(extra_listener: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let port = free_port();
        let config = dir.path().join("vaultrs.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"file\" {{ path = \"{}\" }}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n  {extra_listener}\n}}\ndisable_mlock = true\n",
                data_dir.display()
            ),
        )
        .unwrap();
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(["server", &format!("-config={}", config.display())])
            .env("HOME", home.path());
        let mut server = Self::spawn(cmd, String::new(), data_dir, home, Some(dir));
        server.addr = format!("http://127.0.0.1:{port}");
        server.wait_healthy();
        server
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
            token,
            data_dir,
            home,
            _dir: dir,
            stderr: rx,
        };
        if server.token == "root" {
            server.addr = server.wait_for_banner_addr();
        }
        server
    }

    /// Reads the dev banner's `export VAULT_ADDR='...'` line (the port was 0).
    fn wait_for_banner_addr(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
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

    /// Polls `sys/health` (any status) until the listener answers.
    pub fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = self.addr.trim_start_matches("http://").to_owned();
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let lines: Vec<String> = self.stderr.try_iter().collect();
                panic!("vaultrs exited with {status}: {}", lines.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("vaultrs did not listen on {addr} within 30 s");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
