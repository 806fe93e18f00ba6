//! KV v1 and v2 (versions, metadata, soft delete, CAS, config) and cubbyhole through
//! the client crate.

use std::collections::HashMap;

use vault_client::api::kv2::requests::{
    ReadSecretRequest, SetConfigurationRequest, SetSecretMetadataRequest, SetSecretRequestOptions,
};
use vault_client::api::kv2::responses::ReadSecretResponse;
use vault_client::api::sys::requests::EnableEngineRequest;
use vault_client::api::token::requests::CreateTokenRequest;
use vault_client::error::ClientError;
use vault_client::{kv1, kv2, sys, token};

use super::support::{api_error, app, client, is_rfc3339, root, App};
use crate::harness::TestServer;

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
