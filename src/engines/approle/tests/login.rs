//! Login: the token a role grants, refusals that look alike, expired secret ids, use
//! counts (also under concurrent logins) and CIDR bindings.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::*;

#[tokio::test]
async fn login_grants_the_role_token() {
    let (e, c) = setup().await;
    assert!(e.is_login_path("login"));
    assert!(!e.is_login_path("role/web"));
    assert!(!e.is_login_path("login/x"));
    ok(
        &e,
        &c,
        Operation::Create,
        "role/Web",
        json!({
            "token_policies": ["ops", "dev"], "token_ttl": "1h", "token_max_ttl": "2h",
            "token_num_uses": 3, "token_no_default_policy": true, "token_period": 0,
        }),
    )
    .await;
    let rid = role_id(&e, &c, "web").await;
    let (secret, _) = new_secret(&e, &c, "web", json!({"metadata": "{\"team\":\"blue\"}"})).await;
    let auth = login(&e, &c, &rid, &secret).await.unwrap();
    assert_eq!(auth.policies, ["dev", "ops"]);
    assert!(auth.no_default_policy);
    assert_eq!(auth.display_name, "");
    assert_eq!(auth.ttl, Duration::from_secs(3600));
    assert_eq!(auth.max_ttl, Duration::from_secs(7200));
    assert_eq!(auth.num_uses, 3);
    assert!(auth.renewable);
    assert_eq!(
        auth.metadata,
        [
            ("role_name".to_owned(), "web".to_owned()),
            ("team".to_owned(), "blue".to_owned())
        ]
        .into()
    );
    // Unlimited uses: it works again, and surrounding whitespace is ignored (as Vault).
    login(&e, &c, &format!(" {rid} "), &format!("{secret}\n"))
        .await
        .unwrap();
    // The role's token settings apply from the next login on.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/web",
        json!({"token_policies": "other"}),
    )
    .await;
    let auth = login(&e, &c, &rid, &secret).await.unwrap();
    assert_eq!(auth.policies, ["other"]);
}

#[tokio::test]
async fn login_refusals_look_alike() {
    let (e, c) = setup().await;
    // No role at all yet.
    assert_refused(login(&e, &c, "whatever", "x").await);
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    ok(&e, &c, Operation::Create, "role/b", json!({})).await;
    let (rid_a, rid_b) = (role_id(&e, &c, "a").await, role_id(&e, &c, "b").await);
    // No secret id anywhere yet.
    assert_refused(login(&e, &c, &rid_a, "x").await);
    let (secret_a, _) = new_secret(&e, &c, "a", json!({})).await;
    let (secret_b, _) = new_secret(&e, &c, "b", json!({})).await;
    let before = dump_both(&c).await;
    assert_refused(login(&e, &c, &rid_a, "wrong").await);
    assert_refused(login(&e, &c, &rid_a, &secret_b).await);
    assert_refused(login(&e, &c, &rid_b, &secret_a).await);
    assert_refused(login(&e, &c, &rid_a, "").await);
    assert_refused(login(&e, &c, "unknown-role-id", &secret_a).await);
    assert_refused(login(&e, &c, &secret_a, &rid_a).await);
    assert_refused(login(&e, &c, &rid_a, &"x".repeat(5000)).await);
    assert_invalid(login(&e, &c, "", &secret_a).await, "missing role_id");
    // Refusals change nothing.
    assert_eq!(dump_both(&c).await, before);
    login(&e, &c, &rid_a, &secret_a).await.unwrap();
    login(&e, &c, &rid_b, &secret_b).await.unwrap();
}

#[tokio::test]
async fn expired_secret_ids_are_refused_and_tidied() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    let rid = role_id(&e, &c, "app").await;
    let (short, short_accessor) = new_secret(&e, &c, "app", json!({"ttl": 1})).await;
    let (short2, _) = new_secret(&e, &c, "app", json!({"ttl": "1s"})).await;
    let (long, long_accessor) = new_secret(&e, &c, "app", json!({"ttl": "1h"})).await;
    let (forever, forever_accessor) = new_secret(&e, &c, "app", json!({})).await;
    login(&e, &c, &rid, &short).await.unwrap();

    e.skew_secs.store(2, Ordering::SeqCst);
    assert_refused(login(&e, &c, &rid, &short).await);
    // The refused login dropped the expired secret id.
    let d = ok(&e, &c, Operation::List, "role/app/secret-id", json!({})).await;
    let mut left = vec![long_accessor.clone(), forever_accessor.clone()];
    let listed = keys(&d);
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert!(!listed.as_array().unwrap().contains(&json!(short_accessor)));
    login(&e, &c, &rid, &long).await.unwrap();

    // Tidy removes the other expired one, and nothing else.
    let r = call(&e, &c, Operation::Update, "tidy/secret-id", json!({}))
        .await
        .unwrap();
    assert!(r.data.is_none());
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    left.sort();
    let d = ok(&e, &c, Operation::List, "role/app/secret-id", json!({})).await;
    assert_eq!(keys(&d), json!(left));
    assert_refused(login(&e, &c, &rid, &short2).await);
    login(&e, &c, &rid, &forever).await.unwrap();
    let local = c.local.keys().await.unwrap();
    assert_eq!(
        local.iter().filter(|k| k.starts_with("accessor/")).count(),
        2,
        "{local:?}"
    );
    assert_eq!(
        local.iter().filter(|k| k.starts_with("secret_id/")).count(),
        2,
        "{local:?}"
    );
}

