//! §6: KV v2 and v1 over HTTP, empty lists, and per-token cubbyholes.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

const VERSION_KEYS: &[&str] = &[
    "created_time",
    "custom_metadata",
    "deletion_time",
    "destroyed",
    "version",
];

#[track_caller]
fn assert_version_meta(m: &Value, version: u64, deleted: bool, destroyed: bool) {
    assert_eq!(keys(m), sorted(VERSION_KEYS), "version metadata {m}");
    assert_eq!(m["version"], version, "{m}");
    assert_eq!(m["destroyed"], destroyed, "{m}");
    assert!(is_rfc3339(m["created_time"].as_str().unwrap()), "{m}");
    let dt = m["deletion_time"].as_str().unwrap();
    if deleted {
        assert!(is_rfc3339(dt), "deletion_time must be set: {m}");
    } else {
        assert_eq!(dt, "", "{m}");
    }
}

/// A 404 whose body is the full envelope with `data.data` null and the version metadata.
#[track_caller]
fn assert_404_with_metadata(r: &Resp, version: u64, deleted: bool, destroyed: bool) {
    let body = r.json_at(404);
    assert_envelope(&r.what, &body);
    assert_eq!(keys(&body), sorted(ENVELOPE), "{}: {body}", r.what);
    assert_eq!(keys(&body["data"]), ["data", "metadata"], "{body}");
    assert_eq!(body["data"]["data"], json!(null), "{body}");
    assert_version_meta(&body["data"]["metadata"], version, deleted, destroyed);
}

#[tokio::test]
async fn kv2_write_read_versions() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let w = v
        .post(
            "secret/data/app",
            json!({"data": {"v": "1"}, "options": {}}),
        )
        .await
        .ok_exact();
    assert_eq!(w["lease_duration"], 0);
    assert_version_meta(&w["data"], 1, false, false);
    assert_eq!(w["data"]["custom_metadata"], json!(null));
    let w = v
        .put(
            "secret/data/app",
            json!({"data": {"v": "2", "n": {"deep": [1, 2]}}}),
        )
        .await
        .ok_exact();
    assert_version_meta(&w["data"], 2, false, false);

    let r = v.get("secret/data/app").await.ok_exact();
    assert_eq!(r["lease_duration"], 0);
    assert_eq!(keys(&r["data"]), ["data", "metadata"]);
    assert_eq!(r["data"]["data"], json!({"v": "2", "n": {"deep": [1, 2]}}));
    assert_version_meta(&r["data"]["metadata"], 2, false, false);
    assert_eq!(
        r["data"]["metadata"]["created_time"],
        w["data"]["created_time"]
    );

    let r = v.get("secret/data/app?version=1").await.data();
    assert_eq!(r["data"], json!({"v": "1"}));
    assert_eq!(r["metadata"]["version"], 1);
    assert_eq!(
        v.get("secret/data/app?version=2").await.data()["data"]["v"],
        "2"
    );
    v.get("secret/data/app?version=9").await.not_found();
    v.get("secret/data/missing").await.not_found();
    v.get("secret/data/missing?version=1").await.not_found();
    v.get("secret/data/app?version=abc").await.some_error(400);

    let m = v.get("secret/metadata/app").await.data();
    for k in [
        "cas_required",
        "created_time",
        "current_version",
        "custom_metadata",
        "delete_version_after",
        "max_versions",
        "oldest_version",
        "updated_time",
        "versions",
    ] {
        assert!(m.get(k).is_some(), "metadata key {k} missing: {m}");
    }
    assert_eq!(m["current_version"], 2);
    assert_eq!(m["oldest_version"], 0);
    assert_eq!(m["max_versions"], 0);
    assert_eq!(m["cas_required"], false);
    assert_eq!(m["delete_version_after"], "0s");
    assert_eq!(m["custom_metadata"], json!(null));
    assert_eq!(keys(&m["versions"]), ["1", "2"]);
    for n in ["1", "2"] {
        assert_eq!(
            keys(&m["versions"][n]),
            ["created_time", "deletion_time", "destroyed"]
        );
    }
    v.get("secret/metadata/missing").await.not_found();

    // No data: 400.
    v.post("secret/data/app", json!({"nope": 1}))
        .await
        .errors(400, &["no data provided"]);
}

