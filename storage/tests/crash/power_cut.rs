//! Simulated power cuts (F2): data directories built only from what the backend made
//! durable (the `sync_hook` durability points and the `syncfs` spy), with every
//! un-checkpointed tree file adversarially damaged.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

use super::durable::{
    build_image, check_image, checkpoint_seq, last_segment, recording_hook_with_spy,
    CheckpointImage, Recorder,
};
use super::support::{apply, leaf_rel, scratch, seed, show, Snapshot, State};
use super::syncfs_spy;

const PC_BATCHES: usize = 120;

fn pc_key(rng: &mut StdRng) -> String {
    if rng.gen_bool(0.1) {
        format!("top{}", rng.gen_range(0..4))
    } else {
        format!(
            "app{}/data{}/item{}",
            rng.gen_range(0..3),
            rng.gen_range(0..3),
            rng.gen_range(0..5)
        )
    }
}

/// 1-5 puts and deletes over a small key pool; values name their batch and key and carry
/// random binary bytes. Sometimes a key changes twice in one batch (the later change wins).
fn pc_batch(rng: &mut StdRng, idx: usize) -> Batch {
    let mut batch = Batch::new();
    for _ in 0..rng.gen_range(1..=5) {
        let key = pc_key(rng);
        if rng.gen_bool(0.3) {
            batch = batch.delete(key);
        } else {
            let mut value = format!("batch{idx} {key} ").into_bytes();
            value.extend((0..rng.gen_range(0..48)).map(|_| rng.gen::<u8>()));
            batch = batch.put(key, value);
        }
    }
    if rng.gen_bool(0.1) {
        let key = batch.changes[0].key.clone();
        batch = batch.put(key, format!("batch{idx} again"));
    }
    batch
}

/// The logical state a tree image holds (test keys use plain folder names).
fn tree_state(tree: &Snapshot) -> State {
    let mut out = State::new();
    for (rel, content) in tree {
        let Some(bytes) = content else { continue };
        let name = rel.file_name().unwrap().to_string_lossy();
        let Some(leaf) = name.strip_prefix('_') else {
            continue; // a temp file
        };
        let key = match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(folder) => format!("{}/{leaf}", folder.to_string_lossy()),
            None => leaf.to_owned(),
        };
        out.insert(key, bytes.clone());
    }
    out
}

/// Writes `value` (or removes the file) at the tree path of `key` in `tree`.
fn set_file(tree: &Path, key: &str, value: Option<&[u8]>) {
    let path = tree.join(leaf_rel(key));
    match value {
        Some(v) => {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, v).unwrap();
        }
        None => {
            let _ = fs::remove_file(&path);
        }
    }
}

