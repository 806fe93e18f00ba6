//! `vaultrs operator snapshot save|restore|inspect`: storage snapshots of a server.
//!
//! - `save FILE` streams `sys/storage/snapshot` into `FILE.tmp`, checking the archive as it
//!   arrives (its header, every entry's checksum, the SHA-256 trailer), and renames it to
//!   `FILE` only once it is complete and on disk: a failed save leaves no file behind.
//! - `restore [-force] FILE` checks `FILE` first (a damaged file is never sent), then
//!   streams it to `sys/storage/snapshot-restore` (`sys/storage/snapshot-force`).
//! - `inspect FILE` checks `FILE` offline and prints its header, size and SHA-256.
//!
//! Files Vault's client saved from the raft path (the archive in a gzipped tar) are read
//! as well. The archive format is the storage crate's: the one reader, not a copy, which
//! is async; the CLI's sources are blocking files and responses, so it is polled to
//! completion in place ([`now`]). Progress (bytes, keys, rate, ETA) is drawn on standard
//! error when it is a terminal, and nothing is drawn otherwise.

use std::fs::{self, File};
use std::future::Future;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use tokio::io::{AsyncRead, ReadBuf};
use vaultrs_storage::envelope::{is_envelope, EnvelopeReader};
use vaultrs_storage::snapshot::SnapshotReader;
use vaultrs_storage::{Progress, SnapshotInfo};

use crate::client::Client;
use crate::output;
use crate::progress::SnapshotBar;
use crate::ui::Ui;
use crate::{ctx, HttpArgs};

/// `vaultrs operator snapshot`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Save a snapshot of the server's whole encrypted storage to FILE (needs sudo on
    /// sys/storage/snapshot). A failed save leaves no file.
    Save(FileArgs),
    /// Replace the server's storage with the snapshot in FILE (needs sudo). The server
    /// serves the restored data at once; a snapshot of another cluster's keys is refused
    /// unless -force is given, and then leaves the server sealed until it is unsealed
    /// with the snapshot's unseal keys.
    Restore(RestoreArgs),
    /// Check the snapshot in FILE without a server and print its header, size and SHA-256.
    Inspect(FileArgs),
}

/// A snapshot file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The snapshot file.
    pub file: PathBuf,
}

/// Flags of `vaultrs operator snapshot restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Restore even if the snapshot's keys are not this server's (another cluster's).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The snapshot file.
    pub file: PathBuf,
}

