//! The wipe guard on `write sys/replication/performance/secondary/enable`: refused without a
//! terminal; in one, a snapshot is offered, then confirmation asked, and nothing is sent
//! before that; `-f` for scripts; other writes are not guarded.

use super::*;
use crate::ui::ScriptedPrompter;

/// A real snapshot archive holding `entries`, written by the storage crate.
fn archive_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let options = FileOptions {
            durable: false,
            ..FileOptions::default()
        };
        let store = FileBackend::open(dir.path(), options).await.unwrap();
        let mut batch = Batch::new();
        for (k, v) in entries {
            batch = batch.put(*k, v.to_vec());
        }
        store.commit(batch).await.unwrap();
        let mut out = Vec::new();
        store.snapshot(&mut out, |_| {}).await.unwrap();
        store.close().await.unwrap();
        out
    })
}

#[test]
fn wipe_guard() {
    let args = [
        "write",
        "sys/replication/performance/secondary/enable",
        "token=jwt",
    ];
    let path = "/v1/sys/replication/performance/secondary/enable";

    // No terminal, no -force: refused, and not one request reaches the server.
    let fake = FakeVault::start(vec![("PUT", path, 204, "")]);
    let (out, err, code) = run_with(&args, "y\ny\n", env_for(&fake), |_| {});
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with("Refusing to write sys/replication/performance/secondary/enable"),
        "{err}"
    );
    assert!(err.contains("Nothing was sent"), "{err}");
    assert!(
        fake.seen().is_empty(),
        "a request was sent: {:?}",
        fake.seen()
    );

    // -non-interactive refuses even in a terminal.
    let mut ni = args.to_vec();
    ni.insert(1, "-non-interactive");
    let (_, _, code) = run_with(&ni, "", env_for(&fake), |ui| ui.interactive = true);
    assert_eq!(code, 1);
    assert!(fake.seen().is_empty());

    // In a terminal: the snapshot offer, its file name, then the confirmation. The snapshot
    // is taken (a real archive, checked as it arrives); saying no then sends nothing.
    let archive = archive_of(&[("core/x", b"1"), ("logical/u/a", b"secret")]);
    let fake = FakeVault::start_raw(vec![
        ("PUT", path, 204, Vec::new()),
        ("GET", "/v1/sys/storage/snapshot", 200, archive.clone()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("before-enable.snap");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let prompter = |answers: &[&str], asked: &Arc<Mutex<Vec<String>>>| ScriptedPrompter {
        answers: answers.iter().map(|s| s.to_string()).collect(),
        asked: asked.clone(),
    };
    let p = prompter(&["y", file.to_str().unwrap(), "n"], &asked);
    let (_, err, code) = run_with(&args, "", env_for(&fake), |ui| {
        ui.interactive = true;
        ui.prompter = Box::new(p);
    });
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Snapshot of 2 keys saved to"), "{err}");
    assert!(err.ends_with("Canceled. Nothing was sent.\n"), "{err}");
    assert_eq!(asked.lock().unwrap().len(), 3);
    assert_eq!(std::fs::read(&file).unwrap(), archive);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/v1/sys/storage/snapshot");

    // The snapshot fails (refused, or cut short): nothing is sent, no file is left.
    for (status, body) in [
        (403, br#"{"errors":["permission denied"]}"#.to_vec()),
        (200, archive[..archive.len() - 5].to_vec()),
    ] {
        let fake = FakeVault::start_raw(vec![
            ("PUT", path, 204, Vec::new()),
            ("GET", "/v1/sys/storage/snapshot", status, body),
        ]);
        let failed = dir.path().join("failed.snap");
        let p = prompter(&["y", failed.to_str().unwrap(), "y"], &asked);
        let (_, err, code) = run_with(&args, "", env_for(&fake), |ui| {
            ui.interactive = true;
            ui.prompter = Box::new(p);
        });
        assert_ne!(code, 0, "{err}");
        assert!(err.contains("Nothing was sent"), "{err}");
        assert!(
            fake.seen().iter().all(|s| s.method == "GET"),
            "{:?}",
            fake.seen()
        );
        assert!(!failed.exists() && !dir.path().join("failed.snap.tmp").exists());
    }

    // No snapshot, and yes: the request is sent once.
    let fake = FakeVault::start(vec![("PUT", path, 204, "")]);
    let p = prompter(&["n", "y"], &asked);
    let (out, err, code) = run_with(&args, "", env_for(&fake), |ui| {
        ui.interactive = true;
        ui.prompter = Box::new(p);
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Success! Data written to: sys/replication/performance/secondary/enable\n"
    );
    assert_eq!(fake.seen().len(), 1);

    // -f answers both questions for scripts.
    let mut forced = args.to_vec();
    forced.insert(1, "-f");
    let (_, err, code) = run_with(&forced, "", env_for(&fake), |_| {});
    assert_eq!(code, 0, "{err}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body, r#"{"token":"jwt"}"#);

    // Other writes are not guarded.
    let fake2 = FakeVault::start(vec![(
        "PUT",
        "/v1/sys/replication/performance/primary/enable",
        204,
        "",
    )]);
    let (_, _, code) = run_with(
        &["write", "-f", "sys/replication/performance/primary/enable"],
        "",
        env_for(&fake2),
        |_| {},
    );
    assert_eq!(code, 0);
}
