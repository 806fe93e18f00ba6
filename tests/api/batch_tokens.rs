//! Batch tokens over HTTP (issue 13 item 2): `type=batch` on `auth/token/create`, and
//! `token_type=batch` on auth methods and mounts. Vault's semantics: never stored, no
//! accessor, not renewable, not revocable, no children, no cubbyhole, `hvb.` prefix, no
//! use limits or periods; a child batch token dies with its parent; sealed under the
//! keyring, so one outlives a restart and a key rotation.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

const READER: &str = r#"path "secret/data/b/*" { capabilities = ["read"] }"#;
const CREATOR: &str = r#"path "auth/token/create" { capabilities = ["update"] }"#;

/// A batch token's `auth` block, as Vault shapes it.
#[track_caller]
fn assert_batch_auth(auth: &Value, lease: u64, orphan: bool) -> String {
    assert_eq!(keys(auth), sorted(AUTH_KEYS), "auth block {auth}");
    let token = auth["client_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("hvb."), "{token}");
    assert!(
        token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    assert!(
        token.len() > 100,
        "a batch token carries its grant: {token}"
    );
    assert_eq!(auth["token_type"], "batch");
    assert_eq!(auth["accessor"], "");
    assert_eq!(auth["renewable"], false);
    assert_eq!(auth["num_uses"], 0);
    assert_eq!(auth["orphan"], orphan);
    assert_eq!(auth["lease_duration"], lease);
    token
}

#[tokio::test]
async fn batch_tokens_work_and_refuse_what_vault_refuses() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("reader", READER).await;
    v.kv2_put("secret/data/b/x", json!({"k": "v"})).await;
    let keys_before = clean_tree_keys(&srv.data_dir);
    let accessors_before = v.list("auth/token/accessors").await.data()["keys"].clone();

    let body = v
        .post(
            "auth/token/create",
            json!({"type": "batch", "policies": ["reader"], "ttl": "1h",
                   "meta": {"team": "ci"}, "display_name": "job", "renewable": true}),
        )
        .await
        .ok_exact();
    let token = assert_batch_auth(&body["auth"], 3600, false);
    assert_eq!(body["auth"]["policies"], json!(["default", "reader"]));
    assert_eq!(body["auth"]["metadata"], json!({"team": "ci"}));

    // It works, for what its policies allow.
    let b = v.with_token(&token);
    assert_eq!(b.get("secret/data/b/x").await.data()["data"]["k"], "v");
    b.post("secret/data/b/x", json!({"data": {}}))
        .await
        .denied();
    let me = b.get("auth/token/lookup-self").await.data();
    assert_eq!(me["id"], token);
    assert_eq!(me["type"], "batch");
    assert_eq!(me["accessor"], "");
    assert_eq!(me["renewable"], false);
    assert_eq!(me["orphan"], false);
    assert_eq!(me["num_uses"], 0);
    assert_eq!(me["creation_ttl"], 3600);
    assert_eq!(me["path"], "auth/token/create");
    assert_eq!(me["display_name"], "token-job");
    assert_eq!(me["meta"], json!({"team": "ci"}));
    assert!((3590..=3600).contains(&me["ttl"].as_u64().unwrap()), "{me}");
    assert!(is_rfc3339(me["expire_time"].as_str().unwrap()));
    assert_eq!(
        v.post("auth/token/lookup", json!({"token": token}))
            .await
            .data()["type"],
        "batch"
    );

    // Stored nowhere: no key, no accessor, no lease.
    assert_eq!(clean_tree_keys(&srv.data_dir), keys_before);
    assert_eq!(
        v.list("auth/token/accessors").await.data()["keys"],
        accessors_before
    );

    // Not renewable, not revocable, no children, no cubbyhole.
    for (caller, path, body) in [
        (&b, "auth/token/renew-self", json!({})),
        (
            &v,
            "auth/token/renew",
            json!({"token": token, "increment": "2h"}),
        ),
    ] {
        caller
            .post(path, body)
            .await
            .errors(400, &["batch tokens cannot be renewed"]);
    }
    for (caller, path, body) in [
        (&b, "auth/token/revoke-self", json!({})),
        (&v, "auth/token/revoke", json!({"token": token})),
        (&v, "auth/token/revoke-orphan", json!({"token": token})),
    ] {
        caller
            .post(path, body)
            .await
            .errors(400, &["batch tokens cannot be revoked"]);
    }
    v.put_policy("creator", CREATOR).await;
    let creator = v
        .post(
            "auth/token/create",
            json!({"type": "batch", "policies": ["creator"]}),
        )
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    v.with_token(&creator)
        .post("auth/token/create", json!({"policies": ["creator"]}))
        .await
        .errors(400, &["batch tokens cannot create more tokens"]);
    b.put("cubbyhole/x", json!({"a": "b"})).await.errors(
        400,
        &["cubbyhole operations are only supported by \"service\" type tokens"],
    );
    b.get("cubbyhole/x").await.some_error(400);
    // Still alive after all that.
    b.get("auth/token/lookup-self").await.ok();

    // What only a stored token can have is refused.
    for (extra, message) in [
        (
            json!({"num_uses": 3}),
            "batch tokens cannot have \"num_uses\" set",
        ),
        (
            json!({"period": "1h"}),
            "batch tokens cannot have \"period\" set",
        ),
        (
            json!({"explicit_max_ttl": "1h"}),
            "batch tokens cannot have \"explicit_max_ttl\" set",
        ),
        (
            json!({"policies": ["root"]}),
            "batch tokens cannot be root tokens",
        ),
        (
            json!({"id": "custom", "policies": ["default"]}),
            "batch tokens cannot have a custom ID",
        ),
    ] {
        let mut body = json!({"type": "batch"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.post("auth/token/create", body)
            .await
            .errors(400, &[message]);
    }
    v.post("auth/token/create", json!({"type": "weird"}))
        .await
        .errors(400, &["invalid 'token_type' value"]);
    // A custom service token id cannot pose as a batch token.
    v.post("auth/token/create", json!({"id": "hvb.mine"}))
        .await
        .errors(400, &["custom token ID cannot have the 'hvb.' prefix"]);

    // Altered, cut or made-up batch tokens are refused like any unknown token.
    let mut altered = token.clone().into_bytes();
    let i = altered.len() / 2;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    for bad in [
        String::from_utf8(altered).unwrap(),
        token[..token.len() - 4].to_owned(),
        "hvb.".to_owned(),
        format!("hvb.{}", "A".repeat(20_000)),
    ] {
        v.with_token(&bad)
            .get("auth/token/lookup-self")
            .await
            .denied();
        v.post("auth/token/lookup", json!({"token": bad}))
            .await
            .errors(403, &["bad token"]);
    }
}

#[tokio::test]
async fn a_child_batch_token_dies_with_its_parent_and_orphans_do_not() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("reader", READER).await;
    v.put_policy("creator", CREATOR).await;
    let (parent, _, _) = v
        .create_token(json!({"policies": ["reader", "creator"], "ttl": "1h"}))
        .await;
    let p = v.with_token(&parent);
    // A child never outlives its parent.
    let child = p
        .post(
            "auth/token/create",
            json!({"type": "batch", "policies": ["reader"], "ttl": "2h"}),
        )
        .await
        .ok();
    let lease = child["auth"]["lease_duration"].as_u64().unwrap();
    assert!((3590..=3600).contains(&lease), "{lease}");
    let child = child["auth"]["client_token"].as_str().unwrap().to_owned();
    let orphan = v
        .post(
            "auth/token/create-orphan",
            json!({"type": "batch", "policies": ["reader"], "ttl": "2h"}),
        )
        .await
        .ok();
    let orphan = assert_batch_auth(&orphan["auth"], 7200, true);
    v.with_token(&child)
        .get("auth/token/lookup-self")
        .await
        .ok();

    v.post("auth/token/revoke", json!({"token": parent}))
        .await
        .no_content();
    v.with_token(&child)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.with_token(&orphan)
        .get("auth/token/lookup-self")
        .await
        .ok();
}

#[tokio::test]
async fn batch_tokens_outlive_restarts_and_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    let token = v
        .post(
            "auth/token/create-orphan",
            json!({"type": "batch", "policies": ["default"], "ttl": "1h"}),
        )
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    v.post("sys/rotate", json!({})).await.no_content();
    v.with_token(&token)
        .get("auth/token/lookup-self")
        .await
        .ok();
    drop(srv);
    let srv = TestServer::dev_in(&data_dir, None, &[]);
    let v = V::root(&srv);
    let me = v
        .with_token(&token)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(me["type"], "batch");
    assert!(me["ttl"].as_u64().unwrap() > 3500);
}

#[tokio::test]
async fn auth_methods_and_mounts_issue_batch_tokens() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    let login = |user: &'static str| {
        let v = v.clone();
        async move {
            v.anon()
                .post(
                    &format!("auth/userpass/login/{user}"),
                    json!({"password": "pw"}),
                )
                .await
                .ok()["auth"]
                .clone()
        }
    };
    v.post(
        "auth/userpass/users/bob",
        json!({"password": "pw", "token_type": "batch", "token_ttl": "30m"}),
    )
    .await
    .no_content();
    v.post("auth/userpass/users/amy", json!({"password": "pw"}))
        .await
        .no_content();
    assert_eq!(
        v.get("auth/userpass/users/bob").await.data()["token_type"],
        "batch"
    );

    let auth = login("bob").await;
    let token = assert_batch_auth(&auth, 1800, true);
    assert_eq!(auth["metadata"], json!({"username": "bob"}));
    let me = v
        .with_token(&token)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(me["path"], "auth/userpass/login/bob");
    assert_eq!(me["display_name"], "userpass-bob");
    v.with_token(&token)
        .post("auth/token/renew-self", json!({}))
        .await
        .errors(400, &["batch tokens cannot be renewed"]);
    // No lease: nothing to list under the login path.
    v.list("sys/leases/lookup/auth/userpass/login/bob/")
        .await
        .not_found();
    assert_eq!(login("amy").await["token_type"], "service");

    // The mount's tuned token_type has the last word.
    for (mount_type, bob, amy) in [
        ("default-batch", "batch", "batch"),
        ("default-service", "batch", "service"),
        ("service", "service", "service"),
        ("batch", "batch", "batch"),
    ] {
        v.post("sys/auth/userpass/tune", json!({"token_type": mount_type}))
            .await
            .no_content();
        assert_eq!(
            v.get("sys/auth/userpass/tune").await.data()["token_type"],
            mount_type
        );
        assert_eq!(login("bob").await["token_type"], bob, "{mount_type}");
        assert_eq!(login("amy").await["token_type"], amy, "{mount_type}");
    }

    // A mount forcing batch drops what only stored tokens have.
    v.post(
        "auth/userpass/users/amy",
        json!({"password": "pw", "token_num_uses": 2, "token_period": "1h"}),
    )
    .await
    .no_content();
    let auth = login("amy").await;
    assert_batch_auth(&auth, 3600, true);

    // Refused where Vault refuses.
    v.post(
        "auth/userpass/users/bob",
        json!({"token_type": "batch", "token_num_uses": 3}),
    )
    .await
    .errors(
        400,
        &["'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count"],
    );
    v.post(
        "auth/userpass/users/bob",
        json!({"token_type": "batch", "token_period": "1h"}),
    )
    .await
    .errors(
        400,
        &["'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens"],
    );
    v.post("sys/auth/token/tune", json!({"token_type": "batch"}))
        .await
        .errors(
            400,
            &["'token_type' cannot be set for 'token' or 'ns_token' auth mounts"],
        );
}
