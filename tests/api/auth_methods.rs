//! userpass and approle over HTTP: logins become tokens with leases, TTL caps, revoking by
//! prefix and by disabling the method, cluster-local secret ids, audit of logins.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

async fn enable_auth(v: &V, path: &str, body: Value) {
    v.post(&format!("sys/auth/{path}"), body).await.no_content();
}

async fn login(v: &V, user: &str, password: &str) -> Value {
    v.anon()
        .post(
            &format!("auth/userpass/login/{user}"),
            json!({ "password": password }),
        )
        .await
        .ok()
}

async fn lease_count(v: &V, prefix: &str) -> usize {
    let r = v.list(&format!("sys/leases/lookup/{prefix}")).await;
    if r.status == 404 {
        return 0;
    }
    r.data()["keys"].as_array().unwrap().len()
}

#[tokio::test]
async fn userpass_login_issues_a_leased_token() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    enable_auth(&v, "userpass", json!({"type": "userpass"})).await;
    v.put_policy(
        "reader",
        r#"path "secret/data/*" { capabilities = ["read"] }"#,
    )
    .await;
    v.post(
        "auth/userpass/users/Bob",
        json!({"password": "pw-bob-1", "token_policies": "reader", "token_ttl": "1h", "token_max_ttl": "2h"}),
    )
    .await
    .no_content();
    let user = v.get("auth/userpass/users/bob").await.data();
    assert_eq!(user["token_policies"], json!(["reader"]));
    assert_eq!(user["token_ttl"], 3600);
    assert!(user.get("password").is_none());
    assert_eq!(
        v.list("auth/userpass/users").await.data()["keys"],
        json!(["bob"])
    );

    // No token needed, and a bad one does not get in the way.
    let body = v
        .anon()
        .with_token("not-a-token")
        .post("auth/userpass/login/BOB", json!({"password": "pw-bob-1"}))
        .await
        .ok_exact();
    let auth = &body["auth"];
    assert_eq!(keys(auth), sorted(AUTH_KEYS));
    assert_eq!(auth["policies"], json!(["default", "reader"]));
    assert_eq!(auth["token_policies"], json!(["default", "reader"]));
    assert_eq!(auth["metadata"], json!({"username": "bob"}));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["renewable"], true);
    assert_eq!(auth["orphan"], true);
    assert_eq!(body["data"], Value::Null);
    let token = auth["client_token"].as_str().unwrap().to_owned();
    assert!(is_service_token(&token));

    let me = v.with_token(&token);
    let d = me.get("auth/token/lookup-self").await.data();
    assert_eq!(d["display_name"], "userpass-bob");
    // The login path is the user name's one spelling (leases revoke by it).
    assert_eq!(d["path"], "auth/userpass/login/bob");
    assert_eq!(d["meta"], json!({"username": "bob"}));
    assert_eq!(d["orphan"], true);
    v.kv2_put("secret/data/app", json!({"k": "v"})).await;
    assert_eq!(me.get("secret/data/app").await.data()["data"]["k"], "v");
    me.post("secret/data/app", json!({"data": {"k": "w"}}))
        .await
        .denied();

    // Its lease, under the login path in its one spelling.
    assert_eq!(lease_count(&v, "auth/userpass/login/bob/").await, 1);
    assert_eq!(lease_count(&v, "auth/userpass/login/BOB/").await, 0);
    // Renewals never pass the user's max TTL, counted from the login.
    let renewed = me
        .post("auth/token/renew-self", json!({"increment": "24h"}))
        .await
        .ok();
    let ttl = renewed["auth"]["lease_duration"].as_u64().unwrap();
    assert!((7190..=7200).contains(&ttl), "renewed ttl {ttl}");

    // Wrong password and unknown user: the same answer.
    for (user, pw) in [("bob", "nope"), ("nobody", "pw-bob-1")] {
        v.anon()
            .post(
                &format!("auth/userpass/login/{user}"),
                json!({ "password": pw }),
            )
            .await
            .errors(400, &["invalid username or password"]);
    }
}

