//! The Merkle index: equal data gives equal indexes, a difference shows up in exactly the
//! bucket and key that differ, incremental updates match a rebuild, the filter holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use vaultrs_storage::merkle::{
    diff_buckets, diff_keys, empty_bucket_hash, hash_bucket, value_hash, KeyFilter, MerkleIndex,
    BUCKETS,
};
use vaultrs_storage::{Batch, Change, Committed, Error, InmemBackend, Physical};

fn accept_all() -> KeyFilter {
    Arc::new(|_: &str| true)
}

/// Replicated keys only: tokens and leases stay local.
fn replicated_only() -> KeyFilter {
    Arc::new(|k: &str| !k.starts_with("sys/token/") && !k.starts_with("sys/expire/"))
}

fn ciphertext(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.gen_range(28..200);
    (0..len).map(|_| rng.gen()).collect()
}

/// ~2000 keys with random ciphertext-like values.
fn dataset(seed: u64) -> BTreeMap<String, Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..2000)
        .map(|i| {
            let key = format!("logical/mount{}/data/secret{i}", i % 23);
            (key, ciphertext(&mut rng))
        })
        .collect()
}

/// Writes `data` in a shuffled order, in batches of varying size.
async fn fill(data: &BTreeMap<String, Vec<u8>>, seed: u64) -> InmemBackend {
    let backend = InmemBackend::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut entries: Vec<(&String, &Vec<u8>)> = data.iter().collect();
    entries.shuffle(&mut rng);
    for chunk in entries.chunks(rng.gen_range(1..40)) {
        let mut batch = Batch::new();
        for (k, v) in chunk {
            batch = batch.put(k.as_str(), v.to_vec());
        }
        backend.commit(batch).await.unwrap();
    }
    backend
}

fn assert_same(a: &mut MerkleIndex, b: &mut MerkleIndex) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.bucket_hashes(), b.bucket_hashes());
    assert_eq!(a.root(), b.root());
}

#[tokio::test]
async fn merkle_rebuild_of_same_data_is_equal() {
    let data = dataset(1);
    let first = fill(&data, 10).await;

    // Same final data through a different history: other order, values overwritten first,
    // extra keys written and deleted again.
    let second = InmemBackend::new();
    let mut rng = StdRng::seed_from_u64(20);
    for (k, _) in data.iter().rev().take(300) {
        second.put(k, ciphertext(&mut rng)).await.unwrap();
    }
    for i in 0..50 {
        second
            .put(&format!("logical/tmp/k{i}"), vec![1, 2, 3])
            .await
            .unwrap();
    }
    let mut entries: Vec<_> = data.iter().collect();
    entries.shuffle(&mut rng);
    for (k, v) in entries {
        second.put(k, v.clone()).await.unwrap();
    }
    for i in 0..50 {
        second.delete(&format!("logical/tmp/k{i}")).await.unwrap();
    }
    assert_eq!(first.keys().await.unwrap(), second.keys().await.unwrap());

    let mut a = MerkleIndex::rebuild(&first, accept_all()).await.unwrap();
    let mut b = MerkleIndex::rebuild(&second, accept_all()).await.unwrap();
    assert_eq!(a.len(), data.len());
    assert_same(&mut a, &mut b);
    assert_eq!(
        diff_buckets(&a.bucket_hashes(), &b.bucket_hashes()).unwrap(),
        Vec::<usize>::new()
    );

    // The index reflects the data: not the empty index, and every key is where it belongs.
    let mut empty = MerkleIndex::new(accept_all());
    assert_ne!(a.root(), empty.root());
    for (k, v) in &data {
        let bucket = a.bucket(MerkleIndex::bucket_of(k));
        assert!(bucket.contains(&(k.clone(), value_hash(v))));
    }
    let hashes = a.bucket_hashes();
    for (i, h) in hashes.iter().enumerate() {
        assert_eq!(*h, hash_bucket(&a.bucket(i)));
    }
    assert!(hashes.iter().any(|h| *h == empty_bucket_hash()) || data.len() > 4 * BUCKETS);

    // Rebuild starts at the physical's sequence number.
    assert_eq!(a.applied_seq(), first.last_seq());
    assert_eq!(b.applied_seq(), second.last_seq());
    assert_eq!(empty.applied_seq(), 0);
}

