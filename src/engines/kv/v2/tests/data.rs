//! `data/` and `subkeys/`: writing and reading versions, patch, existence checks, and
//! bad input or paths refused without changes.

use super::*;

#[tokio::test]
async fn write_read_versions() {
    let c = v2().await;
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/foo", json!({})).await
    ));
    let w1 = put(&c, "foo", json!({"a": "1"})).await;
    assert_eq!(w1["version"], json!(1));
    assert_eq!(w1["deletion_time"], json!(""));
    assert_eq!(w1["destroyed"], json!(false));
    assert_eq!(w1["custom_metadata"], Value::Null);
    assert!(is_timestamp(&w1["created_time"]), "{w1}");
    let w2 = put(&c, "foo", json!({"a": "2", "n": {"x": true}})).await;
    assert_eq!(w2["version"], json!(2));

    let r = get(&c, "foo").await;
    assert_eq!(r["data"], json!({"a": "2", "n": {"x": true}}));
    assert_eq!(r["metadata"]["version"], json!(2));
    assert_eq!(r["metadata"]["created_time"], w2["created_time"]);
    let r = ok(&c, Operation::Read, "data/foo", json!({"version": "1"})).await;
    assert_eq!(r["data"], json!({"a": "1"}));
    assert_eq!(r["metadata"]["version"], json!(1));
    // Version 0 / negative mean "current", as in Vault.
    let r = ok(&c, Operation::Read, "data/foo", json!({"version": 0})).await;
    assert_eq!(r["metadata"]["version"], json!(2));
    // A version that never existed is a plain 404.
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/foo", json!({"version": 3})).await
    ));
    // Nested paths are independent secrets.
    put(&c, "foo/bar", json!({"z": 1})).await;
    assert_eq!(get(&c, "foo/bar").await["data"], json!({"z": 1}));
    assert_eq!(get(&c, "foo").await["data"]["a"], json!("2"));
    // An empty object is a valid secret.
    let w = put(&c, "empty", json!({})).await;
    assert_eq!(w["version"], json!(1));
    assert_eq!(get(&c, "empty").await["data"], json!({}));
}

#[tokio::test]
async fn exists_tracks_metadata() {
    let c = v2().await;
    let ex = |p: &'static str| {
        let c = c.clone();
        async move {
            KvV2::new()
                .exists(&c, &Request::new(Operation::Update, p))
                .await
                .unwrap()
        }
    };
    assert_eq!(ex("data/foo").await, Some(false));
    assert_eq!(ex("metadata/foo").await, Some(false));
    put(&c, "foo", json!({"a": 1})).await;
    assert_eq!(ex("data/foo").await, Some(true));
    assert_eq!(ex("metadata/foo").await, Some(true));
    assert_eq!(ex("config").await, None);
    assert_eq!(ex("destroy/foo").await, None);
}

#[tokio::test]
async fn patch_merges() {
    let c = v2().await;
    // Nothing to patch yet.
    assert!(is_not_found(
        &call(&c, Operation::Patch, "data/x", json!({"data": {"a": 1}})).await
    ));
    put(
        &c,
        "x",
        json!({"keep": "k", "drop": "d", "nested": {"a": 1, "b": 2}, "list": [1, 2]}),
    )
    .await;
    let w = ok(
        &c,
        Operation::Patch,
        "data/x",
        json!({"data": {"drop": null, "nested": {"b": null, "c": 3}, "list": [3], "new": "n"}}),
    )
    .await;
    assert_eq!(w["version"], json!(2));
    assert_eq!(
        get(&c, "x").await["data"],
        json!({"keep": "k", "nested": {"a": 1, "c": 3}, "list": [3], "new": "n"})
    );
    // The original version is untouched.
    let r = ok(&c, Operation::Read, "data/x", json!({"version": 1})).await;
    assert_eq!(r["data"]["drop"], json!("d"));
    // No data.
    assert_eq!(
        invalid_msg(call(&c, Operation::Patch, "data/x", json!({})).await),
        "no data provided"
    );
    invalid_msg(call(&c, Operation::Patch, "data/x", json!({"data": "str"})).await);
    // A deleted current version cannot be patched: 404 with its metadata.
    ok(&c, Operation::Delete, "data/x", json!({})).await;
    let body =
        not_found_body(call(&c, Operation::Patch, "data/x", json!({"data": {"a": 1}})).await);
    assert_eq!(body["version"], json!(2));
    assert!(is_timestamp(&body["deletion_time"]));
    assert_eq!(meta(&c, "x").await["current_version"], json!(2));
}

