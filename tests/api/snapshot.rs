//! Storage snapshots against real servers: `sys/storage/snapshot` taken while writes go on
//! (consistent at its sequence), restored into the same server (what was saved is back,
//! what came after is gone, served at once), refused on a server of other keys unless
//! forced (then sealed until unsealed with the snapshot's keys), `sudo` required, and
//! garbage, damaged, truncated and abandoned uploads refused with nothing changed. The CLI's
//! `operator snapshot save|inspect|restore` round trip runs the binary.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::common::V;
use crate::harness::{bin, TestServer};

/// The archive, taken over HTTP.
async fn snapshot(v: &V) -> Vec<u8> {
    let r = v.get("sys/storage/snapshot").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    r.body.clone()
}

/// Restores `archive` (`path`: one of the restore endpoints).
async fn restore(v: &V, path: &str, archive: Vec<u8>) -> super::common::Resp {
    v.post_raw(path, "application/octet-stream", archive).await
}

/// The `seq` in an archive's header (the JSON after the magic and length).
fn header(archive: &[u8]) -> Value {
    let len = u32::from_le_bytes(archive[8..12].try_into().unwrap()) as usize;
    serde_json::from_slice(&archive[12..12 + len]).unwrap()
}

/// Every file of the data directory's tree, by path: what "nothing changed" compares.
fn tree_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    super::common::clean_tree_keys(dir);
    let mut out = BTreeMap::new();
    for entry in walk(&dir.join("tree")) {
        let rel = entry.strip_prefix(dir).unwrap().display().to_string();
        out.insert(rel, std::fs::read(&entry).unwrap());
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn kv1_get(v: &V, path: &str) -> Option<i64> {
    let r = v.get(path).await;
    match r.status {
        404 => None,
        200 => Some(r.data()["n"].as_i64().unwrap()),
        s => panic!("GET {path}: {s} {}", r.text()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_taken_while_writes_go_on_is_exact_at_its_seq() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("kv1", json!({"type": "kv"})).await;
    for i in 0..300 {
        v.put(&format!("kv1/bulk/{i:04}"), json!({"n": i}))
            .await
            .no_content();
    }
    // One writer, strictly in order: `a` then `b`, each acknowledged before the next. In
    // the store at any one sequence, a = b or a = b + 1; `a` sorts (and so is read) first,
    // so a snapshot that read values as they are while it walks would see b > a.
    let writer = {
        let v = v.clone();
        tokio::spawn(async move {
            for i in 1..=400i64 {
                v.put("kv1/a", json!({"n": i})).await.no_content();
                v.put("kv1/b", json!({"n": i})).await.no_content();
            }
        })
    };
    let mut taken = Vec::new();
    while !writer.is_finished() && taken.len() < 5 {
        taken.push(snapshot(&v).await);
    }
    writer.await.unwrap();
    assert!(!taken.is_empty());
    let mut seqs = Vec::new();
    for archive in taken {
        seqs.push(header(&archive)["seq"].as_u64().unwrap());
        restore(&v, "sys/storage/snapshot-restore", archive)
            .await
            .no_content();
        let (a, b) = (kv1_get(&v, "kv1/a").await, kv1_get(&v, "kv1/b").await);
        match (a, b) {
            (None, None) | (Some(1), None) => {}
            (Some(a), Some(b)) => assert!(a == b || a == b + 1, "torn snapshot: a={a} b={b}"),
            other => panic!("torn snapshot: {other:?}"),
        }
        assert_eq!(kv1_get(&v, "kv1/bulk/0299").await, Some(299));
    }
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "{seqs:?}");
}

#[tokio::test]
async fn restore_into_the_same_server_brings_back_what_was_saved() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/keep", json!({"v": "saved"})).await;
    v.put_policy("reader", r#"path "secret/*" { capabilities = ["read"] }"#)
        .await;
    let token = v.token_with(&["reader"]).await;
    v.enable("saved", json!({"type": "kv"})).await;
    v.put("saved/x", json!({"v": 1})).await.no_content();
    let archive = snapshot(&v).await;

    // Everything changes after the save.
    v.kv2_put("secret/data/keep", json!({"v": "changed"})).await;
    v.kv2_put("secret/data/after", json!({"v": "new"})).await;
    v.delete("sys/policies/acl/reader").await.no_content();
    v.post("auth/token/revoke", json!({"token": token}))
        .await
        .no_content();
    v.delete("sys/mounts/saved").await.no_content();
    v.enable("later", json!({"type": "kv"})).await;

    restore(&v, "sys/storage/snapshot-restore", archive)
        .await
        .no_content();
    // Served at once, unsealed, as saved.
    assert_eq!(v.get("sys/seal-status").await.json()["sealed"], false);
    assert_eq!(v.get("secret/data/keep").await.data()["data"]["v"], "saved");
    v.get("secret/data/after").await.not_found();
    assert!(v.get("sys/policies/acl/reader").await.data()["policy"]
        .as_str()
        .unwrap()
        .contains("secret/*"));
    let t = v.with_token(&token);
    t.get("auth/token/lookup-self").await.ok();
    assert_eq!(t.get("secret/data/keep").await.data()["data"]["v"], "saved");
    assert_eq!(v.get("saved/x").await.data()["v"], 1);
    let mounts = v.get("sys/mounts").await.data();
    assert!(mounts.get("saved/").is_some() && mounts.get("later/").is_none());
    // Writes go on in the restored store, and survive a restart.
    v.kv2_put("secret/data/more", json!({"v": 2})).await;
    assert_eq!(v.get("secret/data/more").await.data()["data"]["v"], 2);
}

#[tokio::test]
async fn a_snapshot_of_other_keys_is_refused_unless_forced_then_unseals_with_its_own() {
    let a = TestServer::dev();
    let a_key = a.dev_unseal_key();
    let va = V::root(&a);
    va.kv2_put("secret/data/x", json!({"from": "a"})).await;
    let archive = snapshot(&va).await;

    let b = TestServer::dev();
    let b_key = b.dev_unseal_key();
    let vb = V::root(&b);
    vb.kv2_put("secret/data/y", json!({"from": "b"})).await;
    let before = tree_files(&b.data_dir);
    for path in ["sys/storage/snapshot-restore", "sys/storage/raft/snapshot"] {
        restore(&vb, path, archive.clone()).await.errors(
            400,
            &["could not verify hash file, possibly the snapshot is using a different set of unseal keys; use the snapshot-force API to bypass this check"],
        );
    }
    assert_eq!(
        tree_files(&b.data_dir),
        before,
        "a refused restore changed storage"
    );
    assert_eq!(vb.get("secret/data/y").await.data()["data"]["from"], "b");

    restore(&vb, "sys/storage/snapshot-restore?force=true", archive)
        .await
        .no_content();
    assert_eq!(vb.get("sys/seal-status").await.json()["sealed"], true);
    vb.get("secret/data/x").await.some_error(503);
    // b's key opens nothing now; a's does, and a's data is served.
    let r = vb.anon().put("sys/unseal", json!({"key": b_key})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = vb.anon().put("sys/unseal", json!({"key": a_key})).await;
    assert_eq!(r.json()["sealed"], false, "{}", r.text());
    assert_eq!(vb.get("secret/data/x").await.data()["data"]["from"], "a");
    vb.get("secret/data/y").await.not_found();
}

#[tokio::test]
async fn snapshots_need_sudo() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy(
        "no-sudo",
        r#"path "sys/storage/*" { capabilities = ["create", "read", "update"] }"#,
    )
    .await;
    v.put_policy(
        "sudo",
        r#"path "sys/storage/*" { capabilities = ["read", "update", "sudo"] }"#,
    )
    .await;
    let archive = snapshot(&v).await;
    let limited = v.with_token(&v.token_with(&["no-sudo"]).await);
    for path in ["sys/storage/snapshot", "sys/storage/raft/snapshot"] {
        limited.get(path).await.denied();
    }
    for path in [
        "sys/storage/snapshot-restore",
        "sys/storage/snapshot-force",
        "sys/storage/raft/snapshot",
        "sys/storage/raft/snapshot-force",
    ] {
        restore(&limited, path, archive.clone()).await.denied();
    }
    v.anon().get("sys/storage/snapshot").await.denied();
    let operator = v.with_token(&v.token_with(&["sudo"]).await);
    let again = snapshot(&operator).await;
    // The two tokens created since are in it too.
    assert!(header(&again)["keys"].as_u64() > header(&archive)["keys"].as_u64());
}

#[tokio::test]
async fn garbage_damaged_truncated_and_abandoned_uploads_change_nothing() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/s", json!({"v": "one"})).await;
    let archive = snapshot(&v).await;
    v.kv2_put("secret/data/s", json!({"v": "two"})).await;
    let before = tree_files(&srv.data_dir);

    let mut flipped = archive.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let mut gz_junk = vec![0x1f, 0x8b];
    gz_junk.extend(b"not a gzip stream at all");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "garbage",
            b"this is not a snapshot at all, not even close".to_vec(),
        ),
        ("flipped byte", flipped),
        ("truncated", archive[..archive.len() - 40].to_vec()),
        ("half", archive[..archive.len() / 2].to_vec()),
        ("trailing bytes", [archive.clone(), vec![0]].concat()),
        ("bad envelope", gz_junk),
    ];
    for (what, body) in cases {
        let r = restore(&v, "sys/storage/snapshot-force", body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(
            r.json()["errors"][0]
                .as_str()
                .unwrap()
                .starts_with("invalid snapshot"),
            "{what}: {}",
            r.text()
        );
    }
    // A client that goes away half way through its upload.
    let host = srv.addr.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /v1/sys/storage/snapshot-force HTTP/1.1\r\nHost: {host}\r\nX-Vault-Token: root\r\nContent-Length: {}\r\n\r\n",
        archive.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&archive[..archive.len() / 2]).await.unwrap();
    s.flush().await.unwrap();
    drop(s);
    // The server notices the closed upload; it serves on with nothing changed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if tree_files_settled(&srv.data_dir) == before {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "storage changed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(v.get("secret/data/s").await.data()["data"]["v"], "two");
    // And a good archive still restores after all that.
    restore(&v, "sys/storage/snapshot-restore", archive)
        .await
        .no_content();
    assert_eq!(v.get("secret/data/s").await.data()["data"]["v"], "one");
}

