//! `sys/remount` (issue 11 §8): moving secrets engines and auth methods with their data,
//! the migration status, Vault's refusals, the `sudo` it needs, and a crash in the middle.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// Starts a move; its migration id.
async fn start(v: &V, from: &str, to: &str) -> String {
    let body = v
        .post("sys/remount", json!({"from": from, "to": to}))
        .await
        .ok();
    assert_envelope("sys/remount", &body);
    assert_eq!(
        body["warnings"],
        json!(["Mount move has been queued. Progress will be reported in Vault's server log, tagged with the returned migration_id"])
    );
    let id = body["data"]["migration_id"].as_str().unwrap().to_owned();
    assert!(is_uuid(&id), "{id}");
    id
}

/// Polls the status until the move is no longer in progress; its `migration_info`.
async fn finished(v: &V, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let data = v.get(&format!("sys/remount/status/{id}")).await.data();
        assert_eq!(data["migration_id"], id);
        let info = data["migration_info"].clone();
        if info["status"] != "in-progress" {
            return info;
        }
        assert!(Instant::now() < deadline, "move {id} still in progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Moves and expects success.
async fn moved(v: &V, from: &str, to: &str) {
    let id = start(v, from, to).await;
    let info = finished(v, &id).await;
    assert_eq!(info["status"], "success", "{from} -> {to}: {info}");
}

fn keys_under(keys: &std::collections::BTreeSet<String>, prefix: &str) -> Vec<String> {
    keys.iter()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_kv2_mount_moves_with_its_data_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    v.enable("app", json!({"type": "kv-v2", "description": "the app"}))
        .await;
    v.kv2_put("app/data/db/password", json!({"v": "s3cr3t"}))
        .await;
    v.kv2_put("app/data/db/password", json!({"v": "s3cr3t-2"}))
        .await;
    let before = v.get("sys/mounts/app").await.data();
    let uuid = before["uuid"].as_str().unwrap().to_owned();
    let prefix = format!("logical/{uuid}/");
    let data_before = keys_under(&clean_tree_keys(&srv.data_dir), &prefix);
    assert!(!data_before.is_empty());

    let id = start(&v, "app", "team/app").await;
    let info = finished(&v, &id).await;
    assert_eq!(
        info,
        json!({"source_mount": "app/", "target_mount": "team/app/", "status": "success"})
    );

    // The same mount (uuid, accessor, settings) at the new path, none at the old one.
    let after = v.get("sys/mounts/team/app").await.data();
    assert_eq!(after, before);
    let table = v.get("sys/mounts").await.data();
    assert!(table.get("app/").is_none() && table.get("team/app/").is_some());
    let read = v.get("team/app/data/db/password").await.data();
    assert_eq!(read["data"], json!({"v": "s3cr3t-2"}));
    assert_eq!(read["metadata"]["version"], 2);
    assert_eq!(
        v.get("team/app/data/db/password?version=1").await.data()["data"]["v"],
        "s3cr3t"
    );
    v.get("app/data/db/password").await.errors(
        404,
        &["no handler for route \"app/data/db/password\". route entry not found."],
    );
    // The data moved without a key rewritten: a table change.
    let keys = clean_tree_keys(&srv.data_dir);
    assert_eq!(keys_under(&keys, &prefix), data_before);
    assert!(keys_under(&keys, "local/core/cleanup/").is_empty());
    assert_keys_expected(&keys, &v.mount_uuids().await);

    // Writes at the new path, then a kill -9 and a restart: all of it is there.
    v.kv2_put("team/app/data/new", json!({"n": 1})).await;
    drop(srv);
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    assert_eq!(
        v.get("team/app/data/db/password").await.data()["data"]["v"],
        "s3cr3t-2"
    );
    assert_eq!(v.get("team/app/data/new").await.data()["data"]["n"], 1);
    v.get("app/data/db/password").await.some_error(404);
    assert_eq!(
        v.get("sys/mounts/team/app").await.data()["uuid"],
        json!(uuid)
    );
    // The status lives as long as the unsealed core, as in Vault.
    v.get(&format!("sys/remount/status/{id}")).await.not_found();
}

#[tokio::test]
async fn a_local_mount_stays_local_and_the_old_path_is_free_again() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("scratch", json!({"type": "kv", "local": true}))
        .await;
    v.post("scratch/note", json!({"text": "hi"}))
        .await
        .no_content();
    let uuid = v.get("sys/mounts/scratch").await.data()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    moved(&v, "scratch/", "/scratch2/").await;
    let m = v.get("sys/mounts/scratch2").await.data();
    assert_eq!(
        (m["local"].clone(), m["uuid"].clone()),
        (json!(true), json!(uuid))
    );
    assert_eq!(v.get("scratch2/note").await.data()["text"], "hi");
    let keys = clean_tree_keys(&srv.data_dir);
    assert_eq!(
        keys_under(&keys, &format!("local/logical/{uuid}/")),
        [format!("local/logical/{uuid}/note")]
    );
    assert!(keys_under(&keys, &format!("logical/{uuid}/")).is_empty());
    // The old path can hold a new, empty mount.
    v.enable("scratch", json!({"type": "kv"})).await;
    v.get("scratch/note").await.not_found();
    // And moving back onto it is refused now.
    v.post("sys/remount", json!({"from": "scratch2", "to": "scratch"}))
        .await
        .errors(400, &["path already in use at \"scratch/\""]);
}

#[tokio::test]
async fn an_auth_method_moves_its_users_and_revokes_the_old_paths_tokens() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post(
        "auth/userpass/users/bob",
        json!({"password": "pw-bob", "token_ttl": "1h"}),
    )
    .await
    .no_content();
    let login = |path: &'static str| {
        let v = v.anon();
        async move {
            v.post(
                &format!("auth/{path}/login/bob"),
                json!({"password": "pw-bob"}),
            )
            .await
        }
    };
    let old_token = login("userpass").await.ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = v.get("sys/auth/userpass").await.data();
    assert_eq!(
        v.list("sys/leases/lookup/auth/userpass/login/bob/")
            .await
            .data()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let id = start(&v, "auth/userpass", "auth/up2").await;
    assert_eq!(
        finished(&v, &id).await,
        json!({"source_mount": "auth/userpass/", "target_mount": "auth/up2/", "status": "success"})
    );
    assert_eq!(v.get("sys/auth/up2").await.data(), before);
    assert!(v.get("sys/auth").await.data().get("userpass/").is_none());
    // As Vault does, the old path's tokens and leases are gone.
    v.with_token(&old_token)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.list("sys/leases/lookup/auth/userpass/login/bob/")
        .await
        .not_found();
    // Users came along: log in at the new path, not at the old one.
    let auth = login("up2").await.ok()["auth"].clone();
    assert_eq!(auth["lease_duration"], 3600);
    let me = v
        .with_token(auth["client_token"].as_str().unwrap())
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(me["path"], "auth/up2/login/bob");
    assert_eq!(me["display_name"], "up2-bob");
    // Without a token a path no mount serves is a 403, with one a 404, as in Vault.
    login("userpass").await.denied();
    v.post("auth/userpass/login/bob", json!({"password": "pw-bob"}))
        .await
        .errors(
            404,
            &["no handler for route \"auth/userpass/login/bob\". route entry not found."],
        );
    assert_keys_expected(&clean_tree_keys(&srv.data_dir), &v.mount_uuids().await);
}

