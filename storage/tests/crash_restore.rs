//! Crash safety of restore and wipe (RELIABILITY.md F5): a writer process (this test binary,
//! re-executed) is killed with SIGKILL at every step of the replace protocol, and at random
//! instants; on reopen the directory holds exactly the old store (its log id, its batches,
//! including those only in its log) or exactly the new one (a new log id, sequence numbers
//! going on, nothing of the old log replayed onto it), never a mix, and nothing is left
//! over. A recovery that is itself killed at each of its steps is finished by the next open.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultrs_storage::physical::file::{ReplaceStep, SyncHook, SyncPoint};
use vaultrs_storage::{Batch, FileBackend, FileOptions, LogId, Physical};

use crate::crash::support::{copy_dir, diff, emit, read_state, runtime, scratch, ChildTest, State};

const DIR_ENV: &str = "VAULTRS_RESTORE_CHILD_DIR";
const SNAPSHOT_ENV: &str = "VAULTRS_RESTORE_CHILD_SNAPSHOT";
const MODE_ENV: &str = "VAULTRS_RESTORE_CHILD_MODE";
const KILL_ENV: &str = "VAULTRS_RESTORE_CHILD_KILL_AT";

const STEPS: [ReplaceStep; 7] = [
    ReplaceStep::Staged,
    ReplaceStep::Prepared,
    ReplaceStep::Committed,
    ReplaceStep::TreeSwapped,
    ReplaceStep::WalSwapped,
    ReplaceStep::CheckpointSwapped,
    ReplaceStep::Cleaned,
];

fn step_name(step: ReplaceStep) -> String {
    format!("{step:?}")
}

/// The process side: opens the directory with a hook that kills the process at the named
/// step, then restores, wipes or only opens (which finishes an interrupted replace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the writer process of the crash_restore tests"]
async fn crash_restore_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let kill_at = std::env::var(KILL_ENV).unwrap_or_default();
    let hook: SyncHook = Arc::new(move |point: SyncPoint, _: &Path| {
        if let SyncPoint::Replace(step) = point {
            if step_name(step) == kill_at {
                emit(&format!("KILLED AT {kill_at}"));
                // SAFETY: signalling our own process.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            }
        }
    });
    let options = FileOptions {
        sync_hook: Some(hook),
        ..FileOptions::default()
    };
    let b = FileBackend::open(PathBuf::from(dir), options)
        .await
        .expect("child: open");
    emit("OPEN");
    match std::env::var(MODE_ENV).unwrap().as_str() {
        "restore" => {
            let bytes = std::fs::read(std::env::var(SNAPSHOT_ENV).unwrap()).unwrap();
            b.restore(&bytes[..], |_| {}).await.expect("child: restore");
        }
        "wipe" => {
            b.wipe().await.expect("child: wipe");
        }
        "install" => {
            b.wipe_and_install(installed().into_iter().collect())
                .await
                .expect("child: install");
        }
        _ => {}
    }
    emit("DONE");
    // Wait to be killed: closing would checkpoint.
    tokio::time::sleep(Duration::from_secs(30)).await;
}

