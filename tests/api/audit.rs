//! §8: audit devices — the table, entries and their HMACs, `sys/audit-hash`, failing
//! closed, blocked devices, SIGHUP reopen, local devices, restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// Every line of an audit file, parsed.
fn entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad audit line {l:?}: {e}")))
        .collect()
}

/// The first entry of `path` that `pred` accepts, waiting for it up to 10 s. With several
/// devices a request is answered once one of them has its line; the others write theirs
/// a moment later.
async fn entry_eventually(path: &Path, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // Only whole lines: the writer may be halfway through the last one.
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        let found = whole
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| pred(e));
        if let Some(e) = found {
            return e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no such entry in {path:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn enable_file(v: &V, path: &str, file: &Path, extra: Value) {
    let mut options = json!({ "file_path": file.to_str().unwrap() });
    options
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v.put(
        &format!("sys/audit/{path}"),
        json!({"type": "file", "options": options}),
    )
    .await
    .no_content();
}

async fn audit_hash(v: &V, device: &str, input: &str) -> String {
    v.put(&format!("sys/audit-hash/{device}"), json!({"input": input}))
        .await
        .data()["hash"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn entries_hash_every_secret_and_match_audit_hash() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    enable_file(&v, "file", &log, json!({})).await;

    // The probe entry comes first.
    let first = entries(&log);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["type"], "request");
    assert_eq!(first[0]["request"]["path"], "sys/audit/test");
    assert_eq!(first[0]["request"]["operation"], "update");

    // sys/audit lists it, in data and at the top level.
    let listed = v.get("sys/audit").await.ok();
    for at in [&listed["data"], &listed] {
        assert_eq!(
            at["file/"],
            json!({"type": "file", "description": "", "local": false, "path": "file/",
                   "options": {"file_path": log.to_str().unwrap()}})
        );
    }

    let secrets = [
        "hunter2-kv-secret",
        "nested-secret-value",
        "wrapped-secret-value",
    ];
    v.kv2_put(
        "secret/data/app",
        json!({"password": secrets[0], "deep": {"list": [secrets[1]]}, "n": 7}),
    )
    .await;
    let read = v.get("secret/data/app").await.data();
    assert_eq!(read["data"]["password"], secrets[0]);
    let (child, child_accessor, _) = v.create_token(json!({"ttl": "1h"})).await;
    let wrapped = v
        .wrapped(
            "POST",
            "sys/wrapping/wrap",
            "60s",
            Some(json!({"w": secrets[2]})),
        )
        .await
        .ok();
    let wrap_token = wrapped["wrap_info"]["token"].as_str().unwrap().to_owned();
    let unwrapped = v
        .anon()
        .with_token(&wrap_token)
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .ok();
    assert_eq!(unwrapped["data"]["w"], secrets[2]);

    let text = std::fs::read_to_string(&log).unwrap();
    // The dev root token is "root", also a policy and display name: look at token fields.
    assert!(!text.contains("\"client_token\":\"root\""));
    for plain in secrets
        .iter()
        .copied()
        .chain([child.as_str(), &child_accessor, &wrap_token])
    {
        assert!(
            !text.contains(&format!("\"{plain}\"")),
            "plaintext {plain:?} in the audit log"
        );
    }
    // What the log holds is what sys/audit-hash computes.
    let h = audit_hash(&v, "file", secrets[0]).await;
    assert!(
        h.starts_with("hmac-sha256:") && h.len() == "hmac-sha256:".len() + 64,
        "{h}"
    );
    let all = entries(&log);
    let write = all
        .iter()
        .find(|e| e["type"] == "request" && e["request"]["path"] == "secret/data/app")
        .expect("request entry of the write");
    assert_eq!(write["request"]["data"]["data"]["password"], h.as_str());
    assert_eq!(
        write["request"]["data"]["data"]["deep"]["list"][0],
        audit_hash(&v, "file", secrets[1]).await.as_str()
    );
    assert_eq!(
        write["request"]["data"]["data"]["n"], 7,
        "numbers stay as they are"
    );
    assert_eq!(write["request"]["operation"], "create");
    assert_eq!(write["request"]["mount_type"], "kv");
    assert_eq!(write["request"]["mount_point"], "secret/");
    assert_eq!(write["request"]["remote_address"], "127.0.0.1");
    assert_eq!(
        write["request"]["client_token"],
        audit_hash(&v, "file", "root").await.as_str()
    );
    assert_eq!(write["auth"]["policies"], json!(["root"]));
    assert_eq!(write["auth"]["policy_results"]["allowed"], true);
    assert!(is_rfc3339(write["time"].as_str().unwrap()));

    // Every 2xx answer carrying a secret has an earlier request entry, and a response
    // entry with the secret hashed.
    let id_of = |path: &str, kind: &str| -> (usize, Value) {
        all.iter()
            .enumerate()
            .find(|(_, e)| {
                e["type"] == kind
                    && e["request"]["path"] == path
                    && e["request"]["operation"]
                        == if path == "secret/data/app" {
                            "read"
                        } else {
                            e["request"]["operation"].as_str().unwrap()
                        }
            })
            .map(|(i, e)| (i, e.clone()))
            .unwrap_or_else(|| panic!("no {kind} entry for {path}"))
    };
    let (req_at, req) = id_of("secret/data/app", "request");
    let read_resp = all
        .iter()
        .enumerate()
        .find(|(_, e)| e["type"] == "response" && e["request"]["id"] == req["request"]["id"])
        .expect("response entry of the read");
    assert!(req_at < read_resp.0, "request entry first");
    assert_eq!(
        read_resp.1["response"]["data"]["data"]["password"],
        h.as_str()
    );
    // The token creation: the new token and accessor are hashed in response.auth.
    let (_, created) = id_of("auth/token/create", "response");
    assert_eq!(
        created["response"]["auth"]["client_token"],
        audit_hash(&v, "file", &child).await.as_str()
    );
    assert_eq!(
        created["response"]["auth"]["accessor"],
        audit_hash(&v, "file", &child_accessor).await.as_str()
    );
    // The unwrap: the unwrapped data is hashed.
    let (_, unwrap) = id_of("sys/wrapping/unwrap", "response");
    assert_eq!(
        unwrap["response"]["data"]["w"],
        audit_hash(&v, "file", secrets[2]).await.as_str()
    );
    // G10: every response entry has a request entry of the same id before it, and
    // every request that got an answer has its response entry.
    let mut seen_requests = std::collections::HashSet::new();
    for e in &all {
        let id = e["request"]["id"].as_str().unwrap_or_default().to_owned();
        match e["type"].as_str() {
            Some("request") => {
                seen_requests.insert(id);
            }
            Some("response") => assert!(
                seen_requests.contains(&id),
                "response entry without an earlier request entry: {e}"
            ),
            other => panic!("unknown entry type {other:?}"),
        }
    }
    let responses: std::collections::HashSet<&str> = all
        .iter()
        .filter(|e| e["type"] == "response")
        .filter_map(|e| e["request"]["id"].as_str())
        .collect();
    for path in [
        "secret/data/app",
        "auth/token/create",
        "sys/wrapping/wrap",
        "sys/wrapping/unwrap",
    ] {
        let ids: Vec<&str> = all
            .iter()
            .filter(|e| e["type"] == "request" && e["request"]["path"] == path)
            .filter_map(|e| e["request"]["id"].as_str())
            .collect();
        assert!(!ids.is_empty(), "no request entry for {path}");
        for id in ids {
            assert!(responses.contains(id), "{path}: no response entry for {id}");
        }
    }

    // The envelope's request_id is the audit entries' request id.
    let request_id = v.get("secret/data/app").await.ok()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let same: Vec<Value> = entries(&log)
        .into_iter()
        .filter(|e| e["request"]["id"] == request_id.as_str())
        .collect();
    assert_eq!(
        same.len(),
        2,
        "request and response entries for {request_id}"
    );

    // A denied request is recorded with its error.
    v.anon().get("secret/data/app").await.denied();
    let denied = entries(&log).into_iter().last().unwrap();
    assert_eq!(denied["type"], "request");
    assert_eq!(denied["error"], "permission denied");

    // audit-hash errors.
    v.put("sys/audit-hash/file", json!({"input": ""}))
        .await
        .errors(400, &["the \"input\" parameter is empty"]);
    v.put("sys/audit-hash/nope", json!({"input": "x"}))
        .await
        .some_error(400);
    // sys/audit needs sudo.
    let user = v.with_token(&v.token_with(&["default"]).await);
    user.get("sys/audit").await.denied();
    user.put("sys/audit-hash/file", json!({"input": "x"}))
        .await
        .denied();
}

#[tokio::test]
async fn enable_refuses_bad_devices_and_stores_nothing() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (json!({"type": "file", "options": {}}), "file_path"),
        (
            json!({"type": "socket", "options": {"address": "127.0.0.1:9"}}),
            "not supported",
        ),
        (
            json!({"type": "file", "options": {"file_path": dir.path().join("no/such/dir/a.log").to_str().unwrap()}}),
            "audit backend failed test message",
        ),
        (
            json!({"type": "file", "options": {"file_path": "stdout", "format": "jsonx"}}),
            "jsonx",
        ),
        (
            json!({"type": "file", "options": {"file_path": "stdout", "mode": "rwx"}}),
            "mode",
        ),
        (
            json!({"type": "file", "options": {"file_path": "stdout", "log_raw": "maybe"}}),
            "log_raw",
        ),
        (json!({"options": {"file_path": "stdout"}}), "type"),
    ];
    for (body, needle) in cases {
        v.put("sys/audit/file", body.clone())
            .await
            .error_containing(400, needle);
    }
    v.put(
        "sys/audit/",
        json!({"type": "file", "options": {"file_path": "stdout"}}),
    )
    .await
    .some_error(400);
    assert_eq!(v.get("sys/audit").await.data(), json!({}));
    let keys = clean_tree_keys(&srv.data_dir);
    assert!(
        !keys
            .iter()
            .any(|k| k.starts_with("audit/") || k.starts_with("core/audit")),
        "{keys:?}"
    );
    // Prefix overlap with an existing device.
    let log = dir.path().join("a.log");
    enable_file(&v, "team/file", &log, json!({})).await;
    for path in ["team", "team/file/x"] {
        v.put(
            &format!("sys/audit/{path}"),
            json!({"type": "file", "options": {"file_path": "discard"}}),
        )
        .await
        .errors(400, &["path already in use"]);
    }
    // Disable, and again (idempotent).
    assert!(clean_tree_keys(&srv.data_dir)
        .iter()
        .any(|k| k.starts_with("audit/") && k.ends_with("/salt")));
    v.delete("sys/audit/team/file").await.no_content();
    v.delete("sys/audit/team/file").await.no_content();
    assert_eq!(v.get("sys/audit").await.data(), json!({}));
    // The salt went with the device.
    let keys = clean_tree_keys(&srv.data_dir);
    assert!(!keys.iter().any(|k| k.starts_with("audit/")), "{keys:?}");
}