#[tokio::test]
async fn merkle_single_difference_is_one_bucket_and_one_key() {
    let data = dataset(2);
    let existing: Vec<&String> = data.keys().collect();
    let changed = existing[137].clone();
    let deleted = existing[1500].clone();
    let added = "logical/mount3/data/brand-new".to_owned();

    let base = fill(&data, 1).await;
    let mut ours = MerkleIndex::rebuild(&base, accept_all()).await.unwrap();

    for (what, key) in [
        ("changed", &changed),
        ("added", &added),
        ("deleted", &deleted),
    ] {
        let other = fill(&data, 2).await;
        match what {
            "deleted" => other.delete(key).await.map(drop).unwrap(),
            _ => other
                .put(key, b"some other ciphertext".to_vec())
                .await
                .map(drop)
                .unwrap(),
        }
        let mut theirs = MerkleIndex::rebuild(&other, accept_all()).await.unwrap();
        assert_ne!(ours.root(), theirs.root(), "{what}");

        let bucket = MerkleIndex::bucket_of(key);
        let differing = diff_buckets(&ours.bucket_hashes(), &theirs.bucket_hashes()).unwrap();
        assert_eq!(differing, vec![bucket], "{what}");
        assert_eq!(
            diff_keys(&ours.bucket(bucket), &theirs.bucket(bucket)),
            vec![key.clone()],
            "{what}"
        );
        assert_eq!(
            diff_keys(&theirs.bucket(bucket), &ours.bucket(bucket)),
            vec![key.clone()],
            "{what}"
        );

        // Fixing that one key on our side converges.
        let mut fixed = ours.clone();
        match other.get(key).await.unwrap() {
            Some(v) => fixed.insert(key, &v),
            None => fixed.remove(key),
        }
        assert_same(&mut fixed, &mut theirs);
    }
}

#[tokio::test]
async fn merkle_incremental_apply_matches_rebuild() {
    let backend = InmemBackend::new();
    let mut rng = StdRng::seed_from_u64(3);
    let mut log: Vec<Committed> = Vec::new();
    let mut live: Vec<String> = Vec::new();
    let filter = replicated_only();

    for round in 0..400 {
        let mut batch = Batch::new();
        for _ in 0..rng.gen_range(1..6) {
            let op = rng.gen_range(0..10);
            if op < 5 || live.is_empty() {
                let prefix = if rng.gen_bool(0.2) {
                    "sys/token/id"
                } else {
                    "logical/m/data"
                };
                let key = format!("{prefix}/k{round}-{}", rng.gen::<u16>());
                batch = batch.put(key.clone(), ciphertext(&mut rng));
                live.push(key);
            } else if op < 8 {
                let key = live.choose(&mut rng).unwrap().clone();
                batch = batch.put(key, ciphertext(&mut rng));
            } else {
                let i = rng.gen_range(0..live.len());
                let key = live.swap_remove(i);
                // Sometimes put then delete in one batch: the later change wins.
                if rng.gen_bool(0.3) {
                    batch = batch.put(key.clone(), ciphertext(&mut rng));
                }
                batch = batch.delete(key);
            }
        }
        let changes: Arc<[Change]> = Arc::from(batch.changes.clone());
        let seq = backend.commit(batch).await.unwrap();
        log.push(Committed { seq, changes });
    }

    let mut incremental = MerkleIndex::new(filter.clone());
    for (i, batch) in log.iter().enumerate() {
        assert!(incremental.apply(batch));
        if i % 97 == 0 {
            // Interleaved root computations must not leave stale cached buckets behind.
            incremental.root();
        }
    }
    assert_eq!(incremental.applied_seq(), backend.last_seq());

    let mut rebuilt = MerkleIndex::rebuild(&backend, filter.clone())
        .await
        .unwrap();
    assert!(!rebuilt.is_empty());
    assert_same(&mut incremental, &mut rebuilt);

    // Re-delivering old batches changes nothing, even a batch whose keys were later
    // overwritten or deleted, and even a forged old seq with a new key.
    let root = incremental.root();
    for batch in log.iter().take(50) {
        assert!(!incremental.apply(batch));
    }
    assert!(!incremental.apply(log.last().unwrap()));
    let forged = Committed {
        seq: 5,
        changes: Arc::from(vec![Change {
            key: "logical/m/data/forged".into(),
            value: Some(b"x".to_vec()),
        }]),
    };
    assert!(!incremental.apply(&forged));
    assert_eq!(incremental.root(), root);
    assert_eq!(incremental.applied_seq(), backend.last_seq());

    // Continuing from the rebuilt index with new batches stays in step.
    let batch = Batch::new().put("logical/m/data/after", b"v".to_vec());
    let changes: Arc<[Change]> = Arc::from(batch.changes.clone());
    let seq = backend.commit(batch).await.unwrap();
    let next = Committed { seq, changes };
    assert!(rebuilt.apply(&next));
    assert!(incremental.apply(&next));
    assert_same(&mut incremental, &mut rebuilt);
    assert_ne!(incremental.root(), root);
}

