//! Whole-store sizes: a 100k-key batch through the cache and a filtered feed, and a feed
//! plus Merkle index over the replicated keys only (the filter the server passes).
//! Correctness only: the benchmark (`benches/support/bulk.rs`) holds the timings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use vaultrs_storage::{
    Batch, CacheOptions, CachedPhysical, ChangeFeed, FeedOptions, FileBackend, FileOptions,
    InmemBackend, KeyFilter, MerkleIndex, Physical, Position,
};

/// The locality rule in miniature: tokens and leases stay local.
fn replicated() -> KeyFilter {
    Arc::new(|k: &str| !k.starts_with("sys/token/") && !k.starts_with("sys/expire/"))
}

async fn next(sub: &mut vaultrs_storage::Subscription) -> vaultrs_storage::Committed {
    tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .expect("feed stalled")
        .expect("feed error")
}

/// One batch of 100k keys, each changed twice (the later change wins), a tenth of them
/// finally deleted, half of them local: the cache serves exactly the final state, the
/// filtered feed carries exactly the replicated changes, and a Merkle index kept from the
/// feed equals a rebuild.
#[tokio::test]
async fn scale_a_100k_key_batch_commits_whole() {
    const N: usize = 100_000;
    let key = |i: usize| {
        if i.is_multiple_of(2) {
            format!("logical/app/k{i}")
        } else {
            format!("sys/token/id/t{i}")
        }
    };
    let mut batch = Batch::new();
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..N {
        batch = batch.put(key(i), format!("first {i}"));
    }
    for i in (0..N).rev() {
        if i % 10 == 3 {
            batch = batch.delete(key(i));
        } else {
            batch = batch.put(key(i), format!("second {i}"));
            expected.insert(key(i), format!("second {i}").into_bytes());
        }
    }
    assert_eq!(batch.changes.len(), 2 * N);

    let cached = Arc::new(CachedPhysical::new(
        InmemBackend::new(),
        CacheOptions {
            max_bytes: 64 << 20,
        },
    ));
    let feed = ChangeFeed::with_filter(cached.clone(), FeedOptions::default(), replicated())
        .await
        .unwrap();
    let mut index = MerkleIndex::new(replicated());
    index.set_position(feed.position()).unwrap();
    let mut sub = feed.subscribe(feed.position()).unwrap();

    let seq = feed.commit(batch).await.unwrap();
    assert_eq!(seq, 1);
    // The cache (filled by the commit) and the backend behind it agree with the model.
    for i in (0..N).step_by(7) {
        let want = expected.get(&key(i));
        assert_eq!(cached.get(&key(i)).await.unwrap().as_ref(), want, "{i}");
        assert_eq!(cached.inner().get(&key(i)).await.unwrap().as_ref(), want);
    }
    assert_eq!(cached.keys().await.unwrap().len(), expected.len());

    // The feed carries the replicated changes only, in order.
    let published = next(&mut sub).await;
    assert_eq!(published.seq, 1);
    assert_eq!(published.changes.len(), N);
    assert!(published
        .changes
        .iter()
        .all(|c| c.key.starts_with("logical/")));
    assert!(index.apply_in(sub.log_id(), &published).unwrap());
    let mut rebuilt = MerkleIndex::rebuild(&feed, replicated()).await.unwrap();
    assert_eq!(
        index.len(),
        expected
            .keys()
            .filter(|k| k.starts_with("logical/"))
            .count()
    );
    assert_eq!(index.root(), rebuilt.root());
    assert_eq!(index.position(), rebuilt.position());
}

/// A filtered feed over the file backend: batches with only local keys are not delivered
/// (the subscriber sees gaps), the position still counts them, resuming after a restart
/// from the durable tail gives the same replicated changes, and the index kept from it
/// matches a rebuild with the same filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_filtered_feed_and_merkle_cover_replicated_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = ChangeFeed::with_filter(file, FeedOptions::default(), replicated())
        .await
        .unwrap();
    let start = feed.position();
    let mut index = MerkleIndex::rebuild(&feed, replicated()).await.unwrap();
    let mut sub = feed.subscribe(start).unwrap();
    for i in 0..60u32 {
        let batch = match i % 3 {
            // Local only: not delivered.
            0 => Batch::new().put(format!("sys/token/id/t{i}"), vec![1]),
            // Mixed: delivered without the local part.
            1 => Batch::new()
                .put(format!("logical/a/k{}", i % 11), i.to_le_bytes().to_vec())
                .put(format!("sys/expire/id/l{i}"), vec![2]),
            _ => Batch::new().delete(format!("logical/a/k{}", (i + 5) % 11)),
        };
        feed.commit(batch).await.unwrap();
    }
    assert_eq!(feed.position(), Position::new(start.log_id, 60));
    let mut delivered = Vec::new();
    for _ in 0..40 {
        let batch = next(&mut sub).await;
        assert!(batch.changes.iter().all(|c| c.key.starts_with("logical/")));
        assert!(
            batch.seq % 3 != 1,
            "a local-only batch (seq {}) was delivered",
            batch.seq
        );
        index.apply_in(sub.log_id(), &batch).unwrap();
        delivered.push(batch);
    }
    let mut rebuilt = MerkleIndex::rebuild(&feed, replicated()).await.unwrap();
    assert_eq!(index.root(), rebuilt.root());
    assert_eq!(index.len(), rebuilt.len());
    feed.inner().close().await.unwrap();
    drop(feed);

    // After a restart, the durable tail gives the same replicated changes.
    let file = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = ChangeFeed::with_filter(file, FeedOptions::default(), replicated())
        .await
        .unwrap();
    let mut sub = feed.subscribe(start).unwrap();
    for want in &delivered {
        assert_eq!(&next(&mut sub).await, want);
    }
    feed.inner().close().await.unwrap();
}