#[tokio::test]
async fn a_failing_only_device_refuses_requests_until_it_recovers() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("audit.log");
    enable_file(&v, "file", &log, json!({})).await;
    v.kv2_put("secret/data/x", json!({"v": "1"})).await;

    // The directory goes away: the file cannot be recreated.
    std::fs::remove_dir_all(&logs).unwrap();
    v.post("secret/data/x", json!({"data": {"v": "2"}}))
        .await
        .errors(500, &["internal error"]);
    v.get("secret/data/x")
        .await
        .errors(500, &["internal error"]);
    // Health still answers, and says auditing is degraded.
    let h = v.anon().get("sys/health").await;
    assert_eq!(h.status, 200, "{}", h.text());
    assert_eq!(h.json()["audit_degraded"], true);

    std::fs::create_dir(&logs).unwrap();
    // The refused write never ran: still version 1.
    let d = v.get("secret/data/x").await.data();
    assert!(v
        .anon()
        .get("sys/health")
        .await
        .json()
        .get("audit_degraded")
        .is_none());
    assert_eq!(d["data"]["v"], "1");
    assert_eq!(d["metadata"]["version"], 1);
    assert!(log.exists(), "the file was recreated");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("\"1\"") && !text.contains("\"2\""));
}

#[tokio::test]
async fn a_blocked_fifo_never_hangs_requests_and_one_healthy_device_is_enough() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ok.log");
    enable_file(&v, "file", &log, json!({})).await;
    let mkfifo = |name: &str| {
        let fifo = dir.path().join(name);
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        fifo
    };
    // No reader has it open: enabling needs skip_test, and every write blocks. Its
    // timeout (5 min) is far beyond the client's (30 s): a request that waited for it
    // instead of answering with the file device would fail.
    let slow = mkfifo("slow.fifo");
    enable_file(
        &v,
        "slow",
        &slow,
        json!({"skip_test": "true", "write_timeout": "5m"}),
    )
    .await;
    for i in 0..5 {
        v.kv2_put("secret/data/x", json!({ "v": i.to_string() }))
            .await;
    }
    assert!(entries(&log)
        .iter()
        .any(|e| e["request"]["path"] == "secret/data/x"));
    v.delete("sys/audit/slow").await.no_content();

    let fifo = mkfifo("audit.fifo");
    enable_file(
        &v,
        "fifo",
        &fifo,
        json!({"skip_test": "true", "write_timeout": "300ms"}),
    )
    .await;

    // Only the blocked device left: requests fail closed (an answer, not a hang: the
    // client gives up after 30 s, the device after 300 ms).
    v.delete("sys/audit/file").await.no_content();
    for _ in 0..5 {
        v.get("secret/data/x")
            .await
            .errors(500, &["internal error"]);
    }
    v.post("secret/data/x", json!({"data": {"v": "refused"}}))
        .await
        .errors(500, &["internal error"]);
    let h = v.anon().get("sys/health").await;
    assert_eq!(h.status, 200, "{}", h.text());

    // A reader appears and drains the FIFO: the device recovers.
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(reader_path).unwrap();
        let mut all = Vec::new();
        let _ = f.read_to_end(&mut all);
        String::from_utf8_lossy(&all).into_owned()
    });
    let mut recovered = false;
    for _ in 0..100 {
        if v.get("secret/data/x").await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the FIFO device did not recover once read");
    // The refused write never ran.
    assert_eq!(v.get("secret/data/x").await.data()["data"]["v"], "4");
    drop(srv);
    let fifo_text = reader.join().unwrap();
    assert!(fifo_text.contains("secret/data/x"));
    assert!(!fifo_text.contains("refused"));
}