#[tokio::test]
async fn num_uses_run_out() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    let rid = role_id(&e, &c, "app").await;
    let (secret, _) = new_secret(&e, &c, "app", json!({"num_uses": 2})).await;
    let (other, other_accessor) = new_secret(&e, &c, "app", json!({"num_uses": 1})).await;
    login(&e, &c, &rid, &secret).await.unwrap();
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;
    assert_eq!(d["secret_id_num_uses"], 1);
    login(&e, &c, &rid, &secret).await.unwrap();
    assert_refused(login(&e, &c, &rid, &secret).await);
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none(), "the used-up secret id is gone");
    let d = ok(&e, &c, Operation::List, "role/app/secret-id", json!({})).await;
    assert_eq!(keys(&d), json!([other_accessor]));
    login(&e, &c, &rid, &other).await.unwrap();
    assert!(matches!(
        call(&e, &c, Operation::List, "role/app/secret-id", json!({})).await,
        Err(Error::NotFound)
    ));
    assert_eq!(c.local.keys().await.unwrap(), ["salt"]);
}

#[tokio::test]
async fn cidr_bindings() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/net",
        json!({"secret_id_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    let rid = role_id(&e, &c, "net").await;
    let (secret, _) = new_secret(
        &e,
        &c,
        "net",
        json!({"cidr_list": "10.1.0.0/16", "num_uses": 1}),
    )
    .await;
    // Outside the secret id's block, outside the role's, or no address: refused, and no
    // use is spent.
    for addr in [ip("10.2.0.1"), ip("192.168.1.1"), ip("::1"), None] {
        assert_refused(login_from(&e, &c, &rid, &secret, addr).await);
    }
    // An IPv4-mapped IPv6 address counts as the IPv4 one.
    login_from(&e, &c, &rid, &secret, ip("::ffff:10.1.2.3"))
        .await
        .unwrap();
    assert_refused(login_from(&e, &c, &rid, &secret, ip("10.1.2.3")).await);

    // A secret id without its own list: the role's applies.
    let (any, _) = new_secret(&e, &c, "net", json!({})).await;
    login_from(&e, &c, &rid, &any, ip("10.200.0.1"))
        .await
        .unwrap();
    assert_refused(login_from(&e, &c, &rid, &any, ip("11.0.0.1")).await);

    // A role without secret ids, bound to an address.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/open",
        json!({"bind_secret_id": false, "secret_id_bound_cidrs": ["192.168.0.5", "fd00::/8"]}),
    )
    .await;
    let open = role_id(&e, &c, "open").await;
    let auth = login_from(&e, &c, &open, "", ip("192.168.0.5"))
        .await
        .unwrap();
    assert_eq!(
        auth.metadata,
        [("role_name".to_owned(), "open".to_owned())].into()
    );
    login_from(&e, &c, &open, "ignored", ip("fd12::1"))
        .await
        .unwrap();
    assert_refused(login_from(&e, &c, &open, "", ip("192.168.0.6")).await);
    assert_refused(login_from(&e, &c, &open, "", None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_spend_a_use_once() {
    let e = Arc::new(AppRole::new());
    let c = ctx("approle", Map::new()).await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    let rid = role_id(&e, &c, "app").await;
    for round in 0..5 {
        let (secret, _) = new_secret(&e, &c, "app", json!({"num_uses": 1})).await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (e, c, rid, secret) = (e.clone(), c.clone(), rid.clone(), secret.clone());
                tokio::spawn(async move { login(&e, &c, &rid, &secret).await })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => granted += 1,
                Err(err) => assert_refused::<()>(Err(err)),
            }
        }
        assert_eq!(granted, 1, "round {round}");
        assert_eq!(c.local.keys().await.unwrap(), ["salt"], "round {round}");
    }
}
