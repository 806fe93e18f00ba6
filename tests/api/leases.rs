//! The expiration manager: token leases under `sys/leases/*`, expiry that revokes, revoke
//! and revoke-prefix, leases surviving a restart.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// The lease ids under `prefix` (a LIST of `sys/leases/lookup/<prefix>`), empty on 404.
async fn lease_ids(v: &V, prefix: &str) -> Vec<String> {
    let r = v.list(&format!("sys/leases/lookup/{prefix}")).await;
    if r.status == 404 {
        return Vec::new();
    }
    r.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("{prefix}{}", k.as_str().unwrap()))
        .collect()
}

/// Polls `cond` every 100 ms for up to `limit`.
async fn eventually<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn every_expiring_token_has_a_lease_to_look_up() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    assert!(lease_ids(&v, "auth/token/create/").await.is_empty());
    let (token, _, _) = v.create_token(json!({"ttl": "1h"})).await;
    // Root's token never expires, so it has no lease; the child has one.
    let ids = lease_ids(&v, "auth/token/create/").await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        v.list("sys/leases/lookup/").await.data()["keys"],
        json!(["auth/"])
    );
    let d = v
        .put("sys/leases/lookup", json!({"lease_id": ids[0]}))
        .await
        .data();
    let mut names: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "expire_time",
            "id",
            "issue_time",
            "last_renewal",
            "renewable",
            "ttl"
        ]
    );
    assert_eq!(d["id"], ids[0].as_str());
    assert_eq!(d["renewable"], true);
    assert_eq!(d["last_renewal"], Value::Null);
    let ttl = d["ttl"].as_i64().unwrap();
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
    assert!(is_rfc3339(d["issue_time"].as_str().unwrap()));
    // Whole seconds: the expiry is rounded up so the token lives its full TTL.
    let life = rfc3339_secs(d["expire_time"].as_str().unwrap())
        - rfc3339_secs(d["issue_time"].as_str().unwrap());
    assert!((3600..=3601).contains(&life), "lease life {life}");
    // The token is not in the lease id (only its keyed hash is).
    assert!(!ids[0].contains(token.trim_start_matches("hvs.")));

    // Renewing the token moves its lease.
    v.with_token(&token)
        .post("auth/token/renew-self", json!({"increment": "2h"}))
        .await
        .ok();
    let d = v
        .put("sys/leases/lookup", json!({"lease_id": ids[0]}))
        .await
        .data();
    let ttl = d["ttl"].as_i64().unwrap();
    assert!((7190..=7200).contains(&ttl), "ttl after renew {ttl}");
    assert!(is_rfc3339(d["last_renewal"].as_str().unwrap()));

    // Token leases are renewed through auth/token, as in Vault.
    v.put("sys/leases/renew", json!({"lease_id": ids[0]}))
        .await
        .errors(400, &["tokens cannot be renewed through this endpoint"]);
    v.put(
        "sys/leases/renew",
        json!({"lease_id": "auth/token/create/nope"}),
    )
    .await
    .errors(400, &["lease not found"]);
    v.put(
        "sys/leases/lookup",
        json!({"lease_id": "auth/token/create/nope"}),
    )
    .await
    .errors(400, &["invalid lease"]);
    v.put("sys/leases/lookup", json!({}))
        .await
        .errors(400, &["missing lease_id"]);
    v.put("sys/leases/lookup", json!({"lease_id": "a/../b"}))
        .await
        .some_error(400);

    // Revoking the lease revokes the token; revoking the token removes the lease.
    v.put("sys/leases/revoke", json!({"lease_id": ids[0]}))
        .await
        .no_content();
    v.with_token(&token)
        .get("auth/token/lookup-self")
        .await
        .denied();
    assert!(lease_ids(&v, "auth/token/create/").await.is_empty());
    let (other, _, _) = v.create_token(json!({"ttl": "1h"})).await;
    assert_eq!(lease_ids(&v, "auth/token/create/").await.len(), 1);
    v.post("auth/token/revoke", json!({"token": other}))
        .await
        .no_content();
    assert!(lease_ids(&v, "auth/token/create/").await.is_empty());
}

