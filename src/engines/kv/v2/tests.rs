use super::*;
use crate::logical::test_support::ctx;

async fn v2() -> Ctx {
    ctx("kv", obj(json!({"version": "2"}))).await
}

async fn call(c: &Ctx, op: Operation, path: &str, data: Value) -> Result<Response> {
    KvV2::new()
        .handle(c, &Request::new(op, path).with_data(obj(data)))
        .await
}

/// Whether version `n` of `path` has its data in storage.
async fn has_version_data(c: &Ctx, path: &str, n: u64) -> bool {
    let engine = KvV2::new();
    let store = Store::open(c, &engine.salts).await.unwrap();
    let secret = store.locate(path).unwrap();
    let key = secret.hashed.version_key(n);
    store.view.get(&key).await.unwrap().is_some()
}

async fn ok(c: &Ctx, op: Operation, path: &str, data: Value) -> Value {
    match call(c, op, path, data).await {
        Ok(r) => {
            assert!(
                !r.not_found_with_data,
                "{op:?} {path}: unexpected 404 {r:?}"
            );
            r.data.map(Value::Object).unwrap_or(Value::Null)
        }
        Err(e) => panic!("{op:?} {path}: {e:?}"),
    }
}

async fn put(c: &Ctx, path: &str, data: Value) -> Value {
    ok(
        c,
        Operation::Update,
        &format!("data/{path}"),
        json!({ "data": data }),
    )
    .await
}

async fn get(c: &Ctx, path: &str) -> Value {
    ok(c, Operation::Read, &format!("data/{path}"), json!({})).await
}

async fn meta(c: &Ctx, path: &str) -> Value {
    ok(c, Operation::Read, &format!("metadata/{path}"), json!({})).await
}

fn invalid_msg(r: Result<Response>) -> String {
    match r {
        Err(Error::InvalidRequest(m)) => m,
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

fn is_not_found(r: &Result<Response>) -> bool {
    matches!(r, Err(Error::NotFound))
}

/// A 404 answered with a body: returns the body.
fn not_found_body(r: Result<Response>) -> Value {
    match r {
        Ok(r) if r.not_found_with_data => r.data.map(Value::Object).unwrap_or(Value::Null),
        other => panic!("expected 404 with data, got {other:?}"),
    }
}

fn is_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() >= 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

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
async fn soft_delete_undelete_and_destroy() {
    let c = v2().await;
    put(&c, "s", json!({"v": 1})).await;
    put(&c, "s", json!({"v": 2})).await;

    // DELETE data/ soft-deletes the latest version: 404 carrying the metadata.
    assert!(call(&c, Operation::Delete, "data/s", json!({}))
        .await
        .unwrap()
        .data
        .is_none());
    let body = not_found_body(call(&c, Operation::Read, "data/s", json!({})).await);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["metadata"]["version"], json!(2));
    assert!(is_timestamp(&body["metadata"]["deletion_time"]), "{body}");
    assert_eq!(body["metadata"]["destroyed"], json!(false));
    // Version 1 is still readable.
    let r = ok(&c, Operation::Read, "data/s", json!({"version": 1})).await;
    assert_eq!(r["data"], json!({"v": 1}));
    let m = meta(&c, "s").await;
    assert!(is_timestamp(&m["versions"]["2"]["deletion_time"]));
    assert_eq!(m["versions"]["1"]["deletion_time"], json!(""));

    // delete/ with versions.
    ok(&c, Operation::Update, "delete/s", json!({"versions": [1]})).await;
    not_found_body(call(&c, Operation::Read, "data/s", json!({"version": 1})).await);

    // undelete/ restores both (versions as strings, as the CLI sends them).
    ok(
        &c,
        Operation::Update,
        "undelete/s",
        json!({"versions": ["1", "2"]}),
    )
    .await;
    assert_eq!(
        versions_param(
            &Request::new(Operation::Update, "x")
                .with_data(obj(json!({"versions": ["1,2", 3, -4]}))),
            "none"
        )
        .unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(
        versions_param(
            &Request::new(Operation::Update, "x").with_data(obj(json!({"versions": " 5 ,6"}))),
            "none"
        )
        .unwrap(),
        vec![5, 6]
    );
    assert_eq!(get(&c, "s").await["data"], json!({"v": 2}));
    let r = get(&c, "s").await;
    assert_eq!(r["metadata"]["deletion_time"], json!(""));
    let r = ok(&c, Operation::Read, "data/s", json!({"version": 1})).await;
    assert_eq!(r["data"], json!({"v": 1}));

    // destroy/ removes the data for good; undelete cannot bring it back.
    ok(&c, Operation::Update, "destroy/s", json!({"versions": "2"})).await;
    let body = not_found_body(call(&c, Operation::Read, "data/s", json!({})).await);
    assert_eq!(body["metadata"]["destroyed"], json!(true));
    assert_eq!(body["data"], Value::Null);
    ok(
        &c,
        Operation::Update,
        "undelete/s",
        json!({"versions": [2]}),
    )
    .await;
    not_found_body(call(&c, Operation::Read, "data/s", json!({})).await);
    assert_eq!(
        meta(&c, "s").await["versions"]["2"]["destroyed"],
        json!(true)
    );
    assert!(!has_version_data(&c, "s", 2).await);
    assert!(has_version_data(&c, "s", 1).await);

    // Subkeys of a destroyed version: 404 with the metadata too.
    let body = not_found_body(call(&c, Operation::Read, "subkeys/s", json!({})).await);
    assert_eq!(body["metadata"]["destroyed"], json!(true));

    // No versions given.
    for p in ["delete/s", "undelete/s", "destroy/s"] {
        invalid_msg(call(&c, Operation::Update, p, json!({})).await);
        invalid_msg(call(&c, Operation::Update, p, json!({"versions": []})).await);
    }
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "destroy/s",
            json!({"versions": ["x"]}),
        )
        .await,
    );
    // Unknown keys are fine.
    ok(
        &c,
        Operation::Update,
        "delete/nope",
        json!({"versions": [1]}),
    )
    .await;
    ok(&c, Operation::Delete, "data/nope", json!({})).await;
}

