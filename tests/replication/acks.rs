//! Acknowledged heartbeats: the primary's view of each secondary (status) comes from what
//! the secondary acknowledged, not from what the primary sent, so a partition shows even
//! while the TCP stream looks open.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cluster::{wait_converged, Cluster, Node};
use crate::harness::proxy::Fault;

/// Three heartbeats of silence and a little slack for a loaded machine.
const NOTICED_WITHIN: Duration = Duration::from_secs(20);

fn east(status: &Value) -> Value {
    status["secondaries"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["node_id"] == "east"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Polls the primary's status until east's entry satisfies `ready`; that entry.
async fn wait_east(
    primary: &Node,
    what: &str,
    limit: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let st = primary.status().await;
        if ready(&east(&st)) {
            return east(&st);
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}: {st:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_shows_a_partitioned_secondary_disconnected_until_it_heals() {
    let mut c = Cluster::dev(1).await;
    c.activate(0, "east").await;
    let p = c.primary.v();
    p.post("secret/data/before", json!({"data": {"n": 1}}))
        .await
        .ok();
    wait_converged(&c.primary, &c.secondaries[0]).await;
    let last_wal = c.primary.status().await["last_wal"].as_u64().unwrap();
    let up = wait_east(
        &c.primary,
        "east acknowledged the last WAL",
        NOTICED_WITHIN,
        |e| e["connection_status"] == "connected" && e["last_ack_wal"].as_u64() >= Some(last_wal),
    )
    .await;
    assert!(!up["last_heartbeat"].as_str().unwrap().is_empty(), "{up}");
    assert!(
        up["last_heartbeat_duration_ms"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok(),
        "{up}"
    );
    assert_eq!(up["wal_lag"], 0, "{up}");

    // Black-holed: the stream's TCP connection stays open (the primary's heartbeat frames
    // still go into the socket buffer), but no acknowledgement arrives.
    c.proxy.set(Fault::BlackHole);
    let cut = Instant::now();
    p.post("secret/data/during", json!({"data": {"n": 2}}))
        .await
        .ok();
    let down = wait_east(
        &c.primary,
        "the partition shown on the primary",
        NOTICED_WITHIN,
        |e| e["connection_status"] == "disconnected",
    )
    .await;
    eprintln!("disconnected after {:?}", cut.elapsed());
    assert!(
        down["wal_lag"].as_u64() > Some(0),
        "the write during the partition: {down}"
    );
    assert!(down["last_ack_wal"].as_u64() < c.primary.status().await["last_wal"].as_u64());

    c.proxy.set(Fault::Pass);
    let healed = wait_east(
        &c.primary,
        "connected again after healing",
        Duration::from_secs(60),
        |e| e["connection_status"] == "connected" && e["wal_lag"] == 0,
    )
    .await;
    assert!(
        healed["last_ack_wal"].as_u64() > down["last_ack_wal"].as_u64(),
        "{healed}"
    );
}
