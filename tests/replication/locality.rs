//! Local data never leaves its cluster, either way: a `-local` mount of the primary never
//! reaches a secondary, a secondary's local mount never reaches the primary (and survives
//! replication), tokens work only where they were made, and the dev root token id is the
//! one token that comes along.

use serde_json::json;

use super::cluster::{all_keys, Cluster};

/// The uuid of the mount at `path` (`sys/mounts` or `sys/auth` listing `table`).
async fn uuid(v: &crate::api::common::V, table: &str, path: &str) -> String {
    v.get(table).await.data()[path]["uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("no mount {path} in {table}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mounts_and_tokens_stay_on_their_cluster_both_ways() {
    let mut c = Cluster::dev(1).await;
    let p = c.primary.v();
    p.enable("p-local", json!({"type": "kv", "local": true}))
        .await;
    p.put("p-local/note", json!({"only": "primary"}))
        .await
        .no_content();
    p.enable("shared", json!({"type": "kv"})).await;
    p.put("shared/x", json!({"a": 1})).await.no_content();
    p.put_policy("reader", r#"path "shared/*" { capabilities = ["read"] }"#)
        .await;
    let p_local = uuid(&p, "sys/mounts", "p-local/").await;
    let p_token = p.token_with(&["reader"]).await;
    let own_root = c.secondaries[0].token.clone();
    c.activate(0, "east").await;
    let s = &c.secondaries[0];
    let sv = s.v();

    // Tokens: the primary's dev root token id came along; the server's own root token
    // went with the wipe; the primary's other tokens are the primary's alone.
    assert_eq!(sv.token.as_deref(), Some("primary-root"));
    assert_eq!(
        sv.get("auth/token/lookup-self").await.data()["policies"],
        json!(["root"])
    );
    sv.with_token(&own_root)
        .get("auth/token/lookup-self")
        .await
        .some_error(403);
    sv.with_token(&p_token)
        .get("shared/x")
        .await
        .some_error(403);
    p.with_token(&p_token).get("shared/x").await.ok();

    // The primary's local mount is neither served nor stored here.
    let mounts = sv.get("sys/mounts").await.data();
    assert!(mounts.get("p-local/").is_none(), "{mounts}");
    assert!(mounts.get("shared/").is_some(), "{mounts}");
    assert_ne!(sv.get("p-local/note").await.status, 200);
    let keys = all_keys(&s.data_dir).unwrap();
    assert!(
        !keys.keys().any(|k| k.contains(&p_local)),
        "the primary's local mount is stored on the secondary"
    );

    // The secondary's own local mounts, secrets and auth methods; and its tokens.
    sv.enable("s-local", json!({"type": "kv", "local": true}))
        .await;
    sv.put("s-local/note", json!({"kept": true}))
        .await
        .no_content();
    sv.post(
        "sys/auth/s-users",
        json!({"type": "userpass", "local": true}),
    )
    .await
    .no_content();
    let s_local = uuid(&sv, "sys/mounts", "s-local/").await;
    let s_token = sv.token_with(&["reader"]).await;
    sv.with_token(&s_token).get("shared/x").await.ok();
    p.with_token(&s_token).get("shared/x").await.some_error(403);

    // Replicated mounts are the primary's to change: refused here, with Vault's messages.
    for (method, path, body, message) in [
        (
            "POST",
            "sys/mounts/nope",
            json!({"type": "kv"}),
            "cannot add a non-local mount to a replication secondary",
        ),
        (
            "POST",
            "sys/auth/nope",
            json!({"type": "userpass"}),
            "cannot add a non-local mount to a replication secondary",
        ),
        (
            "DELETE",
            "sys/mounts/shared",
            json!({}),
            "cannot unmount a non-local mount on a replication secondary",
        ),
        (
            "POST",
            "sys/mounts/shared/tune",
            json!({"default_lease_ttl": "1h"}),
            "cannot tune a non-local mount on a replication secondary",
        ),
        (
            "POST",
            "sys/remount",
            json!({"from": "shared", "to": "moved"}),
            "cannot remount a non-local mount on a replication secondary",
        ),
    ] {
        let body = (method != "DELETE").then_some(body);
        sv.call(method, path, body)
            .await
            .error_containing(400, message);
    }

    // More replication: the local data on each side stays where it is.
    p.put("shared/y", json!({"b": 2})).await.no_content();
    p.put("p-local/more", json!({"still": "primary"}))
        .await
        .no_content();
    c.all_converged().await;
    assert_eq!(sv.get("shared/y").await.data()["b"], 2);
    assert_eq!(sv.get("s-local/note").await.data()["kept"], true);
    let p_mounts = p.get("sys/mounts").await.data();
    assert!(p_mounts.get("s-local/").is_none(), "{p_mounts}");
    assert!(p.get("sys/auth").await.data().get("s-users/").is_none());
    let p_keys = all_keys(&c.primary.data_dir).unwrap();
    assert!(
        !p_keys.keys().any(|k| k.contains(&s_local)),
        "the secondary's local mount is stored on the primary"
    );
    let s_keys = all_keys(&s.data_dir).unwrap();
    assert!(!s_keys.keys().any(|k| k.contains(&p_local)));
    assert!(s_keys.keys().any(|k| k.contains(&s_local)));
}