#[tokio::test]
async fn merkle_filter_rejected_keys_never_affect_root() {
    let data = dataset(4);
    let replicated = fill(&data, 4).await;
    let mixed = fill(&data, 5).await;
    for i in 0..200 {
        mixed
            .put(&format!("sys/token/id/t{i}"), vec![i as u8; 40])
            .await
            .unwrap();
        mixed
            .put(&format!("sys/expire/id/l{i}"), vec![i as u8; 50])
            .await
            .unwrap();
    }

    let mut a = MerkleIndex::rebuild(&replicated, replicated_only())
        .await
        .unwrap();
    let mut b = MerkleIndex::rebuild(&mixed, replicated_only())
        .await
        .unwrap();
    assert_eq!(b.len(), data.len());
    assert_same(&mut a, &mut b);

    // The filter is what made them equal.
    let mut unfiltered = MerkleIndex::rebuild(&mixed, accept_all()).await.unwrap();
    assert_eq!(unfiltered.len(), data.len() + 400);
    assert_ne!(unfiltered.root(), a.root());

    // Direct updates and batches on local keys are no-ops too.
    let root = b.root();
    b.insert("sys/token/id/new", b"secret-ish");
    b.remove("sys/token/id/t1");
    assert!(b.apply(&Committed {
        seq: mixed.last_seq() + 1,
        changes: Arc::from(vec![
            Change {
                key: "sys/expire/id/l2".into(),
                value: None
            },
            Change {
                key: "sys/token/id/t3".into(),
                value: Some(vec![9; 9])
            },
        ]),
    }));
    assert_eq!(b.root(), root);
    assert_eq!(b.cached_root(), Some(root));
    assert_eq!(b.len(), data.len());
    assert!(!b.accepts("sys/token/id/t1"));
    assert!(b
        .bucket(MerkleIndex::bucket_of("sys/token/id/new"))
        .iter()
        .all(|(k, _)| !k.starts_with("sys/token/")));
}

