//! §5 and §6.4: the mount table, enabling/disabling/tuning secret engines, the CLI's
//! preflight and the auth table.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// Every key vaultrs' `MountResponse` requires, with Vault's types.
#[track_caller]
fn assert_mount_object(path: &str, m: &Value) {
    for k in [
        "type",
        "description",
        "accessor",
        "uuid",
        "local",
        "seal_wrap",
        "external_entropy_access",
        "options",
        "config",
    ] {
        assert!(m.get(k).is_some(), "mount {path}: key {k:?} missing in {m}");
    }
    assert!(m["type"].is_string() && m["description"].is_string());
    assert!(
        is_uuid(m["uuid"].as_str().unwrap()),
        "mount {path}: uuid {}",
        m["uuid"]
    );
    let accessor = m["accessor"].as_str().unwrap();
    let kind = m["type"].as_str().unwrap();
    let suffix = accessor
        .strip_prefix(&format!("{kind}_"))
        .unwrap_or_else(|| panic!("mount {path}: accessor {accessor:?} must be <type>_<8 hex>"));
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "accessor {accessor:?}"
    );
    for k in ["local", "seal_wrap", "external_entropy_access"] {
        assert!(m[k].is_boolean(), "mount {path}: {k} must be a bool");
    }
    let c = &m["config"];
    assert!(c["default_lease_ttl"].is_u64(), "mount {path}: config {c}");
    assert!(c["max_lease_ttl"].is_u64(), "mount {path}: config {c}");
    assert!(c["force_no_cache"].is_boolean(), "mount {path}: config {c}");
}

#[tokio::test]
async fn mount_table_lists_builtins_with_vault_shapes() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let body = v.get("sys/mounts").await.ok();
    assert_injected("sys/mounts", &body);
    let data = &body["data"];
    assert_eq!(keys(data), ["cubbyhole/", "secret/", "sys/"]);
    for (path, m) in data.as_object().unwrap() {
        assert_mount_object(path, m);
        assert_eq!(
            m["config"]["default_lease_ttl"], 0,
            "{path}: 0 means system"
        );
        assert_eq!(m["config"]["max_lease_ttl"], 0, "{path}");
        assert_eq!(m["config"]["force_no_cache"], false);
    }
    let sys = &data["sys/"];
    assert_eq!(sys["type"], "system");
    assert_eq!(sys["options"], json!(null));
    assert_eq!(sys["local"], false);
    let cubby = &data["cubbyhole/"];
    assert_eq!(cubby["type"], "cubbyhole");
    assert_eq!(cubby["options"], json!(null));
    assert_eq!(cubby["local"], true);
    assert_eq!(cubby["description"], "per-token private secret storage");
    let secret = &data["secret/"];
    assert_eq!(secret["type"], "kv");
    assert_eq!(secret["options"], json!({"version": "2"}));
    assert_eq!(secret["local"], false);
    assert_eq!(secret["seal_wrap"], false);
    assert_eq!(secret["description"], "key/value secret storage");
    let uuids: std::collections::BTreeSet<&str> = data
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids.len(), 3, "uuids are distinct");

    // One mount: the same object (and top-level copy).
    let one = v.get("sys/mounts/secret").await.ok();
    assert_injected("sys/mounts/secret", &one);
    assert_eq!(one["data"]["uuid"], secret["uuid"]);
    assert_eq!(one["data"]["options"], json!({"version": "2"}));
    assert_mount_object("secret/", &one["data"]);

    // A bad or missing token gets 403; a default-policy token too.
    v.with_token("hvs.nope").get("sys/mounts").await.denied();
    v.anon().get("sys/mounts").await.denied();
    let user = v.token_with(&["default"]).await;
    v.with_token(&user).get("sys/mounts").await.denied();
}