/// Runs the child on `dir`; kills it after `delay` if given, else expects it to kill itself.
/// Returns its output lines.
fn run_child(
    dir: &Path,
    snapshot: &Path,
    mode: &str,
    kill_at: &str,
    delay: Option<Duration>,
) -> Vec<String> {
    let mut child = ChildTest::spawn(
        "crash_restore::crash_restore_child",
        &[
            (DIR_ENV, dir.as_os_str()),
            (SNAPSHOT_ENV, snapshot.as_os_str()),
            (MODE_ENV, OsStr::new(mode)),
            (KILL_ENV, OsStr::new(kill_at)),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    child.wait_until(deadline, |lines| match delay {
        Some(_) => lines.iter().any(|l| l.ends_with("OPEN")),
        None => lines.iter().any(|l| l == "DONE" || l.contains("KILLED AT")),
    });
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let _ = child.kill();
    let (status, lines) = child.finish();
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "{mode} killed at {kill_at:?}: the child ended otherwise ({status}): {lines:?}"
    );
    lines
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Found {
    Old,
    New,
}

/// The old store: 400 keys, the last batches only in its log (an image taken while it ran,
/// as a kill -9 would leave it), so replaying its log onto a new tree would show.
struct Fixture {
    _tmp: tempfile::TempDir,
    old_image: PathBuf,
    old: State,
    old_id: LogId,
    old_seq: u64,
    snapshot: PathBuf,
    new: State,
}

fn fixture(rt: &tokio::runtime::Runtime, new_keys: usize) -> Fixture {
    let tmp = scratch();
    let (live, old_image) = (tmp.path().join("live"), tmp.path().join("old-image"));
    let (old, old_id, old_seq) = rt.block_on(async {
        let options = FileOptions {
            checkpoint_interval: Duration::from_secs(3600),
            checkpoint_bytes: u64::MAX,
            ..FileOptions::default()
        };
        let b = FileBackend::open(&live, options).await.unwrap();
        for round in 0..8 {
            let mut batch = Batch::new();
            for i in 0..50 {
                batch = batch.put(
                    format!("shared/k{}", round * 50 + i),
                    format!("old {round}"),
                );
            }
            b.commit(batch).await.unwrap();
            if round == 3 {
                b.checkpoint().await.unwrap();
            }
        }
        b.commit(
            Batch::new()
                .put("only-old/in-log", b"old".to_vec())
                .delete("shared/k0"),
        )
        .await
        .unwrap();
        // Applied and visible, but after the checkpoint: only the log makes them durable.
        let state = read_state(&b).await;
        copy_dir(&live, &old_image);
        let (id, seq) = (b.log_id(), b.last_seq());
        b.close().await.unwrap();
        (state, id, seq)
    });
    let snapshot = tmp.path().join("new.snapshot");
    let new = rt.block_on(async {
        let src = FileBackend::open(tmp.path().join("src"), FileOptions::default())
            .await
            .unwrap();
        for chunk in (0..new_keys).collect::<Vec<_>>().chunks(500) {
            let mut batch = Batch::new();
            for &i in chunk {
                batch = batch.put(format!("shared/k{i}"), format!("new {i}"));
            }
            src.commit(batch).await.unwrap();
        }
        src.put("only-new/k", b"new".to_vec()).await.unwrap();
        let mut bytes = Vec::new();
        src.snapshot(&mut bytes, |_| {}).await.unwrap();
        std::fs::write(&snapshot, &bytes).unwrap();
        let state = read_state(&src).await;
        src.close().await.unwrap();
        state
    });
    Fixture {
        _tmp: tmp,
        old_image,
        old,
        old_id,
        old_seq,
        snapshot,
        new,
    }
}

/// Opens `dir` and says whether it holds exactly the old or exactly the new store.
fn found(rt: &tokio::runtime::Runtime, fx: &Fixture, dir: &Path, new: &State, what: &str) -> Found {
    rt.block_on(async {
        let b = FileBackend::open(dir, FileOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: reopening: {e}"));
        let state = read_state(&b).await;
        let position = b.position();
        b.close().await.unwrap();
        let leftovers: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !["LOCK", "CHECKPOINT", "tree", "wal", "spare"].contains(&n.as_str()))
            .collect();
        assert!(leftovers.is_empty(), "{what}: left over: {leftovers:?}");
        if state == fx.old {
            assert_eq!(position.log_id, fx.old_id, "{what}: old store, other log id");
            assert_eq!(position.seq, fx.old_seq, "{what}: old store, other seq");
            Found::Old
        } else if state == *new {
            assert_ne!(position.log_id, fx.old_id, "{what}: new store, old log id");
            assert!(position.seq >= fx.old_seq, "{what}: sequence went back");
            Found::New
        } else {
            panic!(
                "{what}: neither the old nor the new store.\nAgainst the old: {}\nAgainst the new: {}",
                diff(&state, &fx.old),
                diff(&state, new)
            );
        }
    })
}

/// What the `install` mode puts in place of the old store.
fn installed() -> State {
    [
        ("core/keyring".to_string(), b"primary's keyring".to_vec()),
        ("local/replication/state".to_string(), b"secondary".to_vec()),
    ]
    .into_iter()
    .collect()
}

/// SIGKILL at every step of restore, wipe and wipe-and-install; then, for a replace killed right after its
/// commit, SIGKILL at every step of the recovery that finishes it.
#[test]
fn crash_restore_and_wipe_killed_at_every_step() {
    let rt = runtime();
    let fx = fixture(&rt, 300);
    let work = scratch();
    let empty = State::new();
    let installed = installed();
    for mode in ["restore", "wipe", "install"] {
        let new = match mode {
            "restore" => &fx.new,
            "wipe" => &empty,
            _ => &installed,
        };
        for (i, step) in STEPS.iter().enumerate() {
            let dir = work.path().join(format!("{mode}-{i}"));
            copy_dir(&fx.old_image, &dir);
            let lines = run_child(&dir, &fx.snapshot, mode, &step_name(*step), None);
            assert!(
                lines.iter().any(|l| l.contains("KILLED AT")),
                "{mode}: the child never reached {step:?}: {lines:?}"
            );
            // Copy the killed directory for the interrupted-recovery runs.
            let killed = work.path().join(format!("{mode}-{i}-killed"));
            copy_dir(&dir, &killed);
            let what = format!("{mode} killed at {step:?}");
            let expect = if i < 2 { Found::Old } else { Found::New };
            assert_eq!(found(&rt, &fx, &dir, new, &what), expect, "{what}");

            if *step == ReplaceStep::Committed {
                for later in &STEPS[3..] {
                    let again = work.path().join(format!("{mode}-{i}-{later:?}"));
                    copy_dir(&killed, &again);
                    run_child(&again, &fx.snapshot, "open", &step_name(*later), None);
                    let what = format!("{what}, then its recovery killed at {later:?}");
                    assert_eq!(found(&rt, &fx, &again, new, &what), Found::New, "{what}");
                }
            }
        }
    }
}

/// SIGKILL at random instants of a restore of 5000 keys: always exactly old or new.
#[test]
fn crash_restore_killed_at_random_instants() {
    let seed = std::env::var("VAULTRS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("crash_restore_killed_at_random_instants: VAULTRS_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let rt = runtime();
    let fx = fixture(&rt, 5000);
    let work = scratch();
    // How long a whole restore takes here, so the kills spread over it.
    let timing = work.path().join("timing");
    copy_dir(&fx.old_image, &timing);
    let t = Instant::now();
    run_child(&timing, &fx.snapshot, "restore", "never", None);
    let span = t.elapsed().as_micros().max(1000) as u64;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for cycle in 0..16 {
        let dir = work.path().join(format!("cycle{cycle}"));
        copy_dir(&fx.old_image, &dir);
        let delay = Duration::from_micros(rng.gen_range(0..span));
        let lines = run_child(&dir, &fx.snapshot, "restore", "never", Some(delay));
        let what = format!("restore killed {delay:?} after open (cycle {cycle})");
        let result = found(&rt, &fx, &dir, &fx.new, &what);
        let finished = lines.iter().any(|l| l == "DONE");
        if finished {
            assert_eq!(result, Found::New, "{what}: acknowledged, then lost");
        }
        *seen
            .entry(format!(
                "{result:?}{}",
                if finished { " (done)" } else { "" }
            ))
            .or_default() += 1;
    }
    eprintln!("restore kills: {seen:?}");
}
