//! Versions: soft delete, undelete and destroy, and pruning to `max_versions`.

use super::*;

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