pub fn run(cmd: SnapshotCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    match cmd {
        SnapshotCommand::Save(a) => {
            let client = Client::new(http, &ui.env)?;
            save(&client, ui, &a.file).map_err(|e| {
                ctx(
                    e,
                    format!("Error saving the snapshot to {}", a.file.display()),
                )
            })?;
            Ok(0)
        }
        SnapshotCommand::Restore(a) => {
            let client = Client::new(http, &ui.env)?;
            restore(&client, ui, &a.file, a.force)
        }
        SnapshotCommand::Inspect(a) => inspect(ui, &a.file),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading archives from blocking sources

/// A blocking [`Read`] as an [`AsyncRead`] that is always ready.
struct Blocking<R>(R);

impl<R: Read + Unpin> AsyncRead for Blocking<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.0.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Runs a future whose only waits are reads of a [`Blocking`] source: each read blocks
/// and is ready, so the future completes without a runtime (a tokio runtime here would
/// clash with the blocking HTTP client's own).
fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Reads a whole archive from `src` and verifies it, reporting progress as it goes.
fn scan(src: impl Read + Unpin, mut progress: impl FnMut(Progress)) -> Result<SnapshotInfo> {
    let info = now(async {
        let mut reader = SnapshotReader::open(Blocking(src)).await?;
        progress(reader.progress());
        while reader.next_entry().await?.is_some() {
            progress(reader.progress());
        }
        Ok::<_, vaultrs_storage::Error>(reader.info().cloned())
    })?;
    info.context("the snapshot has no trailer")
}

/// The archive in `src`: as is, or out of Vault's raft envelope (a gzipped tar).
fn archive_reader(mut src: impl Read + 'static) -> io::Result<Box<dyn Read>> {
    let mut prefix = [0u8; 2];
    let mut got = 0;
    while got < prefix.len() {
        match src.read(&mut prefix[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let whole = io::Cursor::new(prefix[..got].to_vec()).chain(src);
    Ok(if is_envelope(&prefix[..got]) {
        Box::new(EnvelopeReader::new(whole))
    } else {
        Box::new(whole)
    })
}

/// Checks the snapshot file at `file`, with a progress bar.
fn check_file(ui: &Ui, file: &Path, what: &str) -> Result<(SnapshotInfo, u64)> {
    let f = File::open(file).with_context(|| format!("Error opening {}", file.display()))?;
    let size = f.metadata()?.len();
    let bar = SnapshotBar::keys(ui, what);
    let info = scan(archive_reader(f)?, |p| bar.update(p))
        .with_context(|| format!("{} is not a valid snapshot", file.display()))?;
    bar.finish();
    Ok((info, size))
}

// ---------------------------------------------------------------------------------------------
// inspect

fn inspect(ui: &mut Ui, file: &Path) -> Result<u8> {
    let (info, size) = check_file(ui, file, "Checking")?;
    let data = json!({
        "version": info.header.version,
        "log_id": info.header.log_id.to_string(),
        "seq": info.header.seq,
        "keys": info.header.keys,
        "size": size,
        "sha256": hex(&info.sha256),
    });
    output::output_data(ui, &data)?;
    Ok(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// save

/// Copies what it reads from `src` into `out`.
struct Tee<R, W> {
    src: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// `FILE.tmp`, beside `FILE`.
fn tmp_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Saves a snapshot of the server to `file` (see the module docs); the wipe guard uses it
/// too. Nothing is left at `file` or `FILE.tmp` when it fails.
pub fn save(client: &Client, ui: &Ui, file: &Path) -> Result<SnapshotInfo> {
    let tmp = tmp_path(file);
    let result = save_via(client, ui, file, &tmp);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn save_via(client: &Client, ui: &Ui, file: &Path, tmp: &Path) -> Result<SnapshotInfo> {
    let response = client.get_stream("sys/storage/snapshot")?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let out = options
        .open(tmp)
        .with_context(|| format!("Error creating {}", tmp.display()))?;
    let mut tee = Tee {
        src: response,
        out: BufWriter::with_capacity(1 << 20, out),
    };
    let bar = SnapshotBar::keys(ui, "Saving");
    let info = scan(&mut tee, |p| bar.update(p))
        .context("the server's snapshot stream was cut short or damaged")?;
    let out = tee.out.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()?;
    drop(out);
    fs::rename(tmp, file).with_context(|| format!("Error renaming to {}", file.display()))?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    bar.finish();
    Ok(info)
}

/// The wipe guard's default file name: `vaultrs-snapshot-<UTC date and time>.snap`.
pub fn default_file_name() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]-[hour][minute][second]");
    let stamp = time::OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_else(|_| "now".into());
    format!("vaultrs-snapshot-{stamp}.snap")
}

// ---------------------------------------------------------------------------------------------
// restore

/// Counts what is read through it on a progress bar.
struct Counted<R> {
    src: R,
    bar: SnapshotBar,
    done: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read(buf)?;
        self.done += n as u64;
        self.bar.bytes_done(self.done);
        Ok(n)
    }
}

fn restore(client: &Client, ui: &mut Ui, file: &Path, force: bool) -> Result<u8> {
    let (info, size) = check_file(ui, file, "Checking")?;
    let f = File::open(file).with_context(|| format!("Error opening {}", file.display()))?;
    let bar = SnapshotBar::bytes(ui, "Uploading", size, info.header.keys);
    let body = Counted {
        src: f,
        bar: bar.clone(),
        done: 0,
    };
    let path = if force {
        "sys/storage/snapshot-force"
    } else {
        "sys/storage/snapshot-restore"
    };
    let resp = client
        .post_stream(path, reqwest::blocking::Body::sized(body, size))
        .map_err(|e| ctx(e, "Error installing the snapshot"))?;
    bar.finish();
    client
        .check(&resp)
        .map_err(|e| ctx(e.into(), "Error installing the snapshot"))?;
    if force {
        let status = client.get_json("sys/seal-status").unwrap_or_default();
        if status.get("sealed").and_then(|s| s.as_bool()) == Some(true) {
            ui.error(output::wrap_at_length(
                "The snapshot was restored and the server is sealed: its keys are another \
                 cluster's. Unseal it with the snapshot's unseal keys.",
                0,
            ));
        }
    }
    Ok(0)
}
