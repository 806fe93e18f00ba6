//! §3: seal-status, health, leader, key-status, rotate, seal, init/unseal and restart.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::{ConfigServer, TestServer};

const SEAL_STATUS_KEYS: &[&str] = &[
    "type",
    "initialized",
    "sealed",
    "t",
    "n",
    "progress",
    "nonce",
    "version",
    "build_date",
    "migration",
    "recovery_seal",
];

const HEALTH_KEYS: &[&str] = &[
    "initialized",
    "sealed",
    "standby",
    "performance_standby",
    "replication_performance_mode",
    "replication_dr_mode",
    "server_time_utc",
    "version",
];

/// A bare (non-envelope) object with these keys and none of the envelope's.
#[track_caller]
fn assert_bare(what: &str, body: &Value, required: &[&str]) {
    for k in required {
        assert!(
            body.get(*k).is_some(),
            "{what}: key {k:?} missing in {body}"
        );
    }
    for k in ["request_id", "data", "errors", "lease_id", "wrap_info"] {
        assert!(
            body.get(k).is_none(),
            "{what}: a bare object has no {k:?}: {body}"
        );
    }
}

#[track_caller]
fn assert_seal_status(body: &Value, sealed: bool, t: u64, n: u64, progress: u64) {
    assert_bare("seal-status", body, SEAL_STATUS_KEYS);
    assert_eq!(body["type"], "shamir");
    assert_eq!(body["initialized"], true);
    assert_eq!(body["sealed"], sealed, "{body}");
    assert_eq!(body["t"], t, "{body}");
    assert_eq!(body["n"], n, "{body}");
    assert_eq!(body["progress"], progress, "{body}");
    assert!(body["version"].is_string());
    assert_eq!(body["migration"], false);
    assert_eq!(body["recovery_seal"], false);
    if sealed {
        assert!(
            body.get("cluster_name").is_none() && body.get("cluster_id").is_none(),
            "{body}"
        );
    } else {
        assert_eq!(body["nonce"], "");
        assert!(
            body["cluster_name"].as_str().is_some_and(|s| !s.is_empty()),
            "{body}"
        );
        assert!(is_uuid(body["cluster_id"].as_str().unwrap_or("")), "{body}");
    }
}

#[tokio::test]
async fn seal_status_leader_and_init_are_bare_objects() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for who in [v.clone(), v.anon()] {
        let s = who.get("sys/seal-status").await.json_at(200);
        assert_seal_status(&s, false, 1, 1, 0);

        let l = who.get("sys/leader").await.json_at(200);
        assert_bare("leader", &l, &["ha_enabled"]);
        assert_eq!(l["ha_enabled"], false);

        who.get("sys/init").await.json_at(200);
        assert_eq!(
            who.get("sys/init").await.json(),
            json!({"initialized": true})
        );
    }
    // Writes to the read-only ones are 405.
    v.post("sys/seal-status", json!({})).await.errors(405, &[]);
    v.post("sys/leader", json!({})).await.errors(405, &[]);
    v.get("sys/unseal").await.errors(405, &[]);
    v.delete("sys/health").await.errors(405, &[]);
    // Already initialized.
    v.anon()
        .put(
            "sys/init",
            json!({"secret_shares": 1, "secret_threshold": 1}),
        )
        .await
        .errors(400, &["Vault is already initialized"]);
}

