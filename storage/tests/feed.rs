//! The change feed: commit order, live delivery, resuming from the log tail after a
//! restart, bounded history, and a Merkle index kept current from the feed.

use std::sync::Arc;
use std::time::Duration;

use vaultrs_storage::merkle::KeyFilter;
use vaultrs_storage::{
    Batch, ChangeFeed, Error, FeedOptions, FileBackend, FileOptions, InmemBackend, LogId,
    MerkleIndex, Physical, Position, ResyncReason,
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
    let mut sub = feed.subscribe(feed.position()).unwrap();
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
    let log_id = feed.position().log_id;
    let mut sub = feed.subscribe(Position::new(log_id, 4)).unwrap();
    for seq in 5..=10u64 {
        let batch = next(&mut sub).await;
        assert_eq!(batch.seq, seq);
        assert_eq!(batch.changes[0].key, format!("k{}", seq - 1));
        assert_eq!(batch.changes[0].value, Some(vec![(seq - 1) as u8]));
    }
    feed.put("live", b"x".to_vec()).await.unwrap();
    assert_eq!(next(&mut sub).await.seq, 11);
    // Asking beyond what exists is refused rather than silently waiting.
    assert!(matches!(
        feed.subscribe(Position::new(log_id, 99)),
        Err(Error::Resync {
            reason: ResyncReason::Ahead {
                requested: 99,
                last: 11
            }
        })
    ));
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
    let log_id = feed.position().log_id;
    match feed.subscribe(Position::new(log_id, 3)) {
        Err(Error::Resync {
            reason: ResyncReason::TooOld { requested, oldest },
        }) => assert_eq!((requested, oldest), (3, 12)),
        Err(other) => panic!("expected TooOld, got {other}"),
        Ok(_) => panic!("expected TooOld, got a subscription"),
    }
    let mut sub = feed.subscribe(Position::new(log_id, 12)).unwrap();
    assert_eq!(next(&mut sub).await.seq, 13);
}

#[tokio::test]
async fn feed_slow_subscriber_is_told_it_lagged() {
    let options = FeedOptions {
        live_capacity: 4,
        ..FeedOptions::default()
    };
    let feed = ChangeFeed::new(InmemBackend::new(), options).await.unwrap();
    let mut sub = feed.subscribe(feed.position()).unwrap();
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
    let mut sub = feed.subscribe(feed.position()).unwrap();
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
        index.apply_in(sub.log_id(), &batch).unwrap();
    }
    let mut rebuilt = MerkleIndex::rebuild(&feed, filter).await.unwrap();
    assert_eq!(index.root(), rebuilt.root());
    assert_eq!(index.len(), rebuilt.len());
    assert!(!index.is_empty() && index.len() <= 37);
}

#[tokio::test]
async fn feed_positions_of_another_log_ask_for_a_resync() {
    let feed = ChangeFeed::new(InmemBackend::new(), FeedOptions::default())
        .await
        .unwrap();
    for i in 0..5u8 {
        feed.put("k", vec![i]).await.unwrap();
    }
    let here = feed.position();
    assert_eq!(here.seq, 5);
    assert_eq!(here.log_id, feed.inner().log_id());
    let stranger = LogId::random();
    match feed.subscribe(Position::new(stranger, 2)) {
        Err(Error::Resync {
            reason: ResyncReason::OtherLog { asked, current },
        }) => assert_eq!((asked, current), (stranger, here.log_id)),
        Err(other) => panic!("expected OtherLog, got {other}"),
        Ok(_) => panic!("a position of another log was resumed"),
    }
    // The same sequence in the feed's own log resumes.
    let mut sub = feed.subscribe(Position::new(here.log_id, 2)).unwrap();
    assert_eq!(sub.log_id(), here.log_id);
    assert_eq!(next(&mut sub).await.seq, 3);
}

/// A wipe starts a new log: live subscribers of the old one get what was published before,
/// then `LogReset`; old positions ask for a resync; sequence numbers never go back, and the
/// new log's positions resume.
#[tokio::test]
async fn feed_reset_after_a_wipe_starts_a_new_log() {
    let feed = ChangeFeed::new(InmemBackend::new(), FeedOptions::default())
        .await
        .unwrap();
    let old = feed.position();
    let mut sub = feed.subscribe(old).unwrap();
    for i in 0..3u8 {
        feed.put(&format!("k{i}"), vec![i]).await.unwrap();
    }
    let new_id = feed.inner().wipe();
    assert_ne!(new_id, old.log_id);
    feed.reset().await.unwrap();
    let new = feed.position();
    assert_eq!(new, Position::new(new_id, 3), "seq goes on in the new log");
    for seq in 1..=3 {
        assert_eq!(next(&mut sub).await.seq, seq);
    }
    assert!(matches!(
        sub.next().await,
        Err(Error::Resync {
            reason: ResyncReason::LogReset
        })
    ));
    assert!(matches!(
        feed.subscribe(Position::new(old.log_id, 3)),
        Err(Error::Resync {
            reason: ResyncReason::OtherLog { .. }
        })
    ));
    let mut sub = feed.subscribe(new).unwrap();
    assert_eq!(feed.put("after", vec![9]).await.unwrap(), 4);
    let batch = next(&mut sub).await;
    assert_eq!((batch.seq, batch.changes[0].key.as_str()), (4, "after"));

    // A wipe nobody announced: the feed notices the new log at the next commit.
    let mut sub = feed.subscribe(feed.position()).unwrap();
    let newer = feed.inner().wipe();
    assert_eq!(feed.put("x", vec![1]).await.unwrap(), 5);
    assert_eq!(feed.position(), Position::new(newer, 5));
    assert!(matches!(
        sub.next().await,
        Err(Error::Resync {
            reason: ResyncReason::LogReset
        })
    ));
    let mut sub = feed.subscribe(Position::new(newer, 4)).unwrap();
    assert_eq!(next(&mut sub).await.seq, 5);
}
