//! A damaged (or missing) CHECKPOINT: opening replays everything the commit log still holds
//! (sound, since segments only go once a durable checkpoint covers them) and gives the
//! directory a new log id; when the log cannot show the tree complete (no segment left, a
//! gap, damage) opening refuses with a message naming the file and how to restore. A
//! CHECKPOINT of a newer format is refused, not treated as damage.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vaultrs_storage::{Batch, Error, FileBackend, FileOptions, LogId, Physical};

use crate::crash::support::{copy_dir, diff, read_state, State};

/// Damages a data directory's log.
type BreakLog = fn(&Path);

struct Image {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    state: State,
    seq: u64,
    log_id: LogId,
}

/// A directory as `kill -9` would leave it: several checkpoints (old segments dropped, so
/// the log no longer starts at batch 1), then batches that only the log holds.
async fn image() -> Image {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let options = FileOptions {
        tail_batches: 6,
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_bytes: u64::MAX,
        ..FileOptions::default()
    };
    let b = FileBackend::open(&live, options).await.unwrap();
    for round in 0..6u32 {
        for i in 0..4u32 {
            let batch = Batch::new()
                .put(format!("k/{round}/{i}"), format!("v{round}.{i}"))
                .put("counter", round.to_le_bytes().to_vec())
                .delete(format!("k/{}/{i}", round.saturating_sub(2)));
            b.commit(batch).await.unwrap();
        }
        if round < 5 {
            b.checkpoint().await.unwrap();
        }
    }
    let state = read_state(&b).await;
    let dir = tmp.path().join("image");
    copy_dir(&live, &dir);
    let (seq, log_id) = (b.last_seq(), b.log_id());
    b.close().await.unwrap();
    let first = segments(&dir)[0].clone();
    assert_ne!(
        first.file_name().unwrap().to_string_lossy(),
        "00000000000000000001.log",
        "old segments should be gone"
    );
    Image {
        _tmp: tmp,
        dir,
        state,
        seq,
        log_id,
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_checkpoint_is_replaced_by_a_replay_of_the_log() {
    let img = image().await;
    let damages: [(&str, Option<&[u8]>); 5] = [
        ("garbage", Some(b"\x00\x13\x37garbage")),
        ("truncated", Some(br#"{"version":2,"seq":1"#)),
        ("empty", Some(b"")),
        (
            "bad log id",
            Some(br#"{"version":2,"seq":3,"log_id":"nope"}"#),
        ),
        ("missing", None),
    ];
    for (what, content) in damages {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("d");
        copy_dir(&img.dir, &dir);
        match content {
            Some(bytes) => fs::write(dir.join("CHECKPOINT"), bytes).unwrap(),
            None => fs::remove_file(dir.join("CHECKPOINT")).unwrap(),
        }
        let b = FileBackend::open(&dir, FileOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let state = read_state(&b).await;
        assert!(state == img.state, "{what}: {}", diff(&state, &img.state));
        assert_eq!(b.last_seq(), img.seq, "{what}");
        assert_ne!(b.log_id(), img.log_id, "{what}: the log id must change");
        let record: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("CHECKPOINT")).unwrap()).unwrap();
        assert_eq!(record["seq"], img.seq, "{what}: CHECKPOINT rewritten");
        assert_eq!(record["log_id"], b.log_id().to_string());
        b.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_checkpoint_without_a_complete_log_is_refused() {
    let img = image().await;
    let refusals: [(&str, BreakLog); 3] = [
        ("no segment", |dir| {
            for s in segments(dir) {
                fs::remove_file(s).unwrap();
            }
        }),
        ("a gap in the log", |dir| {
            let s = segments(dir);
            assert!(s.len() >= 3, "{s:?}");
            fs::remove_file(&s[1]).unwrap();
        }),
        ("a damaged record", |dir| {
            let s = segments(dir);
            let mut bytes = fs::read(&s[0]).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0xff;
            fs::write(&s[0], bytes).unwrap();
        }),
    ];
    for (what, break_log) in refusals {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("d");
        copy_dir(&img.dir, &dir);
        fs::write(dir.join("CHECKPOINT"), b"{{{").unwrap();
        break_log(&dir);
        match FileBackend::open(&dir, FileOptions::default()).await {
            Err(Error::Corrupt { what: file, reason }) => {
                assert_eq!(file, "CHECKPOINT", "{what}");
                assert!(
                    reason.contains(&dir.join("CHECKPOINT").display().to_string())
                        && reason.contains("restore"),
                    "{what}: the message should name the file and how to restore: {reason}"
                );
            }
            Err(other) => panic!("{what}: expected Corrupt, got {other}"),
            Ok(_) => panic!("{what}: opened a directory that cannot be shown complete"),
        }
    }

    // A newer format is refused as such, even with the log intact.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("d");
    copy_dir(&img.dir, &dir);
    fs::write(dir.join("CHECKPOINT"), br#"{"version":9,"seq":1}"#).unwrap();
    match FileBackend::open(&dir, FileOptions::default()).await {
        Err(Error::Corrupt { reason, .. }) => assert!(reason.contains("version 9"), "{reason}"),
        Err(other) => panic!("newer format: {other}"),
        Ok(_) => panic!("a newer CHECKPOINT format was opened"),
    }
}