#[tokio::test]
async fn health_when_active_honours_code_overrides() {
    let srv = TestServer::dev();
    let v = V::root(&srv).anon();
    let h = v.get("sys/health").await.json_at(200);
    assert_bare("health", &h, HEALTH_KEYS);
    assert_eq!(h["initialized"], true);
    assert_eq!(h["sealed"], false);
    assert_eq!(h["standby"], false);
    assert_eq!(h["performance_standby"], false);
    assert_eq!(h["replication_performance_mode"], "disabled");
    assert_eq!(h["replication_dr_mode"], "disabled");
    let t = h["server_time_utc"]
        .as_i64()
        .expect("server_time_utc is an integer");
    assert!((t - unix_now()).abs() < 60, "server_time_utc {t}");
    assert!(
        h["cluster_id"].is_string() && h["cluster_name"].is_string(),
        "{h}"
    );

    // The Go client's overrides: every *code = 299; active stays 200 unless activecode.
    let go = "sys/health?standbycode=299&drsecondarycode=299&performancestandbycode=299&sealedcode=299&uninitcode=299";
    assert_eq!(v.get(go).await.json_at(200)["sealed"], false);
    let r = v.get("sys/health?activecode=299").await;
    assert_eq!(r.json_at(299)["initialized"], true);
    v.get("sys/health?standbyok=true&perfstandbyok=true")
        .await
        .json_at(200);

    // HEAD: status and Content-Type, no body.
    let r = v.call("HEAD", "sys/health", None).await;
    r.expect(200);
    assert!(r.body.is_empty(), "HEAD must have no body: {:?}", r.text());
    let r = v.call("HEAD", "sys/health?activecode=299", None).await;
    r.expect(299);
    assert!(r.body.is_empty());

    // A code that is not an integer for the state at hand: 400 with no message, as Vault.
    v.get("sys/health?activecode=abc").await.errors(400, &[]);
    v.get("sys/health?activecode=2.5").await.errors(400, &[]);
}

