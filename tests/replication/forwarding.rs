//! Writes of replicated data sent to a secondary are made by the primary, under the
//! caller's token and the primary's ACL, and answered once the change is back on the
//! secondary (read-your-writes); token, cubbyhole and local-mount writes stay local.
//!
//! The link is slow (the proxy delays every chunk), and a big replicated change is
//! written on the primary just before each step: it congests the stream, so the
//! secondary's copy lags by a second or more while one forwarded request crosses in a
//! fraction of that. A secondary that answered before the change came back would read
//! stale data here, and a secondary whose policies lag lets a write through that only the
//! primary's ACL can refuse.

use std::time::Duration;

use serde_json::{json, Value};

use super::cluster::{kv_get, Cluster};
use crate::api::common::V;
use crate::harness::proxy::Fault;

/// Half a megabyte of replicated change in the stream, ahead of what comes next.
async fn congest(p: &V) {
    p.post(
        "secret/data/big",
        json!({"data": {"v": "x".repeat(512 << 10)}}),
    )
    .await
    .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_sent_to_a_secondary_are_made_by_the_primary_and_read_back_at_once() {
    let mut c = Cluster::dev(1).await;
    let p = c.primary.v();
    p.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    c.activate(0, "east").await;
    let sv = c.secondaries[0].v();
    c.proxy.set(Fault::Delay(Duration::from_millis(100)));

    // A secret.
    congest(&p).await;
    let answer = sv
        .post("secret/data/mine", json!({"data": {"v": 1}}))
        .await
        .ok();
    assert_eq!(answer["warnings"], Value::Null, "{answer}");
    assert_eq!(answer["data"]["version"], 1, "{answer}");
    assert_eq!(kv_get(&sv, "secret/data/mine").await, Some(json!({"v": 1})));
    assert_eq!(kv_get(&p, "secret/data/mine").await, Some(json!({"v": 1})));

    // A policy.
    congest(&p).await;
    sv.put_policy(
        "writer",
        r#"path "secret/data/w/*" { capabilities = ["create", "update", "read"] }"#,
    )
    .await;
    for v in [&sv, &p] {
        assert!(v.get("sys/policies/acl/writer").await.data()["policy"]
            .as_str()
            .unwrap()
            .contains("secret/data/w/*"));
    }

    // A userpass user; logging in on the secondary makes a token of the secondary.
    congest(&p).await;
    sv.post(
        "auth/userpass/users/alice",
        json!({"password": "correct-horse", "policies": "writer"}),
    )
    .await
    .no_content();
    for v in [&sv, &p] {
        assert_eq!(
            v.get("auth/userpass/users/alice").await.data()["token_policies"],
            json!(["writer"])
        );
    }
    let login = sv
        .anon()
        .post(
            "auth/userpass/login/alice",
            json!({"password": "correct-horse"}),
        )
        .await
        .ok();
    let alice = sv.with_token(login["auth"]["client_token"].as_str().unwrap());
    p.with_token(alice.token.as_deref().unwrap())
        .get("auth/token/lookup-self")
        .await
        .some_error(403);

    // The limited token's write: forwarded and read back; outside its policy, refused.
    congest(&p).await;
    alice
        .post("secret/data/w/ok", json!({"data": {"a": 1}}))
        .await
        .ok();
    assert_eq!(
        kv_get(&alice, "secret/data/w/ok").await,
        Some(json!({"a": 1}))
    );
    alice
        .post("secret/data/elsewhere", json!({"data": {"a": 1}}))
        .await
        .denied();
    assert_eq!(kv_get(&p, "secret/data/elsewhere").await, None);

    // Token, cubbyhole and local-mount writes are the secondary's: nothing goes to the
    // primary for them.
    let sent = c.proxy.bytes_to_target();
    alice
        .post("cubbyhole/note", json!({"a": "b"}))
        .await
        .no_content();
    assert_eq!(alice.get("cubbyhole/note").await.data()["a"], "b");
    sv.token_with(&["writer"]).await;
    sv.enable("s-local", json!({"type": "kv", "local": true}))
        .await;
    sv.put("s-local/x", json!({"y": 1})).await.no_content();
    assert_eq!(
        c.proxy.bytes_to_target(),
        sent,
        "a local write was sent to the primary"
    );

    // The primary's ACL decides again: alice's policy narrowed on the primary, the change
    // still on its way (a slower link for a wider margin), the secondary's ACL lets the
    // write through, and the primary refuses it.
    c.proxy.set(Fault::Delay(Duration::from_millis(300)));
    congest(&p).await;
    p.put_policy(
        "writer",
        r#"path "secret/data/w/*" { capabilities = ["read"] }"#,
    )
    .await;
    let sent = c.proxy.bytes_to_target();
    let payload = "y".repeat(32 << 10);
    alice
        .post("secret/data/w/late", json!({"data": {"p": payload}}))
        .await
        .denied();
    assert!(
        c.proxy.bytes_to_target() >= sent + payload.len() as u64,
        "the write was refused by the secondary, not sent to the primary"
    );
    assert_eq!(kv_get(&p, "secret/data/w/late").await, None);
    // Once the policy arrived, the secondary refuses by itself.
    c.proxy.set(Fault::Pass);
    c.all_converged().await;
    let sent = c.proxy.bytes_to_target();
    alice
        .post("secret/data/w/later", json!({"data": {"p": payload}}))
        .await
        .denied();
    assert!(c.proxy.bytes_to_target() < sent + payload.len() as u64);
}
