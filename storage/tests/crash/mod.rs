//! Crash tests for the file backend (RELIABILITY.md F1, F2, F3, G1): `kill -9` of a writer
//! process, a torn or damaged log, simulated power cuts, a power cut right after recovery,
//! a batch whose apply failed.
//!
//! Scratch directories live on `/dev/shm` when it exists: the backend's `syncfs` flushes the
//! whole filesystem, which on a disk shared with builds can take seconds per call. (A power
//! cut is simulated by the images, so nothing here depends on the filesystem's own crash
//! behaviour.) Set `VAULTRS_CRASH_SEED` to replay a run; the seed is printed on failure.

pub(crate) mod support;

mod durable;
mod syncfs_spy;

mod failed_apply;
mod kill9;
mod power_cut;
mod recovery_power_cut;
mod torn_log;
