//! Rekey over HTTP against real config-file servers: Vault's status shapes and errors of
//! `sys/rekey/init|update|verify` (unauthenticated, bare objects), `sys/rekey/backup`
//! (sudo), the old shares unsealing nothing after a rekey and the new ones working across
//! restarts, verification holding the new shares back, and `kill -9` mid-rekey.

use serde_json::{json, Value};

use super::common::{init, keys, sorted, unseal, V};
use crate::harness::ConfigServer;

/// The keys of the rekey status object (plus `verification_nonce` once one exists).
const STATUS_KEYS: &[&str] = &[
    "backup",
    "n",
    "nonce",
    "pgp_fingerprints",
    "progress",
    "required",
    "started",
    "t",
    "verification_required",
];

/// The keys of a completed update.
const KEYS_KEYS: &[&str] = &[
    "backup",
    "complete",
    "keys",
    "keys_base64",
    "nonce",
    "pgp_fingerprints",
    "verification_required",
];

/// A 3-share, threshold-2 server, initialized and unsealed: (server, anonymous client,
/// hex keys, root token).
pub async fn shamir_server() -> (ConfigServer, V, Vec<String>, String) {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    let (hex_keys, _, root) = init(&v, 3, 2).await;
    for k in &hex_keys[..2] {
        unseal(&v, k).await;
    }
    (srv, v, hex_keys, root)
}

/// Whether `shares` unseal a sealed server (the attempt is reset first, and again after a
/// failure).
pub async fn unseals_with(v: &V, shares: &[String]) -> bool {
    v.put("sys/unseal", json!({"reset": true})).await;
    for share in shares {
        let r = v.put("sys/unseal", json!({"key": share})).await;
        if r.status != 200 {
            return false;
        }
        if r.json()["sealed"] == false {
            return true;
        }
    }
    v.put("sys/unseal", json!({"reset": true})).await;
    false
}

/// `PUT sys/rekey/init`, checked for shape; the status.
pub async fn start(v: &V, body: Value) -> Value {
    let st = v.put("sys/rekey/init", body).await.json_at(200);
    assert_eq!(keys(&st), sorted(STATUS_KEYS), "status keys: {st}");
    assert_eq!(st["started"], true);
    st
}

/// Gives `shares` to `sys/rekey/update`; the last answer.
pub async fn update(v: &V, nonce: &str, shares: &[String]) -> Value {
    let mut last = Value::Null;
    for s in shares {
        last = v
            .put("sys/rekey/update", json!({"key": s, "nonce": nonce}))
            .await
            .json_at(200);
    }
    last
}