#[tokio::test]
async fn metadata_read_list_delete() {
    let c = v2().await;
    assert!(is_not_found(
        &call(&c, Operation::Read, "metadata/a", json!({})).await
    ));
    assert!(is_not_found(
        &call(&c, Operation::List, "metadata/", json!({})).await
    ));
    let w1 = put(&c, "a", json!({"k": 1})).await;
    let w2 = put(&c, "a", json!({"k": 2})).await;
    put(&c, "dir/b", json!({"k": 1})).await;
    put(&c, "dir/sub/c", json!({"k": 1})).await;

    let m = meta(&c, "a").await;
    assert_eq!(m["current_version"], json!(2));
    assert_eq!(m["oldest_version"], json!(0));
    assert_eq!(m["max_versions"], json!(0));
    assert_eq!(m["cas_required"], json!(false));
    assert_eq!(m["delete_version_after"], json!("0s"));
    assert_eq!(m["custom_metadata"], Value::Null);
    assert_eq!(m["created_time"], w1["created_time"]);
    assert_eq!(m["updated_time"], w2["created_time"]);
    assert_eq!(m["versions"]["1"]["created_time"], w1["created_time"]);
    assert_eq!(
        m["versions"]["2"],
        json!({"created_time": w2["created_time"], "deletion_time": "", "destroyed": false})
    );

    let keys = |v: Value| v["keys"].clone();
    assert_eq!(
        keys(ok(&c, Operation::List, "metadata/", json!({})).await),
        json!(["a", "dir/"])
    );
    assert_eq!(
        keys(ok(&c, Operation::List, "metadata", json!({})).await),
        json!(["a", "dir/"])
    );
    assert_eq!(
        keys(ok(&c, Operation::List, "metadata/dir/", json!({})).await),
        json!(["b", "sub/"])
    );
    assert_eq!(
        keys(ok(&c, Operation::List, "metadata/dir", json!({})).await),
        json!(["b", "sub/"])
    );
    assert!(is_not_found(
        &call(&c, Operation::List, "metadata/nope/", json!({})).await
    ));
    assert!(is_not_found(
        &call(&c, Operation::List, "metadata/a//", json!({})).await
    ));
    // LIST is served by metadata only.
    assert!(matches!(
        call(&c, Operation::List, "data/", json!({})).await,
        Err(Error::UnsupportedOperation(_))
    ));

    // DELETE metadata/ removes every version and the metadata, permanently.
    ok(&c, Operation::Delete, "metadata/a", json!({})).await;
    assert!(is_not_found(
        &call(&c, Operation::Read, "metadata/a", json!({})).await
    ));
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/a", json!({})).await
    ));
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/a", json!({"version": 1})).await
    ));
    assert!(!has_version_data(&c, "a", 1).await);
    assert!(!has_version_data(&c, "a", 2).await);
    assert_eq!(
        keys(ok(&c, Operation::List, "metadata/", json!({})).await),
        json!(["dir/"])
    );
    // Writing again starts over at version 1.
    assert_eq!(put(&c, "a", json!({"k": 3})).await["version"], json!(1));
    // Deleting an unknown key is fine.
    ok(&c, Operation::Delete, "metadata/none", json!({})).await;
}

