//! Checkpoints run beside commits: a checkpoint held in flight (its tree sync blocked by the
//! test hook) never holds back a commit, a listing or a read; the checkpoints that fall due
//! meanwhile wait for it instead of piling up; explicit checkpoints and `close` wait for it
//! and then cover everything committed.
//!
//! No test here waits for time: progress is asserted by ordering (a task that cannot have
//! finished while the hook holds the checkpointer).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use vaultrs_storage::physical::file::{SyncHook, SyncPoint};
use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

/// A hook that, once armed, blocks the checkpointer at its next tree sync until released.
struct Gate {
    armed: AtomicBool,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
    tree_syncs: AtomicU64,
    checkpoints: AtomicU64,
}

fn gate() -> (Arc<Gate>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let gate = Arc::new(Gate {
        armed: AtomicBool::new(false),
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
        tree_syncs: AtomicU64::new(0),
        checkpoints: AtomicU64::new(0),
    });
    (gate, entered_rx, release_tx)
}

fn hook(gate: &Arc<Gate>) -> SyncHook {
    let gate = gate.clone();
    Arc::new(move |point: SyncPoint, _: &Path| match point {
        SyncPoint::TreeSync => {
            gate.tree_syncs.fetch_add(1, Ordering::SeqCst);
            if gate.armed.swap(false, Ordering::SeqCst) {
                let _ = gate.entered.lock().unwrap().send(());
                let _ = gate.release.lock().unwrap().recv();
            }
        }
        SyncPoint::Checkpoint => {
            gate.checkpoints.fetch_add(1, Ordering::SeqCst);
        }
        SyncPoint::Log | SyncPoint::Replace(_) => {}
    })
}

fn checkpoint_seq(dir: &Path) -> u64 {
    let bytes = std::fs::read(dir.join("CHECKPOINT")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["seq"].as_u64().unwrap()
}

async fn wait_entered(entered: mpsc::Receiver<()>) -> mpsc::Receiver<()> {
    tokio::task::spawn_blocking(move || {
        entered
            .recv_timeout(Duration::from_secs(30))
            .expect("the checkpoint never reached its tree sync");
        entered
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_in_flight_never_holds_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (gate, entered, release) = gate();
    let options = FileOptions {
        // Many checkpoints fall due while one is held: 300 commits write ~40 KiB of log.
        checkpoint_bytes: 2 << 10,
        checkpoint_interval: Duration::from_secs(3600),
        tail_batches: 8,
        sync_hook: Some(hook(&gate)),
        ..FileOptions::default()
    };
    let b = Arc::new(FileBackend::open(dir.path(), options).await.unwrap());
    for i in 0..20u32 {
        b.put(&format!("before/k{i}"), vec![1; 64]).await.unwrap();
    }

    // Hold a checkpoint at its tree sync.
    gate.armed.store(true, Ordering::SeqCst);
    let held = tokio::spawn({
        let b = b.clone();
        async move { b.checkpoint().await }
    });
    let entered = wait_entered(entered).await;
    let syncs = gate.tree_syncs.load(Ordering::SeqCst);
    let done = gate.checkpoints.load(Ordering::SeqCst);
    let held_seq = b.last_seq();

    // Commits from 8 tasks are all acknowledged, in order, while it is held.
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for n in 0..40u32 {
                let seq = b
                    .commit(
                        Batch::new()
                            .put(format!("during/w{w}/k{n}"), vec![w as u8; 100])
                            .delete(format!("before/k{}", (w * 40 + n) % 20)),
                    )
                    .await
                    .expect("a commit failed while a checkpoint was in flight");
                assert!(seq > last && seq > held_seq);
                last = seq;
            }
        }));
    }
    for task in tasks {
        // A guard against a hang, not a timing assertion: a commit that waited for the
        // held checkpoint would wait forever.
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("commits wait for the checkpoint in flight")
            .unwrap();
    }
    assert_eq!(b.last_seq(), held_seq + 320);
    // Listings wait for the applier, which the checkpoint does not hold either.
    assert_eq!(b.list("during/").await.unwrap().len(), 8);
    assert_eq!(b.list("before/").await.unwrap(), Vec::<String>::new());
    assert_eq!(b.keys().await.unwrap().len(), 320);
    assert_eq!(b.get("during/w7/k39").await.unwrap(), Some(vec![7u8; 100]));

    // Still held: nothing finished, and the checkpoints that fell due did not start.
    assert!(!held.is_finished(), "the held checkpoint finished");
    assert_eq!(gate.checkpoints.load(Ordering::SeqCst), done);
    assert_eq!(
        gate.tree_syncs.load(Ordering::SeqCst),
        syncs,
        "a second checkpoint started while one was in flight"
    );
    assert!(checkpoint_seq(dir.path()) < held_seq);

    // An explicit checkpoint now waits for the held one, then covers every commit.
    let second = tokio::spawn({
        let b = b.clone();
        async move { b.checkpoint().await }
    });
    release.send(()).unwrap();
    held.await.unwrap().expect("the held checkpoint");
    second.await.unwrap().expect("the checkpoint after it");
    assert_eq!(checkpoint_seq(dir.path()), b.last_seq());
    // And it let the segments beyond the replication tail go: what is left is the segment
    // holding the tail and the fresh one it rolled to.
    let segments = std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    assert!(segments <= 2, "{segments} log segments left");

    // Close waits for a checkpoint in flight too.
    for i in 0..5u32 {
        b.put(&format!("after/k{i}"), vec![2; 10]).await.unwrap();
    }
    gate.armed.store(true, Ordering::SeqCst);
    let held = tokio::spawn({
        let b = b.clone();
        async move { b.checkpoint().await }
    });
    wait_entered(entered).await;
    let closing = tokio::spawn({
        let b = b.clone();
        async move { b.close().await }
    });
    assert!(!held.is_finished() && !closing.is_finished());
    release.send(()).unwrap();
    held.await.unwrap().expect("the held checkpoint");
    closing.await.unwrap().expect("close");
    let last = b.last_seq();
    assert_eq!(
        checkpoint_seq(dir.path()),
        last,
        "close checkpointed everything"
    );
    drop(b);

    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    assert_eq!(b.last_seq(), last);
    assert_eq!(b.keys().await.unwrap().len(), 320 + 5);
    assert_eq!(b.get("after/k4").await.unwrap(), Some(vec![2; 10]));
    b.close().await.unwrap();
}