#[tokio::test]
async fn sighup_reopens_the_file_after_rotation() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let rotated: PathBuf = dir.path().join("audit.log.1");
    enable_file(&v, "file", &log, json!({})).await;
    v.kv2_put("secret/data/before", json!({"v": "x"})).await;
    std::fs::rename(&log, &rotated).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &srv.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // SIGHUP would end a process that did not handle it: the server keeps running, and
    // writes to a new file at the configured path (the writer also notices a rotated
    // file by itself, so this does not tell SIGHUP's reopen from that check).
    let mut written = false;
    for _ in 0..50 {
        v.kv2_put("secret/data/after", json!({"v": "y"})).await;
        if entries(&log)
            .iter()
            .any(|e| e["request"]["path"] == "secret/data/after")
        {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "no entry in the reopened file");
    assert!(entries(&rotated)
        .iter()
        .any(|e| e["request"]["path"] == "secret/data/before"));
}

#[tokio::test]
async fn devices_survive_restarts_and_local_ones_stay_local() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let log = dir.path().join("audit.log");
    let local_log = dir.path().join("local.log");
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    enable_file(&v, "file", &log, json!({"hmac_accessor": "false"})).await;
    v.put(
        "sys/audit/here",
        json!({"type": "file", "local": true, "options": {"file_path": local_log.to_str().unwrap()}}),
    )
    .await
    .no_content();
    let listed = v.get("sys/audit").await.data();
    assert_eq!(listed["here/"]["local"], true);
    assert_eq!(listed["file/"]["options"]["hmac_accessor"], "false");
    let before = audit_hash(&v, "file", "same-input").await;
    let keys = clean_tree_keys(&srv.data_dir);
    for k in ["core/audit", "local/core/audit"] {
        assert!(keys.contains(k), "{k} missing: {keys:?}");
    }
    assert!(keys
        .iter()
        .any(|k| k.starts_with("local/audit/") && k.ends_with("/salt")));
    assert!(keys
        .iter()
        .any(|k| k.starts_with("audit/") && k.ends_with("/salt")));
    drop(srv);

    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    assert_eq!(
        keys_of(&v.get("sys/audit").await.data()),
        ["file/", "here/"]
    );
    // Same salt: the same hash after the restart.
    assert_eq!(audit_hash(&v, "file", "same-input").await, before);
    let (token, accessor, _) = v.create_token(json!({"ttl": "1h"})).await;
    let created = entry_eventually(&log, |e| {
        e["type"] == "response" && e["request"]["path"] == "auth/token/create"
    })
    .await;
    // hmac_accessor=false: accessors in clear, tokens still hashed.
    assert_eq!(created["response"]["auth"]["accessor"], accessor.as_str());
    assert_ne!(created["response"]["auth"]["client_token"], token.as_str());
    entry_eventually(&local_log, |e| e["request"]["path"] == "auth/token/create").await;
}

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// An entry's `auth.token_ttl` is the token's TTL as issued (Vault's `te.TTL`), never a
/// reading of the clock: a token created for 1h and renewed for 2h is still audited
/// with 3600, the same whichever second the request lands in.
#[tokio::test]
async fn audited_token_ttl_is_the_issued_ttl() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    enable_file(&v, "file", &log, json!({})).await;
    let (token, _, auth) = v
        .create_token(json!({"policies": ["default"], "ttl": "1h"}))
        .await;
    assert_eq!(auth["lease_duration"], 3600);
    let me = v.with_token(&token);
    let renewed = me
        .post("auth/token/renew-self", json!({"increment": "2h"}))
        .await
        .ok();
    assert_eq!(renewed["auth"]["lease_duration"], 7200);
    let request_id = me.get("auth/token/lookup-self").await.ok()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let entry = entry_eventually(&log, |e| {
        e["type"] == "request" && e["request"]["id"] == request_id.as_str()
    })
    .await;
    assert_eq!(entry["auth"]["token_ttl"], 3600, "{entry}");
}