#[tokio::test]
async fn metadata_write_and_patch() {
    let c = v2().await;
    // Metadata can exist before any version.
    ok(
        &c,
        Operation::Update,
        "metadata/m",
        json!({"max_versions": 3, "cas_required": true, "delete_version_after": "1h",
               "custom_metadata": {"owner": "me", "n": 5}}),
    )
    .await;
    let m = meta(&c, "m").await;
    assert_eq!(m["current_version"], json!(0));
    assert_eq!(m["max_versions"], json!(3));
    assert_eq!(m["cas_required"], json!(true));
    assert_eq!(m["delete_version_after"], json!("1h0m0s"));
    assert_eq!(m["custom_metadata"], json!({"owner": "me", "n": "5"}));
    assert_eq!(m["versions"], json!({}));
    assert!(is_timestamp(&m["created_time"]));
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/m", json!({})).await
    ));
    assert_eq!(
        KvV2::new()
            .exists(&c, &Request::new(Operation::Update, "data/m"))
            .await
            .unwrap(),
        Some(true)
    );

    // The key's cas_required applies; delete_version_after gives a future deletion_time,
    // and the version stays readable until then.
    let msg = invalid_msg(call(&c, Operation::Update, "data/m", json!({"data": {"a": 1}})).await);
    assert_eq!(msg, CAS_REQUIRED);
    let w = ok(
        &c,
        Operation::Update,
        "data/m",
        json!({"data": {"a": 1}, "options": {"cas": 0}}),
    )
    .await;
    assert_eq!(w["custom_metadata"], json!({"owner": "me", "n": "5"}));
    assert!(is_timestamp(&w["deletion_time"]), "{w}");
    let r = get(&c, "m").await;
    assert_eq!(r["data"], json!({"a": 1}));
    assert_eq!(r["metadata"]["deletion_time"], w["deletion_time"]);

    // PATCH merges: null removes a custom_metadata key, other fields keep their values.
    ok(
        &c,
        Operation::Patch,
        "metadata/m",
        json!({"custom_metadata": {"owner": null, "team": "x"}, "max_versions": 5}),
    )
    .await;
    let m = meta(&c, "m").await;
    assert_eq!(m["custom_metadata"], json!({"n": "5", "team": "x"}));
    assert_eq!(m["max_versions"], json!(5));
    assert_eq!(m["cas_required"], json!(true));
    assert_eq!(m["delete_version_after"], json!("1h0m0s"));
    ok(
        &c,
        Operation::Patch,
        "metadata/m",
        json!({"custom_metadata": null}),
    )
    .await;
    assert_eq!(meta(&c, "m").await["custom_metadata"], Value::Null);
    // PATCH of unknown metadata is a 404.
    assert!(is_not_found(
        &call(
            &c,
            Operation::Patch,
            "metadata/none",
            json!({"max_versions": 1})
        )
        .await
    ));

    // A POST without custom_metadata keeps it; an update changes only what is given.
    ok(
        &c,
        Operation::Patch,
        "metadata/m",
        json!({"custom_metadata": {"k": "v"}}),
    )
    .await;
    ok(
        &c,
        Operation::Update,
        "metadata/m",
        json!({"cas_required": false}),
    )
    .await;
    let m = meta(&c, "m").await;
    assert_eq!(m["custom_metadata"], json!({"k": "v"}));
    assert_eq!(m["cas_required"], json!(false));
    assert_eq!(m["max_versions"], json!(5));

    // Validation.
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"max_versions": -1}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"max_versions": "x"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"cas_required": "maybe"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"delete_version_after": "-1s"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"delete_version_after": "soon"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"custom_metadata": "x"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"custom_metadata": {"k": [1]}}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({"custom_metadata": {"k": ""}}),
        )
        .await,
    );
    let too_many: Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    let msg = invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/m",
            json!({ "custom_metadata": too_many }),
        )
        .await,
    );
    assert!(msg.starts_with(CUSTOM_METADATA_PREFIX), "{msg}");
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "metadata/",
            json!({"max_versions": 1}),
        )
        .await,
    );
    // None of the refused writes changed anything.
    let after = meta(&c, "m").await;
    assert_eq!(after, m);
}

#[tokio::test]
async fn cas_rules() {
    let c = v2().await;
    let write = |cas: Value| {
        let c = c.clone();
        async move {
            call(
                &c,
                Operation::Update,
                "data/k",
                json!({"data": {"v": cas.clone()}, "options": {"cas": cas}}),
            )
            .await
        }
    };
    // cas=1 on a missing key: mismatch.
    assert_eq!(invalid_msg(write(json!(1)).await), CAS_MISMATCH);
    assert!(is_not_found(
        &call(&c, Operation::Read, "metadata/k", json!({})).await
    ));
    // cas=0 creates.
    assert_eq!(
        write(json!(0)).await.unwrap().data.unwrap()["version"],
        json!(1)
    );
    // cas=0 again: the key exists now.
    assert_eq!(invalid_msg(write(json!(0)).await), CAS_MISMATCH);
    // Stale cas.
    assert_eq!(invalid_msg(write(json!(5)).await), CAS_MISMATCH);
    // Negative and unparsable cas.
    assert_eq!(invalid_msg(write(json!(-1)).await), CAS_MISMATCH);
    assert_eq!(invalid_msg(write(json!("abc")).await), CAS_PARSE);
    assert_eq!(invalid_msg(write(json!({"x": 1})).await), CAS_PARSE);
    // Matching cas (as a string too).
    assert_eq!(
        write(json!("1")).await.unwrap().data.unwrap()["version"],
        json!(2)
    );
    // The refused writes changed nothing.
    let r = get(&c, "k").await;
    assert_eq!(r["data"], json!({"v": "1"}));
    let m = meta(&c, "k").await;
    assert_eq!(m["current_version"], json!(2));
    assert_eq!(m["versions"].as_object().unwrap().len(), 2);

    // cas_required in the mount config.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"cas_required": true}),
    )
    .await;
    let msg = invalid_msg(call(&c, Operation::Update, "data/k", json!({"data": {"v": 9}})).await);
    assert_eq!(msg, CAS_REQUIRED);
    let msg = invalid_msg(
        call(
            &c,
            Operation::Update,
            "data/k",
            json!({"data": {"v": 9}, "options": {}}),
        )
        .await,
    );
    assert_eq!(msg, CAS_REQUIRED);
    assert_eq!(get(&c, "k").await["data"], json!({"v": "1"}));
    assert_eq!(
        write(json!(2)).await.unwrap().data.unwrap()["version"],
        json!(3)
    );
    // A key cannot opt out: warning.
    let r = call(
        &c,
        Operation::Update,
        "metadata/k",
        json!({"cas_required": false}),
    )
    .await
    .unwrap();
    assert_eq!(r.warnings, vec![CAS_CONFIG_WARNING.to_owned()]);
    // Patch also requires cas.
    let msg = invalid_msg(call(&c, Operation::Patch, "data/k", json!({"data": {"w": 1}})).await);
    assert_eq!(msg, CAS_REQUIRED);
    let r = ok(
        &c,
        Operation::Patch,
        "data/k",
        json!({"data": {"w": 1}, "options": {"cas": 3}}),
    )
    .await;
    assert_eq!(r["version"], json!(4));
    // options must be an object.
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "data/k",
            json!({"data": {}, "options": 4}),
        )
        .await,
    );
}

