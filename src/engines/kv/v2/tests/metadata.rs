//! `metadata/`: read, list, delete, write and patch, and metadata found under the wrong key.

use super::*;

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
