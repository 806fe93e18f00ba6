//! The replication data path between two in-process nodes: bootstrap of an empty
//! secondary by Merkle sync, streaming, local data both ways, and a Merkle diff whose
//! transfer grows with the difference when the secondary fell out of the primary's tail.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use vaultrs::core::storage::Storage;
use vaultrs::core::CoreConfig;
use vaultrs::replication::primary_client::PrimaryClient;
use vaultrs::replication::replica::{Replica, ReplicaForwarder};
use vaultrs::storage::{Batch, FileBackend, Physical};

use super::support::Node;

async fn replicated(file: &FileBackend) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for key in file.keys().await.unwrap() {
        if vaultrs::locality::is_replicated(&key) {
            out.insert(key.clone(), file.get(&key).await.unwrap().unwrap());
        }
    }
    out
}

struct Pair {
    primary: Node,
    secondary: Node,
    replica: Arc<Replica>,
    stop: tokio::sync::watch::Sender<bool>,
    _cluster: tokio::task::JoinHandle<()>,
}

impl Pair {
    /// A primary with a KV v2 `secret/`, and an empty secondary bootstrapped from it,
    /// unsealed with the primary's key, replicating.
    async fn start(primary_dir: &std::path::Path, secondary_dir: &std::path::Path) -> Pair {
        let primary = Node::init(primary_dir).await;
        let (cluster_addr, cluster) = primary.serve_cluster().await;
        let (_, cluster_id) = primary.core.cluster_identity().unwrap();
        let storage = Storage::open(secondary_dir, false).await.unwrap();
        let replica = Arc::new(Replica::new(
            storage.clone(),
            PrimaryClient::new(cluster_addr.clone(), reqwest::Client::new()),
            cluster_id,
        ));
        // Bootstrap: the keyring, seal config and data arrive before anything is unsealed.
        replica.merkle_sync(None).await.unwrap();
        storage.file.close().await.unwrap();
        let secondary = Node::open(
            secondary_dir,
            CoreConfig {
                follower: true,
                ..CoreConfig::default()
            },
            &primary.unseal_key,
            None,
        )
        .await;
        // The replica writes through the secondary's own storage stack from here.
        let client = PrimaryClient::new(cluster_addr, reqwest::Client::new());
        let replica = Arc::new(Replica::new(
            secondary.storage.clone(),
            client.clone(),
            primary.core.cluster_identity().unwrap().1,
        ));
        secondary
            .core
            .set_forwarder(Some(Arc::new(ReplicaForwarder {
                primary: client,
                replica: replica.clone(),
            })));
        let stop = tokio::sync::watch::channel(false).0;
        tokio::spawn(
            replica
                .clone()
                .run(Some(secondary.storage.barrier.clone()), stop.subscribe()),
        );
        Pair {
            primary,
            secondary,
            replica,
            stop,
            _cluster: cluster,
        }
    }

