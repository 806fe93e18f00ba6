//! Client compatibility: the Rust `vaultrs` crate (0.8, imported as `vault_client`) against
//! a real `vaultrs server`. The crate deserializes strictly (see vault-api.md §0.3, §10.20),
//! so every call here also checks the shape of the server's answers. Each test starts its
//! own server.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vault_client::api::kv2::requests::{
    ReadSecretRequest, SetConfigurationRequest, SetSecretMetadataRequest, SetSecretRequestOptions,
};
use vault_client::api::kv2::responses::ReadSecretResponse;
use vault_client::api::sys::requests::{EnableEngineDataConfig, EnableEngineRequest};
use vault_client::api::token::requests::{
    CreateOrphanTokenRequest, CreateTokenRequest, LookupTokenSelfRequest,
};
use vault_client::api::token::responses::LookupTokenResponse;
use vault_client::api::ResponseWrapper;
use vault_client::client::{Client, VaultClient, VaultClientSettingsBuilder};
use vault_client::error::ClientError;
use vault_client::sys::ServerStatus;
use vault_client::{kv1, kv2, sys, token};

use crate::harness::{ConfigServer, TestServer};

/// A client for `server` using `token` (the environment is not consulted for either).
fn client(server: &TestServer, token: &str) -> VaultClient {
    client_at(&server.addr, token)
}

fn client_at(addr: &str, token: &str) -> VaultClient {
    VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(addr)
            .token(token)
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build()
            .unwrap(),
    )
    .unwrap()
}

fn root(server: &TestServer) -> VaultClient {
    client(server, "root")
}

