//! Secret ids: their lifecycle, custom secret ids, defaults and caps from the role, and
//! the forms `metadata` may take.

use super::*;

#[tokio::test]
async fn secret_id_lifecycle() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    assert!(matches!(
        call(&e, &c, Operation::List, "role/app/secret-id", json!({})).await,
        Err(Error::NotFound)
    ));
    // Looking up before any secret id exists: nothing.
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": "x"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());

    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id",
        json!({"metadata": "{\"env\":\"prod\"}", "cidr_list": "10.0.0.0/8,192.168.1.1"}),
    )
    .await;
    let secret = d["secret_id"].as_str().unwrap().to_owned();
    let accessor = d["secret_id_accessor"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 36);
    assert_ne!(secret, accessor);
    assert_eq!(d["secret_id_ttl"], 0);
    assert_eq!(d["secret_id_num_uses"], 0);

    let d = ok(&e, &c, Operation::List, "role/app/secret-id/", json!({})).await;
    assert_eq!(keys(&d), json!([accessor]));

    let by_id = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;
    assert_eq!(by_id["secret_id_accessor"], accessor.as_str());
    assert_eq!(by_id["metadata"], json!({"env": "prod"}));
    assert_eq!(by_id["cidr_list"], json!(["10.0.0.0/8", "192.168.1.1"]));
    assert_eq!(by_id["token_bound_cidrs"], json!([]));
    assert_eq!(by_id["secret_id_num_uses"], 0);
    assert_eq!(by_id["secret_id_ttl"], 0);
    assert_eq!(by_id["expiration_time"], "0001-01-01T00:00:00Z");
    let created = by_id["creation_time"].as_str().unwrap();
    assert!(
        created.starts_with("20") && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(by_id["last_updated_time"], by_id["creation_time"]);
    assert!(by_id.get("secret_id").is_none());
    let by_accessor = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id-accessor/lookup",
        json!({"secret_id_accessor": accessor}),
    )
    .await;
    assert_eq!(by_accessor, by_id);

    // Unknown ids: a lookup by id answers nothing (204), by accessor 404.
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": "nope"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/secret-id-accessor/lookup",
            json!({"secret_id_accessor": "nope"})
        )
        .await,
        Err(Error::NotFound)
    ));

    // Another role cannot see or destroy this secret id.
    ok(&e, &c, Operation::Create, "role/other", json!({})).await;
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/other/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/other/secret-id-accessor/lookup",
            json!({"secret_id_accessor": accessor})
        )
        .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Delete,
            "role/other/secret-id-accessor/destroy",
            json!({"secret_id_accessor": accessor})
        )
        .await,
        Err(Error::NotFound)
    ));
    call(
        &e,
        &c,
        Operation::Update,
        "role/other/secret-id/destroy",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;

    // Destroy by id (DELETE with a body, as Vault allows).
    let r = call(
        &e,
        &c,
        Operation::Delete,
        "role/app/secret-id/destroy",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(&e, &c, Operation::List, "role/app/secret-id", json!({})).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/secret-id-accessor/lookup",
            json!({"secret_id_accessor": accessor})
        )
        .await,
        Err(Error::NotFound)
    ));
    // Destroying an unknown secret id is no error.
    call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/destroy",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();

    // Destroy by accessor.
    let (secret2, accessor2) = new_secret(&e, &c, "app", json!({})).await;
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id-accessor/destroy",
        json!({"secret_id_accessor": accessor2}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    let rid = role_id(&e, &c, "app").await;
    assert_refused(login(&e, &c, &rid, &secret2).await);
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/secret-id-accessor/destroy",
            json!({"secret_id_accessor": accessor2})
        )
        .await,
        Err(Error::NotFound)
    ));
    // Nothing is left of either secret id.
    assert_eq!(c.local.keys().await.unwrap(), ["salt"]);
}

#[tokio::test]
async fn custom_secret_ids() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    ok(&e, &c, Operation::Create, "role/other", json!({})).await;
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/custom-secret-id",
        json!({"secret_id": "my-secret", "num_uses": 4}),
    )
    .await;
    assert_eq!(d["secret_id"], "my-secret");
    assert_eq!(d["secret_id_num_uses"], 4);
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/custom-secret-id",
            json!({"secret_id": "my-secret"}),
        )
        .await,
        "SecretID is already registered",
    );
    // The same value under another role is another secret id.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/other/custom-secret-id",
        json!({"secret_id": "my-secret"}),
    )
    .await;
    let rid = role_id(&e, &c, "app").await;
    let auth = login(&e, &c, &rid, "my-secret").await.unwrap();
    assert_eq!(auth.metadata["role_name"], "app");
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": "my-secret"}),
    )
    .await;
    assert_eq!(d["secret_id_num_uses"], 3);
}

