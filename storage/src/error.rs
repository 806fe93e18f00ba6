//! The storage crate's one error type, grouped by what the caller does next.
//!
//! Variants never carry secret material: keys (storage paths) are not secret, values and
//! key shares never appear in a message.

use std::io;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong below the server core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A logical key (or list prefix) that cannot be stored safely: traversal segments,
    /// empty segments, control characters, over-long names.
    #[error("invalid storage key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    /// The barrier is sealed: no key material is in memory.
    #[error("Vault is sealed")]
    Sealed,
    /// No seal configuration exists yet.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// `init` on a barrier that already has a seal configuration.
    #[error("Vault is already initialized")]
    AlreadyInitialized,
    /// The combined unseal shares do not open the root key (Vault's wording).
    #[error("invalid key")]
    InvalidUnsealKey,
    /// The same unseal share was submitted twice in one attempt.
    #[error("given key has already been provided during this unseal operation")]
    DuplicateShare,
    /// A malformed share, shares/threshold out of bounds, and similar caller mistakes.
    #[error("{0}")]
    InvalidRequest(String),

    /// A stored value failed authentication (tampered, truncated, or moved to another path).
    #[error("integrity check failed for {key:?}")]
    Integrity { key: String },
    /// A value was written under a keyring term this barrier does not hold.
    #[error("no decryption key available for term {term} (key {key:?})")]
    UnknownTerm { key: String, term: u32 },
    /// A persisted structure could not be decoded (bad version, bad JSON, damaged log).
    #[error("corrupt {what}: {reason}")]
    Corrupt { what: String, reason: String },

    /// A reader's log position cannot be resumed from: resynchronise (a Merkle diff, or a
    /// full copy) and start again from the current position.
    #[error("cannot resume from that log position, resynchronise: {reason}")]
    Resync { reason: ResyncReason },
    /// A live subscriber fell too far behind and was dropped.
    #[error("change feed subscriber lagged behind and was dropped")]
    Lagged,

    /// A replicated key written on a follower (a replication secondary), where only the
    /// applier writes replicated keys.
    #[error("{0} is replicated: a follower does not write it")]
    Follower(String),

    /// The commit log hit an IO error during a commit; the backend refuses writes until it
    /// is reopened, because it can no longer tell what reached the disk.
    #[error("storage is unavailable after an earlier write failure; reopen it")]
    Poisoned,
    /// Filesystem failure.
    #[error("storage IO error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

/// Why a log position cannot be resumed from (see [`Error::Resync`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResyncReason {
    /// The position belongs to another log: the store was wiped or restored since (or the
    /// position comes from another store).
    #[error("the position is in log {asked}, the store now holds log {current}")]
    OtherLog {
        asked: crate::LogId,
        current: crate::LogId,
    },
    /// The log no longer keeps the batches after that sequence.
    #[error("sequence {requested} is no longer in the change log (oldest kept: {oldest})")]
    TooOld { requested: u64, oldest: u64 },
    /// The position is past the end of the log.
    #[error("sequence {requested} is past the end of the change log (last: {last})")]
    Ahead { requested: u64, last: u64 },
    /// The log was reset (wiped or restored) while this reader followed it.
    #[error("the change log was reset (the store was wiped or restored)")]
    LogReset,
}

impl Error {
    pub(crate) fn resync(reason: ResyncReason) -> Self {
        Error::Resync { reason }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
