//! AppRole's per-field role paths (`auth/approle/role/:name/<field>`), as Vault's
//! `path_role.go` has them: read, set and reset one setting, each under an ACL that
//! grants that path and nothing else.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// One per-field path: the field a write takes, a value, the key a read answers, what it
/// answers after the write, and after a delete (the default).
struct Case {
    path: &'static str,
    field: &'static str,
    value: Value,
    key: &'static str,
    set: Value,
    default: Value,
}

fn cases() -> Vec<Case> {
    let case = |path, field, value: Value, key, set: Value, default: Value| Case {
        path,
        field,
        value,
        key,
        set,
        default,
    };
    vec![
        case(
            "policies",
            "token_policies",
            json!("b, A"),
            "token_policies",
            json!(["a", "b"]),
            json!([]),
        ),
        case(
            "secret-id-num-uses",
            "secret_id_num_uses",
            json!(7),
            "secret_id_num_uses",
            json!(7),
            json!(0),
        ),
        case(
            "secret-id-ttl",
            "secret_id_ttl",
            json!("10m"),
            "secret_id_ttl",
            json!(600),
            json!(0),
        ),
        case(
            "token-ttl",
            "token_ttl",
            json!("20m"),
            "token_ttl",
            json!(1200),
            json!(0),
        ),
        case(
            "token-max-ttl",
            "token_max_ttl",
            json!(7200),
            "token_max_ttl",
            json!(7200),
            json!(0),
        ),
        case(
            "token-num-uses",
            "token_num_uses",
            json!(3),
            "token_num_uses",
            json!(3),
            json!(0),
        ),
        case(
            "token-bound-cidrs",
            "token_bound_cidrs",
            json!([]),
            "token_bound_cidrs",
            json!([]),
            json!([]),
        ),
        case(
            "secret-id-bound-cidrs",
            "secret_id_bound_cidrs",
            json!("10.0.0.0/8,192.168.1.1"),
            "secret_id_bound_cidrs",
            json!(["10.0.0.0/8", "192.168.1.1"]),
            json!([]),
        ),
        case(
            "bound-cidr-list",
            "bound_cidr_list",
            json!(["10.1.0.0/16"]),
            "bound_cidr_list",
            json!(["10.1.0.0/16"]),
            json!([]),
        ),
        case(
            "bind-secret-id",
            "bind_secret_id",
            json!(false),
            "bind_secret_id",
            json!(false),
            json!(true),
        ),
        case(
            "period",
            "token_period",
            json!("1h"),
            "token_period",
            json!(3600),
            json!(0),
        ),
    ]
}

/// A fresh role `r` with every field at its default, and a token whose policy grants
/// read, update and delete on `role/r/<path>` only.
async fn role_and_limited_token(v: &V, path: &str) -> V {
    v.delete("auth/approle/role/r").await.no_content();
    v.post("auth/approle/role/r", json!({})).await.no_content();
    let policy = format!("field-{path}");
    v.put_policy(
        &policy,
        &format!(
            r#"path "auth/approle/role/r/{path}" {{ capabilities = ["read", "update", "delete"] }}"#
        ),
    )
    .await;
    v.with_token(&v.token_with(&[&policy]).await)
}

#[tokio::test]
async fn each_field_reads_sets_and_resets_under_its_own_acl() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/approle", json!({"type": "approle"}))
        .await
        .no_content();
    for c in cases() {
        let at = format!("auth/approle/role/r/{}", c.path);
        let limited = role_and_limited_token(&v, c.path).await;
        if c.path == "bind-secret-id" {
            // A role must keep a constraint: bind_secret_id may go once a CIDR list binds it.
            v.post(
                "auth/approle/role/r/secret-id-bound-cidrs",
                json!({"secret_id_bound_cidrs": "127.0.0.1/32"}),
            )
            .await
            .no_content();
        }
        let r = limited.get(&at).await;
        assert_eq!(keys(&r.data()), [c.key], "{}", c.path);
        assert_eq!(r.data()[c.key], c.default, "{}: before", c.path);

        limited
            .post(&at, json!({ c.field: c.value }))
            .await
            .no_content();
        assert_eq!(limited.get(&at).await.data()[c.key], c.set, "{}", c.path);
        // The whole role agrees (bound_cidr_list is the old name of secret_id_bound_cidrs).
        let role = v.get("auth/approle/role/r").await.data();
        let full_key = if c.key == "bound_cidr_list" {
            "secret_id_bound_cidrs"
        } else {
            c.key
        };
        assert_eq!(role[full_key], c.set, "{}: role read {role}", c.path);

        // The token reaches this path and nothing else of the role.
        limited.get("auth/approle/role/r").await.denied();
        limited
            .post("auth/approle/role/r", json!({"token_ttl": 1}))
            .await
            .denied();
        limited.delete("auth/approle/role/r").await.denied();
        limited.get("auth/approle/role/r/role-id").await.denied();
        let sibling = if c.path == "token-ttl" {
            "auth/approle/role/r/token-max-ttl"
        } else {
            "auth/approle/role/r/token-ttl"
        };
        limited.get(sibling).await.denied();
        limited
            .post(sibling, json!({"token_ttl": 1}))
            .await
            .denied();
        limited
            .get(&format!("auth/approle/role/other/{}", c.path))
            .await
            .denied();

        // Delete puts the default back.
        limited.delete(&at).await.no_content();
        assert_eq!(
            limited.get(&at).await.data()[c.key],
            c.default,
            "{}: after delete",
            c.path
        );

        // A missing role: read 404, write 404, delete 204 (as Vault).
        let nope = format!("auth/approle/role/nope/{}", c.path);
        v.get(&nope).await.not_found();
        v.post(&nope, json!({ c.field: c.value }))
            .await
            .some_error(404);
        v.delete(&nope).await.no_content();
        v.get("auth/approle/role/nope").await.not_found();
    }
}

