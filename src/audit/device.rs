//! One enabled audit device: its options, its salt and its writer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::entry::{Entry, Request};
use super::file::{Pending, Target, Writer};
use super::format::{format_line, FormatConfig};
use super::hash::Salt;
use super::rules::{check_mode, FileRules};
use super::AuditError;
use crate::error::{Error, Result};

/// `write_timeout` when the option is not given.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const MIN_WRITE_TIMEOUT: Duration = Duration::from_millis(10);
const MAX_WRITE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest a disable waits for the device's writer to finish (less when `write_timeout`
/// is shorter). A healthy writer drains its queue in milliseconds; one stuck in a
/// blocking `open`/`write` (a FIFO nobody reads) is abandoned then, not waited for.
const MAX_RETIRE_WAIT: Duration = Duration::from_secs(2);

/// An audit device (only the `file` type exists in vaultrs).
///
/// A `file` device (including `stdout`) owns a writer thread. Dropping the device (its
/// last `Arc`) closes the thread's queue: the thread writes what is still wanted and
/// exits. A thread stuck in a blocking `open`/`write` (a FIFO nobody reads) is detached
/// and exits when that call returns. A disabled device is [`Device::retire`]d first, so
/// it has written its last line before its disable is answered.
pub struct Device {
    path: String,
    kind: String,
    options: BTreeMap<String, String>,
    settings: Settings,
    salt: Salt,
    /// `None` for `file_path=discard`: nothing is formatted or written.
    writer: Option<Writer>,
    /// Disabled: every entry is refused with [`AuditError::Retired`].
    retired: std::sync::atomic::AtomicBool,
}

/// The options, parsed.
#[derive(Clone, Debug, PartialEq)]
struct Settings {
    sink: Sink,
    format: FormatConfig,
    skip_test: bool,
    write_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq)]
enum Sink {
    Discard,
    Write(Target),
}