#[tokio::test]
async fn listing_leases_needs_sudo_and_lookup_does_not() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let (token, _, _) = v
        .create_token(json!({"ttl": "1h", "policies": ["default"]}))
        .await;
    let id = lease_ids(&v, "auth/token/create/").await.remove(0);
    let user = v.with_token(&token);
    user.list("sys/leases/lookup/auth/").await.denied();
    // The default policy grants lookup (and renew) of a given lease.
    user.put("sys/leases/lookup", json!({"lease_id": id}))
        .await
        .ok();
    user.put("sys/leases/revoke-prefix/auth/token", json!({}))
        .await
        .denied();
}

#[tokio::test]
async fn expiry_revokes_the_token_its_children_and_its_cubbyhole() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    // A root-policy child of root (it may create children of its own).
    let (parent, _, _) = v.create_token(json!({"ttl": "2s"})).await;
    let p = v.with_token(&parent);
    // A child with a longer TTL is capped by its parent and goes with it.
    let (child, _, _) = p.create_token(json!({"ttl": "1h"})).await;
    p.post("cubbyhole/note", json!({"secret": "s3cr3t-cubby"}))
        .await
        .no_content();
    assert_eq!(lease_ids(&v, "auth/token/create/").await.len(), 2);

    let gone = eventually(Duration::from_secs(10), || async {
        lease_ids(&v, "auth/token/create/").await.is_empty()
    })
    .await;
    assert!(gone, "leases still there after expiry");
    p.get("auth/token/lookup-self").await.denied();
    v.with_token(&child)
        .get("auth/token/lookup-self")
        .await
        .denied();
    // The cubbyhole went with the token: nothing of it is left on disk.
    let tree = clean_tree_keys(&srv.data_dir);
    let uuids = v.mount_uuids().await;
    assert_keys_expected(&tree, &uuids);
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
}

#[tokio::test]
async fn revoke_prefix_revokes_everything_under_it() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(v.create_token(json!({"ttl": "1h"})).await.0);
    }
    let (orphan, _, _) = v
        .post("auth/token/create-orphan", json!({"ttl": "1h"}))
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .map(|t| (t.to_owned(), (), ()))
        .unwrap();
    assert_eq!(lease_ids(&v, "auth/token/create/").await.len(), 3);
    v.put("sys/leases/revoke-prefix/auth/token/create", json!({}))
        .await
        .no_content();
    for t in &tokens {
        v.with_token(t).get("auth/token/lookup-self").await.denied();
    }
    // `auth/token/create` is a path prefix, not a string prefix: create-orphan stays.
    v.with_token(&orphan)
        .get("auth/token/lookup-self")
        .await
        .ok();
    // The legacy endpoint does the same.
    v.put("sys/revoke-prefix/auth/token/create-orphan", json!({}))
        .await
        .no_content();
    v.with_token(&orphan)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.put("sys/leases/revoke-force/auth/token", json!({}))
        .await
        .no_content();
    // Vault answers tidy with 202 Accepted and a warning.
    let tidy = v.put("sys/leases/tidy", json!({})).await.json_at(202);
    assert!(tidy["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("Tidy operation successfully started"));
}

#[tokio::test]
async fn leases_survive_a_restart_and_expire_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    let (short, _, _) = v.create_token(json!({"ttl": "2s"})).await;
    let (long, _, _) = v.create_token(json!({"ttl": "1h"})).await;
    assert_eq!(lease_ids(&v, "auth/token/create/").await.len(), 2);
    drop(srv);
    // Down for longer than the short lease.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    let one_left = eventually(Duration::from_secs(10), || async {
        lease_ids(&v, "auth/token/create/").await.len() == 1
    })
    .await;
    assert!(one_left, "{:?}", lease_ids(&v, "auth/token/create/").await);
    v.with_token(&short)
        .get("auth/token/lookup-self")
        .await
        .denied();
    let d = v
        .with_token(&long)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert!(d["ttl"].as_i64().unwrap() > 3500);
}
