//! `kill -9` of a real writer process (this test binary, re-executed) at random instants,
//! with 8 concurrent writers committing multi-key batches: every acknowledged batch
//! survives, every batch is all or nothing, no temp file leaks (F1, F3, G1).

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};

use super::support::{
    apply, assert_clean, copy_dir, diff, emit, read_state, runtime, scratch, seed, ChildTest, State,
};

const CHILD_DIR_ENV: &str = "VAULTRS_CRASH_CHILD_DIR";
const CHILD_CYCLE_ENV: &str = "VAULTRS_CRASH_CHILD_CYCLE";
const WRITERS: u64 = 8;
/// Each writer cycles over this many folders of its own, so the store stays small however
/// many batches a cycle commits.
const SLOTS: u64 = 24;
/// Batches per writer per cycle (never reached in practice; the child then idles until
/// killed).
const CHILD_BATCHES: u64 = 1_000_000;
/// Kill cycles per run; `VAULTRS_CRASH_CYCLES` overrides (G1 asks for 1000).
const KILL_CYCLES: u64 = 25;

fn kill9_slot_key(w: u64, n: u64, i: u64) -> String {
    format!("w{w}/s{}/k{i}", n % SLOTS)
}

/// Batch `n` of writer `w` in `cycle`: 3-5 puts into folder `n % SLOTS` with values naming
/// cycle, writer, batch and key; on a fixed schedule also an overwrite in another folder, the
/// delete of one key, and the delete of a whole folder (the folder goes away). Writers only
/// touch their own keys, and every value names the batch that wrote it.
fn kill9_batch(cycle: u64, w: u64, n: u64) -> Batch {
    let mut batch = Batch::new();
    for i in 0..3 + n % 3 {
        let pad = "x".repeat(((n * 7 + i * 13) % 40) as usize);
        batch = batch.put(
            kill9_slot_key(w, n, i),
            format!("c{cycle} w{w} b{n} k{i} {pad}"),
        );
    }
    if n >= 2 && n.is_multiple_of(2) {
        batch = batch.put(
            kill9_slot_key(w, n + SLOTS - 2, 0),
            format!("c{cycle} w{w} b{n} overwrites"),
        );
    }
    if n % 3 == 1 {
        batch = batch.delete(kill9_slot_key(w, n + SLOTS - 1, 1));
    }
    if n % 5 == 4 {
        for i in 0..5 {
            batch = batch.delete(kill9_slot_key(w, n + SLOTS - 4, i));
        }
    }
    batch
}

/// Writer `w`'s keys after its batches `0..upto` of `cycle`, starting from `before`.
fn kill9_state(before: &State, cycle: u64, w: u64, upto: u64) -> State {
    let mut state = before.clone();
    for n in 0..upto {
        apply(&mut state, &kill9_batch(cycle, w, n));
    }
    state
}

