//! The conformance suite on every backend, plus what only the file backend promises.

use std::sync::Arc;

use vaultrs_storage::testing::exercise_physical;
use vaultrs_storage::{
    Batch, CacheOptions, CachedPhysical, ChangeFeed, FeedOptions, FileBackend, FileOptions,
    InmemBackend, Physical,
};

#[tokio::test]
async fn conformance_inmem() {
    exercise_physical(Arc::new(InmemBackend::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_file() {
    let dir = tempfile::tempdir().unwrap();
    let backend = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    exercise_physical(Arc::new(backend)).await;
}

#[tokio::test]
async fn conformance_feed_over_inmem() {
    let feed = ChangeFeed::new(InmemBackend::new(), FeedOptions::default())
        .await
        .unwrap();
    exercise_physical(Arc::new(feed)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_feed_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let backend = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = ChangeFeed::new(backend, FeedOptions::default())
        .await
        .unwrap();
    exercise_physical(Arc::new(feed)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_cache_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let backend = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    exercise_physical(Arc::new(CachedPhysical::new(
        backend,
        CacheOptions::default(),
    )))
    .await;
}

#[tokio::test]
async fn conformance_cache_over_inmem_with_a_tiny_budget() {
    // A budget smaller than one test value: entries are evicted all the time.
    let options = CacheOptions { max_bytes: 2048 };
    exercise_physical(Arc::new(CachedPhysical::new(InmemBackend::new(), options))).await;
}

/// The cache answers from memory and stays coherent with every write through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_serves_hits_without_the_backend_and_follows_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(
        FileBackend::open(dir.path(), FileOptions::default())
            .await
            .unwrap(),
    );
    let cache = CachedPhysical::new(file.clone(), CacheOptions::default());
    cache.put("a/k", b"one".to_vec()).await.unwrap();
    assert_eq!(
        cache.get("a/k").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(cache.get("a/missing").await.unwrap(), None);
    // Remove the file behind the cache's back: hits (and cached misses) come from memory.
    file.checkpoint().await.unwrap();
    std::fs::remove_file(dir.path().join("tree/a/_k")).unwrap();
    assert_eq!(
        cache.get("a/k").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // Writes through the cache replace what it holds, deletes included.
    cache.put("a/k", b"two".to_vec()).await.unwrap();
    assert_eq!(
        cache.get("a/k").await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    cache
        .commit(Batch::new().delete("a/k").put("a/missing", b"now".to_vec()))
        .await
        .unwrap();
    assert_eq!(cache.get("a/k").await.unwrap(), None);
    assert_eq!(
        cache.get("a/missing").await.unwrap().as_deref(),
        Some(&b"now"[..])
    );
    assert_eq!(
        file.get("a/missing").await.unwrap().as_deref(),
        Some(&b"now"[..])
    );

    // Concurrent writers and readers of the same keys: once writes stop, every cached
    // value equals the stored one.
    let cache = Arc::new(cache);
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50u32 {
                let key = format!("race/{}", i % 5);
                if t % 2 == 0 {
                    cache
                        .put(&key, (t * 1000 + i).to_be_bytes().to_vec())
                        .await
                        .unwrap();
                } else {
                    cache.get(&key).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for i in 0..5 {
        let key = format!("race/{i}");
        assert_eq!(
            cache.get(&key).await.unwrap(),
            file.get(&key).await.unwrap(),
            "{key}"
        );
    }
}

/// Permissions, leaf naming and the absence of temp files after a commit.
#[tokio::test]
async fn file_backend_layout_and_modes() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let b = FileBackend::open(&dir, FileOptions::default())
        .await
        .unwrap();
    b.commit(Batch::new().put("sys/token/id/abc", b"v".to_vec()))
        .await
        .unwrap();
    // The tree is written behind the log; a checkpoint waits for it.
    b.checkpoint().await.unwrap();
    let leaf = dir.join("tree/sys/token/id/_abc");
    assert_eq!(std::fs::read(&leaf).unwrap(), b"v");
    assert_eq!(
        std::fs::metadata(&leaf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for folder in ["tree/sys", "tree/sys/token", "tree/sys/token/id", "wal", ""] {
        let mode = std::fs::metadata(dir.join(folder))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{folder}");
    }
    for entry in walkdir::WalkDir::new(&dir) {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy();
        assert!(
            !name.ends_with(".tmp"),
            "temp file left: {}",
            entry.path().display()
        );
        if entry.file_type().is_file() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
    }
    b.close().await.unwrap();
}

/// Data, sequence numbers and the log tail survive close and reopen; a second open of a
/// directory in use is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_backend_reopen_keeps_data_and_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    for i in 0..10 {
        b.put(&format!("k/{i}"), vec![i as u8; 10]).await.unwrap();
    }
    assert!(FileBackend::open(dir.path(), FileOptions::default())
        .await
        .is_err());
    b.close().await.unwrap();
    drop(b);

    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    assert_eq!(b.last_seq(), 10);
    assert_eq!(b.list("k/").await.unwrap().len(), 10);
    assert_eq!(b.get("k/7").await.unwrap(), Some(vec![7; 10]));
    let tail = b.log_tail().await.unwrap();
    assert_eq!(
        tail.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(b.put("k/x", b"x".to_vec()).await.unwrap(), 11);
}

/// The tail is bounded: after checkpoints, only the last `tail_batches` stay in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_backend_tail_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let options = FileOptions {
        tail_batches: 5,
        ..FileOptions::default()
    };
    let b = FileBackend::open(dir.path(), options).await.unwrap();
    for i in 0..40u64 {
        b.put("k", i.to_be_bytes().to_vec()).await.unwrap();
        if i % 3 == 0 {
            b.checkpoint().await.unwrap();
        }
    }
    b.checkpoint().await.unwrap();
    let tail = b.log_tail().await.unwrap();
    let seqs: Vec<u64> = tail.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (36..=40).collect::<Vec<_>>());
    let segments = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    assert!(segments <= 4, "{segments} segments kept for a tail of 5");
}
