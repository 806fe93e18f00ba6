//! Layout 1's storage: hashed keys that show no path segment, a salt per mount and its
//! invalidation, and no salt stored by refused first writes.

use super::*;

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