    /// Waits until the secondary applied everything the primary committed.
    async fn caught_up(&self) {
        let target = self.primary.storage.file.last_seq();
        for _ in 0..500 {
            if self.replica.status().last_remote_wal >= target {
                self.secondary.settle().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the secondary did not catch up to {target} (feed at {}): {:?}",
            self.primary.storage.feed.published(),
            self.replica.status()
        );
    }

    /// Merkle roots equal, and the replicated trees equal key by key.
    async fn assert_converged(&self) {
        self.caught_up().await;
        self.primary.settle().await;
        let (_, ours) = self.primary.core.merkle_root().unwrap();
        let (_, theirs) = self.secondary.core.merkle_root().unwrap();
        let a = replicated(&self.primary.storage.file).await;
        let b = replicated(&self.secondary.storage.file).await;
        let only_a: Vec<_> = a.keys().filter(|k| b.get(*k) != a.get(*k)).collect();
        let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
        assert!(
            only_a.is_empty() && only_b.is_empty(),
            "differ: {only_a:?} / {only_b:?}"
        );
        assert_eq!(ours, theirs, "Merkle roots differ");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_bootstraps_streams_and_keeps_its_local_data() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pair = Pair::start(a.path(), b.path()).await;
    let (p, s) = (pair.primary.v(), pair.secondary.v());
    // The primary audits what secondaries forward (a local device: it stays there).
    let audit_log = a.path().join("audit.log");
    p.put(
        "sys/audit/trail",
        json!({"type": "file", "local": true, "options": {"file_path": audit_log}}),
    )
    .await
    .no_content();
    pair.assert_converged().await;

    // Replicated changes stream over: data, a policy, a new mount with data.
    p.put("secret/data/app", json!({"data": {"v": 1}}))
        .await
        .ok();
    p.put(
        "sys/policies/acl/reader",
        json!({"policy": r#"path "secret/data/*" { capabilities = ["read"] }"#}),
    )
    .await
    .no_content();
    p.post("sys/mounts/team", json!({"type": "kv"}))
        .await
        .no_content();
    p.put("team/x", json!({"y": "z"})).await.no_content();
    // A local mount on the primary never leaves it.
    p.post("sys/mounts/mine", json!({"type": "kv", "local": true}))
        .await
        .no_content();
    p.put("mine/only-here", json!({"a": "b"}))
        .await
        .no_content();
    // A local mount on the secondary is its own, and survives every sync.
    s.post("sys/mounts/theirs", json!({"type": "kv", "local": true}))
        .await
        .no_content();
    s.put("theirs/note", json!({"kept": true}))
        .await
        .no_content();
    pair.assert_converged().await;

    assert_eq!(s.get("secret/data/app").await.data()["data"]["v"], 1);
    assert_eq!(s.get("team/x").await.data()["y"], "z");
    assert!(s.get("sys/policies/acl/reader").await.data()["policy"]
        .as_str()
        .unwrap()
        .contains("secret/data"));
    let mounts = s.get("sys/mounts").await.data();
    assert!(
        mounts.get("mine/").is_none(),
        "a primary's local mount replicated"
    );
    assert!(mounts.get("theirs/").is_some());
    assert!(p.get("sys/mounts").await.data().get("theirs/").is_none());
    // Tokens are local: the primary's root token means nothing on the secondary.
    let (token, ..) = p.create_token(json!({"policies": ["reader"]})).await;
    s.with_token(&token)
        .get("secret/data/app")
        .await
        .some_error(403);

    // Writes of replicated data sent to the secondary are made by the primary, and read
    // back at once on the secondary (read-your-writes).
    s.put("secret/data/from-secondary", json!({"data": {"v": 2}}))
        .await
        .ok();
    assert_eq!(
        s.get("secret/data/from-secondary").await.data()["data"]["v"],
        2
    );
    assert_eq!(
        p.get("secret/data/from-secondary").await.data()["data"]["v"],
        2
    );
    let trail = std::fs::read_to_string(&audit_log).unwrap();
    let forwarded: Vec<serde_json::Value> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| {
            e["request"]["path"] == "secret/data/from-secondary"
                && e["request"]["operation"] == "create"
        })
        .collect();
    assert_eq!(
        forwarded
            .iter()
            .map(|e| e["type"].clone())
            .collect::<Vec<_>>(),
        [json!("request"), json!("response")],
        "the forwarded write in the primary's audit log: {trail}"
    );
    s.put(
        "sys/policies/acl/writer",
        json!({"policy": r#"path "secret/data/w/*" { capabilities = ["create", "update", "read"] }"#}),
    )
    .await
    .no_content();
    assert!(p.get("sys/policies/acl/writer").await.data()["policy"]
        .as_str()
        .unwrap()
        .contains("secret/data/w/"));
    // A limited token of the secondary: its ACL decides here, and again on the primary.
    let (limited, ..) = s.create_token(json!({"policies": ["writer"]})).await;
    let limited = s.with_token(&limited);
    limited
        .put("secret/data/w/ok", json!({"data": {"a": 1}}))
        .await
        .ok();
    assert_eq!(limited.get("secret/data/w/ok").await.data()["data"]["a"], 1);
    limited
        .put("secret/data/elsewhere", json!({"data": {"a": 1}}))
        .await
        .denied();
    p.get("secret/data/elsewhere").await.not_found();
    // Token and local writes stay local.
    s.put("cubbyhole/mine", json!({"a": "b"}))
        .await
        .no_content();

    // Removed on the primary: removed on the secondary.
    p.delete("sys/mounts/team").await.no_content();
    pair.assert_converged().await;
    s.get("team/x").await.some_error(404);
    assert_eq!(s.get("theirs/note").await.data()["kept"], true);
    pair.stop.send_replace(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_out_of_the_tail_catches_up_by_a_merkle_diff_of_the_difference() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pair = Pair::start(a.path(), b.path()).await;
    // A tree of 2,000 secrets, replicated.
    let barrier = &pair.primary.storage.barrier;
    for chunk in 0..20 {
        let mut batch = Batch::new();
        for i in 0..100 {
            batch = batch.put(format!("sys/policy/bulk-{chunk}-{i}"), b"{}".to_vec());
        }
        barrier.commit(batch).await.unwrap();
    }
    pair.assert_converged().await;
    let syncs = pair.replica.status().merkle_syncs;

    // The secondary stops; the primary commits more batches than its tail keeps,
    // changing 50 keys (and rewriting one of them over and over).
    pair.stop.send_replace(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..50 {
        barrier
            .put(&format!("sys/policy/bulk-0-{i}"), b"{\"changed\":1}")
            .await
            .unwrap();
    }
    for n in 0..4200u32 {
        barrier
            .put("sys/policy/bulk-1-0", n.to_string().as_bytes())
            .await
            .unwrap();
    }
    let stop = tokio::sync::watch::channel(false).0;
    tokio::spawn(pair.replica.clone().run(
        Some(pair.secondary.storage.barrier.clone()),
        stop.subscribe(),
    ));
    pair.assert_converged().await;
    let status = pair.replica.status();
    assert_eq!(status.merkle_syncs, syncs + 1, "{status:?}");
    // Only what differs was fetched: the 51 changed keys, not the 2,000.
    assert_eq!(status.sync_total_keys, 51, "{status:?}");
    stop.send_replace(true);
}

/// Token roles are replicated configuration, and an orphan batch token is sealed under the
/// replicated keyring: both work on a secondary once replication lands. Service tokens,
/// and batch tokens whose parent is a (local) service token, stay on their cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_orphan_batch_tokens_work_on_a_secondary() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pair = Pair::start(a.path(), b.path()).await;
    let (p, s) = (pair.primary.v(), pair.secondary.v());
    p.post(
        "auth/token/roles/ci",
        json!({"allowed_policies": ["default"], "token_type": "batch",
               "orphan": true, "renewable": false}),
    )
    .await
    .no_content();
    let orphan_batch = p
        .post("auth/token/create/ci", json!({"ttl": "1h"}))
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (service, ..) = p.create_token(json!({"policies": ["default"]})).await;
    // A batch token whose parent is the primary's root token.
    let child_batch = p
        .post(
            "auth/token/create",
            json!({"type": "batch", "policies": ["default"]}),
        )
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    pair.assert_converged().await;

    // The role arrived with the replicated keys, and serves on the secondary.
    assert_eq!(
        s.get("auth/token/roles/ci").await.data()["token_type"],
        "batch"
    );
    let me = s
        .with_token(&orphan_batch)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(
        (me["type"].clone(), me["role"].clone()),
        (json!("batch"), json!("ci"))
    );
    let minted = s
        .post("auth/token/create/ci", json!({"ttl": "10m"}))
        .await
        .ok();
    assert_eq!(minted["auth"]["token_type"], "batch");
    // Local tokens do not travel: the service token, and the batch token under the
    // primary's root token (its parent is unknown here).
    for token in [&service, &child_batch] {
        s.with_token(token)
            .get("auth/token/lookup-self")
            .await
            .denied();
    }
    // Roles are replicated data: a role written on the secondary is written by the
    // primary (forwarded), and read back on both at once.
    s.post("auth/token/roles/ci", json!({"path_suffix": "v-2"}))
        .await
        .no_content();
    assert_eq!(
        s.get("auth/token/roles/ci").await.data()["path_suffix"],
        "v-2"
    );
    assert_eq!(
        pair.primary.v().get("auth/token/roles/ci").await.data()["path_suffix"],
        "v-2"
    );
    pair.stop.send_replace(true);
}

/// A malformed body on any cluster route is a 400 in Vault's envelope, whatever its fault
/// (not JSON, the wrong shape, a wrong type), never axum's plain-text 400 or 422.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_cluster_requests_get_a_400_in_vaults_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let primary = Node::init(dir.path()).await;
    let (cluster_addr, cluster) = primary.serve_cluster().await;
    let http = reqwest::Client::new();
    for route in ["merkle/keys", "values", "forward", "ack", "superseded"] {
        for body in ["not json", "[1, 2]", r#"{"buckets": "x", "keys": 7}"#, ""] {
            let resp = http
                .post(format!("{cluster_addr}/cluster/v1/{route}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let answer: serde_json::Value = resp
                .json()
                .await
                .unwrap_or_else(|e| panic!("{route} with {body:?}: not JSON ({e})"));
            assert_eq!(status, 400, "{route} with {body:?}: {answer}");
            let errors = answer["errors"].as_array().cloned().unwrap_or_default();
            assert!(
                errors.iter().any(|e| e
                    .as_str()
                    .is_some_and(|e| e.starts_with("malformed request body"))),
                "{route} with {body:?}: {answer}"
            );
        }
    }
    cluster.abort();
    primary.stop().await;
}

/// A secondary never follows a primary of an older epoch than one it has followed (a
/// primary replaced by a promotion): refused before anything is read or applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_refuses_a_primary_of_an_older_epoch() {
    let (pdir, sdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Node::init(pdir.path()).await;
    let (cluster_addr, cluster) = primary.serve_cluster().await;
    let (_, cluster_id) = primary.core.cluster_identity().unwrap();
    let storage = Storage::open(sdir.path(), false).await.unwrap();
    let client = || PrimaryClient::new(cluster_addr.clone(), reqwest::Client::new());

    // Having followed epoch 1, a primary still at epoch 0 is refused, and nothing lands.
    let ahead = Replica::new(storage.clone(), client(), cluster_id.clone()).with_epoch(1);
    let err = ahead.merkle_sync(None).await.unwrap_err().to_string();
    assert!(err.contains("older than"), "{err}");
    assert!(storage.file.keys().await.unwrap().is_empty());

    // A replica at the primary's epoch syncs.
    let level = Replica::new(storage.clone(), client(), cluster_id);
    level.merkle_sync(None).await.unwrap();
    assert!(!storage.file.keys().await.unwrap().is_empty());

    storage.file.close().await.unwrap();
    cluster.abort();
    primary.stop().await;
}