/// [`tree_files`], without asserting on a staged restore still being removed.
fn tree_files_settled(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    if dir.join("staging").exists() {
        return BTreeMap::new();
    }
    tree_files(dir)
}

/// Runs the CLI against `srv`: (exit code, stdout, stderr).
fn cli(srv: &TestServer, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin())
        .args(args)
        .env("VAULT_ADDR", &srv.addr)
        .env("VAULT_TOKEN", "root")
        .env("HOME", srv.home.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn cli_save_inspect_restore_round_trip() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/app", json!({"password": "before"}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.snap");
    let file_s = file.to_str().unwrap();

    let (code, out, err) = cli(&srv, &["operator", "snapshot", "save", file_s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!dir.path().join("backup.snap.tmp").exists());
    let (code, out, err) = cli(
        &srv,
        &["operator", "snapshot", "inspect", "-format=json", file_s],
    );
    assert_eq!(code, 0, "{err}");
    let info: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["size"], std::fs::metadata(&file).unwrap().len());
    assert_eq!(info["version"], 1);
    assert!(info["keys"].as_u64().unwrap() > 5);
    assert_eq!(info["sha256"].as_str().unwrap().len(), 64);

    v.kv2_put("secret/data/app", json!({"password": "after"}))
        .await;
    let (code, out, err) = cli(&srv, &["operator", "snapshot", "restore", file_s]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        v.get("secret/data/app").await.data()["data"]["password"],
        "before"
    );

    // A damaged file is refused before anything is sent.
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len() - 10;
    bytes[n] ^= 0xff;
    let bad = dir.path().join("bad.snap");
    std::fs::write(&bad, bytes).unwrap();
    let (code, _, err) = cli(
        &srv,
        &["operator", "snapshot", "restore", bad.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a valid snapshot"), "{err}");

    // A save the server refuses leaves no file at all.
    let refused = dir.path().join("refused.snap");
    let out = std::process::Command::new(bin())
        .args(["operator", "snapshot", "save", refused.to_str().unwrap()])
        .env("VAULT_ADDR", &srv.addr)
        .env("VAULT_TOKEN", "not-a-token")
        .env("HOME", srv.home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("permission denied"));
    assert!(!refused.exists() && !dir.path().join("refused.snap.tmp").exists());
}