#[tokio::test]
async fn max_versions_pruning() {
    let c = v2().await;
    for i in 1..=12 {
        put(&c, "p", json!({ "i": i })).await;
    }
    // Default 10: versions 3..=12 remain.
    let m = meta(&c, "p").await;
    let mut kept: Vec<u64> = m["versions"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, (3..=12).collect::<Vec<_>>());
    assert_eq!(m["oldest_version"], json!(3));
    assert_eq!(m["current_version"], json!(12));
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/p", json!({"version": 2})).await
    ));
    assert!(!has_version_data(&c, "p", 2).await);
    assert!(has_version_data(&c, "p", 3).await);

    // Mount config: 2.
    ok(&c, Operation::Update, "config", json!({"max_versions": 2})).await;
    put(&c, "p", json!({"i": 13})).await;
    let m = meta(&c, "p").await;
    assert_eq!(m["versions"].as_object().unwrap().len(), 2);
    assert_eq!(m["oldest_version"], json!(12));
    assert!(!has_version_data(&c, "p", 11).await);
    assert_eq!(
        ok(&c, Operation::Read, "data/p", json!({"version": 12})).await["data"],
        json!({"i": 12})
    );

    // The key's max_versions overrides the mount's.
    ok(
        &c,
        Operation::Update,
        "metadata/q",
        json!({"max_versions": 4}),
    )
    .await;
    for i in 1..=6 {
        put(&c, "q", json!({ "i": i })).await;
    }
    let m = meta(&c, "q").await;
    assert_eq!(m["versions"].as_object().unwrap().len(), 4);
    assert_eq!(m["oldest_version"], json!(3));
    // And a key with max_versions 1 keeps just the latest.
    ok(
        &c,
        Operation::Update,
        "metadata/q",
        json!({"max_versions": 1}),
    )
    .await;
    put(&c, "q", json!({"i": 7})).await;
    let m = meta(&c, "q").await;
    assert_eq!(
        m["versions"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["7"]
    );
    for n in 1..=6 {
        assert!(!has_version_data(&c, "q", n).await, "{n}");
    }
    assert_eq!(get(&c, "q").await["data"], json!({"i": 7}));
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
async fn config_read_update() {
    let c = v2().await;
    let r = ok(&c, Operation::Read, "config", json!({})).await;
    assert_eq!(
        r,
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 0})
    );
    // hvac's configure() defaults.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"max_versions": 10, "cas_required": false, "delete_version_after": "0s"}),
    )
    .await;
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"max_versions": "7", "delete_version_after": "90m"}),
    )
    .await;
    let r = ok(&c, Operation::Read, "config", json!({})).await;
    assert_eq!(
        r,
        json!({"cas_required": false, "delete_version_after": "1h30m0s", "max_versions": 7})
    );
    // Only the given fields change; negative delete_version_after disables it.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"cas_required": "true", "delete_version_after": -5}),
    )
    .await;
    let r = ok(&c, Operation::Read, "config", json!({})).await;
    assert_eq!(
        r,
        json!({"cas_required": true, "delete_version_after": "-1s", "max_versions": 7})
    );
    // Bad values change nothing.
    invalid_msg(call(&c, Operation::Update, "config", json!({"max_versions": -1})).await);
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "config",
            json!({"max_versions": 3, "cas_required": "x"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "config",
            json!({"delete_version_after": [1]}),
        )
        .await,
    );
    assert_eq!(ok(&c, Operation::Read, "config", json!({})).await, r);
    assert!(matches!(
        call(&c, Operation::Delete, "config", json!({})).await,
        Err(Error::UnsupportedOperation(_))
    ));
}