#[tokio::test]
async fn secret_id_defaults_and_caps() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/capped",
        json!({"secret_id_num_uses": 5, "secret_id_ttl": "10m"}),
    )
    .await;
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/capped/secret-id",
        json!({}),
    )
    .await;
    assert_eq!(
        (d["secret_id_num_uses"].clone(), d["secret_id_ttl"].clone()),
        (json!(5), json!(600))
    );
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/capped/secret-id",
        json!({"num_uses": 2, "ttl": "1m"}),
    )
    .await;
    assert_eq!(
        (d["secret_id_num_uses"].clone(), d["secret_id_ttl"].clone()),
        (json!(2), json!(60))
    );
    let secret = d["secret_id"].as_str().unwrap();
    let l = ok(
        &e,
        &c,
        Operation::Update,
        "role/capped/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;
    assert_eq!(l["secret_id_ttl"], 60);
    assert_ne!(l["expiration_time"], "0001-01-01T00:00:00Z");
    for (body, needle) in [
        (json!({"num_uses": 6}), "num_uses cannot be higher"),
        (json!({"num_uses": 0}), "num_uses cannot be higher"),
        (json!({"ttl": "11m"}), "ttl cannot be longer"),
        (json!({"ttl": 0}), "ttl cannot be longer"),
    ] {
        assert_invalid(
            call(&e, &c, Operation::Update, "role/capped/secret-id", body).await,
            needle,
        );
    }

    // No caps on the role: anything goes, but the mount's max lease TTL bounds the TTL.
    ok(&e, &c, Operation::Create, "role/free", json!({})).await;
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/free/secret-id",
        json!({"num_uses": 100, "ttl": "10000h"}),
    )
    .await;
    assert_eq!(d["secret_id_num_uses"], 100);
    assert_eq!(d["secret_id_ttl"], 768 * 3600);

    // A role without bind_secret_id has no secret ids.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/open",
        json!({"bind_secret_id": false, "secret_id_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    assert_invalid(
        call(&e, &c, Operation::Update, "role/open/secret-id", json!({})).await,
        "bind_secret_id is not set",
    );
    // A secret id's CIDRs must lie within the role's.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/net",
        json!({"secret_id_bound_cidrs": ["10.0.0.0/8"]}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Update,
        "role/net/secret-id",
        json!({"cidr_list": "10.1.0.0/16,10.2.3.4"}),
    )
    .await;
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/net/secret-id",
            json!({"cidr_list": "10.1.0.0/16,11.0.0.0/16"}),
        )
        .await,
        "within the role",
    );
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/net/secret-id",
            json!({"cidr_list": "0.0.0.0/0"}),
        )
        .await,
        "within the role",
    );
}

#[test]
fn metadata_forms() {
    let parse = |v: Value| secret_id_metadata(Some(&v));
    let want: std::collections::BTreeMap<String, String> = [
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "x=y".to_owned()),
    ]
    .into();
    assert_eq!(parse(json!("{\"a\":\"1\",\"b\":\"x=y\"}")).unwrap(), want);
    assert_eq!(parse(json!({"a": "1", "b": "x=y"})).unwrap(), want);
    let b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "{\"a\":\"1\",\"b\":\"x=y\"}",
    );
    assert_eq!(parse(json!(b64)).unwrap(), want);
    assert_eq!(parse(json!("a=1, b=x=y")).unwrap(), want);
    assert!(parse(json!("")).unwrap().is_empty());
    assert!(secret_id_metadata(None).unwrap().is_empty());
    for bad in [
        json!("{\"a\":1}"),
        json!("{bad"),
        json!("=x"),
        json!(["a"]),
        json!(5),
    ] {
        assert!(parse(bad.clone()).is_err(), "{bad}");
    }
}

fn secret_id_metadata(v: Option<&Value>) -> Result<std::collections::BTreeMap<String, String>> {
    secret_id::parse_metadata(v)
}