/// Stops the server (`kill -9` when `kill`, else SIGTERM) and starts it again on the same
/// data; a fresh client (pooled connections died with the process).
pub fn restart(srv: &mut ConfigServer, kill: bool) -> V {
    if kill {
        srv.kill();
    } else {
        srv.stop();
    }
    srv.restart();
    V::at(&srv.addr, None)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rekey_status_validation_and_progress() {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    v.get("sys/rekey/init")
        .await
        .errors(400, &["server is not yet initialized"]);
    let (hex_keys, b64_keys, root) = init(&v, 3, 2).await;
    // Sealed: 503.
    v.get("sys/rekey/init")
        .await
        .errors(503, &["Vault is sealed"]);
    v.put(
        "sys/rekey/init",
        json!({"secret_shares": 3, "secret_threshold": 2}),
    )
    .await
    .errors(503, &["Vault is sealed"]);
    for k in &hex_keys[..2] {
        unseal(&v, k).await;
    }

    // Nothing started: Vault's idle status, bare, `required` = the current threshold.
    let idle = v.get("sys/rekey/init").await.json_at(200);
    assert_eq!(
        idle,
        json!({"nonce": "", "started": false, "t": 0, "n": 0, "progress": 0, "required": 2,
               "pgp_fingerprints": null, "backup": false, "verification_required": false})
    );
    v.put(
        "sys/rekey/update",
        json!({"key": hex_keys[0], "nonce": "x"}),
    )
    .await
    .errors(400, &["no barrier rekey in progress"]);

    // Bad requests: 400 with Vault's texts, and nothing started.
    for (body, msg) in [
        (
            json!({"secret_shares": 3, "secret_threshold": 2, "backup": true}),
            "cannot request a backup of the new keys without providing PGP keys for encryption",
        ),
        (
            json!({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": ["a", "b"]}),
            "incorrect number of PGP keys for rekey",
        ),
        (
            json!({"secret_shares": 0, "secret_threshold": 0}),
            "invalid rekey seal configuration: shares must be at least one",
        ),
        (
            json!({"secret_shares": 3, "secret_threshold": 1}),
            "invalid rekey seal configuration: threshold must be greater than one for multiple shares",
        ),
        (
            json!({"secret_shares": 3, "secret_threshold": 4}),
            "invalid rekey seal configuration: threshold cannot be larger than shares",
        ),
        (
            json!({"secret_shares": 256, "secret_threshold": 2}),
            "invalid rekey seal configuration: shares must be less than 256",
        ),
        (json!({}), "invalid rekey seal configuration: shares must be at least one"),
    ] {
        v.put("sys/rekey/init", body).await.errors(400, &[msg]);
    }
    v.put("sys/rekey/init", json!({"secret_shares": "x"}))
        .await
        .some_error(400);
    v.put(
        "sys/rekey/init",
        json!({"secret_shares": 1, "secret_threshold": 1, "require_verification": "yes"}),
    )
    .await
    .some_error(400);
    assert_eq!(v.get("sys/rekey/init").await.json_at(200), idle);
    // Other methods: 405.
    v.call("PATCH", "sys/rekey/init", None)
        .await
        .errors(405, &[]);
    v.get("sys/rekey/update").await.errors(405, &[]);
    // The recovery-key family does not exist for a Shamir seal.
    v.get("sys/rekey-recovery-key/init")
        .await
        .errors(400, &["recovery rekeying not supported"]);

    // Start: 5 shares, threshold 3.
    let st = start(&v, json!({"secret_shares": 5, "secret_threshold": 3})).await;
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    assert_eq!(
        (&st["t"], &st["n"], &st["progress"], &st["required"]),
        (&json!(3), &json!(5), &json!(0), &json!(2))
    );
    v.put(
        "sys/rekey/init",
        json!({"secret_shares": 5, "secret_threshold": 3}),
    )
    .await
    .errors(400, &["rekey already in progress"]);

    // Update errors: missing key, bad key, wrong nonce; nothing counted.
    v.put("sys/rekey/update", json!({"nonce": nonce}))
        .await
        .errors(400, &["'key' must be specified in request body as JSON"]);
    v.put("sys/rekey/update", json!({"key": "zz", "nonce": nonce}))
        .await
        .errors(400, &["'key' must be a valid hex or base64 string"]);
    v.put(
        "sys/rekey/update",
        json!({"key": hex_keys[0], "nonce": "nope"}),
    )
    .await
    .errors(
        400,
        &[&format!(
            "incorrect nonce supplied; nonce for this rekey operation is \"{nonce}\""
        )],
    );
    // One share: progress 1; the same share again (base64 this time): refused, kept.
    let st = update(&v, &nonce, &hex_keys[..1]).await;
    assert_eq!(keys(&st), sorted(STATUS_KEYS));
    assert_eq!((&st["progress"], &st["nonce"]), (&json!(1), &json!(nonce)));
    v.put(
        "sys/rekey/update",
        json!({"key": b64_keys[0], "nonce": nonce}),
    )
    .await
    .errors(
        400,
        &["given key has already been provided during this rekey operation"],
    );
    assert_eq!(v.get("sys/rekey/init").await.json_at(200)["progress"], 1);

    // A wrong share completing the quorum: 400, progress back to 0, the attempt kept.
    let mut bogus = super::common::unhex(&hex_keys[1]);
    bogus[0] ^= 0x55;
    v.put(
        "sys/rekey/update",
        json!({"key": super::common::hex(&bogus), "nonce": nonce}),
    )
    .await
    .errors(400, &["root key verification failed: invalid key"]);
    let st = v.get("sys/rekey/init").await.json_at(200);
    assert_eq!(
        (&st["started"], &st["progress"], &st["nonce"]),
        (&json!(true), &json!(0), &json!(nonce))
    );

    // Cancel (idempotent), then the status is idle again.
    v.delete("sys/rekey/init").await.no_content();
    v.delete("sys/rekey/init").await.no_content();
    assert_eq!(v.get("sys/rekey/init").await.json_at(200), idle);
    v.put(
        "sys/rekey/update",
        json!({"key": hex_keys[0], "nonce": nonce}),
    )
    .await
    .errors(400, &["no barrier rekey in progress"]);

    // Sealing discards an attempt.
    start(&v, json!({"secret_shares": 1, "secret_threshold": 1})).await;
    v.with_token(&root)
        .put("sys/seal", json!({}))
        .await
        .no_content();
    for k in &hex_keys[1..] {
        unseal(&v, k).await;
    }
    assert_eq!(v.get("sys/rekey/init").await.json_at(200), idle);
}

#[tokio::test]
async fn after_a_rekey_only_the_new_shares_unseal_across_restarts() {
    let (mut srv, v, old, root) = shamir_server().await;
    let admin = v.with_token(&root);
    admin
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await
        .no_content();
    admin
        .put("secret/data/app", json!({"data": {"password": "s3cr3t"}}))
        .await
        .ok();

    let st = start(&v, json!({"secret_shares": 5, "secret_threshold": 3})).await;
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    let done = update(&v, &nonce, &[old[2].clone(), old[0].clone()]).await;
    assert_eq!(keys(&done), sorted(KEYS_KEYS), "{done}");
    assert_eq!(
        (
            &done["complete"],
            &done["nonce"],
            &done["verification_required"]
        ),
        (&json!(true), &json!(nonce), &json!(false))
    );
    assert_eq!(done["pgp_fingerprints"], Value::Null);
    let new = strings(&done["keys"]);
    let new_b64 = strings(&done["keys_base64"]);
    assert_eq!((new.len(), new_b64.len()), (5, 5));
    for (h, b) in new.iter().zip(&new_b64) {
        assert_eq!(super::common::unhex(h), super::common::unb64(b));
        assert!(!old.contains(h));
    }
    // The attempt is over; the seal status shows the new split at once.
    assert_eq!(v.get("sys/rekey/init").await.json_at(200)["started"], false);
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!(
        (&s["t"], &s["n"], &s["sealed"]),
        (&json!(3), &json!(5), &json!(false))
    );
    // The server kept serving; the root token and data are untouched.
    assert_eq!(
        admin.get("secret/data/app").await.data()["data"]["password"],
        "s3cr3t"
    );

    // Seal: the old shares open nothing, three new ones do.
    admin.put("sys/seal", json!({})).await.no_content();
    assert!(!unseals_with(&v, &old).await, "the old shares still unseal");
    assert!(unseals_with(&v, &new_b64[1..4]).await);
    // Restart: the same.
    let v = restart(&mut srv, false);
    let admin = v.with_token(&root);
    assert!(!unseals_with(&v, &old).await);
    assert!(unseals_with(&v, &[new[4].clone(), new[0].clone(), new[2].clone()]).await);
    assert_eq!(
        admin.get("secret/data/app").await.data()["data"]["password"],
        "s3cr3t"
    );
    // No backup was asked for.
    admin
        .get("sys/rekey/backup")
        .await
        .errors(400, &["no backed-up keys found"]);
}

#[tokio::test]
async fn with_verification_the_new_shares_take_effect_only_once_verified() {
    let (mut srv, v, old, root) = shamir_server().await;
    let st = start(
        &v,
        json!({"secret_shares": 3, "secret_threshold": 2, "require_verification": true}),
    )
    .await;
    assert_eq!(st["verification_required"], true);
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    // No verification yet.
    let vs = v.get("sys/rekey/verify").await.json_at(200);
    assert_eq!(
        vs,
        json!({"nonce": "", "started": false, "t": 2, "n": 3, "progress": 0})
    );
    v.put("sys/rekey/verify", json!({"key": old[0], "nonce": ""}))
        .await
        .errors(400, &["no rekey verification in progress"]);

    let done = update(&v, &nonce, &old[..2]).await;
    let mut expect = sorted(KEYS_KEYS);
    expect.push("verification_nonce".into());
    expect.sort();
    assert_eq!(keys(&done), expect, "{done}");
    assert_eq!(done["verification_required"], true);
    let vnonce = done["verification_nonce"].as_str().unwrap().to_owned();
    assert!(super::common::is_uuid(&vnonce) && vnonce != nonce);
    let new = strings(&done["keys"]);

    // The status shows the verification; further updates are refused.
    let st = v.get("sys/rekey/init").await.json_at(200);
    assert_eq!(st["verification_nonce"], vnonce.as_str());
    v.put("sys/rekey/update", json!({"key": old[2], "nonce": nonce}))
        .await
        .errors(
            400,
            &[&format!(
                "rekey operation already finished; verification must be performed; nonce for the verification operation is \"{vnonce}\""
            )],
        );
    // Not in effect yet: the seal configuration is still the old one.
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!((&s["t"], &s["n"]), (&json!(2), &json!(3)));

    // Verify errors: wrong nonce, duplicate; the old shares fail the check and rotate the
    // verification nonce.
    v.put("sys/rekey/verify", json!({"key": new[0], "nonce": "nope"}))
        .await
        .errors(
            400,
            &[&format!(
                "incorrect nonce supplied; nonce for this verify operation is \"{vnonce}\""
            )],
        );
    let vs = v
        .put("sys/rekey/verify", json!({"key": new[0], "nonce": vnonce}))
        .await
        .json_at(200);
    assert_eq!(
        vs,
        json!({"nonce": vnonce, "started": true, "t": 2, "n": 3, "progress": 1})
    );
    v.put("sys/rekey/verify", json!({"key": new[0], "nonce": vnonce}))
        .await
        .errors(
            400,
            &["given key has already been provided during this verify operation"],
        );
    v.put("sys/rekey/verify", json!({"key": old[0], "nonce": vnonce}))
        .await
        .errors(
            400,
            &["rekey verification failed; incorrect key shares supplied"],
        );
    let vs = v.get("sys/rekey/verify").await.json_at(200);
    assert_eq!(vs["progress"], 0);
    let vnonce2 = vs["nonce"].as_str().unwrap().to_owned();
    assert_ne!(vnonce2, vnonce, "a failed verification rotates the nonce");
    // DELETE restarts the verification under yet another nonce.
    v.put("sys/rekey/verify", json!({"key": new[1], "nonce": vnonce2}))
        .await
        .json_at(200);
    let vs = v.delete("sys/rekey/verify").await.json_at(200);
    assert_eq!(vs["progress"], 0);
    let vnonce3 = vs["nonce"].as_str().unwrap().to_owned();
    assert_ne!(vnonce3, vnonce2);

    // A crash before verification: the old shares are still the ones.
    let v = restart(&mut srv, true);
    assert!(!unseals_with(&v, &new).await);
    assert!(
        unseals_with(&v, &old[1..]).await,
        "old shares lost before verification"
    );

    // Again, verified this time.
    let st = start(
        &v,
        json!({"secret_shares": 3, "secret_threshold": 2, "require_verification": true}),
    )
    .await;
    let done = update(&v, st["nonce"].as_str().unwrap(), &old[..2]).await;
    let new = strings(&done["keys_base64"]);
    let vnonce = done["verification_nonce"].as_str().unwrap().to_owned();
    let vs = v
        .put("sys/rekey/verify", json!({"key": new[2], "nonce": vnonce}))
        .await
        .json_at(200);
    assert_eq!(vs["progress"], 1);
    let fin = v
        .put("sys/rekey/verify", json!({"key": new[0], "nonce": vnonce}))
        .await
        .json_at(200);
    assert_eq!(fin, json!({"nonce": vnonce, "complete": true}));
    v.get("sys/rekey/verify")
        .await
        .errors(400, &["no rekey configuration found"]);
    v.with_token(&root)
        .put("sys/seal", json!({}))
        .await
        .no_content();
    assert!(!unseals_with(&v, &old).await);
    assert!(unseals_with(&v, &new[..2]).await);
}

#[tokio::test]
async fn kill_9_mid_rekey_leaves_the_old_shares_and_after_the_commit_the_new_ones() {
    let (mut srv, v, old, root) = shamir_server().await;
    // Mid-rekey: one of two shares given, then kill -9.
    let st = start(&v, json!({"secret_shares": 4, "secret_threshold": 3})).await;
    update(&v, st["nonce"].as_str().unwrap(), &old[..1]).await;
    let v = restart(&mut srv, true);
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!((&s["t"], &s["n"]), (&json!(2), &json!(3)));
    assert!(
        unseals_with(&v, &old[1..]).await,
        "old shares lost after a crash"
    );
    // The attempt died with the process.
    assert_eq!(v.get("sys/rekey/init").await.json_at(200)["started"], false);

    // A completed rekey, then kill -9 right after its answer: the new shares are durable.
    let st = start(&v, json!({"secret_shares": 4, "secret_threshold": 3})).await;
    let done = update(&v, st["nonce"].as_str().unwrap(), &old[1..]).await;
    let new = strings(&done["keys"]);
    let v = restart(&mut srv, true);
    let s = v.get("sys/seal-status").await.json_at(200);
    assert_eq!((&s["t"], &s["n"]), (&json!(3), &json!(4)));
    assert!(!unseals_with(&v, &old).await);
    assert!(unseals_with(&v, &new[1..]).await);
    assert!(
        v.with_token(&root)
            .get("auth/token/lookup-self")
            .await
            .status
            == 200
    );
}

#[tokio::test]
async fn rekey_backup_needs_sudo() {
    let (_srv, v, _old, root) = shamir_server().await;
    let admin = v.with_token(&root);
    admin
        .put_policy(
            "backup-reader",
            r#"path "sys/rekey/backup" { capabilities = ["read", "delete"] }"#,
        )
        .await;
    admin
        .put_policy(
            "backup-sudo",
            r#"path "sys/rekey/backup" { capabilities = ["read", "delete", "sudo"] }"#,
        )
        .await;
    let plain = admin.token_with(&["backup-reader"]).await;
    let sudo = admin.token_with(&["backup-sudo"]).await;
    v.get("sys/rekey/backup").await.denied();
    v.with_token(&plain).get("sys/rekey/backup").await.denied();
    v.with_token(&plain)
        .delete("sys/rekey/backup")
        .await
        .denied();
    v.with_token(&sudo)
        .get("sys/rekey/backup")
        .await
        .errors(400, &["no backed-up keys found"]);
    v.with_token(&sudo)
        .delete("sys/rekey/backup")
        .await
        .no_content();
    admin
        .get("sys/rekey/recovery-key-backup")
        .await
        .errors(400, &["no backed-up keys found"]);
}