#[tokio::test]
async fn enable_kv_versions_aliases_and_local() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable(
        "kv1",
        json!({"type": "kv", "options": {"version": "1"}, "description": "one"}),
    )
    .await;
    v.enable("kvv2", json!({"type": "kv-v2", "local": true}))
        .await;
    v.enable("kvv1", json!({"type": "kv-v1"})).await;
    v.enable("numeric", json!({"type": "kv", "options": {"version": 2}}))
        .await;
    // What `vault secrets enable -local -path=cli -version=2 kv` sends.
    v.enable(
        "cli",
        json!({"type": "kv", "description": "", "config": {"options": null, "default_lease_ttl": "",
            "max_lease_ttl": "", "force_no_cache": false}, "local": true, "seal_wrap": false,
            "external_entropy_access": false, "options": {"version": "2"}}),
    )
    .await;
    // What hvac sends: explicit nulls.
    v.enable(
        "hvac",
        json!({"type": "kv", "description": null, "config": null, "options": null,
        "plugin_name": null, "local": false, "seal_wrap": false}),
    )
    .await;
    // A nested path with a trailing slash is normalized.
    v.enable("team/a/", json!({"type": "kv-v2"})).await;

    let body = v.get("sys/mounts").await.ok();
    assert_injected("sys/mounts", &body);
    let m = &body["data"];
    for p in [
        "kv1/", "kvv2/", "kvv1/", "numeric/", "cli/", "hvac/", "team/a/",
    ] {
        assert_mount_object(p, &m[p]);
        assert_eq!(m[p]["type"], "kv", "{p}");
    }
    assert_eq!(m["kv1/"]["options"], json!({"version": "1"}));
    assert_eq!(m["kv1/"]["description"], "one");
    assert_eq!(m["kv1/"]["local"], false);
    assert_eq!(m["kvv2/"]["options"], json!({"version": "2"}));
    assert_eq!(m["kvv2/"]["local"], true);
    assert_eq!(m["kvv1/"]["options"], json!({"version": "1"}));
    assert_eq!(m["numeric/"]["options"], json!({"version": "2"}));
    assert_eq!(m["cli/"]["options"], json!({"version": "2"}));
    assert_eq!(m["cli/"]["local"], true);
    assert_eq!(m["team/a/"]["options"], json!({"version": "2"}));
    assert_eq!(v.get("sys/mounts/kvv2").await.data()["local"], true);

    // The engines behave as their version says.
    assert_eq!(v.kv2_put("kvv2/data/x", json!({"a": "1"})).await, 1);
    assert_eq!(v.kv2_put("team/a/data/x", json!({"a": "1"})).await, 1);
    v.put("kv1/x", json!({"a": "1"})).await.no_content();
    let r = v.get("kv1/x").await.ok();
    assert_eq!(r["data"], json!({"a": "1"}));
    assert_eq!(r["lease_duration"], 2764800);
    v.put("kvv1/data/x", json!({"a": "1"})).await.no_content();
    assert_eq!(v.get("kvv1/data/x").await.data(), json!({"a": "1"}));
}

#[tokio::test]
async fn enable_errors_are_400() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/mounts/secret", json!({"type": "kv"}))
        .await
        .error_containing(400, "path is already in use at secret/");
    v.post("sys/mounts/secret/sub", json!({"type": "kv"}))
        .await
        .error_containing(400, "path is already in use at");
    v.enable("deep/inner", json!({"type": "kv"})).await;
    v.post("sys/mounts/deep", json!({"type": "kv"}))
        .await
        .error_containing(400, "path is already in use at");
    for protected in ["sys", "sys/x", "cubbyhole", "auth", "identity", "audit"] {
        v.post(&format!("sys/mounts/{protected}"), json!({"type": "kv"}))
            .await
            .some_error(400);
    }
    v.post("sys/mounts/x", json!({"type": "no-such-engine"}))
        .await
        .some_error(400);
    v.post(
        "sys/mounts/x",
        json!({"type": "kv", "options": {"version": "3"}}),
    )
    .await
    .some_error(400);
    v.post("sys/mounts/x", json!({"type": "token"}))
        .await
        .some_error(400);
    v.post("sys/mounts/x", json!({"type": "cubbyhole"}))
        .await
        .some_error(400);
    v.post("sys/mounts/x", json!({}))
        .await
        .errors(400, &["backend type must be specified as a string"]);
    v.post(
        "sys/mounts/x",
        json!({"type": "kv", "config": {"default_lease_ttl": "2h", "max_lease_ttl": "1h"}}),
    )
    .await
    .some_error(400);
    v.post(
        "sys/mounts/x",
        json!({"type": "kv", "config": {"default_lease_ttl": "soon"}}),
    )
    .await
    .some_error(400);
    v.get("sys/mounts/nope").await.some_error(400);
    // None of them left a mount behind.
    assert_eq!(
        keys(&v.get("sys/mounts").await.data()),
        ["cubbyhole/", "deep/inner/", "secret/", "sys/"]
    );
    // Mounting needs sudo-free update on sys/mounts/*; a default token is denied.
    let user = v.token_with(&["default"]).await;
    v.with_token(&user)
        .post("sys/mounts/mine", json!({"type": "kv"}))
        .await
        .denied();
    v.anon()
        .post("sys/mounts/mine", json!({"type": "kv"}))
        .await
        .denied();
}

