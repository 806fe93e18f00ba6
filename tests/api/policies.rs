//! §9: policy CRUD (current and legacy endpoints), ACL enforcement, create vs update,
//! capabilities, and the name `root`.

use serde_json::json;

use super::common::*;
use crate::harness::TestServer;

const READER: &str = r#"path "secret/data/app/*" {
  capabilities = ["read", "list"]
}
"#;

#[tokio::test]
async fn policy_crud_current_and_legacy_endpoints() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put("sys/policies/acl/reader", json!({"policy": READER}))
        .await
        .no_content();
    let d = v.get("sys/policies/acl/reader").await.data();
    assert_eq!(d["name"], "reader");
    assert_eq!(d["policy"], READER);

    // Base64 form: stored and returned as the decoded text.
    v.put(
        "sys/policies/acl/encoded",
        json!({"policy": b64(READER.as_bytes())}),
    )
    .await
    .no_content();
    assert_eq!(
        v.get("sys/policies/acl/encoded").await.data()["policy"],
        READER
    );
    // Names are lower-cased.
    v.post("sys/policies/acl/MixedCase", json!({"policy": READER}))
        .await
        .no_content();
    assert_eq!(
        v.get("sys/policies/acl/mixedcase").await.data()["name"],
        "mixedcase"
    );
    assert_eq!(
        v.get("sys/policies/acl/MIXEDCASE").await.data()["name"],
        "mixedcase"
    );

    let list = v.list("sys/policies/acl").await.data();
    let names: Vec<&str> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    for n in ["default", "root", "reader", "encoded", "mixedcase"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(!names.contains(&"response-wrapping"), "{names:?}");
    assert_eq!(v.get("sys/policies/acl?list=true").await.data(), list);

    // The default policy is readable and grants lookup-self.
    let def = v.get("sys/policies/acl/default").await.data()["policy"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(def.contains("auth/token/lookup-self"));

    // Errors.
    v.put(
        "sys/policies/acl/bad",
        json!({"policy": "path \"x\" { capabilities = [\"fly\"] }"}),
    )
    .await
    .error_containing(400, "failed to parse policy");
    v.put(
        "sys/policies/acl/bad",
        json!({"policy": "this is { not hcl"}),
    )
    .await
    .error_containing(400, "failed to parse policy");
    v.put("sys/policies/acl/bad", json!({}))
        .await
        .some_error(400);
    v.get("sys/policies/acl/bad").await.not_found();
    v.put("sys/policies/acl/root", json!({"policy": READER}))
        .await
        .errors(400, &["cannot update \"root\" policy"]);
    v.delete("sys/policies/acl/root")
        .await
        .errors(400, &["cannot delete \"root\" policy"]);
    v.delete("sys/policies/acl/default")
        .await
        .errors(400, &["cannot delete default policy"]);

    // Legacy sys/policy: list with `policies` and `keys`, read with `rules`, both injected.
    let body = v.get("sys/policy").await.ok();
    assert_injected("sys/policy", &body);
    assert_eq!(body["data"]["policies"], body["data"]["keys"]);
    assert!(body["policies"]
        .as_array()
        .unwrap()
        .contains(&json!("reader")));
    let body = v.get("sys/policy/reader").await.ok();
    assert_injected("sys/policy/reader", &body);
    assert_eq!(body["data"]["name"], "reader");
    assert_eq!(body["data"]["rules"], READER);
    assert_eq!(body["rules"], READER);
    v.put("sys/policy/legacy", json!({"rules": READER}))
        .await
        .no_content();
    assert_eq!(
        v.get("sys/policies/acl/legacy").await.data()["policy"],
        READER
    );
    v.put("sys/policy/legacy2", json!({"policy": READER}))
        .await
        .no_content();
    assert_eq!(v.get("sys/policy/legacy2").await.data()["rules"], READER);
    v.get("sys/policy/missing").await.not_found();
    v.delete("sys/policy/legacy2").await.no_content();
    v.get("sys/policy/legacy2").await.not_found();

    // Delete.
    v.delete("sys/policies/acl/reader").await.no_content();
    v.get("sys/policies/acl/reader").await.not_found();
    v.delete("sys/policies/acl/reader").await.no_content();

    // Policy management needs permission.
    let user = v.token_with(&["default"]).await;
    v.with_token(&user)
        .put("sys/policies/acl/mine", json!({"policy": READER}))
        .await
        .denied();
    v.with_token(&user).list("sys/policies/acl").await.denied();
}

#[tokio::test]
async fn acl_allows_denies_and_deny_wins() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for p in [
        "app/x",
        "app/private",
        "app/private2",
        "app/team/blocked",
        "app/team/ok",
        "other",
        "shared/s",
    ] {
        v.kv2_put(&format!("secret/data/{p}"), json!({"p": p}))
            .await;
    }
    v.put_policy(
        "app",
        r#"
path "secret/data/app/*" { capabilities = ["read"] }
path "secret/data/app/private" { capabilities = ["deny"] }
path "secret/data/app/priv*" { capabilities = ["deny"] }
path "secret/data/app/+/blocked" { capabilities = ["deny"] }
path "secret/metadata/app/*" { capabilities = ["list"] }
path "secret/data/shared/*" { capabilities = ["read", "update"] }
"#,
    )
    .await;
    v.put_policy(
        "deny-shared",
        r#"path "secret/data/shared/*" { capabilities = ["deny"] }"#,
    )
    .await;

    let t = v.with_token(&v.token_with(&["app"]).await);
    assert_eq!(
        t.get("secret/data/app/x").await.data()["data"],
        json!({"p": "app/x"})
    );
    assert_eq!(
        t.get("secret/data/app/team/ok").await.data()["data"],
        json!({"p": "app/team/ok"})
    );
    t.get("secret/data/app/private").await.denied();
    t.get("secret/data/app/private2").await.denied();
    t.get("secret/data/app/team/blocked").await.denied();
    t.get("secret/data/other").await.denied();
    t.post("secret/data/app/x", json!({"data": {"p": "changed"}}))
        .await
        .denied();
    t.delete("secret/data/app/x").await.denied();
    assert_eq!(
        t.list("secret/metadata/app/").await.data()["keys"],
        json!(["private", "private2", "team/", "x"])
    );
    t.list("secret/metadata/").await.denied();
    t.get("sys/mounts").await.denied();
    t.get("sys/policies/acl/app").await.denied();
    assert_eq!(
        t.get("secret/data/shared/s").await.data()["data"]["p"],
        "shared/s"
    );

    // The same glob in two policies: deny in either wins over the other's grants.
    let both = v.with_token(&v.token_with(&["app", "deny-shared"]).await);
    both.get("secret/data/shared/s").await.denied();
    both.post("secret/data/shared/s", json!({"data": {"p": "x"}}))
        .await
        .denied();
    assert_eq!(
        both.get("secret/data/app/x").await.data()["data"]["p"],
        "app/x"
    );

    // The data is unchanged by the denied attempts.
    assert_eq!(
        v.get("secret/data/app/x").await.data()["data"],
        json!({"p": "app/x"})
    );
    assert_eq!(
        v.get("secret/data/shared/s").await.data()["data"],
        json!({"p": "shared/s"})
    );
}

