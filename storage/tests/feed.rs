//! The change feed: commit order, live delivery, resuming from the log tail after a
//! restart, bounded history, and a Merkle index kept current from the feed.

use std::sync::Arc;
use std::time::Duration;

use vaultrs_storage::merkle::KeyFilter;
use vaultrs_storage::{
    Batch, ChangeFeed, Error, FeedOptions, FileBackend, FileOptions, InmemBackend, MerkleIndex,
    Physical,
};

async fn next(sub: &mut vaultrs_storage::Subscription) -> vaultrs_storage::Committed {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("feed stalled")
        .expect("feed error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_delivers_every_batch_in_commit_order_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = Arc::new(ChangeFeed::new(file, FeedOptions::default()).await.unwrap());
    let mut sub = feed.subscribe(0).unwrap();
    let mut tasks = Vec::new();
    for w in 0..16u32 {
        let feed = feed.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..20u32 {
                let key = format!("w{w}/n{n}");
                let seq = feed
                    .commit(
                        Batch::new()
                            .put(&key, n.to_be_bytes().to_vec())
                            .delete("gone"),
                    )
                    .await
                    .unwrap();
                mine.push((seq, key));
            }
            mine
        }));
    }
    let mut acked = std::collections::BTreeMap::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 320);
    for expected_seq in 1..=320u64 {
        let batch = next(&mut sub).await;
        assert_eq!(batch.seq, expected_seq, "out of order or gap");
        // The feed carries the key and the exact bytes committed under that sequence.
        assert_eq!(batch.changes[0].key, acked[&expected_seq]);
        assert_eq!(batch.changes[1].key, "gone");
        assert_eq!(batch.changes[1].value, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_resumes_from_the_durable_tail_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let file = FileBackend::open(dir.path(), FileOptions::default())
            .await
            .unwrap();
        let feed = ChangeFeed::new(file, FeedOptions::default()).await.unwrap();
        for i in 0..10u8 {
            feed.put(&format!("k{i}"), vec![i]).await.unwrap();
        }
        feed.inner().close().await.unwrap();
    }
    let file = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = ChangeFeed::new(file, FeedOptions::default()).await.unwrap();
    assert_eq!(feed.published(), 10);
    // A subscriber that had applied up to 4 gets 5..=10 from the tail, then live batches.
    let mut sub = feed.subscribe(4).unwrap();
    for seq in 5..=10u64 {
        let batch = next(&mut sub).await;
        assert_eq!(batch.seq, seq);
        assert_eq!(batch.changes[0].key, format!("k{}", seq - 1));
        assert_eq!(batch.changes[0].value, Some(vec![(seq - 1) as u8]));
    }
    feed.put("live", b"x".to_vec()).await.unwrap();
    assert_eq!(next(&mut sub).await.seq, 11);
    // Asking beyond what exists is refused rather than silently waiting.
    assert!(matches!(feed.subscribe(99), Err(Error::TooOld { .. })));
}

#[tokio::test]
async fn feed_history_is_bounded_and_too_old_is_reported() {
    let options = FeedOptions {
        max_batches: 8,
        ..FeedOptions::default()
    };
    let feed = ChangeFeed::new(InmemBackend::new(), options).await.unwrap();
    for i in 0..20u8 {
        feed.put("k", vec![i]).await.unwrap();
    }
    assert_eq!(feed.oldest_resumable(), 12);
    match feed.subscribe(3) {
        Err(Error::TooOld { requested, oldest }) => assert_eq!((requested, oldest), (3, 12)),
        Err(other) => panic!("expected TooOld, got {other}"),
        Ok(_) => panic!("expected TooOld, got a subscription"),
    }
    let mut sub = feed.subscribe(12).unwrap();
    assert_eq!(next(&mut sub).await.seq, 13);
}

#[tokio::test]
async fn feed_slow_subscriber_is_told_it_lagged() {
    let options = FeedOptions {
        live_capacity: 4,
        ..FeedOptions::default()
    };
    let feed = ChangeFeed::new(InmemBackend::new(), options).await.unwrap();
    let mut sub = feed.subscribe(0).unwrap();
    for i in 0..50u8 {
        feed.put("k", vec![i]).await.unwrap();
    }
    assert!(matches!(sub.next().await, Err(Error::Lagged)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_keeps_a_merkle_index_equal_to_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = ChangeFeed::new(file, FeedOptions::default()).await.unwrap();
    let filter: KeyFilter = Arc::new(|k: &str| !k.starts_with("local/"));
    let mut index = MerkleIndex::rebuild(&feed, filter.clone()).await.unwrap();
    let mut sub = feed.subscribe(feed.published()).unwrap();
    for i in 0..200u32 {
        let mut batch = Batch::new()
            .put(format!("shared/{}", i % 37), i.to_le_bytes().to_vec())
            .put(format!("local/{i}"), vec![1]);
        if i % 5 == 0 {
            batch = batch.delete(format!("shared/{}", (i + 3) % 37));
        }
        feed.commit(batch).await.unwrap();
    }
    for _ in 0..200 {
        let batch = next(&mut sub).await;
        index.apply(&batch);
    }
    let mut rebuilt = MerkleIndex::rebuild(&feed, filter).await.unwrap();
    assert_eq!(index.root(), rebuilt.root());
    assert_eq!(index.len(), rebuilt.len());
    assert!(!index.is_empty() && index.len() <= 37);
}