#[tokio::test]
async fn kv2_soft_delete_undelete_destroy() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/s", json!({"v": "1"})).await;
    v.kv2_put("secret/data/s", json!({"v": "2"})).await;

    // Soft delete of the latest version: 404 with the envelope and metadata.
    v.delete("secret/data/s").await.no_content();
    assert_404_with_metadata(&v.get("secret/data/s").await, 2, true, false);
    assert_404_with_metadata(&v.get("secret/data/s?version=2").await, 2, true, false);
    assert_eq!(
        v.get("secret/data/s?version=1").await.data()["data"],
        json!({"v": "1"})
    );
    let m = v.get("secret/metadata/s").await.data();
    assert!(is_rfc3339(
        m["versions"]["2"]["deletion_time"].as_str().unwrap()
    ));
    assert_eq!(m["versions"]["1"]["deletion_time"], "");
    // Deleting again is a no-op.
    v.delete("secret/data/s").await.no_content();

    // Undelete brings it back.
    v.post("secret/undelete/s", json!({"versions": [2]}))
        .await
        .no_content();
    let r = v.get("secret/data/s").await.data();
    assert_eq!(r["data"], json!({"v": "2"}));
    assert_eq!(r["metadata"]["deletion_time"], "");

    // delete/<path> with versions.
    v.post("secret/delete/s", json!({"versions": [1]}))
        .await
        .no_content();
    assert_404_with_metadata(&v.get("secret/data/s?version=1").await, 1, true, false);
    v.post("secret/delete/s", json!({})).await.some_error(400);

    // Destroy is permanent: 404 with destroyed=true, undelete cannot help.
    v.put("secret/destroy/s", json!({"versions": [1]}))
        .await
        .no_content();
    assert_404_with_metadata(&v.get("secret/data/s?version=1").await, 1, true, true);
    v.post("secret/undelete/s", json!({"versions": [1]}))
        .await
        .no_content();
    assert_404_with_metadata(&v.get("secret/data/s?version=1").await, 1, true, true);
    let m = v.get("secret/metadata/s").await.data();
    assert_eq!(m["versions"]["1"]["destroyed"], true);
    assert_eq!(m["versions"]["2"]["destroyed"], false);
    v.post("secret/destroy/s", json!({})).await.some_error(400);

    // A new write after all that is version 3.
    assert_eq!(v.kv2_put("secret/data/s", json!({"v": "3"})).await, 3);

    // Deleting the metadata removes every version.
    v.delete("secret/metadata/s").await.no_content();
    v.get("secret/data/s").await.not_found();
    v.get("secret/data/s?version=3").await.not_found();
    v.get("secret/metadata/s").await.not_found();
}

