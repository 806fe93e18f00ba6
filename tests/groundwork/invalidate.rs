//! Replicated keys written below the barrier (by a second barrier over the same keys, as
//! a replication applier writes them) are served by the API at once: a new mount and its
//! data, a policy, a rotated term; a removed mount disappears.

use serde_json::json;
use vaultrs::core::mounts::{MountEntry, StoredTable, Table};
use vaultrs::storage::{Barrier, Batch};

use super::support::Node;

async fn mounts_table(barrier: &Barrier) -> Vec<MountEntry> {
    let bytes = barrier.get("core/mounts").await.unwrap().unwrap();
    StoredTable::decode(&bytes).unwrap().entries
}

fn table_bytes(entries: Vec<MountEntry>) -> Vec<u8> {
    serde_json::to_vec(&StoredTable::new(entries)).unwrap()
}

fn policy_bytes(name: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"version": 1, "name": name, "policy": text})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_changes_below_the_barrier_are_served_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::init(dir.path()).await;
    let v = node.v();
    let applier = node.second_barrier().await;

    // A policy the core has cached (read, and used by a token).
    v.put(
        "sys/policies/acl/reader",
        json!({"policy": r#"path "shipped/*" { capabilities = ["deny"] }"#}),
    )
    .await
    .no_content();
    let (token, ..) = v
        .create_token(json!({"policies": ["reader"], "ttl": "1h"}))
        .await;
    let reader = v.with_token(&token);

    // A new mount and its data, in one batch.
    let mut mounts = mounts_table(&applier).await;
    let entry = MountEntry::new(Table::Mounts, "shipped/", "kv", "arrived", false);
    let uuid = entry.uuid.clone();
    mounts.push(entry);
    let seq = applier
        .commit(
            Batch::new()
                .put("core/mounts", table_bytes(mounts.clone()))
                .put(
                    format!("logical/{uuid}/greeting"),
                    serde_json::to_vec(&json!({"hello": "world"})).unwrap(),
                ),
        )
        .await
        .unwrap();
    node.core
        .wait_applied(seq, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        v.get("shipped/greeting").await.data(),
        json!({"hello": "world"})
    );
    assert_eq!(
        v.get("sys/mounts").await.data()["shipped/"]["description"],
        "arrived"
    );
    reader.get("shipped/greeting").await.denied();

    // The policy changes: the cached one and the ACL built from it are dropped.
    let seq = applier
        .commit(Batch::new().put(
            "sys/policy/reader",
            policy_bytes("reader", r#"path "shipped/*" { capabilities = ["read"] }"#),
        ))
        .await
        .unwrap();
    node.core
        .wait_applied(seq, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        reader.get("shipped/greeting").await.data()["hello"],
        "world"
    );
    assert!(v.get("sys/policies/acl/reader").await.data()["policy"]
        .as_str()
        .unwrap()
        .contains("read"));

    // A rotated term, and data sealed with it: the core learns the term at once.
    applier.rotate().await.unwrap();
    let seq = applier
        .commit(Batch::new().put(
            format!("logical/{uuid}/later"),
            serde_json::to_vec(&json!({"term": 2})).unwrap(),
        ))
        .await
        .unwrap();
    node.core
        .wait_applied(seq, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(v.get("shipped/later").await.data(), json!({"term": 2}));
    assert_eq!(v.get("sys/key-status").await.data()["term"], 2);

    // The mount is removed: it is gone from the router and the API.
    mounts.retain(|e| e.uuid != uuid);
    let seq = applier
        .commit(
            Batch::new()
                .put("core/mounts", table_bytes(mounts))
                .delete(format!("logical/{uuid}/greeting"))
                .delete(format!("logical/{uuid}/later")),
        )
        .await
        .unwrap();
    node.core
        .wait_applied(seq, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    v.get("shipped/greeting").await.some_error(404);
    assert!(v.get("sys/mounts").await.data().get("shipped/").is_none());

    // The core's own writes still work, and its Merkle index kept up with all of it.
    v.put("secret/data/after", json!({"data": {"ok": true}}))
        .await
        .ok();
    node.assert_index_current().await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tuned_mount_keeps_its_engine_and_takes_the_new_settings() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::init(dir.path()).await;
    let v = node.v();
    v.put("secret/data/x", json!({"data": {"v": 1}})).await.ok();
    let applier = node.second_barrier().await;
    let mut mounts = mounts_table(&applier).await;
    let secret = mounts.iter_mut().find(|e| e.path == "secret/").unwrap();
    secret.description = "tuned on the primary".into();
    secret.config.max_lease_ttl = 7200;
    let seq = applier
        .commit(Batch::new().put("core/mounts", table_bytes(mounts)))
        .await
        .unwrap();
    node.core
        .wait_applied(seq, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let tune = v.get("sys/mounts/secret/tune").await.data();
    assert_eq!(tune["max_lease_ttl"], 7200);
    assert_eq!(tune["description"], "tuned on the primary");
    assert_eq!(v.get("secret/data/x").await.data()["data"]["v"], 1);
    node.stop().await;
}
