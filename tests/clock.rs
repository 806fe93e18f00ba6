//! TTLs and expiry on a clock the test moves: an in-process server (the real core,
//! storage and HTTP layer on a loopback port) built with a manual clock, so a token's life
//! is measured in advances, never in seconds of waiting, and no assertion depends on how
//! fast the machine runs. The clock starts 0.85 s into a second, the worst phase for an
//! expiry kept in whole seconds.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use vaultrs::clock::Clock;
use vaultrs::core::CoreConfig;

use crate::api::common::*;
use crate::groundwork::support::Node;

/// 0.85 s into the current second.
fn start_time() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(850)
}

fn config(clock: &Clock) -> CoreConfig {
    CoreConfig {
        clock: clock.clone(),
        ..CoreConfig::default()
    }
}

/// A new server in `dir` on a manual clock at `start`.
async fn node(dir: &Path, start: SystemTime) -> (Node, Clock) {
    let clock = Clock::manual(start);
    (Node::init_config(dir, false, config(&clock)).await, clock)
}

/// Waits (polling, at most 10 s) until the expiration manager, woken by the clock, has
/// revoked what is due and left `left` leases under `prefix`.
async fn leases_become(v: &V, prefix: &str, left: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids = lease_ids(v, prefix).await;
        if ids.len() == left {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "leases under {prefix}: {ids:?}, want {left}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_token_lives_its_whole_ttl_then_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let (node, clock) = node(dir.path(), start_time()).await;
    let v = node.v();
    v.put_policy("t", r#"path "secret/data/t/*" { capabilities = ["read"] }"#)
        .await;
    v.kv2_put("secret/data/t/x", json!({"a": "b"})).await;
    let (tok, acc, auth) = v
        .create_token(json!({"policies": ["t"], "ttl": "2s"}))
        .await;
    assert_eq!(auth["lease_duration"], 2);
    let t = v.with_token(&tok);
    let d = t.get("auth/token/lookup-self").await.data();
    assert_eq!(d["ttl"], 2);
    assert_eq!(d["creation_ttl"], 2);
    t.get("secret/data/t/x").await.ok();

    // Its whole two seconds, wherever in a second it was issued.
    clock.advance(Duration::from_millis(1990));
    t.get("secret/data/t/x").await.ok();
    clock.advance(Duration::from_millis(160));
    t.get("secret/data/t/x").await.denied();
    t.get("auth/token/lookup-self").await.denied();
    v.post("auth/token/lookup-accessor", json!({"accessor": acc}))
        .await
        .some_error(400);
    v.post("auth/token/lookup", json!({"token": tok}))
        .await
        .some_error(403);
    // The expiration manager, woken by the clock, revokes it and drops its lease.
    leases_become(&v, "auth/token/create/", 0).await;
    node.stop().await;
}

#[tokio::test]
async fn expiry_revokes_the_token_its_children_and_its_cubbyhole() {
    let dir = tempfile::tempdir().unwrap();
    let (node, clock) = node(dir.path(), start_time()).await;
    let v = node.v();
    // A root-policy child of root (it may create children of its own).
    let (parent, _, _) = v.create_token(json!({"ttl": "2s"})).await;
    let p = v.with_token(&parent);
    // A child with a longer TTL is capped by its parent and goes with it.
    let (child, _, auth) = p.create_token(json!({"ttl": "1h"})).await;
    assert_eq!(auth["lease_duration"], 2);
    p.post("cubbyhole/note", json!({"secret": "s3cr3t-cubby"}))
        .await
        .no_content();
    assert_eq!(lease_ids(&v, "auth/token/create/").await.len(), 2);

    clock.advance(Duration::from_secs(3));
    leases_become(&v, "auth/token/create/", 0).await;
    p.get("auth/token/lookup-self").await.denied();
    v.with_token(&child)
        .get("auth/token/lookup-self")
        .await
        .denied();
    // The cubbyhole went with the token: nothing of it is left on disk.
    node.settle().await;
    let tree = clean_tree_keys(dir.path());
    assert_keys_expected(&tree, &v.mount_uuids().await);
    let cubby = v.get("sys/mounts").await.data()["cubbyhole/"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !tree
            .iter()
            .any(|k| k.starts_with(&format!("logical/{cubby}/"))),
        "cubbyhole data left after expiry: {tree:?}"
    );
    node.stop().await;
}

#[tokio::test]
async fn leases_survive_a_restart_and_expire_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let start = start_time();
    let (node, _) = node(dir.path(), start).await;
    let v = node.v();
    let (short, _, _) = v.create_token(json!({"ttl": "2s"})).await;
    let (long, _, _) = v.create_token(json!({"ttl": "1h"})).await;
    assert_eq!(lease_ids(&v, "auth/token/create/").await.len(), 2);
    let (root, unseal_key) = (node.root.clone(), node.unseal_key.clone());
    node.stop().await;

    // Down for three seconds, longer than the short lease.
    let later = Clock::manual(start + Duration::from_secs(3));
    let node = Node::open(dir.path(), config(&later), &unseal_key, Some(&root)).await;
    let v = node.v();
    leases_become(&v, "auth/token/create/", 1).await;
    v.with_token(&short)
        .get("auth/token/lookup-self")
        .await
        .denied();
    let d = v
        .with_token(&long)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(d["ttl"], 3597, "an hour less the three seconds down: {d}");
    node.stop().await;
}

/// An auth method's short token (userpass, 2 s) is not cut short by the phase of the
/// second it was issued in, and its lease goes when it expires.
#[tokio::test]
async fn a_login_token_is_not_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let (node, clock) = node(dir.path(), start_time()).await;
    let v = node.v();
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post(
        "auth/userpass/users/eve",
        json!({"password": "eve-Passw0rd", "token_ttl": "2s"}),
    )
    .await
    .no_content();
    let auth = v
        .anon()
        .post(
            "auth/userpass/login/eve",
            json!({"password": "eve-Passw0rd"}),
        )
        .await
        .ok()["auth"]
        .clone();
    assert_eq!(auth["lease_duration"], 2);
    let eve = v.with_token(auth["client_token"].as_str().unwrap());
    clock.advance(Duration::from_millis(1500));
    eve.get("auth/token/lookup-self").await.ok();
    clock.advance(Duration::from_millis(490));
    eve.get("auth/token/lookup-self").await.ok();
    clock.advance(Duration::from_millis(160));
    eve.get("auth/token/lookup-self").await.denied();
    leases_become(&v, "auth/userpass/login/eve/", 0).await;
    node.stop().await;
}