#[tokio::test]
async fn disable_removes_the_data() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("tmp", json!({"type": "kv-v2"})).await;
    let old_uuid = v.get("sys/mounts/tmp").await.data()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    v.kv2_put("tmp/data/a", json!({"s": "1"})).await;
    v.kv2_put("tmp/data/b/c", json!({"s": "2"})).await;
    let keys_before = clean_tree_keys(&srv.data_dir);
    assert!(keys_before
        .iter()
        .any(|k| k.starts_with(&format!("logical/{old_uuid}/"))));

    v.delete("sys/mounts/tmp").await.no_content();
    assert!(v.get("sys/mounts").await.data().get("tmp/").is_none());
    v.get("tmp/data/a").await.errors(
        404,
        &["no handler for route \"tmp/data/a\". route entry not found."],
    );
    let keys_after = clean_tree_keys(&srv.data_dir);
    let left: Vec<&String> = keys_after
        .iter()
        .filter(|k| k.starts_with(&format!("logical/{old_uuid}/")))
        .collect();
    assert!(
        left.is_empty(),
        "the disabled mount's data must be gone: {left:?}"
    );

    // Re-enabled at the same path: a new, empty mount.
    v.enable("tmp", json!({"type": "kv-v2"})).await;
    assert_ne!(
        v.get("sys/mounts/tmp").await.data()["uuid"],
        json!(old_uuid)
    );
    v.get("tmp/data/a").await.not_found();
    v.list("tmp/metadata/").await.not_found();
    v.get("tmp/metadata/b/c").await.not_found();

    // Disabling what is not mounted: 204; protected mounts: 400.
    v.delete("sys/mounts/never-mounted").await.no_content();
    v.delete("sys/mounts/tmp/not-a-mount").await.no_content();
    v.delete("sys/mounts/sys").await.some_error(400);
    v.delete("sys/mounts/cubbyhole").await.some_error(400);
    assert_keys_expected(&clean_tree_keys(&srv.data_dir), &v.mount_uuids().await);
}

#[tokio::test]
async fn tune_reads_effective_ttls_and_writes_them() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let t = v.get("sys/mounts/secret/tune").await.data();
    assert_eq!(t["default_lease_ttl"], 2764800);
    assert_eq!(t["max_lease_ttl"], 2764800);
    assert_eq!(t["force_no_cache"], false);
    assert_eq!(t["description"], "key/value secret storage");
    assert_eq!(t["options"], json!({"version": "2"}));

    v.post(
        "sys/mounts/secret/tune",
        json!({"default_lease_ttl": "1h", "description": "tuned"}),
    )
    .await
    .no_content();
    let t = v.get("sys/mounts/secret/tune").await.data();
    assert_eq!(t["default_lease_ttl"], 3600);
    assert_eq!(t["max_lease_ttl"], 2764800);
    assert_eq!(t["description"], "tuned");
    let m = v.get("sys/mounts").await.data();
    assert_eq!(m["secret/"]["config"]["default_lease_ttl"], 3600);
    assert_eq!(m["secret/"]["config"]["max_lease_ttl"], 0);
    assert_eq!(m["secret/"]["description"], "tuned");

    v.post("sys/mounts/secret/tune", json!({"max_lease_ttl": 7200}))
        .await
        .no_content();
    let t = v.get("sys/mounts/secret/tune").await.data();
    assert_eq!(
        (t["default_lease_ttl"].clone(), t["max_lease_ttl"].clone()),
        (json!(3600), json!(7200))
    );
    v.post(
        "sys/mounts/secret/tune",
        json!({"default_lease_ttl": "system", "max_lease_ttl": "system"}),
    )
    .await
    .no_content();
    let t = v.get("sys/mounts/secret/tune").await.data();
    assert_eq!(
        (t["default_lease_ttl"].clone(), t["max_lease_ttl"].clone()),
        (json!(2764800), json!(2764800))
    );

    // A KV v1 read reports the tuned default as its lease_duration.
    v.enable("kv", json!({"type": "kv-v1"})).await;
    v.post("sys/mounts/kv/tune", json!({"default_lease_ttl": "30m"}))
        .await
        .no_content();
    v.put("kv/k", json!({"a": "b"})).await.no_content();
    assert_eq!(v.get("kv/k").await.ok()["lease_duration"], 1800);

    v.post("sys/mounts/sys/tune", json!({"default_lease_ttl": "1h"}))
        .await
        .some_error(400);
    v.post(
        "sys/mounts/missing/tune",
        json!({"default_lease_ttl": "1h"}),
    )
    .await
    .some_error(400);
    v.get("sys/mounts/missing/tune").await.some_error(400);
    v.post(
        "sys/mounts/secret/tune",
        json!({"default_lease_ttl": "bogus"}),
    )
    .await
    .some_error(400);
    assert_eq!(
        v.get("sys/mounts/secret/tune").await.data()["default_lease_ttl"],
        2764800
    );
}

