//! The storage crate's integration tests: one binary, one module per concern.

mod barrier;
mod checkpoint;
mod conformance;
mod crash;
mod crash_restore;
mod damaged_checkpoint;
mod feed;
mod log_id;
mod merkle;
mod path_safety;
mod scale;
mod snapshot;
mod spares;
mod stats;
mod wal;
