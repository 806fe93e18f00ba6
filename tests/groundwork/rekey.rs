//! Rekey on a replication secondary: its unseal keys are its primary's (`core/seal-config`
//! and `core/root-key` are replicated), so a rekey is refused with a clear 400 at
//! `sys/rekey/init`, and should one reach the barrier's commit anyway (the node turned
//! follower mid-rekey) the barrier's typed follower error is a 400 too. Nothing is written.

use serde_json::json;
use vaultrs::core::CoreConfig;
use vaultrs::storage::barrier::{ROOT_KEY_PATH, SEAL_CONFIG_PATH};
use vaultrs::storage::Physical;

use super::support::Node;

/// The two keys a rekey rewrites, as stored.
async fn seal_keys(node: &Node) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let file = &node.storage.file;
    (
        file.get(SEAL_CONFIG_PATH).await.unwrap(),
        file.get(ROOT_KEY_PATH).await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_refuses_to_rekey() {
    let dir = tempfile::tempdir().unwrap();
    let primary = Node::init(dir.path()).await;
    let (root, key) = (primary.root.clone(), primary.unseal_key.clone());
    primary.stop().await;

    let config = CoreConfig {
        follower: true,
        ..CoreConfig::default()
    };
    let follower = Node::open(dir.path(), config, &key, Some(&root)).await;
    let before = seal_keys(&follower).await;
    let v = follower.v();
    v.anon()
        .put(
            "sys/rekey/init",
            json!({"secret_shares": 1, "secret_threshold": 1}),
        )
        .await
        .error_containing(400, "cannot rekey a replication secondary");
    assert_eq!(
        v.anon().get("sys/rekey/init").await.json_at(200)["started"],
        false
    );
    v.delete("sys/rekey/backup")
        .await
        .error_containing(400, "replicated data is written on the primary");
    assert_eq!(seal_keys(&follower).await, before);
    follower.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_reaching_a_follower_barrier_is_a_400_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::init(dir.path()).await;
    let v = node.v().anon();
    let st = v
        .put(
            "sys/rekey/init",
            json!({"secret_shares": 3, "secret_threshold": 2}),
        )
        .await
        .json_at(200);
    let before = seal_keys(&node).await;
    // The node becomes a follower between the start and the commit.
    node.core
        .barrier()
        .set_follower(Some(vaultrs::locality::is_local));
    let share = crate::api::common::hex(&node.unseal_key);
    v.put(
        "sys/rekey/update",
        json!({"key": share, "nonce": st["nonce"]}),
    )
    .await
    .error_containing(400, "replicated data is written on the primary");
    assert_eq!(seal_keys(&node).await, before);
    // The old key still opens the root key.
    node.core.barrier().set_follower(None);
    node.core.seal().await;
    node.core.unseal(&node.unseal_key).await.unwrap();
    assert!(!node.core.is_sealed());
    node.stop().await;
}