#[tokio::test]
async fn kv2_list_cas_patch_and_wrong_shape() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for p in ["dir/a", "dir/b", "dir/sub/c", "top"] {
        v.kv2_put(&format!("secret/data/{p}"), json!({"k": p}))
            .await;
    }
    let expect_keys = |r: Resp, k: Value| {
        let body = r.ok_exact();
        assert_eq!(body["data"], json!({ "keys": k }), "{}", r.what);
    };
    expect_keys(v.list("secret/metadata/").await, json!(["dir/", "top"]));
    expect_keys(v.list("secret/metadata").await, json!(["dir/", "top"]));
    expect_keys(
        v.get("secret/metadata/?list=true").await,
        json!(["dir/", "top"]),
    );
    expect_keys(
        v.get("secret/metadata?list=true").await,
        json!(["dir/", "top"]),
    );
    expect_keys(
        v.list("secret/metadata/dir").await,
        json!(["a", "b", "sub/"]),
    );
    expect_keys(
        v.get("secret/metadata/dir/?list=true").await,
        json!(["a", "b", "sub/"]),
    );
    expect_keys(v.list("secret/metadata/dir/sub/").await, json!(["c"]));
    v.list("secret/metadata/nope/").await.not_found();
    v.get("secret/metadata/nope?list=true").await.not_found();

    // Check-and-set.
    let cas = |n: i64, val: &str| json!({"options": {"cas": n}, "data": {"v": val}});
    assert_eq!(
        v.post("secret/data/c", cas(0, "a")).await.data()["version"],
        1
    );
    v.post("secret/data/c", cas(0, "b")).await.errors(
        400,
        &["check-and-set parameter did not match the current version"],
    );
    v.post("secret/data/c", cas(5, "b")).await.errors(
        400,
        &["check-and-set parameter did not match the current version"],
    );
    assert_eq!(
        v.post("secret/data/c", cas(1, "b")).await.data()["version"],
        2
    );
    v.post("secret/config", json!({"cas_required": true}))
        .await
        .no_content();
    let cfg = v.get("secret/config").await.data();
    assert_eq!(cfg["cas_required"], true);
    v.post("secret/data/c", json!({"data": {"v": "c"}}))
        .await
        .errors(400, &["check-and-set parameter required for this call"]);
    assert_eq!(
        v.post("secret/data/c", cas(2, "c")).await.data()["version"],
        3
    );
    v.post("secret/config", json!({"cas_required": false}))
        .await
        .no_content();

    // PATCH (merge patch) creates a new version from the current one.
    let p = v
        .patch("secret/data/c", json!({"data": {"extra": "x", "v": null}}))
        .await
        .ok_exact();
    assert_version_meta(&p["data"], 4, false, false);
    assert_eq!(
        v.get("secret/data/c").await.data()["data"],
        json!({"extra": "x"})
    );
    let p = v
        .patch(
            "secret/data/c",
            json!({"data": {"v": "d"}, "options": {"cas": 4}}),
        )
        .await
        .data();
    assert_eq!(p["version"], 5);
    assert_eq!(
        v.get("secret/data/c").await.data()["data"],
        json!({"extra": "x", "v": "d"})
    );
    v.patch(
        "secret/data/c",
        json!({"data": {"v": "e"}, "options": {"cas": 1}}),
    )
    .await
    .some_error(400);
    v.patch("secret/data/never", json!({"data": {"v": "e"}}))
        .await
        .not_found();
    v.get("secret/data/never").await.not_found();

    // Wrong-shape access on a v2 mount: 404 carrying a warning, the envelope otherwise.
    let r = v.get("secret/c").await;
    let body = r.json_at(404);
    assert_envelope(&r.what, &body);
    assert_eq!(body["data"], json!(null));
    let w = body["warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with("Invalid path for a versioned K/V secrets engine."),
        "{w}"
    );
    assert!(w.contains("'vault kv get'"), "{w}");
}

#[tokio::test]
async fn kv1_crud_and_list() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.enable("kv", json!({"type": "kv", "options": {"version": "1"}}))
        .await;
    v.put("kv/foo", json!({"a": "b", "n": 1, "nested": {"x": [true]}}))
        .await
        .no_content();
    let r = v.get("kv/foo").await.ok_exact();
    assert_eq!(
        r["data"],
        json!({"a": "b", "n": 1, "nested": {"x": [true]}})
    );
    assert_eq!(r["lease_id"], "");
    assert_eq!(r["renewable"], false);
    assert_eq!(r["lease_duration"], 2764800);
    // POST replaces the whole object.
    v.post("kv/foo", json!({"c": "d"})).await.no_content();
    assert_eq!(v.get("kv/foo").await.data(), json!({"c": "d"}));
    // A ttl in the data is the reported lease_duration.
    v.put("kv/ttl", json!({"ttl": "1h", "v": 1}))
        .await
        .no_content();
    assert_eq!(v.get("kv/ttl").await.ok()["lease_duration"], 3600);

    v.put("kv/dir/x", json!({"v": 1})).await.no_content();
    v.put("kv/dir/deeper/y", json!({"v": 1})).await.no_content();
    let k = |r: Resp| r.ok_exact()["data"].clone();
    assert_eq!(
        k(v.list("kv/").await),
        json!({"keys": ["dir/", "foo", "ttl"]})
    );
    assert_eq!(
        k(v.list("kv").await),
        json!({"keys": ["dir/", "foo", "ttl"]})
    );
    assert_eq!(
        k(v.get("kv/?list=true").await),
        json!({"keys": ["dir/", "foo", "ttl"]})
    );
    assert_eq!(k(v.list("kv/dir").await), json!({"keys": ["deeper/", "x"]}));
    assert_eq!(
        k(v.get("kv/dir?list=true").await),
        json!({"keys": ["deeper/", "x"]})
    );
    v.list("kv/empty/").await.not_found();
    v.get("kv/empty/?list=true").await.not_found();

    v.put("kv/foo", json!({}))
        .await
        .errors(400, &["missing data fields"]);
    v.delete("kv/foo").await.no_content();
    v.get("kv/foo").await.not_found();
    v.delete("kv/foo").await.no_content();
    v.delete("kv/dir/deeper/y").await.no_content();
    assert_eq!(k(v.list("kv/dir/").await), json!({"keys": ["x"]}));
    v.list("kv/dir/deeper/").await.not_found();
    // Form-encoded bodies are data too; a JSON body under that content type is still JSON.
    let r = v
        .send(
            "PUT kv/form (form)".into(),
            v.req("PUT", "kv/form")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("a=b&c=d+e&c=f"),
        )
        .await;
    r.no_content();
    assert_eq!(
        v.get("kv/form").await.data(),
        json!({"a": "b", "c": ["d e", "f"]})
    );
    let r = v
        .send(
            "PUT kv/form2 (json as form)".into(),
            v.req("PUT", "kv/form2")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(r#"{"j": "son"}"#),
        )
        .await;
    r.no_content();
    assert_eq!(v.get("kv/form2").await.data(), json!({"j": "son"}));
    // HEAD on an existing key: 200, no body; on a missing one: 404.
    let h = v.call("HEAD", "kv/ttl", None).await;
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(v.call("HEAD", "kv/nope", None).await.status, 404);
}