#[tokio::test]
async fn merkle_bucket_framing_is_unambiguous() {
    // ("ab", h1), ("c", h2) and ("a", "b"+h1[..31]), ("xc", h2) concatenate to the same bytes.
    let h1 = [b'x'; 32];
    let h2 = [0xA5; 32];
    let mut shifted = [b'x'; 32];
    shifted[0] = b'b';
    let left = [("ab".to_owned(), h1), ("c".to_owned(), h2)];
    let right = [("a".to_owned(), shifted), ("xc".to_owned(), h2)];
    assert_ne!(hash_bucket(&left), hash_bucket(&right));
    // Order and duplicates matter to the raw bucket hash.
    assert_ne!(
        hash_bucket(&left),
        hash_bucket(&[left[1].clone(), left[0].clone()])
    );
    assert_ne!(
        hash_bucket(&left[..1]),
        hash_bucket(&[left[0].clone(), left[0].clone()])
    );
    assert_ne!(hash_bucket(&[]), hash_bucket(&[(String::new(), [0; 32])]));

    // Through the index: two keys in one bucket vs. keys whose bytes run together.
    let (k1, k2) = same_bucket_pair("ab", "c");
    let mut one = MerkleIndex::new(accept_all());
    one.insert(&k1, b"v");
    one.insert(&k2, b"v");
    let mut two = MerkleIndex::new(accept_all());
    two.insert(&format!("{k1}{k2}"), b"v");
    assert_ne!(one.root(), two.root());
    let b = MerkleIndex::bucket_of(&k1);
    assert_eq!(one.bucket_hashes()[b], hash_bucket(&one.bucket(b)));
}

/// Two distinct keys `{a}{i}` and `{c}{j}` that land in the same bucket.
fn same_bucket_pair(a: &str, c: &str) -> (String, String) {
    let mut seen: BTreeMap<usize, String> = BTreeMap::new();
    for i in 0..BUCKETS * 4 {
        seen.entry(MerkleIndex::bucket_of(&format!("{a}{i}")))
            .or_insert(format!("{a}{i}"));
    }
    for j in 0.. {
        let key = format!("{c}{j}");
        if let Some(first) = seen.get(&MerkleIndex::bucket_of(&key)) {
            return (first.clone(), key);
        }
    }
    unreachable!()
}

#[test]
fn merkle_diff_buckets_rejects_wrong_lengths() {
    let good = vec![[0u8; 32]; BUCKETS];
    for bad_len in [0, 1, BUCKETS - 1, BUCKETS + 1] {
        let bad = vec![[0u8; 32]; bad_len];
        assert!(matches!(
            diff_buckets(&good, &bad),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            diff_buckets(&bad, &good),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            diff_buckets(&bad, &bad),
            Err(Error::InvalidRequest(_))
        ));
    }
    assert_eq!(diff_buckets(&good, &good).unwrap(), Vec::<usize>::new());
    let mut other = good.clone();
    other[0] = [1; 32];
    other[BUCKETS - 1] = [2; 32];
    other[77] = [3; 32];
    assert_eq!(
        diff_buckets(&good, &other).unwrap(),
        vec![0, 77, BUCKETS - 1]
    );
}

#[test]
fn merkle_diff_keys_handles_duplicates_and_unsorted_input() {
    let h = |b: u8| [b; 32];
    let s = |k: &str| k.to_owned();
    let ours = vec![
        (s("m"), h(1)),
        (s("a"), h(1)),
        (s("z"), h(9)), // only ours
        (s("a"), h(1)), // harmless duplicate
        (s("c"), h(2)), // differs
        (s("d"), h(4)),
        (s("d"), h(5)), // contradictory duplicate: always reported
    ];
    let theirs = vec![
        (s("c"), h(3)),
        (s("b"), h(7)), // only theirs
        (s("m"), h(1)),
        (s("a"), h(1)),
        (s("b"), h(7)),
        (s("d"), h(4)),
        (s("m"), h(1)),
    ];
    let expect = vec![s("b"), s("c"), s("d"), s("z")];
    assert_eq!(diff_keys(&ours, &theirs), expect);
    assert_eq!(diff_keys(&theirs, &ours), expect);
    assert_eq!(diff_keys(&ours[..2], &theirs[2..4]), Vec::<String>::new());
    assert_eq!(diff_keys(&[], &[]), Vec::<String>::new());
    assert_eq!(diff_keys(&ours[..1], &[]), vec![s("m")]);
}
