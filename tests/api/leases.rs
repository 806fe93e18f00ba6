//! The expiration manager: token leases under `sys/leases/*`, revoke and revoke-prefix
//! (expiry itself, and leases across a restart, run on a manual clock: `tests/clock.rs`).

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

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