#[tokio::test]
async fn delete_version_after_from_config() {
    let c = v2().await;
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"delete_version_after": "1h"}),
    )
    .await;
    let w = put(&c, "d", json!({"a": 1})).await;
    let dt = w["deletion_time"].as_str().unwrap().to_owned();
    assert!(is_timestamp(&w["deletion_time"]));
    assert!(dt.as_str() > w["created_time"].as_str().unwrap());
    // Still readable (deletion is in the future).
    assert_eq!(get(&c, "d").await["data"], json!({"a": 1}));
    // Disabled at the mount: no deletion time even if the key asks for one.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"delete_version_after": "-1s"}),
    )
    .await;
    ok(
        &c,
        Operation::Update,
        "metadata/d",
        json!({"delete_version_after": "10m"}),
    )
    .await;
    assert_eq!(
        put(&c, "d", json!({"a": 2})).await["deletion_time"],
        json!("")
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_writes_do_not_lose_updates() {
    let c = v2().await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            call(
                &c,
                Operation::Update,
                "data/race",
                json!({"data": {"i": i}, "options": {"cas": 0}}),
            )
            .await
            .is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(meta(&c, "race").await["current_version"], json!(1));
}

#[tokio::test]
async fn storage_layout_keys() {
    assert_eq!(PREFIX, "kv2/");
    let c = v2().await;
    put(&c, "a/b", json!({"x": 1})).await;
    let engine = KvV2::new();
    let store = Store::open(&c, &engine.salts).await.unwrap();
    let h = store.locate("a/b").unwrap().hashed;
    let (h1, h2) = h.as_str().split_once('/').unwrap();
    assert_eq!(
        c.storage.keys().await.unwrap(),
        [
            "kv2/f/".to_owned() + h1,
            format!("kv2/m/{h1}/{h2}"),
            "kv2/salt".to_owned(),
            format!("kv2/v/{h1}/{h2}/1"),
        ]
    );
}

// ---- layout 1: hashed paths, folder records, listing ---------------------------------

/// Every folder record under `c`'s mount belongs to a folder that holds a secret, and every
/// folder holding a secret has its record.
pub(super) async fn assert_folder_records_exact(c: &Ctx) {
    let keys = c.storage.sub(PREFIX).keys().await.unwrap();
    let mut want = std::collections::BTreeSet::new();
    for hashed in keys.iter().filter_map(|k| k.strip_prefix("m/")) {
        for (i, _) in hashed.match_indices('/') {
            want.insert(format!("f/{}", &hashed[..i]));
        }
    }
    let got: std::collections::BTreeSet<String> = keys
        .iter()
        .filter(|k| k.starts_with("f/"))
        .cloned()
        .collect();
    assert_eq!(got, want, "folder records");
}

async fn list(c: &Ctx, folder: &str) -> Option<Value> {
    match call(c, Operation::List, &format!("metadata/{folder}"), json!({})).await {
        Ok(r) => Some(r.data.map(Value::Object).unwrap_or(Value::Null)["keys"].clone()),
        Err(Error::NotFound) => None,
        Err(e) => panic!("list {folder}: {e:?}"),
    }
}

/// A `Physical` that records the keys read and the prefixes listed.
#[derive(Default)]
struct Counting {
    inner: vaultrs_storage::InmemBackend,
    gets: std::sync::Mutex<Vec<String>>,
    lists: std::sync::Mutex<Vec<String>>,
}

impl Counting {
    fn take(&self) -> (Vec<String>, Vec<String>) {
        (
            std::mem::take(&mut *self.gets.lock().unwrap()),
            std::mem::take(&mut *self.lists.lock().unwrap()),
        )
    }
}

#[async_trait]
impl vaultrs_storage::Physical for Counting {
    async fn get(&self, key: &str) -> vaultrs_storage::Result<Option<Vec<u8>>> {
        self.gets.lock().unwrap().push(key.to_owned());
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> vaultrs_storage::Result<Vec<String>> {
        self.lists.lock().unwrap().push(prefix.to_owned());
        self.inner.list(prefix).await
    }
    async fn commit(&self, batch: vaultrs_storage::Batch) -> vaultrs_storage::Result<u64> {
        self.inner.commit(batch).await
    }
    async fn keys(&self) -> vaultrs_storage::Result<Vec<String>> {
        self.inner.keys().await
    }
    fn last_seq(&self) -> u64 {
        self.inner.last_seq()
    }
    fn log_id(&self) -> vaultrs_storage::LogId {
        self.inner.log_id()
    }
}

/// A KV v2 mount at `prefix` over `physical`, sharing nothing with other tests.
async fn mount_on(barrier: &std::sync::Arc<vaultrs_storage::Barrier>, uuid: &str) -> Ctx {
    let mut c = v2().await;
    c.storage = crate::logical::StorageView::new(barrier.clone(), format!("logical/{uuid}/"));
    c
}

async fn counting_mount() -> (Ctx, std::sync::Arc<Counting>) {
    let counting = std::sync::Arc::new(Counting::default());
    let barrier = std::sync::Arc::new(vaultrs_storage::Barrier::new(counting.clone()));
    let init = barrier.init(1, 1).await.unwrap();
    barrier.unseal(&init.shares[0]).await.unwrap();
    (mount_on(&barrier, "counted").await, counting)
}

#[tokio::test]
async fn no_storage_key_shows_a_path_segment() {
    let c = v2().await;
    let engine = KvV2::new();
    let run = |op: Operation, path: &str, data: Value| {
        let req = Request::new(op, path).with_data(obj(data));
        let engine = &engine;
        let c = &c;
        async move { engine.handle(c, &req).await.unwrap() }
    };
    for p in ["prod/stripe", "prod/db/primary", "staging/stripe", "prod"] {
        run(
            Operation::Update,
            &format!("data/{p}"),
            json!({"data": {"k": p}}),
        )
        .await;
    }
    run(
        Operation::Update,
        "metadata/owners/finance",
        json!({"custom_metadata": {"team": "payments"}}),
    )
    .await;
    run(
        Operation::Patch,
        "data/prod/stripe",
        json!({"data": {"x": 1}}),
    )
    .await;
    run(
        Operation::Update,
        "destroy/prod/stripe",
        json!({"versions": [1]}),
    )
    .await;
    run(Operation::Delete, "data/staging/stripe", json!({})).await;
    let keys = c.storage.keys().await.unwrap();
    for word in [
        "prod", "stripe", "staging", "primary", "owners", "finance", "payments",
    ] {
        assert!(keys.iter().all(|k| !k.contains(word)), "{word} in {keys:?}");
    }
    // "db" is all hex: it may only be missing as a whole segment.
    assert!(keys.iter().all(|k| k.split('/').all(|s| s != "db")));
    super::migrate::tests::assert_layout1_keys(&keys);
    assert_folder_records_exact(&c).await;
    // And everything reads back by name.
    assert_eq!(
        get(&c, "prod/db/primary").await["data"],
        json!({"k": "prod/db/primary"})
    );
    assert_eq!(
        list(&c, "").await,
        Some(json!(["owners/", "prod", "prod/", "staging/"]))
    );
    assert_eq!(list(&c, "prod/").await, Some(json!(["db/", "stripe"])));
    assert_eq!(list(&c, "owners").await, Some(json!(["finance"])));
}

#[tokio::test]
async fn listing_reads_only_the_listed_folder() {
    let (c, counting) = counting_mount().await;
    let engine = KvV2::new();
    let run = |op: Operation, path: String, data: Value| {
        let req = Request::new(op, path).with_data(obj(data));
        let engine = &engine;
        let c = &c;
        async move { engine.handle(c, &req).await.unwrap() }
    };
    for p in ["small/a", "small/b", "small/sub/c"] {
        run(Operation::Update, format!("data/{p}"), json!({"data": {}})).await;
    }
    for i in 0..200 {
        run(
            Operation::Update,
            format!("data/big/x{i}"),
            json!({"data": {}}),
        )
        .await;
    }
    let store = Store::open(&c, &engine.salts).await.unwrap();
    let small = store.locate("small").unwrap().hashed;
    counting.take();

    let r = run(Operation::List, "metadata/small/".into(), json!({})).await;
    assert_eq!(r.data.unwrap()["keys"], json!(["a", "b", "sub/"]));
    let (gets, lists) = counting.take();
    // One list of the folder, one read per entry (two secrets, one folder record): no
    // salt read (cached), nothing of `big/`.
    assert_eq!(
        lists,
        [format!("logical/counted/kv2/m/{}/", small.as_str())]
    );
    assert_eq!(gets.len(), 3, "{gets:?}");
    let mine = |k: &String| {
        k.starts_with(&format!("logical/counted/kv2/m/{}/", small.as_str()))
            || k.starts_with(&format!("logical/counted/kv2/f/{}/", small.as_str()))
    };
    assert!(gets.iter().all(mine), "{gets:?}");

    // The root: two entries, two reads.
    let r = run(Operation::List, "metadata/".into(), json!({})).await;
    assert_eq!(r.data.unwrap()["keys"], json!(["big/", "small/"]));
    let (gets, lists) = counting.take();
    assert_eq!((gets.len(), lists.len()), (2, 1), "{gets:?} {lists:?}");

    // A read costs what it did before hashed paths: the metadata and the version.
    run(Operation::Read, "data/big/x7".into(), json!({})).await;
    let (gets, lists) = counting.take();
    assert_eq!((gets.len(), lists.len()), (2, 0), "{gets:?} {lists:?}");
    // An update of an existing secret reads its metadata and the config only.
    run(
        Operation::Update,
        "data/big/x7".into(),
        json!({"data": {"v": 2}}),
    )
    .await;
    let (gets, lists) = counting.take();
    assert_eq!((gets.len(), lists.len()), (2, 0), "{gets:?} {lists:?}");
}

#[tokio::test]
async fn nested_folder_cycles_leave_nothing_behind() {
    let c = v2().await;
    let paths = ["a/b/c/d", "a/b/x", "a/y", "a/b/c/e", "a/b", "a", "z/z/z"];
    // Deletion orders: as written, reversed, and interleaved.
    let orders: [&[usize]; 3] = [
        &[0, 1, 2, 3, 4, 5, 6],
        &[6, 5, 4, 3, 2, 1, 0],
        &[4, 0, 6, 2, 5, 3, 1],
    ];
    for (round, order) in orders.iter().enumerate() {
        for p in paths {
            put(&c, p, json!({"round": round})).await;
            assert_folder_records_exact(&c).await;
        }
        // Metadata-only secrets make folders too.
        ok(
            &c,
            Operation::Update,
            "metadata/m/n/o",
            json!({"max_versions": 2}),
        )
        .await;
        assert_eq!(list(&c, "").await, Some(json!(["a", "a/", "m/", "z/"])));
        assert_eq!(list(&c, "a/b/").await, Some(json!(["c/", "x"])));
        assert_eq!(list(&c, "a/b/c/").await, Some(json!(["d", "e"])));
        ok(&c, Operation::Delete, "metadata/m/n/o", json!({})).await;
        assert_eq!(list(&c, "m/").await, None);
        for &i in order.iter() {
            ok(
                &c,
                Operation::Delete,
                &format!("metadata/{}", paths[i]),
                json!({}),
            )
            .await;
            assert_folder_records_exact(&c).await;
            // Every folder listed holds something.
            for folder in ["", "a/", "a/b/", "a/b/c/", "z/", "z/z/"] {
                if let Some(keys) = list(&c, folder).await {
                    for k in keys.as_array().unwrap() {
                        let k = k.as_str().unwrap();
                        if k.ends_with('/') {
                            assert!(list(&c, &format!("{folder}{k}")).await.is_some());
                        }
                    }
                }
            }
        }
        assert_eq!(list(&c, "").await, None, "round {round}");
        assert_eq!(
            c.storage.sub(PREFIX).keys().await.unwrap(),
            ["salt"],
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_to_siblings_keep_the_listing_right() {
    let c = v2().await;
    let engine = std::sync::Arc::new(KvV2::new());
    let run = |engine: std::sync::Arc<KvV2>, c: Ctx, op: Operation, path: String| async move {
        let data = obj(json!({"data": {"p": path.clone()}}));
        engine
            .handle(&c, &Request::new(op, path).with_data(data))
            .await
            .unwrap();
    };
    // Rounds of: create siblings in a new folder while the folder's last old secret and
    // others go away, all at once.
    for round in 0..20 {
        put(&c, &format!("f{round}/old"), json!({})).await;
        put(&c, &format!("g/h{round}/old"), json!({})).await;
        let mut tasks = Vec::new();
        for i in 0..6 {
            for path in [format!("f{round}/s{i}"), format!("g/h{round}/deep/s{i}")] {
                tasks.push(tokio::spawn(run(
                    engine.clone(),
                    c.clone(),
                    Operation::Update,
                    format!("data/{path}"),
                )));
            }
        }
        for path in [format!("f{round}/old"), format!("g/h{round}/old")] {
            tasks.push(tokio::spawn(run(
                engine.clone(),
                c.clone(),
                Operation::Delete,
                format!("metadata/{path}"),
            )));
        }
        if round > 0 {
            // Empty the previous round's folders entirely, concurrently.
            for i in 0..6 {
                for path in [
                    format!("f{}/s{i}", round - 1),
                    format!("g/h{}/deep/s{i}", round - 1),
                ] {
                    tasks.push(tokio::spawn(run(
                        engine.clone(),
                        c.clone(),
                        Operation::Delete,
                        format!("metadata/{path}"),
                    )));
                }
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let siblings: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
        assert_eq!(list(&c, &format!("f{round}/")).await, Some(json!(siblings)));
        assert_eq!(
            list(&c, &format!("g/h{round}/")).await,
            Some(json!(["deep/"]))
        );
        assert_eq!(
            list(&c, &format!("g/h{round}/deep/")).await,
            Some(json!(siblings))
        );
        assert_eq!(
            list(&c, "").await,
            Some(json!([format!("f{round}/"), "g/"]))
        );
        assert_eq!(list(&c, "g/").await, Some(json!([format!("h{round}/")])));
        assert_folder_records_exact(&c).await;
    }
}

#[tokio::test]
async fn one_engine_many_mounts_and_invalidation() {
    let barrier = crate::logical::test_support::unsealed_barrier().await;
    let (m1, m2) = (
        mount_on(&barrier, "m1").await,
        mount_on(&barrier, "m2").await,
    );
    let engine = KvV2::new();
    let write = |c: &Ctx, v: i64| {
        let req =
            Request::new(Operation::Update, "data/s").with_data(obj(json!({"data": {"v": v}})));
        let (engine, c) = (&engine, c.clone());
        async move { engine.handle(&c, &req).await.unwrap() }
    };
    let read = |c: &Ctx| {
        let (engine, c) = (&engine, c.clone());
        async move {
            match engine
                .handle(&c, &Request::new(Operation::Read, "data/s"))
                .await
            {
                Ok(r) => Some(r.data.unwrap()["data"]["v"].clone()),
                Err(Error::NotFound) => None,
                Err(e) => panic!("{e:?}"),
            }
        }
    };
    write(&m1, 1).await;
    write(&m2, 2).await;
    assert_eq!(read(&m1).await, Some(json!(1)));
    assert_eq!(read(&m2).await, Some(json!(2)));
    // Each mount has its own salt.
    let salt = |c: &Ctx| {
        let c = c.clone();
        async move { c.storage.get("kv2/salt").await.unwrap().unwrap() }
    };
    assert_ne!(salt(&m1).await, salt(&m2).await);

    // Replication replaces m1's data underneath with another cluster's (another salt).
    let other = v2().await;
    put(&other, "s", json!({"v": 3})).await;
    let mut batch = ViewBatch::new();
    for k in m1.storage.keys().await.unwrap() {
        batch.delete(k);
    }
    for k in other.storage.keys().await.unwrap() {
        batch.put(k.clone(), other.storage.get(&k).await.unwrap().unwrap());
    }
    m1.storage.commit(batch).await.unwrap();
    // The cached salt no longer finds it, until the core says the salt changed.
    assert_eq!(read(&m1).await, None);
    engine.invalidate("kv2/config");
    assert_eq!(read(&m1).await, None);
    engine.invalidate("kv2/salt");
    assert_eq!(read(&m1).await, Some(json!(3)));
    assert_eq!(read(&m2).await, Some(json!(2)));
}

#[tokio::test]
async fn deep_paths_are_refused_and_bounded() {
    let c = v2().await;
    let deepest = vec!["d"; super::MAX_DEPTH].join("/");
    put(&c, &deepest, json!({"ok": true})).await;
    assert_eq!(get(&c, &deepest).await["data"], json!({"ok": true}));
    let parent = vec!["d"; super::MAX_DEPTH - 1].join("/");
    assert_eq!(list(&c, &format!("{parent}/")).await, Some(json!(["d"])));
    let too_deep = format!("{deepest}/d");
    for p in [format!("data/{too_deep}"), format!("metadata/{too_deep}")] {
        let msg = invalid_msg(
            call(
                &c,
                Operation::Update,
                &p,
                json!({"data": {}, "max_versions": 1}),
            )
            .await,
        );
        assert!(msg.contains("segments"), "{msg}");
    }
    assert!(is_not_found(
        &call(&c, Operation::Read, &format!("data/{too_deep}"), json!({})).await
    ));
    assert_eq!(list(&c, &format!("{deepest}/")).await, None);
    assert_eq!(list(&c, &format!("{too_deep}/")).await, None);
    ok(
        &c,
        Operation::Delete,
        &format!("metadata/{too_deep}"),
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn listing_survives_a_missing_folder_record() {
    let c = v2().await;
    put(&c, "x/y/z", json!({})).await;
    put(&c, "x/w", json!({})).await;
    // A replica copying keys one by one may hold a folder without its record for a while.
    let view = c.storage.sub(PREFIX);
    for k in view.keys().await.unwrap() {
        if k.starts_with("f/") {
            view.delete(&k).await.unwrap();
        }
    }
    assert_eq!(list(&c, "").await, Some(json!(["x/"])));
    assert_eq!(list(&c, "x/").await, Some(json!(["w", "y/"])));
}

#[tokio::test]
async fn metadata_under_the_wrong_key_is_never_served() {
    let c = v2().await;
    put(&c, "a", json!({"secret": "a"})).await;
    put(&c, "b", json!({"secret": "b"})).await;
    let engine = KvV2::new();
    let store = Store::open(&c, &engine.salts).await.unwrap();
    let (a, b) = (store.locate("a").unwrap(), store.locate("b").unwrap());
    // As if `b` hashed like `a` (a collision) or an entry were misplaced.
    let meta_a = store.view.get(&a.hashed.meta_key()).await.unwrap().unwrap();
    store.view.put(&b.hashed.meta_key(), &meta_a).await.unwrap();
    let r = call(&c, Operation::Read, "data/b", json!({})).await;
    assert!(matches!(r, Err(Error::Internal(_))), "{r:?}");
    let r = call(&c, Operation::Update, "data/b", json!({"data": {}})).await;
    assert!(matches!(r, Err(Error::Internal(_))), "{r:?}");
}

#[tokio::test]
async fn refused_first_writes_store_no_salt() {
    let c = v2().await;
    let too_deep = vec!["d"; super::MAX_DEPTH + 1].join("/");
    for (path, body) in [
        ("data/x".to_owned(), json!({})),
        ("data/x".to_owned(), json!({"data": "str"})),
        (
            "data/x".to_owned(),
            json!({"data": {}, "options": {"cas": "abc"}}),
        ),
        ("data/a//b".to_owned(), json!({"data": {}})),
        (format!("data/{too_deep}"), json!({"data": {}})),
        ("metadata/x".to_owned(), json!({"max_versions": -1})),
        (
            "metadata/x".to_owned(),
            json!({"custom_metadata": {"k": ""}}),
        ),
        (format!("metadata/{too_deep}"), json!({"max_versions": 1})),
    ] {
        invalid_msg(call(&c, Operation::Update, &path, body).await);
    }
    // Nor do reads, lists and deletes of a mount that never stored anything.
    assert!(is_not_found(
        &call(&c, Operation::Read, "data/x", json!({})).await
    ));
    assert_eq!(list(&c, "").await, None);
    ok(&c, Operation::Delete, "metadata/x", json!({})).await;
    assert!(c.storage.keys().await.unwrap().is_empty());
}
