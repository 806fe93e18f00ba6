//! A damaged commit log: a torn tail at every byte offset and a flipped byte in the last
//! record replay exactly the complete records; damage in a segment the checkpoint already
//! covers is tolerated.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

use super::durable::{
    build_image, check_image, checkpoint_seq, last_segment, record_bounds, recording_hook,
    LogImage, Recorder,
};
use super::support::{apply, scratch, State};

fn torn_batch(k: u64) -> Batch {
    let mut batch = Batch::new();
    for i in 0..3 + k % 3 {
        batch = batch.put(format!("t/b{k}/k{i}"), format!("b{k}.{i}"));
    }
    batch = batch.put(format!("t/shared/s{}", k % 3), format!("b{k}"));
    if k >= 1 {
        batch = batch.delete(format!("t/b{}/k0", k - 1));
    }
    if k == 2 {
        batch = batch.delete("t/base/k0");
    }
    batch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_torn_log_tail_recovers_complete_batches() {
    let tmp = scratch();
    let dir = tmp.path().join("data");

    // Some checkpointed data first, so the image's tree is not empty.
    let mut base = State::new();
    let b = FileBackend::open(&dir, FileOptions::default())
        .await
        .unwrap();
    for i in 0..3 {
        let batch = Batch::new()
            .put(format!("t/base/k{i}"), format!("base{i}"))
            .put(format!("t/shared/s{i}"), format!("base{i}"));
        apply(&mut base, &batch);
        b.commit(batch).await.unwrap();
    }
    b.close().await.unwrap();
    let base_seq = 3;

    // Six batches that never reach a checkpoint.
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let options = FileOptions {
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        sync_hook: Some(recording_hook(&rec)),
        ..FileOptions::default()
    };
    let b = FileBackend::open(&dir, options).await.unwrap();
    let batches: Vec<Batch> = (0..6).map(torn_batch).collect();
    let mut states = vec![base.clone()];
    for (k, batch) in batches.iter().enumerate() {
        let seq = b.commit(batch.clone()).await.unwrap();
        assert_eq!(seq, base_seq + k as u64 + 1);
        let mut next = states.last().unwrap().clone();
        apply(&mut next, batch);
        states.push(next);
    }
    let (tree, log) = {
        let r = rec.lock().unwrap();
        assert_eq!(r.logs.len(), 6, "one Log point per sequential commit");
        assert_eq!(r.checkpoints.len(), 1, "only the checkpoint of open()");
        assert_eq!(r.checkpoints[0].logs_before, 0);
        (r.checkpoints[0].tree.clone(), r.logs[5].clone())
    };
    b.close().await.unwrap();
    assert_eq!(checkpoint_seq(&log.checkpoint), base_seq);

    let seg_name = last_segment(&log.wal);
    let segment = log.wal[&seg_name].clone().unwrap();
    let bounds = record_bounds(&segment);
    assert_eq!(bounds.len(), 6, "the six records in the last segment");
    for (k, (_, _, seq)) in bounds.iter().enumerate() {
        assert_eq!(*seq, base_seq + k as u64 + 1);
    }

    // Every offset from the first of the last three records to the end, plus the magic and
    // the edges of the earlier records.
    let mut offsets: BTreeSet<usize> = (bounds[3].0..=segment.len()).collect();
    offsets.extend(0..=8);
    for (start, end, _) in &bounds[..3] {
        offsets.extend([*start + 1, *end - 1, *end]);
    }
    let work = scratch();
    for (i, &cut) in offsets.iter().enumerate() {
        let complete = bounds.iter().filter(|(_, end, _)| *end <= cut).count();
        let image = work.path().join(format!("cut{cut}"));
        let mut wal = log.wal.clone();
        wal.insert(seg_name.clone(), Some(segment[..cut].to_vec()));
        build_image(
            &image,
            &tree,
            &LogImage {
                wal,
                checkpoint: log.checkpoint.clone(),
            },
        );
        let then_commit = i % 8 == 0 || bounds.iter().any(|(_, end, _)| *end == cut);
        let what = format!(
            "log cut at byte {cut} of {} ({complete} whole records)",
            segment.len()
        );
        check_image(
            &image,
            &states[complete],
            base_seq + complete as u64,
            then_commit,
            &what,
        )
        .await;
        fs::remove_dir_all(&image).unwrap();
    }

    // A flipped byte anywhere in the last record drops that record, whole.
    let (start, end, _) = bounds[5];
    for pos in start..end {
        let image = work.path().join(format!("flip{pos}"));
        let mut bad = segment.clone();
        bad[pos] ^= 0x5a;
        let mut wal = log.wal.clone();
        wal.insert(seg_name.clone(), Some(bad));
        build_image(
            &image,
            &tree,
            &LogImage {
                wal,
                checkpoint: log.checkpoint.clone(),
            },
        );
        let what = format!("byte {pos} flipped in the last record ({start}..{end})");
        check_image(&image, &states[5], base_seq + 5, pos == start, &what).await;
        fs::remove_dir_all(&image).unwrap();
    }
}

/// A damaged record in a segment the checkpoint already covers does not stop the directory
/// from opening (its batches are in the tree), and the change feed's tail restarts after
/// it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_damage_before_the_checkpoint_is_tolerated() {
    let tmp = scratch();
    let dir = tmp.path().join("data");
    let options = || FileOptions {
        // Keep every segment so the damaged one is still there.
        tail_batches: 1_000,
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        ..FileOptions::default()
    };
    let b = FileBackend::open(&dir, options()).await.unwrap();
    for i in 0..5u8 {
        b.put(&format!("k{i}"), vec![i; 16]).await.unwrap();
    }
    b.checkpoint().await.unwrap(); // segment with 1..=5 is now behind the checkpoint
    for i in 5..8u8 {
        b.put(&format!("k{i}"), vec![i; 16]).await.unwrap();
    }
    b.close().await.unwrap();
    drop(b);

    let mut segments: Vec<PathBuf> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    let first = segments
        .iter()
        .find(|p| fs::metadata(p).unwrap().len() > 8)
        .unwrap()
        .clone();
    // Flip a byte in the middle of the first (pre-checkpoint) segment's records.
    let mut bytes = fs::read(&first).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    fs::write(&first, &bytes).unwrap();

    let b = FileBackend::open(&dir, options()).await.unwrap();
    for i in 0..8u8 {
        assert_eq!(
            b.get(&format!("k{i}")).await.unwrap(),
            Some(vec![i; 16]),
            "k{i}"
        );
    }
    let tail: Vec<u64> = b.log_tail().await.unwrap().iter().map(|c| c.seq).collect();
    assert!(
        tail.windows(2).all(|w| w[1] == w[0] + 1) && tail.last() == Some(&8),
        "the tail restarts after the damage and stays contiguous: {tail:?}"
    );
    assert!(
        !tail.contains(&1),
        "batches before the damage are not served: {tail:?}"
    );
    b.close().await.unwrap();
}