/// Vault parses every `*code` parameter (and `standbyok`) before looking at the state, so a
/// bad one is a 400 `{"errors":[]}` even when it would not apply (OpenBao
/// internal/http/sys_health.go getSysHealth/fetchStatusCode; vault-api.md §3.4).
#[tokio::test]
async fn health_bad_code_parameters_are_400_whatever_the_state() {
    let srv = TestServer::dev();
    let v = V::root(&srv).anon();
    let mut wrong = Vec::new();
    for q in [
        "activecode=abc",
        "sealedcode=abc",
        "uninitcode=",
        "standbycode=x",
        "sealedcode=299&uninitcode=2.5",
        "standbyok=maybe",
    ] {
        let r = v.get(&format!("sys/health?{q}")).await;
        let body = serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null);
        if r.status != 400 || body != json!({"errors": []}) {
            wrong.push(format!("?{q} -> {} {}", r.status, r.text().trim()));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 400 {{\"errors\":[]}} for each:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn key_status_and_rotate() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("secret/data/before", json!({"data": {"v": "old"}}))
        .await
        .ok();

    let r = v.get("sys/key-status").await;
    let body = r.ok();
    assert_injected("key-status", &body);
    let data = &body["data"];
    assert_eq!(keys(data), ["encryptions", "install_time", "term"]);
    assert_eq!(data["term"], 1);
    let installed = data["install_time"].as_str().unwrap();
    assert!(is_rfc3339(installed), "install_time {installed:?}");
    assert!(
        (rfc3339_secs(installed) - unix_now()).abs() < 120,
        "install_time {installed}"
    );
    assert!(data["encryptions"].is_u64());

    v.put("sys/rotate", json!({})).await.no_content();
    let data = v.get("sys/key-status").await.data();
    assert_eq!(data["term"], 2);
    assert!(is_rfc3339(data["install_time"].as_str().unwrap()));
    assert!(rfc3339_secs(data["install_time"].as_str().unwrap()) >= rfc3339_secs(installed));
    v.post("sys/rotate", json!({})).await.no_content();
    assert_eq!(v.get("sys/key-status").await.data()["term"], 3);

    // Old data still readable, new data written under the new term, policies and tokens too.
    assert_eq!(
        v.get("secret/data/before").await.data()["data"],
        json!({"v": "old"})
    );
    v.post("secret/data/after", json!({"data": {"v": "new"}}))
        .await
        .ok();
    assert_eq!(
        v.get("secret/data/after").await.data()["data"],
        json!({"v": "new"})
    );
    assert_eq!(v.get("auth/token/lookup-self").await.data()["id"], "root");

    // Rotation needs sudo; key-status needs read.
    v.put_policy(
        "rot",
        r#"path "sys/rotate" { capabilities = ["update"] }
path "sys/key-status" { capabilities = ["read"] }"#,
    )
    .await;
    let t = v.token_with(&["rot"]).await;
    v.with_token(&t).put("sys/rotate", json!({})).await.denied();
    assert_eq!(
        v.with_token(&t).get("sys/key-status").await.data()["term"],
        3
    );
    let plain = v.token_with(&["default"]).await;
    v.with_token(&plain).get("sys/key-status").await.denied();
    v.anon().get("sys/key-status").await.denied();
}

#[tokio::test]
async fn sealing_makes_everything_503_until_unsealed() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("secret/data/kept", json!({"data": {"k": "v"}}))
        .await
        .ok();
    let user = v.token_with(&["default"]).await;

    // Sealing needs sudo; GET is not an operation there.
    v.with_token(&user)
        .put("sys/seal", json!({}))
        .await
        .denied();
    v.get("sys/seal").await.some_error(405);
    v.put("sys/seal", json!({})).await.no_content();

    let sealed = |r: Resp| r.errors(503, &["Vault is sealed"]);
    sealed(v.get("secret/data/kept").await);
    sealed(
        v.post("secret/data/kept", json!({"data": {"k": "x"}}))
            .await,
    );
    sealed(v.list("secret/metadata/").await);
    sealed(v.get("sys/mounts").await);
    sealed(
        v.post(
            "sys/policies/acl/p",
            json!({"policy": "path \"a\" { capabilities = [\"read\"] }"}),
        )
        .await,
    );
    sealed(v.get("auth/token/lookup-self").await);
    sealed(v.post("auth/token/create", json!({})).await);
    sealed(v.with_token(&user).get("cubbyhole/x").await);
    sealed(v.anon().get("secret/data/kept").await);
    sealed(v.get("sys/key-status").await);
    sealed(v.put("sys/seal", json!({})).await);
    sealed(v.post("sys/wrapping/lookup", json!({"token": "x"})).await);

    let s = v.get("sys/seal-status").await.json_at(200);
    assert_seal_status(&s, true, 1, 1, 0);
    assert_eq!(s["nonce"], "");
    let h = v.get("sys/health").await.json_at(503);
    assert_bare("sealed health", &h, HEALTH_KEYS);
    assert_eq!(h["sealed"], true);
    assert_eq!(h["initialized"], true);
    assert!(h.get("cluster_id").is_none(), "{h}");
    let h = v
        .get("sys/health?sealedcode=299&uninitcode=299")
        .await
        .json_at(299);
    assert_eq!(h["sealed"], true);
    let r = v.call("HEAD", "sys/health", None).await;
    r.expect(503);
    assert!(r.body.is_empty());

    // Unseal with the dev key kept in the data dir (base64): everything is back.
    let key = std::fs::read_to_string(srv.data_dir.join("dev-unseal-key")).unwrap();
    let s = unseal(&v, key.trim()).await;
    assert_seal_status(&s, false, 1, 1, 0);
    assert_eq!(
        v.get("secret/data/kept").await.data()["data"],
        json!({"k": "v"})
    );
    assert_eq!(
        v.with_token(&user)
            .get("auth/token/lookup-self")
            .await
            .data()["id"],
        user
    );
    assert_eq!(v.get("sys/health").await.json_at(200)["sealed"], false);
}

#[tokio::test]
async fn init_validation_and_uninitialized_health() {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    assert_eq!(
        v.get("sys/init").await.json_at(200),
        json!({"initialized": false})
    );
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_bare("seal-status", &s, SEAL_STATUS_KEYS);
    assert_eq!(
        (s["initialized"].clone(), s["sealed"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(
        (s["t"].clone(), s["n"].clone(), s["progress"].clone()),
        (json!(0), json!(0), json!(0))
    );

    let h = v.get("sys/health").await.json_at(501);
    assert_bare("uninit health", &h, HEALTH_KEYS);
    assert_eq!(h["initialized"], false);
    assert_eq!(h["sealed"], true);
    assert_eq!(
        v.get("sys/health?uninitcode=299&sealedcode=299")
            .await
            .json_at(299)["initialized"],
        false
    );
    assert_eq!(
        v.get("sys/health?uninitcode=200").await.json_at(200)["initialized"],
        false
    );
    let r = v.call("HEAD", "sys/health", None).await;
    r.expect(501);
    assert!(r.body.is_empty());
    v.get("sys/health?uninitcode=abc").await.json_at(400);

    for (shares, threshold) in [(0, 0), (0, 1), (1, 0), (2, 1), (3, 4), (256, 3)] {
        v.put(
            "sys/init",
            json!({"secret_shares": shares, "secret_threshold": threshold}),
        )
        .await
        .some_error(400);
    }
    v.put(
        "sys/init",
        json!({"secret_shares": 1, "secret_threshold": 1, "recovery_shares": 1}),
    )
    .await
    .some_error(400);
    assert_eq!(
        v.get("sys/init").await.json(),
        json!({"initialized": false})
    );
    // Unseal before init is refused.
    v.put("sys/unseal", json!({"key": "00".repeat(33)}))
        .await
        .some_error(400);
    v.put("sys/unseal", json!({})).await.some_error(400);
}

#[tokio::test]
async fn config_server_init_unseal_progress_and_restart() {
    let mut srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    // Uninitialized logical requests fail with 503 (sealed).
    v.get("secret/data/x")
        .await
        .errors(503, &["Vault is sealed"]);

    let (hex_keys, b64_keys, root) = init(&v, 5, 3).await;
    assert_eq!(hex_keys.len(), 5);
    assert_eq!(b64_keys.len(), 5);
    for (h, b) in hex_keys.iter().zip(&b64_keys) {
        let bytes = unhex(h);
        assert!(bytes.len() >= 17, "share too short: {h}");
        assert_eq!(
            bytes,
            unb64(b),
            "keys and keys_base64 must hold the same shares"
        );
    }
    let distinct: std::collections::BTreeSet<&String> = hex_keys.iter().collect();
    assert_eq!(distinct.len(), 5);
    assert!(is_service_token(&root), "root token {root:?}");
    v.put(
        "sys/init",
        json!({"secret_shares": 5, "secret_threshold": 3}),
    )
    .await
    .errors(400, &["Vault is already initialized"]);

    // Shamir: still sealed after init.
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_seal_status(&s, true, 3, 5, 0);
    assert_eq!(s["nonce"], "");
    v.with_token(&root)
        .get("sys/mounts")
        .await
        .errors(503, &["Vault is sealed"]);
    v.get("sys/health").await.json_at(503);

    // First share (hex): progress 1 and a nonce.
    let s = unseal(&v, &hex_keys[0]).await;
    assert_seal_status(&s, true, 3, 5, 1);
    let nonce = s["nonce"].as_str().unwrap().to_owned();
    assert!(is_uuid(&nonce), "nonce {nonce:?}");
    // The same share again, in base64: 400, progress kept.
    v.put("sys/unseal", json!({"key": b64_keys[0]}))
        .await
        .some_error(400);
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!(
        (s["progress"].clone(), s["nonce"].clone()),
        (json!(1), json!(nonce))
    );
    // Garbage keys: 400.
    v.put("sys/unseal", json!({"key": "zz-not-a-key"}))
        .await
        .errors(400, &["'key' must be a valid hex or base64 string"]);
    v.put("sys/unseal", json!({})).await.errors(
        400,
        &["'key' must be specified in request body as JSON, or 'reset' set to true"],
    );

    // Reset: progress 0, no nonce.
    let s = v
        .put("sys/unseal", json!({"reset": true}))
        .await
        .json_at(200);
    assert_seal_status(&s, true, 3, 5, 0);
    assert_eq!(s["nonce"], "");

    // A wrong share completing the threshold: 400, the attempt is over.
    let len = unhex(&hex_keys[0]).len();
    unseal(&v, &hex_keys[1]).await;
    unseal(&v, &hex_keys[2]).await;
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!(s["progress"], 2);
    let mut bogus = vec![0x5au8; len];
    bogus[len - 1] = 0xee;
    // The field name is matched case-insensitively, as Go's decoder does.
    v.put("sys/unseal", json!({"Key": hex(&bogus)}))
        .await
        .some_error(400);
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!(s["sealed"], true);
    assert_eq!(
        s["progress"], 0,
        "a failed combination ends the attempt: {s}"
    );

    // Three good shares, mixing hex and base64 (and field-name case): unsealed.
    assert_eq!(unseal(&v, &b64_keys[3]).await["progress"], 1);
    let s = v
        .put("sys/unseal", json!({"KEY": hex_keys[1]}))
        .await
        .json_at(200);
    assert_eq!(s["progress"], 2);
    let s = unseal(&v, &b64_keys[4]).await;
    assert_seal_status(&s, false, 3, 5, 0);
    // Further keys just report the status; reset while unsealed is refused.
    assert_eq!(unseal(&v, &hex_keys[0]).await["sealed"], false);
    v.put("sys/unseal", json!({"reset": true}))
        .await
        .errors(400, &["vault is unsealed"]);

    // The root token works; a fresh server mounts only sys/ and cubbyhole/ (no secret/).
    let r = v.with_token(&root);
    let mounts = r.get("sys/mounts").await.data();
    assert_eq!(keys(&mounts), ["cubbyhole/", "sys/"]);
    r.get("secret/data/x").await.errors(
        404,
        &["no handler for route \"secret/data/x\". route entry not found."],
    );
    let me = r.get("auth/token/lookup-self").await.data();
    assert_eq!(me["policies"], json!(["root"]));
    assert_eq!(me["path"], "auth/token/root");
    assert_eq!(me["expire_time"], json!(null));
    r.post("sys/mounts/kv", json!({"type": "kv-v2"}))
        .await
        .no_content();
    r.post("kv/data/persist", json!({"data": {"survives": "restart"}}))
        .await
        .ok();
    r.put_policy("keep", r#"path "kv/*" { capabilities = ["read"] }"#)
        .await;
    let (user, _, _) = r
        .create_token(json!({"policies": ["keep"], "ttl": "1h"}))
        .await;

    // Restart on the same directory and config: sealed again, same keys unseal it.
    let status = srv.stop();
    assert!(
        status.success(),
        "clean exit on SIGTERM: {status:?}\n{}",
        srv.log_text()
    );
    srv.restart();
    // Fresh clients: pooled connections died with the old process.
    let v = V::at(&srv.addr, None);
    let r = v.with_token(&root);
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_seal_status(&s, true, 3, 5, 0);
    r.get("kv/data/persist")
        .await
        .errors(503, &["Vault is sealed"]);
    unseal(&v, &hex_keys[4]).await;
    unseal(&v, &b64_keys[2]).await;
    let s = unseal(&v, &hex_keys[0]).await;
    assert_seal_status(&s, false, 3, 5, 0);
    assert_eq!(
        r.get("kv/data/persist").await.data()["data"],
        json!({"survives": "restart"})
    );
    let mounts = r.get("sys/mounts").await.data();
    assert_eq!(keys(&mounts), ["cubbyhole/", "kv/", "sys/"]);
    assert_eq!(mounts["kv/"]["options"], json!({"version": "2"}));
    assert_eq!(
        r.get("sys/policies/acl/keep").await.data()["policy"],
        r#"path "kv/*" { capabilities = ["read"] }"#
    );
    let u = v.with_token(&user);
    assert_eq!(
        u.get("kv/data/persist").await.data()["data"]["survives"],
        "restart"
    );
    u.get("sys/mounts").await.denied();
    let keys = clean_tree_keys(&srv.data_dir);
    assert_keys_expected(&keys, &r.mount_uuids().await);
}
