//! Audit devices: every request and response, as one JSON line per enabled device, with
//! secrets HMAC'd (Vault's `audit/`, `builtin/audit/file`, `vault/audit_broker.go`).
//!
//! * [`entry`]: the plaintext record the core builds ([`Entry`], [`Auth`], [`Request`],
//!   [`Response`]).
//! * `format`: one device's JSON line of an entry: Vault's shape, HMAC rules
//!   (`hash`: salt and `hmac-sha256:`), list elision.
//! * [`Device`]: options, salt, probe, and a `file` writer (`file`: a dedicated thread per
//!   device with write timeouts, stale-line dropping and reopen on deletion/rotation).
//! * [`Broker`]: the enabled devices; an entry succeeds if any device wrote it.
//! * [`FileRules`]: what a `file` device may write (no prefix unless allowed, no
//!   executable modes, modes only narrowed, never a file of the server itself).
//!
//! **Architecture Invariant:** a request never waits on an audit device longer than the
//! device's `write_timeout`, and never blocks a runtime thread: file IO happens only on
//! the devices' own threads.
//!
//! **Architecture Invariant:** plaintext tokens and data reach a file only with
//! `log_raw=true`; the entry types cannot serialize their secret fields on their own.

mod broker;
mod device;
pub mod entry;
mod file;
mod format;
mod hash;
mod rules;

use std::time::Duration;

pub use broker::{Broker, DeviceSet};
pub use device::{Device, DEFAULT_WRITE_TIMEOUT};
pub use entry::{
    Auth, Entry, EntryKind, Namespace, PolicyInfo, PolicyResults, Request, Response, Secret,
    WrapInfo,
};
pub use hash::HASH_PREFIX;
pub use rules::FileRules;

/// Why an entry was not logged. Messages never contain entry content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The line was not written within the device's `write_timeout`.
    #[error("audit device did not write within {0:?}")]
    Timeout(Duration),
    /// The device's writer has been stuck longer than its timeout, or its queue is full.
    #[error("audit device is blocked by an earlier write")]
    Blocked,
    /// The device's writer thread is gone.
    #[error("audit device writer stopped")]
    Stopped,
    /// The device was disabled: it writes nothing more (the broker skips it).
    #[error("audit device was disabled")]
    Retired,
    /// Opening or writing the file failed.
    #[error("audit device could not {step} its file: {message}")]
    Io { step: &'static str, message: String },
    /// The entry could not be serialized.
    #[error("could not format the audit entry: {0}")]
    Format(String),
    /// Devices are enabled and none logged the entry (`"request"` or `"response"`).
    #[error("no audit backend succeeded in logging the {0}")]
    NoneSucceeded(&'static str),
}

impl AuditError {
    fn io(step: &'static str, err: &std::io::Error) -> Self {
        AuditError::Io {
            step,
            message: err.to_string(),
        }
    }
}

/// For the core: an entry that could not be logged fails the request with a 500
/// ("internal error"; the detail is logged by the HTTP layer).
impl From<AuditError> for crate::Error {
    fn from(err: AuditError) -> Self {
        crate::Error::Internal(err.to_string())
    }
}

#[cfg(test)]
mod tests;
