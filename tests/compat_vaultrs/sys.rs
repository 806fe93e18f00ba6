//! `sys/` through the client crate: health, seal status, mounts; init, unseal and seal
//! on a config-file server.

use std::collections::HashMap;

use vault_client::api::sys::requests::{EnableEngineDataConfig, EnableEngineRequest};
use vault_client::client::Client;
use vault_client::error::ClientError;
use vault_client::sys::ServerStatus;
use vault_client::{kv2, sys};

use super::support::{api_error, app, client_at, root, App};
use crate::harness::{ConfigServer, TestServer};

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
