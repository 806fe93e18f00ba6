//! Follower mode: replicated keys are written only below the barrier (by the replication
//! applier). Unsealing, serving and sealing a follower leaves every replicated key
//! byte-identical; API writes of replicated data get a typed error; local writes work.

use std::collections::BTreeMap;

use serde_json::json;
use vaultrs::core::storage::Storage;
use vaultrs::core::CoreConfig;
use vaultrs::storage::{FileBackend, Physical};

use super::support::Node;

/// Every replicated key and its ciphertext.
async fn replicated(file: &FileBackend) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for key in file.keys().await.unwrap() {
        if vaultrs::locality::is_replicated(&key) {
            let value = file.get(&key).await.unwrap().unwrap();
            out.insert(key, value);
        }
    }
    out
}

/// [`replicated`] of the data directory `dir`, with no server on it.
async fn replicated_in(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let storage = Storage::open(dir, false).await.unwrap();
    let out = replicated(&storage.file).await;
    storage.file.close().await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_writes_local_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    // A cluster with data, as a primary leaves it.
    let primary = Node::init(dir.path()).await;
    let v = primary.v();
    v.put("secret/data/app", json!({"data": {"password": "s3cr3t"}}))
        .await
        .ok();
    v.put(
        "sys/policies/acl/reader",
        json!({"policy": r#"path "secret/data/*" { capabilities = ["read"] }"#}),
    )
    .await
    .no_content();
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.put(
        "auth/userpass/users/alice",
        json!({"password": "pw", "policies": "reader"}),
    )
    .await
    .no_content();
    v.post("sys/auth/approle", json!({"type": "approle"}))
        .await
        .no_content();
    v.put("auth/approle/role/app", json!({"token_policies": "reader"}))
        .await
        .no_content();
    let role_id = v.get("auth/approle/role/app/role-id").await.data()["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (root, key) = (primary.root.clone(), primary.unseal_key.clone());
    primary.stop().await;

    let config = CoreConfig {
        follower: true,
        ..CoreConfig::default()
    };
    let before = replicated_in(dir.path()).await;
    let follower = Node::open(dir.path(), config, &key, Some(&root)).await;
    let v = follower.v();

    // Reads of replicated data are served.
    assert_eq!(
        v.get("secret/data/app").await.data()["data"]["password"],
        "s3cr3t"
    );
    // Local writes work: tokens, logins, cubbyhole, approle secret ids.
    let (token, ..) = v.create_token(json!({"policies": ["reader"]})).await;
    assert_eq!(
        v.with_token(&token).get("secret/data/app").await.data()["data"]["password"],
        "s3cr3t"
    );
    v.put("cubbyhole/note", json!({"a": "b"}))
        .await
        .no_content();
    v.anon()
        .post("auth/userpass/login/alice", json!({"password": "pw"}))
        .await
        .ok();
    let secret_id = v
        .post("auth/approle/role/app/secret-id", json!({}))
        .await
        .data()["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    v.anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await
        .ok();

    // Writes of replicated data get the follower error, and change nothing.
    for (path, body) in [
        ("secret/data/app", json!({"data": {"password": "changed"}})),
        ("sys/policies/acl/other", json!({"policy": "path \"x\" {}"})),
        ("auth/userpass/users/bob", json!({"password": "pw"})),
        ("sys/rotate", json!({})),
    ] {
        v.post(path, body)
            .await
            .error_containing(400, "replicated data is written on the primary");
    }
    assert_eq!(
        v.get("secret/data/app").await.data()["data"]["password"],
        "s3cr3t"
    );
    // Mounts: non-local ones are the primary's; local ones are this cluster's own.
    v.post("sys/mounts/more", json!({"type": "kv"}))
        .await
        .errors(
            400,
            &["cannot add a non-local mount to a replication secondary"],
        );
    v.delete("sys/mounts/secret").await.errors(
        400,
        &["cannot unmount a non-local mount on a replication secondary"],
    );
    v.post("sys/mounts/secret/tune", json!({"max_lease_ttl": "1h"}))
        .await
        .errors(
            400,
            &["cannot tune a non-local mount on a replication secondary"],
        );
    v.post("sys/mounts/scratch", json!({"type": "kv", "local": true}))
        .await
        .no_content();
    v.put("scratch/x", json!({"y": 1})).await.no_content();
    v.post("sys/mounts/scratch/tune", json!({"max_lease_ttl": "1h"}))
        .await
        .no_content();
    v.delete("sys/mounts/scratch").await.no_content();
    assert_eq!(
        v.get("secret/data/app").await.data()["data"]["password"],
        "s3cr3t"
    );

    // Sealing writes the keyring's counters to their local key, not the keyring.
    follower.core.seal().await;
    follower.core.unseal(&key).await.unwrap();
    follower.stop().await;
    assert_eq!(
        replicated_in(dir.path()).await,
        before,
        "a follower wrote replicated keys"
    );
}