#[tokio::test]
async fn create_and_update_are_distinct_capabilities() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("kv", json!({"type": "kv-v1"})).await;
    v.put("kv/existing", json!({"v": "0"})).await.no_content();
    v.put_policy(
        "upd",
        r#"path "kv/*" { capabilities = ["update", "read"] }"#,
    )
    .await;
    v.put_policy(
        "crt",
        r#"path "kv/*" { capabilities = ["create", "read"] }"#,
    )
    .await;

    let upd = v.with_token(&v.token_with(&["upd"]).await);
    upd.put("kv/existing", json!({"v": "1"})).await.no_content();
    assert_eq!(v.get("kv/existing").await.data(), json!({"v": "1"}));
    upd.put("kv/new", json!({"v": "1"})).await.denied();
    upd.post("kv/new", json!({"v": "1"})).await.denied();
    upd.get("kv/new").await.not_found();

    let crt = v.with_token(&v.token_with(&["crt"]).await);
    crt.put("kv/brand-new", json!({"v": "1"}))
        .await
        .no_content();
    assert_eq!(v.get("kv/brand-new").await.data(), json!({"v": "1"}));
    crt.put("kv/existing", json!({"v": "2"})).await.denied();
    crt.put("kv/brand-new", json!({"v": "2"})).await.denied();
    assert_eq!(v.get("kv/existing").await.data(), json!({"v": "1"}));

    // The same on KV v2: create for the first version, update afterwards.
    v.put_policy(
        "v2upd",
        r#"path "secret/data/*" { capabilities = ["update"] }"#,
    )
    .await;
    let v2 = v.with_token(&v.token_with(&["v2upd"]).await);
    v2.post("secret/data/fresh", json!({"data": {"a": "1"}}))
        .await
        .denied();
    v.kv2_put("secret/data/fresh", json!({"a": "0"})).await;
    assert_eq!(
        v2.post("secret/data/fresh", json!({"data": {"a": "1"}}))
            .await
            .data()["version"],
        2
    );

    // In a cubbyhole the existence check looks in the caller's own cubbyhole: a token that
    // may only create can write a key once, not overwrite it.
    v.put_policy(
        "cubby-create",
        r#"path "cubbyhole/*" { capabilities = ["create", "read"] }"#,
    )
    .await;
    let (token, _, _) = v
        .create_token(json!({"policies": ["cubby-create"], "no_default_policy": true}))
        .await;
    let cubby = v.with_token(&token);
    cubby
        .put("cubbyhole/note", json!({"v": "1"}))
        .await
        .no_content();
    cubby
        .put("cubbyhole/note", json!({"v": "2"}))
        .await
        .denied();
    assert_eq!(cubby.get("cubbyhole/note").await.data(), json!({"v": "1"}));
}