#[tokio::test]
async fn login_ttls_follow_the_mount_and_root_is_never_granted() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    enable_auth(
        &v,
        "userpass",
        json!({"type": "userpass", "config": {"default_lease_ttl": "30m", "max_lease_ttl": "1h"}}),
    )
    .await;
    v.post("auth/userpass/users/a", json!({"password": "pw-a"}))
        .await
        .no_content();
    v.post(
        "auth/userpass/users/b",
        json!({"password": "pw-b", "token_ttl": "3h", "token_max_ttl": "5h"}),
    )
    .await
    .no_content();
    assert_eq!(login(&v, "a", "pw-a").await["auth"]["lease_duration"], 1800);
    // The mount's max caps what the user asks for.
    assert_eq!(login(&v, "b", "pw-b").await["auth"]["lease_duration"], 3600);

    v.post(
        "auth/userpass/users/r",
        json!({"password": "pw-r", "policies": "root"}),
    )
    .await
    .no_content();
    v.anon()
        .post("auth/userpass/login/r", json!({"password": "pw-r"}))
        .await
        .errors(400, &["auth methods cannot create root tokens"]);
    assert_eq!(lease_count(&v, "auth/userpass/login/r/").await, 0);
}

#[tokio::test]
async fn revoke_prefix_and_disabling_the_method_revoke_its_tokens() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    enable_auth(&v, "userpass", json!({"type": "userpass"})).await;
    for u in ["bob", "carol"] {
        v.post(
            &format!("auth/userpass/users/{u}"),
            json!({ "password": format!("pw-{u}") }),
        )
        .await
        .no_content();
    }
    let bob1 = login(&v, "bob", "pw-bob").await["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob2 = login(&v, "bob", "pw-bob").await["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let carol = login(&v, "carol", "pw-carol").await["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(lease_count(&v, "auth/userpass/login/bob/").await, 2);
    v.put(
        "sys/leases/revoke-prefix/auth/userpass/login/bob",
        json!({}),
    )
    .await
    .no_content();
    for t in [&bob1, &bob2] {
        v.with_token(t).get("auth/token/lookup-self").await.denied();
    }
    v.with_token(&carol)
        .get("auth/token/lookup-self")
        .await
        .ok();

    let uuid = v.get("sys/auth").await.data()["userpass/"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    v.delete("sys/auth/userpass").await.no_content();
    v.with_token(&carol)
        .get("auth/token/lookup-self")
        .await
        .denied();
    assert_eq!(lease_count(&v, "auth/userpass/").await, 0);
    let tree = clean_tree_keys(&srv.data_dir);
    assert!(
        !tree.iter().any(|k| k.contains(&uuid)),
        "the method's data is gone: {tree:?}"
    );
    assert_keys_expected(&tree, &v.mount_uuids().await);
}

#[tokio::test]
async fn approle_login_and_cluster_local_secret_ids() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    enable_auth(&v, "approle", json!({"type": "approle"})).await;
    v.put_policy(
        "web",
        r#"path "secret/data/web/*" { capabilities = ["read"] }"#,
    )
    .await;
    v.post(
        "auth/approle/role/web",
        json!({"token_policies": ["web"], "token_ttl": "20m", "secret_id_num_uses": 2}),
    )
    .await
    .no_content();
    let role_id = v.get("auth/approle/role/web/role-id").await.data()["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let generated = v
        .post("auth/approle/role/web/secret-id", json!({}))
        .await
        .data();
    let secret_id = generated["secret_id"].as_str().unwrap().to_owned();
    assert_eq!(generated["secret_id_num_uses"], 2);

    let body = v
        .anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await
        .ok();
    let auth = &body["auth"];
    assert_eq!(auth["policies"], json!(["default", "web"]));
    assert_eq!(auth["metadata"], json!({"role_name": "web"}));
    assert_eq!(auth["lease_duration"], 1200);
    let token = auth["client_token"].as_str().unwrap();
    let d = v
        .with_token(token)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(d["display_name"], "approle");
    assert_eq!(lease_count(&v, "auth/approle/login/").await, 1);

    // Second use is the last; the third fails like a wrong id.
    v.anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await
        .ok();
    let third = v
        .anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await;
    let wrong = v
        .anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!((third.status, third.text()), (wrong.status, wrong.text()));
    assert_eq!(third.status, 400);

    // Secret ids live in the mount's cluster-local storage, by keyed hash only.
    let fresh = v
        .post("auth/approle/role/web/secret-id", json!({}))
        .await
        .data()["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uuid = v.get("sys/auth").await.data()["approle/"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let tree = clean_tree_keys(&srv.data_dir);
    assert!(tree
        .iter()
        .any(|k| k.starts_with(&format!("local/engine/{uuid}/secret_id/"))));
    assert!(!tree
        .iter()
        .any(|k| k.starts_with(&format!("auth/{uuid}/secret_id"))));
    assert!(!tree
        .iter()
        .any(|k| k.contains(&fresh) || k.contains(&role_id)));
    assert_keys_expected(&tree, &v.mount_uuids().await);
}

#[tokio::test]
async fn local_auth_mounts_and_audited_logins() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    enable_auth(&v, "up-local", json!({"type": "userpass", "local": true})).await;
    assert_eq!(v.get("sys/auth").await.data()["up-local/"]["local"], true);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    v.put(
        "sys/audit/file",
        json!({"type": "file", "options": {"file_path": log.to_str().unwrap()}}),
    )
    .await
    .no_content();
    v.post(
        "auth/up-local/users/dave",
        json!({"password": "correct-horse-battery"}),
    )
    .await
    .no_content();
    let token = v
        .anon()
        .post(
            "auth/up-local/login/dave",
            json!({"password": "correct-horse-battery"}),
        )
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    v.anon()
        .post(
            "auth/up-local/login/dave",
            json!({"password": "wrong-guess-pw"}),
        )
        .await
        .errors(400, &["invalid username or password"]);
    let keys = clean_tree_keys(&srv.data_dir);
    assert!(keys.contains("local/core/auth"));

    let text = std::fs::read_to_string(&log).unwrap();
    for plain in ["correct-horse-battery", "wrong-guess-pw", token.as_str()] {
        assert!(!text.contains(plain), "{plain:?} in the audit log");
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hash = |s: &str| {
        let v = v.clone();
        let s = s.to_owned();
        async move {
            v.put("sys/audit-hash/file", json!({ "input": s }))
                .await
                .data()["hash"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let login_resp = lines
        .iter()
        .find(|e| {
            e["type"] == "response"
                && e["request"]["path"] == "auth/up-local/login/dave"
                && e["error"].is_null()
        })
        .expect("response entry of the login");
    assert_eq!(
        login_resp["response"]["auth"]["client_token"],
        hash(&token).await.as_str()
    );
    assert_eq!(
        login_resp["request"]["data"]["password"],
        hash("correct-horse-battery").await.as_str()
    );
    assert_eq!(login_resp["request"]["mount_type"], "userpass");
    let failed = lines
        .iter()
        .find(|e| e["type"] == "response" && e["error"] == "invalid username or password")
        .expect("the failed login is recorded with its error");
    assert_eq!(failed["request"]["path"], "auth/up-local/login/dave");
}

#[tokio::test]
async fn renewal_asks_the_method_that_issued_the_token() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    enable_auth(&v, "userpass", json!({"type": "userpass"})).await;
    enable_auth(&v, "approle", json!({"type": "approle"})).await;
    v.post(
        "auth/userpass/users/erin",
        json!({"password": "pw-erin", "token_policies": "a"}),
    )
    .await
    .no_content();
    let token = login(&v, "erin", "pw-erin").await["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = v.with_token(&token);
    me.post("auth/token/renew-self", json!({})).await.ok();
    // Policies changed: Vault refuses to renew (the token keeps working until it expires).
    v.post(
        "auth/userpass/users/erin/policies",
        json!({"token_policies": "a,b"}),
    )
    .await
    .no_content();
    me.post("auth/token/renew-self", json!({}))
        .await
        .errors(400, &["policies have changed, not renewing"]);
    v.post(
        "auth/userpass/users/erin/policies",
        json!({"token_policies": "a"}),
    )
    .await
    .no_content();
    me.post("auth/token/renew-self", json!({})).await.ok();
    v.delete("auth/userpass/users/erin").await.no_content();
    v.post("auth/token/renew", json!({ "token": token }))
        .await
        .errors(400, &["the user no longer exists; not renewing"]);
    me.get("auth/token/lookup-self").await.ok();

    v.post("auth/approle/role/svc", json!({"token_policies": "a"}))
        .await
        .no_content();
    let role_id = v.get("auth/approle/role/svc/role-id").await.data()["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_id = v
        .post("auth/approle/role/svc/secret-id", json!({}))
        .await
        .data()["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = v
        .anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await
        .ok()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = v.with_token(&app);
    app.post("auth/token/renew-self", json!({})).await.ok();
    v.delete("auth/approle/role/svc").await.no_content();
    app.post("auth/token/renew-self", json!({}))
        .await
        .errors(400, &["role \"svc\" does not exist during renewal"]);
}
