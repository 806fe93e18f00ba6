//! Partitions made by the proxy: a short one heals by itself (the held connections go on
//! where they were); a long one, during which the primary writes more than its log's tail
//! keeps, is noticed by the secondary and heals by one Merkle diff whose transfer is a
//! small fraction of the tree.

use std::time::Duration;

use serde_json::json;

use super::cluster::{
    all_keys, replicated_tree, tree_bytes, wait_converged, wait_status, write_many, Cluster,
};
use crate::harness::proxy::Fault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_past_the_primarys_log_tail_heals_by_a_merkle_diff_of_the_difference() {
    let mut c = Cluster::dev(1).await;
    let p = c.primary.v();
    write_many(&p, "tree", 2000, 1024).await;
    p.enable("p-bulk", json!({"type": "kv", "local": true}))
        .await;
    c.activate(0, "east").await;
    let s = &c.secondaries[0];
    let sv = s.v();
    sv.enable("s-local", json!({"type": "kv", "local": true}))
        .await;
    sv.put("s-local/note", json!({"kept": true}))
        .await
        .no_content();
    let syncs = s.status().await["merkle_syncs"].as_u64().unwrap();

    // A short partition: the held stream goes on where it was.
    c.proxy.set(Fault::BlackHole);
    p.post("secret/data/short", json!({"data": {"n": 1}}))
        .await
        .ok();
    c.proxy.set(Fault::Pass);
    wait_converged(&c.primary, s).await;
    assert_eq!(s.status().await["merkle_syncs"], syncs);

    // A long one. The primary changes a few dozen replicated keys, and writes more than
    // its log's tail keeps (16 MiB), in local data the secondary never gets.
    c.proxy.set(Fault::BlackHole);
    for i in 0..40 {
        p.post(
            &format!("secret/data/tree/{i}"),
            json!({"data": {"changed": i}}),
        )
        .await
        .ok();
    }
    for i in 40..50 {
        p.delete(&format!("secret/metadata/tree/{i}"))
            .await
            .no_content();
    }
    for i in 0..10 {
        p.post(&format!("secret/data/new/{i}"), json!({"data": {"n": i}}))
            .await
            .ok();
    }
    let blob = "z".repeat(1 << 20);
    for i in 0..20 {
        p.put(&format!("p-bulk/blob-{i}"), json!({ "v": blob }))
            .await
            .no_content();
    }
    // The secondary notices the silence (the primary went on taking writes meanwhile).
    wait_status(s, "the partition noticed", Duration::from_secs(60), |st| {
        st["state"] != "stream-wals" && st["primaries"][0]["connection_status"] == "disconnected"
    })
    .await;

    let sent = c.proxy.bytes_to_client();
    c.proxy.set(Fault::Pass);
    wait_converged(&c.primary, s).await;
    let st = s.status().await;
    assert_eq!(st["merkle_syncs"], syncs + 1, "one Merkle diff: {st}");
    assert!(st.get("last_error").is_none(), "{st}");
    wait_status(
        &c.primary,
        "the secondary connected again",
        Duration::from_secs(30),
        |st| st["secondaries"][0]["connection_status"] == "connected",
    )
    .await;
    let tree = tree_bytes(&replicated_tree(&c.primary.data_dir).unwrap());
    let catch_up = c.proxy.bytes_to_client() - sent;
    eprintln!("catch-up {catch_up} bytes for a tree of {tree}");
    assert!(
        catch_up * 5 < tree,
        "the catch-up took {catch_up} bytes, for a tree of {tree}"
    );

    // Local data stayed where it was.
    assert_eq!(sv.get("s-local/note").await.data()["kept"], true);
    let p_bulk = p.get("sys/mounts").await.data()["p-bulk/"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!all_keys(&s.data_dir)
        .unwrap()
        .keys()
        .any(|k| k.contains(&p_bulk)));
}
