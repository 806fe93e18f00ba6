//! Snapshots, inspect, restore and wipe of the file backend (the crash safety of restore and
//! wipe is in `crash_restore.rs`).
//!
//! A snapshot taken while commits go on equals the store exactly at its sequence; it
//! restores into another directory and over an existing store; a damaged snapshot is
//! refused by inspect and by restore, which then leaves the store untouched; a wipe empties
//! the store; both start a new log id and keep sequence numbers going.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use vaultrs_storage::barrier::KEYRING_PATH;
use vaultrs_storage::snapshot::{inspect, SnapshotReader};
use vaultrs_storage::{
    Barrier, Batch, ChangeFeed, Error, FeedOptions, FileBackend, FileOptions, Physical, Position,
    Progress, ResyncReason,
};

type State = BTreeMap<String, Vec<u8>>;

fn apply(state: &mut State, batch: &Batch) {
    for c in &batch.changes {
        match &c.value {
            Some(v) => state.insert(c.key.clone(), v.clone()),
            None => state.remove(&c.key),
        };
    }
}

/// The state after every batch up to `seq`, from commits recorded as (seq, batch).
fn state_at(base: &State, log: &[(u64, Batch)], seq: u64) -> State {
    let mut sorted: Vec<&(u64, Batch)> = log.iter().filter(|(s, _)| *s <= seq).collect();
    sorted.sort_by_key(|(s, _)| *s);
    let mut state = base.clone();
    for (_, batch) in sorted {
        apply(&mut state, batch);
    }
    state
}

async fn read_state(b: &dyn Physical) -> State {
    let keys = b.keys().await.unwrap();
    let values = b.get_many(&keys).await.unwrap();
    keys.into_iter()
        .zip(values)
        .map(|(k, v)| (k, v.expect("listed key has a value")))
        .collect()
}

async fn decode(bytes: &[u8]) -> (vaultrs_storage::SnapshotHeader, State) {
    let mut reader = SnapshotReader::open(bytes).await.unwrap();
    let mut state = State::new();
    while let Some((k, v)) = reader.next_entry().await.unwrap() {
        state.insert(k, v);
    }
    (reader.header().clone(), state)
}

fn key(i: usize) -> String {
    format!("app{}/f{}/k{i}", i % 5, i % 17)
}

/// 2000 keys over 85 folders.
async fn filled(dir: &Path) -> (FileBackend, State) {
    let b = FileBackend::open(dir, FileOptions::default())
        .await
        .unwrap();
    let mut state = State::new();
    for chunk in (0..2000).collect::<Vec<_>>().chunks(250) {
        let mut batch = Batch::new();
        for &i in chunk {
            batch = batch.put(key(i), format!("v0 {i}"));
        }
        apply(&mut state, &batch);
        b.commit(batch).await.unwrap();
    }
    (b, state)
}

