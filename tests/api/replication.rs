//! `sys/replication/*` as a cluster that is not replicating answers it.

use crate::api::common::V;
use crate::harness::TestServer;

#[tokio::test]
async fn status_is_unauthenticated_and_says_disabled() {
    let srv = TestServer::dev();
    let anon = V::root(&srv).anon();
    let both = anon.get("sys/replication/status").await.data();
    assert_eq!(both["performance"]["mode"], "disabled");
    assert_eq!(both["dr"]["mode"], "disabled");
    let perf = anon.get("sys/replication/performance/status").await.data();
    assert_eq!(perf, serde_json::json!({"mode": "disabled"}));
    assert_eq!(
        anon.get("sys/replication/dr/status").await.data()["mode"],
        "disabled"
    );
    let health = anon.get("sys/health").await.json();
    assert_eq!(health["replication_performance_mode"], "disabled");
    // Writes to a status path are not a thing.
    anon.post("sys/replication/status", serde_json::json!({}))
        .await
        .some_error(405);
}
