//! What the benchmarks share (included by `tests/bench_server.rs` and
//! `tests/bench_timing.rs` with `#[path]`): finding, and if need be building, the release
//! server binary; reading a child's output; searching bytes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

pub type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

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
