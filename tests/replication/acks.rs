//! Acknowledged heartbeats and the lag figures they feed: the primary's view of each
//! secondary (status, `sys/metrics`) comes from what the secondary acknowledged, not from
//! what the primary sent, so a partition shows even while the TCP stream looks open; each
//! side's positions and lag are in `sys/metrics`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cluster::{wait_converged, wait_status, Cluster, Node};
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
    east(&wait_status(primary, what, limit, |st| ready(&east(st))).await)
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
    // The secondary, hearing nothing back either, says so too (F8), while its own stream
    // still looks open (it gives up only after a 10 s silence).
    let seen = wait_status(
        &c.secondaries[0],
        "the partition shown on the secondary",
        NOTICED_WITHIN.saturating_sub(cut.elapsed()),
        |st| st["primaries"][0]["connection_status"] == "disconnected",
    )
    .await;
    assert_eq!(seen["state"], "stream-wals", "{seen}");
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
    wait_status(
        &c.secondaries[0],
        "the secondary connected again",
        Duration::from_secs(30),
        |st| st["primaries"][0]["connection_status"] == "connected",
    )
    .await;
}

/// The gauge `name` (with `labels`, if given) in `sys/metrics`' JSON.
fn gauge(body: &Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body["Gauges"].as_array()?.iter().find_map(|g| {
        let matches = g["Name"] == name
            && labels
                .iter()
                .all(|(k, v)| g["Labels"][*k].as_str() == Some(*v));
        matches.then(|| g["Value"].as_f64()).flatten()
    })
}

/// The sample `series` (name and labels as written) in the Prometheus text.
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

async fn metrics(node: &Node) -> (Value, String) {
    let v = node.v();
    let json = v.get("sys/metrics").await.json_at(200);
    let text = v.get("sys/metrics?format=prometheus").await.text();
    (json, text)
}

/// Polls both servers' metrics until `ready(primary, secondary)`; both.
async fn wait_metrics(
    c: &Cluster,
    what: &str,
    limit: Duration,
    ready: impl Fn(&Value, &Value) -> bool,
) -> ((Value, String), (Value, String)) {
    let deadline = Instant::now() + limit;
    loop {
        let p = metrics(&c.primary).await;
        let s = metrics(&c.secondaries[0]).await;
        if ready(&p.0, &s.0) {
            return (p, s);
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}\nprimary {}\nsecondary {}",
            p.1,
            s.1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const ACKED: &str = "vault.replication.primary.secondary_acked_wal";
const P_LAG: &str = "vault.replication.primary.secondary_wal_lag";
const APPLIED: &str = "vault.replication.fsm.last_remote_wal";
const UPSTREAM: &str = "vault.replication.fsm.last_upstream_remote_wal";
const S_LAG: &str = "vault.replication.secondary.wal_lag";
const S_LAG_MS: &str = "vault.replication.secondary.lag_ms";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_metrics_report_positions_and_lag_on_both_sides() {
    let mut c = Cluster::dev(1).await;
    c.activate(0, "east").await;
    let p = c.primary.v();
    for i in 0..3 {
        p.post(&format!("secret/data/m/{i}"), json!({"data": {"i": i}}))
            .await
            .ok();
    }
    wait_converged(&c.primary, &c.secondaries[0]).await;
    let east = [("secondary_id", "east")];
    let caught_up = |pm: &Value, sm: &Value| {
        let last = gauge(pm, "vault.replication.wal.last_wal", &[]);
        last.is_some()
            && gauge(pm, ACKED, &east) == last
            && gauge(pm, P_LAG, &east) == Some(0.0)
            && gauge(sm, APPLIED, &[]) == last
            && gauge(sm, UPSTREAM, &[]) == last
            && gauge(sm, S_LAG, &[]) == Some(0.0)
            && gauge(sm, S_LAG_MS, &[]) == Some(0.0)
    };
    let ((_, ptext), (_, stext)) =
        wait_metrics(&c, "caught up in both formats", NOTICED_WITHIN, caught_up).await;
    let last = series(&ptext, "vault_replication_wal_last_wal").expect("prometheus last_wal");
    assert_eq!(
        series(
            &ptext,
            "vault_replication_primary_secondary_acked_wal{secondary_id=\"east\"}"
        ),
        Some(last),
        "{ptext}"
    );
    assert_eq!(
        series(
            &ptext,
            "vault_replication_primary_secondary_wal_lag{secondary_id=\"east\"}"
        ),
        Some(0.0)
    );
    for name in [
        "vault_replication_fsm_last_remote_wal",
        "vault_replication_fsm_last_upstream_remote_wal",
    ] {
        assert_eq!(series(&stext, name), Some(last), "{name} in {stext}");
    }
    assert_eq!(
        series(&stext, "vault_replication_secondary_wal_lag"),
        Some(0.0)
    );
    assert_eq!(
        series(&stext, "vault_replication_secondary_lag_ms"),
        Some(0.0)
    );

    // Cut off, the primary writes on: it sees the secondary's acknowledged WAL stay
    // behind; the secondary, hearing nothing, counts the time since it was caught up.
    c.proxy.set(Fault::BlackHole);
    for i in 0..3 {
        p.post(&format!("secret/data/cut/{i}"), json!({"data": {"i": i}}))
            .await
            .ok();
    }
    wait_metrics(&c, "the lag while cut off", NOTICED_WITHIN, |pm, sm| {
        gauge(pm, P_LAG, &east).is_some_and(|l| l >= 3.0)
            && gauge(pm, "vault.replication.primary.secondary_connected", &east) == Some(0.0)
            && gauge(sm, S_LAG_MS, &[]).is_some_and(|ms| ms > 0.0)
    })
    .await;

    c.proxy.set(Fault::Pass);
    wait_metrics(
        &c,
        "caught up after healing",
        Duration::from_secs(60),
        caught_up,
    )
    .await;
}