#[tokio::test]
async fn capabilities_self_and_capabilities() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy(
        "caps",
        r#"
path "secret/data/app/*" { capabilities = ["update", "read", "create"] }
path "secret/data/app/locked" { capabilities = ["deny"] }
path "sys/mounts" { capabilities = ["read", "sudo"] }
"#,
    )
    .await;
    let tok = v.token_with(&["caps"]).await;
    let t = v.with_token(&tok);

    let body = t
        .post(
            "sys/capabilities-self",
            json!({"paths": ["secret/data/app/x"]}),
        )
        .await
        .ok();
    assert_injected("capabilities-self", &body);
    assert_eq!(
        body["data"],
        json!({"capabilities": ["create", "read", "update"], "secret/data/app/x": ["create", "read", "update"]})
    );

    let body = t
        .post(
            "sys/capabilities-self",
            json!({"paths": ["secret/data/app/x", "secret/data/app/locked", "secret/data/other", "sys/mounts"]}),
        )
        .await
        .ok();
    assert_injected("capabilities-self", &body);
    assert_eq!(
        body["data"],
        json!({
            "secret/data/app/x": ["create", "read", "update"],
            "secret/data/app/locked": ["deny"],
            "secret/data/other": ["deny"],
            "sys/mounts": ["read", "sudo"],
        })
    );
    // Legacy single `path`.
    let d = t
        .post("sys/capabilities-self", json!({"path": "sys/mounts"}))
        .await
        .data();
    assert_eq!(
        d,
        json!({"capabilities": ["read", "sudo"], "sys/mounts": ["read", "sudo"]})
    );
    t.post("sys/capabilities-self", json!({}))
        .await
        .errors(400, &["paths must be supplied"]);

    // Root: ["root"].
    let d = v
        .post(
            "sys/capabilities-self",
            json!({"paths": ["anything/at/all"]}),
        )
        .await
        .data();
    assert_eq!(
        d,
        json!({"capabilities": ["root"], "anything/at/all": ["root"]})
    );

    // sys/capabilities for another token.
    let body = v
        .post(
            "sys/capabilities",
            json!({"token": tok, "paths": ["secret/data/app/y"]}),
        )
        .await
        .ok();
    assert_injected("capabilities", &body);
    assert_eq!(
        body["data"]["capabilities"],
        json!(["create", "read", "update"])
    );
    v.post(
        "sys/capabilities",
        json!({"token": "hvs.nope", "paths": ["x"]}),
    )
    .await
    .errors(400, &["invalid token"]);
    // A default-policy token cannot ask about other tokens.
    t.post("sys/capabilities", json!({"token": tok, "paths": ["x"]}))
        .await
        .denied();
}