#[tokio::test]
async fn refusals_use_vaults_messages_and_change_nothing() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("team/kv", json!({"type": "kv"})).await;
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    let mounts = v.get("sys/mounts").await.data();
    let auths = v.get("sys/auth").await.data();
    let keys = clean_tree_keys(&srv.data_dir);
    let cases: &[(Value, &str)] = &[
        (
            json!({}),
            "both 'from' and 'to' path must be specified as a string",
        ),
        (
            json!({"from": "secret"}),
            "both 'from' and 'to' path must be specified as a string",
        ),
        (
            json!({"from": "secret", "to": " kv"}),
            "'to' path cannot contain trailing whitespace",
        ),
        // Protected mounts, either way.
        (
            json!({"from": "sys", "to": "system"}),
            "cannot remount \"sys/\"",
        ),
        (
            json!({"from": "cubbyhole", "to": "c2"}),
            "cannot remount \"cubbyhole/\"",
        ),
        (
            json!({"from": "identity", "to": "i2"}),
            "cannot remount \"identity/\"",
        ),
        (
            json!({"from": "secret", "to": "sys/secret"}),
            "cannot remount to destination sys/secret/",
        ),
        (
            json!({"from": "secret", "to": "cubbyhole/x"}),
            "cannot remount to destination cubbyhole/x/",
        ),
        (
            json!({"from": "auth/token", "to": "auth/t2"}),
            "cannot remount \"auth/token/\"",
        ),
        (
            json!({"from": "auth/userpass", "to": "auth/token/up"}),
            "cannot remount to destination \"auth/token/up/\"",
        ),
        // Between the tables.
        (
            json!({"from": "secret", "to": "auth/secret"}),
            "cannot remount to destination auth/secret/",
        ),
        (
            json!({"from": "auth/userpass", "to": "userpass"}),
            "cannot remount auth mount to non-auth mount \"userpass/\"",
        ),
        // No such mount (a path inside a mount is not the mount).
        (
            json!({"from": "nope", "to": "x"}),
            "no matching mount at \"nope/\"",
        ),
        (
            json!({"from": "secret/inner", "to": "x"}),
            "no matching mount at \"secret/inner/\"",
        ),
        (
            json!({"from": "team", "to": "x"}),
            "no matching mount at \"team/\"",
        ),
        (
            json!({"from": "auth/nope", "to": "auth/x"}),
            "no matching mount at \"auth/nope/\"",
        ),
        // A target that exists or nests with a mount (the source's own path included).
        (
            json!({"from": "secret", "to": "team/kv"}),
            "path already in use at \"team/kv/\"",
        ),
        (
            json!({"from": "secret", "to": "team/kv/deeper"}),
            "path already in use at \"team/kv/\"",
        ),
        (
            json!({"from": "secret", "to": "team"}),
            "path already in use at \"team/kv/\"",
        ),
        (
            json!({"from": "secret", "to": "secret"}),
            "path already in use at \"secret/\"",
        ),
        (
            json!({"from": "secret", "to": "secret/sub"}),
            "path already in use at \"secret/\"",
        ),
        (
            json!({"from": "auth/userpass", "to": "auth/userpass/x"}),
            "path already in use at \"auth/userpass/\"",
        ),
    ];
    for (body, msg) in cases {
        v.post("sys/remount", body.clone())
            .await
            .errors(400, &[msg]);
    }
    v.post("sys/remount", json!({"from": "secret", "to": "a/../b"}))
        .await
        .error_containing(400, "invalid destination mount");
    v.post("sys/remount", json!({"from": "secret", "to": "sys"}))
        .await
        .some_error(400);
    // Only POST/PUT starts a move; an unknown migration is Vault's plain 404.
    v.get("sys/remount").await.some_error(405);
    v.get("sys/remount/status/8a3c2a11-1111-4111-8111-111111111111")
        .await
        .not_found();
    v.get("sys/remount/status/").await.some_error(400);
    v.post("sys/remount/status/x", json!({}))
        .await
        .some_error(405);

    assert_eq!(v.get("sys/mounts").await.data(), mounts);
    assert_eq!(v.get("sys/auth").await.data(), auths);
    assert_eq!(
        clean_tree_keys(&srv.data_dir),
        keys,
        "a refusal writes nothing"
    );
}

