//! Roles: create, read, list and delete, warnings, bad input refused without changes, and
//! role ids (generated, chosen, replaced).

use super::*;

#[tokio::test]
async fn role_crud_and_list() {
    let (e, c) = setup().await;
    assert!(matches!(
        call(&e, &c, Operation::List, "role", json!({})).await,
        Err(Error::NotFound)
    ));
    let exists = |path: &'static str| {
        let (e, c) = (&e, &c);
        async move {
            e.exists(c, &Request::new(Operation::Update, path))
                .await
                .unwrap()
        }
    };
    assert_eq!(exists("role/MyRole").await, Some(false));
    let r = call(
        &e,
        &c,
        Operation::Create,
        "role/MyRole",
        json!({
            "policies": "b,a", "token_ttl": "1m", "token_max_ttl": 600,
            "secret_id_num_uses": 3, "secret_id_ttl": "10m",
        }),
    )
    .await
    .unwrap();
    assert!(r.data.is_none() && r.warnings.is_empty(), "{r:?}");
    // Names are lower-cased: any case finds the role.
    assert_eq!(exists("role/MyRole").await, Some(true));
    assert_eq!(exists("role/myrole").await, Some(true));
    assert_eq!(exists("role/bad name").await, Some(false));
    assert_eq!(exists("role/x/role-id").await, None);

    let d = ok(&e, &c, Operation::Read, "role/MYROLE", json!({})).await;
    assert_eq!(d["bind_secret_id"], true);
    assert_eq!(d["secret_id_bound_cidrs"], json!([]));
    assert_eq!(d["secret_id_num_uses"], 3);
    assert_eq!(d["secret_id_ttl"], 600);
    assert_eq!(d["local_secret_ids"], false);
    assert_eq!(d["token_policies"], json!(["a", "b"]));
    assert_eq!(d["policies"], json!(["a", "b"]));
    assert_eq!(d["token_ttl"], 60);
    assert_eq!(d["token_max_ttl"], 600);
    assert_eq!(d["token_type"], "default");
    assert_eq!(d["token_bound_cidrs"], json!([]));
    assert!(
        d.get("role_id").is_none(),
        "the role read does not show the role id"
    );

    // An update changes only what it names.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/myrole",
        json!({"secret_id_num_uses": 5}),
    )
    .await;
    let d = ok(&e, &c, Operation::Read, "role/myrole", json!({})).await;
    assert_eq!(d["secret_id_num_uses"], 5);
    assert_eq!(d["secret_id_ttl"], 600);
    assert_eq!(d["token_policies"], json!(["a", "b"]));

    ok(
        &e,
        &c,
        Operation::Create,
        "role/other.role@x",
        json!({"local_secret_ids": true}),
    )
    .await;
    let d = ok(
        &e,
        &c,
        Operation::Read,
        "role/other.role@x/local-secret-ids",
        json!({}),
    )
    .await;
    assert_eq!(d["local_secret_ids"], true);
    let d = ok(&e, &c, Operation::List, "role/", json!({})).await;
    assert_eq!(keys(&d), json!(["myrole", "other.role@x"]));

    let r = call(&e, &c, Operation::Delete, "role/MyRole", json!({}))
        .await
        .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(&e, &c, Operation::Read, "role/myrole", json!({})).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        call(&e, &c, Operation::Read, "role/myrole/role-id", json!({})).await,
        Err(Error::NotFound)
    ));
    // Deleting what is gone is fine.
    call(&e, &c, Operation::Delete, "role/myrole", json!({}))
        .await
        .unwrap();
    call(&e, &c, Operation::Delete, "role/other.role@x", json!({}))
        .await
        .unwrap();
    assert!(matches!(
        call(&e, &c, Operation::List, "role", json!({})).await,
        Err(Error::NotFound)
    ));
    // Only the HMAC key is left.
    assert_eq!(c.storage.keys().await.unwrap(), ["salt"]);
}

#[tokio::test]
async fn role_warnings() {
    let (e, c) = setup().await;
    let r = call(
        &e,
        &c,
        Operation::Create,
        "role/w",
        json!({"bogus": 1, "token_type": "default-service", "token_max_ttl": "10000h"}),
    )
    .await
    .unwrap();
    let all = r.warnings.join("\n");
    assert!(all.contains("unrecognized parameters: [bogus]"), "{all}");
    assert!(all.contains("adjusting to service"), "{all}");
    assert!(all.contains("token_max_ttl is greater"), "{all}");
    let d = ok(&e, &c, Operation::Read, "role/w", json!({})).await;
    assert_eq!(d["token_type"], "service");
}