/// The writer process of `crash_kill9_keeps_acknowledged_batches`; does nothing unless that
/// test started it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the writer process of crash_kill9_keeps_acknowledged_batches"]
async fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let cycle: u64 = std::env::var(CHILD_CYCLE_ENV).unwrap().parse().unwrap();
    // Never outlive the test that started this process.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let give_up = Instant::now() + Duration::from_secs(60);
    // Frequent checkpoints and segment drops, so kills also land inside them.
    let options = FileOptions {
        checkpoint_interval: Duration::from_millis(20),
        checkpoint_bytes: 12 << 10,
        tail_batches: 64,
        ..FileOptions::default()
    };
    let backend = Arc::new(
        FileBackend::open(PathBuf::from(dir), options)
            .await
            .expect("child: opening the data directory"),
    );
    emit("OPEN");
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let backend = backend.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..CHILD_BATCHES {
                if Instant::now() > give_up {
                    break;
                }
                backend
                    .commit(kill9_batch(cycle, w, n))
                    .await
                    .expect("child: commit");
                emit(&format!("ACK {w} {n}"));
                if (n + w) % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            emit(&format!("DONE {w}"));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Wait to be killed: returning would close (checkpoint) the backend.
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[derive(Default, Debug)]
struct KillStats {
    acks: u64,
    in_flight_kills: u64,
    unacked_but_committed: u64,
    idle_kills: u64,
    early_kills: u64,
}

/// F1/F3/G1: 25 cycles of "8 writers, kill -9 at a random instant, reopen, check".
#[test]
fn crash_kill9_keeps_acknowledged_batches() {
    let mut rng = StdRng::seed_from_u64(seed("crash_kill9_keeps_acknowledged_batches"));
    let rt = runtime();
    let tmp = scratch();
    let dir = tmp.path().join("data");
    let started = Instant::now();
    // The state after the last cycle.
    let mut expected = State::new();
    let mut stats = KillStats::default();
    let cycles: u64 = std::env::var("VAULTRS_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(KILL_CYCLES);

    for cycle in 0..cycles {
        let cycle_text = cycle.to_string();
        let mut child = ChildTest::spawn(
            "crash::kill9::crash_writer_child",
            &[
                (CHILD_DIR_ENV, dir.as_os_str()),
                (CHILD_CYCLE_ENV, OsStr::new(&cycle_text)),
            ],
        );

        // When to kill: after a random number of ACKs, at a random time after the first ACK,
        // or early (possibly during the child's own recovery of the previous crash).
        let mode = rng.gen_range(0..5);
        let deadline = Instant::now() + Duration::from_secs(20);
        let count_acks = |lines: &[String]| lines.iter().filter(|l| l.starts_with("ACK ")).count();
        match mode {
            0 | 1 => {
                let k = rng.gen_range(1..=1500);
                child.wait_until(deadline, |l| count_acks(l) >= k);
                std::thread::sleep(Duration::from_micros(rng.gen_range(0..2000)));
            }
            2 | 3 => {
                child.wait_until(deadline, |l| count_acks(l) >= 1);
                std::thread::sleep(Duration::from_millis(rng.gen_range(20..300)));
            }
            _ => {
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..60)));
            }
        }
        child.kill().expect("SIGKILL");
        let (status, lines) = child.finish();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "cycle {cycle}: the writer process ended on its own ({status}); its output:\n{}",
            lines.join("\n")
        );

        // ACKs per writer: always 0, 1, 2, ... in order.
        let mut acked = vec![0u64; WRITERS as usize];
        let mut done = 0;
        for line in &lines {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["ACK", w, n] => {
                    let (w, n): (usize, u64) = (w.parse().unwrap(), n.parse().unwrap());
                    assert_eq!(
                        n, acked[w],
                        "cycle {cycle}: writer {w} acknowledged out of order"
                    );
                    acked[w] += 1;
                }
                ["DONE", _] => done += 1,
                _ => {}
            }
        }
        let total: u64 = acked.iter().sum();
        stats.acks += total;
        if mode < 4 {
            assert!(
                total > 0,
                "cycle {cycle}: no batch acknowledged within 20 s"
            );
        }
        if total == 0 {
            stats.early_kills += 1;
        } else if done < WRITERS {
            stats.in_flight_kills += 1;
        } else {
            stats.idle_kills += 1;
        }

        // Reopen, in place half of the time; otherwise a copy, leaving the crashed directory
        // for the next writer process to recover (under the threat of the next kill).
        let verify_tmp;
        let vdir = if rng.gen_bool(0.5) {
            dir.clone()
        } else {
            verify_tmp = scratch();
            let copy = verify_tmp.path().join("data");
            copy_dir(&dir, &copy);
            copy
        };
        rt.block_on(async {
            let what = format!("cycle {cycle} (acknowledged per writer {acked:?})");
            let b = FileBackend::open(&vdir, FileOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{what}: reopening after kill -9: {e}"));
            let all = read_state(&b).await;
            let keys: Vec<String> = all.keys().cloned().collect();
            assert_clean(&vdir, &keys, &what);
            let mut next = State::new();
            for w in 0..WRITERS {
                let prefix = format!("w{w}/");
                let mine = |s: &State| -> State {
                    s.iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                let (before, actual) = (mine(&expected), mine(&all));
                let n = acked[w as usize];
                // Acknowledged: batches 0..n. Batch n may have committed without its ACK line
                // getting out; nothing later was ever sent. Anything else (a lost
                // acknowledged batch, a half batch, a resurrected delete) matches neither.
                let s0 = kill9_state(&before, cycle, w, n);
                if actual == s0 {
                    next.extend(s0);
                    continue;
                }
                let s1 = kill9_state(&before, cycle, w, n + 1);
                if n < CHILD_BATCHES && actual == s1 {
                    stats.unacked_but_committed += 1;
                    next.extend(s1);
                    continue;
                }
                panic!(
                    "{what}: writer {w} holds neither exactly its {n} acknowledged batches \
                     nor those plus batch {n} whole.\nAgainst the acknowledged state: {}\n\
                     Against acknowledged + batch {n}: {}",
                    diff(&actual, &s0),
                    diff(&actual, &s1)
                );
            }
            assert!(
                all == next,
                "{what}: keys outside the writers' folders: {}",
                diff(&all, &next)
            );
            expected = next;
            b.close().await.unwrap();
        });
    }
    eprintln!(
        "kill -9: {cycles} cycles in {:.1?}: {stats:?}",
        started.elapsed()
    );
    assert!(
        stats.in_flight_kills >= cycles / 2,
        "too few kills landed while writes were in flight: {stats:?}"
    );
}