impl Device {
    /// A device mounted at `path` (e.g. `file/`) of type `kind` with the user's `options`
    /// (kept verbatim, unknown ones included) and the device's persisted `salt`.
    ///
    /// Bad options are `InvalidRequest` errors (400) naming the option, and so is anything
    /// `rules` forbid (a prefix, an executable mode, a file of the server). The file is not
    /// opened here: call [`Device::probe`] to check that it can be written.
    pub fn new(
        path: &str,
        kind: &str,
        options: &BTreeMap<String, String>,
        salt: &str,
        rules: &FileRules,
    ) -> Result<Device> {
        match kind {
            "file" => {}
            "socket" | "syslog" => {
                return Err(Error::invalid(format!(
                    "audit device type {kind:?} is not supported by vaultrs; use \"file\""
                )))
            }
            _ => return Err(Error::invalid(format!("unknown backend type: {kind:?}"))),
        }
        let settings = Settings::parse(options, rules)?;
        let writer = match &settings.sink {
            Sink::Discard => None,
            Sink::Write(target) => Some(Writer::spawn(path, target.clone()).map_err(|e| {
                Error::Internal(format!("could not start the audit writer thread: {e}"))
            })?),
        };
        Ok(Device {
            path: path.to_owned(),
            kind: kind.to_owned(),
            options: options.clone(),
            settings,
            salt: Salt::new(salt),
            writer,
            retired: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The mount path, e.g. `file/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The device type (`file`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The options as the user gave them (Vault shows them verbatim in `sys/audit`).
    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.options
    }

    /// `skip_test`: the core does not call [`Device::probe`] on enable.
    pub fn skip_test(&self) -> bool {
        self.settings.skip_test
    }

    /// How long a [`Device::log`] call waits for its line to be written.
    pub fn write_timeout(&self) -> Duration {
        self.settings.write_timeout
    }

    /// `value` hashed with this device's salt (`sys/audit-hash`), whatever `log_raw` says.
    pub fn hash(&self, value: &str) -> String {
        self.salt.hash(value)
    }

    /// Writes Vault's test entry (a `sys/audit/test` update request with a random id,
    /// hashed with a throwaway salt). Failure is a 400 `audit backend failed test message:
    /// <reason>`.
    pub async fn probe(&self) -> Result<()> {
        let Some(writer) = &self.writer else {
            return Ok(());
        };
        let entry = Entry::request(
            Default::default(),
            Request {
                id: crate::util::uuid(),
                operation: "update".into(),
                path: "sys/audit/test".into(),
                ..Request::default()
            },
        );
        let throwaway = Salt::new(&crate::util::uuid());
        let result = match self.format(&entry, &throwaway) {
            Ok(line) => match writer.submit(line, self.settings.write_timeout) {
                Ok(pending) => pending.wait().await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        result.map_err(|e| Error::invalid(format!("audit backend failed test message: {e}")))
    }

    /// Writes `entry` and waits for it to be written, at most `write_timeout`.
    pub async fn log(&self, entry: &Entry) -> Result<(), AuditError> {
        match self.submit(entry)? {
            Some(pending) => pending.wait().await,
            None => Ok(()),
        }
    }

    /// The line for `entry`, handed to the writer; `None` when discarding. Fails at once
    /// when the writer is stuck.
    pub(super) fn submit(&self, entry: &Entry) -> Result<Option<Pending>, AuditError> {
        if self.retired.load(std::sync::atomic::Ordering::Acquire) {
            return Err(AuditError::Retired);
        }
        let Some(writer) = &self.writer else {
            return Ok(None);
        };
        let line = self.format(entry, &self.salt)?;
        writer.submit(line, self.settings.write_timeout).map(Some)
    }

    fn format(&self, entry: &Entry, salt: &Salt) -> Result<Vec<u8>, AuditError> {
        let now = crate::util::rfc3339(SystemTime::now());
        format_line(entry, salt, &self.settings.format, &now)
            .map_err(|e| AuditError::Format(e.to_string()))
    }

    /// Disables the device: refuses every later entry ([`AuditError::Retired`]) and waits
    /// until the writer has written the lines already handed to it and stopped, at most
    /// `write_timeout` or [`MAX_RETIRE_WAIT`] (a writer still stuck then writes nothing
    /// more). Once this returns, the device does not open its file again.
    pub async fn retire(&self) {
        self.retired
            .store(true, std::sync::atomic::Ordering::Release);
        if let Some(writer) = &self.writer {
            let wait = self.settings.write_timeout.min(MAX_RETIRE_WAIT);
            if !writer.retire(wait).await {
                tracing::warn!(
                    device = %self.path,
                    "a disabled audit device's writer is stuck; it will write nothing more"
                );
            }
        }
    }

    /// Closes the file; the next entry reopens (and if need be recreates) it. For SIGHUP
    /// after log rotation.
    pub fn reopen(&self) {
        if let Some(writer) = &self.writer {
            writer.reopen();
        }
    }

    /// Whether the writer is inside an `open`/`write` now.
    #[cfg(test)]
    pub(super) fn writer_busy(&self) -> bool {
        self.writer.as_ref().is_some_and(Writer::busy)
    }

    /// Whether the last write succeeded (`sys/health`). A new device is healthy.
    pub fn healthy(&self) -> bool {
        self.writer.as_ref().is_none_or(Writer::healthy)
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("options", &self.options)
            .field("healthy", &self.healthy())
            .finish_non_exhaustive()
    }
}

impl Settings {
    fn parse(options: &BTreeMap<String, String>, rules: &FileRules) -> Result<Settings> {
        let file_path = options
            .get("file_path")
            .or_else(|| options.get("path"))
            .map(String::as_str)
            .unwrap_or("");
        if file_path.is_empty() {
            return Err(Error::invalid("file_path is required"));
        }
        let mode = match options.get("mode") {
            None => 0o600,
            Some(raw) => parse_mode(raw)?,
        };
        check_mode(mode)?;
        let prefix = options.get("prefix").cloned().unwrap_or_default();
        rules.check_prefix(&prefix)?;
        let sink = if file_path.eq_ignore_ascii_case("discard") {
            Sink::Discard
        } else if file_path.eq_ignore_ascii_case("stdout") {
            Sink::Write(Target::Stdout)
        } else {
            let path = PathBuf::from(file_path);
            rules.check_file(&path)?;
            Sink::Write(Target::File { path, mode })
        };
        match options.get("format").map(String::as_str) {
            None | Some("json") => {}
            Some("jsonx") => {
                return Err(Error::invalid(
                    "format \"jsonx\" is not supported by vaultrs; use \"json\"",
                ))
            }
            Some(other) => return Err(Error::invalid(format!("unknown format type {other:?}"))),
        }
        let write_timeout = match options.get("write_timeout") {
            None => DEFAULT_WRITE_TIMEOUT,
            Some(raw) => crate::logical::parse_duration(raw)
                .filter(|d| (MIN_WRITE_TIMEOUT..=MAX_WRITE_TIMEOUT).contains(d))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "invalid write_timeout {raw:?}: expected a duration from 10ms to 5m"
                    ))
                })?,
        };
        Ok(Settings {
            sink,
            format: FormatConfig {
                raw: parse_bool(options, "log_raw", false)?,
                hmac_accessor: parse_bool(options, "hmac_accessor", true)?,
                elide_list_responses: parse_bool(options, "elide_list_responses", false)?,
                prefix,
            },
            skip_test: parse_bool(options, "skip_test", false)?,
            write_timeout,
        })
    }
}

/// An octal permission string (`0600`, `640`); `0000` leaves the mode alone.
fn parse_mode(raw: &str) -> Result<u32> {
    let bad = || {
        Error::invalid(format!(
            "invalid mode {raw:?}: expected octal permissions like \"0600\""
        ))
    };
    if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    let mode = u32::from_str_radix(raw, 8).map_err(|_| bad())?;
    if mode > 0o7777 {
        return Err(bad());
    }
    Ok(mode)
}

/// Option `name` as Go's `strconv.ParseBool` reads it, or `default` when absent.
fn parse_bool(options: &BTreeMap<String, String>, name: &str, default: bool) -> Result<bool> {
    match options.get(name).map(String::as_str) {
        None => Ok(default),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(Error::invalid(format!(
            "invalid {name} {other:?}: expected true or false"
        ))),
    }
}
