//! What the backend made durable: a sync hook recording the log and tree images at its
//! durability points, data directories rebuilt from them, and the check of such an image.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use vaultrs_storage::physical::file::{SyncHook, SyncPoint};
use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

use super::support::{
    apply, assert_clean, diff, read_state, restore, snapshot_racy, Snapshot, State,
};
use super::syncfs_spy;

pub(super) fn checkpoint_seq(bytes: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(bytes).expect("CHECKPOINT is JSON");
    v["seq"].as_u64().expect("CHECKPOINT has a seq")
}

/// What the log made durable at a `SyncPoint::Log`.
#[derive(Clone)]
pub(super) struct LogImage {
    pub(super) wal: Snapshot,
    pub(super) checkpoint: Vec<u8>,
}

/// What a checkpoint made durable.
pub(super) struct CheckpointImage {
    /// How many `Log` points came before it. Checkpoints run beside commits, so it may
    /// cover fewer batches than that: `seq` says how many.
    pub(super) logs_before: usize,
    /// The sequence it recorded in CHECKPOINT.
    pub(super) seq: u64,
    /// The tree when the hook ran. Exact only while nothing commits (the checkpoint made
    /// by `open`, or an explicit one of a sequential writer); else the applier may be
    /// writing later batches meanwhile.
    pub(super) tree: Snapshot,
    /// How many `syncfs` of the tree the spy (if any) had seen by then.
    pub(super) syncs: usize,
    pub(super) log: LogImage,
}

#[derive(Default)]
pub(super) struct Recorder {
    pub(super) logs: Vec<LogImage>,
    pub(super) checkpoints: Vec<CheckpointImage>,
}

/// The log and CHECKPOINT as a power cut now could leave them. The checkpointer may be
/// dropping segments meanwhile, which it only does once a CHECKPOINT covering them is
/// durable: reading the segments first and CHECKPOINT second yields a real durable state.
fn log_image(dir: &Path) -> LogImage {
    let wal = snapshot_racy(&dir.join("wal"));
    LogImage {
        wal,
        checkpoint: fs::read(dir.join("CHECKPOINT")).unwrap_or_default(),
    }
}

/// A sync hook recording the durable images: the log at each `Log` point (on the writer
/// thread, which is then idle), the tree and the log at each `Checkpoint` (on the
/// checkpointer thread, while commits may go on).
pub(super) fn recording_hook(rec: &Arc<Mutex<Recorder>>) -> SyncHook {
    recording_hook_with_spy(rec, None)
}

pub(super) fn recording_hook_with_spy(
    rec: &Arc<Mutex<Recorder>>,
    spy: Option<&syncfs_spy::Spy>,
) -> SyncHook {
    let rec = rec.clone();
    let syncs = spy.map(syncfs_spy::Spy::images_handle);
    Arc::new(move |point: SyncPoint, dir: &Path| {
        let mut r = rec.lock().unwrap_or_else(|p| p.into_inner());
        match point {
            SyncPoint::Log => {
                let image = log_image(dir);
                r.logs.push(image);
            }
            SyncPoint::TreeSync | SyncPoint::Replace(_) => {}
            SyncPoint::Checkpoint => {
                let log = log_image(dir);
                let image = CheckpointImage {
                    logs_before: r.logs.len(),
                    seq: checkpoint_seq(&log.checkpoint),
                    tree: snapshot_racy(&dir.join("tree")),
                    log,
                    syncs: syncs
                        .as_ref()
                        .map_or(0, |s| s.lock().unwrap_or_else(|p| p.into_inner()).len()),
                };
                r.checkpoints.push(image);
            }
        }
    })
}

/// Builds a data directory from a durable tree image and a durable log image.
pub(super) fn build_image(dest: &Path, tree: &Snapshot, log: &LogImage) {
    restore(tree, &dest.join("tree"));
    restore(&log.wal, &dest.join("wal"));
    fs::write(dest.join("CHECKPOINT"), &log.checkpoint).unwrap();
}

pub(super) fn last_segment(wal: &Snapshot) -> PathBuf {
    wal.iter()
        .filter(|(p, v)| v.is_some() && p.to_string_lossy().ends_with(".log"))
        .map(|(p, _)| p.clone())
        .max()
        .expect("a log segment")
}

/// `(start, end, seq)` of every record in a segment (format in `physical::wal`).
pub(super) fn record_bounds(segment: &[u8]) -> Vec<(usize, usize, u64)> {
    assert_eq!(&segment[..8], b"VRSWAL01", "segment magic");
    let mut out = Vec::new();
    let mut pos = 8;
    while pos < segment.len() {
        let len = u32::from_le_bytes(segment[pos..pos + 4].try_into().unwrap()) as usize;
        let seq = u64::from_le_bytes(segment[pos + 8..pos + 16].try_into().unwrap());
        let end = pos + 16 + len;
        assert!(end <= segment.len(), "record past the end of the segment");
        out.push((pos, end, seq));
        pos = end;
    }
    out
}

/// Opens `image`, checks it serves exactly `expected` at `seq`, optionally commits one more
/// batch and checks it survives a reopen.
pub(super) async fn check_image(
    image: &Path,
    expected: &State,
    seq: u64,
    then_commit: bool,
    what: &str,
) {
    let b = FileBackend::open(image, FileOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{what}: open failed: {e}"));
    let actual = read_state(&b).await;
    assert!(actual == *expected, "{what}: {}", diff(&actual, expected));
    assert_eq!(b.last_seq(), seq, "{what}: last_seq");
    let keys: Vec<String> = actual.keys().cloned().collect();
    assert_clean(image, &keys, what);
    if then_commit {
        let batch = Batch::new()
            .put("t/after", b"after".to_vec())
            .delete("t/shared/s0");
        assert_eq!(
            b.commit(batch.clone()).await.unwrap(),
            seq + 1,
            "{what}: next seq"
        );
        b.close().await.unwrap();
        let mut next = expected.clone();
        apply(&mut next, &batch);
        let b = FileBackend::open(image, FileOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: reopen after a further commit failed: {e}"));
        let actual = read_state(&b).await;
        assert!(
            actual == next,
            "{what}: after a further commit and reopen: {}",
            diff(&actual, &next)
        );
        assert_eq!(b.last_seq(), seq + 1, "{what}: last_seq after reopen");
        b.close().await.unwrap();
    } else {
        b.close().await.unwrap();
    }
}
