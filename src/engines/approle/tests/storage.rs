//! What is stored where: secrets only hashed, secret ids only in the local view, and the
//! secret ids of deleted or vanished roles removed.

use super::*;

#[tokio::test]
async fn secrets_stay_hashed_and_local() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/a",
        json!({"role_id": "role-a-credential"}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/b",
        json!({"local_secret_ids": true}),
    )
    .await;
    let mut secrets = vec!["custom-secret-value".to_owned()];
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a/custom-secret-id",
        json!({"secret_id": secrets[0]}),
    )
    .await;
    for (role, uses) in [("a", 0), ("a", 3), ("b", 0), ("b", 2)] {
        let (s, _) = new_secret(&e, &c, role, json!({"num_uses": uses, "metadata": "k=v"})).await;
        secrets.push(s);
    }
    let rid_b = role_id(&e, &c, "b").await;
    login(&e, &c, &rid_b, &secrets[4]).await.unwrap();

    let (storage, local) = dump_both(&c).await;
    for (key, value) in storage.iter().chain(local.iter()) {
        let text = String::from_utf8_lossy(value);
        for secret in &secrets {
            assert!(!key.contains(secret.as_str()), "secret id in key {key}");
            assert!(
                !text.contains(secret.as_str()),
                "secret id in the value of {key}"
            );
        }
        assert!(!key.contains("role-a-credential"), "role id in key {key}");
    }
    // Secret ids and accessors live only in the local view; roles only in the replicated one.
    assert!(storage
        .iter()
        .all(|(k, _)| k == "salt" || k.starts_with("role/") || k.starts_with("role_id/")));
    assert_eq!(
        local
            .iter()
            .filter(|(k, _)| k.starts_with("secret_id/"))
            .count(),
        5
    );
    assert_eq!(
        local
            .iter()
            .filter(|(k, _)| k.starts_with("accessor/"))
            .count(),
        5
    );
    assert!(local
        .iter()
        .all(|(k, _)| k == "salt" || k.starts_with("secret_id/") || k.starts_with("accessor/")));
    assert!(c.local.prefix().starts_with("local/"));
    // The two views hash with different keys.
    let salt = |d: &[(String, Vec<u8>)]| d.iter().find(|(k, _)| k == "salt").unwrap().1.clone();
    assert_ne!(salt(&storage), salt(&local));
}

#[tokio::test]
async fn deleting_a_role_deletes_its_secret_ids() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/gone", json!({})).await;
    ok(&e, &c, Operation::Create, "role/kept", json!({})).await;
    let rid = role_id(&e, &c, "gone").await;
    let (secret, _) = new_secret(&e, &c, "gone", json!({})).await;
    new_secret(&e, &c, "gone", json!({"num_uses": 3})).await;
    let (kept, kept_accessor) = new_secret(&e, &c, "kept", json!({})).await;
    call(&e, &c, Operation::Delete, "role/gone", json!({}))
        .await
        .unwrap();
    assert_refused(login(&e, &c, &rid, &secret).await);
    let local = c.local.keys().await.unwrap();
    assert_eq!(
        local.len(),
        3,
        "salt and one secret id with its accessor: {local:?}"
    );
    // The same name again is a new role: the old secret ids do not come back.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/gone",
        json!({"role_id": rid}),
    )
    .await;
    assert_refused(login(&e, &c, &rid, &secret).await);
    let kept_rid = role_id(&e, &c, "kept").await;
    login(&e, &c, &kept_rid, &kept).await.unwrap();
    let d = ok(&e, &c, Operation::List, "role/kept/secret-id", json!({})).await;
    assert_eq!(keys(&d), json!([kept_accessor]));
}

#[tokio::test]
async fn tidy_removes_secret_ids_of_vanished_roles() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    ok(&e, &c, Operation::Create, "role/b", json!({})).await;
    new_secret(&e, &c, "a", json!({})).await;
    new_secret(&e, &c, "a", json!({})).await;
    let (kept, _) = new_secret(&e, &c, "b", json!({})).await;
    // The role goes away the way replication would delete it: storage only.
    let index: Vec<String> = c.storage.keys().await.unwrap();
    let rid_a = role_id(&e, &c, "a").await;
    for key in index {
        if key == "role/a" {
            c.storage.delete(&key).await.unwrap();
        }
    }
    let r = call(&e, &c, Operation::Update, "tidy/secret-id", json!({}))
        .await
        .unwrap();
    assert!(!r.warnings.is_empty());
    let local = c.local.keys().await.unwrap();
    assert_eq!(local.len(), 3, "{local:?}");
    assert_refused(login(&e, &c, &rid_a, &kept).await);
    let rid_b = role_id(&e, &c, "b").await;
    login(&e, &c, &rid_b, &kept).await.unwrap();
}