/// The HTTP status and error messages of an API error; panics on anything else.
fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, Vec<String>) {
    match result {
        Err(ClientError::APIError { code, errors }) => (code, errors),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The raw status of a response whose body is not an `{"errors": [...]}` object (vaultrs
/// then reports rustify's `ServerResponseError { code, .. }`, which this crate cannot name).
fn rest_status<T: std::fmt::Debug>(result: Result<T, ClientError>) -> u16 {
    match result {
        Err(ClientError::RestClientError { source }) => {
            let text = format!("{source:?}");
            text.split("code: ")
                .nth(1)
                .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no status in {text}"))
        }
        Err(ClientError::APIError { code, .. }) => code,
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

/// A read of a soft-deleted or destroyed KV v2 version: Vault answers 404 *with* the
/// envelope (data null, metadata set). vaultrs cannot parse that as `{"errors": [...]}`, so
/// it surfaces rustify's `ServerResponseError` with the body; this returns `data.metadata`.
fn deleted_version<T: std::fmt::Debug>(result: Result<T, ClientError>) -> serde_json::Value {
    let text = match result {
        Err(ClientError::RestClientError { source }) => format!("{source:?}"),
        other => panic!("expected a 404 with a body, got {other:?}"),
    };
    assert!(text.contains("code: 404"), "{text}");
    // The body is a Debug-quoted string, which for ASCII JSON is a valid JSON string.
    let start = text.find("content: Some(").expect("a body") + "content: Some(".len();
    let end = text.rfind(')').unwrap();
    let body: String = serde_json::from_str(&text[start..end]).unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"]["data"], serde_json::Value::Null, "{body}");
    assert_eq!(body["lease_id"], "");
    body["data"]["metadata"].clone()
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct App {
    user: String,
    password: String,
}

fn app(password: &str) -> App {
    App {
        user: "admin".into(),
        password: password.into(),
    }
}

fn is_rfc3339(s: &str) -> bool {
    // 2024-01-02T03:04:05[.nnn]Z
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

#[tokio::test]
async fn kv2_versions_metadata_and_soft_delete() {
    let server = TestServer::dev();
    let c = root(&server);

    // set: the write answers the new version's metadata.
    let v1 = kv2::set(&c, "secret", "app/db", &app("one")).await.unwrap();
    assert_eq!(v1.version, 1);
    assert!(!v1.destroyed);
    assert_eq!(v1.deletion_time, "");
    assert!(is_rfc3339(&v1.created_time), "{}", v1.created_time);
    let v2 = kv2::set(&c, "secret", "app/db", &app("two")).await.unwrap();
    assert_eq!(v2.version, 2);
    kv2::set(&c, "secret", "app/other", &app("x"))
        .await
        .unwrap();
    kv2::set(&c, "secret", "top", &app("t")).await.unwrap();

    // read / read_version
    let latest: App = kv2::read(&c, "secret", "app/db").await.unwrap();
    assert_eq!(latest, app("two"));
    let first: App = kv2::read_version(&c, "secret", "app/db", 1).await.unwrap();
    assert_eq!(first, app("one"));
    let generic: HashMap<String, String> = kv2::read(&c, "secret", "app/db").await.unwrap();
    assert_eq!(generic["password"], "two");

    // The full response (data + metadata) through the raw endpoint type.
    let full: ReadSecretResponse = vault_client::api::exec_with_result(
        &c,
        ReadSecretRequest::builder()
            .mount("secret")
            .path("app/db")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(full.metadata.version, 2);
    assert_eq!(full.data["user"], "admin");

    // list: folders end with '/'.
    let mut top = kv2::list(&c, "secret", "").await.unwrap();
    top.sort();
    assert_eq!(top, vec!["app/".to_owned(), "top".to_owned()]);
    let mut under = kv2::list(&c, "secret", "app").await.unwrap();
    under.sort();
    assert_eq!(under, vec!["db".to_owned(), "other".to_owned()]);
    let (code, _) = api_error(kv2::list(&c, "secret", "nothing-here").await);
    assert_eq!(code, 404);

    // metadata
    let meta = kv2::read_metadata(&c, "secret", "app/db").await.unwrap();
    assert_eq!(meta.current_version, 2);
    // Vault leaves oldest_version at 0 until versions are pruned.
    assert_eq!(meta.oldest_version, 0);
    assert_eq!(meta.max_versions, 0);
    assert!(!meta.cas_required);
    assert_eq!(meta.delete_version_after, "0s");
    assert_eq!(meta.versions.len(), 2);
    assert_eq!(meta.versions["1"].deletion_time, "");
    assert!(!meta.versions["2"].destroyed);
    assert!(is_rfc3339(&meta.created_time));
    assert!(is_rfc3339(&meta.updated_time));

    // delete_latest soft-deletes version 2: reads of it are 404, version 1 still reads.
    kv2::delete_latest(&c, "secret", "app/db").await.unwrap();
    let deleted = deleted_version(kv2::read::<App>(&c, "secret", "app/db").await);
    assert_eq!(deleted["version"], 2);
    assert_eq!(deleted["destroyed"], false);
    assert!(
        is_rfc3339(deleted["deletion_time"].as_str().unwrap()),
        "{deleted}"
    );
    let first: App = kv2::read_version(&c, "secret", "app/db", 1).await.unwrap();
    assert_eq!(first.password, "one");
    let meta = kv2::read_metadata(&c, "secret", "app/db").await.unwrap();
    assert!(
        is_rfc3339(&meta.versions["2"].deletion_time),
        "{:?}",
        meta.versions["2"]
    );

    // undelete brings it back.
    kv2::undelete_versions(&c, "secret", "app/db", vec![2])
        .await
        .unwrap();
    let latest: App = kv2::read(&c, "secret", "app/db").await.unwrap();
    assert_eq!(latest.password, "two");

    // delete_versions + destroy_versions
    kv2::delete_versions(&c, "secret", "app/db", vec![2])
        .await
        .unwrap();
    let deleted = deleted_version(kv2::read_version::<App>(&c, "secret", "app/db", 2).await);
    assert_eq!(deleted["version"], 2);
    kv2::destroy_versions(&c, "secret", "app/db", vec![1])
        .await
        .unwrap();
    let destroyed = deleted_version(kv2::read_version::<App>(&c, "secret", "app/db", 1).await);
    assert_eq!(destroyed["version"], 1);
    assert_eq!(destroyed["destroyed"], true);
    let meta = kv2::read_metadata(&c, "secret", "app/db").await.unwrap();
    assert!(meta.versions["1"].destroyed);
    assert!(!meta.versions["2"].destroyed);
    // Undelete does not resurrect a destroyed version.
    kv2::undelete_versions(&c, "secret", "app/db", vec![1, 2])
        .await
        .unwrap();
    let destroyed = deleted_version(kv2::read_version::<App>(&c, "secret", "app/db", 1).await);
    assert_eq!(destroyed["destroyed"], true);
    let second: App = kv2::read_version(&c, "secret", "app/db", 2).await.unwrap();
    assert_eq!(second.password, "two");

    // Missing secrets and missing versions are 404 with no messages.
    let (code, errors) = api_error(kv2::read::<App>(&c, "secret", "nope").await);
    assert_eq!((code, errors.len()), (404, 0));
    let (code, _) = api_error(kv2::read_version::<App>(&c, "secret", "app/db", 99).await);
    assert_eq!(code, 404);
    let (code, _) = api_error(kv2::read_metadata(&c, "secret", "nope").await);
    assert_eq!(code, 404);

    // delete_metadata removes every version.
    kv2::delete_metadata(&c, "secret", "app/other")
        .await
        .unwrap();
    let (code, _) = api_error(kv2::read_metadata(&c, "secret", "app/other").await);
    assert_eq!(code, 404);
    assert_eq!(
        kv2::list(&c, "secret", "app").await.unwrap(),
        vec!["db".to_owned()]
    );
}

#[tokio::test]
async fn kv2_custom_metadata_cas_and_config() {
    let server = TestServer::dev();
    let c = root(&server);

    kv2::set(&c, "secret", "svc", &app("a")).await.unwrap();
    let mut custom = HashMap::new();
    custom.insert("owner".to_owned(), "team-blue".to_owned());
    kv2::set_metadata(
        &c,
        "secret",
        "svc",
        Some(
            SetSecretMetadataRequest::builder()
                .max_versions(3u64)
                .cas_required(true)
                .delete_version_after("1h")
                .custom_metadata(custom.clone()),
        ),
    )
    .await
    .unwrap();
    let meta = kv2::read_metadata(&c, "secret", "svc").await.unwrap();
    assert_eq!(meta.max_versions, 3);
    assert!(meta.cas_required);
    assert_eq!(meta.delete_version_after, "1h0m0s");
    assert_eq!(meta.custom_metadata.as_ref(), Some(&custom));
    assert_eq!(meta.current_version, 1, "metadata writes add no version");

    // cas_required: a plain set is refused, a matching cas works, a stale one is refused.
    let (code, errors) = api_error(kv2::set(&c, "secret", "svc", &app("b")).await);
    assert_eq!(code, 400);
    assert!(
        errors.iter().any(|e| e.contains("check-and-set")),
        "{errors:?}"
    );
    let written = kv2::set_with_options(
        &c,
        "secret",
        "svc",
        &app("b"),
        SetSecretRequestOptions { cas: 1 },
    )
    .await
    .unwrap();
    assert_eq!(written.version, 2);
    assert_eq!(written.custom_metadata.as_ref(), Some(&custom));
    let (code, errors) = api_error(
        kv2::set_with_options(
            &c,
            "secret",
            "svc",
            &app("c"),
            SetSecretRequestOptions { cas: 1 },
        )
        .await,
    );
    assert_eq!(code, 400);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("did not match the current version")),
        "{errors:?}"
    );

    // max_versions 3: writing 5 versions keeps the newest three.
    for (cas, pw) in [(2, "c"), (3, "d"), (4, "e")] {
        kv2::set_with_options(
            &c,
            "secret",
            "svc",
            &app(pw),
            SetSecretRequestOptions { cas },
        )
        .await
        .unwrap();
    }
    let meta = kv2::read_metadata(&c, "secret", "svc").await.unwrap();
    assert_eq!(meta.current_version, 5);
    assert_eq!(meta.oldest_version, 3);
    let mut versions: Vec<&String> = meta.versions.keys().collect();
    versions.sort();
    assert_eq!(versions, ["3", "4", "5"]);

    // Mount configuration.
    let config = kv2::config::read(&c, "secret").await.unwrap();
    assert_eq!(config.max_versions, 0);
    assert!(!config.cas_required);
    assert_eq!(config.delete_version_after, "0s");
    kv2::config::set(
        &c,
        "secret",
        Some(
            SetConfigurationRequest::builder()
                .max_versions(7u64)
                .delete_version_after("768h"),
        ),
    )
    .await
    .unwrap();
    let config = kv2::config::read(&c, "secret").await.unwrap();
    assert_eq!(config.max_versions, 7);
    assert_eq!(config.delete_version_after, "768h0m0s");
}

#[tokio::test]
async fn kv1_set_get_list_delete() {
    let server = TestServer::dev();
    let c = root(&server);
    let mut options = HashMap::new();
    options.insert("version".to_owned(), "1".to_owned());
    sys::mount::enable(
        &c,
        "kv1",
        "kv",
        Some(
            EnableEngineRequest::builder()
                .description("plain kv")
                .options(options),
        ),
    )
    .await
    .unwrap();

    let mut data = HashMap::new();
    data.insert("api_key", "k-123");
    data.insert("region", "eu");
    kv1::set(&c, "kv1", "team/app", &data).await.unwrap();
    let mut other = HashMap::new();
    other.insert("x", "y");
    kv1::set(&c, "kv1", "team/sub/deep", &other).await.unwrap();
    kv1::set(&c, "kv1", "root-key", &other).await.unwrap();

    let got: HashMap<String, String> = kv1::get(&c, "kv1", "team/app").await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["api_key"], "k-123");
    assert_eq!(got["region"], "eu");

    // KV v1 reports the mount's default TTL as lease_duration, with no lease id.
    let raw = kv1::get_raw(&c, "kv1", "team/app").await.unwrap();
    assert_eq!(raw.lease_duration, 2_764_800);
    assert_eq!(raw.lease_id, "");
    assert!(!raw.renewable);
    assert!(!raw.request_id.is_empty());
    assert_eq!(raw.data["region"], "eu");

    let mut keys = kv1::list(&c, "kv1", "team").await.unwrap().data.keys;
    keys.sort();
    assert_eq!(keys, ["app", "sub/"]);
    let mut keys = kv1::list(&c, "kv1", "").await.unwrap().data.keys;
    keys.sort();
    assert_eq!(keys, ["root-key", "team/"]);

    // set replaces the whole secret.
    kv1::set(&c, "kv1", "team/app", &other).await.unwrap();
    let got: HashMap<String, String> = kv1::get(&c, "kv1", "team/app").await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got["x"], "y");

    kv1::delete(&c, "kv1", "team/app").await.unwrap();
    let (code, errors) =
        api_error(kv1::get::<HashMap<String, String>>(&c, "kv1", "team/app").await);
    assert_eq!((code, errors.len()), (404, 0));
    // Deleting again is fine; listing an empty prefix is 404.
    kv1::delete(&c, "kv1", "team/app").await.unwrap();
    let (code, _) = api_error(kv1::list(&c, "kv1", "nothing").await);
    assert_eq!(code, 404);
}

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
async fn sys_health_status_and_mounts() {
    let server = TestServer::dev();
    let c = root(&server);

    assert!(matches!(sys::status(&c).await.unwrap(), ServerStatus::OK));
    assert!(matches!(c.status().await.unwrap(), ServerStatus::OK));
    let health = sys::health(&c).await.unwrap();
    assert!(health.initialized);
    assert!(!health.sealed);
    assert!(!health.standby);
    assert!(!health.performance_standby);
    assert_eq!(health.replication_performance_mode, "disabled");
    assert_eq!(health.replication_dr_mode, "disabled");
    assert!(health.server_time_utc > 1_600_000_000);
    assert!(!health.version.is_empty());
    assert!(health.cluster_name.is_some());
    assert!(health.cluster_id.is_some());

    // Mount table: the built-ins and the dev kv v2 mount.
    let mounts = sys::mount::list(&c).await.unwrap();
    let secret = &mounts["secret/"];
    assert_eq!(secret.mount_type, "kv");
    assert_eq!(secret.description, "key/value secret storage");
    assert_eq!(
        secret
            .options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str),
        Some("2")
    );
    assert!(secret.accessor.starts_with("kv_"), "{}", secret.accessor);
    assert_eq!(mounts["sys/"].mount_type, "system");
    assert_eq!(mounts["cubbyhole/"].mount_type, "cubbyhole");
    assert!(mounts["cubbyhole/"].local);

    let mut options = HashMap::new();
    options.insert("version".to_owned(), "2".to_owned());
    sys::mount::enable(
        &c,
        "team/kv",
        "kv",
        Some(
            EnableEngineRequest::builder()
                .description("team secrets")
                .options(options)
                .config(EnableEngineDataConfig {
                    default_lease_ttl: Some("1h".into()),
                    max_lease_ttl: Some("24h".into()),
                    force_no_cache: Some(true),
                    ..Default::default()
                }),
        ),
    )
    .await
    .unwrap();
    let mounts = sys::mount::list(&c).await.unwrap();
    let team = &mounts["team/kv/"];
    assert_eq!(team.mount_type, "kv");
    assert_eq!(team.description, "team secrets");
    assert_eq!(team.config.default_lease_ttl, 3600);
    assert_eq!(team.config.max_lease_ttl, 86400);
    assert!(team.config.force_no_cache);
    assert!(!team.local);
    assert!(!team.seal_wrap);
    assert_eq!(team.uuid.len(), 36);
    let one = sys::mount::get_configuration_of_a_secret_engine(&c, "team/kv")
        .await
        .unwrap();
    assert_eq!(one.uuid, team.uuid);
    assert_eq!(one.accessor, team.accessor);
    assert_eq!(one.description, "team secrets");
    assert_eq!(
        one.options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str),
        Some("2")
    );

    // The new mount works as KV v2.
    kv2::set(&c, "team/kv", "a", &app("p")).await.unwrap();
    let got: App = kv2::read(&c, "team/kv", "a").await.unwrap();
    assert_eq!(got.password, "p");

    // Overlapping and protected paths are refused with 400.
    let (code, errors) = api_error(sys::mount::enable(&c, "team/kv", "kv", None).await);
    assert_eq!(code, 400);
    assert!(
        errors.iter().any(|e| e.contains("already in use")),
        "{errors:?}"
    );
    let (code, _) = api_error(sys::mount::enable(&c, "sys", "kv", None).await);
    assert_eq!(code, 400);
    let (code, _) = api_error(sys::mount::enable(&c, "x", "no-such-engine", None).await);
    assert_eq!(code, 400);

    sys::mount::disable(&c, "team/kv").await.unwrap();
    let mounts = sys::mount::list(&c).await.unwrap();
    assert!(!mounts.contains_key("team/kv/"));
    let (code, _) = api_error(kv2::read::<App>(&c, "team/kv", "a").await);
    assert_eq!(code, 404);
    // Disabling a path with no mount is not an error.
    sys::mount::disable(&c, "never-mounted").await.unwrap();

    // The auth table has the token method with its token_type.
    let auths = sys::auth::list(&c).await.unwrap();
    let token_auth = &auths["token/"];
    assert_eq!(token_auth.mount_type, "token");
    assert_eq!(token_auth.config.token_type, "default-service");
}

#[tokio::test]
async fn policies_set_read_list_delete_and_enforce() {
    let server = TestServer::dev();
    let c = root(&server);
    let hcl = "path \"secret/data/app/*\" {\n  capabilities = [\"read\"]\n}\n\npath \"secret/metadata/app/*\" {\n  capabilities = [\"list\"]\n}\n";

    sys::policy::set(&c, "app-read", hcl).await.unwrap();
    let read = sys::policy::read(&c, "app-read").await.unwrap();
    assert_eq!(read.name, "app-read");
    assert_eq!(read.rules, hcl);
    let mut list = sys::policy::list(&c).await.unwrap().policies;
    list.sort();
    assert_eq!(list, ["app-read", "default", "root"]);
    let default = sys::policy::read(&c, "default").await.unwrap();
    assert!(
        default.rules.contains("auth/token/lookup-self"),
        "{}",
        default.rules
    );

    // Enforcement through a token holding the policy.
    kv2::set(&c, "secret", "app/db", &app("pw")).await.unwrap();
    kv2::set(&c, "secret", "other", &app("pw")).await.unwrap();
    let auth = token::new(
        &c,
        Some(CreateTokenRequest::builder().policies(vec!["app-read".to_owned()])),
    )
    .await
    .unwrap();
    assert_eq!(auth.policies, ["app-read", "default"]);
    let user = client(&server, &auth.client_token);
    let got: App = kv2::read(&user, "secret", "app/db").await.unwrap();
    assert_eq!(got.password, "pw");
    assert_eq!(kv2::list(&user, "secret", "app").await.unwrap(), ["db"]);
    let (code, _) = api_error(kv2::set(&user, "secret", "app/db", &app("x")).await);
    assert_eq!(code, 403);
    let (code, _) = api_error(kv2::read::<App>(&user, "secret", "other").await);
    assert_eq!(code, 403);
    let (code, _) = api_error(sys::policy::set(&user, "mine", hcl).await);
    assert_eq!(code, 403);

    // Bad input is a 400; root and default cannot be removed.
    let (code, errors) =
        api_error(sys::policy::set(&c, "broken", "path \"x\" { capabilities = [\"fly\"] }").await);
    assert_eq!(code, 400, "{errors:?}");
    let (code, _) = api_error(sys::policy::delete(&c, "root").await);
    assert_eq!(code, 400);
    let (code, _) = api_error(sys::policy::delete(&c, "default").await);
    assert_eq!(code, 400);

    // Update, then delete.
    let hcl2 = "path \"secret/data/other\" { capabilities = [\"read\"] }";
    sys::policy::set(&c, "app-read", hcl2).await.unwrap();
    assert_eq!(sys::policy::read(&c, "app-read").await.unwrap().rules, hcl2);
    let got: App = kv2::read(&user, "secret", "other").await.unwrap();
    assert_eq!(got.user, "admin");
    sys::policy::delete(&c, "app-read").await.unwrap();
    let (code, _) = api_error(sys::policy::read(&c, "app-read").await);
    assert_eq!(code, 404);
    let list = sys::policy::list(&c).await.unwrap().policies;
    assert!(!list.contains(&"app-read".to_owned()), "{list:?}");
    let (code, _) = api_error(kv2::read::<App>(&user, "secret", "other").await);
    assert_eq!(code, 403);
}

#[tokio::test]
async fn response_wrapping_wrap_lookup_unwrap() {
    let server = TestServer::dev();
    let c = root(&server);
    kv2::set(&c, "secret", "wrapped", &app("hidden"))
        .await
        .unwrap();

    // Wrap a KV v2 read.
    let endpoint = ReadSecretRequest::builder()
        .mount("secret")
        .path("wrapped")
        .build()
        .unwrap();
    let wrapped = endpoint.wrap(&c).await.unwrap();
    assert_eq!(wrapped.info.ttl, 600);
    assert_eq!(wrapped.info.creation_path, "secret/data/wrapped");
    assert!(
        is_rfc3339(&wrapped.info.creation_time),
        "{}",
        wrapped.info.creation_time
    );
    assert!(!wrapped.info.token.is_empty());
    assert!(!wrapped.info.accessor.is_empty());

    let info = wrapped.lookup(&c).await.unwrap();
    assert_eq!(info.creation_path, "secret/data/wrapped");
    assert_eq!(info.creation_ttl, 600);
    assert_eq!(info.creation_time, wrapped.info.creation_time);
    // sys::wrapping::lookup needs no token at all.
    let anonymous = client(&server, "");
    let info = sys::wrapping::lookup(&anonymous, &wrapped.info.token)
        .await
        .unwrap();
    assert_eq!(info.creation_path, "secret/data/wrapped");

    let secret: ReadSecretResponse = wrapped.unwrap(&c).await.unwrap();
    assert_eq!(secret.data["password"], "hidden");
    assert_eq!(secret.metadata.version, 1);

    // Single use: a second unwrap and a lookup both fail.
    let (code, errors) = api_error(wrapped.unwrap(&c).await);
    assert_eq!(code, 400);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("wrapping token is not valid")),
        "{errors:?}"
    );
    match wrapped.lookup(&c).await {
        Err(ClientError::WrapInvalidError) => {}
        other => panic!("expected WrapInvalidError, got {other:?}"),
    }

    // Wrap a token self-lookup, then unwrap with the wrapping token itself as the
    // client token (no body).
    let wrapped = LookupTokenSelfRequest::builder()
        .build()
        .unwrap()
        .wrap(&c)
        .await
        .unwrap();
    assert_eq!(wrapped.info.creation_path, "auth/token/lookup-self");
    let holder = client(&server, &wrapped.info.token);
    let looked: LookupTokenResponse = sys::wrapping::unwrap(&holder, None).await.unwrap();
    assert_eq!(looked.id, "root");
    assert_eq!(looked.policies, ["root"]);
    let (code, _) = api_error(sys::wrapping::unwrap::<LookupTokenResponse>(&holder, None).await);
    assert!(code == 400 || code == 403, "{code}");

    // Unwrapping a garbage token is a 400.
    let (code, _) =
        api_error(sys::wrapping::unwrap::<serde_json::Value>(&c, Some("hvs.nope")).await);
    assert_eq!(code, 400);
}