#[tokio::test]
async fn bad_role_input_changes_nothing() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/keep",
        json!({"token_policies": "p"}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/other",
        json!({"role_id": "taken"}),
    )
    .await;
    new_secret(&e, &c, "keep", json!({})).await;
    let before = dump_both(&c).await;
    let long = "a".repeat(MAX_ROLE_NAME_LEN + 1);
    for name in ["-a", "a-", "a b", "a$b", ".x", long.as_str()] {
        let r = call(
            &e,
            &c,
            Operation::Create,
            &format!("role/{name}"),
            json!({}),
        )
        .await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{name}: {r:?}");
        let r = call(&e, &c, Operation::Read, &format!("role/{name}"), json!({})).await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{name}: {r:?}");
    }
    assert_invalid(
        call(&e, &c, Operation::Create, "role//secret-id", json!({})).await,
        "missing role_name",
    );
    for (path, body, needle) in [
        (
            "role/new",
            json!({"bind_secret_id": false}),
            "at least one constraint",
        ),
        (
            "role/keep",
            json!({"bind_secret_id": false}),
            "at least one constraint",
        ),
        (
            "role/new",
            json!({"secret_id_num_uses": -1}),
            "cannot be negative",
        ),
        (
            "role/new",
            json!({"secret_id_bound_cidrs": "10.0.0.0/33"}),
            "invalid CIDR",
        ),
        (
            "role/new",
            json!({"bound_cidr_list": ["nope"]}),
            "invalid CIDR",
        ),
        (
            "role/new",
            json!({"token_bound_cidrs": "10.0.0.0/8"}),
            "token_bound_cidrs",
        ),
        (
            "role/new",
            json!({"token_ttl": 100, "token_max_ttl": 10}),
            "token_ttl",
        ),
        (
            "role/new",
            json!({"secret_id_ttl": "soon"}),
            "secret_id_ttl",
        ),
        (
            "role/new",
            json!({"bind_secret_id": "maybe"}),
            "bind_secret_id",
        ),
        ("role/new", json!({"role_id": ""}), "invalid role_id"),
        (
            "role/new",
            json!({"role_id": "taken"}),
            "role_id already in use",
        ),
        (
            "role/keep",
            json!({"role_id": "taken"}),
            "role_id already in use",
        ),
        (
            "role/keep",
            json!({"local_secret_ids": true}),
            "only be modified during role creation",
        ),
        (
            "role/keep/role-id",
            json!({"role_id": ""}),
            "missing role_id",
        ),
        (
            "role/keep/role-id",
            json!({"role_id": "taken"}),
            "role_id already in use",
        ),
        (
            "role/keep/secret-id",
            json!({"num_uses": -1}),
            "cannot be negative",
        ),
        (
            "role/keep/secret-id",
            json!({"cidr_list": "300.1.1.1"}),
            "invalid CIDR",
        ),
        (
            "role/keep/secret-id",
            json!({"token_bound_cidrs": ["10.0.0.1"]}),
            "token_bound_cidrs",
        ),
        (
            "role/keep/secret-id",
            json!({"metadata": "{oops"}),
            "metadata",
        ),
        (
            "role/keep/secret-id",
            json!({"metadata": {"a": 1}}),
            "metadata",
        ),
        (
            "role/keep/secret-id",
            json!({"metadata": "novalue"}),
            "metadata",
        ),
        ("role/keep/custom-secret-id", json!({}), "missing secret_id"),
        ("role/keep/secret-id/lookup", json!({}), "missing secret_id"),
        (
            "role/keep/secret-id/destroy",
            json!({}),
            "missing secret_id",
        ),
        (
            "role/keep/secret-id-accessor/lookup",
            json!({}),
            "missing secret_id_accessor",
        ),
        (
            "role/nope/secret-id/lookup",
            json!({"secret_id": "x"}),
            "does not exist",
        ),
        (
            "role/nope/secret-id/destroy",
            json!({"secret_id": "x"}),
            "does not exist",
        ),
        ("login", json!({"secret_id": "x"}), "missing role_id"),
    ] {
        assert_invalid(
            call(&e, &c, Operation::Update, path, body.clone()).await,
            needle,
        );
    }
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/nope/role-id",
            json!({"role_id": "z"})
        )
        .await,
        Err(Error::UnsupportedPath(_))
    ));
    assert!(matches!(
        call(&e, &c, Operation::Update, "role/nope/secret-id", json!({})).await,
        Err(Error::UnsupportedPath(_))
    ));
    assert_eq!(dump_both(&c).await, before);
}

#[tokio::test]
async fn role_ids() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/b",
        json!({"role_id": "chosen-b"}),
    )
    .await;
    let generated = role_id(&e, &c, "a").await;
    assert_eq!(generated.len(), 36, "{generated}");
    assert_ne!(generated, role_id(&e, &c, "b").await);
    assert_eq!(role_id(&e, &c, "b").await, "chosen-b");
    let (secret, _) = new_secret(&e, &c, "a", json!({})).await;
    login(&e, &c, &generated, &secret).await.unwrap();

    // A custom role id replaces the old one, which stops working.
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/a/role-id",
        json!({"role_id": "my-id"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert_eq!(role_id(&e, &c, "a").await, "my-id");
    login(&e, &c, "my-id", &secret).await.unwrap();
    assert_refused(login(&e, &c, &generated, &secret).await);
    // Setting a role's own id again is fine; another role's is not.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a/role-id",
        json!({"role_id": "my-id"}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a",
        json!({"role_id": "my-id"}),
    )
    .await;
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/b/role-id",
            json!({"role_id": "my-id"}),
        )
        .await,
        "role_id already in use",
    );
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Create,
            "role/c",
            json!({"role_id": "my-id"}),
        )
        .await,
        "role_id already in use",
    );
    // The generated id is free again.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/c",
        json!({"role_id": generated}),
    )
    .await;
    assert_eq!(role_id(&e, &c, "c").await, generated);

    // One index entry per role, keyed by hash: no role id appears in a key.
    let storage_keys = c.storage.keys().await.unwrap();
    let index: Vec<&String> = storage_keys
        .iter()
        .filter(|k| k.starts_with("role_id/"))
        .collect();
    assert_eq!(index.len(), 3, "{storage_keys:?}");
    for id in ["my-id", "chosen-b", generated.as_str()] {
        assert!(
            storage_keys.iter().all(|k| !k.contains(id)),
            "{id} in {storage_keys:?}"
        );
    }
    // Deleting a role frees its id and drops its index entry.
    call(&e, &c, Operation::Delete, "role/b", json!({}))
        .await
        .unwrap();
    let storage_keys = c.storage.keys().await.unwrap();
    assert_eq!(
        storage_keys
            .iter()
            .filter(|k| k.starts_with("role_id/"))
            .count(),
        2
    );
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a/role-id",
        json!({"role_id": "chosen-b"}),
    )
    .await;
}
