//! Helpers shared by the crash tests (and by `crash_restore`, `wal`, `damaged_checkpoint`):
//! scratch directories, seeds, directory images, logical states and their differences, and
//! this test binary re-executed as a child process to be killed.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;
use vaultrs_storage::{Batch, FileBackend, Physical};

/// Logical state: key → value.
pub(crate) type State = BTreeMap<String, Vec<u8>>;

/// A directory image: relative path → file bytes, or `None` for a folder.
pub(super) type Snapshot = BTreeMap<PathBuf, Option<Vec<u8>>>;

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

pub(super) fn seed(test: &str) -> u64 {
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
pub(super) fn snapshot_racy(root: &Path) -> Snapshot {
    snapshot_walk(root, true).unwrap_or_else(|e| panic!("snapshot of {}: {e}", root.display()))
}

pub(super) fn snapshot_walk(root: &Path, skip_vanished: bool) -> std::io::Result<Snapshot> {
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
pub(super) fn restore(snap: &Snapshot, dest: &Path) {
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
pub(super) fn leaf_rel(key: &str) -> PathBuf {
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

pub(super) fn apply(state: &mut State, batch: &Batch) {
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

pub(super) fn show(v: Option<&Vec<u8>>) -> String {
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

pub(super) fn assert_clean(dir: &Path, keys: &[String], what: &str) {
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

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn emit(line: &str) {
    // Straight to the process's stdout (not the test harness's capture), one write per line.
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes()).unwrap();
    out.flush().unwrap();
}

/// This test binary re-executed to run one ignored test alone (the process a test kills),
/// its stdout collected line by line.
pub(crate) struct ChildTest {
    child: Child,
    rx: mpsc::Receiver<String>,
    reader: JoinHandle<()>,
    /// The lines it printed so far.
    pub(crate) lines: Vec<String>,
}

impl ChildTest {
    /// Starts the ignored test `test` (its full path, e.g. `crash::kill9::child`) with
    /// `envs`; stderr goes to this process's.
    pub(crate) fn spawn(test: &str, envs: &[(&str, &OsStr)]) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--ignored",
                "--exact",
                test,
                "--nocapture",
                "--test-threads=1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("starting the child");
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
        Self {
            child,
            rx,
            reader,
            lines: Vec::new(),
        }
    }

    /// Collects lines until `done(lines)` holds, `deadline` passes or the child closes its
    /// stdout.
    pub(crate) fn wait_until(&mut self, deadline: Instant, done: impl Fn(&[String]) -> bool) {
        while !done(&self.lines) && Instant::now() < deadline {
            match self.rx.recv_timeout(Duration::from_millis(5)) {
                Ok(line) => self.lines.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// Sends SIGKILL.
    pub(crate) fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill()
    }

    /// Waits for the child to end; its exit status and every line it printed.
    pub(crate) fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        self.lines.extend(self.rx.try_iter());
        (status, self.lines)
    }
}
