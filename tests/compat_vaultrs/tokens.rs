//! Tokens through the client crate: create, lookup, renew, revoke, accessors, orphans,
//! tidy, token roles and batch tokens.

use std::collections::HashMap;

use vault_client::api::token::requests::{CreateOrphanTokenRequest, CreateTokenRequest};
use vault_client::client::Client;
use vault_client::{kv2, sys, token};

use super::support::{api_error, client, root, App};
use crate::harness::TestServer;

#[tokio::test]
async fn tokens_create_lookup_renew_revoke() {
    let server = TestServer::dev();
    let c = root(&server);

    // The dev root token (custom id): non-expiring, orphan, root policy.
    let me = c.lookup().await.unwrap();
    assert_eq!(me.id, "root");
    assert_eq!(me.policies, ["root"]);
    assert_eq!(me.ttl, 0);
    assert_eq!(me.expire_time, None);
    assert!(me.orphan);
    assert_eq!(me.path, "auth/token/create");
    assert_eq!(me.entity_id, "");

    // "app" lets its holders create child tokens (the default policy does not).
    sys::policy::set(
        &c,
        "app",
        "path \"auth/token/create\" { capabilities = [\"update\"] }",
    )
    .await
    .unwrap();
    let mut meta = HashMap::new();
    meta.insert("team".to_owned(), "blue".to_owned());
    let auth = token::new(
        &c,
        Some(
            CreateTokenRequest::builder()
                .policies(vec!["app".to_owned(), "default".to_owned()])
                .meta(meta.clone())
                .ttl("1h")
                .display_name("ci")
                .renewable(true),
        ),
    )
    .await
    .unwrap();
    assert!(
        auth.client_token.starts_with("hvs."),
        "{}",
        auth.client_token
    );
    assert_eq!(auth.client_token.len(), 28);
    assert_eq!(auth.accessor.len(), 24);
    assert_eq!(auth.policies, ["app", "default"]);
    assert_eq!(auth.token_policies, ["app", "default"]);
    assert_eq!(auth.metadata.as_ref(), Some(&meta));
    assert_eq!(auth.lease_duration, 3600);
    assert!(auth.renewable);
    assert!(!auth.orphan);
    assert_eq!(auth.token_type, "service");
    assert_eq!(auth.entity_id, "");

    // lookup by token, by accessor, and as itself.
    let looked = token::lookup(&c, &auth.client_token).await.unwrap();
    assert_eq!(looked.id, auth.client_token);
    assert_eq!(looked.accessor, auth.accessor);
    assert_eq!(looked.display_name, "token-ci");
    assert_eq!(looked.policies, ["app", "default"]);
    assert_eq!(looked.meta.as_ref(), Some(&meta));
    assert_eq!(looked.path, "auth/token/create");
    assert_eq!(looked.creation_ttl, 3600);
    assert!(looked.ttl > 3500 && looked.ttl <= 3600, "{}", looked.ttl);
    assert!(looked.expire_time.is_some());
    assert!(looked.issue_time.is_some());
    assert_eq!(looked.num_uses, 0);
    assert!(!looked.orphan);
    assert_eq!(looked.renewable, Some(true));
    let by_accessor = token::lookup_accessor(&c, &auth.accessor).await.unwrap();
    assert_eq!(by_accessor.accessor, auth.accessor);
    assert_eq!(by_accessor.id, "");
    assert_eq!(by_accessor.display_name, "token-ci");

    let mut user = client(&server, &auth.client_token);
    let own = token::lookup_self(&user).await.unwrap();
    assert_eq!(own.id, auth.client_token);
    assert_eq!(own.policies, ["app", "default"]);

    // renew_self with an increment.
    let renewed = token::renew_self(&user, Some("2h")).await.unwrap();
    assert_eq!(renewed.client_token, auth.client_token);
    assert_eq!(renewed.accessor, auth.accessor);
    // Exactly the increment granted, as Vault answers, not a reading of the clock.
    assert_eq!(renewed.lease_duration, 7200);
    let after = token::lookup_self(&user).await.unwrap();
    assert!(after.ttl > 3600, "{}", after.ttl);
    // ... and renew by token from root.
    let renewed = token::renew(&c, &auth.client_token, Some("30m"))
        .await
        .unwrap();
    assert!(renewed.lease_duration <= 1800, "{}", renewed.lease_duration);

    // A child of the user token dies with it; an orphan does not.
    let child = token::new(&user, None).await.unwrap();
    assert_eq!(child.policies, ["app", "default"]);
    assert!(!child.orphan);
    let orphan = token::new_orphan(
        &c,
        Some(
            CreateOrphanTokenRequest::builder()
                .policies(vec!["default".to_owned()])
                .ttl("10m"),
        ),
    )
    .await
    .unwrap();
    assert!(orphan.orphan);
    assert_eq!(orphan.lease_duration, 600);

    token::revoke(&c, &auth.client_token).await.unwrap();
    for gone in [&auth.client_token, &child.client_token] {
        let (code, errors) = api_error(token::lookup(&c, gone).await);
        assert_eq!(code, 403, "{errors:?}");
    }
    let (code, errors) = api_error(token::lookup_self(&user).await);
    assert_eq!(code, 403);
    assert!(
        errors.iter().any(|e| e.contains("permission denied")),
        "{errors:?}"
    );
    user.set_token(&orphan.client_token);
    assert_eq!(
        token::lookup_self(&user).await.unwrap().id,
        orphan.client_token
    );

    // revoke by accessor, then revoke_self.
    let short = token::new(
        &c,
        Some(
            CreateTokenRequest::builder()
                .policies(vec!["default".to_owned()])
                .num_uses(5u64)
                .no_default_policy(false),
        ),
    )
    .await
    .unwrap();
    let looked = token::lookup(&c, &short.client_token).await.unwrap();
    assert_eq!(looked.num_uses, 5);
    token::revoke_accessor(&c, &short.accessor).await.unwrap();
    let (code, _) = api_error(token::lookup(&c, &short.client_token).await);
    assert_eq!(code, 403);
    token::revoke_self(&user).await.unwrap();
    let (code, _) = api_error(token::lookup(&c, &orphan.client_token).await);
    assert_eq!(code, 403);

    // A garbage token is refused everywhere.
    let bad = client(&server, "not-a-token");
    let (code, errors) = api_error(kv2::read::<App>(&bad, "secret", "x").await);
    assert_eq!(code, 403);
    assert!(
        errors.iter().any(|e| e.contains("permission denied")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn token_accessor_operations_and_orphaning() {
    use vault_client::api::token::requests::ListAccessorRequest;
    use vault_client::api::token::responses::ListAccessorResponse;
    let server = TestServer::dev();
    let c = root(&server);
    sys::policy::set(
        &c,
        "maker",
        "path \"auth/token/create\" { capabilities = [\"update\"] }",
    )
    .await
    .unwrap();
    let parent = token::new(
        &c,
        Some(
            CreateTokenRequest::builder()
                .policies(vec!["maker".to_owned()])
                .ttl("1h"),
        ),
    )
    .await
    .unwrap();
    let child = token::new(&client(&server, &parent.client_token), None)
        .await
        .unwrap();
    assert!(!child.orphan);

    // LIST auth/token/accessors (sudo): vaultrs sends the LIST verb.
    let listed: ListAccessorResponse =
        vault_client::api::exec_with_result(&c, ListAccessorRequest::builder().build().unwrap())
            .await
            .unwrap();
    assert!(listed.keys.contains(&parent.accessor), "{:?}", listed.keys);
    assert!(listed.keys.contains(&child.accessor));

    // renew by accessor answers the auth block without the token itself.
    let renewed = token::renew_accessor(&c, &parent.accessor, Some("30m"))
        .await
        .unwrap();
    assert_eq!(renewed.accessor, parent.accessor);
    assert_eq!(renewed.client_token, "");
    assert!(renewed.lease_duration <= 1800, "{}", renewed.lease_duration);

    // revoke_orphan: the parent goes, the child stays and becomes an orphan.
    token::revoke_orphan(&c, &parent.client_token)
        .await
        .unwrap();
    let (code, _) = api_error(token::lookup(&c, &parent.client_token).await);
    assert_eq!(code, 403);
    let looked = token::lookup(&c, &child.client_token).await.unwrap();
    assert!(looked.orphan, "a revoke-orphan child becomes an orphan");
    assert_eq!(looked.policies, ["default", "maker"]);
}

#[tokio::test]
async fn token_tidy() {
    // Vault answers auth/token/tidy with 202 and a warnings envelope ("Tidy operation
    // successfully started..."); vaultrs parses that envelope (exec_with_empty_result), so
    // an empty 204 makes the call fail with a parse error.
    let server = TestServer::dev();
    let c = root(&server);
    token::tidy(&c).await.unwrap();
}

#[tokio::test]
async fn token_roles_and_batch_tokens() {
    use vault_client::api::token::requests::{CreateRoleTokenRequest, SetTokenRoleRequest};
    let server = TestServer::dev();
    let c = root(&server);
    assert_eq!(api_error(token::role::list(&c).await).0, 404);
    token::role::set(
        &c,
        "ci",
        Some(
            SetTokenRoleRequest::builder()
                .allowed_policies(vec!["default".to_string()])
                .orphan(true)
                .path_suffix("v-1")
                .token_period("1h"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(token::role::list(&c).await.unwrap().keys, ["ci"]);
    let role = token::role::read(&c, "ci").await.unwrap();
    assert_eq!(role.name, "ci");
    assert_eq!(role.allowed_policies, ["default"]);
    assert!(role.disallowed_policies.is_empty());
    assert_eq!((role.orphan, role.renewable), (true, true));
    assert_eq!((role.period, role.token_period), (0, 3600));
    assert_eq!(role.token_type, "default-service");

    let auth = token::new_role(
        &c,
        "ci",
        Some(CreateRoleTokenRequest::builder().display_name("job")),
    )
    .await
    .unwrap();
    assert!(auth.orphan);
    assert_eq!(auth.lease_duration, 3600);
    assert_eq!(auth.token_type, "service");
    let looked = token::lookup(&c, &auth.client_token).await.unwrap();
    assert_eq!(looked.role.as_deref(), Some("ci"));
    assert_eq!(looked.path, "auth/token/create/ci/v-1");

    // A batch token: a strict client reads its auth block and lookups unchanged.
    let batch = token::new(
        &c,
        Some(
            CreateTokenRequest::builder()
                .token_type("batch")
                .policies(vec!["default".to_string()])
                .ttl("10m"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(batch.token_type, "batch");
    assert!(batch.client_token.starts_with("hvb.") && batch.accessor.is_empty());
    assert!(!batch.renewable);
    let b = client(&server, &batch.client_token);
    let me = token::lookup_self(&b).await.unwrap();
    assert_eq!(me.accessor, "");
    assert_eq!(me.id, batch.client_token);
    assert_eq!(me.renewable, Some(false));
    let (code, errors) = api_error(token::renew_self(&b, None).await);
    assert_eq!(
        (code, errors),
        (400, vec!["batch tokens cannot be renewed".to_string()])
    );

    token::role::delete(&c, "ci").await.unwrap();
    assert_eq!(api_error(token::role::read(&c, "ci").await).0, 404);
}