/// No policy grants root by its name (HCSEC-2025-13 hardening): the name `ROOT` cannot be
/// written, and assigning it to a new token does not make a root token.
#[tokio::test]
async fn a_policy_named_root_in_any_case_grants_nothing() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let everything = r#"path "secret/*" { capabilities = ["read"] }"#;
    for name in ["ROOT", "Root", "root"] {
        v.put(
            &format!("sys/policies/acl/{name}"),
            json!({"policy": everything}),
        )
        .await
        .errors(400, &["cannot update \"root\" policy"]);
    }
    for policies in [
        json!(["ROOT"]),
        json!([" Root "]),
        json!(["ROOT", "default"]),
    ] {
        let r = v
            .post("auth/token/create", json!({"policies": policies}))
            .await;
        if r.status == 400 {
            r.some_error(400);
            continue;
        }
        let auth = r.ok()["auth"].clone();
        let t = v.with_token(auth["client_token"].as_str().unwrap());
        t.get("sys/mounts").await.denied();
        t.post("sys/mounts/evil", json!({"type": "kv"}))
            .await
            .denied();
        t.put("sys/policies/acl/evil", json!({"policy": everything}))
            .await
            .denied();
        let caps = t
            .post("sys/capabilities-self", json!({"paths": ["sys/mounts"]}))
            .await
            .data();
        assert_eq!(caps["capabilities"], json!(["deny"]), "{policies}: {caps}");
    }
}

#[tokio::test]
async fn parameter_and_wrapping_constraints_are_enforced() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("kv", json!({"type": "kv-v1"})).await;
    v.put_policy(
        "params",
        r#"
path "kv/denied" {
  capabilities = ["create", "update"]
  denied_parameters = { "password" = [] }
}
path "kv/allowed" {
  capabilities = ["create", "update"]
  allowed_parameters = { "user" = [], "env" = ["dev", "test"] }
}
path "kv/required" {
  capabilities = ["create", "update"]
  required_parameters = ["owner"]
}
path "kv/wrapped" {
  capabilities = ["read"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "10m"
}
"#,
    )
    .await;
    v.put("kv/wrapped", json!({"s": "1"})).await.no_content();
    let t = v.with_token(&v.token_with(&["params"]).await);

    t.put("kv/denied", json!({"user": "a"})).await.no_content();
    t.put("kv/denied", json!({"password": "x"})).await.denied();
    t.put("kv/denied", json!({"user": "b", "password": "x"}))
        .await
        .denied();
    assert_eq!(v.get("kv/denied").await.data(), json!({"user": "a"}));

    t.put("kv/allowed", json!({"user": "a"})).await.no_content();
    t.put("kv/allowed", json!({"user": "a", "env": "dev"}))
        .await
        .no_content();
    t.put("kv/allowed", json!({"env": "prod"})).await.denied();
    t.put("kv/allowed", json!({"user": "a", "other": "x"}))
        .await
        .denied();
    assert_eq!(
        v.get("kv/allowed").await.data(),
        json!({"user": "a", "env": "dev"})
    );

    t.put("kv/required", json!({"owner": "me", "x": "1"}))
        .await
        .no_content();
    t.put("kv/required", json!({"x": "2"})).await.denied();
    assert_eq!(
        v.get("kv/required").await.data(),
        json!({"owner": "me", "x": "1"})
    );

    // Reads of kv/wrapped must be wrapped with a TTL within [1m, 10m].
    t.get("kv/wrapped").await.denied();
    t.wrapped("GET", "kv/wrapped", "30s", None).await.denied();
    t.wrapped("GET", "kv/wrapped", "20m", None).await.denied();
    let r = t
        .wrapped("GET", "kv/wrapped", "5m", None)
        .await
        .json_at(200);
    assert_eq!(r["wrap_info"]["ttl"], 300);
    let body = v
        .with_token(r["wrap_info"]["token"].as_str().unwrap())
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .ok();
    assert_eq!(body["data"], json!({"s": "1"}));
}
