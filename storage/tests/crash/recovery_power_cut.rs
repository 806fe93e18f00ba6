//! A power cut right after the recovery that follows a `kill -9`: what recovery declares
//! durable must really have been flushed (the `syncfs` spy records what was).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

use super::durable::{build_image, checkpoint_seq, recording_hook, Recorder};
use super::support::{copy_dir, diff, leaf_rel, read_state, scratch, State};
use super::syncfs_spy;

/// F1 then F2: a process dies by kill -9 after an acknowledged delete-only batch; the next
/// process recovers (and declares the batch durable in CHECKPOINT); then the power fails.
/// The tree on disk is whatever the last real `syncfs` flushed: the acknowledged deletes
/// must not come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_power_cut_after_recovery_keeps_acknowledged_deletes() {
    let tmp = scratch();
    let live = tmp.path().join("live");
    let spy = syncfs_spy::Spy::watch(&live.join("tree"));
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let options = FileOptions {
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        sync_hook: Some(recording_hook(&rec)),
        ..FileOptions::default()
    };
    let b = FileBackend::open(&live, options.clone()).await.unwrap();
    let put = Batch::new()
        .put("d/k1", b"one".to_vec())
        .put("d/k2", b"two".to_vec())
        .put("e/k3", b"three".to_vec());
    b.commit(put).await.unwrap();
    b.checkpoint().await.unwrap();
    let flushed = spy.images();
    assert!(
        !flushed.is_empty(),
        "no syncfs of the tree seen during a checkpoint after puts: either the checkpoint \
         did not flush the tree, or this binary's syncfs interposition is not in effect"
    );
    let durable_tree = flushed.last().unwrap().clone();
    assert!(durable_tree.contains_key(&leaf_rel("d/k1")));

    // Acknowledged, applied to the tree (page cache), not checkpointed.
    b.commit(Batch::new().delete("d/k1").delete("d/k2"))
        .await
        .unwrap();
    assert_eq!(b.get("d/k1").await.unwrap(), None);
    let durable_log = rec.lock().unwrap().logs.last().unwrap().clone();
    // kill -9 now: the files as the dead process left them (in the page cache)...
    let crashed = tmp.path().join("crashed");
    copy_dir(&live, &crashed);
    b.close().await.unwrap();
    drop(spy);
    // ...while the disk holds the last flushed tree (with d/k1 and d/k2) and the fsynced log.
    assert_eq!(checkpoint_seq(&durable_log.checkpoint), 1);

    // The next process recovers from what it sees: the page cache.
    let spy = syncfs_spy::Spy::watch(&crashed.join("tree"));
    let rec2 = Arc::new(Mutex::new(Recorder::default()));
    let b = FileBackend::open(
        &crashed,
        FileOptions {
            sync_hook: Some(recording_hook(&rec2)),
            ..options
        },
    )
    .await
    .unwrap();
    // Power cut right after recovery. Disk: the last tree image a syncfs flushed (by this
    // process, or else the dead one's), and the log and CHECKPOINT as recovery left them.
    let recovered_log = rec2.lock().unwrap().checkpoints[0].log.clone();
    let flushed = spy.images();
    let tree_on_disk = flushed.last().cloned().unwrap_or(durable_tree);
    b.close().await.unwrap();
    drop(spy);
    let image = tmp.path().join("after-power-cut");
    build_image(&image, &tree_on_disk, &recovered_log);

    let b = FileBackend::open(&image, FileOptions::default())
        .await
        .unwrap();
    let actual = read_state(&b).await;
    let expected: State = [("e/k3".to_string(), b"three".to_vec())].into();
    assert!(
        actual == expected,
        "acknowledged deletes came back after kill -9, recovery, power cut (recovery wrote \
         CHECKPOINT seq {} after {} syncfs of the tree): {}",
        checkpoint_seq(&recovered_log.checkpoint),
        flushed.len(),
        diff(&actual, &expected)
    );
    b.close().await.unwrap();
}
