//! Activation: two dev secondaries bootstrap from a primary and then stream from it; and
//! every refused activation names the step that failed and leaves the secondary exactly
//! as it was.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::cluster::{
    activation_token, all_keys, kv_get, perf, wait_converged, wait_status, write_many, Cluster,
    Node,
};
use crate::api::common::{sorted, unix_now};
use crate::harness::proxy::Fault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_secondaries_bootstrap_from_the_primary_then_stream_its_changes() {
    let mut c = Cluster::dev(2).await;
    let p = c.primary.v();
    p.post("secret/data/app", json!({"data": {"v": 1}}))
        .await
        .ok();
    p.put_policy(
        "reader",
        r#"path "secret/data/*" { capabilities = ["read"] }"#,
    )
    .await;
    p.enable("team", json!({"type": "kv"})).await;
    p.put("team/x", json!({"y": "z"})).await.no_content();
    write_many(&p, "bulk", 300, 64).await;
    // What each server holds before: activation wipes it.
    for s in &c.secondaries {
        s.v()
            .post("secret/data/own", json!({"data": {"mine": true}}))
            .await
            .ok();
    }

    c.enable_secondary(0, "east").await;
    c.enable_secondary(1, "west").await;
    c.all_converged().await;

    let primary = wait_status(
        &c.primary,
        "both secondaries connected",
        Duration::from_secs(30),
        |st| {
            st["secondaries"].as_array().is_some_and(|list| {
                list.len() == 2 && list.iter().all(|s| s["connection_status"] == "connected")
            })
        },
    )
    .await;
    assert_eq!(primary["mode"], "primary");
    assert_eq!(primary["state"], "running");
    assert_eq!(
        primary["known_secondaries"],
        json!(sorted(&["east", "west"]))
    );
    assert_eq!(primary["primary_cluster_addr"], c.proxy.https());
    for (s, id) in c.secondaries.iter().zip(["east", "west"]) {
        let st = s.status().await;
        assert_eq!(st["mode"], "secondary", "{st}");
        assert_eq!(st["secondary_id"], id, "{st}");
        assert_eq!(st["cluster_id"], primary["cluster_id"], "{st}");
        assert_eq!(st["connection_state"], "ready", "{st}");
        assert_eq!(st["primary_cluster_addr"], c.proxy.https(), "{st}");
        assert_eq!(st["primaries"][0]["api_address"], c.primary.addr, "{st}");
        assert_eq!(st["primaries"][0]["connection_status"], "connected", "{st}");
        // The primary's data is served; the server's own is gone.
        let v = s.v();
        assert_eq!(kv_get(&v, "secret/data/app").await, Some(json!({"v": 1})));
        assert_eq!(kv_get(&v, "secret/data/bulk/299").await.unwrap()["i"], 299);
        assert_eq!(v.get("team/x").await.data()["y"], "z");
        assert!(v.get("sys/policies/acl/reader").await.data()["policy"]
            .as_str()
            .unwrap()
            .contains("secret/data/*"));
        assert_eq!(kv_get(&v, "secret/data/own").await, None);
    }

    // Streaming: changes, deletions, a new policy, a mount gone.
    p.post("secret/data/app", json!({"data": {"v": 2}}))
        .await
        .ok();
    p.delete("secret/metadata/bulk/7").await.no_content();
    p.put_policy("late", r#"path "team/*" { capabilities = ["read"] }"#)
        .await;
    p.delete("sys/mounts/team").await.no_content();
    c.all_converged().await;
    for s in &c.secondaries {
        let v = s.v();
        assert_eq!(kv_get(&v, "secret/data/app").await, Some(json!({"v": 2})));
        assert_eq!(kv_get(&v, "secret/data/bulk/7").await, None);
        v.get("sys/policies/acl/late").await.ok();
        assert!(v.get("sys/mounts").await.data().get("team/").is_none());
    }
}

/// The tree of a server that is not writing (two reads a moment apart agree).
async fn settled_tree(node: &Node) -> BTreeMap<String, Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut previous = None;
    loop {
        let now = all_keys(&node.data_dir);
        if let (Some(tree), true) = (&now, now == previous) {
            return tree.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the tree of {} did not settle",
            node.addr
        );
        previous = now;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `secondary/enable` on `node` with `body`: refused with a 400 whose message contains
/// every one of `step`; and the node's data directory is as it was.
async fn refused(node: &Node, before: &BTreeMap<String, Vec<u8>>, body: Value, step: &[&str]) {
    let resp = node.v().post(&perf("secondary/enable"), body).await;
    let answer = resp.json_at(400);
    let message = answer["errors"][0].as_str().unwrap_or_default();
    for needle in step {
        assert!(message.contains(needle), "expected {needle:?} in {answer}");
    }
    assert_untouched(node, before).await;
}

/// Still a cluster of its own: its root token, its secret and its local mount, and every
/// key of its data directory unchanged.
async fn assert_untouched(node: &Node, before: &BTreeMap<String, Vec<u8>>) {
    let v = node.v();
    assert_eq!(node.status().await["mode"], "disabled");
    assert_eq!(
        kv_get(&v, "secret/data/canary").await,
        Some(json!({"kept": 1}))
    );
    assert_eq!(v.get("mine/note").await.data()["kept"], 2);
    let after = settled_tree(node).await;
    assert!(
        &after == before,
        "a refused activation changed {}: {}",
        node.addr,
        super::cluster::tree_diff(before, &after)
    );
}

/// The JWT's claims.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The token with its claims changed by `f`, its signature kept.
fn altered(token: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut c = claims(token);
    f(&mut c);
    let parts: Vec<&str> = token.split('.').collect();
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_activation_names_its_step_and_wipes_nothing() {
    let mut c = Cluster::dev(2).await;
    // The first secondary is activated: its token is then a used one.
    let used = activation_token(&c.primary, "east", "30m").await;
    c.secondaries[0]
        .v()
        .post(&perf("secondary/enable"), json!({ "token": used }))
        .await
        .ok();
    super::cluster::adopt(&c.primary, &mut c.secondaries[0]);
    wait_converged(&c.primary, &c.secondaries[0]).await;

    // The second keeps a secret, a local mount and its root token through every refusal.
    let victim = &c.secondaries[1];
    let v = victim.v();
    v.post("secret/data/canary", json!({"data": {"kept": 1}}))
        .await
        .ok();
    v.enable("mine", json!({"type": "kv", "local": true})).await;
    v.put("mine/note", json!({"kept": 2})).await.no_content();
    let before = settled_tree(victim).await;

    refused(
        victim,
        &before,
        json!({"token": "not-a-jwt"}),
        &["malformed"],
    )
    .await;
    refused(victim, &before, json!({"token": used}), &["already used"]).await;

    let expiring = activation_token(&c.primary, "north", "1s").await;
    let exp = claims(&expiring)["exp"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while unix_now() < exp {
        assert!(Instant::now() < deadline, "the clock did not reach {exp}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    refused(victim, &before, json!({"token": expiring}), &["expired"]).await;

    // Claims rewritten (a longer life), signature kept.
    let fresh = activation_token(&c.primary, "south", "30m").await;
    let longer = altered(&fresh, |c| {
        c["exp"] = (c["exp"].as_i64().unwrap() + 86_400).into()
    });
    refused(
        victim,
        &before,
        json!({"token": longer}),
        &["signature is invalid"],
    )
    .await;
    // Signed by another primary, sent to this one.
    let rogue = Node::dev("rogue-root");
    rogue
        .v()
        .post(&perf("primary/enable"), json!({}))
        .await
        .no_content();
    let forged = activation_token(&rogue, "south", "30m").await;
    refused(
        victim,
        &before,
        json!({"token": forged, "primary_api_addr": c.primary.addr}),
        &["signature is invalid"],
    )
    .await;

    let revoked = activation_token(&c.primary, "gone", "30m").await;
    c.primary
        .v()
        .post(&perf("primary/revoke-secondary"), json!({"id": "gone"}))
        .await
        .no_content();
    refused(victim, &before, json!({"token": revoked}), &["revoked"]).await;

    // Unreachable: the primary's API (step 1), then its cluster listener (step 2).
    let nobody = format!("http://127.0.0.1:{}", crate::harness::free_port());
    refused(
        victim,
        &before,
        json!({"token": fresh, "primary_api_addr": nobody}),
        &["primary's API", "cannot be reached"],
    )
    .await;
    c.proxy.set(Fault::Refuse);
    refused(
        victim,
        &before,
        json!({"token": fresh}),
        &["cluster address", "cannot be reached over mutual TLS"],
    )
    .await;
    c.proxy.set(Fault::Pass);

    // Roles: a secondary is not made a primary, a primary not a secondary, and a
    // secondary is not enabled twice.
    let east = &c.secondaries[0];
    east.v()
        .post(&perf("primary/enable"), json!({}))
        .await
        .error_containing(400, "cannot be enabled as a primary");
    let again = activation_token(&c.primary, "east-2", "30m").await;
    east.v()
        .post(&perf("secondary/enable"), json!({ "token": again }))
        .await
        .error_containing(400, "already a performance replication secondary");
    c.primary
        .v()
        .post(&perf("secondary/enable"), json!({ "token": again }))
        .await
        .error_containing(400, "is a performance replication primary");
    assert_eq!(c.primary.status().await["mode"], "primary");

    // After all that, the refused server activates, and the first is still in step.
    c.activate(1, "west").await;
    assert_eq!(
        kv_get(&c.secondaries[1].v(), "secret/data/canary").await,
        None
    );
    c.primary
        .v()
        .post("secret/data/after", json!({"data": {"n": 1}}))
        .await
        .ok();
    c.all_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_that_failed_at_the_cluster_step_is_retried_with_a_new_token() {
    let mut c = Cluster::dev(1).await;
    c.proxy.set(Fault::Refuse);
    let spent = c.token("east", "30m").await;
    let resp = c.secondaries[0]
        .v()
        .post(&perf("secondary/enable"), json!({ "token": spent }))
        .await;
    let answer = resp.json_at(400);
    let message = answer["errors"][0].as_str().unwrap_or_default();
    for needle in ["cluster step", "token is now spent", "new token", "id=east"] {
        assert!(message.contains(needle), "expected {needle:?} in {answer}");
    }
    assert_eq!(c.secondaries[0].status().await["mode"], "disabled");
    c.proxy.set(Fault::Pass);
    // The spent token stays spent...
    c.secondaries[0]
        .v()
        .post(&perf("secondary/enable"), json!({ "token": spent }))
        .await
        .error_containing(400, "already used");
    // ...but the id was never seen on the cluster channel: a new token for it is issued
    // with no revoke first, and activates.
    c.activate(0, "east").await;
    assert_eq!(
        c.primary.status().await["known_secondaries"],
        json!(["east"])
    );
    // Activated for real now: the existing refusal.
    c.primary
        .v()
        .post(
            &perf("primary/secondary-token"),
            json!({"id": "east", "ttl": "30m"}),
        )
        .await
        .error_containing(400, "already active");
}
