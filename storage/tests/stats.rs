//! The file backend's own figures ([`vaultrs_storage::FileStats`]) move with its work:
//! each commit, its batch size, the group commits and their fsyncs, each checkpoint.

use std::time::Duration;

use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

fn options(durable: bool) -> FileOptions {
    FileOptions {
        durable,
        // No checkpoint falls due by itself while the test runs.
        checkpoint_interval: Duration::from_secs(3600),
        ..FileOptions::default()
    }
}

fn batch(changes: usize, round: usize) -> Batch {
    (0..changes).fold(Batch::new(), |b, i| {
        b.put(format!("k{round}/{i}"), vec![b'v'; 8])
    })
}

#[tokio::test]
async fn commits_batches_fsyncs_and_checkpoints_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileBackend::open(dir.path(), options(true)).await.unwrap();
    let stats = file.stats();
    let checkpoints_before = stats.checkpoint.snapshot().count;
    for (round, changes) in [1, 3, 5].into_iter().enumerate() {
        file.commit(batch(changes, round)).await.unwrap();
    }
    let commit = stats.commit.snapshot();
    assert_eq!(commit.count, 3);
    assert!(commit.min.unwrap() <= commit.max.unwrap());
    let sizes = stats.batch_changes.snapshot();
    assert_eq!((sizes.count, sizes.sum), (3, 9));
    // Sequential commits: one group each, each fsynced once.
    let groups = stats.group_batches.snapshot();
    assert_eq!((groups.count, groups.sum), (3, 3));
    assert_eq!(stats.log_sync.snapshot().count, 3);

    file.checkpoint().await.unwrap();
    assert_eq!(stats.checkpoint.snapshot().count, checkpoints_before + 1);
    assert_eq!(
        stats
            .checkpoint_failures
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    file.close().await.unwrap();
}

#[tokio::test]
async fn a_backend_that_does_not_fsync_records_no_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileBackend::open(dir.path(), options(false)).await.unwrap();
    file.commit(batch(2, 0)).await.unwrap();
    assert_eq!(file.stats().commit.snapshot().count, 1);
    assert_eq!(file.stats().log_sync.snapshot().count, 0);
    file.close().await.unwrap();
}
