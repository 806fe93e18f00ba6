//! Fencing after a forced promotion: the promoted secondary keeps telling the primary it
//! left (over that primary's cluster channel, with its certificate) that a newer epoch
//! took over; once they can talk, the old primary steps down with no command given.
//! Writes the old primary took while cut off are lost, as in Vault.

use std::time::Duration;

use serde_json::json;

use super::cluster::{kv_get, perf, wait_status, Cluster};
use crate::harness::proxy::Fault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_primary_steps_down_by_itself_once_the_partition_heals() {
    let mut c = Cluster::dev(1).await;
    c.activate(0, "east").await;
    let (old, new) = (&c.primary, &c.secondaries[0]);
    let old_epoch = old.status().await["epoch"].as_u64().unwrap();

    c.proxy.set(Fault::BlackHole);
    new.v()
        .post(&perf("secondary/promote"), json!({"force": true}))
        .await
        .no_content();
    let st = new.status().await;
    assert_eq!(st["mode"], "primary", "{st}");
    assert!(st["epoch"].as_u64().unwrap() > old_epoch, "{st}");
    new.v()
        .post("secret/data/new-era", json!({"data": {"n": 1}}))
        .await
        .ok();

    // Cut off, the old primary still takes writes: they are lost (as in Vault).
    old.v()
        .post("secret/data/lost", json!({"data": {"n": 2}}))
        .await
        .ok();
    assert_eq!(old.status().await["mode"], "primary");

    // Healed: it hears of the promotion and steps down, with no command given.
    c.proxy.set(Fault::Pass);
    let down = wait_status(
        old,
        "the superseded primary stepped down",
        Duration::from_secs(60),
        |st| st["mode"] == "secondary",
    )
    .await;
    assert_eq!(down["cluster_id"], st["cluster_id"], "{down}");
    old.v()
        .post("secret/data/refused", json!({"data": {"n": 3}}))
        .await
        .error_containing(400, "replicated data is written on the primary");
    assert_eq!(kv_get(&old.v(), "secret/data/refused").await, None);

    // The new primary is unaffected, and never saw the lost write.
    assert_eq!(new.status().await["mode"], "primary");
    assert_eq!(kv_get(&new.v(), "secret/data/lost").await, None);
    new.v()
        .post("secret/data/after", json!({"data": {"n": 4}}))
        .await
        .ok();
}