/// A TTL under a second is a one-second TTL, never "forever" (0).
#[tokio::test]
async fn sub_second_ttls_never_mean_forever() {
    let dir = tempfile::tempdir().unwrap();
    let (node, clock) = node(dir.path(), start_time()).await;
    let v = node.v();
    v.put_policy(
        "creator",
        r#"path "auth/token/create" { capabilities = ["update"] }
path "secret/*" { capabilities = ["read", "create", "update"] }"#,
    )
    .await;
    let me = v.with_token(&v.token_with(&["creator"]).await);
    for ttl in ["500ms", "1ns", "5ms", ".5s"] {
        let auth = me
            .post(
                "auth/token/create",
                json!({"policies": ["creator"], "ttl": ttl}),
            )
            .await
            .ok()["auth"]
            .clone();
        assert_eq!(auth["lease_duration"], 1, "{ttl}");
        let child = auth["client_token"].as_str().unwrap();
        let d = v
            .post("auth/token/lookup", json!({"token": child}))
            .await
            .data();
        assert!(d["expire_time"].is_string(), "{ttl}: {d}");
        assert_eq!(d["ttl"], 1, "{ttl}: {d}");
        assert_eq!(d["creation_ttl"], 1, "{ttl}");
    }
    // As a period (root may make periodic tokens).
    let (periodic, _, auth) = v
        .create_token(json!({"policies": ["default"], "period": "500ms"}))
        .await;
    assert_eq!(auth["lease_duration"], 1);
    // A wrapping TTL under a second is a one-second wrapping token.
    v.kv2_put("secret/data/w", json!({"a": "b"})).await;
    let w = me.wrapped("GET", "secret/data/w", "500ms", None).await.ok();
    assert_eq!(w["wrap_info"]["ttl"], 1);
    let wt = w["wrap_info"]["token"].as_str().unwrap().to_owned();
    let look = v
        .post("sys/wrapping/lookup", json!({"token": wt}))
        .await
        .data();
    assert_eq!(look["creation_ttl"], 1);
    // And one second later, they are all gone.
    clock.advance(Duration::from_millis(1150));
    v.with_token(&periodic)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.post("sys/wrapping/lookup", json!({"token": wt}))
        .await
        .some_error(400);
    node.stop().await;
}