#[tokio::test]
async fn init_unseal_seal_on_a_config_server() {
    let server = ConfigServer::start("");
    let mut c = client_at(&server.addr, "");

    assert!(matches!(
        sys::status(&c).await.unwrap(),
        ServerStatus::UNINITIALIZED
    ));
    let health = sys::health(&c).await;
    assert_eq!(rest_status(health), 501);

    let init = sys::start_initialization(&c, 3, 2, None).await.unwrap();
    assert_eq!(init.keys.len(), 3);
    assert_eq!(init.keys_base64.len(), 3);
    assert!(init.root_token.starts_with("hvs."), "{}", init.root_token);
    for (hex_key, b64_key) in init.keys.iter().zip(&init.keys_base64) {
        assert!(
            hex_key.chars().all(|ch| ch.is_ascii_hexdigit()),
            "{hex_key}"
        );
        assert_ne!(hex_key, b64_key);
    }
    let (code, errors) = api_error(sys::start_initialization(&c, 1, 1, None).await);
    assert_eq!(code, 400);
    assert!(
        errors.iter().any(|e| e.contains("already initialized")),
        "{errors:?}"
    );

    // Shamir: still sealed after init.
    assert!(matches!(
        sys::status(&c).await.unwrap(),
        ServerStatus::SEALED
    ));

    // One share, then reset, then two shares (hex and base64).
    let progress = sys::unseal(&c, Some(init.keys[0].clone()), None, None)
        .await
        .unwrap();
    assert!(progress.sealed);
    assert_eq!(
        (progress.threshold, progress.n_shares, progress.progress),
        (2, 3, 1)
    );
    assert!(!progress.version.is_empty());
    let reset = sys::unseal(&c, None, Some(true), None).await.unwrap();
    assert!(reset.sealed);
    assert_eq!(reset.progress, 0);
    let progress = sys::unseal(&c, Some(init.keys[2].clone()), None, None)
        .await
        .unwrap();
    assert_eq!(progress.progress, 1);
    let done = sys::unseal(&c, Some(init.keys_base64[1].clone()), None, None)
        .await
        .unwrap();
    assert!(!done.sealed);
    assert_eq!(done.progress, 0);
    assert!(done.cluster_name.is_some());
    assert!(done.cluster_id.is_some());
    assert!(matches!(sys::status(&c).await.unwrap(), ServerStatus::OK));
    let (code, _) = api_error(sys::unseal(&c, None, None, None).await);
    assert_eq!(code, 400);

    // The root token from init works.
    c.set_token(&init.root_token);
    let me = c.lookup().await.unwrap();
    assert_eq!(me.policies, ["root"]);
    assert_eq!(me.path, "auth/token/root");
    assert_eq!(me.ttl, 0);
    let mut options = HashMap::new();
    options.insert("version".to_owned(), "2".to_owned());
    sys::mount::enable(
        &c,
        "secret",
        "kv",
        Some(EnableEngineRequest::builder().options(options)),
    )
    .await
    .unwrap();
    kv2::set(&c, "secret", "persisted", &app("kept"))
        .await
        .unwrap();

    // Seal: requests fail with 503, health reports sealed.
    sys::seal(&c).await.unwrap();
    assert!(matches!(
        sys::status(&c).await.unwrap(),
        ServerStatus::SEALED
    ));
    let (code, errors) = api_error(kv2::read::<App>(&c, "secret", "persisted").await);
    assert_eq!(code, 503);
    assert!(errors.iter().any(|e| e.contains("sealed")), "{errors:?}");

    // Unseal again: the data is back.
    sys::unseal(&c, Some(init.keys[1].clone()), None, None)
        .await
        .unwrap();
    let done = sys::unseal(&c, Some(init.keys[0].clone()), None, None)
        .await
        .unwrap();
    assert!(!done.sealed);
    let got: App = kv2::read(&c, "secret", "persisted").await.unwrap();
    assert_eq!(got.password, "kept");
}