#[tokio::test]
async fn field_writes_are_checked_as_vault_checks_them() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/approle", json!({"type": "approle"}))
        .await
        .no_content();
    v.post(
        "auth/approle/role/r",
        json!({"token_ttl": "1h", "token_max_ttl": "2h"}),
    )
    .await
    .no_content();
    let before = v.get("auth/approle/role/r").await.data();
    let at = |p: &str| format!("auth/approle/role/r/{p}");

    // The field is required.
    for (path, missing) in [
        ("policies", "missing token_policies"),
        ("secret-id-num-uses", "missing secret_id_num_uses"),
        ("secret-id-ttl", "missing secret_id_ttl"),
        ("token-ttl", "missing token_ttl"),
        ("token-max-ttl", "missing token_max_ttl"),
        ("token-num-uses", "missing token_num_uses"),
        ("bind-secret-id", "missing bind_secret_id"),
        ("period", "missing period"),
    ] {
        v.post(&at(path), json!({})).await.errors(400, &[missing]);
    }
    // Vault's checks, each with its message.
    for (path, body, message) in [
        (
            "token-ttl",
            json!({"token_ttl": "3h"}),
            "token_ttl should not be greater than token_max_ttl",
        ),
        (
            "token-max-ttl",
            json!({"token_max_ttl": "30m"}),
            "token_max_ttl should be greater than or equal to token_ttl",
        ),
        (
            "secret-id-num-uses",
            json!({"secret_id_num_uses": -1}),
            "secret_id_num_uses cannot be negative",
        ),
        (
            "secret-id-bound-cidrs",
            json!({"secret_id_bound_cidrs": []}),
            "missing bound_cidr_list",
        ),
        (
            "period",
            json!({"token_period": "769h"}),
            "period of \"769h0m0s\" is greater than the backend's maximum lease TTL of \"768h0m0s\"",
        ),
        // A role keeps a constraint: no secret id and no CIDR list would let anyone
        // holding the role id log in.
        (
            "bind-secret-id",
            json!({"bind_secret_id": false}),
            "at least one constraint should be enabled on the role",
        ),
    ] {
        v.post(&at(path), body).await.errors(400, &[message]);
    }
    for (path, body) in [
        (
            "secret-id-bound-cidrs",
            json!({"secret_id_bound_cidrs": "10.0.0.300/8"}),
        ),
        (
            "token-bound-cidrs",
            json!({"token_bound_cidrs": "10.0.0.0/8"}),
        ),
        ("token-num-uses", json!({"token_num_uses": -2})),
        ("secret-id-ttl", json!({"secret_id_ttl": "soon"})),
        ("bind-secret-id", json!({"bind_secret_id": "maybe"})),
    ] {
        v.post(&at(path), body).await.some_error(400);
    }
    // None of that changed the role.
    assert_eq!(v.get("auth/approle/role/r").await.data(), before);

    // Legacy spellings: `policies` is echoed back once it set them; `period` sets
    // token_period; bound-cidr-list reads warn that the name is deprecated.
    v.post(&at("policies"), json!({"policies": ["p1"]}))
        .await
        .no_content();
    assert_eq!(
        v.get(&at("policies")).await.data(),
        json!({"policies": ["p1"], "token_policies": ["p1"]})
    );
    v.post(&at("policies"), json!({"token_policies": ["p2"]}))
        .await
        .no_content();
    assert_eq!(
        v.get(&at("policies")).await.data(),
        json!({"token_policies": ["p2"]})
    );
    v.post(&at("period"), json!({"period": 600}))
        .await
        .no_content();
    assert_eq!(
        v.get(&at("period")).await.data(),
        json!({"token_period": 600})
    );
    let r = v.get(&at("bound-cidr-list")).await.ok();
    assert_eq!(
        r["warnings"],
        json!([
            "The \"bound_cidr_list\" field is deprecated and will be removed. Please use \
             \"secret_id_bound_cidrs\" instead."
        ])
    );
    // An absent CIDR list changes nothing (Vault's update of these paths).
    v.post(&at("secret-id-bound-cidrs"), json!({}))
        .await
        .no_content();
    // Names are case-insensitive, as the role's.
    v.post("auth/approle/role/R/token-ttl", json!({"token_ttl": 90}))
        .await
        .no_content();
    assert_eq!(v.get(&at("token-ttl")).await.data()["token_ttl"], 90);

    // What the paths set is what logins get.
    v.delete(&at("period")).await.no_content();
    v.post(&at("token-ttl"), json!({"token_ttl": "25m"}))
        .await
        .no_content();
    v.post(&at("policies"), json!({"token_policies": "web"}))
        .await
        .no_content();
    let role_id = v.get(&at("role-id")).await.data()["role_id"].clone();
    let secret_id = v.post(&at("secret-id"), json!({})).await.data()["secret_id"].clone();
    let auth = v
        .anon()
        .post(
            "auth/approle/login",
            json!({"role_id": role_id, "secret_id": secret_id}),
        )
        .await
        .ok()["auth"]
        .clone();
    assert_eq!(auth["lease_duration"], 1500);
    assert_eq!(auth["policies"], json!(["default", "web"]));
}
