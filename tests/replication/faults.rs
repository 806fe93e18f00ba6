//! `kill -9` on either side, in config mode (a config-mode server restarts on its own data,
//! and comes back sealed): a secondary killed mid-bootstrap and mid-stream, and a primary
//! killed mid-stream. After each they converge with no command but the unseal, and a
//! secondary unseals with its primary's keys, not its own.

use std::time::Duration;

use serde_json::json;

use super::cluster::{wait_converged, wait_status, write_many, Cluster, Node, Writer};
use crate::api::common::V;
use crate::harness::proxy::Fault;

/// `n` as a number of a status field.
fn num(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Restarts a killed config-mode secondary: it comes back sealed, its own old keys do not
/// open it, its primary's do.
async fn restart_secondary(node: &mut Node, own_keys: &[String]) {
    node.restart();
    let anon = V::at(&node.addr, None);
    assert_eq!(anon.get("sys/seal-status").await.json()["sealed"], true);
    let mut refused = false;
    for key in &own_keys[..2] {
        let resp = anon.put("sys/unseal", json!({ "key": key })).await;
        if resp.status == 400 {
            refused = true;
            break;
        }
        assert_eq!(resp.json_at(200)["sealed"], true);
    }
    assert!(refused, "the secondary's own keys were not refused");
    assert_eq!(anon.get("sys/seal-status").await.json()["sealed"], true);
    node.unseal_with(&node.keys.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_killed_mid_bootstrap_and_mid_stream_resumes_with_the_primarys_keys() {
    let mut c = Cluster::config(1).await;
    let p = c.primary.v();
    write_many(&p, "tree", 3000, 256).await;
    let own_keys = c.secondaries[0].keys.clone();

    // A slow link: the bootstrap is caught half way.
    c.proxy.set(Fault::Delay(Duration::from_millis(50)));
    c.enable_secondary(0, "east").await;
    let s = &mut c.secondaries[0];
    let mid = wait_status(
        s,
        "half way through the bootstrap",
        Duration::from_secs(60),
        |st| {
            let (done, total) = (num(&st["sync_progress"]), num(&st["sync_total_keys"]));
            done > 0 && done + 1000 < total
        },
    )
    .await;
    s.kill();
    c.proxy.set(Fault::Pass);
    restart_secondary(s, &own_keys).await;
    wait_converged(&c.primary, s).await;
    assert!(
        num(&mid["sync_total_keys"]) > 3000,
        "the bootstrap copies the whole tree: {mid}"
    );

    // Mid-stream: killed while the primary writes on; it resumes from the position it
    // recorded with the data, without a Merkle sync.
    let writer = Writer::start(&p, "stream");
    let at = num(&s.status().await["last_remote_wal"]);
    wait_status(s, "streaming the writes", Duration::from_secs(30), |st| {
        num(&st["last_remote_wal"]) > at + 20
    })
    .await;
    s.kill();
    let at = num(&c.primary.status().await["last_wal"]);
    wait_status(&c.primary, "writing on", Duration::from_secs(30), |st| {
        num(&st["last_wal"]) > at + 20
    })
    .await;
    restart_secondary(s, &own_keys).await;
    let acked = writer.stop().await;
    assert!(acked.len() > 40, "{} writes", acked.len());
    wait_converged(&c.primary, s).await;
    let st = s.status().await;
    assert_eq!(st["merkle_syncs"], 0, "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_mid_stream_restarts_and_its_secondary_reconnects_by_itself() {
    let mut c = Cluster::config(1).await;
    c.activate(0, "east").await;
    let p = c.primary.v();
    let writer = Writer::start(&p, "w");
    let s = &c.secondaries[0];
    let at = num(&s.status().await["last_remote_wal"]);
    wait_status(s, "streaming the writes", Duration::from_secs(30), |st| {
        num(&st["last_remote_wal"]) > at + 20
    })
    .await;

    c.primary.kill();
    wait_status(s, "the primary gone", Duration::from_secs(30), |st| {
        st["state"] != "stream-wals"
    })
    .await;
    c.primary.restart();
    c.primary.unseal_with(&c.primary.keys.clone()).await;
    // The writer goes on once the primary is back.
    let at = num(&c.primary.status().await["last_wal"]);
    wait_status(&c.primary, "writing again", Duration::from_secs(30), |st| {
        num(&st["last_wal"]) > at + 20
    })
    .await;
    let acked = writer.stop().await;
    wait_converged(&c.primary, &c.secondaries[0]).await;
    // Connected again, it reports no error.
    let st = c.secondaries[0].status().await;
    assert!(st.get("last_error").is_none(), "{st}");

    // Every acknowledged write survived the kill (and, by the comparison, is on the
    // secondary too).
    for path in &acked {
        p.get(path).await.ok();
    }
}