#[tokio::test]
async fn bad_input_is_refused_without_changes() {
    let c = v2().await;
    put(&c, "b", json!({"ok": true})).await;
    let cases = [
        json!({}),
        json!({"data": null}),
        json!({"data": "str"}),
        json!({"data": [1, 2]}),
        json!({"data": 5}),
        json!({"data": {"a": 1}, "options": "x"}),
        json!({"data": {"a": 1}, "options": {"cas": [1]}}),
    ];
    for body in cases {
        let r = call(&c, Operation::Update, "data/b", body.clone()).await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{body}: {r:?}");
    }
    assert_eq!(
        invalid_msg(call(&c, Operation::Update, "data/b", json!({})).await),
        "no data provided"
    );
    assert_eq!(
        invalid_msg(call(&c, Operation::Update, "data/", json!({"data": {}})).await),
        "missing path"
    );
    for bad in ["data/a//b", "data/../x", "data/a/"] {
        invalid_msg(call(&c, Operation::Update, bad, json!({"data": {"a": 1}})).await);
        assert!(
            is_not_found(&call(&c, Operation::Read, bad, json!({})).await),
            "{bad}"
        );
    }
    let m = meta(&c, "b").await;
    assert_eq!(m["current_version"], json!(1));
    assert_eq!(get(&c, "b").await["data"], json!({"ok": true}));
    // version "abc" is refused; depth too.
    invalid_msg(call(&c, Operation::Read, "data/b", json!({"version": "abc"})).await);
    invalid_msg(call(&c, Operation::Read, "data/b", json!({"version": [1]})).await);
    invalid_msg(call(&c, Operation::Read, "subkeys/b", json!({"depth": "deep"})).await);
    // Only metadata, not any new key, exists.
    assert_eq!(
        ok(&c, Operation::List, "metadata/", json!({})).await["keys"],
        json!(["b"])
    );
}

#[tokio::test]
async fn invalid_paths_warn_with_404() {
    let c = v2().await;
    let r = call(&c, Operation::Read, "foo", json!({})).await.unwrap();
    assert!(r.not_found_with_data);
    assert!(r.warnings[0].contains("Invalid path for a versioned K/V secrets engine"));
    assert!(r.warnings[0].contains("'vault kv get'"));
    let r = call(&c, Operation::Update, "foo/bar", json!({"a": 1}))
        .await
        .unwrap();
    assert!(r.warnings[0].contains("'vault kv put'"));
    let r = call(&c, Operation::Read, "data", json!({})).await.unwrap();
    assert!(r.not_found_with_data);
    assert_eq!(
        r.warnings,
        vec!["Non-listing operations on the root of a K/V v2 mount are not supported.".to_owned()]
    );
    let r = call(&c, Operation::Read, "metadata", json!({}))
        .await
        .unwrap();
    assert!(r.not_found_with_data && r.warnings[0].starts_with("Non-listing"));
    // Nothing was stored by the refused write.
    assert!(c.storage.sub(PREFIX).keys().await.unwrap().is_empty());
    assert!(c.storage.keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn subkeys_depth() {
    let c = v2().await;
    put(
        &c,
        "s",
        json!({"a": 1, "b": {"c": {"d": 2}, "e": {}}, "f": [1]}),
    )
    .await;
    let r = ok(&c, Operation::Read, "subkeys/s", json!({})).await;
    assert_eq!(
        r["subkeys"],
        json!({"a": null, "b": {"c": {"d": null}, "e": null}, "f": null})
    );
    assert_eq!(r["metadata"]["version"], json!(1));
    let r = ok(&c, Operation::Read, "subkeys/s", json!({"depth": "1"})).await;
    assert_eq!(r["subkeys"], json!({"a": null, "b": null, "f": null}));
    let r = ok(&c, Operation::Read, "subkeys/s", json!({"depth": 2})).await;
    assert_eq!(
        r["subkeys"],
        json!({"a": null, "b": {"c": null, "e": null}, "f": null})
    );
    assert!(is_not_found(
        &call(&c, Operation::Read, "subkeys/none", json!({})).await
    ));
    assert!(is_not_found(
        &call(&c, Operation::Read, "subkeys/s", json!({"version": 2})).await
    ));
}