/// F2: power cuts at every Log point of a sequential writer, with several checkpoints and
/// dropped segments along the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_power_cut_loses_no_acknowledged_batch() {
    let mut rng = StdRng::seed_from_u64(seed("crash_power_cut_loses_no_acknowledged_batch"));
    let tmp = scratch();
    let dir = tmp.path().join("data");
    let spy = syncfs_spy::Spy::watch(&dir.join("tree"));
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let options = FileOptions {
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: 3 << 10,
        tail_batches: 16,
        sync_hook: Some(recording_hook_with_spy(&rec, Some(&spy))),
        ..FileOptions::default()
    };
    let b = FileBackend::open(&dir, options).await.unwrap();

    // One writer, so Log point k is exactly batch k (0-based) and the durable batches at it
    // are 0..=k. states[m] is the state after batches 0..m.
    let mut batches = Vec::new();
    let mut states = vec![State::new()];
    for idx in 0..PC_BATCHES {
        let batch = pc_batch(&mut rng, idx);
        let seq = b.commit(batch.clone()).await.unwrap();
        assert_eq!(seq, idx as u64 + 1);
        assert_eq!(
            rec.lock().unwrap().logs.len(),
            idx + 1,
            "one Log point per commit"
        );
        let mut next = states.last().unwrap().clone();
        apply(&mut next, &batch);
        states.push(next);
        batches.push(batch);
        if idx % 37 == 36 {
            b.checkpoint().await.unwrap();
        }
    }
    b.close().await.unwrap();
    drop(b);
    let rec = Arc::try_unwrap(rec)
        .ok()
        .expect("the backend is closed")
        .into_inner()
        .unwrap();
    let mid_run = rec
        .checkpoints
        .iter()
        .filter(|c| c.logs_before > 0 && c.logs_before < PC_BATCHES)
        .count();
    assert!(mid_run >= 4, "only {mid_run} checkpoints during the run");
    let overlapped = rec
        .checkpoints
        .iter()
        .filter(|c| c.logs_before > c.seq as usize)
        .count();
    eprintln!(
        "power cut: {} checkpoints, {overlapped} of them with commits acknowledged while they ran",
        rec.checkpoints.len()
    );
    // Each Checkpoint point claims the tree is durable up to its sequence N: the last real
    // syncfs of the tree before it must have flushed the state after batch N. The applier
    // goes on beside the checkpointer, so keys that later batches change may hold any of
    // their later versions in that image (the applier may even be half way through a
    // batch); every other key holds exactly its version at N.
    let flushed = spy.images();
    drop(spy);
    assert!(
        !flushed.is_empty(),
        "no syncfs of the tree seen (is the spy linked in?)"
    );
    let flushed_at = |c: &CheckpointImage| -> Snapshot {
        if c.syncs > 0 {
            flushed[c.syncs - 1].clone()
        } else {
            Snapshot::new()
        }
    };
    for (i, c) in rec.checkpoints.iter().enumerate() {
        let n = c.seq as usize;
        let image = tree_state(&flushed_at(c));
        let keys: BTreeSet<&String> = image.keys().chain(states[n].keys()).collect();
        for key in keys {
            // Every version the key had from N on, also the ones a batch overwrote within
            // itself (the applier may be half way through a batch).
            let mut later: Vec<Option<&Vec<u8>>> = states[n..].iter().map(|s| s.get(key)).collect();
            later.extend(
                batches[n..]
                    .iter()
                    .flat_map(|b| b.changes.iter())
                    .filter(|ch| ch.key == **key)
                    .map(|ch| ch.value.as_ref()),
            );
            let got = image.get(key);
            let changed_later = batches[n..]
                .iter()
                .any(|b| b.changes.iter().any(|ch| ch.key == **key));
            let ok = if changed_later {
                later.contains(&got)
            } else {
                got == states[n].get(key)
            };
            assert!(
                ok,
                "checkpoint {i} (seq {n}, after {} Log points) declared a tree durable that no \
                 syncfs flushed: {key} is {} in the last flushed image, {} at seq {n}",
                c.logs_before,
                show(got),
                show(states[n].get(key))
            );
        }
    }

    let work = scratch();
    for k in 0..PC_BATCHES {
        let log = &rec.logs[k];
        // The tree durable at Log point k: what the syncfs of the checkpoint that CHECKPOINT
        // names then flushed (a later syncfs only flushed more).
        let j = checkpoint_seq(&log.checkpoint) as usize;
        let ckpt = rec
            .checkpoints
            .iter()
            .find(|c| c.seq as usize == j)
            .unwrap_or_else(|| panic!("Log point {k}: no Checkpoint sync point for seq {j}"));
        assert!(
            j <= k + 1,
            "Log point {k}: CHECKPOINT {j} is ahead of the log"
        );
        let image = work.path().join(format!("cut{k}"));
        let tree = image.join("tree");
        build_image(&image, &flushed_at(ckpt), log);

        // Every tree file changed since that checkpoint is in any state the page cache may
        // have left on disk: as checkpointed, gone, empty, any version written since, or
        // the start of the newest one.
        let touched: BTreeSet<&str> = batches[j..=k]
            .iter()
            .flat_map(|b| b.changes.iter().map(|c| c.key.as_str()))
            .collect();
        let mut damage = Vec::new();
        for key in &touched {
            let choice = rng.gen_range(0..6);
            match choice {
                0 => {}
                1 => set_file(&tree, key, None),
                2 => set_file(&tree, key, Some(b"")),
                3 => set_file(&tree, key, states[k + 1].get(*key).map(|v| &v[..])),
                4 => {
                    let m = rng.gen_range(j..=k + 1);
                    set_file(&tree, key, states[m].get(*key).map(|v| &v[..]));
                }
                _ => {
                    if let Some(v) = states[k + 1].get(*key) {
                        set_file(&tree, key, Some(&v[..rng.gen_range(0..=v.len())]));
                    }
                }
            }
            damage.push(format!("{key}:{choice}"));
        }
        // Leftover temp files of interrupted writes.
        let keys: Vec<&&str> = touched.iter().collect();
        for _ in 0..rng.gen_range(1..=3) {
            let key = keys[rng.gen_range(0..keys.len())];
            let leaf = tree.join(leaf_rel(key));
            let folder = leaf.parent().unwrap();
            fs::create_dir_all(folder).unwrap();
            let name = format!(".{}.tmp", leaf.file_name().unwrap().to_string_lossy());
            let junk: Vec<u8> = (0..rng.gen_range(0..32)).map(|_| rng.gen()).collect();
            fs::write(folder.join(name), junk).unwrap();
        }
        // Half of the time, the start of the next group's write reached the disk too.
        let seg_name = last_segment(&log.wal);
        let seg_path = image.join("wal").join(&seg_name);
        let durable = log.wal[&seg_name].clone().unwrap();
        let next = rec
            .logs
            .get(k + 1)
            .and_then(|l| l.wal.get(&seg_name).cloned().flatten());
        let torn = match next {
            Some(n) if n.len() > durable.len() && rng.gen_bool(0.5) => {
                let cut = rng.gen_range(durable.len() + 1..n.len());
                fs::write(&seg_path, &n[..cut]).unwrap();
                Some(cut - durable.len())
            }
            _ => None,
        };

        let what = format!(
            "power cut at Log point {k} (checkpoint after {j} batches; damage {damage:?}; \
             torn tail {torn:?})"
        );
        check_image(&image, &states[k + 1], k as u64 + 1, k % 10 == 0, &what).await;
        fs::remove_dir_all(&image).unwrap();
    }
}
