//! Encrypted storage for vaultrs.
//!
//! Layers, bottom up (each knows nothing of the ones above it, and nothing here knows of
//! HTTP, tokens or mounts):
//!
//! - [`key`]: logical keys and their safe, injective mapping onto files.
//! - [`position`]: [`LogId`] and [`Position`] `(log id, seq)`: where a reader stands in a
//!   store's commit log; a wipe or restore starts a new log id.
//! - [`physical`]: the [`Physical`] trait (get, list, atomic batch commit) and its backends:
//!   [`FileBackend`] (a directory tree plus a checksummed, group-committed log; consistent
//!   snapshots while commits go on, crash-safe restore and wipe) and [`InmemBackend`].
//! - [`feed`]: [`ChangeFeed`], a [`Physical`] decorator that publishes every committed batch
//!   `(seq, [(key, Option<ciphertext>)])` in commit order; replication streams it.
//! - [`cache`]: [`CachedPhysical`], a bounded, write-through cache of ciphertext, so reads
//!   of hot keys skip the file system.
//! - [`merkle`]: [`MerkleIndex`], bucketed hashes of (key, ciphertext hash) for a key filter;
//!   replication diffs it when a secondary falls behind the feed.
//! - [`snapshot`]: the snapshot archive format (ciphertext of the whole store as of one
//!   position; streamed, checksummed), and [`snapshot::inspect`].
//! - [`envelope`]: the archive wrapped in a gzipped tar, the shape Vault's raft snapshot
//!   clients expect.
//! - [`shamir`]: split/combine over GF(2^8).
//! - [`stats`]: lock-free histograms of the file backend's own work (commit and fsync
//!   latency, group and batch sizes, checkpoints), for the server to report.
//! - [`barrier`]: [`Barrier`], AES-256-GCM with a keyring of terms, the storage path as AAD;
//!   init/unseal/seal with Shamir shares, rotate, key status. Plaintext lives only above it.
//! - [`testing`]: the one conformance suite every backend must pass.
//!
//! Architecture invariants:
//! - plaintext never crosses below [`Barrier`]: physical backends, the feed, the Merkle
//!   index and snapshots only ever see ciphertext;
//! - a committed batch is all or nothing, also after `kill -9` or a power cut; so is a
//!   restore or wipe of the whole store;
//! - within one log id, sequence numbers never go backwards;
//! - blocking file IO runs on the file backend's own threads (writer, applier,
//!   checkpointer) or `spawn_blocking`, never on an async worker thread;
//! - bad input returns a typed [`Error`], never a panic.

pub mod barrier;
pub mod cache;
pub mod envelope;
pub mod error;
pub mod feed;
pub mod key;
pub mod merkle;
pub mod physical;
pub mod position;
pub mod shamir;
pub mod snapshot;
pub mod stats;
pub mod testing;

pub use barrier::Barrier;
pub use cache::{CacheOptions, CachedPhysical};
pub use error::{Error, Result, ResyncReason};
pub use feed::{ChangeFeed, FeedOptions, Subscription};
pub use merkle::{KeyFilter, MerkleIndex};
pub use physical::file::{FileBackend, FileOptions, SnapshotStream, StagedRestore};
pub use physical::inmem::InmemBackend;
pub use physical::{Batch, Change, Committed, Physical, Seq};
pub use position::{LogId, Position};
pub use snapshot::{Progress, SnapshotHeader, SnapshotInfo};
pub use stats::{FileStats, Histogram, HistogramSnapshot};