/// Commits that touch keys all over the key range: overwrites, deletes (some emptying a
/// folder), new keys, deleted keys written again.
fn churn(round: usize) -> Vec<Batch> {
    let mut out = Vec::new();
    for j in 0..40 {
        let i = (round * 997 + j * 53) % 2000;
        let mut batch = Batch::new()
            .put(key(i), format!("r{round} {j}"))
            .put(format!("new/r{round}/k{j}"), vec![j as u8]);
        if j % 3 == 0 {
            batch = batch.delete(key((i + 1000) % 2000));
        }
        if j % 7 == 0 {
            // Every key of folder app{x}/f{y}: the folder goes.
            for k in (0..2000).filter(|k| k % 5 == round % 5 && k % 17 == j % 17) {
                batch = batch.delete(key(k));
            }
        }
        if round > 0 && j % 5 == 0 {
            batch = batch.delete(format!("new/r{}/k{j}", round - 1));
        }
        out.push(batch);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_is_exact_at_its_seq_while_commits_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (b, base) = filled(dir.path()).await;
    let b = Arc::new(b);
    let base_seq = b.last_seq();
    let mut log: Vec<(u64, Batch)> = Vec::new();
    // One round before the snapshot, so it starts mid-history.
    for batch in churn(0) {
        log.push((b.commit(batch.clone()).await.unwrap(), batch));
    }

    let mut stream = b.snapshot_stream().await.unwrap();
    let seq = stream.header().seq;
    assert!(seq >= base_seq + 40);
    let mut bytes = Vec::new();
    let mut round = 1;
    let mut last = Progress::default();
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
        let p = stream.progress();
        assert!(p.keys >= last.keys && p.bytes >= last.bytes && p.bytes == bytes.len() as u64);
        last = p;
        // Sequential commits between chunks, and concurrent ones from 4 tasks.
        for batch in churn(round) {
            log.push((b.commit(batch.clone()).await.unwrap(), batch));
        }
        let mut tasks = Vec::new();
        for t in 0..4usize {
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for batch in churn(round * 10 + t).into_iter().take(10) {
                    mine.push((b.commit(batch.clone()).await.unwrap(), batch));
                }
                mine
            }));
        }
        for t in tasks {
            log.extend(t.await.unwrap());
        }
        round += 1;
    }
    assert!(round >= 5, "the snapshot took only {round} chunks");
    let info = stream.info().unwrap().clone();
    assert_eq!(info.bytes, bytes.len() as u64);
    assert_eq!(
        (last.keys, last.total_keys),
        (info.header.keys, info.header.keys)
    );
    drop(stream);

    let expected = state_at(&base, &log, seq);
    let (header, got) = decode(&bytes).await;
    assert_eq!(header.seq, seq);
    assert_eq!(header.log_id, b.log_id());
    assert_eq!(header.keys as usize, got.len());
    let differ: Vec<&String> = expected
        .keys()
        .chain(got.keys())
        .filter(|k| expected.get(*k) != got.get(*k))
        .take(10)
        .collect();
    assert!(
        differ.is_empty(),
        "the snapshot at seq {seq} differs from the store at seq {seq} at {differ:?}"
    );
    assert_ne!(
        expected,
        state_at(&base, &log, b.last_seq()),
        "the commits during the snapshot changed nothing"
    );
    assert_eq!(inspect(&bytes[..]).await.unwrap(), info);
    // The store itself is at its latest state.
    assert_eq!(read_state(&*b).await, state_at(&base, &log, b.last_seq()));
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_restores_elsewhere_and_in_place() {
    let (src_dir, dst_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (src, state) = filled(src_dir.path()).await;
    let mut bytes = Vec::new();
    let mut reported = Vec::new();
    let info = src
        .snapshot(&mut bytes, |p| reported.push(p))
        .await
        .unwrap();
    assert_eq!(reported.last().map(|p| p.keys), Some(2000));
    assert_eq!(inspect(&bytes[..]).await.unwrap(), info);

    // Into a store with other data, a change feed over it and a commit history.
    let dst = FileBackend::open(dst_dir.path(), FileOptions::default())
        .await
        .unwrap();
    let feed = ChangeFeed::new(dst, FeedOptions::default()).await.unwrap();
    for i in 0..30u8 {
        feed.put(&format!("app0/f0/k{i}"), vec![i]).await.unwrap();
        feed.put(&format!("other/k{i}"), vec![i]).await.unwrap();
    }
    let before = feed.position();
    let mut sub = feed.subscribe(before).unwrap();
    let mut progress = Vec::new();
    let restored = feed
        .inner()
        .restore(&bytes[..], |p| progress.push(p))
        .await
        .unwrap();
    assert_eq!(restored.snapshot, info);
    assert_ne!(
        restored.position.log_id, before.log_id,
        "a restore starts a new log"
    );
    assert_eq!(restored.position.seq, before.seq, "sequence numbers go on");
    assert_eq!(progress.last().map(|p| p.keys), Some(2000));
    assert_eq!(
        read_state(feed.inner()).await,
        state,
        "exactly the snapshot's store"
    );
    assert_eq!(feed.inner().position(), restored.position);

    // The feed, reset, continues in the new log; old positions ask for a resync.
    feed.reset().await.unwrap();
    assert!(matches!(
        sub.next().await,
        Err(Error::Resync {
            reason: ResyncReason::LogReset
        })
    ));
    assert!(matches!(
        feed.subscribe(before),
        Err(Error::Resync {
            reason: ResyncReason::OtherLog { .. }
        })
    ));
    assert_eq!(feed.put("after", vec![1]).await.unwrap(), before.seq + 1);
    feed.inner().close().await.unwrap();
    drop(feed);
    let dst = FileBackend::open(dst_dir.path(), FileOptions::default())
        .await
        .unwrap();
    let mut expected = state.clone();
    expected.insert("after".into(), vec![1]);
    assert_eq!(read_state(&dst).await, expected);
    assert_eq!(dst.log_id(), restored.position.log_id);
    for leftover in ["staging", "incoming", "old"] {
        assert!(!dst_dir.path().join(leftover).exists(), "{leftover} left");
    }
    dst.close().await.unwrap();
    src.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_damaged_is_refused_and_the_store_stays() {
    let (src_dir, dst_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (src, _) = filled(src_dir.path()).await;
    let mut bytes = Vec::new();
    src.snapshot(&mut bytes, |_| {}).await.unwrap();
    src.close().await.unwrap();
    let (dst, before) = {
        let b = FileBackend::open(dst_dir.path(), FileOptions::default())
            .await
            .unwrap();
        b.put("mine", b"kept".to_vec()).await.unwrap();
        let state = read_state(&b).await;
        (b, state)
    };
    let position = dst.position();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for at in [20, bytes.len() / 2, bytes.len() - 40, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        cases.push((format!("byte {at} flipped"), bad));
    }
    cases.push(("truncated".into(), bytes[..bytes.len() - 100].to_vec()));
    cases.push(("not a snapshot".into(), b"hello".to_vec()));
    for (what, bad) in cases {
        assert!(
            matches!(inspect(&bad[..]).await, Err(Error::Corrupt { .. })),
            "inspect: {what}"
        );
        match dst.restore(&bad[..], |_| {}).await {
            Err(Error::Corrupt { .. }) => {}
            other => panic!("restore of a snapshot with {what}: {other:?}"),
        }
        assert_eq!(read_state(&dst).await, before, "{what}: the store changed");
        assert_eq!(dst.position(), position, "{what}: the log changed");
        assert!(
            !dst_dir.path().join("staging").exists(),
            "{what}: staging left"
        );
    }
    dst.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_open_holds_off_restore_and_wipe_then_wipe_empties() {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = filled(dir.path()).await;
    let mut bytes = Vec::new();
    b.snapshot(&mut bytes, |_| {}).await.unwrap();
    let stream = b.snapshot_stream().await.unwrap();
    assert!(matches!(b.wipe().await, Err(Error::InvalidRequest(_))));
    assert!(matches!(
        b.restore(&bytes[..], |_| {}).await,
        Err(Error::InvalidRequest(_))
    ));
    assert_eq!(b.keys().await.unwrap().len(), 2000);
    drop(stream);

    let before = b.position();
    let wiped: Position = b.wipe().await.unwrap();
    assert_ne!(wiped.log_id, before.log_id);
    assert_eq!(wiped.seq, before.seq);
    assert!(b.keys().await.unwrap().is_empty());
    assert_eq!(b.get(&key(7)).await.unwrap(), None);
    assert_eq!(b.list("").await.unwrap(), Vec::<String>::new());
    assert_eq!(b.put("fresh", vec![1]).await.unwrap(), before.seq + 1);
    b.checkpoint().await.unwrap();
    b.close().await.unwrap();
    drop(b);
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    assert_eq!(b.position(), Position::new(wiped.log_id, before.seq + 1));
    assert_eq!(b.keys().await.unwrap(), vec!["fresh".to_string()]);
    b.close().await.unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !["LOCK", "CHECKPOINT", "tree", "wal", "spare"].contains(&n.as_str()))
        .collect();
    assert!(
        leftovers.is_empty(),
        "left in the data directory: {leftovers:?}"
    );
}

/// A barrier initialized and unsealed over `store`; its unseal shares.
async fn barrier_over(store: &Arc<FileBackend>) -> (Barrier, Vec<zeroize::Zeroizing<Vec<u8>>>) {
    let barrier = Barrier::new(store.clone() as Arc<dyn Physical>);
    let shares = barrier.init(1, 1).await.unwrap().shares;
    barrier.unseal(&shares[0]).await.unwrap();
    (barrier, shares)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_staged_keyring_is_checked_and_the_barrier_resumes_over_the_restore() {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let options = || FileOptions {
        durable: false,
        ..FileOptions::default()
    };
    let a = Arc::new(FileBackend::open(dirs.0.path(), options()).await.unwrap());
    let b = Arc::new(FileBackend::open(dirs.1.path(), options()).await.unwrap());
    let (barrier_a, shares_a) = barrier_over(&a).await;
    let (barrier_b, _) = barrier_over(&b).await;
    barrier_a.put("app/k", b"saved").await.unwrap();
    let mut archive = Vec::new();
    a.snapshot(&mut archive, |_| {}).await.unwrap();
    barrier_a.put("app/k", b"later").await.unwrap();
    barrier_a.put("app/new", b"later").await.unwrap();

    // Staged, checked, discarded: the running store is as it was.
    let before = read_state(a.as_ref()).await;
    let staged = a.stage_restore(&archive[..], |_| {}).await.unwrap();
    let keyring = staged.get(KEYRING_PATH).await.unwrap().unwrap();
    assert!(barrier_a.opens_keyring(&keyring).unwrap());
    assert!(!barrier_b.opens_keyring(&keyring).unwrap());
    assert!(!barrier_a.opens_keyring(b"not a ciphertext").unwrap());
    staged.discard().await.unwrap();
    assert_eq!(read_state(a.as_ref()).await, before);
    assert!(!dirs.0.path().join("staging").exists());

    // Restored under a suspended barrier: nothing reads or writes meanwhile, and the same
    // root key opens the restored keyring.
    let staged = a.stage_restore(&archive[..], |_| {}).await.unwrap();
    let suspended = barrier_a.suspend().await.unwrap();
    assert!(matches!(barrier_a.get("app/k").await, Err(Error::Sealed)));
    assert!(matches!(
        barrier_a.put("app/x", b"in flight").await,
        Err(Error::Sealed)
    ));
    staged.commit().await.unwrap();
    barrier_a.resume(suspended).await.unwrap();
    assert_eq!(barrier_a.get("app/k").await.unwrap().unwrap(), b"saved");
    assert_eq!(barrier_a.get("app/new").await.unwrap(), None);
    barrier_a.put("app/after", b"ok").await.unwrap();

    // Another barrier's root key does not open it: it stays sealed, and the snapshot's
    // own shares unseal it.
    let staged = b.stage_restore(&archive[..], |_| {}).await.unwrap();
    let suspended = barrier_b.suspend().await.unwrap();
    staged.commit().await.unwrap();
    assert!(matches!(
        barrier_b.resume(suspended).await,
        Err(Error::Integrity { .. })
    ));
    assert!(barrier_b.is_sealed());
    barrier_b.unseal(&shares_a[0]).await.unwrap();
    assert_eq!(barrier_b.get("app/k").await.unwrap().unwrap(), b"saved");
}
