//! Disabling a mount (issue 11 §8): the table change and the purge of the mount's data
//! are crash-safe together, so no key of a disabled mount outlives it, even across a
//! `kill -9` between the two.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use super::common::*;
use crate::harness::TestServer;

/// Every storage key that names `uuid` (data, cluster-local data, anything).
fn keys_naming(keys: &BTreeSet<String>, uuid: &str) -> Vec<String> {
    keys.iter().filter(|k| k.contains(uuid)).cloned().collect()
}

fn cleanup_records(keys: &BTreeSet<String>) -> Vec<String> {
    keys.iter()
        .filter(|k| k.starts_with("local/core/cleanup/"))
        .cloned()
        .collect()
}

async fn uuid_of(v: &V, table: &str, path: &str) -> String {
    v.get(&format!("{table}/{path}")).await.data()["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn disabling_any_mount_leaves_no_key_of_it() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("kv2", json!({"type": "kv-v2"})).await;
    v.kv2_put("kv2/data/a", json!({"x": "1"})).await;
    v.kv2_put("kv2/data/deep/er/b", json!({"x": "2"})).await;
    v.enable("loc", json!({"type": "kv", "local": true})).await;
    v.post("loc/c", json!({"x": "3"})).await.no_content();
    v.post("sys/auth/up", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post("auth/up/users/bob", json!({"password": "pw"}))
        .await
        .no_content();
    let bob = v
        .anon()
        .post("auth/up/login/bob", json!({"password": "pw"}))
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    v.post("sys/auth/ar", json!({"type": "approle", "local": true}))
        .await
        .no_content();
    v.post("auth/ar/role/r", json!({"token_ttl": "1h"}))
        .await
        .no_content();
    v.post("auth/ar/role/r/secret-id", json!({})).await.ok();

    let uuids = [
        uuid_of(&v, "sys/mounts", "kv2").await,
        uuid_of(&v, "sys/mounts", "loc").await,
        uuid_of(&v, "sys/auth", "up").await,
        uuid_of(&v, "sys/auth", "ar").await,
    ];
    let before = clean_tree_keys(&srv.data_dir);
    for uuid in &uuids {
        assert!(!keys_naming(&before, uuid).is_empty(), "no data for {uuid}");
    }
    // approle keeps its secret ids as cluster-local data.
    assert!(!keys_naming(&before, &format!("local/engine/{}/", uuids[3])).is_empty());

    for path in [
        "sys/mounts/kv2",
        "sys/mounts/loc",
        "sys/auth/up",
        "sys/auth/ar",
    ] {
        v.delete(path).await.no_content();
    }
    // The tokens an auth method issued went first, as in Vault.
    v.with_token(&bob)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.list("sys/leases/lookup/auth/up/").await.not_found();
    let after = clean_tree_keys(&srv.data_dir);
    for uuid in &uuids {
        assert_eq!(keys_naming(&after, uuid), Vec::<String>::new(), "{uuid}");
    }
    assert_eq!(cleanup_records(&after), Vec::<String>::new());
    assert_keys_expected(&after, &v.mount_uuids().await);
    v.get("kv2/data/a").await.some_error(404);
}

/// The disable is killed after its table commit, before any of the mount's data is
/// deleted: the restart purges it all (more keys than one purge batch holds).
#[cfg_attr(
    not(debug_assertions),
    ignore = "the crash hook exists in debug builds only"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disable_killed_after_its_table_commit_purges_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let srv = TestServer::dev_in_env(
        &data_dir,
        None,
        &[],
        &[("VAULTRS_TEST_PAUSE", "disable-after-table")],
    );
    let v = V::root(&srv);
    v.enable("big", json!({"type": "kv"})).await;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let v = v.clone();
        writers.spawn(async move {
            for i in 0..80 {
                v.post(&format!("big/w{w}/s{i}"), json!({"i": i}))
                    .await
                    .no_content();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let uuid = uuid_of(&v, "sys/mounts", "big").await;
    assert_eq!(
        keys_naming(&clean_tree_keys(&srv.data_dir), &uuid).len(),
        640
    );

    let disabling = {
        let v = v.clone();
        tokio::spawn(async move { v.req("DELETE", "sys/mounts/big").send().await })
    };
    srv.wait_for_stderr("paused at disable-after-table", Duration::from_secs(30));
    // The mount is gone from the table and the router; its data not yet, and a cleanup
    // record says so.
    assert!(v.get("sys/mounts").await.data().get("big/").is_none());
    let paused = clean_tree_keys(&srv.data_dir);
    assert_eq!(keys_naming(&paused, &uuid).len(), 640);
    assert_eq!(cleanup_records(&paused).len(), 1, "{paused:?}");
    drop(srv); // kill -9
    assert!(
        disabling.await.unwrap().is_err(),
        "the disable was never answered"
    );

    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    let keys = clean_tree_keys(&srv.data_dir);
    let left = keys_naming(&keys, &uuid);
    assert!(
        left.is_empty(),
        "{} keys of the disabled mount remain",
        left.len()
    );
    assert_eq!(cleanup_records(&keys), Vec::<String>::new());
    assert_keys_expected(&keys, &v.mount_uuids().await);
    assert!(v.get("sys/mounts").await.data().get("big/").is_none());
    v.enable("big", json!({"type": "kv"})).await;
    v.list("big/w0/").await.not_found();
}