#[tokio::test]
async fn cubbyhole_is_private_to_each_token() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let a = v.with_token(&v.token_with(&["default"]).await);
    let b = v.with_token(&v.token_with(&["default"]).await);

    a.put("cubbyhole/secret", json!({"k": "a"}))
        .await
        .no_content();
    a.put("cubbyhole/dir/x", json!({"k": "ax"}))
        .await
        .no_content();
    let r = a.get("cubbyhole/secret").await.ok_exact();
    assert_eq!(r["data"], json!({"k": "a"}));
    assert_eq!(r["lease_duration"], 0);
    assert_eq!(
        a.list("cubbyhole/").await.data()["keys"],
        json!(["dir/", "secret"])
    );

    // B sees nothing of A's, and its own writes don't touch A's.
    b.get("cubbyhole/secret").await.not_found();
    b.get("cubbyhole/dir/x").await.not_found();
    b.list("cubbyhole/").await.not_found();
    b.put("cubbyhole/secret", json!({"k": "b"}))
        .await
        .no_content();
    assert_eq!(a.get("cubbyhole/secret").await.data(), json!({"k": "a"}));
    assert_eq!(b.get("cubbyhole/secret").await.data(), json!({"k": "b"}));
    b.delete("cubbyhole/secret").await.no_content();
    assert_eq!(a.get("cubbyhole/secret").await.data(), json!({"k": "a"}));
    // Root has its own cubbyhole too.
    v.get("cubbyhole/secret").await.not_found();
    // Without a token: 403.
    v.anon().get("cubbyhole/secret").await.denied();

    // Revoking A makes its cubbyhole unreachable and removes its data from storage (B
    // deleted its own; root never wrote one); a new token starts empty.
    let cubby_uuid = v.get("sys/mounts").await.data()["cubbyhole/"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    // The cubbyhole mount is local: its data lives under `local/`.
    let prefix = format!("local/logical/{cubby_uuid}/");
    assert_eq!(
        clean_tree_keys(&srv.data_dir)
            .iter()
            .filter(|k| k.starts_with(&prefix))
            .count(),
        2
    );
    a.put("auth/token/revoke-self", json!({}))
        .await
        .no_content();
    a.get("cubbyhole/secret").await.denied();
    let left: Vec<String> = clean_tree_keys(&srv.data_dir)
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    assert!(
        left.is_empty(),
        "a revoked token's cubbyhole must be purged: {left:?}"
    );
    let c = v.with_token(&v.token_with(&["default"]).await);
    c.list("cubbyhole/").await.not_found();
}
