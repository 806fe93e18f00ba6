//! Token roles over HTTP (issue 13 item 1): `auth/token/roles/<name>` and
//! `auth/token/create/<name>` with Vault's field names, defaults, policy rules and
//! errors; role names in their one spelling before the ACL, checked with a limited token;
//! roles stored replicated.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

const READER: &str = r#"path "secret/data/r/*" { capabilities = ["read"] }"#;

/// A token holding only `policy` (written under `name`), without `default`.
async fn limited(v: &V, name: &str, policy: &str) -> String {
    v.put_policy(name, policy).await;
    v.create_token(json!({"policies": [name], "no_default_policy": true}))
        .await
        .0
}

fn token_of(body: &Value) -> String {
    body["auth"]["client_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn roles_crud_with_vaults_fields_and_defaults() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.list("auth/token/roles").await.not_found();
    v.get("auth/token/roles/ci").await.not_found();

    v.post(
        "auth/token/roles/ci",
        json!({"allowed_policies": "web, DB"}),
    )
    .await
    .no_content();
    let d = v.get("auth/token/roles/ci").await.data();
    assert_eq!(
        d,
        json!({
            "name": "ci",
            "allowed_policies": ["db", "web"],
            "disallowed_policies": [],
            "allowed_policies_glob": [],
            "disallowed_policies_glob": [],
            "allowed_entity_aliases": null,
            "orphan": false,
            "renewable": true,
            "path_suffix": "",
            "period": 0,
            "token_period": 0,
            "explicit_max_ttl": 0,
            "token_explicit_max_ttl": 0,
            "token_type": "default-service",
            "token_no_default_policy": false,
        })
    );
    // An update keeps what it does not name.
    v.post(
        "auth/token/roles/ci",
        json!({"orphan": true, "token_period": "1h", "token_num_uses": 3,
               "path_suffix": "v-2", "disallowed_policies_glob": ["adm*"]}),
    )
    .await
    .no_content();
    let d = v.get("auth/token/roles/ci").await.data();
    assert_eq!(d["allowed_policies"], json!(["db", "web"]));
    assert_eq!(d["orphan"], true);
    assert_eq!(d["token_period"], 3600);
    assert_eq!(d["period"], 0);
    assert_eq!(d["token_num_uses"], 3);
    assert_eq!(d["path_suffix"], "v-2");
    assert_eq!(d["disallowed_policies_glob"], json!(["adm*"]));
    // The legacy names are echoed when they were what was set; both: a warning.
    let body = v
        .post(
            "auth/token/roles/ci",
            json!({"explicit_max_ttl": 60, "token_explicit_max_ttl": 120}),
        )
        .await
        .ok();
    assert_eq!(
        body["warnings"],
        json!(["Both 'token_explicit_max_ttl' and deprecated 'explicit_max_ttl' value supplied, ignoring the deprecated value"])
    );
    v.post("auth/token/roles/legacy", json!({"period": 90}))
        .await
        .no_content();
    let d = v.get("auth/token/roles/legacy").await.data();
    assert_eq!(
        (d["period"].clone(), d["token_period"].clone()),
        (json!(90), json!(90))
    );

    // LIST and GET ?list=true, with or without the trailing slash.
    for r in [
        v.list("auth/token/roles").await,
        v.list("auth/token/roles/").await,
        v.get("auth/token/roles?list=true").await,
    ] {
        assert_eq!(r.data()["keys"], json!(["ci", "legacy"]));
    }
    // Stored replicated, under the role's name.
    let keys = clean_tree_keys(&srv.data_dir);
    assert!(keys.contains("sys/token/roles/ci"), "{keys:?}");
    assert_keys_expected(&keys, &v.mount_uuids().await);

    v.delete("auth/token/roles/ci").await.no_content();
    v.delete("auth/token/roles/legacy/").await.no_content();
    v.get("auth/token/roles/ci").await.not_found();
    v.list("auth/token/roles").await.not_found();

    // Refused clearly: what needs an identity store or CIDR binding, bad values.
    for (body, message) in [
        (
            json!({"allowed_entity_aliases": ["web-*"]}),
            "allowed_entity_aliases is not supported by this server: it has no identity store, so tokens cannot be tied to entity aliases",
        ),
        (
            json!({"token_bound_cidrs": ["10.0.0.0/8"]}),
            "token_bound_cidrs is not supported by this server: tokens cannot be bound to addresses",
        ),
        (json!({"token_type": "weird"}), "invalid 'token_type' value \"weird\""),
        (
            json!({"token_type": "batch"}),
            "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens",
        ),
        (
            json!({"token_type": "batch", "orphan": true}),
            "'token_type' cannot be 'batch' when role is set to generate renewable tokens",
        ),
        (
            json!({"path_suffix": "a/b"}),
            "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
        ),
        (
            json!({"path_suffix": "x..y"}),
            "error registering path suffix: path cannot contain parent references",
        ),
        (json!({"orphan": "maybe"}), "orphan must be a boolean"),
        (json!({"token_period": "soon"}), "token_period: invalid duration \"soon\""),
    ] {
        v.post("auth/token/roles/bad", body.clone())
            .await
            .errors(400, &[message]);
    }
    v.get("auth/token/roles/bad").await.not_found();
    // Bad names never reach storage.
    for path in [
        "auth/token/roles/-x",
        "auth/token/roles/x.",
        "auth/token/roles/a%20b",
        "auth/token/roles/%C3%A9t%C3%A9",
    ] {
        v.post(path, json!({})).await.some_error(400);
    }
    let long = format!("auth/token/roles/{}", "a".repeat(241));
    v.post(&long, json!({})).await.some_error(400);
    v.list("auth/token/roles").await.not_found();
}

#[tokio::test]
async fn creating_against_a_role_follows_vaults_rules() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("web", READER).await;
    v.put_policy("db", READER).await;
    v.put_policy("admin", r#"path "*" { capabilities = ["sudo", "read"] }"#)
        .await;
    v.post(
        "auth/token/roles/ci",
        json!({"allowed_policies": ["web", "db"], "disallowed_policies": ["admin"]}),
    )
    .await
    .no_content();
    // A creator holding neither web nor db, without sudo.
    let creator = limited(
        &v,
        "creator",
        r#"path "auth/token/create/*" { capabilities = ["update"] }"#,
    )
    .await;
    let c = v.with_token(&creator);

    // The role's allowed policies, not the parent's, bound what it may grant.
    let body = c
        .post(
            "auth/token/create/ci",
            json!({"policies": ["web"], "ttl": "1h"}),
        )
        .await
        .ok();
    assert_eq!(body["auth"]["policies"], json!(["default", "web"]));
    assert_eq!(body["auth"]["orphan"], false);
    assert_eq!(body["auth"]["lease_duration"], 3600);
    let t = token_of(&body);
    let me = v.with_token(&t).get("auth/token/lookup-self").await.data();
    assert_eq!(me["role"], "ci");
    assert_eq!(me["path"], "auth/token/create/ci");
    // Nothing asked: the allowed set.
    let body = c.post("auth/token/create/ci", json!({})).await.ok();
    assert_eq!(body["auth"]["policies"], json!(["db", "default", "web"]));
    let body = c
        .post("auth/token/create/ci", json!({"no_default_policy": true}))
        .await
        .ok();
    assert_eq!(body["auth"]["policies"], json!(["db", "web"]));
    // More than allowed, disallowed, or root: refused.
    c.post("auth/token/create/ci", json!({"policies": ["web", "ops"]}))
        .await
        .errors(
            400,
            &[r#"token policies (["default" "ops" "web"]) must be subset of the role's allowed policies (["db" "default" "web"]) or glob policies ([])"#],
        );
    v.post(
        "auth/token/roles/open",
        json!({"allowed_policies_glob": ["*"], "disallowed_policies": ["admin"]}),
    )
    .await
    .no_content();
    c.post("auth/token/create/open", json!({"policies": ["admin"]}))
        .await
        .errors(400, &["token policy \"admin\" is disallowed by this role"]);
    c.post("auth/token/create/open", json!({"policies": ["root"]}))
        .await
        .errors(400, &["root tokens may only be created by a root token"]);
    c.post("auth/token/create/nope", json!({}))
        .await
        .errors(400, &["unknown role nope"]);
    // Without the role, the creator grants only what it holds (and may not call create).
    c.post("auth/token/create", json!({"policies": ["web"]}))
        .await
        .denied();
    // A period needs sudo, from the request; from the role it does not.
    c.post("auth/token/create/ci", json!({"period": "1h"}))
        .await
        .errors(
            400,
            &["root or sudo privileges required to create periodic token"],
        );

    // What the role fixes: orphan, renewability, period, use limit, path suffix, type.
    v.post(
        "auth/token/roles/fixed",
        json!({"orphan": true, "renewable": false, "token_period": "2h",
               "token_num_uses": 5, "path_suffix": "v-1"}),
    )
    .await
    .no_content();
    let body = c
        .post(
            "auth/token/create/fixed",
            json!({"num_uses": 9, "no_parent": false}),
        )
        .await
        .ok();
    let auth = &body["auth"];
    assert_eq!(auth["orphan"], true);
    assert_eq!(auth["renewable"], false);
    assert_eq!(auth["num_uses"], 5);
    assert_eq!(auth["lease_duration"], 7200);
    // No policy rules on the role: the parent's policies (the creator's, no default).
    assert_eq!(auth["policies"], json!(["creator"]));
    let t = token_of(&body);
    let me = v
        .post("auth/token/lookup", json!({"token": t}))
        .await
        .data();
    assert_eq!(me["num_uses"], 5);
    assert_eq!(me["path"], "auth/token/create/fixed/v-1");
    assert_eq!(me["period"], 7200);
    // Revoking by prefix revokes what the role issued.
    let before = v
        .list("sys/leases/lookup/auth/token/create/fixed/v-1/")
        .await
        .data()["keys"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, 1);
    v.put(
        "sys/leases/revoke-prefix/auth/token/create/fixed",
        json!({}),
    )
    .await
    .no_content();
    v.post("auth/token/lookup", json!({"token": t}))
        .await
        .errors(403, &["bad token"]);

    // A request asking for less than the role gets the lesser value, with a warning.
    v.post(
        "auth/token/roles/capped",
        json!({"token_explicit_max_ttl": "1h", "token_period": "30m"}),
    )
    .await
    .no_content();
    let body = v
        .post(
            "auth/token/create/capped",
            json!({"explicit_max_ttl": "20m", "policies": ["web"]}),
        )
        .await
        .ok();
    assert_eq!(body["auth"]["lease_duration"], 1200);
    assert_eq!(
        body["warnings"],
        json!([
            "Explicit max TTL specified both during creation call and in role; using the lesser value of 1200 seconds",
            "period of \"30m\" exceeded the effective max_ttl of \"20m\"; period value is capped accordingly"
        ])
    );

    // A batch role issues batch tokens; a default-batch role lets the request choose.
    v.post(
        "auth/token/roles/batch",
        json!({"token_type": "batch", "orphan": true, "renewable": false,
               "allowed_policies": ["web"]}),
    )
    .await
    .no_content();
    let body = c
        .post("auth/token/create/batch", json!({"type": "service"}))
        .await
        .ok();
    assert_eq!(body["auth"]["token_type"], "batch");
    assert!(token_of(&body).starts_with("hvb."));
    let me = v
        .with_token(&token_of(&body))
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(me["role"], "batch");
    v.post(
        "auth/token/roles/either",
        json!({"token_type": "default-batch", "allowed_policies": ["web"]}),
    )
    .await
    .no_content();
    let a = c.post("auth/token/create/either", json!({})).await.ok();
    assert_eq!(a["auth"]["token_type"], "batch");
    let b = c
        .post("auth/token/create/either", json!({"type": "service"}))
        .await
        .ok();
    assert_eq!(b["auth"]["token_type"], "service");

    // Renewals follow the role as it is now; a deleted role renews nothing.
    let t = token_of(
        &c.post("auth/token/create/ci", json!({"ttl": "1h"}))
            .await
            .ok(),
    );
    v.with_token(&t)
        .post("auth/token/renew-self", json!({"increment": "2h"}))
        .await
        .ok();
    v.delete("auth/token/roles/ci").await.no_content();
    v.with_token(&t)
        .post("auth/token/renew-self", json!({}))
        .await
        .errors(
            400,
            &["original token role \"ci\" could not be found, not renewing"],
        );
}

#[tokio::test]
async fn role_names_are_authorized_in_their_one_spelling() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy(
        "admin-pol",
        r#"path "*" { capabilities = ["sudo", "read", "update"] }"#,
    )
    .await;
    v.post(
        "auth/token/roles/admin",
        json!({"allowed_policies": ["admin-pol"]}),
    )
    .await
    .no_content();
    let admin_before = v.get("auth/token/roles/admin").await.data();
    let t = limited(
        &v,
        "role-writer",
        r#"
path "auth/token/roles/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "auth/token/roles/admin" { capabilities = ["deny"] }
path "auth/token/create/*" { capabilities = ["update"] }
path "auth/token/create/admin" { capabilities = ["deny"] }
"#,
    )
    .await;
    let me = v.with_token(&t);
    let evil = json!({"allowed_policies": ["root"], "orphan": true});
    // The name the ACL denies, however it is spelled, is never reached.
    for path in [
        "auth/token/roles/admin",
        "auth/token/roles/admin/",
        "auth/token/roles/adm%69n",
        "auth/token/roles/admin%2F",
    ] {
        me.post(path, evil.clone()).await.denied();
        me.delete(path).await.denied();
        me.get(path).await.denied();
    }
    for path in ["auth/token/create/admin", "auth/token/create/admin/"] {
        me.post(path, json!({})).await.denied();
    }
    // Spellings that are no role name are refused before anything else.
    for path in [
        "auth/token/roles/%20admin",
        "auth/token/roles/admin%20",
        "auth/token/roles/admin.",
        "auth/token/roles/ADMIN%00",
        "auth/token/create/%20admin",
    ] {
        me.post(path, evil.clone()).await.some_error(400);
    }
    // Names are case-sensitive, as Vault's: `ADMIN` is another role, which the writer
    // may create; `admin` is untouched and still out of its reach.
    me.get("auth/token/roles/ADMIN").await.not_found();
    me.post(
        "auth/token/roles/ADMIN",
        json!({"allowed_policies": ["nothing"]}),
    )
    .await
    .no_content();
    me.delete("auth/token/roles/ADMIN").await.no_content();
    assert_eq!(v.get("auth/token/roles/admin").await.data(), admin_before);
    me.post("auth/token/create/ADMIN", json!({}))
        .await
        .errors(400, &["unknown role ADMIN"]);
    assert_eq!(
        me.list("auth/token/roles").await.data()["keys"],
        json!(["admin"])
    );

    // `create` and `update` are told apart by whether the role exists (Vault's
    // existence check).
    let creator_only = limited(
        &v,
        "creator-only",
        r#"path "auth/token/roles/*" { capabilities = ["create"] }"#,
    )
    .await;
    let updater_only = limited(
        &v,
        "updater-only",
        r#"path "auth/token/roles/*" { capabilities = ["update"] }"#,
    )
    .await;
    v.with_token(&creator_only)
        .post("auth/token/roles/fresh", json!({}))
        .await
        .no_content();
    v.with_token(&creator_only)
        .post("auth/token/roles/fresh", json!({"orphan": true}))
        .await
        .denied();
    v.with_token(&updater_only)
        .post("auth/token/roles/other", json!({}))
        .await
        .denied();
    v.with_token(&updater_only)
        .post("auth/token/roles/fresh", json!({"orphan": true}))
        .await
        .no_content();
    assert_eq!(v.get("auth/token/roles/fresh").await.data()["orphan"], true);
}