#[tokio::test]
async fn cubbyhole_is_private_to_each_token() {
    use vault_client::cubbyhole;
    let server = TestServer::dev();
    let c = root(&server);
    let auth = token::new(
        &c,
        Some(CreateTokenRequest::builder().policies(vec!["default".to_owned()])),
    )
    .await
    .unwrap();
    let user = client(&server, &auth.client_token);

    let mut data = HashMap::new();
    data.insert("note", "mine");
    cubbyhole::set(&user, "cubbyhole", "notes/a", &data)
        .await
        .unwrap();
    let got: HashMap<String, String> = cubbyhole::get(&user, "cubbyhole", "notes/a").await.unwrap();
    assert_eq!(got["note"], "mine");
    let raw = cubbyhole::get_raw(&user, "cubbyhole", "notes/a")
        .await
        .unwrap();
    assert_eq!(raw.lease_id, "");
    // Vault's cubbyhole backend returns no lease: lease_duration 0 (unlike KV v1).
    assert_eq!(raw.lease_duration, 0, "cubbyhole reads carry no lease");
    assert_eq!(
        cubbyhole::list(&user, "cubbyhole", "notes")
            .await
            .unwrap()
            .data
            .keys,
        ["a"]
    );
    // Root's cubbyhole is a different one.
    let (code, _) =
        api_error(cubbyhole::get::<HashMap<String, String>>(&c, "cubbyhole", "notes/a").await);
    assert_eq!(code, 404);
    cubbyhole::delete(&user, "cubbyhole", "notes/a")
        .await
        .unwrap();
    let (code, _) =
        api_error(cubbyhole::get::<HashMap<String, String>>(&user, "cubbyhole", "notes/a").await);
    assert_eq!(code, 404);
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