#[tokio::test]
async fn moving_needs_update_and_sudo_on_sys_remount() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("app", json!({"type": "kv"})).await;
    let limited = |name: &'static str, policy: &'static str| {
        let v = v.clone();
        async move {
            v.put_policy(name, policy).await;
            v.create_token(json!({"policies": [name], "no_default_policy": true}))
                .await
                .0
        }
    };
    let no_sudo = limited(
        "remount-no-sudo",
        r#"path "sys/remount" { capabilities = ["create", "update"] }
path "sys/*" { capabilities = ["create", "read", "update", "delete", "list"] }"#,
    )
    .await;
    let read_only = limited(
        "remount-read",
        r#"path "sys/remount" { capabilities = ["read", "sudo"] }"#,
    )
    .await;
    let mover = limited(
        "remount-mover",
        r#"path "sys/remount" { capabilities = ["update", "sudo"] }"#,
    )
    .await;
    for token in [&no_sudo, &read_only] {
        for path in ["sys/remount", "sys/remount/"] {
            v.with_token(token)
                .post(path, json!({"from": "app", "to": "moved"}))
                .await
                .denied();
        }
    }
    assert!(v.get("sys/mounts").await.data().get("app/").is_some());

    // update + sudo on sys/remount moves; reading the status needs its own grant.
    let r = v
        .with_token(&mover)
        .post("sys/remount", json!({"from": "app", "to": "moved"}))
        .await
        .ok();
    let id = r["data"]["migration_id"].as_str().unwrap().to_owned();
    v.with_token(&mover)
        .get(&format!("sys/remount/status/{id}"))
        .await
        .denied();
    assert_eq!(finished(&v, &id).await["status"], "success");
    let watcher = limited(
        "remount-watcher",
        r#"path "sys/remount/status/*" { capabilities = ["read"] }"#,
    )
    .await;
    assert_eq!(
        v.with_token(&watcher)
            .get(&format!("sys/remount/status/{id}"))
            .await
            .data()["migration_info"]["status"],
        "success"
    );
    v.with_token(&watcher)
        .post("sys/remount", json!({"from": "moved", "to": "again"}))
        .await
        .denied();
    assert!(v.get("sys/mounts").await.data().get("moved/").is_some());
}