#[tokio::test]
async fn ui_mounts_preflight_answers_per_token() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for path in ["secret", "secret/", "secret/foo", "secret/data/foo/bar"] {
        let d = v
            .get(&format!("sys/internal/ui/mounts/{path}"))
            .await
            .data();
        assert_eq!(d["type"], "kv", "{path}");
        assert_eq!(d["options"]["version"], "2", "{path}");
        assert_eq!(d["path"], "secret/", "{path}");
        assert_mount_object(path, &d);
    }
    v.enable("old", json!({"type": "kv-v1"})).await;
    let d = v.get("sys/internal/ui/mounts/old/x").await.data();
    assert_eq!(d["path"], "old/");
    assert_eq!(d["options"]["version"], "1");

    // A bad or missing token: 403 (the CLI aborts on it).
    v.with_token("hvs.bad")
        .get("sys/internal/ui/mounts/secret")
        .await
        .some_error(403);
    v.anon()
        .get("sys/internal/ui/mounts/secret")
        .await
        .some_error(403);
    // No such mount: 403, not 404 (no enumeration), even for root.
    v.get("sys/internal/ui/mounts/nope/x").await.some_error(403);

    // A token with access somewhere under the mount gets the answer; others get 403.
    v.put_policy(
        "foo-reader",
        r#"path "secret/data/foo" { capabilities = ["read"] }"#,
    )
    .await;
    let reader = v.token_with(&["foo-reader"]).await;
    let d = v
        .with_token(&reader)
        .get("sys/internal/ui/mounts/secret/foo")
        .await
        .data();
    assert_eq!(d["path"], "secret/");
    assert_eq!(d["options"]["version"], "2");
    v.with_token(&reader)
        .get("sys/internal/ui/mounts/old/x")
        .await
        .some_error(403);
    let plain = v.token_with(&["default"]).await;
    v.with_token(&plain)
        .get("sys/internal/ui/mounts/secret/foo")
        .await
        .some_error(403);
}

#[tokio::test]
async fn auth_table_lists_the_token_method() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let body = v.get("sys/auth").await.ok();
    assert_injected("sys/auth", &body);
    let data = &body["data"];
    assert_eq!(keys(data), ["token/"]);
    let t = &data["token/"];
    assert_eq!(t["type"], "token");
    assert_eq!(t["description"], "token based credentials");
    assert_eq!(t["config"]["token_type"], "default-service");
    assert_eq!(t["options"], json!(null));
    for k in ["uuid", "local", "seal_wrap", "external_entropy_access"] {
        assert!(t.get(k).is_some(), "auth mount key {k} missing");
    }
    assert!(is_uuid(t["uuid"].as_str().unwrap()));
    let acc = t["accessor"].as_str().unwrap();
    let suffix = acc
        .strip_prefix("auth_token_")
        .expect("accessor auth_token_<hex>");
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{acc}"
    );
    assert_eq!(
        v.get("sys/auth/token/tune").await.data()["token_type"],
        "default-service"
    );

    // A token with read (and sudo) on sys/auth lists it; a default token cannot.
    v.put_policy(
        "auth-sudo",
        r#"path "sys/auth" { capabilities = ["read", "sudo"] }"#,
    )
    .await;
    let t = v.token_with(&["auth-sudo"]).await;
    assert!(v
        .with_token(&t)
        .get("sys/auth")
        .await
        .data()
        .get("token/")
        .is_some());
    v.anon().get("sys/auth").await.denied();
    let plain = v.token_with(&["default"]).await;
    v.with_token(&plain).get("sys/auth").await.denied();
}
