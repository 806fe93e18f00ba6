//! A data directory written by vaultrs 0.1.0 (storage layout 0, `tests/fixtures/layout-v0`)
//! keeps working: today's server migrates it on its first unseal, and everything in it
//! reads back through the API.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::api::common::{clean_tree_keys, V};
use crate::harness::TestServer;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layout-v0")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture().join(name))
        .unwrap()
        .trim()
        .to_owned()
}

/// Everything the fixture holds, through the API.
async fn check_everything(v: &V) {
    let d = v.get("secret/data/prod/stripe").await.data();
    assert_eq!(d["data"], json!({"api_key": "sk_live_2"}));
    assert_eq!(d["metadata"]["version"], 2);
    let m = v.get("secret/metadata/prod/stripe").await.data();
    assert_eq!(m["custom_metadata"], json!({"owner": "payments"}));
    assert_eq!(m["current_version"], 2);
    assert_eq!(
        v.get("secret/data/prod/stripe?version=1").await.data()["data"],
        json!({"api_key": "sk_live_1"})
    );
    assert_eq!(
        v.get("secret/data/app").await.data()["data"],
        json!({"password": "s3cr3t"})
    );
    let gone = v.get("secret/data/gone").await;
    assert_eq!(gone.status, 404);
    assert!(gone.json()["data"]["metadata"]["deletion_time"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(
        v.list("secret/metadata").await.data()["keys"],
        json!(["app", "gone", "prod/"])
    );
    assert_eq!(
        v.list("secret/metadata/prod").await.data()["keys"],
        json!(["stripe"])
    );
    assert_eq!(v.get("kv1/team/a").await.data(), json!({"b": "c"}));
    assert_eq!(
        v.get("scratch/data/notes").await.data()["data"],
        json!({"text": "local-only"})
    );
    assert!(v.get("sys/policies/acl/reader").await.data()["policy"]
        .as_str()
        .unwrap()
        .contains("secret/data/*"));

    let alice = v
        .anon()
        .post("auth/userpass/login/alice", json!({"password": "alice-pw"}))
        .await
        .ok();
    assert_eq!(alice["auth"]["policies"], json!(["default", "reader"]));
    let alice_token = alice["auth"]["client_token"].as_str().unwrap();
    assert_eq!(
        v.with_token(alice_token)
            .get("secret/data/app")
            .await
            .data()["data"]["password"],
        "s3cr3t"
    );
    v.anon()
        .post("auth/localpass/login/bob", json!({"password": "bob-pw"}))
        .await
        .ok();
    let app = v
        .anon()
        .post(
            "auth/approle/login",
            json!({
                "role_id": read_fixture("approle-role-id"),
                "secret_id": read_fixture("approle-secret-id"),
            }),
        )
        .await
        .ok();
    assert!(app["auth"]["client_token"].is_string());

    // The fixture's own root token still works, with its cubbyhole.
    let old_root = v.with_token("fixture-root");
    assert_eq!(
        old_root.get("cubbyhole/note").await.data(),
        json!({"text": "root-only"})
    );
    let mounts = v.get("sys/mounts").await.data();
    assert_eq!(mounts["scratch/"]["local"], true);
}

#[tokio::test]
async fn a_layout_0_data_dir_is_migrated_and_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&fixture().join("data"), &data);

    let srv = TestServer::dev_in(&data, None, &[]);
    let v = V::root(&srv);
    check_everything(&v).await;

    let keys = clean_tree_keys(&data);
    assert!(keys.contains("local/core/layout"), "{keys:?}");
    for k in &keys {
        assert!(
            !k.starts_with("sys/token/")
                && !k.starts_with("sys/expire/")
                && !k.starts_with("core/local-"),
            "a layout 0 key was left behind: {k}"
        );
        // KV v2 paths are hashed in layout 1: the tree does not say what it holds.
        for name in ["prod", "stripe", "gone", "notes"] {
            assert!(!k.contains(name), "a KV v2 path is readable on disk: {k}");
        }
    }
    let mounts = v.get("sys/mounts").await.data();
    let auth = v.get("sys/auth").await.data();
    let uuid = |m: &serde_json::Value| m["uuid"].as_str().unwrap().to_owned();
    for local in [
        uuid(&mounts["scratch/"]),
        uuid(&mounts["cubbyhole/"]),
        uuid(&auth["localpass/"]),
    ] {
        assert!(
            keys.iter().any(|k| k.contains(&local)),
            "no data of local mount {local}"
        );
        for k in keys.iter().filter(|k| k.contains(&local)) {
            assert!(
                k.starts_with("local/"),
                "local mount data outside local/: {k}"
            );
        }
    }
    let approle = uuid(&auth["approle/"]);
    assert!(keys
        .iter()
        .any(|k| k.starts_with(&format!("local/engine/{approle}/secret_id/"))));

    // A second start finds layout 1 and changes nothing.
    drop(srv);
    let srv = TestServer::dev_in(&data, None, &[]);
    check_everything(&V::root(&srv)).await;
}