/// The move is killed after its table commit (before the router switched and before the
/// old path's tokens were swept); the restart finishes it.
#[cfg_attr(
    not(debug_assertions),
    ignore = "the crash hook exists in debug builds only"
)]
#[tokio::test]
async fn a_move_killed_after_its_table_commit_finishes_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let srv = TestServer::dev_in_env(
        &data_dir,
        None,
        &[],
        &[("VAULTRS_TEST_PAUSE", "remount-after-table")],
    );
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post("auth/userpass/users/bob", json!({"password": "pw"}))
        .await
        .no_content();
    v.enable("app", json!({"type": "kv"})).await;
    v.post("app/k", json!({"v": "1"})).await.no_content();

    let id = start(&v, "auth/userpass", "auth/up2").await;
    srv.wait_for_stderr("paused at remount-after-table", Duration::from_secs(30));
    let info = v.get(&format!("sys/remount/status/{id}")).await.data()["migration_info"].clone();
    assert_eq!(info["status"], "in-progress");
    // Until the switch, the old path answers: a login now is a straggler the move must
    // still revoke.
    let straggler = v
        .anon()
        .post("auth/userpass/login/bob", json!({"password": "pw"}))
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(srv); // kill -9

    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    assert!(v.get("sys/auth").await.data().get("up2/").is_some());
    assert!(v.get("sys/auth").await.data().get("userpass/").is_none());
    v.with_token(&straggler)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.anon()
        .post("auth/up2/login/bob", json!({"password": "pw"}))
        .await
        .ok();
    assert_eq!(v.get("app/k").await.data()["v"], "1");
    let keys = clean_tree_keys(&srv.data_dir);
    assert!(
        keys_under(&keys, "local/core/cleanup/").is_empty(),
        "{keys:?}"
    );
    assert_keys_expected(&keys, &v.mount_uuids().await);
}

/// The Rust `vaultrs` client crate (0.8) reads both answers strictly.
#[tokio::test]
async fn the_vaultrs_client_crate_moves_a_mount() {
    use vault_client::client::{VaultClient, VaultClientSettingsBuilder};
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("app", json!({"type": "kv"})).await;
    let client = VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&srv.addr)
            .token("root")
            .build()
            .unwrap(),
    )
    .unwrap();
    let started = vault_client::sys::remount::remount(&client, "app", "moved")
        .await
        .unwrap();
    assert!(is_uuid(&started.migration_id));
    // The answer waited for this small move: the first status read finds it finished.
    let status = vault_client::sys::remount::remount_status(&client, &started.migration_id)
        .await
        .unwrap();
    assert_eq!(status.migration_id, started.migration_id);
    let info = status.migration_info;
    assert_eq!(
        (info.source_mount, info.target_mount, info.status),
        ("app/".into(), "moved/".into(), "success".into())
    );
}
