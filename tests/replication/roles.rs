//! Who may replicate from whom: a revoked secondary is cut off and stays out until a new
//! token; promotion and demotion never leave a secondary following two primaries, and a
//! primary superseded by a forced promotion steps down by itself.

use std::time::{Duration, Instant};

use serde_json::json;

use super::cluster::{activation_token, kv_get, perf, wait_converged, wait_status, Cluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_secondary_is_cut_off_and_comes_back_only_with_a_new_token() {
    let mut c = Cluster::dev(2).await;
    c.activate(0, "east").await;
    c.activate(1, "west").await;
    let p = c.primary.v();
    let (east, west) = (&c.secondaries[0], &c.secondaries[1]);

    p.post(&perf("primary/revoke-secondary"), json!({"id": "east"}))
        .await
        .no_content();
    // Its open stream ends, and it is not let back in.
    let cut = wait_status(
        east,
        "the revoked secondary cut off",
        Duration::from_secs(30),
        |st| st["state"] == "idle" && st["connection_state"] != "ready",
    )
    .await;
    assert!(
        cut["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{cut}"
    );
    assert_eq!(
        c.primary.status().await["known_secondaries"],
        json!(["west"])
    );

    // Its pooled connections are gone too (the link drops every connection once): each
    // try now is a new handshake, refused at once. The primary writes on; the other
    // secondary follows; the revoked one keeps trying and gets nothing.
    c.proxy.cut();
    p.post("secret/data/after", json!({"data": {"n": 1}}))
        .await
        .ok();
    wait_converged(&c.primary, west).await;
    let tried = c.proxy.accepted();
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.proxy.accepted() < tried + 3 {
        assert!(
            Instant::now() < deadline,
            "the revoked secondary stopped trying"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let st = east.status().await;
    assert_eq!(st["state"], "idle", "{st}");
    assert!(
        st["last_remote_wal"].as_u64() < c.primary.status().await["last_wal"].as_u64(),
        "{st}"
    );
    assert_eq!(kv_get(&east.v(), "secret/data/after").await, None);

    // A new token for the id lets it back in, without a wipe.
    let token = c.token("east", "30m").await;
    east.v()
        .post(&perf("secondary/update-primary"), json!({ "token": token }))
        .await
        .no_content();
    wait_converged(&c.primary, east).await;
    assert_eq!(
        kv_get(&east.v(), "secret/data/after").await,
        Some(json!({"n": 1}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_demote_and_update_primary_never_leave_two_primaries_in_charge() {
    let mut c = Cluster::dev(2).await;
    c.activate(0, "east").await;
    c.activate(1, "west").await;
    let (old, a, b) = (&c.primary, &c.secondaries[0], &c.secondaries[1]);
    b.v()
        .enable("b-local", json!({"type": "kv", "local": true}))
        .await;
    b.v()
        .put("b-local/note", json!({"kept": true}))
        .await
        .no_content();

    // While its primary answers, a secondary is not promoted without force.
    a.v()
        .post(&perf("secondary/promote"), json!({}))
        .await
        .error_containing(400, "still reachable");
    b.v()
        .post(&perf("primary/enable"), json!({}))
        .await
        .error_containing(400, "cannot be enabled as a primary");

    // Demoted, the old primary refuses writes, and stops serving its secondaries.
    old.v()
        .post(&perf("primary/demote"), json!({}))
        .await
        .no_content();
    assert_eq!(old.status().await["mode"], "secondary");
    old.v()
        .post("secret/data/refused", json!({"data": {"n": 1}}))
        .await
        .error_containing(400, "replicated data is written on the primary");
    assert_eq!(kv_get(&old.v(), "secret/data/refused").await, None);

    // With no primary answering, the secondary is promoted: a new epoch.
    a.v()
        .post(&perf("secondary/promote"), json!({}))
        .await
        .no_content();
    let st = a.status().await;
    assert_eq!(st["mode"], "primary", "{st}");
    let epoch = st["epoch"].as_u64().unwrap();
    assert!(
        epoch > old.status().await["epoch"].as_u64().unwrap(),
        "{st}"
    );
    a.v()
        .post("secret/data/new-era", json!({"data": {"n": 2}}))
        .await
        .ok();

    // The other secondary and the old primary follow the new one; nothing is wiped, and
    // a Merkle diff brings them level (they were at another log's position).
    let token = activation_token(a, "west", "30m").await;
    b.v()
        .post(&perf("secondary/update-primary"), json!({ "token": token }))
        .await
        .no_content();
    let token = activation_token(a, "old-primary", "30m").await;
    old.v()
        .post(&perf("secondary/update-primary"), json!({ "token": token }))
        .await
        .no_content();
    wait_converged(a, b).await;
    wait_converged(a, old).await;
    assert_eq!(b.v().get("b-local/note").await.data()["kept"], true);
    assert_eq!(
        kv_get(&b.v(), "secret/data/new-era").await,
        Some(json!({"n": 2}))
    );
    // The old primary forwards its writes now.
    old.v()
        .post("secret/data/via-old", json!({"data": {"n": 3}}))
        .await
        .ok();
    assert_eq!(
        kv_get(&a.v(), "secret/data/via-old").await,
        Some(json!({"n": 3}))
    );
    let modes = [
        old.status().await["mode"].clone(),
        a.status().await["mode"].clone(),
        b.status().await["mode"].clone(),
    ];
    assert_eq!(
        modes,
        [json!("secondary"), json!("primary"), json!("secondary")]
    );

    // Forced while its primary answers, a promotion takes the next epoch; the primary it
    // left hears of it and steps down by itself, and the old primary follows the newest.
    b.v()
        .post(&perf("secondary/promote"), json!({"force": true}))
        .await
        .no_content();
    assert!(b.status().await["epoch"].as_u64().unwrap() > epoch);
    wait_status(
        a,
        "the superseded primary stepped down",
        Duration::from_secs(60),
        |st| st["mode"] == "secondary",
    )
    .await;
    a.v()
        .post("secret/data/after-b", json!({"data": {"n": 4}}))
        .await
        .error_containing(400, "replicated data is written on the primary");
    let token = activation_token(b, "old-primary", "30m").await;
    old.v()
        .post(&perf("secondary/update-primary"), json!({ "token": token }))
        .await
        .no_content();
    wait_converged(b, old).await;
    assert_eq!(
        old.status().await["primary_cluster_addr"],
        b.status().await["primary_cluster_addr"]
    );
}
