//! The commit log's appends are all or nothing: a batch refused for its size (a value over
//! 4 GiB, a record over the log's limit) fails alone, and the batches the writer groups
//! with it are logged intact, acknowledged and replayed after a restart.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use vaultrs_storage::physical::file::{SyncHook, SyncPoint};
use vaultrs_storage::{Batch, Error, FileBackend, FileOptions, Physical};

use crate::crash::support::copy_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_oversized_batch_fails_alone_in_its_group() {
    let dir = tempfile::tempdir().unwrap();
    // Hold the writer at its first fsync, so that everything committed meanwhile forms the
    // next group together.
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let armed = Arc::new(AtomicBool::new(true));
    let (entered_tx, release_rx) = (Mutex::new(entered_tx), Mutex::new(release_rx));
    let flag = armed.clone();
    let hook: SyncHook = Arc::new(move |point: SyncPoint, _: &Path| {
        if point == SyncPoint::Log && flag.swap(false, Ordering::SeqCst) {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv();
        }
    });
    let options = FileOptions {
        sync_hook: Some(hook),
        ..FileOptions::default()
    };
    let b = Arc::new(FileBackend::open(dir.path(), options).await.unwrap());
    let first = tokio::spawn({
        let b = b.clone();
        async move { b.put("first", b"1".to_vec()).await }
    });
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the writer never fsynced");

    // Queued behind the held group: small batches around two oversized ones. The big
    // values are zeroed allocations the kernel maps lazily: nothing reads their bytes.
    let mut pending = Vec::new();
    for i in 0..6u32 {
        let batch = match i {
            2 => Batch::new()
                .put("small/before-huge", b"x".to_vec())
                .put("huge", vec![0u8; (4 << 30) + 1]),
            4 => Batch::new().put("over-limit", vec![0u8; (512 << 20) + 1]),
            _ => Batch::new().put(format!("small/{i}"), i.to_le_bytes().to_vec()),
        };
        // Polled once: the batch is in the writer's queue (the writer is held, so the
        // commit cannot finish yet).
        let mut commit = b.commit(batch);
        tokio::select! {
            biased;
            done = &mut commit => panic!("batch {i} finished while the writer was held: {done:?}"),
            () = std::future::ready(()) => {}
        }
        pending.push((i, commit));
    }
    release_tx.send(()).unwrap();
    first.await.unwrap().unwrap();
    let mut acked = Vec::new();
    for (i, commit) in pending {
        let result = commit.await;
        match i {
            2 | 4 => assert!(
                matches!(result, Err(Error::InvalidRequest(_))),
                "batch {i}: {result:?}"
            ),
            _ => acked.push((i, result.expect("a small batch failed"))),
        }
    }
    assert_eq!(acked.len(), 4);
    assert_eq!(b.get("small/before-huge").await.unwrap(), None);
    // The log reads back whole: the four batches after the first, no damage between.
    let tail: Vec<u64> = b.log_tail().await.unwrap().iter().map(|c| c.seq).collect();
    assert_eq!(tail, [1, 2, 3, 4, 5], "the log holds damage");
    // What a kill -9 now would leave: nothing checkpointed since open, so reopening
    // replays the log.
    let image = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), image.path());
    b.close().await.unwrap();
    drop(b);

    // The log replays whole: every acknowledged batch, nothing of the refused ones.
    let b = FileBackend::open(image.path(), FileOptions::default())
        .await
        .unwrap();
    for (i, _) in &acked {
        assert_eq!(
            b.get(&format!("small/{i}")).await.unwrap(),
            Some(i.to_le_bytes().to_vec())
        );
    }
    assert_eq!(b.get("huge").await.unwrap(), None);
    assert_eq!(b.get("small/before-huge").await.unwrap(), None);
    assert_eq!(b.last_seq(), 5);
    b.close().await.unwrap();
}