/// A disabled device writes nothing more: with two devices, `DELETE sys/audit/<x>` is
/// answered only once x wrote its last line (the answer to its own disable; requests that
/// finish later are recorded by the other device only), so a file removed right after
/// the 204 never reappears. Many rounds, with requests in flight at each disable.
#[tokio::test]
async fn a_disabled_device_writes_nothing_after_its_disable_is_answered() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.log");
    enable_file(&v, "keep", &keep, json!({})).await;
    for round in 0..40 {
        let gone = dir.path().join(format!("gone-{round}.log"));
        enable_file(&v, "gone", &gone, json!({})).await;
        let mut in_flight = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let v = v.clone();
            in_flight.spawn(async move { v.get("sys/mounts").await.ok() });
        }
        v.delete("sys/audit/gone").await.no_content();
        assert!(
            entries(&gone)
                .iter()
                .any(|e| e["type"] == "response" && e["request"]["path"] == "sys/audit/gone"),
            "round {round}: the device recorded the answer to its disable"
        );
        std::fs::remove_file(&gone).unwrap();
        while let Some(done) = in_flight.join_next().await {
            done.unwrap();
        }
        // A request after all of that, recorded by the device that stays: whatever was
        // in flight has been written by now.
        let id = v.get("sys/mounts").await.ok()["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        entry_eventually(&keep, |e| {
            e["type"] == "response" && e["request"]["id"] == id.as_str()
        })
        .await;
        assert!(
            !gone.exists(),
            "round {round}: the disabled device wrote {} lines after its disable was answered",
            entries(&gone).len()
        );
    }
    assert_eq!(
        v.get("sys/audit").await.data().as_object().unwrap().len(),
        1,
        "only keep/ is left"
    );
}
